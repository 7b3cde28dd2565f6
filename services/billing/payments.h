/* payments: billing.payments.* and billing.credit.apply,
 * the handlers over ledger.h. Roles: payments by admin, manager, agent and
 * integration; reversals by admin and manager. */
#ifndef BL_PAYMENTS_H
#define BL_PAYMENTS_H

#include "alloc_rules.h"
#include "billing.h"

int bl_payments_prepare (db_t *db);

void bl_payments_create (void *app, const env_request_t *req, env_reply_t *rep);
void bl_payments_get (void *app, const env_request_t *req, env_reply_t *rep);
/* billing.payments.list: GET .../payments?unit_id=&from=&to=&status=&method=
 * &external_ref=&limit=&cursor=, newest paid_at first; from/to are dates in
 * the property's time zone, both included. */
void bl_payments_list (void *app, const env_request_t *req, env_reply_t *rep);
/* The same list in a property the caller's scope was checked for; with unit
 * not NULL, that unit's payments only (?unit_id is then ignored): a
 * resident's (me.h). */
void bl_payments_list_unit (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                            const char *unit);
void bl_payments_reverse (void *app, const env_request_t *req, env_reply_t *rep);
void bl_credit_apply (void *app, const env_request_t *req, env_reply_t *rep);

/* Records one payment inside the caller's transaction (which holds no
 * unit's lock yet): takes the property's receipt lock (to the commit) and
 * the unit's lock, checks the unit, inserts (or finds the payment of the
 * same external_ref) with the next receipt number of its property and year
 * (gapless: 004_receipts.sql), allocates it and writes payment.received, in
 * one statement (bl_pay_record). *id gets the payment's
 * id (37 bytes); *duplicate is true when external_ref was known (nothing was
 * written; *existing then holds its "unit_id" and "amount"); *doc (when doc
 * is not NULL) the new payment's document, the event's data. 0, 1 when the
 * property has no such unit (nothing written), or -1 after a database error.
 * Shared by the HTTP handler and the CSV import. */
int bl_payment_record (billing_t *app, const char *pid, const bl_payment_input_t *in, const env_caller_t *by,
                       const char *source, char id[37], bool *duplicate, cJSON **existing, cJSON **doc);

#endif
