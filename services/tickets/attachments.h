/* attachments: a ticket's files (photos, scans: 附件), the bytes stored in
 * the tickets schema. The file comes and goes as the bus's binary frame
 * (mdp.h), never inside the JSON; its type is checked from its first bytes
 * (filetype.h). Who may: as the ticket itself (tk_load: staff, a technician
 * on the tickets assigned to them, a resident of its unit). */
#ifndef TK_ATTACHMENTS_H
#define TK_ATTACHMENTS_H

#include "tickets.h"

int tk_attachments_prepare (db_t *db);

/* tickets.attachments.create: 201 {"id","ticket_id","content_type","filename","size","sha256",
 * "uploaded_by","created_at"} */
void tk_attachments_create (void *app, const env_request_t *req, env_reply_t *rep);
/* tickets.attachments.list: the ticket's files, newest first (a page) */
void tk_attachments_list (void *app, const env_request_t *req, env_reply_t *rep);
/* tickets.attachments.get: the file itself (a blob reply) */
void tk_attachments_get (void *app, const env_request_t *req, env_reply_t *rep);

/* The same after the caller's role is checked, for a resident's routes
 * (me_tickets.h): the ticket is found by tk_load, which scopes a resident
 * to the units they occupy now. */
void tk_attachments_create_in (tickets_t *app, const env_request_t *req, env_reply_t *rep);
void tk_attachments_list_in (tickets_t *app, const env_request_t *req, env_reply_t *rep);
void tk_attachments_get_in (tickets_t *app, const env_request_t *req, env_reply_t *rep);

#endif
