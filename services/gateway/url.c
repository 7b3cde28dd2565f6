/* url: request target splitting and strict decoding; see url.h. */
#include "url.h"

#include "jv.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
url_split (const char *target, size_t len, const char **path, size_t *path_len,
           const char **query, size_t *query_len)
{
    const char *p = target, *end = target + len;
    /* absolute-form: RFC 9112 3.2.2 says a server must accept it; skip the
     * scheme and authority, the path is what we route on */
    if (len > 7 && (strncasecmp (p, "http://", 7) == 0 || (len > 8 && strncasecmp (p, "https://", 8) == 0))) {
        p += (p[4] == ':') ? 7 : 8;
        while (p < end && *p != '/' && *p != '?' && *p != '#')
            p++;
        if (p == end || *p != '/')
            return -1;
    }
    if (p == end || *p != '/')
        return -1;
    const char *hash = memchr (p, '#', (size_t) (end - p));
    if (hash)
        end = hash;
    const char *q = memchr (p, '?', (size_t) (end - p));
    *path = p;
    *path_len = (size_t) ((q ? q : end) - p);
    *query = q ? q + 1 : end;
    *query_len = q ? (size_t) (end - q - 1) : 0;
    return 0;
}

long
url_decode (const char *src, size_t len, char *dst, size_t cap, bool plus_space)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = jv_hex_digit (src[i + 1]), lo = jv_hex_digit (src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char) (hi << 4 | lo);
            i += 2;
        }
        else
        if (c == '+' && plus_space)
            c = ' ';
        if (c == 0 || n + 1 >= cap)
            return -1;
        dst[n++] = c;
    }
    dst[n] = 0;
    if (!jv_is_utf8 (dst, n))
        return -1;
    return (long) n;
}

int
url_query_params (const char *query, size_t len, cJSON *params, char err[128])
{
    const char *p = query, *end = query + len;
    int count = 0;
    char small[512];
    while (p < end) {
        const char *amp = memchr (p, '&', (size_t) (end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr (p, '=', (size_t) (stop - p));
        const char *kend = eq ? eq : stop;
        if (kend > p) {
            if (++count > URL_MAX_PARAMS) {
                snprintf (err, 128, "too many query parameters (at most %d)", URL_MAX_PARAMS);
                return -1;
            }
            size_t klen = (size_t) (kend - p);
            size_t vlen = eq ? (size_t) (stop - eq - 1) : 0;
            /* a decoded string is never longer than its source */
            char *key = klen + 1 <= sizeof small / 2 ? small : NULL;
            char *val = vlen + 1 <= sizeof small / 2 ? small + sizeof small / 2 : NULL;
            char *heap = NULL;
            if (!key || !val) {
                heap = cJSON_malloc (klen + vlen + 2);
                if (!heap) {
                    snprintf (err, 128, "out of memory");
                    return -1;
                }
                key = heap;
                val = heap + klen + 1;
            }
            long kn = url_decode (p, klen, key, klen + 1, true);
            long vn = eq ? url_decode (eq + 1, vlen, val, vlen + 1, true) : 0;
            if (!eq)
                val[0] = 0;
            if (kn < 0 || vn < 0) {
                snprintf (err, 128, "query parameter %.40s: invalid percent-encoding or UTF-8",
                          kn < 0 ? "name" : (jv_is_utf8 (key, (size_t) kn) ? key : "?"));
                cJSON_free (heap);
                return -1;
            }
            if (kn > 0 && !cJSON_GetObjectItemCaseSensitive (params, key))
                cJSON_AddStringToObject (params, key, val);
            cJSON_free (heap);
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

int
url_static_path (const char *path, size_t len, char *out, size_t cap)
{
    if (len == 0 || path[0] != '/' || len > URL_STATIC_MAX || cap < 16)
        return -1;
    if (len == 1) {
        snprintf (out, cap, "index.html");
        return 0;
    }
    long n = url_decode (path + 1, len - 1, out, cap, false);
    if (n <= 0)
        return -1;
    /* check every segment of the DECODED path: "%2e%2e" is ".." here, and
     * "%2f" has become a separator */
    const char *seg = out;
    for (long i = 0; i <= n; i++) {
        if (i < n && out[i] == '\\')
            return -1;
        if (i == n || out[i] == '/') {
            size_t slen = (size_t) (out + i - seg);
            if (slen == 0 || seg[0] == '.')     /* "", ".", "..", ".git", ".env" */
                return -1;
            seg = out + i + 1;
        }
    }
    return 0;
}
