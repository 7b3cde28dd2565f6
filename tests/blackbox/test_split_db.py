"""A PostgreSQL cluster per service (issue M item 1): PM_SPLIT_DB=1 in the harness
and in scripts/run.sh (`PM_SPLIT_DB=1 make run`). Each cluster holds its owner's role
and schema only, each daemon's DSN points at its own, a write lands in its owner's
cluster and reaches the others only as events, and stack.psql routes a statement
to the cluster of the schema it names. tests/run.sh's section "split databases"
runs the files that cross services this way too."""

import os
import random
import re
import secrets
import signal
import socket
import subprocess
import threading

import harness
from harness import DB_OWNERS, StackError, route_sql

STACK = dict(split_db=True)
S = {}


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json()


def _dsn_parts(dsn):
    return dict(kv.split("=", 1) for kv in dsn.split())


def test_each_cluster_holds_its_owner_only(stack):
    assert stack.split_db, "STACK split_db=True did not split"
    places = {stack.pg_clusters[s] for s in DB_OWNERS}
    assert len(places) == len(DB_OWNERS), "clusters shared: %r" % stack.pg_clusters
    assert len({port for _, port in places}) == len(DB_OWNERS), "ports shared: %r" % stack.pg_clusters
    for s in DB_OWNERS:
        d, port = stack.pg_clusters[s]
        assert d == os.path.join(stack.tmpdir, "pg-" + s), d
        kv = _dsn_parts(stack.env["PM_DB_DSN_" + s.upper()])
        assert (kv["host"], int(kv["port"]), kv["user"]) == (d, port, "pm_" + s), (s, kv)
        schemas = stack.psql("SELECT nspname FROM pg_namespace WHERE nspname = ANY ('{%s}') ORDER BY 1"
                             % ",".join(DB_OWNERS), service=s)
        assert schemas == [(s,)], "%s's cluster holds schemas %r" % (s, schemas)
        roles = stack.psql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pm\\_%' ORDER BY 1", service=s)
        assert roles == [("pm_" + s,)], "%s's cluster has roles %r" % (s, roles)
        # the owner's migrations ran in its own cluster, nowhere else
        tables = stack.psql("SELECT count(*) FROM pg_tables WHERE schemaname = '%s'" % s, service=s)
        assert int(tables[0][0]) > 0, "no table of %s in its cluster" % s
    # the tenants cluster is the default one (stack.pg_dir / pg_port, statements naming none)
    assert (stack.pg_dir, stack.pg_port) == stack.pg_clusters["tenants"]


def test_each_service_connects_to_its_own_cluster(stack):
    """pg_stat_activity of each cluster: its owner's sessions, nobody else's."""
    for s in DB_OWNERS:
        users = harness.wait_for("%s's session in its cluster" % s, lambda: stack.psql(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE usename LIKE 'pm\\_%' ORDER BY 1",
            service=s))
        assert users == [("pm_" + s,)], "sessions in %s's cluster: %r" % (s, users)


def test_a_write_lands_in_its_owner_and_reaches_copies_by_events(stack):
    code = "SPL-" + secrets.token_hex(3)
    pid = _ok(stack.http("POST", "/v1/properties", token=stack.admin_token,
                         body={"code": code, "name": "分库测试"}), 201, "property")["id"]
    S["pid"] = pid
    # routed by the schema named: tenants' cluster
    assert stack.psql("SELECT code FROM tenants.properties WHERE id = '%s'" % pid) == [(code,)]
    # tickets' copy of it arrives by tenants' events, in tickets' own cluster
    harness.wait_for("tickets' copy of the property", lambda: stack.psql(
        "SELECT 1 FROM tickets.tenant_properties WHERE id = '%s'" % pid))
    # and tenants' table is nowhere else
    for s in DB_OWNERS:
        if s != "tenants":
            assert stack.psql("SELECT to_regclass('tenants.properties')", service=s) == [(None,)], s


def test_psql_routes_by_the_schema_named(stack):
    assert route_sql("SELECT * FROM billing.bills WHERE kind = 'tickets.x'") == "billing"
    assert route_sql("-- tickets.tickets\nSELECT 1 FROM notifications . deliveries") == "notifications"
    assert route_sql("/* gateway.users */ SELECT 1") == "tenants"
    assert route_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = 'pm_billing'") == "billing"
    assert route_sql("SELECT 1") == "tenants"
    # an explicit service wins over the statement
    n = stack.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'gateway'", service="gateway")
    assert n == [("1",)], n
    # a statement joining two services' schemas fails, as it must for any service
    try:
        stack.psql("SELECT count(*) FROM tenants.properties p JOIN tickets.tenant_properties t USING (id)")
    except StackError as e:
        assert "tickets.tenant_properties" in str(e) and "does not exist" in str(e), e
    else:
        raise AssertionError("a join of two clusters' schemas answered")
    try:
        stack.psql("SELECT 1", service="nobody")
    except StackError as e:
        assert "unknown service" in str(e), e
    else:
        raise AssertionError("psql(service='nobody') answered")


def test_every_cluster_goes_down_and_back(stack):
    """stack._pg("stop") / ("start", port): the whole database side, as with one cluster."""
    stack._pg("stop")
    try:
        for s in DB_OWNERS:
            d, _ = stack.pg_clusters[s]
            assert not os.path.exists(os.path.join(d, "data", "postmaster.pid")), "%s still up" % s
        r = stack.http("GET", "/v1/properties/%s" % S["pid"], token=stack.admin_token)
        assert r.status == 503, "with every cluster down: %r" % r
    finally:
        stack._pg("start", str(stack.pg_port))
    r = harness.wait_for("the property served again", lambda: (lambda r: r if r.status == 200 else None)(
        stack.http("GET", "/v1/properties/%s" % S["pid"], token=stack.admin_token)), 20)
    assert r.json()["id"] == S["pid"], r


# ---------------------------------------------------------------- PM_SPLIT_DB=1 make run

def _free_run(n):
    """A first port of n in a row that nothing listens on now (run.sh takes PM_PG_PORT..+n-1)."""
    for _ in range(200):
        base = random.randint(20000, 60000)
        try:
            for i in range(n):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as so:
                    so.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
    raise AssertionError("no %d free ports in a row" % n)


def _environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)


def test_run_sh_starts_a_cluster_per_service(stack):
    data_dir = os.path.join(stack.tmpdir, "rs")
    os.makedirs(data_dir)
    http_port = harness.free_port()
    pg_port = _free_run(len(DB_OWNERS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_")}
    env.update(PM_DATA_DIR=data_dir, PM_HTTP_PORT=str(http_port), PM_PG_PORT=str(pg_port),
               PM_SPLIT_DB="1", PM_DEPS_SKIP="1", PM_PG_FSYNC="off", BUILD=os.path.dirname(stack.bindir))
    lines = []
    p = subprocess.Popen(["bash", os.path.join(harness.ROOT, "scripts", "run.sh")], cwd=harness.ROOT,
                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    reader = threading.Thread(target=lambda: [lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                                              for raw in p.stdout], daemon=True)
    reader.start()
    clean = False
    try:
        harness.wait_for("run.sh ready (output: %s)" % lines[-10:], lambda: any(
            ln == "ready: http://127.0.0.1:%d" % http_port for ln in lines) or p.poll() is not None, 120)
        assert p.poll() is None, "run.sh exited %s:\n%s" % (p.returncode, "\n".join(lines[-30:]))
        for i, s in enumerate(DB_OWNERS):
            d = os.path.join(data_dir, "pg-" + s)
            assert os.path.exists(os.path.join(d, "data", "postmaster.pid")), "no cluster in %s" % d
            assert any(re.search(r"PostgreSQL ready for %s \(socket %s, port %d\)" % (s, re.escape(d), pg_port + i),
                                 ln) for ln in lines), "no ready line for %s:\n%s" % (s, "\n".join(lines))
        assert not os.path.exists(os.path.join(data_dir, "pg")), "the one cluster's dir was made too"
        procs = harness.procs_of(data_dir)
        for s in DB_OWNERS:
            pids = [pid for pid, exe in procs.items() if exe == "pm-" + s]
            assert pids, "no pm-%s running: %r" % (s, procs)
            kv = _dsn_parts(_environ(pids[0])["PM_DB_DSN_" + s.upper()])
            assert (kv["host"], kv["port"], kv["user"]) == (
                os.path.join(data_dir, "pg-" + s), str(pg_port + DB_OWNERS.index(s)), "pm_" + s), (s, kv)
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        left = harness.procs_of(data_dir)
        assert not left, "left running after run.sh exited: %r" % left
        for s in DB_OWNERS:
            pidf = os.path.join(data_dir, "pg-" + s, "data", "postmaster.pid")
            assert not os.path.exists(pidf), "%s's cluster still running" % s
        clean = True
    finally:
        if not clean:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
            for pid in harness.procs_of(data_dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            for s in DB_OWNERS:
                subprocess.run(["bash", os.path.join(harness.ROOT, "scripts", "pg.sh"), "stop",
                                os.path.join(data_dir, "pg-" + s)], timeout=90,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
