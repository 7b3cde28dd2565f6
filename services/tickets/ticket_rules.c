/* ticket_rules: the tickets service's inputs; see ticket_rules.h. Moved out
 * of the handlers as they were: the same fields, problems and order. */
#include "ticket_rules.h"

#include "faq.h"
#include "roster.h"
#include "sla_clock.h"
#include "tickets.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- a new ticket ---------------------------------------------------------- */

/* A non-negative amount in fen. */
static void
s_fen (jv_t *v, const cJSON *obj, const char *field, const char *path, cJSON *keep)
{
    int64_t n;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive (obj, field);
    if (!x || cJSON_IsNull (x))
        return;
    jv_t w = JV_INIT;
    if (jv_int (&w, obj, field, JV_OPTIONAL, 0, TK_FEE_MAX, &n))
        cJSON_AddNumberToObject (keep, field, (double) n);
    else
        jv_problem (v, path, "must be an integer amount in fen from 0 to %lld", TK_FEE_MAX);
    jv_reset (&w);
}

/* An optional string of data, kept when valid. */
static void
s_data_string (jv_t *v, const cJSON *obj, const char *field, const char *path, size_t max,
               cJSON *keep)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive (obj, field);
    if (!x || cJSON_IsNull (x))
        return;
    jv_t w = JV_INIT;
    const char *s = jv_string (&w, obj, field, JV_OPTIONAL, max);
    if (s)
        cJSON_AddStringToObject (keep, field, s);
    else
        jv_problem (v, path, "must be a string of 1 to %zu bytes", max);
    jv_reset (&w);
}

/* The type-specific data: renovation and item_release know fields; the others take none. */
static cJSON *
s_type_data (jv_t *v, const char *type, const cJSON *data)
{
    cJSON *keep = cJSON_CreateObject ();
    if (!data || cJSON_IsNull (data))
        data = NULL;
    else if (!cJSON_IsObject (data)) {
        jv_problem (v, "data", "must be an object");
        return keep;
    }
    if (type && strcmp (type, "renovation") == 0) {
        s_fen (v, data, "deposit", "data.deposit", keep);
        s_fen (v, data, "management_fee", "data.management_fee", keep);
        s_data_string (v, data, "contractor", "data.contractor", 200, keep);
        s_data_string (v, data, "scope", "data.scope", 4000, keep);
        const char *dates[] = { "start_date", "end_date" };
        for (int i = 0; i < 2; i++) {
            jv_t w = JV_INIT;
            const char *d = data ? jv_date (&w, data, dates[i], JV_OPTIONAL) : NULL;
            if (d)
                cJSON_AddStringToObject (keep, dates[i], d);
            else if (!jv_ok (&w))
                jv_problem (v, i ? "data.end_date" : "data.start_date", "must be a date YYYY-MM-DD");
            jv_reset (&w);
        }
    }
    else if (type && strcmp (type, "item_release") == 0) {
        const cJSON *items = data ? cJSON_GetObjectItemCaseSensitive (data, "items") : NULL;
        int n = cJSON_GetArraySize (items);
        if (!cJSON_IsArray (items) || n < 1 || n > 100)
            jv_problem (v, "data.items", "must list 1 to 100 items (strings of 1 to 200 bytes)");
        else {
            cJSON *out = cJSON_AddArrayToObject (keep, "items");
            const cJSON *it;
            cJSON_ArrayForEach (it, items) {
                const char *s = cJSON_GetStringValue (it);
                size_t len = s ? strlen (s) : 0;
                if (!s || len < 1 || len > 200 || !jv_is_utf8 (s, len)) {
                    jv_problem (v, "data.items", "must list 1 to 100 items (strings of 1 to 200 bytes)");
                    break;
                }
                cJSON_AddItemToArray (out, cJSON_CreateString (s));
            }
        }
        s_data_string (v, data, "carrier", "data.carrier", 100, keep);
    }
    else if (data && cJSON_GetArraySize (data) > 0)
        jv_problem (v, "data", "only renovation and item_release tickets take data");
    return keep;
}

/* An optional text: "" and null mean none. */
static const char *
s_opt_text (jv_t *v, const cJSON *data, const char *field, size_t max)
{
    const char *s = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (data, field));
    if (s && !*s)
        return NULL;
    return jv_string (v, data, field, JV_OPTIONAL, max);
}

static const char *const s_requester_kinds[] = { "resident", "internal", NULL };

/* Who asks (the internal hotline, issue L): a resident, or a department or
 * member of staff, who is no party of the property. */
static void
s_requester (jv_t *v, const cJSON *data, tk_ticket_input_t *in)
{
    in->requester_kind = jv_enum (v, data, "requester_kind", JV_OPTIONAL, s_requester_kinds);
    in->department = s_opt_text (v, data, "department", TK_DEPARTMENT_MAX);
    bool internal = in->requester_kind && strcmp (in->requester_kind, "internal") == 0;
    if (internal && in->party_id)
        jv_problem (v, "party_id", "an internal request names no resident party");
    if (in->department && !internal)
        jv_problem (v, "department", "only an internal request (requester_kind internal) names a department");
    if (!in->requester_kind)
        in->requester_kind = "resident";
}

bool
tk_ticket_input (jv_t *v, const cJSON *data, tk_ticket_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->type = jv_enum (v, data, "type", JV_REQUIRED, wf_types);
    in->title = jv_string (v, data, "title", JV_REQUIRED, TK_TITLE_MAX);
    in->description = s_opt_text (v, data, "description", TK_TEXT_MAX);
    in->unit_id = jv_uuid (v, data, "unit_id", JV_OPTIONAL);
    in->party_id = jv_uuid (v, data, "party_id", JV_OPTIONAL);
    in->channel = jv_enum (v, data, "channel", JV_OPTIONAL, wf_channels);
    in->priority = jv_enum (v, data, "priority", JV_OPTIONAL, wf_priorities);
    in->category = s_opt_text (v, data, "category", TK_CATEGORY_MAX);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive (data, "resolve_now");
    if (now && !cJSON_IsNull (now) && !cJSON_IsBool (now))
        jv_problem (v, "resolve_now", "must be true or false");
    in->resolve_now = cJSON_IsTrue (now);
    in->faq_id = jv_uuid (v, data, "faq_id", JV_OPTIONAL);
    in->answer = s_opt_text (v, data, "answer", TK_TEXT_MAX);
    bool inquiry = in->type && strcmp (in->type, "inquiry") == 0;
    if (in->type && !inquiry) {
        if (in->resolve_now)
            jv_problem (v, "resolve_now", "only an inquiry is resolved at creation");
        if (in->faq_id)
            jv_problem (v, "faq_id", "only an inquiry is answered from the FAQ");
        if (in->answer)
            jv_problem (v, "answer", "only an inquiry takes an answer");
    }
    else if (inquiry && !in->resolve_now && (in->faq_id || in->answer))
        jv_problem (v, "resolve_now", "must be true when an answer or faq_id is given");
    in->data = s_type_data (v, in->type, cJSON_GetObjectItemCaseSensitive (data, "data"));
    s_requester (v, data, in);
    if (!in->channel)
        in->channel = "phone";
    if (!in->priority)
        in->priority = "normal";
    return jv_ok (v);
}

/* --- the list's filters ------------------------------------------------------- */

bool
tk_list_input (jv_t *v, const cJSON *params, tk_list_input_t *in)
{
    memset (in, 0, sizeof *in);
    /* "" filters nothing: check only the values given, as body fields are */
    static const char *const names[] = { "status", "type", "assignee_id", "unit_id", "q", "overdue",
                                         "requester_kind", NULL };
    cJSON *given = cJSON_CreateObject ();
    for (const char *const *n = names; *n; n++) {
        const char *s = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (params, *n));
        if (s && *s)
            cJSON_AddItemToObject (given, *n, cJSON_CreateStringReference (s));
    }
    static const char *const booleans[] = { "true", "false", NULL };
    in->status = jv_enum (v, given, "status", JV_OPTIONAL, wf_statuses);
    in->type = jv_enum (v, given, "type", JV_OPTIONAL, wf_types);
    in->assignee_id = jv_string (v, given, "assignee_id", JV_OPTIONAL, TK_USER_ID_MAX);
    in->unit_id = jv_uuid (v, given, "unit_id", JV_OPTIONAL);
    in->q = jv_string (v, given, "q", JV_OPTIONAL, TK_QUERY_MAX);
    in->requester_kind = jv_enum (v, given, "requester_kind", JV_OPTIONAL, s_requester_kinds);
    const char *overdue = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (given, "overdue"));
    if (overdue && !wf_in (booleans, overdue))
        jv_problem (v, "overdue", "must be true or false");
    in->overdue = overdue && strcmp (overdue, "true") == 0;
    cJSON_Delete (given);            /* references: the strings stay params' */
    return jv_ok (v);
}

/* --- an action ------------------------------------------------------------- */

bool
tk_action_input (jv_t *v, const cJSON *data, tk_action_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->action = jv_enum (v, data, "action", JV_REQUIRED, wf_actions);
    in->assignee_id = jv_string (v, data, "assignee_id", JV_OPTIONAL, TK_USER_ID_MAX);
    const char *note = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (data, "note"));
    in->note = note && !*note ? NULL : jv_string (v, data, "note", JV_OPTIONAL, TK_TEXT_MAX);
    in->party_id = jv_uuid (v, data, "approved_by_party_id", JV_OPTIONAL);
    const cJSON *fee = cJSON_GetObjectItemCaseSensitive (data, "fee");
    if (fee && !cJSON_IsNull (fee)) {
        if (!cJSON_IsObject (fee))
            jv_problem (v, "fee", "must be an object {\"amount\",\"fee_item_code\"?}");
        else {
            jv_t w = JV_INIT;
            if (!jv_int (&w, fee, "amount", JV_REQUIRED, 1, TK_FEE_MAX, &in->fee_amount))
                jv_problem (v, "fee.amount", "must be an integer amount in fen from 1 to %lld",
                            TK_FEE_MAX);
            in->fee_item_code = jv_string (&w, fee, "fee_item_code", JV_OPTIONAL, 64);
            if (!in->fee_item_code && cJSON_GetObjectItemCaseSensitive (fee, "fee_item_code")
                && !cJSON_IsNull (cJSON_GetObjectItemCaseSensitive (fee, "fee_item_code")))
                jv_problem (v, "fee.fee_item_code", "must be a string of 1 to 64 bytes");
            jv_reset (&w);
            in->has_fee = true;
        }
    }
    if (in->action) {
        bool assigns = strcmp (in->action, "assign") == 0 || strcmp (in->action, "escalate") == 0;
        if (in->assignee_id && !assigns)
            jv_problem (v, "assignee_id", "only assign and escalate take an assignee");
        else if (in->assignee_id && !*in->assignee_id)
            jv_problem (v, "assignee_id", "must be a user id (leave it out to pick who is on duty)");
        if (in->has_fee && strcmp (in->action, "resolve") != 0)
            jv_problem (v, "fee", "only resolve takes a fee");
        if (in->party_id && strcmp (in->action, "approve") != 0)
            jv_problem (v, "approved_by_party_id", "only approve takes it");
    }
    return jv_ok (v);
}

/* --- a comment, a follow-up call ----------------------------------------------- */

bool
tk_comment_input (jv_t *v, const cJSON *data, tk_comment_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (jv_object (v, data)) {
        in->body = jv_string (v, data, "body", JV_REQUIRED, TK_TEXT_MAX);
        const cJSON *internal = cJSON_GetObjectItemCaseSensitive (data, "internal");
        if (internal && !cJSON_IsNull (internal) && !cJSON_IsBool (internal))
            jv_problem (v, "internal", "must be true or false");
        in->internal = cJSON_IsTrue (internal);
    }
    return jv_ok (v);
}

bool
tk_feedback_input (jv_t *v, const cJSON *data, tk_feedback_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (jv_object (v, data)) {
        jv_int (v, data, "rating", JV_REQUIRED, 1, 5, &in->rating);
        const char *c = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (data, "comment"));
        in->comment = c && !*c ? NULL
                    : jv_string (v, data, "comment", JV_OPTIONAL, TK_FEEDBACK_COMMENT_MAX);
    }
    return jv_ok (v);
}

/* --- a FAQ entry ------------------------------------------------------------- */

bool
tk_faq_input (jv_t *v, const cJSON *data, bool partial, tk_faq_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->question = jv_string (v, data, "question", !partial, FAQ_QUESTION_MAX);
    in->answer = jv_string (v, data, "answer", !partial, FAQ_ANSWER_MAX);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive (data, "tags");
    if (tags && !cJSON_IsNull (tags)) {
        if (!cJSON_IsArray (tags) || cJSON_GetArraySize (tags) > FAQ_TAGS_MAX)
            jv_problem (v, "tags", "must be an array of at most %d texts", FAQ_TAGS_MAX);
        else {
            int i = 0;
            const cJSON *t;
            cJSON_ArrayForEach (t, tags) {
                const char *s = cJSON_GetStringValue (t);
                if (!s || !*s || strlen (s) > FAQ_TAG_MAX || !jv_is_utf8 (s, strlen (s)))
                    jv_problem (v, "tags", "tags[%d] must be a text of 1 to %d bytes", i, FAQ_TAG_MAX);
                i++;
            }
        }
        if (jv_ok (v))
            in->tags_text = cJSON_PrintUnformatted (tags);
    }
    if (partial && jv_ok (v) && !in->question && !in->answer && !in->tags_text)
        jv_problem (v, "body", "nothing to change: give question, answer or tags");
    return jv_ok (v);
}

/* --- the SLA policies ---------------------------------------------------------- */

bool
tk_sla_policies_input (jv_t *v, const cJSON *data, tk_sla_policies_input_t *out)
{
    memset (out, 0, sizeof *out);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive (data, "items");
    if (!jv_object (v, data) || !cJSON_IsArray (items)) {
        if (jv_ok (v))
            jv_problem (v, "items", "is required: an array of policies");
        return false;
    }
    if (cJSON_GetArraySize (items) > TK_SLA_POLICIES_MAX) {
        jv_problem (v, "items", "at most one policy per type and priority");
        return false;
    }
    int index = 0;
    const cJSON *item;
    cJSON_ArrayForEach (item, items) {
        char f[64];
        jv_t iv = JV_INIT;
        if (!cJSON_IsObject (item)) {
            snprintf (f, sizeof f, "items[%d]", index);
            jv_problem (v, f, "must be an object");
            index++;
            continue;
        }
        const char *type = jv_enum (&iv, item, "type", JV_REQUIRED, wf_types);
        const char *priority = jv_enum (&iv, item, "priority", JV_REQUIRED, wf_priorities);
        int64_t respond = 0, resolve = 0, warn = -1;
        bool has_respond = jv_int (&iv, item, "respond_minutes", JV_REQUIRED, 1, TK_SLA_MINUTES_MAX,
                                   &respond);
        bool has_resolve = jv_int (&iv, item, "resolve_minutes", JV_REQUIRED, 1, TK_SLA_MINUTES_MAX,
                                   &resolve);
        bool has_warn = jv_int (&iv, item, "warn_minutes", JV_OPTIONAL, 0, TK_SLA_MINUTES_MAX, &warn);
        const char *cal = jv_uuid (&iv, item, "calendar_id", JV_OPTIONAL);
        if (has_respond && has_resolve && resolve < respond)
            jv_problem (&iv, "resolve_minutes", "must not be less than respond_minutes");
        if (has_warn && has_resolve && warn >= resolve)
            jv_problem (&iv, "warn_minutes", "must be less than resolve_minutes");
        /* the same pair twice: which one would win is not for us to guess */
        int j = 0;
        const cJSON *other;
        cJSON_ArrayForEach (other, items) {
            if (j++ >= index)
                break;
            const char *ot = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (other, "type"));
            const char *op = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (other, "priority"));
            if (type && priority && ot && op && strcmp (ot, type) == 0 && strcmp (op, priority) == 0) {
                jv_problem (&iv, "priority", "this type and priority are listed twice (items[%d])", j - 1);
                break;
            }
        }
        /* the problems of one item, named items[i].field */
        const cJSON *d;
        cJSON_ArrayForEach (d, iv.details) {
            snprintf (f, sizeof f, "items[%d].%s", index,
                      cJSON_GetStringValue (cJSON_GetObjectItem (d, "field")));
            jv_problem (v, f, "%s", cJSON_GetStringValue (cJSON_GetObjectItem (d, "problem")));
        }
        if (jv_ok (&iv)) {
            tk_sla_policy_t *p = &out->items[out->n++];
            p->type = type;
            p->priority = priority;
            p->calendar_id = cal;
            p->respond_minutes = (int) respond;
            p->resolve_minutes = (int) resolve;
            p->warn_minutes = has_warn ? (int) warn : -1;
            p->index = index;
        }
        jv_reset (&iv);
        index++;
    }
    return jv_ok (v);
}

/* --- a duty shift -------------------------------------------------------------- */

/* A time field of obj (RFC 3339) into out; false after a problem. */
static bool
s_time (jv_t *v, const cJSON *obj, const char *field, bool required, int64_t *out)
{
    const char *s = jv_string (v, obj, field, required, 40);
    if (!s)
        return false;
    if (!sla_parse_time (s, false, out)) {
        jv_problem (v, field, "must be an RFC 3339 time (2026-11-27T08:00:00Z)");
        return false;
    }
    return true;
}

bool
tk_shift_input (jv_t *v, const cJSON *data, tk_shift_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (jv_object (v, data)) {
        in->post = jv_string (v, data, "post", JV_REQUIRED, ROSTER_POST_MAX);
        in->user_id = jv_string (v, data, "user_id", JV_REQUIRED, ROSTER_USER_MAX);
        bool has_s = s_time (v, data, "starts_at", JV_REQUIRED, &in->starts_at);
        bool has_e = s_time (v, data, "ends_at", JV_REQUIRED, &in->ends_at);
        if (has_s && has_e && in->ends_at <= in->starts_at)
            jv_problem (v, "ends_at", "must be after starts_at");
        else if (has_s && has_e && in->ends_at - in->starts_at > TK_SHIFT_MAX_S)
            jv_problem (v, "ends_at", "a shift lasts at most 31 days");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive (data, "key_post");
        if (k && !cJSON_IsNull (k) && !cJSON_IsBool (k))
            jv_problem (v, "key_post", "must be true or false");
        in->key_post = cJSON_IsTrue (k);
    }
    return jv_ok (v);
}
