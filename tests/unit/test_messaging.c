/* test_messaging: the broker, workers and clients, for real.
 *
 * Runs the built $BUILD/bin/pm-broker (BUILD defaults to "build") with
 * PM_DATA_DIR in a fresh temporary directory. Workers are this same binary
 * started again as "--worker SERVICE" (a fresh process: kill -9 is a real
 * crash); the clients (client_call, and client_new on a local uv loop) run
 * in the test process. Each test uses its own service names, so a test
 * never sees another's workers.
 *
 * The bus is CURVE as in production: the setup makes a key for the test
 * process ("test") and one per worker service name (s_identities), and each
 * worker process takes its service's key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client.h"
#include "config.h"
#include "curve.h"
#include "log.h"
#include "mdp.h"
#include "worker.h"
#include "zloop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static char s_self[4096];
static char s_dir[256];
static char s_broker_bin[4096];
static pid_t s_broker_pid;
static pid_t s_workers[16];
static int s_nworkers;
static int s_seq;
static const env_caller_t s_caller = { .user_id = "test", .role = "service" };

static int64_t
s_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The one factor timed bounds and waits scale by: PM_TEST_SLOWDOWN (tests/run.sh
 * sets 3 on an ASan build), at least 1. Lower bounds are not scaled. */
static int64_t
s_slow (int64_t ms)
{
    const char *f = getenv ("PM_TEST_SLOWDOWN");
    double k = f ? strtod (f, NULL) : 1.0;
    return k > 1.0 ? (int64_t) ((double) ms * k) : ms;
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) != 0 && errno == EINTR)
        ;
}

static const char *
s_next_id (char buf[64])
{
    snprintf (buf, 64, "t-%d-%d", (int) getpid (), ++s_seq);
    return buf;
}

/* ==== the worker side (a child process) ================================ */

static int s_marks;

static void
s_h_echo (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "pid", getpid ());
    cJSON_AddItemToObject (body, "data", req->data ? cJSON_Duplicate (req->data, 1)
                                                   : cJSON_CreateNull ());
    env_reply_ok (rep, 200, body);
}

static void
s_h_sleep (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    const char *ms = env_param (req, "ms");
    s_sleep_ms (ms ? atoi (ms) : 100);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "pid", getpid ());
    env_reply_ok (rep, 200, body);
}

/* "loopjob": answers at once, then keeps the loop busy outside any handler
 * for ms milliseconds (as a consumer's round does), inside worker_loop_busy. */
static uv_timer_t s_job_timer;

static void
s_on_loop_job (uv_timer_t *t)
{
    worker_loop_busy (true);
    s_sleep_ms ((int) (intptr_t) t->data);
    worker_loop_busy (false);
}

static void
s_h_loopjob (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    const char *ms = env_param (req, "ms");
    s_job_timer.data = (void *) (intptr_t) (ms ? atoi (ms) : 100);
    uv_timer_start (&s_job_timer, s_on_loop_job, 0, 0);
    env_reply_ok (rep, 200, cJSON_CreateObject ());
}

static void
s_h_mark (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    (void) req;
    s_marks++;
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "marks", s_marks);
    env_reply_ok (rep, 201, body);
}

static void
s_h_count (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    (void) req;
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "marks", s_marks);
    env_reply_ok (rep, 200, body);
}

static void
s_h_nostatus (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    (void) req;
    (void) rep;                      /* a buggy handler: sets nothing */
}

/* Asks another service from inside a handler, as tickets asks tenants. */
static void
s_h_relay (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    const char *target = env_param (req, "to");
    env_reply_t inner;
    if (!target) {
        env_reply_error (rep, 422, "validation_failed", NULL, "to is required");
        return;
    }
    /* a service calls as itself: the broker tells the callee which key asked */
    const env_caller_t self = { .user_id = curve_identity (), .role = "service" };
    int rc = client_call (target, &self, req->id, req->deadline_ms, NULL, &inner);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "rc", rc);
    cJSON_AddNumberToObject (body, "status", inner.status);
    cJSON_AddItemToObject (body, "inner", inner.body ? inner.body : cJSON_CreateNull ());
    inner.body = NULL;
    env_reply_reset (&inner);
    env_reply_ok (rep, 200, body);
}

/* A file in, the same file out with its bytes reversed (so an answer that
 * merely echoed the frame would show), as a blob reply (mdp.h). Without a
 * blob: 422. With ?big=1: a reply of MDP_BLOB_MAX bytes. */
static void
s_h_blob (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app;
    const char *big = env_param (req, "big");
    if (big) {
        char *bytes = calloc (1, MDP_BLOB_MAX);
        bytes[MDP_BLOB_MAX - 1] = 'z';
        env_reply_blob (rep, 200, "application/pdf", "大.pdf", bytes, MDP_BLOB_MAX);
        free (bytes);
        return;
    }
    if (!req->blob) {
        env_reply_error (rep, 422, "validation_failed", NULL, "no file");
        return;
    }
    unsigned char *out = malloc (req->blob_len + 1);
    for (size_t i = 0; i < req->blob_len; i++)
        out[i] = ((const unsigned char *) req->blob)[req->blob_len - 1 - i];
    env_reply_blob (rep, 200, env_param (req, "content_type"), env_param (req, "filename"), out,
                    req->blob_len);
    free (out);
}

static void
s_worker_on_stop (void *arg)
{
    worker_stop (arg);
}

static int
s_worker_main (const char *service)
{
    log_init (service);
    if (curve_init (service) != 0)
        return 1;
    static char names[8][64];
    static const char *const suffix[8] = { "echo", "sleep", "mark", "count", "nostatus", "relay",
                                           "loopjob", "blob" };
    for (int i = 0; i < 8; i++)
        snprintf (names[i], sizeof names[i], "%s.%s", service, suffix[i]);
    worker_method_t methods[] = {
        { names[0], s_h_echo },  { names[1], s_h_sleep },    { names[2], s_h_mark },
        { names[3], s_h_count }, { names[4], s_h_nostatus }, { names[5], s_h_relay },
        { names[6], s_h_loopjob }, { names[7], s_h_blob }, { NULL, NULL } };
    uv_loop_t loop;
    uv_loop_init (&loop);
    uv_timer_init (&loop, &s_job_timer);
    uv_unref ((uv_handle_t *) &s_job_timer);
    worker_t *w = worker_new (&loop, service, methods, NULL);
    if (!w)
        return 1;
    zloop_handle_signals (&loop, s_worker_on_stop, w);
    uv_run (&loop, UV_RUN_DEFAULT);
    worker_destroy (&w);
    uv_run (&loop, UV_RUN_DEFAULT);
    uv_loop_close (&loop);
    return 0;
}

/* ==== processes ======================================================= */

static pid_t
s_spawn (const char *path, char *const argv[], const char *logname)
{
    char log[512];
    snprintf (log, sizeof log, "%s/%s.log", s_dir, logname);
    int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid = fork ();
    if (pid == 0) {
        if (fd >= 0) {
            dup2 (fd, 2);
            close (fd);
        }
        execv (path, argv);
        _exit (127);
    }
    if (fd >= 0)
        close (fd);
    return pid;
}

static void
s_reap (pid_t pid, int sig)
{
    if (pid <= 0)
        return;
    kill (pid, sig);
    for (int i = 0; i < 300; i++) {              /* up to 3 s, then no mercy */
        if (waitpid (pid, NULL, WNOHANG) == pid)
            return;
        s_sleep_ms (10);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
}

static pid_t
s_start_broker (void)
{
    char *argv[] = { s_broker_bin, NULL };
    return s_spawn (s_broker_bin, argv, "broker");
}

/* broker.stats body (caller frees), or NULL. */
static cJSON *
s_stats (void)
{
    char id[64];
    env_reply_t rep;
    int rc = client_call ("broker.stats", &s_caller, s_next_id (id), env_now_ms () + 500, NULL,
                          &rep);
    cJSON *body = NULL;
    if (rc == 0 && rep.status == 200) {
        body = rep.body;
        rep.body = NULL;
    }
    env_reply_reset (&rep);
    return body;
}

static int
s_stat (const cJSON *stats, const char *service, const char *field)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive (
        cJSON_GetObjectItemCaseSensitive (stats, "services"), service);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (s, field);
    return cJSON_IsNumber (v) ? v->valueint : -1;
}

/* Waits until the broker counts n workers for service; true on success. */
static bool
s_wait_workers (const char *service, int n, int timeout_ms)
{
    int64_t end = s_mono_ms () + s_slow (timeout_ms);
    while (s_mono_ms () < end) {
        cJSON *stats = s_stats ();
        int workers = s_stat (stats, service, "workers");
        cJSON_Delete (stats);
        if (workers == n || (n == 0 && workers == -1))
            return true;
        s_sleep_ms (20);
    }
    return false;
}

static pid_t
s_start_worker (const char *service)
{
    char *argv[] = { s_self, "--worker", (char *) service, NULL };
    pid_t pid = s_spawn (s_self, argv, service);
    if (pid > 0 && s_nworkers < (int) (sizeof s_workers / sizeof s_workers[0]))
        s_workers[s_nworkers++] = pid;
    return pid;
}

static void
s_forget_worker (pid_t pid)
{
    for (int i = 0; i < s_nworkers; i++)
        if (s_workers[i] == pid)
            s_workers[i] = 0;
}

static int
s_teardown_workers (void **state)
{
    (void) state;
    for (int i = 0; i < s_nworkers; i++)
        s_reap (s_workers[i], SIGTERM);
    s_nworkers = 0;
    return 0;
}

/* A synchronous call; returns the status and keeps the body in *body_out. */
static int
s_call (const char *method, cJSON *data, int timeout_ms, cJSON **body_out, char code[32])
{
    char id[64];
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "params", cJSON_CreateObject ());
    cJSON_AddItemToObject (body, "data", data ? data : cJSON_CreateNull ());
    env_reply_t rep;
    client_call (method, &s_caller, s_next_id (id), env_now_ms () + timeout_ms, body, &rep);
    int status = rep.status;
    if (code)
        snprintf (code, 32, "%s", rep.code ? rep.code : "");
    if (body_out) {
        *body_out = rep.body;
        rep.body = NULL;
    }
    env_reply_reset (&rep);
    return status;
}

static int
s_body_int (const cJSON *body, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (body, field);
    return cJSON_IsNumber (v) ? v->valueint : -1;
}

/* ==== asynchronous client helpers ===================================== */

typedef struct {
    int done;
    int status;
    char code[32];
    int64_t at_ms;                   /* monotonic, when the callback ran */
    int pid;
} s_result_t;

static void
s_on_result (void *arg, env_reply_t *rep)
{
    s_result_t *r = arg;
    r->done++;
    r->status = rep->status;
    snprintf (r->code, sizeof r->code, "%s", rep->code ? rep->code : "");
    r->at_ms = s_mono_ms ();
    r->pid = s_body_int (rep->body, "pid");
}

static int
s_send (client_t *c, const char *method, const char *ms_param, int timeout_ms, s_result_t *r)
{
    char id[64], service[64];
    snprintf (service, sizeof service, "%.*s", (int) strcspn (method, "."), method);
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    if (ms_param)
        cJSON_AddStringToObject (params, "ms", ms_param);
    int64_t deadline = env_now_ms () + timeout_ms;
    char *req = env_request_build (s_next_id (id), method, &s_caller, deadline, body);
    int rc = client_send (c, service, id, req, deadline, s_on_result, r);
    free (req);
    return rc;
}

static void
s_on_tick (uv_timer_t *t)
{
    (void) t;                        /* wakes uv_run so the caller re-checks */
}

/* Runs the loop until every result is done or timeout_ms passes; on_due
 * (may be NULL) is called once when due_ms have passed. */
static bool
s_run_until (uv_loop_t *loop, s_result_t *results, int n, int timeout_ms, int due_ms,
             void (*on_due) (void *), void *arg)
{
    uv_timer_t tick;
    uv_timer_init (loop, &tick);
    uv_timer_start (&tick, s_on_tick, 10, 10);
    int64_t start = s_mono_ms ();
    bool all = false;
    while (s_mono_ms () - start < s_slow (timeout_ms)) {
        uv_run (loop, UV_RUN_ONCE);
        if (on_due && s_mono_ms () - start >= due_ms) {
            on_due (arg);
            on_due = NULL;
        }
        all = true;
        for (int i = 0; i < n; i++)
            if (!results[i].done)
                all = false;
        if (all)
            break;
    }
    uv_close ((uv_handle_t *) &tick, NULL);
    uv_run (loop, UV_RUN_NOWAIT);
    return all;
}

static void
s_close_loop (uv_loop_t *loop)
{
    uv_run (loop, UV_RUN_DEFAULT);               /* close callbacks */
    assert_int_equal (uv_loop_close (loop), 0);
}

/* ==== tests =========================================================== */

static void
test_round_trip (void **state)
{
    (void) state;
    pid_t pid = s_start_worker ("echo");
    assert_true (s_wait_workers ("echo", 1, 3000));

    cJSON *body = NULL;
    cJSON *data = cJSON_Parse ("{\"x\":42,\"name\":\"物业\"}");
    assert_int_equal (s_call ("echo.echo", data, 2000, &body, NULL), 200);
    assert_int_equal (s_body_int (body, "pid"), pid);
    const cJSON *echoed = cJSON_GetObjectItemCaseSensitive (body, "data");
    assert_int_equal (s_body_int (echoed, "x"), 42);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (echoed, "name")), "物业");
    cJSON_Delete (body);

    /* the built-in ping */
    assert_int_equal (s_call ("echo.ping", NULL, 2000, &body, NULL), 200);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (body, "service")), "echo");
    assert_int_equal (s_body_int (body, "pid"), pid);
    cJSON_Delete (body);

    /* an unknown method, and a handler that sets no status */
    char code[32];
    assert_int_equal (s_call ("echo.nope", NULL, 2000, NULL, code), 404);
    assert_string_equal (code, "not_found");
    assert_int_equal (s_call ("echo.nostatus", NULL, 2000, NULL, code), 500);
    assert_string_equal (code, "internal");

    /* round trip time, synchronous ping-pong */
    enum { N = 2000 };
    static int64_t us[N];
    for (int i = 0; i < N; i++) {
        struct timespec a, b;
        clock_gettime (CLOCK_MONOTONIC, &a);
        assert_int_equal (s_call ("echo.ping", NULL, 2000, NULL, NULL), 200);
        clock_gettime (CLOCK_MONOTONIC, &b);
        us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
    }
    int64_t sum = 0;
    for (int i = 0; i < N; i++)
        sum += us[i];
    for (int i = 1; i < N; i++)              /* insertion sort: small N */
        for (int j = i; j > 0 && us[j - 1] > us[j]; j--) {
            int64_t t = us[j];
            us[j] = us[j - 1];
            us[j - 1] = t;
        }
    print_message ("    client_call ping via broker: mean %lld us, p50 %lld us, p99 %lld us (n=%d)\n",
                   (long long) (sum / N), (long long) us[N / 2], (long long) us[N * 99 / 100], N);
    assert_true (us[N / 2] < s_slow (20000));

    /* the asynchronous client, many in flight at once */
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    assert_non_null (c);
    enum { M = 500 };
    static s_result_t res[M];
    memset (res, 0, sizeof res);
    int64_t t0 = s_mono_ms ();
    for (int i = 0; i < M; i++)
        assert_int_equal (s_send (c, "echo.echo", NULL, 5000, &res[i]), 0);
    assert_int_equal (client_pending (c), M);
    assert_true (s_run_until (&loop, res, M, 5000, 0, NULL, NULL));
    int64_t elapsed = s_mono_ms () - t0;
    for (int i = 0; i < M; i++) {
        assert_int_equal (res[i].done, 1);
        assert_int_equal (res[i].status, 200);
        assert_int_equal (res[i].pid, pid);
    }
    assert_int_equal (client_pending (c), 0);
    print_message ("    async client: %d requests in flight, one worker: %lld ms (%.0f req/s)\n", M,
                   (long long) elapsed, elapsed ? M * 1000.0 / (double) elapsed : 0.0);

    /* a request id already pending is refused; destroy answers 503 */
    s_result_t r1 = { 0 }, r2 = { 0 };
    char *req = env_request_build ("dup-1", "echo.sleep", &s_caller, env_now_ms () + 5000, NULL);
    assert_int_equal (client_send (c, "echo", "dup-1", req, env_now_ms () + 5000, s_on_result, &r1), 0);
    assert_int_equal (client_send (c, "echo", "dup-1", req, env_now_ms () + 5000, s_on_result, &r2), -1);
    assert_int_equal (client_send (c, "bad service", "dup-2", req, env_now_ms () + 5000, s_on_result, &r2), -1);
    free (req);
    client_destroy (&c);
    assert_null (c);
    assert_int_equal (r1.done, 1);
    assert_int_equal (r1.status, 503);
    assert_int_equal (r2.done, 0);
    s_close_loop (&loop);
}

static void
test_unknown_service_503 (void **state)
{
    (void) state;
    char code[32];
    int64_t t0 = s_mono_ms ();
    assert_int_equal (s_call ("nosuch.thing", NULL, 5000, NULL, code), 503);
    int64_t elapsed = s_mono_ms () - t0;
    assert_string_equal (code, "service_unavailable");
    print_message ("    no worker -> 503 after %lld ms\n", (long long) elapsed);
    assert_true (elapsed >= MDP_NO_WORKER_WAIT_MS - 100);
    assert_true (elapsed < s_slow (1000));

    /* several waiting at once are all answered */
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    s_result_t res[5] = { 0 };
    t0 = s_mono_ms ();
    for (int i = 0; i < 5; i++)
        assert_int_equal (s_send (c, i % 2 ? "ghost.a" : "phantom.b", NULL, 5000, &res[i]), 0);
    assert_true (s_run_until (&loop, res, 5, 3000, 0, NULL, NULL));
    for (int i = 0; i < 5; i++) {
        assert_int_equal (res[i].status, 503);
        assert_true (res[i].at_ms - t0 < s_slow (1000));
    }
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_worker_registers_late (void **state)
{
    (void) state;
    /* The request arrives before any worker: the broker holds it while a
     * worker comes up, instead of failing at once. */
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    s_result_t r = { 0 };
    assert_int_equal (s_send (c, "late.echo", NULL, 3000, &r), 0);
    s_sleep_ms (50);
    pid_t pid = s_start_worker ("late");
    assert_true (s_run_until (&loop, &r, 1, 3000, 0, NULL, NULL));
    assert_int_equal (r.status, 200);
    assert_int_equal (r.pid, pid);
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_lru_two_workers (void **state)
{
    (void) state;
    pid_t a = s_start_worker ("lru");
    pid_t b = s_start_worker ("lru");
    assert_true (s_wait_workers ("lru", 2, 3000));
    int last = 0, seen_a = 0, seen_b = 0;
    for (int i = 0; i < 10; i++) {
        cJSON *body = NULL;
        assert_int_equal (s_call ("lru.echo", NULL, 2000, &body, NULL), 200);
        int pid = s_body_int (body, "pid");
        cJSON_Delete (body);
        assert_true (pid == a || pid == b);
        assert_int_not_equal (pid, last);        /* least recently used first */
        last = pid;
        seen_a += pid == a;
        seen_b += pid == b;
    }
    assert_int_equal (seen_a, 5);
    assert_int_equal (seen_b, 5);

    /* both busy: the third request waits (at a worker, within its credit,
     * or in the broker's queue) until a 300 ms one is done */
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    s_result_t res[3] = { 0 };
    assert_int_equal (s_send (c, "lru.sleep", "300", 5000, &res[0]), 0);
    assert_int_equal (s_send (c, "lru.sleep", "300", 5000, &res[1]), 0);
    assert_int_equal (s_send (c, "lru.sleep", "10", 5000, &res[2]), 0);
    int64_t t0 = s_mono_ms ();
    assert_true (s_run_until (&loop, res, 3, 3000, 0, NULL, NULL));
    assert_int_not_equal (res[0].pid, res[1].pid);
    for (int i = 0; i < 3; i++)
        assert_int_equal (res[i].status, 200);
    assert_true (res[2].at_ms - t0 >= 250);
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_service_calls_service (void **state)
{
    (void) state;
    /* A handler of "front" calls "back" synchronously through the broker. */
    s_start_worker ("front");
    pid_t back = s_start_worker ("back");
    assert_true (s_wait_workers ("front", 1, 3000));
    assert_true (s_wait_workers ("back", 1, 3000));
    char id[64];
    for (int i = 0; i < 3; i++) {            /* the cached per-thread socket, reused */
        cJSON *body = cJSON_Parse ("{\"params\":{\"to\":\"back.echo\"}}");
        env_reply_t rep;
        assert_int_equal (client_call ("front.relay", &s_caller, s_next_id (id),
                                       env_now_ms () + 3000, body, &rep), 0);
        assert_int_equal (rep.status, 200);
        assert_int_equal (s_body_int (rep.body, "rc"), 0);
        assert_int_equal (s_body_int (rep.body, "status"), 200);
        assert_int_equal (s_body_int (cJSON_GetObjectItem (rep.body, "inner"), "pid"), back);
        env_reply_reset (&rep);
    }
    /* the inner call to a service with no worker: the broker's 503 comes back */
    cJSON *body = cJSON_Parse ("{\"params\":{\"to\":\"nobody.echo\"}}");
    env_reply_t rep;
    assert_int_equal (client_call ("front.relay", &s_caller, s_next_id (id),
                                   env_now_ms () + 3000, body, &rep), 0);
    assert_int_equal (s_body_int (rep.body, "status"), 503);
    env_reply_reset (&rep);
    /* client_call refuses what it cannot send, with a 5xx and -1 */
    assert_int_equal (client_call ("nodot", &s_caller, "x", 0, NULL, &rep), -1);
    assert_int_equal (rep.status, 500);
    env_reply_reset (&rep);
    assert_int_equal (client_call ("back.echo", &s_caller, "bad id", 0, NULL, &rep), -1);
    env_reply_reset (&rep);
    assert_int_equal (client_call ("back.echo", &s_caller, "late", env_now_ms () - 1, NULL, &rep), -1);
    assert_int_equal (rep.status, 504);
    env_reply_reset (&rep);
    assert_int_equal (client_call ("back.echo", &s_caller, s_next_id (id), 0, NULL, &rep), 0);
    assert_int_equal (rep.status, 200);           /* 0: the default deadline */
    env_reply_reset (&rep);
}

static pid_t s_victim;
static int64_t s_killed_at;

static void
s_kill_victim (void *arg)
{
    (void) arg;
    kill (s_victim, SIGKILL);
    s_killed_at = s_mono_ms ();
}

static void
test_worker_killed_in_flight (void **state)
{
    (void) state;
    s_victim = s_start_worker ("victim");
    assert_true (s_wait_workers ("victim", 1, 3000));
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    /* one running, the rest of its credit waiting in its socket: all 503 */
    s_result_t r[WORKER_CREDIT] = { { 0 } };
    for (int i = 0; i < WORKER_CREDIT; i++)
        assert_int_equal (s_send (c, "victim.sleep", "3000", 5000, &r[i]), 0);
    assert_true (s_run_until (&loop, r, WORKER_CREDIT, 4000, 200, s_kill_victim, NULL));
    for (int i = 0; i < WORKER_CREDIT; i++) {
        int64_t after = r[i].at_ms - s_killed_at;
        print_message ("    worker killed in flight -> %d after %lld ms\n", r[i].status,
                       (long long) after);
        assert_int_equal (r[i].status, 503);
        assert_string_equal (r[i].code, "service_unavailable");
        assert_true (after < s_slow (1500));
    }
    waitpid (s_victim, NULL, 0);
    s_forget_worker (s_victim);
    assert_true (s_wait_workers ("victim", 0, 1000));
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_worker_stop_says_disconnect (void **state)
{
    (void) state;
    pid_t pid = s_start_worker ("quit");
    assert_true (s_wait_workers ("quit", 1, 3000));
    int64_t t0 = s_mono_ms ();
    s_reap (pid, SIGTERM);
    s_forget_worker (pid);
    /* DISCONNECT: gone at once, not after the heartbeat expiry */
    assert_true (s_wait_workers ("quit", 0, 2000));
    int64_t gone = s_mono_ms () - t0;
    print_message ("    SIGTERM -> worker gone from the broker after %lld ms\n", (long long) gone);
    assert_true (gone < MDP_HEARTBEAT_MS * MDP_HEARTBEAT_LIVENESS);
}

static void
test_broker_restart (void **state)
{
    (void) state;
    pid_t pid = s_start_worker ("phoenix");
    assert_true (s_wait_workers ("phoenix", 1, 3000));
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);            /* connected before the restart */
    s_result_t r = { 0 };
    assert_int_equal (s_send (c, "phoenix.echo", NULL, 2000, &r), 0);
    assert_true (s_run_until (&loop, &r, 1, 2000, 0, NULL, NULL));
    assert_int_equal (r.status, 200);

    s_reap (s_broker_pid, SIGKILL);
    s_broker_pid = 0;
    /* in flight while no broker runs: times out at the client */
    memset (&r, 0, sizeof r);
    assert_int_equal (s_send (c, "phoenix.echo", NULL, 200, &r), 0);
    assert_true (s_run_until (&loop, &r, 1, 1000, 0, NULL, NULL));
    assert_int_equal (r.status, 504);
    assert_string_equal (r.code, "timeout");

    int64_t t0 = s_mono_ms ();
    s_broker_pid = s_start_broker ();
    int status = 0;
    while (s_mono_ms () - t0 < 4000 && status != 200)
        status = s_call ("phoenix.echo", NULL, 300, NULL, NULL);
    int64_t healed = s_mono_ms () - t0;
    print_message ("    broker restarted: worker serving again after %lld ms\n", (long long) healed);
    assert_int_equal (status, 200);

    memset (&r, 0, sizeof r);
    assert_int_equal (s_send (c, "phoenix.echo", NULL, 2000, &r), 0);
    assert_true (s_run_until (&loop, &r, 1, 2000, 0, NULL, NULL));
    assert_int_equal (r.status, 200);
    assert_int_equal (r.pid, pid);

    /* Down longer than the worker's patience: it reconnects on its own
     * (fresh socket, READY) and is registered as soon as the broker is back. */
    s_reap (s_broker_pid, SIGKILL);
    s_sleep_ms (MDP_HEARTBEAT_MS * (MDP_HEARTBEAT_LIVENESS + 1));
    t0 = s_mono_ms ();
    s_broker_pid = s_start_broker ();
    status = 0;
    while (s_mono_ms () - t0 < 4000 && status != 200)
        status = s_call ("phoenix.echo", NULL, 300, NULL, NULL);
    healed = s_mono_ms () - t0;
    print_message ("    broker down %d ms: worker serving again %lld ms after its return\n",
                   MDP_HEARTBEAT_MS * (MDP_HEARTBEAT_LIVENESS + 1), (long long) healed);
    assert_int_equal (status, 200);
    memset (&r, 0, sizeof r);
    assert_int_equal (s_send (c, "phoenix.echo", NULL, 2000, &r), 0);
    assert_true (s_run_until (&loop, &r, 1, 2000, 0, NULL, NULL));
    assert_int_equal (r.status, 200);
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_expired_deadline_skipped (void **state)
{
    (void) state;
    s_start_worker ("slow");
    assert_true (s_wait_workers ("slow", 1, 3000));
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    /* The worker is busy for 400 ms; "mark" waits behind it in the broker's
     * queue and reaches the worker after its 100 ms deadline. */
    s_result_t res[2] = { { 0 } };
    assert_int_equal (s_send (c, "slow.sleep", "400", 5000, &res[0]), 0);
    assert_int_equal (s_send (c, "slow.mark", NULL, 100, &res[1]), 0);
    assert_true (s_run_until (&loop, res, 2, 3000, 0, NULL, NULL));
    assert_int_equal (res[0].status, 200);
    assert_int_equal (res[1].status, 504);
    assert_true (res[1].at_ms < res[0].at_ms);   /* the client gave up first */

    /* skipped, and the worker is free again */
    cJSON *body = NULL;
    assert_int_equal (s_call ("slow.count", NULL, 2000, &body, NULL), 200);
    assert_int_equal (s_body_int (body, "marks"), 0);
    cJSON_Delete (body);
    assert_int_equal (s_call ("slow.mark", NULL, 2000, &body, NULL), 201);
    assert_int_equal (s_body_int (body, "marks"), 1);
    cJSON_Delete (body);

    /* a deadline already past is not even sent */
    memset (res, 0, sizeof res);
    assert_int_equal (s_send (c, "slow.mark", NULL, -10, &res[0]), 0);
    assert_int_equal (res[0].done, 0);           /* never from inside client_send */
    assert_true (s_run_until (&loop, res, 1, 1000, 0, NULL, NULL));
    assert_int_equal (res[0].status, 504);
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_busy_worker_keeps_heartbeating (void **state)
{
    (void) state;
    /* A handler far longer than the broker's patience (900 ms) must not get
     * its worker dropped: heartbeats go on while it runs. */
    s_start_worker ("long");
    assert_true (s_wait_workers ("long", 1, 3000));
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    s_result_t r = { 0 };
    assert_int_equal (s_send (c, "long.sleep", "1800", 5000, &r), 0);
    assert_true (s_run_until (&loop, &r, 1, 4000, 0, NULL, NULL));
    assert_int_equal (r.status, 200);
    cJSON *stats = s_stats ();
    assert_int_equal (s_stat (stats, "long", "workers"), 1);
    assert_int_equal (s_stat (stats, "long", "idle"), 1);
    cJSON_Delete (stats);
    client_destroy (&c);
    s_close_loop (&loop);
}

/* Long work on the loop outside a handler (a consumer's catch-up, a batch
 * job) inside worker_loop_busy: the broker keeps the worker, and a request
 * sent meanwhile is answered once the loop is free, not failed as lost. */
static void
test_loop_busy_keeps_heartbeating (void **state)
{
    (void) state;
    s_start_worker ("job");
    assert_true (s_wait_workers ("job", 1, 3000));
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    s_result_t r[2] = { 0 };
    assert_int_equal (s_send (c, "job.loopjob", "1800", 5000, &r[0]), 0);
    assert_true (s_run_until (&loop, r, 1, 2000, 0, NULL, NULL));
    assert_int_equal (r[0].status, 200);
    s_sleep_ms (100);                        /* the job is running now */
    assert_int_equal (s_send (c, "job.echo", NULL, 5000, &r[1]), 0);
    assert_true (s_run_until (&loop, &r[1], 1, 4000, 0, NULL, NULL));
    assert_int_equal (r[1].status, 200);
    cJSON *stats = s_stats ();
    assert_int_equal (s_stat (stats, "job", "workers"), 1);
    cJSON_Delete (stats);
    client_destroy (&c);
    s_close_loop (&loop);
}

static void
test_broker_stats (void **state)
{
    (void) state;
    s_start_worker ("stats");
    assert_true (s_wait_workers ("stats", 1, 3000));
    cJSON *s1 = s_stats ();
    assert_non_null (s1);
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_call ("stats.ping", NULL, 2000, NULL, NULL), 200);
    cJSON *s2 = s_stats ();
    assert_non_null (s2);
    int r1 = s_body_int (s1, "requests"), r2 = s_body_int (s2, "requests");
    assert_true (r1 > 0);
    assert_int_equal (r2 - r1, 4);               /* three pings and the stats call */
    assert_int_equal (s_stat (s2, "stats", "workers"), 1);
    assert_int_equal (s_stat (s2, "stats", "idle"), 1);
    assert_int_equal (s_stat (s2, "stats", "queued"), 0);
    cJSON_Delete (s1);
    cJSON_Delete (s2);

    /* busy, held and queued show up: the worker holds its credit's worth
     * (one running, the rest waiting in its socket), the broker the rest */
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    enum { N = WORKER_CREDIT + 2 };
    s_result_t res[N] = { { 0 } };
    for (int i = 0; i < N; i++)
        assert_int_equal (s_send (c, "stats.sleep", "200", 5000, &res[i]), 0);
    s_sleep_ms (100);
    cJSON *s3 = s_stats ();
    assert_int_equal (s_stat (s3, "stats", "idle"), 0);
    assert_int_equal (s_stat (s3, "stats", "held"), WORKER_CREDIT);
    assert_int_equal (s_stat (s3, "stats", "queued"), N - WORKER_CREDIT);
    cJSON_Delete (s3);
    assert_true (s_run_until (&loop, res, N, 3000, 0, NULL, NULL));
    client_destroy (&c);
    s_close_loop (&loop);

    char code[32];
    assert_int_equal (s_call ("broker.nope", NULL, 1000, NULL, code), 404);
    cJSON *body = NULL;
    assert_int_equal (s_call ("broker.ping", NULL, 1000, &body, NULL), 200);
    assert_int_equal (s_body_int (body, "pid"), s_broker_pid);
    cJSON_Delete (body);
}

/* A raw DEALER: sends frames, returns the reply frames. */
static void *
s_raw (void)
{
    void *sock = pm_zmq_socket (ZMQ_DEALER);
    assert_non_null (sock);
    assert_int_equal (curve_client (sock), 0);
    assert_int_equal (zmq_connect (sock, config_broker_endpoint ()), 0);
    return sock;
}

static int
s_raw_recv (void *sock, zmsg_t *m, int timeout_ms)
{
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return -1;
    return zmsg_recv (sock, m);
}

static void
test_protocol_errors (void **state)
{
    (void) state;
    s_start_worker ("proto");
    assert_true (s_wait_workers ("proto", 1, 3000));
    void *sock = s_raw ();
    zmsg_t m;

    /* a worker that speaks before READY is told to register again */
    const void *hb[] = { "", MDP_WORKER, MDP_HEARTBEAT };
    assert_int_equal (zmsg_send (sock, 3, hb, NULL), 0);
    assert_int_equal (s_raw_recv (sock, &m, 1000), 0);
    assert_int_equal (m.count, 3);
    assert_true (zmsg_eq (&m, 2, MDP_DISCONNECT));
    zmsg_free (&m);

    /* nobody may serve "broker" */
    const void *ready[] = { "", MDP_WORKER, MDP_READY, "broker" };
    assert_int_equal (zmsg_send (sock, 4, ready, NULL), 0);
    assert_int_equal (s_raw_recv (sock, &m, 1000), 0);
    assert_true (zmsg_eq (&m, 2, MDP_DISCONNECT));
    zmsg_free (&m);

    /* a READY credit must be 1..MDP_CREDIT_MAX in decimal */
    const char *credits[] = { "0", "17", "x", "", "1234" };
    for (size_t i = 0; i < sizeof credits / sizeof credits[0]; i++) {
        const void *bad[] = { "", MDP_WORKER, MDP_READY, "proto", credits[i] };
        assert_int_equal (zmsg_send (sock, 5, bad, NULL), 0);
        assert_int_equal (s_raw_recv (sock, &m, 1000), 0);
        assert_true (zmsg_eq (&m, 2, MDP_DISCONNECT));
        zmsg_free (&m);
    }

    /* garbage is dropped without an answer or a crash */
    const void *junk1[] = { "", "HTTP/1.1", "x" };
    const void *junk2[] = { "nonempty", MDP_CLIENT, "proto", "id", "{}" };
    const void *junk3[] = { "", MDP_CLIENT, "proto", "bad id!", "{}" };
    const void *junk4[] = { "", MDP_WORKER, "\x09" };
    const void *junk5[] = { "" };
    assert_int_equal (zmsg_send (sock, 3, junk1, NULL), 0);
    assert_int_equal (zmsg_send (sock, 5, junk2, NULL), 0);
    assert_int_equal (zmsg_send (sock, 5, junk3, NULL), 0);
    assert_int_equal (zmsg_send (sock, 3, junk4, NULL), 0);
    assert_int_equal (zmsg_send (sock, 1, junk5, NULL), 0);
    /* the unregistered "worker" above may be told DISCONNECT; skip that */
    while (s_raw_recv (sock, &m, 200) == 0) {
        assert_true (zmsg_eq (&m, 1, MDP_WORKER));
        zmsg_free (&m);
    }

    /* an invalid service name is a 400 */
    const void *badsvc[] = { "", MDP_CLIENT, "Bad Service", "rid-1", "{}" };
    assert_int_equal (zmsg_send (sock, 5, badsvc, NULL), 0);
    assert_int_equal (s_raw_recv (sock, &m, 1000), 0);
    assert_int_equal (m.count, 5);
    assert_true (zmsg_eq (&m, 3, "rid-1"));
    env_reply_t rep;
    char id[ENVELOPE_ID_MAX + 1];
    assert_int_equal (env_reply_parse (m.frame[4].data, m.frame[4].size, id, &rep), 0);
    assert_int_equal (rep.status, 400);
    assert_string_equal (id, "rid-1");
    env_reply_reset (&rep);
    zmsg_free (&m);

    /* a request the worker cannot parse is a 400 from the worker */
    const void *badjson[] = { "", MDP_CLIENT, "proto", "rid-2", "{not json" };
    assert_int_equal (zmsg_send (sock, 5, badjson, NULL), 0);
    assert_int_equal (s_raw_recv (sock, &m, 2000), 0);
    assert_int_equal (m.count, 5);
    assert_true (zmsg_eq (&m, 2, "proto"));
    assert_true (zmsg_eq (&m, 3, "rid-2"));
    assert_int_equal (env_reply_parse (m.frame[4].data, m.frame[4].size, id, &rep), 0);
    assert_int_equal (rep.status, 400);
    assert_string_equal (rep.code, "bad_request");
    env_reply_reset (&rep);
    zmsg_free (&m);
    zmq_close (sock);

    /* and everything still works */
    assert_int_equal (s_call ("proto.echo", NULL, 2000, NULL, NULL), 200);
    assert_int_equal (s_wait_workers ("proto", 1, 100), true);
}

/* A DEALER with its own CURVE options: public/secret NULL for a plain socket. */
static void *
s_stranger (const char *public_z85, const char *secret_z85)
{
    void *sock = pm_zmq_socket (ZMQ_DEALER);
    assert_non_null (sock);
    if (public_z85) {
        char path[600], broker[64] = "";
        snprintf (path, sizeof path, "%s/broker.pub", curve_keys_dir ());
        FILE *f = fopen (path, "r");
        assert_non_null (f);
        assert_non_null (fgets (broker, sizeof broker, f));
        fclose (f);
        broker[CURVE_Z85_LEN] = 0;
        assert_int_equal (zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, broker, CURVE_Z85_LEN), 0);
        assert_int_equal (zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, public_z85, CURVE_Z85_LEN), 0);
        assert_int_equal (zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, secret_z85, CURVE_Z85_LEN), 0);
    }
    assert_int_equal (zmq_connect (sock, config_broker_endpoint ()), 0);
    return sock;
}

/* A request envelope for method from this caller. */
static char *
s_envelope (const char *id, const char *method, const char *user_id, const char *role)
{
    env_caller_t caller = { .user_id = user_id, .role = role };
    return env_request_build (id, method, &caller, env_now_ms () + 5000, NULL);
}

static void
test_strangers_get_nothing (void **state)
{
    (void) state;
    s_start_worker ("guard");
    assert_true (s_wait_workers ("guard", 1, 3000));
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1];
    assert_int_equal (zmq_curve_keypair (pub, sec), 0);     /* on no allow-list */
    void *plain = s_stranger (NULL, NULL);
    void *unknown = s_stranger (pub, sec);
    void *socks[] = { plain, unknown };
    for (int i = 0; i < 2; i++) {
        char *json = s_envelope ("s-1", "broker.stats", "gateway", "admin");
        const void *req[] = { "", MDP_CLIENT, "broker", "s-1", json };
        const void *ready[] = { "", MDP_WORKER, MDP_READY, "guard" };
        zmsg_send (socks[i], 5, req, NULL);
        zmsg_send (socks[i], 4, ready, NULL);
        free (json);
        json = s_envelope ("s-2", "guard.echo", "gateway", "admin");
        const void *call[] = { "", MDP_CLIENT, "guard", "s-2", json };
        zmsg_send (socks[i], 5, call, NULL);
        free (json);
        zmsg_t m;
        assert_int_equal (s_raw_recv (socks[i], &m, 1000), -1);     /* no answer at all */
    }
    /* ... and no registration: the one real worker is all the broker knows */
    assert_true (s_wait_workers ("guard", 1, 100));
    zmq_close (plain);
    zmq_close (unknown);
}

static void
test_keys_speak_only_for_themselves (void **state)
{
    (void) state;
    s_start_worker ("guard");
    assert_true (s_wait_workers ("guard", 1, 3000));
    void *sock = s_raw ();                       /* the key of "test" */
    zmsg_t m;

    /* a key registers only for the service of its name */
    const void *ready[] = { "", MDP_WORKER, MDP_READY, "guard" };
    assert_int_equal (zmsg_send (sock, 4, ready, NULL), 0);
    assert_int_equal (s_raw_recv (sock, &m, 700), -1);
    assert_true (s_wait_workers ("guard", 1, 100));

    /* a user's request only from the gateway; "service" only as itself */
    static const char *const forged[][2] = {
        { "u-1", "admin" }, { "gateway", "service" }, { "tenants", "service" }, { "u-2", "agent" },
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        char id[32];
        snprintf (id, sizeof id, "f-%zu", i);
        char *json = s_envelope (id, "guard.echo", forged[i][0], forged[i][1]);
        const void *call[] = { "", MDP_CLIENT, "guard", id, json };
        assert_int_equal (zmsg_send (sock, 5, call, NULL), 0);
        free (json);
        assert_int_equal (s_raw_recv (sock, &m, 700), -1);
    }
    /* the same key as itself is answered, and the worker was not stuck */
    char *json = s_envelope ("ok-1", "guard.echo", "test", "service");
    const void *call[] = { "", MDP_CLIENT, "guard", "ok-1", json };
    assert_int_equal (zmsg_send (sock, 5, call, NULL), 0);
    free (json);
    assert_int_equal (s_raw_recv (sock, &m, 2000), 0);
    assert_int_equal (m.count, 5);
    assert_true (zmsg_eq (&m, 3, "ok-1"));
    env_reply_t rep;
    char rid[ENVELOPE_ID_MAX + 1];
    assert_int_equal (env_reply_parse (m.frame[4].data, m.frame[4].size, rid, &rep), 0);
    assert_int_equal (rep.status, 200);
    env_reply_reset (&rep);
    zmsg_free (&m);
    zmq_close (sock);
}

static void
test_event_wakeups_forwarded (void **state)
{
    (void) state;
    void *pub = pm_zmq_socket (ZMQ_PUB);
    void *sub = pm_zmq_socket (ZMQ_SUB);
    assert_int_equal (curve_client (pub), 0);
    assert_int_equal (curve_client (sub), 0);
    assert_int_equal (zmq_connect (pub, config_events_in_endpoint ()), 0);
    assert_int_equal (zmq_connect (sub, config_events_out_endpoint ()), 0);
    assert_int_equal (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "test", 4), 0);
    assert_int_equal (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "tenants", 7), 0);
    /* subscriptions travel upstream asynchronously: publish until one lands.
     * This process holds the key of "test": its wake-ups for "tenants" are
     * forgeries the broker drops; "billing" is not subscribed. */
    int got = 0, forged = 0;
    for (int i = 0; i < 100 && got < 5; i++) {
        zmq_send (pub, "tenants", 7, ZMQ_DONTWAIT);
        zmq_send (pub, "test", 4, ZMQ_DONTWAIT);
        zmq_send (pub, "billing", 7, ZMQ_DONTWAIT);
        zmsg_t m;
        while (s_raw_recv (sub, &m, 20) == 0) {
            got += zmsg_eq (&m, 0, "test");
            forged += zmsg_eq (&m, 0, "tenants");
            zmsg_free (&m);
        }
    }
    assert_true (got >= 5);
    assert_int_equal (forged, 0);
    zmq_close (pub);
    zmq_close (sub);
}

static void
test_tap_lines (void **state)
{
    (void) state;
    /* Every line the broker tapped is a JSON object with a kind, a service
     * and the message; requests and replies are real envelopes. */
    char path[512];
    snprintf (path, sizeof path, "%s/tap.jsonl", s_dir);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);  /* whole requests: owner only */
    FILE *f = fopen (path, "r");
    assert_non_null (f);
    static char line[1 << 16];
    int requests = 0, replies = 0, echo = 0;
    while (fgets (line, sizeof line, f)) {
        cJSON *doc = cJSON_Parse (line);
        assert_non_null (doc);
        const char *kind = cJSON_GetStringValue (cJSON_GetObjectItem (doc, "kind"));
        assert_non_null (kind);
        assert_non_null (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "service")));
        const cJSON *msg = cJSON_GetObjectItem (doc, "msg");
        if (strcmp (kind, "request") == 0) {
            requests++;
            const char *method = cJSON_GetStringValue (cJSON_GetObjectItem (msg, "method"));
            if (cJSON_IsObject (msg)) {
                assert_non_null (method);
                echo += strcmp (method, "echo.echo") == 0;
            }
        }
        else {
            assert_string_equal (kind, "reply");
            replies++;
            assert_true (cJSON_IsNumber (cJSON_GetObjectItem (msg, "status")));
            assert_non_null (cJSON_GetStringValue (cJSON_GetObjectItem (msg, "id")));
        }
        cJSON_Delete (doc);
    }
    fclose (f);
    print_message ("    tap: %d requests, %d replies\n", requests, replies);
    assert_true (echo >= 1);
    assert_true (requests > 100);
    assert_true (replies > 100);
}

/* ---- binary frames (mdp.h: a file after the JSON) ------------------- */

typedef struct {
    int done;
    int status;
    unsigned char *blob;             /* taken from the reply */
    size_t blob_len;
    char type[64], name[64];
} s_blob_result_t;

static void
s_on_blob (void *arg, env_reply_t *rep)
{
    s_blob_result_t *r = arg;
    r->done++;
    r->status = rep->status;
    snprintf (r->type, sizeof r->type, "%s", env_reply_blob_type (rep) ? env_reply_blob_type (rep) : "");
    snprintf (r->name, sizeof r->name, "%s", env_reply_blob_name (rep) ? env_reply_blob_name (rep) : "");
    r->blob = rep->blob;
    r->blob_len = rep->blob_len;
    rep->blob = NULL;
}

/* Sends blob (or none with blob NULL) to blob.blob, runs the loop until the answer. */
static void
s_blob_call (uv_loop_t *loop, client_t *c, const void *blob, size_t len, const char *big,
             s_blob_result_t *r)
{
    char id[64];
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    cJSON_AddStringToObject (params, "content_type", "image/png");
    cJSON_AddStringToObject (params, "filename", "门禁.png");
    if (big)
        cJSON_AddStringToObject (params, "big", big);
    int64_t deadline = env_now_ms () + s_slow (5000);
    char *req = env_request_build (s_next_id (id), "blob.blob", &s_caller, deadline, body);
    int rc = blob ? client_send_blob (c, "blob", id, req, blob, len, deadline, s_on_blob, r)
                  : client_send_text (c, "blob", id, req, deadline, s_on_blob, r);
    free (req);
    assert_int_equal (rc, 0);
    int64_t end = s_mono_ms () + s_slow (5000);
    while (!r->done && s_mono_ms () < end)
        uv_run (loop, UV_RUN_ONCE);
    assert_int_equal (r->done, 1);
}

static void
test_blob_frames (void **state)
{
    (void) state;
    s_start_worker ("blob");
    assert_true (s_wait_workers ("blob", 1, 3000));
    uv_loop_t loop;
    uv_loop_init (&loop);
    client_t *c = client_new (&loop);
    uv_timer_t tick;                 /* wakes uv_run while the answer is on its way */
    uv_timer_init (&loop, &tick);
    uv_timer_start (&tick, s_on_tick, 10, 10);

    /* 3 MiB of every byte value, NULs included, there and back */
    size_t len = 3 * 1024 * 1024 + 7;
    unsigned char *bytes = malloc (len);
    for (size_t i = 0; i < len; i++)
        bytes[i] = (unsigned char) (i * 31 + (i >> 8));
    s_blob_result_t r = { 0 };
    s_blob_call (&loop, c, bytes, len, NULL, &r);
    assert_int_equal (r.status, 200);
    assert_string_equal (r.type, "image/png");
    assert_string_equal (r.name, "门禁.png");
    assert_int_equal (r.blob_len, len);
    for (size_t i = 0; i < len; i += 4099)
        assert_int_equal (r.blob[i], bytes[len - 1 - i]);
    assert_int_equal (r.blob[0], bytes[len - 1]);
    free (r.blob);

    /* a blob of a few bytes (shorter than a moved frame), and none at all */
    s_blob_result_t small = { 0 };
    s_blob_call (&loop, c, "\x89PNG", 4, NULL, &small);
    assert_int_equal (small.status, 200);
    assert_int_equal (small.blob_len, 4);
    assert_memory_equal (small.blob, "GNP\x89", 4);
    free (small.blob);
    s_blob_result_t none = { 0 };
    s_blob_call (&loop, c, NULL, 0, NULL, &none);
    assert_int_equal (none.status, 422);
    assert_null (none.blob);

    /* the largest reply the bus carries, and one byte over it from a client:
     * the broker answers 413 without passing it on */
    s_blob_result_t big = { 0 };
    s_blob_call (&loop, c, "x", 1, "1", &big);
    assert_int_equal (big.status, 200);
    assert_int_equal (big.blob_len, MDP_BLOB_MAX);
    assert_int_equal (big.blob[MDP_BLOB_MAX - 1], 'z');
    free (big.blob);
    assert_int_equal (client_send_blob (c, "blob", "too-big", "{}", bytes, MDP_BLOB_MAX + 1,
                                        env_now_ms () + 1000, s_on_blob, &big), -1);
    free (bytes);

    /* the ordinary path is unchanged beside it */
    cJSON *body = NULL;
    assert_int_equal (s_call ("blob.echo", NULL, 2000, &body, NULL), 200);
    cJSON_Delete (body);

    uv_close ((uv_handle_t *) &tick, NULL);
    client_destroy (&c);
    s_close_loop (&loop);
}

/* A peer that sends a blob over MDP_BLOB_MAX anyway (not through
 * client_send_blob): 413 from the broker, which stays up. */
static void
test_blob_too_big_refused (void **state)
{
    (void) state;
    void *sock = pm_zmq_socket (ZMQ_DEALER);
    assert_non_null (sock);
    assert_int_equal (curve_client (sock), 0);
    assert_int_equal (zmq_connect (sock, config_broker_endpoint ()), 0);
    char *big = calloc (1, MDP_BLOB_MAX + 1);
    const void *data[] = { "", MDP_CLIENT, "nobody", "big-1", "{}", big };
    size_t sizes[] = { 0, (size_t) -1, (size_t) -1, (size_t) -1, (size_t) -1, MDP_BLOB_MAX + 1 };
    assert_int_equal (zmsg_send (sock, 6, data, sizes), 0);
    free (big);
    zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, (long) s_slow (3000)), 1);
    zmsg_t m;
    assert_int_equal (zmsg_recv (sock, &m), 0);
    assert_int_equal (m.count, 5);
    assert_non_null (strstr (m.frame[4].data, "\"status\":413"));
    zmsg_free (&m);
    zmq_close (sock);
    cJSON *stats = s_stats ();
    assert_non_null (stats);
    cJSON_Delete (stats);
}

/* ==== setup =========================================================== */

static int
s_group_setup (void **state)
{
    (void) state;
    const char *build = getenv ("BUILD");
    snprintf (s_broker_bin, sizeof s_broker_bin, "%s/bin/pm-broker",
              build && *build ? build : "build");
    if (access (s_broker_bin, X_OK) != 0) {
        fprintf (stderr, "cannot run %s (set BUILD to the build directory)\n", s_broker_bin);
        return -1;
    }
    snprintf (s_dir, sizeof s_dir, "/tmp/pm-msg-XXXXXX");
    if (!mkdtemp (s_dir))
        return -1;
    char tap[512];
    snprintf (tap, sizeof tap, "%s/tap.jsonl", s_dir);
    setenv ("PM_DATA_DIR", s_dir, 1);
    setenv ("PM_BROKER_TAP", tap, 1);
    setenv ("PM_BROKER_TAP_I_KNOW", "1", 1);
    unsetenv ("PM_KEYS_DIR");
    unsetenv ("PM_BROKER_ENDPOINT");
    unsetenv ("PM_EVENTS_IN_ENDPOINT");
    unsetenv ("PM_EVENTS_OUT_ENDPOINT");
    if (!getenv ("PM_LOG_LEVEL"))
        setenv ("PM_LOG_LEVEL", "warn", 1);
    log_init ("test");
    static const char *const ids[] = { "broker", "test", "echo", "late", "lru", "front", "back",
                                       "victim", "quit", "phoenix", "slow", "long", "job", "stats",
                                       "proto", "guard", "refused", "blob", NULL };
    if (curve_keygen (curve_keys_dir (), ids) != 0 || curve_init ("test") != 0)
        return -1;
    s_broker_pid = s_start_broker ();
    int64_t end = s_mono_ms () + 3000;
    while (s_mono_ms () < end) {
        cJSON *stats = s_stats ();
        if (stats) {
            cJSON_Delete (stats);
            return 0;
        }
    }
    fprintf (stderr, "the broker did not answer (see %s/broker.log)\n", s_dir);
    return -1;
}

static int
s_group_teardown (void **state)
{
    s_teardown_workers (state);
    s_reap (s_broker_pid, SIGTERM);
    if (getenv ("PM_TEST_KEEP")) {
        fprintf (stderr, "kept %s\n", s_dir);
        return 0;
    }
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system (cmd) == 0 ? 0 : -1;
}

/* ---- a broker that refuses READY ------------------------------------- */

/* A forked stand-in for an older pm-broker: answers every READY with
 * DISCONNECT for window_ms and exits with the number of READYs it saw. */
static int
s_refusing_broker (const char *endpoint, int64_t window_ms)
{
    if (curve_init ("broker") != 0)
        return 255;
    void *router = pm_zmq_socket (ZMQ_ROUTER);
    if (!router || curve_server (router) != 0 || zmq_bind (router, endpoint) != 0)
        return 255;
    int readies = 0;
    int64_t end = s_mono_ms () + window_ms;
    while (s_mono_ms () < end) {
        zmq_pollitem_t item = { router, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, 50) != 1)
            continue;
        zmsg_t m;
        if (zmsg_recv (router, &m) != 0)
            continue;
        /* identity | "" | MDPW01 | READY | service | credit */
        if (m.count >= 4 && zmsg_eq (&m, 3, MDP_READY)) {
            readies++;
            const void *data[] = { m.frame[0].data, "", MDP_WORKER, MDP_DISCONNECT };
            size_t sizes[] = { m.frame[0].size, 0, (size_t) -1, 1 };
            zmsg_send (router, 4, data, sizes);
        }
        zmsg_free (&m);
    }
    return readies < 250 ? readies : 250;
}

static void
test_refused_ready_backs_off (void **state)
{
    (void) state;
    char endpoint[512];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/refusing.ipc", s_dir);
    int64_t window = s_slow (2500);
    pid_t fake = fork ();
    assert_true (fake >= 0);
    if (fake == 0)
        _exit (s_refusing_broker (endpoint, window));
    setenv ("PM_BROKER_ENDPOINT", endpoint, 1);
    pid_t w = s_start_worker ("refused");
    unsetenv ("PM_BROKER_ENDPOINT");
    int status = 0;
    assert_int_equal (waitpid (fake, &status, 0), fake);
    s_reap (w, SIGTERM);
    s_forget_worker (w);
    assert_true (WIFEXITED (status));
    int readies = WEXITSTATUS (status);
    print_message ("    READY said %d times in %lld ms to a broker refusing it\n", readies,
                   (long long) window);
    /* it tries again, but with a back-off (one heartbeat, doubling: four in
     * 2.5 s), not at once (which made hundreds a second) */
    assert_in_range (readies, 2, 8);
}

int
main (int argc, char **argv)
{
    if (argc == 3 && strcmp (argv[1], "--worker") == 0)
        return s_worker_main (argv[2]);
    ssize_t n = readlink ("/proc/self/exe", s_self, sizeof s_self - 1);
    if (n <= 0)
        return 1;
    s_self[n] = 0;
    signal (SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_round_trip, s_teardown_workers),
        cmocka_unit_test_teardown (test_unknown_service_503, s_teardown_workers),
        cmocka_unit_test_teardown (test_worker_registers_late, s_teardown_workers),
        cmocka_unit_test_teardown (test_lru_two_workers, s_teardown_workers),
        cmocka_unit_test_teardown (test_service_calls_service, s_teardown_workers),
        cmocka_unit_test_teardown (test_worker_killed_in_flight, s_teardown_workers),
        cmocka_unit_test_teardown (test_worker_stop_says_disconnect, s_teardown_workers),
        cmocka_unit_test_teardown (test_expired_deadline_skipped, s_teardown_workers),
        cmocka_unit_test_teardown (test_busy_worker_keeps_heartbeating, s_teardown_workers),
        cmocka_unit_test_teardown (test_loop_busy_keeps_heartbeating, s_teardown_workers),
        cmocka_unit_test_teardown (test_broker_stats, s_teardown_workers),
        cmocka_unit_test_teardown (test_protocol_errors, s_teardown_workers),
        cmocka_unit_test_teardown (test_strangers_get_nothing, s_teardown_workers),
        cmocka_unit_test_teardown (test_keys_speak_only_for_themselves, s_teardown_workers),
        cmocka_unit_test_teardown (test_event_wakeups_forwarded, s_teardown_workers),
        cmocka_unit_test_teardown (test_broker_restart, s_teardown_workers),
        cmocka_unit_test_teardown (test_tap_lines, s_teardown_workers),
        cmocka_unit_test_teardown (test_refused_ready_backs_off, s_teardown_workers),
        cmocka_unit_test_teardown (test_blob_frames, s_teardown_workers),
        cmocka_unit_test_teardown (test_blob_too_big_refused, s_teardown_workers),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
