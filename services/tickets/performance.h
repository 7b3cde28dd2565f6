/* performance: per-person performance (绩效) and the satisfaction index
 * (满意指数) of a property (issue L items 4 and 6), both computed in SQL over
 * indexes (migrations/017_performance.sql).
 *
 *   GET .../reports/agents?from=&to=&user_id=   tickets.reports.agents
 *   GET .../reports/agents/{user_id}?from=&to=  tickets.reports.agents.get
 *   GET .../reports/satisfaction?from=YYYY-MM&to=YYYY-MM
 *                                               tickets.reports.satisfaction
 *
 * Who counts for what (one home: the statements of performance.c; README
 * "Performance and satisfaction" says it for people):
 * - a person is anyone of staff (admin, manager, agent, technician) with a
 *   row on the property's timeline in [from, to): who touched its tickets;
 * - tickets_created: their "create" rows; tickets_resolved: the tickets of
 *   their "resolve" rows (a ticket resolved twice by them counts once, its
 *   last resolution in the window);
 * - resolution_sla_met: of those with a resolve_by, the share resolved by it;
 * - satisfaction_average: the follow-up ratings of those tickets;
 * - reopened: those reopened after their resolution (at any later time);
 * - callbacks_done: ticket_feedback rows they recorded (called_by) in the window;
 * - first_response_minutes_median: over the tickets created in the window
 *   that they created or were assigned to (the current assignee, or named
 *   by an assign row), the median of the ticket's first response
 *   (responded_at - created_at): how long the resident waited for the
 *   desk's answer on the tickets they had a hand in. Unanswered tickets are
 *   left out; null when none.
 * - username: the name the gateway sent with the caller (env caller name)
 *   for the caller's own row, else the latest name recorded on the
 *   timeline (ticket_timeline.actor_name), else null.
 *
 * Dates of the agents report as reports.c: days in the property's timezone,
 * `to` as a date includes that whole day, or RFC 3339 times. Months of the
 * satisfaction index: YYYY-MM in the property's timezone, both included. */
#ifndef TK_PERFORMANCE_H
#define TK_PERFORMANCE_H

#include "db.h"
#include "envelope.h"
#include "jv.h"

#include <stdbool.h>
#include <stdint.h>

#define PERF_MONTHS_MAX 36           /* the satisfaction index covers at most 3 years */

/* A month YYYY-MM (year 1970..9999, month 01..12) into *year and *month. */
bool perf_parse_month (const char *s, int *year, int *month);

/* The satisfaction index's window from its query values (NULL: missing):
 * the first days of the first and the last month ("YYYY-MM-01") into
 * from_day and to_day. Problems (a bad month, to before from, more than
 * PERF_MONTHS_MAX months) go to v, naming "from" or "to". */
void perf_months_window (jv_t *v, const char *from, const char *to, char from_day[11], char to_day[11]);

/* Whose rows the agents report shows a caller: managers and admins see
 * everyone, or the one person asked for (asked, may be NULL); anyone else
 * sees only their own row (asked ignored), present even without activity
 * (and, asking for another's row by path, 404 as for what they cannot see).
 * *user: the user id to filter on, or NULL for everyone; *present: true
 * when that person's row is shown however quiet their window was. */
void perf_scope (const env_caller_t *caller, const char *asked, const char **user, bool *present);
/* True when the caller sees everyone's rows (admin, manager). */
bool perf_sees_everyone (const env_caller_t *caller);

#ifndef PERF_RULES_ONLY
/* Registers performance.c's statements; 0 or -1. */
int perf_prepare (db_t *db);

/* Handlers (app is the tickets service's tickets_t). */
void perf_reports_agents (void *app, const env_request_t *req, env_reply_t *rep);
void perf_reports_agent (void *app, const env_request_t *req, env_reply_t *rep);
void perf_reports_satisfaction (void *app, const env_request_t *req, env_reply_t *rep);
#endif

#endif
