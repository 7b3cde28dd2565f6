"""test_health_check: `pm-<daemon> --check [ready|live]` (common/health.h), the probes the
Kubernetes manifests run, on the real stack: every worker and the broker ready; the database
stopped -> `ready` fails saying so while `live` passes; the broker killed -> the workers' `ready`
fails ("no broker"), the broker's own check says its process is gone; a worker stopped with
SIGSTOP -> `live` fails once its file is stale, and passes again after SIGCONT; a worker whose
loop a handler holds (its database session stopped) stays live; a worker that exits takes its
file with it; bad arguments are a usage error (2) and start nothing."""

import os
import signal
import subprocess
import time

from harness import SERVICES, SLOWDOWN

# the checker's window for the SIGSTOP test (the default is 10 s); files are rewritten every 2 s
STALE_MS = 4000
WAIT = 20 * SLOWDOWN
# what a health file may hold: nothing personal, nothing unknown
KEYS = {"version", "service", "pid", "started", "written_ms", "written_at", "loop_ms",
        "busy_since_ms", "busy_max_ms", "brokers", "bound", "db", "db_checked_ms"}


def check(stack, daemon, mode=None, env=None):
    """(exit status, stderr) of `pm-<daemon> --check [mode]` with the stack's environment."""
    args = [stack._bin(daemon), "--check"] + ([mode] if mode else [])
    r = subprocess.run(args, env=dict(stack.env, **(env or {})), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    return r.returncode, r.stderr.decode("utf-8", "replace").strip()


def wait_check(stack, daemon, mode, want, env=None, timeout=WAIT):
    """Polls the check until its exit status is `want`; returns the last (status, stderr)."""
    deadline = time.monotonic() + timeout
    while True:
        rc, err = check(stack, daemon, mode, env)
        if rc == want or time.monotonic() > deadline:
            return rc, err
        time.sleep(0.2)


def health_file(stack, daemon):
    with open(os.path.join(stack.tmpdir, daemon + ".health")) as f:
        return dict(line.split("=", 1) for line in f.read().splitlines() if line and not line.startswith("#"))


def test_every_daemon_ready(stack):
    for daemon in SERVICES + ["broker"]:
        rc, err = wait_check(stack, daemon, "ready", 0)
        assert rc == 0, "pm-%s --check ready: %d %s" % (daemon, rc, err)
        assert err == "", "a healthy check prints nothing: %r" % err
        assert check(stack, daemon, "live") == (0, ""), daemon
        assert check(stack, daemon) == (0, ""), "ready is the default (%s)" % daemon
    f = health_file(stack, "tickets")
    assert set(f) <= KEYS, "unknown keys in the health file: %s" % (set(f) - KEYS)
    assert f["service"] == "tickets" and f["pid"] == str(stack.procs["tickets"][0].pid), f
    assert f["brokers"] == "1/1" and f["db"] == "up", f
    b = health_file(stack, "broker")
    assert b["bound"] == "1" and b["db"] == "none" and "brokers" not in b, b


def test_bad_arguments(stack):
    for args in (["--check", "sideways"], ["--check", "ready", "more"], ["--bogus"]):
        r = subprocess.run([stack._bin("tickets")] + args, env=stack.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        assert r.returncode == 2, "pm-tickets %s: %d" % (" ".join(args), r.returncode)
        assert b"usage: pm-tickets" in r.stderr, r.stderr
    r = subprocess.run([stack._bin("broker"), "--check", "maybe"], env=stack.env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert r.returncode == 2 and b"usage: pm-broker" in r.stderr, r


def test_database_down(stack):
    stack._pg("stop")
    try:
        rc, err = wait_check(stack, "tickets", "ready", 1)
        assert rc == 1, "ready with the database stopped: %d %s" % (rc, err)
        assert "database down" in err, err
        assert check(stack, "tickets", "live") == (0, ""), "the loop still turns: live"
        assert health_file(stack, "billing")["db"] in ("up", "down")
    finally:
        stack._pg("start", str(stack.pg_port))
    for daemon in SERVICES:
        rc, err = wait_check(stack, daemon, "ready", 0)
        assert rc == 0, "pm-%s not ready again after the database came back: %s" % (daemon, err)
    stack.wait_ready()


def test_broker_lost(stack):
    stack.kill("broker", sig=signal.SIGKILL)
    try:
        rc, err = wait_check(stack, "tickets", "ready", 1)
        assert rc == 1, "ready without a broker: %d %s" % (rc, err)
        assert "no broker" in err, err
        assert check(stack, "tickets", "live") == (0, "")
        # the broker's file outlives a kill -9; its process does not
        rc, err = check(stack, "broker", "live")
        assert rc == 1 and "gone" in err, (rc, err)
    finally:
        stack.start("broker")
    for daemon in ["broker"] + SERVICES:
        rc, err = wait_check(stack, daemon, "ready", 0)
        assert rc == 0, "pm-%s not ready after the broker came back: %s" % (daemon, err)
    stack.wait_ready()


def test_stopped_worker(stack):
    pid = stack.procs["tickets"][0].pid
    short = {"PM_HEALTH_STALE_MS": str(STALE_MS)}
    assert check(stack, "tickets", "live", short) == (0, "")
    os.kill(pid, signal.SIGSTOP)
    try:
        rc, err = wait_check(stack, "tickets", "live", 1, short)
        assert rc == 1, "live while stopped: %d %s" % (rc, err)
        assert "stale by" in err, err
        assert check(stack, "tickets", "ready", short)[0] == 1
    finally:
        os.kill(pid, signal.SIGCONT)
    rc, err = wait_check(stack, "tickets", "live", 0, short)
    assert rc == 0, "not live after SIGCONT: %s" % err
    rc, err = wait_check(stack, "tickets", "ready", 0)
    assert rc == 0, "not ready after SIGCONT: %s" % err
    stack.wait_ready()


def test_long_handler_is_alive(stack):
    """The loop held past the stale window (its database session stopped mid-query: the SLA
    timer's job, a request or the health check itself waits on it) is alive: the heartbeat thread
    keeps the file fresh with busy_since_ms."""
    short = {"PM_HEALTH_STALE_MS": str(STALE_MS)}
    backends = [int(r[0]) for r in stack.psql(
        "SELECT pid FROM pg_stat_activity WHERE usename = 'pm_tickets'", service="tickets")]
    assert backends, "no session of pm_tickets"
    for b in backends:
        os.kill(b, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            f = health_file(stack, "tickets")
            held = int(f["written_ms"]) - int(f["loop_ms"])
            if (f["busy_since_ms"] != "0" and held > STALE_MS) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert f["busy_since_ms"] != "0", "the loop was never held: %r" % f
        assert held > STALE_MS, "the loop turned %d ms before the last write" % held
        rc, err = check(stack, "tickets", "live", short)
        assert rc == 0, "a held loop within its limit is alive: %s" % err
    finally:
        for b in backends:
            os.kill(b, signal.SIGCONT)
    rc, err = wait_check(stack, "tickets", "ready", 0)
    assert rc == 0, "not ready once its database answered again: %s" % err
    stack.wait_ready()


def test_exit_removes_the_file(stack):
    stack.kill("notifications", sig=signal.SIGTERM)
    rc, err = check(stack, "notifications", "live")
    assert rc == 1 and "no health file" in err, (rc, err)
    stack.start("notifications")
    rc, err = wait_check(stack, "notifications", "ready", 0)
    assert rc == 0, "pm-notifications not ready after its restart: %s" % err
    stack.wait_ready()
