/* sla: SLA policies and calendars, and the terms of a ticket; see sla.h.
 * Parameterized statements only; every statement names the property. */
#include "sla.h"

#include "jv.h"
#include "log.h"
#include "page.h"
#include "sla_rules.h"
#include "ticket_rules.h"
#include "tickets.h"
#include "tk_clock.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CAL_COLS \
    "c.id::text, c.name, c.timezone, c.weekly::text, " SLA_DAYS_JSON ("c.id") ", " \
    DB_UTC_TS ("c.created_at") ", " DB_UTC_TS ("c.updated_at")
enum { C_ID, C_NAME, C_TZ, C_WEEKLY, C_DAYS, C_CREATED, C_UPDATED };
enum { P_TYPE, P_PRIORITY, P_RESPOND, P_RESOLVE, P_WARN, P_CALENDAR };   /* sla_policies_list */

/* The calendars of a property are listed as one page (proto/openapi.yaml,
 * listSlaCalendars): a property keeps a handful. */
#define S_CALENDARS_MAX     500
#define S_STR(x)            #x
#define S_XSTR(x)           S_STR (x)

static const db_statement_t s_statements[] = {
    { "sla_policies_list",
      "SELECT type, priority, respond_minutes, resolve_minutes, warn_minutes, calendar_id::text, "
      "  updated_by, " DB_UTC_TS ("updated_at") " "
      "FROM sla_policies WHERE property_id = $1::uuid", true },
    { "sla_policies_delete",
      "DELETE FROM sla_policies WHERE property_id = $1::uuid", false },
    /* all items in one statement: validated before, so it either all goes in or nothing */
    { "sla_policies_insert",
      "INSERT INTO sla_policies (property_id, type, priority, respond_minutes, resolve_minutes, "
      "  warn_minutes, calendar_id, updated_by) "
      "SELECT $1::uuid, x.type, x.priority, x.respond_minutes, x.resolve_minutes, x.warn_minutes, "
      "  x.calendar_id, $3::text "
      "FROM jsonb_to_recordset ($2::jsonb) AS x (type text, priority text, respond_minutes int, "
      "  resolve_minutes int, warn_minutes int, calendar_id uuid)", false },
    { "sla_calendar_ids",
      "SELECT id::text FROM sla_calendars WHERE property_id = $1::uuid AND id = ANY ($2::uuid[])", true },
    { "sla_calendar_insert",
      "INSERT INTO sla_calendars (property_id, name, timezone, weekly) "
      "VALUES ($1::uuid, $2::text, $3::text, $4::jsonb) RETURNING id::text", false },
    { "sla_calendar_update",
      "UPDATE sla_calendars SET name = $3::text, timezone = $4::text, weekly = $5::jsonb, "
      "  updated_at = now () WHERE property_id = $1::uuid AND id = $2::uuid RETURNING id::text", false },
    { "sla_calendar_days_delete",
      "DELETE FROM sla_calendar_days WHERE calendar_id = $1::uuid", false },
    { "sla_calendar_days_insert",
      "INSERT INTO sla_calendar_days (calendar_id, day, kind, name, as_weekday) "
      "SELECT $1::uuid, x.day, x.kind, x.name, CASE WHEN x.kind = 'workday' THEN x.\"as\" END "
      "FROM jsonb_to_recordset ($2::jsonb) AS x (day date, kind text, name text, \"as\" text)", false },
    { "sla_calendar_get",
      "SELECT " S_CAL_COLS " FROM sla_calendars c WHERE c.property_id = $1::uuid AND c.id = $2::uuid", true },
    { "sla_calendar_list",
      "SELECT " S_CAL_COLS " FROM sla_calendars c WHERE c.property_id = $1::uuid "
      "ORDER BY c.name LIMIT " S_XSTR (S_CALENDARS_MAX), true },
};

int
sla_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* --- shared by sla, roster, faq and reports ------------------------------ */

cJSON *
sla_query_object (const env_request_t *req, const char *const *names)
{
    cJSON *q = cJSON_CreateObject ();
    for (size_t i = 0; names[i]; i++) {
        const char *v = env_param (req, names[i]);
        if (v && *v)
            cJSON_AddStringToObject (q, names[i], v);
    }
    return q;
}

/* "field: problem" of sla_clock into {"field","problem"}, under prefix. */
static void
s_clock_problem (jv_t *v, const char *prefix, const char *err)
{
    const char *sep = strstr (err, ": ");
    char field[128];
    if (!sep) {
        jv_problem (v, prefix && *prefix ? prefix : "calendar", "%s", err);
        return;
    }
    snprintf (field, sizeof field, "%s%s%.*s", prefix ? prefix : "", prefix && *prefix ? "." : "",
              (int) (sep - err), err);
    jv_problem (v, field, "%s", sep + 2);
}

/* --- calendars from rows ------------------------------------------------- */

/* Parses a calendar from its stored columns; NULL (logged) when it does not. */
static sla_calendar_t *
s_calendar_from_row (const char *tz, const char *weekly, const char *days, const char *id)
{
    cJSON *j = cJSON_CreateObject ();
    cJSON_AddStringToObject (j, "timezone", tz ? tz : "");
    cJSON *w = weekly ? cJSON_Parse (weekly) : NULL;
    cJSON *d = days ? cJSON_Parse (days) : NULL;
    cJSON_AddItemToObject (j, "weekly", w ? w : cJSON_CreateObject ());
    cJSON_AddItemToObject (j, "days", d ? d : cJSON_CreateArray ());
    char err[256];
    sla_calendar_t *cal = sla_calendar_from_json (j, err);
    if (!cal)
        log_error (NULL, "calendar %s does not parse (%s): counting around the clock", id, err);
    cJSON_Delete (j);
    return cal;
}

void
sla_terms_for_ticket (const PGresult *res, int row, int col, const char *type, const char *priority,
                      int64_t created_at, sla_terms_t *out)
{
    memset (out, 0, sizeof *out);
    sla_calendar_t *cal = NULL;
    if (!PQgetisnull (res, row, col)) {
        out->respond_minutes = atoi (PQgetvalue (res, row, col));
        out->resolve_minutes = atoi (PQgetvalue (res, row, col + 1));
        out->warn_minutes = atoi (PQgetvalue (res, row, col + 2));
        if (!PQgetisnull (res, row, col + 3)) {
            snprintf (out->calendar_id, sizeof out->calendar_id, "%s", PQgetvalue (res, row, col + 3));
            cal = s_calendar_from_row (PQgetvalue (res, row, col + 4), PQgetvalue (res, row, col + 5),
                                       PQgetvalue (res, row, col + 6), out->calendar_id);
        }
    }
    else if (!sla_default_terms (type, priority, &out->respond_minutes, &out->resolve_minutes,
                                 &out->warn_minutes)) {
        /* an unknown pair never reaches here (the caller validated it):
         * a day to answer is the safe guess */
        out->respond_minutes = 60;
        out->resolve_minutes = 1440;
        out->warn_minutes = SLA_WARN_CAP_MIN;
    }
    out->respond_by = sla_add_minutes (cal, created_at, out->respond_minutes);
    out->resolve_by = sla_add_minutes (cal, created_at, out->resolve_minutes);
    sla_calendar_destroy (&cal);
}

/* The calendar of a property by id (NULL: none, or it does not parse);
 * -1 on a database error. */
static int
s_calendar_load (db_t *db, const char *property_id, const char *id, sla_calendar_t **cal)
{
    *cal = NULL;
    if (!id || !*id)
        return 0;
    PGresult *res = db_exec (db, "sla_calendar_get", 2, (const char *[]) { property_id, id });
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    if (PQntuples (res) == 1)
        *cal = s_calendar_from_row (PQgetvalue (res, 0, C_TZ), PQgetvalue (res, 0, C_WEEKLY),
                                    PQgetvalue (res, 0, C_DAYS), id);
    PQclear (res);
    return 0;
}

int
sla_resume_deadlines (db_t *db, const char *property_id, const char *calendar_id, int64_t hold_since,
                      int64_t now, int64_t respond_by, int64_t resolve_by, int64_t *new_respond_by,
                      int64_t *new_resolve_by)
{
    sla_calendar_t *cal = NULL;
    if (s_calendar_load (db, property_id, calendar_id, &cal))
        return -1;
    *new_respond_by = sla_shift_deadline (cal, hold_since, now, respond_by);
    *new_resolve_by = sla_shift_deadline (cal, hold_since, now, resolve_by);
    sla_calendar_destroy (&cal);
    return 0;
}

/* --- policies ------------------------------------------------------------ */

/* Every type x priority: the property's policy, else the default. */
static int
s_policies_body (db_t *db, const char *pid, cJSON **body)
{
    PGresult *res = db_exec (db, "sla_policies_list", 1, (const char *[]) { pid });
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    tk_sla_policy_t stored[TK_SLA_POLICIES_MAX];
    int n = 0;
    for (int r = 0; r < PQntuples (res) && n < TK_SLA_POLICIES_MAX; r++)
        stored[n++] = (tk_sla_policy_t) {
            .type = PQgetvalue (res, r, P_TYPE), .priority = PQgetvalue (res, r, P_PRIORITY),
            .respond_minutes = atoi (PQgetvalue (res, r, P_RESPOND)),
            .resolve_minutes = atoi (PQgetvalue (res, r, P_RESOLVE)),
            .warn_minutes = atoi (PQgetvalue (res, r, P_WARN)),
            .calendar_id = PQgetisnull (res, r, P_CALENDAR) ? NULL : PQgetvalue (res, r, P_CALENDAR) };
    *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (*body, "items", sla_policies_items (stored, n));
    PQclear (res);
    return 0;
}

static void
s_policies_reply (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid)
{
    cJSON *body = NULL;
    if (s_policies_body (app->db, pid, &body))
        db_fail (app->db, req->id, rep, "read SLA policies");
    else
        env_reply_ok (rep, 200, body);
}

void
sla_policies_get (void *app, const env_request_t *req, env_reply_t *rep)
{
    /* the desk reads the SLA; a technician sees each ticket's deadlines */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (pid)
        s_policies_reply (app, req, rep, pid);
}

/* Adds to v a problem for each policy whose calendar is not this
 * property's; 0, or -1 on a database error. */
static int
s_calendars_load_check (db_t *db, const char *pid, const tk_sla_policies_input_t *in, jv_t *v)
{
    char *ids = sla_calendar_ids_text (in);
    if (!ids)
        return 0;
    PGresult *res = db_exec (db, "sla_calendar_ids", 2, (const char *[]) { pid, ids });
    free (ids);
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    const char *known[TK_SLA_POLICIES_MAX];
    int n = 0;
    for (int r = 0; r < PQntuples (res) && n < TK_SLA_POLICIES_MAX; r++)
        known[n++] = PQgetvalue (res, r, 0);
    sla_calendars_check (v, in, known, n);
    PQclear (res);
    return 0;
}

/* Replaces the property's policies with rows (sla_policy_rows' text) in
 * one transaction; 0, or -1 after answering (rolled back). */
static int
s_policies_replace (db_t *db, const env_request_t *req, env_reply_t *rep, const char *pid,
                    const char *rows)
{
    int rc = -1;
    PGresult *res = NULL;
    if (db_begin (db)) {
        db_fail (db, req->id, rep, "begin");
        return -1;
    }
    res = db_exec (db, "sla_policies_delete", 1, (const char *[]) { pid });
    if (db_ok (res)) {
        PQclear (res);
        res = db_exec (db, "sla_policies_insert", 3, (const char *[]) { pid, rows, req->caller.user_id });
    }
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (db_commit (db))
        db_fail (db, req->id, rep, "store SLA policies");
    else
        rc = 0;
    db_rollback (db);                        /* what is still open; nothing after a commit */
    PQclear (res);
    return rc;
}

void
sla_policies_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    char *rows = NULL;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    /* the valid items go on to the calendar check even when others are not,
     * so that one answer names every problem */
    jv_t v = JV_INIT;
    tk_sla_policies_input_t in;
    tk_sla_policies_input (&v, req->data, &in);
    if (s_calendars_load_check (app->db, pid, &in, &v)) {
        db_fail (app->db, req->id, rep, "check calendars");
        goto out;
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid SLA policies");
        goto out;
    }
    cJSON *json = sla_policy_rows (&in);
    rows = cJSON_PrintUnformatted (json);
    cJSON_Delete (json);
    if (!rows) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (s_policies_replace (app->db, req, rep, pid, rows))
        goto out;
    log_info (req->id, "SLA policies of property %s replaced (%d items)", pid, in.n);
    s_policies_reply (app, req, rep, pid);
out:
    jv_reset (&v);
    free (rows);
}

/* --- calendars ----------------------------------------------------------- */

#define S_CAL_NAME_MAX 100

/* A calendar of a sla_calendar_* row (page_item_fn: arg unused). */
static cJSON *
s_calendar_json (const PGresult *res, int row, void *arg)
{
    (void) arg;
    cJSON *c = cJSON_CreateObject ();
    cJSON_AddStringToObject (c, "id", PQgetvalue (res, row, C_ID));
    cJSON_AddStringToObject (c, "name", PQgetvalue (res, row, C_NAME));
    cJSON_AddStringToObject (c, "timezone", PQgetvalue (res, row, C_TZ));
    cJSON *w = cJSON_Parse (PQgetvalue (res, row, C_WEEKLY));
    cJSON_AddItemToObject (c, "weekly", w ? w : cJSON_CreateObject ());
    cJSON *d = cJSON_Parse (PQgetvalue (res, row, C_DAYS));
    cJSON_AddItemToObject (c, "days", d ? d : cJSON_CreateArray ());
    cJSON_AddStringToObject (c, "created_at", PQgetvalue (res, row, C_CREATED));
    cJSON_AddStringToObject (c, "updated_at", PQgetvalue (res, row, C_UPDATED));
    return c;
}

/* Validates a calendar body; the parsed calendar and its name, or NULL with
 * problems in v. */
static sla_calendar_t *
s_calendar_input (jv_t *v, const cJSON *data, const char **name)
{
    if (!jv_object (v, data))
        return NULL;
    *name = jv_string (v, data, "name", JV_REQUIRED, S_CAL_NAME_MAX);
    const cJSON *days = cJSON_GetObjectItemCaseSensitive (data, "days");
    if (days && !cJSON_IsNull (days) && cJSON_GetArraySize (days) > SLA_MAX_DAYS)
        jv_problem (v, "days", "at most %d entries", SLA_MAX_DAYS);
    char err[256];
    sla_calendar_t *cal = sla_calendar_from_json (data, err);
    if (!cal)
        s_clock_problem (v, "", err);
    if (!jv_ok (v))
        sla_calendar_destroy (&cal);
    return cal;
}

/* Inserts (id NULL) or updates the calendar's own row; 0 with its id in
 * cid, or -1 after answering (404, 409 when the name is taken, or the
 * database's error). */
static int
s_calendar_row (db_t *db, const env_request_t *req, env_reply_t *rep, const char *pid, const char *id,
                const char *name, const sla_calendar_t *cal, char cid[SLA_UUID_LEN + 1])
{
    cJSON *weekly = sla_calendar_weekly_json (cal);
    char *weekly_text = cJSON_PrintUnformatted (weekly);
    const char *tz = sla_calendar_timezone (cal);
    PGresult *res;
    if (id)
        res = db_exec (db, "sla_calendar_update", 5, (const char *[]) { pid, id, name, tz, weekly_text });
    else
        res = db_exec (db, "sla_calendar_insert", 4, (const char *[]) { pid, name, tz, weekly_text });
    int rc = -1;
    if (!db_ok (res) && strcmp (db_sqlstate (res), "23505") == 0)
        env_reply_error (rep, 409, "conflict", jv_detail ("name", "already exists in this property"),
                         "a calendar with this name exists");
    else if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) != 1)
        env_reply_error (rep, 404, "not_found", NULL, "no such calendar");
    else {
        snprintf (cid, SLA_UUID_LEN + 1, "%s", PQgetvalue (res, 0, 0));
        rc = 0;
    }
    PQclear (res);
    cJSON_Delete (weekly);
    free (weekly_text);
    return rc;
}

/* Replaces the calendar's dated days; the stored calendar (a
 * sla_calendar_get row), or NULL after answering. */
static PGresult *
s_calendar_days (db_t *db, const env_request_t *req, env_reply_t *rep, const char *pid, const char *cid,
                 const sla_calendar_t *cal)
{
    cJSON *days = sla_calendar_days_json (cal);
    char *days_text = cJSON_PrintUnformatted (days);
    PGresult *res = db_exec (db, "sla_calendar_days_delete", 1, (const char *[]) { cid });
    if (db_ok (res)) {
        PQclear (res);
        res = db_exec (db, "sla_calendar_days_insert", 2, (const char *[]) { cid, days_text });
    }
    if (db_ok (res)) {
        PQclear (res);
        res = db_exec (db, "sla_calendar_get", 2, (const char *[]) { pid, cid });
    }
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        res = NULL;
    }
    cJSON_Delete (days);
    free (days_text);
    return res;
}

/* Writes the calendar (insert when id is NULL) and its days in one
 * transaction; the stored row, or NULL after answering (rolled back). */
static PGresult *
s_calendar_store (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                  const char *id, const char *name, const sla_calendar_t *cal)
{
    char cid[SLA_UUID_LEN + 1];
    PGresult *res = NULL;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return NULL;
    }
    if (s_calendar_row (app->db, req, rep, pid, id, name, cal, cid) == 0
        && (res = s_calendar_days (app->db, req, rep, pid, cid, cal)) && db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "store calendar");
        PQclear (res);
        res = NULL;
    }
    db_rollback (app->db);                   /* what is still open; nothing after a commit */
    return res;
}

/* Creates (cid NULL) or replaces the calendar of the request's body, and
 * answers it. */
static void
s_calendar_write (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                  const char *cid)
{
    jv_t v = JV_INIT;
    const char *name = NULL;
    sla_calendar_t *cal = s_calendar_input (&v, req->data, &name);
    if (!cal) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid calendar");
        return;
    }
    PGresult *res = s_calendar_store (app, req, rep, pid, cid, name, cal);
    if (res) {
        log_info (req->id, "SLA calendar %s %s in property %s", PQgetvalue (res, 0, C_ID),
                  cid ? "updated" : "created", pid);
        env_reply_ok (rep, cid ? 200 : 201, s_calendar_json (res, 0, NULL));
    }
    PQclear (res);
    sla_calendar_destroy (&cal);
}

void
sla_calendars_create (void *app, const env_request_t *req, env_reply_t *rep)
{
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (pid)
        s_calendar_write (app, req, rep, pid, NULL);
}

void
sla_calendars_update (void *app, const env_request_t *req, env_reply_t *rep)
{
    const char *pid, *cid = env_resource_scope (req, env_roles_managers, "cid", "calendar", rep, &pid);
    if (cid)
        s_calendar_write (app, req, rep, pid, cid);
}

void
sla_calendars_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    PGresult *res = db_exec (app->db, "sla_calendar_list", 1, (const char *[]) { pid });
    /* one page: at most S_CALENDARS_MAX rows, next_cursor null */
    page_reply_rows (res, S_CALENDARS_MAX, s_calendar_json, NULL, NULL, rep, req->id);
}

void
sla_calendars_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *cid = env_resource_scope (req, env_roles_desk, "cid", "calendar", rep, &pid);
    if (!cid)
        return;
    PGresult *res = db_exec (app->db, "sla_calendar_get", 2, (const char *[]) { pid, cid });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such calendar");
    else
        env_reply_ok (rep, 200, s_calendar_json (res, 0, NULL));
    PQclear (res);
}
