/* visitors: the desk's visitor register; see visitors.h.
 *
 * Masks are applied in C (s_visitor_json), the one place a visitor becomes
 * JSON: the list, the steps and the CSV export all go through it, so no path
 * shows an agent a whole phone number. Search matches a substring of the
 * name, the plate or the stored (normalised) phone through the trigram
 * index visitors_search, with the query as typed and compacted (a plate or
 * phone typed with spaces still matches). */
#include "visitors.h"

#include "config.h"
#include "csv.h"
#include "desk_rules.h"
#include "log.h"
#include "page.h"
#include "sla.h"
#include "tenants_copy.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STR(x) S_STR2 (x)
#define S_STR2(x) #x

#define S_COLS \
    "v.id::text, v.status, v.name, v.phone, v.id_number, v.visiting_unit_id::text, u.code, v.purpose, " \
    "v.vehicle_plate, " DB_UTC_TS ("v.registered_at") ", v.registered_by, " DB_UTC_TS ("v.checked_in_at") ", " \
    "v.checked_in_by, " DB_UTC_TS ("v.checked_out_at") ", v.checked_out_by, (v.purged_at IS NOT NULL)::text, " \
    DB_UTC_TS_US ("v.registered_at") ", " DB_UTC_TS ("v.expected_at") ", v.pass_code"
enum { V_ID, V_STATUS, V_NAME, V_PHONE, V_ID_NUMBER, V_UNIT, V_UNIT_CODE, V_PURPOSE, V_PLATE, V_REGISTERED,
       V_REGISTERED_BY, V_IN, V_IN_BY, V_OUT, V_OUT_BY, V_PURGED, V_CURSOR_AT, V_EXPECTED, V_PASS_CODE, V_NCOLS };
#define S_JOIN "LEFT JOIN tenant_units u ON u.id = v.visiting_unit_id"

/* the text ?q= searches, the expression of the index visitors_search */
#define S_DOC "(v.name || ' ' || coalesce (v.vehicle_plate, '') || ' ' || coalesce (v.phone, ''))"
#define S_LIKE(n) "'%' || replace (replace (replace (" n "::text, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"
/* the day $n (a date) in the property's timezone $m */
#define S_DAY_START(n, m) "((" n "::date)::timestamp AT TIME ZONE " m "::text)"
#define S_DAY_END(n, m)   "((" n "::date + 1)::timestamp AT TIME ZONE " m "::text)"
#define S_RETENTION \
    "coalesce ((SELECT visitor_retention_days FROM desk_settings WHERE property_id = $1::uuid), " \
    "  " S_STR (DESK_RETENTION_DEFAULT) ")"

static const db_statement_t s_statements[] = {
    { "desk_visitor_insert",
      "WITH v AS (INSERT INTO visitors (property_id, name, phone, id_number, visiting_unit_id, purpose, "
      "  vehicle_plate, status, registered_at, registered_by, checked_in_at, checked_in_by) "
      "  VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::uuid, $6::text, $7::text, "
      "    CASE WHEN $10::boolean THEN 'on_site' ELSE 'registered' END, $8::timestamptz, $9::text, "
      "    CASE WHEN $10::boolean THEN $8::timestamptz END, CASE WHEN $10::boolean THEN $9::text END) "
      "  RETURNING *) "
      "SELECT " S_COLS " FROM v " S_JOIN, false },
    { "desk_visitor_get",
      "SELECT " S_COLS " FROM visitors v " S_JOIN " WHERE v.property_id = $1::uuid AND v.id = $2::uuid", true },
    /* a step from status $3 to $4 at $5 by $6; no row when another request moved it first */
    { "desk_visitor_step",
      "WITH v AS (UPDATE visitors SET status = $4::text, "
      "    checked_in_at = CASE WHEN $4::text = 'on_site' THEN $5::timestamptz ELSE checked_in_at END, "
      "    checked_in_by = CASE WHEN $4::text = 'on_site' THEN $6::text ELSE checked_in_by END, "
      "    checked_out_at = CASE WHEN $4::text = 'left' THEN $5::timestamptz ELSE checked_out_at END, "
      "    checked_out_by = CASE WHEN $4::text = 'left' THEN $6::text ELSE checked_out_by END "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND status = $3::text RETURNING *) "
      "SELECT " S_COLS " FROM v " S_JOIN, false },
    /* $2 on_site, $3 day, $4 timezone, $5 q, $6 q compacted, $7 $8 cursor, $9 limit */
    { "desk_visitor_list",
      "SELECT " S_COLS " FROM visitors v " S_JOIN " WHERE v.property_id = $1::uuid "
      "  AND ($2::boolean IS NULL OR (v.status = 'on_site') = $2::boolean) "
      /* a visitor a resident announced (me_visitors.h) is in the day they are expected */
      "  AND ($3::date IS NULL OR (coalesce (v.expected_at, v.registered_at) >= " S_DAY_START ("$3", "$4")
      "    AND coalesce (v.expected_at, v.registered_at) < " S_DAY_END ("$3", "$4") ")) "
      "  AND ($5::text IS NULL OR " S_DOC " ILIKE " S_LIKE ("$5")
      "    OR ($6::text <> '' AND " S_DOC " ILIKE " S_LIKE ("$6") ")) "
      "  AND ($7::timestamptz IS NULL OR (v.registered_at, v.id) < ($7::timestamptz, $8::uuid)) "
      "ORDER BY v.registered_at DESC, v.id DESC LIMIT $9::int", true },
    { "desk_settings_get",
      "SELECT " S_RETENTION "::text", true },
    { "desk_settings_put",
      "INSERT INTO desk_settings (property_id, visitor_retention_days, updated_by, updated_at) "
      "VALUES ($1::uuid, $2::int, $3::text, now ()) ON CONFLICT (property_id) DO UPDATE "
      "SET visitor_retention_days = EXCLUDED.visitor_retention_days, updated_by = EXCLUDED.updated_by, "
      "  updated_at = EXCLUDED.updated_at RETURNING visitor_retention_days::text", false },
    /* the retention job: a bounded batch of visitors past their property's
     * retention, oldest first, each purged once (purged_at IS NULL is both
     * the index's predicate and the guard) */
    { "desk_visitor_purge",
      "WITH due AS ("
      "  SELECT v.id FROM visitors v LEFT JOIN desk_settings s ON s.property_id = v.property_id "
      "  WHERE v.purged_at IS NULL AND v.registered_at < $1::timestamptz "
      "      - make_interval (days => coalesce (s.visitor_retention_days, "
      S_STR (DESK_RETENTION_DEFAULT) ")) "
      "  ORDER BY v.registered_at LIMIT $2::int FOR UPDATE OF v SKIP LOCKED) "
      "UPDATE visitors v SET name = '" DESK_PURGED_NAME "', phone = NULL, id_number = NULL, "
      "  vehicle_plate = NULL, purged_at = $1::timestamptz "
      "FROM due WHERE v.id = due.id AND v.purged_at IS NULL RETURNING 1", false },
};

int
visitors_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

const char *
desk_query_enum (jv_t *v, const env_request_t *req, const char *name, const char *const *allowed)
{
    const char *const names[] = { name, NULL };
    cJSON *q = sla_query_object (req, names);
    /* the request's own text: q's copy dies with q */
    const char *value = jv_enum (v, q, name, JV_OPTIONAL, allowed) ? env_query (req, name) : NULL;
    cJSON_Delete (q);
    return value;
}

/* --- one visitor ----------------------------------------------------------- */

void
desk_add_text (cJSON *o, const char *name, const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col))
        cJSON_AddNullToObject (o, name);
    else
        cJSON_AddStringToObject (o, name, PQgetvalue (res, row, col));
}

/* A visitor of a row of S_COLS (page_item_fn: arg points to a bool, whether
 * the caller sees personal data whole). */
static cJSON *
s_visitor_json (const PGresult *res, int row, void *arg)
{
    bool whole = *(const bool *) arg;
    cJSON *o = cJSON_CreateObject ();
    desk_add_text (o, "id", res, row, V_ID);
    desk_add_text (o, "status", res, row, V_STATUS);
    desk_add_text (o, "name", res, row, V_NAME);
    if (!whole && !PQgetisnull (res, row, V_PHONE)) {
        char masked[PII_PHONE_MASK_MAX];
        pii_phone_mask (PQgetvalue (res, row, V_PHONE), masked);
        cJSON_AddStringToObject (o, "phone", masked);
    }
    else
        desk_add_text (o, "phone", res, row, V_PHONE);
    if (!whole && !PQgetisnull (res, row, V_ID_NUMBER)) {
        char masked[PII_ID_NUMBER_MAX + 1];
        pii_id_mask (PQgetvalue (res, row, V_ID_NUMBER), masked);
        cJSON_AddStringToObject (o, "id_number", masked);
    }
    else
        desk_add_text (o, "id_number", res, row, V_ID_NUMBER);
    desk_add_text (o, "visiting_unit_id", res, row, V_UNIT);
    desk_add_text (o, "visiting_unit_code", res, row, V_UNIT_CODE);
    desk_add_text (o, "purpose", res, row, V_PURPOSE);
    desk_add_text (o, "vehicle_plate", res, row, V_PLATE);
    desk_add_text (o, "registered_at", res, row, V_REGISTERED);
    desk_add_text (o, "registered_by", res, row, V_REGISTERED_BY);
    desk_add_text (o, "checked_in_at", res, row, V_IN);
    desk_add_text (o, "checked_in_by", res, row, V_IN_BY);
    desk_add_text (o, "checked_out_at", res, row, V_OUT);
    desk_add_text (o, "checked_out_by", res, row, V_OUT_BY);
    cJSON_AddBoolToObject (o, "purged", strcmp (PQgetvalue (res, row, V_PURGED), "true") == 0);
    /* announced by a resident (me_visitors.h): expected until checked in, with the code they show */
    cJSON_AddBoolToObject (o, "expected", !PQgetisnull (res, row, V_EXPECTED)
                                          && strcmp (PQgetvalue (res, row, V_STATUS), "registered") == 0);
    desk_add_text (o, "expected_at", res, row, V_EXPECTED);
    desk_add_text (o, "pass_code", res, row, V_PASS_CODE);
    cJSON_AddItemToObject (o, "allowed_actions", desk_visitor_allowed (PQgetvalue (res, row, V_STATUS)));
    return o;
}

/* The keyset key of a listed visitor: "<registered_at, microseconds>~<id>". */
static void
s_visitor_key (const PGresult *res, int row, char *key, size_t cap)
{
    snprintf (key, cap, "%s%c%s", PQgetvalue (res, row, V_CURSOR_AT), PAGE_KEY_SEP, PQgetvalue (res, row, V_ID));
}

/* Answers row 0 of res with status (404 when there is none); clears res. */
static void
s_reply_visitor (PGresult *res, const env_request_t *req, env_reply_t *rep, int status)
{
    bool whole = pii_role_sees_pii (req->caller.role);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such visitor");
    else
        env_reply_ok (rep, status, s_visitor_json (res, 0, &whole));
    PQclear (res);
}

void
visitors_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    desk_visitor_input_t in;
    if (!desk_visitor_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid visitor");
        return;
    }
    char code[TK_UNIT_CODE_MAX + 1];
    int known = in.visiting_unit_id ? tk_copy_unit (app->db, req, pid, in.visiting_unit_id, code, rep) : 1;
    if (known < 0)
        return;
    if (known == 0) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("visiting_unit_id", "no such unit in this property"),
                         "invalid visitor");
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, in.name, in.phone[0] ? in.phone : NULL, in.id_number[0] ? in.id_number : NULL,
                             in.visiting_unit_id, in.purpose, in.plate[0] ? in.plate : NULL, now,
                             req->caller.user_id, in.check_in ? "true" : "false" };
    PGresult *res = db_exec (app->db, "desk_visitor_insert", 10, params);
    if (db_ok (res) && PQntuples (res) == 1)
        log_info (req->id, "visitor %s registered in property %s", PQgetvalue (res, 0, V_ID), pid);
    s_reply_visitor (res, req, rep, 201);
}

void
visitors_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "visitor_id", "visitor", rep, &pid);
    if (id)
        s_reply_visitor (db_exec (app->db, "desk_visitor_get", 2, (const char *[]) { pid, id }), req, rep, 200);
}

/* 409 invalid_transition naming what is allowed from status, as a
 * ticket's: details [{"field":"action","problem":"allowed: check_out"}]. */
static void
s_invalid_step (env_reply_t *rep, const char *status, desk_visit_step_t step)
{
    cJSON *allowed = desk_visitor_allowed (status);
    char problem[64] = "allowed: ";
    const cJSON *a;
    int n = 0;
    cJSON_ArrayForEach (a, allowed) {
        if (n++)
            strncat (problem, ", ", sizeof problem - strlen (problem) - 1);
        strncat (problem, a->valuestring, sizeof problem - strlen (problem) - 1);
    }
    if (n == 0)
        strncat (problem, "none", sizeof problem - strlen (problem) - 1);
    cJSON_Delete (allowed);
    env_reply_error (rep, 409, "invalid_transition", jv_detail ("action", problem),
                     "a visitor who is %s cannot %s", status, desk_visit_step_name (step));
}

/* check-in and check-out: load, decide (desk_rules), store with the status
 * read as the guard, so two desks clicking at once move it once. */
static void
s_step (tickets_t *app, const env_request_t *req, env_reply_t *rep, desk_visit_step_t step)
{
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "visitor_id", "visitor", rep, &pid);
    if (!id)
        return;
    PGresult *res = db_exec (app->db, "desk_visitor_get", 2, (const char *[]) { pid, id });
    if (!db_ok (res) || PQntuples (res) == 0) {
        s_reply_visitor (res, req, rep, 200);
        return;
    }
    char status[16];
    snprintf (status, sizeof status, "%s", PQgetvalue (res, 0, V_STATUS));
    PQclear (res);
    const char *next = desk_visitor_next (status, step);
    if (next) {
        char now[40];
        tk_time_param (tk_clock_now_us (), now);
        const char *params[] = { pid, id, status, next, now, req->caller.user_id };
        res = db_exec (app->db, "desk_visitor_step", 6, params);
        if (!db_ok (res) || PQntuples (res) == 1) {
            s_reply_visitor (res, req, rep, 200);
            return;
        }
        PQclear (res);
    }
    s_invalid_step (rep, status, step);
}

void
visitors_check_in (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_step (app, req, rep, DESK_CHECK_IN);
}

void
visitors_check_out (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_step (app, req, rep, DESK_CHECK_OUT);
}

/* --- the register -------------------------------------------------------- */

/* The filters of a list or an export, as statement parameters (NULL: not
 * given). */
typedef struct {
    const char *on_site;             /* "true" / "false" */
    const char *date;                /* YYYY-MM-DD in the property's timezone */
    const char *q;
    char compact[DESK_QUERY_MAX + 1];
    char tz[64];
} s_filter_t;

/* Reads ?on_site= ?date= ?q= into f (date_required: the export's); false
 * after adding problems to v. */
static bool
s_filter (jv_t *v, const env_request_t *req, bool date_required, s_filter_t *f)
{
    memset (f, 0, sizeof *f);
    static const char *const flags[] = { "true", "false", NULL };
    f->on_site = desk_query_enum (v, req, "on_site", flags);
    f->date = env_query (req, "date");
    if (f->date && !jv_is_date (f->date))
        jv_problem (v, "date", "must be a date YYYY-MM-DD");
    else if (!f->date && date_required)
        jv_problem (v, "date", "is required");
    f->q = env_query (req, "q");
    if (f->q && (strlen (f->q) > DESK_QUERY_MAX || !jv_is_utf8 (f->q, strlen (f->q))))
        jv_problem (v, "q", "must be at most %d bytes of UTF-8", DESK_QUERY_MAX);
    else if (f->q)
        desk_search_compact (f->q, f->compact);
    return jv_ok (v);
}

/* Runs the list statement for f: limit_plus_one rows after the cursor
 * (at, id; NULL for the first page). Asks the property's timezone first
 * when a day is wanted; NULL after answering. */
static PGresult *
s_list (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid, s_filter_t *f,
        const char *at, const char *id, const char *limit_plus_one)
{
    if (f->date && tk_copy_timezone (app->db, req, pid, f->tz, rep))
        return NULL;
    const char *params[] = { pid, f->on_site, f->date, f->date ? f->tz : NULL, f->q, f->q ? f->compact : NULL,
                             at, id, limit_plus_one };
    return db_exec (app->db, "desk_visitor_list", 9, params);
}

void
visitors_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    s_filter_t f;
    page_time_id_t page;
    s_filter (&v, req, false, &f);
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    bool whole = pii_role_sees_pii (req->caller.role);
    PGresult *res = s_list (app, req, rep, pid, &f, page.at, page.id, page.limit_plus_one);
    if (res)
        page_reply_rows (res, page.limit, s_visitor_json, &whole, s_visitor_key, rep, req->id);
}

/* The CSV's columns: the visitor's JSON fields, in order. */
static const char *const s_csv_columns[] = {
    "registered_at", "status", "name", "phone", "id_number", "visiting_unit_code", "purpose", "vehicle_plate",
    "checked_in_at", "checked_out_at", "registered_by", NULL
};

/* Appends one cell (csv_write_cell: quoted, formulas defused). */
static void
s_csv_cell (env_text_t *t, const char *s, bool first)
{
    if (!first)
        env_text_put (t, ",");
    char *cell = malloc (csv_cell_len (s, false) + 1);
    if (!cell) {
        t->failed = true;
        return;
    }
    env_text_append (t, cell, csv_write_cell (s, false, cell));
    free (cell);
}

/* The day's register as CSV text: a BOM (Excel then reads UTF-8), a header
 * line, a line per visitor from the same JSON the list shows (so the same
 * masks), CRLF. NULL when out of memory. */
static char *
s_csv (const PGresult *res, bool whole)
{
    env_text_t t = ENV_TEXT_INIT;
    env_text_put (&t, "\xEF\xBB\xBF");
    for (int c = 0; s_csv_columns[c]; c++)
        s_csv_cell (&t, s_csv_columns[c], c == 0);
    env_text_put (&t, "\r\n");
    for (int r = 0; r < PQntuples (res); r++) {
        cJSON *o = s_visitor_json (res, r, &whole);
        for (int c = 0; s_csv_columns[c]; c++) {
            const char *s = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (o, s_csv_columns[c]));
            s_csv_cell (&t, s ? s : "", c == 0);
        }
        env_text_put (&t, "\r\n");
        cJSON_Delete (o);
    }
    return env_text_take (&t);
}

void
visitors_export (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    s_filter_t f;
    if (!s_filter (&v, req, true, &f)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid export parameters");
        return;
    }
    char lim[16];
    snprintf (lim, sizeof lim, "%d", VISITORS_EXPORT_MAX + 1);
    PGresult *res = s_list (app, req, rep, pid, &f, NULL, NULL, lim);
    if (!res)
        return;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) > VISITORS_EXPORT_MAX)
        env_reply_error (rep, 422, "validation_failed", jv_detail ("date", "more than 10000 visitors that day"),
                         "the day's register is too long for one file");
    else {
        char *text = s_csv (res, pii_role_sees_pii (req->caller.role));
        cJSON *body = text ? cJSON_CreateObject () : NULL;
        if (body) {
            char filename[40];
            snprintf (filename, sizeof filename, "visitors-%s.csv", f.date);
            cJSON_AddStringToObject (body, "content_type", "text/csv; charset=utf-8");
            cJSON_AddStringToObject (body, "filename", filename);
            cJSON_AddStringToObject (body, "text", text);
            env_reply_ok (rep, 200, body);
        }
        else
            env_reply_error (rep, 500, "internal", NULL, "out of memory");
        free (text);
    }
    PQclear (res);
}

/* --- settings and retention ---------------------------------------------- */

static void
s_reply_settings (PGresult *res, const env_request_t *req, env_reply_t *rep)
{
    if (!db_ok (res) || PQntuples (res) != 1)
        db_reply_error (res, rep, req->id);
    else {
        cJSON *body = cJSON_CreateObject ();
        cJSON_AddNumberToObject (body, "visitor_retention_days", strtod (PQgetvalue (res, 0, 0), NULL));
        env_reply_ok (rep, 200, body);
    }
    PQclear (res);
}

void
desk_settings_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (pid)
        s_reply_settings (db_exec (app->db, "desk_settings_get", 1, (const char *[]) { pid }), req, rep);
}

void
desk_settings_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int days;
    if (!desk_settings_input (&v, req->data, &days)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid desk settings");
        return;
    }
    char text[16];
    snprintf (text, sizeof text, "%d", days);
    PGresult *res = db_exec (app->db, "desk_settings_put", 3, (const char *[]) { pid, text, req->caller.user_id });
    if (db_ok (res))
        log_info (req->id, "visitor retention of property %s set to %d days", pid, days);
    s_reply_settings (res, req, rep);
}

int
visitors_purge_once (tickets_t *app)
{
    char now[40], batch[16];
    tk_time_param (tk_clock_now_us (), now);
    snprintf (batch, sizeof batch, "%d", VISITORS_PURGE_BATCH);
    PGresult *res = db_exec (app->db, "desk_visitor_purge", 2, (const char *[]) { now, batch });
    int purged = db_ok (res) ? PQntuples (res) : -1;
    if (purged < 0)
        log_error (NULL, "visitor purge failed (%s)", db_sqlstate (res));
    else if (purged > 0)
        log_info (NULL, "visitor purge: personal data of %d visitors cleared", purged);
    PQclear (res);
    return purged;
}

static int
s_purge_round (void *app)
{
    return visitors_purge_once (app);
}

job_t *
visitors_purge_new (uv_loop_t *loop, tickets_t *app)
{
    uint64_t every = (uint64_t) config_int ("PM_VISITOR_PURGE_MS", VISITORS_PURGE_MS_DEFAULT, 100, 86400000);
    return job_new (loop, "visitor purge", every, s_purge_round, app);
}
