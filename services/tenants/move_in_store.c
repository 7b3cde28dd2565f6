/* move_in_store: the SQL of move-ins, their checklists and move-out
 * overrides, in one place; see move_in_store.h. Parameterized statements
 * only. */
#include "move_in_store.h"

#include <stdio.h>

/* The document of a move-in m joined with its unit u and party p. */
#define MV_JSON \
    "json_build_object ('id', m.id, 'property_id', m.property_id, 'unit_id', m.unit_id, " \
    "'unit_code', u.code, 'party_id', m.party_id, 'party_name', p.name, 'role', m.role, " \
    "'start_date', m.start_date, 'status', m.status, 'checklist', m.checklist, " \
    "'occupancy_id', m.occupancy_id, 'opened_by', m.opened_by, 'closed_by', m.closed_by, " \
    "'cancel_reason', m.cancel_reason, 'created_at', " DB_UTC_TS ("m.created_at") ", " \
    "'updated_at', " DB_UTC_TS ("m.updated_at") ", 'closed_at', " DB_UTC_TS ("m.closed_at") ")::text"
#define MV_JOIN \
    " JOIN units u ON u.property_id = m.property_id AND u.id = m.unit_id " \
    "JOIN parties p ON p.property_id = m.property_id AND p.id = m.party_id "
/* a change's answer: the row the CTE m returned, as its document */
#define MV_ANSWER "SELECT " MV_JSON " FROM m" MV_JOIN

/* A move-out override as the occupancy shows it ("move_out_override"). */
#define OV_JSON \
    "json_build_object ('reason', end_override_reason, 'by', end_override_by, " \
    "'role', end_override_role, 'balance_due', end_override_owed, 'currency', 'CNY')::text"

#define CL_COLUMNS "items::text, updated_by, " DB_UTC_TS ("updated_at")

static const db_statement_t s_mv_statements[] = {
    { "tn_checklist_get",
      "SELECT " CL_COLUMNS " FROM move_in_checklists WHERE property_id = $1::uuid", true },
    { "tn_checklist_put",
      "INSERT INTO move_in_checklists (property_id, items, updated_by) VALUES ($1::uuid, $2::jsonb, $3::text) "
      "ON CONFLICT (property_id) DO UPDATE SET items = EXCLUDED.items, updated_by = EXCLUDED.updated_by, "
      "  updated_at = now () RETURNING " CL_COLUMNS, false },
    /* the unit must be free for the party in this role, as for
     * tenants.occupancies.create: no current occupancy of the three (the
     * unique index decides again at complete) */
    { "tn_move_in_insert",
      "WITH m AS (INSERT INTO move_ins (property_id, unit_id, party_id, role, start_date, checklist, opened_by) "
      "  SELECT $1::uuid, $2::uuid, $3::uuid, $4::text, $5::date, $6::jsonb, $7::text "
      "  WHERE NOT EXISTS (SELECT 1 FROM occupancies o WHERE o.property_id = $1::uuid "
      "    AND o.unit_id = $2::uuid AND o.party_id = $3::uuid AND o.role = $4::text AND o.end_date IS NULL) "
      "  RETURNING *) " MV_ANSWER, false },
    { "tn_move_in_get",
      "SELECT " MV_JSON " FROM move_ins m" MV_JOIN "WHERE m.property_id = $1::uuid AND m.id = $2::uuid", true },
    { "tn_move_in_lock",
      "SELECT status, checklist::text, unit_id::text, party_id::text, role, start_date::text FROM move_ins "
      "WHERE property_id = $1::uuid AND id = $2::uuid FOR UPDATE", false },
    { "tn_move_in_checklist_set",
      "WITH m AS (UPDATE move_ins SET checklist = $3::jsonb, updated_at = now () "
      "  WHERE property_id = $1::uuid AND id = $2::uuid RETURNING *) " MV_ANSWER, false },
    { "tn_move_in_complete",
      "WITH m AS (UPDATE move_ins SET status = 'completed', occupancy_id = $3::uuid, closed_by = $4::text, "
      "  closed_at = now (), updated_at = now () "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND status = 'open' RETURNING *) " MV_ANSWER, false },
    { "tn_move_in_cancel",
      "WITH m AS (UPDATE move_ins SET status = 'cancelled', cancel_reason = $3::text, closed_by = $4::text, "
      "  closed_at = now (), updated_at = now () "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND status = 'open' RETURNING *) " MV_ANSWER, false },
    { "tn_move_in_list",
      "SELECT " MV_JSON ", " DB_UTC_TS_US ("m.created_at") ", m.id::text FROM move_ins m" MV_JOIN
      "WHERE m.property_id = $1::uuid AND ($2::text IS NULL OR m.status = $2::text) "
      "  AND ($3::uuid IS NULL OR m.unit_id = $3::uuid) "
      "  AND ($4::timestamptz IS NULL OR (m.created_at, m.id) < ($4::timestamptz, $5::uuid)) "
      "ORDER BY m.created_at DESC, m.id DESC LIMIT $6::int", true },
    { "tn_occupancy_override_set",
      "UPDATE occupancies SET end_override_reason = $3::text, end_override_by = $4::text, "
      "  end_override_role = $5::text, end_override_owed = $6::bigint "
      "WHERE property_id = $1::uuid AND id = $2::uuid RETURNING id::text, " OV_JSON, false },
    { "tn_occupancy_overrides",
      "SELECT id::text, " OV_JSON " FROM occupancies WHERE property_id = $1::uuid AND id = ANY ($2::uuid[]) "
      "  AND end_override_reason IS NOT NULL", true },
};

int
tn_move_in_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_mv_statements);
}

PGresult *
tn_checklist_get (db_t *db, const char *property_id)
{
    return db_exec (db, "tn_checklist_get", 1, (const char *[]) { property_id });
}

PGresult *
tn_checklist_put (db_t *db, const char *property_id, const char *items_json, const char *user)
{
    return db_exec (db, "tn_checklist_put", 3, (const char *[]) { property_id, items_json, user });
}

PGresult *
tn_move_in_insert (db_t *db, const char *property_id, const char *unit_id, const char *party_id, const char *role,
                   const char *start_date, const char *checklist_json, const char *user)
{
    const char *p[] = { property_id, unit_id, party_id, role, start_date, checklist_json, user };
    return db_exec (db, "tn_move_in_insert", 7, p);
}

PGresult *
tn_move_in_get (db_t *db, const char *property_id, const char *id)
{
    return db_exec (db, "tn_move_in_get", 2, (const char *[]) { property_id, id });
}

PGresult *
tn_move_in_lock (db_t *db, const char *property_id, const char *id)
{
    return db_exec (db, "tn_move_in_lock", 2, (const char *[]) { property_id, id });
}

PGresult *
tn_move_in_checklist_set (db_t *db, const char *property_id, const char *id, const char *checklist_json)
{
    return db_exec (db, "tn_move_in_checklist_set", 3, (const char *[]) { property_id, id, checklist_json });
}

PGresult *
tn_move_in_complete (db_t *db, const char *property_id, const char *id, const char *occupancy_id, const char *user)
{
    return db_exec (db, "tn_move_in_complete", 4, (const char *[]) { property_id, id, occupancy_id, user });
}

PGresult *
tn_move_in_cancel (db_t *db, const char *property_id, const char *id, const char *reason, const char *user)
{
    return db_exec (db, "tn_move_in_cancel", 4, (const char *[]) { property_id, id, reason, user });
}

PGresult *
tn_move_in_list (db_t *db, const char *property_id, const char *status, const char *unit_id,
                 const page_time_id_t *page)
{
    const char *p[] = { property_id, status, unit_id, page->at, page->id, page->limit_plus_one };
    return db_exec (db, "tn_move_in_list", 6, p);
}

PGresult *
tn_occupancy_override_set (db_t *db, const char *property_id, const char *id, const char *reason,
                           const char *user, const char *role, const char *owed)
{
    const char *p[] = { property_id, id, reason, user, role, owed };
    return db_exec (db, "tn_occupancy_override_set", 6, p);
}

PGresult *
tn_occupancy_overrides (db_t *db, const char *property_id, const char *ids)
{
    return db_exec (db, "tn_occupancy_overrides", 2, (const char *[]) { property_id, ids });
}
