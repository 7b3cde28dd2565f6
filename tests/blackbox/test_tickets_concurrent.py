"""test_tickets_concurrent: tickets of one property created in parallel
(issue I: the number comes from a sequence per property, prefix and year,
migrations/007, so no create waits for another's commit).

- the first numbers of a new (property, prefix, year), taken by several
  transactions at once, all succeed and are distinct: the sequence is created
  on first use without a race; a year the old counter table counted goes on
  from its last value;
- threads creating tickets on one property through the gateway: every
  acknowledged ticket is stored once, with a unique number of the format, its
  "create" timeline entry and its one ticket.created event;
- the same while a pm-tickets worker is killed with SIGKILL and another is
  started: no acknowledged ticket is lost (each is stored with its timeline
  and its event), numbers stay unique, creates go on after the restart.
Gaps in the numbers are allowed (API.md); duplicates never are.
"""

import re
import secrets
import threading
import time

import harness

STACK = dict(scale={"tickets": 3})

S = {}
NUMBER = re.compile(r"^BX-\d{4}-\d{6,}$")
THREADS = 8


def _property(stack, tag):
    r = stack.http("POST", "/v1/properties", token=stack.admin_token,
                   body={"code": "%s-%s" % (tag, secrets.token_hex(3).upper()), "name": "并发大厦",
                         "timezone": "Asia/Shanghai"})
    assert r.status == 201, "create property: %r" % r
    return r.json()["id"]


def _agent(stack, pid):
    name = "agent-%s" % secrets.token_hex(3)
    pw = "pw-" + secrets.token_urlsafe(10)
    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name, "password": pw, "role": "agent", "property_ids": [pid]})
    assert r.status == 201, "create agent: %r" % r
    return stack.login(name, pw)


def _load(stack, pid, token, per_thread=None, stop=None):
    """THREADS threads POST repair tickets on pid, each per_thread times or until
    stop is set. Returns (acknowledged: [ticket], other: [status or error])."""
    acked, other, lock = [], [], threading.Lock()
    start = threading.Barrier(THREADS)

    def run(k):
        start.wait()
        i = 0
        while (per_thread is None or i < per_thread) and not (stop and stop.is_set()):
            i += 1
            try:
                r = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=token, timeout=20,
                               body={"type": "repair", "title": "并发 %d-%d" % (k, i), "channel": "hotline"})
                with lock:
                    if r.status == 201:
                        acked.append(r.json())
                    else:
                        other.append(r.status)
            except OSError as e:        # the worker that held the request died: not acknowledged
                with lock:
                    other.append(repr(e))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a load thread did not finish"
    return acked, other


def _check_stored(stack, pid, acked):
    """Every acknowledged ticket is stored as answered, once, with its timeline
    and its ticket.created event; every number of the property is unique."""
    rows = stack.psql(
        "SELECT t.id, t.number, "
        "  (SELECT count(*) FROM tickets.ticket_timeline l WHERE l.ticket_id = t.id AND l.action = 'create'), "
        "  (SELECT count(*) FROM tickets.outbox o WHERE o.type = 'ticket.created' AND o.data->>'id' = t.id::text "
        "     AND o.data->>'number' = t.number) "
        "FROM tickets.tickets t WHERE t.property_id = '%s'" % pid)
    stored = {r[0]: r for r in rows}
    numbers = [r[1] for r in rows]
    assert len(numbers) == len(set(numbers)), "duplicate numbers: %s" % sorted(
        n for n in set(numbers) if numbers.count(n) > 1)
    for t in acked:
        row = stored.get(t["id"])
        assert row, "acknowledged ticket %s (%s) is not stored" % (t["id"], t["number"])
        assert row[1] == t["number"] and NUMBER.match(t["number"]), (t["number"], row)
        assert row[2] == "1", "ticket %s has %s create entries in its timeline" % (t["number"], row[2])
        assert row[3] == "1", "ticket %s has %s ticket.created events" % (t["number"], row[3])
    return stored


def test_setup(stack):
    S["pid"] = _property(stack, "CC")
    S["token"] = _agent(stack, S["pid"])


def test_first_numbers_of_a_new_sequence_taken_at_once(stack):
    """Six transactions take the first numbers of a (property, prefix, year) no
    ticket has used yet, each holding its transaction open a moment: the first
    creates the sequence, the others wait for it and then use it."""
    pid = _property(stack, "SQ")
    got, errors, lock = [], [], threading.Lock()
    go = threading.Barrier(6)

    def take():
        go.wait()
        try:
            # one psql -c: one transaction, held open 0.3 s after the number
            r = stack.psql("SET ROLE pm_tickets; SET search_path = tickets; "
                           "SELECT ticket_number_next ('%s', 'TS', now (), 'Asia/Shanghai'); "
                           "SELECT pg_sleep (0.3)" % pid)
            with lock:
                got.append(r)
        except harness.StackError as e:
            with lock:
                errors.append(str(e))

    threads = [threading.Thread(target=take) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, "a concurrent first number failed: %s" % errors[0]
    seqs = stack.psql("SELECT count(*) FROM pg_class WHERE relkind = 'S' "
                      "AND relname LIKE 'ticket_number_%s_ts_%%'" % pid.replace("-", ""))
    assert seqs == [("1",)], "one sequence for the property's TS numbers: %r" % seqs
    # the numbers themselves: the next ticket of that prefix follows all six
    r = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=stack.admin_token,
                   body={"type": "complaint", "title": "after the race"})
    assert r.status == 201, "create after the race: %r" % r
    assert r.json()["number"].endswith("-000007"), "six numbers were taken: %s" % r.json()["number"]


def test_a_year_the_counter_table_counted_goes_on_from_it(stack):
    """A deployment upgraded to the sequences (migrations/007) mid-year: the first
    number of a (property, prefix, year) that ticket_counters counted follows its
    last value, so no number is issued twice across the upgrade."""
    pid = _property(stack, "UP")
    year = stack.psql("SELECT extract (year FROM now () AT TIME ZONE 'Asia/Shanghai')::int")[0][0]
    stack.psql("INSERT INTO tickets.ticket_counters (property_id, prefix, year, last) "
               "VALUES ('%s', 'WX', %s, 41)" % (pid, year))
    r = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=stack.admin_token,
                   body={"type": "inquiry", "title": "after the upgrade"})
    assert r.status == 201 and r.json()["number"] == "WX-%s-000042" % year, r


def test_concurrent_creates_on_one_property(stack):
    acked, other = _load(stack, S["pid"], S["token"], per_thread=25)
    assert not other, "every create succeeds: %s" % other[:5]
    assert len(acked) == THREADS * 25, len(acked)
    _check_stored(stack, S["pid"], acked)
    numbers = sorted(int(t["number"].rsplit("-", 1)[1]) for t in acked)
    assert len(set(numbers)) == len(numbers), "unique numbers"
    # nothing failed, so nothing was skipped either
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "no gap without a failure"
    # a ticket as GET answers it: its timeline holds the create
    t = acked[-1]
    r = stack.http("GET", "/v1/properties/%s/tickets/%s" % (S["pid"], t["id"]), token=S["token"])
    assert r.status == 200 and [e["action"] for e in r.json()["timeline"]] == ["create"], r


def test_kill_9_of_a_worker_during_the_load_loses_no_acknowledged_ticket(stack):
    pid = _property(stack, "K9")
    token = _agent(stack, pid)
    stop = threading.Event()
    result = {}
    loader = threading.Thread(target=lambda: result.update(r=_load(stack, pid, token, stop=stop)))
    loader.start()
    try:
        harness.wait_for("tickets created before the kill", lambda: int(stack.psql(
            "SELECT count(*) FROM tickets.tickets WHERE property_id = '%s'" % pid)[0][0]) >= 50)
        for _ in range(2):               # twice, each time another worker
            before = int(stack.psql("SELECT count(*) FROM tickets.tickets WHERE property_id = '%s'" % pid)[0][0])
            stack.kill("tickets", index=0)
            stack.start("tickets")
            harness.wait_for("tickets created after the restart", lambda: int(stack.psql(
                "SELECT count(*) FROM tickets.tickets WHERE property_id = '%s'" % pid)[0][0]) >= before + 50)
    finally:
        stop.set()
        loader.join(180)
    acked, other = result["r"]
    print("# kill -9 under load: %d acknowledged, %d not (%s)" % (len(acked), len(other), sorted(set(map(str, other)))[:4]))
    assert acked, "some creates were acknowledged"
    _check_stored(stack, pid, acked)
    # after the load: a create answers at once again
    r = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=token,
                   body={"type": "repair", "title": "after the kills"})
    assert r.status == 201 and NUMBER.match(r.json()["number"]), r
    acked_numbers = {t["number"] for t in acked}
    assert r.json()["number"] not in acked_numbers, "a number is never issued twice"
