/* http_conn: the HTTP/1.1 server: a libuv TCP listener and its connections,
 * parsed with http-parser 2.9.
 *
 * - keep-alive and pipelining: the parser is paused in on_message_complete and
 *   resumed when the response is written, so a connection has at most one
 *   request with the application and responses leave strictly in order;
 *   reading goes on meanwhile (no epoll change per request): bytes of the next
 *   requests wait in the connection, up to 64 KiB, then reading stops, so the
 *   kernel's buffers push back on a client that sends faster than we answer;
 *   a client that shuts its side after its requests still gets the answers,
 *   and one that resets the connection makes http_req_gone true at once;
 * - memory: what a request needs while in flight (its line and kept headers,
 *   the response's header block, the write requests) comes from a free list
 *   when it begins and goes back when it is answered: an idle keep-alive
 *   connection holds only its handles (about 1.1 KB);
 * - the application sees each request's headers first (on_headers) and may
 *   answer then (401, 403, ...): the body is never read, the answer goes out
 *   with Connection: close;
 * - limits: header block (request line + headers) over max_header_bytes -> 431,
 *   body over the request's max_body_bytes (Content-Length or chunked) -> 413,
 *   decided as soon as the headers are in (a body announced too large is
 *   never read, let alone buffered); the limit is the server's
 *   max_body_bytes unless on_headers changed it for this request; anything the
 *   parser refuses -> 400;
 * - memory: every byte a connection buffers (request line, kept headers, the
 *   body as announced, pipelined bytes) is paid from one budget of
 *   buffer_max bytes (http_limits.h); a request that would pass it -> 503 with
 *   Retry-After; a client address with conn_per_addr connections open gets
 *   429 with Retry-After on its next one, before it sends anything;
 * - each refusal with Connection: close, then a lingering close (write side
 *   shut, input read and dropped, never kept, for a moment) so the client gets
 *   to read the answer instead of a reset;
 * - timeouts: a request's line and headers must arrive within
 *   header_timeout_ms of its first byte, its body within idle_timeout_ms of
 *   its headers; an idle keep-alive connection or a response the client does
 *   not read is closed after idle_timeout_ms;
 * - a client that goes away mid-request costs nothing but cleanup.
 *
 * The application gets each complete request through on_request and must
 * answer it exactly once with http_respond, now or later (even when the
 * client has gone: the connection's memory lives until then). */
#ifndef GW_HTTP_CONN_H
#define GW_HTTP_CONN_H

#include "envelope.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_HEADER_BYTES (80 * 1024)
#define HTTP_MAX_BODY_BYTES   (1024 * 1024)
#define HTTP_BODY_PREALLOC_MAX (1024 * 1024) /* buffer reserved for an announced body before it arrives */
#define HTTP_IDLE_TIMEOUT_MS  60000
#define HTTP_LINGER_MS        2000   /* how long a closing connection's input is drained */
#define HTTP_MAX_CONNECTIONS  10000
#define HTTP_HEADER_TIMEOUT_MS 10000 /* PM_HTTP_HEADER_TIMEOUT_MS */
/* Bytes buffered across all connections (PM_HTTP_BUFFER_MAX). The gateway
 * holds about three more copies of a request while it is forwarded (the
 * parsed CSV text, the envelope, the message), so this times four, plus
 * the process's own ~30 MiB, stays well under the 512 Mi of
 * deploy/k8s/base/gateway.yaml. */
#define HTTP_BUFFER_MAX       (64u * 1024 * 1024)
#define HTTP_CONN_PER_ADDR    128    /* PM_HTTP_CONN_PER_ADDR */
#define HTTP_UNLIMITED        ((size_t) -1)  /* buffer_max, conn_per_addr: no limit */
#define HTTP_RETRY_AFTER      "2"    /* seconds, in the Retry-After of a 429 or 503 refusal */

typedef struct http_server http_server_t;

/* A request, valid from on_request until http_respond. */
typedef struct {
    int method;                      /* enum http_method */
    const char *method_name;         /* "GET" */
    const char *target;              /* raw request target, NUL-terminated */
    size_t target_len;
    /* header values (NUL-terminated, trailing blanks trimmed) or NULL when absent */
    const char *content_type;
    const char *authorization;
    const char *idempotency_key;
    const char *filename;            /* X-Filename (an attachment's name, percent-encoded UTF-8) */
    const char *body;                /* NUL-terminated; "" when none */
    size_t body_len;
    bool has_body;                   /* a body was announced (Content-Length > 0 or chunked) */
    uint64_t content_length;         /* as announced; 0 when chunked or none */
    size_t max_body_bytes;           /* this request's body limit (see on_headers) */
    char request_id[ENVELOPE_ID_MAX + 1];
    uint64_t start_ns;               /* uv_hrtime () when the request began */
    /* for the application */
    int route;                       /* metrics label, -1 until set */
    void *user;
} http_req_t;

typedef void (http_request_fn) (void *app, http_req_t *req);
/* Called when a request's headers are complete, before any body byte is
 * read: method, target, the kept headers, has_body, content_length and
 * max_body_bytes are set. It may
 *   - answer now with http_respond* (a refusal: who is asking, may they):
 *     the answer goes out with Connection: close, the body is never read,
 *     and on_request does not come;
 *   - or change req->max_body_bytes (a route that takes bulk uploads) and
 *     attach its own state to req->user: on_request comes with it, unless
 *     the request ends first (413, 503, the client left): then on_abandon. */
typedef void (http_headers_fn) (void *app, http_req_t *req);
/* A request that on_headers attached state to (req->user) ends without
 * on_request: the application lets go of it. No answer is expected. */
typedef void (http_abandon_fn) (void *app, http_req_t *req);
/* Called once per response (also those the server makes itself: 400, 413,
 * 431), with the request as far as it was parsed (route -1 then). */
typedef void (http_done_fn) (void *app, const http_req_t *req, int status);

typedef struct {
    const char *host;                /* "0.0.0.0" */
    int port;
    size_t max_header_bytes;         /* 0 = HTTP_MAX_HEADER_BYTES */
    size_t max_body_bytes;           /* 0 = HTTP_MAX_BODY_BYTES */
    uint64_t idle_timeout_ms;        /* 0 = HTTP_IDLE_TIMEOUT_MS */
    size_t max_connections;          /* 0 = HTTP_MAX_CONNECTIONS */
    uint64_t header_timeout_ms;      /* 0 = HTTP_HEADER_TIMEOUT_MS; at most idle_timeout_ms */
    size_t buffer_max;               /* 0 = HTTP_BUFFER_MAX; HTTP_UNLIMITED */
    size_t conn_per_addr;            /* 0 = HTTP_CONN_PER_ADDR; HTTP_UNLIMITED */
    http_request_fn *on_request;
    http_headers_fn *on_headers;     /* may be NULL: every request gets max_body_bytes */
    http_abandon_fn *on_abandon;     /* may be NULL */
    http_done_fn *on_done;           /* may be NULL */
    void *app;
} http_server_cfg_t;

/* Binds and listens. NULL with *err set to a libuv error code on failure. */
http_server_t *http_server_new (uv_loop_t *loop, const http_server_cfg_t *cfg, int *err);

/* Stops accepting, closes idle connections, lets each busy one finish its
 * current response (sent with Connection: close); on_drained runs once no
 * connection is left (maybe before this returns). */
void http_server_stop (http_server_t *self, void (*on_drained) (void *arg), void *arg);

/* Closes every connection at once (after a drain that took too long). */
void http_server_close_all (http_server_t *self);

/* Frees the server once its handles are closed (call after the loop has run
 * the close callbacks, e.g. after uv_run returns). */
void http_server_destroy (http_server_t **self_p);

size_t http_server_connections (const http_server_t *self);

/* Bytes the connections buffer now (and the most they ever did, if peak). */
size_t http_server_buffered (const http_server_t *self, size_t *peak);

/* The port actually bound (useful with port 0). */
int http_server_port (const http_server_t *self);

/* Response flags. */
#define HTTP_FREE_BODY 1u            /* free () the body once written */
#define HTTP_CLOSE     2u            /* close the connection after this response */

/* Answers the request. body (len bytes) may be NULL; content_type NULL means
 * no Content-Type; extra: complete header lines ("Allow: GET\r\n"), up to
 * HTTP_EXTRA_MAX bytes, or NULL. A HEAD request gets the headers only. */
void http_respond (http_req_t *req, int status, const char *content_type, char *body,
                   size_t len, unsigned flags, const char *extra);

/* The error body of API.md as the answer: {"error":{...},"request_id"}.
 * details (may be NULL) is borrowed. */
void http_respond_error (http_req_t *req, int status, const char *code, const cJSON *details,
                         const char *message, const char *extra);

/* True when the client is gone: the response will be dropped. */
bool http_req_gone (const http_req_t *req);

/* The client's address (the TCP peer of req's connection) into out: 0, or
 * -1 when it cannot be known (the connection is closing). */
int http_req_peer (const http_req_t *req, struct sockaddr_storage *out);

#endif
