/* jv_testing: reading a jv_t's problems in unit tests of input rules. */
#ifndef PM_JV_TESTING_H
#define PM_JV_TESTING_H

#include "jv.h"

#include <stdio.h>
#include <string.h>

/* The first problem given for field, or NULL. */
static inline const char *
jvt_problem (const jv_t *v, const char *field)
{
    const cJSON *d;
    cJSON_ArrayForEach (d, v->details) {
        const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (d, "field"));
        if (f && strcmp (f, field) == 0)
            return cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem"));
    }
    return NULL;
}

/* Every problem as "field: problem; ..." ("" when none); empties v. The
 * text lives until the next call. */
static inline const char *
jvt_problems (jv_t *v)
{
    static char out[2048];
    out[0] = '\0';
    cJSON *d = jv_take (v), *it;
    cJSON_ArrayForEach (it, d) {
        size_t n = strlen (out);
        snprintf (out + n, sizeof out - n, "%s%s: %s", n ? "; " : "",
                  cJSON_GetStringValue (cJSON_GetObjectItem (it, "field")),
                  cJSON_GetStringValue (cJSON_GetObjectItem (it, "problem")));
    }
    cJSON_Delete (d);
    return out;
}

#endif
