/* test_nt_resident_notices: the pure parts of notices to residents (issue K
 * item 7): the topic of each event type a resident may mute, the residents'
 * compiled-in texts (audience "resident": their own where the staff's would
 * not do, else the staff's; none with staff words), their rendering, and
 * the preferences body with topics (services/notifications/templates.c,
 * events.c and preferences.c, included; webhooks and the sender stubbed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/notifications/templates.c"
#include "../../services/notifications/rules.c"
#include "../../services/notifications/events.c"
#include "../../services/notifications/preferences.c"
/* input_rules.c has an s_text of its own, as templates.c has */
#define s_text s_input_text
#include "../../services/notifications/input_rules.c"
#undef s_text
#include "../../services/notifications/netguard.c"
#include "jv_testing.h"

/* webhooks.c and sender.c: events.c calls them */
int
nt_webhooks_enqueue (db_t *db, const cJSON *event)
{
    (void) db;
    (void) event;
    return 0;
}

void
nt_sender_kick (nt_sender_t *self)
{
    (void) self;
}

/* delivery_log.c's handlers are not linked: preferences.c includes its header only */

static void
test_topics_of_event_types (void **state)
{
    (void) state;
    assert_string_equal (nt_event_topic ("ticket.created"), "tickets");
    assert_string_equal (nt_event_topic ("ticket.closed"), "tickets");
    assert_string_equal (nt_event_topic ("bill.issued"), "bills");
    assert_string_equal (nt_event_topic ("payment.received"), "bills");
    assert_string_equal (nt_event_topic ("deposit.refunded"), "bills");
    assert_string_equal (nt_event_topic ("activity.reminder"), "activities");
    /* 催缴 is sent whatever the resident muted */
    assert_null (nt_event_topic ("bill.overdue"));
    assert_null (nt_event_topic ("occupancy.started"));
    assert_null (nt_event_topic ("billx"));
    assert_null (nt_event_topic (NULL));
}

static void
test_resident_defaults (void **state)
{
    (void) state;
    const char *st, *sb, *rt, *rb;
    /* every known type has a resident text in both locales, valid, with no staff words */
    for (int t = 0; nt_event_types[t]; t++)
        for (int l = 0; nt_locales[l]; l++) {
            char err[NT_TEMPLATE_ERR_MAX];
            assert_int_equal (nt_template_default_for (nt_event_types[t], "resident", nt_locales[l], &rt, &rb), 0);
            if (nt_template_validate (rt, nt_event_types[t], err) || nt_template_validate (rb, nt_event_types[t], err))
                fail_msg ("%s %s: %s", nt_event_types[t], nt_locales[l], err);
            if (strncmp (nt_event_types[t], "ticket.", 7) == 0 && strstr (rt, "assigned to you"))
                fail_msg ("%s: a staff text for residents", nt_event_types[t]);
        }
    /* their own where the staff's would not do */
    assert_int_equal (nt_template_default ("ticket.assigned", "zh-CN", &st, &sb), 0);
    assert_int_equal (nt_template_default_for ("ticket.assigned", "resident", "zh-CN", &rt, &rb), 0);
    assert_non_null (strstr (st, "已派给您"));
    assert_null (strstr (rt, "已派给您"));
    assert_string_equal (rt, "您的请求 {{number}} 已派工");
    assert_int_equal (nt_template_default_for ("ticket.created", "resident", "en", &rt, &rb), 0);
    assert_string_equal (rt, "We have your request {{number}}");
    /* the staff's where it was always written for the resident */
    assert_int_equal (nt_template_default ("bill.issued", "en", &st, &sb), 0);
    assert_int_equal (nt_template_default_for ("bill.issued", "resident", "en", &rt, &rb), 0);
    assert_ptr_equal (rt, st);
    assert_ptr_equal (rb, sb);
    /* staff is the staff's; unknown audiences, types and locales refused */
    assert_int_equal (nt_template_default_for ("ticket.assigned", "staff", "en", &rt, &rb), 0);
    assert_string_equal (rt, "Ticket {{number}} assigned to you: {{title}}");
    assert_int_equal (nt_template_default_for ("ticket.assigned", "tenant", "en", &rt, &rb), -1);
    assert_int_equal (nt_template_default_for ("ticket.assigned", NULL, "en", &rt, &rb), -1);
    assert_int_equal (nt_template_default_for ("no.such", "resident", "en", &rt, &rb), -1);
    assert_int_equal (nt_template_default_for ("ticket.assigned", "resident", "fr", &rt, &rb), -1);
    assert_true (nt_template_audience_known ("resident"));
    assert_false (nt_template_audience_known ("Resident"));
}

static void
test_reminder_renders_in_the_zone (void **state)
{
    (void) state;
    cJSON *data = cJSON_Parse ("{\"title\":\"插花课\",\"place\":\"会所二楼\",\"starts_at\":\"2026-12-24T11:00:00Z\","
                               "\"ends_at\":\"2026-12-24T13:00:00Z\",\"unit_code\":\"R-101\"}");
    cJSON *times = nt_template_times ("activity.reminder", data);
    assert_int_equal (cJSON_GetArraySize (times), 2);
    cJSON *local = cJSON_Parse ("{\"2026-12-24T11:00:00Z\":\"2026-12-24 19:00\","
                                "\"2026-12-24T13:00:00Z\":\"2026-12-24 21:00\"}");
    nt_zone_times_t zt = { local, 2026 };
    const char *t, *b;
    assert_int_equal (nt_template_default_for ("activity.reminder", "resident", "en", &t, &b), 0);
    char *en = nt_template_render (b, "activity.reminder", data, "en", &zt);
    assert_string_equal (en, "The activity \"插花课\" you signed up for starts at 24 Dec 19:00 at 会所二楼. See you there.");
    assert_int_equal (nt_template_default_for ("activity.reminder", "resident", "zh-CN", &t, &b), 0);
    char *zh = nt_template_render (b, "activity.reminder", data, "zh-CN", &zt);
    assert_string_equal (zh, "您报名的活动「插花课」将于 12月24日 19:00 在会所二楼开始，欢迎准时参加。");
    char *title = nt_template_render (t, "activity.reminder", data, "zh-CN", &zt);
    assert_string_equal (title, "活动提醒：插花课");
    free (en);
    free (zh);
    free (title);
    cJSON_Delete (local);
    cJSON_Delete (times);
    cJSON_Delete (data);
}

static bool
s_body (const char *json, nt_preferences_input_t *in, char topics[NT_PREF_TOPICS_TEXT], jv_t *v)
{
    cJSON *d = cJSON_Parse (json);
    bool ok = nt_preferences_body (v, d, in, topics);
    cJSON_Delete (d);
    return ok;
}

static void
test_preferences_body_with_topics (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    nt_preferences_input_t in;
    char topics[NT_PREF_TOPICS_TEXT];
    /* topics alone are enough; their text is what SQL merges */
    assert_true (s_body ("{\"topics\":{\"tickets\":false}}", &in, topics, &v));
    assert_string_equal (topics, "{\"tickets\":false}");
    assert_false (in.has_channels);
    assert_null (in.locale);
    assert_null (in.opt_out);
    assert_true (s_body ("{\"topics\":{\"activities\":true,\"bills\":false,\"tickets\":false},\"locale\":\"en\"}",
                         &in, topics, &v));
    assert_string_equal (topics, "{\"activities\":true,\"bills\":false,\"tickets\":false}");
    assert_string_equal (in.locale, "en");
    assert_true (s_body ("{\"topics\":{}}", &in, topics, &v));
    assert_string_equal (topics, "{}");
    /* without topics: the body of before */
    assert_true (s_body ("{\"opt_out\":true}", &in, topics, &v));
    assert_string_equal (topics, "");
    assert_string_equal (in.opt_out, "true");
    /* refused */
    static const char *const bad[] = {
        "{\"topics\":{\"parking\":false}}", "{\"topics\":{\"tickets\":0}}", "{\"topics\":[\"tickets\"]}",
        "{\"topics\":\"tickets\"}", "{\"topics\":{\"tickets\":false,\"tickets\":true}}", "{\"topics\":null}", NULL
    };
    for (int i = 0; bad[i]; i++) {
        assert_false (s_body (bad[i], &in, topics, &v));
        assert_non_null (jvt_problem (&v, "topics"));
        assert_string_equal (topics, "");
        jv_reset (&v);
    }
    assert_false (s_body ("{\"topics\":{\"bills\":false},\"locale\":\"fr\"}", &in, topics, &v));
    assert_non_null (jvt_problem (&v, "locale"));
    assert_string_equal (topics, "");
    jv_reset (&v);
    assert_false (s_body ("{}", &in, topics, &v));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    assert_false (s_body ("[1]", &in, topics, &v));
    jv_reset (&v);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_topics_of_event_types),
        cmocka_unit_test (test_resident_defaults),
        cmocka_unit_test (test_reminder_renders_in_the_zone),
        cmocka_unit_test (test_preferences_body_with_topics),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
