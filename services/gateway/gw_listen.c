/* gw_listen: LISTEN on a non-blocking libpq connection; see gw_listen.h. */
#include "gw_listen.h"

#include "log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { L_DOWN, L_CONNECTING, L_LISTEN_SENT, L_LISTENING } s_state_t;

struct gw_listen {
    uv_loop_t *loop;
    char *dsn;
    char channel[64];
    gw_listen_notify_fn *on_notify;
    gw_listen_state_fn *on_state;
    void *arg;
    PGconn *conn;
    s_state_t state;
    uv_poll_t *poll;                 /* heap: replaced when libpq's socket changes */
    int poll_fd;
    int poll_events;
    uv_timer_t timer;                /* the next connection attempt */
    uint64_t backoff_ms;
    int handles_open;                /* the timer and polls not yet closed */
    bool destroyed;
    bool warned;                     /* a failure was logged since the last success */
};

static void s_connect (gw_listen_t *self);

static void
s_on_timer (uv_timer_t *t)
{
    s_connect (t->data);
}

static void
s_maybe_free (gw_listen_t *self)
{
    if (self->destroyed && self->handles_open == 0) {
        free (self->dsn);
        free (self);
    }
}

static void
s_on_poll_closed (uv_handle_t *h)
{
    gw_listen_t *self = h->data;
    free (h);
    self->handles_open--;
    s_maybe_free (self);
}

static void
s_on_timer_closed (uv_handle_t *h)
{
    gw_listen_t *self = h->data;
    self->handles_open--;
    s_maybe_free (self);
}

static void
s_unwatch (gw_listen_t *self)
{
    if (!self->poll)
        return;
    uv_poll_stop (self->poll);
    uv_close ((uv_handle_t *) self->poll, s_on_poll_closed);
    self->poll = NULL;
    self->poll_fd = -1;
}

static void s_on_poll (uv_poll_t *p, int status, int events);

/* Watches libpq's socket for events; a new handle when the socket changed
 * (libpq may open another one while connecting). 0 or -1. */
static int
s_watch (gw_listen_t *self, int events)
{
    int fd = PQsocket (self->conn);
    if (fd < 0)
        return -1;
    if (self->poll && self->poll_fd != fd)
        s_unwatch (self);
    if (!self->poll) {
        uv_poll_t *p = malloc (sizeof *p);
        if (!p || uv_poll_init (self->loop, p, fd) != 0) {
            free (p);
            return -1;
        }
        p->data = self;
        uv_unref ((uv_handle_t *) p);
        self->poll = p;
        self->poll_fd = fd;
        self->handles_open++;
        self->poll_events = 0;
    }
    if (self->poll_events != events) {
        if (uv_poll_start (self->poll, events, s_on_poll) != 0)
            return -1;
        self->poll_events = events;
    }
    return 0;
}

/* The connection is gone (or never came): forget it, say so, try again later. */
static void
s_fail (gw_listen_t *self, const char *why)
{
    bool was_listening = self->state == L_LISTENING;
    char msg[200] = "";
    if (self->conn) {
        snprintf (msg, sizeof msg, "%s", PQerrorMessage (self->conn));
        msg[strcspn (msg, "\n")] = 0;
    }
    if (!self->warned || was_listening)
        log_warn (NULL, "LISTEN %s: %s%s%s; reconnecting", self->channel, why, msg[0] ? ": " : "", msg);
    self->warned = true;
    s_unwatch (self);
    if (self->conn)
        PQfinish (self->conn);
    self->conn = NULL;
    self->state = L_DOWN;
    if (self->destroyed)
        return;
    uv_timer_start (&self->timer, s_on_timer, self->backoff_ms, 0);
    self->backoff_ms *= 2;
    if (self->backoff_ms > GW_LISTEN_BACKOFF_MAX_MS)
        self->backoff_ms = GW_LISTEN_BACKOFF_MAX_MS;
    if (was_listening && self->on_state)
        self->on_state (self->arg, false);
}

/* Sends what libpq holds, then waits for input (and for room to write while
 * some is left). 0 or -1. */
static int
s_flush_and_watch (gw_listen_t *self)
{
    int r = PQflush (self->conn);
    if (r < 0)
        return -1;
    return s_watch (self, UV_READABLE | (r == 1 ? UV_WRITABLE : 0));
}

static void
s_connected (gw_listen_t *self)
{
    if (PQsetnonblocking (self->conn, 1) != 0) {
        s_fail (self, "cannot make the connection non-blocking");
        return;
    }
    char sql[96];
    snprintf (sql, sizeof sql, "LISTEN %s", self->channel);   /* checked: [a-z0-9_] */
    if (!PQsendQuery (self->conn, sql)) {
        s_fail (self, "cannot send LISTEN");
        return;
    }
    self->state = L_LISTEN_SENT;
    if (s_flush_and_watch (self) != 0)
        s_fail (self, "cannot send LISTEN");
}

static void
s_connect_step (gw_listen_t *self)
{
    /* libpq may close its socket and open another (same number, maybe)
     * while connecting: a fd must not be closed under an active poll */
    s_unwatch (self);
    switch (PQconnectPoll (self->conn)) {
    case PGRES_POLLING_OK:
        s_connected (self);
        return;
    case PGRES_POLLING_READING:
        if (s_watch (self, UV_READABLE) != 0)
            s_fail (self, "cannot watch the socket");
        return;
    case PGRES_POLLING_WRITING:
        if (s_watch (self, UV_WRITABLE) != 0)
            s_fail (self, "cannot watch the socket");
        return;
    default:
        s_fail (self, "cannot connect");
        return;
    }
}

static void
s_connect (gw_listen_t *self)
{
    if (self->destroyed)
        return;
    /* after "dbname" (which the DSN expands into): ours override */
    const char *keys[] = { "connect_timeout", "dbname", "application_name", "keepalives",
                           "keepalives_idle", "keepalives_interval", "keepalives_count", NULL };
    const char *vals[] = { "10", self->dsn, GW_LISTEN_APP_NAME, "1", "10", "5", "3", NULL };
    self->conn = PQconnectStartParams (keys, vals, 1);
    if (!self->conn || PQstatus (self->conn) == CONNECTION_BAD) {
        s_fail (self, "cannot start a connection");
        return;
    }
    self->state = L_CONNECTING;
    /* libpq: the first PQconnectPoll waits for the socket to be writable */
    if (s_watch (self, UV_WRITABLE) != 0)
        s_fail (self, "cannot watch the socket");
}

/* Input on a listening connection: the LISTEN's answer, notifications. */
static void
s_read (gw_listen_t *self)
{
    if (!PQconsumeInput (self->conn)) {
        s_fail (self, "connection lost");
        return;
    }
    while (!PQisBusy (self->conn)) {
        PGresult *res = PQgetResult (self->conn);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus (res);
        PQclear (res);
        if (self->state == L_LISTEN_SENT) {
            if (st != PGRES_COMMAND_OK) {
                s_fail (self, "LISTEN refused");
                return;
            }
            self->state = L_LISTENING;
            self->backoff_ms = GW_LISTEN_BACKOFF_MIN_MS;
            if (self->warned)
                log_info (NULL, "LISTEN %s: listening again", self->channel);
            self->warned = false;
            if (self->on_state)
                self->on_state (self->arg, true);
            if (self->destroyed)
                return;
        }
    }
    PGnotify *n;
    while (!self->destroyed && self->conn && (n = PQnotifies (self->conn))) {
        if (self->state == L_LISTENING && self->on_notify)
            self->on_notify (self->arg, n->extra);
        PQfreemem (n);
    }
    if (self->conn && PQstatus (self->conn) == CONNECTION_BAD)
        s_fail (self, "connection lost");
}

static void
s_on_poll (uv_poll_t *p, int status, int events)
{
    gw_listen_t *self = p->data;
    if (self->destroyed || p != self->poll)
        return;
    if (status < 0) {
        s_fail (self, uv_strerror (status));
        return;
    }
    if (self->state == L_CONNECTING) {
        s_connect_step (self);
        return;
    }
    if ((events & UV_WRITABLE) && s_flush_and_watch (self) != 0) {
        s_fail (self, "cannot write");
        return;
    }
    if (events & UV_READABLE)
        s_read (self);
}

gw_listen_t *
gw_listen_new (uv_loop_t *loop, const char *dsn, const char *channel,
               gw_listen_notify_fn *on_notify, gw_listen_state_fn *on_state, void *arg)
{
    size_t n = channel ? strlen (channel) : 0;
    if (n < 1 || n > 63 || strspn (channel, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return NULL;
    gw_listen_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->dsn = strdup (dsn ? dsn : "");
    if (!self->dsn) {
        free (self);
        return NULL;
    }
    memcpy (self->channel, channel, n + 1);
    self->loop = loop;
    self->on_notify = on_notify;
    self->on_state = on_state;
    self->arg = arg;
    self->poll_fd = -1;
    self->backoff_ms = GW_LISTEN_BACKOFF_MIN_MS;
    uv_timer_init (loop, &self->timer);
    self->timer.data = self;
    uv_unref ((uv_handle_t *) &self->timer);
    self->handles_open = 1;
    s_connect (self);
    return self;
}

void
gw_listen_destroy (gw_listen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_listen_t *self = *self_p;
    *self_p = NULL;
    self->destroyed = true;
    s_unwatch (self);
    if (self->conn)
        PQfinish (self->conn);
    self->conn = NULL;
    uv_timer_stop (&self->timer);
    uv_close ((uv_handle_t *) &self->timer, s_on_timer_closed);
}

bool
gw_listen_listening (const gw_listen_t *self)
{
    return self && self->state == L_LISTENING;
}
