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

static void
s_error (cJSON *errors, long *rejected, size_t line, const char *fmt, const char *arg)
{
    (*rejected)++;
    if (cJSON_GetArraySize (errors) >= BL_IMPORT_ERRORS_MAX)
        return;
    char problem[300];
    snprintf (problem, sizeof problem, fmt, arg);
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddNumberToObject (e, "line", (double) line);
    cJSON_AddStringToObject (e, "problem", problem);
    cJSON_AddItemToArray (errors, e);
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
    cJSON *errors = cJSON_CreateArray (), *matched = cJSON_CreateArray ();
    cJSON *unmatched = cJSON_CreateArray (), *dups = cJSON_CreateArray ();
    long imported = 0, duplicates = 0, rejected = 0;
    bool began = false;
    if (!csv) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    /* the header: the first record that is not blank */
    int idx[C_COUNT];
    for (int k = 0; k < C_COUNT; k++)
        idx[k] = -1;
    csv_result_t rc;
    while ((rc = csv_read (csv)) == CSV_RECORD && csv_blank (csv))
        ;
    if (rc != CSV_RECORD) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("header", "the file has no header line"),
                         "nothing to import");
        goto out;
    }
    size_t nfields = csv_count (csv);
    jv_t v = JV_INIT;
    for (size_t i = 0; i < nfields; i++)
        for (int k = 0; k < C_COUNT; k++)
            if (strcasecmp (csv_field (csv, i), s_columns[k]) == 0) {
                if (idx[k] >= 0)
                    jv_problem (&v, s_columns[k], "appears twice in the header");
                idx[k] = (int) i;
            }
    for (int k = 0; k < C_COUNT; k++)
        if (s_required[k] && idx[k] < 0)
            jv_problem (&v, s_columns[k], "is a required column and the header does not name it");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "the header line is not right: nothing was imported");
        goto out;
    }
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    began = true;
    while ((rc = csv_read (csv)) != CSV_END) {
        size_t line = csv_row (csv);
        if (rc == CSV_BAD) {
            s_error (errors, &rejected, line, "%s", csv_error (csv));
            continue;
        }
        if (csv_blank (csv))
            continue;
        if (csv_count (csv) != nfields) {
            s_error (errors, &rejected, line, "%s", "has another number of fields than the header");
            continue;
        }
        const char *f[C_COUNT];
        for (int k = 0; k < C_COUNT; k++)
            f[k] = idx[k] >= 0 ? csv_field (csv, (size_t) idx[k]) : "";
        long long amount = s_amount (f[C_AMOUNT]);
        if (amount < 0) {
            s_error (errors, &rejected, line, "%s", "amount: must be a whole number of fen above 0");
            continue;
        }
        if (!s_method_ok (f[C_METHOD])) {
            s_error (errors, &rejected, line, "%s", "method: must be cash, bank_transfer, wechat, alipay, card or external");
            continue;
        }
        if (!*f[C_REF] || strlen (f[C_REF]) > BL_REF_MAX || !jv_is_utf8 (f[C_REF], strlen (f[C_REF]))) {
            s_error (errors, &rejected, line, "%s", "external_ref: required, 1 to 128 bytes");
            continue;
        }
        if (*f[C_PAID] && !bl_is_timestamp (f[C_PAID])) {
            s_error (errors, &rejected, line, "%s", "paid_at: must be an RFC 3339 time or a date");
            continue;
        }
        PGresult *res = db_exec (app->db, "bl_imp_unit", 2, (const char *[]) { pid, f[C_UNIT] });
        if (!db_ok (res)) {
            PQclear (res);
            db_fail (app->db, req->id, rep, "unit lookup");
            began = false;
            goto out;
        }
        if (PQntuples (res) == 0) {
            PQclear (res);
            s_error (errors, &rejected, line, "%s", "unit_code: no such unit in this property");
            cJSON *u = cJSON_CreateObject ();
            cJSON_AddNumberToObject (u, "line", (double) line);
            cJSON_AddStringToObject (u, "external_ref", f[C_REF]);
            cJSON_AddStringToObject (u, "unit_code", f[C_UNIT]);
            cJSON_AddNumberToObject (u, "amount", (double) amount);
            cJSON_AddItemToArray (unmatched, u);
            continue;
        }
        char uid[37];
        snprintf (uid, sizeof uid, "%s", PQgetvalue (res, 0, 0));
        PQclear (res);
        bl_payment_input_t in = { uid, amount, f[C_METHOD], f[C_REF], *f[C_PAID] ? f[C_PAID] : NULL };
        char id[37];
        bool duplicate;
        cJSON *existing = NULL;
        if (bl_payment_record (app, pid, &in, req->caller.user_id, "import", id, &duplicate, &existing, NULL) != 0) {
            db_fail (app->db, req->id, rep, "payment");
            began = false;
            goto out;
        }
        cJSON_Delete (existing);
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddNumberToObject (o, "line", (double) line);
        cJSON_AddStringToObject (o, "external_ref", f[C_REF]);
        cJSON_AddStringToObject (o, "payment_id", id);
        if (duplicate) {
            duplicates++;
            cJSON_AddItemToArray (dups, o);
        }
        else {
            imported++;
            cJSON_AddStringToObject (o, "unit_code", f[C_UNIT]);
            cJSON_AddNumberToObject (o, "amount", (double) amount);
            cJSON_AddItemToArray (matched, o);
        }
    }
    if (db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        began = false;
        goto out;
    }
    began = false;
    if (imported)
        outbox_wake (app->outbox);
    log_info (req->id, "payments import in property %s: %ld imported, %ld duplicates, %ld rejected", pid, imported,
              duplicates, rejected);
    cJSON *body = cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "imported", (double) imported);
    cJSON_AddNumberToObject (body, "duplicates", (double) duplicates);
    cJSON_AddNumberToObject (body, "rejected", (double) rejected);
    cJSON_AddItemToObject (body, "errors", errors);
    cJSON_AddBoolToObject (body, "errors_truncated", rejected > cJSON_GetArraySize (errors));
    cJSON *rec = cJSON_AddObjectToObject (body, "reconciliation");
    cJSON_AddItemToObject (rec, "matched", matched);
    cJSON_AddItemToObject (rec, "unmatched", unmatched);
    cJSON_AddItemToObject (rec, "duplicates", dups);
    errors = matched = unmatched = dups = NULL;
    env_reply_ok (rep, 200, body);
out:
    if (began)
        db_rollback (app->db);
    csv_destroy (&csv);
    cJSON_Delete (errors);
    cJSON_Delete (matched);
    cJSON_Delete (unmatched);
    cJSON_Delete (dups);
}
