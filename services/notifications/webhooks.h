/* webhooks: subscriptions of external systems to events, and their
 * deliveries (API.md, "Notifications and integration"). Each delivery is a
 * row (002_webhooks.sql) holding the exact body that is signed; sender.c
 * sends due rows with retries and backoff.
 *
 * Who sees what: an admin sees and manages every webhook; an integration API
 * key only those it created, and a webhook it creates gets only the events of
 * the key's properties (never party.* events, which carry personal data
 * whole: those are for an admin's webhooks only). */
#ifndef NT_WEBHOOKS_H
#define NT_WEBHOOKS_H

#include "notifications.h"

#define NT_WEBHOOK_SECRET_MIN 16
#define NT_WEBHOOK_SECRET_MAX 256
#define NT_WEBHOOK_EVENTS_MAX 64

/* Prepares the module's statements. 0 or -1. */
int nt_webhooks_prepare (db_t *db);

/* Inside a consumer's transaction: one delivery row per enabled (or paused)
 * subscription whose events and properties match the event; none twice for
 * the same (subscription, event). Returns how many it queued (the caller
 * kicks the sender when any), or -1 (roll back). */
int nt_webhooks_enqueue (db_t *db, const cJSON *event);

/* True for an event type a webhook may subscribe to (proto/events.md, plus
 * bill.overdue, plus "*"). */
bool nt_webhook_event_known (const char *type);

/* notifications.webhooks.* (gateway routes /v1/webhooks...) */
void nt_webhooks_create (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_update (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_delete (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_deliveries (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_redeliver (void *app, const env_request_t *req, env_reply_t *rep);

#endif
