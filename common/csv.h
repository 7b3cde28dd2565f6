/* csv: a reader of CSV text held in memory (RFC 4180), and what an upload
 * needs around it: finding a charset's converter, converting to UTF-8
 * (glibc iconv; Excel in China saves CSV as GBK/GB18030), and telling the
 * row of a bad byte. Pure: no I/O. Unit-tested in tests/unit/test_csv.c.
 *
 * Rows are numbered as a spreadsheet shows them: the first record (the
 * header) is row 1, a quoted field's line breaks stay in its row, and a
 * blank line is a row too. A record ends with CRLF, LF or a lone CR (old
 * Mac exports). A UTF-8 byte order mark at the very start is skipped.
 *
 *   csv_t *csv = csv_new (text, len, CSV_FIELD_MAX, CSV_FIELDS_MAX);
 *   int rc;
 *   while ((rc = csv_read (csv)) != CSV_END) {
 *       if (rc == CSV_BAD)  ... report csv_row (csv), csv_error (csv) ...
 *       else                ... csv_count (csv) fields, csv_field (csv, i) ...
 *   }
 *   csv_destroy (&csv);
 */
#ifndef PM_CSV_H
#define PM_CSV_H

#include <stdbool.h>
#include <stddef.h>

#define CSV_FIELD_MAX   4096         /* default longest field, in bytes after unquoting */
#define CSV_FIELDS_MAX  64           /* default most fields in a record */
#define CSV_ERROR_MAX   128

typedef enum {
    CSV_END = 0,                     /* no more records */
    CSV_RECORD,                      /* a record: its fields are readable */
    CSV_BAD                          /* an unusable record (csv_error says why);
                                      * it was skipped whole and reading goes on */
} csv_result_t;

typedef struct csv csv_t;

/* A reader over buf[0..len) (borrowed: it must outlive the reader; it may
 * hold NUL bytes). field_max, fields_max: 0 for the defaults above. NULL
 * when out of memory. */
csv_t *csv_new (const char *buf, size_t len, size_t field_max, size_t fields_max);
void csv_destroy (csv_t **self_p);

/* The next record. A blank line is a record of one empty field. */
csv_result_t csv_read (csv_t *self);

/* The record just read: its row, its fields (NUL-terminated, unquoted:
 * valid until the next csv_read), and whether every field is empty. */
size_t csv_row (const csv_t *self);
size_t csv_count (const csv_t *self);
const char *csv_field (const csv_t *self, size_t i);
size_t csv_field_len (const csv_t *self, size_t i);
bool csv_blank (const csv_t *self);
/* Why the last record was CSV_BAD ("" otherwise). */
const char *csv_error (const csv_t *self);

/* The row that holds byte offset at of buf (1 for the header; the row after
 * the last when at is past the end). For "line N" in error messages. */
size_t csv_row_at (const char *buf, size_t len, size_t at);

/* The iconv name for a charset label of a Content-Type: "UTF-8" for NULL,
 * "", utf-8 or utf8; "GB18030" for gb18030, gbk, gb2312, cp936 and x-gbk
 * (GB18030 is a superset of the others); NULL for anything else. Labels
 * are case-insensitive. */
const char *csv_charset (const char *label);

/* Converts in[0..len) from charset (an iconv name) to UTF-8. 0 with *out
 * (NUL-terminated, the caller frees) and *out_len; -1 with *bad_at the
 * offset of the first byte that is not text in that charset, or
 * (size_t) -1 when memory or the converter failed. */
int csv_to_utf8 (const char *charset, const char *in, size_t len, char **out, size_t *out_len,
                 size_t *bad_at);

/* True when s[0..len) is UTF-8 without NUL bytes; else false with *bad_at
 * the offset of the first byte that is not. Shortest forms only, no
 * surrogates, nothing above U+10FFFF. */
bool csv_utf8_ok (const char *s, size_t len, size_t *bad_at);

/* --- writing ---------------------------------------------------------------
 * A spreadsheet runs a cell that starts with = + - @ (or a tab or a carriage
 * return, which it strips first) as a formula: =HYPERLINK(...) in a payment's
 * external_ref would run on the accountant's machine. Every CSV the platform
 * writes goes through csv_write_cell. */

/* True when a spreadsheet would take s as a formula: its first byte is one of
 * = + - @ TAB CR. */
bool csv_cell_is_formula (const char *s);

/* The bytes csv_write_cell writes for s (no terminating NUL). */
size_t csv_cell_len (const char *s, bool number);

/* Writes s as one field into out (csv_cell_len (s, number) + 1 bytes, NUL
 * terminated): always quoted, quotes doubled, and led by ' when it starts
 * like a formula. number: the column holds numbers, and a value that is a
 * plain decimal number ("-100", "12.50") stays as it is, so a negative
 * amount is still a number to the spreadsheet; anything else in such a
 * column is escaped like text. Returns the bytes written. */
size_t csv_write_cell (const char *s, bool number, char *out);

#endif
