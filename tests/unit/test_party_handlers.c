/* test_party_handlers: the parties' and occupancies' handlers against a real
 * PostgreSQL, without the broker or the gateway (the service's .c files are
 * included; main.c is not): what a client cannot reach over HTTP — the
 * methods for other services (tenants.unit.get, tenants.units.occupants) and
 * their role checks, whole contacts for services without an audit row — and
 * that a whole read which cannot be audited is not answered.
 * Needs PM_TEST_DSN (a superuser DSN on a scratch database); skipped without
 * it (tests/blackbox/test_occupancies.py runs it against its cluster). Works
 * in a schema of its own, dropped at the end, with every migration of
 * services/tenants/migrations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

#include "../../services/tenants/occupancy_handlers.c"
#include "../../services/tenants/party_handlers.c"
#include "../../services/tenants/party_rules.c"
#include "../../services/tenants/party_store.c"
#include "../../services/tenants/move_in_rules.c"
#include "../../services/tenants/move_in_store.c"
#include "../../services/tenants/property_handlers.c"
#include "../../services/tenants/tenants_store.c"
#include "../../services/tenants/unit_handlers.c"
#include "../../services/tenants/unit_rules.c"

/* The binary carries no generated migrations table: the files are read. */
const db_migration_t pm_migrations[] = { { NULL, NULL } };

#define MIGRATIONS_MAX 32

static const char *s_dsn;
static char s_schema[64];
static tenants_t s_app;
static db_migration_t s_migs[MIGRATIONS_MAX + 1];
static char s_pid[40], s_uid[40], s_party[40], s_pids[64];

#define SKIP_WITHOUT_DB() do { if (!s_dsn) skip (); } while (0)

static char *
s_slurp (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc (1, 1 << 20);
    size_t n = buf ? fread (buf, 1, (1 << 20) - 1, f) : 0;
    fclose (f);
    if (buf)
        buf[n] = 0;
    return buf;
}

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (((const db_migration_t *) a)->name, ((const db_migration_t *) b)->name);
}

/* Every services/tenants/migrations/NNN_*.sql, in order. */
static int
s_load_migrations (void)
{
    char dir[1024];
    const char *slash = strrchr (__FILE__, '/');
    if (slash)
        snprintf (dir, sizeof dir, "%.*s/../../services/tenants/migrations", (int) (slash - __FILE__), __FILE__);
    else
        snprintf (dir, sizeof dir, "services/tenants/migrations");
    DIR *d = opendir (dir);
    if (!d) {
        snprintf (dir, sizeof dir, "services/tenants/migrations");
        d = opendir (dir);
    }
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir (d)) && n < MIGRATIONS_MAX) {
        size_t len = strlen (e->d_name);
        if (len < 5 || strcmp (e->d_name + len - 4, ".sql") != 0)
            continue;
        char path[2048];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        s_migs[n].name = strndup (e->d_name, len - 4);
        s_migs[n].sql = s_slurp (path);
        if (!s_migs[n].sql)
            break;
        n++;
    }
    closedir (d);
    qsort (s_migs, (size_t) n, sizeof s_migs[0], s_by_name);
    return n > 0 ? 0 : -1;
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
    log_init ("test_party_handlers");
    s_dsn = getenv ("PM_TEST_DSN");
    if (!s_dsn || !*s_dsn) {
        s_dsn = NULL;
        return 0;
    }
    if (s_load_migrations ())
        return -1;
    snprintf (s_schema, sizeof s_schema, "party_test_%d", (int) getpid ());
    char sql[256];
    snprintf (sql, sizeof sql, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; "
              "CREATE SCHEMA %s", s_schema, s_schema);
    if (s_psql (sql))
        return -1;
    s_app.db = db_new (s_schema, s_dsn, s_migs);
    if (!s_app.db || tn_store_prepare (s_app.db) || tn_party_store_prepare (s_app.db)
        || tn_move_in_store_prepare (s_app.db))
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
    for (int i = 0; s_migs[i].name; i++) {
        free ((char *) s_migs[i].name);
        free ((char *) s_migs[i].sql);
    }
    if (s_dsn) {
        char sql[200];
        snprintf (sql, sizeof sql, "SET client_min_messages = warning; SET lock_timeout = '10s'; "
                  "DROP SCHEMA IF EXISTS %s CASCADE", s_schema);
        s_psql (sql);
    }
    return 0;
}

/* Calls a handler as the worker would, as method; the reply is the caller's to reset. */
static env_reply_t
s_call (worker_handler_fn *handler, const char *method, const char *role, const char *params, const char *data)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "params", cJSON_Parse (params ? params : "{}"));
    cJSON *d = data ? cJSON_Parse (data) : cJSON_CreateNull ();
    assert_non_null (d);
    cJSON_AddItemToObject (body, "data", d);
    cJSON *ids = cJSON_Parse (s_pids[0] ? s_pids : "[]");
    env_caller_t caller = { .user_id = "u-test", .role = role, .property_ids = ids };
    char *json = env_request_build ("t-1", method, &caller, 0, body);
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

static long
s_count (const char *sql)
{
    PGresult *r = db_query (s_app.db, sql);
    assert_true (db_ok (r));
    long n = atol (PQgetvalue (r, 0, 0));
    PQclear (r);
    return n;
}

static void
s_exec (const char *sql)
{
    PGresult *r = db_query (s_app.db, sql);
    assert_true (db_ok (r));
    PQclear (r);
}

static const char *
s_unit_params (const char *uid, const char *more)
{
    static char buf[512];
    snprintf (buf, sizeof buf, "{\"pid\":\"%s\",\"uid\":\"%s\"%s%s}", s_pid, uid, more ? "," : "", more ? more : "");
    return buf;
}

static void
test_move_in (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    env_reply_t rep = s_call (tn_properties_create, "tenants.properties.create", "admin", NULL,
                              "{\"code\":\"PH-01\",\"name\":\"翠苑小区\"}");
    assert_int_equal (rep.status, 201);
    snprintf (s_pid, sizeof s_pid, "%s", s_str (rep.body, "id"));
    snprintf (s_pids, sizeof s_pids, "[\"%s\"]", s_pid);
    env_reply_reset (&rep);
    char params[128];
    snprintf (params, sizeof params, "{\"pid\":\"%s\"}", s_pid);
    rep = s_call (tn_units_create, "tenants.units.create", "manager", params,
                  "{\"code\":\"3-101\",\"building\":\"3\",\"floor\":\"1\",\"area_m2\":96.25,\"use\":\"residential\"}");
    assert_int_equal (rep.status, 201);
    snprintf (s_uid, sizeof s_uid, "%s", s_str (rep.body, "id"));
    env_reply_reset (&rep);
    rep = s_call (tn_parties_create, "tenants.parties.create", "agent", params,
                  "{\"kind\":\"person\",\"name\":\"张伟\",\"phones\":[\"13800138000\",\"0571-87654321\"],"
                  "\"email\":\"zhang@example.com\",\"id_number\":\"11010519491231002X\"}");
    assert_int_equal (rep.status, 201);
    assert_string_equal (s_str (rep.body, "phone"), "138****8000");   /* an agent's answer */
    snprintf (s_party, sizeof s_party, "%s", s_str (rep.body, "id"));
    env_reply_reset (&rep);
    char data[160];
    snprintf (data, sizeof data, "{\"party_id\":\"%s\",\"role\":\"owner\",\"start_date\":\"2025-06-01\"}", s_party);
    rep = s_call (tn_occupancies_create, "tenants.occupancies.create", "agent", s_unit_params (s_uid, NULL), data);
    assert_int_equal (rep.status, 201);
    assert_string_equal (s_str (rep.body, "unit_code"), "3-101");
    env_reply_reset (&rep);
}

static void
test_service_methods (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    long reads = s_count ("SELECT count(*) FROM pii_reads");
    env_reply_t rep = s_call (tn_unit_get_service, "tenants.unit.get", "service", s_unit_params (s_uid, NULL), NULL);
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "code"), "3-101");
    cJSON *occ = cJSON_GetArrayItem (cJSON_GetObjectItem (rep.body, "occupants"), 0);
    assert_non_null (occ);
    assert_string_equal (s_str (occ, "party_id"), s_party);
    assert_string_equal (s_str (occ, "phone"), "13800138000");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetArrayItem (cJSON_GetObjectItem (occ, "phones"), 1)),
                         "0571-87654321");
    assert_string_equal (s_str (occ, "email"), "zhang@example.com");
    assert_string_equal (s_str (occ, "id_type"), "resident_id");
    assert_string_equal (s_str (occ, "id_number"), "11010519491231002X");
    assert_string_equal (s_str (occ, "role"), "owner");
    env_reply_reset (&rep);
    assert_int_equal (s_count ("SELECT count(*) FROM pii_reads"), reads);   /* the system: no row */

    /* people may not call it; an admin may, and is audited */
    const char *roles[] = { "manager", "agent", "technician", "integration" };
    for (int i = 0; i < 4; i++) {
        rep = s_call (tn_unit_get_service, "tenants.unit.get", roles[i], s_unit_params (s_uid, NULL), NULL);
        assert_int_equal (rep.status, 403);
        env_reply_reset (&rep);
        rep = s_call (tn_units_occupants, "tenants.units.occupants", roles[i], s_unit_params (s_uid, NULL), NULL);
        assert_int_equal (rep.status, 403);
        env_reply_reset (&rep);
    }
    rep = s_call (tn_unit_get_service, "tenants.unit.get", "admin", s_unit_params (s_uid, NULL), NULL);
    assert_int_equal (rep.status, 200);
    env_reply_reset (&rep);
    assert_int_equal (s_count ("SELECT count(*) FROM pii_reads WHERE method = 'tenants.unit.get' "
                               "AND role = 'admin' AND user_id = 'u-test'"), 1);

    rep = s_call (tn_units_occupants, "tenants.units.occupants", "service",
                  s_unit_params (s_uid, "\"role\":\"owner\""), NULL);
    assert_int_equal (rep.status, 200);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items")), 1);
    assert_string_equal (s_str (cJSON_GetArrayItem (cJSON_GetObjectItem (rep.body, "items"), 0), "phone"),
                         "13800138000");
    env_reply_reset (&rep);
    rep = s_call (tn_units_occupants, "tenants.units.occupants", "service",
                  s_unit_params (s_uid, "\"role\":\"tenant\""), NULL);
    assert_int_equal (rep.status, 200);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (rep.body, "items")), 0);
    env_reply_reset (&rep);
    rep = s_call (tn_units_occupants, "tenants.units.occupants", "service",
                  s_unit_params (s_uid, "\"role\":\"landlord\""), NULL);
    assert_int_equal (rep.status, 422);
    env_reply_reset (&rep);
    rep = s_call (tn_units_occupants, "tenants.units.occupants", "service",
                  s_unit_params ("0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", NULL), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
    rep = s_call (tn_unit_get_service, "tenants.unit.get", "service",
                  s_unit_params ("0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", NULL), NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
}

/* tenants.party.get: a party's existence, kind and name for other services;
 * no contact, nothing audited; people cannot call it. */
static void
test_party_brief (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    long reads = s_count ("SELECT count(*) FROM pii_reads");
    char params[160];
    snprintf (params, sizeof params, "{\"pid\":\"%s\",\"party_id\":\"%s\"}", s_pid, s_party);
    env_reply_t rep = s_call (tn_party_get_service, "tenants.party.get", "service", params, NULL);
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "id"), s_party);
    assert_string_equal (s_str (rep.body, "name"), "张伟");
    assert_string_equal (s_str (rep.body, "kind"), "person");
    assert_null (cJSON_GetObjectItem (rep.body, "phone"));
    assert_null (cJSON_GetObjectItem (rep.body, "phones"));
    assert_null (cJSON_GetObjectItem (rep.body, "id_number"));
    env_reply_reset (&rep);
    assert_int_equal (s_count ("SELECT count(*) FROM pii_reads"), reads);
    rep = s_call (tn_party_get_service, "tenants.party.get", "manager", params, NULL);
    assert_int_equal (rep.status, 403);
    env_reply_reset (&rep);
    snprintf (params, sizeof params, "{\"pid\":\"%s\",\"party_id\":\"%s\"}", s_pid,
              "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69");
    rep = s_call (tn_party_get_service, "tenants.party.get", "service", params, NULL);
    assert_int_equal (rep.status, 404);
    env_reply_reset (&rep);
}

static void
test_unaudited_read_is_refused (void **state)
{
    (void) state;
    SKIP_WITHOUT_DB ();
    /* the audit cannot be written: a manager's whole read must fail, an agent's masked one not */
    s_exec ("ALTER TABLE pii_reads ADD CONSTRAINT test_no_reads CHECK (role <> 'manager') NOT VALID");
    char params[128];
    snprintf (params, sizeof params, "{\"pid\":\"%s\",\"party_id\":\"%s\"}", s_pid, s_party);
    env_reply_t rep = s_call (tn_parties_get, "tenants.parties.get", "manager", params, NULL);
    assert_int_equal (rep.status, 500);
    assert_null (rep.body);
    env_reply_reset (&rep);
    rep = s_call (tn_units_get, "tenants.units.get", "manager", s_unit_params (s_uid, NULL), NULL);
    assert_int_equal (rep.status, 500);
    assert_null (rep.body);
    env_reply_reset (&rep);
    rep = s_call (tn_parties_get, "tenants.parties.get", "agent", params, NULL);
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "id_number"), "**************002X");
    env_reply_reset (&rep);
    s_exec ("ALTER TABLE pii_reads DROP CONSTRAINT test_no_reads");
    rep = s_call (tn_parties_get, "tenants.parties.get", "manager", params, NULL);
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "id_number"), "11010519491231002X");
    env_reply_reset (&rep);

    /* a move-out whose event cannot be written leaves the occupancy current
     * (no billing here to clear the unit: a manager's override stands in) */
    s_exec ("ALTER TABLE outbox ADD CONSTRAINT test_no_end CHECK (type <> 'occupancy.ended') NOT VALID");
    char occ[40];
    PGresult *r = db_query (s_app.db, "SELECT id::text FROM occupancies LIMIT 1");
    assert_true (db_ok (r) && PQntuples (r) == 1);
    snprintf (occ, sizeof occ, "%s", PQgetvalue (r, 0, 0));
    PQclear (r);
    snprintf (params, sizeof params, "{\"pid\":\"%s\",\"oid\":\"%s\"}", s_pid, occ);
    rep = s_call (tn_occupancies_end, "tenants.occupancies.end", "manager", params,
                  "{\"end_date\":\"2026-01-31\",\"override_reason\":\"unit test\"}");
    assert_int_equal (rep.status, 500);
    env_reply_reset (&rep);
    assert_int_equal (s_count ("SELECT count(*) FROM occupancies WHERE end_date IS NULL"), 1);
    s_exec ("ALTER TABLE outbox DROP CONSTRAINT test_no_end");
    rep = s_call (tn_occupancies_end, "tenants.occupancies.end", "manager", params,
                  "{\"end_date\":\"2026-01-31\",\"override_reason\":\"unit test\"}");
    assert_int_equal (rep.status, 200);
    assert_string_equal (s_str (rep.body, "end_date"), "2026-01-31");
    env_reply_reset (&rep);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_move_in),
        cmocka_unit_test (test_service_methods),
        cmocka_unit_test (test_party_brief),
        cmocka_unit_test (test_unaudited_read_is_refused),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
