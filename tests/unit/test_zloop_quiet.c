/* test_zloop_quiet: zloop reads ZMQ_EVENTS only for a socket that sent or
 * received since it last said "no input" (common/zloop.c). These tests make
 * the sends that can hide input happen outside on_readable (in a timer, in
 * another thread) and check that nothing is lost, and that a quiet socket
 * costs no ZMQ_EVENTS read per loop iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* The module under test, with its ZMQ_EVENTS reads counted. */
static int s_events_reads;
static int s_counting_getsockopt (void *sock, int option, void *value, size_t *size);
#define zmq_getsockopt s_counting_getsockopt
#include "zloop.c"
#undef zmq_getsockopt

static int
s_counting_getsockopt (void *sock, int option, void *value, size_t *size)
{
    if (option == ZMQ_EVENTS)
        s_events_reads++;
    return zmq_getsockopt (sock, option, value, size);
}

static int s_seq;

static void
s_pair (void **a, void **b)
{
    char ep[64];
    snprintf (ep, sizeof ep, "inproc://zloop-quiet-%d", ++s_seq);
    *a = pm_zmq_socket (ZMQ_PAIR);
    *b = pm_zmq_socket (ZMQ_PAIR);
    assert_non_null (*a);
    assert_non_null (*b);
    assert_int_equal (zmq_bind (*a, ep), 0);
    assert_int_equal (zmq_connect (*b, ep), 0);
}

static void
s_on_guard (uv_timer_t *t)
{
    *(int *) t->data = 1;
    uv_stop (t->loop);
}

/* Runs until uv_stop or timeout_ms; true when not timed out. */
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

/* ---- sends from a timer, never from on_readable ---------------------- */

typedef struct {
    void *sock;
    uv_timer_t timer;
    int received;
    int want;
} s_side_t;

static void
s_send_one (void *sock)
{
    const void *data[] = { "p" };
    assert_int_equal (zmsg_send (sock, 1, data, NULL), 0);
}

static void
s_on_timer_send (uv_timer_t *t)
{
    s_side_t *side = t->data;
    s_send_one (side->sock);
}

/* Each side answers from a 0 ms timer: the send runs at the start of the
 * next iteration, where it can process the mailbox and eat the edge of the
 * peer's next message; the loop then blocks with nothing else to wake it. */
static void
s_on_read_answer_later (zloop_sock_t *zs, void *arg)
{
    s_side_t *side = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) != 0)
        return;
    zmsg_free (&m);
    if (++side->received >= side->want)
        uv_stop (side->timer.loop);
    else
        uv_timer_start (&side->timer, s_on_timer_send, 0, 0);
}

static void
test_sends_from_timers_lose_nothing (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    void *a, *b;
    s_pair (&a, &b);
    enum { N = 5000 };
    s_side_t sa = { .sock = a, .want = N + 10 }, sb = { .sock = b, .want = N };
    uv_timer_init (&loop, &sa.timer);
    uv_timer_init (&loop, &sb.timer);
    sa.timer.data = &sa;
    sb.timer.data = &sb;
    zloop_sock_t *za = zloop_sock_new (&loop, a, s_on_read_answer_later, &sa);
    zloop_sock_t *zb = zloop_sock_new (&loop, b, s_on_read_answer_later, &sb);
    for (int i = 0; i < 3; i++)                  /* a few balls in play */
        s_send_one (a);
    assert_true (s_run (&loop, 20000));
    assert_true (sb.received >= N);
    zloop_sock_destroy (&za);
    zloop_sock_destroy (&zb);
    uv_close ((uv_handle_t *) &sa.timer, NULL);
    uv_close ((uv_handle_t *) &sb.timer, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

/* ---- a send from another thread (the worker's heartbeat thread) ------ */

typedef struct {
    void *sock;
    int count;
} s_thread_arg_t;

static void *
s_sender (void *arg)
{
    s_thread_arg_t *t = arg;
    for (int i = 0; i < t->count; i++)
        s_send_one (t->sock);
    return NULL;
}

static void
s_on_count (zloop_sock_t *zs, void *arg)
{
    s_side_t *side = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) != 0)
        return;
    zmsg_free (&m);
    if (++side->received >= side->want)
        uv_stop (side->timer.loop);
}

static void
test_send_from_another_thread (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    void *a, *b;
    s_pair (&a, &b);
    /* b is watched; the peer a sends 200 messages at it, then b's own
     * socket is used by another thread (as the heartbeat thread does) while
     * the loop does not touch it */
    s_side_t sb = { .sock = b, .want = 200 };
    uv_timer_init (&loop, &sb.timer);
    sb.timer.data = &sb;
    zloop_sock_t *zb = zloop_sock_new (&loop, b, s_on_count, &sb);
    for (int i = 0; i < 200; i++)
        s_send_one (a);
    s_thread_arg_t t = { .sock = b, .count = 50 };
    pthread_t th;
    assert_int_equal (pthread_create (&th, NULL, s_sender, &t), 0);
    pthread_join (th, NULL);                     /* the join is the memory barrier */
    assert_true (s_run (&loop, 5000));
    assert_int_equal (sb.received, 200);
    zmq_pollitem_t item = { a, 0, ZMQ_POLLIN, 0 };
    int got = 0;
    zmsg_t m;
    while (got < 50 && zmq_poll (&item, 1, 1000) == 1 && zmsg_recv (a, &m) == 0) {
        zmsg_free (&m);
        got++;
    }
    assert_int_equal (got, 50);
    zloop_sock_destroy (&zb);
    uv_close ((uv_handle_t *) &sb.timer, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

/* ---- a quiet socket is not asked on every iteration ------------------ */

static void
s_on_unexpected (zloop_sock_t *zs, void *arg)
{
    (void) zs;
    (void) arg;
    fail_msg ("no input was sent");
}

static void
test_quiet_socket_costs_nothing (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    void *a, *b;
    s_pair (&a, &b);
    zloop_sock_t *zb = zloop_sock_new (&loop, b, s_on_unexpected, NULL);
    uv_run (&loop, UV_RUN_NOWAIT);               /* the first look after connect */
    /* 2000 iterations with nothing sent: every one used to read ZMQ_EVENTS
     * in prepare and in check (two system calls each) */
    int before = s_events_reads;
    for (int i = 0; i < 2000; i++)
        uv_run (&loop, UV_RUN_NOWAIT);
    assert_int_equal (s_events_reads - before, 0);

    /* a send marks the socket: the next iteration looks once, then stops */
    const void *data[] = { "p" };
    assert_int_equal (zmsg_send (b, 1, data, NULL), 0);
    before = s_events_reads;
    for (int i = 0; i < 100; i++)
        uv_run (&loop, UV_RUN_NOWAIT);
    assert_in_range (s_events_reads - before, 1, 2);

    /* and input still wakes it */
    s_side_t sb = { .sock = b, .want = 1 };
    uv_timer_init (&loop, &sb.timer);
    zloop_sock_destroy (&zb);
    zb = zloop_sock_new (&loop, b, s_on_count, &sb);
    s_send_one (a);
    assert_true (s_run (&loop, 3000));
    assert_int_equal (sb.received, 1);
    zloop_sock_destroy (&zb);
    uv_close ((uv_handle_t *) &sb.timer, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

/* ---- a backlog is drained by receiving, not by asking ZMQ_EVENTS ----- */

static void
test_backlog_without_events_per_message (void **state)
{
    (void) state;
    uv_loop_t loop;
    uv_loop_init (&loop);
    void *a, *b;
    s_pair (&a, &b);
    s_side_t sb = { .sock = b, .want = 500 };
    uv_timer_init (&loop, &sb.timer);
    sb.timer.data = &sb;
    zloop_sock_t *zb = zloop_sock_new (&loop, b, s_on_count, &sb);
    uv_run (&loop, UV_RUN_NOWAIT);
    for (int i = 0; i < 500; i++)
        s_send_one (a);
    int before = s_events_reads;
    assert_true (s_run (&loop, 5000));
    assert_int_equal (sb.received, 500);
    /* one ZMQ_EVENTS read per wake-up and per ZLOOP_BATCH messages (and one
     * before the loop blocks), where there was one per message */
    assert_in_range (s_events_reads - before, 1, 2 * (500 / ZLOOP_BATCH + 1) + 4);
    zloop_sock_destroy (&zb);
    uv_close ((uv_handle_t *) &sb.timer, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_int_equal (uv_loop_close (&loop), 0);
    zmq_close (a);
    zmq_close (b);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_backlog_without_events_per_message),
        cmocka_unit_test (test_sends_from_timers_lose_nothing),
        cmocka_unit_test (test_send_from_another_thread),
        cmocka_unit_test (test_quiet_socket_costs_nothing),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
