/* visitors: the desk's visitor register (出入人员登记): register, check in,
 * check out, who is on site, a day's register (also as CSV), search; the
 * desk's settings (how long visitors' personal data is kept) and the job
 * that purges it after that. Phones and ID numbers are masked for roles
 * without full access to personal data (common/pii.h), exactly as parties.
 * Rules in desk_rules.h; all the SQL lives in visitors.c.
 *
 *   visitors_prepare (db);                       // main.c's prepare hook
 *   job_t *job = visitors_purge_new (loop, app); // main.c's start hook
 *   job_destroy (&job);                          // main.c's stop hook */
#ifndef TK_VISITORS_H
#define TK_VISITORS_H

#include "job.h"
#include "tickets.h"

#include <uv.h>

#define VISITORS_PURGE_MS_DEFAULT 3600000   /* PM_VISITOR_PURGE_MS: the retention job's period */
#define VISITORS_PURGE_BATCH      1000      /* rows per round */
#define VISITORS_EXPORT_MAX       10000     /* visitors in one day's CSV */

/* Registers visitors.c's statements; 0 or -1. */
int visitors_prepare (db_t *db);

/* The retention job, its first round one period from now; NULL when it
 * cannot start. */
job_t *visitors_purge_new (uv_loop_t *loop, tickets_t *app);

/* One purge round now: the visitors purged, or -1. Idempotent: a purged
 * visitor is never touched again. */
int visitors_purge_once (tickets_t *app);

/* Adds column col of res's row to o as the string name, or null: how the
 * desk's registers (visitors, stored_items, vehicle_passes) print a row. */
void desk_add_text (cJSON *o, const char *name, const PGresult *res, int row, int col);

/* ?name= when it is one of the NULL-terminated allowed values (borrowed
 * from req), NULL when absent; a problem in v when it is something else. */
const char *desk_query_enum (jv_t *v, const env_request_t *req, const char *name, const char *const *allowed);

/* Handlers (app is the tickets service's tickets_t). */
void visitors_create (void *app, const env_request_t *req, env_reply_t *rep);
void visitors_list (void *app, const env_request_t *req, env_reply_t *rep);
void visitors_get (void *app, const env_request_t *req, env_reply_t *rep);
void visitors_check_in (void *app, const env_request_t *req, env_reply_t *rep);
void visitors_check_out (void *app, const env_request_t *req, env_reply_t *rep);
void visitors_export (void *app, const env_request_t *req, env_reply_t *rep);
void desk_settings_get (void *app, const env_request_t *req, env_reply_t *rep);
void desk_settings_put (void *app, const env_request_t *req, env_reply_t *rep);

#endif
