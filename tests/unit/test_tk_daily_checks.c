/* test_tk_daily_checks: the manager's daily check without a database
 * (services/tickets/daily_checks.c, included): the checklist's input, a
 * day's record against the checklist and today, and the range with its
 * defaults. The handlers' neighbours are stubbed (tk_stubs.h): they are never
 * called. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/daily_checks.c"
#include "jv_testing.h"
#include "tk_stubs.h"

/* --- helpers ------------------------------------------------------------------ */
static const cJSON *
s_json (const char *text)
{
    static cJSON *keep[16];
    static int n;
    cJSON_Delete (keep[n % 16]);
    return keep[n++ % 16] = cJSON_Parse (text);
}

#define CHECKLIST "[\"交接班记录\",\"工单跟进\",\"投诉回访\"]"

/* the record's problems ("" when valid), its stored items and failed count */
static const char *
s_record (const char *data, const char *today, char **items, int *failed)
{
    jv_t v = JV_INIT;
    const char *date;
    bool ok = dc_record_input (&v, s_json (data), s_json (CHECKLIST), today, &date, items, failed);
    assert_true (ok == jv_ok (&v));
    return jvt_problems (&v);
}

/* --- the checklist ------------------------------------------------------------ */
static void
test_items_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    char *text;
    assert_true (dc_items_input (&v, s_json ("{\"items\":[\"a\",\"b\"]}"), &text));
    assert_string_equal (text, "[\"a\",\"b\"]");
    free (text);
    assert_false (dc_items_input (&v, s_json ("{\"items\":[\"a\",\"a\",\"\"]}"), &text));
    assert_null (text);
    assert_non_null (jvt_problem (&v, "items[1]"));
    assert_non_null (jvt_problem (&v, "items[2]"));
    jv_reset (&v);
    assert_false (dc_items_input (&v, s_json ("{\"items\":[]}"), &text));
    assert_non_null (jvt_problem (&v, "items"));
    jv_reset (&v);
    assert_false (dc_items_input (&v, s_json ("[1]"), &text));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    /* the default list is a valid list */
    cJSON *d = dc_default_items_json (), *data = cJSON_CreateObject ();
    cJSON_AddItemToObject (data, "items", d);
    assert_true (dc_items_input (&v, data, &text));
    free (text);
    cJSON_Delete (data);
}

/* --- a day's record ----------------------------------------------------------- */
static void
test_record_valid (void **state)
{
    (void) state;
    char *items;
    int failed;
    assert_string_equal (s_record ("{\"date\":\"2027-03-10\",\"items\":[{\"item\":\"工单跟进\",\"ok\":true},"
                                   "{\"item\":\"投诉回访\",\"ok\":false,\"note\":\"两单\"},"
                                   "{\"item\":\"交接班记录\",\"ok\":true,\"note\":\"\"}]}",
                                   "2027-03-10", &items, &failed), "");
    assert_int_equal (failed, 1);
    assert_string_equal (items, "[{\"item\":\"工单跟进\",\"ok\":true,\"note\":null},"
                                "{\"item\":\"投诉回访\",\"ok\":false,\"note\":\"两单\"},"
                                "{\"item\":\"交接班记录\",\"ok\":true,\"note\":null}]");
    free (items);
}

static void
test_record_refused (void **state)
{
    (void) state;
    char *items;
    int failed;
    const char *all = "{\"item\":\"交接班记录\",\"ok\":true},{\"item\":\"工单跟进\",\"ok\":true},"
                      "{\"item\":\"投诉回访\",\"ok\":true}";
    char buf[512];
    /* tomorrow, and a day that does not exist */
    snprintf (buf, sizeof buf, "{\"date\":\"2027-03-11\",\"items\":[%s]}", all);
    assert_non_null (strstr (s_record (buf, "2027-03-10", &items, &failed), "date: must not be in the future"));
    assert_null (items);
    snprintf (buf, sizeof buf, "{\"date\":\"2027-02-29\",\"items\":[%s]}", all);
    assert_non_null (strstr (s_record (buf, "2027-03-10", &items, &failed), "date:"));
    /* an item missing, one twice, one not on the list, ok not a boolean */
    assert_non_null (strstr (s_record ("{\"date\":\"2027-03-01\",\"items\":[{\"item\":\"交接班记录\",\"ok\":true},"
                                       "{\"item\":\"交接班记录\",\"ok\":true},{\"item\":\"别的\",\"ok\":true},"
                                       "{\"item\":\"工单跟进\",\"ok\":1}]}",
                                       "2027-03-10", &items, &failed),
                             "items[1].item: is listed twice; items[2].item: is not on the property's checklist; "
                             "items[3].ok: is required: true or false; items: the checklist's item \"投诉回访\" "
                             "has no result"));
    assert_null (items);
    assert_non_null (strstr (s_record ("{\"date\":\"2027-03-01\",\"items\":[]}", "2027-03-10", &items, &failed),
                             "items:"));
    assert_non_null (strstr (s_record ("{\"date\":\"2027-03-01\",\"items\":[5]}", "2027-03-10", &items, &failed),
                             "items[0]: must be an object"));
}

/* --- the range ---------------------------------------------------------------- */
static void
s_range (const char *from, const char *to, const char *want_from, const char *want_to, const char *problem_field)
{
    jv_t v = JV_INIT;
    char f[11], t[11];
    bool ok = dc_range_input (&v, from, to, "2027-03-10", f, t);
    if (problem_field) {
        assert_false (ok);
        assert_non_null (jvt_problem (&v, problem_field));
    }
    else {
        assert_true (ok);
        assert_string_equal (f, want_from);
        assert_string_equal (t, want_to);
    }
    jv_reset (&v);
}

static void
test_range (void **state)
{
    (void) state;
    s_range (NULL, NULL, "2027-02-09", "2027-03-10", NULL);          /* the 30 days ending today */
    s_range (NULL, "2027-01-05", "2026-12-07", "2027-01-05", NULL);
    s_range ("2027-03-01", NULL, "2027-03-01", "2027-03-10", NULL);
    s_range ("2024-02-29", "2024-02-29", "2024-02-29", "2024-02-29", NULL);
    s_range ("2026-03-10", "2027-03-10", "2026-03-10", "2027-03-10", NULL);   /* 366 days */
    s_range ("2026-03-09", "2027-03-10", NULL, NULL, "to");                   /* 367 */
    s_range ("2027-03-11", NULL, NULL, NULL, "to");
    s_range ("2027-02-30", NULL, NULL, NULL, "from");
    s_range (NULL, "today", NULL, NULL, "to");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_items_input),
        cmocka_unit_test (test_record_valid),
        cmocka_unit_test (test_record_refused),
        cmocka_unit_test (test_range),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
