/* deposits: renovation deposits (装修押金). A deposit is charged as a bill of
 * kind deposit (paid like any bill); it is held until refunded, fully or
 * less deductions (with a reason), once. Refunding needs the deposit paid. */
#ifndef BL_DEPOSITS_H
#define BL_DEPOSITS_H

#include "billing.h"

int bl_deposits_prepare (db_t *db);

/* Inside the caller's transaction: a deposit (and its bill) on the unit;
 * a ticket's deposit is made once. id gets the deposit's id. 1 created,
 * 0 already there, -1 on error. */
int bl_deposit_insert (db_t *db, const char *pid, const char *uid, long long amount, const char *ticket_id,
                       const char *by, char id[37]);

/* Inside the caller's transaction: refunds the held, paid deposit of the
 * ticket in full (renovation accepted). 1 refunded, 0 nothing to refund, -1 error. */
int bl_deposit_refund_ticket (billing_t *app, const char *pid, const char *ticket_id);

void bl_deposits_create (void *app, const env_request_t *req, env_reply_t *rep);
void bl_deposits_get (void *app, const env_request_t *req, env_reply_t *rep);
void bl_deposits_refund (void *app, const env_request_t *req, env_reply_t *rep);

#endif
