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

/* A party p's preferences pr (dflt: whether they are the defaults) as a
 * JSON text, for a SELECT of parties p LEFT JOIN preferences pr (me.c too). */
#define NT_PREF_JSON(p, pr, dflt)                                                                    \
    "json_build_object ('party_id', " p ".id, 'property_id', " p ".property_id, "                 \
    "  'channels', coalesce (" pr ".channels, '{sms,email}'), "                                   \
    "  'opt_out', coalesce (" pr ".opt_out, false), 'locale', coalesce (" pr ".locale, 'zh-CN'), " \
    "  'default', " dflt ", 'updated_at', " DB_UTC_TS (pr ".updated_at") ")::text"

int nt_preferences_prepare (db_t *db);
void nt_preferences_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_preferences_put (void *app, const env_request_t *req, env_reply_t *rep);

#endif
