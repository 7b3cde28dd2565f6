/* receipt_rules: what a receipt (收据) says about money, decided without a
 * database: the amount in figures (¥1,234.56) and in Chinese capitals
 * (大写: 壹仟贰佰叁拾肆元伍角陆分), the payment method's name, and the
 * print layouts. receipts.c prints the page with them. */
#ifndef BL_RECEIPT_RULES_H
#define BL_RECEIPT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any amount this file writes, capitals or figures, with its NUL. */
#define BL_RECEIPT_AMOUNT_MAX 192
/* The largest amount the capitals are written for: 999,999,999,999.99 yuan
 * (the 亿 section's 仟 is the highest unit); BL_AMOUNT_MAX is far below. */
#define BL_CAPITALS_FEN_MAX   99999999999999LL

/* The amount in Chinese capitals, the accounting convention of the PBOC's
 * rules for filling in bills and vouchers (《正确填写票据和结算凭证的基本规定》):
 * digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟 in sections of 万 and 亿, then
 * 元角分; 壹拾 is written whole (10.00 is 壹拾元整); 整 follows 元 or 角
 * when there is no 分 (0.10 is 壹角整), never 分; a run of zeros between two
 * written digits is one 零, also across 万, 亿 and 元 (1,000,005.07 is
 * 壹佰万零伍元零柒分, 107,000.53 is 壹拾万零柒仟元零伍角叁分, 10.50 is
 * 壹拾元零伍角整: the rules allow the 零 in the last two and we always
 * write it); no 元 when there are no yuan (0.01 is 壹分); 0 is 零元整.
 * Writes into out (cap >= BL_RECEIPT_AMOUNT_MAX); 0, or -1 for a negative
 * amount or one above BL_CAPITALS_FEN_MAX (out is then ""). */
int bl_amount_capitals (int64_t fen, char *out, size_t cap);

/* The amount in figures as a receipt prints it: "¥1,234.56" (a comma
 * every three digits, always two decimals; "-¥0.50" below zero). */
void bl_amount_figures (int64_t fen, char *out, size_t cap);

/* The Chinese name of a payment method (cash 现金, bank_transfer 银行转账,
 * wechat 微信支付, alipay 支付宝, card 银行卡, external 其他渠道); an
 * unknown one comes back as given. */
const char *bl_method_name (const char *method);

/* The Chinese name of a bill's kind, for a bill that has no description
 * of its own (periodic 物业服务费, charge 其他费用, late_fee 滞纳金,
 * deposit 押金); an unknown one comes back as given. */
const char *bl_bill_kind_name (const char *kind);

/* ?layout= of a receipt: A5 paper (the default, also for "" and NULL) or
 * an 80 mm thermal roll. False for anything else. */
typedef enum { BL_LAYOUT_A5, BL_LAYOUT_THERMAL } bl_layout_t;
bool bl_receipt_layout (const char *s, bl_layout_t *layout);

#endif
