/* fuzz_http: the gateway's HTTP request path, as a client would reach it.
 *
 * Each input is the bytes one client sends on one connection to the real
 * http_conn server (its parser callbacks driving http-parser, limits,
 * pipelining), over loopback TCP on a libuv loop in this thread. Every
 * request that comes out goes through what gw_on_request does before any
 * service is called: url_split, router_match on the gateway's real route
 * table, path and query parameters (url_query_params), url_static_path, the
 * media type and charset, the body as JSON or as CSV text converted to UTF-8.
 * Then it is answered, so pipelined requests follow.
 *
 * The first input byte picks the write size (16..4096 bytes), with the loop
 * run between writes: header names, values and bodies arrive in pieces. */
#include "csv.h"
#include "../../services/gateway/gw.h"
#include "../../services/gateway/http_conn.h"
#include "../../services/gateway/http_response.h"
#include "jv.h"
#include "../../services/gateway/url.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FUZZ_MAX_BODY (64 * 1024)    /* small, so the 413 paths are reached */
#define FUZZ_STALL_MS 5000           /* a connection that outlives its client's EOF: a hang */

static uv_loop_t s_loop;
static http_server_t *s_server;
static router_t *s_router;

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_on_headers (void *app, http_req_t *req)
{
    (void) app;
    const char *path, *query;
    size_t plen, qlen;
    if (!req->has_body || url_split (req->target, req->target_len, &path, &plen, &query, &qlen) != 0)
        return;
    router_match_t m;
    if (router_match (s_router, req->method_name, path, plen, &m) == ROUTER_OK
        && (gw_routes[m.index].flags & GW_ROUTE_IMPORT))
        req->max_body_bytes = 2 * FUZZ_MAX_BODY;
}

/* The body as gw_api's s_body / s_csv_body take it; the status it would get. */
static int
s_body (const http_req_t *req, bool csv_route)
{
    if (!req->has_body && req->body_len == 0)
        return 0;
    if (csv_route && http_media_type_is (req->content_type, "text/csv")) {
        char label[41] = "";
        int found = http_media_type_param (req->content_type, "charset", label, sizeof label);
        const char *charset = found == 0 ? "UTF-8" : found > 0 ? csv_charset (label) : NULL;
        if (!charset)
            return 415;
        const char *text = req->body;
        size_t len = req->body_len, bad = 0;
        char *converted = NULL;
        if (strcmp (charset, "UTF-8") != 0) {
            if (csv_to_utf8 (charset, req->body, req->body_len, &converted, &len, &bad) != 0) {
                if (bad != (size_t) -1)
                    (void) csv_row_at (req->body, req->body_len, bad);
                return 422;
            }
            text = converted;
        }
        int status = 0;
        if (!csv_utf8_ok (text, len, &bad)) {
            (void) csv_row_at (text, len, bad);
            status = 422;
        }
        free (converted);
        return status;
    }
    if (!http_media_type_is (req->content_type, "application/json"))
        return 415;
    if (!jv_is_utf8 (req->body, req->body_len) || memchr (req->body, 0, req->body_len))
        return 400;
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts (req->body, req->body_len, &end, false);
    int status = json ? 0 : 400;
    cJSON_Delete (json);
    return status;
}

static void
s_on_request (void *app, http_req_t *req)
{
    (void) app;
    const char *path, *query;
    size_t plen, qlen;
    int status = 200;
    cJSON *params = NULL;
    if (url_split (req->target, req->target_len, &path, &plen, &query, &qlen) != 0) {
        status = 400;
        goto answer;
    }
    const char *method = req->method == HTTP_HEAD ? "GET" : req->method_name;
    router_match_t m;
    router_result_t rr = router_match (s_router, method, path, plen, &m);
    if (rr == ROUTER_NOT_FOUND) {
        char file[URL_STATIC_MAX + 1];
        status = url_static_path (path, plen, file, sizeof file) == 0 ? 200 : 404;
        goto answer;
    }
    if (rr != ROUTER_OK) {
        status = rr == ROUTER_BAD_PATH ? 400 : 405;
        goto answer;
    }
    status = s_body (req, gw_routes[m.index].flags & GW_ROUTE_CSV);
    if (status)
        goto answer;
    status = 200;
    params = cJSON_CreateObject ();
    for (int i = 0; params && i < m.nparams; i++) {
        if (strcmp (m.param[i].name, "pid") == 0 && !jv_is_uuid (m.param[i].value)) {
            status = 404;
            goto answer;
        }
        cJSON_AddStringToObject (params, m.param[i].name, m.param[i].value);
    }
    char err[128];
    if (params && url_query_params (query, qlen, params, err) != 0)
        status = 400;
    (void) router_param (&m, "pid");
answer:
    if (status >= 400)
        http_respond_error (req, status, NULL, NULL, "fuzz", NULL);
    else
    if (params) {
        char *body = cJSON_PrintUnformatted (params);
        http_respond (req, status, "application/json", body, body ? strlen (body) : 0, HTTP_FREE_BODY, NULL);
    }
    else
        http_respond (req, 204, NULL, NULL, 0, 0, NULL);
    cJSON_Delete (params);
}

static void
s_setup (void)
{
    signal (SIGPIPE, SIG_IGN);
    if (uv_loop_init (&s_loop) != 0)
        abort ();
    s_router = router_new (gw_routes, gw_nroutes, sizeof gw_routes[0]);
    http_server_cfg_t cfg = { .host = "127.0.0.1", .port = 0, .max_body_bytes = FUZZ_MAX_BODY,
                              .max_header_bytes = 8 * 1024, .on_request = s_on_request,
                              .on_headers = s_on_headers,
                              /* every connection comes from 127.0.0.1 */
                              .conn_per_addr = HTTP_UNLIMITED };
    int err = 0;
    s_server = http_server_new (&s_loop, &cfg, &err);
    if (!s_router || !s_server) {
        fprintf (stderr, "fuzz_http: setup failed: %s\n", err ? uv_strerror (err) : "router");
        abort ();
    }
}

/* Reads and drops what the server answered, so it never waits on us. */
static void
s_drain (int fd)
{
    char buf[16 * 1024];
    while (recv (fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

/* Runs the loop until no connection is left (each ends at our EOF at the latest). */
static void
s_settle (int fd)
{
    uint64_t start = uv_now (&s_loop);
    for (;;) {
        uv_run (&s_loop, UV_RUN_NOWAIT);
        s_drain (fd);
        if (http_server_connections (s_server) == 0)
            return;
        uv_update_time (&s_loop);
        if (uv_now (&s_loop) - start > FUZZ_STALL_MS) {
            fprintf (stderr, "fuzz_http: a connection is still open %d ms after the client's EOF\n",
                     FUZZ_STALL_MS);
            abort ();
        }
        struct pollfd p[2] = { { uv_backend_fd (&s_loop), POLLIN, 0 }, { fd, POLLIN, 0 } };
        poll (p, 2, 10);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_server)
        s_setup ();
    if (size == 0)
        return 0;
    size_t chunk = ((size_t) data[0] + 1) * 16;
    data++;
    size--;

    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) http_server_port (s_server)) };
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    /* libFuzzer's timers interrupt system calls: a connect cut short by a
     * signal goes on in the background (EALREADY until done, then EISCONN) */
    int rc = -1;
    while (fd >= 0 && (rc = connect (fd, (struct sockaddr *) &addr, sizeof addr)) != 0
           && (errno == EINTR || errno == EALREADY)) {
        struct pollfd p = { fd, POLLOUT, 0 };
        poll (&p, 1, 10);
    }
    if (fd < 0 || (rc != 0 && errno != EISCONN)) {
        perror ("fuzz_http: connect");
        abort ();
    }
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
    /* the server's side exists once the loop has accepted it */
    for (int i = 0; http_server_connections (s_server) == 0; i++) {
        if (i == 500) {
            fprintf (stderr, "fuzz_http: the server does not accept\n");
            abort ();
        }
        struct pollfd p = { uv_backend_fd (&s_loop), POLLIN, 0 };
        poll (&p, 1, 10);
        uv_run (&s_loop, UV_RUN_NOWAIT);
    }
    size_t off = 0;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t w = send (fd, data + off, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;                   /* the server closed: it refused what came before */
        if (w > 0)
            off += (size_t) w;
        uv_run (&s_loop, UV_RUN_NOWAIT);
        s_drain (fd);
    }
    shutdown (fd, SHUT_WR);
    s_settle (fd);
    /* a reset, not a FIN: no TIME_WAIT left behind for every input */
    struct linger lg = { 1, 0 };
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close (fd);
    return 0;
}
