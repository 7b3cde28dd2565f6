/* test_gw_inputs: the gateway's own request bodies (services/gateway/
 * gw_inputs.c, included): login, password change, users, API keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/gateway/gw_inputs.c"
#include "jv_testing.h"

#define PID "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd"
#define NOW 1796083200000LL          /* 2026-12-01T00:00:00Z */

static void
test_login (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    gw_login_input_t in;
    /* any name as typed (the lookup decides), but not empty */
    cJSON *d = cJSON_Parse ("{\"username\":\"张 三\",\"password\":\"x\"}");
    assert_true (gw_login_input (&v, d, &in));
    assert_string_equal (in.username, "张 三");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"username\":\"\",\"password\":null}");
    assert_false (gw_login_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "username: must not be empty; password: is required");
    cJSON_Delete (d);
    assert_false (gw_login_input (&v, NULL, &in));
    assert_string_equal (jvt_problems (&v), "body: must be a JSON object");
}

static void
test_password (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    gw_password_input_t in;
    cJSON *d = cJSON_Parse ("{\"current_password\":\"old secret\",\"new_password\":\"新的密码新的密码\"}");
    assert_true (gw_password_input (&v, d, "zhang.san", &in));
    assert_string_equal (in.current, "old secret");
    cJSON_Delete (d);
    /* the username in any case is not a password */
    d = cJSON_Parse ("{\"current_password\":\"old secret\",\"new_password\":\"ZHANG.SAN\"}");
    assert_false (gw_password_input (&v, d, "zhang.san", &in));
    assert_string_equal (jvt_problems (&v), "new_password: must not be the username");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"current_password\":\"same secret\",\"new_password\":\"same secret\"}");
    assert_false (gw_password_input (&v, d, "zhang.san", &in));
    assert_string_equal (jvt_problems (&v), "new_password: must differ from the current password");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"new_password\":\"1234567\"}");
    assert_false (gw_password_input (&v, d, "u", &in));
    assert_string_equal (jvt_problems (&v), "current_password: is required; "
                                          "new_password: must be 8 to 128 characters");
    cJSON_Delete (d);
}

static void
test_user_create (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    gw_user_create_input_t in;
    cJSON *d = cJSON_Parse ("{\"username\":\"li.si\",\"password\":\"long enough\",\"role\":\"agent\"}");
    assert_true (gw_user_create_input (&v, d, &in));
    assert_string_equal (in.property_ids, "[]");
    free (in.property_ids);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"username\":\"li si\",\"password\":\"short\",\"role\":\"service\","
                     "\"property_ids\":[\"" PID "\",\"x\"]}");
    assert_false (gw_user_create_input (&v, d, &in));
    assert_null (in.property_ids);
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "username: must be 3 to 64 of A-Z a-z 0-9 . _ -"));
    assert_non_null (strstr (p, "password: must be 8 to 128 characters"));
    assert_non_null (strstr (p, "role: "));
    assert_non_null (strstr (p, "property_ids: item 1 must be a property id (UUID)"));
    cJSON_Delete (d);
    /* 65 characters is one too many: the length check is gw_auth_username_valid's */
    char name[80];
    memset (name, 'a', 65);
    name[65] = '\0';
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "username", name);
    cJSON_AddStringToObject (o, "password", "long enough");
    cJSON_AddStringToObject (o, "role", "admin");
    assert_false (gw_user_create_input (&v, o, &in));
    assert_string_equal (jvt_problems (&v), "username: must be 3 to 64 of A-Z a-z 0-9 . _ -");
    name[64] = '\0';
    cJSON_ReplaceItemInObject (o, "username", cJSON_CreateString (name));
    assert_true (gw_user_create_input (&v, o, &in));
    free (in.property_ids);
    cJSON_Delete (o);
}

static void
test_user_update (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    gw_user_update_input_t in;
    cJSON *d = cJSON_Parse ("{\"disabled\":true}");
    assert_true (gw_user_update_input (&v, d, &in));
    assert_string_equal (in.disabled, "true");
    assert_null (in.property_ids);
    cJSON_Delete (d);
    /* an empty list takes every property away: a change */
    d = cJSON_Parse ("{\"property_ids\":[]}");
    assert_true (gw_user_update_input (&v, d, &in));
    assert_string_equal (in.property_ids, "[]");
    free (in.property_ids);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"disabled\":null,\"role\":null}");
    assert_false (gw_user_update_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "body: nothing to change: send disabled, role or property_ids");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"password\":\"x\",\"disabled\":\"yes\",\"property_ids\":[\"" PID "\"]}");
    assert_false (gw_user_update_input (&v, d, &in));
    assert_null (in.property_ids);
    assert_string_equal (jvt_problems (&v), "password: cannot be changed here (disabled, role, property_ids can); "
                                          "disabled: must be true or false");
    cJSON_Delete (d);
}

static void
test_user_update_refusal (void **state)
{
    (void) state;
    gw_user_update_input_t disable = { .disabled = "true" }, enable = { .disabled = "false" };
    gw_user_update_input_t demote = { .role = "manager" }, keep = { .role = "admin" };
    gw_user_update_input_t pids = { .property_ids = (char *) "[]" };
    /* an admin taken away: not by themselves, not the last one */
    assert_string_equal (gw_user_update_refusal (&disable, true, 2, true),
                         "an admin cannot disable or demote themselves");
    assert_string_equal (gw_user_update_refusal (&demote, true, 3, true),
                         "an admin cannot disable or demote themselves");
    assert_string_equal (gw_user_update_refusal (&disable, true, 1, false),
                         "the last enabled admin cannot be disabled or demoted");
    assert_string_equal (gw_user_update_refusal (&demote, true, 1, false),
                         "the last enabled admin cannot be disabled or demoted");
    assert_null (gw_user_update_refusal (&disable, true, 2, false));
    assert_null (gw_user_update_refusal (&demote, true, 2, false));
    /* nothing an admin loses: fine, even to themselves or the last one */
    assert_null (gw_user_update_refusal (&enable, true, 1, true));
    assert_null (gw_user_update_refusal (&keep, true, 1, true));
    assert_null (gw_user_update_refusal (&pids, true, 1, true));
    /* not an enabled admin: nothing to protect */
    assert_null (gw_user_update_refusal (&disable, false, 1, true));
    assert_null (gw_user_update_refusal (&demote, false, 0, false));
}

static void
test_key_create (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    gw_key_create_input_t in;
    cJSON *d = cJSON_Parse ("{\"name\":\"ERP\",\"role\":\"integration\",\"property_ids\":[\"" PID "\"],"
                            "\"expires_at\":\"2027-01-31T08:00:00.5+08:00\"}");
    assert_true (gw_key_create_input (&v, d, NOW, &in));
    assert_int_equal (in.expires_ms, 1801353600500LL);   /* 2027-01-31T00:00:00.5Z */
    assert_string_equal (in.expires_text, "1801353600500");
    free (in.property_ids);
    cJSON_Delete (d);
    /* no admin keys; a past, a too far or an impossible date */
    const char *bad[][2] = {
        { "{\"name\":\"k\",\"role\":\"admin\"}", "role: " },
        { "{\"name\":\"k\",\"role\":\"integration\",\"expires_at\":\"2026-12-01T00:00:00Z\"}",
          "expires_at: must be in the future, within 3660 days" },
        { "{\"name\":\"k\",\"role\":\"integration\",\"expires_at\":\"2037-01-01T00:00:00Z\"}",
          "expires_at: must be in the future, within 3660 days" },
        { "{\"name\":\"k\",\"role\":\"integration\",\"expires_at\":\"2027-02-29T00:00:00Z\"}",
          "expires_at: must be an RFC 3339 date-time (2027-01-31T00:00:00Z)" },
        { "{\"name\":\"k\",\"role\":\"integration\",\"expires_at\":\"2027-01-31\"}",
          "expires_at: must be an RFC 3339 date-time (2027-01-31T00:00:00Z)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = cJSON_Parse (bad[i][0]);
        assert_false (gw_key_create_input (&v, d, NOW, &in));
        assert_null (in.property_ids);
        assert_string_equal (in.expires_text, "");
        assert_non_null (strstr (jvt_problems (&v), bad[i][1]));
        cJSON_Delete (d);
    }
    /* one millisecond after now is the future */
    d = cJSON_Parse ("{\"name\":\"k\",\"role\":\"integration\",\"expires_at\":\"2026-12-01T00:00:00.001Z\"}");
    assert_true (gw_key_create_input (&v, d, NOW, &in));
    free (in.property_ids);
    cJSON_Delete (d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_login),
        cmocka_unit_test (test_password),
        cmocka_unit_test (test_user_create),
        cmocka_unit_test (test_user_update),
        cmocka_unit_test (test_user_update_refusal),
        cmocka_unit_test (test_key_create),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
