"""test_release_pass: the printable item release pass (放行条, issue J item
6): GET .../tickets/{tid}/pass for an approved item_release ticket, approved
by a manager or by the tenant of record through the desk: text/html inline
with its headers, the number, unit, items, carrier, approver and valid days,
every stored text escaped; 409 invalid_transition for another type, a
release not approved yet, refused or already released; another property's
ticket 404; roles.

Tests run in file order and share S.
"""

import time

from api import error as _error

S = {}
HOSTILE_ITEM = "<img src=x onerror=alert(1)> 保险柜 & \"钥匙\""


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body[:1] in (b"{", b"[") else r.body.decode("utf-8")


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _new(stack, typ, data=None, who="agent", pid=None):
    pid = pid or S["pid"]
    body = {"type": typ, "title": "搬出 <办公家具>", "unit_id": S["uid"] if pid == S["pid"] else None}
    if data is not None:
        body["data"] = data
    body = {k: v for k, v in body.items() if v is not None}
    token = S["tokens"][who] if who else None
    return _ok(stack.http("POST", _p(pid, "tickets"), body=body, token=token or stack.admin_token), 201, "ticket")


def _act(stack, tid, action, who="agent", **extra):
    return _ok(_as(stack, who, "POST", _p(S["pid"], "tickets/%s/actions" % tid), dict(action=action, **extra)),
               200, action)


def _pass(stack, tid, who="agent", pid=None):
    return _as(stack, who, "GET", _p(pid or S["pid"], "tickets/%s/pass" % tid))


def _user(stack, name, role, pids):
    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name, "password": "pass-%s-123" % name, "role": role, "property_ids": pids})
    _ok(r, 201, "user")
    return stack.login(name, "pass-%s-123" % name)


def test_setup(stack):
    adm = stack.admin_token
    pid = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "PASS-1", "name": "放行测试"}), 201, "p")["id"]
    other = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "PASS-2", "name": "别处"}), 201, "p")["id"]
    uid = _ok(stack.http("POST", _p(pid, "units"), token=adm,
                         body={"code": "B-0808", "area_m2": 120, "use": "office"}), 201, "unit")["id"]
    tenant = _ok(stack.http("POST", _p(pid, "parties"), token=adm,
                            body={"kind": "company", "name": "<b>创新</b>科技"}), 201, "party")["id"]
    _ok(stack.http("POST", _p(pid, "units/%s/occupancies" % uid), token=adm,
                   body={"party_id": tenant, "role": "tenant", "start_date": "2026-01-01"}), 201, "move-in")
    tokens = {role: _user(stack, "pass-" + role, role, [pid]) for role in ("manager", "agent", "technician")}
    tokens["other_agent"] = _user(stack, "pass-other", "agent", [other])
    S.update(pid=pid, other=other, uid=uid, tenant=tenant, tokens=tokens)


def test_pass_of_a_manager_approved_release(stack):
    t = _new(stack, "item_release", {"items": [HOSTILE_ITEM, "办公椅 x10"], "carrier": "德邦 & 顺丰"})
    _error(_pass(stack, t["id"]), 409, "invalid_transition", "not approved yet")
    t = _act(stack, t["id"], "approve", who="manager")
    r = _pass(stack, t["id"])
    page = _ok(r, 200, "pass")
    assert r.headers["content-type"] == "text/html; charset=utf-8", r.headers
    assert r.headers["content-disposition"] == 'inline; filename="pass-%s.html"' % t["number"], r.headers
    assert r.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'", r.headers
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store", r.headers
    approved = [e for e in t["timeline"] if e.get("action") == "approve"][-1]
    for want in ("放行条", t["number"], "B-0808", "办公椅 x10", "德邦 &amp; 顺丰", "搬出 &lt;办公家具&gt;",
                 "&lt;img src=x onerror=alert(1)&gt; 保险柜 &amp; &quot;钥匙&quot;", approved["actor_id"],
                 "有效日期", "size:A5"):
        assert want in page, "the pass lacks %r:\n%s" % (want, page)
    assert "<img" not in page and "<b>" not in page, page
    S["approved"] = t


def test_pass_of_a_tenant_approved_release(stack):
    t = _new(stack, "item_release", {"items": ["服务器机柜"]})
    deadline = time.time() + 15
    while True:                      # the copy of tenants learns the occupancy from an event
        r = _as(stack, "agent", "POST", _p(S["pid"], "tickets/%s/actions" % t["id"]),
                {"action": "approve", "approved_by_party_id": S["tenant"]})
        if r.status == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    _ok(r, 200, "approved by the tenant of record")
    page = _ok(_pass(stack, t["id"]), 200, "pass")
    assert "&lt;b&gt;创新&lt;/b&gt;科技" in page and "批准人" in page and "登记人" in page, page
    assert "<b>" not in page, page


def test_no_pass_for_other_types_or_states(stack):
    r = _new(stack, "repair")
    err = _error(_pass(stack, r["id"]), 409, "invalid_transition", "a repair")
    assert err["details"][0]["field"] == "type", err
    refused = _new(stack, "item_release", {"items": ["沙发"]})
    _act(stack, refused["id"], "refuse", note="无业主授权")
    err = _error(_pass(stack, refused["id"]), 409, "invalid_transition", "refused")
    assert err["details"][0]["field"] == "status", err
    t = S["approved"]
    _act(stack, t["id"], "release", note="东门岗放行")
    err = _error(_pass(stack, t["id"]), 409, "invalid_transition", "released: the pass was used")
    assert "released" in err["message"], err


def test_roles_and_other_property(stack):
    t = _new(stack, "item_release", {"items": ["书柜"]})
    _act(stack, t["id"], "approve", who="manager")
    assert _pass(stack, t["id"], who="manager").status == 200
    _error(_pass(stack, t["id"], who="technician"), 403, "forbidden", "technician")
    _error(_pass(stack, t["id"], who="other_agent"), 404, "not_found", "another's property")
    other = _new(stack, "item_release", {"items": ["桌子"]}, who=None, pid=S["other"])
    _error(_pass(stack, other["id"]), 404, "not_found", "another property's ticket")
    _error(_pass(stack, "00000000-0000-4000-8000-000000000000"), 404, "not_found", "no such ticket")
    _error(_pass(stack, "nope"), 404, "not_found", "not a uuid")
    assert stack.http("GET", _p(S["pid"], "tickets/%s/pass" % t["id"])).status == 401
