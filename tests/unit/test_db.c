/* test_db: the pure parts of db, outbox and consumer (no database needed):
 * SQLSTATE -> status mapping, the UTC time format, outbox cursors, consumer
 * cursor order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "consumer.h"
#include "db.h"
#include "outbox.h"

/* The contract's time (API.md: RFC 3339, UTC, "2026-11-27T03:14:00Z") as
 * every service's SQL prints it, and the cursors' microsecond variant. */
static void
test_utc_ts (void **state)
{
    (void) state;
    assert_string_equal ("SELECT " DB_UTC_TS ("t.at"),
                         "SELECT to_char (t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    assert_string_equal (DB_UTC_TS_US ("t.at"),
                         "to_char (t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

static void
test_sqlstate_status (void **state)
{
    (void) state;
    static const struct {
        const char *sqlstate;
        int status;
        const char *code;
    } cases[] = {
        { "23505", 409, "conflict" },             /* unique_violation */
        { "23P01", 409, "conflict" },             /* exclusion_violation */
        { "23503", 422, "validation_failed" },    /* foreign_key_violation */
        { "23514", 422, "validation_failed" },    /* check_violation */
        { "22001", 422, "validation_failed" },    /* string_data_right_truncation */
        { "22003", 422, "validation_failed" },    /* numeric_value_out_of_range */
        { "22P02", 422, "validation_failed" },    /* invalid_text_representation */
        { "22007", 422, "validation_failed" },    /* invalid_datetime_format */
        { "57014", 504, "timeout" },              /* query_canceled (statement_timeout) */
        { "08000", 503, "service_unavailable" },  /* connection_exception */
        { "08003", 503, "service_unavailable" },
        { "08006", 503, "service_unavailable" },  /* connection_failure */
        { "57P01", 503, "service_unavailable" },  /* admin_shutdown */
        { "57P03", 503, "service_unavailable" },  /* cannot_connect_now */
        { "40001", 503, "service_unavailable" },  /* serialization_failure, retries spent */
        { "40P01", 503, "service_unavailable" },  /* deadlock_detected, retries spent */
        { "23502", 500, "internal" },             /* not_null_violation: our bug */
        { "42P01", 500, "internal" },             /* undefined_table */
        { "42601", 500, "internal" },             /* syntax_error */
        { "XX000", 500, "internal" },
        { "2350", 500, "internal" },              /* malformed */
        { "", 500, "internal" },
        { NULL, 500, "internal" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *code = NULL;
        int status = db_sqlstate_status (cases[i].sqlstate, &code);
        assert_int_equal (status, cases[i].status);
        assert_string_equal (code, cases[i].code);
    }
    assert_int_equal (db_sqlstate_status ("23505", NULL), 409);   /* code may be NULL */
}

static void
test_sqlstate_of_results (void **state)
{
    (void) state;
    assert_string_equal (db_sqlstate (NULL), "");
    PGresult *res = PQmakeEmptyPGresult (NULL, PGRES_FATAL_ERROR);
    assert_string_equal (db_sqlstate (res), "");
    assert_false (db_ok (res));
    PQclear (res);
    res = PQmakeEmptyPGresult (NULL, PGRES_COMMAND_OK);
    assert_true (db_ok (res));
    PQclear (res);
    assert_false (db_ok (NULL));
}

static void
test_reply_error_without_sqlstate (void **state)
{
    (void) state;
    /* libpq's own errors (connection gone) have no SQLSTATE: 503 */
    PGresult *res = PQmakeEmptyPGresult (NULL, PGRES_FATAL_ERROR);
    env_reply_t rep = { 0 };
    db_reply_error (res, &rep, "t-1");
    assert_int_equal (rep.status, 503);
    assert_string_equal (rep.code, "service_unavailable");
    env_reply_reset (&rep);
    PQclear (res);
}

static void
test_cursor_parse (void **state)
{
    (void) state;
    char xid[24], seq[24];
    assert_true (outbox_cursor_parse (NULL, xid, seq));
    assert_string_equal (xid, "0");
    assert_string_equal (seq, "0");
    assert_true (outbox_cursor_parse ("", xid, seq));
    assert_string_equal (xid, "0");
    assert_true (outbox_cursor_parse ("745:12", xid, seq));
    assert_string_equal (xid, "745");
    assert_string_equal (seq, "12");
    assert_true (outbox_cursor_parse ("0007:0", xid, seq));     /* canonical form out */
    assert_string_equal (xid, "7");
    assert_string_equal (seq, "0");
    /* xid8 is unsigned 64-bit, seq a bigint */
    assert_true (outbox_cursor_parse ("18446744073709551615:9223372036854775807", xid, seq));
    assert_string_equal (xid, "18446744073709551615");
    assert_string_equal (seq, "9223372036854775807");

    static const char *const bad[] = {
        "745", ":", "745:", ":12", "a:1", "1:b", "-1:2", "1:-2", "+1:2", " 1:2", "1:2 ",
        "1:2:3", "1.5:2", "18446744073709551616:1", "1:9223372036854775808",
        "123456789012345678901:1", "1;DROP TABLE outbox:1", "1\n:2", NULL
    };
    for (int i = 0; bad[i]; i++) {
        strcpy (xid, "untouched");
        assert_false (outbox_cursor_parse (bad[i], xid, seq));
        assert_string_equal (xid, "untouched");
    }
}

static void
test_consumer_cursor_cmp (void **state)
{
    (void) state;
    assert_int_equal (consumer_cursor_cmp ("1:1", "1:1"), 0);
    assert_int_equal (consumer_cursor_cmp ("1:2", "1:10"), -1);    /* numeric, not text */
    assert_int_equal (consumer_cursor_cmp ("9:100", "10:1"), -1);  /* xid first */
    assert_int_equal (consumer_cursor_cmp ("10:1", "9:100"), 1);
    assert_int_equal (consumer_cursor_cmp ("0:0", "1:1"), -1);
    assert_int_equal (consumer_cursor_cmp ("garbage", "0:0"), 0); /* malformed = start */
    assert_int_equal (consumer_cursor_cmp (NULL, "5:5"), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_utc_ts),
        cmocka_unit_test (test_sqlstate_status),
        cmocka_unit_test (test_sqlstate_of_results),
        cmocka_unit_test (test_reply_error_without_sqlstate),
        cmocka_unit_test (test_cursor_parse),
        cmocka_unit_test (test_consumer_cursor_cmp),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
