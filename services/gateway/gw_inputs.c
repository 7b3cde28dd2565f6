/* gw_inputs: the gateway's own request bodies, pure (see gw_inputs.h). */
#include "gw_inputs.h"

#include "civil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STR(x)  #x
#define XSTR(x) STR (x)

const char *const gw_user_roles[] = { "admin", "manager", "agent", "technician", "integration", NULL };
/* only integration: an admin key is an admin that never logs in, has no
 * password to change and no one to disable */
const char *const gw_key_roles[] = { "integration", NULL };

bool
gw_auth_username_valid (const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return n >= GW_USERNAME_MIN && n <= GW_USERNAME_MAX;
}

size_t
gw_auth_utf8_chars (const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

const char *
gw_auth_password_problem (const char *password, const char *username)
{
    if (!password)
        return "is required";
    size_t n = gw_auth_utf8_chars (password);
    if (n < GW_PASSWORD_MIN || n > GW_PASSWORD_MAX)
        return "must be " XSTR (GW_PASSWORD_MIN) " to " XSTR (GW_PASSWORD_MAX) " characters";
    /* logins compare names without regard to case: so does this */
    if (username && strcasecmp (password, username) == 0)
        return "must not be the username";
    return NULL;
}

int
gw_auth_parse_time (const char *s, int64_t *epoch_ms)
{
    int64_t us;
    if (!civil_parse_time (s, &us) || us < 0)
        return -1;
    *epoch_ms = us / 1000;
    return 0;
}

/* property_ids of a users / api-keys body: optional array of UUIDs, as
 * JSON text for the INSERT (caller frees); NULL after noting a problem. */
static char *
s_property_ids (jv_t *v, const cJSON *data)
{
    const cJSON *pids = cJSON_GetObjectItemCaseSensitive (data, "property_ids");
    if (!pids || cJSON_IsNull (pids))
        return strdup ("[]");
    if (!cJSON_IsArray (pids) || cJSON_GetArraySize (pids) > GW_PROPERTY_IDS_MAX) {
        jv_problem (v, "property_ids", "must be an array of at most 1000 property ids");
        return NULL;
    }
    const cJSON *p;
    int i = 0;
    cJSON_ArrayForEach (p, pids) {
        if (!cJSON_IsString (p) || !jv_is_uuid (p->valuestring)) {
            jv_problem (v, "property_ids", "item %d must be a property id (UUID)", i);
            return NULL;
        }
        i++;
    }
    return cJSON_PrintUnformatted (pids);
}

/* Every body's first step: in zeroed (size bytes), data an object. */
static bool
s_begin (jv_t *v, const cJSON *data, void *in, size_t size)
{
    memset (in, 0, size);
    return jv_object (v, data);
}

/* The last step of a body with property_ids: jv_ok (v), the ids freed
 * (and NULL) when it is false. */
static bool
s_end (jv_t *v, char **property_ids)
{
    if (jv_ok (v))
        return true;
    free (*property_ids);
    *property_ids = NULL;
    return false;
}

bool
gw_login_input (jv_t *v, const cJSON *data, gw_login_input_t *in)
{
    if (!s_begin (v, data, in, sizeof *in))
        return false;
    in->username = jv_string (v, data, "username", JV_REQUIRED, GW_LOGIN_NAME_MAX);
    in->password = jv_string (v, data, "password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
    return jv_ok (v);
}

bool
gw_password_input (jv_t *v, const cJSON *data, const char *username, gw_password_input_t *in)
{
    if (!s_begin (v, data, in, sizeof *in))
        return false;
    in->current = jv_string (v, data, "current_password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
    in->next = jv_string (v, data, "new_password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
    const char *problem = in->next ? gw_auth_password_problem (in->next, username) : NULL;
    if (problem)
        jv_problem (v, "new_password", "%s", problem);
    else
    if (in->next && in->current && strcmp (in->next, in->current) == 0)
        jv_problem (v, "new_password", "must differ from the current password");
    return jv_ok (v);
}

bool
gw_user_create_input (jv_t *v, const cJSON *data, gw_user_create_input_t *in)
{
    if (!s_begin (v, data, in, sizeof *in))
        return false;
    in->username = jv_string (v, data, "username", JV_REQUIRED, GW_USERNAME_MAX + 1);
    if (in->username && !gw_auth_username_valid (in->username))
        jv_problem (v, "username", "must be %d to %d of A-Z a-z 0-9 . _ -", GW_USERNAME_MIN, GW_USERNAME_MAX);
    in->password = jv_string (v, data, "password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
    const char *problem = in->password ? gw_auth_password_problem (in->password, in->username) : NULL;
    if (problem)
        jv_problem (v, "password", "%s", problem);
    in->role = jv_enum (v, data, "role", JV_REQUIRED, gw_user_roles);
    in->property_ids = s_property_ids (v, data);
    return s_end (v, &in->property_ids);
}

bool
gw_user_update_input (jv_t *v, const cJSON *data, gw_user_update_input_t *in)
{
    if (!s_begin (v, data, in, sizeof *in))
        return false;
    const cJSON *f;
    cJSON_ArrayForEach (f, data)
        if (strcmp (f->string, "disabled") != 0 && strcmp (f->string, "role") != 0
            && strcmp (f->string, "property_ids") != 0)
            jv_problem (v, f->string, "cannot be changed here (disabled, role, property_ids can)");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive (data, "disabled");
    if (d && !cJSON_IsNull (d)) {
        if (cJSON_IsBool (d))
            in->disabled = cJSON_IsTrue (d) ? "true" : "false";
        else
            jv_problem (v, "disabled", "must be true or false");
    }
    in->role = jv_enum (v, data, "role", JV_OPTIONAL, gw_user_roles);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive (data, "property_ids");
    if (p && !cJSON_IsNull (p))
        in->property_ids = s_property_ids (v, data);
    if (jv_ok (v) && !in->disabled && !in->role && !in->property_ids)
        jv_problem (v, "body", "nothing to change: send disabled, role or property_ids");
    return s_end (v, &in->property_ids);
}

bool
gw_key_create_input (jv_t *v, const cJSON *data, int64_t now_ms, gw_key_create_input_t *in)
{
    if (!s_begin (v, data, in, sizeof *in))
        return false;
    in->name = jv_string (v, data, "name", JV_REQUIRED, GW_KEY_NAME_MAX);
    in->role = jv_enum (v, data, "role", JV_REQUIRED, gw_key_roles);
    in->property_ids = s_property_ids (v, data);
    in->expires_at = jv_string (v, data, "expires_at", JV_OPTIONAL, 64);
    int64_t at = 0;
    if (in->expires_at) {
        if (gw_auth_parse_time (in->expires_at, &at) != 0)
            jv_problem (v, "expires_at", "must be an RFC 3339 date-time (2027-01-31T00:00:00Z)");
        else
        if (at <= now_ms || at > now_ms + (int64_t) GW_AUTH_KEY_MAX_DAYS * 86400 * 1000)
            jv_problem (v, "expires_at", "must be in the future, within %d days", GW_AUTH_KEY_MAX_DAYS);
        else {
            in->expires_ms = at;
            snprintf (in->expires_text, sizeof in->expires_text, "%lld", (long long) at);
        }
    }
    return s_end (v, &in->property_ids);
}

const char *
gw_user_update_refusal (const gw_user_update_input_t *in, bool target_admin, int admins, bool self)
{
    bool loses_admin = target_admin && ((in->disabled && strcmp (in->disabled, "true") == 0)
                                        || (in->role && strcmp (in->role, "admin") != 0));
    if (loses_admin && self)
        return "an admin cannot disable or demote themselves";
    if (loses_admin && admins <= 1)
        return "the last enabled admin cannot be disabled or demoted";
    return NULL;
}
