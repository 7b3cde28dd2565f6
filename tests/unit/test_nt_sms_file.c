/* test_nt_sms_file: the SMS file provider of notifications (issue K;
 * services/notifications/channels.c, included; no network): the line
 * written for one SMS, when the file is the provider, and the append (two
 * SMS two lines, a bad number none, an unwritable path a retry). The sending
 * end to end: tests/blackbox/test_resident_auth.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/notifications/netguard.c"
#include "../../services/notifications/channels.c"

static void
test_sms_file (void **state)
{
    (void) state;
    char *line = nt_sms_file_line ("13800138000", "码 123456\n第二行", "abc", 0);
    assert_non_null (line);
    size_t n = strlen (line);
    assert_true (n > 1 && line[n - 1] == '\n');
    assert_null (memchr (line, '\n', n - 1));     /* one line, whatever the text */
    cJSON *doc = cJSON_Parse (line);
    assert_non_null (doc);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "to")), "13800138000");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "text")), "码 123456\n第二行");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (doc, "at")), "1970-01-01T00:00:00Z");
    cJSON_Delete (doc);
    free (line);
    /* who uses the file: only without a URL */
    nt_channel_config_t cfg = { .sms_file = "/tmp/x" };
    assert_true (nt_sms_file_used (&cfg));
    assert_null (nt_channel_unconfigured (&cfg, NT_CH_SMS));
    cfg.sms_url = "http://127.0.0.1:9/sms";
    assert_false (nt_sms_file_used (&cfg));
    cfg.sms_url = NULL;
    cfg.sms_file = "";
    assert_false (nt_sms_file_used (&cfg));
    assert_non_null (nt_channel_unconfigured (&cfg, NT_CH_SMS));
    /* two appends, two lines; a bad number none; an unwritable path a retry */
    char path[] = "/tmp/test_gw_resident_XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    nt_message_t msg = { .kind = NT_CH_SMS, .address = "13800138000", .text = "one" };
    snprintf (msg.id, sizeof msg.id, "m1");
    nt_outcome_t out;
    nt_sms_file_append (path, &msg, &out);
    assert_int_equal (out.verdict, NT_SENT);
    msg.text = "two";
    nt_sms_file_append (path, &msg, &out);
    assert_int_equal (out.verdict, NT_SENT);
    msg.address = "call me";
    nt_sms_file_append (path, &msg, &out);
    assert_int_equal (out.verdict, NT_NOT_SENT);
    msg.address = "13800138000";
    nt_sms_file_append ("/nonexistent-dir/sms.jsonl", &msg, &out);
    assert_int_equal (out.verdict, NT_RETRY);
    FILE *f = fopen (path, "r");
    assert_non_null (f);
    char buf[512];
    int lines = 0;
    while (fgets (buf, sizeof buf, f))
        lines++;
    fclose (f);
    unlink (path);
    assert_int_equal (lines, 2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_sms_file),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
