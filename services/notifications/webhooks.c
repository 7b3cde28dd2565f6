/* webhooks: subscriptions, their delivery log, and the enqueue the consumers
 * call for every event (webhooks.h). Sending is sender.c's job. */
#include "webhooks.h"
#include "netguard.h"
#include "sender.h"

#include "config.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_roles[] = { "admin", "integration", NULL };

static const char *const s_statuses[] = { "pending", "delivered", "failed", "paused", NULL };

/* a webhook row as the API shows it: never the secret, only a hint */
#define S_WEBHOOK_JSON(w)                                                                          \
    "json_build_object ('id', " w ".id, 'url', " w ".url, 'events', to_json (" w ".events),"       \
    " 'property_ids', to_json (" w ".property_ids), 'description', " w ".description,"             \
    " 'enabled', " w ".enabled, 'disabled_reason', " w ".disabled_reason,"                         \
    " 'consecutive_failures', " w ".consecutive_failures,"                                         \
    " 'secret_hint', '...' || right (" w ".secret, 4),"                                            \
    " 'owner', json_build_object ('id', " w ".owner_id, 'role', " w ".owner_role,"                 \
    "   'revoked_at', " DB_UTC_TS (w ".owner_revoked_at") "),"                                     \
    " 'created_at', " DB_UTC_TS (w ".created_at") ", 'updated_at', " DB_UTC_TS (w ".updated_at") ")::text"

#define S_DELIVERY_JSON(d)                                                                          \
    "json_build_object ('id', " d ".id, 'webhook_id', " d ".webhook_id, 'event_id', " d ".event_id," \
    " 'event_type', " d ".event_type, 'property_id', " d ".property_id, 'status', " d ".status,"    \
    " 'attempts', " d ".attempts,"                                                                  \
    " 'next_attempt_at', CASE WHEN " d ".status = 'pending' THEN " DB_UTC_TS (d ".next_attempt_at") " END," \
    " 'last_status', " d ".last_status, 'last_error', " d ".last_error,"                            \
    " 'created_at', " DB_UTC_TS (d ".created_at") ", 'delivered_at', " DB_UTC_TS (d ".delivered_at") ","     \
    " 'attempt_log', COALESCE ((SELECT json_agg (json_build_object ('attempt', a.attempt,"          \
    "     'at', " DB_UTC_TS ("a.at") ", 'status_code', a.status_code, 'error', a.error,"            \
    "     'duration_ms', a.duration_ms) ORDER BY a.id)"                                             \
    "   FROM webhook_attempts a WHERE a.delivery_id = " d ".id), '[]'::json))::text"

/* $n of a JSON array of strings as text[] (no array literal quoting to get wrong) */
#define S_TEXT_ARRAY(p) "ARRAY (SELECT json_array_elements_text (" p "::json))"

/* the owner filter: $2 NULL for an admin (every webhook), else the caller's id */
#define S_OWNER(w, p) "(" p "::text IS NULL OR " w ".owner_id = " p "::text)"

static const db_statement_t s_statements[] = {
    /* $1 event id, $2 type, $3 property (may be NULL), $4 body: every subscription that wants
     * it, the disabled ones' rows paused; party.* only for an admin's webhooks */
    { "nt_wh_enqueue",
      "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, property_id, body, status)"
      " SELECT w.id, $1::uuid, $2, $3::uuid, $4, CASE WHEN w.enabled THEN 'pending' ELSE 'paused' END"
      " FROM webhooks w"
      " WHERE ($2 = ANY (w.events) OR '*' = ANY (w.events))"
      " AND (w.property_ids IS NULL OR $3::uuid = ANY (w.property_ids))"
      " AND (w.owner_role = 'admin' OR $2 NOT LIKE 'party.%')"
      " AND w.owner_revoked_at IS NULL"
      " ON CONFLICT (webhook_id, event_id) DO NOTHING",
      false },
    /* create and disable_for_key take it first, in their transaction: a key
     * revoked while a create with it was in flight has no webhook after both */
    { "nt_wh_owner_lock",
      "SELECT pg_advisory_xact_lock (hashtext ('notifications.webhooks.owner'), hashtext ($1::text))",
      false },
    /* nothing for an owner the gateway said was revoked */
    { "nt_wh_insert",
      "INSERT INTO webhooks (owner_id, owner_role, property_ids, url, events, secret, description)"
      " SELECT $1, $2, CASE WHEN $3::json IS NULL THEN NULL"
      "                 ELSE ARRAY (SELECT json_array_elements_text ($3::json)::uuid) END,"
      " $4, " S_TEXT_ARRAY ("$5") ", $6, $7"
      " WHERE NOT EXISTS (SELECT 1 FROM revoked_api_keys WHERE key_id = $1)"
      " RETURNING " S_WEBHOOK_JSON ("webhooks"),
      false },
    /* $1 key id: its webhooks disabled for good, their waiting deliveries
     * failed; (webhooks disabled now, deliveries failed) */
    { "nt_wh_disable_for_key",
      "WITH k AS (INSERT INTO revoked_api_keys (key_id) VALUES ($1) ON CONFLICT (key_id) DO NOTHING),"
      " w AS (UPDATE webhooks SET enabled = false, owner_revoked_at = now(),"
      "         disabled_reason = 'the API key that created it was revoked', updated_at = now()"
      "       WHERE owner_id = $1 AND owner_revoked_at IS NULL RETURNING id),"
      " d AS (UPDATE webhook_deliveries x SET status = 'failed', lease_until = NULL,"
      "         last_error = 'the API key that created the webhook was revoked'"
      "       FROM w WHERE x.webhook_id = w.id AND x.status IN ('pending', 'paused') RETURNING x.id)"
      " SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM d)",
      false },
    /* $1 id, $2 owner: is its creator's key revoked? (no row: no such webhook) */
    { "nt_wh_revoked",
      "SELECT w.owner_revoked_at IS NOT NULL FROM webhooks w WHERE w.id = $1::uuid AND " S_OWNER ("w", "$2"),
      true },
    /* $1 owner or NULL, $2 cursor id or NULL, $3 limit + 1 */
    { "nt_wh_list",
      "SELECT " S_WEBHOOK_JSON ("w") ", w.id FROM webhooks w WHERE " S_OWNER ("w", "$1")
      " AND ($2::uuid IS NULL OR (w.created_at, w.id) < (SELECT created_at, id FROM webhooks WHERE id = $2::uuid))"
      " ORDER BY w.created_at DESC, w.id DESC LIMIT $3::int",
      true },
    { "nt_wh_get",
      "SELECT " S_WEBHOOK_JSON ("w") " FROM webhooks w WHERE w.id = $1::uuid AND " S_OWNER ("w", "$2"),
      true },
    /* $1 id, $2 owner, $3 url, $4 events json, $5 secret, $6 enabled, $7 description:
     * NULL = unchanged. Enabling resets the failure count and resumes the paused
     * deliveries (a new retry window); disabling pauses the pending ones. */
    { "nt_wh_update",
      "WITH w AS ("
      "  UPDATE webhooks SET url = COALESCE ($3, url),"
      "   events = CASE WHEN $4::json IS NULL THEN events ELSE " S_TEXT_ARRAY ("$4") " END,"
      "   secret = COALESCE ($5, secret),"
      "   description = COALESCE ($7, description),"
      "   enabled = COALESCE ($6::boolean, enabled) AND owner_revoked_at IS NULL,"
      "   disabled_reason = CASE WHEN owner_revoked_at IS NOT NULL THEN disabled_reason"
      "                          WHEN COALESCE ($6::boolean, enabled) THEN NULL"
      "                          WHEN $6::boolean IS NOT NULL AND enabled THEN 'disabled by its owner'"
      "                          ELSE disabled_reason END,"
      "   consecutive_failures = CASE WHEN $6::boolean AND NOT enabled THEN 0 ELSE consecutive_failures END,"
      "   updated_at = now()"
      "  WHERE id = $1::uuid AND " S_OWNER ("webhooks", "$2") " RETURNING *),"
      " r AS ("
      "  UPDATE webhook_deliveries d SET status = CASE WHEN w.enabled THEN 'pending' ELSE 'paused' END,"
      "   next_attempt_at = now(), lease_until = NULL,"
      "   retry_from = CASE WHEN w.enabled THEN now() ELSE d.retry_from END"
      "  FROM w WHERE d.webhook_id = w.id"
      "   AND d.status = CASE WHEN w.enabled THEN 'paused' ELSE 'pending' END RETURNING d.id)"
      " SELECT " S_WEBHOOK_JSON ("w") ", (SELECT count(*) FROM r) FROM w",
      false },
    { "nt_wh_delete",
      "DELETE FROM webhooks w WHERE w.id = $1::uuid AND " S_OWNER ("w", "$2") " RETURNING w.id", false },
    /* $1 webhook, $2 status or NULL, $3 cursor id or NULL, $4 limit + 1 */
    { "nt_wh_deliveries",
      "SELECT " S_DELIVERY_JSON ("d") ", d.id FROM webhook_deliveries d WHERE d.webhook_id = $1::uuid"
      " AND ($2::text IS NULL OR d.status = $2::text)"
      " AND ($3::uuid IS NULL OR (d.created_at, d.id) < (SELECT created_at, id FROM webhook_deliveries"
      "                                                WHERE id = $3::uuid))"
      " ORDER BY d.created_at DESC, d.id DESC LIMIT $4::int",
      true },
    /* $1 webhook, $2 delivery, $3 owner */
    { "nt_wh_delivery_state",
      "SELECT d.status, w.enabled FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
      " WHERE d.id = $2::uuid AND d.webhook_id = $1::uuid AND " S_OWNER ("w", "$3"),
      true },
    { "nt_wh_redeliver",
      "UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), retry_from = now(),"
      " lease_until = NULL FROM webhooks w"
      " WHERE d.id = $2::uuid AND d.webhook_id = $1::uuid AND w.id = d.webhook_id AND w.enabled"
      " AND " S_OWNER ("w", "$3") " AND d.status IN ('failed', 'delivered')"
      " RETURNING " S_DELIVERY_JSON ("d"),
      false },
};

int
nt_webhooks_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* ------------------------------------------------------------------ enqueue */

static cJSON *
s_copy_or_null (const cJSON *item)
{
    return item && !cJSON_IsNull (item) ? cJSON_Duplicate (item, true) : cJSON_CreateNull ();
}

int
nt_webhooks_enqueue (db_t *db, const cJSON *event)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (event, "id");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive (event, "type");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive (event, "property_id");
    if (!cJSON_IsString (id) || !jv_is_uuid (id->valuestring) || !cJSON_IsString (type)) {
        log_warn (NULL, "webhooks: an event without id or type is not delivered");
        return 0;                    /* a malformed event must not stall the consumer */
    }
    const char *property = cJSON_IsString (pid) && jv_is_uuid (pid->valuestring) ? pid->valuestring : NULL;
    /* the body, built once: exactly these bytes are signed and sent to every subscriber */
    cJSON *doc = cJSON_CreateObject ();
    char *body = NULL;
    int rc = -1;
    if (!doc)
        return -1;
    cJSON_AddItemToObject (doc, "id", cJSON_CreateString (id->valuestring));
    cJSON_AddItemToObject (doc, "type", cJSON_CreateString (type->valuestring));
    cJSON_AddItemToObject (doc, "occurred_at", s_copy_or_null (cJSON_GetObjectItemCaseSensitive (event, "occurred_at")));
    cJSON_AddItemToObject (doc, "property_id", property ? cJSON_CreateString (property) : cJSON_CreateNull ());
    cJSON_AddItemToObject (doc, "data", s_copy_or_null (cJSON_GetObjectItemCaseSensitive (event, "data")));
    body = cJSON_PrintUnformatted (doc);
    if (!body)
        goto out;
    PGresult *res = db_exec (db, "nt_wh_enqueue", 4,
                             (const char *[]) { id->valuestring, type->valuestring, property, body });
    if (!db_ok (res))
        log_error (NULL, "webhooks: enqueue failed (%s)", db_sqlstate (res));
    else
        rc = atoi (PQcmdTuples (res));
    PQclear (res);
out:
    free (body);
    cJSON_Delete (doc);
    return rc;
}

/* ------------------------------------------------------------------ API helpers */

/* The owner filter: NULL for an admin (every webhook), else the caller's id. */
static const char *
s_owner (const env_request_t *req)
{
    if (req->caller.role && strcmp (req->caller.role, "admin") == 0)
        return NULL;
    return req->caller.user_id ? req->caller.user_id : "";
}

static bool
s_allowed (const env_request_t *req, env_reply_t *rep)
{
    if (env_role_in (req, s_roles))
        return true;
    env_reply_error (rep, 403, "forbidden", NULL, "webhooks are for admins and integration keys");
    return false;
}

static bool
s_allow_private (void)
{
    return config_int ("PM_WEBHOOK_ALLOW_PRIVATE", 0, 0, 1) == 1;
}

static bool
s_allow_http (void)
{
    return config_int ("PM_WEBHOOK_ALLOW_HTTP", 0, 0, 1) == 1;
}

/* A new secret: NT_WEBHOOK_SECRET_BYTES from libsodium's CSPRNG, as hex. */
static void
s_secret_new (char out[NT_WEBHOOK_SECRET_HEX + 1])
{
    unsigned char raw[NT_WEBHOOK_SECRET_BYTES];
    randombytes_buf (raw, sizeof raw);
    sodium_bin2hex (out, NT_WEBHOOK_SECRET_HEX + 1, raw, sizeof raw);
    sodium_memzero (raw, sizeof raw);
}

/* What the caller may ask for, and what the environment allows. */
static nt_webhook_caller_t
s_caller (const env_request_t *req)
{
    return (nt_webhook_caller_t) { .admin = s_owner (req) == NULL, .property_ids = req->caller.property_ids,
                                   .allow_private = s_allow_private (), .allow_http = s_allow_http () };
}

/* ?limit= and ?cursor=, whose key is the last row's id, into key[37];
 * false after a 422. */
static bool
s_page (const env_request_t *req, env_reply_t *rep, int *limit, char key[37])
{
    jv_t v = JV_INIT;
    if (page_params (&v, req, limit, key, 37) && *key && !jv_is_uuid (key))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    if (jv_ok (&v))
        return true;
    env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
    return false;
}

/* {id} of the path, a UUID, else a 404 */
static const char *
s_id (const env_request_t *req, env_reply_t *rep, const char *name, const char *what)
{
    const char *id = env_param (req, name);
    if (id && jv_is_uuid (id))
        return id;
    env_reply_error (rep, 404, "not_found", NULL, "no such %s", what);
    return NULL;
}

/* ------------------------------------------------------------------ handlers */

void
nt_webhooks_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    nt_webhook_input_t in = { 0 };
    char made[NT_WEBHOOK_SECRET_HEX + 1] = "";
    PGresult *res = NULL;
    if (!s_allowed (req, rep))
        return;
    jv_t v = JV_INIT;
    nt_webhook_caller_t caller = s_caller (req);
    if (!nt_webhook_create_input (&v, req->data, &caller, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid webhook");
        goto out;
    }
    const char *url = in.url, *secret = in.secret, *desc = in.description;
    const char *events = in.events, *pids = in.property_ids;
    if (!secret) {
        s_secret_new (made);
        secret = made;
    }
    const char *owner = req->caller.user_id ? req->caller.user_id : "";
    const char *p[] = { owner, req->caller.role, pids, url, events, secret, desc };
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "create webhook");
        goto out;
    }
    res = db_exec (app->db, "nt_wh_owner_lock", 1, (const char *[]) { owner });
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "create webhook");
        goto out;
    }
    PQclear (res);
    res = db_exec (app->db, "nt_wh_insert", 7, p);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        /* the gateway revoked this key after it let the request through */
        env_reply_error (rep, 401, "unauthenticated", NULL, "this API key was revoked");
        goto out;
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "create webhook");
        goto out;
    }
    db_reply_json (res, rep, req->id, 201, "webhook not created");
    res = NULL;
    if (rep->status == 201 && made[0])
        /* shown this once: afterwards only secret_hint */
        cJSON_AddStringToObject (rep->body, "secret", made);
    if (rep->status == 201)
        log_info (req->id, "webhook created by %s %s (secret %s)", req->caller.role, owner,
                  made[0] ? "made by the server" : "given by the client");
out:
    db_rollback (app->db);
    PQclear (res);
    sodium_memzero (made, sizeof made);
    nt_webhook_input_clear (&in);
}

void
nt_webhooks_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    int limit;
    char after[37];
    if (!s_allowed (req, rep) || !s_page (req, rep, &limit, after))
        return;
    const char *cursor = *after ? after : NULL;
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit + 1);
    page_reply (db_exec (app->db, "nt_wh_list", 3, (const char *[]) { s_owner (req), cursor, lim }), limit, 1,
                1, rep, req->id);
}

void
nt_webhooks_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *id;
    if (!s_allowed (req, rep) || !(id = s_id (req, rep, "id", "webhook")))
        return;
    db_reply_json (db_exec (app->db, "nt_wh_get", 2, (const char *[]) { id, s_owner (req) }), rep, req->id, 200,
                   "no such webhook");
}

void
nt_webhooks_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *id;
    nt_webhook_input_t in = { 0 };
    if (!s_allowed (req, rep) || !(id = s_id (req, rep, "id", "webhook")))
        return;
    jv_t v = JV_INIT;
    nt_webhook_caller_t caller = s_caller (req);
    if (!nt_webhook_update_input (&v, req->data, &caller, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid change");
        goto out;
    }
    const char *url = in.url, *events = in.events, *secret = in.secret, *enabled = in.enabled,
               *desc = in.description;
    if (enabled && strcmp (enabled, "true") == 0) {
        PGresult *rv = db_exec (app->db, "nt_wh_revoked", 2, (const char *[]) { id, s_owner (req) });
        bool revoked = db_ok (rv) && PQntuples (rv) == 1 && strcmp (PQgetvalue (rv, 0, 0), "t") == 0;
        PQclear (rv);
        if (revoked) {
            env_reply_error (rep, 409, "conflict", NULL,
                             "the API key that created this webhook was revoked: it cannot be enabled again");
            goto out;
        }
    }
    PGresult *res = db_exec (app->db, "nt_wh_update", 7,
                             (const char *[]) { id, s_owner (req), url, events, secret, enabled, desc });
    if (db_ok (res) && PQntuples (res) == 1 && atoi (PQgetvalue (res, 0, 1)) > 0) {
        log_info (req->id, "webhook %s: %s deliveries %s", id, PQgetvalue (res, 0, 1),
                  enabled && strcmp (enabled, "true") == 0 ? "resumed" : "paused");
        nt_sender_kick (app->sender);
    }
    db_reply_json (res, rep, req->id, 200, "no such webhook");
out:
    nt_webhook_input_clear (&in);
}

void
nt_webhooks_delete (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *id;
    if (!s_allowed (req, rep) || !(id = s_id (req, rep, "id", "webhook")))
        return;
    PGresult *res = db_exec (app->db, "nt_wh_delete", 2, (const char *[]) { id, s_owner (req) });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such webhook");
    else {
        log_info (req->id, "webhook %s deleted", id);
        env_reply_ok (rep, 204, NULL);
    }
    PQclear (res);
}

void
nt_webhooks_deliveries (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *id, *cursor;
    char after[37];
    int limit;
    if (!s_allowed (req, rep) || !(id = s_id (req, rep, "id", "webhook")))
        return;
    const char *status = env_param (req, "status");
    if (status && *status) {
        bool ok = false;
        for (int i = 0; s_statuses[i]; i++)
            ok |= strcmp (status, s_statuses[i]) == 0;
        if (!ok) {
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("status", "must be pending, delivered, failed or paused"),
                             "invalid list parameters");
            return;
        }
    }
    else
        status = NULL;
    if (!s_page (req, rep, &limit, after))
        return;
    cursor = *after ? after : NULL;
    PGresult *res = db_exec (app->db, "nt_wh_get", 2, (const char *[]) { id, s_owner (req) });
    bool visible = db_ok (res) && PQntuples (res) == 1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (!visible)
        env_reply_error (rep, 404, "not_found", NULL, "no such webhook");
    PQclear (res);
    if (!visible)
        return;
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit + 1);
    page_reply (db_exec (app->db, "nt_wh_deliveries", 4, (const char *[]) { id, status, cursor, lim }), limit,
                1, 1, rep, req->id);
}

void
nt_webhooks_redeliver (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    const char *id, *did;
    if (!s_allowed (req, rep) || !(id = s_id (req, rep, "id", "webhook"))
        || !(did = s_id (req, rep, "delivery_id", "delivery")))
        return;
    const char *p[] = { id, did, s_owner (req) };
    PGresult *res = db_exec (app->db, "nt_wh_delivery_state", 3, p);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such delivery");
        PQclear (res);
        return;
    }
    const char *status = PQgetvalue (res, 0, 0);
    bool enabled = strcmp (PQgetvalue (res, 0, 1), "t") == 0;
    if (!enabled || strcmp (status, "pending") == 0 || strcmp (status, "paused") == 0) {
        env_reply_error (rep, 409, "conflict", jv_detail ("status", status),
                         enabled ? "the delivery is already waiting to be sent"
                                 : "the webhook is disabled: enable it first (PATCH enabled=true)");
        PQclear (res);
        return;
    }
    PQclear (res);
    res = db_exec (app->db, "nt_wh_redeliver", 3, p);
    if (db_ok (res) && PQntuples (res) == 1) {
        log_info (req->id, "webhook %s: delivery %s queued again", id, did);
        nt_sender_kick (app->sender);
    }
    db_reply_json (res, rep, req->id, 202, "the delivery changed meanwhile; try again");
}

void
nt_webhooks_disable_for_key (void *app_, const env_request_t *req, env_reply_t *rep)
{
    nt_app_t *app = app_;
    PGresult *res = NULL;
    const char *role = req->caller.role, *who = req->caller.user_id;
    if (!role || strcmp (role, "service") != 0 || !who || strcmp (who, "gateway") != 0) {
        env_reply_error (rep, 403, "forbidden", NULL, "only the gateway disables a key's webhooks");
        return;
    }
    const char *key = env_param (req, "key_id");
    if (!key && cJSON_IsObject (req->data))
        key = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (req->data, "key_id"));
    if (!key || !jv_is_uuid (key)) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("key_id", "must be an API key id"),
                         "invalid request");
        return;
    }
    if (db_begin (app->db))
        goto fail;
    res = db_exec (app->db, "nt_wh_owner_lock", 1, (const char *[]) { key });
    if (!db_ok (res))
        goto fail;
    PQclear (res);
    res = db_exec (app->db, "nt_wh_disable_for_key", 1, (const char *[]) { key });
    if (!db_ok (res) || PQntuples (res) != 1 || db_commit (app->db))
        goto fail;
    long n = strtol (PQgetvalue (res, 0, 0), NULL, 10), failed = strtol (PQgetvalue (res, 0, 1), NULL, 10);
    if (n > 0)
        log_info (req->id, "API key %s revoked: %ld webhooks disabled, %ld waiting deliveries failed", key, n,
                  failed);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "disabled", (double) n);
    env_reply_ok (rep, 200, body);
    PQclear (res);
    return;
fail:
    PQclear (res);
    db_fail (app->db, req->id, rep, "disable a revoked key's webhooks");
}
