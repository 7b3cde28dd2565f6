/* announcements: notices and community events (通知公告, 社区活动) a
 * manager sends to a property's residents. One announcement reaches every
 * current occupant (party) of the units its audience selects ("all",
 * "building:<b>", "use:<use>"), each once however many units they occupy,
 * on each channel it names once: inbox (delivered at once), sms and email
 * (queued for the sender, or not_sent with the reason: opted out, no
 * address), and "preferred" (the party's first preferred channel they have
 * an address for). The announcement row and every notification row are
 * written by one set-based statement in one transaction, then the sender is
 * kicked. Content is the manager's as written (zh-CN), no template. */
#ifndef NT_ANNOUNCEMENTS_H
#define NT_ANNOUNCEMENTS_H

#include "notifications.h"

#include "input_rules.h"        /* NT_ANN_*, nt_audience_parse, nt_announcement_input */

/* a fan-out to a large property is one statement: more room than a request's */
#define NT_ANN_STATEMENT_TIMEOUT "60s"

int nt_announcements_prepare (db_t *db);

/* The prepared statement that writes an announcement and fans it out to its
 * audience (announcements.c documents its parameters); activities.c runs it
 * when an activity is announced. */
#define NT_ST_ANN_CREATE "nt_ann_create"

/* 0 when this service knows a unit of property pid (its copy of tenants),
 * else -1 after answering 404 (or the database's error). */
int nt_property_known (nt_app_t *app, const env_request_t *req, const char *pid, env_reply_t *rep);
void nt_announcements_create (void *app, const env_request_t *req, env_reply_t *rep);
void nt_announcements_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_announcements_get (void *app, const env_request_t *req, env_reply_t *rep);

#endif
