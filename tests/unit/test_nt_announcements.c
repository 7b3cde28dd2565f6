/* test_nt_announcements: the pure parts of announcements and the delivery
 * log: the audience forms, characters (not bytes) of a title, the RFC 3339
 * check of ?since= (services/notifications/
 * announcements.c and delivery_log.c, included; what they call from the
 * rest of the service is stubbed, the database is never reached). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/notifications/announcements.c"
#include "../../services/notifications/input_rules.c"
#include "../../services/notifications/netguard.c"
#include "../../services/notifications/delivery_log.c"

/* main.c and sender.c, not linked here */
void nt_sender_kick (nt_sender_t *self) { (void) self; }
const char *nt_visible_property (const env_request_t *req) { (void) req; return NULL; }
bool nt_role_in (const env_request_t *req, const char *const *roles) { (void) req; (void) roles; return false; }
void nt_reply_json (PGresult *res, env_reply_t *rep, const env_request_t *req, int status, const char *nf)
{
    (void) res; (void) rep; (void) req; (void) status; (void) nf;
}

static void
test_audience (void **state)
{
    (void) state;
    nt_audience_t a;
    const char *why;
    assert_int_equal (nt_audience_parse ("all", &a, &why), 0);
    assert_string_equal (a.kind, "all");
    assert_null (a.building);
    assert_null (a.use);
    assert_int_equal (nt_audience_parse ("building:A", &a, &why), 0);
    assert_string_equal (a.kind, "building");
    assert_string_equal (a.building, "A");
    assert_int_equal (nt_audience_parse ("building:3栋", &a, &why), 0);
    assert_string_equal (a.building, "3栋");
    assert_int_equal (nt_audience_parse ("use:office", &a, &why), 0);
    assert_string_equal (a.use, "office");
    assert_null (a.building);
    const char *bad[] = { "", "All", "everyone", "building:", "use:", "use:castle", "use:Office", "floor:3",
                          "all ", " all", "building", "use" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal (nt_audience_parse (bad[i], &a, &why), -1);
        assert_non_null (why);
    }
    char longb[9 + NT_ANN_BUILDING_MAX + 2];
    snprintf (longb, sizeof longb, "building:%0*d", NT_ANN_BUILDING_MAX + 1, 0);
    assert_int_equal (nt_audience_parse (longb, &a, &why), -1);
    assert_int_equal (nt_audience_parse (NULL, &a, &why), -1);
}

static void
test_utf8_chars (void **state)
{
    (void) state;
    assert_int_equal (nt_utf8_chars (""), 0);
    assert_int_equal (nt_utf8_chars ("abc"), 3);
    assert_int_equal (nt_utf8_chars ("电梯停运"), 4);            /* 12 bytes */
    assert_int_equal (nt_utf8_chars ("A座 1号"), 5);
    assert_int_equal (nt_utf8_chars ("\xF0\x9F\x8F\xA0"), 1);    /* one emoji, 4 bytes */
}

static void
test_timestamps (void **state)
{
    (void) state;
    const char *good[] = { "2026-11-27", "2026-11-27T03:14:00Z", "2026-11-27t03:14:00z", "2026-11-27T03:14:00.5Z",
                           "2026-11-27T03:14:00.123456Z", "2026-11-27T11:14:00+08:00", "2026-11-27T03:14:00-05:30",
                           "2024-02-29T23:59:60Z", "2026-11-27T03:14:00.1234567Z" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true (nt_is_timestamp (good[i]));
    const char *bad[] = { "", "yesterday", "2026-13-01", "2026-02-30", "2026-11-27T", "2026-11-27T3:14:00Z",
                          "2026-11-27T03:14Z", "2026-11-27T24:00:00Z", "2026-11-27T03:14:00",
                          "2026-11-27T03:14:00.Z", "2026-11-27T03:14:00.1234567890Z", "2026-11-27T03:14:00+8:00",
                          "2026-11-27T03:14:00Z ", "2026-11-27T03:14:00+08:00x", "2026-11-27 x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false (nt_is_timestamp (bad[i]));
    assert_false (nt_is_timestamp (NULL));
}

/* a request whose params are the given JSON object */
static void
s_request (env_request_t *req, const char *params)
{
    memset (req, 0, sizeof *req);
    req->root = cJSON_Parse (params);
    req->params = req->root;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_audience),
        cmocka_unit_test (test_utf8_chars),
        cmocka_unit_test (test_timestamps),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
