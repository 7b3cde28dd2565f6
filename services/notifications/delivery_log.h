/* delivery_log: the delivery log of a property (notifications.log.list):
 * every notification row (inbox, SMS, email) newest first, with its status,
 * attempts and last error, filtered by status, channel, event type and time,
 * and a summary of the filtered rows by channel and status. Contacts are
 * never shown whole: a party is named, its address masked (138****5678,
 * z***@example.com).
 */
#ifndef NT_DELIVERY_LOG_H
#define NT_DELIVERY_LOG_H

#include "notifications.h"

/* True for an RFC 3339 timestamp (2026-11-27T03:14:00Z, fractions and
 * offsets allowed) or a date (2026-11-27); pure. */
bool nt_is_timestamp (const char *s);

int nt_log_prepare (db_t *db);
void nt_log_list (void *app, const env_request_t *req, env_reply_t *rep);

#endif
