/* billing_run: billing.runs.create and .list (see billing_run.h).
 *
 * What a run bills, exactly (README, "Billing"):
 * - period P = [first day, last day] of the month, D = its days;
 * - a unit is billed when any occupancy overlaps P; covered days = the days
 *   of P inside the union of its occupancies (first and last day included);
 *   bill_to = the owner of record in P, else the tenant, else the resident;
 * - fee items: the version of each code in force on P's first day (a price
 *   change dated mid-month applies from the next period); per_area and
 *   fixed apply when the unit's use is in applies_to;
 * - line amount = round_half_up (monthly x covered / D), one rounding per
 *   line, where monthly = area_m2 x unit_price (per_area, exact numeric),
 *   unit_price (fixed); round(numeric) in PostgreSQL rounds half away from
 *   zero, which is half-up for these non-negative amounts;
 * - parking: when a parking-basis fee item is in force, each lease
 *   overlapping P gives a line of monthly_fee x lease days / D on the bill
 *   of the lease's unit (billed even if not occupied, to the lease's party),
 *   or, for a lease without a unit, on a bill of its own keyed by the lease;
 * - a bill with no line is not issued; due date = the property's due_day of
 *   P's month, clamped to its last day;
 * - one bill.issued event per bill, inserted by the same statement.
 * Only the run that inserted the period's billing_runs row gets to this
 * statement (the unique index serialises runs of a period), so the bills
 * insert takes no ON CONFLICT: a duplicate would be a bug, and fails the run
 * whole (bills_unit_key, migration 003). */
#include "billing_run.h"
#include "input_rules.h"
#include "ledger.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_RUN_INSERT   "bl_run_insert"
#define ST_RUN_EXISTING "bl_run_existing"
#define ST_RUN_BILLS    "bl_run_bills"
#define ST_RUN_LIST     "bl_run_list"

#define RUN_JSON                                                                                  \
    "json_build_object ('id', r.id, 'property_id', r.property_id, 'period', r.period, "           \
    "'bills_created', r.bills_created, 'total_amount', r.total_amount, 'currency', 'CNY', "       \
    "'created_by', r.created_by, "                                                                \
    "'created_at', " DB_UTC_TS ("r.created_at") ")"

/* $1 property, $2 run id, $3 period 'YYYY-MM'. The whole run in one
 * statement: the bills' keys numbered once (kid), lines computed from them
 * (lr), bills from the keys and their lines' sums, events from the bills. */
static const char s_run_bills_sql[] =
    "WITH p AS ("
    "  SELECT a.ps, b.pe, (b.pe - a.ps + 1) AS pd, "
    "         (a.ps + (least (s.due_day, b.pe - a.ps + 1) - 1))::date AS due "
    "  FROM (SELECT to_date ($3, 'YYYY-MM') AS ps) a "
    "  CROSS JOIN LATERAL (SELECT (a.ps + interval '1 month' - interval '1 day')::date AS pe) b "
    "  JOIN property_settings s ON s.property_id = $1::uuid"
    "), fees AS ("
    "  SELECT f.id, f.code, f.name, f.basis, f.unit_price, f.applies_to FROM fee_items f, p "
    "  WHERE f.property_id = $1::uuid AND f.effective_from <= p.ps "
    "    AND (f.effective_to IS NULL OR f.effective_to >= p.ps)"
    /* each occupied unit once, in unit order: its payer (the first row of
     * the payer order) and, from a window over the same order (one sort for
     * both), how many occupancies overlap P and their longest span; the
     * union of several (owner and tenant, a move-out and a move-in) only for
     * the units that have more than one */
    "), ou AS MATERIALIZED ("
    "  SELECT DISTINCT ON (x.unit_id) x.unit_id, x.party_id, CASE WHEN x.n = 1 THEN x.d1 ELSE ("
    "    SELECT sum (upper (r) - lower (r)) FROM unnest ((SELECT range_agg (daterange ("
    "      greatest (o.start_date, p.ps), least (coalesce (o.end_date, p.pe), p.pe), '[]')) "
    "      FROM occupancies o, p WHERE o.property_id = $1::uuid AND o.unit_id = x.unit_id "
    "        AND o.start_date <= p.pe AND (o.end_date IS NULL OR o.end_date >= p.ps))) r) END::int AS days "
    "  FROM ("
    "    SELECT o.unit_id, o.party_id, "
    "           CASE o.role WHEN 'owner' THEN 0 WHEN 'tenant' THEN 1 ELSE 2 END AS rk, "
    "           coalesce (o.end_date, 'infinity') AS ek, o.start_date AS sk, "
    "           count (*) OVER w AS n, "
    "           max (least (coalesce (o.end_date, p.pe), p.pe) - greatest (o.start_date, p.ps) + 1) OVER w AS d1 "
    "    FROM occupancies o, p WHERE o.property_id = $1::uuid AND o.start_date <= p.pe "
    "      AND (o.end_date IS NULL OR o.end_date >= p.ps) "
    "    WINDOW w AS (PARTITION BY o.unit_id ORDER BY CASE o.role WHEN 'owner' THEN 0 WHEN 'tenant' THEN 1 ELSE 2 END, "
    "                 coalesce (o.end_date, 'infinity') DESC, o.start_date DESC "
    "                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
    "  ) x ORDER BY x.unit_id, x.rk, x.ek DESC, x.sk DESC"
    "), leases AS ("
    "  SELECT l.id, l.unit_id, l.party_id, l.space_code, l.monthly_fee, l.start_date, "
    "         coalesce (l.unit_id, l.id) AS k, "
    "         (least (coalesce (l.end_date, p.pe), p.pe) - greatest (l.start_date, p.ps) + 1) AS days "
    "  FROM parking_leases l, p WHERE l.property_id = $1::uuid AND l.start_date <= p.pe "
    "    AND (l.end_date IS NULL OR l.end_date >= p.ps)"
    "), pfee AS ("
    "  SELECT id, name FROM fees WHERE basis = 'parking' ORDER BY code LIMIT 1"
    /* the keys of the parking lines (a lease's unit, or the lease without
     * one), with the party of the latest lease */
    "), lk AS MATERIALIZED ("
    "  SELECT DISTINCT ON (l.k) l.k, l.unit_id, CASE WHEN l.unit_id IS NULL THEN l.id END AS key_lease_id, "
    "         l.party_id "
    "  FROM leases l WHERE EXISTS (SELECT 1 FROM pfee) ORDER BY l.k, l.start_date DESC"
    "), du AS MATERIALIZED ("
    "  SELECT o.unit_id, o.party_id, o.days, u.area_m2, u.use, u.code "
    "  FROM ou o JOIN units u ON u.property_id = $1::uuid AND u.unit_id = o.unit_id"
    /* the run's ids: a time-ordered prefix (the UUID version 7 layout: ms
     * clock, version, random, variant, random) and the bill's row number, so
     * that the run's bills, lines and events go in at the right end of their
     * indexes in key order instead of at 100,000 random places; a clash with
     * another run's prefix (same ms and 26 random bits) fails the run whole
     * on the primary key */
    "), ids AS ("
    "  SELECT lpad (to_hex ((extract (epoch FROM clock_timestamp ()) * 1000)::bigint), 12, '0') AS ts, "
    "         gen_random_uuid ()::text AS g1, gen_random_uuid ()::text AS g2"
    "), pre AS ("
    "  SELECT substr (ts, 1, 8) || '-' || substr (ts, 9, 4) || '-7' || substr (g1, 16, 3) || '-' "
    "         || substr (g1, 20, 4) || '-' AS bill, "
    "         substr (ts, 1, 8) || '-' || substr (ts, 9, 4) || '-7' || substr (g2, 16, 3) || '-' "
    "         || substr (g2, 20, 4) || '-' AS ev FROM ids"
    /* one row per bill, numbered in key order, with its id: an occupied unit
     * with a fee item for its use or a parking line, and a parking line's key
     * that is no such unit (a lease's unit not occupied, a lease without a
     * unit); a bill with no line is not issued */
    "), kid AS MATERIALIZED ("
    "  SELECT y.*, row_number () OVER w AS rn, "
    "         (pre.bill || lpad (to_hex (row_number () OVER w), 12, '0'))::uuid AS id FROM ("
    "    SELECT d.unit_id AS k, d.unit_id, NULL::uuid AS key_lease_id, d.party_id AS party, d.code AS unit_code, "
    "           d.days, d.area_m2, d.use "
    "    FROM du d "
    "    WHERE d.use IN (SELECT unnest (f.applies_to) FROM fees f WHERE f.basis IN ('per_area', 'fixed')) "
    "       OR d.unit_id IN (SELECT lk.k FROM lk) "
    "    UNION ALL "
    "    SELECT lk.k, lk.unit_id, lk.key_lease_id, coalesce (o.party_id, lk.party_id), ul.code, NULL, NULL, NULL "
    "    FROM lk LEFT JOIN ou o ON o.unit_id = lk.k "
    "    LEFT JOIN units ul ON ul.property_id = $1::uuid AND ul.unit_id = lk.unit_id "
    "    WHERE NOT EXISTS (SELECT 1 FROM du d WHERE d.unit_id = lk.k)"
    "  ) y CROSS JOIN pre WINDOW w AS (ORDER BY y.k)"
    /* the lines, bill by bill (the fee items are a nested loop inside each
     * bill: use = ANY (applies_to) does not hash; OFFSET 0 keeps the bills
     * the outer side, so that lines go in in bill order) */
    "), lr AS MATERIALIZED ("
    "  SELECT s.rn, s.id AS bill_id, f.id AS fee_item_id, NULL::uuid AS lease_id, f.name AS description, f.basis, "
    "         CASE f.basis WHEN 'per_area' THEN s.area_m2 ELSE 1 END AS quantity, f.unit_price, s.days, p.pd, "
    "         round (CASE f.basis WHEN 'per_area' THEN s.area_m2 * f.unit_price "
    "                ELSE f.unit_price::numeric END * s.days / p.pd)::bigint AS amount "
    "  FROM kid s CROSS JOIN p "
    "  CROSS JOIN LATERAL (SELECT * FROM fees f WHERE f.basis IN ('per_area', 'fixed') "
    "                      AND s.use = ANY (f.applies_to) OFFSET 0) f "
    "  UNION ALL "
    "  SELECT s.rn, s.id, pf.id, l.id, pf.name || coalesce (' ' || l.space_code, ''), 'parking', 1, l.monthly_fee, "
    "         l.days, p.pd, round (l.monthly_fee::numeric * l.days / p.pd)::bigint "
    "  FROM leases l CROSS JOIN pfee pf CROSS JOIN p JOIN kid s ON s.k = l.k"
    "), b AS MATERIALIZED ("
    "  SELECT s.k, s.unit_id, s.key_lease_id, a.amount, s.unit_code, s.rn, s.id, "
    "         (pre.ev || lpad (to_hex (s.rn), 12, '0'))::uuid AS ev_id, s.party, p.due "
    "  FROM kid s JOIN (SELECT rn, sum (amount)::bigint AS amount FROM lr GROUP BY rn) a ON a.rn = s.rn "
    "  CROSS JOIN pre CROSS JOIN p "
    "  ORDER BY s.rn"
    /* bills, lines and events from b and lr, in bill order (a CTE is read
     * back in the order it was written; were it not, only the indexes'
     * locality would suffer): none waits for another's RETURNING */
    "), ins AS ("
    "  INSERT INTO bills (id, property_id, unit_id, parking_lease_id, bill_to_party_id, run_id, period, "
    "                     kind, due_date, amount) "
    "  SELECT b.id, $1::uuid, b.unit_id, b.key_lease_id, b.party, $2::uuid, $3, 'periodic', b.due, b.amount "
    "  FROM b"
    "), ins_lines AS ("
    "  INSERT INTO bill_lines (bill_id, property_id, fee_item_id, parking_lease_id, description, basis, "
    "                          quantity, unit_price, days, period_days, amount) "
    "  SELECT l.bill_id, $1::uuid, l.fee_item_id, l.lease_id, "
    "         l.description, l.basis, l.quantity, l.unit_price, l.days, l.pd, l.amount "
    "  FROM lr l"
    "), ev AS ("
    "  " OUTBOX_INSERT_WITH_ID
    "  SELECT b.ev_id, 'bill.issued', $1::uuid, jsonb_build_object ('bill_id', b.id, 'unit_id', b.unit_id, "
    "         'unit_code', b.unit_code, 'parking_lease_id', b.key_lease_id, "
    "         'bill_to_party_id', b.party, 'period', $3, 'amount', b.amount, "
    "         'currency', 'CNY', 'due_date', b.due, 'run_id', $2::uuid, 'kind', 'periodic', "
    "         'description', NULL) "
    "  FROM b"
    ") "
    "UPDATE billing_runs r SET bills_created = (SELECT count (*) FROM b), "
    "  total_amount = (SELECT coalesce (sum (amount), 0) FROM b) "
    "WHERE r.id = $2::uuid "
    "RETURNING " RUN_JSON "::text, (SELECT count (*) FROM lr), (SELECT count (*) FROM b)";

static const db_statement_t s_statements[] = {
    { ST_RUN_INSERT,
      "INSERT INTO billing_runs (property_id, period, created_by) "
      "SELECT $1::uuid, $2, $3 WHERE EXISTS (SELECT 1 FROM property_settings WHERE property_id = $1::uuid) "
      "ON CONFLICT (property_id, period) DO NOTHING RETURNING id", false },
    { ST_RUN_EXISTING,
      "SELECT " RUN_JSON "::text, EXISTS (SELECT 1 FROM property_settings WHERE property_id = $1::uuid) "
      "FROM (SELECT 1) one LEFT JOIN billing_runs r ON r.property_id = $1::uuid AND r.period = $2",
      true },
    { ST_RUN_BILLS, s_run_bills_sql, false },
    { ST_RUN_LIST,
      "SELECT json_build_object ('items', coalesce (json_agg (" RUN_JSON " ORDER BY r.period DESC), '[]'), "
      "'next_cursor', NULL)::text FROM billing_runs r WHERE r.property_id = $1::uuid", true },
};

int
bl_run_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* The existing run of the period: 200 with bills_created 0 (a re-run issues
 * nothing), or 404 when billing does not know the property. */
static void
s_reply_existing (billing_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                  const char *period)
{
    const char *p[] = { pid, period };
    PGresult *res = db_exec (app->db, ST_RUN_EXISTING, 2, p);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) != 1 || strcmp (PQgetvalue (res, 0, 1), "t") != 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else if (PQgetisnull (res, 0, 0) || strcmp (PQgetvalue (res, 0, 0), "null") == 0)
        env_reply_error (rep, 409, "conflict", NULL, "the run of %s is being created; try again", period);
    else {
        cJSON *body = cJSON_Parse (PQgetvalue (res, 0, 0));
        if (!body)
            env_reply_error (rep, 500, "internal", NULL, "cannot build the reply");
        else {
            cJSON_ReplaceItemInObject (body, "bills_created", cJSON_CreateNumber (0));
            cJSON_AddBoolToObject (body, "already_run", true);
            env_reply_ok (rep, 200, body);
        }
    }
    PQclear (res);
}

/* Inside the run's transaction: room for one big statement: to hash and
 * sort in memory, and hash joins (the CTEs' row estimates are far off, and
 * nested loops over 100,000 units cost seconds); no JIT: the disabled
 * nested loops inflate the plan's cost past jit_above_cost, and compiling
 * took 1.5 s even for a property of ten units. 0 or -1. */
static int
s_run_settings (db_t *db)
{
    PGresult *res = db_query (db, "SET LOCAL statement_timeout = '" BL_RUN_STATEMENT_TIMEOUT "'; "
                                  "SET LOCAL work_mem = '" BL_RUN_WORK_MEM "'; SET LOCAL enable_nestloop = off; "
                                  "SET LOCAL jit = off");
    int rc = db_ok (res) ? 0 : -1;
    PQclear (res);
    return rc;
}

void
bl_runs_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_managers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    bl_run_input_t in;
    if (!bl_run_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid billing run");
        return;
    }
    PGresult *res = NULL;
    if (db_begin (app->db) || s_run_settings (app->db)) {
        db_fail (app->db, req->id, rep, "billing run");
        goto out;
    }
    const char *who = req->caller.user_id ? req->caller.user_id : "";
    res = db_exec (app->db, ST_RUN_INSERT, 3, (const char *[]) { pid, in.period, who });
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        /* already run (or unknown property): nothing to issue */
        db_rollback (app->db);
        s_reply_existing (app, req, rep, pid, in.period);
        goto out;
    }
    char run_id[40];
    snprintf (run_id, sizeof run_id, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    res = db_exec (app->db, ST_RUN_BILLS, 3, (const char *[]) { pid, run_id, in.period });
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    /* credit (prepayments) pays the new bills at once, in the run's transaction */
    if (PQntuples (res) != 1 || bl_ledger_settle_property (app->db, pid) || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "billing run");
        goto out;
    }
    outbox_wake (app->outbox);
    log_info (req->id, "billing run %s of %s: %s lines, %s bills issued", run_id, in.period,
              PQgetvalue (res, 0, 1), PQgetvalue (res, 0, 2));
    db_reply_json (res, rep, req->id, 201, "run vanished");
    res = NULL;
out:
    db_rollback (app->db);                   /* a no-op after the commit */
    PQclear (res);
}

void
bl_runs_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (!pid)
        return;
    bl_reply_property_doc (app, req, rep, pid, ST_RUN_LIST, 1, (const char *[]) { pid });
}
