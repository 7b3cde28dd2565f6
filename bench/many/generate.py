"""bench/many/generate.py: the data of bench/many.sh, generated in SQL.

Every statement names one service's schema only (a PM_SPLIT_DB=1 stack holds each
in its own cluster), so the rows of one property are made in each schema from the
same deterministic ids: md5 of the property id and a tag, cast to uuid
(unit i of property P is md5(P || ':u' || i) in tenants, tickets, billing and
notifications alike, as their consumers would have copied it).

Per property: UNITS units (90% residential, 10% office), one party and one owner
occupancy each; TICKETS tickets over MONTHS months (numbers continued by
tickets' ticket_counters, so the next ticket created through the API follows
them), their timeline (create, assign, resolve), a rating for a third of the
resolved ones; two patrol routes with two rounds a day over the last 12 months;
one fee item and MONTHS billing runs with a bill and a bill line per unit and
month, a payment per unit and quarter that is paid (all but the last two
months; one unit in ten stopped paying 9 months ago) and its allocations, with
receipt numbers continued by receipt_counters.
"""

import os
import subprocess
from string import Template

import harness


def _ids(props):
    return "ARRAY[%s]::uuid[]" % ",".join("'%s'" % p for p in props)


def _run(stack, service, sql, props, **kw):
    sql = Template(sql).substitute(ids=_ids(props), **{k: str(v) for k, v in kw.items()})
    _psql(stack, service, sql)


def _psql(stack, service, sql):
    """stack.psql without its 60 s limit: a chunk of properties takes minutes."""
    pg_dir, pg_port = stack.pg_cluster(service=service)
    env = dict(os.environ, PGOPTIONS="-c work_mem=64MB -c maintenance_work_mem=256MB")
    r = subprocess.run([os.path.join(harness.PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg_dir,
                        "-p", str(pg_port), "-U", "postgres", "-d", "pm", "-c", sql],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if r.returncode != 0:
        raise harness.StackError("psql failed: %s\n%s" % (sql[:200], r.stderr.decode("utf-8", "replace")))


TENANTS = """
BEGIN;
INSERT INTO tenants.units (id, property_id, code, building, floor, area_m2, use)
SELECT md5(p.id::text || ':u' || i)::uuid, p.id,
       (i - 1) / 200 + 1 || '-' || lpad(i::text, 4, '0'), ((i - 1) / 200 + 1)::text, ((i - 1) % 200 / 8 + 1)::text,
       (50 + (i * 7919) % 15000 / 100.0)::numeric(12,2), CASE WHEN i % 10 = 0 THEN 'office' ELSE 'residential' END
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO tenants.parties (id, property_id, kind, name)
SELECT md5(p.id::text || ':p' || i)::uuid, p.id, 'person', '业主' || i
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO tenants.occupancies (id, property_id, unit_id, party_id, role, start_date)
SELECT md5(p.id::text || ':o' || i)::uuid, p.id, md5(p.id::text || ':u' || i)::uuid,
       md5(p.id::text || ':p' || i)::uuid, 'owner', DATE '2020-01-01' + i % 1000
FROM unnest($ids) p(id), generate_series(1, $units) i;
COMMIT;
"""

NOTIFICATIONS = """
BEGIN;
INSERT INTO notifications.units (unit_id, property_id, code, building, use)
SELECT md5(p.id::text || ':u' || i)::uuid, p.id, (i - 1) / 200 + 1 || '-' || lpad(i::text, 4, '0'),
       ((i - 1) / 200 + 1)::text, CASE WHEN i % 10 = 0 THEN 'office' ELSE 'residential' END
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO notifications.parties (id, property_id, name)
SELECT md5(p.id::text || ':p' || i)::uuid, p.id, '业主' || i
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO notifications.occupancies (id, property_id, unit_id, party_id, role, start_date)
SELECT md5(p.id::text || ':o' || i)::uuid, p.id, md5(p.id::text || ':u' || i)::uuid,
       md5(p.id::text || ':p' || i)::uuid, 'owner', DATE '2020-01-01' + i % 1000
FROM unnest($ids) p(id), generate_series(1, $units) i;
COMMIT;
"""

# tickets: the copies, then the tickets (statuses by age: older than a week
# closed, or resolved one in ten; the last week a mix of new, assigned,
# in_progress and resolved), deadlines already breached marked so (the SLA
# timer would otherwise do it at its first tick), their timeline, ratings,
# counters; then the patrols.
TICKETS = """
BEGIN;
INSERT INTO tickets.tenant_units (id, property_id, code)
SELECT md5(p.id::text || ':u' || i)::uuid, p.id, (i - 1) / 200 + 1 || '-' || lpad(i::text, 4, '0')
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO tickets.tenant_parties (id, property_id, kind, name)
SELECT md5(p.id::text || ':p' || i)::uuid, p.id, 'person', '业主' || i
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO tickets.tenant_occupancies (id, property_id, unit_id, party_id, role, start_date)
SELECT md5(p.id::text || ':o' || i)::uuid, p.id, md5(p.id::text || ':u' || i)::uuid,
       md5(p.id::text || ':p' || i)::uuid, 'owner', DATE '2020-01-01' + i % 1000
FROM unnest($ids) p(id), generate_series(1, $units) i;

CREATE TEMP TABLE g ON COMMIT DROP AS
SELECT x.*, s.status,
       CASE WHEN s.status <> 'new' THEN x.created_at + make_interval(mins => 5 + x.i % 55) END AS responded_at,
       CASE WHEN s.status IN ('resolved', 'closed') THEN x.created_at + make_interval(hours => 1 + x.i % 72) END
         AS resolved_at,
       CASE WHEN s.status = 'closed' THEN x.created_at + make_interval(hours => 25 + x.i % 72) END AS closed_at
FROM (
  SELECT md5(p.id::text || ':t' || i)::uuid AS id, p.id AS property_id, i,
         (ARRAY['repair','repair','repair','repair','repair','repair','repair','repair','repair','repair',
                'complaint','complaint','complaint','inquiry','inquiry','inquiry','inquiry','inquiry',
                'suggestion','other'])[1 + i % 20] AS type,
         (ARRAY['BX','BX','BX','BX','BX','BX','BX','BX','BX','BX','TS','TS','TS','WX','WX','WX','WX','WX',
                'JY','QT'])[1 + i % 20] AS prefix,
         1 + (i * 37) % $units AS u,
         date_trunc('second', now() - make_interval(secs => ((i::bigint * 104729) % ($months * 30 * 86400))::float8))
           AS created_at
  FROM unnest($ids) p(id), generate_series(1, $tickets) i) x,
  LATERAL (SELECT CASE WHEN x.created_at < now() - interval '7 days'
                       THEN CASE WHEN x.i % 10 = 0 THEN 'resolved' ELSE 'closed' END
                       ELSE (ARRAY['new','assigned','in_progress','resolved'])[1 + x.i % 4] END AS status) s;

INSERT INTO tickets.tickets (id, property_id, number, type, status, title, unit_id, unit_code, party_id,
    channel, priority, category, assignee_id, created_by, created_at, updated_at,
    respond_minutes, resolve_minutes, warn_minutes, respond_by, resolve_by, responded_at, resolved_at, closed_at,
    respond_breached_at, resolve_breached_at)
SELECT g.id, g.property_id,
       g.prefix || '-' || y.year || '-' || lpad(row_number() OVER (PARTITION BY g.property_id, g.prefix, y.year
                                                                   ORDER BY g.created_at, g.id)::text, 6, '0'),
       g.type, g.status, g.type || ' #' || g.i, md5(g.property_id::text || ':u' || g.u)::uuid,
       (g.u - 1) / 200 + 1 || '-' || lpad(g.u::text, 4, '0'), md5(g.property_id::text || ':p' || g.u)::uuid,
       (ARRAY['phone','walk_in','app','wechat'])[1 + g.i % 4], (ARRAY['normal','normal','high','low'])[1 + g.i / 7 % 4],
       CASE WHEN g.type = 'repair' THEN (ARRAY['plumbing','electric','elevator','door','other'])[1 + g.i / 3 % 5] END,
       CASE WHEN g.status <> 'new' THEN 'tech-' || g.i % 12 END, 'agent-' || g.i % 5,
       g.created_at, coalesce(g.closed_at, g.resolved_at, g.responded_at, g.created_at),
       30, d.resolve, 0, g.created_at + interval '30 minutes', g.created_at + make_interval(mins => d.resolve),
       g.responded_at, g.resolved_at, g.closed_at,
       CASE WHEN coalesce(g.responded_at, now()) > g.created_at + interval '30 minutes'
            THEN g.created_at + interval '30 minutes' END,
       CASE WHEN coalesce(g.resolved_at, now()) > g.created_at + make_interval(mins => d.resolve)
            THEN g.created_at + make_interval(mins => d.resolve) END
FROM g, LATERAL (SELECT extract(year FROM g.created_at AT TIME ZONE 'Asia/Shanghai')::int AS year) y,
     LATERAL (SELECT CASE WHEN g.type = 'repair' THEN 1440 ELSE 2880 END AS resolve) d;

INSERT INTO tickets.ticket_timeline (property_id, ticket_id, at, actor_id, actor_role, action, from_status, to_status)
SELECT g.property_id, g.id, a.at, a.actor, a.role, a.action, a.from_s, a.to_s
FROM g, LATERAL (VALUES
    (g.created_at, 'agent-' || g.i % 5, 'agent', 'create', NULL, 'new'),
    (g.responded_at, 'agent-' || g.i % 5, 'agent', 'assign', 'new', 'assigned'),
    (g.resolved_at, 'tech-' || g.i % 12, 'technician', 'resolve', 'in_progress', 'resolved'),
    (g.closed_at, 'agent-' || g.i % 5, 'agent', 'close', 'resolved', 'closed')) a(at, actor, role, action, from_s, to_s)
WHERE a.at IS NOT NULL
ORDER BY a.at;

INSERT INTO tickets.ticket_feedback (ticket_id, property_id, rating, called_by, created_at)
SELECT g.id, g.property_id, 1 + (g.i * 13) % 5 / 2 + (g.i % 3 > 0)::int + (g.i % 7 > 1)::int, 'agent-' || g.i % 5,
       g.resolved_at + interval '1 day'
FROM g WHERE g.resolved_at IS NOT NULL AND g.i % 3 = 0;

INSERT INTO tickets.ticket_counters (property_id, prefix, year, last)
SELECT property_id, prefix, extract(year FROM created_at AT TIME ZONE 'Asia/Shanghai')::int, count(*)
FROM g GROUP BY 1, 2, 3;

INSERT INTO tickets.patrol_routes (id, property_id, name, checkpoints, times, plan_from, created_by, created_at, updated_at)
SELECT md5(p.id::text || ':route' || r)::uuid, p.id, '巡查路线 ' || r,
       '[{"code":"A","name":"大门","checklist":["门禁"]},{"code":"B","name":"泵房","checklist":["水泵"]}]'::jsonb,
       ARRAY['09:00','21:00'], now() - interval '365 days', 'bench', now() - interval '366 days',
       now() - interval '366 days'
FROM unnest($ids) p(id), generate_series(1, 2) r;
INSERT INTO tickets.patrol_rounds (property_id, route_id, route_name, checkpoints, planned_at, status,
                                   started_by, started_at, finished_by, finished_at)
SELECT p.id, md5(p.id::text || ':route' || r)::uuid, '巡查路线 ' || r, '[]'::jsonb, t.at, 'finished',
       'guard-' || r, t.at + interval '3 minutes', 'guard-' || r, t.at + interval '40 minutes'
FROM unnest($ids) p(id), generate_series(1, 2) r,
     LATERAL (SELECT d + h AS at FROM generate_series(date_trunc('day', now()) - interval '365 days',
                                                      date_trunc('day', now()) - interval '1 day', interval '1 day') d,
                     (VALUES (interval '1 hour'), (interval '13 hours')) hh(h)) t;
COMMIT;
"""

# billing: the copies, one fee item, MONTHS runs with a bill and a line per
# unit, quarterly payments and their allocations, receipt counters.
BILLING = """
BEGIN;
INSERT INTO billing.units (property_id, unit_id, code, building, floor, area_m2, use)
SELECT p.id, md5(p.id::text || ':u' || i)::uuid, (i - 1) / 200 + 1 || '-' || lpad(i::text, 4, '0'),
       ((i - 1) / 200 + 1)::text, ((i - 1) % 200 / 8 + 1)::text,
       (50 + (i * 7919) % 15000 / 100.0)::numeric(12,2), CASE WHEN i % 10 = 0 THEN 'office' ELSE 'residential' END
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO billing.parties (id, property_id, kind, name)
SELECT md5(p.id::text || ':p' || i)::uuid, p.id, 'person', '业主' || i
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO billing.occupancies (id, property_id, unit_id, party_id, role, start_date)
SELECT md5(p.id::text || ':o' || i)::uuid, p.id, md5(p.id::text || ':u' || i)::uuid,
       md5(p.id::text || ':p' || i)::uuid, 'owner', DATE '2020-01-01' + i % 1000
FROM unnest($ids) p(id), generate_series(1, $units) i;
INSERT INTO billing.fee_items (id, property_id, code, name, basis, unit_price, applies_to, effective_from)
SELECT md5(p.id::text || ':f')::uuid, p.id, 'MGMT', '物业管理费', 'per_area', 350, '{residential,office}', '2020-01-01'
FROM unnest($ids) p(id);

CREATE TEMP TABLE m ON COMMIT DROP AS
SELECT m, (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - make_interval(months => $months - 1 - m))::date AS start
FROM generate_series(0, $months - 1) m;

INSERT INTO billing.billing_runs (id, property_id, period, bills_created, total_amount, created_at, created_by)
SELECT md5(p.id::text || ':r' || m.m)::uuid, p.id, to_char(m.start, 'YYYY-MM'), $units, 0, m.start, 'bench'
FROM unnest($ids) p(id), m;

CREATE TEMP TABLE b ON COMMIT DROP AS
SELECT md5(p.id::text || ':b' || i || ':' || m.m)::uuid AS id, p.id AS property_id, i, m.m, m.start,
       round((50 + (i * 7919) % 15000 / 100.0) * 350)::bigint AS amount,
       (50 + (i * 7919) % 15000 / 100.0)::numeric(14,2) AS area
FROM unnest($ids) p(id), m, generate_series(1, $units) i;

INSERT INTO billing.bills (id, property_id, unit_id, bill_to_party_id, run_id, period, kind, due_date, amount, issued_at)
SELECT b.id, b.property_id, md5(b.property_id::text || ':u' || b.i)::uuid, md5(b.property_id::text || ':p' || b.i)::uuid,
       md5(b.property_id::text || ':r' || b.m)::uuid, to_char(b.start, 'YYYY-MM'), 'periodic', b.start + 14, b.amount,
       b.start
FROM b ORDER BY b.property_id, b.m, b.i;
INSERT INTO billing.bill_lines (bill_id, property_id, fee_item_id, description, basis, quantity, unit_price, days,
                                period_days, amount)
SELECT b.id, b.property_id, md5(b.property_id::text || ':f')::uuid, '物业管理费', 'per_area', b.area, 350,
       extract(day FROM b.start + interval '1 month' - interval '1 day'),
       extract(day FROM b.start + interval '1 month' - interval '1 day'), b.amount
FROM b ORDER BY b.property_id, b.m, b.i;

-- a unit pays a quarter once all its months are at least two months old; one
-- unit in ten stopped 9 months ago (the arrears)
CREATE TEMP TABLE q ON COMMIT DROP AS
SELECT md5(b.property_id::text || ':pay' || b.i || ':' || b.m / 3)::uuid AS payment_id, b.property_id, b.i, b.m / 3 AS q,
       sum(b.amount) AS amount, (max(b.start) + 10 + b.i % 20)::timestamptz + interval '2 hours' AS paid_at
FROM b
WHERE b.m / 3 * 3 + 2 < $months - 2 AND NOT (b.i % 10 = 0 AND b.m >= $months - 9)
GROUP BY b.property_id, b.i, b.m / 3;

INSERT INTO billing.payments (id, property_id, unit_id, amount, method, paid_at, created_at, created_by, receipt_number)
SELECT q.payment_id, q.property_id, md5(q.property_id::text || ':u' || q.i)::uuid, q.amount,
       (ARRAY['wechat','alipay','bank_transfer','cash'])[1 + q.i % 4], q.paid_at, q.paid_at, 'bench',
       'SJ-' || y.year || '-' || lpad(row_number() OVER (PARTITION BY q.property_id, y.year
                                                        ORDER BY q.paid_at, q.payment_id)::text, 6, '0')
FROM q, LATERAL (SELECT extract(year FROM q.paid_at AT TIME ZONE 'Asia/Shanghai')::int AS year) y
ORDER BY q.property_id, q.paid_at;
INSERT INTO billing.allocations (property_id, unit_id, payment_id, bill_id, amount, created_at)
SELECT b.property_id, md5(b.property_id::text || ':u' || b.i)::uuid, q.payment_id, b.id, b.amount, q.paid_at
FROM b JOIN q ON q.property_id = b.property_id AND q.i = b.i AND q.q = b.m / 3
ORDER BY q.paid_at;
INSERT INTO billing.receipt_counters (property_id, year, last)
SELECT q.property_id, extract(year FROM q.paid_at AT TIME ZONE 'Asia/Shanghai')::int, count(*)
FROM q GROUP BY 1, 2;
UPDATE billing.billing_runs r SET total_amount = $units_total
WHERE r.property_id = ANY ($ids) AND r.created_by = 'bench';
COMMIT;
"""


def properties(stack, props, units, tickets, months):
    """Generates the rows of the properties `props` (ids) in every schema."""
    kw = dict(units=units, tickets=tickets, months=months)
    total = "(SELECT sum(round((50 + (i * 7919) %% 15000 / 100.0) * 350))::bigint FROM generate_series(1, %d) i)" % units
    _run(stack, "tenants", TENANTS, props, **kw)
    _run(stack, "notifications", NOTIFICATIONS, props, **kw)
    _run(stack, "tickets", TICKETS, props, **kw)
    _run(stack, "billing", BILLING, props, units_total=total.replace("%%", "%"), **kw)


def analyze(stack):
    for svc, tables in (("tenants", "units, parties, occupancies"),
                        ("notifications", "units, parties, occupancies"),
                        ("tickets", "tickets, ticket_timeline, ticket_feedback, tenant_units, tenant_parties, "
                                    "tenant_occupancies, patrol_rounds, patrol_routes, ticket_counters"),
                        ("billing", "units, parties, occupancies, fee_items, billing_runs, bills, bill_lines, "
                                    "payments, allocations, receipt_counters")):
        _psql(stack, svc, "VACUUM ANALYZE " + ", ".join("%s.%s" % (svc, t.strip()) for t in tables.split(",")))
