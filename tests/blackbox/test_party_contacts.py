"""test_party_contacts: the key customers' contact log (重点顾客) end to end
(API.md, "Key customers' contact log"): a contact logged by the desk with
its channel, summary and moment (default now, never in the future), `by`
the user, the log newest first and paged, bad input with details, another
property's party (404), the roles; and the key-customer mark the log is
kept for (parties' key_customer, set by a manager, ?key_customer=true).

The tests run in file order and share STATE.
"""

import re
import secrets

from api import ok as _ok, error as _error, fields as _fields

STATE = {}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _path(party=None, pid=None):
    return "/v1/properties/%s/parties/%s/contacts" % (pid or STATE["pid"], party or STATE["party"])


def _as(stack, who, method, path, body=None):
    token = stack.admin_token if who == "admin" else STATE["tokens"][who]
    return stack.http(method, path, body=body, token=token)


def test_setup(stack):
    tag = secrets.token_hex(3)
    adm = stack.admin_token
    pid = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "KC-" + tag, "name": "平安金融中心"}),
              201, "P1")["id"]
    pid2 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "KC2-" + tag, "name": "京基100"}),
               201, "P2")["id"]
    party = _ok(stack.http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                           body={"kind": "company", "name": "腾讯科技（深圳）有限公司"}), 201, "party")["id"]
    other = _ok(stack.http("POST", "/v1/properties/%s/parties" % pid2, token=adm,
                           body={"kind": "person", "name": "王五"}), 201, "other")["id"]
    STATE.update(pid=pid, pid2=pid2, party=party, other=other, tokens={}, ids={})
    for role in ("agent", "manager", "technician"):
        user, pw = "kc-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        u = _ok(stack.http("POST", "/v1/users", token=adm, body={"username": user, "password": pw, "role": role,
                                                                "property_ids": [pid]}), 201, "user " + role)
        STATE["ids"][role] = u["id"]
        STATE["tokens"][role] = stack.login(user, pw)
    key = _ok(stack.http("POST", "/v1/api-keys", token=adm,
                         body={"name": "kc erp", "role": "integration", "property_ids": [pid]}), 201, "key")
    STATE["tokens"]["integration"] = key["key"]


def test_key_customer_mark(stack):
    base = "/v1/properties/%s/parties" % STATE["pid"]
    _error(_as(stack, "agent", "PATCH", "%s/%s" % (base, STATE["party"]), {"key_customer": True}), 403,
           "forbidden", "an agent marks")
    p = _ok(_as(stack, "manager", "PATCH", "%s/%s" % (base, STATE["party"]),
                {"key_customer": True, "key_customer_note": "大客户，每季度回访"}), 200, "a manager marks")
    assert p["key_customer"] is True, p
    items = _ok(_as(stack, "agent", "GET", base + "?key_customer=true"), 200, "key customers")["items"]
    assert [i["id"] for i in items] == [STATE["party"]], items


def test_log_a_contact(stack):
    c = _ok(_as(stack, "agent", "POST", _path(), {"channel": "visit", "summary": "来访：反映空调噪音，已登记报修"}),
            201, "a visit, now")
    assert c["channel"] == "visit" and c["summary"] == "来访：反映空调噪音，已登记报修", c
    assert c["by"] == STATE["ids"]["agent"] and c["party_id"] == STATE["party"], c
    assert TIME.match(c["at"]) and TIME.match(c["created_at"]), c
    # a moment in another offset is kept as the same instant, printed in UTC
    c2 = _ok(_as(stack, "manager", "POST", _path(), {"channel": "phone", "summary": "季度回访，满意",
                                                     "at": "2026-03-02T10:30:00+08:00"}), 201, "a call, earlier")
    assert c2["at"] == "2026-03-02T02:30:00Z" and c2["by"] == STATE["ids"]["manager"], c2
    c3 = _ok(_as(stack, "admin", "POST", _path(), {"channel": "wechat", "summary": "微" * 2000,
                                                   "at": "2026-01-15T08:00:00Z"}), 201, "2000 characters")
    STATE["contacts"] = [c["id"], c2["id"], c3["id"]]


def test_bad_input(stack):
    for body, field in (({"summary": "x"}, "channel"),
                        ({"channel": "fax", "summary": "x"}, "channel"),
                        ({"channel": "phone"}, "summary"),
                        ({"channel": "phone", "summary": ""}, "summary"),
                        ({"channel": "phone", "summary": "  \n "}, "summary"),
                        ({"channel": "phone", "summary": "长" * 2001}, "summary"),
                        ({"channel": "phone", "summary": "x", "at": "2026-13-01T00:00:00Z"}, "at"),
                        ({"channel": "phone", "summary": "x", "at": "yesterday"}, "at"),
                        ({"channel": "phone", "summary": "x", "at": 1767225600}, "at"),
                        ({"channel": "phone", "summary": "x", "at": "2999-01-01T00:00:00Z"}, "at")):
        err = _error(_as(stack, "agent", "POST", _path(), body), 422, "validation_failed", "bad %r" % body)
        assert field in _fields(err), (body, err)
    _error(_as(stack, "agent", "POST", _path(), ["phone"]), 422, "validation_failed", "an array")
    n = stack.psql("SELECT count(*) FROM tenants.party_contacts WHERE party_id = '%s'" % STATE["party"])[0][0]
    assert n == "3", "nothing written by the refusals: %s" % n


def test_list_newest_first_and_paged(stack):
    body = _ok(_as(stack, "agent", "GET", _path()), 200, "list")
    assert [c["id"] for c in body["items"]] == STATE["contacts"] and body["next_cursor"] is None, body
    seen, cursor = [], None
    while True:
        page = _ok(_as(stack, "agent", "GET", _path() + "?limit=1" + ("&cursor=" + cursor if cursor else "")),
                   200, "page")
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == STATE["contacts"], seen
    for q, field in (("?limit=501", "limit"), ("?cursor=!!!", "cursor"), ("?cursor=bm9wZQ", "cursor")):
        err = _error(_as(stack, "agent", "GET", _path() + q), 422, "validation_failed", q)
        assert field in _fields(err), (q, err)


def test_scope_and_roles(stack):
    unknown = "3f0c8a6e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
    for method, body in (("GET", None), ("POST", {"channel": "phone", "summary": "x"})):
        _error(_as(stack, "agent", method, _path(STATE["other"]), body), 404, "not_found", "another's party, " + method)
        _error(_as(stack, "agent", method, _path(STATE["other"], STATE["pid2"]), body), 404, "not_found",
               "another property, " + method)
        _error(_as(stack, "agent", method, _path(unknown), body), 404, "not_found", "no such party, " + method)
        _error(_as(stack, "agent", method, _path("nope"), body), 404, "not_found", "malformed id, " + method)
        for who in ("technician", "integration"):
            _error(_as(stack, who, method, _path(), body), 403, "forbidden", "%s %s" % (who, method))
    assert stack.http("GET", _path()).status == 401
    n = stack.psql("SELECT count(*) FROM tenants.party_contacts WHERE party_id = '%s'" % STATE["other"])[0][0]
    assert n == "0", n
