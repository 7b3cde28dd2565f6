/* bill_rules: a run's period, pure (see bill_rules.h). */
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
