/* test_jv: input validation (common/jv.c): every getter, every problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "jv.h"
#include "jv_testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_count (const jv_t *v)
{
    return v->details ? cJSON_GetArraySize (v->details) : 0;
}

static void
test_problems_collect (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    assert_true (jv_ok (&v));
    assert_null (jv_take (&v));
    jv_problem (&v, "a", "first %d", 1);
    jv_problem (&v, "b", "second");
    assert_false (jv_ok (&v));
    cJSON *details = jv_take (&v);
    assert_true (jv_ok (&v));                    /* taken: v is empty again */
    assert_int_equal (cJSON_GetArraySize (details), 2);
    const cJSON *d0 = cJSON_GetArrayItem (details, 0);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (d0, "field")), "a");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (d0, "problem")), "first 1");
    cJSON_Delete (details);
    jv_problem (&v, "c", "x");
    jv_reset (&v);
    assert_true (jv_ok (&v));
    jv_reset (&v);                               /* twice is fine */

    /* every problem of a body at once, in order */
    cJSON *body = cJSON_Parse ("{\"code\":7,\"use\":\"castle\",\"floor\":1.5}");
    int64_t floor = 0;
    static const char *const uses[] = { "residential", "office", NULL };
    jv_string (&v, body, "code", JV_REQUIRED, 32);
    jv_enum (&v, body, "use", JV_REQUIRED, uses);
    jv_int (&v, body, "floor", JV_OPTIONAL, -5, 200, &floor);
    jv_date (&v, body, "move_in", JV_REQUIRED);
    jv_uuid (&v, body, "owner_id", JV_OPTIONAL);  /* absent and optional: fine */
    assert_int_equal (s_count (&v), 4);
    const char *fields[] = { "code", "use", "floor", "move_in" };
    for (int i = 0; i < 4; i++)
        assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (
                                 cJSON_GetArrayItem (v.details, i), "field")), fields[i]);
    jv_reset (&v);
    cJSON_Delete (body);
}

static void
test_object (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    cJSON *obj = cJSON_CreateObject (), *arr = cJSON_CreateArray ();
    assert_true (jv_object (&v, obj));
    assert_true (jv_ok (&v));
    assert_false (jv_object (&v, arr));
    assert_false (jv_object (&v, NULL));
    assert_int_equal (s_count (&v), 2);
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    cJSON_Delete (obj);
    cJSON_Delete (arr);
}

static void
test_string (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    cJSON *o = cJSON_Parse ("{\"name\":\"张三\",\"empty\":\"\",\"num\":5,\"nil\":null,"
                            "\"ctl\":\"a\\u0001b\",\"nl\":\"line1\\nline2\\tx\\r\","
                            "\"long\":\"abcdefghij\"}");
    assert_string_equal (jv_string (&v, o, "name", JV_REQUIRED, 64), "张三");
    assert_true (jv_ok (&v));
    /* maxlen counts bytes: 张三 is 6 */
    assert_non_null (jv_string (&v, o, "name", JV_REQUIRED, 6));
    assert_null (jv_string (&v, o, "name", JV_REQUIRED, 5));
    assert_string_equal (jvt_problem (&v, "name"), "must be at most 5 bytes");
    jv_reset (&v);

    assert_string_equal (jv_string (&v, o, "long", JV_REQUIRED, 10), "abcdefghij");
    assert_null (jv_string (&v, o, "long", JV_REQUIRED, 9));
    jv_reset (&v);

    assert_null (jv_string (&v, o, "absent", JV_OPTIONAL, 10));
    assert_null (jv_string (&v, o, "nil", JV_OPTIONAL, 10));     /* null is absent */
    assert_true (jv_ok (&v));
    assert_null (jv_string (&v, o, "absent", JV_REQUIRED, 10));
    assert_string_equal (jvt_problem (&v, "absent"), "is required");
    assert_null (jv_string (&v, o, "nil", JV_REQUIRED, 10));
    assert_string_equal (jvt_problem (&v, "nil"), "is required");
    jv_reset (&v);

    assert_null (jv_string (&v, o, "empty", JV_REQUIRED, 10));
    assert_string_equal (jvt_problem (&v, "empty"), "must not be empty");
    jv_reset (&v);
    assert_string_equal (jv_string (&v, o, "empty", JV_OPTIONAL, 10), "");
    assert_true (jv_ok (&v));

    assert_null (jv_string (&v, o, "num", JV_OPTIONAL, 10));
    assert_string_equal (jvt_problem (&v, "num"), "must be a string");
    assert_null (jv_string (&v, o, "ctl", JV_OPTIONAL, 10));
    assert_string_equal (jvt_problem (&v, "ctl"), "must not contain control characters");
    jv_reset (&v);
    assert_non_null (jv_string (&v, o, "nl", JV_REQUIRED, 64));  /* \n \t \r are text */
    assert_true (jv_ok (&v));

    /* invalid UTF-8 smuggled into a string */
    cJSON *bad = cJSON_CreateObject ();
    cJSON_AddStringToObject (bad, "s", "ab\xC3\x28");
    assert_null (jv_string (&v, bad, "s", JV_REQUIRED, 64));
    assert_string_equal (jvt_problem (&v, "s"), "must be valid UTF-8");
    jv_reset (&v);
    cJSON_Delete (bad);
    cJSON_Delete (o);
}

static void
test_enum (void **state)
{
    (void) state;
    static const char *const kinds[] = { "repair", "complaint", "inquiry", NULL };
    jv_t v = JV_INIT;
    cJSON *o = cJSON_Parse ("{\"a\":\"complaint\",\"b\":\"Repair\",\"c\":3,\"d\":\"\"}");
    const char *k = jv_enum (&v, o, "a", JV_REQUIRED, kinds);
    assert_ptr_equal (k, kinds[1]);              /* the table's own string */
    assert_true (jv_ok (&v));
    assert_null (jv_enum (&v, o, "b", JV_REQUIRED, kinds));       /* exact, case and all */
    assert_string_equal (jvt_problem (&v, "b"), "must be one of: repair, complaint, inquiry");
    assert_null (jv_enum (&v, o, "c", JV_REQUIRED, kinds));
    assert_string_equal (jvt_problem (&v, "c"), "must be one of: repair, complaint, inquiry");
    assert_null (jv_enum (&v, o, "d", JV_OPTIONAL, kinds));
    assert_int_equal (s_count (&v), 3);
    jv_reset (&v);
    assert_null (jv_enum (&v, o, "zz", JV_OPTIONAL, kinds));
    assert_true (jv_ok (&v));
    assert_null (jv_enum (&v, o, "zz", JV_REQUIRED, kinds));
    assert_string_equal (jvt_problem (&v, "zz"), "is required");
    jv_reset (&v);
    cJSON_Delete (o);
}

static void
test_int (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    cJSON *o = cJSON_Parse ("{\"n\":42,\"neg\":-3,\"frac\":1.5,\"str\":\"42\",\"big\":1e300,"
                            "\"past53\":9007199254740994,\"zero\":0,\"exp\":2e3,\"t\":true}");
    int64_t out = -1;
    assert_true (jv_int (&v, o, "n", JV_REQUIRED, 0, 100, &out));
    assert_int_equal (out, 42);
    assert_true (jv_int (&v, o, "neg", JV_REQUIRED, -5, 5, &out));
    assert_int_equal (out, -3);
    assert_true (jv_int (&v, o, "zero", JV_REQUIRED, 0, 0, &out));
    assert_true (jv_int (&v, o, "exp", JV_REQUIRED, 0, 5000, &out));
    assert_int_equal (out, 2000);
    assert_true (jv_ok (&v));

    out = 99;
    assert_false (jv_int (&v, o, "n", JV_REQUIRED, 0, 41, &out));
    assert_string_equal (jvt_problem (&v, "n"), "must be from 0 to 41");
    assert_int_equal (out, 99);                  /* untouched on failure */
    assert_false (jv_int (&v, o, "neg", JV_REQUIRED, 0, 10, &out));
    assert_false (jv_int (&v, o, "frac", JV_REQUIRED, 0, 10, &out));
    assert_string_equal (jvt_problem (&v, "frac"), "must be an integer");
    assert_false (jv_int (&v, o, "str", JV_REQUIRED, 0, 100, &out));
    assert_string_equal (jvt_problem (&v, "str"), "must be an integer");
    assert_false (jv_int (&v, o, "big", JV_REQUIRED, INT64_MIN, INT64_MAX, &out));
    assert_false (jv_int (&v, o, "past53", JV_REQUIRED, INT64_MIN, INT64_MAX, &out));
    assert_false (jv_int (&v, o, "t", JV_REQUIRED, 0, 1, &out));
    assert_int_equal (s_count (&v), 7);
    jv_reset (&v);
    assert_false (jv_int (&v, o, "absent", JV_OPTIONAL, 0, 1, &out));
    assert_true (jv_ok (&v));
    jv_reset (&v);
    cJSON_Delete (o);
}

static void
test_decimal2 (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    /* cJSON reads "85.50" as the number 85.5: both are the same value */
    cJSON *o = cJSON_Parse ("{\"a\":85.5,\"b\":85.50,\"c\":85.555,\"d\":-1,\"e\":1e20,"
                            "\"f\":\"85.5\",\"g\":0,\"h\":0.1,\"i\":1.005,\"j\":9999999999.99,"
                            "\"k\":10000000000,\"l\":120,\"m\":-0.0,\"n\":0.29,\"o\":85.001}");
    char out[32];
    assert_true (jv_decimal2 (&v, o, "a", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "85.50");
    assert_true (jv_decimal2 (&v, o, "b", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "85.50");
    assert_true (jv_decimal2 (&v, o, "g", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "0.00");
    assert_true (jv_decimal2 (&v, o, "h", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "0.10");
    assert_true (jv_decimal2 (&v, o, "j", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "9999999999.99");
    assert_true (jv_decimal2 (&v, o, "l", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "120.00");
    assert_true (jv_decimal2 (&v, o, "n", JV_REQUIRED, 1e10, out));
    assert_string_equal (out, "0.29");
    assert_true (jv_ok (&v));

    assert_false (jv_decimal2 (&v, o, "c", JV_REQUIRED, 1e10, out));
    assert_string_equal (jvt_problem (&v, "c"), "must have at most 2 decimals");
    assert_false (jv_decimal2 (&v, o, "i", JV_REQUIRED, 1e10, out));
    assert_string_equal (jvt_problem (&v, "i"), "must have at most 2 decimals");
    assert_false (jv_decimal2 (&v, o, "o", JV_REQUIRED, 1e10, out));
    assert_false (jv_decimal2 (&v, o, "d", JV_REQUIRED, 1e10, out));
    assert_string_equal (jvt_problem (&v, "d"), "must be from 0 to below 10000000000");
    assert_false (jv_decimal2 (&v, o, "e", JV_REQUIRED, 1e10, out));
    assert_false (jv_decimal2 (&v, o, "k", JV_REQUIRED, 1e10, out));   /* max is exclusive */
    assert_false (jv_decimal2 (&v, o, "f", JV_REQUIRED, 1e10, out));
    assert_string_equal (jvt_problem (&v, "f"), "must be a number");
    assert_int_equal (s_count (&v), 7);
    jv_reset (&v);

    /* -0 is zero, not a negative number */
    assert_true (jv_decimal2 (&v, o, "m", JV_REQUIRED, 1e10, out));
    assert_true (strcmp (out, "0.00") == 0 || strcmp (out, "-0.00") == 0);
    jv_reset (&v);
    assert_false (jv_decimal2 (&v, o, "absent", JV_OPTIONAL, 1e10, out));
    assert_true (jv_ok (&v));
    assert_false (jv_decimal2 (&v, o, "absent", JV_REQUIRED, 1e10, out));
    assert_string_equal (jvt_problem (&v, "absent"), "is required");
    jv_reset (&v);
    cJSON_Delete (o);
}

static void
test_date (void **state)
{
    (void) state;
    static const char *const good[] = { "2026-01-01", "2028-02-29", "2000-02-29", "2026-12-31",
                                        "2026-04-30", "1900-01-01", "9999-12-31", NULL };
    static const char *const bad[] = {
        "2026-02-29", "2100-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
        "2026-01-00", "2026-01-32", "2026-1-01", "2026/01/01", "26-01-01", "2026-01-01T00:00",
        "2026-01-0a", "+026-01-01", "2026-01-01 ", " 2026-01-01", "", "1899-12-31",
        "2026-02-30", NULL };
    for (int i = 0; good[i]; i++)
        if (!jv_is_date (good[i]))
            fail_msg ("rejected %s", good[i]);
    for (int i = 0; bad[i]; i++)
        if (jv_is_date (bad[i]))
            fail_msg ("accepted %s", bad[i]);
    assert_false (jv_is_date (NULL));

    jv_t v = JV_INIT;
    cJSON *o = cJSON_Parse ("{\"a\":\"2028-02-29\",\"b\":\"2026-02-29\",\"c\":20260101}");
    assert_string_equal (jv_date (&v, o, "a", JV_REQUIRED), "2028-02-29");
    assert_true (jv_ok (&v));
    assert_null (jv_date (&v, o, "b", JV_REQUIRED));
    assert_string_equal (jvt_problem (&v, "b"), "must be a date YYYY-MM-DD that exists");
    assert_null (jv_date (&v, o, "c", JV_REQUIRED));
    assert_null (jv_date (&v, o, "d", JV_OPTIONAL));
    assert_int_equal (s_count (&v), 2);
    jv_reset (&v);
    cJSON_Delete (o);
}

static void
test_uuid (void **state)
{
    (void) state;
    assert_true (jv_is_uuid ("7f3c2a9e-1b2c-4d5e-8f90-123456789abc"));
    assert_true (jv_is_uuid ("7F3C2A9E-1B2C-4D5E-8F90-123456789ABC"));
    assert_false (jv_is_uuid (NULL));
    assert_false (jv_is_uuid (""));
    assert_false (jv_is_uuid ("7f3c2a9e1b2c4d5e8f90123456789abc"));
    assert_false (jv_is_uuid ("7f3c2a9e-1b2c-4d5e-8f90-123456789abcd"));
    assert_false (jv_is_uuid ("7f3c2a9e-1b2c-4d5e-8f90-123456789ab"));
    assert_false (jv_is_uuid ("7f3c2a9g-1b2c-4d5e-8f90-123456789abc"));
    assert_false (jv_is_uuid ("7f3c2a9e-1b2c-4d5e-8f90_123456789abc"));
    assert_false (jv_is_uuid ("{7f3c2a9e-1b2c-4d5e-8f90-123456789ab}"));
    assert_false (jv_is_uuid ("7f3c2a9e-1b2c-4d5e-8f9-0123456789abc"));

    jv_t v = JV_INIT;
    cJSON *o = cJSON_Parse ("{\"a\":\"7f3c2a9e-1b2c-4d5e-8f90-123456789abc\",\"b\":\"x\",\"c\":1}");
    assert_non_null (jv_uuid (&v, o, "a", JV_REQUIRED));
    assert_true (jv_ok (&v));
    assert_null (jv_uuid (&v, o, "b", JV_REQUIRED));
    assert_string_equal (jvt_problem (&v, "b"), "must be an id (UUID)");
    assert_null (jv_uuid (&v, o, "c", JV_REQUIRED));
    assert_null (jv_uuid (&v, o, "d", JV_REQUIRED));
    assert_string_equal (jvt_problem (&v, "d"), "is required");
    assert_int_equal (s_count (&v), 3);
    jv_reset (&v);
    cJSON_Delete (o);
}

static void
test_utf8 (void **state)
{
    (void) state;
    static const struct { const char *s; size_t len; bool ok; const char *what; } cases[] = {
        { "", 0, true, "empty" },
        { "plain ascii", 11, true, "ascii" },
        { "\xC3\xA9", 2, true, "2 bytes (e acute)" },
        { "\xE7\x89\xA9\xE4\xB8\x9A", 6, true, "3 bytes (物业)" },
        { "\xF0\x9F\x8F\xA2", 4, true, "4 bytes (emoji)" },
        { "\xF4\x8F\xBF\xBF", 4, true, "U+10FFFF" },
        { "\xEF\xBF\xBD", 3, true, "U+FFFD" },
        { "a\0b", 3, true, "NUL is a character" },
        { "\x80", 1, false, "lone continuation byte" },
        { "\xBF", 1, false, "lone continuation byte 2" },
        { "\xC0\x80", 2, false, "overlong NUL" },
        { "\xC1\xBF", 2, false, "overlong 2-byte" },
        { "\xE0\x80\xAF", 3, false, "overlong 3-byte" },
        { "\xF0\x80\x80\xAF", 4, false, "overlong 4-byte" },
        { "\xED\xA0\x80", 3, false, "UTF-16 surrogate" },
        { "\xED\xBF\xBF", 3, false, "UTF-16 low surrogate" },
        { "\xF4\x90\x80\x80", 4, false, "above U+10FFFF" },
        { "\xF5\x80\x80\x80", 4, false, "F5 lead" },
        { "\xF8\x88\x80\x80\x80", 5, false, "5-byte form" },
        { "\xFF", 1, false, "FF" },
        { "\xFE", 1, false, "FE" },
        { "\xE4\xB8", 2, false, "truncated 3-byte" },
        { "\xC3", 1, false, "truncated 2-byte" },
        { "\xF0\x9F\x8F", 3, false, "truncated 4-byte" },
        { "\xC3\x28", 2, false, "bad continuation" },
        { "\xE4\x28\xA9", 3, false, "bad continuation in 3-byte" },
        { "ok\xE7\x89\xA9\xE4\xB8", 7, false, "valid then truncated" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (jv_is_utf8 (cases[i].s, cases[i].len) != cases[i].ok)
            fail_msg ("%s: expected %s", cases[i].what, cases[i].ok ? "valid" : "invalid");
    /* the length given bounds the check: a truncated view of valid text fails */
    assert_false (jv_is_utf8 ("\xE7\x89\xA9", 2));
    assert_true (jv_is_utf8 ("\xE7\x89\xA9\xFF", 3));
}

/* jv_detail: the one-problem details array every service answers with */
static void
test_detail (void **state)
{
    (void) state;
    cJSON *d = jv_detail ("unit_id", "no such unit");
    char *text = cJSON_PrintUnformatted (d);
    assert_string_equal (text, "[{\"field\":\"unit_id\",\"problem\":\"no such unit\"}]");
    free (text);
    cJSON_Delete (d);
    /* a problem text with a percent sign is taken as it is, not as a format */
    d = jv_detail ("q", "100% sure");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (d, 0), "problem")),
                         "100% sure");
    cJSON_Delete (d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_problems_collect),
        cmocka_unit_test (test_object),
        cmocka_unit_test (test_string),
        cmocka_unit_test (test_enum),
        cmocka_unit_test (test_int),
        cmocka_unit_test (test_decimal2),
        cmocka_unit_test (test_date),
        cmocka_unit_test (test_uuid),
        cmocka_unit_test (test_utf8),
        cmocka_unit_test (test_detail),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
