/* pm-tenants: the tenants worker (service.h: start-up, shutdown). Its
 * methods, and the statements of its stores; it publishes events (outbox)
 * and follows none. */
#include "attachments.h"
#include "import_store.h"
#include "move_in_store.h"
#include "parking_store.h"
#include "party_store.h"
#include "health.h"
#include "service.h"
#include "tenants.h"
#include "tenants_store.h"

/* resident_handlers.c (issue K): a resident's parties and units, read live */
void tn_residents_lookup (void *app, const env_request_t *req, env_reply_t *rep);
void tn_me_get (void *app, const env_request_t *req, env_reply_t *rep);
int tn_resident_store_prepare (db_t *db);

static const worker_method_t s_methods[] = {
    { "tenants.properties.create", tn_properties_create },
    { "tenants.properties.list",   tn_properties_list },
    { "tenants.properties.get",    tn_properties_get },
    { "tenants.units.create",      tn_units_create },
    { "tenants.units.list",        tn_units_list },
    { "tenants.units.get",         tn_units_get },
    { "tenants.units.update",      tn_units_update },
    { "tenants.unit_attachments.create", tn_unit_attachments_create },
    { "tenants.unit_attachments.list",   tn_unit_attachments_list },
    { "tenants.unit_attachments.get",    tn_unit_attachments_get },
    { "tenants.parties.create",    tn_parties_create },
    { "tenants.parties.list",      tn_parties_list },
    { "tenants.parties.get",       tn_parties_get },
    { "tenants.party_attachments.create", tn_party_attachments_create },
    { "tenants.party_attachments.list",   tn_party_attachments_list },
    { "tenants.party_attachments.get",    tn_party_attachments_get },
    { "tenants.parties.update",    tn_parties_update },
    { "tenants.pii_reads.list",    tn_pii_reads_list },
    { "tenants.occupancies.create", tn_occupancies_create },
    { "tenants.occupancies.list",  tn_occupancies_list },
    { "tenants.occupancies.end",   tn_occupancies_end },
    { "tenants.move_in_checklist.get", tn_move_in_checklist_get },
    { "tenants.move_in_checklist.put", tn_move_in_checklist_put },
    { "tenants.move_ins.create",   tn_move_ins_create },
    { "tenants.move_ins.list",     tn_move_ins_list },
    { "tenants.move_ins.get",      tn_move_ins_get },
    { "tenants.move_ins.update",   tn_move_ins_update },
    { "tenants.move_ins.complete", tn_move_ins_complete },
    { "tenants.move_ins.cancel",   tn_move_ins_cancel },
    { "tenants.contacts.create",   tn_contacts_create },
    { "tenants.contacts.list",     tn_contacts_list },
    { "tenants.unit.get",          tn_unit_get_service },
    { "tenants.party.get",         tn_party_get_service },
    { "tenants.units.occupants",   tn_units_occupants },
    { "tenants.units.import",      tn_units_import },
    { "tenants.parties.import",    tn_parties_import },
    { "tenants.parking.spaces.create", tn_parking_spaces_create },
    { "tenants.parking.spaces.list",   tn_parking_spaces_list },
    { "tenants.parking.leases.create", tn_parking_leases_create },
    { "tenants.parking.leases.list",   tn_parking_leases_list },
    { "tenants.parking.leases.end",    tn_parking_leases_end },
    { "tenants.residents.lookup",  tn_residents_lookup },
    { "tenants.me.get",            tn_me_get },
    { "tenants.events.read",       tn_events_read },
    { "tenants.ping",              tn_ping },
    { NULL, NULL }
};

static int
s_prepare (db_t *db)
{
    return tn_store_prepare (db) || tn_party_store_prepare (db) || tn_parking_store_prepare (db)
           || tn_import_store_prepare (db) || tn_move_in_store_prepare (db) || tn_contact_store_prepare (db)
           || tn_attachments_prepare (db) || tn_resident_store_prepare (db) ? -1 : 0;
}

int
main (int argc, char **argv)
{
    if (argc > 1)                    /* `--check [ready|live]`: the probes (health.h) */
        return health_check_main ("tenants", argc, argv);
    static tenants_t app;
    return service_main (&(service_t) { .name = "tenants", .methods = s_methods, .app = &app,
                                        .db = &app.db, .outbox = &app.outbox, .prepare = s_prepare });
}
