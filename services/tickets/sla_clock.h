/* sla_clock: business-time arithmetic for SLA deadlines; pure, no database.
 *
 * A calendar has a timezone, weekly opening hours and dated exceptions
 * (holidays closed all day; weekend days worked in their place, 调休, open
 * with the hours of the weekday they replace: "as" below).
 * Without a calendar the clock runs around the clock.
 *
 *   sla_calendar_t *cal = sla_calendar_from_json (policy_calendar_json, err);
 *   int64_t due = sla_add_minutes (cal, created_at, 240);            // 4 business hours
 *   int64_t left = sla_business_seconds (cal, hold_since, old_due);  // what a hold keeps
 *   int64_t new_due = sla_add_seconds (cal, resumed_at, left);
 *   sla_calendar_destroy (&cal);
 *
 * Times are Unix epoch seconds (UTC); the calendar's timezone turns them into
 * local wall-clock time, with DST handled by the tz database. */
#ifndef TK_SLA_CLOCK_H
#define TK_SLA_CLOCK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define SLA_MAX_RANGES_PER_DAY 8
#define SLA_MAX_DAYS           1024        /* dated exceptions per calendar */

typedef struct sla_calendar sla_calendar_t;

/* Parses {"timezone":"Asia/Shanghai","weekly":{"mon":[["09:00","18:00"]],...},
 *         "days":[{"day":"2026-10-01","kind":"holiday","name":"国庆"},
 *                 {"day":"2026-10-10","kind":"workday","as":"fri"},
 *                 {"from":"2027-02-10","to":"2027-02-16","kind":"holiday","name":"春节"}]}
 * A workday opens with the hours of its "as" weekday (default "mon"); a
 * {"from","to"} entry (inclusive) stands for each of its days.
 * Rejects (NULL, reason in err, naming the field): an unknown timezone, a
 * time that is not HH:MM in 00:00..24:00, a range that ends before it starts,
 * ranges of one day that overlap (a "25-hour day"), a day listed twice,
 * more than SLA_MAX_RANGES_PER_DAY ranges, a week with no open minute. */
sla_calendar_t *sla_calendar_from_json (const cJSON *json, char err[256]);
void sla_calendar_destroy (sla_calendar_t **self_p);

/* Canonical forms of a parsed calendar (what is stored and shown):
 * the timezone; {"mon":[["09:00","12:00"],...],...} with closed days left
 * out; [{"day","kind","name"?,"as"?}] one per day, sorted (ranges given as
 * {"from","to"} in the input are expanded). JSON results are the caller's. */
const char *sla_calendar_timezone (const sla_calendar_t *cal);
cJSON *sla_calendar_weekly_json (const sla_calendar_t *cal);
cJSON *sla_calendar_days_json (const sla_calendar_t *cal);

/* start + n business seconds/minutes (cal NULL: plain addition). */
int64_t sla_add_seconds (const sla_calendar_t *cal, int64_t start, int64_t seconds);
int64_t sla_add_minutes (const sla_calendar_t *cal, int64_t start, int64_t minutes);

/* Business seconds in [from, to) (0 when to <= from). */
int64_t sla_business_seconds (const sla_calendar_t *cal, int64_t from, int64_t to);

/* An RFC 3339 date-time of common/civil.h ("2026-11-27T03:14:00Z",
 * "2026-11-27T11:14:00.5+08:00"; the fraction is dropped) or, when date_ok,
 * a plain date "YYYY-MM-DD" (its 00:00 UTC) -> epoch seconds; false when s
 * is neither. */
bool sla_parse_time (const char *s, bool date_ok, int64_t *out);

/* A deadline after a hold from hold_since to now: the business time that
 * was left at hold_since is left again at now. A deadline already passed at
 * hold_since (or 0, none) stays as it was. */
int64_t sla_shift_deadline (const sla_calendar_t *cal, int64_t hold_since, int64_t now, int64_t due);

#endif
