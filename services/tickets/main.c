/* pm-tickets: the tickets worker (the service desk). Connects to its schema
 * (applying migrations), follows tenants' events into its copy of units,
 * parties and occupancies (tenants_copy.h), starts the SLA timer, registers
 * with the broker, and serves until SIGTERM. */
#include "config.h"
#include "consumer.h"
#include "faq.h"
#include "curve.h"
#include "log.h"
#include "roster.h"
#include "sla.h"
#include "tenants_copy.h"
#include "ticket_store.h"
#include "tickets.h"
#include "tk_clock.h"
#include "worker.h"
#include "zloop.h"

#include <stdlib.h>
#include <unistd.h>

static const worker_method_t s_methods[] = {
    { "tickets.create",           tk_tickets_create },
    { "tickets.list",             tk_tickets_list },
    { "tickets.get",              tk_tickets_get },
    { "tickets.actions.create",   tk_actions_create },
    { "tickets.comments.create",  tk_comments_create },
    { "tickets.feedback.create",  tk_feedback_create },
    { "tickets.callbacks.list",   tk_callbacks_list },
    /* SLA, roster, FAQ, reports (sla.h, roster.h, faq.h) */
    { "tickets.sla.policies.get",       sla_policies_get },
    { "tickets.sla.policies.put",       sla_policies_put },
    { "tickets.sla.calendars.create",   sla_calendars_create },
    { "tickets.sla.calendars.list",     sla_calendars_list },
    { "tickets.sla.calendars.get",      sla_calendars_get },
    { "tickets.sla.calendars.update",   sla_calendars_update },
    { "tickets.roster.shifts.create",   roster_shifts_create },
    { "tickets.roster.shifts.list",     roster_shifts_list },
    { "tickets.roster.shifts.delete",   roster_shifts_delete },
    { "tickets.roster.gaps",            roster_gaps },
    { "tickets.faq.create",             faq_create },
    { "tickets.faq.search",             faq_search },
    { "tickets.faq.get",                faq_get },
    { "tickets.faq.update",             faq_update },
    { "tickets.reports.service",        tk_reports_service },
    { "tickets.events.read",      tk_events_read },
    { "tickets.ping",             tk_ping },
    { NULL, NULL }
};

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
    log_init ("tickets");
    if (curve_init ("tickets") != 0)
        return EXIT_FAILURE;
    int rc = EXIT_FAILURE;
    tickets_t app = { 0 };
    worker_t *worker = NULL;
    sla_timer_t *timer = NULL;
    consumer_t *tenants_events = NULL;
    uv_loop_t *loop = uv_default_loop ();

    app.callback_after_s = 60 * config_int ("PM_CALLBACK_AFTER_MINUTES",
                                            TK_CALLBACK_AFTER_MIN_DEFAULT, 0, 525600);
    app.db = db_new ("tickets", config_db_dsn ("tickets"), pm_migrations);
    if (!app.db) {
        log_error (NULL, "cannot start without the database");
        goto out;
    }
    if (tk_clock_init (app.db) || tk_store_prepare (app.db) || sla_prepare (app.db)
        || tk_copy_prepare (app.db))
        goto out;
    app.outbox = outbox_new (app.db, "tickets");
    if (!app.outbox)
        goto out;
    tenants_events = consumer_new (loop, app.db, "tickets", "tenants", tk_copy_apply, &app);
    if (!tenants_events)
        goto out;
    timer = sla_timer_new (loop, app.db, app.outbox);
    if (!timer)
        goto out;
    worker = worker_new (loop, "tickets", s_methods, &app);
    if (!worker) {
        log_error (NULL, "cannot reach the broker at %s", config_broker_endpoint ());
        goto out;
    }
    zloop_handle_signals (loop, s_on_stop, worker);
    log_info (NULL, "serving tickets (pid %d)", (int) getpid ());
    uv_run (loop, UV_RUN_DEFAULT);
    rc = EXIT_SUCCESS;
out:
    worker_destroy (&worker);
    sla_timer_destroy (&timer);
    consumer_destroy (&tenants_events);
    uv_run (loop, UV_RUN_NOWAIT);                /* lets the close callbacks run */
    outbox_destroy (&app.outbox);
    db_destroy (&app.db);
    log_info (NULL, "stopped");
    return rc;
}
