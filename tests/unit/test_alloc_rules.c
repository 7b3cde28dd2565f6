/* test_alloc_rules: allocation of payments, half-up rounding, late fee grace
 * and cap, payment input checks (services/billing/alloc_rules.c, included). */
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
test_allocate_oldest_first (void **state)
{
    (void) state;
    int64_t out[] = { 10000, 5000, 3000 }, alloc[3];
    /* partial: the oldest bill first, the next gets the rest */
    assert_int_equal (bl_allocate (12000, out, 3, alloc), 0);
    assert_int_equal (alloc[0], 10000);
    assert_int_equal (alloc[1], 2000);
    assert_int_equal (alloc[2], 0);
    /* more than owed: the rest is credit */
    assert_int_equal (bl_allocate (20001, out, 3, alloc), 2001);
    assert_int_equal (alloc[2], 3000);
    /* nothing open: all credit */
    assert_int_equal (bl_allocate (500, out, 0, alloc), 500);
    /* a bill already paid (0) or over-paid (negative) takes nothing */
    int64_t odd[] = { 0, -5, 7 };
    assert_int_equal (bl_allocate (10, odd, 3, alloc), 3);
    assert_int_equal (alloc[0], 0);
    assert_int_equal (alloc[1], 0);
    assert_int_equal (alloc[2], 7);
    /* zero or negative amounts allocate nothing */
    assert_int_equal (bl_allocate (-3, out, 3, alloc), 0);
    assert_int_equal (alloc[0] + alloc[1] + alloc[2], 0);
}

static void
test_match_payments_to_bills (void **state)
{
    (void) state;
    /* credit of two older payments (300, 50) and a new one (1000) over bills 200, 400, 0 */
    int64_t rem[] = { 300, 50, 1000 }, out[] = { 200, 400, 0 };
    bl_pair_t pairs[6];
    size_t n = bl_match (rem, 3, out, 3, pairs, 6);
    assert_int_equal (n, 4);
    assert_true (pairs[0].pi == 0 && pairs[0].bi == 0 && pairs[0].amount == 200);
    assert_true (pairs[1].pi == 0 && pairs[1].bi == 1 && pairs[1].amount == 100);
    assert_true (pairs[2].pi == 1 && pairs[2].bi == 1 && pairs[2].amount == 50);
    assert_true (pairs[3].pi == 2 && pairs[3].bi == 1 && pairs[3].amount == 250);
    assert_int_equal (rem[2], 750);                 /* the rest stays credit */
    assert_int_equal (out[0] + out[1] + out[2], 0);
    /* nothing to pay, or nothing to pay with */
    int64_t none[] = { 0 }, bills[] = { 10 };
    assert_int_equal (bl_match (none, 1, bills, 1, pairs, 6), 0);
    assert_int_equal (bl_match (rem, 3, bills, 0, pairs, 6), 0);
    /* the cap on pairs is honoured */
    int64_t r2[] = { 1, 1, 1 }, o2[] = { 3 };
    assert_int_equal (bl_match (r2, 3, o2, 1, pairs, 2), 2);
}

/* The payment statement (payments.c, bl_pay_record) allocates in SQL: the
 * remainders and the open bills laid end to end as intervals of money, a
 * (payment, bill) pair paid what their intervals share. That rule, written
 * here as the SQL says it, must give bl_match's pairs exactly, in order. */
static size_t
s_intervals (const int64_t *rem, size_t np, const int64_t *out, size_t nb, bl_pair_t *pairs)
{
    size_t n = 0;
    int64_t plo = 0;
    for (size_t p = 0; p < np; p++) {
        if (rem[p] <= 0)
            continue;
        int64_t blo = 0;
        for (size_t b = 0; b < nb; b++) {
            if (out[b] <= 0)
                continue;
            int64_t lo = plo > blo ? plo : blo;
            int64_t hi = plo + rem[p] < blo + out[b] ? plo + rem[p] : blo + out[b];
            if (hi > lo)
                pairs[n++] = (bl_pair_t) { p, b, hi - lo };
            blo += out[b];
        }
        plo += rem[p];
    }
    return n;
}

static void
test_interval_rule_is_bl_match (void **state)
{
    (void) state;
    srand (20261127);
    for (int round = 0; round < 5000; round++) {
        size_t np = (size_t) (rand () % 5), nb = (size_t) (rand () % 6);
        int64_t rem[5], out[6], rem2[5], out2[6];
        for (size_t i = 0; i < np; i++)
            rem[i] = rem2[i] = rand () % 4 == 0 ? 0 : 1 + rand () % 20000;
        for (size_t i = 0; i < nb; i++)
            out[i] = out2[i] = rand () % 5 == 0 ? 0 : 1 + rand () % 15000;
        bl_pair_t want[11], got[30];
        size_t n = bl_match (rem2, np, out2, nb, want, np + nb + 1);
        size_t m = s_intervals (rem, np, out, nb, got);
        assert_int_equal (n, m);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal (want[i].pi, got[i].pi);
            assert_int_equal (want[i].bi, got[i].bi);
            assert_int_equal (want[i].amount, got[i].amount);
        }
    }
}

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
        cmocka_unit_test (test_allocate_oldest_first),
        cmocka_unit_test (test_match_payments_to_bills),
        cmocka_unit_test (test_interval_rule_is_bl_match),
        cmocka_unit_test (test_bps_half_up),
        cmocka_unit_test (test_late_fee_grace_and_cap),
        cmocka_unit_test (test_payment_input),
        cmocka_unit_test (test_timestamps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
