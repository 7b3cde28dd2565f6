/* gw_static: the web console's files from PM_WEB_DIR (GET and HEAD).
 * A path is refused (404) unless, decoded, it has no "." / ".." / hidden
 * segments, NUL or backslash (url_static_path), and its realpath () is a
 * regular file under the console's root (no link leads out). */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "gw.h"

#define GW_STATIC_MAX_FILE (8 * 1024 * 1024)

/* Resolves rel (from url_static_path) under root (a realpath) into out;
 * 0 for a regular file inside root, else -1. */
int gw_static_resolve (const char *root, const char *rel, char out[PATH_MAX]);

/* The Content-Type for a file name, by extension. */
const char *gw_static_type (const char *name);

/* Answers GET/HEAD of path (raw, undecoded) from gw->web_root. */
void gw_static_serve (gw_t *gw, gw_ctx_t *ctx, const char *path, size_t len);

#endif
