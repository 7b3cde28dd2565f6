/* preferences: notifications.preferences.get and .put (see preferences.h).
 * The documents are built by SQL; a PUT changes only the fields it sends
 * (the others keep their value, or the default for a party without a row). */
#include "preferences.h"

#include "delivery_log.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

#define ST_PREF_GET "nt_pref_get"
#define ST_PREF_PUT "nt_pref_put"

static const db_statement_t s_statements[] = {
    /* $1 pid, $2 party id */
    { ST_PREF_GET,
      "SELECT " NT_PREF_JSON ("p", "pr", "pr.party_id IS NULL") " FROM parties p "
      "LEFT JOIN preferences pr ON pr.party_id = p.id "
      "WHERE p.property_id = $1::uuid AND p.id = $2::uuid", true },
    /* $3 channels, $4 opt_out, $5 locale: NULL keeps what is there; $6
     * topics: merged over the stored ones (NULL: unchanged) */
    { ST_PREF_PUT,
      "WITH p AS (SELECT id, property_id FROM parties WHERE property_id = $1::uuid AND id = $2::uuid), "
      "u AS (INSERT INTO preferences AS pr (party_id, property_id, channels, opt_out, locale, topics) "
      "      SELECT p.id, p.property_id, coalesce ($3::text[], '{sms,email}'), "
      "             coalesce ($4::bool, false), coalesce ($5::text, 'zh-CN'), coalesce ($6::jsonb, '{}') FROM p "
      "      ON CONFLICT (party_id) DO UPDATE SET channels = coalesce ($3::text[], pr.channels), "
      "        opt_out = coalesce ($4::bool, pr.opt_out), locale = coalesce ($5::text, pr.locale), "
      "        topics = pr.topics || coalesce ($6::jsonb, '{}'), updated_at = now () "
      "      RETURNING pr.*) "
      "SELECT " NT_PREF_JSON ("p", "u", "false") " FROM p JOIN u ON u.party_id = p.id", true },
};

bool
nt_preferences_body (jv_t *v, const cJSON *data, nt_preferences_input_t *in, char topics[NT_PREF_TOPICS_TEXT])
{
    static const char *const names[] = { "tickets", "bills", "activities" };
    memset (in, 0, sizeof *in);
    topics[0] = '\0';
    if (!jv_object (v, data))
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive (data, "topics");
    if (t && !cJSON_IsObject (t))
        jv_problem (v, "topics", "must be an object of tickets, bills, activities: true or false");
    else if (t) {
        size_t n = 0;
        const cJSON *it;
        cJSON_ArrayForEach (it, t) {
            int k = -1;
            for (int i = 0; i < 3; i++)
                if (it->string && strcmp (it->string, names[i]) == 0)
                    k = i;
            if (k < 0) {
                jv_problem (v, "topics", "knows only tickets, bills and activities");
                break;
            }
            if (!cJSON_IsBool (it)) {
                jv_problem (v, "topics", "%s must be true or false", names[k]);
                break;
            }
            /* each key once: a JSON object with a key twice is not ours to merge */
            if (strstr (topics, names[k])) {
                jv_problem (v, "topics", "names %s twice", names[k]);
                break;
            }
            n += (size_t) snprintf (topics + n, NT_PREF_TOPICS_TEXT - n, "%s\"%s\":%s", n ? "," : "{",
                                    names[k], cJSON_IsTrue (it) ? "true" : "false");
        }
        if (jv_ok (v))
            snprintf (topics + n, NT_PREF_TOPICS_TEXT - n, "%s", n ? "}" : "{}");
    }
    bool others = cJSON_GetObjectItemCaseSensitive (data, "channels")
                  || cJSON_GetObjectItemCaseSensitive (data, "opt_out")
                  || cJSON_GetObjectItemCaseSensitive (data, "locale");
    if (others || !t)                /* (with topics alone, its "at least one" does not apply) */
        nt_preferences_input (v, data, in);
    if (!jv_ok (v))
        topics[0] = '\0';
    return jv_ok (v);
}

int
nt_preferences_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

void
nt_preferences_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid, *party = env_resource_scope (req, env_roles_desk, "party_id", "party", rep, &pid);
    if (!party)
        return;
    const char *p[] = { pid, party };
    db_reply_json (db_exec (app->db, ST_PREF_GET, 2, p), rep, req->id, 200, "no such party");
}

void
nt_preferences_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid, *party = env_resource_scope (req, env_roles_desk, "party_id", "party", rep, &pid);
    if (!party)
        return;
    jv_t v = JV_INIT;
    nt_preferences_input_t in;
    char topics[NT_PREF_TOPICS_TEXT];
    if (!nt_preferences_body (&v, req->data, &in, topics)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid preferences");
        return;
    }
    const char *p[] = { pid, party, in.has_channels ? in.channels : NULL, in.opt_out, in.locale,
                        topics[0] ? topics : NULL };
    db_reply_json (db_exec (app->db, ST_PREF_PUT, 6, p), rep, req->id, 200, "no such party");
}
