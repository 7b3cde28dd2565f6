/* config: environment variables with defaults; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
config_endpoints_parse (const char *list, config_endpoints_t *out)
{
    out->count = 0;
    if (!list || strlen (list) >= sizeof out->buf)
        return -1;
    strcpy (out->buf, list);
    char *p = out->buf;
    for (;;) {
        char *comma = strchr (p, ',');
        if (comma)
            *comma = 0;
        while (*p == ' ' || *p == '\t')
            p++;
        char *end = p + strlen (p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = 0;
        if (!*p || out->count == CONFIG_ENDPOINTS_MAX) {
            out->count = 0;
            return -1;
        }
        out->item[out->count++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    return out->count;
}

static int
s_endpoints (const char *list_name, const char *single, config_endpoints_t *out)
{
    const char *v = getenv (list_name);
    if (!v || !*v) {
        if (strchr (single, ',')) {      /* a list in the single variable */
            fprintf (stderr, "%s: one endpoint expected; a list goes in %s\n", single,
                     list_name);
            exit (2);
        }
        v = single;
    }
    if (config_endpoints_parse (v, out) < 0) {
        fprintf (stderr, "%s=%s: expected 1 to %d endpoints separated by commas\n", list_name, v,
                 CONFIG_ENDPOINTS_MAX);
        exit (2);
    }
    return out->count;
}

int
config_broker_endpoints (config_endpoints_t *out)
{
    return s_endpoints ("PM_BROKER_ENDPOINTS", config_broker_endpoint (), out);
}

int
config_events_in_endpoints (config_endpoints_t *out)
{
    return s_endpoints ("PM_EVENTS_IN_ENDPOINTS", config_events_in_endpoint (), out);
}

int
config_events_out_endpoints (config_endpoints_t *out)
{
    return s_endpoints ("PM_EVENTS_OUT_ENDPOINTS", config_events_out_endpoint (), out);
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
