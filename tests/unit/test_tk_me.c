/* test_tk_me: a resident's view of a ticket (services/tickets/me_tickets.c,
 * its pure part alone: TK_ME_RULES_ONLY): phone numbers masked, the staff's
 * fields, internal entries and staff ids dropped. What needs a row (the
 * scope, the desk's paths) is test_me_tickets.py's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TK_ME_RULES_ONLY
#include "../../services/tickets/me_tickets.c"

static void
s_mask (const char *in, const char *want)
{
    char buf[256];
    snprintf (buf, sizeof buf, "%s", in);
    tk_me_mask_phones (buf);
    assert_string_equal (buf, want);
}

static void
test_mask_phones (void **state)
{
    (void) state;
    s_mask ("师傅电话 13912345678", "师傅电话 *******5678");
    s_mask ("13912345678", "*******5678");
    s_mask ("021-1234567 or 1234567", "021-***4567 or ***4567");
    s_mask ("3楼302室, 123456 not a phone", "3楼302室, 123456 not a phone");
    s_mask ("", "");
    tk_me_mask_phones (NULL);          /* harmless */
}

static const char *const s_ticket =
    "{\"id\":\"t1\",\"status\":\"resolved\",\"assignee_id\":\"u-staff\",\"escalated_to\":\"managers\","
    "\"escalated_at\":null,\"faq_id\":null,\"created_by\":\"p1\",\"category\":\"plumbing\","
    "\"sla\":{\"respond_by\":\"x\"},\"fee\":{\"amount\":100,\"status\":\"proposed\"},"
    "\"allowed_actions\":[\"close\"],"
    "\"timeline\":["
    "{\"actor_id\":\"p1\",\"actor_role\":\"resident\",\"action\":\"create\",\"internal\":false,\"note\":null,\"data\":{}},"
    "{\"actor_id\":\"u-staff\",\"actor_role\":\"agent\",\"action\":\"comment\",\"internal\":true,\"note\":\"secret\",\"data\":{}},"
    "{\"actor_id\":\"u-staff\",\"actor_role\":\"manager\",\"action\":\"assign\",\"internal\":false,"
    "\"note\":\"call 13912345678\",\"data\":{\"assignee_id\":\"u-tech\",\"auto\":true}}],"
    "\"feedback\":{\"rating\":5,\"called_by\":\"p1\"}}";

static void
test_ticket_public (void **state)
{
    (void) state;
    cJSON *t = cJSON_Parse (s_ticket);
    assert_non_null (t);
    tk_me_ticket_public (t);
    char *text = cJSON_PrintUnformatted (t);
    /* no staff field, no staff id, no internal entry, no phone */
    assert_null (strstr (text, "u-staff"));
    assert_null (strstr (text, "u-tech"));
    assert_null (strstr (text, "secret"));
    assert_null (strstr (text, "13912345678"));
    assert_non_null (strstr (text, "*******5678"));
    assert_null (cJSON_GetObjectItem (t, "sla"));
    assert_null (cJSON_GetObjectItem (t, "allowed_actions"));
    assert_null (cJSON_GetObjectItem (t, "category"));
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (t, "fee")));     /* only proposed */
    cJSON *tl = cJSON_GetObjectItem (t, "timeline");
    assert_int_equal (cJSON_GetArraySize (tl), 2);
    cJSON *first = cJSON_GetArrayItem (tl, 0), *second = cJSON_GetArrayItem (tl, 1);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (first, "actor")), "resident");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (first, "actor_id")), "p1");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (second, "actor")), "staff");
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (second, "actor_id")));
    assert_null (cJSON_GetObjectItem (second, "internal"));
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (second, "data")), 0);
    assert_null (cJSON_GetObjectItem (cJSON_GetObjectItem (t, "feedback"), "called_by"));
    free (text);
    cJSON_Delete (t);
}

static void
test_approved_fee_shown (void **state)
{
    (void) state;
    cJSON *t = cJSON_Parse ("{\"fee\":{\"amount\":5000,\"currency\":\"CNY\",\"status\":\"approved\"},"
                            "\"feedback\":null}");
    tk_me_ticket_public (t);
    cJSON *fee = cJSON_GetObjectItem (t, "fee");
    assert_true (cJSON_IsObject (fee));
    assert_int_equal (cJSON_GetObjectItem (fee, "amount")->valueint, 5000);
    cJSON_Delete (t);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_mask_phones),
        cmocka_unit_test (test_ticket_public),
        cmocka_unit_test (test_approved_fee_shown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
