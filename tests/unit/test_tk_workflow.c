/* test_tk_workflow: the ticket workflows (services/tickets/workflow.c,
 * included): every type's happy path, forbidden moves with the allowed
 * list, hold/resume back to where the hold left, the complaint that cannot
 * close without its feedback, reject without a note; who may make a move
 * (wf_decide), and that allowed_actions (wf_allowed_for) lists exactly
 * what the action handler accepts. No database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../services/tickets/workflow.c"

/* Runs the actions from "new"; asserts each is allowed and lands where said. */
static void
s_path (const char *type, const char *const steps[][2])
{
    const char *status = "new";
    const char *held_from = NULL;
    for (int i = 0; steps[i][0]; i++) {
        wf_context_t ctx = { .held_from = held_from, .has_feedback = true, .has_note = true };
        wf_result_t r;
        wf_verdict_t v = wf_next (type, status, steps[i][0], &ctx, &r);
        if (v != WF_OK)
            fail_msg ("%s: %s from %s refused (%d)", type, steps[i][0], status, v);
        if (strcmp (r.to, steps[i][1]) != 0)
            fail_msg ("%s: %s from %s went to %s, not %s", type, steps[i][0], status, r.to, steps[i][1]);
        if (r.effects & WF_HOLDS)
            held_from = status;
        status = r.to;
    }
}

static void
test_happy_paths (void **state)
{
    (void) state;
    const char *const repair[][2] = {
        { "accept", "accepted" }, { "assign", "assigned" }, { "start", "in_progress" },
        { "hold", "on_hold" }, { "resume", "in_progress" }, { "resolve", "resolved" },
        { "reopen", "in_progress" }, { "resolve", "resolved" }, { "close", "closed" }, { NULL, NULL } };
    s_path ("repair", repair);
    const char *const complaint[][2] = {
        { "accept", "accepted" }, { "escalate", "accepted" }, { "assign", "assigned" },
        { "start", "in_progress" }, { "resolve", "resolved" }, { "close", "closed" }, { NULL, NULL } };
    s_path ("complaint", complaint);
    const char *const inquiry[][2] = { { "resolve", "resolved" }, { "close", "closed" }, { NULL, NULL } };
    s_path ("inquiry", inquiry);
    const char *const renovation[][2] = {
        { "approve", "approved" }, { "start", "in_progress" }, { "inspect", "in_progress" },
        { "inspect", "in_progress" }, { "accept", "accepted" }, { "close", "closed" }, { NULL, NULL } };
    s_path ("renovation", renovation);
    const char *const release[][2] = { { "approve", "approved" }, { "release", "released" }, { NULL, NULL } };
    s_path ("item_release", release);
    const char *const refused[][2] = { { "approve", "approved" }, { "refuse", "refused" }, { NULL, NULL } };
    s_path ("item_release", refused);
    const char *const simple[][2] = {
        { "accept", "accepted" }, { "resolve", "resolved" }, { "close", "closed" }, { NULL, NULL } };
    const char *simples[] = { "suggestion", "move_in", "move_out", "parking", "other" };
    for (int i = 0; i < 5; i++)
        s_path (simples[i], simple);
    const char *const direct_assign[][2] = { { "assign", "assigned" }, { "start", "in_progress" }, { NULL, NULL } };
    s_path ("repair", direct_assign);
    const char *const rejected[][2] = { { "reject", "rejected" }, { NULL, NULL } };
    s_path ("renovation", rejected);
}

static void
test_effects (void **state)
{
    (void) state;
    wf_result_t r;
    assert_int_equal (wf_next ("repair", "new", "accept", NULL, &r), WF_OK);
    assert_true (r.effects & WF_RESPONDS);
    assert_int_equal (wf_next ("repair", "new", "assign", NULL, &r), WF_OK);
    assert_true ((r.effects & WF_RESPONDS) && (r.effects & WF_ASSIGNS));
    assert_int_equal (wf_next ("repair", "new", "cancel", NULL, &r), WF_OK);
    assert_false (r.effects & WF_RESPONDS);
    assert_true (r.effects & WF_CLOSES);
    assert_int_equal (wf_next ("repair", "in_progress", "resolve", NULL, &r), WF_OK);
    assert_true (r.effects & WF_RESOLVES);
    assert_int_equal (wf_next ("repair", "resolved", "reopen", NULL, &r), WF_OK);
    assert_true (r.effects & WF_UNRESOLVES);
    assert_int_equal (wf_next ("repair", "assigned", "hold", NULL, &r), WF_OK);
    assert_true (r.effects & WF_HOLDS);
    assert_int_equal (wf_next ("complaint", "assigned", "escalate", NULL, &r), WF_OK);
    assert_true (r.effects & WF_ESCALATES);
    assert_string_equal (r.to, "assigned");
    assert_int_equal (wf_next ("renovation", "new", "approve", NULL, &r), WF_OK);
    assert_true (r.effects & WF_MANAGER_ONLY);
    assert_int_equal (wf_next ("item_release", "approved", "release", NULL, &r), WF_OK);
    assert_true ((r.effects & WF_RESOLVES) && (r.effects & WF_CLOSES));
}

static void
test_hold_resume_returns (void **state)
{
    (void) state;
    const char *from[] = { "accepted", "assigned", "in_progress" };
    for (int i = 0; i < 3; i++) {
        wf_result_t r;
        assert_int_equal (wf_next ("repair", from[i], "hold", NULL, &r), WF_OK);
        assert_string_equal (r.to, "on_hold");
        wf_context_t ctx = { .held_from = from[i] };
        assert_int_equal (wf_next ("repair", "on_hold", "resume", &ctx, &r), WF_OK);
        assert_string_equal (r.to, from[i]);
        assert_true (r.effects & WF_RESUMES);
    }
    /* a lost origin, or a nonsense one, resumes as accepted, never as final or on_hold */
    wf_result_t r;
    wf_context_t lost = { .held_from = NULL };
    assert_int_equal (wf_next ("repair", "on_hold", "resume", &lost, &r), WF_OK);
    assert_string_equal (r.to, "accepted");
    wf_context_t bad = { .held_from = "closed" };
    assert_int_equal (wf_next ("repair", "on_hold", "resume", &bad, &r), WF_OK);
    assert_string_equal (r.to, "accepted");
    /* only hold and cancel... and resume from on_hold */
    const char *allowed[WF_MAX_ALLOWED];
    size_t n = wf_allowed ("repair", "on_hold", NULL, allowed, WF_MAX_ALLOWED);
    char buf[128];
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "resume, cancel");
}

static void
test_forbidden_moves_list_allowed (void **state)
{
    (void) state;
    wf_result_t r;
    const char *allowed[WF_MAX_ALLOWED];
    char buf[256];
    assert_int_equal (wf_next ("repair", "new", "start", NULL, &r), WF_NOT_ALLOWED);
    size_t n = wf_allowed ("repair", "new", NULL, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "accept, assign, cancel");
    assert_int_equal (wf_next ("repair", "closed", "reopen", NULL, &r), WF_NOT_ALLOWED);
    n = wf_allowed ("repair", "closed", NULL, allowed, WF_MAX_ALLOWED);
    assert_int_equal (n, 0);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "none");
    n = wf_allowed ("complaint", "in_progress", NULL, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf),
                         "assign, hold, resolve, cancel, escalate");
    assert_int_equal (wf_next ("repair", "in_progress", "escalate", NULL, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("inquiry", "new", "start", NULL, &r), WF_NOT_ALLOWED);
    n = wf_allowed ("renovation", "new", NULL, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "cancel, approve, reject");
    assert_int_equal (wf_next ("renovation", "approved", "inspect", NULL, &r), WF_NOT_ALLOWED);
    n = wf_allowed ("item_release", "approved", NULL, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "cancel, release, refuse");
    assert_int_equal (wf_next ("suggestion", "new", "hold", NULL, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("item_release", "released", "cancel", NULL, &r), WF_NOT_ALLOWED);
    /* every status of every type: the allowed list is exactly what wf_next accepts */
    for (const char *const *t = wf_types; *t; t++)
        for (const char *const *s = wf_statuses; *s; s++) {
            n = wf_allowed (*t, *s, NULL, allowed, WF_MAX_ALLOWED);
            for (const char *const *a = wf_actions; *a; a++) {
                wf_context_t ctx = { .held_from = "assigned", .has_feedback = true, .has_note = true };
                bool listed = false;
                for (size_t k = 0; k < n; k++)
                    listed |= strcmp (allowed[k], *a) == 0;
                assert_int_equal (wf_next (*t, *s, *a, &ctx, &r) == WF_OK, listed);
            }
            if (wf_is_final (*s))
                assert_int_equal (n, 0);
        }
}

static void
test_complaint_close_needs_feedback (void **state)
{
    (void) state;
    wf_result_t r;
    wf_context_t none = { .has_feedback = false };
    assert_int_equal (wf_next ("complaint", "resolved", "close", &none, &r), WF_NEEDS_FEEDBACK);
    wf_context_t done = { .has_feedback = true };
    assert_int_equal (wf_next ("complaint", "resolved", "close", &done, &r), WF_OK);
    assert_string_equal (r.to, "closed");
    /* a repair closes without one */
    assert_int_equal (wf_next ("repair", "resolved", "close", &none, &r), WF_OK);
}

static void
test_reject_needs_note_and_unknowns (void **state)
{
    (void) state;
    wf_result_t r;
    wf_context_t nonote = { .has_note = false };
    assert_int_equal (wf_next ("renovation", "new", "reject", &nonote, &r), WF_NEEDS_NOTE);
    assert_int_equal (wf_next ("castle", "new", "accept", NULL, &r), WF_UNKNOWN_TYPE);
    assert_int_equal (wf_next ("repair", "new", "dance", NULL, &r), WF_UNKNOWN_ACTION);
    assert_int_equal (wf_next ("repair", NULL, "accept", NULL, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("repair", "lost", "accept", NULL, &r), WF_NOT_ALLOWED);
}

/* A technician's fee on a repair waits for a manager: approve_fee and
 * reject_fee exist only while it is proposed, keep the status, and the
 * repair does not close until the fee is decided. */
static void
test_fee_decisions (void **state)
{
    (void) state;
    wf_result_t r;
    const char *allowed[WF_MAX_ALLOWED];
    char buf[256];
    wf_context_t proposed = { .fee_proposed = true, .has_note = true };
    wf_context_t none = { .fee_proposed = false, .has_note = true };
    assert_int_equal (wf_next ("repair", "resolved", "approve_fee", &proposed, &r), WF_OK);
    assert_string_equal (r.to, "resolved");
    assert_true (r.effects & WF_MANAGER_ONLY);
    assert_true (r.effects & WF_APPROVES_FEE);
    assert_false (r.effects & (WF_REJECTS_FEE | WF_CLOSES | WF_RESOLVES));
    assert_int_equal (wf_next ("repair", "resolved", "reject_fee", &proposed, &r), WF_OK);
    assert_string_equal (r.to, "resolved");
    assert_true ((r.effects & WF_REJECTS_FEE) && (r.effects & WF_MANAGER_ONLY));
    assert_false (r.effects & WF_APPROVES_FEE);
    /* nothing to decide without a proposed fee, nor before the repair is resolved */
    assert_int_equal (wf_next ("repair", "resolved", "approve_fee", &none, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("repair", "resolved", "reject_fee", NULL, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("repair", "in_progress", "approve_fee", &proposed, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("repair", "closed", "approve_fee", &proposed, &r), WF_NOT_ALLOWED);
    assert_int_equal (wf_next ("inquiry", "resolved", "approve_fee", &proposed, &r), WF_NOT_ALLOWED);
    /* the repair closes once the fee is decided, not before; reopening is fine */
    assert_int_equal (wf_next ("repair", "resolved", "close", &proposed, &r), WF_FEE_PENDING);
    assert_int_equal (wf_next ("repair", "resolved", "close", &none, &r), WF_OK);
    assert_int_equal (wf_next ("repair", "resolved", "reopen", &proposed, &r), WF_OK);
    /* the allowed list shows the decisions only while a fee is proposed */
    size_t n = wf_allowed ("repair", "resolved", &proposed, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "reopen, close, approve_fee, reject_fee");
    n = wf_allowed ("repair", "resolved", &none, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "reopen, close");
    n = wf_allowed ("repair", "resolved", NULL, allowed, WF_MAX_ALLOWED);
    assert_string_equal (wf_allowed_text (allowed, n, buf, sizeof buf), "reopen, close");
    assert_true (wf_in (wf_actions, "approve_fee") && wf_in (wf_actions, "reject_fee"));
}

static void
test_prefixes_and_lists (void **state)
{
    (void) state;
    const char *want[][2] = { { "repair", "BX" }, { "complaint", "TS" }, { "inquiry", "WX" },
                              { "suggestion", "JY" }, { "renovation", "ZX" }, { "item_release", "FX" },
                              { "move_in", "RH" }, { "move_out", "QC" }, { "parking", "CW" },
                              { "other", "QT" } };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal (wf_prefix (want[i][0]), want[i][1]);
    assert_null (wf_prefix ("castle"));
    assert_null (wf_prefix (NULL));
    for (const char *const *t = wf_types; *t; t++)
        assert_non_null (wf_prefix (*t));
    assert_true (wf_in (wf_channels, "wechat"));
    assert_false (wf_in (wf_channels, "pigeon"));
    assert_true (wf_in (wf_priorities, "urgent"));
    assert_false (wf_in (wf_priorities, NULL));
    char tiny[8];
    const char *acts[] = { "accept", "assign" };
    wf_allowed_text (acts, 2, tiny, sizeof tiny);
    assert_true (strlen (tiny) < sizeof tiny);
}

/* --- who may: wf_decide and wf_allowed_for ------------------------------------ */

static const wf_actor_t s_desk_agent = { WF_DESK, false };
static const wf_actor_t s_manager = { WF_MANAGER, false };
static const wf_actor_t s_own_technician = { WF_TECHNICIAN, true };
static const wf_actor_t s_other_technician = { WF_TECHNICIAN, false };

/* wf_allowed_for as "a, b, c". */
static const char *
s_allowed_for (const char *type, const char *status, const wf_context_t *ctx, const wf_actor_t *who,
               char *buf, size_t cap)
{
    const char *allowed[WF_MAX_ALLOWED];
    size_t n = wf_allowed_for (type, status, ctx, who, allowed, WF_MAX_ALLOWED);
    return wf_allowed_text (allowed, n, buf, cap);
}

/* Whether the authorising path (wf_decide) accepts the move with some input
 * the action handler takes: with or without a note, a party's approval, a fee. */
static bool
s_accepted_somehow (const char *type, const char *status, const char *action, wf_context_t ctx,
                    const wf_actor_t *who)
{
    for (int bits = 0; bits < 8; bits++) {
        ctx.has_note = bits & 1;
        ctx.has_party = bits & 2;
        ctx.has_fee = bits & 4;
        wf_result_t r;
        if (wf_decide (type, status, action, &ctx, who, &r) == WF_OK)
            return true;
    }
    return false;
}

/* For every type x status x role x own/other ticket x what the ticket holds
 * (feedback, fee proposed or billed, where a hold left), allowed_actions
 * lists exactly the moves the action handler accepts. */
static void
test_allowed_is_what_is_authorised (void **state)
{
    (void) state;
    const wf_role_t roles[] = { WF_TECHNICIAN, WF_DESK, WF_MANAGER };
    int listed_somewhere = 0;
    for (const char *const *t = wf_types; *t; t++)
        for (const char *const *s = wf_statuses; *s; s++)
            for (int role = 0; role < 3; role++)
                for (int own = 0; own < 2; own++)
                    for (int held = 0; held < 8; held++) {
                        wf_actor_t who = { roles[role], own };
                        wf_context_t ctx = {
                            .held_from = (held & 1) ? "in_progress" : NULL,
                            .has_feedback = held & 2,
                            .fee_proposed = (held & 4) && !(held & 1),
                            .fee_billed = (held & 4) && (held & 1),
                        };
                        const char *allowed[WF_MAX_ALLOWED];
                        size_t n = wf_allowed_for (*t, *s, &ctx, &who, allowed, WF_MAX_ALLOWED);
                        listed_somewhere += (int) n;
                        for (const char *const *a = wf_actions; *a; a++) {
                            bool listed = false;
                            for (size_t k = 0; k < n; k++)
                                listed |= strcmp (allowed[k], *a) == 0;
                            if (listed != s_accepted_somehow (*t, *s, *a, ctx, &who))
                                fail_msg ("%s %s, role %d, own %d, context %d: %s is %s but %s", *t, *s,
                                          role, own, held, *a, listed ? "listed" : "not listed",
                                          listed ? "refused" : "accepted");
                        }
                        if (!wf_sees (&who))
                            assert_int_equal (n, 0);
                    }
    assert_true (listed_somewhere > 100);    /* the loops did look at something */
}

static void
test_who_may (void **state)
{
    (void) state;
    wf_result_t r;
    char buf[256];
    /* a technician: their own tickets, and only the work on them */
    assert_true (wf_role_may (WF_TECHNICIAN, "start") && wf_role_may (WF_TECHNICIAN, "inspect"));
    assert_false (wf_role_may (WF_TECHNICIAN, "accept") || wf_role_may (WF_TECHNICIAN, "approve_fee"));
    assert_true (wf_role_may (WF_DESK, "accept") && wf_role_may (WF_MANAGER, "approve"));
    assert_int_equal (wf_decide ("repair", "assigned", "start", NULL, &s_other_technician, &r), WF_NOT_VISIBLE);
    assert_int_equal (wf_decide ("repair", "assigned", "start", NULL, &s_own_technician, &r), WF_OK);
    assert_int_equal (wf_decide ("repair", "assigned", "cancel", NULL, &s_own_technician, &r), WF_FORBIDDEN);
    assert_true (wf_sees (&s_desk_agent) && wf_sees (&s_own_technician) && !wf_sees (&s_other_technician));
    assert_string_equal (s_allowed_for ("repair", "assigned", NULL, &s_own_technician, buf, sizeof buf),
                         "start, hold, resolve");
    assert_string_equal (s_allowed_for ("repair", "assigned", NULL, &s_other_technician, buf, sizeof buf),
                         "none");
    /* a renovation is approved, rejected and accepted by a manager only */
    assert_int_equal (wf_decide ("renovation", "new", "approve", NULL, &s_desk_agent, &r), WF_FORBIDDEN);
    assert_int_equal (wf_decide ("renovation", "new", "approve", NULL, &s_manager, &r), WF_OK);
    assert_true (r.effects & WF_RAISES_DEPOSIT);
    assert_int_equal (wf_decide ("renovation", "in_progress", "accept", NULL, &s_manager, &r), WF_OK);
    assert_true (r.effects & WF_REFUNDS_DEPOSIT);
    assert_string_equal (s_allowed_for ("renovation", "new", NULL, &s_desk_agent, buf, sizeof buf), "cancel");
    assert_string_equal (s_allowed_for ("renovation", "new", NULL, &s_manager, buf, sizeof buf),
                         "cancel, approve, reject");
    /* an item release: a manager, or the desk with the party of record's approval */
    wf_context_t party = { .has_party = true };
    assert_true (wf_takes_party ("item_release", "approve"));
    assert_false (wf_takes_party ("item_release", "refuse") || wf_takes_party ("renovation", "approve")
                  || wf_takes_party ("castle", "approve") || wf_takes_party ("item_release", NULL));
    assert_int_equal (wf_decide ("item_release", "new", "approve", NULL, &s_desk_agent, &r), WF_NEEDS_PARTY);
    assert_int_equal (wf_decide ("item_release", "new", "approve", &party, &s_desk_agent, &r), WF_OK);
    assert_int_equal (wf_decide ("item_release", "new", "approve", NULL, &s_manager, &r), WF_OK);
    assert_int_equal (wf_decide ("item_release", "new", "approve", &party, &s_manager, &r), WF_OK);
    assert_int_equal (wf_decide ("renovation", "new", "approve", &party, &s_manager, &r), WF_PARTY_NOT_TAKEN);
    assert_int_equal (wf_decide ("renovation", "new", "approve", &party, &s_desk_agent, &r), WF_FORBIDDEN);
    assert_string_equal (s_allowed_for ("item_release", "new", NULL, &s_desk_agent, buf, sizeof buf),
                         "cancel, approve, refuse");
    /* the flow's refusal comes before the role's */
    assert_int_equal (wf_decide ("item_release", "approved", "approve", NULL, &s_desk_agent, &r),
                      WF_NOT_ALLOWED);
}

static void
test_who_charges_a_fee (void **state)
{
    (void) state;
    wf_result_t r;
    char buf[256];
    wf_context_t fee = { .has_fee = true };
    /* a manager's fee is billed at once, anyone else's proposed */
    assert_int_equal (wf_decide ("repair", "in_progress", "resolve", &fee, &s_manager, &r), WF_OK);
    assert_true ((r.effects & WF_APPROVES_FEE) && !(r.effects & WF_PROPOSES_FEE));
    assert_int_equal (wf_decide ("repair", "in_progress", "resolve", &fee, &s_own_technician, &r), WF_OK);
    assert_true ((r.effects & WF_PROPOSES_FEE) && !(r.effects & WF_APPROVES_FEE));
    assert_int_equal (wf_decide ("repair", "in_progress", "resolve", NULL, &s_manager, &r), WF_OK);
    assert_false (r.effects & (WF_APPROVES_FEE | WF_PROPOSES_FEE));
    /* only a repair is charged, and only once */
    assert_int_equal (wf_decide ("complaint", "in_progress", "resolve", &fee, &s_manager, &r), WF_FEE_NOT_TAKEN);
    assert_int_equal (wf_decide ("inquiry", "new", "resolve", &fee, &s_desk_agent, &r), WF_FEE_NOT_TAKEN);
    wf_context_t again = { .has_fee = true, .fee_billed = true };
    assert_int_equal (wf_decide ("repair", "in_progress", "resolve", &again, &s_manager, &r), WF_FEE_BILLED);
    /* a proposed fee is a manager's to decide */
    wf_context_t proposed = { .fee_proposed = true };
    assert_int_equal (wf_decide ("repair", "resolved", "approve_fee", &proposed, &s_desk_agent, &r), WF_FORBIDDEN);
    assert_int_equal (wf_decide ("repair", "resolved", "approve_fee", &proposed, &s_manager, &r), WF_OK);
    assert_string_equal (s_allowed_for ("repair", "resolved", &proposed, &s_desk_agent, buf, sizeof buf),
                         "reopen");
    assert_string_equal (s_allowed_for ("repair", "resolved", &proposed, &s_manager, buf, sizeof buf),
                         "reopen, approve_fee, reject_fee");
}

/* The follow-up call (回访): once resolved, also after the close; not while
 * reopened, nor on a ticket closed without a resolution (cancelled...). */
static void
test_feedback_due (void **state)
{
    (void) state;
    assert_true (wf_feedback_due ("resolved", true));
    assert_true (wf_feedback_due ("closed", true));
    assert_false (wf_feedback_due ("in_progress", false));
    assert_false (wf_feedback_due ("in_progress", true));
    assert_false (wf_feedback_due ("closed", false));
    assert_false (wf_feedback_due ("cancelled", false));
    assert_false (wf_feedback_due (NULL, true));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_happy_paths),
        cmocka_unit_test (test_effects),
        cmocka_unit_test (test_hold_resume_returns),
        cmocka_unit_test (test_forbidden_moves_list_allowed),
        cmocka_unit_test (test_complaint_close_needs_feedback),
        cmocka_unit_test (test_reject_needs_note_and_unknowns),
        cmocka_unit_test (test_fee_decisions),
        cmocka_unit_test (test_prefixes_and_lists),
        cmocka_unit_test (test_allowed_is_what_is_authorised),
        cmocka_unit_test (test_who_may),
        cmocka_unit_test (test_who_charges_a_fee),
        cmocka_unit_test (test_feedback_due),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
