/* idem: a write with an Idempotency-Key runs once in its service; see idem.h. */
#include "idem.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const db_statement_t s_statements[] = {
    /* waits for a run of the same key that has not committed yet */
    { "idem_claim",
      "INSERT INTO idempotency (caller_id, key, fingerprint) VALUES ($1, $2, $3) "
      "ON CONFLICT DO NOTHING RETURNING 1", false },
    { "idem_answer",
      "UPDATE idempotency SET status = $3::int, reply = $4 WHERE caller_id = $1 AND key = $2", false },
    { "idem_stored",
      "SELECT fingerprint, status, reply FROM idempotency WHERE caller_id = $1 AND key = $2", true },
    { "idem_cleanup",
      "DELETE FROM idempotency WHERE created_at < now () - make_interval (hours => "
      "$1::int)", false },
};

int
idem_prepare (db_t *db)
{
    return db_prepare_all (db, s_statements, sizeof s_statements / sizeof s_statements[0]);
}

/* The answer stored for the key, committed by an earlier run. */
static void
s_replay (db_t *db, const env_request_t *req, env_reply_t *rep)
{
    PGresult *res = db_exec (db, "idem_stored", 2,
                             (const char *[]) { req->caller.user_id, req->idem_key });
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else
    if (PQntuples (res) == 0 || PQgetisnull (res, 0, 1))
        /* gone between the claim and now (its run rolled back, or its day is
         * over): a retry runs it afresh */
        env_reply_error (rep, 503, "service_unavailable", NULL, "try again");
    else
    if (strcmp (PQgetvalue (res, 0, 0), req->idem_fingerprint) != 0)
        env_reply_error (rep, 409, "idempotency_mismatch", NULL,
                         "this Idempotency-Key was used with a different request");
    else {
        char id[ENVELOPE_ID_MAX + 1];
        const char *json = PQgetvalue (res, 0, 2);
        if (env_reply_read (json, strlen (json), id, rep) != 0) {
            env_reply_reset (rep);
            env_reply_error (rep, 500, "internal", NULL, "the stored answer does not parse");
        }
        else
            log_info (req->id, "%s: the answer of %s again (Idempotency-Key)", req->method, id);
    }
    PQclear (res);
}

char *
idem_serve (db_t *db, const env_request_t *req, const char *reply_id,
            void (*handler) (void *app, const env_request_t *req, env_reply_t *rep),
            void *app, env_reply_t *rep)
{
    const char *caller = req->caller.user_id;
    if (!caller || !*caller || !req->idem_key) {
        handler (app, req, rep);
        return NULL;
    }
    if (db_request_begin (db) != 0) {
        db_fail (db, req->id, rep, "begin");
        return NULL;
    }
    PGresult *res = db_exec_plain (db, "idem_claim", 3,
                                   (const char *[]) { caller, req->idem_key, req->idem_fingerprint });
    if (!db_ok (res) || PQntuples (res) == 0) {
        db_request_rollback (db);
        if (db_ok (res))
            s_replay (db, req, rep);
        else
            db_reply_error (res, rep, req->id);
        PQclear (res);
        return NULL;
    }
    PQclear (res);

    handler (app, req, rep);
    if (rep->status < 100 || rep->status >= 500) {
        /* no answer to keep: nothing the handler wrote stays either */
        db_request_rollback (db);
        return NULL;
    }
    char *json = env_reply_build (reply_id, rep);
    char status[8];
    snprintf (status, sizeof status, "%d", rep->status);
    res = json ? db_exec_plain (db, "idem_answer", 4, (const char *[]) { caller, req->idem_key, status, json })
               : NULL;
    if (!db_ok (res)) {
        env_reply_reset (rep);
        if (res)
            db_reply_error (res, rep, req->id);
        else
            env_reply_error (rep, 500, "internal", NULL, "out of memory");
        db_request_rollback (db);
        PQclear (res);
        free (json);
        return NULL;
    }
    PQclear (res);
    if (db_request_commit (db) != 0) {
        /* 503 when the connection dropped: whether it committed is unknown
         * here, and a retry finds out from the row */
        env_reply_reset (rep);
        db_fail (db, req->id, rep, "commit");
        free (json);
        return NULL;
    }
    return json;
}

long
idem_cleanup (db_t *db)
{
    char hours[16];
    snprintf (hours, sizeof hours, "%d", IDEM_KEEP_HOURS);
    PGresult *res = db_exec (db, "idem_cleanup", 1, (const char *[]) { hours });
    long n = db_ok (res) ? atol (PQcmdTuples (res)) : -1;
    PQclear (res);
    return n;
}
