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

void
bl_fee_items_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    static const char *const writers[] = { "admin", "manager", NULL };
    PGresult *res = NULL;
    const char *pid = env_property_scope (req, writers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_fee_item_input_t in;
    if (!bl_fee_item_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid fee item");
        return;
    }
    const char *code = in.code, *from = in.effective_from;
    const char *p1[] = { pid };
    res = db_exec (app->db, ST_FEE_FROM, 1, p1);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
        goto out;
    }
    char from_buf[16];
    snprintf (from_buf, sizeof from_buf, "%s", from ? from : PQgetvalue (res, 0, 0));
    PQclear (res);
    res = NULL;

    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    const char *p2[] = { pid, code };
    res = db_exec (app->db, ST_FEE_LOCK, 2, p2);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "lock fee item");
        goto out;
    }
    PQclear (res);
    const char *p3[] = { pid, code, from_buf };
    res = db_exec (app->db, ST_FEE_LATEST, 3, p3);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "read fee item");
        goto out;
    }
    if (PQntuples (res) == 1) {
        if (strcmp (PQgetvalue (res, 0, 1), "t") == 0) {
            db_rollback (app->db);
            env_reply_error (rep, 409, "conflict",
                             jv_detail ("effective_from", "a price change must start after the current "
                                                          "price's start date"),
                             "fee item %s already has a price from this date or later", code);
            goto out;
        }
        char prev[40];
        snprintf (prev, sizeof prev, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        const char *p4[] = { pid, prev, from_buf };
        res = db_exec (app->db, ST_FEE_END, 3, p4);
        if (!db_ok (res)) {
            db_fail (app->db, req->id, rep, "end previous price");
            goto out;
        }
    }
    PQclear (res);
    char price_buf[24];
    snprintf (price_buf, sizeof price_buf, "%lld", (long long) in.unit_price);
    const char *p7[] = { pid, code, in.name, in.basis, price_buf, in.applies_to, from_buf };
    res = db_exec (app->db, ST_FEE_INSERT, 7, p7);
    if (!db_ok (res)) {
        if (strcmp (db_sqlstate (res), "23505") == 0)
            env_reply_error (rep, 409, "conflict", jv_detail ("code", "already has a price from this date"),
                             "fee item exists");
        else
            db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "create fee item");
        goto out;
    }
    log_info (req->id, "fee item %s of property %s from %s", code, pid, from_buf);
    db_reply_json (res, rep, req->id, 201, "fee item vanished");
    res = NULL;
out:
    PQclear (res);
}

void
bl_fee_items_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (!pid)
        return;
    const char *on = env_param (req, "active_on");
    const char *code = env_param (req, "code");
    if (on && !*on)
        on = NULL;
    if (code && !*code)
        code = NULL;
    if (on && !jv_is_date (on)) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("active_on", "must be a date YYYY-MM-DD"),
                         "invalid list parameters");
        return;
    }
    if (!bl_property_known (app, pid, rep, req))
        return;
    const char *p[] = { pid, on, code };
    db_reply_json (db_exec (app->db, ST_FEE_LIST, 3, p), rep, req->id, 200, "no such property");
}
