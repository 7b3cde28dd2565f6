"""test_tickets: the ticket model end to end (API.md, "Tickets"): creation of
every type with its per-property number, bad input, lists and their filters
(overdue by the test clock), a ticket with its timeline, comments, follow-up
feedback rules, the callbacks list (待回访), and the technician's scope.

The tests run in file order and share what the first one creates. The
service runs with PM_TEST_CLOCK=1: tests move its clock with
UPDATE tickets.test_clock instead of sleeping, and put it back.
"""

import re
import secrets
import time
from api import staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
YEAR = time.gmtime(time.time() + 8 * 3600).tm_year  # numbers count years in Asia/Shanghai


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body["error"]["code"] == code, "%s: %r" % (what, body)
    return body["error"]


def _fields(err):
    return {d["field"] for d in err.get("details") or []}


def _staff(timeline):
    """The entries people made: the SLA timer ("system") may add its own at any tick."""
    return [e for e in timeline if e["actor_id"] != "system"]


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _t(pid=None):
    return "/v1/properties/%s/tickets" % (pid or S["p1"])


def _create(stack, body, who="agent", pid=None, status=201):
    return _ok(_as(stack, who, "POST", _t(pid), body), status, "create %s" % body.get("type"))


def _act(stack, tid, action, who="agent", status=200, **extra):
    body = dict(action=action, **extra)
    return _ok(_as(stack, who, "POST", "%s/%s/actions" % (_t(), tid), body), status,
               "%s on %s" % (action, tid))


def _clock(stack, seconds):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % seconds)


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.id, u.token


# ---------------------------------------------------------------- set-up
def test_setup_properties_units_users(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "TK1-" + tag, "name": "华强国际中心"}), 201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "TK2-" + tag, "name": "浦江花园"}), 201, "P2")["id"]
    u1 = _ok(stack.http("POST", "/v1/properties/%s/units" % p1, token=adm,
                        body={"code": "A-1201", "area_m2": 85.5, "use": "office"}), 201, "U1")["id"]
    u2 = _ok(stack.http("POST", "/v1/properties/%s/units" % p2, token=adm,
                        body={"code": "B-0101", "area_m2": 99, "use": "residential"}), 201, "U2")["id"]
    S.update(p1=p1, p2=p2, u1=u1, u2=u2, tokens={"admin": adm}, ids={})
    for role in ("agent", "technician", "manager"):
        uid, tok = _user(stack, role, [p1])
        S["tokens"][role], S["ids"][role] = tok, uid
    uid, tok = _user(stack, "technician", [p1])
    S["tokens"]["tech2"], S["ids"]["tech2"] = tok, uid
    uid, tok = _user(stack, "agent", [p2])
    S["tokens"]["agent2"], S["ids"]["agent2"] = tok, uid


# ---------------------------------------------------------------- create and number
def test_create_repair_and_numbering(stack):
    t = _create(stack, {"type": "repair", "title": "空调不制冷", "description": "A-1201 会议室空调\n不制冷",
                        "unit_id": S["u1"], "channel": "hotline", "priority": "urgent",
                        "category": "hvac"})
    assert UUID.match(t["id"]), t
    assert t["number"] == "BX-%d-000001" % YEAR, t["number"]
    assert t["status"] == "new" and t["type"] == "repair" and t["priority"] == "urgent", t
    assert t["channel"] == "hotline" and t["category"] == "hvac", t
    assert t["unit_id"] == S["u1"] and t["unit_code"] == "A-1201", t
    assert t["title"] == "空调不制冷" and t["description"] == "A-1201 会议室空调\n不制冷", t
    assert t["assignee_id"] is None and RFC3339.match(t["created_at"]), t
    sla = t["sla"]
    assert RFC3339.match(sla["respond_by"]) and RFC3339.match(sla["resolve_by"]), sla
    assert sla["breached"] is False and sla["respond_by"] <= sla["resolve_by"], sla
    S["repair1"] = t

    t2 = _create(stack, {"type": "repair", "title": "走廊灯不亮"})
    assert t2["number"] == "BX-%d-000002" % YEAR, t2["number"]
    assert t2["channel"] == "phone" and t2["priority"] == "normal", "defaults: %s" % t2
    assert t2["unit_id"] is None and t2["unit_code"] is None, t2
    S["repair2"] = t2

    # numbering is per property and per type
    other = _create(stack, {"type": "repair", "title": "水管漏水", "unit_id": S["u2"]}, who="agent2",
                    pid=S["p2"])
    assert other["number"] == "BX-%d-000001" % YEAR, other["number"]
    c = _create(stack, {"type": "complaint", "title": "噪音投诉", "unit_id": S["u1"]})
    assert c["number"] == "TS-%d-000001" % YEAR, c["number"]
    S["complaint1"] = c


def test_create_every_type(stack):
    prefixes = {"inquiry": "WX", "suggestion": "JY", "renovation": "ZX", "item_release": "FX",
                "move_in": "RH", "move_out": "QC", "parking": "CW", "other": "QT"}
    data = {"renovation": {"deposit": 200000, "management_fee": 50000, "contractor": "深圳装饰公司"},
            "item_release": {"items": ["办公椅 x10", "打印机"], "carrier": "顺丰"}}
    for typ, prefix in prefixes.items():
        body = {"type": typ, "title": "%s 测试" % typ, "unit_id": S["u1"]}
        if typ in data:
            body["data"] = data[typ]
        t = _create(stack, body)
        assert t["number"] == "%s-%d-000001" % (prefix, YEAR), (typ, t["number"])
        assert t["status"] == "new", t
        if typ in data:
            assert t["data"] == data[typ], t["data"]


def test_inquiry_answered_at_once(stack):
    t = _create(stack, {"type": "inquiry", "title": "物业费怎么交", "resolve_now": True,
                        "answer": "可在前台或微信缴纳", "channel": "phone"})
    assert t["status"] == "resolved", t
    assert t["resolved_at"] and t["responded_at"], t
    full = _ok(_as(stack, "agent", "GET", "%s/%s" % (_t(), t["id"])), 200, "get inquiry")
    actions = [e["action"] for e in _staff(full["timeline"])]
    assert actions == ["create", "resolve"], actions
    assert _staff(full["timeline"])[1]["note"] == "可在前台或微信缴纳", full["timeline"]
    S["inquiry_now"] = t


def test_bad_input(stack):
    before = stack.psql("SELECT count(*) FROM tickets.tickets")[0][0]
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "castle", "title": "x", "priority": "asap",
                                                    "channel": "pigeon"}),
                 422, "validation_failed", "unknown type, priority, channel")
    assert {"type", "priority", "channel"} <= _fields(err), err
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "repair"}), 422, "validation_failed",
                 "no title")
    assert "title" in _fields(err), err
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "repair", "title": "x", "unit_id": S["u2"]}),
                 422, "validation_failed", "a unit of another property")
    assert any(d["field"] == "unit_id" and "no such unit" in d["problem"] for d in err["details"]), err
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "repair", "title": "x",
                                                    "description": "长" * 30000}),
                 422, "validation_failed", "a description over 65536 bytes")
    assert "description" in _fields(err), err
    r = _as(stack, "agent", "POST", _t(), {"type": "repair", "title": "x", "description": "x" * (2 << 20)})
    assert r.status == 413, "a 2 MB description: %r" % r
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "renovation", "title": "x",
                                                    "data": {"deposit": -1, "management_fee": 1.5}}),
                 422, "validation_failed", "bad renovation money")
    assert {"data.deposit", "data.management_fee"} <= _fields(err), err
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "repair", "title": "x", "resolve_now": True}),
                 422, "validation_failed", "resolve_now on a repair")
    assert "resolve_now" in _fields(err), err
    _error(_as(stack, "agent", "POST", _t(), ["not", "an", "object"]), 422, "validation_failed", "array")
    _error(_as(stack, "technician", "POST", _t(), {"type": "repair", "title": "x"}), 403, "forbidden",
           "a technician opens no ticket")
    _error(_as(stack, "agent2", "POST", _t(), {"type": "repair", "title": "x"}), 404, "not_found",
           "a property not the caller's")
    after = stack.psql("SELECT count(*) FROM tickets.tickets")[0][0]
    assert before == after, "refused input wrote tickets: %s -> %s" % (before, after)


# ---------------------------------------------------------------- list
def test_list_filters_and_pages(stack):
    items = _ok(_as(stack, "agent", "GET", _t()), 200, "list")["items"]
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True), "newest first: %s" % created
    assert items[-1]["id"] == S["repair1"]["id"], "the oldest is last: %s" % items[-1]["number"]
    repairs = _ok(_as(stack, "agent", "GET", _t() + "?type=repair"), 200, "by type")["items"]
    assert [i["number"] for i in repairs] == [S["repair2"]["number"], S["repair1"]["number"]], repairs
    by_unit = _ok(_as(stack, "agent", "GET", _t() + "?unit_id=%s&type=complaint" % S["u1"]), 200,
                  "by unit")["items"]
    assert [i["id"] for i in by_unit] == [S["complaint1"]["id"]], by_unit
    q = _ok(_as(stack, "agent", "GET", _t() + "?q=" + S["repair1"]["number"].lower()), 200, "q number")
    assert [i["id"] for i in q["items"]] == [S["repair1"]["id"]], q
    q = _ok(_as(stack, "agent", "GET", _t() + "?q=%E4%B8%8D%E5%88%B6%E5%86%B7"), 200, "q title 不制冷")
    assert [i["id"] for i in q["items"]] == [S["repair1"]["id"]], q
    st = _ok(_as(stack, "agent", "GET", _t() + "?status=resolved"), 200, "by status")["items"]
    assert [i["id"] for i in st] == [S["inquiry_now"]["id"]], st
    # pages
    seen, cursor = [], None
    while True:
        page = _ok(_as(stack, "agent", "GET", _t() + "?limit=3" + ("&cursor=" + cursor if cursor else "")),
                   200, "page")
        assert len(page["items"]) <= 3, page
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [i["id"] for i in items], "pages join into the whole list"
    err = _error(_as(stack, "agent", "GET", _t() + "?status=lost&type=castle&limit=0&cursor=zz&overdue=maybe"),
                 422, "validation_failed", "bad list parameters")
    assert {"status", "type", "limit", "cursor", "overdue"} <= _fields(err), err
    _error(_as(stack, "agent", "GET", "/v1/properties/%s/tickets" % S["p2"]), 404, "not_found",
           "another property's list")


def test_overdue_by_the_test_clock(stack):
    listed = _ok(_as(stack, "agent", "GET", _t() + "?overdue=true"), 200, "overdue now")["items"]
    assert listed == [], "nothing is overdue yet: %s" % [i["number"] for i in listed]
    # the urgent repair must be resolved within hours; two days later everything open is overdue
    _clock(stack, 2 * 86400)
    try:
        listed = _ok(_as(stack, "agent", "GET", _t() + "?overdue=true"), 200, "overdue later")["items"]
        ids = {i["id"] for i in listed}
        assert S["repair1"]["id"] in ids, "the urgent repair is overdue: %s" % [i["number"] for i in listed]
        assert S["inquiry_now"]["id"] not in ids, "a resolved ticket is never overdue"
        assert all(i["sla"]["breached"] for i in listed), listed
        one = _ok(_as(stack, "agent", "GET", "%s/%s" % (_t(), S["repair1"]["id"])), 200, "get")
        assert one["sla"]["breached"] is True and one["sla"]["resolve_breached"] is True, one["sla"]
    finally:
        _clock(stack, 0)


# ---------------------------------------------------------------- get, comments
def test_get_with_timeline_and_comments(stack):
    tid = S["repair1"]["id"]
    c = _ok(_as(stack, "agent", "POST", "%s/%s/comments" % (_t(), tid), {"body": "已联系业主，下午上门"}),
            201, "comment")
    assert c["action"] == "comment" and c["note"] == "已联系业主，下午上门" and c["internal"] is False, c
    _ok(_as(stack, "manager", "POST", "%s/%s/comments" % (_t(), tid), {"body": "重点客户", "internal": True}),
        201, "internal comment")
    err = _error(_as(stack, "agent", "POST", "%s/%s/comments" % (_t(), tid), {"body": "", "internal": "yes"}),
                 422, "validation_failed", "bad comment")
    assert {"body", "internal"} <= _fields(err), err
    t = _ok(_as(stack, "agent", "GET", "%s/%s" % (_t(), tid)), 200, "get")
    assert t["number"] == S["repair1"]["number"] and t["feedback"] is None, t
    tl = _staff(t["timeline"])
    assert [e["action"] for e in tl] == ["create", "comment", "comment"], tl
    assert tl[0]["actor_id"] == S["ids"]["agent"] and tl[0]["actor_role"] == "agent", tl[0]
    assert tl[2]["internal"] is True and tl[2]["actor_role"] == "manager", tl[2]
    assert all(RFC3339.match(e["at"]) for e in tl), tl
    _error(_as(stack, "agent", "GET", "%s/%s" % (_t(), "00000000-0000-4000-8000-000000000000")), 404,
           "not_found", "unknown ticket")
    _error(_as(stack, "agent", "GET", "%s/%s" % (_t(), "not-a-uuid")), 404, "not_found", "bad id")
    _error(_as(stack, "agent2", "GET", "/v1/properties/%s/tickets/%s" % (S["p2"], tid)), 404,
           "not_found", "a ticket through another property")


# ---------------------------------------------------------------- feedback, callbacks
def test_feedback_rules(stack):
    tid = S["repair2"]["id"]
    url = "%s/%s/feedback" % (_t(), tid)
    err = _error(_as(stack, "agent", "POST", url, {"rating": 5}), 409, "invalid_transition",
                 "feedback before resolution")
    assert "status" in _fields(err), err
    _act(stack, tid, "accept")
    _act(stack, tid, "resolve", note="已更换灯管")
    for bad in (0, 6, 4.5, "5", None):
        err = _error(_as(stack, "agent", "POST", url, {"rating": bad}), 422, "validation_failed",
                     "rating %r" % (bad,))
        assert "rating" in _fields(err), err
    fb = _ok(_as(stack, "agent", "POST", url, {"rating": 4, "comment": "师傅很专业"}), 201, "feedback")
    assert fb["rating"] == 4 and fb["comment"] == "师傅很专业" and fb["called_by"] == S["ids"]["agent"], fb
    _error(_as(stack, "agent", "POST", url, {"rating": 5}), 409, "conflict", "second feedback")
    t = _ok(_as(stack, "agent", "GET", "%s/%s" % (_t(), tid)), 200, "get")
    assert t["feedback"]["rating"] == 4, t["feedback"]
    assert _staff(t["timeline"])[-1]["action"] == "feedback", t["timeline"]
    ev = stack.psql("SELECT data->>'rating' FROM tickets.outbox WHERE type = 'ticket.feedback' "
                    "AND data->>'id' = '%s'" % tid)
    assert ev == [("4",)], ev


def test_callbacks_list(stack):
    url = _t() + "/callbacks"
    assert _ok(_as(stack, "agent", "GET", url), 200, "callbacks now")["items"] == [], \
        "nothing waits for a call back within the first hour"
    _clock(stack, 61 * 60)
    try:
        items = _ok(_as(stack, "agent", "GET", url), 200, "callbacks after an hour")["items"]
        ids = [i["id"] for i in items]
        assert S["inquiry_now"]["id"] in ids, "a resolved ticket without feedback: %s" % ids
        assert S["repair2"]["id"] not in ids, "a ticket with its feedback is not called back"
        resolved = [i["resolved_at"] for i in items]
        assert resolved == sorted(resolved), "oldest first: %s" % resolved
    finally:
        _clock(stack, 0)
    _error(_as(stack, "technician", "GET", url), 403, "forbidden", "technician and callbacks")


# ---------------------------------------------------------------- technician scope
def test_technician_sees_only_their_tickets(stack):
    tid = S["repair1"]["id"]
    tech = S["ids"]["technician"]
    assert _ok(_as(stack, "technician", "GET", _t()), 200, "tech list")["items"] == []
    _error(_as(stack, "technician", "GET", "%s/%s" % (_t(), tid)), 404, "not_found", "not assigned yet")
    t = _act(stack, tid, "assign", assignee_id=tech)
    assert t["status"] == "assigned" and t["assignee_id"] == tech, t
    assert t["responded_at"], "assign from new is the first response: %s" % t
    listed = _ok(_as(stack, "technician", "GET", _t() + "?assignee_id=someone-else"), 200, "tech list")
    assert [i["id"] for i in listed["items"]] == [tid], listed
    _ok(_as(stack, "technician", "GET", "%s/%s" % (_t(), tid)), 200, "tech get")
    _error(_as(stack, "tech2", "GET", "%s/%s" % (_t(), tid)), 404, "not_found", "another technician")
    _error(_as(stack, "technician", "POST", "%s/%s/actions" % (_t(), tid), {"action": "close"}), 403,
           "forbidden", "a technician closes nothing")
    t = _act(stack, tid, "start", who="technician")
    assert t["status"] == "in_progress", t
    _ok(_as(stack, "technician", "POST", "%s/%s/comments" % (_t(), tid), {"body": "压缩机故障，需换件"}),
        201, "tech comment")
    t = _act(stack, tid, "resolve", who="technician", note="已更换压缩机")
    assert t["status"] == "resolved" and t["resolved_at"], t
