/* patrols: the property's daily patrols (日常巡查, issue L): routes with
 * their checkpoints (巡查点) and checklists and planned times of day; rounds
 * walked by a technician or an agent, one check per checkpoint (its results,
 * photos as attachments of the check, and a failed item may open a ticket
 * of channel "patrol" in the same transaction); the patrol report; and the
 * timer that tells the managers once when a planned round was not started
 * within PATROL_LATE_MINUTES (event patrol.missed).
 *
 * Roles: admin and manager create and change routes; all staff start
 * rounds, record checks and read. Another property's route or round: 404.
 * A finished round is read-only (409). Inputs and pure decisions:
 * patrol_rules.h. The report and the timer: patrol_report.c. */
#ifndef TK_PATROLS_H
#define TK_PATROLS_H

#include "job.h"
#include "tickets.h"

#include <uv.h>

#define PATROL_TICK_MS_DEFAULT 10000     /* PM_PATROL_TICK_MS: how often the timer looks */
#define PATROL_TIMER_BATCH     200       /* planned times claimed per round */
#define PATROL_LOOKBACK_S      86400     /* a planned time older than this is not alerted */

/* patrols.c and patrol_report.c's statements (patrols_prepare calls
 * patrol_report_prepare); 0 or -1. */
int patrols_prepare (db_t *db);
int patrol_report_prepare (db_t *db);

/* tickets.patrol_routes.create / list / get / update */
void patrol_routes_create (void *app, const env_request_t *req, env_reply_t *rep);
void patrol_routes_list (void *app, const env_request_t *req, env_reply_t *rep);
void patrol_routes_get (void *app, const env_request_t *req, env_reply_t *rep);
void patrol_routes_update (void *app, const env_request_t *req, env_reply_t *rep);

/* tickets.patrols.create / list / get / finish */
void patrols_create (void *app, const env_request_t *req, env_reply_t *rep);
void patrols_list (void *app, const env_request_t *req, env_reply_t *rep);
void patrols_get (void *app, const env_request_t *req, env_reply_t *rep);
void patrols_finish (void *app, const env_request_t *req, env_reply_t *rep);

/* tickets.patrols.checks.create; tickets.patrols.attachments.create / get
 * (a check's photos: the bytes as the request's binary frame, filetype.h) */
void patrol_checks_create (void *app, const env_request_t *req, env_reply_t *rep);
void patrol_attachments_create (void *app, const env_request_t *req, env_reply_t *rep);
void patrol_attachments_get (void *app, const env_request_t *req, env_reply_t *rep);

/* tickets.reports.patrol (patrol_report.c) */
void patrol_report (void *app, const env_request_t *req, env_reply_t *rep);

/* The timer's job (patrol_report.c), its first round one tick from now;
 * NULL when it cannot start. One round: 0 or more patrol.missed raised, or
 * -1 after rolling back. */
job_t *patrol_timer_new (uv_loop_t *loop, tickets_t *app);
int patrol_timer_run_once (tickets_t *app);

#endif
