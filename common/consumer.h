/* consumer: the reading side of another service's outbox (DESIGN.md, "Events").
 *
 * A consumer follows one producer. It fetches with client_call
 * ("<producer>.events.read") on a timer and whenever the producer's wake-up
 * arrives on the SUB socket at config_events_out_endpoint (), and applies
 * each batch of events in one transaction that also
 *   - records each event id in processed_events (an event delivered twice,
 *     or fetched by two instances at once, has one effect), and
 *   - advances the cursor in consumer_cursors (only forwards).
 * One commit per batch, not per event, is what makes a catch-up fast. When
 * an event of the batch fails, the batch is rolled back and applied again
 * event by event, each in its own transaction, up to the one that fails:
 * the events before it are kept, it and those after it are tried again.
 * State lives in those tables, in the consumer's own schema: add
 * CONSUMER_TABLES_SQL to the service's migrations.
 *
 *   static int s_apply (void *app, db_t *db, const cJSON *event, const char *rid) {
 *       ... INSERT/UPDATE with db_exec; return 0, or -1 to retry later ...
 *   }
 *   consumer_t *c = consumer_new (loop, db, "billing", "tenants", s_apply, app);
 *   ...
 *   consumer_destroy (&c);
 *
 * A wake-up can arrive before the event is readable (the reader waits until
 * every older transaction has finished); the timer then picks it up.
 *
 * Each read reports the consumer's position to the producer: "after" is the
 * committed cursor, and the caller's user_id is service. The producer records
 * both and prunes what every registered consumer has passed (outbox.h,
 * "Pruning"): so service must be the same name on every instance and across
 * restarts, and a consumer retired for good is unregistered at the producer
 * by hand, or the producer keeps its events from that point on.
 *
 * The callback runs inside the transaction: it must not begin, commit or
 * roll back, and may run twice for an event whose batch was rolled back
 * (only the last run's effects are kept). Returning 0 advances past the event
 * whether or not it mattered to this consumer; -1 rolls back and stops the
 * round (the event is tried again on the next round: a permanent failure
 * stalls the consumer, and is logged each time). */
#ifndef PM_CONSUMER_H
#define PM_CONSUMER_H

#include "db.h"
#include <cjson/cJSON.h>
#include <uv.h>

/* SQL a consumer's migration runs to create its bookkeeping tables. */
#define CONSUMER_TABLES_SQL                                                     \
    "CREATE TABLE consumer_cursors (\n"                                         \
    "  producer   text PRIMARY KEY,\n"                                          \
    "  cursor     text NOT NULL DEFAULT '0:0',\n"                               \
    "  updated_at timestamptz NOT NULL DEFAULT now()\n"                         \
    ");\n"                                                                      \
    "CREATE TABLE processed_events (\n"                                         \
    "  event_id     uuid PRIMARY KEY,\n"                                        \
    "  producer     text NOT NULL,\n"                                           \
    "  type         text NOT NULL,\n"                                           \
    "  processed_at timestamptz NOT NULL DEFAULT now()\n"                       \
    ");\n"

#define CONSUMER_POLL_MS   1000      /* the timer, for wake-ups that got lost
                                        (PM_CONSUMER_POLL_MS overrides it) */
#define CONSUMER_BATCH     100       /* events per events.read call */
#define CONSUMER_ROUND_MAX 2         /* batches per round before yielding to the loop
                                        (keeps SIGTERM and requests waiting < ~1 s) */
#define CONSUMER_CALL_MS   1000      /* deadline of one events.read call; the call blocks
                                        the loop, and a service with three consumers
                                        (notifications) may chain three calls in one
                                        pass before it sees SIGTERM: 3 x 1 s stays
                                        inside a 5 s stop grace */

/* event: one envelope {"v","id","type","occurred_at","property_id","producer",
 * "seq","cursor","data"}, borrowed. 0 = done, -1 = roll back and retry later. */
typedef int (consumer_apply_fn) (void *app, db_t *db, const cJSON *event, const char *request_id);

typedef struct consumer consumer_t;

/* service: this consumer's own name (the caller user_id in its requests);
 * producer: whose events. Registers the cursor row and statements on db;
 * when loop is non-NULL, starts the timer and subscribes to wake-ups.
 * NULL on failure. */
consumer_t *consumer_new (uv_loop_t *loop, db_t *db, const char *service, const char *producer,
                          consumer_apply_fn *apply, void *app);
void consumer_destroy (consumer_t **self_p);

/* One round now: fetch and apply until caught up (or CONSUMER_ROUND_MAX
 * batches). Returns the number of events applied, or -1 when a fetch or an
 * apply failed. The timer and wake-ups call this; tests may too. */
int consumer_poll (consumer_t *self);

/* Applies a batch already fetched (an events.read reply body's "events"),
 * in order: in one transaction, or event by event up to the first failure
 * when one fails. Returns how many events went through (including those
 * already processed), or -1 if the first failed. */
int consumer_apply_batch (consumer_t *self, const cJSON *events);

/* The stored cursor ("xid:seq", "0:0" at the start) into out; 0 or -1. */
int consumer_cursor (consumer_t *self, char out[64]);

/* Pure: compares two cursors "xid:seq" numerically (-1, 0, 1); a malformed
 * cursor counts as the beginning. */
int consumer_cursor_cmp (const char *a, const char *b);

/* A copy's write, from inside an apply callback: runs the prepared statement
 * st with $1 property_id, $2 obj as JSON text and $3 extra (passed only when
 * not NULL). 0, or -1 after logging st's failure. */
int consumer_copy (db_t *db, const char *st, const char *property_id, const cJSON *obj, const char *extra,
                   const char *rid);

#endif
