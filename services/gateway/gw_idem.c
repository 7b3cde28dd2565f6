/* gw_idem: Idempotency-Key records in gateway.idempotency; see gw_idem.h. */
#include "gw_idem.h"

#include "config.h"
#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A store or release the database did not take; tried again by gw_idem_flush. */
typedef struct s_step s_step_t;
struct s_step {
    s_step_t *next;
    char *key, *caller_id, *response;
    char stamp[GW_IDEM_STAMP_MAX];
    int status;                      /* gw_idem_releases (status): a release */
    int64_t until_s;                 /* monotonic seconds: dropped after */
    char request_id[ENVELOPE_ID_MAX + 1];
};

struct gw_idem {
    db_t *db;
    const char *claim_async;         /* "t" or "f": idem_claim's $6 */
    s_step_t *head, *tail;
    size_t npending;
    size_t pending_bytes;            /* answers kept for a later store */
    size_t dropped;                  /* queue full: steps never queued (logged) */
};

static int64_t
s_now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec;
}

void
gw_idem_hash (const char *body, size_t len, char out[GW_IDEM_HASH_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (h, (const unsigned char *) body, len);
    sodium_bin2hex (out, GW_IDEM_HASH_HEX, h, sizeof h);
}

gw_idem_result_t
gw_idem_decide (const char *stored_route, const char *stored_hash, bool answered,
                const char *route, const char *hash)
{
    if (strcmp (stored_route, route) != 0 || strcmp (stored_hash, hash) != 0)
        return GW_IDEM_MISMATCH;
    return answered ? GW_IDEM_REPLAY : GW_IDEM_IN_PROGRESS;
}

bool
gw_idem_releases (int status)
{
    return status >= 500;
}

void
gw_idem_fingerprint (const char *route, const char *hash, char out[GW_IDEM_HASH_HEX])
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init (&st);
    crypto_hash_sha256_update (&st, (const unsigned char *) route, strlen (route));
    crypto_hash_sha256_update (&st, (const unsigned char *) "\n", 1);
    crypto_hash_sha256_update (&st, (const unsigned char *) hash, strlen (hash));
    crypto_hash_sha256_final (&st, h);
    sodium_bin2hex (out, GW_IDEM_HASH_HEX, h, sizeof h);
}

/* A claim's stamp: created_at in microseconds since the epoch (exact:
 * extract() is numeric). */
#define S_STAMP "(extract(epoch FROM created_at) * 1000000)::bigint"

static const db_statement_t s_idem_statements[] = {
    /* claims a new key, or one whose record expired, or one a dead request left;
     * $6: commit without waiting for the WAL flush (PM_IDEM_CLAIM_ASYNC, see
     * gw_idem.h): set_config (..., true) lasts to the transaction's end,
     * which is when its commit reads the setting; else the session's own */
    { "idem_claim",
      "INSERT INTO idempotency (key, caller_id, route, body_hash) "
      "SELECT $1, $2, $3, decode($4, 'hex') "
      "  FROM (SELECT set_config('synchronous_commit', CASE WHEN $6::bool THEN 'off' "
      "               ELSE current_setting('synchronous_commit') END, true)) AS commit_mode "
      "ON CONFLICT (caller_id, key) DO UPDATE "
      "SET route = EXCLUDED.route, body_hash = EXCLUDED.body_hash, status = NULL, "
      "    response = NULL, created_at = now() "
      "WHERE idempotency.created_at < now() - interval '24 hours' "
      "   OR (idempotency.status IS NULL "
      "       AND idempotency.created_at < now() - make_interval(secs => $5::int)) "
      "RETURNING " S_STAMP, false },
    { "idem_get",
      "SELECT route, encode(body_hash, 'hex'), status, response FROM idempotency "
      "WHERE caller_id = $1 AND key = $2", true },
    /* both touch only the claim they were given (its stamp), and both are
     * safe to run twice: a step retried after a lost connection is harmless */
    { "idem_store",
      "UPDATE idempotency SET status = $3::int, response = $4 "
      "WHERE caller_id = $1 AND key = $2 AND status IS NULL AND " S_STAMP " = $5::bigint", true },
    { "idem_release",
      "DELETE FROM idempotency WHERE caller_id = $1 AND key = $2 AND status IS NULL "
      "AND " S_STAMP " = $3::bigint", true },
    { "idem_cleanup", "DELETE FROM idempotency WHERE created_at < now() - interval '24 hours'", false },
};

gw_idem_t *
gw_idem_new (db_t *db)
{
    if (DB_PREPARE_ALL (db, s_idem_statements) != 0)
        return NULL;
    gw_idem_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->claim_async = config_int ("PM_IDEM_CLAIM_ASYNC", 0, 0, 1) ? "t" : "f";
    return self;
}

static void
s_step_free (s_step_t *s)
{
    free (s->key);
    free (s->caller_id);
    free (s->response);
    free (s);
}

void
gw_idem_destroy (gw_idem_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_idem_t *self = *self_p;
    if (self->npending)
        log_warn (NULL, "idempotency: %zu steps never reached the database (their keys free up "
                        "after the takeover delay)", self->npending);
    for (s_step_t *s = self->head, *next; s; s = next) {
        next = s->next;
        s_step_free (s);
    }
    free (self);
    *self_p = NULL;
}

/* Stores or releases one claim: 0, or -1 when the database did not take it. */
static int
s_apply (gw_idem_t *self, const char *key, const char *caller_id, const char *stamp, int status,
         const char *response, const char *request_id)
{
    PGresult *res;
    if (gw_idem_releases (status))
        res = db_exec (self->db, "idem_release", 3, (const char *[]) { caller_id, key, stamp });
    else {
        char st[16];
        snprintf (st, sizeof st, "%d", status);
        res = db_exec (self->db, "idem_store", 5, (const char *[]) { caller_id, key, st, response, stamp });
    }
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_warn (request_id, "idempotency %s: %s", gw_idem_releases (status) ? "release" : "store",
                  PQresultErrorMessage (res));
    PQclear (res);
    return rc;
}

size_t
gw_idem_flush (gw_idem_t *self)
{
    int64_t now = s_now_s ();
    while (self->head) {
        s_step_t *s = self->head;
        bool expired = now > s->until_s;
        if (!expired && s_apply (self, s->key, s->caller_id, s->stamp, s->status, s->response,
                                 s->request_id) != 0)
            break;                   /* still away: the rest waits too */
        if (expired)
            log_warn (s->request_id, "idempotency: gave up %s a claim the database never took",
                      gw_idem_releases (s->status) ? "releasing" : "storing the answer of");
        else
            log_info (s->request_id, "idempotency: %s once the database was back",
                      gw_idem_releases (s->status) ? "claim released" : "answer stored");
        self->head = s->next;
        if (!self->head)
            self->tail = NULL;
        self->npending--;
        self->pending_bytes -= s->response ? strlen (s->response) : 0;
        s_step_free (s);
    }
    return self->npending;
}

size_t
gw_idem_pending (const gw_idem_t *self)
{
    return self->npending;
}

gw_idem_result_t
gw_idem_begin (gw_idem_t *self, const char *key, const char *caller_id, const char *route,
               const char *hash, int abandon_after_s, char stamp[GW_IDEM_STAMP_MAX], int *status,
               char **response, const char *request_id)
{
    *status = 0;
    *response = NULL;
    stamp[0] = 0;
    /* a release that waited for the database may be the one this retry needs */
    if (self->npending)
        gw_idem_flush (self);
    char abandon[16];
    snprintf (abandon, sizeof abandon, "%d", abandon_after_s);
    /* twice: a claim released between our INSERT and SELECT is claimable again */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = db_exec (self->db, "idem_claim", 6,
                                 (const char *[]) { key, caller_id, route, hash, abandon, self->claim_async });
        if (!db_ok (res)) {
            log_warn (request_id, "idempotency claim: %s", PQresultErrorMessage (res));
            PQclear (res);
            return GW_IDEM_ERROR;
        }
        bool claimed = PQntuples (res) == 1;
        if (claimed)
            snprintf (stamp, GW_IDEM_STAMP_MAX, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        if (claimed)
            return GW_IDEM_CLAIMED;
        res = db_exec (self->db, "idem_get", 2, (const char *[]) { caller_id, key });
        if (!db_ok (res)) {
            log_warn (request_id, "idempotency lookup: %s", PQresultErrorMessage (res));
            PQclear (res);
            return GW_IDEM_ERROR;
        }
        if (PQntuples (res) == 0) {
            PQclear (res);
            continue;
        }
        bool answered = !PQgetisnull (res, 0, 2);
        gw_idem_result_t r = gw_idem_decide (PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1),
                                             answered, route, hash);
        if (r == GW_IDEM_REPLAY) {
            *status = atoi (PQgetvalue (res, 0, 2));
            if (!PQgetisnull (res, 0, 3)) {
                *response = strdup (PQgetvalue (res, 0, 3));
                if (!*response)
                    r = GW_IDEM_ERROR;
            }
        }
        PQclear (res);
        return r;
    }
    return GW_IDEM_IN_PROGRESS;
}

void
gw_idem_finish (gw_idem_t *self, const char *key, const char *caller_id,
                const char stamp[GW_IDEM_STAMP_MAX], int status, const char *response,
                int abandon_after_s, const char *request_id)
{
    /* after earlier steps that still wait: in order, and not a second failure now */
    if (!self->npending && s_apply (self, key, caller_id, stamp, status, response, request_id) == 0)
        return;
    size_t bytes = response ? strlen (response) : 0;
    if (self->npending >= GW_IDEM_PENDING_MAX || self->pending_bytes + bytes > GW_IDEM_PENDING_BYTES) {
        /* the claim then stays until it can be taken over (abandon_after_s) */
        if (self->dropped++ % 100 == 0)
            log_warn (request_id, "idempotency: %zu steps wait for the database already; %zu dropped",
                      self->npending, self->dropped);
        return;
    }
    s_step_t *s = calloc (1, sizeof *s);
    if (s) {
        s->key = strdup (key);
        s->caller_id = strdup (caller_id);
        s->response = response ? strdup (response) : NULL;
    }
    if (!s || !s->key || !s->caller_id || (response && !s->response)) {
        if (s)
            s_step_free (s);
        return;
    }
    snprintf (s->stamp, sizeof s->stamp, "%s", stamp);
    snprintf (s->request_id, sizeof s->request_id, "%s", request_id ? request_id : "");
    s->status = status;
    /* a release matters only until the claim could be taken over anyway */
    s->until_s = s_now_s () + (gw_idem_releases (status) ? abandon_after_s : GW_IDEM_STORE_TTL_S);
    if (self->tail)
        self->tail->next = s;
    else
        self->head = s;
    self->tail = s;
    self->npending++;
    self->pending_bytes += bytes;
}

long
gw_idem_cleanup (gw_idem_t *self)
{
    PGresult *res = db_exec (self->db, "idem_cleanup", 0, NULL);
    long n = db_ok (res) ? atol (PQcmdTuples (res)) : -1;
    PQclear (res);
    return n;
}
