/* party_store: the SQL of parties, occupancies and the PII audit; see party_store.h.
 * Parameterized statements only: any text the client sent is a parameter,
 * never part of the SQL. Lists of values travel as one JSON or uuid[]
 * parameter. (Static names here differ from tenants_store.c's: the unit
 * tests include both files in one translation unit.) */
#include "party_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column orders the JSON conversions below rely on. */
#define PS_PARTY_COLUMNS \
    "p.id::text, p.property_id::text, p.kind, p.name, array_to_json (p.phones)::text, p.email, " \
    "p.id_type, p.id_number, p.key_customer::text, p.key_customer_note, " \
    DB_UTC_TS ("p.created_at") ", " DB_UTC_TS ("p.updated_at")
enum { PA_ID, PA_PROPERTY, PA_KIND, PA_NAME, PA_PHONES, PA_EMAIL, PA_ID_TYPE, PA_ID_NUMBER,
       PA_KEY, PA_KEY_NOTE, PA_CREATED, PA_UPDATED, PA_NCOLS };

#define PS_OCC_COLUMNS \
    "o.id::text, o.property_id::text, o.unit_id::text, u.code, o.party_id::text, p.name, p.kind, " \
    "o.role, o.start_date::text, o.end_date::text, u.building, u.floor, u.area_m2::text, u.use, " \
    DB_UTC_TS_US ("o.created_at")
#define PS_OCC_FROM \
    " FROM occupancies o " \
    "JOIN units u ON u.property_id = o.property_id AND u.id = o.unit_id " \
    "JOIN parties p ON p.property_id = o.property_id AND p.id = o.party_id "
enum { OC_ID, OC_PROPERTY, OC_UNIT, OC_UNIT_CODE, OC_PARTY, OC_PARTY_NAME, OC_PARTY_KIND,
       OC_ROLE, OC_START, OC_END, OC_BUILDING, OC_FLOOR, OC_AREA, OC_USE, OC_CREATED_US };

/* An occupant: the occupancy's columns, then the party's from OT_PARTY on. */
enum { OT_ID, OT_ROLE, OT_START, OT_PARTY };
_Static_assert (OT_PARTY + PA_ID == TN_OCCUPANT_PARTY_COL, "party_store.h names this column");

enum { PR_ID, PR_PARTY, PR_USER, PR_ROLE, PR_REQUEST, PR_METHOD, PR_AT, PR_AT_US };

/* the phones parameter: a JSON array, kept in its order */
#define PS_PHONES(n) "ARRAY (SELECT e FROM jsonb_array_elements_text (" n "::jsonb) " \
                     "WITH ORDINALITY AS t (e, i) ORDER BY i)"

static const db_statement_t s_party_statements[] = {
    { "tn_party_insert",
      "INSERT INTO parties AS p (property_id, kind, name, phones, email, id_type, id_number, "
      "  key_customer, key_customer_note) "
      "VALUES ($1::uuid, $2::text, $3::text, " PS_PHONES ("$4") ", $5::text, $6::text, $7::text, "
      "  $8::boolean, $9::text) RETURNING " PS_PARTY_COLUMNS, false },
    { "tn_party_get",
      "SELECT " PS_PARTY_COLUMNS " FROM parties p WHERE p.property_id = $1::uuid AND p.id = $2::uuid",
      true },
    { "tn_party_brief",
      "SELECT p.id::text, p.kind, p.name FROM parties p "
      " WHERE p.property_id = $1::uuid AND p.id = $2::uuid", true },
    { "tn_party_get_for_update",
      "SELECT " PS_PARTY_COLUMNS " FROM parties p WHERE p.property_id = $1::uuid AND p.id = $2::uuid "
      "FOR UPDATE", true },
    { "tn_party_update",
      "UPDATE parties AS p SET name = $3::text, phones = " PS_PHONES ("$4") ", email = $5::text, "
      "  id_type = $6::text, id_number = $7::text, key_customer = $8::boolean, "
      "  key_customer_note = $9::text, updated_at = now() "
      "WHERE p.property_id = $1::uuid AND p.id = $2::uuid RETURNING " PS_PARTY_COLUMNS, false },
    { "tn_party_tails_delete",
      "DELETE FROM party_phone_tails WHERE property_id = $1::uuid AND party_id = $2::uuid", false },
    { "tn_party_tails_insert",
      "INSERT INTO party_phone_tails (property_id, party_id, tail) "
      "SELECT DISTINCT $1::uuid, $2::uuid, t FROM jsonb_array_elements_text ($3::jsonb) AS t "
      "ON CONFLICT DO NOTHING", false },
    /* q: a name holding it (case-insensitive for Latin letters: a Chinese name
     * is often typed in part, 王 or 建华), a current occupancy of a unit whose
     * code starts with it, or a phone ending in it (party_phone_tails holds
     * 4-digit tails only, so other q find nothing there). starts_with and
     * strpos, not LIKE: % and _ in q mean themselves. */
    { "tn_party_list",
      "SELECT " PS_PARTY_COLUMNS " FROM parties p "
      "WHERE p.property_id = $1::uuid "
      "  AND ($2::text IS NULL OR p.id IN ("
      "        SELECT n.id FROM parties n WHERE n.property_id = $1::uuid "
      "          AND strpos (lower (n.name), lower ($2::text)) > 0 "
      "        UNION SELECT o.party_id FROM occupancies o "
      "          JOIN units u ON u.property_id = o.property_id AND u.id = o.unit_id "
      "          WHERE o.property_id = $1::uuid AND o.end_date IS NULL AND starts_with (u.code, $2::text) "
      "        UNION SELECT t.party_id FROM party_phone_tails t "
      "          WHERE t.property_id = $1::uuid AND t.tail = $2::text)) "
      "  AND ($3::boolean IS NULL OR p.key_customer = $3::boolean) "
      "  AND ($4::text IS NULL OR (p.name COLLATE \"C\", p.id) > ($4::text COLLATE \"C\", $5::uuid)) "
      "ORDER BY p.name COLLATE \"C\", p.id LIMIT $6::int", true },

    { "tn_occupancy_insert",
      "INSERT INTO occupancies (property_id, unit_id, party_id, role, start_date) "
      "VALUES ($1::uuid, $2::uuid, $3::uuid, $4::text, $5::date) RETURNING id::text", false },
    { "tn_occupancy_get",
      "SELECT " PS_OCC_COLUMNS PS_OCC_FROM "WHERE o.property_id = $1::uuid AND o.id = $2::uuid", true },
    { "tn_occupancy_get_for_update",
      "SELECT " PS_OCC_COLUMNS PS_OCC_FROM "WHERE o.property_id = $1::uuid AND o.id = $2::uuid "
      "FOR UPDATE OF o", true },
    { "tn_occupancy_end",
      "UPDATE occupancies SET end_date = $3::date, ended_at = now() "
      "WHERE property_id = $1::uuid AND id = $2::uuid AND end_date IS NULL RETURNING id::text", false },
    { "tn_occupancy_list_unit",
      "SELECT " PS_OCC_COLUMNS PS_OCC_FROM
      "WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid "
      "  AND ($3::date IS NULL OR (o.start_date, o.created_at, o.id) < ($3::date, $4::timestamptz, $5::uuid)) "
      "ORDER BY o.start_date DESC, o.created_at DESC, o.id DESC LIMIT $6::int", true },
    { "tn_occupancy_list_party",
      "SELECT " PS_OCC_COLUMNS PS_OCC_FROM
      "WHERE o.property_id = $1::uuid AND o.party_id = $2::uuid "
      "ORDER BY o.end_date IS NULL DESC, o.start_date DESC, o.created_at DESC LIMIT $3::int", true },
    { "tn_occupants_current",
      "SELECT o.id::text, o.role, o.start_date::text, " PS_PARTY_COLUMNS " FROM occupancies o "
      "JOIN parties p ON p.property_id = o.property_id AND p.id = o.party_id "
      "WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid AND o.end_date IS NULL "
      "  AND ($3::text IS NULL OR o.role = $3::text) "
      "ORDER BY array_position (ARRAY['owner', 'tenant', 'resident'], o.role), o.start_date, "
      "  o.created_at, o.id", true },

    { "tn_pii_reads_insert",
      "INSERT INTO pii_reads (property_id, party_id, user_id, role, request_id, method) "
      "SELECT $1::uuid, x, $3::text, $4::text, $5::text, $6::text FROM unnest ($2::uuid[]) AS x", false },
    { "tn_pii_reads_list",
      "SELECT id::text, party_id::text, user_id, role, request_id, method, " DB_UTC_TS ("read_at") ", "
      DB_UTC_TS_US ("read_at") " FROM pii_reads "
      "WHERE property_id = $1::uuid AND ($2::uuid IS NULL OR party_id = $2::uuid) "
      "  AND ($3::timestamptz IS NULL OR (read_at, id) < ($3::timestamptz, $4::bigint)) "
      "ORDER BY read_at DESC, id DESC LIMIT $5::int", true },
};

int
tn_party_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_party_statements);
}

static void
s_limit_text (int limit, char out[16])
{
    snprintf (out, 16, "%d", limit);
}

PGresult *
tn_party_insert (db_t *db, const char *property_id, const tn_party_values_t *v, const char *phones_json)
{
    const char *p[] = { property_id, v->kind, v->name, phones_json, v->email, v->id_type, v->id_number,
                        v->key_customer ? "true" : "false", v->key_customer_note };
    return db_exec (db, "tn_party_insert", 9, p);
}

PGresult *
tn_party_get (db_t *db, const char *property_id, const char *id, bool for_update)
{
    return db_exec (db, for_update ? "tn_party_get_for_update" : "tn_party_get", 2,
                    (const char *[]) { property_id, id });
}

PGresult *
tn_party_brief (db_t *db, const char *property_id, const char *id)
{
    return db_exec (db, "tn_party_brief", 2, (const char *[]) { property_id, id });
}

PGresult *
tn_party_update (db_t *db, const char *property_id, const char *id, const tn_party_values_t *v,
                 const char *phones_json)
{
    const char *p[] = { property_id, id, v->name, phones_json, v->email, v->id_type, v->id_number,
                        v->key_customer ? "true" : "false", v->key_customer_note };
    return db_exec (db, "tn_party_update", 9, p);
}

int
tn_party_tails_set (db_t *db, const char *property_id, const char *party_id, const char *tails_json)
{
    PGresult *res = db_exec (db, "tn_party_tails_delete", 2, (const char *[]) { property_id, party_id });
    bool ok = db_ok (res);
    PQclear (res);
    if (!ok)
        return -1;
    res = db_exec (db, "tn_party_tails_insert", 3, (const char *[]) { property_id, party_id, tails_json });
    ok = db_ok (res);
    PQclear (res);
    return ok ? 0 : -1;
}

PGresult *
tn_party_list (db_t *db, const char *property_id, const char *q, const char *key,
               const char *after_name, const char *after_id, int limit)
{
    char lim[16];
    s_limit_text (limit, lim);
    const char *p[] = { property_id, q, key, after_name, after_id, lim };
    return db_exec (db, "tn_party_list", 6, p);
}

PGresult *
tn_occupancy_insert (db_t *db, const char *property_id, const char *unit_id, const char *party_id,
                     const char *role, const char *start_date)
{
    const char *p[] = { property_id, unit_id, party_id, role, start_date };
    return db_exec (db, "tn_occupancy_insert", 5, p);
}

PGresult *
tn_occupancy_get (db_t *db, const char *property_id, const char *id, bool for_update)
{
    return db_exec (db, for_update ? "tn_occupancy_get_for_update" : "tn_occupancy_get", 2,
                    (const char *[]) { property_id, id });
}

PGresult *
tn_occupancy_end (db_t *db, const char *property_id, const char *id, const char *end_date)
{
    return db_exec (db, "tn_occupancy_end", 3, (const char *[]) { property_id, id, end_date });
}

PGresult *
tn_occupancy_list_unit (db_t *db, const char *property_id, const char *unit_id, const char *after_date,
                        const char *after_created, const char *after_id, int limit)
{
    char lim[16];
    s_limit_text (limit, lim);
    const char *p[] = { property_id, unit_id, after_date, after_created, after_id, lim };
    return db_exec (db, "tn_occupancy_list_unit", 6, p);
}

PGresult *
tn_occupancy_list_party (db_t *db, const char *property_id, const char *party_id)
{
    char lim[16];
    s_limit_text (TN_PARTY_UNITS_MAX, lim);
    return db_exec (db, "tn_occupancy_list_party", 3, (const char *[]) { property_id, party_id, lim });
}

PGresult *
tn_occupants_current (db_t *db, const char *property_id, const char *unit_id, const char *role)
{
    return db_exec (db, "tn_occupants_current", 3, (const char *[]) { property_id, unit_id, role });
}

PGresult *
tn_pii_reads_insert (db_t *db, const char *property_id, const char *party_ids, const char *user_id,
                     const char *role, const char *request_id, const char *method)
{
    const char *p[] = { property_id, party_ids, user_id, role, request_id, method };
    return db_exec (db, "tn_pii_reads_insert", 6, p);
}

PGresult *
tn_pii_reads_select (db_t *db, const char *property_id, const char *party_id, const char *after_at,
                   const char *after_id, int limit)
{
    char lim[16];
    s_limit_text (limit, lim);
    const char *p[] = { property_id, party_id, after_at, after_id, lim };
    return db_exec (db, "tn_pii_reads_list", 5, p);
}

/* --- rows -> JSON ------------------------------------------------------------ */

static const char *
s_cell (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

static void
s_put (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    const char *s = s_cell (res, row, col);
    if (s)
        cJSON_AddStringToObject (obj, name, s);
    else
        cJSON_AddNullToObject (obj, name);
}

/* "phone" (the primary) and "phones", masked unless whole. */
static void
s_put_phones (cJSON *obj, const PGresult *res, int row, int col, bool whole)
{
    cJSON *stored = cJSON_Parse (PQgetvalue (res, row, col));
    cJSON *phones = cJSON_CreateArray ();
    const cJSON *item;
    cJSON_ArrayForEach (item, stored) {
        if (!cJSON_IsString (item))
            continue;
        char masked[TN_PHONE_MAX + 8];
        if (!whole)
            pii_phone_mask (item->valuestring, masked);
        cJSON_AddItemToArray (phones, cJSON_CreateString (whole ? item->valuestring : masked));
    }
    cJSON_Delete (stored);
    const cJSON *first = cJSON_GetArrayItem (phones, 0);
    if (first)
        cJSON_AddStringToObject (obj, "phone", first->valuestring);
    else
        cJSON_AddNullToObject (obj, "phone");
    cJSON_AddItemToObject (obj, "phones", phones);
}

static void
s_put_id (cJSON *obj, const PGresult *res, int row, int col0, bool whole)
{
    s_put (obj, "id_type", res, row, col0 + PA_ID_TYPE);
    const char *id = s_cell (res, row, col0 + PA_ID_NUMBER);
    if (!id)
        cJSON_AddNullToObject (obj, "id_number");
    else if (whole)
        cJSON_AddStringToObject (obj, "id_number", id);
    else {
        char masked[TN_ID_NUMBER_MAX + 1];
        pii_id_mask (id, masked);
        cJSON_AddStringToObject (obj, "id_number", masked);
    }
}

cJSON *
tn_party_json (const PGresult *res, int row, bool whole)
{
    cJSON *p = cJSON_CreateObject ();
    s_put (p, "id", res, row, PA_ID);
    s_put (p, "property_id", res, row, PA_PROPERTY);
    s_put (p, "kind", res, row, PA_KIND);
    s_put (p, "name", res, row, PA_NAME);
    s_put_phones (p, res, row, PA_PHONES, whole);
    s_put (p, "email", res, row, PA_EMAIL);
    s_put_id (p, res, row, 0, whole);
    cJSON_AddBoolToObject (p, "key_customer", strcmp (PQgetvalue (res, row, PA_KEY), "true") == 0);
    s_put (p, "key_customer_note", res, row, PA_KEY_NOTE);
    s_put (p, "created_at", res, row, PA_CREATED);
    s_put (p, "updated_at", res, row, PA_UPDATED);
    return p;
}

const char *
tn_party_row_id (const PGresult *res, int row)
{
    return PQgetvalue (res, row, PA_ID);
}

const char *
tn_party_row_name (const PGresult *res, int row)
{
    return PQgetvalue (res, row, PA_NAME);
}

void
tn_party_values (const PGresult *res, int row, tn_party_values_t *out)
{
    memset (out, 0, sizeof *out);
    out->kind = s_cell (res, row, PA_KIND);
    out->name = s_cell (res, row, PA_NAME);
    cJSON *stored = cJSON_Parse (PQgetvalue (res, row, PA_PHONES));
    const cJSON *item;
    cJSON_ArrayForEach (item, stored)
        if (cJSON_IsString (item) && out->nphones < TN_PHONES_MAX)
            snprintf (out->phones[out->nphones++], TN_PHONE_MAX + 1, "%s", item->valuestring);
    cJSON_Delete (stored);
    out->email = s_cell (res, row, PA_EMAIL);
    out->id_type = s_cell (res, row, PA_ID_TYPE);
    out->id_number = s_cell (res, row, PA_ID_NUMBER);
    out->key_customer = strcmp (PQgetvalue (res, row, PA_KEY), "true") == 0;
    out->key_customer_note = s_cell (res, row, PA_KEY_NOTE);
}

cJSON *
tn_occupancy_json (const PGresult *res, int row)
{
    cJSON *o = cJSON_CreateObject ();
    s_put (o, "id", res, row, OC_ID);
    s_put (o, "property_id", res, row, OC_PROPERTY);
    s_put (o, "unit_id", res, row, OC_UNIT);
    s_put (o, "unit_code", res, row, OC_UNIT_CODE);
    s_put (o, "party_id", res, row, OC_PARTY);
    s_put (o, "party_name", res, row, OC_PARTY_NAME);
    s_put (o, "role", res, row, OC_ROLE);
    s_put (o, "start_date", res, row, OC_START);
    s_put (o, "end_date", res, row, OC_END);
    return o;
}

cJSON *
tn_occupancy_event_json (const PGresult *res, int row)
{
    cJSON *o = tn_occupancy_json (res, row);
    cJSON *u = cJSON_AddObjectToObject (o, "unit");
    s_put (u, "id", res, row, OC_UNIT);
    s_put (u, "code", res, row, OC_UNIT_CODE);
    s_put (u, "building", res, row, OC_BUILDING);
    s_put (u, "floor", res, row, OC_FLOOR);
    /* NUMERIC(12,2) text: a double prints every such value back exactly (tenants_store.c) */
    cJSON_AddNumberToObject (u, "area_m2", strtod (PQgetvalue (res, row, OC_AREA), NULL));
    s_put (u, "use", res, row, OC_USE);
    cJSON *p = cJSON_AddObjectToObject (o, "party");
    s_put (p, "id", res, row, OC_PARTY);
    s_put (p, "kind", res, row, OC_PARTY_KIND);
    s_put (p, "name", res, row, OC_PARTY_NAME);
    return o;
}

void
tn_occupancy_row_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s|%s|%s", PQgetvalue (res, row, OC_START), PQgetvalue (res, row, OC_CREATED_US),
              PQgetvalue (res, row, OC_ID));
}

bool
tn_occupancy_row_ended (const PGresult *res, int row)
{
    return !PQgetisnull (res, row, OC_END);
}

const char *
tn_occupancy_row_start (const PGresult *res, int row)
{
    return PQgetvalue (res, row, OC_START);
}

cJSON *
tn_party_unit_json (const PGresult *res, int row)
{
    cJSON *o = cJSON_CreateObject ();
    s_put (o, "occupancy_id", res, row, OC_ID);
    s_put (o, "unit_id", res, row, OC_UNIT);
    s_put (o, "unit_code", res, row, OC_UNIT_CODE);
    s_put (o, "role", res, row, OC_ROLE);
    s_put (o, "start_date", res, row, OC_START);
    s_put (o, "end_date", res, row, OC_END);
    return o;
}

cJSON *
tn_occupant_json (const PGresult *res, int row, bool whole, bool full)
{
    cJSON *o = cJSON_CreateObject ();
    s_put (o, "occupancy_id", res, row, OT_ID);
    s_put (o, "party_id", res, row, OT_PARTY + PA_ID);
    s_put (o, "kind", res, row, OT_PARTY + PA_KIND);
    s_put (o, "name", res, row, OT_PARTY + PA_NAME);
    s_put (o, "role", res, row, OT_ROLE);
    s_put (o, "start_date", res, row, OT_START);
    s_put_phones (o, res, row, OT_PARTY + PA_PHONES, whole);
    s_put (o, "email", res, row, OT_PARTY + PA_EMAIL);
    cJSON_AddBoolToObject (o, "key_customer", strcmp (PQgetvalue (res, row, OT_PARTY + PA_KEY), "true") == 0);
    if (full)
        s_put_id (o, res, row, OT_PARTY, whole);
    return o;
}

cJSON *
tn_pii_read_json (const PGresult *res, int row)
{
    cJSON *r = cJSON_CreateObject ();
    s_put (r, "party_id", res, row, PR_PARTY);
    s_put (r, "user_id", res, row, PR_USER);
    s_put (r, "role", res, row, PR_ROLE);
    s_put (r, "request_id", res, row, PR_REQUEST);
    s_put (r, "method", res, row, PR_METHOD);
    s_put (r, "read_at", res, row, PR_AT);
    return r;
}

void
tn_pii_read_row_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s|%s", PQgetvalue (res, row, PR_AT_US), PQgetvalue (res, row, PR_ID));
}

char *
tn_uuid_list (const PGresult *res, int col, int n)
{
    size_t cap = 3 + (size_t) n * 37;
    char *out = malloc (cap);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '{';
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue (res, i, col);
        int w = snprintf (out + o, cap - o, "%s%.36s", i ? "," : "", id);
        if (w < 0 || (size_t) w >= cap - o) {
            free (out);
            return NULL;
        }
        o += (size_t) w;
    }
    out[o++] = '}';
    out[o] = 0;
    return out;
}
