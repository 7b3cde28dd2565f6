/* filetype: attachments' media types, magic bytes and names; see filetype.h. */
#include "filetype.h"

#include "jv.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const filetype_allowed[] = { "image/jpeg", "image/png", "image/webp", "application/pdf",
                                         NULL };

static const char *const s_extensions[] = { "jpg", "png", "webp", "pdf" };

const char *
filetype_allowed_type (const char *content_type)
{
    if (!content_type)
        return NULL;
    size_t n = strcspn (content_type, ";");
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
        n--;
    for (int i = 0; filetype_allowed[i]; i++)
        if (strlen (filetype_allowed[i]) == n && strncasecmp (content_type, filetype_allowed[i], n) == 0)
            return filetype_allowed[i];
    return NULL;
}

const char *
filetype_sniff (const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    if (!p)
        return NULL;
    if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return "image/jpeg";
    if (len >= 8 && memcmp (p, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    /* RIFF, a 4-byte little-endian size, then the form type */
    if (len >= 12 && memcmp (p, "RIFF", 4) == 0 && memcmp (p + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (len >= 5 && memcmp (p, "%PDF-", 5) == 0)
        return "application/pdf";
    return NULL;
}

bool
filetype_matches (const char *type, const void *bytes, size_t len)
{
    const char *sniffed = filetype_sniff (bytes, len);
    return type && sniffed && strcmp (type, sniffed) == 0;
}

const char *
filetype_extension (const char *type)
{
    for (int i = 0; type && filetype_allowed[i]; i++)
        if (strcmp (type, filetype_allowed[i]) == 0)
            return s_extensions[i];
    return "bin";
}

/* The length of the UTF-8 character starting with byte c (1 for a byte
 * that starts none: the input was checked with jv_is_utf8 first). */
static size_t
s_char_len (unsigned char c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* A character to drop from a name: C0 controls, DEL, C1 (U+0080..U+009F,
 * C2 80..C2 9F in UTF-8), and '"', which would end a quoted header value. */
static bool
s_dropped (const unsigned char *p, size_t n)
{
    if (n == 1)
        return *p < 0x20 || *p == 0x7F || *p == '"';
    return n == 2 && p[0] == 0xC2 && p[1] < 0xA0;
}

size_t
filetype_name_clean (const char *name, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    out[0] = 0;
    if (!name || !jv_is_utf8 (name, strlen (name)))
        return 0;
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t max = cap - 1 < FILETYPE_NAME_MAX ? cap - 1 : FILETYPE_NAME_MAX;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *) base; *p;) {
        size_t n = s_char_len (*p);
        if (!s_dropped (p, n)) {
            if (o + n > max)
                break;
            memcpy (out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = 0;
    /* blanks and dots at the ends: no hidden files, no "name.pdf. " */
    size_t start = strspn (out, " ."), end = o;
    while (end > start && (out[end - 1] == ' ' || out[end - 1] == '.'))
        end--;
    memmove (out, out + start, end - start);
    out[end - start] = 0;
    return end - start;
}

/* RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~" */
static bool
s_attr_char (unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr ("!#$&+-.^_`|~", c));
}

/* The header for name[0..stem) + name[ext..] into out; -1 when it does not fit. */
static int
s_disposition (const char *name, size_t stem, const char *ext, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    char ascii[FILETYPE_NAME_MAX + 1], pct[3 * FILETYPE_NAME_MAX + 1];
    size_t a = 0, q = 0;
    for (int part = 0; part < 2; part++) {
        const unsigned char *p = (const unsigned char *) (part ? ext : name);
        const unsigned char *end = part ? p + strlen (ext) : p + stem;
        while (p < end) {
            size_t n = s_char_len (*p);
            ascii[a++] = n > 1 || *p == '\\' || *p == '%' ? '_' : (char) *p;
            for (size_t i = 0; i < n; i++, p++) {
                if (s_attr_char (*p))
                    pct[q++] = (char) *p;
                else {
                    pct[q++] = '%';
                    pct[q++] = hex[*p >> 4];
                    pct[q++] = hex[*p & 15];
                }
            }
        }
    }
    ascii[a] = pct[q] = 0;
    int n = snprintf (out, cap, "Content-Disposition: attachment; filename=\"%s\"; filename*=UTF-8''%s\r\n",
                      ascii, pct);
    return n > 0 && (size_t) n < cap ? n : -1;
}

int
filetype_disposition (const char *name, char *out, size_t cap)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > FILETYPE_NAME_MAX || !jv_is_utf8 (name, len))
        return -1;
    const char *dot = strrchr (name, '.');
    const char *ext = dot && dot != name && strlen (dot) <= 16 ? dot : name + len;
    size_t stem = (size_t) (ext - name);
    for (;;) {
        int n = s_disposition (name, stem, ext, out, cap);
        if (n >= 0 || stem == 0)
            return n;
        /* one character fewer before the extension */
        do
            stem--;
        while (stem > 0 && ((unsigned char) name[stem] & 0xC0) == 0x80);
        if (stem == 0)
            return -1;
    }
}

char *
filetype_bytea_hex (const void *bytes, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *out = malloc (2 * len + 3);
    if (!out)
        return NULL;
    const unsigned char *p = bytes;
    char *o = out;
    *o++ = '\\';
    *o++ = 'x';
    for (size_t i = 0; i < len; i++) {
        *o++ = hex[p[i] >> 4];
        *o++ = hex[p[i] & 15];
    }
    *o = 0;
    return out;
}

bool
filetype_upload (const env_request_t *req, filetype_upload_t *up, env_reply_t *rep)
{
    memset (up, 0, sizeof *up);
    if (!req->blob || req->blob_len == 0) {
        env_reply_error (rep, 422, "validation_failed", jv_detail ("body", "send the file as the body"),
                         "no file");
        return false;
    }
    if (req->blob_len > FILETYPE_MAX_BYTES) {
        env_reply_error (rep, 413, "payload_too_large", NULL, "a file may have at most %d bytes",
                         FILETYPE_MAX_BYTES);
        return false;
    }
    const char *declared = env_param (req, "content_type");
    up->type = filetype_allowed_type (declared);
    if (!up->type || strcmp (up->type, declared) != 0) {
        env_reply_error (rep, 415, "unsupported_media_type", NULL,
                         "send the file as image/jpeg, image/png, image/webp or application/pdf");
        return false;
    }
    if (!filetype_matches (up->type, req->blob, req->blob_len)) {
        const char *sniffed = filetype_sniff (req->blob, req->blob_len);
        env_reply_error (rep, 415, "unsupported_media_type",
                         jv_detail ("Content-Type", sniffed ? "does not match the file's bytes"
                                                            : "the file is none of the allowed types"),
                         "the file is not %s%s%s", up->type, sniffed ? " but " : "", sniffed ? sniffed : "");
        return false;
    }
    if (filetype_name_clean (env_param (req, "filename"), up->name, sizeof up->name) == 0)
        snprintf (up->name, sizeof up->name, "attachment.%s", filetype_extension (up->type));
    up->hex = filetype_bytea_hex (req->blob, req->blob_len);
    if (!up->hex) {
        env_reply_error (rep, 500, "internal", NULL, "out of memory");
        return false;
    }
    return true;
}

void
filetype_reply_stored (env_reply_t *rep, const char *type, const char *name, const char *bytea_text)
{
    size_t len = 0;
    unsigned char *bytes = bytea_text ? PQunescapeBytea ((const unsigned char *) bytea_text, &len) : NULL;
    if (!bytes) {
        env_reply_error (rep, 500, "internal", NULL, "cannot read the stored file");
        return;
    }
    env_reply_blob (rep, 200, type, name, bytes, len);
    PQfreemem (bytes);
}
