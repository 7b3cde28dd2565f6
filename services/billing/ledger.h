/* ledger: the append-only ledger's SQL (migration 002) and the one routine
 * that moves money onto bills: bl_ledger_settle. Every balance is derived
 * from rows (view bill_balances, view payment_remainders, unit_credit()).
 *
 * Concurrency: every writer of a unit's ledger first takes the unit's
 * transaction-scoped advisory lock (bl_ledger_lock_unit, which also holds the
 * property's ledger lock shared), then locks the unit's open bills FOR
 * UPDATE in allocation order; two payments for one unit therefore allocate
 * one after the other and never over-allocate a bill. A writer of the whole
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

/* Prepares the statements; 0 or -1. */
int bl_ledger_prepare (db_t *db);

/* Inside a transaction: waits for the unit's ledger lock. 0 or -1. */
int bl_ledger_lock_unit (db_t *db, const char *pid, const char *uid);

/* Inside a transaction: waits for every unit of the property (its ledger
 * lock exclusive). 0 or -1. */
int bl_ledger_lock_property (db_t *db, const char *pid);

/* Inside a transaction holding the unit's lock: pays the unit's open bills
 * (oldest first: due_date, issued_at, id) from its payments' remainders
 * (oldest first). Appends each allocation {"payment_id","bill_id","amount"}
 * to made (may be NULL). 0 or -1. */
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
