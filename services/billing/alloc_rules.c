/* alloc_rules: late fee arithmetic and a payment's checks (see alloc_rules.h). */
#include "alloc_rules.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *const bl_payment_methods[] = { "cash", "bank_transfer", "wechat", "alipay", "card", "external",
                                           NULL };

int64_t
bl_bps_of (int64_t x, int64_t bps)
{
    if (x <= 0 || bps <= 0)
        return 0;
    /* half-up: (x * bps + 5000) / 10000; x < 10^11 and bps <= 10^5 keep it in int64 */
    return (x * bps + 5000) / 10000;
}

int64_t
bl_late_fee_day (int64_t overdue, int64_t original, int days_late, int grace_days, int rate_bps,
                 int cap_bps, int64_t already)
{
    if (overdue <= 0 || days_late <= grace_days || rate_bps <= 0)
        return 0;
    int64_t fee = bl_bps_of (overdue, rate_bps);
    int64_t cap = bl_bps_of (original, cap_bps);
    if (already >= cap)
        return 0;
    return fee < cap - already ? fee : cap - already;
}

bool
bl_is_timestamp (const char *s)
{
    size_t n = strlen (s);
    if (n == 10)
        return jv_is_date (s);
    if (n < 20 || n > 35)
        return false;
    char date[11];
    memcpy (date, s, 10);
    date[10] = '\0';
    if (!jv_is_date (date) || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return false;
    const char *p = s + 11;
    for (int i = 0; i < 8; i++)
        if (i == 2 || i == 5 ? p[i] != ':' : !isdigit ((unsigned char) p[i]))
            return false;
    /* PostgreSQL refuses 25:00 or :61 with an error (22008), not a 422 */
    if (atoi (p) > 23 || atoi (p + 3) > 59 || atoi (p + 6) > 60)
        return false;
    p += 8;
    if (*p == '.') {
        p++;
        if (!isdigit ((unsigned char) *p))
            return false;
        while (isdigit ((unsigned char) *p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    /* offsets as real zones have them, up to +-14:00 (PostgreSQL refuses
     * +99:99 with an error, 22009) */
    if ((*p == '+' || *p == '-') && strlen (p) == 6 && isdigit ((unsigned char) p[1])
        && isdigit ((unsigned char) p[2]) && p[3] == ':' && isdigit ((unsigned char) p[4])
        && isdigit ((unsigned char) p[5]) && atoi (p + 1) * 60 + atoi (p + 4) <= 14 * 60
        && atoi (p + 4) <= 59)
        return true;
    return false;
}

bool
bl_payment_input (jv_t *v, const cJSON *data, bl_payment_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->unit_id = jv_uuid (v, data, "unit_id", JV_REQUIRED);
    jv_int (v, data, "amount", JV_REQUIRED, 1, BL_AMOUNT_MAX, &in->amount);
    in->method = jv_enum (v, data, "method", JV_REQUIRED, bl_payment_methods);
    in->external_ref = jv_string (v, data, "external_ref", JV_OPTIONAL, BL_REF_MAX);
    const cJSON *at = cJSON_GetObjectItem (data, "paid_at");
    if (at && !cJSON_IsNull (at)) {
        if (!cJSON_IsString (at) || !bl_is_timestamp (at->valuestring))
            jv_problem (v, "paid_at", "must be an RFC 3339 timestamp");
        else
            in->paid_at = at->valuestring;
    }
    return jv_ok (v);
}
