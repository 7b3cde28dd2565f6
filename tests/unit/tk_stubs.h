/* tk_stubs: the tickets service's neighbours that a unit test of one
 * tickets file (#included whole, as h2o's tests do) links against but never
 * reaches: the property's timezone from the copy of tenants, the service's
 * clock and its time text. Include it once, after the .c under test; a test
 * of pure rules only, so each stub answers something harmless and fixed.
 * Stubs that one test alone needs stay in that test. */
#ifndef PM_TK_STUBS_H
#define PM_TK_STUBS_H

#include "../../services/tickets/tenants_copy.h"
#include "../../services/tickets/tickets.h"
#include "../../services/tickets/tk_clock.h"

#include <stdint.h>
#include <stdio.h>

int
tk_copy_timezone (db_t *db, const env_request_t *req, const char *pid, char tz[64], env_reply_t *rep)
{
    (void) db, (void) req, (void) pid, (void) rep;
    snprintf (tz, 64, "Asia/Shanghai");
    return 0;
}

int64_t
tk_clock_now_us (void)
{
    return 0;
}

const char *
tk_time_param (int64_t us, char out[40])
{
    (void) us;
    snprintf (out, 40, "1970-01-01T00:00:00.000000Z");
    return out;
}

#endif
