/* ticket_store: the SQL of tickets, timeline and feedback; see
 * ticket_store.h. Parameterized statements only: any text the client sent
 * is a parameter, never part of the SQL. Every query names its property_id. */
#include "ticket_store.h"

#include "outbox.h"
#include "sla.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TK_EPOCH(col) "extract (epoch FROM " col ")::bigint::text"

/* In the order of the TK_C_* enum. NOW: the parameter holding "now".
 * Times to the microsecond (DB_UTC_TS_US): they are written back as read. */
#define TK_COLS(NOW) \
    "t.id::text, t.property_id::text, t.number, t.type, t.status, t.title, t.description, " \
    "t.unit_id::text, t.unit_code, t.party_id::text, t.channel, t.priority, t.category, " \
    "t.assignee_id, t.escalated_to, " DB_UTC_TS_US ("t.escalated_at") ", t.faq_id::text, t.created_by, " \
    DB_UTC_TS_US ("t.created_at") ", " DB_UTC_TS_US ("t.updated_at") ", " \
    "t.respond_minutes::text, t.resolve_minutes::text, t.warn_minutes::text, t.calendar_id::text, " \
    DB_UTC_TS_US ("t.respond_by") ", " DB_UTC_TS_US ("t.resolve_by") ", " \
    DB_UTC_TS_US ("t.responded_at") ", " DB_UTC_TS_US ("t.resolved_at") ", " \
    DB_UTC_TS_US ("t.closed_at") ", " DB_UTC_TS_US ("t.hold_since") ", " \
    "t.fee_amount::text, t.fee_item_code, t.data::text, " \
    TK_EPOCH ("t.respond_by") ", " TK_EPOCH ("t.resolve_by") ", " TK_EPOCH ("t.hold_since") ", " \
    "CASE WHEN t.status = 'on_hold' THEN (SELECT tl.from_status FROM ticket_timeline tl " \
    "  WHERE tl.ticket_id = t.id AND tl.action = 'hold' ORDER BY tl.id DESC LIMIT 1) END, " \
    "EXISTS (SELECT 1 FROM ticket_feedback f WHERE f.ticket_id = t.id), " \
    /* a deadline is missed when the answer came late or has not come by now \
     * (or by the start of a hold, while the clock is stopped) */ \
    "(t.respond_breached_at IS NOT NULL OR (t.respond_by IS NOT NULL AND " \
    "  coalesce (t.responded_at, t.closed_at, t.hold_since, " NOW "::timestamptz) > t.respond_by)), " \
    "(t.resolve_breached_at IS NOT NULL OR (t.resolve_by IS NOT NULL AND " \
    "  coalesce (t.resolved_at, t.closed_at, t.hold_since, " NOW "::timestamptz) > t.resolve_by)), " \
    "t.fee_status, t.requester_kind, t.department"

/* Where the SLA timer warns before deadline D: ticket_warn_at () of
 * migrations/008, the rule's one home (sla_timer.c reads its index). */
#define TK_WARN_AT(kind, d) "ticket_warn_at (" d ", warn_minutes, " kind "_minutes)"

#define TK_TIMELINE_COLS \
    "id::text, " DB_UTC_TS_US ("at") ", actor_id, actor_role, action, from_status, to_status, note, " \
    "internal::text, data::text"

static const db_statement_t s_statements[] = {
    /* What a new ticket needs before its transaction, in one round trip:
     * from the copy of tenants (tenants_copy.h) the property's timezone,
     * the unit's code and whether the party is known, and the SLA policy of
     * its type and priority (sla.h). One row whatever is missing. */
    { "tk_ticket_new_refs",
      "SELECT tp.timezone, tu.code, tpa.id IS NOT NULL, " SLA_POLICY_COLS " "
      "FROM (SELECT 1) one "
      "LEFT JOIN tenant_properties tp ON tp.id = $1::uuid "
      "LEFT JOIN tenant_units tu ON tu.property_id = $1::uuid AND tu.id = $2::uuid "
      "LEFT JOIN tenant_parties tpa ON tpa.property_id = $1::uuid AND tpa.id = $3::uuid "
      SLA_POLICY_JOIN ("$1::uuid", "$4::text", "$5::text"), true },
    /* The ticket, its number, its timeline and its events in one statement
     * (so in one transaction without a BEGIN), answering the ticket's row.
     * The number comes from ticket_number_next (migrations/007): a
     * sequence, so no lock is held to commit and tickets of one property
     * are created in parallel (numbers may have gaps). */
    { "tk_ticket_insert",
      "WITH t AS ("
      "  INSERT INTO tickets (property_id, number, type, status, title, description, unit_id, "
      "    unit_code, party_id, channel, priority, category, assignee_id, faq_id, created_by, "
      "    created_at, updated_at, respond_minutes, resolve_minutes, warn_minutes, calendar_id, "
      "    respond_by, resolve_by, responded_at, resolved_at, data, requester_kind, department) "
      "  VALUES ($1::uuid, ticket_number_next ($1::uuid, $2::text, $16::timestamptz, $26::text), "
      "    $3::text, $4::text, $5::text, $6::text, $7::uuid, $8::text, "
      "    $9::uuid, $10::text, $11::text, $12::text, $13::text, $14::uuid, $15::text, "
      "    $16::timestamptz, $16::timestamptz, $17::int, $18::int, $19::int, $20::uuid, "
      "    $21::timestamptz, $22::timestamptz, $23::timestamptz, $24::timestamptz, $25::jsonb, "
      "    coalesce ($30::text, 'resident'), $31::text) "
      "  RETURNING *), "
      "tl AS ("
      "  INSERT INTO ticket_timeline (property_id, ticket_id, at, actor_id, actor_role, action, "
      "    from_status, to_status, note, data, actor_name) "
      "  SELECT t.property_id, t.id, t.created_at, t.created_by, $27::text, x.action, x.from_status, "
      "    x.to_status, x.note, x.data, $32::text "
      "  FROM t, LATERAL (VALUES (1, 'create', NULL, 'new', NULL, '{}'::jsonb), "
      "    (2, 'resolve', 'new', 'resolved', $28::text, coalesce ($29::jsonb, '{}'))) "
      "    AS x (ord, action, from_status, to_status, note, data) "
      "  WHERE x.ord = 1 OR t.status = 'resolved' ORDER BY x.ord), "
      "ev AS (" OUTBOX_INSERT
      "  SELECT x.type, u.property_id, " TK_EVENT_SUMMARY " FROM t u, "
      "    LATERAL (VALUES (1, 'ticket.created'), (2, 'ticket.resolved')) AS x (ord, type) "
      "  WHERE x.ord = 1 OR u.status = 'resolved' ORDER BY x.ord) "
      "SELECT " TK_COLS ("$16") " FROM t", false },
    { "tk_ticket_get",
      "SELECT " TK_COLS ("$3") " FROM tickets t WHERE t.property_id = $1::uuid AND t.id = $2::uuid",
      true },
    { "tk_ticket_get_for_update",
      "SELECT " TK_COLS ("$3") " FROM tickets t WHERE t.property_id = $1::uuid AND t.id = $2::uuid "
      "FOR UPDATE OF t", false },
    { "tk_ticket_update",
      "UPDATE tickets SET status = $3::text, assignee_id = $4::text, escalated_to = $5::text, "
      "  escalated_at = $6::timestamptz, responded_at = $7::timestamptz, "
      "  resolved_at = $8::timestamptz, closed_at = $9::timestamptz, hold_since = $10::timestamptz, "
      "  respond_by = $11::timestamptz, resolve_by = $12::timestamptz, fee_amount = $13::bigint, "
      "  fee_item_code = $14::text, data = $15::jsonb, updated_at = $16::timestamptz, "
      "  fee_status = $17::text, "
      /* a deadline moved (resume) back beyond its warning point may warn
       * again */
      "  respond_warned_at = CASE WHEN $11::timestamptz IS DISTINCT FROM respond_by "
      "    AND " TK_WARN_AT ("respond", "$11::timestamptz") " > $16::timestamptz "
      "    THEN NULL ELSE respond_warned_at END, "
      "  resolve_warned_at = CASE WHEN $12::timestamptz IS DISTINCT FROM resolve_by "
      "    AND " TK_WARN_AT ("resolve", "$12::timestamptz") " > $16::timestamptz "
      "    THEN NULL ELSE resolve_warned_at END "
      "WHERE property_id = $1::uuid AND id = $2::uuid RETURNING id::text", false },
    /* q: the number exactly, or part of the title (strpos: % and _ mean themselves) */
    { "tk_ticket_list",
      "SELECT " TK_COLS ("$8") " FROM tickets t "
      "WHERE t.property_id = $1::uuid "
      "  AND ($2::text IS NULL OR t.status = $2::text) "
      "  AND ($3::text IS NULL OR t.type = $3::text) "
      "  AND ($4::text IS NULL OR t.assignee_id = $4::text) "
      "  AND ($5::uuid IS NULL OR t.unit_id = $5::uuid) "
      "  AND (NOT $6::boolean OR (t.resolved_at IS NULL AND t.closed_at IS NULL "
      "       AND t.hold_since IS NULL AND t.resolve_by < $8::timestamptz)) "
      "  AND ($7::text IS NULL OR t.number = upper ($7::text) "
      "       OR strpos (lower (t.title), lower ($7::text)) > 0) "
      "  AND ($9::timestamptz IS NULL OR (t.created_at, t.id) < ($9::timestamptz, $10::uuid)) "
      "  AND ($12::text IS NULL OR t.requester_kind = $12::text) "
      "ORDER BY t.created_at DESC, t.id DESC LIMIT $11::int", true },
    /* ?overdue=true: the open tickets past their resolution deadline,
     * newest first like every list (API.md), read from the partial index of
     * open tickets tickets_open_created (migrations/004) so that closed
     * history, however large, is never scanned; keyset on (created_at, id) */
    { "tk_ticket_list_overdue",
      "SELECT " TK_COLS ("$8") " FROM tickets t "
      "WHERE t.property_id = $1::uuid "
      "  AND t.resolved_at IS NULL AND t.closed_at IS NULL AND t.hold_since IS NULL "
      "  AND t.resolve_by < $8::timestamptz "
      "  AND ($2::text IS NULL OR t.status = $2::text) "
      "  AND ($3::text IS NULL OR t.type = $3::text) "
      "  AND ($4::text IS NULL OR t.assignee_id = $4::text) "
      "  AND ($5::uuid IS NULL OR t.unit_id = $5::uuid) "
      "  AND ($7::text IS NULL OR t.number = upper ($7::text) "
      "       OR strpos (lower (t.title), lower ($7::text)) > 0) "
      "  AND ($9::timestamptz IS NULL OR (t.created_at, t.id) < ($9::timestamptz, $10::uuid)) "
      /* the same bound as an index condition, for the generic plan too */
      "  AND t.created_at <= coalesce ($9::timestamptz, 'infinity') "
      "  AND $6::boolean AND ($12::text IS NULL OR t.requester_kind = $12::text) "
      "ORDER BY t.created_at DESC, t.id DESC LIMIT $11::int", true },
    { "tk_callbacks_list",
      "SELECT " TK_COLS ("$3") " FROM tickets t "
      "WHERE t.property_id = $1::uuid AND t.status = 'resolved' "
      "  AND t.resolved_at <= $2::timestamptz "
      "  AND NOT EXISTS (SELECT 1 FROM ticket_feedback f WHERE f.ticket_id = t.id) "
      "  AND ($4::timestamptz IS NULL OR (t.resolved_at, t.id) > ($4::timestamptz, $5::uuid)) "
      "ORDER BY t.resolved_at, t.id LIMIT $6::int", true },
    { "tk_timeline_add",
      "INSERT INTO ticket_timeline (property_id, ticket_id, at, actor_id, actor_role, action, "
      "  from_status, to_status, note, internal, data, actor_name) "
      "VALUES ($1::uuid, $2::uuid, $3::timestamptz, $4::text, $5::text, $6::text, $7::text, "
      "  $8::text, $9::text, $10::boolean, coalesce ($11::jsonb, '{}'), $12::text) "
      "RETURNING " TK_TIMELINE_COLS, false },
    { "tk_timeline_list",
      "SELECT " TK_TIMELINE_COLS " FROM ticket_timeline "
      "WHERE property_id = $1::uuid AND ticket_id = $2::uuid AND ($3::boolean OR NOT internal) "
      "ORDER BY ticket_timeline.id", true },
    { "tk_feedback_add",
      "INSERT INTO ticket_feedback (ticket_id, property_id, rating, comment, called_by, created_at) "
      "VALUES ($2::uuid, $1::uuid, $3::int, $4::text, $5::text, $6::timestamptz) "
      "ON CONFLICT (ticket_id) DO NOTHING "
      "RETURNING rating::text, comment, called_by, " DB_UTC_TS_US ("created_at"), false },
    { "tk_feedback_get",
      "SELECT rating::text, comment, called_by, " DB_UTC_TS_US ("created_at") " FROM ticket_feedback "
      "WHERE property_id = $1::uuid AND ticket_id = $2::uuid", true },
};

int
tk_store_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

_Static_assert (TK_R_POLICY == 3, "tk_ticket_new_refs: the policy's columns follow the three of the copy");

PGresult *
tk_ticket_new_refs (db_t *db, const char *property_id, const char *unit_id, const char *party_id,
                    const char *type, const char *priority)
{
    return db_exec (db, "tk_ticket_new_refs", 5,
                    (const char *[]) { property_id, unit_id, party_id, type, priority });
}

PGresult *
tk_ticket_insert (db_t *db, const char *property_id, const tk_ticket_new_t *t)
{
    const char *p[] = { property_id, t->prefix, t->type, t->status, t->title, t->description,
                        t->unit_id, t->unit_code, t->party_id, t->channel, t->priority, t->category,
                        t->assignee_id, t->faq_id, t->created_by, t->created_at,
                        t->respond_minutes, t->resolve_minutes, t->warn_minutes, t->calendar_id,
                        t->respond_by, t->resolve_by, t->responded_at, t->resolved_at,
                        t->data ? t->data : "{}", t->timezone, t->created_by_role,
                        t->resolve_note, t->resolve_data, t->requester_kind, t->department,
                        t->created_by_name };
    return db_exec (db, "tk_ticket_insert", 32, p);
}

PGresult *
tk_ticket_get (db_t *db, const char *property_id, const char *id, const char *now, bool for_update)
{
    return db_exec (db, for_update ? "tk_ticket_get_for_update" : "tk_ticket_get", 3,
                    (const char *[]) { property_id, id, now });
}

PGresult *
tk_ticket_update (db_t *db, const char *property_id, const char *id, const tk_ticket_change_t *c)
{
    const char *p[] = { property_id, id, c->status, c->assignee_id, c->escalated_to,
                        c->escalated_at, c->responded_at, c->resolved_at, c->closed_at,
                        c->hold_since, c->respond_by, c->resolve_by, c->fee_amount,
                        c->fee_item_code, c->data ? c->data : "{}", c->updated_at,
                        c->fee_amount ? c->fee_status : NULL };
    return db_exec (db, "tk_ticket_update", 17, p);
}

PGresult *
tk_ticket_list (db_t *db, const char *property_id, const tk_list_input_t *f, const char *now,
                const page_time_id_t *page)
{
    const char *p[] = { property_id, f->status, f->type, f->assignee_id, f->unit_id,
                        f->overdue ? "true" : "false", f->q, now, page->at, page->id,
                        page->limit_plus_one, f->requester_kind };
    return db_exec (db, f->overdue ? "tk_ticket_list_overdue" : "tk_ticket_list", 12, p);
}

PGresult *
tk_callbacks_due (db_t *db, const char *property_id, const char *before, const char *now,
                  const page_time_id_t *page)
{
    const char *p[] = { property_id, before, now, page->at, page->id, page->limit_plus_one };
    return db_exec (db, "tk_callbacks_list", 6, p);
}

PGresult *
tk_timeline_add (db_t *db, const char *property_id, const char *ticket_id, const char *at,
                 const env_caller_t *actor, const char *action,
                 const char *from_status, const char *to_status, const char *note, bool internal,
                 const char *data)
{
    const char *p[] = { property_id, ticket_id, at, actor->user_id, actor->role, action, from_status,
                        to_status, note, internal ? "true" : "false", data, actor->name };
    return db_exec (db, "tk_timeline_add", 12, p);
}

PGresult *
tk_timeline_list (db_t *db, const char *property_id, const char *ticket_id, bool with_internal)
{
    return db_exec (db, "tk_timeline_list", 3,
                    (const char *[]) { property_id, ticket_id, with_internal ? "true" : "false" });
}

PGresult *
tk_feedback_add (db_t *db, const char *property_id, const char *ticket_id, int rating,
                 const char *comment, const char *called_by, const char *at)
{
    char r[16];
    snprintf (r, sizeof r, "%d", rating);
    const char *p[] = { property_id, ticket_id, r, comment, called_by, at };
    return db_exec (db, "tk_feedback_add", 6, p);
}

PGresult *
tk_feedback_get (db_t *db, const char *property_id, const char *ticket_id)
{
    return db_exec (db, "tk_feedback_get", 2, (const char *[]) { property_id, ticket_id });
}

/* --- JSON --------------------------------------------------------------------- */

const char *
tk_value (const PGresult *res, int row, int col)
{
    return PQgetisnull (res, row, col) ? NULL : PQgetvalue (res, row, col);
}

static void
s_text (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    const char *v = tk_value (res, row, col);
    if (v)
        cJSON_AddStringToObject (obj, name, v);
    else
        cJSON_AddNullToObject (obj, name);
}

/* A timestamp as the API writes it: whole seconds, "2026-11-27T03:14:00Z". */
static void
s_time (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    const char *v = tk_value (res, row, col);
    char buf[32];
    if (!v || strlen (v) < 19) {
        cJSON_AddNullToObject (obj, name);
        return;
    }
    snprintf (buf, sizeof buf, "%.19sZ", v);
    cJSON_AddStringToObject (obj, name, buf);
}

static void
s_int (cJSON *obj, const char *name, const PGresult *res, int row, int col)
{
    const char *v = tk_value (res, row, col);
    if (v)
        cJSON_AddNumberToObject (obj, name, (double) strtoll (v, NULL, 10));
    else
        cJSON_AddNullToObject (obj, name);
}

static bool
s_bool (const PGresult *res, int row, int col)
{
    const char *v = tk_value (res, row, col);
    return v && (v[0] == 't' || strcmp (v, "true") == 0);
}

cJSON *
tk_ticket_json (const PGresult *res, int row)
{
    cJSON *t = cJSON_CreateObject ();
    s_text (t, "id", res, row, TK_C_ID);
    s_text (t, "property_id", res, row, TK_C_PROPERTY);
    s_text (t, "number", res, row, TK_C_NUMBER);
    s_text (t, "type", res, row, TK_C_TYPE);
    s_text (t, "status", res, row, TK_C_STATUS);
    s_text (t, "priority", res, row, TK_C_PRIORITY);
    s_text (t, "channel", res, row, TK_C_CHANNEL);
    s_text (t, "requester_kind", res, row, TK_C_REQUESTER_KIND);
    s_text (t, "department", res, row, TK_C_DEPARTMENT);
    s_text (t, "category", res, row, TK_C_CATEGORY);
    s_text (t, "title", res, row, TK_C_TITLE);
    s_text (t, "description", res, row, TK_C_DESCRIPTION);
    s_text (t, "unit_id", res, row, TK_C_UNIT);
    s_text (t, "unit_code", res, row, TK_C_UNIT_CODE);
    s_text (t, "party_id", res, row, TK_C_PARTY);
    s_text (t, "assignee_id", res, row, TK_C_ASSIGNEE);
    s_text (t, "escalated_to", res, row, TK_C_ESCALATED_TO);
    s_time (t, "escalated_at", res, row, TK_C_ESCALATED_AT);
    s_text (t, "faq_id", res, row, TK_C_FAQ);
    s_text (t, "created_by", res, row, TK_C_CREATED_BY);
    s_time (t, "created_at", res, row, TK_C_CREATED_AT);
    s_time (t, "updated_at", res, row, TK_C_UPDATED_AT);
    s_time (t, "responded_at", res, row, TK_C_RESPONDED_AT);
    s_time (t, "resolved_at", res, row, TK_C_RESOLVED_AT);
    s_time (t, "closed_at", res, row, TK_C_CLOSED_AT);

    cJSON *sla = cJSON_AddObjectToObject (t, "sla");
    s_time (sla, "respond_by", res, row, TK_C_RESPOND_BY);
    s_time (sla, "resolve_by", res, row, TK_C_RESOLVE_BY);
    bool rb = s_bool (res, row, TK_C_RESPOND_BREACHED), sb = s_bool (res, row, TK_C_RESOLVE_BREACHED);
    cJSON_AddBoolToObject (sla, "breached", rb || sb);
    cJSON_AddBoolToObject (sla, "respond_breached", rb);
    cJSON_AddBoolToObject (sla, "resolve_breached", sb);
    s_int (sla, "respond_minutes", res, row, TK_C_RESPOND_MIN);
    s_int (sla, "resolve_minutes", res, row, TK_C_RESOLVE_MIN);
    s_int (sla, "warn_minutes", res, row, TK_C_WARN_MIN);
    s_text (sla, "calendar_id", res, row, TK_C_CALENDAR);
    cJSON_AddBoolToObject (sla, "on_hold", tk_value (res, row, TK_C_HOLD_SINCE) != NULL);
    s_time (sla, "hold_since", res, row, TK_C_HOLD_SINCE);

    if (tk_value (res, row, TK_C_FEE_AMOUNT)) {
        cJSON *fee = cJSON_AddObjectToObject (t, "fee");
        s_int (fee, "amount", res, row, TK_C_FEE_AMOUNT);
        cJSON_AddStringToObject (fee, "currency", "CNY");
        s_text (fee, "fee_item_code", res, row, TK_C_FEE_ITEM);
        /* a technician's fee waits for a manager (approve_fee / reject_fee) */
        s_text (fee, "status", res, row, TK_C_FEE_STATUS);
    }
    else
        cJSON_AddNullToObject (t, "fee");
    const char *data = tk_value (res, row, TK_C_DATA);
    cJSON *d = data ? cJSON_Parse (data) : NULL;
    cJSON_AddItemToObject (t, "data", d ? d : cJSON_CreateObject ());
    cJSON_AddBoolToObject (t, "has_feedback", s_bool (res, row, TK_C_HAS_FEEDBACK));
    return t;
}

cJSON *
tk_timeline_json (const PGresult *res, int row)
{
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddNumberToObject (e, "id", (double) strtoll (PQgetvalue (res, row, TK_T_ID), NULL, 10));
    s_time (e, "at", res, row, TK_T_AT);
    s_text (e, "actor_id", res, row, TK_T_ACTOR);
    s_text (e, "actor_role", res, row, TK_T_ROLE);
    s_text (e, "action", res, row, TK_T_ACTION);
    s_text (e, "from_status", res, row, TK_T_FROM);
    s_text (e, "to_status", res, row, TK_T_TO);
    s_text (e, "note", res, row, TK_T_NOTE);
    cJSON_AddBoolToObject (e, "internal", s_bool (res, row, TK_T_INTERNAL));
    const char *data = tk_value (res, row, TK_T_DATA);
    cJSON *d = data ? cJSON_Parse (data) : NULL;
    cJSON_AddItemToObject (e, "data", d ? d : cJSON_CreateObject ());
    return e;
}

cJSON *
tk_feedback_json (const PGresult *res, int row)
{
    cJSON *f = cJSON_CreateObject ();
    s_int (f, "rating", res, row, TK_F_RATING);
    s_text (f, "comment", res, row, TK_F_COMMENT);
    s_text (f, "called_by", res, row, TK_F_CALLED_BY);
    s_time (f, "created_at", res, row, TK_F_AT);
    return f;
}
