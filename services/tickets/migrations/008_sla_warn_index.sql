-- tickets 008: the SLA timer's warning statements read an index (issue I).
-- They picked "open, not warned, warning point passed" by scanning every open
-- ticket due within 7 days (tickets_sla_respond / _resolve by deadline) and
-- computing each one's warning point: 2.5-9 ms per statement per tick per
-- worker with a few thousand open tickets, growing with them. The warning
-- point is now one IMMUTABLE function, the rule's only home (the timer and
-- the resume path of ticket_store.c both call it), and a partial index on it
-- holds exactly the tickets still to warn: a tick reads only those due.
--
-- The lead: warn_minutes, but at most half the deadline's window (a
-- 15-minute response does not warn at creation) and at most 7 days (10080
-- minutes). Only minutes are subtracted, never days or months, so the result
-- does not depend on the session's TimeZone: the function is truly immutable.
-- A NULL warn_minutes gives the 7-day cap (as the interval form did); the
-- timer's statements require warn_minutes > 0 anyway. plpgsql, not sql: an
-- IMMUTABLE sql function over a STABLE operator is never inlined, and its
-- call costs ~1.7 us against plpgsql's ~0.4 us (PostgreSQL 15, measured);
-- it runs for both indexes on every insert and deadline change.
CREATE FUNCTION ticket_warn_at (p_due timestamptz, p_warn int, p_window int)
RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN p_due - make_interval (mins => least (p_warn, coalesce (p_window, p_warn * 2) / 2, 10080));
END $$;

-- The predicates are sla_timer.c's S_WARN_SQL conditions (the status list,
-- a heap filter, aside): a ticket leaves its index once warned, answered or
-- resolved, put on hold, closed or breached.
CREATE INDEX tickets_sla_respond_warn ON tickets (ticket_warn_at (respond_by, warn_minutes, respond_minutes))
  WHERE responded_at IS NULL AND respond_warned_at IS NULL AND respond_breached_at IS NULL
    AND hold_since IS NULL AND closed_at IS NULL AND warn_minutes > 0;
CREATE INDEX tickets_sla_resolve_warn ON tickets (ticket_warn_at (resolve_by, warn_minutes, resolve_minutes))
  WHERE resolved_at IS NULL AND resolve_warned_at IS NULL AND resolve_breached_at IS NULL
    AND hold_since IS NULL AND closed_at IS NULL AND warn_minutes > 0;
