/* job: a periodic job that brackets worker_loop_busy itself (see job.h). */
#include "job.h"

#include "log.h"
#include "worker.h"

#include <stdlib.h>

struct job {
    uv_timer_t timer;
    const char *name;
    job_fn *round;
    void *arg;
    unsigned failures;               /* in a row */
};

int
job_run (job_t *self)
{
    worker_loop_busy (true);
    int rc = self->round (self->arg);
    worker_loop_busy (false);
    if (rc < 0) {
        if (self->failures++ % 60 == 0)
            log_warn (NULL, "%s: round failed; trying again next tick", self->name);
    }
    else
        self->failures = 0;
    return rc;
}

static void
s_on_tick (uv_timer_t *timer)
{
    (void) job_run (timer->data);
}

job_t *
job_new (uv_loop_t *loop, const char *name, uint64_t every_ms, job_fn *round, void *arg)
{
    job_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    *self = (job_t) { .name = name, .round = round, .arg = arg };
    if (uv_timer_init (loop, &self->timer)) {
        free (self);
        return NULL;
    }
    self->timer.data = self;
    if (uv_timer_start (&self->timer, s_on_tick, every_ms, every_ms)) {
        job_destroy (&self);
        return NULL;
    }
    return self;
}

static void
s_on_close (uv_handle_t *handle)
{
    free (handle->data);
}

void
job_destroy (job_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    job_t *self = *self_p;
    uv_timer_stop (&self->timer);
    uv_close ((uv_handle_t *) &self->timer, s_on_close);
    *self_p = NULL;
}
