/* party_rules: validation, normalisation and masking of parties; see party_rules.h. */
#include "party_rules.h"

#include "unit_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tn_party_kinds[] = { "person", "company", NULL };
const char *const tn_id_types[] = { "resident_id", "passport", "other", "credit_code", NULL };
const char *const tn_occupancy_roles[] = { "owner", "tenant", "resident", NULL };

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
    const char *problem = pii_id_clean (id, out);
    if (problem)
        return problem;
    size_t n = strlen (out);
    if (strcmp (type, "resident_id") == 0) {
        if (n != 18)
            return "must be 18 characters for a resident_id";
        if (!pii_resident_id_ok (out))
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
        else if (!pii_phone_normalize (one->valuestring, norm))
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
        else if (!pii_phone_normalize (item->valuestring, norm))
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
    return pii_role_sees_pii (role);
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
