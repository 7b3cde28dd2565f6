"""test_sla: SLA policies and calendars, and the SLA clock of tickets end to end
(API.md, "Tickets"; issue C item 3): the built-in defaults, PUT of policies (all
or nothing), calendars and their bad input (a 25-hour day, overlapping
holidays), deadlines counted in business hours across a weekend and a
holiday, a hold that stops the clock and a resume that shifts the deadline,
warnings and breaches raised once each by the service's own timer, and the
automatic escalation of a complaint past its resolution deadline.

Two tickets workers run, each with PM_TEST_CLOCK=1 and a 100 ms SLA tick (so
"raised once" is checked against two timers racing): the tests move
its clock (UPDATE tickets.test_clock) instead of sleeping, then poll the
outbox for a bounded time. Tests run in file order and share what the first
creates.
"""

import calendar
import re
import secrets
import time
from api import staff_user

# two tickets workers: each warning and breach must still be raised once
STACK = dict(env={"PM_TEST_CLOCK": "1", "PM_SLA_TICK_MS": "100"}, scale={"tickets": 2})

S = {}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

OFFICE = {"mon": [["09:00", "12:00"], ["13:00", "18:00"]],
          "tue": [["09:00", "12:00"], ["13:00", "18:00"]],
          "wed": [["09:00", "12:00"], ["13:00", "18:00"]],
          "thu": [["09:00", "12:00"], ["13:00", "18:00"]],
          "fri": [["09:00", "12:00"], ["13:00", "18:00"]]}


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body["error"]["code"] == code, "%s: %r" % (what, body)
    return body["error"]


def _fields(err):
    return {d["field"] for d in err.get("details") or []}


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path=""):
    return "/v1/properties/%s%s" % (S["p1"], path)


def _utc(text):
    """Epoch seconds of 'YYYY-MM-DD HH:MM' UTC."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M"))


def _cst(text):
    """Epoch seconds of 'YYYY-MM-DD HH:MM' in Asia/Shanghai (UTC+8)."""
    return _utc(text) - 8 * 3600


def _epoch(rfc3339):
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))


def _set_now(stack, epoch):
    """Moves the service's clock so that its "now" is epoch (give or take the seconds the test takes)."""
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % (epoch - int(time.time())))


def _near(actual_rfc3339, expected_epoch, what, slack=60):
    got = _epoch(actual_rfc3339)
    assert abs(got - expected_epoch) <= slack, "%s: %s, expected %s" % (
        what, actual_rfc3339, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expected_epoch)))


def _count(stack, type_, tid, deadline=None):
    sql = ("SELECT count(*) FROM tickets.outbox WHERE type = '%s' AND data->>'id' = '%s'" % (type_, tid))
    if deadline:
        sql += " AND data->>'deadline' = '%s'" % deadline
    return int(stack.psql(sql)[0][0])


def _wait_count(stack, type_, tid, deadline=None, want=1, timeout=10.0):
    end = time.time() + timeout
    n = _count(stack, type_, tid, deadline)
    while n < want and time.time() < end:
        time.sleep(0.1)
        n = _count(stack, type_, tid, deadline)
    return n


def _timer_ticked(stack, at_epoch, what):
    """Waits until the SLA timer has ticked on a clock of at least at_epoch, so that a check that
    nothing was raised means something: a sentinel ticket in the other property, whose response
    deadline is set to a minute before at_epoch (no tick on an earlier clock can raise it), must
    get its breach. The timer raises every due deadline of a tick in one transaction."""
    s = _ok(_as(stack, "admin", "POST", "/v1/properties/%s/tickets" % S["p2"],
                {"type": "repair", "title": "哨兵", "priority": "urgent"}), 201, "sentinel")
    stack.psql("UPDATE tickets.tickets SET respond_by = to_timestamp(%d) WHERE id = '%s'" % (at_epoch - 60, s["id"]))
    assert _wait_count(stack, "ticket.sla_breached", s["id"], "respond") == 1, \
        "%s: the SLA timer did not tick (the sentinel's breach never came)" % what


def _create(stack, body, who="agent"):
    return _ok(_as(stack, who, "POST", _p("/tickets"), body), 201, "create %s" % body.get("type"))


def _act(stack, tid, action, who="agent", status=200, **extra):
    return _ok(_as(stack, who, "POST", _p("/tickets/%s/actions" % tid), dict(action=action, **extra)),
               status, "%s on %s" % (action, tid))


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.id, u.token


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "SLA1-" + tag, "name": "华强国际中心"}), 201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "SLA2-" + tag, "name": "浦江花园"}), 201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm}, ids={})
    for role in ("agent", "manager"):
        uid, tok = _user(stack, role, [p1])
        S["tokens"][role], S["ids"][role] = tok, uid
    uid, tok = _user(stack, "manager", [p2])
    S["tokens"]["manager2"], S["ids"]["manager2"] = tok, uid


# ---------------------------------------------------------------- policies
def test_default_policies(stack):
    body = _ok(_as(stack, "agent", "GET", _p("/sla-policies")), 200, "GET policies")
    items = body["items"]
    assert len(items) == 40, "every type x priority: %d" % len(items)
    by = {(i["type"], i["priority"]): i for i in items}
    assert (by[("repair", "urgent")]["respond_minutes"], by[("repair", "urgent")]["resolve_minutes"]) == (15, 240)
    assert (by[("complaint", "normal")]["respond_minutes"], by[("complaint", "normal")]["resolve_minutes"]) == (30, 1440)
    for i in items:
        assert i["source"] == "default" and i["calendar_id"] is None, i
        assert 0 < i["warn_minutes"] <= 60 and i["warn_minutes"] < i["resolve_minutes"], i
        assert i["respond_minutes"] <= i["resolve_minutes"], i
    # another property's policies do not exist for this manager
    _error(_as(stack, "manager", "GET", "/v1/properties/%s/sla-policies" % S["p2"]), 404, "not_found", "P2")


def test_put_policies_all_or_nothing(stack):
    bad = {"items": [
        {"type": "repair", "priority": "urgent", "respond_minutes": 10, "resolve_minutes": 120},
        {"type": "repair", "priority": "high", "respond_minutes": 0, "resolve_minutes": 120},
        {"type": "spaceship", "priority": "normal", "respond_minutes": 10, "resolve_minutes": 20},
        {"type": "repair", "priority": "low", "respond_minutes": 100, "resolve_minutes": 50},
        {"type": "repair", "priority": "urgent", "respond_minutes": 10, "resolve_minutes": 120},
        {"type": "repair", "priority": "normal", "respond_minutes": 10, "resolve_minutes": 120,
         "calendar_id": "00000000-0000-4000-8000-000000000000"},
        {"type": "repair", "priority": "normal", "respond_minutes": 10, "resolve_minutes": 20,
         "warn_minutes": 20},
    ]}
    err = _error(_as(stack, "manager", "PUT", _p("/sla-policies"), bad), 422, "validation_failed", "bad PUT")
    f = _fields(err)
    for want in ("items[1].respond_minutes", "items[2].type", "items[3].resolve_minutes",
                 "items[4].priority", "items[5].calendar_id", "items[6].warn_minutes"):
        assert want in f, "%s missing from %s" % (want, sorted(f))
    assert not any(x.startswith("items[0]") for x in f), f
    # nothing was written
    items = _ok(_as(stack, "agent", "GET", _p("/sla-policies")), 200, "GET")["items"]
    assert all(i["source"] == "default" for i in items)
    # an agent may not change them
    _error(_as(stack, "agent", "PUT", _p("/sla-policies"), {"items": []}), 403, "forbidden", "agent PUT")
    _error(_as(stack, "manager", "PUT", _p("/sla-policies"), {"items": 5}), 422, "validation_failed", "not array")
    good = {"items": [{"type": "repair", "priority": "urgent", "respond_minutes": 10, "resolve_minutes": 120,
                       "warn_minutes": 5}]}
    items = _ok(_as(stack, "manager", "PUT", _p("/sla-policies"), good), 200, "PUT")["items"]
    by = {(i["type"], i["priority"]): i for i in items}
    assert by[("repair", "urgent")]["respond_minutes"] == 10 and by[("repair", "urgent")]["source"] == "property"
    assert by[("repair", "high")]["source"] == "default"
    # PUT replaces: what is not listed goes back to the default
    items = _ok(_as(stack, "manager", "PUT", _p("/sla-policies"), {"items": []}), 200, "PUT empty")["items"]
    assert all(i["source"] == "default" for i in items)


# ---------------------------------------------------------------- calendars
def test_calendar_bad_input(stack):
    cases = [
        ({"name": "25h", "timezone": "Asia/Shanghai",
          "weekly": {"mon": [["00:00", "24:00"], ["23:00", "24:00"]]}}, "weekly.mon"),
        ({"name": "late", "timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "25:00"]]}}, "weekly.mon[0]"),
        ({"name": "back", "timezone": "Asia/Shanghai", "weekly": {"tue": [["18:00", "09:00"]]}}, "weekly.tue[0]"),
        ({"name": "mars", "timezone": "Mars/Olympus", "weekly": OFFICE}, "timezone"),
        ({"name": "holidays", "timezone": "Asia/Shanghai", "weekly": OFFICE,
          "days": [{"from": "2026-10-01", "to": "2026-10-07", "kind": "holiday", "name": "国庆"},
                   {"day": "2026-10-05", "kind": "holiday"}]}, "days"),
        ({"name": "closed", "timezone": "UTC", "weekly": {}}, "weekly"),
        ({"timezone": "UTC", "weekly": OFFICE}, "name"),
    ]
    for body, field in cases:
        err = _error(_as(stack, "manager", "POST", _p("/sla-calendars"), body), 422, "validation_failed",
                     body.get("name"))
        assert field in _fields(err), "%s: %r" % (field, err)
    assert _ok(_as(stack, "agent", "GET", _p("/sla-calendars")), 200, "list")["items"] == []
    _error(_as(stack, "agent", "POST", _p("/sla-calendars"), {"name": "x", "timezone": "UTC", "weekly": OFFICE}),
           403, "forbidden", "agent creates a calendar")


def test_calendar_create_and_policy(stack):
    body = {"name": "办公时间", "timezone": "Asia/Shanghai", "weekly": OFFICE,
            "days": [{"day": "2026-11-30", "kind": "holiday", "name": "假日"},
                     {"day": "2026-12-05", "kind": "workday", "as": "fri", "name": "调休"}]}
    cal = _ok(_as(stack, "manager", "POST", _p("/sla-calendars"), body), 201, "create calendar")
    assert cal["name"] == "办公时间" and cal["timezone"] == "Asia/Shanghai", cal
    assert cal["weekly"]["mon"] == [["09:00", "12:00"], ["13:00", "18:00"]], cal
    assert "sat" not in cal["weekly"], cal
    assert cal["days"] == [{"day": "2026-11-30", "kind": "holiday", "name": "假日"},
                           {"day": "2026-12-05", "kind": "workday", "name": "调休", "as": "fri"}], cal["days"]
    S["cal"] = cal["id"]
    got = _ok(_as(stack, "agent", "GET", _p("/sla-calendars/%s" % cal["id"])), 200, "get calendar")
    assert got["days"] == cal["days"]
    _error(_as(stack, "manager", "POST", _p("/sla-calendars"), body), 409, "conflict", "same name")
    # another property cannot see it
    _error(_as(stack, "manager2", "GET", "/v1/properties/%s/sla-calendars/%s" % (S["p2"], cal["id"])),
           404, "not_found", "P2 calendar")
    # PUT replaces it (and is validated as a POST)
    body["days"].append({"day": "2026-11-30", "kind": "holiday"})
    _error(_as(stack, "manager", "PUT", _p("/sla-calendars/%s" % cal["id"]), body), 422,
           "validation_failed", "duplicate day")
    body["days"].pop()
    upd = _ok(_as(stack, "manager", "PUT", _p("/sla-calendars/%s" % cal["id"]), body), 200, "PUT calendar")
    assert upd["id"] == cal["id"]
    # repair/normal counts in office hours: respond 30 min, resolve 2 business hours
    items = {"items": [{"type": "repair", "priority": "normal", "respond_minutes": 30,
                        "resolve_minutes": 120, "warn_minutes": 10, "calendar_id": cal["id"]}]}
    out = _ok(_as(stack, "manager", "PUT", _p("/sla-policies"), items), 200, "PUT policy with calendar")["items"]
    by = {(i["type"], i["priority"]): i for i in out}
    assert by[("repair", "normal")]["calendar_id"] == cal["id"]


# ---------------------------------------------------------------- deadlines
def test_deadlines_over_weekend_and_holiday(stack):
    # Friday 2026-11-27 17:00 in Shanghai: one business hour left on Friday;
    # Monday 30 Nov is a holiday, so the second hour is Tuesday 09:00-10:00
    _set_now(stack, _cst("2026-11-27 17:00"))
    t = _create(stack, {"type": "repair", "title": "空调不制冷", "priority": "normal"})
    _near(t["sla"]["respond_by"], _cst("2026-11-27 17:30"), "respond_by")
    _near(t["sla"]["resolve_by"], _cst("2026-12-01 10:00"), "resolve_by")
    assert t["sla"]["calendar_id"] == S["cal"] and t["sla"]["resolve_minutes"] == 120, t["sla"]
    S["office_ticket"] = t["id"]
    # an urgent repair has no calendar: around the clock
    u = _create(stack, {"type": "repair", "title": "水管爆裂", "priority": "urgent"})
    _near(u["sla"]["resolve_by"], _cst("2026-11-27 21:00"), "urgent resolve_by")


def test_hold_stops_the_clock_and_resume_shifts(stack):
    tid = S["office_ticket"]
    _set_now(stack, _cst("2026-11-27 17:10"))
    _act(stack, tid, "accept")
    # held at 17:30 Friday: 30 business minutes left on Friday, 60 on Tuesday = 90
    _set_now(stack, _cst("2026-11-27 17:30"))
    held = _act(stack, tid, "hold", note="等待配件")
    assert held["status"] == "on_hold" and held["sla"]["on_hold"] is True, held
    # the timer leaves a held ticket alone even past its deadline
    _set_now(stack, _cst("2026-12-02 08:00"))
    _timer_ticked(stack, _cst("2026-12-02 08:00"), "held past its deadline")
    assert _count(stack, "ticket.sla_breached", tid) == 0
    # resumed Wednesday 09:00: 90 business minutes -> 10:30
    _set_now(stack, _cst("2026-12-02 09:00"))
    t = _act(stack, tid, "resume")
    assert t["status"] == "accepted" and t["sla"]["on_hold"] is False, t
    _near(t["sla"]["resolve_by"], _cst("2026-12-02 10:30"), "resolve_by after resume")


# ---------------------------------------------------------------- the timer
def test_warning_then_breach_each_once(stack):
    t0 = _cst("2027-01-04 10:00")
    _set_now(stack, t0)
    # a high repair: around the clock, respond 30, resolve 480, warn min(60, 96) = 60;
    # the response warning comes at most half its window early: 15 minutes
    t = _create(stack, {"type": "repair", "title": "电梯异响", "priority": "high"})
    tid = t["id"]
    assert t["sla"]["warn_minutes"] == 60, t["sla"]
    _set_now(stack, t0 + 10 * 60)
    _timer_ticked(stack, t0 + 10 * 60, "20 minutes before")
    assert _count(stack, "ticket.sla_warning", tid) == 0, "no warning 20 minutes before"
    _set_now(stack, t0 + 16 * 60)
    assert _wait_count(stack, "ticket.sla_warning", tid, "respond") == 1, "respond warning"
    _set_now(stack, t0 + 31 * 60)
    assert _wait_count(stack, "ticket.sla_breached", tid, "respond") == 1, "respond breach"
    _set_now(stack, t0 + 421 * 60)
    assert _wait_count(stack, "ticket.sla_warning", tid, "resolve") == 1, "resolve warning"
    _set_now(stack, t0 + 481 * 60)
    assert _wait_count(stack, "ticket.sla_breached", tid, "resolve") == 1, "resolve breach"
    for _ in range(2):                         # more ticks, on both workers: nothing raised twice
        _timer_ticked(stack, t0 + 481 * 60, "after the resolve breach")
    assert _count(stack, "ticket.sla_warning", tid) == 2
    assert _count(stack, "ticket.sla_breached", tid) == 2
    ev = stack.psql("SELECT data::text FROM tickets.outbox WHERE type = 'ticket.sla_breached' "
                    "AND data->>'id' = '%s' AND data->>'deadline' = 'resolve'" % tid)[0][0]
    for key in ('"ticket_id"', '"number"', '"property_id"', '"type"', '"priority"', '"assignee_id"',
                '"due_at"', '"which"'):
        assert key in ev, "%s in %s" % (key, ev)
    got = _ok(_as(stack, "agent", "GET", _p("/tickets/%s" % tid)), 200, "get")
    assert got["sla"]["breached"] is True and got["sla"]["respond_breached"] is True, got["sla"]
    acts = [(e["action"], e["actor_id"]) for e in got["timeline"]]
    assert acts.count(("sla_warning", "system")) == 2 and acts.count(("sla_breached", "system")) == 2, acts


def test_complaint_escalates_on_its_own(stack):
    t0 = _cst("2027-01-11 10:00")
    _set_now(stack, t0)
    # a high complaint: around the clock, resolve in 24 h
    t = _create(stack, {"type": "complaint", "title": "噪音扰民", "priority": "high"})
    tid = t["id"]
    _act(stack, tid, "accept")
    assert t["escalated_at"] is None
    _set_now(stack, t0 + 1441 * 60)
    assert _wait_count(stack, "ticket.escalated", tid) == 1, "auto escalation"
    assert _count(stack, "ticket.sla_breached", tid, "resolve") == 1
    for _ in range(2):
        _timer_ticked(stack, t0 + 1441 * 60, "after the escalation")
    assert _count(stack, "ticket.escalated", tid) == 1, "escalated once"
    got = _ok(_as(stack, "agent", "GET", _p("/tickets/%s" % tid)), 200, "get")
    assert got["escalated_at"] is not None and got["escalated_to"], got
    assert any(e["action"] == "escalate" and e["actor_id"] == "system" for e in got["timeline"]), got["timeline"]
    # a repair past its deadline is not escalated
    assert _count(stack, "ticket.escalated", S["office_ticket"]) == 0


# ---------------------------------------------------------------- the service report
def test_service_report(stack):
    r = _ok(_as(stack, "agent", "GET", _p("/reports/service?from=2026-11-01&to=2027-01-31")), 200, "report")
    assert r["total"] == 4 and r["by_type"] == {"complaint": 1, "repair": 3}, r
    assert r["from"] == "2026-10-31T16:00:00Z" and r["to"] == "2027-01-31T16:00:00Z", "Shanghai days: %r" % r
    # responded in time: the office repair (10 min) and the complaint; missed: the two never accepted
    assert (r["respond_met"], r["respond_missed"]) == (2, 2) and r["response_sla_met_pct"] == 50.0, r
    assert r["resolve_met"] == 0 and r["resolution_sla_met_pct"] == 0.0, r
    assert 4.0 <= r["avg_first_response_minutes"] <= 6.0, r
    assert r["satisfaction_average"] is None and r["satisfied_share_pct"] is None, r
    assert sum(r["by_status"].values()) == 4, r
    assert {c["category"] for c in r["by_category"]} == {None}, r
    # an empty window, and bad windows
    e = _ok(_as(stack, "agent", "GET", _p("/reports/service?from=2020-01-01&to=2020-01-31")), 200, "empty")
    assert e["total"] == 0 and e["by_type"] == {} and e["response_sla_met_pct"] is None, e
    for q, field in (("from=2027-01-31&to=2026-11-01", "to"), ("from=2026-13-01&to=2027-01-01", "from"),
                     ("to=2027-01-01", "from"), ("from=2020-01-01&to=2027-01-01", "to")):
        err = _error(_as(stack, "agent", "GET", _p("/reports/service?" + q)), 422, "validation_failed", q)
        assert field in _fields(err), "%s: %r" % (q, err)


def test_service_report_satisfaction_and_assignees(stack):
    """Four high repairs on Monday 2027-03-01 (around the clock: respond in 30 min, resolve in
    480), two per technician, three rated 5, 4 and 2: every figure below is worked out by hand."""
    t0 = _cst("2027-03-01 10:00")
    techs = sorted((_user(stack, "technician", [S["p1"]]) for _ in range(2)), key=lambda u: u[0])
    (tech1, tok1), (tech2, tok2) = techs
    S["tokens"].update(tech1=tok1, tech2=tok2)
    _set_now(stack, t0)
    ids = [_create(stack, {"type": "repair", "title": "报修 %d" % i, "priority": "high"})["id"] for i in range(4)]
    # C and D: accepted at +5, A at +10 (in time), B at +40 (late); the clock only moves forward
    for i, minute in ((2, 5), (3, 5), (0, 10), (1, 40)):
        _set_now(stack, t0 + minute * 60)
        _act(stack, ids[i], "accept")
    for tid, tech in zip(ids, (tech1, tech1, tech2, tech2)):
        _act(stack, tid, "assign", assignee_id=tech)
    # A, B and C resolved within their 480 minutes; D stays open
    _set_now(stack, t0 + 120 * 60)
    for tid, who in zip(ids[:3], ("tech1", "tech1", "tech2")):
        _act(stack, tid, "resolve", who=who)
    for tid, rating in zip(ids[:3], (5, 4, 2)):
        _ok(_as(stack, "agent", "POST", _p("/tickets/%s/feedback" % tid), {"rating": rating}), 201, "feedback")
    r = _ok(_as(stack, "agent", "GET", _p("/reports/service?from=2027-03-01&to=2027-03-01")), 200, "report")
    assert r["total"] == 4 and r["by_type"] == {"repair": 4}, r
    assert (r["respond_met"], r["respond_missed"], r["response_sla_met_pct"]) == (3, 1, 75.0), r
    assert (r["resolve_met"], r["resolve_missed"], r["resolution_sla_met_pct"]) == (3, 0, 100.0), r
    assert r["avg_first_response_minutes"] == 15.0, r          # (10 + 40 + 5 + 5) / 4
    assert r["feedback_count"] == 3, r
    assert r["satisfaction_average"] == 3.67, r                # (5 + 4 + 2) / 3, two decimals
    assert r["satisfied_count"] == 2 and r["satisfied_share_pct"] == 66.7, r   # 4s and 5s: 2 of 3
    keys = ("assignee_id", "total", "open", "resolved", "respond_met", "respond_missed", "resolve_met",
            "resolve_missed", "response_sla_met_pct", "resolution_sla_met_pct")
    got = [tuple(a.get(k) for k in keys) for a in r["by_assignee"]]
    assert got == [(tech1, 2, 0, 2, 1, 1, 2, 0, 50.0, 100.0),
                   (tech2, 2, 1, 1, 2, 0, 1, 0, 100.0, 100.0)], r["by_assignee"]


def test_clock_back(stack):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
