/* gw_inputs: the gateway's own request bodies, pure (see gw_inputs.h). */
#include "gw_inputs.h"

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

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int64_t
s_days_from_civil (int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t) era * 146097 + doe - 719468;
}

/* n decimal digits at s as an int; -1 when one is not a digit. */
static int
s_digits (const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
gw_auth_parse_time (const char *s, int64_t *epoch_ms)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!s || strlen (s) < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return -1;
    int y = s_digits (s, 4), mo = s_digits (s + 5, 2), d = s_digits (s + 8, 2);
    int h = s_digits (s + 11, 2), mi = s_digits (s + 14, 2), sec = s_digits (s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0
        || sec > 59)
        return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return -1;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                ms = ms * 10 + (*p - '0');
        if (n == 0 || n > 9)
            return -1;
        for (; n < 3; n++)
            ms *= 10;
    }
    int offset_s = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == 0)
        offset_s = 0;
    else
    if ((*p == '+' || *p == '-') && strlen (p) == 6 && p[3] == ':') {
        int oh = s_digits (p + 1, 2), om = s_digits (p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    }
    else
        return -1;
    int64_t secs = s_days_from_civil (y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    if (secs < 0)
        return -1;
    *epoch_ms = secs * 1000 + ms;
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

bool
gw_login_input (jv_t *v, const cJSON *data, gw_login_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->username = jv_string (v, data, "username", JV_REQUIRED, GW_LOGIN_NAME_MAX);
    in->password = jv_string (v, data, "password", JV_REQUIRED, 4 * GW_PASSWORD_MAX);
    return jv_ok (v);
}

bool
gw_password_input (jv_t *v, const cJSON *data, const char *username, gw_password_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
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
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
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
    if (!jv_ok (v)) {
        free (in->property_ids);
        in->property_ids = NULL;
        return false;
    }
    return true;
}

bool
gw_user_update_input (jv_t *v, const cJSON *data, gw_user_update_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
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
    if (!jv_ok (v)) {
        free (in->property_ids);
        in->property_ids = NULL;
        return false;
    }
    return true;
}

bool
gw_key_create_input (jv_t *v, const cJSON *data, int64_t now_ms, gw_key_create_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
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
    if (!jv_ok (v)) {
        free (in->property_ids);
        in->property_ids = NULL;
        return false;
    }
    return true;
}
