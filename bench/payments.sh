#!/usr/bin/env bash
# bench/payments.sh: payments through the gateway with idempotency keys (issue D:
# 1,000 payments/s). Starts its own stack (tests/blackbox/harness.py: own PostgreSQL
# with fsync off, PM_BENCH_SCALE_BILLING billing workers (4: each waits on PostgreSQL for its
# round trips, so more workers than cores), log level warn, the late
# fee job out of the way), creates a property through the API, generates in
# billing's tables with SQL PM_BENCH_PAYMENTS_UNITS occupied units (2,000) and a
# fee item, issues a bill run through the API (every unit has an open bill), switches
# the cluster to fsync, full_page_writes and synchronous_commit on (the harness starts it
# with them off; ALTER SYSTEM + reload; PM_BENCH_PAYMENTS_DURABLE=0 keeps them off), so that
# a payment waits for a real WAL flush as in production and as the pgbench insert it is
# compared with does, then
#   wrk -t2 -c50 -dDUR --latency -s bench/payments_post.lua POST /v1/properties/{pid}/payments
# (a unit at random, a unique Idempotency-Key and external_ref per request: each
# request is a new payment allocated to the unit's oldest open bill, the rest
# credit, with its payment.received event) RUNS times (3) after a 3 s warm-up, and
# prints each run and the median. Then, unless PM_BENCH_PAYMENTS_BASELINE=0 or not
# root, the machine's limits measured in the same run (../shared/bench/baseline.sh,
# SECTIONS="nginx pg": nginx fixed 200, pgbench -S prepared, a one-row insert).
# Writes OUT/rows.tsv (name, req/s, p50 us, p99 us, failed) for bench/run.sh's table.
#
# Usage: bash bench/payments.sh [OUT]. Environment: BUILD (build), PM_BENCH_DUR (10),
# PM_BENCH_CONNS (50), PM_BENCH_THREADS (2), PM_BENCH_PAYMENTS_RUNS (3),
# PM_BENCH_PAYMENTS_UNITS (2000), PM_BENCH_SCALE_BILLING (4), PM_BENCH_PAYMENTS_BASELINE (1),
# PM_BENCH_PAYMENTS_DURABLE (1), PM_BENCH_PAYMENTS_CLAIM_ASYNC (0, as shipped; 1: the
# gateway's PM_IDEM_CLAIM_ASYNC, safe with this stack's single cluster: README).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
export PAY_OUT=${1:-$(mktemp -d /tmp/pm-bench-payments.XXXXXX)}
mkdir -p "$PAY_OUT"
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
command -v wrk > /dev/null || { echo "bench: wrk missing (make deps installs it)" >&2; exit 1; }
exec "$PY" - "$@" << 'PYEOF'
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "blackbox"))
sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
import harness  # noqa: E402
import wrkrun  # noqa: E402

OUT = os.environ["PAY_OUT"]
DUR = int(os.environ.get("PM_BENCH_DUR", "10"))
CONNS = int(os.environ.get("PM_BENCH_CONNS", "50"))
THREADS = int(os.environ.get("PM_BENCH_THREADS", "2"))
RUNS = int(os.environ.get("PM_BENCH_PAYMENTS_RUNS", "3"))
UNITS = int(os.environ.get("PM_BENCH_PAYMENTS_UNITS", "2000"))
SCALE = int(os.environ.get("PM_BENCH_SCALE_BILLING", "4"))
BASELINE = os.path.join(os.getcwd(), "..", "shared", "bench", "baseline.sh")


def log(msg):
    print("[%s] payments: %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def wrk(name, url, dur, *args):
    return wrkrun.wrk(OUT, name, url, dur, THREADS, CONNS, *args)


def generate(stack, pid):
    stack.psql("""
BEGIN;
INSERT INTO billing.units (property_id, unit_id, code, building, floor, area_m2, use)
SELECT '%(pid)s', gen_random_uuid(), 'P-' || lpad(i::text, 6, '0'), (i / 100 + 1)::text, (i %% 30 + 1)::text,
       (40 + i %% 200)::numeric(12,2), 'residential' FROM generate_series(1, %(n)d) i;
INSERT INTO billing.parties (id, property_id, kind, name)
SELECT gen_random_uuid(), '%(pid)s', 'person', '业主' || i FROM generate_series(1, %(n)d) i;
INSERT INTO billing.occupancies (id, property_id, unit_id, party_id, role, start_date)
SELECT gen_random_uuid(), '%(pid)s', u.unit_id, p.id, 'owner', DATE '2024-01-01'
FROM (SELECT unit_id, row_number() OVER (ORDER BY code) rn FROM billing.units WHERE property_id = '%(pid)s') u
JOIN (SELECT id, row_number() OVER (ORDER BY name) rn FROM billing.parties WHERE property_id = '%(pid)s') p
  ON p.rn = u.rn;
INSERT INTO billing.fee_items (property_id, code, name, basis, unit_price, applies_to, effective_from) VALUES
  ('%(pid)s', 'MGMT', '物业管理费', 'per_area', 350, '{residential}', '2024-01-01');
COMMIT;
ANALYZE billing.units; ANALYZE billing.occupancies; ANALYZE billing.fee_items;
""" % {"pid": pid, "n": UNITS})


# the processes whose CPU a payment is charged to, besides PostgreSQL
GROUPS = ("gateway", "broker", "billing")


def cpu_report(before, after, requests):
    """'gateway 123, broker ..., sum N' and PostgreSQL's split by backend role: CPU us per request."""
    groups = wrkrun.cpu_per_request(before, after, requests, GROUPS)
    return ("CPU us/request: " + ", ".join("%s %.0f" % kv for kv in groups.items())
            + ", sum %.0f; PostgreSQL by process: " % sum(groups.values())
            + ", ".join("%s %.0f" % kv for kv in wrkrun.cpu_postgres_split(before, after, requests)))


def baseline():
    if os.environ.get("PM_BENCH_PAYMENTS_BASELINE", "1") == "0":
        return None
    if not os.path.exists(BASELINE) or os.geteuid() != 0:
        log("no baseline (needs %s and root)" % BASELINE)
        return None
    out = os.path.join(OUT, "baseline")
    log("baseline: SECTIONS='nginx pg' DUR=%d RUNS=1 bash %s" % (DUR, BASELINE))
    env = dict(os.environ, SECTIONS="nginx pg", DUR=str(DUR), RUNS="1", BENCH_OUT=out)
    with open(os.path.join(OUT, "baseline.txt"), "w") as f:
        r = subprocess.run(["bash", BASELINE], env=env, stdout=f, stderr=subprocess.STDOUT, timeout=900)
    if r.returncode != 0:
        log("baseline failed: see %s/baseline.txt (printing what it measured)" % OUT)
    if not os.path.exists(os.path.join(out, "raw.tsv")):
        return None
    got = {}
    for line in open(os.path.join(out, "raw.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 4:
            got.setdefault((f[0], f[2]), float(f[3]))
    return got


def main():
    stack = harness.Stack(scale={"tenants": 1, "billing": SCALE},
                          env={"PM_LOG_LEVEL": "warn", "PM_LATE_FEE_TICK_MS": "86400000",
                               "PM_REQUEST_TIMEOUT_MS": "60000",
                               # one cluster for every service here: the claim's commit need not
                               # wait for its own WAL flush (services/gateway/gw_idem.h)
                               "PM_IDEM_CLAIM_ASYNC": os.environ.get("PM_BENCH_PAYMENTS_CLAIM_ASYNC", "0")})
    rows, runs = [], []
    try:
        adm = stack.admin_token
        r = stack.http("POST", "/v1/properties", token=adm, body={"code": "BENCH-PAY", "name": "收费压测"})
        assert r.status == 201, "create property: %r" % r
        pid = r.json()["id"]
        deadline = time.time() + 30
        while stack.psql("SELECT count(*) FROM billing.property_settings WHERE property_id = '%s'" % pid)[0][0] != "1":
            assert time.time() < deadline, "billing never saw the property"
            time.sleep(0.1)
        generate(stack, pid)
        r = stack.http("POST", "/v1/properties/%s/billing-runs" % pid, token=adm, body={"period": "2026-11"},
                       timeout=120)
        assert r.status == 201 and r.json()["bills_created"] == UNITS, "bill run: %r" % r
        units = os.path.join(OUT, "units.txt")
        with open(units, "w") as f:
            f.write("\n".join(x[0] for x in stack.psql(
                "SELECT unit_id FROM billing.units WHERE property_id = '%s'" % pid)) + "\n")
        url = "%s/v1/properties/%s/payments" % (stack.base_url, pid)
        args = ["-s", os.path.join("bench", "payments_post.lua"), "-H", "Authorization: Bearer " + adm]
        os.environ["PM_BENCH_PAYMENTS_UNITS"] = units
        os.environ["PM_BENCH_PAYMENTS_TAG"] = "warm%d" % os.getpid()
        sync = "off (PM_BENCH_PAYMENTS_DURABLE=0)"
        if os.environ.get("PM_BENCH_PAYMENTS_DURABLE", "1") != "0":
            wrkrun.durable(stack)
            sync = "on"
        print("PostgreSQL: fsync, full_page_writes, synchronous_commit %s; gateway PM_IDEM_CLAIM_ASYNC=%s"
              % (sync, stack.env.get("PM_IDEM_CLAIM_ASYNC")), flush=True)
        log("%d units with an open bill each; warm-up 3 s" % UNITS)
        wrk("warmup", url, 3, *args)
        for k in range(RUNS):
            os.environ["PM_BENCH_PAYMENTS_TAG"] = "run%d-%d" % (k, os.getpid())
            log("wrk POST payments %d s (run %d of %d)" % (DUR, k + 1, RUNS))
            before = wrkrun.cpu_snapshot(stack, GROUPS)
            runs.append(wrk("post_payment_%d" % (k + 1), url, DUR, *args))
            cpu = cpu_report(before, wrkrun.cpu_snapshot(stack, GROUPS),
                             wrkrun.requests(OUT, "post_payment_%d" % (k + 1)))
            print("run %d: %d payments/s, p50 %.2f ms, p99 %.2f ms, %d failed"
                  % (k + 1, runs[-1][0], runs[-1][1] / 1000, runs[-1][2] / 1000, runs[-1][3]), flush=True)
            print("  " + cpu, flush=True)
        made = stack.psql("SELECT count(*), count(DISTINCT external_ref), (SELECT count(*) FROM billing.outbox"
                          " WHERE type = 'payment.received') FROM billing.payments WHERE property_id = '%s'" % pid)[0]
        assert made[0] == made[1] == made[2], "payments, external_refs, events: %r" % (made,)
        bad = stack.psql("SELECT count(*) FROM billing.bill_balances WHERE property_id = '%s'"
                         " AND (allocated > amount OR allocated < 0)" % pid)[0][0]
        assert bad == "0", "over-allocated bills: %s" % bad
        print("%s payments recorded, each with its event; no bill over-allocated" % made[0])
    finally:
        stack.stop()
    med = sorted(runs, key=lambda x: x[0])[len(runs) // 2]
    rows.append(("ours: POST /v1/properties/{pid}/payments",) + med)
    print("median of %d: %d payments/s (p50 %.2f ms, p99 %.2f ms, %d failed); target 1,000/s %s"
          % (RUNS, med[0], med[1] / 1000, med[2] / 1000, med[3], "met" if med[0] >= 1000 else "MISSED"))
    with open(os.path.join(OUT, "rows.tsv"), "w") as f:
        for r in rows:
            f.write("%s\t%d\t%.0f\t%.0f\t%d\n" % r)
    base = baseline()
    if base:
        n = base.get(("http_nginx_w2_wrk_t2_c50", "ops_per_s"))
        p = base.get(("pg_select_S_prepared_c8_j2", "ops_per_s"))
        ins = {k[0]: v for k, v in base.items() if k[0].startswith("pg_insert_jsonb") and k[1] == "ops_per_s"}
        print("machine limits in the same run: nginx fixed 200 %s req/s; pgbench -S prepared %s TPS; %s"
              % ("%.0f" % n if n else "-", "%.0f" % p if p else "-",
                 "; ".join("%s %.0f TPS" % (k, v) for k, v in sorted(ins.items())) or "-"))
        if n:
            print("ratios: payments / nginx %.3f%s" % (med[0] / n, ", payments / pgbench -S %.3f" % (med[0] / p)
                                                        if p else ""))


try:
    main()
except (AssertionError, harness.StackError) as e:
    print("bench payments: %r" % (e,), file=sys.stderr)
    sys.exit(1)
PYEOF
