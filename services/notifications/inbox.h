/* inbox: a staff member's in-app notifications (GET /v1/notifications):
 * the rows addressed to them (recipient_kind 'user') and to their role in
 * their properties (recipient_kind 'role'; an admin sees the managers' rows
 * of every property), channel 'inbox', newest first, with read marks per
 * user (notification_reads): a role's row read by one manager stays unread
 * for the others. */
#ifndef NT_INBOX_H
#define NT_INBOX_H

#include "notifications.h"


int nt_inbox_prepare (db_t *db);

void nt_inbox_list (void *app, const env_request_t *req, env_reply_t *rep);
void nt_inbox_count (void *app, const env_request_t *req, env_reply_t *rep);
void nt_inbox_read (void *app, const env_request_t *req, env_reply_t *rep);
void nt_inbox_read_all (void *app, const env_request_t *req, env_reply_t *rep);

#endif
