"""test_hotline: the internal service hotline (内部服务热线, issue L): tickets of
requester_kind "internal" with a department (no resident party), shown on the
ticket and in its events' summary, the hotline queue (GET tickets
?requester_kind=internal), bad input, and the service report's by_channel and
internal_requests against a fixture worked out by hand.

The service runs with PM_TEST_CLOCK=1: the fixture's times are set with
tickets.test_clock (forward only) and put back at the end.
"""

import calendar
import secrets
import time
import urllib.parse

from api import error as _error, fields as _fields, ok as _ok, staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path="", pid=None):
    return "/v1/properties/%s%s" % (pid or S["p1"], path)


def _user(stack, role, pids):
    return staff_user(stack, role, pids).token


def _cst(text):
    """Epoch seconds of 'YYYY-MM-DD HH:MM' in Asia/Shanghai (UTC+8)."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M")) - 8 * 3600


def _set_now(stack, epoch):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % (epoch - int(time.time())))


def _create(stack, body, who="agent"):
    return _ok(_as(stack, who, "POST", _p("/tickets"), body), 201, "create %s" % body.get("title"))


def _act(stack, tid, action):
    _ok(_as(stack, "manager", "POST", _p("/tickets/%s/actions" % tid), {"action": action}), 200, action)


def _list(stack, **q):
    return _ok(_as(stack, "agent", "GET", _p("/tickets?" + urllib.parse.urlencode(q))), 200, "list %r" % q)["items"]


def _event(stack, type_, tid):
    rows = stack.psql("SELECT data->>'requester_kind', coalesce (data->>'department', '-') FROM tickets.outbox "
                      "WHERE type = '%s' AND data->>'id' = '%s'" % (type_, tid))
    assert len(rows) == 1, "%s of %s: %r" % (type_, tid, rows)
    return rows[0]


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "HL1-" + tag, "name": "华强国际中心", "timezone": "Asia/Shanghai"}), 201, "P1")["id"]
    S.update(p1=p1, tokens={"admin": adm})
    for who, role in (("agent", "agent"), ("manager", "manager"), ("technician", "technician")):
        S["tokens"][who] = _user(stack, role, [p1])
    S["party"] = _ok(stack.http("POST", _p("/parties"), token=adm,
                                body={"kind": "person", "name": "李四", "phone": "13900139000"}), 201, "party")["id"]
    # high repairs around the clock: respond in 30 minutes, resolve in 120
    _ok(_as(stack, "manager", "PUT", _p("/sla-policies"),
            {"items": [{"type": "repair", "priority": "high", "respond_minutes": 30, "resolve_minutes": 120}]}),
        200, "policy")


def test_internal_request(stack):
    t = _create(stack, {"type": "repair", "title": "会议室空调不制冷", "channel": "hotline",
                        "requester_kind": "internal", "department": "行政部"})
    assert (t["requester_kind"], t["department"], t["unit_id"], t["party_id"]) == ("internal", "行政部", None, None), t
    assert _event(stack, "ticket.created", t["id"]) == ("internal", "行政部")
    g = _ok(_as(stack, "agent", "GET", _p("/tickets/%s" % t["id"])), 200, "get")
    assert (g["requester_kind"], g["department"]) == ("internal", "行政部"), g
    # without a department too; and a resident's ticket, the default
    n = _create(stack, {"type": "inquiry", "title": "工程部问询", "requester_kind": "internal", "department": ""})
    assert (n["requester_kind"], n["department"]) == ("internal", None), n
    r = _create(stack, {"type": "repair", "title": "厨房漏水", "party_id": S["party"]})
    assert (r["requester_kind"], r["department"]) == ("resident", None), r
    assert _event(stack, "ticket.created", r["id"]) == ("resident", "-")
    S["internal"] = [n["id"], t["id"]]  # newest first
    S["resident"] = r["id"]


def test_bad_input(stack):
    before = stack.psql("SELECT count(*) FROM tickets.tickets WHERE property_id = '%s'" % S["p1"])[0][0]
    for body, field in (({"requester_kind": "staff"}, "requester_kind"),
                        ({"requester_kind": 1}, "requester_kind"),
                        ({"department": "行政部"}, "department"),
                        ({"requester_kind": "resident", "department": "行政部"}, "department"),
                        ({"requester_kind": "internal", "party_id": S["party"]}, "party_id"),
                        ({"requester_kind": "internal", "department": "部" * 22}, "department"),
                        ({"requester_kind": "internal", "department": ["行政部"]}, "department")):
        err = _error(_as(stack, "agent", "POST", _p("/tickets"), dict(body, type="repair", title="坏输入")),
                     422, "validation_failed", repr(body))
        assert field in _fields(err), "%s: %r" % (field, err)
    after = stack.psql("SELECT count(*) FROM tickets.tickets WHERE property_id = '%s'" % S["p1"])[0][0]
    assert before == after, "a refused ticket was written"
    err = _error(_as(stack, "agent", "GET", _p("/tickets?requester_kind=staff")), 422, "validation_failed", "filter")
    assert "requester_kind" in _fields(err), err


def test_hotline_queue(stack):
    assert [t["id"] for t in _list(stack, requester_kind="internal")] == S["internal"]
    assert [t["id"] for t in _list(stack, requester_kind="resident")] == [S["resident"]]
    assert len(_list(stack)) == 3 and len(_list(stack, requester_kind="")) == 3
    page = _ok(_as(stack, "agent", "GET", _p("/tickets?requester_kind=internal&limit=1")), 200, "page")
    rest = _ok(_as(stack, "agent", "GET", _p("/tickets?requester_kind=internal&limit=1&cursor=" + page["next_cursor"])),
               200, "page 2")
    assert [t["id"] for t in page["items"] + rest["items"]] == S["internal"] and rest["next_cursor"] is None
    # a technician's queue is their own tickets still
    assert _ok(_as(stack, "technician", "GET", _p("/tickets?requester_kind=internal")), 200, "tech")["items"] == []


def test_report_by_channel(stack):
    """High repairs of Monday 2027-04-05 (respond in 30 min, resolve in 120), from 10:00:
    A phone: accepted +10, resolved +60 (both met); B phone: accepted +40 (late), resolved +100 (met);
    C hotline, internal: accepted +5, resolved +150 (late); E app: accepted +25, resolved +30 (met);
    D hotline, internal, created +100: accepted +110 (met), open at +150 and still inside its time."""
    t0 = _cst("2027-04-05 10:00")
    _set_now(stack, t0)
    mk = lambda title, channel, internal=False: _create(stack, dict(
        {"type": "repair", "priority": "high", "title": title, "channel": channel},
        **({"requester_kind": "internal", "department": "工程部"} if internal else {})))["id"]
    a, b, c, e = mk("A", "phone"), mk("B", "phone"), mk("C", "hotline", True), mk("E", "app")
    for minute, steps in ((5, [(c, "accept")]), (10, [(a, "accept")]), (25, [(e, "accept")]), (30, [(e, "resolve")]),
                          (40, [(b, "accept")]), (60, [(a, "resolve")]), (100, [(b, "resolve")])):
        _set_now(stack, t0 + minute * 60)
        for tid, action in steps:
            _act(stack, tid, action)
    d = mk("D", "hotline", True)
    _set_now(stack, t0 + 110 * 60)
    _act(stack, d, "accept")
    _set_now(stack, t0 + 150 * 60)
    _act(stack, c, "resolve")
    assert _event(stack, "ticket.resolved", c) == ("internal", "工程部")
    r = _ok(_as(stack, "agent", "GET", _p("/reports/service?from=2027-04-05&to=2027-04-05")), 200, "report")
    assert r["total"] == 5 and r["internal_requests"] == 2, r
    keys = ("count", "first_response_met", "first_response_missed", "resolution_met", "resolution_missed")
    got = {ch: tuple(v[k] for k in keys) for ch, v in r["by_channel"].items()}
    assert got == {"phone": (2, 1, 1, 2, 0), "hotline": (2, 2, 0, 0, 1), "app": (1, 1, 0, 1, 0)}, r["by_channel"]
    # the channels add up to the totals
    assert (r["respond_met"], r["respond_missed"], r["resolve_met"], r["resolve_missed"]) == (4, 1, 3, 1), r
    # a window without tickets
    e = _ok(_as(stack, "agent", "GET", _p("/reports/service?from=2020-01-01&to=2020-01-31")), 200, "empty")
    assert e["by_channel"] == {} and e["internal_requests"] == 0, e


def test_zz_clock_back(stack):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
