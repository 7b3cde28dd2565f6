/* alloc_rules: the money decisions of late fees and the checks of a
 * payment, pure (no database, no clock), unit-tested in
 * tests/unit/test_alloc_rules.c. Money is int64_t fen everywhere; nothing
 * here touches a float. (Allocation, which payments pay which bills, is SQL
 * only: BL_LEDGER_ALLOCATION_CTES of ledger.h.)
 *
 * - late fee (滞纳金): per day, overdue principal x rate_bps / 10000, rounded
 *   half-up to the fen, from the day after due_date + grace_days; the sum of
 *   every day's fee of a bill never exceeds cap_bps of its principal;
 * - input checks of a payment (amount, method). */
#ifndef BL_ALLOC_RULES_H
#define BL_ALLOC_RULES_H

#include "jv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BL_AMOUNT_MAX       100000000000LL   /* 10^9 yuan in fen: larger is a typo */
#define BL_REF_MAX          128              /* external_ref bytes */
#define BL_REASON_MAX       500
#define BL_CURRENCY         "CNY"

extern const char *const bl_payment_methods[];   /* cash bank_transfer wechat alipay card external */

/* x * bps / 10000 rounded half-up to the fen (x >= 0, 0 <= bps <= 100000). */
int64_t bl_bps_of (int64_t x, int64_t bps);

/* The late fee of one day for a bill: principal overdue (still unpaid) on a
 * day days_late days after its due date; grace_days without a fee; capped so
 * that already (the fees assessed before, waived ones included) plus the
 * result never pass cap_bps of original (the bill's amount). 0 when none. */
int64_t bl_late_fee_day (int64_t overdue, int64_t original, int days_late, int grace_days,
                         int rate_bps, int cap_bps, int64_t already);

/* A payment's body: {"unit_id","amount","method","external_ref"?,"paid_at"?}.
 * Fills the out pointers (borrowed from data); false after adding problems. */
typedef struct {
    const char *unit_id;
    int64_t amount;
    const char *method;
    const char *external_ref;       /* NULL when absent */
    const char *paid_at;            /* RFC 3339 timestamp or NULL */
} bl_payment_input_t;
bool bl_payment_input (jv_t *v, const cJSON *data, bl_payment_input_t *in);

/* A plausible RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)) or date
 * YYYY-MM-DD; the database has the last word on the calendar. */
bool bl_is_timestamp (const char *s);

#endif
