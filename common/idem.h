/* idem: a write with an Idempotency-Key runs once in its service
 * (DESIGN.md, "Idempotency").
 *
 * The gateway claims a POST's key in its own database (gw_idem.h) and passes
 * it on in the request's envelope with the request's fingerprint (the SHA-256
 * of its route and body). That claim cannot know whether a service committed
 * a write whose answer was then lost (the service's database or the broker
 * died in between): only the service can. So its worker runs a keyed request
 * inside one transaction of the service's own database (db_request_begin)
 * that first claims the key in the table idempotency of the service's schema
 * (each service's migration makes it, the same text), then runs the handler, then
 * stores the answer: the write and its answer commit together, or neither.
 *   - a repeat after that commit finds the row: its stored answer, the
 *     handler not run again (409 idempotency_mismatch for another fingerprint);
 *   - a repeat while the first still runs (the gateway gave the first up as
 *     "outcome unknown") waits on the first's row, then answers the same;
 *   - an answer 5xx rolls everything back: nothing was written, and a retry
 *     runs afresh; so does a COMMIT whose connection dropped (503), except
 *     that the retry finds the row when that COMMIT did land.
 * Rows are kept IDEM_KEEP_HOURS, as the gateway keeps its records (idem_cleanup,
 * from the worker's timer). The key is scoped by the caller's user_id. */
#ifndef PM_IDEM_H
#define PM_IDEM_H

#include "db.h"
#include "envelope.h"

#define IDEM_KEEP_HOURS 24

/* Prepares the statements on db. 0 or -1. */
int idem_prepare (db_t *db);

/* Answers req (which has idem_key) in rep as above: the stored answer, or
 * handler (app, req, rep) run once in the request's transaction. Returns
 * the reply it stored, as env_reply_build (reply_id, rep) prints it, for the
 * caller to send (caller frees); NULL when it stored none (the caller builds
 * the reply itself). */
char *idem_serve (db_t *db, const env_request_t *req, const char *reply_id,
                  void (*handler) (void *app, const env_request_t *req, env_reply_t *rep),
                  void *app, env_reply_t *rep);

/* Deletes the records older than IDEM_KEEP_HOURS; how many, or -1. */
long idem_cleanup (db_t *db);

#endif
