/* test_import_rules: how CSV cells become the API's data, and who a party
 * of a parties file is (services/tenants/import_rules.c, included). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tenants/import_rules.c"

static void
s_number_is (const char *cell, double want)
{
    cJSON *n = tn_import_number (cell);
    assert_true (cJSON_IsNumber (n));
    assert_true (n->valuedouble == want);
    cJSON_Delete (n);
}

static void
s_text_is (const char *cell)
{
    cJSON *n = tn_import_number (cell);
    assert_true (cJSON_IsString (n));
    assert_string_equal (n->valuestring, cell);
    cJSON_Delete (n);
}

static void
test_number (void **state)
{
    (void) state;
    s_number_is ("85", 85);
    s_number_is ("85.5", 85.5);
    s_number_is ("85.", 85);
    s_number_is ("0.25", 0.25);
    /* everything else stays text, for tn_unit_input to refuse */
    s_text_is ("");
    s_text_is (".5");
    s_text_is ("-1");
    s_text_is ("+1");
    s_text_is ("1e3");
    s_text_is ("85 m2");
    s_text_is ("1.2.3");
    s_text_is ("八十");
}

/* The phones tn_import_phones adds to an object, as JSON text. */
static void
s_phones_are (const char *cell, const char *want)
{
    cJSON *obj = cJSON_CreateObject ();
    tn_import_phones (obj, cell);
    char *got = cJSON_PrintUnformatted (obj);
    assert_string_equal (got, want);
    free (got);
    cJSON_Delete (obj);
}

static void
test_phones (void **state)
{
    (void) state;
    s_phones_are ("", "{}");
    s_phones_are ("   ", "{}");
    s_phones_are ("13800138000", "{\"phone\":\"13800138000\"}");
    s_phones_are (" 0755-88881234 ", "{\"phone\":\"0755-88881234\"}");
    s_phones_are ("13800138000;13900139000", "{\"phones\":[\"13800138000\",\"13900139000\"]}");
    s_phones_are ("13800138000 , 13900139000 / 0755-88881234",
                  "{\"phones\":[\"13800138000\",\"13900139000\",\"0755-88881234\"]}");
    /* the Chinese forms: full-width semicolon and comma, 、 */
    s_phones_are ("13800138000；13900139000，13700137000、13600136000",
                  "{\"phones\":[\"13800138000\",\"13900139000\",\"13700137000\",\"13600136000\"]}");
    /* empty pieces are left out: one number left is "phone" */
    s_phones_are ("13800138000;;", "{\"phone\":\"13800138000\"}");
    s_phones_are ("; ,13800138000", "{\"phone\":\"13800138000\"}");
    /* the numbers are not checked here: tn_party_input does */
    s_phones_are ("abc;def", "{\"phones\":[\"abc\",\"def\"]}");
}

static void
test_party_key (void **state)
{
    (void) state;
    tn_party_input_t in = { .kind = "person", .name = "张三", .nphones = 1, .email = "a@b.cn" };
    strcpy (in.phones[0], "13800138000");
    char *key = tn_import_party_key (&in);
    assert_non_null (key);
    assert_string_equal (key, "N\x1fperson\x1f张三\x1f" "13800138000\x1f" "a@b.cn");
    free (key);

    /* no phone, no e-mail */
    in.nphones = 0;
    in.email = NULL;
    key = tn_import_party_key (&in);
    assert_string_equal (key, "N\x1fperson\x1f张三\x1f\x1f");
    free (key);

    /* an ID document decides alone: the name and phones do not count */
    in.id_type = "resident_id";
    strcpy (in.id_number, "11010519491231002X");
    key = tn_import_party_key (&in);
    assert_string_equal (key, "I\x1fresident_id\x1f" "11010519491231002X");
    free (key);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_number),
        cmocka_unit_test (test_phones),
        cmocka_unit_test (test_party_key),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
