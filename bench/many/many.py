#!/usr/bin/env python3
"""bench/many/many.py: the body of bench/many.sh (read its header)."""

import datetime
import os
import re
import signal
import statistics
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "blackbox"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import generate  # noqa: E402

N_PROPS = int(os.environ.get("PM_BENCH_MANY_PROPERTIES", "200"))
UNITS = int(os.environ.get("PM_BENCH_MANY_UNITS", "2000"))
TICKETS = int(os.environ.get("PM_BENCH_MANY_TICKETS", "2000000"))
MONTHS = int(os.environ.get("PM_BENCH_MANY_MONTHS", "24"))
CALLS = int(os.environ.get("PM_BENCH_MANY_CALLS", "20"))
CHUNK = int(os.environ.get("PM_BENCH_MANY_CHUNK", "40"))
TIMEOUT = int(os.environ.get("PM_BENCH_MANY_TIMEOUT", "60"))
OUT = os.environ.get("BENCH_OUT", "/tmp")
DAY_MS = "86400000"
HOUR_MS = "3600000"  # (the SLA and patrol timers take at most an hour)
BIG = 10000  # a Seq Scan on a table of more rows than this is reported

BIG_TABLES = {
    "tenants": ["units", "parties", "occupancies", "outbox"],
    "tickets": ["tickets", "ticket_timeline", "ticket_feedback", "tenant_units", "tenant_occupancies",
                "patrol_rounds", "outbox"],
    "billing": ["units", "occupancies", "bills", "bill_lines", "payments", "allocations", "outbox"],
    "notifications": ["units", "occupancies", "notifications", "outbox"],
}


def say(fmt, *args):
    print(("[%s] " + fmt) % ((time.strftime("%H:%M:%S"),) + args), flush=True)


def month(delta):
    """'YYYY-MM' of the current month in Asia/Shanghai plus delta months."""
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)
    m = now.year * 12 + now.month - 1 + delta
    return "%04d-%02d" % (m // 12, m % 12 + 1)


def bill_run(stack, pid, period):
    t0 = time.monotonic()
    r = stack.http("POST", "/v1/properties/%s/billing-runs" % pid, body={"period": period},
                   token=stack.admin_token, timeout=600)
    took = time.monotonic() - t0
    assert r.status == 201, "bill run %s: %r" % (period, r)
    assert r.json()["bills_created"] == UNITS, r.json()
    return took


def endpoints(pid, uid):
    last = month(-1)
    y, m = map(int, last.split("-"))
    first = datetime.date(y, m, 1)
    end = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    p = "/v1/properties/%s" % pid
    q = lambda **kw: "?" + urllib.parse.urlencode(kw)  # noqa: E731
    return [
        ("tickets list (newest first)", p + "/tickets"),
        ("tickets ?status=assigned", p + "/tickets" + q(status="assigned")),
        ("tickets ?type=complaint", p + "/tickets" + q(type="complaint")),
        ("tickets ?assignee_id=tech-3", p + "/tickets" + q(assignee_id="tech-3")),
        ("tickets ?overdue=true", p + "/tickets" + q(overdue="true")),
        ("tickets ?q= (a number)", p + "/tickets" + q(q="BX-%d-000123" % y)),
        ("a unit's tickets ?unit_id=", p + "/tickets" + q(unit_id=uid)),
        ("reports/service (a month)", p + "/reports/service" + q(**{"from": str(first), "to": str(end)})),
        ("reports/patrol (a month)", p + "/reports/patrol" + q(**{"from": str(first), "to": str(end)})),
        ("reports/agents (a month)", p + "/reports/agents" + q(**{"from": str(first), "to": str(end)})),
        ("reports/satisfaction (12 months)", p + "/reports/satisfaction" + q(**{"from": month(-12), "to": last})),
        ("units ?q= (a code)", p + "/units" + q(q="3-05")),
        ("units ?use=office", p + "/units" + q(use="office")),
        ("reports/arrears", p + "/reports/arrears"),
        ("reports/collection ?period=", p + "/reports/collection" + q(period=month(-3))),
        ("a unit's account", p + "/units/%s/account" % uid),
    ]


def measure(stack, token, eps):
    """[(name, median ms, max ms, items)]; an endpoint slower than PM_BENCH_MANY_TIMEOUT (60 s) is
    reported as such (and not called again): that is a finding, not a reason to stop."""
    rows = []
    for name, path in eps:
        times, n = [], "-"
        try:
            for k in range(CALLS + 1):
                t0 = time.monotonic()
                r = stack.http("GET", path, token=token, timeout=TIMEOUT)
                if k:  # the first call warms up
                    times.append((time.monotonic() - t0) * 1000)
                if r.status != 200:
                    raise OSError("%d %s" % (r.status, r.body[:200]))
        except OSError as e:  # socket.timeout, or the statement cancelled at PM_DB_STATEMENT_TIMEOUT_MS: 504
            say("%s: no answer within %d s (%s)", name, TIMEOUT, e)
            rows.append((name, float("nan"), float("nan"), "timeout"))
            continue
        body = r.json()
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            n = len(body["items"])
        rows.append((name, statistics.median(times), max(times), n))
        say("%s: median %.1f ms", name, rows[-1][1])
    return rows


# ------------------------------------------------------------------ plans
ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ UTC \[\d+\] ", re.M)
# the outbox relays' and consumers' own polls, not a request's
NOISE = re.compile(r"\b(outbox|consumer_cursors|processed_events)\b|pg_try_advisory", re.I)


def auto_explain(stack, on):
    for svc in ("tenants", "tickets", "billing"):
        if on:
            stack.psql("ALTER ROLE pm_%s SET session_preload_libraries = 'auto_explain'; "
                       "ALTER ROLE pm_%s SET auto_explain.log_min_duration = 0; "
                       "ALTER ROLE pm_%s SET auto_explain.log_analyze = on; "
                       "ALTER ROLE pm_%s SET auto_explain.log_buffers = on; "
                       "ALTER ROLE pm_%s SET auto_explain.log_level = 'warning'" % ((svc,) * 5), service=svc)
        else:
            stack.psql("ALTER ROLE pm_%s RESET ALL" % svc, service=svc)
        stack.kill(svc, signal.SIGTERM)
        stack.start(svc)


def log_size(stack, svc):
    path = os.path.join(stack.pg_clusters[svc][0], "postgresql.log")
    return path, os.path.getsize(path) if os.path.exists(path) else 0


def plans_between(path, start):
    with open(path, "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    out = []
    starts = [m.start() for m in ENTRY.finditer(text)] + [len(text)]
    for a, b in zip(starts, starts[1:]):
        e = text[a:b]
        m = re.search(r"duration: ([0-9.]+) ms\s+plan:\n(.*)", e, re.S)
        if not m:
            continue
        body = m.group(2)
        qm = re.search(r"Query Text: (.*?)\n(\s+\S.*)", body, re.S)
        if not qm or NOISE.search(qm.group(1)):
            continue
        out.append((float(m.group(1)), qm.group(1).strip(), qm.group(2)))
    return out


def reltuples(stack):
    n = {}
    for svc in BIG_TABLES:
        for rel, t in stack.psql("SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace s "
                                 "ON s.oid = c.relnamespace WHERE s.nspname = '%s' AND c.relkind = 'r'" % svc,
                                 service=svc):
            n[(svc, rel)] = int(t)
    return n


def explain(stack, token, eps, sizes, skip):
    auto_explain(stack, True)
    harness.wait_for("the restarted services", lambda: stack.http("GET", "/readyz").status == 200, timeout=60)
    time.sleep(1)
    report, full = [], []
    for name, path in eps:
        if name in skip:
            continue
        marks = {svc: log_size(stack, svc) for svc in ("tenants", "tickets", "billing")}
        try:
            r = stack.http("GET", path, token=token, timeout=TIMEOUT)
            if r.status != 200:
                say("%s: %d under auto_explain", name, r.status)
        except OSError:
            say("%s: no answer within %d s under auto_explain: its plan is logged when it ends", name, TIMEOUT)
        time.sleep(0.2)
        seen = set()
        for svc, (p, start) in marks.items():
            if p in seen:
                continue
            seen.add(p)
            for ms, sql, plan in plans_between(p, start):
                idx = sorted(set(re.findall(r"(?:Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) "
                                            r"(\w+)", plan)))
                seqs = sorted({t for t in re.findall(r"Seq Scan on (\w+)", plan)
                               if max((v for (s, rel), v in sizes.items() if rel == t), default=0) > BIG})
                buf = re.search(r"Buffers: ([^\n]*)", plan)
                report.append((name, ms, buf.group(1).strip() if buf else "-", idx, seqs, sql))
                full.append("=== %s (%.3f ms)\n%s\n%s\n" % (name, ms, sql, plan.rstrip()))
    auto_explain(stack, False)
    with open(os.path.join(OUT, "plans.txt"), "w") as f:
        f.write("\n".join(full))
    return report


def table_sizes(stack):
    rows = []
    for svc, tables in BIG_TABLES.items():
        for t in tables:
            r = stack.psql("SELECT c.reltuples::bigint, pg_relation_size(c.oid), pg_indexes_size(c.oid), "
                           "pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace s ON s.oid = "
                           "c.relnamespace WHERE s.nspname = '%s' AND c.relname = '%s'" % (svc, t), service=svc)
            if r:
                rows.append(("%s.%s" % (svc, t),) + tuple(int(x) for x in r[0]))
    return rows


def mb(n):
    return "%.0f MB" % (n / 1048576.0)


def main():
    env = {"PM_LOG_LEVEL": "warn", "PM_REQUEST_TIMEOUT_MS": "600000",
           # a statement slower than the client waits is cancelled, not left holding its worker
           "PM_DB_STATEMENT_TIMEOUT_MS": str(TIMEOUT * 1000),
           "PM_LATE_FEE_TICK_MS": DAY_MS, "PM_SLA_TICK_MS": HOUR_MS, "PM_PATROL_TICK_MS": HOUR_MS,
           "PM_VISITOR_PURGE_MS": DAY_MS, "PM_ACTIVITY_REMINDER_EVERY_MS": DAY_MS}
    stack = harness.Stack(scale={"tenants": 1}, env=env)
    try:
        say("stack up (%s); %d properties x %d units, %d tickets, %d months", stack.tmpdir, N_PROPS, UNITS,
            TICKETS, MONTHS)
        props = []
        for k in range(N_PROPS):
            r = stack.http("POST", "/v1/properties", token=stack.admin_token,
                           body={"code": "MANY-%03d" % (k + 1), "name": "物业 %d" % (k + 1)})
            assert r.status == 201, r
            props.append(r.json()["id"])
        for svc, sql in (("billing", "SELECT count(*) FROM billing.property_settings"),
                         ("tickets", "SELECT count(*) FROM tickets.tenant_properties"),
                         ("notifications", "SELECT count(*) FROM notifications.properties")):
            harness.wait_for("%s to learn the properties" % svc,
                             lambda: int(stack.psql(sql, service=svc)[0][0]) >= N_PROPS, timeout=120)
        r = stack.http("POST", "/v1/users", token=stack.admin_token,
                       body={"username": "many-agent", "password": "many-agent-pass-1", "role": "agent",
                             "property_ids": [props[0]]})
        assert r.status == 201, r
        token = stack.login("many-agent", "many-agent-pass-1")
        per = TICKETS // N_PROPS

        t0 = time.monotonic()
        generate.properties(stack, props[:1], UNITS, per, MONTHS)
        generate.analyze(stack)
        say("property 1 generated in %.1f s", time.monotonic() - t0)
        # three periods each, the median: one run of 2,000 units is ~0.1 s, within the noise
        # of a shared machine
        run1 = [bill_run(stack, props[0], month(k)) for k in (1, 2, 3)]
        say("bill runs %s..%s of property 1 with 1 property loaded: %s s", month(1), month(3),
            " ".join("%.3f" % t for t in run1))

        t0 = time.monotonic()
        for k in range(1, N_PROPS, CHUNK):
            t1 = time.monotonic()
            generate.properties(stack, props[k:k + CHUNK], UNITS, per, MONTHS)
            say("properties %d-%d generated in %.1f s", k + 1, min(k + CHUNK, N_PROPS), time.monotonic() - t1)
        generate.analyze(stack)
        gen = time.monotonic() - t0
        say("%d properties generated and analyzed in %.1f s", N_PROPS, gen)
        run_all_a = [bill_run(stack, props[0], month(k)) for k in (4, 5, 6)]
        run_all_b = [bill_run(stack, props[-1], month(k)) for k in (1, 2, 3)] if N_PROPS > 1 else [float("nan")]
        say("bill runs with %d properties loaded: property 1 %s..%s %s s, property %d %s..%s %s s", N_PROPS,
            month(4), month(6), " ".join("%.3f" % t for t in run_all_a), N_PROPS, month(1), month(3),
            " ".join("%.3f" % t for t in run_all_b))

        uid = stack.psql("SELECT md5('%s' || ':u1')::uuid" % props[0], service="tenants")[0][0]
        eps = endpoints(props[0], uid)
        lat = measure(stack, token, eps)
        sizes = reltuples(stack)
        plans = explain(stack, token, eps, sizes, {n for n, _, _, c in lat if c == "timeout"})
        tabs = table_sizes(stack)

        print()
        print("many properties: %d properties x %d units, %d tickets over %d months, generated in %.0f s"
              % (N_PROPS, UNITS, per * N_PROPS, MONTHS, gen))
        med = statistics.median
        print("bill run of %d units (median of 3 periods): %.3f s with 1 property loaded; with %d loaded %.3f s "
              "(the same property, the 3 periods after) and %.3f s (the last property, the same 3 periods)"
              % (UNITS, med(run1), N_PROPS, med(run_all_a), med(run_all_b)))
        print("\nlatency of one property's lists and reports, as its agent (%d calls after a warm-up):" % CALLS)
        print("  %-36s %10s %10s %6s" % ("endpoint", "median", "max", "items"))
        for name, med, mx, n in lat:
            print("  %-36s %7.1f ms %7.1f ms %6s" % (name, med, mx, n))
        print("\nplans (auto_explain: EXPLAIN ANALYZE, BUFFERS of each statement; all in %s/plans.txt):"
              % OUT)
        bad = 0
        for name, ms, buf, idx, seqs, sql in plans:
            bad += bool(seqs)
            print("  %-36s %8.2f ms  %s\n      indexes: %s%s\n      %s" % (
                name, ms, buf, ", ".join(idx) or "-",
                ("\n      SEQ SCAN on " + ", ".join(seqs)) if seqs else "", sql[:150]))
        print("  statements with a Seq Scan on a table of over %d rows: %d of %d" % (BIG, bad, len(plans)))
        print("\ntable sizes:")
        print("  %-32s %12s %10s %10s %10s" % ("table", "rows", "heap", "indexes", "total"))
        for t, n, heap, ix, tot in tabs:
            print("  %-32s %12d %10s %10s %10s" % (t, n, mb(heap), mb(ix), mb(tot)))
        db = stack.psql("SELECT pg_database_size('pm')")[0][0]
        print("  database pm: %s" % mb(int(db)))
    finally:
        stack.stop()


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, harness.StackError) as e:
        print("bench many: %s" % e, file=sys.stderr)
        sys.exit(1)
