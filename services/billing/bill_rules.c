/* bill_rules: periods, due dates and proration, pure (see bill_rules.h). */
#include "bill_rules.h"

#include <string.h>

bool
bl_period_parse (const char *s, int *y, int *m)
{
    if (!s || strlen (s) != 7 || s[4] != '-')
        return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return false;
    int yy = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int mm = (s[5] - '0') * 10 + (s[6] - '0');
    if (yy < BL_RULES_YEAR_MIN || yy > BL_RULES_YEAR_MAX || mm < 1 || mm > 12)
        return false;
    *y = yy;
    *m = mm;
    return true;
}

int
bl_days_in_month (int y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

int
bl_due_day (int y, int m, int due_day)
{
    int last = bl_days_in_month (y, m);
    if (due_day < 1)
        return 1;
    return due_day > last ? last : due_day;
}

int64_t
bl_div_half_up (int64_t num, int64_t den)
{
    /* floor ((2 num + den) / (2 den)): exact, .5 goes up */
    return (num / den) + ((num % den) * 2 >= den ? 1 : 0);
}

int64_t
bl_prorate (int64_t monthly_x100, int covered, int days)
{
    if (monthly_x100 < 0 || days <= 0 || covered < 0 || covered > days)
        return -1;
    /* monthly_x100 x covered must not overflow: days <= 31 */
    if (monthly_x100 > INT64_MAX / 31)
        return -1;
    return bl_div_half_up (monthly_x100 * covered, (int64_t) 100 * days);
}

int
bl_covered_days (int start, int end, int ps, int pe)
{
    int a = start > ps ? start : ps;
    int b = (end < 0 || end > pe) ? pe : end;
    return b >= a ? b - a + 1 : 0;
}
