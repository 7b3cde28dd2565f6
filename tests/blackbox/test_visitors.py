"""test_visitors: the desk's visitor register (出入人员登记) end to end, through the
gateway and the broker to pm-tickets (API.md, "The front desk's registers").

Register, check in, check out (out of order: 409 invalid_transition), the
on-site list, a day's register in the property's timezone, search by name,
plate and phone digits, masks by role, the day's CSV, the desk settings and
the retention job that purges visitors' personal data. The job runs every
200 ms here (PM_VISITOR_PURGE_MS); visitors are made old by moving their
registered_at back with SQL. Tests run in file order and share STATE.
"""

import csv
import datetime
import io
import re
import secrets
import urllib.parse

from harness import wait_for
from api import ok as _ok, error as _error, fields as _fields

STACK = dict(env={"PM_VISITOR_PURGE_MS": "200"})

STATE = {}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PHONE, PHONE_MASK = "13800138000", "138****8000"
RESIDENT_ID = "11010519491231002X"


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _as(stack, role, method, path, body=None):
    token = stack.admin_token if role == "admin" else STATE["tokens"][role]
    return stack.http(method, path, body=body, token=token)


def _visitor(stack, role="agent", pid=None, **body):
    return _as(stack, role, "POST", _p(pid or STATE["p1"], "visitors"), body)


def _q(params):
    return "?" + urllib.parse.urlencode(params)


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3)
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "VS1-" + tag, "name": "华侨城大厦", "timezone": "Asia/Shanghai"}), 201, "P1")
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "VS2-" + tag, "name": "海岸城"}), 201, "P2")
    u1 = _ok(stack.http("POST", _p(p1["id"], "units"), token=adm,
                        body={"code": "A-1201", "area_m2": 88, "use": "office"}), 201, "unit P1")
    u2 = _ok(stack.http("POST", _p(p2["id"], "units"), token=adm,
                        body={"code": "B-0301", "area_m2": 60, "use": "office"}), 201, "unit P2")
    STATE.update(p1=p1["id"], p2=p2["id"], u1=u1["id"], u2=u2["id"], tokens={})
    for role in ("manager", "agent", "technician"):
        user, pw = "vs-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        _ok(stack.http("POST", "/v1/users", token=adm, body={"username": user, "password": pw, "role": role,
                                                            "property_ids": [p1["id"]]}), 201, "user " + role)
        STATE["tokens"][role] = stack.login(user, pw)
    key = _ok(stack.http("POST", "/v1/api-keys", token=adm,
                         body={"name": "gate", "role": "integration", "property_ids": [p1["id"]]}), 201, "key")
    STATE["tokens"]["integration"] = key["key"]


# ---------------------------------------------------------------- register
def test_register_masks_by_role(stack):
    v = _ok(_visitor(stack, name="王建国", phone="138 0013 8000", id_number=RESIDENT_ID.lower(),
                     visiting_unit_id=STATE["u1"], purpose="面试", vehicle_plate="粤b·123 45"), 201, "register")
    assert UUID.match(v["id"]) and v["status"] == "registered", v
    # the agent who registered sees the masks, never the whole number
    assert v["phone"] == PHONE_MASK and v["id_number"] == "*" * 14 + "002X", v
    assert v["vehicle_plate"] == "粤B12345" and v["visiting_unit_code"] == "A-1201", v
    assert v["checked_in_at"] is None and v["allowed_actions"] == ["check_in"] and v["purged"] is False, v
    whole = _ok(_as(stack, "manager", "GET", _p(STATE["p1"], "visitors/" + v["id"])), 200, "manager reads")
    assert whole["phone"] == PHONE and whole["id_number"] == RESIDENT_ID, whole
    masked = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "visitors/" + v["id"])), 200, "agent reads")
    assert masked["phone"] == PHONE_MASK, masked
    # a walk-in let in at once; nothing optional
    w = _ok(_visitor(stack, role="manager", name="快递员", purpose="送件", check_in=True), 201, "walk-in")
    assert w["status"] == "on_site" and w["checked_in_at"] and w["phone"] is None and w["vehicle_plate"] is None, w
    STATE.update(v=v["id"], walk_in=w["id"])
    # nothing personal in the service's log
    for p in stack.procs["tickets"]:
        text = p.log()
        assert PHONE not in text and RESIDENT_ID not in text and "王建国" not in text, "PII in the tickets log"


def test_register_bad_input(stack):
    err = _error(_visitor(stack, phone=12, id_number="440304199001011234", vehicle_plate="ABC123",
                          visiting_unit_id="not-a-uuid", check_in="yes"), 422, "validation_failed", "bad visitor")
    assert {"name", "purpose", "phone", "id_number", "vehicle_plate", "visiting_unit_id", "check_in"} <= _fields(err), err
    err = _error(_visitor(stack, name="  ", purpose="x", phone="12345"), 422, "validation_failed", "blank name")
    assert {"name", "phone"} == _fields(err), err
    # another property's unit is no unit of this one
    err = _error(_visitor(stack, name="李四", purpose="拜访", visiting_unit_id=STATE["u2"]), 422,
                 "validation_failed", "P2's unit")
    assert _fields(err) == {"visiting_unit_id"}, err
    r = _as(stack, "agent", "POST", _p(STATE["p1"], "visitors"), ["not", "an", "object"])
    _error(r, 422, "validation_failed", "an array")
    _error(_visitor(stack, name="x" * 101, purpose="y"), 422, "validation_failed", "long name")


def test_roles_and_other_property(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    _error(_as(stack, "technician", "GET", _p(p1, "visitors")), 403, "forbidden", "technician lists")
    _error(_as(stack, "integration", "POST", _p(p1, "visitors"), {"name": "x", "purpose": "y"}), 403,
           "forbidden", "integration registers")
    _error(_as(stack, "agent", "GET", _p(p2, "visitors")), 404, "not_found", "agent of P1 lists P2")
    # P1's visitor under P2's path, even for an admin
    _error(_as(stack, "admin", "POST", _p(p2, "visitors/%s/check-in" % STATE["v"])), 404, "not_found", "under P2")
    _error(_as(stack, "admin", "GET", _p(p2, "visitors/" + STATE["v"])), 404, "not_found", "get under P2")
    _error(_as(stack, "agent", "POST", _p(p1, "visitors/nope/check-out")), 404, "not_found", "not a uuid")


# ---------------------------------------------------------------- steps
def test_check_in_and_out(stack):
    base = _p(STATE["p1"], "visitors/" + STATE["v"])
    err = _error(_as(stack, "agent", "POST", base + "/check-out"), 409, "invalid_transition", "out before in")
    assert err["details"] == [{"field": "action", "problem": "allowed: check_in"}], err
    v = _ok(_as(stack, "agent", "POST", base + "/check-in"), 200, "check in")
    assert v["status"] == "on_site" and v["checked_in_at"] and v["checked_in_by"], v
    assert v["phone"] == PHONE_MASK and v["allowed_actions"] == ["check_out"], v
    _error(_as(stack, "agent", "POST", base + "/check-in"), 409, "invalid_transition", "second check-in")
    v = _ok(_as(stack, "manager", "POST", base + "/check-out"), 200, "check out")
    assert v["status"] == "left" and v["checked_out_at"] and v["allowed_actions"] == [], v
    err = _error(_as(stack, "agent", "POST", base + "/check-out"), 409, "invalid_transition", "second check-out")
    assert err["details"][0]["problem"] == "allowed: none", err


# ---------------------------------------------------------------- lists
def _ids(page):
    return [x["id"] for x in page["items"]]


def test_on_site_day_and_search(stack):
    p1 = STATE["p1"]
    on_site = _ok(_as(stack, "agent", "GET", _p(p1, "visitors?on_site=true")), 200, "on site")
    assert _ids(on_site) == [STATE["walk_in"]], on_site
    gone = _ok(_as(stack, "agent", "GET", _p(p1, "visitors?on_site=false")), 200, "not on site")
    assert STATE["v"] in _ids(gone) and STATE["walk_in"] not in _ids(gone), gone
    # the day of registration in Asia/Shanghai (UTC+8, no DST), whatever the hour
    v = _ok(_as(stack, "agent", "GET", _p(p1, "visitors/" + STATE["v"])), 200, "get")
    at = datetime.datetime.strptime(v["registered_at"], "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(hours=8)
    day = at.strftime("%Y-%m-%d")
    STATE["day"] = day
    page = _ok(_as(stack, "agent", "GET", _p(p1, "visitors?date=" + day)), 200, "the day")
    assert set(_ids(page)) == {STATE["v"], STATE["walk_in"]}, page
    page = _ok(_as(stack, "agent", "GET", _p(p1, "visitors?date=2000-01-01")), 200, "another day")
    assert page["items"] == [] and page["next_cursor"] is None, page
    # search: a name, a plate typed with a gap, the phone's digits with spaces
    for q in ("王建", "粤b 123", "0013 8000", "8000"):
        page = _ok(_as(stack, "agent", "GET", _p(p1, "visitors" + _q({"q": q}))), 200, "q=" + q)
        assert _ids(page) == [STATE["v"]], (q, page)
        assert page["items"][0]["phone"] == PHONE_MASK, page
    page = _ok(_as(stack, "agent", "GET", _p(p1, "visitors" + _q({"q": "nobody"}))), 200, "no match")
    assert page["items"] == [], page
    # pages of one, newest first, no repeats
    seen, cursor = [], None
    while True:
        page = _ok(_as(stack, "agent", "GET", _p(p1, "visitors?limit=1" + ("&cursor=" + cursor if cursor else ""))),
                   200, "page")
        seen += _ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [STATE["walk_in"], STATE["v"]], seen
    for bad, field in (("on_site=maybe", "on_site"), ("date=2026-13-01", "date"), ("limit=0", "limit"),
                       ("cursor=%21", "cursor"), ("q=" + "x" * 65, "q")):
        err = _error(_as(stack, "agent", "GET", _p(p1, "visitors?" + bad)), 422, "validation_failed", bad)
        assert field in _fields(err), (bad, err)


# ---------------------------------------------------------------- export
def _csv(r):
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/csv"), r.headers
    assert "attachment" in r.headers.get("content-disposition", ""), r.headers
    assert r.body.startswith(b"\xef\xbb\xbf"), r.body[:10]
    return list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))


def test_export_day_csv(stack):
    p1, day = STATE["p1"], STATE["day"]
    evil = _ok(_visitor(stack, name="=HYPERLINK(\"http://x\")", purpose="-1+1", phone="13912345678"), 201, "evil")
    rows = _csv(_as(stack, "agent", "GET", _p(p1, "exports/visitors?date=" + day)))
    by_name = {row["name"]: row for row in rows}
    assert "王建国" in by_name and by_name["王建国"]["phone"] == PHONE_MASK, rows
    assert by_name["王建国"]["id_number"].endswith("002X") and by_name["王建国"]["id_number"].startswith("*"), rows
    assert by_name["王建国"]["vehicle_plate"] == "粤B12345" and by_name["王建国"]["visiting_unit_code"] == "A-1201", rows
    # formulas are defused with a leading '
    assert "'=HYPERLINK(\"http://x\")" in by_name and by_name["'=HYPERLINK(\"http://x\")"]["purpose"] == "'-1+1", rows
    rows = _csv(_as(stack, "manager", "GET", _p(p1, "exports/visitors?date=" + day)))
    assert {row["phone"] for row in rows} >= {PHONE, "13912345678"}, rows
    assert _csv(_as(stack, "agent", "GET", _p(p1, "exports/visitors?date=2000-01-01"))) == []
    err = _error(_as(stack, "agent", "GET", _p(p1, "exports/visitors")), 422, "validation_failed", "no date")
    assert _fields(err) == {"date"}, err
    _error(_as(stack, "technician", "GET", _p(p1, "exports/visitors?date=" + day)), 403, "forbidden", "technician")
    _error(_as(stack, "agent", "GET", _p(STATE["p2"], "exports/visitors?date=" + day)), 404, "not_found", "P2")
    STATE["evil"] = evil["id"]


# ---------------------------------------------------------------- settings and retention
def test_desk_settings(stack):
    p1 = STATE["p1"]
    s = _ok(_as(stack, "manager", "GET", _p(p1, "desk-settings")), 200, "defaults")
    assert s == {"visitor_retention_days": 180}, s
    _error(_as(stack, "agent", "GET", _p(p1, "desk-settings")), 403, "forbidden", "agent reads")
    _error(_as(stack, "agent", "PUT", _p(p1, "desk-settings"), {"visitor_retention_days": 1}), 403, "forbidden", "agent")
    for bad in ({"visitor_retention_days": 0}, {"visitor_retention_days": 3651}, {"visitor_retention_days": "30"},
                {"visitor_retention_days": 1.5}, {}):
        err = _error(_as(stack, "manager", "PUT", _p(p1, "desk-settings"), bad), 422, "validation_failed", bad)
        assert _fields(err) == {"visitor_retention_days"}, err
    s = _ok(_as(stack, "manager", "PUT", _p(p1, "desk-settings"), {"visitor_retention_days": 30}), 200, "put")
    assert s == {"visitor_retention_days": 30}, s
    assert _ok(_as(stack, "admin", "GET", _p(p1, "desk-settings")), 200, "read back") == s


def test_retention_purges_old_visitors_only(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    other = _ok(_visitor(stack, role="admin", pid=p2, name="赵六", phone="13700001111", purpose="拜访"), 201, "P2")
    # P1 keeps 30 days: its visitor of 31 days ago goes; P2 keeps 180: its visitor of 31 days ago stays
    stack.psql("UPDATE tickets.visitors SET registered_at = registered_at - interval '31 days', "
               "checked_in_at = checked_in_at - interval '31 days', "
               "checked_out_at = checked_out_at - interval '31 days' WHERE id IN ('%s', '%s')"
               % (STATE["v"], other["id"]))
    path = _p(p1, "visitors/" + STATE["v"])
    v = wait_for("the purge of an old visitor",
                 lambda: (lambda x: x if x["purged"] else None)(_ok(_as(stack, "manager", "GET", path), 200, "get")))
    assert v["name"] == "已清除" and v["phone"] is None and v["id_number"] is None and v["vehicle_plate"] is None, v
    assert v["purpose"] == "面试" and v["status"] == "left" and v["visiting_unit_id"] == STATE["u1"], v
    first = stack.psql("SELECT purged_at FROM tickets.visitors WHERE id = '%s'" % STATE["v"])[0][0]
    # a later round leaves it as it is (proof that rounds ran since: a second old visitor is purged)
    stack.psql("UPDATE tickets.visitors SET registered_at = registered_at - interval '31 days' WHERE id = '%s'"
               % STATE["evil"])
    wait_for("a second purge", lambda: stack.psql("SELECT purged_at IS NOT NULL FROM tickets.visitors "
                                                   "WHERE id = '%s'" % STATE["evil"])[0][0] == "t")
    assert stack.psql("SELECT purged_at FROM tickets.visitors WHERE id = '%s'" % STATE["v"])[0][0] == first
    kept = _ok(_as(stack, "admin", "GET", _p(p2, "visitors/" + other["id"])), 200, "P2 visitor")
    assert kept["purged"] is False and kept["phone"] == "13700001111", kept
    fresh = _ok(_as(stack, "manager", "GET", _p(p1, "visitors/" + STATE["walk_in"])), 200, "fresh")
    assert fresh["purged"] is False and fresh["name"] == "快递员", fresh
    # a purged visitor is found by nothing personal any more
    page = _ok(_as(stack, "agent", "GET", _p(p1, "visitors" + _q({"q": "0013 8000"}))), 200, "search after")
    assert page["items"] == [], page
