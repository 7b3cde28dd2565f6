/* test_health: common/health.c. The pure parts: the file's text and back,
 * what a file that is not ours looks like, the verdict for live and ready at
 * a given "now". Then the daemon side and the checker together on a file in
 * a temporary directory (PM_HEALTH_FILE): beats write it, the checker's exit
 * status follows what it says, a file of a process that is gone fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "envelope.h"
#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A fresh worker's state at now: the loop just turned, one broker of two, db up. */
static health_state_t
s_worker (int64_t now)
{
    health_state_t st = { .pid = 4242, .started = 99, .written_ms = now, .loop_ms = now,
                          .busy_max_ms = 300000, .brokers_up = 1, .brokers = 2, .bound = -1,
                          .db = HEALTH_DB_UP, .db_checked_ms = now - 1000 };
    strcpy (st.service, "tickets");
    return st;
}

static int
s_parse (const char *text, health_state_t *st, char *err)
{
    return health_parse (text, strlen (text), st, err, 128);
}

static void
test_round_trip (void **state)
{
    (void) state;
    char buf[HEALTH_FILE_MAX], err[128];
    health_state_t in = s_worker (123456789), out;
    in.busy_since_ms = 123450000;
    int n = health_format (&in, 1765000000, buf, sizeof buf);
    assert_true (n > 0);
    assert_int_equal ((size_t) n, strlen (buf));
    assert_non_null (strstr (buf, "written_at=2025-12-06T"));   /* for people; not read back */
    assert_int_equal (health_parse (buf, (size_t) n, &out, err, sizeof err), 0);
    assert_string_equal (out.service, "tickets");
    assert_int_equal (out.pid, 4242);
    assert_int_equal (out.started, 99);
    assert_int_equal (out.written_ms, 123456789);
    assert_int_equal (out.loop_ms, 123456789);
    assert_int_equal (out.busy_since_ms, 123450000);
    assert_int_equal (out.busy_max_ms, 300000);
    assert_int_equal (out.brokers_up, 1);
    assert_int_equal (out.brokers, 2);
    assert_int_equal (out.bound, -1);
    assert_int_equal (out.db, HEALTH_DB_UP);
    assert_int_equal (out.db_checked_ms, 123456789 - 1000);

    /* the broker: bound, no brokers line, no database */
    health_state_t b = { .pid = 7, .written_ms = 5, .loop_ms = 5, .busy_max_ms = 1000,
                         .brokers_up = -1, .brokers = -1, .bound = 1, .db = HEALTH_DB_NONE };
    strcpy (b.service, "broker");
    n = health_format (&b, 0, buf, sizeof buf);
    assert_true (n > 0);
    assert_null (strstr (buf, "brokers="));
    assert_int_equal (health_parse (buf, (size_t) n, &out, err, sizeof err), 0);
    assert_int_equal (out.bound, 1);
    assert_int_equal (out.brokers, -1);
    assert_int_equal (out.db, HEALTH_DB_NONE);

    /* too small a buffer: -1, never a cut file */
    assert_int_equal (health_format (&in, 0, buf, 40), -1);
    assert_int_equal (health_format (&in, 0, buf, (size_t) health_format (&in, 0, buf, sizeof buf)), -1);
}

static void
test_parse_tolerates (void **state)
{
    (void) state;
    health_state_t st;
    char err[128];
    /* comments, CRLF, unknown keys of a newer writer, no final newline;
     * the optional keys take their defaults */
    assert_int_equal (s_parse ("# hello\r\nversion=1\r\nservice=billing\r\npid=12\r\n\r\n"
                               "written_ms=10\nloop_ms=9\nsomething_new=whatever\nstarted=0", &st, err), 0);
    assert_string_equal (st.service, "billing");
    assert_int_equal (st.pid, 12);
    assert_int_equal (st.loop_ms, 9);
    assert_int_equal (st.busy_since_ms, 0);
    assert_int_equal (st.busy_max_ms, HEALTH_BUSY_MAX_MS);
    assert_int_equal (st.brokers, -1);
    assert_int_equal (st.bound, -1);
    assert_int_equal (st.db, HEALTH_DB_NONE);
}

static void
test_parse_rejects (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        const char *err;             /* a part of the message */
    } bad[] = {
        { "", "no version" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\n", "no loop_ms" },
        { "version=1\npid=1\nwritten_ms=1\nloop_ms=1\n", "no service" },
        { "version=2\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\n", "format version" },
        { "version=1\nservice=Tick ets\npid=1\nwritten_ms=1\nloop_ms=1\n", "bad service" },
        { "version=1\nservice=\npid=1\nwritten_ms=1\nloop_ms=1\n", "bad service" },
        { "version=1\nservice=abcdefghijklmnopqrstuvwxyz0123456\npid=1\nwritten_ms=1\nloop_ms=1\n", "bad service" },
        { "version=1\nservice=tickets\npid=0\nwritten_ms=1\nloop_ms=1\n", "bad pid" },
        { "version=1\nservice=tickets\npid=-5\nwritten_ms=1\nloop_ms=1\n", "bad pid" },
        { "version=1\nservice=tickets\npid=99999999999\nwritten_ms=1\nloop_ms=1\n", "bad pid" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=99999999999999999999\nloop_ms=1\n", "bad written_ms" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1x\nloop_ms=1\n", "bad written_ms" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=\n", "bad loop_ms" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbrokers=2/1\n", "bad brokers" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbrokers=1/0\n", "bad brokers" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbrokers=1\n", "bad brokers" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbrokers=x/2\n", "bad brokers" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbrokers=11111111111111111111/2\n", "bad brokers" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\ndb=maybe\n", "bad db" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbound=2\n", "bad bound" },
        { "version=1\nservice=tickets\npid=1\nwritten_ms=1\nloop_ms=1\nbusy_max_ms=0\n", "bad busy_max_ms" },
        { "version=1\nservice=tickets\nthis line has no equals sign\n", "without '='" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        health_state_t st;
        char err[128] = "";
        if (s_parse (bad[i].text, &st, err) != -1 || !strstr (err, bad[i].err))
            fail_msg ("case %zu: err '%s', wanted '%s'", i, err, bad[i].err);
    }
    /* a NUL byte, a line too long */
    health_state_t st;
    char err[128];
    const char nul[] = "version=1\nservice=tickets\0\npid=1\n";
    assert_int_equal (health_parse (nul, sizeof nul - 1, &st, err, sizeof err), -1);
    assert_non_null (strstr (err, "NUL"));
    char big[600];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal (s_parse (big, &st, err), -1);
    assert_non_null (strstr (err, "longer"));
}

static int
s_judge (const health_state_t *st, health_mode_t mode, int64_t now, char *why)
{
    why[0] = 0;
    return health_judge (st, mode, now, 10000, why, 256);
}

static void
test_judge_live (void **state)
{
    (void) state;
    char why[256];
    int64_t now = 1000000;
    health_state_t st = s_worker (now - 2000);
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 0);
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 0);

    /* written 10 s ago: still inside the window; 12 s: stale by 2 s */
    st = s_worker (now - 10000);
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 0);
    st = s_worker (now - 12000);
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 1);
    assert_non_null (strstr (why, "stale by 2 s"));
    assert_non_null (strstr (why, "12 s ago"));
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 1);

    /* fresh file, loop not turned for 15 s, not busy: stuck */
    st = s_worker (now);
    st.loop_ms = now - 15000;
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 1);
    assert_non_null (strstr (why, "loop stuck"));

    /* ... busy in a handler for 60 s of its 300: alive, and ready on what it knew */
    st.busy_since_ms = now - 60000;
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 0);
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 0);
    /* ... for 301 s: past its limit */
    st.busy_since_ms = now - 301000;
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 1);
    assert_non_null (strstr (why, "busy for 301 s"));

    /* a file from before this boot (monotonic time restarted) */
    st = s_worker (now + 60000);
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 1);
    assert_non_null (strstr (why, "future"));
}

static void
test_judge_ready (void **state)
{
    (void) state;
    char why[256];
    int64_t now = 1000000;
    health_state_t st = s_worker (now);

    st.brokers_up = 0;
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 0);
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 1);
    assert_non_null (strstr (why, "no broker"));
    assert_non_null (strstr (why, "none of 2"));

    st = s_worker (now);
    st.db = HEALTH_DB_DOWN;
    st.db_checked_ms = now - 3000;
    assert_int_equal (s_judge (&st, HEALTH_LIVE, now, why), 0);
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 1);
    assert_non_null (strstr (why, "database down (checked 3 s ago)"));

    st.db = HEALTH_DB_UNKNOWN;
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 1);
    assert_non_null (strstr (why, "not checked"));

    /* no database at all (a worker without one): brokers decide */
    st.db = HEALTH_DB_NONE;
    assert_int_equal (s_judge (&st, HEALTH_READY, now, why), 0);

    /* the broker: bound or not */
    health_state_t b = { .pid = 7, .written_ms = now, .loop_ms = now, .busy_max_ms = 1000,
                         .brokers_up = -1, .brokers = -1, .bound = 1 };
    strcpy (b.service, "broker");
    assert_int_equal (s_judge (&b, HEALTH_READY, now, why), 0);
    b.bound = 0;
    assert_int_equal (s_judge (&b, HEALTH_LIVE, now, why), 0);
    assert_int_equal (s_judge (&b, HEALTH_READY, now, why), 1);
    assert_non_null (strstr (why, "not bound"));
}

/* ---- the daemon side and the checker, on a real file ------------------ */

static char s_dir[64];
static char s_file[128];

static int
s_check (const char *daemon, const char *mode)
{
    char *argv[] = { (char *) "pm-x", (char *) "--check", (char *) mode, NULL };
    return health_check_main (daemon, mode ? 3 : 2, argv);
}

static void
s_read (health_state_t *st)
{
    char text[HEALTH_FILE_MAX + 1], err[128];
    FILE *f = fopen (s_file, "r");
    assert_non_null (f);
    size_t n = fread (text, 1, sizeof text, f);
    fclose (f);
    assert_int_equal (health_parse (text, n, st, err, sizeof err), 0);
}

static void
s_write_file (const char *text)
{
    FILE *f = fopen (s_file, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

static void
test_usage (void **state)
{
    (void) state;
    char *a[] = { (char *) "pm-x", (char *) "--check", (char *) "ready", (char *) "more", NULL };
    assert_int_equal (health_check_main ("tickets", 4, a), 2);
    char *b[] = { (char *) "pm-x", (char *) "--chek", NULL };
    assert_int_equal (health_check_main ("tickets", 2, b), 2);
    assert_int_equal (s_check ("tickets", "alive"), 2);
    assert_int_not_equal (s_check ("tickets", "live"), 2);       /* a verdict, not a usage error */
}

static void
test_beats_and_checker (void **state)
{
    (void) state;
    unlink (s_file);
    /* nothing written yet */
    assert_int_equal (s_check ("tickets", "live"), 1);
    assert_int_equal (health_db_due (), true);

    /* the first beat: a broker of one, the database up */
    health_db_result (true);
    assert_int_equal (health_db_due (), false);
    health_loop_beat ("tickets", 1, 1);
    assert_int_equal (access (s_file, R_OK), 0);
    assert_int_equal (s_check ("tickets", "live"), 0);
    assert_int_equal (s_check ("tickets", "ready"), 0);
    assert_int_equal (s_check ("tickets", NULL), 0);             /* ready by default */
    health_state_t st;
    s_read (&st);
    assert_int_equal (st.pid, (long) getpid ());
    assert_int_equal (st.db, HEALTH_DB_UP);
    assert_int_equal (st.brokers_up, 1);
    assert_true (st.started > 0);                                /* /proc/self/stat read */

    /* another daemon's checker does not take this file as its own */
    assert_int_equal (s_check ("billing", "live"), 1);

    /* the database goes: a change is written at the next beat, not 2 s later */
    health_db_result (false);
    health_loop_beat ("tickets", 1, 1);
    assert_int_equal (s_check ("tickets", "live"), 0);
    assert_int_equal (s_check ("tickets", "ready"), 1);
    health_db_result (true);
    health_loop_beat ("tickets", 1, 1);
    assert_int_equal (s_check ("tickets", "ready"), 0);

    /* the broker goes */
    health_loop_beat ("tickets", 0, 1);
    assert_int_equal (s_check ("tickets", "ready"), 1);
    assert_int_equal (s_check ("tickets", "live"), 0);
    health_loop_beat ("tickets", 1, 1);
    assert_int_equal (s_check ("tickets", "ready"), 0);

    /* a long handler: the heartbeat thread's beat, once the write period passed */
    usleep ((HEALTH_WRITE_MS + 200) * 1000);
    int64_t since = env_mono_ms () - 1500;
    health_busy_beat (since);
    s_read (&st);
    assert_int_equal (st.busy_since_ms, since);
    assert_int_equal (s_check ("tickets", "live"), 0);
    /* the loop's next beat clears it (written when the period passes again) */
    health_loop_beat ("tickets", 1, 1);
}

static void
test_checker_refuses_strangers (void **state)
{
    (void) state;
    char text[512];
    long now = (long) env_mono_ms ();

    /* a file of a process that is gone */
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0)
        _exit (0);
    waitpid (child, NULL, 0);
    snprintf (text, sizeof text, "version=1\nservice=tickets\npid=%ld\nwritten_ms=%ld\nloop_ms=%ld\n",
              (long) child, now, now);
    s_write_file (text);
    assert_int_equal (s_check ("tickets", "live"), 1);

    /* our pid, but another start time: the pid was taken by a later process */
    snprintf (text, sizeof text, "version=1\nservice=tickets\npid=%ld\nstarted=1\nwritten_ms=%ld\nloop_ms=%ld\n",
              (long) getpid (), now, now);
    s_write_file (text);
    assert_int_equal (s_check ("tickets", "live"), 1);

    /* the same without a start time: fresh, so live */
    snprintf (text, sizeof text, "version=1\nservice=tickets\npid=%ld\nwritten_ms=%ld\nloop_ms=%ld\n",
              (long) getpid (), now, now);
    s_write_file (text);
    assert_int_equal (s_check ("tickets", "live"), 0);

    /* stale by the checker's own window (PM_HEALTH_STALE_MS) */
    snprintf (text, sizeof text, "version=1\nservice=tickets\npid=%ld\nwritten_ms=%ld\nloop_ms=%ld\n",
              (long) getpid (), now - 3000, now - 3000);
    s_write_file (text);
    assert_int_equal (s_check ("tickets", "live"), 0);
    setenv ("PM_HEALTH_STALE_MS", "2000", 1);
    assert_int_equal (s_check ("tickets", "live"), 1);
    unsetenv ("PM_HEALTH_STALE_MS");

    /* garbage, and a file too long to be ours */
    s_write_file ("version=1\nservice=tickets\npid=oops\n");
    assert_int_equal (s_check ("tickets", "live"), 1);
    char big[HEALTH_FILE_MAX + 100];
    memset (big, '#', sizeof big - 1);
    big[sizeof big - 1] = 0;
    s_write_file (big);
    assert_int_equal (s_check ("tickets", "live"), 1);
    unlink (s_file);
}

static int
s_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/pm-health-XXXXXX");
    if (!mkdtemp (s_dir))
        return -1;
    snprintf (s_file, sizeof s_file, "%s/tickets.health", s_dir);
    setenv ("PM_HEALTH_FILE", s_file, 1);
    unsetenv ("PM_HEALTH_STALE_MS");
    unsetenv ("PM_HEALTH_BUSY_MAX_MS");
    return 0;
}

static int
s_teardown (void **state)
{
    (void) state;
    unlink (s_file);
    char tmp[192];
    snprintf (tmp, sizeof tmp, "%s.%ld.tmp", s_file, (long) getpid ());
    unlink (tmp);
    rmdir (s_dir);
    return 0;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_parse_tolerates),
        cmocka_unit_test (test_parse_rejects),
        cmocka_unit_test (test_judge_live),
        cmocka_unit_test (test_judge_ready),
        cmocka_unit_test (test_usage),
        cmocka_unit_test (test_beats_and_checker),
        cmocka_unit_test (test_checker_refuses_strangers),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
