"""test_occupancies: move-in and move-out (入伙/迁出) end to end: several
occupants of a unit, the unit's detail (occupants and history), a party's
units, ending twice, dates that do not fit, the events in tenants.outbox with
the unit and the party in their data, and the handlers' own tests
(tests/unit/test_party_handlers: the methods other services call) against
this cluster.

The tests run in file order and share what they create.
"""

import json
import os
import secrets
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

from api import ok as _ok, error as _error, fields as _fields

STACK = dict()

STATE = {}


def _base(pid=None):
    return "/v1/properties/%s" % (pid or STATE["pid"])


def _as(stack, who, method, path, body=None):
    token = stack.admin_token if who == "admin" else STATE[who + "_token"]
    return stack.http(method, path, body=body, token=token)


def _move_in(stack, uid, party, role, start, who="agent"):
    return _as(stack, who, "POST", "%s/units/%s/occupancies" % (_base(), uid),
               {"party_id": party, "role": role, "start_date": start})


def _end(stack, oid, end, who="agent"):
    return _as(stack, who, "POST", "%s/occupancies/%s/end" % (_base(), oid), {"end_date": end})


def _events(stack, type_, oid):
    rows = stack.psql("SELECT data::text, property_id::text FROM tenants.outbox WHERE type = '%s' "
                      "AND data->>'id' = '%s' ORDER BY seq" % (type_, oid))
    return [(json.loads(d), p) for d, p in rows]


def test_setup(stack):
    tag = secrets.token_hex(3)
    for key, code in (("pid", "OC1-" + tag), ("pid2", "OC2-" + tag)):
        STATE[key] = _ok(stack.http("POST", "/v1/properties", token=stack.admin_token,
                                    body={"code": code, "name": "写字楼 " + code}), 201, "property")["id"]
    for code, floor, area, use in (("A-0501", "5", 210.75, "office"), ("L1-03", "1", 88.4, "retail")):
        u = _ok(stack.http("POST", "%s/units" % _base(), token=stack.admin_token,
                           body={"code": code, "building": "写字楼", "floor": floor, "area_m2": area, "use": use}),
                201, "unit " + code)
        STATE[code] = u["id"]
    STATE["other_unit"] = _ok(stack.http("POST", "%s/units" % _base(STATE["pid2"]), token=stack.admin_token,
                                         body={"code": "X-1", "area_m2": 10, "use": "office"}), 201, "P2 unit")["id"]
    for role in ("agent", "manager"):
        pw = "pw-" + secrets.token_urlsafe(12)
        name = "%s-occ-%s" % (role, tag)
        _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                       body={"username": name, "password": pw, "role": role, "property_ids": [STATE["pid"]]}),
            201, "user " + role)
        STATE[role + "_token"] = stack.login(name, pw)
    parties = [("company", "鹏城智慧物流股份有限公司", "0755-83456789"), ("person", "陈静", "13600001111"),
               ("person", "刘洋", "15800002222")]
    for kind, name, phone in parties:
        p = _ok(_as(stack, "agent", "POST", "%s/parties" % _base(), {"kind": kind, "name": name, "phone": phone}),
                201, "party " + name)
        STATE[name] = p["id"]
    STATE["foreign_party"] = _ok(stack.http("POST", "%s/parties" % _base(STATE["pid2"]), token=stack.admin_token,
                                            body={"kind": "person", "name": "外人"}), 201, "P2 party")["id"]


def test_move_in_several_occupants(stack):
    office = STATE["A-0501"]
    o = _ok(_move_in(stack, office, STATE["鹏城智慧物流股份有限公司"], "tenant", "2025-01-01"), 201, "company moves in")
    assert o["unit_id"] == office and o["unit_code"] == "A-0501" and o["role"] == "tenant", o
    assert o["start_date"] == "2025-01-01" and o["end_date"] is None, o
    assert o["party_id"] == STATE["鹏城智慧物流股份有限公司"], o
    STATE["occ_company"] = o["id"]
    o2 = _ok(_move_in(stack, office, STATE["陈静"], "owner", "2020-05-20"), 201, "owner")
    STATE["occ_owner"] = o2["id"]
    o3 = _ok(_move_in(stack, office, STATE["陈静"], "resident", "2024-02-29"), 201, "the same party, another role")
    STATE["occ_resident"] = o3["id"]

    # the same party in the same role at once: 409
    err = _error(_move_in(stack, office, STATE["陈静"], "owner", "2025-03-01"), 409, "conflict", "twice an owner")
    assert "party_id" in _fields(err), err
    # a party of another property, or none: 422 party_id
    for party in (STATE["foreign_party"], "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69"):
        err = _error(_move_in(stack, office, party, "tenant", "2025-01-01"), 422, "validation_failed", "foreign party")
        assert err["details"] == [{"field": "party_id", "problem": "no such party"}], err
    err = _error(_move_in(stack, office, "nope", "landlord", "2025-02-30"), 422, "validation_failed", "all wrong")
    assert {"party_id", "role", "start_date"} <= _fields(err), err
    _error(_move_in(stack, STATE["other_unit"], STATE["陈静"], "tenant", "2025-01-01"), 404, "not_found",
           "a unit of another property")
    _error(_as(stack, "agent", "POST", "%s/units/%s/occupancies" % (_base(STATE["pid2"]), STATE["other_unit"]),
               {"party_id": STATE["陈静"], "role": "tenant", "start_date": "2025-01-01"}),
           404, "not_found", "agent of P1 in P2")
    # 陈静 is a tenant too (moved in by an admin): four occupants of one party and a company
    o4 = _ok(_move_in(stack, office, STATE["陈静"], "tenant", "2025-01-01", who="admin"), 201, "admin moves in")
    STATE["occ_tenant_admin"] = o4["id"]


def test_unit_detail_shows_occupants(stack):
    office = STATE["A-0501"]
    u = _ok(_as(stack, "agent", "GET", "%s/units/%s" % (_base(), office)), 200, "agent unit")
    occ = u["occupants"]
    assert [o["role"] for o in occ] == ["owner", "tenant", "tenant", "resident"], "owners first: %r" % occ
    names = {o["name"] for o in occ}
    assert names == {"陈静", "鹏城智慧物流股份有限公司"}, occ
    by_party = {o["party_id"]: o for o in occ}
    assert by_party[STATE["鹏城智慧物流股份有限公司"]]["phone"] == "075****6789", "masked for an agent: %r" % occ
    assert by_party[STATE["陈静"]]["phones"] == ["136****1111"], occ
    assert u["history"] == [], u
    for o in occ:
        assert set(o) >= {"occupancy_id", "party_id", "kind", "name", "role", "start_date", "phone", "phones"}, o
    m = _ok(_as(stack, "manager", "GET", "%s/units/%s" % (_base(), office)), 200, "manager unit")
    assert {o["phone"] for o in m["occupants"]} == {"0755-83456789", "13600001111"}, "whole for a manager"
    reads = stack.psql("SELECT count(*) FROM tenants.pii_reads WHERE method = 'tenants.units.get' "
                       "AND property_id = '%s'" % STATE["pid"])
    assert int(reads[0][0]) == 4, "one row per occupant shown whole: %r" % reads


def test_move_out_and_history(stack):
    oid = STATE["occ_company"]
    _error(_end(stack, oid, "2024-12-31"), 422, "validation_failed", "end before start")
    err = _error(_end(stack, oid, "2025-02-29"), 422, "validation_failed", "no such day")
    assert "end_date" in _fields(err), err
    _error(_end(stack, oid, None), 422, "validation_failed", "no date")
    _error(_as(stack, "agent", "POST", "%s/occupancies/%s/end" % (_base(), oid), "2025-06-30"),
           422, "validation_failed", "not an object")
    ended = _ok(_end(stack, oid, "2025-06-30"), 200, "move out")
    assert ended["id"] == oid and ended["end_date"] == "2025-06-30" and ended["start_date"] == "2025-01-01", ended
    assert ended["unit_code"] == "A-0501", ended
    err = _error(_end(stack, oid, "2025-07-31"), 409, "conflict", "ending twice")
    # an end on the start day is fine
    same_day = _ok(_end(stack, STATE["occ_tenant_admin"], "2025-01-01"), 200, "same day")
    assert same_day["end_date"] == "2025-01-01", same_day
    _error(_end(stack, "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69", "2025-07-31"), 404, "not_found", "unknown")
    _error(_end(stack, "nope", "2025-07-31"), 404, "not_found", "malformed")
    _error(_as(stack, "admin", "POST", "%s/occupancies/%s/end" % (_base(STATE["pid2"]), oid),
               {"end_date": "2025-07-31"}), 404, "not_found", "under another property")

    u = _ok(_as(stack, "agent", "GET", "%s/units/%s" % (_base(), STATE["A-0501"])), 200, "unit after")
    assert [o["role"] for o in u["occupants"]] == ["owner", "resident"], u["occupants"]
    hist = u["history"]
    assert [h["id"] for h in hist] == [oid, STATE["occ_tenant_admin"]], "latest end first: %r" % hist
    assert hist[0]["end_date"] == "2025-06-30" and hist[0]["party_name"] == "鹏城智慧物流股份有限公司", hist

    # the company moves in again: a new occupancy, the old one stays in the history
    again = _ok(_move_in(stack, STATE["A-0501"], STATE["鹏城智慧物流股份有限公司"], "tenant", "2025-09-01"), 201, "again")
    STATE["occ_again"] = again["id"]

    # the list: every occupancy, newest start first, in pages
    seen, cursor = [], None
    for _ in range(20):
        q = "?limit=2" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        page = _ok(_as(stack, "agent", "GET", "%s/units/%s/occupancies%s" % (_base(), STATE["A-0501"], q)), 200, "page")
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    starts = [o["start_date"] for o in seen]
    assert starts == sorted(starts, reverse=True), starts
    assert len(seen) == 5 and len({o["id"] for o in seen}) == 5, seen
    assert seen[0]["id"] == again["id"], seen
    _error(_as(stack, "agent", "GET", "%s/units/%s/occupancies?cursor=abcd" % (_base(), STATE["A-0501"])),
           422, "validation_failed", "forged cursor")
    _error(_as(stack, "agent", "GET", "%s/units/%s/occupancies" % (_base(), STATE["other_unit"])),
           404, "not_found", "another property's unit")


def test_party_detail_lists_units(stack):
    p = _ok(_as(stack, "agent", "GET", "%s/parties/%s" % (_base(), STATE["鹏城智慧物流股份有限公司"])), 200, "party")
    units = p["units"]
    assert [(u["unit_code"], u["role"], u["start_date"], u["end_date"]) for u in units] == [
        ("A-0501", "tenant", "2025-09-01", None), ("A-0501", "tenant", "2025-01-01", "2025-06-30")], units
    assert units[0]["occupancy_id"] == STATE["occ_again"] and units[0]["unit_id"] == STATE["A-0501"], units
    none = _ok(_as(stack, "agent", "GET", "%s/parties/%s" % (_base(), STATE["刘洋"])), 200, "no units")
    assert none["units"] == [], none


def test_events_carry_unit_and_party(stack):
    started = _events(stack, "occupancy.started", STATE["occ_company"])
    assert len(started) == 1, started
    data, prop = started[0]
    assert prop == STATE["pid"], prop
    assert data["unit_id"] == STATE["A-0501"] and data["party_id"] == STATE["鹏城智慧物流股份有限公司"], data
    assert data["role"] == "tenant" and data["start_date"] == "2025-01-01" and data["end_date"] is None, data
    assert data["unit"] == {"id": STATE["A-0501"], "code": "A-0501", "building": "写字楼", "floor": "5",
                            "area_m2": 210.75, "use": "office"}, data["unit"]
    assert data["party"] == {"id": STATE["鹏城智慧物流股份有限公司"], "kind": "company",
                             "name": "鹏城智慧物流股份有限公司"}, data["party"]
    ended = _events(stack, "occupancy.ended", STATE["occ_company"])
    assert len(ended) == 1, "one event, though the move-out was tried again: %r" % ended
    d2 = ended[0][0]
    assert d2["end_date"] == "2025-06-30" and d2["unit"]["area_m2"] == 210.75 and d2["party"]["kind"] == "company", d2
    # the refused move-ins and move-outs wrote nothing
    n = stack.psql("SELECT count(*) FROM tenants.outbox WHERE type = 'occupancy.started' AND property_id = '%s'"
                   % STATE["pid"])
    assert n == [("5",)], n
    # and the events reach a service through tenants.events.read as they are stored (test_events checks
    # the reader); the types are listed in proto/events.md (test_proto checks the outbox against it)


def test_handlers_against_this_cluster(stack):
    """tests/unit/test_party_handlers: tenants.unit.get and tenants.units.occupants
    (services only, whole contacts, no audit row), and that a whole read which
    cannot be audited is refused."""
    env = dict(stack.env, PM_TEST_DSN=stack.superuser_dsn(), PM_LOG_LEVEL="warn")
    harness.run_cmocka(stack.unit_binary("test_party_handlers"), env)   # fails on any cmocka skip too
