/* reports: the collection report (收缴率) and the dunning list (催缴),
 * derived from the ledger alone (bill_balances, allocations, payments).
 *
 * Collection for a period: billed = the amounts of the period's bills
 * (periodic, charges, late fees; not deposits, not void ones); collected =
 * what is allocated to those bills now; collection_rate = collected / billed
 * as a string with 4 decimals ("0.8523", half-up, integer arithmetic) and
 * collection_rate_bps (8523); both null when nothing was billed. received =
 * the money that came in during the period (payments by paid_at in the
 * property's time zone, less reversed ones), whatever it paid.
 * arrears_by_age: every bill's unpaid balance past its due date as of today
 * (property's time zone), by days overdue: 0_30 (1..30), 31_90, 91_180,
 * over_180.
 *
 * Dunning list: units with an overdue balance, the oldest overdue first,
 * each with its current occupants' names and phones: whole for managers
 * and admins, phones masked ("138****5678") for everyone else. */
#ifndef BL_REPORTS_H
#define BL_REPORTS_H

#include "billing.h"

int bl_reports_prepare (db_t *db);

void bl_reports_collection (void *app, const env_request_t *req, env_reply_t *rep);
void bl_reports_arrears (void *app, const env_request_t *req, env_reply_t *rep);

/* True when s is a billing period YYYY-MM (month 01..12). Pure. */
bool bl_is_period (const char *s);

#endif
