/* receipt_rules: amounts in capitals and figures, method names, layouts
 * (see receipt_rules.h). Pure: unit-tested in tests/unit/test_bl_receipts.c. */
#include "receipt_rules.h"

#include <stdio.h>
#include <string.h>

static const char *const s_digits[10] = { "零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖" };
static const char *const s_units[4] = { "", "拾", "佰", "仟" };
/* the section a position of the yuan starts: 个, 万, 亿 */
static const char *const s_sections[3] = { "", "万", "亿" };

static void
s_put (char *out, size_t cap, const char *s)
{
    size_t len = strlen (out);
    snprintf (out + len, cap - len, "%s", s);
}

/* The yuan (< 10^12) in capitals, with one 零 for each run of zeros
 * between written digits; *zero_after tells whether the yuan end in a run
 * of zeros that a later digit (角, 分) must mark. */
static void
s_yuan (int64_t yuan, char *out, size_t cap, bool *zero_after)
{
    int d[12];
    for (int i = 0; i < 12; i++, yuan /= 10)
        d[i] = (int) (yuan % 10);
    bool written = false, pending = false;
    for (int i = 11; i >= 0; i--) {
        if (d[i] == 0)
            pending = pending || written;
        else {
            if (pending)
                s_put (out, cap, "零");
            s_put (out, cap, s_digits[d[i]]);
            s_put (out, cap, s_units[i % 4]);
            written = true;
            pending = false;
        }
        /* the section's name once, after its last position, when any of
         * its four digits is written */
        if (i % 4 == 0 && i > 0 && (d[i] || d[i + 1] || d[i + 2] || d[i + 3]))
            s_put (out, cap, s_sections[i / 4]);
    }
    *zero_after = pending;
}

int
bl_amount_capitals (int64_t fen, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    out[0] = 0;
    if (fen < 0 || fen > BL_CAPITALS_FEN_MAX || cap < BL_RECEIPT_AMOUNT_MAX)
        return -1;
    if (fen == 0) {
        s_put (out, cap, "零元整");
        return 0;
    }
    int64_t yuan = fen / 100;
    int jiao = (int) (fen / 10 % 10), f = (int) (fen % 10);
    bool zero = false;
    if (yuan > 0) {
        s_yuan (yuan, out, cap, &zero);
        s_put (out, cap, "元");
    }
    if (jiao) {
        if (zero)
            s_put (out, cap, "零");
        s_put (out, cap, s_digits[jiao]);
        s_put (out, cap, "角");
        zero = false;
    }
    else if (yuan > 0)
        zero = true;                 /* 元, no 角, then 分: 零 between */
    if (f) {
        if (zero)
            s_put (out, cap, "零");
        s_put (out, cap, s_digits[f]);
        s_put (out, cap, "分");
    }
    else
        s_put (out, cap, "整");
    return 0;
}

void
bl_amount_figures (int64_t fen, char *out, size_t cap)
{
    /* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
    uint64_t m = fen < 0 ? (uint64_t) 0 - (uint64_t) fen : (uint64_t) fen;
    char digits[24];
    snprintf (digits, sizeof digits, "%llu", (unsigned long long) (m / 100));
    char grouped[32];
    size_t n = strlen (digits), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    grouped[k] = 0;
    snprintf (out, cap, "%s¥%s.%02u", fen < 0 ? "-" : "", grouped, (unsigned) (m % 100));
}

/* The Chinese name of key in a table of {key, name}; key itself when not there. */
typedef struct {
    const char *key, *name;
} s_name_t;

static const char *
s_name_of (const s_name_t *names, size_t n, const char *key)
{
    for (size_t i = 0; key && i < n; i++)
        if (strcmp (key, names[i].key) == 0)
            return names[i].name;
    return key ? key : "";
}

const char *
bl_method_name (const char *method)
{
    static const s_name_t names[] = {
        { "cash", "现金" }, { "bank_transfer", "银行转账" }, { "wechat", "微信支付" },
        { "alipay", "支付宝" }, { "card", "银行卡" }, { "external", "其他渠道" },
    };
    return s_name_of (names, sizeof names / sizeof names[0], method);
}

const char *
bl_bill_kind_name (const char *kind)
{
    static const s_name_t names[] = {
        { "periodic", "物业服务费" }, { "charge", "其他费用" }, { "late_fee", "滞纳金" }, { "deposit", "押金" },
    };
    return s_name_of (names, sizeof names / sizeof names[0], kind);
}

bool
bl_receipt_layout (const char *s, bl_layout_t *layout)
{
    *layout = BL_LAYOUT_A5;
    if (!s || !*s || strcmp (s, "a5") == 0)
        return true;
    if (strcmp (s, "thermal") == 0) {
        *layout = BL_LAYOUT_THERMAL;
        return true;
    }
    return false;
}
