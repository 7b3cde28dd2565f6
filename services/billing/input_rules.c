/* input_rules: billing's request bodies, pure (see input_rules.h). */
#include "input_rules.h"

#include "alloc_rules.h"
#include "bill_rules.h"

#include <stdio.h>
#include <string.h>

const char *const bl_unit_uses[] = { "residential", "office", "retail", "hotel", "parking", "storage",
                                     "other", NULL };
const char *const bl_fee_bases[] = { "per_area", "fixed", "parking", NULL };

bool
bl_settings_input (jv_t *v, const cJSON *data, bl_settings_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->has_due_day = jv_int (v, data, "due_day", JV_OPTIONAL, 1, 31, &in->due_day);
    in->has_bps = jv_int (v, data, "late_fee_bps_per_day", JV_OPTIONAL, 0, 10000, &in->bps);
    in->has_grace = jv_int (v, data, "late_fee_grace_days", JV_OPTIONAL, 0, 365, &in->grace);
    in->has_cap = jv_int (v, data, "late_fee_cap_bps", JV_OPTIONAL, 0, 100000, &in->cap);
    in->timezone = jv_string (v, data, "timezone", JV_OPTIONAL, BL_TIMEZONE_MAX);
    return jv_ok (v);
}

/* applies_to as a PostgreSQL array literal into out; false after adding a
 * problem. Every element must be a known use; one named twice counts once. */
static bool
s_uses (jv_t *v, const cJSON *data, const char *basis, char *out, size_t cap)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive (data, "applies_to");
    snprintf (out, cap, "{}");
    if (!arr || cJSON_IsNull (arr)) {
        if (basis && strcmp (basis, "parking") != 0) {
            jv_problem (v, "applies_to", "is required: the unit uses this item applies to");
            return false;
        }
        return true;
    }
    if (!cJSON_IsArray (arr)) {
        jv_problem (v, "applies_to", "must be an array of unit uses");
        return false;
    }
    size_t len = 1;
    out[0] = '{';
    int n = 0;
    unsigned seen = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, arr) {
        const char *use = cJSON_GetStringValue (e);
        int k = -1;
        for (int i = 0; use && bl_unit_uses[i]; i++)
            if (strcmp (use, bl_unit_uses[i]) == 0)
                k = i;
        if (k < 0) {
            snprintf (out, cap, "{}");
            jv_problem (v, "applies_to", "unknown use: must be residential, office, retail, hotel, "
                                         "parking, storage or other");
            return false;
        }
        if (seen & (1u << k))
            continue;
        seen |= 1u << k;
        /* each use once: BL_FEE_USES_TEXT holds them all */
        len += (size_t) snprintf (out + len, cap - len, "%s%s", n++ ? "," : "", use);
    }
    snprintf (out + len, cap - len, "}");
    if (n == 0 && basis && strcmp (basis, "parking") != 0) {
        jv_problem (v, "applies_to", "must name at least one unit use");
        return false;
    }
    return true;
}

bool
bl_fee_item_input (jv_t *v, const cJSON *data, bl_fee_item_input_t *in)
{
    memset (in, 0, sizeof *in);
    snprintf (in->applies_to, sizeof in->applies_to, "{}");
    if (!jv_object (v, data))
        return false;
    in->code = jv_string (v, data, "code", JV_REQUIRED, BL_FEE_CODE_MAX);
    in->name = jv_string (v, data, "name", JV_REQUIRED, BL_FEE_NAME_MAX);
    in->basis = jv_enum (v, data, "basis", JV_REQUIRED, bl_fee_bases);
    jv_int (v, data, "unit_price", JV_REQUIRED, 0, BL_PRICE_MAX, &in->unit_price);
    s_uses (v, data, in->basis, in->applies_to, sizeof in->applies_to);
    in->effective_from = jv_date (v, data, "effective_from", JV_OPTIONAL);
    return jv_ok (v);
}

bool
bl_run_input (jv_t *v, const cJSON *data, bl_run_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->period = jv_string (v, data, "period", JV_REQUIRED, 16);
    if (in->period && !bl_period_parse (in->period, &in->year, &in->month)) {
        jv_problem (v, "period", "must be a month YYYY-MM (01 to 12)");
        in->period = NULL;
    }
    return jv_ok (v);
}

bool
bl_charge_input (jv_t *v, const cJSON *data, bl_charge_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->unit_id = jv_uuid (v, data, "unit_id", JV_REQUIRED);
    jv_int (v, data, "amount", JV_REQUIRED, 1, BL_AMOUNT_MAX, &in->amount);
    in->reason = jv_string (v, data, "reason", JV_REQUIRED, BL_REASON_MAX);
    in->due_date = jv_date (v, data, "due_date", JV_OPTIONAL);
    return jv_ok (v);
}

bool
bl_deposit_input (jv_t *v, const cJSON *data, bl_deposit_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->unit_id = jv_uuid (v, data, "unit_id", JV_REQUIRED);
    jv_int (v, data, "amount", JV_REQUIRED, 1, BL_AMOUNT_MAX, &in->amount);
    in->ticket_id = jv_uuid (v, data, "ticket_id", JV_OPTIONAL);
    return jv_ok (v);
}

bool
bl_refund_input (jv_t *v, const cJSON *data, bl_refund_input_t *in)
{
    memset (in, 0, sizeof *in);
    /* no body at all: the whole deposit back */
    if (!data || cJSON_IsNull (data))
        return jv_ok (v);
    if (!jv_object (v, data))
        return false;
    in->has_amount = jv_int (v, data, "amount", JV_OPTIONAL, 0, BL_AMOUNT_MAX, &in->amount);
    in->reason = jv_string (v, data, "reason", JV_OPTIONAL, BL_REASON_MAX);
    if (in->reason && !*in->reason)
        in->reason = NULL;           /* "" is no reason: a deduction still needs one */
    return jv_ok (v);
}

bool
bl_reason_input (jv_t *v, const cJSON *data, bl_reason_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->reason = jv_string (v, data, "reason", JV_REQUIRED, BL_REASON_MAX);
    return jv_ok (v);
}
