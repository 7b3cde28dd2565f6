"""test_events: the tenants outbox, its reader and a consumer, against the real
cluster of a Stack.

- unit.created / unit.updated are written with the change, in (xid, seq) order,
  with the full unit as data;
- tests/unit/test_outbox (the real outbox_read, db and consumer code) runs
  against this Stack's PostgreSQL with many concurrent writers holding
  transactions open at random, and must see every committed event exactly
  once, in order, and nothing rolled back; its consumer test fetches
  tenants.events.read through the broker from the live pm-tenants;
- pm-tenants survives its database connections being killed, and a restart
  does not apply its migrations twice;
- tests/unit/test_tenants_handlers runs on this cluster too;
- the outbox is pruned once every registered consumer (billing and
  notifications, registered by their reads) has read a row and it is older
  than PM_OUTBOX_RETENTION_DAYS; a consumer registered but silent holds rows
  until it is removed (issue G, data minimisation).
"""

import json
import os
import re
import secrets
import subprocess
import tempfile
import time

import harness

from api import ok as _ok

# the prune runs at most once a second here (600 s by default), inside consumers' reads
STACK = dict(env={"PM_OUTBOX_PRUNE_INTERVAL_S": "1"})

STATE = {}


def test_unit_events_in_order(stack):
    token = stack.admin_token
    p = _ok(stack.http("POST", "/v1/properties", token=token,
                       body={"code": "EV-" + secrets.token_hex(3), "name": "事件测试"}), 201, "property")
    pid = p["id"]
    units = []
    for code in ("E-1", "E-2", "E-3"):
        units.append(_ok(stack.http("POST", "/v1/properties/%s/units" % pid, token=token,
                                    body={"code": code, "area_m2": 50.5, "use": "office"}), 201, code))
    patched = _ok(stack.http("PATCH", "/v1/properties/%s/units/%s" % (pid, units[0]["id"]), token=token,
                             body={"area_m2": 60.75, "floor": "3"}), 200, "patch")
    # a PATCH that changes nothing writes no event
    _ok(stack.http("PATCH", "/v1/properties/%s/units/%s" % (pid, units[0]["id"]), token=token,
                   body={"area_m2": 60.75}), 200, "empty patch")
    # a rejected one neither
    r = stack.http("POST", "/v1/properties/%s/units" % pid, token=token,
                   body={"code": "E-1", "area_m2": 1, "use": "office"})
    assert r.status == 409, r

    rows = stack.psql("SELECT type, data::text, xid::text, seq::text FROM tenants.outbox "
                      "WHERE property_id = '%s' ORDER BY xid, seq" % pid)
    types = [r[0] for r in rows]
    assert types == ["property.created", "unit.created", "unit.created", "unit.created", "unit.updated"], types
    datas = [json.loads(r[1]) for r in rows[1:]]
    assert [d["code"] for d in datas] == ["E-1", "E-2", "E-3", "E-1"], datas
    for d, u in zip(datas[:3], units):
        assert d == u, "event data is not the unit as created: %r vs %r" % (d, u)
    assert datas[3] == patched, "unit.updated data is not the unit after the change: %r" % datas[3]
    assert datas[3]["area_m2"] == 60.75 and datas[3]["floor"] == "3", datas[3]
    STATE["pid"] = pid
    STATE["units"] = [u["id"] for u in units]


def test_concurrent_writers_and_consumer(stack):
    """Runs the C reader against this cluster: see tests/unit/test_outbox.c."""
    binary = stack.unit_binary("test_outbox")
    out = tempfile.NamedTemporaryFile(prefix="events-", suffix=".jsonl", dir=stack.tmpdir, delete=False)
    out.close()
    env = dict(stack.env, PM_TEST_DSN=stack.superuser_dsn(), PM_TEST_WRITERS="12", PM_TEST_TXNS="50",
               PM_TEST_CONSUME_FROM="tenants", PM_TEST_EVENTS_OUT=out.name, PM_TEST_PROPERTY=STATE["pid"], PM_LOG_LEVEL="warn")
    # the wake-up test asks for a unit ("# wake-up: make unit <code> in <pid>"): made here through
    # the gateway, since on the CURVE bus a user's request comes from the gateway only
    proc = subprocess.Popen([binary], env=harness.cmocka_env(env), cwd=harness.ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            m = re.match(r"# wake-up: make unit (\S+) in (\S+)", line)
            if m:
                _ok(stack.http("POST", "/v1/properties/%s/units" % m.group(2), token=stack.admin_token,
                               body={"code": m.group(1), "area_m2": 1, "use": "other"}), 201, "the wake-up's unit")
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines)
    summary = [line for line in text.splitlines() if line.startswith("# ")]
    harness.cmocka_check("test_outbox", proc.returncode, text)   # every test ran: none skipped
    assert any("missing 0, duplicated 0" in s for s in summary), "no concurrency summary:\n" + text[-2000:]

    # what the consumer applied through tenants.events.read: our property's events, in order, once
    with open(out.name, encoding="utf-8") as f:
        events = [json.loads(line) for line in f if line.strip()]
    assert events, "the consumer applied nothing"
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event applied twice"
    mine = [e for e in events if e.get("property_id") == STATE["pid"]]
    assert [e["type"] for e in mine] == ["property.created", "unit.created", "unit.created",
                                         "unit.created", "unit.updated"], mine
    for e in mine:
        assert e["v"] == 1 and e["producer"] == "tenants", e
        assert set(e) >= {"id", "type", "occurred_at", "property_id", "producer", "seq", "data"}, e
        assert e["occurred_at"].endswith("Z"), e
    assert mine[-1]["data"]["id"] == STATE["units"][0] and mine[-1]["data"]["area_m2"] == 60.75, mine[-1]


def test_handlers_against_this_cluster(stack):
    """tests/unit/test_tenants_handlers (the handlers without broker or gateway,
    on the real migrations, in a scratch schema) needs a database: run it here."""
    binary = stack.unit_binary("test_tenants_handlers")
    env = dict(stack.env, PM_TEST_DSN=stack.superuser_dsn(), PM_LOG_LEVEL="warn")
    harness.run_cmocka(binary, env)


def test_survives_lost_connections(stack):
    token = stack.admin_token
    pid = STATE["pid"]
    path = "/v1/properties/%s/units" % pid
    for round_ in range(3):
        killed = stack.psql("SELECT count(pg_terminate_backend (pid)) FROM pg_stat_activity "
                            "WHERE usename = 'pm_tenants'")
        assert int(killed[0][0]) >= 1, "no pm_tenants connection to kill: %r" % killed
        # a read is retried on a new connection at once
        r = stack.http("GET", path, token=token)
        assert r.status == 200, "list after killing the connection (round %d): %r" % (round_, r)
    stack.psql("SELECT pg_terminate_backend (pid) FROM pg_stat_activity WHERE usename = 'pm_tenants'")
    # a write starts with BEGIN, which is safe to repeat on a new connection
    r = stack.http("POST", path, token=token, body={"code": "AFTER-KILL", "area_m2": 1, "use": "office"})
    assert r.status == 201, "create after killing the connection: %r" % r
    assert stack.psql("SELECT count(*) FROM tenants.outbox WHERE data->>'code' = 'AFTER-KILL'") == [("1",)]


def test_tenants_database_refused(stack):
    """Only pm-tenants loses its database (its role may not log in): it answers 503
    at once, its ping fails readiness, and it comes back on its own."""
    token = stack.admin_token
    path = "/v1/properties/%s/units" % STATE["pid"]
    stack.psql("ALTER ROLE pm_tenants NOLOGIN")
    try:
        stack.psql("SELECT pg_terminate_backend (pid) FROM pg_stat_activity WHERE usename = 'pm_tenants'")
        t0 = time.monotonic()
        r = stack.http("GET", path, token=token)
        assert r.status == 503 and r.json()["error"]["code"] == "service_unavailable", r
        assert time.monotonic() - t0 < 3, "503 took too long"
        r = stack.http("GET", "/readyz")
        assert r.status == 503 and "tenants" in r.text, "readyz with tenants' database gone: %r" % r
        logs = "".join(p.log() for p in stack.procs["tenants"])
        assert "database unavailable" in logs, "pm-tenants did not log its database trouble"
    finally:
        stack.psql("ALTER ROLE pm_tenants LOGIN")
    deadline = time.monotonic() + 10
    while True:
        r = stack.http("GET", path, token=token)
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status == 200, "pm-tenants did not reconnect: %r" % r
    stack.wait_ready(10)


def test_database_restart(stack):
    """PostgreSQL goes away: 503 at once (not a hang); back: served again without a restart."""
    token = stack.admin_token
    path = "/v1/properties/%s/units" % STATE["pid"]
    stack._pg("stop")
    try:
        t0 = time.monotonic()
        r = stack.http("GET", path, token=token)
        took = time.monotonic() - t0
        assert r.status == 503, "with the database down: %r" % r
        assert r.json()["error"]["code"] == "service_unavailable", r
        assert took < 3, "503 took %.1f s" % took
        r = stack.http("POST", path, token=token, body={"code": "DOWN", "area_m2": 1, "use": "office"})
        assert r.status == 503, "a write with the database down: %r" % r
    finally:
        stack._pg("start", str(stack.pg_port))
    deadline = time.monotonic() + 15
    while True:
        r = stack.http("GET", path, token=token)
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200, "not served again after the database came back: %r" % r
    assert stack.psql("SELECT count(*) FROM tenants.units WHERE code = 'DOWN'") == [("0",)]


def test_restart_applies_migrations_once(stack):
    before = stack.psql("SELECT name, applied_at::text FROM tenants.schema_migrations ORDER BY name")
    assert before and before[0][0] == "001_init", before
    stack.kill("tenants", index=0)
    proc = stack.start("tenants")
    deadline = time.monotonic() + 30
    while "serving tenants" not in proc.log() and time.monotonic() < deadline:
        assert proc.alive(), "pm-tenants died on restart:\n" + proc.tail(20)
        time.sleep(0.1)
    assert "serving tenants" in proc.log(), "pm-tenants did not come back:\n" + proc.tail(20)
    assert "migration 001_init applied" not in proc.log(), proc.tail(20)
    stack.wait_ready(30)
    after = stack.psql("SELECT name, applied_at::text FROM tenants.schema_migrations ORDER BY name")
    assert after == before, "migrations changed on restart: %r -> %r" % (before, after)
    r = stack.http("GET", "/v1/properties/%s/units" % STATE["pid"], token=stack.admin_token)
    codes = sorted(u["code"] for u in r.json()["items"]) if r.status == 200 else r
    assert codes[:4] == ["AFTER-KILL", "E-1", "E-2", "E-3"] and len(codes) == 5 \
        and codes[4].startswith("WAKE-"), codes


def _passed_by_all(stack, pid):
    """True when every registered consumer of tenants has read past all of the property's events."""
    rows = stack.psql("SELECT count(*) FROM tenants.outbox o WHERE o.property_id = '%s' AND EXISTS ("
                      " SELECT 1 FROM tenants.outbox_consumers c WHERE (o.xid, o.seq) > (c.xid, c.seq))" % pid)
    return rows[0][0] == "0"


def _wait(what, cond, timeout=20.0):
    return harness.wait_for(what, cond, timeout)


def _events_of(stack, pid):
    return int(stack.psql("SELECT count(*) FROM tenants.outbox WHERE property_id = '%s'" % pid)[0][0])


def test_outbox_pruned_when_every_consumer_passed(stack):
    token = stack.admin_token
    # billing and notifications registered themselves by reading tenants' events; so did the
    # consumer of test_outbox (test_concurrent_writers_and_consumer), gone for good: unregistered
    # by hand, as README says, or it would hold every event after its position
    _wait("both consumers registered", lambda: {"billing", "notifications"} <= {r[0] for r in stack.psql(
        "SELECT consumer FROM tenants.outbox_consumers")})
    stack.psql("DELETE FROM tenants.outbox_consumers WHERE consumer NOT IN ('billing', 'notifications')")

    def prop(tag):
        pid = _ok(stack.http("POST", "/v1/properties", token=token,
                             body={"code": "PR%s-%s" % (tag, secrets.token_hex(3)), "name": "清理测试"}),
                  201, "property")["id"]
        _ok(stack.http("POST", "/v1/properties/%s/units" % pid, token=token,
                       body={"code": "P-1", "area_m2": 50, "use": "office"}), 201, "unit")
        return pid

    # made in this order so that the prune that takes `old` has read past `recent`: the same
    # statement deletes every row the consumers passed that is older than the retention
    recent, old = prop("A"), prop("B")
    _wait("both consumers past the events", lambda: _passed_by_all(stack, old) and _passed_by_all(stack, recent))
    assert _events_of(stack, old) == 2 and _events_of(stack, recent) == 2
    stack.psql("UPDATE tenants.outbox SET occurred_at = now() - interval '31 days' WHERE property_id = '%s'" % old)
    _wait("the old events pruned", lambda: _events_of(stack, old) == 0, timeout=15)
    assert _events_of(stack, recent) == 2, "events younger than the retention were pruned"
    assert "events every consumer has read" in "".join(p.log() for p in stack.procs["tenants"]), \
        "the prune was not logged"

    # a consumer registered but silent holds every event after its position: it has read
    # `passed` but not `held`; both are old, and the prune that takes `passed` keeps `held`
    passed = prop("C")
    _wait("both consumers past the events", lambda: _passed_by_all(stack, passed))
    stack.psql("INSERT INTO tenants.outbox_consumers (consumer, xid, seq) SELECT 'retired', xid, seq"
               " FROM tenants.outbox WHERE property_id = '%s' ORDER BY xid DESC, seq DESC LIMIT 1" % passed)
    held = prop("D")
    _wait("the live consumers past the events", lambda: stack.psql(
        "SELECT count(*) FROM tenants.outbox o WHERE o.property_id = '%s' AND EXISTS (SELECT 1 FROM"
        " tenants.outbox_consumers c WHERE c.consumer <> 'retired' AND (o.xid, o.seq) > (c.xid, c.seq))"
        % held)[0][0] == "0")
    stack.psql("UPDATE tenants.outbox SET occurred_at = now() - interval '31 days'"
               " WHERE property_id IN ('%s', '%s')" % (passed, held))
    _wait("a prune since: the events every consumer read", lambda: _events_of(stack, passed) == 0, timeout=15)
    assert _events_of(stack, held) == 2, "pruned past a registered consumer that did not read them"
    # unregistered by hand (README, "Events"): then they go
    stack.psql("DELETE FROM tenants.outbox_consumers WHERE consumer = 'retired'")
    _wait("the held events pruned", lambda: _events_of(stack, held) == 0, timeout=15)
    # the consumers go on as before: a new event still reaches billing
    pid = prop("E")
    _wait("billing's copy of the new unit", lambda: stack.psql(
        "SELECT count(*) FROM billing.units WHERE property_id = '%s'" % pid)[0][0] == "1")
