/* input_rules: the request bodies of billing's writing methods, checked
 * pure (no database, no clock), so tests/fuzz/fuzz_validators.c and
 * tests/unit/test_bl_inputs.c reach them. Each handler calls its input
 * function first (validate -> load -> decide -> store); what needs the
 * database (a unit of the property, a time zone PostgreSQL knows, the
 * deposit's amount) the handler checks after.
 *
 * The out structs borrow their strings from data (NULL when absent); each
 * function returns false after adding problems to v. */
#ifndef BL_INPUT_RULES_H
#define BL_INPUT_RULES_H

#include "jv.h"

#include <stdbool.h>
#include <stdint.h>

#define BL_FEE_CODE_MAX   64
#define BL_FEE_NAME_MAX   200
#define BL_FEE_USES_MAX   7
#define BL_FEE_USES_TEXT  256                /* room for every use once, as an array literal */
#define BL_PRICE_MAX      100000000000LL     /* fen; more is a typo */
#define BL_TIMEZONE_MAX   64

extern const char *const bl_unit_uses[];     /* the uses of tenants' units */
extern const char *const bl_fee_bases[];     /* per_area fixed parking */

/* billing.settings.put: each field optional; timezone is only a string
 * here (the handler asks PostgreSQL whether it names a zone). */
typedef struct {
    bool has_due_day, has_bps, has_grace, has_cap;
    int64_t due_day;                 /* 1..31 */
    int64_t bps;                     /* late_fee_bps_per_day 0..10000 */
    int64_t grace;                   /* late_fee_grace_days 0..365 */
    int64_t cap;                     /* late_fee_cap_bps 0..100000 */
    const char *timezone;
} bl_settings_input_t;
bool bl_settings_input (jv_t *v, const cJSON *data, bl_settings_input_t *in);

/* billing.fee_items.create: applies_to becomes a PostgreSQL array literal of
 * distinct known uses ("{}" for a parking item without it). */
typedef struct {
    const char *code, *name, *basis;
    int64_t unit_price;              /* fen, 0..BL_PRICE_MAX */
    char applies_to[BL_FEE_USES_TEXT];
    const char *effective_from;      /* NULL: the current month's first day */
} bl_fee_item_input_t;
bool bl_fee_item_input (jv_t *v, const cJSON *data, bl_fee_item_input_t *in);

/* billing.runs.create: {"period": "YYYY-MM"}. */
typedef struct {
    const char *period;
    int year, month;
} bl_run_input_t;
bool bl_run_input (jv_t *v, const cJSON *data, bl_run_input_t *in);

/* billing.charges.create: {"unit_id","amount","reason","due_date"?}. */
typedef struct {
    const char *unit_id;
    int64_t amount;                  /* fen, 1..BL_AMOUNT_MAX */
    const char *reason;
    const char *due_date;
} bl_charge_input_t;
bool bl_charge_input (jv_t *v, const cJSON *data, bl_charge_input_t *in);

/* billing.deposits.create: {"unit_id","amount","ticket_id"?}. */
typedef struct {
    const char *unit_id;
    int64_t amount;                  /* fen, 1..BL_AMOUNT_MAX */
    const char *ticket_id;
} bl_deposit_input_t;
bool bl_deposit_input (jv_t *v, const cJSON *data, bl_deposit_input_t *in);

/* billing.deposits.refund: no body (or null) refunds all; {"amount"?,
 * "reason"?}: whether amount is more than the deposit, and whether a partial
 * refund has its reason, the handler decides with the deposit loaded. */
typedef struct {
    bool has_amount;
    int64_t amount;                  /* fen, 0..BL_AMOUNT_MAX */
    const char *reason;
} bl_refund_input_t;
bool bl_refund_input (jv_t *v, const cJSON *data, bl_refund_input_t *in);

/* billing.payments.reverse and billing.late_fees.waive: {"reason"}. */
typedef struct {
    const char *reason;
} bl_reason_input_t;
bool bl_reason_input (jv_t *v, const cJSON *data, bl_reason_input_t *in);

#endif
