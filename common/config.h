/* config: settings from environment variables, each with a default.
 * Every variable is listed in README.md. */
#ifndef PM_CONFIG_H
#define PM_CONFIG_H

#include <stdint.h>

/* The variable's value, or dflt when unset or empty. */
const char *config_str (const char *name, const char *dflt);

/* The variable as an integer in [min, max]; dflt when unset; exits with a
 * clear message when set to something else (a typo must not pass silently). */
int64_t config_int (const char *name, int64_t dflt, int64_t min, int64_t max);

/* PM_DATA_DIR, default "./var". */
const char *config_data_dir (void);

/* PM_BROKER_ENDPOINT, default ipc://<PM_DATA_DIR>/broker.ipc: where clients
 * and workers reach the broker. The result is static storage. */
const char *config_broker_endpoint (void);

/* Event wake-ups travel through the broker's XSUB/XPUB forwarder:
 * producers connect a PUB to PM_EVENTS_IN_ENDPOINT (ipc://<dir>/events-in.ipc),
 * consumers connect a SUB to PM_EVENTS_OUT_ENDPOINT (ipc://<dir>/events-out.ipc). */
const char *config_events_in_endpoint (void);
const char *config_events_out_endpoint (void);

/* Several brokers (docs/DESIGN.md, "Two brokers"): PM_BROKER_ENDPOINTS,
 * PM_EVENTS_IN_ENDPOINTS and PM_EVENTS_OUT_ENDPOINTS list every broker's
 * endpoint, comma-separated, in the brokers' order. Unset or empty: the one
 * endpoint of config_broker_endpoint () etc., as with a single broker. */
#define CONFIG_ENDPOINTS_MAX 8

typedef struct {
    int count;                       /* 1..CONFIG_ENDPOINTS_MAX */
    const char *item[CONFIG_ENDPOINTS_MAX];   /* point into buf */
    char buf[2048];
} config_endpoints_t;

/* Splits a comma-separated list into out (spaces around items dropped).
 * Returns the count, or -1 for an empty list, an empty item, more than
 * CONFIG_ENDPOINTS_MAX items or more than fits in out->buf. Pure. */
int config_endpoints_parse (const char *list, config_endpoints_t *out);

/* The list variable (PM_BROKER_ENDPOINTS, ...) when set, else the single
 * endpoint; exits with a clear message when the list is malformed (a typo
 * must not pass silently). Returns out->count. */
int config_broker_endpoints (config_endpoints_t *out);
int config_events_in_endpoints (config_endpoints_t *out);
int config_events_out_endpoints (config_endpoints_t *out);

/* The DSN of a service's own database: PM_DB_DSN_<SERVICE> (upper case),
 * else PM_DB_DSN, else "dbname=pm user=pm_<service>". Static storage. */
const char *config_db_dsn (const char *service);

#endif
