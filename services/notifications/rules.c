/* rules: routing rules per property with defaults, and their API; see rules.h. */
#include "rules.h"

#include "log.h"
#include "templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const nt_rule_recipients[] = {
    "assignee", "managers", "agents", "party", "bill_to", "occupants", "escalated_to", NULL
};
const char *const nt_rule_channels[] = { "inbox", "sms", "email", "preferred", NULL };

static bool
s_rules_in (const char *const *list, const char *s)
{
    for (int i = 0; s && list[i]; i++)
        if (strcmp (list[i], s) == 0)
            return true;
    return false;
}

bool
nt_rule_recipient_is_staff (const char *recipient)
{
    static const char *const staff[] = { "assignee", "managers", "agents", "escalated_to", NULL };
    return s_rules_in (staff, recipient);
}

/* ------------------------------------------------------------------ validation */

static void
s_check_rule (jv_t *v, const cJSON *rule, int i, const cJSON *rules)
{
    char f[64];
    if (!cJSON_IsObject (rule)) {
        snprintf (f, sizeof f, "rules[%d]", i);
        jv_problem (v, f, "must be an object");
        return;
    }
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "event_type"));
    const char *who = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "recipient"));
    const cJSON *chans = cJSON_GetObjectItemCaseSensitive (rule, "channels");
    snprintf (f, sizeof f, "rules[%d].event_type", i);
    if (!nt_event_type_known (type))
        jv_problem (v, f, "must be a known event type");
    snprintf (f, sizeof f, "rules[%d].recipient", i);
    if (!s_rules_in (nt_rule_recipients, who))
        jv_problem (v, f, "must be one of assignee managers agents party bill_to occupants escalated_to");
    snprintf (f, sizeof f, "rules[%d].channels", i);
    if (!cJSON_IsArray (chans))
        jv_problem (v, f, "must be an array (empty mutes)");
    else {
        int k = 0;
        const cJSON *c;
        cJSON_ArrayForEach (c, chans) {
            const char *ch = cJSON_GetStringValue (c);
            snprintf (f, sizeof f, "rules[%d].channels[%d]", i, k);
            if (!s_rules_in (nt_rule_channels, ch))
                jv_problem (v, f, "must be one of inbox sms email preferred");
            else if (nt_rule_recipient_is_staff (who) && strcmp (ch, "inbox") != 0)
                jv_problem (v, f, "staff are told in their inbox only");
            else {
                int j = 0;
                const cJSON *d;
                cJSON_ArrayForEach (d, chans) {
                    if (j++ >= k)
                        break;
                    if (cJSON_IsString (d) && strcmp (d->valuestring, ch) == 0) {
                        jv_problem (v, f, "is named twice");
                        break;
                    }
                }
            }
            k++;
        }
    }
    /* one rule per (type, recipient) */
    if (type && who) {
        int j = 0;
        const cJSON *o;
        cJSON_ArrayForEach (o, rules) {
            if (j >= i)
                break;
            const char *ot = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (o, "event_type"));
            const char *ow = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (o, "recipient"));
            if (ot && ow && strcmp (ot, type) == 0 && strcmp (ow, who) == 0) {
                snprintf (f, sizeof f, "rules[%d]", i);
                jv_problem (v, f, "repeats rules[%d] (same event_type and recipient)", j);
                break;
            }
            j++;
        }
    }
}

cJSON *
nt_rules_check (const cJSON *data)
{
    jv_t v = JV_INIT;
    if (!jv_object (&v, data))
        return jv_take (&v);
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive (data, "rules");
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive (data, "reset");
    if (!rules && !reset)
        jv_problem (&v, "rules", "is required");
    if (rules && !cJSON_IsArray (rules))
        jv_problem (&v, "rules", "must be an array");
    else if (rules && cJSON_GetArraySize (rules) > NT_RULES_PUT_MAX)
        jv_problem (&v, "rules", "must hold at most %d rules", NT_RULES_PUT_MAX);
    else if (rules) {
        int i = 0;
        const cJSON *r;
        cJSON_ArrayForEach (r, rules)
            s_check_rule (&v, r, i++, rules);
    }
    if (reset && !cJSON_IsArray (reset))
        jv_problem (&v, "reset", "must be an array of event types");
    else if (reset) {
        int i = 0;
        const cJSON *t;
        cJSON_ArrayForEach (t, reset) {
            char f[32];
            snprintf (f, sizeof f, "reset[%d]", i++);
            if (!nt_event_type_known (cJSON_GetStringValue (t)))
                jv_problem (&v, f, "must be a known event type");
        }
    }
    return jv_take (&v);
}

/* ------------------------------------------------------------------ database */

#define ST_RULES_GET    "nt_rules_get"
#define ST_RULES_DELETE "nt_rules_delete"
#define ST_RULES_INSERT "nt_rules_insert"

static const db_statement_t s_rules_statements[] = {
    { ST_RULES_GET,
      "SELECT json_build_object('property_id', $1::uuid, 'rules', coalesce (json_agg (json_build_object ("
      "  'event_type', e.event_type, 'recipient', e.recipient, 'channels', to_json (e.channels), "
      "  'source', CASE WHEN e.own THEN 'property' ELSE 'default' END) ORDER BY e.event_type, e.recipient), "
      "  '[]'))::text "
      "FROM (" NT_RULES_EFFECTIVE_SQL ("$1::uuid") ") e", true },
    /* $2: the types named by the rules and by reset */
    { ST_RULES_DELETE,
      "DELETE FROM rules WHERE property_id = $1::uuid "
      "AND event_type IN (SELECT jsonb_array_elements_text ($2::jsonb))", false },
    { ST_RULES_INSERT,
      "INSERT INTO rules (property_id, event_type, recipient, channels) "
      "SELECT $1::uuid, r->>'event_type', r->>'recipient', "
      "       ARRAY (SELECT jsonb_array_elements_text (r->'channels'))::text[] "
      "FROM jsonb_array_elements ($2::jsonb) r", false },
};

int
nt_rules_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_rules_statements);
}

/* ------------------------------------------------------------------ API */


void
nt_rules_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    const char *params[] = { pid };
    db_reply_json (db_exec (app->db, ST_RULES_GET, 1, params), rep, req->id, 200, "no such property");
}

void
nt_rules_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    cJSON *details = nt_rules_check (req->data);
    if (details) {
        env_reply_error (rep, 422, "validation_failed", details, "invalid notification rules");
        return;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive (req->data, "rules");
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive (req->data, "reset");
    /* the types whose rows are replaced: those named by a rule or by reset */
    cJSON *types = cJSON_CreateArray ();
    const cJSON *it;
    cJSON_ArrayForEach (it, rules)
        cJSON_AddItemToArray (types, cJSON_CreateString (
            cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "event_type"))));
    cJSON_ArrayForEach (it, reset)
        cJSON_AddItemToArray (types, cJSON_CreateString (it->valuestring));
    char *types_json = cJSON_PrintUnformatted (types);
    char *rules_json = rules ? cJSON_PrintUnformatted (rules) : strdup ("[]");
    cJSON_Delete (types);
    PGresult *res = NULL;
    if (!types_json || !rules_json) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    const char *dp[] = { pid, types_json };
    res = db_exec (app->db, ST_RULES_DELETE, 2, dp);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "rules delete");
        goto out;
    }
    PQclear (res);
    const char *ip[] = { pid, rules_json };
    res = db_exec (app->db, ST_RULES_INSERT, 2, ip);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "rules insert");
        goto out;
    }
    PQclear (res);
    res = NULL;
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        goto out;
    }
    log_info (req->id, "notification rules of property %s replaced", pid);
    const char *gp[] = { pid };
    db_reply_json (db_exec (app->db, ST_RULES_GET, 1, gp), rep, req->id, 200, "no such property");
out:
    PQclear (res);
    free (types_json);
    free (rules_json);
}
