/* ticket_handlers: tickets.create, .list, .get, .callbacks.list, and what
 * every tickets handler shares (scope, errors, events). Each handler:
 * validate -> load -> decide -> store (+ outbox, same transaction) -> reply.
 * Every query names the property; a property the caller may not see, or a
 * ticket a technician is not assigned to, answers 404. */
#include "tickets.h"

#include "faq.h"
#include "sla.h"
#include "tenants_copy.h"
#include "ticket_rules.h"
#include "ticket_store.h"
#include "tk_clock.h"
#include "workflow.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- shared ------------------------------------------------------------------ */

bool
tk_is_technician (const env_request_t *req)
{
    return req->caller.role && strcmp (req->caller.role, "technician") == 0;
}

bool
tk_is_manager (const env_request_t *req)
{
    const char *r = req->caller.role;
    return r && (strcmp (r, "admin") == 0 || strcmp (r, "manager") == 0);
}

void
tk_event (cJSON *events, const char *type, cJSON *data)
{
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddStringToObject (e, "type", type);
    cJSON_AddItemToObject (e, "data", data);
    cJSON_AddItemToArray (events, e);
}

int
tk_publish (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
            cJSON *events)
{
    const cJSON *e;
    cJSON_ArrayForEach (e, events) {
        const char *type = cJSON_GetStringValue (cJSON_GetObjectItem (e, "type"));
        if (outbox_add (app->outbox, type, pid, cJSON_GetObjectItem (e, "data"))) {
            cJSON_Delete (events);
            db_fail (app->db, req->id, rep, type);
            return -1;
        }
    }
    if (db_commit (app->db)) {
        cJSON_Delete (events);
        db_fail (app->db, req->id, rep, "commit");
        return -1;
    }
    cJSON_Delete (events);
    outbox_wake (app->outbox);
    return 0;
}

static void
s_copy (cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (from, name);
    cJSON_AddItemToObject (to, name, v ? cJSON_Duplicate (v, 1) : cJSON_CreateNull ());
}

cJSON *
tk_event_data (const cJSON *ticket)
{
    cJSON *d = cJSON_CreateObject ();
    static const char *const fields[] = {
        "id", "number", "type", "status", "property_id", "unit_id", "unit_code", "party_id",
        "assignee_id", "priority", "category", "title", "channel", NULL
    };
    for (const char *const *f = fields; *f; f++)
        s_copy (d, ticket, *f);
    const cJSON *sla = cJSON_GetObjectItemCaseSensitive (ticket, "sla");
    cJSON *s = cJSON_AddObjectToObject (d, "sla");
    s_copy (s, sla, "respond_by");
    s_copy (s, sla, "resolve_by");
    s_copy (s, sla, "breached");
    return d;
}

const char *
tk_time_param (int64_t us, char out[40])
{
    char base[32];
    int64_t s = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        s -= 1;
    }
    tk_clock_format (s, base);
    /* "2026-11-27T03:14:00Z" -> "2026-11-27T03:14:00.123456Z" */
    snprintf (out, 40, "%.19s.%06" PRId64 "Z", base, frac);
    return out;
}

/* --- create -------------------------------------------------------------------- */

void
tk_tickets_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *res = NULL;
    cJSON *events = NULL;
    tk_ticket_input_t in = { 0 };
    /* the front desk or a manager opens tickets */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    if (!tk_ticket_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid ticket");
        goto out;
    }
    /* the unit, the party and the property's timezone come from the copy of
     * tenants (tenants_copy.h), asked of tenants only for an id the copy does
     * not know yet: all before the transaction */
    char unit_code[TK_UNIT_CODE_MAX + 1] = "";
    if (in.unit_id) {
        int found = tk_copy_unit (app->db, req, pid, in.unit_id, unit_code, rep);
        if (found < 0)
            goto out;
        if (found == 0) {
            env_reply_error (rep, 422, "validation_failed", jv_detail ("unit_id", "no such unit"),
                             "invalid ticket");
            goto out;
        }
    }
    if (in.party_id) {
        int found = tk_copy_party (app->db, req, pid, in.party_id, rep);
        if (found < 0)
            goto out;
        if (found == 0) {
            env_reply_error (rep, 422, "validation_failed", jv_detail ("party_id", "no such party"),
                             "invalid ticket");
            goto out;
        }
    }
    /* the number's year is the property's, in its own timezone */
    char tz[64];
    if (tk_copy_timezone (app->db, req, pid, tz, rep))
        goto out;

    int64_t now_us = tk_clock_now_us ();
    char now[40];
    tk_time_param (now_us, now);

    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    const char *prefix = wf_prefix (in.type);
    res = tk_counter_next (app->db, pid, prefix, now, tz);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    char number[48];
    snprintf (number, sizeof number, "%s-%s-%06lld", prefix, PQgetvalue (res, 0, 1),
              strtoll (PQgetvalue (res, 0, 0), NULL, 10));
    PQclear (res);
    res = NULL;

    sla_terms_t terms;
    if (sla_terms_for_ticket (app->db, pid, in.type, in.priority, now_us / 1000000, &terms)) {
        db_fail (app->db, req->id, rep, "sla terms");
        goto out;
    }
    char rmin[16], smin[16], wmin[16], rby[40], sby[40];
    snprintf (rmin, sizeof rmin, "%d", terms.respond_minutes);
    snprintf (smin, sizeof smin, "%d", terms.resolve_minutes);
    snprintf (wmin, sizeof wmin, "%d", terms.warn_minutes);
    tk_time_param (terms.respond_by * 1000000, rby);
    tk_time_param (terms.resolve_by * 1000000, sby);

    if (in.resolve_now && in.answer)
        cJSON_AddStringToObject (in.data, "answer", in.answer);
    if (in.resolve_now && in.faq_id) {
        int hit = faq_record_hit (app->db, pid, in.faq_id);
        if (hit < 0) {
            db_fail (app->db, req->id, rep, "faq hit");
            goto out;
        }
        if (hit == 0) {
            db_rollback (app->db);
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("faq_id", "no such FAQ entry in this property"), "invalid ticket");
            goto out;
        }
    }
    char *data_text = cJSON_PrintUnformatted (in.data);
    tk_ticket_new_t t = {
        .number = number, .type = in.type, .status = in.resolve_now ? "resolved" : "new",
        .title = in.title, .description = in.description, .unit_id = in.unit_id,
        .unit_code = in.unit_id ? unit_code : NULL, .party_id = in.party_id, .channel = in.channel,
        .priority = in.priority, .category = in.category, .assignee_id = NULL,
        .faq_id = in.resolve_now ? in.faq_id : NULL, .created_by = req->caller.user_id,
        .created_at = now, .respond_minutes = rmin, .resolve_minutes = smin, .warn_minutes = wmin,
        .calendar_id = terms.calendar_id[0] ? terms.calendar_id : NULL,
        .respond_by = rby, .resolve_by = sby,
        .responded_at = in.resolve_now ? now : NULL, .resolved_at = in.resolve_now ? now : NULL,
        .data = data_text,
    };
    res = tk_ticket_insert (app->db, pid, &t);
    free (data_text);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    char tid[64];
    snprintf (tid, sizeof tid, "%s", PQgetvalue (res, 0, 0));
    PQclear (res);
    res = tk_timeline_add (app->db, pid, tid, now, req->caller.user_id, req->caller.role, "create",
                           NULL, "new", NULL, false, NULL);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "timeline");
        goto out;
    }
    if (in.resolve_now) {
        cJSON *d = cJSON_CreateObject ();
        if (in.faq_id)
            cJSON_AddStringToObject (d, "faq_id", in.faq_id);
        char *dt = cJSON_PrintUnformatted (d);
        cJSON_Delete (d);
        PQclear (res);
        res = tk_timeline_add (app->db, pid, tid, now, req->caller.user_id, req->caller.role,
                               "resolve", "new", "resolved", in.answer, false, dt);
        free (dt);
        if (!db_ok (res)) {
            db_fail (app->db, req->id, rep, "timeline");
            goto out;
        }
    }
    PQclear (res);
    res = tk_ticket_get (app->db, pid, tid, now, false);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_fail (app->db, req->id, rep, "read back");
        goto out;
    }
    cJSON *ticket = tk_ticket_json (res, 0);
    events = cJSON_CreateArray ();
    tk_event (events, "ticket.created", tk_event_data (ticket));
    if (in.resolve_now)
        tk_event (events, "ticket.resolved", tk_event_data (ticket));
    int rc = tk_publish (app, req, rep, pid, events);
    events = NULL;
    if (rc) {
        cJSON_Delete (ticket);
        goto out;
    }
    log_info (req->id, "ticket %s (%s) created in property %s", number, tid, pid);
    env_reply_ok (rep, 201, ticket);
out:
    PQclear (res);
    cJSON_Delete (events);
    cJSON_Delete (in.data);
}

/* --- list ---------------------------------------------------------------------- */

/* Cursors: hex of "created_at|id" (opaque to clients). */
static char *
s_cursor_encode (const char *at, const char *id)
{
    size_t n = strlen (at) + 1 + strlen (id);
    char *out = malloc (2 * n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *s = at; *s; s++, o += 2)
        sprintf (o, "%02x", (unsigned char) *s);
    sprintf (o, "%02x", '|');
    o += 2;
    for (const char *s = id; *s; s++, o += 2)
        sprintf (o, "%02x", (unsigned char) *s);
    *o = 0;
    return out;
}

/* Fills at[40] and id[37]; false when the cursor is not one we gave out. */
static bool
s_cursor_decode (const char *cursor, char at[40], char id[37])
{
    char buf[80];
    size_t n = strlen (cursor);
    if (n == 0 || n % 2 || n / 2 >= sizeof buf)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned x;
        if (sscanf (cursor + 2 * i, "%2x", &x) != 1)
            return false;
        buf[i] = (char) x;
    }
    buf[n / 2] = 0;
    if (strlen (buf) != n / 2)
        return false;
    char *bar = strchr (buf, '|');
    if (!bar || bar - buf < 20 || bar - buf > 39 || !jv_is_uuid (bar + 1))
        return false;
    for (const char *s = buf; s < bar; s++)
        if (!strchr ("0123456789-T:.Z", *s))
            return false;
    memcpy (at, buf, (size_t) (bar - buf));
    at[bar - buf] = 0;
    snprintf (id, 37, "%s", bar + 1);
    return true;
}

static bool
s_limit (const char *s, int *out)
{
    *out = TK_LIMIT_DEFAULT;
    if (!s || !*s)
        return true;
    char *end;
    long n = strtol (s, &end, 10);
    if (*end || end == s || n < 1 || n > TK_LIMIT_MAX || s[0] == '+' || s[0] == ' ')
        return false;
    *out = (int) n;
    return true;
}

/* ?limit and ?cursor; false after adding problems to v. */
static bool
s_page_params (jv_t *v, const env_request_t *req, int *limit, char at[40], char id[37])
{
    if (!s_limit (env_param (req, "limit"), limit))
        jv_problem (v, "limit", "must be an integer from 1 to %d", TK_LIMIT_MAX);
    const char *cursor = env_param (req, "cursor");
    at[0] = id[0] = 0;
    if (cursor && *cursor && !s_cursor_decode (cursor, at, id))
        jv_problem (v, "cursor", "is not a cursor this list gave out");
    return jv_ok (v);
}

/* {"items","next_cursor"} from rows fetched with limit + 1; key_col: the keyset's time. */
static cJSON *
s_page (const PGresult *res, int limit, int key_col)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (body, "items");
    int n = PQntuples (res);
    for (int i = 0; i < n && i < limit; i++)
        cJSON_AddItemToArray (items, tk_ticket_json (res, i));
    char *next = n > limit ? s_cursor_encode (PQgetvalue (res, limit - 1, key_col),
                                              PQgetvalue (res, limit - 1, TK_C_ID)) : NULL;
    if (next)
        cJSON_AddStringToObject (body, "next_cursor", next);
    else
        cJSON_AddNullToObject (body, "next_cursor");
    free (next);
    return body;
}

/* A query value, or NULL when absent or empty. */
static const char *
s_query (const env_request_t *req, const char *name)
{
    const char *s = env_param (req, name);
    return s && *s ? s : NULL;
}

void
tk_tickets_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char at[40], id[37];
    s_page_params (&v, req, &limit, at, id);
    /* query values arrive as strings: check them as body fields are */
    cJSON *q = cJSON_CreateObject ();
    const char *names[] = { "status", "type", "assignee_id", "unit_id", "q" };
    for (int i = 0; i < 5; i++)
        if (s_query (req, names[i]))
            cJSON_AddStringToObject (q, names[i], s_query (req, names[i]));
    const char *status = jv_enum (&v, q, "status", JV_OPTIONAL, wf_statuses);
    const char *type = jv_enum (&v, q, "type", JV_OPTIONAL, wf_types);
    const char *assignee = jv_string (&v, q, "assignee_id", JV_OPTIONAL, TK_USER_ID_MAX);
    const char *unit = jv_uuid (&v, q, "unit_id", JV_OPTIONAL);
    const char *text = jv_string (&v, q, "q", JV_OPTIONAL, TK_QUERY_MAX);
    const char *overdue = s_query (req, "overdue");
    if (overdue && strcmp (overdue, "true") != 0 && strcmp (overdue, "false") != 0)
        jv_problem (&v, "overdue", "must be true or false");
    if (!jv_ok (&v)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        cJSON_Delete (q);
        return;
    }
    /* a technician sees the tickets assigned to them, whatever they ask for */
    if (tk_is_technician (req))
        assignee = req->caller.user_id;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = tk_ticket_list (app->db, pid, status, type, assignee, unit,
                                    overdue && strcmp (overdue, "true") == 0, text, now,
                                    *at ? at : NULL, *id ? id : NULL, limit + 1);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else
        env_reply_ok (rep, 200, s_page (res, limit, TK_C_CREATED_AT));
    PQclear (res);
    cJSON_Delete (q);
}

/* --- get ----------------------------------------------------------------------- */

/* The ticket with its timeline and feedback, as GET answers it; NULL on a
 * database error. res: the ticket row. */
cJSON *
tk_ticket_full (tickets_t *app, const char *pid, const PGresult *res)
{
    const char *tid = PQgetvalue (res, 0, TK_C_ID);
    PGresult *tl = tk_timeline_list (app->db, pid, tid, true);
    PGresult *fb = db_ok (tl) ? tk_feedback_get (app->db, pid, tid) : NULL;
    cJSON *t = NULL;
    if (db_ok (tl) && db_ok (fb)) {
        t = tk_ticket_json (res, 0);
        cJSON *items = cJSON_AddArrayToObject (t, "timeline");
        for (int i = 0; i < PQntuples (tl); i++)
            cJSON_AddItemToArray (items, tk_timeline_json (tl, i));
        if (PQntuples (fb) == 1)
            cJSON_AddItemToObject (t, "feedback", tk_feedback_json (fb, 0));
        else
            cJSON_AddNullToObject (t, "feedback");
    }
    PQclear (tl);
    PQclear (fb);
    return t;
}

/* The path's ticket row (0 or 1 rows) for this caller: staff only, and a
 * technician finds only theirs. NULL after answering (403, 404, or the
 * database's error). */
PGresult *
tk_load (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char **pid,
         const char *now, bool for_update)
{
    if (!env_require_role (req, env_roles_staff, rep))
        return NULL;
    *pid = env_visible_property (req);
    const char *tid = env_param (req, "tid");
    if (!*pid || !tid || !jv_is_uuid (tid)) {
        env_reply_error (rep, 404, "not_found", NULL, "no such ticket");
        return NULL;
    }
    PGresult *res = tk_ticket_get (app->db, *pid, tid, now, for_update);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return NULL;
    }
    const char *assignee = PQntuples (res) == 1 ? tk_value (res, 0, TK_C_ASSIGNEE) : NULL;
    if (PQntuples (res) != 1
        || (tk_is_technician (req) && (!assignee || strcmp (assignee, req->caller.user_id) != 0))) {
        env_reply_error (rep, 404, "not_found", NULL, "no such ticket");
        PQclear (res);
        return NULL;
    }
    return res;
}

void
tk_tickets_get (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    const char *pid;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    PGresult *res = tk_load (app, req, rep, &pid, now, false);
    if (!res)
        return;
    cJSON *t = tk_ticket_full (app, pid, res);
    if (t) {
        cJSON_AddItemToObject (t, "allowed_actions", tk_allowed_actions (req, res));
        env_reply_ok (rep, 200, t);
    }
    else
        db_fail (app->db, req->id, rep, "read ticket");
    PQclear (res);
}

/* --- callbacks (待回访) ----------------------------------------------------------- */

void
tk_callbacks_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    /* follow-up calls are the front desk's */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    int limit;
    char at[40], id[37];
    if (!s_page_params (&v, req, &limit, at, id)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
        return;
    }
    int64_t now_us = tk_clock_now_us ();
    char now[40], before[40];
    tk_time_param (now_us, now);
    tk_time_param (now_us - app->callback_after_s * 1000000, before);
    PGresult *res = tk_callbacks_due (app->db, pid, before, now, *at ? at : NULL, *id ? id : NULL,
                                       limit + 1);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else
        env_reply_ok (rep, 200, s_page (res, limit, TK_C_RESOLVED_AT));
    PQclear (res);
}

/* --- service-to-service -------------------------------------------------------- */

void
tk_events_read (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    outbox_read (app->outbox, req, rep);
}

void
tk_ping (void *app_, const env_request_t *req, env_reply_t *rep)
{
    (void) req;
    db_ping_reply (((tickets_t *) app_)->db, "tickets", rep);
}
