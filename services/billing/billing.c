/* billing: what every billing handler shares (billing.h): whether a property
 * is known here, and the service's own methods (events.read, ping). */
#include "billing.h"

#include "archive_copy.h"

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
