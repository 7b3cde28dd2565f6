"""test_audit: GET /v1/audit and what is recorded (API.md "Trust and limits",
issue G item 7): every answered POST/PUT/PATCH/DELETE, logins (success and
failure, the user named as actor only when the user exists, never a password),
user and key changes; the route pattern, not the path; newest first with a
cursor; filters; a manager sees their properties' rows only; written in
batches without a GET."""

import secrets
import time

STACK = dict(env={"PM_LOGIN_ADDR_MAX_FAILURES": "100000"})


def uniq(prefix):
    return prefix + secrets.token_hex(4)


def audit(stack, token=None, **q):
    path = "/v1/audit" + ("?" + "&".join("%s=%s" % kv for kv in q.items()) if q else "")
    r = stack.http("GET", path, token=token or stack.admin_token)
    assert r.status == 200, r
    doc = r.json()
    assert set(doc) == {"items", "next_cursor"}, doc
    return doc


def by_request(stack, request_id):
    items = [i for i in audit(stack, limit=500)["items"] if i["request_id"] == request_id]
    assert len(items) == 1, "rows of request %s: %r" % (request_id, items)
    return items[0]


def make_property(stack):
    r = stack.http("POST", "/v1/properties", token=stack.admin_token,
                   body={"code": uniq("A"), "name": "审计 " + uniq("")})
    assert r.status == 201, r
    return r


def test_writes_are_recorded_with_route_target_property(stack):
    me = stack.http("GET", "/v1/auth/me", token=stack.admin_token).json()
    r = make_property(stack)
    pid = r.json()["id"]
    row = by_request(stack, r.headers["x-request-id"])
    assert row == {"at": row["at"], "actor_id": me["id"], "actor_role": "admin", "method": "POST",
                   "route": "/v1/properties", "target_id": pid, "property_id": pid, "status": 201,
                   "request_id": r.headers["x-request-id"]}, row
    assert row["at"].endswith("Z") and "T" in row["at"], row
    # a unit: the route's pattern, the new unit as target, the property
    r = stack.http("POST", "/v1/properties/%s/units" % pid, token=stack.admin_token,
                   body={"code": "A-101", "area_m2": 88.5, "use": "residential"})
    assert r.status == 201, r
    row = by_request(stack, r.headers["x-request-id"])
    assert row["route"] == "/v1/properties/{pid}/units" and row["target_id"] == r.json()["id"], row
    assert row["property_id"] == pid and row["status"] == 201, row
    # a refused write is recorded too, with its status; a read is not
    r = stack.http("POST", "/v1/properties/%s/units" % pid, token=stack.admin_token, body={"code": ""})
    assert r.status == 422, r
    assert by_request(stack, r.headers["x-request-id"])["status"] == 422
    r = stack.http("GET", "/v1/properties/%s/units" % pid, token=stack.admin_token)
    assert r.status == 200
    assert not [i for i in audit(stack, limit=500)["items"] if i["request_id"] == r.headers["x-request-id"]]
    # a path id is the target of a change (PATCH .../units/{uid})
    uid = stack.http("GET", "/v1/properties/%s/units" % pid, token=stack.admin_token).json()["items"][0]["id"]
    r = stack.http("PATCH", "/v1/properties/%s/units/%s" % (pid, uid), token=stack.admin_token,
                   body={"area_m2": 90})
    row = by_request(stack, r.headers["x-request-id"])
    assert row["route"] == "/v1/properties/{pid}/units/{uid}" and row["target_id"] == uid, row
    assert row["method"] == "PATCH" and row["property_id"] == pid, row
    # unauthenticated writes are answered and recorded, with no actor
    r = stack.http("POST", "/v1/properties", body={"code": "X", "name": "x"})
    assert r.status == 401
    row = by_request(stack, r.headers["x-request-id"])
    assert row["actor_id"] is None and row["status"] == 401 and row["route"] == "/v1/properties", row


def test_logins_users_and_keys(stack):
    name, password = uniq("audited-"), "pw-" + secrets.token_urlsafe(10)
    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name, "password": password, "role": "agent"})
    assert r.status == 201, r
    uid = r.json()["id"]
    assert by_request(stack, r.headers["x-request-id"])["target_id"] == uid
    ok = stack.http("POST", "/v1/auth/login", body={"username": name, "password": password})
    bad = stack.http("POST", "/v1/auth/login", body={"username": name, "password": "wrong-" + password})
    ghost_pw = "typed-" + secrets.token_hex(6)
    ghost = stack.http("POST", "/v1/auth/login", body={"username": ghost_pw, "password": ghost_pw})
    assert (ok.status, bad.status, ghost.status) == (200, 401, 401)
    row = by_request(stack, ok.headers["x-request-id"])
    assert (row["actor_id"], row["actor_role"], row["status"], row["route"]) == \
        (uid, "agent", 200, "/v1/auth/login"), row
    row = by_request(stack, bad.headers["x-request-id"])
    assert (row["actor_id"], row["status"]) == (uid, 401), row
    row = by_request(stack, ghost.headers["x-request-id"])
    assert row["actor_id"] is None and row["status"] == 401, row
    # neither a password nor a name typed for a user that does not exist is kept
    dump = stack.psql("SELECT string_agg(a::text, ' ') FROM gateway.audit a")[0][0]
    assert password not in dump and ghost_pw not in dump and "token" not in dump, dump[:300]

    r = stack.http("PATCH", "/v1/users/%s" % uid, token=stack.admin_token, body={"disabled": True})
    row = by_request(stack, r.headers["x-request-id"])
    assert (row["route"], row["target_id"], row["status"]) == ("/v1/users/{id}", uid, 200), row
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token, body={"name": uniq("k"), "role": "integration"})
    kid = r.json()["id"]
    assert by_request(stack, r.headers["x-request-id"])["target_id"] == kid
    key = r.json()["key"]
    r = stack.http("DELETE", "/v1/api-keys/%s" % kid, token=stack.admin_token)
    row = by_request(stack, r.headers["x-request-id"])
    assert (row["method"], row["route"], row["target_id"], row["status"]) == \
        ("DELETE", "/v1/api-keys/{id}", kid, 204), row
    assert key not in stack.psql("SELECT string_agg(a::text, ' ') FROM gateway.audit a")[0][0]


def test_written_in_batches_without_a_read(stack):
    r = make_property(stack)
    rid = r.headers["x-request-id"]
    deadline = time.monotonic() + 3
    while stack.psql("SELECT count(*) FROM gateway.audit WHERE request_id = '%s'" % rid)[0][0] != "1":
        assert time.monotonic() < deadline, "the row was not written by the flush timer"
        time.sleep(0.05)


def test_order_cursor_and_filters(stack):
    me = stack.http("GET", "/v1/auth/me", token=stack.admin_token).json()
    pid = make_property(stack).json()["id"]
    rids = []
    for i in range(5):
        r = stack.http("POST", "/v1/properties/%s/units" % pid, token=stack.admin_token,
                       body={"code": "C-%d" % i, "area_m2": 50, "use": "residential"})
        assert r.status == 201, r
        rids.append(r.headers["x-request-id"])
    # newest first, two by two
    seen, cursor = [], None
    for _ in range(10):
        q = {"property_id": pid, "limit": 2}
        if cursor:
            q["cursor"] = cursor
        doc = audit(stack, **q)
        seen += [i["request_id"] for i in doc["items"]]
        cursor = doc["next_cursor"]
        if not cursor:
            break
    assert seen[:5] == rids[::-1], (seen, rids)
    assert len(seen) == len(set(seen)) == 6, seen          # the 5 units and the property
    ats = [i["at"] for i in audit(stack, property_id=pid)["items"]]
    assert ats == sorted(ats, reverse=True), ats
    # by actor, by time
    assert all(i["actor_id"] == me["id"] for i in audit(stack, actor_id=me["id"], limit=100)["items"])
    assert audit(stack, actor_id="0b0e7c1e-0000-4000-8000-00000000000f")["items"] == []
    assert audit(stack, property_id=pid, to="2000-01-01")["items"] == []
    assert len(audit(stack, property_id=pid, **{"from": time.strftime("%Y-%m-%d", time.gmtime())})["items"]) == 6
    assert audit(stack, property_id=pid, **{"from": "2999-01-01T00:00:00Z"})["items"] == []
    for q in ["limit=0", "limit=501", "cursor=abc", "cursor=1~x", "from=yesterday", "to=2027-02-30",
              "property_id=nope", "actor_id=a%20b", "from=2027-01-02&to=2027-01-01"]:
        r = stack.http("GET", "/v1/audit?" + q, token=stack.admin_token)
        assert r.status == 422 and r.json()["error"]["code"] == "validation_failed", (q, r)


def test_manager_sees_their_properties_only(stack):
    pa = make_property(stack).json()["id"]
    pb = make_property(stack).json()["id"]
    name, password = uniq("mgr-"), "pw-" + secrets.token_urlsafe(10)
    assert stack.http("POST", "/v1/users", token=stack.admin_token,
                      body={"username": name, "password": password, "role": "manager",
                            "property_ids": [pa]}).status == 201
    mgr = stack.login(name, password)
    for p in (pa, pb):
        r = stack.http("POST", "/v1/properties/%s/units" % p, token=stack.admin_token,
                       body={"code": "M-1", "area_m2": 50, "use": "office"})
        assert r.status == 201, r
    items = audit(stack, token=mgr, limit=500)["items"]
    assert items and {i["property_id"] for i in items} == {pa}, items
    assert audit(stack, token=mgr, property_id=pa)["items"]
    r = stack.http("GET", "/v1/audit?property_id=%s" % pb, token=mgr)
    assert r.status == 404 and r.json()["error"]["code"] == "not_found", r
    # others may not read it
    for role in ["agent", "technician"]:
        n, pw = uniq(role + "-"), "pw-" + secrets.token_urlsafe(10)
        assert stack.http("POST", "/v1/users", token=stack.admin_token,
                          body={"username": n, "password": pw, "role": role, "property_ids": [pa]}).status == 201
        r = stack.http("GET", "/v1/audit", token=stack.login(n, pw))
        assert r.status == 403, (role, r)
    key = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                     body={"name": uniq("k"), "role": "integration", "property_ids": [pa]}).json()["key"]
    assert stack.http("GET", "/v1/audit", token=key).status == 403
    assert stack.http("GET", "/v1/audit").status == 401
