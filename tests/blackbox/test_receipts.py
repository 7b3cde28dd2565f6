"""test_receipts: receipts (收据, issue J item 1) end to end: every payment's
receipt_number SJ-<year>-<000001> per property and year, without gaps, also
under concurrent payments on two billing workers and with failed payments
among them; the year in the property's time zone; CSV imports numbered in
the same sequence; the number in the payment's JSON, its event and the
export; the printable receipt (text/html inline, its headers, the amount in
figures and capitals, the payer escaped, 作废 once reversed, under the same
number); another property's payment 404; roles.

Tests run in file order and share STATE.
"""

import re
import threading
import time

from api import error as _error

# two billing workers: payments from parallel writers really run at once
STACK = dict(scale={"billing": 2}, env={"PM_LATE_FEE_TICK_MS": "86400000"})

STATE = {}
HOSTILE = "<script>alert('张')</script> & \"Co\""
NUMBER = re.compile(r"^SJ-(\d{4})-(\d{6,})$")


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body[:1] in (b"{", b"[") else r.body.decode("utf-8")


def _admin(stack, method, path, body=None, raw=None, headers=None):
    return stack.http(method, path, body=body, token=stack.admin_token, raw=raw, headers=headers)


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


def _wait(stack, sql, want, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if stack.psql(sql)[0][0] == want:
            return
        time.sleep(0.1)
    raise AssertionError("billing never saw " + what)


def _pay(stack, pid, uid, amount, method="cash", ref=None, paid_at=None, token=None, status=201):
    body = {"unit_id": uid, "amount": amount, "method": method}
    if ref:
        body["external_ref"] = ref
    if paid_at:
        body["paid_at"] = paid_at
    r = stack.http("POST", _p(pid, "payments"), body=body, token=token or stack.admin_token)
    return _ok(r, status, "payment")


def _numbers(stack, pid, year):
    """The sequence numbers of the property's receipts of that year, sorted."""
    rows = stack.psql("SELECT receipt_number FROM billing.payments WHERE property_id = '%s'"
                      " AND receipt_number LIKE 'SJ-%s-%%'" % (pid, year))
    return sorted(int(NUMBER.match(r[0]).group(2)) for r in rows)


def _receipt(stack, pid, payment_id, token=None, query=""):
    return stack.http("GET", _p(pid, "payments/%s/receipt%s" % (payment_id, query)),
                      token=token or stack.admin_token)


def _user(stack, name, role, pids):
    _ok(_admin(stack, "POST", "/v1/users", {"username": name, "password": "pass-%s-123" % name, "role": role,
                                             "property_ids": pids}), 201, "user")
    return stack.login(name, "pass-%s-123" % name)


def test_setup(stack):
    pid = _ok(_admin(stack, "POST", "/v1/properties", {"code": "RCP-1", "name": "阳光 <花园> & Co"}), 201, "p")["id"]
    other = _ok(_admin(stack, "POST", "/v1/properties", {"code": "RCP-2", "name": "别处"}), 201, "p")["id"]
    units = [_ok(_admin(stack, "POST", _p(pid, "units"), {"code": "R-%02d" % i, "area_m2": 80, "use": "residential"}),
                 201, "unit")["id"] for i in range(1, 7)]
    foreign = _ok(_admin(stack, "POST", _p(other, "units"), {"code": "X-01", "area_m2": 80, "use": "residential"}),
                  201, "unit")["id"]
    party = _ok(_admin(stack, "POST", _p(pid, "parties"), {"kind": "person", "name": HOSTILE}), 201, "party")["id"]
    tenant = _ok(_admin(stack, "POST", _p(pid, "parties"), {"kind": "person", "name": "李四"}), 201, "party")["id"]
    _ok(_admin(stack, "POST", _p(pid, "units/%s/occupancies" % units[0]),
               {"party_id": tenant, "role": "tenant", "start_date": "2020-01-01"}), 201, "occupancy")
    _ok(_admin(stack, "POST", _p(pid, "units/%s/occupancies" % units[0]),
               {"party_id": party, "role": "owner", "start_date": "2020-01-01"}), 201, "occupancy")
    _wait(stack, "SELECT count(*) FROM billing.units WHERE property_id IN ('%s', '%s')" % (pid, other), "7", "units")
    _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE unit_id = '%s'" % units[0], "2", "occupancies")
    tokens = {role: _user(stack, "rcp-" + role, role, [pid]) for role in ("manager", "agent", "technician")}
    tokens["other_manager"] = _user(stack, "rcp-other", "manager", [other])
    key = _ok(_admin(stack, "POST", "/v1/api-keys", {"name": "rcp feed", "role": "integration",
                                                      "property_ids": [pid]}), 201, "key")["key"]
    tokens["integration"] = key
    STATE.update(pid=pid, other=other, units=units, foreign=foreign, tokens=tokens)


def test_number_in_json_list_and_event(stack):
    pid, uid = STATE["pid"], STATE["units"][0]
    bill = _ok(_admin(stack, "POST", _p(pid, "charges"),
                      {"unit_id": uid, "amount": 123000, "reason": "维修费 <b>门锁</b>", "due_date": "2026-01-15"}),
               201, "charge")
    p = _pay(stack, pid, uid, 123456, method="wechat", ref="RCP-WX-1")
    m = NUMBER.match(p["receipt_number"])
    assert m and m.group(2) == "000001", p
    year = m.group(1)
    got = _ok(_admin(stack, "GET", _p(pid, "payments/%s" % p["id"])), 200, "get")
    assert got["receipt_number"] == p["receipt_number"], got
    items = _ok(_admin(stack, "GET", _p(pid, "payments?unit_id=%s" % uid)), 200, "list")["items"]
    assert [i["receipt_number"] for i in items] == [p["receipt_number"]], items
    ev = stack.psql("SELECT data->>'receipt_number' FROM billing.outbox WHERE type = 'payment.received'"
                    " AND data->>'id' = '%s'" % p["id"])
    assert ev == [(p["receipt_number"],)], ev
    STATE.update(year=year, first=p, bill=bill)


def test_failed_payments_burn_no_number(stack):
    pid, uid = STATE["pid"], STATE["units"][1]
    year = STATE["year"]
    before = _numbers(stack, pid, year)
    _error(_admin(stack, "POST", _p(pid, "payments"), {"unit_id": uid, "amount": 0, "method": "cash"}),
           422, "validation_failed", "zero")
    _error(_admin(stack, "POST", _p(pid, "payments"), {"unit_id": STATE["foreign"], "amount": 100, "method": "cash"}),
           422, "validation_failed", "unknown unit")
    _error(_admin(stack, "POST", _p(pid, "payments"),
                  {"unit_id": "00000000-0000-4000-8000-000000000000", "amount": 100, "method": "cash"}),
           422, "validation_failed", "no such unit")
    # the same external_ref again: the first payment, no new number
    again = _pay(stack, pid, STATE["units"][0], 123456, method="wechat", ref="RCP-WX-1", status=200)
    assert again["receipt_number"] == STATE["first"]["receipt_number"], again
    # the same external_ref for another amount: 409, no new number
    _error(_admin(stack, "POST", _p(pid, "payments"),
                  {"unit_id": uid, "amount": 5, "method": "cash", "external_ref": "RCP-WX-1"}), 409, "conflict", "ref")
    assert _numbers(stack, pid, year) == before, "a failed payment took a number"
    nxt = _pay(stack, pid, uid, 500)
    assert nxt["receipt_number"] == "SJ-%s-%06d" % (year, len(before) + 1), nxt


def test_concurrent_payments_are_gapless(stack):
    """Parallel writers on two billing workers, some of their payments
    refused (a unit of another property) or duplicates: the numbers of the
    year are exactly 1..N, one per payment, whichever worker took them."""
    pid, year = STATE["pid"], STATE["year"]
    units = STATE["units"]
    errors = []

    def writer(k):
        try:
            for i in range(6):
                j = i % 5                    # the sixth repeats the first: 200, no new number
                body = {"unit_id": units[(k + j) % len(units)], "amount": 100 + k * 10 + j, "method": "cash",
                        "external_ref": "RCP-C-%d-%d" % (k, j)}
                r = stack.http("POST", _p(pid, "payments"), body=body, token=stack.admin_token)
                if r.status not in (200, 201):
                    errors.append("writer %d payment %d: %r" % (k, i, r))
                bad = {"unit_id": STATE["foreign"], "amount": 100, "method": "cash"}
                r = stack.http("POST", _p(pid, "payments"), body=bad, token=stack.admin_token)
                if r.status != 422:
                    errors.append("writer %d bad payment %d: %r" % (k, i, r))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("writer %d: %r" % (k, e))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    nums = _numbers(stack, pid, year)
    assert nums == list(range(1, len(nums) + 1)), "gaps or repeats: %s" % nums
    count = int(stack.psql("SELECT count(*) FROM billing.payments WHERE property_id = '%s'" % pid)[0][0])
    assert len(nums) == count, (len(nums), count)
    assert int(stack.psql("SELECT count(*) FROM billing.payments WHERE external_ref LIKE 'RCP-C-%'")[0][0]) == 30
    # both workers served (the broker spreads requests): not asserted, the gaplessness is what counts
    last = stack.psql("SELECT last FROM billing.receipt_counters WHERE property_id = '%s' AND year = %s"
                      % (pid, year))
    assert last == [(str(len(nums)),)], last


def test_year_in_the_property_time_zone(stack):
    """2025-12-31T17:00Z is 2026-01-01 01:00 in Asia/Shanghai: a 2026 receipt;
    15:00Z is still 2025 there. Each year counts from 1, per property."""
    pid, uid = STATE["pid"], STATE["units"][2]
    a = _pay(stack, pid, uid, 100, paid_at="2025-12-31T15:00:00Z")
    b = _pay(stack, pid, uid, 100, paid_at="2025-12-31T17:00:00Z")
    assert a["receipt_number"] == "SJ-2025-000001", a
    assert b["receipt_number"].startswith("SJ-2026-"), b
    c = _pay(stack, pid, uid, 100, paid_at="2025-06-01")
    assert c["receipt_number"] == "SJ-2025-000002", c
    # another property counts on its own
    d = _pay(stack, STATE["other"], STATE["foreign"], 100, paid_at="2025-06-01")
    assert d["receipt_number"] == "SJ-2025-000001", d


def test_import_takes_numbers_in_the_same_sequence(stack):
    pid, year = STATE["pid"], STATE["year"]
    before = _numbers(stack, pid, year)
    csv = ("unit_code,amount,method,external_ref\r\n"
           "R-04,1000,bank_transfer,RCP-IMP-1\r\n"
           "R-05,2000,bank_transfer,RCP-IMP-2\r\n"
           "NOPE,3000,bank_transfer,RCP-IMP-3\r\n"
           "R-04,abc,bank_transfer,RCP-IMP-4\r\n"
           "R-04,1000,bank_transfer,RCP-IMP-1\r\n")
    rep = _ok(_admin(stack, "POST", _p(pid, "imports/payments"), raw=csv, headers={"Content-Type": "text/csv"}),
              200, "import")
    assert (rep["imported"], rep["duplicates"], rep["rejected"]) == (2, 1, 2), rep
    nums = _numbers(stack, pid, year)
    assert nums == list(range(1, len(before) + 3)), nums
    rows = stack.psql("SELECT receipt_number FROM billing.payments WHERE external_ref IN ('RCP-IMP-1', 'RCP-IMP-2')"
                      " ORDER BY receipt_number")
    assert [r[0] for r in rows] == ["SJ-%s-%06d" % (year, len(before) + k) for k in (1, 2)], rows
    for m in rep["reconciliation"]["matched"]:
        got = _ok(_admin(stack, "GET", _p(pid, "payments/%s" % m["payment_id"])), 200, "imported")
        assert NUMBER.match(got["receipt_number"]) and got["source"] == "import", got


def test_the_printable_receipt(stack):
    pid, p = STATE["pid"], STATE["first"]
    r = _receipt(stack, pid, p["id"])
    page = _ok(r, 200, "receipt")
    assert r.headers["content-type"] == "text/html; charset=utf-8", r.headers
    assert r.headers["content-disposition"] == 'inline; filename="%s.html"' % p["receipt_number"], r.headers
    assert r.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'", r.headers
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store", r.headers
    for want in (p["receipt_number"], "R-01", "¥1,234.56", "壹仟贰佰叁拾肆元伍角陆分", "微信支付", "RCP-WX-1",
                 "阳光 &lt;花园&gt; &amp; Co", "size:A5", "¥1,230.00", "¥4.56", "预存款"):
        assert want in page, "the receipt lacks %r:\n%s" % (want, page)
    # the hostile payer (owner first, then the tenant) and the bill's reason: escaped, never markup
    assert "&lt;script&gt;alert(&#39;张&#39;)&lt;/script&gt; &amp; &quot;Co&quot;、李四" in page, page
    assert "维修费 &lt;b&gt;门锁&lt;/b&gt;" in page, page
    assert "<script" not in page and "<b>" not in page, page
    assert "作废" not in page, page
    # the cashier by the username the payment was recorded under, not an id
    assert "收款人：%s<" % stack.admin_user in page, page
    thermal = _ok(_receipt(stack, pid, p["id"], query="?layout=thermal"), 200, "thermal")
    assert "size:80mm" in thermal and "size:A5" not in thermal, thermal
    assert "壹仟贰佰叁拾肆元伍角陆分" in thermal
    err = _error(_receipt(stack, pid, p["id"], query="?layout=A4"), 422, "validation_failed", "layout")
    assert err["details"] == [{"field": "layout", "problem": "must be a5 or thermal"}], err


def test_reversed_receipt_is_void_and_keeps_its_number(stack):
    pid, uid = STATE["pid"], STATE["units"][3]
    p = _pay(stack, pid, uid, 1000)
    rev = _ok(_admin(stack, "POST", _p(pid, "payments/%s/reverse" % p["id"]), {"reason": "收错户 <x>"}), 200, "rev")
    assert rev["status"] == "reversed" and rev["receipt_number"] == p["receipt_number"], rev
    ev = stack.psql("SELECT data->>'receipt_number' FROM billing.outbox WHERE type = 'payment.reversed'"
                    " AND data->>'id' = '%s'" % p["id"])
    assert ev == [(p["receipt_number"],)], ev
    page = _ok(_receipt(stack, pid, p["id"]), 200, "void receipt")
    assert "作废" in page and p["receipt_number"] in page and "收错户 &lt;x&gt;" in page, page
    assert "壹拾元整" in page and "¥10.00" in page, page
    # the next payment takes the next number: the void one is not given again
    n = _pay(stack, pid, uid, 200)
    assert int(n["receipt_number"][-6:]) == int(p["receipt_number"][-6:]) + 1, (p, n)


def test_export_carries_the_number(stack):
    pid, p = STATE["pid"], STATE["first"]
    period = stack.psql("SELECT to_char(paid_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') FROM billing.payments"
                        " WHERE id = '%s'" % p["id"])[0][0]
    body = _ok(_admin(stack, "GET", _p(pid, "exports/payments?period=%s&format=json" % period)), 200, "json export")
    mine = [x for x in body["payments"] if x["payment_id"] == p["id"]]
    assert mine and mine[0]["receipt_number"] == p["receipt_number"], mine
    r = _admin(stack, "GET", _p(pid, "exports/payments?period=%s" % period))
    text = _ok(r, 200, "csv export")
    header = text.lstrip("\ufeff").split("\r\n")[0]
    assert header.split(",")[-1] == '"receipt_number"', header
    assert p["receipt_number"] in text


def test_roles_and_other_property(stack):
    pid, p, tk = STATE["pid"], STATE["first"], STATE["tokens"]
    for role in ("manager", "agent", "integration"):
        assert _receipt(stack, pid, p["id"], token=tk[role]).status == 200, role
    _error(_receipt(stack, pid, p["id"], token=tk["technician"]), 403, "forbidden", "technician")
    _error(_receipt(stack, pid, p["id"], token=tk["other_manager"]), 404, "not_found", "another's property")
    # a payment of another property under this property's path: 404
    foreign = stack.psql("SELECT id FROM billing.payments WHERE property_id = '%s' LIMIT 1" % STATE["other"])[0][0]
    _error(_receipt(stack, pid, foreign), 404, "not_found", "another property's payment")
    _error(_receipt(stack, pid, "00000000-0000-4000-8000-000000000000"), 404, "not_found", "no such payment")
    _error(_receipt(stack, pid, "not-a-uuid"), 404, "not_found", "not a uuid")
    r = stack.http("GET", _p(pid, "payments/%s/receipt" % p["id"]))
    assert r.status == 401, r
