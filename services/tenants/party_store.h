/* party_store: the SQL of parties (业户), their phone tails, occupancies
 * (入伙/迁出) and the PII read audit, prepared once (and again after a
 * reconnect, by db), and the row -> JSON conversions, masked or whole.
 * Every function returns db_exec's result: check db_ok, PQclear it.
 * Every query names its property_id. */
#ifndef TN_PARTY_STORE_H
#define TN_PARTY_STORE_H

#include "db.h"
#include "party_rules.h"
#include <cjson/cJSON.h>
#include <stdbool.h>

#define TN_HISTORY_MAX        50     /* ended occupancies shown in a unit's detail */
#define TN_PARTY_UNITS_MAX    200    /* occupancies shown in a party's detail */

/* Registers the statements; 0 or -1. */
int tn_party_store_prepare (db_t *db);

/* Parties. phones_json / tails_json: JSON arrays of strings. */
PGresult *tn_party_insert (db_t *db, const char *property_id, const tn_party_values_t *v,
                           const char *phones_json);
PGresult *tn_party_get (db_t *db, const char *property_id, const char *id, bool for_update);
/* id, kind, name only: no contacts, nothing to audit. */
PGresult *tn_party_brief (db_t *db, const char *property_id, const char *id);
PGresult *tn_party_update (db_t *db, const char *property_id, const char *id,
                           const tn_party_values_t *v, const char *phones_json);
/* Replaces a party's phone tails with tails_json. */
int tn_party_tails_set (db_t *db, const char *property_id, const char *party_id, const char *tails_json);
/* q: name substring, current unit's code prefix, or a phone's last 4 digits
 * (NULL = any); key: "true"/"false" or NULL; after_name/after_id: the keyset
 * cursor (NULL for the first page). By name (byte order), then id. */
PGresult *tn_party_list (db_t *db, const char *property_id, const char *q, const char *key,
                         const char *after_name, const char *after_id, int limit);

/* Occupancies. */
PGresult *tn_occupancy_insert (db_t *db, const char *property_id, const char *unit_id,
                               const char *party_id, const char *role, const char *start_date);
PGresult *tn_occupancy_get (db_t *db, const char *property_id, const char *id, bool for_update);
PGresult *tn_occupancy_end (db_t *db, const char *property_id, const char *id, const char *end_date);
/* A unit's occupancies, newest first; the cursor is (start_date, created_at, id) or NULLs. */
PGresult *tn_occupancy_list_unit (db_t *db, const char *property_id, const char *unit_id,
                                  const char *after_date, const char *after_created,
                                  const char *after_id, int limit);
/* A party's occupancies, current first, then newest; at most TN_PARTY_UNITS_MAX. */
PGresult *tn_occupancy_list_party (db_t *db, const char *property_id, const char *party_id);
/* A unit's current occupants with their parties (role NULL = any): owners,
 * then tenants, then residents, by start date. */
PGresult *tn_occupants_current (db_t *db, const char *property_id, const char *unit_id, const char *role);

/* The audit: one pii_reads row per id of party_ids (a uuid[] literal). */
PGresult *tn_pii_reads_insert (db_t *db, const char *property_id, const char *party_ids,
                               const char *user_id, const char *role, const char *request_id,
                               const char *method);
/* Newest first; party_id NULL = every party; cursor (read_at, id) or NULLs. */
PGresult *tn_pii_reads_select (db_t *db, const char *property_id, const char *party_id,
                             const char *after_at, const char *after_id, int limit);

/* Rows as the API's JSON. whole: phones and id_number as stored, else masked. */
cJSON *tn_party_json (const PGresult *res, int row, bool whole);
/* The party's id at row (borrowed). */
const char *tn_party_row_id (const PGresult *res, int row);
const char *tn_party_row_name (const PGresult *res, int row);
/* A party row's values (borrowing from res). */
void tn_party_values (const PGresult *res, int row, tn_party_values_t *out);

/* Occupancy: {"id","unit_id","unit_code","party_id","party_name","role","start_date","end_date"}. */
cJSON *tn_occupancy_json (const PGresult *res, int row);
/* The data of occupancy.started / .ended: the occupancy plus
 * "unit": {id, code, building, floor, area_m2, use} and "party": {id, kind, name}. */
cJSON *tn_occupancy_event_json (const PGresult *res, int row);
/* The keyset cursor key of an occupancy row: "date|created|id". */
void tn_occupancy_row_key (const PGresult *res, int row, char *out, size_t cap);
bool tn_occupancy_row_ended (const PGresult *res, int row);
const char *tn_occupancy_row_start (const PGresult *res, int row);
/* For a party's detail: {"occupancy_id","unit_id","unit_code","role","start_date","end_date"}. */
cJSON *tn_party_unit_json (const PGresult *res, int row);

/* Occupant (a row of tn_occupants_current): {"occupancy_id","party_id","kind",
 * "name","role","start_date","phone","phones","email","key_customer"}, plus
 * "id_type","id_number" when full (service callers), masked per whole. */
cJSON *tn_occupant_json (const PGresult *res, int row, bool whole, bool full);
/* The column of an occupant row that holds the party id. */
#define TN_OCCUPANT_PARTY_COL 3

/* PiiRead: {"party_id","user_id","role","request_id","method","read_at"}. */
cJSON *tn_pii_read_json (const PGresult *res, int row);
void tn_pii_read_row_key (const PGresult *res, int row, char *out, size_t cap);

/* A PostgreSQL uuid[] literal of the party ids at column col of rows
 * [0, n) (database output, so well-formed); caller frees, NULL when out of memory. */
char *tn_uuid_list (const PGresult *res, int col, int n);

#endif
