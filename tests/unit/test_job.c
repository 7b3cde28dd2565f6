/* test_job: common/job.c, the periodic job: rounds run on the loop's timer,
 * each bracketed by worker_loop_busy (a no-op without a worker, so this test
 * sees only the rounds), failures do not stop it, job_destroy stops it and
 * frees on the next loop turn (ASan would report a leak or a use after free). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "job.h"

typedef struct {
    int rounds;
    int fail_until;                  /* rounds before this one fail */
    uv_loop_t *loop;
    job_t **job;
    int stop_after;
} s_state_t;

static int
s_round (void *arg)
{
    s_state_t *st = arg;
    st->rounds++;
    if (st->rounds == st->stop_after)
        job_destroy (st->job);                   /* a round may stop its own job */
    return st->rounds < st->fail_until ? -1 : 1;
}

static void
test_rounds_until_destroyed (void **state)
{
    (void) state;
    uv_loop_t loop;
    assert_int_equal (uv_loop_init (&loop), 0);
    job_t *job = NULL;
    s_state_t st = { .fail_until = 3, .loop = &loop, .job = &job, .stop_after = 5 };
    job = job_new (&loop, "test job", 1, s_round, &st);
    assert_non_null (job);
    assert_int_equal (uv_run (&loop, UV_RUN_DEFAULT), 0);   /* returns once the job closed */
    assert_null (job);
    assert_int_equal (st.rounds, 5);                        /* failing rounds did not stop it */
    assert_int_equal (uv_loop_close (&loop), 0);
}

static void
test_run_now (void **state)
{
    (void) state;
    uv_loop_t loop;
    assert_int_equal (uv_loop_init (&loop), 0);
    s_state_t st = { .fail_until = 2 };
    job_t *job = job_new (&loop, "test job", 60000, s_round, &st);
    assert_non_null (job);
    assert_int_equal (job_run (job), -1);
    assert_int_equal (job_run (job), 1);
    assert_int_equal (st.rounds, 2);
    job_destroy (&job);
    job_destroy (&job);                                     /* safe twice */
    assert_int_equal (uv_run (&loop, UV_RUN_NOWAIT), 0);
    assert_int_equal (st.rounds, 2);                        /* no tick after destroy */
    assert_int_equal (uv_loop_close (&loop), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_rounds_until_destroyed),
        cmocka_unit_test (test_run_now),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
