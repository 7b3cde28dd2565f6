/* contractors: contractors, inspections, the monthly report and the trend;
 * see contractors.h.
 *
 * An inspection's score is decided in C (contractor_rules.c, exact integer
 * arithmetic) and stored in tenths with the threshold it was held to. The
 * report and the trend aggregate those stored scores in SQL: a month's
 * mean_score is the mean of its inspections' scores and a criterion's mean
 * the mean of its scores, each round()ed on numeric (exact, half away from
 * zero: the same rule as the inspection's). The month of an inspection is
 * its month in the property's timezone, fixed at the write (period). */
#include "contractors.h"

#include "contractor_rules.h"
#include "log.h"
#include "page.h"
#include "tenants_copy.h"
#include "ticket_store.h"
#include "tk_clock.h"
#include "visitors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STR_(x) #x
#define S_STR(x) S_STR_ (x)

#define S_CON_COLS \
    "k.id::text, k.name, k.service, k.contact, k.phone, k.active::text, " DB_UTC_TS ("k.created_at") ", " \
    "k.created_by, " DB_UTC_TS ("k.updated_at") ", " DB_UTC_TS_US ("k.created_at")
enum { K_ID, K_NAME, K_SERVICE, K_CONTACT, K_PHONE, K_ACTIVE, K_CREATED, K_CREATED_BY, K_UPDATED, K_CURSOR_AT };

/* tenths as the contract's one-decimal number */
#define S_X10(col) "((" col ")::numeric / 10)::numeric(4,1)"

/* An inspection as the contract shows it (i: contractor_inspections, k: its
 * contractor), then its cursor columns. */
#define S_INSPECTION_DOC \
    "json_build_object ('id', i.id, 'contractor_id', i.contractor_id, 'contractor_name', k.name, " \
    "  'service', k.service, 'area', i.area, 'inspected_at', " DB_UTC_TS ("i.inspected_at") ", " \
    "  'period', to_char (i.period, 'YYYY-MM'), " \
    "  'criteria', (SELECT json_agg (json_build_object ('name', c.name, " \
    "      'weight', trim_scale (c.weight_x100::numeric / 100), 'score', " S_X10 ("c.score_x10") ") " \
    "    ORDER BY c.position) FROM contractor_inspection_criteria c WHERE c.inspection_id = i.id), " \
    "  'score', " S_X10 ("i.score_x10") ", 'threshold', " S_X10 ("i.threshold_x10") ", " \
    "  'below_threshold', i.score_x10 < i.threshold_x10, 'note', i.note, " \
    "  'rectification_ticket_id', i.rectification_ticket_id, " \
    "  'rectification_ticket_number', (SELECT t.number FROM tickets t WHERE t.id = i.rectification_ticket_id), " \
    "  'created_at', " DB_UTC_TS ("i.created_at") ", 'created_by', i.created_by)::text, " \
    DB_UTC_TS_US ("i.inspected_at") ", i.id::text " \
    "FROM contractor_inspections i JOIN contractors k ON k.id = i.contractor_id "

/* a month's inspections per contractor ($1 property, $2 the month's first day) */
#define S_MONTH_SCORES \
    "SELECT contractor_id, count(*) AS n, round (avg (score_x10)) AS mean FROM contractor_inspections " \
    "WHERE property_id = $1::uuid AND period = $2::date GROUP BY contractor_id"
/* each contractor's criterion with the lowest mean that month (ties: by name) */
#define S_MONTH_LOWEST \
    "SELECT DISTINCT ON (i.contractor_id) i.contractor_id, c.name, round (avg (c.score_x10)) AS mean " \
    "FROM contractor_inspections i JOIN contractor_inspection_criteria c ON c.inspection_id = i.id " \
    "WHERE i.property_id = $1::uuid AND i.period = $2::date GROUP BY i.contractor_id, c.name " \
    "ORDER BY i.contractor_id, avg (c.score_x10), c.name"

static const db_statement_t s_statements[] = {
    /* $1 property, $2 name, $3 service, $4 contact, $5 phone, $6 now, $7 who */
    { "con_insert",
      "WITH k AS (INSERT INTO contractors (property_id, name, service, contact, phone, created_at, created_by, "
      "  updated_at) VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::text, $6::timestamptz, $7::text, "
      "  $6::timestamptz) RETURNING *) SELECT " S_CON_COLS " FROM k", false },
    { "con_get",
      "SELECT " S_CON_COLS " FROM contractors k WHERE k.property_id = $1::uuid AND k.id = $2::uuid", true },
    /* $3 name, $4 $5 contact (set?, value), $6 $7 phone, $8 active, $9 now */
    { "con_update",
      "WITH k AS (UPDATE contractors SET name = coalesce ($3::text, name), "
      "  contact = CASE WHEN $4::boolean THEN $5::text ELSE contact END, "
      "  phone = CASE WHEN $6::boolean THEN $7::text ELSE phone END, "
      "  active = coalesce ($8::boolean, active), updated_at = $9::timestamptz "
      "  WHERE property_id = $1::uuid AND id = $2::uuid RETURNING *) SELECT " S_CON_COLS " FROM k", false },
    /* $2 service, $3 active, $4 $5 cursor, $6 limit */
    { "con_list",
      "SELECT " S_CON_COLS " FROM contractors k WHERE k.property_id = $1::uuid "
      "  AND ($2::text IS NULL OR k.service = $2::text) AND ($3::boolean IS NULL OR k.active = $3::boolean) "
      "  AND ($4::timestamptz IS NULL OR (k.created_at, k.id) < ($4::timestamptz, $5::uuid)) "
      "ORDER BY k.created_at DESC, k.id DESC LIMIT $6::int", true },
    { "con_threshold",
      "SELECT coalesce ((SELECT threshold_x10 FROM contractor_settings WHERE property_id = $1::uuid), "
      "  " S_STR (CON_THRESHOLD_DEFAULT_X10) ")::text", true },
    { "con_threshold_put",
      "INSERT INTO contractor_settings (property_id, threshold_x10, updated_by, updated_at) "
      "VALUES ($1::uuid, $2::int, $3::text, now ()) ON CONFLICT (property_id) DO UPDATE "
      "SET threshold_x10 = EXCLUDED.threshold_x10, updated_by = EXCLUDED.updated_by, updated_at = now () "
      "RETURNING threshold_x10::text", false },
    /* $1 property, $2 contractor, $3 area, $4 inspected_at, $5 timezone, $6 score, $7 threshold,
     * $8 note, $9 ticket, $10 now, $11 who, $12 criteria [{"p","name","w","s"}] */
    { "insp_insert",
      "WITH i AS (INSERT INTO contractor_inspections (property_id, contractor_id, area, inspected_at, period, "
      "  score_x10, threshold_x10, note, rectification_ticket_id, created_at, created_by) "
      "  VALUES ($1::uuid, $2::uuid, $3::text, $4::timestamptz, "
      "    date_trunc ('month', $4::timestamptz AT TIME ZONE $5::text)::date, $6::int, $7::int, $8::text, "
      "    $9::uuid, $10::timestamptz, $11::text) RETURNING id), "
      "c AS (INSERT INTO contractor_inspection_criteria (inspection_id, position, name, weight_x100, score_x10) "
      "  SELECT i.id, x.p, x.name, x.w, x.s FROM i, "
      "    jsonb_to_recordset ($12::jsonb) AS x (p int, name text, w int, s int)) "
      "SELECT id::text FROM i", false },
    { "insp_get", "SELECT " S_INSPECTION_DOC "WHERE i.property_id = $1::uuid AND i.id = $2::uuid", true },
    /* $2 contractor, $3 period (first day), $4 $5 cursor, $6 limit */
    { "insp_list",
      "SELECT " S_INSPECTION_DOC "WHERE i.property_id = $1::uuid "
      "  AND ($2::uuid IS NULL OR i.contractor_id = $2::uuid) AND ($3::date IS NULL OR i.period = $3::date) "
      "  AND ($4::timestamptz IS NULL OR (i.inspected_at, i.id) < ($4::timestamptz, $5::uuid)) "
      "ORDER BY i.inspected_at DESC, i.id DESC LIMIT $6::int", true },
    /* $1 property, $2 the month's first day: every active contractor and any
     * other inspected that month, by name */
    { "con_report",
      "WITH s AS (" S_MONTH_SCORES "), low AS (" S_MONTH_LOWEST ") "
      "SELECT json_build_object ('period', to_char ($2::date, 'YYYY-MM'), 'items', coalesce (json_agg ("
      "  json_build_object ('contractor_id', k.id, 'name', k.name, 'service', k.service, 'active', k.active, "
      "    'inspections', coalesce (s.n, 0), 'mean_score', " S_X10 ("s.mean") ", "
      "    'lowest_criterion', CASE WHEN low.name IS NULL THEN NULL "
      "      ELSE json_build_object ('name', low.name, 'mean_score', " S_X10 ("low.mean") ") END) "
      "  ORDER BY k.name, k.id), '[]'))::text "
      "FROM contractors k LEFT JOIN s ON s.contractor_id = k.id LEFT JOIN low ON low.contractor_id = k.id "
      "WHERE k.property_id = $1::uuid AND (k.active OR s.n IS NOT NULL)", true },
    /* $1 property, $2 contractor, $3 now, $4 timezone, $5 months: the months
     * ending with the current one (the property's), oldest first; no row
     * when the contractor is not the property's */
    { "con_trend",
      "WITH m AS (SELECT (date_trunc ('month', $3::timestamptz AT TIME ZONE $4::text) "
      "    - make_interval (months => g))::date AS p FROM generate_series (0, $5::int - 1) g), "
      "s AS (SELECT period, count(*) AS n, round (avg (score_x10)) AS mean FROM contractor_inspections "
      "  WHERE property_id = $1::uuid AND contractor_id = $2::uuid GROUP BY period) "
      "SELECT json_build_object ('contractor_id', k.id, 'name', k.name, 'service', k.service, "
      "  'items', json_agg (json_build_object ('period', to_char (m.p, 'YYYY-MM'), "
      "    'inspections', coalesce (s.n, 0), 'mean_score', " S_X10 ("s.mean") ") ORDER BY m.p))::text "
      "FROM contractors k CROSS JOIN m LEFT JOIN s ON s.period = m.p "
      "WHERE k.property_id = $1::uuid AND k.id = $2::uuid GROUP BY k.id, k.name, k.service", true },
};

int
contractors_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* --- contractors ----------------------------------------------------------- */

/* A contractor of a row of S_CON_COLS (page_item_fn: arg points to a bool,
 * whether the caller sees the contact's phone whole; else it is masked). */
static cJSON *
s_contractor_json (const PGresult *res, int row, void *arg)
{
    bool whole = *(const bool *) arg;
    cJSON *o = cJSON_CreateObject ();
    desk_add_text (o, "id", res, row, K_ID);
    desk_add_text (o, "name", res, row, K_NAME);
    desk_add_text (o, "service", res, row, K_SERVICE);
    desk_add_text (o, "contact", res, row, K_CONTACT);
    if (!whole && !PQgetisnull (res, row, K_PHONE)) {
        char masked[PII_PHONE_MASK_MAX];
        pii_phone_mask (PQgetvalue (res, row, K_PHONE), masked);
        cJSON_AddStringToObject (o, "phone", masked);
    }
    else
        desk_add_text (o, "phone", res, row, K_PHONE);
    cJSON_AddBoolToObject (o, "active", strcmp (PQgetvalue (res, row, K_ACTIVE), "true") == 0);
    desk_add_text (o, "created_at", res, row, K_CREATED);
    desk_add_text (o, "created_by", res, row, K_CREATED_BY);
    desk_add_text (o, "updated_at", res, row, K_UPDATED);
    return o;
}

static void
s_contractor_key (const PGresult *res, int row, char *key, size_t cap)
{
    snprintf (key, cap, "%s%c%s", PQgetvalue (res, row, K_CURSOR_AT), PAGE_KEY_SEP, PQgetvalue (res, row, K_ID));
}

/* Answers row 0 of res with status (404 when there is none); clears res. */
static void
s_reply_contractor (PGresult *res, const env_request_t *req, env_reply_t *rep, int status)
{
    bool whole = pii_role_sees_pii (req->caller.role);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such contractor");
    else
        env_reply_ok (rep, status, s_contractor_json (res, 0, &whole));
    PQclear (res);
}

static bool
s_contractor_input (const env_request_t *req, bool partial, con_contractor_input_t *in, env_reply_t *rep)
{
    jv_t v = JV_INIT;
    if (con_contractor_input (&v, req->data, partial, in))
        return true;
    env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid contractor");
    return false;
}

void
contractors_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    con_contractor_input_t in;
    char tz[64], now[40];
    /* the timezone's look-up answers 404 for a property tenants does not have */
    if (!pid || !s_contractor_input (req, false, &in, rep) || tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, in.name, in.service, in.contact, in.phone[0] ? in.phone : NULL, now,
                             req->caller.user_id };
    PGresult *res = db_exec (app->db, "con_insert", 7, params);
    if (db_ok (res) && PQntuples (res) == 1)
        log_info (req->id, "contractor %s added in property %s", PQgetvalue (res, 0, K_ID), pid);
    s_reply_contractor (res, req, rep, 201);
}

void
contractors_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "contractor_id", "contractor", rep, &pid);
    if (!id)
        return;
    s_reply_contractor (db_exec (app->db, "con_get", 2, (const char *[]) { pid, id }), req, rep, 200);
}

void
contractors_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "contractor_id", "contractor", rep, &pid);
    con_contractor_input_t in;
    if (!id || !s_contractor_input (req, true, &in, rep))
        return;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, id, in.name, in.contact_set ? "true" : "false", in.contact,
                             in.phone_set ? "true" : "false", in.phone[0] ? in.phone : NULL,
                             in.active < 0 ? NULL : in.active ? "true" : "false", now };
    PGresult *res = db_exec (app->db, "con_update", 9, params);
    if (db_ok (res) && PQntuples (res) == 1)
        log_info (req->id, "contractor %s changed in property %s", id, pid);
    s_reply_contractor (res, req, rep, 200);
}

void
contractors_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    static const char *const booleans[] = { "true", "false", NULL };
    jv_t v = JV_INIT;
    const char *service = desk_query_enum (&v, req, "service", con_services);
    const char *active = desk_query_enum (&v, req, "active", booleans);
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    bool whole = pii_role_sees_pii (req->caller.role);
    const char *params[] = { pid, service, active, page.at, page.id, page.limit_plus_one };
    page_reply_rows (db_exec (app->db, "con_list", 6, params), page.limit, s_contractor_json, &whole,
                     s_contractor_key, rep, req->id);
}

/* --- settings -------------------------------------------------------------- */

/* {"threshold"} of a con_threshold* row; clears res. */
static void
s_reply_settings (PGresult *res, const env_request_t *req, env_reply_t *rep)
{
    if (!db_ok (res) || PQntuples (res) != 1)
        db_reply_error (res, rep, req->id);
    else {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddNumberToObject (o, "threshold", strtod (PQgetvalue (res, 0, 0), NULL) / 10.0);
        env_reply_ok (rep, 200, o);
    }
    PQclear (res);
}

void
contractor_settings_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (pid)
        s_reply_settings (db_exec (app->db, "con_threshold", 1, (const char *[]) { pid }), req, rep);
}

void
contractor_settings_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int64_t threshold;
    if (!con_settings_input (&v, req->data, &threshold)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid contractor settings");
        return;
    }
    char text[24];
    snprintf (text, sizeof text, "%lld", (long long) threshold);
    PGresult *res = db_exec (app->db, "con_threshold_put", 3, (const char *[]) { pid, text, req->caller.user_id });
    if (db_ok (res))
        log_info (req->id, "rectification threshold %s (tenths) in property %s", text, pid);
    s_reply_settings (res, req, rep);
}

/* --- inspections ----------------------------------------------------------- */

/* What an inspection's write needs, loaded before its transaction. */
typedef struct {
    const con_inspection_input_t *in;
    const char *pid;
    char contractor[CON_NAME_MAX + 1], service[32];
    char tz[64], now[40], score[16], threshold[16];
    int64_t threshold_x10;
    bool below;
    tk_ticket_input_t ticket;        /* the rectification's, when below */
    char title[501], description[12288];
    tk_new_ticket_t nt;
} s_inspection_t;

/* The contractor (this property's and active), the threshold and the
 * timezone. 0, or -1 after answering (404 for another property's
 * contractor). */
static int
s_inspection_load (tickets_t *app, const env_request_t *req, env_reply_t *rep, s_inspection_t *st)
{
    int rc = -1;
    PGresult *k = db_exec (app->db, "con_get", 2, (const char *[]) { st->pid, st->in->contractor_id });
    PGresult *t = db_ok (k) ? db_exec (app->db, "con_threshold", 1, (const char *[]) { st->pid }) : NULL;
    if (!db_ok (k) || !db_ok (t) || PQntuples (t) != 1)
        db_reply_error (db_ok (k) ? t : k, rep, req->id);
    else if (PQntuples (k) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such contractor");
    else if (strcmp (PQgetvalue (k, 0, K_ACTIVE), "true") != 0)
        env_reply_error (rep, 422, "validation_failed", jv_detail ("contractor_id", "is inactive"),
                         "invalid inspection");
    else if (!tk_copy_timezone (app->db, req, st->pid, st->tz, rep)) {
        snprintf (st->contractor, sizeof st->contractor, "%s", PQgetvalue (k, 0, K_NAME));
        snprintf (st->service, sizeof st->service, "%s", PQgetvalue (k, 0, K_SERVICE));
        st->threshold_x10 = strtoll (PQgetvalue (t, 0, 0), NULL, 10);
        rc = 0;
    }
    PQclear (k);
    PQclear (t);
    return rc;
}

/* Below the threshold: the rectification ticket's input and its terms
 * (tk_ticket_prepare, outside the transaction). 0, or -1 after answering. */
static int
s_rectification_prepare (tickets_t *app, const env_request_t *req, env_reply_t *rep, s_inspection_t *st)
{
    const con_inspection_input_t *in = st->in;
    char score[24], threshold[24], x[24];
    con_rectification_title (st->contractor, in->area, in->score_x10, st->threshold_x10, st->title);
    int n = snprintf (st->description, sizeof st->description,
                      "承包商 %s（%s）于 %s 在 %s 的检查得分 %s，低于整改阈值 %s。低于阈值的检查项：",
                      st->contractor, st->service, in->inspected_at, in->area,
                      con_tenths_text (in->score_x10, score), con_tenths_text (st->threshold_x10, threshold));
    for (int i = 0; i < in->n && n > 0 && (size_t) n < sizeof st->description; i++)
        if (in->criteria[i].score_x10 < st->threshold_x10)
            n += snprintf (st->description + n, sizeof st->description - (size_t) n, "\n- %s %s",
                           in->criteria[i].name, con_tenths_text (in->criteria[i].score_x10, x));
    st->ticket = (tk_ticket_input_t) {
        .type = "other", .title = st->title, .description = st->description, .channel = "patrol",
        .requester_kind = "internal", .priority = "normal", .category = CON_RECTIFICATION_CATEGORY, .data = cJSON_CreateObject (),
    };
    return tk_ticket_prepare (app, req, rep, st->pid, &st->ticket, &st->nt);
}

/* The criteria as insp_insert's $12: [{"p","name","w","s"}] (caller frees). */
static char *
s_criteria_json (const con_inspection_input_t *in)
{
    cJSON *a = cJSON_CreateArray ();
    for (int i = 0; i < in->n; i++) {
        cJSON *c = cJSON_CreateObject ();
        cJSON_AddNumberToObject (c, "p", i);
        cJSON_AddStringToObject (c, "name", in->criteria[i].name);
        cJSON_AddNumberToObject (c, "w", (double) in->criteria[i].weight_x100);
        cJSON_AddNumberToObject (c, "s", (double) in->criteria[i].score_x10);
        cJSON_AddItemToArray (a, c);
    }
    char *text = cJSON_PrintUnformatted (a);
    cJSON_Delete (a);
    return text;
}

/* Inside the transaction: the rectification ticket (below the threshold),
 * the inspection with its criteria, and the inspection as answered. The
 * inspection's document (insp_get), or NULL after answering. */
static PGresult *
s_inspection_store (tickets_t *app, const env_request_t *req, env_reply_t *rep, s_inspection_t *st)
{
    const con_inspection_input_t *in = st->in;
    PGresult *ticket = NULL, *res = NULL, *doc = NULL;
    if (st->below && !(ticket = tk_ticket_open (app, req, rep, &st->nt)))
        return NULL;
    char *criteria = s_criteria_json (in);
    const char *params[] = { st->pid, in->contractor_id, in->area, in->inspected_at, st->tz, st->score,
                             st->threshold, in->note, ticket ? PQgetvalue (ticket, 0, TK_C_ID) : NULL,
                             st->now, req->caller.user_id, criteria };
    res = db_exec (app->db, "insp_insert", 12, params);
    if (db_one_row (app->db, res, rep, req->id, "inspection")) {
        doc = db_exec (app->db, "insp_get", 2, (const char *[]) { st->pid, PQgetvalue (res, 0, 0) });
        if (!db_one_row (app->db, doc, rep, req->id, "inspection read")) {
            PQclear (doc);
            doc = NULL;
        }
        else
            log_info (req->id, "inspection %s of contractor %s in property %s: %s%s%s", PQgetvalue (res, 0, 0),
                      in->contractor_id, st->pid, st->score, ticket ? ", rectification ticket " : "",
                      ticket ? PQgetvalue (ticket, 0, TK_C_NUMBER) : "");
    }
    free (criteria);
    PQclear (res);
    PQclear (ticket);
    return doc;
}

/* validate (the score decided there) -> the contractor, threshold and
 * timezone -> below the threshold: the rectification ticket's terms (before
 * the transaction, which holds only writes) -> ticket, inspection and
 * criteria in one transaction (ticket.created in the outbox) -> 201. */
void
inspections_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    con_inspection_input_t in;
    jv_t v = JV_INIT;
    int64_t now_us = tk_clock_now_us ();
    if (!con_inspection_input (&v, req->data, now_us, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid inspection");
        return;
    }
    s_inspection_t *st = calloc (1, sizeof *st);
    PGresult *doc = NULL;
    if (!st) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    st->in = &in;
    st->pid = pid;
    tk_time_param (now_us, st->now);
    if (s_inspection_load (app, req, rep, st))
        goto out;
    st->below = in.score_x10 < st->threshold_x10;
    snprintf (st->score, sizeof st->score, "%lld", (long long) in.score_x10);
    snprintf (st->threshold, sizeof st->threshold, "%lld", (long long) st->threshold_x10);
    if (st->below && s_rectification_prepare (app, req, rep, st))
        goto out;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    if (!(doc = s_inspection_store (app, req, rep, st)))
        goto out;
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        goto out;
    }
    if (st->below)
        outbox_wake (app->outbox);
    db_reply_json (doc, rep, req->id, 201, "no such inspection");
    doc = NULL;
out:
    db_rollback (app->db);             /* whatever is still open; nothing after the commit */
    PQclear (doc);
    cJSON_Delete (st->ticket.data);
    free (st);
}

void
inspections_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "inspection_id", "inspection", rep, &pid);
    if (id)
        db_reply_json (db_exec (app->db, "insp_get", 2, (const char *[]) { pid, id }), rep, req->id, 200,
                       "no such inspection");
}

/* ?period=YYYY-MM into first[11] (required or not); NULL when absent. */
static const char *
s_period_query (jv_t *v, const env_request_t *req, bool required, char first[11])
{
    const char *period = env_query (req, "period");
    if (!period) {
        if (required)
            jv_problem (v, "period", "is required (YYYY-MM)");
        return NULL;
    }
    if (!con_period_parse (period, first)) {
        jv_problem (v, "period", "must be a month YYYY-MM");
        return NULL;
    }
    return first;
}

void
inspections_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    const char *contractor = env_query (req, "contractor_id");
    if (contractor && !jv_is_uuid (contractor))
        jv_problem (&v, "contractor_id", "must be a UUID");
    char first[11];
    const char *period = s_period_query (&v, req, false, first);
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *params[] = { pid, contractor, period, page.at, page.id, page.limit_plus_one };
    page_reply (db_exec (app->db, "insp_list", 6, params), page.limit, 1, 2, rep, req->id);
}

/* --- reports --------------------------------------------------------------- */

void
contractors_report (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    char first[11];
    if (!s_period_query (&v, req, true, first)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid report parameters");
        return;
    }
    db_reply_json (db_exec (app->db, "con_report", 2, (const char *[]) { pid, first }), rep, req->id, 200,
                   "no report");
}

void
contractors_trend (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "contractor_id", "contractor", rep, &pid);
    if (!id)
        return;
    int months;
    if (!con_months_parse (env_query (req, "months"), &months)) {
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail ("months", "must be an integer from 1 to " S_STR (CON_MONTHS_MAX)),
                         "invalid trend parameters");
        return;
    }
    char tz[64], now[40], n[8];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    tk_time_param (tk_clock_now_us (), now);
    snprintf (n, sizeof n, "%d", months);
    db_reply_json (db_exec (app->db, "con_trend", 5, (const char *[]) { pid, id, now, tz, n }), rep, req->id,
                   200, "no such contractor");
}
