/* reports: collection and arrears (see reports.h). The SQL builds the documents. */
#include "reports.h"

#include "bills.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* today in the property's time zone */
#define S_TODAY                                                                         \
    "(now() AT TIME ZONE COALESCE((SELECT timezone FROM property_settings"              \
    "  WHERE property_id = $1::uuid), 'Asia/Shanghai'))::date"

static const db_statement_t s_statements[] = {
    { "bl_rep_collection",
      "WITH p AS (SELECT " S_TODAY " AS today,"
      "             COALESCE((SELECT timezone FROM property_settings WHERE property_id = $1::uuid),"
      "                      'Asia/Shanghai') AS tz),"
      " billed AS (SELECT COALESCE(sum(bb.amount), 0)::bigint AS billed,"
      "                   COALESCE(sum(bb.allocated), 0)::bigint AS collected, count(*) AS bills"
      "            FROM bill_balances bb WHERE bb.property_id = $1::uuid AND bb.period = $2"
      "            AND bb.kind <> 'deposit' AND bb.status <> 'void'),"
      " received AS (SELECT COALESCE(sum(pm.amount), 0)::bigint AS received FROM payments pm, p"
      "              WHERE pm.property_id = $1::uuid"
      "              AND pm.paid_at >= (to_date($2, 'YYYY-MM')::timestamp AT TIME ZONE p.tz)"
      "              AND pm.paid_at < ((to_date($2, 'YYYY-MM') + interval '1 month')::timestamp AT TIME ZONE p.tz)"
      "              AND NOT EXISTS (SELECT 1 FROM payment_reversals r WHERE r.payment_id = pm.id)),"
      " ages AS (SELECT (p.today - bb.due_date) AS age, bb.balance FROM bill_balances bb, p"
      "          WHERE bb.property_id = $1::uuid AND bb.balance > 0 AND bb.kind <> 'deposit'"
      "          AND bb.due_date < p.today)"
      " SELECT json_build_object('period', $2, 'currency', 'CNY', 'as_of', (SELECT today FROM p),"
      "  'bills', b.bills, 'billed', b.billed, 'collected', b.collected,"
      "  'collection_rate', CASE WHEN b.billed = 0 THEN NULL ELSE"
      "     to_char(((b.collected * 10000 * 2 + b.billed) / (b.billed * 2)) / 10000.0, 'FM0.0000') END,"
      "  'collection_rate_bps', CASE WHEN b.billed = 0 THEN NULL ELSE"
      "     (b.collected * 10000 * 2 + b.billed) / (b.billed * 2) END,"
      "  'outstanding', b.billed - b.collected, 'received', r.received,"
      "  'arrears_by_age', json_build_object("
      "     '0_30', (SELECT COALESCE(sum(balance), 0)::bigint FROM ages WHERE age <= 30),"
      "     '31_90', (SELECT COALESCE(sum(balance), 0)::bigint FROM ages WHERE age BETWEEN 31 AND 90),"
      "     '91_180', (SELECT COALESCE(sum(balance), 0)::bigint FROM ages WHERE age BETWEEN 91 AND 180),"
      "     'over_180', (SELECT COALESCE(sum(balance), 0)::bigint FROM ages WHERE age > 180)),"
      "  'arrears_total', (SELECT COALESCE(sum(balance), 0)::bigint FROM ages))"
      " FROM billed b, received r", true },
    /* $1 pid, $2 whole contacts, $3 after due date, $4 after unit id, $5 limit */
    { "bl_rep_arrears",
      "WITH p AS (SELECT " S_TODAY " AS today),"
      " owed AS (SELECT bb.unit_id, min(bb.due_date) AS oldest, sum(bb.balance)::bigint AS overdue,"
      "                 count(*) AS bills"
      "          FROM bill_balances bb, p WHERE bb.property_id = $1::uuid AND bb.unit_id IS NOT NULL"
      "          AND bb.balance > 0 AND bb.kind <> 'deposit' AND bb.due_date < p.today"
      "          GROUP BY bb.unit_id),"
      " page AS (SELECT * FROM owed"
      "          WHERE $3::date IS NULL OR (oldest, unit_id) > ($3::date, $4::uuid)"
      "          ORDER BY oldest, unit_id LIMIT $5::int)"
      " SELECT json_build_object('unit_id', o.unit_id, 'unit_code', u.code, 'building', u.building,"
      "  'oldest_due_date', o.oldest, 'days_overdue', p.today - o.oldest, 'overdue_amount', o.overdue,"
      "  'bills', o.bills, 'currency', 'CNY',"
      "  'balance_due', (SELECT COALESCE(sum(balance), 0)::bigint FROM bill_balances x"
      "                  WHERE x.property_id = $1::uuid AND x.unit_id = o.unit_id AND x.kind <> 'deposit'),"
      "  'contacts', COALESCE((SELECT json_agg(json_build_object('party_id', pa.id, 'name', pa.name,"
      "        'role', oc.role, 'phones', (SELECT COALESCE(json_agg(CASE WHEN $2::bool THEN ph"
      "             WHEN length(ph) < 8 THEN '****' ELSE left(ph, 3) || '****' || right(ph, 4) END), '[]'::json)"
      "             FROM unnest(pa.phones) AS ph)) ORDER BY oc.start_date, pa.id)"
      "     FROM occupancies oc JOIN parties pa ON pa.id = oc.party_id"
      "     WHERE oc.property_id = $1::uuid AND oc.unit_id = o.unit_id AND oc.start_date <= p.today"
      "     AND (oc.end_date IS NULL OR oc.end_date >= p.today)), '[]'::json)),"
      "  o.oldest, o.unit_id"
      " FROM page o CROSS JOIN p LEFT JOIN units u ON u.property_id = $1::uuid AND u.unit_id = o.unit_id"
      " ORDER BY o.oldest, o.unit_id", true },
};

int
bl_reports_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

bool
bl_is_period (const char *s)
{
    if (!s || strlen (s) != 7 || s[4] != '-')
        return false;
    for (int i = 0; i < 7; i++)
        if (i != 4 && !isdigit ((unsigned char) s[i]))
            return false;
    int month = atoi (s + 5);
    return month >= 1 && month <= 12 && atoi (s) >= 1900;
}

void
bl_reports_collection (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (!pid)
        return;
    const char *period = env_param (req, "period");
    if (!bl_is_period (period)) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("period", "must be a month YYYY-MM"),
                         "invalid report parameters");
        return;
    }
    bl_reply_property_doc (app, req, rep, pid, "bl_rep_collection", 2, (const char *[]) { pid, period });
}

void
bl_reports_arrears (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    /* the dunning list names residents and their phones: the desk's only */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    /* the key: "<oldest due date>~<unit id>" of the previous page's last row */
    char key[PAGE_KEY_MAX], after_date[11] = "", after_unit[37] = "";
    if (page_params (&v, req, &limit, key, sizeof key) && *key
        && !bl_cursor_date_id (key, after_date, after_unit))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    const char *whole = env_role_in (req, env_roles_managers) ? "true" : "false";
    const char *p[] = { pid, whole, *after_date ? after_date : NULL, *after_unit ? after_unit : NULL, NULL };
    bl_reply_page (app, req, rep, &v, pid, "bl_rep_arrears", 5, p, limit);
}
