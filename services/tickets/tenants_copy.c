/* tenants_copy: tickets' copy of tenants' units, parties, occupancies and
 * property timezones (see tenants_copy.h). The consumer applies tenants'
 * events in the producer's order, last event wins; the look-ups fill a gap
 * from tenants' answer, outside any transaction. The only client_call of
 * tickets is here. */
#include "tenants_copy.h"

#include "client.h"
#include "consumer.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_PROP_UPSERT  "tk_copy_property_upsert"
#define ST_UNIT_UPSERT  "tk_copy_unit_upsert"
#define ST_PARTY_UPSERT "tk_copy_party_upsert"
#define ST_OCC_UPSERT   "tk_copy_occupancy_upsert"
#define ST_UNIT_GET     "tk_copy_unit_get"
#define ST_PARTY_GET    "tk_copy_party_get"
#define ST_OF_RECORD    "tk_copy_of_record"
#define ST_TZ_GET       "tk_copy_tz_get"

/* Each upsert takes $1 the property id and $2 the row as jsonb (the event's
 * data, or tenants' answer), and picks the fields it keeps. */
static const db_statement_t s_statements[] = {
    { ST_PROP_UPSERT,
      "INSERT INTO tenant_properties (id, timezone) "
      "SELECT $1::uuid, coalesce (nullif (d->>'timezone', ''), '" TK_NUMBER_TIMEZONE "') "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()", true },
    { ST_UNIT_UPSERT,
      "INSERT INTO tenant_units (id, property_id, code) "
      "SELECT (d->>'id')::uuid, $1::uuid, d->>'code' FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET property_id = EXCLUDED.property_id, code = EXCLUDED.code, "
      "  updated_at = now()", true },
    /* tickets keeps a party's kind and name (a ticket names its party), no contacts */
    { ST_PARTY_UPSERT,
      "INSERT INTO tenant_parties (id, property_id, kind, name) "
      "SELECT (d->>'id')::uuid, $1::uuid, coalesce (d->>'kind', 'person'), coalesce (d->>'name', '') "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET property_id = EXCLUDED.property_id, kind = EXCLUDED.kind, "
      "  name = EXCLUDED.name, updated_at = now()", true },
    { ST_OCC_UPSERT,
      "INSERT INTO tenant_occupancies (id, property_id, unit_id, party_id, role, start_date, end_date) "
      "SELECT (d->>'id')::uuid, $1::uuid, (d->>'unit_id')::uuid, (d->>'party_id')::uuid, d->>'role', "
      "       (d->>'start_date')::date, (d->>'end_date')::date "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET unit_id = EXCLUDED.unit_id, party_id = EXCLUDED.party_id, "
      "  role = EXCLUDED.role, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, "
      "  updated_at = now()", true },
    { ST_UNIT_GET,
      "SELECT code FROM tenant_units WHERE property_id = $1::uuid AND id = $2::uuid", true },
    { ST_PARTY_GET,
      "SELECT 1 FROM tenant_parties WHERE property_id = $1::uuid AND id = $2::uuid", true },
    { ST_OF_RECORD,
      "SELECT 1 FROM tenant_occupancies WHERE property_id = $1::uuid AND unit_id = $2::uuid "
      "  AND party_id = $3::uuid AND end_date IS NULL AND role IN ('owner', 'tenant') LIMIT 1", true },
    { ST_TZ_GET, "SELECT timezone FROM tenant_properties WHERE id = $1::uuid", true },
};

int
tk_copy_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* True when obj[field] is a uuid string. */
static bool
s_has_uuid (const cJSON *obj, const char *field)
{
    const char *s = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (obj, field));
    return s && jv_is_uuid (s);
}

/* Upserts obj with statement st; 0 or -1. A row without the ids or the
 * fields the table needs is passed over (0): a malformed event must not
 * stall the consumer. */
static int
s_upsert (db_t *db, const char *st, const char *pid, const cJSON *obj, const char *rid)
{
    if (!cJSON_IsObject (obj))
        return 0;
    if (strcmp (st, ST_UNIT_UPSERT) == 0
        && (!s_has_uuid (obj, "id") || !cJSON_IsString (cJSON_GetObjectItemCaseSensitive (obj, "code"))))
        return 0;
    if (strcmp (st, ST_PARTY_UPSERT) == 0 && !s_has_uuid (obj, "id"))
        return 0;
    if (strcmp (st, ST_OCC_UPSERT) == 0
        && (!s_has_uuid (obj, "id") || !s_has_uuid (obj, "unit_id") || !s_has_uuid (obj, "party_id")
            || !cJSON_IsString (cJSON_GetObjectItemCaseSensitive (obj, "role"))))
        return 0;
    return consumer_copy (db, st, pid, obj, NULL, rid);
}

int
tk_copy_apply (void *app, db_t *db, const cJSON *event, const char *rid)
{
    (void) app;
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "type"));
    const char *pid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "property_id"));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (event, "data");
    if (!type || !pid || !jv_is_uuid (pid))
        return 0;                    /* not about a property: nothing for tickets */
    if (strcmp (type, "property.created") == 0)
        return s_upsert (db, ST_PROP_UPSERT, pid, data, rid);
    if (strcmp (type, "unit.created") == 0 || strcmp (type, "unit.updated") == 0)
        return s_upsert (db, ST_UNIT_UPSERT, pid, data, rid);
    if (strcmp (type, "party.created") == 0 || strcmp (type, "party.updated") == 0)
        return s_upsert (db, ST_PARTY_UPSERT, pid, data, rid);
    if (strcmp (type, "occupancy.started") == 0 || strcmp (type, "occupancy.ended") == 0) {
        /* the event carries its unit and party: the copy holds them even if
         * their own events were somehow behind */
        if (s_upsert (db, ST_UNIT_UPSERT, pid, cJSON_GetObjectItemCaseSensitive (data, "unit"), rid)
            || s_upsert (db, ST_PARTY_UPSERT, pid, cJSON_GetObjectItemCaseSensitive (data, "party"), rid))
            return -1;
        return s_upsert (db, ST_OCC_UPSERT, pid, data, rid);
    }
    return 0;
}

/* --- filling a gap from tenants ---------------------------------------------- */

/* The deadline of a call to tenants: half of what the request has left, so
 * that a tenants that does not answer still leaves time to answer 503
 * before the gateway gives up. */
static int64_t
s_deadline (const env_request_t *req)
{
    int64_t now = env_now_ms ();
    int64_t left = req->deadline_ms > now ? req->deadline_ms - now : 0;
    if (!req->deadline_ms)
        left = 4000;
    return now + (left > 200 ? left / 2 : 100);
}

/* `method` of tenants with params {pid, key: val} as this service: 1 with
 * *out = the 200 body, 0 on 404, -1 after a 503 in rep. */
static int
s_tenants_get (const env_request_t *req, const char *method, const char *pid, const char *key,
               const char *val, cJSON **out, env_reply_t *rep)
{
    *out = NULL;
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    cJSON_AddStringToObject (params, "pid", pid);
    if (key)
        cJSON_AddStringToObject (params, key, val);
    cJSON_AddNullToObject (body, "data");
    env_caller_t caller = { .user_id = "tickets", .role = "service" };
    env_reply_t r = { 0 };
    client_call (method, &caller, req->id, s_deadline (req), body, &r);
    int rc;
    if (r.status == 200 && cJSON_IsObject (r.body)) {
        *out = r.body;
        r.body = NULL;
        rc = 1;
    }
    else if (r.status == 404)
        rc = 0;
    else {
        log_warn (req->id, "%s answered %d: %s", method, r.status, r.message);
        env_reply_error (rep, 503, "service_unavailable", NULL,
                         "the tenants service did not answer; try again");
        rc = -1;
    }
    env_reply_reset (&r);
    return rc;
}

/* Runs a one-row look-up of the copy: 1 found (*res kept for the caller to
 * read and PQclear), 0 not found, -1 after answering the database's error. */
static int
s_lookup (db_t *db, const env_request_t *req, const char *st, int n, const char *const *params,
          PGresult **res, env_reply_t *rep)
{
    *res = db_exec (db, st, n, params);
    if (!db_ok (*res)) {
        db_reply_error (*res, rep, req->id);
        PQclear (*res);
        *res = NULL;
        return -1;
    }
    if (PQntuples (*res) == 1)
        return 1;
    PQclear (*res);
    *res = NULL;
    return 0;
}

/* Tenants' Unit (with "occupants") into the copy: the unit, and each current
 * occupant's party and occupancy. Failures are logged only: the caller has
 * its answer, and the events bring the rows anyway. */
static void
s_keep_unit (db_t *db, const env_request_t *req, const char *pid, const char *uid, const cJSON *unit)
{
    (void) s_upsert (db, ST_UNIT_UPSERT, pid, unit, req->id);
    const cJSON *o;
    cJSON_ArrayForEach (o, cJSON_GetObjectItemCaseSensitive (unit, "occupants")) {
        const cJSON *party_id = cJSON_GetObjectItemCaseSensitive (o, "party_id");
        cJSON *p = cJSON_CreateObject ();
        cJSON_AddItemToObject (p, "id", cJSON_Duplicate (party_id, 1));
        cJSON_AddItemToObject (p, "kind", cJSON_Duplicate (cJSON_GetObjectItemCaseSensitive (o, "kind"), 1));
        cJSON_AddItemToObject (p, "name", cJSON_Duplicate (cJSON_GetObjectItemCaseSensitive (o, "name"), 1));
        (void) s_upsert (db, ST_PARTY_UPSERT, pid, p, req->id);
        cJSON_Delete (p);
        cJSON *occ = cJSON_CreateObject ();
        cJSON_AddItemToObject (occ, "id",
                               cJSON_Duplicate (cJSON_GetObjectItemCaseSensitive (o, "occupancy_id"), 1));
        cJSON_AddStringToObject (occ, "unit_id", uid);
        cJSON_AddItemToObject (occ, "party_id", cJSON_Duplicate (party_id, 1));
        cJSON_AddItemToObject (occ, "role", cJSON_Duplicate (cJSON_GetObjectItemCaseSensitive (o, "role"), 1));
        cJSON_AddItemToObject (occ, "start_date",
                               cJSON_Duplicate (cJSON_GetObjectItemCaseSensitive (o, "start_date"), 1));
        cJSON_AddNullToObject (occ, "end_date");
        (void) s_upsert (db, ST_OCC_UPSERT, pid, occ, req->id);
        cJSON_Delete (occ);
    }
}

int
tk_copy_unit (db_t *db, const env_request_t *req, const char *pid, const char *uid,
              char code[TK_UNIT_CODE_MAX + 1], env_reply_t *rep)
{
    PGresult *res;
    int found = s_lookup (db, req, ST_UNIT_GET, 2, (const char *[]) { pid, uid }, &res, rep);
    if (found == 0) {
        cJSON *unit = NULL;
        found = s_tenants_get (req, "tenants.unit.get", pid, "uid", uid, &unit, rep);
        if (found == 1) {
            s_keep_unit (db, req, pid, uid, unit);
            const char *c = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (unit, "code"));
            snprintf (code, TK_UNIT_CODE_MAX + 1, "%s", c ? c : "");
        }
        cJSON_Delete (unit);
        return found;
    }
    if (found == 1)
        snprintf (code, TK_UNIT_CODE_MAX + 1, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return found;
}

int
tk_copy_party (db_t *db, const env_request_t *req, const char *pid, const char *party_id,
               env_reply_t *rep)
{
    PGresult *res;
    int found = s_lookup (db, req, ST_PARTY_GET, 2, (const char *[]) { pid, party_id }, &res, rep);
    PQclear (res);
    if (found != 0)
        return found;
    cJSON *party = NULL;
    found = s_tenants_get (req, "tenants.party.get", pid, "party_id", party_id, &party, rep);
    if (found == 1)
        (void) s_upsert (db, ST_PARTY_UPSERT, pid, party, req->id);
    cJSON_Delete (party);
    return found;
}

int
tk_copy_of_record (db_t *db, const env_request_t *req, const char *pid, const char *uid,
                   const char *party_id, env_reply_t *rep)
{
    PGresult *res;
    int ok = s_lookup (db, req, ST_OF_RECORD, 3, (const char *[]) { pid, uid, party_id }, &res, rep);
    PQclear (res);
    if (ok != 0)
        return ok;
    /* the copy says no: a move-in of a second ago may not have reached it */
    cJSON *unit = NULL;
    int found = s_tenants_get (req, "tenants.unit.get", pid, "uid", uid, &unit, rep);
    if (found == 1) {
        s_keep_unit (db, req, pid, uid, unit);
        const cJSON *o;
        cJSON_ArrayForEach (o, cJSON_GetObjectItemCaseSensitive (unit, "occupants")) {
            const char *p = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (o, "party_id"));
            const char *role = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (o, "role"));
            if (p && role && strcmp (p, party_id) == 0
                && (strcmp (role, "owner") == 0 || strcmp (role, "tenant") == 0))
                ok = 1;
        }
    }
    cJSON_Delete (unit);
    return found < 0 ? -1 : ok;
}

int
tk_copy_timezone (db_t *db, const env_request_t *req, const char *pid, char tz[64], env_reply_t *rep)
{
    PGresult *res;
    int found = s_lookup (db, req, ST_TZ_GET, 1, (const char *[]) { pid }, &res, rep);
    if (found < 0)
        return -1;
    if (found == 1) {
        snprintf (tz, 64, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        return 0;
    }
    cJSON *prop = NULL;
    found = s_tenants_get (req, "tenants.properties.get", pid, NULL, NULL, &prop, rep);
    if (found < 0)
        return -1;
    if (found == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
        return -1;
    }
    const char *z = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (prop, "timezone"));
    /* tenants validated it; the counter's AT TIME ZONE would reject junk anyway */
    snprintf (tz, 64, "%s", z && *z && strlen (z) < 64 ? z : TK_NUMBER_TIMEZONE);
    (void) s_upsert (db, ST_PROP_UPSERT, pid, prop, req->id);
    cJSON_Delete (prop);
    return 0;
}
