/* gw_idem: Idempotency-Key records in gateway.idempotency; see gw_idem.h. */
#include "gw_idem.h"

#include "log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
gw_idem_key_valid (const char *key)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) key; *p; p++, n++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return n >= 1 && n <= GW_IDEM_KEY_MAX;
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

int
gw_idem_prepare (db_t *db)
{
    /* claims a new key, or one whose record expired, or one a dead request left */
    int rc = db_prepare (db, "idem_claim",
        "INSERT INTO idempotency (key, caller_id, route, body_hash) "
        "VALUES ($1, $2, $3, decode($4, 'hex')) "
        "ON CONFLICT (caller_id, key) DO UPDATE "
        "SET route = EXCLUDED.route, body_hash = EXCLUDED.body_hash, status = NULL, "
        "    response = NULL, created_at = now() "
        "WHERE idempotency.created_at < now() - interval '24 hours' "
        "   OR (idempotency.status IS NULL "
        "       AND idempotency.created_at < now() - make_interval(secs => $5::int)) "
        "RETURNING 1", false);
    rc |= db_prepare (db, "idem_get",
        "SELECT route, encode(body_hash, 'hex'), status, response FROM idempotency "
        "WHERE caller_id = $1 AND key = $2", true);
    rc |= db_prepare (db, "idem_store",
        "UPDATE idempotency SET status = $3::int, response = $4 "
        "WHERE caller_id = $1 AND key = $2 AND status IS NULL", false);
    rc |= db_prepare (db, "idem_release",
        "DELETE FROM idempotency WHERE caller_id = $1 AND key = $2 AND status IS NULL", false);
    rc |= db_prepare (db, "idem_cleanup",
        "DELETE FROM idempotency WHERE created_at < now() - interval '24 hours'", false);
    return rc ? -1 : 0;
}

gw_idem_result_t
gw_idem_begin (db_t *db, const char *key, const char *caller_id, const char *route,
               const char *hash, int abandon_after_s, int *status, char **response,
               const char *request_id)
{
    *status = 0;
    *response = NULL;
    char abandon[16];
    snprintf (abandon, sizeof abandon, "%d", abandon_after_s);
    /* twice: a claim released between our INSERT and SELECT is claimable again */
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = db_exec (db, "idem_claim", 5,
                                 (const char *[]) { key, caller_id, route, hash, abandon });
        if (!db_ok (res)) {
            log_warn (request_id, "idempotency claim: %s", PQresultErrorMessage (res));
            PQclear (res);
            return GW_IDEM_ERROR;
        }
        bool claimed = PQntuples (res) == 1;
        PQclear (res);
        if (claimed)
            return GW_IDEM_CLAIMED;
        res = db_exec (db, "idem_get", 2, (const char *[]) { caller_id, key });
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
gw_idem_finish (db_t *db, const char *key, const char *caller_id, int status,
                const char *response, const char *request_id)
{
    PGresult *res;
    if (status >= 500)
        res = db_exec (db, "idem_release", 2, (const char *[]) { caller_id, key });
    else {
        char st[16];
        snprintf (st, sizeof st, "%d", status);
        res = db_exec (db, "idem_store", 4, (const char *[]) { caller_id, key, st, response });
    }
    /* if this fails, the claim stays "in progress" until it is old enough to
     * be taken over: a retry then runs again, which is what a client that saw
     * no stored answer expects */
    if (!db_ok (res))
        log_warn (request_id, "idempotency store: %s", PQresultErrorMessage (res));
    PQclear (res);
}

long
gw_idem_cleanup (db_t *db)
{
    PGresult *res = db_exec (db, "idem_cleanup", 0, NULL);
    long n = db_ok (res) ? atol (PQcmdTuples (res)) : -1;
    PQclear (res);
    return n;
}
