/* reports: the service report of a property (GET .../reports/service:
 * tickets.reports.service), computed in SQL over the tickets created in
 * [from, to): counts by type and status, SLA met, response and resolution
 * times, satisfaction, per assignee and per category. */
#ifndef TK_REPORTS_H
#define TK_REPORTS_H

#include "db.h"
#include "envelope.h"

#define REPORT_WINDOW_MAX_S (367 * 86400)     /* a report covers at most a year */

/* Registers reports.c's statement; 0 or -1. */
int tk_reports_prepare (db_t *db);

/* Handler (app is the tickets service's tickets_t). */
void tk_reports_service (void *app, const env_request_t *req, env_reply_t *rep);

#endif
