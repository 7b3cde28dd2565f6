/* http_response: status text, header block, request ids; see http_response.h. */
#include "http_response.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *
http_status_text (int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:  return "Unknown";
    }
}

/* Random bytes come from a pool refilled 256 ids at a time: one getrandom ()
 * per 256 requests instead of one per request. */
static unsigned char s_pool[4096];
static size_t s_pool_used = sizeof s_pool;

void
http_request_id (const char *client_value, char out[ENVELOPE_ID_MAX + 1])
{
    if (client_value && env_id_valid (client_value)) {
        snprintf (out, ENVELOPE_ID_MAX + 1, "%s", client_value);
        return;
    }
    if (s_pool_used + 16 > sizeof s_pool) {
        randombytes_buf (s_pool, sizeof s_pool);
        s_pool_used = 0;
    }
    sodium_bin2hex (out, ENVELOPE_ID_MAX + 1, s_pool + s_pool_used, 16);
    sodium_memzero (s_pool + s_pool_used, 16);
    s_pool_used += 16;
}

bool
http_media_type_is (const char *content_type, const char *type)
{
    if (!content_type)
        return false;
    const char *p = content_type;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen (type);
    if (strncasecmp (p, type, n) != 0)
        return false;
    p += n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == 0 || *p == ';';
}

int
http_media_type_param (const char *content_type, const char *name, char *out, size_t cap)
{
    if (!content_type || cap == 0)
        return 0;
    const char *p = strchr (content_type, ';');
    size_t nlen = strlen (name);
    while (p && *p == ';') {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t klen = (size_t) (p - key);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            return -1;               /* a parameter without a value */
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = 0;
        bool want = klen == nlen && strncasecmp (key, name, nlen) == 0;
        if (*p == '"') {             /* quoted-string, with \-escapes */
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (want && n + 1 >= cap)
                    return -1;
                if (want)
                    out[n++] = *p;
                p++;
            }
            if (*p != '"')
                return -1;
            p++;
        }
        else
            while (*p && *p != ';' && *p != ' ' && *p != '\t') {
                if (want && n + 1 >= cap)
                    return -1;
                if (want)
                    out[n++] = *p;
                p++;
            }
        while (*p == ' ' || *p == '\t')
            p++;
        if (want) {
            out[n] = 0;
            return n ? 1 : -1;
        }
        if (*p && *p != ';')
            return -1;
    }
    return 0;
}

void
http_date (time_t t, char out[32])
{
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The header block is written with memcpy, not printf: it is on every
 * response's path, and its parts are known strings and one number. */
typedef struct {
    char *p, *end;
} s_out_t;

static void
s_put (s_out_t *o, const char *s, size_t n)
{
    if (!o->p)
        return;
    if ((size_t) (o->end - o->p) <= n) {   /* room for the NUL too */
        o->p = NULL;
        return;
    }
    memcpy (o->p, s, n);
    o->p += n;
}

#define S_PUTS(o, lit) s_put ((o), (lit), sizeof (lit) - 1)

static void
s_put_str (s_out_t *o, const char *s)
{
    s_put (o, s, strlen (s));
}

static void
s_put_uint (s_out_t *o, size_t v)
{
    char tmp[24];
    char *q = tmp + sizeof tmp;
    do
        *--q = (char) ('0' + v % 10);
    while ((v /= 10) != 0);
    s_put (o, q, (size_t) (tmp + sizeof tmp - q));
}

int
http_format_head (char *buf, size_t cap, int status, const char *content_type,
                  size_t content_length, const char *request_id, http_conn_mode_t mode,
                  const char *date, const char *extra)
{
    static const char *const conn[] = { "", "Connection: keep-alive\r\n", "Connection: close\r\n" };
    if (cap == 0 || status < 100 || status > 999)
        return -1;
    s_out_t o = { buf, buf + cap };
    S_PUTS (&o, "HTTP/1.1 ");
    s_put_uint (&o, (size_t) status);
    S_PUTS (&o, " ");
    s_put_str (&o, http_status_text (status));
    S_PUTS (&o, "\r\nDate: ");
    s_put_str (&o, date);
    S_PUTS (&o, "\r\n");
    if (content_type) {
        S_PUTS (&o, "Content-Type: ");
        s_put_str (&o, content_type);
        S_PUTS (&o, "\r\n");
    }
    /* a 204 must not carry Content-Length (RFC 9110 8.6) */
    if (status != 204 && status >= 200) {
        S_PUTS (&o, "Content-Length: ");
        s_put_uint (&o, content_length);
        S_PUTS (&o, "\r\n");
    }
    S_PUTS (&o, "X-Request-Id: ");
    s_put_str (&o, request_id);
    S_PUTS (&o, "\r\n"
                "X-Content-Type-Options: nosniff\r\n");
    /* a page with a policy of its own (a printable receipt's inline style)
     * gets that one only: browsers enforce every policy sent, the strictest
     * wins, and ours would forbid its style */
    if (!extra || !strcasestr (extra, "Content-Security-Policy:"))
        S_PUTS (&o, "Content-Security-Policy: " HTTP_CSP "\r\n");
    S_PUTS (&o, "Referrer-Policy: no-referrer\r\n");
    s_put_str (&o, conn[mode]);
    if (extra)
        s_put_str (&o, extra);
    S_PUTS (&o, "\r\n");
    if (!o.p)
        return -1;
    *o.p = 0;
    return (int) (o.p - buf);
}
