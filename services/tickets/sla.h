/* sla: SLA policies and calendars of a property, and the deadlines of a
 * ticket. The arithmetic is sla_clock's (pure); this
 * module reads the policy and the calendar from the database and answers
 * the tickets.sla-* methods. All its SQL lives in sla.c.
 *
 * What the ticket code calls (every function takes the db and the property;
 * each runs inside the caller's transaction when one is open, and writes
 * nothing except where it says so):
 *
 *   sla_terms_t t;
 *   if (sla_terms_for_ticket (db, pid, "repair", "urgent", created_at, &t)) -> 500/503
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

/* The terms of a new ticket of (type, priority) created at created_at:
 * the property's policy, else the built-in default; deadlines counted on
 * the policy's calendar (business time) or around the clock. 0, or -1 on a
 * database error (the caller rolls back and answers 503/500). A calendar
 * that no longer parses (should not happen: it was validated when stored)
 * is logged and the clock runs around the clock. */
int sla_terms_for_ticket (db_t *db, const char *property_id, const char *type,
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
