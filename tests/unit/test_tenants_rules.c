/* test_tenants_rules: validation and PATCH decisions of the tenants service
 * (services/tenants/unit_rules.c, included), and the outbox table of its
 * migration being exactly OUTBOX_TABLE_SQL. No database needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/tenants/unit_rules.c"
#include "outbox.h"
#include "jv_testing.h"

static int
s_count (const jv_t *v)
{
    return v->details ? cJSON_GetArraySize (v->details) : 0;
}

/* Parsed inputs stay alive until the test ends: `in` points into them. */
static cJSON *s_inputs[64];
static int s_ninputs;

static int
s_free_inputs (void **state)
{
    (void) state;
    for (int i = 0; i < s_ninputs; i++)
        cJSON_Delete (s_inputs[i]);
    s_ninputs = 0;
    return 0;
}

/* Validates json as a unit; returns the jv (caller resets when not ok). */
static jv_t
s_unit (const char *json, bool partial, tn_unit_input_t *in)
{
    jv_t v = JV_INIT;
    cJSON *data = cJSON_Parse (json);
    assert_non_null (data);
    assert_true (s_ninputs < 64);
    s_inputs[s_ninputs++] = data;
    tn_unit_input (&v, data, partial, in);
    return v;
}

static void
test_unit_valid (void **state)
{
    (void) state;
    tn_unit_input_t in;
    jv_t v = s_unit ("{\"code\":\"A-1201\",\"building\":\"A\",\"floor\":\"12\","
                     "\"area_m2\":85.5,\"use\":\"residential\"}", false, &in);
    assert_true (jv_ok (&v));
    assert_string_equal (in.v.code, "A-1201");
    assert_string_equal (in.v.building, "A");
    assert_string_equal (in.v.floor, "12");
    assert_string_equal (in.v.area, "85.50");
    assert_string_equal (in.v.use, "residential");

    /* optional fields absent, null or "" mean none */
    v = s_unit ("{\"code\":\"P-1\",\"area_m2\":0,\"use\":\"parking\",\"building\":null,\"floor\":\"\"}",
                false, &in);
    assert_true (jv_ok (&v));
    assert_null (in.v.building);
    assert_null (in.v.floor);
    assert_string_equal (in.v.area, "0.00");

    /* the largest area, integers, and every use */
    v = s_unit ("{\"code\":\"x\",\"area_m2\":999999999.99,\"use\":\"other\"}", false, &in);
    assert_true (jv_ok (&v));
    assert_string_equal (in.v.area, "999999999.99");
    for (int i = 0; tn_unit_uses[i]; i++) {
        char json[128];
        snprintf (json, sizeof json, "{\"code\":\"c\",\"area_m2\":12,\"use\":\"%s\"}", tn_unit_uses[i]);
        v = s_unit (json, false, &in);
        assert_true (jv_ok (&v));
        assert_string_equal (in.v.area, "12.00");
    }
    /* Chinese text and SQL metacharacters are just text */
    v = s_unit ("{\"code\":\"商铺'; DROP TABLE units;--\",\"building\":\"一号楼\",\"area_m2\":1.05,"
                "\"use\":\"retail\"}", false, &in);
    assert_true (jv_ok (&v));
    assert_string_equal (in.v.code, "商铺'; DROP TABLE units;--");
    assert_string_equal (in.v.area, "1.05");
}

static void
test_unit_area_problems (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "\"abc\"", "-1", "12.345", "1000000000", "1e9", "-0.01", "true", "[]", "{}", "0.001", NULL
    };
    for (int i = 0; bad[i]; i++) {
        char json[128];
        snprintf (json, sizeof json, "{\"code\":\"c\",\"area_m2\":%s,\"use\":\"office\"}", bad[i]);
        tn_unit_input_t in;
        jv_t v = s_unit (json, false, &in);
        assert_false (jv_ok (&v));
        assert_non_null (jvt_problem (&v, "area_m2"));
        assert_int_equal (s_count (&v), 1);
        jv_reset (&v);
    }
}

static void
test_unit_all_problems_at_once (void **state)
{
    (void) state;
    tn_unit_input_t in;
    jv_t v = s_unit ("{}", false, &in);
    assert_int_equal (s_count (&v), 3);
    assert_string_equal (jvt_problem (&v, "code"), "is required");
    assert_string_equal (jvt_problem (&v, "area_m2"), "is required");
    assert_string_equal (jvt_problem (&v, "use"), "is required");
    jv_reset (&v);

    v = s_unit ("{\"code\":\"\",\"area_m2\":\"abc\",\"use\":\"castle\",\"building\":7,\"floor\":[1]}",
                false, &in);
    assert_int_equal (s_count (&v), 5);
    assert_non_null (jvt_problem (&v, "code"));
    assert_non_null (jvt_problem (&v, "area_m2"));
    assert_non_null (strstr (jvt_problem (&v, "use"), "residential"));
    assert_non_null (jvt_problem (&v, "building"));
    assert_non_null (jvt_problem (&v, "floor"));
    jv_reset (&v);

    /* lengths are in bytes: 65 is one too many; 22 Chinese characters = 66 bytes */
    char json[512];
    snprintf (json, sizeof json, "{\"code\":\"%065d\",\"area_m2\":1,\"use\":\"office\"}", 1);
    v = s_unit (json, false, &in);
    assert_non_null (jvt_problem (&v, "code"));
    jv_reset (&v);
    snprintf (json, sizeof json, "{\"code\":\"%064d\",\"area_m2\":1,\"use\":\"office\"}", 1);
    v = s_unit (json, false, &in);
    assert_true (jv_ok (&v));
    v = s_unit ("{\"code\":\"一二三四五六七八九十一二三四五六七八九十一二\",\"area_m2\":1,\"use\":\"office\"}",
                false, &in);
    assert_non_null (jvt_problem (&v, "code"));
    jv_reset (&v);
    v = s_unit ("{\"code\":\"a\\u0001b\",\"area_m2\":1,\"use\":\"office\"}", false, &in);
    assert_non_null (jvt_problem (&v, "code"));
    jv_reset (&v);

    /* not an object at all */
    v = s_unit ("[1,2]", false, &in);
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
    v = (jv_t) JV_INIT;
    assert_false (tn_unit_input (&v, NULL, false, &in));
    assert_non_null (jvt_problem (&v, "body"));
    jv_reset (&v);
}

static void
test_unit_patch_input (void **state)
{
    (void) state;
    tn_unit_input_t in;
    jv_t v = s_unit ("{}", true, &in);
    assert_true (jv_ok (&v));
    assert_false (in.has_code || in.has_building || in.has_floor || in.has_area || in.has_use);

    v = s_unit ("{\"area_m2\":12.3}", true, &in);
    assert_true (jv_ok (&v));
    assert_true (in.has_area);
    assert_false (in.has_code);
    assert_string_equal (in.v.area, "12.30");

    v = s_unit ("{\"building\":null,\"floor\":\"B2\"}", true, &in);
    assert_true (jv_ok (&v));
    assert_true (in.has_building);
    assert_null (in.v.building);
    assert_string_equal (in.v.floor, "B2");

    /* code, area_m2 and use cannot be cleared; each problem once */
    v = s_unit ("{\"code\":null,\"area_m2\":null,\"use\":null}", true, &in);
    assert_int_equal (s_count (&v), 3);
    assert_string_equal (jvt_problem (&v, "code"), "must not be null");
    assert_string_equal (jvt_problem (&v, "area_m2"), "must not be null");
    assert_string_equal (jvt_problem (&v, "use"), "must not be null");
    jv_reset (&v);

    v = s_unit ("{\"area_m2\":12.345,\"use\":\"villa\"}", true, &in);
    assert_int_equal (s_count (&v), 2);
    jv_reset (&v);
}

static void
test_unit_patch_decision (void **state)
{
    (void) state;
    tn_unit_values_t cur = { "A-1", "A", "12", "85.50", "residential" }, next;
    tn_unit_input_t in;
    jv_t v = s_unit ("{}", true, &in);
    assert_false (tn_unit_patch (&cur, &in, &next));       /* nothing sent */

    v = s_unit ("{\"area_m2\":85.5,\"code\":\"A-1\"}", true, &in);
    assert_false (tn_unit_patch (&cur, &in, &next));       /* same values */

    v = s_unit ("{\"area_m2\":90}", true, &in);
    assert_true (tn_unit_patch (&cur, &in, &next));
    assert_string_equal (next.area, "90.00");
    assert_string_equal (next.code, "A-1");
    assert_string_equal (next.building, "A");

    v = s_unit ("{\"building\":null}", true, &in);
    assert_true (tn_unit_patch (&cur, &in, &next));
    assert_null (next.building);
    assert_string_equal (next.floor, "12");

    tn_unit_values_t bare = { "B-1", NULL, NULL, "1.00", "office" };
    v = s_unit ("{\"building\":\"\",\"floor\":null}", true, &in);
    assert_false (tn_unit_patch (&bare, &in, &next));      /* none stays none */
    v = s_unit ("{\"use\":\"retail\"}", true, &in);
    assert_true (tn_unit_patch (&bare, &in, &next));
    assert_string_equal (next.use, "retail");
    (void) v;
}

static void
test_property_input (void **state)
{
    (void) state;
    jv_t v = JV_INIT;
    tn_property_input_t in;
    cJSON *d = cJSON_Parse ("{\"code\":\"SH-01_a\",\"name\":\"浦江花园\"}");
    assert_true (tn_property_input (&v, d, &in));
    assert_string_equal (in.code, "SH-01_a");
    assert_string_equal (in.name, "浦江花园");
    assert_null (in.address);
    assert_string_equal (in.timezone, "Asia/Shanghai");
    cJSON_Delete (d);

    d = cJSON_Parse ("{\"code\":\"a b\",\"name\":\"\",\"address\":5,\"timezone\":\"Europe/Paris\"}");
    assert_false (tn_property_input (&v, d, &in));
    assert_int_equal (s_count (&v), 3);
    assert_non_null (jvt_problem (&v, "code"));
    assert_non_null (jvt_problem (&v, "name"));
    assert_non_null (jvt_problem (&v, "address"));
    jv_reset (&v);
    cJSON_Delete (d);

    d = cJSON_Parse ("{}");
    assert_false (tn_property_input (&v, d, &in));
    assert_int_equal (s_count (&v), 2);
    jv_reset (&v);
    cJSON_Delete (d);

    assert_true (tn_property_code_ok ("A"));
    assert_true (tn_property_code_ok ("abcdefghijklmnopqrstuvwxyz012345"));   /* 32 */
    assert_false (tn_property_code_ok ("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
    assert_false (tn_property_code_ok (""));
    assert_false (tn_property_code_ok (NULL));
    assert_false (tn_property_code_ok ("a'b"));
    assert_false (tn_property_code_ok ("项目"));
}

static void
test_uuid_array (void **state)
{
    (void) state;
    cJSON *ids = cJSON_Parse ("[\"0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69\",\"x}, 1{\",5,"
                              "\"1f7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69\"]");
    char *lit = tn_uuid_array (ids);
    assert_string_equal (lit, "{0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69,1f7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69}");
    free (lit);
    cJSON_Delete (ids);
    lit = tn_uuid_array (NULL);
    assert_string_equal (lit, "{}");
    free (lit);
}

/* The migration file of a unit test's source tree, read whole (caller frees). */
static char *
s_read_source (const char *rel)
{
    char path[1024];
    const char *slash = strrchr (__FILE__, '/');
    int dir = slash ? (int) (slash - __FILE__) : 0;
    const char *candidates[] = { "%.*s/../../%s", "%.0s%s" };
    for (int i = 0; i < 2; i++) {
        if (i == 0 && !slash)
            continue;
        snprintf (path, sizeof path, candidates[i], dir, __FILE__, rel);
        FILE *f = fopen (path, "rb");
        if (!f)
            continue;
        char *buf = calloc (1, 1 << 20);
        size_t n = fread (buf, 1, (1 << 20) - 1, f);
        buf[n] = 0;
        fclose (f);
        return buf;
    }
    return NULL;
}

static void
test_outbox_table_in_migration (void **state)
{
    (void) state;
    char *sql = s_read_source ("services/tenants/migrations/001_init.sql");
    if (!sql)
        fail_msg ("cannot read services/tenants/migrations/001_init.sql (run from the project root)");
    /* the migration must carry OUTBOX_TABLE_SQL exactly, so the reader's
     * statements and every producer's table stay the same */
    if (!strstr (sql, OUTBOX_TABLE_SQL))
        fail_msg ("001_init.sql does not contain OUTBOX_TABLE_SQL verbatim");
    free (sql);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_unit_valid, s_free_inputs),
        cmocka_unit_test_teardown (test_unit_area_problems, s_free_inputs),
        cmocka_unit_test_teardown (test_unit_all_problems_at_once, s_free_inputs),
        cmocka_unit_test_teardown (test_unit_patch_input, s_free_inputs),
        cmocka_unit_test_teardown (test_unit_patch_decision, s_free_inputs),
        cmocka_unit_test (test_property_input),
        cmocka_unit_test (test_uuid_array),
        cmocka_unit_test (test_outbox_table_in_migration),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
