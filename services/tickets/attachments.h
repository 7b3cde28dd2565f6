/* attachments: a ticket's files (photos, scans: 附件), the bytes stored in
 * the tickets schema. The file comes and goes as the bus's binary frame
 * (mdp.h), never inside the JSON; its type is checked from its first bytes
 * (filetype.h). Who may: as the ticket itself (tk_load: staff, a technician
 * on the tickets assigned to them, a resident of its unit). */
#ifndef TK_ATTACHMENTS_H
#define TK_ATTACHMENTS_H

#include "tickets.h"

int tk_attachments_prepare (db_t *db);

/* The handlers of the staff's routes (/v1/properties/{pid}/tickets/{tid}/
 * attachments: tickets.attachments.*) and of a resident's (/v1/me/tickets/
 * {tid}/attachments: tickets.me.tickets.attachments.*, me_tickets.h): one
 * path behind both, after the route's gate (the route's property for the
 * staff, the role for a resident). tk_load then finds the ticket, which
 * scopes a resident to the units they occupy now. */

/* create: 201 {"id","ticket_id","content_type","filename","size","sha256",
 * "uploaded_by","created_at"} */
void tk_attachments_create (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_attachments_create (void *app, const env_request_t *req, env_reply_t *rep);
/* list: the ticket's files, newest first (a page) */
void tk_attachments_list (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_attachments_list (void *app, const env_request_t *req, env_reply_t *rep);
/* get: the file itself (a blob reply) */
void tk_attachments_get (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_attachments_get (void *app, const env_request_t *req, env_reply_t *rep);

#endif
