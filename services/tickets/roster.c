/* roster: the duty roster (值班表); see roster.h. The gaps of a key post are
 * computed in SQL with multiranges: the window minus the union (range_agg)
 * of the post's shifts, so overlapping and adjacent shifts merge for free. */
#include "roster.h"

#include "jv.h"
#include "log.h"
#include "page.h"
#include "sla.h"
#include "ticket_rules.h"
#include "tickets.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SHIFT_COLS \
    "id::text, post, user_id, " DB_UTC_TS ("starts_at") ", " DB_UTC_TS ("ends_at") ", key_post::text, " \
    DB_UTC_TS ("created_at")
enum { R_ID, R_POST, R_USER, R_STARTS, R_ENDS, R_KEY, R_CREATED, R_LIST_EPOCH };

#define ROSTER_WINDOW_MAX_S  (92 * 86400)     /* gaps over at most a quarter */
#define ROSTER_EPOCH_MAX     20               /* digits (and sign) of a cursor's epoch */

static const db_statement_t s_statements[] = {
    { "roster_shift_insert",
      "INSERT INTO duty_shifts (property_id, post, user_id, starts_at, ends_at, key_post) "
      "VALUES ($1::uuid, $2::text, $3::text, to_timestamp ($4::bigint), to_timestamp ($5::bigint), "
      "  $6::boolean) RETURNING " S_SHIFT_COLS, false },
    { "roster_shift_delete",
      "DELETE FROM duty_shifts WHERE property_id = $1::uuid AND id = $2::uuid RETURNING id::text", false },
    /* shifts overlapping [from, to), in start order, keyset (starts_at, id):
     * starts_at is whole seconds (roster_shift_insert), so its epoch is exact */
    { "roster_shift_list",
      "SELECT " S_SHIFT_COLS ", extract (epoch FROM starts_at)::bigint::text FROM duty_shifts "
      "WHERE property_id = $1::uuid "
      "  AND ($2::bigint IS NULL OR ends_at > to_timestamp ($2::bigint)) "
      "  AND ($3::bigint IS NULL OR starts_at < to_timestamp ($3::bigint)) "
      "  AND ($4::text IS NULL OR post = $4::text) "
      "  AND ($5::bigint IS NULL OR (starts_at, id) > (to_timestamp ($5::bigint), $6::uuid)) "
      "ORDER BY starts_at, id LIMIT $7::int", true },
    /* every key post (a post with any key_post shift), with its uncovered
     * intervals in [from, to); a post with none has one row of NULLs */
    { "roster_gaps",
      "WITH posts AS ("
      "  SELECT DISTINCT post FROM duty_shifts WHERE property_id = $1::uuid AND key_post "
      "    AND ($4::text IS NULL OR post = $4::text)), "
      "cover AS ("
      "  SELECT p.post, coalesce (range_agg (tstzrange (s.starts_at, s.ends_at)) "
      "    FILTER (WHERE s.id IS NOT NULL), '{}'::tstzmultirange) AS m "
      "  FROM posts p LEFT JOIN duty_shifts s ON s.property_id = $1::uuid AND s.post = p.post "
      "    AND s.starts_at < to_timestamp ($3::bigint) AND s.ends_at > to_timestamp ($2::bigint) "
      "  GROUP BY p.post) "
      "SELECT c.post, " DB_UTC_TS ("lower (g)") ", " DB_UTC_TS ("upper (g)") ", "
      "  (extract (epoch FROM upper (g) - lower (g)) / 60)::bigint::text "
      "FROM cover c LEFT JOIN LATERAL unnest (tstzmultirange (tstzrange (to_timestamp ($2::bigint), "
      "  to_timestamp ($3::bigint))) - c.m) g ON true "
      "ORDER BY c.post, lower (g)", true },
    /* on duty now; among several, the one with the fewest open tickets, then the earliest start */
    { "roster_on_duty",
      "SELECT s.user_id FROM duty_shifts s "
      "WHERE s.property_id = $1::uuid AND s.post = $2::text "
      "  AND s.starts_at <= to_timestamp ($3::bigint) AND s.ends_at > to_timestamp ($3::bigint) "
      "ORDER BY (SELECT count (*) FROM tickets t WHERE t.property_id = $1::uuid "
      "  AND t.assignee_id = s.user_id AND t.resolved_at IS NULL AND t.closed_at IS NULL), "
      "  s.starts_at, s.id LIMIT 1", true },
};

int
roster_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

int
roster_on_duty (db_t *db, const char *property_id, const char *post, int64_t now,
                char user_id[ROSTER_USER_MAX + 1])
{
    char at[24];
    snprintf (at, sizeof at, "%lld", (long long) now);
    user_id[0] = 0;
    PGresult *res = db_exec (db, "roster_on_duty", 3, (const char *[]) { property_id, post, at });
    int rc = -1;
    if (db_ok (res)) {
        rc = PQntuples (res) > 0;
        if (rc)
            snprintf (user_id, ROSTER_USER_MAX + 1, "%s", PQgetvalue (res, 0, 0));
    }
    PQclear (res);
    return rc;
}

int
roster_pick_assignee (db_t *db, const char *property_id, const char *type, int64_t now,
                      char user_id[ROSTER_USER_MAX + 1])
{
    int rc = roster_on_duty (db, property_id, type, now, user_id);
    if (rc == 0)
        rc = roster_on_duty (db, property_id, ROSTER_FALLBACK_POST, now, user_id);
    return rc;
}

/* A shift of a roster_shift_* row (page_item_fn: arg unused). */
static cJSON *
s_shift_json (const PGresult *res, int row, void *arg)
{
    (void) arg;
    cJSON *s = cJSON_CreateObject ();
    cJSON_AddStringToObject (s, "id", PQgetvalue (res, row, R_ID));
    cJSON_AddStringToObject (s, "post", PQgetvalue (res, row, R_POST));
    cJSON_AddStringToObject (s, "user_id", PQgetvalue (res, row, R_USER));
    cJSON_AddStringToObject (s, "starts_at", PQgetvalue (res, row, R_STARTS));
    cJSON_AddStringToObject (s, "ends_at", PQgetvalue (res, row, R_ENDS));
    cJSON_AddBoolToObject (s, "key_post", strcmp (PQgetvalue (res, row, R_KEY), "true") == 0);
    cJSON_AddStringToObject (s, "created_at", PQgetvalue (res, row, R_CREATED));
    return s;
}

void
roster_shifts_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    tk_shift_input_t in;
    if (!tk_shift_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid shift");
        return;
    }
    char s_at[24], e_at[24];
    snprintf (s_at, sizeof s_at, "%lld", (long long) in.starts_at);
    snprintf (e_at, sizeof e_at, "%lld", (long long) in.ends_at);
    PGresult *res = db_exec (app->db, "roster_shift_insert", 6,
                             (const char *[]) { pid, in.post, in.user_id, s_at, e_at,
                                                in.key_post ? "true" : "false" });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else {
        log_info (req->id, "duty shift %s added in property %s", PQgetvalue (res, 0, R_ID), pid);
        env_reply_ok (rep, 201, s_shift_json (res, 0, NULL));
    }
    PQclear (res);
}

void
roster_shifts_delete (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "shift_id", "shift", rep, &pid);
    if (!id)
        return;
    PGresult *res = db_exec (app->db, "roster_shift_delete", 2, (const char *[]) { pid, id });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such shift");
    else {
        log_info (req->id, "duty shift %s removed in property %s", id, pid);
        env_reply_ok (rep, 204, NULL);
    }
    PQclear (res);
}

/* The window and post of the roster's reads: ?from= ?to= (RFC 3339, or a
 * date: its 00:00 UTC) and ?post=, with the times as statement text (NULL
 * when not given). */
typedef struct {
    int64_t from, to;
    const char *from_text, *to_text, *post;
    char from_buf[24], to_buf[24];
} s_window_t;

/* Reads the window of req into w (required: from and to must be there);
 * false after adding problems to v. */
static bool
s_window (jv_t *v, const env_request_t *req, bool required, s_window_t *w)
{
    static const char *const names[] = { "from", "to", "post", NULL };
    cJSON *q = sla_query_object (req, names);
    *w = (s_window_t) { 0 };
    const char *f = jv_string (v, q, "from", required, 40);
    const char *t = jv_string (v, q, "to", required, 40);
    if (f && !sla_parse_time (f, true, &w->from))
        jv_problem (v, "from", "must be an RFC 3339 time or a date YYYY-MM-DD");
    else if (f)
        w->from_text = w->from_buf;
    if (t && !sla_parse_time (t, true, &w->to))
        jv_problem (v, "to", "must be an RFC 3339 time or a date YYYY-MM-DD");
    else if (t)
        w->to_text = w->to_buf;
    if (w->from_text && w->to_text && w->to <= w->from)
        jv_problem (v, "to", "must be after from");
    /* the request's own text: q's copy dies with q */
    w->post = jv_string (v, q, "post", JV_OPTIONAL, ROSTER_POST_MAX) ? env_param (req, "post") : NULL;
    snprintf (w->from_buf, sizeof w->from_buf, "%lld", (long long) w->from);
    snprintf (w->to_buf, sizeof w->to_buf, "%lld", (long long) w->to);
    cJSON_Delete (q);
    return jv_ok (v);
}

/* The keyset key of a listed shift: "<epoch of starts_at>~<id>". */
static void
s_shift_key (const PGresult *res, int row, char *key, size_t cap)
{
    snprintf (key, cap, "%s%c%s", PQgetvalue (res, row, R_LIST_EPOCH), PAGE_KEY_SEP,
              PQgetvalue (res, row, R_ID));
}

/* A key s_shift_key wrote, split in place into its epoch and id; false for
 * anything else (a client can forge a cursor). */
static bool
s_shift_key_parse (char *key, char *after[2])
{
    if (!page_key_split (key, after, 2))
        return false;
    const char *digits = after[0] + (after[0][0] == '-');
    size_t n = strlen (digits);
    return n > 0 && n < ROSTER_EPOCH_MAX && strspn (digits, "0123456789") == n && jv_is_uuid (after[1]);
}

void
roster_shifts_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    /* all staff: a technician looks up their own shifts */
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    s_window_t w;
    s_window (&v, req, false, &w);
    int limit;
    char key[PAGE_KEY_MAX], *after[2] = { NULL, NULL };
    if (page_params (&v, req, &limit, key, sizeof key) && *key && !s_shift_key_parse (key, after))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit + 1);
    const char *params[] = { pid, w.from_text, w.to_text, w.post, after[0], after[1], lim };
    PGresult *res = db_exec (app->db, "roster_shift_list", 7, params);
    page_reply_rows (res, limit, s_shift_json, NULL, s_shift_key, rep, req->id);
}

void
roster_gaps (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    s_window_t w;
    if (s_window (&v, req, true, &w) && w.to - w.from > ROSTER_WINDOW_MAX_S)
        jv_problem (&v, "to", "the window is at most 92 days");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid roster window");
        return;
    }
    res = db_exec (app->db, "roster_gaps", 4, (const char *[]) { pid, w.from_text, w.to_text, w.post });
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    cJSON *body = cJSON_CreateObject ();
    char text[32];
    cJSON_AddStringToObject (body, "from", tk_clock_format (w.from, text));
    cJSON_AddStringToObject (body, "to", tk_clock_format (w.to, text));
    cJSON *posts = cJSON_AddArrayToObject (body, "posts");
    cJSON *cur = NULL, *gaps = NULL;
    int64_t total = 0;
    for (int i = 0; i < PQntuples (res); i++) {
        const char *p = PQgetvalue (res, i, 0);
        const char *name = cur ? cJSON_GetStringValue (cJSON_GetObjectItem (cur, "post")) : NULL;
        if (!name || strcmp (name, p) != 0) {
            if (cur)
                cJSON_AddNumberToObject (cur, "uncovered_minutes", (double) total);
            cur = cJSON_CreateObject ();
            cJSON_AddStringToObject (cur, "post", p);
            gaps = cJSON_AddArrayToObject (cur, "gaps");
            cJSON_AddItemToArray (posts, cur);
            total = 0;
        }
        if (PQgetisnull (res, i, 1))
            continue;
        cJSON *g = cJSON_CreateObject ();
        cJSON_AddStringToObject (g, "from", PQgetvalue (res, i, 1));
        cJSON_AddStringToObject (g, "to", PQgetvalue (res, i, 2));
        int64_t minutes = strtoll (PQgetvalue (res, i, 3), NULL, 10);
        cJSON_AddNumberToObject (g, "minutes", (double) minutes);
        cJSON_AddItemToArray (gaps, g);
        total += minutes;
    }
    if (cur)
        cJSON_AddNumberToObject (cur, "uncovered_minutes", (double) total);
    env_reply_ok (rep, 200, body);
out:
    PQclear (res);
}
