"""test_me_billing: a resident's bills and receipts (issue K; API.md,
"Residents (issue K)"; services/billing/me.h).

- a resident signs in by the SMS code (PM_SMS_FILE) and, after a bill run and a
  payment at the desk, sees their unit's account (the desk's figures, without
  the desk's fields), the payment with its receipt number, and the receipt;
- a resident of another unit: 404 on each route for that unit and payment;
  a made-up or malformed id: 404; bad query input: 422;
- a staff token on the /v1/me routes: 403, no token: 401;
- after a move-out (tenants API) the routes answer 404 (polled: billing's copy
  of the occupancies follows tenants' events).
"""

import re
import secrets
import time
import uuid

from api import ok as _ok, error as _error, fields as _fields, resident_token as _token

S = {}


def _phone():
    return "137%08d" % secrets.randbelow(10 ** 8)


def _wait(stack, sql, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = stack.psql(sql)
        if rows and rows[0][0] and rows[0][0] != "0":
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError("still nothing: " + sql)


def _get(stack, path, token):
    return stack.http("GET", path, token=token)


def test_setup(stack):
    adm, http = stack.admin_token, stack.http
    tag = secrets.token_hex(3).upper()
    pid = _ok(http("POST", "/v1/properties", token=adm, body={"code": "MB-" + tag, "name": "业主账单" + tag}),
              201, "property")["id"]
    units = [_ok(http("POST", "/v1/properties/%s/units" % pid, token=adm,
                      body={"code": "C-%04d" % (101 + i), "area_m2": 90, "use": "residential"}), 201, "unit")["id"]
             for i in range(2)]
    phones = [_phone(), _phone()]
    parties, occs = [], []
    for i in range(2):
        parties.append(_ok(http("POST", "/v1/properties/%s/parties" % pid, token=adm,
                                body={"kind": "person", "name": "业主%d" % i, "phone": phones[i]}), 201, "party")["id"])
        occs.append(_ok(http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, units[i]), token=adm,
                             body={"party_id": parties[i], "role": "owner", "start_date": "2026-01-01"}),
                        201, "occupancy")["id"])
    for o in occs:
        _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE id = '%s'" % o)
    # signed in first: the bill and payment notifications go to the same phones
    tokens = [_token(stack, p) for p in phones]
    # a bill run for March, then a payment at the desk for the first unit
    _ok(http("POST", "/v1/properties/%s/fee-items" % pid, token=adm,
             body={"code": "GARB", "name": "垃圾清运费", "basis": "fixed", "unit_price": 1500,
                   "applies_to": ["residential"], "effective_from": "2026-01-01"}), 201, "fee item")
    run = _ok(http("POST", "/v1/properties/%s/billing-runs" % pid, token=adm, body={"period": "2026-03"}), 201, "run")
    assert run["bills_created"] == 2, run
    pay = _ok(http("POST", "/v1/properties/%s/payments" % pid, token=adm,
                   body={"unit_id": units[0], "amount": 1000, "method": "cash"}), 201, "payment")
    other_pay = _ok(http("POST", "/v1/properties/%s/payments" % pid, token=adm,
                         body={"unit_id": units[1], "amount": 2000, "method": "wechat"}), 201, "payment 2")
    assert re.match(r"^SJ-\d{4}-\d{6}$", pay["receipt_number"]), pay
    S.update(pid=pid, units=units, phones=phones, parties=parties, occs=occs, pay=pay, other_pay=other_pay,
             tokens=tokens)


def test_account_is_the_desks_without_staff_fields(stack):
    uid, tok = S["units"][0], S["tokens"][0]
    mine = _ok(_get(stack, "/v1/me/units/%s/account" % uid, tok), 200, "my account")
    desk = _ok(_get(stack, "/v1/properties/%s/units/%s/account" % (S["pid"], uid), stack.admin_token), 200, "desk")
    for k in ("property_id", "unit_id", "unit_code", "balance_due", "credit", "overdue_amount", "currency"):
        assert mine[k] == desk[k], (k, mine, desk)
    # the March bill of 1500, 1000 paid: 500 open
    assert mine["unit_id"] == uid and mine["unit_code"] == "C-0101", mine
    assert mine["balance_due"] == 500 and mine["credit"] == 0, mine
    assert len(mine["bills"]) == 1 and len(desk["bills"]) == 1, mine
    b, d = mine["bills"][0], desk["bills"][0]
    assert b["amount"] == 1500 and b["balance"] == 500 and b["status"] == "partially_paid", b
    assert b["period"] == "2026-03" and b["id"] == d["id"], b
    staff = {"run_id", "source", "source_ref", "bill_to_party_id"}
    assert not staff & set(b), b
    assert staff <= set(d), d
    assert {k: v for k, v in d.items() if k not in staff} == b, (b, d)


def test_payments_with_receipt_number(stack):
    uid, tok = S["units"][0], S["tokens"][0]
    # a second payment: newest first
    p2 = _ok(stack.http("POST", "/v1/properties/%s/payments" % S["pid"], token=stack.admin_token,
                        body={"unit_id": uid, "amount": 700, "method": "alipay"}), 201, "second payment")
    page = _ok(_get(stack, "/v1/me/units/%s/payments" % uid, tok), 200, "my payments")
    ids = [p["id"] for p in page["items"]]
    assert ids == [p2["id"], S["pay"]["id"]], page
    first = page["items"][1]
    assert first["receipt_number"] == S["pay"]["receipt_number"] and first["amount"] == 1000, first
    assert first["unit_id"] == uid and first["status"] == "received", first
    assert S["other_pay"]["id"] not in ids
    # paged: one a page, the cursor leads to the older one
    p1 = _ok(_get(stack, "/v1/me/units/%s/payments?limit=1" % uid, tok), 200, "page 1")
    assert [p["id"] for p in p1["items"]] == [p2["id"]] and p1["next_cursor"], p1
    pg2 = _ok(_get(stack, "/v1/me/units/%s/payments?limit=1&cursor=%s" % (uid, p1["next_cursor"]), tok),
              200, "page 2")
    assert [p["id"] for p in pg2["items"]] == [S["pay"]["id"]], pg2
    # ?unit_id= cannot widen the scope: the path's unit only
    w = _ok(_get(stack, "/v1/me/units/%s/payments?unit_id=%s" % (uid, S["units"][1]), tok), 200, "unit_id ignored")
    assert [p["id"] for p in w["items"]] == ids, w
    # bad query input
    for q, field in (("limit=0", "limit"), ("limit=x", "limit"), ("cursor=!!", "cursor"), ("from=soon", "from"),
                     ("status=lost", "status")):
        err = _error(_get(stack, "/v1/me/units/%s/payments?%s" % (uid, q), tok), 422, "validation_failed", q)
        assert field in _fields(err), (q, err)


def test_receipt_page(stack):
    tok, pay = S["tokens"][0], S["pay"]
    r = _get(stack, "/v1/me/payments/%s/receipt" % pay["id"], tok)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/html"), r.headers
    assert "inline" in r.headers.get("content-disposition", ""), r.headers
    page = r.body.decode("utf-8")
    assert pay["receipt_number"] in page and "C-0101" in page and "业主0" in page, page[:400]
    desk = _get(stack, "/v1/properties/%s/payments/%s/receipt" % (S["pid"], pay["id"]), stack.admin_token)
    assert desk.status == 200 and desk.body == r.body, desk
    t = _get(stack, "/v1/me/payments/%s/receipt?layout=thermal" % pay["id"], tok)
    assert t.status == 200 and b"80mm" in t.body, t
    err = _error(_get(stack, "/v1/me/payments/%s/receipt?layout=a4" % pay["id"], tok), 422, "validation_failed",
                 "layout")
    assert "layout" in _fields(err), err


def test_another_units_resident_sees_nothing(stack):
    uid, pay, tok = S["units"][0], S["pay"], S["tokens"][1]
    for path in ("/v1/me/units/%s/account" % uid, "/v1/me/units/%s/payments" % uid,
                 "/v1/me/payments/%s/receipt" % pay["id"]):
        _error(_get(stack, path, tok), 404, "not_found", "another unit's " + path)
    # their own unit answers, with their own payment only
    own = _ok(_get(stack, "/v1/me/units/%s/payments" % S["units"][1], tok), 200, "their own")
    assert [p["id"] for p in own["items"]] == [S["other_pay"]["id"]], own
    # made-up and malformed ids
    for path in ("/v1/me/units/%s/account" % uuid.uuid4(), "/v1/me/units/not-a-uuid/account",
                 "/v1/me/units/%s/payments" % uuid.uuid4(), "/v1/me/payments/%s/receipt" % uuid.uuid4(),
                 "/v1/me/payments/12345/receipt", "/v1/me/units/%27%3B--/payments"):
        _error(_get(stack, path, tok), 404, "not_found", path)


def test_staff_are_forbidden(stack):
    uid, pay = S["units"][0], S["pay"]
    paths = ("/v1/me/units/%s/account" % uid, "/v1/me/units/%s/payments" % uid,
             "/v1/me/payments/%s/receipt" % pay["id"])
    for path in paths:
        _error(_get(stack, path, stack.admin_token), 403, "forbidden", "admin on " + path)
        assert _get(stack, path, None).status == 401, path
    # and a resident on the desk's routes
    r = _get(stack, "/v1/properties/%s/units/%s/account" % (S["pid"], uid), S["tokens"][0])
    assert r.status == 403, r


def test_move_out_ends_access(stack):
    uid, tok = S["units"][0], S["tokens"][0]
    _ok(stack.http("POST", "/v1/properties/%s/occupancies/%s/end" % (S["pid"], S["occs"][0]),
                   token=stack.admin_token, body={"end_date": "2026-06-30"}), 200, "move-out")
    paths = ("/v1/me/units/%s/account" % uid, "/v1/me/units/%s/payments" % uid,
             "/v1/me/payments/%s/receipt" % S["pay"]["id"])
    deadline = time.time() + 60
    while _get(stack, paths[0], tok).status != 404:
        assert time.time() < deadline, "the move-out not seen by billing within a minute"
        time.sleep(0.2)
    for path in paths:
        _error(_get(stack, path, tok), 404, "not_found", "after the move-out " + path)
    # the other resident is unaffected
    _ok(_get(stack, "/v1/me/units/%s/account" % S["units"][1], S["tokens"][1]), 200, "the neighbour")
