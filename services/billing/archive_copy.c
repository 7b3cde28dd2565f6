/* archive_copy: applies tenants' events to billing's copy of the archive,
 * and serves the billing settings of a property (see archive_copy.h).
 *
 * Events are applied in the producer's order, so the copy is
 * last-event-wins: each upsert overwrites the row with the event's data. The
 * data is handed to SQL as jsonb whole, and the statements pick the fields
 * they need (proto/events.md), so a field tenants adds later costs nothing. */
#include "archive_copy.h"
#include "input_rules.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_SETTINGS_SEEN "bl_settings_seen"
#define ST_UNIT_UPSERT   "bl_unit_upsert"
#define ST_PARTY_UPSERT  "bl_party_upsert"
#define ST_OCC_UPSERT    "bl_occupancy_upsert"
#define ST_LEASE_UPSERT  "bl_lease_upsert"
#define ST_SETTINGS_GET  "bl_settings_get"
#define ST_SETTINGS_PUT  "bl_settings_put"
#define ST_TZ_KNOWN      "bl_tz_known"

#define SETTINGS_JSON                                                                    \
    "json_build_object('property_id', property_id, 'timezone', timezone, 'due_day', due_day, " \
    "'late_fee_bps_per_day', late_fee_bps_per_day, 'late_fee_grace_days', late_fee_grace_days, " \
    "'late_fee_cap_bps', late_fee_cap_bps, 'updated_at', " DB_UTC_TS ("updated_at") ")::text"

static const db_statement_t s_statements[] = {
    { ST_SETTINGS_SEEN,
      "INSERT INTO property_settings (property_id) VALUES ($1::uuid) ON CONFLICT DO NOTHING", false },
    /* $1 property_id, $2 the unit as jsonb (a Unit, or the "unit" of an occupancy event) */
    { ST_UNIT_UPSERT,
      "INSERT INTO units (property_id, unit_id, code, building, floor, area_m2, use) "
      "SELECT $1::uuid, (d->>'id')::uuid, d->>'code', d->>'building', d->>'floor', "
      "       coalesce ((d->>'area_m2')::numeric, 0), coalesce (d->>'use', 'other') "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (property_id, unit_id) DO UPDATE SET code = EXCLUDED.code, "
      "  building = EXCLUDED.building, floor = EXCLUDED.floor, area_m2 = EXCLUDED.area_m2, "
      "  use = EXCLUDED.use, updated_at = now()", false },
    /* a party.* event's Party; a short one (occupancy's "party": id, kind,
     * name) keeps the phones already known. Billing keeps what it uses: the
     * name and the phones (the arrears report's contacts), not the e-mail
     * (nothing in billing writes to residents; notifications does), and
     * never an ID document (party events carry none: proto/events.md) */
    { ST_PARTY_UPSERT,
      "INSERT INTO parties (id, property_id, kind, name, phones, email) "
      "SELECT (d->>'id')::uuid, $1::uuid, coalesce (d->>'kind', 'person'), coalesce (d->>'name', ''), "
      "       coalesce (ARRAY (SELECT jsonb_array_elements_text (CASE WHEN jsonb_typeof (d->'phones') = 'array' "
      "                                                          THEN d->'phones' ELSE '[]' END)), '{}'), "
      "       NULL "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, "
      "  phones = CASE WHEN $3::bool THEN EXCLUDED.phones ELSE parties.phones END, "
      "  email = NULL, updated_at = now()",
      false },
    { ST_OCC_UPSERT,
      "INSERT INTO occupancies (id, property_id, unit_id, party_id, role, start_date, end_date) "
      "SELECT (d->>'id')::uuid, $1::uuid, (d->>'unit_id')::uuid, (d->>'party_id')::uuid, d->>'role', "
      "       (d->>'start_date')::date, (d->>'end_date')::date "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET unit_id = EXCLUDED.unit_id, party_id = EXCLUDED.party_id, "
      "  role = EXCLUDED.role, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, "
      "  updated_at = now()", false },
    { ST_LEASE_UPSERT,
      "INSERT INTO parking_leases (id, property_id, space_id, space_code, party_id, unit_id, "
      "                            start_date, end_date, monthly_fee) "
      "SELECT (d->>'id')::uuid, $1::uuid, (d->>'space_id')::uuid, "
      "       coalesce (d->>'space_code', d->'space'->>'code'), (d->>'party_id')::uuid, "
      "       (d->>'unit_id')::uuid, (d->>'start_date')::date, (d->>'end_date')::date, "
      "       coalesce ((d->>'monthly_fee')::bigint, 0) "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET space_id = EXCLUDED.space_id, space_code = EXCLUDED.space_code, "
      "  party_id = EXCLUDED.party_id, unit_id = EXCLUDED.unit_id, start_date = EXCLUDED.start_date, "
      "  end_date = EXCLUDED.end_date, monthly_fee = EXCLUDED.monthly_fee, updated_at = now()", false },
    { ST_SETTINGS_GET,
      "SELECT " SETTINGS_JSON " FROM property_settings WHERE property_id = $1::uuid", true },
    /* a zone PostgreSQL does not know would fail every later date of the property */
    { ST_TZ_KNOWN, "SELECT 1 FROM pg_timezone_names WHERE name = $1::text", true },
    /* every field optional: NULL keeps the stored value */
    { ST_SETTINGS_PUT,
      "UPDATE property_settings SET due_day = coalesce ($2::int, due_day), "
      "  late_fee_bps_per_day = coalesce ($3::int, late_fee_bps_per_day), "
      "  late_fee_grace_days = coalesce ($4::int, late_fee_grace_days), "
      "  late_fee_cap_bps = coalesce ($5::int, late_fee_cap_bps), "
      "  timezone = coalesce ($6, timezone), updated_at = now() "
      "WHERE property_id = $1::uuid RETURNING " SETTINGS_JSON, false },
};

int
bl_archive_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* consumer_copy of obj, when the event carries one: an absent part is
 * nothing to copy. 0 or -1. */
static int
s_copy (db_t *db, const char *st, const char *pid, const cJSON *obj, const char *extra, const char *rid)
{
    return cJSON_IsObject (obj) ? consumer_copy (db, st, pid, obj, extra, rid) : 0;
}

int
bl_archive_apply (void *app, db_t *db, const cJSON *event, const char *rid)
{
    (void) app;
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "type"));
    const char *pid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "property_id"));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (event, "data");
    if (!type || !pid || !jv_is_uuid (pid))
        return 0;                    /* not about a property: nothing for billing */

    /* first sight of a property creates its settings, whatever the event */
    const char *p1[] = { pid };
    PGresult *res = db_exec (db, ST_SETTINGS_SEEN, 1, p1);
    int rc = db_ok (res) ? 0 : -1;
    PQclear (res);
    if (rc)
        return -1;

    if (strcmp (type, "unit.created") == 0 || strcmp (type, "unit.updated") == 0)
        return s_copy (db, ST_UNIT_UPSERT, pid, data, NULL, rid);
    if (strcmp (type, "party.created") == 0 || strcmp (type, "party.updated") == 0)
        return s_copy (db, ST_PARTY_UPSERT, pid, data, "true", rid);
    if (strcmp (type, "occupancy.started") == 0 || strcmp (type, "occupancy.ended") == 0) {
        /* the event carries its unit and party: the copy holds them even if
         * their own events were somehow behind */
        if (s_copy (db, ST_UNIT_UPSERT, pid, cJSON_GetObjectItemCaseSensitive (data, "unit"), NULL, rid)
            || s_copy (db, ST_PARTY_UPSERT, pid, cJSON_GetObjectItemCaseSensitive (data, "party"), "false",
                       rid))
            return -1;
        return s_copy (db, ST_OCC_UPSERT, pid, data, NULL, rid);
    }
    if (strcmp (type, "parking.lease.started") == 0 || strcmp (type, "parking.lease.ended") == 0)
        return s_copy (db, ST_LEASE_UPSERT, pid, data, NULL, rid);
    return 0;
}

PGresult *
bl_settings_row (db_t *db, const char *pid)
{
    const char *p[] = { pid };
    return db_exec (db, ST_SETTINGS_GET, 1, p);
}

void
bl_settings_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    db_reply_json (bl_settings_row (app->db, pid), rep, req->id, 200, "no such property");
}

void
bl_settings_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_settings_input_t in;
    (void) bl_settings_input (&v, req->data, &in);
    /* a zone PostgreSQL knows: its problem joins the others */
    const char *tz = in.timezone;
    if (tz) {
        PGresult *known = db_exec (app->db, ST_TZ_KNOWN, 1, (const char *[]) { tz });
        if (!db_ok (known)) {
            db_reply_error (known, rep, req->id);
            PQclear (known);
            jv_reset (&v);
            return;
        }
        if (PQntuples (known) == 0)
            jv_problem (&v, "timezone", "must be a time zone name such as Asia/Shanghai");
        PQclear (known);
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid billing settings");
        return;
    }
    char b[4][24];
    snprintf (b[0], sizeof b[0], "%lld", (long long) in.due_day);
    snprintf (b[1], sizeof b[1], "%lld", (long long) in.bps);
    snprintf (b[2], sizeof b[2], "%lld", (long long) in.grace);
    snprintf (b[3], sizeof b[3], "%lld", (long long) in.cap);
    const char *params[] = { pid, in.has_due_day ? b[0] : NULL, in.has_bps ? b[1] : NULL,
                             in.has_grace ? b[2] : NULL, in.has_cap ? b[3] : NULL, tz };
    PGresult *res = db_exec (app->db, ST_SETTINGS_PUT, 6, params);
    db_reply_json (res, rep, req->id, 200, "no such property");
}
