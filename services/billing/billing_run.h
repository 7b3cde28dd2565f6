/* billing_run: the monthly bill run of a property (billing.runs.create):
 * one bill per occupied unit (and per parking lease without a unit) for a
 * period, with a line per applicable fee item, prorated by days (the
 * rule is said at the top of billing_run.c; its SQL is the rule's one
 * home), all in one set-based statement in the same transaction as the run
 * row, so a run appears whole or not at all. Running a period again answers
 * the existing run (200, bills_created 0). */
#ifndef BL_BILLING_RUN_H
#define BL_BILLING_RUN_H

#include "billing.h"

/* A bill run may take longer than an ordinary statement (100,000 units). */
#define BL_RUN_STATEMENT_TIMEOUT "60s"
#define BL_RUN_WORK_MEM          "256MB"

int bl_run_prepare (db_t *db);

void bl_runs_create (void *app, const env_request_t *req, env_reply_t *rep);
void bl_runs_list (void *app, const env_request_t *req, env_reply_t *rep);

#endif
