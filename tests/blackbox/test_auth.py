"""test_auth: logins, tokens, logout, users, API keys, roles and property scope,
and Idempotency-Key (replay and mismatch) through the real gateway."""

import json
import secrets
import statistics
import time

import harness

# Every request here comes from 127.0.0.1: the per-address login limit (20
# failures in 15 min) would refuse the later tests' logins. It has its own
# tests, from other loopback addresses, in test_accounts.py.
STACK = dict(env={"PM_LOGIN_ADDR_MAX_FAILURES": "100000"})


def check_error(r, status, code):
    assert r.status == status, "wanted %d %s, got %r" % (status, code, r)
    doc = r.json()
    assert doc.get("error", {}).get("code") == code, "wanted code %s: %r" % (code, doc)
    assert isinstance(doc["error"].get("message"), str) and isinstance(doc["error"].get("details"), list), doc
    assert doc.get("request_id") == r.headers.get("x-request-id"), (doc, r.headers)
    return doc


def uniq(prefix):
    return prefix + secrets.token_hex(4)


def make_user(stack, role, property_ids=None, password=None):
    name = uniq(role + "-")
    password = password or "pw-" + secrets.token_urlsafe(10)
    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name, "password": password, "role": role,
                         "property_ids": property_ids or []})
    assert r.status == 201, r
    return name, password, r.json()


def make_property(stack, token=None, key=None, code=None):
    headers = {"Idempotency-Key": key} if key else None
    return stack.http("POST", "/v1/properties", token=token or stack.admin_token, headers=headers,
                      body={"code": code or uniq("P"), "name": "物业项目 " + uniq("")})


# ---------------------------------------------------------------- login
def test_login_ok_returns_token_and_user(stack):
    r = stack.http("POST", "/v1/auth/login",
                   body={"username": stack.admin_user, "password": stack.admin_password})
    assert r.status == 200, r
    doc = r.json()
    assert isinstance(doc["token"], str) and len(doc["token"]) >= 40, doc
    assert doc["expires_at"].endswith("Z") and "T" in doc["expires_at"], doc
    user = doc["user"]
    assert user["username"] == stack.admin_user and user["role"] == "admin", user
    assert set(user) >= {"id", "username", "role", "property_ids"}, user
    assert "password" not in json.dumps(doc).replace('"password_', ""), doc
    assert r.headers.get("cache-control") == "no-store", r.headers
    # a user name is matched without regard to case
    r = stack.http("POST", "/v1/auth/login",
                   body={"username": stack.admin_user.upper(), "password": stack.admin_password})
    assert r.status == 200, r


def test_login_throttled_after_repeated_failures(stack):
    """Ten failed logins of one name within 15 minutes lock it for 5 (429 with
    Retry-After), the right password included; unknown names count alike (the
    answer must not tell which exist); other names are not affected; the lock
    is in the database, so it holds across gateway restarts and instances."""
    name, password, _ = make_user(stack, "agent")
    for i in range(10):
        r = stack.http("POST", "/v1/auth/login", body={"username": name, "password": "wrong-%d" % i})
        check_error(r, 401, "unauthenticated")
    r = stack.http("POST", "/v1/auth/login", body={"username": name.upper(), "password": password})
    check_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers.get("retry-after", "0")) <= 300, r.headers
    ghost = uniq("ghost-")
    for i in range(10):
        check_error(stack.http("POST", "/v1/auth/login", body={"username": ghost, "password": "x"}),
                    401, "unauthenticated")
    check_error(stack.http("POST", "/v1/auth/login", body={"username": ghost, "password": "x"}),
                429, "rate_limited")
    other, other_pw, _ = make_user(stack, "agent")
    assert stack.http("POST", "/v1/auth/login", body={"username": other, "password": other_pw}).status == 200
    # the lock runs out (moved into the past here) and the right password works
    # again; a success forgets the failures
    stack.psql("UPDATE gateway.login_throttle SET locked_until = now() - interval '1 s', "
               "window_start = now() - interval '1 hour' WHERE username = lower('%s')" % name)
    assert stack.http("POST", "/v1/auth/login", body={"username": name, "password": password}).status == 200
    assert stack.psql("SELECT count(*) FROM gateway.login_throttle WHERE username = lower('%s')"
                      % name)[0][0] == "0"


def test_login_wrong_user_or_password_401_alike(stack):
    r1 = stack.http("POST", "/v1/auth/login", body={"username": stack.admin_user, "password": "wrong-password"})
    r2 = stack.http("POST", "/v1/auth/login", body={"username": uniq("ghost-"), "password": "wrong-password"})
    d1, d2 = check_error(r1, 401, "unauthenticated"), check_error(r2, 401, "unauthenticated")
    assert d1["error"]["message"] == d2["error"]["message"], (d1, d2)
    # similar timing: an unknown user costs an argon2id verification too
    known, unknown = [], []
    for _ in range(5):
        known.append(stack.http("POST", "/v1/auth/login",
                                body={"username": stack.admin_user, "password": "nope-nope"}).elapsed)
        unknown.append(stack.http("POST", "/v1/auth/login",
                                  body={"username": uniq("ghost-"), "password": "nope-nope"}).elapsed)
    a, b = statistics.median(known), statistics.median(unknown)
    # (an unknown user answered without the verification is 100x faster: the bound has room
    # for a noisy machine, scaled by PM_TEST_SLOWDOWN)
    bound = 3 * harness.SLOWDOWN
    assert a / b < bound and b / a < bound, "login timing differs: known %.3f s, unknown %.3f s (bound %.1fx)" % (
        a, b, bound)


def test_login_bad_input(stack):
    r = stack.http("POST", "/v1/auth/login", raw=b'{"username":', headers={"Content-Type": "application/json"})
    check_error(r, 400, "bad_json")
    r = stack.http("POST", "/v1/auth/login", body={"username": "admin"})
    doc = check_error(r, 422, "validation_failed")
    assert any(d["field"] == "password" for d in doc["error"]["details"]), doc
    r = stack.http("POST", "/v1/auth/login", body=["admin", "pw"])
    check_error(r, 422, "validation_failed")
    r = stack.http("POST", "/v1/auth/login", body={"username": 5, "password": None})
    doc = check_error(r, 422, "validation_failed")
    assert {d["field"] for d in doc["error"]["details"]} == {"username", "password"}, doc


# ---------------------------------------------------------------- tokens
def test_token_use_and_logout_revokes(stack):
    token = stack.login(stack.admin_user, stack.admin_password)
    r = stack.http("GET", "/v1/auth/me", token=token)
    assert r.status == 200 and r.json()["role"] == "admin", r
    r = stack.http("GET", "/v1/properties", token=token)
    assert r.status == 200, r
    r = stack.http("POST", "/v1/auth/logout", token=token)
    assert r.status == 204, r
    for path in ["/v1/auth/me", "/v1/properties"]:
        check_error(stack.http("GET", path, token=token), 401, "unauthenticated")
    check_error(stack.http("POST", "/v1/auth/logout", token=token), 401, "unauthenticated")
    rows = stack.psql("SELECT count(*) FROM gateway.tokens WHERE revoked_at IS NOT NULL")
    assert int(rows[0][0]) >= 1, rows


def test_expired_token_401(stack):
    token = stack.login(stack.admin_user, stack.admin_password)
    # expired before its first use here (so this gateway has not cached it)
    stack.psql("UPDATE gateway.tokens SET expires_at = now() - interval '1 second' "
               "WHERE token_hash = sha256('%s'::bytea)" % token)
    check_error(stack.http("GET", "/v1/auth/me", token=token), 401, "unauthenticated")


def test_tokens_stored_hashed(stack):
    token = stack.login(stack.admin_user, stack.admin_password)
    rows = stack.psql("SELECT count(*) FROM gateway.tokens WHERE encode(token_hash, 'escape') LIKE '%%%s%%'"
                      % token[:20])
    assert rows[0][0] == "0", "a token is stored in clear"
    rows = stack.psql("SELECT count(*) FROM gateway.tokens WHERE token_hash = sha256('%s'::bytea)" % token)
    assert rows[0][0] == "1", rows
    rows = stack.psql("SELECT password_hash FROM gateway.users WHERE username = '%s'" % stack.admin_user)
    assert rows[0][0].startswith("$argon2id$"), rows


# ---------------------------------------------------------------- users
def test_users_create_list_admin_only(stack):
    name, password, user = make_user(stack, "agent")
    assert user["username"] == name and user["role"] == "agent" and user["property_ids"] == [], user
    assert "password" not in user and "password_hash" not in user, user

    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name.upper(), "password": "another-pass", "role": "agent"})
    check_error(r, 409, "conflict")

    r = stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": "a b", "password": "short", "role": "king", "property_ids": ["nope"]})
    doc = check_error(r, 422, "validation_failed")
    fields = {d["field"] for d in doc["error"]["details"]}
    assert fields == {"username", "password", "role", "property_ids"}, doc

    # list: pages through everyone, never a hash
    seen, cursor = [], None
    for _ in range(100):
        path = "/v1/users?limit=2" + ("&cursor=" + cursor if cursor else "")
        r = stack.http("GET", path, token=stack.admin_token)
        assert r.status == 200, r
        doc = r.json()
        assert "hash" not in r.text and "argon2" not in r.text, r.text[:300]
        seen += [u["username"] for u in doc["items"]]
        cursor = doc["next_cursor"]
        if not cursor:
            break
    assert name in seen and stack.admin_user in seen, seen
    assert len(seen) == len(set(seen)), "a user listed twice: %r" % seen

    agent = stack.login(name, password)
    check_error(stack.http("GET", "/v1/users", token=agent), 403, "forbidden")
    check_error(stack.http("POST", "/v1/users", token=agent,
                           body={"username": uniq("x"), "password": "password1", "role": "admin"}),
                403, "forbidden")
    check_error(stack.http("POST", "/v1/api-keys", token=agent,
                           body={"name": "k", "role": "integration"}), 403, "forbidden")
    check_error(make_property(stack, token=agent), 403, "forbidden")
    check_error(stack.http("GET", "/v1/users?limit=0", token=stack.admin_token), 422, "validation_failed")
    check_error(stack.http("GET", "/v1/users?cursor=%21%21", token=stack.admin_token), 422, "validation_failed")


def test_property_scope_404_for_other_property(stack):
    p1 = make_property(stack).json()["id"]
    p2 = make_property(stack).json()["id"]
    name, password, _ = make_user(stack, "manager", property_ids=[p1])
    token = stack.login(name, password)
    r = stack.http("GET", "/v1/properties/%s" % p1, token=token)
    assert r.status == 200 and r.json()["id"] == p1, r
    r = stack.http("GET", "/v1/properties/%s" % p1.upper(), token=token)
    assert r.status == 200, "an upper-case id is the same property: %r" % r
    for path in ["/v1/properties/%s" % p2, "/v1/properties/%s/units" % p2,
                 "/v1/properties/%s/units/%s" % (p2, p1)]:
        check_error(stack.http("GET", path, token=token), 404, "not_found")
    check_error(stack.http("POST", "/v1/properties/%s/units" % p2, token=token,
                           body={"code": "A-1", "area_m2": 10, "use": "office"}), 404, "not_found")
    # the query string cannot override the path's property
    r = stack.http("GET", "/v1/properties/%s/units?pid=%s" % (p1, p2), token=token)
    assert r.status == 200, r


def test_staff_directory_of_a_property(stack):
    pa = make_property(stack).json()["id"]
    pb = make_property(stack).json()["id"]
    mgr, mgr_pw, mgr_u = make_user(stack, "manager", property_ids=[pa])
    agent, agent_pw, agent_u = make_user(stack, "agent", property_ids=[pa, pb])
    tech_a, _, tech_a_u = make_user(stack, "technician", property_ids=[pa])
    tech_b, tech_b_pw, tech_b_u = make_user(stack, "technician", property_ids=[pb])
    integ, _, integ_u = make_user(stack, "integration", property_ids=[pa])
    key = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                     body={"name": uniq("staff key "), "role": "integration", "property_ids": [pa]})
    assert key.status == 201, key

    r = stack.http("GET", "/v1/properties/%s/staff" % pa, token=stack.login(mgr, mgr_pw))
    assert r.status == 200, r
    doc = r.json()
    assert set(doc) == {"items", "next_cursor"} and doc["next_cursor"] is None, doc
    items = doc["items"]
    ids = [u["id"] for u in items]
    for u in (mgr_u, agent_u, tech_a_u):
        assert {"id": u["id"], "username": u["username"], "role": u["role"]} in items, (u["username"], items)
    assert tech_b_u["id"] not in ids, "a technician of B only is listed as staff of A: %r" % items
    assert integ_u["id"] not in ids and key.json()["id"] not in ids, "an integration user or a key is staff"
    # nothing but the three fields: no hash, no property list
    for u in items:
        assert set(u) == {"id", "username", "role"}, u
    assert "hash" not in r.text and "argon2" not in r.text and "property_ids" not in r.text, r.text[:300]
    # by role, then username; the admins (staff of every property) last
    admins = [u for u in items if u["role"] == "admin"]
    assert stack.admin_user in [u["username"] for u in admins], items
    assert items[len(items) - len(admins):] == admins, "the admins are not last: %r" % items
    rest = [(u["role"], u["username"]) for u in items if u["role"] != "admin"]
    assert rest == sorted(rest), "not by role then username: %r" % rest

    # B's directory: its people, not A's manager; an agent sees no admins
    # (a name to lock out with failed logins), nor does a technician
    r = stack.http("GET", "/v1/properties/%s/staff" % pb, token=stack.login(agent, agent_pw))
    assert r.status == 200, r
    ids_b = [u["id"] for u in r.json()["items"]]
    assert tech_b_u["id"] in ids_b and agent_u["id"] in ids_b and mgr_u["id"] not in ids_b, r.json()
    assert not [u for u in r.json()["items"] if u["role"] == "admin"], "an agent sees admins: %r" % r.json()

    # a technician of B: A's directory does not exist for them; B's does, without admins
    tb = stack.login(tech_b, tech_b_pw)
    check_error(stack.http("GET", "/v1/properties/%s/staff" % pa, token=tb), 404, "not_found")
    r = stack.http("GET", "/v1/properties/%s/staff" % pb, token=tb)
    assert r.status == 200 and tech_b_u["id"] in [u["id"] for u in r.json()["items"]], r
    assert "admin" not in [u["role"] for u in r.json()["items"]], r.json()
    # not a property id; an integration key is no staff
    check_error(stack.http("GET", "/v1/properties/nope/staff", token=stack.admin_token), 404, "not_found")
    check_error(stack.http("GET", "/v1/properties/%s/staff" % pa, token=key.json()["key"]), 403, "forbidden")


# ---------------------------------------------------------------- API keys
def test_api_key_created_once_and_works(stack):
    p1 = make_property(stack).json()["id"]
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token,
                   body={"name": "billing system", "role": "integration", "property_ids": [p1]})
    assert r.status == 201, r
    doc = r.json()
    key_id, key = doc["id"], doc["key"]
    assert key.startswith("pmk_") and len(key) > 40, doc
    r = stack.http("GET", "/v1/auth/me", token=key)
    assert r.status == 200, r
    me = r.json()
    assert me["id"] == key_id and me["role"] == "integration" and me["property_ids"] == [p1], me
    assert stack.http("GET", "/v1/properties/%s" % p1, token=key).status == 200
    # listed without the key or its hash
    r = stack.http("GET", "/v1/api-keys", token=stack.admin_token)
    assert r.status == 200 and key_id in r.text and key not in r.text and "hash" not in r.text, r
    rows = stack.psql("SELECT count(*) FROM gateway.api_keys WHERE key_hash = sha256('%s'::bytea)" % key)
    assert rows[0][0] == "1", rows
    # bad input (only integration keys exist: an admin key is 422), then revocation
    r = stack.http("POST", "/v1/api-keys", token=stack.admin_token, body={"name": "", "role": "root"})
    check_error(r, 422, "validation_failed")
    for role in ["admin", "manager", "agent", "technician"]:
        r = stack.http("POST", "/v1/api-keys", token=stack.admin_token, body={"name": "k", "role": role})
        doc = check_error(r, 422, "validation_failed")
        assert [d["field"] for d in doc["error"]["details"]] == ["role"], doc
    assert stack.http("DELETE", "/v1/api-keys/%s" % key_id, token=stack.admin_token).status == 204
    check_error(stack.http("GET", "/v1/auth/me", token=key), 401, "unauthenticated")
    check_error(stack.http("DELETE", "/v1/api-keys/%s" % key_id, token=stack.admin_token), 404, "not_found")


# ---------------------------------------------------------------- Idempotency-Key
def test_idempotency_replay_and_mismatch(stack):
    key = uniq("idem-")
    code = uniq("IDEM")
    body = {"code": code, "name": "幂等 项目"}
    r1 = stack.http("POST", "/v1/properties", token=stack.admin_token, body=body,
                    headers={"Idempotency-Key": key})
    assert r1.status == 201, r1
    r2 = stack.http("POST", "/v1/properties", token=stack.admin_token, body=body,
                    headers={"Idempotency-Key": key})
    assert r2.status == 201 and r2.body == r1.body, (r1, r2)
    assert r2.headers.get("idempotent-replayed") == "true", r2.headers
    rows = stack.psql("SELECT count(*) FROM tenants.properties WHERE code = '%s'" % code)
    assert rows[0][0] == "1", "the service ran twice: %r" % rows

    r3 = stack.http("POST", "/v1/properties", token=stack.admin_token,
                    body={"code": code, "name": "another body"}, headers={"Idempotency-Key": key})
    check_error(r3, 409, "idempotency_mismatch")

    # another key: a new call (which the service refuses as a duplicate code)
    r4 = stack.http("POST", "/v1/properties", token=stack.admin_token, body=body,
                    headers={"Idempotency-Key": uniq("idem-")})
    check_error(r4, 409, "conflict")

    # a final 4xx is stored and replayed too
    key2 = uniq("idem-")
    bad = {"code": "", "name": ""}
    r5 = stack.http("POST", "/v1/properties", token=stack.admin_token, body=bad, headers={"Idempotency-Key": key2})
    assert r5.status == 422, r5
    r6 = stack.http("POST", "/v1/properties", token=stack.admin_token, body=bad, headers={"Idempotency-Key": key2})
    assert (r6.status, r6.body) == (r5.status, r5.body), (r5, r6)

    # keys are per caller: another admin's same key is a fresh call
    name, password, _ = make_user(stack, "admin")
    other = stack.login(name, password)
    code2 = uniq("IDEM")
    r7 = stack.http("POST", "/v1/properties", token=other, body={"code": code2, "name": "x"},
                    headers={"Idempotency-Key": key})
    assert r7.status == 201, r7

    # a malformed key
    r8 = stack.http("POST", "/v1/properties", token=stack.admin_token, body=body,
                    headers={"Idempotency-Key": "x" * 300})
    check_error(r8, 400, "bad_request")
