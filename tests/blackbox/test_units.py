"""test_units: properties and units end to end, through the gateway, the broker
and pm-tenants to PostgreSQL (API.md, "Properties, units, parties").

The tests run in file order and share what they create: the first makes two
properties (P1, P2) and a manager scoped to P1 only.
"""

import re
import secrets
import urllib.parse

from api import ok as _ok, fields as _fields

STACK = dict()

STATE = {}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body.get("error", {}).get("code") == code, "%s: error code %r, wanted %s" % (
        what, body.get("error"), code)
    assert "request_id" in body, "%s: no request_id in %r" % (what, body)
    return body["error"]


def _units(pid):
    return "/v1/properties/%s/units" % pid


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _mgr(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=STATE["mgr_token"])


# ---------------------------------------------------------------- properties
def test_create_properties_and_manager(stack):
    tag = secrets.token_hex(3)
    p1 = _ok(_admin(stack, "POST", "/v1/properties",
                    {"code": "SH-%s" % tag, "name": "浦江花园", "address": "上海市浦东新区浦江路 1 号"}),
             201, "create P1")
    assert UUID.match(p1["id"]), p1
    assert p1["code"] == "SH-%s" % tag and p1["name"] == "浦江花园", p1
    assert p1["address"] == "上海市浦东新区浦江路 1 号", p1
    assert p1["timezone"] == "Asia/Shanghai", "default time zone: %r" % p1
    assert RFC3339.match(p1["created_at"]), p1
    p2 = _ok(_admin(stack, "POST", "/v1/properties",
                    {"code": "BJ-%s" % tag, "name": "O'Brien \"Plaza\"; DROP TABLE properties;--",
                     "timezone": "Asia/Urumqi"}), 201, "create P2")
    assert p2["name"] == "O'Brien \"Plaza\"; DROP TABLE properties;--", p2
    assert p2["timezone"] == "Asia/Urumqi" and p2["address"] is None, p2
    STATE.update(p1=p1["id"], p2=p2["id"], tag=tag)

    # a manager of P1 only
    user = "mgr-%s" % tag
    pw = "pw-" + secrets.token_urlsafe(12)
    _ok(_admin(stack, "POST", "/v1/users",
               {"username": user, "password": pw, "role": "manager", "property_ids": [p1["id"]]}),
        201, "create manager")
    STATE["mgr_token"] = stack.login(user, pw)


def test_property_rules(stack):
    tag = STATE["tag"]
    err = _error(_admin(stack, "POST", "/v1/properties", {"code": "SH-%s" % tag, "name": "again"}),
                 409, "conflict", "duplicate property code")
    assert "code" in _fields(err), err
    err = _error(_admin(stack, "POST", "/v1/properties",
                        {"code": "has space", "name": "", "timezone": "Mars/Olympus_Mons"}),
                 422, "validation_failed", "bad property")
    assert {"code", "name"} <= _fields(err), err
    err = _error(_admin(stack, "POST", "/v1/properties", {"code": "TZ-%s" % tag, "name": "x",
                                                          "timezone": "Mars/Olympus_Mons"}),
                 422, "validation_failed", "unknown time zone")
    assert "timezone" in _fields(err), err
    err = _error(_admin(stack, "POST", "/v1/properties", {"code": "x" * 33, "name": "x"}),
                 422, "validation_failed", "code too long")
    # only an admin creates properties
    r = _mgr(stack, "POST", "/v1/properties", {"code": "M-%s" % tag, "name": "mine"})
    assert r.status == 403, "manager creating a property: %r" % r


def test_property_visibility(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    got = _ok(_mgr(stack, "GET", "/v1/properties/%s" % p1), 200, "manager gets P1")
    assert got["id"] == p1, got
    _error(_mgr(stack, "GET", "/v1/properties/%s" % p2), 404, "not_found", "manager gets P2")
    _error(_admin(stack, "GET", "/v1/properties/0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69"), 404,
           "not_found", "unknown property")
    _error(_admin(stack, "GET", "/v1/properties/not-a-uuid"), 404, "not_found", "malformed id")

    mine = _ok(_mgr(stack, "GET", "/v1/properties"), 200, "manager lists")
    assert [p["id"] for p in mine["items"]] == [p1], mine
    assert mine["next_cursor"] is None, mine

    # admin: keyset pages of one, every property once
    seen, cursor = [], None
    for _ in range(50):
        q = "?limit=1" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        page = _ok(_admin(stack, "GET", "/v1/properties" + q), 200, "admin page")
        assert len(page["items"]) <= 1, page
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert p1 in seen and p2 in seen and len(seen) == len(set(seen)), seen
    for q in ("?limit=0", "?limit=501", "?limit=abc", "?cursor=%25%25%25"):
        _error(_admin(stack, "GET", "/v1/properties" + q), 422, "validation_failed", "list " + q)


# ---------------------------------------------------------------- units
def test_create_and_get_unit(stack):
    p1 = STATE["p1"]
    u = _ok(_mgr(stack, "POST", _units(p1),
                 {"code": "A-1201", "building": "A", "floor": "12", "area_m2": 85.5, "use": "residential"}),
            201, "create unit")
    assert UUID.match(u["id"]) and u["property_id"] == p1, u
    assert (u["code"], u["building"], u["floor"], u["use"]) == ("A-1201", "A", "12", "residential"), u
    assert u["area_m2"] == 85.5 and isinstance(u["area_m2"], (int, float)), u
    assert RFC3339.match(u["created_at"]) and RFC3339.match(u["updated_at"]), u
    STATE["u1"] = u["id"]

    got = _ok(_mgr(stack, "GET", "%s/%s" % (_units(p1), u["id"])), 200, "get unit")
    assert got["occupants"] == [], got
    for k in ("id", "property_id", "code", "building", "floor", "area_m2", "use", "created_at"):
        assert got[k] == u[k], "%s differs: %r vs %r" % (k, got, u)

    # exact areas: NUMERIC(12,2), not a float that drifts
    for area in (0, 0.01, 12.3, 999999999.99):
        code = "AREA-%s" % area
        a = _ok(_mgr(stack, "POST", _units(p1), {"code": code, "area_m2": area, "use": "storage"}),
                201, "area %s" % area)
        assert a["area_m2"] == area, a
        rows = stack.psql("SELECT area_m2::text FROM tenants.units WHERE id = '%s'" % a["id"])
        assert rows == [("%.2f" % area,)], rows


def test_unit_conflicts_and_validation(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    err = _error(_mgr(stack, "POST", _units(p1), {"code": "A-1201", "area_m2": 1, "use": "office"}),
                 409, "conflict", "duplicate unit code")
    assert "code" in _fields(err), err
    # the same code in another property is another unit
    _ok(_admin(stack, "POST", _units(p2), {"code": "A-1201", "area_m2": 1, "use": "office"}), 201,
        "same code, other property")

    cases = [
        ({"code": "V1", "area_m2": "abc", "use": "office"}, {"area_m2"}),
        ({"code": "V2", "area_m2": -1, "use": "office"}, {"area_m2"}),
        ({"code": "V3", "area_m2": 12.345, "use": "office"}, {"area_m2"}),
        ({"code": "V4", "area_m2": 1e9, "use": "office"}, {"area_m2"}),
        ({"code": "V5", "area_m2": 10, "use": "castle"}, {"use"}),
        ({}, {"code", "area_m2", "use"}),
        ({"code": "", "area_m2": "abc", "use": "castle", "floor": 3, "building": ["A"]},
         {"code", "area_m2", "use", "floor", "building"}),
        ({"code": "x" * 65, "area_m2": 1, "use": "office"}, {"code"}),
    ]
    before = stack.psql("SELECT count(*) FROM tenants.units")
    for body, fields in cases:
        err = _error(_mgr(stack, "POST", _units(p1), body), 422, "validation_failed", "unit %r" % body)
        assert _fields(err) == fields, "unit %r: details %r, wanted all of %s" % (body, err, fields)
    r = _mgr(stack, "POST", _units(p1), None)
    assert r.status in (400, 422), "no body: %r" % r
    assert stack.psql("SELECT count(*) FROM tenants.units") == before, "a rejected unit was stored"


def test_text_round_trips(stack):
    p1 = STATE["p1"]
    nasty = "商铺-1'; DROP TABLE units;--%_\\\""
    u = _ok(_mgr(stack, "POST", _units(p1),
                 {"code": nasty, "building": "一号楼 (东)", "floor": "B1", "area_m2": 0.5, "use": "retail"}),
            201, "SQL metacharacters and Chinese")
    assert u["code"] == nasty and u["building"] == "一号楼 (东)", u
    got = _ok(_mgr(stack, "GET", "%s/%s" % (_units(p1), u["id"])), 200, "get it back")
    assert got["code"] == nasty and got["building"] == "一号楼 (东)", got
    found = _ok(_mgr(stack, "GET", _units(p1) + "?q=" + urllib.parse.quote("商铺-1'")), 200, "q")
    assert [x["id"] for x in found["items"]] == [u["id"]], found
    # LIKE wildcards mean themselves
    found = _ok(_mgr(stack, "GET", _units(p1) + "?q=" + urllib.parse.quote("%")), 200, "q=%")
    assert found["items"] == [], found
    tables = stack.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'tenants' AND tablename = 'units'")
    assert tables == [("1",)], "units table gone?"


def test_other_property_is_not_found(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    other = _ok(_admin(stack, "POST", _units(p2), {"code": "P2-ONLY", "area_m2": 20, "use": "office"}),
                201, "unit of P2")
    # the P1 manager: P2 does not exist for them, whichever way they ask
    _error(_mgr(stack, "GET", "%s/%s" % (_units(p2), other["id"])), 404, "not_found", "P2 unit via P2")
    _error(_mgr(stack, "GET", "%s/%s" % (_units(p1), other["id"])), 404, "not_found", "P2 unit via P1")
    _error(_mgr(stack, "GET", _units(p2)), 404, "not_found", "list P2")
    _error(_mgr(stack, "POST", _units(p2), {"code": "X", "area_m2": 1, "use": "office"}), 404,
           "not_found", "create in P2")
    _error(_mgr(stack, "PATCH", "%s/%s" % (_units(p1), other["id"]), {"area_m2": 1}), 404,
           "not_found", "patch P2 unit via P1")
    _error(_mgr(stack, "PATCH", "%s/%s" % (_units(p2), other["id"]), {"area_m2": 1}), 404,
           "not_found", "patch P2 unit via P2")
    still = _ok(_admin(stack, "GET", "%s/%s" % (_units(p2), other["id"])), 200, "admin sees it")
    assert still["area_m2"] == 20, still


def test_patch_unit(stack):
    p1, uid = STATE["p1"], STATE["u1"]
    path = "%s/%s" % (_units(p1), uid)
    u = _ok(_mgr(stack, "PATCH", path, {"area_m2": 90.25, "building": None, "use": "office"}), 200, "patch")
    assert u["area_m2"] == 90.25 and u["building"] is None and u["use"] == "office", u
    assert u["floor"] == "12" and u["code"] == "A-1201", "untouched fields changed: %r" % u
    got = _ok(_mgr(stack, "GET", path), 200, "get after patch")
    assert got["area_m2"] == 90.25 and got["building"] is None, got

    _ok(_mgr(stack, "POST", _units(p1), {"code": "A-1202", "area_m2": 1, "use": "office"}), 201, "second")
    err = _error(_mgr(stack, "PATCH", path, {"code": "A-1202"}), 409, "conflict", "patch to a taken code")
    assert "code" in _fields(err), err
    err = _error(_mgr(stack, "PATCH", path, {"area_m2": 12.345, "use": "castle", "code": None}),
                 422, "validation_failed", "bad patch")
    assert _fields(err) == {"area_m2", "use", "code"}, err
    _error(_mgr(stack, "PATCH", "%s/0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69" % _units(p1), {"area_m2": 1}),
           404, "not_found", "patch unknown unit")
    renamed = _ok(_mgr(stack, "PATCH", path, {"code": "A-1201B", "floor": "12A"}), 200, "rename")
    assert renamed["code"] == "A-1201B" and renamed["floor"] == "12A", renamed
    assert renamed["area_m2"] == 90.25, renamed


def test_list_filters_and_pages(stack):
    tag = secrets.token_hex(3)
    p = _ok(_admin(stack, "POST", "/v1/properties", {"code": "LST-%s" % tag, "name": "list test"}),
            201, "property for lists")["id"]
    codes = []
    for b in ("A", "B"):
        for i in range(6):
            code = "%s-%02d" % (b, i)
            use = "parking" if i % 3 == 0 else "residential"
            _ok(_admin(stack, "POST", _units(p), {"code": code, "building": b, "area_m2": 10 + i,
                                                  "use": use}), 201, "unit " + code)
            codes.append(code)
    everything = _ok(_admin(stack, "GET", _units(p)), 200, "list all")
    assert [u["code"] for u in everything["items"]] == sorted(codes), everything
    assert everything["next_cursor"] is None, everything

    def codes_of(query):
        return [u["code"] for u in _ok(_admin(stack, "GET", _units(p) + query), 200, query)["items"]]

    assert codes_of("?q=B-0") == ["B-%02d" % i for i in range(6)]
    assert codes_of("?use=parking") == ["A-00", "A-03", "B-00", "B-03"]
    assert codes_of("?building=A&use=parking") == ["A-00", "A-03"]
    assert codes_of("?q=A-0&building=B") == []

    seen, cursor, pages = [], None, 0
    while True:
        q = "?limit=5" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        page = _ok(_admin(stack, "GET", _units(p) + q), 200, "page")
        pages += 1
        seen += [u["code"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert pages < 10, "pages never end"
    assert seen == sorted(codes) and pages == 3, (pages, seen)
    # filters hold across pages
    page = _ok(_admin(stack, "GET", _units(p) + "?use=residential&limit=3"), 200, "filtered page")
    page2 = _ok(_admin(stack, "GET", _units(p) + "?use=residential&limit=3&cursor=" +
                       urllib.parse.quote(page["next_cursor"])), 200, "filtered page 2")
    assert [u["code"] for u in page["items"] + page2["items"]] == ["A-01", "A-02", "A-04", "A-05",
                                                                    "B-01", "B-02"], (page, page2)
    for q in ("?limit=0", "?limit=501", "?limit=x", "?use=castle", "?cursor=!!"):
        _error(_admin(stack, "GET", _units(p) + q), 422, "validation_failed", "units list " + q)
    _error(_admin(stack, "GET", _units("0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69")), 404, "not_found",
           "units of an unknown property")
