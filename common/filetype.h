/* filetype: what an uploaded file (an attachment) is and how it is named.
 *
 * - the media types attachments may have (JPEG, PNG, WebP, PDF), and the
 *   check that a file's first bytes are what its declared type says (a
 *   PNG sent as application/pdf is refused: the type is never taken on
 *   the client's word alone);
 * - the file name a client gives (X-Filename): cleaned to a display name
 *   (UTF-8 kept; path, control characters and quotes gone), and the
 *   Content-Disposition header that serves it back (an ASCII fallback and
 *   RFC 5987's filename*, shortened to fit);
 * - a file's bytes as a PostgreSQL bytea text parameter (db.h's parameters
 *   are text), and back;
 * - an upload as the services that store attachments check it.
 * Unit-tested in tests/unit/test_filetype.c. */
#ifndef PM_FILETYPE_H
#define PM_FILETYPE_H

#include "envelope.h"

#include <stdbool.h>
#include <stddef.h>

/* The most bytes an attachment may have (API.md: 10 MiB); the bus carries
 * it as one frame (mdp.h's MDP_BLOB_MAX). */
#define FILETYPE_MAX_BYTES (10 * 1024 * 1024)
/* A display name's most bytes (UTF-8) once cleaned. */
#define FILETYPE_NAME_MAX 255

/* The attachment media types, NULL-terminated (API.md "Attachments"). */
extern const char *const filetype_allowed[];

/* The canonical media type (one of filetype_allowed) a Content-Type value
 * names ("image/PNG; x=y" -> "image/png"), or NULL when it is none of them. */
const char *filetype_allowed_type (const char *content_type);

/* The media type of filetype_allowed the bytes start like (magic bytes:
 * JPEG FF D8 FF, PNG 89 50 4E 47 0D 0A 1A 0A, WebP "RIFF" size "WEBP",
 * PDF "%PDF-"), or NULL. */
const char *filetype_sniff (const void *bytes, size_t len);

/* True when the bytes are a file of the declared (canonical) type. */
bool filetype_matches (const char *type, const void *bytes, size_t len);

/* The usual extension of an allowed type ("png"), "bin" for any other. */
const char *filetype_extension (const char *type);

/* A client's file name (UTF-8) cleaned for display and storage into
 * out[cap]: only the part after the last '/' or '\', control characters
 * (C0, DEL, C1) and '"' dropped, blanks and dots trimmed at the ends, cut to
 * FILETYPE_NAME_MAX bytes (and cap - 1) at a character boundary. Returns
 * the length; 0 when nothing is left (or name is NULL, or not UTF-8): the
 * caller then names the file itself. Cleaning a clean name changes nothing. */
size_t filetype_name_clean (const char *name, char *out, size_t cap);

/* "Content-Disposition: attachment; filename=\"<ascii>\"; filename*=UTF-8''<pct>\r\n"
 * for a clean name into out[cap]: the fallback has '_' for each non-ASCII
 * character (and for '\' and '%'), filename* the name percent-encoded (RFC
 * 5987 attr-chars as they are). A name too long for cap is shortened before
 * its extension, at a character boundary. Returns the length, or -1 when
 * not even a one-character name fits. */
int filetype_disposition (const char *name, char *out, size_t cap);

/* The bytes as the text of a bytea parameter ("\x" then two hex digits a
 * byte; caller frees), or NULL when out of memory. */
char *filetype_bytea_hex (const void *bytes, size_t len);

/* An upload as a service checks it (the request on the bus is not trusted
 * to have passed the gateway): the request's blob (mdp.h) of 1 to
 * FILETYPE_MAX_BYTES bytes, its param "content_type" one of
 * filetype_allowed, the bytes of that type (magic bytes), and its param
 * "filename" cleaned, or "attachment.<ext>" without one. */
typedef struct {
    const char *type;                /* canonical, static */
    char name[FILETYPE_NAME_MAX + 1];
    char *hex;                       /* filetype_bytea_hex of the bytes: the caller frees it */
} filetype_upload_t;

/* true with up filled, or false after answering rep: 422 validation_failed
 * (no file, or an empty one), 413 payload_too_large, 415
 * unsupported_media_type (a type not allowed, or bytes of another type),
 * 500 out of memory. */
bool filetype_upload (const env_request_t *req, filetype_upload_t *up, env_reply_t *rep);

/* Answers a stored file: bytea_text (a bytea column's text, "\x...") as
 * the reply's blob of type and name (env_reply_blob); 500 when it does not
 * decode. */
void filetype_reply_stored (env_reply_t *rep, const char *type, const char *name,
                            const char *bytea_text);

#endif
