"""test_vehicle_passes: visitors' and VIP cars (贵宾车辆/访客车辆) end to end (API.md,
"The front desk's registers"): passes with a normalised plate and a validity,
the check a barrier gate asks with an integration key (valid now, not
revoked), list and revoke. Validity is set around the real time in wide
margins (days), so no assertion depends on the clock. Tests share STATE.
"""

import datetime
import secrets
import urllib.parse

from api import ok as _ok, error as _error, fields as _fields

STATE = {}


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _as(stack, role, method, path, body=None):
    token = stack.admin_token if role == "admin" else STATE["tokens"][role]
    return stack.http(method, path, body=body, token=token)


def _days(n):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(n):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=n)).strftime("%Y-%m-%d")


def _pass(stack, role="agent", pid=None, **body):
    return _as(stack, role, "POST", _p(pid or STATE["p1"], "vehicle-passes"), body)


def _check(stack, plate, role="integration", pid=None):
    return _as(stack, role, "GET", _p(pid or STATE["p1"], "vehicle-passes/check?" + urllib.parse.urlencode(
        {"plate": plate})))


def test_setup(stack):
    tag = secrets.token_hex(3)
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "VP1-" + tag, "name": "车场一"}), 201, "P1")
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "VP2-" + tag, "name": "车场二"}), 201, "P2")
    u1 = _ok(stack.http("POST", _p(p1["id"], "units"), token=adm,
                        body={"code": "T1-2001", "area_m2": 120, "use": "office"}), 201, "unit")
    party = _ok(stack.http("POST", _p(p1["id"], "parties"), token=adm,
                           body={"kind": "company", "name": "深圳某科技有限公司"}), 201, "party")
    STATE.update(p1=p1["id"], p2=p2["id"], u1=u1["id"], party=party["id"], tokens={})
    for role in ("manager", "agent", "technician"):
        user, pw = "vp-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        _ok(stack.http("POST", "/v1/users", token=adm, body={"username": user, "password": pw, "role": role,
                                                            "property_ids": [p1["id"]]}), 201, "user " + role)
        STATE["tokens"][role] = stack.login(user, pw)
    key = _ok(stack.http("POST", "/v1/api-keys", token=adm,
                         body={"name": "barrier", "role": "integration", "property_ids": [p1["id"]]}), 201, "key")
    STATE["tokens"]["integration"] = key["key"]


def test_create_normalises_the_plate(stack):
    vip = _ok(_pass(stack, plate=" 粤b 123·45 ", unit_id=STATE["u1"], party_id=STATE["party"], vip=True,
                    valid_from=_days(-1), valid_to=_days(30), note="董事长座驾"), 201, "VIP pass")
    assert vip["plate"] == "粤B12345" and vip["vip"] is True and vip["status"] == "active", vip
    assert vip["unit_code"] == "T1-2001" and vip["party_id"] == STATE["party"] and vip["note"] == "董事长座驾", vip
    # a new-energy plate, valid for whole days in the property's timezone
    nev = _ok(_pass(stack, plate="沪ad12345", valid_from=_date(-1), valid_to=_date(1)), 201, "NEV day pass")
    assert nev["plate"] == "沪AD12345" and nev["vip"] is False and nev["status"] == "active", nev
    assert nev["valid_from"].endswith("16:00:00Z") and nev["valid_to"].endswith("16:00:00Z"), nev  # Asia/Shanghai
    later = _ok(_pass(stack, plate="京N·F1234", valid_from=_days(2), valid_to=_days(3)), 201, "later")
    assert later["status"] == "scheduled", later
    STATE.update(vip=vip["id"], nev=nev["id"], later=later["id"])


def test_create_bad_input(stack):
    err = _error(_pass(stack, plate="ABC-123", unit_id="x", party_id=5, valid_from="tomorrow", vip="yes"), 422,
                 "validation_failed", "bad pass")
    assert {"plate", "unit_id", "party_id", "valid_from", "valid_to", "vip"} <= _fields(err), err
    err = _error(_pass(stack, plate="粤B12345", valid_from=_days(2), valid_to=_days(1)), 422, "validation_failed",
                 "to before from")
    assert _fields(err) == {"valid_to"}, err
    err = _error(_pass(stack, plate="粤B12345", valid_from=_days(0), valid_to=_days(4000)), 422, "validation_failed",
                 "ten years")
    assert _fields(err) == {"valid_to"}, err
    for plate in ("粤B1234", "粤B1234567", "港B12345", "粤BI2345", "粤B123456", "12345", ""):
        err = _error(_pass(stack, plate=plate, valid_from=_days(0), valid_to=_days(1)), 422, "validation_failed", plate)
        assert _fields(err) == {"plate"}, (plate, err)
    err = _error(_pass(stack, plate="粤B12345", valid_from=_days(0), valid_to=_days(1),
                       unit_id="00000000-0000-4000-8000-000000000000"), 422, "validation_failed", "unknown unit")
    assert _fields(err) == {"unit_id"}, err
    _error(_pass(stack, role="technician", plate="粤B12345", valid_from=_days(0), valid_to=_days(1)), 403,
           "forbidden", "technician")
    _error(_pass(stack, role="integration", plate="粤B12345", valid_from=_days(0), valid_to=_days(1)), 403,
           "forbidden", "integration writes")


def test_barrier_check(stack):
    r = _ok(_check(stack, "粤b12345"), 200, "the VIP's car")
    assert r["allowed"] is True and r["pass"]["id"] == STATE["vip"] and r["pass"]["vip"] is True, r
    assert "note" not in r["pass"] and "created_by" not in r["pass"], "a barrier sees no note: %s" % r
    r = _ok(_check(stack, "沪AD 12345", role="agent"), 200, "NEV as the desk")
    assert r["allowed"] is True and r["pass"]["note"] is None, r
    for plate in ("京NF1234", "粤B54321"):  # not yet valid; no pass at all
        r = _ok(_check(stack, plate), 200, plate)
        assert r == {"allowed": False, "plate": plate, "pass": None}, r
    err = _error(_check(stack, "not a plate"), 422, "validation_failed", "bad plate")
    assert _fields(err) == {"plate"}, err
    err = _error(_as(stack, "integration", "GET", _p(STATE["p1"], "vehicle-passes/check")), 422,
                 "validation_failed", "no plate")
    _error(_check(stack, "粤B12345", pid=STATE["p2"]), 404, "not_found", "another property's gate")
    _error(_check(stack, "粤B12345", role="technician"), 403, "forbidden", "technician")
    # the same plate in another property is not let in here, nor there by this one
    _ok(_pass(stack, role="admin", pid=STATE["p2"], plate="粤B99999", valid_from=_days(-1), valid_to=_days(1)), 201, "P2")
    assert _ok(_check(stack, "粤B99999"), 200, "P2's plate at P1")["allowed"] is False


def test_list_and_revoke(stack):
    p1 = STATE["p1"]
    page = _ok(_as(stack, "agent", "GET", _p(p1, "vehicle-passes")), 200, "list")
    assert [x["id"] for x in page["items"]] == [STATE["later"], STATE["nev"], STATE["vip"]], page
    page = _ok(_as(stack, "agent", "GET", _p(p1, "vehicle-passes?status=active&limit=1")), 200, "active")
    assert [x["id"] for x in page["items"]] == [STATE["nev"]] and page["next_cursor"], page
    page = _ok(_as(stack, "agent", "GET", _p(p1, "vehicle-passes?" + urllib.parse.urlencode({"plate": "粤B 12345"}))),
               200, "by plate")
    assert [x["id"] for x in page["items"]] == [STATE["vip"]], page
    done = _ok(_as(stack, "agent", "POST", _p(p1, "vehicle-passes/%s/revoke" % STATE["vip"])), 200, "revoke")
    assert done["status"] == "revoked" and done["revoked_at"] and done["revoked_by"], done
    assert _ok(_check(stack, "粤B12345"), 200, "after revoke") == {"allowed": False, "plate": "粤B12345", "pass": None}
    _error(_as(stack, "agent", "POST", _p(p1, "vehicle-passes/%s/revoke" % STATE["vip"])), 409, "invalid_transition",
           "second revoke")
    _error(_as(stack, "admin", "POST", _p(STATE["p2"], "vehicle-passes/%s/revoke" % STATE["nev"])), 404, "not_found",
           "under P2")
    _error(_as(stack, "agent", "POST", _p(p1, "vehicle-passes/nope/revoke")), 404, "not_found", "not a uuid")
    page = _ok(_as(stack, "agent", "GET", _p(p1, "vehicle-passes?status=revoked")), 200, "revoked")
    assert [x["id"] for x in page["items"]] == [STATE["vip"]], page
    for bad, field in (("status=gone", "status"), ("plate=xyz", "plate"), ("limit=x", "limit")):
        err = _error(_as(stack, "agent", "GET", _p(p1, "vehicle-passes?" + bad)), 422, "validation_failed", bad)
        assert field in _fields(err), err
    _error(_as(stack, "integration", "GET", _p(p1, "vehicle-passes")), 403, "forbidden", "integration lists")
