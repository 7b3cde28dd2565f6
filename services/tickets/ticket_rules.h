/* ticket_rules: what valid input to the tickets service's methods is: a new
 * ticket, an action, a comment, a follow-up call, a FAQ entry, the SLA
 * policies and a duty shift. Pure functions (no database, no globals), each
 * the first step of its handler (validate -> load -> decide -> store) and
 * unit-tested in tests/unit/test_tk_inputs.c, fuzzed by
 * tests/fuzz/fuzz_validators.c. What needs a row to decide (the unit exists,
 * the note a move asks for, the calendar is this property's) stays with the
 * handler. Each function adds its problems to v and returns jv_ok (v);
 * strings in out are borrowed from data unless said otherwise. */
#ifndef TK_TICKET_RULES_H
#define TK_TICKET_RULES_H

#include "jv.h"

#include <stdbool.h>
#include <stdint.h>

#define TK_SLA_MINUTES_MAX   525600      /* a year: the CHECKs of sla_policies */
#define TK_SLA_POLICIES_MAX  40          /* one per type and priority (10 x 4) */
#define TK_SHIFT_MAX_S       (31 * 86400) /* a shift longer than a month is a typo */
#define TK_DEPARTMENT_MAX    64          /* an internal requester's department: tickets.department */

/* POST .../tickets data. channel and priority default to "phone" and
 * "normal"; "" and null are no description, category, answer or department. */
typedef struct {
    const char *type, *title, *description, *unit_id, *party_id, *channel, *priority, *category;
    bool resolve_now;
    const char *faq_id, *answer;
    /* the internal hotline (issue L): "resident" (NULL: the default) or
     * "internal" (no party_id), and an internal requester's department */
    const char *requester_kind, *department;
    cJSON *data;                     /* owned: the type-specific fields kept; caller deletes
                                        (also after false; NULL when data is no object) */
} tk_ticket_input_t;

bool tk_ticket_input (jv_t *v, const cJSON *data, tk_ticket_input_t *out);

/* GET .../tickets query (params: the request's params, all strings): the
 * filters, NULL (or false) when absent or "" (borrowed from params).
 * ?limit= and ?cursor= are page.h's. */
typedef struct {
    const char *status, *type, *assignee_id, *unit_id, *q;
    const char *requester_kind;      /* ?requester_kind=internal: the hotline queue */
    bool overdue;
} tk_list_input_t;

bool tk_list_input (jv_t *v, const cJSON *params, tk_list_input_t *out);

/* POST .../tickets/{tid}/actions data: the move and what it carries. Which
 * move takes what is checked here; whether the move is possible now is
 * workflow.c's, on the loaded ticket. */
typedef struct {
    const char *action, *assignee_id, *note, *party_id, *fee_item_code;
    bool has_fee;                    /* fee was an object (its problems, if any, are in v) */
    int64_t fee_amount;              /* fen, 1..TK_FEE_MAX */
} tk_action_input_t;

bool tk_action_input (jv_t *v, const cJSON *data, tk_action_input_t *out);

/* POST .../tickets/{tid}/comments data. */
typedef struct {
    const char *body;
    bool internal;
} tk_comment_input_t;

bool tk_comment_input (jv_t *v, const cJSON *data, tk_comment_input_t *out);

/* POST .../tickets/{tid}/feedback data (回访): rating 1..5, "" comment is none. */
typedef struct {
    int64_t rating;
    const char *comment;
} tk_feedback_input_t;

bool tk_feedback_input (jv_t *v, const cJSON *data, tk_feedback_input_t *out);

/* POST .../faq (partial false) and PATCH .../faq/{faq_id} (partial true:
 * none required, but something to change). */
typedef struct {
    const char *question, *answer;   /* NULL when absent (or null) */
    char *tags_text;                 /* JSON array text, the caller's to free (also after
                                        false); NULL when absent */
} tk_faq_input_t;

bool tk_faq_input (jv_t *v, const cJSON *data, bool partial, tk_faq_input_t *out);

/* PUT .../sla-policies data: {"items": [...]} replacing the property's
 * policies. Problems are named items[i].field; items holds the valid ones
 * (in order, index = their place in the request), so that the handler can
 * check their calendars and add those problems after these. */
typedef struct {
    const char *type, *priority;
    const char *calendar_id;         /* NULL: around the clock */
    int respond_minutes, resolve_minutes;
    int warn_minutes;                /* -1: absent (the default applies) */
    int index;
} tk_sla_policy_t;

typedef struct {
    tk_sla_policy_t items[TK_SLA_POLICIES_MAX];
    int n;
} tk_sla_policies_input_t;

bool tk_sla_policies_input (jv_t *v, const cJSON *data, tk_sla_policies_input_t *out);

/* POST .../duty-shifts data; the times are RFC 3339, as epoch seconds. */
typedef struct {
    const char *post, *user_id;
    int64_t starts_at, ends_at;
    bool key_post;
} tk_shift_input_t;

bool tk_shift_input (jv_t *v, const cJSON *data, tk_shift_input_t *out);

#endif
