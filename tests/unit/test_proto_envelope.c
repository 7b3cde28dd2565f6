/* test_proto_envelope: common/envelope.c builds what proto/ says and parses
 * back what it built.
 *
 * Run plain, it is a cmocka suite (round trips, refusals, the status->code
 * table). Run with --dump, it prints one JSON line per message shape a caller
 * can build, {"kind":"request"|"reply"|"error_body","name","valid","msg"},
 * which tests/blackbox/test_proto.py validates against the proto/ schemas:
 * "valid": false marks what the code can build but the schemas refuse on
 * purpose (a request without a caller). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PID "2f0c6a52-1d0e-4b3f-9a51-0c1e2d3f4a5b"
#define S_UID "7d3e2b1a-5c4f-4e6d-8a9b-0c1d2e3f4a5b"

/* ---------------------------------------------------------------- builders */

/* {"params": {"pid": S_PID, ...}, "data": data} */
static cJSON *
s_body (cJSON *data, int with_uid)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    cJSON_AddStringToObject (params, "pid", S_PID);
    if (with_uid)
        cJSON_AddStringToObject (params, "uid", S_UID);
    cJSON_AddItemToObject (body, "data", data ? data : cJSON_CreateNull ());
    return body;
}

static cJSON *
s_unit_data (void)
{
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "code", "A-1201");
    cJSON_AddStringToObject (d, "building", "A座");
    cJSON_AddNumberToObject (d, "area_m2", 85.5);
    cJSON_AddStringToObject (d, "use", "office");
    return d;
}

static cJSON *
s_details (void)
{
    cJSON *a = cJSON_CreateArray ();
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "field", "area_m2");
    cJSON_AddStringToObject (d, "problem", "must have at most 2 decimals");
    cJSON_AddItemToArray (a, d);
    return a;
}

static void
s_emit (const char *kind, const char *name, int valid, char *json)
{
    if (!json) {
        fprintf (stderr, "%s %s: nothing built\n", kind, name);
        exit (1);
    }
    printf ("{\"kind\":\"%s\",\"name\":\"%s\",\"valid\":%s,\"msg\":%s}\n", kind, name,
            valid ? "true" : "false", json);
    free (json);
}

/* Every request shape: the gateway's, a service's, and edge cases. */
static void
s_dump_requests (void)
{
    cJSON *pids = cJSON_CreateArray ();
    cJSON_AddItemToArray (pids, cJSON_CreateString (S_PID));
    env_caller_t manager = { .user_id = "0d6f6a0e-1f0a-4c55-9a4c-5a1c0d0e0f10", .role = "manager", .property_ids = pids };
    env_caller_t admin = { .user_id = "0d6f6a0e-1f0a-4c55-9a4c-5a1c0d0e0f11", .role = "admin" };
    env_caller_t service = { .role = "service" };
    int64_t dl = env_now_ms () + 5000;

    s_emit ("request", "gateway POST with JSON data", 1,
            env_request_build ("req-1", "tenants.units.create", &manager, dl, s_body (s_unit_data (), 0)));
    s_emit ("request", "gateway GET, data null", 1,
            env_request_build ("req.2_x", "tenants.units.get", &admin, dl, s_body (NULL, 1)));
    s_emit ("request", "CSV data", 1,
            env_request_build ("req-3", "tenants.imports.units", &manager, dl,
                               s_body (cJSON_CreateString ("code,area_m2,use\nA-1,85.50,office\n"), 0)));
    s_emit ("request", "a service calling, no deadline", 1,
            env_request_build ("req-4", "tenants.units.get", &service, 0, s_body (NULL, 1)));
    s_emit ("request", "body NULL (becomes {})", 1,
            env_request_build ("req-5", "tenants.ping", &service, dl, NULL));
    char id64[ENVELOPE_ID_MAX + 1];
    memset (id64, 'a', ENVELOPE_ID_MAX);
    id64[ENVELOPE_ID_MAX] = 0;
    s_emit ("request", "a 64-character id", 1,
            env_request_build (id64, "broker.stats", &service, dl, NULL));
    s_emit ("request", "caller NULL: refused, every request names its caller", 0,
            env_request_build ("req-6", "tenants.ping", NULL, dl, NULL));
    cJSON_Delete (pids);
}

static void
s_dump_replies (void)
{
    env_reply_t rep = { 0 };
    cJSON *unit = s_unit_data ();
    cJSON_AddStringToObject (unit, "id", S_UID);
    env_reply_ok (&rep, 201, unit);
    s_emit ("reply", "201 with a body", 1, env_reply_build ("req-1", &rep));
    env_reply_ok (&rep, 200, NULL);
    s_emit ("reply", "200 without a body (becomes {})", 1, env_reply_build ("req-1", &rep));
    env_reply_error (&rep, 422, "validation_failed", s_details (), "the unit is not valid: %s", "\"引号\"");
    s_emit ("reply", "422 with details", 1, env_reply_build ("req-1", &rep));
    env_reply_error (&rep, 409, "invalid_transition", NULL, "allowed: %s", "accept");
    s_emit ("reply", "409 invalid_transition", 1, env_reply_build ("req-1", &rep));
    env_reply_error (&rep, 503, NULL, NULL, "no live worker for %s", "tenants");
    s_emit ("reply", "error without id (request unreadable)", 1, env_reply_build (NULL, &rep));

    static const int statuses[] = { 400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429,
                                    500, 502, 503, 504 };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char name[64];
        snprintf (name, sizeof name, "%d with its default code", statuses[i]);
        env_reply_error (&rep, statuses[i], NULL, NULL, "status %d", statuses[i]);
        s_emit ("reply", name, 1, env_reply_build ("req-1", &rep));
    }

    env_reply_ok (&rep, 200, cJSON_CreateArray ());
    s_emit ("reply", "an array body: refused, bodies are objects", 0, env_reply_build ("req-1", &rep));
    env_reply_error (&rep, 404, "validation_failed", NULL, "mismatched");
    s_emit ("reply", "404 with validation_failed: refused", 0, env_reply_build ("req-1", &rep));
    env_reply_reset (&rep);

    cJSON *details = s_details ();
    s_emit ("error_body", "422 body", 1, env_error_body ("validation_failed", "bad", details, "req-1"));
    s_emit ("error_body", "no details, no request id", 1, env_error_body ("not_found", NULL, NULL, NULL));
    cJSON_Delete (details);
}

/* ---------------------------------------------------------------- cmocka */

static void
test_request_round_trip (void **state)
{
    (void) state;
    cJSON *pids = cJSON_CreateArray ();
    cJSON_AddItemToArray (pids, cJSON_CreateString (S_PID));
    env_caller_t caller = { .user_id = "u-1", .role = "manager", .property_ids = pids };
    char *json = env_request_build ("req-1", "tenants.units.create", &caller, 1795000000123,
                                    s_body (s_unit_data (), 1));
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    assert_string_equal (req.id, "req-1");
    assert_string_equal (req.method, "tenants.units.create");
    assert_true (req.deadline_ms == 1795000000123);
    assert_string_equal (req.caller.user_id, "u-1");
    assert_string_equal (req.caller.role, "manager");
    assert_string_equal (env_param (&req, "pid"), S_PID);
    assert_string_equal (env_param (&req, "uid"), S_UID);
    assert_null (env_param (&req, "nope"));
    assert_non_null (req.data);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (req.data, "building")), "A座");
    assert_true (env_caller_has_property (&req.caller, S_PID));
    assert_false (env_caller_has_property (&req.caller, S_UID));
    env_request_destroy (&req);
    free (json);
    cJSON_Delete (pids);
}

static void
test_request_null_data_and_defaults (void **state)
{
    (void) state;
    env_caller_t service = { .role = "service" };
    char *json = env_request_build ("r", "tenants.ping", &service, 0, NULL);
    assert_null (strstr (json, "deadline"));          /* 0 = none: left out */
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    assert_true (req.deadline_ms == 0);
    assert_null (req.data);
    assert_non_null (req.params);
    assert_null (req.caller.user_id);
    assert_true (env_caller_has_property (&req.caller, S_PID));   /* service sees all */
    env_request_destroy (&req);
    free (json);
}

static void
test_request_refusals (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "[]", "{\"v\":1}", "{\"v\":2,\"id\":\"a\",\"method\":\"x.y\"}",
        "{\"id\":\"a\",\"method\":\"x.y\"}", "{\"v\":1,\"id\":\"a b\",\"method\":\"x.y\"}",
        "{\"v\":1,\"id\":\"\",\"method\":\"x.y\"}", "{\"v\":1,\"id\":\"a\",\"method\":\"\"}",
        "{\"v\":1,\"id\":\"a\",\"method\":7}", "{\"v\":1,\"id\":\"a\"", "null", NULL };
    for (int i = 0; bad[i]; i++) {
        env_request_t req;
        char err[128] = "";
        assert_int_equal (env_request_parse (bad[i], strlen (bad[i]), &req, err), -1);
        assert_true (err[0] != 0);
        assert_null (req.root);
    }
    char id[80];
    memset (id, 'x', sizeof id);
    id[ENVELOPE_ID_MAX] = 0;
    assert_true (env_id_valid (id));
    id[ENVELOPE_ID_MAX] = 'x';
    id[ENVELOPE_ID_MAX + 1] = 0;
    assert_false (env_id_valid (id));
}

static void
test_reply_round_trip (void **state)
{
    (void) state;
    env_reply_t rep = { 0 }, back = { 0 };
    char id[ENVELOPE_ID_MAX + 1];
    env_reply_error (&rep, 422, "validation_failed", s_details (), "bad %s", "unit");
    char *json = env_reply_build ("req-9", &rep);
    assert_int_equal (env_reply_parse (json, strlen (json), id, &back), 0);
    assert_string_equal (id, "req-9");
    assert_int_equal (back.status, 422);
    assert_string_equal (back.code, "validation_failed");
    assert_string_equal (back.message, "bad unit");
    assert_int_equal (cJSON_GetArraySize (back.details), 1);
    assert_null (back.body);
    free (json);
    env_reply_reset (&back);

    env_reply_ok (&rep, 201, s_unit_data ());
    json = env_reply_build ("req-9", &rep);
    assert_int_equal (env_reply_parse (json, strlen (json), id, &back), 0);
    assert_int_equal (back.status, 201);
    assert_null (back.code);
    assert_non_null (cJSON_GetObjectItem (back.body, "area_m2"));
    free (json);
    env_reply_reset (&back);
    env_reply_reset (&rep);

    /* an unknown code from a peer falls back to the status's own */
    const char *odd = "{\"v\":1,\"id\":\"r\",\"status\":404,\"error\":{\"code\":\"gone\",\"message\":\"m\"}}";
    assert_int_equal (env_reply_parse (odd, strlen (odd), id, &back), 0);
    assert_string_equal (back.code, "not_found");
    env_reply_reset (&back);
    assert_int_equal (env_reply_parse ("{}", 2, id, &back), -1);
    assert_int_equal (env_reply_parse ("x", 1, id, &back), -1);
}

static void
test_status_codes (void **state)
{
    (void) state;
    assert_string_equal (env_status_code (400), "bad_json");
    assert_string_equal (env_status_code (405), "method_not_allowed");
    assert_string_equal (env_status_code (409), "conflict");
    assert_string_equal (env_status_code (422), "validation_failed");
    assert_string_equal (env_status_code (418), "bad_request");
    assert_string_equal (env_status_code (500), "internal");
    assert_string_equal (env_status_code (502), "internal");
    assert_string_equal (env_status_code (503), "service_unavailable");
    assert_string_equal (env_status_code (504), "timeout");
}

static void
test_error_body (void **state)
{
    (void) state;
    char *json = env_error_body ("not_found", "no such unit", NULL, "rid-1");
    cJSON *doc = cJSON_Parse (json);
    assert_non_null (doc);
    cJSON *err = cJSON_GetObjectItem (doc, "error");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (err, "code")), "not_found");
    assert_true (cJSON_IsArray (cJSON_GetObjectItem (err, "details")));
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "request_id")), "rid-1");
    cJSON_Delete (doc);
    free (json);
}

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], "--dump") == 0) {
        s_dump_requests ();
        s_dump_replies ();
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_request_round_trip),
        cmocka_unit_test (test_request_null_data_and_defaults),
        cmocka_unit_test (test_request_refusals),
        cmocka_unit_test (test_reply_round_trip),
        cmocka_unit_test (test_status_codes),
        cmocka_unit_test (test_error_body),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
