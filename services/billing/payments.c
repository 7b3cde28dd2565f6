/* payments: record a payment and allocate it (oldest open bills first, the
 * rest is credit), return the first payment for a known external_ref,
 * reverse a payment with new rows, apply a unit's credit. */
#include "payments.h"
#include "ledger.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_payers[] = { "admin", "manager", "agent", "integration", NULL };
static const char *const s_managers[] = { "admin", "manager", NULL };

static const struct {
    const char *name, *sql;
    bool idempotent;
} s_statements[] = {
    { "bl_pay_by_ref",
      "SELECT id, unit_id, amount FROM payments WHERE property_id = $1::uuid AND external_ref = $2", true },
    { "bl_pay_insert",
      "INSERT INTO payments (property_id, unit_id, amount, method, external_ref, paid_at, created_by, source)"
      " VALUES ($1::uuid, $2::uuid, $3::bigint, $4, $5, COALESCE($6::timestamptz, now()), $7, $8)"
      " ON CONFLICT (property_id, external_ref) DO NOTHING RETURNING id",
      false },
    { "bl_pay_load",
      "SELECT p.unit_id, p.amount, r.id FROM payments p LEFT JOIN payment_reversals r ON r.payment_id = p.id"
      " WHERE p.property_id = $1::uuid AND p.id = $2::uuid",
      true },
    { "bl_pay_reverse",
      "INSERT INTO payment_reversals (property_id, unit_id, payment_id, amount, reason, created_by)"
      " SELECT property_id, unit_id, id, amount, $3, $4 FROM payments"
      " WHERE property_id = $1::uuid AND id = $2::uuid RETURNING id",
      false },
    /* undo what the payment paid, bill by bill, as negative rows */
    { "bl_pay_unallocate",
      "INSERT INTO allocations (property_id, unit_id, payment_id, bill_id, amount, reversal_id)"
      " SELECT property_id, unit_id, payment_id, bill_id, -sum(amount), $2::uuid FROM allocations"
      " WHERE payment_id = $1::uuid GROUP BY property_id, unit_id, payment_id, bill_id"
      " HAVING sum(amount) > 0",
      false },
};

int
bl_payments_prepare (db_t *db)
{
    for (size_t i = 0; i < sizeof s_statements / sizeof s_statements[0]; i++)
        if (db_prepare (db, s_statements[i].name, s_statements[i].sql, s_statements[i].idempotent)) {
            log_error (NULL, "cannot prepare %s", s_statements[i].name);
            return -1;
        }
    return 0;
}

/* The path's {pid} and {name} (a UUID) of a visible property, or NULL after a 404. */
static const char *
s_path_id (const env_request_t *req, env_reply_t *rep, const char *name, const char **pid, const char *what)
{
    *pid = bl_visible_property (req);
    const char *id = env_param (req, name);
    if (!*pid || !id || !jv_is_uuid (id)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    return id;
}

int
bl_payment_record (billing_t *app, const char *pid, const bl_payment_input_t *in, const char *by,
                   const char *source, char id[37], bool *duplicate, cJSON **existing)
{
    PGresult *res = NULL;
    int rc = -1;
    *duplicate = false;
    *existing = NULL;
    char amount[24];
    snprintf (amount, sizeof amount, "%lld", (long long) in->amount);
    if (bl_ledger_lock_unit (app->db, pid, in->unit_id))
        goto out;
    res = db_exec (app->db, "bl_pay_insert", 8,
                   (const char *[]) { pid, in->unit_id, amount, in->method, in->external_ref, in->paid_at,
                                      by, source });
    if (!db_ok (res))
        goto out;
    if (PQntuples (res) == 0) {
        /* external_ref known (maybe committed a moment ago by another worker) */
        PQclear (res);
        res = db_exec (app->db, "bl_pay_by_ref", 2, (const char *[]) { pid, in->external_ref });
        if (!db_ok (res) || PQntuples (res) != 1)
            goto out;
        snprintf (id, 37, "%s", PQgetvalue (res, 0, 0));
        *duplicate = true;
        *existing = cJSON_CreateObject ();
        cJSON_AddStringToObject (*existing, "unit_id", PQgetvalue (res, 0, 1));
        cJSON_AddNumberToObject (*existing, "amount", strtod (PQgetvalue (res, 0, 2), NULL));
        rc = 0;
        goto out;
    }
    snprintf (id, 37, "%s", PQgetvalue (res, 0, 0));
    cJSON *made = cJSON_CreateArray ();
    if (bl_ledger_settle (app->db, pid, in->unit_id, made)) {
        cJSON_Delete (made);
        goto out;
    }
    cJSON_Delete (made);
    bool err;
    cJSON *doc = bl_ledger_payment_json (app->db, pid, id, &err);
    if (!doc)
        goto out;
    rc = outbox_add (app->outbox, "payment.received", pid, doc);
    cJSON_Delete (doc);
out:
    PQclear (res);
    return rc;
}

void
bl_payments_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = bl_visible_property (req);
    if (!pid) {
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
        return;
    }
    if (!bl_role_in (req, s_payers)) {
        env_reply_error (rep, 403, "forbidden", NULL, "your role cannot record payments");
        return;
    }
    jv_t v = JV_INIT;
    bl_payment_input_t in;
    if (!bl_payment_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid payment");
        return;
    }
    int known = bl_ledger_unit_known (app->db, pid, in.unit_id);
    if (known < 0) {
        db_fail (app->db, req->id, rep, "unit lookup");
        return;
    }
    if (!known) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("unit_id", "no such unit in this property"),
                         "invalid payment");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    char id[37];
    bool duplicate;
    cJSON *existing = NULL;
    if (bl_payment_record (app, pid, &in, req->caller.user_id, "api", id, &duplicate, &existing)) {
        db_fail (app->db, req->id, rep, "payment");
        return;
    }
    if (duplicate) {
        db_rollback (app->db);
        const char *u = cJSON_GetStringValue (cJSON_GetObjectItem (existing, "unit_id"));
        double a = cJSON_GetNumberValue (cJSON_GetObjectItem (existing, "amount"));
        bool same = u && strcmp (u, in.unit_id) == 0 && a == (double) in.amount;
        cJSON_Delete (existing);
        if (!same) {
            env_reply_error (rep, 409, "conflict",
                             jv_detail ("external_ref", "already used by a payment of another unit or amount"),
                             "external_ref already recorded");
            return;
        }
    }
    else if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        return;
    }
    else
        outbox_wake (app->outbox);
    bool err;
    cJSON *doc = bl_ledger_payment_json (app->db, pid, id, &err);
    if (!doc) {
        env_reply_error (rep, 500, "internal", NULL, "cannot read the payment back");
        return;
    }
    if (!duplicate)
        log_info (req->id, "payment %s recorded in property %s", id, pid);
    env_reply_ok (rep, duplicate ? 200 : 201, doc);
}

void
bl_payments_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *id = s_path_id (req, rep, "payment_id", &pid, "payment");
    if (!id)
        return;
    bool err;
    cJSON *doc = bl_ledger_payment_json (app->db, pid, id, &err);
    if (doc)
        env_reply_ok (rep, 200, doc);
    else if (err)
        env_reply_error (rep, 500, "internal", NULL, "cannot read the payment");
    else
        env_reply_error (rep, 404, "not_found", NULL, "no such payment");
}

void
bl_payments_reverse (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    PGresult *res = NULL;
    const char *pid, *id = s_path_id (req, rep, "payment_id", &pid, "payment");
    if (!id)
        return;
    if (!bl_role_in (req, s_managers)) {
        env_reply_error (rep, 403, "forbidden", NULL, "only a manager can reverse a payment");
        return;
    }
    jv_t v = JV_INIT;
    const char *reason = NULL;
    if (jv_object (&v, req->data))
        reason = jv_string (&v, req->data, "reason", JV_REQUIRED, BL_REASON_MAX);
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid reversal");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    res = db_exec (app->db, "bl_pay_load", 2, (const char *[]) { pid, id });
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "payment load");
        goto out;
    }
    if (PQntuples (res) == 0) {
        db_rollback (app->db);
        env_reply_error (rep, 404, "not_found", NULL, "no such payment");
        goto out;
    }
    char uid[37];
    snprintf (uid, sizeof uid, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    res = NULL;
    if (bl_ledger_lock_unit (app->db, pid, uid)) {
        db_fail (app->db, req->id, rep, "ledger lock");
        goto out;
    }
    /* after the lock: a reversal committed meanwhile is seen */
    res = db_exec (app->db, "bl_pay_reverse", 4, (const char *[]) { pid, id, reason, req->caller.user_id });
    if (!db_ok (res)) {
        db_rollback (app->db);
        if (strcmp (db_sqlstate (res), "23505") == 0)
            env_reply_error (rep, 409, "invalid_transition", NULL, "the payment is already reversed");
        else
            db_reply_error (res, rep, req->id);
        goto out;
    }
    char rid[37];
    snprintf (rid, sizeof rid, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    res = db_exec (app->db, "bl_pay_unallocate", 2, (const char *[]) { id, rid });
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "unallocate");
        goto out;
    }
    /* the reopened bills take what credit the unit has left */
    bool err;
    cJSON *doc = NULL;
    if (bl_ledger_settle (app->db, pid, uid, NULL) || !(doc = bl_ledger_payment_json (app->db, pid, id, &err))
        || outbox_add (app->outbox, "payment.reversed", pid, doc) || db_commit (app->db)) {
        cJSON_Delete (doc);
        db_fail (app->db, req->id, rep, "reversal");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "payment %s reversed in property %s", id, pid);
    env_reply_ok (rep, 200, doc);
out:
    PQclear (res);
}

void
bl_credit_apply (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *uid = s_path_id (req, rep, "uid", &pid, "unit");
    if (!uid)
        return;
    if (!bl_role_in (req, s_payers)) {
        env_reply_error (rep, 403, "forbidden", NULL, "your role cannot apply credit");
        return;
    }
    int known = bl_ledger_unit_known (app->db, pid, uid);
    if (known <= 0) {
        if (known < 0)
            db_fail (app->db, req->id, rep, "unit lookup");
        else
            env_reply_error (rep, 404, "not_found", NULL, "no such unit");
        return;
    }
    cJSON *made = cJSON_CreateArray ();
    if (db_begin (app->db) || bl_ledger_lock_unit (app->db, pid, uid) || bl_ledger_settle (app->db, pid, uid, made)
        || db_commit (app->db)) {
        cJSON_Delete (made);
        db_fail (app->db, req->id, rep, "apply credit");
        return;
    }
    long long credit = bl_ledger_credit (app->db, pid, uid);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "allocations", made);
    cJSON_AddNumberToObject (body, "credit", (double) credit);
    cJSON_AddStringToObject (body, "currency", BL_CURRENCY);
    env_reply_ok (rep, 200, body);
}
