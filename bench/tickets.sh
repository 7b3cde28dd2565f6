#!/usr/bin/env bash
# bench/tickets.sh: the tickets benchmark of make bench (bench/run.sh calls it;
# it also runs alone). Starts its own stack (tests/blackbox/harness.py: own
# PostgreSQL, PM_BENCH_SCALE_TICKETS tickets workers, log level warn). The harness
# starts PostgreSQL with fsync off; for the write benchmarks the cluster is switched
# to fsync, full_page_writes and synchronous_commit on (ALTER SYSTEM + reload), so
# that a POST and the pgbench insert beside it both wait for a real WAL flush as in
# production (PM_BENCH_TICKETS_DURABLE=0 keeps the harness's settings).
#   1. wrk -t2 -c50 -dDUR --latency -s bench/tickets_post.lua  POST /v1/properties/{pid}/tickets
#      (number, insert, timeline and the ticket.created outbox row: one transaction each),
#      all on one property, with the CPU each process group spent per request (gateway,
#      broker, tickets workers, PostgreSQL; from /proc, utime + stime);
#   2. pgbench's one-row insert (the statement of ../shared/bench/pg/insert.sql: a JSONB
#      row into a table with a bigserial key and one expression index), -M prepared
#      -c8 -j2, synchronous_commit on, on the same cluster in the same run: the baseline
#      of the POST row, and the ratio to it;
#   3. wrk -t2 -c50 -dDUR --latency  GET /v1/properties/{pid}/tickets/{tid} (with timeline)
#      each wrk run after a 3 s warm-up;
#   4. the overdue list at scale (PM_BENCH_TICKETS_ROWS=0 skips it): 1,000,000 tickets
#      generated with SQL for one property
#      (2% open and past their deadline, 1% open and not yet due, 0.5% on hold, the rest
#      closed) and 200,000 for a second one, ANALYZE, then GET .../tickets?overdue=true
#      (first page, 50) PM_BENCH_OVERDUE_RUNS times (21) through the gateway: the median;
#      and EXPLAIN (ANALYZE, BUFFERS) of the very statement pm-tickets prepares (read from
#      the binary), as a custom and as a generic plan.
# Writes OUT/rows.tsv (name, req/s, p50 us, p99 us, failed) for bench/run.sh's table and
# OUT/overdue.txt (the POST's ratio and CPU split first, then the overdue list); prints both.
#
# Usage: bash bench/tickets.sh [OUT]. Environment: BUILD (build), PM_BENCH_DUR (10),
# PM_BENCH_CONNS (50), PM_BENCH_THREADS (2), PM_BENCH_SCALE_TICKETS (2),
# PM_BENCH_TICKETS_ROWS (1000000; 0 skips the overdue list), PM_BENCH_OVERDUE_RUNS (21),
# PM_BENCH_TICKETS_DURABLE (1), PM_BENCH_TICKETS_GET (1; 0 skips the GET run),
# PM_BENCH_TICKETS_RUNS (1: runs of the POST and of pgbench each; the rows are the medians).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
export TK_OUT=${1:-$(mktemp -d /tmp/pm-bench-tickets.XXXXXX)}
mkdir -p "$TK_OUT"
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
command -v wrk > /dev/null || { echo "bench: wrk missing (make deps installs it)" >&2; exit 1; }
exec "$PY" - "$@" << 'PYEOF'
import os
import re
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "blackbox"))
sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
import harness  # noqa: E402
import wrkrun  # noqa: E402

OUT = os.environ["TK_OUT"]
DUR = int(os.environ.get("PM_BENCH_DUR", "10"))
CONNS = int(os.environ.get("PM_BENCH_CONNS", "50"))
THREADS = int(os.environ.get("PM_BENCH_THREADS", "2"))
ROWS = int(os.environ.get("PM_BENCH_TICKETS_ROWS", "1000000"))
RUNS = int(os.environ.get("PM_BENCH_OVERDUE_RUNS", "21"))
DURABLE = os.environ.get("PM_BENCH_TICKETS_DURABLE", "1") != "0"
GET = os.environ.get("PM_BENCH_TICKETS_GET", "1") != "0"
POST_RUNS = max(1, int(os.environ.get("PM_BENCH_TICKETS_RUNS", "1")))
CHUNK = 50000


def log(msg):
    print("[%s] tickets: %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def wrk(name, url, dur, *args):
    return wrkrun.wrk(OUT, name, url, dur, THREADS, CONNS, *args)


# the processes whose CPU a POST is charged to, besides PostgreSQL
GROUPS = ("gateway", "broker", "tickets")


# --- the baseline: pgbench's one-row insert on the stack's own cluster

PGB_SCHEMA = """SET client_min_messages = warning;
DROP TABLE IF EXISTS ev;
CREATE TABLE ev (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                 payload jsonb NOT NULL);
CREATE INDEX ev_user_id_idx ON ev ((payload->>'user_id'));
"""
# the statement of ../shared/bench/pg/insert.sql (the machine's baseline), as it is
PGB_INSERT = r"""\set uid random(1, 1000000)
\set amount random(1, 99999)
INSERT INTO ev (payload) VALUES (jsonb_build_object('user_id', :uid::int, 'kind', 'order.created', 'amount_cents', :amount::int, 'currency', 'EUR', 'tags', jsonb_build_array('web', 'eu', 'priority'), 'note', 'padding so that the stored json document is about two hundred bytes long......'));
"""


def pgbench_insert(stack, dur, clients=8, jobs=2):
    """pgbench -M prepared -cCLIENTS -jJOBS -TDUR of the one-row insert, synchronous_commit
    on, in a database of its own on the stack's cluster. (tps, p50 us, p99 us, failed)."""
    pgbin = harness.PGBIN
    env = dict(os.environ, PGHOST=stack.pg_dir, PGPORT=str(stack.pg_port), PGUSER="postgres",
               PGDATABASE="pgbench", PGOPTIONS="-c synchronous_commit=on")
    if not stack.psql("SELECT 1 FROM pg_database WHERE datname = 'pgbench'"):
        stack.psql("CREATE DATABASE pgbench")
    script = os.path.join(OUT, "pgbench_insert.sql")
    with open(script, "w") as f:
        f.write(PGB_INSERT)
    subprocess.run([os.path.join(pgbin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", PGB_SCHEMA],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    logdir = os.path.join(OUT, "pgbench-log")
    os.makedirs(logdir, exist_ok=True)
    for f in os.listdir(logdir):
        os.unlink(os.path.join(logdir, f))
    with open(os.path.join(OUT, "pgbench_insert.txt"), "w") as out:
        r = subprocess.run([os.path.join(pgbin, "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
                            "-j", str(jobs), "-T", str(dur), "-f", script, "-l", "--sampling-rate=0.1",
                            "--log-prefix=" + os.path.join(logdir, "tx")],
                           env=env, stdout=out, stderr=subprocess.STDOUT, timeout=dur + 60, cwd=logdir)
    text = open(os.path.join(OUT, "pgbench_insert.txt")).read()
    tps = re.search(r"^tps = ([0-9.]+)", text, re.M)
    lat = sorted(int(ln.split()[2]) for f in os.listdir(logdir)
                 for ln in open(os.path.join(logdir, f)) if ln.strip())
    pct = (lambda q: lat[int(q * (len(lat) - 1))] if lat else 0)
    return (round(float(tps.group(1))) if tps else 0, pct(0.50), pct(0.99), 0 if r.returncode == 0 else 1)


GENERATE = """
INSERT INTO tickets.tickets (property_id, number, type, status, title, channel, priority, created_by,
  created_at, updated_at, respond_minutes, resolve_minutes, warn_minutes, respond_by, resolve_by,
  responded_at, resolved_at, closed_at, hold_since, respond_warned_at, respond_breached_at,
  resolve_warned_at, resolve_breached_at)
SELECT '{pid}', 'GEN-' || lpad(i::text, 8, '0'),
  (ARRAY['repair','complaint','inquiry','suggestion','repair'])[1 + i % 5],
  CASE WHEN k = 0 THEN 'in_progress' WHEN k = 1 THEN 'assigned' WHEN k = 2 AND i % 100 = 2 THEN 'on_hold'
       ELSE 'closed' END,
  'generated ' || i, 'phone', (ARRAY['low','normal','normal','high','urgent'])[1 + i % 5], 'bench',
  c, c, 30, 1440, 60, c + interval '30 minutes', r, c + interval '10 minutes',
  CASE WHEN k <= 1 OR (k = 2 AND i % 100 = 2) THEN NULL ELSE c + interval '5 hours' END,
  CASE WHEN k <= 1 OR (k = 2 AND i % 100 = 2) THEN NULL ELSE c + interval '6 hours' END,
  CASE WHEN k = 2 AND i % 100 = 2 THEN c + interval '1 hour' END,
  NULL, NULL,
  CASE WHEN k = 0 THEN r - interval '1 hour' END, CASE WHEN k = 0 THEN r END
FROM (SELECT i, i % 50 AS k,
             CASE WHEN i % 50 = 1 THEN now () - interval '1 hour'
                  ELSE now () - interval '2 years' + (interval '729 days') * i / {n} END AS c
      FROM generate_series ({lo}, {hi}) AS i) g,
     LATERAL (SELECT c + interval '1 day' AS r) d
"""
# k = 0 (2%): open, past the deadline (breached earlier: the SLA timer has nothing to do);
# k = 1 (2%): open, created an hour ago, due tomorrow; k = 2, every other one (1%): on hold;
# the rest: closed. The 2 years of history end yesterday, so every k = 0 ticket is overdue.


def overdue(stack, pids, adm, over):
    """The overdue list at scale (step 4 of the header) into over."""
    pid = pids[0]
    made = int(stack.psql("SELECT count(*) FROM tickets.tickets")[0][0])

    log("generating %d tickets for one property and %d for another" % (ROWS, ROWS // 5))
    t0 = time.monotonic()
    for p, n in ((pid, ROWS), (pids[1], ROWS // 5)):
        for lo in range(1, n + 1, CHUNK):      # chunks: each psql call stays well under its timeout
            stack.psql(GENERATE.format(pid=p, n=n, lo=lo, hi=min(n, lo + CHUNK - 1)))
    stack.psql("VACUUM ANALYZE tickets.tickets")
    gen_s = time.monotonic() - t0
    counts = stack.psql(
        "SELECT count(*), count(*) FILTER (WHERE resolved_at IS NULL AND closed_at IS NULL "
        "  AND hold_since IS NULL AND resolve_by < now ()) FROM tickets.tickets "
        "WHERE property_id = '%s'" % pid)[0]
    path = "/v1/properties/%s/tickets?overdue=true" % pid
    times, first = [], None
    for i in range(RUNS + 2):
        r = stack.http("GET", path, token=adm)
        assert r.status == 200, "overdue list: %r" % r
        if i >= 2:                         # the first two: the statement is prepared, the cache warm
            times.append(r.elapsed * 1000)
        first = first or r.json()
    items = first["items"]
    created = [t["created_at"] for t in items]
    assert len(items) == 50 and created == sorted(created, reverse=True), "50 overdue, newest first"
    nxt = "%s&cursor=%s" % (path, first["next_cursor"])
    page2 = []
    for _ in range(RUNS):
        r = stack.http("GET", nxt, token=adm)
        assert r.status == 200, "overdue page 2: %r" % r
        page2.append(r.elapsed * 1000)
    newest = []
    for _ in range(RUNS):
        r = stack.http("GET", "/v1/properties/%s/tickets" % pid, token=adm)
        assert r.status == 200, "newest first: %r" % r
        newest.append(r.elapsed * 1000)

    # the statement pm-tickets prepares, read from the binary (its string literal)
    binary = os.path.join(harness.ROOT, os.environ["BUILD"], "bin", "pm-tickets")
    sql = next(s for s in subprocess.run(["strings", "-n", "200", binary], stdout=subprocess.PIPE,
                                         text=True, check=True).stdout.splitlines()
               if "AND $6::boolean" in s and "ORDER BY t.created_at DESC" in s)
    args = "('%s', NULL, NULL, NULL, NULL, true, NULL, now (), NULL, NULL, 51, NULL)" % pid  # $12 requester_kind
    plans = []
    for mode in ("force_custom_plan", "force_generic_plan"):
        out = stack.psql("SET search_path = tickets; SET plan_cache_mode = %s; PREPARE s AS %s; "
                         "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE s %s" % (mode, sql, args))
        plans.append((mode, [row[0] for row in out]))
    over.append("overdue list: property of %s tickets (%s overdue) + %d in a second property, "
                "generated and analyzed in %.0f s; %d made by the POST run"
                % ("{:,}".format(int(counts[0])), "{:,}".format(int(counts[1])), ROWS // 5, gen_s, made))
    over.append("GET .../tickets?overdue=true (50, through the gateway), median of %d: %.2f ms "
                "(min %.2f, max %.2f); next page (cursor): %.2f ms; default list (newest first): %.2f ms"
                % (RUNS, statistics.median(times), min(times), max(times), statistics.median(page2),
                   statistics.median(newest)))
    for mode, lines in plans:
        over.append("EXPLAIN (ANALYZE, BUFFERS) of tk_ticket_list_overdue, %s:" % mode)
        over += ["    " + ln for ln in lines if not ln.startswith("SubPlan") or True]


def main():
    scale = {"tenants": 1, "tickets": int(os.environ.get("PM_BENCH_SCALE_TICKETS", "2"))}
    stack = harness.Stack(scale=scale, env={"PM_LOG_LEVEL": "warn"})
    rows, over = [], []
    try:
        adm = stack.admin_token
        pids = []
        for code, name in (("BENCH-TK-1", "压测大厦"), ("BENCH-TK-2", "压测花园")):
            r = stack.http("POST", "/v1/properties", token=adm,
                           body={"code": code, "name": name, "timezone": "Asia/Shanghai"})
            assert r.status == 201, "create property: %r" % r
            pids.append(r.json()["id"])
        pid = pids[0]
        base = "%s/v1/properties/%s/tickets" % (stack.base_url, pid)
        auth = ["-H", "Authorization: Bearer " + adm]
        r = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=adm,
                       body={"type": "repair", "title": "压测读取", "priority": "high"})
        assert r.status == 201, "create ticket: %r" % r
        tid = r.json()["id"]
        if DURABLE:
            wrkrun.durable(stack)
        post = ["-s", os.path.join("bench", "tickets_post.lua")] + auth
        log("warm-up 3 s, then wrk POST tickets %d s" % DUR)
        wrk("warmup_post", base, 3, *post)
        posts = []                     # (row, cpu, pg_split) per run
        for k in range(POST_RUNS):
            log("wrk POST tickets %d s (run %d of %d)" % (DUR, k + 1, POST_RUNS))
            name = "post_ticket_%d" % (k + 1)
            before = wrkrun.cpu_snapshot(stack, GROUPS)
            row = wrk(name, base, DUR, *post)
            after = wrkrun.cpu_snapshot(stack, GROUPS)
            n = wrkrun.requests(OUT, name)
            posts.append((row, wrkrun.cpu_per_request(before, after, n, GROUPS),
                          wrkrun.cpu_postgres_split(before, after, n)))
        post_row, cpu, pg_split = sorted(posts, key=lambda x: x[0][0])[len(posts) // 2]
        rows.append(("ours: POST /v1/properties/{pid}/tickets",) + post_row)
        pgbs = []
        for k in range(POST_RUNS):
            log("pgbench one-row insert, synchronous_commit on, %d s (run %d of %d)" % (DUR, k + 1, POST_RUNS))
            pgbs.append(pgbench_insert(stack, DUR))
        pgb = sorted(pgbs, key=lambda x: x[0])[len(pgbs) // 2]
        rows.append(("baseline: pgbench one-row insert (sync, c8)",) + pgb)
        cluster = "fsync on" if DURABLE else "fsync off (the harness's)"
        over.append("POST ticket / pgbench one-row insert (synchronous_commit on, the same cluster: %s), "
                    "median of %d: %s (req/s %d / TPS %d); POST p50 %.2f ms, p99 %.2f ms; %d tickets workers"
                    % (cluster, POST_RUNS, "%.2f" % (post_row[0] / pgb[0]) if pgb[0] else "-", post_row[0],
                       pgb[0], post_row[1] / 1000, post_row[2] / 1000, scale["tickets"]))
        over.append("POST ticket, CPU us per request (the median run): " + ", ".join(
            "%s %.0f" % kv for kv in cpu.items()) + ", sum %.0f" % sum(cpu.values()))
        over.append("  of which PostgreSQL: " + ", ".join("%s %.0f" % kv for kv in pg_split))
        if GET:
            log("warm-up 3 s, then wrk GET ticket %d s" % DUR)
            wrk("warmup_get", base + "/" + tid, 3, *auth)
            rows.append(("ours: GET /v1/properties/{pid}/tickets/{tid}",) +
                        wrk("get_ticket", base + "/" + tid, DUR, *auth))
        if ROWS > 0:
            overdue(stack, pids, adm, over)
    finally:
        stack.stop()
    with open(os.path.join(OUT, "rows.tsv"), "w") as f:
        for r in rows:
            f.write("%s\t%d\t%.0f\t%.0f\t%d\n" % r)
    with open(os.path.join(OUT, "overdue.txt"), "w") as f:
        f.write("\n".join(over) + "\n")
    for r in rows:
        print("%-46s %10d %8.2f ms %8.2f ms %8d" % (r[0], r[1], r[2] / 1000, r[3] / 1000, r[4]))
    print("\n".join(over))


try:
    main()
except (AssertionError, harness.StackError, StopIteration) as e:
    print("bench tickets: %r" % (e,), file=sys.stderr)
    sys.exit(1)
PYEOF
