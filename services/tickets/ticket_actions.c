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

/* What a technician may do on a ticket assigned to them; the rest is the
 * front desk's and the managers'. */
static const char *const s_technician_actions[] = {
    "start", "hold", "resume", "resolve", "inspect", NULL
};

/* A technician's fee waits on the ticket of row 0 of res. */
static bool
s_fee_proposed (const PGresult *res)
{
    const char *st = tk_value (res, 0, TK_C_FEE_STATUS);
    return st && strcmp (st, "proposed") == 0;
}

/* The workflow's context of the ticket of row 0 of res. */
static wf_context_t
s_context (const PGresult *res, bool has_note)
{
    return (wf_context_t) {
        .held_from = tk_value (res, 0, TK_C_HELD_FROM),
        .has_feedback = PQgetvalue (res, 0, TK_C_HAS_FEEDBACK)[0] == 't',
        .has_note = has_note,
        .fee_proposed = s_fee_proposed (res),
    };
}

/* What this caller may do to the ticket of row 0 of res now: the flow's
 * moves from its status that would succeed (a complaint's close waits for
 * its feedback), less what the caller's role may not do. A console shows
 * these and nothing else. */
cJSON *
tk_allowed_actions (const env_request_t *req, const PGresult *res)
{
    const char *type = PQgetvalue (res, 0, TK_C_TYPE);
    const char *status = PQgetvalue (res, 0, TK_C_STATUS);
    wf_context_t ctx = s_context (res, true);  /* a note is asked for, not a reason to hide */
    const char *moves[WF_MAX_ALLOWED];
    size_t n = wf_allowed (type, status, &ctx, moves, WF_MAX_ALLOWED);
    cJSON *out = cJSON_CreateArray ();
    for (size_t i = 0; i < n; i++) {
        wf_result_t r;
        if (wf_next (type, status, moves[i], &ctx, &r) != WF_OK)
            continue;
        if (tk_is_technician (req) && !wf_in (s_technician_actions, moves[i]))
            continue;
        /* an item release is approved by a manager or, recorded by anyone at
         * the desk, by the unit's owner or tenant of record */
        if (r.effects & WF_MANAGER_ONLY && !tk_is_manager (req) && strcmp (type, "item_release") != 0)
            continue;
        cJSON_AddItemToArray (out, cJSON_CreateString (moves[i]));
    }
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
 * the ticket is not an item release with a unit (the locked load answers
 * that). 0, or -1 after answering (404, 503). A ticket's type and unit never
 * change, so the answer holds for the row locked next. */
static int
s_party_of_record (tickets_t *app, const env_request_t *req, const char *now, const char *party_id,
                   int *of_record, env_reply_t *rep)
{
    *of_record = 0;
    const char *pid;
    PGresult *cur = tk_load (app, req, rep, &pid, now, false);
    if (!cur)
        return -1;
    const char *unit_id = tk_value (cur, 0, TK_C_UNIT);
    int rc = 0;
    if (unit_id && strcmp (PQgetvalue (cur, 0, TK_C_TYPE), "item_release") == 0) {
        *of_record = tk_copy_of_record (app->db, req, pid, unit_id, party_id, rep);
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

/* The workflow's refusal answered: true when verdict is not WF_OK. */
static bool
s_refused (env_reply_t *rep, wf_verdict_t verdict, const s_move_t *m, const wf_context_t *ctx)
{
    switch (verdict) {
    case WF_OK:
        return false;
    case WF_NEEDS_FEEDBACK:
        s_invalid_transition (rep, m->type, m->status, m->in->action, ctx,
                              "a complaint is closed only after its follow-up call: record the feedback first");
        return true;
    case WF_FEE_PENDING:
        s_invalid_transition (rep, m->type, m->status, m->in->action, ctx,
                              "the repair's fee is proposed: a manager approves or rejects it first "
                              "(approve_fee, reject_fee)");
        return true;
    case WF_NEEDS_NOTE:
        env_reply_error (rep, 422, "validation_failed", jv_detail ("note", "is required: give the reason"),
                         "%s needs a note", m->in->action);
        return true;
    default:
        s_invalid_transition (rep, m->type, m->status, m->in->action, ctx, NULL);
        return true;
    }
}

/* Who may do it, the approving party and the fee, for this ticket; 0, or -1
 * after answering. of_record: s_party_of_record's answer. */
static int
s_check (const env_request_t *req, env_reply_t *rep, const PGresult *cur, const s_move_t *m,
         int of_record)
{
    const tk_action_input_t *in = m->in;
    bool release = strcmp (m->type, "item_release") == 0;
    /* an item release pass may carry the approval of the unit's owner or
     * tenant of record, which any of the front desk records */
    if (m->r.effects & WF_MANAGER_ONLY && !tk_is_manager (req) && (!release || !in->party_id)) {
        env_reply_error (rep, 403, "forbidden", NULL, "%s", release
                         ? "a manager approves, or give approved_by_party_id: the unit's owner or tenant"
                         : "only a manager may do this");
        return -1;
    }
    const char *why = NULL;
    if (in->party_id)
        why = !release ? "only an item release takes it"
            : !m->unit_id ? "the ticket has no unit"
            : !of_record ? "is not the owner or tenant of record of the ticket's unit" : NULL;
    if (why) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("approved_by_party_id", why),
                         "invalid action");
        return -1;
    }
    if (in->has_fee) {
        why = strcmp (m->type, "repair") != 0 ? "only a repair is charged"
            : !m->unit_id ? "the ticket has no unit to charge" : NULL;
        if (why) {
            env_reply_error (rep, 422, "validation_failed", jv_detail ("fee", why), "invalid action");
            return -1;
        }
        const char *was = tk_value (cur, 0, TK_C_FEE_STATUS);
        if (was && strcmp (was, "approved") == 0) {
            /* billed already: a second charge is a manager's charge, not a resolve's */
            env_reply_error (rep, 409, "conflict", jv_detail ("fee", "this ticket's fee is billed already"),
                             "this repair's fee is billed already");
            return -1;
        }
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
    /* the fee: only a manager's is billed at once (issue G); anyone else's
     * (a technician's) is proposed, and billed once a manager approves it */
    if (in->has_fee) {
        snprintf (m->fee_text, sizeof m->fee_text, "%" PRId64, in->fee_amount);
        c->fee_amount = m->fee_text;
        c->fee_item_code = in->fee_item_code;
        c->fee_status = tk_is_manager (req) ? "approved" : "proposed";
        m->bill_fee = tk_is_manager (req);
    }
    if (fx & (WF_APPROVES_FEE | WF_REJECTS_FEE)) {
        c->fee_status = (fx & WF_APPROVES_FEE) ? "approved" : "rejected";
        m->bill_fee = (fx & WF_APPROVES_FEE) != 0;
    }
    if (in->has_fee || fx & (WF_APPROVES_FEE | WF_REJECTS_FEE))
        s_fee_json (m->tl_data, c);
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
    res = tk_timeline_add (app->db, m->pid, m->tid, m->now, req->caller.user_id, req->caller.role,
                           m->in->action, m->status, m->r.to, m->in->note, false, m->tl_text);
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
    if (strcmp (m->type, "renovation") == 0 && strcmp (m->in->action, "approve") == 0) {
        /* billing raises the deposit and the management fee of the works */
        cJSON *d = tk_event_data (ticket);
        s_renovation_money (d, m->tdata, true);
        tk_event (events, "ticket.renovation_approved", d);
    }
    if (strcmp (m->type, "renovation") == 0 && strcmp (m->in->action, "accept") == 0) {
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
    PGresult *cur = NULL, *res = NULL;
    cJSON *ticket = NULL;
    jv_t v = JV_INIT;
    tk_action_input_t in;
    if (!env_property_scope (req, env_roles_staff, rep))
        return;
    if (!tk_action_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid action");
        return;
    }
    if (tk_is_technician (req) && !wf_in (s_technician_actions, in.action)) {
        env_reply_error (rep, 403, "forbidden", NULL,
                         "a technician may start, hold, resume, resolve and inspect their tickets");
        return;
    }
    s_move_t m = { .in = &in, .now_us = tk_clock_now_us () };
    char now[40];
    m.now = tk_time_param (m.now_us, now);
    int of_record = 0;
    if (in.party_id && s_party_of_record (app, req, now, in.party_id, &of_record, rep))
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
    wf_context_t ctx = s_context (cur, in.note != NULL);
    m.tl_data = cJSON_CreateObject ();
    m.tdata = cJSON_Parse (PQgetvalue (cur, 0, TK_C_DATA));
    if (!m.tdata)
        m.tdata = cJSON_CreateObject ();
    if (s_refused (rep, wf_next (m.type, m.status, in.action, &ctx, &m.r), &m, &ctx)
        || s_check (req, rep, cur, &m, of_record) || s_effects (app, req, rep, cur, &m))
        goto out;

    res = s_store (app, req, rep, &m);
    if (!res)
        goto out;
    ticket = tk_ticket_full (app, m.pid, res);
    if (!ticket) {
        db_fail (app->db, req->id, rep, "read back");
        goto out;
    }
    if (tk_publish (app, req, rep, m.pid, s_events (&m, ticket, res)))
        goto out;
    log_info (req->id, "ticket %s: %s (%s -> %s)", m.tid, in.action, m.status, m.r.to);
    cJSON_AddItemToObject (ticket, "allowed_actions", tk_allowed_actions (req, res));
    env_reply_ok (rep, 200, ticket);
    ticket = NULL;
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
                                     req->caller.user_id, req->caller.role, "comment", status,
                                     status, in.body, in.internal, NULL);
    if (!db_ok (res))
        db_reply_error (res, rep, req->id);
    else
        env_reply_ok (rep, 201, tk_timeline_json (res, 0));
    PQclear (res);
    PQclear (cur);
}

/* --- feedback (回访) --------------------------------------------------------------- */

void
tk_feedback_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *cur = NULL, *res = NULL;
    jv_t v = JV_INIT;
    /* follow-up calls are the front desk's */
    if (!env_property_scope (req, env_roles_desk, rep))
        return;
    tk_feedback_input_t in;
    if (!tk_feedback_input (&v, req->data, &in)) {
        env_reply_error (rep, 422, "validation_failed", jv_take (&v), "invalid feedback");
        return;
    }
    char now[40];
    tk_time_param (tk_clock_now_us (), now);
    if (db_begin (app->db)) {
        db_fail (app->db, req->id, rep, "begin");
        return;
    }
    const char *pid;
    cur = tk_load (app, req, rep, &pid, now, true);
    if (!cur) {
        db_rollback (app->db);
        goto out;
    }
    const char *tid = PQgetvalue (cur, 0, TK_C_ID);
    const char *status = PQgetvalue (cur, 0, TK_C_STATUS);
    if (!tk_value (cur, 0, TK_C_RESOLVED_AT)
        || (strcmp (status, "resolved") != 0 && strcmp (status, "closed") != 0)) {
        char problem[96];
        snprintf (problem, sizeof problem, "is %s; a follow-up call needs resolved or closed", status);
        env_reply_error (rep, 409, "invalid_transition", jv_detail ("status", problem),
                         "the follow-up call comes once the ticket is resolved");
        db_rollback (app->db);
        goto out;
    }
    res = tk_feedback_add (app->db, pid, tid, (int) in.rating, in.comment, req->caller.user_id, now);
    if (!db_ok (res)) {
        db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    if (PQntuples (res) == 0) {
        env_reply_error (rep, 409, "conflict", jv_detail ("ticket", "already has its feedback"),
                         "this ticket's follow-up call is recorded already");
        db_rollback (app->db);
        goto out;
    }
    cJSON *fb = tk_feedback_json (res, 0);
    cJSON_AddStringToObject (fb, "ticket_id", tid);
    PQclear (res);
    char data[32];
    snprintf (data, sizeof data, "{\"rating\":%d}", (int) in.rating);
    res = tk_timeline_add (app->db, pid, tid, now, req->caller.user_id, req->caller.role, "feedback",
                           status, status, in.comment, false, data);
    if (!db_ok (res)) {
        cJSON_Delete (fb);
        db_fail (app->db, req->id, rep, "timeline");
        goto out;
    }
    cJSON *ticket = tk_ticket_json (cur, 0);
    cJSON *d = tk_event_data (ticket);
    cJSON_Delete (ticket);
    cJSON_AddNumberToObject (d, "rating", (double) in.rating);
    cJSON_AddStringToObject (d, "called_by", req->caller.user_id);
    cJSON *events = cJSON_CreateArray ();
    tk_event (events, "ticket.feedback", d);
    if (tk_publish (app, req, rep, pid, events)) {
        cJSON_Delete (fb);
        goto out;
    }
    log_info (req->id, "ticket %s: feedback %d", tid, (int) in.rating);
    env_reply_ok (rep, 201, fb);
out:
    PQclear (cur);
    PQclear (res);
}
