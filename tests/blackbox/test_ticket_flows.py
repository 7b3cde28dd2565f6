"""test_ticket_flows: every ticket workflow end to end over HTTP, with the
events each move writes to tickets.outbox in the same transaction: repair
(hold/resume, reopen, a paid repair), invalid moves and their allowed list,
complaint (escalate, no close before the follow-up call), inquiry,
renovation (approval and acceptance events for billing, inspections,
rejection), item release (approved by the unit's owner of record, or a
manager; refused), and the simple flows.
"""

import json
import secrets
import datetime

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body["error"]["code"] == code, "%s: %r" % (what, body)
    return body["error"]


def _staff(timeline):
    """The entries people made: the SLA timer ("system") may add its own at any tick."""
    return [e for e in timeline if e["actor_id"] != "system"]


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _t():
    return "/v1/properties/%s/tickets" % S["pid"]


def _new(stack, typ, who="agent", **extra):
    body = dict(type=typ, title="%s %s" % (typ, secrets.token_hex(2)), **extra)
    return _ok(_as(stack, who, "POST", _t(), body), 201, "create %s" % typ)


def _act(stack, tid, action, who="agent", status=200, **extra):
    body = dict(action=action, **extra)
    return _ok(_as(stack, who, "POST", "%s/%s/actions" % (_t(), tid), body), status,
               "%s on %s" % (action, tid))


def _events(stack, tid, types=None):
    """[(type, data)] of the ticket, in order."""
    rows = stack.psql("SELECT type, data::text FROM tickets.outbox WHERE data->>'id' = '%s' "
                      "OR data->>'ticket_id' = '%s' ORDER BY seq" % (tid, tid))
    out = [(t, json.loads(d)) for t, d in rows if not t.startswith("ticket.sla_")]
    return [e for e in out if types is None or e[0] in types]


def _user(stack, role):
    name = "%s-%s" % (role, secrets.token_hex(3))
    pw = "pw-" + secrets.token_urlsafe(10)
    u = _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                       body={"username": name, "password": pw, "role": role, "property_ids": [S["pid"]]}),
            201, "create %s" % role)
    return u["id"], stack.login(name, pw)


def test_setup(stack):
    adm = stack.admin_token
    pid = _ok(stack.http("POST", "/v1/properties", token=adm,
                         body={"code": "FL-" + secrets.token_hex(3).upper(), "name": "流程测试大厦"}),
              201, "property")["id"]
    uid = _ok(stack.http("POST", "/v1/properties/%s/units" % pid, token=adm,
                         body={"code": "C-0808", "area_m2": 120, "use": "office"}), 201, "unit")["id"]
    S.update(pid=pid, uid=uid, tokens={"admin": adm}, ids={})
    for role in ("agent", "technician", "manager"):
        S["ids"][role], S["tokens"][role] = _user(stack, role)


def test_repair_flow_with_hold_and_paid_repair(stack):
    t = _new(stack, "repair", unit_id=S["uid"], priority="high", category="plumbing")
    tid = t["id"]
    assert t["responded_at"] is None, t
    t = _act(stack, tid, "accept")
    assert t["status"] == "accepted" and t["responded_at"], t
    tech = S["ids"]["technician"]
    t = _act(stack, tid, "assign", assignee_id=tech)
    assert t["status"] == "assigned" and t["assignee_id"] == tech, t
    t = _act(stack, tid, "start", who="technician")
    assert t["status"] == "in_progress", t
    before = t["sla"]["resolve_by"]
    t = _act(stack, tid, "hold", who="technician", note="等配件")
    assert t["status"] == "on_hold" and t["sla"]["on_hold"] is True, t
    # an hour on hold later, resume: back to in_progress, the deadline moved by the hour
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = 3600")
    try:
        t = _act(stack, tid, "resume", who="technician")
    finally:
        stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
    assert t["status"] == "in_progress" and t["sla"]["on_hold"] is False, t
    assert t["sla"]["resolve_by"] > before, "the hold moved the deadline: %s -> %s" % (before, t["sla"]["resolve_by"])
    shifted = (datetime.datetime.fromisoformat(t["sla"]["resolve_by"].replace("Z", "+00:00"))
               - datetime.datetime.fromisoformat(before.replace("Z", "+00:00"))).total_seconds()
    assert 3500 <= shifted <= 3700, "about an hour: %s" % shifted
    t = _act(stack, tid, "resolve", who="technician", note="更换水龙头", fee={"amount": 8800, "fee_item_code": "REPAIR"})
    # a technician's fee is proposed: nothing is charged until a manager approves it
    assert t["status"] == "resolved" and t["fee"] == {"amount": 8800, "currency": "CNY",
                                                      "fee_item_code": "REPAIR", "status": "proposed"}, t
    assert _events(stack, tid, {"ticket.fee_charged"}) == [], "a proposed fee charges nothing"
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), tid), {"action": "close"}),
                 409, "invalid_transition", "close with the fee undecided")
    assert "approve_fee" in err["message"], err
    _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), tid), {"action": "approve_fee"}),
           403, "forbidden", "an agent approves no fee")
    _error(_as(stack, "technician", "POST", "%s/%s/actions" % (_t(), tid), {"action": "approve_fee"}),
           403, "forbidden", "a technician approves no fee")
    got = _ok(_as(stack, "manager", "GET", "%s/%s" % (_t(), tid)), 200, "manager get")
    assert {"approve_fee", "reject_fee"} <= set(got["allowed_actions"]), got["allowed_actions"]
    got = _ok(_as(stack, "agent", "GET", "%s/%s" % (_t(), tid)), 200, "agent get")
    assert not {"approve_fee", "reject_fee", "close"} & set(got["allowed_actions"]), got["allowed_actions"]
    t = _act(stack, tid, "approve_fee", who="manager")
    assert t["status"] == "resolved" and t["fee"]["status"] == "approved", t
    assert "approve_fee" not in t["allowed_actions"], t["allowed_actions"]
    _act(stack, tid, "approve_fee", who="manager", status=409)
    t = _act(stack, tid, "reopen", note="仍然漏水")
    assert t["status"] == "in_progress" and t["resolved_at"] is None, t
    t = _act(stack, tid, "resolve", who="technician")
    t = _act(stack, tid, "close")
    assert t["status"] == "closed" and t["closed_at"], t
    tl = _staff(t["timeline"])
    actions = [e["action"] for e in tl]
    assert actions == ["create", "accept", "assign", "start", "hold", "resume", "resolve", "approve_fee",
                       "reopen", "resolve", "close"], actions
    hold = tl[4]
    assert hold["note"] == "等配件" and hold["from_status"] == "in_progress" and hold["to_status"] == "on_hold", hold

    types = [e[0] for e in _events(stack, tid)]
    assert types == ["ticket.created", "ticket.assigned", "ticket.resolved", "ticket.fee_charged",
                     "ticket.resolved", "ticket.closed"], types
    fee = _events(stack, tid, {"ticket.fee_charged"})[0][1]
    assert fee == {"ticket_id": tid, "number": t["number"], "property_id": S["pid"], "unit_id": S["uid"],
                   "amount": 8800, "currency": "CNY", "fee_item_code": "REPAIR"}, fee
    created = _events(stack, tid, {"ticket.created"})[0][1]
    assert created["number"] == t["number"] and created["property_id"] == S["pid"], created
    assert created["sla"]["resolve_by"] and created["unit_id"] == S["uid"], created
    ev = stack.psql("SELECT property_id::text FROM tickets.outbox WHERE type = 'ticket.fee_charged' "
                    "AND data->>'ticket_id' = '%s'" % tid)
    assert ev == [(S["pid"],)], ev


def test_fee_proposed_by_technician_approved_or_rejected_by_manager(stack):
    """Issue G: a technician's fee on resolve is only proposed (no charge),
    however large; a manager rejects or approves it; a manager's own fee is
    billed at once."""
    tech = S["ids"]["technician"]
    t = _new(stack, "repair", unit_id=S["uid"])
    _act(stack, t["id"], "assign", assignee_id=tech)
    t = _act(stack, t["id"], "resolve", who="technician", fee={"amount": 999999999})
    assert t["fee"] == {"amount": 999999999, "currency": "CNY", "fee_item_code": None, "status": "proposed"}, t
    assert _events(stack, t["id"], {"ticket.fee_charged"}) == [], "proposed: no charge"
    resolved = _events(stack, t["id"], {"ticket.resolved"})[-1][1]
    assert resolved["fee"]["status"] == "proposed", resolved
    # only while a fee is proposed, only a manager, and the status stays
    _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t["id"]), {"action": "reject_fee"}),
           403, "forbidden", "an agent rejects no fee")
    t = _act(stack, t["id"], "reject_fee", who="manager", note="保修期内 under warranty")
    assert t["status"] == "resolved" and t["fee"]["status"] == "rejected", t
    assert _events(stack, t["id"], {"ticket.fee_charged"}) == [], "rejected: no charge"
    err = _error(_as(stack, "manager", "POST", "%s/%s/actions" % (_t(), t["id"]), {"action": "approve_fee"}),
                 409, "invalid_transition", "nothing left to approve")
    assert "approve_fee" not in err["details"][0]["problem"], err
    t = _act(stack, t["id"], "close")
    assert t["status"] == "closed", t
    assert stack.psql("SELECT fee_status FROM tickets.tickets WHERE id = '%s'" % t["id"]) == [("rejected",)]
    # a manager's fee on resolve is billed at once
    m = _new(stack, "repair", unit_id=S["uid"])
    _act(stack, m["id"], "accept")
    m = _act(stack, m["id"], "resolve", who="manager", fee={"amount": 5000, "fee_item_code": "REPAIR"})
    assert m["fee"]["status"] == "approved" and "approve_fee" not in m["allowed_actions"], m
    charged = _events(stack, m["id"], {"ticket.fee_charged"})
    assert len(charged) == 1 and charged[0][1]["amount"] == 5000, charged
    # a billed fee is not replaced by another resolve's
    _act(stack, m["id"], "reopen")
    err = _error(_as(stack, "manager", "POST", "%s/%s/actions" % (_t(), m["id"]),
                     {"action": "resolve", "fee": {"amount": 1}}), 409, "conflict", "second fee")
    assert len(_events(stack, m["id"], {"ticket.fee_charged"})) == 1


def test_invalid_transitions_list_what_is_allowed(stack):
    t = _new(stack, "repair")
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t["id"]), {"action": "start"}),
                 409, "invalid_transition", "start from new")
    assert err["details"] == [{"field": "action", "problem": "allowed: accept, assign, cancel"}], err
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t["id"]), {"action": "fly"}),
                 422, "validation_failed", "unknown action")
    assert err["details"][0]["field"] == "action", err
    _act(stack, t["id"], "cancel", note="业主自行解决")
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t["id"]), {"action": "accept"}),
                 409, "invalid_transition", "after cancel")
    assert err["details"] == [{"field": "action", "problem": "allowed: none"}], err
    # a fee only on a repair with a unit; an assignee only for assign and escalate
    t2 = _new(stack, "repair")
    _act(stack, t2["id"], "accept")
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t2["id"]),
                     {"action": "resolve", "fee": {"amount": 100}}), 422, "validation_failed", "fee without unit")
    assert err["details"][0]["field"] == "fee", err
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t2["id"]),
                     {"action": "hold", "assignee_id": "x", "fee": {"amount": 0}}), 422, "validation_failed",
                 "bad extras")
    assert {"assignee_id", "fee", "fee.amount"} <= {d["field"] for d in err["details"]}, err
    # nobody on duty: assign without an assignee is a clear 409
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t2["id"]), {"action": "assign"}),
                 409, "conflict", "nobody on duty")
    assert "on duty" in err["message"], err
    # nothing of the refused moves was written
    full = _ok(_as(stack, "agent", "GET", "%s/%s" % (_t(), t2["id"])), 200, "get")
    assert [e["action"] for e in _staff(full["timeline"])] == ["create", "accept"], full["timeline"]


def _allowed(stack, tid, who):
    return _ok(_as(stack, who, "GET", "%s/%s" % (_t(), tid)), 200, "get as %s" % who)["allowed_actions"]


def test_allowed_actions_follow_the_flow_and_the_role(stack):
    """GET ticket (and each action's answer) lists what this caller may do
    now, and nothing else: the console shows these buttons only."""
    t = _new(stack, "repair")
    tid = t["id"]
    assert _allowed(stack, tid, "agent") == ["accept", "assign", "cancel"], _allowed(stack, tid, "agent")
    t = _act(stack, tid, "assign", assignee_id=S["ids"]["technician"])
    assert "start" in t["allowed_actions"] and "accept" not in t["allowed_actions"], t["allowed_actions"]
    # the technician it is assigned to sees only the moves a technician may make
    tech = _allowed(stack, tid, "technician")
    assert tech and set(tech) <= {"start", "hold", "resume", "resolve", "inspect"}, tech
    assert "cancel" not in tech and "assign" not in tech, tech
    _act(stack, tid, "start", who="technician")
    t = _act(stack, tid, "hold", who="technician", note="等配件")
    assert "resume" in t["allowed_actions"] and "hold" not in t["allowed_actions"], t["allowed_actions"]
    # every listed move is accepted; a move not listed is refused
    for action in _allowed(stack, tid, "agent"):
        assert action in ("resume", "cancel", "assign", "escalate", "reopen", "close", "resolve"), action
    _act(stack, tid, "resume", who="technician")
    _act(stack, tid, "resolve", who="technician")
    assert "reopen" in _allowed(stack, tid, "agent"), _allowed(stack, tid, "agent")
    # a complaint: close appears only once the follow-up call is recorded
    c = _new(stack, "complaint", unit_id=S["uid"])
    _act(stack, c["id"], "accept")
    c = _act(stack, c["id"], "resolve", note="已处理")
    assert "close" not in c["allowed_actions"], c["allowed_actions"]
    _ok(_as(stack, "agent", "POST", "%s/%s/feedback" % (_t(), c["id"]), {"rating": 5}), 201, "feedback")
    assert "close" in _allowed(stack, c["id"], "agent"), _allowed(stack, c["id"], "agent")
    # a finished ticket: nothing
    assert _act(stack, c["id"], "close")["allowed_actions"] == [], "closed"


def test_complaint_escalate_and_feedback_before_close(stack):
    t = _new(stack, "complaint", unit_id=S["uid"], priority="high")
    tid = t["id"]
    _act(stack, tid, "accept")
    mgr = S["ids"]["manager"]
    t = _act(stack, tid, "escalate", assignee_id=mgr, note="客户情绪激动")
    assert t["status"] == "accepted" and t["escalated_to"] == mgr and t["assignee_id"] == mgr, t
    assert t["escalated_at"], t
    t = _act(stack, tid, "resolve", who="manager", note="已道歉并处理")
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), tid), {"action": "close"}),
                 409, "invalid_transition", "close before feedback")
    assert "feedback" in err["message"], err
    assert err["details"][0]["field"] == "action", err
    _ok(_as(stack, "agent", "POST", "%s/%s/feedback" % (_t(), tid), {"rating": 3, "comment": "一般"}), 201,
        "feedback")
    t = _act(stack, tid, "close")
    assert t["status"] == "closed" and t["has_feedback"] is True, t
    esc = _events(stack, tid, {"ticket.escalated"})
    assert len(esc) == 1 and esc[0][1]["escalated_to"] == mgr and esc[0][1]["reason"] == "客户情绪激动", esc
    types = [e[0] for e in _events(stack, tid)]
    assert types == ["ticket.created", "ticket.escalated", "ticket.resolved", "ticket.feedback",
                     "ticket.closed"], types


def test_inquiry_flow(stack):
    t = _new(stack, "inquiry")
    t = _act(stack, t["id"], "resolve", note="停车场开放时间 6:00-23:00")
    assert t["status"] == "resolved" and t["responded_at"] and t["resolved_at"], t
    t = _act(stack, t["id"], "close")
    assert t["status"] == "closed", t
    # an answer with a FAQ entry that does not exist is refused, nothing written
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "inquiry", "title": "?", "resolve_now": True,
                                                     "answer": "x", "faq_id": "00000000-0000-4000-8000-000000000000"}),
                 422, "validation_failed", "unknown FAQ entry")
    assert err["details"][0]["field"] == "faq_id", err


def test_renovation_flow(stack):
    t = _new(stack, "renovation", unit_id=S["uid"],
             data={"deposit": 300000, "management_fee": 60000, "contractor": "金螳螂装饰"})
    tid = t["id"]
    _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), tid), {"action": "approve"}), 403,
           "forbidden", "agent approves a renovation")
    t = _act(stack, tid, "approve", who="manager", note="按图纸施工")
    assert t["status"] == "approved", t
    t = _act(stack, tid, "start")
    assert t["status"] == "in_progress", t
    t = _act(stack, tid, "inspect", who="manager", note="水电隐蔽工程检查合格")
    t = _act(stack, tid, "inspect", who="manager", note="防水闭水试验合格")
    assert t["status"] == "in_progress", t
    t = _act(stack, tid, "accept", who="manager", note="竣工验收合格")
    assert t["status"] == "accepted" and t["resolved_at"], t
    t = _act(stack, tid, "close")
    assert t["status"] == "closed", t
    notes = [e["note"] for e in _staff(t["timeline"]) if e["action"] == "inspect"]
    assert notes == ["水电隐蔽工程检查合格", "防水闭水试验合格"], notes
    appr = _events(stack, tid, {"ticket.renovation_approved"})
    assert len(appr) == 1 and appr[0][1]["deposit"] == 300000 and appr[0][1]["management_fee"] == 60000, appr
    assert appr[0][1]["currency"] == "CNY" and appr[0][1]["unit_id"] == S["uid"], appr
    acc = _events(stack, tid, {"ticket.renovation_accepted"})
    assert len(acc) == 1 and acc[0][1]["deposit"] == 300000 and acc[0][1]["deposit_refund"] is True, acc

    r = _new(stack, "renovation", unit_id=S["uid"], data={"deposit": 100000})
    err = _error(_as(stack, "manager", "POST", "%s/%s/actions" % (_t(), r["id"]), {"action": "reject"}),
                 422, "validation_failed", "reject without a reason")
    assert err["details"][0]["field"] == "note", err
    r = _act(stack, r["id"], "reject", who="manager", note="涉及承重墙改动")
    assert r["status"] == "rejected" and r["closed_at"], r
    assert _events(stack, r["id"], {"ticket.renovation_approved"}) == []


def test_item_release_by_owner_of_record(stack):
    pid, uid = S["pid"], S["uid"]
    adm = stack.admin_token
    owner = _ok(stack.http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                           body={"kind": "company", "name": "深圳创新科技有限公司"}), 201, "party")["id"]
    stranger = _ok(stack.http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                              body={"kind": "person", "name": "路人甲"}), 201, "party 2")["id"]
    _ok(stack.http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, uid), token=adm,
                   body={"party_id": owner, "role": "tenant", "start_date": "2026-01-01"}), 201, "move-in")
    items = {"items": ["服务器机柜 x2", "显示器 x10"], "carrier": "德邦物流"}
    t = _new(stack, "item_release", unit_id=uid, party_id=owner, data=items)
    assert t["data"] == items, t
    _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t["id"]), {"action": "approve"}), 403,
           "forbidden", "an agent approves alone")
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), t["id"]),
                     {"action": "approve", "approved_by_party_id": stranger}), 422, "validation_failed",
                 "not of record")
    assert err["details"][0]["field"] == "approved_by_party_id", err
    t = _act(stack, t["id"], "approve", approved_by_party_id=owner, note="租户盖章放行条")
    assert t["status"] == "approved" and t["data"]["approved_by_party_id"] == owner, t
    assert _staff(t["timeline"])[-1]["data"]["approved_by_party_id"] == owner, t["timeline"]
    t = _act(stack, t["id"], "release", note="东门岗 18:20 放行")
    assert t["status"] == "released" and t["closed_at"], t
    assert _staff(t["timeline"])[-1]["note"] == "东门岗 18:20 放行", t["timeline"]

    m = _new(stack, "item_release", unit_id=uid, data={"items": ["沙发"]})
    m = _act(stack, m["id"], "approve", who="manager")
    m = _act(stack, m["id"], "refuse", note="无业主授权")
    assert m["status"] == "refused", m
    err = _error(_as(stack, "agent", "POST", _t(), {"type": "item_release", "title": "x", "data": {"items": []}}),
                 422, "validation_failed", "no items")
    assert err["details"][0]["field"] == "data.items", err


def test_simple_flows(stack):
    for typ in ("suggestion", "move_in", "move_out", "parking", "other"):
        t = _new(stack, typ, unit_id=S["uid"])
        t = _act(stack, t["id"], "accept")
        t = _act(stack, t["id"], "resolve", note="已处理")
        t = _act(stack, t["id"], "close")
        assert t["status"] == "closed", (typ, t)
    t = _new(stack, "suggestion")
    t = _act(stack, t["id"], "cancel")
    assert t["status"] == "cancelled", t
    err = _error(_as(stack, "agent", "POST", "%s/%s/actions" % (_t(), _new(stack, "parking")["id"]),
                     {"action": "hold"}), 409, "invalid_transition", "hold on a simple flow")
    assert err["details"] == [{"field": "action", "problem": "allowed: accept, assign, cancel"}], err
