/* test_outbox: db, outbox and consumer against a real PostgreSQL.
 *
 * Needs PM_TEST_DSN (a superuser DSN on a scratch database); every test is
 * skipped without it. tests/blackbox/test_events.py runs this binary against
 * its Stack's cluster. Each run works in a schema of its own, dropped at the end.
 *
 * The test that matters most is test_concurrent_writers: many writers with
 * random pauses inside open transactions (and some rollbacks) while a reader
 * follows outbox_read; every committed event must be read exactly once, in
 * (xid, seq) order. test_late_commit shows deterministically what goes wrong
 * when reading by seq alone, so the reader cannot quietly regress to that.
 *
 * Optional, for the black-box test:
 *   PM_TEST_WRITERS (8), PM_TEST_TXNS (40): size of the concurrent run;
 *   PM_TEST_CONSUME_FROM=<producer> + PM_TEST_EVENTS_OUT=<file>: also run a
 *   consumer against that producer's "<producer>.events.read" through the
 *   broker (PM_BROKER_ENDPOINT) and write each event it applied, one JSON
 *   object a line, to the file; with PM_TEST_PROPERTY=<pid> of that Stack
 *   too, check that a wake-up (not the timer) brings a new unit.created: the
 *   test prints "# wake-up: make unit <code> in <pid>" and the runner makes
 *   that unit through the gateway.
 *
 * test_prune (last) drives the outbox's pruning: positions recorded from
 * service reads, nothing pruned without a registered consumer or past the
 * slowest one, a silent consumer holding rows until it is removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "consumer.h"
#include "curve.h"
#include "db.h"
#include "jv.h"
#include "log.h"
#include "outbox.h"

static const char *s_dsn;
static char s_schema[64];
static db_t *s_db;
static outbox_t *s_ob;

static const db_migration_t s_migrations[] = {
    { "001_outbox", OUTBOX_TABLE_SQL },
    { "002_consumer", CONSUMER_TABLES_SQL },
    { "003_effects", "CREATE TABLE effects (event_id uuid NOT NULL, type text NOT NULL);" },
    { NULL, NULL }
};

#define SKIP_WITHOUT_DB() do { if (!s_dsn) skip (); } while (0)

static void
s_sleep_us (long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep (&ts, NULL);
}

/* Connections a test opened; a failed assertion jumps past its cleanup, and
 * one left open in a transaction would block the teardown's DROP SCHEMA. */
static PGconn *s_conns[128];
static pthread_mutex_t s_conns_lock = PTHREAD_MUTEX_INITIALIZER;

/* A plain connection to the scratch schema (for writers and the naive reader). */
static PGconn *
s_connect (void)
{
    PGconn *c = PQconnectdb (s_dsn);
    if (PQstatus (c) != CONNECTION_OK) {
        fprintf (stderr, "connect: %s", PQerrorMessage (c));
        PQfinish (c);
        return NULL;
    }
    char sql[160];
    snprintf (sql, sizeof sql, "SET search_path TO %s; SET client_min_messages = warning", s_schema);
    PQclear (PQexec (c, sql));
    pthread_mutex_lock (&s_conns_lock);
    for (int i = 0; i < 128; i++)
        if (!s_conns[i]) {
            s_conns[i] = c;
            break;
        }
    pthread_mutex_unlock (&s_conns_lock);
    return c;
}

static void
s_close (PGconn *c)
{
    pthread_mutex_lock (&s_conns_lock);
    for (int i = 0; i < 128; i++)
        if (s_conns[i] == c)
            s_conns[i] = NULL;
    pthread_mutex_unlock (&s_conns_lock);
    PQfinish (c);
}

static int
s_exec_ok (PGconn *c, const char *sql)
{
    PGresult *r = PQexec (c, sql);
    int ok = PQresultStatus (r) == PGRES_COMMAND_OK || PQresultStatus (r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf (stderr, "%s: %s", sql, PQresultErrorMessage (r));
    PQclear (r);
    return ok;
}

/* One events.read through outbox_read; returns the reply body (caller frees). */
static cJSON *
s_read_status (const char *role, cJSON *data, int *status)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddObjectToObject (body, "params");
    cJSON_AddItemToObject (body, "data", data ? data : cJSON_CreateNull ());
    env_caller_t caller = { .user_id = "test", .role = role, .property_ids = NULL };
    char *json = env_request_build ("t-read", "test.events.read", &caller, 0, body);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    env_reply_t rep = { 0 };
    outbox_read (s_ob, &req, &rep);
    *status = rep.status;
    cJSON *out = rep.body;
    rep.body = NULL;
    env_reply_reset (&rep);
    env_request_destroy (&req);
    free (json);
    return out;
}

static cJSON *
s_read (const char *after, int limit)
{
    cJSON *data = cJSON_CreateObject ();
    if (after)
        cJSON_AddStringToObject (data, "after", after);
    else
        cJSON_AddNullToObject (data, "after");
    cJSON_AddNumberToObject (data, "limit", limit);
    int status;
    cJSON *body = s_read_status ("service", data, &status);
    assert_int_equal (status, 200);
    assert_non_null (body);
    return body;
}

/* Reads to the end from cursor; leaves the last cursor in cursor. */
static void
s_read_to_end (char cursor[64])
{
    for (;;) {
        cJSON *body = s_read (cursor, OUTBOX_READ_MAX);
        int n = cJSON_GetArraySize (cJSON_GetObjectItem (body, "events"));
        snprintf (cursor, 64, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (body, "next")));
        cJSON_Delete (body);
        if (n == 0)
            return;
    }
}

static void
s_cursor_pair (const char *cursor, uint64_t *xid, uint64_t *seq)
{
    char x[24], s[24];
    assert_true (outbox_cursor_parse (cursor, x, s));
    *xid = strtoull (x, NULL, 10);
    *seq = strtoull (s, NULL, 10);
}

static int
s_setup (void **state)
{
    (void) state;
    log_init ("test_outbox");
    s_dsn = getenv ("PM_TEST_DSN");
    if (!s_dsn || !*s_dsn) {
        s_dsn = NULL;
        return 0;
    }
    snprintf (s_schema, sizeof s_schema, "outbox_test_%d", (int) getpid ());
    PGconn *c = PQconnectdb (s_dsn);
    if (PQstatus (c) != CONNECTION_OK) {
        fprintf (stderr, "PM_TEST_DSN: %s", PQerrorMessage (c));
        PQfinish (c);
        return -1;
    }
    char sql[256];
    snprintf (sql, sizeof sql, "SET client_min_messages = warning; "
              "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", s_schema, s_schema);
    int ok = s_exec_ok (c, sql);
    PQfinish (c);
    if (!ok)
        return -1;
    s_db = db_new (s_schema, s_dsn, s_migrations);
    s_ob = s_db ? outbox_new (s_db, "testprod") : NULL;
    return s_ob ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    outbox_destroy (&s_ob);
    db_destroy (&s_db);
    for (int i = 0; i < 128; i++)
        if (s_conns[i])
            s_close (s_conns[i]);
    if (!s_dsn)
        return 0;
    PGconn *c = PQconnectdb (s_dsn);
    char sql[320];
    snprintf (sql, sizeof sql, "SET client_min_messages = warning; SET lock_timeout = '10s'; "
              "DROP SCHEMA IF EXISTS %s CASCADE; DROP SCHEMA IF EXISTS %s_mig CASCADE",
              s_schema, s_schema);
    s_exec_ok (c, sql);
    PQfinish (c);
    return 0;
}

/* ---- the reader's contract ------------------------------------------------ */

static void
test_envelope (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    char cursor[64] = "";
    s_read_to_end (cursor);

    cJSON *data = cJSON_Parse ("{\"code\":\"商铺-1'; --\",\"area_m2\":85.5}");
    assert_int_equal (db_begin (s_db), 0);
    assert_int_equal (outbox_add (s_ob, "unit.created", "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", data), 0);
    assert_int_equal (outbox_add (s_ob, "system.note", NULL, data), 0);
    assert_int_equal (db_commit (s_db), 0);
    outbox_wake (s_ob);
    cJSON_Delete (data);

    cJSON *body = s_read (cursor, 10);
    cJSON *events = cJSON_GetObjectItem (body, "events");
    assert_int_equal (cJSON_GetArraySize (events), 2);
    cJSON *ev = cJSON_GetArrayItem (events, 0);
    assert_int_equal (cJSON_GetObjectItem (ev, "v")->valueint, 1);
    assert_true (jv_is_uuid (cJSON_GetStringValue (cJSON_GetObjectItem (ev, "id"))));
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (ev, "type")), "unit.created");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (ev, "property_id")),
                         "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (ev, "producer")), "testprod");
    assert_true (cJSON_IsNumber (cJSON_GetObjectItem (ev, "seq")));
    const char *at = cJSON_GetStringValue (cJSON_GetObjectItem (ev, "occurred_at"));
    assert_non_null (at);
    assert_int_equal (strlen (at), 20);                  /* 2026-11-27T03:14:00Z */
    assert_true (at[4] == '-' && at[10] == 'T' && at[19] == 'Z');
    cJSON *d = cJSON_GetObjectItem (ev, "data");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (d, "code")), "商铺-1'; --");
    assert_true (cJSON_GetObjectItem (d, "area_m2")->valuedouble == 85.5);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (cJSON_GetArrayItem (events, 1), "property_id")));
    /* next is the last event's cursor */
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (body, "next")),
                         cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (events, 1), "cursor")));
    char next[64];
    snprintf (next, sizeof next, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (body, "next")));
    cJSON_Delete (body);

    /* limit 1 pages one by one; nothing new answers the same cursor */
    body = s_read (cursor, 1);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "events")), 1);
    cJSON_Delete (body);
    body = s_read (next, 10);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "events")), 0);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (body, "next")), next);
    cJSON_Delete (body);
    /* from the beginning (null cursor) everything is there */
    body = s_read (NULL, OUTBOX_READ_MAX);
    assert_true (cJSON_GetArraySize (cJSON_GetObjectItem (body, "events")) >= 2);
    cJSON_Delete (body);
}

static void
test_bad_requests (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    static const char *const bad[] = {
        "{\"limit\":0}", "{\"limit\":1001}", "{\"limit\":1.5}", "{\"limit\":\"10\"}",
        "{\"after\":\"x\"}", "{\"after\":\"1:2:3\"}", "{\"after\":5}", "{\"after\":\"-1:0\"}", NULL
    };
    int status;
    for (int i = 0; bad[i]; i++) {
        cJSON *body = s_read_status ("service", cJSON_Parse (bad[i]), &status);
        assert_int_equal (status, 422);
        cJSON_Delete (body);
    }
    cJSON *body = s_read_status ("manager", cJSON_Parse ("{}"), &status);
    assert_int_equal (status, 403);
    cJSON_Delete (body);
    body = s_read_status ("service", NULL, &status);     /* no data: defaults */
    assert_int_equal (status, 200);
    cJSON_Delete (body);
}

/* ---- pruning (issue G) ----------------------------------------------------- */

/* One read by user with role from after; returns the reply's "next" (caller frees). */
static char *
s_read_as (const char *user, const char *role, const char *after)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddObjectToObject (body, "params");
    cJSON *data = cJSON_AddObjectToObject (body, "data");
    cJSON_AddStringToObject (data, "after", after);
    cJSON_AddNumberToObject (data, "limit", OUTBOX_READ_MAX);
    env_caller_t caller = { .user_id = user, .role = role, .property_ids = NULL };
    char *json = env_request_build ("t-prune", "test.events.read", &caller, 0, body);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    env_reply_t rep = { 0 };
    outbox_read (s_ob, &req, &rep);
    assert_int_equal (rep.status, 200);
    char *next = strdup (cJSON_GetStringValue (cJSON_GetObjectItem (rep.body, "next")));
    env_reply_reset (&rep);
    env_request_destroy (&req);
    free (json);
    return next;
}

static long
s_rows (PGconn *c, const char *sql)
{
    PGresult *r = PQexec (c, sql);
    assert_int_equal (PQresultStatus (r), PGRES_TUPLES_OK);
    long n = strtol (PQgetvalue (r, 0, 0), NULL, 10);
    PQclear (r);
    return n;
}

static void
test_prune (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    assert_true (outbox_consumer_name_ok ("notifications"));
    assert_true (outbox_consumer_name_ok ("billing-2"));
    assert_false (outbox_consumer_name_ok (""));
    assert_false (outbox_consumer_name_ok (NULL));
    assert_false (outbox_consumer_name_ok ("Billing"));
    assert_false (outbox_consumer_name_ok ("x'; DROP TABLE outbox; --"));
    PGconn *c = s_connect ();
    assert_non_null (c);
    /* a clean slate: no consumer, no rows */
    assert_true (s_exec_ok (c, "DELETE FROM outbox_consumers; DELETE FROM outbox"));
    assert_int_equal (outbox_prune (s_ob), 0);
    /* six events, each in its own transaction; the first four are old */
    cJSON *d = cJSON_CreateObject ();
    for (int i = 0; i < 6; i++) {
        assert_int_equal (db_begin (s_db), 0);
        assert_int_equal (outbox_add (s_ob, "test.prune", NULL, d), 0);
        assert_int_equal (db_commit (s_db), 0);
    }
    cJSON_Delete (d);
    assert_true (s_exec_ok (c, "UPDATE outbox SET occurred_at = now () - interval '40 days' "
                               "WHERE seq IN (SELECT seq FROM outbox ORDER BY xid, seq LIMIT 4)"));
    /* the cursors of the six, read by an admin: an admin registers nothing */
    char cur[6][64];
    cJSON *body = s_read ("0:0", 10);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "events")), 6);
    for (int i = 0; i < 6; i++)
        snprintf (cur[i], 64, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (
                                        cJSON_GetArrayItem (cJSON_GetObjectItem (body, "events"), i), "cursor")));
    cJSON_Delete (body);
    assert_true (s_exec_ok (c, "DELETE FROM outbox_consumers"));   /* s_read reads as service "test" */
    free (s_read_as ("someone", "admin", "0:0"));
    assert_int_equal (s_rows (c, "SELECT count(*) FROM outbox_consumers"), 0);
    /* no consumer registered: nothing can be shown to be read, nothing goes */
    assert_int_equal (outbox_prune (s_ob), 0);
    /* billing has read past the fifth, notifications only past the second */
    free (s_read_as ("billing", "service", cur[4]));
    free (s_read_as ("notifications", "service", cur[1]));
    assert_int_equal (s_rows (c, "SELECT count(*) FROM outbox_consumers"), 2);
    assert_int_equal (outbox_prune (s_ob), 2);
    assert_int_equal (s_rows (c, "SELECT count(*) FROM outbox"), 4);
    /* notifications catches up: the other two old ones go; the fifth, read by
     * both but recent, and the sixth, not read, stay */
    free (s_read_as ("notifications", "service", cur[5]));
    assert_int_equal (outbox_prune (s_ob), 2);
    assert_int_equal (s_rows (c, "SELECT count(*) FROM outbox"), 2);
    /* a consumer registered but silent holds everything after its position */
    assert_true (s_exec_ok (c, "UPDATE outbox SET occurred_at = now () - interval '40 days'"));
    assert_true (s_exec_ok (c, "INSERT INTO outbox_consumers (consumer, xid, seq) VALUES ('gone', '0', 0)"));
    free (s_read_as ("billing", "service", cur[5]));
    assert_int_equal (outbox_prune (s_ob), 0);
    /* unregistered by hand (README): then it goes */
    assert_true (s_exec_ok (c, "DELETE FROM outbox_consumers WHERE consumer = 'gone'"));
    assert_int_equal (outbox_prune (s_ob), 2);
    assert_int_equal (s_rows (c, "SELECT count(*) FROM outbox"), 0);
    /* the reader is still fine after its rows went: an old cursor reads nothing */
    char *next = s_read_as ("billing", "service", cur[0]);
    assert_string_equal (next, cur[0]);
    free (next);
    s_close (c);
}

/* ---- (xid, seq) versus seq alone ----------------------------------------- */

static void
test_late_commit (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    char cursor[64] = "";
    s_read_to_end (cursor);
    PGconn *a = s_connect (), *b = s_connect ();
    assert_non_null (a);
    assert_non_null (b);
    PGresult *r = PQexec (a, "SELECT coalesce (max (seq), 0) FROM outbox");
    long long seq0 = atoll (PQgetvalue (r, 0, 0));
    PQclear (r);

    /* A takes the smaller seq (and xid) and stays open; B commits after it. */
    assert_true (s_exec_ok (a, "BEGIN"));
    r = PQexec (a, "INSERT INTO outbox (type, data) VALUES ('late.a', '{}') RETURNING seq, id::text");
    assert_int_equal (PQresultStatus (r), PGRES_TUPLES_OK);
    long long seq_a = atoll (PQgetvalue (r, 0, 0));
    char id_a[40];
    snprintf (id_a, sizeof id_a, "%s", PQgetvalue (r, 0, 1));
    PQclear (r);
    r = PQexec (b, "INSERT INTO outbox (type, data) VALUES ('late.b', '{}') RETURNING seq, id::text");
    assert_int_equal (PQresultStatus (r), PGRES_TUPLES_OK);
    long long seq_b = atoll (PQgetvalue (r, 0, 0));
    PQclear (r);
    assert_true (seq_b > seq_a);

    /* A reader by seq alone sees B now and moves its cursor past A's seq... */
    char naive_after[32];
    snprintf (naive_after, sizeof naive_after, "%lld", seq0);
    const char *p[] = { naive_after };
    r = PQexecParams (b, "SELECT seq FROM outbox WHERE seq > $1::bigint ORDER BY seq", 1, NULL, p,
                      NULL, NULL, 0);
    assert_int_equal (PQntuples (r), 1);
    long long naive_cursor = atoll (PQgetvalue (r, 0, 0));
    PQclear (r);
    assert_true (naive_cursor == seq_b);

    /* ...while ours waits: B's xid is above the oldest running one (A's). */
    cJSON *body = s_read (cursor, 100);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "events")), 0);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (body, "next")), cursor);
    cJSON_Delete (body);

    assert_true (s_exec_ok (a, "COMMIT"));

    /* Now both, A first. */
    body = s_read (cursor, 100);
    cJSON *events = cJSON_GetObjectItem (body, "events");
    assert_int_equal (cJSON_GetArraySize (events), 2);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (events, 0), "id")), id_a);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (events, 1), "type")), "late.b");
    cJSON_Delete (body);

    /* The seq-only reader never gets A: this is the skip the xid method prevents. */
    snprintf (naive_after, sizeof naive_after, "%lld", naive_cursor);
    r = PQexecParams (b, "SELECT seq FROM outbox WHERE seq > $1::bigint ORDER BY seq", 1, NULL, p,
                      NULL, NULL, 0);
    assert_int_equal (PQntuples (r), 0);
    PQclear (r);
    s_close (a);
    s_close (b);
}

/* ---- many concurrent writers --------------------------------------------- */

typedef struct {
    char (*ids)[37];
    size_t n, cap;
} idset_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static idset_t s_committed, s_rolled_back;
static int s_writers_done;
static int s_writer_errors;

static void
s_idset_add (idset_t *set, const char *id)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 256;
        set->ids = realloc (set->ids, set->cap * sizeof *set->ids);
        assert_non_null (set->ids);
    }
    snprintf (set->ids[set->n++], 37, "%s", id);
}

static int
s_idcmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

static bool
s_idset_has (const idset_t *set, const char *id)
{
    return bsearch (id, set->ids, set->n, sizeof *set->ids, s_idcmp) != NULL;
}

typedef struct {
    int index;
    int txns;
} writer_arg_t;

static void *
s_writer (void *arg_)
{
    writer_arg_t *arg = arg_;
    unsigned seed = (unsigned) (arg->index * 7919 + getpid ());
    PGconn *c = s_connect ();
    if (!c)
        goto done;
    for (int t = 0; t < arg->txns; t++) {
        char ids[3][37];
        int k = 1 + rand_r (&seed) % 3;
        if (!s_exec_ok (c, "BEGIN"))
            goto error;
        s_sleep_us (rand_r (&seed) % 3000);
        for (int i = 0; i < k; i++) {
            char data[64];
            snprintf (data, sizeof data, "{\"w\":%d,\"t\":%d,\"i\":%d}", arg->index, t, i);
            const char *p[] = { data };
            PGresult *r = PQexecParams (c, "INSERT INTO outbox (type, data) VALUES ('test.concurrent', "
                                           "$1::jsonb) RETURNING id::text", 1, NULL, p, NULL, NULL, 0);
            if (PQresultStatus (r) != PGRES_TUPLES_OK) {
                PQclear (r);
                goto error;
            }
            snprintf (ids[i], 37, "%s", PQgetvalue (r, 0, 0));
            PQclear (r);
            /* held open with the row written: later transactions commit first */
            s_sleep_us (rand_r (&seed) % 4000);
        }
        bool rollback = rand_r (&seed) % 10 == 0;
        if (!s_exec_ok (c, rollback ? "ROLLBACK" : "COMMIT"))
            goto error;
        pthread_mutex_lock (&s_lock);
        for (int i = 0; i < k; i++)
            s_idset_add (rollback ? &s_rolled_back : &s_committed, ids[i]);
        pthread_mutex_unlock (&s_lock);
        s_sleep_us (rand_r (&seed) % 1000);
    }
    goto done;
error:
    pthread_mutex_lock (&s_lock);
    s_writer_errors++;
    pthread_mutex_unlock (&s_lock);
done:
    if (c)
        s_close (c);
    pthread_mutex_lock (&s_lock);
    s_writers_done++;
    pthread_mutex_unlock (&s_lock);
    return NULL;
}

static void
test_concurrent_writers (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    int writers = (int) config_int ("PM_TEST_WRITERS", 8, 1, 64);
    int txns = (int) config_int ("PM_TEST_TXNS", 40, 1, 100000);
    char cursor[64] = "";
    s_read_to_end (cursor);
    PGconn *naive = s_connect ();
    assert_non_null (naive);
    PGresult *r = PQexec (naive, "SELECT coalesce (max (seq), 0) FROM outbox");
    long long naive_cursor = atoll (PQgetvalue (r, 0, 0));
    PQclear (r);
    idset_t naive_seen = { 0 };

    pthread_t threads[64];
    writer_arg_t args[64];
    for (int i = 0; i < writers; i++) {
        args[i] = (writer_arg_t) { i, txns };
        assert_int_equal (pthread_create (&threads[i], NULL, s_writer, &args[i]), 0);
    }

    /* Follow the stream while it is written: small pages, as a consumer would. */
    idset_t seen = { 0 };
    uint64_t last_xid = 0, last_seq = 0;
    int order_errors = 0, reads = 0;
    struct timespec start, progress;
    clock_gettime (CLOCK_MONOTONIC, &start);
    progress = start;
    for (bool done = false;;) {
        pthread_mutex_lock (&s_lock);
        bool writing = s_writers_done < writers;
        size_t committed = s_committed.n;
        pthread_mutex_unlock (&s_lock);

        cJSON *body = s_read (cursor, 7);
        reads++;
        cJSON *ev;
        cJSON_ArrayForEach (ev, cJSON_GetObjectItem (body, "events")) {
            const char *c = cJSON_GetStringValue (cJSON_GetObjectItem (ev, "cursor"));
            uint64_t x, s;
            s_cursor_pair (c, &x, &s);
            if (x < last_xid || (x == last_xid && s <= last_seq)) {
                order_errors++;
                fprintf (stderr, "out of order: %s after %" PRIu64 ":%" PRIu64 "\n", c, last_xid, last_seq);
            }
            last_xid = x;
            last_seq = s;
            if (strcmp (cJSON_GetStringValue (cJSON_GetObjectItem (ev, "type")), "test.concurrent") == 0)
                s_idset_add (&seen, cJSON_GetStringValue (cJSON_GetObjectItem (ev, "id")));
        }
        snprintf (cursor, sizeof cursor, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (body, "next")));
        int got = cJSON_GetArraySize (cJSON_GetObjectItem (body, "events"));
        cJSON_Delete (body);

        /* the seq-only reader, for comparison (see test_late_commit) */
        char after[32];
        snprintf (after, sizeof after, "%lld", naive_cursor);
        const char *p[] = { after };
        r = PQexecParams (naive, "SELECT seq, id::text FROM outbox WHERE seq > $1::bigint "
                                 "AND type = 'test.concurrent' ORDER BY seq", 1, NULL, p, NULL, NULL, 0);
        for (int i = 0; i < PQntuples (r); i++) {
            naive_cursor = atoll (PQgetvalue (r, i, 0));
            s_idset_add (&naive_seen, PQgetvalue (r, i, 1));
        }
        PQclear (r);

        if (done && got == 0)
            break;
        if (!writing && got == 0 && seen.n >= committed)
            done = true;                     /* one more empty read to be sure */
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        if (got || writing)
            progress = now;
        if (now.tv_sec - progress.tv_sec > 5 || now.tv_sec - start.tv_sec > 300) {
            fprintf (stderr, "reader: nothing more arrives; stopping\n");
            break;
        }
        if (got == 0)
            s_sleep_us (500);
    }
    for (int i = 0; i < writers; i++)
        pthread_join (threads[i], NULL);
    assert_int_equal (s_writer_errors, 0);
    assert_int_equal (order_errors, 0);

    qsort (s_committed.ids, s_committed.n, sizeof *s_committed.ids, s_idcmp);
    qsort (s_rolled_back.ids, s_rolled_back.n, sizeof *s_rolled_back.ids, s_idcmp);
    qsort (seen.ids, seen.n, sizeof *seen.ids, s_idcmp);
    size_t dups = 0, rolled = 0, missing = 0, naive_missing = 0;
    for (size_t i = 0; i < seen.n; i++) {
        if (i && strcmp (seen.ids[i], seen.ids[i - 1]) == 0)
            dups++;
        if (s_idset_has (&s_rolled_back, seen.ids[i]))
            rolled++;
    }
    qsort (naive_seen.ids, naive_seen.n, sizeof *naive_seen.ids, s_idcmp);
    for (size_t i = 0; i < s_committed.n; i++) {
        if (!s_idset_has (&seen, s_committed.ids[i]))
            missing++;
        if (!s_idset_has (&naive_seen, s_committed.ids[i]))
            naive_missing++;
    }
    printf ("# %d writers x %d transactions: %zu events committed, %zu rolled back, "
            "read in %d reads; missing %zu, duplicated %zu; a reader by seq alone missed %zu\n",
            writers, txns, s_committed.n, s_rolled_back.n, reads, missing, dups, naive_missing);
    fflush (stdout);
    assert_int_equal (missing, 0);
    assert_int_equal (dups, 0);
    assert_int_equal (rolled, 0);
    assert_int_equal (seen.n, s_committed.n);
    free (seen.ids);
    free (naive_seen.ids);
    free (s_committed.ids);
    free (s_rolled_back.ids);
    memset (&s_committed, 0, sizeof s_committed);
    memset (&s_rolled_back, 0, sizeof s_rolled_back);
    s_close (naive);
}

/* ---- consumer: each event's effect once ---------------------------------- */

static int s_fail_at = -1;                   /* data.i of the event whose apply fails */
static int s_applied;                        /* applies that succeeded (a rolled-back batch's too) */

static int
s_apply (void *app, db_t *db, const cJSON *event, const char *rid)
{
    (void) app;
    (void) rid;
    const cJSON *i = cJSON_GetObjectItem (cJSON_GetObjectItem (event, "data"), "i");
    if (cJSON_IsNumber (i) && i->valueint == s_fail_at)
        return -1;
    const char *p[] = { cJSON_GetStringValue (cJSON_GetObjectItem (event, "id")),
                        cJSON_GetStringValue (cJSON_GetObjectItem (event, "type")) };
    PGresult *r = db_exec (db, "test_effect", 2, p);
    int rc = db_ok (r) ? 0 : -1;
    PQclear (r);
    if (rc == 0)
        s_applied++;
    return rc;
}

static long
s_count (const char *sql)
{
    PGresult *r = db_query (s_db, sql);
    assert_true (db_ok (r));
    long n = atol (PQgetvalue (r, 0, 0));
    PQclear (r);
    return n;
}

static void
test_consumer_once (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    assert_int_equal (db_prepare (s_db, "test_effect",
                                  "INSERT INTO effects (event_id, type) VALUES ($1::uuid, $2::text)", false), 0);
    consumer_t *c = consumer_new (NULL, s_db, "testcons", "testprod", s_apply, NULL);
    assert_non_null (c);
    char cursor[64];
    assert_int_equal (consumer_cursor (c, cursor), 0);
    assert_string_equal (cursor, "0:0");

    /* five new events */
    char start[64] = "";
    s_read_to_end (start);
    for (int i = 0; i < 5; i++) {
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddNumberToObject (d, "i", i);
        assert_int_equal (db_begin (s_db), 0);
        assert_int_equal (outbox_add (s_ob, "test.consume", NULL, d), 0);
        assert_int_equal (db_commit (s_db), 0);
        cJSON_Delete (d);
    }
    cJSON *body = s_read (start, 100);
    cJSON *events = cJSON_GetObjectItem (body, "events");
    assert_int_equal (cJSON_GetArraySize (events), 5);
    /* our consumer starts at this run's events */
    PGresult *r = db_exec (s_db, "consumer_cursor_set", 2, (const char *[]) { "testprod", start });
    assert_true (db_ok (r));
    PQclear (r);

    /* the third fails: the batch's transaction is rolled back, then the first
     * two are applied one by one (so twice in all: the batch's run left
     * nothing), the cursor is after the second, the third and later wait */
    s_applied = 0;
    s_fail_at = 2;
    assert_int_equal (consumer_apply_batch (c, events), 2);
    assert_int_equal (s_count ("SELECT count(*) FROM effects"), 2);
    assert_int_equal (s_applied, 4);
    assert_int_equal (consumer_cursor (c, cursor), 0);
    assert_string_equal (cursor, cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (events, 1), "cursor")));

    /* delivered again: the rest applied, the first two not twice */
    s_fail_at = -1;
    assert_int_equal (consumer_apply_batch (c, events), 5);
    assert_int_equal (s_count ("SELECT count(*) FROM effects"), 5);
    assert_int_equal (s_count ("SELECT count(DISTINCT event_id) FROM effects"), 5);
    assert_int_equal (consumer_apply_batch (c, events), 5);
    assert_int_equal (s_count ("SELECT count(*) FROM effects"), 5);
    assert_int_equal (consumer_cursor (c, cursor), 0);
    assert_string_equal (cursor, cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (events, 4), "cursor")));

    /* even with the cursor wound back, processed_events keeps it to one effect */
    r = db_exec (s_db, "consumer_cursor_set", 2, (const char *[]) { "testprod", start });
    assert_true (db_ok (r));
    PQclear (r);
    assert_int_equal (consumer_apply_batch (c, events), 5);
    assert_int_equal (s_count ("SELECT count(*) FROM effects"), 5);

    /* a malformed event stops the batch */
    cJSON *bad = cJSON_Parse ("[{\"id\":\"nope\",\"type\":\"x\",\"cursor\":\"1:1\"}]");
    assert_int_equal (consumer_apply_batch (c, bad), -1);
    cJSON_Delete (bad);
    cJSON_Delete (body);
    consumer_destroy (&c);
    assert_null (c);
    consumer_destroy (&c);                   /* safe twice */
}

/* ---- db: reconnects, transactions, migrations, timeouts ------------------ */

static void
s_terminate (int pid)
{
    PGconn *c = s_connect ();
    char sql[96];
    snprintf (sql, sizeof sql, "SELECT pg_terminate_backend (%d)", pid);
    assert_true (s_exec_ok (c, sql));
    s_close (c);
    s_sleep_us (50000);
}

static void
test_reconnect (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    const char *read_params[] = { "0", "0", "1" };
    const char *add_params[] = { "test.reconnect", NULL, "{}" };

    /* an idempotent statement is retried once on a new connection (re-prepared) */
    s_terminate (PQbackendPID (db_conn (s_db)));
    PGresult *r = db_exec (s_db, "outbox_read", 3, read_params);
    assert_true (db_ok (r));
    PQclear (r);

    /* a write is not: it fails with 503, and the next statement reconnects */
    s_terminate (PQbackendPID (db_conn (s_db)));
    r = db_exec (s_db, "outbox_add", 3, add_params);
    assert_false (db_ok (r));
    env_reply_t rep = { 0 };
    db_reply_error (r, &rep, "t-reconnect");
    assert_int_equal (rep.status, 503);
    env_reply_reset (&rep);
    PQclear (r);
    r = db_exec (s_db, "outbox_add", 3, add_params);
    assert_true (db_ok (r));
    PQclear (r);

    /* inside a transaction: no reconnect until it is rolled back, so nothing
     * of it runs in autocommit on a new connection */
    assert_int_equal (db_begin (s_db), 0);
    r = db_exec (s_db, "outbox_add", 3, add_params);
    assert_true (db_ok (r));
    PQclear (r);
    s_terminate (PQbackendPID (db_conn (s_db)));
    r = db_exec (s_db, "outbox_read", 3, read_params);
    assert_false (db_ok (r));
    PQclear (r);
    r = db_exec (s_db, "outbox_add", 3, add_params);
    assert_false (db_ok (r));
    PQclear (r);
    assert_int_equal (db_commit (s_db), -1);
    assert_true (db_alive (s_db));
    r = db_exec (s_db, "outbox_read", 3, read_params);
    assert_true (db_ok (r));
    PQclear (r);
    /* the transaction's write is gone: only the one autocommitted add exists */
    assert_int_equal (s_count ("SELECT count(*) FROM outbox WHERE type = 'test.reconnect'"), 1);

    /* a failed statement inside a transaction: commit answers -1, nothing stays */
    assert_int_equal (db_begin (s_db), 0);
    r = db_exec (s_db, "outbox_add", 3, add_params);
    PQclear (r);
    r = db_query (s_db, "SELECT 1/0");
    assert_string_equal (db_sqlstate (r), "22012");
    PQclear (r);
    assert_int_equal (db_commit (s_db), -1);
    assert_int_equal (s_count ("SELECT count(*) FROM outbox WHERE type = 'test.reconnect'"), 1);
    db_rollback (s_db);                      /* harmless when none is open */
}

typedef struct {
    const db_migration_t *migrations;
    db_t *db;
} mig_arg_t;

static void *
s_migrate_thread (void *arg_)
{
    mig_arg_t *arg = arg_;
    char schema[80];
    snprintf (schema, sizeof schema, "%s_mig", s_schema);
    arg->db = db_new (schema, s_dsn, arg->migrations);
    return NULL;
}

static void
test_migrations (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    PGconn *c = PQconnectdb (s_dsn);
    char sql[256];
    snprintf (sql, sizeof sql, "CREATE SCHEMA %s_mig", s_schema);
    assert_true (s_exec_ok (c, sql));

    /* not idempotent on purpose: applied twice, the second CREATE fails */
    static const db_migration_t migs[] = {
        { "001_a", "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);" },
        { "002_b", "CREATE TABLE b (x int); INSERT INTO a VALUES (2);" },
        { NULL, NULL }
    };
    pthread_t t[4];
    mig_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (mig_arg_t) { migs, NULL };
        pthread_create (&t[i], NULL, s_migrate_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join (t[i], NULL);
        assert_non_null (args[i].db);
        db_destroy (&args[i].db);
    }
    snprintf (sql, sizeof sql, "SELECT (SELECT count(*) FROM %s_mig.a), "
                               "(SELECT count(*) FROM %s_mig.schema_migrations)", s_schema, s_schema);
    PGresult *r = PQexec (c, sql);
    assert_string_equal (PQgetvalue (r, 0, 0), "2");
    assert_string_equal (PQgetvalue (r, 0, 1), "2");
    PQclear (r);

    /* a failing migration leaves nothing behind and stops the start */
    static const db_migration_t more[] = {
        { "001_a", "CREATE TABLE a (x int);" },
        { "002_b", "CREATE TABLE b (x int);" },
        { "003_bad", "CREATE TABLE c (x int); SELECT 1/0;" },
        { NULL, NULL }
    };
    mig_arg_t arg = { more, NULL };
    s_migrate_thread (&arg);
    assert_null (arg.db);
    snprintf (sql, sizeof sql, "SELECT to_regclass ('%s_mig.c') IS NULL, "
                               "(SELECT count(*) FROM %s_mig.schema_migrations)", s_schema, s_schema);
    r = PQexec (c, sql);
    assert_string_equal (PQgetvalue (r, 0, 0), "t");
    assert_string_equal (PQgetvalue (r, 0, 1), "2");
    PQclear (r);

    /* a schema that does not exist: a clear failure, not a crash */
    db_t *none = db_new ("no_such_schema_here", s_dsn, migs);
    assert_null (none);
    PQfinish (c);
}

static void
test_statement_timeout (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    setenv ("PM_DB_STATEMENT_TIMEOUT_MS", "100", 1);
    db_t *db = db_new (s_schema, s_dsn, s_migrations);
    unsetenv ("PM_DB_STATEMENT_TIMEOUT_MS");
    assert_non_null (db);
    assert_int_equal (db_prepare (db, "sleepy", "SELECT pg_sleep (0.5)", true), 0);
    assert_int_equal (db_prepare (db, "sleepy", "SELECT 1", true), -1);   /* a name means one statement */
    assert_int_equal (db_prepare (db, "sleepy", "SELECT pg_sleep (0.5)", true), 0);   /* again: a no-op */
    assert_int_equal (db_prepare (db, "broken", "SELECT FROM nowhere_at_all", true), -1);
    PGresult *r = db_exec (db, "sleepy", 0, NULL);
    assert_string_equal (db_sqlstate (r), "57014");
    const char *code;
    assert_int_equal (db_sqlstate_status (db_sqlstate (r), &code), 504);
    PQclear (r);
    r = db_exec (db, "never_prepared", 0, NULL);
    assert_false (db_ok (r));
    assert_string_equal (db_sqlstate (r), "26000");
    PQclear (r);
    db_destroy (&db);
    assert_null (db);
    db_destroy (&db);
}

static void
test_unreachable (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    setenv ("PM_DB_CONNECT_TIMEOUT_MS", "300", 1);
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    db_t *db = db_new ("x", "host=/nonexistent-dir port=1 dbname=pm", s_migrations);
    clock_gettime (CLOCK_MONOTONIC, &b);
    unsetenv ("PM_DB_CONNECT_TIMEOUT_MS");
    assert_null (db);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true (ms >= 250 && ms < 3000);    /* retried with backoff, then gave up */
}

/* ---- through the broker (black-box runs only) ---------------------------- */

static FILE *s_out;

static int
s_record (void *app, db_t *db, const cJSON *event, const char *rid)
{
    (void) app;
    (void) db;
    (void) rid;
    char *line = cJSON_PrintUnformatted (event);
    fprintf (s_out, "%s\n", line);
    free (line);
    return 0;
}

static void
test_consume_via_broker (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    const char *producer = getenv ("PM_TEST_CONSUME_FROM");
    const char *path = getenv ("PM_TEST_EVENTS_OUT");
    if (!producer || !path)
        skip ();
    s_out = fopen (path, "w");
    assert_non_null (s_out);
    /* on the bus as "test" (test_events.py made its key): a consumer calls as itself */
    assert_int_equal (curve_init ("test"), 0);
    consumer_t *c = consumer_new (NULL, s_db, "test", producer, s_record, NULL);
    assert_non_null (c);
    int n = consumer_poll (c);
    assert_true (n > 0);
    assert_int_equal (consumer_poll (c), 0);  /* caught up: nothing twice */
    fclose (s_out);
    consumer_destroy (&c);
}

/* A wake-up, not the timer, brings a new event: the timer is set to 10
 * minutes, the event must arrive within 10 s of asking for it. Needs the Stack's broker and
 * pm-tenants (PM_TEST_CONSUME_FROM=tenants) and a property (PM_TEST_PROPERTY). */
typedef struct {
    uv_loop_t *loop;
    char code[64];
    bool seen;
} wake_t;

static int
s_wake_apply (void *app, db_t *db, const cJSON *event, const char *rid)
{
    (void) db;
    (void) rid;
    wake_t *w = app;
    const char *code = cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetObjectItem (event, "data"), "code"));
    if (code && strcmp (code, w->code) == 0) {
        w->seen = true;
        uv_stop (w->loop);
    }
    return 0;
}

static void
s_wake_timeout (uv_timer_t *t)
{
    uv_stop (t->loop);
}

static void
test_wakeup_via_broker (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    const char *producer = getenv ("PM_TEST_CONSUME_FROM");
    const char *pid = getenv ("PM_TEST_PROPERTY");
    if (!producer || strcmp (producer, "tenants") != 0 || !pid)
        skip ();
    uv_loop_t loop;
    assert_int_equal (uv_loop_init (&loop), 0);
    wake_t w = { .loop = &loop };
    snprintf (w.code, sizeof w.code, "WAKE-%d", (int) getpid ());
    setenv ("PM_CONSUMER_POLL_MS", "600000", 1);
    assert_int_equal (curve_init ("test"), 0);
    consumer_t *c = consumer_new (&loop, s_db, "test", producer, s_wake_apply, &w);
    unsetenv ("PM_CONSUMER_POLL_MS");
    assert_non_null (c);
    uv_timer_t guard;
    uv_timer_init (&loop, &guard);

    /* the first round (timer at 0) takes the backlog; give the subscription time to travel */
    uv_timer_start (&guard, s_wake_timeout, 500, 0);
    uv_run (&loop, UV_RUN_DEFAULT);

    /* The unit is made through the gateway by whoever runs us (test_events.py
     * reads this line): on the CURVE bus a user's request comes only from the
     * gateway, and a service ("test") may not create units. */
    printf ("# wake-up: make unit %s in %s\n", w.code, pid);
    fflush (stdout);
    uv_timer_start (&guard, s_wake_timeout, 10000, 0);
    uv_run (&loop, UV_RUN_DEFAULT);
    assert_true (w.seen);

    consumer_destroy (&c);
    uv_close ((uv_handle_t *) &guard, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);          /* let the closed handles go */
    assert_int_equal (uv_loop_close (&loop), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_envelope),
        cmocka_unit_test (test_bad_requests),
        cmocka_unit_test (test_late_commit),
        cmocka_unit_test (test_concurrent_writers),
        cmocka_unit_test (test_consumer_once),
        cmocka_unit_test (test_reconnect),
        cmocka_unit_test (test_migrations),
        cmocka_unit_test (test_statement_timeout),
        cmocka_unit_test (test_unreachable),
        cmocka_unit_test (test_consume_via_broker),
        cmocka_unit_test (test_wakeup_via_broker),
        cmocka_unit_test (test_prune),          /* last: it empties the outbox */
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
