/* jv: input validation that collects every problem; see jv.h. */
#include "jv.h"
#include "civil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
jv_problem (jv_t *v, const char *field, const char *fmt, ...)
{
    char problem[256];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (problem, sizeof problem, fmt, ap);
    va_end (ap);
    if (!v->details)
        v->details = cJSON_CreateArray ();
    cJSON *d = cJSON_CreateObject ();
    cJSON_AddStringToObject (d, "field", field);
    cJSON_AddStringToObject (d, "problem", problem);
    cJSON_AddItemToArray (v->details, d);
}

bool
jv_ok (const jv_t *v)
{
    return v->details == NULL;
}

cJSON *
jv_take (jv_t *v)
{
    cJSON *d = v->details;
    v->details = NULL;
    return d;
}

void
jv_reset (jv_t *v)
{
    cJSON_Delete (v->details);
    v->details = NULL;
}

cJSON *
jv_detail (const char *field, const char *problem)
{
    jv_t v = JV_INIT;
    jv_problem (&v, field, "%s", problem);
    return jv_take (&v);
}

bool
jv_object (jv_t *v, const cJSON *obj)
{
    if (cJSON_IsObject (obj))
        return true;
    jv_problem (v, "body", "must be a JSON object");
    return false;
}

/* The field, or NULL after noting its absence when required. */
static const cJSON *
s_field (jv_t *v, const cJSON *obj, const char *field, bool required)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, field);
    if (!item || cJSON_IsNull (item)) {
        if (required)
            jv_problem (v, field, "is required");
        return NULL;
    }
    return item;
}

bool
jv_is_utf8 (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) { p++; continue; }
        else if ((c & 0xE0) == 0xC0) { n = 1; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 2; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 3; min = 0x10000; c &= 0x07; }
        else return false;
        if ((size_t) (end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return true;
}

const char *
jv_string (jv_t *v, const cJSON *obj, const char *field, bool required, size_t maxlen)
{
    const cJSON *item = s_field (v, obj, field, required);
    if (!item)
        return NULL;
    if (!cJSON_IsString (item)) {
        jv_problem (v, field, "must be a string");
        return NULL;
    }
    const char *s = item->valuestring;
    size_t len = strlen (s);
    if (len == 0 && required) {
        jv_problem (v, field, "must not be empty");
        return NULL;
    }
    if (len > maxlen) {
        jv_problem (v, field, "must be at most %zu bytes", maxlen);
        return NULL;
    }
    if (!jv_is_utf8 (s, len)) {
        jv_problem (v, field, "must be valid UTF-8");
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if (*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') {
            jv_problem (v, field, "must not contain control characters");
            return NULL;
        }
    return s;
}

const char *
jv_enum (jv_t *v, const cJSON *obj, const char *field, bool required,
         const char *const *allowed)
{
    const cJSON *item = s_field (v, obj, field, required);
    if (!item)
        return NULL;
    if (cJSON_IsString (item))
        for (int i = 0; allowed[i]; i++)
            if (strcmp (item->valuestring, allowed[i]) == 0)
                return allowed[i];
    char list[256] = "";
    size_t n = 0;
    for (int i = 0; allowed[i] && n < sizeof list; i++)
        n += (size_t) snprintf (list + n, sizeof list - n, "%s%s", i ? ", " : "", allowed[i]);
    jv_problem (v, field, "must be one of: %s", list);
    return NULL;
}

bool
jv_int (jv_t *v, const cJSON *obj, const char *field, bool required,
        int64_t min, int64_t max, int64_t *out)
{
    const cJSON *item = s_field (v, obj, field, required);
    if (!item)
        return false;
    double d = item->valuedouble;
    /* 2^53: beyond it a double no longer holds every integer exactly */
    if (!cJSON_IsNumber (item) || d != floor (d) || fabs (d) > 9007199254740992.0) {
        jv_problem (v, field, "must be an integer");
        return false;
    }
    if (d < (double) min || d > (double) max) {
        jv_problem (v, field, "must be from %lld to %lld", (long long) min, (long long) max);
        return false;
    }
    *out = (int64_t) d;
    return true;
}

bool
jv_decimal2 (jv_t *v, const cJSON *obj, const char *field, bool required,
             double max, char out[32])
{
    const cJSON *item = s_field (v, obj, field, required);
    if (!item)
        return false;
    if (!cJSON_IsNumber (item) || !isfinite (item->valuedouble)) {
        jv_problem (v, field, "must be a number");
        return false;
    }
    double d = item->valuedouble;
    if (d < 0 || d >= max) {
        jv_problem (v, field, "must be from 0 to below %.0f", max);
        return false;
    }
    /* "85.5" and "85.50" parse to the same double as the text "%.2f" prints;
     * a third decimal does not survive the round trip. */
    snprintf (out, 32, "%.2f", d);
    if (strtod (out, NULL) != d) {
        jv_problem (v, field, "must have at most 2 decimals");
        return false;
    }
    return true;
}

bool
jv_is_date (const char *s)
{
    int64_t days;
    return civil_parse_date (s, &days);
}

const char *
jv_date (jv_t *v, const cJSON *obj, const char *field, bool required)
{
    const cJSON *item = s_field (v, obj, field, required);
    if (!item)
        return NULL;
    if (!cJSON_IsString (item) || !jv_is_date (item->valuestring)) {
        jv_problem (v, field, "must be a date YYYY-MM-DD that exists");
        return NULL;
    }
    return item->valuestring;
}

int
jv_hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool
jv_is_uuid (const char *s)
{
    if (!s || strlen (s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

const char *
jv_uuid (jv_t *v, const cJSON *obj, const char *field, bool required)
{
    const cJSON *item = s_field (v, obj, field, required);
    if (!item)
        return NULL;
    if (!cJSON_IsString (item) || !jv_is_uuid (item->valuestring)) {
        jv_problem (v, field, "must be an id (UUID)");
        return NULL;
    }
    return item->valuestring;
}
