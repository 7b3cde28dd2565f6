"""test_contractors: contractors and their supervision (监管评定, API.md "Service
quality (issue L)") end to end: contractors per service, inspections scored on
weighted criteria (the weighted mean rounded to one decimal, half away from
zero), a score below the property's threshold opening a rectification ticket
(整改) in the same transaction, the monthly report with each contractor's
lowest criterion, and the 12-month trend, each against figures worked out by
hand here. Fixture months are fixed (2026-06) or relative to the real date
(the trend), never to the second. Tests share STATE.
"""

import datetime
import secrets

from api import ok as _ok, error as _error, fields as _fields

STATE = {}
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _as(stack, role, method, path, body=None):
    token = stack.admin_token if role == "admin" else STATE["tokens"][role]
    return stack.http(method, path, body=body, token=token)


def _contractor(stack, role="manager", pid=None, **body):
    return _as(stack, role, "POST", _p(pid or STATE["p1"], "contractors"), body)


def _inspect(stack, contractor_id, criteria, at="2026-06-15T02:00:00Z", area="1号楼大堂", role="manager", pid=None):
    return _as(stack, role, "POST", _p(pid or STATE["p1"], "inspections"),
               {"contractor_id": contractor_id, "area": area, "inspected_at": at, "criteria": criteria})


def _crit(*pairs):
    """criteria from (name, weight, score) triples"""
    return [{"name": n, "weight": w, "score": s} for n, w, s in pairs]


def _count(stack, table, pid):
    return int(stack.psql("SELECT count(*) FROM tickets.%s WHERE property_id = '%s'" % (table, pid))[0][0])


def test_setup(stack):
    tag = secrets.token_hex(3)
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "CN1-" + tag, "name": "承包商一", "timezone": "Asia/Shanghai"}), 201, "P1")
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "CN2-" + tag, "name": "承包商二", "timezone": "Asia/Shanghai"}), 201, "P2")
    STATE.update(p1=p1["id"], p2=p2["id"], tokens={})
    for role in ("manager", "agent", "technician"):
        user, pw = "cn-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        _ok(stack.http("POST", "/v1/users", token=adm, body={"username": user, "password": pw, "role": role,
                                                            "property_ids": [p1["id"]]}), 201, "user " + role)
        STATE["tokens"][role] = stack.login(user, pw)


def test_contractors_create_read_update(stack):
    c = _ok(_contractor(stack, name="洁美保洁", service="cleaning", contact="王经理", phone="138 0013 8000"),
            201, "cleaning contractor")
    assert c["name"] == "洁美保洁" and c["service"] == "cleaning" and c["active"] is True, c
    assert c["contact"] == "王经理" and c["phone"] == "13800138000", c
    g = _ok(_contractor(stack, name="绿源园林", service="greening"), 201, "greening contractor")
    assert g["phone"] is None and g["contact"] is None, g
    STATE.update(cleaning=c["id"], greening=g["id"])
    # the desk reads, with the contact's phone masked
    a = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "contractors/" + c["id"])), 200, "agent get")
    assert a["phone"] == "138****8000" and a["name"] == "洁美保洁", a
    m = _ok(_as(stack, "manager", "GET", _p(STATE["p1"], "contractors/" + c["id"])), 200, "manager get")
    assert m["phone"] == "13800138000", m
    lst = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "contractors?service=greening")), 200, "list")
    assert [x["id"] for x in lst["items"]] == [g["id"]], lst
    page = _ok(_as(stack, "manager", "GET", _p(STATE["p1"], "contractors?limit=1")), 200, "page 1")
    assert len(page["items"]) == 1 and page["next_cursor"], page
    rest = _ok(_as(stack, "manager", "GET", _p(STATE["p1"], "contractors?limit=1&cursor=" + page["next_cursor"])),
               200, "page 2")
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {c["id"], g["id"]}, (page, rest)
    # PATCH: contact cleared, deactivated and back
    u = _ok(_as(stack, "manager", "PATCH", _p(STATE["p1"], "contractors/" + g["id"]),
                {"contact": "李工", "active": False}), 200, "patch")
    assert u["contact"] == "李工" and u["active"] is False and u["service"] == "greening", u
    off = _ok(_as(stack, "manager", "GET", _p(STATE["p1"], "contractors?active=false")), 200, "inactive")
    assert [x["id"] for x in off["items"]] == [g["id"]], off
    u = _ok(_as(stack, "manager", "PATCH", _p(STATE["p1"], "contractors/" + g["id"]),
                {"contact": None, "active": True}), 200, "patch back")
    assert u["contact"] is None and u["active"] is True, u
    # the same name twice in a property is a conflict
    _error(_contractor(stack, name="洁美保洁", service="other"), 409, "conflict", "duplicate name")


def test_contractors_bad_input_and_roles(stack):
    before = _count(stack, "contractors", STATE["p1"])
    err = _error(_contractor(stack, name="", service="plumbing", phone="12"), 422, "validation_failed", "bad")
    assert {"name", "service", "phone"} <= _fields(err), err
    err = _error(_contractor(stack, name="x"), 422, "validation_failed", "no service")
    assert "service" in _fields(err), err
    err = _error(_as(stack, "manager", "PATCH", _p(STATE["p1"], "contractors/" + STATE["cleaning"]),
                     {"service": "greening", "active": "no"}), 422, "validation_failed", "bad patch")
    assert {"service", "active"} <= _fields(err), err
    assert _count(stack, "contractors", STATE["p1"]) == before, "a refused contractor was written"
    # agents read only; technicians not at all
    _error(_contractor(stack, role="agent", name="x", service="other"), 403, "forbidden", "agent writes")
    _error(_as(stack, "technician", "GET", _p(STATE["p1"], "contractors")), 403, "forbidden", "technician")
    _error(_as(stack, "technician", "GET", _p(STATE["p1"], "reports/contractors?period=2026-06")), 403,
           "forbidden", "technician report")
    # another property's contractor does not exist here
    other = _ok(_contractor(stack, role="admin", pid=STATE["p2"], name="外盘保洁", service="cleaning"), 201, "p2")
    STATE["other"] = other["id"]
    _error(_as(stack, "admin", "GET", _p(STATE["p1"], "contractors/" + other["id"])), 404, "not_found", "cross get")
    _error(_as(stack, "admin", "PATCH", _p(STATE["p1"], "contractors/" + other["id"]), {"name": "x"}), 404,
           "not_found", "cross patch")
    _error(_as(stack, "manager", "GET", _p(STATE["p2"], "contractors")), 404, "not_found", "manager of p1 on p2")


def test_settings(stack):
    s = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "contractor-settings")), 200, "default")
    assert s == {"threshold": 80}, s
    err = _error(_as(stack, "manager", "PUT", _p(STATE["p1"], "contractor-settings"), {"threshold": 101}), 422,
                 "validation_failed", "threshold 101")
    assert _fields(err) == {"threshold"}, err
    _error(_as(stack, "agent", "PUT", _p(STATE["p1"], "contractor-settings"), {"threshold": 70}), 403,
           "forbidden", "agent sets")
    s = _ok(_as(stack, "manager", "PUT", _p(STATE["p1"], "contractor-settings"), {"threshold": 80.5}), 200, "set")
    assert s == {"threshold": 80.5}, s


def test_inspection_weighted_mean(stack):
    # weights 3 and 1, scores 90 and 71: (3 * 90 + 71) / 4 = 85.25 -> 85.3
    i = _ok(_inspect(stack, STATE["cleaning"], _crit(("地面清洁", 3, 90), ("垃圾清运", 1, 71))), 201, "inspection")
    assert i["score"] == 85.3 and i["below_threshold"] is False and i["rectification_ticket_id"] is None, i
    assert i["threshold"] == 80.5 and i["period"] == "2026-06" and i["contractor_name"] == "洁美保洁", i
    assert i["criteria"] == [{"name": "地面清洁", "weight": 3, "score": 90}, {"name": "垃圾清运", "weight": 1, "score": 71}], i
    # one decimal and decimal weights: 0.5 * 80 + 0.25 * 60 + 0.25 * 99.9 = 79.975 -> 80.0 (80.5: below)
    j = _ok(_inspect(stack, STATE["greening"], _crit(("修剪", 0.5, 80), ("浇灌", 0.25, 60), ("病虫害", 0.25, 99.9)),
                     area="中庭花园"), 201, "decimals")
    assert j["score"] == 80.0 and j["below_threshold"] is True and j["rectification_ticket_id"], j
    got = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "inspections/" + i["id"])), 200, "agent reads it")
    assert got["score"] == 85.3 and got["id"] == i["id"], got
    STATE.update(i1=i["id"], j1=j["id"])


def test_inspection_bad_input(stack):
    pid = STATE["p1"]
    before = (_count(stack, "contractor_inspections", pid), _count(stack, "tickets", pid))
    # weights summing to zero: each weight 0 is refused
    err = _error(_inspect(stack, STATE["cleaning"], _crit(("a", 0, 90), ("b", 0, 70))), 422, "validation_failed",
                 "zero weights")
    assert {"criteria[0].weight", "criteria[1].weight"} <= _fields(err), err
    err = _error(_inspect(stack, STATE["cleaning"], _crit(("a", -1, 90), ("b", 2, 70))), 422, "validation_failed",
                 "negative weight")
    assert _fields(err) == {"criteria[0].weight"}, err
    err = _error(_inspect(stack, STATE["cleaning"], _crit(("a", 1, 101))), 422, "validation_failed", "score 101")
    assert _fields(err) == {"criteria[0].score"}, err
    err = _error(_inspect(stack, STATE["cleaning"], _crit(("a", 1, 85.55), ("a", 1, 80))), 422, "validation_failed",
                 "two decimals, a name twice")
    assert {"criteria[0].score", "criteria[1].name"} <= _fields(err), err
    err = _error(_inspect(stack, "not-a-uuid", [], at="yesterday", area=""), 422, "validation_failed", "everything")
    assert {"contractor_id", "criteria", "inspected_at", "area"} <= _fields(err), err
    future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    err = _error(_inspect(stack, STATE["cleaning"], _crit(("a", 1, 90)), at=future), 422, "validation_failed", "future")
    assert _fields(err) == {"inspected_at"}, err
    _error(_as(stack, "manager", "POST", _p(pid, "inspections"), [1, 2]), 422, "validation_failed", "array")
    # another property's contractor: 404, nothing written
    _error(_inspect(stack, STATE["other"], _crit(("a", 1, 10))), 404, "not_found", "another property's contractor")
    _error(_inspect(stack, STATE["cleaning"], _crit(("a", 1, 90)), role="agent"), 403, "forbidden", "agent inspects")
    assert (_count(stack, "contractor_inspections", pid), _count(stack, "tickets", pid)) == before, "half-written"
    # query parameters
    for q in ("inspections?period=2026-13", "inspections?contractor_id=x", "reports/contractors",
              "reports/contractors?period=June", "contractors/%s/trend?months=0" % STATE["cleaning"],
              "contractors/%s/trend?months=37" % STATE["cleaning"]):
        _error(_as(stack, "manager", "GET", _p(pid, q)), 422, "validation_failed", q)
    _error(_as(stack, "admin", "GET", _p(pid, "contractors/%s/trend" % STATE["other"])), 404, "not_found", "trend p2")
    _error(_as(stack, "admin", "GET", _p(STATE["p2"], "inspections/" + STATE["i1"])), 404, "not_found",
           "inspection via p2")


def test_below_threshold_opens_a_rectification_ticket(stack):
    pid = STATE["p1"]
    # (2 * 70 + 1 * 75) / 3 = 71.666 -> 71.7, below 80.5
    r = _ok(_inspect(stack, STATE["cleaning"], _crit(("地面清洁", 2, 70), ("垃圾清运", 1, 75)), area="地下车库"),
            201, "low inspection")
    assert r["score"] == 71.7 and r["below_threshold"] is True, r
    tid = r["rectification_ticket_id"]
    assert tid and r["rectification_ticket_number"], r
    t = _ok(_as(stack, "manager", "GET", _p(pid, "tickets/" + tid)), 200, "the ticket")
    assert t["type"] == "other" and t["category"] == "rectification" and t["channel"] == "patrol", t
    assert t["status"] == "new" and t["number"] == r["rectification_ticket_number"], t
    assert "洁美保洁" in t["title"] and "地下车库" in t["title"] and "71.7" in t["title"], t
    listed = _ok(_as(stack, "agent", "GET", _p(pid, "tickets?type=other&limit=500")), 200, "tickets")
    assert tid in [x["id"] for x in listed["items"]], listed
    # its ticket.created went out through the outbox, in the inspection's transaction
    rows = stack.psql("SELECT count(*) FROM tickets.outbox WHERE type = 'ticket.created' AND data->>'id' = '%s'" % tid)
    assert rows[0][0] == "1", rows
    same = stack.psql("SELECT count(*) FROM tickets.contractor_inspections i JOIN tickets.tickets t"
                      " ON t.id = i.rectification_ticket_id WHERE i.id = '%s'" % r["id"])
    assert same[0][0] == "1", same
    STATE["low"] = r["id"]


def test_monthly_report(stack):
    pid = STATE["p1"]
    # June 2026 (Asia/Shanghai) for the cleaning contractor: 85.3 (above), 71.7 (above, in the test
    # before: also June) and one more: (3 * 80 + 1 * 60) / 4 = 75.0
    k = _ok(_inspect(stack, STATE["cleaning"], _crit(("地面清洁", 3, 80), ("垃圾清运", 1, 60)),
                     at="2026-06-20T09:00:00+08:00"), 201, "third")
    assert k["score"] == 75.0, k
    # 2026-06-30T20:00Z is July 1st in Shanghai: not June
    late = _ok(_inspect(stack, STATE["cleaning"], _crit(("地面清洁", 1, 10)), at="2026-06-30T20:00:00Z"), 201, "July")
    assert late["period"] == "2026-07", late
    rep = _ok(_as(stack, "agent", "GET", _p(pid, "reports/contractors?period=2026-06")), 200, "report")
    assert rep["period"] == "2026-06", rep
    by = {x["contractor_id"]: x for x in rep["items"]}
    assert set(by) == {STATE["cleaning"], STATE["greening"]}, rep  # another property's is not here
    c = by[STATE["cleaning"]]
    # mean of 85.3, 71.7, 75.0 = 232.0 / 3 = 77.333 -> 77.3
    assert c["inspections"] == 3 and c["mean_score"] == 77.3 and c["name"] == "洁美保洁", c
    # 地面清洁 (90 + 70 + 80) / 3 = 80.0; 垃圾清运 (71 + 75 + 60) / 3 = 68.666 -> 68.7: the lowest
    assert c["lowest_criterion"] == {"name": "垃圾清运", "mean_score": 68.7}, c
    g = by[STATE["greening"]]
    # one inspection 80.0; criteria 修剪 80, 浇灌 60, 病虫害 99.9: 浇灌
    assert g["inspections"] == 1 and g["mean_score"] == 80.0, g
    assert g["lowest_criterion"] == {"name": "浇灌", "mean_score": 60.0}, g
    july = _ok(_as(stack, "manager", "GET", _p(pid, "reports/contractors?period=2026-07")), 200, "July report")
    jc = {x["contractor_id"]: x for x in july["items"]}
    assert jc[STATE["cleaning"]]["inspections"] == 1 and jc[STATE["cleaning"]]["mean_score"] == 10.0, july
    g7 = jc[STATE["greening"]]
    assert g7["inspections"] == 0 and g7["mean_score"] is None and g7["lowest_criterion"] is None, july
    empty = _ok(_as(stack, "manager", "GET", _p(pid, "reports/contractors?period=2001-01")), 200, "empty")
    assert all(x["inspections"] == 0 and x["mean_score"] is None for x in empty["items"]), empty
    # the list: a month's, a contractor's, paged newest first
    june = _ok(_as(stack, "agent", "GET", _p(pid, "inspections?period=2026-06&contractor_id=" + STATE["cleaning"])),
               200, "june list")
    assert june["items"][0]["score"] == 75.0, june  # the 20th; the two of the 15th after it
    assert sorted(x["score"] for x in june["items"]) == [71.7, 75.0, 85.3], june
    p1 = _ok(_as(stack, "agent", "GET", _p(pid, "inspections?limit=2")), 200, "page")
    assert len(p1["items"]) == 2 and p1["next_cursor"], p1
    p2 = _ok(_as(stack, "agent", "GET", _p(pid, "inspections?limit=500&cursor=" + p1["next_cursor"])), 200, "rest")
    seen = [x["id"] for x in p1["items"] + p2["items"]]
    assert len(seen) == len(set(seen)) == _count(stack, "contractor_inspections", pid), (p1, p2)


def _month(d, back):
    y, m = d.year, d.month - back
    while m < 1:
        y, m = y - 1, m + 12
    return y, m


def test_trend(stack):
    pid = STATE["p1"]
    t = _ok(_contractor(stack, name="安达保安", service="security"), 201, "security")["id"]
    now = datetime.datetime.now(SHANGHAI)
    # this month (an hour ago, or the month's first minutes) and two months back (the 15th, noon Shanghai)
    this_at = max(now - datetime.timedelta(hours=1), now.replace(day=1, hour=0, minute=5, second=0, microsecond=0))
    y2, m2 = _month(now, 2)
    back_at = datetime.datetime(y2, m2, 15, 12, 0, tzinfo=SHANGHAI)
    iso = lambda d: d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _ok(_inspect(stack, t, _crit(("巡逻", 1, 95)), at=iso(this_at)), 201, "now 1")
    _ok(_inspect(stack, t, _crit(("巡逻", 1, 90.5)), at=iso(this_at)), 201, "now 2")
    _ok(_inspect(stack, t, _crit(("巡逻", 1, 60)), at=iso(back_at)), 201, "back")
    tr = _ok(_as(stack, "agent", "GET", _p(pid, "contractors/%s/trend?months=12" % t)), 200, "trend")
    items = tr["items"]
    want = ["%04d-%02d" % _month(now, b) for b in range(11, -1, -1)]
    assert [x["period"] for x in items] == want, (items, want)
    # this month: (95 + 90.5) / 2 = 92.75 -> 92.8; two months back 60.0; the others empty
    assert items[-1] == {"period": want[-1], "inspections": 2, "mean_score": 92.8}, items
    assert items[-3] == {"period": want[-3], "inspections": 1, "mean_score": 60.0}, items
    assert all(x["inspections"] == 0 and x["mean_score"] is None for i, x in enumerate(items) if i not in (9, 11)), items
    default = _ok(_as(stack, "manager", "GET", _p(pid, "contractors/%s/trend" % t)), 200, "default months")
    assert default["items"] == items, default
    three = _ok(_as(stack, "manager", "GET", _p(pid, "contractors/%s/trend?months=3" % t)), 200, "3 months")
    assert [x["inspections"] for x in three["items"]] == [1, 0, 2], three
    _error(_as(stack, "technician", "GET", _p(pid, "contractors/%s/trend" % t)), 403, "forbidden", "technician")


def test_inactive_contractor_is_not_inspected(stack):
    pid = STATE["p1"]
    x = _ok(_contractor(stack, name="灭害灵消杀", service="pest_control"), 201, "pest control")["id"]
    _ok(_as(stack, "manager", "PATCH", _p(pid, "contractors/" + x), {"active": False}), 200, "deactivate")
    err = _error(_inspect(stack, x, _crit(("a", 1, 90))), 422, "validation_failed", "inactive")
    assert _fields(err) == {"contractor_id"}, err
    # not inspected in June and inactive: not in June's report
    rep = _ok(_as(stack, "manager", "GET", _p(pid, "reports/contractors?period=2026-06")), 200, "report")
    assert x not in [i["contractor_id"] for i in rep["items"]], rep
