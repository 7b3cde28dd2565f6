/* pm-tickets: the tickets worker, the service desk (service.h: start-up,
 * shutdown). Its methods, the statements of its modules, and what runs
 * beside the worker: the consumer of tenants' events into its copy of
 * units, parties and occupancies (tenants_copy.h), and the SLA timer. */
#include "attachments.h"
#include "cases.h"
#include "config.h"
#include "consumer.h"
#include "daily_checks.h"
#include "contractors.h"
#include "faq.h"
#include "log.h"
#include "me_tickets.h"
#include "patrols.h"
#include "performance.h"
#include "release_pass.h"
#include "reports.h"
#include "roster.h"
#include "health.h"
#include "service.h"
#include "sla.h"
#include "sla_timer.h"
#include "tenants_copy.h"
#include "ticket_store.h"
#include "tickets.h"
#include "tk_clock.h"
#include "stored_items.h"
#include "vehicle_passes.h"
#include "me_visitors.h"
#include "visitors.h"

static const worker_method_t s_methods[] = {
    { "tickets.create",           tk_tickets_create },
    { "tickets.list",             tk_tickets_list },
    { "tickets.get",              tk_tickets_get },
    { "tickets.actions.create",   tk_actions_create },
    { "tickets.comments.create",  tk_comments_create },
    { "tickets.attachments.create", tk_attachments_create },
    { "tickets.attachments.list", tk_attachments_list },
    { "tickets.attachments.get",  tk_attachments_get },
    { "tickets.feedback.create",  tk_feedback_create },
    { "tickets.callbacks.list",   tk_callbacks_list },
    { "tickets.pass.get",         tk_pass_get },
    /* SLA, roster, FAQ, reports (sla.h, roster.h, faq.h, reports.h) */
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
    /* service quality (issue L): patrols (patrols.h) */
    { "tickets.patrol_routes.create",   patrol_routes_create },
    { "tickets.patrol_routes.list",     patrol_routes_list },
    { "tickets.patrol_routes.get",      patrol_routes_get },
    { "tickets.patrol_routes.update",   patrol_routes_update },
    { "tickets.patrols.create",         patrols_create },
    { "tickets.patrols.list",           patrols_list },
    { "tickets.patrols.get",            patrols_get },
    { "tickets.patrols.finish",         patrols_finish },
    { "tickets.patrols.checks.create",  patrol_checks_create },
    { "tickets.patrols.attachments.create", patrol_attachments_create },
    { "tickets.patrols.attachments.get",    patrol_attachments_get },
    { "tickets.reports.patrol",         patrol_report },
    /* contractors and inspections (contractors.h) */
    { "tickets.contractors.create",     contractors_create },
    { "tickets.contractors.list",       contractors_list },
    { "tickets.contractors.get",        contractors_get },
    { "tickets.contractors.update",     contractors_update },
    { "tickets.contractors.trend",      contractors_trend },
    { "tickets.contractor_settings.get", contractor_settings_get },
    { "tickets.contractor_settings.put", contractor_settings_put },
    { "tickets.inspections.create",     inspections_create },
    { "tickets.inspections.list",       inspections_list },
    { "tickets.inspections.get",        inspections_get },
    { "tickets.reports.contractors",    contractors_report },
    /* typical cases and daily checks (cases.h, daily_checks.h) */
    { "tickets.cases.create",           cases_create },
    { "tickets.cases.list",             cases_list },
    { "tickets.cases.get",              cases_get },
    { "tickets.cases.faq",              cases_to_faq },
    { "tickets.daily_check_items.get",  daily_check_items_get },
    { "tickets.daily_check_items.put",  daily_check_items_put },
    { "tickets.daily_checks.create",    daily_checks_create },
    { "tickets.daily_checks.list",      daily_checks_list },
    /* per-person performance and the satisfaction index (performance.h) */
    { "tickets.reports.agents",         perf_reports_agents },
    { "tickets.reports.agents.get",     perf_reports_agent },
    { "tickets.reports.satisfaction",   perf_reports_satisfaction },
    { "tickets.events.read",      tk_events_read },
    { "tickets.ping",             tk_ping },
    /* the desk's registers (visitors.h, stored_items.h, vehicle_passes.h) */
    { "tickets.visitors.create",        visitors_create },
    { "tickets.visitors.list",          visitors_list },
    { "tickets.visitors.get",           visitors_get },
    { "tickets.visitors.check_in",      visitors_check_in },
    { "tickets.visitors.check_out",     visitors_check_out },
    { "tickets.visitors.export",        visitors_export },
    { "tickets.me.visitors.create",     me_visitors_create },
    { "tickets.desk_settings.get",      desk_settings_get },
    { "tickets.desk_settings.put",      desk_settings_put },
    { "tickets.stored_items.create",    stored_items_create },
    { "tickets.stored_items.list",      stored_items_list },
    { "tickets.stored_items.release",   stored_items_release },
    { "tickets.vehicle_passes.create",  vehicle_passes_create },
    { "tickets.vehicle_passes.list",    vehicle_passes_list },
    { "tickets.vehicle_passes.check",   vehicle_passes_check },
    { "tickets.vehicle_passes.revoke",  vehicle_passes_revoke },
    /* a resident's own tickets (me_tickets.h) */
    { "tickets.me.tickets.create",      tk_me_tickets_create },
    { "tickets.me.tickets.list",        tk_me_tickets_list },
    { "tickets.me.tickets.get",         tk_me_tickets_get },
    { "tickets.me.tickets.feedback",    tk_me_feedback_create },
    { "tickets.me.tickets.attachments.create", tk_me_attachments_create },
    { "tickets.me.tickets.attachments.list",   tk_me_attachments_list },
    { "tickets.me.tickets.attachments.get",    tk_me_attachments_get },
    { "tickets.me.tickets.approve",     tk_me_approve },
    { "tickets.me.tickets.refuse",      tk_me_refuse },
    { NULL, NULL }
};

/* The test clock first: the other modules read "now" from it. */
static int
s_prepare (db_t *db)
{
    return tk_clock_init (db) || tk_store_prepare (db) || tk_copy_prepare (db) || sla_prepare (db)
           || sla_timer_prepare (db) || roster_prepare (db) || faq_prepare (db)
           || tk_reports_prepare (db) || tk_pass_prepare (db) || visitors_prepare (db) || me_visitors_prepare (db)
           || stored_items_prepare (db) || vehicle_passes_prepare (db)
           || patrols_prepare (db)
           || contractors_prepare (db)
           || cases_prepare (db) || daily_checks_prepare (db)
           || perf_prepare (db)
           || tk_attachments_prepare (db) || tk_me_prepare (db) ? -1 : 0;
}

/* What runs beside the worker. */
static struct {
    consumer_t *tenants_events;
    job_t *sla_timer;
    job_t *visitor_purge;
    job_t *patrol_timer;
} s_beside;

/* tenants' events into the copy, and the SLA timer. */
static int
s_start (uv_loop_t *loop, void *app_)
{
    tickets_t *app = app_;
    s_beside.tenants_events = consumer_new (loop, app->db, "tickets", "tenants", tk_copy_apply, app);
    if (!s_beside.tenants_events) {
        log_error (NULL, "cannot follow tenants' events");
        return -1;
    }
    s_beside.sla_timer = sla_timer_new (loop, app);
    if (!s_beside.sla_timer) {
        log_error (NULL, "cannot start the SLA timer");
        return -1;
    }
    s_beside.visitor_purge = visitors_purge_new (loop, app);
    if (!s_beside.visitor_purge) {
        log_error (NULL, "cannot start the visitor purge");
        return -1;
    }
    s_beside.patrol_timer = patrol_timer_new (loop, app);
    if (!s_beside.patrol_timer) {
        log_error (NULL, "cannot start the patrol timer");
        return -1;
    }
    return 0;
}

static void
s_stop (void *app)
{
    (void) app;
    job_destroy (&s_beside.patrol_timer);
    job_destroy (&s_beside.visitor_purge);
    job_destroy (&s_beside.sla_timer);
    consumer_destroy (&s_beside.tenants_events);
}

int
main (int argc, char **argv)
{
    if (argc > 1)                    /* `--check [ready|live]`: the probes (health.h) */
        return health_check_main ("tickets", argc, argv);
    static tickets_t app;
    app.callback_after_s = 60 * config_int ("PM_CALLBACK_AFTER_MINUTES",
                                            TK_CALLBACK_AFTER_MIN_DEFAULT, 0, 525600);
    return service_main (&(service_t) { .name = "tickets", .methods = s_methods, .app = &app,
                                        .db = &app.db, .outbox = &app.outbox, .prepare = s_prepare,
                                        .start = s_start, .stop = s_stop });
}
