"""test_accounts: accounts and keys (API.md "Trust and limits", issue G item 4)
through the real gateways: PATCH /v1/users/{id}, POST /v1/auth/password,
revocation on EVERY gateway instance within a second (two gateways on one
database: LISTEN/NOTIFY, not the 10 s cache), API key expiry and roles,
revoked keys' webhooks disabled (also across a notifications outage), login
limits per address counted before hashing, the first admin's password policy."""

import calendar
import http.client
import json
import os
import secrets
import threading
import time

import harness
from harness import StackError, free_port

STACK = dict(env={"PM_WEBHOOK_ALLOW_HTTP": "1"})

_second = {}


def uniq(prefix):
    return prefix + secrets.token_hex(4)


def call(port, method, path, body=None, token=None, source=None, timeout=15):
    """One request to the gateway on port (from loopback address source)."""
    h = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        doc = None
        if payload:
            try:
                doc = json.loads(payload)
            except ValueError:
                doc = payload
        return r.status, {k.lower(): v for k, v in r.getheaders()}, doc
    finally:
        conn.close()


def second_gateway(stack):
    """Gateway B: another pm-gateway process on the same database and broker."""
    if "port" not in _second:
        port = free_port()
        stack.start("gateway", env={"PM_HTTP_PORT": str(port)})
        deadline = time.monotonic() + 30
        while True:
            try:
                if call(port, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gateway B did not start"
            time.sleep(0.1)
        _second["port"] = port
    return _second["port"]


def make_user(stack, role, property_ids=None):
    name = uniq(role + "-")
    password = "pw-" + secrets.token_urlsafe(10)
    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name, "password": password, "role": role,
                         "property_ids": property_ids or []})
    assert r.status == 201, r
    return name, password, r.json()


def wait_status(port, path, token, want, within=0.5):
    """Polls until GET path answers want; returns the seconds it took (fails after within).
    0.5 s by default: the contract's second with room to spare, and shorter than
    the cache's 1 s life while a listener is down, so that only a notification
    passes it."""
    t0 = time.monotonic()
    while True:
        status = call(port, "GET", path, token=token)[0]
        took = time.monotonic() - t0
        if status == want:
            return took
        assert took < within, "still %d after %.2f s on port %d (wanted %d)" % (status, took, port, want)
        time.sleep(0.02)


def check_error(status, doc, want, code):
    assert status == want, "wanted %d %s, got %d %r" % (want, code, status, doc)
    assert doc["error"]["code"] == code, doc
    return doc


# ---------------------------------------------------------------- revocation on every gateway
def test_disable_user_refused_on_the_other_gateway_within_1s(stack):
    b = second_gateway(stack)
    name, password, user = make_user(stack, "agent")
    token = stack.login(name, password)
    # cached by both gateways
    assert call(stack.http_port, "GET", "/v1/auth/me", token=token)[0] == 200
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200
    r = stack.http("PATCH", "/v1/users/%s" % user["id"], token=stack.admin_token, body={"disabled": True})
    assert r.status == 200 and r.json()["disabled"] is True, r
    took = wait_status(b, "/v1/auth/me", token, 401)
    assert call(stack.http_port, "GET", "/v1/auth/me", token=token)[0] == 401
    # a disabled user cannot log in: the same answer as a wrong password
    s1, _, d1 = call(b, "POST", "/v1/auth/login", body={"username": name, "password": password})
    s2, _, d2 = call(b, "POST", "/v1/auth/login", body={"username": name, "password": "wrong-password"})
    assert s1 == s2 == 401 and d1["error"]["message"] == d2["error"]["message"], (d1, d2)
    # enabled again: the old token stays revoked, a new login works
    r = stack.http("PATCH", "/v1/users/%s" % user["id"], token=stack.admin_token, body={"disabled": False})
    assert r.status == 200 and r.json()["disabled"] is False, r
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 401
    assert call(b, "GET", "/v1/auth/me", token=stack.login(name, password))[0] == 200
    print("  revoked on gateway B after %.3f s" % took)


def test_logout_and_key_revocation_reach_the_other_gateway(stack):
    b = second_gateway(stack)
    name, password, _ = make_user(stack, "agent")
    token = stack.login(name, password)
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200
    assert stack.http("POST", "/v1/auth/logout", token=token).status == 204
    wait_status(b, "/v1/auth/me", token, 401)

    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": uniq("key "), "role": "integration"})
    assert r.status == 201, r
    key, key_id = r.json()["key"], r.json()["id"]
    assert call(b, "GET", "/v1/auth/me", token=key)[0] == 200
    assert stack.http("DELETE", "/v1/api-keys/%s" % key_id, token=stack.admin_token).status == 204
    wait_status(b, "/v1/auth/me", key, 401)


def test_role_and_property_change_revoke_tokens(stack):
    b = second_gateway(stack)
    pa = stack.http("POST", "/v1/properties", token=stack.admin_token,
                    body={"code": uniq("P"), "name": "账户 " + uniq("")}).json()["id"]
    name, password, user = make_user(stack, "manager", [pa])
    token = stack.login(name, password)
    assert call(b, "GET", "/v1/properties/%s" % pa, token=token)[0] == 200
    r = stack.http("PATCH", "/v1/users/%s" % user["id"], token=stack.admin_token, body={"property_ids": []})
    assert r.status == 200 and r.json()["property_ids"] == [], r
    wait_status(b, "/v1/auth/me", token, 401)
    token = stack.login(name, password)
    assert call(b, "GET", "/v1/properties/%s" % pa, token=token)[0] == 404
    r = stack.http("PATCH", "/v1/users/%s" % user["id"], token=stack.admin_token,
                   body={"role": "agent", "property_ids": [pa]})
    assert r.status == 200 and r.json()["role"] == "agent" and r.json()["property_ids"] == [pa], r
    wait_status(b, "/v1/auth/me", token, 401)
    me = call(b, "GET", "/v1/auth/me", token=stack.login(name, password))[2]
    assert me["role"] == "agent" and me["property_ids"] == [pa], me
    # a change that changes nothing revokes nothing. Proof that gateway B heard what the
    # change did: a logout after it (notifications arrive in commit order) of another of
    # the user's tokens; B then forgets every cached token of the user and reads `token`
    # again from the database
    token, marker = stack.login(name, password), stack.login(name, password)
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200
    assert call(b, "GET", "/v1/auth/me", token=marker)[0] == 200
    r = stack.http("PATCH", "/v1/users/%s" % user["id"], token=stack.admin_token, body={"role": "agent"})
    assert r.status == 200, r
    assert stack.http("POST", "/v1/auth/logout", token=marker).status == 204
    wait_status(b, "/v1/auth/me", marker, 401)
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200, "a change that changed nothing revoked"


def test_revocation_survives_a_lost_listener(stack):
    """The listener's connection is killed: it reconnects by itself, and a
    revocation made meanwhile still reaches gateway B within a second."""
    b = second_gateway(stack)
    name, password, _ = make_user(stack, "agent")
    token = stack.login(name, password)
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200
    gateways = list(stack.procs["gateway"])
    relistened = [harness.log_count([g], "listening again") for g in gateways]
    rows = stack.psql("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'pm-gateway-listen') t")
    assert int(rows[0][0]) >= 2, "no listener connections found: %r" % rows
    assert stack.http("POST", "/v1/auth/logout", token=token).status == 204
    wait_status(b, "/v1/auth/me", token, 401, within=1.0)
    # listening again (both gateways) soon after
    deadline = time.monotonic() + 10
    while int(stack.psql("SELECT count(*) FROM pg_stat_activity "
                         "WHERE application_name = 'pm-gateway-listen'")[0][0]) < 2:
        assert time.monotonic() < deadline, "the listeners did not come back"
        time.sleep(0.1)
    # LISTEN answered on both (gw_listen logs it): the cache is trusted again
    harness.wait_for("both gateways listening again", lambda: all(
        harness.log_count([g], "listening again") > n for g, n in zip(gateways, relistened)), timeout=10)
    token = stack.login(name, password)
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200
    assert call(b, "GET", "/v1/auth/me", token=token)[0] == 200
    assert stack.http("POST", "/v1/auth/logout", token=token).status == 204
    wait_status(b, "/v1/auth/me", token, 401)


# ---------------------------------------------------------------- PATCH /v1/users/{id}
def test_patch_user_validation_and_roles(stack):
    name, password, user = make_user(stack, "agent")
    path = "/v1/users/%s" % user["id"]
    for body, fields in [({}, {"body"}), ({"disabled": "yes"}, {"disabled"}), ({"role": "root"}, {"role"}),
                         ({"property_ids": ["nope"]}, {"property_ids"}),
                         ({"password": "new-password-1"}, {"password"}),
                         ({"username": "x", "role": "agent"}, {"username"})]:
        r = stack.http("PATCH", path, token=stack.admin_token, body=body)
        assert r.status == 422, (body, r)
        got = {d["field"] for d in r.json()["error"]["details"]}
        assert got == fields, (body, r.json())
    r = stack.http("PATCH", path, token=stack.admin_token, body=["disabled"])
    assert r.status == 422, r
    assert stack.http("PATCH", "/v1/users/%s" % "0b0e7c1e-0000-4000-8000-000000000009",
                      token=stack.admin_token, body={"disabled": True}).status == 404
    assert stack.http("PATCH", "/v1/users/nope", token=stack.admin_token, body={"disabled": True}).status == 404
    # admin only
    agent = stack.login(name, password)
    r = stack.http("PATCH", path, token=agent, body={"role": "admin"})
    assert r.status == 403, r
    # the answer: the user, without any hash
    r = stack.http("PATCH", path, token=stack.admin_token, body={"role": "technician"})
    assert r.status == 200, r
    assert set(r.json()) == {"id", "username", "role", "property_ids", "created_at", "disabled"}, r.json()


def test_admin_cannot_disable_or_demote_themselves_or_the_last_admin(stack):
    me = stack.http("GET", "/v1/auth/me", token=stack.admin_token).json()
    for body in [{"disabled": True}, {"role": "manager"}]:
        r = stack.http("PATCH", "/v1/users/%s" % me["id"], token=stack.admin_token, body=body)
        assert r.status == 409 and r.json()["error"]["code"] == "conflict", r
    # changing nothing that takes the role away is allowed
    r = stack.http("PATCH", "/v1/users/%s" % me["id"], token=stack.admin_token, body={"role": "admin"})
    assert r.status == 200, r
    assert stack.http("GET", "/v1/auth/me", token=stack.admin_token).status == 200

    # two admins disabling each other at once: one wins, the other is the
    # last admin and is refused (the admins are locked in the transaction)
    stack.psql("UPDATE gateway.users SET disabled = true WHERE role = 'admin' AND id <> '%s'" % me["id"])
    name, password, other = make_user(stack, "admin")
    other_token = stack.login(name, password)
    results = {}

    def patch(who, token, target):
        results[who] = stack.http("PATCH", "/v1/users/%s" % target, token=token, body={"disabled": True})

    threads = [threading.Thread(target=patch, args=("me", stack.admin_token, other["id"])),
               threading.Thread(target=patch, args=("other", other_token, me["id"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results.values())
    enabled = stack.psql("SELECT count(*) FROM gateway.users WHERE role = 'admin' AND NOT disabled")[0][0]
    # put the stack's admin back for the other tests
    stack.psql("UPDATE gateway.users SET disabled = false WHERE id = '%s'" % me["id"])
    stack._token = None
    assert enabled == "1", "enabled admins left: %s (%r)" % (enabled, results)
    # a request whose caller was disabled meanwhile may also be refused as 401
    assert statuses in ([200, 409], [200, 401]), results


# ---------------------------------------------------------------- POST /v1/auth/password
def test_password_change(stack):
    b = second_gateway(stack)
    name, password, user = make_user(stack, "agent")
    token = stack.login(name, password)
    other = stack.login(name, password)
    assert call(b, "GET", "/v1/auth/me", token=other)[0] == 200
    new = "new-" + secrets.token_urlsafe(10)
    cases = [({"current_password": password, "new_password": "short"}, "new_password"),
             ({"current_password": password, "new_password": name.upper()}, "new_password"),
             ({"current_password": password, "new_password": password}, "new_password"),
             ({"current_password": password}, "new_password"),
             ({"new_password": new}, "current_password"),
             ({"current_password": "wrong-password", "new_password": new}, "current_password")]
    for body, field in cases:
        r = stack.http("POST", "/v1/auth/password", token=token, body=body)
        assert r.status == 422, (body, r)
        assert field in [d["field"] for d in r.json()["error"]["details"]], (body, r.json())
    r = stack.http("POST", "/v1/auth/password", token=token, body={"current_password": password, "new_password": new})
    assert r.status == 204, r
    # this token goes on; the user's other tokens are revoked everywhere
    assert stack.http("GET", "/v1/auth/me", token=token).status == 200
    wait_status(b, "/v1/auth/me", other, 401)
    assert stack.http("POST", "/v1/auth/login", body={"username": name, "password": password}).status == 401
    stack.login(name, new)
    # an API key has no password; no token: 401
    key = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                     body={"name": uniq("k"), "role": "integration"}).json()["key"]
    r = stack.http("POST", "/v1/auth/password", token=key, body={"current_password": "x" * 8, "new_password": new})
    assert r.status == 403, r
    assert stack.http("POST", "/v1/auth/password", body={"current_password": new, "new_password": new + "x"}).status == 401


# ---------------------------------------------------------------- API keys
def test_api_key_expiry_and_roles(stack):
    for body, field in [({"name": "k", "role": "admin"}, "role"), ({"name": "k", "role": "manager"}, "role"),
                        ({"name": "k", "role": "integration", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
                        ({"name": "k", "role": "integration", "expires_at": "tomorrow"}, "expires_at"),
                        ({"name": "k", "role": "integration", "expires_at": "2030-01-01"}, "expires_at"),
                        ({"name": "k", "role": "integration", "expires_at": "9999-01-01T00:00:00Z"}, "expires_at"),
                        ({"name": "k", "role": "integration", "expires_at": 5}, "expires_at")]:
        r = stack.http("POST", "/v1/api-keys", token=stack.admin_token, body=body)
        assert r.status == 422, (body, r)
        assert [d["field"] for d in r.json()["error"]["details"]] == [field], (body, r.json())
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": uniq("k"), "role": "integration", "expires_at": "2099-01-01T08:00:00+08:00"})
    assert r.status == 422, "more than ~10 years ahead: %r" % r
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": uniq("k"), "role": "integration", "expires_at": "2030-06-01T08:00:00+08:00"})
    assert r.status == 201 and r.json()["expires_at"] == "2030-06-01T00:00:00Z", r
    keys = stack.http("GET", "/v1/api-keys", token=stack.admin_token).json()["items"]
    assert [k["expires_at"] for k in keys if k["id"] == r.json()["id"]] == ["2030-06-01T00:00:00Z"], keys

    # a key that expires in 2-3 s works, then does not (the cache never outlives the expiry)
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": uniq("k"), "role": "integration", "expires_at": soon})
    assert r.status == 201, r
    key = r.json()["key"]
    assert stack.http("GET", "/v1/auth/me", token=key).status == 200
    def refused_at():
        t = time.time()
        return t if stack.http("GET", "/v1/auth/me", token=key).status == 401 else None
    at = harness.wait_for("the key refused after its expiry", refused_at, timeout=10)
    expiry = calendar.timegm(time.strptime(soon, "%Y-%m-%dT%H:%M:%SZ"))
    assert at > expiry - 1, "refused %.1f s before its expiry" % (expiry - at)

    # the database itself refuses a live key of another role (migration 003)
    try:
        stack.psql("INSERT INTO gateway.api_keys (name, key_hash, role) "
                   "VALUES ('x', sha256('x'::bytea), 'admin')")
        stored = True
    except StackError as e:  # psql failed: the constraint
        assert "api_keys_integration_only" in str(e), e
        stored = False
    assert not stored, "a live admin key was stored"


def _webhook(stack, key):
    r = stack.http("POST", "/v1/webhooks", token=key,
                   body={"url": "http://127.0.0.1:9/hook-%s" % uniq(""), "events": ["ticket.created"]})
    assert r.status == 201, r
    return r.json()["id"]


def _webhook_enabled(stack, wid):
    r = stack.http("GET", "/v1/webhooks/%s" % wid, token=stack.admin_token)
    assert r.status == 200, r
    return r.json().get("enabled")


def _wait_disabled(stack, key_id, wid, within):
    deadline = time.monotonic() + within
    while True:
        pending = stack.psql("SELECT count(*) FROM gateway.webhook_disables WHERE key_id = '%s'" % key_id)[0][0]
        if pending == "0" and _webhook_enabled(stack, wid) is False:
            return
        assert time.monotonic() < deadline, "webhook %s still enabled (pending %s)" % (wid, pending)
        time.sleep(0.2)


def test_revoked_key_disables_its_webhooks(stack):
    pid = stack.http("POST", "/v1/properties", token=stack.admin_token,
                     body={"code": uniq("P"), "name": "钩子 " + uniq("")}).json()["id"]
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": uniq("hooks "), "role": "integration", "property_ids": [pid]})
    key, key_id = r.json()["key"], r.json()["id"]
    wid = _webhook(stack, key)
    assert _webhook_enabled(stack, wid) is True
    assert stack.http("DELETE", "/v1/api-keys/%s" % key_id, token=stack.admin_token).status == 204
    _wait_disabled(stack, key_id, wid, within=5)

    # notifications down: the revocation stands at once, the disable waits and is not lost
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": uniq("hooks "), "role": "integration", "property_ids": [pid]})
    key, key_id = r.json()["key"], r.json()["id"]
    wid = _webhook(stack, key)
    stack.kill("notifications")
    try:
        assert stack.http("DELETE", "/v1/api-keys/%s" % key_id, token=stack.admin_token).status == 204
        assert stack.http("GET", "/v1/auth/me", token=key).status == 401
        # the gateway tried, notifications did not answer (it logs that): the row stays
        harness.wait_for("the failed disable attempt logged", lambda: harness.log_count(
            stack.procs["gateway"], "disabling the webhooks of revoked key %s" % key_id), timeout=30)
        pending = stack.psql("SELECT attempts FROM gateway.webhook_disables WHERE key_id = '%s'" % key_id)
        assert len(pending) == 1 and int(pending[0][0]) >= 1, "the pending disable was lost: %r" % pending
    finally:
        stack.start("notifications")
    _wait_disabled(stack, key_id, wid, within=90)


# ---------------------------------------------------------------- logins per address
def test_login_limited_per_address_before_hashing(stack):
    """20 failures from one address, whatever the names: 429 with Retry-After
    for anything from it, even a right password; another address is not
    affected. 40 failures sent at once: 20 reach the hash, not 40."""
    name, password, _ = make_user(stack, "agent")
    src = "127.0.0.%d" % (20 + secrets.randbelow(200))
    results = []
    lock = threading.Lock()

    def attempt(i):
        s, h, d = call(stack.http_port, "POST", "/v1/auth/login", source=src,
                       body={"username": uniq("ghost%d-" % i), "password": "wrong-password"})
        with lock:
            results.append((s, h))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses.count(401) == 20 and statuses.count(429) == 20, statuses
    s, h, d = call(stack.http_port, "POST", "/v1/auth/login", source=src,
                   body={"username": name, "password": password})
    assert s == 429 and d["error"]["code"] == "rate_limited", (s, d)
    assert 1 <= int(h["retry-after"]) <= 900, h
    other = "127.0.0.%d" % (20 + (int(src.rsplit(".", 1)[1]) - 20 + 1) % 200)
    s, _, d = call(stack.http_port, "POST", "/v1/auth/login", source=other,
                   body={"username": name, "password": password})
    assert s == 200, (s, d)
    # the per-name limit, also counted before hashing: 30 at once, 10 reach the hash
    victim, victim_pw, _ = make_user(stack, "agent")
    results.clear()
    srcs = ["127.0.1.%d" % (i + 1) for i in range(30)]   # not the address limit

    def attempt_name(i):
        s, h, d = call(stack.http_port, "POST", "/v1/auth/login", source=srcs[i],
                       body={"username": victim, "password": "wrong-%d" % i})
        with lock:
            results.append((s, h))

    threads = [threading.Thread(target=attempt_name, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses.count(401) == 10 and statuses.count(429) == 20, statuses


# ---------------------------------------------------------------- the first admin's password
def test_weak_admin_password_refuses_to_start(stack):
    for user, pw in [("admin", "weak7"), ("boss.admin", "Boss.Admin")]:
        port = free_port()
        p = stack.start("gateway", env={"PM_HTTP_PORT": str(port), "PM_ADMIN_USER": user,
                                        "PM_ADMIN_PASSWORD": pw})
        try:
            p.popen.wait(30)
        except Exception:
            p.popen.kill()
            raise AssertionError("a gateway with PM_ADMIN_PASSWORD=%r started" % pw)
        finally:
            stack.procs["gateway"].remove(p)
        assert p.popen.returncode != 0, p.popen.returncode
        log = open(p.log_path, encoding="utf-8", errors="replace").read()
        assert "PM_ADMIN_PASSWORD" in log and "refusing to start" in log, log[-2000:]
        assert pw not in log.replace("PM_ADMIN_PASSWORD", ""), "the password is in the log"
