/* patrols: routes, rounds, checks and their photos; see patrols.h. Rows are
 * read as stored, so their JSON is built in SQL beside the statements.
 * "now" is tk_clock's: tests move it. */
#include "patrols.h"

#include "filetype.h"
#include "log.h"
#include "page.h"
#include "patrol_rules.h"
#include "tenants_copy.h"
#include "ticket_store.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ROUTE_JSON                                                                              \
    "json_build_object ('id', r.id, 'name', r.name, 'checkpoints', r.checkpoints, "                  \
    "'times', to_json (r.times), 'active', r.active, 'created_by', r.created_by, "                  \
    "'created_at', " DB_UTC_TS ("r.created_at") ", 'updated_at', " DB_UTC_TS ("r.updated_at") ")::text"

/* a round as lists show it */
#define S_ROUND_OBJ                                                                               \
    "jsonb_build_object ('id', p.id, 'route_id', p.route_id, 'route_name', p.route_name, "          \
    "'status', p.status, 'planned_at', " DB_UTC_TS ("p.planned_at") ", "                             \
    "'started_by', p.started_by, 'started_at', " DB_UTC_TS ("p.started_at") ", "                     \
    "'finished_by', p.finished_by, 'finished_at', " DB_UTC_TS ("p.finished_at") ", "                \
    "'checkpoints_total', jsonb_array_length (p.checkpoints), "                                     \
    "'checks_done', (SELECT count (*) FROM patrol_checks c WHERE c.round_id = p.id), "              \
    "'failed_items', (SELECT coalesce (sum (c.failed_items), 0) FROM patrol_checks c WHERE c.round_id = p.id), " \
    "'tickets_opened', (SELECT count (c.ticket_id) FROM patrol_checks c WHERE c.round_id = p.id))"

#define S_ATT_OBJ                                                                                 \
    "json_build_object ('id', a.id, 'check_id', a.patrol_check_id, 'content_type', a.content_type, " \
    "'filename', a.filename, 'size', a.size, 'sha256', a.sha256, 'uploaded_by', a.uploaded_by, "    \
    "'created_at', " DB_UTC_TS ("a.created_at") ")"

#define S_CHECK_OBJ                                                                               \
    "json_build_object ('id', c.id, 'round_id', c.round_id, 'checkpoint_code', c.checkpoint_code, " \
    "'results', c.results, 'failed_items', c.failed_items, 'ticket_id', c.ticket_id, "              \
    "'ticket_number', (SELECT t.number FROM tickets t WHERE t.id = c.ticket_id), "                 \
    "'checked_by', c.checked_by, 'checked_at', " DB_UTC_TS ("c.checked_at") ", "                    \
    "'attachments', (SELECT coalesce (json_agg (" S_ATT_OBJ " ORDER BY a.created_at, a.id), '[]') " \
    "  FROM attachments a WHERE a.property_id = c.property_id AND a.patrol_check_id = c.id))"

/* a round whole: its checkpoints as it started, its checks, the codes not checked yet */
#define S_ROUND_FULL                                                                              \
    "(" S_ROUND_OBJ " || jsonb_build_object ('checkpoints', p.checkpoints, "                        \
    "'checks', (SELECT coalesce (json_agg (" S_CHECK_OBJ " ORDER BY c.checked_at, c.id), '[]') "     \
    "  FROM patrol_checks c WHERE c.round_id = p.id), "                                             \
    "'missing', (SELECT coalesce (json_agg (x.cp->>'code' ORDER BY x.n), '[]') "                    \
    "  FROM jsonb_array_elements (p.checkpoints) WITH ORDINALITY x (cp, n) "                        \
    "  WHERE NOT EXISTS (SELECT 1 FROM patrol_checks c WHERE c.round_id = p.id "                    \
    "    AND c.checkpoint_code = x.cp->>'code'))))::text"

/* $n as a time of day in minutes, and its date, in zone $z */
#define S_LOCAL_MIN(n, z) \
    "(extract (hour FROM " n "::timestamptz AT TIME ZONE " z "::text) * 60 " \
    " + extract (minute FROM " n "::timestamptz AT TIME ZONE " z "::text))::int::text"
#define S_LOCAL_DAY(n, z) "(" n "::timestamptz AT TIME ZONE " z "::text)::date::text"

static const db_statement_t s_statements[] = {
    { "patrol_route_insert",
      "INSERT INTO patrol_routes AS r (property_id, name, checkpoints, times, plan_from, created_by, "
      "  created_at, updated_at) "
      "VALUES ($1::uuid, $2::text, $3::jsonb, ARRAY (SELECT jsonb_array_elements_text ($4::jsonb)), "
      "  $6::timestamptz, $5::text, $6::timestamptz, $6::timestamptz) RETURNING " S_ROUTE_JSON, false },
    { "patrol_route_get",
      "SELECT " S_ROUTE_JSON " FROM patrol_routes r WHERE r.property_id = $1::uuid AND r.id = $2::uuid", true },
    /* new times or a reactivation plan from now on: the timer never
     * alerts a time planned before the route planned it */
    { "patrol_route_update",
      "WITH n AS (SELECT CASE WHEN $5::jsonb IS NULL THEN NULL "
      "  ELSE ARRAY (SELECT jsonb_array_elements_text ($5::jsonb)) END AS times) "
      "UPDATE patrol_routes r SET name = coalesce ($3::text, r.name), "
      "  checkpoints = coalesce ($4::jsonb, r.checkpoints), times = coalesce (n.times, r.times), "
      "  active = coalesce ($6::boolean, r.active), "
      "  inactive_since = CASE WHEN $6::boolean IS NULL THEN r.inactive_since WHEN $6::boolean THEN NULL "
      "    ELSE coalesce (r.inactive_since, $7::timestamptz) END, "
      "  plan_from = CASE WHEN (n.times IS NOT NULL AND n.times IS DISTINCT FROM r.times) "
      "    OR ($6::boolean AND NOT r.active) THEN $7::timestamptz ELSE r.plan_from END, "
      "  updated_at = $7::timestamptz "
      "FROM n WHERE r.property_id = $1::uuid AND r.id = $2::uuid RETURNING " S_ROUTE_JSON, false },
    { "patrol_route_list",
      "SELECT " S_ROUTE_JSON ", " DB_UTC_TS_US ("r.created_at") ", r.id::text FROM patrol_routes r "
      "WHERE r.property_id = $1::uuid AND ($2::boolean IS NULL OR r.active = $2::boolean) "
      "  AND ($3::timestamptz IS NULL OR (r.created_at, r.id) < ($3::timestamptz, $4::uuid)) "
      "ORDER BY r.created_at DESC, r.id DESC LIMIT $5::int", true },
    /* the route a round starts on, with now ($3) and a planned time ($4)
     * as the property's day and minute of the day (zone $5) */
    { "patrol_round_route",
      "SELECT r.active::text, to_json (r.times)::text, " S_LOCAL_DAY ("$3", "$5") ", "
      S_LOCAL_MIN ("$3", "$5") ", " S_LOCAL_DAY ("$4", "$5") ", " S_LOCAL_MIN ("$4", "$5") ", "
      "  (extract (second FROM $4::timestamptz) = 0)::text "
      "FROM patrol_routes r WHERE r.property_id = $1::uuid AND r.id = $2::uuid", true },
    /* $3 the planned day and $4 its time of day in zone $5 (NULL: none) */
    { "patrol_round_insert",
      "INSERT INTO patrol_rounds AS p (property_id, route_id, route_name, checkpoints, planned_at, "
      "  started_by, started_at) "
      "SELECT r.property_id, r.id, r.name, r.checkpoints, "
      "  (($3::date + $4::time)::timestamp AT TIME ZONE $5::text), $6::text, $7::timestamptz "
      "FROM patrol_routes r WHERE r.property_id = $1::uuid AND r.id = $2::uuid AND r.active "
      "RETURNING " S_ROUND_FULL, false },
    { "patrol_round_get",
      "SELECT " S_ROUND_FULL " FROM patrol_rounds p WHERE p.property_id = $1::uuid AND p.id = $2::uuid", true },
    /* what a check needs: the round's state and checkpoints; FOR UPDATE in
     * the check's transaction, so that a finish waits for it */
    { "patrol_round_state",
      "SELECT p.status, p.checkpoints::text, p.route_name FROM patrol_rounds p "
      "WHERE p.property_id = $1::uuid AND p.id = $2::uuid", true },
    { "patrol_round_lock",
      "SELECT p.status FROM patrol_rounds p WHERE p.property_id = $1::uuid AND p.id = $2::uuid FOR UPDATE", false },
    { "patrol_round_finish",
      "UPDATE patrol_rounds p SET status = 'finished', finished_by = $3::text, finished_at = $4::timestamptz "
      "WHERE p.property_id = $1::uuid AND p.id = $2::uuid AND p.status = 'in_progress' "
      "RETURNING " S_ROUND_FULL, false },
    /* $2 route_id, $3 status, $4/$5 the day's bounds; page $6, $7, $8 */
    { "patrol_round_list",
      "SELECT " S_ROUND_OBJ "::text, " DB_UTC_TS_US ("p.started_at") ", p.id::text FROM patrol_rounds p "
      "WHERE p.property_id = $1::uuid AND ($2::uuid IS NULL OR p.route_id = $2::uuid) "
      "  AND ($3::text IS NULL OR p.status = $3::text) "
      "  AND ($4::timestamptz IS NULL OR (p.started_at >= $4::timestamptz AND p.started_at < $5::timestamptz)) "
      "  AND ($6::timestamptz IS NULL OR (p.started_at, p.id) < ($6::timestamptz, $7::uuid)) "
      "ORDER BY p.started_at DESC, p.id DESC LIMIT $8::int", true },
    { "patrol_day_bounds",
      "SELECT (($1::date)::timestamp AT TIME ZONE $2::text)::text, "
      "  (($1::date + 1)::timestamp AT TIME ZONE $2::text)::text", true },
    { "patrol_check_exists",
      "SELECT 1 FROM patrol_checks WHERE round_id = $1::uuid AND checkpoint_code = $2::text", true },
    { "patrol_check_insert",
      "INSERT INTO patrol_checks AS c (property_id, round_id, checkpoint_code, results, failed_items, "
      "  ticket_id, checked_by, checked_at) "
      "VALUES ($1::uuid, $2::uuid, $3::text, $4::jsonb, $5::int, $6::uuid, $7::text, $8::timestamptz) "
      "RETURNING " S_CHECK_OBJ "::text", false },
    { "patrol_check_state",
      "SELECT p.status FROM patrol_checks c JOIN patrol_rounds p ON p.id = c.round_id "
      "WHERE c.property_id = $1::uuid AND c.round_id = $2::uuid AND c.id = $3::uuid", true },
    /* size and digest of the bytes as stored, as attachments.c does */
    { "patrol_att_insert",
      "WITH f AS (SELECT $5::bytea AS c) "
      "INSERT INTO attachments AS a (property_id, patrol_check_id, content_type, filename, size, sha256, "
      "  content, uploaded_by, created_at) "
      "SELECT $1::uuid, $2::uuid, $3::text, $4::text, octet_length (f.c), encode (sha256 (f.c), 'hex'), "
      "  f.c, $6::text, $7::timestamptz FROM f "
      "RETURNING (" S_ATT_OBJ "::jsonb || jsonb_build_object ('round_id', $8::uuid))::text", false },
    { "patrol_att_get",
      "SELECT a.content_type, a.filename, a.content FROM attachments a "
      "JOIN patrol_checks c ON c.id = a.patrol_check_id "
      "WHERE a.property_id = $1::uuid AND c.round_id = $2::uuid AND a.patrol_check_id = $3::uuid "
      "  AND a.id = $4::uuid", true },
};

int
patrols_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements) || patrol_report_prepare (db) ? -1 : 0;
}

/* db_reply_json's end with the not-found text of the resource. */
static void
s_reply (tickets_t *app, const env_request_t *req, env_reply_t *rep, int status, const char *name,
         int n, const char *const *p, const char *not_found)
{
    db_reply_json (db_exec (app->db, name, n, p), rep, req->id, status, not_found);
}

/* --- routes ------------------------------------------------------------------ */

static bool
s_route_input (const env_request_t *req, bool partial, patrol_route_input_t *in, env_reply_t *rep)
{
    jv_t v = JV_INIT;
    if (patrol_route_input (&v, req->data, partial, in))
        return true;
    env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid patrol route");
    return false;
}

void
patrol_routes_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    patrol_route_input_t in = { 0 };
    char now[40], tz[64];
    if (!pid || !s_route_input (req, false, &in, rep))
        goto out;
    /* the property's zone in the copy: the timer plans in it */
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        goto out;
    tk_time_param (tk_clock_now_us (), now);
    const char *p[] = { pid, in.name, in.checkpoints_text, in.times_text, req->caller.user_id, now };
    s_reply (app, req, rep, 201, "patrol_route_insert", 6, p, "no such property");
    if (rep->status == 201)
        log_info (req->id, "patrol route added in property %s", pid);
out:
    patrol_route_input_free (&in);
}

void
patrol_routes_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    const char *pid, *id = env_resource_scope (req, env_roles_staff, "route_id", "patrol route", rep, &pid);
    if (id)
        s_reply (app_, req, rep, 200, "patrol_route_get", 2, (const char *[]) { pid, id }, "no such patrol route");
}

void
patrol_routes_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "route_id", "patrol route", rep, &pid);
    patrol_route_input_t in = { 0 };
    char now[40];
    if (!id || !s_route_input (req, true, &in, rep))
        goto out;
    tk_time_param (tk_clock_now_us (), now);
    const char *active = in.active < 0 ? NULL : in.active ? "true" : "false";
    const char *p[] = { pid, id, in.name, in.checkpoints_text, in.times_text, active, now };
    s_reply (app_, req, rep, 200, "patrol_route_update", 7, p, "no such patrol route");
out:
    patrol_route_input_free (&in);
}

void
patrol_routes_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    const char *active = env_query (req, "active");
    if (active && strcmp (active, "true") != 0 && strcmp (active, "false") != 0)
        jv_problem (&v, "active", "must be true or false");
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *p[] = { pid, active, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, "patrol_route_list", 5, p), page.limit, 1, 2, rep, req->id);
}

/* --- rounds ------------------------------------------------------------------ */

/* The planned time a round answers as (day, "HH:MM") of the property's
 * zone: the one the input names (422 when the route does not plan it), or
 * the nearest of the day; hm "" when the route plans none. 0, or -1 after
 * answering. res: patrol_round_route's row. */
static int
s_planned (const PGresult *res, const patrol_round_input_t *in, char day[16], char hm[16], env_reply_t *rep)
{
    cJSON *times = cJSON_Parse (PQgetvalue (res, 0, 1));
    int minute;
    if (in->planned_at) {
        minute = (int) strtol (PQgetvalue (res, 0, 5), NULL, 10);
        snprintf (day, 16, "%s", PQgetvalue (res, 0, 4));
        if (strcmp (PQgetvalue (res, 0, 6), "true") != 0 || !patrol_time_planned (times, minute)) {
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("planned_at", "is not a planned time of the route"), "invalid round");
            cJSON_Delete (times);
            return -1;
        }
    }
    else {
        minute = patrol_nearest_time (times, (int) strtol (PQgetvalue (res, 0, 3), NULL, 10));
        snprintf (day, 16, "%s", PQgetvalue (res, 0, 2));
    }
    cJSON_Delete (times);
    if (minute < 0)
        hm[0] = '\0';
    else
        snprintf (hm, 16, "%02d:%02d", minute / 60, minute % 60);
    return 0;
}

void
patrols_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    /* technicians are the usual walkers; the desk and managers may walk too */
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    patrol_round_input_t in;
    jv_t v = JV_INIT;
    if (!patrol_round_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid round");
        return;
    }
    char now[40], tz[64], day[16], hm[16];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    tk_time_param (tk_clock_now_us (), now);
    res = db_exec (app->db, "patrol_round_route", 5, (const char *[]) { pid, in.route_id, now, in.planned_at, tz });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such patrol route");
    else if (strcmp (PQgetvalue (res, 0, 0), "true") != 0)
        env_reply_error (rep, 409, "conflict", NULL, "the route is not active");
    else if (s_planned (res, &in, day, hm, rep) == 0) {
        const char *p[] = { pid, in.route_id, hm[0] ? day : NULL, hm[0] ? hm : NULL, tz,
                            req->caller.user_id, now };
        PGresult *ins = db_exec (app->db, "patrol_round_insert", 7, p);
        if (db_ok (ins) && PQntuples (ins) == 0) {
            env_reply_error (rep, 409, "conflict", NULL, "the route is not active");
            PQclear (ins);
        }
        else
            db_reply_json (ins, rep, req->id, 201, "no such patrol route");
        if (rep->status == 201)
            log_info (req->id, "patrol round started on route %s", in.route_id);
    }
    PQclear (res);
}

void
patrols_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    const char *pid, *id = env_resource_scope (req, env_roles_staff, "round_id", "patrol round", rep, &pid);
    if (id)
        s_reply (app_, req, rep, 200, "patrol_round_get", 2, (const char *[]) { pid, id }, "no such patrol round");
}

void
patrols_finish (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_staff, "round_id", "patrol round", rep, &pid);
    if (!id)
        return;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = db_exec (app->db, "patrol_round_finish", 4, (const char *[]) { pid, id, req->caller.user_id, now });
    if (db_ok (res) && PQntuples (res) == 0) {
        PQclear (res);
        /* not in progress: finished already (409), or no such round */
        res = db_exec (app->db, "patrol_round_state", 2, (const char *[]) { pid, id });
        if (db_ok (res) && PQntuples (res) == 1)
            env_reply_error (rep, 409, "conflict", NULL, "the round is finished already");
        else if (db_ok (res))
            env_reply_error (rep, 404, "not_found", NULL, "no such patrol round");
        else
            db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    db_reply_json (res, rep, req->id, 200, "no such patrol round");
    if (rep->status == 200)
        log_info (req->id, "patrol round %s finished", id);
}

void
patrols_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    const char *route = env_query (req, "route_id"), *status = env_query (req, "status");
    const char *date = env_query (req, "date");
    if (route && !jv_is_uuid (route))
        jv_problem (&v, "route_id", "must be a UUID");
    if (status && strcmp (status, "in_progress") != 0 && strcmp (status, "finished") != 0)
        jv_problem (&v, "status", "must be one of in_progress, finished");
    if (date && !jv_is_date (date))
        jv_problem (&v, "date", "must be a date YYYY-MM-DD");
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *lo = NULL, *hi = NULL;
    char tz[64];
    if (date) {
        /* the property's day */
        if (tk_copy_timezone (app->db, req, pid, tz, rep))
            return;
        res = db_exec (app->db, "patrol_day_bounds", 2, (const char *[]) { date, tz });
        if (!db_ok (res) || PQntuples (res) != 1) {
            db_reply_error (res, rep, req->id);
            goto out;
        }
        lo = PQgetvalue (res, 0, 0);
        hi = PQgetvalue (res, 0, 1);
    }
    const char *p[] = { pid, route, status, lo, hi, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, "patrol_round_list", 8, p), page.limit, 1, 2, rep, req->id);
out:
    PQclear (res);
}

/* --- checks ------------------------------------------------------------------ */

/* The round (patrol_round_state's row) allows this check: in progress, the
 * checkpoint on it, the items on its checklist, not checked yet. 0, or -1
 * after answering. */
static int
s_check_allowed (tickets_t *app, const env_request_t *req, const char *rid, const PGresult *round,
                 const patrol_check_input_t *in, env_reply_t *rep)
{
    if (strcmp (PQgetvalue (round, 0, 0), "in_progress") != 0) {
        env_reply_error (rep, 409, "conflict", NULL, "the round is finished: read-only");
        return -1;
    }
    cJSON *cps = cJSON_Parse (PQgetvalue (round, 0, 1));
    const cJSON *cp = patrol_checkpoint_find (cps, in->code);
    jv_t v = JV_INIT;
    if (!cp)
        jv_problem (&v, "checkpoint_code", "is not a checkpoint of the round's route");
    else
        patrol_results_on_list (&v, cp, in);
    cJSON_Delete (cps);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid check");
        return -1;
    }
    PGresult *res = db_exec (app->db, "patrol_check_exists", 2, (const char *[]) { rid, in->code });
    int rc = -1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) > 0)
        env_reply_error (rep, 409, "conflict", NULL, "the checkpoint is checked already in this round");
    else
        rc = 0;
    PQclear (res);
    return rc;
}

/* The results as stored ([{"item","ok","note"?}]), and the ticket's
 * description when the walker wrote none: the route, the checkpoint and
 * the failed items with their notes. Both the caller's to free. */
static char *
s_results_json (const patrol_check_input_t *in, const char *route, char **desc)
{
    cJSON *arr = cJSON_CreateArray ();
    size_t cap = strlen (route) + strlen (in->code) + 64, len = 0;
    for (int i = 0; i < in->n; i++)
        cap += strlen (in->results[i].item) + (in->results[i].note ? strlen (in->results[i].note) : 0) + 8;
    *desc = malloc (cap);
    if (*desc)
        len = (size_t) snprintf (*desc, cap, "巡查 %s / %s:", route, in->code);
    for (int i = 0; arr && i < in->n; i++) {
        cJSON *r = cJSON_CreateObject ();
        cJSON_AddStringToObject (r, "item", in->results[i].item);
        cJSON_AddBoolToObject (r, "ok", in->results[i].ok);
        if (in->results[i].note)
            cJSON_AddStringToObject (r, "note", in->results[i].note);
        cJSON_AddItemToArray (arr, r);
        if (*desc && !in->results[i].ok)
            len += (size_t) snprintf (*desc + len, cap - len, "\n- %s%s%s", in->results[i].item,
                                      in->results[i].note ? ": " : "", in->results[i].note ?: "");
    }
    char *text = arr ? cJSON_PrintUnformatted (arr) : NULL;
    cJSON_Delete (arr);
    return text;
}

/* validate -> the round (in progress, the checkpoint and items its own) ->
 * the ticket's references before the transaction -> in one transaction:
 * the round locked (a finish waits), the ticket with its ticket.created,
 * the check -> commit, wake the outbox -> 201 the check. */
void
patrol_checks_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *round = NULL, *res = NULL, *tk = NULL;
    char *results = NULL, *desc = NULL, now[40], failed[16];
    patrol_check_input_t in = { 0 };
    jv_t v = JV_INIT;
    tk_new_ticket_t nt;
    const char *pid, *rid = env_resource_scope (req, env_roles_staff, "round_id", "patrol round", rep, &pid);
    if (!rid)
        goto out;
    if (!patrol_check_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid check");
        goto out;
    }
    round = db_exec (app->db, "patrol_round_state", 2, (const char *[]) { pid, rid });
    if (!db_ok (round) || PQntuples (round) == 0) {
        db_reply_json (round, rep, req->id, 404, "no such patrol round");
        round = NULL;                /* cleared */
        goto out;
    }
    if (s_check_allowed (app, req, rid, round, &in, rep))
        goto out;
    results = s_results_json (&in, PQgetvalue (round, 0, 2), &desc);
    if (!results || !desc) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (in.ticket_data && !in.ticket.description)
        in.ticket.description = desc;
    if (in.ticket_data && tk_ticket_prepare (app, req, rep, pid, &in.ticket, &nt))
        goto out;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    res = db_exec (app->db, "patrol_round_lock", 2, (const char *[]) { pid, rid });
    if (!db_one_row (app->db, res, rep, req->id, "round lock"))
        goto out;
    if (strcmp (PQgetvalue (res, 0, 0), "in_progress") != 0) {
        env_reply_error (rep, 409, "conflict", NULL, "the round is finished: read-only");
        goto out;
    }
    if (in.ticket_data && !(tk = tk_ticket_open (app, req, rep, &nt)))
        goto out;
    PQclear (res);
    snprintf (failed, sizeof failed, "%d", in.failed);
    tk_time_param (tk_clock_now_us (), now);
    const char *p[] = { pid, rid, in.code, results, failed, tk ? PQgetvalue (tk, 0, TK_C_ID) : NULL,
                        req->caller.user_id, now };
    res = db_exec (app->db, "patrol_check_insert", 8, p);
    if (!db_one_row (app->db, res, rep, req->id, "check insert"))
        goto out;
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        goto out;
    }
    if (tk)
        outbox_wake (app->outbox);
    env_reply_text (rep, 201, strdup (PQgetvalue (res, 0, 0)));
    log_info (req->id, "patrol check of %s recorded in round %s (%d failed%s)", in.code, rid, in.failed,
              tk ? ", ticket opened" : "");
out:
    db_rollback (app->db);           /* whatever is still open; nothing after the commit */
    PQclear (round);
    PQclear (res);
    PQclear (tk);
    free (results);
    free (desc);
    patrol_check_input_free (&in);
}

/* --- a check's photos ---------------------------------------------------------- */

/* The path's check in its round: 0 when it may change (in progress), else
 * -1 after answering (404, 409). */
static int
s_check_open (tickets_t *app, const env_request_t *req, const char *pid, const char *rid, const char *cid,
              env_reply_t *rep)
{
    if (!cid || !jv_is_uuid (cid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such patrol check");
        return -1;
    }
    PGresult *res = db_exec (app->db, "patrol_check_state", 3, (const char *[]) { pid, rid, cid });
    int rc = -1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such patrol check");
    else if (strcmp (PQgetvalue (res, 0, 0), "in_progress") != 0)
        env_reply_error (rep, 409, "conflict", NULL, "the round is finished: read-only");
    else
        rc = 0;
    PQclear (res);
    return rc;
}

void
patrol_attachments_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *rid = env_resource_scope (req, env_roles_staff, "round_id", "patrol round", rep, &pid);
    if (!rid)
        return;
    const char *cid = env_param (req, "check_id");
    filetype_upload_t up;
    /* the file first: a refused one costs no query */
    if (!filetype_upload (req, &up, rep))
        return;
    if (s_check_open (app, req, pid, rid, cid, rep) == 0) {
        char now[40];
        tk_time_param (tk_clock_now_us (), now);
        const char *p[] = { pid, cid, up.type, up.name, up.hex, req->caller.user_id, now, rid };
        s_reply (app, req, rep, 201, "patrol_att_insert", 8, p, "no such patrol check");
        if (rep->status == 201)
            log_info (req->id, "photo of %zu bytes added to patrol check %s", req->blob_len, cid);
    }
    free (up.hex);
}

void
patrol_attachments_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *rid = env_resource_scope (req, env_roles_staff, "round_id", "patrol round", rep, &pid);
    if (!rid)
        return;
    const char *cid = env_param (req, "check_id"), *aid = env_param (req, "attachment_id");
    if (!cid || !aid || !jv_is_uuid (cid) || !jv_is_uuid (aid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such attachment");
        return;
    }
    PGresult *res = db_exec (app->db, "patrol_att_get", 4, (const char *[]) { pid, rid, cid, aid });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such attachment");
    else
        filetype_reply_stored (rep, PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1), PQgetvalue (res, 0, 2));
    PQclear (res);
}
