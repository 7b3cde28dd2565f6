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

/* env_reply_read agrees with env_reply_parse on every input, and reads
 * without a tree (rep.body NULL, the body as text) only when light says so. */
static void
s_check_read_n (const char *json, size_t len, bool light)
{
    env_reply_t fast, full;
    char fid[ENVELOPE_ID_MAX + 1], pid[ENVELOPE_ID_MAX + 1];
    int frc = env_reply_read (json, len, fid, &fast);
    int prc = env_reply_parse (json, len, pid, &full);
    assert_int_equal (frc, prc);
    bool was_light = frc == 0 && !fast.body && fast.body_json && !fast.code;
    assert_int_equal (was_light, light);
    if (frc == 0) {
        assert_int_equal (fast.status, full.status);
        assert_string_equal (fid, pid);
        assert_true ((fast.code == NULL) == (full.code == NULL));
        if (was_light) {
            /* the same text the full parse cuts out, and the same document */
            assert_non_null (full.body_json);
            assert_string_equal (fast.body_json, full.body_json);
            assert_non_null (env_reply_body (&fast));
            assert_true (cJSON_Compare (fast.body, full.body, true));
            assert_ptr_equal (env_reply_body (&fast), fast.body);   /* parsed once */
        }
        env_reply_reset (&fast);
        env_reply_reset (&full);
    }
}

static void
s_check_read (const char *json, bool light)
{
    s_check_read_n (json, strlen (json), light);
}

static void
test_reply_read_light (void **state)
{
    (void) state;
    /* canonical successes, as env_reply_build prints them */
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{\"x\":[1,{\"y\":\"}]\\\"{\"}],\"z\":null}}",
                  true);
    s_check_read ("{\"v\":1,\"id\":\"r-1.x_Z\",\"status\":201,\"body\":{}}", true);
    s_check_read ("{\"v\":1,\"id\":\"\",\"status\":200,\"body\":[]}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":null}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":false}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":-0.5e+10}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"\\u00e9\\n\\\\\\/\"}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{\"a\": [1, 2], \"b\" : {}}}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{\"n\":\"caf\xc3\xa9\"}}", true);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":[[[[{\"a\":[[]]}]]]]}", true);
    /* what the reader leaves to the full parse, which decides as before */
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":404,\"error\":{\"code\":\"not_found\","
                  "\"message\":\"no such unit\",\"details\":[]}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{\"a\":\n1}}", false);    /* newline */
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\": {}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{} }", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"\\ud83d\\ude00\"}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"\\ud83d\"}", false);  /* lone */
    s_check_read ("{\"v\":1,\"id\":\"a b\",\"status\":200,\"body\":{}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\\\"\",\"status\":200,\"body\":{}}", false);
    s_check_read ("{\"v\":2,\"id\":\"a\",\"status\":200,\"body\":{}}", false);
    s_check_read ("{\"id\":\"a\",\"v\":1,\"status\":200,\"body\":{}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":2000,\"body\":{}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":-1,\"body\":{}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200.5,\"body\":{}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{},\"x\":1}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":01}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":[1,]}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{\"a\"}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"\\x\"}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":tru}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":1e}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{}}}", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":{}", false);          /* truncated */
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"abc", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"\\u12", false);
    s_check_read ("{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":", false);
    s_check_read ("{\"v\":1,\"id\":\"a", false);
    s_check_read ("", false);
    s_check_read ("x", false);
    /* a NUL inside: cut by length, not by the terminator */
    static const char nul[] = "{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":\"a\0b\"}";
    s_check_read_n (nul, sizeof nul - 1, false);
    /* a long number (cJSON reads 63 characters) and deep nesting */
    char num[200];
    snprintf (num, sizeof num, "{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":%s}",
              "1234567890123456789012345678901234567890123456789012345678901234567890");
    s_check_read (num, false);
    char deep[400] = "{\"v\":1,\"id\":\"a\",\"status\":200,\"body\":";
    for (int i = 0; i < 100; i++)
        strcat (deep, "[");
    for (int i = 0; i < 100; i++)
        strcat (deep, "]");
    strcat (deep, "}");
    s_check_read (deep, false);
    /* an id longer than 64 characters */
    char longid[200];
    snprintf (longid, sizeof longid, "{\"v\":1,\"id\":\"%065d\",\"status\":200,\"body\":{}}", 0);
    s_check_read (longid, false);
    /* what env_reply_build prints, read back without a tree */
    env_reply_t rep = { 0 };
    cJSON *b = cJSON_Parse ("{\"name\":\"\\\"q\\\" \\u0001 \\t\",\"n\":[1.5,-2,1e300],\"o\":{\"k\":true}}");
    env_reply_ok (&rep, 200, b);
    char *text = env_reply_build ("req-9", &rep);
    s_check_read (text, true);
    free (text);
    env_reply_reset (&rep);
    env_reply_text (&rep, 201, strdup ("{\"id\":\"x\"}"));
    text = env_reply_build ("req-9", &rep);
    s_check_read (text, true);
    free (text);
    env_reply_reset (&rep);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_request_text_is_cjson_text),
        cmocka_unit_test (test_reply_text_is_cjson_text),
        cmocka_unit_test (test_reply_body_cut_out),
        cmocka_unit_test (test_reply_read_light),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
