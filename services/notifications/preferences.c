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
    /* $3 channels, $4 opt_out, $5 locale: NULL keeps what is there */
    { ST_PREF_PUT,
      "WITH p AS (SELECT id, property_id FROM parties WHERE property_id = $1::uuid AND id = $2::uuid), "
      "u AS (INSERT INTO preferences AS pr (party_id, property_id, channels, opt_out, locale) "
      "      SELECT p.id, p.property_id, coalesce ($3::text[], '{sms,email}'), "
      "             coalesce ($4::bool, false), coalesce ($5::text, 'zh-CN') FROM p "
      "      ON CONFLICT (party_id) DO UPDATE SET channels = coalesce ($3::text[], pr.channels), "
      "        opt_out = coalesce ($4::bool, pr.opt_out), locale = coalesce ($5::text, pr.locale), "
      "        updated_at = now () "
      "      RETURNING pr.*) "
      "SELECT " NT_PREF_JSON ("p", "u", "false") " FROM p JOIN u ON u.party_id = p.id", true },
};

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
    if (!nt_preferences_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid preferences");
        return;
    }
    const char *p[] = { pid, party, in.has_channels ? in.channels : NULL, in.opt_out, in.locale };
    db_reply_json (db_exec (app->db, ST_PREF_PUT, 5, p), rep, req->id, 200, "no such party");
}
