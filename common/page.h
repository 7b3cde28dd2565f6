/* page: one way to page a list (API.md "Lists": ?limit= default 50, max 500;
 * ?cursor= opaque; {"items": [...], "next_cursor": "..." | null}).
 *
 * A cursor is base64url (no padding) of the last shown row's keyset key, a
 * string the list chooses ("<date>~<uuid>", "<name>|<uuid>", ...). Clients see
 * it as opaque; a list decodes it with page_params and checks what the key
 * holds, since a client can forge one. Lists fetch limit + 1 rows: a row past
 * limit means there is more.
 *
 *   int limit;
 *   char key[PAGE_KEY_MAX];
 *   page_params (&v, req, &limit, key, sizeof key);   // then check key's parts
 *   ...
 *   env_reply_ok (rep, 200, page_json_rows (res, limit, 1, 2));
 */
#ifndef PM_PAGE_H
#define PM_PAGE_H

#include "envelope.h"
#include "jv.h"
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define PAGE_LIMIT_DEFAULT 50
#define PAGE_LIMIT_MAX     500
#define PAGE_KEY_MAX       512       /* a decoded cursor key, with its NUL */
#define PAGE_KEY_SEP       '~'       /* joins page_json_rows' cursor columns */

/* ?limit=: NULL or "" is the default; else only digits, 1..PAGE_LIMIT_MAX
 * (no sign, no space). False for anything else, *out untouched. */
bool page_limit_parse (const char *s, int *out);

/* The cursor of a key; the caller frees it. NULL when out of memory. */
char *page_cursor_encode (const char *key);

/* Decodes a cursor into out (cap bytes with the NUL). False when it is not
 * canonical base64url, decodes to nothing, to a NUL byte, to more than
 * cap - 1 bytes, or to bytes that are not UTF-8. */
bool page_cursor_decode (const char *cursor, char *out, size_t cap);

/* Reads ?limit= and ?cursor= of req: *limit (the default when absent) and
 * the cursor's key into key ("" when there is none: an empty ?cursor= is
 * none). Adds the contract's problems to v ("limit", "cursor"). jv_ok (v). */
bool page_params (jv_t *v, const env_request_t *req, int *limit, char *key, size_t cap);

/* Splits key in place at PAGE_KEY_SEP into exactly n parts; false when it
 * has another number of parts. */
bool page_key_split (char *key, char **parts, int n);

/* Most lists run in time order, newest first, and page by (time, id): their
 * key is DB_UTC_TS_US of the row's time, PAGE_KEY_SEP, its uuid
 * ("2026-11-27T03:14:00.123456Z~<uuid>"), the statement's two cursor
 * columns for page_json_rows / page_reply, and its cursor test
 *   ($n::timestamptz IS NULL OR (t.created_at, t.id) < ($n::timestamptz, $m::uuid)). */
typedef struct {
    int limit;
    char limit_plus_one[16];         /* the statement's LIMIT, as text */
    const char *at, *id;             /* the cursor's parts as parameters; NULL without one */
    char at_text[28], id_text[37];
} page_time_id_t;

/* page_params of a (time, id) list into p: adds "cursor" to v when the key
 * is not such a pair. jv_ok (v). */
bool page_time_id (jv_t *v, const env_request_t *req, page_time_id_t *p);

/* A row of a page as JSON (NULL to skip it), and its keyset key. */
typedef cJSON *(page_item_fn) (const PGresult *res, int row, void *arg);
typedef void (page_key_fn) (const PGresult *res, int row, char *key, size_t cap);

/* {"items": [item (res, row, arg) of the first limit rows], "next_cursor"}:
 * when res has more than limit rows, next_cursor encodes key () of the last
 * shown row, else null. NULL when out of memory. */
cJSON *page_rows (const PGresult *res, int limit, page_item_fn *item, void *arg, page_key_fn *key);

/* page_rows of a result whose column 0 is each item's JSON document (SQL
 * builds them) and whose columns cursor_col .. cursor_col + cursor_cols - 1,
 * joined with PAGE_KEY_SEP, make the key. */
cJSON *page_json_rows (const PGresult *res, int limit, int cursor_col, int cursor_cols);

/* A list handler's last step: replies 200 with page_json_rows, or the
 * statement's error (db_reply_error) when res failed. Clears res. */
void page_reply (PGresult *res, int limit, int cursor_col, int cursor_cols, env_reply_t *rep,
                 const char *request_id);

/* The same with page_rows: items and keys made by the list's own functions. */
void page_reply_rows (PGresult *res, int limit, page_item_fn *item, void *arg, page_key_fn *key,
                      env_reply_t *rep, const char *request_id);

#endif
