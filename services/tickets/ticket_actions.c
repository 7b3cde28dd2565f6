/* ticket_actions: what staff do to a ticket: tickets.actions.create (the
 * workflow's moves), tickets.comments.create, tickets.feedback.create.
 * Each: validate -> load (FOR UPDATE) -> decide (workflow.c, pure) ->
 * store the ticket, its timeline row and its events in one transaction -> reply. */
#include "tickets.h"

#include "roster.h"
#include "sla.h"
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

/* What this caller may do to the ticket of row 0 of res now: the flow's
 * moves from its status that would succeed (a complaint's close waits for
 * its feedback), less what the caller's role may not do. A console shows
 * these and nothing else. */
cJSON *
tk_allowed_actions (const env_request_t *req, const PGresult *res)
{
    const char *type = PQgetvalue (res, 0, TK_C_TYPE);
    const char *status = PQgetvalue (res, 0, TK_C_STATUS);
    wf_context_t ctx = {
        .held_from = tk_value (res, 0, TK_C_HELD_FROM),
        .has_feedback = PQgetvalue (res, 0, TK_C_HAS_FEEDBACK)[0] == 't',
        .has_note = true,                      /* a note is asked for, not a reason to hide */
        .fee_proposed = s_fee_proposed (res),
    };
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

/* True when party_id is the owner or tenant of record of the unit (asked of
 * tenants). -1 after answering 503. */
static int
s_party_of_record (const env_request_t *req, const char *pid, const char *uid,
                   const char *party_id, env_reply_t *rep)
{
    cJSON *unit = NULL;
    int found = tk_unit_fetch (req, pid, uid, &unit, rep);
    if (found <= 0)
        return found;
    int ok = 0;
    const cJSON *o;
    cJSON_ArrayForEach (o, cJSON_GetObjectItem (unit, "occupants")) {
        const char *p = cJSON_GetStringValue (cJSON_GetObjectItem (o, "party_id"));
        const char *role = cJSON_GetStringValue (cJSON_GetObjectItem (o, "role"));
        if (p && role && strcmp (p, party_id) == 0
            && (strcmp (role, "owner") == 0 || strcmp (role, "tenant") == 0))
            ok = 1;
    }
    cJSON_Delete (unit);
    return ok;
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

void
tk_actions_create (void *app_, const env_request_t *req, env_reply_t *rep)
{
    tickets_t *app = app_;
    PGresult *cur = NULL, *res = NULL;
    cJSON *events = NULL, *tl_data = NULL, *tdata = NULL, *ticket = NULL;
    char *tl_text = NULL, *tdata_text = NULL;
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
    int64_t now_us = tk_clock_now_us ();
    char now[40];
    tk_time_param (now_us, now);

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
    const char *type = PQgetvalue (cur, 0, TK_C_TYPE);
    const char *status = PQgetvalue (cur, 0, TK_C_STATUS);
    const char *unit_id = tk_value (cur, 0, TK_C_UNIT);

    /* decide */
    wf_context_t ctx = {
        .held_from = tk_value (cur, 0, TK_C_HELD_FROM),
        .has_feedback = PQgetvalue (cur, 0, TK_C_HAS_FEEDBACK)[0] == 't',
        .has_note = in.note != NULL,
        .fee_proposed = s_fee_proposed (cur),
    };
    wf_result_t r;
    switch (wf_next (type, status, in.action, &ctx, &r)) {
    case WF_OK:
        break;
    case WF_NEEDS_FEEDBACK:
        s_invalid_transition (rep, type, status, in.action, &ctx,
                              "a complaint is closed only after its follow-up call: record the feedback first");
        db_rollback (app->db);
        goto out;
    case WF_FEE_PENDING:
        s_invalid_transition (rep, type, status, in.action, &ctx,
                              "the repair's fee is proposed: a manager approves or rejects it first "
                              "(approve_fee, reject_fee)");
        db_rollback (app->db);
        goto out;
    case WF_NEEDS_NOTE:
        env_reply_error (rep, 422, "validation_failed", jv_detail ("note", "is required: give the reason"),
                         "%s needs a note", in.action);
        db_rollback (app->db);
        goto out;
    default:
        s_invalid_transition (rep, type, status, in.action, &ctx, NULL);
        db_rollback (app->db);
        goto out;
    }
    tl_data = cJSON_CreateObject ();
    tdata = cJSON_Parse (PQgetvalue (cur, 0, TK_C_DATA));
    if (!tdata)
        tdata = cJSON_CreateObject ();

    if (r.effects & WF_MANAGER_ONLY && !tk_is_manager (req)) {
        /* an item release pass may carry the approval of the unit's owner or
         * tenant of record, which any of the front desk records */
        if (strcmp (type, "item_release") != 0 || !in.party_id) {
            env_reply_error (rep, 403, "forbidden", NULL, "%s", strcmp (type, "item_release") == 0
                             ? "a manager approves, or give approved_by_party_id: the unit's owner or tenant"
                             : "only a manager may do this");
            db_rollback (app->db);
            goto out;
        }
    }
    if (in.party_id) {
        if (strcmp (type, "item_release") != 0) {
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("approved_by_party_id", "only an item release takes it"),
                             "invalid action");
            db_rollback (app->db);
            goto out;
        }
        if (!unit_id) {
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("approved_by_party_id", "the ticket has no unit"),
                             "invalid action");
            db_rollback (app->db);
            goto out;
        }
        int ok = s_party_of_record (req, pid, unit_id, in.party_id, rep);
        if (ok < 0) {
            db_rollback (app->db);
            goto out;
        }
        if (ok == 0) {
            env_reply_error (rep, 422, "validation_failed",
                             jv_detail ("approved_by_party_id",
                                        "is not the owner or tenant of record of the ticket's unit"),
                             "invalid action");
            db_rollback (app->db);
            goto out;
        }
        cJSON_AddStringToObject (tl_data, "approved_by_party_id", in.party_id);
        cJSON_DeleteItemFromObject (tdata, "approved_by_party_id");
        cJSON_AddStringToObject (tdata, "approved_by_party_id", in.party_id);
    }
    if (in.has_fee) {
        const char *why = strcmp (type, "repair") != 0 ? "only a repair is charged"
                        : !unit_id ? "the ticket has no unit to charge" : NULL;
        if (why) {
            env_reply_error (rep, 422, "validation_failed", jv_detail ("fee", why), "invalid action");
            db_rollback (app->db);
            goto out;
        }
        const char *was = tk_value (cur, 0, TK_C_FEE_STATUS);
        if (was && strcmp (was, "approved") == 0) {
            /* billed already: a second charge is a manager's charge, not a resolve's */
            env_reply_error (rep, 409, "conflict", jv_detail ("fee", "this ticket's fee is billed already"),
                             "this repair's fee is billed already");
            db_rollback (app->db);
            goto out;
        }
    }

    tk_ticket_change_t c;
    s_current (cur, &c);
    c.status = r.to;
    c.updated_at = now;
    char assignee[ROSTER_USER_MAX + 1] = "";
    if (r.effects & WF_ASSIGNS) {
        if (in.assignee_id)
            snprintf (assignee, sizeof assignee, "%s", in.assignee_id);
        else {
            /* whoever is on duty: the post named like the category, else the type's */
            const char *category = tk_value (cur, 0, TK_C_CATEGORY);
            int found = category ? roster_on_duty (app->db, pid, category, now_us / 1000000, assignee) : 0;
            if (found == 0)
                found = roster_pick_assignee (app->db, pid, type, now_us / 1000000, assignee);
            if (found < 0) {
                db_fail (app->db, req->id, rep, "roster");
                goto out;
            }
            if (found == 0) {
                env_reply_error (rep, 409, "conflict", jv_detail ("assignee_id", "nobody is on duty"),
                                 "nobody is on duty for %s tickets now: give an assignee_id", type);
                db_rollback (app->db);
                goto out;
            }
            cJSON_AddBoolToObject (tl_data, "auto", true);
        }
        c.assignee_id = assignee;
        cJSON_AddStringToObject (tl_data, "assignee_id", assignee);
    }
    if (r.effects & WF_ESCALATES) {
        /* to the manager named, who then handles it; else to "the managers" */
        if (in.assignee_id) {
            snprintf (assignee, sizeof assignee, "%s", in.assignee_id);
            c.assignee_id = assignee;
            c.escalated_to = assignee;
            cJSON_AddStringToObject (tl_data, "escalated_to", assignee);
        }
        else
            c.escalated_to = "managers";
        c.escalated_at = now;
    }
    if ((r.effects & WF_RESPONDS) && !c.responded_at)
        c.responded_at = now;
    if (r.effects & WF_RESOLVES)
        c.resolved_at = now;
    if (r.effects & WF_CLOSES)
        c.closed_at = now;
    if (r.effects & WF_UNRESOLVES)
        c.resolved_at = c.closed_at = NULL;
    if (r.effects & WF_HOLDS)
        c.hold_since = now;
    char rby[40], sby[40];
    if (r.effects & WF_RESUMES) {
        /* the clock stood still from hold_since: the deadlines move by the
         * business time that passed (sla.h) */
        int64_t nr = 0, ns = 0;
        int64_t respond_by = c.responded_at ? 0 : s_epoch (cur, TK_C_RESPOND_BY_S);
        if (sla_resume_deadlines (app->db, pid, tk_value (cur, 0, TK_C_CALENDAR),
                                  s_epoch (cur, TK_C_HOLD_SINCE_S), now_us / 1000000, respond_by,
                                  s_epoch (cur, TK_C_RESOLVE_BY_S), &nr, &ns)) {
            db_fail (app->db, req->id, rep, "sla resume");
            goto out;
        }
        if (nr)
            c.respond_by = tk_time_param (nr * 1000000, rby);
        if (ns)
            c.resolve_by = tk_time_param (ns * 1000000, sby);
        cJSON_AddStringToObject (tl_data, "resumed_to", r.to);
    }
    if (strcmp (r.to, "on_hold") != 0)
        c.hold_since = NULL;
    /* the fee: only a manager's is billed at once (issue G); anyone else's
     * (a technician's) is proposed, and billed once a manager approves it */
    char fee_text[32];
    bool bill_fee = false;
    if (in.has_fee) {
        snprintf (fee_text, sizeof fee_text, "%" PRId64, in.fee_amount);
        c.fee_amount = fee_text;
        c.fee_item_code = in.fee_item_code;
        c.fee_status = tk_is_manager (req) ? "approved" : "proposed";
        bill_fee = tk_is_manager (req);
        cJSON *f = cJSON_AddObjectToObject (tl_data, "fee");
        cJSON_AddNumberToObject (f, "amount", (double) in.fee_amount);
        cJSON_AddStringToObject (f, "currency", "CNY");
        if (in.fee_item_code)
            cJSON_AddStringToObject (f, "fee_item_code", in.fee_item_code);
        cJSON_AddStringToObject (f, "status", c.fee_status);
    }
    if (r.effects & (WF_APPROVES_FEE | WF_REJECTS_FEE)) {
        c.fee_status = (r.effects & WF_APPROVES_FEE) ? "approved" : "rejected";
        bill_fee = (r.effects & WF_APPROVES_FEE) != 0;
        cJSON *f = cJSON_AddObjectToObject (tl_data, "fee");
        cJSON_AddNumberToObject (f, "amount", (double) strtoll (c.fee_amount, NULL, 10));
        cJSON_AddStringToObject (f, "currency", "CNY");
        if (c.fee_item_code)
            cJSON_AddStringToObject (f, "fee_item_code", c.fee_item_code);
        cJSON_AddStringToObject (f, "status", c.fee_status);
    }
    tdata_text = cJSON_PrintUnformatted (tdata);
    c.data = tdata_text;

    /* store */
    res = tk_ticket_update (app->db, pid, tid, &c);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_reply_error (res, rep, req->id);
        db_rollback (app->db);
        goto out;
    }
    PQclear (res);
    tl_text = cJSON_PrintUnformatted (tl_data);
    res = tk_timeline_add (app->db, pid, tid, now, req->caller.user_id, req->caller.role, in.action,
                           status, r.to, in.note, false, tl_text);
    if (!db_ok (res)) {
        db_fail (app->db, req->id, rep, "timeline");
        goto out;
    }
    PQclear (res);
    res = tk_ticket_get (app->db, pid, tid, now, false);
    if (!db_ok (res) || PQntuples (res) != 1) {
        db_fail (app->db, req->id, rep, "read back");
        goto out;
    }
    ticket = tk_ticket_full (app, pid, res);
    if (!ticket) {
        db_fail (app->db, req->id, rep, "read back");
        goto out;
    }

    /* events: what consumers (billing, notifications) act on */
    events = cJSON_CreateArray ();
    if (r.effects & WF_ASSIGNS)
        tk_event (events, "ticket.assigned", tk_event_data (ticket));
    if (r.effects & WF_ESCALATES) {
        cJSON *d = tk_event_data (ticket);
        const cJSON *to = cJSON_GetObjectItem (ticket, "escalated_to");
        cJSON_AddItemToObject (d, "escalated_to", cJSON_Duplicate (to, 1));
        cJSON_AddItemToObject (d, "escalated_at",
                               cJSON_Duplicate (cJSON_GetObjectItem (ticket, "escalated_at"), 1));
        cJSON_AddStringToObject (d, "reason", in.note ? in.note : "escalated by staff");
        tk_event (events, "ticket.escalated", d);
    }
    if (strcmp (r.to, "resolved") == 0 && strcmp (status, "resolved") != 0) {
        cJSON *d = tk_event_data (ticket);
        if (in.has_fee)
            cJSON_AddItemToObject (d, "fee", cJSON_Duplicate (cJSON_GetObjectItem (tl_data, "fee"), 1));
        tk_event (events, "ticket.resolved", d);
    }
    if (bill_fee && unit_id) {
        /* what billing charges the unit: a manager's fee, or a proposed one approved */
        cJSON *d = cJSON_CreateObject ();
        cJSON_AddStringToObject (d, "ticket_id", tid);
        cJSON_AddStringToObject (d, "number", PQgetvalue (res, 0, TK_C_NUMBER));
        cJSON_AddStringToObject (d, "property_id", pid);
        cJSON_AddStringToObject (d, "unit_id", unit_id);
        cJSON_AddNumberToObject (d, "amount", (double) strtoll (c.fee_amount, NULL, 10));
        cJSON_AddStringToObject (d, "currency", "CNY");
        if (c.fee_item_code)
            cJSON_AddStringToObject (d, "fee_item_code", c.fee_item_code);
        else
            cJSON_AddNullToObject (d, "fee_item_code");
        tk_event (events, "ticket.fee_charged", d);
    }
    if (strcmp (r.to, "closed") == 0)
        tk_event (events, "ticket.closed", tk_event_data (ticket));
    if (strcmp (type, "renovation") == 0 && strcmp (in.action, "approve") == 0) {
        /* billing raises the deposit and the management fee of the works */
        cJSON *d = tk_event_data (ticket);
        const cJSON *dep = cJSON_GetObjectItem (tdata, "deposit");
        const cJSON *fee = cJSON_GetObjectItem (tdata, "management_fee");
        cJSON_AddNumberToObject (d, "deposit", cJSON_IsNumber (dep) ? dep->valuedouble : 0);
        cJSON_AddNumberToObject (d, "management_fee", cJSON_IsNumber (fee) ? fee->valuedouble : 0);
        cJSON_AddStringToObject (d, "currency", "CNY");
        tk_event (events, "ticket.renovation_approved", d);
    }
    if (strcmp (type, "renovation") == 0 && strcmp (in.action, "accept") == 0) {
        /* 验收 passed: the deposit may be refunded */
        cJSON *d = tk_event_data (ticket);
        const cJSON *dep = cJSON_GetObjectItem (tdata, "deposit");
        cJSON_AddNumberToObject (d, "deposit", cJSON_IsNumber (dep) ? dep->valuedouble : 0);
        cJSON_AddStringToObject (d, "currency", "CNY");
        cJSON_AddBoolToObject (d, "deposit_refund", true);
        tk_event (events, "ticket.renovation_accepted", d);
    }
    int rc = tk_publish (app, req, rep, pid, events);
    events = NULL;
    if (rc)
        goto out;
    log_info (req->id, "ticket %s: %s (%s -> %s)", tid, in.action, status, r.to);
    cJSON_AddItemToObject (ticket, "allowed_actions", tk_allowed_actions (req, res));
    env_reply_ok (rep, 200, ticket);
    ticket = NULL;
out:
    PQclear (cur);
    PQclear (res);
    cJSON_Delete (events);
    cJSON_Delete (tl_data);
    cJSON_Delete (tdata);
    cJSON_Delete (ticket);
    free (tl_text);
    free (tdata_text);
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
