/* charges: bills outside the run (see charges.h). */
#include "charges.h"
#include "deposits.h"
#include "alloc_rules.h"
#include "input_rules.h"
#include "ledger.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const db_statement_t s_statements[] = {
    /* the bill, billed to the unit's occupant on its due date (owner of
     * record first, as in a run), and its bill.issued event: one statement */
    { "bl_charge_insert",
      "WITH today AS (SELECT COALESCE($8::date, (now() AT TIME ZONE COALESCE((SELECT timezone"
      "                 FROM property_settings WHERE property_id = $1::uuid), 'Asia/Shanghai'))::date) AS d),"
      " payer AS (SELECT o.party_id FROM occupancies o, today"
      "           WHERE o.property_id = $1::uuid AND o.unit_id = $2::uuid"
      "           ORDER BY (o.start_date <= today.d AND (o.end_date IS NULL OR o.end_date >= today.d)) DESC,"
      "                    CASE o.role WHEN 'owner' THEN 0 WHEN 'tenant' THEN 1 ELSE 2 END,"
      "                    COALESCE(o.end_date, 'infinity') DESC, o.start_date DESC LIMIT 1),"
      " ins AS (INSERT INTO bills (property_id, unit_id, bill_to_party_id, kind, due_date, amount, source,"
      "                            source_ref, description, period)"
      "         SELECT $1::uuid, $2::uuid, (SELECT party_id FROM payer), $3, d, $4::bigint, $5, $6, $7,"
      "                to_char(d, 'YYYY-MM') FROM today"
      "         ON CONFLICT (property_id, source, source_ref) WHERE source IS NOT NULL DO NOTHING RETURNING *),"
      " ev AS (" OUTBOX_INSERT
      "        SELECT 'bill.issued', i.property_id, " BL_BILL_EVENT_DATA ("i", "u")
      "        FROM ins i LEFT JOIN units u ON u.property_id = i.property_id AND u.unit_id = i.unit_id"
      "        RETURNING 1)"
      " SELECT id, (SELECT count(*) FROM ev) FROM ins",
      false },
    { "bl_charge_by_source",
      "SELECT id FROM bills WHERE property_id = $1::uuid AND source = $2 AND source_ref = $3", true },
    { "bl_charge_json",
      "SELECT json_build_object('id', b.id, 'property_id', b.property_id, 'unit_id', b.unit_id,"
      "  'kind', b.kind, 'period', b.period, 'amount', b.amount, 'currency', b.currency,"
      "  'due_date', b.due_date, 'description', b.description, 'source', b.source,"
      "  'status', bb.status, 'allocated', bb.allocated, 'balance', bb.balance,"
      "  'issued_at', " DB_UTC_TS ("b.issued_at") ")"
      " FROM bills b JOIN bill_balances bb ON bb.bill_id = b.id"
      " WHERE b.property_id = $1::uuid AND b.id = $2::uuid",
      true },
};

int
bl_charges_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

int
bl_charge_insert (db_t *db, const char *pid, const char *uid, const char *kind, long long amount,
                  const char *source, const char *source_ref, const char *description,
                  const char *due_date, char id[37])
{
    char a[24];
    snprintf (a, sizeof a, "%lld", amount);
    PGresult *res = db_exec (db, "bl_charge_insert", 8,
                             (const char *[]) { pid, uid, kind, a, source, source_ref, description, due_date });
    int rc = -1;
    if (db_ok (res) && PQntuples (res) == 1) {
        snprintf (id, 37, "%s", PQgetvalue (res, 0, 0));
        rc = 1;
    }
    else if (db_ok (res)) {
        PQclear (res);
        res = db_exec (db, "bl_charge_by_source", 3, (const char *[]) { pid, source, source_ref });
        if (db_ok (res) && PQntuples (res) == 1) {
            snprintf (id, 37, "%s", PQgetvalue (res, 0, 0));
            rc = 0;
        }
    }
    if (rc < 0)
        log_error (NULL, "charge insert failed: %s", db_sqlstate (res));
    PQclear (res);
    return rc;
}

cJSON *
bl_charge_json (db_t *db, const char *pid, const char *bill_id)
{
    PGresult *res = db_exec (db, "bl_charge_json", 2, (const char *[]) { pid, bill_id });
    cJSON *doc = db_ok (res) && PQntuples (res) == 1 ? cJSON_Parse (PQgetvalue (res, 0, 0)) : NULL;
    PQclear (res);
    return doc;
}

void
bl_charges_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_charge_input_t in;
    if (!bl_charge_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid charge");
        return;
    }
    const char *uid = in.unit_id, *reason = in.reason, *due = in.due_date;
    int64_t amount = in.amount;
    if (!bl_unit_known (app, pid, uid, "invalid charge", rep, req))
        return;
    /* a manual charge has no origin to deduplicate on: the Idempotency-Key
     * of the request is the guard against a double click */
    char ref[64], id[37];
    snprintf (ref, sizeof ref, "%s", req->id);
    PGresult *res = db_query (app->db, "SELECT gen_random_uuid()");
    if (db_ok (res) && PQntuples (res) == 1)
        snprintf (ref, sizeof ref, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    cJSON *doc = NULL;
    if (db_begin (app->db)
        || bl_charge_insert (app->db, pid, uid, "charge", (long long) amount, "manual", ref, reason, due, id) < 0
        || bl_ledger_lock_unit (app->db, pid, uid) || bl_ledger_settle (app->db, pid, uid, NULL)
        || !(doc = bl_charge_json (app->db, pid, id)) || db_commit (app->db)) {
        cJSON_Delete (doc);
        db_fail (app->db, req->id, rep, "charge");
        return;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "charge %s added in property %s", id, pid);
    env_reply_ok (rep, 201, doc);
}

/* A whole number of fen >= 0 in data[field], else -1. */
static long long
s_fen (const cJSON *data, const char *field)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive (data, field);
    if (!cJSON_IsNumber (x) || x->valuedouble < 0 || x->valuedouble > (double) BL_AMOUNT_MAX
        || x->valuedouble != (double) (long long) x->valuedouble)
        return -1;
    return (long long) x->valuedouble;
}

/* A charge of an event on its unit, then the unit's credit on it. */
static int
s_event_charge (db_t *db, const char *pid, const char *uid, const char *kind, long long amount,
                const char *source, const char *ref, const char *description)
{
    char id[37];
    if (bl_charge_insert (db, pid, uid, kind, amount, source, ref, description, NULL, id) < 0)
        return -1;
    return bl_ledger_lock_unit (db, pid, uid) || bl_ledger_settle (db, pid, uid, NULL) ? -1 : 0;
}

int
bl_tickets_apply (void *app_, db_t *db, const cJSON *event, const char *rid)
{
    billing_t *app = app_;
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "type"));
    const char *pid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "property_id"));
    const char *eid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (event, "id"));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (event, "data");
    if (!type || !pid || !jv_is_uuid (pid) || !eid || strncmp (type, "ticket.", 7) != 0)
        return 0;
    bool fee = strcmp (type, "ticket.fee_charged") == 0;
    bool approved = strcmp (type, "ticket.renovation_approved") == 0;
    bool accepted = strcmp (type, "ticket.renovation_accepted") == 0;
    if (!fee && !approved && !accepted)
        return 0;
    const char *tid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (data, fee ? "ticket_id" : "id"));
    const char *uid = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (data, "unit_id"));
    const char *number = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (data, "number"));
    if (!tid || !jv_is_uuid (tid))
        return 0;
    if (accepted)
        return bl_deposit_refund_ticket (app, pid, tid) < 0 ? -1 : 0;
    if (!uid || !jv_is_uuid (uid)) {
        log_warn (rid, "%s of ticket %s: no unit, nothing charged", type, tid);
        return 0;
    }
    int known = bl_ledger_unit_known (db, pid, uid);
    if (known < 0)
        return -1;
    if (!known) {
        /* tickets checked the unit with tenants, so it exists: billing's copy,
         * fed by tenants' events on another cursor, has not caught up yet.
         * Try again next round rather than drop the charge. */
        log_info (rid, "%s of ticket %s: unit not in billing's copy yet, trying again", type, tid);
        return -1;
    }
    char desc[160];
    if (fee) {
        long long amount = s_fen (data, "amount");
        if (amount <= 0)
            return 0;
        snprintf (desc, sizeof desc, "维修费 paid repair %s", number ? number : tid);
        /* one charge per event: a ticket resolved with a fee twice is charged twice */
        if (s_event_charge (db, pid, uid, "charge", amount, "ticket.fee_charged", eid, desc))
            return -1;
        outbox_wake (app->outbox);
        return 0;
    }
    long long mfee = s_fen (data, "management_fee"), deposit = s_fen (data, "deposit");
    if (mfee > 0) {
        snprintf (desc, sizeof desc, "装修管理费 renovation management fee %s", number ? number : tid);
        if (s_event_charge (db, pid, uid, "charge", mfee, "ticket.renovation_fee", tid, desc))
            return -1;
    }
    char id[37];
    if (deposit > 0 && bl_deposit_insert (db, pid, uid, deposit, tid, "tickets", id) < 0)
        return -1;
    /* the bills' bill.issued: readers see them once the consumer commits */
    outbox_wake (app->outbox);
    return 0;
}
