/* late_fees: the daily assessment and the waiver (see late_fees.h). */
#include "late_fees.h"
#include "alloc_rules.h"
#include "input_rules.h"
#include "charges.h"
#include "ledger.h"

#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_test_clock;            /* PM_TEST_CLOCK=1: "today" follows billing.test_clock */

/* the bills that bear a late fee today: $1 property, $2 day, $3 grace days */
#define S_OVERDUE                                                                          \
    " FROM bills b JOIN bill_balances bb ON bb.bill_id = b.id"                             \
    " WHERE b.property_id = $1::uuid AND b.kind IN ('periodic', 'charge')"                 \
    " AND b.unit_id IS NOT NULL AND bb.balance > 0 AND b.due_date < $2::date - $3::int"

static const db_statement_t s_statements[] = {
    /* the days to assess: each day since the property's last assessed day
     * (catch-up after downtime, at most BL_LATE_FEE_CATCHUP_DAYS back), or
     * today for a property never assessed; $1 the test clock's offset (s) */
    { "bl_lf_properties",
      "SELECT ps.property_id, d.day::date::text FROM property_settings ps"
      " CROSS JOIN LATERAL (SELECT ((now() + $1::bigint * interval '1 second')"
      "                             AT TIME ZONE ps.timezone)::date AS today) t"
      " CROSS JOIN LATERAL (SELECT max(x.day) AS last FROM late_fee_days x"
      "                     WHERE x.property_id = ps.property_id) l"
      " CROSS JOIN LATERAL generate_series(greatest(COALESCE(l.last + 1, t.today),"
      "                                             t.today - " BL_LATE_FEE_CATCHUP_DAYS_SQL "),"
      "                                    t.today, interval '1 day') AS d (day)"
      " WHERE NOT EXISTS (SELECT 1 FROM late_fee_days x WHERE x.property_id = ps.property_id"
      "                   AND x.day = d.day::date)"
      " ORDER BY ps.property_id, d.day",
      true },
    { "bl_lf_clock", "SELECT offset_seconds::text FROM test_clock", true },
    { "bl_lf_lock",
      "SELECT pg_advisory_xact_lock(hashtextextended('billing.late_fees:' || $1::text, 0))", false },
    { "bl_lf_settings",
      "SELECT late_fee_bps_per_day, late_fee_grace_days, late_fee_cap_bps,"
      " EXISTS (SELECT 1 FROM late_fee_days d WHERE d.property_id = $1::uuid AND d.day = $2::date)"
      " FROM property_settings WHERE property_id = $1::uuid",
      false },
    /* bill.overdue, once per bill (bill_overdue_notices' key), for each bill
     * past its due date and still open on day $2 ($1 property) */
    { "bl_lf_overdue",
      /* balances per bill (allocations_bill), not through bill_balances,
       * which aggregates every allocation of the schema */
      "WITH o AS (SELECT b.id, b.property_id, b.due_date,"
      "             b.amount - COALESCE((SELECT sum(a.amount) FROM allocations a WHERE a.bill_id = b.id), 0) AS due"
      "           FROM bills b WHERE b.property_id = $1::uuid AND b.kind IN ('periodic', 'charge', 'deposit')"
      "           AND b.due_date < $2::date"
      "           AND NOT EXISTS (SELECT 1 FROM bill_overdue_notices x WHERE x.bill_id = b.id)"
      "           AND NOT EXISTS (SELECT 1 FROM bill_voids v WHERE v.bill_id = b.id)),"
      " n AS (INSERT INTO bill_overdue_notices (bill_id, property_id, day, amount_due, days_overdue)"
      "           SELECT o.id, o.property_id, $2::date, o.due, $2::date - o.due_date FROM o WHERE o.due > 0"
      "           ON CONFLICT DO NOTHING RETURNING bill_id, amount_due, days_overdue)"
      " " OUTBOX_INSERT
      " SELECT 'bill.overdue', b.property_id, " BL_BILL_EVENT_DATA ("b", "u")
      "        || jsonb_build_object('amount_due', n.amount_due, 'days_overdue', n.days_overdue)"
      " FROM n JOIN bills b ON b.id = n.bill_id"
      " LEFT JOIN units u ON u.property_id = b.property_id AND u.unit_id = b.unit_id"
      " ORDER BY b.due_date, b.id",
      false },
    { "bl_lf_bills",
      "SELECT b.id, b.unit_id, bb.balance, b.amount, $2::date - b.due_date,"
      " COALESCE((SELECT sum(a.amount) FROM late_fee_assessments a WHERE a.bill_id = b.id), 0)" S_OVERDUE
      " AND NOT EXISTS (SELECT 1 FROM late_fee_assessments a WHERE a.bill_id = b.id AND a.day = $2::date)"
      " ORDER BY b.unit_id, b.due_date, b.id",
      false },
    { "bl_lf_assess",
      "INSERT INTO late_fee_assessments (bill_id, day, property_id, fee_bill_id, amount)"
      " VALUES ($1::uuid, $2::date, $3::uuid, $4::uuid, $5::bigint)",
      false },
    { "bl_lf_day",
      "INSERT INTO late_fee_days (property_id, day, bills, amount) VALUES ($1::uuid, $2::date, $3::int, $4::bigint)",
      false },
    { "bl_lf_fee_bill",
      "SELECT unit_id FROM bills WHERE property_id = $1::uuid AND id = $2::uuid AND kind = 'late_fee'", false },
    { "bl_lf_void",
      "INSERT INTO bill_voids (bill_id, property_id, reason, created_by) VALUES ($1::uuid, $2::uuid, $3, $4)"
      " ON CONFLICT DO NOTHING RETURNING bill_id",
      false },
    { "bl_lf_unallocate",
      "INSERT INTO allocations (property_id, unit_id, payment_id, bill_id, amount, voided_bill)"
      " SELECT property_id, unit_id, payment_id, bill_id, -sum(amount), bill_id FROM allocations"
      " WHERE bill_id = $1::uuid GROUP BY property_id, unit_id, payment_id, bill_id HAVING sum(amount) > 0",
      false },
};

int
bl_late_fees_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

static bool
s_exec_ok (db_t *db, const char *name, int n, const char *const *params)
{
    PGresult *res = db_exec (db, name, n, params);
    bool ok = db_ok (res);
    if (!ok)
        log_error (NULL, "late fees: %s failed (%s)", name, db_sqlstate (res));
    PQclear (res);
    return ok;
}

/* One property's day, in its own transaction. Fees charged, or -1. */
static int
s_assess (billing_t *app, const char *pid, const char *day)
{
    db_t *db = app->db;
    PGresult *set = NULL, *bills = NULL;
    int charged = -1;
    long long total = 0;
    if (db_begin (db))
        return -1;
    if (!s_exec_ok (db, "bl_lf_lock", 1, (const char *[]) { pid }))
        goto out;
    set = db_exec (db, "bl_lf_settings", 2, (const char *[]) { pid, day });
    if (!db_ok (set) || PQntuples (set) != 1)
        goto out;
    if (strcmp (PQgetvalue (set, 0, 3), "t") == 0) {
        charged = 0;                 /* another worker did this day meanwhile */
        goto out;
    }
    int rate = atoi (PQgetvalue (set, 0, 0)), grace = atoi (PQgetvalue (set, 0, 1));
    int cap = atoi (PQgetvalue (set, 0, 2));
    const char *g = PQgetvalue (set, 0, 1);
    /* the property's ledger (every unit's) first: payments meanwhile wait */
    if (bl_ledger_lock_property (db, pid))
        goto out;
    bills = db_exec (db, "bl_lf_bills", 3, (const char *[]) { pid, day, g });
    if (!db_ok (bills))
        goto out;
    int n = 0;
    for (int i = 0; i < PQntuples (bills); i++) {
        const char *bid = PQgetvalue (bills, i, 0), *uid = PQgetvalue (bills, i, 1);
        int64_t fee = bl_late_fee_day (strtoll (PQgetvalue (bills, i, 2), NULL, 10),
                                       strtoll (PQgetvalue (bills, i, 3), NULL, 10), atoi (PQgetvalue (bills, i, 4)),
                                       grace, rate, cap, strtoll (PQgetvalue (bills, i, 5), NULL, 10));
        if (fee <= 0)
            continue;
        char ref[96], desc[160], fid[37], amount[24];
        snprintf (ref, sizeof ref, "%s:%s", bid, day);
        snprintf (desc, sizeof desc, "滞纳金 late fee %s, bill %s", day, bid);
        snprintf (amount, sizeof amount, "%lld", (long long) fee);
        if (bl_charge_insert (db, pid, uid, "late_fee", (long long) fee, "late_fee", ref, desc, day, fid) < 0
            || !s_exec_ok (db, "bl_lf_assess", 5, (const char *[]) { bid, day, pid, fid, amount }))
            goto out;
        n++;
        total += fee;
    }
    /* after the fees: a bill's notice says what was open on the day */
    PGresult *notices = db_exec (db, "bl_lf_overdue", 2, (const char *[]) { pid, day });
    int overdue = db_ok (notices) ? atoi (PQcmdTuples (notices)) : -1;
    if (overdue < 0)
        log_error (NULL, "late fees: bl_lf_overdue failed (%s)", db_sqlstate (notices));
    PQclear (notices);
    if (overdue < 0)
        goto out;
    char nb[16], tot[24];
    snprintf (nb, sizeof nb, "%d", n);
    snprintf (tot, sizeof tot, "%lld", total);
    if (!s_exec_ok (db, "bl_lf_day", 4, (const char *[]) { pid, day, nb, tot }) || db_commit (db))
        goto out;
    if (n > 0 || overdue > 0) {
        outbox_wake (app->outbox);
        log_info (NULL, "late fees: %d charged in property %s for %s (%lld fen), %d bills newly overdue", n, pid,
                  day, total, overdue);
    }
    charged = n;
out:
    if (charged < 0 || (set && db_ok (set) && PQntuples (set) == 1 && strcmp (PQgetvalue (set, 0, 3), "t") == 0))
        db_rollback (db);
    PQclear (set);
    PQclear (bills);
    return charged;
}

/* The test clock's offset in seconds ("0" unless PM_TEST_CLOCK=1). */
static void
s_clock_offset (db_t *db, char out[24])
{
    snprintf (out, 24, "0");
    if (!s_test_clock)
        return;
    PGresult *res = db_exec (db, "bl_lf_clock", 0, NULL);
    if (db_ok (res) && PQntuples (res) == 1)
        snprintf (out, 24, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
}

/* One check now: assesses every property whose day is not done. Returns the
 * number of fees charged, or -1 on a database error. */
static int
s_run_once (billing_t *app)
{
    char offset[24];
    s_clock_offset (app->db, offset);
    PGresult *props = db_exec (app->db, "bl_lf_properties", 1, (const char *[]) { offset });
    if (!db_ok (props)) {
        PQclear (props);
        return -1;
    }
    int total = 0;
    for (int i = 0; i < PQntuples (props); i++) {
        int n = s_assess (app, PQgetvalue (props, i, 0), PQgetvalue (props, i, 1));
        if (n < 0) {
            total = -1;
            break;
        }
        total += n;
    }
    PQclear (props);
    return total;
}

static int
s_round (void *app)
{
    return s_run_once (app);
}

job_t *
bl_late_fees_new (uv_loop_t *loop, billing_t *app)
{
    const char *clock = getenv ("PM_TEST_CLOCK");
    s_test_clock = clock && strcmp (clock, "1") == 0;
    if (s_test_clock)
        log_warn (NULL, "PM_TEST_CLOCK=1: the late fee job's today follows billing.test_clock (tests only)");
    uint64_t tick = (uint64_t) config_int ("PM_LATE_FEE_TICK_MS", BL_LATE_FEE_TICK_MS_DEFAULT, 10, 86400000);
    return job_new (loop, "late fees", tick, s_round, app);
}

void
bl_late_fees_waive (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    PGresult *res = NULL;
    const char *pid, *id = env_resource_scope (req, env_roles_managers, "fee_id", "late fee", rep, &pid);
    if (!id)
        return;
    jv_t v = JV_INIT;
    bl_reason_input_t in;
    if (!bl_reason_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid waiver");
        return;
    }
    char uid[37];
    if (!bl_begin_on_unit (app, req, rep, "bl_lf_fee_bill", pid, id, "late fee", uid))
        return;
    res = db_exec (app->db, "bl_lf_void", 4, (const char *[]) { id, pid, in.reason, req->caller.user_id });
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "waive");
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 409, "invalid_transition", NULL, "the late fee is already waived");
        goto out;
    }
    cJSON *doc = NULL;
    if (!s_exec_ok (app->db, "bl_lf_unallocate", 1, (const char *[]) { id })
        || bl_ledger_settle (app->db, pid, uid, NULL) || !(doc = bl_charge_json (app->db, pid, id))
        || db_commit (app->db)) {
        cJSON_Delete (doc);
        db_fail (app->db, req->id, rep, "waive");
        goto out;
    }
    log_info (req->id, "late fee %s waived in property %s", id, pid);
    env_reply_ok (rep, 200, doc);
out:
    db_rollback (app->db);                   /* a no-op after the commit */
    PQclear (res);
}
