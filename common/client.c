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
 * answer to a later call. */
#include "client.h"

#include "config.h"
#include "curve.h"
#include "log.h"
#include "mdp.h"
#include "zloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define CLIENT_HWM 10000

typedef struct pending pending_t;
struct pending {
    pending_t *hash_next;
    size_t heap_index;
    int64_t deadline_ms;
    client_reply_fn *cb;
    void *arg;
    bool text;                       /* client_send_text: the body as text only */
    char id[ENVELOPE_ID_MAX + 1];
};

struct client {
    uv_loop_t *loop;
    void *sock;
    zloop_sock_t *zs;
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
        log_debug (p->id, "no reply before the deadline: 504");
        s_complete_error (self, p, 504, "no reply before the deadline");
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

static void
s_on_reply (zloop_sock_t *zs, void *arg)
{
    client_t *self = arg;
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
    env_reply_t rep;
    char rid[ENVELOPE_ID_MAX + 1];
    int rc = p->text ? env_reply_read (m.frame[4].data, m.frame[4].size, rid, &rep)
                     : env_reply_parse (m.frame[4].data, m.frame[4].size, rid, &rep);
    if (rc != 0) {
        log_warn (id, "malformed reply envelope");
        s_complete_error (self, p, 502, "malformed reply from the service");
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

static void *
s_dealer (void)
{
    void *sock = pm_zmq_socket (ZMQ_DEALER);
    if (!sock)
        return NULL;
    int hwm = CLIENT_HWM;
    zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (curve_client (sock) != 0 || zmq_connect (sock, config_broker_endpoint ()) != 0) {
        log_error (NULL, "cannot connect to the broker at %s: %s", config_broker_endpoint (),
                   zmq_strerror (errno));
        zmq_close (sock);
        return NULL;
    }
    return sock;
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
    self->sock = self->buckets ? s_dealer () : NULL;
    self->zs = self->sock ? zloop_sock_new (loop, self->sock, s_on_reply, self) : NULL;
    if (!self->zs) {
        if (self->sock)
            zmq_close (self->sock);
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
    zloop_sock_destroy (&self->zs);
    zmq_close (self->sock);
    self->sock = NULL;
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
    p->deadline_ms = deadline_ms;
    p->cb = cb;
    p->arg = arg;
    p->text = text;
    /* Past its deadline already: not worth sending; the 504 comes from the
     * timer, never from inside this call. */
    if (deadline_ms > env_now_ms ()) {
        const void *data[] = { "", MDP_CLIENT, service, request_id, request, blob };
        size_t sizes[] = { 0, (size_t) -1, (size_t) -1, (size_t) -1, (size_t) -1, blob_len };
        if (zmsg_send (self->sock, blob ? 6 : 5, data, sizes) != 0) {
            int err = errno;
            log_warn (request_id, "request to %s not sent: %s", service, zmq_strerror (err));
            free (p);
            errno = err;
            return -1;
        }
    }
    if (s_pending_add (self, p) != 0) {
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
        s_call_sock = s_dealer ();
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
