-- billing 006 (issue M item 7, bench/many.sh): bill_balances sums each bill's
-- allocations through allocations_bill instead of grouping the whole table.
-- 002's view joined (SELECT bill_id, sum(amount) FROM allocations GROUP BY
-- bill_id): PostgreSQL cannot push a property's or a unit's filter into that
-- GROUP BY, so every read of the view aggregated every allocation of every
-- property. At 200 properties x 2,000 units x 24 months (8.6 million
-- allocations) the arrears report of one property did not answer within 60 s,
-- and a unit's account and the collection report grew with the other
-- properties; a LATERAL sum per bill is an index scan on allocations_bill for
-- the bills the query asks for (one property's arrears report: 0.39 s at 200
-- properties, its 60,000 bills; docs/DESIGN.md "Many properties"). Same
-- columns, same order, same meaning: the previous version reads it unchanged
-- during a rollout (docs/OPERATIONS.md, "Rolling upgrades").
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
  LEFT JOIN LATERAL (SELECT sum(al.amount) AS allocated FROM allocations al WHERE al.bill_id = b.id) a ON true
  LEFT JOIN bill_voids v ON v.bill_id = b.id;
