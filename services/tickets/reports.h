/* reports: the service report of a property (GET .../reports/service:
 * tickets.reports.service), computed in SQL over the tickets created in
 * [from, to): counts by type and status, SLA met, response and resolution
 * times, satisfaction, per assignee and per category. */
#ifndef TK_REPORTS_H
#define TK_REPORTS_H

#include "db.h"
#include "envelope.h"

#include <stdbool.h>

#define REPORT_WINDOW_MAX_S (367 * 86400)     /* a report covers at most a year */

/* A report's window [from, to): ?from= and ?to=, each a date YYYY-MM-DD (a
 * day in the property's time zone; `to` as a date includes that whole day)
 * or an RFC 3339 time, at most REPORT_WINDOW_MAX_S apart. A statement takes
 * it as $2/$3 (from as a date / as a time: one of them NULL), $4/$5 (to
 * likewise) and $6 (the zone, tk_copy_timezone), and reads its bounds as
 * TK_REPORT_LO and TK_REPORT_HI (timestamptz). */
#define TK_REPORT_LO "coalesce (($2::date)::timestamp AT TIME ZONE $6::text, $3::timestamptz)"
#define TK_REPORT_HI "coalesce ((($4::date) + 1)::timestamp AT TIME ZONE $6::text, $5::timestamptz)"

typedef struct {
    char from[41], to[41];              /* as the query gave them */
    bool from_date, to_date;            /* a date, else a time */
} tk_report_window_t;

/* Reads req's ?from= and ?to= into w: true, or false after answering 422
 * validation_failed (each bad part in details). */
bool tk_report_window (const env_request_t *req, tk_report_window_t *w, env_reply_t *rep);

/* The statement's $2..$5 of w, into p[0..3] (pointers into w). */
void tk_report_window_params (const tk_report_window_t *w, const char *p[4]);

/* Registers reports.c's statement; 0 or -1. */
int tk_reports_prepare (db_t *db);

/* Handler (app is the tickets service's tickets_t). */
void tk_reports_service (void *app, const env_request_t *req, env_reply_t *rep);

#endif
