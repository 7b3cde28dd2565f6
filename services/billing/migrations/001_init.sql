-- billing 001: billing's own copy of the tenants archive (fed by tenants'
-- events through common/consumer.h, never by reading schema tenants),
-- property settings, fee items, bill runs, bills and their lines, the
-- consumer bookkeeping and the outbox.
--
-- Money is bigint fen everywhere; numeric only for area (and area x price
-- before it is rounded half-up to bigint, once per line).
-- A bill has NO status column: unpaid / partially_paid / paid / void is
-- derived (view bill_balances below, replaced by payments in 002).

-- ---------------------------------------------------------------- archive copy
-- Rows are upserted by the consumer in event order (last event wins).
CREATE TABLE units (
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  code        text COLLATE "C" NOT NULL,
  building    text,
  floor       text,
  area_m2     numeric(12,2) NOT NULL DEFAULT 0 CHECK (area_m2 >= 0),
  use         text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (property_id, unit_id)
);
CREATE UNIQUE INDEX units_unit_id ON units (unit_id);
CREATE INDEX units_property_code ON units (property_id, code);

CREATE TABLE parties (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  kind        text NOT NULL,
  name        text NOT NULL,
  phones      text[] NOT NULL DEFAULT '{}',
  email       text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parties_property ON parties (property_id);

-- end_date is the last day occupied (inclusive), as in tenants; NULL = current.
CREATE TABLE occupancies (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  party_id    uuid NOT NULL,
  role        text NOT NULL,
  start_date  date NOT NULL,
  end_date    date,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX occupancies_property_unit ON occupancies (property_id, unit_id);

-- end_date is the lease's last day (inclusive); monthly_fee in fen.
CREATE TABLE parking_leases (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  space_id    uuid NOT NULL,
  space_code  text,
  party_id    uuid,
  unit_id     uuid,
  start_date  date NOT NULL,
  end_date    date,
  monthly_fee bigint NOT NULL CHECK (monthly_fee >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX parking_leases_property ON parking_leases (property_id);

-- ---------------------------------------------------------------- settings
-- Created on first sight of a property (any event); editable by managers.
CREATE TABLE property_settings (
  property_id          uuid PRIMARY KEY,
  timezone             text NOT NULL DEFAULT 'Asia/Shanghai',
  due_day              int NOT NULL DEFAULT 15 CHECK (due_day BETWEEN 1 AND 31),
  late_fee_bps_per_day int NOT NULL DEFAULT 5 CHECK (late_fee_bps_per_day BETWEEN 0 AND 10000),
  late_fee_grace_days  int NOT NULL DEFAULT 0 CHECK (late_fee_grace_days BETWEEN 0 AND 365),
  late_fee_cap_bps     int NOT NULL DEFAULT 10000 CHECK (late_fee_cap_bps BETWEEN 0 AND 100000),
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- fee items
-- A price change is a new row from a date; the previous row of the same code
-- gets effective_to = the day before. Bills keep their own amounts, so old
-- bills never change.
CREATE TABLE fee_items (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id    uuid NOT NULL,
  code           text COLLATE "C" NOT NULL CHECK (octet_length(code) BETWEEN 1 AND 64),
  name           text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
  basis          text NOT NULL CHECK (basis IN ('per_area', 'fixed', 'parking')),
  unit_price     bigint NOT NULL CHECK (unit_price >= 0),
  applies_to     text[] NOT NULL DEFAULT '{}',
  effective_from date NOT NULL,
  effective_to   date,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT fee_items_code_from UNIQUE (property_id, code, effective_from),
  CONSTRAINT fee_items_dates CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

-- ---------------------------------------------------------------- runs, bills
CREATE TABLE billing_runs (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id   uuid NOT NULL,
  period        text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  bills_created int NOT NULL DEFAULT 0,
  total_amount  bigint NOT NULL DEFAULT 0,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text,
  CONSTRAINT billing_runs_period UNIQUE (property_id, period)
);

-- kind: periodic (a bill run), charge (ticket.fee_charged, manual, renovation
-- management fee), late_fee, deposit. source + source_ref identify a charge's
-- origin so that an event delivered twice charges once.
-- unit_id is NULL only for a parking lease without a unit: that lease gets a
-- periodic bill of its own, keyed by parking_lease_id.
-- run_id (and bill_lines.bill_id) carry no foreign key on purpose: a run
-- writes the run, its bills and their lines in one statement, and checking
-- 300,000 references row by row doubled the time of a 100,000-unit run.
CREATE TABLE bills (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id      uuid NOT NULL,
  unit_id          uuid,
  parking_lease_id uuid,
  bill_to_party_id uuid,
  run_id           uuid,
  period           text,
  kind             text NOT NULL CHECK (kind IN ('periodic', 'charge', 'late_fee', 'deposit')),
  due_date         date NOT NULL,
  amount           bigint NOT NULL CHECK (amount >= 0),
  currency         text NOT NULL DEFAULT 'CNY',
  issued_at        timestamptz NOT NULL DEFAULT now(),
  source           text,
  source_ref       text,
  description      text,
  CONSTRAINT bills_unit_or_lease CHECK (unit_id IS NOT NULL OR parking_lease_id IS NOT NULL),
  CONSTRAINT bills_source UNIQUE (property_id, source, source_ref)
);
CREATE UNIQUE INDEX bills_periodic_unit ON bills (property_id, unit_id, period)
  WHERE kind = 'periodic' AND unit_id IS NOT NULL;
CREATE UNIQUE INDEX bills_periodic_lease ON bills (property_id, parking_lease_id, period)
  WHERE kind = 'periodic' AND unit_id IS NULL;
CREATE INDEX bills_property_unit ON bills (property_id, unit_id, due_date);
CREATE INDEX bills_property_period ON bills (property_id, period);

-- quantity: the area (per_area) or 1; days / period_days: the covered days of
-- the period and the days in its month (proration); amount in fen.
-- Lines are only ever read through their bill: one index (bill_id) and no
-- surrogate key, so that a run writing 300,000 lines maintains one index.
CREATE TABLE bill_lines (
  bill_id     uuid NOT NULL,
  property_id uuid NOT NULL,
  fee_item_id uuid,
  parking_lease_id uuid,
  description text NOT NULL,
  basis       text NOT NULL,
  quantity    numeric(14,2) NOT NULL DEFAULT 1,
  unit_price  bigint NOT NULL,
  days        int NOT NULL,
  period_days int NOT NULL,
  amount      bigint NOT NULL CHECK (amount >= 0)
);
CREATE INDEX bill_lines_bill ON bill_lines (bill_id);

-- ---------------------------------------------------------------- derived status
-- PLACEHOLDERS: payments' 002 replaces both with CREATE OR REPLACE (same
-- columns in the same order; columns may be added at the end). Until then
-- every bill is unpaid and nobody has credit. Readers (bills.c) use only
-- these names.
CREATE VIEW bill_balances AS
  SELECT b.id AS bill_id, b.property_id, b.unit_id, b.amount,
         0::bigint AS allocated, b.amount AS balance, 'unpaid'::text AS status
  FROM bills b;

CREATE FUNCTION unit_credit (p_property_id uuid, p_unit_id uuid) RETURNS bigint
  LANGUAGE sql STABLE AS $$ SELECT 0::bigint $$;

-- ---------------------------------------------------------------- consumer
CREATE TABLE consumer_cursors (
  producer   text PRIMARY KEY,
  cursor     text NOT NULL DEFAULT '0:0',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE processed_events (
  event_id     uuid PRIMARY KEY,
  producer     text NOT NULL,
  type         text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- outbox
-- identical to OUTBOX_TABLE_SQL in common/outbox.h
CREATE TABLE outbox (
  seq         bigserial PRIMARY KEY,
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  type        text NOT NULL,
  property_id uuid,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  data        jsonb NOT NULL
);
CREATE INDEX outbox_xid_seq ON outbox (xid, seq);
