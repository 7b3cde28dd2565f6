/* test_tk_desk_rules: the front desk's registers without a database
 * (services/tickets/desk_rules.c, included): plates on real shapes, claim
 * codes, the visitor's steps, who releases an item, and the inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/desk_rules.c"
#include "jv_testing.h"

static void
s_plate_is (const char *in, const char *want)
{
    char out[DESK_PLATE_MAX + 1];
    bool ok = desk_plate_normalize (in, out);
    if (!want) {
        if (ok)
            fail_msg ("%s: accepted as %s", in, out);
        return;
    }
    if (!ok)
        fail_msg ("%s: refused, want %s", in, want);
    assert_string_equal (out, want);
}

static void
test_plates (void **state)
{
    (void) state;
    s_plate_is ("粤B12345", "粤B12345");
    s_plate_is ("粤b12345", "粤B12345");
    s_plate_is (" 粤B 123 45 ", "粤B12345");
    s_plate_is ("京A·F0236", "京AF0236");                 /* the middle dot of the plate itself */
    s_plate_is ("京A.F0236", "京AF0236");
    s_plate_is ("京A-F0236", "京AF0236");
    s_plate_is ("粤Ｂ１２３４５", "粤B12345");              /* full-width, as a Chinese keyboard types */
    s_plate_is ("沪AD12345", "沪AD12345");                 /* new energy, small car: D first */
    s_plate_is ("沪ad12345", "沪AD12345");
    s_plate_is ("粤BF88888", "粤BF88888");                 /* F: hybrid */
    s_plate_is ("浙A12345D", "浙A12345D");                 /* new energy, large vehicle: D last */
    s_plate_is ("粤B1234学", "粤B1234学");                 /* driving school */
    s_plate_is ("粤Z1234港", "粤Z1234港");                 /* Hong Kong cross-border */
    s_plate_is ("新A12345", "新A12345");
    s_plate_is ("蒙K•A1234", "蒙KA1234");

    s_plate_is ("粤B1234", NULL);                          /* too short */
    s_plate_is ("粤B1234567", NULL);                       /* too long */
    s_plate_is ("粤B123456", NULL);                        /* 6 but no new-energy letter */
    s_plate_is ("粤BD1234A", NULL);                        /* new energy ends in 4 digits */
    s_plate_is ("粤BI2345", NULL);                         /* no I or O on plates */
    s_plate_is ("粤BO2345", NULL);
    s_plate_is ("粤112345", NULL);                         /* the office is a letter */
    s_plate_is ("港B12345", NULL);                         /* not a province */
    s_plate_is ("B12345", NULL);
    s_plate_is ("粤B12345学", NULL);                       /* a suffix replaces the fifth character */
    s_plate_is ("粤B123学4", NULL);                        /* and ends the plate */
    s_plate_is ("粤B12$45", NULL);
    s_plate_is ("", NULL);
    s_plate_is ("粤", NULL);
    s_plate_is ("\xe7\xb2", NULL);                         /* a cut character */
    s_plate_is ("粤B12345                                    ", NULL); /* over DESK_PLATE_INPUT_MAX */
    char out[DESK_PLATE_MAX + 1];
    assert_false (desk_plate_normalize (NULL, out));
}

static void
test_search_compact (void **state)
{
    (void) state;
    char out[DESK_QUERY_MAX + 1];
    desk_search_compact ("粤b 123", out);
    assert_string_equal (out, "粤B123");
    desk_search_compact ("138-0013 8000", out);
    assert_string_equal (out, "13800138000");
    desk_search_compact (" · ", out);
    assert_string_equal (out, "");
}

static void
test_claim_codes (void **state)
{
    (void) state;
    char a[DESK_CLAIM_LEN + 1], b[DESK_CLAIM_LEN + 1], clean[DESK_CLAIM_LEN + 1];
    desk_claim_code_new (a);
    desk_claim_code_new (b);
    assert_int_equal (strlen (a), DESK_CLAIM_LEN);
    assert_int_equal (strspn (a, DESK_CLAIM_ALPHABET), DESK_CLAIM_LEN);
    assert_string_not_equal (a, b);                       /* 1 in 8.5e11 */
    assert_true (desk_claim_code_clean (a, clean));
    assert_string_equal (clean, a);

    assert_true (desk_claim_code_clean ("k7m2-q9xz", clean));
    assert_string_equal (clean, "K7M2Q9XZ");
    assert_true (desk_claim_code_clean (" K7M2 Q9XZ ", clean));
    assert_false (desk_claim_code_clean ("K7M2Q9X", clean));     /* 7 */
    assert_false (desk_claim_code_clean ("K7M2Q9XZ2", clean));   /* 9 */
    assert_false (desk_claim_code_clean ("K7M2Q9X0", clean));    /* 0 is not in the alphabet */
    assert_false (desk_claim_code_clean ("K7M2Q9XI", clean));
    assert_false (desk_claim_code_clean ("", clean));
    assert_false (desk_claim_code_clean (NULL, clean));

    char h1[DESK_CLAIM_HASH_MAX + 1], h2[DESK_CLAIM_HASH_MAX + 1];
    desk_claim_hash ("K7M2Q9XZ", h1);
    desk_claim_hash ("K7M2Q9XZ", h2);
    assert_int_equal (strlen (h1), 97);
    assert_string_not_equal (h1, h2);                     /* salted */
    assert_null (strstr (h1, "K7M2Q9XZ"));
    assert_true (desk_claim_verify (h1, "K7M2Q9XZ"));
    assert_true (desk_claim_verify (h2, "K7M2Q9XZ"));
    assert_false (desk_claim_verify (h1, "K7M2Q9XY"));
    assert_false (desk_claim_verify (h1, ""));
    assert_false (desk_claim_verify (h1, NULL));
    assert_false (desk_claim_verify ("", "K7M2Q9XZ"));
    h1[10] = 'g';                                         /* not hex */
    assert_false (desk_claim_verify (h1, "K7M2Q9XZ"));
    h2[32] = '-';
    assert_false (desk_claim_verify (h2, "K7M2Q9XZ"));
}

static void
test_visitor_steps (void **state)
{
    (void) state;
    assert_string_equal (desk_visitor_next ("registered", DESK_CHECK_IN), "on_site");
    assert_string_equal (desk_visitor_next ("on_site", DESK_CHECK_OUT), "left");
    assert_null (desk_visitor_next ("registered", DESK_CHECK_OUT));    /* out before in */
    assert_null (desk_visitor_next ("on_site", DESK_CHECK_IN));
    assert_null (desk_visitor_next ("left", DESK_CHECK_OUT));          /* a second check-out */
    assert_null (desk_visitor_next ("left", DESK_CHECK_IN));
    assert_null (desk_visitor_next (NULL, DESK_CHECK_IN));
    cJSON *a = desk_visitor_allowed ("on_site");
    char *text = cJSON_PrintUnformatted (a);
    assert_string_equal (text, "[\"check_out\"]");
    free (text);
    cJSON_Delete (a);
    a = desk_visitor_allowed ("left");
    assert_int_equal (cJSON_GetArraySize (a), 0);
    cJSON_Delete (a);
}

static void
test_release_decide (void **state)
{
    (void) state;
    assert_int_equal (desk_release_decide (false, 0, "K7M2Q9XZ", true), DESK_RELEASE_OK);
    assert_int_equal (desk_release_decide (false, 4, "K7M2Q9XZ", true), DESK_RELEASE_OK);
    assert_int_equal (desk_release_decide (false, 4, "K7M2Q9XY", false), DESK_RELEASE_WRONG_CODE);
    assert_int_equal (desk_release_decide (false, 5, "K7M2Q9XZ", true), DESK_RELEASE_LOCKED);
    assert_int_equal (desk_release_decide (false, 5, NULL, false), DESK_RELEASE_OVERRIDE);
    assert_int_equal (desk_release_decide (false, 0, NULL, false), DESK_RELEASE_OVERRIDE);
    assert_int_equal (desk_release_decide (true, 0, "K7M2Q9XZ", true), DESK_RELEASE_DONE);
    assert_int_equal (desk_release_decide (true, 9, NULL, false), DESK_RELEASE_DONE);
}

static void
test_visitor_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    desk_visitor_input_t in;
    cJSON *data = cJSON_Parse ("{\"name\":\"王建国\",\"purpose\":\"面试\",\"phone\":\"+86 138 0013 8000\","
                               "\"id_number\":\" 11010519491231002x \",\"vehicle_plate\":\"粤b12345\","
                               "\"visiting_unit_id\":null,\"check_in\":true}");
    assert_true (desk_visitor_input (&v, data, &in));
    assert_string_equal (in.phone, "13800138000");
    assert_string_equal (in.id_number, "11010519491231002X");
    assert_string_equal (in.plate, "粤B12345");
    assert_null (in.visiting_unit_id);
    assert_true (in.check_in);
    cJSON_Delete (data);

    /* a passport or a Hong Kong ID is any document; 17 digits + check is a resident ID */
    data = cJSON_Parse ("{\"name\":\"Ann\",\"purpose\":\"visit\",\"id_number\":\"E12345678\",\"phone\":\"\"}");
    assert_true (desk_visitor_input (&v, data, &in));
    assert_string_equal (in.id_number, "E12345678");
    assert_string_equal (in.phone, "");
    cJSON_Delete (data);

    data = cJSON_Parse ("{\"name\":\" \",\"phone\":\"12345\",\"id_number\":\"440304199001011234\","
                        "\"vehicle_plate\":\"X\",\"visiting_unit_id\":\"u\",\"check_in\":1}");
    assert_false (desk_visitor_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "name"));
    assert_non_null (jvt_problem (&v, "purpose"));
    assert_non_null (jvt_problem (&v, "phone"));
    assert_non_null (strstr (jvt_problem (&v, "id_number"), "resident ID"));
    assert_non_null (jvt_problem (&v, "vehicle_plate"));
    assert_non_null (jvt_problem (&v, "visiting_unit_id"));
    assert_non_null (jvt_problem (&v, "check_in"));
    jv_reset (&v);
    cJSON_Delete (data);
}

static void
test_release_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    desk_release_input_t in;
    cJSON *data = cJSON_Parse ("{\"claim_code\":\"k7m2 q9xz\",\"released_to\":\"李先生\"}");
    assert_true (desk_release_input (&v, data, false, &in));
    assert_true (in.code_sent);
    assert_string_equal (in.code, "K7M2Q9XZ");
    cJSON_Delete (data);
    /* a malformed code is a wrong code, not a 422 */
    data = cJSON_Parse ("{\"claim_code\":\"0\",\"released_to\":\"李先生\"}");
    assert_true (desk_release_input (&v, data, false, &in));
    assert_true (in.code_sent);
    assert_string_equal (in.code, "");
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"released_to\":\"李先生\"}");
    assert_false (desk_release_input (&v, data, false, &in));
    assert_non_null (jvt_problem (&v, "claim_code"));
    jv_reset (&v);
    assert_false (desk_release_input (&v, data, true, &in));   /* a manager: a reason */
    assert_non_null (jvt_problem (&v, "reason"));
    jv_reset (&v);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"released_to\":\"李先生\",\"reason\":\"核对身份证\"}");
    assert_true (desk_release_input (&v, data, true, &in));
    assert_false (in.code_sent);
    cJSON_Delete (data);
}

static void
test_pass_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    desk_pass_input_t in;
    cJSON *data = cJSON_Parse ("{\"plate\":\"粤B12345\",\"valid_from\":\"2026-12-01\",\"valid_to\":\"2026-12-01\","
                               "\"vip\":true}");
    assert_true (desk_pass_input (&v, data, &in));    /* one whole day */
    assert_string_equal (in.from.date, "2026-12-01");
    assert_null (in.from.time);
    assert_true (in.vip);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"plate\":\"粤B12345\",\"valid_from\":\"2026-12-01T10:00:00+08:00\","
                        "\"valid_to\":\"2026-12-01T02:00:00Z\"}");
    assert_false (desk_pass_input (&v, data, &in));   /* the same instant: not after */
    assert_non_null (jvt_problem (&v, "valid_to"));
    jv_reset (&v);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"plate\":\"粤B12345\",\"valid_from\":\"2026-01-01\",\"valid_to\":\"2036-01-31\"}");
    assert_false (desk_pass_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "valid_to"));
    jv_reset (&v);
    cJSON_Delete (data);
    data = cJSON_Parse ("[]");
    assert_false (desk_pass_input (&v, data, &in));
    jv_reset (&v);
    cJSON_Delete (data);
}

static void
test_settings_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    int days;
    cJSON *data = cJSON_Parse ("{\"visitor_retention_days\":30}");
    assert_true (desk_settings_input (&v, data, &days));
    assert_int_equal (days, 30);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"visitor_retention_days\":0}");
    assert_false (desk_settings_input (&v, data, &days));
    jv_reset (&v);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"visitor_retention_days\":3651}");
    assert_false (desk_settings_input (&v, data, &days));
    jv_reset (&v);
    cJSON_Delete (data);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_plates),
        cmocka_unit_test (test_search_compact),
        cmocka_unit_test (test_claim_codes),
        cmocka_unit_test (test_visitor_steps),
        cmocka_unit_test (test_release_decide),
        cmocka_unit_test (test_visitor_input),
        cmocka_unit_test (test_release_input),
        cmocka_unit_test (test_pass_input),
        cmocka_unit_test (test_settings_input),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
