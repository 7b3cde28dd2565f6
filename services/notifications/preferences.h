/* preferences: a resident's (party's) channels for what the property sends
 * them, in order of preference, their opt-out and their language
 * (notifications.preferences.get / .put). Without a row a party has the
 * defaults: sms then email, not opted out, zh-CN. A party is one that
 * notifications' copy of the archive knows in that property (tenants'
 * events), else 404. Opt-out stops bill and announcement messages on every
 * channel but the inbox (announcements.c and the rules honour it). */
#ifndef NT_PREFERENCES_H
#define NT_PREFERENCES_H

#include "notifications.h"

#include "input_rules.h"        /* NT_PREF_CHANNELS_MAX, nt_preferences_input */

int nt_preferences_prepare (db_t *db);
void nt_preferences_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_preferences_put (void *app, const env_request_t *req, env_reply_t *rep);

#endif
