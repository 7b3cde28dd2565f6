/* service: one start-up and shutdown for every service worker. */
#include "service.h"

#include "config.h"
#include "curve.h"
#include "log.h"
#include "zloop.h"

#include <stdlib.h>
#include <unistd.h>

static void
s_on_stop (void *arg)
{
    worker_t *worker = arg;
    log_info (NULL, "stopping: finishing what is in flight");
    worker_stop (worker);
}

int
service_main (const service_t *svc)
{
    log_init (svc->name);
    if (curve_init (svc->name) != 0)
        return EXIT_FAILURE;
    int rc = EXIT_FAILURE;
    worker_t *worker = NULL;
    uv_loop_t *loop = uv_default_loop ();

    *svc->db = db_new (svc->name, config_db_dsn (svc->name), pm_migrations);
    if (!*svc->db) {
        log_error (NULL, "cannot start without the database");
        goto out;
    }
    if (svc->prepare && svc->prepare (*svc->db) != 0)
        goto out;
    if (svc->outbox && !(*svc->outbox = outbox_new (*svc->db, svc->name)))
        goto out;
    worker = worker_new (loop, svc->name, svc->methods, svc->app);
    if (!worker) {
        log_error (NULL, "cannot reach the broker at %s", config_broker_endpoint ());
        goto out;
    }
    if (worker_set_db (worker, *svc->db) != 0)   /* keyed writes run once (idem.h) */
        goto out;
    if (svc->start && svc->start (loop, svc->app) != 0)
        goto out;
    zloop_handle_signals (loop, s_on_stop, worker);
    log_info (NULL, "serving %s (pid %d)", svc->name, (int) getpid ());
    uv_run (loop, UV_RUN_DEFAULT);
    rc = EXIT_SUCCESS;
out:
    if (svc->stop)
        svc->stop (svc->app);
    worker_destroy (&worker);
    uv_run (loop, UV_RUN_NOWAIT);                /* lets the close callbacks run */
    if (svc->outbox)
        outbox_destroy (svc->outbox);
    db_destroy (svc->db);
    log_info (NULL, "stopped");
    return rc;
}
