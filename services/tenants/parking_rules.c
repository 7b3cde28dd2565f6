/* parking_rules: validation and decisions for parking spaces and leases; see parking_rules.h. */
#include "parking_rules.h"

#include "unit_rules.h"

#include <stdio.h>
#include <string.h>

bool
tn_space_input (jv_t *v, const cJSON *data, tn_space_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->code = jv_string (v, data, "code", JV_REQUIRED, TN_SPACE_CODE_MAX);
    out->zone = tn_optional_text (v, data, "zone", TN_ZONE_MAX);
    return jv_ok (v);
}

/* An optional UUID where null means none. */
static const char *
s_pk_optional_uuid (jv_t *v, const cJSON *data, const char *field)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (data, field);
    if (!item || cJSON_IsNull (item))
        return NULL;
    return jv_uuid (v, data, field, JV_OPTIONAL);
}

bool
tn_lease_input (jv_t *v, const cJSON *data, tn_lease_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->space_id = jv_uuid (v, data, "space_id", JV_REQUIRED);
    out->party_id = jv_uuid (v, data, "party_id", JV_REQUIRED);
    out->unit_id = s_pk_optional_uuid (v, data, "unit_id");
    out->start_date = jv_date (v, data, "start_date", JV_REQUIRED);
    const cJSON *end = cJSON_GetObjectItemCaseSensitive (data, "end_date");
    if (end && !cJSON_IsNull (end))
        out->end_date = jv_date (v, data, "end_date", JV_OPTIONAL);
    if (jv_int (v, data, "monthly_fee", JV_REQUIRED, 0, TN_MONTHLY_FEE_MAX, &out->monthly_fee))
        snprintf (out->fee_text, sizeof out->fee_text, "%lld", (long long) out->monthly_fee);
    /* dates YYYY-MM-DD compare as text */
    if (out->start_date && out->end_date && strcmp (out->end_date, out->start_date) < 0)
        jv_problem (v, "end_date", "must not be before start_date");
    return jv_ok (v);
}

tn_lease_end_t
tn_lease_end_decide (const char *start, const char *end, bool ended, const char *new_end)
{
    if (ended)
        return TN_LEASE_END_ALREADY;
    if (strcmp (new_end, start) < 0)
        return TN_LEASE_END_BEFORE_START;
    if (end && strcmp (new_end, end) > 0)
        return TN_LEASE_END_AFTER_END;
    return TN_LEASE_END_OK;
}

bool
tn_active_parse (const char *s, int *out)
{
    if (!s || !*s)
        *out = -1;
    else if (strcmp (s, "true") == 0)
        *out = 1;
    else if (strcmp (s, "false") == 0)
        *out = 0;
    else
        return false;
    return true;
}
