/* test_civil: common/civil.c, the calendar and the contract's date and
 * date-time formats: day numbers both ways over four centuries, leap years,
 * and every way a date-time can be malformed, worked out by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "civil.h"

static void
test_calendar (void **state)
{
    (void) state;
    assert_true (civil_is_leap (2000));
    assert_true (civil_is_leap (2024));
    assert_false (civil_is_leap (1900));
    assert_false (civil_is_leap (2100));
    assert_false (civil_is_leap (2026));
    assert_int_equal (civil_days_in_month (2024, 2), 29);
    assert_int_equal (civil_days_in_month (2100, 2), 28);
    assert_int_equal (civil_days_in_month (2026, 4), 30);
    assert_int_equal (civil_days_in_month (2026, 12), 31);
    assert_int_equal (civil_days_from_date (1970, 1, 1), 0);
    assert_int_equal (civil_days_from_date (1969, 12, 31), -1);
    assert_int_equal (civil_days_from_date (2000, 3, 1), 11017);   /* 30 years + 8 leap days + Jan, Feb */
    assert_int_equal (civil_days_from_date (2026, 12, 6), 20793);
    /* every day from 1900 to 2300 goes there and back */
    int64_t first = civil_days_from_date (1900, 1, 1), last = civil_days_from_date (2300, 12, 31);
    int64_t y = 1900;
    int m = 1, d = 1;
    for (int64_t day = first; day <= last; day++) {
        int64_t yy;
        int mm, dd;
        civil_date_from_days (day, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d)
            fail_msg ("day %lld is %lld-%d-%d, expected %lld-%d-%d", (long long) day, (long long) yy, mm, dd,
                      (long long) y, m, d);
        if (++d > civil_days_in_month (y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

static void
test_digits (void **state)
{
    (void) state;
    assert_int_equal (civil_digits ("2026", 4), 2026);
    assert_int_equal (civil_digits ("0007x", 4), 7);
    assert_int_equal (civil_digits ("12", 3), -1);       /* stops at the NUL */
    assert_int_equal (civil_digits ("1-2", 3), -1);
    assert_int_equal (civil_digits ("+1", 2), -1);
}

static void
test_dates (void **state)
{
    (void) state;
    int64_t day = 0;
    assert_true (civil_parse_date ("2026-12-06", &day));
    assert_int_equal (day, 20793);
    assert_true (civil_parse_date ("2024-02-29", &day));
    assert_true (civil_parse_date ("1900-01-01", &day));
    assert_true (civil_parse_date ("9999-12-31", &day));
    const char *bad[] = { "", "2026-12-6", "2026-12-06 ", "2026-12-06T00:00:00Z", "2025-02-29", "1900-02-29",
                          "2026-04-31", "2026-00-10", "2026-13-01", "2026-12-00", "1899-12-31", "2026/12/06",
                          "+026-12-06", "20261206", "2026-1-06", NULL };
    for (int i = 0; bad[i]; i++)
        if (civil_parse_date (bad[i], &day))
            fail_msg ("took %s", bad[i]);
    assert_false (civil_parse_date (NULL, &day));
}

static void
test_times (void **state)
{
    (void) state;
    const int64_t s = 1000000;
    const int64_t base = INT64_C (1764213240) * s;           /* 2025-11-27T03:14:00Z */
    const struct {
        const char *text;
        int64_t us;
    } good[] = {
        { "2025-11-27T03:14:00Z", base },
        { "2025-11-27t03:14:00z", base },
        { "2025-11-27 03:14:00Z", base },
        { "2025-11-27T11:14:00+08:00", base },
        { "2025-11-26T21:44:00-05:30", base },
        { "2025-11-27T03:14:00.5Z", base + 500000 },
        { "2025-11-27T03:14:00.123456Z", base + 123456 },
        { "2025-11-27T03:14:00.123456789Z", base + 123456 },  /* kept to the microsecond */
        { "2025-11-27T03:14:00.000001+00:00", base + 1 },
        { "2025-11-27T03:14:60Z", base + 59 * s },            /* a leap second reads as :59 */
        { "2025-11-28T17:14:00+14:00", base + 86400 * s },
        { "1970-01-01T00:00:00Z", 0 },
        { "1969-12-31T23:59:59Z", -s },
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t us = 0;
        if (!civil_parse_time (good[i].text, &us))
            fail_msg ("refused %s", good[i].text);
        if (us != good[i].us)
            fail_msg ("%s: %lld, expected %lld", good[i].text, (long long) us, (long long) good[i].us);
    }
    const char *bad[] = { "", "now", "2025-11-27", "2025-11-27T", "2025-11-27T03:14Z", "2025-11-27T3:14:00Z",
                          "2025-11-27T03:14:00", "2025-11-27T24:00:00Z", "2025-11-27T03:60:00Z",
                          "2025-11-27T03:14:61Z", "2025-02-29T03:14:00Z", "2025-11-27X03:14:00Z",
                          "2025-11-27T03:14:00.Z", "2025-11-27T03:14:00.1234567890Z", "2025-11-27T03:14:00+15:00",
                          "2025-11-27T03:14:00+08", "2025-11-27T03:14:00+0800", "2025-11-27T03:14:00+8:00",
                          "2025-11-27T03:14:00+08:60", "2025-11-27T03:14:00+08:00x", "2025-11-27T03:14:00Zx",
                          "2025-11-27T03:14:00+", "2025-11-27T03:14:00-", "2025-11-27T03:14:00+08:6",
                          "2025-11-27T03:14:00 Z", "1899-12-31T00:00:00Z", NULL };
    for (int i = 0; bad[i]; i++) {
        int64_t us = 42;
        if (civil_parse_time (bad[i], &us))
            fail_msg ("took %s", bad[i]);
    }
    int64_t us;
    assert_false (civil_parse_time (NULL, &us));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_calendar),
        cmocka_unit_test (test_digits),
        cmocka_unit_test (test_dates),
        cmocka_unit_test (test_times),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
