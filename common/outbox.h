/* outbox: events, at least once and never skipped (DESIGN.md, "Events").
 *
 * A producer writes its change and its event in one transaction:
 *
 *   db_begin (db);  ... INSERT the unit ...
 *   outbox_add (ob, "unit.created", property_id, data);   // same transaction
 *   db_commit (db);
 *   outbox_wake (ob);                                      // after commit
 *
 * Each event row carries the inserting transaction's xid
 * (pg_current_xact_id()) and a seq from a sequence. A reader sees only rows
 * whose xid is below pg_snapshot_xmin(pg_current_snapshot()): every
 * transaction that could still commit a smaller position is then finished,
 * so an event that commits late is never skipped. Rows are ordered by
 * (xid, seq) and the cursor is that pair, written "xid:seq".
 * (We chose the xid method over a single-row counter under lock because it
 * does not serialise writers.)
 *
 * The producer's schema needs the table of OUTBOX_TABLE_SQL (its own
 * migration carries that text verbatim). Readers call "<service>.events.read"
 * {"after":"xid:seq"|null,"limit":n} -> {"events":[...],"next":"xid:seq"}:
 * role "service" (or "admin") only, limit 1..OUTBOX_READ_MAX (default
 * OUTBOX_READ_DEFAULT); each event is the envelope of proto/event.schema.json
 * plus its own "cursor"; "next" is the last event's cursor, or the request's
 * ("0:0" from the start) when there is nothing new. common/consumer.h is the
 * other side.
 *
 * After commit a producer publishes its service name on a PUB socket connected
 * to config_events_in_endpoint (); consumers subscribe at
 * config_events_out_endpoint () and poll at once instead of waiting.
 *
 * Pruning (data minimisation): a consumer keeps its cursor in its own
 * schema, so the producer learns each consumer's position from its reads:
 * an events.read by role "service" records (user_id = the consumer's service
 * name, "after", now) in the producer's outbox_consumers (OUTBOX_CONSUMERS_SQL,
 * created by outbox_new); the first read registers the consumer. An event row
 * is deleted once every registered consumer has read past it and it is older
 * than PM_OUTBOX_RETENTION_DAYS (default 30). A registered consumer that stops
 * reading keeps every row after its position: one gone for good is removed by
 * hand (DELETE FROM <producer>.outbox_consumers WHERE consumer = '<name>').
 * No consumer registered: nothing is pruned. The prune runs inside a read, at
 * most every PM_OUTBOX_PRUNE_INTERVAL_S (default 600) and OUTBOX_PRUNE_BATCH
 * rows at a time: consumers read every PM_CONSUMER_POLL_MS, and without reads
 * no position moves, so a timer would add nothing. */
#ifndef PM_OUTBOX_H
#define PM_OUTBOX_H

#include "db.h"
#include "envelope.h"
#include "mdp.h"
#include <uv.h>

/* The set-based way to write events, for a statement that makes many at once
 * (a bill run, an import, the SLA timer) in the same statement as its rows:
 *   "WITH b AS (INSERT INTO bills ... RETURNING ...) "
 *   OUTBOX_INSERT "SELECT 'bill.issued', b.property_id, <json of b> FROM b"
 * (type text, property_id uuid, data jsonb): the only columns a writer sets;
 * every other write goes through outbox_add. */
#define OUTBOX_INSERT "INSERT INTO outbox (type, property_id, data) "
/* The same with the event's id chosen by the statement (uuid), for a
 * statement that must name its events elsewhere (the bill run). */
#define OUTBOX_INSERT_WITH_ID "INSERT INTO outbox (id, type, property_id, data) "

/* SQL a producer's first migration runs to create its outbox table. */
#define OUTBOX_TABLE_SQL                                                        \
    "CREATE TABLE outbox (\n"                                                   \
    "  seq         bigserial PRIMARY KEY,\n"                                    \
    "  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),\n"               \
    "  id          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),\n"           \
    "  type        text NOT NULL,\n"                                            \
    "  property_id uuid,\n"                                                     \
    "  occurred_at timestamptz NOT NULL DEFAULT now(),\n"                      \
    "  data        jsonb NOT NULL\n"                                            \
    ");\n"                                                                      \
    "CREATE INDEX outbox_xid_seq ON outbox (xid, seq);\n"

#define OUTBOX_READ_MAX     1000
#define OUTBOX_READ_DEFAULT 100

/* Each consumer's last reported position (see "Pruning" above). outbox_new
 * runs it (IF NOT EXISTS, under an advisory lock) so that no producer's
 * migrations need to change for it. */
#define OUTBOX_CONSUMERS_SQL                                                    \
    "CREATE TABLE IF NOT EXISTS outbox_consumers (\n"                           \
    "  consumer      text PRIMARY KEY,\n"                                       \
    "  xid           xid8 NOT NULL,\n"                                          \
    "  seq           bigint NOT NULL,\n"                                        \
    "  read_at       timestamptz NOT NULL DEFAULT now(),\n"                     \
    "  registered_at timestamptz NOT NULL DEFAULT now()\n"                      \
    ");\n"

#define OUTBOX_RETENTION_DAYS_DEFAULT  30
#define OUTBOX_PRUNE_INTERVAL_S_DEFAULT 600
#define OUTBOX_PRUNE_BATCH             5000     /* rows per prune statement */
#define OUTBOX_CONSUMER_NAME_MAX       MDP_SERVICE_MAX   /* a consumer is a service */

typedef struct outbox outbox_t;

/* producer: the service name (written in each event's "producer"). Prepares
 * its statements on db and connects the wake-up PUB. */
outbox_t *outbox_new (db_t *db, const char *producer);
void outbox_destroy (outbox_t **self_p);

/* Inside the caller's transaction. data is borrowed. 0 or -1. */
int outbox_add (outbox_t *self, const char *type, const char *property_id, const cJSON *data);

/* After commit: tells consumers there is something to read (one frame, the
 * producer's name, on a PUB of the process context of zloop.h). */
void outbox_wake (outbox_t *self);

/* Handler body for "<service>.events.read"; add it to the worker's methods
 * through a small wrapper that passes the service's outbox. */
void outbox_read (outbox_t *self, const env_request_t *req, env_reply_t *rep);

/* Deletes what every registered consumer has read and is older than the
 * retention (at most OUTBOX_PRUNE_BATCH rows). Returns the rows deleted, or
 * -1. outbox_read calls it when due; tests may call it. */
int outbox_prune (outbox_t *self);

/* Pure: a consumer name a producer records: a service name (mdp.h). */
bool outbox_consumer_name_ok (const char *name);

/* Pure: parse "xid:seq" (or NULL/"" for the beginning) into two decimal
 * strings; false when malformed. */
bool outbox_cursor_parse (const char *cursor, char xid[24], char seq[24]);

#endif
