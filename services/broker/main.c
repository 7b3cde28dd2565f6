/* pm-broker: routes requests between clients and service workers (broker.h)
 * and forwards event wake-ups, on CURVE sockets only (zap.h, curve.h).
 *
 *   pm-broker                      serve
 *   pm-broker keygen [ID...]       make the missing keys in PM_KEYS_DIR (default
 *                                  broker gateway tenants tickets billing
 *                                  notifications) and add them to its allow-list
 *   pm-broker --check [ready|live] the probe (health.h): 0 when the broker's health
 *                                  file says its loop turns and its sockets are bound
 *
 * Configuration: PM_BROKER_ENDPOINT, PM_EVENTS_IN_ENDPOINT,
 * PM_EVENTS_OUT_ENDPOINT, PM_DATA_DIR (for the ipc:// defaults), PM_KEYS_DIR,
 * PM_BROKER_TAP with PM_BROKER_TAP_I_KNOW=1 (a debugging tap of whole
 * requests), PM_LOG_LEVEL. */
#include "broker.h"
#include "config.h"
#include "curve.h"
#include "health.h"
#include "log.h"
#include "zap.h"
#include "zloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const s_identities[] = {
    "broker", "gateway", "tenants", "tickets", "billing", "notifications", NULL
};

static int
s_keygen (int argc, char **argv)
{
    const char *dir = curve_keys_dir ();
    int rc = curve_keygen (dir, argc > 2 ? (const char *const *) argv + 2 : s_identities);
    if (rc == 0)
        log_info (NULL, "keys ready in %s", dir);
    return rc == 0 ? 0 : 1;
}

int
main (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv[1], "--check") == 0)     /* before anything starts */
        return health_check_main ("broker", argc, argv);
    log_init ("broker");
    /* ipc:// endpoints live in the data directory: make sure it exists. */
    if (mkdir (config_data_dir (), 0700) != 0 && errno != EEXIST)
        log_warn (NULL, "cannot create data directory %s: %s", config_data_dir (),
                  strerror (errno));
    if (argc >= 2 && strcmp (argv[1], "keygen") == 0)
        return s_keygen (argc, argv);
    if (argc != 1) {
        log_error (NULL, "usage: pm-broker [keygen [identity ...] | --check [ready|live]]");
        return 2;
    }

    const char *tap = config_str ("PM_BROKER_TAP", NULL);
    if (tap && strcmp (config_str ("PM_BROKER_TAP_I_KNOW", "0"), "1") != 0) {
        log_error (NULL, "PM_BROKER_TAP writes whole requests (phones, ID numbers, webhook "
                   "secrets) to a file: set PM_BROKER_TAP_I_KNOW=1 to confirm");
        return 1;
    }
    curve_allow_t *allow = malloc (sizeof *allow);
    if (!allow || curve_init ("broker") != 0 || curve_allow_load (curve_keys_dir (), allow) != 0)
        return 1;
    zap_t *zap = zap_new (allow);
    free (allow);
    if (!zap)
        return 1;

    uv_loop_t loop;
    uv_loop_init (&loop);
    broker_t *broker = broker_new (&loop, config_broker_endpoint (),
                                   config_events_in_endpoint (), config_events_out_endpoint (), tap);
    if (!broker)
        return 1;
    zloop_handle_signals (&loop, NULL, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);

    log_info (NULL, "broker stopping");
    broker_destroy (&broker);
    uv_run (&loop, UV_RUN_DEFAULT);              /* lets the close callbacks run */
    uv_loop_close (&loop);
    zap_destroy (&zap);
    return 0;
}
