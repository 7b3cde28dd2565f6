/* late_fees: the daily late fee job (滞纳金) and its waiver.
 *
 * A periodic job (job.h) checks every PM_LATE_FEE_TICK_MS (default 60000) whether
 * today's assessment (today in the property's time zone) is done for each
 * property (table late_fee_days). If not, under the property's advisory lock,
 * every periodic or charge bill of a unit still unpaid more than
 * late_fee_grace_days after its due date gets one day's fee: its overdue
 * balance x late_fee_bps_per_day / 10000, half-up to the fen, never more in
 * all than late_fee_cap_bps of the bill (bl_late_fee_day, alloc_rules.c).
 * Each fee is its own bill of kind late_fee (due the day it is assessed),
 * keyed (bill, day) in late_fee_assessments: several workers, a restart or a
 * second tick never charge a day twice. Days the service was down are caught
 * up: the job assesses every day after the property's last assessed day up
 * to today (at most BL_LATE_FEE_CATCHUP_DAYS back), oldest first, each in
 * its own transaction, each on the bill's balance when the job runs (no
 * payment can be recorded while the service is down, so it is the day's).
 * A property never assessed starts today.
 * The same pass raises bill.overdue once per bill (bill_overdue_notices) for
 * every periodic, charge or deposit bill still open after its due date (no
 * grace: the reminder 催缴 is not the fee), data = bill.issued's plus
 * "amount_due" and "days_overdue".
 * PM_TEST_CLOCK=1 (tests only) moves "today" by billing.test_clock's
 * offset_seconds, as tickets does.
 * Late fees and deposits bear no late fee. A manager waives a late fee with a
 * reason: a bill_voids row, its payments go back to credit. */
#ifndef BL_LATE_FEES_H
#define BL_LATE_FEES_H

#include "billing.h"

#include <uv.h>

#define BL_LATE_FEE_TICK_MS_DEFAULT 60000
#define BL_LATE_FEE_CATCHUP_DAYS_SQL "366"   /* days back the job assesses after downtime */

int bl_late_fees_prepare (db_t *db);

/* Starts the daily job (job.h: the first check one tick after start, every
 * PM_LATE_FEE_TICK_MS; job_destroy stops it). NULL on failure. */
job_t *bl_late_fees_new (uv_loop_t *loop, billing_t *app);

void bl_late_fees_waive (void *app, const env_request_t *req, env_reply_t *rep);

#endif
