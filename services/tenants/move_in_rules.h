/* move_in_rules: what a move-in checklist (入伙办理) is, how the desk ticks
 * it off, when a move-in may complete, when a move-out is cleared, and what
 * a key customer's contact (重点顾客) is. Pure functions (no database),
 * unit-tested in tests/unit/test_tn_move_in_rules.c. The CHECK constraints
 * of migrations/004_move_ins_contacts.sql mirror these limits.
 *
 * A checklist definition item: {"item","label":{"zh","en"},"required",
 * "value_kind"}; a move-in's item adds {"done","note","value","done_at",
 * "done_by"}. value_kind says what "value" holds: none, count (a
 * non-negative integer: keys handed over), reading (a meter reading, a
 * decimal string) or text (a contract or deed number). */
#ifndef TN_MOVE_IN_RULES_H
#define TN_MOVE_IN_RULES_H

#include "jv.h"
#include "unit_rules.h"
#include <stdbool.h>
#include <stdint.h>

#define TN_CHECKLIST_ITEMS_MAX  30
#define TN_CHECKLIST_KEY_MAX    32   /* [a-z][a-z0-9_]* */
#define TN_CHECKLIST_LABEL_MAX  100  /* characters */
#define TN_CHECKLIST_NOTE_MAX   500  /* characters */
#define TN_CHECKLIST_TEXT_MAX   200  /* characters of a text value */
#define TN_COUNT_DIGITS_MAX     6    /* a count: 0 .. 999999 */
#define TN_READING_DIGITS_MAX   10   /* a reading: 10 digits, then up to 3 decimals */
#define TN_READING_DECIMALS_MAX 3
#define TN_REASON_MAX           500  /* characters: an override or a cancel reason */
#define TN_CONTACT_SUMMARY_MAX  2000 /* characters */
/* a contact's "at" may run this far ahead of our clock (a phone's clock) */
#define TN_CONTACT_SKEW_US      (INT64_C (300) * 1000000)
#define TN_TIME_TEXT_MAX        32   /* "2026-11-27T03:14:00Z" with room */

/* NULL-terminated value lists. */
extern const char *const tn_value_kinds[];       /* none count reading text */
extern const char *const tn_move_in_statuses[];  /* open completed cancelled */
extern const char *const tn_contact_channels[];  /* phone visit wechat email letter other */

/* The characters (code points) of a valid UTF-8 string. */
size_t tn_utf8_chars (const char *s);

/* The defaults of API.md (identity checked, contract or title deed seen,
 * keys handed over, the electricity, water and gas meters, first fees
 * settled, resident handbook signed) as definition items; the caller's. */
cJSON *tn_checklist_defaults (void);

/* PUT .../move-in-checklist data {"items":[...]}: validates each item
 * (keys unique; "required" defaults to true, "value_kind" to none, label
 * "en" optional) into *items, a clean copy (the caller's); problems as
 * "items[i].field". */
bool tn_checklist_def_input (jv_t *v, const cJSON *data, cJSON **items);

/* A move-in's checklist from definition items: each not done, no note,
 * no value. The caller's. */
cJSON *tn_checklist_open (const cJSON *defs);

/* Whether value suits kind: a count is 1..TN_COUNT_DIGITS_MAX digits, a
 * reading digits with at most 3 decimals, a text 1..TN_CHECKLIST_TEXT_MAX
 * characters; none takes no value. */
bool tn_checklist_value_ok (const char *kind, const char *value);

/* PATCH .../move-ins/{id} data {"checklist":[{"item","done","note"?,"value"?}]}
 * applied to checklist (a move-in's, changed in place only when every entry
 * is valid): an item not on it, an item twice, a value its kind refuses, or
 * a count or reading marked done without a value are problems
 * ("checklist[i].item", ...). note and value null clear them. An item
 * newly done gets done_at = now, done_by = user; undone, both null. */
bool tn_checklist_patch (jv_t *v, const cJSON *data, cJSON *checklist, const char *user, const char *now);

/* The required items not done, as details [{"field":"checklist.<item>",
 * "problem"}] (the caller's), or NULL when the move-in may complete. */
cJSON *tn_checklist_missing (const cJSON *checklist);

/* ?status=: NULL or "" = any (*out NULL); else one of tn_move_in_statuses. */
bool tn_move_in_status_parse (const char *s, const char **out);

/* POST .../occupancies/{oid}/end data: {"end_date","override_reason"?}
 * (override_reason: 1..TN_REASON_MAX characters; null or absent: none). */
typedef struct {
    tn_end_input_t end;
    const char *override_reason;
} tn_clearance_input_t;

bool tn_clearance_input (jv_t *v, const cJSON *data, tn_clearance_input_t *out);

/* POST .../move-ins/{id}/cancel data: null, {} or {"reason"}; *reason NULL = none. */
bool tn_cancel_input (jv_t *v, const cJSON *data, const char **reason);

/* Whether a move-out may go ahead. balance_due: fen the unit owes, or -1
 * when billing did not answer; override: a manager sent a reason. */
typedef enum {
    TN_CLEAR_OK = 0,                 /* nothing owed */
    TN_CLEAR_OVERRIDDEN,             /* owed (or unknown), overridden: record it */
    TN_CLEAR_ARREARS,                /* 409 arrears_outstanding */
    TN_CLEAR_UNKNOWN                 /* 503: billing did not answer, fail closed */
} tn_clearance_t;

tn_clearance_t tn_clearance_decide (int64_t balance_due, bool override);

/* POST .../parties/{party_id}/contacts data. at: RFC 3339 UTC text of the
 * moment (now_us when absent), never more than TN_CONTACT_SKEW_US ahead. */
typedef struct {
    const char *channel;             /* static (tn_contact_channels) */
    const char *summary;
    char at[TN_TIME_TEXT_MAX];
} tn_contact_input_t;

bool tn_contact_input (jv_t *v, const cJSON *data, int64_t now_us, tn_contact_input_t *out);

/* epoch microseconds as "YYYY-MM-DDTHH:MM:SSZ" (the contract's time). */
void tn_time_text (int64_t epoch_us, char out[TN_TIME_TEXT_MAX]);

#endif
