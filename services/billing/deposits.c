/* deposits: held and refunded deposits (see deposits.h). */
#include "deposits.h"
#include "alloc_rules.h"
#include "input_rules.h"
#include "charges.h"
#include "ledger.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const db_statement_t s_statements[] = {
    { "bl_dep_insert",
      "INSERT INTO deposits (id, property_id, unit_id, bill_id, amount, ticket_id, created_by)"
      " VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::bigint, $6::uuid, $7)"
      " ON CONFLICT DO NOTHING RETURNING id",
      false },
    { "bl_dep_by_ticket",
      "SELECT id FROM deposits WHERE property_id = $1::uuid AND ticket_id = $2::uuid", true },
    { "bl_dep_json",
      "SELECT json_build_object('id', d.id, 'property_id', d.property_id, 'unit_id', d.unit_id,"
      "  'amount', d.amount, 'currency', 'CNY', 'ticket_id', d.ticket_id, 'bill_id', d.bill_id,"
      "  'paid', bb.allocated, 'bill_status', bb.status,"
      "  'status', CASE WHEN r.id IS NULL THEN 'held' ELSE 'refunded' END,"
      "  'refund', CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object('amount', r.amount,"
      "     'deducted', r.deducted, 'reason', r.reason,"
      "     'created_at', " DB_UTC_TS ("r.created_at") ") END,"
      "  'created_at', " DB_UTC_TS ("d.created_at") ")"
      " FROM deposits d JOIN bill_balances bb ON bb.bill_id = d.bill_id"
      " LEFT JOIN deposit_refunds r ON r.deposit_id = d.id"
      " WHERE d.property_id = $1::uuid AND d.id = $2::uuid",
      true },
    { "bl_dep_load",
      "SELECT d.amount, bb.status, r.id IS NOT NULL FROM deposits d"
      " JOIN bill_balances bb ON bb.bill_id = d.bill_id LEFT JOIN deposit_refunds r ON r.deposit_id = d.id"
      " WHERE d.property_id = $1::uuid AND d.id = $2::uuid FOR UPDATE OF d",
      false },
    { "bl_dep_refund",
      "INSERT INTO deposit_refunds (deposit_id, property_id, amount, deducted, reason, created_by)"
      " VALUES ($1::uuid, $2::uuid, $3::bigint, $4::bigint, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
      false },
};

int
bl_deposits_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

int
bl_deposit_insert (db_t *db, const char *pid, const char *uid, long long amount, const char *ticket_id,
                   const char *by, char id[37])
{
    if (ticket_id) {
        PGresult *res = db_exec (db, "bl_dep_by_ticket", 2, (const char *[]) { pid, ticket_id });
        int found = db_ok (res) ? PQntuples (res) : -1;
        if (found == 1)
            snprintf (id, 37, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        if (found != 0)
            return found == 1 ? 0 : -1;
    }
    PGresult *res = db_query (db, "SELECT gen_random_uuid()");
    if (!db_ok (res) || PQntuples (res) != 1) {
        PQclear (res);
        return -1;
    }
    snprintf (id, 37, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    char bill[37];
    if (bl_charge_insert (db, pid, uid, "deposit", amount, "deposit", id, "装修押金 renovation deposit", NULL, bill)
        != 1)
        return -1;
    char a[24];
    snprintf (a, sizeof a, "%lld", amount);
    res = db_exec (db, "bl_dep_insert", 7, (const char *[]) { id, pid, uid, bill, a, ticket_id, by });
    int rc = db_ok (res) && PQntuples (res) == 1 ? 1 : -1;
    PQclear (res);
    if (rc == 1 && (bl_ledger_lock_unit (db, pid, uid) || bl_ledger_settle (db, pid, uid, NULL)))
        rc = -1;
    return rc;
}

/* Refunds deposit id; 1 done, 0 already refunded, -2 not paid yet, -3 amount
 * over the deposit, -4 deduction without a reason, -5 no such deposit, -1 error. */
static int
s_refund (billing_t *app, const char *pid, const char *id, const int64_t *amount, const char *reason,
          const char *by)
{
    PGresult *res = db_exec (app->db, "bl_dep_load", 2, (const char *[]) { pid, id });
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    if (PQntuples (res) == 0) {
        PQclear (res);
        return -5;
    }
    long long held = strtoll (PQgetvalue (res, 0, 0), NULL, 10);
    bool paid = strcmp (PQgetvalue (res, 0, 1), "paid") == 0;
    bool refunded = strcmp (PQgetvalue (res, 0, 2), "t") == 0;
    PQclear (res);
    if (refunded)
        return 0;
    if (!paid)
        return -2;
    long long back = amount ? (long long) *amount : held;
    if (back > held)
        return -3;
    if (back < held && !reason)
        return -4;
    char a[24], d[24];
    snprintf (a, sizeof a, "%lld", back);
    snprintf (d, sizeof d, "%lld", held - back);
    res = db_exec (app->db, "bl_dep_refund", 6, (const char *[]) { id, pid, a, d, reason, by });
    int rc = db_ok (res) ? PQntuples (res) == 1 : -1;
    PQclear (res);
    if (rc != 1)
        return rc;
    res = db_exec (app->db, "bl_dep_json", 2, (const char *[]) { pid, id });
    cJSON *doc = db_ok (res) && PQntuples (res) == 1 ? cJSON_Parse (PQgetvalue (res, 0, 0)) : NULL;
    PQclear (res);
    rc = doc && outbox_add (app->outbox, "deposit.refunded", pid, doc) == 0 ? 1 : -1;
    cJSON_Delete (doc);
    return rc;
}

int
bl_deposit_refund_ticket (billing_t *app, const char *pid, const char *ticket_id)
{
    PGresult *res = db_exec (app->db, "bl_dep_by_ticket", 2, (const char *[]) { pid, ticket_id });
    if (!db_ok (res)) {
        PQclear (res);
        return -1;
    }
    int rc = 0;
    if (PQntuples (res) == 1) {
        char id[37];
        snprintf (id, sizeof id, "%s", PQgetvalue (res, 0, 0));
        rc = s_refund (app, pid, id, NULL, "renovation accepted", "tickets");
        /* not paid yet: nothing to give back; the deposit stays held */
        if (rc < -1)
            rc = 0;
    }
    PQclear (res);
    return rc;
}

static void
s_reply_deposit (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid, const char *id,
                 int status)
{
    PGresult *res = db_exec (app->db, "bl_dep_json", 2, (const char *[]) { pid, id });
    db_reply_json (res, rep, req->id, status, "no such deposit");
}

void
bl_deposits_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_deposit_input_t in;
    if (!bl_deposit_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid deposit");
        return;
    }
    const char *uid = in.unit_id, *ticket = in.ticket_id;
    int64_t amount = in.amount;
    if (!bl_unit_known (app, pid, uid, "invalid deposit", rep, req))
        return;
    char id[37];
    int rc;
    if (db_begin (app->db)
        || (rc = bl_deposit_insert (app->db, pid, uid, (long long) amount, ticket, req->caller.user_id, id)) < 0
        || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "deposit");
        return;
    }
    if (rc == 1)
        outbox_wake (app->outbox);          /* its bill's bill.issued */
    log_info (req->id, "deposit %s in property %s", id, pid);
    s_reply_deposit (app, req, rep, pid, id, rc == 1 ? 201 : 200);
}

void
bl_deposits_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_desk, "deposit_id", "deposit", rep, &pid);
    if (!id)
        return;
    s_reply_deposit (app, req, rep, pid, id, 200);
}

void
bl_deposits_refund (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "deposit_id", "deposit", rep, &pid);
    if (!id)
        return;
    jv_t v = JV_INIT;
    bl_refund_input_t in;
    if (!bl_refund_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid refund");
        return;
    }
    int64_t amount = in.amount;
    bool has_amount = in.has_amount;
    const char *reason = in.reason;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    int rc = s_refund (app, pid, id, has_amount ? &amount : NULL, reason, req->caller.user_id);
    if (rc == -1 || (rc == 1 && db_commit (app->db))) {
        db_fail (app->db, req->id, rep, "refund");
        return;
    }
    if (rc != 1)
        db_rollback (app->db);
    switch (rc) {
    case 1:
        outbox_wake (app->outbox);
        log_info (req->id, "deposit %s refunded in property %s", id, pid);
        s_reply_deposit (app, req, rep, pid, id, 200);
        break;
    case 0:
        env_reply_error (rep, 409, "invalid_transition", NULL, "the deposit is already refunded");
        break;
    case -2:
        env_reply_error (rep, 409, "invalid_transition", NULL, "the deposit is not paid yet");
        break;
    case -3:
        env_reply_error (rep, 422, "validation_failed", jv_detail ("amount", "more than the deposit"),
                         "invalid refund");
        break;
    case -4:
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail ("reason", "required when the refund is less than the deposit"),
                         "invalid refund");
        break;
    default:
        env_reply_error (rep, 404, "not_found", NULL, "no such deposit");
    }
}
