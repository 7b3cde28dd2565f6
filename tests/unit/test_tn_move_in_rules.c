/* test_tn_move_in_rules: the move-in checklist (definitions, ticking items
 * off, what blocks complete), move-out clearance and the contact log's
 * input (services/tenants/move_in_rules.c, included, with the unit_rules.c
 * helpers it uses). No database: the handlers' paths are
 * test_move_ins.py's, test_move_out_clearance.py's, test_party_contacts.py's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tenants/move_in_rules.c"
#include "../../services/tenants/unit_rules.c"
#include "jv_testing.h"

#define NOW_US (INT64_C (1795000000) * 1000000)     /* 2026-11-18T... */

static cJSON *
s_item (const cJSON *checklist, const char *key)
{
    return s_find (checklist, key);
}

static void
test_defaults (void **state)
{
    (void) state;
    cJSON *d = tn_checklist_defaults ();
    assert_int_equal (cJSON_GetArraySize (d), 8);
    const cJSON *keys = s_item (d, "keys_handed_over");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (keys, "value_kind")), "count");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (keys, "required")));
    assert_true (cJSON_IsFalse (cJSON_GetObjectItem (s_item (d, "meter_gas"), "required")));
    cJSON *open = tn_checklist_open (d);
    const cJSON *it;
    cJSON_ArrayForEach (it, open) {
        assert_true (cJSON_IsFalse (cJSON_GetObjectItem (it, "done")));
        assert_true (cJSON_IsNull (cJSON_GetObjectItem (it, "value")));
    }
    /* every required item is missing at first; gas is not required */
    cJSON *missing = tn_checklist_missing (open);
    assert_int_equal (cJSON_GetArraySize (missing), 7);
    jv_t v = { missing };
    assert_non_null (jvt_problem (&v, "checklist.identity_checked"));
    assert_null (jvt_problem (&v, "checklist.meter_gas"));
    cJSON_Delete (missing);
    cJSON_Delete (open);
    cJSON_Delete (d);
}

static void
test_definition_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    cJSON *items = NULL;
    cJSON *data = cJSON_Parse ("{\"items\":[{\"item\":\"keys\",\"label\":{\"zh\":\"钥匙\"},\"value_kind\":\"count\"},"
                               "{\"item\":\"card\",\"label\":{\"zh\":\"门禁卡\",\"en\":\"Card\"},\"required\":false}]}");
    assert_true (tn_checklist_def_input (&v, data, &items));
    const cJSON *keys = cJSON_GetArrayItem (items, 0), *card = cJSON_GetArrayItem (items, 1);
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (keys, "required")));            /* the default */
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (cJSON_GetObjectItem (keys, "label"), "en")));
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (card, "value_kind")), "none");
    assert_true (cJSON_IsFalse (cJSON_GetObjectItem (card, "required")));
    cJSON_Delete (items);
    cJSON_Delete (data);

    data = cJSON_Parse ("{\"items\":[{\"item\":\"9keys\",\"label\":{\"zh\":\"x\"}},"
                        "{\"item\":\"a\",\"label\":{\"zh\":\"x\"}},{\"item\":\"a\",\"label\":{\"zh\":\"y\"}},"
                        "{\"item\":\"c\",\"label\":{\"zh\":\"\"},\"required\":1,\"value_kind\":\"photo\"},"
                        "{\"item\":\"b\"}]}");
    assert_false (tn_checklist_def_input (&v, data, &items));
    assert_null (items);
    assert_non_null (jvt_problem (&v, "items[0].item"));
    assert_null (jvt_problem (&v, "items[1].item"));
    assert_string_equal (jvt_problem (&v, "items[2].item"), "is given twice");
    assert_non_null (jvt_problem (&v, "items[3].label.zh"));
    assert_non_null (jvt_problem (&v, "items[3].required"));
    assert_non_null (jvt_problem (&v, "items[3].value_kind"));
    assert_non_null (jvt_problem (&v, "items[4].label"));
    jv_reset (&v);
    cJSON_Delete (data);

    data = cJSON_Parse ("{\"items\":[]}");
    assert_false (tn_checklist_def_input (&v, data, &items));
    assert_non_null (jvt_problem (&v, "items"));
    jv_reset (&v);
    cJSON_Delete (data);
}

static void
test_values (void **state)
{
    (void) state;
    assert_true (tn_checklist_value_ok ("count", "0"));
    assert_true (tn_checklist_value_ok ("count", "999999"));
    assert_false (tn_checklist_value_ok ("count", "1000000"));
    assert_false (tn_checklist_value_ok ("count", "-1"));
    assert_false (tn_checklist_value_ok ("count", "2.0"));
    assert_false (tn_checklist_value_ok ("count", ""));
    assert_false (tn_checklist_value_ok ("count", " 2"));
    assert_true (tn_checklist_value_ok ("reading", "1234"));
    assert_true (tn_checklist_value_ok ("reading", "1234.567"));
    assert_true (tn_checklist_value_ok ("reading", "0.5"));
    assert_false (tn_checklist_value_ok ("reading", "1234.5678"));
    assert_false (tn_checklist_value_ok ("reading", ".5"));
    assert_false (tn_checklist_value_ok ("reading", "5."));
    assert_false (tn_checklist_value_ok ("reading", "1e3"));
    assert_false (tn_checklist_value_ok ("reading", "12345678901"));
    assert_false (tn_checklist_value_ok ("reading", "-3"));
    assert_true (tn_checklist_value_ok ("text", "粤房地权证第0001号"));
    assert_false (tn_checklist_value_ok ("text", ""));
    assert_false (tn_checklist_value_ok ("none", "x"));
}

static void
test_patch (void **state)
{
    (void) state;
    cJSON *defs = tn_checklist_defaults ();
    cJSON *c = tn_checklist_open (defs);
    jv_t v = JV_INIT;
    cJSON *data = cJSON_Parse ("{\"checklist\":[{\"item\":\"keys_handed_over\",\"done\":true,\"value\":\"2\"},"
                               "{\"item\":\"identity_checked\",\"done\":true,\"note\":\"核对\"}]}");
    assert_true (tn_checklist_patch (&v, data, c, "u-1", "2026-03-01T02:00:00Z"));
    const cJSON *keys = s_item (c, "keys_handed_over");
    assert_true (cJSON_IsTrue (cJSON_GetObjectItem (keys, "done")));
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (keys, "value")), "2");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (keys, "done_by")), "u-1");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (keys, "done_at")), "2026-03-01T02:00:00Z");
    cJSON_Delete (data);

    /* done again by another: the first doer stays; undone: cleared; the value stays */
    data = cJSON_Parse ("{\"checklist\":[{\"item\":\"keys_handed_over\",\"done\":true}]}");
    assert_true (tn_checklist_patch (&v, data, c, "u-2", "2026-03-02T02:00:00Z"));
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (keys, "done_by")), "u-1");
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"checklist\":[{\"item\":\"keys_handed_over\",\"done\":false},"
                        "{\"item\":\"identity_checked\",\"done\":true,\"note\":null}]}");
    assert_true (tn_checklist_patch (&v, data, c, "u-2", "2026-03-02T02:00:00Z"));
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (keys, "done_by")));
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (keys, "value")), "2");
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (s_item (c, "identity_checked"), "note")));
    cJSON_Delete (data);

    /* every entry valid, or nothing changes */
    char *before = cJSON_PrintUnformatted (c);
    data = cJSON_Parse ("{\"checklist\":[{\"item\":\"meter_water\",\"done\":true,\"value\":\"10.5\"},"
                        "{\"item\":\"nope\",\"done\":true},{\"item\":\"meter_gas\",\"done\":true},"
                        "{\"item\":\"identity_checked\",\"done\":true,\"value\":\"x\"},"
                        "{\"item\":\"meter_water\",\"done\":false},{\"item\":\"contract_seen\",\"done\":1},"
                        "{\"item\":\"contract_seen\"}, 7]}");
    assert_false (tn_checklist_patch (&v, data, c, "u-3", "2026-03-03T02:00:00Z"));
    assert_string_equal (jvt_problem (&v, "checklist[1].item"), "is not an item of this move-in's checklist");
    assert_string_equal (jvt_problem (&v, "checklist[2].value"), "is required to mark this item done");
    assert_string_equal (jvt_problem (&v, "checklist[3].value"), "this item takes no value");
    assert_string_equal (jvt_problem (&v, "checklist[4].item"), "is given twice");
    assert_non_null (jvt_problem (&v, "checklist[5].done"));
    assert_non_null (jvt_problem (&v, "checklist[6].done"));
    assert_non_null (jvt_problem (&v, "checklist[7].body"));
    jv_reset (&v);
    char *after = cJSON_PrintUnformatted (c);
    assert_string_equal (before, after);
    free (before);
    free (after);
    cJSON_Delete (data);

    /* all required done: nothing blocks complete */
    data = cJSON_Parse ("{\"checklist\":[{\"item\":\"keys_handed_over\",\"done\":true},"
                        "{\"item\":\"contract_seen\",\"done\":true},"
                        "{\"item\":\"meter_electricity\",\"done\":true,\"value\":\"1\"},"
                        "{\"item\":\"meter_water\",\"done\":true,\"value\":\"2\"},"
                        "{\"item\":\"first_fees_settled\",\"done\":true},{\"item\":\"handbook_signed\",\"done\":true}]}");
    assert_true (tn_checklist_patch (&v, data, c, "u-3", "2026-03-03T02:00:00Z"));
    assert_null (tn_checklist_missing (c));
    cJSON_Delete (data);
    cJSON_Delete (c);
    cJSON_Delete (defs);
}

static void
test_clearance (void **state)
{
    (void) state;
    assert_int_equal (tn_clearance_decide (0, false), TN_CLEAR_OK);
    assert_int_equal (tn_clearance_decide (0, true), TN_CLEAR_OK);
    assert_int_equal (tn_clearance_decide (1, false), TN_CLEAR_ARREARS);
    assert_int_equal (tn_clearance_decide (1, true), TN_CLEAR_OVERRIDDEN);
    assert_int_equal (tn_clearance_decide (-1, false), TN_CLEAR_UNKNOWN);
    assert_int_equal (tn_clearance_decide (-1, true), TN_CLEAR_OVERRIDDEN);

    jv_t v = JV_INIT;
    tn_clearance_input_t in;
    cJSON *data = cJSON_Parse ("{\"end_date\":\"2026-06-30\",\"override_reason\":\"业主承诺\"}");
    assert_true (tn_clearance_input (&v, data, &in));
    assert_string_equal (in.end.end_date, "2026-06-30");
    assert_string_equal (in.override_reason, "业主承诺");
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"end_date\":\"2026-06-30\",\"override_reason\":null}");
    assert_true (tn_clearance_input (&v, data, &in));
    assert_null (in.override_reason);
    cJSON_Delete (data);
    const char *bad[] = { "\"\"", "\"  \"", "5", NULL };
    for (int i = 0; bad[i]; i++) {
        char json[64];
        snprintf (json, sizeof json, "{\"end_date\":\"2026-06-30\",\"override_reason\":%s}", bad[i]);
        data = cJSON_Parse (json);
        assert_false (tn_clearance_input (&v, data, &in));
        assert_non_null (jvt_problem (&v, "override_reason"));
        jv_reset (&v);
        cJSON_Delete (data);
    }
    /* 500 characters of Chinese pass (1500 bytes), 501 do not */
    char long_reason[2048] = "{\"end_date\":\"2026-06-30\",\"override_reason\":\"";
    for (int i = 0; i < 500; i++)
        strcat (long_reason, "欠");
    strcat (long_reason, "\"}");
    data = cJSON_Parse (long_reason);
    assert_true (tn_clearance_input (&v, data, &in));
    cJSON_Delete (data);
    long_reason[strlen (long_reason) - 2] = 0;
    strcat (long_reason, "欠\"}");
    data = cJSON_Parse (long_reason);
    assert_false (tn_clearance_input (&v, data, &in));
    jv_reset (&v);
    cJSON_Delete (data);
}

static void
test_contact_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_contact_input_t in;
    cJSON *data = cJSON_Parse ("{\"channel\":\"phone\",\"summary\":\"回访\"}");
    assert_true (tn_contact_input (&v, data, NOW_US, &in));
    char now[TN_TIME_TEXT_MAX];
    tn_time_text (NOW_US, now);
    assert_string_equal (in.at, now);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"channel\":\"letter\",\"summary\":\"x\",\"at\":\"2026-03-02T10:30:00.75+08:00\"}");
    assert_true (tn_contact_input (&v, data, NOW_US, &in));
    assert_string_equal (in.at, "2026-03-02T02:30:00Z");
    cJSON_Delete (data);
    /* a few seconds ahead (a phone's clock) pass; more do not */
    char json[128], at[TN_TIME_TEXT_MAX];
    tn_time_text (NOW_US + 60 * INT64_C (1000000), at);
    snprintf (json, sizeof json, "{\"channel\":\"visit\",\"summary\":\"x\",\"at\":\"%s\"}", at);
    data = cJSON_Parse (json);
    assert_true (tn_contact_input (&v, data, NOW_US, &in));
    cJSON_Delete (data);
    tn_time_text (NOW_US + 3600 * INT64_C (1000000), at);
    snprintf (json, sizeof json, "{\"channel\":\"visit\",\"summary\":\"x\",\"at\":\"%s\"}", at);
    data = cJSON_Parse (json);
    assert_false (tn_contact_input (&v, data, NOW_US, &in));
    assert_string_equal (jvt_problem (&v, "at"), "must not be in the future");
    jv_reset (&v);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"channel\":\"fax\",\"summary\":\"\",\"at\":\"2026-02-30T00:00:00Z\"}");
    assert_false (tn_contact_input (&v, data, NOW_US, &in));
    assert_non_null (jvt_problem (&v, "channel"));
    assert_non_null (jvt_problem (&v, "summary"));
    assert_non_null (jvt_problem (&v, "at"));
    jv_reset (&v);
    cJSON_Delete (data);
}

static void
test_time_text_and_status (void **state)
{
    (void) state;
    char t[TN_TIME_TEXT_MAX];
    tn_time_text (0, t);
    assert_string_equal (t, "1970-01-01T00:00:00Z");
    tn_time_text (INT64_C (951782400) * 1000000 + 999999, t);      /* 2000-02-29, a leap day */
    assert_string_equal (t, "2000-02-29T00:00:00Z");
    tn_time_text (INT64_C (1798761599) * 1000000, t);
    assert_string_equal (t, "2026-12-31T23:59:59Z");
    const char *s;
    assert_true (tn_move_in_status_parse (NULL, &s) && s == NULL);
    assert_true (tn_move_in_status_parse ("", &s) && s == NULL);
    assert_true (tn_move_in_status_parse ("cancelled", &s) && strcmp (s, "cancelled") == 0);
    assert_false (tn_move_in_status_parse ("Open", &s));
    assert_int_equal (tn_utf8_chars ("入伙ab"), 4);
}

static void
test_cancel_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    const char *reason;
    assert_true (tn_cancel_input (&v, NULL, &reason) && reason == NULL);
    cJSON *data = cJSON_Parse ("{\"reason\":\"改期\"}");
    assert_true (tn_cancel_input (&v, data, &reason));
    assert_string_equal (reason, "改期");
    cJSON_Delete (data);
    data = cJSON_Parse ("\"改期\"");
    assert_false (tn_cancel_input (&v, data, &reason));
    jv_reset (&v);
    cJSON_Delete (data);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_definition_input),
        cmocka_unit_test (test_values),
        cmocka_unit_test (test_patch),
        cmocka_unit_test (test_clearance),
        cmocka_unit_test (test_contact_input),
        cmocka_unit_test (test_time_text_and_status),
        cmocka_unit_test (test_cancel_input),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
