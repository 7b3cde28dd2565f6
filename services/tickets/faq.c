/* faq: 答客问, the standard answers of a property; see faq.h.
 *
 * Search runs over question || ' ' || answer, the expression of the GIN
 * trigram index faq_entries_trgm. pg_trgm treats CJK characters as word
 * characters under the cluster's C.UTF-8 locale, so "电梯" finds
 * "电梯坏了怎么办" without a word splitter; word similarity (<%) catches a
 * query that is part of a longer text (at FAQ_WORD_THRESHOLD, set per
 * search because a reconnect forgets it), and a plain substring match (ILIKE,
 * also served by the index) keeps one- and two-character queries, whose
 * trigram similarity is weak, from missing. Substring hits rank first, then
 * by word similarity, then by hits. */
#include "faq.h"

#include "jv.h"
#include "log.h"
#include "page.h"
#include "sla.h"
#include "ticket_rules.h"
#include "tickets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DOC "(question || ' ' || answer)"
#define S_FAQ_COLS \
    "id::text, question, answer, array_to_json (tags)::text, hits::text, " \
    DB_UTC_TS ("created_at") ", " DB_UTC_TS ("updated_at")
enum { F_ID, F_QUESTION, F_ANSWER, F_TAGS, F_HITS, F_CREATED, F_UPDATED, F_SCORE };

#define FAQ_WORD_THRESHOLD "'0.3'"

/* $2 as an ILIKE pattern matching itself anywhere */
#define S_LIKE "'%' || replace (replace (replace ($2::text, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"

static const db_statement_t s_statements[] = {
    { "faq_insert",
      "INSERT INTO faq_entries (property_id, question, answer, tags, created_by) "
      "VALUES ($1::uuid, $2::text, $3::text, ARRAY (SELECT jsonb_array_elements_text ($4::jsonb)), "
      "  $5::text) RETURNING " S_FAQ_COLS, false },
    { "faq_get",
      "SELECT " S_FAQ_COLS " FROM faq_entries WHERE property_id = $1::uuid AND id = $2::uuid", true },
    { "faq_update",
      "UPDATE faq_entries SET question = coalesce ($3::text, question), "
      "  answer = coalesce ($4::text, answer), "
      "  tags = CASE WHEN $5::jsonb IS NULL THEN tags "
      "    ELSE ARRAY (SELECT jsonb_array_elements_text ($5::jsonb)) END, "
      "  updated_at = now () "
      "WHERE property_id = $1::uuid AND id = $2::uuid RETURNING " S_FAQ_COLS, false },
    { "faq_search",
      "SELECT " S_FAQ_COLS ", "
      "  round ((CASE WHEN " S_DOC " ILIKE " S_LIKE " THEN 1 ELSE 0 END "
      "    + word_similarity ($2::text, " S_DOC "))::numeric / 2, 3)::text "
      "FROM faq_entries "
      "WHERE property_id = $1::uuid AND ($2::text <% " S_DOC " OR " S_DOC " ILIKE " S_LIKE ") "
      "ORDER BY (" S_DOC " ILIKE " S_LIKE ") DESC, word_similarity ($2::text, " S_DOC ") DESC, "
      "  similarity ($2::text, " S_DOC ") DESC, hits DESC, id "
      "LIMIT $3::int", true },
    { "faq_top",
      "SELECT " S_FAQ_COLS ", NULL FROM faq_entries WHERE property_id = $1::uuid "
      "ORDER BY hits DESC, updated_at DESC, id LIMIT $2::int", true },
    /* the word-similarity cut-off of <% for this session: pg_trgm's 0.6
     * misses Chinese questions put in other words ("停车月卡" for
     * "停车场月卡如何办理"), whose characters make few trigrams */
    { "faq_threshold",
      "SELECT set_config ('pg_trgm.word_similarity_threshold', " FAQ_WORD_THRESHOLD ", false)", true },
    { "faq_hit",
      "UPDATE faq_entries SET hits = hits + 1 WHERE property_id = $1::uuid AND id = $2::uuid "
      "RETURNING hits::text", false },
};

int
faq_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

int
faq_record_hit (db_t *db, const char *property_id, const char *faq_id)
{
    if (!faq_id || !jv_is_uuid (faq_id))
        return 0;
    PGresult *res = db_exec (db, "faq_hit", 2, (const char *[]) { property_id, faq_id });
    int rc = db_ok (res) ? PQntuples (res) > 0 : -1;
    PQclear (res);
    return rc;
}

/* An entry of a faq_* row (page_item_fn: arg unused); "score" when the
 * row has one (faq_search). */
static cJSON *
s_faq_json (const PGresult *res, int row, void *arg)
{
    (void) arg;
    cJSON *f = cJSON_CreateObject ();
    cJSON_AddStringToObject (f, "id", PQgetvalue (res, row, F_ID));
    cJSON_AddStringToObject (f, "question", PQgetvalue (res, row, F_QUESTION));
    cJSON_AddStringToObject (f, "answer", PQgetvalue (res, row, F_ANSWER));
    cJSON *tags = cJSON_Parse (PQgetvalue (res, row, F_TAGS));
    cJSON_AddItemToObject (f, "tags", tags ? tags : cJSON_CreateArray ());
    cJSON_AddNumberToObject (f, "hits", strtod (PQgetvalue (res, row, F_HITS), NULL));
    if (PQnfields (res) > F_SCORE && !PQgetisnull (res, row, F_SCORE))
        cJSON_AddNumberToObject (f, "score", strtod (PQgetvalue (res, row, F_SCORE), NULL));
    cJSON_AddStringToObject (f, "created_at", PQgetvalue (res, row, F_CREATED));
    cJSON_AddStringToObject (f, "updated_at", PQgetvalue (res, row, F_UPDATED));
    return f;
}

/* The entry of res's row 0 with status; 404 when there is none. */
static void
s_reply_entry (const PGresult *res, const env_request_t *req, env_reply_t *rep, int status)
{
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such FAQ entry");
    else
        env_reply_ok (rep, status, s_faq_json (res, 0, NULL));
}

/* The body of create (partial: of update) into in; false after answering
 * 422. The caller frees in->tags_text either way. */
static bool
s_entry_input (const env_request_t *req, bool partial, tk_faq_input_t *in, env_reply_t *rep)
{
    jv_t v = JV_INIT;
    if (tk_faq_input (&v, req->data, partial, in))
        return true;
    env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid FAQ entry");
    return false;
}

void
faq_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    /* managers edit the FAQ; all staff read it */
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    tk_faq_input_t in;
    if (s_entry_input (req, false, &in, rep)) {
        PGresult *res = db_exec (app->db, "faq_insert", 5,
                                 (const char *[]) { pid, in.question, in.answer,
                                                    in.tags_text ? in.tags_text : "[]",
                                                    req->caller.user_id });
        if (db_ok (res) && PQntuples (res) == 1)
            log_info (req->id, "FAQ entry %s added in property %s", PQgetvalue (res, 0, F_ID), pid);
        s_reply_entry (res, req, rep, 201);
        PQclear (res);
    }
    free (in.tags_text);
}

void
faq_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_staff, "faq_id", "FAQ entry", rep, &pid);
    if (!id)
        return;
    PGresult *res = db_exec (app->db, "faq_get", 2, (const char *[]) { pid, id });
    s_reply_entry (res, req, rep, 200);
    PQclear (res);
}

void
faq_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "faq_id", "FAQ entry", rep, &pid);
    if (!id)
        return;
    tk_faq_input_t in;
    if (s_entry_input (req, true, &in, rep)) {
        PGresult *res = db_exec (app->db, "faq_update", 5,
                                 (const char *[]) { pid, id, in.question, in.answer, in.tags_text });
        s_reply_entry (res, req, rep, 200);
        PQclear (res);
    }
    free (in.tags_text);
}

/* ?q= and ?limit= of a search; false after adding problems to v. The limit
 * is the FAQ's own (FAQ_LIMIT_*), read by the common parser. */
static bool
s_search_params (jv_t *v, const env_request_t *req, cJSON *q, const char **text, int *limit)
{
    *text = jv_string (v, q, "q", JV_OPTIONAL, FAQ_QUERY_MAX);
    const char *lim = env_param (req, "limit");
    *limit = FAQ_LIMIT_DEFAULT;
    if (lim && *lim && (!page_limit_parse (lim, limit) || *limit > FAQ_LIMIT_MAX))
        jv_problem (v, "limit", "must be an integer from 1 to %d", FAQ_LIMIT_MAX);
    return jv_ok (v);
}

/* The ranked entries: by similarity to text, or the most used without it. */
static PGresult *
s_search (db_t *db, const char *pid, const char *text, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    if (!text)
        return db_exec (db, "faq_top", 2, (const char *[]) { pid, lim });
    PGresult *res = db_exec (db, "faq_threshold", 0, NULL);
    if (!db_ok (res))
        return res;
    PQclear (res);
    return db_exec (db, "faq_search", 3, (const char *[]) { pid, text, lim });
}

void
faq_search (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    static const char *const names[] = { "q", NULL };
    cJSON *q = sla_query_object (req, names);
    jv_t v = JV_INIT;
    const char *text;
    int limit;
    if (!s_search_params (&v, req, q, &text, &limit)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid search");
        cJSON_Delete (q);
        return;
    }
    PGresult *res = s_search (app->db, pid, text, limit);
    /* ranked results are one page, the best `limit`: next_cursor is null */
    page_reply_rows (res, limit, s_faq_json, NULL, NULL, rep, req->id);
    cJSON_Delete (q);
}
