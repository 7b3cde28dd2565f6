/* civil: the calendar and the contract's time formats, in one place.
 *
 * Days are counted from 1970-01-01 (day 0) in the proleptic Gregorian
 * calendar (H. Hinnant's days_from_civil / civil_from_days), times in
 * microseconds since the epoch, UTC.
 *
 * The formats (docs/API.md, "Time"):
 *   date       "YYYY-MM-DD", a day that exists, years 1900..9999
 *   date-time  RFC 3339 §5.6: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)";
 *              't' or ' ' for 'T' and 'z' for 'Z' as the RFC allows; 1 to 9
 *              digits of fraction (kept to the microsecond); a leap second
 *              :60 reads as :59; offsets up to 14:59 either way (the world's
 *              widest is +14:00, and PostgreSQL refuses wider ones).
 */
#ifndef PM_CIVIL_H
#define PM_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

#define CIVIL_US_PER_DAY INT64_C (86400000000)

bool civil_is_leap (int64_t year);
int civil_days_in_month (int64_t year, int month);        /* month 1..12 */

int64_t civil_days_from_date (int64_t year, int month, int day);
void civil_date_from_days (int64_t days, int64_t *year, int *month, int *day);

/* Exactly n decimal digits at s (it stops at the first that is not one, so a
 * short string is safe) as a number; -1 when they are not. */
int civil_digits (const char *s, int n);

/* s is exactly a date: true with *days set. */
bool civil_parse_date (const char *s, int64_t *days);

/* s is exactly a date-time: true with *epoch_us set. */
bool civil_parse_time (const char *s, int64_t *epoch_us);

#endif
