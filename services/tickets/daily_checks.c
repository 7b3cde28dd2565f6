/* daily_checks: 例行工作检查(每天); see daily_checks.h.
 *
 * A record is written once per property and day (the unique
 * daily_checks_one_per_day answers a second 409); what "today" is comes from
 * one statement that reads the checklist too, so the future-date rule and
 * the items are decided against the same read. The missed days of a range
 * are computed in SQL (generate_series against the records), up to today. */
#include "daily_checks.h"

#include "civil.h"
#include "log.h"
#include "tenants_copy.h"
#include "tickets.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the manual's daily duties of the desk, as a manager ticks them off */
const char *const dc_default_items[] = {
    "交接班记录已填写并签字",
    "前台人员仪容仪表与在岗情况",
    "未关闭工单已逐单跟进",
    "超时工单已处理或升级",
    "投诉已按时回访",
    "值班表关键岗位无脱岗",
    "巡查记录与发现问题已核对",
    "来访登记与物品放行记录已核对",
    NULL
};

#define S_RECORD_JSON                                                                      \
    "json_build_object ('id', d.id, 'date', d.date::text, 'items', d.items, "              \
    "  'failed', d.failed, 'all_ok', d.failed = 0, 'created_by', d.created_by, "           \
    "  'created_at', " DB_UTC_TS ("d.created_at") ")"

static const db_statement_t s_statements[] = {
    /* the property's checklist (NULL: the default) and today in timezone $3 at $2 */
    { "dc_state",
      "SELECT (SELECT items::text FROM daily_check_items WHERE property_id = $1::uuid), "
      "  ($2::timestamptz AT TIME ZONE $3::text)::date::text", true },
    { "dc_items_put",
      "INSERT INTO daily_check_items (property_id, items, updated_by, updated_at) "
      "VALUES ($1::uuid, $2::jsonb, $3::text, $4::timestamptz) ON CONFLICT (property_id) DO UPDATE "
      "SET items = EXCLUDED.items, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at "
      "RETURNING items::text", false },
    /* no row: the day has its record already */
    { "dc_insert",
      "WITH d AS (INSERT INTO daily_checks (property_id, date, items, failed, created_by, created_at) "
      "  VALUES ($1::uuid, $2::date, $3::jsonb, $4::int, $5::text, $6::timestamptz) "
      "  ON CONFLICT ON CONSTRAINT daily_checks_one_per_day DO NOTHING RETURNING *) "
      "SELECT " S_RECORD_JSON "::text FROM d", false },
    /* $2..$3 the range, $4 today: the records and the days up to today without one */
    { "dc_range",
      "SELECT json_build_object ('from', $2::date::text, 'to', $3::date::text, "
      "  'items', coalesce ((SELECT json_agg (" S_RECORD_JSON " ORDER BY d.date) FROM daily_checks d "
      "    WHERE d.property_id = $1::uuid AND d.date BETWEEN $2::date AND $3::date), '[]'), "
      "  'missed', coalesce ((SELECT json_agg (g.day::date::text ORDER BY g.day) "
      "    FROM generate_series ($2::date, least ($3::date, $4::date), interval '1 day') AS g (day) "
      "    WHERE NOT EXISTS (SELECT 1 FROM daily_checks d WHERE d.property_id = $1::uuid "
      "      AND d.date = g.day::date)), '[]'))::text", true },
};

enum { S_ITEMS, S_TODAY };

int
daily_checks_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* --- pure ------------------------------------------------------------------- */

cJSON *
dc_default_items_json (void)
{
    cJSON *a = cJSON_CreateArray ();
    for (const char *const *i = dc_default_items; *i; i++)
        cJSON_AddItemToArray (a, cJSON_CreateString (*i));
    return a;
}

/* True when s is one of the strings of the array a. */
static bool
s_listed (const cJSON *a, const char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach (x, a) {
        const char *t = cJSON_GetStringValue (x);
        if (t && strcmp (t, s) == 0)
            return true;
    }
    return false;
}

bool
dc_items_input (jv_t *v, const cJSON *data, char **items_text)
{
    *items_text = NULL;
    if (!jv_object (v, data))
        return false;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (data, "items");
    int n = cJSON_GetArraySize (items);
    if (!cJSON_IsArray (items) || n < 1 || n > DC_ITEMS_MAX) {
        jv_problem (v, "items", "must be an array of 1 to %d texts", DC_ITEMS_MAX);
        return false;
    }
    cJSON *seen = cJSON_CreateArray ();
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach (it, items) {
        const char *s = cJSON_GetStringValue (it);
        char f[32];
        snprintf (f, sizeof f, "items[%d]", i++);
        if (!s || !*s || strlen (s) > DC_ITEM_MAX || !jv_is_utf8 (s, strlen (s)))
            jv_problem (v, f, "must be a text of 1 to %d bytes", DC_ITEM_MAX);
        else if (s_listed (seen, s))
            jv_problem (v, f, "is listed twice");
        else
            cJSON_AddItemToArray (seen, cJSON_CreateString (s));
    }
    if (jv_ok (v))
        *items_text = cJSON_PrintUnformatted (seen);
    cJSON_Delete (seen);
    return jv_ok (v);
}

/* One result of a record (items[i]) into out; false after its problems. */
static bool
s_result (jv_t *v, const cJSON *r, int i, const cJSON *checklist, const cJSON *out)
{
    char f[48];
    snprintf (f, sizeof f, "items[%d]", i);
    if (!cJSON_IsObject (r)) {
        jv_problem (v, f, "must be an object {\"item\",\"ok\",\"note\"?}");
        return false;
    }
    bool good = true;
    const char *item = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (r, "item"));
    snprintf (f, sizeof f, "items[%d].item", i);
    if (!item || !*item)
        good = false, jv_problem (v, f, "is required: an item of the property's checklist");
    else if (!s_listed (checklist, item))
        good = false, jv_problem (v, f, "is not on the property's checklist");
    else {
        const cJSON *x;
        cJSON_ArrayForEach (x, out) {
            if (strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (x, "item")), item) == 0) {
                good = false, jv_problem (v, f, "is listed twice");
                break;
            }
        }
    }
    snprintf (f, sizeof f, "items[%d].ok", i);
    if (!cJSON_IsBool (cJSON_GetObjectItemCaseSensitive (r, "ok")))
        good = false, jv_problem (v, f, "is required: true or false");
    const cJSON *note = cJSON_GetObjectItemCaseSensitive (r, "note");
    const char *ns = cJSON_GetStringValue (note);
    snprintf (f, sizeof f, "items[%d].note", i);
    if (note && !cJSON_IsNull (note)
        && (!ns || strlen (ns) > DC_NOTE_MAX || !jv_is_utf8 (ns, strlen (ns))))
        good = false, jv_problem (v, f, "must be a text of at most %d bytes", DC_NOTE_MAX);
    return good;
}

/* The results of a record against the checklist: out gets the valid ones. */
static void
s_results (jv_t *v, const cJSON *items, const cJSON *checklist, cJSON *out, int *failed)
{
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach (r, items) {
        if (s_result (v, r, i++, checklist, out)) {
            const char *note = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (r, "note"));
            bool ok = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (r, "ok"));
            cJSON *x = cJSON_CreateObject ();
            cJSON_AddStringToObject (x, "item", cJSON_GetStringValue (cJSON_GetObjectItem (r, "item")));
            cJSON_AddBoolToObject (x, "ok", ok);
            if (note && *note)
                cJSON_AddStringToObject (x, "note", note);
            else
                cJSON_AddNullToObject (x, "note");
            cJSON_AddItemToArray (out, x);
            *failed += !ok;
        }
    }
    const cJSON *c;
    cJSON_ArrayForEach (c, checklist) {
        const char *want = cJSON_GetStringValue (c);
        bool found = false;
        cJSON_ArrayForEach (r, items) {
            const char *got = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (r, "item"));
            found = found || (got && want && strcmp (got, want) == 0);
        }
        if (!found && want)
            jv_problem (v, "items", "the checklist's item \"%s\" has no result", want);
    }
}

bool
dc_record_input (jv_t *v, const cJSON *data, const cJSON *checklist, const char *today,
                 const char **date, char **items_text, int *failed)
{
    *date = NULL;
    *items_text = NULL;
    *failed = 0;
    if (!jv_object (v, data))
        return false;
    *date = jv_date (v, data, "date", JV_REQUIRED);
    if (*date && today && strcmp (*date, today) > 0)
        jv_problem (v, "date", "must not be in the future (today is %s)", today);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (data, "items");
    if (!cJSON_IsArray (items) || cJSON_GetArraySize (items) < 1) {
        jv_problem (v, "items", "is required: one result per item of the property's checklist");
        return false;
    }
    if (cJSON_GetArraySize (items) > DC_ITEMS_MAX) {
        jv_problem (v, "items", "at most %d results", DC_ITEMS_MAX);
        return false;
    }
    cJSON *out = cJSON_CreateArray ();
    s_results (v, items, checklist, out, failed);
    if (jv_ok (v))
        *items_text = cJSON_PrintUnformatted (out);
    cJSON_Delete (out);
    return jv_ok (v);
}

/* days since the epoch of a date into "YYYY-MM-DD" */
static void
s_date_text (int64_t days, char out[11])
{
    int64_t y;
    int m, d;
    civil_date_from_days (days, &y, &m, &d);
    char buf[40];                      /* room for any int, as the compiler counts */
    snprintf (buf, sizeof buf, "%04d-%02d-%02d", (int) (y % 10000), m, d);
    snprintf (out, 11, "%.10s", buf);
}

bool
dc_range_input (jv_t *v, const char *from, const char *to, const char *today, char from_out[11],
                char to_out[11])
{
    int64_t lo = 0, hi = 0;
    bool has_from = from && civil_parse_date (from, &lo), has_to = to && civil_parse_date (to, &hi);
    if (from && !has_from)
        jv_problem (v, "from", "must be a date YYYY-MM-DD");
    if (to && !has_to)
        jv_problem (v, "to", "must be a date YYYY-MM-DD");
    if (!to && !civil_parse_date (today ? today : "", &hi))
        jv_problem (v, "to", "today is not known");
    if (!jv_ok (v))
        return false;
    if (!from)
        lo = hi - (DC_RANGE_DEFAULT_DAYS - 1);
    if (lo > hi)
        jv_problem (v, "to", "must not be before from");
    else if (hi - lo + 1 > DC_RANGE_MAX_DAYS)
        jv_problem (v, "to", "the range covers at most %d days", DC_RANGE_MAX_DAYS);
    s_date_text (lo, from_out);
    s_date_text (hi, to_out);
    return jv_ok (v);
}

/* --- handlers ------------------------------------------------------------------ */

/* The checklist and today of a property (one dc_state row) into *checklist
 * (caller deletes) and today[11]; -1 after answering. */
static int
s_state (tickets_t *app, const env_request_t *req, const char *pid, cJSON **checklist, char today[11],
         env_reply_t *rep)
{
    char tz[64], now[40];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return -1;
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = db_exec (app->db, "dc_state", 3, (const char *[]) { pid, now, tz });
    int rc = -1;
    if (!db_ok (res) || PQntuples (res) != 1)
        db_reply_error (res, rep, req->id);
    else {
        *checklist = PQgetisnull (res, 0, S_ITEMS) ? NULL : cJSON_Parse (PQgetvalue (res, 0, S_ITEMS));
        snprintf (today, 11, "%s", PQgetvalue (res, 0, S_TODAY));
        rc = 0;
    }
    PQclear (res);
    return rc;
}

/* {"items":[...],"default":bool}; consumes items (NULL: the default list) */
static void
s_reply_items (env_reply_t *rep, cJSON *items)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "items", items ? items : dc_default_items_json ());
    cJSON_AddBoolToObject (body, "default", items == NULL);
    env_reply_ok (rep, 200, body);
}

void
daily_check_items_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    cJSON *checklist = NULL;
    char today[11];
    if (pid && s_state (app, req, pid, &checklist, today, rep) == 0)
        s_reply_items (rep, checklist);
}

void
daily_check_items_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    char *text = NULL, now[40];
    if (!dc_items_input (&v, req->data, &text)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid checklist");
        free (text);
        return;
    }
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = db_exec (app->db, "dc_items_put", 4, (const char *[]) { pid, text, req->caller.user_id, now });
    if (db_ok (res) && PQntuples (res) == 1) {
        log_info (req->id, "daily checklist of property %s set", pid);
        s_reply_items (rep, cJSON_Parse (PQgetvalue (res, 0, 0)));
    }
    else
        db_reply_error (res, rep, req->id);
    PQclear (res);
    free (text);
}

/* validate against the checklist and today -> insert (409 when the day has
 * its record) -> 201 the record */
void
daily_checks_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    cJSON *checklist = NULL;
    char today[11], *items = NULL, failed_text[16], now[40];
    const char *date;
    int failed;
    PGresult *res = NULL;
    if (!pid || s_state (app, req, pid, &checklist, today, rep))
        goto out;
    if (!checklist)
        checklist = dc_default_items_json ();
    jv_t v = JV_INIT;
    if (!dc_record_input (&v, req->data, checklist, today, &date, &items, &failed)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid daily check");
        goto out;
    }
    snprintf (failed_text, sizeof failed_text, "%d", failed);
    tk_time_param (tk_clock_now_us (), now);
    res = db_exec (app->db, "dc_insert", 6,
                   (const char *[]) { pid, date, items, failed_text, req->caller.user_id, now });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 409, "conflict", jv_detail ("date", "this day has its check already"),
                         "the daily check of %s is recorded already", date);
    else {
        log_info (req->id, "daily check of %s recorded in property %s (%d not ok)", date, pid, failed);
        env_reply_text (rep, 201, strdup (PQgetvalue (res, 0, 0)));
    }
out:
    PQclear (res);
    cJSON_Delete (checklist);
    free (items);
}

void
daily_checks_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    cJSON *checklist = NULL;
    char today[11], from[11], to[11];
    if (!pid || s_state (app, req, pid, &checklist, today, rep))
        goto out;
    jv_t v = JV_INIT;
    if (!dc_range_input (&v, env_query (req, "from"), env_query (req, "to"), today, from, to)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid range");
        goto out;
    }
    db_reply_json (db_exec (app->db, "dc_range", 4, (const char *[]) { pid, from, to, today }), rep, req->id,
                   200, "no range");
out:
    cJSON_Delete (checklist);
}
