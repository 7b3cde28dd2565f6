/* property_handlers: tenants.properties.*, plus the service-to-service
 * methods (events.read, ping). Each handler: validate -> load -> decide ->
 * store (+ outbox) -> reply. */
#include "tenants.h"
#include "tenants_store.h"
#include "unit_rules.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Properties (names, codes, time zones; nothing personal) are read by every
 * role of the property, and by the other services (tickets asks a time zone). */
static const char *const s_property_readers[] = {
    "admin", "manager", "agent", "technician", "integration", "service", NULL
};
static const char *const s_property_admins[] = { "admin", NULL };

void
tn_properties_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL;
    if (!env_require_role (req, s_property_admins, rep))
        return;
    jv_t v = JV_INIT;
    tn_property_input_t in;
    if (!tn_property_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid property");
        return;
    }
    res = tn_timezone_find (app->db, in.timezone);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail ("timezone", "must be a time zone name such as Asia/Shanghai"),
                         "invalid property");
        goto out;
    }
    PQclear (res);
    res = NULL;

    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    res = tn_property_insert (app->db, &in);
    if (!db_ok (res)) {
        if (strcmp (db_sqlstate (res), "23505") == 0)
            env_reply_error (rep, 409, "conflict", jv_detail ("code", "already exists"),
                             "a property with this code exists");
        else
            db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    cJSON *property = tn_property_json (res, 0);
    if (outbox_add (app->outbox, "property.created", PQgetvalue (res, 0, 0), property)
        || db_commit (app->db)) {
        cJSON_Delete (property);
        db_fail (app->db, req->id, rep, "create property");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "property %s created", PQgetvalue (res, 0, 0));
    env_reply_ok (rep, 201, property);
out:
    PQclear (res);
}

static cJSON *
s_property_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return tn_property_json (res, row);
}

static cJSON *
s_unit_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return tn_unit_json (res, row);
}

/* The keyset key of a property or unit list: the row's code. */
static void
s_code_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s", tn_row_code (res, row));
}

void
tn_properties_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    if (!env_require_role (req, s_property_readers, rep))
        return;
    jv_t v = JV_INIT;
    int limit;
    char after[TN_PROPERTY_CODE_MAX * 2 + 1];
    if (!page_params (&v, req, &limit, after, sizeof after)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    const char *role = req->caller.role;
    bool all = strcmp (role, "admin") == 0 || strcmp (role, "service") == 0;
    char *ids = all ? NULL : tn_uuid_array (req->caller.property_ids);
    if (!all && !ids) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    PGresult *res = tn_property_list (app->db, all, ids, *after ? after : NULL, limit + 1);
    free (ids);
    page_reply_rows (res, limit, s_property_item, NULL, s_code_key, rep, req->id);
}

void
tn_properties_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, s_property_readers, rep);
    if (!pid)
        return;
    PGresult *res = tn_property_get (app->db, pid);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        env_reply_ok (rep, 200, tn_property_json (res, 0));
    PQclear (res);
}

bool
tn_property_exists (tenants_t *app, const env_request_t *req, const char *pid, env_reply_t *rep)
{
    PGresult *res = tn_property_get (app->db, pid);
    bool found = db_ok (res) && PQntuples (res) == 1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (!found)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    PQclear (res);
    return found;
}

cJSON *
tn_unit_page (const PGresult *res, int limit)
{
    return page_rows (res, limit, s_unit_item, NULL, s_code_key);
}

void
tn_events_read (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    outbox_read (app->outbox, req, rep);
}

void
tn_ping (void *app_, const env_request_t *req, env_reply_t *rep)
{
    (void) req;
    db_ping_reply (((tenants_t *) app_)->db, "tenants", rep);
}
