/* events: what the consumers of tenants', tickets' and billing's events do
 * with each event, inside the consumer's transaction (common/consumer.h):
 *   1. tenants' events keep the archive copy (units, parties, occupancies);
 *   2. every event goes to the webhooks (webhooks.h: nt_webhooks_enqueue);
 *   3. the routing rules (rules.h) turn it into notifications rows, one per
 *      recipient and channel, with the title and body of the templates
 *      (templates.h) in the recipient's locale; an event delivered twice
 *      writes nothing the second time (the rows' unique key). */
#ifndef NT_EVENTS_H
#define NT_EVENTS_H

#include "notifications.h"

int nt_events_prepare (db_t *db);

/* consumer_apply_fn; app is the nt_app_t. 0, or -1 to roll back and retry. */
int nt_events_apply (void *app, db_t *db, const cJSON *event, const char *request_id);

/* Pure: the ids the console needs to open what a notification is about
 * ({"ticket_id","property_id"}, {"bill_id","unit_id","property_id"}, ...),
 * as a new JSON object. */
cJSON *nt_event_link (const char *type, const char *property_id, const cJSON *data);

/* Pure: the topic of an event type a resident may mute (preferences'
 * "topics"): "tickets" (ticket.*), "bills" (bill.issued, payment.*,
 * deposit.*), "activities" (activity.*); NULL for the others and for
 * bill.overdue (催缴 is sent whatever the topic). */
const char *nt_event_topic (const char *type);

/* Step 3 alone, for an event notifications makes itself (reminders.c's
 * activity.reminder: {"id","type","property_id","data"}), inside the
 * caller's transaction. 0, or -1 on a database error. */
int nt_events_route (nt_app_t *app, db_t *db, const cJSON *event, const char *request_id);

#endif
