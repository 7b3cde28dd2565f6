-- billing 003: bill.overdue (once per bill), the test clock.
--
-- A bill that passes its due date unpaid raises bill.overdue once: the daily
-- late fee job (late_fees.c) inserts its row here and the event in the same
-- statement; the primary key makes it once per bill, whatever the number of
-- workers, restarts or catch-up days. A bill already overdue when this
-- migration is applied raises it on the job's first day.
CREATE TABLE bill_overdue_notices (
  bill_id      uuid PRIMARY KEY REFERENCES bills (id),
  property_id  uuid NOT NULL,
  day          date NOT NULL,
  amount_due   bigint NOT NULL CHECK (amount_due > 0),
  days_overdue int NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Tests move the late fee job's "today" instead of waiting for days to pass:
-- honoured only when the process runs with PM_TEST_CLOCK=1 (late_fees.h), as
-- tickets.test_clock is. One row.
CREATE TABLE test_clock (
  one            boolean PRIMARY KEY DEFAULT true CHECK (one),
  offset_seconds bigint NOT NULL DEFAULT 0
);
INSERT INTO test_clock DEFAULT VALUES;

-- A bill run's bills have no source: the unique key on (property_id, source,
-- source_ref) indexed 100,000 (property, NULL, NULL) entries per run for
-- nothing. Partial now, the same guarantee for the bills that have an origin
-- (charges, deposits, late fees: ON CONFLICT ... WHERE source IS NOT NULL).
CREATE UNIQUE INDEX bills_source_ref ON bills (property_id, source, source_ref) WHERE source IS NOT NULL;
ALTER TABLE bills DROP CONSTRAINT bills_source;

-- One index on a unit's bills instead of three. The unique key of a run's
-- bill (a unit's, or a lease's without a unit, per period) and the unit's
-- lookup (ledger, account) share one index: with NULLS NOT DISTINCT (PG 15)
-- a periodic bill (no source) is unique per (unit or lease, period), as
-- bills_periodic_unit and bills_periodic_lease made it; every other bill has
-- a source_ref, unique by bills_source_ref anyway. Reads by (property_id,
-- unit_id) use its prefix (a unit's few bills are sorted by due date after).
-- A bill run maintains three indexes on bills instead of four.
CREATE UNIQUE INDEX bills_unit_key ON bills (property_id, unit_id, parking_lease_id, period, kind, source, source_ref)
  NULLS NOT DISTINCT;
DROP INDEX bills_periodic_unit;
DROP INDEX bills_periodic_lease;
DROP INDEX bills_property_unit;
