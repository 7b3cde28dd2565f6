/* payments: billing.payments.* and billing.credit.apply (issue D item 5),
 * the handlers over ledger.h. Roles: payments by admin, manager, agent and
 * integration; reversals by admin and manager. */
#ifndef BL_PAYMENTS_H
#define BL_PAYMENTS_H

#include "alloc_rules.h"
#include "billing.h"

int bl_payments_prepare (db_t *db);

void bl_payments_create (void *app, const env_request_t *req, env_reply_t *rep);
void bl_payments_get (void *app, const env_request_t *req, env_reply_t *rep);
void bl_payments_reverse (void *app, const env_request_t *req, env_reply_t *rep);
void bl_credit_apply (void *app, const env_request_t *req, env_reply_t *rep);

/* Records one payment inside the caller's transaction (which holds nothing
 * yet): takes the unit's lock, inserts (or finds the payment of the same
 * external_ref), settles the unit, writes payment.received. *id gets the
 * payment's id (37 bytes); *duplicate is true when external_ref was known
 * (nothing was written). 0, or -1 after a database error. Shared by the
 * HTTP handler and the CSV import. */
int bl_payment_record (billing_t *app, const char *pid, const bl_payment_input_t *in, const char *by,
                       const char *source, char id[37], bool *duplicate, cJSON **existing);

#endif
