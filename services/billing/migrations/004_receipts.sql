-- billing 004: receipts (收据). Every payment has a receipt number
-- SJ-<year>-<000001>, per property and year (the year of paid_at in the
-- property's time zone), WITHOUT GAPS: a number is taken from the row of
-- receipt_counters in the payment's own transaction (payments.c
-- bl_pay_record), so a payment that rolls back gives its number back with
-- it. A reversed payment keeps its number; its receipt prints 作废 (void).

CREATE TABLE receipt_counters (
  property_id uuid NOT NULL,
  year        int NOT NULL,
  last        bigint NOT NULL CHECK (last >= 1),
  PRIMARY KEY (property_id, year)
);

ALTER TABLE payments ADD COLUMN receipt_number text;

-- The payments made before this migration, numbered in order of time
-- (paid_at, then created_at and id) per property and year.
WITH tz AS (
  SELECT p.id, p.property_id, p.paid_at, p.created_at,
         extract (year FROM p.paid_at AT TIME ZONE COALESCE (s.timezone, 'Asia/Shanghai'))::int AS year
  FROM payments p LEFT JOIN property_settings s ON s.property_id = p.property_id),
n AS (
  SELECT id, property_id, year,
         row_number () OVER (PARTITION BY property_id, year ORDER BY paid_at, created_at, id) AS seq
  FROM tz),
upd AS (
  UPDATE payments p SET receipt_number = 'SJ-' || n.year || '-' || lpad (n.seq::text, greatest (6, length (n.seq::text)), '0')
  FROM n WHERE n.id = p.id
  RETURNING n.property_id, n.year, n.seq)
INSERT INTO receipt_counters (property_id, year, last)
SELECT property_id, year, max (seq) FROM upd GROUP BY property_id, year;

ALTER TABLE payments ALTER COLUMN receipt_number SET NOT NULL;
ALTER TABLE payments ADD CONSTRAINT payments_receipt_number UNIQUE (property_id, receipt_number);
