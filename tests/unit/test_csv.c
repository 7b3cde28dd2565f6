/* test_csv: the CSV reader, charset conversion and UTF-8 checks (common/csv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads every record of text into "row:f1|f2|...;" (bad records as
 * "row:!error;"), for compact expectations. */
static char *
s_dump (const char *text, size_t len, size_t field_max, size_t fields_max)
{
    csv_t *csv = csv_new (text, len, field_max, fields_max);
    assert_non_null (csv);
    size_t cap = 4096, n = 0;
    char *out = calloc (1, cap);
    assert_non_null (out);
    int rc;
    while ((rc = csv_read (csv)) != CSV_END) {
        n += (size_t) snprintf (out + n, cap - n, "%zu:", csv_row (csv));
        if (rc == CSV_BAD)
            n += (size_t) snprintf (out + n, cap - n, "!%s", csv_error (csv));
        else
            for (size_t i = 0; i < csv_count (csv); i++) {
                assert_int_equal (strlen (csv_field (csv, i)), csv_field_len (csv, i));
                n += (size_t) snprintf (out + n, cap - n, "%s%s", i ? "|" : "", csv_field (csv, i));
            }
        n += (size_t) snprintf (out + n, cap - n, ";");
        assert_true (n < cap);
    }
    /* END stays END */
    assert_int_equal (csv_read (csv), CSV_END);
    csv_destroy (&csv);
    assert_null (csv);
    return out;
}

static void
s_expect (const char *text, const char *want)
{
    char *got = s_dump (text, strlen (text), 0, 0);
    if (strcmp (got, want) != 0)
        fail_msg ("input %s\n  want %s\n  got  %s", text, want, got);
    free (got);
}

static void
test_plain (void **state)
{
    (void) state;
    s_expect ("code,area_m2,use\nA-1,85.5,office\n", "1:code|area_m2|use;2:A-1|85.5|office;");
    s_expect ("a,b", "1:a|b;");                                     /* no final line break */
    s_expect ("", "");                                              /* nothing at all */
    s_expect ("\n", "1:;");                                         /* one blank row */
    s_expect ("a\n\nb\n", "1:a;2:;3:b;");                           /* a blank line is a row */
    s_expect ("a,,c,\n", "1:a||c|;");                               /* empty fields, trailing comma */
    s_expect ("物业,楼栋\n华强,A座\n", "1:物业|楼栋;2:华强|A座;");      /* UTF-8 passes through */
}

static void
test_quotes (void **state)
{
    (void) state;
    s_expect ("\"a\",\"b,c\"\n", "1:a|b,c;");                       /* embedded comma */
    s_expect ("\"say \"\"hi\"\"\",x\n", "1:say \"hi\"|x;");          /* doubled quotes */
    s_expect ("\"\"\n", "1:;");                                      /* an empty quoted field */
    s_expect ("\"line1\nline2\",b\nc,d\n", "1:line1\nline2|b;2:c|d;"); /* newline stays in its row */
    s_expect ("\"a\r\nb\"\r\nc\r\n", "1:a\r\nb;2:c;");
    s_expect ("ab\"c,d\n", "1:ab\"c|d;");                            /* a quote inside a plain field */
    s_expect ("\"\"\"\",x\n", "1:\"|x;");
}

static void
test_line_ends_and_bom (void **state)
{
    (void) state;
    s_expect ("a,b\r\nc,d\r\n", "1:a|b;2:c|d;");                     /* CRLF */
    s_expect ("a,b\rc,d\r", "1:a|b;2:c|d;");                         /* lone CR (old Mac) */
    s_expect ("a\r\n\r\nb", "1:a;2:;3:b;");
    s_expect ("\xEF\xBB\xBF" "code,use\nA,office\n", "1:code|use;2:A|office;");
    s_expect ("\xEF\xBB\xBF", "");                                   /* a BOM alone is empty */
    /* a BOM elsewhere is data */
    s_expect ("a\n\xEF\xBB\xBF" "b\n", "1:a;2:\xEF\xBB\xBF" "b;");
}

static void
test_bad_records (void **state)
{
    (void) state;
    /* unterminated quote: the rest of the text is that field */
    s_expect ("a,b\n\"open,c\nd,e\n",
              "1:a|b;2:!a quoted field is never closed (its opening quote is on this line);");
    /* text after a closing quote: that record only */
    s_expect ("a\n\"x\"y,z\nok\n", "1:a;2:!text after the closing quote of a field;3:ok;");
    /* a field over the limit, also when quoted over several lines */
    const char *long_fields = "abcdef,x\nab,c\n\"abc\ndef\",q\nz\n";
    char *got = s_dump (long_fields, strlen (long_fields), 4, 0);
    assert_string_equal (got, "1:!a field is longer than 4 bytes;2:ab|c;3:!a field is longer than 4 bytes;4:z;");
    free (got);
    /* too many fields */
    got = s_dump ("a,b,c\na,b\n", 10, 0, 2);
    assert_string_equal (got, "1:!more than 2 fields;2:a|b;");
    free (got);
    /* an unterminated quote that is also long: the quote is the reason */
    got = s_dump ("a\n\"0123456789", 13, 4, 0);
    assert_string_equal (got, "1:a;2:!a quoted field is never closed (its opening quote is on this line);");
    free (got);
}

static void
test_ragged_and_blank (void **state)
{
    (void) state;
    const char *text = "a,b,c\n1,2\n1,2,3,4\n,,\n";
    csv_t *csv = csv_new (text, strlen (text), 0, 0);
    size_t counts[] = { 3, 2, 4, 3 };
    bool blank[] = { false, false, false, true };
    for (int i = 0; i < 4; i++) {
        assert_int_equal (csv_read (csv), CSV_RECORD);
        assert_int_equal (csv_row (csv), i + 1);
        assert_int_equal (csv_count (csv), counts[i]);
        assert_int_equal (csv_blank (csv), blank[i]);
    }
    assert_int_equal (csv_read (csv), CSV_END);
    assert_null (csv_field (csv, 0));
    csv_destroy (&csv);
    csv_destroy (&csv);              /* safe twice */
}

static void
test_nul_bytes_are_data (void **state)
{
    (void) state;
    const char text[] = "a\0b,c\n";
    csv_t *csv = csv_new (text, sizeof text - 1, 0, 0);
    assert_int_equal (csv_read (csv), CSV_RECORD);
    assert_int_equal (csv_count (csv), 2);
    assert_int_equal (csv_field_len (csv, 0), 3);
    assert_memory_equal (csv_field (csv, 0), "a\0b", 3);
    csv_destroy (&csv);
}

static void
test_row_at (void **state)
{
    (void) state;
    const char *t = "h1,h2\n\"x\ny\",2\n\nlast";
    size_t len = strlen (t);
    assert_int_equal (csv_row_at (t, len, 0), 1);
    assert_int_equal (csv_row_at (t, len, 5), 1);                    /* the line break of row 1 */
    assert_int_equal (csv_row_at (t, len, 6), 2);
    assert_int_equal (csv_row_at (t, len, 9), 2);                    /* inside the quoted newline */
    assert_int_equal (csv_row_at (t, len, 13), 2);
    assert_int_equal (csv_row_at (t, len, 14), 3);                   /* the blank row */
    assert_int_equal (csv_row_at (t, len, 15), 4);
    assert_int_equal (csv_row_at (t, len, len), 5);                  /* past the end */
    const char *b = "\xEF\xBB\xBF" "a\nb";
    assert_int_equal (csv_row_at (b, strlen (b), 0), 1);
    assert_int_equal (csv_row_at (b, strlen (b), 5), 2);
}

static void
test_charset (void **state)
{
    (void) state;
    assert_string_equal (csv_charset (NULL), "UTF-8");
    assert_string_equal (csv_charset ("UTF-8"), "UTF-8");
    assert_string_equal (csv_charset ("utf8"), "UTF-8");
    assert_string_equal (csv_charset ("GBK"), "GB18030");
    assert_string_equal (csv_charset ("gb2312"), "GB18030");
    assert_string_equal (csv_charset ("GB18030"), "GB18030");
    assert_null (csv_charset ("latin1"));
    assert_null (csv_charset ("utf-16"));
    assert_null (csv_charset ("gbk2"));

    /* 物业 in GB18030, and a 4-byte GB18030 sequence (U+1F600) */
    const char gb[] = "code,name\n\xCE\xEF\xD2\xB5,x\x94\x39\xFC\x36\n";
    char *out;
    size_t n, bad;
    assert_int_equal (csv_to_utf8 ("GB18030", gb, sizeof gb - 1, &out, &n, &bad), 0);
    assert_string_equal (out, "code,name\n\xE7\x89\xA9\xE4\xB8\x9A,x\xF0\x9F\x98\x80\n");
    assert_int_equal (n, strlen (out));
    free (out);
    /* not GB18030: 0xFF; and a lead byte cut off at the end */
    const char bad1[] = "ab\n\xCE\xEF\xFF";
    assert_int_equal (csv_to_utf8 ("GB18030", bad1, sizeof bad1 - 1, &out, &n, &bad), -1);
    assert_null (out);
    assert_int_equal (bad, 5);
    const char bad2[] = "ab\xCE";
    assert_int_equal (csv_to_utf8 ("GB18030", bad2, sizeof bad2 - 1, &out, &n, &bad), -1);
    assert_int_equal (bad, 2);
    /* a converter that does not exist */
    assert_int_equal (csv_to_utf8 ("NO-SUCH-CHARSET", "a", 1, &out, &n, &bad), -1);
    assert_int_equal (bad, (size_t) -1);
    /* empty input */
    assert_int_equal (csv_to_utf8 ("GB18030", "", 0, &out, &n, &bad), 0);
    assert_int_equal (n, 0);
    assert_string_equal (out, "");
    free (out);
}

static void
test_utf8 (void **state)
{
    (void) state;
    size_t at = 99;
    assert_true (csv_utf8_ok ("", 0, &at));
    assert_true (csv_utf8_ok ("abc \xE7\x89\xA9\xF0\x9F\x98\x80", 11, &at));
    struct { const char *s; size_t len, at; } bad[] = {
        { "ab\xFF", 3, 2 },
        { "a\0b", 3, 1 },                        /* NUL */
        { "\xC0\xAF", 2, 0 },                    /* overlong */
        { "\xE0\x80\xAF", 3, 0 },                /* overlong 3-byte */
        { "\xED\xA0\x80", 3, 0 },                /* surrogate */
        { "\xF4\x90\x80\x80", 4, 0 },            /* above U+10FFFF */
        { "xy\xE7\x89", 4, 2 },                  /* cut off */
        { "ok\n\xCE\xEF", 5, 3 },                /* GBK bytes */
        { "\x80", 1, 0 },                        /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at = 99;
        if (csv_utf8_ok (bad[i].s, bad[i].len, &at))
            fail_msg ("case %zu accepted", i);
        assert_int_equal (at, bad[i].at);
    }
}

static void
test_big (void **state)
{
    (void) state;
    /* 20,000 rows: every one read, rows counted right */
    size_t cap = 20000 * 40 + 64, n = 0;
    char *t = malloc (cap);
    n += (size_t) snprintf (t + n, cap - n, "code,building,floor,area_m2,use\r\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t) snprintf (t + n, cap - n, "U-%05d,\"B, %d\",%d,%d.25,office\r\n", i, i % 7, i % 30, i);
    csv_t *csv = csv_new (t, n, 0, 0);
    assert_int_equal (csv_read (csv), CSV_RECORD);
    size_t rows = 0;
    char last[16] = "";
    while (csv_read (csv) == CSV_RECORD) {
        rows++;
        assert_int_equal (csv_count (csv), 5);
        snprintf (last, sizeof last, "%s", csv_field (csv, 0));
    }
    assert_int_equal (rows, 20000);
    assert_int_equal (csv_row (csv), 20001);
    assert_string_equal (last, "U-19999");
    csv_destroy (&csv);
    free (t);
}

/* The writer: formulas are defused, numbers stay numbers, and what the
 * reader reads back is the text (with its leading ' when it was escaped). */
static char *
s_cell (const char *s, bool number)
{
    size_t n = csv_cell_len (s, number);
    char *out = malloc (n + 1);
    assert_non_null (out);
    assert_int_equal (csv_write_cell (s, number, out), n);
    assert_int_equal (strlen (out), n);
    return out;
}

static void
test_write_cells (void **state)
{
    (void) state;
    static const struct {
        const char *in;
        bool number;
        const char *out;
    } cases[] = {
        { "plain", false, "\"plain\"" },
        { "", false, "\"\"" },
        { "say \"hi\"", false, "\"say \"\"hi\"\"\"" },
        { "=HYPERLINK(\"http://x\",\"y\")", false, "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
        { "+1+1", false, "\"'+1+1\"" },
        { "-2+3", false, "\"'-2+3\"" },
        { "@SUM(A1)", false, "\"'@SUM(A1)\"" },
        { "\t=1", false, "\"'\t=1\"" },
        { "\r=1", false, "\"'\r=1\"" },
        { "a=1", false, "\"a=1\"" },
        /* a text column: every cell that starts like a formula, numbers too */
        { "-100", false, "\"'-100\"" },
        /* a number column: a plain number stays a number */
        { "-100", true, "\"-100\"" },
        { "12.50", true, "\"12.50\"" },
        { "0", true, "\"0\"" },
        /* ... and anything else in it is still text to defuse */
        { "-1+2", true, "\"'-1+2\"" },
        { "-", true, "\"'-\"" },
        { "-1.", true, "\"'-1.\"" },
        { "+100", true, "\"'+100\"" },
        { "=1", true, "\"'=1\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = s_cell (cases[i].in, cases[i].number);
        assert_string_equal (out, cases[i].out);
        free (out);
    }
    assert_true (csv_cell_is_formula ("=x") && csv_cell_is_formula ("\tx") && csv_cell_is_formula ("@"));
    assert_false (csv_cell_is_formula ("") || csv_cell_is_formula (NULL) || csv_cell_is_formula ("x="));
}

static void
test_write_round_trip (void **state)
{
    (void) state;
    const char *cells[] = { "=HYPERLINK(\"http://evil\",\"pay\")", "a,b", "line\nbreak", "-5", "ok" };
    char line[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < 5; i++) {
        char *c = s_cell (cells[i], false);
        len += (size_t) snprintf (line + len, sizeof line - len, "%s%s", i ? "," : "", c);
        free (c);
    }
    csv_t *csv = csv_new (line, len, 0, 0);
    assert_int_equal (csv_read (csv), CSV_RECORD);
    assert_int_equal (csv_count (csv), 5);
    assert_string_equal (csv_field (csv, 0), "'=HYPERLINK(\"http://evil\",\"pay\")");
    assert_string_equal (csv_field (csv, 1), "a,b");
    assert_string_equal (csv_field (csv, 2), "line\nbreak");
    assert_string_equal (csv_field (csv, 3), "'-5");
    assert_string_equal (csv_field (csv, 4), "ok");
    assert_int_equal (csv_read (csv), CSV_END);
    csv_destroy (&csv);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_plain),
        cmocka_unit_test (test_quotes),
        cmocka_unit_test (test_line_ends_and_bom),
        cmocka_unit_test (test_bad_records),
        cmocka_unit_test (test_ragged_and_blank),
        cmocka_unit_test (test_nul_bytes_are_data),
        cmocka_unit_test (test_row_at),
        cmocka_unit_test (test_charset),
        cmocka_unit_test (test_utf8),
        cmocka_unit_test (test_big),
        cmocka_unit_test (test_write_cells),
        cmocka_unit_test (test_write_round_trip),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
