/* zloop: a ZeroMQ socket carried by a libuv loop; see zloop.h.
 *
 * ZMQ_FD only signals "ZMQ_EVENTS may have changed" and is edge-triggered:
 * once a send or a receive (on this socket, by anyone) has consumed the
 * edge, input can sit in the socket with the fd quiet. So, as flux-core's
 * ev_zmq does for libev:
 *   - prepare (before the loop blocks): if ZMQ_EVENTS says POLLIN, start an
 *     idle handle so the loop polls without blocking;
 *   - check (right after polling): stop the idle handle and, when ZMQ_EVENTS
 *     says POLLIN, call on_readable until its receive finds nothing (at most
 *     ZLOOP_BATCH times so that other sockets and timers get their turn; the
 *     next prepare sees what is left);
 *   - the uv_poll on ZMQ_FD wakes the loop when new input arrives.
 * Reading ZMQ_EVENTS also makes libzmq process its command mailbox, which
 * clears ZMQ_FD; libuv's epoll is level-triggered, so without that the loop
 * would spin.
 *
 * Each ZMQ_EVENTS read costs two system calls (libzmq polls its mailbox and
 * checks getpid for fork safety), and prepare and check run on every loop
 * iteration for every watched socket, HTTP events included. So a socket is
 * asked only when the answer can have changed without ZMQ_FD saying so:
 * input can hide only behind a libzmq call on that socket that processed
 * its mailbox, i.e. a send or receive since ZMQ_EVENTS last said "no
 * POLLIN". zmsg_send and zmsg_recv mark the socket dirty (any thread:
 * the worker's heartbeat thread sends too); prepare reads ZMQ_EVENTS only
 * for a dirty socket, and check drains only when prepare found input. A
 * quiet socket costs nothing per iteration; new input on it raises ZMQ_FD. */
#include "zloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define ZLOOP_BATCH 64

struct zloop_sock {
    uv_poll_t poll;
    uv_prepare_t prepare;
    uv_check_t check;
    uv_idle_t idle;
    void *sock;
    zloop_fn *fn;
    void *arg;
    int open_handles;                /* freed when the last close callback ran */
    int destroyed;
    /* dirty (a send/receive since the mailbox was last seen empty) while
     * touches != seen: a count, so that s_drain can tell its own receive
     * from another thread's send made meanwhile */
    atomic_uint touches;
    unsigned seen;                   /* touches when the mailbox was last seen empty */
    zloop_sock_t *watched_next;      /* in s_watched */
};

/* ---- the process-wide context ---------------------------------------- */

static pthread_mutex_t s_ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static void *s_ctx;
static pid_t s_ctx_pid;

void *
pm_zmq_ctx (void)
{
    pthread_mutex_lock (&s_ctx_lock);
    /* A forked child cannot use its parent's context (the I/O threads did
     * not follow it): it gets its own. The parent's copy is abandoned, not
     * terminated, since terminating it would wait on threads that do not
     * exist here. */
    if (!s_ctx || s_ctx_pid != getpid ()) {
        s_ctx = zmq_ctx_new ();
        s_ctx_pid = getpid ();
        if (s_ctx)
            zmq_ctx_set (s_ctx, ZMQ_BLOCKY, 0);
    }
    void *ctx = s_ctx;
    pthread_mutex_unlock (&s_ctx_lock);
    return ctx;
}

void *
pm_zmq_socket (int type)
{
    void *ctx = pm_zmq_ctx ();
    if (!ctx)
        return NULL;
    void *sock = zmq_socket (ctx, type);
    if (sock) {
        int zero = 0;
        zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero);
    }
    return sock;
}

/* ---- watched sockets, so that sends and receives can mark them ------- */

static pthread_mutex_t s_watch_lock = PTHREAD_MUTEX_INITIALIZER;
static zloop_sock_t *s_watched;      /* a handful per process */

static void
s_watch (zloop_sock_t *zs)
{
    pthread_mutex_lock (&s_watch_lock);
    zs->watched_next = s_watched;
    s_watched = zs;
    pthread_mutex_unlock (&s_watch_lock);
}

static void
s_unwatch (zloop_sock_t *zs)
{
    pthread_mutex_lock (&s_watch_lock);
    for (zloop_sock_t **pp = &s_watched; *pp; pp = &(*pp)->watched_next)
        if (*pp == zs) {
            *pp = zs->watched_next;
            break;
        }
    pthread_mutex_unlock (&s_watch_lock);
}

void
zloop_touch (void *sock)
{
    pthread_mutex_lock (&s_watch_lock);
    for (zloop_sock_t *zs = s_watched; zs; zs = zs->watched_next)
        if (zs->sock == sock)
            atomic_fetch_add (&zs->touches, 1);
    pthread_mutex_unlock (&s_watch_lock);
}

/* ---- watching a socket ----------------------------------------------- */

/* 1 when ZMQ_EVENTS says POLLIN, 0 when not, -1 on error (the socket closed
 * under us: API misuse; treated as "no input" so the loop cannot spin). */
static int
s_pollin (zloop_sock_t *zs)
{
    /* cleared before the read: a send from another thread after it marks
     * the socket again */
    zs->seen = atomic_load (&zs->touches);
    uint32_t events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt (zs->sock, ZMQ_EVENTS, &events, &size) != 0)
        return -1;
    return (events & ZMQ_POLLIN) ? 1 : 0;
}

/* What the last zmsg_recv of this thread met, for s_drain: the socket it
 * read and whether it came back empty (EAGAIN or an error). */
static _Thread_local void *s_recv_sock;
static _Thread_local int s_recv_empty;

static void
s_drain (zloop_sock_t *zs)
{
    /* ZMQ_EVENTS once, then on_readable until its zmsg_recv finds nothing,
     * where ZMQ_EVENTS was read before every message (two system calls:
     * libzmq polls its mailbox, and checks getpid for fork safety).
     *
     * The empty receive is the check before sleeping that ZMQ_FD's edge
     * needs: libzmq's non-blocking recv processes the command mailbox
     * (process_commands (0, false), what a ZMQ_EVENTS read does) and tries
     * the pipes again before it answers EAGAIN, so it answers exactly what
     * ZMQ_EVENTS would have. The socket is clean after it only when that
     * receive was the last touch of the socket (touches moved by one since
     * the call began): a send by another thread meanwhile (the worker's
     * heartbeat thread), or anything else on_readable did, leaves it dirty
     * and the next prepare reads ZMQ_EVENTS as before. A callback that did
     * not read this socket with zmsg_recv is asked about by ZMQ_EVENTS, as
     * before. After ZLOOP_BATCH messages the next prepare looks again, so
     * that other sockets and timers get their turn. */
    if (s_pollin (zs) != 1)
        return;
    for (int i = 0; i < ZLOOP_BATCH && !zs->destroyed; i++) {
        unsigned before = atomic_load (&zs->touches);
        s_recv_sock = NULL;
        zs->fn (zs, zs->arg);
        if (zs->destroyed)
            return;
        if (s_recv_sock == zs->sock && s_recv_empty) {
            if (atomic_load (&zs->touches) == before + 1)
                zs->seen = before + 1;   /* drained, and nothing since */
            return;
        }
        atomic_fetch_add (&zs->touches, 1);  /* read otherwise: prepare looks */
        if (s_recv_sock != zs->sock && s_pollin (zs) != 1)
            return;
    }
}

static void
s_on_poll (uv_poll_t *h, int status, int events)
{
    (void) status;
    (void) events;
    /* Errors on ZMQ_FD (it is an eventfd) are not expected; reading
     * ZMQ_EVENTS in s_drain is the right reaction either way. */
    s_drain (h->data);
}

static void
s_on_idle (uv_idle_t *h)
{
    (void) h;                        /* exists only to keep the loop from blocking */
}

static void
s_on_prepare (uv_prepare_t *h)
{
    zloop_sock_t *zs = h->data;
    if (zs->destroyed || atomic_load (&zs->touches) == zs->seen)
        return;                      /* nothing can hide behind a quiet ZMQ_FD */
    if (s_pollin (zs) == 1)
        uv_idle_start (&zs->idle, s_on_idle);
}

static void
s_on_check (uv_check_t *h)
{
    zloop_sock_t *zs = h->data;
    /* Only input prepare saw: new input raises ZMQ_FD (s_on_poll), and a
     * send made by a callback of this iteration marked the socket for the
     * next prepare. */
    if (zs->destroyed || !uv_is_active ((uv_handle_t *) &zs->idle))
        return;
    uv_idle_stop (&zs->idle);
    s_drain (zs);
}

static void
s_on_close (uv_handle_t *h)
{
    zloop_sock_t *zs = h->data;
    if (--zs->open_handles == 0)
        free (zs);
}

zloop_sock_t *
zloop_sock_new (uv_loop_t *loop, void *zmq_socket, zloop_fn *on_readable, void *arg)
{
    int fd;
    size_t size = sizeof fd;
    if (!zmq_socket || !on_readable || zmq_getsockopt (zmq_socket, ZMQ_FD, &fd, &size) != 0)
        return NULL;
    zloop_sock_t *zs = calloc (1, sizeof *zs);
    if (!zs)
        return NULL;
    zs->sock = zmq_socket;
    zs->fn = on_readable;
    zs->arg = arg;
    if (uv_poll_init (loop, &zs->poll, fd) != 0) {
        free (zs);
        return NULL;
    }
    uv_prepare_init (loop, &zs->prepare);
    uv_check_init (loop, &zs->check);
    uv_idle_init (loop, &zs->idle);
    zs->poll.data = zs->prepare.data = zs->check.data = zs->idle.data = zs;
    zs->open_handles = 4;
    atomic_init (&zs->touches, 1);   /* connect/bind may have hidden input already */
    s_watch (zs);
    uv_poll_start (&zs->poll, UV_READABLE, s_on_poll);
    uv_prepare_start (&zs->prepare, s_on_prepare);
    uv_check_start (&zs->check, s_on_check);
    return zs;
}

void
zloop_sock_destroy (zloop_sock_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zloop_sock_t *zs = *self_p;
    *self_p = NULL;
    /* May run inside on_readable: s_drain sees `destroyed` and stops; the
     * memory lives until the close callbacks, which run later. */
    zs->destroyed = 1;
    s_unwatch (zs);
    uv_close ((uv_handle_t *) &zs->poll, s_on_close);
    uv_close ((uv_handle_t *) &zs->prepare, s_on_close);
    uv_close ((uv_handle_t *) &zs->check, s_on_close);
    uv_close ((uv_handle_t *) &zs->idle, s_on_close);
}

void *
zloop_sock_socket (zloop_sock_t *zs)
{
    return zs ? zs->sock : NULL;
}

/* ---- multipart messages ---------------------------------------------- */

static int
s_recv (void *sock, zmsg_t *msg, zmq_msg_t *last)
{
    zloop_touch (sock);
    memset (msg, 0, sizeof *msg);
    s_recv_sock = sock;
    s_recv_empty = 0;
    int more = 1;
    int oom = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        /* Parts of a multipart message arrive together: only the first can
         * be EAGAIN. */
        if (zmq_msg_recv (&part, sock, ZMQ_DONTWAIT) < 0) {
            int err = errno;
            s_recv_empty = msg->count == 0;
            zmq_msg_close (&part);
            if (msg->count > 0) {
                zmsg_free (msg);
            }
            errno = err;
            return -1;
        }
        more = zmq_msg_more (&part);
        if (!msg->user_id[0]) {
            const char *uid = zmq_msg_gets (&part, "User-Id");
            if (uid)
                snprintf (msg->user_id, sizeof msg->user_id, "%s", uid);
        }
        if (!more && last && zmq_msg_size (&part) > ZMSG_MOVE_MIN
            && msg->count < (int) (sizeof msg->frame / sizeof msg->frame[0])) {
            zmq_msg_move (last, &part);  /* the body: forwarded, never copied */
            msg->frame[msg->count].data = zmq_msg_data (last);
            msg->frame[msg->count].size = zmq_msg_size (last);
            msg->count++;
            msg->moved = msg->count;
        }
        else
        if (msg->count < (int) (sizeof msg->frame / sizeof msg->frame[0])) {
            size_t size = zmq_msg_size (&part);
            char *copy = malloc (size + 1);
            if (copy) {
                memcpy (copy, zmq_msg_data (&part), size);
                copy[size] = 0;          /* frames can be read as strings */
                msg->frame[msg->count].data = copy;
                msg->frame[msg->count].size = size;
                msg->count++;
            }
            else
                oom = 1;                 /* drain the message, then fail */
        }
        zmq_msg_close (&part);
    }
    if (oom) {
        zmsg_free (msg);
        if (last) {
            zmq_msg_close (last);
            zmq_msg_init (last);
        }
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int
zmsg_recv (void *sock, zmsg_t *msg)
{
    return s_recv (sock, msg, NULL);
}

int
zmsg_recv_move (void *sock, zmsg_t *msg, zmq_msg_t *last)
{
    zmq_msg_init (last);
    return s_recv (sock, msg, last);
}

int
zmsg_send (void *sock, int count, const void *const *data, const size_t *sizes)
{
    return zmsg_send_move (sock, count, data, sizes, -1, NULL);
}

int
zmsg_send_move (void *sock, int count, const void *const *data, const size_t *sizes,
                int move_at, zmq_msg_t *move)
{
    zloop_touch (sock);
    for (int i = 0; i < count; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < count ? ZMQ_SNDMORE : 0);
        if (i == move_at && move) {
            if (zmq_msg_send (move, sock, flags) < 0)
                return -1;
            continue;
        }
        size_t size = sizes && sizes[i] != (size_t) -1 ? sizes[i]
                                                       : (data[i] ? strlen (data[i]) : 0);
        if (zmq_send (sock, data[i], size, flags) < 0) {
            /* Only the first part of a message can fail (HWM, unroutable
             * identity): later parts follow it atomically. */
            return -1;
        }
    }
    return 0;
}

void
zmsg_free (zmsg_t *msg)
{
    for (int i = 0; i < msg->count; i++)
        if (i + 1 != msg->moved)         /* that one is zmsg_recv_move's *last */
            free (msg->frame[i].data);
    memset (msg, 0, sizeof *msg);
}

char *
zmsg_str (const zmsg_t *msg, int i, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = 0;
    if (i < 0 || i >= msg->count)
        return buf;
    size_t n = msg->frame[i].size < cap - 1 ? msg->frame[i].size : cap - 1;
    memcpy (buf, msg->frame[i].data, n);
    buf[n] = 0;
    return buf;
}

int
zmsg_eq (const zmsg_t *msg, int i, const char *s)
{
    if (i < 0 || i >= msg->count)
        return 0;
    size_t n = strlen (s);
    return msg->frame[i].size == n && memcmp (msg->frame[i].data, s, n) == 0;
}

/* ---- signals --------------------------------------------------------- */

typedef struct {
    uv_signal_t sig[2];
    uv_loop_t *loop;
    zloop_stop_fn *on_stop;
    void *arg;
    int open_handles;
} s_signals_t;

static void
s_signals_closed (uv_handle_t *h)
{
    s_signals_t *s = h->data;
    if (--s->open_handles == 0)
        free (s);
}

static void
s_on_signal (uv_signal_t *h, int signum)
{
    (void) signum;
    s_signals_t *s = h->data;
    if (s->on_stop)
        s->on_stop (s->arg);
    /* Closing the handles restores the default action: a second Ctrl-C
     * while shutting down ends the process at once. */
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing ((uv_handle_t *) &s->sig[i]))
            uv_close ((uv_handle_t *) &s->sig[i], s_signals_closed);
    uv_stop (s->loop);
}

void
zloop_handle_signals (uv_loop_t *loop, zloop_stop_fn *on_stop, void *arg)
{
    signal (SIGPIPE, SIG_IGN);
    s_signals_t *s = calloc (1, sizeof *s);
    if (!s)
        return;
    s->loop = loop;
    s->on_stop = on_stop;
    s->arg = arg;
    static const int signums[2] = { SIGINT, SIGTERM };
    for (int i = 0; i < 2; i++) {
        uv_signal_init (loop, &s->sig[i]);
        s->sig[i].data = s;
        uv_signal_start (&s->sig[i], s_on_signal, signums[i]);
        /* Signals alone must not keep the loop running. */
        uv_unref ((uv_handle_t *) &s->sig[i]);
        s->open_handles++;
    }
}
