/* tenants_store: the SQL of the tenants service, in one place; see tenants_store.h.
 * Parameterized statements only: any text the client sent is a parameter,
 * never part of the SQL. Every unit query names its property_id. */
#include "tenants_store.h"

#include <stdio.h>
#include <stdlib.h>

/* Column order the JSON conversions below rely on. */
#define TN_PROPERTY_COLUMNS \
    "id::text, code, name, address, timezone, " DB_UTC_TS ("created_at")
#define TN_UNIT_COLUMNS \
    "id::text, property_id::text, code, building, floor, area_m2::text, use, " \
    DB_UTC_TS ("created_at") ", " DB_UTC_TS ("updated_at")

enum { P_ID, P_CODE, P_NAME, P_ADDRESS, P_TIMEZONE, P_CREATED };
enum { U_ID, U_PROPERTY, U_CODE, U_BUILDING, U_FLOOR, U_AREA, U_USE, U_CREATED, U_UPDATED };

/* tn_unit_detail. The occupants' order: owners, tenants, residents, then by
 * start (as tn_occupants_current); the history's: latest end, then the
 * latest move-out first. json, not jsonb: keys stay in the API's order.
 * Dates as ::text, as the row conversions print them. The audit CTE runs
 * once whether or not the SELECT reads it, and only when $4; a unit not in
 * the property has no occupancies (foreign key on property_id, unit_id). */
#define TN_UNIT_DETAIL_SQL                                                           \
    "WITH unit (id, property_id, code, building, floor, area, use, created, updated) AS (" \
    "  SELECT " TN_UNIT_COLUMNS " FROM units WHERE property_id = $1::uuid AND id = $2::uuid), " \
    "occ AS ("                                                                       \
    "  SELECT o.id, o.party_id, o.role, o.start_date, o.created_at, "                \
    "    array_position (ARRAY['owner', 'tenant', 'resident'], o.role) AS rank, "    \
    "    p.kind, p.name, p.phones, p.email, p.key_customer, p.id_type, p.id_number " \
    "  FROM occupancies o JOIN parties p ON p.property_id = o.property_id AND p.id = o.party_id " \
    "  WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid AND o.end_date IS NULL), " \
    "audit AS ("                                                                     \
    "  INSERT INTO pii_reads (property_id, party_id, user_id, role, request_id, method) " \
    "  SELECT $1::uuid, c.party_id, $5::text, $6::text, $7::text, $8::text FROM occ c WHERE $4::boolean " \
    "  ORDER BY c.rank, c.start_date, c.created_at, c.id RETURNING 1) "              \
    "SELECT unit.*, "                                                                \
    "  (SELECT COALESCE (json_agg (json_build_object ("                              \
    "      'occupancy_id', c.id::text, 'party_id', c.party_id::text, 'kind', c.kind, 'name', c.name, " \
    "      'role', c.role, 'start_date', c.start_date::text, 'phone', c.phones[1], " \
    "      'phones', array_to_json (c.phones), 'email', c.email, 'key_customer', c.key_customer, " \
    "      'id_type', c.id_type, 'id_number', c.id_number) "                         \
    "    ORDER BY c.rank, c.start_date, c.created_at, c.id), '[]') FROM occ c)::text, " \
    "  (SELECT COALESCE (json_agg (h.j ORDER BY h.end_date DESC, h.ended_at DESC, h.id DESC), '[]') FROM (" \
    "    SELECT o.id, o.end_date, o.ended_at, json_build_object ("                   \
    "        'id', o.id::text, 'property_id', o.property_id::text, 'unit_id', o.unit_id::text, " \
    "        'unit_code', unit.code, 'party_id', o.party_id::text, 'party_name', p.name, 'role', o.role, " \
    "        'start_date', o.start_date::text, 'end_date', o.end_date::text) AS j "  \
    "    FROM occupancies o JOIN parties p ON p.property_id = o.property_id AND p.id = o.party_id " \
    "    WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid AND o.end_date IS NOT NULL " \
    "    ORDER BY o.end_date DESC, o.ended_at DESC, o.id DESC LIMIT $3::int) h)::text " \
    "FROM unit"

static const db_statement_t s_statements[] = {
    { "tn_timezone_find",
      "SELECT 1 FROM pg_timezone_names WHERE name = $1::text", true },
    { "tn_property_insert",
      "INSERT INTO properties (code, name, address, timezone) "
      "VALUES ($1::text, $2::text, $3::text, $4::text) RETURNING " TN_PROPERTY_COLUMNS, false },
    { "tn_property_get",
      "SELECT " TN_PROPERTY_COLUMNS " FROM properties WHERE id = $1::uuid", true },
    { "tn_property_list",
      "SELECT " TN_PROPERTY_COLUMNS " FROM properties "
      "WHERE ($1::boolean OR id = ANY ($2::uuid[])) "
      "  AND ($3::text IS NULL OR code > $3::text) "
      "ORDER BY code LIMIT $4::int", true },
    { "tn_unit_insert",
      "INSERT INTO units (property_id, code, building, floor, area_m2, use) "
      "VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::numeric, $6::text) "
      "RETURNING " TN_UNIT_COLUMNS, false },
    { "tn_unit_get",
      "SELECT " TN_UNIT_COLUMNS " FROM units WHERE property_id = $1::uuid AND id = $2::uuid", true },
    /* the same statement twice: without the audit it only reads, so db may
     * retry it after a dropped connection; with it, not (a second row) */
    { "tn_unit_detail", TN_UNIT_DETAIL_SQL, true },
    { "tn_unit_detail_audited", TN_UNIT_DETAIL_SQL, false },
    { "tn_unit_get_for_update",
      "SELECT " TN_UNIT_COLUMNS " FROM units WHERE property_id = $1::uuid AND id = $2::uuid "
      "FOR UPDATE", true },
    { "tn_unit_update",
      "UPDATE units SET code = $3::text, building = $4::text, floor = $5::text, "
      "  area_m2 = $6::numeric, use = $7::text, updated_at = now() "
      "WHERE property_id = $1::uuid AND id = $2::uuid RETURNING " TN_UNIT_COLUMNS, false },
    /* starts_with, not LIKE: a prefix holding % or _ means itself */
    { "tn_unit_list",
      "SELECT " TN_UNIT_COLUMNS " FROM units "
      "WHERE property_id = $1::uuid "
      "  AND ($2::text IS NULL OR starts_with (code, $2::text)) "
      "  AND ($3::text IS NULL OR use = $3::text) "
      "  AND ($4::text IS NULL OR building = $4::text) "
      "  AND ($5::text IS NULL OR code > $5::text) "
      "ORDER BY code LIMIT $6::int", true },
};

int
tn_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

PGresult *
tn_timezone_find (db_t *db, const char *name)
{
    return db_exec (db, "tn_timezone_find", 1, (const char *[]) { name });
}

PGresult *
tn_property_insert (db_t *db, const tn_property_input_t *in)
{
    const char *p[] = { in->code, in->name, in->address, in->timezone };
    return db_exec (db, "tn_property_insert", 4, p);
}

PGresult *
tn_property_get (db_t *db, const char *id)
{
    return db_exec (db, "tn_property_get", 1, (const char *[]) { id });
}

PGresult *
tn_property_list (db_t *db, bool all, const char *ids, const char *after, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    const char *p[] = { all ? "true" : "false", ids ? ids : "{}", after, lim };
    return db_exec (db, "tn_property_list", 4, p);
}

PGresult *
tn_unit_insert (db_t *db, const char *property_id, const tn_unit_values_t *v)
{
    const char *p[] = { property_id, v->code, v->building, v->floor, v->area, v->use };
    return db_exec (db, "tn_unit_insert", 6, p);
}

PGresult *
tn_unit_get (db_t *db, const char *property_id, const char *id, bool for_update)
{
    return db_exec (db, for_update ? "tn_unit_get_for_update" : "tn_unit_get", 2,
                    (const char *[]) { property_id, id });
}

PGresult *
tn_unit_detail (db_t *db, const char *property_id, const char *id, int history_max, const tn_reader_t *audit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", history_max);
    const char *p[] = { property_id, id, lim, audit ? "true" : "false", audit ? audit->user_id : NULL,
                        audit ? audit->role : NULL, audit ? audit->request_id : NULL,
                        audit ? audit->method : NULL };
    return db_exec (db, audit ? "tn_unit_detail_audited" : "tn_unit_detail", 8, p);
}

PGresult *
tn_unit_update (db_t *db, const char *property_id, const char *id, const tn_unit_values_t *v)
{
    const char *p[] = { property_id, id, v->code, v->building, v->floor, v->area, v->use };
    return db_exec (db, "tn_unit_update", 7, p);
}

PGresult *
tn_unit_list (db_t *db, const char *property_id, const char *q, const char *use,
              const char *building, const char *after, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    const char *p[] = { property_id, q, use, building, after, lim };
    return db_exec (db, "tn_unit_list", 6, p);
}

static void
s_add_text (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col))
        cJSON_AddNullToObject (obj, name);
    else
        cJSON_AddStringToObject (obj, name, PQgetvalue (res, row, col));
}

cJSON *
tn_property_json (const PGresult *res, int row)
{
    cJSON *p = cJSON_CreateObject ();
    s_add_text (p, "id", res, row, P_ID);
    s_add_text (p, "code", res, row, P_CODE);
    s_add_text (p, "name", res, row, P_NAME);
    s_add_text (p, "address", res, row, P_ADDRESS);
    s_add_text (p, "timezone", res, row, P_TIMEZONE);
    s_add_text (p, "created_at", res, row, P_CREATED);
    return p;
}

cJSON *
tn_unit_json (const PGresult *res, int row)
{
    cJSON *u = cJSON_CreateObject ();
    s_add_text (u, "id", res, row, U_ID);
    s_add_text (u, "property_id", res, row, U_PROPERTY);
    s_add_text (u, "code", res, row, U_CODE);
    s_add_text (u, "building", res, row, U_BUILDING);
    s_add_text (u, "floor", res, row, U_FLOOR);
    /* NUMERIC(12,2) text such as "85.50": a double prints it back as 85.5,
     * and every value with 2 decimals below 1e9 survives that round trip. */
    cJSON_AddNumberToObject (u, "area_m2", strtod (PQgetvalue (res, row, U_AREA), NULL));
    s_add_text (u, "use", res, row, U_USE);
    s_add_text (u, "created_at", res, row, U_CREATED);
    s_add_text (u, "updated_at", res, row, U_UPDATED);
    return u;
}

static const char *
s_value (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

void
tn_unit_values (const PGresult *res, int row, tn_unit_values_t *out)
{
    out->code = s_value (res, row, U_CODE);
    out->building = s_value (res, row, U_BUILDING);
    out->floor = s_value (res, row, U_FLOOR);
    out->area = s_value (res, row, U_AREA);
    out->use = s_value (res, row, U_USE);
}

const char *
tn_row_code (const PGresult *res, int row)
{
    /* both column lists keep code where these enums say */
    return PQnfields (res) == U_UPDATED + 1 ? PQgetvalue (res, row, U_CODE) : PQgetvalue (res, row, P_CODE);
}
