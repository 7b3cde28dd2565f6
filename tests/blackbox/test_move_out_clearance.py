"""test_move_out_clearance: a move-out (迁出) is refused while the unit owes
(API.md, "Move-out clearance"): tenants asks billing for the unit's account
before its transaction; a balance due is 409 arrears_outstanding naming the
amount in fen, unless a manager or an admin sends override_reason, which is
recorded on the occupancy (reason, by whom, the amount) and shown in its
JSON; an agent's override is 403; billing stopped is 503 (fail closed)
unless overridden. A unit without bills, or whose bills are paid, moves out
as before.

The tests run in file order and share STATE.
"""

import secrets
import time

from api import ok as _ok, error as _error, fields as _fields

STATE = {}


def _p(rest, pid=None):
    return "/v1/properties/%s/%s" % (pid or STATE["pid"], rest)


def _as(stack, who, method, path, body=None):
    token = stack.admin_token if who == "admin" else STATE["tokens"][who]
    return stack.http(method, path, body=body, token=token)


def _wait_billing_knows(stack, uid):
    deadline = time.time() + 15
    while time.time() < deadline:
        if stack.psql("SELECT count(*) FROM billing.units WHERE unit_id = '%s'" % uid)[0][0] == "1":
            return
        time.sleep(0.1)
    raise AssertionError("billing never learnt unit %s" % uid)


def _occupied_unit(stack, code):
    """A unit with an owner: (unit id, occupancy id)."""
    uid = _ok(_as(stack, "admin", "POST", _p("units"), {"code": code, "area_m2": 90, "use": "residential"}),
              201, "unit " + code)["id"]
    party = _ok(_as(stack, "admin", "POST", _p("parties"), {"kind": "person", "name": "业主" + code}), 201, "party")
    occ = _ok(_as(stack, "admin", "POST", _p("units/%s/occupancies" % uid),
                  {"party_id": party["id"], "role": "owner", "start_date": "2025-01-01"}), 201, "occupancy")
    return uid, occ["id"]


def _end(stack, oid, who="agent", **extra):
    return _as(stack, who, "POST", _p("occupancies/%s/end" % oid), dict({"end_date": "2026-06-30"}, **extra))


def _current(stack, oid):
    return stack.psql("SELECT end_date IS NULL FROM tenants.occupancies WHERE id = '%s'" % oid)[0][0] == "t"


def test_setup(stack):
    tag = secrets.token_hex(3)
    pid = _ok(stack.http("POST", "/v1/properties", token=stack.admin_token,
                         body={"code": "MO-" + tag, "name": "前海嘉里"}), 201, "property")["id"]
    STATE.update(pid=pid, tokens={}, ids={})
    for role in ("agent", "manager"):
        user, pw = "mo-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        u = _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                           body={"username": user, "password": pw, "role": role, "property_ids": [pid]}),
                201, "user " + role)
        STATE["ids"][role] = u["id"]
        STATE["tokens"][role] = stack.login(user, pw)
    uid, oid = _occupied_unit(stack, "C-0801")
    _wait_billing_knows(stack, uid)
    _ok(_as(stack, "admin", "POST", _p("charges"), {"unit_id": uid, "amount": 12345, "reason": "物业费"}),
        201, "a charge: the unit owes")
    STATE.update(uid=uid, oid=oid)


def test_arrears_refuse_the_move_out(stack):
    for who in ("agent", "manager"):
        err = _error(_end(stack, STATE["oid"], who), 409, "arrears_outstanding", "owes, as " + who)
        assert [(d["field"], d["problem"]) for d in err["details"]] == [("balance_due", "12345 fen")], err
    assert _current(stack, STATE["oid"]), "still current"
    ev = stack.psql("SELECT count(*) FROM tenants.outbox WHERE type = 'occupancy.ended' AND data->>'id' = '%s'"
                    % STATE["oid"])
    assert ev[0][0] == "0", ev


def test_override_bad_input_and_roles(stack):
    err = _error(_end(stack, STATE["oid"], "agent", override_reason="业主承诺补缴"), 403, "forbidden", "agent's")
    assert "override_reason" in _fields(err), err
    for bad in ("", "   ", "长" * 501, 7):
        err = _error(_end(stack, STATE["oid"], "manager", override_reason=bad), 422, "validation_failed",
                     "override %r" % (bad,))
        assert "override_reason" in _fields(err), err
    # the date is still checked first, with or without an override
    err = _error(_as(stack, "manager", "POST", _p("occupancies/%s/end" % STATE["oid"]),
                     {"override_reason": "x"}), 422, "validation_failed", "no date")
    assert "end_date" in _fields(err), err
    err = _error(_end(stack, STATE["oid"], "manager", override_reason="x", end_date="2024-12-31"), 422,
                 "validation_failed", "before the start")
    assert "end_date" in _fields(err), err
    assert _current(stack, STATE["oid"]), "still current"


def test_manager_override_is_recorded(stack):
    ended = _ok(_end(stack, STATE["oid"], "manager", override_reason="业主已签还款承诺书"), 200, "override")
    assert ended["end_date"] == "2026-06-30", ended
    assert ended["move_out_override"] == {"reason": "业主已签还款承诺书", "by": STATE["ids"]["manager"],
                                          "role": "manager", "balance_due": 12345, "currency": "CNY"}, ended
    rows = stack.psql("SELECT end_override_reason, end_override_by, end_override_owed FROM tenants.occupancies "
                      "WHERE id = '%s'" % STATE["oid"])
    assert rows == [("业主已签还款承诺书", STATE["ids"]["manager"], "12345")], rows
    hist = _ok(_as(stack, "agent", "GET", _p("units/%s/occupancies" % STATE["uid"])), 200, "history")["items"]
    assert hist[0]["id"] == STATE["oid"] and hist[0]["move_out_override"]["balance_due"] == 12345, hist
    _error(_end(stack, STATE["oid"], "manager", override_reason="again"), 409, "conflict", "ended already")
    # the override is the occupancy's record, not the event's
    ev = stack.psql("SELECT data::text FROM tenants.outbox WHERE type = 'occupancy.ended' AND data->>'id' = '%s'"
                    % STATE["oid"])
    assert len(ev) == 1 and "承诺" not in ev[0][0], ev


def test_units_without_arrears_move_out_as_before(stack):
    # billing may not know a unit of a moment ago: it has no bills, nothing is owed
    _, oid = _occupied_unit(stack, "C-0802")
    ended = _ok(_end(stack, oid, "agent"), 200, "no bills")
    assert ended["move_out_override"] is None, ended
    # bills paid in full
    uid, oid = _occupied_unit(stack, "C-0803")
    _wait_billing_knows(stack, uid)
    _ok(_as(stack, "admin", "POST", _p("charges"), {"unit_id": uid, "amount": 500, "reason": "水费"}), 201, "charge")
    _error(_end(stack, oid, "agent"), 409, "arrears_outstanding", "owes 500")
    _ok(_as(stack, "agent", "POST", _p("payments"), {"unit_id": uid, "amount": 500, "method": "cash"}), 201, "pay")
    _ok(_end(stack, oid, "agent"), 200, "paid up")
    # an override when nothing is owed is recorded too (a manager's word stays on file)
    _, oid = _occupied_unit(stack, "C-0804")
    ended = _ok(_end(stack, oid, "admin", override_reason="交接核对"), 200, "admin's override")
    assert ended["move_out_override"]["balance_due"] == 0 and ended["move_out_override"]["role"] == "admin", ended


def test_billing_stopped_fails_closed(stack):
    _, oid = _occupied_unit(stack, "C-0805")
    while stack.procs["billing"]:
        stack.kill("billing")
    try:
        err = _error(_end(stack, oid, "agent"), 503, "service_unavailable", "billing down")
        assert _current(stack, oid), "nothing written while billing is down"
        _error(_end(stack, oid, "agent", override_reason="系统故障"), 403, "forbidden", "an agent cannot override")
        ended = _ok(_end(stack, oid, "manager", override_reason="计费系统维护，已线下核对无欠费"), 200, "overridden")
        assert ended["move_out_override"]["balance_due"] is None, ended
        assert ended["move_out_override"]["reason"] == "计费系统维护，已线下核对无欠费", ended
        assert err["message"], err
    finally:
        stack.start("billing")
        stack.wait_ready()
