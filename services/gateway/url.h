/* url: the request target, decoded. Splits path from query, decodes
 * percent-encoding strictly (bad escapes, NUL and invalid UTF-8 are
 * refused, not repaired), turns a query string into request params, and
 * decides whether a path may name a file of the static console.
 * Pure functions: no I/O, unit-tested in tests/unit/test_gw_url.c. */
#ifndef GW_URL_H
#define GW_URL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define URL_MAX_PARAMS 64            /* query parameters per request */
#define URL_STATIC_MAX 1024          /* longest static file path we consider */

/* Splits an origin-form ("/a/b?x=1") or absolute-form ("http://h/a/b?x=1")
 * target. A fragment is dropped. Returns 0, or -1 when the target has no
 * path starting with '/' (asterisk-form, authority-form, garbage). */
int url_split (const char *target, size_t len, const char **path, size_t *path_len,
               const char **query, size_t *query_len);

/* Percent-decodes src[0..len) into dst (cap bytes, NUL-terminated);
 * plus_space turns '+' into ' ' (query strings). Returns the decoded length,
 * or -1 for a bad escape, a NUL byte, invalid UTF-8, or no room. */
long url_decode (const char *src, size_t len, char *dst, size_t cap, bool plus_space);

/* Adds each query parameter to params (an object) as a string. A name
 * already in params is left alone, so path parameters put there first win
 * over query parameters of the same name; of a repeated query name the first
 * counts. Returns 0, or -1 with a reason in err (bad encoding, too many). */
int url_query_params (const char *query, size_t len, cJSON *params, char err[128]);

/* Maps a raw request path to a file path relative to the console's root:
 * "/" -> "index.html", "/app.js" -> "app.js". Refuses (-1) anything that
 * could leave the root or confuse the file system: bad escapes, NUL, '\',
 * empty, "." or ".." segments (also when encoded), hidden files, over-long
 * paths. The caller still checks realpath () against the root, for links. */
int url_static_path (const char *path, size_t len, char *out, size_t cap);

#endif
