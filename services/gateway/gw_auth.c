/* gw_auth: tokens, API keys, users, passwords; see gw_auth.h. */
#include "gw_auth.h"

#include "config.h"
#include "gw_audit.h"
#include "gw_listen.h"
#include "jv.h"
#include "log.h"
#include "page.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOKEN_BYTES 32
#define HASH_HEX    (2 * crypto_hash_sha256_BYTES + 3)   /* "\x" + hex + NUL */

typedef struct {
    unsigned char hash[crypto_hash_sha256_BYTES];
    bool used;
    bool found;                      /* false: a cached "no such token" */
    uint64_t until;                  /* uv_now () ms */
    gw_caller_t caller;
    cJSON *property_ids;             /* owned; caller.property_ids points here */
} s_entry_t;

struct gw_auth {
    gw_t *gw;
    db_t *db;
    s_entry_t cache[GW_AUTH_CACHE_SLOTS];
    char dummy_hash[crypto_pwhash_STRBYTES];   /* verified for unknown users: same cost */
    int jobs;                        /* password jobs on the thread pool */
    /* failed logins per username: more than max within window -> 429 for lock */
    char throttle_max[16], throttle_window_s[16], throttle_lock_s[16];
    /* ... and per client address, whatever the names */
    char addr_max[16], addr_window_s[16];
    gw_listen_t *listen;             /* LISTEN GW_AUTH_CHANNEL: evictions from every instance */
    gw_audit_t *audit;
    uv_timer_t disable_timer;        /* pending webhook disables of revoked keys */
    bool disable_timer_open;
    int disables_inflight;
};


/* Password work for the thread pool. Nothing here touches the loop, the
 * database or the cache: those happen before and after, on the loop. */
typedef enum { JOB_LOGIN, JOB_USER_CREATE, JOB_PASSWORD } s_job_kind_t;
typedef struct {
    uv_work_t work;
    s_job_kind_t kind;
    gw_auth_t *auth;
    gw_ctx_t *ctx;
    char password[4 * GW_PASSWORD_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
    int rc;                          /* of the crypto call */
    /* password change: the new one and its hash (hash holds the stored one) */
    char new_password[4 * GW_PASSWORD_MAX + 1];
    char new_hash[crypto_pwhash_STRBYTES];
    int new_rc;
    char token_param[HASH_HEX];      /* the caller's own token: not revoked */
    bool found;                      /* login: the user exists and is enabled */
    bool exists;                     /* login: the user exists (for the audit's actor) */
    char user_id[ENVELOPE_ID_MAX + 1];
    char username[GW_USERNAME_MAX + 1];
    char attempted[257];             /* login: the name as typed, for the throttle */
    char addr[GW_AUTH_ADDR_MAX];     /* the client's address key, for the throttle */
    char role[16];
    char *property_ids;              /* JSON text (owned) */
} s_job_t;

/* --- pure helpers --------------------------------------------------------- */

unsigned
gw_role_bit (const char *role)
{
    for (int i = 0; role && gw_user_roles[i]; i++)
        if (strcmp (role, gw_user_roles[i]) == 0)
            return 1u << i;
    /* not a user's role (gw_user_roles): no account is ever made with it */
    if (role && strcmp (role, "resident") == 0)
        return GW_ROLE_RESIDENT;
    return 0;
}

const char *
gw_auth_bearer (const char *authorization, size_t *len)
{
    if (!authorization || strncasecmp (authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    size_t n = 0;
    for (const char *p = t; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_'))
            return NULL;
    }
    if (n < 16 || n > 128)
        return NULL;
    *len = n;
    return t;
}

int
gw_auth_addr_key (const struct sockaddr *sa, char out[GW_AUTH_ADDR_MAX])
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        return inet_ntop (AF_INET, &in->sin_addr, out, GW_AUTH_ADDR_MAX) ? 0 : -1;
    }
    if (sa->sa_family != AF_INET6)
        return -1;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
    if (IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr))
        return inet_ntop (AF_INET, in6->sin6_addr.s6_addr + 12, out, GW_AUTH_ADDR_MAX) ? 0 : -1;
    struct in6_addr net;
    memset (&net, 0, sizeof net);
    memcpy (net.s6_addr, in6->sin6_addr.s6_addr, 8);
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop (AF_INET6, &net, text, sizeof text))
        return -1;
    snprintf (out, GW_AUTH_ADDR_MAX, "%s/64", text);
    return 0;
}

/* "\x" + hex of the SHA-256 of secret: a bytea parameter in text form. */
static void
s_hash_param (const unsigned char hash[crypto_hash_sha256_BYTES], char out[HASH_HEX])
{
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex (out + 2, HASH_HEX - 2, hash, crypto_hash_sha256_BYTES);
}

/* A new secret: 32 random bytes, base64url without padding, after prefix. */
static void
s_new_secret (const char *prefix, char *out, size_t cap)
{
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf (raw, sizeof raw);
    size_t plen = strlen (prefix);
    memcpy (out, prefix, plen);
    sodium_bin2base64 (out + plen, cap - plen, raw, sizeof raw,
                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero (raw, sizeof raw);
}

/* A JSON array of text (property ids), [] when it is not one. */
static cJSON *
s_json_array (const char *text)
{
    cJSON *a = cJSON_Parse (text);
    if (!cJSON_IsArray (a)) {
        cJSON_Delete (a);
        a = cJSON_CreateArray ();
    }
    return a;
}

/* --- the cache ------------------------------------------------------------ */

static s_entry_t *
s_slot (gw_auth_t *self, const unsigned char *hash)
{
    unsigned i = ((unsigned) hash[0] << 8 | hash[1]) & (GW_AUTH_CACHE_SLOTS - 1);
    return &self->cache[i];
}

static void
s_evict (gw_auth_t *self, const unsigned char *hash)
{
    s_entry_t *e = s_slot (self, hash);
    if (e->used && memcmp (e->hash, hash, sizeof e->hash) == 0) {
        cJSON_Delete (e->property_ids);
        memset (e, 0, sizeof *e);
    }
}

/* Every entry of one user or key (a NOTIFY's payload); a scan of the table,
 * which only a change of rights costs. */
static void
s_evict_id (gw_auth_t *self, const char *id)
{
    for (size_t i = 0; i < GW_AUTH_CACHE_SLOTS; i++) {
        s_entry_t *e = &self->cache[i];
        if (e->used && e->found && strcasecmp (e->caller.id, id) == 0) {
            cJSON_Delete (e->property_ids);
            memset (e, 0, sizeof *e);
        }
    }
}

static void
s_evict_all (gw_auth_t *self)
{
    for (size_t i = 0; i < GW_AUTH_CACHE_SLOTS; i++) {
        cJSON_Delete (self->cache[i].property_ids);
        memset (&self->cache[i], 0, sizeof self->cache[i]);
    }
}

static void
s_on_notify (void *arg, const char *payload)
{
    if (payload && *payload)
        s_evict_id (arg, payload);
}

/* Notifications may have been missed while not listening: nothing cached
 * before (or during) can be trusted after. */
static void
s_on_listen_state (void *arg, bool listening)
{
    (void) listening;
    s_evict_all (arg);
}

/* --- statements ----------------------------------------------------------- */

/* The columns of a user, as s_user_json reads them. */
#define S_USER_COLUMNS \
    "id::text, username, role, array_to_json(property_ids)::text, " DB_UTC_TS ("created_at") ", disabled"

static const db_statement_t s_auth_statements[] = {
    /* one statement for the three kinds of secret: a token of an enabled
     * user, a live key, or a resident's token (migration 004: column 6, the
     * resident's parties) */
    { "auth_lookup",
      "SELECT u.id::text, u.username, u.role, array_to_json(u.property_ids)::text, "
      "       (extract(epoch FROM t.expires_at) * 1000)::bigint, false, NULL::text "
      "  FROM tokens t JOIN users u ON u.id = t.user_id "
      " WHERE t.token_hash = $1::bytea AND t.revoked_at IS NULL AND t.expires_at > now() "
      "   AND NOT u.disabled "
      "UNION ALL "
      "SELECT k.id::text, k.name, k.role, array_to_json(k.property_ids)::text, "
      "       (extract(epoch FROM k.expires_at) * 1000)::bigint, true, NULL::text "
      "  FROM api_keys k WHERE k.key_hash = $1::bytea AND k.revoked_at IS NULL "
      "   AND k.role = 'integration' AND (k.expires_at IS NULL OR k.expires_at > now()) "
      "UNION ALL "
      "SELECT r.resident_id::text, r.name, 'resident', array_to_json(r.property_ids)::text, "
      "       (extract(epoch FROM r.expires_at) * 1000)::bigint, false, array_to_json(r.party_ids)::text "
      "  FROM resident_tokens r WHERE r.token_hash = $1::bytea AND r.revoked_at IS NULL "
      "   AND r.expires_at > now() "
      "LIMIT 1", true },
    { "auth_user_password",
      "SELECT password_hash, username FROM users WHERE id = $1::uuid AND NOT disabled", true },
    /* a new password, if the stored one is still the one verified; the
     * user's other tokens revoked with it (the triggers tell every gateway) */
    { "auth_password_set",
      "WITH u AS (UPDATE users SET password_hash = $2 "
      "            WHERE id = $1::uuid AND password_hash = $3 AND NOT disabled RETURNING id), "
      "     t AS (UPDATE tokens SET revoked_at = now() "
      "            WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL "
      "              AND token_hash <> $4::bytea) "
      "SELECT count(*) FROM u", false },
    /* PATCH /v1/users/{id}: the enabled admins, locked (so that two admins
     * disabling each other cannot both succeed), then the change and the
     * revocation of the user's other tokens when rights were taken or changed */
    { "auth_admins_lock",
      "SELECT id::text FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE", false },
    { "auth_user_update",
      "WITH old AS (SELECT id, role, disabled, property_ids FROM users WHERE id = $1::uuid FOR UPDATE), "
      "     upd AS (UPDATE users u SET disabled = coalesce($2::boolean, u.disabled), "
      "                   role = coalesce($3, u.role), "
      "                   property_ids = CASE WHEN $4::jsonb IS NULL THEN u.property_ids "
      "                     ELSE ARRAY(SELECT jsonb_array_elements_text($4::jsonb))::uuid[] END "
      "               FROM old WHERE u.id = old.id "
      "           RETURNING u.id, u.username, u.role, u.property_ids, u.created_at, u.disabled, "
      "                     (u.disabled AND NOT old.disabled) OR u.role <> old.role "
      "                     OR u.property_ids <> old.property_ids AS revoke), "
      "     rev AS (UPDATE tokens SET revoked_at = now() "
      "              WHERE user_id IN (SELECT id FROM upd WHERE revoke) AND revoked_at IS NULL "
      "                AND token_hash IS DISTINCT FROM $5::bytea) "
      "SELECT " S_USER_COLUMNS " FROM upd", false },
    /* one attempt at a password, reserved before hashing (migration 003) */
    { "auth_login_reserve",
      "SELECT login_reserve($1, $2, $3::int, $4::int, $5::int, $6::int, $7::int)", false },
    { "auth_login_succeeded", "SELECT login_succeeded($1, $2)", false },
    /* pending webhook disables of revoked keys: claimed by pushing next_at
     * (another instance skips them), deleted once notifications answered */
    { "auth_disables_claim",
      "UPDATE webhook_disables SET attempts = attempts + 1, "
      "       next_at = now() + make_interval(secs => least(60, 2 ^ least(attempts, 6))) "
      " WHERE key_id IN (SELECT key_id FROM webhook_disables WHERE next_at <= now() "
      "                   ORDER BY next_at LIMIT $1::int FOR UPDATE SKIP LOCKED) "
      "RETURNING key_id::text, attempts", false },
    { "auth_disables_done", "DELETE FROM webhook_disables WHERE key_id = $1::uuid", false },
    { "auth_user_by_name",
      "SELECT id::text, password_hash, role, array_to_json(property_ids)::text, disabled, username "
      "  FROM users WHERE lower(username) = lower($1)", true },
    { "auth_token_insert",
      "INSERT INTO tokens (token_hash, user_id, expires_at) "
      "VALUES ($1::bytea, $2::uuid, now() + make_interval(secs => $3::int)) "
      "RETURNING " DB_UTC_TS ("expires_at"), false },
    /* a staff token or a resident's (logout: whichever it is) */
    { "auth_token_revoke",
      "WITH r AS (UPDATE resident_tokens SET revoked_at = now() "
      "            WHERE token_hash = $1::bytea AND revoked_at IS NULL) "
      "UPDATE tokens SET revoked_at = now() WHERE token_hash = $1::bytea AND revoked_at IS NULL", true },
    { "auth_user_insert",
      "INSERT INTO users (username, password_hash, role, property_ids) "
      "VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))::uuid[]) "
      "RETURNING " S_USER_COLUMNS, false },
    { "auth_admin_insert",
      "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'admin') "
      "ON CONFLICT DO NOTHING", false },
    { "auth_users_list",
      "SELECT " S_USER_COLUMNS
      "  FROM users WHERE username COLLATE \"C\" > $1 ORDER BY username COLLATE \"C\" LIMIT $2::int",
      true },
    /* the staff directory of a property: its people (not API keys, not
     * integration users), the admins last as staff of every property; $3:
     * whether admins are listed (not to agents and technicians: a name they
     * could lock out with failed logins) */
    { "auth_staff_list",
      "SELECT id::text, username, role FROM users "
      " WHERE NOT disabled AND role IN ('admin', 'manager', 'agent', 'technician') "
      "   AND ((role = 'admin' AND $3::boolean) OR (role <> 'admin' AND $1::uuid = ANY (property_ids))) "
      " ORDER BY role = 'admin', role, username COLLATE \"C\" LIMIT $2::int", true },
    { "auth_key_insert",
      "INSERT INTO api_keys (name, key_hash, role, property_ids, expires_at) "
      "VALUES ($1, $2::bytea, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))::uuid[], "
      "        to_timestamp($5::bigint / 1000.0)) "
      "RETURNING id::text, name, role, array_to_json(property_ids)::text, " DB_UTC_TS ("created_at")
      ", " DB_UTC_TS ("expires_at"), false },
    { "auth_keys_list",
      "SELECT id::text, name, role, array_to_json(property_ids)::text, " DB_UTC_TS ("created_at") ", "
      DB_UTC_TS ("revoked_at") ", " DB_UTC_TS ("expires_at")
      " FROM api_keys ORDER BY created_at, id LIMIT 1000", true },
    /* revoked, and its webhooks queued to be disabled, in one statement */
    { "auth_key_revoke",
      "WITH k AS (UPDATE api_keys SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL "
      "           RETURNING id, key_hash), "
      "     d AS (INSERT INTO webhook_disables (key_id) SELECT id FROM k "
      "           ON CONFLICT (key_id) DO UPDATE SET next_at = now()) "
      "SELECT key_hash FROM k", false },
    { "auth_cleanup",
      "WITH c AS (DELETE FROM resident_codes WHERE expires_at < now()), "
      "     r AS (DELETE FROM resident_tokens WHERE expires_at < now() - interval '1 day' "
      "              OR revoked_at < now() - interval '1 day'), "
      "     s AS (DELETE FROM resident_send_throttle WHERE window_start < now() - interval '1 day') "
      "DELETE FROM tokens WHERE expires_at < now() - interval '1 day' "
      "   OR revoked_at < now() - interval '1 day'", false },
};

/* --- webhooks of revoked keys ---------------------------------------------- */

typedef struct {
    gw_auth_t *auth;
    char key_id[ENVELOPE_ID_MAX + 1];
    char id[ENVELOPE_ID_MAX + 1];
} s_disable_t;

static void
s_disable_reply (void *arg, env_reply_t *rep)
{
    s_disable_t *d = arg;
    gw_auth_t *self = d->auth;
    self->disables_inflight--;
    if (rep->status >= 200 && rep->status <= 299) {
        PGresult *res = db_exec (self->db, "auth_disables_done", 1, (const char *[]) { d->key_id });
        if (!db_ok (res))
            log_warn (d->id, "webhooks of key %s disabled, but the pending row stays: %s", d->key_id,
                      PQresultErrorMessage (res));
        else
            log_info (d->id, "webhooks of revoked key %s disabled", d->key_id);
        PQclear (res);
    }
    else
        log_warn (d->id, "disabling the webhooks of revoked key %s: %d %s (retried)", d->key_id,
                  rep->status, rep->code ? rep->code : "");
    free (d);
}

/* Claims the disables that are due and asks notifications for each; those
 * not answered 2xx stay and come due again (backoff up to a minute). */
static void
s_disables_run (gw_auth_t *self)
{
    gw_t *gw = self->gw;
    if (self->disables_inflight > 0 || !gw->client || gw->stopping)
        return;
    char lim[16];
    snprintf (lim, sizeof lim, "%d", GW_AUTH_DISABLE_BATCH);
    PGresult *res = db_exec (self->db, "auth_disables_claim", 1, (const char *[]) { lim });
    if (!db_ok (res)) {
        PQclear (res);
        return;                      /* the database is away: the next tick */
    }
    for (int i = 0; i < PQntuples (res); i++) {
        s_disable_t *d = calloc (1, sizeof *d);
        if (!d)
            break;
        d->auth = self;
        snprintf (d->key_id, sizeof d->key_id, "%s", PQgetvalue (res, i, 0));
        gw_fresh_id (d->id);
        cJSON *body = cJSON_CreateObject ();
        cJSON_AddStringToObject (cJSON_AddObjectToObject (body, "params"), "key_id", d->key_id);
        cJSON_AddNullToObject (body, "data");
        env_caller_t caller = { .user_id = "gateway", .role = "service", .property_ids = NULL };
        int64_t deadline = env_now_ms () + gw->timeout_ms;
        char *request = env_request_build (d->id, GW_AUTH_DISABLE_METHOD, &caller, deadline, body);
        if (!request || client_send (gw->client, "notifications", d->id, request, deadline,
                                     s_disable_reply, d) != 0) {
            log_warn (d->id, "disabling the webhooks of revoked key %s: not sent (retried)", d->key_id);
            free (d);
        }
        else
            self->disables_inflight++;
        free (request);
    }
    PQclear (res);
}

static void
s_on_disable_timer (uv_timer_t *t)
{
    s_disables_run (t->data);
}

/* --- life ----------------------------------------------------------------- */

gw_auth_t *
gw_auth_new (gw_t *gw)
{
    gw_auth_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->gw = gw;
    self->db = gw->db;
    snprintf (self->throttle_max, sizeof self->throttle_max, "%lld",
              (long long) config_int ("PM_LOGIN_MAX_FAILURES", GW_LOGIN_MAX_FAILURES, 1, 1000000));
    snprintf (self->throttle_window_s, sizeof self->throttle_window_s, "%lld",
              (long long) config_int ("PM_LOGIN_WINDOW_S", GW_LOGIN_WINDOW_S, 1, 86400));
    snprintf (self->throttle_lock_s, sizeof self->throttle_lock_s, "%lld",
              (long long) config_int ("PM_LOGIN_LOCK_S", GW_LOGIN_LOCK_S, 1, 86400));
    snprintf (self->addr_max, sizeof self->addr_max, "%lld",
              (long long) config_int ("PM_LOGIN_ADDR_MAX_FAILURES", GW_LOGIN_ADDR_MAX_FAILURES, 1, 1000000));
    snprintf (self->addr_window_s, sizeof self->addr_window_s, "%lld",
              (long long) config_int ("PM_LOGIN_ADDR_WINDOW_S", GW_LOGIN_ADDR_WINDOW_S, 1, 86400));
    /* a user that does not exist still costs one argon2id verification,
     * so that the answer's timing does not tell which usernames exist */
    char pw[64];
    s_new_secret ("", pw, sizeof pw);
    if (crypto_pwhash_str (self->dummy_hash, pw, strlen (pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0
        || DB_PREPARE_ALL (self->db, s_auth_statements) != 0) {
        free (self);
        return NULL;
    }
    self->audit = gw_audit_new (gw->loop, self->db);
    self->listen = gw_listen_new (gw->loop, config_db_dsn ("gateway"), GW_AUTH_CHANNEL, s_on_notify,
                                  s_on_listen_state, self);
    if (!self->audit || !self->listen) {
        gw_auth_destroy (&self);
        return NULL;
    }
    uv_timer_init (gw->loop, &self->disable_timer);
    self->disable_timer.data = self;
    self->disable_timer_open = true;
    uv_timer_start (&self->disable_timer, s_on_disable_timer, GW_AUTH_DISABLE_TICK_MS,
                    GW_AUTH_DISABLE_TICK_MS);
    uv_unref ((uv_handle_t *) &self->disable_timer);
    return self;
}

void
gw_auth_destroy (gw_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_auth_t *self = *self_p;
    *self_p = NULL;
    gw_listen_destroy (&self->listen);
    gw_audit_destroy (&self->audit);      /* writes what is buffered */
    if (self->disable_timer_open)
        uv_close ((uv_handle_t *) &self->disable_timer, NULL);
    /* the handles' close callbacks (the listener's and the audit's free
     * their memory there); self is freed below, after them */
    uv_run (self->gw->loop, UV_RUN_NOWAIT);
    for (size_t i = 0; i < GW_AUTH_CACHE_SLOTS; i++)
        cJSON_Delete (self->cache[i].property_ids);
    free (self);
}

gw_audit_t *
gw_auth_audit (gw_auth_t *self)
{
    return self ? self->audit : NULL;
}

int
gw_auth_bootstrap (gw_auth_t *self)
{
    const char *user = config_str ("PM_ADMIN_USER", "admin");
    const char *pw = config_str ("PM_ADMIN_PASSWORD", NULL);
    if (!pw)
        return 0;
    if (!gw_auth_username_valid (user)) {
        log_error (NULL, "PM_ADMIN_USER must be 3..64 of [A-Za-z0-9._-]");
        return -1;
    }
    const char *problem = jv_is_utf8 (pw, strlen (pw)) ? gw_auth_password_problem (pw, user)
                                                       : "must be UTF-8 text";
    if (problem) {
        log_error (NULL, "PM_ADMIN_PASSWORD %s (the password policy: %d to %d characters, not the "
                   "username): refusing to start", problem, GW_PASSWORD_MIN, GW_PASSWORD_MAX);
        return -1;
    }
    PGresult *res = db_exec (self->db, "auth_user_by_name", 1, (const char *[]) { user });
    if (!db_ok (res)) {
        log_error (NULL, "looking for the admin user: %s", PQresultErrorMessage (res));
        PQclear (res);
        return -1;
    }
    bool exists = PQntuples (res) > 0;
    PQclear (res);
    if (exists)
        return 0;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str (hash, pw, strlen (pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        log_error (NULL, "hashing the admin password failed (out of memory?)");
        return -1;
    }
    /* ON CONFLICT: another gateway starting at the same time made it first */
    res = db_exec (self->db, "auth_admin_insert", 2, (const char *[]) { user, hash });
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_error (NULL, "creating the admin user: %s", PQresultErrorMessage (res));
    else
        log_info (NULL, "admin user %s created", user);
    PQclear (res);
    return rc;
}

long
gw_auth_cleanup (gw_auth_t *self)
{
    PGresult *res = db_exec (self->db, "auth_cleanup", 0, NULL);
    long n = db_ok (res) ? atol (PQcmdTuples (res)) : -1;
    PQclear (res);
    gw_audit_cleanup (self->audit);
    return n;
}

/* --- authentication ------------------------------------------------------- */

static void
s_caller_from (gw_caller_t *out, const s_entry_t *e)
{
    *out = e->caller;
    out->property_ids = e->property_ids;
}

int
gw_auth_caller (gw_auth_t *self, const char *authorization, gw_caller_t *caller,
                const char *request_id)
{
    size_t len;
    const char *secret = gw_auth_bearer (authorization, &len);
    if (!secret)
        return -1;
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) secret, len);
    uint64_t now = uv_now (self->gw->loop);
    s_entry_t *e = s_slot (self, hash);
    if (e->used && e->until > now && memcmp (e->hash, hash, sizeof hash) == 0) {
        if (!e->found)
            return -1;
        s_caller_from (caller, e);
        return 0;
    }

    char param[HASH_HEX];
    s_hash_param (hash, param);
    PGresult *res = db_exec (self->db, "auth_lookup", 1, (const char *[]) { param });
    if (!db_ok (res)) {
        log_warn (request_id, "token lookup failed: %s", PQresultErrorMessage (res));
        PQclear (res);
        return GW_AUTH_UNAVAILABLE;
    }
    /* the slot is someone else's, or stale: it is ours now */
    cJSON_Delete (e->property_ids);
    memset (e, 0, sizeof *e);
    memcpy (e->hash, hash, sizeof hash);
    e->used = true;
    /* without the listener, a revocation elsewhere would go unheard: short */
    uint64_t ttl = gw_listen_listening (self->listen) ? GW_AUTH_CACHE_TTL_MS
                                                      : GW_AUTH_CACHE_TTL_UNLISTENED_MS;
    e->until = now + ttl;
    if (PQntuples (res) == 0) {
        /* remembered too: a client retrying a dead token does not reach the database */
        PQclear (res);
        return -1;
    }
    e->found = true;
    e->property_ids = s_json_array (PQgetvalue (res, 0, 3));
    snprintf (e->caller.id, sizeof e->caller.id, "%s", PQgetvalue (res, 0, 0));
    snprintf (e->caller.name, sizeof e->caller.name, "%s", PQgetvalue (res, 0, 1));
    snprintf (e->caller.role, sizeof e->caller.role, "%s", PQgetvalue (res, 0, 2));
    e->caller.api_key = PQgetvalue (res, 0, 5)[0] == 't';
    if (!PQgetisnull (res, 0, 6)) {
        const char *parties = PQgetvalue (res, 0, 6);
        /* the table holds at most GW_RESIDENT_PARTIES_MAX: it fits; a text
         * that would not is no caller at all */
        if (strlen (parties) >= sizeof e->caller.party_ids) {
            cJSON_Delete (e->property_ids);
            memset (e, 0, sizeof *e);
            PQclear (res);
            return -1;
        }
        snprintf (e->caller.party_ids, sizeof e->caller.party_ids, "%s", parties);
    }
    if (!PQgetisnull (res, 0, 4)) {
        /* never cache a token (or a key) past its expiry */
        int64_t left = atoll (PQgetvalue (res, 0, 4)) - env_now_ms ();
        if (left < (int64_t) ttl)
            e->until = now + (uint64_t) (left > 0 ? left : 0);
    }
    PQclear (res);
    s_caller_from (caller, e);
    return 0;
}

/* --- shared pieces of the handlers ------------------------------------------ */

static void s_job_after (uv_work_t *w, int status);

static void
s_job_work (uv_work_t *w)
{
    s_job_t *job = w->data;
    size_t len = strlen (job->password);
    if (job->kind == JOB_LOGIN || job->kind == JOB_PASSWORD)
        job->rc = crypto_pwhash_str_verify (job->hash, job->password, len);
    else
        job->rc = crypto_pwhash_str (job->hash, job->password, len,
                                     crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE);
    if (job->kind == JOB_PASSWORD && job->rc == 0)
        job->new_rc = crypto_pwhash_str (job->new_hash, job->new_password, strlen (job->new_password),
                                         crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                         crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

/* The path's param, a UUID; NULL after answering 404 "no such <what>". */
static const char *
s_path_uuid (gw_ctx_t *ctx, const char *param, const char *what)
{
    const char *id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ctx->params, param));
    if (id && jv_is_uuid (id))
        return id;
    gw_finish_error (ctx, 404, "not_found", NULL, "no such %s", what);
    return NULL;
}

/* name: column col of res's row, a time or null. */
static void
s_add_time (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    if (PQgetisnull (res, row, col))
        cJSON_AddNullToObject (obj, name);
    else
        cJSON_AddStringToObject (obj, name, PQgetvalue (res, row, col));
}

static void
s_job_free (s_job_t *job)
{
    sodium_memzero (job->password, sizeof job->password);
    sodium_memzero (job->new_password, sizeof job->new_password);
    sodium_memzero (job->hash, sizeof job->hash);
    sodium_memzero (job->new_hash, sizeof job->new_hash);
    free (job->property_ids);
    free (job);
}

/* Whether the thread pool has room for another password job; false after
 * answering 503. */
static bool
s_pool_room (gw_auth_t *auth, gw_ctx_t *ctx)
{
    if (auth->jobs < GW_AUTH_MAX_JOBS)
        return true;
    gw_finish_error (ctx, 503, "service_unavailable", NULL, "too busy with passwords; retry shortly");
    return false;
}

/* A password job of kind for ctx, password copied in; NULL after answering. */
static s_job_t *
s_job_new (gw_ctx_t *ctx, s_job_kind_t kind, const char *password)
{
    s_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        return NULL;
    }
    job->kind = kind;
    snprintf (job->password, sizeof job->password, "%s", password);
    return job;
}

/* Hands job (consumed) to the thread pool: s_job_after answers when it is
 * done; if it cannot be queued, the answer is 503 now. */
static void
s_job_start (gw_t *gw, gw_ctx_t *ctx, s_job_t *job)
{
    job->work.data = job;
    job->auth = gw->auth;
    job->ctx = ctx;
    if (uv_queue_work (gw->loop, &job->work, s_job_work, s_job_after) != 0) {
        s_job_free (job);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "cannot check the password now");
        return;
    }
    gw->auth->jobs++;
}

/* Runs a statement of the gateway's database for ctx: its result, or NULL
 * after answering the failure (gw_finish_db_error; what names it in the log). */
static PGresult *
s_exec (gw_t *gw, gw_ctx_t *ctx, const char *what, const char *stmt, int n, const char *const *params)
{
    PGresult *res = db_exec (gw->db, stmt, n, params);
    if (db_ok (res))
        return res;
    gw_finish_db_error (ctx, res, what);
    PQclear (res);
    return NULL;
}

/* --- POST /v1/auth/login ----------------------------------------------------- */

/* The key the client's address is counted under (gw_auth_addr_key). */
static void
s_client_addr (gw_ctx_t *ctx, char out[GW_AUTH_ADDR_MAX])
{
    struct sockaddr_storage ss;
    if (http_req_peer (ctx->req, &ss) != 0 || gw_auth_addr_key ((struct sockaddr *) &ss, out) != 0)
        snprintf (out, GW_AUTH_ADDR_MAX, "unknown");
}

/* Admits one attempt at the password of name from the client's address
 * (filled in addr): room on the thread pool, then the attempt reserved
 * before any hashing, so that attempts queued together are counted one by
 * one. 0 to go on, or -1 after answering (503 too busy, 429 with
 * Retry-After, or the database's error). */
static int
s_admit_attempt (gw_t *gw, gw_ctx_t *ctx, const char *name, char addr[GW_AUTH_ADDR_MAX])
{
    if (!s_pool_room (gw->auth, ctx))
        return -1;
    s_client_addr (ctx, addr);
    return gw_auth_reserve_attempt (gw, ctx, name, addr);
}

void
gw_auth_client_addr (gw_ctx_t *ctx, char out[GW_AUTH_ADDR_MAX])
{
    s_client_addr (ctx, out);
}

int
gw_auth_reserve_attempt (gw_t *gw, gw_ctx_t *ctx, const char *name, const char *addr)
{
    gw_auth_t *auth = gw->auth;
    PGresult *res = db_exec (gw->db, "auth_login_reserve", 7,
                             (const char *[]) { name, addr, auth->throttle_max, auth->throttle_window_s,
                                                auth->throttle_lock_s, auth->addr_max,
                                                auth->addr_window_s });
    if (!db_ok (res) || PQntuples (res) != 1) {
        gw_finish_db_error (ctx, res, "login throttle");
        PQclear (res);
        return -1;
    }
    int wait = atoi (PQgetvalue (res, 0, 0));
    PQclear (res);
    if (wait <= 0)
        return 0;
    char extra[48];
    snprintf (extra, sizeof extra, "Retry-After: %d\r\n", wait);
    log_info (ctx->req->request_id, "password attempt refused: too many failures");
    gw_finish (ctx, 429, env_error_body ("rate_limited", "too many failed logins; retry later",
                                         NULL, ctx->req->request_id), extra);
    return -1;
}

static void
s_succeeded (gw_t *gw, const s_job_t *job)
{
    gw_auth_attempt_succeeded (gw, job->attempted, job->addr);
}

void
gw_auth_attempt_succeeded (gw_t *gw, const char *name, const char *addr)
{
    PQclear (db_exec (gw->db, "auth_login_succeeded", 2, (const char *[]) { name, addr }));
}

void
gw_auth_new_token (char token[GW_AUTH_TOKEN_MAX], char param[GW_AUTH_HASH_PARAM_MAX])
{
    s_new_secret ("", token, GW_AUTH_TOKEN_MAX);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) token, strlen (token));
    s_hash_param (hash, param);
}

/* The user a login names into its job: the stored hash to verify, or the
 * dummy one when there is no such user or it is disabled (the same 401, in
 * the same time). res: auth_user_by_name's. */
static void
s_login_user (s_job_t *job, const PGresult *res, const char *dummy_hash)
{
    if (PQntuples (res) == 1) {
        job->exists = true;
        job->found = PQgetvalue (res, 0, 4)[0] != 't';
        snprintf (job->user_id, sizeof job->user_id, "%s", PQgetvalue (res, 0, 0));
        snprintf (job->role, sizeof job->role, "%s", PQgetvalue (res, 0, 2));
        snprintf (job->username, sizeof job->username, "%s", PQgetvalue (res, 0, 5));
    }
    if (job->found) {
        snprintf (job->hash, sizeof job->hash, "%s", PQgetvalue (res, 0, 1));
        job->property_ids = strdup (PQgetvalue (res, 0, 3));
    }
    else
        memcpy (job->hash, dummy_hash, sizeof job->hash);
}

void
gw_auth_login (gw_t *gw, gw_ctx_t *ctx)
{
    jv_t v = JV_INIT;
    gw_login_input_t in;
    if (!gw_login_input (&v, ctx->data, &in)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "username and password are required");
        return;
    }
    char addr[GW_AUTH_ADDR_MAX];
    /* a locked name or address costs no password hashing */
    if (s_admit_attempt (gw, ctx, in.username, addr) != 0)
        return;
    PGresult *res = s_exec (gw, ctx, "login lookup", "auth_user_by_name", 1, (const char *[]) { in.username });
    s_job_t *job = res ? s_job_new (ctx, JOB_LOGIN, in.password) : NULL;
    if (job) {
        snprintf (job->attempted, sizeof job->attempted, "%s", in.username);
        snprintf (job->addr, sizeof job->addr, "%s", addr);
        s_login_user (job, res, gw->auth->dummy_hash);
        s_job_start (gw, ctx, job);
    }
    PQclear (res);
}

static void
s_login_done (gw_t *gw, gw_ctx_t *ctx, s_job_t *job)
{
    /* the audit's actor: the user named, when there is one (never the name
     * as typed: it may be a password typed in the wrong field) */
    if (job->exists) {
        snprintf (ctx->caller.id, sizeof ctx->caller.id, "%s", job->user_id);
        snprintf (ctx->caller.role, sizeof ctx->caller.role, "%s", job->role);
    }
    if (!job->found || job->rc != 0) {
        /* one message for "no such user", "disabled" and "wrong password";
         * the attempt was counted when it was reserved */
        log_info (ctx->req->request_id, "login refused");
        gw_finish_error (ctx, 401, "unauthenticated", NULL, "wrong username or password");
        return;
    }
    s_succeeded (gw, job);
    if (http_req_gone (ctx->req)) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "client gone");
        return;
    }
    char token[8 + 64];
    s_new_secret ("", token, sizeof token);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) token, strlen (token));
    char param[HASH_HEX], ttl[24];
    s_hash_param (hash, param);
    snprintf (ttl, sizeof ttl, "%lld", (long long) gw->token_ttl_s);
    PGresult *res = db_exec (gw->db, "auth_token_insert", 3,
                             (const char *[]) { param, job->user_id, ttl });
    if (!db_ok (res) || PQntuples (res) != 1) {
        gw_finish_db_error (ctx, res, "token insert");
        PQclear (res);
        sodium_memzero (token, sizeof token);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "token", token);
    cJSON_AddStringToObject (out, "expires_at", PQgetvalue (res, 0, 0));
    cJSON *user = cJSON_AddObjectToObject (out, "user");
    cJSON_AddStringToObject (user, "id", job->user_id);
    cJSON_AddStringToObject (user, "username", job->username);
    cJSON_AddStringToObject (user, "role", job->role);
    cJSON_AddItemToObject (user, "property_ids", s_json_array (job->property_ids));
    PQclear (res);
    sodium_memzero (token, sizeof token);
    log_info (ctx->req->request_id, "login: user %s", job->user_id);
    gw_finish_json (ctx, 200, out);
}

/* --- POST /v1/users ------------------------------------------------------------ */

void
gw_users_create (gw_t *gw, gw_ctx_t *ctx)
{
    jv_t v = JV_INIT;
    gw_user_create_input_t in;
    if (!gw_user_create_input (&v, ctx->data, &in)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "the user is not valid");
        return;
    }
    s_job_t *job = s_pool_room (gw->auth, ctx) ? s_job_new (ctx, JOB_USER_CREATE, in.password) : NULL;
    if (!job) {
        free (in.property_ids);
        return;
    }
    snprintf (job->username, sizeof job->username, "%s", in.username);
    snprintf (job->role, sizeof job->role, "%s", in.role);
    job->property_ids = in.property_ids;
    s_job_start (gw, ctx, job);
}

static cJSON *
s_user_json (const PGresult *res, int row)
{
    cJSON *u = cJSON_CreateObject ();
    cJSON_AddStringToObject (u, "id", PQgetvalue (res, row, 0));
    cJSON_AddStringToObject (u, "username", PQgetvalue (res, row, 1));
    cJSON_AddStringToObject (u, "role", PQgetvalue (res, row, 2));
    cJSON_AddItemToObject (u, "property_ids", s_json_array (PQgetvalue (res, row, 3)));
    cJSON_AddStringToObject (u, "created_at", PQgetvalue (res, row, 4));
    cJSON_AddBoolToObject (u, "disabled", PQgetvalue (res, row, 5)[0] == 't');
    return u;
}

static void
s_user_create_done (gw_t *gw, gw_ctx_t *ctx, s_job_t *job)
{
    if (job->rc != 0) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "cannot hash the password now");
        return;
    }
    PGresult *res = db_exec (gw->db, "auth_user_insert", 4,
                             (const char *[]) { job->username, job->hash, job->role, job->property_ids });
    if (!db_ok (res) || PQntuples (res) != 1) {
        const char *state = PQresultErrorField (res, PG_DIAG_SQLSTATE);
        if (state && strcmp (state, "23505") == 0)
            gw_finish_error (ctx, 409, "conflict", NULL, "the username is taken");
        else
            gw_finish_db_error (ctx, res, "user insert");
        PQclear (res);
        return;
    }
    cJSON *u = s_user_json (res, 0);
    log_info (ctx->req->request_id, "user %s created (%s) by %s", PQgetvalue (res, 0, 0), job->role,
              ctx->caller.id);
    PQclear (res);
    gw_finish_json (ctx, 201, u);
}

/* --- POST /v1/auth/password ----------------------------------------------------- */

/* The caller's own token as a bytea parameter (it stays valid), or "" for none. */
static void
s_own_token_param (gw_ctx_t *ctx, char out[HASH_HEX])
{
    size_t len;
    const char *secret = gw_auth_bearer (ctx->req->authorization, &len);
    out[0] = 0;
    if (!secret)
        return;
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) secret, len);
    s_hash_param (hash, out);
}

void
gw_auth_password (gw_t *gw, gw_ctx_t *ctx)
{
    if (ctx->caller.api_key) {
        gw_finish_error (ctx, 403, "forbidden", NULL, "an API key has no password");
        return;
    }
    jv_t v = JV_INIT;
    gw_password_input_t in;
    if (!gw_password_input (&v, ctx->data, ctx->caller.name, &in)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "the passwords are not valid");
        return;
    }
    /* a stolen token must not become a way to guess the password: the same
     * limits as a login */
    char addr[GW_AUTH_ADDR_MAX];
    if (s_admit_attempt (gw, ctx, ctx->caller.name, addr) != 0)
        return;
    PGresult *res = s_exec (gw, ctx, "password lookup", "auth_user_password", 1,
                            (const char *[]) { ctx->caller.id });
    if (!res)
        return;
    s_job_t *job = NULL;
    if (PQntuples (res) != 1)
        gw_finish_error (ctx, 401, "unauthenticated", NULL, "the token is not valid (expired or revoked?)");
    else
        job = s_job_new (ctx, JOB_PASSWORD, in.current);
    if (job) {
        snprintf (job->hash, sizeof job->hash, "%s", PQgetvalue (res, 0, 0));
        snprintf (job->new_password, sizeof job->new_password, "%s", in.next);
        snprintf (job->user_id, sizeof job->user_id, "%s", ctx->caller.id);
        snprintf (job->attempted, sizeof job->attempted, "%s", ctx->caller.name);
        snprintf (job->addr, sizeof job->addr, "%s", addr);
        s_own_token_param (ctx, job->token_param);
        s_job_start (gw, ctx, job);
    }
    PQclear (res);
}

static void
s_password_done (gw_t *gw, gw_ctx_t *ctx, s_job_t *job)
{
    if (job->rc != 0) {
        log_info (ctx->req->request_id, "password change refused: wrong current password");
        gw_finish_error (ctx, 422, "validation_failed",
                         jv_detail ("current_password", "is not the current password"),
                         "the current password is wrong");
        return;
    }
    if (job->new_rc != 0) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "cannot hash the password now");
        return;
    }
    s_succeeded (gw, job);
    PGresult *res = db_exec (gw->db, "auth_password_set", 4,
                             (const char *[]) { job->user_id, job->new_hash, job->hash,
                                                job->token_param[0] ? job->token_param : NULL });
    if (!db_ok (res) || PQntuples (res) != 1) {
        gw_finish_db_error (ctx, res, "password update");
        PQclear (res);
        return;
    }
    bool changed = atoi (PQgetvalue (res, 0, 0)) == 1;
    PQclear (res);
    if (!changed) {
        gw_finish_error (ctx, 409, "conflict", NULL, "the password was changed meanwhile; try again");
        return;
    }
    log_info (ctx->req->request_id, "password changed: user %s (other tokens revoked)", job->user_id);
    gw_finish (ctx, 204, NULL, NULL);
}

static void
s_job_after (uv_work_t *w, int status)
{
    s_job_t *job = w->data;
    gw_ctx_t *ctx = job->ctx;
    gw_t *gw = job->auth->gw;
    job->auth->jobs--;
    sodium_memzero (job->password, sizeof job->password);
    sodium_memzero (job->new_password, sizeof job->new_password);
    if (status != 0)
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the work was cancelled");
    else
    if (job->kind == JOB_LOGIN)
        s_login_done (gw, ctx, job);
    else
    if (job->kind == JOB_PASSWORD)
        s_password_done (gw, ctx, job);
    else
        s_user_create_done (gw, ctx, job);
    s_job_free (job);
}

/* --- POST /v1/auth/logout, GET /v1/auth/me ------------------------------------------ */

void
gw_auth_logout (gw_t *gw, gw_ctx_t *ctx)
{
    size_t len;
    const char *secret = gw_auth_bearer (ctx->req->authorization, &len);
    if (!secret) {
        gw_finish_error (ctx, 401, "unauthenticated", NULL, "send Authorization: Bearer <token>");
        return;
    }
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) secret, len);
    if (!ctx->caller.api_key) {
        /* API keys are revoked by an admin (DELETE /v1/api-keys/{id}), not by logout */
        char param[HASH_HEX];
        s_hash_param (hash, param);
        PGresult *res = s_exec (gw, ctx, "token revoke", "auth_token_revoke", 1, (const char *[]) { param });
        if (!res)
            return;
        PQclear (res);
        s_evict (gw->auth, hash);
    }
    gw_finish (ctx, 204, NULL, NULL);
}

void
gw_auth_me (gw_t *gw, gw_ctx_t *ctx)
{
    (void) gw;
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", ctx->caller.id);
    cJSON_AddStringToObject (out, ctx->caller.api_key ? "name" : "username", ctx->caller.name);
    cJSON_AddStringToObject (out, "role", ctx->caller.role);
    cJSON_AddItemToObject (out, "property_ids",
                           ctx->caller.property_ids ? cJSON_Duplicate (ctx->caller.property_ids, 1)
                                                    : cJSON_CreateArray ());
    cJSON_AddStringToObject (out, "kind", ctx->caller.api_key ? "api_key" : "user");
    gw_finish_json (ctx, 200, out);
}

/* --- GET /v1/users ----------------------------------------------------------------- */

static cJSON *
s_user_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return s_user_json (res, row);
}

/* The key of a page of users: the last username shown. */
static void
s_user_key (const PGresult *res, int row, char *key, size_t cap)
{
    snprintf (key, cap, "%s", PQgetvalue (res, row, 1));
}

void
gw_users_list (gw_t *gw, gw_ctx_t *ctx)
{
    jv_t v = JV_INIT;
    int limit;
    char after[PAGE_KEY_MAX];
    const env_request_t req = { .params = ctx->params };
    if (page_params (&v, &req, &limit, after, sizeof after) && after[0] && !gw_auth_username_valid (after))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    if (!jv_ok (&v)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "bad list parameters");
        return;
    }
    char lim[16];
    snprintf (lim, sizeof lim, "%d", limit + 1);
    PGresult *res = db_exec (gw->db, "auth_users_list", 2, (const char *[]) { after, lim });
    gw_finish_page (ctx, res, db_ok (res) ? page_rows (res, limit, s_user_item, NULL, s_user_key) : NULL,
                    "users list");
}

/* --- PATCH /v1/users/{id} ----------------------------------------------------------- */

/* Whether id is in column 0 of res (ids, any case). */
static bool
s_listed (const PGresult *res, const char *id)
{
    for (int i = 0; i < PQntuples (res); i++)
        if (strcasecmp (PQgetvalue (res, i, 0), id) == 0)
            return true;
    return false;
}

void
gw_users_update (gw_t *gw, gw_ctx_t *ctx)
{
    const char *id = s_path_uuid (ctx, "id", "user");
    if (!id)
        return;
    jv_t v = JV_INIT;
    gw_user_update_input_t in;
    if (!gw_user_update_input (&v, ctx->data, &in)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "the change is not valid");
        return;
    }
    char token[HASH_HEX];
    s_own_token_param (ctx, token);
    PGresult *res = NULL;
    const char *refusal = NULL;
    if (db_begin (gw->db) != 0) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
        goto out;
    }
    /* the enabled admins, locked until COMMIT */
    if (!(res = s_exec (gw, ctx, "admins lock", "auth_admins_lock", 0, NULL)))
        goto out;
    refusal = gw_user_update_refusal (&in, s_listed (res, id), PQntuples (res),
                                      strcasecmp (id, ctx->caller.id) == 0);
    if (refusal) {
        gw_finish_error (ctx, 409, "conflict", NULL, "%s", refusal);
        goto out;
    }
    PQclear (res);
    res = s_exec (gw, ctx, "user update", "auth_user_update", 5,
                  (const char *[]) { id, in.disabled, in.role, in.property_ids, token[0] ? token : NULL });
    if (!res)
        goto out;
    if (PQntuples (res) != 1)
        gw_finish_error (ctx, 404, "not_found", NULL, "no such user");
    else
    if (db_commit (gw->db) != 0)
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
    else {
        log_info (ctx->req->request_id, "user %s changed by %s%s%s", PQgetvalue (res, 0, 0), ctx->caller.id,
                  in.disabled ? " (disabled set)" : "", in.role ? " (role set)" : "");
        gw_finish_json (ctx, 200, s_user_json (res, 0));
    }
out:
    db_rollback (gw->db);            /* whatever is still open; nothing after a commit */
    PQclear (res);
    free (in.property_ids);
}

/* --- GET /v1/properties/{pid}/staff ------------------------------------------------- */

/* Who works a property, for a console to name an assignee or an actor; any
 * staff role may ask (GET /v1/users is the admin's). The route's property
 * scope has been checked; no password hash, no property list leaves here.
 * Agents and technicians see no admins: a name is what a lock-out by failed
 * logins needs. */
void
gw_staff_list (gw_t *gw, gw_ctx_t *ctx)
{
    const char *pid = s_path_uuid (ctx, "pid", "property");
    if (!pid)
        return;
    char lim[24];
    snprintf (lim, sizeof lim, "%d", GW_STAFF_MAX);
    const char *admins = strcmp (ctx->caller.role, "admin") == 0 || strcmp (ctx->caller.role, "manager") == 0
                             ? "true" : "false";
    PGresult *res = s_exec (gw, ctx, "staff list", "auth_staff_list", 3, (const char *[]) { pid, lim, admins });
    if (!res)
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (int i = 0; i < PQntuples (res); i++) {
        cJSON *u = cJSON_CreateObject ();
        cJSON_AddStringToObject (u, "id", PQgetvalue (res, i, 0));
        cJSON_AddStringToObject (u, "username", PQgetvalue (res, i, 1));
        cJSON_AddStringToObject (u, "role", PQgetvalue (res, i, 2));
        cJSON_AddItemToArray (items, u);
    }
    cJSON_AddNullToObject (out, "next_cursor");
    PQclear (res);
    gw_finish_json (ctx, 200, out);
}

/* --- API keys ------------------------------------------------------------------------ */

void
gw_keys_create (gw_t *gw, gw_ctx_t *ctx)
{
    jv_t v = JV_INIT;
    gw_key_create_input_t in;
    if (!gw_key_create_input (&v, ctx->data, env_now_ms (), &in)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "the API key is not valid");
        return;
    }
    const char *name = in.name, *role = in.role;
    char *pids = in.property_ids;
    char key[sizeof GW_API_KEY_PREFIX + 64];
    s_new_secret (GW_API_KEY_PREFIX, key, sizeof key);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) key, strlen (key));
    char param[HASH_HEX];
    s_hash_param (hash, param);
    PGresult *res = db_exec (gw->db, "auth_key_insert", 5,
                             (const char *[]) { name, param, role, pids,
                                                in.expires_text[0] ? in.expires_text : NULL });
    free (pids);
    if (!db_ok (res) || PQntuples (res) != 1) {
        gw_finish_db_error (ctx, res, "api key insert");
        PQclear (res);
        sodium_memzero (key, sizeof key);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "id", PQgetvalue (res, 0, 0));
    cJSON_AddStringToObject (out, "key", key);
    cJSON_AddStringToObject (out, "name", PQgetvalue (res, 0, 1));
    cJSON_AddStringToObject (out, "role", PQgetvalue (res, 0, 2));
    cJSON_AddItemToObject (out, "property_ids", s_json_array (PQgetvalue (res, 0, 3)));
    cJSON_AddStringToObject (out, "created_at", PQgetvalue (res, 0, 4));
    s_add_time (out, "expires_at", res, 0, 5);
    log_info (ctx->req->request_id, "api key %s created (%s) by %s", PQgetvalue (res, 0, 0), role,
              ctx->caller.id);
    PQclear (res);
    sodium_memzero (key, sizeof key);
    gw_finish_json (ctx, 201, out);
}

void
gw_keys_list (gw_t *gw, gw_ctx_t *ctx)
{
    PGresult *res = s_exec (gw, ctx, "api keys list", "auth_keys_list", 0, NULL);
    if (!res)
        return;
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (int i = 0; i < PQntuples (res); i++) {
        cJSON *k = cJSON_CreateObject ();
        cJSON_AddStringToObject (k, "id", PQgetvalue (res, i, 0));
        cJSON_AddStringToObject (k, "name", PQgetvalue (res, i, 1));
        cJSON_AddStringToObject (k, "role", PQgetvalue (res, i, 2));
        cJSON_AddItemToObject (k, "property_ids", s_json_array (PQgetvalue (res, i, 3)));
        cJSON_AddStringToObject (k, "created_at", PQgetvalue (res, i, 4));
        s_add_time (k, "revoked_at", res, i, 5);
        s_add_time (k, "expires_at", res, i, 6);
        cJSON_AddItemToArray (items, k);
    }
    cJSON_AddNullToObject (out, "next_cursor");
    PQclear (res);
    gw_finish_json (ctx, 200, out);
}

void
gw_keys_revoke (gw_t *gw, gw_ctx_t *ctx)
{
    const char *id = s_path_uuid (ctx, "id", "API key");
    if (!id)
        return;
    PGresult *res = s_exec (gw, ctx, "api key revoke", "auth_key_revoke", 1, (const char *[]) { id });
    if (!res)
        return;
    if (PQntuples (res) == 0) {
        PQclear (res);
        gw_finish_error (ctx, 404, "not_found", NULL, "no such API key (or revoked already)");
        return;
    }
    /* bytea comes back as "\x<hex>" */
    const char *hex = PQgetvalue (res, 0, 0);
    unsigned char hash[crypto_hash_sha256_BYTES];
    size_t n = 0;
    if (strncmp (hex, "\\x", 2) == 0
        && sodium_hex2bin (hash, sizeof hash, hex + 2, strlen (hex + 2), NULL, &n, NULL) == 0
        && n == sizeof hash)
        s_evict (gw->auth, hash);
    log_info (ctx->req->request_id, "api key %s revoked by %s", id, ctx->caller.id);
    PQclear (res);
    gw_finish (ctx, 204, NULL, NULL);
    /* its webhooks: now if notifications answers, else from the table */
    s_disables_run (gw->auth);
}
