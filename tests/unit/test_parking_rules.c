/* test_parking_rules: validation of parking spaces and leases, and the
 * decision to end a lease (services/tenants/parking_rules.c, included, with
 * the unit_rules.c helpers it uses). No database: the overlap rule is the
 * database's (test_parking.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tenants/parking_rules.c"
#include "../../services/tenants/unit_rules.c"
#include "jv_testing.h"

static void
test_space_input (void **state)
{
    (void) state;
    cJSON *data = cJSON_Parse ("{\"code\":\"B2-017\",\"zone\":\"地面\"}");
    jv_t v = JV_INIT;
    tn_space_input_t in;
    assert_true (tn_space_input (&v, data, &in));
    assert_string_equal (in.code, "B2-017");
    assert_string_equal (in.zone, "地面");
    cJSON_Delete (data);

    data = cJSON_Parse ("{\"code\":\"B2-018\",\"zone\":\"\"}");
    assert_true (tn_space_input (&v, data, &in));
    assert_null (in.zone);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"code\":\"B2-018\",\"zone\":null}");
    assert_true (tn_space_input (&v, data, &in));
    assert_null (in.zone);
    cJSON_Delete (data);

    data = cJSON_Parse ("{\"code\":\"\",\"zone\":7}");
    assert_false (tn_space_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "code"));
    assert_non_null (jvt_problem (&v, "zone"));
    jv_reset (&v);
    cJSON_Delete (data);

    char big[200];
    snprintf (big, sizeof big, "{\"code\":\"%065d\"}", 0);
    data = cJSON_Parse (big);
    assert_false (tn_space_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "code"));
    jv_reset (&v);
    cJSON_Delete (data);

    data = cJSON_Parse ("[1]");
    assert_false (tn_space_input (&v, data, &in));
    jv_reset (&v);
    cJSON_Delete (data);
}

static const char *const S_UUID = "2f0c6a52-1d0e-4b3f-9a51-0c1e2d3f4a5b";

static bool
s_lease (const char *json, tn_lease_input_t *in, jv_t *v)
{
    cJSON *data = cJSON_Parse (json);
    assert_non_null (data);
    bool ok = tn_lease_input (v, data, in);
    /* the borrowed strings die with data: keep only what the tests read */
    static char start[11], end[11];
    snprintf (start, sizeof start, "%s", in->start_date ? in->start_date : "");
    snprintf (end, sizeof end, "%s", in->end_date ? in->end_date : "");
    in->start_date = in->start_date ? start : NULL;
    in->end_date = in->end_date ? end : NULL;
    in->space_id = in->space_id ? S_UUID : NULL;
    in->party_id = in->party_id ? S_UUID : NULL;
    in->unit_id = in->unit_id ? S_UUID : NULL;
    cJSON_Delete (data);
    return ok;
}

static void
test_lease_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_lease_input_t in;
    char json[512];
    snprintf (json, sizeof json,
              "{\"space_id\":\"%s\",\"party_id\":\"%s\",\"unit_id\":\"%s\",\"start_date\":\"2026-01-01\","
              "\"end_date\":\"2026-12-31\",\"monthly_fee\":30000}", S_UUID, S_UUID, S_UUID);
    assert_true (s_lease (json, &in, &v));
    assert_string_equal (in.start_date, "2026-01-01");
    assert_string_equal (in.end_date, "2026-12-31");
    assert_int_equal (in.monthly_fee, 30000);
    assert_string_equal (in.fee_text, "30000");
    assert_non_null (in.unit_id);

    /* open-ended, no unit, a one-day lease, fee 0 and the maximum */
    snprintf (json, sizeof json, "{\"space_id\":\"%s\",\"party_id\":\"%s\",\"unit_id\":null,"
              "\"start_date\":\"2026-02-28\",\"end_date\":null,\"monthly_fee\":0}", S_UUID, S_UUID);
    assert_true (s_lease (json, &in, &v));
    assert_null (in.end_date);
    assert_null (in.unit_id);
    assert_string_equal (in.fee_text, "0");
    snprintf (json, sizeof json, "{\"space_id\":\"%s\",\"party_id\":\"%s\",\"start_date\":\"2026-02-28\","
              "\"end_date\":\"2026-02-28\",\"monthly_fee\":100000000000}", S_UUID, S_UUID);
    assert_true (s_lease (json, &in, &v));
    assert_string_equal (in.fee_text, "100000000000");

    /* an end before the start */
    snprintf (json, sizeof json, "{\"space_id\":\"%s\",\"party_id\":\"%s\",\"start_date\":\"2026-03-01\","
              "\"end_date\":\"2026-02-28\",\"monthly_fee\":1}", S_UUID, S_UUID);
    assert_false (s_lease (json, &in, &v));
    assert_non_null (jvt_problem (&v, "end_date"));
    jv_reset (&v);

    /* every field wrong at once */
    assert_false (s_lease ("{\"space_id\":\"x\",\"party_id\":5,\"unit_id\":\"y\",\"start_date\":\"2026-02-30\","
                           "\"end_date\":\"soon\",\"monthly_fee\":1.5}", &in, &v));
    const char *fields[] = { "space_id", "party_id", "unit_id", "start_date", "end_date", "monthly_fee" };
    for (int i = 0; i < 6; i++)
        if (!jvt_problem (&v, fields[i]))
            fail_msg ("no problem for %s", fields[i]);
    jv_reset (&v);
    assert_false (s_lease ("{}", &in, &v));
    assert_non_null (jvt_problem (&v, "space_id"));
    assert_non_null (jvt_problem (&v, "monthly_fee"));
    jv_reset (&v);
    const char *fees[] = { "-1", "100000000001", "\"100\"", "true", "1e300" };
    for (int i = 0; i < 5; i++) {
        snprintf (json, sizeof json, "{\"space_id\":\"%s\",\"party_id\":\"%s\",\"start_date\":\"2026-01-01\","
                  "\"monthly_fee\":%s}", S_UUID, S_UUID, fees[i]);
        if (s_lease (json, &in, &v) || !jvt_problem (&v, "monthly_fee"))
            fail_msg ("fee %s accepted", fees[i]);
        jv_reset (&v);
    }
}

static void
test_lease_end (void **state)
{
    (void) state;
    assert_int_equal (tn_lease_end_decide ("2026-01-01", NULL, false, "2026-12-31"), TN_LEASE_END_OK);
    assert_int_equal (tn_lease_end_decide ("2026-01-01", NULL, false, "2026-01-01"), TN_LEASE_END_OK);
    assert_int_equal (tn_lease_end_decide ("2026-01-01", "2026-06-30", false, "2026-06-30"), TN_LEASE_END_OK);
    assert_int_equal (tn_lease_end_decide ("2026-01-01", "2026-06-30", false, "2026-03-31"), TN_LEASE_END_OK);
    assert_int_equal (tn_lease_end_decide ("2026-01-01", NULL, false, "2025-12-31"), TN_LEASE_END_BEFORE_START);
    assert_int_equal (tn_lease_end_decide ("2026-01-01", "2026-06-30", false, "2026-07-01"), TN_LEASE_END_AFTER_END);
    assert_int_equal (tn_lease_end_decide ("2026-01-01", "2026-06-30", true, "2026-03-31"), TN_LEASE_END_ALREADY);
}

static void
test_active (void **state)
{
    (void) state;
    int a = 7;
    assert_true (tn_active_parse (NULL, &a));
    assert_int_equal (a, -1);
    assert_true (tn_active_parse ("", &a));
    assert_int_equal (a, -1);
    assert_true (tn_active_parse ("true", &a));
    assert_int_equal (a, 1);
    assert_true (tn_active_parse ("false", &a));
    assert_int_equal (a, 0);
    assert_false (tn_active_parse ("TRUE", &a));
    assert_false (tn_active_parse ("1", &a));
}

static void
test_lease_end_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_end_input_t in;
    cJSON *data = cJSON_Parse ("{\"end_date\":\"2026-12-31\"}");
    assert_true (tn_end_input (&v, data, &in));
    assert_string_equal (in.end_date, "2026-12-31");
    cJSON_Delete (data);
    const char *bad[] = { "{}", "{\"end_date\":\"2026-13-01\"}", "{\"end_date\":20261231}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        data = cJSON_Parse (bad[i]);
        assert_false (tn_end_input (&v, data, &in));
        assert_non_null (jvt_problem (&v, "end_date"));
        assert_null (in.end_date);
        cJSON_Delete (data);
        jv_reset (&v);
    }
    assert_false (tn_end_input (&v, NULL, &in));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_space_input),
        cmocka_unit_test (test_lease_input),
        cmocka_unit_test (test_lease_end),
        cmocka_unit_test (test_active),
        cmocka_unit_test (test_lease_end_input),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
