/* jv: validate a JSON input and collect every problem, so a client learns
 * all that is wrong at once, as the contract's "details":
 *   [{"field":"area_m2","problem":"must have at most 2 decimals"}, ...]
 *
 *   jv_t v = JV_INIT;
 *   const char *code = jv_string (&v, data, "code", JV_REQUIRED, 64);
 *   ...
 *   if (!jv_ok (&v)) { env_reply_error (rep, 422, "validation_failed", jv_take (&v), "..."); }
 *
 * Getters return NULL / false when the field is absent or wrong; a wrong
 * field adds a problem, an absent one only when required. */
#ifndef PM_JV_H
#define PM_JV_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    cJSON *details;                  /* NULL until the first problem */
} jv_t;

#define JV_INIT { NULL }
#define JV_REQUIRED true
#define JV_OPTIONAL false

void jv_problem (jv_t *v, const char *field, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
bool jv_ok (const jv_t *v);
cJSON *jv_take (jv_t *v);            /* the details array, now the caller's */
void jv_reset (jv_t *v);

/* A details array with one {"field","problem"} (the caller's). */
cJSON *jv_detail (const char *field, const char *problem);

/* True when obj is a JSON object; else adds a problem for "body". */
bool jv_object (jv_t *v, const cJSON *obj);

/* A string of 1..maxlen bytes (valid UTF-8, no control characters), trimmed
 * of nothing: what the client sent. */
const char *jv_string (jv_t *v, const cJSON *obj, const char *field, bool required, size_t maxlen);

/* One of the NULL-terminated allowed values. */
const char *jv_enum (jv_t *v, const cJSON *obj, const char *field, bool required,
                     const char *const *allowed);

/* An integer in [min, max] (JSON number without fraction). */
bool jv_int (jv_t *v, const cJSON *obj, const char *field, bool required,
             int64_t min, int64_t max, int64_t *out);

/* A non-negative decimal with at most 2 decimals, below max; written in
 * canonical form ("85.50") to out[32], exactly as NUMERIC(12,2) stores it. */
bool jv_decimal2 (jv_t *v, const cJSON *obj, const char *field, bool required,
                  double max, char out[32]);

/* A date YYYY-MM-DD that exists in the calendar. */
const char *jv_date (jv_t *v, const cJSON *obj, const char *field, bool required);

/* A UUID in canonical text form. */
const char *jv_uuid (jv_t *v, const cJSON *obj, const char *field, bool required);

/* Pure checks, also used for path and query values. */
bool jv_is_utf8 (const char *s, size_t len);
bool jv_is_date (const char *s);
bool jv_is_uuid (const char *s);

/* The value of a hexadecimal digit (either case), or -1. */
int jv_hex_digit (char c);

#endif
