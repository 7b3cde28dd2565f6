/* pm-billing: the billing worker (service.h: start-up, shutdown). Its
 * methods, the statements of its modules, and what runs beside the worker:
 * the consumers of tenants' and tickets' events and the late fee job. */
#include "archive_copy.h"
#include "billing.h"
#include "billing_run.h"
#include "bills.h"
#include "charges.h"
#include "deposits.h"
#include "exports.h"
#include "fee_items.h"
#include "imports.h"
#include "late_fees.h"
#include "ledger.h"
#include "log.h"
#include "me.h"
#include "payments.h"
#include "receipts.h"
#include "reports.h"
#include "health.h"
#include "service.h"

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
    { "billing.payments.receipt", bl_payments_receipt },
    /* a resident's own (me.h) */
    { "billing.me.account",       bl_me_account },
    { "billing.me.payments",      bl_me_payments },
    { "billing.me.receipt",       bl_me_receipt },
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

static int
s_prepare (db_t *db)
{
    return bl_archive_prepare (db) || bl_fee_items_prepare (db) || bl_run_prepare (db)
           || bl_bills_prepare (db) || bl_ledger_prepare (db) || bl_payments_prepare (db)
           || bl_charges_prepare (db) || bl_deposits_prepare (db) || bl_late_fees_prepare (db)
           || bl_reports_prepare (db) || bl_imports_prepare (db) || bl_exports_prepare (db)
           || bl_receipts_prepare (db) || bl_me_prepare (db) ? -1 : 0;
}

/* Beside the worker: tenants' events into the archive copy, tickets' events
 * into charges and deposits, and the daily late fee job. */
static int
s_start (uv_loop_t *loop, void *app_)
{
    billing_t *app = app_;
    app->tenants_events = consumer_new (loop, app->db, "billing", "tenants", bl_archive_apply, app);
    if (!app->tenants_events) {
        log_error (NULL, "cannot follow tenants' events");
        return -1;
    }
    app->tickets_events = consumer_new (loop, app->db, "billing", "tickets", bl_tickets_apply, app);
    if (!app->tickets_events) {
        log_error (NULL, "cannot follow tickets' events");
        return -1;
    }
    app->late_fees = bl_late_fees_new (loop, app);
    return app->late_fees ? 0 : -1;
}

static void
s_stop (void *app_)
{
    billing_t *app = app_;
    consumer_destroy (&app->tenants_events);
    consumer_destroy (&app->tickets_events);
    job_destroy (&app->late_fees);
}

int
main (int argc, char **argv)
{
    if (argc > 1)                    /* `--check [ready|live]`: the probes (health.h) */
        return health_check_main ("billing", argc, argv);
    static billing_t app;
    return service_main (&(service_t) { .name = "billing", .methods = s_methods, .app = &app,
                                        .db = &app.db, .outbox = &app.outbox, .prepare = s_prepare,
                                        .start = s_start, .stop = s_stop });
}
