/* me_visitors: tickets.me.visitors.create (see me_visitors.h). validate ->
 * the caller's occupancy of the unit (tickets' copy) -> one transaction: the
 * visitor, then the plate's pass for the expected day -> reply. */
#include "me_visitors.h"

#include "civil.h"
#include "desk_rules.h"
#include "log.h"
#include "tenants_copy.h"
#include "tk_clock.h"
#include "visitors.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_ME_VIS_OCC    "tk_me_visitor_occupancy"
#define ST_ME_VIS_INSERT "tk_me_visitor_insert"

static const db_statement_t s_statements[] = {
    /* $1 parties (jsonb array), $2 unit: the occupancy's party and property, the unit's code */
    { ST_ME_VIS_OCC,
      "SELECT o.party_id::text, o.property_id::text, (SELECT code FROM tenant_units WHERE id = o.unit_id) "
      "FROM tenant_occupancies o WHERE o.unit_id = $2::uuid AND o.end_date IS NULL "
      "  AND o.party_id IN (SELECT jsonb_array_elements_text ($1::jsonb)::uuid) "
      "ORDER BY o.party_id LIMIT 1", true },
    /* $1 pid, $2 name, $3 unit, $4 plate, $5 expected_at, $6 pass code, $7
     * party, $8 now, $9 registered_by, $10 timezone: the id, expected_at and
     * its day in the property's timezone */
    { ST_ME_VIS_INSERT,
      "INSERT INTO visitors (property_id, name, visiting_unit_id, purpose, vehicle_plate, status, "
      "  registered_at, registered_by, expected_at, pass_code, announced_by) "
      "VALUES ($1::uuid, $2::text, $3::uuid, '" ME_VISITOR_PURPOSE "', $4::text, 'registered', "
      "  $8::timestamptz, $9::text, $5::timestamptz, $6::text, $7::uuid) "
      "RETURNING id::text, " DB_UTC_TS ("expected_at") ", "
      "  to_char ((expected_at AT TIME ZONE $10::text)::date, 'YYYY-MM-DD')", false },
};

int
me_visitors_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* 6 random digits */
static void
s_pass_code (char out[7])
{
    if (sodium_init () < 0)
        abort ();               /* no random source: nothing safe to hand out */
    snprintf (out, 7, "%06u", (unsigned) randombytes_uniform (1000000));
}

bool
me_visitor_input (jv_t *v, const cJSON *data, int64_t now_us, me_visitor_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->unit_id = jv_uuid (v, data, "unit_id", JV_REQUIRED);
    in->name = jv_string (v, data, "name", JV_REQUIRED, DESK_NAME_MAX);
    if (in->name && !*in->name) {
        jv_problem (v, "name", "must not be empty");
        in->name = NULL;
    }
    in->expected_at = jv_string (v, data, "expected_at", JV_REQUIRED, 40);
    if (in->expected_at && !civil_parse_time (in->expected_at, &in->expected_us))
        jv_problem (v, "expected_at", "must be an RFC 3339 date-time (2026-12-24T19:00:00+08:00)");
    else if (in->expected_at && (in->expected_us < now_us - (int64_t) ME_VISITOR_PAST_S * 1000000
                                 || in->expected_us > now_us + (int64_t) ME_VISITOR_AHEAD_DAYS * 86400 * 1000000))
        jv_problem (v, "expected_at", "must be within a day before now and %d days ahead", ME_VISITOR_AHEAD_DAYS);
    const char *plate = jv_string (v, data, "vehicle_plate", JV_OPTIONAL, DESK_PLATE_INPUT_MAX);
    if (plate && *plate && !desk_plate_normalize (plate, in->plate))
        jv_problem (v, "vehicle_plate", "is not a mainland licence plate (粤B12345, 粤BD12345)");
    return jv_ok (v);
}

/* The 201's body: the expected visitor as the resident announced it, with its
 * pass code (shown once) and its vehicle pass for the day, if any. */
static cJSON *
s_created_json (const me_visitor_input_t *in, const char *code, const PGresult *occ, const PGresult *vis,
                const PGresult *pass)
{
    const char *day = PQgetvalue (vis, 0, 2);
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "id", PQgetvalue (vis, 0, 0));
    cJSON_AddStringToObject (o, "pass_code", code);
    cJSON_AddStringToObject (o, "unit_id", in->unit_id);
    desk_add_text (o, "unit_code", occ, 0, 2);
    cJSON_AddStringToObject (o, "name", in->name);
    cJSON_AddStringToObject (o, "expected_at", PQgetvalue (vis, 0, 1));
    cJSON_AddStringToObject (o, "expected_date", day);
    if (in->plate[0])
        cJSON_AddStringToObject (o, "vehicle_plate", in->plate);
    else
        cJSON_AddNullToObject (o, "vehicle_plate");
    cJSON_AddStringToObject (o, "status", "expected");
    if (pass) {
        cJSON *vp = cJSON_AddObjectToObject (o, "vehicle_pass");
        /* desk_pass_insert's columns: 0 id, 5 valid_from, 6 valid_to */
        desk_add_text (vp, "id", pass, 0, 0);
        desk_add_text (vp, "valid_from", pass, 0, 5);
        desk_add_text (vp, "valid_to", pass, 0, 6);
    }
    else
        cJSON_AddNullToObject (o, "vehicle_pass");
    return o;
}

void
me_visitors_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    char *parties = env_resident_parties (req, rep);
    if (!parties)
        return;
    PGresult *occ = NULL, *vis = NULL, *pass = NULL;
    int64_t now_us = tk_clock_now_us ();
    jv_t v = JV_INIT;
    me_visitor_input_t in;
    if (!me_visitor_input (&v, req->data, now_us, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid visitor");
        goto out;
    }
    occ = db_exec (app->db, ST_ME_VIS_OCC, 2, (const char *[]) { parties, in.unit_id });
    if (!db_ok (occ)) {
        db_reply_error (occ, rep, req->id);
        goto out;
    }
    if (PQntuples (occ) != 1) {
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
        goto out;
    }
    const char *party = PQgetvalue (occ, 0, 0), *pid = PQgetvalue (occ, 0, 1);
    char tz[64] = "UTC";
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        goto out;
    char now[40], code[7];
    tk_time_param (now_us, now);
    s_pass_code (code);
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    const char *p[] = { pid, in.name, in.unit_id, in.plate[0] ? in.plate : NULL, in.expected_at, code, party,
                        now, "resident", tz };
    vis = db_exec (app->db, ST_ME_VIS_INSERT, 10, p);
    if (!db_one_row (app->db, vis, rep, req->id, "visitor"))
        goto out;
    const char *day = PQgetvalue (vis, 0, 2);
    if (in.plate[0]) {
        /* vehicle_passes.c's insert: the whole expected day in the property's timezone */
        char note[64];
        snprintf (note, sizeof note, "visitor %s", PQgetvalue (vis, 0, 0));
        const char *q[] = { pid, in.plate, in.unit_id, party, NULL, day, NULL, day, tz, "false", note, now,
                            "resident" };
        pass = db_exec (app->db, "desk_pass_insert", 13, q);
        if (!db_one_row (app->db, pass, rep, req->id, "vehicle pass"))
            goto out;
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "visitor");
        goto out;
    }
    cJSON *o = s_created_json (&in, code, occ, vis, pass);
    env_reply_ok (rep, 201, o);
    log_info (req->id, "expected visitor %s announced for a unit of property %s", PQgetvalue (vis, 0, 0), pid);
out:
    db_rollback (app->db);
    PQclear (pass);
    PQclear (vis);
    PQclear (occ);
    free (parties);
}
