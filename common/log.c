/* log: structured JSON lines on stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char s_service[32] = "pm";
static log_level_t s_level = LOG_INFO;
static const char *const s_names[] = { "debug", "info", "warn", "error" };

void
log_init (const char *service)
{
    snprintf (s_service, sizeof s_service, "%s", service);
    const char *lvl = getenv ("PM_LOG_LEVEL");
    for (int i = 0; lvl && i < 4; i++)
        if (strcmp (lvl, s_names[i]) == 0)
            s_level = (log_level_t) i;
}

/* Appends src to dst as JSON string content; returns the new length. */
static size_t
s_escape (char *dst, size_t len, size_t cap, const char *src)
{
    for (const unsigned char *p = (const unsigned char *) src; *p && len + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            dst[len++] = '\\';
            dst[len++] = (char) *p;
        }
        else
        if (*p < 0x20)
            len += (size_t) snprintf (dst + len, cap - len, "\\u%04x", *p);
        else
            dst[len++] = (char) *p;
    }
    dst[len] = 0;
    return len;
}

void
log_msg (log_level_t level, const char *request_id, const char *fmt, ...)
{
    if (level < s_level)
        return;
    char msg[2048];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);

    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r (&ts.tv_sec, &tm);

    char line[4608];
    size_t len = strftime (line, sizeof line, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t) snprintf (line + len, sizeof line - len,
                              ".%03ldZ\",\"level\":\"%s\",\"service\":\"%s\"",
                              ts.tv_nsec / 1000000, s_names[level], s_service);
    if (request_id && *request_id) {
        len += (size_t) snprintf (line + len, sizeof line - len, ",\"request_id\":\"");
        len = s_escape (line, len, sizeof line - 64, request_id);
        len += (size_t) snprintf (line + len, sizeof line - len, "\"");
    }
    len += (size_t) snprintf (line + len, sizeof line - len, ",\"msg\":\"");
    len = s_escape (line, len, sizeof line - 4, msg);
    line[len++] = '"';
    line[len++] = '}';
    line[len++] = '\n';
    fwrite (line, 1, len, stderr);
}
