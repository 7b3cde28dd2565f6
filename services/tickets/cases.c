/* cases: 典型案例, the cases a manager keeps for training; see cases.h.
 *
 * Search runs over summary || ' ' || lesson, the expression of the GIN
 * trigram index ticket_cases_trgm (migrations/016), with the FAQ's rules
 * (faq.c): word similarity at CASE_WORD_THRESHOLD or a plain substring, so
 * that a word of a lesson in Chinese finds its case; substring hits first.
 * A search is one ranked page; without ?q= the list pages newest first. */
#include "cases.h"

#include "log.h"
#include "page.h"
#include "sla.h"
#include "tickets.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DOC "(c.summary || ' ' || c.lesson)"
/* a case of a row of ticket_cases c joined with its ticket t, as the API shows it */
#define S_CASE_JSON                                                                          \
    "json_build_object ('id', c.id, 'ticket_id', c.ticket_id, 'ticket_number', t.number, "   \
    "  'ticket_type', t.type, 'ticket_title', t.title, 'summary', c.summary, "               \
    "  'lesson', c.lesson, 'tags', to_json (c.tags), 'faq_id', c.faq_id, "                   \
    "  'created_by', c.created_by, 'created_at', " DB_UTC_TS ("c.created_at") ")::text"
/* the list's columns: the document, then its page key (page.h, page_time_id) */
#define S_LIST_COLS S_CASE_JSON ", " DB_UTC_TS_US ("c.created_at") ", c.id::text"
#define CASE_WORD_THRESHOLD "'0.3'"
/* $2 as an ILIKE pattern matching itself anywhere */
#define S_LIKE "'%' || replace (replace (replace ($2::text, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"

static const db_statement_t s_statements[] = {
    /* the ticket's status (no row: no such ticket) and the new case's
     * document (NULL: not resolved or closed, or a case already) */
    { "case_insert",
      "WITH tk AS (SELECT id, status FROM tickets WHERE property_id = $1::uuid AND id = $2::uuid), "
      "c AS (INSERT INTO ticket_cases (property_id, ticket_id, summary, lesson, tags, created_by, created_at) "
      "  SELECT $1::uuid, tk.id, $3::text, $4::text, ARRAY (SELECT jsonb_array_elements_text ($5::jsonb)), "
      "    $6::text, $7::timestamptz FROM tk WHERE tk.status IN ('resolved', 'closed') "
      "  ON CONFLICT ON CONSTRAINT ticket_cases_one_per_ticket DO NOTHING RETURNING *) "
      "SELECT tk.status, (SELECT " S_CASE_JSON " FROM c JOIN tickets t ON t.id = c.ticket_id) "
      "FROM tk", false },
    { "case_get",
      "SELECT " S_CASE_JSON " FROM ticket_cases c JOIN tickets t ON t.id = c.ticket_id "
      "WHERE c.property_id = $1::uuid AND c.id = $2::uuid", true },
    /* $2 tag, $3 $4 cursor, $5 limit + 1 */
    { "case_list",
      "SELECT " S_LIST_COLS " FROM ticket_cases c JOIN tickets t ON t.id = c.ticket_id "
      "WHERE c.property_id = $1::uuid AND ($2::text IS NULL OR $2::text = ANY (c.tags)) "
      "  AND ($3::timestamptz IS NULL OR (c.created_at, c.id) < ($3::timestamptz, $4::uuid)) "
      "ORDER BY c.created_at DESC, c.id DESC LIMIT $5::int", true },
    /* $2 q, $3 tag, $4 limit: the best `limit`, one page */
    { "case_search",
      "SELECT " S_LIST_COLS " FROM ticket_cases c JOIN tickets t ON t.id = c.ticket_id "
      "WHERE c.property_id = $1::uuid AND ($3::text IS NULL OR $3::text = ANY (c.tags)) "
      "  AND ($2::text <% " S_DOC " OR " S_DOC " ILIKE " S_LIKE ") "
      "ORDER BY (" S_DOC " ILIKE " S_LIKE ") DESC, word_similarity ($2::text, " S_DOC ") DESC, "
      "  c.created_at DESC, c.id DESC LIMIT $4::int", true },
    { "case_threshold",
      "SELECT set_config ('pg_trgm.word_similarity_threshold', " CASE_WORD_THRESHOLD ", false)", true },
    /* the case to turn into an FAQ entry, held until its faq_id is written */
    { "case_lock",
      "SELECT c.summary, c.lesson, array_to_json (c.tags)::text, c.faq_id::text FROM ticket_cases c "
      "WHERE c.property_id = $1::uuid AND c.id = $2::uuid FOR UPDATE", false },
    { "case_set_faq",
      "UPDATE ticket_cases SET faq_id = $3::uuid WHERE property_id = $1::uuid AND id = $2::uuid "
      "RETURNING id", false },
};

enum { L_SUMMARY, L_LESSON, L_TAGS, L_FAQ };

int
cases_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* --- input ------------------------------------------------------------------ */

bool
case_input (jv_t *v, const cJSON *data, case_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->summary = jv_string (v, data, "summary", JV_REQUIRED, CASE_SUMMARY_MAX);
    in->lesson = jv_string (v, data, "lesson", JV_REQUIRED, CASE_LESSON_MAX);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive (data, "tags");
    if (tags && !cJSON_IsNull (tags)) {
        if (!cJSON_IsArray (tags) || cJSON_GetArraySize (tags) > CASE_TAGS_MAX)
            jv_problem (v, "tags", "must be an array of at most %d texts", CASE_TAGS_MAX);
        else {
            int i = 0;
            const cJSON *t;
            cJSON_ArrayForEach (t, tags) {
                const char *s = cJSON_GetStringValue (t);
                if (!s || !*s || strlen (s) > CASE_TAG_MAX || !jv_is_utf8 (s, strlen (s)))
                    jv_problem (v, "tags", "tags[%d] must be a text of 1 to %d bytes", i, CASE_TAG_MAX);
                i++;
            }
        }
        if (jv_ok (v))
            in->tags_text = cJSON_PrintUnformatted (tags);
    }
    return jv_ok (v);
}

/* --- create, get ------------------------------------------------------------- */

/* The answer of case_insert: 201 the case, 404, or 409 naming why. */
static void
s_created (const PGresult *res, const env_request_t *req, env_reply_t *rep)
{
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such ticket");
    else if (!PQgetisnull (res, 0, 1))
        env_reply_text (rep, 201, strdup (PQgetvalue (res, 0, 1)));
    else {
        const char *status = PQgetvalue (res, 0, 0);
        bool done = strcmp (status, "resolved") == 0 || strcmp (status, "closed") == 0;
        env_reply_error (rep, 409, "conflict", jv_detail (done ? "ticket_id" : "status",
                                                          done ? "the ticket is a case already"
                                                               : "only a resolved or closed ticket"),
                         done ? "the ticket is a case already" : "the ticket is %s, not resolved or closed",
                         status);
    }
}

void
cases_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *tid = env_resource_scope (req, env_roles_managers, "tid", "ticket", rep, &pid);
    if (!tid)
        return;
    jv_t v = JV_INIT;
    case_input_t in;
    if (!case_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid case");
        free (in.tags_text);
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = db_exec (app->db, "case_insert", 7,
                             (const char *[]) { pid, tid, in.summary, in.lesson,
                                                in.tags_text ? in.tags_text : "[]", req->caller.user_id, now });
    s_created (res, req, rep);
    if (rep->status == 201)
        log_info (req->id, "ticket %s kept as a typical case in property %s", tid, pid);
    PQclear (res);
    free (in.tags_text);
}

void
cases_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "case_id", "case", rep, &pid);
    if (id)
        db_reply_json (db_exec (app->db, "case_get", 2, (const char *[]) { pid, id }), rep, req->id, 200,
                       "no such case");
}

/* --- list and search ------------------------------------------------------------ */

/* ?q=, ?tag=, ?limit=, ?cursor=: false after adding problems to v. A search
 * is one ranked page: a cursor with q is refused. */
static bool
s_list_params (jv_t *v, const env_request_t *req, cJSON *q, const char **text, const char **tag,
               page_time_id_t *page)
{
    *text = jv_string (v, q, "q", JV_OPTIONAL, CASE_QUERY_MAX);
    *tag = jv_string (v, q, "tag", JV_OPTIONAL, CASE_TAG_MAX);
    page_time_id (v, req, page);
    if (*text && page->at)
        jv_problem (v, "cursor", "a search (q) is one page: no cursor");
    return jv_ok (v);
}

void
cases_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    static const char *const names[] = { "q", "tag", NULL };
    cJSON *q = sla_query_object (req, names);
    jv_t v = JV_INIT;
    const char *text, *tag;
    page_time_id_t page;
    if (!s_list_params (&v, req, q, &text, &tag, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        goto out;
    }
    if (!text) {
        page_reply (db_exec (app->db, "case_list", 5,
                             (const char *[]) { pid, tag, page.at, page.id, page.limit_plus_one }),
                    page.limit, 1, 2, rep, req->id);
        goto out;
    }
    PGresult *res = db_exec (app->db, "case_threshold", 0, NULL);
    if (db_ok (res)) {
        PQclear (res);
        char lim[16];
        snprintf (lim, sizeof lim, "%d", page.limit);
        /* `limit` rows at most: next_cursor stays null */
        res = db_exec (app->db, "case_search", 4, (const char *[]) { pid, text, tag, lim });
    }
    page_reply (res, page.limit, 1, 2, rep, req->id);
out:
    cJSON_Delete (q);
}

/* --- a case becomes an FAQ entry ------------------------------------------------- */

/* faq_create's request for the locked case of res: the same caller and
 * path, the question from the summary, the answer from the lesson. */
static cJSON *
s_faq_data (const PGresult *res)
{
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "question", PQgetvalue (res, 0, L_SUMMARY));
    cJSON_AddStringToObject (d, "answer", PQgetvalue (res, 0, L_LESSON));
    cJSON *tags = cJSON_Parse (PQgetvalue (res, 0, L_TAGS));
    cJSON_AddItemToObject (d, "tags", tags ? tags : cJSON_CreateArray ());
    return d;
}

/* lock the case -> 404 / 409 -> faq_create (its validation, its insert) in
 * the same transaction -> the case's faq_id -> commit -> 201. */
void
cases_to_faq (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    cJSON *data = NULL;
    env_reply_t sub;
    memset (&sub, 0, sizeof sub);
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "case_id", "case", rep, &pid);
    if (!id)
        return;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    res = db_exec (app->db, "case_lock", 2, (const char *[]) { pid, id });
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such case");
        goto out;
    }
    if (!PQgetisnull (res, 0, L_FAQ)) {
        env_reply_error (rep, 409, "conflict", jv_detail ("faq_id", PQgetvalue (res, 0, L_FAQ)),
                         "the case is an FAQ entry already");
        goto out;
    }
    env_request_t faq_req = *req;
    faq_req.data = data = s_faq_data (res);
    faq_create (app, &faq_req, &sub);
    if (sub.status != 201 || !cJSON_GetStringValue (cJSON_GetObjectItem (sub.body, "id"))) {
        *rep = sub;                    /* its error, as faq_create answered it */
        memset (&sub, 0, sizeof sub);
        goto out;
    }
    const char *faq_id = cJSON_GetStringValue (cJSON_GetObjectItem (sub.body, "id"));
    PQclear (res);
    res = db_exec (app->db, "case_set_faq", 3, (const char *[]) { pid, id, faq_id });
    if (!db_one_row (app->db, res, rep, req->id, "case faq"))
        goto out;
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        goto out;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "case_id", id);
    cJSON_AddStringToObject (body, "faq_id", faq_id);
    cJSON_AddItemToObject (body, "faq", sub.body);
    sub.body = NULL;
    env_reply_ok (rep, 201, body);
    log_info (req->id, "case %s became an FAQ entry in property %s", id, pid);
out:
    db_rollback (app->db);             /* whatever is still open; nothing after the commit */
    PQclear (res);
    cJSON_Delete (data);
    env_reply_reset (&sub);
}
