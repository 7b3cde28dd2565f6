"""test_ops: the platform as an operator sees it: scaling, dying workers, a broker
restart, and scripts/run.sh (make run) supervising and cleaning up.

Runs with two tenants workers and debug logs (each worker logs the requests it
handles with their request_id). The tests run in file order and depend on it:
load sharing needs both workers, the dead-worker test first retires one of them.
"""

import os
import re
import secrets
import signal
import subprocess
import threading
import time

import harness

STACK = dict(scale={"tenants": 2}, env={"PM_LOG_LEVEL": "debug"})

PROBE = "/v1/properties"  # tenants.properties.list: the cheapest call that needs a tenants worker


def _get(stack, token, timeout=10, rid=None):
    headers = {"X-Request-Id": rid} if rid else None
    return stack.http("GET", PROBE, token=token, headers=headers, timeout=timeout)


def _until(what, fn, timeout, step=0.1):
    """Calls fn until it returns a true value; AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except OSError as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))


def _workers(stack, service):
    """pm_service_workers{service=...} from /metrics; None while /metrics does not answer 200."""
    try:
        return stack.metrics().get('pm_service_workers{service="%s"}' % service)
    except AssertionError:
        return None


# ---------------------------------------------------------------- scaling
def test_two_workers_share_load(stack):
    token = stack.admin_token
    assert len(stack.procs["tenants"]) == 2, stack.procs["tenants"]
    _until("/metrics shows 2 tenants workers", lambda: _workers(stack, "tenants") == 2, 10)

    tag = "opsload" + secrets.token_hex(4)
    statuses = []
    lock = threading.Lock()

    def fire(k):
        for i in range(10):
            r = _get(stack, token, rid="%s-%d-%d" % (tag, k, i))
            with lock:
                statuses.append(r.status)

    threads = [threading.Thread(target=fire, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 50 and set(statuses) == {200}, "statuses: %r" % sorted(set(statuses))

    def handled(p):
        return p.log().count(tag)

    # Log lines may trail the replies by a moment.
    _until("both workers log requests of the load",
           lambda: all(handled(p) > 0 for p in stack.procs["tenants"]), 5)
    counts = [handled(p) for p in stack.procs["tenants"]]
    assert all(c > 0 for c in counts), "requests seen per worker log: %r" % counts


# ---------------------------------------------------------------- broker restart
def test_broker_restart_workers_reregister(stack):
    token = stack.admin_token
    assert _get(stack, token).status == 200
    pids = {n: [p.pid for p in stack.procs[n]] for n in harness.SERVICES + ["gateway"]}
    t0 = time.monotonic()
    stack.restart_broker()
    _until("GET %s 200 after the broker restarted" % PROBE,
           lambda: _get(stack, token, timeout=3).status == 200, 15 * harness.SLOWDOWN, step=0.2)
    dt = time.monotonic() - t0
    assert dt < 10 * harness.SLOWDOWN, "requests succeed again only %.1f s after the broker restart" % dt
    for n, before in pids.items():
        now = [p.pid for p in stack.procs[n] if p.alive()]
        assert now == before, "pm-%s were restarted or died: %r -> %r" % (n, before, now)
    _until("tenants workers back in /metrics", lambda: _workers(stack, "tenants") == 2, 10)


# ---------------------------------------------------------------- dead worker
def test_killed_worker_fast_503_then_recovers(stack):
    token = stack.admin_token
    # Retire the second worker gracefully, so that one is left.
    while len(stack.procs["tenants"]) > 1:
        stack.kill("tenants", sig=signal.SIGTERM, index=len(stack.procs["tenants"]) - 1)
    _until("/metrics shows 1 tenants worker", lambda: _workers(stack, "tenants") == 1, 15, step=0.2)
    assert _get(stack, token).status == 200

    stop = threading.Event()
    flow = []

    def flowing():
        while not stop.is_set():
            try:
                flow.append(_get(stack, token, timeout=8).status)
            except OSError as e:
                flow.append(repr(e))

    t = threading.Thread(target=flowing)
    t.start()
    try:
        _until("requests flowing", lambda: len(flow) >= 5, 10, step=0.05)
        stack.kill("tenants", sig=signal.SIGKILL)
        t0 = time.monotonic()
        r = _get(stack, token, timeout=10)
        dt = time.monotonic() - t0
    finally:
        stop.set()
        t.join(15)
    assert r.status == 503, "first request after kill -9 of the only worker: %r (%.2f s)" % (r, dt)
    assert dt < 1.5 * harness.SLOWDOWN, "503 took %.2f s (must be under 1.5 s x PM_TEST_SLOWDOWN)" % dt
    body = r.json()
    assert body.get("error", {}).get("code") == "service_unavailable", "503 body: %r" % body

    stack.start("tenants")
    _until("200 again after a new worker started",
           lambda: _get(stack, token, timeout=3).status == 200, 15, step=0.2)


# ---------------------------------------------------------------- scripts/run.sh
def _pm(data_dir, name):
    return sorted(pid for pid, exe in harness.procs_of(data_dir).items() if exe == "pm-" + name)


class _RunSh:
    """scripts/run.sh in the background, its output collected line by line."""

    def __init__(self, stack, data_dir, port):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PM_")}
        env.update(PM_DATA_DIR=data_dir, PM_HTTP_PORT=str(port), PM_DEPS_SKIP="1",
                   BUILD=os.path.dirname(stack.bindir))
        self.lines = []
        self.p = subprocess.Popen(["bash", os.path.join(harness.ROOT, "scripts", "run.sh")],
                                  cwd=harness.ROOT, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.p.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def text(self):
        return "\n".join(self.lines[-40:])

    def wait_line(self, pattern, timeout):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = rx.search(line)
                if m:
                    return m
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("run.sh: no line matching %r within %.0f s (exit %s); output:\n%s"
                             % (pattern, timeout, self.p.poll(), self.text()))

    def terminate(self, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(5)
            raise AssertionError("run.sh still running %.0f s after SIGTERM; output:\n%s"
                                 % (timeout, self.text()))


def _run_sh_cleanup(data_dir):
    """Last resort after a failure: end what run.sh left behind, by pid, and its PostgreSQL."""
    for pid in harness.procs_of(data_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    subprocess.run(["bash", os.path.join(harness.ROOT, "scripts", "pg.sh"), "stop",
                    os.path.join(data_dir, "pg")], timeout=90,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_run_sh_supervises_and_stops_everything(stack):
    data_dir = os.path.join(stack.tmpdir, "runsh")
    os.makedirs(data_dir)
    port = harness.free_port()
    run = _RunSh(stack, data_dir, port)
    clean = False
    try:
        run.wait_line(r"^ready: http://127\.0\.0\.1:%d$" % port, 90)
        login = run.wait_line(r"^login: (\S+) / (\S+)", 5)
        user, password = login.group(1), login.group(2)
        pw_file = os.path.join(data_dir, "admin-password")
        assert os.path.exists(pw_file), "no %s" % pw_file
        assert os.stat(pw_file).st_mode & 0o777 == 0o600, "admin-password mode %o" % os.stat(pw_file).st_mode
        with open(pw_file) as f:
            assert f.read().strip() == password, "printed password differs from admin-password"

        # supervision: a killed service is started again within a few seconds
        before = _pm(data_dir, "tenants")
        assert len(before) == 1, "pm-tenants processes: %r" % before
        os.kill(before[0], signal.SIGKILL)
        t0 = time.monotonic()
        after = _until("a new pm-tenants", lambda: [p for p in _pm(data_dir, "tenants") if p != before[0]],
                       5 * harness.SLOWDOWN)
        dt = time.monotonic() - t0
        assert dt < 3 * harness.SLOWDOWN, "pm-tenants restarted only after %.1f s" % dt
        assert len(after) == 1, "pm-tenants processes after restart: %r" % after

        # SIGTERM ends everything it started, PostgreSQL included
        rc = run.terminate(30)
        left = harness.procs_of(data_dir)
        assert not left, "left running after run.sh exited (rc %s): %r" % (rc, left)
        pid_file = os.path.join(data_dir, "pg", "data", "postmaster.pid")
        assert not os.path.exists(pid_file), "PostgreSQL still running (%s exists)" % pid_file

        # a second run keeps the data and prints the same login
        run = _RunSh(stack, data_dir, port)
        run.wait_line(r"^ready: http://127\.0\.0\.1:%d$" % port, 90)
        again = run.wait_line(r"^login: (\S+) / (\S+)", 5)
        assert (again.group(1), again.group(2)) == (user, password), \
            "second run printed another login: %r" % (again.group(0),)
        rc = run.terminate(30)
        assert not harness.procs_of(data_dir), "left running after the second run: %r" % harness.procs_of(data_dir)
        clean = True
    finally:
        if not clean:  # do not hide the first failure behind a second one
            try:
                run.terminate(10)
            except AssertionError:
                pass
            _run_sh_cleanup(data_dir)
