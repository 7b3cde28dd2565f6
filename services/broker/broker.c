/* broker: routes requests to workers by service name; see broker.h.
 *
 * Time is uv_now (monotonic ms, the same clock as the loop's timers); the
 * broker never reads request deadlines (it parses request JSON only for its
 * own "broker" service). Every send is ZMQ_DONTWAIT: the ROUTER has
 * ZMQ_ROUTER_MANDATORY, so a send to a vanished peer fails with EHOSTUNREACH
 * (a worker is then dropped at once) and a full pipe fails with EAGAIN
 * (logged, the message is lost) instead of blocking the loop. */
#include "broker.h"
#include "curve.h"

#include "envelope.h"
#include "health.h"
#include "log.h"
#include "mdp.h"
#include "zloop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define BROKER_SERVICE  "broker"
#define BROKER_EXPIRY_MS (MDP_HEARTBEAT_MS * MDP_HEARTBEAT_LIVENESS)
#define BROKER_IDENTITY_MAX 255

typedef struct brk_request brk_request_t;
typedef struct brk_worker brk_worker_t;
typedef struct brk_service brk_service_t;

struct brk_request {
    brk_request_t *next;             /* in its service's queue */
    unsigned char client[BROKER_IDENTITY_MAX];   /* the client's routing identity */
    size_t client_size;
    char id[ENVELOPE_ID_MAX + 1];
    char sender[CURVE_IDENTITY_MAX + 1];   /* the client's authenticated identity */
    zmq_msg_t body;                  /* the request JSON as received, forwarded without a copy */
    zmq_msg_t blob;                  /* its binary frame (mdp.h), moved likewise; empty when none */
    bool has_blob;
    uint64_t queued_at;
};

struct brk_service {
    brk_service_t *next;
    char name[MDP_SERVICE_MAX + 1];
    brk_worker_t *ready_head;        /* workers with credit left, least recently used first */
    brk_worker_t *ready_tail;
    size_t workers;
    size_t idle;                     /* workers holding no request */
    size_t held;                     /* requests held by its workers */
    brk_request_t *queue_head;
    brk_request_t *queue_tail;
    size_t queued;
    uint64_t empty_since;            /* when the last worker left (or creation) */
    bool registered;                 /* a worker has served it: keep it listed */
};

struct brk_worker {
    brk_worker_t *prev, *next;       /* every worker */
    brk_worker_t *ready_prev, *ready_next;
    brk_worker_t *hash_next;
    bool ready;                      /* in its service's ready list */
    unsigned char identity[BROKER_IDENTITY_MAX];
    size_t identity_size;
    char label[24];                  /* identity in hex, for logs */
    brk_service_t *service;
    uint64_t expiry;
    brk_request_t *held_head;        /* sent to it, not answered yet, oldest first */
    brk_request_t *held_tail;
    unsigned nheld;
    unsigned credit;                 /* how many it may hold (READY, mdp.h) */
};

struct broker {
    uv_loop_t *loop;
    void *router, *xsub, *xpub;
    zloop_sock_t *zrouter, *zxsub, *zxpub;
    uv_timer_t heartbeat;
    uv_timer_t purge;                /* 503s for services without workers */
    int open_handles;
    brk_service_t *services;
    brk_worker_t *workers;
    brk_worker_t **buckets;
    size_t nbuckets;
    size_t nworkers;
    uint64_t requests;               /* client requests accepted */
    uint64_t last_warn_ms;           /* rate limit for garbage from peers */
    uint64_t warn_suppressed;
    FILE *tap;
};

/* ---- small helpers --------------------------------------------------- */

static uint64_t
s_now (broker_t *b)
{
    return uv_now (b->loop);
}

/* Warnings about malformed input: at most one a second, so a confused peer
 * cannot flood the log. */
static void
s_warn_peer (broker_t *b, const char *what)
{
    uint64_t now = s_now (b);
    if (now - b->last_warn_ms < 1000 && b->last_warn_ms) {
        b->warn_suppressed++;
        return;
    }
    log_warn (NULL, "%s (%llu similar suppressed)", what, (unsigned long long) b->warn_suppressed);
    b->last_warn_ms = now;
    b->warn_suppressed = 0;
}

static bool
s_service_name_valid (const zmsg_t *m, int i)
{
    return mdp_name_valid (m->frame[i].data, m->frame[i].size);
}

/* A frame that is a valid request id (no embedded NUL, id charset). */
static bool
s_request_id_valid (const zmsg_t *m, int i)
{
    return strlen (m->frame[i].data) == m->frame[i].size && env_id_valid (m->frame[i].data);
}

/* READY's credit frame: a decimal 1..MDP_CREDIT_MAX. */
static bool
s_credit_parse (const zmsg_t *m, int i, unsigned *credit)
{
    const char *p = m->frame[i].data;
    size_t n = m->frame[i].size;
    unsigned v = 0;
    if (n < 1 || n > 3)
        return false;
    for (size_t k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return false;
        v = v * 10 + (unsigned) (p[k] - '0');
    }
    if (v < 1 || v > MDP_CREDIT_MAX)
        return false;
    *credit = v;
    return true;
}

static void
s_hex (const void *data, size_t size, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    size_t o = 0;
    for (size_t i = 0; i < size && o + 2 < cap; i++) {
        out[o++] = digits[p[i] >> 4];
        out[o++] = digits[p[i] & 15];
    }
    out[o] = 0;
}

static void
s_tap (broker_t *b, const char *kind, const char *service, const void *json, size_t size)
{
    if (!b->tap)
        return;
    cJSON *line = cJSON_CreateObject ();
    cJSON_AddStringToObject (line, "kind", kind);
    cJSON_AddStringToObject (line, "service", service);
    cJSON *doc = cJSON_ParseWithLength (json, size);
    cJSON_AddItemToObject (line, "msg", doc ? doc : cJSON_CreateNull ());
    if (!doc)
        cJSON_AddBoolToObject (line, "invalid_json", true);
    char *text = cJSON_PrintUnformatted (line);
    if (text) {
        fprintf (b->tap, "%s\n", text);
        fflush (b->tap);
        free (text);
    }
    cJSON_Delete (line);
}

static void
s_request_free (brk_request_t **req_p)
{
    brk_request_t *req = *req_p;
    if (!req)
        return;
    zmq_msg_close (&req->body);
    zmq_msg_close (&req->blob);
    free (req);
    *req_p = NULL;
}

/* ---- sending --------------------------------------------------------- */

/* Sends to a client; a client that left or does not read loses the reply.
 * moved: NULL, or the reply as received from the worker (json points into
 * it), sent on without a copy. blob: NULL, or the reply's binary frame
 * (mdp.h), sent on without a copy after the JSON (then moved is NULL: only
 * the last frame of a message comes moved). */
static void
s_send_client (broker_t *b, const void *client, size_t client_size, const char *service,
               const char *request_id, const void *json, size_t json_size, zmq_msg_t *moved,
               zmq_msg_t *blob)
{
    const void *data[] = { client, "", MDP_CLIENT, service, request_id, json, NULL };
    size_t sizes[] = { client_size, 0, (size_t) -1, (size_t) -1, (size_t) -1, json_size, 0 };
    zmq_msg_t tapped;                /* the tap reads the reply after it left */
    zmq_msg_init (&tapped);
    if (moved && b->tap) {
        zmq_msg_copy (&tapped, moved);
        json = zmq_msg_data (&tapped);
    }
    int rc = blob ? zmsg_send_move (b->router, 7, data, sizes, 6, blob)
                  : zmsg_send_move (b->router, 6, data, sizes, 5, moved);
    if (rc == 0)
        s_tap (b, "reply", service, json, json_size);
    zmq_msg_close (&tapped);
    if (rc != 0) {
        if (errno == EHOSTUNREACH)
            log_debug (request_id, "client gone, reply from %s dropped", service);
        else
            log_warn (request_id, "reply from %s to client dropped: %s", service,
                      zmq_strerror (errno));
    }
}

static void
s_reply_error (broker_t *b, const void *client, size_t client_size, const char *service,
               const char *request_id, int status, const char *code, const char *message)
{
    env_reply_t rep = { 0 };
    env_reply_error (&rep, status, code, NULL, "%s", message);
    char *json = env_reply_build (request_id, &rep);
    env_reply_reset (&rep);
    if (!json)
        return;
    if (status == 503)
        log_info (request_id, "503 for service %s: %s", service, message);
    else
        log_debug (request_id, "%d for service %s: %s", status, service, message);
    s_send_client (b, client, client_size, service, request_id, json, strlen (json), NULL, NULL);
    free (json);
}

/* A command without arguments (HEARTBEAT, DISCONNECT). 0 or -1 (errno set). */
static int
s_send_worker (broker_t *b, brk_worker_t *w, const char *command)
{
    const void *data[] = { w->identity, "", MDP_WORKER, command };
    size_t sizes[] = { w->identity_size, 0, (size_t) -1, 1 };
    return zmsg_send (b->router, 4, data, sizes);
}

/* To an identity we hold no worker for (it must register again). */
static void
s_send_disconnect_to (broker_t *b, const void *identity, size_t size)
{
    const void *data[] = { identity, "", MDP_WORKER, MDP_DISCONNECT };
    size_t sizes[] = { size, 0, (size_t) -1, 1 };
    zmsg_send (b->router, 4, data, sizes);
}

/* ---- services -------------------------------------------------------- */

static brk_service_t *
s_service_find (broker_t *b, const char *name)
{
    for (brk_service_t *s = b->services; s; s = s->next)
        if (strcmp (s->name, name) == 0)
            return s;
    return NULL;
}

static brk_service_t *
s_service_require (broker_t *b, const char *name)
{
    brk_service_t *s = s_service_find (b, name);
    if (s)
        return s;
    s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    snprintf (s->name, sizeof s->name, "%s", name);
    s->empty_since = s_now (b);
    s->next = b->services;
    b->services = s;
    return s;
}

static void
s_service_free (brk_service_t *s)
{
    while (s->queue_head) {
        brk_request_t *req = s->queue_head;
        s->queue_head = req->next;
        s_request_free (&req);
    }
    free (s);
}

static void
s_queue_push (brk_service_t *s, brk_request_t *req)
{
    req->next = NULL;
    if (s->queue_tail)
        s->queue_tail->next = req;
    else
        s->queue_head = req;
    s->queue_tail = req;
    s->queued++;
}

static void
s_queue_push_front (brk_service_t *s, brk_request_t *req)
{
    req->next = s->queue_head;
    s->queue_head = req;
    if (!s->queue_tail)
        s->queue_tail = req;
    s->queued++;
}

static brk_request_t *
s_queue_pop (brk_service_t *s)
{
    brk_request_t *req = s->queue_head;
    if (!req)
        return NULL;
    s->queue_head = req->next;
    if (!s->queue_head)
        s->queue_tail = NULL;
    req->next = NULL;
    s->queued--;
    return req;
}

/* When the oldest request of a workerless service is due for its 503. */
static uint64_t
s_service_due (const brk_service_t *s)
{
    uint64_t since = s->queue_head->queued_at > s->empty_since ? s->queue_head->queued_at
                                                              : s->empty_since;
    return since + MDP_NO_WORKER_WAIT_MS;
}

static void s_on_purge (uv_timer_t *t);

/* Arms the purge timer for the earliest request due for a 503. */
static void
s_purge_arm (broker_t *b)
{
    uint64_t due = UINT64_MAX;
    for (brk_service_t *s = b->services; s; s = s->next)
        if (s->workers == 0 && s->queue_head && s_service_due (s) < due)
            due = s_service_due (s);
    if (due == UINT64_MAX) {
        uv_timer_stop (&b->purge);
        return;
    }
    uint64_t now = s_now (b);
    uv_timer_start (&b->purge, s_on_purge, due > now ? due - now : 0, 0);
}

static void
s_on_purge (uv_timer_t *t)
{
    broker_t *b = t->data;
    uint64_t now = s_now (b);
    for (brk_service_t *s = b->services; s; s = s->next) {
        while (s->workers == 0 && s->queue_head && s_service_due (s) <= now) {
            brk_request_t *req = s_queue_pop (s);
            s_reply_error (b, req->client, req->client_size, s->name, req->id, 503,
                           "service_unavailable", MDP_NO_WORKER);
            s_request_free (&req);
        }
    }
    s_purge_arm (b);
}

/* ---- workers --------------------------------------------------------- */

static size_t
s_hash (const void *data, size_t size)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;        /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return (size_t) h;
}

static brk_worker_t *
s_worker_find (broker_t *b, const void *identity, size_t size)
{
    brk_worker_t *w = b->buckets[s_hash (identity, size) % b->nbuckets];
    for (; w; w = w->hash_next)
        if (w->identity_size == size && memcmp (w->identity, identity, size) == 0)
            return w;
    return NULL;
}

static void
s_hash_grow (broker_t *b)
{
    size_t n = b->nbuckets * 2;
    brk_worker_t **buckets = calloc (n, sizeof *buckets);
    if (!buckets)
        return;                      /* longer chains, still correct */
    for (brk_worker_t *w = b->workers; w; w = w->next) {
        size_t i = s_hash (w->identity, w->identity_size) % n;
        w->hash_next = buckets[i];
        buckets[i] = w;
    }
    free (b->buckets);
    b->buckets = buckets;
    b->nbuckets = n;
}

/* The ready list: workers that may take one more request, in the order
 * they got their last one (or registered). */
static void
s_ready_push (brk_worker_t *w)
{
    brk_service_t *s = w->service;
    if (w->ready)
        return;
    w->ready = true;
    w->ready_next = NULL;
    w->ready_prev = s->ready_tail;
    if (s->ready_tail)
        s->ready_tail->ready_next = w;
    else
        s->ready_head = w;
    s->ready_tail = w;
}

static void
s_ready_remove (brk_worker_t *w)
{
    brk_service_t *s = w->service;
    if (!w->ready)
        return;
    if (w->ready_prev)
        w->ready_prev->ready_next = w->ready_next;
    else
        s->ready_head = w->ready_next;
    if (w->ready_next)
        w->ready_next->ready_prev = w->ready_prev;
    else
        s->ready_tail = w->ready_prev;
    w->ready = false;
    w->ready_prev = w->ready_next = NULL;
}

/* A request sent to w joins the ones it holds (it answers them in order). */
static void
s_held_push (brk_worker_t *w, brk_request_t *req)
{
    req->next = NULL;
    if (w->held_tail)
        w->held_tail->next = req;
    else
        w->held_head = req;
    w->held_tail = req;
    if (w->nheld++ == 0)
        w->service->idle--;
    w->service->held++;
}

/* The held request a REPLY answers (normally the oldest), taken out of the
 * list; NULL when w holds no such request. */
static brk_request_t *
s_held_take (brk_worker_t *w, const void *client, size_t client_size, const char *id)
{
    brk_request_t *prev = NULL;
    for (brk_request_t *req = w->held_head; req; prev = req, req = req->next) {
        if (req->client_size != client_size || memcmp (req->client, client, client_size) != 0
            || strcmp (req->id, id) != 0)
            continue;
        if (prev)
            prev->next = req->next;
        else
            w->held_head = req->next;
        if (w->held_tail == req)
            w->held_tail = prev;
        req->next = NULL;
        if (--w->nheld == 0)
            w->service->idle++;
        w->service->held--;
        return req;
    }
    return NULL;
}

static brk_worker_t *
s_worker_new (broker_t *b, const void *identity, size_t size, brk_service_t *s, unsigned credit)
{
    if (size == 0 || size > BROKER_IDENTITY_MAX)
        return NULL;
    brk_worker_t *w = calloc (1, sizeof *w);
    if (!w)
        return NULL;
    memcpy (w->identity, identity, size);
    w->identity_size = size;
    s_hex (identity, size, w->label, sizeof w->label);
    w->service = s;
    w->credit = credit;
    w->expiry = s_now (b) + BROKER_EXPIRY_MS;
    w->next = b->workers;
    if (b->workers)
        b->workers->prev = w;
    b->workers = w;
    if (++b->nworkers > b->nbuckets)
        s_hash_grow (b);
    size_t i = s_hash (identity, size) % b->nbuckets;
    w->hash_next = b->buckets[i];
    b->buckets[i] = w;
    s->workers++;
    s->idle++;
    s->registered = true;
    return w;
}

/* Forgets a worker. The requests it held are answered 503 now: nobody else
 * will answer them, and their callers should not wait for the deadline.
 * (One may have run: MDP_WORKER_LOST says so; none is sent elsewhere.) */
static void
s_worker_drop (broker_t *b, brk_worker_t *w, const char *reason, bool disconnect)
{
    brk_service_t *s = w->service;
    if (disconnect)
        s_send_worker (b, w, MDP_DISCONNECT);
    log_info (NULL, "worker %s of %s dropped: %s (answering %u held request(s) 503)", w->label,
              s->name, reason, w->nheld);
    brk_request_t *req;
    while ((req = w->held_head)) {
        s_held_take (w, req->client, req->client_size, req->id);
        s_reply_error (b, req->client, req->client_size, s->name, req->id, 503,
                       "service_unavailable", MDP_WORKER_LOST);
        s_request_free (&req);
    }
    s_ready_remove (w);
    s->idle--;
    if (--s->workers == 0) {
        s->empty_since = s_now (b);
        s_purge_arm (b);
    }
    /* unlink from the hash and the list */
    brk_worker_t **pp = &b->buckets[s_hash (w->identity, w->identity_size) % b->nbuckets];
    while (*pp && *pp != w)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = w->hash_next;
    if (w->prev)
        w->prev->next = w->next;
    else
        b->workers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    b->nworkers--;
    free (w);
}

/* Which ready worker gets the next request: an idle one if any (least
 * recently used first), so that a request waits behind another only when
 * every worker is busy; else the one that got a request longest ago. */
static brk_worker_t *
s_pick (brk_service_t *s)
{
    for (brk_worker_t *w = s->ready_head; w; w = w->ready_next)
        if (w->nheld == 0)
            return w;
    return s->ready_head;
}

/* Hands queued requests to workers with credit left (mdp.h, READY). */
static void
s_dispatch (broker_t *b, brk_service_t *s)
{
    while (s->queue_head && s->ready_head) {
        brk_worker_t *w = s_pick (s);
        s_ready_remove (w);
        brk_request_t *req = s_queue_pop (s);
        const void *data[] = { w->identity, "", MDP_WORKER, MDP_REQUEST, req->client, "",
                               req->id, NULL, req->sender, NULL };
        size_t sizes[] = { w->identity_size, 0, (size_t) -1, 1, req->client_size, 0,
                           (size_t) -1, 0, (size_t) -1, 0 };
        zmq_msg_t tapped;            /* the tap reads the body after it left */
        zmq_msg_init (&tapped);
        if (b->tap)
            zmq_msg_copy (&tapped, &req->body);
        int rc;
        if (req->has_blob) {
            /* the blob is the frame moved; the JSON before it, a few hundred
             * bytes of params, is sent from where it is */
            data[7] = zmq_msg_data (&req->body);
            sizes[7] = zmq_msg_size (&req->body);
            rc = zmsg_send_move (b->router, 10, data, sizes, 9, &req->blob);
        }
        else
            rc = zmsg_send_move (b->router, 9, data, sizes, 7, &req->body);
        if (rc != 0) {
            /* The request did not leave: it goes back first in line, and
             * the worker, gone (EHOSTUNREACH) or not reading (EAGAIN), is
             * dropped. */
            char reason[96];
            snprintf (reason, sizeof reason, "send failed: %s", zmq_strerror (errno));
            zmq_msg_close (&tapped);
            s_queue_push_front (s, req);
            s_worker_drop (b, w, reason, false);
            continue;
        }
        s_tap (b, "request", s->name, zmq_msg_data (&tapped), zmq_msg_size (&tapped));
        zmq_msg_close (&tapped);
        s_held_push (w, req);
        if (w->nheld < w->credit)
            s_ready_push (w);        /* to the tail: the busy take turns */
    }
}

/* ---- the broker's own service ---------------------------------------- */

static cJSON *
s_stats (broker_t *b)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON *services = cJSON_AddObjectToObject (body, "services");
    for (brk_service_t *s = b->services; s; s = s->next) {
        cJSON *o = cJSON_AddObjectToObject (services, s->name);
        cJSON_AddNumberToObject (o, "workers", (double) s->workers);
        cJSON_AddNumberToObject (o, "idle", (double) s->idle);
        cJSON_AddNumberToObject (o, "queued", (double) s->queued);
        cJSON_AddNumberToObject (o, "held", (double) s->held);
    }
    cJSON_AddNumberToObject (body, "requests", (double) b->requests);
    return body;
}

static void
s_internal (broker_t *b, const zmsg_t *m, const char *request_id)
{
    env_request_t req;
    env_reply_t rep = { 0 };
    char err[128];
    if (env_request_parse (m->frame[5].data, m->frame[5].size, &req, err) != 0)
        env_reply_error (&rep, 400, "bad_request", NULL, "%s", err);
    else {
        if (strcmp (req.method, "broker.stats") == 0)
            env_reply_ok (&rep, 200, s_stats (b));
        else
        if (strcmp (req.method, "broker.ping") == 0) {
            cJSON *body = cJSON_CreateObject ();
            cJSON_AddStringToObject (body, "service", BROKER_SERVICE);
            cJSON_AddNumberToObject (body, "pid", (double) getpid ());
            env_reply_ok (&rep, 200, body);
        }
        else
            env_reply_error (&rep, 404, "not_found", NULL, "unknown method");
        env_request_destroy (&req);
    }
    char *json = env_reply_build (request_id, &rep);
    env_reply_reset (&rep);
    if (json) {
        s_send_client (b, m->frame[0].data, m->frame[0].size, BROKER_SERVICE, request_id, json,
                       strlen (json), NULL, NULL);
        free (json);
    }
}

/* ---- messages -------------------------------------------------------- */

/* The message's last frame, frame i, into *out: moved when zmsg_recv_move
 * did not copy it (last), else copied (it is short). 0, or -1 when out of
 * memory. */
static int
s_frame_take (const zmsg_t *m, int i, zmq_msg_t *last, zmq_msg_t *out)
{
    zmq_msg_init (out);
    if (m->moved == i + 1)
        return zmq_msg_move (out, last);
    if (zmq_msg_init_size (out, m->frame[i].size) != 0)
        return -1;
    memcpy (zmq_msg_data (out), m->frame[i].data, m->frame[i].size);
    return 0;
}

/* identity | "" | MDPC01 | service | request_id | request JSON [| blob]
 * (a long last frame is in *body, not copied: zmsg_recv_move) */
static void
s_client_message (broker_t *b, zmsg_t *m, zmq_msg_t *body)
{
    if ((m->count != 6 && m->count != 7) || !s_request_id_valid (m, 4)
        || m->frame[0].size > BROKER_IDENTITY_MAX) {
        s_warn_peer (b, "malformed client message dropped");
        return;
    }
    const char *request_id = m->frame[4].data;
    if (!m->user_id[0] && CURVE_ENFORCED) {  /* cannot happen with CURVE; never forward one */
        s_warn_peer (b, "client message without an authenticated identity dropped");
        return;
    }
    if (!s_service_name_valid (m, 3)) {
        s_reply_error (b, m->frame[0].data, m->frame[0].size, "-", request_id, 400,
                       "bad_request", "invalid service name");
        return;
    }
    const char *name = m->frame[3].data;
    if (m->count == 7 && m->frame[6].size > MDP_BLOB_MAX) {
        s_reply_error (b, m->frame[0].data, m->frame[0].size, name, request_id, 413,
                       "payload_too_large", "the file is larger than the bus carries");
        return;
    }
    b->requests++;
    if (strcmp (name, BROKER_SERVICE) == 0) {
        s_tap (b, "request", name, m->frame[5].data, m->frame[5].size);
        s_internal (b, m, request_id);
        return;
    }
    brk_service_t *s = s_service_require (b, name);
    if (!s || s->queued >= BROKER_QUEUE_MAX) {
        s_reply_error (b, m->frame[0].data, m->frame[0].size, name, request_id, 503,
                       "service_unavailable", "too many requests waiting for this service");
        return;
    }
    brk_request_t *req = calloc (1, sizeof *req);
    if (!req) {
        s_reply_error (b, m->frame[0].data, m->frame[0].size, name, request_id, 503,
                       "service_unavailable", "broker out of memory");
        return;
    }
    memcpy (req->client, m->frame[0].data, m->frame[0].size);
    req->client_size = m->frame[0].size;
    zmq_msg_init (&req->blob);
    req->has_blob = m->count == 7;
    /* the last frame (the JSON, or the blob after it) is forwarded, never copied */
    if (s_frame_take (m, 5, body, &req->body) != 0
        || (req->has_blob && s_frame_take (m, 6, body, &req->blob) != 0)) {
        zmq_msg_close (&req->body);
        zmq_msg_close (&req->blob);
        free (req);
        s_reply_error (b, m->frame[0].data, m->frame[0].size, name, request_id, 503,
                       "service_unavailable", "broker out of memory");
        return;
    }
    snprintf (req->id, sizeof req->id, "%s", request_id);
    snprintf (req->sender, sizeof req->sender, "%s", m->user_id);
    req->queued_at = s_now (b);
    s_queue_push (s, req);
    if (s->workers == 0 && s->queued == 1)
        s_purge_arm (b);
    s_dispatch (b, s);
}

/* READY: service [| credit]. A worker registers once, for the service its
 * CURVE key is named after, with the credit it asks for (mdp.h). */
static void
s_worker_ready (broker_t *b, zmsg_t *m, brk_worker_t *w, const void *identity, size_t identity_size)
{
    if (w) {                     /* READY twice: a protocol error (RFC 7) */
        s_worker_drop (b, w, "READY while registered", true);
        return;
    }
    unsigned credit = 1;
    if (m->count == 6 && !s_credit_parse (m, 5, &credit)) {
        s_warn_peer (b, "READY with an invalid credit refused");
        s_send_disconnect_to (b, identity, identity_size);
        return;
    }
    if (m->count < 5 || m->count > 6 || !s_service_name_valid (m, 4)
        || strcmp (m->frame[4].data, BROKER_SERVICE) == 0) {
        s_warn_peer (b, "READY with an invalid service name refused");
        s_send_disconnect_to (b, identity, identity_size);
        return;
    }
    /* A key serves only its own service: another's requests (webhook
     * secrets, whole phone numbers) never reach an impostor. No answer,
     * no registration. */
    if (CURVE_ENFORCED && strcmp (m->user_id, m->frame[4].data) != 0) {
        char what[160];
        snprintf (what, sizeof what, "READY for %.32s from the key of '%.32s' refused",
                  (const char *) m->frame[4].data, m->user_id);
        s_warn_peer (b, what);
        return;
    }
    brk_service_t *s = s_service_require (b, m->frame[4].data);
    w = s ? s_worker_new (b, identity, identity_size, s, credit) : NULL;
    if (!w) {
        s_send_disconnect_to (b, identity, identity_size);
        return;
    }
    log_info (NULL, "worker %s registered for %s (%zu workers, credit %u)", w->label, s->name,
              s->workers, credit);
    s_ready_push (w);
    s_dispatch (b, s);
    s_purge_arm (b);
}

/* identity | "" | MDPW01 | command | ...
 * (a long reply JSON is in *body, not copied: zmsg_recv_move) */
static void
s_worker_message (broker_t *b, zmsg_t *m, zmq_msg_t *body)
{
    if (m->count < 4 || m->frame[3].size != 1) {
        s_warn_peer (b, "malformed worker message dropped");
        return;
    }
    const void *identity = m->frame[0].data;
    size_t identity_size = m->frame[0].size;
    char command = *(const char *) m->frame[3].data;
    brk_worker_t *w = s_worker_find (b, identity, identity_size);

    if (command == MDP_READY[0]) {
        s_worker_ready (b, m, w, identity, identity_size);
        return;
    }
    if (!w) {
        /* Not registered here (the broker restarted, or we dropped it):
         * tell it to start over with READY. */
        if (command != MDP_DISCONNECT[0])
            s_send_disconnect_to (b, identity, identity_size);
        return;
    }
    w->expiry = s_now (b) + BROKER_EXPIRY_MS;
    if (command == MDP_HEARTBEAT[0])
        return;
    if (command == MDP_DISCONNECT[0]) {
        s_worker_drop (b, w, "said DISCONNECT", false);
        return;
    }
    if (command != MDP_REPLY[0] || (m->count != 8 && m->count != 9) || m->frame[5].size != 0
        || !s_request_id_valid (m, 6)) {
        s_worker_drop (b, w, "protocol error", true);
        return;
    }
    /* REPLY: client | "" | request_id | reply JSON [| blob] (empty JSON: skipped, see mdp.h) */
    brk_request_t *req = s_held_take (w, m->frame[4].data, m->frame[4].size, m->frame[6].data);
    if (!req) {
        /* With several brokers (docs/DESIGN.md, "Two brokers") a worker whose
         * other broker died while it ran that broker's request answers through
         * this one: forwarded to the client (the same identity on every
         * broker), which takes a reply only for a request it sent to this
         * service; a client that is not connected here loses it, as a late
         * reply is lost. A blob is not forwarded this way. */
        if (m->count == 8 && m->frame[7].size > 0) {
            log_info (m->frame[6].data, "worker %s of %s answered a request another broker gave "
                      "it: forwarded", w->label, w->service->name);
            s_send_client (b, m->frame[4].data, m->frame[4].size, w->service->name,
                           m->frame[6].data, m->frame[7].data, m->frame[7].size,
                           m->moved == 8 ? body : NULL, NULL);
        }
        else
            log_warn (m->frame[6].data, "worker %s of %s replied to a request it does not hold",
                      w->label, w->service->name);
        return;
    }
    brk_service_t *s = w->service;
    zmq_msg_t blob;
    zmq_msg_init (&blob);
    if (m->frame[7].size > 0 && m->count == 9 && s_frame_take (m, 8, body, &blob) != 0)
        s_reply_error (b, req->client, req->client_size, s->name, req->id, 503,
                       "service_unavailable", "broker out of memory");
    else if (m->frame[7].size > 0)
        s_send_client (b, req->client, req->client_size, s->name, req->id, m->frame[7].data,
                       m->frame[7].size, m->moved == 8 ? body : NULL, m->count == 9 ? &blob : NULL);
    else
        log_debug (req->id, "worker %s of %s skipped the request (deadline passed)", w->label,
                   s->name);
    zmq_msg_close (&blob);
    s_request_free (&req);
    s_ready_push (w);                /* stays in place if it already was */
    s_dispatch (b, s);
}

static void
s_on_router (zloop_sock_t *zs, void *arg)
{
    broker_t *b = arg;
    zmsg_t m;
    zmq_msg_t body;                  /* the last frame, when long: moved, never copied */
    if (zmsg_recv_move (zloop_sock_socket (zs), &m, &body) != 0) {
        zmq_msg_close (&body);
        return;
    }
    if (m.count < 3 || m.frame[1].size != 0)
        s_warn_peer (b, "message without an MDP header dropped");
    else
    if (zmsg_eq (&m, 2, MDP_CLIENT))
        s_client_message (b, &m, &body);
    else
    if (zmsg_eq (&m, 2, MDP_WORKER))
        s_worker_message (b, &m, &body);
    else
        s_warn_peer (b, "message of an unknown protocol dropped");
    zmsg_free (&m);
    zmq_msg_close (&body);
}

/* Heartbeats every worker, busy or idle, and drops the silent ones. Also
 * the health file's beat (health.h): the loop turns, the sockets are bound. */
static void
s_on_heartbeat (uv_timer_t *t)
{
    broker_t *b = t->data;
    health_broker_beat ();
    uint64_t now = s_now (b);
    brk_worker_t *next;
    for (brk_worker_t *w = b->workers; w; w = next) {
        next = w->next;
        if (w->expiry <= now) {
            s_worker_drop (b, w, "expired (no heartbeat)", true);
            continue;
        }
        if (s_send_worker (b, w, MDP_HEARTBEAT) != 0) {
            if (errno == EHOSTUNREACH)
                s_worker_drop (b, w, "unreachable", false);
            else
                log_warn (NULL, "heartbeat to worker %s of %s dropped: %s", w->label,
                          w->service->name, zmq_strerror (errno));
        }
    }
    /* Services nobody ever served (typos, probes) are not kept. */
    for (brk_service_t **pp = &b->services; *pp;) {
        brk_service_t *s = *pp;
        if (!s->registered && s->workers == 0 && s->queued == 0) {
            *pp = s->next;
            s_service_free (s);
        }
        else
            pp = &s->next;
    }
}

/* ---- event wake-ups -------------------------------------------------- */

/* Forwards one message. A wake-up (from a producer's PUB to the XSUB) must
 * name its sender as its topic: a key can wake the consumers of its own
 * events only. Subscriptions (XPUB to XSUB) pass as they are. */
static void
s_forward (broker_t *b, void *from, void *to, bool wakeup)
{
    zmsg_t m;
    if (zmsg_recv (from, &m) != 0)
        return;
    if (wakeup && CURVE_ENFORCED && (m.count != 1 || !m.user_id[0] || strcmp (m.frame[0].data, m.user_id) != 0
                   || m.frame[0].size != strlen (m.user_id))) {
        s_warn_peer (b, "event wake-up not from its producer dropped");
        zmsg_free (&m);
        return;
    }
    const void *data[16];
    size_t sizes[16];
    for (int i = 0; i < m.count; i++) {
        data[i] = m.frame[i].data;
        sizes[i] = m.frame[i].size;
    }
    /* XPUB drops for slow subscribers; wake-ups are hints, state is in tables. */
    if (m.count > 0 && zmsg_send (to, m.count, data, sizes) != 0)
        log_debug (NULL, "event wake-up not forwarded: %s", zmq_strerror (errno));
    zmsg_free (&m);
}

static void
s_on_xsub (zloop_sock_t *zs, void *arg)
{
    broker_t *b = arg;
    s_forward (b, zloop_sock_socket (zs), b->xpub, true);
}

static void
s_on_xpub (zloop_sock_t *zs, void *arg)
{
    broker_t *b = arg;
    s_forward (b, zloop_sock_socket (zs), b->xsub, false);
}

/* ---- life cycle ------------------------------------------------------ */

static void *
s_bind (int type, const char *endpoint)
{
    void *sock = pm_zmq_socket (type);
    if (!sock) {
        log_error (NULL, "cannot create a socket: %s", zmq_strerror (errno));
        return NULL;
    }
    int hwm = BROKER_HWM;
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    int64_t maxsize = BROKER_MAX_MSG_SIZE;
    zmq_setsockopt (sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    if (type == ZMQ_ROUTER) {
        int one = 1;
        zmq_setsockopt (sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    }
    if (curve_server (sock) != 0) {
        log_error (NULL, "cannot make %s a CURVE server: %s", endpoint, zmq_strerror (errno));
        zmq_close (sock);
        return NULL;
    }
    if (zmq_bind (sock, endpoint) != 0) {
        log_error (NULL, "cannot bind %s: %s", endpoint, zmq_strerror (errno));
        zmq_close (sock);
        return NULL;
    }
    return sock;
}

static void
s_on_closed (uv_handle_t *h)
{
    broker_t *b = h->data;
    if (--b->open_handles == 0)
        free (b);
}

broker_t *
broker_new (uv_loop_t *loop, const char *endpoint, const char *events_in,
            const char *events_out, const char *tap_path)
{
    broker_t *b = calloc (1, sizeof *b);
    if (!b)
        return NULL;
    b->loop = loop;
    b->nbuckets = 64;
    b->buckets = calloc (b->nbuckets, sizeof *b->buckets);
    if (!b->buckets)
        goto fail;
    if (tap_path && *tap_path) {
        /* the tap holds whole requests (personal data): owner-only */
        int fd = open (tap_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0 && (fchmod (fd, 0600) != 0 || !(b->tap = fdopen (fd, "a"))))
            close (fd);
        if (!b->tap) {
            log_error (NULL, "cannot open PM_BROKER_TAP %s", tap_path);
            goto fail;
        }
    }
    b->router = s_bind (ZMQ_ROUTER, endpoint);
    b->xsub = b->router ? s_bind (ZMQ_XSUB, events_in) : NULL;
    b->xpub = b->xsub ? s_bind (ZMQ_XPUB, events_out) : NULL;
    if (!b->xpub)
        goto fail;
    b->zrouter = zloop_sock_new (loop, b->router, s_on_router, b);
    b->zxsub = zloop_sock_new (loop, b->xsub, s_on_xsub, b);
    b->zxpub = zloop_sock_new (loop, b->xpub, s_on_xpub, b);
    if (!b->zrouter || !b->zxsub || !b->zxpub) {
        log_error (NULL, "cannot watch the broker's sockets");
        goto fail;
    }
    uv_timer_init (loop, &b->heartbeat);
    uv_timer_init (loop, &b->purge);
    b->heartbeat.data = b->purge.data = b;
    b->open_handles = 2;
    uv_timer_start (&b->heartbeat, s_on_heartbeat, MDP_HEARTBEAT_MS, MDP_HEARTBEAT_MS);
    log_info (NULL, "broker on %s, events %s -> %s%s%s", endpoint, events_in, events_out,
              b->tap ? ", tap " : "", b->tap ? tap_path : "");
    return b;
fail:
    zloop_sock_destroy (&b->zrouter);
    zloop_sock_destroy (&b->zxsub);
    zloop_sock_destroy (&b->zxpub);
    if (b->router)
        zmq_close (b->router);
    if (b->xsub)
        zmq_close (b->xsub);
    if (b->xpub)
        zmq_close (b->xpub);
    if (b->tap)
        fclose (b->tap);
    free (b->buckets);
    free (b);
    return NULL;
}

void
broker_destroy (broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *b = *self_p;
    *self_p = NULL;
    /* Workers learn at once that they must register again elsewhere. */
    while (b->workers)
        s_worker_drop (b, b->workers, "broker stopping", true);
    while (b->services) {
        brk_service_t *s = b->services;
        b->services = s->next;
        brk_request_t *req;
        while ((req = s_queue_pop (s))) {
            s_reply_error (b, req->client, req->client_size, s->name, req->id, 503,
                           "service_unavailable", "the broker is stopping");
            s_request_free (&req);
        }
        s_service_free (s);
    }
    zloop_sock_destroy (&b->zrouter);
    zloop_sock_destroy (&b->zxsub);
    zloop_sock_destroy (&b->zxpub);
    zmq_close (b->router);
    zmq_close (b->xsub);
    zmq_close (b->xpub);
    if (b->tap)
        fclose (b->tap);
    free (b->buckets);
    b->buckets = NULL;
    uv_close ((uv_handle_t *) &b->heartbeat, s_on_closed);
    uv_close ((uv_handle_t *) &b->purge, s_on_closed);
}
