/* pm-broker: routes requests between clients and service workers (broker.h)
 * and forwards event wake-ups. Configuration: PM_BROKER_ENDPOINT,
 * PM_EVENTS_IN_ENDPOINT, PM_EVENTS_OUT_ENDPOINT, PM_DATA_DIR (for the ipc://
 * defaults), PM_BROKER_TAP (optional debugging tap), PM_LOG_LEVEL. */
#include "broker.h"
#include "config.h"
#include "log.h"
#include "zloop.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int
main (void)
{
    log_init ("broker");
    /* ipc:// endpoints live in the data directory: make sure it exists. */
    if (mkdir (config_data_dir (), 0700) != 0 && errno != EEXIST)
        log_warn (NULL, "cannot create data directory %s: %s", config_data_dir (),
                  strerror (errno));

    uv_loop_t loop;
    uv_loop_init (&loop);
    broker_t *broker = broker_new (&loop, config_broker_endpoint (),
                                   config_events_in_endpoint (), config_events_out_endpoint (),
                                   config_str ("PM_BROKER_TAP", NULL));
    if (!broker)
        return 1;
    zloop_handle_signals (&loop, NULL, NULL);
    uv_run (&loop, UV_RUN_DEFAULT);

    log_info (NULL, "broker stopping");
    broker_destroy (&broker);
    uv_run (&loop, UV_RUN_DEFAULT);              /* lets the close callbacks run */
    uv_loop_close (&loop);
    return 0;
}
