/* contractor_rules: the rules of contractors' supervision (监管评定), without a
 * database: what valid input is (a contractor, an inspection with weighted
 * criteria, the rectification threshold, a month, a trend's length) and the
 * inspection's score, the weighted mean of its criteria rounded to one
 * decimal half away from zero.
 *
 * Scores and weights are exact decimals, so they are held as integers:
 * a score in tenths (85.5 -> 855), a weight in hundredths (0.25 -> 25). The
 * mean is then one integer division with its remainder, never a float
 * rounded: weights 3, 1 and scores 90, 71 are (300*900 + 100*710) / 400 =
 * 852.5 tenths -> 853 -> 85.3. Unit-tested in
 * tests/unit/test_contractor_score.c; the CHECKs of
 * migrations/015_contractors.sql mirror the limits. */
#ifndef TK_CONTRACTOR_RULES_H
#define TK_CONTRACTOR_RULES_H

#include "jv.h"
#include "pii.h"

#include <stdbool.h>
#include <stdint.h>

#define CON_NAME_MAX          100    /* bytes: a contractor's, a contact's, a criterion's name */
#define CON_AREA_MAX          100    /* where the inspection was made: "1号楼大堂" */
#define CON_NOTE_MAX          2000
#define CON_CRITERIA_MAX      50     /* criteria of one inspection */
#define CON_SCORE_MAX_X10     1000   /* 100.0 */
#define CON_WEIGHT_MAX_X100   100000 /* 1000.00 */
#define CON_THRESHOLD_DEFAULT_X10 800 /* 80.0: below it an inspection opens a rectification */
#define CON_MONTHS_DEFAULT    12     /* a trend's months */
#define CON_MONTHS_MAX        36
#define CON_FUTURE_MAX_S      86400  /* an inspection is at most a day ahead of now (clocks, timezones) */
#define CON_PERIOD_LEN        7      /* "YYYY-MM" */
#define CON_RECTIFICATION_CATEGORY "rectification"

extern const char *const con_services[];   /* cleaning greening pest_control security other */

/* --- the score ------------------------------------------------------------- */

typedef struct {
    const char *name;                /* borrowed from the request */
    int64_t weight_x100;             /* > 0 */
    int64_t score_x10;               /* 0..1000 */
} con_criterion_t;

/* num / den rounded to the nearest integer, half away from zero; den > 0. */
int64_t con_div_round (int64_t num, int64_t den);

/* The weighted mean of n criteria in tenths, rounded half away from zero;
 * -1 when there are none or the weights do not sum to more than 0. */
int64_t con_weighted_mean_x10 (const con_criterion_t *c, int n);

/* A value in tenths as the contract prints it: 853 -> "85.3", 900 -> "90.0". */
const char *con_tenths_text (int64_t x10, char out[24]);

/* A JSON number with at most `decimals` (1 or 2) decimals, from 0 up to
 * max_scaled, as an integer scaled by 10^decimals: 85.5 -> 855; false when
 * it is no number, negative, too big or has more decimals. Exact: the
 * number's shortest decimal text is read digit by digit. */
bool con_scaled (const cJSON *x, int decimals, int64_t max_scaled, int64_t *out);

/* --- inputs ---------------------------------------------------------------- */

/* POST .../contractors (partial false) and PATCH .../contractors/{id}
 * (partial true: name, contact, phone, active; something to change). phone
 * normalised (pii.h, "" = none sent); contact_set / phone_set: the field was
 * sent, null clearing it. */
typedef struct {
    const char *name, *service, *contact;
    char phone[PII_PHONE_MAX + 1];
    bool contact_set, phone_set;
    int active;                      /* -1 not sent, 0, 1 */
} con_contractor_input_t;

bool con_contractor_input (jv_t *v, const cJSON *data, bool partial, con_contractor_input_t *out);

/* POST .../inspections. inspected_at checked against now_us (not more than
 * CON_FUTURE_MAX_S ahead). score_x10: the weighted mean. */
typedef struct {
    const char *contractor_id, *area, *inspected_at, *note;
    int64_t inspected_us;
    con_criterion_t criteria[CON_CRITERIA_MAX];
    int n;
    int64_t score_x10;
} con_inspection_input_t;

bool con_inspection_input (jv_t *v, const cJSON *data, int64_t now_us, con_inspection_input_t *out);

/* PUT .../contractor-settings: {"threshold"} 0..100, one decimal. */
bool con_settings_input (jv_t *v, const cJSON *data, int64_t *threshold_x10);

/* "YYYY-MM" (years 2000..9999) -> the month's first day "YYYY-MM-01" in
 * out[11]; false otherwise. */
bool con_period_parse (const char *s, char out[11]);

/* ?months=: NULL or "" is CON_MONTHS_DEFAULT; else 1..CON_MONTHS_MAX. */
bool con_months_parse (const char *s, int *months);

/* The rectification ticket's title (at most 500 bytes; names cut at a
 * character boundary): "整改：<contractor> · <area> 检查得分 72.5（低于 80.0）". */
void con_rectification_title (const char *contractor, const char *area, int64_t score_x10,
                              int64_t threshold_x10, char out[501]);

#endif
