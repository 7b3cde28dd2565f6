/* csv: RFC 4180 reader, charset conversion and UTF-8 checks; see csv.h.
 *
 * The reader walks the text once. A record's fields are copied, unquoted,
 * into one buffer, each NUL-terminated, so a caller gets plain C strings.
 * A problem in a record (a field over the limit, too many fields, text
 * after a closing quote) marks the record bad but the walk goes on to its
 * end, so the next record starts where the user's next row starts. */
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct csv {
    const char *buf;
    size_t len, pos;
    size_t row;                      /* rows read so far */
    size_t field_max, fields_max;
    char *data;                      /* the record's fields, NUL-terminated one after another */
    size_t data_len, data_cap;
    size_t *offs;                    /* where each field starts in data */
    size_t *lens;
    size_t nfields, offs_cap;
    bool bad;                        /* the record being read is unusable */
    bool storing;                    /* false once bad: the rest is only walked */
    char error[CSV_ERROR_MAX];
};

csv_t *
csv_new (const char *buf, size_t len, size_t field_max, size_t fields_max)
{
    csv_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->buf = buf ? buf : "";
    self->len = buf ? len : 0;
    self->field_max = field_max ? field_max : CSV_FIELD_MAX;
    self->fields_max = fields_max ? fields_max : CSV_FIELDS_MAX;
    if (self->len >= 3 && memcmp (self->buf, "\xEF\xBB\xBF", 3) == 0)
        self->pos = 3;
    return self;
}

void
csv_destroy (csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    csv_t *self = *self_p;
    free (self->data);
    free (self->offs);
    free (self->lens);
    free (self);
    *self_p = NULL;
}

static void
s_bad (csv_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Marks the record unusable; the first reason is the one reported. */
static void
s_bad (csv_t *self, const char *fmt, ...)
{
    if (!self->bad) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (self->error, sizeof self->error, fmt, ap);
        va_end (ap);
    }
    self->bad = true;
    self->storing = false;
}

static int
s_reserve (csv_t *self, size_t more)
{
    if (self->data_len + more <= self->data_cap)
        return 0;
    size_t cap = self->data_cap ? self->data_cap : 256;
    while (cap < self->data_len + more)
        cap *= 2;
    char *p = realloc (self->data, cap);
    if (!p)
        return -1;
    self->data = p;
    self->data_cap = cap;
    return 0;
}

/* Appends n bytes to the current field (of length *flen so far). */
static void
s_put (csv_t *self, const char *at, size_t n, size_t *flen)
{
    *flen += n;
    if (!self->storing)
        return;
    if (*flen > self->field_max) {
        s_bad (self, "a field is longer than %zu bytes", self->field_max);
        return;
    }
    if (s_reserve (self, n + 1)) {
        s_bad (self, "out of memory");
        return;
    }
    memcpy (self->data + self->data_len, at, n);
    self->data_len += n;
}

static void
s_field_begin (csv_t *self)
{
    if (!self->storing)
        return;
    if (self->nfields >= self->fields_max) {
        s_bad (self, "more than %zu fields", self->fields_max);
        return;
    }
    if (self->nfields == self->offs_cap) {
        size_t cap = self->offs_cap ? self->offs_cap * 2 : 16;
        size_t *o = realloc (self->offs, cap * sizeof *o);
        if (o)
            self->offs = o;
        size_t *l = o ? realloc (self->lens, cap * sizeof *l) : NULL;
        if (l)
            self->lens = l;
        if (!o || !l) {
            s_bad (self, "out of memory");
            return;
        }
        self->offs_cap = cap;
    }
    self->offs[self->nfields] = self->data_len;
}

static void
s_field_end (csv_t *self, size_t flen)
{
    if (!self->storing)
        return;
    if (s_reserve (self, 1)) {
        s_bad (self, "out of memory");
        return;
    }
    self->data[self->data_len++] = 0;
    self->lens[self->nfields++] = flen;
}

/* Length of the run of ordinary bytes (not a quote, comma or line break) at p. */
static size_t
s_plain_run (const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != '"' && p[i] != ',' && p[i] != '\n' && p[i] != '\r')
        i++;
    return i;
}

csv_result_t
csv_read (csv_t *self)
{
    self->data_len = 0;
    self->nfields = 0;
    self->bad = false;
    self->storing = true;
    self->error[0] = 0;
    if (self->pos >= self->len)
        return CSV_END;
    self->row++;
    const char *b = self->buf;
    size_t len = self->len;
    for (;;) {                       /* one field per turn */
        size_t flen = 0;
        s_field_begin (self);
        if (self->pos < len && b[self->pos] == '"') {
            self->pos++;
            for (;;) {
                if (self->pos >= len) {
                    /* the whole rest of the text was this field: that, not
                     * its length, is what the user must fix */
                    snprintf (self->error, sizeof self->error,
                              "a quoted field is never closed (its opening quote is on this line)");
                    self->bad = true;
                    return CSV_BAD;
                }
                const char *q = memchr (b + self->pos, '"', len - self->pos);
                size_t run = q ? (size_t) (q - (b + self->pos)) : len - self->pos;
                s_put (self, b + self->pos, run, &flen);
                self->pos += run;
                if (!q)
                    continue;        /* at the end: reported above */
                if (self->pos + 1 < len && b[self->pos + 1] == '"') {
                    s_put (self, "\"", 1, &flen);
                    self->pos += 2;
                    continue;
                }
                self->pos++;         /* the closing quote */
                break;
            }
            /* only a comma or the end of the record may follow */
            if (self->pos < len && b[self->pos] != ',' && b[self->pos] != '\n' && b[self->pos] != '\r') {
                s_bad (self, "text after the closing quote of a field");
                while (self->pos < len && b[self->pos] != ',' && b[self->pos] != '\n'
                       && b[self->pos] != '\r')
                    self->pos++;
            }
        }
        else {
            /* unquoted: a quote inside is taken as itself, as spreadsheets do */
            for (;;) {
                size_t run = s_plain_run (b + self->pos, len - self->pos);
                s_put (self, b + self->pos, run, &flen);
                self->pos += run;
                if (self->pos < len && b[self->pos] == '"') {
                    s_put (self, "\"", 1, &flen);
                    self->pos++;
                    continue;
                }
                break;
            }
        }
        s_field_end (self, flen);
        if (self->pos >= len)
            break;
        char c = b[self->pos++];
        if (c == ',')
            continue;
        if (c == '\r' && self->pos < len && b[self->pos] == '\n')
            self->pos++;
        break;                       /* a line break ends the record */
    }
    return self->bad ? CSV_BAD : CSV_RECORD;
}

size_t
csv_row (const csv_t *self)
{
    return self->row;
}

size_t
csv_count (const csv_t *self)
{
    return self->bad ? 0 : self->nfields;
}

const char *
csv_field (const csv_t *self, size_t i)
{
    return !self->bad && i < self->nfields ? self->data + self->offs[i] : NULL;
}

size_t
csv_field_len (const csv_t *self, size_t i)
{
    return !self->bad && i < self->nfields ? self->lens[i] : 0;
}

bool
csv_blank (const csv_t *self)
{
    if (self->bad)
        return false;
    for (size_t i = 0; i < self->nfields; i++)
        if (self->lens[i])
            return false;
    return true;
}

const char *
csv_error (const csv_t *self)
{
    return self->error;
}

size_t
csv_row_at (const char *buf, size_t len, size_t at)
{
    /* the reader's own walk, storing nothing (every field is "too long") */
    csv_t *r = csv_new (buf, len, 1, 1);
    if (!r)
        return 0;
    size_t row = 1;
    for (;;) {
        if (csv_read (r) == CSV_END) {
            row = r->row + 1;
            break;
        }
        if (at < r->pos) {
            row = r->row;
            break;
        }
    }
    csv_destroy (&r);
    return row;
}

const char *
csv_charset (const char *label)
{
    if (!label || !*label || strcasecmp (label, "utf-8") == 0 || strcasecmp (label, "utf8") == 0)
        return "UTF-8";
    static const char *const gb[] = { "gb18030", "gbk", "gb2312", "cp936", "x-gbk", NULL };
    for (int i = 0; gb[i]; i++)
        if (strcasecmp (label, gb[i]) == 0)
            return "GB18030";
    return NULL;
}

int
csv_to_utf8 (const char *charset, const char *in, size_t len, char **out, size_t *out_len,
             size_t *bad_at)
{
    *out = NULL;
    *out_len = 0;
    *bad_at = (size_t) -1;
    iconv_t cd = iconv_open ("UTF-8", charset);
    if (cd == (iconv_t) -1)
        return -1;
    /* GB18030 -> UTF-8 grows at most 3/2 (2 bytes -> 3); grown below if not */
    size_t cap = len + len / 2 + 16;
    char *buf = malloc (cap);
    int rc = -1;
    if (!buf)
        goto out;
    char *src = (char *) in;
    size_t left = len;
    size_t done = 0;
    while (left > 0) {
        char *dst = buf + done;
        size_t room = cap - done - 1;
        size_t n = iconv (cd, &src, &left, &dst, &room);
        done = (size_t) (dst - buf);
        if (n != (size_t) -1)
            break;
        if (errno == E2BIG) {
            char *p = realloc (buf, cap * 2);
            if (!p)
                goto out;
            buf = p;
            cap *= 2;
            continue;
        }
        /* EILSEQ (not text in this charset) or EINVAL (cut off at the end) */
        *bad_at = (size_t) (src - in);
        goto out;
    }
    buf[done] = 0;
    *out = buf;
    *out_len = done;
    buf = NULL;
    rc = 0;
out:
    free (buf);
    iconv_close (cd);
    return rc;
}

bool
csv_utf8_ok (const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            n = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4, cp = c & 0x07, min = 0x10000;
        else
            goto bad;                /* NUL, a continuation byte, C0/C1, F5..FF */
        if (i + n > len)
            goto bad;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += n;
    }
    return true;
bad:
    if (bad_at)
        *bad_at = i;
    return false;
}

/* --- writing ---------------------------------------------------------------- */

bool
csv_cell_is_formula (const char *s)
{
    return s && *s && strchr ("=+-@\t\r", *s) != NULL;
}

static bool
s_digit (char c)
{
    return c >= '0' && c <= '9';
}

/* A plain decimal number: an optional minus, digits, an optional fraction. */
static bool
s_plain_number (const char *s)
{
    if (*s == '-')
        s++;
    if (!s_digit (*s))
        return false;
    while (s_digit (*s))
        s++;
    if (*s == '.') {
        s++;
        if (!s_digit (*s))
            return false;
        while (s_digit (*s))
            s++;
    }
    return *s == 0;
}

static bool
s_needs_quote_mark (const char *s, bool number)
{
    return csv_cell_is_formula (s) && !(number && s_plain_number (s));
}

size_t
csv_cell_len (const char *s, bool number)
{
    size_t n = 2 + (s_needs_quote_mark (s, number) ? 1 : 0);
    for (; *s; s++)
        n += *s == '"' ? 2 : 1;
    return n;
}

size_t
csv_write_cell (const char *s, bool number, char *out)
{
    size_t n = 0;
    out[n++] = '"';
    if (s_needs_quote_mark (s, number))
        out[n++] = '\'';
    for (; *s; s++) {
        if (*s == '"')
            out[n++] = '"';
        out[n++] = *s;
    }
    out[n++] = '"';
    out[n] = 0;
    return n;
}
