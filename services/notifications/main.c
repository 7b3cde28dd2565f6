/* pm-notifications: the notifications worker (service.h: start-up,
 * shutdown). Its methods, the statements of its modules, and what runs beside
 * the worker: the consumers of tenants', tickets' and billing's events, which
 * turn them into deliveries (inbox, SMS, email, webhooks), and the sender. */
#include "notifications.h"

#include "activities.h"
#include "announcements.h"
#include "delivery_log.h"
#include "events.h"
#include "inbox.h"
#include "me.h"
#include "preferences.h"
#include "reminders.h"
#include "rules.h"
#include "sender.h"
#include "templates.h"
#include "webhooks.h"

#include "log.h"
#include "health.h"
#include "service.h"

static void
s_ping (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) req;
    db_ping_reply (((nt_app_t *) app)->db, "notifications", rep);
}

static const worker_method_t s_methods[] = {
    { "notifications.announcements.create", nt_announcements_create },
    { "notifications.announcements.list",   nt_announcements_list },
    { "notifications.announcements.get",    nt_announcements_get },
    { "notifications.activities.create",       nt_activities_create },
    { "notifications.activities.list",         nt_activities_list },
    { "notifications.activities.get",          nt_activities_get },
    { "notifications.activities.update",       nt_activities_update },
    { "notifications.activities.cancel",       nt_activities_cancel },
    { "notifications.activities.registrations", nt_activities_registrations },
    { "notifications.activities.attendance",   nt_activities_attendance },
    { "notifications.activities.register",     nt_activities_register },
    { "notifications.activities.unregister",   nt_activities_unregister },
    { "notifications.activities.report",       nt_activities_report },
    { "notifications.me.announcements",     nt_me_announcements },
    { "notifications.me.activities",        nt_me_activities },
    { "notifications.me.register",          nt_me_register },
    { "notifications.me.unregister",        nt_me_unregister },
    { "notifications.me.preferences.get",   nt_me_preferences_get },
    { "notifications.me.preferences.put",   nt_me_preferences_put },
    { "notifications.me.notifications",      nt_me_notifications },
    { "notifications.me.notifications.read", nt_me_notification_read },
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
    { "notifications.sms.send",             nt_sms_send },
    { "notifications.ping",                 s_ping },
    { NULL, NULL }
};

static int
s_prepare (db_t *db)
{
    return nt_webhooks_prepare (db) || nt_announcements_prepare (db) || nt_preferences_prepare (db)
           || nt_log_prepare (db) || nt_events_prepare (db) || nt_rules_prepare (db)
           || nt_templates_prepare (db) || nt_inbox_prepare (db) || nt_activities_prepare (db) || nt_me_prepare (db)
           || nt_reminders_prepare (db) ? -1 : 0;
}

/* the activity reminders' job (reminders.h) */
static job_t *s_reminders;

/* Beside the worker: a consumer per producer, the sender, and the reminders. */
static int
s_start (uv_loop_t *loop, void *app_)
{
    nt_app_t *app = app_;
    app->tenants_events = consumer_new (loop, app->db, "notifications", "tenants", nt_events_apply, app);
    app->tickets_events = consumer_new (loop, app->db, "notifications", "tickets", nt_events_apply, app);
    app->billing_events = consumer_new (loop, app->db, "notifications", "billing", nt_events_apply, app);
    if (!app->tenants_events || !app->tickets_events || !app->billing_events) {
        log_error (NULL, "cannot follow the events of tenants, tickets and billing");
        return -1;
    }
    app->sender = nt_sender_new (loop, app);
    if (!app->sender) {
        log_error (NULL, "cannot start the sender");
        return -1;
    }
    s_reminders = nt_reminders_new (loop, app);
    if (!s_reminders) {
        log_error (NULL, "cannot start the activity reminders");
        return -1;
    }
    return 0;
}

static void
s_stop (void *app_)
{
    nt_app_t *app = app_;
    job_destroy (&s_reminders);
    nt_sender_destroy (&app->sender);
    consumer_destroy (&app->tenants_events);
    consumer_destroy (&app->tickets_events);
    consumer_destroy (&app->billing_events);
}

int
main (int argc, char **argv)
{
    if (argc > 1)                    /* `--check [ready|live]`: the probes (health.h) */
        return health_check_main ("notifications", argc, argv);
    static nt_app_t app;
    return service_main (&(service_t) { .name = "notifications", .methods = s_methods, .app = &app,
                                        .db = &app.db, .prepare = s_prepare, .start = s_start,
                                        .stop = s_stop });
}
