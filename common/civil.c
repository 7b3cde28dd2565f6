/* civil: see civil.h. */
#include "civil.h"

#include <string.h>

static int64_t
s_floor_div (int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool
civil_is_leap (int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
civil_days_in_month (int64_t year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return month == 2 && civil_is_leap (year) ? 29 : days[month - 1];
}

int64_t
civil_days_from_date (int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = s_floor_div (year, 400);
    int64_t yoe = year - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
civil_date_from_days (int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = s_floor_div (days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int) (doy - (153 * mp + 2) / 5 + 1);
    *month = (int) (mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

int
civil_digits (const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The date at the start of s (not necessarily its end). */
static bool
s_date (const char *s, int64_t *days)
{
    int y = civil_digits (s, 4);
    if (y < 1900 || s[4] != '-')
        return false;
    int m = civil_digits (s + 5, 2);
    if (m < 1 || m > 12 || s[7] != '-')
        return false;
    int d = civil_digits (s + 8, 2);
    if (d < 1 || d > civil_days_in_month (y, m))
        return false;
    *days = civil_days_from_date (y, m, d);
    return true;
}

bool
civil_parse_date (const char *s, int64_t *days)
{
    return s && s_date (s, days) && s[10] == 0;
}

/* "HH:MM:SS" at s, as seconds of the day (:60 as :59); -1 when it is not. */
static int
s_clock (const char *s)
{
    int h = civil_digits (s, 2);
    if (h < 0 || h > 23 || s[2] != ':')
        return -1;
    int mi = civil_digits (s + 3, 2);
    if (mi < 0 || mi > 59 || s[5] != ':')
        return -1;
    int sec = civil_digits (s + 6, 2);
    if (sec < 0 || sec > 60)
        return -1;
    return h * 3600 + mi * 60 + (sec == 60 ? 59 : sec);
}

/* ".fraction" at *p (or nothing) as microseconds, moving *p past it; -1
 * when a '.' has no digit or more than nine. */
static int
s_fraction (const char **p)
{
    if (**p != '.')
        return 0;
    const char *s = ++*p;
    int us = 0, n = 0;
    for (; *s >= '0' && *s <= '9'; s++, n++)
        if (n < 6)
            us = us * 10 + (*s - '0');
    if (n == 0 || n > 9)
        return -1;
    for (; n < 6; n++)
        us *= 10;
    *p = s;
    return us;
}

/* The zone at p, to its end, as seconds east of UTC; false when it is not one. */
static bool
s_offset (const char *p, int *east)
{
    if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
        *east = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    /* each part read only when the one before it was there: never past the end */
    int h = civil_digits (p + 1, 2);
    if (h < 0 || h > 14 || p[3] != ':')
        return false;
    int m = civil_digits (p + 4, 2);
    if (m < 0 || m > 59 || p[6] != 0)
        return false;
    *east = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
    return true;
}

bool
civil_parse_time (const char *s, int64_t *epoch_us)
{
    int64_t days;
    if (!s || strnlen (s, 20) < 20 || !s_date (s, &days) || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return false;
    int secs = s_clock (s + 11);
    const char *p = s + 19;
    int us = secs < 0 ? -1 : s_fraction (&p);
    int east;
    if (us < 0 || !s_offset (p, &east))
        return false;
    *epoch_us = (days * 86400 + secs - east) * INT64_C (1000000) + us;
    return true;
}
