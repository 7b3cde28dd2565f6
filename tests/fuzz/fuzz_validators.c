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
#include "civil.h"
#include "jv.h"
#include "page.h"

#include "../../services/billing/alloc_rules.h"
#include "../../services/billing/bill_rules.h"
#include "../../services/billing/input_rules.h"
#include "../../services/gateway/gw_inputs.h"
#include "../../services/notifications/input_rules.h"
#include "../../services/notifications/rules.h"
#include "../../services/notifications/templates.h"
#include "../../services/tenants/parking_rules.h"
#include "../../services/tenants/party_rules.h"
#include "../../services/tenants/unit_rules.h"
#include "../../services/tickets/sla_clock.h"
#include "../../services/tickets/ticket_rules.h"
#include "../../services/tickets/tickets.h"
#include "../../services/tickets/workflow.h"

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
            pii_id_mask (next.id_number, mask);
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
    if (page_limit_parse (s, &n) && (n < 1 || n > PAGE_LIMIT_MAX))
        abort ();
    if (page_cursor_decode (s, key, sizeof key)) {
        char *again = page_cursor_encode (key);
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
    if (pii_phone_normalize (s, phone)) {
        char tail[5], mask[TN_PHONE_MAX + 8];
        pii_phone_tail (phone, tail);
        pii_phone_mask (phone, mask);
        s_use (mask);
    }
    (void) tn_email_ok (s);
    (void) pii_resident_id_ok (s);
    (void) tn_credit_code_ok (s);
}

/* ---- tickets' and tenants' handler inputs (helper V1 adds here) ---- */

/* tickets.create: a ticket's data is stored as JSON text, its number
 * prefix comes from its type, an answer joins its data. */
static void
m_ticket_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tk_ticket_input_t in;
    bool ok = tk_ticket_input (&v, d, &in);
    if (ok) {
        s_use (in.title);
        s_use (in.description);
        s_use (in.unit_id);
        s_use (in.party_id);
        s_use (in.category);
        s_use (in.faq_id);
        s_use (in.answer);
        if (!wf_prefix (in.type) || !wf_in (wf_channels, in.channel)
            || !wf_in (wf_priorities, in.priority) || !cJSON_IsObject (in.data))
            abort ();
        if (strlen (in.title) > TK_TITLE_MAX)
            abort ();
        if ((in.faq_id || in.answer || in.resolve_now) && strcmp (in.type, "inquiry") != 0)
            abort ();
        if (in.resolve_now && in.answer)
            cJSON_AddStringToObject (in.data, "answer", in.answer);
        char *text = cJSON_PrintUnformatted (in.data);
        cJSON *again = cJSON_Parse (text);
        if (!cJSON_IsObject (again))
            abort ();
        cJSON_Delete (again);
        free (text);
    }
    cJSON_Delete (in.data);
    s_done (&v, ok);
}

/* tickets.actions.create: the move is decided by the workflow next. */
static void
m_action_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tk_action_input_t in;
    bool ok = tk_action_input (&v, d, &in);
    if (ok) {
        s_use (in.assignee_id);
        s_use (in.note);
        s_use (in.party_id);
        s_use (in.fee_item_code);
        if (!wf_in (wf_actions, in.action))
            abort ();
        if (in.has_fee && (in.fee_amount < 1 || in.fee_amount > TK_FEE_MAX
                           || strcmp (in.action, "resolve") != 0))
            abort ();
        wf_context_t ctx = { .has_note = in.note != NULL };
        wf_result_t r;
        static const char *const statuses[] = { "new", "assigned", "in_progress", "resolved", NULL };
        for (int i = 0; statuses[i]; i++)
            if (wf_next ("repair", statuses[i], in.action, &ctx, &r) == WF_OK && !r.to)
                abort ();
    }
    s_done (&v, ok);
}

static void
m_comment_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tk_comment_input_t in;
    bool ok = tk_comment_input (&v, d, &in);
    if (ok) {
        if (!in.body || strlen (in.body) > TK_TEXT_MAX)
            abort ();
        s_use (in.body);
    }
    s_done (&v, ok);
}

static void
m_feedback_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tk_feedback_input_t in;
    bool ok = tk_feedback_input (&v, d, &in);
    if (ok) {
        if (in.rating < 1 || in.rating > 5)
            abort ();
        if (in.comment && (!*in.comment || strlen (in.comment) > TK_FEEDBACK_COMMENT_MAX))
            abort ();
        s_use (in.comment);
    }
    s_done (&v, ok);
}

/* tickets.faq.create / update: tags are stored as the JSON text given. */
static void
s_faq (const cJSON *d, bool partial)
{
    jv_t v = JV_INIT;
    tk_faq_input_t in;
    bool ok = tk_faq_input (&v, d, partial, &in);
    if (ok) {
        s_use (in.question);
        s_use (in.answer);
        if (!partial && (!in.question || !in.answer))
            abort ();
        if (partial && !in.question && !in.answer && !in.tags_text)
            abort ();
        if (in.tags_text) {
            cJSON *tags = cJSON_Parse (in.tags_text);
            if (!cJSON_IsArray (tags))
                abort ();
            cJSON_Delete (tags);
        }
    }
    free (in.tags_text);
    s_done (&v, ok);
}

static void
m_faq_create (const cJSON *d)
{
    s_faq (d, false);
}

static void
m_faq_update (const cJSON *d)
{
    s_faq (d, true);
}

/* tickets.sla.policies.put: the valid items become rows (the default warn
 * where none is given); their calendars are checked next. */
static void
m_sla_policies_put (const cJSON *d)
{
    jv_t v = JV_INIT;
    tk_sla_policies_input_t in;
    bool ok = tk_sla_policies_input (&v, d, &in);
    if (in.n < 0 || in.n > TK_SLA_POLICIES_MAX)
        abort ();
    for (int i = 0; i < in.n; i++) {
        const tk_sla_policy_t *p = &in.items[i];
        if (!wf_prefix (p->type) || !wf_in (wf_priorities, p->priority))
            abort ();
        if (p->respond_minutes < 1 || p->resolve_minutes < p->respond_minutes
            || p->resolve_minutes > TK_SLA_MINUTES_MAX || p->warn_minutes >= p->resolve_minutes
            || p->warn_minutes < -1 || (i > 0 && p->index <= in.items[i - 1].index))
            abort ();
        for (int j = 0; j < i; j++)
            if (strcmp (in.items[j].type, p->type) == 0 && strcmp (in.items[j].priority, p->priority) == 0)
                abort ();
        s_use (p->calendar_id);
        if (p->calendar_id && !jv_is_uuid (p->calendar_id))
            abort ();
    }
    s_done (&v, ok);
}

/* tickets.roster.shifts.create: times are bound as epoch seconds. */
static void
m_shift_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tk_shift_input_t in;
    bool ok = tk_shift_input (&v, d, &in);
    if (ok) {
        s_use (in.post);
        s_use (in.user_id);
        if (!in.post || !in.user_id || in.ends_at <= in.starts_at
            || in.ends_at - in.starts_at > TK_SHIFT_MAX_S)
            abort ();
    }
    s_done (&v, ok);
}

/* tenants.occupancies.create */
static void
m_occupancy_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_occupancy_input_t in;
    bool ok = tn_occupancy_input (&v, d, &in);
    if (ok) {
        if (!jv_is_uuid (in.party_id) || !jv_is_date (in.start_date))
            abort ();
        s_use (in.role);
    }
    s_done (&v, ok);
}

/* tenants.occupancies.end: compared as text with the start date next. */
static void
m_occupancy_end (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_end_input_t in;
    bool ok = tn_end_input (&v, d, &in);
    if (ok) {
        if (!jv_is_date (in.end_date))
            abort ();
        (void) strcmp (in.end_date, "2026-01-01");
    }
    s_done (&v, ok);
}

/* tenants.parking.leases.end: decided against the lease next. */
static void
m_lease_end (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_end_input_t in;
    bool ok = tn_end_input (&v, d, &in);
    if (ok) {
        if (!jv_is_date (in.end_date))
            abort ();
        (void) tn_lease_end_decide ("2026-01-01", "2026-12-31", false, in.end_date);
        (void) tn_lease_end_decide ("2026-01-01", NULL, false, in.end_date);
    }
    s_done (&v, ok);
}

/* tenants.parties.import: a row's party and its move-in columns, as the
 * import checks them together. */
static void
m_import_party_row (const cJSON *d)
{
    jv_t v = JV_INIT;
    tn_party_input_t party;
    tn_party_input (&v, cJSON_GetObjectItemCaseSensitive (d, "party"), NULL, &party);
    tn_import_move_in_t in;
    bool ok = tn_import_move_in_input (&v, cJSON_GetObjectItemCaseSensitive (d, "occupancy"), &in);
    if (ok) {
        s_party_use (&party);
        if (in.unit_code && (!in.role || !jv_is_date (in.start_date)
                             || strlen (in.unit_code) > TN_UNIT_CODE_MAX))
            abort ();
        s_use (in.unit_code);
        s_use (in.role);
    }
    s_done (&v, ok);
}

/* ---- billing's, notifications' and the gateway's handler inputs (helper V2 adds here) ---- */

/* Every element of a PostgreSQL array literal "{a,b}" is one of allowed,
 * none twice: what reaches the INSERT is words of ours only. */
static void
s_check_literal (const char *lit, const char *const *allowed, bool may_be_empty)
{
    size_t n = strlen (lit);
    if (n < 2 || lit[0] != '{' || lit[n - 1] != '}')
        abort ();
    if (n == 2) {
        if (!may_be_empty)
            abort ();
        return;
    }
    char buf[256];
    if (n - 2 >= sizeof buf)
        abort ();
    memcpy (buf, lit + 1, n - 2);
    buf[n - 2] = '\0';
    unsigned seen = 0;
    for (char *save = NULL, *w = strtok_r (buf, ",", &save); w; w = strtok_r (NULL, ",", &save)) {
        int k = -1;
        for (int i = 0; allowed[i]; i++)
            if (strcmp (w, allowed[i]) == 0)
                k = i;
        if (k < 0 || (seen & (1u << k)))
            abort ();
        seen |= 1u << k;
    }
}

/* A JSON array text the handler binds: it parses back to an array of
 * strings, each accepted by ok (NULL: any string). */
static void
s_check_array_text (const char *text, bool (*ok) (const char *))
{
    cJSON *a = cJSON_Parse (text);
    if (!cJSON_IsArray (a))
        abort ();
    const cJSON *it;
    cJSON_ArrayForEach (it, a) {
        if (!cJSON_IsString (it) || (ok && !ok (it->valuestring)))
            abort ();
        s_use (it->valuestring);
    }
    cJSON_Delete (a);
}

static void
m_bl_settings_put (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_settings_input_t in;
    bool ok = bl_settings_input (&v, d, &in);
    if (ok) {
        s_use (in.timezone);
        if ((in.has_due_day && (in.due_day < 1 || in.due_day > 31))
            || (in.has_bps && (in.bps < 0 || in.bps > 10000))
            || (in.has_grace && (in.grace < 0 || in.grace > 365))
            || (in.has_cap && (in.cap < 0 || in.cap > 100000))
            || (in.timezone && strlen (in.timezone) > BL_TIMEZONE_MAX))
            abort ();
    }
    s_done (&v, ok);
}

static void
m_bl_fee_item_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_fee_item_input_t in;
    bool ok = bl_fee_item_input (&v, d, &in);
    if (ok) {
        s_use (in.code);
        s_use (in.name);
        s_use (in.basis);
        s_use (in.effective_from);
        if (in.unit_price < 0 || in.unit_price > BL_PRICE_MAX || !in.code || !in.name || !in.basis
            || (in.effective_from && !jv_is_date (in.effective_from)))
            abort ();
        /* only a parking item may apply to no unit use */
        s_check_literal (in.applies_to, bl_unit_uses, strcmp (in.basis, "parking") == 0);
    }
    s_done (&v, ok);
}

static void
m_bl_run_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_run_input_t in;
    bool ok = bl_run_input (&v, d, &in);
    if (ok) {
        s_use (in.period);
        if (!in.period || strlen (in.period) != 7 || in.month < 1 || in.month > 12
            || in.year < BL_RULES_YEAR_MIN || in.year > BL_RULES_YEAR_MAX)
            abort ();
        if (civil_days_in_month (in.year, in.month) < 28)
            abort ();
    }
    s_done (&v, ok);
}

static void
m_bl_charge_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_charge_input_t in;
    bool ok = bl_charge_input (&v, d, &in);
    if (ok) {
        s_use (in.unit_id);
        s_use (in.reason);
        s_use (in.due_date);
        if (in.amount <= 0 || in.amount > BL_AMOUNT_MAX || !in.unit_id || !jv_is_uuid (in.unit_id)
            || !in.reason || strlen (in.reason) > BL_REASON_MAX || (in.due_date && !jv_is_date (in.due_date)))
            abort ();
    }
    s_done (&v, ok);
}

static void
m_bl_deposit_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_deposit_input_t in;
    bool ok = bl_deposit_input (&v, d, &in);
    if (ok) {
        s_use (in.unit_id);
        s_use (in.ticket_id);
        if (in.amount <= 0 || in.amount > BL_AMOUNT_MAX || !in.unit_id || !jv_is_uuid (in.unit_id)
            || (in.ticket_id && !jv_is_uuid (in.ticket_id)))
            abort ();
    }
    s_done (&v, ok);
}

static void
m_bl_deposit_refund (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_refund_input_t in;
    /* the refund takes no body too: JSON null stands for it */
    bool ok = bl_refund_input (&v, d, &in);
    if (ok) {
        s_use (in.reason);
        if ((in.has_amount && (in.amount < 0 || in.amount > BL_AMOUNT_MAX)) || (!in.has_amount && in.amount)
            || (in.reason && strlen (in.reason) > BL_REASON_MAX))
            abort ();
    }
    s_done (&v, ok);
}

/* billing.payments.reverse and billing.late_fees.waive */
static void
m_bl_reason (const cJSON *d)
{
    jv_t v = JV_INIT;
    bl_reason_input_t in;
    bool ok = bl_reason_input (&v, d, &in);
    if (ok) {
        s_use (in.reason);
        if (!in.reason || !*in.reason || strlen (in.reason) > BL_REASON_MAX)
            abort ();
    }
    s_done (&v, ok);
}

static void
m_nt_announcement_create (const cJSON *d)
{
    static const char *const channels[] = { "inbox", "sms", "email", "preferred", NULL };
    jv_t v = JV_INIT;
    nt_announcement_input_t in;
    bool ok = nt_announcement_input (&v, d, &in);
    if (ok) {
        s_use (in.title);
        s_use (in.body);
        s_use (in.audience);
        s_use (in.aud.kind);
        s_use (in.aud.building);
        s_use (in.aud.use);
        if (!in.title || !in.body || !in.audience || !in.aud.kind || nt_utf8_chars (in.title) > NT_ANN_TITLE_MAX
            || nt_utf8_chars (in.body) > NT_ANN_BODY_MAX
            || (strcmp (in.aud.kind, "building") == 0) != (in.aud.building != NULL)
            || (strcmp (in.aud.kind, "use") == 0) != (in.aud.use != NULL))
            abort ();
        s_check_literal (in.channels, channels, false);
    }
    s_done (&v, ok);
}

static void
m_nt_preferences_put (const cJSON *d)
{
    static const char *const channels[] = { "inbox", "sms", "email", NULL };
    jv_t v = JV_INIT;
    nt_preferences_input_t in;
    bool ok = nt_preferences_input (&v, d, &in);
    if (ok) {
        s_use (in.opt_out);
        s_use (in.locale);
        if (!in.has_channels && !in.opt_out && !in.locale)
            abort ();
        if (in.has_channels)
            s_check_literal (in.channels, channels, false);
    }
    s_done (&v, ok);
}

static bool
s_event_ok (const char *s)
{
    return nt_webhook_event_known (s);
}

/* The webhook bodies, each as an admin and as an integration key of two
 * properties, with private and plain-http URLs allowed or not. */
static void
m_nt_webhook (const cJSON *d)
{
    cJSON *mine = cJSON_CreateArray ();
    cJSON_AddItemToArray (mine, cJSON_CreateString ("0b9f8f4e-1d5c-4c41-9a55-0c3a0d6f9e01"));
    cJSON_AddItemToArray (mine, cJSON_CreateString ("not-a-uuid"));
    for (int k = 0; k < 4; k++) {
        nt_webhook_caller_t caller = { .admin = k & 1, .property_ids = mine, .allow_private = k & 2,
                                       .allow_http = k & 2 };
        jv_t v = JV_INIT;
        nt_webhook_input_t in;
        bool ok = nt_webhook_create_input (&v, d, &caller, &in);
        if (ok) {
            s_use (in.url);
            s_use (in.secret);
            s_use (in.description);
            if (!in.url || !in.events || in.enabled || (!caller.admin && !in.property_ids)
                || (in.secret && strlen (in.secret) < NT_WEBHOOK_SECRET_MIN))
                abort ();
            s_check_array_text (in.events, s_event_ok);
            if (in.property_ids)
                s_check_array_text (in.property_ids, jv_is_uuid);
        }
        else if (in.events || in.property_ids)
            abort ();                /* nothing to free after false */
        nt_webhook_input_clear (&in);
        s_done (&v, ok);

        v = (jv_t) JV_INIT;
        ok = nt_webhook_update_input (&v, d, &caller, &in);
        if (ok) {
            s_use (in.url);
            s_use (in.secret);
            s_use (in.description);
            s_use (in.enabled);
            if (in.property_ids)
                abort ();
            if (in.events)
                s_check_array_text (in.events, s_event_ok);
        }
        nt_webhook_input_clear (&in);
        s_done (&v, ok);
    }
    cJSON_Delete (mine);
}

static void
m_gw_login (const cJSON *d)
{
    jv_t v = JV_INIT;
    gw_login_input_t in;
    bool ok = gw_login_input (&v, d, &in);
    if (ok) {
        s_use (in.username);
        s_use (in.password);
        if (!in.username || !in.password)
            abort ();
    }
    s_done (&v, ok);
}

static void
m_gw_password (const cJSON *d)
{
    static const char *const names[] = { "admin", "zhang.san", "" };
    const cJSON *n = cJSON_GetObjectItemCaseSensitive (d, "n");
    const char *name = names[cJSON_IsNumber (n) ? ((unsigned) n->valueint) % 3 : 0];
    jv_t v = JV_INIT;
    gw_password_input_t in;
    bool ok = gw_password_input (&v, d, name, &in);
    if (ok) {
        s_use (in.current);
        s_use (in.next);
        if (!in.current || !in.next || strcmp (in.current, in.next) == 0
            || gw_auth_password_problem (in.next, name))
            abort ();
    }
    s_done (&v, ok);
}

static void
m_gw_user_create (const cJSON *d)
{
    jv_t v = JV_INIT;
    gw_user_create_input_t in;
    bool ok = gw_user_create_input (&v, d, &in);
    if (ok) {
        s_use (in.username);
        s_use (in.password);
        s_use (in.role);
        if (!in.username || !gw_auth_username_valid (in.username)
            || gw_auth_password_problem (in.password, in.username) || !in.role || !in.property_ids)
            abort ();
        s_check_array_text (in.property_ids, jv_is_uuid);
    }
    else if (in.property_ids)
        abort ();
    free (in.property_ids);
    s_done (&v, ok);
}

static void
m_gw_user_update (const cJSON *d)
{
    jv_t v = JV_INIT;
    gw_user_update_input_t in;
    bool ok = gw_user_update_input (&v, d, &in);
    if (ok) {
        s_use (in.disabled);
        s_use (in.role);
        if (!in.disabled && !in.role && !in.property_ids)
            abort ();
        if (in.property_ids)
            s_check_array_text (in.property_ids, jv_is_uuid);
    }
    else if (in.property_ids)
        abort ();
    free (in.property_ids);
    s_done (&v, ok);
}

static void
m_gw_key_create (const cJSON *d)
{
    const int64_t now = 1796083200000;           /* 2026-12-01T00:00:00Z */
    jv_t v = JV_INIT;
    gw_key_create_input_t in;
    bool ok = gw_key_create_input (&v, d, now, &in);
    if (ok) {
        s_use (in.name);
        s_use (in.expires_at);
        s_use (in.expires_text);
        if (!in.name || !in.role || strcmp (in.role, "integration") != 0 || !in.property_ids
            || (in.expires_at && (in.expires_ms <= now
                                  || in.expires_ms > now + (int64_t) GW_AUTH_KEY_MAX_DAYS * 86400000)))
            abort ();
        s_check_array_text (in.property_ids, jv_is_uuid);
    }
    else if (in.property_ids)
        abort ();
    free (in.property_ids);
    s_done (&v, ok);
}

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
    m_ticket_create,                 /* tickets.create */
    m_action_create,                 /* tickets.actions.create */
    m_comment_create,                /* tickets.comments.create */
    m_feedback_create,               /* tickets.feedback.create */
    m_faq_create,                    /* tickets.faq.create */
    m_faq_update,                    /* tickets.faq.update */
    m_sla_policies_put,              /* tickets.sla.policies.put */
    m_shift_create,                  /* tickets.roster.shifts.create */
    m_occupancy_create,              /* tenants.occupancies.create */
    m_occupancy_end,                 /* tenants.occupancies.end */
    m_lease_end,                     /* tenants.parking.leases.end */
    m_import_party_row,              /* tenants.parties.import (a row with its move-in) */
    /* billing, notifications, gateway (V2) */
    m_bl_settings_put,               /* billing.settings.put */
    m_bl_fee_item_create,            /* billing.fee_items.create */
    m_bl_run_create,                 /* billing.runs.create */
    m_bl_charge_create,              /* billing.charges.create */
    m_bl_deposit_create,             /* billing.deposits.create */
    m_bl_deposit_refund,             /* billing.deposits.refund */
    m_bl_reason,                     /* billing.payments.reverse, billing.late_fees.waive */
    m_nt_announcement_create,        /* notifications.announcements.create */
    m_nt_preferences_put,            /* notifications.preferences.put */
    m_nt_webhook,                    /* notifications.webhooks.create / update */
    m_gw_login,                      /* POST /v1/auth/login */
    m_gw_password,                   /* POST /v1/auth/password */
    m_gw_user_create,                /* POST /v1/users */
    m_gw_user_update,                /* PATCH /v1/users/{id} */
    m_gw_key_create,                 /* POST /v1/api-keys */
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
