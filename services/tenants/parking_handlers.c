/* parking_handlers: tenants.parking.* (车位, 车位租赁). Each handler:
 * validate -> load -> decide -> store (+ outbox, same transaction) -> reply.
 * Two leases of one space over overlapping dates are refused by the
 * database's exclusion constraint (23P01 -> 409), never by a read-then-write
 * check that two requests could both pass. Leases name parties and their
 * fees: every parking method is the desk's (env_roles_desk). */
#include "tenants.h"
#include "parking_store.h"
#include "tenants_store.h"
#include "unit_rules.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

#define PK_CURSOR_KEY_MAX 64         /* "YYYY-MM-DD/<uuid>" */
#define PK_TX_ATTEMPTS    3          /* a lease's transaction, after 40P01 / 40001 */

/* Writes the event and commits; 0, or -1 (rolled back, rep filled). */
static int
s_pk_publish (tenants_t *app, const env_request_t *req, env_reply_t *rep, const char *type,
              const char *pid, const cJSON *data)
{
    if (outbox_add (app->outbox, type, pid, data) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, type);
        return -1;
    }
    outbox_wake (app->outbox);
    return 0;
}

static cJSON *
s_pk_space_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return tn_space_json (res, row);
}

static cJSON *
s_pk_lease_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return tn_lease_json (res, row);
}

static void
s_pk_space_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s", tn_space_row_code (res, row));
}

/* ---- spaces ------------------------------------------------------------ */

void
tn_parking_spaces_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    tn_space_input_t in;
    if (!tn_space_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid parking space");
        return;
    }
    PGresult *res = tn_space_insert (app->db, pid, &in);
    if (!db_ok (res)) {
        const char *state = db_sqlstate (res);
        if (strcmp (state, "23505") == 0)
            env_reply_error (rep, 409, "conflict", jv_detail ("code", "already exists in this property"),
                             "a parking space with this code exists in this property");
        else if (strcmp (state, "23503") == 0)
            env_reply_error (rep, 404, "not_found", NULL, "no such property");
        else
            db_reply_error (res, rep, req->id);
    }
    else {
        log_info (req->id, "parking space %s created in property %s", PQgetvalue (res, 0, 0), pid);
        env_reply_ok (rep, 201, tn_space_json (res, 0));
    }
    PQclear (res);
}

void
tn_parking_spaces_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char after[TN_SPACE_CODE_MAX + 1];
    page_params (&v, req, &limit, after, sizeof after);
    const char *zone = env_param (req, "zone");
    if (zone && !*zone)
        zone = NULL;
    if (zone && (strlen (zone) > TN_ZONE_MAX || !jv_is_utf8 (zone, strlen (zone))))
        jv_problem (&v, "zone", "must be at most %d bytes of UTF-8", TN_ZONE_MAX);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!tn_property_exists (app, req, pid, rep))
        return;
    PGresult *res = tn_space_list (app->db, pid, zone, *after ? after : NULL, limit + 1);
    page_reply_rows (res, limit, s_pk_space_item, NULL, s_pk_space_key, rep, req->id);
}

/* ---- leases ------------------------------------------------------------ */

/* A failed lease insert: overlap 409; a space, party or unit that is not
 * the property's 422 naming the field (404 when the property itself is gone). */
static void
s_pk_lease_insert_error (tenants_t *app, const PGresult *res, const env_request_t *req,
                         env_reply_t *rep, const char *pid)
{
    const char *state = db_sqlstate (res);
    if (strcmp (state, "23P01") == 0) {
        env_reply_error (rep, 409, "conflict",
                         jv_detail ("start_date", "the space is leased over overlapping dates"),
                         "the parking space is already leased over these dates");
        return;
    }
    if (strcmp (state, "23503") == 0) {
        const char *constraint = PQresultErrorField (res, PG_DIAG_CONSTRAINT_NAME);
        constraint = constraint ? constraint : "";
        if (!tn_property_exists (app, req, pid, rep))
            return;
        const char *field = strstr (constraint, "party_id") ? "party_id"
                          : strstr (constraint, "unit_id")  ? "unit_id" : "space_id";
        const char *problem = strcmp (field, "party_id") == 0 ? "no such party in this property"
                            : strcmp (field, "unit_id") == 0  ? "no such unit in this property"
                                                              : "no such parking space in this property";
        env_reply_error (rep, 422, "validation_failed", jv_detail (field, problem), "invalid parking lease");
        return;
    }
    db_reply_error (res, rep, req->id);
}

void
tn_parking_leases_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    tn_lease_input_t in;
    if (!tn_lease_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid parking lease");
        return;
    }
    /* the foreign keys go through (property_id, id): a party or unit of
     * another property cannot be named. A deadlock or serialization
     * failure (another writer in the way) is tried again: the transaction
     * is this one statement and its event. */
    for (int attempt = 1;; attempt++) {
        if (db_begin (app->db)) {
            db_fail (app->db, req->id, rep, "begin");
            return;
        }
        res = tn_lease_insert (app->db, pid, &in);
        if (db_ok (res))
            break;
        db_rollback (app->db);
        const char *state = db_sqlstate (res);
        if (attempt < PK_TX_ATTEMPTS && (strcmp (state, "40P01") == 0 || strcmp (state, "40001") == 0)) {
            log_info (req->id, "parking lease: %s, trying again", state);
            PQclear (res);
            res = NULL;
            continue;
        }
        s_pk_lease_insert_error (app, res, req, rep, pid);
        goto out;
    }
    if (PQntuples (res) != 1) {
        db_rollback (app->db);
        if (tn_property_exists (app, req, pid, rep))
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("space_id", "no such parking space in this property"),
                             "invalid parking lease");
        goto out;
    }
    cJSON *data = tn_lease_event_json (res, 0);
    if (s_pk_publish (app, req, rep, "parking.lease.started", pid, data)) {
        cJSON_Delete (data);
        goto out;
    }
    cJSON_Delete (data);
    log_info (req->id, "parking lease %s started in property %s", PQgetvalue (res, 0, 0), pid);
    env_reply_ok (rep, 201, tn_lease_json (res, 0));
out:
    PQclear (res);
}

/* The answer to a lease end tn_lease_end_decide refuses. */
static void
s_pk_end_refused (tn_lease_end_t why, env_reply_t *rep)
{
    const char *problem = why == TN_LEASE_END_BEFORE_START ? "must not be before the lease's start_date"
                                                           : "must not be after the lease's agreed end_date";
    if (why == TN_LEASE_END_ALREADY)
        env_reply_error (rep, 409, "conflict", NULL, "the parking lease has ended already");
    else
        env_reply_error (rep, 422, "validation_failed", jv_detail ("end_date", problem), "invalid end of lease");
}

void
tn_parking_leases_end (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    PGresult *cur = NULL, *res = NULL;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    /* the body first: what is wrong with it is wrong for any lease */
    jv_t v = JV_INIT;
    tn_end_input_t in;
    if (!tn_end_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid end of lease");
        return;
    }
    const char *id = env_param (req, "id");
    if (!id || !jv_is_uuid (id)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such parking lease");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    cur = tn_lease_get_for_update (app->db, pid, id);
    if (!db_ok (cur) || PQntuples (cur) == 0) {
        if (db_ok (cur))
            env_reply_error (rep, 404, "not_found", NULL, "no such parking lease");
        else
            db_reply_error (cur, rep, req->id);
        goto out;
    }
    tn_lease_end_t decision = tn_lease_end_decide (tn_lease_row_start (cur, 0), tn_lease_row_end (cur, 0),
                                                   tn_lease_row_ended (cur, 0), in.end_date);
    if (decision != TN_LEASE_END_OK) {
        s_pk_end_refused (decision, rep);
        goto out;
    }
    res = tn_lease_end (app->db, pid, id, in.end_date);
    if (!db_ok (res) || PQntuples (res) != 1) {
        if (db_ok (res))
            env_reply_error (rep, 409, "conflict", NULL, "the parking lease has ended already");
        else
            db_reply_error (res, rep, req->id);
        goto out;
    }
    cJSON *data = tn_lease_event_json (res, 0);
    int published = s_pk_publish (app, req, rep, "parking.lease.ended", pid, data);
    cJSON_Delete (data);
    if (published == 0) {
        log_info (req->id, "parking lease %s ended in property %s", id, pid);
        env_reply_ok (rep, 200, tn_lease_json (res, 0));
    }
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    PQclear (cur);
    PQclear (res);
}

/* "YYYY-MM-DD/<uuid>" into its two halves. */
static bool
s_pk_lease_cursor (const char *key, char date[11], char id[37])
{
    if (strlen (key) != 47 || key[10] != '/')
        return false;
    memcpy (date, key, 10);
    date[10] = 0;
    memcpy (id, key + 11, 36);
    id[36] = 0;
    return jv_is_date (date) && jv_is_uuid (id);
}

void
tn_parking_leases_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit, active = -1;
    char after[PK_CURSOR_KEY_MAX + 1], after_date[11] = "", after_id[37] = "";
    if (page_params (&v, req, &limit, after, sizeof after) && *after
        && !s_pk_lease_cursor (after, after_date, after_id))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    const char *space_id = env_param (req, "space_id");
    const char *party_id = env_param (req, "party_id");
    space_id = space_id && *space_id ? space_id : NULL;
    party_id = party_id && *party_id ? party_id : NULL;
    if (space_id && !jv_is_uuid (space_id))
        jv_problem (&v, "space_id", "must be an id (UUID)");
    if (party_id && !jv_is_uuid (party_id))
        jv_problem (&v, "party_id", "must be an id (UUID)");
    if (!tn_active_parse (env_param (req, "active"), &active))
        jv_problem (&v, "active", "must be true or false");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    if (!tn_property_exists (app, req, pid, rep))
        return;
    PGresult *res = tn_lease_list (app->db, pid, space_id, party_id, active,
                                   *after_date ? after_date : NULL, *after_id ? after_id : NULL,
                                   limit + 1);
    page_reply_rows (res, limit, s_pk_lease_item, NULL, tn_lease_row_key, rep, req->id);
}
