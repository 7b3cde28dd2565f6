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
#include "zloop.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct outbox {
    db_t *db;
    char producer[64];
    void *pub;                       /* of the process's context (zloop.h) */
};

/* Every column the reader returns, in this order. occurred_at is RFC 3339 UTC.
 * The aliases matter: ORDER BY a bare name means an output column first, and
 * "xid"/"seq" as text would sort "12" before "5". */
#define OUTBOX_COLUMNS                                                          \
    "xid::text AS xid_text, seq::text AS seq_text, id::text, type, "            \
    "to_char (occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
    "property_id::text, data::text"

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

    if (db_prepare (db, "outbox_add",
                    "INSERT INTO outbox (type, property_id, data) "
                    "VALUES ($1::text, $2::uuid, $3::jsonb)", false)
        || db_prepare (db, "outbox_read",
                       "SELECT " OUTBOX_COLUMNS " FROM outbox "
                       "WHERE (xid, seq) > ($1::xid8, $2::bigint) "
                       "  AND xid < pg_snapshot_xmin (pg_current_snapshot ()) "
                       "ORDER BY outbox.xid, outbox.seq LIMIT $3::int", true))
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
    if (curve_client (self->pub) != 0 || zmq_connect (self->pub, config_events_in_endpoint ())) {
        log_error (NULL, "outbox: cannot connect to %s: %s", config_events_in_endpoint (),
                   zmq_strerror (errno));
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

void
outbox_wake (outbox_t *self)
{
    if (!self || !self->pub)
        return;
    /* Dropped when nobody listens or the queue is full: consumers poll on a timer anyway. */
    zmq_send (self->pub, self->producer, strlen (self->producer), ZMQ_DONTWAIT);
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
}
