/* test_gw_router: route patterns, matching, 404 vs 405 with Allow, decoded
 * parameters (services/gateway/router.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/gateway/router.c"
#include "../../services/gateway/url.c"

typedef struct {
    router_route_t r;
    int tag;
} s_route_t2;

static const s_route_t2 s_table[] = {
    { { "GET", "/healthz" }, 1 },
    { { "POST", "/v1/properties" }, 2 },
    { { "GET", "/v1/properties" }, 3 },
    { { "GET", "/v1/properties/{pid}" }, 4 },
    { { "GET", "/v1/properties/{pid}/units" }, 5 },
    { { "GET", "/v1/properties/{pid}/units/{uid}" }, 6 },
    { { "PATCH", "/v1/properties/{pid}/units/{uid}" }, 7 },
    { { "GET", "/v1/properties/{pid}/units/search" }, 8 },   /* after the {uid} route: table order wins */
    { { "DELETE", "/v1/api-keys/{id}" }, 9 },
};
#define N (sizeof s_table / sizeof s_table[0])

static router_t *s_router;

static int
s_setup (void **state)
{
    (void) state;
    s_router = router_new (s_table, N, sizeof s_table[0]);
    return s_router ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void) state;
    router_destroy (&s_router);
    assert_null (s_router);
    router_destroy (&s_router);      /* safe twice */
    return 0;
}

static router_result_t
s_match (const char *method, const char *path, router_match_t *m)
{
    return router_match (s_router, method, path, strlen (path), m);
}

static void
test_literal_and_params (void **state)
{
    (void) state;
    router_match_t m;
    assert_int_equal (s_match ("GET", "/healthz", &m), ROUTER_OK);
    assert_int_equal (s_table[m.index].tag, 1);
    assert_int_equal (m.nparams, 0);

    assert_int_equal (s_match ("POST", "/v1/properties", &m), ROUTER_OK);
    assert_int_equal (s_table[m.index].tag, 2);
    assert_int_equal (s_match ("GET", "/v1/properties", &m), ROUTER_OK);
    assert_int_equal (s_table[m.index].tag, 3);

    assert_int_equal (s_match ("GET", "/v1/properties/abc", &m), ROUTER_OK);
    assert_int_equal (s_table[m.index].tag, 4);
    assert_string_equal (router_param (&m, "pid"), "abc");
    assert_null (router_param (&m, "uid"));

    assert_int_equal (s_match ("PATCH", "/v1/properties/p1/units/u%2F2", &m), ROUTER_OK);
    assert_int_equal (s_table[m.index].tag, 7);
    assert_string_equal (router_param (&m, "pid"), "p1");
    assert_string_equal (router_param (&m, "uid"), "u/2");   /* decoded, still one segment */
    assert_int_equal (m.nparams, 2);

    assert_int_equal (s_match ("GET", "/v1/properties/p1/units/%E6%88%BF", &m), ROUTER_OK);
    assert_string_equal (router_param (&m, "uid"), "房");

    assert_int_equal (s_match ("GET", "/v1/properties/p1/units/search", &m), ROUTER_OK);
    assert_int_equal (s_table[m.index].tag, 6);
}

static void
test_not_found (void **state)
{
    (void) state;
    router_match_t m;
    const char *paths[] = { "/", "/v1", "/v1/", "/v1/properties/", "/v1/properties//units",
                            "/healthz/", "/HEALTHZ", "/v1/properties/p/units/u/x", "/v1/nope",
                            "/v1/properties/p/unit", "" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        router_result_t r = s_match ("GET", paths[i], &m);
        if (r != ROUTER_NOT_FOUND)
            fail_msg ("%s: %d", paths[i], r);
        assert_int_equal (m.index, -1);
    }
    char deep[512] = "";
    for (int i = 0; i < 40; i++)
        strcat (deep, "/a");
    assert_int_equal (s_match ("GET", deep, &m), ROUTER_NOT_FOUND);
    char *longp = malloc (ROUTER_PATH_MAX + 10);
    longp[0] = '/';
    memset (longp + 1, 'x', ROUTER_PATH_MAX + 8);
    longp[ROUTER_PATH_MAX + 9] = 0;
    assert_int_equal (s_match ("GET", longp, &m), ROUTER_NOT_FOUND);
    free (longp);
}

static void
test_method_not_allowed (void **state)
{
    (void) state;
    router_match_t m;
    assert_int_equal (s_match ("DELETE", "/v1/properties", &m), ROUTER_BAD_METHOD);
    assert_string_equal (m.allow, "POST, GET");
    assert_int_equal (m.index, -1);
    assert_int_equal (s_match ("POST", "/healthz", &m), ROUTER_BAD_METHOD);
    assert_string_equal (m.allow, "GET");
    assert_int_equal (s_match ("PUT", "/v1/properties/x/units/y", &m), ROUTER_BAD_METHOD);
    assert_string_equal (m.allow, "GET, PATCH");
    assert_int_equal (s_match ("GET", "/v1/api-keys/1", &m), ROUTER_BAD_METHOD);
    assert_string_equal (m.allow, "DELETE");
    /* methods are case-sensitive (RFC 9110) */
    assert_int_equal (s_match ("get", "/healthz", &m), ROUTER_BAD_METHOD);
}

static void
test_bad_path (void **state)
{
    (void) state;
    router_match_t m;
    assert_int_equal (s_match ("GET", "/v1/properties/%zz", &m), ROUTER_BAD_PATH);
    assert_int_equal (s_match ("GET", "/v1/properties/%00", &m), ROUTER_BAD_PATH);
    assert_int_equal (s_match ("GET", "/v1/properties/%ff", &m), ROUTER_BAD_PATH);
    assert_int_equal (s_match ("GET", "/v1/properties/a%", &m), ROUTER_BAD_PATH);
}

static void
test_bad_patterns (void **state)
{
    (void) state;
    const router_route_t bad[][1] = {
        { { "GET", "" } }, { { "GET", "x" } }, { { "GET", "/a//b" } }, { { "GET", "/a/" } },
        { { "GET", "/{}" } }, { { "GET", "/{x" } }, { { NULL, "/a" } },
        { { "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17" } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        router_t *r = router_new (bad[i], 1, sizeof bad[i][0]);
        if (r)
            fail_msg ("pattern %zu accepted", i);
    }
    router_t *empty = router_new (NULL, 0, sizeof (router_route_t));
    assert_non_null (empty);
    router_match_t m;
    assert_int_equal (router_match (empty, "GET", "/x", 2, &m), ROUTER_NOT_FOUND);
    router_destroy (&empty);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_literal_and_params),
        cmocka_unit_test (test_not_found),
        cmocka_unit_test (test_method_not_allowed),
        cmocka_unit_test (test_bad_path),
        cmocka_unit_test (test_bad_patterns),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
