/* me: a resident's own view of what notifications keeps (issue K; API.md,
 * "Residents (issue K)"; DESIGN.md, "Residents' scope"). Role "resident"
 * only; a unit is the resident's while notifications' OWN copy of tenants'
 * occupancies has a current occupancy of it by one of the caller's
 * party_ids (that occupancy's party is the one acting). Anything else 404.
 *
 * - notifications.me.announcements: announcements of the properties of the
 *   resident's current units whose audience includes one of those units
 *   (all, building:<its building>, use:<its use>); newest first, paged.
 * - notifications.me.activities: open activities not yet started whose
 *   audience includes one of the units, soonest first, paged; each with
 *   places_left and "my_registration" (the units' registration or null).
 * - notifications.me.register {"unit_id","people"?:1} on {id}: the occupancy's
 *   party signs the unit up through nt_activities_register_core (201; the
 *   unit's again: 200 with the first; 409 activity_full / conflict).
 * - notifications.me.unregister {id},{rid}: a registration of a unit the
 *   resident occupies, by one of their parties: nt_activities_unregister_core.
 * - notifications.me.preferences.get / .put: {"items":[preferences of each
 *   of the resident's parties notifications knows]}; a PUT (the body of
 *   notifications.preferences.put, topics included) sets them all.
 * - notifications.me.notifications: the inbox rows of the resident's
 *   parties (ticket status changes, bills, activity reminders, in the
 *   party's locale), newest first, paged, with "unread" (all pages).
 * - notifications.me.notifications.read {id}: marks one read (for the
 *   party: every login of it sees the mark); another party's: 404. */
#ifndef NT_ME_H
#define NT_ME_H

#include "notifications.h"

int nt_me_prepare (db_t *db);
void nt_me_announcements (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_activities (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_register (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_unregister (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_preferences_get (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_preferences_put (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_notifications (void *app, const env_request_t *req, env_reply_t *rep);
void nt_me_notification_read (void *app, const env_request_t *req, env_reply_t *rep);

#endif
