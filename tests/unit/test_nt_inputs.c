/* test_nt_inputs: notifications' request bodies (services/notifications/
 * input_rules.c and the URL check it uses, netguard.c, included): what each
 * accepts, and the field and problem of what it does not. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/notifications/input_rules.c"
#include "../../services/notifications/netguard.c"
#include "jv_testing.h"

#define PID "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd"
#define PID2 "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"

static void
test_announcement (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    nt_announcement_input_t in;
    cJSON *d = cJSON_Parse ("{\"title\":\"停水通知\",\"body\":\"明日停水\",\"audience\":\"building:A座\","
                            "\"channels\":[\"preferred\",\"inbox\"]}");
    assert_true (nt_announcement_input (&v, d, &in));
    assert_string_equal (in.aud.kind, "building");
    assert_string_equal (in.aud.building, "A座");
    assert_string_equal (in.channels, "{preferred,inbox}");
    cJSON_Delete (d);
    /* channels absent or null: the inbox */
    d = cJSON_Parse ("{\"title\":\"t\",\"body\":\"b\",\"audience\":\"all\",\"channels\":null}");
    assert_true (nt_announcement_input (&v, d, &in));
    assert_string_equal (in.channels, "{inbox}");
    assert_null (in.aud.building);
    cJSON_Delete (d);
    /* 200 Chinese characters are 600 bytes and fit; 201 do not */
    char title[201 * 3 + 1] = "";
    for (int i = 0; i < 201; i++)
        strcat (title, "通");
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "title", title + 3);
    cJSON_AddStringToObject (o, "body", "b");
    cJSON_AddStringToObject (o, "audience", "use:office");
    assert_true (nt_announcement_input (&v, o, &in));
    cJSON_ReplaceItemInObject (o, "title", cJSON_CreateString (title));
    assert_false (nt_announcement_input (&v, o, &in));
    assert_string_equal (jvt_problems (&v), "title: must be at most 200 characters");
    cJSON_Delete (o);
    d = cJSON_Parse ("{\"title\":\"\",\"body\":\"b\",\"audience\":\"use:garage\",\"channels\":[\"sms\",\"sms\"]}");
    assert_false (nt_announcement_input (&v, d, &in));
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "title: must not be empty"));
    assert_non_null (strstr (p, "audience: use:<use> needs one of"));
    assert_non_null (strstr (p, "channels: names sms twice"));
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"title\":\"t\",\"body\":\"b\",\"audience\":\"all\",\"channels\":[]}");
    assert_false (nt_announcement_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "channels: must be an array of 1 to 4 of inbox, sms, email, preferred");
    cJSON_Delete (d);
}

static void
test_preferences (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    nt_preferences_input_t in;
    cJSON *d = cJSON_Parse ("{\"channels\":[\"email\",\"sms\",\"inbox\"],\"opt_out\":false}");
    assert_true (nt_preferences_input (&v, d, &in));
    assert_true (in.has_channels);
    assert_string_equal (in.channels, "{email,sms,inbox}");
    assert_string_equal (in.opt_out, "false");
    assert_null (in.locale);
    cJSON_Delete (d);
    /* null is "unchanged": nothing left to set */
    d = cJSON_Parse ("{\"opt_out\":null,\"channels\":null}");
    assert_false (nt_preferences_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "body: must set at least one of channels, opt_out, locale");
    cJSON_Delete (d);
    /* preferred is an announcement's word, not a preference */
    d = cJSON_Parse ("{\"channels\":[\"preferred\"],\"opt_out\":\"yes\",\"locale\":\"fr\"}");
    assert_false (nt_preferences_input (&v, d, &in));
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "channels: must hold only inbox, sms or email"));
    assert_non_null (strstr (p, "opt_out: must be true or false"));
    assert_non_null (strstr (p, "locale:"));
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"channels\":[\"sms\",\"email\",\"inbox\",\"sms\"]}");
    assert_false (nt_preferences_input (&v, d, &in));
    assert_string_equal (jvt_problems (&v), "channels: must be an array of 1 to 3 of inbox, sms, email");
    cJSON_Delete (d);
}

static void
test_webhook_create (void **state)
{
    (void) state;
    cJSON *mine = cJSON_Parse ("[\"" PID "\"]");
    nt_webhook_caller_t admin = { .admin = true }, key = { .property_ids = mine };
    jv_t v = JV_INIT;
    nt_webhook_input_t in;
    cJSON *d = cJSON_Parse ("{\"url\":\"https://hooks.example.com/pm\","
                            "\"events\":[\"bill.issued\",\"*\",\"bill.issued\",\"party.created\"]}");
    assert_true (nt_webhook_create_input (&v, d, &admin, &in));
    assert_string_equal (in.events, "[\"bill.issued\",\"*\",\"party.created\"]");
    assert_null (in.property_ids);               /* an admin's: every property */
    assert_null (in.secret);
    nt_webhook_input_clear (&in);
    /* a key may not have party.* (personal data); nothing to free after false */
    assert_false (nt_webhook_create_input (&v, d, &key, &in));
    assert_string_equal (jvt_problems (&v),
                         "events[3]: carries personal data: only an admin's webhook may receive it");
    assert_null (in.events);
    cJSON_Delete (d);
    /* a key's webhook gets the key's properties, or a subset */
    d = cJSON_Parse ("{\"url\":\"https://h.example.com/\",\"events\":[\"bill.issued\"]}");
    assert_true (nt_webhook_create_input (&v, d, &key, &in));
    assert_string_equal (in.property_ids, "[\"" PID "\"]");
    nt_webhook_input_clear (&in);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"url\":\"http://127.0.0.1:9/h\",\"events\":[\"bill.issued\"],\"secret\":\"short\","
                     "\"property_ids\":[\"" PID2 "\", 3]}");
    assert_false (nt_webhook_create_input (&v, d, &key, &in));
    const char *p = jvt_problems (&v);
    assert_non_null (strstr (p, "url: "));
    assert_non_null (strstr (p, "secret: must be at least 32 bytes"));
    assert_non_null (strstr (p, "property_ids[0]: is not a property of this key"));
    assert_non_null (strstr (p, "property_ids[1]: must be a property id"));
    /* with plain http to loopback allowed (development), the URL passes */
    nt_webhook_caller_t dev = { .admin = true, .allow_private = true, .allow_http = true };
    assert_false (nt_webhook_create_input (&v, d, &dev, &in));
    p = jvt_problems (&v);
    assert_null (strstr (p, "url: "));
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"events\":[]}");
    assert_false (nt_webhook_create_input (&v, d, &admin, &in));
    assert_string_equal (jvt_problems (&v), "url: is required; events: must be a non-empty array of event types");
    cJSON_Delete (d);
    cJSON_Delete (mine);
}

static void
test_webhook_update (void **state)
{
    (void) state;
    nt_webhook_caller_t key = { 0 };
    jv_t v = JV_INIT;
    nt_webhook_input_t in;
    /* an empty change is accepted (the handler replies the webhook as is) */
    cJSON *d = cJSON_Parse ("{}");
    assert_true (nt_webhook_update_input (&v, d, &key, &in));
    assert_null (in.url);
    assert_null (in.events);
    assert_null (in.enabled);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"enabled\":false,\"events\":[\"payment.received\"]}");
    assert_true (nt_webhook_update_input (&v, d, &key, &in));
    assert_string_equal (in.enabled, "false");
    assert_string_equal (in.events, "[\"payment.received\"]");
    nt_webhook_input_clear (&in);
    assert_null (in.events);
    cJSON_Delete (d);
    d = cJSON_Parse ("{\"enabled\":1,\"property_ids\":[],\"events\":[\"payment.received\"]}");
    assert_false (nt_webhook_update_input (&v, d, &key, &in));
    assert_string_equal (jvt_problems (&v), "enabled: must be true or false; property_ids: cannot be changed "
                                          "(url, events, secret, enabled, description can)");
    assert_null (in.events);
    cJSON_Delete (d);
    assert_true (nt_webhook_event_known ("*"));
    assert_true (nt_webhook_event_known ("bill.overdue"));
    assert_false (nt_webhook_event_known ("bill.*"));
    assert_false (nt_webhook_event_known (NULL));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_announcement),
        cmocka_unit_test (test_preferences),
        cmocka_unit_test (test_webhook_create),
        cmocka_unit_test (test_webhook_update),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
