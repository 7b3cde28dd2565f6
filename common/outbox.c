/* outbox: a producer's events table, its reader and its wake-up; see outbox.h.
 *
 * Why (xid, seq) and not seq alone: seq values are taken when a row is
 * inserted, but rows become visible when their transaction commits. With
 * writers A (BEGIN, insert -> seq 7, ... still open) and B (insert -> seq 8,
 * COMMIT), a reader by seq alone sees 8, moves its cursor to 8, and never
 * returns 7 once A commits. Here a row is read only once every transaction
 * with a smaller xid has finished (xid < xmin of the reader's snapshot), so
 * nothing below the cursor can still appear; tests/unit/test_outbox.c shows
 * both behaviours against a real server. */
#include "outbox.h"
#include "config.h"
#include "curve.h"
#include "jv.h"
#include "log.h"
#include "mdp.h"
#include "zloop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_SEEN_SLOTS   8             /* consumers remembered (a producer has two or three) */
#define S_SEEN_REFRESH 60000         /* ms: an unchanged position is written again after this */

/* A consumer's position as last written: a caught-up consumer polls every
 * second, and writes (taking an xid, which holds back every reader's
 * snapshot for that moment) at most once a minute. */
typedef struct {
    char name[OUTBOX_CONSUMER_NAME_MAX + 1];
    char xid[24], seq[24];
    int64_t at_ms;
} s_seen_t;

struct outbox {
    db_t *db;
    char producer[64];
    int64_t retention_days;          /* PM_OUTBOX_RETENTION_DAYS */
    int64_t prune_every_ms;          /* PM_OUTBOX_PRUNE_INTERVAL_S */
    int64_t next_prune_ms;           /* env_now_ms () of the next prune; 0 = at the first read */
    s_seen_t seen[S_SEEN_SLOTS];     /* the positions last written */
    void *pub;                       /* of the process's context (zloop.h) */
};

/* Every column the reader returns, in this order. occurred_at is RFC 3339 UTC.
 * The aliases matter: ORDER BY a bare name means an output column first, and
 * "xid"/"seq" as text would sort "12" before "5". */
#define OUTBOX_COLUMNS                                                          \
    "xid::text AS xid_text, seq::text AS seq_text, id::text, type, "            \
    DB_UTC_TS ("occurred_at") ", "                                              \
    "property_id::text, data::text"

/* ------------------------------------------------------------------ pruning */

/* Statement names of the pruning part. */
#define ST_SEEN  "outbox_consumer_seen"
#define ST_PRUNE "outbox_prune"

/* outbox_consumers (created here, once, whoever starts first) and the
 * statements of pruning. 0 or -1. */
static int
s_prune_prepare (outbox_t *self)
{
    self->retention_days = config_int ("PM_OUTBOX_RETENTION_DAYS", OUTBOX_RETENTION_DAYS_DEFAULT, 1, 36500);
    self->prune_every_ms = 1000 * config_int ("PM_OUTBOX_PRUNE_INTERVAL_S", OUTBOX_PRUNE_INTERVAL_S_DEFAULT, 1,
                                              86400);
    /* two instances starting together: IF NOT EXISTS alone can still fail on the catalog's unique index */
    PGresult *res = NULL;
    if (db_begin (self->db))
        return -1;
    res = db_query (self->db, "SELECT pg_advisory_xact_lock (hashtext ('pm.outbox_consumers'))");
    bool ok = db_ok (res);
    PQclear (res);
    if (ok) {
        res = db_query (self->db, OUTBOX_CONSUMERS_SQL);
        ok = db_ok (res);
        if (!ok)
            log_error (NULL, "outbox: cannot create outbox_consumers (sqlstate %s)", db_sqlstate (res));
        PQclear (res);
    }
    if (!ok || db_commit (self->db)) {
        db_rollback (self->db);
        return -1;
    }
    /* the read time moves at most once a minute while the position stands
     * still: a caught-up consumer polls every second, and need not write */
    if (db_prepare (self->db, ST_SEEN,
                    "INSERT INTO outbox_consumers AS c (consumer, xid, seq) "
                    "VALUES ($1::text, $2::xid8, $3::bigint) "
                    "ON CONFLICT (consumer) DO UPDATE SET xid = EXCLUDED.xid, seq = EXCLUDED.seq, read_at = now () "
                    "WHERE c.xid <> EXCLUDED.xid OR c.seq <> EXCLUDED.seq "
                    "   OR c.read_at < now () - interval '1 minute'", false)
        || db_prepare (self->db, ST_PRUNE,
                       "WITH m AS (SELECT xid, seq FROM outbox_consumers ORDER BY xid, seq LIMIT 1), "
                       "d AS (DELETE FROM outbox WHERE seq IN ("
                       "  SELECT o.seq FROM outbox o, m WHERE (o.xid, o.seq) <= (m.xid, m.seq) "
                       "  AND o.occurred_at < now () - make_interval (days => $1::int) "
                       "  ORDER BY o.xid, o.seq LIMIT $2::int) RETURNING 1) "
                       "SELECT count(*) FROM d", false))
        return -1;
    return 0;
}

bool
outbox_consumer_name_ok (const char *name)
{
    return name && mdp_name_valid (name, strlen (name));
}

int
outbox_prune (outbox_t *self)
{
    char days[24], batch[24];
    snprintf (days, sizeof days, "%lld", (long long) self->retention_days);
    snprintf (batch, sizeof batch, "%d", OUTBOX_PRUNE_BATCH);
    PGresult *res = db_exec (self->db, ST_PRUNE, 2, (const char *[]) { days, batch });
    int n = db_ok (res) && PQntuples (res) == 1 ? atoi (PQgetvalue (res, 0, 0)) : -1;
    if (n < 0)
        log_warn (NULL, "outbox: prune failed (sqlstate %s); tried again later", db_sqlstate (res));
    else if (n > 0)
        log_info (NULL, "outbox: %d events every consumer has read, older than %lld days, pruned", n,
                  (long long) self->retention_days);
    PQclear (res);
    return n;
}

/* After a service's read: its position recorded, and the prune when due.
 * Neither fails the read: the position is reported again a second later. */
static void
s_consumer_read (outbox_t *self, const env_request_t *req, const char *xid, const char *seq)
{
    const char *who = req->caller.user_id;
    if (!outbox_consumer_name_ok (who)) {
        log_warn (req->id, "outbox: a service read with an unusable name: position not recorded");
        return;
    }
    int64_t now = env_now_ms ();
    int slot = S_SEEN_SLOTS - 1;             /* none free: the last one is reused */
    for (int i = 0; i < S_SEEN_SLOTS; i++)
        if (strcmp (self->seen[i].name, who) == 0 || !self->seen[i].name[0]) {
            slot = i;
            break;
        }
    s_seen_t *e = &self->seen[slot];
    bool same = strcmp (e->name, who) == 0 && strcmp (e->xid, xid) == 0 && strcmp (e->seq, seq) == 0
                && now - e->at_ms < S_SEEN_REFRESH;
    if (!same) {
        PGresult *res = db_exec (self->db, ST_SEEN, 3, (const char *[]) { who, xid, seq });
        if (!db_ok (res))
            log_warn (req->id, "outbox: recording %s's position failed (sqlstate %s)", who, db_sqlstate (res));
        else {
            snprintf (e->name, sizeof e->name, "%s", who);
            snprintf (e->xid, sizeof e->xid, "%s", xid);
            snprintf (e->seq, sizeof e->seq, "%s", seq);
            e->at_ms = now;
        }
        PQclear (res);
    }
    if (now < self->next_prune_ms)
        return;
    int n = outbox_prune (self);
    /* a full batch: more is waiting, go on at the next read */
    self->next_prune_ms = n == OUTBOX_PRUNE_BATCH ? 0 : now + self->prune_every_ms;
}

/* ------------------------------------------------------------------ the outbox */

outbox_t *
outbox_new (db_t *db, const char *producer)
{
    if (!db || !producer || !*producer || strlen (producer) >= 64)
        return NULL;
    outbox_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    snprintf (self->producer, sizeof self->producer, "%s", producer);

    if (db_prepare (db, "outbox_add", OUTBOX_INSERT "VALUES ($1::text, $2::uuid, $3::jsonb)", false)
        || db_prepare (db, "outbox_read",
                       "SELECT " OUTBOX_COLUMNS " FROM outbox "
                       "WHERE (xid, seq) > ($1::xid8, $2::bigint) "
                       "  AND xid < pg_snapshot_xmin (pg_current_snapshot ()) "
                       "ORDER BY outbox.xid, outbox.seq LIMIT $3::int", true)
        || s_prune_prepare (self))
        goto fail;

    self->pub = pm_zmq_socket (ZMQ_PUB);
    if (!self->pub) {
        log_error (NULL, "outbox: cannot make the wake-up socket: %s", zmq_strerror (errno));
        goto fail;
    }
    int hwm = 100;
    zmq_setsockopt (self->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
    /* connect is asynchronous: it succeeds while the broker is away and
     * reconnects by itself; a wake-up lost meanwhile only delays a consumer
     * until its timer. */
    /* With several brokers (config.h) the PUB connects to each one's
     * events-in and sends every wake-up to each that has a subscriber: one
     * broker down loses nothing a consumer needs. */
    config_endpoints_t in;
    config_events_in_endpoints (&in);
    if (curve_client (self->pub) != 0)
        goto fail;
    for (int i = 0; i < in.count; i++)
        if (zmq_connect (self->pub, in.item[i])) {
            log_error (NULL, "outbox: cannot connect to %s: %s", in.item[i], zmq_strerror (errno));
            goto fail;
        }
    return self;
fail:
    outbox_destroy (&self);
    return NULL;
}

void
outbox_destroy (outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outbox_t *self = *self_p;
    if (self->pub)
        zmq_close (self->pub);
    free (self);
    *self_p = NULL;
}

int
outbox_add (outbox_t *self, const char *type, const char *property_id, const cJSON *data)
{
    char *json = data ? cJSON_PrintUnformatted (data) : strdup ("{}");
    if (!json || !type)
        goto fail;
    const char *params[] = { type, property_id, json };
    PGresult *res = db_exec (self->db, "outbox_add", 3, params);
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_error (NULL, "outbox: could not add %s (sqlstate %s)", type, *db_sqlstate (res) ? db_sqlstate (res) : "-");
    PQclear (res);
    free (json);
    return rc;
fail:
    free (json);
    return -1;
}

static void
s_wake (void *arg)
{
    outbox_t *self = arg;
    /* Dropped when nobody listens or the queue is full: consumers poll on a timer anyway. */
    zmq_send (self->pub, self->producer, strlen (self->producer), ZMQ_DONTWAIT);
}

void
outbox_wake (outbox_t *self)
{
    if (!self || !self->pub)
        return;
    /* in a request's own transaction (common/idem.h), once that commits */
    db_after_commit (self->db, s_wake, self);
}

/* A decimal of 1..20 digits that fits in max. */
static bool
s_decimal (const char *s, size_t len, uint64_t max, char out[24])
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned) (s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    snprintf (out, 24, "%" PRIu64, v);
    return true;
}

bool
outbox_cursor_parse (const char *cursor, char xid[24], char seq[24])
{
    if (!cursor || !*cursor) {
        strcpy (xid, "0");
        strcpy (seq, "0");
        return true;
    }
    const char *colon = strchr (cursor, ':');
    if (!colon)
        return false;
    char x[24], s[24];
    /* xid8 is unsigned 64-bit; seq is a bigint */
    if (!s_decimal (cursor, (size_t) (colon - cursor), UINT64_MAX, x)
        || !s_decimal (colon + 1, strlen (colon + 1), INT64_MAX, s))
        return false;
    strcpy (xid, x);
    strcpy (seq, s);
    return true;
}

/* One row of the reader's result as an event envelope (plus its cursor). */
static cJSON *
s_event (const outbox_t *self, const PGresult *res, int row, char cursor[64])
{
    snprintf (cursor, 64, "%s:%s", PQgetvalue (res, row, 0), PQgetvalue (res, row, 1));
    cJSON *ev = cJSON_CreateObject ();
    cJSON_AddNumberToObject (ev, "v", ENVELOPE_VERSION);
    cJSON_AddStringToObject (ev, "id", PQgetvalue (res, row, 2));
    cJSON_AddStringToObject (ev, "type", PQgetvalue (res, row, 3));
    cJSON_AddStringToObject (ev, "occurred_at", PQgetvalue (res, row, 4));
    if (PQgetisnull (res, row, 5))
        cJSON_AddNullToObject (ev, "property_id");
    else
        cJSON_AddStringToObject (ev, "property_id", PQgetvalue (res, row, 5));
    cJSON_AddStringToObject (ev, "producer", self->producer);
    cJSON_AddNumberToObject (ev, "seq", strtod (PQgetvalue (res, row, 1), NULL));
    cJSON_AddStringToObject (ev, "cursor", cursor);
    cJSON *data = cJSON_Parse (PQgetvalue (res, row, 6));
    cJSON_AddItemToObject (ev, "data", data ? data : cJSON_CreateObject ());
    return ev;
}

void
outbox_read (outbox_t *self, const env_request_t *req, env_reply_t *rep)
{
    const char *role = req->caller.role ? req->caller.role : "";
    if (strcmp (role, "service") != 0 && strcmp (role, "admin") != 0) {
        /* events cover every property: only services (and admins) read them */
        env_reply_error (rep, 403, "forbidden", NULL, "events are read by services only");
        return;
    }
    /* {"after","limit"} in data; params (strings) are accepted as well. */
    jv_t v = JV_INIT;
    const cJSON *data = cJSON_IsObject (req->data) ? req->data : NULL;
    const char *after = NULL;
    int64_t limit = OUTBOX_READ_DEFAULT;
    if (data) {
        after = jv_string (&v, data, "after", JV_OPTIONAL, 64);
        jv_int (&v, data, "limit", JV_OPTIONAL, 1, OUTBOX_READ_MAX, &limit);
    }
    else {
        after = env_param (req, "after");
        const char *l = env_param (req, "limit");
        if (l) {
            char *end;
            errno = 0;
            long long n = strtoll (l, &end, 10);
            if (errno || *end || end == l || n < 1 || n > OUTBOX_READ_MAX)
                jv_problem (&v, "limit", "must be an integer from 1 to %d", OUTBOX_READ_MAX);
            else
                limit = n;
        }
    }
    char xid[24], seq[24];
    if (!outbox_cursor_parse (after, xid, seq))
        jv_problem (&v, "after", "must be a cursor \"xid:seq\" from a previous read, or null");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "bad events.read request");
        return;
    }
    char lim[24];
    snprintf (lim, sizeof lim, "%lld", (long long) limit);
    const char *params[] = { xid, seq, lim };
    PGresult *res = db_exec (self->db, "outbox_read", 3, params);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON *events = cJSON_AddArrayToObject (body, "events");
    char next[64];
    snprintf (next, sizeof next, "%s:%s", xid, seq);
    for (int i = 0; i < PQntuples (res); i++)
        cJSON_AddItemToArray (events, s_event (self, res, i, next));
    cJSON_AddStringToObject (body, "next", next);
    PQclear (res);
    env_reply_ok (rep, 200, body);
    /* a consumer (a service, not an admin looking) tells us where it stands: "after" */
    if (strcmp (role, "service") == 0)
        s_consumer_read (self, req, xid, seq);
}
