/* desk_rules: the rules of the front desk's registers (visitors 出入人员登记,
 * items left at the desk 物件存放, vehicle passes 贵宾车辆/访客车辆), without a
 * database: licence plates, claim codes, the visitor's check-in/check-out
 * steps, who may release an item, and the inputs of every request.
 * Unit-tested in tests/unit/test_tk_desk_rules.c; the CHECKs of
 * migrations/010_desk_registers.sql mirror the limits. Phones and ID numbers
 * are common/pii.h's, as for parties. */
#ifndef TK_DESK_RULES_H
#define TK_DESK_RULES_H

#include "jv.h"
#include "pii.h"

#include <stdbool.h>
#include <stdint.h>

#define DESK_NAME_MAX         100    /* bytes: a visitor's, an owner's, a recipient's name */
#define DESK_PURPOSE_MAX      500
#define DESK_TEXT_MAX         500    /* an item's description, a release's reason, a pass's note */
#define DESK_LOCATION_MAX     100    /* where the item is kept: "前台柜 3" */
#define DESK_QUERY_MAX        64     /* ?q= */
#define DESK_PLATE_INPUT_MAX  40     /* bytes a client may send for a plate */
#define DESK_PLATE_MAX        16     /* bytes of a normalised plate: 粤B12345, 粤BD12345, 粤B1234学 */
#define DESK_PURGED_NAME      "已清除"  /* a visitor's name after the retention period */

#define DESK_RETENTION_DEFAULT 180   /* days a visitor's personal data is kept */
#define DESK_RETENTION_MIN     1
#define DESK_RETENTION_MAX     3650

#define DESK_PASS_DAYS_MAX     3660  /* a vehicle pass is valid at most this long */

/* --- licence plates ----------------------------------------------------------
 * A mainland plate as typed -> its stored form: the province character, the
 * issuing office's letter, then 5 characters (digits and letters but I and
 * O; the last may be 挂 学 警 港 澳 领 试 超) or, on a new-energy plate, 6: a
 * small car's letter (D F A B C E G H J K) then a letter or digit and 4
 * digits, or a large vehicle's 5 digits then that letter. Spaces, dots,
 * dashes and middle dots are dropped, letters upper-cased, full-width
 * letters and digits read as ASCII: "粤b·123 45" -> "粤B12345". False for
 * anything else. */
bool desk_plate_normalize (const char *in, char out[DESK_PLATE_MAX + 1]);

/* A search text with spaces, dots, dashes and middle dots dropped and ASCII
 * letters upper-cased ("粤b 123" -> "粤B123", "138 0013" -> "1380013"), so a
 * plate or phone typed with gaps still matches; "" when nothing is left. */
void desk_search_compact (const char *in, char out[DESK_QUERY_MAX + 1]);

/* --- claim codes -------------------------------------------------------------
 * Printed on the slip and read aloud at the desk: DESK_CLAIM_LEN characters
 * of an alphabet without 0 O 1 I L (31^8, about 8.5e11 codes; an item locks
 * after DESK_CLAIM_TRIES_MAX wrong ones). Stored as a salted BLAKE2b hash
 * (libsodium), compared in constant time. */
#define DESK_CLAIM_LEN        8
#define DESK_CLAIM_ALPHABET   "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#define DESK_CLAIM_TRIES_MAX  5
#define DESK_CLAIM_HASH_MAX   100    /* "<32 hex salt>:<64 hex hash>" */

/* A fresh code from libsodium's randombytes_uniform. */
void desk_claim_code_new (char out[DESK_CLAIM_LEN + 1]);

/* A code as typed: spaces and dashes dropped, upper-cased; false unless
 * that leaves DESK_CLAIM_LEN characters of the alphabet. */
bool desk_claim_code_clean (const char *in, char out[DESK_CLAIM_LEN + 1]);

/* The stored form of a code, with a new random salt. */
void desk_claim_hash (const char *code, char out[DESK_CLAIM_HASH_MAX + 1]);

/* Whether code (clean) is the one stored; false for a malformed stored form. */
bool desk_claim_verify (const char *stored, const char *code);

/* --- visitors ----------------------------------------------------------------
 * registered --check_in--> on_site --check_out--> left. */
typedef enum { DESK_CHECK_IN, DESK_CHECK_OUT } desk_visit_step_t;

/* The status after step, or NULL when the step is not allowed now. */
const char *desk_visitor_next (const char *status, desk_visit_step_t step);

/* The step's name ("check_in", "check_out"). */
const char *desk_visit_step_name (desk_visit_step_t step);

/* The steps allowed in status, as a JSON array of names (the caller's). */
cJSON *desk_visitor_allowed (const char *status);

/* --- items left at the desk --------------------------------------------------
 * Releasing an item: with its code by anyone at the desk; without it only by
 * a manager or admin, who gives a reason (the resident lost the slip, or the
 * item locked). An item locks after DESK_CLAIM_TRIES_MAX wrong codes: then
 * only a manager releases it, without the code. */
typedef enum {
    DESK_RELEASE_OK,                 /* the right code */
    DESK_RELEASE_OVERRIDE,           /* a manager without the code */
    DESK_RELEASE_WRONG_CODE,         /* 409 invalid_claim_code; one more failed attempt */
    DESK_RELEASE_LOCKED,             /* 409 claim_locked */
    DESK_RELEASE_DONE                /* 409 invalid_transition: released already */
} desk_release_t;

/* code: the cleaned code sent, or NULL (the input rules let only a manager
 * send none); code_ok: desk_claim_verify's answer. */
desk_release_t desk_release_decide (bool released, int failed_attempts, const char *code, bool code_ok);

/* --- inputs ---------------------------------------------------------------- */

/* POST .../visitors. Strings borrow from data; phone, id_number and plate
 * are normalised copies ("" = none). */
typedef struct {
    const char *name;
    const char *purpose;
    const char *visiting_unit_id;    /* NULL = none */
    char phone[PII_PHONE_MAX + 1];
    char id_number[PII_ID_NUMBER_MAX + 1];
    char plate[DESK_PLATE_MAX + 1];
    bool check_in;                   /* registered and let in at once */
} desk_visitor_input_t;

bool desk_visitor_input (jv_t *v, const cJSON *data, desk_visitor_input_t *out);

/* POST .../stored-items. */
typedef struct {
    const char *description;
    const char *unit_id;             /* NULL = none */
    const char *owner_name;          /* NULL = none */
    const char *location;            /* NULL = none */
} desk_item_input_t;

bool desk_item_input (jv_t *v, const cJSON *data, desk_item_input_t *out);

/* POST .../stored-items/{id}/release. manager: the caller may release
 * without the code (then reason is required); anyone else must send it. */
typedef struct {
    char code[DESK_CLAIM_LEN + 1];   /* "" = none sent */
    bool code_sent;                  /* a code was sent, even one not of the alphabet */
    const char *released_to;
    const char *reason;              /* NULL = none */
} desk_release_input_t;

bool desk_release_input (jv_t *v, const cJSON *data, bool manager, desk_release_input_t *out);

/* A bound of a pass's validity: an RFC 3339 time, or a date (the day's
 * start for valid_from, its end for valid_to, in the property's timezone). */
typedef struct {
    const char *date;                /* "YYYY-MM-DD", or NULL */
    const char *time;                /* an RFC 3339 time (civil.h checked it), or NULL */
    int64_t approx_us;               /* for the order check: a date's bound taken as UTC */
} desk_bound_t;

/* POST .../vehicle-passes. */
typedef struct {
    char plate[DESK_PLATE_MAX + 1];
    const char *unit_id;             /* NULL = none */
    const char *party_id;            /* NULL = none */
    desk_bound_t from, to;
    bool vip;
    const char *note;                /* NULL = none */
} desk_pass_input_t;

bool desk_pass_input (jv_t *v, const cJSON *data, desk_pass_input_t *out);

/* PUT .../desk-settings: {"visitor_retention_days"}. */
bool desk_settings_input (jv_t *v, const cJSON *data, int *retention_days);

#endif
