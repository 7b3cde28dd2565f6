/* patrol_rules: the patrol's inputs and pure decisions; see patrol_rules.h. */
#include "patrol_rules.h"

#include "civil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
patrol_time_parse (const char *s)
{
    if (!s || strlen (s) != 5 || s[2] != ':')
        return -1;
    int h = civil_digits (s, 2), m = civil_digits (s + 3, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    return h * 60 + m;
}

/* --- routes ---------------------------------------------------------------- */

static int
s_cmp_int (const void *a, const void *b)
{
    return *(const int *) a - *(const int *) b;
}

/* times: an array of distinct "HH:MM", as a sorted canonical array text. */
static char *
s_times (jv_t *v, const cJSON *arr)
{
    if (!cJSON_IsArray (arr) || cJSON_GetArraySize (arr) > PATROL_TIMES_MAX) {
        jv_problem (v, "times", "must be an array of at most %d times HH:MM", PATROL_TIMES_MAX);
        return NULL;
    }
    int mins[PATROL_TIMES_MAX], n = 0, i = 0;
    const cJSON *t;
    cJSON_ArrayForEach (t, arr) {
        int m = patrol_time_parse (cJSON_GetStringValue (t));
        char field[32];
        snprintf (field, sizeof field, "times[%d]", i++);
        if (m < 0) {
            jv_problem (v, field, "must be a time of day HH:MM (00:00 to 23:59)");
            continue;
        }
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup = dup || mins[k] == m;
        if (dup)
            jv_problem (v, field, "is given twice");
        else
            mins[n++] = m;
    }
    if (!jv_ok (v))
        return NULL;
    qsort (mins, (size_t) n, sizeof mins[0], s_cmp_int);
    cJSON *out = cJSON_CreateArray ();
    for (int k = 0; out && k < n; k++) {
        char hm[16];
        snprintf (hm, sizeof hm, "%02d:%02d", mins[k] / 60, mins[k] % 60);
        cJSON_AddItemToArray (out, cJSON_CreateString (hm));
    }
    char *text = out ? cJSON_PrintUnformatted (out) : NULL;
    cJSON_Delete (out);
    return text;
}

/* One checkpoint's checklist into out (an array of distinct item texts). */
static void
s_checklist (jv_t *v, const cJSON *list, const char *at, cJSON *out)
{
    char field[64];
    snprintf (field, sizeof field, "%s.checklist", at);
    int n = cJSON_GetArraySize (list);
    if (!cJSON_IsArray (list) || n < 1 || n > PATROL_ITEMS_MAX) {
        jv_problem (v, field, "must be an array of 1 to %d items", PATROL_ITEMS_MAX);
        return;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem (list, i);
        const char *s = cJSON_GetStringValue (it);
        snprintf (field, sizeof field, "%s.checklist[%d]", at, i);
        size_t len = s ? strlen (s) : 0;
        if (!s || len < 1 || len > PATROL_ITEM_MAX || !jv_is_utf8 (s, len)) {
            jv_problem (v, field, "must be a text of 1 to %d bytes", PATROL_ITEM_MAX);
            continue;
        }
        for (int k = 0; k < i; k++)
            if (strcmp (s, cJSON_GetStringValue (cJSON_GetArrayItem (list, k)) ?: "") == 0) {
                jv_problem (v, field, "is on the checklist twice");
                s = NULL;
                break;
            }
        if (s)
            cJSON_AddItemToArray (out, cJSON_CreateString (s));
    }
}

/* checkpoints: 1..PATROL_CHECKPOINTS_MAX of {"code","name","checklist"}, as
 * canonical array text (the known fields only). */
static char *
s_checkpoints (jv_t *v, const cJSON *arr)
{
    int n = cJSON_GetArraySize (arr);
    if (!cJSON_IsArray (arr) || n < 1 || n > PATROL_CHECKPOINTS_MAX) {
        jv_problem (v, "checkpoints", "must be an array of 1 to %d checkpoints", PATROL_CHECKPOINTS_MAX);
        return NULL;
    }
    cJSON *out = cJSON_CreateArray ();
    for (int i = 0; out && i < n; i++) {
        const cJSON *cp = cJSON_GetArrayItem (arr, i);
        char at[32], field[48];
        snprintf (at, sizeof at, "checkpoints[%d]", i);
        if (!cJSON_IsObject (cp)) {
            jv_problem (v, at, "must be an object {\"code\",\"name\",\"checklist\"}");
            continue;
        }
        jv_t one = JV_INIT;
        const char *code = jv_string (&one, cp, "code", JV_REQUIRED, PATROL_CODE_MAX);
        const char *name = jv_string (&one, cp, "name", JV_REQUIRED, PATROL_NAME_MAX);
        cJSON *d;
        cJSON_ArrayForEach (d, one.details) {
            const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (d, "field"));
            snprintf (field, sizeof field, "%s.%s", at, f ? f : "");
            jv_problem (v, field, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem")) ?: "");
        }
        jv_reset (&one);
        for (int k = 0; code && k < i; k++) {
            const char *other = cJSON_GetStringValue (
                cJSON_GetObjectItemCaseSensitive (cJSON_GetArrayItem (arr, k), "code"));
            if (other && strcmp (other, code) == 0) {
                snprintf (field, sizeof field, "%s.code", at);
                jv_problem (v, field, "is the code of another checkpoint of the route");
                break;
            }
        }
        cJSON *list = cJSON_CreateArray ();
        s_checklist (v, cJSON_GetObjectItemCaseSensitive (cp, "checklist"), at, list);
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "code", code ? code : "");
        cJSON_AddStringToObject (o, "name", name ? name : "");
        cJSON_AddItemToObject (o, "checklist", list);
        cJSON_AddItemToArray (out, o);
    }
    char *text = jv_ok (v) && out ? cJSON_PrintUnformatted (out) : NULL;
    cJSON_Delete (out);
    return text;
}

bool
patrol_route_input (jv_t *v, const cJSON *data, bool partial, patrol_route_input_t *in)
{
    *in = (patrol_route_input_t) { .active = -1 };
    if (!jv_object (v, data))
        return false;
    in->name = jv_string (v, data, "name", !partial, PATROL_NAME_MAX);
    const cJSON *cps = cJSON_GetObjectItemCaseSensitive (data, "checkpoints");
    if (cps && !cJSON_IsNull (cps))
        in->checkpoints_text = s_checkpoints (v, cps);
    else if (!partial)
        jv_problem (v, "checkpoints", "is required");
    const cJSON *times = cJSON_GetObjectItemCaseSensitive (data, "times");
    if (times && !cJSON_IsNull (times))
        in->times_text = s_times (v, times);
    else if (!partial)
        jv_problem (v, "times", "is required");
    const cJSON *active = cJSON_GetObjectItemCaseSensitive (data, "active");
    if (active && !cJSON_IsNull (active)) {
        if (!cJSON_IsBool (active))
            jv_problem (v, "active", "must be true or false");
        else if (!partial)
            jv_problem (v, "active", "a new route is active; change it with PATCH");
        else
            in->active = cJSON_IsTrue (active);
    }
    if (partial && jv_ok (v) && !in->name && !in->checkpoints_text && !in->times_text && in->active < 0)
        jv_problem (v, "body", "must change name, checkpoints, times or active");
    return jv_ok (v);
}

void
patrol_route_input_free (patrol_route_input_t *in)
{
    free (in->checkpoints_text);
    free (in->times_text);
    in->checkpoints_text = in->times_text = NULL;
}

/* --- rounds ---------------------------------------------------------------- */

bool
patrol_round_input (jv_t *v, const cJSON *data, patrol_round_input_t *in)
{
    *in = (patrol_round_input_t) { 0 };
    if (!jv_object (v, data))
        return false;
    in->route_id = jv_uuid (v, data, "route_id", JV_REQUIRED);
    in->planned_at = jv_string (v, data, "planned_at", JV_OPTIONAL, 40);
    int64_t us;
    if (in->planned_at && !civil_parse_time (in->planned_at, &us)) {
        jv_problem (v, "planned_at", "must be an RFC 3339 time");
        in->planned_at = NULL;
    }
    return jv_ok (v);
}

int
patrol_nearest_time (const cJSON *times, int now_min)
{
    int best = -1;
    const cJSON *t;
    cJSON_ArrayForEach (t, times) {
        int m = patrol_time_parse (cJSON_GetStringValue (t));
        if (m < 0)
            continue;
        if (best < 0 || abs (m - now_min) < abs (best - now_min)
            || (abs (m - now_min) == abs (best - now_min) && m < best))
            best = m;
    }
    return best;
}

bool
patrol_time_planned (const cJSON *times, int minute)
{
    const cJSON *t;
    cJSON_ArrayForEach (t, times)
        if (patrol_time_parse (cJSON_GetStringValue (t)) == minute)
            return true;
    return false;
}

/* --- checks ---------------------------------------------------------------- */

/* results: [{"item","ok","note"?}] into in. */
static void
s_results (jv_t *v, const cJSON *arr, patrol_check_input_t *in)
{
    int n = cJSON_GetArraySize (arr);
    if (!cJSON_IsArray (arr) || n < 1 || n > PATROL_ITEMS_MAX) {
        jv_problem (v, "results", "must be an array of 1 to %d results", PATROL_ITEMS_MAX);
        return;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *r = cJSON_GetArrayItem (arr, i);
        char at[32], field[48];
        snprintf (at, sizeof at, "results[%d]", i);
        if (!cJSON_IsObject (r)) {
            jv_problem (v, at, "must be an object {\"item\",\"ok\",\"note\"?}");
            continue;
        }
        const char *item = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (r, "item"));
        size_t len = item ? strlen (item) : 0;
        snprintf (field, sizeof field, "%s.item", at);
        if (!item || len < 1 || len > PATROL_ITEM_MAX || !jv_is_utf8 (item, len)) {
            jv_problem (v, field, "must be a checklist item's text");
            item = NULL;
        }
        for (int k = 0; item && k < in->n; k++)
            if (strcmp (in->results[k].item, item) == 0) {
                jv_problem (v, field, "has a result already");
                item = NULL;
            }
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive (r, "ok");
        if (!cJSON_IsBool (ok)) {
            snprintf (field, sizeof field, "%s.ok", at);
            jv_problem (v, field, "must be true or false");
        }
        const cJSON *note = cJSON_GetObjectItemCaseSensitive (r, "note");
        const char *text = NULL;
        if (note && !cJSON_IsNull (note)) {
            text = cJSON_GetStringValue (note);
            len = text ? strlen (text) : 0;
            if (!text || len > PATROL_NOTE_MAX || !jv_is_utf8 (text, len)) {
                snprintf (field, sizeof field, "%s.note", at);
                jv_problem (v, field, "must be a text of at most %d bytes", PATROL_NOTE_MAX);
            }
            if (text && !*text)
                text = NULL;
        }
        if (item && cJSON_IsBool (ok)) {
            in->results[in->n].item = item;
            in->results[in->n].ok = cJSON_IsTrue (ok);
            in->results[in->n].note = text;
            in->failed += !cJSON_IsTrue (ok);
            in->n++;
        }
    }
}

/* ticket: the new ticket's fields (those a patrol may set), with channel
 * "patrol" and requester_kind "internal", read by tk_ticket_input; its problems named "ticket.<field>". */
static void
s_ticket (jv_t *v, const cJSON *ticket, patrol_check_input_t *in)
{
    if (!cJSON_IsObject (ticket)) {
        jv_problem (v, "ticket", "must be an object {\"type\",\"title\",\"priority\"?}");
        return;
    }
    static const char *const taken[] = { "type", "title", "priority", "description", "category", "unit_id", NULL };
    in->ticket_data = cJSON_CreateObject ();
    for (const char *const *f = taken; *f && in->ticket_data; f++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive (ticket, *f);
        if (x)
            cJSON_AddItemToObject (in->ticket_data, *f, cJSON_Duplicate (x, true));
    }
    /* raised by the staff walking the round: an internal request */
    cJSON_AddStringToObject (in->ticket_data, "channel", "patrol");
    cJSON_AddStringToObject (in->ticket_data, "requester_kind", "internal");
    jv_t one = JV_INIT;
    tk_ticket_input (&one, in->ticket_data, &in->ticket);
    cJSON *d;
    cJSON_ArrayForEach (d, one.details) {
        const char *f = cJSON_GetStringValue (cJSON_GetObjectItem (d, "field"));
        char field[64];
        snprintf (field, sizeof field, "ticket.%s", f ? f : "");
        jv_problem (v, field, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem")) ?: "");
    }
    jv_reset (&one);
}

bool
patrol_check_input (jv_t *v, const cJSON *data, patrol_check_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->code = jv_string (v, data, "checkpoint_code", JV_REQUIRED, PATROL_CODE_MAX);
    s_results (v, cJSON_GetObjectItemCaseSensitive (data, "results"), in);
    const cJSON *ticket = cJSON_GetObjectItemCaseSensitive (data, "ticket");
    if (ticket && !cJSON_IsNull (ticket))
        s_ticket (v, ticket, in);
    return jv_ok (v);
}

void
patrol_check_input_free (patrol_check_input_t *in)
{
    cJSON_Delete (in->ticket.data);
    cJSON_Delete (in->ticket_data);
    in->ticket.data = in->ticket_data = NULL;
}

const cJSON *
patrol_checkpoint_find (const cJSON *checkpoints, const char *code)
{
    const cJSON *cp;
    cJSON_ArrayForEach (cp, checkpoints) {
        const char *c = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (cp, "code"));
        if (code && c && strcmp (c, code) == 0)
            return cp;
    }
    return NULL;
}

bool
patrol_results_on_list (jv_t *v, const cJSON *checkpoint, const patrol_check_input_t *in)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive (checkpoint, "checklist");
    for (int i = 0; i < in->n; i++) {
        bool found = false;
        const cJSON *it;
        cJSON_ArrayForEach (it, list) {
            const char *s = cJSON_GetStringValue (it);
            found = found || (s && strcmp (s, in->results[i].item) == 0);
        }
        if (!found) {
            char field[48];
            snprintf (field, sizeof field, "results[%d].item", i);
            jv_problem (v, field, "is not on the checklist of checkpoint %s", in->code);
        }
    }
    return jv_ok (v);
}
