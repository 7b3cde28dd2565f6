"""harness: a whole platform stack in a temp dir, for black-box tests.

    stack = Stack(scale={"tenants": 2}, env={"PM_REQUEST_TIMEOUT_MS": "1000"})
    try:
        r = stack.http("GET", "/v1/properties", token=stack.admin_token)
        assert r.status == 200, r
    finally:
        stack.stop()

A Stack starts PostgreSQL (scripts/pg.sh, unix socket in the temp dir, free port,
fsync off), runs scripts/pg.sh setup, then pm-broker, every service (times its
scale) and pm-gateway on a free HTTP port from $BUILD/bin (env BUILD, default
build), with PM_DATA_DIR = the temp dir so every ipc:// endpoint lives there,
and waits for GET /readyz 200. With PM_SPLIT_DB=1 (in the environment, or in
env=, or split_db=True) each database owner (gateway and every service) gets a
PostgreSQL cluster of its own, <tmp>/pg-<service> on a port of its own, holding
only its role and schema, as `PM_SPLIT_DB=1 make run` does; stack.psql routes
a statement to the cluster of the schema it names (Stack.psql), and
stack.pg_dir / stack.pg_port are then the tenants cluster's. Each process writes stderr to
<tmp>/logs/<name>-<n>.log (n counts starts of that name). Nothing restarts a
process that dies: tests kill and start processes themselves.

stop() always ends what was started (SIGTERM, then SIGKILL after 5 s, then
PostgreSQL with pg_ctl stop -m fast) and removes the temp dir, unless
PM_TEST_KEEP=1 and the stack was marked failed (stack.failed = True).
With PM_BROKERS=2 (env=, up to 4) the stack runs that many brokers, each on
its own ipc endpoints (<tmp>/broker-<slot>.ipc, events-in-<slot>.ipc,
events-out-<slot>.ipc), and every other daemon gets the lists
PM_BROKER_ENDPOINTS etc. (docs/DESIGN.md, "Two brokers"); stack.procs["broker"]
stays in slot order (proc.slot), so stack.kill("broker", 9, index=1) kills
broker-1 while both run, and stack.start("broker") starts the lowest slot
that has no live broker.
stack.unclean then lists the processes that did not exit with status 0 (or by
SIGTERM itself) within 5 s of SIGTERM: run.py counts that as a failure.
Python 3 standard library only.
"""

import ctypes
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = ["tenants", "tickets", "billing", "notifications"]
DB_OWNERS = ["gateway"] + SERVICES  # a schema each; under PM_SPLIT_DB=1 a cluster each
DEFAULT_CLUSTER = "tenants"  # split: where a statement naming no schema goes
ALL = ["broker"] + SERVICES + ["gateway"]
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
READY_TIMEOUT = float(os.environ.get("PM_TEST_READY_TIMEOUT", "30"))
# the one factor every timed assertion scales by (tests/run.sh: 3 on an ASan build)
SLOWDOWN = max(1.0, float(os.environ.get("PM_TEST_SLOWDOWN") or 1))
STOP_GRACE = 5.0

_live_stacks = []  # for the atexit / signal safety net


class StackError(Exception):
    """The stack could not start (or a helper failed); the message says why."""


_SQL_SKIP = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
_SQL_SCHEMA = re.compile(r"\b(%s)\s*\." % "|".join(DB_OWNERS))
_SQL_ROLE = re.compile(r"\bpm_(%s)\b" % "|".join(DB_OWNERS))


def route_sql(sql):
    """The owner (gateway or a service) whose cluster a statement goes to under
    PM_SPLIT_DB=1: the first schema it names outside string literals and comments
    (`tickets.tickets`), else the first role (`pm_billing`, anywhere), else the
    tenants cluster."""
    m = _SQL_SCHEMA.search(_SQL_SKIP.sub(" ", sql)) or _SQL_ROLE.search(sql)
    return m.group(1) if m else DEFAULT_CLUSTER


def free_port():
    """A TCP port that nothing listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=20):
    """The last lines of a file, as one string ('' when missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def procs_of(data_dir):
    """{pid: exe basename} of every process whose environment has PM_DATA_DIR=data_dir
    (what scripts/run.sh started there)."""
    want = ("PM_DATA_DIR=" + data_dir).encode()
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            out[int(d)] = os.path.basename(os.readlink("/proc/%s/exe" % d))
        except OSError:
            continue
    return out


def wait_for(what, cond, timeout=15.0, step=0.1):
    """Polls cond() until it returns something true and returns that; fails the test
    (AssertionError naming `what`) after timeout seconds, times SLOWDOWN. For a
    "nothing happened" check, wait first for proof that the service acted since (a
    row, a log line, a counter), never for a fixed time."""
    deadline = time.monotonic() + timeout * SLOWDOWN
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out after %.0f s waiting for %s" % (
            timeout * SLOWDOWN, what)
        time.sleep(step)


def log_count(procs, text):
    """How many times text occurs in the logs of procs (a list of Proc)."""
    return sum(p.log().count(text) for p in procs)


def cmocka_check(name, returncode, text, allowed_skips=()):
    """Fails the test unless a cmocka binary's run (its exit status and its output,
    CMOCKA_MESSAGE_OUTPUT=stdout) passed with no failed test and no skipped test
    outside allowed_skips (test names). tests/run.sh counts the same lines
    (`[  SKIPPED ] name`): a skip inside a binary that a black-box file runs would
    be visible nowhere else."""
    lines = text.splitlines()
    # the failing tests' names first: a long output's tail may not reach them
    bad = [ln for ln in lines if ln.startswith(("[  FAILED  ]", "[  ERROR   ]"))]
    assert returncode == 0, "%s exited %d (%s):\n%s" % (name, returncode, "; ".join(bad) or "no test failed",
                                                       text[-3000:])
    failed = [ln for ln in lines if ln.startswith("[  FAILED  ]")]
    assert not failed, "%s: %s\n%s" % (name, failed[0], text[-3000:])
    skipped = {ln.split()[3] for ln in lines
               if ln.startswith("[  SKIPPED ] ") and " test(s), listed below" not in ln}
    unexpected = sorted(skipped - set(allowed_skips))
    assert not unexpected, "%s skipped %s (the black-box run must run them):\n%s" % (
        name, ", ".join(unexpected), text[-3000:])
    assert any(ln.startswith("[  PASSED  ]") for ln in lines), \
        "%s printed no cmocka summary:\n%s" % (name, text[-3000:])


def cmocka_env(env):
    """env for a cmocka binary whose output cmocka_check reads."""
    return dict(env, CMOCKA_MESSAGE_OUTPUT="stdout")


def run_cmocka(path, env, timeout=300, allowed_skips=()):
    """Runs a cmocka binary (tests/unit) with env and checks it (cmocka_check);
    returns its output."""
    r = subprocess.run([path], env=cmocka_env(env), cwd=ROOT, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    text = r.stdout.decode("utf-8", "replace")
    cmocka_check(os.path.basename(path), r.returncode, text, allowed_skips)
    return text


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # dict, lower-case keys
        self.body = body  # bytes
        self.elapsed = elapsed  # seconds

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        body = self.text
        if len(body) > 500:
            body = body[:500] + "..."
        return "<Response %s %s>" % (self.status, body)


def _set_pdeathsig():
    # The child gets SIGTERM if the test runner dies without cleaning up.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Proc:
    """One started daemon: .name, .index, .pid, .log_path, .popen."""

    def __init__(self, name, index, popen, log_path):
        self.name = name
        self.index = index
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path
        self.slot = 0  # brokers: which of PM_BROKERS (its endpoints)

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=20):
        return tail(self.log_path, lines)

    def __repr__(self):
        state = "alive" if self.alive() else "exit %s" % self.popen.returncode
        return "<pm-%s #%d pid %d %s>" % (self.name, self.index, self.pid, state)


class Stack:
    def __init__(self, tmpdir=None, scale=None, env=None, build=None, services=None,
                 ready_timeout=READY_TIMEOUT, split_db=None):
        self.failed = False
        self.unclean = []  # after stop(): processes that did not exit cleanly on SIGTERM
        self.procs = {name: [] for name in ALL}
        self._starts = {name: 0 for name in ALL}
        self._lock = threading.Lock()
        self._pg_started = False
        self._stopped = False
        self._token = None
        self._own_tmp = tmpdir is None
        self.tmpdir = os.path.abspath(tmpdir or tempfile.mkdtemp(prefix="pm-test-"))
        os.makedirs(self.tmpdir, exist_ok=True)
        # PostgreSQL runs as user postgres when we are root: it must reach the dir.
        os.chmod(self.tmpdir, 0o755)
        self.logdir = os.path.join(self.tmpdir, "logs")
        os.makedirs(self.logdir, exist_ok=True)
        build = build or os.environ.get("BUILD", "build")
        self.bindir = os.path.join(ROOT, build, "bin")
        self.services = list(services or SERVICES)
        self.scale = {s: 1 for s in self.services}
        self.scale["gateway"] = 1
        self.scale.update(scale or {})
        if split_db is None:
            split_db = (env or {}).get("PM_SPLIT_DB", os.environ.get("PM_SPLIT_DB", "0")) == "1"
        self.split_db = bool(split_db)
        # owner -> (dir, port) of the cluster holding its schema: one for all, or one each
        if self.split_db:
            self.pg_clusters = {s: (os.path.join(self.tmpdir, "pg-" + s), free_port()) for s in DB_OWNERS}
            self.pg_dir, self.pg_port = self.pg_clusters[DEFAULT_CLUSTER]
        else:
            self.pg_dir = os.path.join(self.tmpdir, "pg")
            self.pg_port = free_port()
            self.pg_clusters = {s: (self.pg_dir, self.pg_port) for s in DB_OWNERS}
        self.http_port = free_port()
        self.admin_user = "admin"
        self.admin_password = "test-" + secrets.token_urlsafe(12)

        e = dict(os.environ)
        for k in list(e):  # a developer's shell must not leak settings into the stack
            if k.startswith("PM_") and not k.startswith("PM_TEST_"):
                del e[k]
        e.update({
            "PM_DATA_DIR": self.tmpdir,
            "PM_HTTP_PORT": str(self.http_port),
            "PM_ADMIN_USER": self.admin_user,
            "PM_ADMIN_PASSWORD": self.admin_password,
            "PM_WEB_DIR": os.path.join(ROOT, "services", "gateway", "web"),
            "PM_LOG_LEVEL": "info",
            # the tests' webhook receivers listen on loopback
            "PM_WEBHOOK_ALLOW_PRIVATE": "1",
            "PM_WEBHOOK_ALLOW_HTTP": "1",  # ... over plain http
            # SMS without a provider go to this file, one JSON line each (issue K:
            # the residents' sign-in codes are read there); "" turns it off
            "PM_SMS_FILE": os.path.join(self.tmpdir, "sms.jsonl"),
        })
        for s in DB_OWNERS:
            e["PM_DB_DSN_" + s.upper()] = "host=%s port=%d dbname=pm user=pm_%s" % (
                self.pg_clusters[s][0], self.pg_clusters[s][1], s)
        if self.split_db:
            e["PM_SPLIT_DB"] = "1"  # (read by no daemon: for the tests' information)
        self.brokers = int((env or {}).get("PM_BROKERS", "1"))
        if not 1 <= self.brokers <= 4:
            raise StackError("PM_BROKERS must be 1-4")
        if self.brokers > 1:
            for var, stem in (("PM_BROKER_ENDPOINTS", "broker"), ("PM_EVENTS_IN_ENDPOINTS", "events-in"),
                              ("PM_EVENTS_OUT_ENDPOINTS", "events-out")):
                e[var] = ",".join("ipc://%s/%s-%d.ipc" % (self.tmpdir, stem, i) for i in range(self.brokers))
        e.update(env or {})
        self._port_given = "PM_HTTP_PORT" in (env or {})
        if self._port_given:
            self.http_port = int(e["PM_HTTP_PORT"])
        if "PM_ADMIN_PASSWORD" in (env or {}):
            self.admin_password = e["PM_ADMIN_PASSWORD"]
        if "PM_ADMIN_USER" in (env or {}):
            self.admin_user = e["PM_ADMIN_USER"]
        self.env = e

        _live_stacks.append(self)
        try:
            self._start_all(ready_timeout)
        except BaseException:
            self.failed = True
            self.stop()
            raise

    # ------------------------------------------------------------ start-up
    def _start_all(self, ready_timeout):
        missing = [n for n in ["broker"] + self.services + ["gateway"]
                   if not os.access(self._bin(n), os.X_OK)]
        if missing:
            raise StackError("missing binaries in %s: %s (build with make)" % (
                self.bindir, ", ".join("pm-" + n for n in missing)))
        self._pg_started = True  # (before: a split start that fails half-way is still stopped)
        self._pg("start", str(self.pg_port))
        self._pg("setup", str(self.pg_port))
        self.keygen()
        self.keygen("test")  # the tests' own bus clients (test_outbox's consumer) are "test"
        for _ in range(self.brokers):
            self.start("broker")
        for s in self.services:
            for _ in range(self.scale.get(s, 1)):
                self.start(s)
        for _ in range(self.scale.get("gateway", 1)):
            self.start("gateway")
        self.wait_ready(ready_timeout)

    def keygen(self, *identities):
        """Makes the bus's CURVE keys (pm-broker keygen) in PM_KEYS_DIR, $PM_DATA_DIR/keys
        by default; with identities, only those (and adds them to the allow-list)."""
        r = subprocess.run([self._bin("broker"), "keygen"] + list(identities), env=self.env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise StackError("pm-broker keygen failed: %s" % r.stdout.decode("utf-8", "replace"))

    def keys_dir(self):
        return self.env.get("PM_KEYS_DIR") or os.path.join(self.tmpdir, "keys")

    def _pg(self, *args, service=None):
        """scripts/pg.sh ARGS[0] on the stack's cluster. Split: on the cluster of `service`,
        or on every cluster at once (start and setup then take each one's own port, whatever
        ARGS say: a test's `_pg("stop")` ... `_pg("start", str(stack.pg_port))` takes the
        whole database side away and back, as with one cluster)."""
        if not self.split_db:
            return self._pg_one(self.pg_dir, *args)
        owners = [service] if service else DB_OWNERS
        out, errors = {}, []

        def one(s):
            d, port = self.pg_clusters[s]
            rest = list(args[1:])
            if args[0] in ("start", "setup"):
                rest = [str(port)] + ([s] if args[0] == "setup" else [])
            try:
                out[s] = self._pg_one(d, args[0], *rest)
            except Exception as e:  # noqa: BLE001  (reported below, for every cluster)
                errors.append("%s: %s" % (s, e))

        if args[0] == "stop" and len(owners) > 1:
            # the gateway's first: as with one cluster, a service's 503 for the database's
            # loss never reaches a gateway that could still write (test_idempotency)
            one(owners[0])
            owners_left = owners[1:]
        else:
            owners_left = owners
        threads = [threading.Thread(target=one, args=(s,)) for s in owners_left]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise StackError("\n".join(errors))
        return "".join(out[s] for s in owners)

    def _pg_one(self, pg_dir, *args):
        env = dict(os.environ, PM_PG_FSYNC="off")
        cmd = ["bash", os.path.join(ROOT, "scripts", "pg.sh"), args[0], pg_dir] + list(args[1:])
        r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise StackError("pg.sh %s failed (exit %d):\n%s" % (
                args[0], r.returncode, r.stdout.decode("utf-8", "replace")[-3000:]))
        return r.stdout.decode()

    def _bin(self, name):
        return os.path.join(self.bindir, "pm-" + name)

    def start(self, name, env=None):
        """Starts one more process of `name` (broker, gateway or a service); returns its Proc."""
        if name not in self.procs:
            raise StackError("unknown process name %r (one of %s)" % (name, ", ".join(ALL)))
        with self._lock:
            n = self._starts[name]
            self._starts[name] += 1
        log_path = os.path.join(self.logdir, "%s-%d.log" % (name, n))
        penv = dict(self.env, **(env or {}))
        slot = 0
        if name == "broker" and self.brokers > 1:
            with self._lock:
                taken = {p.slot for p in self.procs["broker"] if p.alive()}
            slot = min(i for i in range(self.brokers) if i not in taken) if len(taken) < self.brokers else 0
            penv.update({
                "PM_BROKER_ENDPOINT": "ipc://%s/broker-%d.ipc" % (self.tmpdir, slot),
                "PM_EVENTS_IN_ENDPOINT": "ipc://%s/events-in-%d.ipc" % (self.tmpdir, slot),
                "PM_EVENTS_OUT_ENDPOINT": "ipc://%s/events-out-%d.ipc" % (self.tmpdir, slot),
            })
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                [self._bin(name)], env=penv, cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True,
                preexec_fn=_set_pdeathsig if threading.current_thread() is threading.main_thread() else None)
        p = Proc(name, n, popen, log_path)
        p.slot = slot
        with self._lock:
            self.procs[name].append(p)
            if name == "broker":
                self.procs[name].sort(key=lambda q: q.slot)
        return p

    def kill(self, name, sig=signal.SIGKILL, index=0, wait=True, timeout=10.0):
        """Sends sig to stack.procs[name][index]; with wait, reaps it (SIGKILL after timeout)
        and removes it from stack.procs[name]. Returns the Proc."""
        with self._lock:
            if index >= len(self.procs[name]):
                raise StackError("no pm-%s #%d: %d running" % (name, index, len(self.procs[name])))
            p = self.procs[name][index]
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        if wait:
            try:
                p.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(5)
            with self._lock:
                if p in self.procs[name]:
                    self.procs[name].remove(p)
        return p

    def restart_broker(self, sig=signal.SIGTERM):
        """Stops the broker (sig, then SIGKILL after 5 s) and starts a new one; workers stay.
        With PM_BROKERS > 1: every broker, and returns the first."""
        while self.procs["broker"]:
            self.kill("broker", sig=sig, index=0, timeout=STOP_GRACE)
        started = [self.start("broker") for _ in range(self.brokers)]
        return started[0]

    def dead(self):
        """Procs that have exited although nobody killed them through the harness."""
        with self._lock:
            return [p for ps in self.procs.values() for p in ps if not p.alive()]

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Polls GET /readyz until 200; raises StackError naming a dead process, or on timeout."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        port_retries = 3
        while True:
            dead = self.dead()
            if dead and port_retries and self._port_was_taken(dead[0]):
                # free_port() cannot hold the port it found: another stack on this
                # machine may bind it first. Our own choice: take another.
                port_retries -= 1
                self.procs["gateway"].remove(dead[0])
                self.http_port = free_port()
                self.env["PM_HTTP_PORT"] = str(self.http_port)
                self.start("gateway")
                continue
            if dead:
                p = dead[0]
                raise StackError("pm-%s (pid %d) exited with status %s before the stack was ready; "
                                 "last lines of %s:\n%s" % (p.name, p.pid, p.popen.returncode,
                                                            p.log_path, p.tail(30)))
            try:
                r = self.http("GET", "/readyz", timeout=2)
                if r.status == 200:
                    return
                last = "%d %s" % (r.status, r.text[:300])
            except OSError as e:
                last = str(e)
            if time.monotonic() > deadline:
                logs = "\n".join("--- %s\n%s" % (p.log_path, p.tail(8))
                                 for ps in self.procs.values() for p in ps)
                raise StackError("GET /readyz not 200 after %.0f s (last: %s)\n%s" % (timeout, last, logs))
            time.sleep(0.1)

    def _port_was_taken(self, proc):
        return (proc.name == "gateway" and not self._port_given
                and "address already in use" in proc.tail(5))

    # ------------------------------------------------------------ clients
    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def http(self, method, path, body=None, token=None, headers=None, raw=None, timeout=15):
        """One HTTP request on a new connection. body: JSON-encoded; raw: bytes or str sent as is.
        token: sent as 'Authorization: Bearer <token>'. Returns a Response (never raises on status)."""
        h = {}
        data = None
        if raw is not None:
            data = raw.encode("utf-8") if isinstance(raw, str) else raw
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Response(r.status, hdrs, payload, time.monotonic() - t0)
        finally:
            conn.close()

    def login(self, user, password):
        """POST /v1/auth/login; returns the token, raises AssertionError otherwise."""
        r = self.http("POST", "/v1/auth/login", body={"username": user, "password": password})
        assert r.status == 200, "login as %s: %r" % (user, r)
        return r.json()["token"]

    @property
    def admin_token(self):
        if self._token is None:
            self._token = self.login(self.admin_user, self.admin_password)
        return self._token

    def pg_cluster(self, sql=None, service=None):
        """(dir, port) of the cluster a statement goes to: `service`'s if given; with one
        cluster, that one; split, the cluster of the first schema the statement names
        (`tickets.x`: string literals and comments are not read), else of the first
        service role it names (`pm_tickets`, literals included: pg_stat_activity, ALTER
        ROLE), else the tenants cluster (stack.pg_dir / stack.pg_port)."""
        if service is not None:
            if service not in self.pg_clusters:
                raise StackError("psql: unknown service %r (one of %s)" % (service, ", ".join(DB_OWNERS)))
            return self.pg_clusters[service]
        if not self.split_db or sql is None:
            return self.pg_dir, self.pg_port
        return self.pg_clusters[route_sql(sql)]

    def pg_dsn(self, service=None, sql=None):
        """A superuser's libpq DSN of database pm on the cluster pg_cluster() names."""
        d, port = self.pg_cluster(sql, service)
        return "host=%s port=%d dbname=pm user=postgres" % (d, port)

    def superuser_dsn(self):
        """libpq DSN of the superuser on database pm (the unit binaries' PM_TEST_DSN)."""
        return "host=%s port=%d dbname=pm user=postgres" % (self.pg_dir, self.pg_port)

    def unit_binary(self, name):
        """Path of a tests/unit binary built beside this stack's daemons."""
        path = os.path.join(os.path.dirname(self.bindir), "tests", name)
        assert os.access(path, os.X_OK), "%s is missing: build with make" % path
        return path

    def psql(self, sql, service=None):
        """Runs sql as superuser on database pm; returns the rows of the last statement as
        tuples of strings (NULL as None). Split (PM_SPLIT_DB=1): on the cluster of
        `service`, or of the schema the statement names (pg_cluster); a statement that
        joins two services' schemas fails there, as it should: no service may do it."""
        pg_dir, pg_port = self.pg_cluster(sql, service)
        null = "\x01NULL\x01"
        cmd = [os.path.join(PGBIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-P", "null=" + null, "-F", "\x1f", "-R", "\x1e",
               "-h", pg_dir, "-p", str(pg_port), "-U", "postgres", "-d", "pm", "-c", sql]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise StackError("psql failed: %s\n%s" % (sql[:200], r.stderr.decode("utf-8", "replace")))
        out = r.stdout.decode("utf-8")
        if out.endswith("\n"):
            out = out[:-1]
        if not out:
            return []
        return [tuple(None if c == null else c for c in rec.split("\x1f"))
                for rec in out.split("\x1e")]

    def metrics(self):
        """GET /metrics as {'name{labels}': float}."""
        r = self.http("GET", "/metrics")
        assert r.status == 200, "GET /metrics: %r" % r
        out = {}
        for line in r.text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, val = line.rpartition(" ")
            try:
                out[key.strip()] = float(val)
            except ValueError:
                pass
        return out

    def logs(self, name=None):
        """Paths of every process log file (of one process name, if given), sorted."""
        files = sorted(os.listdir(self.logdir))
        if name:
            files = [f for f in files if f.startswith(name + "-")]
        return [os.path.join(self.logdir, f) for f in files]

    # ------------------------------------------------------------ shutdown
    def stop(self):
        """Stops everything this stack started; idempotent; never raises."""
        if self._stopped:
            return
        self._stopped = True
        with self._lock:
            order = [p for n in ["gateway"] + SERVICES + ["broker"] for p in self.procs.get(n, [])]
        for p in order:
            if p.alive():
                try:
                    p.popen.send_signal(signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + STOP_GRACE
        for p in order:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.unclean.append("pm-%s pid %d ignored SIGTERM for %.0f s (SIGKILL)"
                                    % (p.name, p.pid, STOP_GRACE))
                p.popen.kill()
                try:
                    p.popen.wait(5)
                except subprocess.TimeoutExpired:
                    pass
                continue
            rc = p.popen.returncode
            if rc not in (0, -signal.SIGTERM):
                self.unclean.append("pm-%s pid %d exited with status %s on SIGTERM; last lines of %s:\n%s"
                                    % (p.name, p.pid, rc, p.log_path, p.tail(10)))
        if self._pg_started:
            try:
                self._pg("stop")
            except Exception as e:  # keep going: the temp dir must still go
                sys.stderr.write("harness: %s\n" % e)
        if self in _live_stacks:
            _live_stacks.remove(self)
        if self.unclean:
            self.failed = True
        keep = self.failed and os.environ.get("PM_TEST_KEEP") == "1"
        if keep:
            sys.stderr.write("harness: kept %s (PM_TEST_KEEP=1)\n" % self.tmpdir)
        elif self._own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False


def stop_all():
    """Stops every Stack still running (for signal handlers and atexit)."""
    for s in list(_live_stacks):
        s.stop()


import atexit  # noqa: E402  (kept next to its only use)

atexit.register(stop_all)
