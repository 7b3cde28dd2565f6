-- tickets 003: indexes in the exact order of the lists, so a page is an
-- index range scan with no sort however many (closed) tickets a property has.
--
-- The overdue list (?overdue=true) reads the open tickets of a property by
-- deadline, most overdue first, with a keyset on (resolve_by, id): the
-- partial index now carries id too.
DROP INDEX tickets_open_resolve_by;
CREATE INDEX tickets_open_resolve_by ON tickets (property_id, resolve_by, id)
  WHERE resolved_at IS NULL AND closed_at IS NULL AND hold_since IS NULL;
-- The default list is ORDER BY created_at DESC, id DESC: the old index had id
-- ascending, which left an (incremental) sort on every page.
DROP INDEX tickets_list;
CREATE INDEX tickets_list ON tickets (property_id, created_at DESC, id DESC);
-- The list filtered by type (?type=repair), newest first.
CREATE INDEX tickets_type ON tickets (property_id, type, created_at DESC, id DESC);
