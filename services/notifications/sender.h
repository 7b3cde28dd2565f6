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

/* One SMS sent now and once, with no row behind it (a sign-in code, which
 * must be stored nowhere in clear and is worth nothing after its minutes):
 * through the provider, or the file provider (channels.h). Its outcome is
 * logged (never the number or the text). id: the send's id, for the logs.
 * 0, or -1 when no SMS can be sent (no provider, out of memory, stopping). */
int nt_sender_send_now (nt_sender_t *self, const char *to, const char *text, char id[40]);

/* notifications.sms.send {"to","text"}: nt_sender_send_now for the gateway
 * (role service, user_id "gateway"): 202 {"id"}, 422, 403, or 503 without a
 * provider. */
void nt_sms_send (void *app, const env_request_t *req, env_reply_t *rep);

#endif
