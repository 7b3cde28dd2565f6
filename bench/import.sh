#!/usr/bin/env bash
# bench/import.sh: how long bulk onboarding takes (POST .../imports/units and
# .../imports/parties with text/csv), end to end through the gateway, the broker
# and pm-tenants to PostgreSQL.
#
# Starts a stack in a temp dir (tests/blackbox/harness.py, as make bench does:
# PostgreSQL with fsync off, log level warn), then RUNS times (3): a fresh
# property, a CSV of PM_BENCH_IMPORT_UNITS units (20,000) imported, then the same
# file again (all duplicates); and a parties file of as many parties, each moving
# into one of those units. Prints each run and the median of each measure.
#
# Environment: BUILD (build), PM_BENCH_IMPORT_UNITS (20000), PM_BENCH_IMPORT_RUNS (3).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
exec "$PY" - "$@" << 'EOF'
import os
import random
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "blackbox"))
import harness  # noqa: E402

N = int(os.environ.get("PM_BENCH_IMPORT_UNITS", "20000"))
RUNS = int(os.environ.get("PM_BENCH_IMPORT_RUNS", "3"))
USES = ["residential", "office", "retail", "hotel", "parking", "storage", "other"]


def units_csv(seed):
    rnd = random.Random(seed)
    rows = ["code,building,floor,area_m2,use"]
    for i in range(N):
        rows.append("U-%06d,%d栋,%d,%d.%02d,%s" % (i, i // 1000 + 1, i % 40 + 1, rnd.randint(10, 300),
                                                 rnd.randint(0, 99), USES[i % 7]))
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


def parties_csv():
    rows = ["kind,name,phone,unit_code,role,start_date"]
    for i in range(N):
        rows.append("person,业主%06d,139%08d,U-%06d,owner,2024-01-01" % (i, i, i))
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def post(stack, pid, kind, body):
    t0 = time.monotonic()
    r = stack.http("POST", "/v1/properties/%s/imports/%s" % (pid, kind), raw=body, token=stack.admin_token,
                   headers={"Content-Type": "text/csv"}, timeout=300)
    took = time.monotonic() - t0
    assert r.status == 200, "%s import: %r" % (kind, r)
    return took, r.json()


def main():
    stack = harness.Stack(scale={"tenants": 1}, env={"PM_LOG_LEVEL": "warn"})
    try:
        units, parties = units_csv(7), parties_csv()
        print("units file: %d rows, %.0f KiB; parties file: %d rows, %.0f KiB" % (
            N, len(units) / 1024, N, len(parties) / 1024))
        first, again, party_runs = [], [], []
        for run in range(RUNS):
            r = stack.http("POST", "/v1/properties", token=stack.admin_token,
                           body={"code": "IMPORT-BENCH-%d-%d" % (os.getpid(), run), "name": "导入压测 %d" % run})
            assert r.status == 201, r
            pid = r.json()["id"]
            t, rep = post(stack, pid, "units", units)
            assert rep["imported"] == N, rep
            first.append(t)
            t, rep = post(stack, pid, "units", units)
            assert rep["imported"] == 0 and rep["duplicates"] == N, rep
            again.append(t)
            t, rep = post(stack, pid, "parties", parties)
            assert rep["parties_created"] == N and rep["occupancies_created"] == N, rep
            party_runs.append(t)
            print("run %d: %d units %.2f s, again (all duplicates) %.2f s, %d parties with move-ins %.2f s"
                  % (run + 1, N, first[-1], again[-1], N, party_runs[-1]))
        print("median of %d: units %.2f s (%.0f rows/s), units again %.2f s, parties with move-ins %.2f s"
              % (RUNS, statistics.median(first), N / statistics.median(first), statistics.median(again),
                 statistics.median(party_runs)))
    finally:
        stack.stop()


main()
EOF
