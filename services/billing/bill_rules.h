/* bill_rules: the pure decisions of a bill run (no database, no clock),
 * unit-tested in tests/unit/test_bill_rules.c. The bill run's SQL
 * (billing_run.c) computes the same rule set-based; these functions say it
 * in C and validate what comes from outside.
 *
 * Proration: a line's amount is
 *     round_half_up (monthly_amount x covered_days / days_in_month)
 * computed exactly (integers, one rounding per line), where monthly_amount is
 * area_m2 x unit_price for per_area (area in hundredths of m2, so the
 * product is exact), unit_price for fixed, the lease's monthly_fee for
 * parking; covered_days counts the days of the period the occupancy (or
 * lease) covers, first and last day included. */
#ifndef BL_BILL_RULES_H
#define BL_BILL_RULES_H

#include <stdbool.h>
#include <stdint.h>

#define BL_RULES_YEAR_MIN 2000
#define BL_RULES_YEAR_MAX 2199

/* "YYYY-MM" (exactly 7 characters, month 01..12, year in range) into y, m. */
bool bl_period_parse (const char *s, int *y, int *m);

/* Days of month m (1..12) of year y, leap Februaries included. */
int bl_days_in_month (int y, int m);

/* The due day (1..31) of the period clamped to the month's last day. */
int bl_due_day (int y, int m, int due_day);

/* round_half_up (num / den) for num >= 0, den > 0. */
int64_t bl_div_half_up (int64_t num, int64_t den);

/* A line's amount: monthly amount given as monthly_x100 / 100 fen (per_area:
 * area in hundredths of m2 x unit_price; fixed and parking: 100 x price),
 * prorated by covered / days. -1 when the inputs are out of range
 * (covered outside 0..days, negative amounts, overflow). */
int64_t bl_prorate (int64_t monthly_x100, int covered, int days);

/* Days of [start, end] (day numbers, inclusive; end < 0 = open) that fall in
 * [ps, pe]; 0 when they do not meet. */
int bl_covered_days (int start, int end, int ps, int pe);

#endif
