/* test_curve: the allow-list's lines, key files on disk, and who may send
 * what (worker_sender_allowed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "curve.h"
#include "log.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static void
test_allow_lines (void **state)
{
    (void) state;
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1], line[160], id[CURVE_IDENTITY_MAX + 1];
    unsigned char key[32], want[32];
    assert_int_equal (zmq_curve_keypair (pub, sec), 0);
    zmq_z85_decode (want, pub);

    snprintf (line, sizeof line, "tenants %s\n", pub);
    assert_int_equal (curve_allow_parse_line (line, id, key), 1);
    assert_string_equal (id, "tenants");
    assert_memory_equal (key, want, 32);
    snprintf (line, sizeof line, "  \tbilling\t%s", pub);
    assert_int_equal (curve_allow_parse_line (line, id, key), 1);
    assert_string_equal (id, "billing");

    assert_int_equal (curve_allow_parse_line ("", id, key), 0);
    assert_int_equal (curve_allow_parse_line ("\n", id, key), 0);
    assert_int_equal (curve_allow_parse_line ("# tenants, rotated 2026-12\n", id, key), 0);

    const char *bad[] = { "tenants\n", "tenants short\n", "Tenants %s\n", "ten ants %s\n",
                          "tenants %s extra\n", "a-very-long-identity-name-over-32-chars %s\n",
                          "tenants %.39s\n" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf (line, sizeof line, bad[i], pub);
        assert_int_equal (curve_allow_parse_line (line, id, key), -1);
    }
    /* 40 characters that are not Z85 */
    assert_int_equal (curve_allow_parse_line ("tenants \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"", id, key), -1);
}

static void
test_keygen_and_init (void **state)
{
    (void) state;
    char dir[] = "/tmp/pm-curve-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char keys[600];
    snprintf (keys, sizeof keys, "%s/keys", dir);
    setenv ("PM_KEYS_DIR", keys, 1);
    const char *const ids[] = { "broker", "gateway", "tenants", NULL };
    assert_int_equal (curve_keygen (keys, ids), 0);
    struct stat st;
    assert_int_equal (stat (keys, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0700);
    char path[700];
    snprintf (path, sizeof path, "%s/tenants.key", keys);
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);

    curve_allow_t *allow = malloc (sizeof *allow);
    assert_int_equal (curve_allow_load (keys, allow), 0);
    assert_int_equal (allow->count, 2);          /* the broker is not on its own list */
    /* again: nothing new, nothing twice */
    assert_int_equal (curve_keygen (keys, ids), 0);
    assert_int_equal (curve_allow_load (keys, allow), 0);
    assert_int_equal (allow->count, 2);

    assert_int_equal (curve_init ("tenants"), 0);
    assert_string_equal (curve_identity (), "tenants");
    assert_int_equal (curve_init ("billing"), -1);   /* no key file */
    assert_string_equal (curve_identity (), "tenants");
    assert_int_equal (curve_init ("../etc"), -1);

    /* a keypair whose halves do not belong together is refused */
    char pub[CURVE_Z85_LEN + 1], sec[CURVE_Z85_LEN + 1], pub2[CURVE_Z85_LEN + 1], sec2[CURVE_Z85_LEN + 1];
    zmq_curve_keypair (pub, sec);
    zmq_curve_keypair (pub2, sec2);
    snprintf (path, sizeof path, "%s/mixed.key", keys);
    FILE *f = fopen (path, "w");
    fprintf (f, "public %s\nsecret %s\n", pub, sec2);
    fclose (f);
    assert_int_equal (curve_init ("mixed"), -1);

    free (allow);
    char cmd[700];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal (system (cmd), 0);
}

static void
test_sender_allowed (void **state)
{
    (void) state;
    env_caller_t admin = { .user_id = "u-1", .role = "admin" };
    env_caller_t agent = { .user_id = "u-2", .role = "agent" };
    env_caller_t billing = { .user_id = "billing", .role = "service" };
    env_caller_t anon_service = { .role = "service" };
    env_caller_t no_role = { .user_id = "u-3" };
    assert_true (worker_sender_allowed (&admin, "gateway"));
    assert_true (worker_sender_allowed (&agent, "gateway"));
    assert_false (worker_sender_allowed (&admin, "billing"));
    assert_false (worker_sender_allowed (&agent, "tenants"));
    assert_true (worker_sender_allowed (&billing, "billing"));
    assert_false (worker_sender_allowed (&billing, "gateway"));
    assert_false (worker_sender_allowed (&billing, "tenants"));
    assert_false (worker_sender_allowed (&anon_service, "billing"));
    assert_false (worker_sender_allowed (&no_role, "gateway"));
    assert_false (worker_sender_allowed (&admin, ""));
    assert_false (worker_sender_allowed (&admin, NULL));
}

int
main (void)
{
    setenv ("PM_LOG_LEVEL", "error", 1);
    log_init ("test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_allow_lines),
        cmocka_unit_test (test_keygen_and_init),
        cmocka_unit_test (test_sender_allowed),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
