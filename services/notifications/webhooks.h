/* webhooks: subscriptions of external systems to events, and their
 * deliveries (API.md, "Notifications and integration"). Each delivery is a
 * row (002_webhooks.sql) holding the exact body that is signed; sender.c
 * sends due rows with retries and backoff.
 *
 * Who sees what: an admin sees and manages every webhook; an integration API
 * key only those it created (owner_id: the caller's user_id, which for an API
 * key is the key's id, so revoking the key disables them: disable_for_key),
 * and a webhook it creates gets only the events of the key's properties
 * (never party.* events, which carry residents' contacts: those are for an
 * admin's webhooks only). */
#ifndef NT_WEBHOOKS_H
#define NT_WEBHOOKS_H

#include "notifications.h"
#include "input_rules.h"        /* NT_WEBHOOK_*, nt_webhook_*_input, nt_webhook_event_known */

/* A secret the client gives must be as long as the one the server makes:
 * NT_WEBHOOK_SECRET_BYTES random bytes, NT_WEBHOOK_SECRET_HEX hex digits. */
#define NT_WEBHOOK_SECRET_BYTES 32
#define NT_WEBHOOK_SECRET_HEX   (2 * NT_WEBHOOK_SECRET_BYTES)

/* Prepares the module's statements. 0 or -1. */
int nt_webhooks_prepare (db_t *db);

/* Inside a consumer's transaction: one delivery row per enabled (or paused)
 * subscription whose events and properties match the event; none twice for
 * the same (subscription, event). Returns how many it queued (the caller
 * kicks the sender when any), or -1 (roll back). */
int nt_webhooks_enqueue (db_t *db, const cJSON *event);


/* notifications.webhooks.* (gateway routes /v1/webhooks...) */
void nt_webhooks_create (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_update (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_delete (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_deliveries (void *app, const env_request_t *req, env_reply_t *rep);
void nt_webhooks_redeliver (void *app, const env_request_t *req, env_reply_t *rep);

/* notifications.webhooks.disable_for_key: the gateway (role "service",
 * user_id "gateway") after revoking an API key, params {"key_id"}: every
 * webhook that key created is disabled for good and its waiting deliveries
 * fail; idempotent. -> {"disabled": webhooks disabled by this call}. */
void nt_webhooks_disable_for_key (void *app, const env_request_t *req, env_reply_t *rep);

#endif
