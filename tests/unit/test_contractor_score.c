/* test_contractor_score: contractors' inspections without a database
 * (services/tickets/contractor_rules.c, included): the weighted mean rounded
 * half away from zero in integers, the exact reading of decimal scores and
 * weights, and the inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/contractor_rules.c"
#include "jv_testing.h"

#define S_NOW_US (INT64_C (1796083200) * 1000000)      /* 2026-12-01T00:00:00Z */

static void
test_div_round (void **state)
{
    (void) state;
    assert_int_equal (con_div_round (3410, 4), 853);       /* 852.5 -> 853 */
    assert_int_equal (con_div_round (3409, 4), 852);       /* 852.25 */
    assert_int_equal (con_div_round (3411, 4), 853);       /* 852.75 */
    assert_int_equal (con_div_round (-3410, 4), -853);     /* half away from zero, both ways */
    assert_int_equal (con_div_round (-3409, 4), -852);
    assert_int_equal (con_div_round (5, 10), 1);
    assert_int_equal (con_div_round (4, 10), 0);
    assert_int_equal (con_div_round (0, 7), 0);
    assert_int_equal (con_div_round (14, 7), 2);
    assert_int_equal (con_div_round (1, 3), 0);            /* 0.333 */
    assert_int_equal (con_div_round (2, 3), 1);            /* 0.667 */
}

static void
test_weighted_mean (void **state)
{
    (void) state;
    /* the figure: weights 3 and 1, scores 90 and 71 -> 85.25 -> 85.3 */
    con_criterion_t a[] = { { "整洁", 300, 900 }, { "及时", 100, 710 } };
    assert_int_equal (con_weighted_mean_x10 (a, 2), 853);
    /* equal weights, a mean exactly at .x5: 85.05 -> 85.1 (a double would say 85.04999...) */
    con_criterion_t b[] = { { "a", 100, 851 }, { "b", 100, 850 } };
    assert_int_equal (con_weighted_mean_x10 (b, 2), 851);
    /* decimal weights: 0.5 * 80 + 0.25 * 60 + 0.25 * 99.9 = 79.975 -> 80.0 */
    con_criterion_t c[] = { { "a", 50, 800 }, { "b", 25, 600 }, { "c", 25, 999 } };
    assert_int_equal (con_weighted_mean_x10 (c, 3), 800);
    /* one criterion is its own score; 0 and 100 stay */
    con_criterion_t d[] = { { "a", 700, 1000 } };
    assert_int_equal (con_weighted_mean_x10 (d, 1), 1000);
    d[0].score_x10 = 0;
    assert_int_equal (con_weighted_mean_x10 (d, 1), 0);
    /* thirds: (2 * 70 + 1 * 75) / 3 = 71.666 -> 71.7 */
    con_criterion_t e[] = { { "a", 200, 700 }, { "b", 100, 750 } };
    assert_int_equal (con_weighted_mean_x10 (e, 2), 717);
    /* the largest input: 50 criteria of weight 1000 and score 100 */
    con_criterion_t f[CON_CRITERIA_MAX];
    for (int i = 0; i < CON_CRITERIA_MAX; i++)
        f[i] = (con_criterion_t) { "x", CON_WEIGHT_MAX_X100, CON_SCORE_MAX_X10 };
    assert_int_equal (con_weighted_mean_x10 (f, CON_CRITERIA_MAX), 1000);
    /* weights summing to zero, or none */
    con_criterion_t z[] = { { "a", 0, 900 }, { "b", 0, 700 } };
    assert_int_equal (con_weighted_mean_x10 (z, 2), -1);
    assert_int_equal (con_weighted_mean_x10 (z, 0), -1);
    con_criterion_t neg[] = { { "a", -100, 900 }, { "b", 200, 700 } };
    assert_int_equal (con_weighted_mean_x10 (neg, 2), -1);
}

static void
test_tenths_text (void **state)
{
    (void) state;
    char out[24];
    assert_string_equal (con_tenths_text (853, out), "85.3");
    assert_string_equal (con_tenths_text (900, out), "90.0");
    assert_string_equal (con_tenths_text (5, out), "0.5");
    assert_string_equal (con_tenths_text (1000, out), "100.0");
    assert_string_equal (con_tenths_text (-5, out), "-0.5");
}

/* con_scaled of the JSON text json */
static bool
s_scaled (const char *json, int decimals, int64_t max, int64_t *out)
{
    cJSON *x = cJSON_Parse (json);
    bool ok = con_scaled (x, decimals, max, out);
    cJSON_Delete (x);
    return ok;
}

static void
test_scaled (void **state)
{
    (void) state;
    int64_t v = -1;
    assert_true (s_scaled ("85.5", 1, 1000, &v) && v == 855);
    assert_true (s_scaled ("90", 1, 1000, &v) && v == 900);
    assert_true (s_scaled ("0", 1, 1000, &v) && v == 0);
    assert_true (s_scaled ("100", 1, 1000, &v) && v == 1000);
    assert_true (s_scaled ("0.1", 1, 1000, &v) && v == 1);      /* 0.1 is no exact double: still 1 */
    assert_true (s_scaled ("99.9", 1, 1000, &v) && v == 999);
    assert_true (s_scaled ("85.50", 1, 1000, &v) && v == 855);
    assert_false (s_scaled ("100.1", 1, 1000, &v));               /* above 100 */
    assert_false (s_scaled ("101", 1, 1000, &v));
    assert_false (s_scaled ("85.55", 1, 1000, &v));               /* two decimals */
    assert_false (s_scaled ("-1", 1, 1000, &v));
    assert_false (s_scaled ("\"85\"", 1, 1000, &v));
    assert_false (s_scaled ("true", 1, 1000, &v));
    assert_false (s_scaled ("1e300", 1, 1000, &v));
    assert_true (s_scaled ("0.25", 2, 100000, &v) && v == 25);
    assert_true (s_scaled ("3", 2, 100000, &v) && v == 300);
    assert_true (s_scaled ("1000", 2, 100000, &v) && v == 100000);
    assert_true (s_scaled ("0.07", 2, 100000, &v) && v == 7);
    assert_false (s_scaled ("0.125", 2, 100000, &v));
    assert_false (s_scaled ("1000.01", 2, 100000, &v));
}

/* con_inspection_input of the JSON text json */
static bool
s_inspection (const char *json, con_inspection_input_t *in, jv_t *v, cJSON **doc)
{
    *doc = cJSON_Parse (json);
    return con_inspection_input (v, *doc, S_NOW_US, in);
}

static void
test_inspection_input (void **state)
{
    (void) state;
    con_inspection_input_t in;
    jv_t v = JV_INIT;
    cJSON *doc;
    assert_true (s_inspection ("{\"contractor_id\":\"6f1c1b8e-8d1e-4f7a-9a43-0f1e2d3c4b5a\",\"area\":\"1号楼大堂\","
                               "\"inspected_at\":\"2026-11-30T09:00:00+08:00\",\"criteria\":["
                               "{\"name\":\"地面清洁\",\"weight\":3,\"score\":90},"
                               "{\"name\":\"垃圾清运\",\"weight\":1,\"score\":71}]}", &in, &v, &doc));
    assert_int_equal (in.n, 2);
    assert_int_equal (in.score_x10, 853);
    assert_int_equal (in.criteria[0].weight_x100, 300);
    assert_string_equal (in.criteria[1].name, "垃圾清运");
    assert_null (in.note);
    cJSON_Delete (doc);

    /* every problem at once, each named */
    assert_false (s_inspection ("{\"contractor_id\":\"x\",\"area\":\"\",\"inspected_at\":\"yesterday\","
                                "\"criteria\":[{\"name\":\"a\",\"weight\":0,\"score\":101},"
                                "{\"name\":\"a\",\"weight\":-1,\"score\":85.55},7]}", &in, &v, &doc));
    assert_non_null (jvt_problem (&v, "contractor_id"));
    assert_non_null (jvt_problem (&v, "area"));
    assert_non_null (jvt_problem (&v, "inspected_at"));
    assert_non_null (jvt_problem (&v, "criteria[0].weight"));
    assert_non_null (jvt_problem (&v, "criteria[0].score"));
    assert_non_null (jvt_problem (&v, "criteria[1].name"));         /* twice */
    assert_non_null (jvt_problem (&v, "criteria[1].weight"));
    assert_non_null (jvt_problem (&v, "criteria[1].score"));
    assert_non_null (jvt_problem (&v, "criteria[2]"));
    jv_reset (&v);
    cJSON_Delete (doc);

    /* weights summing to zero: each weight is refused */
    assert_false (s_inspection ("{\"contractor_id\":\"6f1c1b8e-8d1e-4f7a-9a43-0f1e2d3c4b5a\",\"area\":\"a\","
                                "\"inspected_at\":\"2026-11-30T09:00:00Z\",\"criteria\":["
                                "{\"name\":\"a\",\"weight\":0,\"score\":90},{\"name\":\"b\",\"weight\":0,\"score\":70}]}",
                                &in, &v, &doc));
    assert_non_null (jvt_problem (&v, "criteria[0].weight"));
    assert_non_null (jvt_problem (&v, "criteria[1].weight"));
    jv_reset (&v);
    cJSON_Delete (doc);

    /* no criteria; the future; not an object */
    assert_false (s_inspection ("{\"contractor_id\":\"6f1c1b8e-8d1e-4f7a-9a43-0f1e2d3c4b5a\",\"area\":\"a\","
                                "\"inspected_at\":\"2026-12-03T00:00:00Z\",\"criteria\":[]}", &in, &v, &doc));
    assert_non_null (jvt_problem (&v, "criteria"));
    assert_non_null (jvt_problem (&v, "inspected_at"));
    jv_reset (&v);
    cJSON_Delete (doc);
    assert_false (s_inspection ("[1]", &in, &v, &doc));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    cJSON_Delete (doc);
}

static void
test_contractor_input (void **state)
{
    (void) state;
    con_contractor_input_t in;
    jv_t v = JV_INIT;
    cJSON *d = cJSON_Parse ("{\"name\":\"洁美保洁\",\"service\":\"cleaning\",\"contact\":\"王经理\","
                            "\"phone\":\"138 0013 8000\"}");
    assert_true (con_contractor_input (&v, d, false, &in));
    assert_string_equal (in.phone, "13800138000");
    assert_string_equal (in.service, "cleaning");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"name\":\"x\",\"service\":\"plumbing\",\"phone\":\"12\",\"active\":false}");
    assert_false (con_contractor_input (&v, d, false, &in));
    assert_non_null (jvt_problem (&v, "service"));
    assert_non_null (jvt_problem (&v, "phone"));
    assert_non_null (jvt_problem (&v, "active"));
    jv_reset (&v);
    cJSON_Delete (d);
    /* PATCH: clear the contact, deactivate; the service stays */
    d = cJSON_Parse ("{\"contact\":null,\"active\":false}");
    assert_true (con_contractor_input (&v, d, true, &in));
    assert_true (in.contact_set && !in.contact && in.active == 0 && !in.phone_set && !in.name);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"service\":\"greening\"}");
    assert_false (con_contractor_input (&v, d, true, &in));
    assert_non_null (jvt_problem (&v, "service"));
    jv_reset (&v);
    cJSON_Delete (d);
    d = cJSON_Parse ("{}");
    assert_false (con_contractor_input (&v, d, true, &in));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    cJSON_Delete (d);
}

static void
test_settings_period_months (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    int64_t t;
    cJSON *d = cJSON_Parse ("{\"threshold\":75.5}");
    assert_true (con_settings_input (&v, d, &t) && t == 755);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"threshold\":101}");
    assert_false (con_settings_input (&v, d, &t));
    assert_non_null (jvt_problem (&v, "threshold"));
    jv_reset (&v);
    cJSON_Delete (d);

    char first[11];
    assert_true (con_period_parse ("2026-11", first));
    assert_string_equal (first, "2026-11-01");
    assert_false (con_period_parse ("2026-13", first));
    assert_false (con_period_parse ("2026-1", first));
    assert_false (con_period_parse ("2026-11-01", first));
    assert_false (con_period_parse ("1999-12", first));
    assert_false (con_period_parse ("20x6-11", first));
    assert_false (con_period_parse (NULL, first));

    int m;
    assert_true (con_months_parse (NULL, &m) && m == 12);
    assert_true (con_months_parse ("", &m) && m == 12);
    assert_true (con_months_parse ("6", &m) && m == 6);
    assert_true (con_months_parse ("36", &m) && m == 36);
    assert_false (con_months_parse ("37", &m));
    assert_false (con_months_parse ("0", &m));
    assert_false (con_months_parse ("-1", &m));
    assert_false (con_months_parse ("100", &m));
    assert_false (con_months_parse ("1x", &m));
}

static void
test_rectification_title (void **state)
{
    (void) state;
    char title[501];
    con_rectification_title ("洁美保洁", "1号楼大堂", 725, 800, title);
    assert_string_equal (title, "整改：洁美保洁 · 1号楼大堂 检查得分 72.5（低于 80.0）");
    /* the longest names stay within a ticket's title and whole characters */
    char name[CON_NAME_MAX + 1] = "", area[CON_AREA_MAX + 1] = "";
    for (int i = 0; i < 33; i++) {
        strcat (name, "洁");
        strcat (area, "楼");
    }
    con_rectification_title (name, area, 0, 1000, title);
    assert_true (strlen (title) <= 500);
    assert_true (jv_is_utf8 (title, strlen (title)));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_div_round),
        cmocka_unit_test (test_weighted_mean),
        cmocka_unit_test (test_tenths_text),
        cmocka_unit_test (test_scaled),
        cmocka_unit_test (test_inspection_input),
        cmocka_unit_test (test_contractor_input),
        cmocka_unit_test (test_settings_period_months),
        cmocka_unit_test (test_rectification_title),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
