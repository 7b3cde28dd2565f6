/* test_patrol_rules: the patrol's inputs and decisions without a database
 * (services/tickets/patrol_rules.c, included): times of day, a route's
 * checkpoints and times, the planned time a round answers, a check's
 * results against the checklist and the ticket it may open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tickets/patrol_rules.c"
#include "../../services/tickets/sla_clock.c"
#include "../../services/tickets/ticket_rules.c"
#include "../../services/tickets/workflow.c"
#include "jv_testing.h"

static void
test_time_parse (void **state)
{
    (void) state;
    assert_int_equal (patrol_time_parse ("00:00"), 0);
    assert_int_equal (patrol_time_parse ("09:00"), 540);
    assert_int_equal (patrol_time_parse ("23:59"), 1439);
    const char *bad[] = { "24:00", "25:00", "9:00", "09:0", "09:60", "09-00", "0900", "", " 9:00", "09:00 ",
                          "ab:cd", "-1:00", "09:5x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (patrol_time_parse (bad[i]) != -1)
            fail_msg ("%s accepted", bad[i]);
    assert_int_equal (patrol_time_parse (NULL), -1);
}

/* The route input of a JSON text; v keeps the problems. */
static bool
s_route (const char *json, bool partial, jv_t *v, patrol_route_input_t *in)
{
    cJSON *d = cJSON_Parse (json);
    assert_non_null (d);
    bool ok = patrol_route_input (v, d, partial, in);
    /* the texts are copies: they outlive the document */
    cJSON_Delete (d);
    return ok;
}

static void
test_route_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    patrol_route_input_t in;
    assert_true (s_route ("{\"name\":\"地库\",\"checkpoints\":[{\"code\":\"B1\",\"name\":\"泵房\",\"checklist\":"
                          "[\"无渗漏\",\"运行正常\"],\"extra\":1}],\"times\":[\"15:00\",\"09:00\"]}",
                          false, &v, &in));
    assert_string_equal (in.times_text, "[\"09:00\",\"15:00\"]");
    assert_string_equal (in.checkpoints_text,
                         "[{\"code\":\"B1\",\"name\":\"泵房\",\"checklist\":[\"无渗漏\",\"运行正常\"]}]");
    assert_int_equal (in.active, -1);
    patrol_route_input_free (&in);

    /* each problem named where it is */
    assert_false (s_route ("{\"name\":\"\",\"checkpoints\":[{\"code\":\"A\",\"name\":\"A\",\"checklist\":[]},"
                           "{\"code\":\"A\",\"name\":\"B\",\"checklist\":[\"x\",\"x\"]}],"
                           "\"times\":[\"25:00\",\"08:00\",\"08:00\"],\"active\":false}", false, &v, &in));
    assert_non_null (jvt_problem (&v, "name"));
    assert_non_null (jvt_problem (&v, "checkpoints[0].checklist"));
    assert_non_null (jvt_problem (&v, "checkpoints[1].code"));
    assert_non_null (jvt_problem (&v, "checkpoints[1].checklist[1]"));
    assert_non_null (jvt_problem (&v, "times[0]"));
    assert_non_null (jvt_problem (&v, "times[2]"));
    assert_null (jvt_problem (&v, "times[1]"));
    assert_non_null (jvt_problem (&v, "active"));
    jv_reset (&v);
    patrol_route_input_free (&in);

    assert_false (s_route ("{\"name\":\"x\",\"checkpoints\":[],\"times\":\"09:00\"}", false, &v, &in));
    assert_non_null (jvt_problem (&v, "checkpoints"));
    assert_non_null (jvt_problem (&v, "times"));
    jv_reset (&v);
    patrol_route_input_free (&in);

    /* PATCH: something to change; active alone is enough */
    assert_false (s_route ("{}", true, &v, &in));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    assert_true (s_route ("{\"active\":false}", true, &v, &in));
    assert_int_equal (in.active, 0);
    assert_null (in.times_text);
    patrol_route_input_free (&in);
    assert_true (s_route ("{\"times\":[]}", true, &v, &in));
    assert_string_equal (in.times_text, "[]");
    patrol_route_input_free (&in);
}

static void
test_nearest_time (void **state)
{
    (void) state;
    cJSON *t = cJSON_Parse ("[\"09:00\",\"15:00\",\"21:30\"]");
    assert_int_equal (patrol_nearest_time (t, 0), 540);          /* 00:00: 09:00 */
    assert_int_equal (patrol_nearest_time (t, 9 * 60 + 5), 540);
    assert_int_equal (patrol_nearest_time (t, 11 * 60 + 59), 540);
    assert_int_equal (patrol_nearest_time (t, 12 * 60), 540);   /* as near: the earlier */
    assert_int_equal (patrol_nearest_time (t, 12 * 60 + 1), 900);
    assert_int_equal (patrol_nearest_time (t, 23 * 60 + 59), 1290);
    assert_true (patrol_time_planned (t, 900));
    assert_false (patrol_time_planned (t, 901));
    cJSON_Delete (t);
    t = cJSON_Parse ("[]");
    assert_int_equal (patrol_nearest_time (t, 600), -1);
    cJSON_Delete (t);
}

static void
test_round_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    patrol_round_input_t in;
    cJSON *d = cJSON_Parse ("{\"route_id\":\"6f1c2a1e-0000-4000-8000-000000000001\","
                            "\"planned_at\":\"2030-03-04T01:00:00Z\"}");
    assert_true (patrol_round_input (&v, d, &in));
    assert_string_equal (in.planned_at, "2030-03-04T01:00:00Z");
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"route_id\":\"x\",\"planned_at\":\"09:00\"}");
    assert_false (patrol_round_input (&v, d, &in));
    assert_non_null (jvt_problem (&v, "route_id"));
    assert_non_null (jvt_problem (&v, "planned_at"));
    jv_reset (&v);
    cJSON_Delete (d);
}

static bool
s_check (const char *json, jv_t *v, patrol_check_input_t *in, cJSON **doc)
{
    *doc = cJSON_Parse (json);
    assert_non_null (*doc);
    return patrol_check_input (v, *doc, in);
}

static void
test_check_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    patrol_check_input_t in;
    cJSON *d;
    assert_true (s_check ("{\"checkpoint_code\":\"B1\",\"results\":[{\"item\":\"无渗漏\",\"ok\":false,"
                          "\"note\":\"滴水\"},{\"item\":\"运行正常\",\"ok\":true,\"note\":\"\"}],"
                          "\"ticket\":{\"type\":\"repair\",\"title\":\"滴水\",\"channel\":\"phone\","
                          "\"resolve_now\":true}}", &v, &in, &d));
    assert_int_equal (in.n, 2);
    assert_int_equal (in.failed, 1);
    assert_string_equal (in.results[0].note, "滴水");
    assert_null (in.results[1].note);
    /* the channel is the patrol's, whatever was sent; fields not taken are dropped */
    assert_string_equal (in.ticket.channel, "patrol");
    assert_false (in.ticket.resolve_now);
    assert_string_equal (in.ticket.priority, "normal");

    /* on the checklist of the checkpoint, not of another */
    cJSON *cps = cJSON_Parse ("[{\"code\":\"B1\",\"checklist\":[\"无渗漏\",\"运行正常\"]},"
                              "{\"code\":\"B2\",\"checklist\":[\"通道畅通\"]}]");
    assert_non_null (patrol_checkpoint_find (cps, "B1"));
    assert_null (patrol_checkpoint_find (cps, "B9"));
    assert_true (patrol_results_on_list (&v, patrol_checkpoint_find (cps, "B1"), &in));
    assert_false (patrol_results_on_list (&v, patrol_checkpoint_find (cps, "B2"), &in));
    assert_non_null (jvt_problem (&v, "results[0].item"));
    assert_non_null (jvt_problem (&v, "results[1].item"));
    jv_reset (&v);
    cJSON_Delete (cps);
    patrol_check_input_free (&in);
    cJSON_Delete (d);

    assert_false (s_check ("{\"results\":[{\"item\":\"a\",\"ok\":1},{\"item\":\"a\",\"ok\":true},{\"ok\":true}],"
                           "\"ticket\":{\"type\":\"nope\"}}", &v, &in, &d));
    assert_non_null (jvt_problem (&v, "checkpoint_code"));
    assert_non_null (jvt_problem (&v, "results[0].ok"));
    assert_non_null (jvt_problem (&v, "results[2].item"));
    assert_non_null (jvt_problem (&v, "ticket.type"));
    assert_non_null (jvt_problem (&v, "ticket.title"));
    jv_reset (&v);
    patrol_check_input_free (&in);
    cJSON_Delete (d);

    assert_false (s_check ("{\"checkpoint_code\":\"B1\",\"results\":[{\"item\":\"a\",\"ok\":true},"
                           "{\"item\":\"a\",\"ok\":false}]}", &v, &in, &d));
    assert_non_null (jvt_problem (&v, "results[1].item"));
    jv_reset (&v);
    patrol_check_input_free (&in);
    cJSON_Delete (d);

    assert_false (s_check ("{\"checkpoint_code\":\"B1\",\"results\":[]}", &v, &in, &d));
    assert_non_null (jvt_problem (&v, "results"));
    jv_reset (&v);
    patrol_check_input_free (&in);
    cJSON_Delete (d);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_time_parse),   cmocka_unit_test (test_route_input),
        cmocka_unit_test (test_nearest_time), cmocka_unit_test (test_round_input),
        cmocka_unit_test (test_check_input),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
