/* test_html: html_escape (common/html.c): the five characters that can
 * change an HTML page's structure become entities, Chinese text passes
 * untouched, and bytes that are not UTF-8 or are control characters cannot
 * reach the page; html_row and a printable page's reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "html.h"

#include <stdlib.h>
#include <string.h>

/* s escaped, compared with want */
static void
s_check (const char *s, const char *want)
{
    env_text_t t = ENV_TEXT_INIT;
    env_text_put (&t, "[");
    html_escape (&t, s);
    env_text_put (&t, "]");
    char *got = env_text_take (&t);
    assert_non_null (got);
    char *framed = malloc (strlen (want) + 3);
    assert_non_null (framed);
    strcpy (framed, "[");
    strcat (framed, want);
    strcat (framed, "]");
    assert_string_equal (got, framed);
    free (framed);
    free (got);
}

static void
test_markup_becomes_entities (void **state)
{
    (void) state;
    s_check ("<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    s_check ("a & b \"quoted\"", "a &amp; b &quot;quoted&quot;");
    s_check ("&amp;", "&amp;amp;");
    s_check ("\" onmouseover=\"x", "&quot; onmouseover=&quot;x");
    s_check ("<<>>", "&lt;&lt;&gt;&gt;");
}

static void
test_text_passes (void **state)
{
    (void) state;
    s_check ("", "");
    s_check ("A-1201 张三", "A-1201 张三");
    s_check ("壹仟贰佰叁拾肆元伍角陆分 ¥1,234.56", "壹仟贰佰叁拾肆元伍角陆分 ¥1,234.56");
    s_check ("line\nnext\ttab", "line\nnext\ttab");
    s_check ("😀", "😀");
    env_text_t t = ENV_TEXT_INIT;
    html_escape (&t, NULL);
    assert_int_equal (t.len, 0);
    free (env_text_take (&t));
}

static void
test_bad_bytes_are_replaced (void **state)
{
    (void) state;
    s_check ("a\x01" "b", "a\xEF\xBF\xBD" "b");
    s_check ("\x7f", "\xEF\xBF\xBD");
    s_check ("\xff<", "\xEF\xBF\xBD&lt;");
    /* a lead byte whose sequence the string's end cuts short */
    s_check ("x\xE5\xBC", "x\xEF\xBF\xBD\xEF\xBF\xBD");
    /* an overlong '<' (0xC0 0xBC) is not a way round the escape */
    s_check ("\xC0\xBC", "\xEF\xBF\xBD\xEF\xBF\xBD");
    /* a UTF-16 surrogate written in UTF-8 */
    s_check ("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void
test_row_and_page_reply (void **state)
{
    (void) state;
    env_text_t t = ENV_TEXT_INIT;
    html_row (&t, "房号", "<A-1201>");
    char *row = env_text_take (&t);
    assert_string_equal (row, "<tr><th>房号</th><td>&lt;A-1201&gt;</td></tr>");
    free (row);

    env_reply_t rep = { 0 };
    env_text_put (&t, "<p>x</p>");
    html_reply_page (&rep, &t, "SJ-2026-000001.html");
    assert_int_equal (rep.status, 200);
    assert_null (rep.code);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (rep.body, "content_type")),
                         "text/html; charset=utf-8");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (rep.body, "filename")), "SJ-2026-000001.html");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (rep.body, "text")), "<p>x</p>");
    assert_int_equal (t.len, 0);
    env_reply_reset (&rep);

    /* a page whose writing ran out of memory: 500, never half a page */
    env_reply_t bad = { 0 };
    env_text_t failed = ENV_TEXT_INIT;
    failed.failed = true;
    html_reply_page (&bad, &failed, "x.html");
    assert_int_equal (bad.status, 500);
    assert_string_equal (bad.code, "internal");
    env_reply_reset (&bad);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_markup_becomes_entities),
        cmocka_unit_test (test_text_passes),
        cmocka_unit_test (test_bad_bytes_are_replaced),
        cmocka_unit_test (test_row_and_page_reply),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
