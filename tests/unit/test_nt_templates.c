/* test_nt_templates: the notifications' pure parts: money as yuan, times,
 * dates and months as people read them (in the property's zone), template
 * rendering and validation, the compiled-in templates, the rules checker
 * and a notification's link (services/notifications/templates.c, rules.c
 * and events.c, included; main.c's helpers and E2's webhook and sender
 * entry points are stubbed). */
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

/* main.c's helpers: the handlers are not exercised here */
const char *
nt_visible_property (const env_request_t *req)
{
    (void) req;
    return NULL;
}

bool
nt_role_in (const env_request_t *req, const char *const *roles)
{
    (void) req;
    (void) roles;
    return false;
}

/* webhooks.c and sender.c (E2): events.c calls them */
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

void
nt_reply_json (PGresult *res, env_reply_t *rep, const env_request_t *req, int status, const char *nf)
{
    (void) rep;
    (void) req;
    (void) status;
    (void) nf;
    PQclear (res);
}

static void
s_yuan (int64_t fen, const char *want)
{
    char out[32];
    nt_money_yuan (fen, out);
    assert_string_equal (out, want);
}

static void
test_money_yuan (void **state)
{
    (void) state;
    s_yuan (0, "0.00");
    s_yuan (5, "0.05");
    s_yuan (99, "0.99");
    s_yuan (100, "1.00");
    s_yuan (123456, "1,234.56");
    s_yuan (100000, "1,000.00");
    s_yuan (99999, "999.99");
    s_yuan (12345678901, "123,456,789.01");
    s_yuan (-5, "-0.05");
    s_yuan (-123456, "-1,234.56");
    s_yuan (INT64_MAX, "92,233,720,368,547,758.07");
    s_yuan (INT64_MIN, "-92,233,720,368,547,758.08");
}

static char *
s_render (const char *tpl, const char *type, const char *json, const char *locale, const nt_zone_times_t *zt)
{
    cJSON *data = cJSON_Parse (json);
    assert_non_null (data);
    char *out = nt_template_render (tpl, type, data, locale, zt);
    cJSON_Delete (data);
    assert_non_null (out);
    return out;
}

/* Rendered with no wall times known (times as written). */
static void
s_expect (const char *tpl, const char *type, const char *json, const char *locale, const char *want)
{
    char *out = s_render (tpl, type, json, locale, NULL);
    assert_string_equal (out, want);
    free (out);
}

/* Rendered with the wall times of local_json (as events.c gets them from
 * PostgreSQL) and the zone's current year. */
static void
s_expect_zt (const char *tpl, const char *type, const char *json, const char *locale, const char *local_json,
             int year, const char *want)
{
    cJSON *local = cJSON_Parse (local_json);
    assert_non_null (local);
    nt_zone_times_t zt = { local, year };
    char *out = s_render (tpl, type, json, locale, &zt);
    cJSON_Delete (local);
    if (strcmp (out, want) != 0)
        fail_msg ("rendered \"%s\", wanted \"%s\"", out, want);
    free (out);
}

static void
test_render (void **state)
{
    (void) state;
    const char *bill = "{\"bill_id\":\"b\",\"unit_code\":\"A-1201\",\"period\":\"2026-11\","
                       "\"amount\":123456,\"due_date\":\"2026-12-15\",\"amount_due\":7,\"days_overdue\":12}";
    s_expect ("{{period}} 账单 ¥{{amount}}，{{due_date}} 前", "bill.issued", bill, "zh-CN",
              "2026年11月 账单 ¥1,234.56，2026年12月15日 前");
    s_expect ("{{period}} bill, due {{due_date}}", "bill.issued", bill, "en", "Nov 2026 bill, due 15 Dec 2026");
    /* a date or month that is not one: as written */
    s_expect ("[{{period}}][{{due_date}}]", "bill.issued", "{\"period\":\"2026-13\",\"due_date\":\"2026-02-30\"}",
              "zh-CN", "[2026-13][2026-02-30]");
    s_expect ("[{{period}}][{{due_date}}]", "bill.overdue", "{\"period\":\"2026-11-01\",\"due_date\":7}", "en",
              "[2026-11-01][7]");
    s_expect ("{{ unit_code }}: {{amount_due}} / {{days_overdue}} days", "bill.overdue", bill, "en",
              "A-1201: 0.07 / 12 days");
    /* missing value, null, unknown name: empty */
    s_expect ("[{{amount_due}}][{{unit_code}}][{{nope}}]", "bill.issued",
              "{\"unit_code\":null}", NULL, "[][][]");
    /* money that is not whole fen is not shown */
    s_expect ("[{{amount}}]", "bill.issued", "{\"amount\":12.5}", NULL, "[]");
    s_expect ("[{{amount}}]", "bill.issued", "{\"amount\":\"100\"}", NULL, "[]");
    /* words of the locale; en shows the code */
    const char *tk = "{\"number\":\"BX-2026-000001\",\"title\":\"空调不制冷\",\"type\":\"repair\","
                     "\"priority\":\"urgent\",\"status\":\"in_progress\",\"unit_code\":\"A-1201\","
                     "\"sla\":{\"respond_by\":\"2026-11-27T04:00:00Z\",\"resolve_by\":\"2026-11-28T04:00:00Z\"},"
                     "\"which\":\"respond\",\"deadline\":\"respond\",\"due_at\":\"2026-11-27T04:00:00Z\"}";
    s_expect ("{{type}}/{{priority}}/{{status}}", "ticket.created", tk, "zh-CN", "报修/紧急/处理中");
    s_expect ("{{type}}/{{priority}}/{{status}}", "ticket.created", tk, "en", "repair/urgent/in progress");
    s_expect ("{{respond_by}} {{resolve_by}}", "ticket.assigned", tk, NULL,
              "2026-11-27T04:00:00Z 2026-11-28T04:00:00Z");
    s_expect ("{{which}}:{{deadline}}:{{due_at}}", "ticket.sla_warning", tk, "zh-CN", "响应:响应:2026-11-27T04:00:00Z");
    s_expect ("{{which}} {{due_at}}", "ticket.sla_breached", tk, "en", "respond 2026-11-27T04:00:00Z");
    /* a placeholder of another type renders empty */
    s_expect ("[{{which}}]", "ticket.created", tk, "zh-CN", "[]");
    /* unterminated: shown as written; single braces are text */
    s_expect ("a {b} {{number", "ticket.created", tk, NULL, "a {b} {{number");
    s_expect ("", "ticket.created", tk, NULL, "");
    /* numbers that are not money; nested values */
    s_expect ("{{area_m2}} {{use}}", "unit.created", "{\"area_m2\":88.5,\"use\":\"office\"}", "zh-CN",
              "88.5 办公");
    s_expect ("{{area_m2}}", "unit.created", "{\"area_m2\":120}", NULL, "120");
    s_expect ("{{refund_amount}}-{{deducted}}-{{reason}}", "deposit.refunded",
              "{\"refund\":{\"amount\":150000,\"deducted\":50000,\"reason\":\"墙面损坏\"}}", NULL,
              "1,500.00-500.00-墙面损坏");
    s_expect ("{{method}} {{reason}}", "payment.reversed",
              "{\"method\":\"bank_transfer\",\"reversal\":{\"reason\":\"重复\"}}", "zh-CN", "银行转账 重复");
    s_expect ("{{method}}", "payment.received", "{\"method\":\"bank_transfer\"}", "en", "bank transfer");
    /* the SLA timer's own escalation reason in the locale's words; staff's as written */
    const char *esc = "{\"escalated_to\":\"managers\",\"reason\":\"resolution deadline passed\",\"auto\":true}";
    s_expect ("{{escalated_to}}: {{reason}}", "ticket.escalated", esc, "zh-CN", "管理人员: 已超过处理时限");
    s_expect ("{{reason}}", "ticket.escalated", esc, "en", "resolution deadline passed");
    s_expect ("{{reason}}", "ticket.escalated", "{\"reason\":\"客户情绪激动\"}", "zh-CN", "客户情绪激动");
    /* data that is not an object: every value empty */
    s_expect ("x{{amount}}y", "bill.issued", "[1,2]", NULL, "xy");
    /* an unknown type renders its text with every placeholder empty */
    s_expect ("x{{amount}}y", "no.such", "{\"amount\":1}", NULL, "xy");
}

static void
test_validate (void **state)
{
    (void) state;
    char err[NT_TEMPLATE_ERR_MAX];
    assert_int_equal (nt_template_validate ("{{period}} ¥{{ amount }}", "bill.issued", err), 0);
    assert_int_equal (nt_template_validate ("no placeholders", "bill.issued", err), 0);
    assert_int_equal (nt_template_validate ("{single} }} braces", "bill.issued", err), 0);
    assert_int_equal (nt_template_validate ("{{number}} {{title}}", "ticket.created", err), 0);

    assert_int_equal (nt_template_validate ("{{amount}} {{foo}}", "bill.issued", err), -1);
    assert_non_null (strstr (err, "{{foo}}"));
    assert_non_null (strstr (err, "unknown placeholder"));
    /* a placeholder of another type is unknown here */
    assert_int_equal (nt_template_validate ("{{number}}", "bill.issued", err), -1);
    assert_non_null (strstr (err, "{{number}}"));
    assert_int_equal (nt_template_validate ("abc {{amount", "bill.issued", err), -1);
    assert_non_null (strstr (err, "unterminated"));
    assert_non_null (strstr (err, "byte 4"));
    assert_int_equal (nt_template_validate ("{{}}", "bill.issued", err), -1);
    assert_non_null (strstr (err, "empty"));
    assert_int_equal (nt_template_validate ("{{  }}", "bill.issued", err), -1);
    assert_int_equal (nt_template_validate ("{{amount}}", "no.such", err), -1);
    assert_non_null (strstr (err, "event type"));
    /* a very long name is cut in the message, never overflows */
    char big[600];
    memset (big, 'x', sizeof big);
    memcpy (big, "{{", 2);
    memcpy (big + sizeof big - 3, "}}", 3);
    assert_int_equal (nt_template_validate (big, "bill.issued", err), -1);
    assert_true (strlen (err) < NT_TEMPLATE_ERR_MAX);
}

/* Every compiled-in template validates against its own type, for both
 * locales, and fits the table's limits. */
static void
test_defaults_valid (void **state)
{
    (void) state;
    char err[NT_TEMPLATE_ERR_MAX];
    int n = 0;
    for (int t = 0; nt_event_types[t]; t++)
        for (int l = 0; nt_locales[l]; l++) {
            const char *title = NULL, *body = NULL;
            assert_int_equal (nt_template_default (nt_event_types[t], nt_locales[l], &title, &body), 0);
            if (nt_template_validate (title, nt_event_types[t], err)
                || nt_template_validate (body, nt_event_types[t], err))
                fail_msg ("%s %s: %s", nt_event_types[t], nt_locales[l], err);
            assert_true (strlen (title) >= 1 && strlen (title) <= NT_TEMPLATE_TITLE_MAX);
            assert_true (strlen (body) >= 1 && strlen (body) <= NT_TEMPLATE_BODY_MAX);
            cJSON *ph = nt_template_placeholders (nt_event_types[t]);
            assert_non_null (ph);
            assert_true (cJSON_GetArraySize (ph) > 0);
            cJSON_Delete (ph);
            n++;
        }
    /* 27 types (activity.reminder: issue K; patrol.missed: issue L), 2 locales each */
    assert_int_equal (n, 54);
    const char *title, *body;
    assert_int_equal (nt_template_default ("no.such", "zh-CN", &title, &body), -1);
    assert_int_equal (nt_template_default ("bill.issued", "fr", &title, &body), -1);
    assert_null (nt_template_placeholders ("no.such"));
    assert_true (nt_event_type_known ("bill.overdue"));
    assert_false (nt_event_type_known ("bill.paid"));
    assert_false (nt_event_type_known (NULL));
    assert_true (nt_locale_known ("en") && nt_locale_known ("zh-CN"));
    assert_false (nt_locale_known ("zh"));

    /* the default bill.issued text, rendered in both locales */
    assert_int_equal (nt_template_default ("bill.issued", "zh-CN", &title, &body), 0);
    const char *bill = "{\"unit_code\":\"B-0101\",\"period\":\"2026-11\",\"amount\":885000,"
                       "\"due_date\":\"2026-12-15\"}";
    s_expect (title, "bill.issued", bill, "zh-CN", "2026年11月账单：¥8,850.00");
    s_expect (body, "bill.issued", bill, "zh-CN", "B-0101 2026年11月账单金额 ¥8,850.00，请于 2026年12月15日 前缴纳。");
    assert_int_equal (nt_template_default ("bill.issued", "en", &title, &body), 0);
    s_expect (title, "bill.issued", bill, "en", "Your Nov 2026 bill: CNY 8,850.00");
    s_expect (body, "bill.issued", bill, "en", "The Nov 2026 bill of B-0101 is CNY 8,850.00, due on 15 Dec 2026.");

    /* the default ticket.assigned text with its deadline in Asia/Shanghai (UTC+8) */
    const char *tk = "{\"number\":\"BX-2026-000007\",\"title\":\"漏水\",\"type\":\"repair\",\"priority\":\"high\","
                     "\"unit_code\":\"A-0101\",\"sla\":{\"respond_by\":\"2026-11-27T06:30:00Z\"}}";
    const char *sh = "{\"2026-11-27T06:30:00Z\":\"2026-11-27 14:30\"}";
    assert_int_equal (nt_template_default ("ticket.assigned", "zh-CN", &title, &body), 0);
    s_expect_zt (body, "ticket.assigned", tk, "zh-CN", sh, 2026,
                 "A-0101 报修工单，优先级：高，请于 11月27日 14:30 前响应。");
    assert_int_equal (nt_template_default ("ticket.assigned", "en", &title, &body), 0);
    s_expect_zt (body, "ticket.assigned", tk, "en", sh, 2026,
                 "A repair ticket (high) for A-0101. Please respond by 27 Nov 14:30.");
}

static void
s_formatted (int rc, const char *out, const char *want)
{
    assert_int_equal (rc, 0);
    assert_string_equal (out, want);
}

/* Times, dates and months as people read them. */
static void
test_when (void **state)
{
    (void) state;
    char out[NT_WHEN_MAX];
    s_formatted (nt_time_text ("2026-11-27 14:30", 2026, false, out), out, "11月27日 14:30");
    s_formatted (nt_time_text ("2026-11-27 14:30", 2026, true, out), out, "27 Nov 14:30");
    s_formatted (nt_time_text ("2027-01-03 09:00", 2026, false, out), out, "2027年1月3日 09:00");
    s_formatted (nt_time_text ("2027-01-03 09:00", 2026, true, out), out, "3 Jan 2027 09:00");
    s_formatted (nt_time_text ("2025-12-31 23:59", 2026, false, out), out, "2025年12月31日 23:59");
    s_formatted (nt_time_text ("2026-02-01 00:05", 2026, true, out), out, "1 Feb 00:05");
    s_formatted (nt_time_text ("2028-02-29 12:00", 0, true, out), out, "29 Feb 2028 12:00");
    s_formatted (nt_date_text ("2026-12-15", false, out), out, "2026年12月15日");
    s_formatted (nt_date_text ("2026-12-15", true, out), out, "15 Dec 2026");
    s_formatted (nt_date_text ("2026-01-05", false, out), out, "2026年1月5日");
    s_formatted (nt_date_text ("2024-02-29", true, out), out, "29 Feb 2024");
    s_formatted (nt_month_text ("2026-11", false, out), out, "2026年11月");
    s_formatted (nt_month_text ("2026-11", true, out), out, "Nov 2026");
    s_formatted (nt_month_text ("2027-01", false, out), out, "2027年1月");
    /* not of the form: -1 */
    const char *bad_times[] = { "2026-11-27T14:30", "2026-11-27 14:3", "2026-11-27 24:00", "2026-11-27 14:60",
                                "2026-13-01 10:00", "2026-02-29 10:00", "2026-11-27 14:30:00", "", "x", NULL };
    for (int i = 0; bad_times[i]; i++)
        if (nt_time_text (bad_times[i], 2026, false, out) != -1)
            fail_msg ("took time %s", bad_times[i]);
    assert_int_equal (nt_time_text (NULL, 2026, false, out), -1);
    const char *bad_dates[] = { "2026-12-32", "2026-00-10", "2025-02-29", "2026-1-05", "2026-12-15T00:00:00Z",
                                "20261215", "0999-01-01", "", NULL };
    for (int i = 0; bad_dates[i]; i++)
        if (nt_date_text (bad_dates[i], true, out) != -1)
            fail_msg ("took date %s", bad_dates[i]);
    const char *bad_months[] = { "2026-13", "2026-00", "2026-1", "2026-11-01", "2026/11", "", NULL };
    for (int i = 0; bad_months[i]; i++)
        if (nt_month_text (bad_months[i], true, out) != -1)
            fail_msg ("took month %s", bad_months[i]);
}

/* What may be sent to PostgreSQL as a timestamptz: nothing that would make
 * it fail the consumer's transaction. */
static void
test_time_valid (void **state)
{
    (void) state;
    const char *good[] = { "2026-11-27T06:30:00Z", "2026-11-27T06:30:00.123456Z", "2026-11-27T06:30:00.1Z",
                           "2026-11-27T14:30:00+08:00", "2026-03-29T01:30:00-05:30", "2024-02-29T23:59:59Z",
                           "2026-11-27T06:30:00.123456789+14:00", "2026-11-27 06:30:00Z", "2026-11-27t06:30:00z",
                           "2026-11-27T06:30:60Z", NULL };
    for (int i = 0; good[i]; i++)
        if (!nt_time_valid (good[i]))
            fail_msg ("refused %s", good[i]);
    const char *bad[] = { "", "2026-11-27", "2026-11-27T06:30Z", "2026-11-27T06:30:00", "2026-11-27T06:30:61Z",
                          "2026-11-27T24:00:00Z", "2026-11-27T06:60:00Z",
                          "2025-02-29T06:30:00Z", "2026-04-31T06:30:00Z", "0000-01-01T00:00:00Z",
                          "2026-11-27T06:30:00.Z", "2026-11-27T06:30:00.1234567890Z", "2026-11-27T06:30:00+15:00",
                          "2026-11-27T06:30:00+08", "2026-11-27T06:30:00+0800", "2026-11-27T06:30:00+08:00x",
                          "2026-11-27T06:30:00Zx", "2026-11-27T06:30:00+", "now",
                          "2026-11-27T06:30:00-", "2026-11-27T06:30:00+08:6", NULL };
    for (int i = 0; bad[i]; i++)
        if (nt_time_valid (bad[i]))
            fail_msg ("took %s", bad[i]);
    assert_false (nt_time_valid (NULL));
}

/* The times an event's placeholders show, each once, only valid ones; and
 * rendered in the zone the caller worked them out in. */
static void
test_zone_times (void **state)
{
    (void) state;
    const char *tk = "{\"sla\":{\"respond_by\":\"2026-11-27T06:30:00Z\",\"resolve_by\":\"2026-11-27T06:30:00Z\"},"
                     "\"due_at\":\"2026-11-28T16:10:00.5Z\",\"escalated_at\":\"bad\",\"title\":\"2026-11-27T06:30:00Z\"}";
    cJSON *data = cJSON_Parse (tk);
    assert_non_null (data);
    cJSON *t = nt_template_times ("ticket.sla_breached", data);
    char *j = cJSON_PrintUnformatted (t);
    assert_string_equal (j, "[\"2026-11-27T06:30:00Z\",\"2026-11-28T16:10:00.5Z\"]");
    free (j);
    cJSON_Delete (t);
    t = nt_template_times ("ticket.escalated", data);          /* escalated_at is not a time */
    j = cJSON_PrintUnformatted (t);
    assert_string_equal (j, "[\"2026-11-27T06:30:00Z\"]");
    free (j);
    cJSON_Delete (t);
    t = nt_template_times ("bill.issued", data);               /* no time placeholders */
    assert_int_equal (cJSON_GetArraySize (t), 0);
    cJSON_Delete (t);
    t = nt_template_times ("no.such", data);
    assert_int_equal (cJSON_GetArraySize (t), 0);
    cJSON_Delete (t);
    t = nt_template_times ("ticket.created", NULL);
    assert_int_equal (cJSON_GetArraySize (t), 0);
    cJSON_Delete (t);
    cJSON_Delete (data);

    /* Asia/Shanghai (UTC+8): the day moves too; next year's time shows its year */
    const char *sh = "{\"2026-11-27T06:30:00Z\":\"2026-11-27 14:30\",\"2026-12-31T16:30:00Z\":\"2027-01-01 00:30\"}";
    const char *d1 = "{\"sla\":{\"respond_by\":\"2026-11-27T06:30:00Z\",\"resolve_by\":\"2026-12-31T16:30:00Z\"}}";
    s_expect_zt ("{{respond_by}} / {{resolve_by}}", "ticket.created", d1, "zh-CN", sh, 2026,
                 "11月27日 14:30 / 2027年1月1日 00:30");
    s_expect_zt ("{{respond_by}} / {{resolve_by}}", "ticket.created", d1, "en", sh, 2026,
                 "27 Nov 14:30 / 1 Jan 2027 00:30");
    /* the zone's current year decides, not UTC's */
    s_expect_zt ("{{resolve_by}}", "ticket.created", d1, "en", sh, 2027, "1 Jan 00:30");
    /* Europe/London in summer (BST, UTC+1) and in winter (GMT) */
    const char *ld = "{\"2026-07-01T08:00:00Z\":\"2026-07-01 09:00\",\"2026-11-27T08:00:00Z\":\"2026-11-27 08:00\"}";
    s_expect_zt ("{{due_at}}", "ticket.sla_warning", "{\"due_at\":\"2026-07-01T08:00:00Z\"}", "en", ld, 2026,
                 "1 Jul 09:00");
    s_expect_zt ("{{paid_at}}", "payment.received", "{\"paid_at\":\"2026-11-27T08:00:00Z\"}", "zh-CN", ld, 2026,
                 "11月27日 08:00");
    /* a time the caller could not convert (or a bad wall time): as written */
    s_expect_zt ("{{due_at}}", "ticket.sla_warning", "{\"due_at\":\"2026-07-02T08:00:00Z\"}", "en", ld, 2026,
                 "2026-07-02T08:00:00Z");
    s_expect_zt ("{{due_at}}", "ticket.sla_warning", "{\"due_at\":\"x\"}", "en", "{\"x\":\"garbage\"}", 2026, "x");
    s_expect_zt ("[{{due_at}}]", "ticket.sla_warning", "{\"due_at\":5}", "en", "{}", 2026, "[5]");
    /* dates are dates: no zone */
    s_expect_zt ("{{start_date}}", "occupancy.started", "{\"start_date\":\"2025-01-01\"}", "zh-CN", "{}", 2026,
                 "2025年1月1日");
    s_expect_zt ("{{end_date}}", "parking.lease.ended", "{\"end_date\":\"2026-12-31\"}", "en", "{}", 2026,
                 "31 Dec 2026");
}

static cJSON *
s_check (const char *json)
{
    cJSON *data = cJSON_Parse (json);
    assert_non_null (data);
    cJSON *d = nt_rules_check (data);
    cJSON_Delete (data);
    return d;
}

/* The field of the details' first problem. */
static void
s_check_fails (const char *json, const char *field)
{
    cJSON *d = s_check (json);
    if (!d)
        fail_msg ("accepted: %s", json);
    const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (d, 0), "field"));
    if (!f || strcmp (f, field) != 0)
        fail_msg ("%s: field %s, wanted %s", json, f ? f : "(none)", field);
    cJSON_Delete (d);
}

static void
test_rules_check (void **state)
{
    (void) state;
    assert_null (s_check ("{\"rules\":[{\"event_type\":\"ticket.created\",\"recipient\":\"managers\","
                          "\"channels\":[\"inbox\"]},{\"event_type\":\"bill.issued\",\"recipient\":\"bill_to\","
                          "\"channels\":[\"email\",\"inbox\"]},{\"event_type\":\"ticket.resolved\","
                          "\"recipient\":\"party\",\"channels\":[]}]}"));
    assert_null (s_check ("{\"reset\":[\"ticket.created\"]}"));
    assert_null (s_check ("{\"rules\":[{\"event_type\":\"ticket.escalated\",\"recipient\":\"escalated_to\","
                          "\"channels\":[\"inbox\"]}]}"));
    assert_true (nt_rule_recipient_is_staff ("escalated_to"));
    s_check_fails ("{\"rules\":[{\"event_type\":\"ticket.escalated\",\"recipient\":\"escalated_to\","
                   "\"channels\":[\"preferred\"]}]}", "rules[0].channels[0]");
    assert_null (s_check ("{\"rules\":[]}"));
    s_check_fails ("[]", "body");
    s_check_fails ("{}", "rules");
    s_check_fails ("{\"rules\":{}}", "rules");
    s_check_fails ("{\"rules\":[1]}", "rules[0]");
    s_check_fails ("{\"rules\":[{\"event_type\":\"ticket.nope\",\"recipient\":\"managers\",\"channels\":[]}]}",
                   "rules[0].event_type");
    s_check_fails ("{\"rules\":[{\"event_type\":\"ticket.created\",\"recipient\":\"boss\",\"channels\":[]}]}",
                   "rules[0].recipient");
    s_check_fails ("{\"rules\":[{\"event_type\":\"ticket.created\",\"recipient\":\"managers\"}]}",
                   "rules[0].channels");
    s_check_fails ("{\"rules\":[{\"event_type\":\"bill.issued\",\"recipient\":\"bill_to\","
                   "\"channels\":[\"fax\"]}]}", "rules[0].channels[0]");
    s_check_fails ("{\"rules\":[{\"event_type\":\"bill.issued\",\"recipient\":\"bill_to\","
                   "\"channels\":[\"sms\",\"sms\"]}]}", "rules[0].channels[1]");
    /* staff have no contacts: the inbox only */
    s_check_fails ("{\"rules\":[{\"event_type\":\"ticket.created\",\"recipient\":\"managers\","
                   "\"channels\":[\"sms\"]}]}", "rules[0].channels[0]");
    s_check_fails ("{\"rules\":[{\"event_type\":\"ticket.created\",\"recipient\":\"managers\",\"channels\":[]},"
                   "{\"event_type\":\"ticket.created\",\"recipient\":\"managers\",\"channels\":[\"inbox\"]}]}",
                   "rules[1]");
    s_check_fails ("{\"reset\":[\"x\"]}", "reset[0]");
    s_check_fails ("{\"reset\":\"ticket.created\"}", "reset");
}

static void
test_link (void **state)
{
    (void) state;
    const char *pid = "11111111-1111-1111-1111-111111111111";
    const char *u = "22222222-2222-2222-2222-222222222222";
    const char *t = "33333333-3333-3333-3333-333333333333";
    char json[512];
    snprintf (json, sizeof json, "{\"id\":\"%s\",\"unit_id\":\"%s\",\"number\":\"BX\"}", t, u);
    cJSON *data = cJSON_Parse (json);
    cJSON *link = nt_event_link ("ticket.assigned", pid, data);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (link, "ticket_id")), t);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (link, "property_id")), pid);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (link, "unit_id")), u);
    cJSON_Delete (link);
    cJSON_Delete (data);

    snprintf (json, sizeof json, "{\"bill_id\":\"%s\",\"unit_id\":\"%s\"}", t, u);
    data = cJSON_Parse (json);
    link = nt_event_link ("bill.issued", pid, data);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (link, "bill_id")), t);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (link, "unit_id")), u);
    assert_null (cJSON_GetObjectItem (link, "ticket_id"));
    cJSON_Delete (link);
    cJSON_Delete (data);

    /* ids that are not uuids are left out; no property, no data */
    data = cJSON_Parse ("{\"id\":\"x'); DROP\",\"unit_id\":5}");
    link = nt_event_link ("ticket.created", NULL, data);
    assert_int_equal (cJSON_GetArraySize (link), 0);
    cJSON_Delete (link);
    cJSON_Delete (data);
    link = nt_event_link ("payment.received", pid, NULL);
    assert_int_equal (cJSON_GetArraySize (link), 1);
    cJSON_Delete (link);
}

/* A long rendered text is cut between UTF-8 characters, never inside one. */
static void
test_cut (void **state)
{
    (void) state;
    char a[] = "空调不制冷";            /* 5 characters of 3 bytes */
    s_cut (a, 7);
    assert_string_equal (a, "空调");
    char b[] = "ab空";
    s_cut (b, 4);
    assert_string_equal (b, "ab");
    char c[] = "short";
    s_cut (c, 200);
    assert_string_equal (c, "short");
    char d[] = "空";
    s_cut (d, 1);
    assert_string_equal (d, "");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_money_yuan),
        cmocka_unit_test (test_when),
        cmocka_unit_test (test_time_valid),
        cmocka_unit_test (test_zone_times),
        cmocka_unit_test (test_render),
        cmocka_unit_test (test_validate),
        cmocka_unit_test (test_defaults_valid),
        cmocka_unit_test (test_rules_check),
        cmocka_unit_test (test_link),
        cmocka_unit_test (test_cut),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
