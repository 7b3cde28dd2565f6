/* billing: what every billing handler shares (billing.h): whether a property
 * or a unit is known here, the answers of documents and lists, and the
 * service's own methods (events.read, ping). */
#include "billing.h"

#include "archive_copy.h"
#include "ledger.h"

#include <stdio.h>

const char *const bl_roles_readers[] = { "admin", "manager", "agent", "integration", NULL };

int
bl_property_known (billing_t *app, const char *pid, env_reply_t *rep, const env_request_t *req)
{
    PGresult *res = bl_settings_row (app->db, pid);
    int known = 0;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        known = 1;
    PQclear (res);
    return known;
}

bool
bl_unit_known (billing_t *app, const char *pid, const char *uid, const char *message, env_reply_t *rep,
               const env_request_t *req)
{
    int known = bl_ledger_unit_known (app->db, pid, uid);
    if (known < 0)
        db_fail (app->db, req->id, rep, "unit lookup");
    else if (known == 0)
        env_reply_error (rep, 422, "validation_failed", jv_detail ("unit_id", "no such unit in this property"),
                         "%s", message);
    return known > 0;
}

bool
bl_begin_on_unit (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *stmt,
                  const char *pid, const char *id, const char *what, char uid[37])
{
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return false;
    }
    PGresult *res = db_exec (app->db, stmt, 2, (const char *[]) { pid, id });
    bool found = db_ok (res) && PQntuples (res) == 1;
    if (found)
        snprintf (uid, 37, "%s", PQgetvalue (res, 0, 0));
    if (!db_ok (res))
        db_fail (app->db, req->id, rep, stmt);
    else if (!found) {
        db_rollback (app->db);
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", what);
    }
    else if (bl_ledger_lock_unit (app->db, pid, uid)) {
        db_fail (app->db, req->id, rep, "ledger lock");
        found = false;
    }
    PQclear (res);
    return found;
}

void
bl_reply_property_doc (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                       const char *stmt, int n, const char **params)
{
    if (bl_property_known (app, pid, rep, req))
        db_reply_json (db_exec (app->db, stmt, n, params), rep, req->id, 200, "no such property");
}

void
bl_reply_page (billing_t *app, const env_request_t *req, env_reply_t *rep, jv_t *v, const char *pid,
               const char *stmt, int n, const char **params, int limit)
{
    if (!jv_ok (v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (v), "invalid list parameters");
        return;
    }
    if (!bl_property_known (app, pid, rep, req))
        return;
    char rows[16];
    snprintf (rows, sizeof rows, "%d", limit + 1);
    params[n - 1] = rows;
    PGresult *res = db_exec (app->db, stmt, n, params);
    if (db_ok (res))
        env_reply_ok (rep, 200, page_json_rows (res, limit, 1, 2));
    else
        db_reply_error (res, rep, req->id);
    PQclear (res);
}

void
bl_events_read (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    outbox_read (app->outbox, req, rep);
}

void
bl_ping (void *app_, const env_request_t *req, env_reply_t *rep)
{
    (void) req;
    db_ping_reply (((billing_t *) app_)->db, "billing", rep);
}
