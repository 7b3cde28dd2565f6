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

#define NT_ANN_TITLE_MAX    200      /* characters (migration 001's check) */
#define NT_ANN_BODY_MAX     4000     /* characters */
#define NT_ANN_BUILDING_MAX 64       /* bytes of <b> in "building:<b>" */
/* a fan-out to a large property is one statement: more room than a request's */
#define NT_ANN_STATEMENT_TIMEOUT "60s"

/* The audience's unit filter: kind "all", "building" or "use" and its value
 * (borrowed from s; NULL for "all"). 0, or -1 with a problem in why; pure. */
typedef struct {
    const char *kind;
    const char *building;
    const char *use;
} nt_audience_t;
int nt_audience_parse (const char *s, nt_audience_t *out, const char **why);

/* Code points of a valid UTF-8 string; pure. */
size_t nt_utf8_chars (const char *s);

int nt_announcements_prepare (db_t *db);
void nt_announcements_create (void *app, const env_request_t *req, env_reply_t *rep);
void nt_announcements_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_announcements_get (void *app, const env_request_t *req, env_reply_t *rep);

#endif
