/* page: ?limit=, opaque keyset cursors and the {"items","next_cursor"} body. */
#include "page.h"
#include "civil.h"
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
page_limit_parse (const char *s, int *out)
{
    if (!s || !*s) {
        *out = PAGE_LIMIT_DEFAULT;
        return true;
    }
    if (*s < '0' || *s > '9')
        return false;                /* no sign, no space */
    char *end;
    errno = 0;
    long n = strtol (s, &end, 10);
    if (errno || *end || n < 1 || n > PAGE_LIMIT_MAX)
        return false;
    *out = (int) n;
    return true;
}

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
page_cursor_encode (const char *key)
{
    size_t n = strlen (key);
    char *out = malloc (4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *) key;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned) p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned) p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = s_b64[(v >> 18) & 63];
        out[o++] = s_b64[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = s_b64[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = s_b64[v & 63];
    }
    out[o] = 0;
    return out;
}

bool
page_cursor_decode (const char *cursor, char *out, size_t cap)
{
    if (!cursor || !*cursor || cap == 0)
        return false;
    size_t n = strlen (cursor);
    if (n % 4 == 1 || n > 4 * cap)
        return false;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *pos = strchr (s_b64, cursor[i]);
        if (!pos || !*pos)
            return false;
        acc = (acc << 6) | (unsigned) (pos - s_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap)
                return false;
            out[o++] = (char) ((acc >> bits) & 0xFF);
        }
    }
    /* left-over bits must be zero, or two cursors would decode alike */
    if (acc & ((1u << bits) - 1))
        return false;
    out[o] = 0;
    return o > 0 && strlen (out) == o && jv_is_utf8 (out, o);
}

bool
page_params (jv_t *v, const env_request_t *req, int *limit, char *key, size_t cap)
{
    if (!page_limit_parse (env_param (req, "limit"), limit)) {
        *limit = PAGE_LIMIT_DEFAULT;
        jv_problem (v, "limit", "must be an integer from 1 to %d", PAGE_LIMIT_MAX);
    }
    const char *cursor = env_param (req, "cursor");
    if (cap)
        key[0] = 0;
    if (cursor && *cursor && !page_cursor_decode (cursor, key, cap)) {
        if (cap)
            key[0] = 0;
        jv_problem (v, "cursor", "is not a cursor this list gave out");
    }
    return jv_ok (v);
}

bool
page_key_split (char *key, char **parts, int n)
{
    int i = 0;
    for (char *p = key;; p++) {
        if (*p != PAGE_KEY_SEP && *p)
            continue;
        if (i == n)
            return false;
        parts[i++] = key;
        if (!*p)
            break;
        *p = 0;
        key = p + 1;
    }
    return i == n;
}

static cJSON *
s_json_item (const PGresult *res, int row, void *arg)
{
    (void) arg;
    return cJSON_Parse (PQgetvalue (res, row, 0));
}

/* The key of row: key () when given, else columns col .. col + cols - 1 joined. */
static void
s_key (const PGresult *res, int row, page_key_fn *key, int col, int cols, char *out, size_t cap)
{
    if (key) {
        key (res, row, out, cap);
        return;
    }
    size_t len = 0;
    for (int c = col; c < col + cols && len < cap; c++)
        len += (size_t) snprintf (out + len, cap - len, "%s%s", c > col ? (char[]) { PAGE_KEY_SEP, 0 } : "",
                                  PQgetvalue (res, row, c));
}

static cJSON *
s_rows (const PGresult *res, int limit, page_item_fn *item, void *arg, page_key_fn *key, int col,
        int cols)
{
    cJSON *body = cJSON_CreateObject ();
    cJSON *items = cJSON_AddArrayToObject (body, "items");
    if (!items) {
        cJSON_Delete (body);
        return NULL;
    }
    int n = PQntuples (res), shown = n > limit ? limit : n;
    for (int i = 0; i < shown; i++) {
        cJSON *it = item (res, i, arg);
        if (it)
            cJSON_AddItemToArray (items, it);
    }
    char *next = NULL;
    if (n > limit && shown > 0) {
        char k[PAGE_KEY_MAX] = "";
        s_key (res, shown - 1, key, col, cols, k, sizeof k);
        if (!(next = page_cursor_encode (k))) {
            cJSON_Delete (body);
            return NULL;
        }
    }
    if (!(next ? cJSON_AddStringToObject (body, "next_cursor", next)
               : cJSON_AddNullToObject (body, "next_cursor"))) {
        cJSON_Delete (body);
        body = NULL;
    }
    free (next);
    return body;
}

cJSON *
page_rows (const PGresult *res, int limit, page_item_fn *item, void *arg, page_key_fn *key)
{
    return s_rows (res, limit, item, arg, key, 0, 0);
}

cJSON *
page_json_rows (const PGresult *res, int limit, int cursor_col, int cursor_cols)
{
    return s_rows (res, limit, s_json_item, NULL, NULL, cursor_col, cursor_cols);
}

void
page_reply (PGresult *res, int limit, int cursor_col, int cursor_cols, env_reply_t *rep,
            const char *request_id)
{
    if (db_ok (res))
        env_reply_ok (rep, 200, page_json_rows (res, limit, cursor_col, cursor_cols));
    else
        db_reply_error (res, rep, request_id);
    PQclear (res);
}

bool
page_time_id (jv_t *v, const env_request_t *req, page_time_id_t *p)
{
    memset (p, 0, sizeof *p);
    char key[PAGE_KEY_MAX], *part[2];
    int64_t us;
    if (page_params (v, req, &p->limit, key, sizeof key) && *key) {
        /* exactly what DB_UTC_TS_US prints: 27 characters, a fraction, Z */
        if (page_key_split (key, part, 2) && strlen (part[0]) == sizeof p->at_text - 1 && part[0][19] == '.'
            && part[0][26] == 'Z' && civil_parse_time (part[0], &us) && jv_is_uuid (part[1])) {
            memcpy (p->at_text, part[0], sizeof p->at_text);
            memcpy (p->id_text, part[1], sizeof p->id_text);
            p->at = p->at_text;
            p->id = p->id_text;
        }
        else
            jv_problem (v, "cursor", "is not a cursor this list gave out");
    }
    snprintf (p->limit_plus_one, sizeof p->limit_plus_one, "%d", p->limit + 1);
    return jv_ok (v);
}

void
page_reply_rows (PGresult *res, int limit, page_item_fn *item, void *arg, page_key_fn *key,
                 env_reply_t *rep, const char *request_id)
{
    if (db_ok (res))
        env_reply_ok (rep, 200, page_rows (res, limit, item, arg, key));
    else
        db_reply_error (res, rep, request_id);
    PQclear (res);
}
