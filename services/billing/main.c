/* pm-billing: the billing service worker. Connects to its schema (applying
 * migrations), follows tenants' events into its own copy of the archive,
 * registers with the broker, and serves until SIGTERM. Also holds the small
 * helpers every billing handler shares. */
#include "archive_copy.h"
#include "billing.h"
#include "billing_run.h"
#include "charges.h"
#include "deposits.h"
#include "exports.h"
#include "imports.h"
#include "late_fees.h"
#include "ledger.h"
#include "payments.h"
#include "reports.h"
#include "bills.h"
#include "config.h"
#include "fee_items.h"
#include "curve.h"
#include "log.h"
#include "worker.h"
#include "zloop.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const worker_method_t s_methods[] = {
    { "billing.settings.get",     bl_settings_get },
    { "billing.settings.put",     bl_settings_put },
    { "billing.fee_items.create", bl_fee_items_create },
    { "billing.fee_items.list",   bl_fee_items_list },
    { "billing.runs.create",      bl_runs_create },
    { "billing.runs.list",        bl_runs_list },
    { "billing.bills.list",       bl_bills_list },
    { "billing.bills.get",        bl_bills_get },
    { "billing.accounts.get",     bl_account_get },
    /* payments, credit, charges, deposits (pay: ledger.h) */
    { "billing.payments.create",  bl_payments_create },
    { "billing.payments.get",     bl_payments_get },
    { "billing.payments.list",    bl_payments_list },
    { "billing.payments.reverse", bl_payments_reverse },
    { "billing.payments.import",  bl_payments_import },
    { "billing.credit.apply",     bl_credit_apply },
    { "billing.charges.create",   bl_charges_create },
    { "billing.deposits.create",  bl_deposits_create },
    { "billing.deposits.get",     bl_deposits_get },
    { "billing.deposits.refund",  bl_deposits_refund },
    { "billing.late_fees.waive",  bl_late_fees_waive },
    { "billing.reports.collection", bl_reports_collection },
    { "billing.reports.arrears",  bl_reports_arrears },
    { "billing.exports.bills",    bl_exports_bills },
    { "billing.exports.payments", bl_exports_payments },
    { "billing.exports.ledger",   bl_exports_ledger },
    { "billing.events.read",      bl_events_read },
    { "billing.ping",             bl_ping },
    { NULL, NULL }
};

int
bl_property_known (billing_t *app, const char *pid, env_reply_t *rep, const env_request_t *req)
{
    PGresult *res = bl_settings_row (app->db, pid);
    int known = 0;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        known = 1;
    PQclear (res);
    return known;
}

void
bl_events_read (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    outbox_read (app->outbox, req, rep);
}

void
bl_ping (void *app_, const env_request_t *req, env_reply_t *rep)
{
    (void) req;
    db_ping_reply (((billing_t *) app_)->db, "billing", rep);
}

static void
s_on_stop (void *arg)
{
    worker_t *worker = arg;
    log_info (NULL, "stopping: finishing what is in flight");
    worker_stop (worker);
}

int
main (void)
{
    log_init ("billing");
    if (curve_init ("billing") != 0)
        return EXIT_FAILURE;
    int rc = EXIT_FAILURE;
    billing_t app = { 0 };
    worker_t *worker = NULL;
    uv_loop_t *loop = uv_default_loop ();

    app.db = db_new ("billing", config_db_dsn ("billing"), pm_migrations);
    if (!app.db) {
        log_error (NULL, "cannot start without the database");
        goto out;
    }
    if (bl_archive_prepare (app.db) || bl_fee_items_prepare (app.db) || bl_run_prepare (app.db)
        || bl_bills_prepare (app.db))
        goto out;
    if (bl_ledger_prepare (app.db) || bl_payments_prepare (app.db) || bl_charges_prepare (app.db)
        || bl_deposits_prepare (app.db) || bl_late_fees_prepare (app.db)
        || bl_reports_prepare (app.db) || bl_imports_prepare (app.db)
        || bl_exports_prepare (app.db))
        goto out;
    app.outbox = outbox_new (app.db, "billing");
    if (!app.outbox)
        goto out;
    worker = worker_new (loop, "billing", s_methods, &app);
    if (!worker) {
        log_error (NULL, "cannot reach the broker at %s", config_broker_endpoint ());
        goto out;
    }
    app.tenants_events = consumer_new (loop, app.db, "billing", "tenants", bl_archive_apply, &app);
    if (!app.tenants_events) {
        log_error (NULL, "cannot follow tenants' events");
        goto out;
    }
    app.tickets_events = consumer_new (loop, app.db, "billing", "tickets", bl_tickets_apply, &app);
    if (!app.tickets_events) {
        log_error (NULL, "cannot follow tickets' events");
        goto out;
    }
    app.late_fees = bl_late_fees_new (loop, &app);
    if (!app.late_fees)
        goto out;
    zloop_handle_signals (loop, s_on_stop, worker);
    log_info (NULL, "serving billing (pid %d)", (int) getpid ());
    uv_run (loop, UV_RUN_DEFAULT);
    rc = EXIT_SUCCESS;
out:
    consumer_destroy (&app.tenants_events);
    consumer_destroy (&app.tickets_events);
    bl_late_fees_destroy (&app.late_fees);
    worker_destroy (&worker);
    uv_run (loop, UV_RUN_NOWAIT);                /* lets the close callbacks run */
    outbox_destroy (&app.outbox);
    db_destroy (&app.db);
    log_info (NULL, "stopped");
    return rc;
}
