/* delivery_log: the delivery log of a property (notifications.log.list):
 * every notification row (inbox, SMS, email) newest first, with its status,
 * attempts and last error, filtered by status, channel, event type and time,
 * and a summary of the filtered rows by channel and status. Contacts are
 * never shown whole: a party is named, its address masked (138****5678,
 * z***@example.com).
 *
 * Also the keyset every list of this service's modules shares on top of
 * common/page.h: newest first by created_at then id. */
#ifndef NT_DELIVERY_LOG_H
#define NT_DELIVERY_LOG_H

#include "notifications.h"

/* a cursor's key is "<created_at, microseconds, UTC>~<id>":
 * "2026-11-27T03:14:00.123456Z~<uuid>" */
#define NT_CURSOR_TS_LEN 27
#define NT_CURSOR_LEN    (NT_CURSOR_TS_LEN + 1 + 36)


typedef struct {
    int limit;                       /* page size */
    char limit_plus_one[16];         /* the statement's LIMIT: one more tells if a next page exists */
    char ts[NT_CURSOR_TS_LEN + 1];   /* "" without a cursor */
    char id[37];
} nt_page_t;

/* Reads ?limit= and ?cursor= into page (page_params, then the key's two
 * parts), adding problems to v. */
void nt_page_parse (const env_request_t *req, jv_t *v, nt_page_t *page);

/* The cursor's timestamp and id as statement parameters (NULL without one). */
const char *nt_page_ts (const nt_page_t *page);
const char *nt_page_id (const nt_page_t *page);

/* Replies 200 {"items","next_cursor"} from res: column 0 the item's JSON,
 * columns ts_col and ts_col + 1 the row's cursor timestamp text and id.
 * extra (consumed, may be NULL) is merged into the body. Clears res. */
void nt_page_reply (PGresult *res, const nt_page_t *page, int ts_col, cJSON *extra,
                    env_reply_t *rep, const env_request_t *req);

/* A query value, NULL when absent or empty. */
const char *nt_param (const env_request_t *req, const char *name);

/* True for an RFC 3339 timestamp (2026-11-27T03:14:00Z, fractions and
 * offsets allowed) or a date (2026-11-27); pure. */
bool nt_is_timestamp (const char *s);

int nt_log_prepare (db_t *db);
void nt_log_list (void *app, const env_request_t *req, env_reply_t *rep);

#endif
