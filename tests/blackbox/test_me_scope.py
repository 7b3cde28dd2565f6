"""test_me_scope: nothing of another unit is reachable under /v1/me (issue K, API.md "Residents").

Two residents of one property, A (owner of U1) and B (owner of U2). A has a ticket with a
photo, an item release waiting for approval, a payment with its receipt and an activity
registration. B then walks every /v1/me operation of proto/openapi.yaml with A's ids (in
the path, or A's unit in the body) and must get 404 each time; the routes that name no
other resource (B's own lists) must not show A's things. The walk fails when openapi
gains a /v1/me operation this file does not cover, so a new route is scoped or noticed.
"""

import datetime
import secrets
import time

import test_proto as proto
from api import ok as _ok, resident_token as _resident_token

S = {}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4 + b"\x00IEND"


def _wait(stack, what, sql, want, timeout=60):
    deadline = time.time() + timeout
    while stack.psql(sql)[0][0] != want:
        assert time.time() < deadline, "never saw %s" % what
        time.sleep(0.1)


def test_setup(stack):
    adm, http = stack.admin_token, stack.http
    tag = secrets.token_hex(3).upper()
    pid = _ok(http("POST", "/v1/properties", token=adm, body={"code": "MS-" + tag, "name": "范围" + tag}),
              201, "property")["id"]
    u1, u2 = (_ok(http("POST", "/v1/properties/%s/units" % pid, token=adm,
                       body={"code": "S-%d" % n, "area_m2": 80, "use": "residential", "building": "S"}),
                  201, "unit")["id"] for n in (1, 2))
    phones = ["136%08d" % secrets.randbelow(10 ** 8) for _ in range(2)]
    for unit, name, phone in ((u1, "甲", phones[0]), (u2, "乙", phones[1])):
        party = _ok(http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                         body={"kind": "person", "name": name, "phone": phone}), 201, "party")["id"]
        _ok(http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, unit), token=adm,
                 body={"party_id": party, "role": "owner", "start_date": "2026-01-01"}), 201, "occupancy")
    # each service's copy of the occupancies decides a resident's units: wait for all three
    for schema in ("tickets.tenant_occupancies", "billing.occupancies", "notifications.occupancies"):
        _wait(stack, schema, "SELECT count(*) FROM %s WHERE property_id = '%s' AND end_date IS NULL"
              % (schema, pid), "2")
    a, b = (_resident_token(stack, p) for p in phones)

    def me(method, path, token, **kw):
        return http(method, "/v1/me" + path, token=token, **kw)
    # A's things
    tid = _ok(me("POST", "/tickets", a, body={"unit_id": u1, "type": "repair", "title": "水龙头漏水"}),
              201, "ticket")["id"]
    att = _ok(me("POST", "/tickets/%s/attachments" % tid, a, raw=PNG, headers={"Content-Type": "image/png"}),
              201, "photo")["id"]
    rel = _ok(me("POST", "/tickets", a, body={"unit_id": u1, "type": "item_release", "title": "搬出旧沙发",
                                              "data": {"items": ["沙发一张"], "carrier": "王师傅"}}),
              201, "item release")["id"]
    pay = _ok(http("POST", "/v1/properties/%s/payments" % pid, token=adm,
                   body={"unit_id": u1, "amount": 12345, "method": "cash"}), 201, "payment")["id"]
    act = _ok(http("POST", "/v1/properties/%s/activities" % pid, token=adm,
                   body={"title": "中秋游园", "starts_at": "2031-09-01T10:00:00Z", "ends_at": "2031-09-01T12:00:00Z",
                         "place": "中庭", "capacity": 10, "audience": "all", "announce": False}),
              201, "activity")["id"]
    reg = _ok(me("POST", "/activities/%s/registrations" % act, a, body={"unit_id": u1}), 201, "sign-up")["id"]
    # A's notice: the ticket's 受理 reaches A's inbox (issue K item 7)
    deadline = time.time() + 30
    notes = []
    while not notes:
        assert time.time() < deadline, "A's notice never came"
        notes = [n["id"] for n in _ok(me("GET", "/notifications", a), 200, "A's inbox")["items"]
                 if n["link"].get("ticket_id") == tid]
        time.sleep(0.1)
    S.update(pid=pid, u1=u1, u2=u2, a=a, b=b, tid=tid, att=att, rel=rel, pay=pay, act=act, reg=reg, note=notes[0])


def _b(stack, method, path, **kw):
    return stack.http(method, path, token=S["b"], **kw)


def test_another_units_resident_gets_404_everywhere(stack):
    """B with A's ids: every /v1/me operation that names a resource, and every body that names a unit."""
    ids = {"{tid}": S["tid"], "{uid}": S["u1"], "{id}": S["pay"], "{attachment_id}": S["att"], "{rid}": S["reg"]}
    # paths that carry an {id} of something else than a payment
    by_path = {"/v1/me/activities/{id}/registrations": S["act"],
               "/v1/me/activities/{id}/registrations/{rid}": S["act"],
               "/v1/me/notifications/{id}/read": S["note"]}
    bodies = {("POST", "/v1/me/tickets"): {"unit_id": S["u1"], "type": "repair", "title": "x"},
              ("POST", "/v1/me/visitors"): {"unit_id": S["u1"], "name": "访客",
                                             "expected_at": (datetime.datetime.now(datetime.timezone.utc)
                                                             + datetime.timedelta(days=1)).strftime(
                                                                 "%Y-%m-%dT%H:%M:%SZ")},
              ("POST", "/v1/me/activities/{id}/registrations"): {"unit_id": S["u1"]},
              ("POST", "/v1/me/tickets/{tid}/feedback"): {"rating": 5}}
    # the routes that name no other resource: B's own, checked by test_own_lists_show_only_own
    own = {("GET", "/v1/me"), ("GET", "/v1/me/tickets"), ("GET", "/v1/me/announcements"),
           ("GET", "/v1/me/activities"), ("GET", "/v1/me/notification-preferences"),
           ("PUT", "/v1/me/notification-preferences"), ("GET", "/v1/me/notifications")}
    ops = sorted(op for op in proto.openapi_operations(proto.load_openapi()) if op[1].startswith("/v1/me"))
    problems, walked = [], 0
    for method, path in ops:
        if (method, path) in own:
            continue
        url = path
        for key, value in ids.items():
            url = url.replace(key, by_path[path] if key == "{id}" and path in by_path else value)
        assert "{" not in url, "no id for %s %s: add it to this test" % (method, path)
        if path.endswith("/attachments") and method == "POST":
            r = _b(stack, method, url, raw=PNG, headers={"Content-Type": "image/png"})
        else:
            r = _b(stack, method, url, body=bodies.get((method, path), {} if method != "GET" else None))
        walked += 1
        if r.status != 404:
            problems.append("%s %s: %d %s" % (method, path, r.status, r.body[:120]))
    assert not problems, "another unit's resident reached:\n" + "\n".join(problems)
    assert walked >= 10, "walked only %d /v1/me operations" % walked


def test_own_lists_show_only_own(stack):
    me = _ok(_b(stack, "GET", "/v1/me"), 200, "me")
    assert {u["unit_id"] for u in me["units"]} == {S["u2"]}, me
    tickets = _ok(_b(stack, "GET", "/v1/me/tickets"), 200, "tickets")["items"]
    assert not {S["tid"], S["rel"]} & {t["id"] for t in tickets}, tickets
    acts = _ok(_b(stack, "GET", "/v1/me/activities"), 200, "activities")["items"]
    mine = [x for x in acts if x["id"] == S["act"]]
    assert mine and not mine[0].get("my_registrations"), mine
    notes = _ok(_b(stack, "GET", "/v1/me/notifications"), 200, "notifications")
    assert S["note"] not in {n["id"] for n in notes["items"]}, notes


def test_the_owner_reaches_the_same_things(stack):
    """The walk above could pass with every route broken: A gets what B may not."""
    a = S["a"]
    for path in ("/v1/me/tickets/%s" % S["tid"], "/v1/me/units/%s/account" % S["u1"],
                 "/v1/me/units/%s/payments" % S["u1"], "/v1/me/tickets/%s/attachments/%s" % (S["tid"], S["att"]),
                 "/v1/me/payments/%s/receipt" % S["pay"]):
        r = stack.http("GET", path, token=a)
        assert r.status == 200, "%s: %r" % (path, r)
    r = stack.http("POST", "/v1/me/notifications/%s/read" % S["note"], token=a, body={})
    assert r.status == 200 and r.json()["read"] is True, r
