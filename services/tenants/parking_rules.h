/* parking_rules: what a valid parking space (车位) and parking lease (车位租赁)
 * are, and whether a lease may end on a given date. Pure functions (no
 * database), unit-tested in tests/unit/test_parking_rules.c. The CHECK
 * constraints of migrations/002_parties_occupancies_parking.sql mirror these
 * limits; the rule that one space is never leased twice over overlapping
 * dates is the database's (an exclusion constraint), so that no two
 * requests can race past it. */
#ifndef TN_PARKING_RULES_H
#define TN_PARKING_RULES_H

#include "jv.h"
#include <stdbool.h>
#include <stdint.h>

#define TN_SPACE_CODE_MAX   64       /* bytes of UTF-8, e.g. "B2-017" */
#define TN_ZONE_MAX         64       /* e.g. "B2", "地面" */
#define TN_MONTHLY_FEE_MAX  100000000000LL   /* fen: one billion yuan */

/* POST .../parking-spaces data, borrowed from the request. */
typedef struct {
    const char *code;
    const char *zone;                /* NULL when absent, null or "" */
} tn_space_input_t;

bool tn_space_input (jv_t *v, const cJSON *data, tn_space_input_t *out);

/* POST .../parking-leases data. The ids are UUIDs in canonical form; the
 * dates YYYY-MM-DD (end_date NULL = open-ended); fee in fen. */
typedef struct {
    const char *space_id;
    const char *party_id;
    const char *unit_id;             /* NULL when absent or null */
    const char *start_date;
    const char *end_date;            /* NULL when absent or null */
    int64_t monthly_fee;
    char fee_text[24];               /* monthly_fee as a decimal string */
} tn_lease_input_t;

/* Validates a lease; an end_date before start_date is a problem (a
 * one-day lease, end = start, is fine: both dates are included). */
bool tn_lease_input (jv_t *v, const cJSON *data, tn_lease_input_t *out);


/* What ending a lease on new_end would do. start, end: the lease's dates
 * (end NULL = open-ended); ended: it was ended before. */
typedef enum {
    TN_LEASE_END_OK = 0,
    TN_LEASE_END_ALREADY,            /* 409: it has ended already */
    TN_LEASE_END_BEFORE_START,       /* 422: new_end < start */
    TN_LEASE_END_AFTER_END           /* 422: new_end > its agreed end (ending never extends) */
} tn_lease_end_t;

tn_lease_end_t tn_lease_end_decide (const char *start, const char *end, bool ended,
                                    const char *new_end);

/* ?active=: NULL or "" = any (*out -1), "true" 1, "false" 0; false for
 * anything else. */
bool tn_active_parse (const char *s, int *out);

#endif
