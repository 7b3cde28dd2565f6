/* parking_store: the SQL of parking spaces and leases, in one place; see
 * parking_store.h. Parameterized statements only. */
#include "parking_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_DATE(col) "to_char (" col ", 'YYYY-MM-DD')"
/* the property's today: p must be the lease's or space's property */
#define PK_TODAY "(now () AT TIME ZONE p.timezone)::date"

/* A lease, from parking_leases l joined with its space s; the order the
 * L_* enum below names. */
#define PK_LEASE_COLUMNS \
    "l.id::text, l.property_id::text, l.space_id::text, s.code, s.zone, l.party_id::text, " \
    "l.unit_id::text, " PK_DATE ("l.start_date") ", " PK_DATE ("l.end_date") ", " \
    "l.monthly_fee::text, " DB_UTC_TS ("l.created_at") ", " DB_UTC_TS ("l.ended_at")
enum { L_ID, L_PROPERTY, L_SPACE, L_SPACE_CODE, L_ZONE, L_PARTY, L_UNIT, L_START, L_END, L_FEE,
       L_CREATED, L_ENDED, L_NCOLS };

#define PK_SPACE_COLUMNS \
    "s.id::text, s.property_id::text, s.code, s.zone, " DB_UTC_TS ("s.created_at")
enum { S_ID, S_PROPERTY, S_CODE, S_ZONE, S_CREATED, S_NCOLS };

static const db_statement_t s_pk_statements[] = {
    { "tn_space_insert",
      "INSERT INTO parking_spaces AS s (property_id, code, zone) "
      "VALUES ($1::uuid, $2::text, $3::text) RETURNING " PK_SPACE_COLUMNS, false },
    /* the current lease through the exclusion constraint's gist index
     * (space_id, daterange): at most one lease of a space covers a day */
    { "tn_space_list",
      "SELECT " PK_SPACE_COLUMNS ", " PK_LEASE_COLUMNS " "
      "FROM parking_spaces s JOIN properties p ON p.id = s.property_id "
      "LEFT JOIN LATERAL (SELECT * FROM parking_leases l "
      "  WHERE l.space_id = s.id AND daterange (l.start_date, l.end_date, '[]') @> " PK_TODAY " "
      "  LIMIT 1) l ON true "
      "WHERE s.property_id = $1::uuid "
      "  AND ($2::text IS NULL OR s.zone = $2::text) "
      "  AND ($3::text IS NULL OR s.code > $3::text) "
      "ORDER BY s.code LIMIT $4::int", true },
    /* Overlapping dates on the space: the exclusion constraint answers
     * 23P01, however many requests race. The space's row is locked first
     * (FOR NO KEY UPDATE: the foreign key checks' KEY SHARE still pass), so
     * two inserts for one space queue instead of each waiting on the
     * other's index entry, which PostgreSQL can only end as a deadlock
     * (40P01) after deadlock_timeout. No row: the space is not the property's. */
    { "tn_lease_insert",
      "WITH l AS (INSERT INTO parking_leases "
      "  (property_id, space_id, party_id, unit_id, start_date, end_date, monthly_fee) "
      "  SELECT sp.property_id, sp.id, $3::uuid, $4::uuid, $5::date, $6::date, $7::bigint "
      "  FROM parking_spaces sp WHERE sp.property_id = $1::uuid AND sp.id = $2::uuid "
      "  FOR NO KEY UPDATE "
      "  RETURNING *) "
      "SELECT " PK_LEASE_COLUMNS " FROM l JOIN parking_spaces s ON s.id = l.space_id", false },
    { "tn_lease_get_for_update",
      "SELECT " PK_LEASE_COLUMNS " FROM parking_leases l JOIN parking_spaces s ON s.id = l.space_id "
      "WHERE l.property_id = $1::uuid AND l.id = $2::uuid FOR UPDATE OF l", true },
    { "tn_lease_end",
      "WITH l AS (UPDATE parking_leases SET end_date = $3::date, ended_at = now () "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND ended_at IS NULL RETURNING *) "
      "SELECT " PK_LEASE_COLUMNS " FROM l JOIN parking_spaces s ON s.id = l.space_id", false },
    { "tn_lease_list",
      "SELECT " PK_LEASE_COLUMNS " FROM parking_leases l "
      "JOIN parking_spaces s ON s.id = l.space_id JOIN properties p ON p.id = l.property_id "
      "WHERE l.property_id = $1::uuid "
      "  AND ($2::uuid IS NULL OR l.space_id = $2::uuid) "
      "  AND ($3::uuid IS NULL OR l.party_id = $3::uuid) "
      "  AND ($4::boolean IS NULL "
      "       OR (daterange (l.start_date, l.end_date, '[]') @> " PK_TODAY ") = $4::boolean) "
      "  AND ($5::date IS NULL OR (l.start_date, l.id) > ($5::date, $6::uuid)) "
      "ORDER BY l.start_date, l.id LIMIT $7::int", true },
};

int
tn_parking_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_pk_statements);
}

PGresult *
tn_space_insert (db_t *db, const char *property_id, const tn_space_input_t *in)
{
    const char *p[] = { property_id, in->code, in->zone };
    return db_exec (db, "tn_space_insert", 3, p);
}

PGresult *
tn_space_list (db_t *db, const char *property_id, const char *zone, const char *after, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    const char *p[] = { property_id, zone, after, lim };
    return db_exec (db, "tn_space_list", 4, p);
}

PGresult *
tn_lease_insert (db_t *db, const char *property_id, const tn_lease_input_t *in)
{
    const char *p[] = { property_id, in->space_id, in->party_id, in->unit_id, in->start_date,
                        in->end_date, in->fee_text };
    return db_exec (db, "tn_lease_insert", 7, p);
}

PGresult *
tn_lease_get_for_update (db_t *db, const char *property_id, const char *id)
{
    return db_exec (db, "tn_lease_get_for_update", 2, (const char *[]) { property_id, id });
}

PGresult *
tn_lease_end (db_t *db, const char *property_id, const char *id, const char *end_date)
{
    return db_exec (db, "tn_lease_end", 3, (const char *[]) { property_id, id, end_date });
}

PGresult *
tn_lease_list (db_t *db, const char *property_id, const char *space_id, const char *party_id,
               int active, const char *after_date, const char *after_id, int limit)
{
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit);
    const char *act = active < 0 ? NULL : active ? "true" : "false";
    const char *p[] = { property_id, space_id, party_id, act, after_date, after_id, lim };
    return db_exec (db, "tn_lease_list", 7, p);
}

static void
s_pk_text (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col))
        cJSON_AddNullToObject (obj, name);
    else
        cJSON_AddStringToObject (obj, name, PQgetvalue (res, row, col));
}

/* The lease whose columns start at off. */
static cJSON *
s_pk_lease (const PGresult *res, int row, int off)
{
    cJSON *l = cJSON_CreateObject ();
    s_pk_text (l, "id", res, row, off + L_ID);
    s_pk_text (l, "property_id", res, row, off + L_PROPERTY);
    s_pk_text (l, "space_id", res, row, off + L_SPACE);
    s_pk_text (l, "space_code", res, row, off + L_SPACE_CODE);
    s_pk_text (l, "zone", res, row, off + L_ZONE);
    s_pk_text (l, "party_id", res, row, off + L_PARTY);
    s_pk_text (l, "unit_id", res, row, off + L_UNIT);
    s_pk_text (l, "start_date", res, row, off + L_START);
    s_pk_text (l, "end_date", res, row, off + L_END);
    /* bigint below 2^53 (CHECK <= 1e11): exact as a JSON number */
    cJSON_AddNumberToObject (l, "monthly_fee", strtod (PQgetvalue (res, row, off + L_FEE), NULL));
    cJSON_AddStringToObject (l, "currency", "CNY");
    s_pk_text (l, "created_at", res, row, off + L_CREATED);
    s_pk_text (l, "ended_at", res, row, off + L_ENDED);
    return l;
}

cJSON *
tn_lease_json (const PGresult *res, int row)
{
    return s_pk_lease (res, row, 0);
}

cJSON *
tn_lease_event_json (const PGresult *res, int row)
{
    cJSON *l = s_pk_lease (res, row, 0);
    cJSON *space = cJSON_AddObjectToObject (l, "space");
    s_pk_text (space, "id", res, row, L_SPACE);
    s_pk_text (space, "code", res, row, L_SPACE_CODE);
    s_pk_text (space, "zone", res, row, L_ZONE);
    return l;
}

const char *
tn_lease_row_start (const PGresult *res, int row)
{
    return PQgetvalue (res, row, L_START);
}

const char *
tn_lease_row_end (const PGresult *res, int row)
{
    return PQgetisnull (res, row, L_END) ? NULL : PQgetvalue (res, row, L_END);
}

bool
tn_lease_row_ended (const PGresult *res, int row)
{
    return !PQgetisnull (res, row, L_ENDED);
}

void
tn_lease_row_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s/%s", PQgetvalue (res, row, L_START), PQgetvalue (res, row, L_ID));
}

cJSON *
tn_space_json (const PGresult *res, int row)
{
    cJSON *s = cJSON_CreateObject ();
    s_pk_text (s, "id", res, row, S_ID);
    s_pk_text (s, "property_id", res, row, S_PROPERTY);
    s_pk_text (s, "code", res, row, S_CODE);
    s_pk_text (s, "zone", res, row, S_ZONE);
    s_pk_text (s, "created_at", res, row, S_CREATED);
    if (PQnfields (res) >= S_NCOLS + L_NCOLS && !PQgetisnull (res, row, S_NCOLS + L_ID))
        cJSON_AddItemToObject (s, "current_lease", s_pk_lease (res, row, S_NCOLS));
    else
        cJSON_AddNullToObject (s, "current_lease");
    return s;
}

const char *
tn_space_row_code (const PGresult *res, int row)
{
    return PQgetvalue (res, row, S_CODE);
}
