/* test_gw_idem: the pure parts of Idempotency-Key (services/gateway/gw_idem.c):
 * key syntax, the body hash, what a stored record means for a new request, and
 * what an answer means for its claim (stored, released, or left: outcome
 * unknown). The database side is covered by tests/blackbox/test_auth.py and
 * test_idempotency.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/gw_idem.c"

static void
test_key_valid (void **state)
{
    (void) state;
    assert_true (env_idem_key_valid ("a"));
    assert_true (env_idem_key_valid ("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    assert_true (env_idem_key_valid ("key:with/any~visible!ASCII"));
    char max[GW_IDEM_KEY_MAX + 2];
    memset (max, 'k', GW_IDEM_KEY_MAX);
    max[GW_IDEM_KEY_MAX] = 0;
    assert_true (env_idem_key_valid (max));
    max[GW_IDEM_KEY_MAX] = 'k';
    max[GW_IDEM_KEY_MAX + 1] = 0;
    assert_false (env_idem_key_valid (max));
    assert_false (env_idem_key_valid (""));
    assert_false (env_idem_key_valid ("has space"));
    assert_false (env_idem_key_valid ("tab\there"));
    assert_false (env_idem_key_valid ("\xc3\xa9"));
    assert_false (env_idem_key_valid ("del\x7f"));
}

static void
test_hash (void **state)
{
    (void) state;
    assert_int_equal (sodium_init () >= 0, 1);
    char h[GW_IDEM_HASH_HEX];
    gw_idem_hash ("", 0, h);
    assert_string_equal (h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    gw_idem_hash ("abc", 3, h);
    assert_string_equal (h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char h2[GW_IDEM_HASH_HEX];
    gw_idem_hash ("{\"a\":1}", 7, h);
    gw_idem_hash ("{\"a\": 1}", 8, h2);
    assert_string_not_equal (h, h2);     /* raw bytes: the same JSON spelt otherwise is another body */
    /* bytes after a NUL count */
    gw_idem_hash ("a\0b", 3, h);
    gw_idem_hash ("a\0c", 3, h2);
    assert_string_not_equal (h, h2);
}

static void
test_decide (void **state)
{
    (void) state;
    const char *r = "POST /v1/properties", *h = "aa";
    assert_int_equal (gw_idem_decide (r, h, true, r, h), GW_IDEM_REPLAY);
    assert_int_equal (gw_idem_decide (r, h, false, r, h), GW_IDEM_IN_PROGRESS);
    assert_int_equal (gw_idem_decide (r, h, true, r, "bb"), GW_IDEM_MISMATCH);
    assert_int_equal (gw_idem_decide (r, h, false, r, "bb"), GW_IDEM_MISMATCH);
    assert_int_equal (gw_idem_decide (r, h, true, "POST /v1/properties/x/units", h), GW_IDEM_MISMATCH);
}

static void
test_claim_fate (void **state)
{
    (void) state;
    /* final answers are stored, 4xx included; a 5xx says the request failed */
    assert_false (gw_idem_releases (200));
    assert_false (gw_idem_releases (201));
    assert_false (gw_idem_releases (409));
    assert_false (gw_idem_releases (422));
    assert_true (gw_idem_releases (500));
    assert_true (gw_idem_releases (502));
    assert_true (gw_idem_releases (503));
    assert_true (gw_idem_releases (504));   /* the service keeps a write that ran (idem.h) */
}

static void
test_fingerprint (void **state)
{
    (void) state;
    char body[GW_IDEM_HASH_HEX], a[GW_IDEM_HASH_HEX], b[GW_IDEM_HASH_HEX], c[GW_IDEM_HASH_HEX];
    gw_idem_hash ("{\"code\":\"A\"}", 12, body);
    gw_idem_fingerprint ("POST /v1/properties", body, a);
    gw_idem_fingerprint ("POST /v1/properties", body, b);
    gw_idem_fingerprint ("POST /v1/units", body, c);
    assert_int_equal (strlen (a), 64);
    assert_true (env_idem_fingerprint_valid (a));
    assert_string_equal (a, b);
    assert_string_not_equal (a, c);      /* the same body on another route */
    assert_string_not_equal (a, body);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_key_valid),
        cmocka_unit_test (test_hash),
        cmocka_unit_test (test_decide),
        cmocka_unit_test (test_claim_fate),
        cmocka_unit_test (test_fingerprint),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
