/* sla_timer: raises SLA warnings and breaches, and escalates complaints past
 * their resolution deadline, from a uv_timer of the tickets worker, not
 * from a client's request.
 *
 * Each deadline kind is one set-based statement: pick a bounded batch of due
 * tickets through the partial indexes of migrations/001_init.sql (FOR UPDATE
 * SKIP LOCKED, so several workers share the work without waiting), mark
 * them (the *_warned_at / *_breached_at column, which the picking condition
 * requires to be NULL: each is raised once however many workers run), and
 * write the timeline rows and the outbox events in the same statement. The
 * four statements of a tick run in one transaction.
 *
 * "now" is tk_clock_now (), so tests move the clock instead of sleeping.
 * The timer runs between requests: a handler runs to completion on the same
 * loop, so a tick never lands inside a handler's transaction. */
#include "sla.h"

#include "config.h"
#include "log.h"
#include "tk_clock.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The warning's lead time: the policy's warn_minutes, but at most half the
 * deadline's window (a 15-minute response does not warn at creation) and at
 * most SLA_WARN_LEAD_MAX (which bounds the index scan). */
#define SLA_WARN_LEAD_MAX "interval '7 days'"

#define S_RFC3339(col) "to_char (" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* open, not on hold: the predicate of tickets_sla_respond / tickets_sla_resolve */
#define S_OPEN(kind, done)                                                               \
    done " IS NULL AND " kind "_breached_at IS NULL AND hold_since IS NULL "             \
    "AND closed_at IS NULL AND status NOT IN ('closed', 'cancelled', 'rejected', 'released', 'refused') "

/* the Ticket summary of events.md (ticket_handlers.c's tk_event_data) */
#define S_SUMMARY                                                                        \
    "jsonb_build_object ('id', u.id, 'number', u.number, 'type', u.type, 'status', u.status, " \
    "  'property_id', u.property_id, 'unit_id', u.unit_id, 'unit_code', u.unit_code, "   \
    "  'party_id', u.party_id, 'assignee_id', u.assignee_id, 'priority', u.priority, "   \
    "  'category', u.category, 'title', u.title, 'channel', u.channel, "                 \
    "  'sla', jsonb_build_object ('respond_by', " S_RFC3339 ("u.respond_by") ", "        \
    "    'resolve_by', " S_RFC3339 ("u.resolve_by") ", "                                 \
    "    'breached', u.respond_breached_at IS NOT NULL OR u.resolve_breached_at IS NOT NULL))"

#define S_EVENT(deadline)                                                                \
    "(" S_SUMMARY " || jsonb_build_object ('ticket_id', u.id, 'deadline', '" deadline "', " \
    "  'which', '" deadline "', 'due_at', " S_RFC3339 ("u.due_at") "))"

#define S_TIMELINE(action, deadline, note)                                               \
    "SELECT u.property_id, u.id, $1::timestamptz, 'system', 'system', '" action "', "    \
    "  u.status, u.status, " note ", true, "                                             \
    "  jsonb_build_object ('deadline', '" deadline "', 'due_at', " S_RFC3339 ("u.due_at") ") FROM upd u"

#define S_TIMELINE_COLS \
    "INSERT INTO ticket_timeline (property_id, ticket_id, at, actor_id, actor_role, action, " \
    "  from_status, to_status, note, internal, data) "

/* warning: the deadline is near, not yet passed, and no warning went out */
#define S_WARN_SQL(kind, done, minutes, note)                                            \
    "WITH due AS ("                                                                      \
    "  SELECT id FROM tickets WHERE " S_OPEN (kind, done)                                \
    "    AND " kind "_by <= $1::timestamptz + " SLA_WARN_LEAD_MAX                        \
    "    AND " kind "_by > $1::timestamptz AND " kind "_warned_at IS NULL "              \
    "    AND warn_minutes > 0 "                                                          \
    "    AND " kind "_by - least (make_interval (mins => least (warn_minutes, "          \
    "          coalesce (" minutes ", warn_minutes * 2) / 2)), "                          \
    "          " SLA_WARN_LEAD_MAX ") <= $1::timestamptz "                               \
    "  ORDER BY " kind "_by LIMIT $2::int FOR UPDATE SKIP LOCKED), "                     \
    "upd AS ("                                                                           \
    "  UPDATE tickets t SET " kind "_warned_at = $1::timestamptz FROM due "              \
    "  WHERE t.id = due.id AND t." kind "_warned_at IS NULL "                            \
    "  RETURNING t.*, t." kind "_by AS due_at), "                                    \
    "tl AS (" S_TIMELINE_COLS S_TIMELINE ("sla_warning", kind, note) ") "               \
    "INSERT INTO outbox (type, property_id, data) "                                      \
    "SELECT 'ticket.sla_warning', u.property_id, " S_EVENT (kind) " FROM upd u "        \
    "ORDER BY u.due_at RETURNING 1"

static const struct {
    const char *name;
    const char *sql;
} s_statements[] = {
    { "sla_timer_respond_warn",
      S_WARN_SQL ("respond", "responded_at", "respond_minutes", "'response deadline near'") },
    { "sla_timer_resolve_warn",
      S_WARN_SQL ("resolve", "resolved_at", "resolve_minutes", "'resolution deadline near'") },
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
      "INSERT INTO outbox (type, property_id, data) "
      "SELECT 'ticket.sla_breached', u.property_id, " S_EVENT ("respond") " FROM upd u "
      "ORDER BY u.due_at RETURNING 1" },
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
      "      'due_at', " S_RFC3339 ("u.due_at") ") AS data, 0 AS ord FROM upd u "
      "    UNION ALL "
      "    SELECT u.property_id, u.id, $1::timestamptz, 'escalate', u.status, "
      "      'escalated on its own: resolution deadline passed', "
      "      jsonb_build_object ('auto', true, 'escalated_to', u.escalated_to), 1 FROM upd u "
      "    WHERE u.escalate) x ORDER BY x.id, x.ord) "
      "INSERT INTO outbox (type, property_id, data) "
      "SELECT type, property_id, data FROM ("
      "  SELECT 'ticket.sla_breached' AS type, u.property_id, " S_EVENT ("resolve") " AS data, "
      "    u.due_at, u.id, 0 AS ord FROM upd u "
      "  UNION ALL "
      "  SELECT 'ticket.escalated', u.property_id, " S_SUMMARY " || jsonb_build_object ("
      "    'escalated_to', u.escalated_to, 'escalated_at', " S_RFC3339 ("u.escalated_at") ", "
      "    'reason', 'resolution deadline passed', 'auto', true), u.due_at, u.id, 1 "
      "  FROM upd u WHERE u.escalate"
      ") e ORDER BY e.due_at, e.id, e.ord RETURNING 1" },
};
#define S_NSTATEMENTS (sizeof s_statements / sizeof s_statements[0])

struct sla_timer {
    uv_timer_t timer;
    db_t *db;
    outbox_t *outbox;
    int failures;                      /* consecutive failed ticks (logging) */
};

int
sla_timer_prepare (db_t *db)
{
    for (size_t i = 0; i < S_NSTATEMENTS; i++)
        if (db_prepare (db, s_statements[i].name, s_statements[i].sql, false))
            return -1;
    return 0;
}

int
sla_timer_run_once (sla_timer_t *self)
{
    char now[32], limit[16];
    tk_clock_format (tk_clock_now (), now);
    snprintf (limit, sizeof limit, "%d", SLA_TIMER_BATCH);
    if (db_begin (self->db))
        goto fail;
    int raised = 0;
    for (size_t i = 0; i < S_NSTATEMENTS; i++) {
        PGresult *res = db_exec (self->db, s_statements[i].name, 2, (const char *[]) { now, limit });
        if (!db_ok (res)) {
            log_error (NULL, "SLA timer: %s failed (%s)", s_statements[i].name, db_sqlstate (res));
            PQclear (res);
            goto fail;
        }
        raised += PQntuples (res);
        PQclear (res);
    }
    if (db_commit (self->db))
        goto fail;
    if (raised > 0) {
        outbox_wake (self->outbox);
        log_info (NULL, "SLA timer: %d events raised", raised);
    }
    self->failures = 0;
    return raised;
fail:
    db_rollback (self->db);
    /* a database that is away: say so once, then every 60 failed ticks */
    if (self->failures++ % 60 == 0)
        log_warn (NULL, "SLA timer: tick failed; trying again");
    return -1;
}

static void
s_on_tick (uv_timer_t *timer)
{
    sla_timer_t *self = timer->data;
    worker_loop_busy (true);                 /* a tick over many tickets keeps the heartbeats */
    (void) sla_timer_run_once (self);
    worker_loop_busy (false);
}

sla_timer_t *
sla_timer_new (uv_loop_t *loop, db_t *db, outbox_t *outbox)
{
    sla_timer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    self->outbox = outbox;
    uint64_t tick = (uint64_t) config_int ("PM_SLA_TICK_MS", SLA_TICK_MS_DEFAULT, 10, 3600000);
    if (uv_timer_init (loop, &self->timer)) {
        free (self);
        return NULL;
    }
    self->timer.data = self;
    uv_timer_start (&self->timer, s_on_tick, tick, tick);
    return self;
}

static void
s_on_close (uv_handle_t *handle)
{
    free (handle->data);
}

void
sla_timer_destroy (sla_timer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sla_timer_t *self = *self_p;
    uv_timer_stop (&self->timer);
    uv_close ((uv_handle_t *) &self->timer, s_on_close);
    *self_p = NULL;
}
