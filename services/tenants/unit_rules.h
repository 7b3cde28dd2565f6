/* unit_rules: what a valid property or unit is, and how a PATCH changes a
 * unit. Pure functions (no database), unit-tested in tests/unit/test_tenants_rules.c.
 * The CHECK constraints of migrations/001_init.sql mirror these limits. */
#ifndef TN_UNIT_RULES_H
#define TN_UNIT_RULES_H

#include "jv.h"
#include <stdbool.h>
#include <stddef.h>

#define TN_PROPERTY_CODE_MAX  32     /* [A-Za-z0-9_-] */
#define TN_PROPERTY_NAME_MAX  200    /* bytes of UTF-8 */
#define TN_ADDRESS_MAX        500
#define TN_TIMEZONE_MAX       64
#define TN_DEFAULT_TIMEZONE   "Asia/Shanghai"
#define TN_UNIT_CODE_MAX      64
#define TN_BUILDING_MAX       64
#define TN_FLOOR_MAX          16
#define TN_AREA_MAX           1e9    /* area_m2 must be below this; NUMERIC(12,2) */
#define TN_QUERY_MAX          64     /* ?q= and ?building= */

/* NULL-terminated: residential office retail hotel parking storage other. */
extern const char *const tn_unit_uses[];

/* A property's input, borrowed from the request data. */
typedef struct {
    const char *code;
    const char *name;
    const char *address;             /* NULL when absent, null or "" */
    const char *timezone;            /* TN_DEFAULT_TIMEZONE when absent */
} tn_property_input_t;

/* Validates POST /v1/properties data; every problem goes into v. */
bool tn_property_input (jv_t *v, const cJSON *data, tn_property_input_t *out);

/* True for 1..32 characters of [A-Za-z0-9_-]. */
bool tn_property_code_ok (const char *code);

/* A unit's columns as text ("85.50" for the area); NULL = SQL NULL. */
typedef struct {
    const char *code;
    const char *building;
    const char *floor;
    const char *area;
    const char *use;
} tn_unit_values_t;

/* A unit's input: which fields the client sent and their values. */
typedef struct {
    bool has_code, has_building, has_floor, has_area, has_use;
    tn_unit_values_t v;              /* area points into area_buf */
    char area_buf[32];
} tn_unit_input_t;

/* Validates a unit's data. partial = false (create): code, area_m2 and use
 * are required. partial = true (PATCH): any subset; building and floor may be
 * null to clear them; code, area_m2 and use may not. "" for building or
 * floor means none. Every problem goes into v. */
bool tn_unit_input (jv_t *v, const cJSON *data, bool partial, tn_unit_input_t *out);

/* The unit after a PATCH: next = cur with the fields in sent. Returns true
 * when anything differs from cur (no write and no event otherwise). */
bool tn_unit_patch (const tn_unit_values_t *cur, const tn_unit_input_t *in, tn_unit_values_t *next);

/* Shared by the tenants' input rules (unit_rules, party_rules, parking_rules). */

/* An optional string field of at most max bytes; NULL when absent, null
 * or "" (none). A problem goes into v. */
const char *tn_optional_text (jv_t *v, const cJSON *data, const char *field, size_t max);

/* The body {"end_date": "YYYY-MM-DD"} of a move-out (POST .../occupancies/
 * {oid}/end) or a lease's end (POST .../parking-leases/{id}/end): the last
 * day. Not before the start is the handler's check, against the loaded row. */
typedef struct {
    const char *end_date;
} tn_end_input_t;

bool tn_end_input (jv_t *v, const cJSON *data, tn_end_input_t *out);

/* A PostgreSQL uuid[] literal "{a,b}" of the valid UUIDs among ids (a JSON
 * array of strings); others are left out. Caller frees; NULL when out of memory. */
char *tn_uuid_array (const cJSON *ids);

#endif
