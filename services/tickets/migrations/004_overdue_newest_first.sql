-- tickets 004: the overdue list is newest first like every list of the
-- contract (API.md), so its index is the open tickets by creation time.
-- Partial: closed history, however large, is not in it. resolve_by is the
-- last key column so that "resolve_by < now" is checked inside the index
-- (an index condition, not a heap filter): open tickets that are not yet
-- due are skipped without visiting the table.
CREATE INDEX tickets_open_created ON tickets (property_id, created_at DESC, id DESC, resolve_by)
  WHERE resolved_at IS NULL AND closed_at IS NULL AND hold_since IS NULL;
