/* tenants_copy: tickets' own copy of what it needs from tenants (DESIGN.md,
 * "Processes"): the properties' timezones, the units' codes, the parties'
 * kinds and names, and the occupancies, in schema tickets (migrations/006),
 * fed by tenants' events through common/consumer.h.
 *
 * The copy may lag by a moment (a consumer round, CONSUMER_POLL_MS at most
 * after a lost wake-up). So the look-ups below, which handlers call BEFORE
 * they take any transaction or row lock, ask tenants when the copy does not
 * know an id yet (tenants.unit.get, tenants.party.get,
 * tenants.properties.get) and put the answer into the copy: a unit created a
 * second ago is accepted, and nothing tenants has is answered 422. Only when
 * the copy does not know the id AND tenants does not answer is the answer a
 * 503. Inside a transaction, tickets reads the copy alone: no service waits
 * on the broker while it holds a row lock. */
#ifndef TK_TENANTS_COPY_H
#define TK_TENANTS_COPY_H

#include "tickets.h"


int tk_copy_prepare (db_t *db);

/* consumer_apply_fn: upserts the event's rows (property.created, unit.*,
 * party.*, occupancy.*) into the copy, inside the consumer's transaction;
 * other events are passed over (0). */
int tk_copy_apply (void *app, db_t *db, const cJSON *event, const char *request_id);

/* Outside any transaction. The unit of this property: 1 with its code in
 * code[TK_UNIT_CODE_MAX + 1], 0 when neither the copy nor tenants has it,
 * -1 after answering (503: unknown here and tenants did not answer; or the
 * database's error). */
int tk_copy_unit (db_t *db, const env_request_t *req, const char *pid, const char *uid,
                  char code[TK_UNIT_CODE_MAX + 1], env_reply_t *rep);

/* Outside any transaction. The party (业户) of this property: 1, 0, or -1
 * after answering, as tk_copy_unit. */
int tk_copy_party (db_t *db, const env_request_t *req, const char *pid, const char *party_id,
                   env_reply_t *rep);

/* Outside any transaction. Whether party_id is the owner or tenant of record
 * (a current occupancy) of the unit: 1 or 0; -1 after answering. A "no" from
 * the copy is checked with tenants (tenants.unit.get), whose occupants then
 * refresh the copy: a move-in recorded a second ago counts. */
int tk_copy_of_record (db_t *db, const env_request_t *req, const char *pid, const char *uid,
                       const char *party_id, env_reply_t *rep);

/* Outside any transaction. The property's timezone into tz[64] (the year of
 * ticket numbers, the days of reports); 0, or -1 after answering (404 when
 * tenants has no such property, 503, or the database's error). */
int tk_copy_timezone (db_t *db, const env_request_t *req, const char *pid, char tz[64],
                      env_reply_t *rep);

#endif
