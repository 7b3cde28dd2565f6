"""test_tickets_tenants_copy: tickets keeps an event-fed copy of what it needs
from tenants (units, parties, occupancies, timezones: schema tickets,
tenant_*), so that a ticket is created and walked through its actions with
pm-tenants stopped; a unit or party created a moment ago (not yet in the
copy) is still accepted, by asking tenants before any transaction; with
tenants down, an id the copy does not know is a 503, never a 422.
"""

import secrets
import time

S = {}


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body["error"]["code"] == code, "%s: %r" % (what, body)
    return body["error"]


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path=""):
    return "/v1/properties/%s%s" % (S["pid"], path)


def _new_ticket(stack, typ="repair", **extra):
    body = dict(type=typ, title="%s %s" % (typ, secrets.token_hex(2)), **extra)
    return _as(stack, "agent", "POST", _p("/tickets"), body)


def _act(stack, tid, action, who="agent", **extra):
    return _ok(_as(stack, who, "POST", _p("/tickets/%s/actions" % tid), dict(action=action, **extra)),
               200, "%s on %s" % (action, tid))


def _unit(stack, code):
    return _ok(stack.http("POST", _p("/units"), token=stack.admin_token,
                          body={"code": code, "area_m2": 88, "use": "residential"}), 201, "unit")["id"]


def _party(stack, name, kind="person"):
    return _ok(stack.http("POST", _p("/parties"), token=stack.admin_token,
                          body={"kind": kind, "name": name}), 201, "party")["id"]


def _copy_has(stack, sql, timeout=15.0):
    """Waits until the copy answers sql with a row (the consumer's round)."""
    end = time.time() + timeout
    while time.time() < end:
        if stack.psql(sql):
            return
        time.sleep(0.2)
    raise AssertionError("the copy never got: %s" % sql)


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
                         body={"code": "TC-" + secrets.token_hex(3).upper(), "name": "副本测试花园",
                               "timezone": "Asia/Shanghai"}), 201, "property")["id"]
    S.update(pid=pid, tokens={"admin": adm}, ids={})
    for role in ("agent", "technician"):
        S["ids"][role], S["tokens"][role] = _user(stack, role)
    S["uid"] = _unit(stack, "T-0101")
    S["owner"] = _party(stack, "王业主")
    S["stranger"] = _party(stack, "路人乙")
    _ok(stack.http("POST", _p("/units/%s/occupancies" % S["uid"]), token=adm,
                   body={"party_id": S["owner"], "role": "owner", "start_date": "2025-03-01"}), 201, "move-in")


def test_created_just_now_is_accepted(stack):
    # no wait for the consumer: the copy may not know them yet, tenants is asked
    uid = _unit(stack, "T-0202")
    party = _party(stack, "新业户", kind="company")
    t = _ok(_new_ticket(stack, unit_id=uid, party_id=party), 201, "ticket for a unit of a moment ago")
    assert t["unit_id"] == uid and t["unit_code"] == "T-0202" and t["party_id"] == party, t
    # and what tenants answered is in the copy now, whatever the consumer did
    assert stack.psql("SELECT code FROM tickets.tenant_units WHERE id = '%s'" % uid) == [("T-0202",)]
    assert stack.psql("SELECT kind, name FROM tickets.tenant_parties WHERE id = '%s'" % party) \
        == [("company", "新业户")]
    # ids tenants does not have are still a 422
    err = _error(_new_ticket(stack, unit_id="00000000-0000-4000-8000-000000000001"), 422,
                 "validation_failed", "unknown unit")
    assert err["details"][0]["field"] == "unit_id", err
    err = _error(_new_ticket(stack, party_id="00000000-0000-4000-8000-000000000002"), 422,
                 "validation_failed", "unknown party")
    assert err["details"][0]["field"] == "party_id", err


def test_copy_follows_tenants_events(stack):
    pid, uid = S["pid"], S["uid"]
    _copy_has(stack, "SELECT 1 FROM tickets.tenant_properties WHERE id = '%s' "
                     "AND timezone = 'Asia/Shanghai'" % pid)
    _copy_has(stack, "SELECT 1 FROM tickets.tenant_occupancies WHERE unit_id = '%s' AND party_id = '%s' "
                     "AND role = 'owner' AND end_date IS NULL" % (uid, S["owner"]))
    _copy_has(stack, "SELECT 1 FROM tickets.tenant_parties WHERE id = '%s' AND name = '路人乙'" % S["stranger"])
    # a renamed unit reaches the copy by its event, and the next ticket shows the new code
    _ok(stack.http("PATCH", _p("/units/%s" % uid), token=stack.admin_token, body={"code": "T-0101A"}),
        200, "rename the unit")
    _copy_has(stack, "SELECT 1 FROM tickets.tenant_units WHERE id = '%s' AND code = 'T-0101A'" % uid)
    t = _ok(_new_ticket(stack, unit_id=uid), 201, "ticket after the rename")
    assert t["unit_code"] == "T-0101A", t
    # the copy keeps no contacts: names and kinds only
    cols = {r[0] for r in stack.psql("SELECT column_name FROM information_schema.columns "
                                     "WHERE table_schema = 'tickets' AND table_name = 'tenant_parties'")}
    assert not cols & {"phone", "phones", "email", "id_number"}, cols


def test_walk_a_ticket_with_tenants_stopped(stack):
    uid, owner = S["uid"], S["owner"]
    stack.kill("tenants")
    assert not stack.procs["tenants"], "pm-tenants still runs"

    t = _ok(_new_ticket(stack, unit_id=uid, party_id=owner, priority="high"), 201,
            "create with tenants stopped")
    assert t["unit_code"] == "T-0101A" and t["party_id"] == owner and t["number"].startswith("BX-"), t
    tid, tech = t["id"], S["ids"]["technician"]
    t = _act(stack, tid, "accept")
    assert t["status"] == "accepted", t
    t = _act(stack, tid, "assign", assignee_id=tech)
    assert t["status"] == "assigned" and t["assignee_id"] == tech, t
    t = _act(stack, tid, "start", who="technician")
    assert t["status"] == "in_progress", t
    t = _act(stack, tid, "resolve", who="technician", note="换了阀门")
    assert t["status"] == "resolved", t
    t = _act(stack, tid, "close")
    assert t["status"] == "closed" and t["closed_at"], t

    # an item release approved by the owner of record: the copy's occupancy answers
    r = _ok(_new_ticket(stack, "item_release", unit_id=uid, party_id=owner, data={"items": ["冰箱"]}),
            201, "item release with tenants stopped")
    r = _act(stack, r["id"], "approve", approved_by_party_id=owner, note="业主签字")
    assert r["status"] == "approved" and r["data"]["approved_by_party_id"] == owner, r

    # an id the copy does not know, tenants down: 503, not 422
    _error(_new_ticket(stack, unit_id="00000000-0000-4000-8000-000000000003"), 503,
           "service_unavailable", "unknown unit with tenants stopped")
    _error(_new_ticket(stack, unit_id=uid, party_id="00000000-0000-4000-8000-000000000004"), 503,
           "service_unavailable", "unknown party with tenants stopped")
    s = _ok(_new_ticket(stack, "item_release", unit_id=uid, data={"items": ["床"]}), 201, "another pass")
    _error(_as(stack, "agent", "POST", _p("/tickets/%s/actions" % s["id"]),
               {"action": "approve", "approved_by_party_id": S["stranger"]}), 503,
           "service_unavailable", "not of record in the copy, tenants stopped")
    stack.start("tenants")
