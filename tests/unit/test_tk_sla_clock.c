/* test_tk_sla_clock: business-time arithmetic of the tickets service
 * (services/tickets/sla_clock.c, included): around the clock, office hours
 * with a lunch break, weekends, holidays, make-up workdays (调休), starts
 * outside hours, exact boundaries, the inverse of add, time zones (with and
 * without DST), holds, invalid calendars, and speed. No database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../services/tickets/sla_clock.c"

/* Epoch seconds of a UTC "YYYY-MM-DD HH:MM". */
static int64_t
s_utc (const char *s)
{
    int y, mo, d, h, mi;
    assert_int_equal (sscanf (s, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi), 5);
    return civil_days_from_date (y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* Epoch seconds of a Shanghai wall time (UTC+8, no DST since 1991). */
static int64_t
s_cst (const char *s)
{
    return s_utc (s) - 8 * 3600;
}

static sla_calendar_t *
s_cal (const char *json)
{
    cJSON *j = cJSON_Parse (json);
    assert_non_null (j);
    char err[256];
    sla_calendar_t *cal = sla_calendar_from_json (j, err);
    if (!cal)
        fprintf (stderr, "calendar rejected: %s\n", err);
    assert_non_null (cal);
    cJSON_Delete (j);
    return cal;
}

/* The error of a calendar that must be rejected. */
static const char *
s_reject (const char *json)
{
    static char err[256];
    cJSON *j = cJSON_Parse (json);
    assert_non_null (j);
    sla_calendar_t *cal = sla_calendar_from_json (j, err);
    cJSON_Delete (j);
    if (cal)
        fprintf (stderr, "accepted: %s\n", json);
    assert_null (cal);
    assert_true (strlen (err) > 0);
    return err;
}

#define OFFICE_WEEK                                                             \
    "\"weekly\":{\"mon\":[[\"09:00\",\"12:00\"],[\"13:00\",\"18:00\"]],"        \
    "\"tue\":[[\"09:00\",\"12:00\"],[\"13:00\",\"18:00\"]],"                    \
    "\"wed\":[[\"09:00\",\"12:00\"],[\"13:00\",\"18:00\"]],"                    \
    "\"thu\":[[\"09:00\",\"12:00\"],[\"13:00\",\"18:00\"]],"                    \
    "\"fri\":[[\"13:00\",\"18:00\"],[\"09:00\",\"12:00\"]]}"

static const char *s_office = "{\"timezone\":\"Asia/Shanghai\"," OFFICE_WEEK "}";

static void
test_no_calendar_is_plain_addition (void **state)
{
    (void) state;
    int64_t t = s_utc ("2026-11-27 09:00");
    assert_int_equal (sla_add_minutes (NULL, t, 240), t + 240 * 60);
    assert_int_equal (sla_business_seconds (NULL, t, t + 100), 100);
    assert_int_equal (sla_business_seconds (NULL, t + 100, t), 0);
    assert_int_equal (sla_add_seconds (NULL, t, -5), t);
}

static void
test_around_the_clock (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{"
                                 "\"mon\":[[\"00:00\",\"24:00\"]],\"tue\":[[\"00:00\",\"24:00\"]],"
                                 "\"wed\":[[\"00:00\",\"24:00\"]],\"thu\":[[\"00:00\",\"24:00\"]],"
                                 "\"fri\":[[\"00:00\",\"24:00\"]],\"sat\":[[\"00:00\",\"24:00\"]],"
                                 "\"sun\":[[\"00:00\",\"24:00\"]]}}");
    int64_t t = s_cst ("2026-11-27 22:30");          /* Friday night, across midnight and the weekend */
    assert_int_equal (sla_add_minutes (cal, t, 240), t + 240 * 60);
    assert_int_equal (sla_add_minutes (cal, t, 3 * 1440), t + 3 * 86400);
    assert_int_equal (sla_business_seconds (cal, t, t + 86400 * 9 + 7), 86400 * 9 + 7);
    sla_calendar_destroy (&cal);
    assert_null (cal);
    sla_calendar_destroy (&cal);                      /* safe twice */
}

static void
test_office_hours_lunch_and_weekend (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal (s_office);
    /* Friday 17:00 + 2 h: one hour on Friday, one on Monday */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-27 17:00"), 120), s_cst ("2026-11-30 10:00"));
    /* before lunch + 90 min: 11:00 -> 12:00, then 13:00 -> 13:30 */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-30 11:00"), 90), s_cst ("2026-11-30 13:30"));
    /* 4 business hours = 240 min from Monday 09:00: 12:00, then 13:00 -> 14:00 */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-30 09:00"), 240), s_cst ("2026-11-30 14:00"));
    /* a full day is 8 h: 24 business hours from Wednesday 09:00 = Friday 18:00 */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-25 09:00"), 24 * 60), s_cst ("2026-11-27 18:00"));
    /* the business seconds of a whole week */
    assert_int_equal (sla_business_seconds (cal, s_cst ("2026-11-30 00:00"), s_cst ("2026-12-07 00:00")),
                      5 * 8 * 3600);
    sla_calendar_destroy (&cal);
}

static void
test_start_outside_hours (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal (s_office);
    /* Saturday at 03:00: the clock starts Monday 09:00 */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-28 03:00"), 60), s_cst ("2026-11-30 10:00"));
    /* at lunch */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-30 12:30"), 30), s_cst ("2026-11-30 13:30"));
    /* early morning */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-30 06:00"), 1), s_cst ("2026-11-30 09:01"));
    /* Friday evening */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-27 19:00"), 15), s_cst ("2026-11-30 09:15"));
    assert_int_equal (sla_business_seconds (cal, s_cst ("2026-11-28 03:00"), s_cst ("2026-11-29 23:00")), 0);
    sla_calendar_destroy (&cal);
}

static void
test_exact_boundaries (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal (s_office);
    /* a deadline that falls on closing time is closing time, not the next opening */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-27 17:00"), 60), s_cst ("2026-11-27 18:00"));
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-30 11:00"), 60), s_cst ("2026-11-30 12:00"));
    /* starting at closing time: the next second is the next opening */
    assert_int_equal (sla_add_seconds (cal, s_cst ("2026-11-30 12:00"), 1), s_cst ("2026-11-30 13:00") + 1);
    assert_int_equal (sla_add_seconds (cal, s_cst ("2026-11-30 09:00"), 0), s_cst ("2026-11-30 09:00"));
    /* starting at opening time */
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-30 09:00"), 1), s_cst ("2026-11-30 09:01"));
    assert_int_equal (sla_business_seconds (cal, s_cst ("2026-11-30 12:00"), s_cst ("2026-11-30 13:00")), 0);
    assert_int_equal (sla_business_seconds (cal, s_cst ("2026-11-30 11:59"), s_cst ("2026-11-30 13:01")), 120);
    sla_calendar_destroy (&cal);
}

static void
test_holiday_and_makeup_workday (void **state)
{
    (void) state;
    /* Monday 30 Nov a holiday; Saturday 28 Nov worked as a Friday (调休) */
    sla_calendar_t *cal = s_cal ("{\"timezone\":\"Asia/Shanghai\"," OFFICE_WEEK ",\"days\":["
                                 "{\"day\":\"2026-11-30\",\"kind\":\"holiday\",\"name\":\"假日\"}]}");
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-27 17:00"), 120), s_cst ("2026-12-01 10:00"));
    sla_calendar_destroy (&cal);

    cal = s_cal ("{\"timezone\":\"Asia/Shanghai\"," OFFICE_WEEK ",\"days\":["
                 "{\"day\":\"2026-11-30\",\"kind\":\"holiday\"},"
                 "{\"day\":\"2026-11-28\",\"kind\":\"workday\",\"as\":\"fri\",\"name\":\"调休\"}]}");
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-27 17:00"), 120), s_cst ("2026-11-28 10:00"));
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-11-28 17:00"), 120), s_cst ("2026-12-01 10:00"));
    cJSON *days = sla_calendar_days_json (cal);
    char *text = cJSON_PrintUnformatted (days);
    assert_string_equal (text, "[{\"day\":\"2026-11-28\",\"kind\":\"workday\",\"name\":\"调休\",\"as\":\"fri\"},"
                               "{\"day\":\"2026-11-30\",\"kind\":\"holiday\"}]");
    free (text);
    cJSON_Delete (days);
    sla_calendar_destroy (&cal);

    /* a holiday week given as a range (国庆 1-7 Oct 2026, Thursday to Wednesday) */
    cal = s_cal ("{\"timezone\":\"Asia/Shanghai\"," OFFICE_WEEK ",\"days\":["
                 "{\"from\":\"2026-10-01\",\"to\":\"2026-10-07\",\"kind\":\"holiday\",\"name\":\"国庆\"}]}");
    assert_int_equal (sla_add_minutes (cal, s_cst ("2026-09-30 17:00"), 120), s_cst ("2026-10-08 10:00"));
    assert_int_equal (sla_business_seconds (cal, s_cst ("2026-09-30 17:00"), s_cst ("2026-10-08 10:00")), 7200);
    sla_calendar_destroy (&cal);
}

static void
test_inverse_of_add (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal ("{\"timezone\":\"Asia/Shanghai\"," OFFICE_WEEK ",\"days\":["
                                 "{\"day\":\"2026-12-02\",\"kind\":\"holiday\"},"
                                 "{\"day\":\"2026-12-05\",\"kind\":\"workday\",\"as\":\"mon\"}]}");
    unsigned seed = 7;
    for (int i = 0; i < 3000; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t start = s_cst ("2026-11-20 00:00") + (int64_t) (seed % (30u * 86400u));
        seed = seed * 1103515245u + 12345u;
        int64_t n = 1 + (int64_t) (seed % (20u * 8u * 3600u));
        int64_t due = sla_add_seconds (cal, start, n);
        assert_true (due > start);
        assert_int_equal (sla_business_seconds (cal, start, due), n);
        /* and the other way round: adding what lies between lands at or before the end */
        int64_t end = start + (int64_t) (seed % (10u * 86400u));
        int64_t b = sla_business_seconds (cal, start, end);
        assert_true (sla_add_seconds (cal, start, b) <= end);
    }
    sla_calendar_destroy (&cal);
}

static void
test_timezones (void **state)
{
    (void) state;
    sla_calendar_t *sh = s_cal (s_office);
    sla_calendar_t *utc = s_cal ("{\"timezone\":\"UTC\"," OFFICE_WEEK "}");
    /* the same wall-clock answer, 8 hours apart */
    assert_int_equal (sla_add_minutes (utc, s_utc ("2026-11-27 17:00"), 120), s_utc ("2026-11-30 10:00"));
    assert_int_equal (sla_add_minutes (sh, s_cst ("2026-11-27 17:00"), 120), s_utc ("2026-11-30 02:00"));
    /* 10:00Z on Monday is 18:00 in Shanghai: closed there, open in UTC */
    assert_int_equal (sla_add_minutes (sh, s_utc ("2026-11-30 10:00"), 60), s_cst ("2026-12-01 10:00"));
    assert_int_equal (sla_add_minutes (utc, s_utc ("2026-11-30 10:00"), 60), s_utc ("2026-11-30 11:00"));
    sla_calendar_destroy (&sh);
    sla_calendar_destroy (&utc);

    /* DST: New York springs forward on Sunday 8 March 2026 (EST -5 -> EDT -4) */
    sla_calendar_t *ny = s_cal ("{\"timezone\":\"America/New_York\"," OFFICE_WEEK "}");
    assert_int_equal (sla_add_minutes (ny, s_utc ("2026-03-06 22:00"), 120), s_utc ("2026-03-09 14:00"));
    assert_int_equal (sla_business_seconds (ny, s_utc ("2026-03-06 00:00"), s_utc ("2026-03-10 00:00")),
                      2 * 8 * 3600);
    sla_calendar_destroy (&ny);

    /* TZ of the process is left as it was */
    setenv ("TZ", "Europe/Paris", 1);
    tzset ();
    sh = s_cal (s_office);
    (void) sla_add_minutes (sh, s_cst ("2026-11-27 17:00"), 120);
    assert_string_equal (getenv ("TZ"), "Europe/Paris");
    unsetenv ("TZ");
    tzset ();
    (void) sla_add_minutes (sh, s_cst ("2027-11-27 17:00"), 120);
    assert_null (getenv ("TZ"));
    sla_calendar_destroy (&sh);
}

static void
test_hold_shift (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal (s_office);
    /* due Monday 14:00; held Monday 10:00 (3 h left), resumed Tuesday 16:00: 2 h on Tuesday, 1 on Wednesday */
    int64_t due = s_cst ("2026-11-30 14:00");
    assert_int_equal (sla_shift_deadline (cal, s_cst ("2026-11-30 10:00"), s_cst ("2026-12-01 16:00"), due),
                      s_cst ("2026-12-02 10:00"));
    /* around the clock: shifted by the held time */
    assert_int_equal (sla_shift_deadline (NULL, 1000, 1600, 5000), 5600);
    /* already passed when held: stays */
    assert_int_equal (sla_shift_deadline (cal, due + 60, due + 3600, due), due);
    /* none */
    assert_int_equal (sla_shift_deadline (cal, 1000, 2000, 0), 0);
    sla_calendar_destroy (&cal);
}

static void
test_invalid_calendars (void **state)
{
    (void) state;
    const char *e;
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"mon\":[[\"00:00\",\"24:00\"],[\"23:00\",\"24:00\"]]}}");
    assert_non_null (strstr (e, "weekly.mon"));
    assert_non_null (strstr (e, "overlap"));
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"mon\":[[\"09:00\",\"12:00\"],[\"11:00\",\"13:00\"]]}}");
    assert_non_null (strstr (e, "overlap"));
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"mon\":[[\"09:00\",\"24:01\"]]}}");
    assert_non_null (strstr (e, "24:01"));
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"mon\":[[\"00:00\",\"25:00\"]]}}");
    assert_non_null (strstr (e, "weekly.mon[0]"));
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"mon\":[[\"9:00\",\"12:00\"]]}}");
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"tue\":[[\"18:00\",\"09:00\"]]}}");
    assert_non_null (strstr (e, "weekly.tue[0]"));
    e = s_reject ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{\"tue\":[[\"09:00\",\"09:00\"]]}}");
    e = s_reject ("{\"timezone\":\"Mars/Olympus\",\"weekly\":{\"mon\":[[\"09:00\",\"18:00\"]]}}");
    assert_non_null (strstr (e, "timezone"));
    e = s_reject ("{\"timezone\":\"../../etc/passwd\",\"weekly\":{\"mon\":[[\"09:00\",\"18:00\"]]}}");
    assert_non_null (strstr (e, "timezone"));
    e = s_reject ("{\"weekly\":{\"mon\":[[\"09:00\",\"18:00\"]]}}");
    assert_non_null (strstr (e, "timezone"));
    e = s_reject ("{\"timezone\":\"UTC\",\"weekly\":{}}");
    assert_non_null (strstr (e, "no open hours"));
    e = s_reject ("{\"timezone\":\"UTC\",\"weekly\":{\"funday\":[[\"09:00\",\"18:00\"]]}}");
    e = s_reject ("{\"timezone\":\"UTC\",\"weekly\":{\"mon\":\"09:00-18:00\"}}");
    e = s_reject ("{\"timezone\":\"UTC\"," OFFICE_WEEK ",\"days\":["
                  "{\"day\":\"2026-10-01\",\"kind\":\"holiday\"},{\"day\":\"2026-10-01\",\"kind\":\"holiday\"}]}");
    assert_non_null (strstr (e, "2026-10-01"));
    e = s_reject ("{\"timezone\":\"UTC\"," OFFICE_WEEK ",\"days\":["
                  "{\"from\":\"2026-10-01\",\"to\":\"2026-10-07\",\"kind\":\"holiday\"},"
                  "{\"from\":\"2026-10-05\",\"to\":\"2026-10-09\",\"kind\":\"holiday\"}]}");
    assert_non_null (strstr (e, "overlapping"));
    e = s_reject ("{\"timezone\":\"UTC\"," OFFICE_WEEK ",\"days\":[{\"day\":\"2026-02-30\",\"kind\":\"holiday\"}]}");
    assert_non_null (strstr (e, "days[0].day"));
    e = s_reject ("{\"timezone\":\"UTC\"," OFFICE_WEEK ",\"days\":[{\"day\":\"2026-02-03\",\"kind\":\"vacation\"}]}");
    assert_non_null (strstr (e, "days[0].kind"));
    e = s_reject ("{\"timezone\":\"UTC\"," OFFICE_WEEK ",\"days\":[{\"day\":\"2026-02-07\",\"kind\":\"workday\",\"as\":\"sun\"}]}");
    assert_non_null (strstr (e, "days[0].as"));
    e = s_reject ("{\"timezone\":\"UTC\"," OFFICE_WEEK ",\"days\":[{\"from\":\"2026-02-07\",\"to\":\"2026-02-01\",\"kind\":\"holiday\"}]}");
    e = s_reject ("{\"timezone\":\"UTC\",\"weekly\":{\"mon\":[[\"01:00\",\"02:00\"],[\"02:00\",\"03:00\"],"
                  "[\"03:00\",\"04:00\"],[\"04:00\",\"05:00\"],[\"05:00\",\"06:00\"],[\"06:00\",\"07:00\"],"
                  "[\"07:00\",\"08:00\"],[\"08:00\",\"09:00\"],[\"09:00\",\"10:00\"]]}}");
    assert_non_null (strstr (e, "at most"));
    (void) e;
    char err[256];
    assert_null (sla_calendar_from_json (NULL, err));
}

static void
test_canonical_weekly (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal ("{\"timezone\":\"Asia/Shanghai\",\"weekly\":{"
                                 "\"fri\":[[\"13:00\",\"18:00\"],[\"09:00\",\"12:00\"]],\"sat\":[]}}");
    cJSON *w = sla_calendar_weekly_json (cal);
    char *text = cJSON_PrintUnformatted (w);
    assert_string_equal (text, "{\"fri\":[[\"09:00\",\"12:00\"],[\"13:00\",\"18:00\"]]}");
    assert_string_equal (sla_calendar_timezone (cal), "Asia/Shanghai");
    free (text);
    cJSON_Delete (w);
    sla_calendar_destroy (&cal);
}

static void
test_fast_for_long_windows (void **state)
{
    (void) state;
    sla_calendar_t *cal = s_cal (s_office);
    struct timespec a, b;
    clock_gettime (CLOCK_MONOTONIC, &a);
    int64_t start = s_cst ("2026-11-27 17:00");
    int64_t due = 0;
    for (int i = 0; i < 100; i++)
        due = sla_add_minutes (cal, start + i, 525600);     /* a year of business minutes: ~4 years */
    clock_gettime (CLOCK_MONOTONIC, &b);
    double ms = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
    assert_int_equal (sla_business_seconds (cal, start + 99, due), 525600 * 60);
    assert_true (ms < 2000.0);
    /* a typical deadline: well under a millisecond each */
    clock_gettime (CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 10000; i++)
        (void) sla_add_minutes (cal, start + i * 37, 240);
    clock_gettime (CLOCK_MONOTONIC, &b);
    ms = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true (ms < 1000.0);
    sla_calendar_destroy (&cal);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_no_calendar_is_plain_addition),
        cmocka_unit_test (test_around_the_clock),
        cmocka_unit_test (test_office_hours_lunch_and_weekend),
        cmocka_unit_test (test_start_outside_hours),
        cmocka_unit_test (test_exact_boundaries),
        cmocka_unit_test (test_holiday_and_makeup_workday),
        cmocka_unit_test (test_inverse_of_add),
        cmocka_unit_test (test_timezones),
        cmocka_unit_test (test_hold_shift),
        cmocka_unit_test (test_invalid_calendars),
        cmocka_unit_test (test_canonical_weekly),
        cmocka_unit_test (test_fast_for_long_windows),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
