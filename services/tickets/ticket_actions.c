/* ticket_actions: what staff do to a ticket: tickets.actions.create (the
 * workflow's moves), tickets.comments.create, tickets.feedback.create.
 * Each: validate -> load (FOR UPDATE) -> decide (workflow.c, pure) ->
 * store the ticket, its timeline row and its events in one transaction -> reply. */
#include "tickets.h"

#include "roster.h"
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

/* The workflow's context of the ticket of row 0 of res, and of the move in
 * (NULL: no move, as for allowed_actions). */
static wf_context_t
s_context (const PGresult *res, const tk_action_input_t *in)
{
    const char *fee = tk_value (res, 0, TK_C_FEE_STATUS);
    return (wf_context_t) {
        .held_from = tk_value (res, 0, TK_C_HELD_FROM),
        .has_feedback = PQgetvalue (res, 0, TK_C_HAS_FEEDBACK)[0] == 't',
        .fee_proposed = fee && strcmp (fee, "proposed") == 0,
        .fee_billed = fee && strcmp (fee, "approved") == 0,
        .has_note = in && in->note,
        .has_party = in && in->party_id,
        .has_fee = in && in->has_fee,
    };
}

/* What this caller may do to the ticket of row 0 of res now: exactly the
 * moves the action handler would accept (wf_allowed_for asks wf_decide). A
 * console shows these and nothing else. */
cJSON *
tk_allowed_actions (const env_request_t *req, const PGresult *res)
{
    wf_context_t ctx = s_context (res, NULL);
    wf_actor_t who = tk_actor (req, tk_value (res, 0, TK_C_ASSIGNEE));
    const char *moves[WF_MAX_ALLOWED];
    size_t n = wf_allowed_for (PQgetvalue (res, 0, TK_C_TYPE), PQgetvalue (res, 0, TK_C_STATUS), &ctx,
                               &who, moves, WF_MAX_ALLOWED);
    cJSON *out = cJSON_CreateArray ();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray (out, cJSON_CreateString (moves[i]));
    return out;
}

/* 409 invalid_transition naming what the flow allows from here. */
static void
s_invalid_transition (env_reply_t *rep, const char *type, const char *status, const char *action,
                      const wf_context_t *ctx, const char *why)
{
    const char *allowed[WF_MAX_ALLOWED];
    size_t n = wf_allowed (type, status, ctx, allowed, WF_MAX_ALLOWED);
    char list[256], problem[300];
    wf_allowed_text (allowed, n, list, sizeof list);
    snprintf (problem, sizeof problem, "allowed: %s", list);
    if (why)
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("action", problem), "%s", why);
    else
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("action", problem),
                         "%s is not possible for a %s ticket that is %s", action, type, status);
}

/* Before the transaction: whether the approving party is the owner or
 * tenant of record of the ticket's unit, from the copy of tenants (asked of
 * tenants when the copy says no: tenants_copy.h), so that no broker call
 * waits while the ticket's row is locked. *of_record: 1, 0, or 0 too when
 * the move takes no party's approval or the ticket has no unit (the locked
 * decision answers that). 0, or -1 after answering (404, 503). A ticket's
 * type and unit never change, so the answer holds for the row locked next. */
static int
s_party_of_record (tickets_t *app, const env_request_t *req, const char *now,
                   const tk_action_input_t *in, int *of_record, env_reply_t *rep)
{
    *of_record = 0;
    const char *pid;
    PGresult *cur = tk_load (app, req, rep, &pid, now, false);
    if (!cur)
        return -1;
    const char *unit_id = tk_value (cur, 0, TK_C_UNIT);
    int rc = 0;
    if (unit_id && wf_takes_party (PQgetvalue (cur, 0, TK_C_TYPE), in->action)) {
        *of_record = tk_copy_of_record (app->db, req, pid, unit_id, in->party_id, rep);
        rc = *of_record < 0 ? -1 : 0;
    }
    PQclear (cur);
    return rc;
}

/* The ticket's current columns as a change to apply (borrowed from res). */
static void
s_current (const PGresult *res, tk_ticket_change_t *c)
{
    c->status = tk_value (res, 0, TK_C_STATUS);
    c->assignee_id = tk_value (res, 0, TK_C_ASSIGNEE);
    c->escalated_to = tk_value (res, 0, TK_C_ESCALATED_TO);
    c->escalated_at = tk_value (res, 0, TK_C_ESCALATED_AT);
    c->responded_at = tk_value (res, 0, TK_C_RESPONDED_AT);
    c->resolved_at = tk_value (res, 0, TK_C_RESOLVED_AT);
    c->closed_at = tk_value (res, 0, TK_C_CLOSED_AT);
    c->hold_since = tk_value (res, 0, TK_C_HOLD_SINCE);
    c->respond_by = tk_value (res, 0, TK_C_RESPOND_BY);
    c->resolve_by = tk_value (res, 0, TK_C_RESOLVE_BY);
    c->fee_amount = tk_value (res, 0, TK_C_FEE_AMOUNT);
    c->fee_item_code = tk_value (res, 0, TK_C_FEE_ITEM);
    c->fee_status = tk_value (res, 0, TK_C_FEE_STATUS);
    c->data = tk_value (res, 0, TK_C_DATA);
}

static int64_t
s_epoch (const PGresult *res, int col)
{
    const char *v = tk_value (res, 0, col);
    return v ? strtoll (v, NULL, 10) : 0;
}

/* What one action makes of the locked ticket: who and what it is, the
 * workflow's verdict, the change to its columns and what the action records
 * (its timeline row's data, the ticket's data after it). Strings in c point
 * into the ticket's row, the input, or the buffers here. */
typedef struct {
    const tk_action_input_t *in;
    wf_actor_t who;
    const char *pid, *tid, *type, *status, *unit_id, *now;
    int64_t now_us;
    wf_result_t r;
    tk_ticket_change_t c;
    cJSON *tl_data, *tdata;
    char *tl_text, *tdata_text;
    bool bill_fee;
    char assignee[ROSTER_USER_MAX + 1], rby[40], sby[40], fee_text[32];
} s_move_t;

static void
s_move_reset (s_move_t *m)
{
    cJSON_Delete (m->tl_data);
    cJSON_Delete (m->tdata);
    free (m->tl_text);
    free (m->tdata_text);
}

/* 422 validation_failed naming the field. */
static void
s_invalid (env_reply_t *rep, const char *field, const char *problem)
{
    env_reply_error (rep, 422, "validation_failed", jv_detail (field, problem), "invalid action");
}

/* A refusal of the technician's, before any ticket is loaded. */
static void
s_not_technicians (env_reply_t *rep)
{
    env_reply_error (rep, 403, "forbidden", NULL,
                     "a technician may start, hold, resume, resolve and inspect their tickets");
}

/* The workflow's refusal (wf_decide) answered: true when verdict is not WF_OK. */
static bool
s_refused (env_reply_t *rep, wf_verdict_t verdict, const s_move_t *m, const wf_context_t *ctx)
{
    const char *action = m->in->action;
    switch (verdict) {
    case WF_OK:
        return false;
    case WF_NOT_VISIBLE:
        env_reply_error (rep, 404, "not_found", NULL, "no such ticket");
        break;
    case WF_FORBIDDEN:
        if (m->who.role == WF_TECHNICIAN)
            s_not_technicians (rep);
        else
            env_reply_error (rep, 403, "forbidden", NULL, "only a manager may do this");
        break;
    case WF_NEEDS_PARTY:
        env_reply_error (rep, 403, "forbidden", NULL,
                         "a manager approves, or give approved_by_party_id: the unit's owner or tenant");
        break;
    case WF_PARTY_NOT_TAKEN:
        s_invalid (rep, "approved_by_party_id", "only an item release takes it");
        break;
    case WF_FEE_NOT_TAKEN:
        s_invalid (rep, "fee", "only a repair is charged");
        break;
    case WF_FEE_BILLED:
        /* billed already: a second charge is a manager's charge, not a resolve's */
        env_reply_error (rep, 409, "conflict", jv_detail ("fee", "this ticket's fee is billed already"),
                         "this repair's fee is billed already");
        break;
    case WF_NEEDS_FEEDBACK:
        s_invalid_transition (rep, m->type, m->status, action, ctx,
                              "a complaint is closed only after its follow-up call: record the feedback first");
        break;
    case WF_FEE_PENDING:
        s_invalid_transition (rep, m->type, m->status, action, ctx,
                              "the repair's fee is proposed: a manager approves or rejects it first "
                              "(approve_fee, reject_fee)");
        break;
    case WF_NEEDS_NOTE:
        env_reply_error (rep, 422, "validation_failed", jv_detail ("note", "is required: give the reason"),
                         "%s needs a note", action);
        break;
    default:
        s_invalid_transition (rep, m->type, m->status, action, ctx, NULL);
        break;
    }
    return true;
}

/* What the move carries that needs the ticket's unit: the approving party
 * must be its owner or tenant of record (of_record: s_party_of_record's
 * answer), a fee is charged to it. 0, or -1 after answering 422. */
static int
s_check_unit (env_reply_t *rep, const s_move_t *m, int of_record)
{
    if (m->in->party_id && (!m->unit_id || !of_record)) {
        s_invalid (rep, "approved_by_party_id", !m->unit_id ? "the ticket has no unit"
                   : "is not the owner or tenant of record of the ticket's unit");
        return -1;
    }
    if (m->in->has_fee && !m->unit_id) {
        s_invalid (rep, "fee", "the ticket has no unit to charge");
        return -1;
    }
    return 0;
}

/* WF_ASSIGNS: the assignee named, else whoever is on duty (the post named
 * like the category, else the type's); 0, or -1 after answering. */
static int
s_assign (tickets_t *app, const env_request_t *req, env_reply_t *rep, const PGresult *cur, s_move_t *m)
{
    if (m->in->assignee_id)
        snprintf (m->assignee, sizeof m->assignee, "%s", m->in->assignee_id);
    else {
        const char *category = tk_value (cur, 0, TK_C_CATEGORY);
        int64_t now_s = m->now_us / 1000000;
        int found = category ? roster_on_duty (app->db, m->pid, category, now_s, m->assignee) : 0;
        if (found == 0)
            found = roster_pick_assignee (app->db, m->pid, m->type, now_s, m->assignee);
        if (found < 0) {
            db_fail (app->db, req->id, rep, "roster");
            return -1;
        }
        if (found == 0) {
            env_reply_error (rep, 409, "conflict", jv_detail ("assignee_id", "nobody is on duty"),
                             "nobody is on duty for %s tickets now: give an assignee_id", m->type);
            return -1;
        }
        cJSON_AddBoolToObject (m->tl_data, "auto", true);
    }
    m->c.assignee_id = m->assignee;
    cJSON_AddStringToObject (m->tl_data, "assignee_id", m->assignee);
    return 0;
}

/* WF_RESUMES: the clock stood still from hold_since, so the deadlines move
 * by the business time that passed (sla.h); 0, or -1 after answering. */
static int
s_resume (tickets_t *app, const env_request_t *req, env_reply_t *rep, const PGresult *cur, s_move_t *m)
{
    int64_t nr = 0, ns = 0;
    int64_t respond_by = m->c.responded_at ? 0 : s_epoch (cur, TK_C_RESPOND_BY_S);
    if (sla_resume_deadlines (app->db, m->pid, tk_value (cur, 0, TK_C_CALENDAR),
                              s_epoch (cur, TK_C_HOLD_SINCE_S), m->now_us / 1000000, respond_by,
                              s_epoch (cur, TK_C_RESOLVE_BY_S), &nr, &ns)) {
        db_fail (app->db, req->id, rep, "sla resume");
        return -1;
    }
    if (nr)
        m->c.respond_by = tk_time_param (nr * 1000000, m->rby);
    if (ns)
        m->c.resolve_by = tk_time_param (ns * 1000000, m->sby);
    cJSON_AddStringToObject (m->tl_data, "resumed_to", m->r.to);
    return 0;
}

/* The fee of the timeline row and of the events, from the change. */
static void
s_fee_json (cJSON *to, const tk_ticket_change_t *c)
{
    cJSON *f = cJSON_AddObjectToObject (to, "fee");
    cJSON_AddNumberToObject (f, "amount", (double) strtoll (c->fee_amount, NULL, 10));
    cJSON_AddStringToObject (f, "currency", "CNY");
    if (c->fee_item_code)
        cJSON_AddStringToObject (f, "fee_item_code", c->fee_item_code);
    cJSON_AddStringToObject (f, "status", c->fee_status);
}

/* The workflow's effects on the columns (wf_result_t.effects), the
 * approving party and the fee: fills m->c; 0, or -1 after answering. */
static int
s_effects (tickets_t *app, const env_request_t *req, env_reply_t *rep, const PGresult *cur, s_move_t *m)
{
    const tk_action_input_t *in = m->in;
    tk_ticket_change_t *c = &m->c;
    unsigned fx = m->r.effects;
    s_current (cur, c);
    c->status = m->r.to;
    c->updated_at = m->now;
    if (in->party_id) {
        cJSON_AddStringToObject (m->tl_data, "approved_by_party_id", in->party_id);
        cJSON_DeleteItemFromObject (m->tdata, "approved_by_party_id");
        cJSON_AddStringToObject (m->tdata, "approved_by_party_id", in->party_id);
    }
    if (fx & WF_ASSIGNS && s_assign (app, req, rep, cur, m))
        return -1;
    if (fx & WF_ESCALATES) {
        /* to the manager named, who then handles it; else to "the managers" */
        c->escalated_to = "managers";
        if (in->assignee_id) {
            snprintf (m->assignee, sizeof m->assignee, "%s", in->assignee_id);
            c->assignee_id = c->escalated_to = m->assignee;
            cJSON_AddStringToObject (m->tl_data, "escalated_to", m->assignee);
        }
        c->escalated_at = m->now;
    }
    if ((fx & WF_RESPONDS) && !c->responded_at)
        c->responded_at = m->now;
    if (fx & WF_RESOLVES)
        c->resolved_at = m->now;
    if (fx & WF_CLOSES)
        c->closed_at = m->now;
    if (fx & WF_UNRESOLVES)
        c->resolved_at = c->closed_at = NULL;
    if (fx & WF_HOLDS)
        c->hold_since = m->now;
    if (fx & WF_RESUMES && s_resume (app, req, rep, cur, m))
        return -1;
    if (strcmp (m->r.to, "on_hold") != 0)
        c->hold_since = NULL;
    /* the fee: the move's own (a manager's approved at once, anyone else's
     * proposed), or a proposed one a manager approves or rejects */
    if (in->has_fee) {
        snprintf (m->fee_text, sizeof m->fee_text, "%" PRId64, in->fee_amount);
        c->fee_amount = m->fee_text;
        c->fee_item_code = in->fee_item_code;
    }
    if (fx & (WF_APPROVES_FEE | WF_REJECTS_FEE | WF_PROPOSES_FEE)) {
        c->fee_status = (fx & WF_APPROVES_FEE) ? "approved"
                      : (fx & WF_REJECTS_FEE) ? "rejected" : "proposed";
        m->bill_fee = (fx & WF_APPROVES_FEE) != 0;
        s_fee_json (m->tl_data, c);
    }
    m->tdata_text = cJSON_PrintUnformatted (m->tdata);
    c->data = m->tdata_text;
    return 0;
}

/* Writes the change and the timeline row, and reads the ticket back (the
 * caller's to PQclear); NULL after answering. */
static PGresult *
s_store (tickets_t *app, const env_request_t *req, env_reply_t *rep, s_move_t *m)
{
    PGresult *res = tk_ticket_update (app->db, m->pid, m->tid, &m->c);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        PQclear (res);
        return NULL;
    }
    PQclear (res);
    m->tl_text = cJSON_PrintUnformatted (m->tl_data);
    res = tk_timeline_add (app->db, m->pid, m->tid, m->now, &req->caller, m->in->action, m->status, m->r.to, m->in->note, false, m->tl_text);
    bool ok = db_ok (res);
    PQclear (res);
    res = ok ? tk_ticket_get (app->db, m->pid, m->tid, m->now, false) : NULL;
    if (!ok || !db_ok (res) || PQntuples (res) != 1) {
        db_fail (app->db, req->id, rep, ok ? "read back" : "timeline");
        PQclear (res);
        return NULL;
    }
    return res;
}

/* The renovation's events carry its deposit (and management fee) in fen. */
static void
s_renovation_money (cJSON *d, const cJSON *tdata, bool with_fee)
{
    const cJSON *dep = cJSON_GetObjectItem (tdata, "deposit");
    cJSON_AddNumberToObject (d, "deposit", cJSON_IsNumber (dep) ? dep->valuedouble : 0);
    if (with_fee) {
        const cJSON *fee = cJSON_GetObjectItem (tdata, "management_fee");
        cJSON_AddNumberToObject (d, "management_fee", cJSON_IsNumber (fee) ? fee->valuedouble : 0);
    }
    cJSON_AddStringToObject (d, "currency", "CNY");
}

/* The events of the move, for consumers (billing, notifications) to act on. */
static cJSON *
s_events (const s_move_t *m, const cJSON *ticket, const PGresult *res)
{
    cJSON *events = cJSON_CreateArray ();
    if (m->r.effects & WF_ASSIGNS)
        tk_event (events, "ticket.assigned", tk_event_data (ticket));
    if (m->r.effects & WF_ESCALATES) {
        cJSON *d = tk_event_data (ticket);
        cJSON_AddItemToObject (d, "escalated_to",
                               cJSON_Duplicate (cJSON_GetObjectItem (ticket, "escalated_to"), 1));
        cJSON_AddItemToObject (d, "escalated_at",
                               cJSON_Duplicate (cJSON_GetObjectItem (ticket, "escalated_at"), 1));
        cJSON_AddStringToObject (d, "reason", m->in->note ? m->in->note : "escalated by staff");
        tk_event (events, "ticket.escalated", d);
    }
    if (strcmp (m->r.to, "resolved") == 0 && strcmp (m->status, "resolved") != 0) {
        cJSON *d = tk_event_data (ticket);
        if (m->in->has_fee)
            cJSON_AddItemToObject (d, "fee", cJSON_Duplicate (cJSON_GetObjectItem (m->tl_data, "fee"), 1));
        tk_event (events, "ticket.resolved", d);
    }
    if (m->bill_fee && m->unit_id) {
        /* what billing charges the unit: a manager's fee, or a proposed one approved */
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "ticket_id", m->tid);
        cJSON_AddStringToObject (d, "number", PQgetvalue (res, 0, TK_C_NUMBER));
        cJSON_AddStringToObject (d, "property_id", m->pid);
        cJSON_AddStringToObject (d, "unit_id", m->unit_id);
        cJSON_AddNumberToObject (d, "amount", (double) strtoll (m->c.fee_amount, NULL, 10));
        cJSON_AddStringToObject (d, "currency", "CNY");
        if (m->c.fee_item_code)
            cJSON_AddStringToObject (d, "fee_item_code", m->c.fee_item_code);
        else
            cJSON_AddNullToObject (d, "fee_item_code");
        tk_event (events, "ticket.fee_charged", d);
    }
    if (strcmp (m->r.to, "closed") == 0)
        tk_event (events, "ticket.closed", tk_event_data (ticket));
    if (m->r.effects & WF_RAISES_DEPOSIT) {
        /* billing raises the deposit and the management fee of the works */
        cJSON *d = tk_event_data (ticket);
        s_renovation_money (d, m->tdata, true);
        tk_event (events, "ticket.renovation_approved", d);
    }
    if (m->r.effects & WF_REFUNDS_DEPOSIT) {
        /* 验收 passed: the deposit may be refunded */
        cJSON *d = tk_event_data (ticket);
        s_renovation_money (d, m->tdata, false);
        cJSON_AddBoolToObject (d, "deposit_refund", true);
        tk_event (events, "ticket.renovation_accepted", d);
    }
    return events;
}

/* validate -> (the approving party, before any lock) -> load FOR UPDATE ->
 * decide (workflow.c) -> store and events in one transaction -> reply. Every
 * exit after BEGIN goes through out, which rolls back whatever is open. */
void
tk_actions_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    jv_t v = JV_INIT;
    tk_action_input_t in;
    if (!env_property_scope (req, env_roles_staff, rep))
        return;
    if (!tk_action_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid action");
        return;
    }
    if (!wf_role_may (tk_role (req), in.action)) {
        s_not_technicians (rep);
        return;
    }
    tk_action_apply (app, req, rep, &in, NULL);
}

void
tk_action_apply (tickets_t *app, const env_request_t *req, env_reply_t *rep,
                 const tk_action_input_t *in_, const char *only_from)
{
    PGresult *cur = NULL, *res = NULL;
    cJSON *ticket = NULL;
    tk_action_input_t in = *in_;
    s_move_t m = { .in = &in, .now_us = tk_clock_now_us () };
    char now[40];
    m.now = tk_time_param (m.now_us, now);
    int of_record = 0;
    if (in.party_id && s_party_of_record (app, req, now, &in, &of_record, rep))
        return;

    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    cur = tk_load (app, req, rep, &m.pid, now, true);
    if (!cur)
        goto out;
    m.tid = PQgetvalue (cur, 0, TK_C_ID);
    m.type = PQgetvalue (cur, 0, TK_C_TYPE);
    m.status = PQgetvalue (cur, 0, TK_C_STATUS);
    m.unit_id = tk_value (cur, 0, TK_C_UNIT);
    m.who = tk_actor (req, tk_value (cur, 0, TK_C_ASSIGNEE));
    wf_context_t ctx = s_context (cur, &in);
    if (only_from && strcmp (m.status, only_from) != 0) {
        s_invalid_transition (rep, m.type, m.status, in.action, &ctx, NULL);
        goto out;
    }
    m.tl_data = cJSON_CreateObject ();
    m.tdata = cJSON_Parse (PQgetvalue (cur, 0, TK_C_DATA));
    if (!m.tdata)
        m.tdata = cJSON_CreateObject ();
    if (s_refused (rep, wf_decide (m.type, m.status, in.action, &ctx, &m.who, &m.r), &m, &ctx)
        || s_check_unit (rep, &m, of_record) || s_effects (app, req, rep, cur, &m))
        goto out;

    res = s_store (app, req, rep, &m);
    if (!res)
        goto out;
    ticket = tk_ticket_full (app, m.pid, res);
    if (!ticket) {
        db_fail (app->db, req->id, rep, "read back");
        goto out;
    }
    cJSON *events = s_events (&m, ticket, res);
    cJSON_AddItemToObject (ticket, "allowed_actions", tk_allowed_actions (req, res));
    if (tk_commit_reply (app, req, rep, m.pid, events, 200, &ticket) == 0)
        log_info (req->id, "ticket %s: %s (%s -> %s)", m.tid, in.action, m.status, m.r.to);
out:
    db_rollback (app->db);             /* whatever is still open; nothing after the commit */
    s_move_reset (&m);
    PQclear (cur);
    PQclear (res);
    cJSON_Delete (ticket);
}

/* --- comments ------------------------------------------------------------------ */

void
tk_comments_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    jv_t v = JV_INIT;
    if (!env_property_scope (req, env_roles_staff, rep))
        return;
    tk_comment_input_t in;
    if (!tk_comment_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid comment");
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *pid;
    PGresult *cur = tk_load (app, req, rep, &pid, now, false);
    if (!cur)
        return;
    const char *status = PQgetvalue (cur, 0, TK_C_STATUS);
    PGresult *res = tk_timeline_add (app->db, pid, PQgetvalue (cur, 0, TK_C_ID), now,
                                     &req->caller, "comment", status,
                                     status, in.body, in.internal, NULL);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else
        env_reply_ok (rep, 201, tk_timeline_json (res, 0));
    PQclear (res);
    PQclear (cur);
}

/* --- feedback (回访) --------------------------------------------------------------- */

/* 409 unless the locked ticket takes its follow-up call now; true after answering. */
static bool
s_feedback_refused (const PGresult *cur, env_reply_t *rep)
{
    const char *status = PQgetvalue (cur, 0, TK_C_STATUS);
    if (wf_feedback_due (status, tk_value (cur, 0, TK_C_RESOLVED_AT) != NULL))
        return false;
    char problem[96];
    snprintf (problem, sizeof problem, "is %s; a follow-up call needs resolved or closed", status);
    env_reply_error (rep, 409, "invalid_transition", jv_detail ("status", problem),
                     "the follow-up call comes once the ticket is resolved");
    return true;
}

/* Records the call and its timeline row on the locked ticket of cur: the
 * feedback as answered, or NULL after answering (409 when it has one). */
static cJSON *
s_feedback_store (tickets_t *app, const env_request_t *req, env_reply_t *rep, const char *pid,
                  const PGresult *cur, const tk_feedback_input_t *in, const char *now)
{
    const char *tid = PQgetvalue (cur, 0, TK_C_ID), *status = PQgetvalue (cur, 0, TK_C_STATUS);
    PGresult *res = tk_feedback_add (app->db, pid, tid, (int) in->rating, in->comment,
                                     req->caller.user_id, now);
    cJSON *fb = NULL;
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else if (PQntuples (res) == 0)
        env_reply_error (rep, 409, "conflict", jv_detail ("ticket", "already has its feedback"),
                         "this ticket's follow-up call is recorded already");
    else
        fb = tk_feedback_json (res, 0);
    PQclear (res);
    if (!fb)
        return NULL;
    cJSON_AddStringToObject (fb, "ticket_id", tid);
    char data[32];
    snprintf (data, sizeof data, "{\"rating\":%d}", (int) in->rating);
    res = tk_timeline_add (app->db, pid, tid, now, &req->caller, "feedback",
                           status, status, in->comment, false, data);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "timeline");
        cJSON_Delete (fb);
        fb = NULL;
    }
    PQclear (res);
    return fb;
}

/* The ticket.feedback event: the ticket's summary, the rating and who called. */
static cJSON *
s_feedback_events (const env_request_t *req, const PGresult *cur, const tk_feedback_input_t *in)
{
    cJSON *ticket = tk_ticket_json (cur, 0);
    cJSON *d = tk_event_data (ticket);
    cJSON_Delete (ticket);
    cJSON_AddNumberToObject (d, "rating", (double) in->rating);
    cJSON_AddStringToObject (d, "called_by", req->caller.user_id);
    cJSON *events = cJSON_CreateArray ();
    tk_event (events, "ticket.feedback", d);
    return events;
}

/* validate -> load FOR UPDATE -> decide (wf_feedback_due) -> store the call,
 * its timeline row and ticket.feedback in one transaction -> reply. */
void
tk_feedback_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    jv_t v = JV_INIT;
    /* follow-up calls are the front desk's */
    if (!env_property_scope (req, env_roles_desk, rep))
        return;
    tk_feedback_input_t in;
    if (!tk_feedback_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid feedback");
        return;
    }
    tk_feedback_record (app, req, rep, &in);
}

void
tk_feedback_record (tickets_t *app, const env_request_t *req, env_reply_t *rep,
                    const tk_feedback_input_t *in_)
{
    PGresult *cur = NULL;
    cJSON *fb = NULL;
    tk_feedback_input_t in = *in_;
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    const char *pid;
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    cur = tk_load (app, req, rep, &pid, now, true);
    if (!cur || s_feedback_refused (cur, rep))
        goto out;
    fb = s_feedback_store (app, req, rep, pid, cur, &in, now);
    if (fb && tk_commit_reply (app, req, rep, pid, s_feedback_events (req, cur, &in), 201, &fb) == 0)
        log_info (req->id, "ticket %s: feedback %d", PQgetvalue (cur, 0, TK_C_ID), (int) in.rating);
out:
    db_rollback (app->db);             /* whatever is still open; nothing after the commit */
    cJSON_Delete (fb);
    PQclear (cur);
}
