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

/* Who reads whole personal data, for the pii_reads rows tn_unit_card writes. */
typedef struct {
    const char *user_id;
    const char *role;
    const char *request_id;
    const char *method;
} tn_reader_t;

/* A unit's detail in one statement (one round trip, atomic without BEGIN):
 * no row when the unit is not in the property, else the unit's row (the
 * columns of tn_unit_get) and one row per occupancy of the unit, current or
 * ended, with its party, in no order: tn_unit_card_json reads them. audit
 * non-NULL: one pii_reads row per current occupant, in the same statement. */
PGresult *tn_unit_card (db_t *db, const char *property_id, const char *id, const tn_reader_t *audit);

/* What a caller sees of the occupants (party_rules.h's tn_role_* answer it). */
typedef struct {
    bool whole;                      /* phones and ID number as stored, else masked */
    bool contacts;                   /* phones and email at all (not a technician) */
    bool full;                       /* the identity document (other services) */
    bool history;                    /* the latest TN_HISTORY_MAX ended occupancies */
} tn_card_view_t;

/* tn_unit_card's rows (at least one) as the API's unit detail, written
 * straight to JSON text: the unit (tn_unit_json's keys), "occupants" (owners,
 * then tenants, then residents, by start date, then move-in time: as
 * tn_occupants_current) as {"occupancy_id","party_id","kind","name","role",
 * "start_date","phone","phones","email","key_customer","id_type",
 * "id_number"} cut and masked per view, then "history" (the latest end
 * first) in tn_occupancy_json's shape. NULL when memory ran out. */
char *tn_unit_card_json (const PGresult *res, const tn_card_view_t *view);

/* Rows of the above as the API's JSON. */
cJSON *tn_property_json (const PGresult *res, int row);
cJSON *tn_unit_json (const PGresult *res, int row);
/* A unit row's columns as text values (borrowed from res). */
void tn_unit_values (const PGresult *res, int row, tn_unit_values_t *out);
/* The code column of a row (list cursors). */
const char *tn_row_code (const PGresult *res, int row);

#endif
