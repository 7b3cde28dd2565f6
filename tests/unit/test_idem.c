/* test_idem: a request's own transaction (db_request_*) and a keyed write run
 * once (idem_serve) against a real PostgreSQL, in a scratch schema with the
 * services' own idempotency migration.
 *
 * Needs PM_TEST_DSN (a superuser DSN) and the repository as the working
 * directory; without the DSN the database tests skip (tests/skips.txt) and
 * test_idempotency.py runs them on its stack. The envelope's keyed requests
 * and the migrations being one text are checked without a database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "envelope.h"
#include "idem.h"
#include "log.h"

#define MIGRATION "services/tickets/migrations/018_idempotency.sql"
static const char *const s_copies[] = {
    "services/tenants/migrations/007_idempotency.sql",
    "services/billing/migrations/007_idempotency.sql",
    "services/notifications/migrations/013_idempotency.sql",
};

static const char *s_dsn;
static char s_schema[64];
static char *s_idem_sql;
static db_migration_t s_migrations[3];
static db_t *s_db;

#define SKIP_WITHOUT_DB() do { if (!s_dsn) skip (); } while (0)

static char *
s_read_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc (1, 64 * 1024);
    size_t n = buf ? fread (buf, 1, 64 * 1024 - 1, f) : 0;
    fclose (f);
    if (buf && n == 0) {
        free (buf);
        return NULL;
    }
    return buf;
}

static long
s_count (const char *sql)
{
    PGresult *res = db_query (s_db, sql);
    long n = db_ok (res) && PQntuples (res) == 1 ? atol (PQgetvalue (res, 0, 0)) : -1;
    PQclear (res);
    return n;
}

static void
s_run (db_t *db, const char *sql)
{
    PGresult *res = db_query (db, sql);
    if (!db_ok (res))
        fail_msg ("%s: %s", sql, PQresultErrorMessage (res));
    PQclear (res);
}

/* ---- without a database ---------------------------------------------------- */

static void
test_keyed_envelope (void **state)
{
    (void) state;
    env_caller_t caller = { .user_id = "u1", .role = "agent" };
    const char *fp = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char *json = env_request_build_keyed ("r1", "tickets.create", &caller, 0, "key-1", fp, NULL);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    assert_string_equal (req.idem_key, "key-1");
    assert_string_equal (req.idem_fingerprint, fp);
    env_request_destroy (&req);
    free (json);
    /* without a key: no member at all, and nothing parsed */
    json = env_request_build ("r2", "tickets.create", &caller, 0, NULL);
    assert_null (strstr (json, "idempotency"));
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    assert_null (req.idem_key);
    assert_null (req.idem_fingerprint);
    env_request_destroy (&req);
    free (json);
    /* a malformed one is refused, not half taken */
    const char *bad[] = {
        "{\"v\":1,\"id\":\"r\",\"method\":\"a.b\",\"idempotency\":{\"key\":\"k\"}}",
        "{\"v\":1,\"id\":\"r\",\"method\":\"a.b\",\"idempotency\":{\"key\":\"has space\",\"fingerprint\":"
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}}",
        "{\"v\":1,\"id\":\"r\",\"method\":\"a.b\",\"idempotency\":{\"key\":\"k\",\"fingerprint\":\"ABC\"}}",
        "{\"v\":1,\"id\":\"r\",\"method\":\"a.b\",\"idempotency\":\"k\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (env_request_parse (bad[i], strlen (bad[i]), &req, err), -1);
    assert_false (env_idem_fingerprint_valid ("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false (env_idem_key_valid (NULL));
}

static void
test_migrations_are_one_text (void **state)
{
    (void) state;
    char *want = s_read_file (MIGRATION);
    if (!want)
        skip ();                     /* not run from the repository */
    for (size_t i = 0; i < sizeof s_copies / sizeof s_copies[0]; i++) {
        char *got = s_read_file (s_copies[i]);
        assert_non_null (got);
        assert_string_equal (got, want);
        free (got);
    }
    free (want);
}

/* ---- a request's own transaction --------------------------------------------- */

static int s_woken;

static void
s_wake (void *arg)
{
    (*(int *) arg)++;
}

static void
test_request_rolls_back_whole (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    s_run (s_db, "TRUNCATE things");
    s_woken = 0;
    assert_int_equal (db_request_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (1)");
    assert_int_equal (db_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (2)");
    assert_int_equal (db_commit (s_db), 0);
    db_after_commit (s_db, s_wake, &s_woken);
    assert_int_equal (s_woken, 0);
    db_request_rollback (s_db);
    assert_int_equal (s_woken, 0);
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 0);
    /* outside a request: at once */
    db_after_commit (s_db, s_wake, &s_woken);
    assert_int_equal (s_woken, 1);
}

static void
test_statement_fails_alone (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    s_run (s_db, "TRUNCATE things");
    s_woken = 0;
    assert_int_equal (db_request_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (1)");
    PGresult *res = db_query (s_db, "INSERT INTO things VALUES (1)");     /* the primary key */
    assert_false (db_ok (res));
    assert_string_equal (db_sqlstate (res), "23505");
    PQclear (res);
    /* the request's transaction goes on, as the session would have */
    s_run (s_db, "INSERT INTO things VALUES (2)");
    /* the same with a prepared statement (one round trip: libpq's pipeline) */
    res = db_exec (s_db, "thing_insert", 1, (const char *[]) { "2" });
    assert_false (db_ok (res));
    assert_string_equal (db_sqlstate (res), "23505");
    PQclear (res);
    res = db_exec (s_db, "thing_insert", 1, (const char *[]) { "x" });      /* not a number */
    assert_false (db_ok (res));
    assert_string_equal (db_sqlstate (res), "22P02");
    PQclear (res);
    res = db_exec (s_db, "thing_insert", 1, (const char *[]) { "6" });
    assert_true (db_ok (res));
    assert_string_equal (PQcmdTuples (res), "1");
    PQclear (res);
    /* a handler's own transaction that fails is undone alone */
    assert_int_equal (db_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (3)");
    res = db_query (s_db, "SELECT 1/0");
    assert_false (db_ok (res));
    PQclear (res);
    db_rollback (s_db);
    assert_int_equal (db_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (4)");
    assert_int_equal (db_commit (s_db), 0);
    db_rollback (s_db);              /* a stray one (db_fail's) undoes nothing */
    db_after_commit (s_db, s_wake, &s_woken);
    db_after_commit (s_db, s_wake, &s_woken);   /* the same step once */
    /* nothing is visible to another session before the request commits */
    db_t *other = db_new (s_schema, s_dsn, s_migrations);
    assert_non_null (other);
    PGresult *seen = db_query (other, "SELECT count(*) FROM things");
    assert_true (db_ok (seen));
    assert_string_equal (PQgetvalue (seen, 0, 0), "0");
    PQclear (seen);
    db_destroy (&other);
    assert_int_equal (db_request_commit (s_db), 0);
    assert_int_equal (s_woken, 1);
    res = db_query (s_db, "SELECT string_agg (n::text, ',' ORDER BY n) FROM things");
    assert_string_equal (PQgetvalue (res, 0, 0), "1,2,4,6");
    PQclear (res);
}

static void
test_open_transaction_is_refused (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    s_run (s_db, "TRUNCATE things");
    assert_int_equal (db_request_begin (s_db), 0);
    assert_int_equal (db_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (1)");
    /* the handler forgot its commit: nothing of it may stay */
    assert_int_equal (db_request_commit (s_db), -1);
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 0);
    /* and the connection is usable as before */
    assert_int_equal (db_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (5)");
    assert_int_equal (db_commit (s_db), 0);
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 1);
}

static void
test_connection_lost_in_request (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    s_run (s_db, "TRUNCATE things");
    assert_int_equal (db_request_begin (s_db), 0);
    s_run (s_db, "INSERT INTO things VALUES (1)");
    char sql[96];
    snprintf (sql, sizeof sql, "SELECT pg_terminate_backend (%d)", PQbackendPID (db_conn (s_db)));
    db_t *other = db_new (s_schema, s_dsn, s_migrations);
    assert_non_null (other);
    s_run (other, sql);
    db_destroy (&other);
    /* nothing reconnects inside it: every statement fails as unavailable (503) */
    PGresult *res = db_exec (s_db, "thing_insert", 1, (const char *[]) { "2" });
    env_reply_t rep = { 0 };
    db_reply_error (res, &rep, "rq");
    assert_int_equal (rep.status, 503);
    env_reply_reset (&rep);
    PQclear (res);
    res = db_query (s_db, "SELECT 1");
    assert_false (db_ok (res));
    PQclear (res);
    assert_int_equal (db_request_commit (s_db), -1);
    /* after it, the next statement reconnects; nothing of the request stayed */
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 0);
}

/* ---- a keyed write, once ------------------------------------------------------ */

typedef struct {
    db_t *db;
    int runs;
    int status;                      /* what the handler answers */
    double sleep_s;                  /* how long it holds its transaction */
    char reply[512];                 /* idem_serve's answer, as the worker would send it */
    int reply_status;
} app_t;

static void
s_handler (void *arg, const env_request_t *req, env_reply_t *rep)
{
    app_t *app = arg;
    app->runs++;
    if (app->status >= 500) {
        env_reply_error (rep, app->status, "service_unavailable", NULL, "down");
        return;
    }
    if (db_begin (app->db) != 0) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    PGresult *res = db_query (app->db, "INSERT INTO things SELECT coalesce (max (n), 0) + 1 FROM things "
                                       "RETURNING n");
    if (!db_one_row (app->db, res, rep, req->id, "insert")) {
        PQclear (res);
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "n", atoi (PQgetvalue (res, 0, 0)));
    PQclear (res);
    if (app->sleep_s > 0) {
        char sql[64];
        snprintf (sql, sizeof sql, "SELECT pg_sleep (%.2f)", app->sleep_s);
        PQclear (db_query (app->db, sql));
    }
    if (db_commit (app->db) != 0) {
        cJSON_Delete (body);
        db_fail (app->db, req->id, rep, "commit");
        return;
    }
    if (app->status >= 400)
        env_reply_error (rep, app->status, "conflict", NULL, "refused");
    else
        env_reply_ok (rep, app->status, body);
    if (app->status >= 400)
        cJSON_Delete (body);
}

static void
s_serve (app_t *app, const char *user, const char *key, const char *fingerprint)
{
    env_caller_t caller = { .user_id = user, .role = "agent" };
    char *json = env_request_build_keyed ("rq", "test.things.create", &caller, 0, key, fingerprint, NULL);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    env_reply_t rep = { 0 };
    char *stored = idem_serve (app->db, &req, "rq", s_handler, app, &rep);
    char *out = env_reply_build ("rq", &rep);
    /* what it stored is what the worker sends: the reply as built from rep */
    if (stored)
        assert_string_equal (stored, out);
    free (stored);
    snprintf (app->reply, sizeof app->reply, "%s", out);
    app->reply_status = rep.status;
    free (out);
    env_reply_reset (&rep);
    env_request_destroy (&req);
    free (json);
}

static const char FP_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char FP_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static void
test_once_per_key (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    s_run (s_db, "TRUNCATE things; TRUNCATE idempotency");
    app_t app = { .db = s_db, .status = 201 };
    s_serve (&app, "u1", "k1", FP_A);
    assert_int_equal (app.reply_status, 201);
    char first[512];
    snprintf (first, sizeof first, "%s", app.reply);
    assert_non_null (strstr (first, "\"n\":1"));
    /* again: the stored answer, the handler not run */
    s_serve (&app, "u1", "k1", FP_A);
    assert_int_equal (app.runs, 1);
    assert_string_equal (app.reply, first);
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 1);
    /* another request under the same key */
    s_serve (&app, "u1", "k1", FP_B);
    assert_int_equal (app.reply_status, 409);
    assert_non_null (strstr (app.reply, "idempotency_mismatch"));
    assert_int_equal (app.runs, 1);
    /* the key is the caller's: another caller's k1 is another write */
    s_serve (&app, "u2", "k1", FP_A);
    assert_int_equal (app.runs, 2);
    assert_non_null (strstr (app.reply, "\"n\":2"));
    /* a 4xx is an answer: kept, with what the handler committed */
    app.status = 409;
    s_serve (&app, "u1", "k4", FP_A);
    s_serve (&app, "u1", "k4", FP_A);
    assert_int_equal (app.runs, 3);
    assert_int_equal (app.reply_status, 409);
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 3);
    /* a 5xx keeps nothing: the retry runs */
    app.status = 503;
    s_serve (&app, "u1", "k5", FP_A);
    assert_int_equal (s_count ("SELECT count(*) FROM idempotency WHERE key = 'k5'"), 0);
    app.status = 201;
    s_serve (&app, "u1", "k5", FP_A);
    assert_int_equal (app.runs, 5);
    assert_int_equal (app.reply_status, 201);
    assert_int_equal (s_count ("SELECT count(*) FROM idempotency WHERE key = 'k5' AND status = 201"), 1);
    /* a day later the record goes */
    s_run (s_db, "UPDATE idempotency SET created_at = now () - interval '25 hours' "
                 "WHERE caller_id = 'u1' AND key = 'k1'");
    assert_int_equal (idem_cleanup (s_db), 1);
    assert_int_equal (s_count ("SELECT count(*) FROM idempotency WHERE key = 'k1'"), 1);   /* u2's */
}

static void *
s_serve_thread (void *arg)
{
    s_serve (arg, "u1", "same", FP_A);
    return NULL;
}

static void
test_concurrent_runs_once (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    s_run (s_db, "TRUNCATE things; TRUNCATE idempotency");
    /* two workers, two connections, one key at the same time (the gateway gave the
     * first up as "outcome unknown" and released its claim): one runs, the other
     * waits on its row and answers the same */
    app_t a = { .db = db_new (s_schema, s_dsn, s_migrations), .status = 201, .sleep_s = 0.3 };
    app_t b = { .db = db_new (s_schema, s_dsn, s_migrations), .status = 201, .sleep_s = 0.3 };
    assert_non_null (a.db);
    assert_non_null (b.db);
    assert_int_equal (idem_prepare (a.db), 0);
    assert_int_equal (idem_prepare (b.db), 0);
    pthread_t ta, tb;
    pthread_create (&ta, NULL, s_serve_thread, &a);
    pthread_create (&tb, NULL, s_serve_thread, &b);
    pthread_join (ta, NULL);
    pthread_join (tb, NULL);
    db_destroy (&a.db);
    db_destroy (&b.db);
    assert_int_equal (a.reply_status, 201);
    assert_int_equal (b.reply_status, 201);
    assert_string_equal (a.reply, b.reply);
    assert_int_equal (s_count ("SELECT count(*) FROM things"), 1);
    assert_int_equal (s_count ("SELECT count(*) FROM idempotency"), 1);
}

/* ---- set-up ------------------------------------------------------------------- */

static int
s_exec (const char *sql)
{
    PGconn *c = PQconnectdb (s_dsn);
    PGresult *res = PQstatus (c) == CONNECTION_OK ? PQexec (c, sql) : NULL;
    int ok = res && PQresultStatus (res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf (stderr, "%s: %s", sql, res ? PQresultErrorMessage (res) : PQerrorMessage (c));
    PQclear (res);
    PQfinish (c);
    return ok ? 0 : -1;
}

static int
s_setup (void **state)
{
    (void) state;
    log_init ("test_idem");
    s_dsn = getenv ("PM_TEST_DSN");
    if (!s_dsn || !*s_dsn) {
        s_dsn = NULL;
        return 0;
    }
    s_idem_sql = s_read_file (MIGRATION);
    if (!s_idem_sql) {
        fprintf (stderr, "%s: run from the repository\n", MIGRATION);
        return -1;
    }
    s_migrations[0] = (db_migration_t) { "001_idempotency", s_idem_sql };
    s_migrations[1] = (db_migration_t) { "002_things", "CREATE TABLE things (n int PRIMARY KEY);" };
    snprintf (s_schema, sizeof s_schema, "idem_test_%d", (int) getpid ());
    char sql[256];
    snprintf (sql, sizeof sql, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; "
              "CREATE SCHEMA %s", s_schema, s_schema);
    if (s_exec (sql) != 0)
        return -1;
    s_db = db_new (s_schema, s_dsn, s_migrations);
    return s_db && idem_prepare (s_db) == 0
           && db_prepare (s_db, "thing_insert", "INSERT INTO things VALUES ($1::int)", false) == 0 ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    db_destroy (&s_db);
    if (s_dsn) {
        char sql[128];
        snprintf (sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", s_schema);
        s_exec (sql);
    }
    free (s_idem_sql);
    return 0;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_keyed_envelope),
        cmocka_unit_test (test_migrations_are_one_text),
        cmocka_unit_test (test_request_rolls_back_whole),
        cmocka_unit_test (test_statement_fails_alone),
        cmocka_unit_test (test_open_transaction_is_refused),
        cmocka_unit_test (test_connection_lost_in_request),
        cmocka_unit_test (test_once_per_key),
        cmocka_unit_test (test_concurrent_runs_once),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
