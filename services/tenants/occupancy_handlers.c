/* occupancy_handlers: move-in and move-out (入伙/迁出), a unit's occupants,
 * and the two methods other services call for a unit's contacts. Each
 * handler: validate -> load -> decide -> store (+ outbox, same transaction)
 * -> reply. Occupancies are ended, never deleted: they are the unit's
 * history. Events carry the unit and the party as well, so billing keeps
 * its own copy without calling back. */
#include "tenants.h"
#include "move_in_rules.h"
#include "move_in_store.h"
#include "party_rules.h"
#include "party_store.h"
#include "tenants_store.h"
#include "unit_rules.h"

#include "client.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An occupancy list's cursor key: date|timestamp to the microsecond|uuid. */
#define TN_OCC_KEY_MAX (10 + 1 + 32 + 1 + 36)

/* Other services (and admins) only: these answer whole contacts. */
static const char *const s_occ_services[] = { "service", "admin", NULL };

const char *
tn_caller_user (const env_request_t *req)
{
    return req->caller.user_id && *req->caller.user_id ? req->caller.user_id : "unknown";
}

int
tn_occupancy_publish (tenants_t *app, const char *type, const char *pid, const char *oid, PGresult **row)
{
    *row = tn_occupancy_get (app->db, pid, oid, false);
    if (!db_ok (*row) || PQntuples (*row) != 1)
        return -1;
    cJSON *data = tn_occupancy_event_json (*row, 0);
    int rc = outbox_add (app->outbox, type, pid, data);
    cJSON_Delete (data);
    return rc;
}

/* --- move-in ------------------------------------------------------------------ */

void
tn_occupancies_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *party = NULL, *res = NULL, *row = NULL;
    const char *pid, *uid = env_resource_scope (req, env_roles_desk, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    jv_t v = JV_INIT;
    tn_occupancy_input_t in;
    if (!tn_occupancy_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid occupancy");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    if (!tn_unit_exists (app, req, pid, uid, rep))
        goto out;
    party = tn_party_get (app->db, pid, in.party_id, false);
    if (!db_ok (party)) {
        db_reply_error (party, rep, req->id);
        goto out;
    }
    if (PQntuples (party) == 0) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("party_id", "no such party"),
                         "invalid occupancy");
        goto out;
    }
    res = tn_occupancy_insert (app->db, pid, uid, in.party_id, in.role, in.start_date);
    if (!db_ok (res)) {
        if (strcmp (db_sqlstate (res), "23505") == 0) {
            char problem[96];
            snprintf (problem, sizeof problem, "is a current %s of this unit already", in.role);
            env_reply_error (rep, 409, "conflict", jv_detail ("party_id", problem),
                             "this party already occupies the unit in this role");
        }
        else if (strcmp (db_sqlstate (res), "23503") == 0)
            env_reply_error (rep, 404, "not_found", NULL, "no such unit");
        else
            db_reply_error (res, rep, req->id);
        goto out;
    }
    const char *oid = PQgetvalue (res, 0, 0);
    if (tn_occupancy_publish (app, "occupancy.started", pid, oid, &row) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "move in");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "occupancy %s started: unit %s, party %s", oid, uid, in.party_id);
    env_reply_ok (rep, 201, tn_occupancy_json (row, 0));
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (party);
    PQclear (res);
    PQclear (row);
}

/* --- move-out and its clearance ---------------------------------------------- */

/* The deadline of the call to billing: half of what the request has left,
 * so that a billing that does not answer still leaves time to answer 503
 * before the gateway gives up. */
static int64_t
s_half_deadline (const env_request_t *req)
{
    int64_t now = env_now_ms ();
    int64_t left = req->deadline_ms ? req->deadline_ms - now : 4000;
    return now + (left > 200 ? left / 2 : 100);
}

/* The unit's balance due in fen (billing.accounts.get as this service),
 * asked BEFORE any transaction: no service is called while a row lock is
 * held (DESIGN.md, "Processes"). A unit billing does not know (404) has no
 * bills: 0. -1 when billing did not answer. */
static int64_t
s_balance_due (const env_request_t *req, const char *pid, const char *uid)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON *params = cJSON_AddObjectToObject (body, "params");
    cJSON_AddStringToObject (params, "pid", pid);
    cJSON_AddStringToObject (params, "uid", uid);
    cJSON_AddNullToObject (body, "data");
    env_caller_t caller = { .user_id = "tenants", .role = "service" };
    env_reply_t r = { 0 };
    client_call ("billing.accounts.get", &caller, req->id, s_half_deadline (req), body, &r);
    const cJSON *due = r.status == 200 ? cJSON_GetObjectItemCaseSensitive (r.body, "balance_due") : NULL;
    int64_t owed = -1;
    if (cJSON_IsNumber (due) && due->valuedouble >= 0 && due->valuedouble < 1e15)
        owed = (int64_t) due->valuedouble;
    else if (r.status == 404)
        owed = 0;
    else
        log_warn (req->id, "billing.accounts.get answered %d: %s", r.status, r.message);
    env_reply_reset (&r);
    return owed;
}

/* Whether the occupancy row cur may end on end_date; false after answering
 * 404 (no row), 409 (ended already) or 422 (before its start). */
static bool
s_end_allowed (const PGresult *cur, const char *end_date, env_reply_t *rep)
{
    if (PQntuples (cur) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such occupancy");
        return false;
    }
    if (tn_occupancy_row_ended (cur, 0)) {
        env_reply_error (rep, 409, "conflict", jv_detail ("end_date", "the occupancy has ended already"),
                         "the occupancy has ended already");
        return false;
    }
    /* YYYY-MM-DD compare as dates do */
    const char *start = tn_occupancy_row_start (cur, 0);
    if (strcmp (end_date, start) < 0) {
        char problem[96];
        snprintf (problem, sizeof problem, "must not be before the start_date %s", start);
        env_reply_error (rep, 422, "validation_failed", jv_detail ("end_date", problem), "invalid move-out");
        return false;
    }
    return true;
}

/* The clearance: 0 when the move-out may go ahead, else -1 after answering
 * 409 arrears_outstanding (the amount in the details) or 503. */
static int
s_clearance (const env_request_t *req, const char *pid, const char *uid, bool override, int64_t *owed,
             env_reply_t *rep)
{
    *owed = s_balance_due (req, pid, uid);
    switch (tn_clearance_decide (*owed, override)) {
    case TN_CLEAR_OK:
    case TN_CLEAR_OVERRIDDEN:
        return 0;
    case TN_CLEAR_ARREARS: {
        char problem[64];
        snprintf (problem, sizeof problem, "%" PRId64 " fen", *owed);
        env_reply_error (rep, 409, "arrears_outstanding", jv_detail ("balance_due", problem),
                         "the unit owes %" PRId64 " fen; a manager may override with a reason", *owed);
        return -1;
    }
    case TN_CLEAR_UNKNOWN:
    default:
        env_reply_error (rep, 503, "service_unavailable", NULL,
                         "billing did not answer, so the unit's arrears are unknown; try again");
        return -1;
    }
}

/* The transaction: lock, check again, end, record the override, event. */
static void
s_end (tenants_t *app, const env_request_t *req, const char *pid, const char *oid,
       const tn_clearance_input_t *in, int64_t owed, env_reply_t *rep)
{
    PGresult *cur = NULL, *res = NULL, *ov = NULL, *row = NULL;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    cur = tn_occupancy_get (app->db, pid, oid, true);
    if (!db_ok (cur)) {
        db_reply_error (cur, rep, req->id);
        goto out;
    }
    if (!s_end_allowed (cur, in->end.end_date, rep))
        goto out;
    res = tn_occupancy_end (app->db, pid, oid, in->end.end_date);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_fail (app->db, req->id, rep, "move out");
        goto out;
    }
    if (in->override_reason) {
        char owed_text[24];
        snprintf (owed_text, sizeof owed_text, "%" PRId64, owed);
        ov = tn_occupancy_override_set (app->db, pid, oid, in->override_reason, tn_caller_user (req),
                                        req->caller.role, owed >= 0 ? owed_text : NULL);
    }
    if ((ov && (!db_ok (ov) || PQntuples (ov) != 1))
        || tn_occupancy_publish (app, "occupancy.ended", pid, oid, &row) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "move out");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "occupancy %s ended%s", oid, ov ? " with an arrears override" : "");
    cJSON *o = tn_occupancy_json (row, 0);
    cJSON_AddItemToObject (o, "move_out_override", ov ? cJSON_Parse (PQgetvalue (ov, 0, 1)) : cJSON_CreateNull ());
    env_reply_ok (rep, 200, o);
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (cur);
    PQclear (res);
    PQclear (ov);
    PQclear (row);
}

void
tn_occupancies_end (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *oid = env_resource_scope (req, env_roles_desk, "oid", "occupancy", rep, &pid);
    if (!oid)
        return;
    jv_t v = JV_INIT;
    tn_clearance_input_t in;
    if (!tn_clearance_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid move-out");
        return;
    }
    if (in.override_reason && !env_role_in (req, env_roles_managers)) {
        env_reply_error (rep, 403, "forbidden",
                         jv_detail ("override_reason", "only a manager or an admin may override"),
                         "only a manager or an admin may override arrears");
        return;
    }
    /* what billing is asked about, read before (and checked again under the lock) */
    PGresult *cur = tn_occupancy_get (app->db, pid, oid, false);
    cJSON *occ = NULL;
    int64_t owed;
    if (!db_ok (cur))
        db_reply_error (cur, rep, req->id);
    else if (s_end_allowed (cur, in.end.end_date, rep)) {
        occ = tn_occupancy_json (cur, 0);
        const char *uid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (occ, "unit_id"));
        if (s_clearance (req, pid, uid ? uid : "", in.override_reason != NULL, &owed, rep) == 0)
            s_end (app, req, pid, oid, &in, owed, rep);
    }
    cJSON_Delete (occ);
    PQclear (cur);
}

/* --- a unit's history --------------------------------------------------------- */

/* arg: {occupancy id: its move_out_override} of the page's rows */
static cJSON *
s_occ_item (const PGresult *res, int row, void *arg)
{
    cJSON *o = tn_occupancy_json (res, row);
    const char *id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (o, "id"));
    cJSON *ov = id ? cJSON_GetObjectItemCaseSensitive (arg, id) : NULL;
    cJSON_AddItemToObject (o, "move_out_override", ov ? cJSON_Duplicate (ov, 1) : cJSON_CreateNull ());
    return o;
}

/* The move-out overrides of the occupancies in res (column 0, up to limit
 * rows) by id; an empty object when there are none or they cannot be read
 * (the list still answers; the override is also on the move-out's answer). */
static cJSON *
s_overrides (tenants_t *app, const char *pid, const PGresult *res, int limit)
{
    cJSON *map = cJSON_CreateObject ();
    int n = PQntuples (res) < limit ? PQntuples (res) : limit;
    char *ids = n > 0 ? tn_uuid_list (res, 0, n) : NULL;
    PGresult *ov = ids ? tn_occupancy_overrides (app->db, pid, ids) : NULL;
    for (int i = 0; ov && db_ok (ov) && i < PQntuples (ov); i++)
        cJSON_AddItemToObject (map, PQgetvalue (ov, i, 0), cJSON_Parse (PQgetvalue (ov, i, 1)));
    PQclear (ov);
    free (ids);
    return map;
}

void
tn_occupancies_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *uid = env_resource_scope (req, env_roles_desk, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char after[TN_OCC_KEY_MAX + 1];
    const char *a_date = NULL, *a_created = NULL, *a_id = NULL;
    if (page_params (&v, req, &limit, after, sizeof after) && *after) {
        /* date|timestamp|uuid, as tn_occupancy_row_key wrote it */
        char *b1 = strchr (after, '|'), *b2 = b1 ? strchr (b1 + 1, '|') : NULL;
        if (b1)
            *b1 = 0;
        if (b2)
            *b2 = 0;
        if (!b1 || !b2 || !jv_is_date (after) || !jv_is_uuid (b2 + 1) || strlen (b1 + 1) < 20
            || strspn (b1 + 1, "0123456789-:.TZ") != strlen (b1 + 1))
            jv_problem (&v, "cursor", "is not a cursor this list gave out");
        else {
            a_date = after;
            a_created = b1 + 1;
            a_id = b2 + 1;
        }
    }
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!tn_unit_exists (app, req, pid, uid, rep))
        return;
    PGresult *res = tn_occupancy_list_unit (app->db, pid, uid, a_date, a_created, a_id, limit + 1);
    cJSON *overrides = db_ok (res) ? s_overrides (app, pid, res, limit) : NULL;
    page_reply_rows (res, limit, s_occ_item, overrides, tn_occupancy_row_key, rep, req->id);
    cJSON_Delete (overrides);
}

/* --- occupants ---------------------------------------------------------------- */

/* The current occupants (role NULL = any) as an array, read whole or masked
 * per the caller's role; whole reads by people are audited in the same
 * transaction. full adds the identity document (for services). 0, or -1
 * (rolled back; the caller answers with db_fail). */
static int
s_occupants (tenants_t *app, const env_request_t *req, const char *pid, const char *uid, const char *role,
             bool full, cJSON **out)
{
    bool whole = tn_role_sees_pii (req->caller.role);
    bool audited = tn_role_audited (req->caller.role);
    PGresult *res = NULL;
    int rc = -1;
    *out = NULL;
    if (audited && db_begin (app->db))
        return -1;
    res = tn_occupants_current (app->db, pid, uid, role);
    if (!db_ok (res))
        goto out;
    if (audited && (tn_pii_audit (app, req, pid, res, TN_OCCUPANT_PARTY_COL, PQntuples (res)) || db_commit (app->db)))
        goto out;
    *out = cJSON_CreateArray ();
    for (int i = 0; i < PQntuples (res); i++)
        cJSON_AddItemToArray (*out, tn_occupant_json (res, i, whole, full));
    rc = 0;
out:
    if (rc && audited)
        db_rollback (app->db);
    PQclear (res);
    return rc;
}

void
tn_unit_detail_reply (tenants_t *app, const env_request_t *req, const char *pid, const char *uid,
                      bool full, bool history, env_reply_t *rep)
{
    const char *role = req->caller.role;
    const char *user = req->caller.user_id && *req->caller.user_id ? req->caller.user_id : "unknown";
    /* as tn_pii_audit writes them */
    tn_reader_t reader = { user, role, req->id, req->method };
    bool audited = tn_role_audited (role);
    PGresult *res = tn_unit_card (app->db, pid, uid, audited ? &reader : NULL);
    if (!db_ok (res) && audited)
        /* the audit could not be written (nothing was, nor is anything shown):
         * our failure, not the client's, whatever the SQLSTATE */
        db_fail (app->db, req->id, rep, "read the occupants");
    else if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such unit");
    else {
        tn_card_view_t view = { .whole = tn_role_sees_pii (role), .contacts = tn_role_sees_contacts (role),
                                .full = full, .history = history };
        env_reply_text (rep, 200, tn_unit_card_json (res, &view));
    }
    PQclear (res);
}

void
tn_unit_get_service (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *uid = env_resource_scope (req, s_occ_services, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    tn_unit_detail_reply (app, req, pid, uid, true, false, rep);
}

void
tn_units_occupants (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid, *uid = env_resource_scope (req, s_occ_services, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    const char *role = env_param (req, "role");
    if (role && !*role)
        role = NULL;
    if (role) {
        bool known = false;
        for (int i = 0; tn_occupancy_roles[i]; i++)
            known = known || strcmp (role, tn_occupancy_roles[i]) == 0;
        if (!known) {
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("role", "must be one of: owner, tenant, resident"), "invalid role");
            return;
        }
    }
    if (!tn_unit_exists (app, req, pid, uid, rep))
        return;
    cJSON *items = NULL;
    if (s_occupants (app, req, pid, uid, role, true, &items)) {
        db_fail (app->db, req->id, rep, "read the occupants");
        return;
    }
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "items", items);
    env_reply_ok (rep, 200, body);
}
