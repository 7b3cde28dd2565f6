/* test_party_rules: phone numbers, identity documents, e-mail, masks and the
 * create/PATCH inputs of parties (services/tenants/party_rules.c, included).
 * No database needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tenants/party_rules.c"
#include "../../services/tenants/unit_rules.c"   /* the helpers party_rules uses */

/* The problem for field in v's details, or NULL. */
static const char *
s_problem_of (const jv_t *v, const char *field)
{
    const cJSON *d;
    cJSON_ArrayForEach (d, v->details) {
        const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (d, "field"));
        if (f && strcmp (f, field) == 0)
            return cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem"));
    }
    return NULL;
}

static int
s_problems (const jv_t *v)
{
    return v->details ? cJSON_GetArraySize (v->details) : 0;
}

static void
s_phone_is (const char *in, const char *want)
{
    char out[TN_PHONE_MAX + 1];
    bool ok = pii_phone_normalize (in, out);
    if (!want) {
        if (ok)
            fail_msg ("accepted %s as %s", in, out);
        return;
    }
    if (!ok)
        fail_msg ("refused %s", in);
    assert_string_equal (out, want);
}

static void
test_phones_valid (void **state)
{
    (void) state;
    s_phone_is ("13800138000", "13800138000");
    s_phone_is ("138 0013 8000", "13800138000");
    s_phone_is ("138-0013-8000", "13800138000");
    s_phone_is (" 19912345678 ", "19912345678");
    s_phone_is ("+86 138 0013 8000", "13800138000");
    s_phone_is ("+86-13800138000", "13800138000");
    s_phone_is ("008613800138000", "13800138000");
    s_phone_is ("8613800138000", "13800138000");
    /* landlines: 010 and 02x have 3-digit area codes, the rest 4 */
    s_phone_is ("010-62345678", "010-62345678");
    s_phone_is ("01062345678", "010-62345678");
    s_phone_is ("021 6234 5678", "021-62345678");
    s_phone_is ("0755-88881234", "0755-88881234");
    s_phone_is ("075588881234", "0755-88881234");
    s_phone_is ("0755 8888 1234", "0755-88881234");
    s_phone_is ("0755-8888-1234", "0755-88881234");      /* the number split, not an extension */
    s_phone_is ("0311-8123456", "0311-8123456");          /* 7-digit subscriber number */
    s_phone_is ("0755-88881234-801", "0755-88881234-801");
    s_phone_is ("0755-88881234 ext 801", "0755-88881234-801");
    s_phone_is ("0755-88881234 x801", "0755-88881234-801");
    s_phone_is ("0755-88881234#801", "0755-88881234-801");
    s_phone_is ("0755-88881234\xe8\xbd\xac" "801", "0755-88881234-801");   /* 转 */
    s_phone_is ("0755-88881234 ext 8 0 1", "0755-88881234-801");  /* spaces in an extension */
    s_phone_is ("0755-88881234 x123456", "0755-88881234-123456");  /* PII_PHONE_EXT_MAX digits */
    s_phone_is ("0755-88881234-123456", "0755-88881234-123456");   /* the same as a third group */
    s_phone_is ("010-6234567-12", "010-6234567-12");               /* after a 7-digit number */
    /* international */
    s_phone_is ("+852 9123 4567", "+85291234567");
    s_phone_is ("+1-415-555-0100", "+14155550100");
    s_phone_is ("+12345678", "+12345678");
    s_phone_is ("+123456789012345", "+123456789012345");
    /* + without 86 is another country's number, even when it looks like a mobile */
    s_phone_is ("+13800138000", "+13800138000");
}

static void
test_phones_invalid (void **state)
{
    (void) state;
    const char *bad[] = {
        "", " ", "abc", "1380013800", "138001380000", "12800138000", "23800138000",
        "13800l38000", "+1234567", "+1234567890123456", "++8613800138000", "86+13800138000",
        "0755-0888123", "0755-1888123", "0755-888812345", "0755-888", "00-88881234",
        "0155-88881234", "-0755-88881234", "0755--88881234", "0755-88881234-", "0755-88881234-1234567",
        "0755-88881234 ext", "0755-88881234 ext 12a", "13800138000 ext 1", "+85291234567 x1",
        "0755-8888-1234-12", "075-58888-1234", "(0755)88881234", "138\n00138000",
        "12345678901234567890123456789012345678901",
        /* an extension: too long, or where none belongs (a mobile in any form) */
        "0755-88881234 x1234567", "0755-88881234#", "+8613800138000 x1", "008613800138000#1",
        "8613800138000 ext 1",
        /* an extension twice: a third group and a marker */
        "0755-88881234-801 x12",
        /* dashes and pluses out of place */
        "+86-", "+-8613800138000", "0086-21-62345678", "1+3800138000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_phone_is (bad[i], NULL);
    char out[TN_PHONE_MAX + 1];
    assert_false (pii_phone_normalize (NULL, out));
}

static void
test_phone_tail_and_mask (void **state)
{
    (void) state;
    char tail[5], mask[TN_PHONE_MAX + 8];
    pii_phone_tail ("13812345678", tail);
    assert_string_equal (tail, "5678");
    pii_phone_tail ("0755-88881234-801", tail);
    assert_string_equal (tail, "1234");
    pii_phone_tail ("+85291234567", tail);
    assert_string_equal (tail, "4567");

    pii_phone_mask ("13812345678", mask);
    assert_string_equal (mask, "138****5678");
    pii_phone_mask ("0755-88881234", mask);
    assert_string_equal (mask, "075****1234");
    pii_phone_mask ("010-62345678", mask);
    assert_string_equal (mask, "010****5678");
    pii_phone_mask ("0755-88881234-801", mask);
    assert_string_equal (mask, "075****1234-801");
    pii_phone_mask ("+85291234567", mask);
    assert_string_equal (mask, "+85****4567");
    pii_phone_mask ("1234567", mask);
    assert_string_equal (mask, "****");
}

/* A resident ID with the right check character for its first 17 digits. */
static void
s_with_check (const char *first17, char out[19])
{
    static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * w[i];
    snprintf (out, 19, "%s%c", first17, "10X98765432"[sum % 11]);
}

static void
test_resident_id (void **state)
{
    (void) state;
    assert_true (pii_resident_id_ok ("11010519491231002X"));   /* the standard's example: check X */
    assert_true (pii_resident_id_ok ("440304199001011233"));
    assert_false (pii_resident_id_ok ("440304199001011234"));  /* wrong check digit */
    assert_false (pii_resident_id_ok ("110105194912310021"));  /* X expected */
    assert_false (pii_resident_id_ok ("11010519491231002x"));  /* upper case expected (normalised before) */
    assert_false (pii_resident_id_ok ("11010519491231002"));   /* 17 */
    assert_false (pii_resident_id_ok ("11010519491231002X1")); /* 19 */
    assert_false (pii_resident_id_ok ("1101051949123100AX"));  /* a letter inside */
    assert_false (pii_resident_id_ok (NULL));
    char id[19];
    s_with_check ("44030419900230123", id);                   /* 30 February */
    assert_false (pii_resident_id_ok (id));
    s_with_check ("44030420000229123", id);                   /* 29 February of a leap year */
    assert_true (pii_resident_id_ok (id));
    s_with_check ("04030419900101123", id);                   /* no area starts with 0 */
    assert_false (pii_resident_id_ok (id));

    char out[TN_ID_NUMBER_MAX + 1];
    assert_null (tn_id_normalize ("resident_id", " 11010519491231002x ", out));
    assert_string_equal (out, "11010519491231002X");
    assert_non_null (tn_id_normalize ("resident_id", "440304199001011234", out));
    assert_non_null (tn_id_normalize ("resident_id", "4403041990010112", out));
    assert_non_null (tn_id_normalize ("resident_id", "44030419900101123 3", out));
    assert_null (tn_id_normalize ("passport", "e12345678", out));
    assert_string_equal (out, "E12345678");
    assert_non_null (tn_id_normalize ("passport", "E1", out));
    assert_null (tn_id_normalize ("other", "H-1234567", out));
    assert_non_null (tn_id_normalize ("other", "H/1234567", out));
    assert_non_null (tn_id_normalize ("other", "\xe4\xb8\xad" "123", out));
}

static void
test_credit_code (void **state)
{
    (void) state;
    assert_true (tn_credit_code_ok ("91350100M000100Y43"));
    assert_true (tn_credit_code_ok ("91110108551385082Q"));
    assert_true (tn_credit_code_ok ("914403001922038216"));
    assert_false (tn_credit_code_ok ("91350100M000100Y44"));  /* wrong check */
    assert_false (tn_credit_code_ok ("91350100M000100Y4"));   /* 17 */
    assert_false (tn_credit_code_ok ("91350100I000100Y43"));  /* I is not in the alphabet */
    assert_false (tn_credit_code_ok ("91350100m000100Y43"));  /* lower case (normalised before) */
    assert_false (tn_credit_code_ok (NULL));
    char out[TN_ID_NUMBER_MAX + 1];
    assert_null (tn_id_normalize ("credit_code", "91350100m000100y43", out));
    assert_string_equal (out, "91350100M000100Y43");
    assert_non_null (tn_id_normalize ("credit_code", "91350100M000100Y44", out));
}

static void
test_id_mask (void **state)
{
    (void) state;
    char out[TN_ID_NUMBER_MAX + 1];
    /* at most the last 4 shown, never the head (the birthplace of a resident ID) */
    pii_id_mask ("110105194912311234", out);
    assert_string_equal (out, "**************1234");
    assert_int_equal (strlen (out), 18);
    pii_id_mask ("11010519491231002X", out);
    assert_string_equal (out, "**************002X");
    pii_id_mask ("91350100M000100Y43", out);     /* a credit code */
    assert_string_equal (out, "**************0Y43");
    /* 12 characters: the shortest that shows its tail */
    pii_id_mask ("ABCDEFGH1234", out);
    assert_string_equal (out, "********1234");
    /* shorter than 12: nothing shown (a 9-character passport kept 2 of 9 hidden before) */
    pii_id_mask ("ABCDEFG1234", out);
    assert_string_equal (out, "***********");
    pii_id_mask ("E12345678", out);
    assert_string_equal (out, "*********");
    pii_id_mask ("12345678", out);
    assert_string_equal (out, "********");
    pii_id_mask ("ABC", out);
    assert_string_equal (out, "***");
    pii_id_mask ("", out);
    assert_string_equal (out, "");
    /* every length: the same length, at most 4 visible, each visible one in place */
    const char *src = "0123456789ABCDEFGHIJKLMNOPQRSTUV";     /* 32 */
    for (size_t n = 0; n <= TN_ID_NUMBER_MAX; n++) {
        char id[TN_ID_NUMBER_MAX + 1];
        memcpy (id, src, n);
        id[n] = 0;
        pii_id_mask (id, out);
        assert_int_equal (strlen (out), n);
        size_t shown = 0;
        for (size_t i = 0; i < n; i++)
            if (out[i] != '*') {
                assert_int_equal (out[i], id[i]);
                assert_true (i >= n - 4);
                shown++;
            }
        assert_int_equal (shown, n < 12 ? 0 : 4);
    }
}

static void
test_email (void **state)
{
    (void) state;
    assert_true (tn_email_ok ("li.wei@example.com"));
    assert_true (tn_email_ok ("a@b.cn"));
    assert_true (tn_email_ok ("user+tag@mail.example-corp.com.cn"));
    const char *bad[] = { "", "a", "a@b", "@b.cn", "a@.cn", "a@b.", "a@@b.cn", "a@b@c.cn", "a b@c.cn",
                          "a@b..cn", ".a@b.cn", "a.@b.cn", "a@-b.cn", "a@b-.cn", "<a>@b.cn", "a@b.cn\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tn_email_ok (bad[i]))
            fail_msg ("accepted e-mail %s", bad[i]);
}

static cJSON *s_docs[32];
static int s_ndocs;

static const cJSON *
s_json (const char *text)
{
    cJSON *doc = cJSON_Parse (text);
    assert_non_null (doc);
    assert_true (s_ndocs < 32);
    s_docs[s_ndocs++] = doc;
    return doc;
}

static int
s_teardown (void **state)
{
    (void) state;
    for (int i = 0; i < s_ndocs; i++)
        cJSON_Delete (s_docs[i]);
    s_ndocs = 0;
    return 0;
}

static void
test_party_input_create (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_party_input_t in;
    assert_true (tn_party_input (&v, s_json ("{\"kind\":\"person\",\"name\":\"王建华\",\"phone\":\"138 0013 8000\","
                                             "\"email\":\"wang@example.com\",\"id_number\":\"11010519491231002x\"}"),
                                 NULL, &in));
    assert_string_equal (in.kind, "person");
    assert_string_equal (in.name, "王建华");
    assert_int_equal (in.nphones, 1);
    assert_string_equal (in.phones[0], "13800138000");
    assert_string_equal (in.id_type, "resident_id");             /* the default for a person */
    assert_string_equal (in.id_number, "11010519491231002X");
    assert_false (in.key_customer);

    /* phones: order kept, repeats dropped; a company's document is a credit code */
    assert_true (tn_party_input (&v, s_json ("{\"kind\":\"company\",\"name\":\"深圳市前海云图科技有限公司\","
                                             "\"phones\":[\"0755-88881234\",\"13800138000\",\"075588881234\"],"
                                             "\"id_number\":\"91350100M000100Y43\",\"key_customer\":true,"
                                             "\"key_customer_note\":\"大客户\"}"), NULL, &in));
    assert_int_equal (in.nphones, 2);
    assert_string_equal (in.phones[0], "0755-88881234");
    assert_string_equal (in.phones[1], "13800138000");
    assert_string_equal (in.id_type, "credit_code");
    assert_true (in.key_customer);
    assert_string_equal (in.key_customer_note, "大客户");

    /* every problem at once */
    assert_false (tn_party_input (&v, s_json ("{\"kind\":\"robot\",\"name\":\" \",\"phones\":[\"12\",\"13800138000\",5],"
                                              "\"email\":\"nope\",\"id_number\":\"440304199001011234\","
                                              "\"key_customer\":\"yes\"}"), NULL, &in));
    assert_non_null (s_problem_of (&v, "kind"));
    assert_non_null (s_problem_of (&v, "name"));
    assert_string_equal (s_problem_of (&v, "phones[0]"), "is not a phone number");
    assert_null (s_problem_of (&v, "phones[1]"));
    assert_string_equal (s_problem_of (&v, "phones[2]"), "must be a string");
    assert_non_null (s_problem_of (&v, "email"));
    assert_non_null (s_problem_of (&v, "id_number"));
    assert_non_null (s_problem_of (&v, "key_customer"));
    jv_reset (&v);

    assert_false (tn_party_input (&v, s_json ("{\"kind\":\"person\",\"name\":\"x\",\"phone\":\"13800138000\","
                                              "\"phones\":[\"13800138000\"]}"), NULL, &in));
    assert_non_null (s_problem_of (&v, "phones"));
    jv_reset (&v);
    assert_false (tn_party_input (&v, s_json ("{\"kind\":\"person\",\"name\":\"x\",\"phones\":[\"13800138000\","
                                              "\"13800138001\",\"13800138002\",\"13800138003\",\"13800138004\","
                                              "\"13800138005\"]}"), NULL, &in));
    assert_non_null (s_problem_of (&v, "phones"));
    jv_reset (&v);
    /* a person cannot hold a credit code; an id_type needs a number */
    assert_false (tn_party_input (&v, s_json ("{\"kind\":\"person\",\"name\":\"x\",\"id_type\":\"credit_code\","
                                              "\"id_number\":\"91350100M000100Y43\"}"), NULL, &in));
    assert_non_null (s_problem_of (&v, "id_type"));
    jv_reset (&v);
    assert_false (tn_party_input (&v, s_json ("{\"kind\":\"person\",\"name\":\"x\",\"id_type\":\"passport\"}"),
                                  NULL, &in));
    assert_non_null (s_problem_of (&v, "id_number"));
    jv_reset (&v);
    assert_false (tn_party_input (&v, s_json ("[]"), NULL, &in));
    assert_int_equal (s_problems (&v), 1);
    jv_reset (&v);
    assert_false (tn_party_input (&v, s_json ("{}"), NULL, &in));
    assert_int_equal (s_problems (&v), 2);                       /* kind and name */
    jv_reset (&v);
}

static void
s_values (tn_party_values_t *cur)
{
    memset (cur, 0, sizeof *cur);
    cur->kind = "person";
    cur->name = "李娜";
    snprintf (cur->phones[0], sizeof cur->phones[0], "13800138000");
    snprintf (cur->phones[1], sizeof cur->phones[1], "0755-88881234");
    cur->nphones = 2;
    cur->id_type = "passport";
    cur->id_number = "E12345678";
}

static void
test_party_patch (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_party_values_t cur, next;
    tn_party_input_t in;
    bool key;
    s_values (&cur);

    /* nothing sent: nothing changes */
    assert_true (tn_party_input (&v, s_json ("{}"), &cur, &in));
    assert_false (tn_party_patch (&cur, &in, &next, &key));
    assert_false (key);
    /* the same values again: no change either */
    assert_true (tn_party_input (&v, s_json ("{\"name\":\"李娜\",\"kind\":\"person\",\"key_customer\":false}"), &cur, &in));
    assert_false (tn_party_patch (&cur, &in, &next, &key));

    /* "phone" replaces the primary, keeping the others */
    assert_true (tn_party_input (&v, s_json ("{\"phone\":\"139 0000 1111\"}"), &cur, &in));
    assert_true (tn_party_patch (&cur, &in, &next, &key));
    assert_int_equal (next.nphones, 2);
    assert_string_equal (next.phones[0], "13900001111");
    assert_string_equal (next.phones[1], "0755-88881234");
    /* "phones" replaces the list */
    assert_true (tn_party_input (&v, s_json ("{\"phones\":[]}"), &cur, &in));
    assert_true (tn_party_patch (&cur, &in, &next, &key));
    assert_int_equal (next.nphones, 0);

    /* an id_number alone keeps the stored type */
    assert_true (tn_party_input (&v, s_json ("{\"id_number\":\"g7654321\"}"), &cur, &in));
    assert_true (tn_party_patch (&cur, &in, &next, &key));
    assert_string_equal (next.id_type, "passport");
    assert_string_equal (next.id_number, "G7654321");
    /* id_number null clears both */
    assert_true (tn_party_input (&v, s_json ("{\"id_number\":null}"), &cur, &in));
    assert_true (tn_party_patch (&cur, &in, &next, &key));
    assert_null (next.id_type);
    assert_null (next.id_number);
    /* an id_type alone re-checks the stored number */
    assert_false (tn_party_input (&v, s_json ("{\"id_type\":\"resident_id\"}"), &cur, &in));
    assert_non_null (s_problem_of (&v, "id_type"));
    jv_reset (&v);
    assert_false (tn_party_input (&v, s_json ("{\"id_type\":null}"), &cur, &in));
    jv_reset (&v);

    /* kind cannot change; key-customer changes are flagged */
    assert_false (tn_party_input (&v, s_json ("{\"kind\":\"company\"}"), &cur, &in));
    assert_string_equal (s_problem_of (&v, "kind"), "cannot be changed");
    jv_reset (&v);
    assert_true (tn_party_input (&v, s_json ("{\"key_customer_note\":\"投诉较多\"}"), &cur, &in));
    assert_true (tn_party_patch (&cur, &in, &next, &key));
    assert_true (key);
    assert_true (tn_party_input (&v, s_json ("{\"email\":\"li@example.com\"}"), &cur, &in));
    assert_true (tn_party_patch (&cur, &in, &next, &key));
    assert_false (key);
    assert_string_equal (next.email, "li@example.com");
}

static void
test_roles (void **state)
{
    (void) state;
    assert_true (tn_role_sees_pii ("admin") && tn_role_sees_pii ("manager") && tn_role_sees_pii ("service"));
    assert_false (tn_role_sees_pii ("agent") || tn_role_sees_pii ("technician")
                  || tn_role_sees_pii ("integration") || tn_role_sees_pii ("root") || tn_role_sees_pii (NULL));
    assert_true (tn_role_audited ("admin") && tn_role_audited ("manager"));
    assert_false (tn_role_audited ("service") || tn_role_audited ("agent"));
    assert_true (tn_role_sets_key_customer ("manager"));
    assert_false (tn_role_sets_key_customer ("agent"));
    assert_true (tn_role_sees_contacts ("admin") && tn_role_sees_contacts ("manager")
                 && tn_role_sees_contacts ("agent") && tn_role_sees_contacts ("service"));
    assert_false (tn_role_sees_contacts ("technician") || tn_role_sees_contacts ("integration")
                  || tn_role_sees_contacts ("root") || tn_role_sees_contacts (NULL));
    assert_true (tn_id_type_fits ("person", "passport") && tn_id_type_fits ("company", "credit_code"));
    assert_false (tn_id_type_fits ("company", "resident_id") || tn_id_type_fits ("person", "credit_code"));
}

/* Occupancies: a move-in, a move-out, and the move-in columns of an import row. */
static void
test_occupancy_inputs (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_occupancy_input_t in;
    cJSON *data = cJSON_Parse ("{\"party_id\":\"0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9\","
                               "\"role\":\"tenant\",\"start_date\":\"2026-02-28\"}");
    assert_true (tn_occupancy_input (&v, data, &in));
    assert_string_equal (in.role, "tenant");
    assert_ptr_equal (in.role, tn_occupancy_roles[1]);      /* static, outlives the request */
    assert_string_equal (in.start_date, "2026-02-28");
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"party_id\":\"x\",\"role\":\"landlord\",\"start_date\":\"2026-02-29\"}");
    assert_false (tn_occupancy_input (&v, data, &in));
    assert_int_equal (s_problems (&v), 3);
    assert_non_null (s_problem_of (&v, "party_id"));
    assert_non_null (s_problem_of (&v, "role"));
    assert_non_null (s_problem_of (&v, "start_date"));           /* no 29 February in 2026 */
    cJSON_Delete (data);
    jv_reset (&v);
    assert_false (tn_occupancy_input (&v, NULL, &in));
    assert_non_null (s_problem_of (&v, "body"));
    jv_reset (&v);

    tn_end_input_t end;
    data = cJSON_Parse ("{\"end_date\":\"2026-12-31\"}");
    assert_true (tn_end_input (&v, data, &end));
    assert_string_equal (end.end_date, "2026-12-31");
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"end_date\":null}");
    assert_false (tn_end_input (&v, data, &end));
    assert_non_null (s_problem_of (&v, "end_date"));
    assert_null (end.end_date);
    cJSON_Delete (data);
    jv_reset (&v);

    tn_import_move_in_t mi;
    data = cJSON_Parse ("{}");
    assert_true (tn_import_move_in_input (&v, data, &mi));      /* no move-in */
    assert_null (mi.unit_code);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"role\":\"owner\"}");
    assert_false (tn_import_move_in_input (&v, data, &mi));
    assert_string_equal (s_problem_of (&v, "unit_code"), "is required with role and start_date (a move-in)");
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"unit_code\":\"A-1201\"}");
    assert_false (tn_import_move_in_input (&v, data, &mi));
    assert_non_null (s_problem_of (&v, "role"));
    assert_non_null (s_problem_of (&v, "start_date"));
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"unit_code\":\"A-1201\",\"role\":\"owner\",\"start_date\":\"2026-01-01\"}");
    assert_true (tn_import_move_in_input (&v, data, &mi));
    assert_string_equal (mi.unit_code, "A-1201");
    cJSON_Delete (data);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_phones_valid),
        cmocka_unit_test (test_phones_invalid),
        cmocka_unit_test (test_phone_tail_and_mask),
        cmocka_unit_test (test_resident_id),
        cmocka_unit_test (test_credit_code),
        cmocka_unit_test (test_id_mask),
        cmocka_unit_test (test_email),
        cmocka_unit_test_teardown (test_party_input_create, s_teardown),
        cmocka_unit_test_teardown (test_party_patch, s_teardown),
        cmocka_unit_test (test_roles),
        cmocka_unit_test (test_occupancy_inputs),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
