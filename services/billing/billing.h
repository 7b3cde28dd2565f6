/* billing: property fees (issue D). One worker process: one libuv loop, one
 * broker link, one PostgreSQL connection to schema "billing", and a consumer
 * of tenants' events that keeps billing's own copy of the archive. */
#ifndef BL_BILLING_H
#define BL_BILLING_H

#include "consumer.h"
#include "db.h"
#include "envelope.h"
#include "job.h"
#include "jv.h"
#include "outbox.h"
#include "page.h"

/* The data of bill.issued (and the start of bill.overdue's), proto/events.md:
 * SQL over b, a row with the columns of bills, and u, its unit (LEFT JOIN
 * units: NULL for a parking lease's own bill). One text for every bill made
 * outside a run (charges.c) and for bill.overdue (late_fees.c); the run's
 * statement builds the same keys from its own CTEs. */
#define BL_BILL_EVENT_DATA(b, u)                                                                  \
    "jsonb_build_object ('bill_id', " b ".id, 'unit_id', " b ".unit_id, 'unit_code', " u ".code, "  \
    "'parking_lease_id', " b ".parking_lease_id, 'bill_to_party_id', " b ".bill_to_party_id, "     \
    "'period', " b ".period, 'amount', " b ".amount, 'currency', " b ".currency, "                 \
    "'due_date', " b ".due_date, 'run_id', " b ".run_id, 'kind', " b ".kind, "                     \
    "'description', " b ".description)"

/* What every handler gets as its app pointer. Other modules of this service
 * may add fields at the end. */
typedef struct {
    db_t *db;
    outbox_t *outbox;
    consumer_t *tenants_events;      /* the archive copy's feed */
    consumer_t *tickets_events;      /* charges, renovation fees and deposits (charges.h) */
    job_t *late_fees;                /* the daily late fee job (late_fees.h) */
} billing_t;

/* billing.c: who reads bills, accounts, fee items, runs and the collection
 * report: the desk and the property's integration keys (admin manager agent
 * integration). Each handler checks its role itself (env_property_scope), as
 * the gateway does. */
extern const char *const bl_roles_readers[];

/* billing.c: True when the property is known to billing (seen in tenants'
 * events); else answers 404 (or the database's error) and returns 0. */
int bl_property_known (billing_t *app, const char *pid, env_reply_t *rep, const env_request_t *req);

/* billing.c: the service's own methods */
void bl_events_read (void *app, const env_request_t *req, env_reply_t *rep);
void bl_ping (void *app, const env_request_t *req, env_reply_t *rep);

#endif
