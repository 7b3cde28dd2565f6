"""test_daily_checks: the manager's daily check (例行工作检查(每天), issue L):
the checklist (the default one in Chinese, then the property's own), a day's
record (each item once, nothing else; a day in the future of the property's
own calendar refused; a second record of a day 409), the records of a range
with the days missed up to today, bad input, roles and another property.

The service runs with PM_TEST_CLOCK=1: "now" is pinned to 2027-03-10 01:00 in
Shanghai, which is still 2027-03-09 in New York.
"""

import calendar
import secrets
import time
import urllib.parse

from api import error as _error, fields as _fields, ok as _ok, staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}
NOW = calendar.timegm(time.strptime("2027-03-09 17:00", "%Y-%m-%d %H:%M"))  # 2027-03-10 01:00 +08:00
ITEMS = ["交接班记录", "工单跟进", "投诉回访"]


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path="", pid=None):
    return "/v1/properties/%s%s" % (pid or S["p1"], path)


def _user(stack, role, pids):
    return staff_user(stack, role, pids).token


def _record(date, items=ITEMS, bad=(), note=None):
    return {"date": date, "items": [dict({"item": i, "ok": i not in bad}, **({"note": note} if i in bad else {}))
                                    for i in items]}


def _range(stack, pid=None, who="manager", **q):
    return _ok(_as(stack, who, "GET", _p("/daily-checks?" + urllib.parse.urlencode(q), pid)), 200, "range %r" % q)


def _count(stack, pid):
    return int(stack.psql("SELECT count(*) FROM tickets.daily_checks WHERE property_id = '%s'" % pid)[0][0])


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "DC1-" + tag, "name": "华强国际中心", "timezone": "Asia/Shanghai"}), 201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "DC2-" + tag, "name": "Hudson Yards", "timezone": "America/New_York"}),
             201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm})
    for who, role, pids in (("agent", "agent", [p1]), ("manager", "manager", [p1]),
                            ("technician", "technician", [p1]), ("manager2", "manager", [p2])):
        S["tokens"][who] = _user(stack, role, pids)
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % (NOW - int(time.time())))


def test_default_checklist_then_the_propertys_own(stack):
    d = _ok(_as(stack, "manager", "GET", _p("/daily-check-items")), 200, "default")
    assert d["default"] is True and len(d["items"]) == 8 and "交接班记录已填写并签字" in d["items"], d
    S["default_items"] = d["items"]
    r = _ok(_as(stack, "manager", "PUT", _p("/daily-check-items"), {"items": ITEMS}), 200, "put")
    assert r == {"items": ITEMS, "default": False}, r
    assert _ok(_as(stack, "admin", "GET", _p("/daily-check-items")), 200, "get") == r
    # P2 keeps the default
    assert _ok(_as(stack, "manager2", "GET", _p("/daily-check-items", S["p2"])), 200, "P2")["default"] is True


def test_checklist_bad_input(stack):
    for body, field in (({}, "items"), ({"items": []}, "items"), ({"items": "交接班"}, "items"),
                        ({"items": ["a", "a"]}, "items[1]"), ({"items": ["a", ""]}, "items[1]"),
                        ({"items": [5]}, "items[0]"), ({"items": ["x" * 201]}, "items[0]"),
                        ({"items": ["i%d" % i for i in range(51)]}, "items"), ([], "body")):
        err = _error(_as(stack, "manager", "PUT", _p("/daily-check-items"), body), 422, "validation_failed",
                     repr(body)[:40])
        assert field in _fields(err), "%s: %r" % (field, err)
    assert _ok(_as(stack, "manager", "GET", _p("/daily-check-items")), 200, "unchanged")["items"] == ITEMS


def test_a_days_record(stack):
    r = _ok(_as(stack, "manager", "POST", _p("/daily-checks"), _record("2027-03-08")), 201, "record")
    assert r["date"] == "2027-03-08" and r["failed"] == 0 and r["all_ok"] is True, r
    assert [i["item"] for i in r["items"]] == ITEMS and all(i["ok"] and i["note"] is None for i in r["items"]), r
    err = _error(_as(stack, "admin", "POST", _p("/daily-checks"), _record("2027-03-08")), 409, "conflict", "twice")
    assert "date" in _fields(err), err
    # today in Shanghai: one item not ok, with a note
    r = _ok(_as(stack, "manager", "POST", _p("/daily-checks"),
                _record("2027-03-10", bad=("投诉回访",), note="两单未回访")), 201, "today")
    assert r["failed"] == 1 and r["all_ok"] is False, r
    assert r["items"][2] == {"item": "投诉回访", "ok": False, "note": "两单未回访"}, r


def test_record_bad_input(stack):
    before = _count(stack, S["p1"])
    for body, field in ((_record("2027-03-11"), "date"),                      # tomorrow in Shanghai
                        (_record("2027-02-30"), "date"),
                        ({"items": _record("2027-03-01")["items"]}, "date"),
                        (_record("2027-03-01", items=ITEMS[:2]), "items"),      # one missing
                        (_record("2027-03-01", items=ITEMS + ["别的"]), "items[3].item"),
                        (_record("2027-03-01", items=ITEMS + ITEMS[:1]), "items[3].item"),
                        ({"date": "2027-03-01", "items": [{"item": i, "ok": "yes"} for i in ITEMS]}, "items[0].ok"),
                        ({"date": "2027-03-01", "items": [{"item": i} for i in ITEMS]}, "items[1].ok"),
                        (_record("2027-03-01", bad=ITEMS[:1], note="x" * 1001), "items[0].note"),
                        ({"date": "2027-03-01", "items": [1, 2, 3]}, "items[0]"),
                        ({"date": "2027-03-01", "items": []}, "items"),
                        ({"date": "2027-03-01"}, "items"),
                        ("today", "body")):
        err = _error(_as(stack, "manager", "POST", _p("/daily-checks"), body), 422, "validation_failed",
                     repr(body)[:60])
        assert field in _fields(err), "%s: %r" % (field, err)
    assert _count(stack, S["p1"]) == before, "a refused record was written"


def test_today_is_the_propertys_own(stack):
    # 2027-03-10 has not begun in New York; P2 checks the default list
    _error(_as(stack, "manager2", "POST", _p("/daily-checks", S["p2"]), _record("2027-03-10", S["default_items"])),
           422, "validation_failed", "NY tomorrow")
    _error(_as(stack, "manager2", "POST", _p("/daily-checks", S["p2"]), _record("2027-03-09", ITEMS)),
           422, "validation_failed", "P1's list on P2")
    r = _ok(_as(stack, "manager2", "POST", _p("/daily-checks", S["p2"]), _record("2027-03-09", S["default_items"])),
            201, "NY today")
    assert r["failed"] == 0 and len(r["items"]) == 8, r
    got = _range(stack, S["p2"], "manager2", **{"from": "2027-03-07", "to": "2027-03-12"})
    assert [i["date"] for i in got["items"]] == ["2027-03-09"] and got["missed"] == ["2027-03-07", "2027-03-08"], got


def test_range_and_missed_days(stack):
    r = _range(stack, **{"from": "2027-03-01", "to": "2027-03-10"})
    assert (r["from"], r["to"]) == ("2027-03-01", "2027-03-10"), r
    assert [i["date"] for i in r["items"]] == ["2027-03-08", "2027-03-10"], r
    assert r["missed"] == ["2027-03-0%d" % d for d in range(1, 8)] + ["2027-03-09"], r
    # days after today are not missed (yet)
    r = _range(stack, **{"from": "2027-03-05", "to": "2027-03-20"})
    assert r["missed"] == ["2027-03-05", "2027-03-06", "2027-03-07", "2027-03-09"], r
    # no range: the 30 days ending today
    r = _range(stack)
    assert (r["from"], r["to"]) == ("2027-02-09", "2027-03-10") and len(r["missed"]) == 28, r
    assert r["missed"][0] == "2027-02-09" and len(r["items"]) == 2, r
    r = _range(stack, to="2027-03-08")
    assert r["from"] == "2027-02-07" and r["items"][-1]["date"] == "2027-03-08", r
    for q, field in (({"from": "2027-03-10", "to": "2027-03-01"}, "to"), ({"from": "2026-01-01"}, "to"),
                     ({"from": "2027-13-01"}, "from"), ({"to": "yesterday"}, "to")):
        err = _error(_as(stack, "manager", "GET", _p("/daily-checks?" + urllib.parse.urlencode(q))), 422,
                     "validation_failed", repr(q))
        assert field in _fields(err), "%s: %r" % (q, err)


def test_roles_and_another_property(stack):
    for who in ("agent", "technician"):
        for method, path, body in (("GET", "/daily-check-items", None), ("PUT", "/daily-check-items", {"items": ["x"]}),
                                   ("GET", "/daily-checks", None), ("POST", "/daily-checks", _record("2027-03-01"))):
            _error(_as(stack, who, method, _p(path), body), 403, "forbidden", "%s %s %s" % (who, method, path))
    _error(_as(stack, "manager2", "GET", _p("/daily-checks")), 404, "not_found", "P2's manager on P1")
    _error(_as(stack, "manager2", "POST", _p("/daily-checks"), _record("2027-03-01")), 404, "not_found", "P1 write")
    assert _count(stack, S["p1"]) == 2


def test_zz_clock_back(stack):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
