/* http_conn: the HTTP/1.1 server and its connections; see http_conn.h.
 *
 * A connection is in one of these states:
 *   READING     waiting for / parsing a request; the idle timer runs
 *   PROCESSING  the application has the request; reading is stopped, no timer
 *   WRITING     the response is being written; the timer catches a client
 *               that does not read
 *   LINGER      an answer that ends the connection was written: write side
 *               shut, input dropped until EOF or HTTP_LINGER_MS
 * Closing is separate: once uv_close is called the connection is freed when
 * both its handles are closed and the application no longer holds its request. */
#include "http_conn.h"

#include "http_limits.h"
#include "http_response.h"
#include "log.h"

#include <assert.h>
#include <http_parser.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A buffer of a connection. paid: what it has taken from the server's
 * budget (http_limits.h), at least cap: a body is paid for as announced,
 * before its bytes arrive and the buffer grows. */
typedef struct {
    char *data;
    size_t len, cap;
    size_t paid;
} s_buf_t;

/* The headers we keep; all others are only counted. */
enum { H_CONTENT_TYPE, H_AUTHORIZATION, H_REQUEST_ID, H_IDEMPOTENCY_KEY, H_EXPECT, H_FILENAME,
       H_COUNT };
static const char *const s_header_names[H_COUNT] = {
    "content-type", "authorization", "x-request-id", "idempotency-key", "expect", "x-filename"
};

typedef enum { S_READING, S_PROCESSING, S_WRITING, S_LINGER } s_state_t;

/* What a connection needs only while a request is in flight: taken from
 * the server's free list at a request's first byte (or when an answer is
 * made before any), given back once the answer is written. An idle
 * keep-alive connection holds none of it, so 10,000 of them cost their
 * handles and little more (about 1.1 KB each). */
#define S_HB_INLINE    2048          /* request line + kept headers, without a malloc */
#define S_BLOCKS_FREE  256           /* blocks kept on the free list; more go back to malloc */
#define S_PEND_MAX     (64 * 1024)   /* bytes read ahead of an unanswered request: then reading stops */
typedef struct s_block s_block_t;
struct s_block {
    s_block_t *next;                 /* the free list */
    uv_write_t write_req;            /* the response */
    uv_write_t continue_req;         /* "100 Continue" */
    char head[HTTP_HEAD_MAX];        /* the response's header block */
    char hb[S_HB_INLINE];
};

typedef struct s_conn s_conn_t;
struct s_conn {
    uv_tcp_t tcp;                    /* first: the handle's address is the connection's */
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    http_parser parser;
    http_server_t *server;
    s_conn_t *prev, *next;
    s_block_t *blk;                  /* while a request is in flight, else NULL */
    s_state_t state;
    int handles_open;                /* 2 until both close callbacks ran */
    bool closing;                    /* uv_close called */
    bool reading;                    /* uv_read_start in effect */
    bool in_app;                     /* the application holds req */
    bool close_after;                /* close once the current response is written */
    bool peer_eof;
    bool early;                      /* on_headers runs: an answer now comes before the body */
    bool addr_counted;               /* addr holds one of http_addrs' counts */
    http_addr_t addr;
    /* parsing of the current request */
    bool in_message;                 /* bytes of a request arrived */
    bool ready;                      /* on_message_complete ran */
    bool in_field;                   /* a header name is being read (maybe in pieces) */
    bool headers_done;               /* on_headers_complete ran: trailers are not kept */
    int fail_status;                 /* 400, 413, 431, 503 set by a callback that refused */
    int cur_header;                  /* index into s_header_names, -1 for others */
    int open_item;                   /* S_ITEM_URL, a kept header's index, or S_ITEM_NONE */
    unsigned seen;                   /* bit per kept header */
    size_t header_bytes;
    size_t field_len;
    char field[32];
    /* the request line's target and the kept header values, one after
     * another (each NUL-terminated) in one buffer: the block's hb, or a
     * malloc'ed one when they do not fit; items are offsets into it */
    s_buf_t hb;
    size_t url_off, url_len;
    size_t h_off[H_COUNT], h_len[H_COUNT];
    s_buf_t body;
    /* bytes read past the current request (pipelining, or read while it is answered) */
    s_buf_t pend;
    size_t pend_off;
    /* the response being written */
    char *resp_body;
    bool resp_body_owned;
    http_req_t req;
};

enum { S_ITEM_NONE = -2, S_ITEM_URL = -1 };

struct http_server {
    uv_tcp_t listener;
    uv_loop_t *loop;
    http_server_cfg_t cfg;
    bool listening;
    bool stopping;
    s_conn_t *conns;
    size_t nconns;
    void (*on_drained) (void *arg);
    void *drained_arg;
    int port;
    http_budget_t budget;            /* bytes buffered across all connections */
    http_addrs_t *addrs;             /* connections per client address */
    uint64_t refused_log_sec;        /* refusals (429, 503) are logged once a second */
    size_t refused_unlogged;
    s_block_t *blocks;               /* free in-flight blocks */
    size_t nblocks;
    /* one read buffer for all connections: a read callback consumes it
     * before the next read, and what is not parsed at once goes to pend */
    char rbuf[64 * 1024];
    uint64_t date_sec;
    char date[32];
};

static http_parser_settings s_settings;

static void s_close (s_conn_t *c);
static void s_resume (s_conn_t *c);
static void s_fail (s_conn_t *c, int status);

/* --- small buffers, paid for from the server's budget ----------------------- */

/* Pays for n bytes of b in advance (an announced body); -1 (fail_status
 * 503) when the server's budget has no room. */
static int
s_buf_prepay (s_conn_t *c, s_buf_t *b, size_t n)
{
    if (n <= b->paid)
        return 0;
    if (!http_budget_take (&c->server->budget, n - b->paid)) {
        if (!c->fail_status)
            c->fail_status = 503;
        return -1;
    }
    b->paid = n;
    return 0;
}

/* Grows b to hold cap bytes, paying for what was not paid yet. */
static int
s_buf_grow (s_conn_t *c, s_buf_t *b, size_t cap)
{
    if (cap <= b->cap)
        return 0;
    if (s_buf_prepay (c, b, cap) != 0)
        return -1;
    char *p = realloc (b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int
s_buf_append (s_conn_t *c, s_buf_t *b, const char *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (s_buf_grow (c, b, cap) != 0)
            return -1;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

static void
s_buf_free (s_conn_t *c, s_buf_t *b)
{
    http_budget_give (&c->server->budget, b->paid);
    free (b->data);
    memset (b, 0, sizeof *b);
}

/* --- the in-flight block and the header buffer ----------------------------- */

static s_block_t *
s_block_take (s_conn_t *c)
{
    if (c->blk)
        return c->blk;
    http_server_t *srv = c->server;
    s_block_t *b = srv->blocks;
    if (b) {
        srv->blocks = b->next;
        srv->nblocks--;
    }
    else
    if (!(b = malloc (sizeof *b)))
        return NULL;
    c->blk = b;
    return b;
}

static void
s_block_give (s_conn_t *c)
{
    s_block_t *b = c->blk;
    if (!b)
        return;
    c->blk = NULL;
    http_server_t *srv = c->server;
    if (srv->nblocks < S_BLOCKS_FREE) {
        b->next = srv->blocks;
        srv->blocks = b;
        srv->nblocks++;
    }
    else
        free (b);
}

static void
s_blocks_free (http_server_t *srv)
{
    while (srv->blocks) {
        s_block_t *next = srv->blocks->next;
        free (srv->blocks);
        srv->blocks = next;
    }
    srv->nblocks = 0;
}

static bool
s_hb_inline (const s_conn_t *c)
{
    return c->blk && c->hb.data == c->blk->hb;
}

/* The header buffer starts in the block, paid for whole when the request
 * begins (-1, fail_status 503, when the budget has no room), and moves to
 * the heap only when a request line and its kept headers do not fit. */
static int
s_hb_start (s_conn_t *c)
{
    if (c->hb.data)
        return 0;
    if (!s_block_take (c))
        return -1;
    c->hb.data = c->blk->hb;
    c->hb.cap = S_HB_INLINE;
    c->hb.len = 0;
    c->hb.data[0] = 0;
    return s_buf_prepay (c, &c->hb, S_HB_INLINE);
}

static int
s_hb_append (s_conn_t *c, const char *data, size_t len)
{
    s_buf_t *b = &c->hb;
    if (!b->data && s_hb_start (c) != 0)
        return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (s_buf_prepay (c, b, cap) != 0)
            return -1;
        bool moving = s_hb_inline (c);
        char *p = moving ? malloc (cap) : realloc (b->data, cap);
        if (!p)
            return -1;
        if (moving)
            memcpy (p, b->data, b->len + 1);
        b->data = p;
        b->cap = cap;
    }
    memcpy (b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

static void
s_hb_release (s_conn_t *c)
{
    if (c->hb.data && !s_hb_inline (c))
        free (c->hb.data);
    http_budget_give (&c->server->budget, c->hb.paid);
    memset (&c->hb, 0, sizeof c->hb);
}

/* An item (the target, a kept header's value) begins where the buffer
 * ends; it ends with its NUL, kept, when the next begins or the headers
 * are complete. */
static void
s_item_close (s_conn_t *c)
{
    if (c->open_item != S_ITEM_NONE)
        c->hb.len++;                 /* the NUL s_hb_append wrote */
    c->open_item = S_ITEM_NONE;
}

static int
s_item_open (s_conn_t *c, int item)
{
    s_item_close (c);
    if (s_hb_append (c, "", 0) != 0)
        return -1;
    if (item == S_ITEM_URL) {
        c->url_off = c->hb.len;
        c->url_len = 0;
    }
    else {
        c->h_off[item] = c->hb.len;
        c->h_len[item] = 0;
    }
    c->open_item = item;
    return 0;
}

/* --- the date header, formatted once a second ----------------------------- */

static const char *
s_date (http_server_t *srv)
{
    uint64_t now = uv_now (srv->loop) / 1000;
    if (now != srv->date_sec || !srv->date[0]) {
        srv->date_sec = now;
        http_date (time (NULL), srv->date);
    }
    return srv->date;
}

/* --- parser callbacks ------------------------------------------------------ */

static int
s_count (s_conn_t *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > c->server->cfg.max_header_bytes) {
        c->fail_status = 431;
        return -1;
    }
    return 0;
}

static void s_arm (s_conn_t *c, uint64_t ms);

static int
s_on_message_begin (http_parser *p)
{
    s_conn_t *c = p->data;
    c->in_message = true;
    c->req.start_ns = uv_hrtime ();
    /* the request line and headers have a short while to arrive, so that a
     * client sending a byte now and then (slowloris) does not hold the
     * connection for the whole idle timeout */
    s_arm (c, c->server->cfg.header_timeout_ms);
    return s_hb_start (c);
}

static int
s_on_url (http_parser *p, const char *at, size_t len)
{
    s_conn_t *c = p->data;
    if (s_count (c, len))
        return -1;
    if (c->open_item != S_ITEM_URL && s_item_open (c, S_ITEM_URL) != 0)
        return -1;
    if (s_hb_append (c, at, len) != 0)
        return -1;
    c->url_len += len;
    return 0;
}

static int
s_on_header_field (http_parser *p, const char *at, size_t len)
{
    s_conn_t *c = p->data;
    if (s_count (c, len))
        return -1;
    if (!c->in_field) {              /* a new name; else the rest of one split across reads */
        c->in_field = true;
        c->field_len = 0;
        s_item_close (c);            /* the target, or the previous kept value */
    }
    /* the names we keep are short: a longer one is simply not ours */
    if (c->field_len + len < sizeof c->field)
        memcpy (c->field + c->field_len, at, len);
    c->field_len += len;
    return 0;
}

static int
s_on_header_value (http_parser *p, const char *at, size_t len)
{
    s_conn_t *c = p->data;
    if (s_count (c, len))
        return -1;
    if (c->in_field) {               /* the name is complete: which header is it? */
        c->in_field = false;
        c->cur_header = -1;
        if (c->field_len < sizeof c->field)
            for (int i = 0; i < H_COUNT; i++)
                if (strlen (s_header_names[i]) == c->field_len
                    && strncasecmp (c->field, s_header_names[i], c->field_len) == 0) {
                    /* two Authorization or Content-Type headers: which one
                     * would a proxy in front of us have looked at? Refuse. */
                    if (c->seen & (1u << i)) {
                        c->fail_status = 400;
                        return -1;
                    }
                    c->seen |= 1u << i;
                    /* a trailer is counted and checked, not kept: the
                     * buffer must not move under the request's pointers */
                    if (!c->headers_done) {
                        if (s_item_open (c, i) != 0)
                            return -1;
                        c->cur_header = i;
                    }
                    break;
                }
    }
    if (c->cur_header >= 0) {
        if (s_hb_append (c, at, len) != 0)
            return -1;
        c->h_len[c->cur_header] += len;
    }
    return 0;
}

/* A kept header's value (trailing blanks trimmed), or NULL when absent;
 * valid once the headers are complete. */
static const char *
s_header (s_conn_t *c, int i)
{
    if (!(c->seen & (1u << i)) || !c->hb.data)
        return NULL;
    char *v = c->hb.data + c->h_off[i];
    size_t n = c->h_len[i];
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = 0;
    c->h_len[i] = n;
    return v;
}

static void s_on_continue_written (uv_write_t *w, int status) { (void) w; (void) status; }

/* The application's look at the headers (http_conn.h: on_headers). It may
 * answer now: then the body is never read. true when it did. */
static bool
s_headers_answered (s_conn_t *c)
{
    http_server_t *srv = c->server;
    if (!srv->cfg.on_headers)
        return false;
    c->early = true;
    c->in_app = true;
    c->state = S_PROCESSING;
    srv->cfg.on_headers (srv->cfg.app, &c->req);
    c->early = false;
    if (c->in_app) {                 /* not answered: the body comes */
        c->in_app = false;
        c->state = S_READING;
        return false;
    }
    return true;
}

static int
s_on_headers_complete (http_parser *p)
{
    s_conn_t *c = p->data;
    http_req_t *r = &c->req;
    if (p->http_major != 1) {
        c->fail_status = 400;        /* HTTP/1.0 and 1.1 only */
        return -1;
    }
    s_item_close (c);
    c->headers_done = true;
    if (!c->hb.data && s_hb_start (c) != 0)
        return -1;
    r->method = p->method;
    r->method_name = http_method_str (p->method);
    r->target = c->url_len ? c->hb.data + c->url_off : "";
    r->target_len = c->url_len;
    r->content_type = s_header (c, H_CONTENT_TYPE);
    r->authorization = s_header (c, H_AUTHORIZATION);
    r->idempotency_key = s_header (c, H_IDEMPOTENCY_KEY);
    r->filename = s_header (c, H_FILENAME);
    http_request_id (s_header (c, H_REQUEST_ID), r->request_id);

    bool chunked = p->flags & F_CHUNKED;
    bool has_length = p->flags & F_CONTENTLENGTH;
    r->has_body = chunked || (has_length && p->content_length > 0);
    r->content_length = has_length && !chunked ? p->content_length : 0;
    /* the application may refuse the request now (who is asking, may they),
     * or raise (or lower) the limit for this request, now that it knows the
     * target; nothing of the body is read yet */
    r->max_body_bytes = c->server->cfg.max_body_bytes;
    if (s_headers_answered (c))
        return -1;                   /* answered: s_feed stops here, the body is never read */
    if (!chunked && has_length && p->content_length > r->max_body_bytes) {
        /* -1, not 1: 1 would mean "no body" and the body would be parsed as
         * the next request */
        c->fail_status = 413;
        return -1;
    }
    /* the announced body is paid for from the server's budget now, whole,
     * so that uploads in flight together can never hold more than the
     * budget (503 if it has no room) ... */
    if (has_length && p->content_length > 0
        && s_buf_prepay (c, &c->body, (size_t) p->content_length + 1) != 0)
        return -1;
    /* ... but the buffer grows only as bytes arrive: room up front only up
     * to HTTP_BODY_PREALLOC_MAX (s_on_body grows it as they do) */
    if (has_length && p->content_length > 0 && s_buf_append (c, &c->body, "", 0) == 0) {
        size_t want = (p->content_length < HTTP_BODY_PREALLOC_MAX ? (size_t) p->content_length
                                                                  : HTTP_BODY_PREALLOC_MAX) + 1;
        if (s_buf_grow (c, &c->body, want) != 0)
            return -1;
    }
    /* the body has the idle timeout to arrive (from now, not from the first byte) */
    if (r->has_body)
        s_arm (c, c->server->cfg.idle_timeout_ms);
    /* a client that waits for "100 Continue" before sending its body */
    const char *expect = s_header (c, H_EXPECT);
    if (expect && r->has_body && strcasecmp (expect, "100-continue") == 0
        && (p->http_major > 1 || p->http_minor >= 1)) {
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_buf_t buf = uv_buf_init (cont, sizeof cont - 1);
        uv_write (&c->blk->continue_req, (uv_stream_t *) &c->tcp, &buf, 1, s_on_continue_written);
    }
    return 0;
}

static int
s_on_body (http_parser *p, const char *at, size_t len)
{
    s_conn_t *c = p->data;
    if (c->body.len + len > c->req.max_body_bytes) {
        c->fail_status = 413;        /* chunked bodies are counted here */
        return -1;
    }
    /* a large announced body: grow once to what is still to come, not by
     * doubling (content_length is what the parser has yet to read); it was
     * paid for when announced */
    if (!(p->flags & F_CHUNKED) && c->body.len + len + 1 > c->body.cap) {
        size_t want = c->body.len + len + (size_t) p->content_length + 1;
        if (want > c->req.max_body_bytes + 1)
            want = c->req.max_body_bytes + 1;
        if (s_buf_grow (c, &c->body, want) != 0)
            return -1;
    }
    return s_buf_append (c, &c->body, at, len);
}

static int
s_on_message_complete (http_parser *p)
{
    s_conn_t *c = p->data;
    c->req.body = c->body.data ? c->body.data : "";
    c->req.body_len = c->body.len;
    if (!http_should_keep_alive (p))
        c->close_after = true;
    c->ready = true;
    /* one request at a time: the rest waits until this one is answered */
    http_parser_pause (p, 1);
    return 0;
}

/* --- connection life ------------------------------------------------------- */

/* A request the application saw in on_headers (and attached state to) ends
 * without reaching on_request: it lets go. */
static void
s_abandon (s_conn_t *c)
{
    http_server_t *srv = c->server;
    if (c->req.user && !c->in_app && srv->cfg.on_abandon)
        srv->cfg.on_abandon (srv->cfg.app, &c->req);
    c->req.user = NULL;
}

static void
s_free (s_conn_t *c)
{
    http_server_t *srv = c->server;
    s_abandon (c);
    if (c->addr_counted)
        http_addrs_release (srv->addrs, &c->addr);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    s_hb_release (c);
    s_buf_free (c, &c->body);
    s_buf_free (c, &c->pend);
    s_block_give (c);
    if (c->resp_body_owned)
        free (c->resp_body);
    free (c);
    if (srv->stopping && srv->nconns == 0 && srv->on_drained) {
        void (*fn) (void *) = srv->on_drained;
        srv->on_drained = NULL;
        fn (srv->drained_arg);
    }
}

static void
s_on_close (uv_handle_t *h)
{
    s_conn_t *c = h->data;
    if (--c->handles_open == 0 && !c->in_app)
        s_free (c);
}

static void
s_close (s_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_timer_stop (&c->timer);
    uv_close ((uv_handle_t *) &c->tcp, s_on_close);
    uv_close ((uv_handle_t *) &c->timer, s_on_close);
}

static void
s_on_timer (uv_timer_t *t)
{
    s_conn_t *c = t->data;
    /* READING: idle keep-alive or a request too slow to arrive; WRITING: a
     * client that does not read; LINGER: done waiting */
    s_close (c);
}

static void
s_arm (s_conn_t *c, uint64_t ms)
{
    uv_timer_start (&c->timer, s_on_timer, ms, 0);
}

static void
s_on_alloc (uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void) suggested;
    s_conn_t *c = h->data;
    buf->base = c->server->rbuf;
    buf->len = sizeof c->server->rbuf;
}

static void s_on_read (uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Reading stays on while a request is answered (no epoll_ctl pair per
 * request); it stops only for a refusal, a client that reads ahead more
 * than S_PEND_MAX, and EOF. -1 when it cannot start. */
static int
s_read_on (s_conn_t *c)
{
    if (c->reading)
        return 0;
    if (uv_read_start ((uv_stream_t *) &c->tcp, s_on_alloc, s_on_read) != 0)
        return -1;
    c->reading = true;
    return 0;
}

static void
s_read_off (s_conn_t *c)
{
    if (c->reading)
        uv_read_stop ((uv_stream_t *) &c->tcp);
    c->reading = false;
}

static void
s_on_shutdown (uv_shutdown_t *req, int status)
{
    (void) req;
    (void) status;
}

/* The answer was the last: shut the write side so the client sees EOF, and
 * keep reading (and dropping) what it still sends, so its unread bytes do not
 * make our kernel answer with a reset that could destroy the response. */
static void
s_linger (s_conn_t *c)
{
    if (c->closing)
        return;
    if (c->peer_eof) {
        s_close (c);
        return;
    }
    c->state = S_LINGER;
    if (uv_shutdown (&c->shutdown_req, (uv_stream_t *) &c->tcp, s_on_shutdown) != 0
        || s_read_on (c) != 0) {
        s_close (c);
        return;
    }
    s_arm (c, HTTP_LINGER_MS);
}

static void
s_req_reset (s_conn_t *c)
{
    s_abandon (c);
    /* the request's buffers go back: an idle connection holds none */
    s_hb_release (c);
    s_buf_free (c, &c->body);
    s_block_give (c);
    c->open_item = S_ITEM_NONE;
    c->url_off = c->url_len = 0;
    memset (c->h_off, 0, sizeof c->h_off);
    memset (c->h_len, 0, sizeof c->h_len);
    c->in_message = false;
    c->ready = false;
    c->in_field = false;
    c->headers_done = false;
    c->fail_status = 0;
    c->cur_header = -1;
    c->seen = 0;
    c->header_bytes = 0;
    c->field_len = 0;
    memset (&c->req, 0, sizeof c->req);
    c->req.route = -1;
    c->req.target = "";
    c->req.body = "";
    c->req.method_name = "";
}

/* Hands the complete request to the application. */
static void
s_dispatch (s_conn_t *c)
{
    c->state = S_PROCESSING;
    c->in_app = true;
    uv_timer_stop (&c->timer);
    if (c->parser.upgrade)
        c->close_after = true;       /* we speak no other protocol: what follows is not ours */
    c->server->cfg.on_request (c->server->cfg.app, &c->req);
}

/* Feeds bytes to the parser; returns how many it took. Afterwards either
 * c->ready (a request to dispatch), or a failure was answered, or all was taken. */
static size_t
s_feed (s_conn_t *c, const char *data, size_t len)
{
    size_t n = http_parser_execute (&c->parser, &s_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO (&c->parser);
    if (e == HPE_PAUSED && c->ready)
        return n;
    if (c->state != S_READING || c->closing)
        return len;                  /* answered from on_headers: the rest is not read */
    if (e != HPE_OK) {
        int status = c->fail_status ? c->fail_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
        s_fail (c, status);
        return len;
    }
    return n;
}

static void
s_on_read (uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    s_conn_t *c = s->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        if (nread == UV_EOF) {
            c->reading = false;      /* libuv stopped reading */
            if (c->state == S_PROCESSING || c->state == S_WRITING) {
                /* the client shut its side after its request(s): it still
                 * gets the answers; s_resume closes once they are out */
                c->peer_eof = true;
                return;
            }
            if (c->state == S_READING && !c->in_message)
                c->peer_eof = true;
        }
        /* EOF or reset: whatever was half received is dropped (and a
         * request being answered is answered to no one: http_req_gone) */
        s_close (c);
        return;
    }
    if (c->state == S_LINGER)
        return;
    if (c->state != S_READING) {
        /* bytes of the next requests while this one is answered: kept
         * (the consumed part dropped first) until it is; past S_PEND_MAX
         * reading stops, so a client that sends faster than we answer
         * meets its kernel's buffers */
        if (c->pend_off) {
            memmove (c->pend.data, c->pend.data + c->pend_off, c->pend.len - c->pend_off);
            c->pend.len -= c->pend_off;
            c->pend_off = 0;
        }
        if (s_buf_append (c, &c->pend, buf->base, (size_t) nread) != 0) {
            /* no room (the budget): these bytes are lost, so the stream
             * cannot go on past this answer, which still goes out */
            c->close_after = true;
            s_read_off (c);
            return;
        }
        if (c->pend.len >= S_PEND_MAX)
            s_read_off (c);
        return;
    }
    size_t n = s_feed (c, buf->base, (size_t) nread);
    if (!c->ready)
        return;
    /* a complete request: keep what follows for when it is answered */
    if (n < (size_t) nread && s_buf_append (c, &c->pend, buf->base + n, (size_t) nread - n) != 0) {
        s_close (c);
        return;
    }
    if (c->pend.len >= S_PEND_MAX)
        s_read_off (c);
    s_dispatch (c);
}

/* The response is out: next request, from the bytes already here or the socket. */
static void
s_resume (s_conn_t *c)
{
    c->state = S_READING;
    s_req_reset (c);
    if (c->close_after || c->server->stopping) {
        s_linger (c);
        return;
    }
    http_parser_pause (&c->parser, 0);
    while (c->pend_off < c->pend.len) {
        size_t n = s_feed (c, c->pend.data + c->pend_off, c->pend.len - c->pend_off);
        c->pend_off += n;
        if (c->state != S_READING)
            return;                  /* failed and answered */
        if (c->ready) {
            s_dispatch (c);
            return;
        }
    }
    c->pend_off = 0;
    s_buf_free (c, &c->pend);
    if (c->peer_eof || s_read_on (c) != 0) {
        s_close (c);                 /* the client said all it had to say */
        return;
    }
    s_arm (c, c->server->cfg.idle_timeout_ms);
}

static void
s_on_written (uv_write_t *w, int status)
{
    s_conn_t *c = w->data;
    if (c->resp_body_owned)
        free (c->resp_body);
    c->resp_body = NULL;
    c->resp_body_owned = false;
    if (c->closing)
        return;
    if (status < 0) {
        s_close (c);
        return;
    }
    uv_timer_stop (&c->timer);
    s_resume (c);
}

/* Writes head + body; the connection goes to WRITING. */
static void
s_write (s_conn_t *c, int status, const char *content_type, char *body, size_t len,
         bool owned, const char *extra, bool head_only)
{
    http_server_t *srv = c->server;
    if (srv->stopping)
        c->close_after = true;
    http_conn_mode_t mode = c->close_after ? HTTP_CONN_CLOSE
                          : (c->parser.http_major == 1 && c->parser.http_minor == 0)
                                ? HTTP_CONN_KEEP_ALIVE : HTTP_CONN_KEEP;
    if (extra && strnlen (extra, HTTP_EXTRA_MAX + 1) > HTTP_EXTRA_MAX)
        extra = NULL;                /* a programming error; the response still goes out */
    if (!s_block_take (c)) {
        if (owned)
            free (body);
        s_close (c);
        return;
    }
    int n = http_format_head (c->blk->head, sizeof c->blk->head, status, content_type, len,
                              c->req.request_id[0] ? c->req.request_id : "-", mode,
                              s_date (srv), extra);
    if (n < 0) {
        if (owned)
            free (body);
        s_close (c);
        return;
    }
    c->resp_body = body;
    c->resp_body_owned = owned;
    uv_buf_t bufs[2] = { uv_buf_init (c->blk->head, (unsigned) n), uv_buf_init (body, (unsigned) len) };
    int nbufs = (body && len && !head_only) ? 2 : 1;
    c->state = S_WRITING;
    c->blk->write_req.data = c;
    if (uv_write (&c->blk->write_req, (uv_stream_t *) &c->tcp, bufs, (unsigned) nbufs, s_on_written) != 0) {
        if (owned)
            free (body);
        c->resp_body = NULL;
        c->resp_body_owned = false;
        s_close (c);
        return;
    }
    s_arm (c, srv->cfg.idle_timeout_ms);
}

/* Refusals a flood can cause (429, 503) are logged once a second, with how
 * many went unlogged, so that a flood does not also fill the disk. */
static bool
s_log_refusal (http_server_t *srv)
{
    uint64_t sec = uv_now (srv->loop) / 1000;
    if (sec == srv->refused_log_sec && srv->refused_log_sec) {
        srv->refused_unlogged++;
        return false;
    }
    srv->refused_log_sec = sec;
    return true;
}

/* The server answers a request it could not parse or accept (400, 413,
 * 431), one over the buffer budget (503) or a connection over its
 * address's cap (429), and closes. */
static void
s_fail (s_conn_t *c, int status)
{
    http_server_t *srv = c->server;
    s_abandon (c);
    s_read_off (c);
    c->close_after = true;
    if (!c->req.request_id[0])
        http_request_id (NULL, c->req.request_id);
    const char *code = status == 413 ? "payload_too_large" : status == 429 ? "rate_limited"
                     : status == 503 ? "service_unavailable" : "bad_request";
    const char *extra = NULL;
    char msg[128];
    if (status == 413)
        snprintf (msg, sizeof msg, "the body is larger than %zu bytes",
                  c->req.max_body_bytes ? c->req.max_body_bytes : srv->cfg.max_body_bytes);
    else if (status == 429)
        snprintf (msg, sizeof msg, "too many connections from your address (at most %zu)",
                  srv->cfg.conn_per_addr);
    else if (status == 503)
        snprintf (msg, sizeof msg, "the server is busy receiving other requests: retry later");
    else
        snprintf (msg, sizeof msg, status == 431 ? "the request's header block is larger than %zu bytes"
                                                 : "the request is not valid HTTP/1.1",
                  srv->cfg.max_header_bytes);
    if (status == 429 || status == 503)
        extra = "Retry-After: " HTTP_RETRY_AFTER "\r\n";
    char *body = env_error_body (code, msg, NULL, c->req.request_id);
    if (srv->cfg.on_done)
        srv->cfg.on_done (srv->cfg.app, &c->req, status);
    if (status != 429 && status != 503)
        log_info (c->req.request_id, "http %d: %s", status,
                  c->fail_status ? msg : http_errno_description (HTTP_PARSER_ERRNO (&c->parser)));
    else if (s_log_refusal (srv)) {
        log_warn (c->req.request_id, "http %d: %s (%zu more refusals unlogged; %zu bytes buffered)",
                  status, msg, srv->refused_unlogged, srv->budget.used);
        srv->refused_unlogged = 0;
    }
    s_write (c, status, "application/json", body, body ? strlen (body) : 0, true, extra, false);
}

/* --- accepting ------------------------------------------------------------- */

static void
s_on_connection (uv_stream_t *listener, int status)
{
    http_server_t *srv = listener->data;
    if (status < 0) {
        log_warn (NULL, "accept: %s", uv_strerror (status));
        return;
    }
    s_conn_t *c = calloc (1, sizeof *c);
    if (!c)
        return;
    c->server = srv;
    c->open_item = S_ITEM_NONE;
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    uv_tcp_init (srv->loop, &c->tcp);
    uv_timer_init (srv->loop, &c->timer);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (uv_accept (listener, (uv_stream_t *) &c->tcp) != 0) {
        s_close (c);
        return;
    }
    if (srv->nconns > srv->cfg.max_connections || srv->stopping) {
        s_close (c);                 /* over the limit: refuse by closing */
        return;
    }
    uv_tcp_nodelay (&c->tcp, 1);
    http_parser_init (&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    s_req_reset (c);
    c->state = S_READING;
    /* one address may hold only so many connections: the next is answered
     * 429 at once (before it sends anything) and closed */
    struct sockaddr_storage peer;
    int plen = sizeof peer;
    if (uv_tcp_getpeername (&c->tcp, (struct sockaddr *) &peer, &plen) == 0
        && http_addr_key ((struct sockaddr *) &peer, &c->addr) == 0) {
        if (http_addrs_acquire (srv->addrs, &c->addr) != 0) {
            s_fail (c, 429);
            return;
        }
        c->addr_counted = true;
    }
    if (s_read_on (c) != 0) {
        s_close (c);
        return;
    }
    s_arm (c, srv->cfg.idle_timeout_ms);
}

static void
s_on_listener_closed (uv_handle_t *h)
{
    http_server_t *self = h->data;
    http_addrs_destroy (&self->addrs);
    free (self);
}

http_server_t *
http_server_new (uv_loop_t *loop, const http_server_cfg_t *cfg, int *err)
{
    s_settings.on_message_begin = s_on_message_begin;
    s_settings.on_url = s_on_url;
    s_settings.on_header_field = s_on_header_field;
    s_settings.on_header_value = s_on_header_value;
    s_settings.on_headers_complete = s_on_headers_complete;
    s_settings.on_body = s_on_body;
    s_settings.on_message_complete = s_on_message_complete;

    http_server_t *self = calloc (1, sizeof *self);
    if (!self) {
        *err = UV_ENOMEM;
        return NULL;
    }
    self->loop = loop;
    self->cfg = *cfg;
    if (!self->cfg.max_header_bytes)
        self->cfg.max_header_bytes = HTTP_MAX_HEADER_BYTES;
    if (!self->cfg.max_body_bytes)
        self->cfg.max_body_bytes = HTTP_MAX_BODY_BYTES;
    if (!self->cfg.idle_timeout_ms)
        self->cfg.idle_timeout_ms = HTTP_IDLE_TIMEOUT_MS;
    if (!self->cfg.max_connections)
        self->cfg.max_connections = HTTP_MAX_CONNECTIONS;
    if (!self->cfg.header_timeout_ms)
        self->cfg.header_timeout_ms = HTTP_HEADER_TIMEOUT_MS;
    if (self->cfg.header_timeout_ms > self->cfg.idle_timeout_ms)
        self->cfg.header_timeout_ms = self->cfg.idle_timeout_ms;
    if (!self->cfg.buffer_max)
        self->cfg.buffer_max = HTTP_BUFFER_MAX;
    if (!self->cfg.conn_per_addr)
        self->cfg.conn_per_addr = HTTP_CONN_PER_ADDR;
    self->budget.max = self->cfg.buffer_max == HTTP_UNLIMITED ? 0 : self->cfg.buffer_max;
    uint64_t seed;
    randombytes_buf (&seed, sizeof seed);
    self->addrs = http_addrs_new (self->cfg.conn_per_addr == HTTP_UNLIMITED ? 0 : self->cfg.conn_per_addr,
                                  seed);
    if (!self->addrs) {
        *err = UV_ENOMEM;
        free (self);
        return NULL;
    }
    /* our own count (request line + header names and values) decides 431;
     * the parser's limit (which also counts CRLFs) sits a little above it */
    http_parser_set_max_header_size ((uint32_t) self->cfg.max_header_bytes + 16 * 1024);

    struct sockaddr_storage addr;
    int rc = uv_ip4_addr (cfg->host, cfg->port, (struct sockaddr_in *) &addr);
    if (rc != 0)
        rc = uv_ip6_addr (cfg->host, cfg->port, (struct sockaddr_in6 *) &addr);
    if (rc == 0)
        rc = uv_tcp_init (loop, &self->listener);
    if (rc != 0) {
        *err = rc;
        http_addrs_destroy (&self->addrs);
        free (self);
        return NULL;
    }
    self->listener.data = self;
    rc = uv_tcp_bind (&self->listener, (const struct sockaddr *) &addr, 0);
    if (rc == 0)
        rc = uv_listen ((uv_stream_t *) &self->listener, 1024, s_on_connection);
    if (rc != 0) {
        *err = rc;
        /* the handle's memory may go only in its close callback */
        uv_close ((uv_handle_t *) &self->listener, s_on_listener_closed);
        return NULL;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_tcp_getsockname (&self->listener, (struct sockaddr *) &bound, &blen) == 0)
        self->port = bound.ss_family == AF_INET6
                         ? ntohs (((struct sockaddr_in6 *) &bound)->sin6_port)
                         : ntohs (((struct sockaddr_in *) &bound)->sin_port);
    self->listening = true;
    *err = 0;
    return self;
}

void
http_server_stop (http_server_t *self, void (*on_drained) (void *arg), void *arg)
{
    if (self->stopping)
        return;
    self->stopping = true;
    self->on_drained = on_drained;
    self->drained_arg = arg;
    if (self->listening) {
        self->listening = false;
        uv_close ((uv_handle_t *) &self->listener, NULL);
    }
    for (s_conn_t *c = self->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == S_READING && !c->in_message)
            s_close (c);             /* idle */
        else
            c->close_after = true;   /* finishes its current exchange */
    }
    if (self->nconns == 0 && self->on_drained) {
        self->on_drained = NULL;
        on_drained (arg);
    }
}

void
http_server_close_all (http_server_t *self)
{
    for (s_conn_t *c = self->conns; c; c = c->next)
        s_close (c);
}

void
http_server_destroy (http_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_addrs_destroy (&(*self_p)->addrs);
    s_blocks_free (*self_p);
    free (*self_p);
    *self_p = NULL;
}

size_t
http_server_connections (const http_server_t *self)
{
    return self->nconns;
}

size_t
http_server_buffered (const http_server_t *self, size_t *peak)
{
    if (peak)
        *peak = self->budget.peak;
    return self->budget.used;
}

int
http_server_port (const http_server_t *self)
{
    return self->port;
}

/* --- answering ------------------------------------------------------------- */

static s_conn_t *
s_conn_of (http_req_t *req)
{
    return (s_conn_t *) ((char *) req - offsetof (s_conn_t, req));
}

bool
http_req_gone (const http_req_t *req)
{
    return s_conn_of ((http_req_t *) req)->closing;
}

void
http_respond (http_req_t *req, int status, const char *content_type, char *body, size_t len,
              unsigned flags, const char *extra)
{
    s_conn_t *c = s_conn_of (req);
    assert (c->in_app && c->state == S_PROCESSING);
    http_server_t *srv = c->server;
    c->in_app = false;
    if (srv->cfg.on_done)
        srv->cfg.on_done (srv->cfg.app, req, status);
    req->user = NULL;                /* the application is done with it */
    if (c->early) {
        /* answered from on_headers: the body (if any) is never read, so
         * this connection cannot carry another request */
        s_read_off (c);
        flags |= HTTP_CLOSE;
    }
    if (c->closing) {
        /* the client left while we worked: drop the answer */
        if (flags & HTTP_FREE_BODY)
            free (body);
        if (c->handles_open == 0)
            s_free (c);
        return;
    }
    if (flags & HTTP_CLOSE)
        c->close_after = true;
    /* 204 and 304 have no body by definition */
    if (status == 204 || status == 304) {
        if (flags & HTTP_FREE_BODY)
            free (body);
        body = NULL;
        len = 0;
        flags &= ~HTTP_FREE_BODY;
        content_type = NULL;
    }
    s_write (c, status, content_type, body, len, flags & HTTP_FREE_BODY, extra,
             req->method == HTTP_HEAD);
}

void
http_respond_error (http_req_t *req, int status, const char *code, const cJSON *details,
                    const char *message, const char *extra)
{
    char *body = env_error_body (code ? code : env_status_code (status), message, details,
                                 req->request_id);
    http_respond (req, status, "application/json", body, body ? strlen (body) : 0,
                  HTTP_FREE_BODY | (status == 413 ? HTTP_CLOSE : 0), extra);
}

int
http_req_peer (const http_req_t *req, struct sockaddr_storage *out)
{
    /* req is the connection's own member (s_conn_t.req) */
    const s_conn_t *c = (const s_conn_t *) (const void *) ((const char *) req - offsetof (s_conn_t, req));
    int len = (int) sizeof *out;
    if (c->closing || uv_tcp_getpeername (&c->tcp, (struct sockaddr *) out, &len) != 0)
        return -1;
    return 0;
}
