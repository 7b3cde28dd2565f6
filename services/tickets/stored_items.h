/* stored_items: items left at the desk for residents (物件存放): stored with a
 * claim code printed on a slip (shown once, in the 201), released only with
 * that code to a named person, or by a manager without it, with a reason;
 * after DESK_CLAIM_TRIES_MAX wrong codes the item locks for managers to
 * release (desk_rules.h). All its SQL lives in stored_items.c. */
#ifndef TK_STORED_ITEMS_H
#define TK_STORED_ITEMS_H

#include "tickets.h"

/* Registers stored_items.c's statements; 0 or -1. */
int stored_items_prepare (db_t *db);

/* Handlers (app is the tickets service's tickets_t). */
void stored_items_create (void *app, const env_request_t *req, env_reply_t *rep);
void stored_items_list (void *app, const env_request_t *req, env_reply_t *rep);
void stored_items_release (void *app, const env_request_t *req, env_reply_t *rep);

#endif
