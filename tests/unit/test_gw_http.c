/* test_gw_http: the HTTP layer (services/gateway/http_conn.c, http_response.c,
 * http_limits.c) on a real libuv loop, driven by a client thread over TCP:
 * response heads, request ids, pipelining order with a slow first answer,
 * requests split into single bytes, the 413/431/400 limits, a client that
 * leaves while its request is being answered, the idle timeout, and the drain
 * on stop; the edge (issue G): answers from on_headers before the body,
 * on_abandon, the buffer budget (503), connections per address (429), the
 * header timeout; and the pure accounting of http_limits. Every server run
 * ends with nothing left in the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/http_conn.c"
#include "../../services/gateway/http_limits.c"
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

/* --- http_limits: pure accounting ------------------------------------------ */

static void
test_budget (void **state)
{
    (void) state;
    http_budget_t b = { .max = 100 };
    assert_true (http_budget_take (&b, 60));
    assert_false (http_budget_take (&b, 41));       /* 101 > 100: nothing taken */
    assert_int_equal (b.used, 60);
    assert_true (http_budget_take (&b, 40));         /* exactly full */
    assert_false (http_budget_take (&b, 1));
    http_budget_give (&b, 70);
    assert_int_equal (b.used, 30);
    assert_int_equal (b.peak, 100);
    assert_false (http_budget_take (&b, SIZE_MAX));  /* no overflow past max */
    assert_false (http_budget_take (&b, SIZE_MAX - 10));
    assert_true (http_budget_take (&b, 0));
    http_budget_give (&b, 30);
    assert_int_equal (b.used, 0);
    http_budget_t none = { 0 };                      /* max 0: no limit, still counted */
    assert_true (http_budget_take (&none, SIZE_MAX / 2));
    assert_int_equal (none.used, SIZE_MAX / 2);
}

static void
s_v4 (const char *ip, http_addr_t *out)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    assert_int_equal (inet_pton (AF_INET, ip, &a.sin_addr), 1);
    assert_int_equal (http_addr_key ((struct sockaddr *) &a, out), 0);
}

static void
s_v6 (const char *ip, http_addr_t *out)
{
    struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
    assert_int_equal (inet_pton (AF_INET6, ip, &a.sin6_addr), 1);
    assert_int_equal (http_addr_key ((struct sockaddr *) &a, out), 0);
}

static void
test_addrs (void **state)
{
    (void) state;
    http_addr_t a, a2, b, m, v6a, v6b, v6c;
    s_v4 ("10.0.0.1", &a);
    s_v4 ("10.0.0.1", &a2);
    s_v4 ("10.0.0.2", &b);
    s_v6 ("::ffff:10.0.0.1", &m);                   /* IPv4 on a dual-stack socket */
    s_v6 ("2001:db8:1:2::1", &v6a);
    s_v6 ("2001:db8:1:2:ffff::9", &v6b);            /* the same /64 */
    s_v6 ("2001:db8:1:3::1", &v6c);                 /* another /64 */
    assert_memory_equal (a.b, a2.b, 16);
    assert_memory_equal (a.b, m.b, 16);
    assert_memory_not_equal (a.b, b.b, 16);
    assert_memory_equal (v6a.b, v6b.b, 16);
    assert_memory_not_equal (v6a.b, v6c.b, 16);
    struct sockaddr other = { .sa_family = AF_UNIX };
    assert_int_equal (http_addr_key (&other, &a2), -1);

    http_addrs_t *t = http_addrs_new (2, 12345);
    assert_non_null (t);
    assert_int_equal (http_addrs_acquire (t, &a), 0);
    assert_int_equal (http_addrs_acquire (t, &m), 0);   /* the same client */
    assert_int_equal (http_addrs_acquire (t, &a), -1);  /* its third: refused, not counted */
    assert_int_equal (http_addrs_count (t, &a), 2);
    assert_int_equal (http_addrs_acquire (t, &b), 0);
    assert_int_equal (http_addrs_acquire (t, &v6a), 0);
    assert_int_equal (http_addrs_acquire (t, &v6b), 0);
    assert_int_equal (http_addrs_acquire (t, &v6c), 0);
    assert_int_equal (http_addrs_acquire (t, &v6b), -1);
    assert_int_equal (http_addrs_size (t), 4);
    http_addrs_release (t, &a);
    assert_int_equal (http_addrs_count (t, &a), 1);
    assert_int_equal (http_addrs_acquire (t, &a), 0);
    http_addrs_release (t, &a);
    http_addrs_release (t, &a);
    assert_int_equal (http_addrs_count (t, &a), 0);
    assert_int_equal (http_addrs_size (t), 3);         /* an address at 0 leaves the table */
    /* many addresses: they chain in the buckets and all come and go */
    for (int i = 0; i < 20000; i++) {
        http_addr_t k = { { 0 } };
        memcpy (k.b, &i, sizeof i);
        assert_int_equal (http_addrs_acquire (t, &k), 0);
    }
    assert_int_equal (http_addrs_size (t), 20003);
    for (int i = 0; i < 20000; i++) {
        http_addr_t k = { { 0 } };
        memcpy (k.b, &i, sizeof i);
        assert_int_equal (http_addrs_count (t, &k), 1);
        http_addrs_release (t, &k);
    }
    assert_int_equal (http_addrs_size (t), 3);
    http_addrs_destroy (&t);
    assert_null (t);
    http_addrs_destroy (&t);                            /* safe twice */

    t = http_addrs_new (0, 1);                          /* no cap */
    for (int i = 0; i < 1000; i++)
        assert_int_equal (http_addrs_acquire (t, &a), 0);
    assert_int_equal (http_addrs_count (t, &a), 1000);
    http_addrs_destroy (&t);                            /* frees what is still counted */
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
    int abandoned;
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
    /* every connection is gone: whatever they paid is back */
    assert_int_equal (http_server_buffered (env->srv, NULL), 0);
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
    char retry_after[16];
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
    h = strcasestr (in->buf, "\r\nretry-after: ");
    if (h)
        sscanf (h + 15, "%15[^\r]", r->retry_after);
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

/* --- the edge: answers at the headers, the budget, addresses, slow headers --- */

static int s_marker;

/* on_headers: /deny is refused at once (401); /keep gets state attached */
static void
s_on_headers_edge (void *app, http_req_t *req)
{
    (void) app;
    if (strncmp (req->target, "/deny", 5) == 0) {
        http_respond_error (req, 401, "unauthenticated", NULL, "no", "WWW-Authenticate: Bearer\r\n");
        return;
    }
    if (strncmp (req->target, "/keep", 5) == 0)
        req->user = &s_marker;
}

static void
s_on_abandon (void *app, http_req_t *req)
{
    s_env_t *env = app;
    assert_ptr_equal (req->user, &s_marker);
    env->abandoned++;
}

static void
s_client_early (void *arg)
{
    s_env_t *env = arg;
    static s_in_t in;
    s_ngot = 0;
    s_closed_flag = true;
    /* refused with 10 MB announced and none sent: answered, closed */
    int fd = s_connect (env->port);
    const char *r = "POST /deny HTTP/1.1\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n";
    s_send (fd, r, strlen (r));
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag &= s_closed (fd);
    close (fd);
    /* the refused client sends its body anyway: still one answer, and closed */
    fd = s_connect (env->port);
    r = "POST /deny HTTP/1.1\r\nContent-Length: 300000\r\n\r\n";
    s_send (fd, r, strlen (r));
    static char junk[300000];
    memset (junk, 'j', sizeof junk);
    s_send (fd, junk, sizeof junk);
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag &= s_closed (fd);
    close (fd);
    /* state attached at the headers: the request completes (on_request), or
     * the client leaves mid-body, or the body is too large (on_abandon) */
    fd = s_connect (env->port);
    r = "POST /keep HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
    s_send (fd, r, strlen (r));
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (fd);
    fd = s_connect (env->port);
    r = "POST /keep HTTP/1.1\r\nContent-Length: 400\r\n\r\nab";
    s_send (fd, r, strlen (r));
    usleep (100 * 1000);
    close (fd);
    fd = s_connect (env->port);
    r = "POST /keep HTTP/1.1\r\nContent-Length: 2000\r\n\r\n";
    s_send (fd, r, strlen (r));
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (fd);
    usleep (100 * 1000);
}

static void
test_early_answer (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .max_body_bytes = 1000, .on_headers = s_on_headers_edge,
                              .on_abandon = s_on_abandon };
    s_run (&env, cfg, s_client_early);
    assert_int_equal (s_ngot, 4);
    assert_int_equal (s_got[0].status, 401);          /* not 100 Continue, not 413 */
    assert_string_equal (s_got[0].connection, "close");
    assert_non_null (strstr (s_got[0].body, "unauthenticated"));
    assert_int_equal (s_got[1].status, 401);
    assert_true (s_closed_flag);
    assert_int_equal (s_got[2].status, 200);
    assert_string_equal (s_got[2].body, "{\"target\":\"/keep\",\"n\":4}");
    assert_int_equal (s_got[3].status, 413);
    assert_int_equal (env.requests, 1);               /* only the complete /keep */
    assert_int_equal (env.abandoned, 2);              /* the one that left, the 413 */
}

static void
s_client_budget (void *arg)
{
    s_env_t *env = arg;
    static s_in_t in_a, in;
    static char body[15000];
    memset (body, 'b', sizeof body);
    s_ngot = 0;
    /* A announces 15000 bytes and sends half: paid for whole */
    int a = s_connect (env->port);
    const char *r = "POST /a HTTP/1.1\r\nContent-Length: 15000\r\n\r\n";
    s_send (a, r, strlen (r));
    s_send (a, body, 7000);
    usleep (100 * 1000);
    /* B's 10000 would pass the 20000 budget: 503 before its body */
    int b = s_connect (env->port);
    r = "POST /b HTTP/1.1\r\nContent-Length: 10000\r\n\r\n";
    s_send (b, r, strlen (r));
    in.len = 0;
    if (s_read (b, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag = s_closed (b);
    close (b);
    /* a chunked body grows into the budget too */
    b = s_connect (env->port);
    r = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2710\r\n";
    s_send (b, r, strlen (r));
    s_send (b, body, 10000);
    in.len = 0;
    if (s_read (b, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (b);
    /* A finishes: answered; then B's size fits again */
    s_send (a, body, 8000);
    in_a.len = 0;
    if (s_read (a, &in_a, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (a);
    usleep (100 * 1000);
    b = s_connect (env->port);
    r = "POST /b HTTP/1.1\r\nContent-Length: 10000\r\n\r\n";
    s_send (b, r, strlen (r));
    s_send (b, body, 10000);
    in.len = 0;
    if (s_read (b, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (b);
}

static void
test_buffer_budget (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .max_body_bytes = 100000, .buffer_max = 20000 };
    s_run (&env, cfg, s_client_budget);
    assert_int_equal (s_ngot, 4);
    assert_int_equal (s_got[0].status, 503);
    assert_string_equal (s_got[0].retry_after, HTTP_RETRY_AFTER);
    assert_string_equal (s_got[0].connection, "close");
    assert_non_null (strstr (s_got[0].body, "service_unavailable"));
    assert_true (s_closed_flag);
    assert_int_equal (s_got[1].status, 503);
    assert_int_equal (s_got[2].status, 200);
    assert_string_equal (s_got[2].body, "{\"target\":\"/a\",\"n\":15000}");
    assert_int_equal (s_got[3].status, 200);
    assert_string_equal (s_got[3].body, "{\"target\":\"/b\",\"n\":10000}");
}

static void
s_client_per_addr (void *arg)
{
    s_env_t *env = arg;
    static s_in_t in;
    s_ngot = 0;
    int held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = s_connect (env->port);
        s_send (held[i], "GET /x HTTP/1.1\r\n\r\n", 19);
        in.len = 0;
        if (s_read (held[i], &in, &s_got[s_ngot]) == 0)
            s_ngot++;
    }
    int fd = s_connect (env->port);                    /* the third: 429 at once */
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    s_closed_flag = s_closed (fd);
    close (fd);
    close (held[0]);
    usleep (100 * 1000);
    fd = s_connect (env->port);                        /* room again */
    s_send (fd, "GET /y HTTP/1.1\r\n\r\n", 19);
    in.len = 0;
    if (s_read (fd, &in, &s_got[s_ngot]) == 0)
        s_ngot++;
    close (fd);
    close (held[1]);
}

static void
test_conn_per_addr (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .conn_per_addr = 2 };
    s_run (&env, cfg, s_client_per_addr);
    assert_int_equal (s_ngot, 4);
    assert_int_equal (s_got[0].status, 200);
    assert_int_equal (s_got[1].status, 200);
    assert_int_equal (s_got[2].status, 429);
    assert_string_equal (s_got[2].retry_after, HTTP_RETRY_AFTER);
    assert_string_equal (s_got[2].connection, "close");
    assert_non_null (strstr (s_got[2].body, "rate_limited"));
    assert_true (s_closed_flag);
    assert_int_equal (s_got[3].status, 200);
}

static void
s_client_slow_headers (void *arg)
{
    s_env_t *env = arg;
    int fd = s_connect (env->port);
    const char *r = "GET /x HTTP/1.1\r\nX-Slow: ";
    s_send (fd, r, strlen (r));
    uint64_t t0 = uv_hrtime ();
    /* a byte every 50 ms keeps arriving, but the headers never complete */
    bool closed = false;
    for (int i = 0; i < 100 && !closed; i++) {
        if (send (fd, "y", 1, MSG_NOSIGNAL) != 1)
            closed = true;
        char b[64];
        struct timeval tv = { .tv_usec = 50 * 1000 };
        setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv (fd, b, sizeof b, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            closed = true;
    }
    s_closed_flag = closed;
    s_got[0].status = (int) ((uv_hrtime () - t0) / 1000000);
    close (fd);
}

static void
test_header_timeout (void **state)
{
    (void) state;
    s_env_t env = { 0 };
    http_server_cfg_t cfg = { .idle_timeout_ms = 5000, .header_timeout_ms = 300 };
    s_run (&env, cfg, s_client_slow_headers);
    assert_true (s_closed_flag);
    assert_true (s_got[0].status >= 200 && s_got[0].status < 2000);
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
        cmocka_unit_test (test_budget),
        cmocka_unit_test (test_addrs),
        cmocka_unit_test (test_early_answer),
        cmocka_unit_test (test_buffer_budget),
        cmocka_unit_test (test_conn_per_addr),
        cmocka_unit_test (test_header_timeout),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
