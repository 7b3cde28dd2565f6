/* roster: the duty roster (值班表) of a property: who covers which post
 * when, the gaps of key posts (零脱岗: a key post is never left uncovered),
 * and whom to auto-assign a ticket to. All its SQL lives in roster.c. */
#ifndef TK_ROSTER_H
#define TK_ROSTER_H

#include "db.h"
#include "envelope.h"

#include <stdint.h>

#define ROSTER_USER_MAX   128            /* bytes of a user id */
#define ROSTER_POST_MAX   64
#define ROSTER_FALLBACK_POST "front_desk"

/* Registers roster.c's statements; 0 or -1. */
int roster_prepare (db_t *db);

/* Who is on duty at `now` for `post` (a shift with starts_at <= now <
 * ends_at). Among several, the one with the fewest open tickets assigned
 * (not resolved, closed or cancelled), then the earliest shift start.
 * Writes the user id to user_id; returns 1 found, 0 nobody, -1 database
 * error. */
int roster_on_duty (db_t *db, const char *property_id, const char *post, int64_t now,
                    char user_id[ROSTER_USER_MAX + 1]);

/* Auto-assignment of a ticket of `type`: the post named like the type
 * ("repair", "complaint", ...), else ROSTER_FALLBACK_POST. Same returns. */
int roster_pick_assignee (db_t *db, const char *property_id, const char *type, int64_t now,
                          char user_id[ROSTER_USER_MAX + 1]);

/* Handlers (app is the tickets service's tickets_t). */
void roster_shifts_create (void *app, const env_request_t *req, env_reply_t *rep);
void roster_shifts_list (void *app, const env_request_t *req, env_reply_t *rep);
void roster_shifts_delete (void *app, const env_request_t *req, env_reply_t *rep);
void roster_gaps (void *app, const env_request_t *req, env_reply_t *rep);

#endif
