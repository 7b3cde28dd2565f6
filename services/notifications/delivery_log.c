/* delivery_log: notifications.log.list and the list paging of this service
 * (see delivery_log.h). The documents are built by SQL; contacts are masked
 * there too (mask_address, migration 004), so no whole address leaves the
 * database through the log. */
#include "delivery_log.h"

#include "civil.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_LOG_LIST    "nt_log_list"
#define ST_LOG_SUMMARY "nt_log_summary"

static const char *const s_log_statuses[] = { "delivered", "queued", "sent", "failed", "not_sent", NULL };
static const char *const s_log_channels[] = { "inbox", "sms", "email", NULL };

/* the filters every statement of the log shares: $1 pid, $2 status,
 * $3 channel, $4 event_type, $5 since */
#define LOG_WHERE                                                                                 \
    "WHERE n.property_id = $1::uuid AND ($2::text IS NULL OR n.status = $2) "                     \
    "  AND ($3::text IS NULL OR n.channel = $3) AND ($4::text IS NULL OR n.event_type = $4) "     \
    "  AND ($5::timestamptz IS NULL OR n.created_at >= $5::timestamptz) "

static const db_statement_t s_log_statements[] = {
    /* $6 cursor created_at, $7 cursor id, $8 limit + 1; newest first, and
     * within one instant (an announcement's rows share theirs) by id, the
     * order of the index notifications_log */
    { ST_LOG_LIST,
      "SELECT json_build_object ('id', n.id, 'channel', n.channel, 'status', n.status, "
      "  'event_type', n.event_type, 'source_kind', n.source_kind, 'source_id', n.source_id, "
      "  'recipient', json_build_object ('kind', n.recipient_kind, 'id', n.recipient, "
      "     'name', CASE WHEN n.recipient_kind = 'party' THEN p.name END), "
      "  'address', mask_address (n.channel, n.address), 'title', n.title, "
      "  'attempts', n.attempts, 'last_error', n.last_error, "
      "  'created_at', " DB_UTC_TS ("n.created_at") ", 'sent_at', " DB_UTC_TS ("n.sent_at") ")::text, "
      "  " DB_UTC_TS_US ("n.created_at") ", n.id "
      "FROM notifications n "
      "LEFT JOIN parties p ON n.recipient_kind = 'party' AND p.id::text = n.recipient "
      LOG_WHERE
      "  AND ($6::timestamptz IS NULL OR n.created_at < $6::timestamptz "
      "       OR (n.created_at = $6::timestamptz AND n.id > $7::uuid)) "
      "ORDER BY n.created_at DESC, n.id LIMIT $8::int", true },
    /* what the filters select, by channel and status (not paged) */
    { ST_LOG_SUMMARY,
      "SELECT json_build_object ('total', coalesce (sum (k), 0), "
      "  'by_channel', coalesce (json_object_agg (channel, st), '{}'))::text "
      "FROM (SELECT channel, sum (k) AS k, json_object_agg (status, k ORDER BY status) AS st "
      "      FROM (SELECT n.channel, n.status, count (*) AS k FROM notifications n " LOG_WHERE
      "            GROUP BY 1, 2) c GROUP BY channel ORDER BY channel) s", true },
};

int
nt_log_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_log_statements);
}

/* --- paging ------------------------------------------------------------------- */

bool
nt_is_timestamp (const char *s)
{
    int64_t t;
    return civil_parse_date (s, &t) || civil_parse_time (s, &t);
}

/* page_reply with extra (consumed, may be NULL) merged into the body. */
static void
s_page_reply (PGresult *res, const page_time_id_t *page, cJSON *extra, env_reply_t *rep,
              const env_request_t *req)
{
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        cJSON_Delete (extra);
        PQclear (res);
        return;
    }
    cJSON *body = page_json_rows (res, page->limit, 1, 2);
    for (cJSON *it = body && extra ? extra->child : NULL; it; it = it->next)
        cJSON_AddItemToObject (body, it->string, cJSON_Duplicate (it, true));
    cJSON_Delete (extra);
    PQclear (res);
    env_reply_ok (rep, 200, body);
}

/* --- notifications.log.list --------------------------------------------------- */

static bool
s_log_one_of (const char *s, const char *const *allowed)
{
    for (int i = 0; allowed[i]; i++)
        if (strcmp (s, allowed[i]) == 0)
            return true;
    return false;
}

void
nt_log_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    const char *status = env_query (req, "status"), *channel = env_query (req, "channel");
    const char *type = env_query (req, "event_type"), *since = env_query (req, "since");
    if (status && !s_log_one_of (status, s_log_statuses))
        jv_problem (&v, "status", "must be delivered, queued, sent, failed or not_sent");
    if (channel && !s_log_one_of (channel, s_log_channels))
        jv_problem (&v, "channel", "must be inbox, sms or email");
    if (type && (strlen (type) > 64 || !jv_is_utf8 (type, strlen (type))))
        jv_problem (&v, "event_type", "must be an event type (at most 64 bytes)");
    if (since && !nt_is_timestamp (since))
        jv_problem (&v, "since", "must be an RFC 3339 timestamp (2026-11-27T03:14:00Z) or a date");
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid log parameters");
        return;
    }
    const char *ps[] = { pid, status, channel, type, since };
    PGresult *res = db_exec (app->db, ST_LOG_SUMMARY, 5, ps);
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))
            env_reply_error (rep, 500, "internal", NULL, "cannot summarise the log");
        else
            db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    cJSON *extra = cJSON_CreateObject ();
    cJSON *summary = cJSON_Parse (PQgetvalue (res, 0, 0));
    PQclear (res);
    if (summary)
        cJSON_AddItemToObject (extra, "summary", summary);
    const char *pl[] = { pid, status, channel, type, since, page.at, page.id, page.limit_plus_one };
    s_page_reply (db_exec (app->db, ST_LOG_LIST, 8, pl), &page, extra, rep, req);
}
