/* receipts: a payment's printable receipt (see receipts.h). One read of
 * billing's own rows, the property's name from tenants (billing's copy of
 * the archive keeps none), then the page, printed here with every stored
 * text escaped. */
#include "receipts.h"
#include "receipt_rules.h"

#include "client.h"
#include "html.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of bl_rcp_load, in its order. */
enum {
    R_NUMBER, R_AMOUNT, R_METHOD, R_REF, R_BY, R_SOURCE, R_PAID, R_UNIT, R_PAYER, R_REVERSED, R_REASON,
    R_REVERSED_AT, R_ITEMS
};

static const db_statement_t s_statements[] = {
    /* $1 pid, $2 payment id. Times in the property's zone. The cashier: the
     * username the payment was recorded under (005), else the user id. The payer: the
     * unit's owners and tenants of record on the day paid, owners first.
     * What it paid: its allocations per bill apart from its own reversal
     * (a reversed receipt shows what it had paid), first allocated first */
    { "bl_rcp_load",
      "WITH tz AS (SELECT COALESCE((SELECT timezone FROM property_settings WHERE property_id = $1::uuid),"
      "                            'Asia/Shanghai') AS tz)"
      " SELECT p.receipt_number, p.amount, p.method, p.external_ref, COALESCE(p.created_by_name, p.created_by),"
      "  p.source,"
      "  to_char(p.paid_at AT TIME ZONE tz.tz, 'YYYY-MM-DD HH24:MI'), u.code,"
      "  (SELECT string_agg(pa.name, '、' ORDER BY o.role <> 'owner', o.start_date, pa.id)"
      "   FROM occupancies o JOIN parties pa ON pa.id = o.party_id"
      "   WHERE o.property_id = p.property_id AND o.unit_id = p.unit_id AND o.role IN ('owner', 'tenant')"
      "   AND o.start_date <= (p.paid_at AT TIME ZONE tz.tz)::date"
      "   AND (o.end_date IS NULL OR o.end_date >= (p.paid_at AT TIME ZONE tz.tz)::date)),"
      "  r.id IS NOT NULL, r.reason, to_char(r.created_at AT TIME ZONE tz.tz, 'YYYY-MM-DD HH24:MI'),"
      "  COALESCE((SELECT json_agg(json_build_object('kind', b.kind, 'period', b.period, 'description',"
      "     COALESCE(b.description, (SELECT string_agg(DISTINCT l.description, '、' ORDER BY l.description)"
      "                              FROM bill_lines l WHERE l.bill_id = b.id)),"
      "     'amount', x.amount) ORDER BY x.first)"
      "   FROM (SELECT bill_id, sum(amount) AS amount, min(id) AS first FROM allocations"
      "         WHERE payment_id = p.id AND reversal_id IS NULL GROUP BY bill_id HAVING sum(amount) > 0) x"
      "   JOIN bills b ON b.id = x.bill_id), '[]'::json)::text"
      " FROM payments p CROSS JOIN tz LEFT JOIN payment_reversals r ON r.payment_id = p.id"
      " LEFT JOIN units u ON u.property_id = p.property_id AND u.unit_id = p.unit_id"
      " WHERE p.property_id = $1::uuid AND p.id = $2::uuid",
      true },
};

int
bl_receipts_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* The print CSS of each layout (@page sets the paper), after the common part. */
static const char s_css_common[] =
    "body{font-family:\"Songti SC\",\"SimSun\",serif;color:#000;margin:0 auto}"
    "h1{font-size:1.25em;text-align:center;margin:0}"
    "h2{font-size:1.15em;text-align:center;letter-spacing:.6em;margin:.2em 0}"
    ".no{text-align:right;font-family:monospace;color:#b00}"
    "table{width:100%;border-collapse:collapse;margin:.3em 0}"
    "th,td{padding:2px 4px;text-align:left;vertical-align:top}th{white-space:nowrap;font-weight:normal}"
    ".num{text-align:right;white-space:nowrap}.sum td{font-weight:bold}"
    ".void{color:#c00;font-weight:bold;font-size:1.6em;text-align:center;border:3px double #c00;margin:.3em 0}"
    ".sign{display:flex;justify-content:space-between;margin-top:.6em}";
static const char s_css_a5[] =
    "@page{size:A5 landscape;margin:10mm}body{font-size:13px;max-width:190mm}"
    "th,td{border:1px solid #000}";
static const char s_css_thermal[] =
    "@page{size:80mm auto;margin:2mm}body{font-size:12px;width:76mm}"
    "table{border-top:1px dashed #000;border-bottom:1px dashed #000}.sign{display:block}.sign span{display:block;margin-top:.4em}";

/* One line of what the payment paid: its name, its period, the amount. */
static void
s_item (env_text_t *t, const char *name, const char *period, int64_t fen)
{
    char money[BL_RECEIPT_AMOUNT_MAX];
    bl_amount_figures (fen, money, sizeof money);
    env_text_put (t, "<tr><td>");
    html_escape (t, name);
    env_text_put (t, "</td><td>");
    html_escape (t, period);
    env_text_put (t, "</td><td class=\"num\">");
    env_text_put (t, money);
    env_text_put (t, "</td></tr>");
}

/* The table of what it paid: a line per bill, then what no bill took
 * (credit, 预存), then the total. */
static void
s_items (env_text_t *t, const char *items_json, int64_t amount)
{
    env_text_put (t, "<table class=\"items\"><tr><th>收费项目</th><th>所属期间</th><th class=\"num\">金额</th></tr>");
    cJSON *items = cJSON_Parse (items_json);
    int64_t paid = 0;
    const cJSON *it;
    cJSON_ArrayForEach (it, items) {
        const char *desc = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "description"));
        const char *kind = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "kind"));
        const char *period = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (it, "period"));
        int64_t fen = (int64_t) cJSON_GetNumberValue (cJSON_GetObjectItemCaseSensitive (it, "amount"));
        s_item (t, desc ? desc : bl_bill_kind_name (kind), period ? period : "", fen);
        paid += fen;
    }
    cJSON_Delete (items);
    if (amount > paid)
        s_item (t, "预存款（余额）", "", amount - paid);
    char money[BL_RECEIPT_AMOUNT_MAX];
    bl_amount_figures (amount, money, sizeof money);
    env_text_put (t, "<tr class=\"sum\"><td colspan=\"2\">合计</td><td class=\"num\">");
    env_text_put (t, money);
    env_text_put (t, "</td></tr></table>");
}

/* The whole page of row 0 of res (bl_rcp_load) for the property's name. */
static void
s_page (env_text_t *t, const PGresult *res, const char *property, bl_layout_t layout)
{
    const char *number = PQgetvalue (res, 0, R_NUMBER);
    int64_t amount = strtoll (PQgetvalue (res, 0, R_AMOUNT), NULL, 10);
    bool reversed = strcmp (PQgetvalue (res, 0, R_REVERSED), "t") == 0;
    char capitals[BL_RECEIPT_AMOUNT_MAX], figures[BL_RECEIPT_AMOUNT_MAX];
    if (bl_amount_capitals (amount, capitals, sizeof capitals))
        snprintf (capitals, sizeof capitals, "-");
    bl_amount_figures (amount, figures, sizeof figures);

    env_text_put (t, "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>收据 ");
    html_escape (t, number);
    env_text_put (t, reversed ? "（作废）" : "");
    env_text_put (t, "</title><style>");
    env_text_put (t, s_css_common);
    env_text_put (t, layout == BL_LAYOUT_THERMAL ? s_css_thermal : s_css_a5);
    env_text_put (t, "</style></head><body><h1>");
    html_escape (t, property);
    env_text_put (t, "</h1><h2>收据</h2><p class=\"no\">No. ");
    html_escape (t, number);
    env_text_put (t, "</p>");
    if (reversed)
        env_text_put (t, "<p class=\"void\">作废 VOID</p>");
    env_text_put (t, "<table>");
    html_row (t, "房号", PQgetvalue (res, 0, R_UNIT));
    html_row (t, "交款人", PQgetvalue (res, 0, R_PAYER));
    html_row (t, "收款时间", PQgetvalue (res, 0, R_PAID));
    html_row (t, "付款方式", bl_method_name (PQgetvalue (res, 0, R_METHOD)));
    if (!PQgetisnull (res, 0, R_REF))
        html_row (t, "交易流水号", PQgetvalue (res, 0, R_REF));
    env_text_put (t, "</table>");
    s_items (t, PQgetvalue (res, 0, R_ITEMS), amount);
    env_text_put (t, "<table>");
    html_row (t, "金额（大写）", capitals);
    html_row (t, "金额（小写）", figures);
    if (reversed) {
        html_row (t, "作废时间", PQgetvalue (res, 0, R_REVERSED_AT));
        html_row (t, "作废原因", PQgetvalue (res, 0, R_REASON));
    }
    env_text_put (t, "</table><div class=\"sign\"><span>收款人：");
    html_escape (t, PQgetvalue (res, 0, R_BY));
    if (strcmp (PQgetvalue (res, 0, R_SOURCE), "import") == 0)
        env_text_put (t, "（批量导入）");
    env_text_put (t, "</span><span>交款人签字：</span></div></body></html>\n");
}

/* The property's name as tenants has it, into name. 0, or -1 after
 * answering (404 for a property tenants does not know, else 503). Asked
 * outside any transaction; half of what the caller's deadline leaves. */
static int
s_property_name (const env_request_t *req, const char *pid, char *name, size_t cap, env_reply_t *rep)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (cJSON_AddObjectToObject (body, "params"), "pid", pid);
    cJSON_AddNullToObject (body, "data");
    env_caller_t caller = { .user_id = "billing", .role = "service" };
    int64_t now = env_now_ms ();
    int64_t deadline = req->deadline_ms > now ? now + (req->deadline_ms - now) / 2 : 0;
    env_reply_t r = { 0 };
    client_call ("tenants.properties.get", &caller, req->id, deadline, body, &r);
    const char *n = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (r.body, "name"));
    int rc = 0;
    if (r.status == 200 && n)
        snprintf (name, cap, "%s", n);
    else if (r.status == 404) {
        env_reply_error (rep, 404, "not_found", NULL, "no such payment");
        rc = -1;
    }
    else {
        log_warn (req->id, "tenants.properties.get answered %d: %s", r.status, r.message);
        env_reply_error (rep, 503, "service_unavailable", NULL, "the tenants service did not answer; try again");
        rc = -1;
    }
    env_reply_reset (&r);
    return rc;
}

void
bl_payments_receipt (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid, *id = env_resource_scope (req, bl_roles_readers, "payment_id", "payment", rep, &pid);
    if (id)
        bl_receipt_reply (app, req, pid, id, rep);
}

void
bl_receipt_reply (billing_t *app, const env_request_t *req, const char *pid, const char *id, env_reply_t *rep)
{
    bl_layout_t layout;
    if (!bl_receipt_layout (env_param (req, "layout"), &layout)) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("layout", "must be a5 or thermal"),
                         "invalid receipt layout");
        return;
    }
    PGresult *res = db_exec (app->db, "bl_rcp_load", 2, (const char *[]) { pid, id });
    env_text_t t = ENV_TEXT_INIT;
    char property[512];
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 404, "not_found", NULL, "no such payment");
        goto out;
    }
    if (s_property_name (req, pid, property, sizeof property, rep))
        goto out;
    s_page (&t, res, property, layout);
    char filename[64];
    snprintf (filename, sizeof filename, "%s.html", PQgetvalue (res, 0, R_NUMBER));
    html_reply_page (rep, &t, filename);
out:
    free (env_text_take (&t));
    PQclear (res);
}
