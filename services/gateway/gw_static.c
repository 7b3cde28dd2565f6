/* gw_static: serving the console's files (and the residents' pages under
 * /m/: a folder's address ending in "/" is its index.html); see gw_static.h.
 * Files are read with plain blocking calls: the console is a handful of
 * small files the page cache keeps, so a read costs microseconds, less than
 * a trip through the thread pool. */
#include "gw_static.h"

#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int
gw_static_resolve (const char *root, const char *rel, char out[PATH_MAX])
{
    char joined[PATH_MAX];
    size_t rlen = strlen (root);
    if (rlen == 0 || snprintf (joined, sizeof joined, "%s/%s", root, rel) >= (int) sizeof joined)
        return -1;
    if (!realpath (joined, out))
        return -1;
    /* inside root: root itself is a directory, so a file must be below it */
    if (strncmp (out, root, rlen) != 0 || (out[rlen] != '/' && !(rlen == 1 && root[0] == '/')))
        return -1;
    struct stat st;
    if (stat (out, &st) != 0 || !S_ISREG (st.st_mode))
        return -1;
    return 0;
}

const char *
gw_static_type (const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" },
        { ".map", "application/json" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".jpg", "image/jpeg" },
        { ".jpeg", "image/jpeg" },
        { ".gif", "image/gif" },
        { ".webp", "image/webp" },
        { ".ico", "image/x-icon" },
        { ".woff2", "font/woff2" },
        { ".woff", "font/woff" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".webmanifest", "application/manifest+json" },
    };
    const char *dot = strrchr (name, '.');
    const char *slash = strrchr (name, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp (dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

void
gw_static_serve (gw_t *gw, gw_ctx_t *ctx, const char *path, size_t len)
{
    char rel[URL_STATIC_MAX + 1];
    char file[PATH_MAX];
    /* a folder's address ("/m/": the residents' pages) is its index.html;
     * "/m" without the slash is sent to "/m/" so that relative names resolve */
    char dir[URL_STATIC_MAX + 16];
    if (len > 1 && len <= URL_STATIC_MAX && path[len - 1] == '/') {
        snprintf (dir, sizeof dir, "%.*sindex.html", (int) len, path);
        path = dir;
        len = strlen (dir);
    } else if (len > 1 && len < URL_STATIC_MAX && gw->web_root[0]
               && url_static_path (path, len, rel, sizeof rel) == 0) {
        char joined[PATH_MAX];
        struct stat ds;
        if (snprintf (joined, sizeof joined, "%s/%s/index.html", gw->web_root, rel) < (int) sizeof joined
            && gw_static_resolve (gw->web_root, joined + strlen (gw->web_root) + 1, file) == 0
            && stat (file, &ds) == 0) {
            char loc[URL_STATIC_MAX + 32];
            snprintf (loc, sizeof loc, "Location: %.*s/\r\n", (int) len, path);
            char *msg = strdup ("moved\n");
            gw_finish_raw (ctx, msg ? 308 : 500, "text/plain; charset=utf-8", msg, msg ? 6 : 0,
                           HTTP_FREE_BODY, loc);
            return;
        }
    }
    if (!gw->web_root[0] || url_static_path (path, len, rel, sizeof rel) != 0
        || gw_static_resolve (gw->web_root, rel, file) != 0) {
        gw_finish_error (ctx, 404, "not_found", NULL, "no such file");
        return;
    }
    int fd = open (file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > GW_STATIC_MAX_FILE) {
        if (fd >= 0)
            close (fd);
        gw_finish_error (ctx, 404, "not_found", NULL, "no such file");
        return;
    }
    size_t size = (size_t) st.st_size;
    char *body = malloc (size ? size : 1);
    size_t got = 0;
    while (body && got < size) {
        ssize_t n = read (fd, body + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    close (fd);
    if (!body || got != size) {
        free (body);
        gw_finish_error (ctx, 500, "internal", NULL, "cannot read the file");
        return;
    }
    /* the console changes with each release: revalidate instead of caching blindly */
    gw_finish_raw (ctx, 200, gw_static_type (rel), body, size, HTTP_FREE_BODY,
                   "Cache-Control: no-cache\r\n");
}
