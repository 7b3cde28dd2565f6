/* release_pass: tickets.pass.get, the printable item release pass (放行条)
 * of an approved item_release ticket:
 * GET /v1/properties/{pid}/tickets/{tid}/pass answers
 * {"content_type":"text/html; charset=utf-8","filename","text"}, which the
 * gateway serves inline (GW_ROUTE_FILE). The pass: the ticket's number, the
 * unit, the items, the carrier, who approved it (the manager, or the owner
 * or tenant of record whose approval the desk recorded) and when, and the
 * days it is valid: the day of the approval and the next, in the
 * property's time zone. Every stored text is HTML-escaped (html.h).
 * A ticket of another type, or not approved (new, refused, cancelled, or
 * released already: the pass was used): 409 invalid_transition naming
 * "type" or "status". Roles: the desk (admin, manager, agent). */
#ifndef TK_RELEASE_PASS_H
#define TK_RELEASE_PASS_H

#include "tickets.h"

int tk_pass_prepare (db_t *db);

void tk_pass_get (void *app, const env_request_t *req, env_reply_t *rep);

#endif
