/* test_tk_me_visitors: the body of a resident's POST /v1/me/visitors
 * without a database (services/tickets/me_visitors.c and desk_rules.c,
 * included; the tickets service's helpers the handler uses are stubbed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/desk_rules.c"
#include "../../services/tickets/me_visitors.c"
#include "jv_testing.h"
#include "tk_stubs.h"

/* --- stubs: the handler's collaborators, never reached here -------------- */
void
desk_add_text (cJSON *o, const char *name, const PGresult *res, int row, int col)
{
    (void) o, (void) name, (void) res, (void) row, (void) col;
}

#define NOW_US INT64_C(1764590400000000)   /* 2025-12-01T12:00:00Z */
#define UNIT "0b5d3c1e-8f0a-4c5e-9d1b-2a3f4e5d6c7b"

/* The input of the JSON text at NOW_US: true/false, problems into *problems. */
static bool
s_parse (const char *json, me_visitor_input_t *in, const char **problems, cJSON **keep)
{
    *keep = cJSON_Parse (json);
    jv_t v = JV_INIT;
    bool ok = me_visitor_input (&v, *keep, NOW_US, in);
    *problems = jvt_problems (&v);
    return ok;
}

static void
test_good_bodies (void **state)
{
    (void) state;
    me_visitor_input_t in;
    const char *why;
    cJSON *doc;
    assert_true (s_parse ("{\"unit_id\":\"" UNIT "\",\"name\":\"张三\",\"expected_at\":\"2025-12-01T10:00:00+08:00\","
                          "\"vehicle_plate\":\"粤b 12345\"}", &in, &why, &doc));
    assert_string_equal (why, "");
    assert_string_equal (in.unit_id, UNIT);
    assert_string_equal (in.name, "张三");
    assert_string_equal (in.plate, "粤B12345");          /* normalised as the desk's */
    int64_t want;
    assert_true (civil_parse_time ("2025-12-01T02:00:00Z", &want));
    assert_true (in.expected_us == want);
    cJSON_Delete (doc);
    /* no plate, a null plate, an empty plate: none */
    assert_true (s_parse ("{\"unit_id\":\"" UNIT "\",\"name\":\"李四\",\"expected_at\":\"2025-12-01T00:00:00Z\"}",
                          &in, &why, &doc));
    assert_string_equal (in.plate, "");
    cJSON_Delete (doc);
    assert_true (s_parse ("{\"unit_id\":\"" UNIT "\",\"name\":\"李四\",\"expected_at\":\"2025-12-01T00:00:00Z\","
                          "\"vehicle_plate\":\"\"}", &in, &why, &doc));
    assert_string_equal (in.plate, "");
    cJSON_Delete (doc);
}

static void
test_bad_bodies (void **state)
{
    (void) state;
    me_visitor_input_t in;
    const char *why;
    cJSON *doc;
    assert_false (s_parse ("[1]", &in, &why, &doc));
    cJSON_Delete (doc);
    assert_false (s_parse ("{}", &in, &why, &doc));
    assert_non_null (strstr (why, "unit_id"));
    assert_non_null (strstr (why, "name"));
    assert_non_null (strstr (why, "expected_at"));
    cJSON_Delete (doc);
    assert_false (s_parse ("{\"unit_id\":\"x\",\"name\":\"\",\"expected_at\":\"tomorrow\",\"vehicle_plate\":\"XYZ\"}",
                           &in, &why, &doc));
    assert_non_null (strstr (why, "unit_id"));
    assert_non_null (strstr (why, "name: must not be empty"));
    assert_non_null (strstr (why, "expected_at: must be an RFC 3339"));
    assert_non_null (strstr (why, "vehicle_plate"));
    cJSON_Delete (doc);
    /* a name of 101 bytes */
    char body[400];
    char name[102];
    memset (name, 'a', 101);
    name[101] = '\0';
    snprintf (body, sizeof body, "{\"unit_id\":\"" UNIT "\",\"name\":\"%s\",\"expected_at\":\"2025-12-01T00:00:00Z\"}",
              name);
    assert_false (s_parse (body, &in, &why, &doc));
    assert_non_null (strstr (why, "name"));
    cJSON_Delete (doc);
}

static void
test_expected_window (void **state)
{
    (void) state;
    /* a day back is the limit, 90 days ahead the other */
    me_visitor_input_t in;
    jv_t v = JV_INIT;
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "unit_id", UNIT);
    cJSON_AddStringToObject (d, "name", "王五");
    cJSON *at = cJSON_AddStringToObject (d, "expected_at", "");
    struct { int64_t offset_s; bool ok; } cases[] = {
        { 0, true }, { -ME_VISITOR_PAST_S, true }, { -ME_VISITOR_PAST_S - 1, false },
        { (int64_t) ME_VISITOR_AHEAD_DAYS * 86400, true }, { (int64_t) ME_VISITOR_AHEAD_DAYS * 86400 + 1, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[40];
        int64_t s = NOW_US / 1000000 + cases[i].offset_s;
        time_t t = (time_t) s;
        struct tm tm;
        gmtime_r (&t, &tm);
        strftime (text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_SetValuestring (at, text);
        bool ok = me_visitor_input (&v, d, NOW_US, &in);
        const char *why = jvt_problems (&v);
        if (ok != cases[i].ok)
            fail_msg ("%s: %s, want %s (%s)", text, ok ? "accepted" : "refused", cases[i].ok ? "accepted" : "refused",
                      why);
        if (!ok)
            assert_non_null (strstr (why, "expected_at: must be within"));
    }
    cJSON_Delete (d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_good_bodies),
        cmocka_unit_test (test_bad_bodies),
        cmocka_unit_test (test_expected_window),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
