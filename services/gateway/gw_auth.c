/* gw_auth: tokens, API keys, users, passwords; see gw_auth.h. */
#include "gw_auth.h"

#include "config.h"
#include "jv.h"
#include "log.h"

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
};

static const char *const s_roles[] = { "admin", "manager", "agent", "technician", "integration", NULL };

/* Password work for the thread pool. Nothing here touches the loop, the
 * database or the cache: those happen before and after, on the loop. */
typedef enum { JOB_LOGIN, JOB_USER_CREATE } s_job_kind_t;
typedef struct {
    uv_work_t work;
    s_job_kind_t kind;
    gw_auth_t *auth;
    gw_ctx_t *ctx;
    char password[4 * GW_PASSWORD_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
    int rc;                          /* of the crypto call */
    bool found;                      /* login: the user exists and is enabled */
    char user_id[ENVELOPE_ID_MAX + 1];
    char username[GW_USERNAME_MAX + 1];
    char attempted[257];             /* login: the name as typed, for the throttle */
    char role[16];
    char *property_ids;              /* JSON text (owned) */
} s_job_t;

/* --- pure helpers --------------------------------------------------------- */

unsigned
gw_role_bit (const char *role)
{
    for (int i = 0; role && s_roles[i]; i++)
        if (strcmp (role, s_roles[i]) == 0)
            return 1u << i;
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

bool
gw_auth_username_valid (const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n >= GW_USERNAME_MIN && n <= GW_USERNAME_MAX;
}

size_t
gw_auth_utf8_chars (const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
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

/* --- statements ----------------------------------------------------------- */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static int
s_prepare (db_t *db)
{
    int rc = 0;
    /* one statement for both kinds of secret: a token of an enabled user, or a live key */
    rc |= db_prepare (db, "auth_lookup",
        "SELECT u.id::text, u.username, u.role, array_to_json(u.property_ids)::text, "
        "       (extract(epoch FROM t.expires_at) * 1000)::bigint, false "
        "  FROM tokens t JOIN users u ON u.id = t.user_id "
        " WHERE t.token_hash = $1::bytea AND t.revoked_at IS NULL AND t.expires_at > now() "
        "   AND NOT u.disabled "
        "UNION ALL "
        "SELECT k.id::text, k.name, k.role, array_to_json(k.property_ids)::text, NULL, true "
        "  FROM api_keys k WHERE k.key_hash = $1::bytea AND k.revoked_at IS NULL "
        "LIMIT 1", true);
    rc |= db_prepare (db, "auth_user_by_name",
        "SELECT id::text, password_hash, role, array_to_json(property_ids)::text, disabled, username "
        "  FROM users WHERE lower(username) = lower($1)", true);
    rc |= db_prepare (db, "auth_token_insert",
        "INSERT INTO tokens (token_hash, user_id, expires_at) "
        "VALUES ($1::bytea, $2::uuid, now() + make_interval(secs => $3::int)) "
        "RETURNING " TS ("expires_at"), false);
    rc |= db_prepare (db, "auth_token_revoke",
        "UPDATE tokens SET revoked_at = now() WHERE token_hash = $1::bytea AND revoked_at IS NULL",
        true);
    rc |= db_prepare (db, "auth_user_insert",
        "INSERT INTO users (username, password_hash, role, property_ids) "
        "VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))::uuid[]) "
        "RETURNING id::text, username, role, array_to_json(property_ids)::text, "
        TS ("created_at") ", disabled", false);
    rc |= db_prepare (db, "auth_admin_insert",
        "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, 'admin') "
        "ON CONFLICT DO NOTHING", false);
    rc |= db_prepare (db, "auth_users_list",
        "SELECT id::text, username, role, array_to_json(property_ids)::text, "
        TS ("created_at") ", disabled "
        "  FROM users WHERE username COLLATE \"C\" > $1 ORDER BY username COLLATE \"C\" LIMIT $2::int",
        true);
    /* the staff directory of a property: its people (not API keys, not
     * integration users), the admins last as staff of every property */
    rc |= db_prepare (db, "auth_staff_list",
        "SELECT id::text, username, role FROM users "
        " WHERE NOT disabled AND role IN ('admin', 'manager', 'agent', 'technician') "
        "   AND (role = 'admin' OR $1::uuid = ANY (property_ids)) "
        " ORDER BY role = 'admin', role, username COLLATE \"C\" LIMIT $2::int", true);
    rc |= db_prepare (db, "auth_key_insert",
        "INSERT INTO api_keys (name, key_hash, role, property_ids) "
        "VALUES ($1, $2::bytea, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))::uuid[]) "
        "RETURNING id::text, name, role, array_to_json(property_ids)::text, " TS ("created_at"),
        false);
    rc |= db_prepare (db, "auth_keys_list",
        "SELECT id::text, name, role, array_to_json(property_ids)::text, " TS ("created_at") ", "
        TS ("revoked_at") " FROM api_keys ORDER BY created_at, id LIMIT 1000", true);
    rc |= db_prepare (db, "auth_key_revoke",
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1::uuid AND revoked_at IS NULL "
        "RETURNING key_hash", false);
    /* The throttle: seconds left of a lock, if any; a failure counted (a
     * window that ended starts again at 1; reaching the maximum locks); a
     * success forgets the name. */
    rc |= db_prepare (db, "auth_throttle_check",
        "SELECT ceil(extract(epoch FROM locked_until - now()))::int FROM login_throttle "
        " WHERE username = lower($1) AND locked_until > now()", true);
    rc |= db_prepare (db, "auth_throttle_fail",
        "INSERT INTO login_throttle AS t (username, failures, window_start, locked_until) "
        "VALUES (lower($1), 1, now(), CASE WHEN $2::int <= 1 "
        "        THEN now() + make_interval(secs => $4::int) END) "
        "ON CONFLICT (username) DO UPDATE SET "
        "  failures = CASE WHEN t.window_start < now() - make_interval(secs => $3::int) "
        "                  THEN 1 ELSE t.failures + 1 END, "
        "  window_start = CASE WHEN t.window_start < now() - make_interval(secs => $3::int) "
        "                      THEN now() ELSE t.window_start END, "
        "  locked_until = CASE WHEN t.window_start >= now() - make_interval(secs => $3::int) "
        "                       AND t.failures + 1 >= $2::int "
        "                      THEN now() + make_interval(secs => $4::int) "
        "                      ELSE t.locked_until END", false);
    rc |= db_prepare (db, "auth_throttle_clear",
        "DELETE FROM login_throttle WHERE username = lower($1)", false);
    rc |= db_prepare (db, "auth_cleanup",
        "DELETE FROM tokens WHERE expires_at < now() - interval '1 day' "
        "   OR revoked_at < now() - interval '1 day'", false);
    return rc ? -1 : 0;
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
    /* a user that does not exist still costs one argon2id verification,
     * so that the answer's timing does not tell which usernames exist */
    char pw[64];
    s_new_secret ("", pw, sizeof pw);
    if (crypto_pwhash_str (self->dummy_hash, pw, strlen (pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0
        || s_prepare (self->db) != 0) {
        free (self);
        return NULL;
    }
    return self;
}

void
gw_auth_destroy (gw_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_auth_t *self = *self_p;
    for (size_t i = 0; i < GW_AUTH_CACHE_SLOTS; i++)
        cJSON_Delete (self->cache[i].property_ids);
    free (self);
    *self_p = NULL;
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
    e->until = now + GW_AUTH_CACHE_TTL_MS;
    if (PQntuples (res) == 0) {
        /* remembered too: a client retrying a dead token does not reach the database */
        PQclear (res);
        return -1;
    }
    cJSON *pids = cJSON_Parse (PQgetvalue (res, 0, 3));
    if (!cJSON_IsArray (pids)) {
        cJSON_Delete (pids);
        pids = cJSON_CreateArray ();
    }
    e->found = true;
    e->property_ids = pids;
    snprintf (e->caller.id, sizeof e->caller.id, "%s", PQgetvalue (res, 0, 0));
    snprintf (e->caller.name, sizeof e->caller.name, "%s", PQgetvalue (res, 0, 1));
    snprintf (e->caller.role, sizeof e->caller.role, "%s", PQgetvalue (res, 0, 2));
    e->caller.api_key = PQgetvalue (res, 0, 5)[0] == 't';
    if (!PQgetisnull (res, 0, 4)) {
        /* never cache a token past its expiry */
        int64_t left = atoll (PQgetvalue (res, 0, 4)) - env_now_ms ();
        if (left < GW_AUTH_CACHE_TTL_MS)
            e->until = now + (uint64_t) (left > 0 ? left : 0);
    }
    PQclear (res);
    s_caller_from (caller, e);
    return 0;
}

/* --- shared pieces of the handlers ------------------------------------------ */

/* property_ids of a users / api-keys body: optional array of UUIDs, as
 * JSON text for the INSERT (caller frees); NULL after noting a problem. */
static char *
s_property_ids (jv_t *v, const cJSON *data)
{
    const cJSON *pids = cJSON_GetObjectItemCaseSensitive (data, "property_ids");
    if (!pids || cJSON_IsNull (pids))
        return strdup ("[]");
    if (!cJSON_IsArray (pids) || cJSON_GetArraySize (pids) > 1000) {
        jv_problem (v, "property_ids", "must be an array of at most 1000 property ids");
        return NULL;
    }
    const cJSON *p;
    int i = 0;
    cJSON_ArrayForEach (p, pids) {
        if (!cJSON_IsString (p) || !jv_is_uuid (p->valuestring)) {
            jv_problem (v, "property_ids", "item %d must be a property id (UUID)", i);
            return NULL;
        }
        i++;
    }
    return cJSON_PrintUnformatted (pids);
}

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

static void
s_db_error (gw_ctx_t *ctx, PGresult *res, const char *what)
{
    env_reply_t rep = { 0 };
    db_reply_error (res, &rep, ctx->req->request_id);
    log_warn (ctx->req->request_id, "%s: %s", what, rep.message);
    /* the database's own words stay in the log: the client learns the class */
    const char *msg = rep.status == 409 ? "it exists already"
                    : rep.status == 503 ? "the gateway database is unavailable"
                    : rep.status == 422 ? "the data breaks a rule"
                                        : "internal error";
    gw_finish_error (ctx, rep.status, rep.code, NULL, "%s", msg);
    env_reply_reset (&rep);
}

static void s_job_after (uv_work_t *w, int status);

static void
s_job_work (uv_work_t *w)
{
    s_job_t *job = w->data;
    size_t len = strlen (job->password);
    if (job->kind == JOB_LOGIN)
        job->rc = crypto_pwhash_str_verify (job->hash, job->password, len);
    else
        job->rc = crypto_pwhash_str (job->hash, job->password, len,
                                     crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                     crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static int
s_job_queue (gw_t *gw, gw_ctx_t *ctx, s_job_t *job)
{
    job->work.data = job;
    job->auth = gw->auth;
    job->ctx = ctx;
    ctx->job = job;
    if (uv_queue_work (gw->loop, &job->work, s_job_work, s_job_after) != 0)
        return -1;
    gw->auth->jobs++;
    return 0;
}

static void
s_job_free (s_job_t *job)
{
    sodium_memzero (job->password, sizeof job->password);
    sodium_memzero (job->hash, sizeof job->hash);
    free (job->property_ids);
    free (job);
}

/* --- POST /v1/auth/login ----------------------------------------------------- */

void
gw_auth_login (gw_t *gw, gw_ctx_t *ctx)
{
    const cJSON *data = ctx->data;
    jv_t v = JV_INIT;
    const char *username = NULL, *password = NULL;
    if (jv_object (&v, data)) {
        username = jv_string (&v, data, "username", JV_REQUIRED, 256);
        password = jv_string (&v, data, "password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
    }
    if (!jv_ok (&v)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "username and password are required");
        return;
    }
    if (gw->auth->jobs >= GW_AUTH_MAX_JOBS) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "too many logins at once; retry shortly");
        return;
    }
    /* a locked name costs no password hashing: answered before the thread pool */
    PGresult *res = db_exec (gw->db, "auth_throttle_check", 1, (const char *[]) { username });
    if (!db_ok (res)) {
        s_db_error (ctx, res, "login throttle");
        PQclear (res);
        return;
    }
    if (PQntuples (res) == 1) {
        char extra[48];
        snprintf (extra, sizeof extra, "Retry-After: %s\r\n", PQgetvalue (res, 0, 0));
        PQclear (res);
        log_info (ctx->req->request_id, "login refused: too many failures");
        gw_finish (ctx, 429, env_error_body ("rate_limited", "too many failed logins; retry later",
                                             NULL, ctx->req->request_id), extra);
        return;
    }
    PQclear (res);
    res = db_exec (gw->db, "auth_user_by_name", 1, (const char *[]) { username });
    if (!db_ok (res)) {
        s_db_error (ctx, res, "login lookup");
        PQclear (res);
        return;
    }
    s_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        PQclear (res);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        return;
    }
    job->kind = JOB_LOGIN;
    snprintf (job->password, sizeof job->password, "%s", password);
    snprintf (job->attempted, sizeof job->attempted, "%s", username);
    if (PQntuples (res) == 1 && PQgetvalue (res, 0, 4)[0] != 't') {
        job->found = true;
        snprintf (job->hash, sizeof job->hash, "%s", PQgetvalue (res, 0, 1));
        snprintf (job->user_id, sizeof job->user_id, "%s", PQgetvalue (res, 0, 0));
        snprintf (job->role, sizeof job->role, "%s", PQgetvalue (res, 0, 2));
        snprintf (job->username, sizeof job->username, "%s", PQgetvalue (res, 0, 5));
        job->property_ids = strdup (PQgetvalue (res, 0, 3));
    }
    else
        memcpy (job->hash, gw->auth->dummy_hash, sizeof job->hash);
    PQclear (res);
    if (s_job_queue (gw, ctx, job) != 0) {
        s_job_free (job);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "cannot verify the password now");
    }
}

static void
s_login_done (gw_t *gw, gw_ctx_t *ctx, s_job_t *job)
{
    gw_auth_t *auth = gw->auth;
    if (!job->found || job->rc != 0) {
        /* one message, and one count, for "no such user" and "wrong password" */
        PQclear (db_exec (gw->db, "auth_throttle_fail", 4,
                          (const char *[]) { job->attempted, auth->throttle_max,
                                             auth->throttle_window_s, auth->throttle_lock_s }));
        log_info (ctx->req->request_id, "login refused");
        gw_finish_error (ctx, 401, "unauthenticated", NULL, "wrong username or password");
        return;
    }
    PQclear (db_exec (gw->db, "auth_throttle_clear", 1, (const char *[]) { job->attempted }));
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
        s_db_error (ctx, res, "token insert");
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

/* Validates a users/api-keys role. */
static const char *
s_role (jv_t *v, const cJSON *data)
{
    return jv_enum (v, data, "role", JV_REQUIRED, s_roles);
}

void
gw_users_create (gw_t *gw, gw_ctx_t *ctx)
{
    const cJSON *data = ctx->data;
    jv_t v = JV_INIT;
    const char *username = NULL, *password = NULL, *role = NULL;
    char *pids = NULL;
    if (jv_object (&v, data)) {
        username = jv_string (&v, data, "username", JV_REQUIRED, GW_USERNAME_MAX + 1);
        if (username && !gw_auth_username_valid (username))
            jv_problem (&v, "username", "must be %d to %d of A-Z a-z 0-9 . _ -", GW_USERNAME_MIN,
                        GW_USERNAME_MAX);
        password = jv_string (&v, data, "password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
        if (password) {
            size_t n = gw_auth_utf8_chars (password);
            if (n < GW_PASSWORD_MIN || n > GW_PASSWORD_MAX)
                jv_problem (&v, "password", "must be %d to %d characters", GW_PASSWORD_MIN,
                            GW_PASSWORD_MAX);
        }
        role = s_role (&v, data);
        pids = s_property_ids (&v, data);
    }
    if (!jv_ok (&v)) {
        free (pids);
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "the user is not valid");
        return;
    }
    if (gw->auth->jobs >= GW_AUTH_MAX_JOBS) {
        free (pids);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "too busy hashing passwords; retry shortly");
        return;
    }
    s_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        free (pids);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        return;
    }
    job->kind = JOB_USER_CREATE;
    snprintf (job->password, sizeof job->password, "%s", password);
    snprintf (job->username, sizeof job->username, "%s", username);
    snprintf (job->role, sizeof job->role, "%s", role);
    job->property_ids = pids;
    if (s_job_queue (gw, ctx, job) != 0) {
        s_job_free (job);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "cannot hash the password now");
    }
}

static cJSON *
s_user_json (PGresult *res, int row)
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
            s_db_error (ctx, res, "user insert");
        PQclear (res);
        return;
    }
    cJSON *u = s_user_json (res, 0);
    log_info (ctx->req->request_id, "user %s created (%s) by %s", PQgetvalue (res, 0, 0), job->role,
              ctx->caller.id);
    PQclear (res);
    gw_finish_json (ctx, 201, u);
}

static void
s_job_after (uv_work_t *w, int status)
{
    s_job_t *job = w->data;
    gw_ctx_t *ctx = job->ctx;
    gw_t *gw = job->auth->gw;
    job->auth->jobs--;
    ctx->job = NULL;
    sodium_memzero (job->password, sizeof job->password);
    if (status != 0)
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the work was cancelled");
    else
    if (job->kind == JOB_LOGIN)
        s_login_done (gw, ctx, job);
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
        PGresult *res = db_exec (gw->db, "auth_token_revoke", 1, (const char *[]) { param });
        if (!db_ok (res)) {
            s_db_error (ctx, res, "token revoke");
            PQclear (res);
            return;
        }
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

void
gw_users_list (gw_t *gw, gw_ctx_t *ctx)
{
    jv_t v = JV_INIT;
    const char *limit_s = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ctx->params, "limit"));
    const char *cursor = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ctx->params, "cursor"));
    long limit = 50;
    if (limit_s && *limit_s) {
        char *end;
        limit = strtol (limit_s, &end, 10);
        if (*end || limit < 1 || limit > 500)
            jv_problem (&v, "limit", "must be an integer from 1 to 500");
    }
    /* the cursor is the last username seen, base64url: opaque to clients */
    char after[GW_USERNAME_MAX + 1] = "";
    if (cursor && *cursor) {
        size_t n = 0;
        if (strlen (cursor) > 2 * sizeof after
            || sodium_base642bin ((unsigned char *) after, sizeof after - 1, cursor, strlen (cursor),
                                  NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0
            || !gw_auth_username_valid ((after[n] = 0, after)))
            jv_problem (&v, "cursor", "is not a cursor this API gave");
    }
    if (!jv_ok (&v)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "bad list parameters");
        return;
    }
    char lim[24];
    snprintf (lim, sizeof lim, "%ld", limit + 1);
    PGresult *res = db_exec (gw->db, "auth_users_list", 2, (const char *[]) { after, lim });
    if (!db_ok (res)) {
        s_db_error (ctx, res, "users list");
        PQclear (res);
        return;
    }
    int rows = PQntuples (res);
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (int i = 0; i < rows && i < limit; i++)
        cJSON_AddItemToArray (items, s_user_json (res, i));
    if (rows > limit) {
        const char *last = PQgetvalue (res, (int) limit - 1, 1);
        char next[2 * GW_USERNAME_MAX + 8];
        sodium_bin2base64 (next, sizeof next, (const unsigned char *) last, strlen (last),
                           sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        cJSON_AddStringToObject (out, "next_cursor", next);
    }
    else
        cJSON_AddNullToObject (out, "next_cursor");
    PQclear (res);
    gw_finish_json (ctx, 200, out);
}

/* --- GET /v1/properties/{pid}/staff ------------------------------------------------- */

/* Who works a property, for a console to name an assignee or an actor; any
 * staff role may ask (GET /v1/users is the admin's). The route's property
 * scope has been checked; no password hash, no property list leaves here. */
void
gw_staff_list (gw_t *gw, gw_ctx_t *ctx)
{
    const char *pid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ctx->params, "pid"));
    if (!pid || !jv_is_uuid (pid)) {
        gw_finish_error (ctx, 404, "not_found", NULL, "no such property");
        return;
    }
    char lim[24];
    snprintf (lim, sizeof lim, "%d", GW_STAFF_MAX);
    PGresult *res = db_exec (gw->db, "auth_staff_list", 2, (const char *[]) { pid, lim });
    if (!db_ok (res)) {
        s_db_error (ctx, res, "staff list");
        PQclear (res);
        return;
    }
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
    const cJSON *data = ctx->data;
    jv_t v = JV_INIT;
    const char *name = NULL, *role = NULL;
    char *pids = NULL;
    if (jv_object (&v, data)) {
        name = jv_string (&v, data, "name", JV_REQUIRED, 100);
        role = s_role (&v, data);
        pids = s_property_ids (&v, data);
    }
    if (!jv_ok (&v)) {
        free (pids);
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "the API key is not valid");
        return;
    }
    char key[sizeof GW_API_KEY_PREFIX + 64];
    s_new_secret (GW_API_KEY_PREFIX, key, sizeof key);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (hash, (const unsigned char *) key, strlen (key));
    char param[HASH_HEX];
    s_hash_param (hash, param);
    PGresult *res = db_exec (gw->db, "auth_key_insert", 4, (const char *[]) { name, param, role, pids });
    free (pids);
    if (!db_ok (res) || PQntuples (res) != 1) {
        s_db_error (ctx, res, "api key insert");
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
    log_info (ctx->req->request_id, "api key %s created (%s) by %s", PQgetvalue (res, 0, 0), role,
              ctx->caller.id);
    PQclear (res);
    sodium_memzero (key, sizeof key);
    gw_finish_json (ctx, 201, out);
}

void
gw_keys_list (gw_t *gw, gw_ctx_t *ctx)
{
    PGresult *res = db_exec (gw->db, "auth_keys_list", 0, NULL);
    if (!db_ok (res)) {
        s_db_error (ctx, res, "api keys list");
        PQclear (res);
        return;
    }
    cJSON *out = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (out, "items");
    for (int i = 0; i < PQntuples (res); i++) {
        cJSON *k = cJSON_CreateObject ();
        cJSON_AddStringToObject (k, "id", PQgetvalue (res, i, 0));
        cJSON_AddStringToObject (k, "name", PQgetvalue (res, i, 1));
        cJSON_AddStringToObject (k, "role", PQgetvalue (res, i, 2));
        cJSON_AddItemToObject (k, "property_ids", s_json_array (PQgetvalue (res, i, 3)));
        cJSON_AddStringToObject (k, "created_at", PQgetvalue (res, i, 4));
        if (PQgetisnull (res, i, 5))
            cJSON_AddNullToObject (k, "revoked_at");
        else
            cJSON_AddStringToObject (k, "revoked_at", PQgetvalue (res, i, 5));
        cJSON_AddItemToArray (items, k);
    }
    cJSON_AddNullToObject (out, "next_cursor");
    PQclear (res);
    gw_finish_json (ctx, 200, out);
}

void
gw_keys_revoke (gw_t *gw, gw_ctx_t *ctx)
{
    const char *id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ctx->params, "id"));
    if (!id || !jv_is_uuid (id)) {
        gw_finish_error (ctx, 404, "not_found", NULL, "no such API key");
        return;
    }
    PGresult *res = db_exec (gw->db, "auth_key_revoke", 1, (const char *[]) { id });
    if (!db_ok (res)) {
        s_db_error (ctx, res, "api key revoke");
        PQclear (res);
        return;
    }
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
}
