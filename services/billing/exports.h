/* exports: bills, payments and the ledger of a period for an accounting or
 * payment system, as CSV (UTF-8 with a byte order mark so that Excel opens
 * it as UTF-8, CRLF line ends, every field quoted) or JSON. The CSV travels
 * as {"content_type","filename","text"}: the gateway's GW_ROUTE_FILE routes
 * send the text itself with that Content-Type.
 *
 * period YYYY-MM: bills of that period; payments paid in it and ledger
 * entries made in it (the property's time zone). Ledger entries, signed from
 * the unit's side (what it owes grows +, shrinks -): bill (+amount),
 * payment (-amount, money in), reversal (+amount), void (-balance voided is
 * not money: the bill's amount, -), deposit_refund (+amount given back);
 * allocations are listed with their sign but move nothing between the unit
 * and the property (they match money to bills). */
#ifndef BL_EXPORTS_H
#define BL_EXPORTS_H

#include "billing.h"

int bl_exports_prepare (db_t *db);

void bl_exports_bills (void *app, const env_request_t *req, env_reply_t *rep);
void bl_exports_payments (void *app, const env_request_t *req, env_reply_t *rep);
void bl_exports_ledger (void *app, const env_request_t *req, env_reply_t *rep);

#endif
