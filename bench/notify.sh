#!/usr/bin/env bash
# bench/notify.sh: how long an announcement takes to fan out to every occupant
# of a large property (POST /v1/properties/{pid}/announcements through the
# gateway, the broker and pm-notifications to PostgreSQL), beside a bare
# INSERT ... SELECT of the same notification rows timed in the same run.
#
# Starts a stack in a temp dir (tests/blackbox/harness.py: PostgreSQL with fsync
# off, log level warn), creates a property and imports, through the CSV import
# routes, PM_BENCH_NOTIFY_UNITS (20,000) units in 20 buildings and as many
# parties, each moving into one unit (every one with a phone, every other one
# with an email). pm-notifications learns them from tenants' events: the script
# waits until its copy (notifications.occupancies) holds them all and prints how
# long that took. Then RUNS times (3) each: a new announcement to audience "all"
# on ["inbox"] (20,000 rows), and on ["inbox","sms"] (40,000 rows: the sms rows
# queued for the sender), timed by the client; and a bare INSERT ... SELECT of
# as many rows from the same copy (no DISTINCT over occupancies, no preference
# lookup, no announcement row), timed the same way through psql, into a scratch
# table without indexes and one with the same indexes and constraints as
# notifications (LIKE ... INCLUDING ALL). Prints each run and the medians, with
# recipients/s and the ratio to the bare insert (the issue asks "in seconds").
#
# Environment: BUILD (build), PM_BENCH_NOTIFY_UNITS (20000), PM_BENCH_NOTIFY_RUNS (3).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
exec "$PY" - "$@" << 'PYEOF'
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "blackbox"))
import harness  # noqa: E402

N = int(os.environ.get("PM_BENCH_NOTIFY_UNITS", "20000"))
RUNS = int(os.environ.get("PM_BENCH_NOTIFY_RUNS", "3"))
USES = ["residential"] * 8 + ["office", "retail"]


def units_csv():
    rows = ["code,building,floor,area_m2,use"]
    for i in range(N):
        rows.append("U-%06d,%d栋,%d,%d.%02d,%s" % (i, i % 20 + 1, i % 33 + 1, 40 + i % 200, i % 100, USES[i % 10]))
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def parties_csv():
    rows = ["kind,name,phone,email,unit_code,role,start_date"]
    for i in range(N):
        email = "owner%06d@example.com" % i if i % 2 == 0 else ""
        rows.append("person,业主%06d,139%08d,%s,U-%06d,owner,2024-01-01" % (i, i, email, i))
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def imports(stack, pid, kind, body):
    t0 = time.monotonic()
    r = stack.http("POST", "/v1/properties/%s/imports/%s" % (pid, kind), raw=body, token=stack.admin_token,
                   headers={"Content-Type": "text/csv"}, timeout=300)
    assert r.status == 200, "%s import: %r" % (kind, r)
    return time.monotonic() - t0, r.json()


# the fan-out's rows, without its DISTINCT, preferences or announcement row
BARE = """
INSERT INTO notifications.%(table)s (property_id, source_kind, source_id, event_type, recipient_kind, recipient,
  channel, address, title, body, status, next_attempt_at, sent_at)
SELECT o.property_id, 'announcement', s.id, 'announcement', 'party', o.party_id::text, c.ch,
  CASE c.ch WHEN 'sms' THEN p.phone END, '停水通知', '明日 9:00-12:00 全小区停水检修。',
  CASE c.ch WHEN 'inbox' THEN 'delivered' ELSE 'queued' END,
  CASE c.ch WHEN 'sms' THEN now() END, CASE c.ch WHEN 'inbox' THEN now() END
FROM notifications.occupancies o JOIN notifications.parties p ON p.id = o.party_id
CROSS JOIN (SELECT gen_random_uuid() AS id) s CROSS JOIN unnest('%(channels)s'::text[]) AS c (ch)
WHERE o.property_id = '%(pid)s' AND o.end_date IS NULL;
"""


def announce(stack, pid, channels, k):
    for attempt in (1, 2):
        t0 = time.monotonic()
        r = stack.http("POST", "/v1/properties/%s/announcements" % pid, token=stack.admin_token, timeout=300,
                       body={"title": "停水通知 %d" % k, "body": "明日 9:00-12:00 全小区停水检修，请提前储水。",
                             "audience": "all", "channels": channels})
        took = time.monotonic() - t0
        if r.status != 503 or attempt == 2:
            break
        # seen once on a loaded machine: the broker gave the worker up while its loop was busy
        # outside a request (the sender at work on the previous run's queued rows); said, not hidden
        print("announcement %s: 503 after %.2f s (%s), measured again" % (channels, took, r.text[:120]))
    assert r.status == 201, "announcement %s: %r" % (channels, r)
    body = r.json()
    assert body["recipients"] == N, body
    return took, body


def bare(stack, pid, table, channels):
    t0 = time.monotonic()
    stack.psql(BARE % {"table": table, "channels": "{%s}" % ",".join(channels), "pid": pid})
    return time.monotonic() - t0


def main():
    stack = harness.Stack(scale={"tenants": 1}, env={"PM_LOG_LEVEL": "warn", "PM_REQUEST_TIMEOUT_MS": "120000"})
    try:
        r = stack.http("POST", "/v1/properties", token=stack.admin_token,
                       body={"code": "NOTIFY-BENCH-%d" % os.getpid(), "name": "公告压测小区"})
        assert r.status == 201, r
        pid = r.json()["id"]
        t_units, rep = imports(stack, pid, "units", units_csv())
        assert rep["imported"] == N, rep
        t_parties, rep = imports(stack, pid, "parties", parties_csv())
        assert rep["parties_created"] == N and rep["occupancies_created"] == N, rep
        print("imported %d units in %.2f s and %d parties with move-ins in %.2f s" % (N, t_units, N, t_parties))
        t0 = time.monotonic()
        deadline = t0 + 600  # the consumer took 68 to 188 s on a loaded 2-vCPU machine
        sql = ("SELECT count(*) FROM notifications.occupancies o JOIN notifications.parties p ON p.id = o.party_id "
               "JOIN notifications.units u ON u.unit_id = o.unit_id WHERE o.property_id = '%s'" % pid)
        while int(stack.psql(sql)[0][0]) < N:
            assert time.monotonic() < deadline, "notifications' copy of the archive never reached %d occupancies" % N
            time.sleep(0.2)
        print("notifications' copy held the %d units, parties and occupancies %.1f s after the imports"
              % (N, time.monotonic() - t0))
        stack.psql("CREATE TABLE notifications.bench_bare (LIKE notifications.notifications INCLUDING DEFAULTS);"
                   "CREATE TABLE notifications.bench_bare_ix (LIKE notifications.notifications INCLUDING ALL);"
                   "ANALYZE notifications.units; ANALYZE notifications.parties; ANALYZE notifications.occupancies;")
        results = {}
        for channels in (["inbox"], ["inbox", "sms"]):
            key = "+".join(channels)
            ours, plain, ix = [], [], []
            for k in range(RUNS):
                took, body = announce(stack, pid, channels, k)
                ours.append(took)
                plain.append(bare(stack, pid, "bench_bare", channels))
                ix.append(bare(stack, pid, "bench_bare_ix", channels))
                rows = sum(sum(st.values()) for st in body["counts"].values())
                assert rows == N * len(channels), body["counts"]
                print("%s run %d: announcement %.2f s (%d recipients, %d rows: %s); bare INSERT ... SELECT of as "
                      "many rows %.2f s without indexes, %.2f s with the same indexes"
                      % (key, k + 1, took, body["recipients"], rows, body["counts"], plain[-1], ix[-1]))
            results[key] = (statistics.median(ours), statistics.median(plain), statistics.median(ix))
        for key, (m, b, bi) in results.items():
            rows = N * len(key.split("+"))
            print("median of %d, channels %s: announcement %.2f s for %d recipients (%.0f recipients/s, %.0f rows/s); "
                  "bare INSERT ... SELECT %.2f s (ratio %.2f), with the same indexes %.2f s (ratio %.2f)"
                  % (RUNS, key, m, N, N / m, rows / m, b, m / b, bi, m / bi))
    except AssertionError:
        for proc in stack.procs.get("notifications", []):
            print("--- pm-notifications log:\n%s" % proc.tail(30), file=sys.stderr)
        raise
    finally:
        stack.stop()


main()
PYEOF
