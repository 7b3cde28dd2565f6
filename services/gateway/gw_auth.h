/* gw_auth: who is calling, and the endpoints that manage it.
 *
 * - Bearer tokens (login) and API keys (admin-made, "pmk_..." ) both travel
 *   as "Authorization: Bearer <secret>"; only their SHA-256 is stored
 *   (gateway.tokens, gateway.api_keys). Passwords: argon2id
 *   (crypto_pwhash_str, interactive limits), hashed and verified on the
 *   libuv thread pool so the loop never waits for them.
 * - A small cache (token hash -> caller, GW_AUTH_CACHE_TTL_MS) keeps the
 *   database off the hot path. Every change that takes rights away (logout,
 *   a user disabled, their role or properties changed, a password changed,
 *   an API key revoked) is announced by the database's triggers with NOTIFY
 *   on GW_AUTH_CHANNEL (migration 003); every gateway instance LISTENs
 *   (gw_listen.h) and evicts that user's or key's entries, so a revoked
 *   token is refused everywhere within a second. While the listener is not
 *   listening, entries live GW_AUTH_CACHE_TTL_UNLISTENED_MS only, and the
 *   whole cache is forgotten when it stops and when it starts again
 *   (notifications may have been missed).
 * - Logins and password changes reserve an attempt (per username and per
 *   client address, in the database: every instance counts the same) BEFORE
 *   the password is hashed; a success gives it back.
 * - Revoking an API key disables the webhooks made with it: the gateway
 *   asks notifications (GW_AUTH_DISABLE_METHOD) from a table of pending
 *   disables (gateway.webhook_disables) until it is answered, retried by a
 *   timer, so a notifications outage loses nothing.
 * - Endpoints: POST /v1/auth/login, POST /v1/auth/logout, GET /v1/auth/me,
 *   POST /v1/auth/password, POST/GET /v1/users, PATCH /v1/users/{id},
 *   GET /v1/properties/{pid}/staff, POST/GET /v1/api-keys,
 *   DELETE /v1/api-keys/{id}.
 * - Owns the audit (gw_audit.h): made and flushed with this module.
 * - At start: the first admin from PM_ADMIN_USER / PM_ADMIN_PASSWORD, whose
 *   password must pass the policy (gw_auth_password_problem). */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gw.h"
#include "gw_inputs.h"   /* GW_USERNAME_*, GW_PASSWORD_*, the bodies' checks */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GW_AUTH_CACHE_SLOTS   4096   /* a power of two */
#define GW_AUTH_CACHE_TTL_MS  10000
#define GW_AUTH_CACHE_TTL_UNLISTENED_MS 1000   /* while LISTEN is down */
#define GW_AUTH_CHANNEL       "pm_gateway_auth"
#define GW_AUTH_DISABLE_METHOD "notifications.webhooks.disable_for_key"
#define GW_AUTH_DISABLE_TICK_MS 2000   /* pending webhook disables are looked at this often */
#define GW_AUTH_DISABLE_BATCH  20      /* ... and at most this many sent at once */
#define GW_AUTH_ADDR_MAX       64      /* a client address key, with its NUL */
#define GW_AUTH_MAX_JOBS      64     /* password hashes queued at once; more -> 503 */
#define GW_AUTH_UNAVAILABLE   (-2)
#define GW_API_KEY_PREFIX     "pmk_"
#define GW_LOGIN_MAX_FAILURES 10         /* failed logins of one name ... */
#define GW_LOGIN_WINDOW_S     900        /* ... within 15 minutes ... */
#define GW_LOGIN_LOCK_S       300        /* ... refuse it (429) for 5 minutes */
#define GW_LOGIN_ADDR_MAX_FAILURES 20    /* failed logins from one address (any names) ... */
#define GW_LOGIN_ADDR_WINDOW_S 900       /* ... within 15 minutes: 429 until the window ends */
#define GW_STAFF_MAX          500    /* people listed by GET .../staff */

gw_auth_t *gw_auth_new (gw_t *gw);
void gw_auth_destroy (gw_auth_t **self_p);

/* Creates PM_ADMIN_USER (default "admin") as admin when PM_ADMIN_PASSWORD is
 * set and no such user exists. -1 (with a log line saying why) when the
 * password fails the policy, whether the user exists or not: a weak
 * password in the environment is refused, not ignored. Blocking: run
 * before serving. 0 or -1. */
int gw_auth_bootstrap (gw_auth_t *self);

/* Authenticates an Authorization header value: 0 (caller filled), -1 (no or
 * bad credentials: 401), GW_AUTH_UNAVAILABLE (database down: 503). */
int gw_auth_caller (gw_auth_t *self, const char *authorization, gw_caller_t *caller,
                    const char *request_id);

/* Deletes tokens long expired or revoked (and audit rows past their
 * retention); returns how many tokens, or -1. */
long gw_auth_cleanup (gw_auth_t *self);

/* The audit this module owns (gw_audit.h), or NULL. */
struct gw_audit *gw_auth_audit (gw_auth_t *self);

/* The GW_ROLE_* bit of a role name; 0 for anything else. */
unsigned gw_role_bit (const char *role);

/* Pure checks (unit-tested). */
/* The secret of "Bearer <secret>" (scheme case-insensitive), or NULL when
 * the header is not that or the secret has characters a token never has. */
const char *gw_auth_bearer (const char *authorization, size_t *len);
/* gw_auth_username_valid, gw_auth_password_problem, gw_auth_parse_time: gw_inputs.h */
/* The key a client address is counted under: IPv4 as is, IPv6 by its /64
 * (one machine usually has a whole /64), IPv4-mapped IPv6 as IPv4. 0, or -1
 * for another family. */
int gw_auth_addr_key (const struct sockaddr *sa, char out[GW_AUTH_ADDR_MAX]);

/* For other sign-ins (gw_resident.h), the pieces the staff login is made of: */
#define GW_AUTH_TOKEN_MAX      72    /* a new token's text, with its NUL */
#define GW_AUTH_HASH_PARAM_MAX 68    /* "\\x" + 64 hex + NUL: a bytea parameter */
/* The key the client's address is counted under (gw_auth_addr_key), or "unknown". */
void gw_auth_client_addr (gw_ctx_t *ctx, char out[GW_AUTH_ADDR_MAX]);
/* Reserves one attempt of name from addr against the login limits
 * (PM_LOGIN_*, migration 003's login_reserve): 0 to go on, or -1 after
 * answering (429 with Retry-After, or the database's error). */
int gw_auth_reserve_attempt (gw_t *gw, gw_ctx_t *ctx, const char *name, const char *addr);
/* The attempt was right: name's failures forgotten, addr's reservation given back. */
void gw_auth_attempt_succeeded (gw_t *gw, const char *name, const char *addr);
/* A new bearer token (32 random bytes, base64url) and the bytea parameter
 * of its SHA-256, as the token tables store it. */
void gw_auth_new_token (char token[GW_AUTH_TOKEN_MAX], char param[GW_AUTH_HASH_PARAM_MAX]);

/* Local handlers of the route table. */
void gw_auth_login (gw_t *gw, gw_ctx_t *ctx);
void gw_auth_logout (gw_t *gw, gw_ctx_t *ctx);
void gw_auth_me (gw_t *gw, gw_ctx_t *ctx);
void gw_auth_password (gw_t *gw, gw_ctx_t *ctx);
void gw_users_create (gw_t *gw, gw_ctx_t *ctx);
void gw_users_list (gw_t *gw, gw_ctx_t *ctx);
void gw_users_update (gw_t *gw, gw_ctx_t *ctx);
void gw_staff_list (gw_t *gw, gw_ctx_t *ctx);
void gw_keys_create (gw_t *gw, gw_ctx_t *ctx);
void gw_keys_list (gw_t *gw, gw_ctx_t *ctx);
void gw_keys_revoke (gw_t *gw, gw_ctx_t *ctx);

#endif
