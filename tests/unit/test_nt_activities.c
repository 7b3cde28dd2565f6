/* test_nt_activities: the pure parts of community activities
 * (services/notifications/activities.c, included; the database is never
 * reached; the sender and the property check are stubbed): the request
 * bodies of an activity, its change and a sign-up, the sign-up decision
 * (capacity arithmetic, started, cancelled) and the report's range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/notifications/activities.c"
#include "../../services/notifications/input_rules.c"
#include "../../services/notifications/netguard.c"
#include "jv_testing.h"

/* sender.c, not linked here */
void nt_sender_kick (nt_sender_t *self) { (void) self; }
int nt_property_known (nt_app_t *app, const env_request_t *req, const char *pid, env_reply_t *rep)
{ (void) app; (void) req; (void) pid; (void) rep; return 0; }

#define UNIT  "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd"
#define PARTY "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"

static void
test_activity_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    nt_activity_input_t in;
    cJSON *d = cJSON_Parse ("{\"title\":\"中秋游园会\",\"starts_at\":\"2036-06-01T09:00:00+08:00\","
                            "\"ends_at\":\"2036-06-01T11:00:00+08:00\",\"place\":\"中心花园\","
                            "\"audience\":\"building:A座\",\"capacity\":30}");
    assert_true (nt_activity_input (&v, d, &in));
    assert_string_equal (in.capacity, "30");
    assert_string_equal (in.description, "");
    assert_string_equal (in.aud.building, "A座");
    assert_true (in.announce);
    assert_true (in.ends_us - in.starts_us == INT64_C (7200000000));
    cJSON_Delete (d);
    /* capacity null or absent: unlimited; announce false */
    d = cJSON_Parse ("{\"title\":\"t\",\"starts_at\":\"2036-06-01T09:00:00Z\",\"ends_at\":\"2036-06-01T10:00:00Z\","
                     "\"place\":\"p\",\"audience\":\"all\",\"capacity\":null,\"announce\":false}");
    assert_true (nt_activity_input (&v, d, &in));
    assert_null (in.capacity);
    assert_false (in.announce);
    cJSON_Delete (d);
    /* every problem at once */
    d = cJSON_Parse ("{\"title\":\"\",\"starts_at\":\"2036-06-01\",\"ends_at\":\"2036-06-01T10:00:00Z\","
                     "\"audience\":\"floor:3\",\"capacity\":0,\"announce\":1,\"description\":7}");
    assert_false (nt_activity_input (&v, d, &in));
    assert_non_null (jvt_problem (&v, "title"));
    assert_non_null (jvt_problem (&v, "starts_at"));
    assert_non_null (jvt_problem (&v, "place"));
    assert_non_null (jvt_problem (&v, "audience"));
    assert_non_null (jvt_problem (&v, "capacity"));
    assert_non_null (jvt_problem (&v, "announce"));
    assert_non_null (jvt_problem (&v, "description"));
    assert_null (jvt_problem (&v, "ends_at"));
    jv_reset (&v);
    cJSON_Delete (d);
    /* the end before (or at) the start; 100001 people */
    d = cJSON_Parse ("{\"title\":\"t\",\"starts_at\":\"2036-06-01T10:00:00Z\",\"ends_at\":\"2036-06-01T18:00:00+08:00\","
                     "\"place\":\"p\",\"audience\":\"all\",\"capacity\":100001}");
    assert_false (nt_activity_input (&v, d, &in));
    assert_string_equal (jvt_problem (&v, "ends_at"), "must be after starts_at");
    assert_non_null (jvt_problem (&v, "capacity"));
    jv_reset (&v);
    cJSON_Delete (d);
    /* 200 Chinese characters fit a title, 201 do not */
    char big[1024] = "{\"title\":\"", *p = big + strlen (big);
    for (int i = 0; i < 201; i++)
        p += sprintf (p, "活");
    strcpy (p, "\",\"starts_at\":\"2036-06-01T09:00:00Z\",\"ends_at\":\"2036-06-01T10:00:00Z\","
               "\"place\":\"p\",\"audience\":\"all\"}");
    d = cJSON_Parse (big);
    assert_false (nt_activity_input (&v, d, &in));
    assert_string_equal (jvt_problem (&v, "title"), "must be at most 200 characters");
    jv_reset (&v);
    cJSON_Delete (d);
    assert_false (nt_activity_input (&v, NULL, &in));
    jv_reset (&v);
}

static void
test_patch_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    nt_activity_patch_t in;
    cJSON *d = cJSON_Parse ("{\"capacity\":null}");
    assert_true (nt_activity_patch_input (&v, d, &in));
    assert_true (in.set_capacity);
    assert_null (in.capacity);
    assert_null (in.title);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"place\":\"活动室\",\"capacity\":12}");
    assert_true (nt_activity_patch_input (&v, d, &in));
    assert_string_equal (in.capacity, "12");
    assert_string_equal (in.place, "活动室");
    cJSON_Delete (d);
    d = cJSON_Parse ("{}");
    assert_false (nt_activity_patch_input (&v, d, &in));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"status\":\"cancelled\",\"title\":\"\",\"place\":\"\","
                     "\"starts_at\":\"2036-06-01T10:00:00Z\",\"ends_at\":\"2036-06-01T09:00:00Z\"}");
    assert_false (nt_activity_patch_input (&v, d, &in));
    assert_string_equal (jvt_problem (&v, "status"), "cannot be changed");
    assert_string_equal (jvt_problem (&v, "title"), "must not be empty");
    assert_string_equal (jvt_problem (&v, "place"), "must not be empty");
    assert_string_equal (jvt_problem (&v, "ends_at"), "must be after starts_at");
    jv_reset (&v);
    cJSON_Delete (d);
}

static void
test_registration_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    nt_registration_input_t in;
    cJSON *d = cJSON_Parse ("{\"unit_id\":\"" UNIT "\",\"party_id\":\"" PARTY "\"}");
    assert_true (nt_registration_input (&v, d, &in));
    assert_int_equal (in.people, 1);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"unit_id\":\"" UNIT "\",\"party_id\":\"" PARTY "\",\"people\":10}");
    assert_true (nt_registration_input (&v, d, &in));
    assert_int_equal (in.people, 10);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"unit_id\":\"A-101\",\"people\":11}");
    assert_false (nt_registration_input (&v, d, &in));
    assert_non_null (jvt_problem (&v, "unit_id"));
    assert_non_null (jvt_problem (&v, "party_id"));
    assert_non_null (jvt_problem (&v, "people"));
    jv_reset (&v);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"unit_id\":\"" UNIT "\",\"party_id\":\"" PARTY "\",\"people\":0}");
    assert_false (nt_registration_input (&v, d, &in));
    assert_non_null (jvt_problem (&v, "people"));
    jv_reset (&v);
    cJSON_Delete (d);
}

static void
test_can_register (void **state)
{
    (void) state;
    const int64_t start = INT64_C (2000000000000000), before = start - 1;
    /* unlimited */
    assert_int_equal (nt_activity_can_register (false, start, before, -1, 99999, 10), NT_ACT_REGISTER_OK);
    /* exactly to the capacity, and one past it */
    assert_int_equal (nt_activity_can_register (false, start, before, 10, 7, 3), NT_ACT_REGISTER_OK);
    assert_int_equal (nt_activity_can_register (false, start, before, 10, 8, 3), NT_ACT_REGISTER_FULL);
    assert_int_equal (nt_activity_can_register (false, start, before, 10, 10, 1), NT_ACT_REGISTER_FULL);
    assert_int_equal (nt_activity_can_register (false, start, before, 2, 0, 3), NT_ACT_REGISTER_FULL);
    assert_int_equal (nt_activity_can_register (false, start, before, 1, 0, 1), NT_ACT_REGISTER_OK);
    /* at the start and after: closed; cancelled wins over everything */
    assert_int_equal (nt_activity_can_register (false, start, start, 10, 0, 1), NT_ACT_REGISTER_STARTED);
    assert_int_equal (nt_activity_can_register (false, start, start + 1, -1, 0, 1), NT_ACT_REGISTER_STARTED);
    assert_int_equal (nt_activity_can_register (true, start, before, 10, 10, 1), NT_ACT_REGISTER_CANCELLED);
    /* no overflow at the extremes */
    assert_int_equal (nt_activity_can_register (false, start, before, INT64_MAX, INT64_MAX - 5, 10),
                      NT_ACT_REGISTER_FULL);
}

static void
test_report_range (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    int64_t f, t;
    assert_true (nt_activity_report_range (&v, "2036-01-01", "2036-12-31", &f, &t));
    assert_int_equal (t - f, 365);
    assert_true (nt_activity_report_range (&v, "2036-06-01", "2036-06-01", &f, &t));
    assert_false (nt_activity_report_range (&v, "2036-01-01", "2037-01-01", &f, &t));
    assert_non_null (jvt_problem (&v, "to"));
    jv_reset (&v);
    assert_false (nt_activity_report_range (&v, "2036-06-02", "2036-06-01", &f, &t));
    assert_string_equal (jvt_problem (&v, "to"), "must not be before from");
    jv_reset (&v);
    assert_false (nt_activity_report_range (&v, NULL, "2036-02-30", &f, &t));
    assert_non_null (jvt_problem (&v, "from"));
    assert_non_null (jvt_problem (&v, "to"));
    jv_reset (&v);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_activity_input),
        cmocka_unit_test (test_patch_input),
        cmocka_unit_test (test_registration_input),
        cmocka_unit_test (test_can_register),
        cmocka_unit_test (test_report_range),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
