"""test_satisfaction: the satisfaction index (满意指数, issue L item 6):
GET /v1/properties/{pid}/reports/satisfaction?from=YYYY-MM&to=YYYY-MM, per month in
the property's timezone from the follow-up ratings, against a hand-computed
fixture recorded at known times (the service's test clock):

  January 2026  plumbing 5, plumbing 4, elevator 2, noise 3, (no category) 1
                -> count 5, mean 3.00, share 4-5 0.400; worst elevator 2.00, noise 3.00, plumbing 4.50
  February      security 4 at 2026-01-31T17:00Z (February 1st, 01:00 in Shanghai),
                cleaning 4, cleaning 2, greening 3
                -> count 4, mean 3.25, share 0.500; worst cleaning 3.00 (2 ratings: first
                   of the tie), greening 3.00 (1), security 4.00
  March         nothing -> count 0, mean null, share null, no categories
  April         a 5, b 4, c 3, d 1 -> count 4, mean 3.25, share 0.500; worst d, c, b (three)
Another property's rating in January never counts. Then the roles, bad
months and another property.
"""

import calendar
import secrets
import time

from api import ok as _ok, error as _error, fields as _fields, staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path="", pid=None):
    return "/v1/properties/%s%s" % (pid or S["p1"], path)


def _user(stack, role, pids):
    return staff_user(stack, role, pids).token


def _rated(stack, when_utc, category, rating, pid=None):
    """A ticket answered at once and its follow-up rating, both at when_utc (Y, M, D, h, m in UTC)."""
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d"
               % (calendar.timegm(when_utc + (0, 0, 0, 0)) - int(time.time())))
    body = {"type": "inquiry", "title": "咨询", "resolve_now": True, "answer": "已答复"}
    if category:
        body["category"] = category
    tid = _ok(_as(stack, "agent", "POST", _p("/tickets", pid), body), 201, "ticket")["id"]
    _ok(_as(stack, "agent", "POST", _p("/tickets/%s/feedback" % tid, pid), {"rating": rating}), 201, "rating")


def _index(stack, who="manager", q="?from=2026-01&to=2026-04", pid=None):
    return _ok(_as(stack, who, "GET", _p("/reports/satisfaction" + q, pid)), 200, "index as %s" % who)


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "SI1-" + tag, "name": "华强国际中心", "timezone": "Asia/Shanghai"}),
             201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "SI2-" + tag, "name": "科技园", "timezone": "Asia/Shanghai"}),
             201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm, "agent": _user(stack, "agent", [p1, p2]),
                                   "manager": _user(stack, "manager", [p1]),
                                   "technician": _user(stack, "technician", [p1])})


def test_fixture(stack):
    try:
        for day, cat, r in ((5, "plumbing", 5), (6, "plumbing", 4), (7, "elevator", 2), (8, "noise", 3),
                            (9, None, 1)):
            _rated(stack, (2026, 1, day, 2, 0), cat, r)
        _rated(stack, (2026, 1, 20, 2, 0), "elevator", 5, pid=S["p2"])          # another property
        _rated(stack, (2026, 1, 31, 17, 0), "security", 4)                      # Feb 1st in Shanghai
        for day, cat, r in ((10, "cleaning", 4), (11, "cleaning", 2), (12, "greening", 3)):
            _rated(stack, (2026, 2, day, 2, 0), cat, r)
        for day, cat, r in ((1, "a", 5), (2, "b", 4), (3, "c", 3), (4, "d", 1)):
            _rated(stack, (2026, 4, day, 2, 0), cat, r)
    finally:
        stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")


def _worst(month):
    return [(w["category"], w["count"], w["mean"]) for w in month["worst_categories"]]


def test_monthly_series(stack):
    body = _index(stack)
    items = body["items"]
    assert [m["period"] for m in items] == ["2026-01", "2026-02", "2026-03", "2026-04"], items
    jan, feb, mar, apr = items
    assert (jan["count"], jan["mean"], jan["share_4_5"]) == (5, 3, 0.4), jan
    assert _worst(jan) == [("elevator", 1, 2), ("noise", 1, 3), ("plumbing", 2, 4.5)], jan
    assert (feb["count"], feb["mean"], feb["share_4_5"]) == (4, 3.25, 0.5), feb
    assert _worst(feb) == [("cleaning", 2, 3), ("greening", 1, 3), ("security", 1, 4)], feb
    assert (mar["count"], mar["mean"], mar["share_4_5"], mar["worst_categories"]) == (0, None, None, []), mar
    assert (apr["count"], apr["mean"]) == (4, 3.25), apr
    assert _worst(apr) == [("d", 1, 1), ("c", 1, 3), ("b", 1, 4)], "three, lowest first: %s" % apr


def test_decimals(stack):
    """February alone, its ratings changed in place: the mean to 2 decimals, the share to 3."""
    feb = _index(stack, q="?from=2026-02&to=2026-02")["items"]
    assert len(feb) == 1 and feb[0]["period"] == "2026-02", feb
    day = ("UPDATE tickets.ticket_feedback SET rating = %%d WHERE property_id = '%s' "
           "AND created_at >= '2026-02-12' AND created_at < '2026-02-13'" % S["p1"])   # greening's
    stack.psql(day % 5)                                # 4 4 2 5: 3.75, 0.75
    feb = _index(stack, q="?from=2026-02&to=2026-02")["items"][0]
    assert (feb["mean"], feb["share_4_5"]) == (3.75, 0.75), feb
    stack.psql("DELETE FROM tickets.ticket_feedback WHERE property_id = '%s' AND created_at "
               ">= '2026-02-11' AND created_at < '2026-02-12'" % S["p1"])          # cleaning's 2 gone
    stack.psql(day % 4)                                # 4 4 4: 4, 1
    feb = _index(stack, q="?from=2026-02&to=2026-02")["items"][0]
    assert (feb["count"], feb["mean"], feb["share_4_5"]) == (3, 4, 1), feb
    stack.psql(day % 2)                                # 4 4 2: 3.33, 0.667
    feb = _index(stack, q="?from=2026-02&to=2026-02")["items"][0]
    assert (feb["count"], feb["mean"], feb["share_4_5"]) == (3, 3.33, 0.667), feb


def test_roles(stack):
    assert len(_index(stack, "agent")["items"]) == 4
    assert len(_index(stack, "admin")["items"]) == 4
    _error(_as(stack, "technician", "GET", _p("/reports/satisfaction?from=2026-01&to=2026-04")), 403,
           "forbidden", "a technician")
    assert stack.http("GET", _p("/reports/satisfaction?from=2026-01&to=2026-04")).status == 401
    # the other property's own index has its one rating
    p2 = _index(stack, "agent", "?from=2026-01&to=2026-01", S["p2"])["items"][0]
    assert (p2["count"], p2["mean"]) == (1, 5), p2


def test_bad_months(stack):
    for q, bad in (("?from=2026-04&to=2026-01", {"to"}), ("?from=2026-13&to=2026-04", {"from"}),
                   ("?from=2026-01&to=2026-4", {"to"}), ("?from=2026-01-01&to=2026-04", {"from"}),
                   ("?from=2026-01", {"to"}), ("", {"from", "to"}), ("?from=2024-01&to=2027-01", {"to"})):
        err = _error(_as(stack, "manager", "GET", _p("/reports/satisfaction" + q)), 422, "validation_failed", q)
        assert _fields(err) == bad, "%s: %s" % (q, err)


def test_another_property(stack):
    _error(_as(stack, "manager", "GET", _p("/reports/satisfaction?from=2026-01&to=2026-04", S["p2"])), 404,
           "not_found", "P2 for P1's manager")
    _error(_as(stack, "manager", "GET", "/v1/properties/00000000-0000-4000-8000-000000000000"
                                        "/reports/satisfaction?from=2026-01&to=2026-04"),
           404, "not_found", "nobody's property")
