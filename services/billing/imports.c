/* imports: the payments import and its reconciliation report (see imports.h). */
#include "imports.h"
#include "alloc_rules.h"
#include "payments.h"

#include "csv.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BL_IMPORT_FIELD_MAX  512
#define BL_IMPORT_COLUMNS    16
#define BL_IMPORT_ERRORS_MAX 1000

static const char *const s_importers[] = { "admin", "manager", "integration", NULL };

enum { C_UNIT, C_AMOUNT, C_METHOD, C_REF, C_PAID, C_COUNT };
static const char *const s_columns[C_COUNT] = { "unit_code", "amount", "method", "external_ref", "paid_at" };
static const bool s_required[C_COUNT] = { true, true, true, true, false };

int
bl_imports_prepare (db_t *db)
{
    return db_prepare (db, "bl_imp_unit", "SELECT unit_id FROM units WHERE property_id = $1::uuid AND code = $2",
                       true);
}

/* What the import tells its caller, as it grows line by line. */
typedef struct {
    long imported, duplicates, rejected;
    cJSON *errors;                   /* [{"line","problem"}], at most BL_IMPORT_ERRORS_MAX */
    cJSON *matched, *unmatched, *dups;
} s_report_t;

static void
s_report_free (s_report_t *r)
{
    cJSON_Delete (r->errors);
    cJSON_Delete (r->matched);
    cJSON_Delete (r->unmatched);
    cJSON_Delete (r->dups);
    memset (r, 0, sizeof *r);
}

static void
s_reject (s_report_t *r, size_t line, const char *problem)
{
    r->rejected++;
    if (cJSON_GetArraySize (r->errors) >= BL_IMPORT_ERRORS_MAX)
        return;
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddNumberToObject (e, "line", (double) line);
    cJSON_AddStringToObject (e, "problem", problem);
    cJSON_AddItemToArray (r->errors, e);
}

/* {"line","external_ref", more...} of a line, appended to list. */
static cJSON *
s_line_entry (cJSON *list, size_t line, const char *ref)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "line", (double) line);
    cJSON_AddStringToObject (o, "external_ref", ref);
    cJSON_AddItemToArray (list, o);
    return o;
}

/* A whole number of fen "123" (no sign, no decimals) in [1, BL_AMOUNT_MAX]; -1 otherwise. */
static long long
s_amount (const char *s)
{
    if (!*s || strlen (s) > 12)
        return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    long long x = strtoll (s, NULL, 10);
    return x >= 1 && x <= BL_AMOUNT_MAX ? x : -1;
}

static bool
s_method_ok (const char *m)
{
    for (int i = 0; bl_payment_methods[i]; i++)
        if (strcmp (m, bl_payment_methods[i]) == 0)
            return true;
    return false;
}

/* A line's fields (f[C_*], "" when the column is absent) checked: NULL and
 * *amount set, or what is wrong with it. */
static const char *
s_line_problem (const char *const f[C_COUNT], long long *amount)
{
    *amount = s_amount (f[C_AMOUNT]);
    if (*amount < 0)
        return "amount: must be a whole number of fen above 0";
    if (!s_method_ok (f[C_METHOD]))
        return "method: must be cash, bank_transfer, wechat, alipay, card or external";
    if (!*f[C_REF] || strlen (f[C_REF]) > BL_REF_MAX || !jv_is_utf8 (f[C_REF], strlen (f[C_REF])))
        return "external_ref: required, 1 to 128 bytes";
    if (*f[C_PAID] && !bl_is_timestamp (f[C_PAID]))
        return "paid_at: must be an RFC 3339 time or a date";
    return NULL;
}

/* The header: the first record that is not blank, each known column's
 * field number in idx (-1 when absent). False after adding its problems to v. */
static bool
s_header (csv_t *csv, jv_t *v, int idx[C_COUNT], size_t *nfields)
{
    csv_result_t rc;
    *nfields = 0;
    while ((rc = csv_read (csv)) == CSV_RECORD && csv_blank (csv))
        ;
    if (rc != CSV_RECORD) {
        jv_problem (v, "header", "the file has no header line");
        return false;
    }
    for (int k = 0; k < C_COUNT; k++)
        idx[k] = -1;
    *nfields = csv_count (csv);
    for (size_t i = 0; i < *nfields; i++)
        for (int k = 0; k < C_COUNT; k++)
            if (strcasecmp (csv_field (csv, i), s_columns[k]) == 0) {
                if (idx[k] >= 0)
                    jv_problem (v, s_columns[k], "appears twice in the header");
                idx[k] = (int) i;
            }
    for (int k = 0; k < C_COUNT; k++)
        if (s_required[k] && idx[k] < 0)
            jv_problem (v, s_columns[k], "is a required column and the header does not name it");
    return jv_ok (v);
}

/* One checked line: its unit by code, then the payment (or the duplicate of
 * a known external_ref), in the caller's transaction. 0, or -1 after a
 * database error. */
static int
s_import_line (billing_t *app, const char *pid, const env_caller_t *by, const char *const f[C_COUNT],
               long long amount, size_t line, s_report_t *r)
{
    PGresult *res = db_exec (app->db, "bl_imp_unit", 2, (const char *[]) { pid, f[C_UNIT] });
    if (!db_ok (res) || PQntuples (res) == 0) {
        int rc = db_ok (res) ? 0 : -1;
        PQclear (res);
        if (rc == 0) {
            s_reject (r, line, "unit_code: no such unit in this property");
            cJSON *u = s_line_entry (r->unmatched, line, f[C_REF]);
            cJSON_AddStringToObject (u, "unit_code", f[C_UNIT]);
            cJSON_AddNumberToObject (u, "amount", (double) amount);
        }
        return rc;
    }
    char uid[37], id[37];
    snprintf (uid, sizeof uid, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    bl_payment_input_t in = { uid, amount, f[C_METHOD], f[C_REF], *f[C_PAID] ? f[C_PAID] : NULL };
    bool duplicate;
    cJSON *existing = NULL;
    if (bl_payment_record (app, pid, &in, by, "import", id, &duplicate, &existing, NULL) != 0)
        return -1;
    cJSON_Delete (existing);
    cJSON *o = s_line_entry (duplicate ? r->dups : r->matched, line, f[C_REF]);
    cJSON_AddStringToObject (o, "payment_id", id);
    if (duplicate) {
        r->duplicates++;
        return 0;
    }
    r->imported++;
    cJSON_AddStringToObject (o, "unit_code", f[C_UNIT]);
    cJSON_AddNumberToObject (o, "amount", (double) amount);
    return 0;
}

/* Every line after the header, in the caller's transaction. 0, or -1 after
 * a database error. */
static int
s_import_lines (billing_t *app, const char *pid, const env_caller_t *by, csv_t *csv, const int idx[C_COUNT],
                size_t nfields, s_report_t *r)
{
    csv_result_t rc;
    while ((rc = csv_read (csv)) != CSV_END) {
        size_t line = csv_row (csv);
        if (rc == CSV_BAD) {
            s_reject (r, line, csv_error (csv));
            continue;
        }
        if (csv_blank (csv))
            continue;
        if (csv_count (csv) != nfields) {
            s_reject (r, line, "has another number of fields than the header");
            continue;
        }
        const char *f[C_COUNT];
        for (int k = 0; k < C_COUNT; k++)
            f[k] = idx[k] >= 0 ? csv_field (csv, (size_t) idx[k]) : "";
        long long amount;
        const char *problem = s_line_problem (f, &amount);
        if (problem)
            s_reject (r, line, problem);
        else if (s_import_line (app, pid, by, f, amount, line, r))
            return -1;
    }
    return 0;
}

/* The reply's body; takes the report's lists. */
static cJSON *
s_report_body (s_report_t *r)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "imported", (double) r->imported);
    cJSON_AddNumberToObject (body, "duplicates", (double) r->duplicates);
    cJSON_AddNumberToObject (body, "rejected", (double) r->rejected);
    bool truncated = r->rejected > cJSON_GetArraySize (r->errors);
    cJSON_AddItemToObject (body, "errors", r->errors);
    cJSON_AddBoolToObject (body, "errors_truncated", truncated);
    cJSON *rec = cJSON_AddObjectToObject (body, "reconciliation");
    cJSON_AddItemToObject (rec, "matched", r->matched);
    cJSON_AddItemToObject (rec, "unmatched", r->unmatched);
    cJSON_AddItemToObject (rec, "duplicates", r->dups);
    r->errors = r->matched = r->unmatched = r->dups = NULL;
    return body;
}

void
bl_payments_import (void *app_, const env_request_t *req, env_reply_t *rep)
{
    billing_t *app = app_;
    const char *pid = env_property_scope (req, s_importers, rep);
    if (!pid)
        return;
    if (!cJSON_IsString (req->data)) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("body", "send the statement as text/csv"),
                         "no CSV");
        return;
    }
    const char *text = req->data->valuestring;
    csv_t *csv = csv_new (text, strlen (text), BL_IMPORT_FIELD_MAX, BL_IMPORT_COLUMNS);
    s_report_t r = { .errors = cJSON_CreateArray (), .matched = cJSON_CreateArray (),
                     .unmatched = cJSON_CreateArray (), .dups = cJSON_CreateArray () };
    jv_t v = JV_INIT;
    int idx[C_COUNT];
    size_t nfields = 0;
    if (!csv) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (!s_header (csv, &v, idx, &nfields)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v),
                         nfields ? "the header line is not right: nothing was imported" : "nothing to import");
        goto out;
    }
    if (db_begin (app->db) || s_import_lines (app, pid, &req->caller, csv, idx, nfields, &r)
        || db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "payments import");
        goto out;
    }
    if (r.imported)
        outbox_wake (app->outbox);
    log_info (req->id, "payments import in property %s: %ld imported, %ld duplicates, %ld rejected", pid,
              r.imported, r.duplicates, r.rejected);
    env_reply_ok (rep, 200, s_report_body (&r));
out:
    db_rollback (app->db);                   /* a no-op after the commit */
    csv_destroy (&csv);
    s_report_free (&r);
}
