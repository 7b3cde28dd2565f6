"""test_two_brokers: no single broker (issue M item 3; docs/DESIGN.md "Two brokers").

The stack runs two brokers (PM_BROKERS=2: broker-0 and broker-1, each on its own
ipc endpoints); every worker registers with both, the gateway's client sends to
whichever is up, outbox wake-ups go to both and consumers listen to both.

The loss test writes tickets from a few threads, each with its own
Idempotency-Key, retrying the same key until it is answered 201 (as an HTTP
client should: 503, 504, 409 idempotency_in_progress, a broken connection), and
kills -9 broker-1 in the middle, later starts it again, then kills broker-0.
It checks that every write got its 201, that every ticket answered 201 is
stored, that a write never retried is stored exactly once, that /readyz
answered 200 throughout, that an event published while a broker was down
reached its consumer, and prints the figures (requests retried, the longest
time one write took from first try to its 201, tickets stored twice).

A write whose worker committed it just as its broker died, its reply lost with the
broker, is answered 503 (outcome unknown); the retry with the same key reaches
tickets, which finds the key it stored in the write's own transaction and answers
with the first run's ticket (common/idem.h): no write is stored twice, retried or
not."""
import secrets
import signal
import threading
import time

import harness
from api import ok as _ok

STACK = dict(env={"PM_BROKERS": "2", "PM_REQUEST_TIMEOUT_MS": "2000"})

S = {}
RETRYABLE = {503, 504}


def _until(what, cond, timeout=15.0, step=0.1):
    deadline = time.monotonic() + timeout * harness.SLOWDOWN
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError("timed out waiting for: %s" % what)


def _connected(stack, service, broker):
    """How many times the workers of service said they registered with broker (its index)."""
    text = "connected to broker %d " % broker
    return sum(p.log().count(text) for p in stack.procs[service])


def test_requests_flow_with_both(stack):
    assert len(stack.procs["broker"]) == 2, stack.procs["broker"]
    assert [p.slot for p in stack.procs["broker"]] == [0, 1]
    # every worker registered with both brokers, each on its own link
    for s in harness.SERVICES:
        for b in (0, 1):
            _until("%s registered with broker %d" % (s, b), lambda s=s, b=b: _connected(stack, s, b) >= 1)
    tag = secrets.token_hex(3)
    p = _ok(stack.http("POST", "/v1/properties", body={"code": "TB-%s" % tag, "name": "双代理 %s" % tag},
                       token=stack.admin_token), 201, "create property")
    S["pid"] = p["id"]
    for i in range(20):
        r = stack.http("GET", "/v1/properties/%s" % p["id"], token=stack.admin_token)
        assert r.status == 200, "GET %d: %r" % (i, r)
    assert stack.http("GET", "/readyz").status == 200


class _Load:
    """Writers of tickets with Idempotency-Keys, a reader of the tickets list, and a
    /readyz poller."""

    def __init__(self, stack, pid, threads=4):
        self.stack = stack
        self.pid = pid
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done = []          # (title, seconds from first try to 201, tries)
        self.failed = []        # (title, last answer): gave up
        self.answers = {}       # status (or error name) -> count, for the retries
        # GETs polled throughout: how many, and the answers other than 200 (a read in a
        # lost broker is sent again through the other)
        self.polls = {"readyz": {"n": 0, "bad": []}, "reads": {"n": 0, "bad": []}}
        self.tag = secrets.token_hex(3)
        self.threads = [threading.Thread(target=self._writer, args=(k,)) for k in range(threads)]
        self.threads.append(threading.Thread(target=self._poller, args=("readyz", "/readyz", None, 5, 0.1)))
        self.threads.append(threading.Thread(target=self._poller, args=(
            "reads", "/v1/properties/%s/tickets?limit=5" % pid, stack.admin_token, 10, 0.02)))

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)
        assert not any(t.is_alive() for t in self.threads), "load threads did not finish"

    def _count(self, what):
        with self.lock:
            self.answers[what] = self.answers.get(what, 0) + 1

    def _writer(self, k):
        i = 0
        while not self.stop.is_set():
            title = "broker-loss %s-%d-%d" % (self.tag, k, i)
            key = "tb-%s-%d-%d" % (self.tag, k, i)
            i += 1
            t0 = time.monotonic()
            tries = 0
            last = None
            unknown = False         # answered 503/504: it may have run
            # a write goes on until answered, even after stop: the client does not give up
            while time.monotonic() - t0 < 60 * harness.SLOWDOWN:
                tries += 1
                try:
                    r = self.stack.http("POST", "/v1/properties/%s/tickets" % self.pid,
                                        body={"type": "repair", "title": title},
                                        token=self.stack.admin_token,
                                        headers={"Idempotency-Key": key}, timeout=10)
                except OSError as e:
                    last = type(e).__name__
                    self._count(last)
                    time.sleep(0.2)
                    continue
                last = r.status
                if r.status == 201:
                    with self.lock:
                        self.done.append((title, time.monotonic() - t0, tries, unknown))
                    break
                code = None
                try:
                    code = r.json().get("error", {}).get("code")
                except ValueError:
                    pass
                self._count("%d %s" % (r.status, code))
                if r.status == 409 and code == "idempotency_in_progress":
                    time.sleep(float(r.headers.get("retry-after", "1")))
                elif r.status in RETRYABLE:
                    unknown = True
                    time.sleep(0.2)
                else:
                    break           # an answer that is no outage: a failure of the test
            if last != 201:
                with self.lock:
                    self.failed.append((title, last))
            time.sleep(0.02)        # a bounded load: the consumers keep up

    def _poller(self, kind, path, token, timeout, pause):
        while not self.stop.is_set():
            try:
                r = self.stack.http("GET", path, token=token, timeout=timeout)
                status = r.status if r.status == 200 else (r.status, r.body[:300])
            except OSError as e:
                status = type(e).__name__
            with self.lock:
                self.polls[kind]["n"] += 1
                if status != 200:
                    self.polls[kind]["bad"].append(status)
            time.sleep(pause)

    def count(self):
        with self.lock:
            return len(self.done)

    def check(self, what):
        titles = [d[0] for d in self.done]
        assert not self.failed, "%s: writes that never got their 201: %r" % (what, self.failed[:5])
        assert self.done, "%s: no write went through" % what
        rows = self.stack.psql("SELECT title, count(*) FROM tickets.tickets WHERE title LIKE 'broker-loss %s-%%' "
                               "GROUP BY title" % self.tag)
        got = {t: int(n) for t, n in rows}
        dup = {t: n for t, n in got.items() if n != 1}
        assert not dup, "%s: tickets written more than once: %r" % (what, dup)
        missing = set(titles) - set(got)
        assert not missing, "%s: answered 201 but not stored: %r" % (what, sorted(missing)[:5])
        extra = set(got) - set(titles)
        assert not extra, "%s: stored but never answered 201: %r" % (what, sorted(extra)[:5])
        ready, reads = self.polls["readyz"], self.polls["reads"]
        assert not ready["bad"], "%s: /readyz not 200 on %d of %d polls: %r" % (
            what, len(ready["bad"]), ready["n"], ready["bad"][:5])
        # a read inside a broker that dies is sent again through the other at once
        assert not reads["bad"], "%s: %d of %d reads not 200: %r" % (
            what, len(reads["bad"]), reads["n"], reads["bad"][:5])
        retried = sum(1 for d in self.done if d[2] > 1)
        longest = max(d[1] for d in self.done)
        unknown = sum(1 for d in self.done if d[3])
        print("# %s: %d writes, %d retried (%d extra tries: %s), %d after an unknown outcome, longest "
              "%.1f s from first try to 201; /readyz 200 on all %d polls; %d reads, all 200; none stored twice" % (
                  what, len(self.done), retried, sum(d[2] - 1 for d in self.done),
                  ", ".join("%s x%d" % kv for kv in sorted(self.answers.items())) or "none",
                  unknown, longest, ready["n"], reads["n"]))


def _events_caught_up(stack):
    """Every ticket event still in the outbox was processed by notifications."""
    ids = [r[0] for r in stack.psql("SELECT id FROM tickets.outbox")]
    if not ids:
        return True
    n = stack.psql("SELECT count(*) FROM notifications.processed_events WHERE producer = 'tickets' "
                   "AND event_id = ANY ('{%s}')" % ",".join(ids))[0][0]
    return int(n) == len(ids)


def test_kill_one_broker_under_load(stack):
    pid = S["pid"]
    load = _Load(stack, pid)
    load.start()
    try:
        _until("writes flowing", lambda: load.count() >= 10, 20)
        before = load.count()
        stack.kill("broker", sig=signal.SIGKILL, index=1)     # broker-1
        assert [p.slot for p in stack.procs["broker"]] == [0]
        _until("writes flowing through broker-0 alone", lambda: load.count() >= before + 20, 30)

        # an event published while broker-1 is down reaches its consumer (ticket.created ->
        # notifications), and a read while it is down answers
        r = stack.http("POST", "/v1/properties/%s/tickets" % pid, body={"type": "repair", "title": "while one is down"},
                       token=stack.admin_token)
        _ok(r, 201, "ticket while broker-1 is down")
        _until("notifications processed the ticket events", lambda: _events_caught_up(stack), 20)

        # broker-1 again: the workers register with it by themselves
        seen = {s: _connected(stack, s, 1) for s in harness.SERVICES}
        stack.start("broker")
        assert [p.slot for p in stack.procs["broker"]] == [0, 1]
        for s in harness.SERVICES:
            _until("%s registered again with broker-1" % s,
                   lambda s=s: _connected(stack, s, 1) > seen[s], 15)
        time.sleep(2.5)             # past the gateway's warm-up of a broker that came back
        before = load.count()
        _until("writes flowing with both", lambda: load.count() >= before + 10, 30)

        # now the other one: only broker-1, restarted, carries the load
        stack.kill("broker", sig=signal.SIGKILL, index=0)     # broker-0
        assert [p.slot for p in stack.procs["broker"]] == [1]
        before = load.count()
        _until("writes flowing through the restarted broker-1 alone", lambda: load.count() >= before + 20, 30)
        r = stack.http("POST", "/v1/properties/%s/tickets" % pid, body={"type": "repair", "title": "while 0 is down"},
                       token=stack.admin_token)
        _ok(r, 201, "ticket while broker-0 is down")
        _until("notifications processed the ticket events (broker-0 down)", lambda: _events_caught_up(stack), 20)
        stack.start("broker")
    finally:
        load.finish()
    load.check("two brokers, each killed once")
    rerouted = sum(p.log().count("reply sent through broker") for s in harness.SERVICES for p in stack.procs[s])
    resent = stack.procs["gateway"][0].log().count("sent again through broker")
    print("# replies of a killed broker's requests sent through the other broker: %d; requests the "
          "gateway sent again through the other broker: %d" % (rerouted, resent))
    assert stack.http("GET", "/readyz").status == 200
