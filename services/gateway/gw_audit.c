/* gw_audit: the audit's buffer, its writer and GET /v1/audit; see gw_audit.h. */
#include "gw_audit.h"

#include "config.h"
#include "gw_auth.h"
#include "jv.h"
#include "log.h"

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
    if (jv_is_date (s)) {
        char t[32];
        snprintf (t, sizeof t, "%sT00:00:00Z", s);
        if (gw_auth_parse_time (t, epoch_ms) != 0)
            return -1;
        if (end)
            *epoch_ms += 86400 * 1000 - 1;
        return 0;
    }
    return gw_auth_parse_time (s, epoch_ms);
}

/* --- the buffer and its writer ---------------------------------------------- */

static int
s_audit_prepare (db_t *db)
{
    int rc = 0;
    /* one INSERT for a whole batch: the rows travel as one JSON array */
    rc |= db_prepare (db, "audit_insert",
        "INSERT INTO audit (at, actor_id, actor_role, method, route, target_id, property_id, status, "
        "                   request_id) "
        "SELECT to_timestamp(r.at / 1000.0), r.actor_id, r.actor_role, r.method, r.route, r.target_id, "
        "       r.property_id, r.status, r.request_id "
        "  FROM jsonb_to_recordset($1::jsonb) AS r(at bigint, actor_id text, actor_role text, "
        "       method text, route text, target_id text, property_id uuid, status int, request_id text)",
        false);
    rc |= db_prepare (db, "audit_cleanup",
        "DELETE FROM audit WHERE at < now() - make_interval(days => $1::int)", false);
    /* newest first; a manager's rows are those of their properties ($5) */
    rc |= db_prepare (db, "audit_list",
        "SELECT json_build_object("
        "         'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
        "         'actor_id', actor_id, 'actor_role', actor_role, 'method', method, 'route', route, "
        "         'target_id', target_id, 'property_id', property_id, 'status', status, "
        "         'request_id', request_id)::text, "
        "       (extract(epoch FROM at) * 1000)::bigint::text, id::text "
        "  FROM audit "
        " WHERE ($1::uuid IS NULL OR property_id = $1::uuid) "
        "   AND ($2::text IS NULL OR actor_id = $2) "
        "   AND ($3::bigint IS NULL OR at >= to_timestamp($3::bigint / 1000.0)) "
        "   AND ($4::bigint IS NULL OR at <= to_timestamp($4::bigint / 1000.0)) "
        "   AND ($5::jsonb IS NULL OR property_id = ANY (ARRAY(SELECT jsonb_array_elements_text($5::jsonb))::uuid[])) "
        "   AND ($6::bigint IS NULL OR (at, id) < (to_timestamp($6::bigint / 1000.0), $7::bigint)) "
        " ORDER BY at DESC, id DESC LIMIT $8::int", true);
    return rc ? -1 : 0;
}

static void s_on_flush_timer (uv_timer_t *t);

static void
s_arm (gw_audit_t *self, uint64_t ms)
{
    uv_timer_start (&self->timer, s_on_flush_timer, ms, 0);
    self->timer_armed = true;
}

int
gw_audit_flush (gw_audit_t *self)
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
    if (gw_audit_flush (self) != 0 || self->len > 0)
        s_arm (self, GW_AUDIT_RETRY_MS);
}

gw_audit_t *
gw_audit_new (uv_loop_t *loop, db_t *db)
{
    if (s_audit_prepare (db) != 0)
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
    if (gw_audit_flush (self) != 0 && self->len)
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

static const char *
s_param (gw_ctx_t *ctx, const char *name)
{
    const char *s = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (ctx->params, name));
    return s && *s ? s : NULL;
}

void
gw_audit_list (gw_t *gw, gw_ctx_t *ctx)
{
    gw_audit_t *self = gw_auth_audit (gw->auth);
    jv_t v = JV_INIT;
    const char *property = s_param (ctx, "property_id"), *actor = s_param (ctx, "actor_id");
    const char *from = s_param (ctx, "from"), *to = s_param (ctx, "to");
    const char *limit_s = s_param (ctx, "limit"), *cursor = s_param (ctx, "cursor");
    char prop[37] = "";
    if (property) {
        if (!jv_is_uuid (property))
            jv_problem (&v, "property_id", "must be a property id (UUID)");
        else
            s_lower_copy (prop, sizeof prop, property);
    }
    if (actor && !s_id_chars (actor, ENVELOPE_ID_MAX))
        jv_problem (&v, "actor_id", "must be a user's or an API key's id");
    int64_t from_ms = 0, to_ms = 0;
    char from_s[24] = "", to_s[24] = "";
    if (from) {
        if (gw_audit_parse_bound (from, false, &from_ms) != 0)
            jv_problem (&v, "from", "must be a date (YYYY-MM-DD) or an RFC 3339 date-time");
        else
            snprintf (from_s, sizeof from_s, "%lld", (long long) from_ms);
    }
    if (to) {
        if (gw_audit_parse_bound (to, true, &to_ms) != 0)
            jv_problem (&v, "to", "must be a date (YYYY-MM-DD) or an RFC 3339 date-time");
        else
            snprintf (to_s, sizeof to_s, "%lld", (long long) to_ms);
    }
    if (from_s[0] && to_s[0] && from_ms > to_ms)
        jv_problem (&v, "to", "must not be before from");
    long limit = GW_AUDIT_LIST_DEFAULT;
    if (limit_s) {
        char *end;
        limit = strtol (limit_s, &end, 10);
        if (*end || limit < 1 || limit > GW_AUDIT_LIST_MAX)
            jv_problem (&v, "limit", "must be an integer from 1 to %d", GW_AUDIT_LIST_MAX);
    }
    /* the cursor is "<at ms>~<id>" of the last row shown */
    char cur_at[24] = "", cur_id[24] = "";
    if (cursor) {
        const char *tilde = strchr (cursor, '~');
        size_t a = tilde ? (size_t) (tilde - cursor) : 0, b = tilde ? strlen (tilde + 1) : 0;
        if (!tilde || a < 1 || a > 18 || b < 1 || b > 18 || strspn (cursor, "0123456789") != a
            || strspn (tilde + 1, "0123456789") != b)
            jv_problem (&v, "cursor", "is not a cursor this API gave");
        else {
            memcpy (cur_at, cursor, a);
            memcpy (cur_id, tilde + 1, b + 1);
        }
    }
    if (!jv_ok (&v)) {
        gw_finish_error (ctx, 422, "validation_failed", jv_take (&v), "bad audit filters");
        return;
    }
    /* a manager: their properties' rows only; another's property does not exist */
    char *scope = NULL;
    if (strcmp (ctx->caller.role, "admin") != 0) {
        env_caller_t c = { .user_id = ctx->caller.id, .role = ctx->caller.role,
                           .property_ids = ctx->caller.property_ids };
        if (prop[0] && !env_caller_has_property (&c, prop)) {
            gw_finish_error (ctx, 404, "not_found", NULL, "no such property");
            return;
        }
        scope = ctx->caller.property_ids ? cJSON_PrintUnformatted (ctx->caller.property_ids) : strdup ("[]");
        if (!scope) {
            gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
            return;
        }
    }
    /* rows still in this gateway's buffer belong in the answer */
    gw_audit_flush (self);
    char lim[24];
    snprintf (lim, sizeof lim, "%ld", limit + 1);
    PGresult *res = db_exec (self->db, "audit_list", 8,
                             (const char *[]) { prop[0] ? prop : NULL, actor, from_s[0] ? from_s : NULL,
                                                to_s[0] ? to_s : NULL, scope, cur_at[0] ? cur_at : NULL,
                                                cur_id[0] ? cur_id : NULL, lim });
    free (scope);
    if (!db_ok (res)) {
        env_reply_t rep = { 0 };
        db_reply_error (res, &rep, ctx->req->request_id);
        PQclear (res);
        gw_finish_error (ctx, rep.status, rep.code, NULL, "%s",
                         rep.status == 503 ? "the gateway database is unavailable" : "internal error");
        env_reply_reset (&rep);
        return;
    }
    cJSON *page = db_page (res, (int) limit, 1, 2);
    PQclear (res);
    if (!page) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return;
    }
    gw_finish_json (ctx, 200, page);
}
