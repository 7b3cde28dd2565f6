/* bills: the read side of billing: bills with their derived status, one bill
 * with its lines, and a unit's account. A bill stores no status: unpaid,
 * partially_paid, paid or void come from the view bill_balances (payments'
 * allocations and voids), and a unit's credit from unit_credit (); both are
 * defined by the migrations, so this module never changes when they do. */
#ifndef BL_BILLS_H
#define BL_BILLS_H

#include "billing.h"

extern const char *const bl_bill_statuses[];     /* unpaid partially_paid paid void */

int bl_bills_prepare (db_t *db);

void bl_bills_list (void *app, const env_request_t *req, env_reply_t *rep);
void bl_bills_get (void *app, const env_request_t *req, env_reply_t *rep);
void bl_account_get (void *app, const env_request_t *req, env_reply_t *rep);
/* The account of a unit whose scope the caller has checked (the desk's
 * billing.accounts.get, a resident's me.h): 200 with the document, 404 "no
 * such unit" when billing's copy has no such unit in pid. */
void bl_account_reply (billing_t *app, const env_request_t *req, const char *pid, const char *uid,
                       env_reply_t *rep);

/* A list cursor's key "<YYYY-MM-DD>~<uuid>" (bills by due date, the arrears
 * report by oldest due date) into its halves; false when it is not one. */
bool bl_cursor_date_id (const char *key, char date[11], char id[37]);

#endif
