/* gw_audit: the record of every answered state-changing request (POST, PUT,
 * PATCH, DELETE), logins included, and GET /v1/audit (API.md, "Trust and
 * limits").
 *
 * - One row per answer: {at, actor_id, actor_role, method, route (the
 *   route's pattern, never the raw path: paths may carry personal data),
 *   target_id (a 201 body's "id", else the path's last id), property_id
 *   (the path's {pid}), status, request_id}. Nothing of the body is kept.
 * - Never a database round trip per request: rows wait in memory and go in
 *   one multi-row INSERT every GW_AUDIT_FLUSH_MS, or as soon as
 *   GW_AUDIT_BATCH_ROWS wait (on the next loop turn, after the answer has
 *   gone), and at shutdown. The buffer holds at most PM_AUDIT_BUFFER_MAX
 *   rows (GW_AUDIT_BUFFER_MAX): while the database is away, rows past that
 *   are dropped and counted in a log line (memory stays bounded).
 * - Rows are kept PM_AUDIT_RETENTION_DAYS (GW_AUDIT_RETENTION_DAYS) and
 *   deleted by the gateway's hourly cleanup (gw_audit_cleanup). */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include "gw.h"
#include "jv.h"
#include "page.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_AUDIT_FLUSH_MS        100
#define GW_AUDIT_RETRY_MS        1000    /* after a failed INSERT */
#define GW_AUDIT_BATCH_ROWS      200
#define GW_AUDIT_BUFFER_MAX      20000   /* rows; PM_AUDIT_BUFFER_MAX */
#define GW_AUDIT_RETENTION_DAYS  365     /* PM_AUDIT_RETENTION_DAYS */
#define GW_AUDIT_TARGET_MAX      64      /* characters of a target id kept */

typedef struct gw_audit gw_audit_t;

/* Prepares its statements on db; its timer is unreferenced (it never keeps
 * the loop alive). NULL on failure. */
gw_audit_t *gw_audit_new (uv_loop_t *loop, db_t *db);

/* Writes what is buffered (blocking), closes the timer; the memory is freed
 * by the timer's close callback: the loop must run once more. */
void gw_audit_destroy (gw_audit_t **self_p);

/* The hook in gw_finish: buffers the row of ctx's answer when it is one to
 * keep (a state-changing method). body: the answer's JSON text, or NULL. */
void gw_audit_record (gw_ctx_t *ctx, int status, const char *body);

/* Deletes rows past retention; how many, or -1. */
long gw_audit_cleanup (gw_audit_t *self);

/* GET /v1/audit (admin; a manager for their properties): newest first, paged
 * as page.h says, the cursor's key "<at to the microsecond>~<row id>". */
void gw_audit_list (gw_t *gw, gw_ctx_t *ctx);

/* GET /v1/audit's query, checked. */
typedef struct {
    char property_id[37];            /* lower case; "" for every property */
    const char *actor_id;            /* borrowed from the params; NULL for every actor */
    char from_ms[24], to_ms[24];     /* epoch ms as text; "" for no bound */
    int limit;
    char key[PAGE_KEY_MAX];          /* the cursor's key, split in place into: */
    const char *after_at, *after_id; /* the last row shown; NULL on the first page */
} gw_audit_query_t;

/* Pure parts (unit-tested). */
bool gw_audit_method_kept (const char *method);
/* The target and property of an answer: target_id from a 201 body's "id"
 * (a string of id characters), else the last path parameter that is a UUID;
 * property_id from {pid} (a UUID), else, for the creation of a property
 * (POST /v1/properties answered 201), the new id. Either "" when none. */
void gw_audit_ids (const router_match_t *m, const char *method, const char *pattern, int status,
                   const char *body, char target[GW_AUDIT_TARGET_MAX + 1], char property[37]);
/* The query of GET /v1/audit from params (strings, "" as absent):
 * property_id a UUID, actor_id an id, from <= to (gw_audit_parse_bound),
 * ?limit= and ?cursor= as page.h says, the cursor's key a time and a row id.
 * The problems into v; jv_ok (v). */
bool gw_audit_query (jv_t *v, const cJSON *params, gw_audit_query_t *q);
/* A from/to filter: a date (YYYY-MM-DD: from its first or, with end, to its
 * last millisecond, UTC) or an RFC 3339 date-time; 0 or -1. */
int gw_audit_parse_bound (const char *s, bool end, int64_t *epoch_ms);

#endif
