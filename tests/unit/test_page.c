/* test_page: common/page.c, the one way to page a list: ?limit=, cursors
 * (round trip, forged ones refused), ?cursor= and ?limit= together, key
 * splitting and the page body built from a result. No database: results are
 * made with libpq's PQmakeEmptyPGresult / PQsetvalue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "jv_testing.h"

static void
test_limit (void **state)
{
    (void) state;
    int n = 0;
    assert_true (page_limit_parse (NULL, &n));
    assert_int_equal (n, PAGE_LIMIT_DEFAULT);
    n = 0;
    assert_true (page_limit_parse ("", &n));              /* ?limit= is the default */
    assert_int_equal (n, 50);
    assert_true (page_limit_parse ("1", &n));
    assert_int_equal (n, 1);
    assert_true (page_limit_parse ("500", &n));
    assert_int_equal (n, PAGE_LIMIT_MAX);
    n = 7;
    static const char *const bad[] = { "0", "501", "-1", "+5", " 5", "5 ", "abc", "1e2",
                                       "99999999999999999999", "5x", "0x10", NULL };
    for (int i = 0; bad[i]; i++) {
        assert_false (page_limit_parse (bad[i], &n));
        assert_int_equal (n, 7);
    }
}

static void
test_cursor_round_trip (void **state)
{
    (void) state;
    static const char *const keys[] = { "A-1201", "a", "ab", "abc", "商铺-01", "x'; --%_",
                                        "2026-12-06 11:23:22.123456+00~1b4e28ba-2fa1-11d2-883f-0016d3cca427",
                                        NULL };
    for (int i = 0; keys[i]; i++) {
        char *c = page_cursor_encode (keys[i]);
        assert_non_null (c);
        for (const char *p = c; *p; p++)                 /* safe in a query string */
            assert_non_null (strchr ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
        char out[PAGE_KEY_MAX];
        assert_true (page_cursor_decode (c, out, sizeof out));
        assert_string_equal (out, keys[i]);
        free (c);
    }
    char out[8];
    static const char *const bad[] = { "", "a", "!!!!", "YQ=", "YR", "AA", "/w", "YWJj~", NULL };
    /* "YR" decodes to 'a' with stray bits; "AA" to NUL; "/w" holds '/' */
    for (int i = 0; bad[i]; i++)
        assert_false (page_cursor_decode (bad[i], out, sizeof out));
    assert_false (page_cursor_decode (NULL, out, sizeof out));
    char *c = page_cursor_encode ("12345678");            /* longer than out can hold */
    assert_false (page_cursor_decode (c, out, sizeof out));
    free (c);
    c = page_cursor_encode ("\xff\xfe");                  /* not UTF-8 */
    assert_false (page_cursor_decode (c, out, sizeof out));
    free (c);
}

static env_request_t
s_request (cJSON *params)
{
    env_request_t req;
    memset (&req, 0, sizeof req);
    req.params = params;
    return req;
}

static void
test_params (void **state)
{
    (void) state;
    char *c = page_cursor_encode ("2026-01-31~x");
    cJSON *params = cJSON_CreateObject ();
    cJSON_AddStringToObject (params, "limit", "20");
    cJSON_AddStringToObject (params, "cursor", c);
    env_request_t req = s_request (params);
    jv_t v = JV_INIT;
    int limit = 0;
    char key[PAGE_KEY_MAX];
    assert_true (page_params (&v, &req, &limit, key, sizeof key));
    assert_int_equal (limit, 20);
    assert_string_equal (key, "2026-01-31~x");
    cJSON_Delete (params);

    /* none given: the default and no key; an empty ?cursor= is none */
    params = cJSON_CreateObject ();
    cJSON_AddStringToObject (params, "cursor", "");
    req = s_request (params);
    assert_true (page_params (&v, &req, &limit, key, sizeof key));
    assert_int_equal (limit, 50);
    assert_string_equal (key, "");
    cJSON_Delete (params);

    /* both wrong: both named, with the contract's words */
    params = cJSON_CreateObject ();
    cJSON_AddStringToObject (params, "limit", "501");
    cJSON_AddStringToObject (params, "cursor", "2026-01-31~x");   /* a raw key is no cursor */
    req = s_request (params);
    assert_false (page_params (&v, &req, &limit, key, sizeof key));
    assert_int_equal (limit, 50);
    assert_string_equal (key, "");
    assert_string_equal (jvt_problem (&v, "limit"), "must be an integer from 1 to 500");
    assert_string_equal (jvt_problem (&v, "cursor"), "is not a cursor this list gave out");
    jv_reset (&v);
    cJSON_Delete (params);

    /* a key longer than the list's buffer is refused, not cut */
    params = cJSON_CreateObject ();
    cJSON_AddStringToObject (params, "cursor", c);
    req = s_request (params);
    assert_false (page_params (&v, &req, &limit, key, 5));
    assert_non_null (jvt_problem (&v, "cursor"));
    jv_reset (&v);
    cJSON_Delete (params);
    free (c);
}

static void
test_key_split (void **state)
{
    (void) state;
    char key[] = "2026-01-31~abc", *parts[3];
    assert_true (page_key_split (key, parts, 2));
    assert_string_equal (parts[0], "2026-01-31");
    assert_string_equal (parts[1], "abc");
    char one[] = "abc";
    assert_true (page_key_split (one, parts, 1));
    assert_string_equal (parts[0], "abc");
    char three[] = "a~b~c", too_few[] = "a~b", empty[] = "~";
    assert_false (page_key_split (three, parts, 2));
    assert_false (page_key_split (too_few, parts, 3));
    assert_true (page_key_split (empty, parts, 2));      /* empty parts: the caller checks them */
    assert_string_equal (parts[0], "");
    assert_string_equal (parts[1], "");
}

/* A result of n rows: column 0 {"n":i}, column 1 "t<i>", column 2 "id<i>". */
static PGresult *
s_result (int n)
{
    PGresult *res = PQmakeEmptyPGresult (NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[3];
    memset (attrs, 0, sizeof attrs);
    attrs[0].name = "doc", attrs[1].name = "t", attrs[2].name = "id";
    for (int i = 0; i < 3; i++)
        attrs[i].typid = 25, attrs[i].typlen = -1, attrs[i].atttypmod = -1;
    assert_int_equal (PQsetResultAttrs (res, 3, attrs), 1);
    for (int i = 0; i < n; i++) {
        char v[3][32];
        snprintf (v[0], sizeof v[0], "{\"n\":%d}", i);
        snprintf (v[1], sizeof v[1], "t%d", i);
        snprintf (v[2], sizeof v[2], "id%d", i);
        for (int c = 0; c < 3; c++)
            assert_int_equal (PQsetvalue (res, i, c, v[c], (int) strlen (v[c])), 1);
    }
    return res;
}

static const char *
s_next_key (const cJSON *body, char *key, size_t cap)
{
    const cJSON *next = cJSON_GetObjectItemCaseSensitive (body, "next_cursor");
    if (cJSON_IsNull (next))
        return NULL;
    assert_true (page_cursor_decode (cJSON_GetStringValue (next), key, cap));
    return key;
}

static void
test_json_rows (void **state)
{
    (void) state;
    char key[PAGE_KEY_MAX];
    PGresult *res = s_result (4);                         /* limit 3 + 1: there is more */
    cJSON *body = page_json_rows (res, 3, 1, 2);
    assert_non_null (body);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (body, "items");
    assert_int_equal (cJSON_GetArraySize (items), 3);
    assert_int_equal (cJSON_GetObjectItem (cJSON_GetArrayItem (items, 2), "n")->valueint, 2);
    assert_string_equal (s_next_key (body, key, sizeof key), "t2~id2");
    cJSON_Delete (body);

    body = page_json_rows (res, 4, 2, 1);                 /* exactly limit rows: the last page */
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "items")), 4);
    assert_null (s_next_key (body, key, sizeof key));
    cJSON_Delete (body);
    PQclear (res);

    res = s_result (0);
    body = page_json_rows (res, 50, 1, 2);
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "items")), 0);
    assert_null (s_next_key (body, key, sizeof key));
    cJSON_Delete (body);
    PQclear (res);
}

static cJSON *
s_item (const PGresult *res, int row, void *arg)
{
    int *calls = arg;
    (*calls)++;
    return row == 1 ? NULL : cJSON_CreateString (PQgetvalue (res, row, 2));   /* row 1 skipped */
}

static void
s_key (const PGresult *res, int row, char *out, size_t cap)
{
    snprintf (out, cap, "%s|%s", PQgetvalue (res, row, 2), PQgetvalue (res, row, 1));
}

static void
test_rows (void **state)
{
    (void) state;
    char key[PAGE_KEY_MAX];
    int calls = 0;
    PGresult *res = s_result (3);
    cJSON *body = page_rows (res, 2, s_item, &calls, s_key);
    assert_int_equal (calls, 2);                          /* the extra row is never shown */
    assert_int_equal (cJSON_GetArraySize (cJSON_GetObjectItem (body, "items")), 1);
    assert_string_equal (s_next_key (body, key, sizeof key), "id1|t1");
    cJSON_Delete (body);
    PQclear (res);
}

/* a (time, id) list's cursor: exactly DB_UTC_TS_US's text and a uuid */
static void
test_time_id (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    page_time_id_t page;
    cJSON *params = cJSON_Parse ("{}");
    env_request_t req = s_request (params);
    assert_true (page_time_id (&v, &req, &page));
    assert_int_equal (page.limit, PAGE_LIMIT_DEFAULT);
    assert_string_equal (page.limit_plus_one, "51");
    assert_null (page.at);
    assert_null (page.id);
    cJSON_Delete (params);

    char *c = page_cursor_encode ("2026-11-27T03:14:00.123456Z~0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b");
    char json[256];
    snprintf (json, sizeof json, "{\"limit\":\"500\",\"cursor\":\"%s\"}", c);
    free (c);
    params = cJSON_Parse (json);
    req = s_request (params);
    assert_true (page_time_id (&v, &req, &page));
    assert_int_equal (page.limit, 500);
    assert_string_equal (page.limit_plus_one, "501");
    assert_string_equal (page.at, "2026-11-27T03:14:00.123456Z");
    assert_string_equal (page.id, "0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b");
    cJSON_Delete (params);

    /* keys a client could encode itself that are not a key of these lists */
    const char *bad_keys[] = { "abc", "2026-11-27T03:14:00Z~0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b",
                               "2026-11-27T03:14:00.123456+08:00~0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b",
                               "2026-02-30T03:14:00.123456Z~0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b",
                               "2026-11-27T03:14:00.123456Z~not-a-uuid-not-a-uuid-not-a-uuid-xxxx",
                               "2026-11-27T03:14:00.123456Z 0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b",
                               "2026-11-27T03:14:00.123456Z~0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b~",
                               "1764213240123456~0b6f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b" };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        jv_t w = JV_INIT;
        c = page_cursor_encode (bad_keys[i]);
        snprintf (json, sizeof json, "{\"cursor\":\"%s\"}", c);
        free (c);
        params = cJSON_Parse (json);
        req = s_request (params);
        if (page_time_id (&w, &req, &page))
            fail_msg ("took %s", bad_keys[i]);
        assert_null (page.at);
        assert_null (page.id);
        jvt_problem (&w, "cursor");
        jv_reset (&w);
        cJSON_Delete (params);
    }
    /* a bad limit is the page helper's problem, reported the same way */
    jv_t w = JV_INIT;
    params = cJSON_Parse ("{\"limit\":\"501\"}");
    req = s_request (params);
    assert_false (page_time_id (&w, &req, &page));
    jvt_problem (&w, "limit");
    jv_reset (&w);
    cJSON_Delete (params);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_limit),
        cmocka_unit_test (test_cursor_round_trip),
        cmocka_unit_test (test_params),
        cmocka_unit_test (test_key_split),
        cmocka_unit_test (test_json_rows),
        cmocka_unit_test (test_rows),
        cmocka_unit_test (test_time_id),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
