/* gw_resident: residents' sign-in by SMS code; see gw_resident.h. */
#include "gw_resident.h"

#include "config.h"
#include "gw_auth.h"
#include "jv.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HEX_PARAM (2 * 32 + 3)     /* "\x" + 64 hex + NUL */

/* --- pure pieces ------------------------------------------------------------ */

bool
gw_resident_phone (const char *in, char out[PII_PHONE_MAX + 1])
{
    if (!in || strlen (in) > PII_PHONE_INPUT_MAX || !pii_phone_normalize (in, out))
        return false;
    /* a landline ("0755-88881234") takes no SMS */
    return out[0] == '+' || (out[0] == '1' && strlen (out) == 11);
}

bool
gw_resident_code_valid (const char *code)
{
    if (!code || strlen (code) != GW_RESIDENT_CODE_DIGITS)
        return false;
    for (const char *p = code; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

void
gw_resident_code_new (char out[GW_RESIDENT_CODE_DIGITS + 1])
{
    /* randombytes_uniform: no modulo bias */
    snprintf (out, GW_RESIDENT_CODE_DIGITS + 1, "%06u", (unsigned) randombytes_uniform (1000000));
}

int
gw_resident_code_hash (const char *code, const unsigned char salt[GW_RESIDENT_SALT_BYTES],
                       unsigned char out[GW_RESIDENT_HASH_BYTES])
{
    if (!code)
        return -1;
    return crypto_generichash (out, GW_RESIDENT_HASH_BYTES, (const unsigned char *) code, strlen (code), salt,
                               GW_RESIDENT_SALT_BYTES) == 0 ? 0 : -1;
}

bool
gw_resident_code_matches (const char *code, const unsigned char salt[GW_RESIDENT_SALT_BYTES],
                          const unsigned char hash[GW_RESIDENT_HASH_BYTES])
{
    unsigned char h[GW_RESIDENT_HASH_BYTES];
    if (!gw_resident_code_valid (code) || gw_resident_code_hash (code, salt, h) != 0)
        return false;
    bool same = sodium_memcmp (h, hash, sizeof h) == 0;
    sodium_memzero (h, sizeof h);
    return same;
}

gw_code_verdict_t
gw_resident_code_verdict (bool found, bool live, int tries, bool matches, int max_tries)
{
    if (!found)
        return GW_CODE_NONE;
    if (!live || tries >= max_tries)
        return GW_CODE_VOID;         /* a dead code goes, whatever was sent */
    if (matches)
        return GW_CODE_ACCEPT;
    return tries + 1 >= max_tries ? GW_CODE_VOID : GW_CODE_WRONG;
}

void
gw_resident_sms_text (const char *code, int ttl_s, char *out, size_t cap)
{
    int minutes = ttl_s / 60 > 0 ? ttl_s / 60 : 1;
    snprintf (out, cap,
              "您的登录验证码是 %s，%d 分钟内有效，请勿告诉他人。"
              "Your sign-in code is %s, valid for %d minutes. Do not share it.",
              code, minutes, code, minutes);
}

/* --- state, made on first use ------------------------------------------------- */

static const db_statement_t s_statements[] = {
    { "res_send_reserve", "SELECT resident_send_reserve($1, $2, $3::int, $4::int, $5::int, $6::int)", false },
    /* a new code replaces the phone's last one (and its tries) */
    { "res_code_put",
      "INSERT INTO resident_codes (phone, code_hash, salt, expires_at) "
      "VALUES ($1, $2::bytea, $3::bytea, now() + make_interval(secs => $4::int)) "
      "ON CONFLICT (phone) DO UPDATE SET code_hash = EXCLUDED.code_hash, salt = EXCLUDED.salt, "
      "    tries = 0, created_at = now(), expires_at = EXCLUDED.expires_at", false },
    { "res_code_get",
      "SELECT code_hash, salt, tries, expires_at > now() FROM resident_codes WHERE phone = $1 FOR UPDATE",
      false },
    { "res_code_delete", "DELETE FROM resident_codes WHERE phone = $1", false },
    { "res_code_wrong", "UPDATE resident_codes SET tries = tries + 1 WHERE phone = $1", false },
    { "res_token_insert",
      "INSERT INTO resident_tokens (token_hash, resident_id, name, party_ids, property_ids, expires_at) "
      "VALUES ($1::bytea, $2::uuid, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb))::uuid[], "
      "        ARRAY(SELECT DISTINCT jsonb_array_elements_text($5::jsonb))::uuid[], "
      "        now() + make_interval(secs => $6::int)) "
      "RETURNING " DB_UTC_TS ("expires_at"), false },
};

static struct {
    bool ready;
    int code_ttl_s;
    char code_ttl[16], token_ttl[16], phone_max[16], phone_window[16], addr_max[16], addr_window[16];
} s_cfg;

static void
s_int (char *out, size_t cap, const char *name, int64_t dflt, int64_t min, int64_t max)
{
    snprintf (out, cap, "%lld", (long long) config_int (name, dflt, min, max));
}

/* 0, or -1 after answering 503. */
static int
s_ready (gw_t *gw, gw_ctx_t *ctx)
{
    if (s_cfg.ready)
        return 0;
    if (DB_PREPARE_ALL (gw->db, s_statements) != 0) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
        return -1;
    }
    s_cfg.code_ttl_s = (int) config_int ("PM_RESIDENT_CODE_TTL_S", GW_RESIDENT_CODE_TTL_S, 60, 3600);
    snprintf (s_cfg.code_ttl, sizeof s_cfg.code_ttl, "%d", s_cfg.code_ttl_s);
    s_int (s_cfg.token_ttl, sizeof s_cfg.token_ttl, "PM_RESIDENT_TOKEN_TTL_S", GW_RESIDENT_TOKEN_TTL_S, 60,
           365 * 86400);
    s_int (s_cfg.phone_max, sizeof s_cfg.phone_max, "PM_RESIDENT_CODE_PHONE_MAX", GW_RESIDENT_SEND_PHONE_MAX, 1,
           1000000);
    s_int (s_cfg.phone_window, sizeof s_cfg.phone_window, "PM_RESIDENT_CODE_PHONE_WINDOW_S",
           GW_RESIDENT_SEND_PHONE_WINDOW_S, 1, 86400);
    s_int (s_cfg.addr_max, sizeof s_cfg.addr_max, "PM_RESIDENT_CODE_ADDR_MAX", GW_RESIDENT_SEND_ADDR_MAX, 1,
           1000000);
    s_int (s_cfg.addr_window, sizeof s_cfg.addr_window, "PM_RESIDENT_CODE_ADDR_WINDOW_S",
           GW_RESIDENT_SEND_ADDR_WINDOW_S, 1, 86400);
    s_cfg.ready = true;
    return 0;
}

/* --- helpers ----------------------------------------------------------------- */

static void
s_hex_param (const unsigned char *bin, size_t n, char out[S_HEX_PARAM])
{
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex (out + 2, S_HEX_PARAM - 2, bin, n);
}

/* A bytea column's text ("\x" + hex) into exactly n bytes; false otherwise. */
static bool
s_bytea (const char *text, unsigned char *out, size_t n)
{
    size_t got = 0;
    return text && strncmp (text, "\\x", 2) == 0
           && sodium_hex2bin (out, n, text + 2, strlen (text + 2), NULL, &got, NULL) == 0 && got == n;
}

/* The phone of a request body; NULL after answering 422 (with the other
 * problems v already holds). */
static const char *
s_input_phone (gw_ctx_t *ctx, jv_t *v, char phone[PII_PHONE_MAX + 1])
{
    const char *typed = NULL;
    if (jv_object (v, ctx->data))
        typed = jv_string (v, ctx->data, "phone", JV_REQUIRED, PII_PHONE_INPUT_MAX);
    if (typed && !gw_resident_phone (typed, phone))
        jv_problem (v, "phone", "is not a mobile number (a mainland mobile, or + and 8..15 digits)");
    return typed && jv_ok (v) ? phone : NULL;
}

/* One call to another service for a request (the lookup) or for nobody (the SMS). */
typedef enum { S_FOR_CODE, S_FOR_LOGIN, S_FOR_SMS } s_kind_t;

typedef struct {
    s_kind_t kind;
    gw_t *gw;
    gw_ctx_t *ctx;                   /* NULL for the SMS */
    char id[ENVELOPE_ID_MAX + 1];
    char phone[PII_PHONE_MAX + 1];
    char code[GW_RESIDENT_CODE_DIGITS + 1];
    char name[PII_PHONE_MAX + 8];    /* "phone:<phone>": the login limits' name */
    char addr[GW_AUTH_ADDR_MAX + 16];    /* "resident:<address>" */
} s_call_t;

static void
s_call_free (s_call_t *call)
{
    if (call) {
        sodium_memzero (call->code, sizeof call->code);
        free (call);
    }
}

static void s_on_reply (void *arg, env_reply_t *rep);

/* Sends method with data (consumed) as the gateway; 0, or -1 (call not taken). */
static int
s_send (s_call_t *call, const char *service, const char *method, cJSON *data)
{
    gw_t *gw = call->gw;
    gw_fresh_id (call->id);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddObjectToObject (body, "params");
    cJSON_AddItemToObject (body, "data", data);
    env_caller_t caller = { .user_id = "gateway", .role = "service", .property_ids = NULL };
    int64_t deadline = env_now_ms () + gw->timeout_ms;
    char *request = env_request_build (call->id, method, &caller, deadline, body);
    int rc = request && gw->client
             ? client_send (gw->client, service, call->id, request, deadline, s_on_reply, call) : -1;
    free (request);
    return rc;
}

/* Asks tenants for the phone's parties and units; the answer goes on in
 * s_on_reply. call consumed. */
static void
s_lookup (s_call_t *call)
{
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "phone", call->phone);
    if (s_send (call, "tenants", GW_RESIDENT_LOOKUP_METHOD, data) != 0) {
        gw_finish_error (call->ctx, 503, "service_unavailable", NULL, "cannot check the phone now");
        s_call_free (call);
    }
}

/* The SMS carrying code, sent through notifications; not waited for (the
 * answer to the code request must not take longer for a known phone). */
static void
s_send_sms (gw_t *gw, const char *request_id, const char *phone, const char *code)
{
    s_call_t *sms = calloc (1, sizeof *sms);
    if (!sms) {
        log_warn (request_id, "resident code: no memory to send the SMS");
        return;
    }
    sms->kind = S_FOR_SMS;
    sms->gw = gw;
    char text[512];
    gw_resident_sms_text (code, s_cfg.code_ttl_s, text, sizeof text);
    cJSON *data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "to", phone);
    cJSON_AddStringToObject (data, "text", text);
    sodium_memzero (text, sizeof text);
    if (s_send (sms, "notifications", GW_RESIDENT_SMS_METHOD, data) != 0) {
        log_warn (request_id, "resident code: the SMS could not be handed to notifications");
        s_call_free (sms);
    }
    else
        log_info (request_id, "resident code: SMS handed to notifications (%s)", sms->id);
}

/* The parties (UUIDs, at most GW_RESIDENT_PARTIES_MAX) of a lookup's body,
 * as a new array; NULL when the body is not one tenants gives. */
static cJSON *
s_party_ids (const cJSON *body)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive (body, "party_ids");
    if (!cJSON_IsArray (ids))
        return NULL;
    cJSON *out = cJSON_CreateArray ();
    const cJSON *p;
    cJSON_ArrayForEach (p, ids) {
        if (!cJSON_IsString (p) || !jv_is_uuid (p->valuestring))
            continue;
        if (cJSON_GetArraySize (out) >= GW_RESIDENT_PARTIES_MAX)
            break;
        cJSON_AddItemToArray (out, cJSON_CreateString (p->valuestring));
    }
    return out;
}

/* --- POST /v1/resident/auth/code ------------------------------------------------ */

void
gw_resident_code (gw_t *gw, gw_ctx_t *ctx)
{
    if (s_ready (gw, ctx) != 0)
        return;
    jv_t v = JV_INIT;
    char phone[PII_PHONE_MAX + 1];
    if (!s_input_phone (ctx, &v, phone)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "a mobile number is required");
        return;
    }
    char addr[GW_AUTH_ADDR_MAX];
    gw_auth_client_addr (ctx, addr);
    PGresult *res = db_exec (gw->db, "res_send_reserve", 6,
                             (const char *[]) { phone, addr, s_cfg.phone_max, s_cfg.phone_window,
                                                s_cfg.addr_max, s_cfg.addr_window });
    if (!db_ok (res) || PQntuples (res) != 1) {
        gw_finish_db_error (ctx, res, "resident code throttle");
        PQclear (res);
        return;
    }
    int wait = atoi (PQgetvalue (res, 0, 0));
    PQclear (res);
    if (wait > 0) {
        char extra[48];
        snprintf (extra, sizeof extra, "Retry-After: %d\r\n", wait);
        log_info (ctx->req->request_id, "resident code refused: too many requests");
        gw_finish (ctx, 429, env_error_body ("rate_limited", "too many code requests; retry later", NULL,
                                             ctx->req->request_id), extra);
        return;
    }
    s_call_t *call = calloc (1, sizeof *call);
    if (!call) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        return;
    }
    call->kind = S_FOR_CODE;
    call->gw = gw;
    call->ctx = ctx;
    snprintf (call->phone, sizeof call->phone, "%s", phone);
    s_lookup (call);
}

/* The lookup answered for a code request: a code stored and sent when the
 * phone has parties with units now; the same 202 either way. */
static void
s_code_looked_up (s_call_t *call, const cJSON *body)
{
    gw_t *gw = call->gw;
    gw_ctx_t *ctx = call->ctx;
    cJSON *parties = s_party_ids (body);
    bool known = parties && cJSON_GetArraySize (parties) > 0;
    cJSON_Delete (parties);
    if (known) {
        char code[GW_RESIDENT_CODE_DIGITS + 1];
        unsigned char salt[GW_RESIDENT_SALT_BYTES], hash[GW_RESIDENT_HASH_BYTES];
        char hash_param[S_HEX_PARAM], salt_param[S_HEX_PARAM];
        gw_resident_code_new (code);
        randombytes_buf (salt, sizeof salt);
        if (gw_resident_code_hash (code, salt, hash) != 0) {
            gw_finish_error (ctx, 503, "service_unavailable", NULL, "cannot make a code now");
            return;
        }
        s_hex_param (hash, sizeof hash, hash_param);
        s_hex_param (salt, sizeof salt, salt_param);
        PGresult *res = db_exec (gw->db, "res_code_put", 4,
                                 (const char *[]) { call->phone, hash_param, salt_param, s_cfg.code_ttl });
        if (!db_ok (res)) {
            gw_finish_db_error (ctx, res, "resident code insert");
            PQclear (res);
            sodium_memzero (code, sizeof code);
            return;
        }
        PQclear (res);
        s_send_sms (gw, ctx->req->request_id, call->phone, code);
        sodium_memzero (code, sizeof code);
    }
    /* no log line says which it was: logs are read by more people than codes */
    cJSON *out = cJSON_CreateObject ();
    cJSON_AddBoolToObject (out, "accepted", true);
    cJSON_AddNumberToObject (out, "expires_in", s_cfg.code_ttl_s);
    gw_finish_json (ctx, 202, out);
}

/* --- POST /v1/resident/auth/login ------------------------------------------------ */

void
gw_resident_login (gw_t *gw, gw_ctx_t *ctx)
{
    if (s_ready (gw, ctx) != 0)
        return;
    jv_t v = JV_INIT;
    char phone[PII_PHONE_MAX + 1];
    const char *code = NULL;
    bool phone_ok = s_input_phone (ctx, &v, phone) != NULL;
    if (cJSON_IsObject (ctx->data)) {
        code = jv_string (&v, ctx->data, "code", JV_REQUIRED, 32);
        if (code && !gw_resident_code_valid (code))
            jv_problem (&v, "code", "must be %d digits", GW_RESIDENT_CODE_DIGITS);
    }
    if (!phone_ok || !jv_ok (&v)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "phone and code are required");
        return;
    }
    s_call_t *call = calloc (1, sizeof *call);
    if (!call) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        return;
    }
    call->kind = S_FOR_LOGIN;
    call->gw = gw;
    call->ctx = ctx;
    snprintf (call->phone, sizeof call->phone, "%s", phone);
    snprintf (call->code, sizeof call->code, "%s", code);
    snprintf (call->name, sizeof call->name, "phone:%s", phone);
    char addr[GW_AUTH_ADDR_MAX];
    gw_auth_client_addr (ctx, addr);
    /* residents' failures are counted apart from the staff's on one address */
    snprintf (call->addr, sizeof call->addr, "resident:%s", addr);
    if (gw_auth_reserve_attempt (gw, ctx, call->name, call->addr) != 0) {
        s_call_free (call);
        return;
    }
    s_lookup (call);
}

/* The code sent, checked against the stored one and consumed or counted, in
 * one transaction (the row locked: two tries at once cannot both pass). The
 * verdict, or -1 after answering the database's error. */
static int
s_check_code (gw_t *gw, gw_ctx_t *ctx, const s_call_t *call)
{
    int verdict = -1;
    PGresult *res = NULL;
    if (db_begin (gw->db) != 0) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
        goto out;
    }
    res = db_exec (gw->db, "res_code_get", 1, (const char *[]) { call->phone });
    if (!db_ok (res)) {
        gw_finish_db_error (ctx, res, "resident code read");
        goto out;
    }
    unsigned char hash[GW_RESIDENT_HASH_BYTES], salt[GW_RESIDENT_SALT_BYTES];
    bool found = PQntuples (res) == 1 && s_bytea (PQgetvalue (res, 0, 0), hash, sizeof hash)
                 && s_bytea (PQgetvalue (res, 0, 1), salt, sizeof salt);
    bool live = found && PQgetvalue (res, 0, 3)[0] == 't';
    int tries = found ? atoi (PQgetvalue (res, 0, 2)) : 0;
    bool matches = found && gw_resident_code_matches (call->code, salt, hash);
    gw_code_verdict_t v = gw_resident_code_verdict (found, live, tries, matches, GW_RESIDENT_CODE_TRIES);
    PQclear (res);
    res = NULL;
    if (v == GW_CODE_ACCEPT || v == GW_CODE_VOID)
        res = db_exec (gw->db, "res_code_delete", 1, (const char *[]) { call->phone });
    else if (v == GW_CODE_WRONG)
        res = db_exec (gw->db, "res_code_wrong", 1, (const char *[]) { call->phone });
    if (res && !db_ok (res)) {
        gw_finish_db_error (ctx, res, "resident code update");
        goto out;
    }
    if (db_commit (gw->db) != 0) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
        goto out;
    }
    verdict = (int) v;
out:
    db_rollback (gw->db);            /* whatever is still open; nothing after a commit */
    PQclear (res);
    return verdict;
}

/* The lookup answered for a login: the code checked, then a token for the
 * parties that occupy units now. */
static void
s_login_looked_up (s_call_t *call, const cJSON *body)
{
    gw_t *gw = call->gw;
    gw_ctx_t *ctx = call->ctx;
    cJSON *parties = s_party_ids (body);
    cJSON *out = NULL, *props = NULL;
    char *parties_text = NULL, *props_text = NULL;
    PGresult *res = NULL;
    int verdict = s_check_code (gw, ctx, call);
    if (verdict < 0)
        goto done;
    if (verdict != GW_CODE_ACCEPT || !parties || cJSON_GetArraySize (parties) == 0) {
        /* one answer for a wrong, dead or absent code and for a phone that
         * has no unit (any more) */
        log_info (ctx->req->request_id, "resident login refused%s",
                  verdict == GW_CODE_VOID ? " (the code is void now)" : "");
        gw_finish_error (ctx, 401, "unauthenticated", NULL, "wrong or expired code");
        goto done;
    }
    gw_auth_attempt_succeeded (gw, call->name, call->addr);
    if (http_req_gone (ctx->req)) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "client gone");
        goto done;
    }
    /* the units, as tenants answered them (what the token is NOT: each
     * service checks them again against its own current copy) */
    cJSON *units = cJSON_CreateArray ();
    props = cJSON_CreateArray ();
    const cJSON *u;
    cJSON_ArrayForEach (u, cJSON_GetObjectItemCaseSensitive (body, "units")) {
        const char *pid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (u, "property_id"));
        if (!pid || !jv_is_uuid (pid) || cJSON_GetArraySize (units) >= GW_RESIDENT_UNITS_MAX)
            continue;
        cJSON_AddItemToArray (units, cJSON_Duplicate (u, true));
        cJSON_AddItemToArray (props, cJSON_CreateString (pid));
    }
    parties_text = cJSON_PrintUnformatted (parties);
    props_text = cJSON_PrintUnformatted (props);
    char token[GW_AUTH_TOKEN_MAX], param[GW_AUTH_HASH_PARAM_MAX], name[PII_PHONE_MASK_MAX];
    gw_auth_new_token (token, param);
    pii_phone_mask (call->phone, name);
    const char *resident_id = cJSON_GetArrayItem (parties, 0)->valuestring;
    res = parties_text && props_text
          ? db_exec (gw->db, "res_token_insert", 6,
                     (const char *[]) { param, resident_id, name, parties_text, props_text, s_cfg.token_ttl })
          : NULL;
    if (!res || !db_ok (res) || PQntuples (res) != 1) {
        if (res)
            gw_finish_db_error (ctx, res, "resident token insert");
        else
            gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        cJSON_Delete (units);
        sodium_memzero (token, sizeof token);
        goto done;
    }
    /* the audit's actor */
    snprintf (ctx->caller.id, sizeof ctx->caller.id, "%s", resident_id);
    snprintf (ctx->caller.role, sizeof ctx->caller.role, "resident");
    out = cJSON_CreateObject ();
    cJSON_AddStringToObject (out, "token", token);
    cJSON_AddStringToObject (out, "expires_at", PQgetvalue (res, 0, 0));
    cJSON *resident = cJSON_AddObjectToObject (out, "resident");
    cJSON_AddItemToObject (resident, "party_ids", parties);
    parties = NULL;
    cJSON_AddItemToObject (resident, "units", units);
    sodium_memzero (token, sizeof token);
    log_info (ctx->req->request_id, "resident login: party %s", resident_id);
    gw_finish_json (ctx, 200, out);
done:
    PQclear (res);
    cJSON_Delete (parties);
    cJSON_Delete (props);
    free (parties_text);
    free (props_text);
}

/* --- replies ------------------------------------------------------------------- */

static void
s_on_reply (void *arg, env_reply_t *rep)
{
    s_call_t *call = arg;
    if (call->kind == S_FOR_SMS) {
        if (rep->status < 200 || rep->status > 299)
            log_warn (call->id, "resident code: notifications answered %d %s to the SMS", rep->status,
                      rep->code ? rep->code : "");
        s_call_free (call);
        return;
    }
    const cJSON *body = rep->status == 200 ? env_reply_body (rep) : NULL;
    if (!cJSON_IsObject (body)) {
        log_warn (call->ctx->req->request_id, "resident %s: tenants answered %d %s",
                  call->kind == S_FOR_CODE ? "code" : "login", rep->status, rep->code ? rep->code : "");
        gw_finish_error (call->ctx, 503, "service_unavailable", NULL, "cannot check the phone now");
    }
    else if (call->kind == S_FOR_CODE)
        s_code_looked_up (call, body);
    else
        s_login_looked_up (call, body);
    s_call_free (call);
}
