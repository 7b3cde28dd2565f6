/* workflow: the flows of every ticket type as tables; see workflow.h. */
#include "workflow.h"

#include <string.h>

const char *const wf_types[] = {
    "repair", "complaint", "inquiry", "suggestion", "renovation",
    "item_release", "move_in", "move_out", "parking", "other", NULL
};
const char *const wf_channels[] = {
    "phone", "walk_in", "app", "wechat", "email", "hotline", "patrol", NULL
};
const char *const wf_priorities[] = { "low", "normal", "high", "urgent", NULL };
const char *const wf_actions[] = {
    "accept", "assign", "start", "hold", "resume", "resolve", "reopen", "close", "cancel",
    "escalate", "approve", "reject", "inspect", "release", "refuse", "approve_fee", "reject_fee", NULL
};
const char *const wf_statuses[] = {
    "new", "accepted", "assigned", "in_progress", "on_hold", "resolved", "closed",
    "cancelled", "approved", "rejected", "released", "refused", NULL
};

/* Number prefixes (pinyin initials of the Chinese names: 报修 BX, 投诉 TS, ...). */
static const struct {
    const char *type;
    const char *prefix;
} s_prefixes[] = {
    { "repair", "BX" },       { "complaint", "TS" }, { "inquiry", "WX" },
    { "suggestion", "JY" },   { "renovation", "ZX" }, { "item_release", "FX" },
    { "move_in", "RH" },      { "move_out", "QC" },   { "parking", "CW" },
    { "other", "QT" },
};

/* Internal edge flags, never seen by callers. */
#define S_NEEDS_NOTE     (1u << 16)
#define S_NEEDS_FEEDBACK (1u << 17)
#define S_NEEDS_FEE      (1u << 18)      /* only while a fee is proposed */
#define S_FEE_DECIDED    (1u << 19)      /* not while a fee is proposed */
#define S_PARTY_APPROVES (1u << 20)      /* WF_MANAGER_ONLY, or the desk with the party's approval */
#define S_INTERNAL       (S_NEEDS_NOTE | S_NEEDS_FEEDBACK | S_NEEDS_FEE | S_FEE_DECIDED | S_PARTY_APPROVES)

/* to: the new status; NULL keeps the status; S_HELD goes back to where the hold left. */
#define S_HELD "*held*"

typedef struct {
    const char *from;
    const char *action;
    const char *to;
    unsigned effects;
} s_edge_t;

#define R  WF_RESPONDS
#define SV WF_RESOLVES
#define C  WF_CLOSES
#define A  WF_ASSIGNS

/* repair: new -> accepted -> assigned -> in_progress -> resolved -> closed */
static const s_edge_t s_repair[] = {
    { "new", "accept", "accepted", R },
    { "new", "assign", "assigned", R | A },
    { "new", "cancel", "cancelled", C },
    { "accepted", "assign", "assigned", A },
    { "accepted", "resolve", "resolved", SV },
    { "accepted", "hold", "on_hold", WF_HOLDS },
    { "accepted", "cancel", "cancelled", C },
    { "assigned", "assign", "assigned", A },
    { "assigned", "start", "in_progress", 0 },
    { "assigned", "resolve", "resolved", SV },
    { "assigned", "hold", "on_hold", WF_HOLDS },
    { "assigned", "cancel", "cancelled", C },
    { "in_progress", "assign", "assigned", A },
    { "in_progress", "resolve", "resolved", SV },
    { "in_progress", "hold", "on_hold", WF_HOLDS },
    { "in_progress", "cancel", "cancelled", C },
    { "on_hold", "resume", S_HELD, WF_RESUMES },
    { "on_hold", "cancel", "cancelled", C },
    { "resolved", "close", "closed", C | S_FEE_DECIDED },
    { "resolved", "reopen", "in_progress", WF_UNRESOLVES },
    /* a technician's fee: billed, or dropped, by a manager */
    { "resolved", "approve_fee", NULL, WF_MANAGER_ONLY | WF_APPROVES_FEE | S_NEEDS_FEE },
    { "resolved", "reject_fee", NULL, WF_MANAGER_ONLY | WF_REJECTS_FEE | S_NEEDS_FEE },
    { NULL, NULL, NULL, 0 }
};

/* complaint: the repair flow, plus escalate from any open status, and no
 * close without the follow-up call */
static const s_edge_t s_complaint[] = {
    { "new", "escalate", NULL, WF_ESCALATES },
    { "accepted", "escalate", NULL, WF_ESCALATES },
    { "assigned", "escalate", NULL, WF_ESCALATES },
    { "in_progress", "escalate", NULL, WF_ESCALATES },
    { "on_hold", "escalate", NULL, WF_ESCALATES },
    { NULL, NULL, NULL, 0 }
};

/* the desk's short flow after `new`, shared by inquiry and the simple types:
 * accepted -> assigned -> resolved -> closed, without work in progress or holds */
static const s_edge_t s_desk[] = {
    { "accepted", "assign", "assigned", A },
    { "accepted", "resolve", "resolved", SV },
    { "accepted", "cancel", "cancelled", C },
    { "assigned", "assign", "assigned", A },
    { "assigned", "resolve", "resolved", SV },
    { "assigned", "cancel", "cancelled", C },
    { "resolved", "close", "closed", C },
    { "resolved", "reopen", "accepted", WF_UNRESOLVES },
    { NULL, NULL, NULL, 0 }
};

/* inquiry: usually answered at once (resolve from new) */
static const s_edge_t s_inquiry[] = {
    { "new", "accept", "accepted", R },
    { "new", "resolve", "resolved", R | SV },
    { "new", "cancel", "cancelled", C },
    { NULL, NULL, NULL, 0 }
};

/* renovation (装修): application -> approved -> works (inspections) ->
 * accepted (验收, releases the deposit refund) -> closed */
static const s_edge_t s_renovation[] = {
    { "new", "approve", "approved", R | WF_MANAGER_ONLY | WF_RAISES_DEPOSIT },
    { "new", "reject", "rejected", R | C | WF_MANAGER_ONLY | S_NEEDS_NOTE },
    { "new", "cancel", "cancelled", C },
    { "approved", "start", "in_progress", 0 },
    { "approved", "cancel", "cancelled", C },
    { "in_progress", "inspect", NULL, 0 },
    { "in_progress", "accept", "accepted", SV | WF_MANAGER_ONLY | WF_REFUNDS_DEPOSIT },
    { "accepted", "close", "closed", C },
    { NULL, NULL, NULL, 0 }
};

/* item release pass (放行条): requested -> approved -> released at the gate,
 * or refused; approved by a manager, or by the unit's owner or tenant of
 * record whose approval the desk records */
static const s_edge_t s_item_release[] = {
    { "new", "approve", "approved", R | WF_MANAGER_ONLY | S_PARTY_APPROVES },
    { "new", "refuse", "refused", R | C },
    { "new", "cancel", "cancelled", C },
    { "approved", "release", "released", SV | C },
    { "approved", "refuse", "refused", C },
    { "approved", "cancel", "cancelled", C },
    { NULL, NULL, NULL, 0 }
};

/* suggestion, move_in, move_out, parking, other */
static const s_edge_t s_simple[] = {
    { "new", "accept", "accepted", R },
    { "new", "assign", "assigned", R | A },
    { "new", "cancel", "cancelled", C },
    { NULL, NULL, NULL, 0 }
};

#undef R
#undef SV
#undef C
#undef A

/* A flow: its types, its tables (an edge is in one of them), and its rules. */
typedef struct {
    const char *types[6];
    const s_edge_t *tables[2];
    bool close_needs_feedback;       /* a complaint closes after its follow-up call */
    bool charges_fee;                /* a repair's resolve may carry a fee */
} s_flow_t;

static const s_flow_t s_flows[] = {
    { { "repair" }, { s_repair, NULL }, false, true },
    { { "complaint" }, { s_repair, s_complaint }, true, false },
    { { "inquiry" }, { s_inquiry, s_desk }, false, false },
    { { "renovation" }, { s_renovation, NULL }, false, false },
    { { "item_release" }, { s_item_release, NULL }, false, false },
    { { "suggestion", "move_in", "move_out", "parking", "other" }, { s_simple, s_desk }, false, false },
};

/* What a technician may do on a ticket assigned to them; the rest is the
 * front desk's and the managers'. */
static const char *const s_technician_actions[] = {
    "start", "hold", "resume", "resolve", "inspect", NULL
};

bool
wf_in (const char *const *list, const char *value)
{
    if (!value)
        return false;
    for (; *list; list++)
        if (strcmp (*list, value) == 0)
            return true;
    return false;
}

const char *
wf_prefix (const char *type)
{
    for (size_t i = 0; type && i < sizeof s_prefixes / sizeof s_prefixes[0]; i++)
        if (strcmp (s_prefixes[i].type, type) == 0)
            return s_prefixes[i].prefix;
    return NULL;
}

static const s_flow_t *
s_flow (const char *type)
{
    for (size_t i = 0; type && i < sizeof s_flows / sizeof s_flows[0]; i++)
        for (size_t k = 0; k < 6 && s_flows[i].types[k]; k++)
            if (strcmp (s_flows[i].types[k], type) == 0)
                return &s_flows[i];
    return NULL;
}

/* The edge of flow for (status, action), or NULL. */
static const s_edge_t *
s_edge (const s_flow_t *flow, const char *status, const char *action)
{
    for (int t = 0; t < 2 && flow->tables[t]; t++)
        for (const s_edge_t *e = flow->tables[t]; e->from; e++)
            if (strcmp (e->from, status) == 0 && strcmp (e->action, action) == 0)
                return e;
    return NULL;
}

static const wf_context_t s_nothing_known = { 0 };

/* wf_next, telling the caller which flow and edge decided (set on WF_OK). */
static wf_verdict_t
s_next (const char *type, const char *status, const char *action, const wf_context_t *ctx,
        wf_result_t *out, const s_flow_t **flow_out, const s_edge_t **edge_out)
{
    if (!ctx)
        ctx = &s_nothing_known;
    const s_flow_t *flow = s_flow (type);
    if (!flow)
        return WF_UNKNOWN_TYPE;
    if (!wf_in (wf_actions, action))
        return WF_UNKNOWN_ACTION;
    const s_edge_t *e = status ? s_edge (flow, status, action) : NULL;
    if (!e || ((e->effects & S_NEEDS_FEE) && !ctx->fee_proposed))
        return WF_NOT_ALLOWED;
    if ((e->effects & S_FEE_DECIDED) && ctx->fee_proposed)
        return WF_FEE_PENDING;
    if (flow->close_needs_feedback && strcmp (action, "close") == 0 && !ctx->has_feedback)
        return WF_NEEDS_FEEDBACK;
    if ((e->effects & S_NEEDS_NOTE) && !ctx->has_note)
        return WF_NEEDS_NOTE;
    const char *to = e->to;
    if (!to)
        to = e->from;                /* static: the table's copy of the status */
    else if (strcmp (to, S_HELD) == 0) {
        /* back where the hold left; a hold whose origin is lost resumes as accepted */
        to = "accepted";
        for (const char *const *s = wf_statuses; *s; s++)
            if (ctx->held_from && strcmp (*s, ctx->held_from) == 0 && strcmp (*s, "on_hold") != 0
                && !wf_is_final (*s))
                to = *s;
    }
    out->to = to;
    out->effects = e->effects & ~S_INTERNAL;
    *flow_out = flow;
    *edge_out = e;
    return WF_OK;
}

wf_verdict_t
wf_next (const char *type, const char *status, const char *action, const wf_context_t *ctx,
         wf_result_t *out)
{
    const s_flow_t *flow;
    const s_edge_t *edge;
    return s_next (type, status, action, ctx, out, &flow, &edge);
}

bool
wf_sees (const wf_actor_t *who)
{
    return who->role != WF_TECHNICIAN || who->assigned;
}

bool
wf_role_may (wf_role_t role, const char *action)
{
    return role != WF_TECHNICIAN || wf_in (s_technician_actions, action);
}

bool
wf_takes_party (const char *type, const char *action)
{
    const s_flow_t *flow = s_flow (type);
    for (int t = 0; flow && action && t < 2 && flow->tables[t]; t++)
        for (const s_edge_t *e = flow->tables[t]; e->from; e++)
            if ((e->effects & S_PARTY_APPROVES) && strcmp (e->action, action) == 0)
                return true;
    return false;
}

wf_verdict_t
wf_decide (const char *type, const char *status, const char *action, const wf_context_t *ctx,
           const wf_actor_t *who, wf_result_t *out)
{
    if (!ctx)
        ctx = &s_nothing_known;
    if (!wf_sees (who))
        return WF_NOT_VISIBLE;
    if (!wf_role_may (who->role, action))
        return WF_FORBIDDEN;
    const s_flow_t *flow;
    const s_edge_t *e;
    wf_result_t r;
    wf_verdict_t verdict = s_next (type, status, action, ctx, &r, &flow, &e);
    if (verdict != WF_OK)
        return verdict;
    bool manager = who->role == WF_MANAGER;
    if ((e->effects & WF_MANAGER_ONLY) && !manager) {
        if (!(e->effects & S_PARTY_APPROVES))
            return WF_FORBIDDEN;
        if (!ctx->has_party)
            return WF_NEEDS_PARTY;
    }
    if (ctx->has_party && !(e->effects & S_PARTY_APPROVES))
        return WF_PARTY_NOT_TAKEN;
    if (ctx->has_fee && !flow->charges_fee)
        return WF_FEE_NOT_TAKEN;
    if (ctx->has_fee && ctx->fee_billed)
        return WF_FEE_BILLED;
    /* a manager's fee is billed at once; anyone else's waits for a manager */
    if (ctx->has_fee)
        r.effects |= manager ? WF_APPROVES_FEE : WF_PROPOSES_FEE;
    *out = r;
    return WF_OK;
}

size_t
wf_allowed (const char *type, const char *status, const wf_context_t *ctx, const char *out[],
            size_t cap)
{
    const s_flow_t *flow = s_flow (type);
    size_t n = 0;
    if (!flow || !status)
        return 0;
    bool fee = ctx && ctx->fee_proposed;
    /* in the order of wf_actions, each once, so the list reads the same everywhere */
    for (const char *const *a = wf_actions; *a && n < cap; a++) {
        const s_edge_t *e = s_edge (flow, status, *a);
        if (e && (fee || !(e->effects & S_NEEDS_FEE)))
            out[n++] = *a;
    }
    return n;
}

size_t
wf_allowed_for (const char *type, const char *status, const wf_context_t *ctx,
                const wf_actor_t *who, const char *out[], size_t cap)
{
    const char *moves[WF_MAX_ALLOWED];
    size_t n = wf_allowed (type, status, ctx, moves, WF_MAX_ALLOWED), k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        /* a note or the party's approval is asked for, not a reason to hide the move */
        wf_context_t asked = ctx ? *ctx : s_nothing_known;
        asked.has_note = true;
        asked.has_party = wf_takes_party (type, moves[i]);
        asked.has_fee = false;
        wf_result_t r;
        if (wf_decide (type, status, moves[i], &asked, who, &r) == WF_OK)
            out[k++] = moves[i];
    }
    return k;
}

const char *
wf_allowed_text (const char *const *actions, size_t n, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = 0;
    static const char *const none[] = { "none" };
    if (n == 0)
        actions = none, n = 1;
    /* whole names only: a list cut short drops its last names, never half of one */
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t need = (i ? 2 : 0) + strlen (actions[i]);
        if (len + need + 1 > cap)
            break;
        if (i)
            memcpy (buf + len, ", ", 2), len += 2;
        memcpy (buf + len, actions[i], strlen (actions[i]));
        len += strlen (actions[i]);
        buf[len] = 0;
    }
    return buf;
}

bool
wf_feedback_due (const char *status, bool resolved)
{
    static const char *const after_resolution[] = { "resolved", "closed", NULL };
    return resolved && wf_in (after_resolution, status);
}

bool
wf_is_final (const char *status)
{
    static const char *const finals[] = { "closed", "cancelled", "rejected", "released", "refused", NULL };
    return wf_in (finals, status);
}
