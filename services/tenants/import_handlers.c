/* import_handlers: tenants.units.import and tenants.parties.import, bulk
 * onboarding from a CSV file (the gateway hands it over as UTF-8 text in
 * "data").
 *
 * parse and validate every row in C with the rules of the JSON API
 * (unit_rules, party_rules) -> one transaction: the good rows go in with a
 * few set-based statements (import_store), their events with them -> a
 * report {"imported","duplicates","errors":[{"line","problem"}]}.
 *
 * A bad header (a required column missing, an unknown or repeated one) or
 * an empty file refuses the whole file (422); a bad row is reported and
 * skipped while the good ones go in; a row whose unit or party is in the
 * property already, or that repeats an earlier row, is a duplicate: nothing
 * is updated and no event is written, so importing a file twice imports it
 * once. A database error rolls everything back. Line numbers are the
 * spreadsheet's: the header is line 1. Problems name fields, never quote
 * personal data. */
#include "tenants.h"
#include "import_store.h"
#include "party_rules.h"
#include "tenants_store.h"
#include "unit_rules.h"

#include "csv.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TN_IMPORT_FIELD_MAX     1024     /* bytes in one cell */
#define TN_IMPORT_COLUMNS_MAX   32
#define TN_IMPORT_ERRORS_MAX    1000     /* listed in a report; "rejected" counts them all */
#define TN_IMPORT_PROBLEM_MAX   300
#define TN_IMPORT_TIMEOUT_MIN_MS 5000    /* statement timeout when the deadline is near or absent */
#define TN_IMPORT_TIMEOUT_MAX_MS 600000
#define TN_IMPORT_WORK_MEM      "64MB"   /* per sort or hash of an import's statements */

/* ---- the report --------------------------------------------------------- */

typedef struct {
    size_t line;
    char *problem;
} s_im_error_t;

typedef struct {
    long imported, duplicates, rejected;
    s_im_error_t *errors;
    size_t nerrors, cap;
} s_im_report_t;

static void
s_im_error (s_im_report_t *r, size_t line, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static void
s_im_error (s_im_report_t *r, size_t line, const char *fmt, ...)
{
    r->rejected++;
    if (r->nerrors >= TN_IMPORT_ERRORS_MAX)
        return;
    if (r->nerrors == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        s_im_error_t *e = realloc (r->errors, cap * sizeof *e);
        if (!e)
            return;
        r->errors = e;
        r->cap = cap;
    }
    char problem[TN_IMPORT_PROBLEM_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (problem, sizeof problem, fmt, ap);
    va_end (ap);
    char *copy = strdup (problem);
    if (!copy)
        return;
    r->errors[r->nerrors].line = line;
    r->errors[r->nerrors].problem = copy;
    r->nerrors++;
}

static int
s_im_by_line (const void *a, const void *b)
{
    const s_im_error_t *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void
s_im_report_free (s_im_report_t *r)
{
    for (size_t i = 0; i < r->nerrors; i++)
        free (r->errors[i].problem);
    free (r->errors);
    memset (r, 0, sizeof *r);
}

/* The report as the reply's body; extra (consumed, may be NULL) adds fields. */
static cJSON *
s_im_report_json (s_im_report_t *r, cJSON *extra)
{
    if (r->nerrors)                  /* qsort (NULL, 0, ...) is undefined behaviour */
        qsort (r->errors, r->nerrors, sizeof *r->errors, s_im_by_line);
    cJSON *body = extra ? extra : cJSON_CreateObject ();
    cJSON_AddNumberToObject (body, "imported", (double) r->imported);
    cJSON_AddNumberToObject (body, "duplicates", (double) r->duplicates);
    cJSON_AddNumberToObject (body, "rejected", (double) r->rejected);
    cJSON *errors = cJSON_AddArrayToObject (body, "errors");
    for (size_t i = 0; i < r->nerrors; i++) {
        cJSON *e = cJSON_CreateObject ();
        cJSON_AddNumberToObject (e, "line", (double) r->errors[i].line);
        cJSON_AddStringToObject (e, "problem", r->errors[i].problem);
        cJSON_AddItemToArray (errors, e);
    }
    cJSON_AddBoolToObject (body, "errors_truncated", (size_t) r->rejected > r->nerrors);
    return body;
}

/* "field: problem; field: problem" of jv's details. */
static void
s_im_problems (jv_t *v, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    const cJSON *d;
    cJSON_ArrayForEach (d, v->details) {
        const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (d, "field"));
        const char *p = cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem"));
        int w = snprintf (out + n, cap - n, "%s%s: %s", n ? "; " : "", f ? f : "?", p ? p : "?");
        if (w < 0 || (size_t) w >= cap - n)
            break;
        n += (size_t) w;
    }
    jv_reset (v);
}

/* ---- a small string set (in-file duplicates) ----------------------------- */

typedef struct {
    char **keys;
    long *values;
    size_t cap, count;
} s_im_set_t;

static size_t
s_im_hash (const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211ULL;
    return h;
}

/* The value of key, or -1 when absent. */
static long
s_im_set_get (const s_im_set_t *set, const char *key)
{
    if (!set->cap)
        return -1;
    for (size_t i = s_im_hash (key) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        if (!set->keys[i])
            return -1;
        if (strcmp (set->keys[i], key) == 0)
            return set->values[i];
    }
}

/* Adds key with value when absent: 1 added, 0 present, -1 out of memory. */
static int
s_im_set_add (s_im_set_t *set, const char *key, long value)
{
    if ((set->count + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        char **keys = calloc (cap, sizeof *keys);
        long *values = calloc (cap, sizeof *values);
        if (!keys || !values) {
            free (keys);
            free (values);
            return -1;
        }
        for (size_t i = 0; i < set->cap; i++)
            if (set->keys[i]) {
                size_t j = s_im_hash (set->keys[i]) & (cap - 1);
                while (keys[j])
                    j = (j + 1) & (cap - 1);
                keys[j] = set->keys[i];
                values[j] = set->values[i];
            }
        free (set->keys);
        free (set->values);
        set->keys = keys;
        set->values = values;
        set->cap = cap;
    }
    size_t i = s_im_hash (key) & (set->cap - 1);
    for (; set->keys[i]; i = (i + 1) & (set->cap - 1))
        if (strcmp (set->keys[i], key) == 0)
            return 0;
    if (!(set->keys[i] = strdup (key)))
        return -1;
    set->values[i] = value;
    set->count++;
    return 1;
}

static void
s_im_set_free (s_im_set_t *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free (set->keys[i]);
    free (set->keys);
    free (set->values);
    memset (set, 0, sizeof *set);
}

/* ---- the file and its header --------------------------------------------- */

typedef struct {
    const char *name;
    bool required;
} s_im_column_t;

/* The CSV text of the request, or NULL after answering. */
static const char *
s_im_text (const env_request_t *req, env_reply_t *rep, const char **pid)
{
    *pid = env_property_scope (req, env_roles_managers, rep);
    if (!*pid)
        return NULL;
    if (req->data && !cJSON_IsNull (req->data) && !cJSON_IsString (req->data)) {
        env_reply_error (rep, 415, "unsupported_media_type", NULL,
                         "send the file as text/csv (UTF-8, or charset=gb18030)");
        return NULL;
    }
    return cJSON_IsString (req->data) ? req->data->valuestring : "";
}

/* A cell without the blanks around it, into out[TN_IMPORT_FIELD_MAX + 1]. */
static const char *
s_im_cell (const csv_t *csv, int col, char *out)
{
    if (col < 0)
        return "";
    const char *s = csv_field (csv, (size_t) col);
    size_t n = csv_field_len (csv, (size_t) col);
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n > TN_IMPORT_FIELD_MAX)
        n = TN_IMPORT_FIELD_MAX;
    memcpy (out, s, n);
    out[n] = 0;
    return out;
}

/* At most max bytes of s, cut at a character boundary, into out. */
static const char *
s_im_short (const char *s, char *out, size_t max)
{
    size_t n = strlen (s);
    if (n > max) {
        n = max;
        while (n && ((unsigned char) s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy (out, s, n);
    out[n] = 0;
    return out;
}

/* Reads the header (the first row that is not blank) and maps each known
 * column to its place: idx[k] for cols[k], -1 when absent. 0, or -1 after
 * answering 422 for the whole file. */
static int
s_im_header (csv_t *csv, const s_im_column_t *cols, int ncols, int *idx, size_t *nfields,
             env_reply_t *rep)
{
    int rc;
    while ((rc = csv_read (csv)) == CSV_RECORD && csv_blank (csv))
        ;
    if (rc == CSV_END) {
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail ("body", "the file is empty: its first line must name the columns"),
                         "the file is empty");
        return -1;
    }
    if (rc == CSV_BAD) {
        char problem[CSV_ERROR_MAX + 32];
        snprintf (problem, sizeof problem, "line %zu: %s", csv_row (csv), csv_error (csv));
        env_reply_error (rep, 422, "validation_failed", jv_detail ("header", problem),
                         "the header line cannot be read");
        return -1;
    }
    for (int k = 0; k < ncols; k++)
        idx[k] = -1;
    jv_t v = JV_INIT;
    char cell[TN_IMPORT_FIELD_MAX + 1], shown[80];
    char allowed[256] = "";
    for (int k = 0; k < ncols; k++)
        snprintf (allowed + strlen (allowed), sizeof allowed - strlen (allowed), "%s%s", k ? ", " : "",
                  cols[k].name);
    *nfields = csv_count (csv);
    for (size_t f = 0; f < *nfields; f++) {
        const char *name = s_im_cell (csv, (int) f, cell);
        int found = -1;
        for (int k = 0; k < ncols; k++)
            if (strcasecmp (name, cols[k].name) == 0)
                found = k;
        if (found < 0)
            jv_problem (&v, *name ? s_im_short (name, shown, 64) : "(empty)",
                        "is not a column of this import (columns: %s)", allowed);
        else if (idx[found] >= 0)
            jv_problem (&v, cols[found].name, "appears twice in the header");
        else
            idx[found] = (int) f;
    }
    for (int k = 0; k < ncols; k++)
        if (cols[k].required && idx[k] < 0)
            jv_problem (&v, cols[k].name, "is a required column and the header does not name it");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v),
                         "the header line is not right: nothing was imported");
        return -1;
    }
    return 0;
}

/* The row's shape: a bad record or a ragged one is an error; blank rows are
 * skipped. True when the row's cells are there to read. */
static bool
s_im_row_ok (csv_t *csv, int rc, size_t nfields, s_im_report_t *report)
{
    if (rc == CSV_BAD) {
        s_im_error (report, csv_row (csv), "%s", csv_error (csv));
        return false;
    }
    if (csv_blank (csv))
        return false;
    if (csv_count (csv) != nfields) {
        s_im_error (report, csv_row (csv), "has %zu fields, the header has %zu", csv_count (csv), nfields);
        return false;
    }
    return true;
}

/* The statement timeout for the rest of the transaction: what is left of
 * the request's deadline (the gateway gives imports a long one). */
static int
s_im_timeout (tenants_t *app, const env_request_t *req)
{
    int64_t left = req->deadline_ms ? req->deadline_ms - env_now_ms () : 0;
    if (left < TN_IMPORT_TIMEOUT_MIN_MS)
        left = TN_IMPORT_TIMEOUT_MIN_MS;
    if (left > TN_IMPORT_TIMEOUT_MAX_MS)
        left = TN_IMPORT_TIMEOUT_MAX_MS;
    /* and memory for the sorts and hashes of 20,000-row statements */
    char sql[96];
    snprintf (sql, sizeof sql, "SET LOCAL statement_timeout = %lld; SET LOCAL work_mem = '%s'",
              (long long) left, TN_IMPORT_WORK_MEM);
    PGresult *res = db_query (app->db, sql);
    int rc = db_ok (res) ? 0 : -1;
    PQclear (res);
    return rc;
}

/* 0 when the property exists, else the reply is filled. */
static int
s_im_property (tenants_t *app, const env_request_t *req, env_reply_t *rep, const char *pid)
{
    PGresult *res = tn_property_get (app->db, pid);
    int rc = -1;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 404, "not_found", NULL, "no such property");
    else
        rc = 0;
    PQclear (res);
    return rc;
}

/* A number as a CSV writes it: digits with an optional fraction. Anything
 * else stays text, for jv to call it "must be a number". */
static cJSON *
s_im_number (const char *s)
{
    size_t i = 0, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (s[i] || !digits || s[0] == '.')
        return cJSON_CreateString (s);
    return cJSON_CreateNumber (strtod (s, NULL));
}

/* Adds name: value to obj when value is not empty. */
static void
s_im_put (cJSON *obj, const char *name, const char *value)
{
    if (*value)
        cJSON_AddStringToObject (obj, name, value);
}

/* ---- units ---------------------------------------------------------------- */

enum { UC_CODE, UC_BUILDING, UC_FLOOR, UC_AREA, UC_USE, UC_COUNT };
static const s_im_column_t s_unit_columns[UC_COUNT] = {
    { "code", true }, { "building", false }, { "floor", false }, { "area_m2", true }, { "use", true },
};

void
tn_units_import (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid;
    const char *text = s_im_text (req, rep, &pid);
    if (!text)
        return;
    s_im_report_t report = { 0 };
    s_im_set_t seen = { 0 };
    tn_pgarray_t codes = { 0 }, buildings = { 0 }, floors = { 0 }, areas = { 0 }, uses = { 0 };
    PGresult *res = NULL;
    csv_t *csv = csv_new (text, strlen (text), TN_IMPORT_FIELD_MAX, TN_IMPORT_COLUMNS_MAX);
    if (!csv) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    int idx[UC_COUNT];
    size_t nfields;
    if (s_im_header (csv, s_unit_columns, UC_COUNT, idx, &nfields, rep))
        goto out;

    long good = 0;
    int rc;
    char cell[TN_IMPORT_FIELD_MAX + 1], problems[TN_IMPORT_PROBLEM_MAX];
    while ((rc = csv_read (csv)) != CSV_END) {
        if (!s_im_row_ok (csv, rc, nfields, &report))
            continue;
        size_t line = csv_row (csv);
        cJSON *row = cJSON_CreateObject ();
        s_im_put (row, "code", s_im_cell (csv, idx[UC_CODE], cell));
        s_im_put (row, "building", s_im_cell (csv, idx[UC_BUILDING], cell));
        s_im_put (row, "floor", s_im_cell (csv, idx[UC_FLOOR], cell));
        if (*s_im_cell (csv, idx[UC_AREA], cell))
            cJSON_AddItemToObject (row, "area_m2", s_im_number (cell));
        s_im_put (row, "use", s_im_cell (csv, idx[UC_USE], cell));
        jv_t v = JV_INIT;
        tn_unit_input_t in;
        if (!tn_unit_input (&v, row, false, &in)) {
            s_im_problems (&v, problems, sizeof problems);
            s_im_error (&report, line, "%s", problems);
        }
        else {
            int added = s_im_set_add (&seen, in.v.code, (long) line);
            if (added < 0) {
                cJSON_Delete (row);
                env_reply_error (rep, 500, "internal", NULL, "out of memory");
                goto out;
            }
            if (added == 0)
                report.duplicates++;         /* repeats an earlier line of the file */
            else {
                tn_pgarray_add (&codes, in.v.code);
                tn_pgarray_add (&buildings, in.v.building);
                tn_pgarray_add (&floors, in.v.floor);
                tn_pgarray_add (&areas, in.v.area);
                tn_pgarray_add (&uses, in.v.use);
                good++;
            }
        }
        cJSON_Delete (row);
    }
    csv_destroy (&csv);

    if (s_im_property (app, req, rep, pid))
        goto out;
    long inserted = 0;
    if (good > 0) {
        const char *c = tn_pgarray_text (&codes), *b = tn_pgarray_text (&buildings),
                   *f = tn_pgarray_text (&floors), *a = tn_pgarray_text (&areas),
                   *u = tn_pgarray_text (&uses);
        if (!c || !b || !f || !a || !u) {
            env_reply_error (rep, 500, "internal", NULL, "out of memory");
            goto out;
        }
        if (db_begin (app->db) || s_im_timeout (app, req)) {
            db_fail (app->db, req->id, rep, "import units");
            goto out;
        }
        res = tn_import_units (app->db, pid, c, b, f, a, u);
        if (!db_ok (res)) {
            db_reply_error (res, rep, req->id);
            db_rollback (app->db);
            goto out;
        }
        inserted = atol (PQgetvalue (res, 0, 0));
        if (db_commit (app->db)) {
            db_fail (app->db, req->id, rep, "import units");
            goto out;
        }
        if (inserted > 0)
            outbox_wake (app->outbox);
    }
    report.imported = inserted;
    report.duplicates += good - inserted;    /* already in the property */
    log_info (req->id, "units import into property %s: %ld imported, %ld duplicates, %ld rejected",
              pid, report.imported, report.duplicates, report.rejected);
    env_reply_ok (rep, 200, s_im_report_json (&report, NULL));
out:
    csv_destroy (&csv);
    PQclear (res);
    tn_pgarray_free (&codes);
    tn_pgarray_free (&buildings);
    tn_pgarray_free (&floors);
    tn_pgarray_free (&areas);
    tn_pgarray_free (&uses);
    s_im_set_free (&seen);
    s_im_report_free (&report);
}

/* ---- parties -------------------------------------------------------------- */

enum { PC_KIND, PC_NAME, PC_PHONE, PC_EMAIL, PC_ID_TYPE, PC_ID_NUMBER, PC_UNIT_CODE, PC_ROLE,
       PC_START, PC_COUNT };
static const s_im_column_t s_party_columns[PC_COUNT] = {
    { "kind", true }, { "name", true }, { "phone", false }, { "email", false },
    { "id_type", false }, { "id_number", false }, { "unit_code", false }, { "role", false },
    { "start_date", false },
};

/* A valid row of a parties file. */
typedef struct {
    size_t line;
    char *kind, *name, *email, *id_type, *id_number;   /* NULL = none */
    char *phones, *tails;            /* JSON arrays */
    char *key;                       /* who the party is, for finding it again */
    char *unit_code;                 /* NULL: no move-in */
    const char *role;                /* static (tn_occupancy_roles) */
    char start[11];
    long party;                      /* index into the parties, -1 while unknown */
    const char *unit_id;             /* borrowed from the unit lookup */
    bool bad, occ_dup, occ_created;
} s_im_prow_t;

typedef struct {
    size_t line;                     /* of its first row */
    long row;                        /* that row's index */
    char id[37];
    bool created;
} s_im_party_t;

static void
s_im_prow_free (s_im_prow_t *r)
{
    free (r->kind);
    free (r->name);
    free (r->email);
    free (r->id_type);
    free (r->id_number);
    free (r->phones);
    free (r->tails);
    free (r->key);
    free (r->unit_code);
}

static const char *const s_im_separators[] = { ";", "；", ",", "，", "/", "、", NULL };

/* The phone cell: one number, or several separated by ; , / or 、 (Chinese
 * forms too). Adds "phone" or "phones" to obj. */
static void
s_im_phones (cJSON *obj, const char *cell)
{
    if (!*cell)
        return;
    cJSON *list = cJSON_CreateArray ();
    const char *p = cell;
    while (*p) {
        size_t best = strlen (p), sep = 0;
        for (int i = 0; s_im_separators[i]; i++) {
            const char *at = strstr (p, s_im_separators[i]);
            if (at && (size_t) (at - p) < best) {
                best = (size_t) (at - p);
                sep = strlen (s_im_separators[i]);
            }
        }
        char one[TN_IMPORT_FIELD_MAX + 1];
        size_t n = best;
        const char *s = p;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        memcpy (one, s, n);
        one[n] = 0;
        if (n)
            cJSON_AddItemToArray (list, cJSON_CreateString (one));
        p += best + sep;
        if (!sep)
            break;
    }
    int count = cJSON_GetArraySize (list);
    if (count == 1)
        cJSON_AddStringToObject (obj, "phone", cJSON_GetArrayItem (list, 0)->valuestring);
    if (count == 1 || count == 0)
        cJSON_Delete (list);
    else
        cJSON_AddItemToObject (obj, "phones", list);
}

/* Validates a parties row into r; false with the problems in out. */
static bool
s_im_party_row (const csv_t *csv, const int *idx, s_im_prow_t *r, char *out, size_t cap)
{
    char cell[TN_IMPORT_FIELD_MAX + 1];
    cJSON *row = cJSON_CreateObject ();
    s_im_put (row, "kind", s_im_cell (csv, idx[PC_KIND], cell));
    s_im_put (row, "name", s_im_cell (csv, idx[PC_NAME], cell));
    s_im_phones (row, s_im_cell (csv, idx[PC_PHONE], cell));
    s_im_put (row, "email", s_im_cell (csv, idx[PC_EMAIL], cell));
    s_im_put (row, "id_type", s_im_cell (csv, idx[PC_ID_TYPE], cell));
    s_im_put (row, "id_number", s_im_cell (csv, idx[PC_ID_NUMBER], cell));
    cJSON *occ = cJSON_CreateObject ();
    s_im_put (occ, "unit_code", s_im_cell (csv, idx[PC_UNIT_CODE], cell));
    s_im_put (occ, "role", s_im_cell (csv, idx[PC_ROLE], cell));
    s_im_put (occ, "start_date", s_im_cell (csv, idx[PC_START], cell));

    jv_t v = JV_INIT;
    tn_party_input_t in;
    tn_party_input (&v, row, NULL, &in);
    /* the move-in: with a unit_code, role and start_date are required */
    tn_import_move_in_t move_in;
    bool ok = tn_import_move_in_input (&v, occ, &move_in);
    const char *unit_code = move_in.unit_code, *role = move_in.role, *start = move_in.start_date;
    if (!ok)
        s_im_problems (&v, out, cap);
    else {
        cJSON *phones = cJSON_CreateArray (), *tails = cJSON_CreateArray ();
        for (int i = 0; i < in.nphones; i++) {
            char tail[5];
            tn_phone_tail (in.phones[i], tail);
            cJSON_AddItemToArray (phones, cJSON_CreateString (in.phones[i]));
            if (strlen (tail) == 4)
                cJSON_AddItemToArray (tails, cJSON_CreateString (tail));
        }
        r->phones = cJSON_PrintUnformatted (phones);
        r->tails = cJSON_PrintUnformatted (tails);
        cJSON_Delete (phones);
        cJSON_Delete (tails);
        r->kind = strdup (in.kind);
        r->name = strdup (in.name);
        r->email = in.email ? strdup (in.email) : NULL;
        if (in.id_number[0]) {
            r->id_type = strdup (in.id_type);
            r->id_number = strdup (in.id_number);
        }
        r->unit_code = unit_code ? strdup (unit_code) : NULL;
        r->role = NULL;
        for (int i = 0; role && tn_occupancy_roles[i]; i++)
            if (strcmp (role, tn_occupancy_roles[i]) == 0)
                r->role = tn_occupancy_roles[i];
        snprintf (r->start, sizeof r->start, "%s", start ? start : "");
        /* who the party is: its ID document, else kind, name, first phone and e-mail */
        size_t klen = strlen (r->name) + (r->id_number ? strlen (r->id_number) : 0)
                    + (r->email ? strlen (r->email) : 0) + TN_PHONE_MAX + 64;
        r->key = malloc (klen);
        if (r->key) {
            if (r->id_number)
                snprintf (r->key, klen, "I\x1f%s\x1f%s", r->id_type, r->id_number);
            else
                snprintf (r->key, klen, "N\x1f%s\x1f%s\x1f%s\x1f%s", r->kind, r->name,
                          in.nphones ? in.phones[0] : "", r->email ? r->email : "");
        }
        if (!r->phones || !r->tails || !r->kind || !r->name || !r->key
            || (in.email && !r->email) || (in.id_number[0] && (!r->id_type || !r->id_number))
            || (unit_code && !r->unit_code)) {
            snprintf (out, cap, "out of memory");
            ok = false;
        }
    }
    cJSON_Delete (row);
    cJSON_Delete (occ);
    return ok;
}

/* Looks the rows' unit codes up; a row naming no unit of the property
 * becomes an error. 0, or -1 on a database error (rep filled). */
static int
s_im_resolve_units (tenants_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                    s_im_prow_t *rows, size_t nrows, s_im_report_t *report, PGresult **units)
{
    tn_pgarray_t codes = { 0 };
    s_im_set_t asked = { 0 }, ids = { 0 };
    int rc = -1;
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].unit_code && s_im_set_add (&asked, rows[i].unit_code, 0) > 0)
            tn_pgarray_add (&codes, rows[i].unit_code);
    if (!codes.count) {
        rc = 0;
        goto out;
    }
    const char *c = tn_pgarray_text (&codes);
    if (!c) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    *units = tn_import_unit_ids (app->db, pid, c);
    if (!db_ok (*units)) {
        db_reply_error (*units, rep, req->id);
        goto out;
    }
    for (int i = 0; i < PQntuples (*units); i++)
        if (s_im_set_add (&ids, PQgetvalue (*units, i, 0), i) < 0) {
            env_reply_error (rep, 500, "internal", NULL, "out of memory");
            goto out;
        }
    for (size_t i = 0; i < nrows; i++) {
        if (!rows[i].unit_code)
            continue;
        long at = s_im_set_get (&ids, rows[i].unit_code);
        if (at < 0) {
            char shown[80];
            s_im_error (report, rows[i].line, "unit_code: no unit %s in this property",
                        s_im_short (rows[i].unit_code, shown, 64));
            rows[i].bad = true;
        }
        else
            rows[i].unit_id = PQgetvalue (*units, (int) at, 1);
    }
    rc = 0;
out:
    tn_pgarray_free (&codes);
    s_im_set_free (&asked);
    s_im_set_free (&ids);
    return rc;
}

/* The party at *pi whose first row is line, by binary search (parties are
 * in line order). */
static long
s_im_party_at (const s_im_party_t *parties, size_t n, size_t line)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (parties[mid].line < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && parties[lo].line == line ? (long) lo : -1;
}

/* Records the (n, id[, created]) rows of res on the parties. */
static void
s_im_parties_found (const PGresult *res, s_im_party_t *parties, size_t n)
{
    for (int i = 0; i < PQntuples (res); i++) {
        long at = s_im_party_at (parties, n, (size_t) strtoul (PQgetvalue (res, i, 0), NULL, 10));
        if (at < 0)
            continue;
        snprintf (parties[at].id, sizeof parties[at].id, "%s", PQgetvalue (res, i, 1));
        parties[at].created = PQnfields (res) > 2 && strcmp (PQgetvalue (res, i, 2), "t") == 0;
    }
}

void
tn_parties_import (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tenants_t *app = app_;
    const char *pid;
    const char *text = s_im_text (req, rep, &pid);
    if (!text)
        return;
    s_im_report_t report = { 0 };
    s_im_set_t who = { 0 }, moves = { 0 };
    s_im_prow_t *rows = NULL;
    s_im_party_t *parties = NULL;
    size_t nrows = 0, rows_cap = 0, nparties = 0;
    PGresult *units = NULL, *res = NULL;
    bool in_tx = false;
    tn_pgarray_t a[9] = { { 0 } };
    csv_t *csv = csv_new (text, strlen (text), TN_IMPORT_FIELD_MAX, TN_IMPORT_COLUMNS_MAX);
    if (!csv) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return;
    }
    int idx[PC_COUNT];
    size_t nfields;
    if (s_im_header (csv, s_party_columns, PC_COUNT, idx, &nfields, rep))
        goto out;

    /* 1. every row validated on its own */
    int rc;
    char problems[TN_IMPORT_PROBLEM_MAX];
    while ((rc = csv_read (csv)) != CSV_END) {
        if (!s_im_row_ok (csv, rc, nfields, &report))
            continue;
        if (nrows == rows_cap) {
            size_t cap = rows_cap ? rows_cap * 2 : 256;
            s_im_prow_t *r = realloc (rows, cap * sizeof *r);
            if (!r) {
                env_reply_error (rep, 500, "internal", NULL, "out of memory");
                goto out;
            }
            rows = r;
            rows_cap = cap;
        }
        s_im_prow_t *r = &rows[nrows];
        memset (r, 0, sizeof *r);
        r->line = csv_row (csv);
        r->party = -1;
        if (s_im_party_row (csv, idx, r, problems, sizeof problems))
            nrows++;
        else {
            s_im_error (&report, r->line, "%s", problems);
            s_im_prow_free (r);
        }
    }
    csv_destroy (&csv);
    if (s_im_property (app, req, rep, pid))
        goto out;
    if (nrows == 0) {
        env_reply_ok (rep, 200, s_im_report_json (&report, NULL));
        goto out;
    }

    if (db_begin (app->db) || s_im_timeout (app, req)) {
        db_fail (app->db, req->id, rep, "import parties");
        goto out;
    }
    in_tx = true;
    /* one parties import per property at a time: a party without an ID
     * document is found by its name, and no index stops two at once */
    res = tn_import_lock (app->db, "parties", pid);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    PQclear (res);
    res = NULL;

    /* 2. the units the rows move into must be the property's */
    if (s_im_resolve_units (app, req, rep, pid, rows, nrows, &report, &units))
        goto out;

    /* 3. the distinct parties of the good rows, and the distinct move-ins */
    parties = calloc (nrows, sizeof *parties);
    if (!parties) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nrows; i++) {
        s_im_prow_t *r = &rows[i];
        if (r->bad)
            continue;
        long known = s_im_set_get (&who, r->key);
        if (known < 0) {
            if (s_im_set_add (&who, r->key, (long) nparties) < 0)
                goto oom;
            parties[nparties].line = r->line;
            parties[nparties].row = (long) i;
            known = (long) nparties++;
            char n[24];
            snprintf (n, sizeof n, "%zu", r->line);
            tn_pgarray_add (&a[0], n);
            tn_pgarray_add (&a[1], r->kind);
            tn_pgarray_add (&a[2], r->name);
            tn_pgarray_add (&a[3], r->phones);
            tn_pgarray_add (&a[4], r->tails);
            tn_pgarray_add (&a[5], r->email);
            tn_pgarray_add (&a[6], r->id_type);
            tn_pgarray_add (&a[7], r->id_number);
        }
        r->party = known;
        if (r->unit_code) {
            char key[64];
            snprintf (key, sizeof key, "%ld\x1f%s\x1f%s", known, r->unit_id, r->role);
            int added = s_im_set_add (&moves, key, (long) i);
            if (added < 0)
                goto oom;
            r->occ_dup = added == 0;
        }
    }
    const char *t[8];
    for (int k = 0; k < 8; k++)
        if (!(t[k] = tn_pgarray_text (&a[k])))
            goto oom;
    if (nparties > 0) {
        res = tn_import_parties (app->db, pid, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
        if (!db_ok (res)) {
            db_reply_error (res, rep, req->id);
            goto out;
        }
        s_im_parties_found (res, parties, nparties);
        PQclear (res);
        res = NULL;
        /* a party with the same document created by someone else meanwhile
         * (ON CONFLICT skipped it): find it now that it has committed */
        for (int k = 0; k < 3; k++)
            tn_pgarray_free (&a[k]);
        for (size_t p = 0; p < nparties; p++) {
            const s_im_prow_t *r = &rows[parties[p].row];
            if (parties[p].id[0] || !r->id_number)
                continue;
            char n[24];
            snprintf (n, sizeof n, "%zu", r->line);
            tn_pgarray_add (&a[0], n);
            tn_pgarray_add (&a[1], r->id_type);
            tn_pgarray_add (&a[2], r->id_number);
        }
        if (a[0].count) {
            const char *n = tn_pgarray_text (&a[0]), *ty = tn_pgarray_text (&a[1]),
                       *nu = tn_pgarray_text (&a[2]);
            if (!n || !ty || !nu)
                goto oom;
            res = tn_import_parties_by_id (app->db, pid, n, ty, nu);
            if (!db_ok (res)) {
                db_reply_error (res, rep, req->id);
                goto out;
            }
            s_im_parties_found (res, parties, nparties);
            PQclear (res);
            res = NULL;
        }
    }

    /* 4. the move-ins, each once, skipped when already current */
    tn_pgarray_t o[5] = { { 0 } };
    for (size_t i = 0; i < nrows; i++) {
        s_im_prow_t *r = &rows[i];
        if (r->bad || r->party < 0)
            continue;
        if (!parties[r->party].id[0]) {
            s_im_error (&report, r->line, "the party could not be resolved: import the file again");
            r->bad = true;
            continue;
        }
        if (!r->unit_code || r->occ_dup)
            continue;
        char n[24];
        snprintf (n, sizeof n, "%zu", r->line);
        tn_pgarray_add (&o[0], n);
        tn_pgarray_add (&o[1], parties[r->party].id);
        tn_pgarray_add (&o[2], r->unit_id);
        tn_pgarray_add (&o[3], r->role);
        tn_pgarray_add (&o[4], r->start);
    }
    long occ_created = 0;
    if (o[0].count) {
        const char *ot[5];
        bool oom = false;
        for (int k = 0; k < 5; k++)
            oom |= !(ot[k] = tn_pgarray_text (&o[k]));
        if (!oom)
            res = tn_import_occupancies (app->db, pid, ot[0], ot[1], ot[2], ot[3], ot[4]);
        for (int k = 0; k < 5; k++)
            tn_pgarray_free (&o[k]);
        if (oom)
            goto oom;
        if (!db_ok (res)) {
            db_reply_error (res, rep, req->id);
            goto out;
        }
        /* rows are in line order: find each returned line */
        for (int i = 0; i < PQntuples (res); i++) {
            size_t line = (size_t) strtoul (PQgetvalue (res, i, 0), NULL, 10);
            size_t lo = 0, hi = nrows;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (rows[mid].line < line)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < nrows && rows[lo].line == line) {
                rows[lo].occ_created = true;
                occ_created++;
            }
        }
        PQclear (res);
        res = NULL;
    }
    if (db_commit (app->db)) {
        in_tx = false;
        db_fail (app->db, req->id, rep, "import parties");
        goto out;
    }
    in_tx = false;

    /* 5. each good row: imported when it created its party or its move-in */
    long parties_created = 0;
    for (size_t p = 0; p < nparties; p++)
        parties_created += parties[p].created;
    for (size_t i = 0; i < nrows; i++) {
        const s_im_prow_t *r = &rows[i];
        if (r->bad)
            continue;
        bool made_party = r->party >= 0 && parties[r->party].created && parties[r->party].line == r->line;
        if (made_party || r->occ_created)
            report.imported++;
        else
            report.duplicates++;
    }
    if (parties_created || occ_created)
        outbox_wake (app->outbox);
    log_info (req->id, "parties import into property %s: %ld rows imported (%ld parties, %ld move-ins), "
              "%ld duplicates, %ld rejected", pid, report.imported, parties_created, occ_created,
              report.duplicates, report.rejected);
    cJSON *extra = cJSON_CreateObject ();
    cJSON_AddNumberToObject (extra, "parties_created", (double) parties_created);
    cJSON_AddNumberToObject (extra, "occupancies_created", (double) occ_created);
    env_reply_ok (rep, 200, s_im_report_json (&report, extra));
    goto out;
oom:
    env_reply_error (rep, 500, "internal", NULL, "out of memory");
out:
    if (in_tx)
        db_rollback (app->db);
    csv_destroy (&csv);
    PQclear (res);
    PQclear (units);
    for (int k = 0; k < 9; k++)
        tn_pgarray_free (&a[k]);
    for (size_t i = 0; i < nrows; i++)
        s_im_prow_free (&rows[i]);
    free (rows);
    free (parties);
    s_im_set_free (&who);
    s_im_set_free (&moves);
    s_im_report_free (&report);
}
