/* party_event: the data of party.created and party.updated (proto/events.md).
 *
 * Events go to every consumer and are kept in the outbox until each has read
 * them (PM_OUTBOX_RETENTION_DAYS), so they carry what the consumers need and
 * no more: the contacts, whole (notifications sends SMS and email to them,
 * billing's arrears report lists them), and never the identity document
 * (id_type, id_number) nor the key-customer note; a consumer that needs those
 * asks tenants (tenants.parties.get). The fields are a list here, not "the
 * Party minus some", so a field added to parties later stays out of events
 * until someone decides it belongs there. import_store.c's set-based
 * statement builds the same object in SQL (TN_PARTY_EVENT_SQL). */
#ifndef TN_PARTY_EVENT_H
#define TN_PARTY_EVENT_H

#include "outbox.h"
#include "party_store.h"
#include <libpq-fe.h>

/* The fields of a party event, in order (NULL-terminated). */
static const char *const tn_party_event_fields[] = {
    "id", "property_id", "kind", "name", "phone", "phones", "email", "key_customer", "created_at",
    "updated_at", NULL
};

/* The event data of the party at row of res (a party row as tn_party_json
 * reads it). NULL when out of memory. (Header-only: the handler tests
 * compile the handlers' .c files into themselves.) */
static inline cJSON *
tn_party_event_json (const PGresult *res, int row)
{
    cJSON *whole = tn_party_json (res, row, true);
    cJSON *ev = whole ? cJSON_CreateObject () : NULL;
    if (!ev) {
        cJSON_Delete (whole);
        return NULL;
    }
    for (int i = 0; tn_party_event_fields[i]; i++) {
        cJSON *item = cJSON_DetachItemFromObjectCaseSensitive (whole, tn_party_event_fields[i]);
        cJSON_AddItemToObject (ev, tn_party_event_fields[i], item ? item : cJSON_CreateNull ());
    }
    cJSON_Delete (whole);
    return ev;
}

/* outbox_add of type ("party.created" / "party.updated") with that data,
 * inside the caller's transaction. 0 or -1. */
static inline int
tn_party_event_add (outbox_t *ob, const char *type, const char *property_id, const PGresult *res, int row)
{
    cJSON *data = tn_party_event_json (res, row);
    int rc = data ? outbox_add (ob, type, property_id, data) : -1;
    cJSON_Delete (data);
    return rc;
}

/* The same object from a row p of parties, as SQL (jsonb). */
#define TN_PARTY_EVENT_SQL(p)                                                                        \
    "jsonb_build_object ('id', " p ".id, 'property_id', " p ".property_id, 'kind', " p ".kind, "     \
    "'name', " p ".name, 'phone', " p ".phones[1], 'phones', to_jsonb (" p ".phones), "              \
    "'email', " p ".email, 'key_customer', " p ".key_customer, "                                     \
    "'created_at', " DB_UTC_TS (p ".created_at") ", 'updated_at', " DB_UTC_TS (p ".updated_at") ")"

#endif
