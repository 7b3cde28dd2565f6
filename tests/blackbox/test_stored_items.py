"""test_stored_items: items left at the desk (物件存放) end to end (API.md, "The
front desk's registers"): stored with a claim code shown once, released only
with that code to a named person (a wrong code: 409 invalid_claim_code), locked
after 5 wrong codes for a manager to release without it, listed with how long
each has waited. Tests run in file order and share STATE.
"""

import re
import secrets

from api import ok as _ok, error as _error, fields as _fields

STATE = {}
CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$")


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _as(stack, role, method, path, body=None):
    token = stack.admin_token if role == "admin" else STATE["tokens"][role]
    return stack.http(method, path, body=body, token=token)


def _store(stack, role="agent", **body):
    return _as(stack, role, "POST", _p(STATE["p1"], "stored-items"), body)


def _release(stack, item, role="agent", **body):
    return _as(stack, role, "POST", _p(STATE["p1"], "stored-items/%s/release" % item), body)


def _wrong(code):
    """A code of the alphabet that is not code."""
    return ("2" if code[0] != "2" else "3") + code[1:]


def test_setup(stack):
    tag = secrets.token_hex(3)
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "SI1-" + tag, "name": "前台一"}), 201, "P1")
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "SI2-" + tag, "name": "前台二"}), 201, "P2")
    u1 = _ok(stack.http("POST", _p(p1["id"], "units"), token=adm,
                        body={"code": "C-0808", "area_m2": 90, "use": "residential"}), 201, "unit")
    STATE.update(p1=p1["id"], p2=p2["id"], u1=u1["id"], tokens={})
    for role in ("manager", "agent", "technician"):
        user, pw = "si-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        _ok(stack.http("POST", "/v1/users", token=adm, body={"username": user, "password": pw, "role": role,
                                                            "property_ids": [p1["id"]]}), 201, "user " + role)
        STATE["tokens"][role] = stack.login(user, pw)


def test_store_shows_the_code_once(stack):
    item = _ok(_store(stack, description="顺丰快递一件（文件袋）", unit_id=STATE["u1"], owner_name="陈女士",
                      location="前台柜 3"), 201, "store")
    assert CODE.match(item["claim_code"]) and item["status"] == "stored", item
    assert item["unit_code"] == "C-0808" and item["owner_name"] == "陈女士" and item["location"] == "前台柜 3", item
    assert item["stored_for_hours"] == 0 and item["locked"] is False and item["released_to"] is None, item
    bare = _ok(_store(stack, description="雨伞"), 201, "bare")
    assert bare["unit_id"] is None and bare["owner_name"] is None and bare["claim_code"] != item["claim_code"], bare
    # the code is in no list and not in the table in clear
    page = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "stored-items")), 200, "list")
    assert "claim_code" not in page["items"][0] and item["claim_code"] not in str(page), page
    stored = stack.psql("SELECT claim_hash FROM tickets.stored_items WHERE id = '%s'" % item["id"])[0][0]
    assert item["claim_code"] not in stored and len(stored) == 97, stored
    for p in stack.procs["tickets"]:
        assert item["claim_code"] not in p.log(), "the claim code in the log"
    STATE.update(item=item, bare=bare)


def test_store_bad_input(stack):
    err = _error(_store(stack, unit_id="x", owner_name=5, location=""), 422, "validation_failed", "bad item")
    assert {"description", "unit_id", "owner_name"} <= _fields(err), err
    _error(_store(stack, description="d" * 501), 422, "validation_failed", "long description")
    err = _error(_store(stack, description="外卖", unit_id="00000000-0000-4000-8000-000000000000"), 422,
                 "validation_failed", "unknown unit")
    assert _fields(err) == {"unit_id"}, err
    _error(_as(stack, "technician", "POST", _p(STATE["p1"], "stored-items"), {"description": "x"}), 403,
           "forbidden", "technician")
    _error(_as(stack, "agent", "GET", _p(STATE["p2"], "stored-items")), 404, "not_found", "another property")


def test_release_with_the_code(stack):
    item = STATE["item"]
    err = _error(_release(stack, item["id"], released_to="陈女士"), 422, "validation_failed", "no code (agent)")
    assert _fields(err) == {"claim_code"}, err
    err = _error(_release(stack, item["id"], claim_code=item["claim_code"]), 422, "validation_failed", "no one")
    assert _fields(err) == {"released_to"}, err
    err = _error(_release(stack, item["id"], claim_code=_wrong(item["claim_code"]), released_to="陈女士"), 409,
                 "invalid_claim_code", "wrong code")
    assert "4 tries left" in err["details"][0]["problem"], err
    # typed in lower case with a space: the same code
    code = item["claim_code"].lower()
    done = _ok(_release(stack, item["id"], claim_code=code[:4] + " " + code[4:], released_to="陈女士的家人 李先生"),
               200, "release")
    assert done["status"] == "released" and done["released_to"] == "陈女士的家人 李先生" and done["released_by"], done
    assert done["released_at"] and done["release_reason"] is None and "claim_code" not in done, done
    err = _error(_release(stack, item["id"], claim_code=item["claim_code"], released_to="x"), 409,
                 "invalid_transition", "second release")
    _error(_as(stack, "admin", "POST", _p(STATE["p2"], "stored-items/%s/release" % item["id"]),
               {"claim_code": item["claim_code"], "released_to": "x"}), 404, "not_found", "under P2")
    _error(_release(stack, "00000000-0000-4000-8000-000000000000", claim_code="22222222", released_to="x"), 404,
           "not_found", "no such item")


def test_five_wrong_codes_lock_for_managers(stack):
    bare = STATE["bare"]
    for i in range(5):
        # any shape of wrong code counts (no free probing)
        wrong = _wrong(bare["claim_code"]) if i % 2 else "0"
        err = _error(_release(stack, bare["id"], claim_code=wrong, released_to="某人"), 409,
                     "invalid_claim_code", "wrong %d" % i)
    assert "locked" in err["details"][0]["problem"], err
    _error(_release(stack, bare["id"], claim_code=bare["claim_code"], released_to="某人"), 409, "claim_locked",
           "the right code after 5 wrong")
    listed = _ok(_as(stack, "agent", "GET", _p(STATE["p1"], "stored-items?status=stored")), 200, "list")
    assert [(x["id"], x["locked"]) for x in listed["items"]] == [(bare["id"], True)], listed
    err = _error(_release(stack, bare["id"], role="manager", released_to="失主 王先生"), 422, "validation_failed",
                 "manager without a reason")
    assert _fields(err) == {"reason"}, err
    done = _ok(_release(stack, bare["id"], role="manager", released_to="失主 王先生", reason="核对身份证后放行"),
               200, "manager releases")
    assert done["status"] == "released" and done["release_reason"] == "核对身份证后放行", done


def test_lists(stack):
    p1 = STATE["p1"]
    _ok(_store(stack, description="花束"), 201, "third")
    waiting = _ok(_as(stack, "agent", "GET", _p(p1, "stored-items?status=stored")), 200, "waiting")
    assert [x["description"] for x in waiting["items"]] == ["花束"], waiting
    assert isinstance(waiting["items"][0]["stored_for_hours"], int), waiting
    # an item that waited two days shows it
    stack.psql("UPDATE tickets.stored_items SET stored_at = stored_at - interval '49 hours' WHERE description = '花束'")
    waiting = _ok(_as(stack, "agent", "GET", _p(p1, "stored-items?status=stored")), 200, "waiting again")
    assert waiting["items"][0]["stored_for_hours"] == 49, waiting
    released = _ok(_as(stack, "agent", "GET", _p(p1, "stored-items?status=released&limit=1")), 200, "released")
    assert len(released["items"]) == 1 and released["next_cursor"], released
    more = _ok(_as(stack, "agent", "GET", _p(p1, "stored-items?status=released&cursor=" + released["next_cursor"])),
               200, "next page")
    assert {x["id"] for x in released["items"] + more["items"]} == {STATE["item"]["id"], STATE["bare"]["id"]}
    for bad, field in (("status=lost", "status"), ("limit=501", "limit"), ("cursor=abc", "cursor")):
        err = _error(_as(stack, "agent", "GET", _p(p1, "stored-items?" + bad)), 422, "validation_failed", bad)
        assert field in _fields(err), err
