/* http_response: the pure parts of an HTTP response: status lines, the
 * header block every response carries (X-Request-Id, security headers,
 * Date), request ids, media types. No I/O; unit-tested in
 * tests/unit/test_gw_http.c. http_conn.c writes what this formats. */
#ifndef GW_HTTP_RESPONSE_H
#define GW_HTTP_RESPONSE_H

#include "envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The policy for everything we serve: the console loads only its own files,
 * and no other site may frame it. */
#define HTTP_CSP "default-src 'self'; frame-ancestors 'none'"

#define HTTP_HEAD_MAX 1024           /* formatted header block, extra headers included */
#define HTTP_EXTRA_MAX 512           /* caller-supplied extra header lines */

/* "OK", "Not Found", ...; "Unknown" for a status we never send. */
const char *http_status_text (int status);

/* The request id for a request: the client's X-Request-Id when it is a valid
 * id (env_id_valid), else 32 hex characters from 16 random bytes. */
void http_request_id (const char *client_value, char out[ENVELOPE_ID_MAX + 1]);

/* True when a Content-Type header value names this media type
 * ("application/json; charset=utf-8" is "application/json"); case-insensitive. */
bool http_media_type_is (const char *content_type, const char *type);

/* The value of a parameter of a Content-Type header value ("charset" of
 * "text/csv; charset=GBK" is "GBK"; a quoted value is unquoted) into
 * out[cap]. 1 when found, 0 when absent, -1 when malformed or longer than
 * cap - 1. Names are case-insensitive; the value is returned as sent. */
int http_media_type_param (const char *content_type, const char *name, char *out, size_t cap);

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out[32]. */
void http_date (time_t t, char out[32]);

typedef enum {
    HTTP_CONN_KEEP = 0,              /* HTTP/1.1 default: say nothing */
    HTTP_CONN_KEEP_ALIVE,            /* HTTP/1.0 client asked for keep-alive */
    HTTP_CONN_CLOSE
} http_conn_mode_t;

/* Formats the status line and headers, ending with the blank line.
 * content_type may be NULL (no body). extra: complete header lines
 * ("Allow: GET\r\n...") or NULL; a Content-Security-Policy line in extra
 * replaces HTTP_CSP. Returns the length, or -1 if cap is too small. */
int http_format_head (char *buf, size_t cap, int status, const char *content_type,
                      size_t content_length, const char *request_id, http_conn_mode_t mode,
                      const char *date, const char *extra);

#endif
