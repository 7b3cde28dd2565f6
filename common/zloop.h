/* zloop: a ZeroMQ socket carried by a libuv loop.
 *
 * ZMQ_FD is edge-triggered and only says "look at ZMQ_EVENTS": after any
 * zmq_send/zmq_recv on the socket, pending input may already sit in the
 * socket without a new edge. zloop watches the fd with uv_poll and also runs
 * a prepare/check/idle trio (as flux-core's ev_zmq does for libev) so that
 * the socket is drained whenever ZMQ_EVENTS says POLLIN, whoever sent last.
 *
 *   zloop_sock_t *zs = zloop_sock_new (loop, sock, on_readable, arg);
 *   ...  on_readable (zs, arg) is called when ZMQ_POLLIN is set, then again
 *        until its zmsg_recv finds nothing; it should receive ONE message
 *        with ZMQ_DONTWAIT and return (an empty receive: return at once);
 *   zloop_sock_destroy (&zs);   // stops watching; does not close sock
 *
 * Destroy the watcher before closing its socket (the fd dies with it).
 * zloop_sock_destroy may be called from inside on_readable.
 *
 * Send and receive on a watched socket with zmsg_send / zmsg_recv (from any
 * thread): they tell zloop that input may now hide behind a quiet ZMQ_FD.
 * Code that calls zmq_send / zmq_recv / zmq_connect on a watched socket
 * directly must call zloop_touch (sock) after it. */
#ifndef PM_ZLOOP_H
#define PM_ZLOOP_H

#include <uv.h>
#include <zmq.h>

/* The one ZeroMQ context of the process (created on first use; a forked
 * child gets its own). Never terminated: sockets are made with linger 0. */
void *pm_zmq_ctx (void);
/* A socket of the process context with ZMQ_LINGER 0, or NULL. */
void *pm_zmq_socket (int type);

typedef struct zloop_sock zloop_sock_t;
typedef void (zloop_fn) (zloop_sock_t *zs, void *arg);

zloop_sock_t *zloop_sock_new (uv_loop_t *loop, void *zmq_socket, zloop_fn *on_readable, void *arg);
void zloop_sock_destroy (zloop_sock_t **self_p);
void *zloop_sock_socket (zloop_sock_t *zs);
/* Marks every watcher of sock to re-read ZMQ_EVENTS before the loop blocks. */
void zloop_touch (void *sock);

/* Multipart helpers. A message is an array of frames; each frame's data is
 * a malloc'd copy followed by a NUL (not counted in size), so text frames
 * can be used as strings (check strlen == size where it matters). */
typedef struct {
    int count;
    struct { void *data; size_t size; } frame[16];   /* frames beyond 16 are dropped */
    /* The sender's identity as the broker's ZAP handler authenticated it
     * (libzmq's "User-Id" property), "" when the connection has none. Only
     * the receiving side's libzmq writes it: a peer cannot forge it. */
    char user_id[33];
    int moved;                       /* 1 + the frame zmsg_recv_move did not copy; 0: none */
} zmsg_t;

/* Receives a whole multipart message without blocking: 0, or -1 (EAGAIN or error). */
int zmsg_recv (void *sock, zmsg_t *msg);
/* As zmsg_recv, for forwarding a body without copying it: a last frame
 * longer than ZMSG_MOVE_MIN is not copied but moved into *last, and
 * frame[count - 1].data points into it (read it by its size: it is not
 * NUL-terminated; valid while *last is). *last is initialised here in every
 * case (empty when the last frame was copied): zmq_msg_close it, or send it
 * with zmsg_send_move. Shorter frames (names, ids) stay NUL-terminated. */
#define ZMSG_MOVE_MIN 64
int zmsg_recv_move (void *sock, zmsg_t *msg, zmq_msg_t *last);
/* Sends count frames; sizes of (size_t)-1 mean strlen. 0 or -1. */
int zmsg_send (void *sock, int count, const void *const *data, const size_t *sizes);
/* As zmsg_send, but frame move_at (> 0) is *move, sent without a copy:
 * on success *move is left empty; on failure (only the first frame can
 * fail) nothing was sent and *move is untouched. */
int zmsg_send_move (void *sock, int count, const void *const *data, const size_t *sizes,
                    int move_at, zmq_msg_t *move);
void zmsg_free (zmsg_t *msg);
/* Frame i as a NUL-terminated copy into buf (truncated); returns buf. */
char *zmsg_str (const zmsg_t *msg, int i, char *buf, size_t cap);
int zmsg_eq (const zmsg_t *msg, int i, const char *s);

/* Stops the loop on SIGINT and SIGTERM, calling on_stop first (may be NULL). */
typedef void (zloop_stop_fn) (void *arg);
void zloop_handle_signals (uv_loop_t *loop, zloop_stop_fn *on_stop, void *arg);

#endif
