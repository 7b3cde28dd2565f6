/* input_rules: notifications' request bodies, pure (see input_rules.h). */
#include "input_rules.h"

#include "netguard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_ann_channels[] = { "inbox", "sms", "email", "preferred", NULL };
static const char *const s_pref_channels[] = { "inbox", "sms", "email", NULL };
static const char *const s_locales[] = { "zh-CN", "en", NULL };
static const char *const s_uses[] = { "residential", "office", "retail", "hotel", "parking",
                                      "storage", "other", NULL };

static const char *const s_event_types[] = {
    "property.created", "unit.created", "unit.updated", "party.created", "party.updated",
    "occupancy.started", "occupancy.ended", "parking.lease.started", "parking.lease.ended",
    "ticket.created", "ticket.assigned", "ticket.resolved", "ticket.closed", "ticket.escalated",
    "ticket.fee_charged", "ticket.feedback", "ticket.renovation_approved", "ticket.renovation_accepted",
    "ticket.sla_warning", "ticket.sla_breached", "payment.received", "payment.reversed",
    "deposit.refunded", "bill.issued", "bill.overdue", NULL
};

size_t
nt_utf8_chars (const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

int
nt_audience_parse (const char *s, nt_audience_t *out, const char **why)
{
    memset (out, 0, sizeof *out);
    *why = "must be all, building:<building> or use:<use>";
    if (!s)
        return -1;
    if (strcmp (s, "all") == 0) {
        out->kind = "all";
        return 0;
    }
    if (strncmp (s, "building:", 9) == 0) {
        const char *b = s + 9;
        if (!*b || strlen (b) > NT_ANN_BUILDING_MAX) {
            *why = "building:<building> needs a building of 1 to 64 bytes";
            return -1;
        }
        out->kind = "building";
        out->building = b;
        return 0;
    }
    if (strncmp (s, "use:", 4) == 0) {
        for (int i = 0; s_uses[i]; i++)
            if (strcmp (s + 4, s_uses[i]) == 0) {
                out->kind = "use";
                out->use = s + 4;
                return 0;
            }
        *why = "use:<use> needs one of residential, office, retail, hotel, parking, storage, other";
        return -1;
    }
    return -1;
}

/* channels: 1..max distinct of allowed, as a PostgreSQL array literal of
 * the allowed words only (nothing from outside reaches the literal); false
 * when absent or after a problem. */
static bool
s_channels_parse (jv_t *v, const cJSON *data, const char *const *allowed, int max, const char *words,
                  char out[NT_CHANNELS_TEXT])
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive (data, "channels");
    if (!arr || cJSON_IsNull (arr))
        return false;
    int n = cJSON_IsArray (arr) ? cJSON_GetArraySize (arr) : -1;
    if (n < 1 || n > max) {
        jv_problem (v, "channels", "must be an array of 1 to %d of %s", max, words);
        return false;
    }
    bool seen[4] = { false, false, false, false };
    char lit[NT_CHANNELS_TEXT] = "{";
    const cJSON *it;
    cJSON_ArrayForEach (it, arr) {
        int k = -1;
        for (int i = 0; cJSON_IsString (it) && allowed[i]; i++)
            if (strcmp (it->valuestring, allowed[i]) == 0)
                k = i;
        if (k < 0) {
            jv_problem (v, "channels", "must hold only %s", max == 4 ? "inbox, sms, email or preferred"
                                                                     : "inbox, sms or email");
            return false;
        }
        if (seen[k]) {
            jv_problem (v, "channels", "names %s twice", allowed[k]);
            return false;
        }
        seen[k] = true;
        if (lit[1])
            strcat (lit, ",");
        strcat (lit, allowed[k]);
    }
    strcat (lit, "}");
    memcpy (out, lit, sizeof lit);
    return true;
}

/* A required text of 1..max characters (jv_string counts bytes: a Chinese
 * character is 3 of them, and the limits are characters). */
static const char *
s_text (jv_t *v, const cJSON *data, const char *field, size_t max)
{
    const char *s = jv_string (v, data, field, JV_REQUIRED, max * 4);
    if (s && nt_utf8_chars (s) > max) {
        jv_problem (v, field, "must be at most %zu characters", max);
        return NULL;
    }
    return s;
}

bool
nt_announcement_input (jv_t *v, const cJSON *data, nt_announcement_input_t *in)
{
    memset (in, 0, sizeof *in);
    strcpy (in->channels, "{inbox}");
    if (!jv_object (v, data))
        return false;
    in->title = s_text (v, data, "title", NT_ANN_TITLE_MAX);
    in->body = s_text (v, data, "body", NT_ANN_BODY_MAX);
    in->audience = jv_string (v, data, "audience", JV_REQUIRED, 9 + NT_ANN_BUILDING_MAX);
    const char *why;
    if (in->audience && nt_audience_parse (in->audience, &in->aud, &why)) {
        jv_problem (v, "audience", "%s", why);
        in->audience = NULL;
    }
    (void) s_channels_parse (v, data, s_ann_channels, 4, "inbox, sms, email, preferred", in->channels);
    return jv_ok (v);
}

bool
nt_preferences_input (jv_t *v, const cJSON *data, nt_preferences_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->has_channels = s_channels_parse (v, data, s_pref_channels, NT_PREF_CHANNELS_MAX,
                                         "inbox, sms, email", in->channels);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive (data, "opt_out");
    if (cJSON_IsBool (o))
        in->opt_out = cJSON_IsTrue (o) ? "true" : "false";
    else if (o && !cJSON_IsNull (o))
        jv_problem (v, "opt_out", "must be true or false");
    in->locale = jv_enum (v, data, "locale", JV_OPTIONAL, s_locales);
    if (jv_ok (v) && !in->has_channels && !in->opt_out && !in->locale)
        jv_problem (v, "body", "must set at least one of channels, opt_out, locale");
    return jv_ok (v);
}

bool
nt_webhook_event_known (const char *type)
{
    if (!type)
        return false;
    if (strcmp (type, "*") == 0)
        return true;
    for (int i = 0; s_event_types[i]; i++)
        if (strcmp (type, s_event_types[i]) == 0)
            return true;
    return false;
}

/* The url field: present and valid, else a problem. */
static const char *
s_url (jv_t *v, const cJSON *data, bool required, const nt_webhook_caller_t *caller)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive (data, "url");
    if (!u) {
        if (required)
            jv_problem (v, "url", "is required");
        return NULL;
    }
    if (!cJSON_IsString (u)) {
        jv_problem (v, "url", "must be a string");
        return NULL;
    }
    char problem[160];
    if (ng_webhook_url_check (u->valuestring, caller->allow_private, caller->allow_http, problem)) {
        jv_problem (v, "url", "%s", problem);
        return NULL;
    }
    return u->valuestring;
}

/* The events field as a JSON array text of known, distinct types (caller frees). */
static char *
s_events (jv_t *v, const cJSON *data, bool required, const nt_webhook_caller_t *caller)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive (data, "events");
    if (!ev) {
        if (required)
            jv_problem (v, "events", "is required");
        return NULL;
    }
    if (!cJSON_IsArray (ev) || cJSON_GetArraySize (ev) == 0) {
        jv_problem (v, "events", "must be a non-empty array of event types");
        return NULL;
    }
    if (cJSON_GetArraySize (ev) > NT_WEBHOOK_EVENTS_MAX) {
        jv_problem (v, "events", "must hold at most %d types", NT_WEBHOOK_EVENTS_MAX);
        return NULL;
    }
    bool ok = true;
    cJSON *out = cJSON_CreateArray ();
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach (it, ev) {
        char field[32];
        snprintf (field, sizeof field, "events[%d]", i++);
        if (!cJSON_IsString (it) || !nt_webhook_event_known (it->valuestring)) {
            jv_problem (v, field, "is not an event type (see proto/events.md, or \"*\" for all)");
            ok = false;
            continue;
        }
        if (!caller->admin && strncmp (it->valuestring, "party.", 6) == 0) {
            jv_problem (v, field, "carries personal data: only an admin's webhook may receive it");
            ok = false;
            continue;
        }
        bool dup = false;
        const cJSON *o;
        cJSON_ArrayForEach (o, out)
            if (strcmp (o->valuestring, it->valuestring) == 0)
                dup = true;
        if (!dup)
            cJSON_AddItemToArray (out, cJSON_CreateString (it->valuestring));
    }
    char *text = ok ? cJSON_PrintUnformatted (out) : NULL;
    cJSON_Delete (out);
    return text;
}

/* A client's own secret: optional (absent: NULL, the server makes one at
 * creation), and as strong as the one the server would make. */
static const char *
s_secret (jv_t *v, const cJSON *data)
{
    if (!cJSON_GetObjectItemCaseSensitive (data, "secret"))
        return NULL;
    const char *secret = jv_string (v, data, "secret", JV_REQUIRED, NT_WEBHOOK_SECRET_MAX);
    if (secret && strlen (secret) < NT_WEBHOOK_SECRET_MIN) {
        jv_problem (v, "secret", "must be at least %d bytes (or leave it out: the server makes one)",
                    NT_WEBHOOK_SECRET_MIN);
        return NULL;
    }
    return secret;
}

static bool
s_caller_has (const nt_webhook_caller_t *caller, const char *pid)
{
    const cJSON *it;
    cJSON_ArrayForEach (it, caller->property_ids)
        if (cJSON_IsString (it) && strcmp (it->valuestring, pid) == 0)
            return true;
    return false;
}

/* property_ids: an admin's NULL means every property; an integration key's
 * webhook gets the key's properties, or a subset of them. Caller frees. */
static char *
s_property_ids (jv_t *v, const cJSON *data, const nt_webhook_caller_t *caller)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive (data, "property_ids");
    if (!p || cJSON_IsNull (p)) {
        if (caller->admin)
            return NULL;
        cJSON *mine = cJSON_CreateArray ();
        const cJSON *it;
        cJSON_ArrayForEach (it, caller->property_ids)
            if (cJSON_IsString (it) && jv_is_uuid (it->valuestring))
                cJSON_AddItemToArray (mine, cJSON_CreateString (it->valuestring));
        char *text = cJSON_PrintUnformatted (mine);
        cJSON_Delete (mine);
        return text;
    }
    if (!cJSON_IsArray (p) || cJSON_GetArraySize (p) == 0
        || cJSON_GetArraySize (p) > NT_WEBHOOK_PROPERTIES_MAX) {
        jv_problem (v, "property_ids", "must be a non-empty array of property ids (at most 500)");
        return NULL;
    }
    const cJSON *it;
    int i = 0;
    bool ok = true;
    cJSON_ArrayForEach (it, p) {
        char field[40];
        snprintf (field, sizeof field, "property_ids[%d]", i++);
        if (!cJSON_IsString (it) || !jv_is_uuid (it->valuestring)) {
            jv_problem (v, field, "must be a property id");
            ok = false;
        }
        else if (!caller->admin && !s_caller_has (caller, it->valuestring)) {
            jv_problem (v, field, "is not a property of this key");
            ok = false;
        }
    }
    return ok ? cJSON_PrintUnformatted (p) : NULL;
}

void
nt_webhook_input_clear (nt_webhook_input_t *in)
{
    free (in->events);
    free (in->property_ids);
    memset (in, 0, sizeof *in);
}

bool
nt_webhook_create_input (jv_t *v, const cJSON *data, const nt_webhook_caller_t *caller,
                         nt_webhook_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->url = s_url (v, data, true, caller);
    in->events = s_events (v, data, true, caller);
    in->secret = s_secret (v, data);
    in->property_ids = s_property_ids (v, data, caller);
    in->description = jv_string (v, data, "description", JV_OPTIONAL, NT_WEBHOOK_DESC_MAX);
    if (!jv_ok (v)) {
        nt_webhook_input_clear (in);
        return false;
    }
    return true;
}

bool
nt_webhook_update_input (jv_t *v, const cJSON *data, const nt_webhook_caller_t *caller,
                         nt_webhook_input_t *in)
{
    memset (in, 0, sizeof *in);
    if (!jv_object (v, data))
        return false;
    in->url = s_url (v, data, false, caller);
    in->events = s_events (v, data, false, caller);
    in->secret = s_secret (v, data);
    in->description = jv_string (v, data, "description", JV_OPTIONAL, NT_WEBHOOK_DESC_MAX);
    const cJSON *en = cJSON_GetObjectItemCaseSensitive (data, "enabled");
    if (en && !cJSON_IsBool (en))
        jv_problem (v, "enabled", "must be true or false");
    else if (en)
        in->enabled = cJSON_IsTrue (en) ? "true" : "false";
    static const char *const known[] = { "url", "events", "secret", "enabled", "description", NULL };
    const cJSON *it;
    cJSON_ArrayForEach (it, data) {
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok |= strcmp (it->string, known[i]) == 0;
        if (!ok)
            jv_problem (v, it->string, "cannot be changed (url, events, secret, enabled, description can)");
    }
    if (!jv_ok (v)) {
        nt_webhook_input_clear (in);
        return false;
    }
    return true;
}
