/* gw_auth: who is calling, and the endpoints that manage it.
 *
 * - Bearer tokens (login) and API keys (admin-made, "pmk_..." ) both travel
 *   as "Authorization: Bearer <secret>"; only their SHA-256 is stored
 *   (gateway.tokens, gateway.api_keys). Passwords: argon2id
 *   (crypto_pwhash_str, interactive limits), hashed and verified on the
 *   libuv thread pool so the loop never waits for them.
 * - A small cache (token hash -> caller, GW_AUTH_CACHE_TTL_MS) keeps the
 *   database off the hot path. A logout or key revocation on this gateway
 *   evicts at once; ANOTHER gateway instance may honour a revoked token for
 *   up to GW_AUTH_CACHE_TTL_MS, the price of not asking the database on
 *   every request.
 * - Endpoints: POST /v1/auth/login, POST /v1/auth/logout, GET /v1/auth/me,
 *   POST/GET /v1/users, GET /v1/properties/{pid}/staff, POST/GET /v1/api-keys,
 *   DELETE /v1/api-keys/{id}.
 * - At start: the first admin from PM_ADMIN_USER / PM_ADMIN_PASSWORD. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gw.h"

#include <stdbool.h>
#include <stddef.h>

#define GW_AUTH_CACHE_SLOTS   4096   /* a power of two */
#define GW_AUTH_CACHE_TTL_MS  10000
#define GW_AUTH_MAX_JOBS      64     /* password hashes queued at once; more -> 503 */
#define GW_AUTH_UNAVAILABLE   (-2)
#define GW_API_KEY_PREFIX     "pmk_"
#define GW_USERNAME_MIN       3
#define GW_USERNAME_MAX       64
#define GW_LOGIN_MAX_FAILURES 10         /* failed logins of one name ... */
#define GW_LOGIN_WINDOW_S     900        /* ... within 15 minutes ... */
#define GW_LOGIN_LOCK_S       300        /* ... refuse it (429) for 5 minutes */
#define GW_PASSWORD_MIN       8      /* characters */
#define GW_PASSWORD_MAX       128
#define GW_STAFF_MAX          500    /* people listed by GET .../staff */

gw_auth_t *gw_auth_new (gw_t *gw);
void gw_auth_destroy (gw_auth_t **self_p);

/* Creates PM_ADMIN_USER (default "admin") as admin when PM_ADMIN_PASSWORD is
 * set and no such user exists. Blocking: run before serving. 0 or -1. */
int gw_auth_bootstrap (gw_auth_t *self);

/* Authenticates an Authorization header value: 0 (caller filled), -1 (no or
 * bad credentials: 401), GW_AUTH_UNAVAILABLE (database down: 503). */
int gw_auth_caller (gw_auth_t *self, const char *authorization, gw_caller_t *caller,
                    const char *request_id);

/* Deletes tokens long expired or revoked; returns how many, or -1. */
long gw_auth_cleanup (gw_auth_t *self);

/* The GW_ROLE_* bit of a role name; 0 for anything else. */
unsigned gw_role_bit (const char *role);

/* Pure checks (unit-tested). */
/* The secret of "Bearer <secret>" (scheme case-insensitive), or NULL when
 * the header is not that or the secret has characters a token never has. */
const char *gw_auth_bearer (const char *authorization, size_t *len);
bool gw_auth_username_valid (const char *username);
/* Counts UTF-8 characters (the string is valid UTF-8). */
size_t gw_auth_utf8_chars (const char *s);

/* Local handlers of the route table. */
void gw_auth_login (gw_t *gw, gw_ctx_t *ctx);
void gw_auth_logout (gw_t *gw, gw_ctx_t *ctx);
void gw_auth_me (gw_t *gw, gw_ctx_t *ctx);
void gw_users_create (gw_t *gw, gw_ctx_t *ctx);
void gw_users_list (gw_t *gw, gw_ctx_t *ctx);
void gw_staff_list (gw_t *gw, gw_ctx_t *ctx);
void gw_keys_create (gw_t *gw, gw_ctx_t *ctx);
void gw_keys_list (gw_t *gw, gw_ctx_t *ctx);
void gw_keys_revoke (gw_t *gw, gw_ctx_t *ctx);

#endif
