/* preferences: a resident's (party's) channels for what the property sends
 * them, in order of preference, their opt-out and their language
 * (notifications.preferences.get / .put). Without a row a party has the
 * defaults: sms then email, not opted out, zh-CN. A party is one that
 * notifications' copy of the archive knows in that property (tenants'
 * events), else 404. Opt-out stops bill and announcement messages on every
 * channel but the inbox (announcements.c and the rules honour it); a muted
 * topic (topics) stops that topic's SMS and e-mail, the inbox still gets it. */
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
    "  'topics', '" NT_PREF_TOPICS_ALL "'::jsonb || coalesce (" pr ".topics, '{}'), "             \
    "  'default', " dflt ", 'updated_at', " DB_UTC_TS (pr ".updated_at") ")::text"

/* Topics a resident may mute (events.h nt_event_topic): a muted topic
 * still lands in the inbox, no SMS or e-mail. Stored as the keys the party
 * set; shown over these defaults. */
#define NT_PREF_TOPICS_ALL "{\"tickets\": true, \"bills\": true, \"activities\": true}"
#define NT_PREF_TOPICS_TEXT 96       /* {"tickets":false,"bills":false,"activities":false} */

/* The body of a preferences PUT (the staff's and the resident's): in as
 * nt_preferences_input (input_rules.h), plus "topics" {"tickets"?,"bills"?,
 * "activities"?: bool} into topics as a JSON text ("" when absent); a body
 * with only topics is enough. False with problems in v. Pure. */
bool nt_preferences_body (jv_t *v, const cJSON *data, nt_preferences_input_t *in,
                          char topics[NT_PREF_TOPICS_TEXT]);

int nt_preferences_prepare (db_t *db);
void nt_preferences_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_preferences_put (void *app, const env_request_t *req, env_reply_t *rep);

#endif
