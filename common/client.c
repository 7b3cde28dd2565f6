/* client: requests through the broker; see client.h and mdp.h.
 *
 * Asynchronous client: one DEALER watched by zloop; pending requests live in
 * a hash table by request id (a reply finds its request in O(1)) and in a
 * binary min-heap by deadline (the one uv timer is armed for the earliest).
 * An entry leaves both before its callback runs, so a callback may send
 * again, and a reply that comes after the 504 finds nothing and is dropped.
 *
 * Synchronous client_call: a DEALER per thread, cached (a pthread key closes
 * it when the thread ends), zmq_poll until the deadline. After a timeout the
 * socket is closed, so that the late reply can never be taken for the
 * answer to a later call.
 *
 * Several brokers (PM_BROKER_ENDPOINTS; docs/DESIGN.md "Two brokers"): the
 * asynchronous client holds a DEALER per broker (a link), all with one
 * routing id, and a socket monitor on each, which says when the link's
 * connection is up (CURVE handshake done) and when it drops. A request goes
 * to the next link that is up, round-robin (to the next link at all when
 * none is: it waits in that socket until the broker comes, as with one
 * broker). When a link drops, a request it carried that is safe to repeat
 * (a ping; a read or a keyed write, client_repeatable) goes again through
 * another broker at once; the others get CLIENT_LOST_GRACE_MS more: a worker
 * that was running one answers through another broker (worker.c), which
 * forwards it to this routing id; the rest are answered 503 with
 * MDP_WORKER_LOST in the message (they may have run). A reply is taken only
 * from the service the request went to; a second reply to a request sent
 * twice finds nothing and is dropped.
 * client_call's one DEALER connects to every broker with ZMQ_IMMEDIATE, so
 * that libzmq's round-robin skips a broker that is down; before any
 * connection is up, it retries the send until the deadline. With one broker
 * nothing of this runs: one DEALER, no monitor, as before. */
#include "client.h"

#include "config.h"
#include "curve.h"
#include "log.h"
#include "mdp.h"
#include "zloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define CLIENT_HWM 10000
/* With several brokers: libzmq's own heartbeats (ZMTP PING) on each link,
 * so that a broker whose machine vanished (no FIN over TCP) is given up
 * after CLIENT_ZMTP_TIMEOUT_MS; ipc:// and a crashed process drop at once. */
#define CLIENT_ZMTP_IVL_MS     1000
#define CLIENT_ZMTP_TIMEOUT_MS 3000
/* client_call, several brokers, none connected yet: how often it retries. */
#define CLIENT_CALL_RETRY_MS   20
/* How long a request whose broker was lost may still be answered through
 * another (its worker's handler finishing), and then what it is answered
 * (contains MDP_WORKER_LOST: the outcome is unknown). */
#define CLIENT_LOST_GRACE_MS   500
/* A broker that came (back) up gets requests only after this long, when
 * the workers have registered with it (they try every MDP_HEARTBEAT_MS),
 * unless no other broker is up. */
#define CLIENT_WARMUP_MS       (2 * MDP_HEARTBEAT_MS * MDP_HEARTBEAT_LIVENESS)
#define CLIENT_BROKER_LOST "the broker carrying this request was lost; " MDP_WORKER_LOST

typedef struct pending pending_t;
struct pending {
    pending_t *hash_next;
    size_t heap_index;
    int64_t deadline_ms;
    client_reply_fn *cb;
    void *arg;
    bool text;                       /* client_send_text: the body as text only */
    int link;                        /* the broker it went to (client_t.link) */
    bool lost;                       /* that broker was lost: 503 at the (shortened) deadline */
    bool repeatable;                 /* safe to send again: a ping, or client_repeatable */
    bool resent;                     /* sent again through another broker once already */
    char *copy;                      /* several brokers: the request, to send it again */
    char service[MDP_SERVICE_MAX + 1];
    char id[ENVELOPE_ID_MAX + 1];
};

typedef struct {
    client_t *owner;
    int index;
    void *sock;
    zloop_sock_t *zs;
    void *mon;                       /* the monitor's PAIR; NULL with one broker */
    zloop_sock_t *zmon;
    bool up;                         /* connected (handshake done), per the monitor */
    uint64_t up_at;                  /* uv_now when it came up */
    uint64_t lost;                   /* times the connection dropped */
} client_link_t;

struct client {
    uv_loop_t *loop;
    client_link_t link[CONFIG_ENDPOINTS_MAX];
    int nlinks;
    int next;                        /* round-robin: the link to try first */
    uv_timer_t timer;
    bool timer_armed;
    int64_t timer_due;               /* epoch ms the timer is armed for */
    bool destroyed;
    pending_t **buckets;
    size_t nbuckets;
    size_t count;
    pending_t **heap;
    size_t heap_cap;
};

/* ---- pending requests: hash by id ------------------------------------ */

static size_t
s_hash (const char *s)
{
    uint64_t h = 1469598103934665603ULL;        /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    return (size_t) h;
}

static pending_t *
s_find (client_t *self, const char *id)
{
    for (pending_t *p = self->buckets[s_hash (id) % self->nbuckets]; p; p = p->hash_next)
        if (strcmp (p->id, id) == 0)
            return p;
    return NULL;
}

static void
s_hash_insert (client_t *self, pending_t *p)
{
    if (self->count + 1 > self->nbuckets) {
        size_t n = self->nbuckets * 2;
        pending_t **buckets = calloc (n, sizeof *buckets);
        if (buckets) {                           /* else: longer chains */
            for (size_t i = 0; i < self->nbuckets; i++)
                for (pending_t *q = self->buckets[i], *next; q; q = next) {
                    next = q->hash_next;
                    size_t k = s_hash (q->id) % n;
                    q->hash_next = buckets[k];
                    buckets[k] = q;
                }
            free (self->buckets);
            self->buckets = buckets;
            self->nbuckets = n;
        }
    }
    size_t k = s_hash (p->id) % self->nbuckets;
    p->hash_next = self->buckets[k];
    self->buckets[k] = p;
}

static void
s_hash_remove (client_t *self, pending_t *p)
{
    pending_t **pp = &self->buckets[s_hash (p->id) % self->nbuckets];
    while (*pp && *pp != p)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = p->hash_next;
}

/* ---- pending requests: min-heap by deadline -------------------------- */

static void
s_heap_set (client_t *self, size_t i, pending_t *p)
{
    self->heap[i] = p;
    p->heap_index = i;
}

static void
s_heap_up (client_t *self, size_t i)
{
    pending_t *p = self->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent]->deadline_ms <= p->deadline_ms)
            break;
        s_heap_set (self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_set (self, i, p);
}

static void
s_heap_down (client_t *self, size_t i)
{
    size_t n = self->count;
    pending_t *p = self->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && self->heap[child + 1]->deadline_ms < self->heap[child]->deadline_ms)
            child++;
        if (self->heap[child]->deadline_ms >= p->deadline_ms)
            break;
        s_heap_set (self, i, self->heap[child]);
        i = child;
    }
    s_heap_set (self, i, p);
}

/* Adds p to both structures; count grows by one. -1 when out of memory. */
static int
s_pending_add (client_t *self, pending_t *p)
{
    if (self->count == self->heap_cap) {
        size_t cap = self->heap_cap ? self->heap_cap * 2 : 64;
        pending_t **heap = realloc (self->heap, cap * sizeof *heap);
        if (!heap)
            return -1;
        self->heap = heap;
        self->heap_cap = cap;
    }
    s_hash_insert (self, p);
    self->heap[self->count] = p;
    p->heap_index = self->count;
    self->count++;
    s_heap_up (self, p->heap_index);
    return 0;
}

static void
s_pending_remove (client_t *self, pending_t *p)
{
    s_hash_remove (self, p);
    size_t i = p->heap_index;
    self->count--;
    if (i != self->count) {
        s_heap_set (self, i, self->heap[self->count]);
        s_heap_down (self, i);
        s_heap_up (self, self->heap[i]->heap_index);
    }
}

/* ---- deadlines ------------------------------------------------------- */

static void s_on_timer (uv_timer_t *t);

static void
s_timer_arm (client_t *self)
{
    if (self->count == 0) {
        uv_timer_stop (&self->timer);
        self->timer_armed = false;
        return;
    }
    int64_t due = self->heap[0]->deadline_ms;
    if (self->timer_armed && self->timer_due <= due)
        return;                      /* fires first; re-arms then */
    int64_t delay = due - env_now_ms ();
    uv_timer_start (&self->timer, s_on_timer, delay > 0 ? (uint64_t) delay : 0, 0);
    self->timer_armed = true;
    self->timer_due = due;
}

/* Removes p, runs its callback once with rep, frees p. */
static void
s_complete (client_t *self, pending_t *p, env_reply_t *rep)
{
    s_pending_remove (self, p);
    p->cb (p->arg, rep);
    env_reply_reset (rep);
    free (p->copy);
    free (p);
}

static void
s_complete_error (client_t *self, pending_t *p, int status, const char *message)
{
    env_reply_t rep = { 0 };
    env_reply_error (&rep, status, env_status_code (status), NULL, "%s", message);
    s_complete (self, p, &rep);
}

static void
s_on_timer (uv_timer_t *t)
{
    client_t *self = t->data;
    self->timer_armed = false;
    int64_t now = env_now_ms ();
    while (!self->destroyed && self->count > 0 && self->heap[0]->deadline_ms <= now) {
        pending_t *p = self->heap[0];
        if (p->lost)
            s_complete_error (self, p, 503, CLIENT_BROKER_LOST);
        else {
            log_debug (p->id, "no reply before the deadline: 504");
            s_complete_error (self, p, 504, "no reply before the deadline");
        }
    }
    if (!self->destroyed)
        s_timer_arm (self);
}

/* ---- replies --------------------------------------------------------- */

/* A reply's blob frame (mdp.h) into rep, as the bytes a caller owns. 0,
 * or -1 after answering 500 in rep (out of memory). */
static int
s_reply_blob (const zmsg_t *m, env_reply_t *rep)
{
    if (m->count != 6 || rep->code)
        return 0;                    /* none, or an error's (there is none) */
    size_t len = m->frame[5].size;
    rep->blob = malloc (len ? len : 1);
    if (!rep->blob) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    memcpy (rep->blob, m->frame[5].data, len);
    rep->blob_len = len;
    return 0;
}

/* True for "" | MDPC01 | service | request_id | reply JSON [| blob] */
static bool
s_reply_shape (const zmsg_t *m)
{
    return (m->count == 5 || m->count == 6) && m->frame[0].size == 0 && zmsg_eq (m, 1, MDP_CLIENT)
           && m->frame[3].size <= ENVELOPE_ID_MAX;
}

static bool s_resend (client_t *self, pending_t *p);

static void
s_on_reply (zloop_sock_t *zs, void *arg)
{
    client_link_t *link = arg;
    client_t *self = link->owner;
    zmsg_t m;
    zmq_msg_t last;                  /* the reply JSON, or its blob: read in place */
    if (zmsg_recv_move (zloop_sock_socket (zs), &m, &last) != 0) {
        zmq_msg_close (&last);
        return;
    }
    char id[ENVELOPE_ID_MAX + 1];
    if (!s_reply_shape (&m)) {
        log_warn (NULL, "malformed reply from the broker dropped");
        goto out;
    }
    zmsg_str (&m, 3, id, sizeof id);
    pending_t *p = s_find (self, id);
    if (!p) {
        log_debug (id, "late reply dropped");
        goto out;
    }
    if (self->nlinks > 1 && !zmsg_eq (&m, 2, p->service) && !zmsg_eq (&m, 2, "-")) {
        /* a reply forwarded by another broker comes from whichever worker
         * sent it: only the service asked may answer ("-": the broker's 400
         * for a malformed request) */
        log_warn (id, "reply from another service than the one asked dropped");
        goto out;
    }
    env_reply_t rep;
    char rid[ENVELOPE_ID_MAX + 1];
    int rc = p->text ? env_reply_read (m.frame[4].data, m.frame[4].size, rid, &rep)
                     : env_reply_parse (m.frame[4].data, m.frame[4].size, rid, &rep);
    if (rc != 0) {
        log_warn (id, "malformed reply envelope");
        s_complete_error (self, p, 502, "malformed reply from the service");
    }
    else if (rep.status == 503 && strstr (rep.message, MDP_NO_WORKER) && s_resend (self, p)) {
        env_reply_reset (&rep);      /* that broker never gave it to a worker */
    }
    else {
        s_reply_blob (&m, &rep);
        s_complete (self, p, &rep);
    }
out:
    zmsg_free (&m);
    zmq_msg_close (&last);
}

/* ---- public: asynchronous -------------------------------------------- */

static bool
s_service_valid (const char *service, size_t n)
{
    if (n < 1 || n > MDP_SERVICE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = service[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* A routing id for a client that talks to several brokers: the same on
 * each, so that a reply forwarded by another broker finds it (worker.c).
 * Unique enough among one broker's peers: host, process, clock, counter. */
static void
s_routing_id (char *buf, size_t cap)
{
    static atomic_uint counter;
    char host[256] = "";
    gethostname (host, sizeof host - 1);
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = host; *c; c++)
        h = (h ^ (unsigned char) *c) * 1099511628211ULL;
    snprintf (buf, cap, "pmc-%08x-%d-%llx-%u", (unsigned) (h ^ (h >> 32)), (int) getpid (),
              (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec,
              atomic_fetch_add (&counter, 1));
}

/* A DEALER connected to endpoints[0..n-1] (none: the caller connects it).
 * A routing id means several brokers: ZMTP heartbeats, so that a broker
 * whose machine vanished is noticed; with more than one endpoint also
 * ZMQ_IMMEDIATE (nothing queues for a broker that is not connected). */
static void *
s_dealer (const char *const *endpoints, int n, const char *routing_id)
{
    void *sock = pm_zmq_socket (ZMQ_DEALER);
    if (!sock)
        return NULL;
    if (routing_id)
        zmq_setsockopt (sock, ZMQ_ROUTING_ID, routing_id, strlen (routing_id));
    int hwm = CLIENT_HWM;
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (routing_id) {
        int ivl = CLIENT_ZMTP_IVL_MS, timeout = CLIENT_ZMTP_TIMEOUT_MS;
        zmq_setsockopt (sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt (sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    }
    if (n > 1) {
        int one = 1;
        zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one);
    }
    if (curve_client (sock) != 0) {
        zmq_close (sock);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (zmq_connect (sock, endpoints[i]) != 0) {
            log_error (NULL, "cannot connect to the broker at %s: %s", endpoints[i],
                       zmq_strerror (errno));
            zmq_close (sock);
            return NULL;
        }
    return sock;
}

/* ---- several brokers: which links are up ------------------------------ */

/* The requests that went out on link: their deadline comes within
 * CLIENT_LOST_GRACE_MS, and then they are answered 503 (outcome unknown),
 * unless a reply comes through another broker first. */
static void
s_link_lost (client_t *self, client_link_t *link)
{
    int64_t due = env_now_ms () + CLIENT_LOST_GRACE_MS;
    size_t n = 0;
    for (size_t i = 0; i < self->count; i++) {
        pending_t *p = self->heap[i];
        if (p->link != link->index || p->lost)
            continue;
        if (p->repeatable && s_resend (self, p))
            continue;                /* safe to repeat: sent again at once */
        p->lost = true;
        n++;
        if (p->deadline_ms > due) {
            p->deadline_ms = due;    /* earlier: it can only move up the heap */
            s_heap_up (self, i);
        }
    }
    if (n == 0)
        return;
    log_warn (NULL, "broker %d lost: %zu request(s) sent to it get %d ms to be answered through "
              "another", link->index, n, CLIENT_LOST_GRACE_MS);
    s_timer_arm (self);
}

static void
s_on_monitor (zloop_sock_t *zs, void *arg)
{
    client_link_t *link = arg;
    zmsg_t m;
    if (zmsg_recv (zloop_sock_socket (zs), &m) != 0)
        return;
    if (m.count >= 1 && m.frame[0].size >= 2) {
        uint16_t event;
        memcpy (&event, m.frame[0].data, sizeof event);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            if (!link->up) {
                log_info (NULL, "broker %d connected", link->index);
                link->up_at = uv_now (link->owner->loop);
            }
            link->up = true;
        }
        else if (event == ZMQ_EVENT_DISCONNECTED) {
            bool was_up = link->up;
            link->up = false;
            link->lost++;
            if (was_up)
                s_link_lost (link->owner, link);
        }
    }
    zmsg_free (&m);
}

/* The monitor of a link's socket: a PAIR watched on the loop. */
static int
s_link_monitor (client_t *self, client_link_t *link)
{
    char addr[96];
    snprintf (addr, sizeof addr, "inproc://pm-client-monitor-%p-%d", (void *) self, link->index);
    if (zmq_socket_monitor (link->sock, addr,
                            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0)
        return -1;
    link->mon = pm_zmq_socket (ZMQ_PAIR);
    if (!link->mon || zmq_connect (link->mon, addr) != 0)
        return -1;
    link->zmon = zloop_sock_new (self->loop, link->mon, s_on_monitor, link);
    return link->zmon ? 0 : -1;
}

static void
s_link_close (client_link_t *link)
{
    zloop_sock_destroy (&link->zmon);
    zloop_sock_destroy (&link->zs);
    if (link->mon && link->sock)
        zmq_socket_monitor (link->sock, NULL, 0);
    if (link->mon)
        zmq_close (link->mon);
    link->mon = NULL;
    if (link->sock)
        zmq_close (link->sock);
    link->sock = NULL;
}

/* Sends p again through another broker that is up (once), when it is known
 * not to have run (the broker answered "no live worker": it never gave it
 * to one) or it is safe to repeat (p->repeatable). True when sent. */
static bool
s_resend (client_t *self, pending_t *p)
{
    if (!p->copy || p->resent || self->destroyed)
        return false;
    uint64_t now = uv_now (self->loop);
    client_link_t *to = NULL;
    for (int i = 0; i < self->nlinks; i++) {
        client_link_t *link = &self->link[i];
        if (i == p->link || !link->up)
            continue;
        if (!to || (now - link->up_at >= CLIENT_WARMUP_MS && now - to->up_at < CLIENT_WARMUP_MS))
            to = link;
    }
    if (!to)
        return false;
    const void *data[] = { "", MDP_CLIENT, p->service, p->id, p->copy };
    size_t sizes[] = { 0, (size_t) -1, (size_t) -1, (size_t) -1, (size_t) -1 };
    if (zmsg_send (to->sock, 5, data, sizes) != 0)
        return false;
    log_info (p->id, "sent again through broker %d", to->index);
    p->link = to->index;
    p->resent = true;
    return true;
}

/* The link for the next request, round-robin from the last used: the next
 * one up for CLIENT_WARMUP_MS (a broker that just came back has no workers
 * yet, and would hold a request, then answer 503), else the next one up,
 * else simply the next one. */
static client_link_t *
s_link_pick (client_t *self)
{
    int n = self->nlinks;
    uint64_t now = uv_now (self->loop);
    int pick = -1;
    for (int pass = 0; pass < 2 && pick < 0; pass++)
        for (int k = 0; k < n && pick < 0; k++) {
            client_link_t *link = &self->link[(self->next + k) % n];
            if (link->up && (pass == 1 || now - link->up_at >= CLIENT_WARMUP_MS))
                pick = link->index;
        }
    if (pick < 0)
        pick = self->next % n;
    self->next = (pick + 1) % n;
    return &self->link[pick];
}

client_t *
client_new (uv_loop_t *loop)
{
    client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->nbuckets = 64;
    self->buckets = calloc (self->nbuckets, sizeof *self->buckets);
    config_endpoints_t brokers;
    self->nlinks = config_broker_endpoints (&brokers);
    char routing_id[128];
    s_routing_id (routing_id, sizeof routing_id);
    bool ok = self->buckets != NULL;
    for (int i = 0; ok && i < self->nlinks; i++) {
        client_link_t *link = &self->link[i];
        link->owner = self;
        link->index = i;
        /* one DEALER per broker, so that a reply's link is known */
        if (self->nlinks == 1)
            link->sock = s_dealer (&brokers.item[i], 1, NULL);
        else {
            /* the monitor first, then connect: else the connection may be up
             * before the monitor listens, and the link is never seen up */
            link->sock = s_dealer (NULL, 0, routing_id);
        }
        link->zs = link->sock ? zloop_sock_new (loop, link->sock, s_on_reply, link) : NULL;
        ok = link->zs && (self->nlinks == 1 || s_link_monitor (self, link) == 0);
        if (ok && self->nlinks > 1 && zmq_connect (link->sock, brokers.item[i]) != 0) {
            log_error (NULL, "cannot connect to the broker at %s: %s", brokers.item[i],
                       zmq_strerror (errno));
            ok = false;
        }
        if (ok && self->nlinks > 1)
            zloop_touch (link->sock);
    }
    if (!ok) {
        for (int i = 0; i < self->nlinks; i++)
            s_link_close (&self->link[i]);
        free (self->buckets);
        free (self);
        return NULL;
    }
    uv_timer_init (loop, &self->timer);
    self->timer.data = self;
    return self;
}

static void
s_on_closed (uv_handle_t *h)
{
    client_t *self = h->data;
    free (self->heap);
    free (self->buckets);
    free (self);
}

void
client_destroy (client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_t *self = *self_p;
    *self_p = NULL;
    if (self->destroyed)
        return;
    self->destroyed = true;          /* callbacks below cannot send again */
    while (self->count > 0)
        s_complete_error (self, self->heap[0], 503, "client closed");
    for (int i = 0; i < self->nlinks; i++)
        s_link_close (&self->link[i]);
    uv_close ((uv_handle_t *) &self->timer, s_on_closed);
}

static int
s_send (client_t *self, const char *service, const char *request_id, const char *request,
        const void *blob, size_t blob_len, int64_t deadline_ms, client_reply_fn *cb, void *arg,
        bool text)
{
    if (!self || self->destroyed || !service || !request || !cb
        || !s_service_valid (service, strlen (service)) || !env_id_valid (request_id)) {
        errno = EINVAL;
        return -1;
    }
    if (s_find (self, request_id)) {
        errno = EEXIST;              /* replies are matched by id */
        return -1;
    }
    pending_t *p = calloc (1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    snprintf (p->id, sizeof p->id, "%s", request_id);
    snprintf (p->service, sizeof p->service, "%s", service);
    p->deadline_ms = deadline_ms;
    if (self->nlinks > 1 && !blob) {
        char ping[MDP_SERVICE_MAX + 24];
        snprintf (ping, sizeof ping, "\"method\":\"%s.ping\"", service);
        p->repeatable = strstr (request, ping) != NULL;
        p->copy = strdup (request);  /* NULL: it is simply not sent again */
    }
    p->cb = cb;
    p->arg = arg;
    p->text = text;
    /* Past its deadline already: not worth sending; the 504 comes from the
     * timer, never from inside this call. */
    if (deadline_ms > env_now_ms ()) {
        client_link_t *link = self->nlinks == 1 ? &self->link[0] : s_link_pick (self);
        p->link = link->index;
        const void *data[] = { "", MDP_CLIENT, service, request_id, request, blob };
        size_t sizes[] = { 0, (size_t) -1, (size_t) -1, (size_t) -1, (size_t) -1, blob_len };
        if (zmsg_send (link->sock, blob ? 6 : 5, data, sizes) != 0) {
            int err = errno;
            log_warn (request_id, "request to %s not sent: %s", service, zmq_strerror (err));
            free (p->copy);
            free (p);
            errno = err;
            return -1;
        }
    }
    if (s_pending_add (self, p) != 0) {
        free (p->copy);
        free (p);                    /* sent, but a reply will find nothing */
        errno = ENOMEM;
        return -1;
    }
    s_timer_arm (self);
    return 0;
}

int
client_send (client_t *self, const char *service, const char *request_id, const char *request,
             int64_t deadline_ms, client_reply_fn *cb, void *arg)
{
    return s_send (self, service, request_id, request, NULL, 0, deadline_ms, cb, arg, false);
}

int
client_send_text (client_t *self, const char *service, const char *request_id,
                  const char *request, int64_t deadline_ms, client_reply_fn *cb, void *arg)
{
    return s_send (self, service, request_id, request, NULL, 0, deadline_ms, cb, arg, true);
}

int
client_send_blob (client_t *self, const char *service, const char *request_id, const char *request,
                  const void *blob, size_t blob_len, int64_t deadline_ms, client_reply_fn *cb,
                  void *arg)
{
    if (!blob || blob_len > MDP_BLOB_MAX) {
        errno = EINVAL;
        return -1;
    }
    return s_send (self, service, request_id, request, blob, blob_len, deadline_ms, cb, arg, true);
}

void
client_repeatable (client_t *self, const char *request_id)
{
    pending_t *p = self ? s_find (self, request_id) : NULL;
    if (p)
        p->repeatable = true;
}

size_t
client_pending (const client_t *self)
{
    return self ? self->count : 0;
}

/* ---- public: synchronous --------------------------------------------- */

static pthread_key_t s_call_key;
static pthread_once_t s_call_once = PTHREAD_ONCE_INIT;
static __thread void *s_call_sock;
static __thread pid_t s_call_pid;
static __thread bool s_call_multi;   /* connected to several brokers */

static void
s_call_sock_free (void *sock)
{
    if (sock)
        zmq_close (sock);
}

static void
s_call_key_init (void)
{
    pthread_key_create (&s_call_key, s_call_sock_free);
}

static void *
s_call_socket (void)
{
    pthread_once (&s_call_once, s_call_key_init);
    if (s_call_sock && s_call_pid != getpid ())
        s_call_sock = NULL;          /* inherited through fork: not ours to use */
    if (!s_call_sock) {
        config_endpoints_t brokers;
        int n = config_broker_endpoints (&brokers);
        char routing_id[128];
        s_routing_id (routing_id, sizeof routing_id);
        s_call_sock = s_dealer (brokers.item, n, n > 1 ? routing_id : NULL);
        s_call_multi = n > 1;
        s_call_pid = getpid ();
        pthread_setspecific (s_call_key, s_call_sock);
    }
    return s_call_sock;
}

static void
s_call_socket_reset (void)
{
    if (s_call_sock)
        zmq_close (s_call_sock);
    s_call_sock = NULL;
    pthread_setspecific (s_call_key, NULL);
}

static int
s_call_fail (env_reply_t *rep, const char *request_id, int status, const char *message)
{
    env_reply_error (rep, status, env_status_code (status), NULL, "%s", message);
    log_info (request_id, "call failed: %d %s", status, message);
    return -1;
}

int
client_call (const char *method, const env_caller_t *caller, const char *request_id,
             int64_t deadline_ms, cJSON *body, env_reply_t *rep)
{
    memset (rep, 0, sizeof *rep);
    const char *dot = method ? strchr (method, '.') : NULL;
    size_t service_len = dot ? (size_t) (dot - method) : 0;
    if (!dot || !s_service_valid (method, service_len) || !env_id_valid (request_id)) {
        cJSON_Delete (body);
        return s_call_fail (rep, request_id, 500, "invalid method or request id");
    }
    char service[MDP_SERVICE_MAX + 1];
    memcpy (service, method, service_len);
    service[service_len] = 0;
    if (deadline_ms <= 0)
        deadline_ms = env_now_ms () + config_int ("PM_REQUEST_TIMEOUT_MS", 5000, 1, 3600000);

    if (deadline_ms <= env_now_ms ()) {
        cJSON_Delete (body);
        return s_call_fail (rep, request_id, 504, "deadline already passed");
    }
    char *request = env_request_build (request_id, method, caller, deadline_ms, body);
    void *sock = request ? s_call_socket () : NULL;
    if (!sock) {
        free (request);
        return s_call_fail (rep, request_id, 503, "cannot reach the broker");
    }
    const void *data[] = { "", MDP_CLIENT, service, request_id, request };
    size_t sizes[] = { 0, (size_t) -1, (size_t) -1, (size_t) -1, (size_t) -1 };
    int rc = zmsg_send (sock, 5, data, sizes);
    /* several brokers (ZMQ_IMMEDIATE): EAGAIN while none is connected yet */
    while (rc != 0 && errno == EAGAIN && s_call_multi && env_now_ms () + CLIENT_CALL_RETRY_MS < deadline_ms) {
        zmq_poll (NULL, 0, CLIENT_CALL_RETRY_MS);
        rc = zmsg_send (sock, 5, data, sizes);
    }
    free (request);
    if (rc != 0)
        return s_call_fail (rep, request_id, 503, "cannot reach the broker");

    for (;;) {
        int64_t left = deadline_ms - env_now_ms ();
        if (left <= 0)
            break;
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        int n = zmq_poll (&item, 1, (long) left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s_call_socket_reset ();
            return s_call_fail (rep, request_id, 503, "broker socket failed");
        }
        if (n == 0)
            continue;                /* loop re-checks the deadline */
        zmsg_t m;
        if (zmsg_recv (sock, &m) != 0)
            continue;
        if (!s_reply_shape (&m) || !zmsg_eq (&m, 3, request_id)) {
            zmsg_free (&m);          /* a late reply to an earlier call, or garbage */
            continue;
        }
        char rid[ENVELOPE_ID_MAX + 1];
        rc = env_reply_parse (m.frame[4].data, m.frame[4].size, rid, rep);
        if (rc == 0)
            s_reply_blob (&m, rep);
        zmsg_free (&m);
        if (rc != 0)
            return s_call_fail (rep, request_id, 502, "malformed reply from the service");
        return 0;
    }
    s_call_socket_reset ();
    return s_call_fail (rep, request_id, 504, "no reply before the deadline");
}
