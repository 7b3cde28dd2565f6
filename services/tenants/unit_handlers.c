/* unit_handlers: tenants.units.*. Each handler: validate -> load -> decide ->
 * store (+ outbox, same transaction) -> reply. Every query names the
 * property, and a property the caller may not see answers 404. */
#include "tenants.h"
#include "tenants_store.h"
#include "unit_rules.h"

#include "log.h"

#include <string.h>

/* A store error: 409 with the field for a duplicate code, 404 for a
 * property that vanished, else the usual mapping. */
static void
s_store_error (const PGresult *res, const env_request_t *req, env_reply_t *rep)
{
    const char *state = db_sqlstate (res);
    if (strcmp (state, "23505") == 0)
        env_reply_error (rep, 409, "conflict", jv_detail ("code", "already exists in this property"),
                         "a unit with this code exists in this property");
    else if (strcmp (state, "23503") == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        db_reply_error (res, rep, req->id);
}

/* Writes the event of a unit change and commits; 0 or -1 (rolled back, rep filled). */
static int
s_publish (tenants_t *app, const env_request_t *req, env_reply_t *rep, const char *type,
           const char *pid, const cJSON *unit)
{
    if (outbox_add (app->outbox, type, pid, unit) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, type);
        return -1;
    }
    outbox_wake (app->outbox);
    return 0;
}

void
tn_units_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    tn_unit_input_t in;
    if (!tn_unit_input (&v, req->data, false, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid unit");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    /* the property's existence is checked by the foreign key (23503 -> 404) */
    res = tn_unit_insert (app->db, pid, &in.v);
    if (!db_ok (res)) {
        s_store_error (res, req, rep);
        goto out;
    }
    cJSON *unit = tn_unit_json (res, 0);
    if (s_publish (app, req, rep, "unit.created", pid, unit)) {
        cJSON_Delete (unit);
        goto out;
    }
    log_info (req->id, "unit %s created in property %s", PQgetvalue (res, 0, 0), pid);
    env_reply_ok (rep, 201, unit);
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (res);
}

void
tn_units_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL;
    /* the list has no occupants: what an integration key may read of units */
    static const char *const readers[] = { "admin", "manager", "agent", "integration", NULL };
    const char *pid = env_property_scope (req, readers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char after[TN_UNIT_CODE_MAX + 1];
    page_params (&v, req, &limit, after, sizeof after);
    /* query values arrive as strings: check them as the body's fields are */
    cJSON *q = cJSON_CreateObject ();
    const char *names[] = { "q", "use", "building" };
    for (int i = 0; i < 3; i++)
        if (env_param (req, names[i]) && *env_param (req, names[i]))
            cJSON_AddStringToObject (q, names[i], env_param (req, names[i]));
    const char *prefix = jv_string (&v, q, "q", JV_OPTIONAL, TN_QUERY_MAX);
    const char *use = jv_enum (&v, q, "use", JV_OPTIONAL, tn_unit_uses);
    const char *building = jv_string (&v, q, "building", JV_OPTIONAL, TN_QUERY_MAX);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        goto out;
    }
    if (!tn_property_exists (app, req, pid, rep))
        goto out;
    res = tn_unit_list (app->db, pid, prefix, use, building, *after ? after : NULL, limit + 1);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else
        env_reply_ok (rep, 200, tn_unit_page (res, limit));
out:
    PQclear (res);
    cJSON_Delete (q);
}

bool
tn_unit_exists (tenants_t *app, const env_request_t *req, const char *pid, const char *uid, env_reply_t *rep)
{
    PGresult *res = tn_unit_get (app->db, pid, uid, false);
    bool found = db_ok (res) && PQntuples (res) == 1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (!found)
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
    PQclear (res);
    return found;
}

void
tn_units_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *uid = env_resource_scope (req, env_roles_staff, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    /* current occupants (masked or whole per role, whole reads audited; identity
     * documents for services only) and history, in one round trip */
    tn_unit_detail_reply (app, req, pid, uid, strcmp (req->caller.role, "service") == 0, true, rep);
}

void
tn_units_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *cur = NULL, *res = NULL;
    const char *pid, *uid = env_resource_scope (req, env_roles_managers, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    jv_t v = JV_INIT;
    tn_unit_input_t in;
    if (!tn_unit_input (&v, req->data, true, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid unit");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    cur = tn_unit_get (app->db, pid, uid, true);
    if (!db_ok (cur)) {
        db_reply_error (cur, rep, req->id);
        goto out;
    }
    if (PQntuples (cur) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
        goto out;
    }
    tn_unit_values_t before, after;
    tn_unit_values (cur, 0, &before);
    if (!tn_unit_patch (&before, &in, &after)) {
        /* nothing changes: no write, no event */
        env_reply_ok (rep, 200, tn_unit_json (cur, 0));
        goto out;
    }
    res = tn_unit_update (app->db, pid, uid, &after);
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))
            env_reply_error (rep, 404, "not_found", NULL, "no such unit");
        else
            s_store_error (res, req, rep);
        goto out;
    }
    cJSON *unit = tn_unit_json (res, 0);
    if (s_publish (app, req, rep, "unit.updated", pid, unit)) {
        cJSON_Delete (unit);
        goto out;
    }
    log_info (req->id, "unit %s updated in property %s", uid, pid);
    env_reply_ok (rep, 200, unit);
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (cur);
    PQclear (res);
}
