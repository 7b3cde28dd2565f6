/* test_msg_zloop: a ZeroMQ socket on a libuv loop (common/zloop.c).
 *
 * ZMQ_FD is edge-triggered: these tests build the situations in which a
 * naive uv_poll on it loses a wake-up (input queued before watching, input
 * arriving while the callback sends on the same socket) and check that
 * every message is still delivered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zloop.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static int s_pair_seq;

/* Two connected PAIR sockets over inproc. */
static void
s_pair (void **a, void **b)
{
    char ep[64];
    snprintf (ep, sizeof ep, "inproc://zloop-test-%d", ++s_pair_seq);
    *a = pm_zmq_socket (ZMQ_PAIR);
    *b = pm_zmq_socket (ZMQ_PAIR);
    assert_non_null (*a);
    assert_non_null (*b);
    int hwm = 0;                                 /* no limit: the test queues a lot */
    zmq_setsockopt (*a, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (*b, ZMQ_RCVHWM, &hwm, sizeof hwm);
    assert_int_equal (zmq_bind (*a, ep), 0);
    assert_int_equal (zmq_connect (*b, ep), 0);
}

static void
s_on_guard (uv_timer_t *t)
{
    int *expired = t->data;
    *expired = 1;
    uv_stop (t->loop);
}

/* Runs the loop until uv_stop or timeout_ms; true when not timed out. */
static bool
s_run (uv_loop_t *loop, int timeout_ms)
{
    uv_timer_t guard;
    int expired = 0;
    uv_timer_init (loop, &guard);
    guard.data = &expired;
    uv_timer_start (&guard, s_on_guard, (uint64_t) timeout_ms, 0);
    uv_run (loop, UV_RUN_DEFAULT);
    uv_close ((uv_handle_t *) &guard, NULL);
    uv_run (loop, UV_RUN_NOWAIT);
    return !expired;
}

typedef struct {
    int received;
    int want;
    void *peer;                      /* echo partner, if any */
    int sent;
    int limit;
    zloop_sock_t *self;
} s_counter_t;

static uv_loop_t *s_loop;

static void
s_on_count_stop (zloop_sock_t *zs, void *arg)
{
    s_counter_t *c = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) != 0)
        return;
    zmsg_free (&m);
    if (++c->received == c->want)
        uv_stop (s_loop);
}

static void
test_drains_backlog (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_loop = &loop;
    void *a, *b;
    s_pair (&a, &b);
    /* 1000 messages wait before anyone watches: no new edge will come */
    for (int i = 0; i < 1000; i++)
        assert_int_equal (zmq_send (a, "x", 1, 0), 1);
    zmq_pollitem_t item = { b, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 1000), 1);   /* consumes the edge */
    s_counter_t c = { .want = 1000 };
    zloop_sock_t *zs = zloop_sock_new (&loop, b, s_on_count_stop, &c);
    assert_non_null (zs);
    assert_ptr_equal (zloop_sock_socket (zs), b);
    assert_true (s_run (&loop, 3000));
    assert_int_equal (c.received, 1000);
    zloop_sock_destroy (&zs);
    assert_null (zs);
    zloop_sock_destroy (&zs);                    /* twice is fine */
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0); /* every handle closed */
    zmq_close (a);
    zmq_close (b);
}

static void
s_on_echo (zloop_sock_t *zs, void *arg)
{
    s_counter_t *c = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) != 0)
        return;
    zmsg_free (&m);
    c->received++;
    if (c->sent < c->limit) {
        /* sending on the socket we read from can eat the edge of the next
         * incoming message */
        zmq_send (zloop_sock_socket (zs), "p", 1, ZMQ_DONTWAIT);
        c->sent++;
    }
    if (c->received == c->want)
        uv_stop (s_loop);
}

static void
test_ping_pong_no_missed_wakeup (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_loop = &loop;
    void *a, *b;
    s_pair (&a, &b);
    enum { N = 20000 };
    s_counter_t ca = { .want = N + 10, .limit = N };   /* never reaches want */
    s_counter_t cb = { .want = N, .limit = N };
    zloop_sock_t *za = zloop_sock_new (&loop, a, s_on_echo, &ca);
    zloop_sock_t *zb = zloop_sock_new (&loop, b, s_on_echo, &cb);
    /* several balls in play at once */
    for (int i = 0; i < 8; i++)
        zmq_send (a, "p", 1, 0);
    assert_true (s_run (&loop, 10000));
    assert_true (cb.received >= N);          /* uv_stop lets the current batch finish */
    zloop_sock_destroy (&za);
    zloop_sock_destroy (&zb);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

static void
s_on_destroy_self (zloop_sock_t *zs, void *arg)
{
    s_counter_t *c = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) == 0) {
        zmsg_free (&m);
        c->received++;
    }
    zloop_sock_destroy (&c->self);               /* from inside the callback */
}

static void
s_on_stop_timer (uv_timer_t *t)
{
    uv_stop (t->loop);
}

static void
test_destroy_inside_callback (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    void *a, *b;
    s_pair (&a, &b);
    for (int i = 0; i < 10; i++)
        zmq_send (a, "x", 1, 0);
    s_counter_t c = { 0 };
    c.self = zloop_sock_new (&loop, b, s_on_destroy_self, &c);
    uv_timer_t t;
    uv_timer_init (&loop, &t);
    uv_timer_start (&t, s_on_stop_timer, 200, 0);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (c.received, 1);            /* nothing after the destroy */
    assert_null (c.self);
    uv_close ((uv_handle_t *) &t, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

static void
test_zmsg (void **state)
{
    (void) state;
    void *a, *b;
    s_pair (&a, &b);
    zmsg_t m;
    assert_int_equal (zmsg_recv (b, &m), -1);    /* nothing there: EAGAIN, no block */
    assert_int_equal (m.count, 0);

    const void *data[] = { "", "MDPC01", "bin\0ary", "last" };
    size_t sizes[] = { 0, (size_t) -1, 7, (size_t) -1 };
    assert_int_equal (zmsg_send (a, 4, data, sizes), 0);
    zmq_pollitem_t item = { b, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 1000), 1);
    assert_int_equal (zmsg_recv (b, &m), 0);
    assert_int_equal (m.count, 4);
    assert_int_equal (m.frame[0].size, 0);
    assert_true (zmsg_eq (&m, 1, "MDPC01"));
    assert_false (zmsg_eq (&m, 1, "MDPC0"));
    assert_false (zmsg_eq (&m, 1, "MDPC011"));
    assert_false (zmsg_eq (&m, 9, "x"));         /* out of range */
    assert_false (zmsg_eq (&m, -1, "x"));
    assert_int_equal (m.frame[2].size, 7);
    assert_memory_equal (m.frame[2].data, "bin\0ary", 7);
    char buf[8];
    assert_string_equal (zmsg_str (&m, 3, buf, sizeof buf), "last");
    assert_string_equal (zmsg_str (&m, 1, buf, 4), "MDP");          /* truncated */
    assert_string_equal (zmsg_str (&m, 7, buf, sizeof buf), "");    /* out of range */
    assert_string_equal (((char *) m.frame[3].data), "last");       /* NUL-terminated copy */
    zmsg_free (&m);
    assert_int_equal (m.count, 0);
    zmsg_free (&m);                              /* twice is fine */

    /* more than 16 frames: the rest is read and dropped, not left behind */
    const void *many[20];
    for (int i = 0; i < 20; i++)
        many[i] = "f";
    assert_int_equal (zmsg_send (a, 20, many, NULL), 0);
    assert_int_equal (zmsg_send (a, 1, data + 3, NULL), 0);
    assert_int_equal (zmq_poll (&item, 1, 1000), 1);
    assert_int_equal (zmsg_recv (b, &m), 0);
    assert_int_equal (m.count, 16);
    zmsg_free (&m);
    assert_int_equal (zmq_poll (&item, 1, 1000), 1);
    assert_int_equal (zmsg_recv (b, &m), 0);
    assert_int_equal (m.count, 1);
    assert_true (zmsg_eq (&m, 0, "last"));
    zmsg_free (&m);
    zmq_close (a);
    zmq_close (b);
    assert_ptr_equal (pm_zmq_ctx (), pm_zmq_ctx ());
}

static int s_stopped;

static void
s_on_stop (void *arg)
{
    s_stopped = *(int *) arg;
}

static void
s_raise (uv_timer_t *t)
{
    (void) t;
    raise (SIGTERM);
}

static void
test_signals_stop_the_loop (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    int token = 7;
    zloop_handle_signals (&loop, s_on_stop, &token);
    uv_timer_t t, keep;
    uv_timer_init (&loop, &t);
    uv_timer_init (&loop, &keep);
    uv_timer_start (&t, s_raise, 10, 0);
    uv_timer_start (&keep, s_on_stop_timer, 5000, 0);      /* would stop it late */
    uint64_t t0 = uv_now (&loop);
    uv_run (&loop, UV_RUN_DEFAULT);
    uv_update_time (&loop);
    assert_int_equal (s_stopped, 7);
    assert_true (uv_now (&loop) - t0 < 2000);
    uv_close ((uv_handle_t *) &t, NULL);
    uv_close ((uv_handle_t *) &keep, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);          /* signal handles closed too */
    /* SIGPIPE is ignored from now on */
    struct sigaction sa;
    sigaction (SIGPIPE, NULL, &sa);
    assert_ptr_equal (sa.sa_handler, SIG_IGN);
}

/* ---- a burst that arrives while the loop is busy ---------------------- */

#define BURST_TOTAL 3000

typedef struct {
    void *sock;
} s_burst_arg_t;

/* Sends BURST_TOTAL messages in bursts of 100 from another thread, so that
 * bursts land while the receiving callback is busy and while it sends. */
static void *
s_burst_sender (void *arg)
{
    s_burst_arg_t *t = arg;
    for (int i = 0; i < BURST_TOTAL; i++) {
        zmq_send (t->sock, "b", 1, 0);
        if (i % 100 == 99)
            usleep (500);
    }
    return NULL;
}

static void
s_on_busy (zloop_sock_t *zs, void *arg)
{
    s_counter_t *c = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) != 0)
        return;
    zmsg_free (&m);
    c->received++;
    if (c->received % 50 == 0) {
        usleep (1000);               /* busy: input queues meanwhile */
        /* and a send on the same socket, which can take that input's edge */
        zmq_send (zloop_sock_socket (zs), "r", 1, ZMQ_DONTWAIT);
    }
    if (c->received == c->want)
        uv_stop (s_loop);
}

static void
test_burst_while_busy_all_delivered (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    s_loop = &loop;
    void *a, *b;
    s_pair (&a, &b);
    s_counter_t c = { .want = BURST_TOTAL };
    zloop_sock_t *zs = zloop_sock_new (&loop, b, s_on_busy, &c);
    s_burst_arg_t t = { .sock = a };
    pthread_t th;
    assert_int_equal (pthread_create (&th, NULL, s_burst_sender, &t), 0);
    bool done = s_run (&loop, 20000);
    pthread_join (th, NULL);
    assert_true (done);
    assert_int_equal (c.received, BURST_TOTAL);
    zloop_sock_destroy (&zs);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_drains_backlog),
        cmocka_unit_test (test_burst_while_busy_all_delivered),
        cmocka_unit_test (test_ping_pong_no_missed_wakeup),
        cmocka_unit_test (test_destroy_inside_callback),
        cmocka_unit_test (test_zmsg),
        cmocka_unit_test (test_signals_stop_the_loop),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
