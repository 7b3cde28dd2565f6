/* gw_listen: PostgreSQL LISTEN on a connection of its own, on the libuv loop.
 *
 * The gateway's main connection (common/db.c) is blocking and busy with
 * requests; notifications need a socket that is watched all the time. This
 * is a second libpq connection, non-blocking from the connect on (PQconnectStart,
 * PQconnectPoll, uv_poll on PQsocket), that sends LISTEN <channel> and hands
 * each notification's payload to on_notify.
 *
 * - It reconnects by itself, with backoff (GW_LISTEN_BACKOFF_MIN_MS ..
 *   GW_LISTEN_BACKOFF_MAX_MS), forever.
 * - on_state (listening true/false) runs whenever it starts or stops
 *   listening: notifications sent while it was not listening are lost, so
 *   whoever caches on the strength of them must forget what it cached.
 * - Its handles are unreferenced: they never keep the loop alive.
 * - The connection's application_name is GW_LISTEN_APP_NAME (so that an
 *   operator, or a test, can find it in pg_stat_activity). */
#ifndef GW_LISTEN_H
#define GW_LISTEN_H

#include <stdbool.h>
#include <uv.h>

#define GW_LISTEN_BACKOFF_MIN_MS 100
#define GW_LISTEN_BACKOFF_MAX_MS 2000
#define GW_LISTEN_APP_NAME       "pm-gateway-listen"

typedef struct gw_listen gw_listen_t;
typedef void (gw_listen_notify_fn) (void *arg, const char *payload);
typedef void (gw_listen_state_fn) (void *arg, bool listening);

/* Starts connecting (returns at once). NULL when out of memory or when the
 * channel is not 1..63 of [a-z0-9_]. */
gw_listen_t *gw_listen_new (uv_loop_t *loop, const char *dsn, const char *channel,
                            gw_listen_notify_fn *on_notify, gw_listen_state_fn *on_state, void *arg);

/* Closes the connection and the handles; no callback runs after this. The
 * memory is freed by the handles' close callbacks: the loop must run once
 * more (uv_run NOWAIT is enough). */
void gw_listen_destroy (gw_listen_t **self_p);

bool gw_listen_listening (const gw_listen_t *self);

#endif
