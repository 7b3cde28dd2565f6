"""wrkrun: what the Python parts of bench/*.sh (bench/tickets.sh, bench/payments.sh)
share: wrk and its report, a stack's PostgreSQL made durable, and CPU per request per
process group read from /proc. The scripts put tests/blackbox on sys.path first."""

import os
import re
import subprocess

import harness


def to_us(v):
    """A wrk latency ("812.33us", "1.20ms", "2.01s") in microseconds; 0 if unreadable."""
    m = re.match(r"^([0-9.]+)(us|ms|s)$", v or "")
    if not m:
        return 0
    return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1000000}[m.group(2)]


def wrk(out, name, url, dur, threads, conns, *args):
    """wrk -tTHREADS -cCONNS -dDURs --latency ARGS URL, its report kept in OUT/NAME.txt.
    Returns (req/s, p50 us, p99 us, failed: non-2xx/3xx answers plus socket errors)."""
    path = os.path.join(out, name + ".txt")
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % dur, "--latency"] + list(args) + [url]
    with open(path, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False, timeout=dur + 60)
    text = open(path).read()
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    bad = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return (round(float(rps.group(1))) if rps else 0, to_us(p50.group(1) if p50 else ""),
            to_us(p99.group(1) if p99 else ""), bad)


def requests(out, name):
    """How many requests the wrk report OUT/NAME.txt counts."""
    m = re.search(r"^\s*(\d+) requests in", open(os.path.join(out, name + ".txt")).read(), re.M)
    return int(m.group(1)) if m else 0


def durable(stack):
    """fsync, full_page_writes and synchronous_commit on for the whole cluster (the
    harness starts it with them off): ALTER SYSTEM wins over the harness's pm.conf, a
    reload applies it to every session that did not SET its own."""
    for name in ("fsync", "full_page_writes", "synchronous_commit"):
        stack.psql("ALTER SYSTEM SET %s = on" % name)
    stack.psql("SELECT pg_reload_conf ()")
    harness.wait_for("the reload", lambda: stack.psql(
        "SELECT count(*) FROM pg_settings WHERE name IN ('fsync', 'full_page_writes', "
        "'synchronous_commit') AND setting = 'on'")[0][0] == "3", timeout=10)


# --- CPU per request per process group, from /proc (utime + stime, clock ticks)

HZ = os.sysconf("SC_CLK_TCK")


def s_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            f_ = f.read().rsplit(")", 1)[1].split()
        return int(f_[11]) + int(f_[12]), int(f_[1])        # utime + stime, ppid
    except (OSError, IndexError, ValueError):
        return 0, 0


def s_backend(pid):
    """What a PostgreSQL child is: its role for a backend ("pm_tickets"), else its title."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            title = f.read().decode("utf-8", "replace").replace("\0", " ").split()
    except OSError:
        return "?"
    return title[1] if len(title) > 1 and title[0] == "postgres:" else "?"


def cpu_snapshot(stack, groups):
    """{pid: (group, ticks, name)}: the stack's processes of groups (names of stack.procs),
    and the postmaster with every child (its backends) alive now, as group "postgres"."""
    snap = {}
    for g in groups:
        for p in stack.procs[g]:
            snap[p.pid] = (g, s_ticks(p.pid)[0], g)
    with open(os.path.join(stack.pg_dir, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    snap[pm] = ("postgres", s_ticks(pm)[0], "postmaster")
    for d in os.listdir("/proc"):
        if d.isdigit():
            t, ppid = s_ticks(int(d))
            if ppid == pm:
                snap[int(d)] = ("postgres", t, s_backend(int(d)))
    return snap


def cpu_per_request(before, after, requests, groups):
    """{group: CPU microseconds per request} between two snapshots (a process in both),
    for groups and "postgres"."""
    out = dict.fromkeys(tuple(groups) + ("postgres",), 0.0)
    for pid, (g, t, _) in after.items():
        if pid in before:
            out[g] += (t - before[pid][1]) * 1e6 / HZ / max(1, requests)
    return out


def cpu_postgres_split(before, after, requests):
    """PostgreSQL's CPU per request by backend role or process ("pm_tickets", "walwriter"),
    largest first, those of at least 1 us."""
    out = {}
    for pid, v in after.items():
        if v[0] == "postgres" and pid in before:
            out[v[2]] = out.get(v[2], 0.0) + (v[1] - before[pid][1]) * 1e6 / HZ / max(1, requests)
    return sorted(((k, u) for k, u in out.items() if u >= 1), key=lambda kv: -kv[1])
