"""test_billing_reports: late fees (滞纳金: the daily job's grace, rate, cap and
half-up rounding, once per bill and day, the manager's waiver) and the reports
(collection rate, arrears by age, the dunning list with masked contacts).

The job ticks every 200 ms here; "today" is the property's (Asia/Shanghai).
Tests run in file order and share STATE.
"""

import time

from api import ok as _ok, error as _error

STACK = dict(env={"PM_LATE_FEE_TICK_MS": "200"})

STATE = {}


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _count(stack, sql):
    return int(stack.psql(sql)[0][0])


def _wait(stack, sql, want, timeout=15):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = stack.psql(sql)[0][0]
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("%s: still %r, wanted %r" % (sql, got, want))


def _days_ago(stack, n):
    return stack.psql("SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date - %d)::text" % n)[0][0]


def _charge(stack, pid, uid, amount, due):
    return _ok(_admin(stack, "POST", "/v1/properties/%s/charges" % pid,
                      {"unit_id": uid, "amount": amount, "reason": "物业费", "due_date": due}), 201, "charge")


def _fees(stack, uid):
    return [(int(a), s) for a, s in stack.psql(
        "SELECT bb.amount, bb.status FROM billing.bill_balances bb WHERE bb.unit_id = '%s'"
        " AND bb.kind = 'late_fee' ORDER BY bb.amount" % uid)]


def test_setup(stack):
    pid = _ok(_admin(stack, "POST", "/v1/properties", {"code": "LF-1", "name": "滞纳金测试"}), 201, "property")["id"]
    units = [_ok(_admin(stack, "POST", "/v1/properties/%s/units" % pid,
                        {"code": "L-%02d" % i, "area_m2": 100, "use": "residential"}), 201, "unit")["id"]
             for i in range(1, 6)]
    party = _ok(_admin(stack, "POST", "/v1/properties/%s/parties" % pid,
                       {"kind": "person", "name": "张三", "phone": "13812345678"}), 201, "party")["id"]
    _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (pid, units[0]),
               {"party_id": party, "role": "owner", "start_date": "2025-01-01"}), 201, "occupancy")
    _wait(stack, "SELECT count(*) FROM billing.units WHERE property_id = '%s'" % pid, "5")
    _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE property_id = '%s'" % pid, "1")
    # 5 bps a day, 3 days' grace, at most 1% (100 bps) of a bill in all
    stack.psql("UPDATE billing.property_settings SET late_fee_bps_per_day = 5, late_fee_grace_days = 3,"
               " late_fee_cap_bps = 100 WHERE property_id = '%s'" % pid)
    STATE.update(pid=pid, units=units)


def test_late_fees_grace_rate_cap_rounding(stack):
    pid, u = STATE["pid"], STATE["units"]
    a = _charge(stack, pid, u[0], 100000, _days_ago(stack, 10))["id"]    # 50 fen a day
    _charge(stack, pid, u[1], 100001, _days_ago(stack, 3))              # in its grace: nothing
    c = _charge(stack, pid, u[2], 11000, _days_ago(stack, 40))["id"]
    _ok(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
               {"unit_id": u[2], "amount": 2000, "method": "cash"}), 201, "partial")  # 9000 overdue: 4.5 -> 5
    _charge(stack, pid, u[3], 1000, _days_ago(stack, 200))               # 0.5 -> 1, capped at 1% = 10
    # the job may have done today for this property before the bills existed: do it again
    stack.psql("DELETE FROM billing.late_fee_days WHERE property_id = '%s'" % pid)
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "1")
    assert _fees(stack, u[0]) == [(50, "unpaid")], _fees(stack, u[0])
    assert _fees(stack, u[1]) == [], _fees(stack, u[1])
    assert _fees(stack, u[2]) == [(5, "unpaid")], _fees(stack, u[2])
    assert _fees(stack, u[3]) == [(1, "unpaid")], _fees(stack, u[3])
    # a second pass the same day charges nothing more, however often it runs
    stack.psql("DELETE FROM billing.late_fee_days WHERE property_id = '%s'" % pid)
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "1")
    assert _count(stack, "SELECT count(*) FROM billing.bills WHERE property_id = '%s' AND kind = 'late_fee'"
                  % pid) == 3
    # the cap: 990 of the 1000 allowed for bill a already assessed on earlier days -> 10 today
    # (today's fee of a becomes an "earlier day's" of 990, in one transaction the job cannot split)
    fee = stack.psql("SELECT id FROM billing.bills WHERE source = 'late_fee' AND source_ref LIKE '%s:%%'" % a)[0][0]
    stack.psql("BEGIN; DELETE FROM billing.late_fee_assessments WHERE bill_id = '%s';"
               " UPDATE billing.bills SET source_ref = 'old' WHERE id = '%s';"
               " INSERT INTO billing.late_fee_assessments (bill_id, day, property_id, fee_bill_id, amount)"
               " VALUES ('%s', '2026-01-01', '%s', '%s', 990);"
               " DELETE FROM billing.late_fee_days WHERE property_id = '%s'; COMMIT" % (a, fee, a, pid, fee, pid))
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "1")
    assert _fees(stack, u[0]) == [(10, "unpaid"), (50, "unpaid")], _fees(stack, u[0])
    assert _count(stack, "SELECT count(*) FROM billing.late_fee_assessments WHERE bill_id = '%s'" % c) == 1
    STATE["fee"] = fee


def test_waive_a_late_fee(stack):
    pid, u = STATE["pid"], STATE["units"]
    fee = STATE["fee"]
    path = "/v1/properties/%s/late-fees/%s/waive" % (pid, fee)
    _error(_admin(stack, "POST", path, {}), 422, "validation_failed", "no reason")
    # paid first: the waiver gives the money back as credit
    _ok(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
               {"unit_id": u[0], "amount": 100060, "method": "wechat"}), 201, "pay all")
    assert _fees(stack, u[0]) == [(10, "paid"), (50, "paid")]
    r = _ok(_admin(stack, "POST", path, {"reason": "首次逾期 first time, waived"}), 200, "waive")
    assert r["status"] == "void" and r["balance"] == 0 and r["kind"] == "late_fee", r
    assert _count(stack, "SELECT billing.unit_credit('%s', '%s')" % (pid, u[0])) == 50
    _error(_admin(stack, "POST", path, {"reason": "again"}), 409, "invalid_transition", "twice")
    bill = stack.psql("SELECT id FROM billing.bills WHERE unit_id = '%s' AND kind = 'charge'" % u[0])[0][0]
    _error(_admin(stack, "POST", "/v1/properties/%s/late-fees/%s/waive" % (pid, bill), {"reason": "x"}),
           404, "not_found", "not a late fee")


def test_collection_report(stack):
    pid, u = STATE["pid"], STATE["units"]
    period = stack.psql("SELECT to_char((now() AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM')")[0][0]
    for bad in ("2026-13", "2026-1", "x", ""):
        _error(_admin(stack, "GET", "/v1/properties/%s/reports/collection?period=%s" % (pid, bad)),
               422, "validation_failed", "period %r" % bad)
    # an empty period: nothing billed, no rate
    r = _ok(_admin(stack, "GET", "/v1/properties/%s/reports/collection?period=2001-01" % pid), 200, "empty")
    assert r["billed"] == 0 and r["collection_rate"] is None and r["collection_rate_bps"] is None, r
    # Worked out by hand from what the tests above did. A bill's period is the month of its
    # due date; a late fee is due the day it is assessed (today). (due days ago, amount, paid):
    #   L-01: charge 100000 (10 days ago) + fee 10, both paid by the 100060; fee 50 waived (void)
    #   L-02: charge 100001 (3 days ago), unpaid, in its grace: no fee
    #   L-03: charge 11000 (40 days ago), 2000 paid; fee 5, unpaid
    #   L-04: charge 1000 (200 days ago), unpaid; fee 1, unpaid
    ledger = [(10, 100000, 100000), (0, 10, 10), (3, 100001, 0), (40, 11000, 2000), (0, 5, 0),
              (200, 1000, 0), (0, 1, 0)]
    want = {}
    for ago, amount, paid in ledger:
        w = want.setdefault(_days_ago(stack, ago)[:7], [0, 0, 0])
        w[0], w[1], w[2] = w[0] + 1, w[1] + amount, w[2] + paid
    assert sum(w[1] for w in want.values()) == 212017 and sum(w[2] for w in want.values()) == 102010, want
    received = 2000 + 100060                     # both payments were made today, none reversed
    for month, (bills, billed, collected) in sorted(want.items()):
        r = _ok(_admin(stack, "GET", "/v1/properties/%s/reports/collection?period=%s" % (pid, month)),
                200, "report " + month)
        assert (r["bills"], r["billed"], r["collected"]) == (bills, billed, collected), (month, r, want)
        assert r["outstanding"] == billed - collected, (month, r)
        bps = (collected * 10000 * 2 + billed) // (billed * 2)   # half up, in basis points
        assert r["collection_rate_bps"] == bps and r["collection_rate"] == "%d.%04d" % (bps // 10000, bps % 10000), r
        assert r["received"] == (received if month == period else 0), (month, r)
    # arrears by age, today: L-02's 100001 (3 days), L-03's 9000 (40), L-04's 1000 (200);
    # the fees, due today, are not overdue yet
    r = _ok(_admin(stack, "GET", "/v1/properties/%s/reports/collection?period=%s" % (pid, period)), 200, "report")
    assert r["arrears_by_age"] == {"0_30": 100001, "31_90": 9000, "91_180": 0, "over_180": 1000}, r
    assert r["arrears_total"] == 110001, r
    # integration keys read their properties' reports
    key = _ok(_admin(stack, "POST", "/v1/api-keys", {"name": "erp", "role": "integration", "property_ids": [pid]}),
              201, "key")["key"]
    _ok(stack.http("GET", "/v1/properties/%s/reports/collection?period=%s" % (pid, period), token=key), 200, "key")


def test_dunning_list_oldest_first_and_masked(stack):
    pid, u = STATE["pid"], STATE["units"]
    # u[0] owes nothing now; make it overdue again with an old bill, for the contacts
    _charge(stack, pid, u[0], 30000, _days_ago(stack, 100))
    r = _ok(_admin(stack, "GET", "/v1/properties/%s/reports/arrears" % pid), 200, "arrears")
    items = r["items"]
    dates = [i["oldest_due_date"] for i in items]
    assert dates == sorted(dates), dates
    assert items[0]["unit_id"] == u[3] and items[0]["days_overdue"] == 200, items[0]
    owner = [i for i in items if i["unit_id"] == u[0]][0]
    assert owner["contacts"][0]["name"] == "张三" and owner["contacts"][0]["phones"] == ["13812345678"], owner
    # in arrears from the day after its due date, even within the late fee's grace
    assert [i["days_overdue"] for i in items if i["unit_id"] == u[1]] == [3], items
    # an agent sees the phone masked
    _ok(_admin(stack, "POST", "/v1/users", {"username": "lf-agent", "password": "pass-lf-agent-1",
                                             "role": "agent", "property_ids": [pid]}), 201, "agent")
    agent = stack.login("lf-agent", "pass-lf-agent-1")
    r = _ok(stack.http("GET", "/v1/properties/%s/reports/arrears" % pid, token=agent), 200, "agent arrears")
    owner = [i for i in r["items"] if i["unit_id"] == u[0]][0]
    assert owner["contacts"][0]["phones"] == ["138****5678"], owner
    # pages
    r1 = _ok(_admin(stack, "GET", "/v1/properties/%s/reports/arrears?limit=1" % pid), 200, "page 1")
    assert len(r1["items"]) == 1 and r1["next_cursor"], r1
    r2 = _ok(_admin(stack, "GET", "/v1/properties/%s/reports/arrears?limit=1&cursor=%s" % (pid, r1["next_cursor"])),
             200, "page 2")
    assert r2["items"][0]["unit_id"] != r1["items"][0]["unit_id"], (r1, r2)
    _error(_admin(stack, "GET", "/v1/properties/%s/reports/arrears?cursor=bad" % pid), 422,
           "validation_failed", "bad cursor")
