/* patrol_rules: what valid input to the patrol methods (日常巡查, patrols.h)
 * is, and the patrol's pure decisions: a route's planned times ("HH:MM" in
 * the property's zone), the planned time a round started now answers, the
 * results of a checkpoint against its checklist. No database, no globals:
 * unit-tested in tests/unit/test_patrol_rules.c. Each *_input adds its
 * problems to v and returns jv_ok (v); strings are borrowed from data
 * unless said otherwise. */
#ifndef TK_PATROL_RULES_H
#define TK_PATROL_RULES_H

#include "jv.h"
#include "ticket_rules.h"

#include <stdbool.h>

#define PATROL_NAME_MAX        200    /* a route's and a checkpoint's name, bytes */
#define PATROL_CODE_MAX        32     /* a checkpoint's code ("B1-PUMP") */
#define PATROL_CHECKPOINTS_MAX 100
#define PATROL_ITEMS_MAX       50     /* items of one checklist, results of one check */
#define PATROL_ITEM_MAX        200    /* one checklist item's text */
#define PATROL_NOTE_MAX        2000
#define PATROL_TIMES_MAX       24     /* planned rounds a day */
#define PATROL_LATE_MINUTES    30     /* a planned round not started by then is missed */

/* "HH:MM" (two digits each, 00:00 .. 23:59) as minutes of the day; -1 for
 * anything else. */
int patrol_time_parse (const char *s);

/* POST .../patrol-routes (partial false) and PATCH .../patrol-routes/{id}
 * (partial true: none required, something to change). checkpoints and times
 * come back as canonical JSON texts (the caller frees them, also after
 * false): checkpoints [{"code","name","checklist":[...]}] in the order
 * given, times ["HH:MM", ...] sorted. Codes are unique in a route, items in a
 * checklist, times in a route. */
typedef struct {
    const char *name;                /* NULL: absent */
    char *checkpoints_text;          /* NULL: absent */
    char *times_text;                /* NULL: absent */
    int active;                      /* -1 absent, else 0 / 1 */
} patrol_route_input_t;

bool patrol_route_input (jv_t *v, const cJSON *data, bool partial, patrol_route_input_t *out);
void patrol_route_input_free (patrol_route_input_t *in);

/* POST .../patrols: the route and, optionally, the planned time (RFC 3339)
 * the round answers. */
typedef struct {
    const char *route_id, *planned_at;
} patrol_round_input_t;

bool patrol_round_input (jv_t *v, const cJSON *data, patrol_round_input_t *out);

/* The planned time a round started at minute now_min of the property's day
 * answers: of the route's times (a JSON array of "HH:MM"), the nearest to
 * now_min on that day (the earlier of two as near); -1 when the route plans
 * none. */
int patrol_nearest_time (const cJSON *times, int now_min);

/* True when minute is one of the route's times. */
bool patrol_time_planned (const cJSON *times, int minute);

/* POST .../patrols/{id}/checks. results: [{"item","ok","note"?}], 1 to
 * PATROL_ITEMS_MAX, an item at most once. ticket: with one, the ticket of
 * channel "patrol" it opens, checked as tickets.create checks a new ticket
 * (problems named "ticket.<field>"); its fields type, title, priority,
 * description, category, unit_id are taken, the channel is "patrol". */
typedef struct {
    const char *code;
    struct {
        const char *item, *note;
        bool ok;
    } results[PATROL_ITEMS_MAX];
    int n, failed;
    cJSON *ticket_data;              /* owned (the object tk_ticket_input read): caller deletes,
                                        also after false; NULL without a ticket */
    tk_ticket_input_t ticket;        /* borrowed from ticket_data; its data owned: caller deletes */
} patrol_check_input_t;

bool patrol_check_input (jv_t *v, const cJSON *data, patrol_check_input_t *out);
void patrol_check_input_free (patrol_check_input_t *in);

/* The checkpoint of code in a round's checkpoints (the route's JSON array
 * as the round started), or NULL. */
const cJSON *patrol_checkpoint_find (const cJSON *checkpoints, const char *code);

/* Each result's item is on the checkpoint's checklist: a problem
 * "results[i].item" for each that is not. jv_ok (v). */
bool patrol_results_on_list (jv_t *v, const cJSON *checkpoint, const patrol_check_input_t *in);

#endif
