/* bills: the read side of billing: bills with their derived status, one bill
 * with its lines, and a unit's account. A bill stores no status: unpaid,
 * partially_paid, paid or void come from the view bill_balances (payments'
 * allocations and voids), and a unit's credit from unit_credit (); both are
 * defined by the migrations, so this module never changes when they do. */
#ifndef BL_BILLS_H
#define BL_BILLS_H

#include "billing.h"

#define BL_LIMIT_DEFAULT 50
#define BL_LIMIT_MAX     500

extern const char *const bl_bill_statuses[];     /* unpaid partially_paid paid void */

int bl_bills_prepare (db_t *db);

#endif
