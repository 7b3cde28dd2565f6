/* test_gw_auth: the pure parts of authentication (services/gateway/gw_auth.c):
 * the Bearer header, usernames, password length in characters, roles, the
 * format of new secrets and of hash parameters, the password policy, RFC 3339
 * times, client address keys, the cache's evictions by id; and of the audit
 * (gw_audit.c): which methods are kept, target and property ids, from/to
 * bounds; and gw_listen's channel check. The endpoints are covered by
 * tests/blackbox/test_auth.py, test_accounts.py and test_audit.py; the answer
 * functions are stubbed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/gw_auth.c"
#include "../../services/gateway/gw_inputs.c"
#include "../../services/gateway/gw_audit.c"
#include "../../services/gateway/gw_listen.c"

void gw_finish (gw_ctx_t *ctx, int status, char *body, const char *extra)
{ (void) ctx; (void) status; (void) extra; free (body); }
void gw_finish_json (gw_ctx_t *ctx, int status, cJSON *json)
{ (void) ctx; (void) status; cJSON_Delete (json); }
void gw_finish_error (gw_ctx_t *ctx, int status, const char *code, cJSON *details, const char *fmt, ...)
{ (void) ctx; (void) status; (void) code; (void) fmt; cJSON_Delete (details); }
void gw_finish_db_error (gw_ctx_t *ctx, const PGresult *res, const char *what)
{ (void) ctx; (void) res; (void) what; }
void gw_finish_page (gw_ctx_t *ctx, PGresult *res, cJSON *page, const char *what)
{ (void) ctx; (void) what; cJSON_Delete (page); PQclear (res); }
bool http_req_gone (const http_req_t *req) { (void) req; return false; }
int http_req_peer (const http_req_t *req, struct sockaddr_storage *out)
{ (void) req; (void) out; return -1; }
void gw_fresh_id (char out[ENVELOPE_ID_MAX + 1]) { snprintf (out, ENVELOPE_ID_MAX + 1, "test-id"); }

static void
test_bearer (void **state)
{
    (void) state;
    size_t len = 0;
    const char *tok = "sUvuBran1Zc-iMv7QpjF0s70oKLcHemEMLjCen6DKHo";
    char h[128];
    snprintf (h, sizeof h, "Bearer %s", tok);
    const char *t = gw_auth_bearer (h, &len);
    assert_non_null (t);
    assert_int_equal (len, strlen (tok));
    assert_memory_equal (t, tok, len);
    snprintf (h, sizeof h, "bearer   %s", tok);
    assert_non_null (gw_auth_bearer (h, &len));
    assert_non_null (gw_auth_bearer ("Bearer pmk_abcdefghijklmnopqrstuvwxyz", &len));
    assert_null (gw_auth_bearer (NULL, &len));
    assert_null (gw_auth_bearer ("", &len));
    assert_null (gw_auth_bearer ("Bearer", &len));
    assert_null (gw_auth_bearer ("Bearer ", &len));
    assert_null (gw_auth_bearer ("Basic YWRtaW46YWRtaW4=", &len));
    assert_null (gw_auth_bearer ("Bearer short", &len));
    assert_null (gw_auth_bearer ("Bearer abcdefghijklmnopqrstuvwxyz=", &len));
    assert_null (gw_auth_bearer ("Bearer abcdefghijklmnop qrstuvwxyz", &len));
    assert_null (gw_auth_bearer ("Bearer abcdefghijklmnopqrstuvwxyz\x01", &len));
    assert_null (gw_auth_bearer ("BearerXabcdefghijklmnopqrstuvwxyz", &len));
    char big[200] = "Bearer ";
    memset (big + 7, 'a', 150);
    big[157] = 0;
    assert_null (gw_auth_bearer (big, &len));
}

static void
test_username (void **state)
{
    (void) state;
    assert_true (gw_auth_username_valid ("bob"));
    assert_true (gw_auth_username_valid ("Front.Desk_1-a"));
    assert_false (gw_auth_username_valid ("ab"));
    assert_false (gw_auth_username_valid ("a b"));
    assert_false (gw_auth_username_valid ("物业"));
    assert_false (gw_auth_username_valid ("x@y"));
    assert_false (gw_auth_username_valid (""));
    char s[70];
    memset (s, 'u', 64);
    s[64] = 0;
    assert_true (gw_auth_username_valid (s));
    s[64] = 'u';
    s[65] = 0;
    assert_false (gw_auth_username_valid (s));
}

static void
test_chars_and_roles (void **state)
{
    (void) state;
    assert_int_equal (gw_auth_utf8_chars ("abc"), 3);
    assert_int_equal (gw_auth_utf8_chars ("密码"), 2);
    assert_int_equal (gw_auth_utf8_chars ("a😀b"), 3);
    assert_int_equal (gw_auth_utf8_chars (""), 0);
    assert_int_equal (gw_role_bit ("admin"), GW_ROLE_ADMIN);
    assert_int_equal (gw_role_bit ("manager"), GW_ROLE_MANAGER);
    assert_int_equal (gw_role_bit ("agent"), GW_ROLE_AGENT);
    assert_int_equal (gw_role_bit ("technician"), GW_ROLE_TECHNICIAN);
    assert_int_equal (gw_role_bit ("integration"), GW_ROLE_INTEGRATION);
    assert_int_equal (gw_role_bit ("service"), 0);      /* never a caller of the HTTP API */
    assert_int_equal (gw_role_bit ("Admin"), 0);
    assert_int_equal (gw_role_bit (""), 0);
    assert_int_equal (gw_role_bit (NULL), 0);
}

static void
test_secrets (void **state)
{
    (void) state;
    assert_true (sodium_init () >= 0);
    char a[96], b[96];
    s_new_secret ("", a, sizeof a);
    s_new_secret ("", b, sizeof b);
    assert_int_equal (strlen (a), 43);               /* 32 bytes, base64url, no padding */
    assert_string_not_equal (a, b);
    size_t len;
    char h[128];
    snprintf (h, sizeof h, "Bearer %s", a);
    assert_non_null (gw_auth_bearer (h, &len));      /* what we issue, we accept */
    s_new_secret (GW_API_KEY_PREFIX, a, sizeof a);
    assert_int_equal (strncmp (a, "pmk_", 4), 0);
    assert_int_equal (strlen (a), 47);
    snprintf (h, sizeof h, "Bearer %s", a);
    assert_non_null (gw_auth_bearer (h, &len));
    unsigned char hash[crypto_hash_sha256_BYTES] = { 0xab, 0x01 };
    char param[HASH_HEX];
    s_hash_param (hash, param);
    assert_int_equal (strlen (param), 66);
    assert_int_equal (strncmp (param, "\\xab01", 6), 0);
}

static void
test_password_policy (void **state)
{
    (void) state;
    assert_null (gw_auth_password_problem ("correct horse", "bob"));
    assert_null (gw_auth_password_problem ("密码密码密码密码", "bob"));     /* 8 characters, 24 bytes */
    assert_non_null (gw_auth_password_problem ("密码密码密码密", "bob"));   /* 7 */
    assert_string_equal (gw_auth_password_problem ("short", "bob"), "must be 8 to 128 characters");
    assert_string_equal (gw_auth_password_problem ("Front.Desk", "front.desk"), "must not be the username");
    assert_null (gw_auth_password_problem ("front.desk1", "front.desk"));
    assert_non_null (gw_auth_password_problem (NULL, "bob"));
    char big[200];
    memset (big, 'p', 128);
    big[128] = 0;
    assert_null (gw_auth_password_problem (big, NULL));
    big[128] = 'p';
    big[129] = 0;
    assert_non_null (gw_auth_password_problem (big, NULL));
}

static void
test_parse_time (void **state)
{
    (void) state;
    int64_t ms = -1;
    assert_int_equal (gw_auth_parse_time ("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal (ms, 0);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T08:00:00Z", &ms), 0);
    assert_int_equal (ms, 1801382400000LL);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T16:00:00.5+08:00", &ms), 0);
    assert_int_equal (ms, 1801382400500LL);
    assert_int_equal (gw_auth_parse_time ("2027-01-31t07:30:00.123456-00:30", &ms), 0);
    assert_int_equal (ms, 1801382400123LL);
    assert_int_equal (gw_auth_parse_time ("2028-02-29T00:00:00z", &ms), 0);      /* a leap day */
    assert_int_equal (gw_auth_parse_time ("2027-02-29T00:00:00Z", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2100-02-29T00:00:00Z", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2000-02-29T00:00:00Z", &ms), 0);
    assert_int_equal (gw_auth_parse_time ("2027-01-31", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T08:00:00", &ms), -1);    /* no zone */
    assert_int_equal (gw_auth_parse_time ("2027-13-01T00:00:00Z", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T24:00:00Z", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T08:00:00.Z", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T08:00:00+0800", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("2027-01-31T08:00:00Zjunk", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("1969-12-31T23:59:59Z", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("1970-01-01T00:00:00+01:00", &ms), -1);
    assert_int_equal (gw_auth_parse_time ("now", &ms), -1);
    assert_int_equal (gw_auth_parse_time (NULL, &ms), -1);
    /* audit bounds: a date is a whole day */
    assert_int_equal (gw_audit_parse_bound ("2027-01-31", false, &ms), 0);
    assert_int_equal (ms, 1801353600000LL);
    assert_int_equal (gw_audit_parse_bound ("2027-01-31", true, &ms), 0);
    assert_int_equal (ms, 1801353600000LL + 86400000 - 1);
    assert_int_equal (gw_audit_parse_bound ("2027-01-31T08:00:00Z", true, &ms), 0);
    assert_int_equal (ms, 1801382400000LL);
    assert_int_equal (gw_audit_parse_bound ("2027-02-30", false, &ms), -1);
    assert_int_equal (gw_audit_parse_bound ("yesterday", false, &ms), -1);
}

static void
test_addr_key (void **state)
{
    (void) state;
    char out[GW_AUTH_ADDR_MAX];
    struct sockaddr_in in = { .sin_family = AF_INET };
    inet_pton (AF_INET, "203.0.113.7", &in.sin_addr);
    assert_int_equal (gw_auth_addr_key ((struct sockaddr *) &in, out), 0);
    assert_string_equal (out, "203.0.113.7");
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    inet_pton (AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &in6.sin6_addr);
    assert_int_equal (gw_auth_addr_key ((struct sockaddr *) &in6, out), 0);
    assert_string_equal (out, "2001:db8:1:2::/64");
    /* another address of the same /64 is the same client */
    char other[GW_AUTH_ADDR_MAX];
    inet_pton (AF_INET6, "2001:db8:1:2::1", &in6.sin6_addr);
    assert_int_equal (gw_auth_addr_key ((struct sockaddr *) &in6, other), 0);
    assert_string_equal (out, other);
    inet_pton (AF_INET6, "::ffff:198.51.100.9", &in6.sin6_addr);
    assert_int_equal (gw_auth_addr_key ((struct sockaddr *) &in6, out), 0);
    assert_string_equal (out, "198.51.100.9");
    struct sockaddr un = { .sa_family = AF_UNIX };
    assert_int_equal (gw_auth_addr_key (&un, out), -1);
    assert_int_equal (gw_auth_addr_key (NULL, out), -1);
}

/* A notification evicts every entry of that user or key, and only those;
 * a (re)connection of the listener forgets everything. */
static void
test_cache_evictions (void **state)
{
    (void) state;
    gw_auth_t *auth = calloc (1, sizeof *auth);
    assert_non_null (auth);
    unsigned char h1[crypto_hash_sha256_BYTES] = { 1, 1 }, h2[crypto_hash_sha256_BYTES] = { 2, 2 },
                  h3[crypto_hash_sha256_BYTES] = { 3, 3 };
    const char *ids[] = { "0b0e7c1e-0000-4000-8000-000000000001", "0B0E7C1E-0000-4000-8000-000000000001",
                          "0b0e7c1e-0000-4000-8000-000000000002" };
    unsigned char *hs[] = { h1, h2, h3 };
    for (int i = 0; i < 3; i++) {
        s_entry_t *e = s_slot (auth, hs[i]);
        memcpy (e->hash, hs[i], sizeof e->hash);
        e->used = e->found = true;
        e->property_ids = cJSON_CreateArray ();
        snprintf (e->caller.id, sizeof e->caller.id, "%s", ids[i]);
    }
    s_on_notify (auth, "0b0e7c1e-0000-4000-8000-000000000001");
    assert_false (s_slot (auth, h1)->used);
    assert_false (s_slot (auth, h2)->used);           /* ids compare without case */
    assert_true (s_slot (auth, h3)->used);
    s_on_notify (auth, "");
    s_on_notify (auth, NULL);
    assert_true (s_slot (auth, h3)->used);
    s_on_listen_state (auth, true);
    assert_false (s_slot (auth, h3)->used);
    free (auth);
}

static void
test_audit_rows (void **state)
{
    (void) state;
    assert_true (gw_audit_method_kept ("POST"));
    assert_true (gw_audit_method_kept ("PUT"));
    assert_true (gw_audit_method_kept ("PATCH"));
    assert_true (gw_audit_method_kept ("DELETE"));
    assert_false (gw_audit_method_kept ("GET"));
    assert_false (gw_audit_method_kept ("HEAD"));
    assert_false (gw_audit_method_kept (NULL));

    router_match_t m = { .index = 0, .nparams = 2 };
    m.param[0].name = "pid";
    m.param[0].value = "5A6F3C2E-1111-4222-8333-444455556666";
    m.param[1].name = "tid";
    m.param[1].value = "7b6f3c2e-1111-4222-8333-444455556666";
    char target[GW_AUDIT_TARGET_MAX + 1], prop[37];
    gw_audit_ids (&m, "POST", "/v1/properties/{pid}/tickets/{tid}/actions", 200, "{\"id\":\"x\"}",
                  target, prop);
    assert_string_equal (prop, "5a6f3c2e-1111-4222-8333-444455556666");
    assert_string_equal (target, "7b6f3c2e-1111-4222-8333-444455556666");
    /* a 201: what was made */
    gw_audit_ids (&m, "POST", "/v1/properties/{pid}/tickets/{tid}/comments", 201,
                  "{\"id\":\"9c6f3c2e-1111-4222-8333-444455556666\",\"body\":\"...\"}", target, prop);
    assert_string_equal (target, "9c6f3c2e-1111-4222-8333-444455556666");
    /* a body id that is not an id is not kept */
    gw_audit_ids (&m, "POST", "/x", 201, "{\"id\":\"a b\"}", target, prop);
    assert_string_equal (target, "7b6f3c2e-1111-4222-8333-444455556666");
    /* path values that are not UUIDs (a template's event type) are no target */
    router_match_t t = { .index = 0, .nparams = 3 };
    t.param[0].name = "pid";
    t.param[0].value = "nope";
    t.param[1].name = "event_type";
    t.param[1].value = "ticket.created";
    t.param[2].name = "locale";
    t.param[2].value = "zh-CN";
    gw_audit_ids (&t, "PUT", "/v1/properties/{pid}/notification-templates/{event_type}/{locale}", 200,
                  NULL, target, prop);
    assert_string_equal (target, "");
    assert_string_equal (prop, "");
    /* a property made is its own property; no match at all is fine */
    gw_audit_ids (NULL, "POST", "/v1/properties", 201,
                  "{\"id\":\"1d6f3c2e-1111-4222-8333-444455556666\"}", target, prop);
    assert_string_equal (prop, "1d6f3c2e-1111-4222-8333-444455556666");
    assert_string_equal (target, prop);
    gw_audit_ids (NULL, "POST", "/v1/auth/login", 200, "not json", target, prop);
    assert_string_equal (target, "");
    assert_string_equal (prop, "");
    gw_audit_ids (NULL, "POST", "/v1/users", 201, "[1,2", target, prop);
    assert_string_equal (target, "");
}

/* params of a GET /v1/audit: name, value pairs, NULL-terminated */
static cJSON *
s_params (const char *const *kv)
{
    cJSON *p = cJSON_CreateObject ();
    for (; kv[0]; kv += 2)
        cJSON_AddStringToObject (p, kv[0], kv[1]);
    return p;
}

/* The query of GET /v1/audit: "" without problems, or the field of the
 * first one. q borrows from the params until the next call. */
static cJSON *s_query_params;

static const char *
s_audit_query (const char *const *kv, gw_audit_query_t *q)
{
    static char field[64];
    cJSON_Delete (s_query_params);
    cJSON *p = s_query_params = s_params (kv);
    jv_t v = JV_INIT;
    bool ok = gw_audit_query (&v, p, q);
    cJSON *d = jv_take (&v);
    const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (d, 0), "field"));
    snprintf (field, sizeof field, "%s", ok ? "" : f ? f : "?");
    cJSON_Delete (d);
    return field;
}

static void
test_audit_query (void **state)
{
    (void) state;
    gw_audit_query_t q;
    assert_string_equal (s_audit_query ((const char *[]) { NULL }, &q), "");
    assert_int_equal (q.limit, PAGE_LIMIT_DEFAULT);
    assert_string_equal (q.property_id, "");
    assert_null (q.actor_id);
    assert_null (q.after_at);
    assert_string_equal (q.from_ms, "");
    /* "" is absent */
    assert_string_equal (s_audit_query ((const char *[]) { "property_id", "", "from", "", "cursor", "", NULL },
                                        &q), "");
    assert_string_equal (s_audit_query ((const char *[]) {
        "property_id", "5A6F3C2E-1111-4222-8333-444455556666", "actor_id", "u-1",
        "from", "2027-01-31", "to", "2027-01-31", "limit", "500", NULL }, &q), "");
    assert_string_equal (q.property_id, "5a6f3c2e-1111-4222-8333-444455556666");
    assert_string_equal (q.actor_id, "u-1");
    assert_string_equal (q.from_ms, "1801353600000");
    assert_string_equal (q.to_ms, "1801439999999");
    assert_int_equal (q.limit, 500);
    /* a cursor: base64url of "<at>~<id>" */
    char *cursor = page_cursor_encode ("2027-01-31T08:00:00.123456Z~42");
    assert_string_equal (s_audit_query ((const char *[]) { "cursor", cursor, NULL }, &q), "");
    assert_string_equal (q.after_at, "2027-01-31T08:00:00.123456Z");
    assert_string_equal (q.after_id, "42");
    free (cursor);
    const char *bad_cursors[] = { "2027-01-31T08:00:00Z", "2027-01-31T08:00:00Z~", "~42", "yesterday~42",
                                  "2027-01-31T08:00:00Z~4x", "2027-01-31T08:00:00Z~1234567890123456789",
                                  "2027-01-31T08:00:00Z~1~2" };
    for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
        cursor = page_cursor_encode (bad_cursors[i]);
        assert_string_equal (s_audit_query ((const char *[]) { "cursor", cursor, NULL }, &q), "cursor");
        free (cursor);
    }
    assert_string_equal (s_audit_query ((const char *[]) { "cursor", "1~x", NULL }, &q), "cursor");
    assert_string_equal (s_audit_query ((const char *[]) { "limit", "0", NULL }, &q), "limit");
    assert_string_equal (s_audit_query ((const char *[]) { "limit", "501", NULL }, &q), "limit");
    assert_string_equal (s_audit_query ((const char *[]) { "property_id", "nope", NULL }, &q), "property_id");
    assert_string_equal (s_audit_query ((const char *[]) { "actor_id", "a b", NULL }, &q), "actor_id");
    assert_string_equal (s_audit_query ((const char *[]) { "from", "yesterday", NULL }, &q), "from");
    assert_string_equal (s_audit_query ((const char *[]) { "to", "2027-02-30", NULL }, &q), "to");
    assert_string_equal (s_audit_query ((const char *[]) { "from", "2027-01-02", "to", "2027-01-01", NULL },
                                        &q), "to");
    /* one day from and to itself is fine: to is the day's end */
    assert_string_equal (s_audit_query ((const char *[]) { "from", "2027-01-02T23:59:59Z", "to", "2027-01-02",
                                                           NULL }, &q), "");
    cJSON_Delete (s_query_params);
    s_query_params = NULL;
}

static void
test_listen_channel (void **state)
{
    (void) state;
    uv_loop_t *loop = uv_default_loop ();
    assert_null (gw_listen_new (loop, "", "", NULL, NULL, NULL));
    assert_null (gw_listen_new (loop, "", "Upper", NULL, NULL, NULL));
    assert_null (gw_listen_new (loop, "", "a; DROP TABLE users", NULL, NULL, NULL));
    assert_null (gw_listen_new (loop, "", NULL, NULL, NULL, NULL));
    assert_false (gw_listen_listening (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_bearer),
        cmocka_unit_test (test_username),
        cmocka_unit_test (test_chars_and_roles),
        cmocka_unit_test (test_secrets),
        cmocka_unit_test (test_password_policy),
        cmocka_unit_test (test_parse_time),
        cmocka_unit_test (test_addr_key),
        cmocka_unit_test (test_cache_evictions),
        cmocka_unit_test (test_audit_rows),
        cmocka_unit_test (test_audit_query),
        cmocka_unit_test (test_listen_channel),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
