/* tenants: the archive of properties and units (later parties, occupancies,
 * parking). One worker process: one libuv loop, one broker link, one
 * PostgreSQL connection to schema "tenants". */
#ifndef TN_TENANTS_H
#define TN_TENANTS_H

#include "db.h"
#include "envelope.h"
#include "jv.h"
#include "outbox.h"

/* What every handler gets as its app pointer. */
typedef struct {
    db_t *db;
    outbox_t *outbox;
} tenants_t;

/* property_handlers.c */
void tn_properties_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_properties_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_properties_get (void *app, const env_request_t *req, env_reply_t *rep);

/* unit_handlers.c */
void tn_units_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_units_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_units_get (void *app, const env_request_t *req, env_reply_t *rep);
void tn_units_update (void *app, const env_request_t *req, env_reply_t *rep);

/* property_handlers.c: service-to-service */
void tn_events_read (void *app, const env_request_t *req, env_reply_t *rep);
void tn_ping (void *app, const env_request_t *req, env_reply_t *rep);

/* The path's {pid} when the caller may see it, else NULL (answer 404: a
 * property of someone else does not exist for them). */
const char *tn_visible_property (const env_request_t *req);

/* ?limit= and ?cursor= into limit and after[cap] (the decoded key, "" for
 * the first page); false after adding problems to v. */
bool tn_page_params (jv_t *v, const env_request_t *req, int *limit, char *after, size_t cap);

/* {"items":[units],"next_cursor"} from a result fetched with limit + 1 rows. */
cJSON *tn_unit_page (const PGresult *res, int limit);

/* A details array with one {"field","problem"}. */
cJSON *tn_detail (const char *field, const char *problem);

/* Answers a failed write: rolls back, then 503 when the connection is gone
 * and 500 otherwise. */
void tn_fail (tenants_t *app, const env_request_t *req, env_reply_t *rep, const char *what);

#endif
