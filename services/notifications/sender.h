/* sender: delivers what is queued, on the service's loop, with libcurl's
 * multi interface driven by libuv (no thread, nothing blocks the worker):
 * webhook deliveries and SMS/email notifications whose next_attempt_at has
 * come. Rows are leased (lease_until) with FOR UPDATE SKIP LOCKED, so several
 * instances share the queue and a delivery whose process died is sent again
 * when its lease runs out (at least once). */
#ifndef NT_SENDER_H
#define NT_SENDER_H

#include "notifications.h"
#include <uv.h>

typedef struct nt_sender nt_sender_t;

nt_sender_t *nt_sender_new (uv_loop_t *loop, nt_app_t *app);
void nt_sender_destroy (nt_sender_t **self_p);

/* Something was queued: look at the queue soon (after the current callback,
 * so after the caller's transaction committed). Safe with NULL. */
void nt_sender_kick (nt_sender_t *self);

#endif
