/* sla: SLA policies and calendars, and the terms of a ticket; see sla.h.
 * Parameterized statements only; every statement names the property. */
#include "sla.h"

#include "faq.h"
#include "jv.h"
#include "log.h"
#include "roster.h"
#include "ticket_rules.h"
#include "tickets.h"
#include "tk_clock.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TS(col) "to_char (" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A calendar's days as the JSON array of sla_clock.h ("as" only for workdays). */
#define S_DAYS_JSON(cal)                                                                  \
    "coalesce ((SELECT json_agg (json_strip_nulls (json_build_object ("                  \
    "  'day', d.day::text, 'kind', d.kind, 'name', d.name, "                            \
    "  'as', CASE WHEN d.kind = 'workday' THEN coalesce (d.as_weekday, 'mon') END)) "    \
    "  ORDER BY d.day) FROM sla_calendar_days d WHERE d.calendar_id = " cal "), '[]')::text"

#define S_CAL_COLS \
    "c.id::text, c.name, c.timezone, c.weekly::text, " S_DAYS_JSON ("c.id") ", " \
    S_TS ("c.created_at") ", " S_TS ("c.updated_at")
enum { C_ID, C_NAME, C_TZ, C_WEEKLY, C_DAYS, C_CREATED, C_UPDATED };

static const db_statement_t s_statements[] = {
    /* the policy of (type, priority) with its calendar, in one round trip */
    { "sla_policy_find",
      "SELECT p.respond_minutes, p.resolve_minutes, p.warn_minutes, p.calendar_id::text, "
      "  c.timezone, c.weekly::text, " S_DAYS_JSON ("c.id") " "
      "FROM sla_policies p LEFT JOIN sla_calendars c "
      "  ON c.property_id = p.property_id AND c.id = p.calendar_id "
      "WHERE p.property_id = $1::uuid AND p.type = $2::text AND p.priority = $3::text", true },
    { "sla_policies_list",
      "SELECT type, priority, respond_minutes, resolve_minutes, warn_minutes, calendar_id::text, "
      "  updated_by, " S_TS ("updated_at") " "
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
      "ORDER BY c.name LIMIT 500", true },
};

int
sla_prepare (db_t *db)
{
    if (DB_PREPARE_ALL (db, s_statements) || sla_timer_prepare (db) || roster_prepare (db)
        || faq_prepare (db) || tk_reports_prepare (db))
        return -1;
    return 0;
}

/* --- shared by sla, roster, faq and reports ------------------------------ */

bool
sla_is_manager (const env_request_t *req)
{
    const char *role = req->caller.role ? req->caller.role : "";
    return strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0 || strcmp (role, "service") == 0;
}

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

/* --- defaults ------------------------------------------------------------ */

static const char *const s_priorities[] = { "urgent", "high", "normal", "low", NULL };

/* minutes to respond / resolve by priority (urgent, high, normal, low); a
 * customer-service manager's usual figures, changed per property by PUT */
static const struct {
    const char *type;
    int respond[4];
    int resolve[4];
} s_defaults[] = {
    { "repair",       { 15, 30, 60, 240 },    { 240, 480, 1440, 4320 } },
    { "complaint",    { 15, 30, 30, 60 },     { 480, 1440, 1440, 2880 } },
    { "inquiry",      { 5, 10, 15, 30 },      { 30, 60, 60, 240 } },
    { "suggestion",   { 30, 60, 120, 240 },   { 1440, 2880, 4320, 10080 } },
    { "renovation",   { 60, 240, 480, 1440 }, { 1440, 2880, 4320, 7200 } },
    { "item_release", { 10, 15, 30, 60 },     { 30, 60, 120, 240 } },
    { "move_in",      { 60, 120, 240, 480 },  { 1440, 2880, 4320, 7200 } },
    { "move_out",     { 60, 120, 240, 480 },  { 1440, 2880, 4320, 7200 } },
    { "parking",      { 60, 120, 240, 480 },  { 1440, 2880, 4320, 10080 } },
    { "other",        { 30, 60, 120, 240 },   { 480, 1440, 2880, 4320 } },
};
#define S_NDEFAULTS (sizeof s_defaults / sizeof s_defaults[0])

static int
s_priority_index (const char *priority)
{
    for (int i = 0; s_priorities[i]; i++)
        if (priority && strcmp (priority, s_priorities[i]) == 0)
            return i;
    return -1;
}

/* 20% of the resolution window, at least 1 minute, at most SLA_WARN_CAP_MIN */
static int
s_default_warn (int resolve)
{
    int w = resolve / 5;
    return w < 1 ? 1 : w > SLA_WARN_CAP_MIN ? SLA_WARN_CAP_MIN : w;
}

bool
sla_default_terms (const char *type, const char *priority, int *respond_minutes,
                   int *resolve_minutes, int *warn_minutes)
{
    int p = s_priority_index (priority);
    for (size_t i = 0; p >= 0 && type && i < S_NDEFAULTS; i++)
        if (strcmp (type, s_defaults[i].type) == 0) {
            *respond_minutes = s_defaults[i].respond[p];
            *resolve_minutes = s_defaults[i].resolve[p];
            *warn_minutes = s_default_warn (*resolve_minutes);
            return true;
        }
    return false;
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

int
sla_terms_for_ticket (db_t *db, const char *property_id, const char *type, const char *priority,
                      int64_t created_at, sla_terms_t *out)
{
    memset (out, 0, sizeof *out);
    PGresult *res = db_exec (db, "sla_policy_find", 3, (const char *[]) { property_id, type, priority });
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    sla_calendar_t *cal = NULL;
    if (PQntuples (res) == 1) {
        out->respond_minutes = atoi (PQgetvalue (res, 0, 0));
        out->resolve_minutes = atoi (PQgetvalue (res, 0, 1));
        out->warn_minutes = atoi (PQgetvalue (res, 0, 2));
        if (!PQgetisnull (res, 0, 3)) {
            snprintf (out->calendar_id, sizeof out->calendar_id, "%s", PQgetvalue (res, 0, 3));
            cal = s_calendar_from_row (PQgetvalue (res, 0, 4), PQgetvalue (res, 0, 5),
                                       PQgetvalue (res, 0, 6), out->calendar_id);
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
    PQclear (res);
    out->respond_by = sla_add_minutes (cal, created_at, out->respond_minutes);
    out->resolve_by = sla_add_minutes (cal, created_at, out->resolve_minutes);
    sla_calendar_destroy (&cal);
    return 0;
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

static cJSON *
s_policy_json (const char *type, const char *priority, int respond, int resolve, int warn,
               const char *calendar_id, bool is_default)
{
    cJSON *p = cJSON_CreateObject ();
    cJSON_AddStringToObject (p, "type", type);
    cJSON_AddStringToObject (p, "priority", priority);
    cJSON_AddNumberToObject (p, "respond_minutes", respond);
    cJSON_AddNumberToObject (p, "resolve_minutes", resolve);
    cJSON_AddNumberToObject (p, "warn_minutes", warn);
    if (calendar_id)
        cJSON_AddStringToObject (p, "calendar_id", calendar_id);
    else
        cJSON_AddNullToObject (p, "calendar_id");
    cJSON_AddStringToObject (p, "source", is_default ? "default" : "property");
    return p;
}

/* Every type x priority: the property's policy, else the default. */
static int
s_policies_body (db_t *db, const char *pid, cJSON **body)
{
    PGresult *res = db_exec (db, "sla_policies_list", 1, (const char *[]) { pid });
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    *body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (*body, "items");
    int n = PQntuples (res);
    for (size_t t = 0; t < S_NDEFAULTS; t++)
        for (int p = 0; s_priorities[p]; p++) {
            int row = -1;
            for (int r = 0; r < n && row < 0; r++)
                if (strcmp (PQgetvalue (res, r, 0), s_defaults[t].type) == 0
                    && strcmp (PQgetvalue (res, r, 1), s_priorities[p]) == 0)
                    row = r;
            if (row >= 0)
                cJSON_AddItemToArray (items, s_policy_json (
                    s_defaults[t].type, s_priorities[p], atoi (PQgetvalue (res, row, 2)),
                    atoi (PQgetvalue (res, row, 3)), atoi (PQgetvalue (res, row, 4)),
                    PQgetisnull (res, row, 5) ? NULL : PQgetvalue (res, row, 5), false));
            else
                cJSON_AddItemToArray (items, s_policy_json (
                    s_defaults[t].type, s_priorities[p], s_defaults[t].respond[p], s_defaults[t].resolve[p],
                    s_default_warn (s_defaults[t].resolve[p]), NULL, true));
        }
    PQclear (res);
    return 0;
}

void
sla_policies_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    /* the desk reads the SLA; a technician sees each ticket's deadlines */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    cJSON *body = NULL;
    if (s_policies_body (app->db, pid, &body))
        db_fail (app->db, req->id, rep, "read SLA policies");
    else
        env_reply_ok (rep, 200, body);
}

/* the input's bound is the defaults' size: one policy per type and priority */
_Static_assert (S_NDEFAULTS * 4 == TK_SLA_POLICIES_MAX, "TK_SLA_POLICIES_MAX: types x priorities");

void
sla_policies_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    cJSON *rows = NULL;
    char *rows_text = NULL, *ids_text = NULL;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    /* the valid items go on to the calendar check even when others are not,
     * so that one answer names every problem */
    tk_sla_policies_input_t in;
    tk_sla_policies_input (&v, req->data, &in);
    rows = cJSON_CreateArray ();
    cJSON *cal_ids = cJSON_CreateArray ();
    for (int i = 0; i < in.n; i++) {
        const tk_sla_policy_t *p = &in.items[i];
        cJSON *row = cJSON_CreateObject ();
        cJSON_AddStringToObject (row, "type", p->type);
        cJSON_AddStringToObject (row, "priority", p->priority);
        cJSON_AddNumberToObject (row, "respond_minutes", p->respond_minutes);
        cJSON_AddNumberToObject (row, "resolve_minutes", p->resolve_minutes);
        cJSON_AddNumberToObject (row, "warn_minutes", p->warn_minutes >= 0 ? p->warn_minutes
                                                      : s_default_warn (p->resolve_minutes));
        if (p->calendar_id) {
            cJSON_AddStringToObject (row, "calendar_id", p->calendar_id);
            cJSON_AddItemToArray (cal_ids, cJSON_CreateString (p->calendar_id));
        }
        cJSON_AddNumberToObject (row, "_index", p->index);   /* for the calendar check */
        cJSON_AddItemToArray (rows, row);
    }
    /* the calendars must be this property's */
    if (cJSON_GetArraySize (cal_ids) > 0) {
        /* {a,b} literal of validated uuids */
        size_t cap = (size_t) cJSON_GetArraySize (cal_ids) * 40 + 3;
        ids_text = malloc (cap);
        size_t len = 0;
        ids_text[len++] = '{';
        const cJSON *id;
        cJSON_ArrayForEach (id, cal_ids)
            len += (size_t) snprintf (ids_text + len, cap - len, "%s%s", len > 1 ? "," : "", id->valuestring);
        snprintf (ids_text + len, cap - len, "}");
        res = db_exec (app->db, "sla_calendar_ids", 2, (const char *[]) { pid, ids_text });
        if (!db_ok (res)) {
            cJSON_Delete (cal_ids);
            jv_reset (&v);
            db_fail (app->db, req->id, rep, "check calendars");
            goto out;
        }
        const cJSON *row;
        cJSON_ArrayForEach (row, rows) {
            const char *cal = cJSON_GetStringValue (cJSON_GetObjectItem (row, "calendar_id"));
            bool found = !cal;
            for (int r = 0; cal && r < PQntuples (res) && !found; r++)
                found = strcmp (PQgetvalue (res, r, 0), cal) == 0;
            if (!found) {
                char f[64];
                snprintf (f, sizeof f, "items[%d].calendar_id",
                          (int) cJSON_GetNumberValue (cJSON_GetObjectItem (row, "_index")));
                jv_problem (&v, f, "no such calendar in this property");
            }
        }
        PQclear (res);
        res = NULL;
    }
    cJSON_Delete (cal_ids);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid SLA policies");
        goto out;
    }
    rows_text = cJSON_PrintUnformatted (rows);
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    res = db_exec (app->db, "sla_policies_delete", 1, (const char *[]) { pid });
    if (db_ok (res)) {
        PQclear (res);
        res = db_exec (app->db, "sla_policies_insert", 3,
                       (const char *[]) { pid, rows_text, req->caller.user_id });
    }
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "store SLA policies");
        goto out;
    }
    log_info (req->id, "SLA policies of property %s replaced (%d items)", pid, cJSON_GetArraySize (rows));
    cJSON *body = NULL;
    if (s_policies_body (app->db, pid, &body))
        db_fail (app->db, req->id, rep, "read SLA policies");
    else
        env_reply_ok (rep, 200, body);
out:
    PQclear (res);
    cJSON_Delete (rows);
    free (rows_text);
    free (ids_text);
}

/* --- calendars ----------------------------------------------------------- */

#define S_CAL_NAME_MAX 100

static cJSON *
s_calendar_json (const PGresult *res, int row)
{
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

/* Writes the calendar (insert when id is NULL) and its days; the stored
 * row, or NULL after filling rep (rolled back). */
static PGresult *
s_calendar_store (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                  const char *id, const char *name, const sla_calendar_t *cal)
{
    PGresult *res = NULL;
    cJSON *weekly = sla_calendar_weekly_json (cal);
    cJSON *days = sla_calendar_days_json (cal);
    char *weekly_text = cJSON_PrintUnformatted (weekly);
    char *days_text = cJSON_PrintUnformatted (days);
    char cid[SLA_UUID_LEN + 1] = "";
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    if (id)
        res = db_exec (app->db, "sla_calendar_update", 5,
                       (const char *[]) { pid, id, name, sla_calendar_timezone (cal), weekly_text });
    else
        res = db_exec (app->db, "sla_calendar_insert", 4,
                       (const char *[]) { pid, name, sla_calendar_timezone (cal), weekly_text });
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))
            env_reply_error (rep, 404, "not_found", NULL, "no such calendar");
        else if (strcmp (db_sqlstate (res), "23505") == 0)
            env_reply_error (rep, 409, "conflict", jv_detail ("name", "already exists in this property"),
                             "a calendar with this name exists");
        else
            db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto fail;
    }
    snprintf (cid, sizeof cid, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    res = db_exec (app->db, "sla_calendar_days_delete", 1, (const char *[]) { cid });
    if (db_ok (res)) {
        PQclear (res);
        res = db_exec (app->db, "sla_calendar_days_insert", 2, (const char *[]) { cid, days_text });
    }
    if (db_ok (res)) {
        PQclear (res);
        res = db_exec (app->db, "sla_calendar_get", 2, (const char *[]) { pid, cid });
    }
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto fail;
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "store calendar");
        goto fail;
    }
    goto out;
fail:
    PQclear (res);
    res = NULL;
out:
    cJSON_Delete (weekly);
    cJSON_Delete (days);
    free (weekly_text);
    free (days_text);
    return res;
}

static void
s_calendar_write (void *app_, const env_request_t *req, env_reply_t *rep, bool update)
{
    tickets_t *app = app_;
    if (!env_require_role (req, env_roles_managers, rep))
        return;
    const char *pid = env_visible_property (req);
    const char *cid = env_param (req, "cid");
    if (!pid || (update && (!cid || !jv_is_uuid (cid)))) {
        env_reply_error (rep, 404, "not_found", NULL, update ? "no such calendar" : "no such property");
        return;
    }
    jv_t v = JV_INIT;
    const char *name = NULL;
    sla_calendar_t *cal = s_calendar_input (&v, req->data, &name);
    if (!cal) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid calendar");
        return;
    }
    PGresult *res = s_calendar_store (app, req, rep, pid, update ? cid : NULL, name, cal);
    if (res) {
        log_info (req->id, "SLA calendar %s %s in property %s", PQgetvalue (res, 0, C_ID),
                  update ? "updated" : "created", pid);
        env_reply_ok (rep, update ? 200 : 201, s_calendar_json (res, 0));
    }
    PQclear (res);
    sla_calendar_destroy (&cal);
}

void
sla_calendars_create (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_calendar_write (app, req, rep, false);
}

void
sla_calendars_update (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_calendar_write (app, req, rep, true);
}

void
sla_calendars_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    PGresult *res = db_exec (app->db, "sla_calendar_list", 1, (const char *[]) { pid });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else {
        cJSON *body = cJSON_CreateObject ();
        cJSON *items = cJSON_AddArrayToObject (body, "items");
        for (int i = 0; i < PQntuples (res); i++)
            cJSON_AddItemToArray (items, s_calendar_json (res, i));
        cJSON_AddNullToObject (body, "next_cursor");
        env_reply_ok (rep, 200, body);
    }
    PQclear (res);
}

void
sla_calendars_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    if (!env_require_role (req, env_roles_desk, rep))
        return;
    const char *pid = env_visible_property (req);
    const char *cid = env_param (req, "cid");
    if (!pid || !cid || !jv_is_uuid (cid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such calendar");
        return;
    }
    PGresult *res = db_exec (app->db, "sla_calendar_get", 2, (const char *[]) { pid, cid });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such calendar");
    else
        env_reply_ok (rep, 200, s_calendar_json (res, 0));
    PQclear (res);
}
