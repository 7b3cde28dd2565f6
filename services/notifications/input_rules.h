/* input_rules: the request bodies of notifications' writing methods,
 * checked pure (no database, no environment, no clock), so
 * tests/fuzz/fuzz_validators.c and tests/unit/test_nt_inputs.c reach them.
 * Each handler calls its input function first (validate -> load -> decide
 * -> store). What the caller may do (an admin's webhook, the properties of
 * an integration key) and what the environment allows (private or http
 * webhook URLs) come in as arguments. Strings are borrowed from data unless
 * said otherwise; each function returns false after adding problems to v.
 * (rules.c and templates.c check their own bodies, pure already.) */
#ifndef NT_INPUT_RULES_H
#define NT_INPUT_RULES_H

#include "jv.h"

#include <stdbool.h>
#include <stddef.h>

#define NT_ANN_TITLE_MAX     200     /* characters (migration 001's check) */
#define NT_ANN_BODY_MAX      4000    /* characters */
#define NT_ANN_BUILDING_MAX  64      /* bytes of <b> in "building:<b>" */
#define NT_PREF_CHANNELS_MAX 3       /* inbox, sms, email: each once */
#define NT_WEBHOOK_SECRET_MIN   32
#define NT_WEBHOOK_SECRET_MAX   256
#define NT_WEBHOOK_EVENTS_MAX   64
#define NT_WEBHOOK_PROPERTIES_MAX 500
#define NT_WEBHOOK_DESC_MAX     200
#define NT_CHANNELS_TEXT        64   /* a channels array literal: "{inbox,sms,email,preferred}" */

/* Code points of a valid UTF-8 string. */
size_t nt_utf8_chars (const char *s);

/* The audience's unit filter: kind "all", "building" or "use" and its value
 * (borrowed from s; NULL for "all"). 0, or -1 with a problem in why. */
typedef struct {
    const char *kind;
    const char *building;
    const char *use;
} nt_audience_t;
int nt_audience_parse (const char *s, nt_audience_t *out, const char **why);

/* notifications.announcements.create: {"title","body","audience",
 * "channels"?}; channels as a PostgreSQL array literal of the allowed words
 * only ("{inbox}" when absent). */
typedef struct {
    const char *title, *body, *audience;
    nt_audience_t aud;
    char channels[NT_CHANNELS_TEXT];
} nt_announcement_input_t;
bool nt_announcement_input (jv_t *v, const cJSON *data, nt_announcement_input_t *in);

/* notifications.preferences.put: at least one of {"channels","opt_out",
 * "locale"}; what is absent stays as stored. */
typedef struct {
    bool has_channels;
    char channels[NT_CHANNELS_TEXT];  /* array literal when has_channels */
    const char *opt_out;             /* "true", "false" or NULL */
    const char *locale;              /* zh-CN, en or NULL */
} nt_preferences_input_t;
bool nt_preferences_input (jv_t *v, const cJSON *data, nt_preferences_input_t *in);

/* True for an event type a webhook may subscribe to (proto/events.md, plus
 * bill.overdue, plus "*"). */
bool nt_webhook_event_known (const char *type);

/* Who asks, for a webhook's body. */
typedef struct {
    bool admin;                      /* any property, party.* events */
    const cJSON *property_ids;       /* otherwise: the key's properties (array of strings) */
    bool allow_private, allow_http;  /* PM_WEBHOOK_ALLOW_PRIVATE, PM_WEBHOOK_ALLOW_HTTP */
} nt_webhook_caller_t;

/* notifications.webhooks.create {"url","events","secret"?,"property_ids"?,
 * "description"?} and .update (any of url, events, secret, enabled,
 * description; nothing else). events and property_ids are JSON array texts
 * the caller frees with nt_webhook_input_clear (on false they are NULL). */
typedef struct {
    const char *url;
    char *events;                    /* distinct known types, or NULL (update: unchanged) */
    const char *secret;              /* NULL: the server makes one / unchanged */
    char *property_ids;              /* create: NULL = every property (an admin's) */
    const char *description;
    const char *enabled;             /* update: "true", "false" or NULL */
} nt_webhook_input_t;
bool nt_webhook_create_input (jv_t *v, const cJSON *data, const nt_webhook_caller_t *caller,
                              nt_webhook_input_t *in);
bool nt_webhook_update_input (jv_t *v, const cJSON *data, const nt_webhook_caller_t *caller,
                              nt_webhook_input_t *in);
void nt_webhook_input_clear (nt_webhook_input_t *in);

#endif
