/* notifications: events to people and to external systems. One
 * worker process: one libuv loop, one broker link, one PostgreSQL connection
 * to schema "notifications", a consumer per producer (tenants, tickets,
 * billing), and a sender that delivers queued SMS, email and webhook
 * deliveries with libcurl on the same loop.
 *
 * Modules:
 *   events.c         the consumers' apply: the archive copy, then rules ->
 *                    notifications rows (rules.h) and webhook deliveries
 *                    (webhooks.h), all in the consumer's transaction
 *   rules.c          routing rules (defaults + a property's overrides), API
 *   templates.c      {{placeholder}} templates per type and locale, API
 *   inbox.c          GET /v1/notifications, unread count, read marks
 *   announcements.c  fan-out to a property's occupants, set-based
 *   preferences.c    residents' channels and opt-out
 *   delivery_log.c   the delivery log of a property (nt_log_*)
 *   webhooks.c       subscriptions, deliveries, HMAC signatures
 *   sender.c         curl multi on libuv: leases due rows, sends, records
 *   channels.c       the adapter of each channel (sms, email, webhook)
 *   netguard.c       refuses loopback/private addresses unless allowed
 *   input_rules.c    the request bodies of announcements, preferences and
 *                    webhooks, checked pure (fuzzed, unit-tested) */
#ifndef NT_NOTIFICATIONS_H
#define NT_NOTIFICATIONS_H

#include "consumer.h"
#include "db.h"
#include "envelope.h"
#include "jv.h"
#include "page.h"

struct nt_sender;

/* What every handler gets as its app pointer. */
typedef struct {
    db_t *db;
    consumer_t *tenants_events;
    consumer_t *tickets_events;
    consumer_t *billing_events;
    struct nt_sender *sender;        /* sender.h */
} nt_app_t;

#endif
