"""test_activities: community activities (社区活动, issue K items 3 and 4),
the staff side and the sign-up core, end to end.

Units, parties and move-ins are made through the public API; pm-notifications
learns them from tenants' events (its own copy), which the setup waits for.
Two notifications workers run, so the 20 parallel sign-ups for 10 places
really race on two database connections: exactly 10 are registered, the
others are 409 activity_full, and the activity's count says 10. Tests run in
file order and share STATE.
"""

import threading
import time
import uuid

from api import ok as _ok, error as _error, fields as _fields

STACK = dict(scale={"notifications": 2})
STATE = {}
FUTURE = ("2036-06-01T09:00:00+08:00", "2036-06-01T11:30:00+08:00")
PAST = ("2020-01-01T09:00:00Z", "2020-01-01T10:00:00Z")
CROWD = 20


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _user(stack, name, role, pids):
    _ok(_admin(stack, "POST", "/v1/users", {"username": name, "password": "pass-%s-123" % name, "role": role,
                                             "property_ids": pids}), 201, "user " + name)
    return stack.login(name, "pass-%s-123" % name)


def _ids(ids):
    return ",".join("'%s'" % i for i in ids)


def _wait(stack, what, sql, want, timeout=30):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = int(stack.psql(sql)[0][0])
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("notifications never saw %s (%s of %s)" % (what, got, want))


def _base(pid=None):
    return "/v1/properties/%s/activities" % (pid or STATE["pid"])


def _create(stack, token=None, pid=None, **kw):
    body = {"title": "中秋游园会", "description": "猜灯谜、做月饼", "starts_at": FUTURE[0], "ends_at": FUTURE[1],
            "place": "中心花园", "audience": "all"}
    body.update(kw)
    return stack.http("POST", _base(pid), body=body, token=token or stack.admin_token)


def _register(stack, aid, unit, party, people=None, token=None, pid=None):
    body = {"unit_id": unit, "party_id": party}
    if people is not None:
        body["people"] = people
    return stack.http("POST", "%s/%s/registrations" % (_base(pid), aid), body=body,
                      token=token or STATE["agent"])


def test_setup(stack):
    pid = _ok(_admin(stack, "POST", "/v1/properties", {"code": "ACT-1", "name": "活动测试花园"}), 201, "property")["id"]
    other = _ok(_admin(stack, "POST", "/v1/properties", {"code": "ACT-2", "name": "隔壁小区"}), 201, "property")["id"]
    units, parties, occ = [], [], []
    for i in range(CROWD + 2):
        b = "A" if i % 2 == 0 else "B"
        u = _ok(_admin(stack, "POST", "/v1/properties/%s/units" % pid,
                       {"code": "%s-%03d" % (b, i), "building": b, "floor": "1", "area_m2": 88.5,
                        "use": "residential"}), 201, "unit")["id"]
        p = _ok(_admin(stack, "POST", "/v1/properties/%s/parties" % pid,
                       {"kind": "person", "name": "住户%d" % i, "phone": "1380013%04d" % i}), 201, "party")["id"]
        occ.append(_ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (pid, u),
                              {"party_id": p, "role": "owner", "start_date": "2025-06-01"}), 201, "move-in")["id"])
        units.append(u)
        parties.append(p)
    xu = _ok(_admin(stack, "POST", "/v1/properties/%s/units" % other,
                    {"code": "X-1", "building": "X", "floor": "1", "area_m2": 50, "use": "residential"}),
             201, "unit")["id"]
    xp = _ok(_admin(stack, "POST", "/v1/properties/%s/parties" % other, {"kind": "person", "name": "外人"}),
             201, "party")["id"]
    occ.append(_ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (other, xu),
                          {"party_id": xp, "role": "owner", "start_date": "2025-06-01"}), 201, "move-in")["id"])
    _wait(stack, "the units", "SELECT count(*) FROM notifications.units WHERE unit_id IN (%s)"
          % _ids(units + [xu]), len(units) + 1)
    _wait(stack, "the parties", "SELECT count(*) FROM notifications.parties WHERE id IN (%s)"
          % _ids(parties + [xp]), len(parties) + 1)
    _wait(stack, "the move-ins", "SELECT count(*) FROM notifications.occupancies WHERE id IN (%s)"
          % _ids(occ), len(occ))
    STATE.update(pid=pid, other=other, units=units, parties=parties, xunit=xu, xparty=xp,
                 manager=_user(stack, "act-manager", "manager", [pid]),
                 agent=_user(stack, "act-agent", "agent", [pid]),
                 tech=_user(stack, "act-tech", "technician", [pid]),
                 outsider=_user(stack, "act-other-manager", "manager", [other]))


def test_create_announces_to_the_audience(stack):
    a = _ok(_create(stack, token=STATE["manager"], capacity=30, audience="building:A"), 201, "create")
    assert a["status"] == "open" and a["capacity"] == 30 and a["places_left"] == 30, a
    assert a["registrations"] == 0 and a["registered"] == 0 and a["attended"] == 0, a
    assert a["starts_at"] == "2036-06-01T01:00:00Z" and a["ends_at"] == "2036-06-01T03:30:00Z", a
    assert a["announcement_id"], a
    ann = _ok(_admin(stack, "GET", "/v1/properties/%s/announcements/%s" % (STATE["pid"], a["announcement_id"])),
              200, "its announcement")
    # building A: the even units' occupants, each in the inbox
    assert ann["audience"] == "building:A" and ann["recipients"] == (CROWD + 2) // 2, ann
    assert ann["title"] == "中秋游园会" and "中心花园" in ann["body"] and "2036-06-01 09:00" in ann["body"], ann
    assert ann["counts"] == {"inbox": {"delivered": (CROWD + 2) // 2}}, ann
    STATE["fair"] = a["id"]
    # announce: false makes none; unlimited capacity
    b = _ok(_create(stack, title="业主大会", announce=False), 201, "create quiet")
    assert b["announcement_id"] is None and b["capacity"] is None and b["places_left"] is None, b
    STATE["meeting"] = b["id"]


def test_create_bad_input_is_422_with_every_field(stack):
    err = _error(_create(stack, title="", starts_at="tomorrow", ends_at=FUTURE[0], place=None, capacity=0,
                         audience="floor:3", announce="yes"), 422, "validation_failed", "bad activity")
    assert {"title", "starts_at", "place", "capacity", "audience", "announce"} <= _fields(err), err
    err = _error(_create(stack, starts_at=FUTURE[1], ends_at=FUTURE[0]), 422, "validation_failed", "ends first")
    assert _fields(err) == {"ends_at"}, err
    err = _error(_create(stack, title="x" * 201, capacity=100001), 422, "validation_failed", "too long")
    assert _fields(err) == {"title", "capacity"}, err
    _error(stack.http("POST", _base(), body=[1, 2], token=stack.admin_token), 422, "validation_failed", "array")
    # nothing half-written
    n = stack.psql("SELECT count(*) FROM notifications.activities WHERE property_id = '%s'" % STATE["pid"])[0][0]
    assert n == "2", n


def test_roles_and_other_property(stack):
    pid, aid = STATE["pid"], STATE["fair"]
    _error(_create(stack, token=STATE["agent"]), 403, "forbidden", "agent creates")
    _error(_create(stack, token=STATE["tech"]), 403, "forbidden", "technician creates")
    _error(stack.http("GET", _base(), token=STATE["tech"]), 403, "forbidden", "technician reads")
    _ok(stack.http("GET", "%s/%s" % (_base(), aid), token=STATE["agent"]), 200, "agent reads")
    _error(stack.http("PATCH", "%s/%s" % (_base(), aid), body={"place": "x"}, token=STATE["agent"]),
           403, "forbidden", "agent changes")
    # another property's manager: 404 on every route of this one
    out = STATE["outsider"]
    for method, path, body in (("GET", _base(), None), ("GET", "%s/%s" % (_base(), aid), None),
                               ("POST", _base(), {"title": "x"}),
                               ("GET", "%s/%s/registrations" % (_base(), aid), None),
                               ("POST", "%s/%s/cancel" % (_base(), aid), None),
                               ("GET", "/v1/properties/%s/reports/activities?from=2036-01-01&to=2036-12-31" % pid,
                                None)):
        _error(stack.http(method, path, body=body, token=out), 404, "not_found", "%s %s" % (method, path))
    # an activity id of this property asked under the other one: 404 even for an admin
    _error(_admin(stack, "GET", "%s/%s" % (_base(STATE["other"]), aid)), 404, "not_found", "other pid")
    _error(_admin(stack, "GET", "%s/not-a-uuid" % _base()), 404, "not_found", "bad id")


def test_register_rules(stack):
    aid, units, parties = STATE["fair"], STATE["units"], STATE["parties"]
    r = _ok(_register(stack, aid, units[0], parties[0], people=3), 201, "register")
    assert r["people"] == 3 and r["unit_id"] == units[0] and r["unit_code"] == "A-000", r
    assert r["party_name"] == "住户0" and r["attended"] is False and "phone" not in r, r
    # the same unit again (another party, other people): the first, 200
    again = _ok(_register(stack, aid, units[0], parties[0], people=1), 200, "again")
    assert again == r, (again, r)
    a = _ok(_admin(stack, "GET", "%s/%s" % (_base(), aid)), 200, "counts")
    assert a["registrations"] == 1 and a["registered"] == 3 and a["places_left"] == 27, a
    # not the unit's occupant, another property's unit, bad input
    err = _error(_register(stack, aid, units[1], parties[0]), 422, "validation_failed", "not occupant")
    assert _fields(err) == {"party_id"}, err
    err = _error(_register(stack, aid, STATE["xunit"], STATE["xparty"]), 422, "validation_failed", "other unit")
    assert _fields(err) == {"unit_id"}, err
    err = _error(_register(stack, aid, "nope", parties[1], people=11), 422, "validation_failed", "bad")
    assert _fields(err) == {"unit_id", "people"}, err
    _error(_register(stack, str(uuid.uuid4()), units[1], parties[1]), 404, "not_found", "no activity")
    _error(_register(stack, aid, units[1], parties[1], token=STATE["tech"]), 403, "forbidden", "technician")
    # more people than places: activity_full, nothing written
    small = _ok(_create(stack, title="茶艺课", capacity=2, announce=False), 201, "small")["id"]
    _error(_register(stack, small, units[1], parties[1], people=3), 409, "activity_full", "3 for 2")
    _ok(_register(stack, small, units[1], parties[1], people=2), 201, "2 for 2")
    _error(_register(stack, small, units[2], parties[2]), 409, "activity_full", "full")
    STATE["small"] = small
    # started, and cancelled: 409 conflict
    past = _ok(_create(stack, title="已开始", starts_at=PAST[0], ends_at=PAST[1], announce=False), 201, "past")["id"]
    _error(_register(stack, past, units[1], parties[1]), 409, "conflict", "started")
    STATE["past"] = past


def test_unregister_frees_places(stack):
    small, units, parties = STATE["small"], STATE["units"], STATE["parties"]
    regs = _ok(stack.http("GET", "%s/%s/registrations" % (_base(), small), token=STATE["agent"]), 200, "list")
    assert len(regs["items"]) == 1 and regs["next_cursor"] is None, regs
    rid = regs["items"][0]["id"]
    url = "%s/%s/registrations/%s" % (_base(), small, rid)
    r = stack.http("DELETE", url, token=STATE["agent"])
    assert r.status == 204, r
    _error(stack.http("DELETE", url, token=STATE["agent"]), 404, "not_found", "twice")
    a = _ok(_admin(stack, "GET", "%s/%s" % (_base(), small)), 200, "freed")
    assert a["registered"] == 0 and a["places_left"] == 2 and a["registrations"] == 0, a
    _ok(_register(stack, small, units[2], parties[2], people=2), 201, "the places again")
    # a registration of another activity is not this one's
    other_rid = _ok(_register(stack, STATE["fair"], units[4], parties[4]), 201, "fair")["id"]
    _error(stack.http("DELETE", "%s/%s/registrations/%s" % (_base(), small, other_rid), token=STATE["agent"]),
           404, "not_found", "another activity's")


def test_twenty_parallel_signups_for_ten_places(stack):
    aid = _ok(_create(stack, title="包饺子", capacity=10, announce=False), 201, "ten places")["id"]
    units, parties = STATE["units"], STATE["parties"]
    results = [None] * CROWD
    gate = threading.Barrier(CROWD)

    def one(i):
        gate.wait()
        results[i] = _register(stack, aid, units[i], parties[i], token=stack.admin_token)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CROWD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 10 and statuses.count(409) == 10, statuses
    assert all(r.json()["error"]["code"] == "activity_full" for r in results if r.status == 409), results
    a = _ok(_admin(stack, "GET", "%s/%s" % (_base(), aid)), 200, "after the crowd")
    assert a["registered"] == 10 and a["registrations"] == 10 and a["places_left"] == 0, a
    n = stack.psql("SELECT count(*), sum(people) FROM notifications.activity_registrations "
                   "WHERE activity_id = '%s'" % aid)[0]
    assert n == ("10", "10"), n
    # paging the registrations: 4 + 4 + 2, each once, in the order they came
    seen, cursor = [], None
    while True:
        q = "?limit=4" + ("&cursor=" + cursor if cursor else "")
        page = _ok(stack.http("GET", "%s/%s/registrations%s" % (_base(), aid, q), token=STATE["agent"]), 200, "page")
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 10 and len(set(seen)) == 10, seen
    STATE["crowd"] = aid


def test_patch(stack):
    aid = STATE["crowd"]
    url = "%s/%s" % (_base(), aid)
    a = _ok(stack.http("PATCH", url, body={"place": "社区活动室", "capacity": 12}, token=STATE["manager"]), 200, "patch")
    assert a["place"] == "社区活动室" and a["capacity"] == 12 and a["places_left"] == 2, a
    _error(stack.http("PATCH", url, body={"capacity": 9}, token=STATE["manager"]), 409, "conflict", "below 10")
    err = _error(stack.http("PATCH", url, body={"ends_at": "2030-01-01T00:00:00Z"}, token=STATE["manager"]),
                 422, "validation_failed", "ends before start")
    assert _fields(err) == {"ends_at"}, err
    err = _error(stack.http("PATCH", url, body={"status": "cancelled", "title": ""}, token=STATE["manager"]),
                 422, "validation_failed", "unknown field")
    assert _fields(err) == {"status", "title"}, err
    _error(stack.http("PATCH", url, body={}, token=STATE["manager"]), 422, "validation_failed", "nothing")
    a = _ok(stack.http("PATCH", url, body={"capacity": None}, token=STATE["manager"]), 200, "unlimited")
    assert a["capacity"] is None and a["places_left"] is None and a["place"] == "社区活动室", a


def test_attendance_is_idempotent(stack):
    aid = STATE["crowd"]
    regs = _ok(stack.http("GET", "%s/%s/registrations" % (_base(), aid), token=STATE["agent"]), 200, "list")["items"]
    rid = regs[0]["id"]
    url = "%s/%s/attendance" % (_base(), aid)
    first = _ok(stack.http("POST", url, body={"registration_id": rid}, token=STATE["agent"]), 200, "attend")
    assert first["attended"] is True and first["attended_at"], first
    second = _ok(stack.http("POST", url, body={"registration_id": rid}, token=STATE["agent"]), 200, "again")
    assert second["attended_at"] == first["attended_at"], (first, second)
    _error(stack.http("POST", url, body={"registration_id": str(uuid.uuid4())}, token=STATE["agent"]),
           404, "not_found", "unknown")
    err = _error(stack.http("POST", url, body={"registration_id": 7}, token=STATE["agent"]),
                 422, "validation_failed", "bad id")
    assert _fields(err) == {"registration_id"}, err
    _error(stack.http("POST", url, body={"registration_id": rid}, token=STATE["tech"]), 403, "forbidden", "tech")
    a = _ok(_admin(stack, "GET", "%s/%s" % (_base(), aid)), 200, "attended")
    assert a["attended"] == 1, a
    # an attended registration cannot be taken back
    r = stack.http("DELETE", "%s/%s/registrations/%s" % (_base(), aid, rid), token=STATE["agent"])
    _error(r, 409, "conflict", "unregister attended")
    STATE["attended_rid"] = rid


def test_list_and_report(stack):
    items = _ok(stack.http("GET", _base() + "?limit=500", token=STATE["agent"]), 200, "list")["items"]
    starts = [i["starts_at"] for i in items]
    assert starts == sorted(starts, reverse=True) and len(items) == 5, starts
    assert items[-1]["id"] == STATE["past"], items
    _error(stack.http("GET", _base() + "?status=done", token=STATE["agent"]), 422, "validation_failed", "status")
    _error(stack.http("GET", _base() + "?limit=0", token=STATE["agent"]), 422, "validation_failed", "limit")
    rep = _ok(stack.http("GET", "/v1/properties/%s/reports/activities?from=2036-06-01&to=2036-06-01" % STATE["pid"],
                         token=STATE["agent"]), 200, "report")
    by = {i["activity_id"]: i for i in rep["items"]}
    assert set(by) == {STATE["fair"], STATE["meeting"], STATE["small"], STATE["crowd"]}, rep
    assert by[STATE["crowd"]]["registrations"] == 10 and by[STATE["crowd"]]["attended"] == 1, by[STATE["crowd"]]
    assert by[STATE["crowd"]]["attended_registrations"] == 1, by[STATE["crowd"]]
    assert by[STATE["fair"]]["registered"] == 4 and by[STATE["small"]]["registered"] == 2, rep
    assert rep["activities"] == 4 and rep["registrations"] == 13 and rep["attended"] == 1, rep
    for q in ("", "?from=2036-06-01", "?from=2036-06-02&to=2036-06-01", "?from=2036-01-01&to=2037-06-01",
              "?from=2036-02-30&to=2036-03-01"):
        _error(stack.http("GET", "/v1/properties/%s/reports/activities%s" % (STATE["pid"], q), token=STATE["agent"]),
               422, "validation_failed", "report " + q)
    _error(stack.http("GET", "/v1/properties/%s/reports/activities?from=2036-06-01&to=2036-06-01" % STATE["pid"],
                      token=STATE["tech"]), 403, "forbidden", "tech report")


def test_cancel_tells_the_registered(stack):
    aid = STATE["small"]  # one registration: units[2], party 2, with a phone
    url = "%s/%s/cancel" % (_base(), aid)
    _error(stack.http("POST", url, token=STATE["agent"]), 403, "forbidden", "agent cancels")
    err = _error(stack.http("POST", url, body={"reason": 5}, token=STATE["manager"]), 422, "validation_failed", "bad")
    assert _fields(err) == {"reason"}, err
    a = _ok(stack.http("POST", url, body={"reason": "天气原因"}, token=STATE["manager"]), 200, "cancel")
    assert a["status"] == "cancelled" and a["cancel_reason"] == "天气原因" and a["cancelled_at"], a
    rows = sorted(stack.psql("SELECT recipient, channel, status, body FROM notifications.notifications "
                             "WHERE source_id = '%s'" % aid))
    party = STATE["parties"][2]
    assert [(r[0], r[1]) for r in rows] == [(party, "inbox"), (party, "sms")], rows
    assert rows[0][2] == "delivered" and rows[1][2] in ("queued", "sent", "failed"), rows
    assert "天气原因" in rows[0][3] and "茶艺课" in rows[0][3], rows
    # a second cancel: the same activity, no one told again
    _ok(stack.http("POST", url, token=STATE["manager"]), 200, "cancel again")
    n = stack.psql("SELECT count(*) FROM notifications.notifications WHERE source_id = '%s'" % aid)[0][0]
    assert n == "2", n
    # a cancelled activity: no sign-up, no change, no unregistering
    _error(_register(stack, aid, STATE["units"][3], STATE["parties"][3]), 409, "conflict", "sign-up")
    _error(stack.http("PATCH", "%s/%s" % (_base(), aid), body={"place": "x"}, token=STATE["manager"]),
           409, "conflict", "patch")
    rid = _ok(stack.http("GET", "%s/%s/registrations" % (_base(), aid), token=STATE["agent"]), 200,
              "list")["items"][0]["id"]
    _error(stack.http("DELETE", "%s/%s/registrations/%s" % (_base(), aid, rid), token=STATE["agent"]),
           409, "conflict", "unregister")
    listed = _ok(stack.http("GET", _base() + "?status=cancelled", token=STATE["agent"]), 200, "cancelled")["items"]
    assert [i["id"] for i in listed] == [aid], listed
