/* move_in_rules: the move-in checklist, move-out clearance and contact log
 * rules; see move_in_rules.h. */
#include "move_in_rules.h"

#include "civil.h"

#include <stdio.h>
#include <string.h>

const char *const tn_value_kinds[] = { "none", "count", "reading", "text", NULL };
const char *const tn_move_in_statuses[] = { "open", "completed", "cancelled", NULL };
const char *const tn_contact_channels[] = { "phone", "visit", "wechat", "email", "letter", "other", NULL };

/* API.md's default items: what the desk checks at every move-in (入伙办理).
 * Gas is not required: offices and shops often have none. */
static const struct {
    const char *item, *zh, *en, *kind;
    bool required;
} s_defaults[] = {
    { "identity_checked", "身份证件核验", "Identity checked", "none", true },
    { "contract_seen", "合同或房产证查验", "Contract or title deed seen", "text", true },
    { "keys_handed_over", "钥匙移交", "Keys handed over", "count", true },
    { "meter_electricity", "电表读数", "Electricity meter reading", "reading", true },
    { "meter_water", "水表读数", "Water meter reading", "reading", true },
    { "meter_gas", "燃气表读数", "Gas meter reading", "reading", false },
    { "first_fees_settled", "首期费用缴清", "First fees settled", "none", true },
    { "handbook_signed", "住户手册签收", "Resident handbook signed", "none", true },
};

size_t
tn_utf8_chars (const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* A string of 1..max characters (jv_string's checks, then the count). */
static const char *
s_text (jv_t *v, const cJSON *obj, const char *field, bool required, size_t max)
{
    const char *s = jv_string (v, obj, field, required, max * 4);
    if (s && tn_utf8_chars (s) > max) {
        jv_problem (v, field, "must be at most %zu characters", max);
        return NULL;
    }
    if (s && *s && strspn (s, " \t\r\n") == strlen (s)) {
        jv_problem (v, field, "must not be blank");
        return NULL;
    }
    return s && *s ? s : NULL;
}

/* Moves sub's problems into v, each field prefixed ("items[2]" + ".item"). */
static void
s_nest (jv_t *v, jv_t *sub, const char *prefix)
{
    cJSON *details = jv_take (sub), *d;
    cJSON_ArrayForEach (d, details) {
        const char *f = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (d, "field"));
        const char *p = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (d, "problem"));
        char field[128];
        snprintf (field, sizeof field, "%s%s%s", prefix, f && *f ? "." : "", f ? f : "");
        jv_problem (v, field, "%s", p ? p : "");
    }
    cJSON_Delete (details);
}

/* An array field of 1..max entries, or NULL after a problem. */
static const cJSON *
s_array (jv_t *v, const cJSON *obj, const char *field, int max)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive (obj, field);
    if (!cJSON_IsArray (a) || cJSON_GetArraySize (a) < 1 || cJSON_GetArraySize (a) > max) {
        jv_problem (v, field, "must be an array of 1 to %d items", max);
        return NULL;
    }
    return a;
}

static bool
s_key_ok (const char *s)
{
    size_t n = strlen (s);
    return n >= 1 && n <= TN_CHECKLIST_KEY_MAX && s[0] >= 'a' && s[0] <= 'z'
           && strspn (s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* The entry of checklist whose "item" is key, or NULL. */
static cJSON *
s_find (const cJSON *checklist, const char *key)
{
    cJSON *it;
    cJSON_ArrayForEach (it, checklist) {
        const char *k = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "item"));
        if (k && strcmp (k, key) == 0)
            return it;
    }
    return NULL;
}

cJSON *
tn_checklist_defaults (void)
{
    cJSON *items = cJSON_CreateArray ();
    for (size_t i = 0; i < sizeof s_defaults / sizeof s_defaults[0]; i++) {
        cJSON *it = cJSON_CreateObject ();
        cJSON_AddStringToObject (it, "item", s_defaults[i].item);
        cJSON *label = cJSON_AddObjectToObject (it, "label");
        cJSON_AddStringToObject (label, "zh", s_defaults[i].zh);
        cJSON_AddStringToObject (label, "en", s_defaults[i].en);
        cJSON_AddBoolToObject (it, "required", s_defaults[i].required);
        cJSON_AddStringToObject (it, "value_kind", s_defaults[i].kind);
        cJSON_AddItemToArray (items, it);
    }
    return items;
}

/* One definition item, clean, or NULL after problems in sub. */
static cJSON *
s_def_item (jv_t *sub, const cJSON *in)
{
    if (!jv_object (sub, in))
        return NULL;
    const char *key = jv_string (sub, in, "item", JV_REQUIRED, TN_CHECKLIST_KEY_MAX);
    if (key && !s_key_ok (key))
        jv_problem (sub, "item", "must be 1 to %d of a-z 0-9 _, starting with a letter", TN_CHECKLIST_KEY_MAX);
    const cJSON *label = cJSON_GetObjectItemCaseSensitive (in, "label");
    const char *zh = NULL, *en = NULL;
    if (!cJSON_IsObject (label))
        jv_problem (sub, "label", "must be an object {\"zh\",\"en\"?}");
    else {
        jv_t lv = JV_INIT;
        zh = s_text (&lv, label, "zh", JV_REQUIRED, TN_CHECKLIST_LABEL_MAX);
        en = s_text (&lv, label, "en", JV_OPTIONAL, TN_CHECKLIST_LABEL_MAX);
        s_nest (sub, &lv, "label");
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive (in, "required");
    if (req && !cJSON_IsBool (req))
        jv_problem (sub, "required", "must be true or false");
    const char *kind = jv_enum (sub, in, "value_kind", JV_OPTIONAL, tn_value_kinds);
    if (!jv_ok (sub))
        return NULL;
    cJSON *it = cJSON_CreateObject ();
    cJSON_AddStringToObject (it, "item", key);
    cJSON *l = cJSON_AddObjectToObject (it, "label");
    cJSON_AddStringToObject (l, "zh", zh);
    if (en)
        cJSON_AddStringToObject (l, "en", en);
    else
        cJSON_AddNullToObject (l, "en");
    cJSON_AddBoolToObject (it, "required", !req || cJSON_IsTrue (req));
    cJSON_AddStringToObject (it, "value_kind", kind ? kind : "none");
    return it;
}

bool
tn_checklist_def_input (jv_t *v, const cJSON *data, cJSON **items)
{
    *items = NULL;
    if (!jv_object (v, data))
        return false;
    const cJSON *a = s_array (v, data, "items", TN_CHECKLIST_ITEMS_MAX);
    if (!a)
        return false;
    cJSON *out = cJSON_CreateArray ();
    int i = 0;
    const cJSON *in;
    cJSON_ArrayForEach (in, a) {
        char prefix[32];
        snprintf (prefix, sizeof prefix, "items[%d]", i++);
        jv_t sub = JV_INIT;
        cJSON *it = s_def_item (&sub, in);
        if (it && s_find (out, cJSON_GetObjectItemCaseSensitive (it, "item")->valuestring))
            jv_problem (&sub, "item", "is given twice");
        s_nest (v, &sub, prefix);
        cJSON_AddItemToArray (out, it ? it : cJSON_CreateNull ());
    }
    if (!jv_ok (v)) {
        cJSON_Delete (out);
        return false;
    }
    *items = out;
    return true;
}

cJSON *
tn_checklist_open (const cJSON *defs)
{
    cJSON *out = cJSON_CreateArray ();
    const cJSON *d;
    cJSON_ArrayForEach (d, defs) {
        cJSON *it = cJSON_Duplicate (d, 1);
        cJSON_AddBoolToObject (it, "done", false);
        cJSON_AddNullToObject (it, "note");
        cJSON_AddNullToObject (it, "value");
        cJSON_AddNullToObject (it, "done_at");
        cJSON_AddNullToObject (it, "done_by");
        cJSON_AddItemToArray (out, it);
    }
    return out;
}

bool
tn_checklist_value_ok (const char *kind, const char *value)
{
    size_t n = strlen (value), digits = strspn (value, "0123456789");
    if (strcmp (kind, "count") == 0)
        return n >= 1 && n <= TN_COUNT_DIGITS_MAX && digits == n;
    if (strcmp (kind, "reading") == 0) {
        if (digits < 1 || digits > TN_READING_DIGITS_MAX)
            return false;
        if (n == digits)
            return true;
        size_t decimals = strspn (value + digits + 1, "0123456789");
        return value[digits] == '.' && decimals >= 1 && decimals <= TN_READING_DECIMALS_MAX
               && digits + 1 + decimals == n;
    }
    if (strcmp (kind, "text") == 0)
        return n >= 1 && tn_utf8_chars (value) <= TN_CHECKLIST_TEXT_MAX;
    return false;                    /* none: no value at all */
}

/* The problem of a value for its kind, for the details. */
static const char *
s_value_problem (const char *kind)
{
    if (strcmp (kind, "count") == 0)
        return "must be a whole number of 0 or more, as a string (\"2\")";
    if (strcmp (kind, "reading") == 0)
        return "must be a meter reading: a decimal string such as \"1234.5\"";
    if (strcmp (kind, "text") == 0)
        return "must be 1 to 200 characters";
    return "this item takes no value";
}

/* Checks one PATCH entry against the checklist (sub's problems); the
 * entry's item, or NULL. Nothing is changed here. */
static cJSON *
s_patch_check (jv_t *sub, const cJSON *e, const cJSON *checklist, const cJSON *seen)
{
    if (!jv_object (sub, e))
        return NULL;
    const char *key = jv_string (sub, e, "item", JV_REQUIRED, TN_CHECKLIST_KEY_MAX * 4);
    cJSON *it = key ? s_find (checklist, key) : NULL;
    if (key && !it)
        jv_problem (sub, "item", "is not an item of this move-in's checklist");
    else if (it && s_find (seen, key))
        jv_problem (sub, "item", "is given twice");
    const cJSON *done = cJSON_GetObjectItemCaseSensitive (e, "done");
    if (!cJSON_IsBool (done))
        jv_problem (sub, "done", "must be true or false");
    (void) s_text (sub, e, "note", JV_OPTIONAL, TN_CHECKLIST_NOTE_MAX);
    const cJSON *val = cJSON_GetObjectItemCaseSensitive (e, "value");
    const char *kind = it ? cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "value_kind")) : NULL;
    kind = kind ? kind : "none";
    if (val && !cJSON_IsNull (val) && !cJSON_IsString (val))
        jv_problem (sub, "value", "must be a string");
    else if (it && cJSON_IsString (val) && !tn_checklist_value_ok (kind, val->valuestring))
        jv_problem (sub, "value", "%s", s_value_problem (kind));
    /* a count or a reading is what "done" records: keys 2, meter 1234.5 */
    bool needs = strcmp (kind, "count") == 0 || strcmp (kind, "reading") == 0;
    const cJSON *stored = it ? cJSON_GetObjectItemCaseSensitive (it, "value") : NULL;
    bool has = val ? cJSON_IsString (val) : cJSON_IsString (stored);
    if (it && needs && cJSON_IsTrue (done) && !has)
        jv_problem (sub, "value", "is required to mark this item done");
    return jv_ok (sub) ? it : NULL;
}

static void
s_set (cJSON *it, const char *field, cJSON *value)
{
    if (cJSON_HasObjectItem (it, field))
        cJSON_ReplaceItemInObjectCaseSensitive (it, field, value);
    else
        cJSON_AddItemToObject (it, field, value);
}

/* Applies a checked entry to its item. */
static void
s_patch_apply (cJSON *it, const cJSON *e, const char *user, const char *now)
{
    bool done = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (e, "done"));
    bool was = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (it, "done"));
    const cJSON *note = cJSON_GetObjectItemCaseSensitive (e, "note");
    const cJSON *val = cJSON_GetObjectItemCaseSensitive (e, "value");
    if (note)
        s_set (it, "note", cJSON_IsString (note) && *note->valuestring ? cJSON_CreateString (note->valuestring)
                                                                       : cJSON_CreateNull ());
    if (val)
        s_set (it, "value", cJSON_IsString (val) ? cJSON_CreateString (val->valuestring) : cJSON_CreateNull ());
    s_set (it, "done", cJSON_CreateBool (done));
    if (done && !was) {
        s_set (it, "done_at", cJSON_CreateString (now));
        s_set (it, "done_by", cJSON_CreateString (user));
    }
    else if (!done) {
        s_set (it, "done_at", cJSON_CreateNull ());
        s_set (it, "done_by", cJSON_CreateNull ());
    }
}

bool
tn_checklist_patch (jv_t *v, const cJSON *data, cJSON *checklist, const char *user, const char *now)
{
    if (!jv_object (v, data))
        return false;
    const cJSON *a = s_array (v, data, "checklist", TN_CHECKLIST_ITEMS_MAX);
    if (!a)
        return false;
    cJSON *seen = cJSON_CreateArray ();     /* references to the items named so far */
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, a) {
        char prefix[32];
        snprintf (prefix, sizeof prefix, "checklist[%d]", i++);
        jv_t sub = JV_INIT;
        cJSON *it = s_patch_check (&sub, e, checklist, seen);
        if (it)
            cJSON_AddItemReferenceToArray (seen, it);
        s_nest (v, &sub, prefix);
    }
    cJSON_Delete (seen);
    if (!jv_ok (v))
        return false;
    cJSON_ArrayForEach (e, a)
        s_patch_apply (s_find (checklist, cJSON_GetObjectItemCaseSensitive (e, "item")->valuestring), e,
                       user, now);
    return true;
}

cJSON *
tn_checklist_missing (const cJSON *checklist)
{
    jv_t v = JV_INIT;
    const cJSON *it;
    cJSON_ArrayForEach (it, checklist) {
        if (!cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (it, "required"))
            || cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (it, "done")))
            continue;
        const char *key = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "item"));
        char field[TN_CHECKLIST_KEY_MAX * 4 + 16];
        snprintf (field, sizeof field, "checklist.%s", key ? key : "?");
        jv_problem (&v, field, "is required and not done");
    }
    return jv_take (&v);
}

bool
tn_move_in_status_parse (const char *s, const char **out)
{
    *out = NULL;
    if (!s || !*s)
        return true;
    for (int i = 0; tn_move_in_statuses[i]; i++)
        if (strcmp (s, tn_move_in_statuses[i]) == 0) {
            *out = tn_move_in_statuses[i];
            return true;
        }
    return false;
}

bool
tn_clearance_input (jv_t *v, const cJSON *data, tn_clearance_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!tn_end_input (v, data, &out->end))
        return false;
    out->override_reason = s_text (v, data, "override_reason", JV_OPTIONAL, TN_REASON_MAX);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive (data, "override_reason");
    if (cJSON_IsString (r) && !*r->valuestring)
        jv_problem (v, "override_reason", "must not be empty");
    return jv_ok (v);
}

bool
tn_cancel_input (jv_t *v, const cJSON *data, const char **reason)
{
    *reason = NULL;
    if (!data || cJSON_IsNull (data))
        return true;
    if (!jv_object (v, data))
        return false;
    *reason = s_text (v, data, "reason", JV_OPTIONAL, TN_REASON_MAX);
    return jv_ok (v);
}

tn_clearance_t
tn_clearance_decide (int64_t balance_due, bool override)
{
    if (balance_due == 0)
        return TN_CLEAR_OK;
    if (override)
        return TN_CLEAR_OVERRIDDEN;
    return balance_due < 0 ? TN_CLEAR_UNKNOWN : TN_CLEAR_ARREARS;
}

void
tn_time_text (int64_t epoch_us, char out[TN_TIME_TEXT_MAX])
{
    int64_t s = epoch_us / 1000000 - (epoch_us % 1000000 < 0);
    int64_t days = s / 86400 - (s % 86400 < 0), sec = s - days * 86400, y;
    int m, d;
    civil_date_from_days (days, &y, &m, &d);
    snprintf (out, TN_TIME_TEXT_MAX, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long) y, m, d, (int) (sec / 3600),
              (int) (sec / 60 % 60), (int) (sec % 60));
}

bool
tn_contact_input (jv_t *v, const cJSON *data, int64_t now_us, tn_contact_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->channel = jv_enum (v, data, "channel", JV_REQUIRED, tn_contact_channels);
    out->summary = s_text (v, data, "summary", JV_REQUIRED, TN_CONTACT_SUMMARY_MAX);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive (data, "at");
    int64_t us = now_us;
    if (at && !cJSON_IsNull (at)) {
        if (!cJSON_IsString (at) || !civil_parse_time (at->valuestring, &us)) {
            jv_problem (v, "at", "must be an RFC 3339 date-time (2026-11-27T10:30:00+08:00)");
            us = now_us;
        }
        else if (us > now_us + TN_CONTACT_SKEW_US)
            jv_problem (v, "at", "must not be in the future");
    }
    /* seconds are what the contract prints; a sub-second part is dropped */
    tn_time_text (us, out->at);
    return jv_ok (v);
}
