/* tenants_store: every SQL statement of the tenants service, prepared once
 * (and again after a reconnect, by db), and the row -> JSON conversions.
 * Every function returns db_exec's result: check db_ok, PQclear it. */
#ifndef TN_STORE_H
#define TN_STORE_H

#include "db.h"
#include "unit_rules.h"
#include <cjson/cJSON.h>
#include <stdbool.h>

/* Registers the statements; 0 or -1. */
int tn_store_prepare (db_t *db);

/* One row when the time zone is in pg_timezone_names, none otherwise. */
PGresult *tn_timezone_find (db_t *db, const char *name);

PGresult *tn_property_insert (db_t *db, const tn_property_input_t *in);
PGresult *tn_property_get (db_t *db, const char *id);
/* all: every property; else only those in ids (a uuid[] literal).
 * after: the code to continue after, or NULL. */
PGresult *tn_property_list (db_t *db, bool all, const char *ids, const char *after, int limit);

PGresult *tn_unit_insert (db_t *db, const char *property_id, const tn_unit_values_t *v);
PGresult *tn_unit_get (db_t *db, const char *property_id, const char *id, bool for_update);
PGresult *tn_unit_update (db_t *db, const char *property_id, const char *id, const tn_unit_values_t *v);
/* q: code prefix; use, building: exact; after: the code to continue after. NULL = any. */
PGresult *tn_unit_list (db_t *db, const char *property_id, const char *q, const char *use,
                        const char *building, const char *after, int limit);

/* Who reads whole personal data, for the pii_reads rows tn_unit_detail writes. */
typedef struct {
    const char *user_id;
    const char *role;
    const char *request_id;
    const char *method;
} tn_reader_t;

/* A unit's detail in one statement (one round trip, atomic without BEGIN):
 * no row when the unit is not in the property, else the columns of
 * tn_unit_get (tn_unit_json reads them), then TN_DETAIL_OCCUPANTS_COL: the
 * current occupants as a JSON array of {"occupancy_id","party_id","kind",
 * "name","role","start_date","phone","phones","email","key_customer",
 * "id_type","id_number"}, whole (owners, then tenants, then residents, by
 * start date; tn_occupants_json masks them), then TN_DETAIL_HISTORY_COL: the
 * latest history_max ended occupancies as a JSON array of occupancies
 * (tn_occupancy_json's shape; "[]" for history_max 0). audit non-NULL: one
 * pii_reads row per current occupant, in the same statement. */
PGresult *tn_unit_detail (db_t *db, const char *property_id, const char *id, int history_max,
                          const tn_reader_t *audit);
#define TN_DETAIL_OCCUPANTS_COL 9
#define TN_DETAIL_HISTORY_COL   10

/* Rows of the above as the API's JSON. */
cJSON *tn_property_json (const PGresult *res, int row);
cJSON *tn_unit_json (const PGresult *res, int row);
/* A unit row's columns as text values (borrowed from res). */
void tn_unit_values (const PGresult *res, int row, tn_unit_values_t *out);
/* The code column of a row (list cursors). */
const char *tn_row_code (const PGresult *res, int row);

#endif
