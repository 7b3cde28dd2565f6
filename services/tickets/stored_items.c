/* stored_items: items left at the desk; see stored_items.h.
 *
 * A release reads the item FOR UPDATE, so two desks checking codes at once
 * count both wrong attempts and release it once. A wrong code is committed
 * (the count must survive the 409), then answered. */
#include "stored_items.h"

#include "desk_rules.h"
#include "log.h"
#include "page.h"
#include "tenants_copy.h"
#include "tk_clock.h"
#include "visitors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STR(x) S_STR2 (x)
#define S_STR2(x) #x

/* $n: now, for how long an item has waited */
#define S_COLS(now) \
    "i.id::text, i.status, i.description, i.unit_id::text, u.code, i.owner_name, i.location, " \
    DB_UTC_TS ("i.stored_at") ", i.stored_by, " \
    "floor (extract (epoch FROM coalesce (i.released_at, " now "::timestamptz) - i.stored_at) / 3600)::bigint::text, " \
    "(i.failed_attempts >= " S_STR (DESK_CLAIM_TRIES_MAX) ")::text, " DB_UTC_TS ("i.released_at") ", " \
    "i.released_by, i.released_to, i.release_reason, " DB_UTC_TS_US ("i.stored_at")
enum { I_ID, I_STATUS, I_DESCRIPTION, I_UNIT, I_UNIT_CODE, I_OWNER, I_LOCATION, I_STORED, I_STORED_BY, I_HOURS,
       I_LOCKED, I_RELEASED, I_RELEASED_BY, I_RELEASED_TO, I_REASON, I_CURSOR_AT };
#define S_JOIN "LEFT JOIN tenant_units u ON u.id = i.unit_id"

static const db_statement_t s_statements[] = {
    { "desk_item_insert",
      "WITH i AS (INSERT INTO stored_items (property_id, description, unit_id, owner_name, location, "
      "  claim_hash, stored_at, stored_by) "
      "  VALUES ($1::uuid, $2::text, $3::uuid, $4::text, $5::text, $6::text, $7::timestamptz, $8::text) "
      "  RETURNING *) "
      "SELECT " S_COLS ("$7") " FROM i " S_JOIN, false },
    { "desk_item_lock",
      "SELECT status, failed_attempts::text, claim_hash FROM stored_items "
      "WHERE property_id = $1::uuid AND id = $2::uuid FOR UPDATE", false },
    { "desk_item_failed",
      "UPDATE stored_items SET failed_attempts = failed_attempts + 1 "
      "WHERE property_id = $1::uuid AND id = $2::uuid RETURNING failed_attempts::text", false },
    { "desk_item_release",
      "WITH i AS (UPDATE stored_items SET status = 'released', released_at = $3::timestamptz, "
      "  released_by = $4::text, released_to = $5::text, release_reason = $6::text "
      "  WHERE property_id = $1::uuid AND id = $2::uuid AND status = 'stored' RETURNING *) "
      "SELECT " S_COLS ("$3") " FROM i " S_JOIN, false },
    /* $2 status, $3 now, $4 $5 cursor, $6 limit */
    { "desk_item_list",
      "SELECT " S_COLS ("$3") " FROM stored_items i " S_JOIN " WHERE i.property_id = $1::uuid "
      "  AND ($2::text IS NULL OR i.status = $2::text) "
      "  AND ($4::timestamptz IS NULL OR (i.stored_at, i.id) < ($4::timestamptz, $5::uuid)) "
      "ORDER BY i.stored_at DESC, i.id DESC LIMIT $6::int", true },
};

int
stored_items_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* An item of a row of S_COLS (page_item_fn: arg unused). Never its code. */
static cJSON *
s_item_json (const PGresult *res, int row, void *arg)
{
    (void) arg;
    cJSON *o = cJSON_CreateObject ();
    desk_add_text (o, "id", res, row, I_ID);
    desk_add_text (o, "status", res, row, I_STATUS);
    desk_add_text (o, "description", res, row, I_DESCRIPTION);
    desk_add_text (o, "unit_id", res, row, I_UNIT);
    desk_add_text (o, "unit_code", res, row, I_UNIT_CODE);
    desk_add_text (o, "owner_name", res, row, I_OWNER);
    desk_add_text (o, "location", res, row, I_LOCATION);
    desk_add_text (o, "stored_at", res, row, I_STORED);
    desk_add_text (o, "stored_by", res, row, I_STORED_BY);
    cJSON_AddNumberToObject (o, "stored_for_hours", strtod (PQgetvalue (res, row, I_HOURS), NULL));
    cJSON_AddBoolToObject (o, "locked", strcmp (PQgetvalue (res, row, I_LOCKED), "true") == 0);
    desk_add_text (o, "released_at", res, row, I_RELEASED);
    desk_add_text (o, "released_by", res, row, I_RELEASED_BY);
    desk_add_text (o, "released_to", res, row, I_RELEASED_TO);
    desk_add_text (o, "release_reason", res, row, I_REASON);
    return o;
}

static void
s_item_key (const PGresult *res, int row, char *key, size_t cap)
{
    snprintf (key, cap, "%s%c%s", PQgetvalue (res, row, I_CURSOR_AT), PAGE_KEY_SEP, PQgetvalue (res, row, I_ID));
}

void
stored_items_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    desk_item_input_t in;
    if (!desk_item_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid item");
        return;
    }
    char unit_code[TK_UNIT_CODE_MAX + 1];
    int known = in.unit_id ? tk_copy_unit (app->db, req, pid, in.unit_id, unit_code, rep) : 1;
    if (known < 0)
        return;
    if (known == 0) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("unit_id", "no such unit in this property"),
                         "invalid item");
        return;
    }
    char code[DESK_CLAIM_LEN + 1], hash[DESK_CLAIM_HASH_MAX + 1], now[40];
    desk_claim_code_new (code);
    desk_claim_hash (code, hash);
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, in.description, in.unit_id, in.owner_name, in.location, hash, now,
                             req->caller.user_id };
    PGresult *res = db_exec (app->db, "desk_item_insert", 8, params);
    if (!db_ok (res) || PQntuples (res) != 1)
        db_reply_error (res, rep, req->id);
    else {
        log_info (req->id, "item %s stored in property %s", PQgetvalue (res, 0, I_ID), pid);
        cJSON *item = s_item_json (res, 0, NULL);
        /* the only time the code is shown: for the slip */
        cJSON_AddStringToObject (item, "claim_code", code);
        env_reply_ok (rep, 201, item);
    }
    PQclear (res);
}

void
stored_items_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    static const char *const statuses[] = { "stored", "released", NULL };
    jv_t v = JV_INIT;
    const char *status = desk_query_enum (&v, req, "status", statuses);
    page_time_id_t page;
    if (!page_time_id (&v, req, &page)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, status, now, page.at, page.id, page.limit_plus_one };
    page_reply_rows (db_exec (app->db, "desk_item_list", 6, params), page.limit, s_item_json, NULL, s_item_key,
                     rep, req->id);
}

/* A wrong code: counted and committed, then 409 invalid_claim_code saying
 * how many tries are left. 0, or -1 when the count could not be stored. */
static int
s_wrong_code (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid, const char *id)
{
    PGresult *res = db_exec (app->db, "desk_item_failed", 2, (const char *[]) { pid, id });
    int failed = db_ok (res) && PQntuples (res) == 1 ? atoi (PQgetvalue (res, 0, 0)) : -1;
    PQclear (res);
    if (failed < 0 || db_commit (app->db))
        return -1;
    log_info (req->id, "wrong claim code for item %s in property %s (%d)", id, pid, failed);
    int left = DESK_CLAIM_TRIES_MAX - failed;
    char problem[128];
    if (left > 0)
        snprintf (problem, sizeof problem, "is not this item's code; %d tries left", left);
    else
        snprintf (problem, sizeof problem, "is not this item's code; the item is now locked: a manager releases it");
    env_reply_error (rep, 409, "invalid_claim_code", jv_detail ("claim_code", problem), "wrong claim code");
    return 0;
}

/* Decides a release on the locked row (status, failed, hash) and answers;
 * -1 when a statement failed (the caller rolls back and answers). */
static int
s_release (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid, const char *id,
           const PGresult *row, const desk_release_input_t *in)
{
    bool released = strcmp (PQgetvalue (row, 0, 0), "released") == 0;
    const char *code = in->code_sent ? in->code : NULL;
    bool code_ok = code && *code && desk_claim_verify (PQgetvalue (row, 0, 2), code);
    switch (desk_release_decide (released, atoi (PQgetvalue (row, 0, 1)), code, code_ok)) {
    case DESK_RELEASE_DONE:
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("status", "released already"),
                         "this item was released already");
        return 0;
    case DESK_RELEASE_LOCKED:
        env_reply_error (rep, 409, "claim_locked", jv_detail ("claim_code", "too many wrong codes"),
                         "too many wrong claim codes: a manager releases this item");
        return 0;
    case DESK_RELEASE_WRONG_CODE:
        return s_wrong_code (app, req, rep, pid, id);
    case DESK_RELEASE_OK:
    case DESK_RELEASE_OVERRIDE:
        break;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *params[] = { pid, id, now, req->caller.user_id, in->released_to, in->reason };
    PGresult *res = db_exec (app->db, "desk_item_release", 6, params);
    int rc = db_ok (res) && PQntuples (res) == 1 && !db_commit (app->db) ? 0 : -1;
    if (rc == 0) {
        log_info (req->id, "item %s released in property %s%s", id, pid, code ? "" : " without its code");
        env_reply_ok (rep, 200, s_item_json (res, 0, NULL));
    }
    PQclear (res);
    return rc;
}

void
stored_items_release (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "item_id", "item", rep, &pid);
    if (!id)
        return;
    jv_t v = JV_INIT;
    desk_release_input_t in;
    if (!desk_release_input (&v, req->data, env_role_in (req, env_roles_managers), &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid release");
        return;
    }
    PGresult *res = NULL;
    if (db_begin (app->db))
        goto fail;
    res = db_exec (app->db, "desk_item_lock", 2, (const char *[]) { pid, id });
    if (!db_ok (res))
        goto fail;
    if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such item");
    else if (s_release (app, req, rep, pid, id, res, &in))
        goto fail;
    db_rollback (app->db);              /* a no-op after a commit */
    PQclear (res);
    return;
fail:
    PQclear (res);
    db_fail (app->db, req->id, rep, "item release");
}
