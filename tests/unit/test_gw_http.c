/* test_gw_http: the HTTP layer (services/gateway/http_conn.c, http_response.c)
 * on a real libuv loop, driven by a client thread over TCP: response heads,
 * request ids, pipelining order with a slow first answer, requests split into
 * single bytes, the 413/431/400 limits, a client that leaves while its request
 * is being answered, the idle timeout, and the drain on stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/http_conn.c"
#include "../../services/gateway/http_response.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- pure parts -------------------------------------------------------------- */

static void
test_status_text (void **state)
{
    (void) state;
    assert_string_equal (http_status_text (200), "OK");
    assert_string_equal (http_status_text (413), "Payload Too Large");
    assert_string_equal (http_status_text (431), "Request Header Fields Too Large");
    assert_string_equal (http_status_text (504), "Gateway Timeout");
    assert_string_equal (http_status_text (799), "Unknown");
}

static void
test_request_id (void **state)
{
    (void) state;
    char id[ENVELOPE_ID_MAX + 1], id2[ENVELOPE_ID_MAX + 1];
    http_request_id ("client-1.A_b", id);
    assert_string_equal (id, "client-1.A_b");
    const char *bad[] = { NULL, "", "has space", "semi;colon", "\xc3\xa9",
                          "0123456789012345678901234567890123456789012345678901234567890123456789" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_request_id (bad[i], id);
        assert_int_equal (strlen (id), 32);
        for (int k = 0; k < 32; k++)
            assert_true ((id[k] >= '0' && id[k] <= '9') || (id[k] >= 'a' && id[k] <= 'f'));
    }
    /* fresh each time, also across a pool refill */
    for (int i = 0; i < 600; i++) {
        http_request_id (NULL, id);
        http_request_id (NULL, id2);
        assert_string_not_equal (id, id2);
    }
    char max[65];
    memset (max, 'a', 64);
    max[64] = 0;
    http_request_id (max, id);
    assert_string_equal (id, max);
}

static void
test_media_type (void **state)
{
    (void) state;
    assert_true (http_media_type_is ("application/json", "application/json"));
    assert_true (http_media_type_is ("Application/JSON; charset=utf-8", "application/json"));
    assert_true (http_media_type_is ("  application/json ;charset=UTF-8", "application/json"));
    assert_false (http_media_type_is ("application/jsonp", "application/json"));
    assert_false (http_media_type_is ("application/json-patch+json", "application/json"));
    assert_false (http_media_type_is ("text/plain", "application/json"));
    assert_false (http_media_type_is (NULL, "application/json"));
    assert_false (http_media_type_is ("", "application/json"));
    assert_true (http_media_type_is ("text/csv; header=present", "text/csv"));
}

static void
test_media_type_param (void **state)
{
    (void) state;
    char v[16];
    assert_int_equal (http_media_type_param ("text/csv; charset=GBK", "charset", v, sizeof v), 1);
    assert_string_equal (v, "GBK");
    assert_int_equal (http_media_type_param ("text/csv;CharSet=\"utf-8\" ; header=present", "charset", v,
                                             sizeof v), 1);
    assert_string_equal (v, "utf-8");
    assert_int_equal (http_media_type_param ("text/csv; header=present;charset = gb18030", "charset", v,
                                             sizeof v), 1);
    assert_string_equal (v, "gb18030");
    assert_int_equal (http_media_type_param ("text/csv; q=\"a;b\\\"c\"; charset=x", "charset", v, sizeof v), 1);
    assert_string_equal (v, "x");
    assert_int_equal (http_media_type_param ("text/csv", "charset", v, sizeof v), 0);
    assert_int_equal (http_media_type_param (NULL, "charset", v, sizeof v), 0);
    assert_int_equal (http_media_type_param ("text/csv; header=present", "charset", v, sizeof v), 0);
    /* malformed or too long: -1, never a half value */
    assert_int_equal (http_media_type_param ("text/csv; charset", "charset", v, sizeof v), -1);
    assert_int_equal (http_media_type_param ("text/csv; charset=", "charset", v, sizeof v), -1);
    assert_int_equal (http_media_type_param ("text/csv; charset=\"utf-8", "charset", v, sizeof v), -1);
    assert_int_equal (http_media_type_param ("text/csv; charset=abcdefghijklmnopq", "charset", v, sizeof v), -1);
    assert_int_equal (http_media_type_param ("text/csv; charset=a b", "charset", v, sizeof v), 1);
    assert_string_equal (v, "a");
}

static void
test_head_format (void **state)
{
    (void) state;
    char buf[HTTP_HEAD_MAX];
    char date[32];
    http_date (784111777, date);
    assert_string_equal (date, "Sun, 06 Nov 1994 08:49:37 GMT");
    int n = http_format_head (buf, sizeof buf, 404, "application/json", 12, "rid-1", HTTP_CONN_CLOSE,
                              date, "Allow: GET\r\n");
    assert_true (n > 0);
    assert_int_equal ((size_t) n, strlen (buf));
    assert_memory_equal (buf, "HTTP/1.1 404 Not Found\r\n", 24);
    assert_non_null (strstr (buf, "\r\nContent-Length: 12\r\n"));
    assert_non_null (strstr (buf, "\r\nX-Request-Id: rid-1\r\n"));
    assert_non_null (strstr (buf, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null (strstr (buf, "\r\nContent-Security-Policy: default-src 'self'"));
    assert_non_null (strstr (buf, "\r\nConnection: close\r\n"));
    assert_non_null (strstr (buf, "\r\nAllow: GET\r\n\r\n"));
    assert_string_equal (buf + n - 4, "\r\n\r\n");
    n = http_format_head (buf, sizeof buf, 200, NULL, 0, "r", HTTP_CONN_KEEP, date, NULL);
    assert_null (strstr (buf, "\r\nContent-Type:"));
    assert_null (strstr (buf, "Connection:"));
    volatile size_t small = 40;      /* not a constant: the compiler would warn of the truncation */
    assert_int_equal (http_format_head (buf, small, 200, NULL, 0, "r", HTTP_CONN_KEEP, date, NULL), -1);
    http_format_head (buf, sizeof buf, 204, NULL, 0, "r", HTTP_CONN_KEEP, date, NULL);
    assert_null (strstr (buf, "Content-Length"));
}

/* --- a server on a real loop ------------------------------------------------- */

typedef struct {
    uv_loop_t loop;
    uv_async_t done;
    http_server_t *srv;
    int port;
    int requests;
    int done_calls;
    int last_status;
    char seen_auth[256];
    char seen_idem[64];
    size_t seen_body_len;
    bool drained;
    void (*client) (void *env);
} s_env_t;

typedef struct {
    uv_timer_t timer;
    http_req_t *req;
} s_later_t;

static void
s_later_closed (uv_handle_t *h)
{
    free (h->data);
}

static void
s_later_fire (uv_timer_t *t)
{
    s_later_t *l = t->data;
    char *body = strdup ("{\"later\":true}");
    http_respond (l->req, 200, "application/json", body, strlen (body), HTTP_FREE_BODY, NULL);
    l->timer.data = l;
    uv_close ((uv_handle_t *) &l->timer, s_later_closed);
}

static void
s_on_request (void *app, http_req_t *req)
{
    s_env_t *env = app;
    env->requests++;
    if (req->authorization)
        snprintf (env->seen_auth, sizeof env->seen_auth, "%s", req->authorization);
    if (req->idempotency_key)
        snprintf (env->seen_idem, sizeof env->seen_idem, "%s", req->idempotency_key);
    env->seen_body_len = req->body_len;
    if (strncmp (req->target, "/later", 6) == 0) {
        s_later_t *l = calloc (1, sizeof *l);
        l->req = req;
        uv_timer_init (&env->loop, &l->timer);
        l->timer.data = l;
        uv_timer_start (&l->timer, s_later_fire, 50, 0);
        return;
    }
    if (strcmp (req->target, "/error") == 0) {
        http_respond_error (req, 409, "conflict", NULL, "no", NULL);
        return;
    }
    char *body = malloc (128);
    snprintf (body, 128, "{\"target\":\"%.60s\",\"n\":%zu}", req->target, req->body_len);
    http_respond (req, 200, "application/json", body, strlen (body), HTTP_FREE_BODY, NULL);
}

static void
s_on_done (void *app, const http_req_t *req, int status)
{
    (void) req;
    s_env_t *env = app;
    env->done_calls++;
    env->last_status = status;
}

static void
s_on_drained (void *arg)
{
    s_env_t *env = arg;
    env->drained = true;
}

static void
s_on_client_done (uv_async_t *a)
{
    s_env_t *env = a->data;
    http_server_stop (env->srv, s_on_drained, env);
    http_server_close_all (env->srv);
    uv_close ((uv_handle_t *) a, NULL);
}

static void *
s_client_thread (void *arg)
{
    s_env_t *env = arg;
    env->client (env);
    uv_async_send (&env->done);
    return NULL;
}

/* Runs a server with cfg (port 0) and client in a thread until the client returns. */
static void
s_run (s_env_t *env, http_server_cfg_t cfg, void (*client) (void *))
{
    assert_int_equal (uv_loop_init (&env->loop), 0);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.on_request = s_on_request;
    cfg.on_done = s_on_done;
    cfg.app = env;
    int err = 0;
    env->srv = http_server_new (&env->loop, &cfg, &err);
    assert_non_null (env->srv);
    env->port = http_server_port (env->srv);
    assert_true (env->port > 0);
    env->client = client;
    uv_async_init (&env->loop, &env->done, s_on_client_done);
    env->done.data = env;
    pthread_t t;
    assert_int_equal (pthread_create (&t, NULL, s_client_thread, env), 0);
    uv_run (&env->loop, UV_RUN_DEFAULT);
    pthread_join (t, NULL);
    assert_true (env->drained);
    assert_int_equal (http_server_connections (env->srv), 0);
    http_server_destroy (&env->srv);
    assert_null (env->srv);
    assert_int_equal (uv_loop_close (&env->loop), 0);
}

/* --- the client side --------------------------------------------------------- */

static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        close (fd);
        return -1;
    }
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void
s_send (int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send (fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t) n;
    }
}

typedef struct {
    int status;
    char rid[80];
    char connection[16];
    char body[512];
} s_resp_t;

typedef struct {
    char buf[256 * 1024];
    size_t len;
} s_in_t;

/* Reads one response; 0, or -1 on EOF / timeout. */
static int
s_read (int fd, s_in_t *in, s_resp_t *r)
{
    memset (r, 0, sizeof *r);
    char *end;
    while (!(in->len && (end = memmem (in->buf, in->len, "\r\n\r\n", 4)))) {
        ssize_t n = recv (fd, in->buf + in->len, sizeof in->buf - in->len - 1, 0);
        if (n <= 0)
            return -1;
        in->len += (size_t) n;
        in->buf[in->len] = 0;
    }
    size_t head = (size_t) (end - in->buf) + 4;
    char saved = in->buf[head];
    in->buf[head] = 0;
    r->status = atoi (in->buf + 9);
    const char *h = strcasestr (in->buf, "\r\nx-request-id: ");
    if (h)
        sscanf (h + 16, "%79[^\r]", r->rid);
    h = strcasestr (in->buf, "\r\nconnection: ");
    if (h)
        sscanf (h + 14, "%15[^\r]", r->connection);
    size_t clen = 0;
    h = strcasestr (in->buf, "\r\ncontent-length: ");
    if (h)
        clen = (size_t) atol (h + 18);
    in->buf[head] = saved;
    while (in->len < head + clen) {
        ssize_t n = recv (fd, in->buf + in->len, sizeof in->buf - in->len - 1, 0);
        if (n <= 0)
            return -1;
        in->len += (size_t) n;
    }
    snprintf (r->body, sizeof r->body, "%.*s", (int) (clen < 511 ? clen : 511), in->buf + head);
    memmove (in->buf, in->buf + head + clen, in->len - head - clen);
    in->len -= head + clen;
    return 0;
}

/* True when the server closes the connection (EOF or reset) within 3 s. */
static bool
s_closed (int fd)
{
    char b[4096];
    struct timeval tv = { .tv_sec = 3 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        ssize_t n = recv (fd, b, sizeof b, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
}

/* --- scenarios ---------------------------------------------------------------- */

static s_resp_t s_got[8];
static int s_ngot;
static bool s_closed_flag;

static void
s_client_pipeline (void *arg)
{
    s_env_t *env = arg;
    int fd = s_connect (env->port);
    const char *reqs = "GET /later HTTP/1.1\r\nX-Request-Id: r1\r\n\r\n"
                       "POST /fast HTTP/1.1\r\nX-Request-Id: r2\r\nContent-Length: 5\r\n\r\nhello"
                       "GET /error HTTP/1.1\r\nX-Request-Id: r3\r\n\r\n";
    s_send (fd, reqs, strlen (reqs));
    static s_in_t in;
    in.len = 0;
    s_ngot = 0;
    for (int i = 0; i < 3 && s_read (fd, &in, &s_got[i]) == 0; i++)
        s_ngot++;
    close (fd);
}

static void
test_pipelining_order (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    s_run (&env, (http_server_cfg_t) { 0 }, s_client_pipeline);
    assert_int_equal (s_ngot, 3);
    assert_string_equal (s_got[0].rid, "r1");
    assert_string_equal (s_got[0].body, "{\"later\":true}");
    assert_string_equal (s_got[1].rid, "r2");
    assert_string_equal (s_got[1].body, "{\"target\":\"/fast\",\"n\":5}");
    assert_string_equal (s_got[2].rid, "r3");
    assert_int_equal (s_got[2].status, 409);
    assert_non_null (strstr (s_got[2].body, "\"request_id\":\"r3\""));
    assert_int_equal (env.requests, 3);
    assert_int_equal (env.done_calls, 3);
}

static void
s_client_bytes (void *arg)
{
    s_env_t *env = arg;
    int fd = s_connect (env->port);
    const char *req = "POST /bytes?q=1 HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nAuthorization: Bearer abc.def\r\n"
                      "Idempotency-Key: key-1\r\nTransfer-Encoding: chunked\r\nX-Request-Id: bytes-1\r\n\r\n"
                      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    for (size_t i = 0; req[i]; i++) {
        s_send (fd, req + i, 1);
        usleep (200);
    }
    static s_in_t in;
    in.len = 0;
    s_ngot = s_read (fd, &in, &s_got[0]) == 0 ? 1 : 0;
    close (fd);
}

static void
test_split_bytes (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    s_run (&env, (http_server_cfg_t) { 0 }, s_client_bytes);
    assert_int_equal (s_ngot, 1);
    assert_int_equal (s_got[0].status, 200);
    assert_string_equal (s_got[0].rid, "bytes-1");
    assert_string_equal (s_got[0].body, "{\"target\":\"/bytes?q=1\",\"n\":5}");
    assert_string_equal (env.seen_auth, "Bearer abc.def");
    assert_string_equal (env.seen_idem, "key-1");
}

static void
s_client_limits (void *arg)
{
    s_env_t *env = arg;
    static s_in_t in;
    s_ngot = 0;
    s_closed_flag = true;
    /* 413 by Content-Length */
    int fd = s_connect (env->port);
    const char *r = "POST /x HTTP/1.1\r\nContent-Length: 2000\r\nX-Request-Id: big\r\n\r\n";
    s_send (fd, r, strlen (r));
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag &= s_closed (fd);
    close (fd);
    /* 413 by chunks */
    fd = s_connect (env->port);
    r = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n";
    s_send (fd, r, strlen (r));
    char chunk[1024];
    memset (chunk, 'c', sizeof chunk);
    s_send (fd, chunk, sizeof chunk);
    s_send (fd, "\r\n400\r\n", 7);
    s_send (fd, chunk, sizeof chunk);
    s_send (fd, "\r\n", 2);
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag &= s_closed (fd);
    close (fd);
    /* 431: a header block over the limit */
    fd = s_connect (env->port);
    char head[8192];
    int n = snprintf (head, sizeof head, "GET /x HTTP/1.1\r\nX-Fill: ");
    memset (head + n, 'f', 5000);
    memcpy (head + n + 5000, "\r\n\r\n", 5);
    s_send (fd, head, strlen (head));
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag &= s_closed (fd);
    close (fd);
    /* 400: garbage */
    fd = s_connect (env->port);
    s_send (fd, "\x16\x03\x01\x00\x00\r\n\r\n", 9);
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag &= s_closed (fd);
    close (fd);
    /* exactly at the body limit: fine */
    fd = s_connect (env->port);
    r = "POST /x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
    s_send (fd, r, strlen (r));
    s_send (fd, chunk, 1000);
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (fd);
}

static void
test_limits (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .max_body_bytes = 1000, .max_header_bytes = 4096 };
    s_run (&env, cfg, s_client_limits);
    assert_int_equal (s_ngot, 5);
    assert_int_equal (s_got[0].status, 413);
    assert_string_equal (s_got[0].rid, "big");
    assert_string_equal (s_got[0].connection, "close");
    assert_non_null (strstr (s_got[0].body, "\"code\":\"payload_too_large\""));
    assert_non_null (strstr (s_got[0].body, "\"request_id\":\"big\""));
    assert_int_equal (s_got[1].status, 413);
    assert_int_equal (s_got[2].status, 431);
    assert_int_equal (s_got[3].status, 400);
    assert_non_null (strstr (s_got[3].body, "\"code\":\"bad_request\""));
    assert_int_equal (strlen (s_got[3].rid), 32);
    assert_true (s_closed_flag);
    assert_int_equal (s_got[4].status, 200);
    assert_string_equal (s_got[4].body, "{\"target\":\"/x\",\"n\":1000}");
    assert_int_equal (env.requests, 1);
    assert_int_equal (env.done_calls, 5);
}

/* on_headers: requests to /bulk may carry 5000 bytes, the rest the server's 1000 */
static void
s_on_headers_bulk (void *app, http_req_t *req)
{
    (void) app;
    if (strncmp (req->target, "/bulk", 5) == 0)
        req->max_body_bytes = 5000;
}

static void
s_client_route_limits (void *arg)
{
    s_env_t *env = arg;
    static s_in_t in;
    static char body[6000];
    memset (body, 'b', sizeof body);
    s_ngot = 0;
    s_closed_flag = true;
    char head[128];
    const char *targets[] = { "/bulk", "/x", "/bulk" };
    const int lens[] = { 4000, 4000, 6000 };
    for (int i = 0; i < 3; i++) {
        int fd = s_connect (env->port);
        snprintf (head, sizeof head, "POST %s HTTP/1.1\r\nContent-Length: %d\r\n\r\n", targets[i], lens[i]);
        s_send (fd, head, strlen (head));
        if (i == 0)
            s_send (fd, body, (size_t) lens[i]);
        in.len = 0;
        if (s_read (fd, &in, &s_got[s_ngot]) == 0)
            s_ngot++;
        if (i > 0)
            s_closed_flag &= s_closed (fd);
        close (fd);
    }
    /* chunked to /bulk: counted against its own limit */
    int fd = s_connect (env->port);
    const char *r = "POST /bulk HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nBB8\r\n";
    s_send (fd, r, strlen (r));
    s_send (fd, body, 3000);
    s_send (fd, "\r\n0\r\n\r\n", 7);
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (fd);
}

static void
test_route_limits (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .max_body_bytes = 1000, .on_headers = s_on_headers_bulk };
    s_run (&env, cfg, s_client_route_limits);
    assert_int_equal (s_ngot, 4);
    assert_int_equal (s_got[0].status, 200);
    assert_string_equal (s_got[0].body, "{\"target\":\"/bulk\",\"n\":4000}");
    assert_int_equal (s_got[1].status, 413);
    assert_non_null (strstr (s_got[1].body, "larger than 1000 bytes"));
    assert_int_equal (s_got[2].status, 413);
    assert_non_null (strstr (s_got[2].body, "larger than 5000 bytes"));
    assert_true (s_closed_flag);
    assert_int_equal (s_got[3].status, 200);
    assert_string_equal (s_got[3].body, "{\"target\":\"/bulk\",\"n\":3000}");
    assert_int_equal (env.requests, 2);
}

static void
s_client_vanish (void *arg)
{
    s_env_t *env = arg;
    /* gone while its request is being answered, and gone mid-request */
    for (int i = 0; i < 3; i++) {
        int fd = s_connect (env->port);
        const char *r = "GET /later HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
        s_send (fd, r, strlen (r));
        if (i == 1) {
            struct linger l = { 1, 0 };     /* reset, not FIN */
            setsockopt (fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        close (fd);
        fd = s_connect (env->port);
        s_send (fd, "POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 43);
        close (fd);
    }
    usleep (200 * 1000);             /* the slow answers come and find no one */
    int fd = s_connect (env->port);
    s_send (fd, "GET /after HTTP/1.1\r\n\r\n", 23);
    static s_in_t in;
    in.len = 0;
    s_ngot = s_read (fd, &in, &s_got[0]) == 0 ? 1 : 0;
    close (fd);
}

static void
test_client_vanishes (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    s_run (&env, (http_server_cfg_t) { 0 }, s_client_vanish);
    assert_int_equal (s_ngot, 1);
    assert_string_equal (s_got[0].body, "{\"target\":\"/after\",\"n\":0}");
}

static void
s_client_idle (void *arg)
{
    s_env_t *env = arg;
    int fd = s_connect (env->port);
    s_send (fd, "GET /x HTTP/1.1\r\n\r\n", 19);
    static s_in_t in;
    in.len = 0;
    s_ngot = s_read (fd, &in, &s_got[0]) == 0 ? 1 : 0;
    uint64_t t0 = uv_hrtime ();
    s_closed_flag = s_closed (fd);
    s_got[1].status = (int) ((uv_hrtime () - t0) / 1000000);   /* ms until closed */
    close (fd);
    /* a half-sent request is closed too */
    fd = s_connect (env->port);
    s_send (fd, "GET /x HTTP/1.1\r\nHost", 21);
    s_closed_flag &= s_closed (fd);
    close (fd);
}

static void
test_idle_timeout (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .idle_timeout_ms = 150 };
    s_run (&env, cfg, s_client_idle);
    assert_int_equal (s_ngot, 1);
    assert_true (s_closed_flag);
    assert_true (s_got[1].status >= 100 && s_got[1].status < 2000);
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_status_text),
        cmocka_unit_test (test_request_id),
        cmocka_unit_test (test_media_type),
        cmocka_unit_test (test_media_type_param),
        cmocka_unit_test (test_head_format),
        cmocka_unit_test (test_pipelining_order),
        cmocka_unit_test (test_split_bytes),
        cmocka_unit_test (test_limits),
        cmocka_unit_test (test_route_limits),
        cmocka_unit_test (test_client_vanishes),
        cmocka_unit_test (test_idle_timeout),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
