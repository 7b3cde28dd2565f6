/* tk_clock: the tickets service's idea of "now".
 *
 * Real time, plus an offset that tests set (UPDATE tickets.test_clock SET
 * offset_seconds = ...) to move SLA clocks forward without sleeping. The
 * offset is read only when the process runs with PM_TEST_CLOCK=1; in
 * production it is always zero. Every SLA computation and every timestamp
 * the service writes takes its time from here, never from SQL now(). */
#ifndef TK_CLOCK_H
#define TK_CLOCK_H

#include "db.h"
#include <stdint.h>

/* Reads PM_TEST_CLOCK; prepares the offset query when it is on. */
int tk_clock_init (db_t *db);

/* Epoch seconds now (re-reads the offset at most once per call when on). */
int64_t tk_clock_now (void);

/* The same in microseconds (the offset in whole seconds, the fraction real):
 * what the service stores as created_at, so that tickets created in the same
 * second still list in the order they came. */
int64_t tk_clock_now_us (void);

/* RFC 3339 UTC text of an epoch-seconds time into out[32] ("2026-11-27T03:14:00Z"). */
const char *tk_clock_format (int64_t t, char out[32]);

#endif
