-- billing 002: the append-only ledger (payments, allocations, reversals,
-- bill voids, deposits, late fee assessments). Nothing here is ever updated
-- or deleted: a reversal, a void, a refund is a new row, and every balance
-- is derived from the rows (views bill_balances, unit_ledger_credit below).
--
-- Sign conventions, in fen:
--   payments.amount > 0                       money in, on a unit
--   allocations.amount > 0                    a payment pays (part of) a bill
--   allocations.amount < 0                    that undone (reversal, void): the
--                                             money goes back to the payment
--   payment_reversals.amount = payment amount the payment leaves the ledger
-- A payment's unallocated remainder = amount - sum(its allocations)
--   - (its reversal's amount); a unit's credit = the sum of its payments'
--   remainders; a bill's balance = amount - sum(its allocations) (0 if void).

CREATE TABLE payments (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id  uuid NOT NULL,
  unit_id      uuid NOT NULL,
  amount       bigint NOT NULL CHECK (amount > 0),
  currency     text NOT NULL DEFAULT 'CNY',
  method       text NOT NULL
               CHECK (method IN ('cash', 'bank_transfer', 'wechat', 'alipay', 'card', 'external')),
  external_ref text CHECK (external_ref IS NULL OR octet_length(external_ref) BETWEEN 1 AND 128),
  paid_at      timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text,
  source       text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'import')),
  CONSTRAINT payments_external_ref UNIQUE (property_id, external_ref)
);
CREATE INDEX payments_unit ON payments (property_id, unit_id, paid_at);
CREATE INDEX payments_property_paid ON payments (property_id, paid_at);

-- A whole payment voided or refunded (one per payment).
CREATE TABLE payment_reversals (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  payment_id  uuid NOT NULL UNIQUE REFERENCES payments (id),
  amount      bigint NOT NULL CHECK (amount > 0),
  reason      text NOT NULL CHECK (octet_length(reason) BETWEEN 1 AND 500),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text
);

-- A bill taken out of what is owed (a waived late fee). Its allocations are
-- undone by negative rows in the same transaction.
CREATE TABLE bill_voids (
  bill_id     uuid PRIMARY KEY REFERENCES bills (id),
  property_id uuid NOT NULL,
  reason      text NOT NULL CHECK (octet_length(reason) BETWEEN 1 AND 500),
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text
);

CREATE TABLE allocations (
  id          bigserial PRIMARY KEY,
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  payment_id  uuid NOT NULL REFERENCES payments (id),
  bill_id     uuid NOT NULL REFERENCES bills (id),
  amount      bigint NOT NULL CHECK (amount <> 0),
  reversal_id uuid REFERENCES payment_reversals (id),
  voided_bill uuid REFERENCES bill_voids (bill_id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT allocations_undo CHECK (amount > 0 OR reversal_id IS NOT NULL OR voided_bill IS NOT NULL)
);
CREATE INDEX allocations_bill ON allocations (bill_id);
CREATE INDEX allocations_payment ON allocations (payment_id);
CREATE INDEX allocations_unit ON allocations (property_id, unit_id);

-- Deposits (装修押金): charged as a bill of kind deposit, held until refunded.
CREATE TABLE deposits (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  bill_id     uuid NOT NULL UNIQUE REFERENCES bills (id),
  amount      bigint NOT NULL CHECK (amount > 0),
  ticket_id   uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text
);
CREATE UNIQUE INDEX deposits_ticket ON deposits (property_id, ticket_id) WHERE ticket_id IS NOT NULL;
CREATE TABLE deposit_refunds (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  deposit_id  uuid NOT NULL UNIQUE REFERENCES deposits (id),
  property_id uuid NOT NULL,
  amount      bigint NOT NULL CHECK (amount >= 0),
  deducted    bigint NOT NULL CHECK (deducted >= 0),
  reason      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text
);

-- One late fee per (overdue bill, day): the daily job may run on several
-- workers and again after a restart; the key makes each day count once.
CREATE TABLE late_fee_assessments (
  bill_id     uuid NOT NULL REFERENCES bills (id),
  day         date NOT NULL,
  property_id uuid NOT NULL,
  fee_bill_id uuid NOT NULL UNIQUE REFERENCES bills (id),
  amount      bigint NOT NULL CHECK (amount > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bill_id, day)
);
CREATE TABLE late_fee_days (
  property_id uuid NOT NULL,
  day         date NOT NULL,
  bills       int NOT NULL,
  amount      bigint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (property_id, day)
);

-- ---------------------------------------------------------------- derived
-- bill_balances: the bill helper's read side (bills.c) and every report use
-- this name; the columns of 001's placeholder come first, in its order.
-- balance = what is still owed (the "outstanding" of the ledger).
CREATE OR REPLACE VIEW bill_balances AS
  SELECT b.id AS bill_id, b.property_id, b.unit_id, b.amount,
         COALESCE(a.allocated, 0)::bigint AS allocated,
         CASE WHEN v.bill_id IS NOT NULL THEN 0
              ELSE b.amount - COALESCE(a.allocated, 0) END::bigint AS balance,
         CASE WHEN v.bill_id IS NOT NULL THEN 'void'
              WHEN COALESCE(a.allocated, 0) >= b.amount THEN 'paid'
              WHEN COALESCE(a.allocated, 0) > 0 THEN 'partially_paid'
              ELSE 'unpaid' END::text AS status,
         b.kind, b.due_date, b.issued_at, b.period
  FROM bills b
  LEFT JOIN (SELECT bill_id, sum(amount) AS allocated FROM allocations GROUP BY bill_id) a
    ON a.bill_id = b.id
  LEFT JOIN bill_voids v ON v.bill_id = b.id;

-- What is left of each payment to allocate (0 once reversed).
CREATE VIEW payment_remainders AS
  SELECT p.id AS payment_id, p.property_id, p.unit_id, p.amount, p.paid_at, p.created_at,
         (p.amount - COALESCE((SELECT sum(a.amount) FROM allocations a WHERE a.payment_id = p.id), 0)
                   - COALESCE(r.amount, 0))::bigint AS remainder,
         r.id IS NOT NULL AS reversed
  FROM payments p
  LEFT JOIN payment_reversals r ON r.payment_id = p.id;

-- search_path FROM CURRENT: the function finds the schema's tables also when
-- called from outside it (reports, psql).
CREATE OR REPLACE FUNCTION unit_credit (p_property_id uuid, p_unit_id uuid) RETURNS bigint
  LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT (COALESCE((SELECT sum(amount) FROM payments
                    WHERE property_id = p_property_id AND unit_id = p_unit_id), 0)
        - COALESCE((SELECT sum(amount) FROM payment_reversals
                    WHERE property_id = p_property_id AND unit_id = p_unit_id), 0)
        - COALESCE((SELECT sum(amount) FROM allocations
                    WHERE property_id = p_property_id AND unit_id = p_unit_id), 0))::bigint
$$;
