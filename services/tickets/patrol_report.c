/* patrol_report: the patrol report (GET .../reports/patrol) and the timer
 * that raises patrol.missed; see patrols.h.
 *
 * Planned rounds are the route's times on each day of the property's zone
 * (tk_copy_timezone, as the service report's days), counted from the
 * route's creation until it was made inactive, in the window and up to now:
 * a plan later today is not behind yet. A round counts where it started.
 *
 * The timer: each round, one statement finds the active routes' planned
 * times of the last PATROL_LOOKBACK_S that are PATROL_LATE_MINUTES past
 * without a round started for them by then, claims each in patrol_missed
 * (INSERT ... ON CONFLICT DO NOTHING: once per route and planned time,
 * whatever the workers) and writes patrol.missed for the claimed ones into
 * the outbox in the same statement. notifications routes it to the
 * property's managers' inbox. "now" is tk_clock's. */
#include "patrols.h"

#include "config.h"
#include "log.h"
#include "patrol_rules.h"
#include "reports.h"
#include "sla.h"
#include "tenants_copy.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STR_(x) #x
#define S_STR(x) S_STR_ (x)
#define S_LATE "make_interval (mins => " S_STR (PATROL_LATE_MINUTES) ")"

/* $2..$6: the window (reports.h, tk_report_window); $7: now */

static const char *s_report_sql =
    "WITH w AS (SELECT " TK_REPORT_LO " AS lo, " TK_REPORT_HI " AS hi), "
    "r AS (SELECT pr.* FROM patrol_routes pr, w WHERE pr.property_id = $1::uuid AND pr.created_at < w.hi), "
    "slots AS ("
    "  SELECT r.id AS route_id, count (*) AS n FROM r, w, unnest (r.times) t (hm), "
    "    generate_series ((w.lo AT TIME ZONE $6::text)::date, (w.hi AT TIME ZONE $6::text)::date, "
    "      interval '1 day') d (day), "
    "    LATERAL (SELECT ((d.day::date + t.hm::time)::timestamp AT TIME ZONE $6::text) AS at) s "
    "  WHERE s.at >= w.lo AND s.at < w.hi AND s.at <= $7::timestamptz AND s.at >= r.created_at "
    "    AND (r.inactive_since IS NULL OR s.at < r.inactive_since) "
    "  GROUP BY r.id), "
    "rd AS (SELECT p.* FROM patrol_rounds p, w WHERE p.property_id = $1::uuid "
    "  AND p.started_at >= w.lo AND p.started_at < w.hi), "
    "ck AS (SELECT c.*, rd.route_id FROM patrol_checks c JOIN rd ON rd.id = c.round_id), "
    "tk AS (SELECT ck.route_id, t.created_at, t.resolved_at FROM ck JOIN tickets t ON t.id = ck.ticket_id) "
    "SELECT json_build_object ('from', " DB_UTC_TS ("w.lo") ", 'to', " DB_UTC_TS ("w.hi") ", "
    "  'items', (SELECT coalesce (json_agg (x ORDER BY x.name, x.route_id), '[]') FROM ("
    "    SELECT r.id AS route_id, r.name, r.active, "
    "      coalesce ((SELECT n FROM slots WHERE slots.route_id = r.id), 0) AS rounds_planned, "
    "      (SELECT count (*) FROM rd WHERE rd.route_id = r.id AND rd.status = 'finished') AS rounds_done, "
    "      (SELECT count (*) FROM rd WHERE rd.route_id = r.id AND rd.status = 'in_progress') AS rounds_in_progress, "
    "      (SELECT count (*) FROM patrol_missed m WHERE m.route_id = r.id "
    "        AND m.planned_at >= w.lo AND m.planned_at < w.hi) AS rounds_missed, "
    "      (SELECT coalesce (sum (jsonb_array_length (rd.checkpoints) "
    "        - (SELECT count (*) FROM ck WHERE ck.round_id = rd.id)), 0) "
    "        FROM rd WHERE rd.route_id = r.id AND rd.status = 'finished') AS checkpoints_missed, "
    "      (SELECT coalesce (sum (ck.failed_items), 0) FROM ck WHERE ck.route_id = r.id) AS failed_items, "
    "      (SELECT count (*) FROM tk WHERE tk.route_id = r.id) AS tickets_opened, "
    "      (SELECT count (*) FROM tk WHERE tk.route_id = r.id AND tk.resolved_at IS NOT NULL) AS tickets_closed, "
    "      (SELECT round ((percentile_cont (0.5) WITHIN GROUP (ORDER BY extract (epoch FROM "
    "        tk.resolved_at - tk.created_at)) / 3600)::numeric, 1) "
    "        FROM tk WHERE tk.route_id = r.id AND tk.resolved_at IS NOT NULL) AS ticket_close_hours_median "
    "    FROM r) x)"
    ")::text FROM w";

/* $1 now, $2 batch. Days in each property's zone from the day before now. */
static const char *s_timer_sql =
    "WITH slots AS ("
    "  SELECT r.id AS route_id, r.property_id, r.name, s.at AS planned_at "
    "  FROM patrol_routes r JOIN tenant_properties tp ON tp.id = r.property_id, unnest (r.times) t (hm), "
    "    generate_series ((($1::timestamptz - interval '1 day') AT TIME ZONE tp.timezone)::date, "
    "      ($1::timestamptz AT TIME ZONE tp.timezone)::date, interval '1 day') d (day), "
    "    LATERAL (SELECT ((d.day::date + t.hm::time)::timestamp AT TIME ZONE tp.timezone) AS at) s "
    "  WHERE r.active AND s.at >= r.plan_from AND s.at + " S_LATE " <= $1::timestamptz "
    "    AND s.at > $1::timestamptz - make_interval (secs => " S_STR (PATROL_LOOKBACK_S) ")), "
    "due AS ("
    "  SELECT * FROM slots s "
    "  WHERE NOT EXISTS (SELECT 1 FROM patrol_missed m WHERE m.route_id = s.route_id AND m.planned_at = s.planned_at) "
    "    AND NOT EXISTS (SELECT 1 FROM patrol_rounds p WHERE p.route_id = s.route_id "
    "      AND p.planned_at = s.planned_at AND p.started_at <= s.planned_at + " S_LATE ") "
    "  ORDER BY s.planned_at, s.route_id LIMIT $2::int), "
    "ins AS ("
    "  INSERT INTO patrol_missed (route_id, planned_at, property_id, noticed_at) "
    "  SELECT route_id, planned_at, property_id, $1::timestamptz FROM due "
    "  ON CONFLICT DO NOTHING RETURNING route_id, planned_at) "
    OUTBOX_INSERT
    "SELECT 'patrol.missed', d.property_id, jsonb_build_object ('route_id', d.route_id, 'name', d.name, "
    "  'property_id', d.property_id, 'planned_at', " DB_UTC_TS ("d.planned_at") ") "
    "FROM ins JOIN due d ON d.route_id = ins.route_id AND d.planned_at = ins.planned_at "
    "ORDER BY d.planned_at, d.route_id RETURNING 1";

int
patrol_report_prepare (db_t *db)
{
    return db_prepare (db, "patrol_report", s_report_sql, true)
           || db_prepare (db, "patrol_timer", s_timer_sql, false) ? -1 : 0;
}

void
patrol_report (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    tk_report_window_t w;            /* as the service report reads it */
    char tz[64], now[40];
    if (!tk_report_window (req, &w, rep) || tk_copy_timezone (app->db, req, pid, tz, rep))
        return;
    tk_time_param (tk_clock_now_us (), now);
    const char *p[7] = { pid, [5] = tz, [6] = now };
    tk_report_window_params (&w, p + 1);
    db_reply_json (db_exec (app->db, "patrol_report", 7, p), rep, req->id, 200, "no report");
}

/* --- the timer ----------------------------------------------------------------- */

int
patrol_timer_run_once (tickets_t *app)
{
    char now[32], batch[16];
    tk_clock_format (tk_clock_now (), now);
    snprintf (batch, sizeof batch, "%d", PATROL_TIMER_BATCH);
    PGresult *res = db_exec (app->db, "patrol_timer", 2, (const char *[]) { now, batch });
    if (!db_ok (res)) {
        log_error (NULL, "patrol timer failed (%s)", db_sqlstate (res));
        PQclear (res);
        return -1;
    }
    int raised = PQntuples (res);
    PQclear (res);
    if (raised > 0) {
        outbox_wake (app->outbox);
        log_info (NULL, "patrol timer: %d planned rounds missed", raised);
    }
    return raised;
}

static int
s_round (void *app)
{
    return patrol_timer_run_once (app);
}

job_t *
patrol_timer_new (uv_loop_t *loop, tickets_t *app)
{
    uint64_t tick = (uint64_t) config_int ("PM_PATROL_TICK_MS", PATROL_TICK_MS_DEFAULT, 10, 3600000);
    return job_new (loop, "patrol timer", tick, s_round, app);
}
