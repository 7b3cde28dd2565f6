/* sla: SLA policies and calendars of a property, and the deadlines of a
 * ticket. The arithmetic is sla_clock's (pure); this
 * module reads the policy and the calendar from the database and answers
 * the tickets.sla-* methods. Its SQL lives in sla.c, but for the policy's
 * columns below, which a new ticket reads beside its other references.
 *
 * What the ticket code calls (each runs inside the caller's transaction when
 * one is open, and writes nothing):
 *
 *   a new ticket's policy is read by the statement that loads what the ticket
 *   needs (ticket_store's tk_ticket_new_refs: SLA_POLICY_COLS, SLA_POLICY_JOIN
 *   below), so that it costs no round trip of its own; then
 *   sla_terms_t t;
 *   sla_terms_for_ticket (res, 0, first_policy_col, "repair", "urgent", created_at, &t);
 *   ... INSERT the ticket with t.respond_minutes, t.resolve_minutes,
 *       t.warn_minutes, t.calendar_id ("" = NULL), t.respond_by, t.resolve_by
 *
 *   on resume:
 *   sla_resume_deadlines (db, pid, calendar_id, hold_since, now,
 *                         respond_by, resolve_by, &new_respond_by, &new_resolve_by);
 *
 * Start-up (main.c): sla_prepare (db) registers sla.c's statements. The
 * SLA timer is sla_timer.h's; roster, FAQ and reports have their own
 * modules and share sla_query_object below. */
#ifndef TK_SLA_H
#define TK_SLA_H

#include "db.h"
#include "envelope.h"
#include "sla_clock.h"

#include <stdbool.h>
#include <stdint.h>

#define SLA_UUID_LEN       36

/* What a new ticket copies from its policy (or the built-in default). */
typedef struct {
    int respond_minutes;
    int resolve_minutes;
    int warn_minutes;
    char calendar_id[SLA_UUID_LEN + 1];  /* "" when the clock runs around the clock */
    int64_t respond_by;                  /* epoch seconds */
    int64_t resolve_by;
} sla_terms_t;

/* Registers sla.c's statements; 0 or -1. */
int sla_prepare (db_t *db);

/* A calendar's days as the JSON array of sla_clock.h ("as" only for
 * workdays); cal: SQL text of the calendar's id. */
#define SLA_DAYS_JSON(cal)                                                                \
    "coalesce ((SELECT json_agg (json_strip_nulls (json_build_object ("                  \
    "  'day', d.day::text, 'kind', d.kind, 'name', d.name, "                            \
    "  'as', CASE WHEN d.kind = 'workday' THEN coalesce (d.as_weekday, 'mon') END)) "    \
    "  ORDER BY d.day) FROM sla_calendar_days d WHERE d.calendar_id = " cal "), '[]')::text"

/* The policy of (type, priority) with its calendar, for a statement that
 * reads it beside other things in one round trip: SLA_POLICY_COLS
 * (SLA_POLICY_NCOLS columns, all NULL when the property has no policy for
 * the pair) from SLA_POLICY_JOIN, LEFT JOINed to a one-row FROM. pid, type,
 * priority: the statement's parameters ("$1::uuid", ...). */
#define SLA_POLICY_COLS \
    "p.respond_minutes, p.resolve_minutes, p.warn_minutes, p.calendar_id::text, " \
    "c.timezone, c.weekly::text, " SLA_DAYS_JSON ("c.id")
#define SLA_POLICY_NCOLS 7
#define SLA_POLICY_JOIN(pid, type, priority)                                              \
    "LEFT JOIN (sla_policies p LEFT JOIN sla_calendars c "                                \
    "  ON c.property_id = p.property_id AND c.id = p.calendar_id) "                      \
    "  ON p.property_id = " pid " AND p.type = " type " AND p.priority = " priority " "

/* The terms of a new ticket of (type, priority) created at created_at, from
 * the SLA_POLICY_COLS of res's row starting at column col: the property's
 * policy, else the built-in default; deadlines counted on the policy's
 * calendar (business time) or around the clock. A calendar that no longer
 * parses (should not happen: it was validated when stored) is logged and
 * the clock runs around the clock. No database. */
void sla_terms_for_ticket (const PGresult *res, int row, int col, const char *type,
                           const char *priority, int64_t created_at, sla_terms_t *out);

/* On resume after a hold from hold_since to now: the deadlines shifted so
 * that the business time left at hold_since is left again at now
 * (new_due = add (now, business_seconds (hold_since, old_due))). A deadline
 * that had already passed at hold_since stays as it was; a deadline of 0
 * (none, or already met: pass 0 for respond_by once responded) is returned
 * as 0. calendar_id NULL or "": around the clock. 0, or -1 on a database
 * error. */
int sla_resume_deadlines (db_t *db, const char *property_id, const char *calendar_id,
                          int64_t hold_since, int64_t now, int64_t respond_by, int64_t resolve_by,
                          int64_t *new_respond_by, int64_t *new_resolve_by);

/* --- shared by sla.c, roster.c, faq.c, reports.c --- */
/* The non-empty query parameters among names (NULL-terminated) as an
 * object of strings, for jv (caller deletes). */
cJSON *sla_query_object (const env_request_t *req, const char *const *names);

/* Handlers (app is the tickets service's tickets_t). */
void sla_policies_get (void *app, const env_request_t *req, env_reply_t *rep);
void sla_policies_put (void *app, const env_request_t *req, env_reply_t *rep);
void sla_calendars_create (void *app, const env_request_t *req, env_reply_t *rep);
void sla_calendars_list (void *app, const env_request_t *req, env_reply_t *rep);
void sla_calendars_get (void *app, const env_request_t *req, env_reply_t *rep);
void sla_calendars_update (void *app, const env_request_t *req, env_reply_t *rep);

#endif
