/* gw_idem: Idempotency-Key on POST (API.md, Conventions).
 *
 * A record per (caller, key): the route ("POST /v1/properties"), the SHA-256
 * of the body, and, once answered, the status and body of the answer.
 *   - first use: the record is claimed (status NULL = in progress), the
 *     request goes on, and its final answer is stored (a 5xx is not final:
 *     the claim is released so the client can retry);
 *   - same key, same route and body, within 24 h: the stored answer again,
 *     and no second call to the service;
 *   - same key, another route or body: 409 idempotency_mismatch;
 *   - same key while the first is still in flight: 409 conflict.
 * A claim left behind by a gateway that died mid-request is taken over once
 * it is older than the request timeout plus a margin. */
#ifndef GW_IDEM_H
#define GW_IDEM_H

#include "db.h"

#include <stdbool.h>
#include <stddef.h>

#define GW_IDEM_KEY_MAX  255
#define GW_IDEM_HASH_HEX 65          /* 64 hex characters and the NUL */

typedef enum {
    GW_IDEM_CLAIMED = 0,             /* go on; call gw_idem_finish with the answer */
    GW_IDEM_REPLAY,                  /* answer with the stored status and body */
    GW_IDEM_MISMATCH,
    GW_IDEM_IN_PROGRESS,
    GW_IDEM_ERROR                    /* the database did not answer */
} gw_idem_result_t;

/* 1..255 visible ASCII characters. */
bool gw_idem_key_valid (const char *key);

/* SHA-256 of the raw body, as hex. */
void gw_idem_hash (const char *body, size_t len, char out[GW_IDEM_HASH_HEX]);

/* What a stored record means for a new request; pure. */
gw_idem_result_t gw_idem_decide (const char *stored_route, const char *stored_hash, bool answered,
                                 const char *route, const char *hash);

int gw_idem_prepare (db_t *db);

/* Claims the key or says why not; on GW_IDEM_REPLAY, *status and *response
 * (caller frees; NULL for an answer without body) are the stored answer. */
gw_idem_result_t gw_idem_begin (db_t *db, const char *key, const char *caller_id, const char *route,
                                const char *hash, int abandon_after_s, int *status, char **response,
                                const char *request_id);

/* Stores the final answer of a claimed key (status < 500) or releases the
 * claim (5xx). response may be NULL. */
void gw_idem_finish (db_t *db, const char *key, const char *caller_id, int status,
                     const char *response, const char *request_id);

/* Deletes records older than 24 h; returns how many, or -1. */
long gw_idem_cleanup (db_t *db);

#endif
