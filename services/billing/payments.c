/* payments: record a payment and allocate it (oldest open bills first, the
 * rest is credit), return the first payment for a known external_ref,
 * reverse a payment with new rows, apply a unit's credit. Whoever reads
 * bills records and reads payments (bl_roles_readers: the desk and the
 * property's integration keys); managers reverse them. */
#include "payments.h"
#include "bills.h"
#include "input_rules.h"
#include "ledger.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

static const db_statement_t s_statements[] = {
    { "bl_pay_by_ref",
      "SELECT id, unit_id, amount FROM payments WHERE property_id = $1::uuid AND external_ref = $2", true },
    /* the property's receipt lock, the unit's ledger lock (property shared,
     * unit exclusive) and whether billing knows the unit: one round trip,
     * before bl_pay_record so that its snapshot sees every payment committed
     * before the lock. The receipt lock comes first and is held to the
     * commit by every writer of payments (and by an import from its first
     * payment to its last), so that no one waits for it while holding a
     * unit's lock: the numbers stay gapless (004_receipts.sql) without a
     * deadlock between an import and the desk */
    { "bl_pay_lock",
      "SELECT pg_advisory_xact_lock(hashtextextended('billing.receipts:' || $1::text, 0)),"
      " pg_advisory_xact_lock_shared(hashtextextended('billing.property:' || $1::text, 0)),"
      " pg_advisory_xact_lock(hashtextextended('billing.unit:' || $1::text || ':' || $2::text, 0)),"
      " EXISTS (SELECT 1 FROM units WHERE property_id = $1::uuid AND unit_id = $2::uuid)",
      false },
    /* One payment in one statement (it was eleven round trips): the insert,
     * its allocation (BL_LEDGER_ALLOCATION_CTES, ledger.h: the unit's
     * payments' remainders, the new one last, over its open bills), its
     * payment.received event and its document. Balances are read per bill,
     * not through the view bill_balances, which aggregates every allocation
     * of the schema; the unit's bills are locked FOR UPDATE as
     * bl_ledger_settle does. No row when external_ref is known (then ob and
     * pr are empty: nothing is allocated).
     * The receipt number comes first (num): the next of the property's
     * counter for the payment's year in its time zone, taken only when the
     * external_ref is new, which the receipt lock (bl_pay_lock) makes
     * certain; the counter's row is locked until the commit, and a rollback
     * gives the number back.
     * $1 pid, $2 unit, $3 amount, $4 method, $5 external_ref, $6 paid_at,
     * $7 by, $8 source */
    { "bl_pay_record",
      "WITH num AS ("
      "  INSERT INTO receipt_counters AS c (property_id, year, last)"
      "  SELECT $1::uuid, extract(year FROM COALESCE($6::timestamptz, now()) AT TIME ZONE"
      "    COALESCE((SELECT timezone FROM property_settings WHERE property_id = $1::uuid), 'Asia/Shanghai'))::int, 1"
      "  WHERE $5::text IS NULL"
      "     OR NOT EXISTS (SELECT 1 FROM payments WHERE property_id = $1::uuid AND external_ref = $5::text)"
      "  ON CONFLICT (property_id, year) DO UPDATE SET last = c.last + 1"
      "  RETURNING 'SJ-' || c.year || '-' || lpad(c.last::text, greatest(6, length(c.last::text)), '0') AS number),"
      " ins AS ("
      "  INSERT INTO payments (property_id, unit_id, amount, method, external_ref, paid_at, created_by, source,"
      "                        receipt_number, created_by_name)"
      "  SELECT $1::uuid, $2::uuid, $3::bigint, $4, $5::text, COALESCE($6::timestamptz, now()), $7, $8, num.number,"
      "         $9::text"
      "  FROM num"
      "  ON CONFLICT (property_id, external_ref) DO NOTHING"
      "  RETURNING id, property_id, unit_id, amount, currency, method, external_ref, paid_at, created_at, source,"
      "            receipt_number),"
      " ob AS (SELECT b.id, b.due_date, b.issued_at,"
      "          b.amount - COALESCE((SELECT sum(a.amount) FROM allocations a WHERE a.bill_id = b.id), 0) AS balance"
      "        FROM bills b WHERE b.property_id = $1::uuid AND b.unit_id = $2::uuid"
      "        AND NOT EXISTS (SELECT 1 FROM bill_voids v WHERE v.bill_id = b.id) AND EXISTS (SELECT 1 FROM ins)"
      "        FOR UPDATE OF b),"
      " pr AS (SELECT payment_id AS id, created_at, remainder AS rem FROM payment_remainders"
      "        WHERE property_id = $1::uuid AND unit_id = $2::uuid AND EXISTS (SELECT 1 FROM ins)"
      "        UNION ALL SELECT id, created_at, amount FROM ins),"
      BL_LEDGER_ALLOCATION_CTES ","
      " al AS (INSERT INTO allocations (property_id, unit_id, payment_id, bill_id, amount)"
      "        SELECT $1::uuid, $2::uuid, payment_id, bill_id, amount FROM pairs ORDER BY plo, blo"
      "        RETURNING id, payment_id, bill_id, amount),"
      " doc AS (SELECT json_build_object('id', i.id, 'receipt_number', i.receipt_number,"
      "  'property_id', i.property_id, 'unit_id', i.unit_id,"
      "  'amount', i.amount, 'currency', i.currency, 'method', i.method, 'external_ref', i.external_ref,"
      "  'paid_at', " DB_UTC_TS ("i.paid_at") ","
      "  'created_at', " DB_UTC_TS ("i.created_at") ","
      "  'source', i.source, 'status', 'received', 'reversal', NULL,"
      "  'allocations', COALESCE((SELECT json_agg(json_build_object('bill_id', a.bill_id, 'amount', a.amount)"
      "                                           ORDER BY a.id) FROM al a WHERE a.payment_id = i.id), '[]'::json),"
      "  'unallocated', (i.amount - COALESCE((SELECT sum(a.amount) FROM al a WHERE a.payment_id = i.id), 0))::bigint,"
      "  'credit', (COALESCE((SELECT sum(rem) FROM po), 0) - COALESCE((SELECT sum(amount) FROM al), 0))::bigint)"
      "  AS j FROM ins i),"
      " ev AS (" OUTBOX_INSERT "SELECT 'payment.received', $1::uuid, j::jsonb FROM doc"
      "        RETURNING 1)"
      " SELECT i.id, d.j::text, (SELECT count(*) FROM ev) FROM ins i CROSS JOIN doc d",
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
    /* the list, newest first: $1 pid, $2 unit, $3 from, $4 to (dates in the
     * property's time zone, inclusive), $5 status, $6 method, $7 external_ref,
     * $8 cursor paid_at, $9 cursor id, $10 limit + 1. A Payment without the
     * unit's credit (a sum over the unit's whole ledger per row) */
    { "bl_pay_list",
      "WITH tz AS (SELECT COALESCE((SELECT timezone FROM property_settings WHERE property_id = $1::uuid),"
      "                            'Asia/Shanghai') AS tz)"
      " SELECT json_build_object("
      BL_PAYMENT_JSON_FIELDS ", 'unit_code', u.code,"
      "  'unallocated', (p.amount - COALESCE((SELECT sum(a.amount) FROM allocations a WHERE a.payment_id = p.id), 0)"
      "                 - COALESCE(r.amount, 0)))::text,"
      " " DB_UTC_TS_US ("p.paid_at") ", p.id"
      " FROM payments p CROSS JOIN tz LEFT JOIN payment_reversals r ON r.payment_id = p.id"
      " LEFT JOIN units u ON u.property_id = p.property_id AND u.unit_id = p.unit_id"
      " WHERE p.property_id = $1::uuid AND ($2::uuid IS NULL OR p.unit_id = $2::uuid)"
      " AND ($3::date IS NULL OR p.paid_at >= ($3::date::timestamp AT TIME ZONE tz.tz))"
      " AND ($4::date IS NULL OR p.paid_at < (($4::date + 1)::timestamp AT TIME ZONE tz.tz))"
      " AND ($5::text IS NULL OR ($5 = 'reversed') = (r.id IS NOT NULL))"
      " AND ($6::text IS NULL OR p.method = $6) AND ($7::text IS NULL OR p.external_ref = $7)"
      " AND ($8::timestamptz IS NULL OR (p.paid_at, p.id) < ($8::timestamptz, $9::uuid))"
      " ORDER BY p.paid_at DESC, p.id DESC LIMIT $10::int",
      true },
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
    return DB_PREPARE_ALL (db, s_statements);
}

int
bl_payment_record (billing_t *app, const char *pid, const bl_payment_input_t *in, const env_caller_t *by,
                   const char *source, char id[37], bool *duplicate, cJSON **existing, cJSON **doc)
{
    PGresult *res = NULL;
    int rc = -1;
    *duplicate = false;
    *existing = NULL;
    if (doc)
        *doc = NULL;
    char amount[24];
    snprintf (amount, sizeof amount, "%lld", (long long) in->amount);
    res = db_exec (app->db, "bl_pay_lock", 2, (const char *[]) { pid, in->unit_id });
    if (!db_ok (res) || PQntuples (res) != 1)
        goto out;
    if (strcmp (PQgetvalue (res, 0, 3), "t") != 0) {
        rc = 1;                                  /* no such unit in this property */
        goto out;
    }
    PQclear (res);
    res = db_exec (app->db, "bl_pay_record", 9,
                   (const char *[]) { pid, in->unit_id, amount, in->method, in->external_ref, in->paid_at,
                                      by->user_id, source, by->name });
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
    if (strcmp (PQgetvalue (res, 0, 2), "1") != 0)
        goto out;
    if (doc && !(*doc = cJSON_Parse (PQgetvalue (res, 0, 1))))
        goto out;
    rc = 0;
out:
    if (rc < 0)
        log_error (NULL, "payment record failed: %s", db_sqlstate (res));
    PQclear (res);
    return rc;
}

void
bl_payments_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_payment_input_t in;
    if (!bl_payment_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid payment");
        return;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    char id[37];
    bool duplicate;
    cJSON *existing = NULL, *doc = NULL;
    int rc = bl_payment_record (app, pid, &in, &req->caller, "api", id, &duplicate, &existing, &doc);
    if (rc < 0) {
        db_fail (app->db, req->id, rep, "payment");
        return;
    }
    if (rc == 1) {
        db_rollback (app->db);
        env_reply_error (rep, 422, "validation_failed", jv_detail ("unit_id", "no such unit in this property"),
                         "invalid payment");
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
        /* the first payment as it is now */
        bool err;
        doc = bl_ledger_payment_json (app->db, pid, id, &err);
        if (!doc) {
            env_reply_error (rep, 500, "internal", NULL, "cannot read the payment back");
            return;
        }
        env_reply_ok (rep, 200, doc);
        return;
    }
    if (db_commit (app->db)) {
        cJSON_Delete (doc);
        db_fail (app->db, req->id, rep, "commit");
        return;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "payment %s recorded in property %s", id, pid);
    /* the document the event carries: the payment as committed */
    env_reply_ok (rep, 201, doc);
}

void
bl_payments_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *id = env_resource_scope (req, bl_roles_readers, "payment_id", "payment", rep, &pid);
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
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "payment_id", "payment", rep, &pid);
    if (!id)
        return;
    jv_t v = JV_INIT;
    bl_reason_input_t in;
    if (!bl_reason_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid reversal");
        return;
    }
    char uid[37];
    if (!bl_begin_on_unit (app, req, rep, "bl_pay_load", pid, id, "payment", uid))
        return;
    /* after the lock: a reversal committed meanwhile is seen */
    res = db_exec (app->db, "bl_pay_reverse", 4, (const char *[]) { pid, id, in.reason, req->caller.user_id });
    if (!db_ok (res)) {
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
    db_rollback (app->db);                   /* a no-op after the commit */
    PQclear (res);
}

void
bl_credit_apply (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    /* the desk's: a key posts payments, which allocate themselves */
    const char *pid, *uid = env_resource_scope (req, env_roles_desk, "uid", "unit", rep, &pid);
    if (!uid)
        return;
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

/* A list cursor is "<paid_at, UTC with microseconds>~<payment id>", what the
 * last row of a page had: "2026-11-27T03:14:00.123456Z~<uuid>". */
static bool
s_pay_cursor_parse (const char *s, char at[28], char id[37])
{
    if (!s || strlen (s) != 27 + 1 + 36 || s[27] != '~' || s[26] != 'Z' || s[10] != 'T')
        return false;
    memcpy (at, s, 27);
    at[27] = 0;
    memcpy (id, s + 28, 36);
    id[36] = 0;
    char day[11];
    memcpy (day, at, 10);
    day[10] = 0;
    for (int i = 11; i < 26; i++)
        if (i == 13 || i == 16 ? at[i] != ':' : i == 19 ? at[i] != '.' : (at[i] < '0' || at[i] > '9'))
            return false;
    return jv_is_date (day) && jv_is_uuid (id);
}

void
bl_payments_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (pid)
        bl_payments_list_unit (app, req, rep, pid, NULL);
}

void
bl_payments_list_unit (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                       const char *unit)
{
    jv_t v = JV_INIT;
    const char *uid = unit ? unit : env_query (req, "unit_id");
    const char *from = env_query (req, "from"), *to = env_query (req, "to");
    const char *status = env_query (req, "status"), *method = env_query (req, "method");
    const char *ref = env_query (req, "external_ref");
    char key[PAGE_KEY_MAX], cat[28] = "", cid[37] = "";
    int limit;
    if (uid && !jv_is_uuid (uid))
        jv_problem (&v, "unit_id", "must be a unit id");
    if (from && !jv_is_date (from))
        jv_problem (&v, "from", "must be a date YYYY-MM-DD");
    if (to && !jv_is_date (to))
        jv_problem (&v, "to", "must be a date YYYY-MM-DD");
    if (from && to && jv_is_date (from) && jv_is_date (to) && strcmp (from, to) > 0)
        jv_problem (&v, "to", "is before from");
    if (status && strcmp (status, "received") != 0 && strcmp (status, "reversed") != 0)
        jv_problem (&v, "status", "must be received or reversed");
    if (method) {
        bool ok = false;
        for (int i = 0; bl_payment_methods[i]; i++)
            ok = ok || strcmp (method, bl_payment_methods[i]) == 0;
        if (!ok)
            jv_problem (&v, "method", "must be cash, bank_transfer, wechat, alipay, card or external");
    }
    if (ref && (strlen (ref) > BL_REF_MAX || !jv_is_utf8 (ref, strlen (ref))))
        jv_problem (&v, "external_ref", "must be 1 to %d bytes of UTF-8", BL_REF_MAX);
    if (page_params (&v, req, &limit, key, sizeof key) && *key && !s_pay_cursor_parse (key, cat, cid))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    const char *p[] = { pid, uid, from, to, status, method, ref, *cat ? cat : NULL, *cid ? cid : NULL, NULL };
    bl_reply_page (app, req, rep, &v, pid, "bl_pay_list", 10, p, limit);
}
