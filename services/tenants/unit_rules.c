/* unit_rules: validation and PATCH decisions for properties and units; see unit_rules.h. */
#include "unit_rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tn_unit_uses[] = {
    "residential", "office", "retail", "hotel", "parking", "storage", "other", NULL
};

bool
tn_property_code_ok (const char *code)
{
    size_t n = code ? strlen (code) : 0;
    if (n < 1 || n > TN_PROPERTY_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '-'))
            return false;
    }
    return true;
}

const char *
tn_optional_text (jv_t *v, const cJSON *data, const char *field, size_t max)
{
    const char *s = jv_string (v, data, field, JV_OPTIONAL, max);
    return s && *s ? s : NULL;
}

bool
tn_end_input (jv_t *v, const cJSON *data, tn_end_input_t *out)
{
    out->end_date = jv_object (v, data) ? jv_date (v, data, "end_date", JV_REQUIRED) : NULL;
    return jv_ok (v);
}

bool
tn_property_input (jv_t *v, const cJSON *data, tn_property_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->code = jv_string (v, data, "code", JV_REQUIRED, TN_PROPERTY_CODE_MAX);
    if (out->code && !tn_property_code_ok (out->code)) {
        jv_problem (v, "code", "must be 1 to %d of A-Z a-z 0-9 _ -", TN_PROPERTY_CODE_MAX);
        out->code = NULL;
    }
    out->name = jv_string (v, data, "name", JV_REQUIRED, TN_PROPERTY_NAME_MAX);
    out->address = tn_optional_text (v, data, "address", TN_ADDRESS_MAX);
    const char *tz = jv_string (v, data, "timezone", JV_OPTIONAL, TN_TIMEZONE_MAX);
    out->timezone = tz && *tz ? tz : TN_DEFAULT_TIMEZONE;
    return jv_ok (v);
}

/* Whether to look at a required field: always on create; on PATCH when
 * sent, and then null is a problem (these cannot be cleared). */
static bool
s_wanted (jv_t *v, const cJSON *data, const char *field, bool partial)
{
    if (!partial)
        return true;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (data, field);
    if (!item)
        return false;
    if (cJSON_IsNull (item)) {
        jv_problem (v, field, "must not be null");
        return false;
    }
    return true;
}

bool
tn_unit_input (jv_t *v, const cJSON *data, bool partial, tn_unit_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    if ((out->has_code = s_wanted (v, data, "code", partial)))
        out->v.code = jv_string (v, data, "code", JV_REQUIRED, TN_UNIT_CODE_MAX);
    /* building and floor: absent, null or "" all mean "none" */
    out->has_building = cJSON_HasObjectItem (data, "building");
    out->v.building = tn_optional_text (v, data, "building", TN_BUILDING_MAX);
    out->has_floor = cJSON_HasObjectItem (data, "floor");
    out->v.floor = tn_optional_text (v, data, "floor", TN_FLOOR_MAX);
    if ((out->has_area = s_wanted (v, data, "area_m2", partial))
        && jv_decimal2 (v, data, "area_m2", JV_REQUIRED, TN_AREA_MAX, out->area_buf))
        out->v.area = out->area_buf;
    if ((out->has_use = s_wanted (v, data, "use", partial)))
        out->v.use = jv_enum (v, data, "use", JV_REQUIRED, tn_unit_uses);
    return jv_ok (v);
}

static bool
s_same (const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

bool
tn_unit_patch (const tn_unit_values_t *cur, const tn_unit_input_t *in, tn_unit_values_t *next)
{
    *next = *cur;
    if (in->has_code)
        next->code = in->v.code;
    if (in->has_building)
        next->building = in->v.building;
    if (in->has_floor)
        next->floor = in->v.floor;
    if (in->has_area)
        next->area = in->v.area;
    if (in->has_use)
        next->use = in->v.use;
    return !s_same (cur->code, next->code) || !s_same (cur->building, next->building)
        || !s_same (cur->floor, next->floor) || !s_same (cur->area, next->area)
        || !s_same (cur->use, next->use);
}

char *
tn_uuid_array (const cJSON *ids)
{
    size_t count = 0;
    const cJSON *id;
    cJSON_ArrayForEach (id, ids)
        count++;
    char *out = malloc (count * 37 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '{';
    cJSON_ArrayForEach (id, ids) {
        /* only UUIDs reach the literal: nothing else can break its syntax */
        if (!cJSON_IsString (id) || !jv_is_uuid (id->valuestring))
            continue;
        if (o > 1)
            out[o++] = ',';
        memcpy (out + o, id->valuestring, 36);
        o += 36;
    }
    out[o++] = '}';
    out[o] = 0;
    return out;
}
