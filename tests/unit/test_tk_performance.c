/* test_tk_performance: the pure part of the performance reports
 * (services/tickets/performance.c with PERF_RULES_ONLY): the satisfaction
 * index's months and who sees whose row of the agents report. The figures
 * themselves are SQL's: test_performance.py and test_satisfaction.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERF_RULES_ONLY
#include "../../services/tickets/performance.c"
#include "jv_testing.h"

static void
test_parse_month (void **state)
{
    (void) state;
    int y = 0, m = 0;
    assert_true (perf_parse_month ("2026-11", &y, &m));
    assert_int_equal (y, 2026);
    assert_int_equal (m, 11);
    assert_true (perf_parse_month ("1970-01", &y, &m));
    assert_true (perf_parse_month ("9999-12", &y, &m));
    const char *bad[] = { "2026-13", "2026-00", "2026-1", "26-11", "2026/11", "2026-11-01", "2026-1a",
                          "+026-11", "1969-12", "", "2026- 1", "２０２６-11" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false (perf_parse_month (bad[i], &y, &m));
    assert_false (perf_parse_month (NULL, &y, &m));
}

static void
test_months_window (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    char from[11] = "", to[11] = "";
    perf_months_window (&v, "2026-01", "2026-03", from, to);
    assert_true (jv_ok (&v));
    assert_string_equal (from, "2026-01-01");
    assert_string_equal (to, "2026-03-01");

    perf_months_window (&v, "2025-11", "2026-02", from, to);     /* across a year */
    assert_true (jv_ok (&v));
    assert_string_equal (to, "2026-02-01");

    perf_months_window (&v, "2026-05", "2026-05", from, to);     /* one month */
    assert_true (jv_ok (&v));

    perf_months_window (&v, "2026-03", "2026-02", from, to);
    assert_string_equal (jvt_problem (&v, "to"), "must not be before from");
    assert_null (jvt_problem (&v, "from"));
    jv_reset (&v);

    perf_months_window (&v, "2026-13", "2026-02", from, to);
    assert_string_equal (jvt_problem (&v, "from"), "must be a month YYYY-MM");
    assert_null (jvt_problem (&v, "to"));
    jv_reset (&v);

    perf_months_window (&v, NULL, NULL, from, to);
    assert_string_equal (jvt_problem (&v, "from"), "is required");
    assert_string_equal (jvt_problem (&v, "to"), "is required");
    jv_reset (&v);

    perf_months_window (&v, "2024-01", "2026-12", from, to);     /* exactly 36 months */
    assert_true (jv_ok (&v));
    perf_months_window (&v, "2024-01", "2027-01", from, to);     /* 37 */
    assert_non_null (jvt_problem (&v, "to"));
    jv_reset (&v);
}

static void
test_scope (void **state)
{
    (void) state;
    const char *user = "x";
    bool present = true;
    env_caller_t manager = { .user_id = "m1", .role = "manager" };
    perf_scope (&manager, NULL, &user, &present);
    assert_null (user);
    assert_false (present);
    perf_scope (&manager, "t1", &user, &present);
    assert_string_equal (user, "t1");
    assert_false (present);

    env_caller_t admin = { .user_id = "a1", .role = "admin" };
    perf_scope (&admin, "t1", &user, &present);
    assert_string_equal (user, "t1");
    assert_true (perf_sees_everyone (&admin));

    /* an agent or a technician: themselves, whatever they ask for */
    env_caller_t tech = { .user_id = "t1", .role = "technician" };
    perf_scope (&tech, NULL, &user, &present);
    assert_string_equal (user, "t1");
    assert_true (present);
    perf_scope (&tech, "m1", &user, &present);
    assert_string_equal (user, "t1");
    assert_true (present);
    env_caller_t agent = { .user_id = "g1", .role = "agent" };
    perf_scope (&agent, "t1", &user, &present);
    assert_string_equal (user, "g1");
    assert_false (perf_sees_everyone (&agent));
    env_caller_t nobody = { .user_id = "n1", .role = NULL };
    assert_false (perf_sees_everyone (&nobody));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse_month),
        cmocka_unit_test (test_months_window),
        cmocka_unit_test (test_scope),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
