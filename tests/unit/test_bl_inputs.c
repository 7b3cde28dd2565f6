/* test_bl_inputs: billing's request bodies (services/billing/input_rules.c,
 * included): what each accepts, and the field and problem of what it does not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/billing/input_rules.c"
#include "../../services/billing/bill_rules.c"
#include "jv_testing.h"

#define UID "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"

static void
test_settings (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    bl_settings_input_t in;
    cJSON *d = cJSON_Parse ("{\"due_day\":31,\"late_fee_cap_bps\":0,\"timezone\":\"Asia/Shanghai\"}");
    assert_true (bl_settings_input (&v, d, &in));
    assert_true (in.has_due_day && in.has_cap && !in.has_bps && !in.has_grace);
    assert_int_equal (in.due_day, 31);
    assert_string_equal (in.timezone, "Asia/Shanghai");
    cJSON_Delete (d);
    /* every field optional: an empty object is a valid (no-op) change */
    d = cJSON_Parse ("{}");
    assert_true (bl_settings_input (&v, d, &in));
    assert_null (in.timezone);
    cJSON_Delete (d);
    /* each bad field is named, all at once */
    d = cJSON_Parse ("{\"due_day\":32,\"late_fee_bps_per_day\":1.5,\"late_fee_grace_days\":-1,"
                     "\"timezone\":7}");
    assert_false (bl_settings_input (&v, d, &in));
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "due_day: must be from 1 to 31"));
    assert_non_null (strstr (p, "late_fee_bps_per_day: must be an integer"));
    assert_non_null (strstr (p, "late_fee_grace_days: must be from 0 to 365"));
    assert_non_null (strstr (p, "timezone: must be a string"));
    cJSON_Delete (d);
    /* "" passes here (an optional string may be empty): the handler's zone
     * lookup is what refuses it, with the other problems */
    d = cJSON_Parse ("{\"timezone\":\"\"}");
    assert_true (bl_settings_input (&v, d, &in));
    assert_string_equal (in.timezone, "");
    cJSON_Delete (d);
    assert_false (bl_settings_input (&v, NULL, &in));
    assert_string_equal (jvt_problems (&v), "body: must be a JSON object");
}

static void
test_fee_item (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    bl_fee_item_input_t in;
    /* a use named twice counts once; the literal holds our words only */
    cJSON *d = cJSON_Parse ("{\"code\":\"MGMT\",\"name\":\"物业管理费\",\"basis\":\"per_area\",\"unit_price\":350,"
                            "\"applies_to\":[\"office\",\"residential\",\"office\"]}");
    assert_true (bl_fee_item_input (&v, d, &in));
    assert_string_equal (in.applies_to, "{office,residential}");
    assert_int_equal (in.unit_price, 350);
    assert_null (in.effective_from);
    cJSON_Delete (d);
    /* all seven uses fit */
    d = cJSON_Parse ("{\"code\":\"A\",\"name\":\"a\",\"basis\":\"fixed\",\"unit_price\":0,\"applies_to\":"
                     "[\"residential\",\"office\",\"retail\",\"hotel\",\"parking\",\"storage\",\"other\"],"
                     "\"effective_from\":\"2026-02-01\"}");
    assert_true (bl_fee_item_input (&v, d, &in));
    assert_string_equal (in.applies_to, "{residential,office,retail,hotel,parking,storage,other}");
    cJSON_Delete (d);
    /* parking needs no uses; another basis does */
    d = cJSON_Parse ("{\"code\":\"P\",\"name\":\"p\",\"basis\":\"parking\",\"unit_price\":1}");
    assert_true (bl_fee_item_input (&v, d, &in));
    assert_string_equal (in.applies_to, "{}");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"code\":\"F\",\"name\":\"f\",\"basis\":\"fixed\",\"unit_price\":1,\"applies_to\":[]}");
    assert_false (bl_fee_item_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "applies_to: must name at least one unit use");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"code\":\"F\",\"name\":\"f\",\"basis\":\"fixed\",\"unit_price\":-1,"
                     "\"applies_to\":[\"office\",\"garage\"],\"effective_from\":\"2026-02-30\"}");
    assert_false (bl_fee_item_input (&v, d, &in));
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "unit_price: must be from 0 to"));
    assert_non_null (strstr (p, "applies_to: unknown use"));
    assert_non_null (strstr (p, "effective_from:"));
    assert_string_equal (in.applies_to, "{}");
    cJSON_Delete (d);
}

static void
test_run (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    bl_run_input_t in;
    cJSON *d = cJSON_Parse ("{\"period\":\"2028-02\"}");
    assert_true (bl_run_input (&v, d, &in));
    assert_int_equal (in.year, 2028);
    assert_int_equal (in.month, 2);
    cJSON_Delete (d);
    const char *bad[] = { "{\"period\":\"2026-13\"}", "{\"period\":\"2026-1\"}", "{\"period\":\"1999-12\"}",
                          "{\"period\":202601}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = cJSON_Parse (bad[i]);
        assert_false (bl_run_input (&v, d, &in));
        assert_non_null (strstr (jvt_problems (&v), "period: "));
        assert_null (in.period);
        cJSON_Delete (d);
    }
    d = cJSON_Parse ("{}");
    assert_false (bl_run_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "period: is required");
    cJSON_Delete (d);
}

static void
test_charge_and_deposit (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    bl_charge_input_t c;
    cJSON *d = cJSON_Parse ("{\"unit_id\":\"" UID "\",\"amount\":1,\"reason\":\"维修\",\"due_date\":\"2028-02-29\"}");
    assert_true (bl_charge_input (&v, d, &c));
    assert_int_equal (c.amount, 1);
    assert_string_equal (c.due_date, "2028-02-29");
    cJSON_Delete (d);
    /* money in is a positive number of fen: 0 and 1.5 are refused, as is 10^11 + 1 */
    d = cJSON_Parse ("{\"unit_id\":\"x\",\"amount\":0,\"reason\":\"\"}");
    assert_false (bl_charge_input (&v, d, &c));
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "unit_id:"));
    assert_non_null (strstr (p, "amount: must be from 1 to 100000000000"));
    assert_non_null (strstr (p, "reason:"));
    cJSON_Delete (d);
    bl_deposit_input_t dep;
    d = cJSON_Parse ("{\"unit_id\":\"" UID "\",\"amount\":100000000001}");
    assert_false (bl_deposit_input (&v, d, &dep));
    assert_string_equal (jvt_problems (&v), "amount: must be from 1 to 100000000000");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"unit_id\":\"" UID "\",\"amount\":200000,\"ticket_id\":null}");
    assert_true (bl_deposit_input (&v, d, &dep));
    assert_null (dep.ticket_id);
    cJSON_Delete (d);
}

static void
test_refund_and_reason (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    bl_refund_input_t r;
    /* no body, or null: the whole deposit */
    assert_true (bl_refund_input (&v, NULL, &r));
    assert_false (r.has_amount);
    cJSON *d = cJSON_CreateNull ();
    assert_true (bl_refund_input (&v, d, &r));
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"amount\":0}");
    assert_true (bl_refund_input (&v, d, &r));
    assert_true (r.has_amount);
    assert_int_equal (r.amount, 0);
    cJSON_Delete (d);
    /* an empty reason is none: a partial refund still asks for one (deposits.c) */
    d = cJSON_Parse ("{\"amount\":100,\"reason\":\"\"}");
    assert_true (bl_refund_input (&v, d, &r));
    assert_null (r.reason);
    cJSON_Delete (d);
    d = cJSON_Parse ("[1]");
    assert_false (bl_refund_input (&v, d, &r));
    assert_string_equal (jvt_problems (&v), "body: must be a JSON object");
    cJSON_Delete (d);
    bl_reason_input_t in;
    d = cJSON_Parse ("{\"reason\":\"录入错误\"}");
    assert_true (bl_reason_input (&v, d, &in));
    assert_string_equal (in.reason, "录入错误");
    cJSON_Delete (d);
    /* a reversal or a waiver has a reason: null is not one */
    d = cJSON_Parse ("{\"reason\":null}");
    assert_false (bl_reason_input (&v, d, &in));
    assert_non_null (strstr (jvt_problems (&v), "reason: "));
    cJSON_Delete (d);
    assert_false (bl_reason_input (&v, NULL, &in));
    jv_reset (&v);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_settings),
        cmocka_unit_test (test_fee_item),
        cmocka_unit_test (test_run),
        cmocka_unit_test (test_charge_and_deposit),
        cmocka_unit_test (test_refund_and_reason),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
