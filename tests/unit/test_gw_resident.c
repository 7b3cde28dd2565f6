/* test_gw_resident: the pure parts of the residents' sign-in
 * (services/gateway/gw_resident.c): which phones take a code (pii.h's
 * normaliser reused), code format and randomness, the keyed hash and its
 * comparison, what a login try does to the stored code, the SMS text; the
 * role bit of "resident" (gw_auth.c); the envelope's resident caller
 * (common/envelope.c: party_ids built, parsed, and the helpers). The SMS
 * file provider: test_nt_sms_file.c.
 * The endpoints are covered by tests/blackbox/test_resident_auth.py; the
 * answer functions are stubbed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/gw_resident.c"
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
test_phone (void **state)
{
    (void) state;
    char out[PII_PHONE_MAX + 1];
    assert_true (gw_resident_phone ("13800138000", out));
    assert_string_equal (out, "13800138000");
    /* the stored form of tenants' parties, whatever was typed */
    assert_true (gw_resident_phone ("+86 138-0013-8000", out));
    assert_string_equal (out, "13800138000");
    assert_true (gw_resident_phone ("0086 13800138000", out));
    assert_string_equal (out, "13800138000");
    assert_true (gw_resident_phone ("+85291234567", out));
    assert_string_equal (out, "+85291234567");
    /* no SMS to a landline, nothing that is no number */
    assert_false (gw_resident_phone ("0755-88881234", out));
    assert_false (gw_resident_phone ("010-62345678-801", out));
    assert_false (gw_resident_phone ("", out));
    assert_false (gw_resident_phone (NULL, out));
    assert_false (gw_resident_phone ("1380013800", out));
    assert_false (gw_resident_phone ("12800138000", out));
    assert_false (gw_resident_phone ("1380013800x", out));
    char big[128];
    memset (big, '1', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_false (gw_resident_phone (big, out));
}

static void
test_code_format (void **state)
{
    (void) state;
    assert_true (gw_resident_code_valid ("000000"));
    assert_true (gw_resident_code_valid ("123456"));
    assert_false (gw_resident_code_valid ("12345"));
    assert_false (gw_resident_code_valid ("1234567"));
    assert_false (gw_resident_code_valid ("12345a"));
    assert_false (gw_resident_code_valid (" 12345"));
    assert_false (gw_resident_code_valid ("１２３４５６"));
    assert_false (gw_resident_code_valid (""));
    assert_false (gw_resident_code_valid (NULL));
    /* new codes: 6 digits each, and not all the same */
    char code[GW_RESIDENT_CODE_DIGITS + 1], first[GW_RESIDENT_CODE_DIGITS + 1];
    bool differ = false;
    gw_resident_code_new (first);
    for (int i = 0; i < 50; i++) {
        gw_resident_code_new (code);
        assert_true (gw_resident_code_valid (code));
        differ = differ || strcmp (code, first) != 0;
    }
    assert_true (differ);
}

static void
test_code_hash (void **state)
{
    (void) state;
    unsigned char salt[GW_RESIDENT_SALT_BYTES], salt2[GW_RESIDENT_SALT_BYTES];
    unsigned char h[GW_RESIDENT_HASH_BYTES], h2[GW_RESIDENT_HASH_BYTES];
    memset (salt, 7, sizeof salt);
    memset (salt2, 8, sizeof salt2);
    assert_int_equal (gw_resident_code_hash ("123456", salt, h), 0);
    assert_int_equal (gw_resident_code_hash ("123456", salt, h2), 0);
    assert_memory_equal (h, h2, sizeof h);
    /* the salt keys it: the same code stores differently */
    assert_int_equal (gw_resident_code_hash ("123456", salt2, h2), 0);
    assert_memory_not_equal (h, h2, sizeof h);
    /* not the code in clear, nor its plain hash */
    assert_memory_not_equal (h, "123456", 6);
    assert_int_equal (gw_resident_code_hash (NULL, salt, h2), -1);
    assert_true (gw_resident_code_matches ("123456", salt, h));
    assert_false (gw_resident_code_matches ("123457", salt, h));
    assert_false (gw_resident_code_matches ("123456", salt2, h));
    assert_false (gw_resident_code_matches ("12345", salt, h));
    assert_false (gw_resident_code_matches (NULL, salt, h));
}

static void
test_code_verdict (void **state)
{
    (void) state;
    const int max = GW_RESIDENT_CODE_TRIES;
    assert_int_equal (gw_resident_code_verdict (false, false, 0, false, max), GW_CODE_NONE);
    assert_int_equal (gw_resident_code_verdict (false, true, 0, true, max), GW_CODE_NONE);
    assert_int_equal (gw_resident_code_verdict (true, true, 0, true, max), GW_CODE_ACCEPT);
    assert_int_equal (gw_resident_code_verdict (true, true, 3, true, max), GW_CODE_ACCEPT);
    assert_int_equal (gw_resident_code_verdict (true, true, 0, false, max), GW_CODE_WRONG);
    assert_int_equal (gw_resident_code_verdict (true, true, 3, false, max), GW_CODE_WRONG);
    /* the 5th wrong try voids it */
    assert_int_equal (gw_resident_code_verdict (true, true, 4, false, max), GW_CODE_VOID);
    /* a code past its tries or its time is void, even when right */
    assert_int_equal (gw_resident_code_verdict (true, true, 5, true, max), GW_CODE_VOID);
    assert_int_equal (gw_resident_code_verdict (true, false, 0, true, max), GW_CODE_VOID);
}

static void
test_sms_text (void **state)
{
    (void) state;
    char text[512];
    gw_resident_sms_text ("042137", 600, text, sizeof text);
    assert_non_null (strstr (text, "042137"));
    assert_non_null (strstr (text, "10 分钟"));
    assert_non_null (strstr (text, "10 minutes"));
    assert_true (jv_is_utf8 (text, strlen (text)));
    /* no other run of 6 digits a reader could take for the code */
    int runs = 0;
    for (const char *p = text; *p; p++)
        if (strncmp (p, "042137", 6) == 0)
            runs++;
    assert_int_equal (runs, 2);
}

static void
test_role_bit (void **state)
{
    (void) state;
    assert_int_equal (gw_role_bit ("resident"), GW_ROLE_RESIDENT);
    assert_int_equal (GW_ROLE_RESIDENT & GW_ROLES_ALL, 0);
    assert_int_equal (GW_ROLE_RESIDENT & GW_ROLES_STAFF, 0);
    assert_int_equal (gw_role_bit ("Resident"), 0);
    assert_int_equal (gw_role_bit ("admin"), GW_ROLE_ADMIN);
    assert_true (GW_PARTY_IDS_TEXT_MAX > GW_RESIDENT_PARTIES_MAX * 39);
}

static void
test_envelope_resident (void **state)
{
    (void) state;
    const char *p1 = "7d3c2b1a-0000-4000-8000-000000000001", *p2 = "7d3c2b1a-0000-4000-8000-000000000002";
    cJSON *parties = cJSON_CreateArray ();
    cJSON_AddItemToArray (parties, cJSON_CreateString (p1));
    cJSON_AddItemToArray (parties, cJSON_CreateString (p2));
    cJSON *props = cJSON_CreateArray ();
    cJSON_AddItemToArray (props, cJSON_CreateString ("7d3c2b1a-0000-4000-8000-0000000000ff"));
    env_caller_t c = { .user_id = p1, .role = "resident", .property_ids = props, .party_ids = parties };
    char *text = env_request_build ("r1", "tenants.me.get", &c, 0, NULL);
    assert_non_null (text);
    env_request_t req;
    char err[128];
    assert_int_equal (env_request_parse (text, strlen (text), &req, err), 0);
    assert_true (env_caller_is_resident (&req.caller));
    assert_int_equal (cJSON_GetArraySize (env_caller_party_ids (&req.caller)), 2);
    assert_true (env_caller_has_party (&req.caller, p2));
    assert_true (env_caller_has_party (&req.caller, "7D3C2B1A-0000-4000-8000-000000000002"));
    assert_false (env_caller_has_party (&req.caller, "7d3c2b1a-0000-4000-8000-000000000003"));
    /* the properties of a resident are no grant */
    assert_false (env_caller_has_property (&req.caller, "7d3c2b1a-0000-4000-8000-0000000000ff"));
    char *json = env_caller_party_ids_json (&req.caller);
    assert_non_null (json);
    assert_non_null (strstr (json, p1));
    free (json);
    env_request_destroy (&req);
    free (text);
    /* the same document on the slow path (a caller the fast one refuses) */
    cJSON_AddItemToArray (parties, cJSON_CreateNumber (5));
    text = env_request_build ("r2", "tenants.me.get", &c, 0, NULL);
    assert_int_equal (env_request_parse (text, strlen (text), &req, err), 0);
    /* only UUIDs reach SQL */
    json = env_caller_party_ids_json (&req.caller);
    assert_non_null (json);
    assert_null (strstr (json, "5]"));
    free (json);
    env_request_destroy (&req);
    free (text);
    /* staff: no parties, no resident */
    env_caller_t staff = { .user_id = "u", .role = "agent", .property_ids = props };
    text = env_request_build ("r3", "tenants.me.get", &staff, 0, NULL);
    assert_null (strstr (text, "party_ids"));
    assert_int_equal (env_request_parse (text, strlen (text), &req, err), 0);
    assert_false (env_caller_is_resident (&req.caller));
    assert_null (env_caller_party_ids (&req.caller));
    assert_null (env_caller_party_ids_json (&req.caller));
    assert_false (env_caller_has_party (&req.caller, p1));
    env_request_destroy (&req);
    free (text);
    /* a "resident" without party ids is none */
    env_caller_t bare = { .user_id = "u", .role = "resident" };
    assert_false (env_caller_is_resident (&bare));
    cJSON_Delete (parties);
    cJSON_Delete (props);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_phone),
        cmocka_unit_test (test_code_format),
        cmocka_unit_test (test_code_hash),
        cmocka_unit_test (test_code_verdict),
        cmocka_unit_test (test_sms_text),
        cmocka_unit_test (test_role_bit),
        cmocka_unit_test (test_envelope_resident),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
