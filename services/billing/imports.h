/* imports: payments from a bank or payment platform statement (CSV:
 * unit_code,amount,method,external_ref,paid_at; the gateway hands it over as
 * UTF-8 text in "data"). Each good line is recorded as a payment
 * (bl_payment_record: allocated oldest bill first, the rest is credit), all
 * in one transaction; a line whose external_ref is known (or repeats an
 * earlier line) is a duplicate and records nothing, so a statement imported
 * twice is imported once. The reply is the per-line report plus the
 * reconciliation (对账) of the statement against the units:
 *   {"imported","duplicates","rejected","errors":[{"line","problem"}],
 *    "reconciliation":{"matched":[...],"unmatched":[...],"duplicates":[...]}}
 * matched: recorded lines (line, external_ref, unit_code, payment_id, amount);
 * unmatched: lines whose unit_code is not a unit of the property (also in
 * errors); duplicates: (line, external_ref, payment_id). A bad header or an
 * empty file is 422 with nothing imported. */
#ifndef BL_IMPORTS_H
#define BL_IMPORTS_H

#include "billing.h"

int bl_imports_prepare (db_t *db);

void bl_payments_import (void *app, const env_request_t *req, env_reply_t *rep);

#endif
