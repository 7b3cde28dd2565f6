"""test_roster: the duty roster (值班表) end to end: shifts (add, list with
filters and pages, delete), the gap report of key posts (零脱岗: overlapping
and adjacent shifts merge, a deleted shift opens a gap), and auto-assignment
through the tickets `assign` action without an assignee_id (who is on duty
now; among several, the one with the fewest open tickets; nobody: 409).

The service runs with PM_TEST_CLOCK=1: "now" is moved into a shift with
UPDATE tickets.test_clock.
"""

import calendar
import secrets
import time
from api import staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}


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


def _p(path="", pid=None):
    return "/v1/properties/%s%s" % (pid or S["p1"], path)


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.id, u.token


def _shift(stack, post, who, starts, ends, key=False, status=201):
    body = {"post": post, "user_id": S["ids"][who], "starts_at": starts, "ends_at": ends}
    if key:
        body["key_post"] = True
    return _ok(_as(stack, "manager", "POST", _p("/duty-shifts"), body), status, "shift %s %s" % (post, who))


def _set_now(stack, rfc3339):
    epoch = calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % (epoch - int(time.time())))


def _gaps(stack, frm, to, **extra):
    q = "from=%s&to=%s" % (frm, to) + "".join("&%s=%s" % kv for kv in extra.items())
    return _ok(_as(stack, "agent", "GET", _p("/duty-roster/gaps?" + q)), 200, "gaps")


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "RS1-" + tag, "name": "华强国际中心"}), 201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "RS2-" + tag, "name": "浦江花园"}), 201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm}, ids={})
    for who, role in (("agent", "agent"), ("manager", "manager"), ("tech1", "technician"),
                      ("tech2", "technician"), ("tech3", "technician")):
        uid, tok = _user(stack, role, [p1])
        S["tokens"][who], S["ids"][who] = tok, uid


def test_shift_bad_input(stack):
    base = {"post": "repair", "user_id": S["ids"]["tech1"],
            "starts_at": "2027-02-01T08:00:00Z", "ends_at": "2027-02-01T16:00:00Z"}
    for change, field in ((dict(ends_at="2027-02-01T07:00:00Z"), "ends_at"),
                          (dict(starts_at="tomorrow"), "starts_at"),
                          (dict(post=""), "post"),
                          (dict(user_id=None), "user_id"),
                          (dict(key_post="yes"), "key_post"),
                          (dict(ends_at="2027-04-01T07:00:00Z"), "ends_at")):
        body = dict(base, **change)
        err = _error(_as(stack, "manager", "POST", _p("/duty-shifts"), body), 422, "validation_failed", field)
        assert field in _fields(err), "%s: %r" % (field, err)
    _error(_as(stack, "agent", "POST", _p("/duty-shifts"), base), 403, "forbidden", "agent adds a shift")
    _error(_as(stack, "manager", "POST", _p("/duty-shifts", S["p2"]), base), 404, "not_found", "other property")
    err = _error(_as(stack, "agent", "GET", _p("/duty-roster/gaps?from=2027-02-02&to=2027-02-01")),
                 422, "validation_failed", "window backwards")
    assert "to" in _fields(err)
    _error(_as(stack, "agent", "GET", _p("/duty-roster/gaps")), 422, "validation_failed", "no window")


def test_shifts_and_gaps(stack):
    # repair is a key post: 08-16 tech1, 15-17 tech3 (overlaps), 17-24 tech2 (adjacent)
    s1 = _shift(stack, "repair", "tech1", "2027-02-01T08:00:00Z", "2027-02-01T16:00:00Z", key=True)
    assert s1["key_post"] is True and s1["starts_at"] == "2027-02-01T08:00:00Z", s1
    s3 = _shift(stack, "repair", "tech3", "2027-02-01T15:00:00Z", "2027-02-01T17:00:00Z")
    s2 = _shift(stack, "repair", "tech2", "2027-02-01T17:00:00+00:00", "2027-02-02T00:00:00Z", key=True)
    _shift(stack, "front_desk", "tech2", "2027-02-01T00:00:00Z", "2027-02-01T06:00:00Z")
    S.update(s1=s1["id"], s2=s2["id"], s3=s3["id"])
    g = _gaps(stack, "2027-02-01T00:00:00Z", "2027-02-02T00:00:00Z")
    assert [p["post"] for p in g["posts"]] == ["repair"], "only key posts: %r" % g
    assert g["posts"][0]["gaps"] == [{"from": "2027-02-01T00:00:00Z", "to": "2027-02-01T08:00:00Z",
                                      "minutes": 480}], g
    assert g["posts"][0]["uncovered_minutes"] == 480
    # a whole day with no shift at all is one gap
    g = _gaps(stack, "2027-02-03", "2027-02-04")
    assert g["posts"][0]["gaps"] == [{"from": "2027-02-03T00:00:00Z", "to": "2027-02-04T00:00:00Z",
                                      "minutes": 1440}], g
    # list: filters and pages
    items = _ok(_as(stack, "agent", "GET", _p("/duty-shifts?post=repair&from=2027-02-01T00:00:00Z"
                                                "&to=2027-02-02T00:00:00Z")), 200, "list")["items"]
    assert [i["id"] for i in items] == [s1["id"], s3["id"], s2["id"]], items
    page = _ok(_as(stack, "agent", "GET", _p("/duty-shifts?limit=2")), 200, "page 1")
    assert len(page["items"]) == 2 and page["next_cursor"], page
    page2 = _ok(_as(stack, "agent", "GET", _p("/duty-shifts?limit=2&cursor=" + page["next_cursor"])), 200, "page 2")
    assert len(page2["items"]) == 2 and page2["next_cursor"] is None, page2
    seen = [i["id"] for i in page["items"] + page2["items"]]
    assert len(set(seen)) == 4, seen
    _error(_as(stack, "agent", "GET", _p("/duty-shifts?cursor=nope")), 422, "validation_failed", "bad cursor")


def test_delete_opens_a_gap(stack):
    _error(_as(stack, "agent", "DELETE", _p("/duty-shifts/%s" % S["s3"])), 403, "forbidden", "agent deletes")
    r = _as(stack, "manager", "DELETE", _p("/duty-shifts/%s" % S["s3"]))
    assert r.status == 204, r
    _error(_as(stack, "manager", "DELETE", _p("/duty-shifts/%s" % S["s3"])), 404, "not_found", "twice")
    g = _gaps(stack, "2027-02-01T00:00:00Z", "2027-02-02T00:00:00Z", post="repair")
    assert [(x["from"], x["to"]) for x in g["posts"][0]["gaps"]] == [
        ("2027-02-01T00:00:00Z", "2027-02-01T08:00:00Z"),
        ("2027-02-01T16:00:00Z", "2027-02-01T17:00:00Z")], g
    s3 = _shift(stack, "repair", "tech3", "2027-02-01T15:00:00Z", "2027-02-01T17:00:00Z")
    S["s3"] = s3["id"]


def test_auto_assign_to_whoever_is_on_duty(stack):
    _set_now(stack, "2027-02-01T10:00:00Z")            # tech1 alone on duty
    t = _ok(_as(stack, "agent", "POST", _p("/tickets"), {"type": "repair", "title": "灯不亮"}), 201, "t1")
    a = _ok(_as(stack, "agent", "POST", _p("/tickets/%s/actions" % t["id"]), {"action": "assign"}), 200, "assign")
    assert a["assignee_id"] == S["ids"]["tech1"] and a["status"] == "assigned", a
    n = int(stack.psql("SELECT count(*) FROM tickets.outbox WHERE type = 'ticket.assigned' "
                       "AND data->>'id' = '%s'" % t["id"])[0][0])
    assert n == 1, "ticket.assigned events: %d" % n
    # 15:30: tech1 and tech3 on duty; tech1 already holds an open ticket
    _set_now(stack, "2027-02-01T15:30:00Z")
    t2 = _ok(_as(stack, "agent", "POST", _p("/tickets"), {"type": "repair", "title": "门锁坏"}), 201, "t2")
    a2 = _ok(_as(stack, "agent", "POST", _p("/tickets/%s/actions" % t2["id"]), {"action": "assign"}), 200, "assign2")
    assert a2["assignee_id"] == S["ids"]["tech3"], a2
    # nobody on duty for repairs (and no front desk) at 06:30: 409
    _set_now(stack, "2027-02-01T06:30:00Z")
    t3 = _ok(_as(stack, "agent", "POST", _p("/tickets"), {"type": "repair", "title": "漏水"}), 201, "t3")
    _error(_as(stack, "agent", "POST", _p("/tickets/%s/actions" % t3["id"]), {"action": "assign"}),
           409, "conflict", "nobody on duty")
    # another type falls back to the front desk post
    _set_now(stack, "2027-02-01T05:00:00Z")
    t4 = _ok(_as(stack, "agent", "POST", _p("/tickets"), {"type": "suggestion", "title": "增加绿化"}), 201, "t4")
    a4 = _ok(_as(stack, "agent", "POST", _p("/tickets/%s/actions" % t4["id"]), {"action": "assign"}), 200, "assign4")
    assert a4["assignee_id"] == S["ids"]["tech2"], a4


def test_clock_back(stack):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
