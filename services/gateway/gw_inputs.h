/* gw_inputs: the request bodies of the gateway's own endpoints (login,
 * password change, users, API keys), checked pure: no database, no loop, no
 * clock (the time a key's expiry is checked against comes in), so
 * tests/fuzz/fuzz_validators.c and tests/unit/test_gw_inputs.c reach them.
 * gw_auth.c's handlers call them first (validate -> load -> decide ->
 * store). Strings are borrowed from data; property_ids is JSON text the
 * caller frees with free() (NULL after false). Each function returns false
 * after adding problems to v. */
#ifndef GW_INPUTS_H
#define GW_INPUTS_H

#include "jv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_USERNAME_MIN       3
#define GW_USERNAME_MAX       64
#define GW_PASSWORD_MIN       8      /* characters */
#define GW_PASSWORD_MAX       128
#define GW_AUTH_KEY_MAX_DAYS  3660   /* expires_at of a key: at most ~10 years ahead */
#define GW_LOGIN_NAME_MAX     256    /* bytes of a username as typed at login */
#define GW_KEY_NAME_MAX       100
#define GW_PROPERTY_IDS_MAX   1000   /* of a user or a key */

extern const char *const gw_user_roles[];   /* admin manager agent technician integration */
extern const char *const gw_key_roles[];    /* integration: the one role an API key may have */

bool gw_auth_username_valid (const char *username);
/* Counts UTF-8 characters (the string is valid UTF-8). */
size_t gw_auth_utf8_chars (const char *s);
/* The password policy: NULL when password may be used by username, else
 * what is wrong ("must be 8 to 128 characters", "must not be the username"). */
const char *gw_auth_password_problem (const char *password, const char *username);
/* An RFC 3339 date-time ("2027-01-31T08:00:00Z", "...T16:00:00.5+08:00";
 * civil_parse_time's) as epoch milliseconds: 0, or -1 when it is not one
 * or is before 1970. */
int gw_auth_parse_time (const char *s, int64_t *epoch_ms);

/* POST /v1/auth/login {"username","password"}: only present and strings
 * here; whether they match is the login's. */
typedef struct {
    const char *username, *password;
} gw_login_input_t;
bool gw_login_input (jv_t *v, const cJSON *data, gw_login_input_t *in);

/* POST /v1/auth/password {"current_password","new_password"} of the user
 * named username: the new one passes the policy and differs. */
typedef struct {
    const char *current, *next;
} gw_password_input_t;
bool gw_password_input (jv_t *v, const cJSON *data, const char *username, gw_password_input_t *in);

/* POST /v1/users {"username","password","role","property_ids"?}. */
typedef struct {
    const char *username, *password, *role;
    char *property_ids;              /* "[]" when absent */
} gw_user_create_input_t;
bool gw_user_create_input (jv_t *v, const cJSON *data, gw_user_create_input_t *in);

/* PATCH /v1/users/{id}: at least one of {"disabled","role","property_ids"},
 * nothing else; NULL for what stays. */
typedef struct {
    const char *disabled;            /* "true", "false" or NULL */
    const char *role;
    char *property_ids;
} gw_user_update_input_t;
bool gw_user_update_input (jv_t *v, const cJSON *data, gw_user_update_input_t *in);
/* Whether that change may be made (decided under the admins' lock): NULL,
 * or why not (409). An enabled admin (target_admin) may not be disabled or
 * demoted by themselves (self), nor while they are the last enabled admin
 * (admins: how many enabled admins there are). */
const char *gw_user_update_refusal (const gw_user_update_input_t *in, bool target_admin, int admins,
                                    bool self);

/* POST /v1/api-keys {"name","role","property_ids"?,"expires_at"?}, the
 * expiry in (now_ms, now_ms + GW_AUTH_KEY_MAX_DAYS]. */
typedef struct {
    const char *name, *role;
    char *property_ids;              /* "[]" when absent */
    const char *expires_at;          /* as sent, or NULL */
    int64_t expires_ms;              /* epoch ms when expires_at */
    char expires_text[24];           /* expires_ms in decimal, "" when none */
} gw_key_create_input_t;
bool gw_key_create_input (jv_t *v, const cJSON *data, int64_t now_ms, gw_key_create_input_t *in);

#endif
