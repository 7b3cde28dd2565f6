/* gw_resident: residents sign in with their phone and a one-time code sent
 * by SMS (issue K; API.md, "Residents (issue K)"; DESIGN.md, "Residents'
 * scope" and "Codes by SMS").
 *
 * - POST /v1/resident/auth/code {"phone"}: 202 whatever the phone. The
 *   request is counted per phone and per client address (migration 004's
 *   resident_send_reserve: 429 with Retry-After past the limits), then the
 *   gateway asks tenants (GW_RESIDENT_LOOKUP_METHOD) which parties with that
 *   phone occupy a unit now. Only when there are any: a 6-digit code
 *   (libsodium's randombytes_uniform) is kept as a keyed BLAKE2b with a random
 *   salt (gateway.resident_codes: 10 minutes, single use, voided by the 5th
 *   wrong try) and sent by notifications (GW_RESIDENT_SMS_METHOD). Known and
 *   unknown phones make the same tenants round trip before the same answer;
 *   the SMS is not waited for.
 * - POST /v1/resident/auth/login {"phone","code"}: the attempt is reserved
 *   against the login limits (login_reserve as "phone:<phone>" from
 *   "resident:<address>": PM_LOGIN_*), the phone's parties and current units
 *   asked of tenants again, then the code checked and consumed; 200 with a
 *   token of role "resident" (gateway.resident_tokens: the parties, never the
 *   units) or 401.
 * - The token's caller (gw_auth.c's lookup): role "resident", user_id the
 *   first party, party_ids (gw_caller_t.party_ids, the envelope's
 *   caller.party_ids), property_ids the units' properties at sign-in (a
 *   hint: env_caller_has_property is false for a resident).
 * - State is made on first use (statements prepared then: db.h prepares them
 *   again after a reconnect): the gateway's main.c knows nothing of it. */
#ifndef GW_RESIDENT_H
#define GW_RESIDENT_H

#include "gw.h"
#include "pii.h"

#include <stdbool.h>
#include <stdint.h>

#define GW_RESIDENT_CODE_DIGITS      6
#define GW_RESIDENT_CODE_TTL_S       600        /* PM_RESIDENT_CODE_TTL_S */
#define GW_RESIDENT_CODE_TRIES       5          /* the 5th wrong try voids the code */
#define GW_RESIDENT_SALT_BYTES       32
#define GW_RESIDENT_HASH_BYTES       32
#define GW_RESIDENT_TOKEN_TTL_S      (30 * 86400)   /* PM_RESIDENT_TOKEN_TTL_S */
#define GW_RESIDENT_SEND_PHONE_MAX   5          /* PM_RESIDENT_CODE_PHONE_MAX codes per phone ... */
#define GW_RESIDENT_SEND_PHONE_WINDOW_S 3600    /* ... per PM_RESIDENT_CODE_PHONE_WINDOW_S */
#define GW_RESIDENT_SEND_ADDR_MAX    30         /* PM_RESIDENT_CODE_ADDR_MAX codes per address ... */
#define GW_RESIDENT_SEND_ADDR_WINDOW_S 3600     /* ... per PM_RESIDENT_CODE_ADDR_WINDOW_S */
#define GW_RESIDENT_UNITS_MAX        200        /* units a sign-in answers */
#define GW_RESIDENT_LOOKUP_METHOD    "tenants.residents.lookup"
#define GW_RESIDENT_SMS_METHOD       "notifications.sms.send"

/* Route handlers (gw_api.c's table; both public, no token). */
void gw_resident_code (gw_t *gw, gw_ctx_t *ctx);
void gw_resident_login (gw_t *gw, gw_ctx_t *ctx);

/* --- pure pieces (tests/unit/test_gw_resident.c) ----------------------------- */

/* A phone as a resident types it -> the stored form of tenants' parties
 * (pii_phone_normalize), if it can take an SMS: a mainland mobile or an
 * international number, not a landline. */
bool gw_resident_phone (const char *in, char out[PII_PHONE_MAX + 1]);

/* True for exactly GW_RESIDENT_CODE_DIGITS ASCII digits. */
bool gw_resident_code_valid (const char *code);

/* A new code: GW_RESIDENT_CODE_DIGITS random digits (uniform), NUL-ended. */
void gw_resident_code_new (char out[GW_RESIDENT_CODE_DIGITS + 1]);

/* The stored form of a code: BLAKE2b-256 of the code keyed with salt. 0 or -1. */
int gw_resident_code_hash (const char *code, const unsigned char salt[GW_RESIDENT_SALT_BYTES],
                           unsigned char out[GW_RESIDENT_HASH_BYTES]);

/* Whether code is the one stored as hash with salt (constant time). */
bool gw_resident_code_matches (const char *code, const unsigned char salt[GW_RESIDENT_SALT_BYTES],
                               const unsigned char hash[GW_RESIDENT_HASH_BYTES]);

/* What a login try does to the stored code. */
typedef enum {
    GW_CODE_NONE = 0,                /* no live code: 401, nothing stored changes */
    GW_CODE_ACCEPT,                  /* right: consumed (deleted), a token is made */
    GW_CODE_WRONG,                   /* wrong: one more try counted */
    GW_CODE_VOID                     /* wrong for the max-th time, or expired: deleted */
} gw_code_verdict_t;

/* found: a code is stored for the phone; live: not expired; tries: wrong
 * tries so far; matches: the code sent is it. */
gw_code_verdict_t gw_resident_code_verdict (bool found, bool live, int tries, bool matches, int max_tries);

/* The SMS text carrying code (zh-CN, then English), into out. */
void gw_resident_sms_text (const char *code, int ttl_s, char *out, size_t cap);

#endif
