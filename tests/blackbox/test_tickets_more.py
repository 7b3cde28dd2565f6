"""test_tickets_more: what pm-tickets checks with tenants at creation (the
party must be one of the property's; the number's year is the year in the
property's own timezone), the overdue list (?overdue=true: open tickets past
their resolution deadline, newest first like every list, keyset pages), and the
SLA warning that may be raised again when a resume moves a deadline back
beyond its warning point.

The tests run in file order and share what the first one creates. The
service runs with PM_TEST_CLOCK=1: tests move its clock with
UPDATE tickets.test_clock and put it back.
"""

import calendar
import re
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


def _t(pid=None):
    return "/v1/properties/%s/tickets" % (pid or S["p1"])


def _create(stack, body, who="agent", pid=None, status=201):
    return _ok(_as(stack, who, "POST", _t(pid), body), status, "create %s" % body.get("type"))


def _act(stack, tid, action, who="agent", status=200, **extra):
    return _ok(_as(stack, who, "POST", "%s/%s/actions" % (_t(), tid), dict(action=action, **extra)),
               status, "%s on %s" % (action, tid))


def _set_now(stack, epoch):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % (epoch - int(time.time())))


def _clock(stack, seconds):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % seconds)


def _user(stack, role, pids):
    return staff_user(stack, role, pids).token


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "TM1-" + tag, "name": "华强国际中心", "timezone": "Asia/Shanghai"}),
             201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "TM2-" + tag, "name": "London Wharf", "timezone": "Europe/London"}),
             201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm, "agent": _user(stack, "agent", [p1, p2])})
    party = {"kind": "person", "name": "王建华", "phone": "138 0013 8000"}
    S["party1"] = _ok(stack.http("POST", "/v1/properties/%s/parties" % p1, token=adm, body=party),
                      201, "party of P1")["id"]
    S["party2"] = _ok(stack.http("POST", "/v1/properties/%s/parties" % p2, token=adm,
                                 body=dict(party, name="李四", phone="139 0013 9000")),
                      201, "party of P2")["id"]


# ---------------------------------------------------------------- party, checked with tenants
def test_party_must_be_of_the_property(stack):
    t = _create(stack, {"type": "complaint", "title": "噪音投诉", "party_id": S["party1"]})
    assert t["party_id"] == S["party1"], t
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "complaint", "title": "噪音投诉",
                                                      "party_id": S["party2"]}),
                 422, "validation_failed", "a party of another property")
    assert _fields(err) == {"party_id"}, err
    assert [d["problem"] for d in err["details"]] == ["no such party"], err
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "repair", "title": "x",
                                                      "party_id": "00000000-0000-4000-8000-000000000000"}),
                 422, "validation_failed", "a party nobody has")
    assert _fields(err) == {"party_id"}, err
    n = stack.psql("SELECT count(*) FROM tickets.tickets WHERE property_id = '%s' AND party_id = '%s'"
                   % (S["p1"], S["party2"]))[0][0]
    assert n == "0", "nothing half-written"


# ---------------------------------------------------------------- the number's year
def test_number_year_in_the_property_timezone(stack):
    year = time.gmtime().tm_year
    # 16:30 UTC on New Year's Eve: already next year in Shanghai (UTC+8), not yet in London (UTC+0)
    eve = calendar.timegm((year, 12, 31, 16, 30, 0, 0, 0, 0))
    _set_now(stack, eve)
    try:
        sh = _create(stack, {"type": "suggestion", "title": "新年建议"})
        assert sh["number"] == "JY-%d-000001" % (year + 1), "Shanghai is in %d: %s" % (year + 1, sh["number"])
        ld = _create(stack, {"type": "suggestion", "title": "New Year's Eve"}, pid=S["p2"])
        assert ld["number"] == "JY-%d-000001" % year, "London is still in %d: %s" % (year, ld["number"])
    finally:
        _clock(stack, 0)
    # back to today: both properties count in this year again
    assert _create(stack, {"type": "suggestion", "title": "today"}, pid=S["p2"])["number"] \
        .startswith("JY-%d-" % year)


def test_report_days_in_the_property_timezone(stack):
    q = "/reports/service?from=2026-11-02&to=2026-11-02"
    sh = _ok(_as(stack, "agent", "GET", "/v1/properties/%s%s" % (S["p1"], q)), 200, "report P1")
    assert (sh["from"], sh["to"]) == ("2026-11-01T16:00:00Z", "2026-11-02T16:00:00Z"), sh
    ld = _ok(_as(stack, "agent", "GET", "/v1/properties/%s%s" % (S["p2"], q)), 200, "report P2")
    assert (ld["from"], ld["to"]) == ("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"), ld


# ---------------------------------------------------------------- the overdue list
def test_overdue_list_newest_first(stack):
    mk = lambda prio, title: _create(stack, {"type": "repair", "title": title, "priority": prio})
    normal, urgent, high, low = (mk("normal", "普通"), mk("urgent", "紧急"), mk("high", "高"),
                                 mk("low", "低"))
    held = mk("urgent", "挂起")
    _act(stack, held["id"], "accept")
    _act(stack, held["id"], "hold", note="等配件")
    done = _create(stack, {"type": "inquiry", "title": "问询", "resolve_now": True, "answer": "已答复"})
    other = _create(stack, {"type": "repair", "title": "其他物业", "priority": "urgent"}, pid=S["p2"])
    ids = {t["id"] for t in (normal, urgent, high, low)}
    listed = _ok(_as(stack, "agent", "GET", _t() + "?overdue=true"), 200, "overdue now")["items"]
    assert not ids & {i["id"] for i in listed}, "nothing new is overdue yet"
    _clock(stack, 60 * 86400)                  # two months on: every open deadline has passed
    try:
        listed = _ok(_as(stack, "agent", "GET", _t() + "?overdue=true&limit=500"), 200, "overdue")["items"]
        got = [i["id"] for i in listed]
        assert ids <= set(got), "every open ticket is overdue: %s" % [i["number"] for i in listed]
        for t in (held, done, other):
            assert t["id"] not in got, "never overdue: %s (%s)" % (t["number"], t["title"])
        made = [i["created_at"] for i in listed]     # (whole seconds: ties keep the server's order)
        assert made == sorted(made, reverse=True), "newest first, like every list: %s" % made
        mine = [i for i in got if i in ids]
        assert mine == [t["id"] for t in (low, high, urgent, normal)], "newest first"
        assert all(i["sla"]["breached"] and i["status"] not in ("resolved", "closed", "on_hold")
                   for i in listed), listed
        # keyset pages join into the whole list
        seen, cursor = [], None
        while True:
            page = _ok(_as(stack, "agent", "GET", _t() + "?overdue=true&limit=2"
                           + ("&cursor=" + cursor if cursor else "")), 200, "overdue page")
            assert len(page["items"]) <= 2, page
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == got, "pages of the overdue list join into it"
        # filters combine with it
        pr = _ok(_as(stack, "agent", "GET", _t() + "?overdue=true&type=repair&q=%E7%B4%A7%E6%80%A5"),
                 200, "overdue urgent repairs")["items"]
        assert [i["id"] for i in pr] == [urgent["id"]], pr
        # a resumed ticket is back in the list; a resolved one leaves it
        _act(stack, held["id"], "resume")
        _act(stack, urgent["id"], "accept")
        _act(stack, urgent["id"], "resolve", note="已修好")
        got = [i["id"] for i in _ok(_as(stack, "agent", "GET", _t() + "?overdue=true&limit=500"), 200,
                                    "overdue after")["items"]]
        assert urgent["id"] not in got, "resolved: not overdue"
    finally:
        _clock(stack, 0)


# ---------------------------------------------------------------- warnings after a resume
def test_resume_clears_a_warning_whose_deadline_moved_away(stack):
    def _ticket(title):
        t = _create(stack, {"type": "repair", "title": title, "priority": "high"})
        _act(stack, t["id"], "accept")
        _act(stack, t["id"], "hold", note="等业主")
        return t["id"]

    far, near = _ticket("远"), _ticket("近")
    # as if the timer had warned both before the hold: one had hours left
    # (as after a business-hours resume overnight), the other 20 minutes
    stack.psql("UPDATE tickets.tickets SET resolve_warned_at = now (), "
               "resolve_by = hold_since + interval '3 hours' WHERE id = '%s'" % far)
    stack.psql("UPDATE tickets.tickets SET resolve_warned_at = now (), "
               "resolve_by = hold_since + interval '20 minutes' WHERE id = '%s'" % near)
    for tid in (far, near):
        _act(stack, tid, "resume")
    rows = dict(stack.psql("SELECT id::text, (resolve_warned_at IS NULL)::text FROM tickets.tickets "
                           "WHERE id IN ('%s', '%s')" % (far, near)))
    assert rows[far] == "true", "3 h left after the resume: the warning may come again"
    assert rows[near] == "false", "20 min left (inside the 60 min warning): warned already"
