/* contractor_rules: contractors' inputs and the inspection's score; see
 * contractor_rules.h. */
#include "contractor_rules.h"

#include "civil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const con_services[] = { "cleaning", "greening", "pest_control", "security", "other", NULL };

/* --- the score ------------------------------------------------------------- */

int64_t
con_div_round (int64_t num, int64_t den)
{
    int64_t q = num / den, r = num % den;
    /* C truncates toward zero: a remainder of at least half moves q away from it */
    if (2 * (r < 0 ? -r : r) >= den)
        q += num < 0 ? -1 : 1;
    return q;
}

int64_t
con_weighted_mean_x10 (const con_criterion_t *c, int n)
{
    int64_t num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].weight_x100 < 0)
            return -1;
        /* at most CON_CRITERIA_MAX * 100000 * 1000 = 5e9: no overflow */
        num += c[i].weight_x100 * c[i].score_x10;
        den += c[i].weight_x100;
    }
    return den > 0 ? con_div_round (num, den) : -1;
}

const char *
con_tenths_text (int64_t x10, char out[24])
{
    int64_t a = x10 < 0 ? -x10 : x10;
    snprintf (out, 24, "%s%lld.%lld", x10 < 0 ? "-" : "", (long long) (a / 10), (long long) (a % 10));
    return out;
}

bool
con_scaled (const cJSON *x, int decimals, int64_t max_scaled, int64_t *out)
{
    if (!cJSON_IsNumber (x) || !isfinite (x->valuedouble) || decimals < 1 || decimals > 2)
        return false;
    double d = x->valuedouble;
    int64_t scale = decimals == 1 ? 10 : 100;
    if (d < 0 || d > (double) max_scaled / (double) scale)
        return false;
    /* "85.5" parses to the double "%.1f" prints; a further decimal does not
     * survive the round trip. The text is then read as digits: exact. */
    char text[48];
    snprintf (text, sizeof text, "%.*f", decimals, d);
    if (strtod (text, NULL) != d)
        return false;
    int64_t v = 0;
    for (const char *p = text; *p; p++)
        if (*p >= '0' && *p <= '9')
            v = v * 10 + (*p - '0');
    if (v > max_scaled)
        return false;
    *out = v;
    return true;
}

/* --- inputs ---------------------------------------------------------------- */

/* An optional text that may be cleared: absent (not set), null or "" (set,
 * NULL), or a string of 1..max bytes. */
static const char *
s_clearable (jv_t *v, const cJSON *data, const char *field, size_t max, bool *set)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive (data, field);
    *set = x != NULL;
    if (!x || cJSON_IsNull (x) || (cJSON_IsString (x) && !*x->valuestring))
        return NULL;
    return jv_string (v, data, field, JV_OPTIONAL, max);
}

bool
con_contractor_input (jv_t *v, const cJSON *data, bool partial, con_contractor_input_t *in)
{
    memset (in, 0, sizeof *in);
    in->active = -1;
    if (!jv_object (v, data))
        return false;
    in->name = jv_string (v, data, "name", !partial, CON_NAME_MAX);
    if (!partial)
        in->service = jv_enum (v, data, "service", JV_REQUIRED, con_services);
    else if (cJSON_GetObjectItemCaseSensitive (data, "service"))
        jv_problem (v, "service", "cannot change: its inspections were scored as this service");
    in->contact = s_clearable (v, data, "contact", CON_NAME_MAX, &in->contact_set);
    bool phone_set;
    const char *phone = s_clearable (v, data, "phone", PII_PHONE_INPUT_MAX, &phone_set);
    in->phone_set = phone_set;
    if (phone && !pii_phone_normalize (phone, in->phone))
        jv_problem (v, "phone", "is not a phone number (13800138000, 0755-88881234)");
    const cJSON *active = cJSON_GetObjectItemCaseSensitive (data, "active");
    if (active && !partial)
        jv_problem (v, "active", "is set by PATCH; a new contractor is active");
    else if (active && !cJSON_IsBool (active))
        jv_problem (v, "active", "must be true or false");
    else if (active)
        in->active = cJSON_IsTrue (active);
    if (partial && jv_ok (v) && !in->name && !in->contact_set && !in->phone_set && in->active < 0)
        jv_problem (v, "body", "nothing to change: name, contact, phone or active");
    return jv_ok (v);
}

/* criteria[i]: its name (unique), weight and score into c; the problems
 * named criteria[i].field. */
static void
s_criterion (jv_t *v, const cJSON *item, int i, con_criterion_t *c, const con_criterion_t *before)
{
    char field[48];
    if (!cJSON_IsObject (item)) {
        snprintf (field, sizeof field, "criteria[%d]", i);
        jv_problem (v, field, "must be an object {\"name\",\"weight\",\"score\"}");
        return;
    }
    jv_t w = JV_INIT;
    c->name = jv_string (&w, item, "name", JV_REQUIRED, CON_NAME_MAX);
    snprintf (field, sizeof field, "criteria[%d].name", i);
    if (!c->name)
        jv_problem (v, field, "must be a string of 1 to %d bytes", CON_NAME_MAX);
    for (int j = 0; c->name && j < i; j++)
        if (before[j].name && strcmp (before[j].name, c->name) == 0) {
            jv_problem (v, field, "is named twice: criteria are unique by name");
            break;
        }
    jv_reset (&w);
    const cJSON *weight = cJSON_GetObjectItemCaseSensitive (item, "weight");
    snprintf (field, sizeof field, "criteria[%d].weight", i);
    if (!con_scaled (weight, 2, CON_WEIGHT_MAX_X100, &c->weight_x100) || c->weight_x100 == 0) {
        jv_problem (v, field, "must be a number above 0 and at most 1000, with at most 2 decimals");
        c->weight_x100 = 0;
    }
    snprintf (field, sizeof field, "criteria[%d].score", i);
    if (!con_scaled (cJSON_GetObjectItemCaseSensitive (item, "score"), 1, CON_SCORE_MAX_X10, &c->score_x10))
        jv_problem (v, field, "must be a number from 0 to 100 with at most 1 decimal");
}

bool
con_inspection_input (jv_t *v, const cJSON *data, int64_t now_us, con_inspection_input_t *in)
{
    memset (in, 0, sizeof *in);
    in->score_x10 = -1;
    if (!jv_object (v, data))
        return false;
    in->contractor_id = jv_uuid (v, data, "contractor_id", JV_REQUIRED);
    in->area = jv_string (v, data, "area", JV_REQUIRED, CON_AREA_MAX);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive (data, "inspected_at");
    if (!at || cJSON_IsNull (at))
        jv_problem (v, "inspected_at", "is required");
    else if (!cJSON_IsString (at) || !civil_parse_time (at->valuestring, &in->inspected_us))
        jv_problem (v, "inspected_at", "must be an RFC 3339 time (2026-12-01T09:30:00+08:00)");
    else if (in->inspected_us > now_us + (int64_t) CON_FUTURE_MAX_S * 1000000)
        jv_problem (v, "inspected_at", "must not be in the future");
    else if (in->inspected_us < civil_days_from_date (2000, 1, 1) * CIVIL_US_PER_DAY)
        jv_problem (v, "inspected_at", "must be in 2000 or later");
    else
        in->inspected_at = at->valuestring;
    bool note_set;
    in->note = s_clearable (v, data, "note", CON_NOTE_MAX, &note_set);
    const cJSON *criteria = cJSON_GetObjectItemCaseSensitive (data, "criteria");
    int n = cJSON_GetArraySize (criteria);
    if (!cJSON_IsArray (criteria) || n < 1 || n > CON_CRITERIA_MAX) {
        jv_problem (v, "criteria", "must list 1 to %d criteria {\"name\",\"weight\",\"score\"}", CON_CRITERIA_MAX);
        return false;
    }
    const cJSON *item;
    cJSON_ArrayForEach (item, criteria) {
        s_criterion (v, item, in->n, &in->criteria[in->n], in->criteria);
        in->n++;
    }
    if (jv_ok (v)) {
        in->score_x10 = con_weighted_mean_x10 (in->criteria, in->n);
        if (in->score_x10 < 0)
            jv_problem (v, "criteria", "the weights must sum to more than 0");
    }
    return jv_ok (v);
}

bool
con_settings_input (jv_t *v, const cJSON *data, int64_t *threshold_x10)
{
    *threshold_x10 = CON_THRESHOLD_DEFAULT_X10;
    if (!jv_object (v, data))
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive (data, "threshold");
    if (!t || cJSON_IsNull (t))
        jv_problem (v, "threshold", "is required");
    else if (!con_scaled (t, 1, CON_SCORE_MAX_X10, threshold_x10))
        jv_problem (v, "threshold", "must be a number from 0 to 100 with at most 1 decimal");
    return jv_ok (v);
}

bool
con_period_parse (const char *s, char out[11])
{
    if (!s || strlen (s) != CON_PERIOD_LEN || s[4] != '-')
        return false;
    int year = civil_digits (s, 4), month = civil_digits (s + 5, 2);
    if (year < 2000 || month < 1 || month > 12)
        return false;
    /* year and month are the digits checked above: copy them */
    memcpy (out, s, CON_PERIOD_LEN);
    memcpy (out + CON_PERIOD_LEN, "-01", 4);
    return true;
}

bool
con_months_parse (const char *s, int *months)
{
    *months = CON_MONTHS_DEFAULT;
    if (!s || !*s)
        return true;
    int n = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || p - s >= 2)
            return false;
        n = n * 10 + (*p - '0');
    }
    if (n < 1 || n > CON_MONTHS_MAX)
        return false;
    *months = n;
    return true;
}

/* s cut to at most max bytes at a UTF-8 character boundary, into out. */
static void
s_cut (const char *s, size_t max, char *out)
{
    size_t n = strlen (s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy (out, s, n);
    out[n] = '\0';
}

void
con_rectification_title (const char *contractor, const char *area, int64_t score_x10,
                         int64_t threshold_x10, char out[501])
{
    char who[CON_NAME_MAX + 1], where[CON_AREA_MAX + 1], score[24], threshold[24];
    s_cut (contractor, CON_NAME_MAX, who);
    s_cut (area, CON_AREA_MAX, where);
    snprintf (out, 501, "整改：%s · %s 检查得分 %s（低于 %s）", who, where, con_tenths_text (score_x10, score),
              con_tenths_text (threshold_x10, threshold));
}
