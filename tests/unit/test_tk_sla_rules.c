/* test_tk_sla_rules: the SLA policies' pure rules (services/tickets/
 * sla_rules.c, included): the built-in policies and their warning lead,
 * GET's items (stored over defaults, in the defaults' order), and what a PUT
 * checks and stores (its calendars, its rows). No database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/sla_rules.c"
#include "jv_testing.h"

#define CAL_A "11111111-1111-4111-8111-111111111111"
#define CAL_B "22222222-2222-4222-8222-222222222222"

static int
s_int (const cJSON *obj, const char *name)
{
    return (int) cJSON_GetNumberValue (cJSON_GetObjectItem (obj, name));
}

static const char *
s_str (const cJSON *obj, const char *name)
{
    return cJSON_GetStringValue (cJSON_GetObjectItem (obj, name));
}

static void
test_default_terms (void **state)
{
    (void) state;
    int respond = 0, resolve = 0, warn = 0;
    assert_true (sla_default_terms ("repair", "urgent", &respond, &resolve, &warn));
    assert_int_equal (respond, 15);
    assert_int_equal (resolve, 240);
    assert_int_equal (warn, 48);                 /* 20% of 240 */
    assert_true (sla_default_terms ("suggestion", "low", &respond, &resolve, &warn));
    assert_int_equal (resolve, 10080);
    assert_int_equal (warn, SLA_WARN_CAP_MIN);   /* 20% would be 2016 */
    assert_true (sla_default_terms ("inquiry", "urgent", &respond, &resolve, &warn));
    assert_int_equal (respond, 5);
    assert_int_equal (warn, 6);
    respond = resolve = warn = -7;
    assert_false (sla_default_terms ("repair", "soon", &respond, &resolve, &warn));
    assert_false (sla_default_terms ("gossip", "urgent", &respond, &resolve, &warn));
    assert_false (sla_default_terms (NULL, "urgent", &respond, &resolve, &warn));
    assert_int_equal (respond, -7);              /* untouched on false */
}

static void
test_default_warn (void **state)
{
    (void) state;
    assert_int_equal (sla_default_warn (0), 1);
    assert_int_equal (sla_default_warn (4), 1);
    assert_int_equal (sla_default_warn (10), 2);
    assert_int_equal (sla_default_warn (300), 60);
    assert_int_equal (sla_default_warn (301), 60);
}

static void
test_items_all_defaults (void **state)
{
    (void) state;
    cJSON *items = sla_policies_items (NULL, 0);
    assert_int_equal (cJSON_GetArraySize (items), TK_SLA_POLICIES_MAX);
    const cJSON *first = cJSON_GetArrayItem (items, 0);
    assert_string_equal (s_str (first, "type"), "repair");
    assert_string_equal (s_str (first, "priority"), "urgent");
    assert_int_equal (s_int (first, "respond_minutes"), 15);
    assert_int_equal (s_int (first, "warn_minutes"), 48);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (first, "calendar_id")));
    assert_string_equal (s_str (first, "source"), "default");
    const cJSON *last = cJSON_GetArrayItem (items, TK_SLA_POLICIES_MAX - 1);
    assert_string_equal (s_str (last, "type"), "other");
    assert_string_equal (s_str (last, "priority"), "low");
    assert_int_equal (s_int (last, "resolve_minutes"), 4320);
    cJSON_Delete (items);
}

static void
test_items_stored_over_default (void **state)
{
    (void) state;
    tk_sla_policy_t stored[] = {
        { .type = "complaint", .priority = "high", .respond_minutes = 20, .resolve_minutes = 100,
          .warn_minutes = 10, .calendar_id = CAL_A },
        { .type = "other", .priority = "low", .respond_minutes = 1, .resolve_minutes = 2,
          .warn_minutes = 0 },
    };
    cJSON *items = sla_policies_items (stored, 2);
    assert_int_equal (cJSON_GetArraySize (items), TK_SLA_POLICIES_MAX);
    const cJSON *own = cJSON_GetArrayItem (items, 1 * 4 + 1);   /* complaint, high */
    assert_string_equal (s_str (own, "type"), "complaint");
    assert_string_equal (s_str (own, "priority"), "high");
    assert_int_equal (s_int (own, "respond_minutes"), 20);
    assert_int_equal (s_int (own, "resolve_minutes"), 100);
    assert_int_equal (s_int (own, "warn_minutes"), 10);
    assert_string_equal (s_str (own, "calendar_id"), CAL_A);
    assert_string_equal (s_str (own, "source"), "property");
    const cJSON *beside = cJSON_GetArrayItem (items, 1 * 4 + 0);  /* complaint, urgent */
    assert_string_equal (s_str (beside, "source"), "default");
    assert_int_equal (s_int (beside, "respond_minutes"), 15);
    const cJSON *last = cJSON_GetArrayItem (items, TK_SLA_POLICIES_MAX - 1);
    assert_string_equal (s_str (last, "source"), "property");
    assert_int_equal (s_int (last, "warn_minutes"), 0);       /* a stored 0 stays 0 */
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (last, "calendar_id")));
    cJSON_Delete (items);
}

static tk_sla_policies_input_t
s_input (void)
{
    tk_sla_policies_input_t in = { .n = 4 };
    in.items[0] = (tk_sla_policy_t) { "repair", "urgent", CAL_A, 10, 60, -1, 0 };
    in.items[1] = (tk_sla_policy_t) { "repair", "high", NULL, 20, 120, 5, 2 };
    in.items[2] = (tk_sla_policy_t) { "inquiry", "low", CAL_B, 5, 30, -1, 3 };
    in.items[3] = (tk_sla_policy_t) { "inquiry", "high", CAL_A, 5, 30, 0, 5 };
    return in;
}

static void
test_calendar_ids_text (void **state)
{
    (void) state;
    tk_sla_policies_input_t in = s_input ();
    char *text = sla_calendar_ids_text (&in);
    assert_string_equal (text, "{" CAL_A "," CAL_B "}");      /* each once */
    free (text);
    in.items[0].calendar_id = in.items[2].calendar_id = in.items[3].calendar_id = NULL;
    assert_null (sla_calendar_ids_text (&in));
    in.n = 0;
    assert_null (sla_calendar_ids_text (&in));
}

static void
test_calendars_check (void **state)
{
    (void) state;
    tk_sla_policies_input_t in = s_input ();
    jv_t v = JV_INIT;
    const char *const both[] = { CAL_B, CAL_A };
    sla_calendars_check (&v, &in, both, 2);
    assert_true (jv_ok (&v));
    const char *const only_a[] = { CAL_A };
    sla_calendars_check (&v, &in, only_a, 1);
    /* named by the request's index, not the valid items' place */
    assert_string_equal (jvt_problems (&v), "items[3].calendar_id: no such calendar in this property");
    sla_calendars_check (&v, &in, NULL, 0);
    assert_string_equal (jvt_problems (&v), "items[0].calendar_id: no such calendar in this property; "
                                            "items[3].calendar_id: no such calendar in this property; "
                                            "items[5].calendar_id: no such calendar in this property");
}

static void
test_policy_rows (void **state)
{
    (void) state;
    tk_sla_policies_input_t in = s_input ();
    cJSON *rows = sla_policy_rows (&in);
    assert_int_equal (cJSON_GetArraySize (rows), 4);
    const cJSON *r0 = cJSON_GetArrayItem (rows, 0), *r1 = cJSON_GetArrayItem (rows, 1);
    assert_string_equal (s_str (r0, "type"), "repair");
    assert_int_equal (s_int (r0, "warn_minutes"), 12);          /* absent: 20% of 60 */
    assert_string_equal (s_str (r0, "calendar_id"), CAL_A);
    assert_int_equal (s_int (r1, "warn_minutes"), 5);
    assert_null (cJSON_GetObjectItem (r1, "calendar_id"));      /* NULL in the recordset */
    assert_null (cJSON_GetObjectItem (r1, "source"));
    assert_int_equal (s_int (cJSON_GetArrayItem (rows, 3), "warn_minutes"), 0);
    cJSON_Delete (rows);
    in.n = 0;
    rows = sla_policy_rows (&in);
    assert_int_equal (cJSON_GetArraySize (rows), 0);
    cJSON_Delete (rows);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_default_terms),
        cmocka_unit_test (test_default_warn),
        cmocka_unit_test (test_items_all_defaults),
        cmocka_unit_test (test_items_stored_over_default),
        cmocka_unit_test (test_calendar_ids_text),
        cmocka_unit_test (test_calendars_check),
        cmocka_unit_test (test_policy_rows),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
