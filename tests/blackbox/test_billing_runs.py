"""test_billing_runs: billing's copy of the archive, fee items, bill runs with
proration and the re-run, the read side (API.md, "Billing").

The archive is created through tenants' HTTP API; billing learns it from
tenants' events (its consumer), and the tests wait (bounded) until billing's
copy has it. Expected amounts are computed here, independently, with exact
fractions and half-up rounding.

The tests run in file order and share what they create.
"""

import calendar
import datetime
import secrets
import time
from fractions import Fraction

from api import ok as _ok, error as _error, fields as _fields

STATE = {}


def _p(pid, rest=""):
    return "/v1/properties/%s%s" % (pid, rest)


def _admin(stack, method, path, body=None, headers=None):
    return stack.http(method, path, body=body, token=stack.admin_token, headers=headers)


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=STATE["tokens"][who])


def _half_up(x):
    """round half-up of a non-negative Fraction"""
    return int((x * 2 + 1) // 2)


def _days(start, end, y, m):
    """days of [start, end] (ISO dates, end None = open) inside month y-m"""
    ps = datetime.date(y, m, 1)
    pe = datetime.date(y, m, calendar.monthrange(y, m)[1])
    a = max(datetime.date.fromisoformat(start), ps)
    b = min(datetime.date.fromisoformat(end), pe) if end else pe
    return max((b - a).days + 1, 0)


def _wait(stack, sql, want, what, timeout=20.0):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = stack.psql(sql)[0][0]
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("%s: billing's copy has %r, wanted %r" % (what, got, want))


# ---------------------------------------------------------------- set-up
def test_setup_archive(stack):
    tag = secrets.token_hex(3)
    p1 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "BL-%s" % tag, "name": "华润中心"}), 201, "P1")["id"]
    p2 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "BX-%s" % tag, "name": "其他小区"}), 201, "P2")["id"]
    STATE.update(p1=p1, p2=p2, tokens={})
    for role in ("manager", "agent", "technician"):
        name, pw = "%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(12)
        _ok(_admin(stack, "POST", "/v1/users", {"username": name, "password": pw, "role": role,
                                                "property_ids": [p1]}), 201, "user " + role)
        STATE["tokens"][role] = stack.login(name, pw)

    units = {"A": ("88.88", "residential"), "B": ("120.50", "residential"), "C": ("200.00", "office"),
             "D": ("50.00", "residential"), "E": ("10.01", "residential"), "G": ("70.00", "residential")}
    STATE["units"] = {}
    for code, (area, use) in units.items():
        u = _ok(_admin(stack, "POST", _p(p1, "/units"), {"code": code, "building": "1", "floor": "3",
                                                         "area_m2": float(area), "use": use}), 201, "unit " + code)
        STATE["units"][code] = {"id": u["id"], "area": Fraction(area), "use": use}
    STATE["parties"] = {}
    for key, kind, name in (("O1", "person", "王芳"), ("T1", "company", "深圳市某某科技有限公司"), ("X", "person", "李雷")):
        STATE["parties"][key] = _ok(_admin(stack, "POST", _p(p1, "/parties"),
                                           {"kind": kind, "name": name, "phone": "13800138000"}),
                                    201, "party " + name)["id"]
    pa = STATE["parties"]
    # (unit, party, role, start, end)
    occ = [("A", "O1", "owner", "2025-01-01", None), ("B", "T1", "tenant", "2026-03-16", None),
           ("C", "O1", "owner", "2025-01-01", None), ("C", "T1", "tenant", "2025-06-01", None),
           ("E", "X", "owner", "2025-01-01", None),
           # overlapping partial occupancies: March is days 1-10 and 5-20, 20 days (not 26)
           ("G", "O1", "owner", "2025-01-01", "2026-03-10"), ("G", "T1", "tenant", "2026-03-05", "2026-03-20")]
    STATE["occ"] = []
    for unit, party, role, start, end in occ:
        o = _ok(_admin(stack, "POST", _p(p1, "/units/%s/occupancies" % STATE["units"][unit]["id"]),
                       {"party_id": pa[party], "role": role, "start_date": start}), 201, "move in %s" % unit)
        STATE["occ"].append({"unit": unit, "party": party, "role": role, "start": start, "end": end, "id": o["id"]})
        if end:
            _ok(_admin(stack, "POST", _p(p1, "/occupancies/%s/end" % o["id"]), {"end_date": end}), 200,
                "move out %s" % unit)
    s1 = _ok(_admin(stack, "POST", _p(p1, "/parking-spaces"), {"code": "B1-001", "zone": "B1"}), 201, "space")["id"]
    s2 = _ok(_admin(stack, "POST", _p(p1, "/parking-spaces"), {"code": "B1-002", "zone": "B1"}), 201, "space")["id"]
    STATE["leases"] = [
        {"unit": "A", "party": "X", "start": "2026-03-10", "end": None, "fee": 30000, "code": "B1-001"},
        {"unit": None, "party": "X", "start": "2026-01-01", "end": None, "fee": 25000, "code": "B1-002"}]
    for lease, space in zip(STATE["leases"], (s1, s2)):
        body = {"space_id": space, "party_id": pa[lease["party"]], "start_date": lease["start"],
                "monthly_fee": lease["fee"]}
        if lease["unit"]:
            body["unit_id"] = STATE["units"][lease["unit"]]["id"]
        lease["id"] = _ok(_admin(stack, "POST", _p(p1, "/parking-leases"), body), 201, "lease")["id"]

    _wait(stack, "SELECT count(*) FROM billing.units WHERE property_id = '%s'" % p1, "6", "units")
    _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE property_id = '%s'" % p1, "7", "occupancies")
    _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE property_id = '%s' AND end_date IS NOT NULL" % p1,
          "2", "move-outs")
    _wait(stack, "SELECT count(*) FROM billing.parking_leases WHERE property_id = '%s'" % p1, "2", "leases")
    _wait(stack, "SELECT count(*) FROM billing.parties WHERE property_id = '%s'" % p1, "3", "parties")
    rows = stack.psql("SELECT area_m2, use FROM billing.units WHERE unit_id = '%s'" % STATE["units"]["A"]["id"])
    assert rows == [("88.88", "residential")], "area copied exactly: %r" % rows
    _wait(stack, "SELECT count(*) FROM billing.property_settings WHERE property_id IN ('%s','%s')" % (p1, p2),
          "2", "settings rows on first sight")


def test_settings(stack):
    p1 = STATE["p1"]
    s = _ok(_as(stack, "manager", "GET", _p(p1, "/billing-settings")), 200, "settings")
    assert s["due_day"] == 15 and s["timezone"] == "Asia/Shanghai", s
    for k in ("late_fee_bps_per_day", "late_fee_grace_days", "late_fee_cap_bps"):
        assert isinstance(s[k], int), s
    err = _error(_as(stack, "manager", "PUT", _p(p1, "/billing-settings"), {"due_day": 32, "late_fee_cap_bps": -1}),
                 422, "validation_failed", "bad settings")
    assert {"due_day", "late_fee_cap_bps"} <= _fields(err), err
    _error(_as(stack, "agent", "PUT", _p(p1, "/billing-settings"), {"due_day": 10}), 403, "forbidden", "agent")
    _error(_as(stack, "manager", "GET", _p(STATE["p2"], "/billing-settings")), 404, "not_found", "other property")


# ---------------------------------------------------------------- fee items
def test_fee_items(stack):
    p1 = STATE["p1"]
    items = [("MGMT", "物业管理费", "per_area", 350, ["residential"]),
             ("OFFICE", "写字楼管理费", "per_area", 1234, ["office"]),
             ("GARB", "垃圾清运费", "fixed", 1500, ["residential", "office"]),
             ("PARK", "车位管理费", "parking", 0, [])]
    STATE["fees"] = {}
    for code, name, basis, price, uses in items:
        f = _ok(_as(stack, "manager", "POST", _p(p1, "/fee-items"),
                    {"code": code, "name": name, "basis": basis, "unit_price": price, "applies_to": uses,
                     "effective_from": "2026-01-01"}), 201, "fee item " + code)
        assert f["code"] == code and f["unit_price"] == price and f["basis"] == basis, f
        assert f["effective_from"] == "2026-01-01" and f["effective_to"] is None, f
        assert sorted(f["applies_to"]) == sorted(uses) and f["currency"] == "CNY", f
        STATE["fees"][code] = {"name": name, "basis": basis, "price": price, "uses": uses}
    # default effective_from: the first day of the current month
    f = _ok(_as(stack, "manager", "POST", _p(p1, "/fee-items"),
                {"code": "TEMP", "name": "临时", "basis": "fixed", "unit_price": 1, "applies_to": ["storage"]}),
            201, "default date")
    assert f["effective_from"].endswith("-01"), f

    bad = [({"code": "X", "name": "x", "basis": "weird", "unit_price": 1, "applies_to": ["office"]}, "basis"),
           ({"code": "X", "name": "x", "basis": "fixed", "unit_price": 1, "applies_to": ["castle"]}, "applies_to"),
           ({"code": "X", "name": "x", "basis": "fixed", "unit_price": -1, "applies_to": ["office"]}, "unit_price"),
           ({"code": "X", "name": "x", "basis": "fixed", "unit_price": 1.5, "applies_to": ["office"]}, "unit_price"),
           ({"code": "X", "name": "x", "basis": "fixed", "unit_price": "100", "applies_to": ["office"]}, "unit_price"),
           ({"code": "X", "name": "x", "basis": "fixed", "unit_price": 1, "applies_to": ["office"],
             "effective_from": "2026-02-30"}, "effective_from"),
           ({"name": "x", "basis": "fixed", "unit_price": 1, "applies_to": ["office"]}, "code")]
    for body, field in bad:
        err = _error(_as(stack, "manager", "POST", _p(p1, "/fee-items"), body), 422, "validation_failed",
                     "bad %s" % field)
        assert field in _fields(err), (field, err)
    _error(_as(stack, "manager", "POST", _p(p1, "/fee-items"),
               {"code": "MGMT", "name": "x", "basis": "per_area", "unit_price": 1, "applies_to": ["office"],
                "effective_from": "2026-01-01"}), 409, "conflict", "same code and date")
    _error(_as(stack, "manager", "POST", _p(p1, "/fee-items"),
               {"code": "MGMT", "name": "x", "basis": "per_area", "unit_price": 1, "applies_to": ["office"],
                "effective_from": "2025-06-01"}), 409, "conflict", "earlier date")
    _error(_as(stack, "agent", "POST", _p(p1, "/fee-items"),
               {"code": "Z", "name": "x", "basis": "fixed", "unit_price": 1, "applies_to": ["office"]}),
           403, "forbidden", "agent creates a fee item")
    lst = _ok(_as(stack, "agent", "GET", _p(p1, "/fee-items?active_on=2026-03-01")), 200, "list")
    assert {i["code"] for i in lst["items"]} >= {"MGMT", "OFFICE", "GARB", "PARK"}, lst
    _error(_as(stack, "agent", "GET", _p(p1, "/fee-items?active_on=soon")), 422, "validation_failed", "bad date")


# ---------------------------------------------------------------- expectations
def _expected(y, m, prices):
    """{key: {"bill_to", "lines": sorted [(basis, amount, days)]}} for period y-m; key = unit code or lease space"""
    D = calendar.monthrange(y, m)[1]
    out = {}
    occupied = {}
    for o in STATE["occ"]:
        d = _days(o["start"], o["end"], y, m)
        if d:
            occupied.setdefault(o["unit"], []).append(o)
    for code, occs in occupied.items():
        # union of the covered days
        days = set()
        for o in occs:
            s = max(datetime.date.fromisoformat(o["start"]), datetime.date(y, m, 1))
            e = datetime.date(y, m, D) if not o["end"] else min(datetime.date.fromisoformat(o["end"]),
                                                                 datetime.date(y, m, D))
            while s <= e:
                days.add(s)
                s += datetime.timedelta(days=1)
        cov = len(days)
        u = STATE["units"][code]
        rank = {"owner": 0, "tenant": 1, "resident": 2}
        payer = sorted(occs, key=lambda o: rank[o["role"]])[0]["party"]
        lines = []
        for fc, f in STATE["fees"].items():
            if f["basis"] == "parking" or u["use"] not in f["uses"]:
                continue
            price = prices.get(fc, f["price"])
            monthly = u["area"] * price if f["basis"] == "per_area" else Fraction(price)
            lines.append((f["basis"], _half_up(monthly * cov / D), cov))
        if lines:
            out[code] = {"bill_to": payer, "lines": lines}
    for lease in STATE["leases"]:
        d = _days(lease["start"], lease["end"], y, m)
        if not d:
            continue
        key = lease["unit"] or lease["code"]
        entry = out.setdefault(key, {"bill_to": lease["party"], "lines": []})
        entry["lines"].append(("parking", _half_up(Fraction(lease["fee"]) * d / D), d))
    for v in out.values():
        v["lines"].sort()
    return out


def _check_run(stack, period, prices=None):
    p1 = STATE["p1"]
    y, m = int(period[:4]), int(period[5:])
    exp = _expected(y, m, prices or {})
    bills = _ok(_as(stack, "manager", "GET", _p(p1, "/bills?period=%s&limit=500" % period)), 200, "list")["items"]
    assert len(bills) == len(exp), "bills of %s: %d, expected %d (%r)" % (period, len(bills), len(exp), bills)
    by_unit = {v["id"]: k for k, v in STATE["units"].items()}
    by_lease = {lease["id"]: lease["code"] for lease in STATE["leases"]}
    total = 0
    for b in bills:
        key = by_unit.get(b["unit_id"]) if b["unit_id"] else by_lease.get(b["parking_lease_id"])
        assert key in exp, "unexpected bill %r" % b
        full = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % b["id"])), 200, "get bill")
        got = sorted((line["basis"], line["amount"], line["days"]) for line in full["lines"])
        assert got == exp[key]["lines"], "%s %s lines %r, expected %r" % (period, key, got, exp[key]["lines"])
        assert full["amount"] == sum(a for _, a, _ in got), full
        assert full["bill_to_party_id"] == STATE["parties"][exp[key]["bill_to"]], (key, full)
        assert full["currency"] == "CNY" and full["kind"] == "periodic" and full["period"] == period, full
        assert isinstance(full["amount"], int), full
        total += full["amount"]
    return bills, total


# ---------------------------------------------------------------- runs
def test_run_period_with_proration(stack):
    p1 = STATE["p1"]
    run = _ok(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": "2026-03"}), 201, "run March")
    bills, total = _check_run(stack, "2026-03")
    assert run["period"] == "2026-03" and run["bills_created"] == len(bills) == 6, (run, len(bills))
    assert run["total_amount"] == total and run["currency"] == "CNY", (run, total)
    STATE["march"] = {"run": run, "bills": {b["id"]: b["amount"] for b in bills}}
    b = [x for x in bills if x["unit_id"] == STATE["units"]["B"]["id"]][0]
    assert b["due_date"] == "2026-03-15", b
    # Figures worked out by hand (the run's SQL is the proration rule's only
    # home): line = round_half_up (monthly x covered days / days of the month).
    # A, a whole month: 88.88 m2 x 350 fen = 31108 fen exactly, 31/31 days;
    # garbage 1500 fixed; its parking lease from 03-10: 30000 x 22/31 =
    # 21290.32 -> 21290
    a = [x for x in bills if x["unit_id"] == STATE["units"]["A"]["id"]][0]
    full = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % a["id"])), 200, "bill A")
    got = sorted((line["basis"], line["amount"], line["days"], line["period_days"]) for line in full["lines"])
    assert got == [("fixed", 1500, 31, 31), ("parking", 21290, 22, 31), ("per_area", 31108, 31, 31)], full
    assert full["amount"] == 1500 + 21290 + 31108, full
    # the half-up case: 10.01 m2 x 3.50 = 35.035 yuan -> 3504 fen
    e = [x for x in bills if x["unit_id"] == STATE["units"]["E"]["id"]][0]
    full = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % e["id"])), 200, "bill E")
    assert sorted(line["amount"] for line in full["lines"]) == [1500, 3504], full
    # the mid-month move-in on the 16th: 16 of 31 days; 120.50 m2 x 350 =
    # 42175 fen x 16/31 = 21767.74 -> 21768; garbage 1500 x 16/31 = 774.19 -> 774
    full = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % b["id"])), 200, "bill B")
    mg = [line for line in full["lines"] if line["basis"] == "per_area"][0]
    assert mg["days"] == 16 and mg["period_days"] == 31 and mg["amount"] == 21768, mg
    garb = [line for line in full["lines"] if line["basis"] == "fixed"][0]
    assert garb["days"] == 16 and garb["amount"] == 774, garb
    # the union of overlapping occupancies
    g = [x for x in bills if x["unit_id"] == STATE["units"]["G"]["id"]][0]
    full = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % g["id"])), 200, "bill G")
    assert {line["days"] for line in full["lines"]} == {20}, full
    assert full["bill_to_party_id"] == STATE["parties"]["O1"], full
    # no bill for the empty unit D
    assert not [x for x in bills if x["unit_id"] == STATE["units"]["D"]["id"]], bills
    # the parking lease without a unit has a bill of its own
    assert [x for x in bills if x["unit_id"] is None and x["parking_lease_id"] == STATE["leases"][1]["id"]], bills


def test_rerun_creates_nothing(stack):
    p1 = STATE["p1"]
    n = stack.psql("SELECT count(*) FROM billing.bills WHERE property_id = '%s'" % p1)[0][0]
    again = _ok(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": "2026-03"}), 200, "re-run")
    assert again["id"] == STATE["march"]["run"]["id"] and again["bills_created"] == 0, again
    assert stack.psql("SELECT count(*) FROM billing.bills WHERE property_id = '%s'" % p1)[0][0] == n
    # the gateway's Idempotency-Key: the same response again
    key = {"Idempotency-Key": "run-" + secrets.token_hex(4)}
    r1 = _ok(stack.http("POST", _p(p1, "/billing-runs"), body={"period": "2026-01"}, token=STATE["tokens"]["manager"],
                        headers=key), 201, "January")
    r2 = _ok(stack.http("POST", _p(p1, "/billing-runs"), body={"period": "2026-01"}, token=STATE["tokens"]["manager"],
                        headers=key), 201, "January replay")
    assert r1 == r2, (r1, r2)
    _check_run(stack, "2026-01")


def test_bad_periods_and_roles(stack):
    p1 = STATE["p1"]
    for period in ("2026-13", "2026-1", "abc", "2026-00", "", 202611):
        err = _error(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": period}), 422,
                     "validation_failed", "period %r" % period)
        assert "period" in _fields(err), err
    _error(_as(stack, "agent", "POST", _p(p1, "/billing-runs"), {"period": "2026-05"}), 403, "forbidden", "agent")
    _error(_as(stack, "manager", "POST", _p(STATE["p2"], "/billing-runs"), {"period": "2026-05"}), 404,
           "not_found", "other property")


def test_price_change_keeps_old_bills(stack):
    p1 = STATE["p1"]
    f = _ok(_as(stack, "manager", "POST", _p(p1, "/fee-items"),
                {"code": "MGMT", "name": "物业管理费", "basis": "per_area", "unit_price": 400,
                 "applies_to": ["residential"], "effective_from": "2026-04-01"}), 201, "price change")
    assert f["effective_from"] == "2026-04-01", f
    old = _ok(_as(stack, "agent", "GET", _p(p1, "/fee-items?active_on=2026-03-31&code=MGMT")), 200, "old")["items"]
    assert len(old) == 1 and old[0]["unit_price"] == 350 and old[0]["effective_to"] == "2026-03-31", old
    new = _ok(_as(stack, "agent", "GET", _p(p1, "/fee-items?active_on=2026-04-01&code=MGMT")), 200, "new")["items"]
    assert len(new) == 1 and new[0]["unit_price"] == 400, new
    _ok(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": "2026-04"}), 201, "run April")
    _check_run(stack, "2026-04", prices={"MGMT": 400})
    for bid, amount in STATE["march"]["bills"].items():
        b = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % bid)), 200, "March bill")
        assert b["amount"] == amount, "March bill changed: %r" % b


def test_due_day_clamped(stack):
    p1 = STATE["p1"]
    s = _ok(_as(stack, "manager", "PUT", _p(p1, "/billing-settings"), {"due_day": 31}), 200, "due day 31")
    assert s["due_day"] == 31, s
    _ok(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": "2026-02"}), 201, "run February")
    bills, _ = _check_run(stack, "2026-02")
    assert bills and all(b["due_date"] == "2026-02-28" for b in bills), bills
    # a leap February: due day 30 is the 29th, and a month is 29 days; A's
    # whole month at the April price: 88.88 m2 x 400 fen = 35552, 29/29 days
    _ok(_as(stack, "manager", "PUT", _p(p1, "/billing-settings"), {"due_day": 30}), 200, "due day 30")
    _ok(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": "2028-02"}), 201, "run February 2028")
    bills, _ = _check_run(stack, "2028-02", prices={"MGMT": 400})
    assert bills and all(b["due_date"] == "2028-02-29" for b in bills), bills
    a = [x for x in bills if x["unit_id"] == STATE["units"]["A"]["id"]][0]
    full = _ok(_as(stack, "agent", "GET", _p(p1, "/bills/%s" % a["id"])), 200, "bill A 2028-02")
    mg = [line for line in full["lines"] if line["basis"] == "per_area"][0]
    assert (mg["days"], mg["period_days"], mg["amount"]) == (29, 29, 35552), mg
    _ok(_as(stack, "manager", "PUT", _p(p1, "/billing-settings"), {"due_day": 15}), 200, "due day back")


# ---------------------------------------------------------------- read side
def test_read_side(stack):
    p1, p2 = STATE["p1"], STATE["p2"]
    bid = next(iter(STATE["march"]["bills"]))
    _error(_admin(stack, "GET", _p(p2, "/bills/%s" % bid)), 404, "not_found", "bill through another property")
    _error(_as(stack, "manager", "GET", _p(p2, "/bills")), 404, "not_found", "other property's bills")
    _error(_as(stack, "technician", "GET", _p(p1, "/bills")), 403, "forbidden", "technician")
    _error(_as(stack, "manager", "GET", _p(p1, "/bills?status=weird")), 422, "validation_failed", "status")
    _error(_as(stack, "manager", "GET", _p(p1, "/bills?period=2026-13")), 422, "validation_failed", "period")
    # pages
    seen, cursor = [], None
    while True:
        q = "/bills?limit=3" + ("&cursor=" + cursor if cursor else "")
        page = _ok(_as(stack, "agent", "GET", _p(p1, q)), 200, "page")
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    total = int(stack.psql("SELECT count(*) FROM billing.bills WHERE property_id = '%s'" % p1)[0][0])
    assert len(seen) == len(set(seen)) == total, (len(seen), total)
    unpaid = _ok(_as(stack, "agent", "GET", _p(p1, "/bills?status=unpaid&limit=500")), 200, "unpaid")["items"]
    assert all(b["status"] == "unpaid" for b in unpaid), unpaid
    # the account of unit A
    uid = STATE["units"]["A"]["id"]
    acct = _ok(_as(stack, "agent", "GET", _p(p1, "/units/%s/account" % uid)), 200, "account")
    mine = _ok(_as(stack, "agent", "GET", _p(p1, "/bills?unit_id=%s&limit=500" % uid)), 200, "A's bills")["items"]
    assert acct["balance_due"] == sum(b["balance"] for b in mine), (acct, mine)
    assert acct["currency"] == "CNY" and isinstance(acct["credit"], int), acct
    assert acct["overdue_amount"] <= acct["balance_due"], acct
    assert len(acct["bills"]) == len([b for b in mine if b["status"] in ("unpaid", "partially_paid")]), acct
    _error(_as(stack, "agent", "GET", _p(p2, "/units/%s/account" % uid)), 404, "not_found", "account elsewhere")


def test_bill_issued_events(stack):
    p1 = STATE["p1"]
    rows = stack.psql("SELECT count(*), count(DISTINCT data->>'bill_id') FROM billing.outbox "
                      "WHERE type = 'bill.issued' AND property_id = '%s'" % p1)
    n = stack.psql("SELECT count(*) FROM billing.bills WHERE property_id = '%s' AND kind = 'periodic'" % p1)[0][0]
    assert rows[0] == (n, n), "one bill.issued per bill: %r vs %s" % (rows, n)
    keys = stack.psql("SELECT string_agg(k, ',' ORDER BY k) FROM (SELECT jsonb_object_keys(data) k FROM "
                      "billing.outbox WHERE type = 'bill.issued' AND property_id = '%s' LIMIT 20) x" % p1)[0][0]
    for k in ("bill_id", "unit_id", "unit_code", "bill_to_party_id", "period", "amount", "currency", "due_date"):
        assert k in keys.split(","), (k, keys)


def test_catch_up_after_restart(stack):
    p1 = STATE["p1"]
    stack.kill("billing")
    u = _ok(_admin(stack, "POST", _p(p1, "/units"), {"code": "F", "area_m2": 66.6, "use": "office"}), 201, "unit F")
    _ok(_admin(stack, "POST", _p(p1, "/units/%s/occupancies" % u["id"]),
               {"party_id": STATE["parties"]["T1"], "role": "tenant", "start_date": "2026-05-01"}), 201, "move in F")
    stack.start("billing")
    _wait(stack, "SELECT count(*) FROM billing.occupancies WHERE unit_id = '%s'" % u["id"], "1",
          "occupancy after restart", timeout=30)
    rows = stack.psql("SELECT area_m2 FROM billing.units WHERE unit_id = '%s'" % u["id"])
    assert rows == [("66.60",)], rows
    # the cursor and processed ids: no event applied twice
    dup = stack.psql("SELECT count(*) - count(DISTINCT event_id) FROM billing.processed_events")[0][0]
    assert dup == "0", dup


def test_credit_pays_the_next_run(stack):
    """A prepayment (credit) pays the bills of the next run in the run's own transaction."""
    p1, uid = STATE["p1"], STATE["units"]["A"]["id"]
    pay = _ok(_as(stack, "manager", "POST", _p(p1, "/payments"),
                  {"unit_id": uid, "amount": 10000000, "method": "bank_transfer"}), 201, "prepayment")
    before = int(stack.psql("SELECT billing.unit_credit('%s', '%s')" % (p1, uid))[0][0])
    assert before > 0 and before == pay["credit"], (before, pay)
    _ok(_as(stack, "manager", "POST", _p(p1, "/billing-runs"), {"period": "2026-06"}), 201, "run June")
    june = _ok(_as(stack, "agent", "GET", _p(p1, "/bills?unit_id=%s&period=2026-06" % uid)), 200, "June")["items"]
    assert len(june) == 1 and june[0]["status"] == "paid", june
    after = int(stack.psql("SELECT billing.unit_credit('%s', '%s')" % (p1, uid))[0][0])
    assert after == before - june[0]["amount"], (before, after, june[0]["amount"])
