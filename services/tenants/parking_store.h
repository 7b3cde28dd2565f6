/* parking_store: the SQL of parking spaces (车位) and parking leases
 * (车位租赁), prepared once (and again after a reconnect, by db), and the
 * row -> JSON conversions. Every function returns db_exec's result: check
 * db_ok, PQclear it. Every query names its property_id.
 *
 * "Today" (for a space's current lease and ?active=) is the date in the
 * property's own time zone. */
#ifndef TN_PARKING_STORE_H
#define TN_PARKING_STORE_H

#include "db.h"
#include "parking_rules.h"
#include <cjson/cJSON.h>
#include <stdbool.h>

/* Registers the statements; 0 or -1. */
int tn_parking_store_prepare (db_t *db);

PGresult *tn_space_insert (db_t *db, const char *property_id, const tn_space_input_t *in);
/* zone: exact (NULL = any); after: the code to continue after (NULL = first page).
 * Each row carries the space and its current lease, if any. */
PGresult *tn_space_list (db_t *db, const char *property_id, const char *zone, const char *after,
                         int limit);

/* Inserts a lease (locking its space's row first); 23P01 when it overlaps
 * another lease of the space, 23503 when the party or unit is not the
 * property's, no row when the space is not. */
PGresult *tn_lease_insert (db_t *db, const char *property_id, const tn_lease_input_t *in);
PGresult *tn_lease_get_for_update (db_t *db, const char *property_id, const char *id);
PGresult *tn_lease_end (db_t *db, const char *property_id, const char *id, const char *end_date);
/* space_id, party_id: NULL = any; active: -1 any, 1 covering today, 0 not;
 * after_date/after_id: the keyset cursor (NULL = first page). By start date, then id. */
PGresult *tn_lease_list (db_t *db, const char *property_id, const char *space_id,
                         const char *party_id, int active, const char *after_date,
                         const char *after_id, int limit);

/* Lease rows (insert, get, end, list): {"id","property_id","space_id","space_code",
 * "zone","party_id","unit_id","start_date","end_date","monthly_fee","currency",
 * "created_at","ended_at"}. */
cJSON *tn_lease_json (const PGresult *res, int row);
/* The data of parking.lease.started / .ended: the lease plus
 * "space": {"id","code","zone"}. */
cJSON *tn_lease_event_json (const PGresult *res, int row);
/* A lease row's start date, end date (NULL = open), and whether it was ended. */
const char *tn_lease_row_start (const PGresult *res, int row);
const char *tn_lease_row_end (const PGresult *res, int row);
bool tn_lease_row_ended (const PGresult *res, int row);
/* The keyset cursor key of a lease row: "YYYY-MM-DD/<id>". */
void tn_lease_row_key (const PGresult *res, int row, char *out, size_t cap);

/* Space rows (insert, list): {"id","property_id","code","zone","created_at",
 * "current_lease": lease or null} (insert rows carry no lease: null). */
cJSON *tn_space_json (const PGresult *res, int row);
const char *tn_space_row_code (const PGresult *res, int row);

#endif
