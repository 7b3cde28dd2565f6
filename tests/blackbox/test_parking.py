"""test_parking: parking spaces and leases (车位, 车位租赁) end to end, through the
gateway, the broker and two pm-tenants workers to PostgreSQL (API.md, "Parking").

Two tenants workers, so that two lease requests for one space really run at
once: the overlap is refused by the database's exclusion constraint, never by
a read-then-write check. Parties are made with SQL (the parties API is another
slice's), units through the API. Tests run in file order and share STATE.
"""

import datetime
import json
import re
import secrets
import threading

from api import ok as _ok, error as _error, fields as _fields

STACK = dict(scale={"tenants": 2})

STATE = {}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RACE_ROUNDS = 20


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _party(stack, pid, name):
    rows = stack.psql("INSERT INTO tenants.parties (property_id, kind, name) VALUES ('%s', 'person', '%s') "
                      "RETURNING id" % (pid, name.replace("'", "''")))
    return rows[0][0]


def _space(stack, pid, code, zone=None):
    body = {"code": code}
    if zone is not None:
        body["zone"] = zone
    return _ok(_admin(stack, "POST", _p(pid, "parking-spaces"), body), 201, "space %s" % code)


def _lease(stack, pid, **body):
    return _admin(stack, "POST", _p(pid, "parking-leases"), body)


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3)
    p1 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "PK1-" + tag, "name": "华强广场"}), 201, "P1")
    p2 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "PK2-" + tag, "name": "科兴园"}), 201, "P2")
    u1 = _ok(_admin(stack, "POST", _p(p1["id"], "units"), {"code": "A-101", "area_m2": 88.5, "use": "residential"}),
             201, "unit in P1")
    u2 = _ok(_admin(stack, "POST", _p(p2["id"], "units"), {"code": "B-201", "area_m2": 70, "use": "office"}),
             201, "unit in P2")
    STATE.update(tag=tag, p1=p1["id"], p2=p2["id"], u1=u1["id"], u2=u2["id"],
                 party1=_party(stack, p1["id"], "王建华"), party1b=_party(stack, p1["id"], "李娜"),
                 party2=_party(stack, p2["id"], "O'Brien"))
    users = {}
    for role in ("agent", "technician"):
        user, pw = "%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        _ok(_admin(stack, "POST", "/v1/users", {"username": user, "password": pw, "role": role,
                                               "property_ids": [p1["id"]]}), 201, "user " + role)
        users[role] = stack.login(user, pw)
    STATE["tokens"] = users


# ---------------------------------------------------------------- spaces
def test_spaces(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    s = _space(stack, p1, "B2-001", "B2")
    assert UUID.match(s["id"]) and s["code"] == "B2-001" and s["zone"] == "B2", s
    assert s["property_id"] == p1 and s["current_lease"] is None and s["created_at"].endswith("Z"), s
    s2 = _space(stack, p1, "地面-07", "地面")
    s3 = _space(stack, p1, "B2-002", "")
    assert s3["zone"] is None, "an empty zone is none: %s" % s3
    err = _error(_admin(stack, "POST", _p(p1, "parking-spaces"), {"code": "B2-001", "zone": "B3"}),
                 409, "conflict", "duplicate code")
    assert "code" in _fields(err), err
    _space(stack, p2, "B2-001")  # the same code in another property is fine
    err = _error(_admin(stack, "POST", _p(p1, "parking-spaces"), {"zone": 5}), 422, "validation_failed", "bad space")
    assert {"code", "zone"} <= _fields(err), err
    err = _error(_admin(stack, "POST", _p(p1, "parking-spaces"), {"code": "x" * 65}), 422, "validation_failed",
                 "long code")
    # roles: an agent may create spaces, a technician may not
    r = stack.http("POST", _p(p1, "parking-spaces"), body={"code": "AG-1"}, token=STATE["tokens"]["agent"])
    _ok(r, 201, "agent creates a space")
    r = stack.http("POST", _p(p1, "parking-spaces"), body={"code": "TC-1"}, token=STATE["tokens"]["technician"])
    _error(r, 403, "forbidden", "technician creates a space")
    # another property's spaces do not exist for the agent of P1
    r = stack.http("GET", _p(p2, "parking-spaces"), token=STATE["tokens"]["agent"])
    _error(r, 404, "not_found", "agent lists P2")

    page = _ok(_admin(stack, "GET", _p(p1, "parking-spaces?zone=B2")), 200, "list zone B2")
    assert [x["code"] for x in page["items"]] == ["B2-001"] and page["next_cursor"] is None, page
    page = _ok(_admin(stack, "GET", _p(p1, "parking-spaces?zone=%E5%9C%B0%E9%9D%A2")), 200, "list zone 地面")
    assert [x["id"] for x in page["items"]] == [s2["id"]], page
    codes, cursor = [], None
    while True:
        r = _ok(_admin(stack, "GET", _p(p1, "parking-spaces?limit=2" + ("&cursor=" + cursor if cursor else ""))),
                200, "page")
        codes += [x["code"] for x in r["items"]]
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert codes == sorted(codes, key=lambda c: c.encode()) and len(codes) == 4, codes
    _error(_admin(stack, "GET", _p(p1, "parking-spaces?limit=0")), 422, "validation_failed", "limit 0")
    _error(_admin(stack, "GET", _p(p1, "parking-spaces?cursor=%21")), 422, "validation_failed", "bad cursor")
    STATE.update(s1=s["id"], s2=s2["id"], s3=s3["id"])


# ---------------------------------------------------------------- leases
def test_lease_create_and_overlap(stack):
    p1, s1 = STATE["p1"], STATE["s1"]
    lease = _ok(_lease(stack, p1, space_id=s1, party_id=STATE["party1"], unit_id=STATE["u1"],
                       start_date="2026-01-01", end_date="2026-06-30", monthly_fee=30000), 201, "first lease")
    for k in ("id", "space_id", "space_code", "party_id", "unit_id", "start_date", "end_date", "monthly_fee", "currency"):
        assert k in lease, "lease lacks %s: %s" % (k, lease)
    assert lease["space_id"] == s1 and lease["space_code"] == "B2-001" and lease["party_id"] == STATE["party1"], lease
    assert lease["unit_id"] == STATE["u1"] and lease["monthly_fee"] == 30000 and lease["currency"] == "CNY", lease
    assert lease["start_date"] == "2026-01-01" and lease["end_date"] == "2026-06-30", lease
    assert isinstance(lease["monthly_fee"], int), lease

    # overlapping: the same dates, inside, over the end, the last day only
    for start, end in (("2026-01-01", "2026-06-30"), ("2026-03-01", "2026-03-31"),
                       ("2026-06-01", "2026-12-31"), ("2026-06-30", "2026-06-30"), ("2025-01-01", None)):
        body = dict(space_id=s1, party_id=STATE["party1b"], start_date=start, monthly_fee=1)
        if end:
            body["end_date"] = end
        err = _error(_lease(stack, p1, **body), 409, "conflict", "overlap %s..%s" % (start, end))
        assert "start_date" in _fields(err), err
    # adjacent, open-ended: fine; it blocks every later lease
    adj = _ok(_lease(stack, p1, space_id=s1, party_id=STATE["party1b"], start_date="2026-07-01",
                     monthly_fee=0), 201, "adjacent open-ended lease")
    assert adj["end_date"] is None and adj["unit_id"] is None and adj["monthly_fee"] == 0, adj
    _error(_lease(stack, p1, space_id=s1, party_id=STATE["party1"], start_date="2031-01-01",
                  end_date="2031-12-31", monthly_fee=5), 409, "conflict", "after an open-ended lease")
    # a one-day lease on another space (end = start)
    one = _ok(_lease(stack, p1, space_id=STATE["s3"], party_id=STATE["party1"], start_date="2026-02-28",
                     end_date="2026-02-28", monthly_fee=100), 201, "one-day lease")
    STATE.update(lease1=lease["id"], lease_open=adj["id"], lease_day=one["id"])


def test_lease_validation(stack):
    p1, p2, s1 = STATE["p1"], STATE["p2"], STATE["s1"]
    base = dict(space_id=STATE["s2"], party_id=STATE["party1"], start_date="2026-01-01", monthly_fee=100)
    err = _error(_lease(stack, p1, **dict(base, end_date="2025-12-31")), 422, "validation_failed", "end before start")
    assert "end_date" in _fields(err), err
    err = _error(_lease(stack, p1, space_id="nope", party_id=None, start_date="2026-02-30", monthly_fee=1.5),
                 422, "validation_failed", "bad fields")
    assert {"space_id", "party_id", "start_date", "monthly_fee"} <= _fields(err), err
    for fee in (-1, "100", 1e12):
        err = _error(_lease(stack, p1, **dict(base, monthly_fee=fee)), 422, "validation_failed", "fee %r" % fee)
        assert "monthly_fee" in _fields(err), err
    # another property's space, party, unit: 422 naming the field
    p2_space = _ok(_admin(stack, "GET", _p(p2, "parking-spaces")), 200, "P2 spaces")["items"][0]["id"]
    for field, value in (("space_id", p2_space), ("party_id", STATE["party2"]), ("unit_id", STATE["u2"]),
                         ("space_id", "00000000-0000-4000-8000-000000000000")):
        err = _error(_lease(stack, p1, **dict(base, **{field: value})), 422, "validation_failed",
                     "%s of another property" % field)
        assert field in _fields(err), err
    # a property the caller cannot see, or that does not exist
    r = stack.http("POST", _p(p2, "parking-leases"), body=base, token=STATE["tokens"]["agent"])
    _error(r, 404, "not_found", "agent of P1 in P2")
    _error(_lease(stack, "00000000-0000-4000-8000-000000000001", **base), 404, "not_found", "no property")
    _error(_admin(stack, "POST", _p(p1, "parking-leases"), [1]), 422, "validation_failed", "array body")
    # nothing of these was written
    n = stack.psql("SELECT count(*) FROM tenants.parking_leases WHERE space_id = '%s'" % STATE["s2"])[0][0]
    assert n == "0", "refused leases left rows: %s" % n


def test_race_one_space_two_leases(stack):
    """Two lease requests for one space over overlapping dates, released together
    on their own connections to two workers: exactly one 201 and one 409."""
    p1 = STATE["p1"]
    outcomes = []
    for i in range(RACE_ROUNDS):
        space = _space(stack, p1, "RACE-%02d" % i, "race")["id"]
        barrier = threading.Barrier(2)
        results = [None, None]

        def go(k):
            body = dict(space_id=space, party_id=STATE["party1"] if k == 0 else STATE["party1b"],
                        start_date="2026-0%d-01" % (k + 1), end_date="2026-12-31", monthly_fee=1000 + k)
            barrier.wait()
            results[k] = _lease(stack, p1, **body)

        threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(r.status for r in results)
        outcomes.append(statuses)
        assert statuses == [201, 409], "round %d: %s %s" % (i, statuses, [r.text[:200] for r in results])
        rows = stack.psql("SELECT count(*) FROM tenants.parking_leases WHERE space_id = '%s'" % space)
        assert rows[0][0] == "1", "round %d: %s leases on the space" % (i, rows[0][0])
    # both workers took part: the race was real, not serialised by one worker
    served = [p.log().count("parking lease") for p in stack.procs["tenants"]]
    assert len(served) == 2 and all(served), "leases made per worker: %s" % served


def test_end_lease(stack):
    p1 = STATE["p1"]
    end = lambda lid, body: _admin(stack, "POST", _p(p1, "parking-leases/%s/end" % lid), body)  # noqa: E731
    err = _error(end(STATE["lease_open"], {"end_date": "2026-06-30"}), 422, "validation_failed", "end before start")
    assert "end_date" in _fields(err), err
    err = _error(end(STATE["lease1"], {"end_date": "2026-07-01"}), 422, "validation_failed", "end after agreed end")
    _error(end(STATE["lease_open"], {}), 422, "validation_failed", "no end_date")
    _error(end("00000000-0000-4000-8000-000000000002", {"end_date": "2026-12-31"}), 404, "not_found", "no lease")
    _error(end("not-a-uuid", {"end_date": "2026-12-31"}), 404, "not_found", "bad id")
    r = stack.http("POST", _p(STATE["p2"], "parking-leases/%s/end" % STATE["lease_open"]),
                   body={"end_date": "2026-12-31"}, token=stack.admin_token)
    _error(r, 404, "not_found", "lease of P1 through P2")

    ended = _ok(end(STATE["lease_open"], {"end_date": "2026-12-31"}), 200, "end the open lease")
    assert ended["end_date"] == "2026-12-31" and ended["ended_at"], ended
    _error(end(STATE["lease_open"], {"end_date": "2026-12-31"}), 409, "conflict", "end twice")
    # the space is free again after the end
    later = _ok(_lease(stack, p1, space_id=STATE["s1"], party_id=STATE["party1"], start_date="2027-01-01",
                       monthly_fee=32000), 201, "lease after the end")
    STATE["lease_later"] = later["id"]


def test_lists_and_current_lease(stack):
    p1 = STATE["p1"]
    today = datetime.date.today().isoformat()
    current = _ok(_lease(stack, p1, space_id=STATE["s2"], party_id=STATE["party1b"], start_date=today,
                         monthly_fee=25000), 201, "a lease from today")
    spaces = {s["id"]: s for s in _ok(_admin(stack, "GET", _p(p1, "parking-spaces?limit=500")), 200, "spaces")["items"]}
    assert spaces[STATE["s2"]]["current_lease"]["id"] == current["id"], spaces[STATE["s2"]]
    assert spaces[STATE["s3"]]["current_lease"] is None, "a lease of 2026-02-28 is not current: %s" % spaces[STATE["s3"]]

    by_space = _ok(_admin(stack, "GET", _p(p1, "parking-leases?space_id=%s" % STATE["s1"])), 200, "by space")
    assert [x["start_date"] for x in by_space["items"]] == ["2026-01-01", "2026-07-01", "2027-01-01"], by_space
    by_party = _ok(_admin(stack, "GET", _p(p1, "parking-leases?party_id=%s&limit=500" % STATE["party1b"])),
                   200, "by party")
    assert all(x["party_id"] == STATE["party1b"] for x in by_party["items"]) and by_party["items"], by_party
    active = _ok(_admin(stack, "GET", _p(p1, "parking-leases?active=true&limit=500")), 200, "active")
    ids = {x["id"] for x in active["items"]}
    assert current["id"] in ids and STATE["lease_day"] not in ids and STATE["lease_later"] not in ids, active
    inactive = _ok(_admin(stack, "GET", _p(p1, "parking-leases?active=false&limit=500")), 200, "inactive")
    assert STATE["lease_day"] in {x["id"] for x in inactive["items"]}, inactive
    seen, cursor = [], None
    while True:
        page = _ok(_admin(stack, "GET", _p(p1, "parking-leases?limit=7" + ("&cursor=" + cursor if cursor else ""))),
                   200, "leases page")
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    total = stack.psql("SELECT count(*) FROM tenants.parking_leases WHERE property_id = '%s'" % p1)[0][0]
    assert len(seen) == int(total) and len({x["id"] for x in seen}) == len(seen), (len(seen), total)
    for q in ("active=yes", "space_id=x", "party_id=1", "cursor=abc", "limit=501"):
        _error(_admin(stack, "GET", _p(p1, "parking-leases?" + q)), 422, "validation_failed", q)
    r = stack.http("GET", _p(p1, "parking-leases"), token=STATE["tokens"]["technician"])
    _error(r, 403, "forbidden", "a technician reads no leases (they name parties)")
    r = stack.http("GET", _p(p1, "parking-leases"), token=STATE["tokens"]["agent"])
    _ok(r, 200, "an agent reads leases")


def test_events(stack):
    p1 = STATE["p1"]
    rows = stack.psql("SELECT type, data::text FROM tenants.outbox WHERE property_id = '%s' "
                      "AND type LIKE 'parking.%%' ORDER BY seq" % p1)
    started = [json.loads(d) for t, d in rows if t == "parking.lease.started"]
    ended = [json.loads(d) for t, d in rows if t == "parking.lease.ended"]
    ok_leases = int(stack.psql("SELECT count(*) FROM tenants.parking_leases WHERE property_id = '%s'" % p1)[0][0])
    assert len(started) == ok_leases, "one parking.lease.started per lease: %d events, %d leases" % (
        len(started), ok_leases)
    first = next(e for e in started if e["id"] == STATE["lease1"])
    assert first["space"] == {"id": STATE["s1"], "code": "B2-001", "zone": "B2"}, first
    assert first["party_id"] == STATE["party1"] and first["unit_id"] == STATE["u1"], first
    assert first["monthly_fee"] == 30000 and first["currency"] == "CNY" and first["start_date"] == "2026-01-01", first
    assert [e["id"] for e in ended] == [STATE["lease_open"]], ended
    assert ended[0]["end_date"] == "2026-12-31" and ended[0]["space"]["code"] == "B2-001", ended
