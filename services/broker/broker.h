/* broker: the Majordomo-style broker (common/mdp.h, after ZeroMQ RFC 7).
 *
 * One ROUTER for clients and workers. Each request goes to the least
 * recently used idle worker of its service, else to a busy one with credit
 * left (mdp.h, READY), else waits in the service's FIFO queue. Every worker, idle or busy, gets a heartbeat each MDP_HEARTBEAT_MS;
 * one silent for MDP_HEARTBEAT_LIVENESS intervals, unreachable, or saying
 * DISCONNECT is dropped, and the requests it held are answered 503 at once. A
 * request for a service without a live worker waits MDP_NO_WORKER_WAIT_MS
 * for one to register, then is answered 503. The service "broker" is the
 * broker itself ("broker.stats", "broker.ping").
 *
 * Every request carries its sender's authenticated identity to the worker
 * (mdp.h); a key registers a worker only for the service of its own name.
 *
 * The same loop forwards event wake-ups from an XSUB to an XPUB, each only
 * when its topic names its sender. */
#ifndef PM_BROKER_H
#define PM_BROKER_H

#include "mdp.h"

#include <uv.h>

/* A request queue longer than this answers 503 at once (overload). */
#define BROKER_QUEUE_MAX 10000
/* A larger frame closes the sender's connection (libzmq ZMQ_MAXMSGSIZE,
 * per frame: mdp.h's MDP_FRAME_MAX). */
#define BROKER_MAX_MSG_SIZE MDP_FRAME_MAX
/* Per-peer pipe length before sends fail (EAGAIN) instead of blocking. */
#define BROKER_HWM 10000

typedef struct broker broker_t;

/* Binds endpoint (ROUTER), events_in (XSUB) and events_out (XPUB) and starts
 * serving on loop, every socket a CURVE server (curve_init ("broker") and a
 * running ZAP handler, zap.h, come first). tap_path: NULL, or a file (made
 * 0600) to which every forwarded request and reply is appended as a JSON
 * line: whole personal data, for debugging only. NULL when a bind fails
 * (logged). */
broker_t *broker_new (uv_loop_t *loop, const char *endpoint, const char *events_in,
                      const char *events_out, const char *tap_path);

/* Closes the sockets and handles; the loop must run once more to free them. */
void broker_destroy (broker_t **self_p);

#endif
