/* test_tk_workflow: the ticket workflows (services/tickets/workflow.c,
 * included): every type's happy path, forbidden moves with the allowed
 * list, hold/resume back to where the hold left, the complaint that cannot
 * close without its feedback, reject without a note. No database. */
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
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
