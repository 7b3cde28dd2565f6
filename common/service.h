/* service: the start-up and shutdown every service worker shares, so that a
 * service's main.c is its table of contents (methods, statements, what runs
 * beside the worker) and nothing else.
 *
 * service_main: log_init and curve_init under the service's name; the
 * database (migrations applied); the service's prepare hook; its outbox when
 * it publishes events; the worker on the broker, with the database for
 * requests with an Idempotency-Key (idem.h); the start hook (consumers,
 * timers, a sender); then serves until SIGTERM/SIGINT, when the worker stops
 * taking requests and finishes what is in flight. On the way out, in the
 * reverse order: the stop hook, the worker, one loop turn for the close
 * callbacks, the outbox, the database. A failure at any step stops there and
 * undoes what was done.
 *
 *   static int s_start (uv_loop_t *loop, void *app) { ... consumer_new ... }
 *   int main (void) {
 *       return service_main (&(service_t) { .name = "tenants", .methods = s_methods,
 *           .app = &app, .db = &app.db, .outbox = &app.outbox, .prepare = s_prepare });
 *   }
 */
#ifndef PM_SERVICE_H
#define PM_SERVICE_H

#include "db.h"
#include "outbox.h"
#include "worker.h"

#include <uv.h>

typedef struct {
    const char *name;                /* log name, CURVE identity, schema, DSN, broker service */
    const worker_method_t *methods;  /* the broker methods, {NULL, NULL} terminated */
    void *app;                       /* what every handler and hook gets */
    db_t **db;                       /* where the database goes (the app's field) */
    outbox_t **outbox;               /* where the outbox goes; NULL: publishes no events */
    /* Registers the service's statements; 0 or -1. */
    int (*prepare) (db_t *db);
    /* After the worker is up: consumers, timers; 0 or -1 (logged by the hook).
     * NULL when nothing runs beside the worker. */
    int (*start) (uv_loop_t *loop, void *app);
    /* Undoes start, also after a start that failed half way (destroys are
     * safe on NULL). NULL when there is no start. */
    void (*stop) (void *app);
} service_t;

/* Runs the service on the default loop; the process's exit status. */
int service_main (const service_t *svc);

#endif
