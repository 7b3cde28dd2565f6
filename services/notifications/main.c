/* pm-notifications: the notifications service worker. Connects to its schema
 * (applying migrations), follows the events of tenants, tickets and billing,
 * delivers what they cause (inbox, SMS, email, webhooks), registers with the
 * broker, and serves until SIGTERM. Also holds the small helpers every
 * handler shares (notifications.h). */
#include "notifications.h"

#include "announcements.h"
#include "delivery_log.h"
#include "events.h"
#include "inbox.h"
#include "preferences.h"
#include "rules.h"
#include "sender.h"
#include "templates.h"
#include "webhooks.h"

#include "config.h"
#include "curve.h"
#include "log.h"
#include "worker.h"
#include "zloop.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const worker_method_t s_methods[] = {
    /* methods */
    { "notifications.announcements.create", nt_announcements_create },
    { "notifications.announcements.list",   nt_announcements_list },
    { "notifications.announcements.get",    nt_announcements_get },
    { "notifications.preferences.get",      nt_preferences_get },
    { "notifications.preferences.put",      nt_preferences_put },
    { "notifications.log.list",             nt_log_list },
    { "notifications.inbox.list",           nt_inbox_list },
    { "notifications.inbox.count",          nt_inbox_count },
    { "notifications.inbox.read",           nt_inbox_read },
    { "notifications.inbox.read_all",       nt_inbox_read_all },
    { "notifications.rules.get",            nt_rules_get },
    { "notifications.rules.put",            nt_rules_put },
    { "notifications.templates.list",       nt_templates_list },
    { "notifications.templates.put",        nt_templates_put },
    { "notifications.templates.delete",     nt_templates_delete },
    { "notifications.webhooks.create",      nt_webhooks_create },
    { "notifications.webhooks.list",        nt_webhooks_list },
    { "notifications.webhooks.get",         nt_webhooks_get },
    { "notifications.webhooks.update",      nt_webhooks_update },
    { "notifications.webhooks.delete",      nt_webhooks_delete },
    { "notifications.webhooks.deliveries",  nt_webhooks_deliveries },
    { "notifications.webhooks.redeliver",   nt_webhooks_redeliver },
    { "notifications.webhooks.disable_for_key", nt_webhooks_disable_for_key },
    { "notifications.ping", nt_ping },
    { NULL, NULL }
};

void
nt_ping (void *app_, const env_request_t *req, env_reply_t *rep)
{
    (void) req;
    db_ping_reply (((nt_app_t *) app_)->db, "notifications", rep);
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
    log_init ("notifications");
    if (curve_init ("notifications") != 0)
        return EXIT_FAILURE;
    int rc = EXIT_FAILURE;
    nt_app_t app = { 0 };
    worker_t *worker = NULL;
    uv_loop_t *loop = uv_default_loop ();

    app.db = db_new ("notifications", config_db_dsn ("notifications"), pm_migrations);
    if (!app.db) {
        log_error (NULL, "cannot start without the database");
        goto out;
    }
    /* prepare: each module registers its statements here */
    if (nt_webhooks_prepare (app.db))
        goto out;
    if (nt_announcements_prepare (app.db) || nt_preferences_prepare (app.db) || nt_log_prepare (app.db))
        goto out;
    if (nt_events_prepare (app.db) || nt_rules_prepare (app.db) || nt_templates_prepare (app.db)
        || nt_inbox_prepare (app.db))
        goto out;
    worker = worker_new (loop, "notifications", s_methods, &app);
    if (!worker) {
        log_error (NULL, "cannot reach the broker at %s", config_broker_endpoint ());
        goto out;
    }
    /* consumers and the sender start here */
    app.tenants_events = consumer_new (loop, app.db, "notifications", "tenants", nt_events_apply, &app);
    app.tickets_events = consumer_new (loop, app.db, "notifications", "tickets", nt_events_apply, &app);
    app.billing_events = consumer_new (loop, app.db, "notifications", "billing", nt_events_apply, &app);
    if (!app.tenants_events || !app.tickets_events || !app.billing_events) {
        log_error (NULL, "cannot follow the events of tenants, tickets and billing");
        goto out;
    }
    app.sender = nt_sender_new (loop, &app);
    if (!app.sender) {
        log_error (NULL, "cannot start the sender");
        goto out;
    }
    zloop_handle_signals (loop, s_on_stop, worker);
    log_info (NULL, "serving notifications (pid %d)", (int) getpid ());
    uv_run (loop, UV_RUN_DEFAULT);
    rc = EXIT_SUCCESS;
out:
    /* consumers and the sender stop here */
    nt_sender_destroy (&app.sender);
    consumer_destroy (&app.tenants_events);
    consumer_destroy (&app.tickets_events);
    consumer_destroy (&app.billing_events);
    worker_destroy (&worker);
    uv_run (loop, UV_RUN_NOWAIT);                /* lets the close callbacks run */
    db_destroy (&app.db);
    log_info (NULL, "stopped");
    return rc;
}
