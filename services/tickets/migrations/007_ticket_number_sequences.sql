-- tickets 007: ticket numbers from a SEQUENCE per (property, prefix, year)
-- instead of the ticket_counters row (issue I). The counter row was taken
-- by the creating transaction and held to its commit, so every ticket of a
-- property waited for the previous one's commit and group commit could not
-- help. nextval takes no lock that lasts beyond the call and is never rolled
-- back: tickets of one property are created in parallel, and a create that
-- fails (or a crash) leaves a gap in the numbers. Numbers stay unique (the
-- sequence, and tickets_number_unique behind it) and keep their format.
--
-- A sequence is created on the first number of its (property, prefix, year),
-- inside that ticket's transaction. Two first creates at once: the second
-- waits on the catalog's unique index for the first to end, then fails with
-- duplicate_table / unique_violation, which the inner block catches (one
-- subtransaction, on this path only) before it takes nextval of the first's
-- sequence; if the first rolled back, the second's CREATE goes through.
-- A year the counter table has already counted goes on from its last value,
-- so no number is issued twice across this migration. ticket_counters is
-- no longer written.
--
-- The number's text ("BX-2026-000042": prefix, the year of p_at in the
-- property's timezone p_tz, at least six digits) is made here, its one home.
-- Sequences are found through search_path, as every statement of the
-- service finds its tables.
CREATE FUNCTION ticket_number_next (p_property uuid, p_prefix text, p_at timestamptz, p_tz text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  y   int := extract (year FROM p_at AT TIME ZONE p_tz);
  seq text := format ('ticket_number_%s_%s_%s', replace (p_property::text, '-', ''), lower (p_prefix), y);
  n   bigint;
BEGIN
  IF p_prefix !~ '^[A-Z]{2}$' THEN
    RAISE EXCEPTION 'bad ticket number prefix' USING ERRCODE = 'check_violation';
  END IF;
  IF to_regclass (seq) IS NULL THEN
    BEGIN
      EXECUTE format ('CREATE SEQUENCE %I START %s', seq,
        coalesce ((SELECT c.last + 1 FROM ticket_counters c
                   WHERE c.property_id = p_property AND c.prefix = p_prefix AND c.year = y), 1));
    EXCEPTION WHEN duplicate_table OR unique_violation THEN
      NULL;                     -- a concurrent first create made it
    END;
  END IF;
  n := nextval (seq);
  RETURN format ('%s-%s-%s', p_prefix, y, lpad (n::text, greatest (6, length (n::text)), '0'));
END $$;
