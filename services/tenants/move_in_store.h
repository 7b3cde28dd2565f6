/* move_in_store: the SQL of move-ins (入伙办理) and their per-property
 * checklist, and of the move-out override recorded on an occupancy,
 * prepared once (and again after a reconnect, by db). Every function
 * returns db_exec's result: check db_ok, PQclear it. Every query names its
 * property_id.
 *
 * A move-in document is built in SQL (column 0, JSON text):
 * {"id","property_id","unit_id","unit_code","party_id","party_name","role",
 *  "start_date","status","checklist","occupancy_id","opened_by","closed_by",
 *  "cancel_reason","created_at","updated_at","closed_at"}. */
#ifndef TN_MOVE_IN_STORE_H
#define TN_MOVE_IN_STORE_H

#include "db.h"
#include "page.h"

/* Registers the statements; 0 or -1. */
int tn_move_in_store_prepare (db_t *db);

/* The property's checklist: (items JSON, updated_by, updated_at), no row
 * when it keeps the defaults. */
PGresult *tn_checklist_get (db_t *db, const char *property_id);
/* Replaces it; the same columns. 23503 when the property is not. */
PGresult *tn_checklist_put (db_t *db, const char *property_id, const char *items_json, const char *user);

/* Opens a move-in (checklist_json: the open checklist): the document, or
 * no row when the party holds a current occupancy of this role in the unit
 * already; 23505 when an open move-in for the three exists. */
PGresult *tn_move_in_insert (db_t *db, const char *property_id, const char *unit_id, const char *party_id,
                             const char *role, const char *start_date, const char *checklist_json,
                             const char *user);
PGresult *tn_move_in_get (db_t *db, const char *property_id, const char *id);

/* Locks the move-in for a change: the MV_LOCK_* columns, or no row. */
PGresult *tn_move_in_lock (db_t *db, const char *property_id, const char *id);
enum { MV_LOCK_STATUS, MV_LOCK_CHECKLIST, MV_LOCK_UNIT, MV_LOCK_PARTY, MV_LOCK_ROLE, MV_LOCK_START };

/* Each answers the document after the change. */
PGresult *tn_move_in_checklist_set (db_t *db, const char *property_id, const char *id, const char *checklist_json);
PGresult *tn_move_in_complete (db_t *db, const char *property_id, const char *id, const char *occupancy_id,
                               const char *user);
/* Only an open move-in: no row otherwise. */
PGresult *tn_move_in_cancel (db_t *db, const char *property_id, const char *id, const char *reason,
                             const char *user);

/* Newest first: (document, cursor time, id) for page_reply. status,
 * unit_id: NULL = any. */
PGresult *tn_move_in_list (db_t *db, const char *property_id, const char *status, const char *unit_id,
                           const page_time_id_t *page);

/* Records a move-out override on the occupancy (inside its transaction);
 * owed: fen as text, NULL when billing did not answer. Answers (id, the
 * override as tn_occupancy_overrides shows it). */
PGresult *tn_occupancy_override_set (db_t *db, const char *property_id, const char *id, const char *reason,
                                     const char *user, const char *role, const char *owed);
/* The overrides of the occupancies in ids (a uuid[] literal): rows (id,
 * {"reason","by","role","balance_due","currency"} as JSON text). */
PGresult *tn_occupancy_overrides (db_t *db, const char *property_id, const char *ids);

#endif
