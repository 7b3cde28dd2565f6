/* ledger: the append-only ledger's SQL (migration 002), the allocation rule
 * (BL_LEDGER_ALLOCATION_CTES) and bl_ledger_settle, which runs it for a
 * unit's existing credit. Every balance is derived from rows (view
 * bill_balances, view payment_remainders, unit_credit()).
 *
 * Concurrency: every writer of a unit's ledger first takes the unit's
 * transaction-scoped advisory lock (bl_ledger_lock_unit, which also holds the
 * property's ledger lock shared), then locks the unit's bills FOR UPDATE;
 * two payments for one unit therefore allocate one after the other and never over-allocate a bill. A writer of the whole
 * property (the daily late fee job) takes the property's lock exclusive
 * (bl_ledger_lock_property): one lock however many units, where a lock per
 * unit filled PostgreSQL's lock table (max_locks_per_transaction) for a
 * property of thousands of units in arrears; payments of that property wait
 * for it meanwhile.
 *
 * Credit is used (bl_ledger_settle) when a payment arrives, when a charge,
 * deposit or late fee bill is created here, on POST .../units/{uid}/apply-credit,
 * and by bl_ledger_settle_property, which every bill run calls in its own
 * transaction after issuing its bills. */
#ifndef BL_LEDGER_H
#define BL_LEDGER_H

#include "db.h"

#include <cjson/cJSON.h>

/* The allocation rule, written here once and run by both statements that
 * move money onto bills (bl_ledger_settle's and the payment's, payments.c):
 * a unit's payments' remainders, oldest first (created_at, id), pay its open
 * bills, oldest first (due_date, issued_at, id), each payment used up before
 * the next; what no bill takes stays credit. Said set-based: payments and
 * bills laid end to end as intervals of money (lo: the sum of those before),
 * a (payment, bill) pair is paid what their two intervals share.
 *
 * SQL CTEs that read ob (id, due_date, issued_at, balance: the unit's bills
 * not void, balance = amount - allocations) and pr (id, created_at, rem: its
 * payments' remainders), defined by the statement before them, and define
 * pairs (payment_id, bill_id, amount, plo, blo); insert them ORDER BY plo,
 * blo to keep the allocations' ids in that order. Only the black-box suite
 * runs SQL: test_payments.py test_allocation_oldest_money_first holds it to
 * figures worked out by hand. */
#define BL_LEDGER_ALLOCATION_CTES                                                                  \
    " bo AS (SELECT id, balance, sum (balance) OVER (ORDER BY due_date, issued_at, id) - balance AS lo" \
    "        FROM ob WHERE balance > 0),"                                                          \
    " po AS (SELECT id, rem, sum (rem) OVER (ORDER BY created_at, id) - rem AS lo FROM pr WHERE rem > 0)," \
    " pairs AS (SELECT po.id AS payment_id, bo.id AS bill_id,"                                   \
    "             (least (po.lo + po.rem, bo.lo + bo.balance) - greatest (po.lo, bo.lo))::bigint AS amount," \
    "             po.lo AS plo, bo.lo AS blo"                                                      \
    "           FROM po JOIN bo ON po.lo < bo.lo + bo.balance AND bo.lo < po.lo + po.rem)"

/* The fields of a Payment document (openapi Payment) every statement that
 * reads one answers alike: id, receipt_number .. source, status, reversal and allocations
 * (per bill, net of reversals, first allocated first). SQL over p, a
 * payments row, and r, its payment_reversals row (LEFT JOIN), inside a
 * json_build_object (...). */
#define BL_PAYMENT_JSON_FIELDS                                                                     \
    "'id', p.id, 'receipt_number', p.receipt_number, 'property_id', p.property_id, 'unit_id', p.unit_id," \
    " 'amount', p.amount, 'currency', p.currency, 'method', p.method, 'external_ref', p.external_ref," \
    " 'paid_at', " DB_UTC_TS ("p.paid_at") ", 'created_at', " DB_UTC_TS ("p.created_at") ","       \
    " 'source', p.source, 'status', CASE WHEN r.id IS NULL THEN 'received' ELSE 'reversed' END,"   \
    " 'reversal', CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object ('id', r.id, 'reason', r.reason," \
    "    'created_at', " DB_UTC_TS ("r.created_at") ") END,"                                       \
    " 'allocations', COALESCE ((SELECT json_agg (json_build_object ('bill_id', x.bill_id, 'amount', x.amount)" \
    "                                            ORDER BY x.first)"                                \
    "                           FROM (SELECT bill_id, sum (amount) AS amount, min (id) AS first"  \
    "                                 FROM allocations WHERE payment_id = p.id"                   \
    "                                 GROUP BY bill_id HAVING sum (amount) <> 0) x), '[]'::json)"

/* Prepares the statements; 0 or -1. */
int bl_ledger_prepare (db_t *db);

/* Inside a transaction: waits for the unit's ledger lock. 0 or -1. */
int bl_ledger_lock_unit (db_t *db, const char *pid, const char *uid);

/* Inside a transaction: waits for every unit of the property (its ledger
 * lock exclusive). 0 or -1. */
int bl_ledger_lock_property (db_t *db, const char *pid);

/* Inside a transaction holding the unit's lock: pays the unit's open bills
 * from its payments' remainders (BL_LEDGER_ALLOCATION_CTES), in one
 * statement. Appends each allocation {"payment_id","bill_id","amount"} to
 * made (may be NULL), in the rule's order. 0 or -1. */
int bl_ledger_settle (db_t *db, const char *pid, const char *uid, cJSON *made);

/* Settles every unit of the property that has both credit and an open bill
 * (inside the caller's transaction; takes the property's lock when there is
 * one). 0 or -1. */
int bl_ledger_settle_property (db_t *db, const char *pid);

/* The unit's credit (fen), or -1 on a database error. */
long long bl_ledger_credit (db_t *db, const char *pid, const char *uid);

/* True (1) when the unit is in billing's copy of the archive for this
 * property, 0 when not, -1 on a database error. */
int bl_ledger_unit_known (db_t *db, const char *pid, const char *uid);

/* The payment's document (see openapi Payment) or NULL (none, or error: then
 * *err is set). Caller cJSON_Deletes. */
cJSON *bl_ledger_payment_json (db_t *db, const char *pid, const char *id, bool *err);

#endif
