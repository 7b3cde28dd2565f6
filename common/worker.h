/* worker: a service process's link to the broker.
 *
 * Connects a DEALER to the broker, says READY for its service, heartbeats,
 * reconnects (and says READY again) when the broker goes silent, and
 * dispatches each request's "method" to a handler from a table. A request
 * whose deadline has passed is skipped (no reply: the caller already gave up).
 * The broker may send up to WORKER_CREDIT requests ahead (mdp.h, READY);
 * they are served one at a time, in order: a handler runs to completion and
 * its reply is sent before the next one starts.
 *
 *   static const worker_method_t methods[] = {
 *       { "tenants.units.create", s_units_create },
 *       { NULL, NULL } };
 *   worker_t *w = worker_new (loop, "tenants", methods, app);
 *   uv_run (loop, UV_RUN_DEFAULT);
 *   worker_destroy (&w);
 *
 * Every worker also answers "<service>.ping" with {"service","pid"} (unless the
 * table has that method). An unknown method is answered 404 not_found; a
 * request that does not parse, 400 bad_request; a handler that sets no
 * status, 500. Handlers run on the loop thread and may block (libpq,
 * client_call): meanwhile a helper thread keeps the broker's heartbeats going. */
#ifndef PM_WORKER_H
#define PM_WORKER_H

#include "db.h"
#include "envelope.h"
#include <uv.h>

/* Requests the broker may send before this worker has answered them (the
 * READY credit, mdp.h): one running, the rest waiting in the socket, so the
 * next one starts without a round trip through the broker (docs/DESIGN.md,
 * "Message hops"). PM_WORKER_CREDIT (1..MDP_CREDIT_MAX) overrides it; 1 is
 * one request at a time. */
#define WORKER_CREDIT 2

typedef void (worker_handler_fn) (void *app, const env_request_t *req, env_reply_t *rep);

typedef struct {
    const char *method;
    worker_handler_fn *handler;
} worker_method_t;

typedef struct worker worker_t;

/* methods: NULL-terminated, must outlive the worker. Endpoint from config_broker_endpoint (). */
worker_t *worker_new (uv_loop_t *loop, const char *service, const worker_method_t *methods, void *app);
/* The service's database (borrowed; outlives the worker): from now on a
 * request with an Idempotency-Key runs once (common/idem.h), in a transaction
 * of its own around its handler, and the records older than a day are
 * deleted now and then. 0, or -1 when the statements do not prepare. */
int worker_set_db (worker_t *self, db_t *db);

/* Says DISCONNECT to the broker and stops watching; does not run the loop. */
void worker_destroy (worker_t **self_p);

/* Stops taking new requests (used on SIGTERM: in-flight work finishes first,
 * since a handler runs to completion). */
void worker_stop (worker_t *self);

/* Long work on the loop outside a request handler (a consumer's round, a
 * timer's batch job) brackets itself with worker_loop_busy (true) ...
 * worker_loop_busy (false): meanwhile the heartbeat thread keeps the
 * broker's heartbeats going, as it does for a handler, so the broker does
 * not give this worker up (and fail the request waiting for it) because the
 * loop was busy. Acts on the process's worker (the last made); a no-op
 * without one, or inside a handler. */
void worker_loop_busy (bool busy);

/* Whether a request's caller may come from this sender (the identity the
 * broker authenticated, mdp.h): a user's request only from the gateway, the
 * role "service" only from the daemon its user_id names. A request that
 * fails this is not answered. Pure; unit-tested. */
bool worker_sender_allowed (const env_caller_t *caller, const char *sender);

#endif
