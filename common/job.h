/* job: a periodic job on a service's loop (the late fee check, the SLA tick):
 * a libuv timer that runs one round every every_ms, the first one period
 * after job_new. A round may be long (a batch over many rows), so the job
 * brackets it with worker_loop_busy (worker.h) itself: the heartbeat thread
 * covers it and the broker keeps the worker. A round that fails is logged on
 * its first failure and every 60th after in a row, and tried again next tick.
 *
 *   static int s_round (void *app) { return bl_late_fees_run_once (app); }
 *   job_t *job = job_new (loop, "late fees", 60000, s_round, app);
 *   ...
 *   job_destroy (&job);              // frees on the loop's next turn
 */
#ifndef PM_JOB_H
#define PM_JOB_H

#include <stdint.h>
#include <uv.h>

/* One round: 0 or more when done, negative when it failed. */
typedef int (job_fn) (void *arg);

typedef struct job job_t;

/* Starts the timer; name (kept as given: a literal) names the job in the log.
 * NULL when out of memory or the timer cannot start. */
job_t *job_new (uv_loop_t *loop, const char *name, uint64_t every_ms, job_fn *round, void *arg);

/* Stops the timer; its memory is freed by the close callback, so the loop
 * must turn once more (service_main does). NULLs *self_p; safe on NULL. */
void job_destroy (job_t **self_p);

/* Runs one round now, bracketed like a tick; the round's result. */
int job_run (job_t *self);

#endif
