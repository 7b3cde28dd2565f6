/* tk_clock: the tickets service's "now"; see tk_clock.h. */
#include "tk_clock.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static db_t *s_db;                  /* set when PM_TEST_CLOCK=1, else NULL */
static int64_t s_offset;             /* the last offset read (kept if a read fails) */

int
tk_clock_init (db_t *db)
{
    const char *on = getenv ("PM_TEST_CLOCK");
    if (!on || strcmp (on, "1") != 0) {
        s_db = NULL;
        s_offset = 0;
        return 0;
    }
    if (db_prepare (db, "tk_clock_offset", "SELECT offset_seconds::text FROM test_clock", true))
        return -1;
    s_db = db;
    log_warn (NULL, "PM_TEST_CLOCK=1: the clock follows tickets.test_clock (tests only)");
    return 0;
}

/* The test offset, read again each time so a test's UPDATE takes effect at once. */
static int64_t
s_offset_now (void)
{
    if (!s_db)
        return 0;
    PGresult *res = db_exec (s_db, "tk_clock_offset", 0, NULL);
    if (db_ok (res) && PQntuples (res) == 1)
        s_offset = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    PQclear (res);
    return s_offset;
}

int64_t
tk_clock_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    int64_t off = s_offset_now ();
    return ((int64_t) ts.tv_sec + off) * 1000000 + ts.tv_nsec / 1000;
}

int64_t
tk_clock_now (void)
{
    return tk_clock_now_us () / 1000000;
}

const char *
tk_clock_format (int64_t t, char out[32])
{
    time_t tt = (time_t) t;
    struct tm tm;
    if (!gmtime_r (&tt, &tm) || !strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        strcpy (out, "1970-01-01T00:00:00Z");
    return out;
}
