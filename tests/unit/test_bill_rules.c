/* test_bill_rules: periods, due dates, days covered and proration with
 * half-up rounding (services/billing/bill_rules.c, included). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/billing/bill_rules.c"

static void
test_period_parse (void **state)
{
    (void) state;
    int y = 0, m = 0;
    assert_true (bl_period_parse ("2026-11", &y, &m));
    assert_int_equal (y, 2026);
    assert_int_equal (m, 11);
    assert_true (bl_period_parse ("2026-01", &y, &m));
    assert_int_equal (m, 1);
    const char *bad[] = { "2026-13", "2026-1", "abc", "2026-00", "", "2026-011", "2026/11", "20a6-11",
                          " 2026-11", "1999-12", "2026-1x", "-026-11" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false (bl_period_parse (bad[i], &y, &m));
    assert_false (bl_period_parse (NULL, &y, &m));
}

static void
test_days_in_month (void **state)
{
    (void) state;
    assert_int_equal (bl_days_in_month (2026, 1), 31);
    assert_int_equal (bl_days_in_month (2026, 2), 28);
    assert_int_equal (bl_days_in_month (2028, 2), 29);      /* leap */
    assert_int_equal (bl_days_in_month (2100, 2), 28);      /* century, not leap */
    assert_int_equal (bl_days_in_month (2000, 2), 29);      /* 400 years: leap */
    assert_int_equal (bl_days_in_month (2026, 4), 30);
    assert_int_equal (bl_days_in_month (2026, 12), 31);
    assert_int_equal (bl_days_in_month (2026, 13), 0);
}

static void
test_due_day (void **state)
{
    (void) state;
    assert_int_equal (bl_due_day (2026, 11, 15), 15);
    assert_int_equal (bl_due_day (2026, 2, 31), 28);
    assert_int_equal (bl_due_day (2028, 2, 30), 29);
    assert_int_equal (bl_due_day (2026, 4, 31), 30);
    assert_int_equal (bl_due_day (2026, 4, 0), 1);
}

static void
test_half_up (void **state)
{
    (void) state;
    assert_int_equal (bl_div_half_up (5, 10), 1);           /* exactly .5 goes up */
    assert_int_equal (bl_div_half_up (4, 10), 0);
    assert_int_equal (bl_div_half_up (15, 10), 2);
    assert_int_equal (bl_div_half_up (25, 10), 3);          /* not banker's rounding */
    assert_int_equal (bl_div_half_up (149, 100), 1);
    assert_int_equal (bl_div_half_up (0, 7), 0);
    assert_int_equal (bl_div_half_up (21, 7), 3);
}

static void
test_prorate (void **state)
{
    (void) state;
    /* full month: area 88.88 x 350 fen = 31108 fen */
    assert_int_equal (bl_prorate (8888 * 350, 31, 31), 31108);
    /* 10.01 m2 x 350 = 3503.5 fen: half-up once per line -> 3504 */
    assert_int_equal (bl_prorate (1001 * 350, 30, 30), 3504);
    /* mid-month move-in: 120.50 m2 x 350 = 42175 fen, 16 of 31 days = 21767.74 -> 21768 */
    assert_int_equal (bl_prorate (12050 * 350, 16, 31), 21768);
    /* fixed 1500 fen, 16 of 31 days = 774.19 -> 774 */
    assert_int_equal (bl_prorate (1500 * 100, 16, 31), 774);
    /* parking 30000, 22 of 31 days = 21290.32 -> 21290 */
    assert_int_equal (bl_prorate (30000 * 100, 22, 31), 21290);
    /* exactly .5 after proration: 100 fen x 1 / 8 days is not a month; 1 fen
     * for half of a 30-day month is 0.5 -> 1 */
    assert_int_equal (bl_prorate (100, 15, 30), 1);
    /* leap February: 29 days */
    assert_int_equal (bl_prorate (2900 * 100, 1, 29), 100);
    assert_int_equal (bl_prorate (0, 10, 30), 0);
    assert_int_equal (bl_prorate (100, 0, 30), 0);
    assert_int_equal (bl_prorate (-1, 10, 30), -1);
    assert_int_equal (bl_prorate (100, 31, 30), -1);
    assert_int_equal (bl_prorate (100, 10, 0), -1);
    assert_int_equal (bl_prorate (INT64_MAX / 10, 10, 30), -1);
}

static void
test_covered_days (void **state)
{
    (void) state;
    /* period = days 1..30 */
    assert_int_equal (bl_covered_days (-100, -1, 1, 30), 30);  /* before, still open */
    assert_int_equal (bl_covered_days (16, -1, 1, 30), 15);    /* move-in on the 16th */
    assert_int_equal (bl_covered_days (-5, 10, 1, 30), 10);    /* move-out on the 10th (inclusive) */
    assert_int_equal (bl_covered_days (5, 5, 1, 30), 1);
    assert_int_equal (bl_covered_days (31, -1, 1, 30), 0);
    assert_int_equal (bl_covered_days (-10, 0, 1, 30), 0);
    assert_int_equal (bl_covered_days (30, 40, 1, 30), 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_period_parse),
        cmocka_unit_test (test_days_in_month),
        cmocka_unit_test (test_due_day),
        cmocka_unit_test (test_half_up),
        cmocka_unit_test (test_prorate),
        cmocka_unit_test (test_covered_days),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
