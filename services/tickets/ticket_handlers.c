/* ticket_handlers: tickets.create, .list, .get, .callbacks.list, and what
 * every tickets handler shares (scope, errors, events). Each handler:
 * validate -> load -> decide -> store (+ outbox, same transaction) -> reply.
 * Every query names the property; a property the caller may not see, or a
 * ticket a technician is not assigned to, answers 404. */
#include "tickets.h"

#include "faq.h"
#include "me_tickets.h"
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

wf_role_t
tk_role (const env_request_t *req)
{
    const char *r = req->caller.role;
    if (r && strcmp (r, "technician") == 0)
        return WF_TECHNICIAN;
    return wf_in (env_roles_managers, r) ? WF_MANAGER : WF_DESK;
}

wf_actor_t
tk_actor (const env_request_t *req, const char *assignee_id)
{
    const char *me = req->caller.user_id;
    return (wf_actor_t) {
        .role = tk_role (req),
        .assigned = assignee_id && me && strcmp (assignee_id, me) == 0,
    };
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
tk_commit_reply (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                 cJSON *events, int status, cJSON **body)
{
    int rc = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, events) {
        const char *type = cJSON_GetStringValue (cJSON_GetObjectItem (e, "type"));
        if (outbox_add (app->outbox, type, pid, cJSON_GetObjectItem (e, "data"))) {
            db_fail (app->db, req->id, rep, type);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        rc = -1;
    }
    cJSON_Delete (events);
    if (rc == 0) {
        outbox_wake (app->outbox);
        env_reply_ok (rep, status, *body);
    }
    else
        cJSON_Delete (*body);
    *body = NULL;
    return rc;
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
        "assignee_id", "priority", "category", "title", "channel", "requester_kind", "department", NULL
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


/* A reference the input makes: true when found is 1; after 422 naming the
 * field when it is 0 (found < 0: answered already), false. */
static bool
s_known (int found, const char *field, const char *problem, env_reply_t *rep)
{
    if (found == 0)
        env_reply_error (rep, 422, "validation_failed", jv_detail (field, problem), "invalid ticket");
    return found == 1;
}

/* The unit, the party and the property's timezone (the year of the number,
 * in the property's own timezone) from the copy of tenants, and the SLA
 * terms, in one statement (tk_ticket_new_refs); an id the copy does not
 * know yet is asked of tenants (tenants_copy.h). All before the
 * transaction, which then holds only the writes. 0, or -1 after answering. */
static int
s_load (tickets_t *app, const env_request_t *req, tk_new_ticket_t *nt, env_reply_t *rep)
{
    const tk_ticket_input_t *in = nt->in;
    int rc = -1;
    PGresult *res = tk_ticket_new_refs (app->db, nt->pid, in->unit_id, in->party_id, in->type,
                                        in->priority);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        goto out;
    }
    const char *code = tk_value (res, 0, TK_R_UNIT_CODE), *tz = tk_value (res, 0, TK_R_TIMEZONE);
    if (in->unit_id && code)
        snprintf (nt->unit_code, sizeof nt->unit_code, "%s", code);
    else if (in->unit_id && !s_known (tk_copy_unit (app->db, req, nt->pid, in->unit_id, nt->unit_code, rep),
                                      "unit_id", "no such unit", rep))
        goto out;
    if (in->party_id && strcmp (PQgetvalue (res, 0, TK_R_PARTY_KNOWN), "t") != 0
        && !s_known (tk_copy_party (app->db, req, nt->pid, in->party_id, rep), "party_id",
                     "no such party", rep))
        goto out;
    if (tz)
        snprintf (nt->tz, sizeof nt->tz, "%s", tz);
    else if (tk_copy_timezone (app->db, req, nt->pid, nt->tz, rep))
        goto out;
    sla_terms_t *t = &nt->terms;
    sla_terms_for_ticket (res, 0, TK_R_POLICY, in->type, in->priority, nt->now_us / 1000000, t);
    snprintf (nt->respond_min, sizeof nt->respond_min, "%d", t->respond_minutes);
    snprintf (nt->resolve_min, sizeof nt->resolve_min, "%d", t->resolve_minutes);
    snprintf (nt->warn_min, sizeof nt->warn_min, "%d", t->warn_minutes);
    tk_time_param (t->respond_by * 1000000, nt->respond_by);
    tk_time_param (t->resolve_by * 1000000, nt->resolve_by);
    rc = 0;
out:
    PQclear (res);
    return rc;
}

/* An inquiry resolved at creation keeps its answer in its data and counts
 * a hit on the FAQ entry it was answered from. 0, or -1 after answering. */
static int
s_answer (tickets_t *app, const env_request_t *req, const tk_new_ticket_t *nt, env_reply_t *rep)
{
    const tk_ticket_input_t *in = nt->in;
    if (!in->resolve_now)
        return 0;
    if (in->answer)
        cJSON_AddStringToObject (in->data, "answer", in->answer);
    int hit = in->faq_id ? faq_record_hit (app->db, nt->pid, in->faq_id) : 1;
    if (hit < 0)
        db_fail (app->db, req->id, rep, "faq hit");
    else if (hit == 0)
        env_reply_error (rep, 422, "validation_failed",
                         jv_detail ("faq_id", "no such FAQ entry in this property"), "invalid ticket");
    return hit == 1 ? 0 : -1;
}

/* Inserts the ticket with its number, its timeline and its events
 * (tk_ticket_insert: ticket.created, and for an inquiry answered at once its
 * resolve entry and ticket.resolved): the new ticket's row (TK_C_*
 * columns), or NULL after answering. */
static PGresult *
s_insert (tickets_t *app, const env_request_t *req, const tk_new_ticket_t *nt, env_reply_t *rep)
{
    const tk_ticket_input_t *in = nt->in;
    const char *now = nt->now, *resolved = in->resolve_now ? now : NULL;
    char *data_text = cJSON_PrintUnformatted (in->data);
    char resolve_data[80];
    snprintf (resolve_data, sizeof resolve_data, in->faq_id ? "{\"faq_id\":\"%s\"}" : "{}", in->faq_id);
    tk_ticket_new_t t = {
        .prefix = wf_prefix (in->type), .timezone = nt->tz,
        .type = in->type, .status = resolved ? "resolved" : "new",
        .title = in->title, .description = in->description, .unit_id = in->unit_id,
        .unit_code = in->unit_id ? nt->unit_code : NULL, .party_id = in->party_id,
        .channel = in->channel, .priority = in->priority, .category = in->category,
        .faq_id = resolved ? in->faq_id : NULL, .created_by = req->caller.user_id,
        .created_by_name = req->caller.name,
        .created_by_role = req->caller.role, .created_at = now,
        .respond_minutes = nt->respond_min, .resolve_minutes = nt->resolve_min,
        .warn_minutes = nt->warn_min, .calendar_id = nt->terms.calendar_id[0] ? nt->terms.calendar_id : NULL,
        .respond_by = nt->respond_by, .resolve_by = nt->resolve_by,
        .responded_at = resolved, .resolved_at = resolved, .data = data_text,
        .resolve_note = in->answer, .resolve_data = resolve_data,
        .requester_kind = in->requester_kind, .department = in->department,
    };
    PGresult *res = tk_ticket_insert (app->db, nt->pid, &t);
    free (data_text);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return NULL;
    }
    return res;
}

/* validate -> the unit, party, timezone and SLA terms (before any
 * transaction) -> the ticket with its number, timeline and events in one
 * statement (with the FAQ hit in one transaction for an inquiry answered at
 * once) -> reply. Every exit goes through out, which rolls back whatever is
 * open. */
void
tk_tickets_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    tk_ticket_input_t in = { 0 };
    /* the front desk or a manager opens tickets */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid)
        return;
    jv_t v = JV_INIT;
    if (!tk_ticket_input (&v, req->data, &in))
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid ticket");
    else
        tk_ticket_create_in (app, req, rep, pid, &in);
    cJSON_Delete (in.data);
}

int
tk_ticket_prepare (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                   const tk_ticket_input_t *in, tk_new_ticket_t *nt)
{
    *nt = (tk_new_ticket_t) { .in = in, .pid = pid };
    nt->now_us = tk_clock_now_us ();
    tk_time_param (nt->now_us, nt->now);
    return s_load (app, req, nt, rep);
}

PGresult *
tk_ticket_open (tickets_t *app, const env_request_t *req, env_reply_t *rep, const tk_new_ticket_t *nt)
{
    if (s_answer (app, req, nt, rep))
        return NULL;
    return s_insert (app, req, nt, rep);
}

int
tk_ticket_create_in (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                     const tk_ticket_input_t *in)
{
    PGresult *res = NULL;
    int rc = -1;
    tk_new_ticket_t nt;
    if (tk_ticket_prepare (app, req, rep, pid, in, &nt))
        goto out;
    /* the insert is one statement, its own transaction, outbox included;
     * only the FAQ hit of an inquiry answered at once must join it */
    if (in->resolve_now && db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        goto out;
    }
    if (!(res = tk_ticket_open (app, req, rep, &nt)))
        goto out;
    if (in->resolve_now && db_commit (app->db)) {
        db_fail (app->db, req->id, rep, "commit");
        goto out;
    }
    outbox_wake (app->outbox);
    env_reply_ok (rep, 201, tk_ticket_json (res, 0));
    log_info (req->id, "ticket %s (%s) created in property %s", PQgetvalue (res, 0, TK_C_NUMBER),
              PQgetvalue (res, 0, TK_C_ID), pid);
    rc = 0;
out:
    db_rollback (app->db);             /* whatever is still open; nothing after the commit */
    PQclear (res);
    return rc;
}

/* --- list ---------------------------------------------------------------------- */

static cJSON *
s_ticket_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return tk_ticket_json (res, row);
}

/* The page keys (page.h) of the lists: "<time>~<id>", the time as the row
 * holds it (DB_UTC_TS_US), what page_time_id reads back. */
static void
s_time_id_key (const PGresult *res, int row, int time_col, char *key, size_t cap)
{
    snprintf (key, cap, "%s%c%s", PQgetvalue (res, row, time_col), PAGE_KEY_SEP,
              PQgetvalue (res, row, TK_C_ID));
}

static void
s_created_key (const PGresult *res, int row, char *key, size_t cap)
{
    s_time_id_key (res, row, TK_C_CREATED_AT, key, cap);
}

static void
s_resolved_key (const PGresult *res, int row, char *key, size_t cap)
{
    s_time_id_key (res, row, TK_C_RESOLVED_AT, key, cap);
}

/* ?limit= and ?cursor= of a (time, id) list into page (page.h), and the
 * tickets list's filters into filter unless NULL: false after answering 422
 * with every problem. */
static bool
s_list_params (const env_request_t *req, page_time_id_t *page, tk_list_input_t *filter,
               env_reply_t *rep)
{
    jv_t v = JV_INIT;
    page_time_id (&v, req, page);
    if (filter)
        tk_list_input (&v, req->params, filter);
    if (jv_ok (&v))
        return true;
    env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid list parameters");
    return false;
}

void
tk_tickets_list (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    page_time_id_t page;
    tk_list_input_t in;
    const char *pid = env_property_scope (req, env_roles_staff, rep);
    if (!pid || !s_list_params (req, &page, &in, rep))
        return;
    /* a technician sees the tickets assigned to them (wf_sees), whatever they ask for */
    if (tk_role (req) == WF_TECHNICIAN)
        in.assignee_id = req->caller.user_id;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    page_reply_rows (tk_ticket_list (app->db, pid, &in, now, &page), page.limit, s_ticket_item, NULL,
                     s_created_key, rep, req->id);
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
    /* a resident's ticket is one of a unit they occupy now (me_tickets.h) */
    if (env_caller_is_resident (&req->caller))
        return tk_me_load (app, req, rep, pid, now, for_update);
    const char *tid = env_resource_scope (req, env_roles_staff, "tid", "ticket", rep, pid);
    if (!tid)
        return NULL;
    PGresult *res = tk_ticket_get (app->db, *pid, tid, now, for_update);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return NULL;
    }
    bool found = PQntuples (res) == 1;
    wf_actor_t who = tk_actor (req, found ? tk_value (res, 0, TK_C_ASSIGNEE) : NULL);
    if (!found || !wf_sees (&who)) {
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
    page_time_id_t page;
    /* follow-up calls are the front desk's */
    const char *pid = env_property_scope (req, env_roles_desk, rep);
    if (!pid || !s_list_params (req, &page, NULL, rep))
        return;
    int64_t now_us = tk_clock_now_us ();
    char now[40], before[40];
    tk_time_param (now_us, now);
    tk_time_param (now_us - app->callback_after_s * 1000000, before);
    page_reply_rows (tk_callbacks_due (app->db, pid, before, now, &page), page.limit, s_ticket_item, NULL,
                     s_resolved_key, rep, req->id);
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
