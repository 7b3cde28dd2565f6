/* desk_rules: the front desk's registers without a database; see desk_rules.h. */
#include "desk_rules.h"

#include "civil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- licence plates ------------------------------------------------------- */

/* The province characters (省份简称) a mainland plate begins with. */
static const char *const s_provinces[] = {
    "京", "津", "沪", "渝", "冀", "豫", "云", "辽", "黑", "湘", "皖", "鲁", "新", "苏", "浙", "赣",
    "鄂", "桂", "甘", "晋", "蒙", "陕", "吉", "闽", "贵", "粤", "青", "藏", "川", "宁", "琼", NULL
};
/* What may end an ordinary plate instead of its fifth character. */
static const char *const s_suffixes[] = { "挂", "学", "警", "港", "澳", "领", "试", "超", NULL };
/* Separators people type inside a plate: dropped. */
static const char *const s_separators[] = { " ", ".", "-", "\xc2\xb7" /* · */, "\xe2\x80\xa2" /* • */,
                                            "\xe3\x83\xbb" /* ・ */, "\xe3\x80\x80" /* full-width space */,
                                            "\xef\xbc\x8e" /* ． */, NULL };
/* The letter of a new-energy plate (GA 36-2018: D electric, F hybrid, and the
 * letters added since). */
#define S_NEV_LETTERS "DFABCEGHJK"
#define S_PLATE_CHARS_MAX 8

static int
s_in_list (const char *s, size_t n, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strlen (list[i]) == n && memcmp (s, list[i], n) == 0)
            return i;
    return -1;
}

/* A separator's length at p, or 0. */
static size_t
s_separator (const char *p)
{
    for (int i = 0; s_separators[i]; i++)
        if (strncmp (p, s_separators[i], strlen (s_separators[i])) == 0)
            return strlen (s_separators[i]);
    return 0;
}

/* The ASCII letter or digit at p (also full-width, upper-cased) with its
 * length in *len; 0 when p holds none. */
static char
s_ascii_alnum (const unsigned char *p, size_t *len)
{
    *len = 1;
    if ((p[0] >= '0' && p[0] <= '9') || (p[0] >= 'A' && p[0] <= 'Z'))
        return (char) p[0];
    if (p[0] >= 'a' && p[0] <= 'z')
        return (char) (p[0] - 'a' + 'A');
    *len = 3;
    if (p[0] == 0xef && p[1] == 0xbc && p[2] >= 0x90 && p[2] <= 0x99)
        return (char) ('0' + p[2] - 0x90);          /* ０-９ */
    if (p[0] == 0xef && p[1] == 0xbc && p[2] >= 0xa1 && p[2] <= 0xba)
        return (char) ('A' + p[2] - 0xa1);          /* Ａ-Ｚ */
    if (p[0] == 0xef && p[1] == 0xbd && p[2] >= 0x81 && p[2] <= 0x9a)
        return (char) ('A' + p[2] - 0x81);          /* ａ-ｚ */
    return 0;
}

static bool
s_plate_alnum (char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
}

static bool
s_all_digits (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The serial after the office letter: rest[0..n) ASCII, then an optional
 * suffix character. */
static bool
s_plate_serial (const char *rest, size_t n, bool suffix)
{
    for (size_t i = 0; i < n; i++)
        if (!s_plate_alnum (rest[i]))
            return false;
    if (suffix)
        return n == 4;
    if (n == 5)
        return true;
    /* new energy: a small car's letter first, or a large vehicle's last */
    return n == 6
           && ((strchr (S_NEV_LETTERS, rest[0]) && s_all_digits (rest + 2, 4))
               || (s_all_digits (rest, 5) && strchr (S_NEV_LETTERS, rest[5])));
}

bool
desk_plate_normalize (const char *in, char out[DESK_PLATE_MAX + 1])
{
    out[0] = 0;
    if (!in || strlen (in) > DESK_PLATE_INPUT_MAX)
        return false;
    const char *p = in;
    while (*p && s_separator (p))
        p += s_separator (p);
    /* the province: one 3-byte character of the list */
    const char *province = p;
    if (strnlen (p, 3) < 3 || s_in_list (p, 3, s_provinces) < 0)
        return false;
    char ascii[S_PLATE_CHARS_MAX + 1];
    size_t n = 0, len;
    const char *suffix = NULL;
    for (p += 3; *p;) {
        size_t sep = s_separator (p);
        char c = sep ? 0 : s_ascii_alnum ((const unsigned char *) p, &len);
        if (sep)
            p += sep;
        else if (c && !suffix && n < S_PLATE_CHARS_MAX) {
            ascii[n++] = c;
            p += len;
        }
        else if (!suffix && strnlen (p, 3) == 3 && s_in_list (p, 3, s_suffixes) >= 0) {
            suffix = p;
            p += 3;
        }
        else
            return false;
    }
    /* the office letter, then the serial */
    if (n < 2 || ascii[0] < 'A' || ascii[0] > 'Z' || !s_plate_serial (ascii + 1, n - 1, suffix != NULL))
        return false;
    snprintf (out, DESK_PLATE_MAX + 1, "%.3s%.*s%.3s", province, (int) n, ascii, suffix ? suffix : "");
    return true;
}

void
desk_search_compact (const char *in, char out[DESK_QUERY_MAX + 1])
{
    size_t o = 0;
    /* only drops bytes: a query of DESK_QUERY_MAX bytes fits whole */
    for (const char *p = in; p && *p && o < DESK_QUERY_MAX;) {
        size_t sep = s_separator (p);
        if (sep) {
            p += sep;
            continue;
        }
        char c = *p++;
        out[o++] = c >= 'a' && c <= 'z' ? (char) (c - 'a' + 'A') : c;
    }
    out[o] = 0;
}

/* --- claim codes ------------------------------------------------------------ */

#define S_SALT_BYTES 16
#define S_HASH_BYTES 32

/* libsodium before its first use: sodium_init is idempotent, and fails only
 * when the system has no random source, which no claim code can do without */
static void
s_sodium (void)
{
    if (sodium_init () < 0)
        abort ();
}

void
desk_claim_code_new (char out[DESK_CLAIM_LEN + 1])
{
    s_sodium ();
    const uint32_t n = (uint32_t) strlen (DESK_CLAIM_ALPHABET);
    for (int i = 0; i < DESK_CLAIM_LEN; i++)
        out[i] = DESK_CLAIM_ALPHABET[randombytes_uniform (n)];
    out[DESK_CLAIM_LEN] = 0;
}

bool
desk_claim_code_clean (const char *in, char out[DESK_CLAIM_LEN + 1])
{
    size_t n = 0;
    out[0] = 0;
    for (const char *p = in; p && *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        char c = *p >= 'a' && *p <= 'z' ? (char) (*p - 'a' + 'A') : *p;
        if (n == DESK_CLAIM_LEN || !strchr (DESK_CLAIM_ALPHABET, c))
            return false;
        out[n++] = c;
    }
    out[n] = 0;
    return n == DESK_CLAIM_LEN;
}

static void
s_claim_digest (const char *code, const unsigned char salt[S_SALT_BYTES], unsigned char out[S_HASH_BYTES])
{
    crypto_generichash (out, S_HASH_BYTES, (const unsigned char *) code, strlen (code), salt, S_SALT_BYTES);
}

void
desk_claim_hash (const char *code, char out[DESK_CLAIM_HASH_MAX + 1])
{
    unsigned char salt[S_SALT_BYTES], hash[S_HASH_BYTES];
    s_sodium ();
    randombytes_buf (salt, sizeof salt);
    s_claim_digest (code, salt, hash);
    sodium_bin2hex (out, 2 * S_SALT_BYTES + 1, salt, sizeof salt);
    out[2 * S_SALT_BYTES] = ':';
    sodium_bin2hex (out + 2 * S_SALT_BYTES + 1, 2 * S_HASH_BYTES + 1, hash, sizeof hash);
}

bool
desk_claim_verify (const char *stored, const char *code)
{
    unsigned char salt[S_SALT_BYTES], want[S_HASH_BYTES], got[S_HASH_BYTES];
    size_t n;
    if (!stored || !code || strlen (stored) != 2 * (S_SALT_BYTES + S_HASH_BYTES) + 1
        || stored[2 * S_SALT_BYTES] != ':')
        return false;
    if (sodium_hex2bin (salt, sizeof salt, stored, 2 * S_SALT_BYTES, NULL, &n, NULL) || n != sizeof salt
        || sodium_hex2bin (want, sizeof want, stored + 2 * S_SALT_BYTES + 1, 2 * S_HASH_BYTES, NULL, &n, NULL)
        || n != sizeof want)
        return false;
    s_claim_digest (code, salt, got);
    return sodium_memcmp (got, want, sizeof got) == 0;
}

/* --- visitors ---------------------------------------------------------------- */

static const struct {
    const char *from;
    desk_visit_step_t step;
    const char *to;
} s_visit_steps[] = {
    { "registered", DESK_CHECK_IN, "on_site" },
    { "on_site", DESK_CHECK_OUT, "left" },
};
#define S_VISIT_STEPS (sizeof s_visit_steps / sizeof s_visit_steps[0])

const char *
desk_visitor_next (const char *status, desk_visit_step_t step)
{
    for (size_t i = 0; status && i < S_VISIT_STEPS; i++)
        if (s_visit_steps[i].step == step && strcmp (s_visit_steps[i].from, status) == 0)
            return s_visit_steps[i].to;
    return NULL;
}

const char *
desk_visit_step_name (desk_visit_step_t step)
{
    return step == DESK_CHECK_IN ? "check_in" : "check_out";
}

cJSON *
desk_visitor_allowed (const char *status)
{
    cJSON *a = cJSON_CreateArray ();
    for (size_t i = 0; status && i < S_VISIT_STEPS; i++)
        if (strcmp (s_visit_steps[i].from, status) == 0)
            cJSON_AddItemToArray (a, cJSON_CreateString (desk_visit_step_name (s_visit_steps[i].step)));
    return a;
}

/* --- items -------------------------------------------------------------------- */

desk_release_t
desk_release_decide (bool released, int failed_attempts, const char *code, bool code_ok)
{
    if (released)
        return DESK_RELEASE_DONE;
    if (!code)
        return DESK_RELEASE_OVERRIDE;
    if (failed_attempts >= DESK_CLAIM_TRIES_MAX)
        return DESK_RELEASE_LOCKED;
    return code_ok ? DESK_RELEASE_OK : DESK_RELEASE_WRONG_CODE;
}

/* --- inputs ------------------------------------------------------------------- */

static bool
s_blank (const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* A required text that is not only spaces. */
static const char *
s_text (jv_t *v, const cJSON *data, const char *field, bool required, size_t max)
{
    const char *s = jv_string (v, data, field, required, max);
    if (s && s_blank (s)) {
        if (required)
            jv_problem (v, field, "must not be blank");
        return NULL;
    }
    return s;
}

/* An optional field where null and "" mean none: its string, or NULL. */
static const char *
s_optional (jv_t *v, const cJSON *data, const char *field, size_t max)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive (data, field);
    if (!f || cJSON_IsNull (f) || (cJSON_IsString (f) && !*f->valuestring))
        return NULL;
    return s_text (v, data, field, false, max);
}

static const char *
s_optional_uuid (jv_t *v, const cJSON *data, const char *field)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive (data, field);
    return f && !cJSON_IsNull (f) ? jv_uuid (v, data, field, JV_OPTIONAL) : NULL;
}

/* The plate of field, normalised into out ("" when none sent). */
static void
s_plate (jv_t *v, const cJSON *data, const char *field, bool required, char out[DESK_PLATE_MAX + 1])
{
    out[0] = 0;
    const char *s = required ? jv_string (v, data, field, JV_REQUIRED, DESK_PLATE_INPUT_MAX)
                             : s_optional (v, data, field, DESK_PLATE_INPUT_MAX);
    if (s && !desk_plate_normalize (s, out))
        jv_problem (v, field, "is not a mainland licence plate (粤B12345, 粤BD12345)");
}

static void
s_visitor_phone (jv_t *v, const cJSON *data, char out[PII_PHONE_MAX + 1])
{
    out[0] = 0;
    const char *s = s_optional (v, data, "phone", PII_PHONE_INPUT_MAX);
    if (s && !pii_phone_normalize (s, out))
        jv_problem (v, "phone", "is not a phone number");
}

/* Any document a visitor shows; an 18-character number of 17 digits is a
 * resident ID and must pass its check. */
static void
s_visitor_id (jv_t *v, const cJSON *data, char out[PII_ID_NUMBER_MAX + 1])
{
    out[0] = 0;
    const char *s = s_optional (v, data, "id_number", PII_ID_NUMBER_MAX + 8);
    if (!s)
        return;
    const char *problem = pii_id_clean (s, out);
    if (!problem && strlen (out) == 18 && s_all_digits (out, 17) && !pii_resident_id_ok (out))
        problem = "is not a valid resident ID (birth date or check character)";
    if (problem) {
        jv_problem (v, "id_number", "%s", problem);
        out[0] = 0;
    }
}

static bool
s_flag (jv_t *v, const cJSON *data, const char *field)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive (data, field);
    if (f && !cJSON_IsBool (f) && !cJSON_IsNull (f))
        jv_problem (v, field, "must be true or false");
    return cJSON_IsTrue (f);
}

bool
desk_visitor_input (jv_t *v, const cJSON *data, desk_visitor_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->name = s_text (v, data, "name", JV_REQUIRED, DESK_NAME_MAX);
    out->purpose = s_text (v, data, "purpose", JV_REQUIRED, DESK_PURPOSE_MAX);
    out->visiting_unit_id = s_optional_uuid (v, data, "visiting_unit_id");
    s_visitor_phone (v, data, out->phone);
    s_visitor_id (v, data, out->id_number);
    s_plate (v, data, "vehicle_plate", false, out->plate);
    out->check_in = s_flag (v, data, "check_in");
    return jv_ok (v);
}

bool
desk_item_input (jv_t *v, const cJSON *data, desk_item_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->description = s_text (v, data, "description", JV_REQUIRED, DESK_TEXT_MAX);
    out->unit_id = s_optional_uuid (v, data, "unit_id");
    out->owner_name = s_optional (v, data, "owner_name", DESK_NAME_MAX);
    out->location = s_optional (v, data, "location", DESK_LOCATION_MAX);
    return jv_ok (v);
}

bool
desk_release_input (jv_t *v, const cJSON *data, bool manager, desk_release_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    out->released_to = s_text (v, data, "released_to", JV_REQUIRED, DESK_NAME_MAX);
    out->reason = s_optional (v, data, "reason", DESK_TEXT_MAX);
    const char *code = s_optional (v, data, "claim_code", 2 * DESK_CLAIM_LEN);
    out->code_sent = code != NULL;
    /* a code of the wrong shape is a wrong code (it counts), not a 422 that
     * would let someone probe for free */
    if (code && !desk_claim_code_clean (code, out->code))
        out->code[0] = 0;
    if (!code && jv_ok (v)) {
        if (!manager)
            jv_problem (v, "claim_code", "is required (a manager may release without it, giving a reason)");
        else if (!out->reason)
            jv_problem (v, "reason", "is required to release without the claim code");
    }
    return jv_ok (v);
}

/* One bound of a pass: a date or an RFC 3339 time; end: a date's bound is
 * the end of that day. */
static void
s_bound (jv_t *v, const cJSON *data, const char *field, bool end, desk_bound_t *b)
{
    memset (b, 0, sizeof *b);
    const char *s = jv_string (v, data, field, JV_REQUIRED, 40);
    int64_t days, us;
    if (!s)
        return;
    if (civil_parse_date (s, &days)) {
        b->date = s;
        b->approx_us = (days + (end ? 1 : 0)) * CIVIL_US_PER_DAY;
    }
    else if (civil_parse_time (s, &us)) {
        b->time = s;
        b->approx_us = us;
    }
    else
        jv_problem (v, field, "must be an RFC 3339 time or a date YYYY-MM-DD");
}

bool
desk_pass_input (jv_t *v, const cJSON *data, desk_pass_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    s_plate (v, data, "plate", true, out->plate);
    out->unit_id = s_optional_uuid (v, data, "unit_id");
    out->party_id = s_optional_uuid (v, data, "party_id");
    s_bound (v, data, "valid_from", false, &out->from);
    s_bound (v, data, "valid_to", true, &out->to);
    bool both = (out->from.date || out->from.time) && (out->to.date || out->to.time);
    if (both && out->to.approx_us <= out->from.approx_us)
        jv_problem (v, "valid_to", "must be after valid_from");
    else if (both && out->to.approx_us - out->from.approx_us > DESK_PASS_DAYS_MAX * CIVIL_US_PER_DAY)
        jv_problem (v, "valid_to", "a pass is valid at most %d days", DESK_PASS_DAYS_MAX);
    out->vip = s_flag (v, data, "vip");
    out->note = s_optional (v, data, "note", DESK_TEXT_MAX);
    return jv_ok (v);
}

bool
desk_settings_input (jv_t *v, const cJSON *data, int *retention_days)
{
    int64_t days = 0;
    if (jv_object (v, data))
        jv_int (v, data, "visitor_retention_days", JV_REQUIRED, DESK_RETENTION_MIN, DESK_RETENTION_MAX, &days);
    *retention_days = (int) days;
    return jv_ok (v);
}
