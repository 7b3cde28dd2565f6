"""test_me_community: a resident's announcements, activities, notification
preferences and visitors (issue K; API.md, "Residents (issue K)";
services/notifications/me.h, services/tickets/me_visitors.h).

Two residents sign in with the code from the SMS file (PM_SMS_FILE): R1 lives
in A-101 (building A, residential), R2 in B-201 (building B, office).
notifications and tickets learn the units and move-ins from tenants' events
(their own copies), which the setup waits for. Tests run in file order and
share S.
"""

import re
import secrets
import threading
import time
import urllib.parse

from api import ok as _ok, error as _error, fields as _fields, resident_token as _token

# twenty residents sign in from this one address (test_twenty_residents_ten_places)
STACK = dict(env={"PM_RESIDENT_CODE_ADDR_MAX": "60"})
S = {}
FUTURE = ("2036-06-01T09:00:00+08:00", "2036-06-01T11:30:00+08:00")


def _adm(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _wait(stack, what, sql, want, timeout=30):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = int(stack.psql(sql)[0][0])
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("never saw %s (%s of %s)" % (what, got, want))


def _me(stack, who, method, path, body=None):
    return stack.http(method, "/v1/me" + path, body=body, token=S[who])


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    pid = _ok(_adm(stack, "POST", "/v1/properties", {"code": "MC-" + tag, "name": "社区自助" + tag}),
              201, "property")["id"]
    units, parties, occs = [], [], []
    for code, b, use in (("A-101", "A", "residential"), ("B-201", "B", "office")):
        units.append(_ok(_adm(stack, "POST", "/v1/properties/%s/units" % pid,
                              {"code": code, "building": b, "floor": "1", "area_m2": 90, "use": use}),
                         201, "unit")["id"])
    phones = ["139%08d" % secrets.randbelow(10 ** 8) for _ in range(2)]
    for i, phone in enumerate(phones):
        parties.append(_ok(_adm(stack, "POST", "/v1/properties/%s/parties" % pid,
                                {"kind": "person", "name": "住户%d" % i, "phone": phone}), 201, "party")["id"])
        occs.append(_ok(_adm(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (pid, units[i]),
                             {"party_id": parties[i], "role": "owner", "start_date": "2026-01-01"}),
                        201, "move-in")["id"])
    ids = ",".join("'%s'" % o for o in occs)
    _wait(stack, "the move-ins (notifications)",
          "SELECT count(*) FROM notifications.occupancies WHERE id IN (%s) AND end_date IS NULL" % ids, 2)
    _wait(stack, "the units (notifications)",
          "SELECT count(*) FROM notifications.units WHERE property_id = '%s'" % pid, 2)
    _wait(stack, "the parties (notifications)",
          "SELECT count(*) FROM notifications.parties WHERE property_id = '%s'" % pid, 2)
    S.update(pid=pid, units=units, parties=parties, occs=occs)
    S["r1"] = _token(stack, phones[0])
    S["r2"] = _token(stack, phones[1])


def test_announcements_by_audience(stack):
    base = "/v1/properties/%s/announcements" % S["pid"]
    made = {}
    for aud in ("all", "building:A", "building:B", "use:office", "use:residential"):
        made[aud] = _ok(_adm(stack, "POST", base, {"title": "通知 " + aud, "body": "内容 " + aud, "audience": aud}),
                        201, "announcement " + aud)["id"]
    r1 = _ok(_me(stack, "r1", "GET", "/announcements"), 200, "r1 announcements")
    want1 = [made[a] for a in ("use:residential", "building:A", "all")]      # newest first
    assert [i["id"] for i in r1["items"]] == want1, r1
    assert r1["next_cursor"] is None, r1
    assert set(r1["items"][0]) >= {"id", "property_id", "title", "body", "audience", "created_at"}, r1
    assert "created_by" not in r1["items"][0] and "recipients" not in r1["items"][0], r1
    r2 = _ok(_me(stack, "r2", "GET", "/announcements"), 200, "r2 announcements")
    assert [i["id"] for i in r2["items"]] == [made[a] for a in ("use:office", "building:B", "all")], r2
    # paged
    p1 = _ok(_me(stack, "r1", "GET", "/announcements?limit=2"), 200, "page 1")
    assert [i["id"] for i in p1["items"]] == want1[:2] and p1["next_cursor"], p1
    p2 = _ok(_me(stack, "r1", "GET", "/announcements?limit=2&cursor=" + p1["next_cursor"]), 200, "page 2")
    assert [i["id"] for i in p2["items"]] == want1[2:] and p2["next_cursor"] is None, p2
    e = _error(_me(stack, "r1", "GET", "/announcements?limit=0"), 422, "validation_failed", "bad limit")
    assert "limit" in _fields(e), e
    e = _error(_me(stack, "r1", "GET", "/announcements?cursor=bm9wZQ"), 422, "validation_failed", "bad cursor")
    assert "cursor" in _fields(e), e


def test_activity_signup_capacity_unregister(stack):
    base = "/v1/properties/%s/activities" % S["pid"]
    act = _ok(_adm(stack, "POST", base, {"title": "亲子读书会", "starts_at": FUTURE[0], "ends_at": FUTURE[1],
                                         "place": "会所", "capacity": 2, "audience": "all", "announce": False}),
              201, "activity")
    only_b = _ok(_adm(stack, "POST", base, {"title": "商户座谈", "starts_at": FUTURE[0], "ends_at": FUTURE[1],
                                            "place": "B 座大堂", "audience": "building:B", "announce": False}),
                 201, "activity B")
    S["act"] = act["id"]
    l1 = _ok(_me(stack, "r1", "GET", "/activities"), 200, "r1 activities")
    assert [a["id"] for a in l1["items"]] == [act["id"]], l1
    assert l1["items"][0]["places_left"] == 2 and l1["items"][0]["my_registrations"] == [], l1
    l2 = _ok(_me(stack, "r2", "GET", "/activities"), 200, "r2 activities")
    assert sorted(a["id"] for a in l2["items"]) == sorted([act["id"], only_b["id"]]), l2
    path = "/activities/%s/registrations" % act["id"]
    # bad input, nothing written
    e = _error(_me(stack, "r1", "POST", path, {"people": 11}), 422, "validation_failed", "bad sign-up")
    assert {"unit_id", "people"} <= set(_fields(e)), e
    _error(_me(stack, "r1", "POST", path, ["x"]), 422, "validation_failed", "not an object")
    # another's unit, an activity not for the unit, an unknown one: 404
    _error(_me(stack, "r1", "POST", path, {"unit_id": S["units"][1]}), 404, "not_found", "r2's unit")
    _error(_me(stack, "r1", "POST", "/activities/%s/registrations" % only_b["id"], {"unit_id": S["units"][0]}),
           404, "not_found", "building B's activity")
    _error(_me(stack, "r1", "POST", "/activities/00000000-0000-4000-8000-000000000000/registrations",
               {"unit_id": S["units"][0]}), 404, "not_found", "no activity")
    n = stack.psql("SELECT count(*) FROM notifications.activity_registrations WHERE activity_id = '%s'" % act["id"])
    assert n[0][0] == "0", n
    reg = _ok(_me(stack, "r1", "POST", path, {"unit_id": S["units"][0], "people": 2}), 201, "sign-up")
    assert reg["unit_id"] == S["units"][0] and reg["party_id"] == S["parties"][0] and reg["people"] == 2, reg
    again = _ok(_me(stack, "r1", "POST", path, {"unit_id": S["units"][0]}), 200, "again")
    assert again["id"] == reg["id"] and again["people"] == 2, again
    _error(_me(stack, "r2", "POST", path, {"unit_id": S["units"][1]}), 409, "activity_full", "full")
    l1 = _ok(_me(stack, "r1", "GET", "/activities"), 200, "r1 activities")["items"][0]
    assert l1["places_left"] == 0 and [r["id"] for r in l1["my_registrations"]] == [reg["id"]], l1
    l2 = [a for a in _ok(_me(stack, "r2", "GET", "/activities"), 200, "r2")["items"] if a["id"] == act["id"]][0]
    assert l2["my_registrations"] == [], l2
    # the staff see it
    regs = _ok(_adm(stack, "GET", base + "/%s/registrations" % act["id"]), 200, "staff list")["items"]
    assert [r["id"] for r in regs] == [reg["id"]], regs
    # another resident cannot remove it; the owner can, and the places come back
    _error(_me(stack, "r2", "DELETE", "%s/%s" % (path, reg["id"])), 404, "not_found", "r2 removes r1's")
    _error(_me(stack, "r1", "DELETE", "%s/not-a-uuid" % path), 404, "not_found", "bad rid")
    r = _me(stack, "r1", "DELETE", "%s/%s" % (path, reg["id"]))
    assert r.status == 204, r
    _error(_me(stack, "r1", "DELETE", "%s/%s" % (path, reg["id"])), 404, "not_found", "twice")
    reg2 = _ok(_me(stack, "r2", "POST", path, {"unit_id": S["units"][1]}), 201, "r2 signs up")
    assert reg2["party_id"] == S["parties"][1] and reg2["people"] == 1, reg2
    got = _ok(_adm(stack, "GET", base + "/" + act["id"]), 200, "activity")
    assert got["registered"] == 1 and got["places_left"] == 1, got


def test_twenty_residents_ten_places(stack):
    """Twenty residents of twenty units sign up at once, each from their phone,
    for an activity of ten places: exactly ten are registered, the other ten
    are told activity_full, and the places never go below zero."""
    pid, n = S["pid"], 20
    base = "/v1/properties/%s" % pid
    units, occs, phones = [], [], []
    for i in range(n):
        units.append(_ok(_adm(stack, "POST", base + "/units", {"code": "C-%02d" % i, "building": "C", "floor": "1",
                                                             "area_m2": 80, "use": "residential"}), 201, "unit")["id"])
        phones.append("138%08d" % secrets.randbelow(10 ** 8))
        party = _ok(_adm(stack, "POST", base + "/parties", {"kind": "person", "name": "邻居%d" % i,
                                                          "phone": phones[i]}), 201, "party")["id"]
        occs.append(_ok(_adm(stack, "POST", "%s/units/%s/occupancies" % (base, units[i]),
                             {"party_id": party, "role": "owner", "start_date": "2026-01-01"}), 201, "move-in")["id"])
    _wait(stack, "the move-ins (notifications)", "SELECT count(*) FROM notifications.occupancies WHERE id IN (%s) "
          "AND end_date IS NULL" % ",".join("'%s'" % o for o in occs), n)
    tokens = [_token(stack, p) for p in phones]
    act = _ok(_adm(stack, "POST", base + "/activities", {"title": "中秋游园会", "starts_at": FUTURE[0],
                                                         "ends_at": FUTURE[1], "place": "中心广场", "capacity": 10,
                                                         "audience": "building:C", "announce": False}),
              201, "activity")
    path = "/v1/me/activities/%s/registrations" % act["id"]
    answers = [None] * n
    start = threading.Barrier(n)

    def sign_up(i):
        start.wait()
        answers[i] = stack.http("POST", path, body={"unit_id": units[i]}, token=tokens[i])

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status for r in answers)
    assert codes == [201] * 10 + [409] * 10, codes
    full = [r for r in answers if r.status == 409]
    assert all(r.json()["error"]["code"] == "activity_full" for r in full), [r.json() for r in full]
    rows = stack.psql("SELECT count(*), count(DISTINCT unit_id) FROM notifications.activity_registrations "
                      "WHERE activity_id = '%s'" % act["id"])
    assert rows[0] == ("10", "10"), rows
    got = _ok(_adm(stack, "GET", base + "/activities/" + act["id"]), 200, "activity")
    assert got["registered"] == 10 and got["places_left"] == 0, got


def test_preferences_round_trip(stack):
    got = _ok(_me(stack, "r1", "GET", "/notification-preferences"), 200, "prefs")
    assert [p["party_id"] for p in got["items"]] == [S["parties"][0]], got
    assert got["items"][0]["default"] is True and got["items"][0]["channels"] == ["sms", "email"], got
    put = _ok(_me(stack, "r1", "PUT", "/notification-preferences", {"channels": ["inbox", "sms"], "locale": "en"}),
              200, "put")
    assert put["items"][0]["channels"] == ["inbox", "sms"] and put["items"][0]["locale"] == "en", put
    got = _ok(_me(stack, "r1", "GET", "/notification-preferences"), 200, "prefs again")["items"][0]
    assert got["channels"] == ["inbox", "sms"] and got["locale"] == "en" and got["opt_out"] is False, got
    assert got["default"] is False, got
    # the desk sees the same; r2's are untouched
    desk = _ok(_adm(stack, "GET", "/v1/properties/%s/parties/%s/notification-preferences"
                    % (S["pid"], S["parties"][0])), 200, "desk view")
    assert desk["channels"] == ["inbox", "sms"], desk
    other = _ok(_me(stack, "r2", "GET", "/notification-preferences"), 200, "r2")["items"][0]
    assert other["default"] is True, other
    e = _error(_me(stack, "r1", "PUT", "/notification-preferences", {"channels": ["fax"]}), 422,
               "validation_failed", "bad channel")
    assert "channels" in _fields(e), e
    _error(_me(stack, "r1", "PUT", "/notification-preferences", {}), 422, "validation_failed", "empty")
    got = _ok(_me(stack, "r1", "GET", "/notification-preferences"), 200, "unchanged")["items"][0]
    assert got["channels"] == ["inbox", "sms"], got


def test_staff_token_forbidden(stack):
    for method, path, body in (("GET", "/announcements", None), ("GET", "/activities", None),
                               ("POST", "/activities/%s/registrations" % S["act"], {"unit_id": S["units"][0]}),
                               ("GET", "/notification-preferences", None),
                               ("PUT", "/notification-preferences", {"locale": "en"})):
        _error(stack.http(method, "/v1/me" + path, body=body, token=stack.admin_token), 403, "forbidden",
               "staff on " + path)
    r = stack.http("GET", "/v1/me/announcements")
    assert r.status == 401, r


def test_visitor_expected_at_the_desk_and_barrier(stack):
    pid, unit = S["pid"], S["units"][0]
    _wait(stack, "the move-ins (tickets)",
          "SELECT count(*) FROM tickets.tenant_occupancies WHERE id IN (%s) AND end_date IS NULL"
          % ",".join("'%s'" % o for o in S["occs"]), 2)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    plate = "粤B%05d" % secrets.randbelow(10 ** 5)
    # bad input: nothing written
    before = stack.psql("SELECT count(*) FROM tickets.visitors WHERE property_id = '%s'" % pid)[0][0]
    e = _error(_me(stack, "r1", "POST", "/visitors", {"name": "", "expected_at": "tomorrow",
                                                      "vehicle_plate": "XYZ"}), 422, "validation_failed", "bad")
    assert {"unit_id", "name", "expected_at", "vehicle_plate"} <= set(_fields(e)), e
    e = _error(_me(stack, "r1", "POST", "/visitors", {"unit_id": unit, "name": "张三",
                                                      "expected_at": "2020-01-01T10:00:00Z"}),
               422, "validation_failed", "long past")
    assert _fields(e) == {"expected_at"}, e
    _error(_me(stack, "r1", "POST", "/visitors", [1]), 422, "validation_failed", "not an object")
    # another's unit
    _error(_me(stack, "r1", "POST", "/visitors", {"unit_id": S["units"][1], "name": "张三", "expected_at": now}),
           404, "not_found", "r2's unit")
    after = stack.psql("SELECT count(*) FROM tickets.visitors WHERE property_id = '%s'" % pid)[0][0]
    assert after == before, (before, after)
    v = _ok(_me(stack, "r1", "POST", "/visitors", {"unit_id": unit, "name": "张三", "expected_at": now,
                                                   "vehicle_plate": plate}), 201, "announce")
    assert re.match(r"^\d{6}$", v["pass_code"]), v
    assert v["unit_id"] == unit and v["vehicle_plate"] == plate and v["status"] == "expected", v
    assert v["vehicle_pass"] and v["vehicle_pass"]["id"], v
    # the desk's register of that day: expected, with the code
    reg = _ok(_adm(stack, "GET", "/v1/properties/%s/visitors?date=%s" % (pid, v["expected_date"])), 200, "register")
    mine = [x for x in reg["items"] if x["id"] == v["id"]]
    assert len(mine) == 1, reg
    assert mine[0]["expected"] is True and mine[0]["pass_code"] == v["pass_code"], mine
    assert mine[0]["visiting_unit_id"] == unit and mine[0]["vehicle_plate"] == plate, mine
    assert mine[0]["status"] == "registered" and "check_in" in mine[0]["allowed_actions"], mine
    # the barrier: allowed today; another plate not
    chk = _ok(_adm(stack, "GET", "/v1/properties/%s/vehicle-passes/check?plate=%s" % (pid, urllib.parse.quote(plate))), 200, "check")
    assert chk["allowed"] is True, chk
    other = _ok(_adm(stack, "GET", "/v1/properties/%s/vehicle-passes/check?plate=%s" % (pid, urllib.parse.quote("粤A99999"))),
                200, "check other")
    assert other["allowed"] is False, other
    # the desk checks them in as usual: no longer expected
    got = _ok(_adm(stack, "POST", "/v1/properties/%s/visitors/%s/check-in" % (pid, v["id"])), 200, "check in")
    assert got["status"] == "on_site" and got["expected"] is False, got
    # without a plate: no pass
    w = _ok(_me(stack, "r2", "POST", "/visitors", {"unit_id": S["units"][1], "name": "李四", "expected_at": now}),
            201, "r2 announces")
    assert w["vehicle_pass"] is None and w["vehicle_plate"] is None and w["pass_code"] != "", w
    _error(stack.http("POST", "/v1/me/visitors", body={"unit_id": unit, "name": "x", "expected_at": now},
                      token=stack.admin_token), 403, "forbidden", "staff")
