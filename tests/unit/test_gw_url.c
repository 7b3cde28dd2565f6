/* test_gw_url: request target splitting, strict percent-decoding, query
 * parameters and the static path check (services/gateway/url.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/url.c"

#include <stdlib.h>

static void
test_split (void **state)
{
    (void) state;
    const char *p, *q;
    size_t pl, ql;
    const char *t = "/v1/properties?limit=5#frag";
    assert_int_equal (url_split (t, strlen (t), &p, &pl, &q, &ql), 0);
    assert_int_equal (pl, strlen ("/v1/properties"));
    assert_memory_equal (p, "/v1/properties", pl);
    assert_int_equal (ql, strlen ("limit=5"));
    assert_memory_equal (q, "limit=5", ql);

    t = "/healthz";
    assert_int_equal (url_split (t, strlen (t), &p, &pl, &q, &ql), 0);
    assert_int_equal (pl, 8);
    assert_int_equal (ql, 0);

    t = "http://example.com:8080/a/b?x=1";
    assert_int_equal (url_split (t, strlen (t), &p, &pl, &q, &ql), 0);
    assert_memory_equal (p, "/a/b", pl);
    assert_int_equal (pl, 4);
    assert_memory_equal (q, "x=1", ql);

    t = "HTTPS://h/";
    assert_int_equal (url_split (t, strlen (t), &p, &pl, &q, &ql), 0);
    assert_int_equal (pl, 1);

    assert_int_equal (url_split ("*", 1, &p, &pl, &q, &ql), -1);
    assert_int_equal (url_split ("example.com:443", 15, &p, &pl, &q, &ql), -1);
    assert_int_equal (url_split ("http://host", 11, &p, &pl, &q, &ql), -1);
    assert_int_equal (url_split ("", 0, &p, &pl, &q, &ql), -1);
    /* a '?' after '#' belongs to the fragment */
    t = "/a#b?c";
    assert_int_equal (url_split (t, strlen (t), &p, &pl, &q, &ql), 0);
    assert_int_equal (pl, 2);
    assert_int_equal (ql, 0);
}

static void
test_decode (void **state)
{
    (void) state;
    char out[64];
    assert_int_equal (url_decode ("a%20b", 5, out, sizeof out, false), 3);
    assert_string_equal (out, "a b");
    assert_int_equal (url_decode ("a+b", 3, out, sizeof out, false), 3);
    assert_string_equal (out, "a+b");
    assert_int_equal (url_decode ("a+b", 3, out, sizeof out, true), 3);
    assert_string_equal (out, "a b");
    assert_int_equal (url_decode ("%E7%89%A9%e4%b8%9a", 18, out, sizeof out, true), 6);
    assert_string_equal (out, "物业");
    assert_int_equal (url_decode ("", 0, out, sizeof out, true), 0);
    assert_string_equal (out, "");
    /* bad escapes */
    assert_int_equal (url_decode ("%", 1, out, sizeof out, true), -1);
    assert_int_equal (url_decode ("%4", 2, out, sizeof out, true), -1);
    assert_int_equal (url_decode ("%zz", 3, out, sizeof out, true), -1);
    assert_int_equal (url_decode ("ab%g1", 5, out, sizeof out, true), -1);
    /* NUL and invalid UTF-8 */
    assert_int_equal (url_decode ("a%00b", 5, out, sizeof out, true), -1);
    assert_int_equal (url_decode ("%ff", 3, out, sizeof out, true), -1);
    assert_int_equal (url_decode ("%c3%28", 6, out, sizeof out, true), -1);
    assert_int_equal (url_decode ("%ed%a0%80", 9, out, sizeof out, true), -1);   /* surrogate */
    assert_int_equal (url_decode ("%c0%af", 6, out, sizeof out, true), -1);      /* overlong '/' */
    /* no room */
    assert_int_equal (url_decode ("abcd", 4, out, 4, true), -1);
    assert_int_equal (url_decode ("abc", 3, out, 4, true), 3);
}

static void
test_query_params (void **state)
{
    (void) state;
    char err[128];
    cJSON *p = cJSON_CreateObject ();
    cJSON_AddStringToObject (p, "pid", "from-path");
    const char *q = "q=%E5%BC%A0+%E4%B8%89&use=office&empty=&flag&pid=evil&use=second&&=novalue";
    assert_int_equal (url_query_params (q, strlen (q), p, err), 0);
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (p, "q")), "张 三");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (p, "use")), "office");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (p, "empty")), "");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (p, "flag")), "");
    assert_string_equal (cJSON_GetStringValue (cJSON_GetObjectItem (p, "pid")), "from-path");
    assert_int_equal (cJSON_GetArraySize (p), 5);
    cJSON_Delete (p);

    p = cJSON_CreateObject ();
    assert_int_equal (url_query_params ("q=%zz", 5, p, err), -1);
    assert_non_null (strstr (err, "q"));
    assert_int_equal (url_query_params ("%ff=1", 5, p, err), -1);
    assert_int_equal (url_query_params ("a=%00", 5, p, err), -1);
    assert_int_equal (url_query_params ("", 0, p, err), 0);
    cJSON_Delete (p);

    /* too many parameters */
    char big[4096] = "";
    size_t n = 0;
    for (int i = 0; i <= URL_MAX_PARAMS; i++)
        n += (size_t) snprintf (big + n, sizeof big - n, "k%d=v&", i);
    p = cJSON_CreateObject ();
    assert_int_equal (url_query_params (big, n, p, err), -1);
    cJSON_Delete (p);

    /* a long value takes the heap path */
    static char longq[3000];
    memset (longq, 'x', sizeof longq - 1);
    longq[0] = 'k';
    longq[1] = '=';
    p = cJSON_CreateObject ();
    assert_int_equal (url_query_params (longq, strlen (longq), p, err), 0);
    assert_int_equal (strlen (cJSON_GetStringValue (cJSON_GetObjectItem (p, "k"))), 2997);
    cJSON_Delete (p);
}

static void
s_safe (const char *path, const char *want)
{
    char out[URL_STATIC_MAX + 1];
    int rc = url_static_path (path, strlen (path), out, sizeof out);
    if (want) {
        if (rc != 0)
            fail_msg ("%s refused", path);
        assert_string_equal (out, want);
    }
    else if (rc == 0)
        fail_msg ("%s accepted as %s", path, out);
}

static void
test_static_path (void **state)
{
    (void) state;
    s_safe ("/", "index.html");
    s_safe ("/app.js", "app.js");
    s_safe ("/assets/logo.svg", "assets/logo.svg");
    s_safe ("/%E7%89%A9.html", "物.html");
    s_safe ("/a%2Fb.js", "a/b.js");      /* an encoded slash separates segments too */
    s_safe ("/..", NULL);
    s_safe ("/../etc/passwd", NULL);
    s_safe ("/a/../../etc/passwd", NULL);
    s_safe ("/%2e%2e/etc/passwd", NULL);
    s_safe ("/%2E%2E%2Fetc%2Fpasswd", NULL);
    s_safe ("/.%2e/x", NULL);
    s_safe ("/a/%2e%2e", NULL);
    s_safe ("/a%2f%2e%2e%2fb", NULL);
    s_safe ("/./index.html", NULL);
    s_safe ("/.git/config", NULL);
    s_safe ("/.env", NULL);
    s_safe ("//etc/passwd", NULL);
    s_safe ("/a//b", NULL);
    s_safe ("/a/", NULL);
    s_safe ("/app.js%00.html", NULL);
    s_safe ("/%00", NULL);
    s_safe ("/..\\..\\etc\\passwd", NULL);
    s_safe ("/%5c..%5cetc", NULL);
    s_safe ("/%ff", NULL);
    s_safe ("/%", NULL);
    s_safe ("relative", NULL);
    s_safe ("", NULL);
    char big[URL_STATIC_MAX + 10];
    big[0] = '/';
    memset (big + 1, 'a', sizeof big - 2);
    big[sizeof big - 1] = 0;
    s_safe (big, NULL);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_split),
        cmocka_unit_test (test_decode),
        cmocka_unit_test (test_query_params),
        cmocka_unit_test (test_static_path),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
