/* test_envelope: requests and replies built and parsed (common/envelope.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
s_str (const cJSON *obj, const char *name)
{
    return cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (obj, name));
}

static void
test_request_round_trip (void **state)
{
    (void) state;
    cJSON *pids = cJSON_Parse ("[\"p1\",\"p2\"]");
    env_caller_t caller = { .user_id = "u-7", .role = "agent", .property_ids = pids };
    cJSON *body = cJSON_Parse ("{\"params\":{\"pid\":\"p1\",\"limit\":\"20\"},"
                               "\"data\":{\"code\":\"A-101\",\"area_m2\":85.5}}");
    int64_t deadline = env_now_ms () + 5000;
    char *json = env_request_build ("req-1.a_b", "tenants.units.create", &caller, deadline, body);
    assert_non_null (json);

    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    assert_string_equal (req.id, "req-1.a_b");
    assert_string_equal (req.method, "tenants.units.create");
    assert_true (req.deadline_ms == deadline);
    assert_string_equal (req.caller.user_id, "u-7");
    assert_string_equal (req.caller.role, "agent");
    assert_int_equal (cJSON_GetArraySize (req.caller.property_ids), 2);
    assert_string_equal (env_param (&req, "pid"), "p1");
    assert_string_equal (env_param (&req, "limit"), "20");
    assert_null (env_param (&req, "missing"));
    assert_non_null (req.data);
    assert_string_equal (s_str (req.data, "code"), "A-101");
    assert_true (env_caller_has_property (&req.caller, "p2"));
    assert_false (env_caller_has_property (&req.caller, "p3"));

    /* the document carries the version and nothing surprising */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (req.root, "v");
    assert_int_equal (v->valueint, ENVELOPE_VERSION);
    env_request_destroy (&req);
    assert_null (req.root);
    free (json);
    cJSON_Delete (pids);
}

static void
test_request_defaults (void **state)
{
    (void) state;
    /* no caller, no deadline, no body: params is {} and data is NULL */
    char *json = env_request_build ("r2", "billing.ping", NULL, 0, NULL);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), 0);
    assert_true (req.deadline_ms == 0);
    assert_non_null (req.body);
    assert_non_null (req.params);
    assert_true (cJSON_IsObject (req.params));
    assert_null (req.data);
    assert_string_equal (req.caller.role, "");
    assert_null (req.caller.user_id);
    assert_null (req.caller.property_ids);
    assert_null (env_param (&req, "pid"));
    env_request_destroy (&req);
    free (json);

    /* data may be a raw CSV string; null data is NULL */
    const char *csv = "{\"v\":1,\"id\":\"r3\",\"method\":\"t.import\",\"body\":"
                      "{\"params\":{\"pid\":7},\"data\":\"code,area\\nA,1\\n\"}}";
    assert_int_equal (env_request_parse (csv, strlen (csv), &req, err), 0);
    assert_true (cJSON_IsString (req.data));
    assert_string_equal (req.data->valuestring, "code,area\nA,1\n");
    assert_null (env_param (&req, "pid"));       /* not a string: not a param */
    env_request_destroy (&req);

    const char *nul = "{\"v\":1,\"id\":\"r4\",\"method\":\"t.x\",\"body\":{\"data\":null},"
                      "\"deadline\":\"soon\",\"caller\":{\"role\":7,\"property_ids\":{}}}";
    assert_int_equal (env_request_parse (nul, strlen (nul), &req, err), 0);
    assert_null (req.data);
    assert_true (req.deadline_ms == 0);
    assert_string_equal (req.caller.role, "");
    assert_null (req.caller.property_ids);
    env_request_destroy (&req);
}

static void
test_request_bad_input (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "\"string\"",
        "null",
        "{}",
        "{\"id\":\"a\",\"method\":\"m.x\"}",                               /* no v */
        "{\"v\":2,\"id\":\"a\",\"method\":\"m.x\"}",                       /* future version */
        "{\"v\":\"1\",\"id\":\"a\",\"method\":\"m.x\"}",
        "{\"v\":1,\"method\":\"m.x\"}",                                    /* no id */
        "{\"v\":1,\"id\":\"\",\"method\":\"m.x\"}",
        "{\"v\":1,\"id\":\"has space\",\"method\":\"m.x\"}",
        "{\"v\":1,\"id\":\"../etc\",\"method\":\"m.x\"}",
        "{\"v\":1,\"id\":7,\"method\":\"m.x\"}",
        "{\"v\":1,\"id\":\"a\"}",                                          /* no method */
        "{\"v\":1,\"id\":\"a\",\"method\":\"\"}",
        "{\"v\":1,\"id\":\"a\",\"method\":[]}",
        "{\"v\":1,\"id\":\"a\",\"method\":\"m.x\"",                        /* truncated */
        NULL };
    for (int i = 0; bad[i]; i++) {
        env_request_t req;
        char err[128] = "";
        if (env_request_parse (bad[i], strlen (bad[i]), &req, err) != -1)
            fail_msg ("accepted: %s", bad[i]);
        assert_true (strlen (err) > 0);
        assert_null (req.root);                  /* nothing to free */
        env_request_destroy (&req);              /* and safe anyway */
    }
    /* an id of 65 characters */
    char json[256];
    snprintf (json, sizeof json, "{\"v\":1,\"id\":\"%065d\",\"method\":\"m.x\"}", 0);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), &req, err), -1);
    /* the length given is what counts, not a NUL further on */
    const char *ok = "{\"v\":1,\"id\":\"a\",\"method\":\"m.x\"}";
    assert_int_equal (env_request_parse (ok, strlen (ok) - 1, &req, err), -1);
    assert_int_equal (env_request_parse (ok, strlen (ok), &req, err), 0);
    env_request_destroy (&req);
}

static void
test_id_valid (void **state)
{
    (void) state;
    assert_false (env_id_valid (NULL));
    assert_false (env_id_valid (""));
    assert_true (env_id_valid ("a"));
    assert_true (env_id_valid ("A-z_0.9"));
    assert_true (env_id_valid ("7f3c2a9e-1b2c-4d5e-8f90-123456789abc"));
    char id[70];
    memset (id, 'x', sizeof id);
    id[64] = 0;
    assert_true (env_id_valid (id));
    id[64] = 'x';
    id[65] = 0;
    assert_false (env_id_valid (id));
    static const char *const bad[] = { "a b", "a/b", "a\"b", "a\\b", "a\nb", "物业", "a:b",
                                       "a%b", "a\tb", NULL };
    for (int i = 0; bad[i]; i++)
        if (env_id_valid (bad[i]))
            fail_msg ("accepted id %s", bad[i]);
}

static void
test_caller_property (void **state)
{
    (void) state;
    cJSON *pids = cJSON_Parse ("[\"p1\", 7, null, \"p2\"]");
    env_caller_t admin = { .user_id = "a", .role = "admin" };
    env_caller_t service = { .user_id = "svc", .role = "service" };
    env_caller_t agent = { .user_id = "u", .role = "agent", .property_ids = pids };
    env_caller_t nobody = { .user_id = "u", .role = "agent" };
    env_caller_t norole = { .user_id = "u", .property_ids = pids };
    env_caller_t manager = { .user_id = "u", .role = "manager", .property_ids = pids };
    assert_true (env_caller_has_property (&admin, "anything"));
    assert_true (env_caller_has_property (&service, "anything"));
    assert_true (env_caller_has_property (&agent, "p1"));
    assert_true (env_caller_has_property (&agent, "p2"));
    assert_true (env_caller_has_property (&manager, "p2"));
    assert_false (env_caller_has_property (&agent, "p3"));
    assert_false (env_caller_has_property (&agent, "7"));        /* a number is not an id */
    assert_false (env_caller_has_property (&agent, "p"));        /* no prefix match */
    assert_false (env_caller_has_property (&agent, "p10"));
    assert_false (env_caller_has_property (&nobody, "p1"));
    assert_false (env_caller_has_property (&norole, "p1"));
    assert_false (env_caller_has_property (&agent, NULL));
    assert_false (env_caller_has_property (&admin, NULL));
    env_caller_t admin_upper = { .user_id = "a", .role = "Admin" };           /* roles are exact */
    assert_false (env_caller_has_property (&admin_upper, "p1"));
    cJSON_Delete (pids);
}

/* A request of role with the {pid} param, parsed; the caller destroys it. */
static void
s_request_with_pid (env_request_t *req, const char *role, const char *pids, const char *pid)
{
    cJSON *ids = cJSON_Parse (pids);
    env_caller_t caller = { .user_id = "u-1", .role = role, .property_ids = ids };
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    if (pid)
        cJSON_AddStringToObject (params, "pid", pid);
    char *json = env_request_build ("r-1", "x.y", &caller, 0, body);
    char err[128];
    assert_int_equal (env_request_parse (json, strlen (json), req, err), 0);
    free (json);
    cJSON_Delete (ids);
}

static void
test_visible_property_and_roles (void **state)
{
    (void) state;
    const char *mine = "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", *other = "1b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69";
    char pids[64];
    snprintf (pids, sizeof pids, "[\"%s\"]", mine);
    env_request_t req;
    s_request_with_pid (&req, "agent", pids, mine);
    assert_string_equal (env_visible_property (&req), mine);
    static const char *const desk[] = { "agent", "manager", NULL }, *const boss[] = { "manager", NULL };
    assert_true (env_role_in (&req, desk));
    assert_false (env_role_in (&req, boss));
    env_request_destroy (&req);
    s_request_with_pid (&req, "agent", pids, other);            /* someone else's */
    assert_null (env_visible_property (&req));
    env_request_destroy (&req);
    s_request_with_pid (&req, "admin", "[]", other);            /* an admin sees every property */
    assert_string_equal (env_visible_property (&req), other);
    env_request_destroy (&req);
    s_request_with_pid (&req, "admin", "[]", "p1");             /* not a UUID: nobody's */
    assert_null (env_visible_property (&req));
    env_request_destroy (&req);
    s_request_with_pid (&req, "admin", "[]", NULL);             /* no {pid} at all */
    assert_null (env_visible_property (&req));
    assert_false (env_role_in (&req, boss));
    env_request_destroy (&req);
}

static void
test_reply_ok_round_trip (void **state)
{
    (void) state;
    env_reply_t rep = { 0 };
    env_reply_ok (&rep, 201, cJSON_Parse ("{\"id\":\"u1\",\"area_m2\":\"85.50\"}"));
    char *json = env_reply_build ("req-9", &rep);
    env_reply_reset (&rep);
    assert_int_equal (rep.status, 0);
    assert_null (rep.body);

    cJSON *doc = cJSON_Parse (json);
    assert_int_equal (cJSON_GetObjectItem (doc, "v")->valueint, 1);
    assert_null (cJSON_GetObjectItem (doc, "error"));
    cJSON_Delete (doc);

    char id[ENVELOPE_ID_MAX + 1];
    assert_int_equal (env_reply_parse (json, strlen (json), id, &rep), 0);
    assert_string_equal (id, "req-9");
    assert_int_equal (rep.status, 201);
    assert_null (rep.code);
    assert_string_equal (s_str (rep.body, "area_m2"), "85.50");
    env_reply_reset (&rep);
    free (json);

    /* a success with no body serializes {} */
    env_reply_ok (&rep, 204, NULL);
    json = env_reply_build ("r", &rep);
    doc = cJSON_Parse (json);
    assert_true (cJSON_IsObject (cJSON_GetObjectItem (doc, "body")));
    cJSON_Delete (doc);
    free (json);
    /* replacing a reply frees what it held (ASan's leak check sees it) */
    env_reply_ok (&rep, 200, cJSON_CreateString ("first"));
    env_reply_ok (&rep, 200, cJSON_CreateString ("second"));
    assert_string_equal (rep.body->valuestring, "second");
    env_reply_error (&rep, 500, NULL, NULL, "then an error");
    assert_null (rep.body);
    assert_string_equal (rep.code, "internal");
    env_reply_reset (&rep);
}

static void
test_reply_error_round_trip (void **state)
{
    (void) state;
    env_reply_t rep = { 0 };
    cJSON *details = cJSON_Parse ("[{\"field\":\"area_m2\",\"problem\":\"must have at most 2 decimals\"}]");
    env_reply_error (&rep, 422, "validation_failed", details, "%d problem(s)", 1);
    assert_string_equal (rep.message, "1 problem(s)");
    char *json = env_reply_build ("req-10", &rep);
    env_reply_reset (&rep);

    cJSON *doc = cJSON_Parse (json);
    assert_null (cJSON_GetObjectItem (doc, "body"));
    const cJSON *err = cJSON_GetObjectItem (doc, "error");
    assert_string_equal (s_str (err, "code"), "validation_failed");
    assert_string_equal (s_str (err, "message"), "1 problem(s)");
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (err, "details")), 1);
    cJSON_Delete (doc);

    char id[ENVELOPE_ID_MAX + 1];
    assert_int_equal (env_reply_parse (json, strlen (json), id, &rep), 0);
    assert_int_equal (rep.status, 422);
    assert_string_equal (rep.code, "validation_failed");
    assert_string_equal (rep.message, "1 problem(s)");
    assert_string_equal (s_str (cJSON_GetArrayItem (rep.details, 0), "field"), "area_m2");
    assert_null (rep.body);
    env_reply_reset (&rep);
    free (json);

    /* no details: an empty array, never absent */
    env_reply_error (&rep, 404, NULL, NULL, "no such unit");
    assert_string_equal (rep.code, "not_found");
    json = env_reply_build ("r", &rep);
    doc = cJSON_Parse (json);
    assert_true (cJSON_IsArray (cJSON_GetObjectItem (cJSON_GetObjectItem (doc, "error"), "details")));
    cJSON_Delete (doc);
    free (json);
    env_reply_reset (&rep);

    /* a long message is cut, not overflowed */
    char big[1000];
    memset (big, 'm', sizeof big - 1);
    big[sizeof big - 1] = 0;
    env_reply_error (&rep, 400, NULL, NULL, "%s", big);
    assert_int_equal (strlen (rep.message), sizeof rep.message - 1);
    env_reply_reset (&rep);
}

static void
test_reply_parse_codes (void **state)
{
    (void) state;
    env_reply_t rep;
    char id[ENVELOPE_ID_MAX + 1];
    /* codes outside the vocabulary fall back to the status's code */
    const char *odd = "{\"v\":1,\"id\":\"x\",\"status\":409,\"error\":{\"code\":\"weird\","
                      "\"message\":\"m\",\"details\":\"not an array\"}}";
    assert_int_equal (env_reply_parse (odd, strlen (odd), id, &rep), 0);
    assert_string_equal (rep.code, "conflict");
    assert_null (rep.details);
    env_reply_reset (&rep);
    const char *known = "{\"v\":1,\"id\":\"x\",\"status\":409,\"error\":{\"code\":\"invalid_transition\"}}";
    assert_int_equal (env_reply_parse (known, strlen (known), id, &rep), 0);
    assert_string_equal (rep.code, "invalid_transition");
    assert_string_equal (rep.message, "");
    env_reply_reset (&rep);

    /* an over-long id is cut to the maximum; a missing one is empty */
    char json[300];
    snprintf (json, sizeof json, "{\"v\":1,\"id\":\"%080d\",\"status\":200}", 0);
    assert_int_equal (env_reply_parse (json, strlen (json), id, &rep), 0);
    assert_int_equal (strlen (id), ENVELOPE_ID_MAX);
    env_reply_reset (&rep);
    const char *noid = "{\"v\":1,\"status\":200,\"body\":[1]}";
    assert_int_equal (env_reply_parse (noid, strlen (noid), id, &rep), 0);
    assert_string_equal (id, "");
    assert_true (cJSON_IsArray (rep.body));
    env_reply_reset (&rep);

    static const char *const bad[] = { "", "nope", "[]", "{}", "{\"status\":\"200\"}",
                                       "{\"v\":1,\"id\":\"x\"}", NULL };
    for (int i = 0; bad[i]; i++) {
        if (env_reply_parse (bad[i], strlen (bad[i]), id, &rep) != -1)
            fail_msg ("accepted reply %s", bad[i]);
        assert_null (rep.body);
        assert_null (rep.details);
    }
}

static void
test_error_body_and_codes (void **state)
{
    (void) state;
    cJSON *details = cJSON_Parse ("[{\"field\":\"f\",\"problem\":\"p\"}]");
    char *json = env_error_body ("conflict", "already exists", details, "req-5");
    cJSON *doc = cJSON_Parse (json);
    assert_string_equal (s_str (doc, "request_id"), "req-5");
    const cJSON *err = cJSON_GetObjectItem (doc, "error");
    assert_string_equal (s_str (err, "code"), "conflict");
    assert_string_equal (s_str (err, "message"), "already exists");
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (err, "details")), 1);
    cJSON_Delete (doc);
    free (json);
    cJSON_Delete (details);                      /* borrowed, not consumed */

    json = env_error_body ("internal", NULL, NULL, NULL);
    doc = cJSON_Parse (json);
    assert_string_equal (s_str (doc, "request_id"), "");
    assert_string_equal (s_str (cJSON_GetObjectItem (doc, "error"), "message"), "");
    cJSON_Delete (doc);
    free (json);

    assert_string_equal (env_status_code (400), "bad_json");
    assert_string_equal (env_status_code (401), "unauthenticated");
    assert_string_equal (env_status_code (403), "forbidden");
    assert_string_equal (env_status_code (404), "not_found");
    assert_string_equal (env_status_code (409), "conflict");
    assert_string_equal (env_status_code (413), "payload_too_large");
    assert_string_equal (env_status_code (422), "validation_failed");
    assert_string_equal (env_status_code (429), "rate_limited");
    assert_string_equal (env_status_code (503), "service_unavailable");
    assert_string_equal (env_status_code (504), "timeout");
    assert_string_equal (env_status_code (500), "internal");
    assert_string_equal (env_status_code (502), "internal");
    assert_string_equal (env_status_code (418), "bad_request");

    int64_t now = env_now_ms ();
    assert_true (now > 1700000000000LL);         /* epoch milliseconds, not seconds */
    assert_true (now < 4102444800000LL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_request_round_trip),
        cmocka_unit_test (test_request_defaults),
        cmocka_unit_test (test_request_bad_input),
        cmocka_unit_test (test_id_valid),
        cmocka_unit_test (test_caller_property),
        cmocka_unit_test (test_visible_property_and_roles),
        cmocka_unit_test (test_reply_ok_round_trip),
        cmocka_unit_test (test_reply_error_round_trip),
        cmocka_unit_test (test_reply_parse_codes),
        cmocka_unit_test (test_error_body_and_codes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
