"""test_idempotency: Idempotency-Key when the first attempt is slow or fails (issue G,
item 8; API.md "Trust and limits").

- a retry while the first attempt is still in progress (its INSERT waits on a table
  lock): 409 idempotency_in_progress with Retry-After (not a bare "conflict"); once
  the first is answered, the retry gets its answer replayed, and the service ran once;
- a first attempt known to have failed (the service down: the broker's 503 "no live
  worker") frees its key at once: the retry runs, once;
- a first attempt whose outcome is unknown (its worker stopped, dropped by the broker
  while holding it, then resumed: it may still run) frees the gateway's key too; the
  service, which claims the key in the write's own transaction (common/idem.h),
  answers the retry with the first run's answer when it ran, and runs it once;
- a write whose answer the gateway lost (its record gone, as when the database or a
  broker dies between the service's commit and the answer's store) is not run again
  by a retry: the service answers it from its own record, the same body; the same key
  with another body is 409 idempotency_mismatch there too;
- a failed attempt whose claim could not be released because the gateway's database
  was down (PostgreSQL stopped) is released as soon as the database is back, not
  left "in progress" for the takeover delay.

PM_REQUEST_TIMEOUT_MS is 4000 here, so the takeover delay (a claim a gateway left
behind when it died) is 14 s.
"""

import os
import secrets
import signal
import threading
import time

import harness

STACK = dict(env={"PM_REQUEST_TIMEOUT_MS": "4000"})
TAKEOVER_S = 4 + 10


def _create(stack, key, code, timeout=15):
    return stack.http("POST", "/v1/properties", token=stack.admin_token, timeout=timeout,
                      body={"code": code, "name": "幂等 " + code}, headers={"Idempotency-Key": key})


def _count(stack, code):
    return int(stack.psql("SELECT count(*) FROM tenants.properties WHERE code = '%s'" % code)[0][0])


def _code(prefix):
    return "%s-%s" % (prefix, secrets.token_hex(4).upper())


def _wait_status(stack, key, code, want, seconds=20):
    """Retries the request until it is answered `want`; the answers on the way."""
    seen = []
    deadline = time.monotonic() + seconds
    while True:
        r = _create(stack, key, code)
        seen.append(r.status)
        if r.status == want or time.monotonic() > deadline:
            return r, seen
        time.sleep(0.3)


def _stopped(stack, name):
    """SIGSTOP the first process of name; a function that resumes it."""
    pid = stack.procs[name][0].pid
    os.kill(pid, signal.SIGSTOP)
    return lambda: os.kill(pid, signal.SIGCONT)


def _lock_properties(stack, seconds):
    """Holds an exclusive lock on tenants.properties for `seconds` (in a thread), so
    that a POST /v1/properties waits in its INSERT; returns the thread."""
    def hold():
        try:
            stack.psql("BEGIN; LOCK TABLE tenants.properties IN ACCESS EXCLUSIVE MODE; "
                       "SELECT pg_sleep(%s); COMMIT;" % seconds)
        except harness.StackError:
            pass                         # ended by a database stop: that is the test's doing
    t = threading.Thread(target=hold)
    t.start()
    deadline = time.monotonic() + 5
    while not stack.psql("SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                         "WHERE c.relname = 'properties' AND l.mode = 'AccessExclusiveLock' AND l.granted"):
        assert time.monotonic() < deadline, "the lock was not taken"
        time.sleep(0.05)
    return t


def _wait_blocked(stack):
    """Waits until pm-tenants waits on the lock _lock_properties holds: the request got
    past the gateway's claim and reached the service's INSERT."""
    harness.wait_for("pm-tenants waiting on the lock", lambda: stack.psql(
        "SELECT 1 FROM pg_stat_activity WHERE usename = 'pm_tenants' AND wait_event_type = 'Lock'"), timeout=5)


def test_retry_in_progress_409_with_retry_after(stack):
    key, code = "k-" + secrets.token_hex(8), _code("PROG")
    lock = _lock_properties(stack, 1.5)
    first = {}
    t = threading.Thread(target=lambda: first.update(r=_create(stack, key, code)))
    t.start()
    _wait_blocked(stack)                 # the first attempt holds the claim, waiting on the lock
    r = _create(stack, key, code)
    assert r.status == 409, "a retry during the first attempt: %r" % r
    assert r.json()["error"]["code"] == "idempotency_in_progress", r
    ra = r.headers.get("retry-after", "")
    assert ra.isdigit() and 1 <= int(ra) <= 60, "Retry-After %r" % ra
    t.join(15)
    lock.join(15)
    assert first["r"].status == 201, "the first attempt: %r" % first["r"]
    again = _create(stack, key, code)
    assert again.status == 201 and again.body == first["r"].body, again
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    assert _count(stack, code) == 1, "the service ran %d times" % _count(stack, code)


def test_service_down_frees_the_key(stack):
    key, code = "k-" + secrets.token_hex(8), _code("DOWN")
    stack.kill("tenants")
    try:
        r = _create(stack, key, code)
        assert r.status == 503, "tenants down: %r" % r
        assert r.json()["error"]["code"] == "service_unavailable", r
    finally:
        stack.start("tenants")
    r, seen = _wait_status(stack, key, code, 201)
    assert r.status == 201, "retry once the service is back: %r (on the way: %s)" % (r, seen)
    assert 409 not in seen, "the key stayed claimed after a 503: %s" % seen
    assert _count(stack, code) == 1


def test_unknown_outcome_retry_gets_the_first_answer(stack):
    """The worker holding the first attempt stops: the broker drops it and answers 503
    ("worker lost"), but the worker, resumed, may still run it. The gateway frees the
    key; the retry reaches the service, which either runs it (the first never did) or
    answers with the first run's answer: one property, and no 409 in progress."""
    key, code = "k-" + secrets.token_hex(8), _code("LOST")
    resume = _stopped(stack, "tenants")
    first = {}
    try:
        t = threading.Thread(target=lambda: first.update(r=_create(stack, key, code)))
        t.start()
        t.join(15)
    finally:
        resume()
    assert first["r"].status in (503, 504), "the first attempt, its worker stopped: %r" % first["r"]
    r, seen = _wait_status(stack, key, code, 201)
    assert r.status == 201, "the retry: %r (on the way: %s)" % (r, seen)
    assert 409 not in seen, "the key stayed claimed after an unknown outcome: %s" % seen
    assert _count(stack, code) == 1, "%d properties" % _count(stack, code)
    pid = stack.psql("SELECT id FROM tenants.properties WHERE code = '%s'" % code)[0][0]
    assert r.json()["id"] == pid, r
    stack.wait_ready(15)


def test_once_against_this_cluster(stack):
    """tests/unit/test_idem (a request's own transaction: savepoints, rollback, the
    steps after commit; idem_serve: once per key, 4xx kept, 5xx not, two workers at
    once run it once) needs a database: run it here."""
    env = dict(stack.env, PM_TEST_DSN=stack.superuser_dsn(), PM_LOG_LEVEL="warn")
    harness.run_cmocka(stack.unit_binary("test_idem"), env)


def _ticket(stack, pid, key, title):
    return stack.http("POST", "/v1/properties/%s/tickets" % pid, token=stack.admin_token,
                      body={"type": "repair", "title": title}, headers={"Idempotency-Key": key})


def _tickets(stack, title):
    return int(stack.psql("SELECT count(*) FROM tickets.tickets WHERE title = '%s'" % title)[0][0])


def test_service_answers_a_write_whose_answer_was_lost(stack):
    """The gateway's record of a key goes (as when the gateway's claim was released
    after a 503 whose write had committed): the retry reaches tickets again, which
    finds the key in its own table and answers with the first answer, not a second
    ticket; its event was published once."""
    r = _create(stack, "k-" + secrets.token_hex(8), _code("LOSTANS"))
    assert r.status == 201, r
    pid = r.json()["id"]
    key, title = "k-" + secrets.token_hex(8), "丢失应答 " + secrets.token_hex(4)
    first = _ticket(stack, pid, key, title)
    assert first.status == 201, first
    gone = stack.psql("DELETE FROM gateway.idempotency WHERE key = '%s' RETURNING 1" % key)
    assert gone, "the gateway kept no record of the key"
    again = _ticket(stack, pid, key, title)
    assert again.status == 201, again
    assert again.json()["id"] == first.json()["id"] and again.body == first.body, (first.body, again.body)
    assert again.headers.get("idempotent-replayed") is None, "the gateway had no record to replay"
    assert _tickets(stack, title) == 1, "the service ran the write %d times" % _tickets(stack, title)
    events = stack.psql("SELECT count(*) FROM tickets.outbox WHERE type = 'ticket.created' "
                        "AND data->>'id' = '%s'" % first.json()["id"])
    assert events[0][0] == "1", events
    # the gateway stored the service's answer again: a third try is the gateway's replay
    third = _ticket(stack, pid, key, title)
    assert third.status == 201 and third.headers.get("idempotent-replayed") == "true", third
    # the same key for another body, the gateway's record gone again: the service says no
    stack.psql("DELETE FROM gateway.idempotency WHERE key = '%s'" % key)
    other = _ticket(stack, pid, key, title + " 另一个")
    assert other.status == 409 and other.json()["error"]["code"] == "idempotency_mismatch", other
    assert _tickets(stack, title + " 另一个") == 0
    stored = stack.psql("SELECT status FROM tickets.idempotency WHERE key = '%s'" % key)
    assert stored == [("201",)], stored


def test_service_failure_keeps_nothing(stack):
    """A keyed write the service answers 4xx keeps its answer (the gateway's contract:
    a 4xx is an answer); one it answers 5xx (its database gone mid-request) leaves no
    record and nothing written, so the retry runs it."""
    r = _create(stack, "k-" + secrets.token_hex(8), _code("FAIL"))
    assert r.status == 201, r
    pid = r.json()["id"]
    key = "k-" + secrets.token_hex(8)
    bad = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=stack.admin_token,
                     body={"type": "no-such-type", "title": "x"}, headers={"Idempotency-Key": key})
    assert bad.status == 422, bad
    assert stack.psql("SELECT status FROM tickets.idempotency WHERE key = '%s'" % key) == [("422",)]


def _first_attempt_fails_with_the_database(stack):
    """A first attempt that waits on a lock while PostgreSQL stops, answered 503 (a
    known failure), and a retry while it is down (503 too); the database is started
    again. Its key and code, or None when the first attempt's transaction committed
    in the instant before the shutdown reached it (the lock's holder went first: a
    201, which is right, but not this test's case)."""
    key, code = "k-" + secrets.token_hex(8), _code("PGDOWN")
    lock = _lock_properties(stack, 60)     # ended by the database stop below, however slow the run
    first = {}
    pg_down = False
    try:
        t = threading.Thread(target=lambda: first.update(r=_create(stack, key, code)))
        t.start()
        _wait_blocked(stack)             # claimed, waiting on the lock; now the database goes away
        stack._pg("stop")
        pg_down = True
        t.join(15)
        lock.join(15)
        if first["r"].status == 201:
            return None
        assert first["r"].status == 503, "the first attempt: %r" % first["r"]
        r = _create(stack, key, code)
        assert r.status == 503, "a retry with the gateway's database down: %r" % r
    finally:
        if pg_down:
            stack._pg("start", str(stack.pg_port))
    return key, code


def test_release_waits_for_the_database(stack):
    """The first attempt waits on a lock; PostgreSQL stops: pm-tenants answers 503 (a
    known failure), but the gateway cannot release the claim then. Once PostgreSQL is
    back, the claim is released (the retry runs) in seconds, not after the takeover
    delay."""
    for _ in range(3):
        case = _first_attempt_fails_with_the_database(stack)
        if case:
            break
        stack.wait_ready(15)
    assert case, "three first attempts committed as the database stopped"
    key, code = case
    back = time.monotonic()
    r, seen = _wait_status(stack, key, code, 201, seconds=20)
    took = time.monotonic() - back
    assert r.status == 201, "no 201 within 20 s of the database's return: %r (on the way: %s)" % (r, seen)
    assert 409 not in seen, "the claim stayed in progress after the database came back: %s" % seen
    assert took < TAKEOVER_S - 4, "201 only %.1f s after the database came back" % took
    assert _count(stack, code) == 1
    log = stack.procs["gateway"][0].log()
    assert "claim released once the database was back" in log, "no release logged"
    stack.wait_ready(15)
