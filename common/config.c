/* config: environment variables with defaults; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const char *
config_str (const char *name, const char *dflt)
{
    const char *v = getenv (name);
    return v && *v ? v : dflt;
}

int64_t
config_int (const char *name, int64_t dflt, int64_t min, int64_t max)
{
    const char *v = getenv (name);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    long long n = strtoll (v, &end, 10);
    if (errno || *end || n < min || n > max) {
        fprintf (stderr, "%s=%s: expected an integer from %" PRId64 " to %" PRId64 "\n",
                 name, v, min, max);
        exit (2);
    }
    return n;
}

const char *
config_data_dir (void)
{
    return config_str ("PM_DATA_DIR", "./var");
}

static const char *
s_endpoint (const char *name, const char *file, char *buf, size_t cap)
{
    const char *v = getenv (name);
    if (v && *v)
        return v;
    snprintf (buf, cap, "ipc://%s/%s", config_data_dir (), file);
    return buf;
}

const char *
config_broker_endpoint (void)
{
    static char buf[512];
    return s_endpoint ("PM_BROKER_ENDPOINT", "broker.ipc", buf, sizeof buf);
}

const char *
config_events_in_endpoint (void)
{
    static char buf[512];
    return s_endpoint ("PM_EVENTS_IN_ENDPOINT", "events-in.ipc", buf, sizeof buf);
}

const char *
config_events_out_endpoint (void)
{
    static char buf[512];
    return s_endpoint ("PM_EVENTS_OUT_ENDPOINT", "events-out.ipc", buf, sizeof buf);
}

const char *
config_db_dsn (const char *service)
{
    static char buf[1024];
    char name[64] = "PM_DB_DSN_";
    size_t n = 10;
    for (const char *p = service; *p && n + 1 < sizeof name; p++)
        name[n++] = (char) toupper ((unsigned char) *p);
    name[n] = 0;
    const char *v = getenv (name);
    if (v && *v)
        return v;
    v = getenv ("PM_DB_DSN");
    if (v && *v)
        return v;
    snprintf (buf, sizeof buf, "dbname=pm user=pm_%s", service);
    return buf;
}
