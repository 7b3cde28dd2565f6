/* test_gw_auth: the pure parts of authentication (services/gateway/gw_auth.c):
 * the Bearer header, usernames, password length in characters, roles, the
 * format of new secrets and of hash parameters. The endpoints are covered by
 * tests/blackbox/test_auth.py; the answer functions are stubbed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/gw_auth.c"

void gw_finish (gw_ctx_t *ctx, int status, char *body, const char *extra)
{ (void) ctx; (void) status; (void) extra; free (body); }
void gw_finish_json (gw_ctx_t *ctx, int status, cJSON *json)
{ (void) ctx; (void) status; cJSON_Delete (json); }
void gw_finish_error (gw_ctx_t *ctx, int status, const char *code, cJSON *details, const char *fmt, ...)
{ (void) ctx; (void) status; (void) code; (void) fmt; cJSON_Delete (details); }
bool http_req_gone (const http_req_t *req) { (void) req; return false; }

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

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_bearer),
        cmocka_unit_test (test_username),
        cmocka_unit_test (test_chars_and_roles),
        cmocka_unit_test (test_secrets),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
