/* test_bill_rules: a run's period and the days of its month
 * (services/billing/bill_rules.c, included). Proration, covered days and due
 * dates are the run's SQL: tests/blackbox/test_billing_runs.py. */
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

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_period_parse),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
