/* exports: CSV and JSON exports of bills, payments and the ledger (see exports.h). */
#include "exports.h"
#include "reports.h"

#include "csv.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_readers[] = { "admin", "manager", "integration", NULL };

#define S_TZ "COALESCE((SELECT timezone FROM property_settings WHERE property_id = $1::uuid), 'Asia/Shanghai')"
#define S_FROM "(to_date($2, 'YYYY-MM')::timestamp AT TIME ZONE " S_TZ ")"
#define S_TO "((to_date($2, 'YYYY-MM') + interval '1 month')::timestamp AT TIME ZONE " S_TZ ")"

typedef struct {
    const char *name;                /* statement and export name */
    const char *sql;                 /* $1 pid, $2 period; text columns */
    const char *columns[16];         /* NULL-terminated; "#name" is an integer */
} s_export_t;

static const s_export_t s_bills = {
    "bl_exp_bills",
    "SELECT b.id, u.code, b.unit_id, b.kind, b.period, b.due_date::text, b.amount, bb.allocated, bb.balance,"
    " bb.status, b.currency, " DB_UTC_TS ("b.issued_at") ", b.description"
    " FROM bills b JOIN bill_balances bb ON bb.bill_id = b.id"
    " LEFT JOIN units u ON u.property_id = b.property_id AND u.unit_id = b.unit_id"
    " WHERE b.property_id = $1::uuid AND b.period = $2 ORDER BY u.code, b.due_date, b.id",
    { "bill_id", "unit_code", "unit_id", "kind", "period", "due_date", "#amount", "#allocated", "#balance",
      "status", "currency", "issued_at", "description", NULL }
};

static const s_export_t s_payments = {
    "bl_exp_payments",
    "SELECT p.id, u.code, p.unit_id, p.amount, p.currency, p.method, p.external_ref, " DB_UTC_TS ("p.paid_at") ","
    " p.source, CASE WHEN r.id IS NULL THEN 'received' ELSE 'reversed' END, " DB_UTC_TS ("r.created_at") ","
    " pr.remainder, p.receipt_number"
    " FROM payments p JOIN payment_remainders pr ON pr.payment_id = p.id"
    " LEFT JOIN payment_reversals r ON r.payment_id = p.id"
    " LEFT JOIN units u ON u.property_id = p.property_id AND u.unit_id = p.unit_id"
    " WHERE p.property_id = $1::uuid AND p.paid_at >= " S_FROM " AND p.paid_at < " S_TO
    " ORDER BY p.paid_at, p.id",
    { "payment_id", "unit_code", "unit_id", "#amount", "currency", "method", "external_ref", "paid_at", "source",
      "status", "reversed_at", "#unallocated", "receipt_number", NULL }
};

static const s_export_t s_ledger = {
    "bl_exp_ledger",
    "WITH e AS ("
    " SELECT b.issued_at AS at, 'bill' AS entry, b.id AS id, b.unit_id, b.id AS bill_id, NULL::uuid AS payment_id,"
    "        b.amount AS amount, b.kind || COALESCE(': ' || b.description, '') AS note"
    " FROM bills b WHERE b.property_id = $1::uuid"
    " UNION ALL SELECT p.created_at, 'payment', p.id, p.unit_id, NULL, p.id, -p.amount,"
    "        p.method || COALESCE(' ' || p.external_ref, '') FROM payments p WHERE p.property_id = $1::uuid"
    " UNION ALL SELECT r.created_at, 'reversal', r.id, r.unit_id, NULL, r.payment_id, r.amount, r.reason"
    " FROM payment_reversals r WHERE r.property_id = $1::uuid"
    " UNION ALL SELECT a.created_at, 'allocation', NULL, a.unit_id, a.bill_id, a.payment_id, a.amount,"
    "        CASE WHEN a.reversal_id IS NOT NULL THEN 'reversed' WHEN a.voided_bill IS NOT NULL THEN 'voided'"
    "        ELSE NULL END FROM allocations a WHERE a.property_id = $1::uuid"
    " UNION ALL SELECT v.created_at, 'void', NULL, b.unit_id, v.bill_id, NULL, -b.amount, v.reason"
    " FROM bill_voids v JOIN bills b ON b.id = v.bill_id WHERE v.property_id = $1::uuid"
    " UNION ALL SELECT f.created_at, 'deposit_refund', f.id, d.unit_id, d.bill_id, NULL, f.amount, f.reason"
    " FROM deposit_refunds f JOIN deposits d ON d.id = f.deposit_id WHERE f.property_id = $1::uuid)"
    " SELECT " DB_UTC_TS ("e.at") ", e.entry, e.id, u.code, e.unit_id, e.bill_id, e.payment_id, e.amount, e.note"
    " FROM e LEFT JOIN units u ON u.property_id = $1::uuid AND u.unit_id = e.unit_id"
    " WHERE e.at >= " S_FROM " AND e.at < " S_TO " ORDER BY e.at, e.entry, e.id",
    { "at", "entry", "id", "unit_code", "unit_id", "bill_id", "payment_id", "#amount", "note", NULL }
};

int
bl_exports_prepare (db_t *db)
{
    const s_export_t *all[] = { &s_bills, &s_payments, &s_ledger };
    for (size_t i = 0; i < 3; i++)
        if (db_prepare (db, all[i]->name, all[i]->sql, true)) {
            log_error (NULL, "cannot prepare %s", all[i]->name);
            return -1;
        }
    return 0;
}

static bool
s_grow (char **buf, size_t *len, size_t *cap, size_t more)
{
    if (*len + more + 1 <= *cap)
        return true;
    size_t ncap = (*cap + more + 1) * 2;
    char *p = realloc (*buf, ncap);
    if (!p)
        return false;
    *buf = p;
    *cap = ncap;
    return true;
}

/* Appends s as a quoted CSV field ("a""b") to the growing buffer, led by '
 * when it starts like a formula (csv_write_cell; number: a column of
 * integers, whose plain numbers, negative ones too, stay numbers); pure.
 * false when out of memory. */
static bool
s_csv_append (char **buf, size_t *len, size_t *cap, const char *s, bool number, bool first)
{
    /* csv_write_cell defuses formulas (=HYPERLINK in an external_ref) */
    if (!s_grow (buf, len, cap, csv_cell_len (s, number) + 1))
        return false;
    if (!first)
        (*buf)[(*len)++] = ',';
    *len += csv_write_cell (s, number, *buf + *len);
    return true;
}

static bool
s_crlf (char **buf, size_t *len, size_t *cap)
{
    if (!s_grow (buf, len, cap, 2))
        return false;
    memcpy (*buf + *len, "\r\n", 3);
    *len += 2;
    return true;
}

/* {"content_type","filename","text"} of the rows of res as CSV: a BOM
 * (Excel then reads UTF-8), the header line, a line per row, CRLF. NULL
 * when out of memory. */
static cJSON *
s_csv_body (const PGresult *res, const s_export_t *ex, int ncol, const char *what, const char *period)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = s_grow (&buf, &len, &cap, 3);
    if (ok) {
        memcpy (buf, "\xEF\xBB\xBF", 4);
        len = 3;
    }
    for (int c = 0; ok && c < ncol; c++)
        ok = s_csv_append (&buf, &len, &cap, ex->columns[c] + (ex->columns[c][0] == '#'), false, c == 0);
    ok = ok && s_crlf (&buf, &len, &cap);
    for (int r = 0; ok && r < PQntuples (res); r++) {
        for (int c = 0; ok && c < ncol; c++)
            ok = s_csv_append (&buf, &len, &cap, PQgetvalue (res, r, c), ex->columns[c][0] == '#', c == 0);
        ok = ok && s_crlf (&buf, &len, &cap);
    }
    cJSON *body = ok ? cJSON_CreateObject () : NULL;
    if (body) {
        char filename[96];
        snprintf (filename, sizeof filename, "%s-%s.csv", what, period);
        cJSON_AddStringToObject (body, "content_type", "text/csv; charset=utf-8");
        cJSON_AddStringToObject (body, "filename", filename);
        cJSON_AddStringToObject (body, "text", buf);
    }
    free (buf);
    return body;
}

/* {"period","currency",what: [{column: value}]} of the rows of res (a '#'
 * column is a number). */
static cJSON *
s_json_body (const PGresult *res, const s_export_t *ex, int ncol, const char *what, const char *period)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddStringToObject (body, "period", period);
    cJSON_AddStringToObject (body, "currency", "CNY");
    cJSON *items = cJSON_AddArrayToObject (body, what);
    for (int r = 0; r < PQntuples (res); r++) {
        cJSON *o = cJSON_CreateObject ();
        for (int c = 0; c < ncol; c++) {
            const char *name = ex->columns[c];
            if (PQgetisnull (res, r, c))
                cJSON_AddNullToObject (o, name + (name[0] == '#'));
            else if (name[0] == '#')
                cJSON_AddNumberToObject (o, name + 1, strtod (PQgetvalue (res, r, c), NULL));
            else
                cJSON_AddStringToObject (o, name, PQgetvalue (res, r, c));
        }
        cJSON_AddItemToArray (items, o);
    }
    return body;
}

static void
s_export (billing_t *app, const env_request_t *req, env_reply_t *rep, const s_export_t *ex, const char *what)
{
    const char *pid = env_property_scope (req, s_readers, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    const char *period = env_param (req, "period"), *format = env_param (req, "format");
    if (!bl_is_period (period))
        jv_problem (&v, "period", "must be a month YYYY-MM");
    if (!format || !*format)
        format = "csv";
    bool csv = strcmp (format, "csv") == 0;
    if (!csv && strcmp (format, "json") != 0)
        jv_problem (&v, "format", "must be csv or json");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid export parameters");
        return;
    }
    if (!bl_property_known (app, pid, rep, req))
        return;
    PGresult *res = db_exec (app->db, ex->name, 2, (const char *[]) { pid, period });
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return;
    }
    int ncol = 0;
    while (ex->columns[ncol])
        ncol++;
    cJSON *body = csv ? s_csv_body (res, ex, ncol, what, period) : s_json_body (res, ex, ncol, what, period);
    PQclear (res);
    if (body)
        env_reply_ok (rep, 200, body);
    else
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
}

void
bl_exports_bills (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_export (app, req, rep, &s_bills, "bills");
}

void
bl_exports_payments (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_export (app, req, rep, &s_payments, "payments");
}

void
bl_exports_ledger (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_export (app, req, rep, &s_ledger, "ledger");
}
