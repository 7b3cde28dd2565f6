"""test_billing_overdue: the daily job after downtime and bill.overdue.

- late fees (滞纳金) for days the service was down: the job assesses every day
  after the property's last assessed day, each (bill, day) once, however
  often it runs;
- bill.overdue: once per bill that passes its due date unpaid (periodic,
  charge, deposit; not late fees, not paid bills), data = bill.issued's plus
  amount_due and days_overdue;
- late fee bills raise bill.issued like every bill.

The service runs with PM_TEST_CLOCK=1: the job's "today" is moved with
UPDATE billing.test_clock (tests only) instead of waiting for days; the
job ticks every 200 ms. Tests run in file order and share STATE.
"""

import json
import time

from api import ok as _ok

STACK = dict(env={"PM_TEST_CLOCK": "1", "PM_LATE_FEE_TICK_MS": "200"})

STATE = {}
DAY = 86400


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


def _day(stack, n):
    """Today in the property's time zone (real clock) plus n days, as text."""
    return stack.psql("SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date + %d)::text" % n)[0][0]


def _charge(stack, pid, uid, amount, due):
    return _ok(_admin(stack, "POST", "/v1/properties/%s/charges" % pid,
                      {"unit_id": uid, "amount": amount, "reason": "物业费 fee", "due_date": due}), 201, "charge")


def _assessed_days(stack, bill):
    return [r[0] for r in stack.psql("SELECT day::text FROM billing.late_fee_assessments WHERE bill_id = '%s'"
                                     " ORDER BY day" % bill)]


def _overdue_events(stack, pid):
    return [json.loads(r[0]) for r in stack.psql(
        "SELECT data::text FROM billing.outbox WHERE type = 'bill.overdue' AND property_id = '%s' ORDER BY seq" % pid)]


def test_setup(stack):
    pid = _ok(_admin(stack, "POST", "/v1/properties", {"code": "OD-1", "name": "催缴测试"}), 201, "property")["id"]
    units = [_ok(_admin(stack, "POST", "/v1/properties/%s/units" % pid,
                        {"code": "O-%02d" % i, "area_m2": 90, "use": "residential"}), 201, "unit")["id"]
             for i in range(1, 5)]
    party = _ok(_admin(stack, "POST", "/v1/properties/%s/parties" % pid,
                       {"kind": "person", "name": "李四", "phone": "13912345678"}), 201, "party")["id"]
    _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (pid, units[0]),
               {"party_id": party, "role": "owner", "start_date": "2025-01-01"}), 201, "occupancy")
    _wait(stack, "SELECT count(*) FROM billing.units WHERE property_id = '%s'" % pid, "4")
    _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE property_id = '%s'" % pid, "1")
    # 5 bps a day, no grace, cap 100% (the cap has test_billing_reports.py)
    stack.psql("UPDATE billing.property_settings SET late_fee_bps_per_day = 5, late_fee_grace_days = 0,"
               " late_fee_cap_bps = 10000 WHERE property_id = '%s'" % pid)
    # the job has done today for the property (a property never assessed starts today)
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "1")
    assert stack.psql("SELECT day::text FROM billing.late_fee_days WHERE property_id = '%s'" % pid)[0][0] == \
        _day(stack, 0)
    STATE.update(pid=pid, units=units, party=party)


def test_catch_up_after_downtime_and_overdue_once(stack):
    pid, u = STATE["pid"], STATE["units"]
    a = _charge(stack, pid, u[0], 100000, _day(stack, 0))["id"]     # overdue from tomorrow: 50 fen a day
    b = _charge(stack, pid, u[1], 20000, _day(stack, 1))["id"]      # from the day after: 10 fen a day
    c = _charge(stack, pid, u[2], 30000, _day(stack, 0))["id"]      # paid at once: no fee, no notice
    _ok(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
               {"unit_id": u[2], "amount": 30000, "method": "cash"}), 201, "pay c")
    d = _ok(_admin(stack, "POST", "/v1/properties/%s/deposits" % pid,
                   {"unit_id": u[3], "amount": 50000}), 201, "deposit")["bill_id"]
    assert _overdue_events(stack, pid) == []
    # the service "was down" three days: the clock jumps, the job catches up day by day
    stack.psql("UPDATE billing.test_clock SET offset_seconds = %d" % (3 * DAY))
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "4")
    days = [r[0] for r in stack.psql("SELECT day::text FROM billing.late_fee_days WHERE property_id = '%s'"
                                     " ORDER BY day" % pid)]
    assert days == [_day(stack, i) for i in range(4)], days
    assert _assessed_days(stack, a) == [_day(stack, i) for i in (1, 2, 3)], _assessed_days(stack, a)
    assert _assessed_days(stack, b) == [_day(stack, i) for i in (2, 3)], _assessed_days(stack, b)
    assert _assessed_days(stack, c) == [] and _assessed_days(stack, d) == []
    fees = stack.psql("SELECT a.bill_id, f.amount, f.due_date::text, f.kind FROM billing.late_fee_assessments a"
                      " JOIN billing.bills f ON f.id = a.fee_bill_id WHERE a.property_id = '%s'"
                      " ORDER BY f.due_date, f.amount" % pid)
    assert [(x[0], int(x[1]), x[2]) for x in fees] == [
        (a, 50, _day(stack, 1)), (b, 10, _day(stack, 2)), (a, 50, _day(stack, 2)),
        (b, 10, _day(stack, 3)), (a, 50, _day(stack, 3))], fees
    # bill.overdue: a (day 1), d the deposit (day 1), b (day 2); once each, nothing for c
    ev = _overdue_events(stack, pid)
    assert sorted(e["bill_id"] for e in ev) == sorted([a, b, d]), ev
    by = {e["bill_id"]: e for e in ev}
    assert by[a]["amount_due"] == 100000 and by[a]["days_overdue"] == 1, by[a]
    assert by[b]["amount_due"] == 20000 and by[b]["days_overdue"] == 1, by[b]
    assert by[d]["kind"] == "deposit" and by[d]["amount_due"] == 50000, by[d]
    keys = {"bill_id", "unit_id", "unit_code", "parking_lease_id", "bill_to_party_id", "period", "amount",
            "currency", "due_date", "run_id", "kind", "description", "amount_due", "days_overdue"}
    assert all(set(e) == keys for e in ev), ev
    assert by[a]["unit_code"] == "O-01" and by[a]["bill_to_party_id"] == STATE["party"], by[a]
    assert by[a]["due_date"] == _day(stack, 0) and by[a]["amount"] == 100000 and by[a]["currency"] == "CNY"
    STATE.update(a=a, b=b, c=c, d=d)


def test_catch_up_again_charges_nothing_twice(stack):
    """Days done again (a crash after the fees, a second worker, a clock put
    back): each (bill, day) counts once and each notice is raised once."""
    pid, a, b = STATE["pid"], STATE["a"], STATE["b"]
    fees = _count(stack, "SELECT count(*) FROM billing.bills WHERE property_id = '%s' AND kind = 'late_fee'" % pid)
    stack.psql("DELETE FROM billing.late_fee_days WHERE property_id = '%s' AND day > '%s'" % (pid, _day(stack, 1)))
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "4")
    assert _count(stack, "SELECT count(*) FROM billing.bills WHERE property_id = '%s' AND kind = 'late_fee'"
                  % pid) == fees == 5
    assert len(_assessed_days(stack, a)) == 3 and len(_assessed_days(stack, b)) == 2
    assert len(_overdue_events(stack, pid)) == 3
    # one more day: one more fee per unpaid bill, no new notice
    stack.psql("UPDATE billing.test_clock SET offset_seconds = %d" % (4 * DAY))
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "5")
    assert _assessed_days(stack, a)[-1] == _day(stack, 4) and _assessed_days(stack, b)[-1] == _day(stack, 4)
    assert len(_overdue_events(stack, pid)) == 3


def test_late_fee_bills_are_issued_and_a_paid_bill_is_not_overdue(stack):
    pid, u = STATE["pid"], STATE["units"]
    # every bill of the property (charges, deposit, late fees) raised bill.issued once
    rows = stack.psql("SELECT b.kind, count(o.seq) FROM billing.bills b LEFT JOIN billing.outbox o"
                      " ON o.type = 'bill.issued' AND o.data->>'bill_id' = b.id::text"
                      " WHERE b.property_id = '%s' GROUP BY b.id, b.kind" % pid)
    assert all(n == "1" for _, n in rows), rows
    assert sum(1 for k, _ in rows if k == "late_fee") == 7, rows
    fee = json.loads(stack.psql("SELECT data::text FROM billing.outbox WHERE type = 'bill.issued'"
                                " AND data->>'kind' = 'late_fee' AND property_id = '%s' LIMIT 1" % pid)[0][0])
    assert fee["run_id"] is None and fee["amount"] in (10, 50) and fee["description"].startswith("滞纳金"), fee
    # a late fee bill is due the day it is assessed and is never itself "overdue"
    stack.psql("UPDATE billing.test_clock SET offset_seconds = %d" % (6 * DAY))
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "7")
    assert {e["kind"] for e in _overdue_events(stack, pid)} == {"charge", "deposit"}
    # paid before its due date passes: no notice, ever
    e = _charge(stack, pid, u[2], 1000, _day(stack, 6))["id"]
    _ok(_admin(stack, "POST", "/v1/properties/%s/payments" % pid,
               {"unit_id": u[2], "amount": 1000, "method": "wechat"}), 201, "pay e")
    stack.psql("UPDATE billing.test_clock SET offset_seconds = %d" % (8 * DAY))
    _wait(stack, "SELECT count(*) FROM billing.late_fee_days WHERE property_id = '%s'" % pid, "9")
    assert e not in {x["bill_id"] for x in _overdue_events(stack, pid)}
    assert _count(stack, "SELECT count(*) FROM billing.bill_overdue_notices WHERE property_id = '%s'" % pid) == 3


def test_clock_back(stack):
    stack.psql("UPDATE billing.test_clock SET offset_seconds = 0")
    assert _count(stack, "SELECT offset_seconds FROM billing.test_clock") == 0
