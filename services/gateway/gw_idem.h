/* gw_idem: Idempotency-Key on POST (API.md, Conventions).
 *
 * A record per (caller, key): the route ("POST /v1/properties"), the SHA-256
 * of the body, and, once answered, the status and body of the answer.
 *   - first use: the record is claimed (status NULL = in progress), the
 *     request goes on with the key and its fingerprint (gw_idem_fingerprint),
 *     and its final answer is stored; a 5xx (the service or its database
 *     unavailable, no reply before the deadline, the worker or broker holding
 *     it lost, the gateway's database) releases the claim so the client can
 *     retry at once. Whether a service's write ran is known only to the
 *     service: it claims the same key in the write's own transaction and
 *     answers a retry of a write that did commit with that write's answer
 *     (common/idem.h), so a release never lets a write run twice;
 *   - same key, same route and body, within 24 h: the stored answer again,
 *     and no second call to the service;
 *   - same key, another route or body: 409 idempotency_mismatch;
 *   - same key while the first is still in flight: 409 idempotency_in_progress
 *     (the caller answers it with Retry-After).
 * A claim is one instance of a record, named by its stamp (created_at in
 * microseconds): storing or releasing touches only that instance, so a late
 * one can never undo a newer claim of the same key.
 * When the database cannot store the answer or release the claim (it is
 * restarting), the step waits in a queue (GW_IDEM_PENDING_MAX, _BYTES) and is
 * tried again by gw_idem_flush (a timer, and before every claim), so a failed
 * request's key is free again as soon as the database is back, not after the
 * takeover delay. A claim left behind by a gateway that died mid-request is
 * taken over the same way (the route's timeout plus GW_IDEM_SETTLE_S).
 *
 * Commits: a claim and a store are one statement and one commit each, on the
 * gateway's loop; the store's commit waits for the WAL flush (an answer sent
 * is an answer kept). PM_IDEM_CLAIM_ASYNC=1 lets the claim's commit not wait
 * (one flush per request instead of two): safe only when the gateway's
 * database and every service's are one PostgreSQL cluster (the default
 * layout, one database pm), because then the claim only needs to be durable
 * once something it guards is, and what it guards (the service's commit, the
 * answer's store) commits after it with a WAL flush that covers the claim's
 * record too: a crash that loses the claim loses the request's effects with
 * it, and a retry runs it afresh. A claim is visible to other sessions at its
 * commit either way (409 in progress). Default 0: README lets a service move
 * to its own cluster, where a lost claim would let a retry of a route the
 * gateway serves itself (users, keys) run twice; a service's write is kept
 * once by common/idem.h either way. */
#ifndef GW_IDEM_H
#define GW_IDEM_H

#include "db.h"
#include "envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_IDEM_KEY_MAX      ENV_IDEM_KEY_MAX
#define GW_IDEM_HASH_HEX     65          /* 64 hex characters and the NUL */
#define GW_IDEM_STAMP_MAX    24          /* a claim's stamp, decimal */
#define GW_IDEM_PENDING_MAX  1024        /* steps waiting for the database ... */
#define GW_IDEM_PENDING_BYTES (8 * 1024 * 1024)  /* ... and the answers they keep */
#define GW_IDEM_FLUSH_MS     1000        /* how often they are tried again */
#define GW_IDEM_RETRY_AFTER  "1"         /* seconds: Retry-After of idempotency_in_progress */
#define GW_IDEM_STORE_TTL_S  86400       /* a record's life: an answer not stored by then is dropped */
#define GW_IDEM_SETTLE_S     10          /* after a deadline: a worker that began before it is done */

typedef enum {
    GW_IDEM_CLAIMED = 0,             /* go on; call gw_idem_finish with the answer */
    GW_IDEM_REPLAY,                  /* answer with the stored status and body */
    GW_IDEM_MISMATCH,
    GW_IDEM_IN_PROGRESS,
    GW_IDEM_ERROR                    /* the database did not answer */
} gw_idem_result_t;

typedef struct gw_idem gw_idem_t;

/* SHA-256 of the raw body, as hex. */
void gw_idem_hash (const char *body, size_t len, char out[GW_IDEM_HASH_HEX]);

/* What a stored record means for a new request; pure. */
gw_idem_result_t gw_idem_decide (const char *stored_route, const char *stored_hash, bool answered,
                                 const char *route, const char *hash);

/* What becomes of a claim once its request is answered; pure: a 5xx
 * (service unavailable, timeout, the gateway's database) was no answer, the
 * key is released for a retry; anything else is stored for replays. */
bool gw_idem_releases (int status);

/* The request's fingerprint for its service (common/idem.h): the SHA-256,
 * as hex, of its route and its body's hash (gw_idem_hash). Pure. */
void gw_idem_fingerprint (const char *route, const char *hash, char out[GW_IDEM_HASH_HEX]);

/* Prepares the statements on db (borrowed). NULL on failure. */
gw_idem_t *gw_idem_new (db_t *db);
void gw_idem_destroy (gw_idem_t **self_p);

/* Claims the key or says why not; on GW_IDEM_CLAIMED, stamp names the
 * claim (for gw_idem_finish); on GW_IDEM_REPLAY, *status and *response
 * (caller frees; NULL for an answer without body) are the stored answer.
 * Steps waiting for the database are tried first. */
gw_idem_result_t gw_idem_begin (gw_idem_t *self, const char *key, const char *caller_id,
                                const char *route, const char *hash, int abandon_after_s,
                                char stamp[GW_IDEM_STAMP_MAX], int *status, char **response,
                                const char *request_id);

/* Stores the final answer of a claim or releases it (gw_idem_releases).
 * response may be NULL. When the database fails, the step is queued (a
 * release until the claim could be taken over anyway, abandon_after_s; a
 * store up to GW_IDEM_STORE_TTL_S) for gw_idem_flush. */
void gw_idem_finish (gw_idem_t *self, const char *key, const char *caller_id,
                     const char stamp[GW_IDEM_STAMP_MAX], int status, const char *response,
                     int abandon_after_s, const char *request_id);

/* Tries the queued steps again, oldest first, until one fails on the
 * database; drops those past their time. Returns how many are left. */
size_t gw_idem_flush (gw_idem_t *self);
size_t gw_idem_pending (const gw_idem_t *self);

/* Deletes records older than 24 h; returns how many, or -1. */
long gw_idem_cleanup (gw_idem_t *self);

#endif
