/* me: a resident's bills and receipts (issue K; API.md, "Residents (issue
 * K)"; DESIGN.md, "Residents' scope"):
 *   billing.me.account   GET /v1/me/units/{uid}/account: the unit's account
 *                        as the desk sees it (bills.h), each bill without the
 *                        desk's fields (BL_ME_BILL_STAFF_FIELDS);
 *   billing.me.payments  GET /v1/me/units/{uid}/payments?limit=&cursor=
 *                        (and the desk list's from/to/status/method
 *                        filters): the unit's payments with their
 *                        receipt_number, newest first (payments.h);
 *   billing.me.receipt   GET /v1/me/payments/{id}/receipt?layout=: the
 *                        printable receipt (receipts.h), served inline by the
 *                        gateway (GW_ROUTE_FILE).
 * Role "resident" only. A unit is the resident's while billing's own copy of
 * the occupancies (fed by tenants' occupancy.* events) holds a current one
 * (end_date null) of the unit by one of the caller's party_ids: one
 * statement (bl_me_unit), checked at each request; anything else, a unit or
 * payment not theirs or not a UUID, is 404, as if it did not exist. */
#ifndef BL_ME_H
#define BL_ME_H

#include "billing.h"

/* What a resident's account leaves out of each bill: how the desk made it
 * (the run, the source and its reference) and whom it was addressed to. */
#define BL_ME_BILL_STAFF_FIELDS { "run_id", "source", "source_ref", "bill_to_party_id", NULL }

int bl_me_prepare (db_t *db);

void bl_me_account (void *app, const env_request_t *req, env_reply_t *rep);
void bl_me_payments (void *app, const env_request_t *req, env_reply_t *rep);
void bl_me_receipt (void *app, const env_request_t *req, env_reply_t *rep);

#endif
