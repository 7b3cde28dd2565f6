/* move_in_handlers: tenants.move_ins.* and tenants.move_in_checklist.*, the
 * desk's move-in file (入伙办理): opened with the property's checklist,
 * ticked off item by item (documents, keys, meter readings, first fees),
 * then completed, which starts the occupancy, or cancelled.
 *
 * Tenants owns move-ins because it owns occupancies: `complete` locks the
 * move-in, inserts the occupancy, marks the move-in completed and writes
 * occupancy.started to the outbox in ONE transaction (DESIGN.md, "Move-in
 * records"). A process that dies before the commit leaves the move-in open
 * and no occupancy; after it, both. Two completes at once queue on the row
 * lock: the second finds the move-in completed (409 invalid_transition). */
#include "tenants.h"
#include "move_in_rules.h"
#include "move_in_store.h"
#include "party_rules.h"
#include "party_store.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

/* Answers a document SQL built (row 0, column 0) with status. */
static void
s_reply_doc (env_reply_t *rep, int status, const PGresult *res)
{
    env_reply_text (rep, status, strdup (PQgetvalue (res, 0, 0)));
}

/* --- the property's checklist -------------------------------------------- */

/* The property's checklist definition (its own, else the defaults) into
 * *defs; row: the stored row (NULL for the defaults). 0, or -1 after
 * answering the database's error. */
static int
s_defs (tenants_t *app, const env_request_t *req, const char *pid, cJSON **defs, PGresult **row,
        env_reply_t *rep)
{
    *defs = NULL;
    *row = tn_checklist_get (app->db, pid);
    if (!db_ok (*row)) {
        db_reply_error (*row, rep, req->id);
        PQclear (*row);
        *row = NULL;
        return -1;
    }
    if (PQntuples (*row) == 1)
        *defs = cJSON_Parse (PQgetvalue (*row, 0, 0));
    else {
        PQclear (*row);
        *row = NULL;
    }
    if (!*defs)
        *defs = tn_checklist_defaults ();
    return 0;
}

/* {"property_id","items","customized","updated_by","updated_at"}; consumes items. */
static cJSON *
s_checklist_json (const char *pid, cJSON *items, const PGresult *row)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "property_id", pid);
    cJSON_AddItemToObject (o, "items", items);
    cJSON_AddBoolToObject (o, "customized", row != NULL);
    if (row) {
        cJSON_AddStringToObject (o, "updated_by", PQgetvalue (row, 0, 1));
        cJSON_AddStringToObject (o, "updated_at", PQgetvalue (row, 0, 2));
    }
    else {
        cJSON_AddNullToObject (o, "updated_by");
        cJSON_AddNullToObject (o, "updated_at");
    }
    return o;
}

void
tn_move_in_checklist_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid || !tn_property_exists (app, req, pid, rep))
        return;
    cJSON *defs;
    PGresult *row;
    if (s_defs (app, req, pid, &defs, &row, rep))
        return;
    env_reply_ok (rep, 200, s_checklist_json (pid, defs, row));
    PQclear (row);
}

void
tn_move_in_checklist_put (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    cJSON *items;
    if (!tn_checklist_def_input (&v, req->data, &items)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid move-in checklist");
        return;
    }
    char *text = cJSON_PrintUnformatted (items);
    PGresult *res = tn_checklist_put (app->db, pid, text, tn_caller_user (req));
    free (text);
    if (!db_ok (res)) {
        if (strcmp (db_sqlstate (res), "23503") == 0)
            env_reply_error (rep, 404, "not_found", NULL, "no such property");
        else
            db_reply_error (res, rep, req->id);
        cJSON_Delete (items);
    }
    else {
        log_info (req->id, "move-in checklist of property %s replaced", pid);
        env_reply_ok (rep, 200, s_checklist_json (pid, items, res));
    }
    PQclear (res);
}

/* --- opening a move-in ---------------------------------------------------- */

/* The insert's failures: an open move-in of the three 409, a unit or party
 * gone meanwhile 404 / 422, else the database's. */
static void
s_insert_error (const PGresult *res, const env_request_t *req, env_reply_t *rep)
{
    const char *state = db_sqlstate (res);
    const char *constraint = PQresultErrorField (res, PG_DIAG_CONSTRAINT_NAME);
    if (strcmp (state, "23505") == 0)
        env_reply_error (rep, 409, "conflict", jv_detail ("party_id", "has an open move-in for this unit and role"),
                         "an open move-in of this party in this role exists for the unit");
    else if (strcmp (state, "23503") == 0 && constraint && strstr (constraint, "party"))
        env_reply_error (rep, 422, "validation_failed", jv_detail ("party_id", "no such party"), "invalid move-in");
    else if (strcmp (state, "23503") == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
    else
        db_reply_error (res, rep, req->id);
}

void
tn_move_ins_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *party = NULL, *row = NULL, *res = NULL;
    cJSON *defs = NULL, *open = NULL;
    char *text = NULL;
    const char *pid, *uid = env_resource_scope (req, env_roles_desk, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    jv_t v = JV_INIT;
    tn_occupancy_input_t in;         /* the same three fields as a bare occupancy */
    if (!tn_occupancy_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid move-in");
        return;
    }
    if (!tn_unit_exists (app, req, pid, uid, rep))
        return;
    party = tn_party_brief (app->db, pid, in.party_id);
    if (!db_ok (party)) {
        db_reply_error (party, rep, req->id);
        goto out;
    }
    if (PQntuples (party) == 0) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("party_id", "no such party"), "invalid move-in");
        goto out;
    }
    if (s_defs (app, req, pid, &defs, &row, rep))
        goto out;
    open = tn_checklist_open (defs);
    text = cJSON_PrintUnformatted (open);
    res = tn_move_in_insert (app->db, pid, uid, in.party_id, in.role, in.start_date, text, tn_caller_user (req));
    if (!db_ok (res))
        s_insert_error (res, req, rep);
    else if (PQntuples (res) == 0) {
        char problem[96];
        snprintf (problem, sizeof problem, "is a current %s of this unit already", in.role);
        env_reply_error (rep, 409, "conflict", jv_detail ("party_id", problem),
                         "this party already occupies the unit in this role");
    }
    else {
        log_info (req->id, "move-in opened for unit %s", uid);
        s_reply_doc (rep, 201, res);
    }
out:
    free (text);
    cJSON_Delete (defs);
    cJSON_Delete (open);
    PQclear (party);
    PQclear (row);
    PQclear (res);
}

/* --- reading -------------------------------------------------------------- */

void
tn_move_ins_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "id", "move-in", rep, &pid);
    if (!id)
        return;
    db_reply_json (tn_move_in_get (app->db, pid, id), rep, req->id, 200, "no such move-in");
}

void
tn_move_ins_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    page_time_id_t page;
    page_time_id (&v, req, &page);
    const char *status, *unit = env_query (req, "unit_id");
    if (!tn_move_in_status_parse (env_query (req, "status"), &status))
        jv_problem (&v, "status", "must be one of: open, completed, cancelled");
    if (unit && !jv_is_uuid (unit))
        jv_problem (&v, "unit_id", "must be an id (UUID)");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!tn_property_exists (app, req, pid, rep))
        return;
    page_reply (tn_move_in_list (app->db, pid, status, unit, &page), page.limit, 1, 2, rep, req->id);
}

/* --- changing an open move-in --------------------------------------------- */

/* Begins the transaction and locks the move-in: *lock is its row, 0; or -1
 * after answering (404; 409 invalid_transition when it is not open; the
 * database's error). The caller rolls back and clears *lock either way. */
static int
s_lock_open (tenants_t *app, const env_request_t *req, const char *pid, const char *id, PGresult **lock,
             env_reply_t *rep)
{
    *lock = NULL;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return -1;
    }
    *lock = tn_move_in_lock (app->db, pid, id);
    if (!db_ok (*lock)) {
        db_reply_error (*lock, rep, req->id);
        return -1;
    }
    if (PQntuples (*lock) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such move-in");
        return -1;
    }
    const char *status = PQgetvalue (*lock, 0, MV_LOCK_STATUS);
    if (strcmp (status, "open") != 0) {
        char problem[64];
        snprintf (problem, sizeof problem, "is %s: only an open move-in changes", status);
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("status", problem), "the move-in is %s", status);
        return -1;
    }
    return 0;
}

void
tn_move_ins_update (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *lock = NULL, *res = NULL;
    cJSON *checklist = NULL;
    char *text = NULL;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "id", "move-in", rep, &pid);
    if (!id)
        return;
    if (s_lock_open (app, req, pid, id, &lock, rep))
        goto out;
    checklist = cJSON_Parse (PQgetvalue (lock, 0, MV_LOCK_CHECKLIST));
    if (!checklist) {
        db_fail (app->db, req->id, rep, "read the checklist");
        goto out;
    }
    char now[TN_TIME_TEXT_MAX];
    tn_time_text (env_now_ms () * 1000, now);
    jv_t v = JV_INIT;
    if (!tn_checklist_patch (&v, req->data, checklist, tn_caller_user (req), now)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid checklist update");
        goto out;
    }
    text = cJSON_PrintUnformatted (checklist);
    res = tn_move_in_checklist_set (app->db, pid, id, text);
    if (!db_ok (res) || PQntuples (res) != 1 || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "update the checklist");
        goto out;
    }
    log_info (req->id, "move-in %s checklist updated", id);
    s_reply_doc (rep, 200, res);
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    free (text);
    cJSON_Delete (checklist);
    PQclear (lock);
    PQclear (res);
}

/* The move-in's document with "occupancy" (row 0 of occ) added. */
static cJSON *
s_completed_json (const PGresult *res, const PGresult *occ)
{
    cJSON *doc = cJSON_Parse (PQgetvalue (res, 0, 0));
    if (doc)
        cJSON_AddItemToObject (doc, "occupancy", tn_occupancy_json (occ, 0));
    return doc;
}

/* The occupancy's insert failed: the party holds the role already (the
 * unique index: another move-in or a bare occupancy got there first). */
static void
s_occupancy_error (const PGresult *occ, const char *role, const env_request_t *req, env_reply_t *rep)
{
    if (strcmp (db_sqlstate (occ), "23505") != 0) {
        db_reply_error (occ, rep, req->id);
        return;
    }
    char problem[96];
    snprintf (problem, sizeof problem, "is a current %s of this unit already", role);
    env_reply_error (rep, 409, "conflict", jv_detail ("party_id", problem),
                     "this party already occupies the unit in this role");
}

void
tn_move_ins_complete (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *lock = NULL, *occ = NULL, *res = NULL, *row = NULL;
    cJSON *checklist = NULL, *missing = NULL;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "id", "move-in", rep, &pid);
    if (!id)
        return;
    if (s_lock_open (app, req, pid, id, &lock, rep))
        goto out;
    checklist = cJSON_Parse (PQgetvalue (lock, 0, MV_LOCK_CHECKLIST));
    missing = tn_checklist_missing (checklist);
    if (missing) {
        env_reply_error (rep, 409, "checklist_incomplete", missing, "required checklist items are not done");
        missing = NULL;
        goto out;
    }
    const char *role = PQgetvalue (lock, 0, MV_LOCK_ROLE);
    occ = tn_occupancy_insert (app->db, pid, PQgetvalue (lock, 0, MV_LOCK_UNIT), PQgetvalue (lock, 0, MV_LOCK_PARTY),
                               role, PQgetvalue (lock, 0, MV_LOCK_START));
    if (!db_ok (occ)) {
        s_occupancy_error (occ, role, req, rep);
        goto out;
    }
    const char *oid = PQgetvalue (occ, 0, 0);
    res = tn_move_in_complete (app->db, pid, id, oid, tn_caller_user (req));
    if (!db_ok (res) || PQntuples (res) != 1 || tn_occupancy_publish (app, "occupancy.started", pid, oid, &row)
        || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "complete the move-in");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "move-in %s completed: occupancy %s", id, oid);
    env_reply_ok (rep, 200, s_completed_json (res, row));
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    cJSON_Delete (checklist);
    PQclear (lock);
    PQclear (occ);
    PQclear (res);
    PQclear (row);
}

void
tn_move_ins_cancel (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "id", "move-in", rep, &pid);
    if (!id)
        return;
    jv_t v = JV_INIT;
    const char *reason;
    if (!tn_cancel_input (&v, req->data, &reason)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid cancel");
        return;
    }
    /* one statement: only an open move-in is cancelled, however requests race */
    PGresult *res = tn_move_in_cancel (app->db, pid, id, reason, tn_caller_user (req));
    if (db_ok (res) && PQntuples (res) == 1) {
        log_info (req->id, "move-in %s cancelled", id);
        s_reply_doc (rep, 200, res);
    }
    else if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else {
        PGresult *cur = tn_move_in_get (app->db, pid, id);
        if (db_ok (cur) && PQntuples (cur) == 1) {
            env_reply_error (rep, 409, "invalid_transition",
                             jv_detail ("status", "only an open move-in can be cancelled"),
                             "the move-in is not open");
            PQclear (cur);
        }
        else
            db_reply_json (cur, rep, req->id, 200, "no such move-in");   /* 404 or the error; clears */
    }
    PQclear (res);
}
