/* client: ask a service something through the broker.
 *
 * Asynchronous (the gateway): client_send returns at once; the callback
 * runs exactly once, with the service's reply, a 503 from the broker (no
 * live worker), or a 504 made here when the deadline passes first.
 *
 * Synchronous (a service calling another from inside a handler):
 * client_call blocks until the reply or the deadline, on its own socket. */
#ifndef PM_CLIENT_H
#define PM_CLIENT_H

#include "envelope.h"
#include <uv.h>

typedef struct client client_t;

/* rep is valid only during the call; take ownership of rep->body by setting
 * it to NULL. */
typedef void (client_reply_fn) (void *arg, env_reply_t *rep);

client_t *client_new (uv_loop_t *loop);
void client_destroy (client_t **self_p);          /* pending callbacks get 503 */

/* request: a serialized request envelope with this id; deadline_ms: epoch ms.
 * service is the method's prefix up to the first dot. Returns 0 or -1. */
int client_send (client_t *self, const char *service, const char *request_id,
                 const char *request, int64_t deadline_ms, client_reply_fn *cb, void *arg);

/* Requests waiting for a reply (for /metrics). */
size_t client_pending (const client_t *self);

/* Synchronous call: builds the request (body consumed), waits, fills rep.
 * Returns 0 (rep filled, any status) or -1 (rep holds a 5xx). */
int client_call (const char *method, const env_caller_t *caller, const char *request_id,
                 int64_t deadline_ms, cJSON *body, env_reply_t *rep);

#endif
