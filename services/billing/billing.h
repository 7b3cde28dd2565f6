/* billing: property fees. One worker process: one libuv loop, one
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

/* billing.c: True when the unit is in billing's copy of the property; else
 * answers 422 validation_failed ("unit_id": no such unit in this property)
 * with message, or the database's error, and returns false. */
bool bl_unit_known (billing_t *app, const char *pid, const char *uid, const char *message, env_reply_t *rep,
                    const env_request_t *req);

/* billing.c: Opens a transaction on the unit a ledger row belongs to:
 * statement stmt ($1 property, $2 the row's id) gives the unit in column 0,
 * into uid; then takes the unit's ledger lock (bl_ledger_lock_unit). True
 * with the transaction open; else rolls back, answers 404 "no such <what>"
 * or the database's error, and returns false. */
bool bl_begin_on_unit (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *stmt,
                       const char *pid, const char *id, const char *what, char uid[37]);

/* billing.c: A document SQL builds of a property billing knows: 404 when it
 * does not (bl_property_known), else 200 with column 0 of row 0 of
 * statement stmt run with params[0..n) (db_reply_json). */
void bl_reply_property_doc (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                            const char *stmt, int n, const char **params);

/* billing.c: The answer of a list whose query parameters were checked into
 * v (page_params among them): 422 with v's problems, 404 for a property
 * billing does not know, else the page (page_json_rows: column 0 the item,
 * columns 1 and 2 the cursor's key) of statement stmt run with params[0..n),
 * where this fills the last, params[n - 1], with limit + 1. */
void bl_reply_page (billing_t *app, const env_request_t *req, env_reply_t *rep, jv_t *v, const char *pid,
                    const char *stmt, int n, const char **params, int limit);

/* billing.c: the service's own methods */
void bl_events_read (void *app, const env_request_t *req, env_reply_t *rep);
void bl_ping (void *app, const env_request_t *req, env_reply_t *rep);

#endif
