/* envelope: build and parse requests, replies and events; see envelope.h.
 *
 * Every forwarded request is built once (gateway), parsed once (worker), its
 * reply built once (worker) and parsed once (gateway). Building them as
 * cJSON trees cost a deep copy of the body and a printf plus sscanf round
 * trip per number; the usual cases are therefore written straight to text
 * here, byte for byte what cJSON_PrintUnformatted printed for the same
 * document (test_envelope_text checks that), and anything unusual takes
 * the cJSON path as before. */
#include "envelope.h"
#include "jv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- text, as cJSON prints it ------------------------------------------- */

void
env_text_append (env_text_t *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        /* most replies fit the first buffer: one malloc, no regrowth */
        size_t cap = t->cap ? t->cap : 2048;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *buf = realloc (t->buf, cap);
        if (!buf) {
            t->failed = true;
            return;
        }
        t->buf = buf;
        t->cap = cap;
    }
    memcpy (t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}

void
env_text_put (env_text_t *t, const char *s)
{
    env_text_append (t, s, strlen (s));
}

/* A JSON string escaped as cJSON's print_string does: quote, backslash and
 * the short escapes, \u00XX for other control characters, every other
 * byte (UTF-8 included) as is. */
void
env_text_string (env_text_t *t, const char *s)
{
    if (!s) {
        env_text_append (t, "null", 4);
        return;
    }
    env_text_append (t, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p >= 32 && *p != '"' && *p != '\\')
            continue;
        env_text_append (t, run, (size_t) ((const char *) p - run));
        char esc[8];
        switch (*p) {
        case '"':  env_text_append (t, "\\\"", 2); break;
        case '\\': env_text_append (t, "\\\\", 2); break;
        case '\b': env_text_append (t, "\\b", 2); break;
        case '\f': env_text_append (t, "\\f", 2); break;
        case '\n': env_text_append (t, "\\n", 2); break;
        case '\r': env_text_append (t, "\\r", 2); break;
        case '\t': env_text_append (t, "\\t", 2); break;
        default:
            snprintf (esc, sizeof esc, "\\u%04x", *p);
            env_text_append (t, esc, 6);
        }
        run = (const char *) p + 1;
    }
    env_text_put (t, run);
    env_text_append (t, "\"", 1);
}

char *
env_text_take (env_text_t *t)
{
    char *out = t->failed ? NULL : t->buf;
    if (t->failed)
        free (t->buf);
    *t = (env_text_t) ENV_TEXT_INIT;
    return out;
}

/* Appends a document printed by cJSON (freed), or fails the text. */
static void
s_put_printed (env_text_t *t, char *printed)
{
    if (!printed)
        t->failed = true;
    else
        env_text_put (t, printed);
    free (printed);
}

/* cJSON prints an integral number below 2^53 in magnitude as its digits;
 * past 1e15 its "%1.15g" would switch to an exponent: not our fast path. */
#define S_PLAIN_INTEGER_MAX 999999999999999LL

int64_t
env_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
env_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
env_id_valid (const char *id)
{
    if (!id)
        return false;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return n >= 1 && n <= ENVELOPE_ID_MAX;
}

static const cJSON s_empty_object = { .type = cJSON_Object };

int
env_request_parse (const char *json, size_t len, env_request_t *req, char err[128])
{
    memset (req, 0, sizeof *req);
    req->root = cJSON_ParseWithLength (json, len);
    if (!cJSON_IsObject (req->root)) {
        snprintf (err, 128, "request is not a JSON object");
        goto fail;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (req->root, "v");
    if (!cJSON_IsNumber (v) || v->valueint != ENVELOPE_VERSION) {
        snprintf (err, 128, "unsupported envelope version");
        goto fail;
    }
    req->id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (req->root, "id"));
    req->method = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (req->root, "method"));
    if (!env_id_valid (req->id) || !req->method || !*req->method) {
        snprintf (err, 128, "request needs an id and a method");
        goto fail;
    }
    const cJSON *deadline = cJSON_GetObjectItemCaseSensitive (req->root, "deadline");
    /* a cast of a double out of int64_t's range (1e400 is inf) is undefined */
    req->deadline_ms = cJSON_IsNumber (deadline) && deadline->valuedouble >= 0
                       && deadline->valuedouble < 9.2e18 ? (int64_t) deadline->valuedouble : 0;

    const cJSON *caller = cJSON_GetObjectItemCaseSensitive (req->root, "caller");
    req->caller.user_id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (caller, "user_id"));
    req->caller.name = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (caller, "name"));
    req->caller.role = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (caller, "role"));
    const cJSON *pids = cJSON_GetObjectItemCaseSensitive (caller, "property_ids");
    req->caller.property_ids = cJSON_IsArray (pids) ? pids : NULL;
    const cJSON *parties = cJSON_GetObjectItemCaseSensitive (caller, "party_ids");
    req->caller.party_ids = cJSON_IsArray (parties) ? parties : NULL;
    if (!req->caller.role)
        req->caller.role = "";

    const cJSON *body = cJSON_GetObjectItemCaseSensitive (req->root, "body");
    req->body = cJSON_IsObject (body) ? body : &s_empty_object;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive (req->body, "params");
    req->params = cJSON_IsObject (params) ? params : &s_empty_object;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (req->body, "data");
    req->data = cJSON_IsNull (data) ? NULL : data;

    const cJSON *idem = cJSON_GetObjectItemCaseSensitive (req->root, "idempotency");
    if (idem) {
        req->idem_key = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (idem, "key"));
        req->idem_fingerprint = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (idem, "fingerprint"));
        if (!env_idem_key_valid (req->idem_key) || !env_idem_fingerprint_valid (req->idem_fingerprint)) {
            snprintf (err, 128, "idempotency needs a valid key and fingerprint");
            goto fail;
        }
    }
    return 0;
fail:
    cJSON_Delete (req->root);
    memset (req, 0, sizeof *req);
    return -1;
}

void
env_request_destroy (env_request_t *req)
{
    cJSON_Delete (req->root);
    memset (req, 0, sizeof *req);
}

bool
env_idem_key_valid (const char *key)
{
    if (!key)
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) key; *p; p++, n++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return n >= 1 && n <= ENV_IDEM_KEY_MAX;
}

bool
env_idem_fingerprint_valid (const char *fingerprint)
{
    if (!fingerprint)
        return false;
    size_t n = 0;
    for (const char *p = fingerprint; *p; p++, n++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return n == ENV_IDEM_FINGERPRINT_LEN;
}

/* True when the fast path prints this request as cJSON would. */
static bool
s_request_plain (const char *id, const char *method, const env_caller_t *caller,
                 int64_t deadline_ms)
{
    if (!id || !method || deadline_ms > S_PLAIN_INTEGER_MAX || deadline_ms < -S_PLAIN_INTEGER_MAX)
        return false;
    const cJSON *lists[2] = { caller ? caller->property_ids : NULL, caller ? caller->party_ids : NULL };
    for (int i = 0; i < 2; i++) {
        if (!lists[i])
            continue;
        if (!cJSON_IsArray (lists[i]))
            return false;
        const cJSON *p;
        cJSON_ArrayForEach (p, lists[i])
            if (!cJSON_IsString (p) || !p->valuestring)
                return false;
    }
    return true;
}

/* The same document as below, written directly. */
static char *
s_request_text (const char *id, const char *method, const env_caller_t *caller,
                int64_t deadline_ms, const char *idem_key, const char *idem_fingerprint, cJSON *body)
{
    env_text_t t = ENV_TEXT_INIT;
    char num[32];
    snprintf (num, sizeof num, "{\"v\":%d,\"id\":", ENVELOPE_VERSION);
    env_text_put (&t, num);
    env_text_string (&t, id);
    env_text_put (&t, ",\"method\":");
    env_text_string (&t, method);
    env_text_put (&t, ",\"caller\":{");
    if (caller) {
        if (caller->user_id) {
            env_text_put (&t, "\"user_id\":");
            env_text_string (&t, caller->user_id);
            env_text_put (&t, ",");
        }
        if (caller->name) {
            env_text_put (&t, "\"name\":");
            env_text_string (&t, caller->name);
            env_text_put (&t, ",");
        }
        env_text_put (&t, "\"role\":");
        env_text_string (&t, caller->role ? caller->role : "");
        env_text_put (&t, ",\"property_ids\":[");
        const cJSON *p;
        bool first = true;
        if (caller->property_ids)
            cJSON_ArrayForEach (p, caller->property_ids) {
                if (!first)
                    env_text_put (&t, ",");
                env_text_string (&t, p->valuestring);
                first = false;
            }
        env_text_put (&t, "]");
        if (caller->party_ids) {
            env_text_put (&t, ",\"party_ids\":[");
            first = true;
            cJSON_ArrayForEach (p, caller->party_ids) {
                if (!first)
                    env_text_put (&t, ",");
                env_text_string (&t, p->valuestring);
                first = false;
            }
            env_text_put (&t, "]");
        }
    }
    env_text_put (&t, "}");
    if (deadline_ms) {
        snprintf (num, sizeof num, ",\"deadline\":%lld", (long long) deadline_ms);
        env_text_put (&t, num);
    }
    if (idem_key) {
        env_text_put (&t, ",\"idempotency\":{\"key\":");
        env_text_string (&t, idem_key);
        env_text_put (&t, ",\"fingerprint\":");
        env_text_string (&t, idem_fingerprint);
        env_text_put (&t, "}");
    }
    env_text_put (&t, ",\"body\":");
    if (body)
        s_put_printed (&t, cJSON_PrintUnformatted (body));
    else
        env_text_put (&t, "{}");
    env_text_put (&t, "}");
    cJSON_Delete (body);
    return env_text_take (&t);
}

char *
env_request_build (const char *id, const char *method, const env_caller_t *caller,
                   int64_t deadline_ms, cJSON *body)
{
    return env_request_build_keyed (id, method, caller, deadline_ms, NULL, NULL, body);
}

char *
env_request_build_keyed (const char *id, const char *method, const env_caller_t *caller,
                         int64_t deadline_ms, const char *idem_key, const char *idem_fingerprint,
                         cJSON *body)
{
    if (!idem_key || !idem_fingerprint)
        idem_key = idem_fingerprint = NULL;
    if (s_request_plain (id, method, caller, deadline_ms))
        return s_request_text (id, method, caller, deadline_ms, idem_key, idem_fingerprint, body);
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddNumberToObject (root, "v", ENVELOPE_VERSION);
    cJSON_AddStringToObject (root, "id", id);
    cJSON_AddStringToObject (root, "method", method);
    cJSON *c = cJSON_AddObjectToObject (root, "caller");
    if (caller) {
        if (caller->user_id)
            cJSON_AddStringToObject (c, "user_id", caller->user_id);
        if (caller->name)
            cJSON_AddStringToObject (c, "name", caller->name);
        cJSON_AddStringToObject (c, "role", caller->role ? caller->role : "");
        cJSON_AddItemToObject (c, "property_ids",
                               caller->property_ids ? cJSON_Duplicate (caller->property_ids, 1)
                                                    : cJSON_CreateArray ());
        if (caller->party_ids)
            cJSON_AddItemToObject (c, "party_ids", cJSON_Duplicate (caller->party_ids, 1));
    }
    if (deadline_ms)
        cJSON_AddNumberToObject (root, "deadline", (double) deadline_ms);
    if (idem_key) {
        cJSON *idem = cJSON_AddObjectToObject (root, "idempotency");
        cJSON_AddStringToObject (idem, "key", idem_key);
        cJSON_AddStringToObject (idem, "fingerprint", idem_fingerprint);
    }
    cJSON_AddItemToObject (root, "body", body ? body : cJSON_CreateObject ());
    char *out = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return out;
}

const char *
env_param (const env_request_t *req, const char *name)
{
    return cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (req->params, name));
}

const char *
env_query (const env_request_t *req, const char *name)
{
    const char *s = env_param (req, name);
    return s && *s ? s : NULL;
}

bool
env_caller_has_property (const env_caller_t *caller, const char *property_id)
{
    if (!caller->role || !property_id)
        return false;
    if (strcmp (caller->role, "admin") == 0 || strcmp (caller->role, "service") == 0)
        return true;
    if (strcmp (caller->role, "resident") == 0)
        return false;
    const cJSON *p;
    cJSON_ArrayForEach (p, caller->property_ids)
        if (cJSON_IsString (p) && strcmp (p->valuestring, property_id) == 0)
            return true;
    return false;
}

const char *
env_visible_property (const env_request_t *req)
{
    const char *pid = env_param (req, "pid");
    if (!pid || !jv_is_uuid (pid) || !env_caller_has_property (&req->caller, pid))
        return NULL;
    return pid;
}

bool
env_role_in (const env_request_t *req, const char *const *roles)
{
    const char *role = req->caller.role;
    for (int i = 0; role && roles[i]; i++)
        if (strcmp (role, roles[i]) == 0)
            return true;
    return false;
}

const char *const env_roles_managers[] = { "admin", "manager", NULL };
const char *const env_roles_desk[] = { "admin", "manager", "agent", NULL };
const char *const env_roles_staff[] = { "admin", "manager", "agent", "technician", NULL };
const char *const env_roles_resident[] = { "resident", NULL };

bool
env_caller_is_resident (const env_caller_t *caller)
{
    return caller && caller->role && strcmp (caller->role, "resident") == 0
           && cJSON_IsArray (caller->party_ids);
}

const cJSON *
env_caller_party_ids (const env_caller_t *caller)
{
    return env_caller_is_resident (caller) ? caller->party_ids : NULL;
}

char *
env_caller_party_ids_json (const env_caller_t *caller)
{
    const cJSON *ids = env_caller_party_ids (caller);
    if (!ids)
        return NULL;
    /* only UUID strings go into SQL parameters, whatever the envelope held */
    cJSON *clean = cJSON_CreateArray ();
    const cJSON *p;
    cJSON_ArrayForEach (p, ids)
        if (cJSON_IsString (p) && jv_is_uuid (p->valuestring))
            cJSON_AddItemToArray (clean, cJSON_CreateString (p->valuestring));
    char *out = clean ? cJSON_PrintUnformatted (clean) : NULL;
    cJSON_Delete (clean);
    return out;
}

char *
env_resident_parties (const env_request_t *req, env_reply_t *rep)
{
    if (!env_require_role (req, env_roles_resident, rep))
        return NULL;
    char *parties = env_caller_party_ids_json (&req->caller);
    if (!parties || strcmp (parties, "[]") == 0) {
        free (parties);
        env_reply_error (rep, 403, "forbidden", NULL, "this role may not do this");
        return NULL;
    }
    return parties;
}

bool
env_caller_has_party (const env_caller_t *caller, const char *party_id)
{
    const cJSON *ids = env_caller_party_ids (caller);
    const cJSON *p;
    if (!ids || !party_id)
        return false;
    cJSON_ArrayForEach (p, ids)
        if (cJSON_IsString (p) && strcasecmp (p->valuestring, party_id) == 0)
            return true;
    return false;
}

bool
env_require_role (const env_request_t *req, const char *const *roles, env_reply_t *rep)
{
    if (env_role_in (req, roles))
        return true;
    /* the role is ours to name (the gateway put it there), never echoed raw */
    env_reply_error (rep, 403, "forbidden", NULL, "this role may not do this");
    return false;
}

const char *
env_property_scope (const env_request_t *req, const char *const *roles, env_reply_t *rep)
{
    if (!env_require_role (req, roles, rep))
        return NULL;
    const char *pid = env_visible_property (req);
    if (!pid)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    return pid;
}

const char *
env_resource_scope (const env_request_t *req, const char *const *roles, const char *param,
                    const char *what, env_reply_t *rep, const char **pid)
{
    if (!env_require_role (req, roles, rep))
        return NULL;
    *pid = env_visible_property (req);
    const char *id = env_param (req, param);
    if (!*pid || !id || !jv_is_uuid (id)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    return id;
}

void
env_reply_reset (env_reply_t *rep)
{
    cJSON_Delete (rep->body);
    cJSON_Delete (rep->details);
    free (rep->body_json);
    free (rep->blob);
    memset (rep, 0, sizeof *rep);
}

void
env_reply_blob (env_reply_t *rep, int status, const char *content_type, const char *filename,
                const void *bytes, size_t len)
{
    env_reply_reset (rep);
    cJSON *body = cJSON_CreateObject ();
    void *copy = malloc (len ? len : 1);
    if (!body || !copy || !cJSON_AddStringToObject (body, "content_type", content_type ? content_type : "")
        || !(filename ? cJSON_AddStringToObject (body, "filename", filename)
                      : cJSON_AddNullToObject (body, "filename"))
        || !cJSON_AddNumberToObject (body, "size", (double) len)) {
        cJSON_Delete (body);
        free (copy);
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    if (len)
        memcpy (copy, bytes, len);
    rep->status = status;
    rep->body = body;
    rep->blob = copy;
    rep->blob_len = len;
}

const char *
env_reply_blob_type (env_reply_t *rep)
{
    if (!rep->blob)
        return NULL;
    return cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (env_reply_body (rep), "content_type"));
}

const char *
env_reply_blob_name (env_reply_t *rep)
{
    return cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (env_reply_body (rep), "filename"));
}

void
env_reply_ok (env_reply_t *rep, int status, cJSON *body)
{
    env_reply_reset (rep);
    rep->status = status;
    rep->body = body;
}

void
env_reply_text (env_reply_t *rep, int status, char *json)
{
    if (!json) {
        env_reply_error (rep, 500, "internal", NULL, "cannot build the reply");
        return;
    }
    env_reply_reset (rep);
    rep->status = status;
    rep->body_json = json;
}

void
env_reply_error (env_reply_t *rep, int status, const char *code, cJSON *details,
                 const char *fmt, ...)
{
    env_reply_reset (rep);
    rep->status = status;
    rep->code = code ? code : env_status_code (status);
    rep->details = details;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (rep->message, sizeof rep->message, fmt, ap);
    va_end (ap);
}

const char *
env_status_code (int status)
{
    switch (status) {
    case 400: return "bad_json";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 422: return "validation_failed";
    case 429: return "rate_limited";
    case 503: return "service_unavailable";
    case 504: return "timeout";
    default:  return status >= 500 ? "internal" : "bad_request";
    }
}

static cJSON *
s_error_object (const char *code, const char *message, const cJSON *details)
{
    cJSON *err = cJSON_CreateObject ();
    cJSON_AddStringToObject (err, "code", code);
    cJSON_AddStringToObject (err, "message", message ? message : "");
    cJSON_AddItemToObject (err, "details",
                           details ? cJSON_Duplicate (details, 1) : cJSON_CreateArray ());
    return err;
}

char *
env_reply_build (const char *id, const env_reply_t *rep)
{
    if (!rep->code) {
        /* a success: the body is printed in place, not copied first */
        env_text_t t = ENV_TEXT_INIT;
        char num[48];
        snprintf (num, sizeof num, "{\"v\":%d,\"id\":", ENVELOPE_VERSION);
        env_text_put (&t, num);
        env_text_string (&t, id ? id : "");
        snprintf (num, sizeof num, ",\"status\":%d,\"body\":", rep->status);
        env_text_put (&t, num);
        if (rep->body_json)
            env_text_put (&t, rep->body_json);
        else if (rep->body)
            s_put_printed (&t, cJSON_PrintUnformatted (rep->body));
        else
            env_text_put (&t, "{}");
        env_text_put (&t, "}");
        return env_text_take (&t);
    }
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddNumberToObject (root, "v", ENVELOPE_VERSION);
    cJSON_AddStringToObject (root, "id", id ? id : "");
    cJSON_AddNumberToObject (root, "status", rep->status);
    if (rep->code)
        cJSON_AddItemToObject (root, "error", s_error_object (rep->code, rep->message, rep->details));
    else
        cJSON_AddItemToObject (root, "body", rep->body ? cJSON_Duplicate (rep->body, 1)
                                                       : cJSON_CreateObject ());
    char *out = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return out;
}

/* ---- cutting the body out of a reply's text -------------------------- */

static const char *
s_skip_ws (const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the string starting at p ('"'), or NULL. */
static const char *
s_skip_string (const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past the value starting at p, or NULL. Only for text cJSON accepted. */
static const char *
s_skip_value (const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return s_skip_string (p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = s_skip_string (p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    while (p < end && !strchr (",}] \t\r\n", *p))
        p++;
    return p;
}

/* A copy of the first top-level "body" member's text, or NULL (absent,
 * out of memory, or a key written with escapes, which cJSON would match
 * and a byte comparison would not). */
static char *
s_body_text (const char *json, size_t len)
{
    const char *p = json, *end = json + len;
    p = s_skip_ws (p, end);
    if (p >= end || *p != '{')
        return NULL;
    p++;
    for (;;) {
        p = s_skip_ws (p, end);
        if (p >= end || *p != '"')
            return NULL;
        const char *key = p + 1;
        p = s_skip_string (p, end);
        /* a key cJSON reads otherwise than its bytes: escaped, or cut at a NUL */
        if (!p || memchr (key, '\\', (size_t) (p - 1 - key)) || memchr (key, 0, (size_t) (p - 1 - key)))
            return NULL;
        bool is_body = p - 1 - key == 4 && memcmp (key, "body", 4) == 0;
        p = s_skip_ws (p, end);
        if (p >= end || *p != ':')
            return NULL;
        p = s_skip_ws (p + 1, end);
        const char *value = p;
        p = s_skip_value (p, end);
        if (!p)
            return NULL;
        if (is_body) {
            /* cJSON takes any byte below 0x20 (NUL too) as blank, and raw
             * controls inside strings: text holding one is not what a worker
             * prints, nor JSON a client can read; print it again instead */
            if (p == value)
                return NULL;
            for (const char *c = value; c < p; c++)
                if ((unsigned char) *c < 0x20)
                    return NULL;
            return strndup (value, (size_t) (p - value));
        }
        p = s_skip_ws (p, end);
        if (p >= end || *p != ',')
            return NULL;
        p++;
    }
}

int
env_reply_parse (const char *json, size_t len, char id[ENVELOPE_ID_MAX + 1], env_reply_t *rep)
{
    memset (rep, 0, sizeof *rep);
    id[0] = 0;
    cJSON *root = cJSON_ParseWithLength (json, len);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive (root, "status");
    if (!cJSON_IsObject (root) || !cJSON_IsNumber (status)) {
        cJSON_Delete (root);
        return -1;
    }
    const char *rid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (root, "id"));
    if (rid)
        snprintf (id, ENVELOPE_ID_MAX + 1, "%s", rid);
    rep->status = status->valueint;
    cJSON *err = cJSON_GetObjectItemCaseSensitive (root, "error");
    if (cJSON_IsObject (err)) {
        const char *code = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (err, "code"));
        const char *msg = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (err, "message"));
        /* codes come from a fixed vocabulary; keep a static string */
        rep->code = env_status_code (rep->status);
        static const char *const known[] = {
            "bad_json", "validation_failed", "unauthenticated", "forbidden", "not_found",
            "conflict", "invalid_transition", "idempotency_mismatch", "payload_too_large",
            "unsupported_media_type", "rate_limited", "service_unavailable", "timeout",
            "internal", "method_not_allowed", "bad_request",
            "checklist_incomplete", "arrears_outstanding", "invalid_claim_code", "claim_locked",
            "activity_full", NULL };
        for (int i = 0; code && known[i]; i++)
            if (strcmp (code, known[i]) == 0)
                rep->code = known[i];
        snprintf (rep->message, sizeof rep->message, "%s", msg ? msg : "");
        cJSON *details = cJSON_DetachItemFromObjectCaseSensitive (err, "details");
        rep->details = cJSON_IsArray (details) ? details : (cJSON_Delete (details), NULL);
    }
    else {
        rep->body = cJSON_DetachItemFromObjectCaseSensitive (root, "body");
        if (rep->body)
            rep->body_json = s_body_text (json, len);
    }
    cJSON_Delete (root);
    return 0;
}

/* ---- reading a reply without a tree ---------------------------------- */

/* The gateway forwards a success body as the text the service printed, so
 * building a cJSON tree of the whole reply only to find id, status and the
 * body's span was most of the gateway's cost of a reply (~6 µs per GET).
 * env_reply_read checks the body with a strict JSON scanner that allocates
 * nothing, and takes only text cJSON would take too: anything else (spaces
 * other than ' ', \u escapes of surrogates, long numbers, deep nesting) goes
 * to env_reply_parse, which decides as before. */

#define S_LIGHT_DEPTH 64             /* deeper bodies: the full parse (cJSON's limit is 1000) */
#define S_LIGHT_NUMBER_MAX 63        /* cJSON reads at most 63 characters of a number */

static const char *
s_light_space (const char *p, const char *end)
{
    while (p < end && *p == ' ')     /* cJSON_PrintUnformatted prints no other */
        p++;
    return p;
}

/* Past the string at p ('"'), or NULL. Bytes >= 0x80 pass as cJSON passes
 * them; a \u escape of a surrogate is left to cJSON, which checks pairs. */
static const char *
s_light_string (const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char) *p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c != '\\')
            continue;
        if (++p >= end)
            return NULL;
        switch (*p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            break;
        case 'u': {
            if (end - p < 5)
                return NULL;
            int v = 0;
            for (int i = 1; i <= 4; i++) {
                int d = jv_hex_digit (p[i]);
                if (d < 0)
                    return NULL;
                v = v * 16 + d;
            }
            if (v >= 0xD800 && v <= 0xDFFF)
                return NULL;
            p += 4;
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL;
}

static const char *
s_light_digits (const char *p, const char *end)
{
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p > start ? p : NULL;
}

/* Past the number at p (RFC 8259's grammar), or NULL. */
static const char *
s_light_number (const char *p, const char *end)
{
    const char *start = p;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!(p = s_light_digits (p, end)))
        return NULL;
    if (p < end && *p == '.' && !(p = s_light_digits (p + 1, end)))
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = s_light_digits (p, end)))
            return NULL;
    }
    return p - start <= S_LIGHT_NUMBER_MAX ? p : NULL;
}

/* p past the literal text lit, or NULL. */
static const char *
s_light_expect (const char *p, const char *end, const char *lit)
{
    size_t n = strlen (lit);
    return (size_t) (end - p) >= n && memcmp (p, lit, n) == 0 ? p + n : NULL;
}

/* Past the value at p (no leading space), or NULL. */
static const char *
s_light_value (const char *p, const char *end, int depth)
{
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        return s_light_string (p, end);
    case 't':
        return s_light_expect (p, end, "true");
    case 'f':
        return s_light_expect (p, end, "false");
    case 'n':
        return s_light_expect (p, end, "null");
    case '{':
    case '[': {
        bool object = *p == '{';
        char close = object ? '}' : ']';
        if (depth >= S_LIGHT_DEPTH)
            return NULL;
        p = s_light_space (p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (object) {
                if (p >= end || *p != '"' || !(p = s_light_string (p, end)))
                    return NULL;
                p = s_light_space (p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p = s_light_space (p + 1, end);
            }
            if (!(p = s_light_value (p, end, depth + 1)))
                return NULL;
            p = s_light_space (p, end);
            if (p >= end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p = s_light_space (p + 1, end);
        }
    }
    default:
        return s_light_number (p, end);
    }
}

int
env_reply_read (const char *json, size_t len, char id[ENVELOPE_ID_MAX + 1], env_reply_t *rep)
{
    /* exactly as env_reply_build prints a success */
    const char *p = json, *end = json + len;
    if (!(p = s_light_expect (p, end, "{\"v\":1,\"id\":\"")))
        goto full;
    const char *rid = p;
    while (p < end && p - rid <= ENVELOPE_ID_MAX
           && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
               || *p == '.' || *p == '_' || *p == '-'))
        p++;
    size_t idn = (size_t) (p - rid);
    if (idn > ENVELOPE_ID_MAX || !(p = s_light_expect (p, end, "\",\"status\":")))
        goto full;
    int status = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 3)
        status = status * 10 + (*p++ - '0');
    if (p == digits || !(p = s_light_expect (p, end, ",\"body\":")))
        goto full;                   /* an error reply, or not printed by us */
    const char *body = p;
    if (body >= end || *body == ' ' || !(p = s_light_value (body, end, 0)) || end - p != 1 || *p != '}')
        goto full;
    char *text = strndup (body, (size_t) (p - body));
    if (!text)
        goto full;
    memset (rep, 0, sizeof *rep);
    rep->status = status;
    rep->body_json = text;
    memcpy (id, rid, idn);
    id[idn] = 0;
    return 0;
full:
    return env_reply_parse (json, len, id, rep);
}

cJSON *
env_reply_body (env_reply_t *rep)
{
    if (!rep->body && rep->body_json && !rep->code)
        rep->body = cJSON_Parse (rep->body_json);
    return rep->body;
}

char *
env_error_body (const char *code, const char *message, const cJSON *details,
                const char *request_id)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddItemToObject (root, "error", s_error_object (code, message, details));
    cJSON_AddStringToObject (root, "request_id", request_id ? request_id : "");
    char *out = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return out;
}
