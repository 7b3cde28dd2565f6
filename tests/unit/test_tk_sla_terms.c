/* test_tk_sla_terms: a new ticket's SLA terms from the policy columns that
 * the create's one load statement reads (services/tickets/sla.c,
 * sla_terms_for_ticket, included; the columns SLA_POLICY_COLS): no policy
 * row means the built-in default, a policy row its minutes, a policy with a
 * calendar its business time. The rows are built with libpq's own result
 * constructors: no database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/sla.c"
#include "../../services/tickets/sla_clock.c"
#include "../../services/tickets/sla_rules.c"
#include "../../services/tickets/ticket_rules.c"
#include "../../services/tickets/workflow.c"

#define CAL "11111111-1111-4111-8111-111111111111"
#define MON_2026_12_07_09H_UTC 1796634000   /* Monday 2026-12-07 09:00:00 UTC */

/* A one-row result of 3 other columns (the copy's) and then the
 * SLA_POLICY_NCOLS policy columns, NULL where v[i] is NULL. */
static PGresult *
s_row (const char *const v[3 + SLA_POLICY_NCOLS])
{
    PGresult *res = PQmakeEmptyPGresult (NULL, PGRES_TUPLES_OK);
    PGresAttDesc att[3 + SLA_POLICY_NCOLS];
    memset (att, 0, sizeof att);
    for (int i = 0; i < 3 + SLA_POLICY_NCOLS; i++) {
        att[i].name = (char *) "c";
        att[i].typid = 25;                       /* text */
        att[i].typlen = -1;
        att[i].atttypmod = -1;
    }
    assert_true (PQsetResultAttrs (res, 3 + SLA_POLICY_NCOLS, att));
    for (int i = 0; i < 3 + SLA_POLICY_NCOLS; i++)
        assert_true (PQsetvalue (res, 0, i, (char *) v[i], v[i] ? (int) strlen (v[i]) : -1));
    return res;
}

static void
test_no_policy_is_the_default (void **state)
{
    (void) state;
    PGresult *res = s_row ((const char *[]) { "Asia/Shanghai", NULL, "f", NULL, NULL, NULL, NULL, NULL,
                                              NULL, NULL });
    int respond = 0, resolve = 0, warn = 0;
    assert_true (sla_default_terms ("repair", "urgent", &respond, &resolve, &warn));
    sla_terms_t t;
    sla_terms_for_ticket (res, 0, 3, "repair", "urgent", MON_2026_12_07_09H_UTC, &t);
    assert_int_equal (t.respond_minutes, respond);
    assert_int_equal (t.resolve_minutes, resolve);
    assert_int_equal (t.warn_minutes, warn);
    assert_string_equal (t.calendar_id, "");
    assert_int_equal (t.respond_by, MON_2026_12_07_09H_UTC + respond * 60);
    assert_int_equal (t.resolve_by, MON_2026_12_07_09H_UTC + resolve * 60);
    PQclear (res);
}

static void
test_policy_around_the_clock (void **state)
{
    (void) state;
    PGresult *res = s_row ((const char *[]) { NULL, NULL, "f", "30", "600", "10", NULL, NULL, NULL,
                                              NULL });
    sla_terms_t t;
    sla_terms_for_ticket (res, 0, 3, "complaint", "high", MON_2026_12_07_09H_UTC, &t);
    assert_int_equal (t.respond_minutes, 30);
    assert_int_equal (t.resolve_minutes, 600);
    assert_int_equal (t.warn_minutes, 10);
    assert_string_equal (t.calendar_id, "");
    assert_int_equal (t.respond_by, MON_2026_12_07_09H_UTC + 30 * 60);
    assert_int_equal (t.resolve_by, MON_2026_12_07_09H_UTC + 600 * 60);
    PQclear (res);
}

static void
test_policy_on_its_calendar (void **state)
{
    (void) state;
    /* 09:00-18:00 UTC on weekdays: 600 minutes from Monday 09:00 end on
     * Tuesday 10:00 (540 on Monday, 60 on Tuesday) */
    PGresult *res = s_row ((const char *[]) {
        "UTC", NULL, "f", "60", "600", "0", CAL, "UTC",
        "{\"mon\":[[\"09:00\",\"18:00\"]],\"tue\":[[\"09:00\",\"18:00\"]],\"wed\":[[\"09:00\",\"18:00\"]],"
        "\"thu\":[[\"09:00\",\"18:00\"]],\"fri\":[[\"09:00\",\"18:00\"]]}",
        "[]" });
    sla_terms_t t;
    sla_terms_for_ticket (res, 0, 3, "repair", "normal", MON_2026_12_07_09H_UTC, &t);
    assert_string_equal (t.calendar_id, CAL);
    assert_int_equal (t.respond_by, MON_2026_12_07_09H_UTC + 3600);
    assert_int_equal (t.resolve_by, MON_2026_12_07_09H_UTC + 86400 + 3600);
    PQclear (res);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_no_policy_is_the_default),
        cmocka_unit_test (test_policy_around_the_clock),
        cmocka_unit_test (test_policy_on_its_calendar),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
