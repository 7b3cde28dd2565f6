/* worker: a service process's link to the broker; see worker.h and mdp.h.
 *
 * Heartbeats. The loop's timer sends HEARTBEAT every MDP_HEARTBEAT_MS and
 * counts down the broker's liveness (reset by anything the broker sends);
 * at zero the worker closes its DEALER, opens a fresh one and says READY
 * again, which is how a restarted broker learns about it. A handler runs to
 * completion on the loop thread and may take longer than the broker's
 * patience (a slow query, a call to another service), so while one runs a
 * small thread sends the heartbeats instead. ZeroMQ sockets may change
 * threads across a full memory barrier: the mutex is that barrier, and the
 * loop thread does not touch the socket while `busy` is set.
 *
 * The heartbeat thread is not woken for each request: signalling a
 * condition variable twice per request cost two to three context switches
 * and five futex calls, more than the rest of a short handler. While
 * requests come, it wakes every WORKER_HB_CHECK_MS on its own and sends a
 * HEARTBEAT when a handler has been running for MDP_HEARTBEAT_MS (so a
 * heartbeat is at most WORKER_HB_CHECK_MS later than before, well inside
 * the broker's MDP_HEARTBEAT_LIVENESS intervals). After WORKER_HB_PARK_MS
 * without a request it parks on the condition variable, and only then does
 * the next request signal it.
 *
 * A request whose deadline has passed is skipped: the handler does not run
 * and the broker gets a REPLY with an empty body frame, which frees this
 * worker for the next request and is forwarded to nobody.
 *
 * Several brokers (PM_BROKER_ENDPOINTS; docs/DESIGN.md "Two brokers"): a
 * link per broker, each with its own DEALER, READY, liveness, reconnect and
 * back-off, as the zguide's Majordomo worker does for one; a request is
 * answered on the link it came from (the other broker knows nothing of it),
 * and the heartbeat thread beats on every link. Requests from both are
 * served one at a time on the loop thread, in the order they are read. With
 * one broker there is one link, and everything is as it was. */
#include "worker.h"

#include "config.h"
#include "curve.h"
#include "health.h"
#include "idem.h"
#include "log.h"
#include "mdp.h"
#include "zloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define WORKER_CLOSE_LINGER_MS 200
/* The heartbeat thread's own period while requests come, and the quiet time
 * after which it parks until the next request. */
#define WORKER_HB_CHECK_MS     (MDP_HEARTBEAT_MS / 3)
#define WORKER_HB_PARK_MS      (MDP_HEARTBEAT_MS * 4)
/* A broker that answers READY with DISCONNECT refuses this worker (an older
 * pm-broker, which does not know READY's credit frame): saying READY again at
 * once would do so hundreds of times a second. The next try waits from one
 * heartbeat, doubling up to this. */
#define WORKER_REFUSED_MAX_MS  5000
#define WORKER_IDEM_CLEANUP_MS (3600 * 1000)  /* how often old idempotency records go */

typedef struct {
    worker_t *owner;
    int index;
    char endpoint[512];
    void *sock;                      /* written under owner->lock (the heartbeat thread reads it) */
    zloop_sock_t *zs;
    int liveness;
    bool heard;                      /* the broker spoke since the last (re)connect */
    int refused_ms;                  /* back-off after a refused READY; 0: none */
    int64_t retry_at;                /* monotonic ms before which no READY is sent */
    bool ready_due;                  /* READY could not leave yet (several brokers); under lock */
} worker_link_t;

struct worker {
    uv_loop_t *loop;
    char service[MDP_SERVICE_MAX + 1];
    char ping_method[MDP_SERVICE_MAX + 8];
    const worker_method_t *methods;
    void *app;
    worker_link_t link[CONFIG_ENDPOINTS_MAX];
    int nlinks;
    uv_timer_t timer;
    bool stopped;
    /* the heartbeat thread, active while a handler runs */
    pthread_t hb_thread;
    bool hb_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool busy;
    bool loop_busy;                  /* worker_loop_busy's part of `busy` */
    bool quit;
    bool hb_parked;                  /* waits for a signal, not a timeout */
    int64_t busy_since;              /* monotonic ms the current handler started */
    uint64_t handlers;               /* handlers started, for the thread to see activity */
    db_t *db;                        /* worker_set_db: keyed requests run once (idem.h) */
    int64_t idem_cleanup_ms;         /* monotonic ms of the next idem_cleanup */
};

static int
s_send_command (void *sock, const char *command)
{
    const void *data[] = { "", MDP_WORKER, command };
    size_t sizes[] = { 0, (size_t) -1, 1 };
    return zmsg_send (sock, 3, data, sizes);
}

/* ---- heartbeats while a handler runs --------------------------------- */

static void *
s_hb_main (void *arg)
{
    worker_t *self = arg;
    pthread_mutex_lock (&self->lock);
    int64_t due = 0;                 /* next heartbeat of the current handler */
    uint64_t due_for = 0;            /* the handler (count) `due` belongs to */
    uint64_t seen = self->handlers;
    int64_t active_at = env_mono_ms ();   /* when a handler was last seen */
    while (!self->quit) {
        int64_t now = env_mono_ms ();
        if (self->handlers != seen || self->busy) {
            seen = self->handlers;
            active_at = now;
        }
        if (!self->busy && now - active_at >= WORKER_HB_PARK_MS) {
            self->hb_parked = true;
            pthread_cond_wait (&self->cond, &self->lock);
            self->hb_parked = false;
            active_at = env_mono_ms ();
            continue;
        }
        int64_t wait_ms = WORKER_HB_CHECK_MS;
        if (self->busy) {
            if (due_for != self->handlers) {
                due_for = self->handlers;
                /* the loop sent one at most an interval before the handler began */
                due = self->busy_since + MDP_HEARTBEAT_MS;
            }
            if (now >= due) {
                /* not before READY: a broker that hears a HEARTBEAT from a
                 * stranger answers DISCONNECT, taken for a refused READY */
                for (int i = 0; i < self->nlinks; i++)
                    if (self->link[i].sock && !self->link[i].ready_due)
                        s_send_command (self->link[i].sock, MDP_HEARTBEAT);
                due = now + MDP_HEARTBEAT_MS;
                /* the health file says since when the loop is held (health.h);
                 * written without our lock, which every request takes */
                int64_t since = self->busy_since;
                pthread_mutex_unlock (&self->lock);
                health_busy_beat (since);
                pthread_mutex_lock (&self->lock);
            }
            if (due - now < wait_ms)
                wait_ms = due - now;
        }
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait (&self->cond, &self->lock, &ts);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

/* The process's worker, for worker_loop_busy (a service process has one). */
static worker_t *s_process_worker;

/* Uncontended lock and unlock: no system call unless the heartbeat thread
 * is parked (first request after a quiet spell) or holds the lock. */
static void
s_set_busy (worker_t *self, bool busy)
{
    pthread_mutex_lock (&self->lock);
    self->busy = busy;
    if (busy) {
        self->busy_since = env_mono_ms ();
        self->handlers++;
        if (self->hb_parked)
            pthread_cond_signal (&self->cond);
    }
    pthread_mutex_unlock (&self->lock);
}

void
worker_loop_busy (bool busy)
{
    worker_t *self = s_process_worker;
    /* only from the loop thread, which alone writes `busy`; inside a handler
     * the handler's own bracket already covers it */
    if (!self || busy == self->loop_busy || (busy && (self->busy || self->stopped)))
        return;
    self->loop_busy = busy;
    s_set_busy (self, busy);
}

/* ---- the connection -------------------------------------------------- */

static void s_on_message (zloop_sock_t *zs, void *arg);

/* linger_ms: 0 when reconnecting (stale messages go), a little at the end
 * so that DISCONNECT still reaches the broker. */
static void
s_close_socket (worker_link_t *link, int linger_ms)
{
    worker_t *self = link->owner;
    zloop_sock_destroy (&link->zs);
    pthread_mutex_lock (&self->lock);
    if (link->sock) {
        zmq_setsockopt (link->sock, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
        zmq_close (link->sock);
    }
    link->sock = NULL;
    pthread_mutex_unlock (&self->lock);
}

/* READY on the link. With several brokers the link's socket has
 * ZMQ_IMMEDIATE, so READY cannot leave before the connection is up: then
 * the timer tries again (ready_due). */
static void
s_send_ready (worker_link_t *link)
{
    char credit[8];
    snprintf (credit, sizeof credit, "%d", (int) config_int ("PM_WORKER_CREDIT", WORKER_CREDIT, 1, MDP_CREDIT_MAX));
    const void *data[] = { "", MDP_WORKER, MDP_READY, link->owner->service, credit };
    size_t sizes[] = { 0, (size_t) -1, 1, (size_t) -1, (size_t) -1 };
    bool due = zmsg_send (link->sock, 5, data, sizes) != 0;
    int err = errno;
    pthread_mutex_lock (&link->owner->lock);     /* the heartbeat thread reads it */
    link->ready_due = due;
    pthread_mutex_unlock (&link->owner->lock);
    if (due && !(err == EAGAIN && link->owner->nlinks > 1))
        log_warn (NULL, "READY not sent: %s", zmq_strerror (err));
}

/* A fresh DEALER that says READY. Messages still queued in an old one
 * (heartbeats, stale replies) are thrown away with it. */
static int
s_connect (worker_link_t *link)
{
    worker_t *self = link->owner;
    s_close_socket (link, 0);
    link->liveness = MDP_HEARTBEAT_LIVENESS;
    const char *endpoint = link->endpoint;
    void *sock = pm_zmq_socket (ZMQ_DEALER);
    if (!sock) {
        log_error (NULL, "cannot create a socket: %s", zmq_strerror (errno));
        return -1;
    }
    /* what the broker forwards has passed its own limit; one frame more is
     * a broken peer, not a request to buffer */
    int64_t maxsize = MDP_FRAME_MAX;
    zmq_setsockopt (sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    if (self->nlinks > 1) {
        /* a reply for a broker that is gone must fail here, not wait in the
         * socket, so that s_send_reply can take another link */
        int one = 1;
        zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one);
    }
    if (curve_client (sock) != 0 || zmq_connect (sock, endpoint) != 0) {
        log_error (NULL, "cannot connect to the broker at %s: %s", endpoint,
                   zmq_strerror (errno));
        zmq_close (sock);
        return -1;
    }
    link->zs = zloop_sock_new (self->loop, sock, s_on_message, link);
    if (!link->zs) {
        log_error (NULL, "cannot watch the broker socket");
        zmq_close (sock);
        return -1;
    }
    pthread_mutex_lock (&self->lock);
    link->sock = sock;
    pthread_mutex_unlock (&self->lock);
    s_send_ready (link);
    log_debug (NULL, "worker for %s connecting to %s", self->service, endpoint);
    return 0;
}

static void
s_link_timer (worker_link_t *link)
{
    if (!link->sock && env_mono_ms () < link->retry_at)
        return;                      /* backing off: READY was refused */
    if (!link->sock || --link->liveness <= 0) {
        /* Once per outage, not at every attempt. */
        if (link->heard)
            log_warn (NULL, "broker %s silent for %d ms, reconnecting until it answers",
                      link->endpoint, MDP_HEARTBEAT_MS * MDP_HEARTBEAT_LIVENESS);
        link->heard = false;
        s_connect (link);
        return;
    }
    if (link->ready_due) {
        s_send_ready (link);
        return;
    }
    if (s_send_command (link->sock, MDP_HEARTBEAT) != 0)
        log_debug (NULL, "heartbeat not sent: %s", zmq_strerror (errno));
}

/* The health file (health.h): the loop turned, the brokers that hear us
 * (a link heard from since its last READY, within the liveness window), and
 * every HEALTH_DB_CHECK_MS the database: a SELECT 1, or a reconnect that may
 * take seconds, so the heartbeat thread covers it as it covers a job. */
static void
s_health_beat (worker_t *self)
{
    if (self->db && health_db_due ()) {
        worker_loop_busy (true);
        bool up = db_alive (self->db);
        worker_loop_busy (false);
        health_db_result (up);
    }
    int heard = 0;
    for (int i = 0; i < self->nlinks; i++)
        heard += self->link[i].sock && self->link[i].heard;
    health_loop_beat (self->service, heard, self->nlinks);
}

static void
s_on_timer (uv_timer_t *t)
{
    worker_t *self = t->data;
    for (int i = 0; i < self->nlinks && !self->stopped; i++)
        s_link_timer (&self->link[i]);
    if (!self->stopped)
        s_health_beat (self);
}

/* ---- requests -------------------------------------------------------- */

static void
s_ping (worker_t *self, env_reply_t *rep)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "service", self->service);
    cJSON_AddNumberToObject (body, "pid", (double) getpid ());
    env_reply_ok (rep, 200, body);
}

static void
s_blob_free (void *data, void *hint)
{
    (void) hint;
    free (data);
}

/* The reply, and rep's blob (when there is one) as the frame after it
 * (mdp.h): handed to libzmq, which frees it once sent, not copied. */
static void
s_send_reply (worker_link_t *link, const zmsg_t *m, const char *request_id, const char *json,
              env_reply_t *rep)
{
    const void *data[] = { "", MDP_WORKER, MDP_REPLY, m->frame[3].data, "", request_id,
                           json ? json : "", NULL };
    size_t sizes[] = { 0, (size_t) -1, 1, m->frame[3].size, 0, (size_t) -1, (size_t) -1, 0 };
    zmq_msg_t blob;
    bool with_blob = json && rep && rep->blob && !rep->code;
    if (with_blob) {
        if (zmq_msg_init_data (&blob, rep->blob, rep->blob_len, s_blob_free, NULL) != 0) {
            log_warn (request_id, "reply not sent: %s", zmq_strerror (errno));
            return;
        }
        rep->blob = NULL;            /* libzmq's now */
        rep->blob_len = 0;
    }
    int rc = zmsg_send_move (link->sock, with_blob ? 8 : 7, data, sizes, with_blob ? 7 : -1,
                             with_blob ? &blob : NULL);
    /* Several brokers: the request's broker went away while it ran (the
     * link's ZMQ_IMMEDIATE says EAGAIN). Another broker forwards the reply
     * to the client, which has the same identity on every broker. */
    worker_t *self = link->owner;
    for (int i = 0; rc != 0 && errno == EAGAIN && !with_blob && i < self->nlinks; i++) {
        worker_link_t *other = &self->link[i];
        if (other == link || !other->sock || !other->heard)
            continue;
        rc = zmsg_send_move (other->sock, 7, data, sizes, -1, NULL);
        if (rc == 0)
            log_info (request_id, "its broker is gone: reply sent through broker %d", i);
    }
    if (rc != 0)
        log_warn (request_id, "reply not sent: %s", zmq_strerror (errno));
    if (with_blob)
        zmq_msg_close (&blob);       /* frees the bytes if they did not leave */
}

bool
worker_sender_allowed (const env_caller_t *caller, const char *sender)
{
    if (!caller->role || !sender || !*sender)
        return false;
    if (strcmp (caller->role, "service") == 0)
        return caller->user_id && strcmp (caller->user_id, sender) == 0;
    return strcmp (sender, "gateway") == 0;
}

/* "" | MDPW01 | REQUEST | client | "" | request_id | request JSON | sender [| blob] */
static void
s_request (worker_link_t *link, const zmsg_t *m)
{
    worker_t *self = link->owner;
    int64_t started = env_mono_ms ();
    char request_id[ENVELOPE_ID_MAX + 1];
    zmsg_str (m, 5, request_id, sizeof request_id);
    if (!env_id_valid (request_id) || m->frame[4].size != 0) {
        log_warn (NULL, "malformed REQUEST from the broker dropped");
        return;
    }
    env_request_t req = { 0 };
    env_reply_t rep = { 0 };
    char *json = NULL;                   /* the reply, when idem_serve printed it already */
    char err[128];
    const char *method = "-";
    if (env_request_parse (m->frame[6].data, m->frame[6].size, &req, err) != 0)
        env_reply_error (&rep, 400, "bad_request", NULL, "%s", err);
    else
    if (CURVE_ENFORCED && !worker_sender_allowed (&req.caller, m->frame[7].data)) {
        /* a key speaking for someone else: no answer at all (mdp.h's
         * empty reply frees this worker without telling the sender) */
        log_warn (request_id, "%.64s as %.16s from the key of '%.32s' refused", req.method,
                  req.caller.role, (const char *) m->frame[7].data);
        s_send_reply (link, m, request_id, NULL, NULL);
        env_request_destroy (&req);
        return;
    }
    else {
        method = req.method;
        if (m->count == 9) {
            req.blob = m->frame[8].data;
            req.blob_len = m->frame[8].size;
        }
        if (req.deadline_ms && env_now_ms () > req.deadline_ms) {
            log_info (request_id, "%s skipped: deadline passed %lld ms ago", method,
                      (long long) (env_now_ms () - req.deadline_ms));
            s_send_reply (link, m, request_id, NULL, NULL);
            env_request_destroy (&req);
            return;
        }
        const worker_method_t *found = NULL;
        for (const worker_method_t *mt = self->methods; mt && mt->method; mt++)
            if (strcmp (mt->method, method) == 0) {
                found = mt;
                break;
            }
        if (found) {
            s_set_busy (self, true);
            if (req.idem_key && self->db)
                json = idem_serve (self->db, &req, request_id, found->handler, self->app, &rep);
            else
                found->handler (self->app, &req, &rep);
            s_set_busy (self, false);
            /* We did not listen while the handler ran: do not count that
             * time against the brokers. */
            for (int i = 0; i < self->nlinks; i++)
                self->link[i].liveness = MDP_HEARTBEAT_LIVENESS;
            if (rep.status < 100 || rep.status > 599) {
                log_error (request_id, "%s: handler set no valid status (%d)", method,
                           rep.status);
                env_reply_error (&rep, 500, "internal", NULL, "internal error");
            }
        }
        else
        if (strcmp (method, self->ping_method) == 0)
            s_ping (self, &rep);
        else
            env_reply_error (&rep, 404, "not_found", NULL, "unknown method");
    }
    if (!json)
        json = env_reply_build (request_id, &rep);
    if (json)
        s_send_reply (link, m, request_id, json, &rep);
    else
        log_error (request_id, "%s: cannot serialize the reply", method);
    long long elapsed = (long long) (env_mono_ms () - started);
    if (rep.status >= 500)
        log_info (request_id, "%s -> %d (%lld ms)", method, rep.status, elapsed);
    else
        log_debug (request_id, "%s -> %d (%lld ms)", method, rep.status, elapsed);
    free (json);
    env_reply_reset (&rep);
    env_request_destroy (&req);          /* method pointed into it */
    if (self->db && env_mono_ms () >= self->idem_cleanup_ms) {
        /* after the reply: no request waits for it but the next in line */
        self->idem_cleanup_ms = env_mono_ms () + WORKER_IDEM_CLEANUP_MS;
        long n = idem_cleanup (self->db);
        if (n > 0)
            log_info (NULL, "idempotency: %ld records older than %d h deleted", n, IDEM_KEEP_HOURS);
    }
}

int
worker_set_db (worker_t *self, db_t *db)
{
    if (idem_prepare (db) != 0)
        return -1;
    self->db = db;
    self->idem_cleanup_ms = 0;       /* at the first request */
    return 0;
}

/* READY answered with DISCONNECT: close, and say READY again only after a
 * back-off (s_on_timer), logged once per back-off rather than per try. */
static void
s_refused (worker_link_t *link)
{
    worker_t *self = link->owner;
    bool first = link->refused_ms == 0;
    link->refused_ms = first ? MDP_HEARTBEAT_MS
                             : (link->refused_ms * 2 < WORKER_REFUSED_MAX_MS ? link->refused_ms * 2
                                                                             : WORKER_REFUSED_MAX_MS);
    if (first)
        log_warn (NULL, "the broker refused READY for %s (an older pm-broker? upgrade it before the "
                  "workers); retrying with a back-off up to %d ms", self->service,
                  WORKER_REFUSED_MAX_MS);
    else
        log_debug (NULL, "READY refused again; next try in %d ms", link->refused_ms);
    s_close_socket (link, 0);
    link->retry_at = env_mono_ms () + link->refused_ms;
}

static void
s_on_message (zloop_sock_t *zs, void *arg)
{
    worker_link_t *link = arg;
    worker_t *self = link->owner;
    zmsg_t m;
    zmq_msg_t blob;                  /* a request's blob (the last frame): read in place, not copied */
    if (zmsg_recv_move (zloop_sock_socket (zs), &m, &blob) != 0) {
        zmq_msg_close (&blob);
        return;
    }
    if (m.count < 3 || m.frame[0].size != 0 || !zmsg_eq (&m, 1, MDP_WORKER)) {
        log_warn (NULL, "message without an MDP worker header dropped");
        goto out;
    }
    link->liveness = MDP_HEARTBEAT_LIVENESS;
    bool first = !link->heard;       /* the broker's answer to READY */
    if (first && zmsg_eq (&m, 2, MDP_DISCONNECT)) {
        if (!self->stopped)
            s_refused (link);        /* destroys zs: nothing may touch it after */
        goto out;
    }
    if (first) {
        link->heard = true;
        link->refused_ms = 0;
        if (self->nlinks == 1)
            log_info (NULL, "worker for %s connected to the broker", self->service);
        else
            log_info (NULL, "worker for %s connected to broker %d (%s)", self->service,
                      link->index, link->endpoint);
    }
    if (zmsg_eq (&m, 2, MDP_REQUEST) && (m.count == 8 || m.count == 9)) {
        if (!self->stopped)
            s_request (link, &m);
    }
    else
    if (zmsg_eq (&m, 2, MDP_HEARTBEAT))
        ;
    else
    if (zmsg_eq (&m, 2, MDP_DISCONNECT)) {
        if (!self->stopped) {
            log_info (NULL, "broker asked to register again");
            link->heard = false;
            s_connect (link);        /* destroys zs: nothing may touch it after */
        }
    }
    else
        log_warn (NULL, "unexpected command from the broker dropped");
out:
    zmsg_free (&m);
    zmq_msg_close (&blob);
}

/* ---- life cycle ------------------------------------------------------ */

worker_t *
worker_new (uv_loop_t *loop, const char *service, const worker_method_t *methods, void *app)
{
    size_t n = service ? strlen (service) : 0;
    if (n < 1 || n > MDP_SERVICE_MAX || strspn (service, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
        log_error (NULL, "invalid service name");
        return NULL;
    }
    worker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    snprintf (self->service, sizeof self->service, "%s", service);
    snprintf (self->ping_method, sizeof self->ping_method, "%s.ping", service);
    self->methods = methods;
    self->app = app;
    config_endpoints_t brokers;
    self->nlinks = config_broker_endpoints (&brokers);
    for (int i = 0; i < self->nlinks; i++) {
        self->link[i].owner = self;
        self->link[i].index = i;
        snprintf (self->link[i].endpoint, sizeof self->link[i].endpoint, "%s", brokers.item[i]);
    }
    pthread_mutex_init (&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init (&attr);
    pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
    pthread_cond_init (&self->cond, &attr);
    pthread_condattr_destroy (&attr);
    if (pthread_create (&self->hb_thread, NULL, s_hb_main, self) != 0) {
        log_error (NULL, "cannot start the heartbeat thread");
        pthread_cond_destroy (&self->cond);
        pthread_mutex_destroy (&self->lock);
        free (self);
        return NULL;
    }
    self->hb_started = true;
    uv_timer_init (loop, &self->timer);
    self->timer.data = self;
    s_process_worker = self;
    /* A failed first connect is retried by the timer. */
    for (int i = 0; i < self->nlinks; i++)
        s_connect (&self->link[i]);
    uv_timer_start (&self->timer, s_on_timer, MDP_HEARTBEAT_MS, MDP_HEARTBEAT_MS);
    return self;
}

void
worker_stop (worker_t *self)
{
    if (!self || self->stopped)
        return;
    self->stopped = true;
    uv_timer_stop (&self->timer);
    for (int i = 0; i < self->nlinks; i++) {
        worker_link_t *link = &self->link[i];
        zloop_sock_destroy (&link->zs);
        if (link->sock && s_send_command (link->sock, MDP_DISCONNECT) != 0)
            log_debug (NULL, "DISCONNECT not sent: %s", zmq_strerror (errno));
    }
    log_info (NULL, "worker for %s stopped taking requests", self->service);
}

static void
s_on_timer_closed (uv_handle_t *h)
{
    free (h->data);
}

void
worker_destroy (worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_t *self = *self_p;
    *self_p = NULL;
    if (s_process_worker == self)
        s_process_worker = NULL;
    worker_stop (self);
    if (self->hb_started) {
        pthread_mutex_lock (&self->lock);
        self->quit = true;
        pthread_cond_signal (&self->cond);
        pthread_mutex_unlock (&self->lock);
        pthread_join (self->hb_thread, NULL);
    }
    for (int i = 0; i < self->nlinks; i++)
        s_close_socket (&self->link[i], WORKER_CLOSE_LINGER_MS);
    pthread_cond_destroy (&self->cond);
    pthread_mutex_destroy (&self->lock);
    uv_close ((uv_handle_t *) &self->timer, s_on_timer_closed);
}
