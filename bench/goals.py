#!/usr/bin/env python3
"""goals.py: the table at the end of make bench (bench/run.sh): every goal of issue I
beside its baseline measured in the same run, the ratio, the goal, and whether it is met.

    goals.py OUT

Reads only what bench/run.sh and the scripts it called wrote in OUT (it measures
nothing itself):
    runs.tsv            our GET unit and /healthz runs, and the CPU of each process group
                        during the GET runs (bench/lib.sh's measure: test, run, metric, value)
    idle.tsv            VmRSS of each process holding the idle connections (bench/idle.py)
    tickets/rows.tsv    bench/tickets.sh: name, req/s, p50 us, p99 us, failed
    payments/rows.tsv   bench/payments.sh: the same columns (its median of runs)
    baseline/raw.tsv    ../shared/bench/baseline.sh (nginx, pg): test, run, metric, value
Figures of several runs are medians (each metric on its own). A row whose figure or
baseline is missing says "-" and counts as not measured, not as met.
"""

import os
import statistics
import sys

OUT = sys.argv[1]
RUNS = os.environ.get("RUNS", "?")
DUR = os.environ.get("DUR", "?")
CONNS = int(os.environ.get("CONNS", "50"))
IDLE = int(os.environ.get("PM_BENCH_IDLE_CONNS", "10000"))


def path(*p):
    return os.path.join(OUT, *p)


def read_raw(name):
    """test -> metric -> median over runs, from a test/run/metric/value file."""
    vals = {}
    try:
        with open(path(name)) as f:
            for line in f:
                c = line.rstrip("\n").split("\t")
                if len(c) >= 4:
                    try:
                        vals.setdefault(c[0], {}).setdefault(c[2], []).append(float(c[3]))
                    except ValueError:
                        pass
    except OSError:
        pass
    return {t: {m: statistics.median(v) for m, v in ms.items()} for t, ms in vals.items()}


def read_rows(name):
    """name -> (req/s, p50 us, p99 us, failed) of a bench/*.sh rows.tsv."""
    rows = {}
    try:
        with open(path(name)) as f:
            for line in f:
                c = line.rstrip("\n").split("\t")
                if len(c) >= 5:
                    rows[c[0]] = tuple(float(x) for x in c[1:5])
    except (OSError, ValueError):
        pass
    return rows


def find(d, *words):
    """The first value of d whose key holds every word (names may gain words over time)."""
    return next((v for k, v in sorted(d.items()) if all(w in k for w in words)), None)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1048576
    return "%d vCPU %s, %.0f GiB, Linux %s" % (os.cpu_count(), model, mem, os.uname().release)


ours = read_raw("runs.tsv")
base = read_raw(os.path.join("baseline", "raw.tsv"))
get = ours.get("get_unit", {})
hz = ours.get("healthz", {})
tickets = read_rows(os.path.join("tickets", "rows.tsv"))
payments = read_rows(os.path.join("payments", "rows.tsv"))
post_t = find(tickets, "POST", "tickets")
post_p = find(payments, "POST", "payments")
pg_s = base.get("pg_select_S_prepared_c8_j2", {})
pg_i = find(base, "pg_insert", "sync_on") or {}
ngx = base.get("http_nginx_w2_wrk_t2_c50", {})

rss, rss0, anon = {}, {}, {}  # name -> (kB, pid): the largest of each name: with, before the conns; RssAnon
try:
    with open(path("idle.tsv")) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) != 3:
                continue
            for prefix, d in (("rss_kb_", rss), ("rss_before_kb_", rss0), ("anon_kb_", anon)):
                if c[0].startswith(prefix):
                    n = c[0][len(prefix):]
                    if int(c[2]) > d.get(n, (-1, 0))[0]:
                        d[n] = (int(c[2]), c[1])
            if c[0].startswith("conns_"):
                rss[c[0]] = (int(c[2]), "-")
except (OSError, ValueError):
    pass

rows, misses, unmeasured = [], [], []


def num(v, fmt):
    return "-" if v is None else fmt.format(v)


def row(name, value, shown, baseline="", ratio=None, goal="", ok=None, failed=0, called=None):
    """ok: a function of (value, ratio) -> bool; None when the row has no goal.
    called: the row's name in the list of misses (a sub-row's "  p99" needs its parent's)."""
    called = called or name.strip()
    if ok is None:
        verdict = ""
    elif value is None or (ratio is None and "x" in goal):
        verdict = "-"
        unmeasured.append(called)
    elif failed:
        verdict = "FAILED REQS"
        misses.append("%s (%d failed requests)" % (called, failed))
    elif ok(value, ratio):
        verdict = "ok"
    else:
        verdict = "MISS"
        misses.append(called)
    rows.append((name, shown, baseline, "" if ratio is None else "%.2fx" % ratio, goal, verdict))


def ratio(a, b):
    return a / b if a is not None and b else None


def rps(v):
    return num(v, "{:,.0f} req/s")


def ms(us):
    return num(None if us is None else us / 1000, "{:.2f} ms")


# GET unit, agent
g_rps, g_p99, g_bad = get.get("rps"), get.get("p99_us"), int(get.get("failed", 0))
s_rps = pg_s.get("ops_per_s")
row("GET unit, agent, c%d" % CONNS, g_rps, rps(g_rps), "pgbench -S prepared " + num(s_rps, "{:,.0f} TPS"),
    ratio(g_rps, s_rps), ">= 0.5x", lambda v, r: r >= 0.5, g_bad)
row("  p99", g_p99, ms(g_p99), "pgbench -S p99 " + ms(pg_s.get("p99_us")), None, "<= 5 ms",
    lambda v, r: v <= 5000, g_bad, "GET unit p99")

# CPU per GET, per process group (the same GET runs)
cpu = [("postgres", "PostgreSQL", 35, "pgbench -S server %s" % num(pg_s.get("server_us_per_op"), "{:.1f} µs")),
       ("tenants", "worker (pm-tenants)", 25, ""),
       ("gateway", "gateway", 25, "nginx server %s" % num(ngx.get("server_us_per_op"), "{:.1f} µs")),
       ("broker", "broker", 15, ""),
       ("total", "total", 100, "")]
for key, label, goal, b in cpu:
    v = get.get("cpu_us_" + key)
    row("CPU per GET: " + label, v, num(v, "{:.1f} µs"), b, None, "<= %d µs" % goal,
        lambda v, r, goal=goal: v <= goal)

# POST ticket, one property
i_rps = pg_i.get("ops_per_s")
ins = "pgbench insert, sync on " + num(i_rps, "{:,.0f} TPS")
tk_pgb = find(tickets, "pgbench", "insert")
if i_rps is None and tk_pgb:  # no machine baseline (not root?): bench/tickets.sh's, on its stack's cluster
    i_rps, pg_i = tk_pgb[0], {"p99_us": tk_pgb[2]}
    ins = "pgbench insert (tickets.sh) %s TPS" % "{:,.0f}".format(i_rps)
t_rps, t_p99, t_bad = (post_t[0], post_t[2], int(post_t[3])) if post_t else (None, None, 0)
row("POST ticket, one property, c%d" % CONNS, t_rps, rps(t_rps), ins, ratio(t_rps, i_rps), ">= 0.5x",
    lambda v, r: r >= 0.5, t_bad)
row("  p99", t_p99, ms(t_p99), "pgbench insert p99 " + ms(pg_i.get("p99_us")), None, "<= 20 ms",
    lambda v, r: v <= 20000, t_bad, "POST ticket p99")

# POST payment with an Idempotency-Key
p_rps, p_bad = (post_p[0], int(post_p[3])) if post_p else (None, 0)
row("POST payment, Idempotency-Key", p_rps, rps(p_rps), ins, ratio(p_rps, i_rps), ">= 0.3x",
    lambda v, r: r >= 0.3, p_bad)

# /healthz
h_rps, n_rps = hz.get("rps"), ngx.get("ops_per_s")
row("/healthz", h_rps, rps(h_rps), "nginx fixed 200 " + num(n_rps, "{:,.0f} req/s"), ratio(h_rps, n_rps),
    ">= 0.9x", lambda v, r: r >= 0.9, int(hz.get("failed", 0)))

# idle RSS
opened = rss.get("conns_open", (None,))[0]
refused = rss.get("conns_non200", (0,))[0]
gw = rss.get("gateway", (None,))[0]
row("idle RSS: gateway, %s idle conns" % num(opened, "{:,}"), gw, num(None if gw is None else gw / 1024, "{:.1f} MB"),
    "", None, "<= 64 MB", lambda v, r: v <= 64 * 1024 and (opened or 0) >= IDLE, refused)
br = rss.get("broker", (None,))[0]
row("idle RSS: broker", br, num(None if br is None else br / 1024, "{:.1f} MB"), "", None, "<= 8 MB",
    lambda v, r: v <= 8 * 1024)
workers = [(kb, n) for n, (kb, _) in rss.items() if n not in ("gateway", "broker", "conns_open", "conns_non200")]
wk, wn = max(workers) if workers else (None, "-")
row("idle RSS: worker (pm-%s)" % wn, wk, num(None if wk is None else wk / 1024, "{:.1f} MB"), "", None,
    "<= 8 MB", lambda v, r: v <= 8 * 1024)

print()
print("make bench: the goals of issue I, each beside its baseline from this run")
print("machine: %s" % machine())
print("ours: median of %s runs x %s s, wrk -t%s -c%d; baselines: ../shared/bench/baseline.sh, median of %s runs"
      % (RUNS, DUR, os.environ.get("THREADS", "2"), CONNS, RUNS))
w = [38, 14, 34, 7, 10]
print("%-*s %*s  %-*s %*s  %-*s %s" % (w[0], "workload", w[1], "ours", w[2], "baseline (same run)", w[3], "ratio",
                                       w[4], "goal", "met?"))
for r in rows:
    print("%-*s %*s  %-*s %*s  %-*s %s" % (w[0], r[0], w[1], r[1], w[2], r[2], w[3], r[3], w[4], r[4], r[5]))
goals = sum(1 for r in rows if r[5])
print("%d of %d goals met, %d missed, %d not measured; missed: %s"
      % (goals - len(misses) - len(unmeasured), goals, len(misses), len(unmeasured),
         "; ".join(misses) if misses else "none"))
if unmeasured:
    print("not measured (a figure or its baseline is missing; see the logs above): " + "; ".join(unmeasured))
if rss:
    print("RSS of each process (largest of a name) before -> with the idle connections (of which anonymous): "
          + ", ".join("%s %.1f -> %.1f MB (%.1f)" % (n, rss0.get(n, (0,))[0] / 1024, kb / 1024,
                                                      anon.get(n, (0,))[0] / 1024)
                      for n, (kb, _) in sorted(rss.items()) if not n.startswith("conns_")))
if opened is not None and opened < IDLE:
    print("idle RSS: only %d of %d connections were open when RSS was read (%d refused)" % (opened, IDLE, refused))
