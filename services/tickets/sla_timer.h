/* sla_timer: the SLA job of the tickets worker. Every PM_SLA_TICK_MS
 * (default SLA_TICK_MS_DEFAULT) it raises ticket.sla_warning and
 * ticket.sla_breached once per deadline and escalates complaints past their
 * resolution deadline, as a periodic job (common/job.h: the round is
 * bracketed with worker_loop_busy there).
 *
 *   sla_timer_prepare (db);                      // main.c's prepare hook
 *   job_t *job = sla_timer_new (loop, app);      // main.c's start hook
 *   ...
 *   job_destroy (&job);                          // main.c's stop hook */
#ifndef TK_SLA_TIMER_H
#define TK_SLA_TIMER_H

#include "job.h"
#include "tickets.h"

#include <uv.h>

#define SLA_TICK_MS_DEFAULT 1000         /* PM_SLA_TICK_MS */
#define SLA_TIMER_BATCH     200          /* rows per deadline kind per round */

/* Registers the timer's statements; 0 or -1. */
int sla_timer_prepare (db_t *db);

/* The job, its first round one tick from now; NULL when it cannot start. */
job_t *sla_timer_new (uv_loop_t *loop, tickets_t *app);

#endif
