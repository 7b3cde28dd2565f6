/* inbox: the caller's in-app notifications and read marks; see inbox.h.
 *
 * Every statement takes who asks as $1..$4 (user id, role whose rows they
 * see, their properties as uuid[], whether they see every property), so
 * that "is it mine" is written once (VISIBLE). Pages are keyset on
 * (created_at, id) descending (page_time_id, common/page.h). */
#include "inbox.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_INBOX_LIST     "nt_inbox_list"
#define ST_INBOX_COUNT    "nt_inbox_count"
#define ST_INBOX_READ     "nt_inbox_read"
#define ST_INBOX_READ_ALL "nt_inbox_read_all"

#define VISIBLE                                                                             \
    "n.channel = 'inbox' AND ((n.recipient_kind = 'user' AND n.recipient = $1::text) "      \
    "OR (n.recipient_kind = 'role' AND n.recipient = $2::text "                             \
    "    AND ($4::bool OR n.property_id = ANY ($3::uuid[]))))"

#define ITEM(read_at) NT_INBOX_NOTE ("", read_at)

static const db_statement_t s_statements[] = {
    /* $5 property filter, $6 unread only, $7/$8 cursor (time, id), $9 limit + 1 */
    { ST_INBOX_LIST,
      NT_INBOX_PAGE (ITEM, VISIBLE, "$1::text",
                     "AND ($5::uuid IS NULL OR n.property_id = $5::uuid) AND (NOT $6::bool OR r.read_at IS NULL)",
                     "$7", "$8", "$9"), true },
    { ST_INBOX_COUNT,
      "SELECT json_build_object('unread', count(*))::text FROM notifications n "
      "WHERE " VISIBLE " AND ($5::uuid IS NULL OR n.property_id = $5::uuid) "
      "  AND " NT_INBOX_UNREAD ("$1::text"), true },
    /* $5 the notification: marked once, answered with its first read_at */
    { ST_INBOX_READ, NT_INBOX_READ (ITEM, VISIBLE, "$1::text", "$5"), false },
    { ST_INBOX_READ_ALL,
      "WITH m AS (INSERT INTO notification_reads (notification_id, user_id) "
      "           SELECT n.id, $1::text FROM notifications n "
      "           WHERE " VISIBLE " AND ($5::uuid IS NULL OR n.property_id = $5::uuid) "
      "           ON CONFLICT DO NOTHING RETURNING 1) "
      "SELECT json_build_object('marked', count(*))::text FROM m", false },
};

int
nt_inbox_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* Who asks, as the statements' $1..$4. */
typedef struct {
    const char *user_id;
    const char *role;
    char *pids;                      /* "{uuid,...}" (owned) */
    const char *all;                 /* "true" / "false" */
} s_who_t;

static int
s_who (const env_request_t *req, s_who_t *who, env_reply_t *rep)
{
    memset (who, 0, sizeof *who);
    const env_caller_t *c = &req->caller;
    /* the gateway's roles for /v1/notifications, checked again here: a
     * request on the bus is not trusted to have passed the gateway */
    static const char *const staff[] = { "admin", "manager", "agent", "technician", NULL };
    if (!c->user_id || !*c->user_id || !c->role || !env_role_in (req, staff)) {
        env_reply_error (rep, 403, "forbidden", NULL, "the inbox belongs to a staff user");
        return -1;
    }
    who->user_id = c->user_id;
    bool all = strcmp (c->role, "admin") == 0;
    /* an admin sees the managers' rows of every property */
    who->role = all ? "manager" : c->role;
    who->all = all ? "true" : "false";
    size_t n = 0;
    const cJSON *p;
    cJSON_ArrayForEach (p, c->property_ids)
        n++;
    who->pids = malloc (n * 37 + 3);
    if (!who->pids) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    char *o = who->pids;
    *o++ = '{';
    cJSON_ArrayForEach (p, c->property_ids)
        if (cJSON_IsString (p) && jv_is_uuid (p->valuestring)) {
            if (o[-1] != '{')
                *o++ = ',';
            memcpy (o, p->valuestring, 36);
            o += 36;
        }
    *o++ = '}';
    *o = '\0';
    return 0;
}

/* ?property_id= and ?unread=, checked into v. */
static void
s_filters (jv_t *v, const env_request_t *req, const char **pid, const char **unread)
{
    *pid = env_query (req, "property_id");
    if (*pid && !jv_is_uuid (*pid))
        jv_problem (v, "property_id", "must be a property id");
    const char *u = env_query (req, "unread");
    *unread = "false";
    if (u && strcmp (u, "true") == 0)
        *unread = "true";
    else if (u && strcmp (u, "false") != 0)
        jv_problem (v, "unread", "must be true or false");
}

/* Who asks and what for: the filters, and the page when page is not NULL.
 * False after answering 403 or 422; else the caller frees who->pids. */
static bool
s_asked (const env_request_t *req, env_reply_t *rep, s_who_t *who, const char **pid, const char **unread,
         page_time_id_t *page)
{
    if (s_who (req, who, rep))
        return false;
    jv_t v = JV_INIT;
    s_filters (&v, req, pid, unread);
    if (page)
        page_time_id (&v, req, page);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        free (who->pids);
        return false;
    }
    return true;
}

void
nt_inbox_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    s_who_t who;
    const char *pid, *unread;
    page_time_id_t page;
    if (!s_asked (req, rep, &who, &pid, &unread, &page))
        return;
    const char *params[] = { who.user_id, who.role, who.pids, who.all, pid, unread, page.at, page.id,
                             page.limit_plus_one };
    PGresult *res = db_exec (app->db, ST_INBOX_LIST, 9, params);
    free (who.pids);
    page_reply (res, page.limit, 1, 2, rep, req->id);
}

/* count and read_all: the same filters, one JSON document back. */
static void
s_simple (nt_app_t *app, const env_request_t *req, env_reply_t *rep, const char *st)
{
    s_who_t who;
    const char *pid, *unread;
    if (!s_asked (req, rep, &who, &pid, &unread, NULL))
        return;
    const char *params[] = { who.user_id, who.role, who.pids, who.all, pid };
    PGresult *res = db_exec (app->db, st, 5, params);
    free (who.pids);
    db_reply_json (res, rep, req->id, 200, "nothing");
}

void
nt_inbox_count (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_simple (app, req, rep, ST_INBOX_COUNT);
}

void
nt_inbox_read_all (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_simple (app, req, rep, ST_INBOX_READ_ALL);
}

void
nt_inbox_read (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *id = env_param (req, "id");
    if (!id || !jv_is_uuid (id)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such notification");
        return;
    }
    s_who_t who;
    if (s_who (req, &who, rep))
        return;
    const char *params[] = { who.user_id, who.role, who.pids, who.all, id };
    PGresult *res = db_exec (app->db, ST_INBOX_READ, 5, params);
    free (who.pids);
    db_reply_json (res, rep, req->id, 200, "no such notification");
}
