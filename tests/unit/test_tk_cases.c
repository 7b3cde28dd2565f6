/* test_tk_cases: a typical case's input without a database
 * (services/tickets/cases.c, included): the summary and lesson within the
 * sizes an FAQ entry takes (a case becomes one), and the tags. The
 * handlers' neighbours are stubbed: they are never called. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/cases.c"
#include "jv_testing.h"
#include "tk_stubs.h"

/* --- stubs of what the handlers call (and tk_stubs.h) ---------------------- */
cJSON *
sla_query_object (const env_request_t *req, const char *const *names)
{
    (void) req, (void) names;
    return cJSON_CreateObject ();
}

void
faq_create (void *app, const env_request_t *req, env_reply_t *rep)
{
    (void) app, (void) req, (void) rep;
}

/* the input's problems ("" when valid); tags_text into *tags (caller frees) */
static const char *
s_input (const char *text, char **tags)
{
    cJSON *data = cJSON_Parse (text);
    jv_t v = JV_INIT;
    case_input_t in;
    bool ok = case_input (&v, data, &in);
    assert_true (ok == jv_ok (&v));
    if (ok) {
        assert_non_null (in.summary);
        assert_non_null (in.lesson);
    }
    *tags = in.tags_text;
    cJSON_Delete (data);
    return jvt_problems (&v);
}

static void
test_case_input (void **state)
{
    (void) state;
    char *tags, big[CASE_SUMMARY_MAX + 40];
    assert_string_equal (s_input ("{\"summary\":\"电梯困人\",\"lesson\":\"先安抚\",\"tags\":[\"电梯\",\"应急\"]}", &tags), "");
    assert_string_equal (tags, "[\"电梯\",\"应急\"]");
    free (tags);
    assert_string_equal (s_input ("{\"summary\":\"s\",\"lesson\":\"l\",\"tags\":null}", &tags), "");
    assert_null (tags);
    assert_string_equal (s_input ("{\"lesson\":\"\",\"tags\":[\"\"]}", &tags),
                         "summary: is required; lesson: must not be empty; "
                         "tags: tags[0] must be a text of 1 to 64 bytes");
    assert_null (tags);
    /* one byte over an FAQ question */
    snprintf (big, sizeof big, "{\"summary\":\"%0*d\",\"lesson\":\"l\"}", CASE_SUMMARY_MAX + 1, 0);
    assert_non_null (strstr (s_input (big, &tags), "summary:"));
    assert_non_null (strstr (s_input ("{\"summary\":\"s\",\"lesson\":\"l\",\"tags\":\"电梯\"}", &tags), "tags:"));
    assert_non_null (strstr (s_input ("[]", &tags), "body:"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_case_input),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
