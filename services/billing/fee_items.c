/* fee_items: billing.fee_items.create and .list (see fee_items.h). */
#include "fee_items.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_FEE_FROM   "bl_fee_default_from"
#define ST_FEE_LOCK   "bl_fee_lock"
#define ST_FEE_LATEST "bl_fee_latest"
#define ST_FEE_END    "bl_fee_end"
#define ST_FEE_INSERT "bl_fee_insert"
#define ST_FEE_LIST   "bl_fee_list"

#define FEE_JSON                                                                                 \
    "json_build_object('id', id, 'property_id', property_id, 'code', code, 'name', name, "       \
    "'basis', basis, 'unit_price', unit_price, 'currency', 'CNY', 'applies_to', to_json (applies_to), " \
    "'effective_from', effective_from, 'effective_to', effective_to, "                           \
    "'created_at', " DB_UTC_TS ("created_at") ")"

static const db_statement_t s_statements[] = {
    /* the first day of the current month in the property's time zone */
    { ST_FEE_FROM,
      "SELECT to_char (date_trunc ('month', now () AT TIME ZONE timezone), 'YYYY-MM-DD') "
      "FROM property_settings WHERE property_id = $1::uuid", true },
    /* versions of one code are created one at a time */
    { ST_FEE_LOCK, "SELECT pg_advisory_xact_lock (hashtextextended ('fee_items:' || $1 || ':' || $2, 0))",
      false },
    { ST_FEE_LATEST,
      "SELECT id, effective_from >= $3::date FROM fee_items "
      "WHERE property_id = $1::uuid AND code = $2 ORDER BY effective_from DESC LIMIT 1", false },
    { ST_FEE_END,
      "UPDATE fee_items SET effective_to = $3::date - 1 WHERE property_id = $1::uuid AND id = $2::uuid",
      false },
    { ST_FEE_INSERT,
      "INSERT INTO fee_items (property_id, code, name, basis, unit_price, applies_to, effective_from) "
      "VALUES ($1::uuid, $2, $3, $4, $5::bigint, $6::text[], $7::date) RETURNING " FEE_JSON "::text",
      false },
    { ST_FEE_LIST,
      "SELECT json_build_object ('items', coalesce (json_agg (" FEE_JSON " ORDER BY code, effective_from), "
      "'[]'), 'next_cursor', NULL)::text FROM fee_items "
      "WHERE property_id = $1::uuid AND ($2::date IS NULL OR (effective_from <= $2::date "
      "  AND (effective_to IS NULL OR effective_to >= $2::date))) AND ($3::text IS NULL OR code = $3)",
      true },
};

int
bl_fee_items_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* The new version's first day into from: the body's effective_from, else
 * the first day of the current month in the property's time zone. False
 * after answering (404 for a property billing does not know). */
static bool
s_effective_from (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                  const char *given, char from[16])
{
    PGresult *res = db_exec (app->db, ST_FEE_FROM, 1, (const char *[]) { pid });
    bool ok = db_ok (res) && PQntuples (res) == 1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (!ok)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        snprintf (from, 16, "%s", given ? given : PQgetvalue (res, 0, 0));
    PQclear (res);
    return ok;
}

/* Inside the caller's transaction: the code's lock, then the current
 * version ends the day before from (409 when it starts on from or later),
 * then the new version. The insert's result (its document), or NULL after
 * answering. */
static PGresult *
s_fee_version_add (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                   const bl_fee_item_input_t *in, const char *from)
{
    const char *what = "lock fee item";
    PGresult *res = db_exec (app->db, ST_FEE_LOCK, 2, (const char *[]) { pid, in->code });
    if (db_ok (res)) {
        PQclear (res);
        what = "read fee item";
        res = db_exec (app->db, ST_FEE_LATEST, 3, (const char *[]) { pid, in->code, from });
    }
    if (db_ok (res) && PQntuples (res) == 1 && strcmp (PQgetvalue (res, 0, 1), "t") == 0) {
        env_reply_error (rep, 409, "conflict",
                         jv_detail ("effective_from", "a price change must start after the current "
                                                      "price's start date"),
                         "fee item %s already has a price from this date or later", in->code);
        PQclear (res);
        return NULL;
    }
    if (db_ok (res) && PQntuples (res) == 1) {
        char prev[40];
        snprintf (prev, sizeof prev, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        what = "end previous price";
        res = db_exec (app->db, ST_FEE_END, 3, (const char *[]) { pid, prev, from });
    }
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, what);
        PQclear (res);
        return NULL;
    }
    PQclear (res);
    char price[24];
    snprintf (price, sizeof price, "%lld", (long long) in->unit_price);
    res = db_exec (app->db, ST_FEE_INSERT, 7,
                   (const char *[]) { pid, in->code, in->name, in->basis, price, in->applies_to, from });
    if (db_ok (res))
        return res;
    if (strcmp (db_sqlstate (res), "23505") == 0)
        env_reply_error (rep, 409, "conflict", jv_detail ("code", "already has a price from this date"),
                         "fee item exists");
    else
        db_reply_error (res, rep, req->id);
    PQclear (res);
    return NULL;
}

void
bl_fee_items_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_fee_item_input_t in;
    if (!bl_fee_item_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid fee item");
        return;
    }
    char from[16];
    if (!s_effective_from (app, req, rep, pid, in.effective_from, from))
        return;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    PGresult *res = s_fee_version_add (app, req, rep, pid, &in, from);
    if (res && db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "create fee item");
        PQclear (res);
        res = NULL;
    }
    db_rollback (app->db);                   /* a no-op after the commit */
    if (!res)
        return;
    log_info (req->id, "fee item %s of property %s from %s", in.code, pid, from);
    db_reply_json (res, rep, req->id, 201, "fee item vanished");
}

void
bl_fee_items_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (!pid)
        return;
    const char *on = env_query (req, "active_on"), *code = env_query (req, "code");
    if (on && !jv_is_date (on)) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("active_on", "must be a date YYYY-MM-DD"),
                         "invalid list parameters");
        return;
    }
    bl_reply_property_doc (app, req, rep, pid, ST_FEE_LIST, 3, (const char *[]) { pid, on, code });
}
