/* party_rules: validation, normalisation and masking of parties; see party_rules.h. */
#include "party_rules.h"

#include "unit_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tn_party_kinds[] = { "person", "company", NULL };
const char *const tn_id_types[] = { "resident_id", "passport", "other", "credit_code", NULL };
const char *const tn_occupancy_roles[] = { "owner", "tenant", "resident", NULL };

static bool
s_digit (char c)
{
    return c >= '0' && c <= '9';
}

static bool
s_all_digits (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s_digit (s[i]))
            return false;
    return n > 0;
}

/* --- phones --------------------------------------------------------------- */

static bool
s_mobile (const char *d, size_t n)
{
    return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && s_all_digits (d, n);
}

/* The length of the area code (with its 0) that begins d: 010 and 02x are
 * three digits, every other (0311, 0755, ...) four. 0 when d is no area code. */
static size_t
s_area_len (const char *d, size_t n)
{
    if (n < 3 || d[0] != '0' || !s_digit (d[1]) || d[1] == '0')
        return 0;
    if (d[1] == '1')
        return d[2] == '0' ? 3 : 0;
    if (d[1] == '2')
        return 3;
    return n >= 4 && s_digit (d[2]) && s_digit (d[3]) ? 4 : 0;
}

/* A subscriber number: 7 or 8 digits, not starting with 0 or 1. */
static bool
s_subscriber (const char *d, size_t n)
{
    return (n == 7 || n == 8) && d[0] >= '2' && s_all_digits (d, n);
}

/* Where an explicit extension marker starts in s, and its length; NULL if none. */
static const char *
s_ext_marker (const char *s, size_t *mlen)
{
    static const char *const markers[] = { "\xe8\xbd\xac", "ext.", "ext", "EXT.", "EXT", "Ext.", "Ext",
                                           "x", "X", "#", NULL };
    const char *best = NULL;
    for (int i = 0; markers[i]; i++) {
        const char *p = strstr (s, markers[i]);
        if (p && (!best || p < best)) {
            best = p;
            *mlen = strlen (markers[i]);
        }
    }
    return best;
}

/* A number as typed, taken apart: its digits (spaces dropped) in groups
 * split by dashes, a leading +, and an extension introduced by a word or
 * sign. */
typedef struct {
    char digits[TN_PHONE_INPUT_MAX + 1];
    size_t n;
    bool plus;
    size_t groups;
    size_t group_len[TN_PHONE_INPUT_MAX + 1];
    char ext[TN_PHONE_INPUT_MAX + 1];
} s_phone_t;

/* The extension after a marker ("转", ext, x, #): 1..TN_PHONE_EXT_MAX digits,
 * spaces ignored. *body_len: where the number before it ends (all of in
 * when there is no marker). False for a marker without digits, or with
 * anything else after it. */
static bool
s_phone_ext (const char *in, s_phone_t *ph, size_t *body_len)
{
    size_t mlen = 0, e = 0;
    const char *mark = s_ext_marker (in, &mlen);
    *body_len = mark ? (size_t) (mark - in) : strlen (in);
    ph->ext[0] = 0;
    if (!mark)
        return true;
    for (const char *p = mark + mlen; *p; p++) {
        if (*p == ' ')
            continue;
        if (!s_digit (*p))
            return false;
        ph->ext[e++] = *p;
    }
    ph->ext[e] = 0;
    return e > 0 && e <= TN_PHONE_EXT_MAX;
}

/* The len bytes of body as digits in dash-separated groups: an optional
 * leading +, then digits, a dash only between two digits, spaces anywhere.
 * False for anything else, or for no digits. */
static bool
s_phone_groups (const char *body, size_t len, s_phone_t *ph)
{
    bool in_group = false;
    ph->n = 0;
    ph->plus = false;
    ph->groups = 1;
    memset (ph->group_len, 0, sizeof ph->group_len);
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (c == ' ')
            continue;
        if (c == '+' && ph->n == 0 && !ph->plus && ph->groups == 1) {
            ph->plus = true;
            continue;
        }
        if (c == '-') {
            if (!in_group)
                return false;           /* a leading or doubled dash */
            ph->groups++;
            in_group = false;
            continue;
        }
        if (!s_digit (c))
            return false;
        ph->digits[ph->n++] = c;
        ph->group_len[ph->groups - 1]++;
        in_group = true;
    }
    ph->digits[ph->n] = 0;
    return ph->n > 0 && in_group;       /* not nothing, nor a trailing dash */
}

/* The 11 digits of a mobile number in any of its forms (13800138000,
 * +8613800138000, 008613800138000, 8613800138000), or NULL. */
static const char *
s_phone_mobile (const s_phone_t *ph)
{
    const char *d = ph->digits;
    size_t n = ph->n;
    if (ph->plus)
        return n > 2 && d[0] == '8' && d[1] == '6' && s_mobile (d + 2, n - 2) ? d + 2 : NULL;
    if (n == 15 && memcmp (d, "0086", 4) == 0 && s_mobile (d + 4, 11))
        return d + 4;
    if (n == 13 && d[0] == '8' && d[1] == '6' && s_mobile (d + 2, 11))
        return d + 2;
    return s_mobile (d, n) ? d : NULL;
}

/* A landline: AREA NUMBER, AREA-NUMBER, or AREA-NUMBER-EXT (a third group
 * after a whole subscriber number is its extension; otherwise the number
 * itself was split, as in 0755-8888-1234). Written "AREA-NUMBER[-EXT]":
 * at most 4 + 1 + 8 + 1 + TN_PHONE_EXT_MAX, within TN_PHONE_MAX. */
static bool
s_phone_landline (const s_phone_t *ph, char out[TN_PHONE_MAX + 1])
{
    const char *d = ph->digits, *ext = ph->ext;
    size_t area = s_area_len (d, ph->n), elen = strlen (ext);
    if (!area || ph->groups > 3)
        return false;
    if (ph->groups > 1 && ph->group_len[0] != area)
        return false;                   /* a dash elsewhere than after the area code */
    size_t sub = ph->n - area;
    if (ph->groups == 3 && s_subscriber (d + area, ph->group_len[1])) {
        if (ph->group_len[2] > TN_PHONE_EXT_MAX || elen)
            return false;               /* too long, or a second extension */
        elen = ph->group_len[2];
        sub -= elen;
        ext = d + area + sub;
    }
    if (!s_subscriber (d + area, sub))
        return false;
    snprintf (out, TN_PHONE_MAX + 1, "%.*s-%.*s%s%.*s", (int) area, d, (int) sub, d + area,
              elen ? "-" : "", (int) elen, ext);
    return true;
}

bool
tn_phone_normalize (const char *in, char out[TN_PHONE_MAX + 1])
{
    out[0] = 0;
    s_phone_t ph;
    size_t body_len;
    if (!in || !*in || strlen (in) > TN_PHONE_INPUT_MAX || !s_phone_ext (in, &ph, &body_len)
        || !s_phone_groups (in, body_len, &ph))
        return false;
    const char *mobile = s_phone_mobile (&ph);
    if (mobile) {
        if (ph.ext[0])
            return false;               /* a mobile has no extension */
        snprintf (out, TN_PHONE_MAX + 1, "%.11s", mobile);
        return true;
    }
    if (ph.plus) {
        /* another country: + and 8..15 digits, no extension */
        if (ph.ext[0] || ph.n < 8 || ph.n > 15)
            return false;
        snprintf (out, TN_PHONE_MAX + 1, "+%.15s", ph.digits);
        return true;
    }
    return s_phone_landline (&ph, out);
}

/* The length of a normalised number without its extension. */
static size_t
s_main_len (const char *phone)
{
    if (phone[0] != '0')
        return strlen (phone);
    const char *dash = strchr (phone, '-');
    const char *ext = dash ? strchr (dash + 1, '-') : NULL;
    return ext ? (size_t) (ext - phone) : strlen (phone);
}

void
tn_phone_tail (const char *phone, char out[5])
{
    size_t n = s_main_len (phone);
    size_t k = 0;
    char rev[4];
    for (size_t i = n; i > 0 && k < 4; i--)
        if (s_digit (phone[i - 1]))
            rev[k++] = phone[i - 1];
    for (size_t i = 0; i < k; i++)
        out[i] = rev[k - 1 - i];
    out[k] = 0;
}

void
tn_phone_mask (const char *phone, char out[TN_PHONE_MAX + 8])
{
    size_t n = s_main_len (phone);
    char tail[5];
    tn_phone_tail (phone, tail);
    if (n < 8) {
        /* never stored (numbers are normalised); mask it all rather than show it */
        snprintf (out, TN_PHONE_MAX + 8, "****");
        return;
    }
    snprintf (out, TN_PHONE_MAX + 8, "%.3s****%s%s", phone, tail, phone + n);
}

/* --- identity documents ------------------------------------------------------ */

void
tn_id_mask (const char *id, char out[TN_ID_NUMBER_MAX + 1])
{
    size_t n = strlen (id);
    if (n > TN_ID_NUMBER_MAX)
        n = TN_ID_NUMBER_MAX;
    /* the head of a resident ID is the birthplace, and a short number's last
     * four are most of it: only the tail of a long one is shown */
    for (size_t i = 0; i < n; i++)
        out[i] = (n >= TN_ID_MASK_MIN && i >= n - TN_ID_MASK_TAIL) ? id[i] : '*';
    out[n] = 0;
}

static bool
s_date_ok (const char *d)
{
    char iso[11];
    snprintf (iso, sizeof iso, "%.4s-%.2s-%.2s", d, d + 4, d + 6);
    return jv_is_date (iso);
}

bool
tn_resident_id_ok (const char *id)
{
    static const int weights[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
    static const char checks[] = "10X98765432";
    if (!id || strlen (id) != 18 || !s_all_digits (id, 17) || id[0] == '0')
        return false;
    if (!s_date_ok (id + 6))
        return false;
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id[i] - '0') * weights[i];
    return id[17] == checks[sum % 11];
}

bool
tn_credit_code_ok (const char *code)
{
    static const char chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    if (!code || strlen (code) != 18)
        return false;
    int sum = 0, weight = 1;
    for (int i = 0; i < 18; i++) {
        const char *p = code[i] ? strchr (chars, code[i]) : NULL;
        if (!p)
            return false;
        int value = (int) (p - chars);
        if (i == 17)
            return value == (31 - sum % 31) % 31;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    return false;
}

const char *
tn_id_normalize (const char *type, const char *id, char out[TN_ID_NUMBER_MAX + 1])
{
    out[0] = 0;
    /* trim spaces; upper-case letters (a resident ID's x is its X) */
    while (*id == ' ')
        id++;
    size_t n = strlen (id);
    while (n > 0 && id[n - 1] == ' ')
        n--;
    if (n < TN_ID_NUMBER_MIN || n > TN_ID_NUMBER_MAX)
        return "must be 3 to 32 characters";
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (c >= 'a' && c <= 'z')
            c = (char) (c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || s_digit (c) || c == '-'))
            return "may hold only letters, digits and -";
        out[i] = c;
    }
    out[n] = 0;
    if (strcmp (type, "resident_id") == 0) {
        if (n != 18)
            return "must be 18 characters for a resident_id";
        if (!tn_resident_id_ok (out))
            return "is not a valid resident ID (birth date or check character)";
    }
    else if (strcmp (type, "credit_code") == 0) {
        if (n != 18)
            return "must be 18 characters for a credit_code";
        if (!tn_credit_code_ok (out))
            return "is not a valid unified social credit code (check character)";
    }
    else if (strcmp (type, "passport") == 0) {
        if (n < 5 || n > 20 || strchr (out, '-'))
            return "must be 5 to 20 letters and digits for a passport";
    }
    return NULL;
}

bool
tn_email_ok (const char *email)
{
    size_t n = email ? strlen (email) : 0;
    if (n < 3 || n > TN_EMAIL_MAX)
        return false;
    const char *at = strchr (email, '@');
    if (!at || at == email || strchr (at + 1, '@') || at - email > 64)
        return false;
    for (const unsigned char *p = (const unsigned char *) email; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '(' || *p == ')' || *p == ','
            || *p == ':' || *p == ';' || *p == '<' || *p == '>' || *p == '[' || *p == ']'
            || *p == '\\')
            return false;
    const char *domain = at + 1;
    if (!strchr (domain, '.') || *domain == '.' || domain[strlen (domain) - 1] == '.'
        || strstr (domain, "..") || email[0] == '.' || at[-1] == '.' || strstr (email, ".."))
        return false;
    for (const char *p = domain; *p; p++)
        if (*p == '-' && (p == domain || p[-1] == '.' || p[1] == '.' || p[1] == 0))
            return false;
    return true;
}

/* --- inputs ------------------------------------------------------------------ */

/* The default document type for a kind: resident_id for a person,
 * credit_code for a company. */
static const char *
s_id_type_default (const char *kind)
{
    return kind && strcmp (kind, "company") == 0 ? "credit_code" : "resident_id";
}

bool
tn_id_type_fits (const char *kind, const char *type)
{
    if (!kind || !type)
        return false;
    if (strcmp (kind, "company") == 0)
        return strcmp (type, "credit_code") == 0 || strcmp (type, "other") == 0;
    return strcmp (type, "credit_code") != 0;
}

/* Adds a normalised number unless the list holds it already. */
static void
s_add_phone (tn_party_input_t *out, const char *phone)
{
    for (int i = 0; i < out->nphones; i++)
        if (strcmp (out->phones[i], phone) == 0)
            return;
    snprintf (out->phones[out->nphones++], TN_PHONE_MAX + 1, "%s", phone);
}

static void
s_phone_input (jv_t *v, const cJSON *data, tn_party_input_t *out, bool partial)
{
    const cJSON *one = cJSON_GetObjectItemCaseSensitive (data, "phone");
    const cJSON *many = cJSON_GetObjectItemCaseSensitive (data, "phones");
    if (one && many) {
        jv_problem (v, "phones", "send phone or phones, not both");
        return;
    }
    char norm[TN_PHONE_MAX + 1];
    if (one) {
        out->has_phones = true;
        out->phone_primary_only = partial;
        if (cJSON_IsNull (one) || (cJSON_IsString (one) && !*one->valuestring))
            return;                     /* none (PATCH: removes the primary) */
        if (!cJSON_IsString (one))
            jv_problem (v, "phone", "must be a string");
        else if (!tn_phone_normalize (one->valuestring, norm))
            jv_problem (v, "phone", "is not a phone number");
        else
            s_add_phone (out, norm);
        return;
    }
    if (!many)
        return;
    out->has_phones = true;
    if (cJSON_IsNull (many))
        return;
    if (!cJSON_IsArray (many)) {
        jv_problem (v, "phones", "must be an array of strings");
        return;
    }
    int count = cJSON_GetArraySize (many);
    if (count > TN_PHONES_MAX) {
        jv_problem (v, "phones", "must hold at most %d numbers", TN_PHONES_MAX);
        return;
    }
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, many) {
        char field[24];
        snprintf (field, sizeof field, "phones[%d]", i++);
        if (!cJSON_IsString (item))
            jv_problem (v, field, "must be a string");
        else if (!tn_phone_normalize (item->valuestring, norm))
            jv_problem (v, field, "is not a phone number");
        else
            s_add_phone (out, norm);
    }
}

/* An optional text field where null and "" mean none; sets *has. */
static const char *
s_clearable (jv_t *v, const cJSON *data, const char *field, size_t max, bool *has)
{
    *has = cJSON_HasObjectItem (data, field);
    const char *s = jv_string (v, data, field, JV_OPTIONAL, max);
    return s && *s ? s : NULL;
}

static bool
s_blank (const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static void
s_id_input (jv_t *v, const cJSON *data, const char *kind, const tn_party_values_t *cur,
            tn_party_input_t *out)
{
    const cJSON *num = cJSON_GetObjectItemCaseSensitive (data, "id_number");
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive (data, "id_type");
    if (!num && !typ)
        return;
    out->has_id = true;
    const char *type = jv_enum (v, data, "id_type", JV_OPTIONAL, tn_id_types);
    bool type_bad = typ && !cJSON_IsNull (typ) && !type;
    bool number_none = !num || cJSON_IsNull (num) || (cJSON_IsString (num) && !*num->valuestring);
    if (num && !number_none && !cJSON_IsString (num)) {
        jv_problem (v, "id_number", "must be a string");
        return;
    }
    if (num && number_none) {
        /* clearing the document: the type goes with it */
        if (type)
            jv_problem (v, "id_type", "needs an id_number");
        return;
    }
    /* only id_type sent: it applies to the stored number (PATCH) */
    const char *number = num ? num->valuestring : (cur ? cur->id_number : NULL);
    if (!number) {
        if (!cJSON_IsNull (typ))
            jv_problem (v, "id_number", "is required with id_type");
        return;                         /* id_type null and no number: nothing to change */
    }
    if (type_bad)
        return;
    if (!num && !type) {
        jv_problem (v, "id_type", "cannot be cleared while an id_number is kept; send id_number null");
        return;
    }
    if (!type)
        type = cur && cur->id_type && tn_id_type_fits (kind, cur->id_type) ? cur->id_type
                                                                               : s_id_type_default (kind);
    if (kind && !tn_id_type_fits (kind, type)) {
        jv_problem (v, "id_type", "%s does not fit a %s", type, kind);
        return;
    }
    const char *problem = tn_id_normalize (type, number, out->id_number);
    if (problem) {
        jv_problem (v, num ? "id_number" : "id_type", "%s", problem);
        out->id_number[0] = 0;
        return;
    }
    out->id_type = type;
}

bool
tn_party_input (jv_t *v, const cJSON *data, const tn_party_values_t *cur, tn_party_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (!jv_object (v, data))
        return false;
    bool partial = cur != NULL;

    const char *kind = jv_enum (v, data, "kind", !partial, tn_party_kinds);
    if (partial && kind && strcmp (kind, cur->kind) != 0) {
        jv_problem (v, "kind", "cannot be changed");
        kind = NULL;
    }
    out->kind = partial ? cur->kind : kind;

    out->has_name = !partial || cJSON_HasObjectItem (data, "name");
    if (out->has_name) {
        out->name = jv_string (v, data, "name", JV_REQUIRED, TN_PARTY_NAME_MAX);
        if (out->name && s_blank (out->name)) {
            jv_problem (v, "name", "must not be blank");
            out->name = NULL;
        }
    }

    s_phone_input (v, data, out, partial);

    out->email = s_clearable (v, data, "email", TN_EMAIL_MAX, &out->has_email);
    if (out->email && !tn_email_ok (out->email)) {
        jv_problem (v, "email", "is not an e-mail address");
        out->email = NULL;
    }

    s_id_input (v, data, out->kind, cur, out);

    out->has_key = cJSON_HasObjectItem (data, "key_customer");
    if (out->has_key) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive (data, "key_customer");
        if (cJSON_IsBool (k))
            out->key_customer = cJSON_IsTrue (k);
        else {
            jv_problem (v, "key_customer", "must be true or false");
            out->has_key = false;
        }
    }
    out->key_customer_note = s_clearable (v, data, "key_customer_note", TN_KEY_NOTE_MAX,
                                          &out->has_key_note);
    return jv_ok (v);
}

static bool
s_text_same (const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

bool
tn_party_patch (const tn_party_values_t *cur, const tn_party_input_t *in,
                tn_party_values_t *next, bool *key_changed)
{
    *next = *cur;
    if (in->has_name)
        next->name = in->name;
    if (in->has_phones) {
        next->nphones = 0;
        tn_party_input_t list = { 0 };
        if (in->phone_primary_only) {
            /* the new primary first, then the others as they were */
            for (int i = 0; i < in->nphones; i++)
                s_add_phone (&list, in->phones[i]);
            for (int i = 1; i < cur->nphones && list.nphones < TN_PHONES_MAX; i++)
                s_add_phone (&list, cur->phones[i]);
        }
        else
            for (int i = 0; i < in->nphones; i++)
                s_add_phone (&list, in->phones[i]);
        for (int i = 0; i < list.nphones; i++)
            snprintf (next->phones[i], TN_PHONE_MAX + 1, "%s", list.phones[i]);
        next->nphones = list.nphones;
    }
    if (in->has_email)
        next->email = in->email;
    if (in->has_id) {
        next->id_type = in->id_number[0] ? in->id_type : NULL;
        next->id_number = in->id_number[0] ? in->id_number : NULL;
    }
    if (in->has_key)
        next->key_customer = in->key_customer;
    if (in->has_key_note)
        next->key_customer_note = in->key_customer_note;

    *key_changed = next->key_customer != cur->key_customer
                   || !s_text_same (next->key_customer_note, cur->key_customer_note);
    bool phones_same = next->nphones == cur->nphones;
    for (int i = 0; phones_same && i < next->nphones; i++)
        phones_same = strcmp (next->phones[i], cur->phones[i]) == 0;
    return *key_changed || !phones_same || !s_text_same (next->name, cur->name)
           || !s_text_same (next->email, cur->email) || !s_text_same (next->id_type, cur->id_type)
           || !s_text_same (next->id_number, cur->id_number);
}

/* --- roles ------------------------------------------------------------------- */

bool
tn_role_sees_pii (const char *role)
{
    return role && (strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0
                    || strcmp (role, "service") == 0);
}

bool
tn_role_audited (const char *role)
{
    return role && (strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0);
}

bool
tn_role_sees_contacts (const char *role)
{
    /* a technician is sent to a unit, not to its people: the desk calls them */
    return role && (strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0
                    || strcmp (role, "agent") == 0 || strcmp (role, "service") == 0);
}

bool
tn_role_sets_key_customer (const char *role)
{
    return role && (strcmp (role, "admin") == 0 || strcmp (role, "manager") == 0);
}

/* --- occupancies (入住, 迁出) ---------------------------------------------------- */

bool
tn_occupancy_input (jv_t *v, const cJSON *data, tn_occupancy_input_t *out)
{
    memset (out, 0, sizeof *out);
    if (jv_object (v, data)) {
        out->party_id = jv_uuid (v, data, "party_id", JV_REQUIRED);
        out->role = jv_enum (v, data, "role", JV_REQUIRED, tn_occupancy_roles);
        out->start_date = jv_date (v, data, "start_date", JV_REQUIRED);
    }
    return jv_ok (v);
}

bool
tn_import_move_in_input (jv_t *v, const cJSON *occ, tn_import_move_in_t *out)
{
    memset (out, 0, sizeof *out);
    if (cJSON_HasObjectItem (occ, "unit_code")) {
        out->unit_code = jv_string (v, occ, "unit_code", JV_REQUIRED, TN_UNIT_CODE_MAX);
        out->role = jv_enum (v, occ, "role", JV_REQUIRED, tn_occupancy_roles);
        out->start_date = jv_date (v, occ, "start_date", JV_REQUIRED);
    }
    else if (cJSON_HasObjectItem (occ, "role") || cJSON_HasObjectItem (occ, "start_date"))
        jv_problem (v, "unit_code", "is required with role and start_date (a move-in)");
    return jv_ok (v);
}
