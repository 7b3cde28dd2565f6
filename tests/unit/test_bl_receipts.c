/* test_bl_receipts: a receipt's amounts (services/billing/receipt_rules.c,
 * included): Chinese capitals on the edge cases of the accounting
 * convention, figures with thousands separators, method names, layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../services/billing/receipt_rules.c"
#include "../../services/billing/alloc_rules.h"

static void
s_capitals (int64_t fen, const char *want)
{
    char out[BL_RECEIPT_AMOUNT_MAX];
    assert_int_equal (bl_amount_capitals (fen, out, sizeof out), 0);
    if (strcmp (out, want) != 0)
        fail_msg ("%lld fen: %s, want %s", (long long) fen, out, want);
}

static void
test_capitals_small (void **state)
{
    (void) state;
    s_capitals (1, "壹分");
    s_capitals (9, "玖分");
    s_capitals (10, "壹角整");
    s_capitals (11, "壹角壹分");
    s_capitals (100, "壹元整");
    s_capitals (101, "壹元零壹分");
    s_capitals (110, "壹元壹角整");
    s_capitals (1000, "壹拾元整");
    s_capitals (1050, "壹拾元零伍角整");
    s_capitals (1500, "壹拾伍元整");
    s_capitals (10005, "壹佰元零伍分");
    s_capitals (123456, "壹仟贰佰叁拾肆元伍角陆分");
    s_capitals (0, "零元整");
}

static void
test_capitals_zeros_inside (void **state)
{
    (void) state;
    s_capitals (100000507LL, "壹佰万零伍元零柒分");           /* 1,000,005.07 */
    s_capitals (1001000LL, "壹万零壹拾元整");                 /* 10,010.00 */
    s_capitals (10020030045LL, "壹亿零贰拾万零叁佰元零肆角伍分"); /* 100,200,300.45 */
    s_capitals (10700053LL, "壹拾万零柒仟元零伍角叁分");        /* 107,000.53 */
    s_capitals (168032LL, "壹仟陆佰捌拾元零叁角贰分");        /* 1,680.32 */
    s_capitals (2000000LL, "贰万元整");                       /* 20,000.00 */
    s_capitals (20000000LL, "贰拾万元整");                    /* 200,000.00 */
    s_capitals (10010000000LL, "壹亿零壹拾万元整");           /* 100,100,000.00 */
    s_capitals (10000000100LL, "壹亿零壹元整");               /* 100,000,001.00 */
    s_capitals (1000000000100LL, "壹佰亿零壹元整");
}

static void
test_capitals_large (void **state)
{
    (void) state;
    s_capitals (10000000000LL, "壹亿元整");                   /* 100,000,000.00 */
    s_capitals (BL_AMOUNT_MAX, "壹拾亿元整");                 /* the largest the API takes */
    s_capitals (BL_AMOUNT_MAX - 1, "玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分");
    s_capitals (BL_CAPITALS_FEN_MAX,
                "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分");
    char out[BL_RECEIPT_AMOUNT_MAX];
    assert_int_equal (bl_amount_capitals (BL_CAPITALS_FEN_MAX + 1, out, sizeof out), -1);
    assert_string_equal (out, "");
    assert_int_equal (bl_amount_capitals (-1, out, sizeof out), -1);
    assert_int_equal (bl_amount_capitals (INT64_MIN, out, sizeof out), -1);
    char small[8];
    assert_int_equal (bl_amount_capitals (100, small, sizeof small), -1);
    assert_string_equal (small, "");
}

static void
test_figures (void **state)
{
    (void) state;
    const struct { int64_t fen; const char *want; } cases[] = {
        { 0, "¥0.00" }, { 1, "¥0.01" }, { 10, "¥0.10" }, { 123456, "¥1,234.56" },
        { 100000, "¥1,000.00" }, { 99999, "¥999.99" }, { 100000000000LL, "¥1,000,000,000.00" },
        { -50, "-¥0.50" }, { INT64_MIN, "-¥92,233,720,368,547,758.08" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[BL_RECEIPT_AMOUNT_MAX];
        bl_amount_figures (cases[i].fen, out, sizeof out);
        assert_string_equal (out, cases[i].want);
    }
}

static void
test_methods_and_layouts (void **state)
{
    (void) state;
    assert_string_equal (bl_method_name ("cash"), "现金");
    assert_string_equal (bl_method_name ("wechat"), "微信支付");
    assert_string_equal (bl_method_name ("external"), "其他渠道");
    assert_string_equal (bl_method_name ("barter"), "barter");
    assert_string_equal (bl_method_name (NULL), "");
    assert_string_equal (bl_bill_kind_name ("late_fee"), "滞纳金");
    assert_string_equal (bl_bill_kind_name ("periodic"), "物业服务费");
    assert_string_equal (bl_bill_kind_name ("other"), "other");
    bl_layout_t l;
    assert_true (bl_receipt_layout (NULL, &l));
    assert_int_equal (l, BL_LAYOUT_A5);
    assert_true (bl_receipt_layout ("", &l));
    assert_int_equal (l, BL_LAYOUT_A5);
    assert_true (bl_receipt_layout ("thermal", &l));
    assert_int_equal (l, BL_LAYOUT_THERMAL);
    assert_true (bl_receipt_layout ("a5", &l));
    assert_int_equal (l, BL_LAYOUT_A5);
    assert_false (bl_receipt_layout ("A4", &l));
    assert_false (bl_receipt_layout ("thermal ", &l));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_capitals_small),
        cmocka_unit_test (test_capitals_zeros_inside),
        cmocka_unit_test (test_capitals_large),
        cmocka_unit_test (test_figures),
        cmocka_unit_test (test_methods_and_layouts),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
