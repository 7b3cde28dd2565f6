/* sla_timer: raises SLA warnings and breaches, and escalates complaints past
 * their resolution deadline, from a periodic job of the tickets worker
 * (sla_timer.h), not from a client's request.
 *
 * Each deadline kind is one set-based statement: pick a bounded batch of due
 * tickets through the partial indexes of migrations/001 and 008 (FOR UPDATE
 * SKIP LOCKED, so several workers share the work without waiting), mark
 * them (the *_warned_at / *_breached_at column, which the picking condition
 * requires to be NULL: each is raised once however many workers run), and
 * write the timeline rows and the outbox events in the same statement. The
 * four statements of a tick run in one transaction.
 *
 * "now" is tk_clock_now (), so tests move the clock instead of sleeping.
 * The timer runs between requests: a handler runs to completion on the same
 * loop, so a tick never lands inside a handler's transaction. */
#include "sla_timer.h"

#include "config.h"
#include "log.h"
#include "outbox.h"
#include "ticket_store.h"
#include "tk_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The warning point of a deadline: ticket_warn_at () of migrations/008 (the
 * policy's warn_minutes, at most half the deadline's window, at most 7 days),
 * the lead rule's one home. Its partial indexes tickets_sla_*_warn hold the
 * tickets still to warn, so a tick reads only those due, however many are
 * open. */
#define S_WARN_AT(kind) "ticket_warn_at (" kind "_by, warn_minutes, " kind "_minutes)"

/* open, not on hold: the predicate of tickets_sla_respond / tickets_sla_resolve */
#define S_OPEN(kind, done)                                                               \
    done " IS NULL AND " kind "_breached_at IS NULL AND hold_since IS NULL "             \
    "AND closed_at IS NULL AND status NOT IN ('closed', 'cancelled', 'rejected', 'released', 'refused') "

#define S_EVENT(deadline)                                                                \
    "(" TK_EVENT_SUMMARY " || jsonb_build_object ('ticket_id', u.id, 'deadline', '" deadline "', " \
    "  'which', '" deadline "', 'due_at', " DB_UTC_TS ("u.due_at") "))"

#define S_TIMELINE(action, deadline, note)                                               \
    "SELECT u.property_id, u.id, $1::timestamptz, 'system', 'system', '" action "', "    \
    "  u.status, u.status, " note ", true, "                                             \
    "  jsonb_build_object ('deadline', '" deadline "', 'due_at', " DB_UTC_TS ("u.due_at") ") FROM upd u"

#define S_TIMELINE_COLS \
    "INSERT INTO ticket_timeline (property_id, ticket_id, at, actor_id, actor_role, action, " \
    "  from_status, to_status, note, internal, data) "

/* warning: the warning point passed, the deadline not yet, and no warning
 * went out; the conditions imply tickets_sla_*_warn's predicate */
#define S_WARN_SQL(kind, done, note)                                                     \
    "WITH due AS ("                                                                      \
    "  SELECT id FROM tickets WHERE " S_OPEN (kind, done)                                \
    "    AND " kind "_warned_at IS NULL AND warn_minutes > 0 "                           \
    "    AND " S_WARN_AT (kind) " <= $1::timestamptz AND " kind "_by > $1::timestamptz "  \
    "  ORDER BY " S_WARN_AT (kind) " LIMIT $2::int FOR UPDATE SKIP LOCKED), "            \
    "upd AS ("                                                                           \
    "  UPDATE tickets t SET " kind "_warned_at = $1::timestamptz FROM due "              \
    "  WHERE t.id = due.id AND t." kind "_warned_at IS NULL "                            \
    "  RETURNING t.*, t." kind "_by AS due_at), "                                    \
    "tl AS (" S_TIMELINE_COLS S_TIMELINE ("sla_warning", kind, note) ") "               \
    OUTBOX_INSERT                                                                        \
    "SELECT 'ticket.sla_warning', u.property_id, " S_EVENT (kind) " FROM upd u "        \
    "ORDER BY u.due_at RETURNING 1"

static const db_statement_t s_statements[] = {
    { "sla_timer_respond_warn",
      S_WARN_SQL ("respond", "responded_at", "'response deadline near'"), false },
    { "sla_timer_resolve_warn",
      S_WARN_SQL ("resolve", "resolved_at", "'resolution deadline near'"), false },
    { "sla_timer_respond_breach",
      "WITH due AS ("
      "  SELECT id FROM tickets WHERE " S_OPEN ("respond", "responded_at")
      "    AND respond_by <= $1::timestamptz "
      "  ORDER BY respond_by LIMIT $2::int FOR UPDATE SKIP LOCKED), "
      "upd AS ("
      "  UPDATE tickets t SET respond_breached_at = $1::timestamptz FROM due "
      "  WHERE t.id = due.id AND t.respond_breached_at IS NULL "
      "  RETURNING t.*, t.respond_by AS due_at), "
      "tl AS (" S_TIMELINE_COLS S_TIMELINE ("sla_breached", "respond", "'response deadline passed'") ") "
      OUTBOX_INSERT
      "SELECT 'ticket.sla_breached', u.property_id, " S_EVENT ("respond") " FROM upd u "
      "ORDER BY u.due_at RETURNING 1", false },
    /* a complaint past its resolution deadline also escalates on its own:
     * to the manager on duty (post "manager") when the roster names one */
    { "sla_timer_resolve_breach",
      "WITH due AS ("
      "  SELECT id, (type = 'complaint' AND escalated_at IS NULL) AS escalate "
      "  FROM tickets WHERE " S_OPEN ("resolve", "resolved_at")
      "    AND resolve_by <= $1::timestamptz "
      "  ORDER BY resolve_by LIMIT $2::int FOR UPDATE SKIP LOCKED), "
      "upd AS ("
      "  UPDATE tickets t SET resolve_breached_at = $1::timestamptz, "
      "    escalated_at = CASE WHEN due.escalate THEN $1::timestamptz ELSE t.escalated_at END, "
      "    escalated_to = CASE WHEN due.escalate THEN coalesce (t.escalated_to, "
      "      (SELECT s.user_id FROM duty_shifts s WHERE s.property_id = t.property_id "
      "        AND s.post = 'manager' AND s.starts_at <= $1::timestamptz AND s.ends_at > $1::timestamptz "
      "        ORDER BY s.starts_at, s.id LIMIT 1), 'managers') ELSE t.escalated_to END, "
      "    updated_at = CASE WHEN due.escalate THEN $1::timestamptz ELSE t.updated_at END "
      "  FROM due WHERE t.id = due.id AND t.resolve_breached_at IS NULL "
      "  RETURNING t.*, t.resolve_by AS due_at, due.escalate), "
      "tl AS (" S_TIMELINE_COLS
      "  SELECT property_id, id, at, 'system', 'system', action, status, status, note, true, data FROM ("
      "    SELECT u.property_id, u.id, $1::timestamptz AS at, 'sla_breached' AS action, u.status, "
      "      'resolution deadline passed' AS note, jsonb_build_object ('deadline', 'resolve', "
      "      'due_at', " DB_UTC_TS ("u.due_at") ") AS data, 0 AS ord FROM upd u "
      "    UNION ALL "
      "    SELECT u.property_id, u.id, $1::timestamptz, 'escalate', u.status, "
      "      'escalated on its own: resolution deadline passed', "
      "      jsonb_build_object ('auto', true, 'escalated_to', u.escalated_to), 1 FROM upd u "
      "    WHERE u.escalate) x ORDER BY x.id, x.ord) "
      OUTBOX_INSERT
      "SELECT type, property_id, data FROM ("
      "  SELECT 'ticket.sla_breached' AS type, u.property_id, " S_EVENT ("resolve") " AS data, "
      "    u.due_at, u.id, 0 AS ord FROM upd u "
      "  UNION ALL "
      "  SELECT 'ticket.escalated', u.property_id, " TK_EVENT_SUMMARY " || jsonb_build_object ("
      "    'escalated_to', u.escalated_to, 'escalated_at', " DB_UTC_TS ("u.escalated_at") ", "
      "    'reason', 'resolution deadline passed', 'auto', true), u.due_at, u.id, 1 "
      "  FROM upd u WHERE u.escalate"
      ") e ORDER BY e.due_at, e.id, e.ord RETURNING 1", false },
};

int
sla_timer_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_statements);
}

/* One round now, in one transaction, at tk_clock_now (): the number of
 * events raised (the outbox woken when any), or -1 after rolling back. */
static int
s_run_once (db_t *db, outbox_t *outbox)
{
    char now[32], limit[16];
    tk_clock_format (tk_clock_now (), now);
    snprintf (limit, sizeof limit, "%d", SLA_TIMER_BATCH);
    int raised = 0;
    if (db_begin (db))
        goto fail;
    for (size_t i = 0; i < sizeof s_statements / sizeof s_statements[0]; i++) {
        PGresult *res = db_exec (db, s_statements[i].name, 2, (const char *[]) { now, limit });
        if (!db_ok (res)) {
            log_error (NULL, "SLA timer: %s failed (%s)", s_statements[i].name, db_sqlstate (res));
            PQclear (res);
            goto fail;
        }
        raised += PQntuples (res);
        PQclear (res);
    }
    if (db_commit (db))
        goto fail;
    if (raised > 0) {
        outbox_wake (outbox);
        log_info (NULL, "SLA timer: %d events raised", raised);
    }
    return raised;
fail:
    db_rollback (db);
    return -1;
}

static int
s_round (void *app_)
{
    tickets_t *app = app_;
    return s_run_once (app->db, app->outbox);
}

job_t *
sla_timer_new (uv_loop_t *loop, tickets_t *app)
{
    uint64_t tick = (uint64_t) config_int ("PM_SLA_TICK_MS", SLA_TICK_MS_DEFAULT, 10, 3600000);
    return job_new (loop, "SLA timer", tick, s_round, app);
}
