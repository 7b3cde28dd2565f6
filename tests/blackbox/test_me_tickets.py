"""test_me_tickets: a resident's own tickets (issue K; API.md "Residents",
/v1/me/tickets and below; services/tickets/me_tickets.h).

- a resident signs in by the code of the SMS file, opens a repair on their unit
  (channel app, their party), adds a photo, sees it in their list;
- the desk sees it in its queue with channel app, comments internally and
  publicly, resolves it; the resident sees the public timeline only (no
  internal comment, no staff id, phone numbers masked) and rates it once (409 again);
- bad input 422 with details, nothing written;
- a resident of ANOTHER unit gets 404 on every /v1/me/tickets route for it;
- after the resident's occupancy ends, that unit's tickets are 404 (polled);
- an item release approved by the owner; approving again, or a repair, 409;
  a resident of record only (not owner or tenant) 403; a refusal.
"""

import json
import secrets
import time

from api import ok as _ok, error as _error, fields as _fields, resident_token as _resident_token, staff_user

S = {"tokens": {}}

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8 + b"\x00IEND"


def _phone():
    return "137%08d" % secrets.randbelow(10 ** 8)


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.id, u.token


def _me(stack, method, path, who="a", body=None, raw=None, headers=None):
    return stack.http(method, "/v1/me/tickets" + path, token=S["tokens"][who], body=body, raw=raw,
                      headers=headers)


def _desk(stack, method, path, body=None):
    return stack.http(method, "/v1/properties/%s/tickets%s" % (S["pid"], path), token=S["tokens"]["agent"],
                      body=body)


def _poll_create(stack, body, who="a"):
    """tickets' copy of the occupancies follows tenants' events: a unit just moved into
    may be unknown to it for a moment (404), then it is the resident's."""
    deadline = time.time() + 60
    while True:
        r = _me(stack, "POST", "", who, body=body)
        if r.status != 404:
            return r
        assert time.time() < deadline, ("the occupancy never reached tickets", r)
        time.sleep(0.2)


def test_setup(stack):
    adm, http = stack.admin_token, stack.http
    tag = secrets.token_hex(3).upper()
    pid = _ok(http("POST", "/v1/properties", token=adm, body={"code": "MT-" + tag, "name": "自助工单" + tag}),
              201, "property")["id"]
    units = [_ok(http("POST", "/v1/properties/%s/units" % pid, token=adm,
                      body={"code": "C-%04d" % (101 + i), "area_m2": 90, "use": "residential"}), 201, "unit")["id"]
             for i in range(3)]

    def party(name, phone):
        return _ok(http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                        body={"kind": "person", "name": name, "phone": phone}), 201, "party")["id"]

    def occupy(unit, p, role):
        return _ok(http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, unit), token=adm,
                        body={"party_id": p, "role": role, "start_date": "2026-01-01"}), 201, role)["id"]

    pa, pb, pc = _phone(), _phone(), _phone()
    a, b, c = party("业主甲", pa), party("业主乙", pb), party("住户丙", pc)
    occupy(units[0], a, "owner")
    occ_a2 = occupy(units[2], a, "tenant")          # ended later in the test
    occupy(units[1], b, "owner")
    occupy(units[0], c, "resident")                 # lives in A's unit, not of record
    S.update(pid=pid, units=units, a=a, b=b, c=c, occ_a2=occ_a2)
    # tickets' copy of the occupancies follows tenants' events: wait for all four
    deadline = time.time() + 60
    while stack.psql("SELECT count(*) FROM tickets.tenant_occupancies WHERE property_id = '%s'"
                     " AND end_date IS NULL" % pid)[0][0] != "4":
        assert time.time() < deadline, "the occupancies never reached tickets"
        time.sleep(0.1)
    for who, phone in (("a", pa), ("b", pb), ("c", pc)):
        S["tokens"][who] = _resident_token(stack, phone)
    S["agent_id"], S["tokens"]["agent"] = _user(stack, "agent", [pid])


def test_create_repair_with_photo_and_list(stack):
    t = _ok(_poll_create(stack, {"unit_id": S["units"][0], "type": "repair", "title": "厨房漏水",
                                 "description": "水槽下面漏水", "channel": "phone", "priority": "urgent"}),
            201, "repair")
    assert t["channel"] == "app" and t["status"] == "new" and t["unit_id"] == S["units"][0], t
    assert t["party_id"] == S["a"] and t["unit_code"] == "C-0101" and t["number"], t
    assert "assignee_id" not in t and "sla" not in t and "created_by" not in t, t
    assert t["priority"] == "normal", ("a resident does not set the priority", t)
    S["tid"] = t["id"]
    att = _ok(_me(stack, "POST", "/%s/attachments" % t["id"], raw=PNG,
                  headers={"Content-Type": "image/png", "X-Filename": "leak.png"}), 201, "photo")
    assert att["size"] == len(PNG) and att["content_type"] == "image/png", att
    S["att"] = att["id"]
    items = _ok(_me(stack, "GET", "/%s/attachments" % t["id"]), 200, "attachments")["items"]
    assert [x["id"] for x in items] == [att["id"]], items
    r = _me(stack, "GET", "/%s/attachments/%s" % (t["id"], att["id"]))
    assert r.status == 200 and r.body == PNG, r
    lst = _ok(_me(stack, "GET", ""), 200, "list")
    assert [x["id"] for x in lst["items"]][:1] == [t["id"]] and "next_cursor" in lst, lst
    assert _ok(_me(stack, "GET", "?status=resolved"), 200, "filtered")["items"] == [], "status filter"
    assert _ok(_me(stack, "GET", "?type=item_release"), 200, "by type")["items"] == [], "type filter"
    assert [x["id"] for x in _ok(_me(stack, "GET", "?type=repair&status=new"), 200, "both")["items"]] == [t["id"]]
    # the other resident of the same unit sees it too (the unit's, not the person's)
    assert t["id"] in [x["id"] for x in _ok(_me(stack, "GET", "", "c"), 200, "c's list")["items"]]
    # b lives elsewhere: not in b's list
    assert t["id"] not in [x["id"] for x in _ok(_me(stack, "GET", "", "b"), 200, "b's list")["items"]]


def test_bad_input_422(stack):
    before = stack.psql("SELECT count(*) FROM tickets.tickets")[0][0]
    e = _error(_me(stack, "POST", "", body={"type": "move_in", "title": "x"}), 422, "validation_failed", "bad")
    assert {"unit_id", "type"} <= _fields(e), e
    e = _error(_me(stack, "POST", "", body={"unit_id": S["units"][0], "type": "repair"}), 422,
               "validation_failed", "no title")
    assert "title" in _fields(e), e
    e = _error(_me(stack, "POST", "", body={"unit_id": S["units"][0], "type": "item_release", "title": "x"}),
               422, "validation_failed", "no items")
    assert "data.items" in _fields(e), e
    _error(_me(stack, "POST", "", body=[1, 2]), 422, "validation_failed", "an array")
    e = _error(_me(stack, "GET", "?status=nope&type=move_in&limit=0"), 422, "validation_failed", "query")
    assert {"status", "type", "limit"} <= _fields(e), e
    e = _error(_me(stack, "POST", "/%s/feedback" % S["tid"], body={"rating": 9}), 422, "validation_failed",
               "rating")
    assert "rating" in _fields(e), e
    # a unit that is not theirs: 404, not 422 or 403
    _error(_me(stack, "POST", "", body={"unit_id": S["units"][1], "type": "repair", "title": "x"}), 404,
           "not_found", "another's unit")
    assert stack.psql("SELECT count(*) FROM tickets.tickets")[0][0] == before, "nothing written"
    # staff cannot use the resident's routes, a resident not the desk's
    assert stack.http("GET", "/v1/me/tickets", token=S["tokens"]["agent"]).status == 403
    assert _desk(stack, "GET", "").status == 200
    assert stack.http("GET", "/v1/properties/%s/tickets" % S["pid"], token=S["tokens"]["a"]).status == 403


def test_desk_resolves_and_resident_rates(stack):
    tid = S["tid"]
    queue = _ok(_desk(stack, "GET", "?status=new"), 200, "queue")["items"]
    mine = [x for x in queue if x["id"] == tid]
    assert mine and mine[0]["channel"] == "app" and mine[0]["party_id"] == S["a"], queue
    _ok(_desk(stack, "POST", "/%s/comments" % tid, body={"body": "师傅电话 13912345678，业主难缠", "internal": True}),
        201, "internal comment")
    _ok(_desk(stack, "POST", "/%s/comments" % tid, body={"body": "维修师傅电话 13912345678"}), 201, "public")
    # not resolved yet: no rating
    _error(_me(stack, "POST", "/%s/feedback" % tid, body={"rating": 5}), 409, "invalid_transition", "early")
    _ok(_desk(stack, "POST", "/%s/actions" % tid, body={"action": "assign", "assignee_id": S["agent_id"]}),
        200, "assign")
    _ok(_desk(stack, "POST", "/%s/actions" % tid, body={"action": "resolve", "note": "换了水管"}), 200, "resolve")
    t = _ok(_me(stack, "GET", "/%s" % tid), 200, "get")
    assert t["status"] == "resolved" and t["feedback"] is None, t
    text = json.dumps(t, ensure_ascii=False)
    assert "业主难缠" not in text, "an internal comment shown"
    assert "13912345678" not in text and "*******5678" in text, "a staff phone shown"
    assert S["agent_id"] not in text, "a staff id shown"
    actions = [e["action"] for e in t["timeline"]]
    assert actions[0] == "create" and "resolve" in actions and "assign" in actions, actions
    assert all(e["actor"] in ("staff", "resident") for e in t["timeline"]), t["timeline"]
    assert t["timeline"][0]["actor"] == "resident", t["timeline"][0]
    fb = _ok(_me(stack, "POST", "/%s/feedback" % tid, body={"rating": 4, "comment": "修得快"}), 201, "rate")
    assert fb["rating"] == 4 and fb["ticket_id"] == tid, fb
    _error(_me(stack, "POST", "/%s/feedback" % tid, body={"rating": 5}), 409, "conflict", "twice")
    t = _ok(_me(stack, "GET", "/%s" % tid), 200, "get after")
    assert t["feedback"]["rating"] == 4 and t["has_feedback"] is True, t
    desk = _ok(_desk(stack, "GET", "/%s" % tid), 200, "desk get")
    assert desk["feedback"]["rating"] == 4, desk


def test_another_unit_404_everywhere(stack):
    tid, att = S["tid"], S["att"]
    for method, path, body in (("GET", "/%s" % tid, None), ("POST", "/%s/feedback" % tid, {"rating": 5}),
                               ("GET", "/%s/attachments" % tid, None),
                               ("GET", "/%s/attachments/%s" % (tid, att), None),
                               ("POST", "/%s/approve" % tid, {}), ("POST", "/%s/refuse" % tid, {}),
                               ("GET", "/%s" % "00000000-0000-4000-8000-000000000000", None),
                               ("GET", "/not-a-uuid", None)):
        _error(_me(stack, method, path, "b", body=body), 404, "not_found", "b: %s %s" % (method, path))
    r = _me(stack, "POST", "/%s/attachments" % tid, "b", raw=PNG, headers={"Content-Type": "image/png"})
    _error(r, 404, "not_found", "b's upload")
    assert tid not in [x["id"] for x in _ok(_me(stack, "GET", "", "b"), 200, "b's list")["items"]]


def test_item_release_approved_by_owner(stack):
    body = {"unit_id": S["units"][0], "type": "item_release", "title": "搬出沙发",
            "data": {"items": ["沙发", "冰箱"], "carrier": "搬家公司"}}
    t = _ok(_poll_create(stack, body), 201, "item release")
    # a resident of record only (c lives there, not owner or tenant)
    _error(_me(stack, "POST", "/%s/approve" % t["id"], "c"), 403, "forbidden", "not of record")
    got = _ok(_me(stack, "POST", "/%s/approve" % t["id"]), 200, "approve")
    assert got["status"] == "approved" and got["data"]["approved_by_party_id"] == S["a"], got
    assert "allowed_actions" not in got and "assignee_id" not in got, got
    _error(_me(stack, "POST", "/%s/approve" % t["id"]), 409, "invalid_transition", "approve twice")
    _error(_me(stack, "POST", "/%s/refuse" % t["id"]), 409, "invalid_transition", "refuse once approved")
    desk = _ok(_desk(stack, "GET", "/%s" % t["id"]), 200, "desk sees it")
    assert desk["status"] == "approved" and "release" in desk["allowed_actions"], desk
    # a repair does not wait for approval
    _error(_me(stack, "POST", "/%s/approve" % S["tid"]), 409, "invalid_transition", "a repair")
    t2 = _ok(_me(stack, "POST", "", body=dict(body, title="搬出床")), 201, "second release")
    got = _ok(_me(stack, "POST", "/%s/refuse" % t2["id"]), 200, "refuse")
    assert got["status"] == "refused", got


def test_move_out_ends_access(stack):
    t = _ok(_poll_create(stack, {"unit_id": S["units"][2], "type": "inquiry", "title": "停车位"}), 201,
            "ticket of the rented unit")
    _ok(_me(stack, "GET", "/%s" % t["id"]), 200, "before the move-out")
    _ok(stack.http("POST", "/v1/properties/%s/occupancies/%s/end" % (S["pid"], S["occ_a2"]),
                   token=stack.admin_token, body={"end_date": "2026-06-30"}), 200, "move-out")
    deadline = time.time() + 60
    while _me(stack, "GET", "/%s" % t["id"]).status != 404:
        assert time.time() < deadline, "the move-out not seen by tickets within a minute"
        time.sleep(0.2)
    assert t["id"] not in [x["id"] for x in _ok(_me(stack, "GET", ""), 200, "list")["items"]]
    # the owned unit's tickets are still there
    _ok(_me(stack, "GET", "/%s" % S["tid"]), 200, "still the owner's")
