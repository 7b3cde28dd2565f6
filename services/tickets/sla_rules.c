/* sla_rules: the SLA policies' pure rules; see sla_rules.h. */
#include "sla_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_priorities[] = { "urgent", "high", "normal", "low", NULL };

/* minutes to respond / resolve by priority (urgent, high, normal, low); a
 * customer-service manager's usual figures, changed per property by PUT */
static const struct {
    const char *type;
    int respond[4];
    int resolve[4];
} s_defaults[] = {
    { "repair",       { 15, 30, 60, 240 },    { 240, 480, 1440, 4320 } },
    { "complaint",    { 15, 30, 30, 60 },     { 480, 1440, 1440, 2880 } },
    { "inquiry",      { 5, 10, 15, 30 },      { 30, 60, 60, 240 } },
    { "suggestion",   { 30, 60, 120, 240 },   { 1440, 2880, 4320, 10080 } },
    { "renovation",   { 60, 240, 480, 1440 }, { 1440, 2880, 4320, 7200 } },
    { "item_release", { 10, 15, 30, 60 },     { 30, 60, 120, 240 } },
    { "move_in",      { 60, 120, 240, 480 },  { 1440, 2880, 4320, 7200 } },
    { "move_out",     { 60, 120, 240, 480 },  { 1440, 2880, 4320, 7200 } },
    { "parking",      { 60, 120, 240, 480 },  { 1440, 2880, 4320, 10080 } },
    { "other",        { 30, 60, 120, 240 },   { 480, 1440, 2880, 4320 } },
};
#define S_NDEFAULTS (sizeof s_defaults / sizeof s_defaults[0])

/* the input's bound is the defaults' size: one policy per type and priority */
_Static_assert (S_NDEFAULTS * 4 == TK_SLA_POLICIES_MAX, "TK_SLA_POLICIES_MAX: types x priorities");

static int
s_priority_index (const char *priority)
{
    for (int i = 0; s_priorities[i]; i++)
        if (priority && strcmp (priority, s_priorities[i]) == 0)
            return i;
    return -1;
}

int
sla_default_warn (int resolve_minutes)
{
    int w = resolve_minutes / 5;
    return w < 1 ? 1 : w > SLA_WARN_CAP_MIN ? SLA_WARN_CAP_MIN : w;
}

bool
sla_default_terms (const char *type, const char *priority, int *respond_minutes,
                   int *resolve_minutes, int *warn_minutes)
{
    int p = s_priority_index (priority);
    for (size_t i = 0; p >= 0 && type && i < S_NDEFAULTS; i++)
        if (strcmp (type, s_defaults[i].type) == 0) {
            *respond_minutes = s_defaults[i].respond[p];
            *resolve_minutes = s_defaults[i].resolve[p];
            *warn_minutes = sla_default_warn (*resolve_minutes);
            return true;
        }
    return false;
}

/* {"type","priority","respond_minutes","resolve_minutes","warn_minutes",
 *  "calendar_id"}: what GET shows and what the insert takes ("source" and
 * a null calendar_id are GET's). */
static cJSON *
s_policy_json (const tk_sla_policy_t *p)
{
    cJSON *j = cJSON_CreateObject ();
    cJSON_AddStringToObject (j, "type", p->type);
    cJSON_AddStringToObject (j, "priority", p->priority);
    cJSON_AddNumberToObject (j, "respond_minutes", p->respond_minutes);
    cJSON_AddNumberToObject (j, "resolve_minutes", p->resolve_minutes);
    cJSON_AddNumberToObject (j, "warn_minutes", p->warn_minutes >= 0 ? p->warn_minutes
                                                : sla_default_warn (p->resolve_minutes));
    if (p->calendar_id)
        cJSON_AddStringToObject (j, "calendar_id", p->calendar_id);
    return j;
}

/* The stored policy of (type, priority), else NULL. */
static const tk_sla_policy_t *
s_stored (const tk_sla_policy_t *stored, int n, const char *type, const char *priority)
{
    for (int i = 0; i < n; i++)
        if (strcmp (stored[i].type, type) == 0 && strcmp (stored[i].priority, priority) == 0)
            return &stored[i];
    return NULL;
}

cJSON *
sla_policies_items (const tk_sla_policy_t *stored, int n)
{
    cJSON *items = cJSON_CreateArray ();
    for (size_t t = 0; items && t < S_NDEFAULTS; t++)
        for (int p = 0; s_priorities[p]; p++) {
            const tk_sla_policy_t *own = s_stored (stored, n, s_defaults[t].type, s_priorities[p]);
            tk_sla_policy_t dflt = { .type = s_defaults[t].type, .priority = s_priorities[p],
                                     .respond_minutes = s_defaults[t].respond[p],
                                     .resolve_minutes = s_defaults[t].resolve[p], .warn_minutes = -1 };
            cJSON *item = s_policy_json (own ? own : &dflt);
            if (!cJSON_HasObjectItem (item, "calendar_id"))
                cJSON_AddNullToObject (item, "calendar_id");
            cJSON_AddStringToObject (item, "source", own ? "property" : "default");
            cJSON_AddItemToArray (items, item);
        }
    return items;
}

/* True when an earlier policy than in->items[i] names the same calendar. */
static bool
s_named_before (const tk_sla_policies_input_t *in, int i)
{
    for (int k = 0; k < i; k++)
        if (in->items[k].calendar_id && strcmp (in->items[k].calendar_id, in->items[i].calendar_id) == 0)
            return true;
    return false;
}

char *
sla_calendar_ids_text (const tk_sla_policies_input_t *in)
{
    /* "{" + n x (36 + ",") + "}" */
    size_t cap = (size_t) in->n * 37 + 3, len = 0;
    char *text = malloc (cap);
    if (!text)
        return NULL;
    text[len++] = '{';
    for (int i = 0; i < in->n; i++)
        if (in->items[i].calendar_id && !s_named_before (in, i))
            len += (size_t) snprintf (text + len, cap - len, "%s%s", len > 1 ? "," : "",
                                      in->items[i].calendar_id);
    if (len == 1) {
        free (text);
        return NULL;
    }
    snprintf (text + len, cap - len, "}");
    return text;
}

void
sla_calendars_check (jv_t *v, const tk_sla_policies_input_t *in, const char *const *known, int n)
{
    for (int i = 0; i < in->n; i++) {
        const char *cal = in->items[i].calendar_id;
        bool found = !cal;
        for (int k = 0; k < n && !found; k++)
            found = strcmp (known[k], cal) == 0;
        if (!found) {
            char field[64];
            snprintf (field, sizeof field, "items[%d].calendar_id", in->items[i].index);
            jv_problem (v, field, "no such calendar in this property");
        }
    }
}

cJSON *
sla_policy_rows (const tk_sla_policies_input_t *in)
{
    cJSON *rows = cJSON_CreateArray ();
    for (int i = 0; rows && i < in->n; i++)
        cJSON_AddItemToArray (rows, s_policy_json (&in->items[i]));
    return rows;
}
