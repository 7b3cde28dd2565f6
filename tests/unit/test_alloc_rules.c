/* test_alloc_rules: half-up rounding, late fee grace and cap, payment input
 * checks (services/billing/alloc_rules.c, included). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/billing/alloc_rules.c"

static void
test_bps_half_up (void **state)
{
    (void) state;
    /* 0.05% of 10001 fen = 5.0005 -> 5; of 11000 = 5.5 -> 6 (half-up) */
    assert_int_equal (bl_bps_of (10001, 5), 5);
    assert_int_equal (bl_bps_of (11000, 5), 6);
    assert_int_equal (bl_bps_of (9000, 5), 5);     /* 4.5 -> 5 */
    assert_int_equal (bl_bps_of (8999, 5), 4);     /* 4.4995 -> 4 */
    assert_int_equal (bl_bps_of (0, 5), 0);
    assert_int_equal (bl_bps_of (-100, 5), 0);
    assert_int_equal (bl_bps_of (BL_AMOUNT_MAX, 100000), BL_AMOUNT_MAX * 10);
}

static void
test_late_fee_grace_and_cap (void **state)
{
    (void) state;
    /* 100000 fen overdue, 5 bps a day (0.05%), grace 10 days, cap 10% */
    assert_int_equal (bl_late_fee_day (100000, 100000, 10, 10, 5, 1000, 0), 0);   /* in grace */
    assert_int_equal (bl_late_fee_day (100000, 100000, 11, 10, 5, 1000, 0), 50);
    assert_int_equal (bl_late_fee_day (0, 100000, 30, 10, 5, 1000, 0), 0);        /* paid */
    assert_int_equal (bl_late_fee_day (100000, 100000, 30, 10, 0, 1000, 0), 0);   /* no rate */
    /* the cap: 10000 fen in all; 9980 assessed -> only 20 more, then none */
    assert_int_equal (bl_late_fee_day (100000, 100000, 300, 10, 5, 1000, 9980), 20);
    assert_int_equal (bl_late_fee_day (100000, 100000, 301, 10, 5, 1000, 10000), 0);
    /* a partly paid bill: the fee is on what is still overdue */
    assert_int_equal (bl_late_fee_day (33333, 100000, 40, 10, 5, 1000, 0), 17);   /* 16.6665 -> 17 */
    /* cap 0: never a fee */
    assert_int_equal (bl_late_fee_day (100000, 100000, 40, 10, 5, 0, 0), 0);
}

static cJSON *
s_parse (const char *json)
{
    cJSON *j = cJSON_Parse (json);
    assert_non_null (j);
    return j;
}

static void
test_payment_input (void **state)
{
    (void) state;
    bl_payment_input_t in;
    jv_t v = JV_INIT;
    cJSON *j = s_parse ("{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":12345,"
                        "\"method\":\"wechat\",\"external_ref\":\"WX-1\",\"paid_at\":\"2026-11-27T03:14:00Z\"}");
    assert_true (bl_payment_input (&v, j, &in));
    assert_int_equal (in.amount, 12345);
    assert_string_equal (in.method, "wechat");
    assert_string_equal (in.external_ref, "WX-1");
    assert_non_null (in.paid_at);
    cJSON_Delete (j);
    const char *bad[] = {
        "{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":0,\"method\":\"cash\"}",
        "{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":-5,\"method\":\"cash\"}",
        "{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":1.5,\"method\":\"cash\"}",
        "{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":\"100\",\"method\":\"cash\"}",
        "{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":100,\"method\":\"gold\"}",
        "{\"unit_id\":\"nope\",\"amount\":100,\"method\":\"cash\"}",
        "{\"unit_id\":\"6f1c1b2e-4d3a-4b7e-9a61-0c2d3e4f5a6b\",\"amount\":100,\"method\":\"cash\","
        "\"paid_at\":\"2026-13-01T00:00:00Z\"}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jv_t w = JV_INIT;
        cJSON *b = s_parse (bad[i]);
        assert_false (bl_payment_input (&w, b, &in));
        jv_reset (&w);
        cJSON_Delete (b);
    }
}

static void
test_timestamps (void **state)
{
    (void) state;
    assert_true (bl_is_timestamp ("2026-11-27"));
    assert_true (bl_is_timestamp ("2026-11-27T03:14:00Z"));
    assert_true (bl_is_timestamp ("2026-11-27T03:14:00.123+08:00"));
    assert_false (bl_is_timestamp ("2026-11-27T03:14Z"));
    assert_false (bl_is_timestamp ("2026-02-30T00:00:00Z"));
    assert_false (bl_is_timestamp ("yesterday"));
    /* found by the fuzzer: these reached PostgreSQL, which refused them (a 500) */
    assert_false (bl_is_timestamp ("2026-01-01T25:00:00Z"));
    assert_false (bl_is_timestamp ("2026-01-01T23:60:00Z"));
    assert_false (bl_is_timestamp ("2026-01-01T00:00:00+99:99"));
    assert_false (bl_is_timestamp ("2026-01-01T00:00:00+14:01"));
    assert_true (bl_is_timestamp ("2026-01-01T23:59:60Z"));          /* a leap second */
    assert_true (bl_is_timestamp ("2026-01-01T00:00:00-14:00"));
    assert_false (bl_is_timestamp (""));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_bps_half_up),
        cmocka_unit_test (test_late_fee_grace_and_cap),
        cmocka_unit_test (test_payment_input),
        cmocka_unit_test (test_timestamps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
