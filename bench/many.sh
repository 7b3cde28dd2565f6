#!/usr/bin/env bash
# bench/many.sh: make bench-many (issue M item 7, not part of make test nor make bench).
# Many properties on one stack: PM_BENCH_MANY_PROPERTIES (200) properties x
# PM_BENCH_MANY_UNITS (2,000) units, an owner each, PM_BENCH_MANY_TICKETS (2,000,000)
# tickets over PM_BENCH_MANY_MONTHS (24) months with their timeline and ratings,
# patrol rounds, and MONTHS months of bills, lines, payments and allocations
# (bench/many/generate.py: INSERT ... SELECT into each service's own schema, as
# their consumers would have copied the rows; one schema per statement).
#
#  1. A stack (tests/blackbox/harness.py: PostgreSQL with fsync off, log level
#     warn, the periodic jobs slowed to once a day so they do not run meanwhile).
#     200 properties created through the API (each service learns them from
#     tenants' events), an agent of the first one.
#  2. The first property's rows only; a bill run of the next period for it:
#     "bill run, 1 property loaded".
#  3. The 199 others' rows, VACUUM ANALYZE; the bill run of the period after
#     for the first property and of the next period for the second:
#     "bill run, 200 properties loaded".
#  4. For the first property, as its agent: each list and report a desk uses,
#     PM_BENCH_MANY_CALLS (20) times after one warm-up call: the median and
#     the largest latency (client side, through the gateway).
#  5. auto_explain (EXPLAIN ANALYZE, BUFFERS of every statement the services run)
#     turned on for the roles pm_tenants, pm_tickets and pm_billing, those
#     services restarted, each endpoint called once: every plan is kept in
#     BENCH_OUT/plans.txt and each statement's summary printed (time, buffers,
#     the indexes it used, any Seq Scan on a table of over 10,000 rows).
#  6. Table and index sizes of the big tables.
#
# An endpoint that does not answer within PM_BENCH_MANY_TIMEOUT (60) s (the services'
# statement timeout is set to it) is reported as "timeout" and the bench goes on.
# Environment: BUILD (build), BENCH_OUT (a temp dir), the PM_BENCH_MANY_* above,
# PM_BENCH_MANY_CHUNK (40: properties generated per transaction).
# Takes (200 properties, 2 busy vCPU): 18 min of generation, 21 min in all; 12.6 GB of
# database in the temp dir (removed at the end). The figures: docs/DESIGN.md "Many properties".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
export BENCH_OUT=${BENCH_OUT:-$(mktemp -d /tmp/pm-bench-many.XXXXXX)}
mkdir -p "$BENCH_OUT"
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
"$PY" bench/many/many.py 2>&1 | tee "$BENCH_OUT/summary.txt"
exit "${PIPESTATUS[0]}"
