/* workflow: what may happen to a ticket, as data plus pure functions.
 *
 * One table per flow of (from status, action) -> to status; the types share
 * flows (repair, complaint, inquiry, renovation, item_release, and the simple
 * flow of suggestion, move_in, move_out, parking, other). No database, no
 * clock: tests/unit/test_tk_workflow.c drives it directly.
 *
 *   wf_context_t ctx = { .held_from = "assigned", .has_feedback = false };
 *   wf_result_t r;
 *   switch (wf_next ("repair", "on_hold", "resume", &ctx, &r)) { case WF_OK: r.to ... }
 *
 * Decisions a reader might look for:
 * - `assign` from `new` also accepts the ticket (it counts as the first
 *   response); `assign` from assigned or in_progress is a reassignment and
 *   lands in `assigned` (the new person starts again).
 * - Every move out of `new` except `cancel` is the first response (WF_RESPONDS).
 * - `hold` remembers the status it left (the caller keeps it: the hold's
 *   timeline row); `resume` goes back there.
 * - `reopen` (resolved -> in_progress, or accepted for the flows without work
 *   in progress) clears the resolution; a complaint cannot `close` without a
 *   feedback (WF_NEEDS_FEEDBACK); `reject` needs a note (WF_NEEDS_NOTE).
 * - `escalate` (complaint) and `inspect` (renovation) keep the status.
 * - A paid repair's fee (`resolve` with a fee): a technician's is proposed, a
 *   manager's billed at once. `approve_fee` / `reject_fee` (managers) decide a
 *   proposed fee on a resolved repair and keep the status; they exist only
 *   while a fee is proposed (ctx.fee_proposed), and a repair does not `close`
 *   with its fee undecided (WF_FEE_PENDING). Only a repair is charged, and
 *   never twice (WF_FEE_BILLED).
 *
 * Who may make a move is decided here too, by wf_decide, which both the
 * action handler (authorising) and `allowed_actions` (wf_allowed_for) call:
 * - A technician sees only the tickets assigned to them, and may only
 *   start, hold, resume, resolve and inspect (wf_role_may).
 * - WF_MANAGER_ONLY moves are an admin's or a manager's; an item release is
 *   also approved by anyone at the desk who records the approval of the
 *   unit's owner or tenant of record (ctx.has_party; whether that party is
 *   of record is the caller's to check against tenants' data). */
#ifndef TK_WORKFLOW_H
#define TK_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated lists of the API's values. */
extern const char *const wf_types[];       /* repair complaint inquiry suggestion renovation ... */
extern const char *const wf_channels[];    /* phone walk_in app wechat email hotline patrol */
extern const char *const wf_priorities[];  /* low normal high urgent */
extern const char *const wf_actions[];     /* every action of any flow */
extern const char *const wf_statuses[];    /* every status of any flow */

#define WF_MAX_ALLOWED 16                  /* actions possible from one status, at most */

/* What a transition does besides changing the status (bit flags). */
#define WF_RESPONDS        (1u << 0)       /* first response: responded_at if unset */
#define WF_RESOLVES        (1u << 1)       /* resolved_at = now */
#define WF_CLOSES          (1u << 2)       /* closed_at = now (final) */
#define WF_HOLDS           (1u << 3)       /* hold_since = now; the SLA clock stops */
#define WF_RESUMES         (1u << 4)       /* hold_since cleared; deadlines shifted */
#define WF_UNRESOLVES      (1u << 5)       /* reopen: resolved_at cleared */
#define WF_ASSIGNS         (1u << 6)       /* sets the assignee (given, or on duty) */
#define WF_ESCALATES       (1u << 7)       /* escalated_to / escalated_at */
#define WF_MANAGER_ONLY    (1u << 8)       /* admin or manager (item_release approve: or the party of record) */
#define WF_APPROVES_FEE    (1u << 9)       /* the proposed fee is billed (ticket.fee_charged) */
#define WF_REJECTS_FEE     (1u << 10)      /* the proposed fee is dropped */
#define WF_PROPOSES_FEE    (1u << 11)      /* wf_decide: the move's fee waits for a manager */
#define WF_RAISES_DEPOSIT  (1u << 12)      /* renovation approved: billing raises its deposit and fee */
#define WF_REFUNDS_DEPOSIT (1u << 13)      /* renovation accepted (验收): its deposit may be refunded */

typedef struct {
    const char *held_from;                 /* on_hold: the status the hold left, else NULL */
    bool has_feedback;                     /* a follow-up call is recorded */
    bool has_note;                         /* the action carries a non-empty note */
    bool fee_proposed;                     /* a technician's fee waits for a manager */
    bool fee_billed;                       /* the ticket's fee is approved (billed) already */
    bool has_party;                        /* the move carries approved_by_party_id */
    bool has_fee;                          /* the move carries a fee */
} wf_context_t;

/* The caller's reach, as the workflow sees it: admin and manager are
 * WF_MANAGER, agent is WF_DESK. */
typedef enum { WF_TECHNICIAN, WF_DESK, WF_MANAGER } wf_role_t;

typedef struct {
    wf_role_t role;
    bool assigned;                         /* the ticket is assigned to the caller */
} wf_actor_t;

typedef struct {
    const char *to;                        /* the new status (static string) */
    unsigned effects;                      /* WF_* flags */
} wf_result_t;

typedef enum {
    WF_OK = 0,
    WF_UNKNOWN_TYPE,                       /* 422 */
    WF_UNKNOWN_ACTION,                     /* 422: not an action of any flow */
    WF_NOT_ALLOWED,                        /* 409 invalid_transition */
    WF_NEEDS_FEEDBACK,                     /* 409 invalid_transition: complaint close */
    WF_NEEDS_NOTE,                         /* 422: reject without a reason */
    WF_FEE_PENDING,                        /* 409 invalid_transition: close before the fee is decided */
    /* wf_decide only */
    WF_NOT_VISIBLE,                        /* 404: another's ticket, for a technician */
    WF_FORBIDDEN,                          /* 403: not this role's move */
    WF_NEEDS_PARTY,                        /* 403: a manager's, or with the party of record's approval */
    WF_PARTY_NOT_TAKEN,                    /* 422: this move takes no party's approval */
    WF_FEE_NOT_TAKEN,                      /* 422: only a repair is charged */
    WF_FEE_BILLED                          /* 409 conflict: the fee is billed already */
} wf_verdict_t;

/* True when value is in the NULL-terminated list. */
bool wf_in (const char *const *list, const char *value);

/* The number prefix of a type ("BX" for repair), or NULL for an unknown type. */
const char *wf_prefix (const char *type);

/* Decides a move. out is filled only on WF_OK. */
wf_verdict_t wf_next (const char *type, const char *status, const char *action,
                      const wf_context_t *ctx, wf_result_t *out);

/* The actions the flow allows from status, in table order, into out[cap];
 * returns how many. Actions refused only for a missing feedback or note, or
 * an undecided fee, are still listed (the caller explains those); the fee's
 * actions only while ctx says a fee is proposed (ctx NULL: none is). */
size_t wf_allowed (const char *type, const char *status, const wf_context_t *ctx,
                   const char *out[], size_t cap);

/* True when the actor may see the ticket at all. */
bool wf_sees (const wf_actor_t *who);

/* True when the role may make this action on some ticket (a technician's
 * few); a cheap check before any ticket is loaded, which wf_decide repeats. */
bool wf_role_may (wf_role_t role, const char *action);

/* True when the type's action may carry the approval of the unit's owner or
 * tenant of record (an item release's approve), whatever the status. */
bool wf_takes_party (const char *type, const char *action);

/* The whole decision on a move by who, in this order (the order of the
 * answers): wf_sees, wf_role_may, wf_next (the flow), then whether who may
 * make this edge (WF_MANAGER_ONLY) and what the move may carry
 * (ctx.has_party, ctx.has_fee). out is filled only on WF_OK; its effects then include
 * WF_APPROVES_FEE (a manager's fee) or WF_PROPOSES_FEE (anyone else's) when
 * ctx.has_fee. */
wf_verdict_t wf_decide (const char *type, const char *status, const char *action,
                        const wf_context_t *ctx, const wf_actor_t *who, wf_result_t *out);

/* The actions who may make now (the API's allowed_actions), in wf_allowed's
 * order: those wf_decide accepts when given what the move asks for (a note;
 * the party's approval where wf_takes_party). ctx NULL: nothing known. */
size_t wf_allowed_for (const char *type, const char *status, const wf_context_t *ctx,
                       const wf_actor_t *who, const char *out[], size_t cap);

/* "accept, assign, cancel" (or "none") into buf; returns buf. */
const char *wf_allowed_text (const char *const *actions, size_t n, char *buf, size_t cap);

/* True when a ticket takes its follow-up call (回访): it was resolved and is
 * resolved still, or closed since. */
bool wf_feedback_due (const char *status, bool resolved);

/* True for a status nothing more happens to (closed cancelled rejected released refused). */
bool wf_is_final (const char *status);

#endif
