/* fuzz_validators: the input rules of the methods whose validation is pure
 * code of its own (a *_rules.c function or a pure check next to a handler),
 * driven as the handlers drive them, with the request's data as parsed JSON.
 *
 * The first input byte picks the method (s_methods below), the rest is the
 * request's "data" as JSON (for "query", a query value as a string). What a
 * validator accepts is used the way the handler uses it next (a PATCH
 * applied, a calendar printed back, a template rendered), and every string it
 * hands out is read whole, so a pointer into freed or foreign memory shows.
 *
 * Methods whose validation lives inside their handler (static helpers next to
 * SQL) are not here: README "Security (fuzz)" lists them. */
#include "jv.h"

#include "../../services/billing/alloc_rules.h"
#include "../../services/billing/bill_rules.h"
#include "../../services/notifications/rules.h"
#include "../../services/notifications/templates.h"
#include "../../services/tenants/parking_rules.h"
#include "../../services/tenants/party_rules.h"
#include "../../services/tenants/unit_rules.h"
#include "../../services/tickets/sla_clock.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Reads a string the way a store would bind it: a bad pointer shows. */
static size_t s_sink;
static void
s_use (const char *s)
{
    if (s)
        s_sink += strlen (s);
}

/* Problems are always a details array of {"field","problem"} strings. */
static void
s_check_details (cJSON *details)
{
    if (!details)
        return;
    if (!cJSON_IsArray (details) || cJSON_GetArraySize (details) == 0)
        abort ();
    const cJSON *d;
    cJSON_ArrayForEach (d, details) {
        if (!cJSON_IsString (cJSON_GetObjectItem (d, "field"))
            || !cJSON_IsString (cJSON_GetObjectItem (d, "problem")))
            abort ();
    }
    cJSON_Delete (details);
}

/* ok must agree with v: true exactly when no problem was added. */
static void
s_done (jv_t *v, bool ok)
{
    if (ok != jv_ok (v))
        abort ();
    s_check_details (jv_take (v));
}

static void
m_property_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_property_input_t in;
    bool ok = tn_property_input (&v, d, &in);
    if (ok) {
        s_use (in.code);
        s_use (in.name);
        s_use (in.address);
        s_use (in.timezone);
    }
    s_done (&v, ok);
}

static void
m_unit_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_unit_input_t in;
    bool ok = tn_unit_input (&v, d, false, &in);
    if (ok) {
        s_use (in.v.code);
        s_use (in.v.area);
        s_use (in.v.use);
        s_use (in.v.building);
        s_use (in.v.floor);
    }
    s_done (&v, ok);
}

static void
m_unit_update (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_unit_input_t in;
    bool ok = tn_unit_input (&v, d, true, &in);
    if (ok) {
        tn_unit_values_t cur = { "A-101", "A", "1", "85.50", "residential" }, next;
        (void) tn_unit_patch (&cur, &in, &next);
        s_use (next.code);
        s_use (next.building);
        s_use (next.floor);
        s_use (next.area);
        s_use (next.use);
    }
    s_done (&v, ok);
}

static void
s_party_use (const tn_party_input_t *in)
{
    s_use (in->kind);
    s_use (in->name);
    s_use (in->email);
    s_use (in->id_type);
    s_use (in->id_number);
    s_use (in->key_customer_note);
    if (in->nphones < 0 || in->nphones > TN_PHONES_MAX)
        abort ();
    for (int i = 0; i < in->nphones; i++)
        s_use (in->phones[i]);
}

static void
m_party_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_party_input_t in;
    bool ok = tn_party_input (&v, d, NULL, &in);
    if (ok)
        s_party_use (&in);
    s_done (&v, ok);
}

static void
m_party_update (const cJSON *d)
{
    tn_party_values_t cur = { .kind = "person", .name = "张三", .nphones = 1,
                              .email = "a@example.com", .id_type = "resident_id",
                              .id_number = "11010519491231002X" };
    strcpy (cur.phones[0], "13800138000");
    jv_t v = JV_INIT;
    tn_party_input_t in;
    bool ok = tn_party_input (&v, d, &cur, &in);
    if (ok) {
        s_party_use (&in);
        tn_party_values_t next;
        bool key_changed = false;
        (void) tn_party_patch (&cur, &in, &next, &key_changed);
        s_use (next.kind);
        s_use (next.name);
        s_use (next.email);
        s_use (next.id_type);
        s_use (next.id_number);
        for (int i = 0; i < next.nphones && i < TN_PHONES_MAX; i++)
            s_use (next.phones[i]);
        char mask[TN_ID_NUMBER_MAX + 1];
        if (next.id_number) {
            tn_id_mask (next.id_number, mask);
            s_use (mask);
        }
    }
    s_done (&v, ok);
}

static void
m_space_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_space_input_t in;
    bool ok = tn_space_input (&v, d, &in);
    if (ok) {
        s_use (in.code);
        s_use (in.zone);
    }
    s_done (&v, ok);
}

static void
m_lease_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_lease_input_t in;
    bool ok = tn_lease_input (&v, d, &in);
    if (ok) {
        s_use (in.space_id);
        s_use (in.party_id);
        s_use (in.unit_id);
        s_use (in.start_date);
        s_use (in.end_date);
        s_use (in.fee_text);
        if (in.monthly_fee < 0)
            abort ();
        (void) tn_lease_end_decide (in.start_date, in.end_date, false, "2030-01-01");
    }
    s_done (&v, ok);
}

static void
m_payment_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_payment_input_t in;
    bool ok = bl_payment_input (&v, d, &in);
    if (ok) {
        s_use (in.unit_id);
        s_use (in.method);
        s_use (in.external_ref);
        s_use (in.paid_at);
        if (in.amount <= 0)
            abort ();                /* money in: a positive number of fen */
    }
    s_done (&v, ok);
}

static void
m_rules_put (const cJSON *d)
{
    s_check_details (nt_rules_check (d));
}

/* PUT .../notification-templates/{event_type}/{locale}: title and body are
 * checked against the type's placeholders, then rendered for an event. */
static void
m_templates_put (const cJSON *d)
{
    static const char *const types[] = { "ticket.created", "bill.issued", "payment.received",
                                         "bill.overdue", "announcement.published", "no.such" };
    const cJSON *t = cJSON_GetObjectItemCaseSensitive (d, "type");
    const char *type = types[cJSON_IsNumber (t) ? ((unsigned) t->valueint) % 6 : 0];
    const char *fields[] = { "title", "body" };
    for (int i = 0; i < 2; i++) {
        const char *tpl = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (d, fields[i]));
        if (!tpl)
            continue;
        char err[NT_TEMPLATE_ERR_MAX];
        if (nt_template_validate (tpl, type, err) != 0) {
            s_use (err);
            continue;
        }
        const cJSON *event = cJSON_GetObjectItemCaseSensitive (d, "data");
        cJSON *times = nt_template_times (type, event);
        cJSON_Delete (times);
        char *text = nt_template_render (tpl, type, event, i ? "en" : NULL, NULL);
        s_use (text);
        free (text);
    }
}

static void
m_calendar_create (const cJSON *d)
{
    char err[256];
    sla_calendar_t *cal = sla_calendar_from_json (d, err);
    if (!cal) {
        s_use (err);
        return;
    }
    s_use (sla_calendar_timezone (cal));
    cJSON *w = sla_calendar_weekly_json (cal), *days = sla_calendar_days_json (cal);
    /* what is stored must parse again */
    cJSON *again = cJSON_CreateObject ();
    cJSON_AddStringToObject (again, "timezone", sla_calendar_timezone (cal));
    cJSON_AddItemToObject (again, "weekly", w);
    cJSON_AddItemToObject (again, "days", days);
    sla_calendar_t *cal2 = sla_calendar_from_json (again, err);
    if (!cal2)
        abort ();
    (void) sla_add_seconds (cal, 1767225600, 3600);
    sla_calendar_destroy (&cal2);
    cJSON_Delete (again);
    sla_calendar_destroy (&cal);
}

/* Query values the services parse by hand: ?limit=, ?cursor=, ?active=,
 * ?period=, ?since= and friends. */
static void
m_query (const cJSON *d)
{
    const char *s = cJSON_GetStringValue (d);
    if (!s)
        return;
    int n, y, m;
    char key[128];
    if (tn_limit_parse (s, &n) && (n < 1 || n > TN_LIMIT_MAX))
        abort ();
    if (tn_cursor_decode (s, key, sizeof key)) {
        char *again = tn_cursor_encode (key);
        s_use (again);
        free (again);
    }
    (void) tn_active_parse (s, &n);
    if (bl_period_parse (s, &y, &m) && (m < 1 || m > 12))
        abort ();
    (void) bl_is_timestamp (s);
    (void) nt_time_valid (s);
    (void) jv_is_date (s);
    (void) jv_is_uuid (s);
    char phone[TN_PHONE_MAX + 1];
    if (tn_phone_normalize (s, phone)) {
        char tail[5], mask[TN_PHONE_MAX + 8];
        tn_phone_tail (phone, tail);
        tn_phone_mask (phone, mask);
        s_use (mask);
    }
    (void) tn_email_ok (s);
    (void) tn_resident_id_ok (s);
    (void) tn_credit_code_ok (s);
}

/* ---- tickets' and tenants' handler inputs (helper V1 adds here) ---- */

/* ---- billing's, notifications' and the gateway's handler inputs (helper V2 adds here) ---- */

static void (*const s_methods[]) (const cJSON *) = {
    m_property_create,               /* tenants.properties.create */
    m_unit_create,                   /* tenants.units.create (and each row of units.import) */
    m_unit_update,                   /* tenants.units.update */
    m_party_create,                  /* tenants.parties.create (and parties.import) */
    m_party_update,                  /* tenants.parties.update */
    m_space_create,                  /* tenants.parking.spaces.create */
    m_lease_create,                  /* tenants.parking.leases.create */
    m_payment_create,                /* billing.payments.create (and payments.import) */
    m_rules_put,                     /* notifications.rules.put */
    m_templates_put,                 /* notifications.templates.put */
    m_calendar_create,               /* tickets.sla.calendars.create / update */
    m_query,                         /* query parameters */
    /* tickets, tenants (V1) */
    /* billing, notifications, gateway (V2) */
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t which = data[0] % (sizeof s_methods / sizeof s_methods[0]);
    cJSON *json = cJSON_ParseWithLength ((const char *) data + 1, size - 1);
    if (json)
        s_methods[which] (json);
    cJSON_Delete (json);
    return 0;
}
