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

/* rep is valid only during the call; take ownership of rep->body (or of a
 * file's bytes, rep->blob) by setting it to NULL. */
typedef void (client_reply_fn) (void *arg, env_reply_t *rep);

client_t *client_new (uv_loop_t *loop);
void client_destroy (client_t **self_p);          /* pending callbacks get 503 */

/* request: a serialized request envelope with this id; deadline_ms: epoch ms.
 * service is the method's prefix up to the first dot. Returns 0, or -1 with
 * errno (EINVAL bad arguments, EEXIST a request with this id is pending,
 * EAGAIN the socket's queue is full); after -1 the callback never runs.
 * The callback never runs from inside client_send (a request already past
 * its deadline is not sent; its 504 comes on the next loop iteration). */
int client_send (client_t *self, const char *service, const char *request_id,
                 const char *request, int64_t deadline_ms, client_reply_fn *cb, void *arg);

/* As client_send, for a caller that forwards a success's body as text (the
 * gateway): the reply is read with env_reply_read, so rep->body_json may hold
 * the body with rep->body NULL; env_reply_body (rep) builds the tree where
 * one is needed. Spares a cJSON tree per reply. */
int client_send_text (client_t *self, const char *service, const char *request_id,
                      const char *request, int64_t deadline_ms, client_reply_fn *cb, void *arg);

/* As client_send_text, with blob_len bytes (copied) as the request's binary
 * frame (mdp.h: a file, 0..MDP_BLOB_MAX bytes, never inside the JSON). A
 * reply with a binary frame comes as rep->blob (the callback may take it:
 * set it to NULL). */
int client_send_blob (client_t *self, const char *service, const char *request_id,
                      const char *request, const void *blob, size_t blob_len, int64_t deadline_ms,
                      client_reply_fn *cb, void *arg);

/* Says that the pending request request_id may run twice to no harm (a
 * read; a write with an Idempotency-Key, which its service runs once,
 * common/idem.h): with several brokers, when the broker carrying it is lost
 * it is sent again at once through another, instead of being answered 503
 * "outcome unknown". No-op for an unknown id, and with one broker. */
void client_repeatable (client_t *self, const char *request_id);

/* Requests waiting for a reply (for /metrics). */
size_t client_pending (const client_t *self);

/* Synchronous call: builds the request (body consumed), waits, fills rep
 * (rep is overwritten, not freed: pass an empty one; env_reply_reset it after).
 * deadline_ms 0 means now + PM_REQUEST_TIMEOUT_MS (default 5000).
 * Returns 0 when a reply came (any status, including the broker's 503 for a
 * service without workers) or -1 when none did (rep then holds 504 timeout,
 * 503 broker unreachable, 502 malformed reply, or 500 bad arguments).
 * Uses a DEALER cached per thread; safe to call from a worker's handler. */
int client_call (const char *method, const env_caller_t *caller, const char *request_id,
                 int64_t deadline_ms, cJSON *body, env_reply_t *rep);

#endif
