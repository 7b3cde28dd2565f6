/* receipts: billing.payments.receipt, a payment's printable receipt (收据):
 * GET /v1/properties/{pid}/payments/{payment_id}/receipt?layout=a5|thermal
 * answers {"content_type":"text/html; charset=utf-8","filename","text"},
 * which the gateway serves inline (GW_ROUTE_FILE). The page: the property's
 * name, the receipt number, the unit, the payer (the unit's owners and
 * tenants of record on the day paid), the amount in figures and in Chinese
 * capitals (receipt_rules.h), the method, what it paid (its bills, and the
 * rest as credit), the cashier (the user who recorded it) and the time in
 * the property's zone; a reversed payment's receipt is marked 作废 (void),
 * under the same number. Every stored text is HTML-escaped (html.h).
 * Roles: like billing.payments.get (bl_roles_readers). */
#ifndef BL_RECEIPTS_H
#define BL_RECEIPTS_H

#include "billing.h"

int bl_receipts_prepare (db_t *db);

void bl_payments_receipt (void *app, const env_request_t *req, env_reply_t *rep);
/* The receipt of payment id in pid, for a caller whose scope was checked
 * (the desk's route above, a resident's me.h): ?layout=, then the page, or
 * 404 "no such payment". */
void bl_receipt_reply (billing_t *app, const env_request_t *req, const char *pid, const char *id,
                       env_reply_t *rep);

#endif
