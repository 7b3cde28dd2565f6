/* test_tk_inputs: the tickets service's inputs (services/tickets/ticket_rules.c,
 * included with the workflow table and sla_clock it reads): a new ticket and
 * its type's data, an action and what it carries, comments, follow-up calls,
 * FAQ entries, SLA policies and duty shifts. The problems are the ones the
 * black-box tests see; what needs a row (a unit, a calendar) is theirs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/sla_clock.c"
#include "../../services/tickets/ticket_rules.c"
#include "../../services/tickets/workflow.c"
#include "jv_testing.h"

#define UID "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"

static int
s_count (const jv_t *v)
{
    return cJSON_GetArraySize (v->details);
}

/* --- tickets.create ---------------------------------------------------------- */

static void
test_ticket_defaults (void **state)
{
    (void) state;
    cJSON *data = cJSON_Parse ("{\"type\":\"repair\",\"title\":\"漏水\",\"description\":\"\","
                               "\"category\":null,\"unit_id\":\"" UID "\"}");
    jv_t v = JV_INIT;
    tk_ticket_input_t in;
    assert_true (tk_ticket_input (&v, data, &in));
    assert_string_equal (in.type, "repair");
    assert_string_equal (in.channel, "phone");
    assert_string_equal (in.priority, "normal");
    assert_null (in.description);             /* "" is none */
    assert_null (in.category);
    assert_string_equal (in.unit_id, UID);
    assert_false (in.resolve_now);
    assert_true (cJSON_IsObject (in.data));
    assert_int_equal (cJSON_GetArraySize (in.data), 0);
    cJSON_Delete (in.data);
    cJSON_Delete (data);
}

static void
test_ticket_not_object (void **state)
{
    (void) state;
    cJSON *data = cJSON_Parse ("[1]");
    jv_t v = JV_INIT;
    tk_ticket_input_t in;
    assert_false (tk_ticket_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "body"));
    assert_null (in.data);
    jv_reset (&v);
    assert_false (tk_ticket_input (&v, NULL, &in));
    jv_reset (&v);
    cJSON_Delete (data);
}

static void
test_ticket_inquiry_rules (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_ticket_input_t in;
    /* a repair is not resolved at creation nor answered */
    cJSON *data = cJSON_Parse ("{\"type\":\"repair\",\"title\":\"t\",\"resolve_now\":true,"
                               "\"faq_id\":\"" UID "\",\"answer\":\"a\"}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "resolve_now"), "only an inquiry is resolved at creation");
    assert_non_null (jvt_problem (&v, "faq_id"));
    assert_non_null (jvt_problem (&v, "answer"));
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    /* an inquiry's answer needs resolve_now */
    data = cJSON_Parse ("{\"type\":\"inquiry\",\"title\":\"t\",\"answer\":\"a\"}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "resolve_now"), "must be true when an answer or faq_id is given");
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    /* "" answer is no answer: then nothing asks for resolve_now */
    data = cJSON_Parse ("{\"type\":\"inquiry\",\"title\":\"t\",\"answer\":\"\",\"resolve_now\":null}");
    assert_true (tk_ticket_input (&v, data, &in));
    assert_null (in.answer);
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    /* resolve_now must be a boolean */
    data = cJSON_Parse ("{\"type\":\"inquiry\",\"title\":\"t\",\"resolve_now\":1}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "resolve_now"), "must be true or false");
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
}

static void
test_ticket_type_data (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_ticket_input_t in;
    cJSON *data = cJSON_Parse ("{\"type\":\"renovation\",\"title\":\"t\",\"data\":{\"deposit\":200000,"
                               "\"management_fee\":-1,\"contractor\":5,\"start_date\":\"2026-03-01\","
                               "\"end_date\":\"2026-02-30\",\"unknown\":1}}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "data.management_fee"));
    assert_string_equal (jvt_problem (&v, "data.contractor"), "must be a string of 1 to 200 bytes");
    assert_string_equal (jvt_problem (&v, "data.end_date"), "must be a date YYYY-MM-DD");
    assert_null (jvt_problem (&v, "data.start_date"));
    assert_int_equal (s_count (&v), 3);
    /* what was valid is kept, the unknown field is not */
    assert_int_equal (cJSON_GetNumberValue (cJSON_GetObjectItem (in.data, "deposit")), 200000);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (in.data, "start_date")), "2026-03-01");
    assert_null (cJSON_GetObjectItem (in.data, "unknown"));
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    /* an item release lists 1..100 non-empty items */
    data = cJSON_Parse ("{\"type\":\"item_release\",\"title\":\"t\",\"data\":{\"items\":[\"沙发\",\"\"]}}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "data.items"));
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"type\":\"item_release\",\"title\":\"t\"}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "data.items"));
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    /* the other types take no data; an empty object or null is fine */
    data = cJSON_Parse ("{\"type\":\"repair\",\"title\":\"t\",\"data\":{\"x\":1}}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "data"), "only renovation and item_release tickets take data");
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"type\":\"repair\",\"title\":\"t\",\"data\":\"x\"}");
    assert_false (tk_ticket_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "data"), "must be an object");
    cJSON_Delete (in.data);
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"type\":\"repair\",\"title\":\"t\",\"data\":{}}");
    assert_true (tk_ticket_input (&v, data, &in));
    cJSON_Delete (in.data);
    cJSON_Delete (data);
}

/* --- tickets.actions.create ---------------------------------------------------- */

/* --- tickets.list ------------------------------------------------------------- */

static void
test_list_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_list_input_t in;
    /* "" filters nothing; the strings are the query's own */
    cJSON *params = cJSON_Parse ("{\"pid\":\"" UID "\",\"status\":\"\",\"type\":\"repair\","
                                 "\"unit_id\":\"" UID "\",\"q\":\"漏水\",\"overdue\":\"true\"}");
    assert_true (tk_list_input (&v, params, &in));
    assert_null (in.status);
    assert_null (in.assignee_id);
    assert_string_equal (in.type, "repair");
    assert_string_equal (in.unit_id, UID);
    assert_ptr_equal (in.q, cJSON_GetObjectItem (params, "q")->valuestring);
    assert_true (in.overdue);
    cJSON_Delete (params);
    params = cJSON_Parse ("{\"overdue\":\"false\",\"assignee_id\":\"tech1\"}");
    assert_true (tk_list_input (&v, params, &in));
    assert_false (in.overdue);
    assert_string_equal (in.assignee_id, "tech1");
    cJSON_Delete (params);
    /* every bad value named, after problems already in v (the page's) */
    jv_problem (&v, "limit", "must be an integer from 1 to 500");
    params = cJSON_Parse ("{\"status\":\"lost\",\"type\":\"castle\",\"unit_id\":\"x\","
                          "\"overdue\":\"maybe\",\"q\":\"" "0123456789012345678901234567890123456789"
                          "012345678901234567890123456789012345678901234567890123456789012345678901234567"
                          "89\"}");
    assert_false (tk_list_input (&v, params, &in));
    const char *fields[] = { "limit", "status", "type", "unit_id", "q", "overdue" };
    for (int i = 0; i < 6; i++)
        assert_non_null (jvt_problem (&v, fields[i]));
    assert_string_equal (jvt_problem (&v, "overdue"), "must be true or false");
    assert_int_equal (s_count (&v), 6);
    jv_reset (&v);
    cJSON_Delete (params);
    assert_true (tk_list_input (&v, NULL, &in));  /* no query at all */
    assert_null (in.type);
}

static void
test_action_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_action_input_t in;
    cJSON *data = cJSON_Parse ("{\"action\":\"resolve\",\"note\":\"\",\"fee\":{\"amount\":5000,"
                               "\"fee_item_code\":\"REPAIR\"}}");
    assert_true (tk_action_input (&v, data, &in));
    assert_null (in.note);                    /* "" is no note */
    assert_true (in.has_fee);
    assert_int_equal (in.fee_amount, 5000);
    assert_string_equal (in.fee_item_code, "REPAIR");
    cJSON_Delete (data);
    /* what each move takes */
    data = cJSON_Parse ("{\"action\":\"start\",\"assignee_id\":\"u\",\"fee\":{\"amount\":1},"
                        "\"approved_by_party_id\":\"" UID "\"}");
    assert_false (tk_action_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "assignee_id"), "only assign and escalate take an assignee");
    assert_string_equal (jvt_problem (&v, "fee"), "only resolve takes a fee");
    assert_string_equal (jvt_problem (&v, "approved_by_party_id"), "only approve takes it");
    cJSON_Delete (data);
    jv_reset (&v);
    /* a fee: 1 fen at least, a code of 1..64 bytes; one problem per field */
    data = cJSON_Parse ("{\"action\":\"resolve\",\"fee\":{\"amount\":0,\"fee_item_code\":5}}");
    assert_false (tk_action_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "fee.amount"));
    assert_string_equal (jvt_problem (&v, "fee.fee_item_code"), "must be a string of 1 to 64 bytes");
    assert_int_equal (s_count (&v), 2);
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"action\":\"resolve\",\"fee\":[1]}");
    assert_false (tk_action_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "fee"));
    assert_false (in.has_fee);
    cJSON_Delete (data);
    jv_reset (&v);
    /* an unknown move; no other problem is guessed without one */
    data = cJSON_Parse ("{\"action\":\"fly\",\"assignee_id\":\"u\"}");
    assert_false (tk_action_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "action"));
    assert_null (jvt_problem (&v, "assignee_id"));
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"action\":\"escalate\",\"assignee_id\":\"m\",\"fee\":null}");
    assert_true (tk_action_input (&v, data, &in));
    assert_false (in.has_fee);
    cJSON_Delete (data);
    jv_reset (&v);
    /* an empty assignee is not "nobody": it is refused, not stored */
    data = cJSON_Parse ("{\"action\":\"assign\",\"assignee_id\":\"\"}");
    assert_false (tk_action_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "assignee_id"));
    cJSON_Delete (data);
    jv_reset (&v);
}

/* --- comments and follow-up calls ------------------------------------------------ */

static void
test_comment_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_comment_input_t in;
    cJSON *data = cJSON_Parse ("{\"body\":\"已联系\",\"internal\":true}");
    assert_true (tk_comment_input (&v, data, &in));
    assert_string_equal (in.body, "已联系");
    assert_true (in.internal);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"internal\":\"yes\"}");
    assert_false (tk_comment_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "body"));
    assert_string_equal (jvt_problem (&v, "internal"), "must be true or false");
    cJSON_Delete (data);
    jv_reset (&v);
    assert_false (tk_comment_input (&v, NULL, &in));
    assert_non_null (jvt_problem (&v, "body"));
    assert_null (in.body);
    jv_reset (&v);
}

static void
test_feedback_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_feedback_input_t in;
    cJSON *data = cJSON_Parse ("{\"rating\":5,\"comment\":\"\"}");
    assert_true (tk_feedback_input (&v, data, &in));
    assert_int_equal (in.rating, 5);
    assert_null (in.comment);
    cJSON_Delete (data);
    const char *bad[] = { "{\"rating\":0}", "{\"rating\":6}", "{\"rating\":4.5}", "{\"rating\":\"5\"}", "{}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        data = cJSON_Parse (bad[i]);
        assert_false (tk_feedback_input (&v, data, &in));
        assert_non_null (jvt_problem (&v, "rating"));
        cJSON_Delete (data);
        jv_reset (&v);
    }
    /* a comment over TK_FEEDBACK_COMMENT_MAX bytes */
    char *big = malloc (TK_FEEDBACK_COMMENT_MAX + 2);
    memset (big, 'x', TK_FEEDBACK_COMMENT_MAX + 1);
    big[TK_FEEDBACK_COMMENT_MAX + 1] = '\0';
    data = cJSON_CreateObject ();
    cJSON_AddNumberToObject (data, "rating", 3);
    cJSON_AddStringToObject (data, "comment", big);
    assert_false (tk_feedback_input (&v, data, &in));
    assert_non_null (jvt_problem (&v, "comment"));
    jv_reset (&v);
    big[TK_FEEDBACK_COMMENT_MAX] = '\0';
    cJSON_ReplaceItemInObject (data, "comment", cJSON_CreateString (big));
    assert_true (tk_feedback_input (&v, data, &in));
    cJSON_Delete (data);
    free (big);
}

/* --- FAQ ---------------------------------------------------------------------------- */

static void
test_faq_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_faq_input_t in;
    cJSON *data = cJSON_Parse ("{\"question\":\"停车费怎么交\",\"answer\":\"前台\",\"tags\":[\"停车\"]}");
    assert_true (tk_faq_input (&v, data, false, &in));
    assert_string_equal (in.tags_text, "[\"停车\"]");
    free (in.tags_text);
    cJSON_Delete (data);
    /* create: both texts required */
    data = cJSON_Parse ("{\"question\":\"q\"}");
    assert_false (tk_faq_input (&v, data, false, &in));
    assert_non_null (jvt_problem (&v, "answer"));
    assert_null (in.tags_text);
    jv_reset (&v);
    /* update: any of them, but one */
    assert_true (tk_faq_input (&v, data, true, &in));
    assert_null (in.answer);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"tags\":null}");
    assert_false (tk_faq_input (&v, data, true, &in));
    assert_string_equal (jvt_problem (&v, "body"), "nothing to change: give question, answer or tags");
    cJSON_Delete (data);
    jv_reset (&v);
    /* tags: [] clears them; a bad tag is named by its place; no text after a problem */
    data = cJSON_Parse ("{\"tags\":[]}");
    assert_true (tk_faq_input (&v, data, true, &in));
    assert_string_equal (in.tags_text, "[]");
    free (in.tags_text);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"question\":\"q\",\"tags\":[\"a\",\"\"]}");
    assert_false (tk_faq_input (&v, data, true, &in));
    assert_string_equal (jvt_problem (&v, "tags"), "tags[1] must be a text of 1 to 64 bytes");
    assert_null (in.tags_text);
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_CreateObject ();
    cJSON_AddStringToObject (data, "question", "q");
    cJSON *tags = cJSON_AddArrayToObject (data, "tags");
    for (int i = 0; i <= FAQ_TAGS_MAX; i++)
        cJSON_AddItemToArray (tags, cJSON_CreateString ("t"));
    assert_false (tk_faq_input (&v, data, true, &in));
    assert_string_equal (jvt_problem (&v, "tags"), "must be an array of at most 20 texts");
    cJSON_Delete (data);
    jv_reset (&v);
}

/* --- SLA policies ---------------------------------------------------------------- */

static void
test_sla_policies_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_sla_policies_input_t in;
    cJSON *data = cJSON_Parse (
        "{\"items\":["
        "{\"type\":\"repair\",\"priority\":\"urgent\",\"respond_minutes\":15,\"resolve_minutes\":240,"
        " \"calendar_id\":\"" UID "\"},"
        "7,"
        "{\"type\":\"repair\",\"priority\":\"urgent\",\"respond_minutes\":10,\"resolve_minutes\":20},"
        "{\"type\":\"complaint\",\"priority\":\"low\",\"respond_minutes\":60,\"resolve_minutes\":30},"
        "{\"type\":\"inquiry\",\"priority\":\"low\",\"respond_minutes\":5,\"resolve_minutes\":30,"
        " \"warn_minutes\":30},"
        "{\"type\":\"inquiry\",\"priority\":\"high\",\"respond_minutes\":5,\"resolve_minutes\":30,"
        " \"warn_minutes\":0}]}");
    assert_false (tk_sla_policies_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "items[1]"), "must be an object");
    assert_string_equal (jvt_problem (&v, "items[2].priority"),
                         "this type and priority are listed twice (items[0])");
    assert_string_equal (jvt_problem (&v, "items[3].resolve_minutes"), "must not be less than respond_minutes");
    assert_string_equal (jvt_problem (&v, "items[4].warn_minutes"), "must be less than resolve_minutes");
    assert_int_equal (s_count (&v), 4);
    /* the valid ones go on to the calendar check, with their places */
    assert_int_equal (in.n, 2);
    assert_int_equal (in.items[0].index, 0);
    assert_string_equal (in.items[0].calendar_id, UID);
    assert_int_equal (in.items[0].warn_minutes, -1);     /* the default applies */
    assert_int_equal (in.items[1].index, 5);
    assert_int_equal (in.items[1].warn_minutes, 0);
    assert_null (in.items[1].calendar_id);
    cJSON_Delete (data);
    jv_reset (&v);
    /* the body's shape */
    data = cJSON_Parse ("{\"items\":{}}");
    assert_false (tk_sla_policies_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "items"), "is required: an array of policies");
    assert_int_equal (in.n, 0);
    cJSON_Delete (data);
    jv_reset (&v);
    assert_false (tk_sla_policies_input (&v, NULL, &in));
    assert_non_null (jvt_problem (&v, "body"));
    assert_null (jvt_problem (&v, "items"));
    jv_reset (&v);
    /* more than one per type and priority cannot be right */
    data = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (data, "items");
    for (int i = 0; i <= TK_SLA_POLICIES_MAX; i++)
        cJSON_AddItemToArray (items, cJSON_CreateObject ());
    assert_false (tk_sla_policies_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "items"), "at most one policy per type and priority");
    assert_int_equal (s_count (&v), 1);
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"items\":[]}");
    assert_true (tk_sla_policies_input (&v, data, &in));
    assert_int_equal (in.n, 0);
    cJSON_Delete (data);
}

/* --- duty shifts ------------------------------------------------------------------- */

static void
test_shift_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tk_shift_input_t in;
    cJSON *data = cJSON_Parse ("{\"post\":\"front_desk\",\"user_id\":\"agent-1\","
                               "\"starts_at\":\"2026-11-27T08:00:00+08:00\","
                               "\"ends_at\":\"2026-11-28T00:00:00Z\",\"key_post\":true}");
    assert_true (tk_shift_input (&v, data, &in));
    assert_int_equal (in.ends_at - in.starts_at, 24 * 3600);
    assert_true (in.key_post);
    cJSON_Delete (data);
    /* exactly 31 days is a shift; a second more is a typo */
    data = cJSON_Parse ("{\"post\":\"p\",\"user_id\":\"u\",\"starts_at\":\"2026-01-01T00:00:00Z\","
                        "\"ends_at\":\"2026-02-01T00:00:00Z\"}");
    assert_true (tk_shift_input (&v, data, &in));
    assert_false (in.key_post);
    cJSON_Delete (data);
    data = cJSON_Parse ("{\"post\":\"p\",\"user_id\":\"u\",\"starts_at\":\"2026-01-01T00:00:00Z\","
                        "\"ends_at\":\"2026-02-01T00:00:01Z\"}");
    assert_false (tk_shift_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "ends_at"), "a shift lasts at most 31 days");
    cJSON_Delete (data);
    jv_reset (&v);
    data = cJSON_Parse ("{\"post\":\"p\",\"user_id\":\"u\",\"starts_at\":\"2026-01-01T00:00:00Z\","
                        "\"ends_at\":\"2026-01-01T00:00:00Z\",\"key_post\":1}");
    assert_false (tk_shift_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "ends_at"), "must be after starts_at");
    assert_string_equal (jvt_problem (&v, "key_post"), "must be true or false");
    cJSON_Delete (data);
    jv_reset (&v);
    /* a date is not a time here; a bad start hides the order check */
    data = cJSON_Parse ("{\"post\":\"\",\"starts_at\":\"2026-01-01\",\"ends_at\":\"2025-01-01T00:00:00Z\"}");
    assert_false (tk_shift_input (&v, data, &in));
    assert_string_equal (jvt_problem (&v, "starts_at"), "must be an RFC 3339 time (2026-11-27T08:00:00Z)");
    assert_non_null (jvt_problem (&v, "post"));
    assert_non_null (jvt_problem (&v, "user_id"));
    assert_null (jvt_problem (&v, "ends_at"));
    cJSON_Delete (data);
    jv_reset (&v);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_ticket_defaults),
        cmocka_unit_test (test_ticket_not_object),
        cmocka_unit_test (test_ticket_inquiry_rules),
        cmocka_unit_test (test_ticket_type_data),
        cmocka_unit_test (test_list_input),
        cmocka_unit_test (test_action_input),
        cmocka_unit_test (test_comment_input),
        cmocka_unit_test (test_feedback_input),
        cmocka_unit_test (test_faq_input),
        cmocka_unit_test (test_sla_policies_input),
        cmocka_unit_test (test_shift_input),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
