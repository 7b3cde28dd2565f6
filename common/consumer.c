/* consumer: follow another service's outbox, each event applied once; see consumer.h. */
#include "consumer.h"
#include "client.h"
#include "config.h"
#include "curve.h"
#include "envelope.h"
#include "jv.h"
#include "log.h"
#include "mdp.h"
#include "outbox.h"
#include "worker.h"
#include "zloop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct consumer {
    db_t *db;
    char service[64];
    char producer[64];
    char method[96];                 /* "<producer>.events.read" */
    consumer_apply_fn *apply;
    void *app;
    uv_timer_t *timer;               /* freed in its close callback */
    void *sub;                       /* of the process's context (zloop.h) */
    zloop_sock_t *zsub;
    uint64_t calls;                  /* for request ids */
    int64_t poll_ms;                 /* PM_CONSUMER_POLL_MS */
};

static void
s_timer_close (uv_handle_t *h)
{
    free (h);
}

static void
s_on_timer (uv_timer_t *t)
{
    consumer_t *self = t->data;
    worker_loop_busy (true);                 /* a round may outlast the broker's patience */
    int n = consumer_poll (self);
    worker_loop_busy (false);
    /* more waiting: come back soon, but after a turn of the loop. Not 0: in
     * libuv 1.44 (Debian 12) a timer restarted with 0 from its own callback
     * is due at the cached loop time and runs again in the same pass, so a
     * long catch-up never let signals, requests or heartbeats through. */
    if (n == CONSUMER_BATCH * CONSUMER_ROUND_MAX)
        uv_timer_start (self->timer, s_on_timer, 1, (uint64_t) self->poll_ms);
}

/* A wake-up: drain it and poll at the next loop turn (several coalesce into one). */
static void
s_on_wakeup (zloop_sock_t *zs, void *arg)
{
    consumer_t *self = arg;
    zmsg_t msg;
    if (zmsg_recv (zloop_sock_socket (zs), &msg) == 0)
        zmsg_free (&msg);
    uv_timer_start (self->timer, s_on_timer, 0, (uint64_t) self->poll_ms);
}

/* Statement names are shared by every consumer on a db (the producer is a parameter). */
#define ST_GET  "consumer_cursor_get"
#define ST_LOCK "consumer_cursor_lock"
#define ST_MARK "consumer_event_mark"
#define ST_SET  "consumer_cursor_set"
#define ST_INIT "consumer_cursor_init"

static int
s_prepare (consumer_t *self)
{
    if (db_prepare (self->db, ST_GET,
                    "SELECT cursor FROM consumer_cursors WHERE producer = $1::text", true)
        || db_prepare (self->db, ST_LOCK,
                       "SELECT cursor FROM consumer_cursors WHERE producer = $1::text FOR UPDATE", true)
        || db_prepare (self->db, ST_MARK,
                       "INSERT INTO processed_events (event_id, producer, type) "
                       "VALUES ($1::uuid, $2::text, $3::text) ON CONFLICT (event_id) DO NOTHING", false)
        || db_prepare (self->db, ST_SET,
                       "UPDATE consumer_cursors SET cursor = $2::text, updated_at = now() "
                       "WHERE producer = $1::text", false)
        || db_prepare (self->db, ST_INIT,
                       "INSERT INTO consumer_cursors (producer) VALUES ($1::text) "
                       "ON CONFLICT (producer) DO NOTHING", true))
        return -1;
    /* The row every later transaction locks; created once, whoever comes first. */
    const char *params[] = { self->producer };
    PGresult *res = db_exec (self->db, ST_INIT, 1, params);
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_error (NULL, "consumer %s: cannot create its cursor (sqlstate %s)", self->producer,
                   db_sqlstate (res));
    PQclear (res);
    return rc;
}

consumer_t *
consumer_new (uv_loop_t *loop, db_t *db, const char *service, const char *producer,
              consumer_apply_fn *apply, void *app)
{
    if (!db || !service || !producer || !apply || !*producer || strlen (producer) > MDP_SERVICE_MAX
        || strlen (service) >= 64)
        return NULL;
    consumer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->apply = apply;
    self->app = app;
    snprintf (self->service, sizeof self->service, "%s", service);
    snprintf (self->producer, sizeof self->producer, "%s", producer);
    snprintf (self->method, sizeof self->method, "%s.events.read", producer);
    self->poll_ms = config_int ("PM_CONSUMER_POLL_MS", CONSUMER_POLL_MS, 10, 3600000);
    if (s_prepare (self))
        goto fail;
    if (!loop)
        return self;

    self->timer = malloc (sizeof *self->timer);
    if (!self->timer || uv_timer_init (loop, self->timer)) {
        free (self->timer);
        self->timer = NULL;
        goto fail;
    }
    self->timer->data = self;
    uv_timer_start (self->timer, s_on_timer, 0, (uint64_t) self->poll_ms);

    /* With several brokers (config.h) the SUB listens to each one's
     * events-out: a wake-up may come twice (a hint: the round reads the
     * table), and none is lost while one broker is down. */
    config_endpoints_t out;
    config_events_out_endpoints (&out);
    self->sub = pm_zmq_socket (ZMQ_SUB);
    if (!self->sub
        || zmq_setsockopt (self->sub, ZMQ_SUBSCRIBE, self->producer, strlen (self->producer))
        || curve_client (self->sub) != 0) {
        log_error (NULL, "consumer %s: cannot subscribe: %s", self->producer,
                   zmq_strerror (errno));
        goto fail;
    }
    for (int i = 0; i < out.count; i++)
        if (zmq_connect (self->sub, out.item[i])) {
            log_error (NULL, "consumer %s: cannot subscribe at %s: %s", self->producer,
                       out.item[i], zmq_strerror (errno));
            goto fail;
        }
    self->zsub = zloop_sock_new (loop, self->sub, s_on_wakeup, self);
    if (!self->zsub)
        goto fail;
    return self;
fail:
    consumer_destroy (&self);
    return NULL;
}

void
consumer_destroy (consumer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    consumer_t *self = *self_p;
    if (self->zsub)
        zloop_sock_destroy (&self->zsub);
    if (self->sub)
        zmq_close (self->sub);
    if (self->timer) {
        uv_timer_stop (self->timer);
        uv_close ((uv_handle_t *) self->timer, s_timer_close);
    }
    free (self);
    *self_p = NULL;
}

int
consumer_cursor (consumer_t *self, char out[64])
{
    const char *params[] = { self->producer };
    PGresult *res = db_exec (self->db, ST_GET, 1, params);
    int rc = db_ok (res) && PQntuples (res) == 1 ? 0 : -1;
    if (rc == 0)
        snprintf (out, 64, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    return rc;
}

int
consumer_cursor_cmp (const char *a, const char *b)
{
    char ax[24], as[24], bx[24], bs[24];
    if (!outbox_cursor_parse (a, ax, as))
        outbox_cursor_parse (NULL, ax, as);
    if (!outbox_cursor_parse (b, bx, bs))
        outbox_cursor_parse (NULL, bx, bs);
    uint64_t v[4] = { strtoull (ax, NULL, 10), strtoull (as, NULL, 10),
                      strtoull (bx, NULL, 10), strtoull (bs, NULL, 10) };
    if (v[0] != v[2])
        return v[0] < v[2] ? -1 : 1;
    if (v[1] != v[3])
        return v[1] < v[3] ? -1 : 1;
    return 0;
}

/* "ev-<service>-<producer>-<n>": our requests and applies, findable in the logs. */
static void
s_request_id (consumer_t *self, char rid[ENVELOPE_ID_MAX + 1])
{
    snprintf (rid, ENVELOPE_ID_MAX + 1, "ev-%.16s-%.16s-%" PRIu64, self->service, self->producer,
              ++self->calls);
}

/* An event's id, type and cursor, or false when it lacks one. */
static bool
s_event_fields (const cJSON *ev, const char **id, const char **type, const char **cursor)
{
    *id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ev, "id"));
    *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ev, "type"));
    *cursor = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ev, "cursor"));
    char x[24], s[24];
    return *id && jv_is_uuid (*id) && *type && *cursor && **cursor && outbox_cursor_parse (*cursor, x, s);
}

/* Marks the event processed and, the first time, applies it: inside the
 * caller's transaction. 0, or -1 (the transaction is to be rolled back). */
static int
s_mark_and_apply (consumer_t *self, const cJSON *ev, const char *id, const char *type,
                  const char *rid, bool quiet)
{
    PGresult *res = db_exec (self->db, ST_MARK, 3, (const char *[]) { id, self->producer, type });
    bool ok = db_ok (res), fresh = ok && strcmp (PQcmdTuples (res), "1") == 0;
    if (!ok)
        log_warn (rid, "consumer %s: database error %s", self->producer, db_sqlstate (res));
    PQclear (res);
    if (!ok)
        return -1;
    if (fresh && self->apply (self->app, self->db, ev, rid)) {
        if (!quiet)
            log_warn (rid, "consumer %s: applying %s failed; will retry", self->producer, type);
        return -1;
    }
    return 0;
}

/* The whole batch in one transaction: one commit (one WAL flush) for up to
 * CONSUMER_BATCH events, not one each, which is most of what a catch-up
 * costs. Returns how many events went through, or -1 when one is malformed
 * or failed: then nothing of the batch is kept, and the caller goes event
 * by event to keep those before it. */
static int
s_apply_all (consumer_t *self, const cJSON *events, const char *rid)
{
    if (db_begin (self->db))
        return -1;
    PGresult *res = db_exec (self->db, ST_LOCK, 1, (const char *[]) { self->producer });
    if (!db_ok (res) || PQntuples (res) != 1) {
        PQclear (res);
        db_rollback (self->db);
        return -1;
    }
    char at[64];
    snprintf (at, sizeof at, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    const char *last = NULL;
    int n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach (ev, events) {
        const char *id, *type, *cursor;
        if (!s_event_fields (ev, &id, &type, &cursor))
            goto fail;
        n++;
        if (consumer_cursor_cmp (at, cursor) >= 0)
            continue;                            /* another instance got here first */
        if (s_mark_and_apply (self, ev, id, type, rid, true))
            goto fail;
        last = cursor;
    }
    if (last) {
        res = db_exec (self->db, ST_SET, 2, (const char *[]) { self->producer, last });
        bool ok = db_ok (res);
        PQclear (res);
        if (!ok)
            goto fail;
    }
    return db_commit (self->db) ? -1 : n;
fail:
    db_rollback (self->db);
    return -1;
}

/* One event in one transaction. 0 when through (applied or already done), -1 on failure. */
static int
s_apply_one (consumer_t *self, const cJSON *ev, const char *rid)
{
    const char *id, *type, *cursor;
    if (!s_event_fields (ev, &id, &type, &cursor)) {
        log_error (rid, "consumer %s: malformed event; stopping here", self->producer);
        return -1;
    }
    PGresult *res = NULL;
    if (db_begin (self->db))
        return -1;
    /* Lock our cursor: instances of this service applying the same stream queue here. */
    const char *p1[] = { self->producer };
    res = db_exec (self->db, ST_LOCK, 1, p1);
    if (!db_ok (res) || PQntuples (res) != 1)
        goto fail;
    if (consumer_cursor_cmp (PQgetvalue (res, 0, 0), cursor) >= 0) {
        /* another instance got here first */
        PQclear (res);
        db_rollback (self->db);
        return 0;
    }
    PQclear (res);
    res = NULL;
    if (s_mark_and_apply (self, ev, id, type, rid, false))
        goto fail;
    const char *p2[] = { self->producer, cursor };
    res = db_exec (self->db, ST_SET, 2, p2);
    if (!db_ok (res))
        goto fail;
    PQclear (res);
    return db_commit (self->db);
fail:
    if (res && !db_ok (res))
        log_warn (rid, "consumer %s: database error %s", self->producer, db_sqlstate (res));
    PQclear (res);
    db_rollback (self->db);
    return -1;
}

int
consumer_apply_batch (consumer_t *self, const cJSON *events)
{
    char rid[ENVELOPE_ID_MAX + 1];
    s_request_id (self, rid);
    int n = s_apply_all (self, events, rid);
    if (n >= 0)
        return n;
    /* one of them failed: event by event, so that those before it are kept */
    n = 0;
    const cJSON *ev;
    cJSON_ArrayForEach (ev, events) {
        if (s_apply_one (self, ev, rid))
            return n ? n : -1;
        n++;
    }
    return n;
}

int
consumer_poll (consumer_t *self)
{
    int total = 0;
    for (int round = 0; round < CONSUMER_ROUND_MAX; round++) {
        char cursor[64];
        if (consumer_cursor (self, cursor))
            return -1;
        char rid[ENVELOPE_ID_MAX + 1];
        s_request_id (self, rid);
        cJSON *body = cJSON_CreateObject ();
        cJSON_AddObjectToObject (body, "params");
        cJSON *data = cJSON_AddObjectToObject (body, "data");
        cJSON_AddStringToObject (data, "after", cursor);
        cJSON_AddNumberToObject (data, "limit", CONSUMER_BATCH);
        env_caller_t caller = { .user_id = self->service, .role = "service", .property_ids = NULL };
        env_reply_t rep = { 0 };
        int rc = client_call (self->method, &caller, rid, env_now_ms () + CONSUMER_CALL_MS, body, &rep);
        const cJSON *events = rep.body ? cJSON_GetObjectItemCaseSensitive (rep.body, "events") : NULL;
        if (rc || rep.status != 200 || !cJSON_IsArray (events)) {
            log_warn (rid, "consumer %s: events.read answered %d", self->producer, rep.status);
            env_reply_reset (&rep);
            return -1;
        }
        int size = cJSON_GetArraySize (events);
        int n = size ? consumer_apply_batch (self, events) : 0;
        env_reply_reset (&rep);
        if (n < 0)
            return -1;
        total += n;
        if (n < size || size < CONSUMER_BATCH)
            return n < size ? -1 : total;
    }
    return total;
}

int
consumer_copy (db_t *db, const char *st, const char *property_id, const cJSON *obj, const char *extra,
               const char *rid)
{
    char *text = cJSON_PrintUnformatted (obj);
    if (!text)
        return -1;
    const char *params[] = { property_id, text, extra };
    PGresult *res = db_exec (db, st, extra ? 3 : 2, params);
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_warn (rid, "copy: %s failed (%s)", st, db_sqlstate (res));
    PQclear (res);
    free (text);
    return rc;
}
