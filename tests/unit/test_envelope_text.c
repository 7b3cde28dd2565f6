/* test_envelope_text: the envelopes written straight to text
 * (common/envelope.c) are byte for byte what the cJSON trees printed before,
 * and the body text cut out of a reply is the body cJSON parsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The former builders, kept here as the reference. */
static char *
s_ref_request (const char *id, const char *method, const env_caller_t *caller,
               int64_t deadline_ms, cJSON *body)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddNumberToObject (root, "v", ENVELOPE_VERSION);
    cJSON_AddStringToObject (root, "id", id);
    cJSON_AddStringToObject (root, "method", method);
    cJSON *c = cJSON_AddObjectToObject (root, "caller");
    if (caller) {
        if (caller->user_id)
            cJSON_AddStringToObject (c, "user_id", caller->user_id);
        cJSON_AddStringToObject (c, "role", caller->role ? caller->role : "");
        cJSON_AddItemToObject (c, "property_ids",
                               caller->property_ids ? cJSON_Duplicate (caller->property_ids, 1)
                                                    : cJSON_CreateArray ());
    }
    if (deadline_ms)
        cJSON_AddNumberToObject (root, "deadline", (double) deadline_ms);
    cJSON_AddItemToObject (root, "body", body ? body : cJSON_CreateObject ());
    char *out = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return out;
}

static char *
s_ref_reply (const char *id, const env_reply_t *rep)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddNumberToObject (root, "v", ENVELOPE_VERSION);
    cJSON_AddStringToObject (root, "id", id ? id : "");
    cJSON_AddNumberToObject (root, "status", rep->status);
    cJSON_AddItemToObject (root, "body", rep->body ? cJSON_Duplicate (rep->body, 1)
                                                   : cJSON_CreateObject ());
    char *out = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return out;
}

static void
s_check_request (const char *id, const char *method, const env_caller_t *caller,
                 int64_t deadline_ms, const char *body_json)
{
    cJSON *b1 = body_json ? cJSON_Parse (body_json) : NULL;
    cJSON *b2 = body_json ? cJSON_Parse (body_json) : NULL;
    char *want = s_ref_request (id, method, caller, deadline_ms, b1);
    char *got = env_request_build (id, method, caller, deadline_ms, b2);
    assert_non_null (want);
    assert_non_null (got);
    assert_string_equal (got, want);
    free (want);
    free (got);
}

static void
test_request_text_is_cjson_text (void **state)
{
    (void) state;
    cJSON *pids = cJSON_Parse ("[\"0b5e6f5a-8c1e-4f7e-9a49-1f1f1f1f1f1f\",\"x\\\"y\",\"\"]");
    cJSON *none = cJSON_CreateArray ();
    cJSON *mixed = cJSON_Parse ("[\"a\",1,null,{\"k\":[2]}]");     /* the cJSON path */
    env_caller_t admin = { .user_id = "u-1", .role = "admin", .property_ids = NULL };
    env_caller_t agent = { .user_id = "u-2", .role = "agent", .property_ids = pids };
    env_caller_t empty = { .user_id = NULL, .role = NULL, .property_ids = none };
    env_caller_t odd = { .user_id = "\"quoted\"\\ \t\n\r\b\f \x01\x1f \x7f 物业", .role = "r",
                         .property_ids = mixed };
    const char *bodies[] = {
        NULL, "{}", "{\"params\":{\"pid\":\"p\",\"uid\":\"u\"},\"data\":null}",
        "{\"params\":{},\"data\":{\"area_m2\":128.46,\"n\":-3,\"big\":1e300,\"s\":\"a\\u0001b\"}}",
        "[1,2,3]", "\"text\"", "null",
    };
    const int64_t deadlines[] = { 0, 1, -1, 1764222222222LL, 2147483647LL, 2147483648LL,
                                  999999999999999LL, 1000000000000000LL, -1000000000000000LL };
    const env_caller_t *callers[] = { NULL, &admin, &agent, &empty, &odd };
    for (size_t c = 0; c < sizeof callers / sizeof callers[0]; c++)
        for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++)
            for (size_t d = 0; d < sizeof deadlines / sizeof deadlines[0]; d++)
                s_check_request ("req-1.a_B", "tenants.units.get", callers[c], deadlines[d],
                                 bodies[b]);
    s_check_request ("id \"with\" quotes\n", "m\\ethod", &agent, 5, "{}");
    s_check_request ("", "", &admin, 5, NULL);
    /* NULL id or method: the key is left out, as cJSON did */
    s_check_request (NULL, "tenants.ping", &admin, 5, NULL);
    s_check_request ("id", NULL, &admin, 5, NULL);
    cJSON_Delete (pids);
    cJSON_Delete (none);
    cJSON_Delete (mixed);
}

static void
s_check_reply (const char *id, int status, const char *body_json)
{
    env_reply_t rep = { 0 };
    env_reply_ok (&rep, status, body_json ? cJSON_Parse (body_json) : NULL);
    char *want = s_ref_reply (id, &rep);
    char *got = env_reply_build (id, &rep);
    assert_non_null (got);
    assert_string_equal (got, want);
    free (want);
    free (got);
    env_reply_reset (&rep);
}

static void
test_reply_text_is_cjson_text (void **state)
{
    (void) state;
    const char *bodies[] = {
        NULL, "{}",
        "{\"id\":\"9ea33939-0f88-48a8-9587-47af9840136c\",\"code\":\"A-1201\",\"building\":null,"
        "\"area_m2\":128.46,\"floor\":\"12\",\"occupants\":[]}",
        "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001 物业 \\u00e9\",\"x\":0.1,\"y\":1e-7,\"z\":[true,false]}",
        "[]", "3", "null",
    };
    const int statuses[] = { 200, 201, 204, 0, -1, 599 };
    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++)
        for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
            s_check_reply ("rid-1", statuses[s], bodies[b]);
            s_check_reply (NULL, statuses[s], bodies[b]);
            s_check_reply ("odd \"id\"\x02", statuses[s], bodies[b]);
        }
    /* errors still take the cJSON path, unchanged */
    env_reply_t rep = { 0 };
    env_reply_error (&rep, 404, "not_found", NULL, "no such %s", "unit");
    char *got = env_reply_build ("r", &rep);
    assert_string_equal (got, "{\"v\":1,\"id\":\"r\",\"status\":404,\"error\":{\"code\":\"not_found\","
                              "\"message\":\"no such unit\",\"details\":[]}}");
    free (got);
    env_reply_reset (&rep);
}

/* env_reply_parse: body_json is the text of the body cJSON took, or NULL. */
static void
s_check_cut (const char *json, const char *want_text)
{
    env_reply_t rep;
    char id[ENVELOPE_ID_MAX + 1];
    assert_int_equal (env_reply_parse (json, strlen (json), id, &rep), 0);
    if (!want_text)
        assert_null (rep.body_json);
    else {
        assert_non_null (rep.body_json);
        assert_string_equal (rep.body_json, want_text);
        /* and it is the same document as the parsed body */
        cJSON *again = cJSON_Parse (rep.body_json);
        assert_true (cJSON_Compare (again, rep.body, true));
        cJSON_Delete (again);
    }
    env_reply_reset (&rep);
    assert_null (rep.body_json);
}

static void
test_reply_body_cut_out (void **state)
{
    (void) state;
    s_check_cut ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{\"x\":[1,{\"y\":\"}]\\\"{\"}],\"z\":null}}",
                 "{\"x\":[1,{\"y\":\"}]\\\"{\"}],\"z\":null}");
    s_check_cut (" { \"body\" : [ 1 , 2 ] , \"status\" : 201 , \"id\" : \"b\" } ", "[ 1 , 2 ]");
    s_check_cut ("{\"status\":200,\"body\":\"s\\\\\"}", "\"s\\\\\"");
    s_check_cut ("{\"status\":200,\"b\\\"ody\":1,\"body\":12.5e3}", NULL);   /* escaped key seen */
    s_check_cut ("{\"status\":200,\"bo\\u0064y\":{\"a\":1},\"body\":{\"b\":2}}", NULL);
    s_check_cut ("{\"status\":200,\"body\":{\"a\":1},\"body\":{\"b\":2}}", "{\"a\":1}");
    s_check_cut ("{\"status\":200,\"body\":null}", "null");
    s_check_cut ("{\"status\":200,\"body\":true}", "true");
    s_check_cut ("{\"status\":200}", NULL);                                /* no body */
    s_check_cut ("{\"status\":200,\"bodyx\":{},\"body\":{}}", "{}");
    /* an error reply has no body */
    s_check_cut ("{\"status\":404,\"error\":{\"code\":\"not_found\",\"message\":\"m\"},\"body\":{}}",
                 NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_request_text_is_cjson_text),
        cmocka_unit_test (test_reply_text_is_cjson_text),
        cmocka_unit_test (test_reply_body_cut_out),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
