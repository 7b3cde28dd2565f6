/* me_tickets: a resident's own tickets (issue K, API.md "Residents"):
 * /v1/me/tickets and below, methods tickets.me.tickets.*. A resident
 * reaches a ticket, or opens one, only on a unit one of their parties
 * occupies NOW in tickets' own copy of the occupancies (tenants_copy.h:
 * tenant_occupancies, end_date NULL), checked at every request by one
 * statement (tk_me_unit_scope); anything else is 404, never 403. What they
 * see is the public view: no internal comments, no staff ids, no SLA terms,
 * phone numbers in staff notes masked (tk_me_ticket_public).
 *
 * The paths are the desk's (tickets.h: tk_ticket_create_in,
 * tk_action_apply, tk_feedback_record; attachments.h, whose handlers serve
 * both routes): tk_load finds a resident's ticket through tk_me_load. */
#ifndef TK_ME_TICKETS_H
#define TK_ME_TICKETS_H

#include "tickets.h"

#include <libpq-fe.h>

/* The types a resident opens (API.md). */
extern const char *const tk_me_types[];

int tk_me_prepare (db_t *db);

/* The scope of a resident (caller's party_ids) on a unit (unit_id) or on a
 * ticket's unit (ticket_id; give one of the two): 1 with the unit's
 * property into pid[37], the unit into uid[37], the party to act as into
 * party[37] (an owner or tenant first) and, when one of them is the owner
 * or tenant of record, that party into record[37] (else ""); 0 when the
 * unit is not theirs now (or no such ticket); -1 after answering the
 * database's error. */
int tk_me_unit_scope (db_t *db, const env_request_t *req, env_reply_t *rep, const char *unit_id,
                      const char *ticket_id, char pid[37], char uid[37], char party[37],
                      char record[37]);

/* tk_load's resident branch: the path's {tid} when its unit is the
 * caller's now (one row of TK_C_* columns, *pid pointing into it), or NULL
 * after answering 404 (or the database's error). */
PGresult *tk_me_load (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char **pid,
                      const char *now, bool for_update);

/* Pure: the public view of a ticket as tk_ticket_full builds it (with its
 * "timeline" and "feedback"), in place: the staff's fields dropped (assignee,
 * escalation, SLA terms, creator, category, FAQ), internal entries dropped,
 * a staff actor shown by role only, phone numbers in notes masked. */
void tk_me_ticket_public (cJSON *ticket);

/* Pure: every run of 7 or more digits in text (a phone number) masked in
 * place but for its last 4 digits ("13800138000" -> "*******8000"). */
void tk_me_mask_phones (char *text);

/* The handlers (role resident only; everything else 404 as above). */
void tk_me_tickets_create (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_tickets_list (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_tickets_get (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_feedback_create (void *app, const env_request_t *req, env_reply_t *rep);
/* tk_me_attachments_*: attachments.h */
/* an item release waiting for approval ("new"): approve as the unit's owner
 * or tenant of record (403 for a resident of record only), or refuse; any
 * other status or type: 409 invalid_transition */
void tk_me_approve (void *app, const env_request_t *req, env_reply_t *rep);
void tk_me_refuse (void *app, const env_request_t *req, env_reply_t *rep);

#endif
