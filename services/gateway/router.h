/* router: a table of (method, path pattern) -> whatever the caller attaches.
 * Patterns are literal segments and {name} segments ("/v1/properties/{pid}/units");
 * a {name} segment matches one non-empty path segment, percent-decoded.
 * Matching says found, not found (404), or found with another method (405,
 * with the Allow list). Pure: no I/O; unit-tested in tests/unit/test_gw_router.c. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_SEGMENTS 16
#define ROUTER_MAX_PARAMS   8
#define ROUTER_PATH_MAX     2048     /* longer paths match nothing */

typedef struct {
    const char *method;              /* "GET", "POST", ... */
    const char *pattern;             /* "/v1/properties/{pid}" */
} router_route_t;

typedef enum {
    ROUTER_OK = 0,
    ROUTER_NOT_FOUND,                /* 404 */
    ROUTER_BAD_METHOD,               /* 405: the path exists for other methods */
    ROUTER_BAD_PATH                  /* 400: invalid percent-encoding or UTF-8 */
} router_result_t;

typedef struct {
    int index;                       /* of the matched route in the table, -1 if none */
    int nparams;
    struct { const char *name; const char *value; } param[ROUTER_MAX_PARAMS];
    char allow[128];                 /* "GET, POST" when ROUTER_BAD_METHOD */
    char buf[ROUTER_PATH_MAX + ROUTER_MAX_SEGMENTS];   /* decoded segments */
} router_match_t;

typedef struct router router_t;

/* Compiles the table (routes are stride bytes apart, so a bigger struct
 * whose first member is a router_route_t can be passed). NULL on a bad
 * pattern (a programming error: logged by the caller). */
router_t *router_new (const void *routes, size_t count, size_t stride);
void router_destroy (router_t **self_p);

router_result_t router_match (const router_t *self, const char *method, const char *path,
                              size_t path_len, router_match_t *m);

/* The value of a parameter of the match, or NULL. */
const char *router_param (const router_match_t *m, const char *name);

#endif
