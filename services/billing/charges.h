/* charges: bills outside the bill run: manual charges by a
 * manager, paid repairs and renovation fees from tickets' events, deposits
 * and late fees all land here as bills of kind charge, deposit or late_fee.
 * (property_id, source, source_ref) is unique (for bills with a source): a
 * charge whose origin was seen before is not created again, however often
 * its event arrives. Each new bill raises bill.issued from the statement
 * that inserts it (proto/events.md: the run's data shape), billed to the
 * unit's occupant of its due date (owner first, as in a run). */
#ifndef BL_CHARGES_H
#define BL_CHARGES_H

#include "billing.h"

int bl_charges_prepare (db_t *db);

/* Inside the caller's transaction: a bill of kind on the unit, due today
 * (the property's timezone) unless due_date. id gets the bill's id (new or
 * the existing one of the same source and source_ref). 1 created, 0 already
 * there, -1 on a database error. */
int bl_charge_insert (db_t *db, const char *pid, const char *uid, const char *kind, long long amount,
                      const char *source, const char *source_ref, const char *description,
                      const char *due_date, char id[37]);

/* The document of a bill this file made: {"id","unit_id","kind","amount",
 * "currency","due_date","description","status","balance"}; NULL on error. */
cJSON *bl_charge_json (db_t *db, const char *pid, const char *bill_id);

void bl_charges_create (void *app, const env_request_t *req, env_reply_t *rep);

/* The consumer of tickets' events (consumer_apply_fn, app = billing_t):
 * ticket.fee_charged -> a charge bill (paid repair, 有偿维修);
 * ticket.renovation_approved -> the management fee as a charge and the
 * deposit (held); ticket.renovation_accepted -> the paid deposit refunded in
 * full (a deduction is a manager's refund by hand before the acceptance).
 * Each lands once: processed_events and (source, source_ref). An event
 * without a unit billing knows is skipped with a warning. */
int bl_tickets_apply (void *app, db_t *db, const cJSON *event, const char *rid);

#endif
