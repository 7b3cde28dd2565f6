/* tenants: the archive of properties, units, parties, occupancies and
 * parking. One worker process: one libuv loop, one broker link, one
 * PostgreSQL connection to schema "tenants". */
#ifndef TN_TENANTS_H
#define TN_TENANTS_H

#include "db.h"
#include "envelope.h"
#include "jv.h"
#include "outbox.h"
#include "page.h"

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

/* Whether the unit exists in the property; false after answering 404 "no
 * such unit" or the database's error. */
bool tn_unit_exists (tenants_t *app, const env_request_t *req, const char *pid, const char *uid,
                     env_reply_t *rep);

/* property_handlers.c: service-to-service */
void tn_events_read (void *app, const env_request_t *req, env_reply_t *rep);
void tn_ping (void *app, const env_request_t *req, env_reply_t *rep);

/* property_handlers.c: whether the property exists; false after answering
 * 404 "no such property" or the database's error. For the lists, whose
 * empty page would not tell a vanished property from an empty one. */
bool tn_property_exists (tenants_t *app, const env_request_t *req, const char *pid, env_reply_t *rep);

/* property_handlers.c: {"items":[units],"next_cursor"} from a result
 * fetched with limit + 1 rows (keyed by code, as the properties list is). */
cJSON *tn_unit_page (const PGresult *res, int limit);

/* parking_handlers.c: parking spaces and leases (车位, 车位租赁) */
void tn_parking_spaces_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parking_spaces_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parking_leases_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parking_leases_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parking_leases_end (void *app, const env_request_t *req, env_reply_t *rep);

/* import_handlers.c: bulk onboarding from CSV */
void tn_units_import (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parties_import (void *app, const env_request_t *req, env_reply_t *rep);

/* party_handlers.c: parties (业户) and the PII read audit */
void tn_parties_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parties_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parties_get (void *app, const env_request_t *req, env_reply_t *rep);
void tn_parties_update (void *app, const env_request_t *req, env_reply_t *rep);
void tn_pii_reads_list (void *app, const env_request_t *req, env_reply_t *rep);

/* Writes one pii_reads row per party id at column col of res's rows [0, n),
 * for req's caller and method, inside the caller's transaction; 0 or -1. */
int tn_pii_audit (tenants_t *app, const env_request_t *req, const char *pid, const PGresult *res,
                  int col, int n);

/* occupancy_handlers.c: move-in and move-out (入伙/迁出) */
void tn_occupancies_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_occupancies_end (void *app, const env_request_t *req, env_reply_t *rep);
void tn_occupancies_list (void *app, const env_request_t *req, env_reply_t *rep);
/* service-to-service: a unit with its occupants' full contacts */
void tn_unit_get_service (void *app, const env_request_t *req, env_reply_t *rep);
void tn_party_get_service (void *app, const env_request_t *req, env_reply_t *rep);
void tn_units_occupants (void *app, const env_request_t *req, env_reply_t *rep);

/* The occupancy (with its unit and party) as the event's data, after the
 * change, and the event written, inside the caller's transaction; 0 or -1.
 * *row receives the loaded row (tn_occupancy_json's). */
int tn_occupancy_publish (tenants_t *app, const char *type, const char *pid, const char *oid, PGresult **row);

/* occupancy_handlers.c: the caller's user id as records keep it ("unknown"
 * when none was sent). */
const char *tn_caller_user (const env_request_t *req);

/* move_in_handlers.c: the desk's move-in file with its checklist (入伙办理) */
void tn_move_in_checklist_get (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_in_checklist_put (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_ins_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_ins_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_ins_get (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_ins_update (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_ins_complete (void *app, const env_request_t *req, env_reply_t *rep);
void tn_move_ins_cancel (void *app, const env_request_t *req, env_reply_t *rep);

/* contact_handlers.c: a party's contact log (重点顾客), and its statements */
int tn_contact_store_prepare (db_t *db);
void tn_contacts_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_contacts_list (void *app, const env_request_t *req, env_reply_t *rep);

/* Answers the unit with "occupants" (current, phones masked or whole per
 * the caller's role, the identity document when full, whole reads by people
 * audited) and, with history, "history" (ended occupancies); 404 when the
 * unit is not in the property. One statement: one database round trip. */
void tn_unit_detail_reply (tenants_t *app, const env_request_t *req, const char *pid, const char *uid,
                           bool full, bool history, env_reply_t *rep);

#endif
