/* ticket_store: the SQL of tickets, their timeline and feedback, in one
 * place (sla.c, roster.c, faq.c keep theirs; the number's is
 * migrations/007), and the row -> JSON conversions. Every function returns
 * db_exec's result: check db_ok, PQclear it. Every statement names the
 * property.
 *
 * Times cross as text: RFC 3339 with microseconds ("2026-11-27T03:14:00.123456Z",
 * DB_UTC_TS_US out, tk_time_param in), so a value read can be written back
 * exactly and a time column is a page's cursor key as it is. */
#ifndef TK_TICKET_STORE_H
#define TK_TICKET_STORE_H

#include "db.h"
#include "page.h"
#include "ticket_rules.h"
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* Columns of a ticket row (tk_ticket_get, tk_ticket_list, tk_callbacks_list). */
enum {
    TK_C_ID, TK_C_PROPERTY, TK_C_NUMBER, TK_C_TYPE, TK_C_STATUS, TK_C_TITLE, TK_C_DESCRIPTION,
    TK_C_UNIT, TK_C_UNIT_CODE, TK_C_PARTY, TK_C_CHANNEL, TK_C_PRIORITY, TK_C_CATEGORY,
    TK_C_ASSIGNEE, TK_C_ESCALATED_TO, TK_C_ESCALATED_AT, TK_C_FAQ, TK_C_CREATED_BY,
    TK_C_CREATED_AT, TK_C_UPDATED_AT, TK_C_RESPOND_MIN, TK_C_RESOLVE_MIN, TK_C_WARN_MIN,
    TK_C_CALENDAR, TK_C_RESPOND_BY, TK_C_RESOLVE_BY, TK_C_RESPONDED_AT, TK_C_RESOLVED_AT,
    TK_C_CLOSED_AT, TK_C_HOLD_SINCE, TK_C_FEE_AMOUNT, TK_C_FEE_ITEM, TK_C_DATA,
    TK_C_RESPOND_BY_S, TK_C_RESOLVE_BY_S, TK_C_HOLD_SINCE_S,       /* epoch seconds */
    TK_C_HELD_FROM, TK_C_HAS_FEEDBACK, TK_C_RESPOND_BREACHED, TK_C_RESOLVE_BREACHED,
    TK_C_FEE_STATUS,                                               /* proposed approved rejected */
    TK_C_REQUESTER_KIND, TK_C_DEPARTMENT,                          /* resident internal; the hotline's */
    TK_C_COUNT
};

/* The Ticket summary of events.md in SQL, of a tickets row aliased u, for a
 * statement that writes its events itself (OUTBOX_INSERT): the create, the
 * SLA timer. tk_event_data (tickets.h) is its C twin, for the events of a
 * ticket the handler decided on in C; test_event_examples.py holds both to
 * the documented keys. */
#define TK_EVENT_SUMMARY                                                                 \
    "jsonb_build_object ('id', u.id, 'number', u.number, 'type', u.type, 'status', u.status, " \
    "  'property_id', u.property_id, 'unit_id', u.unit_id, 'unit_code', u.unit_code, "   \
    "  'party_id', u.party_id, 'assignee_id', u.assignee_id, 'priority', u.priority, "   \
    "  'category', u.category, 'title', u.title, 'channel', u.channel, "                 \
    "  'requester_kind', u.requester_kind, 'department', u.department, "                 \
    "  'sla', jsonb_build_object ('respond_by', " DB_UTC_TS ("u.respond_by") ", "        \
    "    'resolve_by', " DB_UTC_TS ("u.resolve_by") ", "                                 \
    "    'breached', u.respond_breached_at IS NOT NULL OR u.resolve_breached_at IS NOT NULL))"

/* What a new ticket is; NULL = SQL NULL. Times are tk_time_param text. Its
 * number is made by the insert: prefix (wf_prefix), the year of created_at
 * in timezone (the property's), a sequence's next value. */
typedef struct {
    const char *prefix, *timezone, *type, *status, *title, *description, *unit_id, *unit_code;
    const char *party_id, *channel, *priority, *category, *assignee_id, *faq_id, *created_by;
    const char *created_by_role, *created_by_name, *created_at;
    const char *respond_minutes, *resolve_minutes, *warn_minutes, *calendar_id;
    const char *respond_by, *resolve_by, *responded_at, *resolved_at, *data;
    const char *resolve_note, *resolve_data;     /* status "resolved": its timeline entry */
    const char *requester_kind, *department;     /* NULL kind: "resident" */
} tk_ticket_new_t;

/* The columns an action may change; NULL = SQL NULL. */
typedef struct {
    const char *status, *assignee_id, *escalated_to, *escalated_at, *responded_at, *resolved_at;
    const char *closed_at, *hold_since, *respond_by, *resolve_by, *fee_amount, *fee_item_code;
    const char *data, *updated_at;
    const char *fee_status;          /* NULL exactly when fee_amount is */
} tk_ticket_change_t;

/* Registers the statements; 0 or -1. */
int tk_store_prepare (db_t *db);

/* What a new ticket needs, read before its transaction: one row of the
 * TK_R_* columns. unit_id, party_id: NULL when the ticket names none. */
PGresult *tk_ticket_new_refs (db_t *db, const char *property_id, const char *unit_id,
                              const char *party_id, const char *type, const char *priority);
enum {
    TK_R_TIMEZONE,                   /* the property's, NULL when the copy does not know it */
    TK_R_UNIT_CODE,                  /* NULL: no unit asked, or not in the copy */
    TK_R_PARTY_KNOWN,                /* "t" when the copy knows the party */
    TK_R_POLICY                      /* sla.h's SLA_POLICY_NCOLS columns: sla_terms_for_ticket */
};

/* Inserts the ticket with its number, its timeline and its events, in one
 * statement: the "create" entry (by created_by as created_by_role, to status
 * "new") and ticket.created; for a ticket created resolved (status
 * "resolved") also the "resolve" entry (note resolve_note, data resolve_data)
 * and ticket.resolved. One row of TK_C_* columns, as tk_ticket_get answers
 * it (now = created_at). Holds no lock beyond the new rows; the number is
 * not given back if it fails. */
PGresult *tk_ticket_insert (db_t *db, const char *property_id, const tk_ticket_new_t *t);

/* The ticket (0 or 1 row of TK_C_* columns). now: for the breached flags. */
PGresult *tk_ticket_get (db_t *db, const char *property_id, const char *id, const char *now,
                         bool for_update);

/* One row (the id) when it changed. */
PGresult *tk_ticket_update (db_t *db, const char *property_id, const char *id,
                            const tk_ticket_change_t *c);

/* A page of tickets (limit + 1 rows), filters NULL = any. Newest first,
 * keyset (created_at, id) after page's cursor. overdue: open, not on hold,
 * resolve_by before now. */
PGresult *tk_ticket_list (db_t *db, const char *property_id, const tk_list_input_t *filter,
                          const char *now, const page_time_id_t *page);

/* A page of resolved tickets without feedback, resolved at or before
 * `before`, oldest first: keyset (resolved_at, id) after page's cursor. */
PGresult *tk_callbacks_due (db_t *db, const char *property_id, const char *before,
                            const char *now, const page_time_id_t *page);

/* One timeline row (TK_T_* columns) inserted, by actor (its user id, role
 * and name). data: JSON text or NULL ("{}"). */
PGresult *tk_timeline_add (db_t *db, const char *property_id, const char *ticket_id, const char *at,
                           const env_caller_t *actor, const char *action,
                           const char *from_status, const char *to_status, const char *note,
                           bool internal, const char *data);
/* The timeline, oldest first; internal entries only when with_internal. */
PGresult *tk_timeline_list (db_t *db, const char *property_id, const char *ticket_id,
                            bool with_internal);
enum { TK_T_ID, TK_T_AT, TK_T_ACTOR, TK_T_ROLE, TK_T_ACTION, TK_T_FROM, TK_T_TO, TK_T_NOTE,
       TK_T_INTERNAL, TK_T_DATA };

/* One row (TK_F_* columns) when recorded, none when the ticket has one already. */
PGresult *tk_feedback_add (db_t *db, const char *property_id, const char *ticket_id, int rating,
                           const char *comment, const char *called_by, const char *at);
PGresult *tk_feedback_get (db_t *db, const char *property_id, const char *ticket_id);
enum { TK_F_RATING, TK_F_COMMENT, TK_F_CALLED_BY, TK_F_AT };

/* Rows as the API's JSON. */
cJSON *tk_ticket_json (const PGresult *res, int row);
cJSON *tk_timeline_json (const PGresult *res, int row);
cJSON *tk_feedback_json (const PGresult *res, int row);

/* A column's value, or NULL for SQL NULL (borrowed from res). */
const char *tk_value (const PGresult *res, int row, int col);

#endif
