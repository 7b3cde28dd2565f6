/* zap: the broker's ZAP handler (ZeroMQ RFC 27), which decides who may
 * connect at all.
 *
 * libzmq asks it, for every CURVE handshake on the broker's sockets, whether
 * the client's public key may in; it answers 200 with the key's identity
 * from the allow-list (curve.h) as the ZAP User-Id, which libzmq then
 * attaches to every message from that connection (zmsg_t.user_id), or 400.
 * A peer without an allowed key never completes the handshake: it gets no
 * reply and no registration. Runs on a thread of its own so a handshake
 * never waits for the broker's loop. */
#ifndef PM_BROKER_ZAP_H
#define PM_BROKER_ZAP_H

#include "curve.h"

typedef struct zap zap_t;

/* Binds inproc://zeromq.zap.01 in the process's context and starts
 * answering; the allow-list is copied. NULL when that fails (logged).
 * Must run before the broker binds its CURVE sockets. */
zap_t *zap_new (const curve_allow_t *allow);

/* Stops the thread and closes its socket. */
void zap_destroy (zap_t **self_p);

#endif
