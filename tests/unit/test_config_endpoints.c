/* test_config_endpoints: the brokers' endpoint lists (config.h,
 * docs/DESIGN.md "Two brokers"): parsing, and which variable wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include <stdlib.h>
#include <string.h>

static void
test_one (void **state)
{
    (void) state;
    config_endpoints_t e;
    assert_int_equal (config_endpoints_parse ("ipc:///tmp/b.ipc", &e), 1);
    assert_string_equal (e.item[0], "ipc:///tmp/b.ipc");
}

static void
test_two_in_order_trimmed (void **state)
{
    (void) state;
    config_endpoints_t e;
    assert_int_equal (config_endpoints_parse (" tcp://a:5555 ,\ttcp://b:5555", &e), 2);
    assert_string_equal (e.item[0], "tcp://a:5555");
    assert_string_equal (e.item[1], "tcp://b:5555");
}

static void
test_malformed (void **state)
{
    (void) state;
    config_endpoints_t e;
    assert_int_equal (config_endpoints_parse ("", &e), -1);
    assert_int_equal (e.count, 0);
    assert_int_equal (config_endpoints_parse ("tcp://a:1,", &e), -1);
    assert_int_equal (config_endpoints_parse (",tcp://a:1", &e), -1);
    assert_int_equal (config_endpoints_parse ("tcp://a:1,,tcp://b:1", &e), -1);
    assert_int_equal (config_endpoints_parse (" , ", &e), -1);
    assert_int_equal (config_endpoints_parse (NULL, &e), -1);
    char many[256] = "";
    for (int i = 0; i <= CONFIG_ENDPOINTS_MAX; i++)
        strcat (many, i ? ",x" : "x");
    assert_int_equal (config_endpoints_parse (many, &e), -1);
    many[strlen (many) - 2] = 0;     /* exactly the most */
    assert_int_equal (config_endpoints_parse (many, &e), CONFIG_ENDPOINTS_MAX);
    char *big = malloc (sizeof e.buf + 1);
    memset (big, 'a', sizeof e.buf);
    big[sizeof e.buf] = 0;
    assert_int_equal (config_endpoints_parse (big, &e), -1);
    free (big);
}

static void
test_env (void **state)
{
    (void) state;
    config_endpoints_t e;
    unsetenv ("PM_BROKER_ENDPOINTS");
    setenv ("PM_BROKER_ENDPOINT", "ipc:///tmp/one.ipc", 1);
    assert_int_equal (config_broker_endpoints (&e), 1);
    assert_string_equal (e.item[0], "ipc:///tmp/one.ipc");
    setenv ("PM_BROKER_ENDPOINTS", "", 1);   /* empty: as unset */
    assert_int_equal (config_broker_endpoints (&e), 1);
    setenv ("PM_BROKER_ENDPOINTS", "ipc:///tmp/b0.ipc,ipc:///tmp/b1.ipc", 1);
    assert_int_equal (config_broker_endpoints (&e), 2);
    assert_string_equal (e.item[1], "ipc:///tmp/b1.ipc");
    unsetenv ("PM_EVENTS_OUT_ENDPOINTS");
    setenv ("PM_DATA_DIR", "/tmp/pmx", 1);
    unsetenv ("PM_EVENTS_OUT_ENDPOINT");
    assert_int_equal (config_events_out_endpoints (&e), 1);
    assert_string_equal (e.item[0], "ipc:///tmp/pmx/events-out.ipc");
    setenv ("PM_EVENTS_IN_ENDPOINTS", "tcp://a:5556,tcp://b:5556", 1);
    assert_int_equal (config_events_in_endpoints (&e), 2);
    assert_string_equal (e.item[0], "tcp://a:5556");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_one),
        cmocka_unit_test (test_two_in_order_trimmed),
        cmocka_unit_test (test_malformed),
        cmocka_unit_test (test_env),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
