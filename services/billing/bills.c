/* bills: billing.bills.list, .get and billing.accounts.get (see bills.h).
 * The documents are built by SQL (json_build_object) so that money stays
 * bigint from the table to the wire. */
#include "bills.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bl_bill_statuses[] = { "unpaid", "partially_paid", "paid", "void", NULL };

#define ST_BILLS_LIST "bl_bills_list"
#define ST_BILL_GET   "bl_bill_get"
#define ST_ACCOUNT    "bl_account_get"

#define BILL_JSON                                                                                \
    "json_build_object ('id', b.id, 'property_id', b.property_id, 'unit_id', b.unit_id, "        \
    "'unit_code', u.code, 'parking_lease_id', b.parking_lease_id, "                              \
    "'bill_to_party_id', b.bill_to_party_id, 'run_id', b.run_id, 'period', b.period, "           \
    "'kind', b.kind, 'due_date', b.due_date, 'amount', b.amount, 'allocated', bb.allocated, "    \
    "'balance', bb.balance, 'status', bb.status, 'currency', b.currency, "                       \
    "'description', b.description, 'source', b.source, 'source_ref', b.source_ref, "             \
    "'issued_at', " DB_UTC_TS ("b.issued_at") ")"

#define BILL_FROM                                                                                 \
    " FROM bills b JOIN bill_balances bb ON bb.bill_id = b.id "                                  \
    "LEFT JOIN units u ON u.property_id = b.property_id AND u.unit_id = b.unit_id "

static const db_statement_t s_statements[] = {
    /* $1 pid, $2 unit, $3 period, $4 status, $5 cursor due_date, $6 cursor id, $7 limit + 1;
     * newest due date first */
    { ST_BILLS_LIST,
      "SELECT " BILL_JSON "::text, b.due_date, b.id" BILL_FROM
      "WHERE b.property_id = $1::uuid AND ($2::uuid IS NULL OR b.unit_id = $2::uuid) "
      "  AND ($3::text IS NULL OR b.period = $3) AND ($4::text IS NULL OR bb.status = $4) "
      "  AND ($5::date IS NULL OR (b.due_date, b.id) < ($5::date, $6::uuid)) "
      "ORDER BY b.due_date DESC, b.id DESC LIMIT $7::int", true },
    { ST_BILL_GET,
      "SELECT (" BILL_JSON "::jsonb || jsonb_build_object ('lines', (SELECT coalesce (jsonb_agg ("
      "  jsonb_build_object ('fee_item_id', l.fee_item_id, 'parking_lease_id', l.parking_lease_id, "
      "  'description', l.description, 'basis', l.basis, 'quantity', l.quantity, "
      "  'unit_price', l.unit_price, 'days', l.days, 'period_days', l.period_days, "
      "  'amount', l.amount) ORDER BY l.basis DESC, l.description), '[]') FROM bill_lines l "
      "  WHERE l.property_id = $1::uuid AND l.bill_id = b.id)))::text" BILL_FROM
      "WHERE b.property_id = $1::uuid AND b.id = $2::uuid", true },
    /* the unit's open bills oldest first; overdue = open after the due date
     * in the property's time zone */
    { ST_ACCOUNT,
      "WITH o AS (SELECT " BILL_JSON " AS j, b.due_date, b.issued_at, b.id, bb.balance, bb.status" BILL_FROM
      "  WHERE b.property_id = $1::uuid AND b.unit_id = $2::uuid "
      "    AND bb.status IN ('unpaid', 'partially_paid')), "
      "today AS (SELECT (now () AT TIME ZONE s.timezone)::date AS d FROM property_settings s "
      "  WHERE s.property_id = $1::uuid) "
      "SELECT json_build_object ('property_id', $1::uuid, 'unit_id', u.unit_id, 'unit_code', u.code, "
      "  'balance_due', (SELECT coalesce (sum (balance), 0) FROM o), "
      "  'credit', unit_credit ($1::uuid, $2::uuid), "
      "  'overdue_amount', (SELECT coalesce (sum (balance), 0) FROM o, today WHERE o.due_date < today.d), "
      "  'currency', 'CNY', "
      "  'bills', (SELECT coalesce (json_agg (j ORDER BY due_date, issued_at, id), '[]') FROM o))::text "
      "FROM units u WHERE u.property_id = $1::uuid AND u.unit_id = $2::uuid", true },
};

int
bl_bills_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* A list cursor's key is "<date>~<id>" (what the last row of a page had). */
bool
bl_cursor_date_id (const char *key, char date[11], char id[37])
{
    char copy[PAGE_KEY_MAX], *part[2];
    snprintf (copy, sizeof copy, "%s", key ? key : "");
    if (!page_key_split (copy, part, 2) || !jv_is_date (part[0]) || !jv_is_uuid (part[1]))
        return false;
    snprintf (date, 11, "%s", part[0]);
    snprintf (id, 37, "%s", part[1]);
    return true;
}

void
bl_bills_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, bl_roles_readers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    const char *uid = env_query (req, "unit_id"), *period = env_query (req, "period");
    const char *status = env_query (req, "status");
    char key[PAGE_KEY_MAX], cdate[11] = "", cid[37] = "";
    int limit;
    if (uid && !jv_is_uuid (uid))
        jv_problem (&v, "unit_id", "must be a unit id");
    if (period) {
        char d[11];
        snprintf (d, sizeof d, "%.7s-01", period);
        if (strlen (period) != 7 || !jv_is_date (d))
            jv_problem (&v, "period", "must be a month YYYY-MM");
    }
    if (status) {
        bool ok = false;
        for (int i = 0; bl_bill_statuses[i]; i++)
            ok = ok || strcmp (status, bl_bill_statuses[i]) == 0;
        if (!ok)
            jv_problem (&v, "status", "must be unpaid, partially_paid, paid or void");
    }
    if (page_params (&v, req, &limit, key, sizeof key) && *key && !bl_cursor_date_id (key, cdate, cid))
        jv_problem (&v, "cursor", "is not a cursor this list gave out");
    const char *p[] = { pid, uid, period, status, *cdate ? cdate : NULL, *cid ? cid : NULL, NULL };
    bl_reply_page (app, req, rep, &v, pid, ST_BILLS_LIST, 7, p, limit);
}

void
bl_bills_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *bid = env_resource_scope (req, bl_roles_readers, "bid", "bill", rep, &pid);
    if (!bid)
        return;
    const char *p[] = { pid, bid };
    db_reply_json (db_exec (app->db, ST_BILL_GET, 2, p), rep, req->id, 200, "no such bill");
}

void
bl_account_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    /* tenants asks too, as "service": a move-out's clearance (arrears) */
    static const char *const s_account_readers[] = { "admin", "manager", "agent", "integration", "service", NULL };
    billing_t *app = app_;
    const char *pid, *uid = env_resource_scope (req, s_account_readers, "uid", "unit", rep, &pid);
    if (!uid)
        return;
    bl_account_reply (app, req, pid, uid, rep);
}

void
bl_account_reply (billing_t *app, const env_request_t *req, const char *pid, const char *uid, env_reply_t *rep)
{
    const char *p[] = { pid, uid };
    db_reply_json (db_exec (app->db, ST_ACCOUNT, 2, p), rep, req->id, 200, "no such unit");
}
