/* gw_audit: the audit's buffer, its writer and GET /v1/audit; see gw_audit.h. */
#include "gw_audit.h"

#include "civil.h"
#include "config.h"
#include "gw_auth.h"
#include "jv.h"
#include "log.h"
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int64_t at_ms;
    char actor_id[ENVELOPE_ID_MAX + 1];
    char actor_role[16];
    char method[8];
    const char *route;               /* a pattern of the route table (static), or "unmatched" */
    char target_id[GW_AUDIT_TARGET_MAX + 1];
    char property_id[37];
    int status;
    char request_id[ENVELOPE_ID_MAX + 1];
} s_row_t;

struct gw_audit {
    uv_loop_t *loop;
    db_t *db;
    s_row_t *rows;
    size_t len, cap, max;
    size_t dropped;                  /* rows refused since the last log line */
    int64_t retention_days;
    uv_timer_t timer;
    bool timer_armed;
};

/* --- pure parts ------------------------------------------------------------- */

bool
gw_audit_method_kept (const char *method)
{
    return method && (strcmp (method, "POST") == 0 || strcmp (method, "PUT") == 0
                      || strcmp (method, "PATCH") == 0 || strcmp (method, "DELETE") == 0);
}

static bool
s_id_chars (const char *s, size_t max)
{
    size_t n = strlen (s);
    return n >= 1 && n <= max
           && strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void
s_lower_copy (char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char) (s[i] - 'A' + 'a') : s[i];
    out[i] = 0;
}

void
gw_audit_ids (const router_match_t *m, const char *method, const char *pattern, int status,
              const char *body, char target[GW_AUDIT_TARGET_MAX + 1], char property[37])
{
    target[0] = property[0] = 0;
    for (int i = 0; m && i < m->nparams; i++) {
        const char *value = m->param[i].value;
        if (!value || !jv_is_uuid (value))
            continue;
        if (strcmp (m->param[i].name, "pid") == 0)
            s_lower_copy (property, 37, value);
        s_lower_copy (target, GW_AUDIT_TARGET_MAX + 1, value);
    }
    if (status == 201 && body) {
        /* what was made: its id (only that is read from the body) */
        cJSON *doc = cJSON_Parse (body);
        const char *id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (doc, "id"));
        if (id && s_id_chars (id, GW_AUDIT_TARGET_MAX)) {
            s_lower_copy (target, GW_AUDIT_TARGET_MAX + 1, id);
            if (!property[0] && method && strcmp (method, "POST") == 0 && pattern
                && strcmp (pattern, "/v1/properties") == 0 && jv_is_uuid (id))
                s_lower_copy (property, 37, id);
        }
        cJSON_Delete (doc);
    }
}

int
gw_audit_parse_bound (const char *s, bool end, int64_t *epoch_ms)
{
    if (!s)
        return -1;
    int64_t days;
    if (!civil_parse_date (s, &days))
        return gw_auth_parse_time (s, epoch_ms);
    if (days < 0)
        return -1;
    *epoch_ms = days * 86400 * 1000;
    if (end)
        *epoch_ms += 86400 * 1000 - 1;           /* the day's last millisecond */
    return 0;
}

/* --- the buffer and its writer ---------------------------------------------- */

static const db_statement_t s_audit_statements[] = {
    /* one INSERT for a whole batch: the rows travel as one JSON array */
    { "audit_insert",
      "INSERT INTO audit (at, actor_id, actor_role, method, route, target_id, property_id, status, "
      "                   request_id) "
      "SELECT to_timestamp(r.at / 1000.0), r.actor_id, r.actor_role, r.method, r.route, r.target_id, "
      "       r.property_id, r.status, r.request_id "
      "  FROM jsonb_to_recordset($1::jsonb) AS r(at bigint, actor_id text, actor_role text, "
      "       method text, route text, target_id text, property_id uuid, status int, request_id text)",
      false },
    { "audit_cleanup", "DELETE FROM audit WHERE at < now() - make_interval(days => $1::int)", false },
    /* newest first; a manager's rows are those of their properties ($5);
     * the page's key is (at to the microsecond, id) of the last row shown */
    { "audit_list",
      "SELECT json_build_object("
      "         'at', " DB_UTC_TS ("at") ", "
      "         'actor_id', actor_id, 'actor_role', actor_role, 'method', method, 'route', route, "
      "         'target_id', target_id, 'property_id', property_id, 'status', status, "
      "         'request_id', request_id)::text, "
      "       " DB_UTC_TS_US ("at") ", id::text "
      "  FROM audit "
      " WHERE ($1::uuid IS NULL OR property_id = $1::uuid) "
      "   AND ($2::text IS NULL OR actor_id = $2) "
      "   AND ($3::bigint IS NULL OR at >= to_timestamp($3::bigint / 1000.0)) "
      "   AND ($4::bigint IS NULL OR at <= to_timestamp($4::bigint / 1000.0)) "
      "   AND ($5::jsonb IS NULL OR property_id = ANY (ARRAY(SELECT jsonb_array_elements_text($5::jsonb))::uuid[])) "
      "   AND ($6::timestamptz IS NULL OR (at, id) < ($6::timestamptz, $7::bigint)) "
      " ORDER BY at DESC, id DESC LIMIT $8::int", true },
};

static void s_on_flush_timer (uv_timer_t *t);

static void
s_arm (gw_audit_t *self, uint64_t ms)
{
    uv_timer_start (&self->timer, s_on_flush_timer, ms, 0);
    self->timer_armed = true;
}

/* Writes the buffered rows now: 0, or -1 (they stay buffered). */
static int
s_flush (gw_audit_t *self)
{
    if (!self)
        return 0;
    if (self->dropped) {
        log_warn (NULL, "audit: %zu rows dropped (the buffer of %zu was full: database away?)",
                  self->dropped, self->max);
        self->dropped = 0;
    }
    if (self->len == 0)
        return 0;
    cJSON *arr = cJSON_CreateArray ();
    for (size_t i = 0; arr && i < self->len; i++) {
        const s_row_t *r = &self->rows[i];
        cJSON *o = cJSON_CreateObject ();
        if (!o) {
            cJSON_Delete (arr);
            arr = NULL;
            break;
        }
        cJSON_AddNumberToObject (o, "at", (double) r->at_ms);
        if (r->actor_id[0])
            cJSON_AddStringToObject (o, "actor_id", r->actor_id);
        if (r->actor_role[0])
            cJSON_AddStringToObject (o, "actor_role", r->actor_role);
        cJSON_AddStringToObject (o, "method", r->method);
        cJSON_AddStringToObject (o, "route", r->route);
        if (r->target_id[0])
            cJSON_AddStringToObject (o, "target_id", r->target_id);
        if (r->property_id[0])
            cJSON_AddStringToObject (o, "property_id", r->property_id);
        cJSON_AddNumberToObject (o, "status", r->status);
        cJSON_AddStringToObject (o, "request_id", r->request_id);
        cJSON_AddItemToArray (arr, o);
    }
    char *json = arr ? cJSON_PrintUnformatted (arr) : NULL;
    cJSON_Delete (arr);
    if (!json)
        return -1;
    PGresult *res = db_exec (self->db, "audit_insert", 1, (const char *[]) { json });
    free (json);
    int rc = db_ok (res) ? 0 : -1;
    if (rc)
        log_warn (NULL, "audit: %zu rows not written (kept for a retry): %s", self->len,
                  PQresultErrorMessage (res));
    else
        self->len = 0;
    PQclear (res);
    return rc;
}

static void
s_on_flush_timer (uv_timer_t *t)
{
    gw_audit_t *self = t->data;
    self->timer_armed = false;
    if (s_flush (self) != 0 || self->len > 0)
        s_arm (self, GW_AUDIT_RETRY_MS);
}

gw_audit_t *
gw_audit_new (uv_loop_t *loop, db_t *db)
{
    if (DB_PREPARE_ALL (db, s_audit_statements) != 0)
        return NULL;
    gw_audit_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->db = db;
    self->max = (size_t) config_int ("PM_AUDIT_BUFFER_MAX", GW_AUDIT_BUFFER_MAX, 100, 10000000);
    self->retention_days = config_int ("PM_AUDIT_RETENTION_DAYS", GW_AUDIT_RETENTION_DAYS, 1, 36500);
    uv_timer_init (loop, &self->timer);
    self->timer.data = self;
    uv_unref ((uv_handle_t *) &self->timer);
    return self;
}

static void
s_on_closed (uv_handle_t *h)
{
    gw_audit_t *self = h->data;
    free (self->rows);
    free (self);
}

void
gw_audit_destroy (gw_audit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_audit_t *self = *self_p;
    *self_p = NULL;
    if (s_flush (self) != 0 && self->len)
        log_error (NULL, "audit: %zu rows lost at shutdown (the database did not take them)", self->len);
    uv_timer_stop (&self->timer);
    uv_close ((uv_handle_t *) &self->timer, s_on_closed);
}

long
gw_audit_cleanup (gw_audit_t *self)
{
    if (!self)
        return -1;
    char days[24];
    snprintf (days, sizeof days, "%lld", (long long) self->retention_days);
    PGresult *res = db_exec (self->db, "audit_cleanup", 1, (const char *[]) { days });
    long n = db_ok (res) ? atol (PQcmdTuples (res)) : -1;
    PQclear (res);
    log_info (NULL, "cleanup: %ld audit rows older than %lld days deleted", n,
              (long long) self->retention_days);
    return n;
}

void
gw_audit_record (gw_ctx_t *ctx, int status, const char *body)
{
    gw_audit_t *self = gw_auth_audit (ctx->gw->auth);
    http_req_t *req = ctx->req;
    if (!self || !req || !gw_audit_method_kept (req->method_name))
        return;
    if (self->len == self->max) {
        self->dropped++;
        return;
    }
    if (self->len == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        if (cap > self->max)
            cap = self->max;
        s_row_t *rows = realloc (self->rows, cap * sizeof *rows);
        if (!rows) {
            self->dropped++;
            return;
        }
        self->rows = rows;
        self->cap = cap;
    }
    s_row_t *r = &self->rows[self->len++];
    memset (r, 0, sizeof *r);
    r->at_ms = env_now_ms ();
    /* the caller, or for a login the user it named (gw_auth fills caller then) */
    if (ctx->caller.id[0]) {
        snprintf (r->actor_id, sizeof r->actor_id, "%s", ctx->caller.id);
        snprintf (r->actor_role, sizeof r->actor_role, "%s", ctx->caller.role);
    }
    snprintf (r->method, sizeof r->method, "%s", req->method_name);
    r->route = ctx->route ? ctx->route->r.pattern : "unmatched";
    gw_audit_ids (ctx->route ? &ctx->match : NULL, req->method_name, r->route, status, body,
                  r->target_id, r->property_id);
    r->status = status;
    snprintf (r->request_id, sizeof r->request_id, "%s", req->request_id);
    /* a full batch goes on the next loop turn, after this answer */
    if (self->len >= GW_AUDIT_BATCH_ROWS)
        s_arm (self, 0);
    else
    if (!self->timer_armed)
        s_arm (self, GW_AUDIT_FLUSH_MS);
}

/* --- GET /v1/audit ------------------------------------------------------------- */

/* s, or NULL when it is NULL or "" (an absent parameter). */
static const char *
s_or_null (const char *s)
{
    return s && *s ? s : NULL;
}

static const char *
s_param (const cJSON *params, const char *name)
{
    return s_or_null (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (params, name)));
}

/* A from/to bound of params into out (epoch ms as text), "" when absent. */
static void
s_bound (jv_t *v, const cJSON *params, const char *name, bool end, int64_t *ms, char out[24])
{
    const char *s = s_param (params, name);
    out[0] = 0;
    if (!s)
        return;
    if (gw_audit_parse_bound (s, end, ms) != 0)
        jv_problem (v, name, "must be a date (YYYY-MM-DD) or an RFC 3339 date-time");
    else
        snprintf (out, 24, "%lld", (long long) *ms);
}

/* The cursor's key, "<at>~<id>" of the last row shown (audit_list's
 * columns 1 and 2), into q->after_at and q->after_id. */
static void
s_after (jv_t *v, gw_audit_query_t *q)
{
    char *part[2];
    int64_t us;
    if (!q->key[0])
        return;
    size_t id_len = 0;
    if (page_key_split (q->key, part, 2))
        id_len = strlen (part[1]);
    if (id_len < 1 || id_len > 18 || strspn (part[1], "0123456789") != id_len
        || !civil_parse_time (part[0], &us)) {
        jv_problem (v, "cursor", "is not a cursor this list gave out");
        return;
    }
    q->after_at = part[0];
    q->after_id = part[1];
}

bool
gw_audit_query (jv_t *v, const cJSON *params, gw_audit_query_t *q)
{
    memset (q, 0, sizeof *q);
    const char *property = s_param (params, "property_id");
    if (property && !jv_is_uuid (property))
        jv_problem (v, "property_id", "must be a property id (UUID)");
    else
    if (property)
        s_lower_copy (q->property_id, sizeof q->property_id, property);
    q->actor_id = s_param (params, "actor_id");
    if (q->actor_id && !s_id_chars (q->actor_id, ENVELOPE_ID_MAX))
        jv_problem (v, "actor_id", "must be a user's or an API key's id");
    int64_t from_ms = 0, to_ms = 0;
    s_bound (v, params, "from", false, &from_ms, q->from_ms);
    s_bound (v, params, "to", true, &to_ms, q->to_ms);
    if (q->from_ms[0] && q->to_ms[0] && from_ms > to_ms)
        jv_problem (v, "to", "must not be before from");
    const env_request_t req = { .params = params };
    if (page_params (v, &req, &q->limit, q->key, sizeof q->key))
        s_after (v, q);
    return jv_ok (v);
}

/* Whose rows the caller sees, as the JSON array of audit_list's $5 (the
 * caller frees): NULL for an admin (every row), else the caller's
 * properties; a property filter outside them is "not found". 0, or -1
 * after answering. */
static int
s_scope (gw_ctx_t *ctx, const char *property_id, char **scope)
{
    *scope = NULL;
    if (strcmp (ctx->caller.role, "admin") == 0)
        return 0;
    env_caller_t c = { .user_id = ctx->caller.id, .role = ctx->caller.role,
                       .property_ids = ctx->caller.property_ids };
    if (property_id[0] && !env_caller_has_property (&c, property_id)) {
        gw_finish_error (ctx, 404, "not_found", NULL, "no such property");
        return -1;
    }
    *scope = ctx->caller.property_ids ? cJSON_PrintUnformatted (ctx->caller.property_ids) : strdup ("[]");
    if (!*scope) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return -1;
    }
    return 0;
}

void
gw_audit_list (gw_t *gw, gw_ctx_t *ctx)
{
    gw_audit_t *self = gw_auth_audit (gw->auth);
    jv_t v = JV_INIT;
    gw_audit_query_t q;
    char *scope = NULL;
    if (!gw_audit_query (&v, ctx->params, &q)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "bad audit filters");
        return;
    }
    if (s_scope (ctx, q.property_id, &scope) != 0)
        return;
    /* rows still in this gateway's buffer belong in the answer */
    s_flush (self);
    char lim[16];
    snprintf (lim, sizeof lim, "%d", q.limit + 1);
    PGresult *res = db_exec (self->db, "audit_list", 8,
                             (const char *[]) { s_or_null (q.property_id), q.actor_id,
                                                s_or_null (q.from_ms), s_or_null (q.to_ms), scope,
                                                q.after_at, q.after_id, lim });
    free (scope);
    gw_finish_page (ctx, res, db_ok (res) ? page_json_rows (res, q.limit, 1, 2) : NULL, "audit list");
}
