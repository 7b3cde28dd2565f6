/* test_tenants_handlers: the tenants handlers against a real PostgreSQL,
 * without the broker or the gateway (the service's .c files are included;
 * main.c is not). Needs PM_TEST_DSN (a superuser DSN on a scratch database);
 * skipped without it. Works in a schema of its own, dropped at the end, with
 * the service's real migrations (read from services/tenants/migrations). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

#include "../../services/tenants/property_handlers.c"
#include "../../services/tenants/tenants_store.c"
#include "../../services/tenants/unit_handlers.c"
#include "../../services/tenants/unit_rules.c"
/* units.get shows occupants: the parties' modules come along */
#include "../../services/tenants/occupancy_handlers.c"
#include "../../services/tenants/party_handlers.c"
#include "../../services/tenants/party_rules.c"
#include "../../services/tenants/party_store.c"
/* occupancy_handlers.c's move-out clearance (not called here) links against these */
#include "../../services/tenants/move_in_rules.c"
#include "../../services/tenants/move_in_store.c"

/* The binary carries no generated migrations table: read the files. */
const db_migration_t pm_migrations[] = { { NULL, NULL } };

static const char *s_dsn;
static char s_schema[64];
static tenants_t s_app;
static char *s_init_sql;
static char *s_parties_sql;                  /* 002: parties, occupancies, pii_reads, parking */
static char s_p1[40], s_p2[40];              /* two properties */

#define SKIP_WITHOUT_DB() do { if (!s_dsn) skip (); } while (0)

static char *
s_read_source (const char *rel)
{
    char path[1024];
    const char *slash = strrchr (__FILE__, '/');
    int dir = slash ? (int) (slash - __FILE__) : 0;
    for (int i = 0; i < 2; i++) {
        if (i == 0 && !slash)
            continue;
        if (i == 0)
            snprintf (path, sizeof path, "%.*s/../../%s", dir, __FILE__, rel);
        else
            snprintf (path, sizeof path, "%s", rel);
        FILE *f = fopen (path, "rb");
        if (!f)
            continue;
        char *buf = calloc (1, 1 << 20);
        size_t n = fread (buf, 1, (1 << 20) - 1, f);
        buf[n] = 0;
        fclose (f);
        return buf;
    }
    return NULL;
}

static int
s_psql (const char *sql)
{
    PGconn *c = PQconnectdb (s_dsn);
    PGresult *r = PQexec (c, sql);
    int ok = PQresultStatus (r) == PGRES_COMMAND_OK || PQresultStatus (r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf (stderr, "%s: %s", sql, PQresultErrorMessage (r));
    PQclear (r);
    PQfinish (c);
    return ok ? 0 : -1;
}

static int
s_setup (void **state)
{
    (void) state;
    log_init ("test_tenants_handlers");
    s_dsn = getenv ("PM_TEST_DSN");
    if (!s_dsn || !*s_dsn) {
        s_dsn = NULL;
        return 0;
    }
    s_init_sql = s_read_source ("services/tenants/migrations/001_init.sql");
    s_parties_sql = s_read_source ("services/tenants/migrations/002_parties_occupancies_parking.sql");
    if (!s_init_sql || !s_parties_sql)
        return -1;
    snprintf (s_schema, sizeof s_schema, "tenants_test_%d", (int) getpid ());
    char sql[256];
    snprintf (sql, sizeof sql, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; "
              "CREATE SCHEMA %s", s_schema, s_schema);
    if (s_psql (sql))
        return -1;
    db_migration_t migs[] = { { "001_init", s_init_sql },
                              { "002_parties_occupancies_parking", s_parties_sql }, { NULL, NULL } };
    s_app.db = db_new (s_schema, s_dsn, migs);
    if (!s_app.db || tn_store_prepare (s_app.db) || tn_party_store_prepare (s_app.db))
        return -1;
    s_app.outbox = outbox_new (s_app.db, "tenants");
    return s_app.outbox ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    outbox_destroy (&s_app.outbox);
    db_destroy (&s_app.db);
    free (s_init_sql);
    free (s_parties_sql);
    if (s_dsn) {
        char sql[200];
        snprintf (sql, sizeof sql, "SET client_min_messages = warning; SET lock_timeout = '10s'; "
                  "DROP SCHEMA IF EXISTS %s CASCADE", s_schema);
        s_psql (sql);
    }
    return 0;
}

/* Calls a handler as the worker would; the reply is the caller's to reset. */
static env_reply_t
s_call (worker_handler_fn *handler, const char *role, const char *pids, const char *params,
        const char *data)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "params", cJSON_Parse (params ? params : "{}"));
    cJSON *d = data ? cJSON_Parse (data) : cJSON_CreateNull ();
    assert_non_null (d);
    cJSON_AddItemToObject (body, "data", d);
    cJSON *ids = cJSON_Parse (pids ? pids : "[]");
    env_caller_t caller = { .user_id = "u-test", .role = role, .property_ids = ids };
    char *json = env_request_build ("t-1", "tenants.test", &caller, 0, body);
    cJSON_Delete (ids);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    env_reply_t rep = { 0 };
    handler (&s_app, &req, &rep);
    if (rep.body_json) {
        /* a body written as text (tn_unit_card_json): JSON a client can read */
        assert_null (rep.body);
        rep.body = cJSON_Parse (rep.body_json);
        assert_non_null (rep.body);
    }
    env_request_destroy (&req);
    free (json);
    return rep;
}

static const char *
s_str (const cJSON *obj, const char *name)
{
    return cJSON_GetStringValue (cJSON_GetObjectItem (obj, name));
}

static bool
s_has_detail (const env_reply_t *rep, const char *field)
{
    const cJSON *d;
    cJSON_ArrayForEach (d, rep->details)
        if (s_str (d, "field") && strcmp (s_str (d, "field"), field) == 0)
            return true;
    return false;
}

static long
s_count (const char *sql)
{
    PGresult *r = db_query (s_app.db, sql);
    assert_true (db_ok (r));
    long n = atol (PQgetvalue (r, 0, 0));
    PQclear (r);
    return n;
}

static char s_pids[128];

/* params {"pid":p} (and more, already JSON-formatted) */
static const char *
s_params (const char *pid, const char *more)
{
    static char buf[512];
    snprintf (buf, sizeof buf, "{\"pid\":\"%s\"%s%s}", pid, more ? "," : "", more ? more : "");
    return buf;
}

static void
test_properties (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    env_reply_t rep = s_call (tn_properties_create, "admin", NULL, NULL,
                              "{\"code\":\"SH-01\",\"name\":\"浦江花园\",\"address\":\"上海市浦东新区 1号\"}");
    assert_int_equal (rep.status, 201);
    assert_string_equal (s_str (rep.body, "timezone"), "Asia/Shanghai");
    assert_string_equal (s_str (rep.body, "name"), "浦江花园");
    assert_int_equal (strlen (s_str (rep.body, "created_at")), 20);
    snprintf (s_p1, sizeof s_p1, "%s", s_str (rep.body, "id"));
    env_reply_reset (&rep);

    rep = s_call (tn_properties_create, "admin", NULL, NULL,
                  "{\"code\":\"BJ-02\",\"name\":\"O'Brien \\\"Tower\\\"; DROP TABLE units;--\","
                  "\"timezone\":\"Europe/Paris\"}");
    assert_int_equal (rep.status, 201);
    assert_string_equal (s_str (rep.body, "name"), "O'Brien \"Tower\"; DROP TABLE units;--");
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rep.body, "address")));
    snprintf (s_p2, sizeof s_p2, "%s", s_str (rep.body, "id"));
    env_reply_reset (&rep);
    snprintf (s_pids, sizeof s_pids, "[\"%s\"]", s_p1);

    /* only an admin */
    rep = s_call (tn_properties_create, "manager", s_pids, NULL, "{\"code\":\"X\",\"name\":\"x\"}");
    assert_int_equal (rep.status, 403);
    assert_string_equal (rep.code, "forbidden");
    env_reply_reset (&rep);
    /* duplicate code */
    rep = s_call (tn_properties_create, "admin", NULL, NULL, "{\"code\":\"SH-01\",\"name\":\"again\"}");
    assert_int_equal (rep.status, 409);
    assert_string_equal (rep.code, "conflict");
    assert_true (s_has_detail (&rep, "code"));
    env_reply_reset (&rep);
    /* unknown time zone, bad code */
    rep = s_call (tn_properties_create, "admin", NULL, NULL,
                  "{\"code\":\"ok\",\"name\":\"x\",\"timezone\":\"Mars/Olympus_Mons\"}");
    assert_int_equal (rep.status, 422);
    assert_true (s_has_detail (&rep, "timezone"));
    env_reply_reset (&rep);
    rep = s_call (tn_properties_create, "admin", NULL, NULL, "{\"code\":\"no spaces\",\"name\":\"\"}");
    assert_int_equal (rep.status, 422);
    assert_true (s_has_detail (&rep, "code"));
    assert_true (s_has_detail (&rep, "name"));
    env_reply_reset (&rep);
    rep = s_call (tn_properties_create, "admin", NULL, NULL, NULL);
    assert_int_equal (rep.status, 422);
    env_reply_reset (&rep);

    /* get: visible or 404 */
    rep = s_call (tn_properties_get, "manager", s_pids, s_params (s_p1, NULL), NULL);
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "code"), "SH-01");
    env_reply_reset (&rep);
    rep = s_call (tn_properties_get, "manager", s_pids, s_params (s_p2, NULL), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
    rep = s_call (tn_properties_get, "admin", NULL, s_params ("0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", NULL), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
    rep = s_call (tn_properties_get, "admin", NULL, s_params ("'; SELECT 1; --", NULL), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);

    /* list: admin all, a manager only theirs; keyset pages by code */
    rep = s_call (tn_properties_list, "admin", NULL, "{\"limit\":\"1\"}", NULL);
    assert_int_equal (rep.status, 200);
    cJSON *items = cJSON_GetObjectItem (rep.body, "items");
    assert_int_equal (cJSON_GetArraySize (items), 1);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "code"), "BJ-02");
    char params[256];
    snprintf (params, sizeof params, "{\"limit\":\"1\",\"cursor\":\"%s\"}", s_str (rep.body, "next_cursor"));
    env_reply_reset (&rep);
    rep = s_call (tn_properties_list, "admin", NULL, params, NULL);
    items = cJSON_GetObjectItem (rep.body, "items");
    assert_int_equal (cJSON_GetArraySize (items), 1);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "code"), "SH-01");
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rep.body, "next_cursor")));
    env_reply_reset (&rep);
    rep = s_call (tn_properties_list, "manager", s_pids, NULL, NULL);
    items = cJSON_GetObjectItem (rep.body, "items");
    assert_int_equal (cJSON_GetArraySize (items), 1);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "id"), s_p1);
    env_reply_reset (&rep);
    rep = s_call (tn_properties_list, "agent", "[]", NULL, NULL);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items")), 0);
    env_reply_reset (&rep);
    rep = s_call (tn_properties_list, "admin", NULL, "{\"limit\":\"0\",\"cursor\":\"%%%\"}", NULL);
    assert_int_equal (rep.status, 422);
    assert_true (s_has_detail (&rep, "limit"));
    assert_true (s_has_detail (&rep, "cursor"));
    env_reply_reset (&rep);
}

/* The units' scenario, step by step (cmocka runs them in order): the units
 * test_units_create makes are what the later steps list, read and change. */
static char s_uid[40], s_uid2[40];           /* A-1201 in s_p1, and in s_p2 */
static long s_unit_events0;                  /* unit.* events before the scenario */

static void
test_units_create (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    assert_true (*s_p1);
    s_unit_events0 = s_count ("SELECT count(*) FROM outbox WHERE type LIKE 'unit.%'");
    env_reply_t rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL),
                              "{\"code\":\"A-1201\",\"building\":\"A\",\"floor\":\"12\","
                              "\"area_m2\":85.5,\"use\":\"residential\"}");
    assert_int_equal (rep.status, 201);
    assert_string_equal (s_str (rep.body, "property_id"), s_p1);
    assert_true (cJSON_GetObjectItem (rep.body, "area_m2")->valuedouble == 85.5);
    assert_string_equal (s_str (rep.body, "created_at"), s_str (rep.body, "updated_at"));
    snprintf (s_uid, sizeof s_uid, "%s", s_str (rep.body, "id"));
    env_reply_reset (&rep);

    /* duplicate code in the same property: 409; in another property: fine */
    rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL),
                  "{\"code\":\"A-1201\",\"area_m2\":1,\"use\":\"office\"}");
    assert_int_equal (rep.status, 409);
    assert_true (s_has_detail (&rep, "code"));
    env_reply_reset (&rep);
    rep = s_call (tn_units_create, "admin", NULL, s_params (s_p2, NULL),
                  "{\"code\":\"A-1201\",\"area_m2\":1,\"use\":\"office\"}");
    assert_int_equal (rep.status, 201);
    snprintf (s_uid2, sizeof s_uid2, "%s", s_str (rep.body, "id"));
    env_reply_reset (&rep);

    /* 422 with every problem */
    rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL),
                  "{\"area_m2\":12.345,\"use\":\"castle\"}");
    assert_int_equal (rep.status, 422);
    assert_true (s_has_detail (&rep, "code"));
    assert_true (s_has_detail (&rep, "area_m2"));
    assert_true (s_has_detail (&rep, "use"));
    env_reply_reset (&rep);

    /* another property: 404 whatever the body; unknown property: 404 */
    rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p2, NULL),
                  "{\"code\":\"Z\",\"area_m2\":1,\"use\":\"office\"}");
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
    rep = s_call (tn_units_create, "admin", NULL, s_params ("0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", NULL),
                  "{\"code\":\"Z\",\"area_m2\":1,\"use\":\"office\"}");
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);

    /* metacharacters and Chinese round-trip */
    const char *odd = "{\"code\":\"商铺-1'; DROP TABLE units;--%_\\\\\",\"building\":\"一号楼\","
                      "\"floor\":\"B1\",\"area_m2\":0.5,\"use\":\"retail\"}";
    rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL), odd);
    assert_int_equal (rep.status, 201);
    assert_string_equal (s_str (rep.body, "code"), "商铺-1'; DROP TABLE units;--%_\\");
    assert_string_equal (s_str (rep.body, "building"), "一号楼");
    env_reply_reset (&rep);

    for (int i = 0; i < 5; i++) {
        char body[128];
        snprintf (body, sizeof body, "{\"code\":\"B-%02d\",\"building\":\"B\",\"area_m2\":%d.25,\"use\":\"%s\"}",
                  i, 10 + i, i % 2 ? "parking" : "office");
        rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL), body);
        assert_int_equal (rep.status, 201);
        env_reply_reset (&rep);
    }
}

static void
test_units_list (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    /* list: ordered by code, filters, pages */
    env_reply_t rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, NULL), NULL);
    assert_int_equal (rep.status, 200);
    cJSON *items = cJSON_GetObjectItem (rep.body, "items");
    assert_int_equal (cJSON_GetArraySize (items), 7);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "code"), "A-1201");
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 1), "code"), "B-00");
    env_reply_reset (&rep);
    rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, "\"q\":\"B-0\",\"use\":\"parking\""), NULL);
    items = cJSON_GetObjectItem (rep.body, "items");
    assert_int_equal (cJSON_GetArraySize (items), 2);
    assert_string_equal (s_str (cJSON_GetArrayItem (items, 0), "code"), "B-01");
    env_reply_reset (&rep);
    rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, "\"q\":\"%\""), NULL);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items")), 0);  /* % is no wildcard */
    env_reply_reset (&rep);
    rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, "\"q\":\"商铺\""), NULL);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items")), 1);
    env_reply_reset (&rep);
    rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, "\"building\":\"B\""), NULL);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items")), 5);
    env_reply_reset (&rep);

    /* pages of 3: 3 + 3 + 1, no repeats */
    char cursor[128] = "", more[200];
    int total = 0, pages = 0;
    for (;;) {
        snprintf (more, sizeof more, "\"limit\":\"3\"%s%s%s", *cursor ? ",\"cursor\":\"" : "", cursor,
                  *cursor ? "\"" : "");
        rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, more), NULL);
        assert_int_equal (rep.status, 200);
        total += cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items"));
        pages++;
        const char *next = s_str (rep.body, "next_cursor");
        snprintf (cursor, sizeof cursor, "%s", next ? next : "");
        env_reply_reset (&rep);
        if (!*cursor)
            break;
    }
    assert_int_equal (total, 7);
    assert_int_equal (pages, 3);

    rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p1, "\"use\":\"castle\",\"limit\":\"501\""), NULL);
    assert_int_equal (rep.status, 422);
    assert_true (s_has_detail (&rep, "use"));
    assert_true (s_has_detail (&rep, "limit"));
    env_reply_reset (&rep);
    rep = s_call (tn_units_list, "manager", s_pids, s_params (s_p2, NULL), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
}

static void
test_units_get (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    char more[200];
    /* get: with occupants; another property's unit is 404 even under a visible pid */
    snprintf (more, sizeof more, "\"uid\":\"%s\"", s_uid);
    env_reply_t rep = s_call (tn_units_get, "manager", s_pids, s_params (s_p1, more), NULL);
    assert_int_equal (rep.status, 200);
    assert_true (cJSON_IsArray (cJSON_GetObjectItem (rep.body, "occupants")));
    env_reply_reset (&rep);
    snprintf (more, sizeof more, "\"uid\":\"%s\"", s_uid2);
    rep = s_call (tn_units_get, "manager", s_pids, s_params (s_p1, more), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
    rep = s_call (tn_units_get, "manager", s_pids, s_params (s_p2, more), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
    rep = s_call (tn_units_get, "manager", s_pids, s_params (s_p1, "\"uid\":\"nope\""), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
}

static void
test_units_update (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    char more[200];
    /* update */
    snprintf (more, sizeof more, "\"uid\":\"%s\"", s_uid);
    env_reply_t rep = s_call (tn_units_update, "manager", s_pids, s_params (s_p1, more),
                  "{\"area_m2\":90.1,\"building\":null}");
    assert_int_equal (rep.status, 200);
    assert_true (cJSON_GetObjectItem (rep.body, "area_m2")->valuedouble == 90.1);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (rep.body, "building")));
    assert_string_equal (s_str (rep.body, "floor"), "12");
    env_reply_reset (&rep);
    long events1 = s_count ("SELECT count(*) FROM outbox WHERE type LIKE 'unit.%'");
    rep = s_call (tn_units_update, "manager", s_pids, s_params (s_p1, more), "{\"area_m2\":90.10}");
    assert_int_equal (rep.status, 200);                     /* no change: no event */
    env_reply_reset (&rep);
    assert_int_equal (s_count ("SELECT count(*) FROM outbox WHERE type LIKE 'unit.%'"), events1);
    rep = s_call (tn_units_update, "manager", s_pids, s_params (s_p1, more), "{\"code\":\"B-00\"}");
    assert_int_equal (rep.status, 409);
    env_reply_reset (&rep);
    rep = s_call (tn_units_update, "manager", s_pids, s_params (s_p1, more),
                  "{\"area_m2\":-1,\"use\":null,\"floor\":3}");
    assert_int_equal (rep.status, 422);
    assert_true (s_has_detail (&rep, "area_m2"));
    assert_true (s_has_detail (&rep, "use"));
    assert_true (s_has_detail (&rep, "floor"));
    env_reply_reset (&rep);
    rep = s_call (tn_units_update, "manager", s_pids, s_params (s_p2, more), "{\"area_m2\":1}");
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);

    /* events: one per change, in order, the full unit as data */
    assert_int_equal (s_count ("SELECT count(*) FROM outbox WHERE type LIKE 'unit.%'"), s_unit_events0 + 9);
    PGresult *r = db_query (s_app.db, "SELECT type, data->>'code', (data->>'area_m2')::numeric, property_id::text "
                                      "FROM outbox WHERE type LIKE 'unit.%' ORDER BY xid, seq");
    int n = PQntuples (r);
    assert_string_equal (PQgetvalue (r, n - 1, 0), "unit.updated");
    assert_string_equal (PQgetvalue (r, n - 1, 1), "A-1201");
    assert_string_equal (PQgetvalue (r, n - 1, 2), "90.1");
    assert_string_equal (PQgetvalue (r, n - 1, 3), s_p1);
    assert_string_equal (PQgetvalue (r, 0, 0), "unit.created");
    PQclear (r);
}

static void
test_nothing_half_written (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    /* make the event insert fail: the unit must not stay behind */
    PGresult *r = db_query (s_app.db, "ALTER TABLE outbox ADD CONSTRAINT test_no_units CHECK (type <> 'unit.created') NOT VALID");
    assert_true (db_ok (r));
    PQclear (r);
    long units = s_count ("SELECT count(*) FROM units");
    env_reply_t rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL),
                              "{\"code\":\"HALF\",\"area_m2\":1,\"use\":\"office\"}");
    assert_int_equal (rep.status, 500);
    env_reply_reset (&rep);
    assert_int_equal (s_count ("SELECT count(*) FROM units"), units);
    r = db_query (s_app.db, "ALTER TABLE outbox DROP CONSTRAINT test_no_units");
    assert_true (db_ok (r));
    PQclear (r);
    rep = s_call (tn_units_create, "manager", s_pids, s_params (s_p1, NULL),
                  "{\"code\":\"HALF\",\"area_m2\":1,\"use\":\"office\"}");
    assert_int_equal (rep.status, 201);
    env_reply_reset (&rep);
}

static void
test_events_and_ping (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    env_reply_t rep = s_call (tn_events_read, "service", NULL, NULL, "{\"after\":null,\"limit\":1000}");
    assert_int_equal (rep.status, 200);
    cJSON *events = cJSON_GetObjectItem (rep.body, "events");
    assert_true (cJSON_GetArraySize (events) >= 10);
    assert_string_equal (s_str (cJSON_GetArrayItem (events, 0), "type"), "property.created");
    assert_string_equal (s_str (cJSON_GetArrayItem (events, 0), "producer"), "tenants");
    env_reply_reset (&rep);
    rep = s_call (tn_events_read, "manager", s_pids, NULL, "{}");
    assert_int_equal (rep.status, 403);
    env_reply_reset (&rep);
    rep = s_call (tn_ping, "service", NULL, NULL, NULL);
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "db"), "ok");
    assert_string_equal (s_str (rep.body, "service"), "tenants");
    env_reply_reset (&rep);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_properties),
        cmocka_unit_test (test_units_create),
        cmocka_unit_test (test_units_list),
        cmocka_unit_test (test_units_get),
        cmocka_unit_test (test_units_update),
        cmocka_unit_test (test_nothing_half_written),
        cmocka_unit_test (test_events_and_ping),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
