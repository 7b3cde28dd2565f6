/* pm-tenants: the tenants worker. Connects to its schema (applying
 * migrations), registers with the broker, and serves until SIGTERM. */
#include "config.h"
#include "curve.h"
#include "log.h"
#include "tenants.h"
#include "tenants_store.h"
#include "party_store.h"
#include "import_store.h"
#include "parking_store.h"
#include "worker.h"
#include "zloop.h"

#include <stdlib.h>
#include <unistd.h>

static const worker_method_t s_methods[] = {
    { "tenants.properties.create", tn_properties_create },
    { "tenants.properties.list",   tn_properties_list },
    { "tenants.properties.get",    tn_properties_get },
    { "tenants.units.create",      tn_units_create },
    { "tenants.units.list",        tn_units_list },
    { "tenants.units.get",         tn_units_get },
    { "tenants.units.update",      tn_units_update },
    { "tenants.parties.create",    tn_parties_create },
    { "tenants.parties.list",      tn_parties_list },
    { "tenants.parties.get",       tn_parties_get },
    { "tenants.parties.update",    tn_parties_update },
    { "tenants.pii_reads.list",    tn_pii_reads_list },
    { "tenants.occupancies.create", tn_occupancies_create },
    { "tenants.occupancies.list",  tn_occupancies_list },
    { "tenants.occupancies.end",   tn_occupancies_end },
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
    { "tenants.events.read",       tn_events_read },
    { "tenants.ping",              tn_ping },
    { NULL, NULL }
};

static void
s_on_stop (void *arg)
{
    worker_t *worker = arg;
    log_info (NULL, "stopping: finishing what is in flight");
    worker_stop (worker);
}

int
main (void)
{
    log_init ("tenants");
    if (curve_init ("tenants") != 0)
        return EXIT_FAILURE;
    int rc = EXIT_FAILURE;
    tenants_t app = { 0 };
    worker_t *worker = NULL;
    uv_loop_t *loop = uv_default_loop ();

    app.db = db_new ("tenants", config_db_dsn ("tenants"), pm_migrations);
    if (!app.db) {
        log_error (NULL, "cannot start without the database");
        goto out;
    }
    if (tn_store_prepare (app.db) || tn_party_store_prepare (app.db) || tn_parking_store_prepare (app.db)
        || tn_import_store_prepare (app.db))
        goto out;
    app.outbox = outbox_new (app.db, "tenants");
    if (!app.outbox)
        goto out;
    worker = worker_new (loop, "tenants", s_methods, &app);
    if (!worker) {
        log_error (NULL, "cannot reach the broker at %s", config_broker_endpoint ());
        goto out;
    }
    zloop_handle_signals (loop, s_on_stop, worker);
    log_info (NULL, "serving tenants (pid %d)", (int) getpid ());
    uv_run (loop, UV_RUN_DEFAULT);
    rc = EXIT_SUCCESS;
out:
    worker_destroy (&worker);
    outbox_destroy (&app.outbox);
    db_destroy (&app.db);
    log_info (NULL, "stopped");
    return rc;
}
