/* import_handlers: tenants.units.import and tenants.parties.import, bulk
 * onboarding from a CSV file (the gateway hands it over as UTF-8 text in
 * "data").
 *
 * One driver (s_im_run) for both: read the header and map its columns ->
 * validate every row in C with the rules of the JSON API (unit_rules,
 * party_rules, import_rules) into the kind's batch -> one transaction: the
 * batch goes in with a few set-based statements (import_store), its events
 * with them -> a report {"imported","duplicates","rejected","errors":
 * [{"line","problem"}],"errors_truncated"}. What differs between units and
 * parties is a table of row, store and report functions (s_im_kind_t).
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
#include "import_rules.h"
#include "import_store.h"
#include "party_rules.h"
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

/* items (n of *cap elements of size bytes) with room for one more: items
 * itself, or a larger copy; NULL when out of memory (items untouched). */
static void *
s_im_grow (void *items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return items;
    size_t more = *cap ? *cap * 2 : 64;
    void *p = realloc (items, more * size);
    if (p)
        *cap = more;
    return p;
}

/* Finds the element whose line is line in a line-ordered array of structs
 * that begin with their size_t line; NULL when none. */
static int
s_im_cmp_line (const void *key, const void *elem)
{
    size_t a = *(const size_t *) key, b = *(const size_t *) elem;
    return a < b ? -1 : a > b;
}

static void *
s_im_at_line (const void *items, size_t n, size_t size, size_t line)
{
    return n ? bsearch (&line, items, n, size, s_im_cmp_line) : NULL;
}

/* ---- the report --------------------------------------------------------- */

typedef struct {
    size_t line;                     /* first: s_im_at_line */
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
    s_im_error_t *errors = r->nerrors < TN_IMPORT_ERRORS_MAX
                         ? s_im_grow (r->errors, &r->cap, r->nerrors, sizeof *errors) : NULL;
    if (!errors)
        return;
    r->errors = errors;
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

/* A row the API's rules refused: "field: problem; field: problem" of v's
 * details (v is reset). */
static void
s_im_reject (s_im_report_t *r, size_t line, jv_t *v)
{
    char out[TN_IMPORT_PROBLEM_MAX];
    size_t n = 0;
    out[0] = 0;
    const cJSON *d;
    cJSON_ArrayForEach (d, v->details) {
        const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (d, "field"));
        const char *p = cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem"));
        int w = snprintf (out + n, sizeof out - n, "%s%s: %s", n ? "; " : "", f ? f : "?", p ? p : "?");
        if (w < 0 || (size_t) w >= sizeof out - n)
            break;
        n += (size_t) w;
    }
    jv_reset (v);
    s_im_error (r, line, "%s", out);
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
        qsort (r->errors, r->nerrors, sizeof *r->errors, s_im_cmp_line);
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

/* Doubles the table (open addressing stays below half full); 0 or -1. */
static int
s_im_set_rehash (s_im_set_t *set)
{
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
    return 0;
}

/* Adds key with value when absent: 1 added, 0 present, -1 out of memory. */
static int
s_im_set_add (s_im_set_t *set, const char *key, long value)
{
    if ((set->count + 1) * 2 > set->cap && s_im_set_rehash (set))
        return -1;
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

/* ---- array parameters ----------------------------------------------------- */

/* The literals of n arrays into texts; false when out of memory. */
static bool
s_im_texts (tn_pgarray_t *arrays, int n, const char **texts)
{
    bool ok = true;
    for (int k = 0; k < n; k++)
        ok &= (texts[k] = tn_pgarray_text (&arrays[k])) != NULL;
    return ok;
}

static void
s_im_arrays_free (tn_pgarray_t *arrays, int n)
{
    for (int k = 0; k < n; k++)
        tn_pgarray_free (&arrays[k]);
}

/* ---- one import: the driver ------------------------------------------------ */

typedef struct {
    const char *name;
    bool required;
} s_im_column_t;

/* What one import holds while it runs. */
typedef struct {
    tenants_t *app;
    const env_request_t *req;
    env_reply_t *rep;
    const char *pid;
    csv_t *csv;
    int idx[TN_IMPORT_COLUMNS_MAX];  /* the place of the kind's column k, -1 when absent */
    size_t nfields;                  /* of the header: every row must have as many */
    s_im_report_t report;
} s_im_run_t;

/* What differs between the imports. A batch is the kind's collection of
 * valid rows: batch_size zeroed bytes, freed by batch_free (then by free). */
typedef struct {
    const char *what;                /* "units": the log's and failures' word */
    const s_im_column_t *columns;
    int ncolumns;
    size_t batch_size;
    void (*batch_free) (void *batch);
    /* One data row at line (its cells by s_im_col): into the batch, or an
     * error in the report. -1 when out of memory. */
    int (*row) (s_im_run_t *run, void *batch, size_t line);
    bool (*empty) (const void *batch);
    /* Stores the batch in the open transaction; 0, or -1 with rep filled. */
    int (*store) (s_im_run_t *run, void *batch);
    /* After the commit (or for an empty batch): the report's counts (the
     * rows that created something are "imported"), the log line, and the
     * body's own fields (NULL for none). */
    cJSON *(*done) (s_im_run_t *run, void *batch);
} s_im_kind_t;

/* A cell without the blanks around it, into out[TN_IMPORT_FIELD_MAX + 1];
 * "" for col -1. */
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

/* The cell of the kind's column k in the current row ("" when the header
 * does not name it). */
static const char *
s_im_col (const s_im_run_t *run, int k, char *out)
{
    return s_im_cell (run->csv, run->idx[k], out);
}

/* Adds name: the column k's cell to obj when it is not empty. */
static void
s_im_put (const s_im_run_t *run, cJSON *obj, const char *name, int k)
{
    char cell[TN_IMPORT_FIELD_MAX + 1];
    if (*s_im_col (run, k, cell))
        cJSON_AddStringToObject (obj, name, cell);
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

/* Reads the header line (the first that is not blank); 0, or -1 after
 * answering 422 for an empty or unreadable file. */
static int
s_im_header_line (s_im_run_t *run)
{
    int rc;
    while ((rc = csv_read (run->csv)) == CSV_RECORD && csv_blank (run->csv))
        ;
    if (rc == CSV_END) {
        env_reply_error (run->rep, 422, "validation_failed",
                         jv_detail ("body", "the file is empty: its first line must name the columns"),
                         "the file is empty");
        return -1;
    }
    if (rc == CSV_BAD) {
        char problem[CSV_ERROR_MAX + 32];
        snprintf (problem, sizeof problem, "line %zu: %s", csv_row (run->csv), csv_error (run->csv));
        env_reply_error (run->rep, 422, "validation_failed", jv_detail ("header", problem),
                         "the header line cannot be read");
        return -1;
    }
    return 0;
}

/* Maps each of the kind's columns to its place in the header (run->idx);
 * 0, or -1 after answering 422 for the whole file. */
static int
s_im_header (s_im_run_t *run, const s_im_kind_t *kind)
{
    if (s_im_header_line (run))
        return -1;
    jv_t v = JV_INIT;
    char cell[TN_IMPORT_FIELD_MAX + 1], shown[80], allowed[256] = "";
    for (int k = 0; k < kind->ncolumns; k++) {
        run->idx[k] = -1;
        snprintf (allowed + strlen (allowed), sizeof allowed - strlen (allowed), "%s%s", k ? ", " : "",
                  kind->columns[k].name);
    }
    run->nfields = csv_count (run->csv);
    for (size_t f = 0; f < run->nfields; f++) {
        const char *name = s_im_cell (run->csv, (int) f, cell);
        int found = -1;
        for (int k = 0; k < kind->ncolumns; k++)
            if (strcasecmp (name, kind->columns[k].name) == 0)
                found = k;
        if (found < 0)
            jv_problem (&v, *name ? s_im_short (name, shown, 64) : "(empty)",
                        "is not a column of this import (columns: %s)", allowed);
        else if (run->idx[found] >= 0)
            jv_problem (&v, kind->columns[found].name, "appears twice in the header");
        else
            run->idx[found] = (int) f;
    }
    for (int k = 0; k < kind->ncolumns; k++)
        if (kind->columns[k].required && run->idx[k] < 0)
            jv_problem (&v, kind->columns[k].name, "is a required column and the header does not name it");
    if (!jv_ok (&v)) {
        env_reply_error (run->rep, 422, "validation_failed", jv_take (&v),
                         "the header line is not right: nothing was imported");
        return -1;
    }
    return 0;
}

/* The row's shape: a bad record or a ragged one is an error; blank rows are
 * skipped. True when the row's cells are there to read. */
static bool
s_im_row_ok (s_im_run_t *run, int rc)
{
    csv_t *csv = run->csv;
    if (rc == CSV_BAD) {
        s_im_error (&run->report, csv_row (csv), "%s", csv_error (csv));
        return false;
    }
    if (csv_blank (csv))
        return false;
    if (csv_count (csv) != run->nfields) {
        s_im_error (&run->report, csv_row (csv), "has %zu fields, the header has %zu", csv_count (csv),
                    run->nfields);
        return false;
    }
    return true;
}

/* The file: its header, then every row into the batch. 0, or -1 after
 * answering. */
static int
s_im_read (s_im_run_t *run, const s_im_kind_t *kind, const char *text, void *batch)
{
    run->csv = csv_new (text, strlen (text), TN_IMPORT_FIELD_MAX, TN_IMPORT_COLUMNS_MAX);
    if (!run->csv) {
        env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    if (s_im_header (run, kind))
        return -1;
    int rc;
    while ((rc = csv_read (run->csv)) != CSV_END)
        if (s_im_row_ok (run, rc) && kind->row (run, batch, csv_row (run->csv))) {
            env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
            return -1;
        }
    csv_destroy (&run->csv);
    return 0;
}

/* Opens the import's transaction with its statement timeout: what is left
 * of the request's deadline (the gateway gives imports a long one), and
 * memory for the sorts and hashes of 20,000-row statements. 0 or -1. */
static int
s_im_begin (tenants_t *app, const env_request_t *req)
{
    int64_t left = req->deadline_ms ? req->deadline_ms - env_now_ms () : 0;
    if (left < TN_IMPORT_TIMEOUT_MIN_MS)
        left = TN_IMPORT_TIMEOUT_MIN_MS;
    if (left > TN_IMPORT_TIMEOUT_MAX_MS)
        left = TN_IMPORT_TIMEOUT_MAX_MS;
    char sql[96];
    snprintf (sql, sizeof sql, "SET LOCAL statement_timeout = %lld; SET LOCAL work_mem = '%s'",
              (long long) left, TN_IMPORT_WORK_MEM);
    if (db_begin (app->db))
        return -1;
    PGresult *res = db_query (app->db, sql);
    int rc = db_ok (res) ? 0 : -1;
    PQclear (res);
    return rc;
}

/* True when res is good; else false after answering with its error. */
static bool
s_im_db_ok (s_im_run_t *run, const PGresult *res)
{
    if (!db_ok (res))
        db_reply_error (res, run->rep, run->req->id);
    return db_ok (res);
}

/* read the file -> the property -> store the batch in one transaction ->
 * reply with the report. */
static void
s_im_run (tenants_t *app, const env_request_t *req, env_reply_t *rep, const s_im_kind_t *kind)
{
    s_im_run_t run = { .app = app, .req = req, .rep = rep };
    void *batch = calloc (1, kind->batch_size);
    const char *text = s_im_text (req, rep, &run.pid);
    if (!text)
        goto out;
    if (!batch) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (s_im_read (&run, kind, text, batch) || !tn_property_exists (app, req, run.pid, rep))
        goto out;
    if (!kind->empty (batch)) {
        char what[32];
        snprintf (what, sizeof what, "import %s", kind->what);
        if (s_im_begin (app, req)) {
            db_fail (app->db, req->id, rep, what);
            goto out;
        }
        if (kind->store (&run, batch))
            goto out;
        if (db_commit (app->db)) {
            db_fail (app->db, req->id, rep, what);
            goto out;
        }
    }
    cJSON *extra = kind->done (&run, batch);
    if (run.report.imported > 0)
        outbox_wake (app->outbox);   /* the events went in with the rows */
    env_reply_ok (rep, 200, s_im_report_json (&run.report, extra));
out:
    db_rollback (app->db);           /* whatever is still open; a no-op after the commit */
    csv_destroy (&run.csv);
    s_im_report_free (&run.report);
    if (batch)
        kind->batch_free (batch);
    free (batch);
}

/* ---- units ---------------------------------------------------------------- */

enum { UC_CODE, UC_BUILDING, UC_FLOOR, UC_AREA, UC_USE, UC_COUNT };
static const s_im_column_t s_unit_columns[UC_COUNT] = {
    { "code", true }, { "building", false }, { "floor", false }, { "area_m2", true }, { "use", true },
};

/* The new units of a file: one array per column (tn_import_units). */
typedef struct {
    s_im_set_t seen;                 /* codes of earlier lines */
    tn_pgarray_t cols[UC_COUNT];
    long good, inserted;
} s_unit_batch_t;

static int
s_unit_row (s_im_run_t *run, void *batch_, size_t line)
{
    s_unit_batch_t *b = batch_;
    char cell[TN_IMPORT_FIELD_MAX + 1];
    cJSON *row = cJSON_CreateObject ();
    s_im_put (run, row, "code", UC_CODE);
    s_im_put (run, row, "building", UC_BUILDING);
    s_im_put (run, row, "floor", UC_FLOOR);
    if (*s_im_col (run, UC_AREA, cell))
        cJSON_AddItemToObject (row, "area_m2", tn_import_number (cell));
    s_im_put (run, row, "use", UC_USE);
    jv_t v = JV_INIT;
    tn_unit_input_t in;
    int added = 1;
    if (!tn_unit_input (&v, row, false, &in))
        s_im_reject (&run->report, line, &v);
    else if ((added = s_im_set_add (&b->seen, in.v.code, (long) line)) == 0)
        run->report.duplicates++;    /* repeats an earlier line of the file */
    else if (added > 0) {
        const char *values[UC_COUNT] = { in.v.code, in.v.building, in.v.floor, in.v.area, in.v.use };
        for (int k = 0; k < UC_COUNT; k++)
            tn_pgarray_add (&b->cols[k], values[k]);
        b->good++;
    }
    cJSON_Delete (row);
    return added < 0 ? -1 : 0;
}

static bool
s_unit_empty (const void *batch)
{
    return ((const s_unit_batch_t *) batch)->good == 0;
}

static int
s_unit_store (s_im_run_t *run, void *batch_)
{
    s_unit_batch_t *b = batch_;
    const char *t[UC_COUNT];
    if (!s_im_texts (b->cols, UC_COUNT, t)) {
        env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    PGresult *res = tn_import_units (run->app->db, run->pid, t[UC_CODE], t[UC_BUILDING], t[UC_FLOOR],
                                     t[UC_AREA], t[UC_USE]);
    bool ok = s_im_db_ok (run, res);
    if (ok)
        b->inserted = atol (PQgetvalue (res, 0, 0));
    PQclear (res);
    return ok ? 0 : -1;
}

static cJSON *
s_unit_done (s_im_run_t *run, void *batch_)
{
    s_unit_batch_t *b = batch_;
    run->report.imported = b->inserted;
    run->report.duplicates += b->good - b->inserted;    /* already in the property */
    log_info (run->req->id, "units import into property %s: %ld imported, %ld duplicates, %ld rejected",
              run->pid, run->report.imported, run->report.duplicates, run->report.rejected);
    return NULL;
}

static void
s_unit_batch_free (void *batch_)
{
    s_unit_batch_t *b = batch_;
    s_im_set_free (&b->seen);
    s_im_arrays_free (b->cols, UC_COUNT);
}

static const s_im_kind_t s_units_kind = {
    .what = "units", .columns = s_unit_columns, .ncolumns = UC_COUNT,
    .batch_size = sizeof (s_unit_batch_t), .batch_free = s_unit_batch_free,
    .row = s_unit_row, .empty = s_unit_empty, .store = s_unit_store, .done = s_unit_done,
};

void
tn_units_import (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_im_run (app, req, rep, &s_units_kind);
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
    size_t line;                     /* first: s_im_at_line */
    char *kind, *name, *email, *id_type, *id_number;   /* NULL = none */
    char *phones, *tails;            /* JSON arrays */
    char *key;                       /* who the party is (tn_import_party_key) */
    char *unit_code;                 /* NULL: no move-in */
    const char *role;                /* static (tn_occupancy_roles) */
    char start[11];
    long party;                      /* index into the parties, -1 while unknown */
    const char *unit_id;             /* borrowed from the unit lookup */
    bool bad, occ_dup, occ_created;
} s_im_prow_t;

/* A distinct party of the file. */
typedef struct {
    size_t line;                     /* of its first row; first: s_im_at_line */
    long row;                        /* that row's index */
    char id[37];
    bool created;
} s_im_party_t;

/* The parties of a file, and their move-ins. */
typedef struct {
    s_im_prow_t *rows;               /* in line order */
    size_t nrows, cap;
    s_im_party_t *parties;           /* in line order */
    size_t nparties;
    PGresult *units;                 /* the rows' unit ids borrow from it */
    long parties_created, occ_created;
} s_party_batch_t;

/* The four columns of each party's phones: the numbers and their tails,
 * as JSON array texts; false when out of memory. */
static bool
s_party_phones (s_im_prow_t *r, const tn_party_input_t *in)
{
    cJSON *phones = cJSON_CreateArray (), *tails = cJSON_CreateArray ();
    for (int i = 0; i < in->nphones; i++) {
        char tail[5];
        pii_phone_tail (in->phones[i], tail);
        cJSON_AddItemToArray (phones, cJSON_CreateString (in->phones[i]));
        if (strlen (tail) == 4)
            cJSON_AddItemToArray (tails, cJSON_CreateString (tail));
    }
    r->phones = cJSON_PrintUnformatted (phones);
    r->tails = cJSON_PrintUnformatted (tails);
    cJSON_Delete (phones);
    cJSON_Delete (tails);
    return r->phones && r->tails;
}

/* Keeps a valid row's values in r (copies: the row's JSON is freed); false
 * when out of memory. */
static bool
s_party_keep (s_im_prow_t *r, const tn_party_input_t *in, const tn_import_move_in_t *move_in)
{
    r->kind = strdup (in->kind);
    r->name = strdup (in->name);
    r->email = in->email ? strdup (in->email) : NULL;
    if (in->id_number[0]) {
        r->id_type = strdup (in->id_type);
        r->id_number = strdup (in->id_number);
    }
    r->unit_code = move_in->unit_code ? strdup (move_in->unit_code) : NULL;
    r->role = move_in->role;         /* static: tn_occupancy_roles */
    snprintf (r->start, sizeof r->start, "%s", move_in->start_date ? move_in->start_date : "");
    r->key = tn_import_party_key (in);
    return s_party_phones (r, in) && r->kind && r->name && r->key && (!in->email || r->email)
           && (!in->id_number[0] || (r->id_type && r->id_number))
           && (!move_in->unit_code || r->unit_code);
}

static void
s_party_row_free (s_im_prow_t *r)
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

/* A row's party with its move-in (with a unit_code, role and start_date
 * are required), checked together as POST .../parties would. */
static int
s_party_row (s_im_run_t *run, void *batch_, size_t line)
{
    s_party_batch_t *b = batch_;
    s_im_prow_t *rows = s_im_grow (b->rows, &b->cap, b->nrows, sizeof *rows);
    if (!rows)
        return -1;
    b->rows = rows;
    char cell[TN_IMPORT_FIELD_MAX + 1];
    cJSON *row = cJSON_CreateObject (), *occ = cJSON_CreateObject ();
    s_im_put (run, row, "kind", PC_KIND);
    s_im_put (run, row, "name", PC_NAME);
    tn_import_phones (row, s_im_col (run, PC_PHONE, cell));
    s_im_put (run, row, "email", PC_EMAIL);
    s_im_put (run, row, "id_type", PC_ID_TYPE);
    s_im_put (run, row, "id_number", PC_ID_NUMBER);
    s_im_put (run, occ, "unit_code", PC_UNIT_CODE);
    s_im_put (run, occ, "role", PC_ROLE);
    s_im_put (run, occ, "start_date", PC_START);
    jv_t v = JV_INIT;
    tn_party_input_t in;
    tn_import_move_in_t move_in;
    tn_party_input (&v, row, NULL, &in);
    int rc = 0;
    s_im_prow_t *r = &b->rows[b->nrows];
    *r = (s_im_prow_t) { .line = line, .party = -1 };
    if (!tn_import_move_in_input (&v, occ, &move_in))
        s_im_reject (&run->report, line, &v);
    else if (s_party_keep (r, &in, &move_in))
        b->nrows++;
    else {
        s_party_row_free (r);
        rc = -1;
    }
    cJSON_Delete (row);
    cJSON_Delete (occ);
    return rc;
}

static bool
s_party_empty (const void *batch)
{
    return ((const s_party_batch_t *) batch)->nrows == 0;
}

/* Looks the rows' unit codes up (into b->units); a row naming no unit of
 * the property becomes an error. 0, or -1 with rep filled. */
static int
s_party_units (s_im_run_t *run, s_party_batch_t *b)
{
    tn_pgarray_t codes = { 0 };
    s_im_set_t asked = { 0 }, ids = { 0 };
    int rc = -1;
    for (size_t i = 0; i < b->nrows; i++)
        if (b->rows[i].unit_code && s_im_set_add (&asked, b->rows[i].unit_code, 0) > 0)
            tn_pgarray_add (&codes, b->rows[i].unit_code);
    const char *c = tn_pgarray_text (&codes);
    if (!codes.count)
        rc = 0;
    else if (!c)
        env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
    else if (s_im_db_ok (run, b->units = tn_import_unit_ids (run->app->db, run->pid, c))) {
        rc = 0;
        for (int i = 0; rc == 0 && i < PQntuples (b->units); i++)
            rc = s_im_set_add (&ids, PQgetvalue (b->units, i, 0), i) < 0 ? -1 : 0;
        if (rc)
            env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < b->nrows; i++) {
        s_im_prow_t *r = &b->rows[i];
        long at = r->unit_code ? s_im_set_get (&ids, r->unit_code) : -1;
        char shown[80];
        if (at >= 0)
            r->unit_id = PQgetvalue (b->units, (int) at, 1);
        else if (r->unit_code) {
            s_im_error (&run->report, r->line, "unit_code: no unit %s in this property",
                        s_im_short (r->unit_code, shown, 64));
            r->bad = true;
        }
    }
    tn_pgarray_free (&codes);
    s_im_set_free (&asked);
    s_im_set_free (&ids);
    return rc;
}

/* The distinct parties of the good rows (b->parties, each row's party), and
 * each distinct move-in once (a repeat is occ_dup). 0, or -1 when out of
 * memory. */
static int
s_party_group (s_party_batch_t *b)
{
    s_im_set_t who = { 0 }, moves = { 0 };
    int rc = -1;
    if (!(b->parties = calloc (b->nrows, sizeof *b->parties)))
        goto out;
    for (size_t i = 0; i < b->nrows; i++) {
        s_im_prow_t *r = &b->rows[i];
        if (r->bad)
            continue;
        long known = s_im_set_get (&who, r->key);
        if (known < 0) {
            if (s_im_set_add (&who, r->key, (long) b->nparties) < 0)
                goto out;
            b->parties[b->nparties] = (s_im_party_t) { .line = r->line, .row = (long) i };
            known = (long) b->nparties++;
        }
        r->party = known;
        if (r->unit_code) {
            char key[64];
            snprintf (key, sizeof key, "%ld\x1f%s\x1f%s", known, r->unit_id, r->role);
            int added = s_im_set_add (&moves, key, (long) i);
            if (added < 0)
                goto out;
            r->occ_dup = added == 0;
        }
    }
    rc = 0;
out:
    s_im_set_free (&who);
    s_im_set_free (&moves);
    return rc;
}

/* Records the (n, id[, created]) rows of res on the parties. */
static void
s_party_found (s_party_batch_t *b, const PGresult *res)
{
    for (int i = 0; i < PQntuples (res); i++) {
        size_t line = (size_t) strtoul (PQgetvalue (res, i, 0), NULL, 10);
        s_im_party_t *p = s_im_at_line (b->parties, b->nparties, sizeof *b->parties, line);
        if (!p)
            continue;
        snprintf (p->id, sizeof p->id, "%s", PQgetvalue (res, i, 1));
        p->created = PQnfields (res) > 2 && strcmp (PQgetvalue (res, i, 2), "t") == 0;
    }
}

/* Runs statement (tn_import_parties or _by_id) on the n arrays and records
 * the parties it found; 0, or -1 with rep filled. */
static int
s_party_exec (s_im_run_t *run, s_party_batch_t *b, tn_pgarray_t *a, int n, bool by_id)
{
    const char *t[8];
    if (!s_im_texts (a, n, t)) {
        env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    db_t *db = run->app->db;
    PGresult *res = by_id ? tn_import_parties_by_id (db, run->pid, t[0], t[1], t[2])
                          : tn_import_parties (db, run->pid, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
    bool ok = s_im_db_ok (run, res);
    if (ok)
        s_party_found (b, res);
    PQclear (res);
    return ok ? 0 : -1;
}

/* Finds or inserts each distinct party. A party with the same document
 * that someone else created meanwhile (ON CONFLICT skipped it) is found
 * again by its document once it has committed. 0, or -1 with rep filled. */
static int
s_party_insert (s_im_run_t *run, s_party_batch_t *b)
{
    tn_pgarray_t a[8] = { { 0 } }, again[3] = { { 0 } };
    char n[24];
    for (size_t p = 0; p < b->nparties; p++) {
        const s_im_prow_t *r = &b->rows[b->parties[p].row];
        snprintf (n, sizeof n, "%zu", r->line);
        const char *values[8] = { n, r->kind, r->name, r->phones, r->tails, r->email, r->id_type,
                                  r->id_number };
        for (int k = 0; k < 8; k++)
            tn_pgarray_add (&a[k], values[k]);
    }
    int rc = b->nparties ? s_party_exec (run, b, a, 8, false) : 0;
    for (size_t p = 0; rc == 0 && p < b->nparties; p++) {
        const s_im_prow_t *r = &b->rows[b->parties[p].row];
        if (b->parties[p].id[0] || !r->id_number)
            continue;
        snprintf (n, sizeof n, "%zu", r->line);
        tn_pgarray_add (&again[0], n);
        tn_pgarray_add (&again[1], r->id_type);
        tn_pgarray_add (&again[2], r->id_number);
    }
    if (rc == 0 && again[0].count)
        rc = s_party_exec (run, b, again, 3, true);
    s_im_arrays_free (a, 8);
    s_im_arrays_free (again, 3);
    return rc;
}

/* The move-ins, each once, skipped by the database when already current;
 * a row whose party could not be resolved becomes an error. 0, or -1 with
 * rep filled. */
static int
s_party_move_ins (s_im_run_t *run, s_party_batch_t *b)
{
    tn_pgarray_t o[5] = { { 0 } };
    const char *t[5];
    for (size_t i = 0; i < b->nrows; i++) {
        s_im_prow_t *r = &b->rows[i];
        if (r->bad || r->party < 0)
            continue;
        const char *party_id = b->parties[r->party].id;
        if (!party_id[0]) {
            s_im_error (&run->report, r->line, "the party could not be resolved: import the file again");
            r->bad = true;
            continue;
        }
        if (!r->unit_code || r->occ_dup)
            continue;
        char n[24];
        snprintf (n, sizeof n, "%zu", r->line);
        const char *values[5] = { n, party_id, r->unit_id, r->role, r->start };
        for (int k = 0; k < 5; k++)
            tn_pgarray_add (&o[k], values[k]);
    }
    int rc = 0;
    PGresult *res = NULL;
    if (o[0].count && !s_im_texts (o, 5, t)) {
        env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
        rc = -1;
    }
    else if (o[0].count) {
        res = tn_import_occupancies (run->app->db, run->pid, t[0], t[1], t[2], t[3], t[4]);
        rc = s_im_db_ok (run, res) ? 0 : -1;
    }
    for (int i = 0; rc == 0 && res && i < PQntuples (res); i++) {
        size_t line = (size_t) strtoul (PQgetvalue (res, i, 0), NULL, 10);
        s_im_prow_t *r = s_im_at_line (b->rows, b->nrows, sizeof *b->rows, line);
        if (r) {
            r->occ_created = true;
            b->occ_created++;
        }
    }
    PQclear (res);
    s_im_arrays_free (o, 5);
    return rc;
}

/* One parties import per property at a time (a party without an ID
 * document is found by its name, and no index stops two at once) -> the
 * rows' units -> the distinct parties -> their move-ins. */
static int
s_party_store (s_im_run_t *run, void *batch_)
{
    s_party_batch_t *b = batch_;
    PGresult *lock = tn_import_lock (run->app->db, "parties", run->pid);
    bool locked = s_im_db_ok (run, lock);
    PQclear (lock);
    if (!locked || s_party_units (run, b))
        return -1;
    if (s_party_group (b)) {
        env_reply_error (run->rep, 500, "internal", NULL, "out of memory");
        return -1;
    }
    return s_party_insert (run, b) || s_party_move_ins (run, b) ? -1 : 0;
}

/* Each good row: imported when it created its party or its move-in, else
 * a duplicate. */
static cJSON *
s_party_done (s_im_run_t *run, void *batch_)
{
    s_party_batch_t *b = batch_;
    for (size_t p = 0; p < b->nparties; p++)
        b->parties_created += b->parties[p].created;
    for (size_t i = 0; i < b->nrows; i++) {
        const s_im_prow_t *r = &b->rows[i];
        if (r->bad)
            continue;
        const s_im_party_t *party = r->party >= 0 ? &b->parties[r->party] : NULL;
        if ((party && party->created && party->line == r->line) || r->occ_created)
            run->report.imported++;
        else
            run->report.duplicates++;
    }
    log_info (run->req->id, "parties import into property %s: %ld rows imported (%ld parties, %ld move-ins), "
              "%ld duplicates, %ld rejected", run->pid, run->report.imported, b->parties_created,
              b->occ_created, run->report.duplicates, run->report.rejected);
    cJSON *extra = cJSON_CreateObject ();
    cJSON_AddNumberToObject (extra, "parties_created", (double) b->parties_created);
    cJSON_AddNumberToObject (extra, "occupancies_created", (double) b->occ_created);
    return extra;
}

static void
s_party_batch_free (void *batch_)
{
    s_party_batch_t *b = batch_;
    for (size_t i = 0; i < b->nrows; i++)
        s_party_row_free (&b->rows[i]);
    free (b->rows);
    free (b->parties);
    PQclear (b->units);
}

static const s_im_kind_t s_parties_kind = {
    .what = "parties", .columns = s_party_columns, .ncolumns = PC_COUNT,
    .batch_size = sizeof (s_party_batch_t), .batch_free = s_party_batch_free,
    .row = s_party_row, .empty = s_party_empty, .store = s_party_store, .done = s_party_done,
};

void
tn_parties_import (void *app, const env_request_t *req, env_reply_t *rep)
{
    s_im_run (app, req, rep, &s_parties_kind);
}
