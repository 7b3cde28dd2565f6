/* sla_rules: the SLA policies' pure rules, no database: the built-in policy
 * of each type and priority, the default warning lead, and what a PUT of
 * policies checks and stores. sla.c reads and writes the rows around them. */
#ifndef TK_SLA_RULES_H
#define TK_SLA_RULES_H

#include "jv.h"
#include "ticket_rules.h"

#include <stdbool.h>

#define SLA_WARN_CAP_MIN 60              /* default warn: 20% of the window, at most this */

/* The built-in policy of (type, priority); false for an unknown pair. */
bool sla_default_terms (const char *type, const char *priority, int *respond_minutes,
                        int *resolve_minutes, int *warn_minutes);

/* The default warning lead of a resolution window: 20%, at least 1 minute,
 * at most SLA_WARN_CAP_MIN. */
int sla_default_warn (int resolve_minutes);

/* GET's items: every type x priority in the defaults' order, the stored
 * policy of the pair (stored[0..n), index unused) with "source":"property",
 * else the default with "source":"default". The caller's; NULL when out of
 * memory. */
cJSON *sla_policies_items (const tk_sla_policy_t *stored, int n);

/* The distinct calendars the policies name, as a PostgreSQL uuid[] literal
 * "{a,b}" (the caller frees); NULL when they name none (or out of memory). */
char *sla_calendar_ids_text (const tk_sla_policies_input_t *in);

/* Adds "items[i].calendar_id": "no such calendar in this property" to v for
 * each policy whose calendar is not among known[0..n) (the property's). */
void sla_calendars_check (jv_t *v, const tk_sla_policies_input_t *in, const char *const *known,
                          int n);

/* The rows sla_policies_insert takes: [{"type","priority","respond_minutes",
 * "resolve_minutes","warn_minutes","calendar_id"?}], an absent warn_minutes
 * defaulted. The caller's. */
cJSON *sla_policy_rows (const tk_sla_policies_input_t *in);

#endif
