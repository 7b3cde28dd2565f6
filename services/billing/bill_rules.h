/* bill_rules: the period of a bill run, pure (no database, no clock),
 * unit-tested in tests/unit/test_bill_rules.c. What a run bills (covered
 * days, proration, due dates) is SQL only: the run's statement
 * (billing_run.c), held to figures worked out by hand in
 * tests/blackbox/test_billing_runs.py. */
#ifndef BL_BILL_RULES_H
#define BL_BILL_RULES_H

#include <stdbool.h>
#include <stdint.h>

#define BL_RULES_YEAR_MIN 2000
#define BL_RULES_YEAR_MAX 2199

/* "YYYY-MM" (exactly 7 characters, month 01..12, year in range) into y, m. */
bool bl_period_parse (const char *s, int *y, int *m);

#endif
