/* vehicle_passes: the car park's passes; see vehicle_passes.h.
 *
 * A pass's status is not stored: it follows from now, its validity and its
 * revocation (S_STATUS), so a pass that expires needs no job. A date as a
 * bound means that day in the property's timezone (valid_from its start,
 * valid_to its end). */
#include "vehicle_passes.h"

#include "desk_rules.h"
#include "log.h"
#include "page.h"
#include "tenants_copy.h"
#include "tk_clock.h"
#include "visitors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $n: now */
#define S_STATUS(now) \
    "CASE WHEN p.revoked_at IS NOT NULL THEN 'revoked' WHEN p.valid_to <= " now "::timestamptz THEN 'expired' " \
    "WHEN p.valid_from > " now "::timestamptz THEN 'scheduled' ELSE 'active' END"
#define S_COLS(now) \
    "p.id::text, p.plate, p.unit_id::text, u.code, p.party_id::text, " DB_UTC_TS ("p.valid_from") ", " \
    DB_UTC_TS ("p.valid_to") ", p.vip::text, p.note, " S_STATUS (now) ", " DB_UTC_TS ("p.created_at") ", " \
    "p.created_by, " DB_UTC_TS ("p.revoked_at") ", p.revoked_by, " DB_UTC_TS_US ("p.created_at")
enum { P_ID, P_PLATE, P_UNIT, P_UNIT_CODE, P_PARTY, P_FROM, P_TO, P_VIP, P_NOTE, P_STATUS, P_CREATED,
       P_CREATED_BY, P_REVOKED, P_REVOKED_BY, P_CURSOR_AT };
#define S_JOIN "LEFT JOIN tenant_units u ON u.id = p.unit_id"

static const db_statement_t s_statements[] = {
    /* $5 $6: valid_from as a time or a date, $7 $8: valid_to, $9 the timezone, $12 now */
    { "desk_pass_insert",
      "WITH p AS (INSERT INTO vehicle_passes (property_id, plate, unit_id, party_id, valid_from, valid_to, "
      "  vip, note, created_at, created_by) "
      "  VALUES ($1::uuid, $2::text, $3::uuid, $4::uuid, "
      "    coalesce ($5::timestamptz, ($6::date)::timestamp AT TIME ZONE $9::text), "
      "    coalesce ($7::timestamptz, ($8::date + 1)::timestamp AT TIME ZONE $9::text), "
      "    $10::boolean, $11::text, $12::timestamptz, $13::text) RETURNING *) "
      "SELECT " S_COLS ("$12") " FROM p " S_JOIN, false },
    { "desk_pass_get",
      "SELECT " S_COLS ("$3") " FROM vehicle_passes p " S_JOIN
      " WHERE p.property_id = $1::uuid AND p.id = $2::uuid", true },
    { "desk_pass_revoke",
      "WITH p AS (UPDATE vehicle_passes SET revoked_at = $3::timestamptz, revoked_by = $4::text "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND revoked_at IS NULL RETURNING *) "
      "SELECT " S_COLS ("$3") " FROM p " S_JOIN, false },
    /* the barrier's question: the plate's pass valid at $3, a VIP's first
     * (index vehicle_passes_check) */
    { "desk_pass_check",
      "SELECT " S_COLS ("$3") " FROM vehicle_passes p " S_JOIN
      " WHERE p.property_id = $1::uuid AND p.plate = $2::text AND p.revoked_at IS NULL "
      "  AND p.valid_to > $3::timestamptz AND p.valid_from <= $3::timestamptz "
      "ORDER BY p.vip DESC, p.valid_to DESC, p.id LIMIT 1", true },
    /* $2 plate, $3 status, $4 now, $5 $6 cursor, $7 limit */
    { "desk_pass_list",
      "SELECT " S_COLS ("$4") " FROM vehicle_passes p " S_JOIN " WHERE p.property_id = $1::uuid "
      "  AND ($2::text IS NULL OR p.plate = $2::text) "
      "  AND ($3::text IS NULL OR " S_STATUS ("$4") " = $3::text) "
      "  AND ($5::timestamptz IS NULL OR (p.created_at, p.id) < ($5::timestamptz, $6::uuid)) "
      "ORDER BY p.created_at DESC, p.id DESC LIMIT $7::int", true },
};

int
vehicle_passes_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* A pass of a row of S_COLS (page_item_fn: arg points to a bool, whether
 * the caller is at the desk; a barrier's integration key gets no note, nor
 * who wrote the pass). */
static cJSON *
s_pass_json (const PGresult *res, int row, void *arg)
{
    bool desk = *(const bool *) arg;
    cJSON *o = cJSON_CreateObject ();
    desk_add_text (o, "id", res, row, P_ID);
    desk_add_text (o, "plate", res, row, P_PLATE);
    desk_add_text (o, "unit_id", res, row, P_UNIT);
    desk_add_text (o, "unit_code", res, row, P_UNIT_CODE);
    desk_add_text (o, "party_id", res, row, P_PARTY);
    desk_add_text (o, "valid_from", res, row, P_FROM);
    desk_add_text (o, "valid_to", res, row, P_TO);
    cJSON_AddBoolToObject (o, "vip", strcmp (PQgetvalue (res, row, P_VIP), "true") == 0);
    desk_add_text (o, "status", res, row, P_STATUS);
    if (desk) {
        desk_add_text (o, "note", res, row, P_NOTE);
        desk_add_text (o, "created_at", res, row, P_CREATED);
        desk_add_text (o, "created_by", res, row, P_CREATED_BY);
        desk_add_text (o, "revoked_at", res, row, P_REVOKED);
        desk_add_text (o, "revoked_by", res, row, P_REVOKED_BY);
    }
    return o;
}

static void
s_pass_key (const PGresult *res, int row, char *key, size_t cap)
{
    snprintf (key, cap, "%s%c%s", PQgetvalue (res, row, P_CURSOR_AT), PAGE_KEY_SEP, PQgetvalue (res, row, P_ID));
}

/* Answers row 0 of res with status (404 when there is none); clears res. */
static void
s_reply_pass (PGresult *res, const env_request_t *req, env_reply_t *rep, int status)
{
    bool desk = env_role_in (req, env_roles_desk);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such vehicle pass");
    else
        env_reply_ok (rep, status, s_pass_json (res, 0, &desk));
    PQclear (res);
}

/* The unit and party a pass names belong to the property: 1, 0 after
 * answering 422, -1 after answering (503, the database). */
static int
s_known (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid, const desk_pass_input_t *in)
{
    char code[TK_UNIT_CODE_MAX + 1];
    int unit = in->unit_id ? tk_copy_unit (app->db, req, pid, in->unit_id, code, rep) : 1;
    int party = unit > 0 && in->party_id ? tk_copy_party (app->db, req, pid, in->party_id, rep) : 1;
    if (unit < 0 || party < 0)
        return -1;
    if (unit == 0 || party == 0) {
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail (unit == 0 ? "unit_id" : "party_id", "none such in this property"),
                         "invalid vehicle pass");
        return 0;
    }
    return 1;
}

void
vehicle_passes_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    desk_pass_input_t in;
    if (!desk_pass_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid vehicle pass");
        return;
    }
    char tz[64] = "UTC";
    if (s_known (app, req, rep, pid, &in) <= 0
        || ((in.from.date || in.to.date) && tk_copy_timezone (app->db, req, pid, tz, rep)))
        return;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, in.plate, in.unit_id, in.party_id, in.from.time, in.from.date, in.to.time,
                             in.to.date, tz, in.vip ? "true" : "false", in.note, now, req->caller.user_id };
    PGresult *res = db_exec (app->db, "desk_pass_insert", 13, params);
    if (db_ok (res) && PQntuples (res) == 1)
        log_info (req->id, "vehicle pass %s added in property %s", PQgetvalue (res, 0, P_ID), pid);
    s_reply_pass (res, req, rep, 201);
}

/* ?plate= normalised into out; NULL when not given. */
static const char *
s_plate_query (jv_t *v, const env_request_t *req, bool required, char out[DESK_PLATE_MAX + 1])
{
    const char *plate = env_query (req, "plate");
    if (!plate) {
        if (required)
            jv_problem (v, "plate", "is required");
        return NULL;
    }
    if (!desk_plate_normalize (plate, out)) {
        jv_problem (v, "plate", "is not a mainland licence plate (粤B12345, 粤BD12345)");
        return NULL;
    }
    return out;
}

void
vehicle_passes_check (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    static const char *const askers[] = { "admin", "manager", "agent", "integration", NULL };
    const char *pid = env_property_scope (req, askers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    char plate[DESK_PLATE_MAX + 1];
    if (!s_plate_query (&v, req, true, plate)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid plate");
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = db_exec (app->db, "desk_pass_check", 3, (const char *[]) { pid, plate, now });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else {
        bool desk = env_role_in (req, env_roles_desk);
        cJSON *body = cJSON_CreateObject ();
        cJSON_AddBoolToObject (body, "allowed", PQntuples (res) > 0);
        cJSON_AddStringToObject (body, "plate", plate);
        cJSON_AddItemToObject (body, "pass", PQntuples (res) > 0 ? s_pass_json (res, 0, &desk) : cJSON_CreateNull ());
        env_reply_ok (rep, 200, body);
    }
    PQclear (res);
}

void
vehicle_passes_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    static const char *const statuses[] = { "active", "scheduled", "expired", "revoked", NULL };
    jv_t v = JV_INIT;
    char plate_buf[DESK_PLATE_MAX + 1];
    const char *plate = s_plate_query (&v, req, false, plate_buf);
    const char *status = desk_query_enum (&v, req, "status", statuses);
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    bool desk = true;
    const char *params[] = { pid, plate, status, now, page.at, page.id, page.limit_plus_one };
    page_reply_rows (db_exec (app->db, "desk_pass_list", 7, params), page.limit, s_pass_json, &desk, s_pass_key,
                     rep, req->id);
}

void
vehicle_passes_revoke (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "pass_id", "vehicle pass", rep, &pid);
    if (!id)
        return;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, id, now, req->caller.user_id };
    PGresult *res = db_exec (app->db, "desk_pass_revoke", 4, params);
    if (db_ok (res) && PQntuples (res) == 0) {
        /* not revoked now: none such, or revoked before */
        PQclear (res);
        res = db_exec (app->db, "desk_pass_get", 3, params);
        if (db_ok (res) && PQntuples (res) == 1) {
            env_reply_error (rep, 409, "invalid_transition", jv_detail ("status", "revoked already"),
                             "this vehicle pass was revoked already");
            PQclear (res);
            return;
        }
    }
    else if (db_ok (res))
        log_info (req->id, "vehicle pass %s revoked in property %s", id, pid);
    s_reply_pass (res, req, rep, 200);
}
