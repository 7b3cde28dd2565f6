"""test_roles_matrix: who reaches what (issue G, "Trust and limits").

Every route of proto/openapi.yaml, asked by every role (a resident signed in
by SMS code too: issue K; admin, manager,
agent, technician, integration) on its own property and on another one,
and once without a token; each answer is checked against the role table.
The role table is the gateway's route table itself (services/gateway/*.c,
read as test_proto.py reads it), and each operation's `x-roles` in
openapi.yaml must say the same: a new route cannot escape the matrix.

Expected, for a route with roles:
- no token: 401;
- a role the route does not allow: 403 (the gateway; the services check the
  same again, see the service test at the end);
- an allowed role on another property: 404 (an admin sees every property);
- an allowed role on its own property: neither 401 nor 403 (404 or 422 for a
  made-up id or an empty body is fine: the check is the authorization), and
  a GET of real resources (a real unit, ticket, party, bill, ...) is 200.
The technician's tickets: one assigned to them is 200, another 404.
"""

import json
import secrets
import time
import uuid

import test_proto as proto
from api import resident_token as _resident_token

STACK = dict(env={"PM_WEBHOOK_ALLOW_PRIVATE": "1", "PM_WEBHOOK_ALLOW_HTTP": "1"})

ROLES = ("admin", "manager", "agent", "technician", "integration")
# a resident signed in by SMS code (issue K): every staff route answers them 403
WALKERS = ROLES + ("resident",)
S = {}

# The gateway's role constants (services/gateway/gw.h) as role names.
_BITS = {
    "GW_ROLE_ADMIN": {"admin"}, "GW_ROLE_MANAGER": {"manager"}, "GW_ROLE_AGENT": {"agent"},
    "GW_ROLE_TECHNICIAN": {"technician"}, "GW_ROLE_INTEGRATION": {"integration"},
    "GW_ROLE_RESIDENT": {"resident"},
    "GW_ROLES_ALL": set(ROLES), "GW_ROLES_STAFF": {"admin", "manager", "agent", "technician"}, "0": set(),
}

# GETs that need a query to answer 200.
QUERIES = {
    "/v1/properties/{pid}/reports/service": "?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z",
    "/v1/properties/{pid}/reports/collection": "?period=2026-01",
    "/v1/properties/{pid}/exports/bills": "?period=2026-01",
    "/v1/properties/{pid}/exports/payments": "?period=2026-01",
    "/v1/properties/{pid}/exports/ledger": "?period=2026-01",
    "/v1/properties/{pid}/duty-roster/gaps": "?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
    "/v1/properties/{pid}/exports/visitors": "?date=2026-01-01",
    "/v1/properties/{pid}/reports/activities": "?from=2036-01-01&to=2036-12-31",
    "/v1/properties/{pid}/vehicle-passes/check": "?plate=%E7%B2%A4B12345",
    "/v1/properties/{pid}/reports/contractors": "?period=2026-06",
    "/v1/properties/{pid}/reports/patrol": "?from=2026-01-01&to=2026-01-31",
    "/v1/properties/{pid}/reports/agents": "?from=2026-01-01&to=2026-12-31",
    "/v1/properties/{pid}/reports/agents/{user_id}": "?from=2026-01-01&to=2026-12-31",
    "/v1/properties/{pid}/reports/satisfaction": "?from=2026-01&to=2026-12",
}


def _roles(expr):
    out = set()
    for term in expr.split("|"):
        term = term.strip()
        assert term in _BITS, "unknown role constant %r in the route table" % term
        out |= _BITS[term]
    return out


def role_table():
    """{(METHOD, path): set of roles} from the gateway's route table."""
    return {route: _roles(roles) for route, (_, roles, _) in proto.gateway_routes_in_source().items()}


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


# ---------------------------------------------------------------- the table
def test_openapi_x_roles_are_the_route_table(stack):
    table = role_table()
    ops = proto.openapi_operations(proto.load_openapi())
    assert table and ops
    problems = []
    for route, roles in sorted(table.items()):
        op = ops.get(route)
        if op is None:
            problems.append("%s %s: not in openapi.yaml" % route)
        elif "x-roles" not in op:
            problems.append("%s %s: no x-roles in openapi.yaml (gateway: %s)" % (route + (sorted(roles),)))
        elif set(op["x-roles"]) != roles or len(op["x-roles"]) != len(roles):
            problems.append("%s %s: x-roles %s, gateway %s" % (route + (op["x-roles"], sorted(roles))))
    for route in sorted(set(ops) - set(table)):
        problems.append("%s %s: in openapi.yaml, not in the gateway" % route)
    assert not problems, "\n".join(problems)
    # the least-privilege rules of API.md, "Trust and limits", read off the table
    for route, roles in table.items():
        path = route[1]
        if any(w in path for w in ("/parties", "/occupancies", "/tickets", "/v1/users")):
            assert "integration" not in roles, "%s %s: integration keys reach it" % route
        if "/parties" in path and not path.endswith("/notification-preferences"):
            assert "technician" not in roles, "%s %s: technicians reach parties" % route
    assert table[("GET", "/v1/properties/{pid}/units")] >= {"integration"}
    assert "integration" not in table[("GET", "/v1/properties/{pid}/units/{uid}")]
    assert "technician" in table[("GET", "/v1/properties/{pid}/units/{uid}")]
    assert "technician" in table[("GET", "/v1/properties/{pid}/faq")]


# ---------------------------------------------------------------- the world
def _user(stack, role, pids):
    name = "mx-%s-%s" % (role, secrets.token_hex(3))
    pw = "pw-" + secrets.token_urlsafe(12)
    u = _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                       body={"username": name, "password": pw, "role": role, "property_ids": pids}),
            201, "user " + role)
    return u["id"], name, pw


def _wait(stack, sql, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = stack.psql(sql)
        if rows and rows[0][0] and rows[0][0] != "0":
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError("still nothing: " + sql)


def _world(stack, adm, tag):
    """A property with one of everything; {path placeholder: id}."""
    http = stack.http
    pid = _ok(http("POST", "/v1/properties", token=adm, body={"code": "MX-" + tag, "name": "权限矩阵" + tag}),
              201, "property")["id"]
    ids = {"{pid}": pid}
    ids["{uid}"] = _ok(http("POST", "/v1/properties/%s/units" % pid, token=adm,
                            body={"code": "A-0101", "area_m2": 88, "use": "residential"}), 201, "unit")["id"]
    ids["{party_id}"] = _ok(http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                                 body={"kind": "person", "name": "张三", "phone": "13800138000",
                                       "email": "z3@example.com", "id_type": "passport",
                                       "id_number": "E12345678"}), 201, "party")["id"]
    ids["{oid}"] = _ok(http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, ids["{uid}"]), token=adm,
                            body={"party_id": ids["{party_id}"], "role": "owner", "start_date": "2026-01-01"}),
                       201, "occupancy")["id"]
    ids["{id}@move-ins"] = _ok(http("POST", "/v1/properties/%s/units/%s/move-ins" % (pid, ids["{uid}"]), token=adm,
                                    body={"party_id": ids["{party_id}"], "role": "tenant",
                                          "start_date": "2026-01-01"}), 201, "move-in")["id"]
    ids["{tid}"] = _ok(http("POST", "/v1/properties/%s/tickets" % pid, token=adm,
                            body={"type": "repair", "title": "漏水", "unit_id": ids["{uid}"]}), 201, "ticket")["id"]
    ids["{cid}"] = _ok(http("POST", "/v1/properties/%s/sla-calendars" % pid, token=adm,
                            body={"name": "工作日", "timezone": "Asia/Shanghai",
                                  "weekly": {"mon": [["09:00", "18:00"]]}}), 201, "calendar")["id"]
    ids["{faq_id}"] = _ok(http("POST", "/v1/properties/%s/faq" % pid, token=adm,
                               body={"question": "几点停水？", "answer": "九点。"}), 201, "faq")["id"]
    # a typical case (issue L) of an inquiry answered at once
    answered = _ok(http("POST", "/v1/properties/%s/tickets" % pid, token=adm,
                        body={"type": "inquiry", "title": "几点停水", "resolve_now": True, "answer": "九点。"}),
                   201, "answered inquiry")["id"]
    ids["{case_id}"] = _ok(http("POST", "/v1/properties/%s/tickets/%s/case" % (pid, answered), token=adm,
                                body={"summary": "停水问询", "lesson": "先查停水通知"}), 201, "case")["id"]
    ids["{shift_id}"] = _ok(http("POST", "/v1/properties/%s/duty-shifts" % pid, token=adm,
                                 body={"post": "repair", "user_id": "mx", "starts_at": "2026-01-01T00:00:00Z",
                                       "ends_at": "2026-01-01T08:00:00Z"}), 201, "shift")["id"]
    ids["{visitor_id}"] = _ok(http("POST", "/v1/properties/%s/visitors" % pid, token=adm,
                                   body={"name": "访客", "purpose": "拜访", "phone": "13800138000"}), 201, "visitor")["id"]
    # a contractor and an inspection above the threshold (no rectification ticket: issue L)
    ids["{contractor_id}"] = _ok(http("POST", "/v1/properties/%s/contractors" % pid, token=adm,
                                      body={"name": "矩阵保洁", "service": "cleaning"}), 201, "contractor")["id"]
    ids["{inspection_id}"] = _ok(http("POST", "/v1/properties/%s/inspections" % pid, token=adm,
                                      body={"contractor_id": ids["{contractor_id}"], "area": "大堂",
                                            "inspected_at": "2026-06-15T02:00:00Z",
                                            "criteria": [{"name": "地面", "weight": 1, "score": 95}]}),
                                 201, "inspection")["id"]
    # a patrol route, a round, a check and its photo (issue L)
    ids["{route_id}"] = _ok(http("POST", "/v1/properties/%s/patrol-routes" % pid, token=adm,
                                 body={"name": "矩阵巡查", "checkpoints": [{"code": "C1", "name": "大堂",
                                                                          "checklist": ["整洁"]}],
                                       "times": ["09:00"]}), 201, "patrol route")["id"]
    ids["{round_id}"] = _ok(http("POST", "/v1/properties/%s/patrols" % pid, token=adm,
                                 body={"route_id": ids["{route_id}"]}), 201, "patrol round")["id"]
    ids["{check_id}"] = _ok(http("POST", "/v1/properties/%s/patrols/%s/checks" % (pid, ids["{round_id}"]), token=adm,
                                 body={"checkpoint_code": "C1", "results": [{"item": "整洁", "ok": True}]}),
                            201, "patrol check")["id"]
    ids["{attachment_id}@checks"] = _ok(http("POST", "/v1/properties/%s/patrols/%s/checks/%s/attachments"
                                             % (pid, ids["{round_id}"], ids["{check_id}"]), token=adm,
                                             raw=b"\x89PNG\r\n\x1a\n0000", headers={"Content-Type": "image/png"}),
                                        201, "patrol photo")["id"]
    _wait(stack, "SELECT count(*) FROM billing.units WHERE unit_id = '%s'" % ids["{uid}"])
    ids["{payment_id}"] = _ok(http("POST", "/v1/properties/%s/payments" % pid, token=adm,
                                   body={"unit_id": ids["{uid}"], "amount": 100, "method": "cash"}),
                              201, "payment")["id"]
    ids["{id}@payments"] = ids["{payment_id}"]  # GET /v1/me/payments/{id}/receipt (the resident's)
    # an approved item release: its printable pass (GET .../tickets/{tid}/pass) is a real resource
    release = _ok(http("POST", "/v1/properties/%s/tickets" % pid, token=adm,
                       body={"type": "item_release", "title": "搬出", "data": {"items": ["书柜"]}}), 201, "release")
    _ok(http("POST", "/v1/properties/%s/tickets/%s/actions" % (pid, release["id"]), token=adm,
             body={"action": "approve"}), 200, "approve")
    ids["{tid}@pass"] = release["id"]
    # a file of the ticket, of the unit and of the party (the body is the file itself)
    png = {"Content-Type": "image/png"}
    for seg, parent in (("tickets", "{tid}"), ("units", "{uid}"), ("parties", "{party_id}")):
        ids["{attachment_id}@" + seg] = _ok(http("POST", "/v1/properties/%s/%s/%s/attachments" % (pid, seg, ids[parent]),
                                                 token=adm, raw=b"\x89PNG\r\n\x1a\n0000", headers=png),
                                            201, "attachment of " + seg)["id"]
    ids["{deposit_id}"] = _ok(http("POST", "/v1/properties/%s/deposits" % pid, token=adm,
                                   body={"unit_id": ids["{uid}"], "amount": 100}), 201, "deposit")["id"]
    ids["{bid}"] = _ok(http("POST", "/v1/properties/%s/charges" % pid, token=adm,
                            body={"unit_id": ids["{uid}"], "amount": 100, "reason": "矩阵"}), 201, "charge")["id"]
    _wait(stack, "SELECT count(*) FROM notifications.units WHERE unit_id = '%s'" % ids["{uid}"])
    ann = _ok(http("POST", "/v1/properties/%s/announcements" % pid, token=adm,
                   body={"title": "停水通知", "body": "周一停水", "audience": "all"}), 201, "announcement")
    ids["{id}@announcements"] = ann["id"]
    # an activity with the unit's occupant signed up (notifications' copy of the move-in first)
    _wait(stack, "SELECT count(*) FROM notifications.occupancies WHERE id = '%s'" % ids["{oid}"])
    ids["{id}@activities"] = _ok(http("POST", "/v1/properties/%s/activities" % pid, token=adm,
                                      body={"title": "游园会", "starts_at": "2036-06-01T09:00:00Z",
                                            "ends_at": "2036-06-01T10:00:00Z", "place": "花园", "audience": "all"}),
                                 201, "activity")["id"]
    ids["{rid}"] = _ok(http("POST", "/v1/properties/%s/activities/%s/registrations" % (pid, ids["{id}@activities"]),
                            token=adm, body={"unit_id": ids["{uid}"], "party_id": ids["{party_id}"]}),
                       201, "registration")["id"]
    return ids


def test_setup(stack):
    adm = stack.admin_token
    tag = secrets.token_hex(3).upper()
    own, other = _world(stack, adm, tag), _world(stack, adm, tag + "B")
    S.update(own=own, other=other, tokens={"admin": adm}, creds={}, ids={})
    for role in ("manager", "agent", "technician"):
        uid, name, pw = _user(stack, role, [own["{pid}"]])
        S["ids"][role], S["creds"][role] = uid, (name, pw)
        S["tokens"][role] = stack.login(name, pw)
    S["creds"]["admin"] = (stack.admin_user, stack.admin_password)
    key = _ok(stack.http("POST", "/v1/api-keys", token=adm,
                         body={"name": "mx erp", "role": "integration", "property_ids": [own["{pid}"]]}),
              201, "key")
    S["tokens"]["integration"] = key["key"]
    # the technician's ticket, and one of theirs that is not
    _ok(stack.http("POST", "/v1/properties/%s/tickets/%s/actions" % (own["{pid}"], own["{tid}"]), token=adm,
                   body={"action": "assign", "assignee_id": S["ids"]["technician"]}), 200, "assign")
    S["unassigned"] = _ok(stack.http("POST", "/v1/properties/%s/tickets" % own["{pid}"], token=adm,
                                     body={"type": "repair", "title": "别人的单"}), 201, "ticket")["id"]
    # a webhook of the integration key's (an admin sees it too)
    hook = _ok(stack.http("POST", "/v1/webhooks", token=key["key"],
                          body={"url": "http://127.0.0.1:9/mx", "events": ["ticket.created"]}), 201, "webhook")
    own["{id}@webhooks"] = hook["id"]
    # the resident of the world's party (its phone), signed in by the code of the SMS file
    S["tokens"]["resident"] = _resident_token(stack, "13800138000")


# ---------------------------------------------------------------- the walk
def _url(path, ids, real):
    """The path with its placeholders filled: real ids for a GET, made-up ones
    for the rest but the property's, unit's, ticket's and party's (a
    state-changing probe must not delete or redeliver what a GET reads)."""
    url = path
    keep = ("{pid}", "{uid}", "{tid}", "{party_id}", "{oid}")
    all_real = True
    # a scoped id ("{tid}@pass": the id in a path with that segment) before the bare one
    for name, value in sorted(ids.items(), key=lambda kv: "@" not in kv[0]):
        bare = name.split("@")[0]
        if bare not in url:
            continue
        scoped = "@" in name
        seg = "/" + name.split("@")[-1]
        if scoped and (seg + "/") not in url and not url.endswith(seg):
            continue
        if real or bare in keep:
            url = url.replace(bare, value)
    for ph in ("{event_type}", "{locale}"):
        url = url.replace(ph, {"{event_type}": "ticket.created", "{locale}": "en"}[ph])
    while "{" in url:  # anything left: a made-up id
        all_real = False
        a, b = url.index("{"), url.index("}")
        url = url[:a] + str(uuid.uuid4()) + url[b + 1:]
    return url, all_real


def _probe(stack, method, url, token):
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return stack.http(method, url, body=body, token=token)


def test_every_route_every_role_every_property(stack):
    table = role_table()
    ops = proto.openapi_operations(proto.load_openapi())
    own, other = S["own"], S["other"]
    problems = []
    count = 0
    for (method, path) in sorted(ops, key=lambda route: (route[1], route[0])):
        if (method, path) not in table:
            problems.append("%s %s: in openapi.yaml, not in the gateway's route table" % (method, path))
            continue
        allowed = table[(method, path)]
        scoped = "{pid}" in path
        if path in ("/v1/auth/logout", "/v1/resident/auth/logout"):
            continue  # below: it revokes the token it is sent with
        for scope, ids in (("own", own), ("other", other)) if scoped else (("none", own),):
            real = method == "GET"
            url, all_real = _url(path, ids, real)
            if method == "GET" and path in QUERIES:
                url += QUERIES[path]
            if allowed:  # without a token
                r = _probe(stack, method, url, None)
                count += 1
                if r.status != 401:
                    problems.append("%s %s (%s) without a token: %d" % (method, path, scope, r.status))
            for role in WALKERS:
                r = _probe(stack, method, url, S["tokens"][role])
                count += 1
                got = r.status
                what = "%s %s as %s (%s): %d %s" % (method, path, role, scope, got, r.text[:120])
                if got >= 500:
                    problems.append(what + " [a 5xx]")
                elif not allowed:
                    if got in (401, 403):
                        problems.append(what + " [public: no 401/403 expected]")
                elif role not in allowed:
                    if got != 403:
                        problems.append(what + " [want 403]")
                elif scope == "other" and role != "admin":
                    if got != 404:
                        problems.append(what + " [want 404: another property]")
                elif got in (401, 403):
                    problems.append(what + " [allowed: want neither 401 nor 403]")
                elif method == "GET" and all_real and scope != "other" and got != 200:
                    problems.append(what + " [a GET of real resources: want 200]")
    # logout: a fresh session per person (an API key is not logged out: 204, still valid)
    for role in ROLES:
        tok = S["tokens"][role] if role == "integration" else stack.login(*S["creds"][role])
        r = stack.http("POST", "/v1/auth/logout", token=tok)
        count += 1
        if r.status != 204:
            problems.append("POST /v1/auth/logout as %s: %d" % (role, r.status))
    assert stack.http("POST", "/v1/auth/logout").status == 401
    # a resident signs out at their own route only; staff cannot use it
    r = stack.http("POST", "/v1/auth/logout", token=S["tokens"]["resident"])
    count += 1
    if r.status != 403:
        problems.append("POST /v1/auth/logout as resident: %d" % r.status)
    r = stack.http("POST", "/v1/resident/auth/logout", token=stack.admin_token)
    count += 1
    if r.status != 403:
        problems.append("POST /v1/resident/auth/logout as admin: %d" % r.status)
    tok = _resident_token(stack, "13800138000")
    r = stack.http("POST", "/v1/resident/auth/logout", token=tok)
    count += 1
    if r.status != 204 or stack.http("GET", "/v1/me", token=tok).status != 401:
        problems.append("POST /v1/resident/auth/logout as resident: %d" % r.status)
    assert not problems, "%d of %d answers wrong:\n%s" % (len(problems), count, "\n".join(problems))
    assert count > 500, count


def test_technician_reaches_only_their_tickets(stack):
    own, tok = S["own"], S["tokens"]["technician"]
    base = "/v1/properties/%s/tickets" % own["{pid}"]
    t = _ok(stack.http("GET", "%s/%s" % (base, own["{tid}"]), token=tok), 200, "assigned ticket")
    assert t["assignee_id"] == S["ids"]["technician"], t
    _ok(stack.http("GET", "%s/%s" % (base, S["unassigned"]), token=tok), 404, "another's ticket")
    r = stack.http("POST", "%s/%s/comments" % (base, S["unassigned"]), token=tok, body={"body": "x"})
    assert r.status == 404, r
    items = _ok(stack.http("GET", base + "?limit=500", token=tok), 200, "list")["items"]
    assert [i["id"] for i in items] == [own["{tid}"]], items
    # the unit without its occupants' contacts
    u = _ok(stack.http("GET", "/v1/properties/%s/units/%s" % (own["{pid}"], own["{uid}"]), token=tok), 200, "unit")
    assert u["occupants"] and all(not {"phone", "phones", "email", "id_number"} & set(o) for o in u["occupants"]), u
    # an agent's view: masked; an ID shorter than 12 characters shows nothing
    p = _ok(stack.http("GET", "/v1/properties/%s/parties/%s" % (own["{pid}"], own["{party_id}"]),
                       token=S["tokens"]["agent"]), 200, "agent party")
    assert p["phone"] == "138****8000" and p["id_number"] == "*********", p


def test_integration_key_reads_billing_and_unit_list_only(stack):
    own, key = S["own"], S["tokens"]["integration"]
    units = _ok(stack.http("GET", "/v1/properties/%s/units" % own["{pid}"], token=key), 200, "units")
    assert units["items"] and all("occupants" not in u for u in units["items"]), units
    text = json.dumps(units, ensure_ascii=False)
    assert "13800138000" not in text and "z3@example.com" not in text and "张三" not in text, text
    for path in ("/parties", "/parties/" + own["{party_id}"], "/units/" + own["{uid}"],
                 "/units/%s/occupancies" % own["{uid}"], "/tickets", "/tickets/" + own["{tid}"]):
        r = stack.http("GET", "/v1/properties/%s%s" % (own["{pid}"], path), token=key)
        assert r.status == 403, (path, r)
    assert stack.http("GET", "/v1/users", token=key).status == 403
    _ok(stack.http("GET", "/v1/properties/%s/bills" % own["{pid}"], token=key), 200, "bills")
    _ok(stack.http("GET", "/v1/properties/%s/units/%s/account" % (own["{pid}"], own["{uid}"]), token=key),
        200, "account")
