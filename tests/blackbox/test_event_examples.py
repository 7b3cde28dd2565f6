"""test_event_examples: a real event of every type, and the documentation of each.

One drive through the public HTTP API makes every event type of
proto/events.md's "Types produced now" table happen: a property, units
(create, update), parties (create, update), move-in and move-out, a parking
lease and its end, every ticket event (the SLA warning and breach and the
automatic escalation by moving tickets' test clock), a bill run, a payment and
its reversal, a paid deposit refunded, and bill.overdue by moving billing's
test clock a day on. Then, from the three outboxes (tenants, tickets,
billing), it checks that
- every type events.md lists was produced (the list is read at run time: a
  type added there that the drive cannot make fails here, by name);
- README.md's section "### Event examples" has an example webhook body of
  each type whose keys are the real event's, recursively (values may differ);
- proto/openapi.yaml's `webhooks` has an entry per type, whose schema takes
  every real event of that type and whose example is README's.

With PM_WRITE_EVENT_EXAMPLES=1 it first (re)writes both from this run's
events: README's section between its heading and the next heading, and the
block of openapi.yaml between the two marker comments below (inside
`webhooks:`), nothing else. Ids and times stay as they were; names, phone
numbers, e-mail and ID numbers are fixed sample values. The YAML it writes is
in the subset test_proto.py's reader takes. PM_EVENT_EXAMPLES_DUMP=<file>
saves the drive's events as JSON, for a look.

Tests run in file order and share S.
"""

import html
import json
import os
import re
import secrets
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import jsonschema_mini as js  # noqa: E402

# tickets' SLA timer and billing's late fee job follow their test clocks
STACK = dict(env={"PM_TEST_CLOCK": "1", "PM_SLA_TICK_MS": "100", "PM_LATE_FEE_TICK_MS": "200",
                  "PM_PATROL_TICK_MS": "200"})

WRITE = os.environ.get("PM_WRITE_EVENT_EXAMPLES") == "1"
README = os.path.join(ROOT, "README.md")
OPENAPI = os.path.join(ROOT, "proto", "openapi.yaml")
EVENTS_MD = os.path.join(ROOT, "proto", "events.md")
HEADING = "### Event examples"
BEFORE_HEADING = "### Announcements, preferences and the delivery log"
BEGIN = ("  # BEGIN event examples: written by tests/blackbox/test_event_examples.py"
         " (PM_WRITE_EVENT_EXAMPLES=1); edit the test, not this block")
END = "  # END event examples"
PRODUCERS = ("tenants", "tickets", "billing")
ENVELOPE = ("id", "type", "occurred_at", "property_id", "data")

# sample values: no real personal data in the docs
SAMPLE = {
    "property_name": "阳光花园",
    "address": "深圳市南山区科技园示例路1号",
    "person": "张伟",
    "company": "深圳市示例科技有限公司",
    "phone": "13800138000",
    "email": "zhang.wei@example.com",
    "id_number": "11010519491231002X",  # GB 11643's own example
}

# what README's summary says of each type; a type without one here uses
# events.md's "when" cell
WHEN = {
    "property.created": "a property is created",
    "unit.created": "a unit is created (by hand or by a CSV import)",
    "unit.updated": "a unit's fields change",
    "party.created": "a party (业户: a person or a company) is created",
    "party.updated": "a party's fields change",
    "occupancy.started": "a party moves into a unit (入伙)",
    "occupancy.ended": "a party moves out (迁出)",
    "parking.lease.started": "a parking space is leased (车位租赁)",
    "parking.lease.ended": "a parking lease ends",
    "ticket.created": "a ticket (工单) is created",
    "ticket.assigned": "a ticket is assigned (by hand or from the duty roster)",
    "ticket.resolved": "a ticket is resolved (a paid repair carries its fee)",
    "ticket.closed": "a ticket is closed",
    "ticket.escalated": "a complaint is escalated, by staff or by the SLA timer",
    "ticket.fee_charged": "a paid repair is resolved: billing charges the unit",
    "ticket.feedback": "the follow-up call (回访) is recorded",
    "ticket.renovation_approved": "a renovation is approved: billing raises the deposit and the fee",
    "ticket.renovation_accepted": "a renovation passes acceptance (验收): the deposit may be refunded",
    "ticket.sla_warning": "a response or resolution deadline is near",
    "ticket.sla_breached": "a response or resolution deadline passed unmet",
    "bill.issued": "a bill is issued (a bill run, a charge, a deposit or a late fee)",
    "bill.overdue": "a bill passes its due date unpaid (once per bill)",
    "payment.received": "a payment is recorded (by hand, by an integration or an import)",
    "payment.reversed": "a payment is voided or refunded: the bills it paid are open again",
    "deposit.refunded": "a paid deposit is refunded",
    "patrol.missed": "a planned patrol round (巡查) was not started within 30 minutes (once)",
}
GROUPS = {
    "tenants": "properties, units, parties (业户), move-in and move-out, parking leases",
    "tickets": "the service desk (工单) and its SLA timer",
    "billing": "bills, payments and deposits (amounts in fen)",
}
# fields that may be null though one run may not show it (the schema says so)
NULLABLE = {
    "address", "assignee_id", "bill_id", "bill_to_party_id", "building", "category", "email",
    "end_date", "ended_at", "escalated_at", "escalated_to", "external_ref", "fee_item_code", "floor",
    "id_number", "id_type", "key_customer_note", "parking_lease_id", "party_id", "period", "phone",
    "refund", "reversal", "run_id", "ticket_id", "unit_code", "unit_id", "zone", "respond_by",
    "resolve_by",
}

# user ids: a uuid from POST /v1/users, but the duty roster takes any string (and "managers")
NO_FORMAT = {"assignee_id", "escalated_to", "called_by"}

S = {}
RUN = secrets.token_hex(3).upper()


# ================================================================ helpers
def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


def _p(path=""):
    return "/v1/properties/%s%s" % (S["pid"], path)


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _wait(what, fn, timeout=15.0, step=0.1):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("%s: not within %.0f s" % (what, timeout))
        time.sleep(step)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".ev-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, os.stat(path).st_mode & 0o777)
    os.replace(tmp, path)


def _tp():
    """test_proto.py, for its YAML reader and its reading of events.md."""
    import test_proto  # noqa: E402 (imported late: it is a test file of its own)
    return test_proto


def produced_table():
    """[(type, producer, when)] of events.md's "Types produced now", in its order."""
    text = _read(EVENTS_MD)
    section = text.split("## Types produced now", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        m = re.match(r"^\|\s*`([a-z_]+(?:\.[a-z_]+)+)`\s*\|\s*([a-z]+)\s*\|(.*?)\|(.*)\|\s*$", line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3).strip(), m.group(4).strip()))
    return rows


def _user(stack, role):
    name = "ev-%s-%s" % (role, secrets.token_hex(3))
    pw = "pw-" + secrets.token_urlsafe(12)
    u = _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                       body={"username": name, "password": pw, "role": role, "property_ids": [S["pid"]]}),
            201, "user " + role)
    return u["id"], stack.login(name, pw)


def _count(stack, schema, type_):
    return int(stack.psql("SELECT count(*) FROM %s.outbox WHERE property_id = '%s' AND type = '%s'"
                          % (schema, S["pid"], type_))[0][0])


def _tickets_clock(stack, seconds):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % seconds)


# ================================================================ the drive
def _drive_tenants(stack):
    adm = stack.admin_token
    prop = _ok(stack.http("POST", "/v1/properties", token=adm,
                          body={"code": "EVX-" + RUN, "name": SAMPLE["property_name"],
                                "address": SAMPLE["address"], "timezone": "Asia/Shanghai"}), 201, "property")
    S.update(pid=prop["id"], tokens={"admin": adm}, ids={})
    u1 = _ok(_as(stack, "admin", "POST", _p("/units"),
                 {"code": "1-1201", "building": "1", "floor": "12", "area_m2": 89.5, "use": "residential"}),
             201, "unit 1")["id"]
    u2 = _ok(_as(stack, "admin", "POST", _p("/units"),
                 {"code": "S-0105", "building": "S", "floor": "1", "area_m2": 45, "use": "retail"}),
             201, "unit 2")["id"]
    _ok(_as(stack, "admin", "PATCH", _p("/units/%s" % u1), {"area_m2": 90.25}), 200, "unit update")
    person = _ok(_as(stack, "admin", "POST", _p("/parties"),
                     {"kind": "person", "name": SAMPLE["person"], "phone": SAMPLE["phone"],
                      "email": SAMPLE["email"], "id_number": SAMPLE["id_number"]}), 201, "party")["id"]
    company = _ok(_as(stack, "admin", "POST", _p("/parties"),
                      {"kind": "company", "name": SAMPLE["company"]}), 201, "company")["id"]
    _ok(_as(stack, "admin", "PATCH", _p("/parties/%s" % person),
            {"key_customer": True, "key_customer_note": "业委会成员"}), 200, "party update")
    _ok(_as(stack, "admin", "POST", _p("/units/%s/occupancies" % u1),
            {"party_id": person, "role": "owner", "start_date": "2025-06-01"}), 201, "move-in")
    occ = _ok(_as(stack, "admin", "POST", _p("/units/%s/occupancies" % u2),
                  {"party_id": company, "role": "tenant", "start_date": "2025-01-01"}), 201, "move-in 2")["id"]
    _ok(_as(stack, "admin", "POST", _p("/occupancies/%s/end" % occ), {"end_date": "2025-12-31"}), 200, "move-out")
    space = _ok(_as(stack, "admin", "POST", _p("/parking-spaces"), {"code": "B2-018", "zone": "B2"}),
                201, "parking space")["id"]
    lease = _ok(_as(stack, "admin", "POST", _p("/parking-leases"),
                    {"space_id": space, "party_id": person, "unit_id": u1, "start_date": "2026-01-01",
                     "end_date": "2026-12-31", "monthly_fee": 30000}), 201, "lease")["id"]
    _ok(_as(stack, "admin", "POST", _p("/parking-leases/%s/end" % lease), {"end_date": "2026-11-30"}),
        200, "lease end")
    # a lease without a unit: billed on a bill of its own (parking_lease_id set)
    space2 = _ok(_as(stack, "admin", "POST", _p("/parking-spaces"), {"code": "B2-019", "zone": "B2"}),
                 201, "parking space 2")["id"]
    _ok(_as(stack, "admin", "POST", _p("/parking-leases"),
            {"space_id": space2, "party_id": company, "start_date": "2026-01-01", "monthly_fee": 25000}),
        201, "lease without a unit")
    S.update(u1=u1, u2=u2, person=person, company=company)


def _ticket(stack, typ, title, **extra):
    return _ok(_as(stack, "admin", "POST", _p("/tickets"), dict(type=typ, title=title, **extra)),
               201, "ticket " + typ)["id"]


def _act(stack, tid, action, who="admin", **extra):
    return _ok(_as(stack, who, "POST", _p("/tickets/%s/actions" % tid), dict(action=action, **extra)),
               200, "%s %s" % (action, tid))


def _drive_tickets(stack):
    S["ids"]["technician"], S["tokens"]["technician"] = _user(stack, "technician")
    S["ids"]["manager"], S["tokens"]["manager"] = _user(stack, "manager")
    u1, person = S["u1"], S["person"]
    # a paid repair: created, assigned, resolved with its fee, the fee approved (fee_charged), closed
    rep = _ticket(stack, "repair", "厨房水龙头漏水", unit_id=u1, party_id=person, priority="normal",
                  category="plumbing", channel="phone")
    _act(stack, rep, "accept")
    _act(stack, rep, "assign", assignee_id=S["ids"]["technician"])
    _act(stack, rep, "start", who="technician")
    _act(stack, rep, "resolve", who="technician", note="更换水龙头",
         fee={"amount": 8800, "fee_item_code": "REPAIR"})
    # a technician's fee is proposed; a manager's approval bills it (API.md, "Trust and limits")
    _act(stack, rep, "approve_fee", who="manager")
    _act(stack, rep, "close")
    # a complaint escalated by staff, resolved, called back (feedback), closed
    com = _ticket(stack, "complaint", "夜间施工噪音", unit_id=u1, party_id=person, priority="normal")
    _act(stack, com, "accept")
    _act(stack, com, "escalate", assignee_id=S["ids"]["manager"], note="业主多次投诉")
    _act(stack, com, "resolve", who="manager", note="已协调施工时间")
    _ok(_as(stack, "admin", "POST", _p("/tickets/%s/feedback" % com), {"rating": 5, "comment": "处理及时"}),
        201, "feedback")
    _act(stack, com, "close")
    # a renovation: approved (deposit and fee for billing), accepted
    ren = _ticket(stack, "renovation", "厨房卫生间翻新", unit_id=u1, party_id=person,
                  data={"deposit": 300000, "management_fee": 60000, "contractor": "示例装饰工程有限公司"})
    _act(stack, ren, "approve", who="manager", note="按图纸施工")
    _act(stack, ren, "start")
    _act(stack, ren, "accept", who="manager", note="竣工验收合格")
    # the SLA timer: a high repair nobody answers (warning, then breaches), and
    # a high complaint left open past its resolution deadline (escalated on its own)
    late = _ticket(stack, "repair", "电梯异响", unit_id=u1, priority="high")
    _tickets_clock(stack, 16 * 60)  # respond in 30 min, warned 15 min before
    _wait("ticket.sla_warning", lambda: _count(stack, "tickets", "ticket.sla_warning") >= 1)
    open_c = _ticket(stack, "complaint", "地下车库照明不足", unit_id=u1, priority="high")
    _act(stack, open_c, "accept")
    # a patrol route planned 3 hours from now (the property's +08:00): missed once the clock is past it
    hm = time.strftime("%H:%M", time.gmtime(time.time() + 8 * 3600 + 3 * 3600))
    _ok(_as(stack, "manager", "POST", _p("/patrol-routes"),
            {"name": "地库巡查", "checkpoints": [{"code": "B1-PUMP", "name": "B1 水泵房", "checklist": ["无渗漏"]}],
             "times": [hm]}), 201, "patrol route")
    _tickets_clock(stack, 26 * 3600)  # past every deadline of both
    _wait("patrol.missed", lambda: _count(stack, "tickets", "patrol.missed") >= 1)
    _wait("ticket.sla_breached", lambda: _count(stack, "tickets", "ticket.sla_breached") >= 2)
    _wait("the automatic escalation", lambda: _count(stack, "tickets", "ticket.escalated") >= 2)
    _tickets_clock(stack, 0)
    S.update(late=late, open_complaint=open_c)


def _drive_billing(stack):
    pid, u1, u2 = S["pid"], S["u1"], S["u2"]
    _wait("billing's copy of the units and the move-ins", lambda: stack.psql(
        "SELECT (SELECT count(*) FROM billing.units WHERE property_id = '%s') = 2"
        " AND (SELECT count(*) FROM billing.occupancies WHERE property_id = '%s') = 2" % (pid, pid))[0][0] == "t")
    for body in ({"code": "MGMT", "name": "物业管理费", "basis": "per_area", "unit_price": 350,
                  "applies_to": ["residential"], "effective_from": "2025-01-01"},
                 {"code": "PARK", "name": "车位管理费", "basis": "parking", "unit_price": 0, "applies_to": [],
                  "effective_from": "2025-01-01"}):
        _ok(_as(stack, "admin", "POST", _p("/fee-items"), body), 201, "fee item " + body["code"])
    run = _ok(_as(stack, "admin", "POST", _p("/billing-runs"), {"period": "2026-10"}), 201, "bill run")
    assert run.get("bills_created", 1) >= 1, run
    # a payment for unit 1 (allocated to its bills), then reversed
    pay = _ok(_as(stack, "admin", "POST", _p("/payments"),
                  {"unit_id": u1, "amount": 10000, "method": "wechat", "external_ref": "WX-" + RUN}),
              201, "payment")
    _ok(_as(stack, "admin", "POST", _p("/payments/%s/reverse" % pay["id"]), {"reason": "重复缴费"}),
        200, "reversal")
    # a deposit for unit 2, paid, refunded less a deduction
    dep = _ok(_as(stack, "admin", "POST", _p("/deposits"), {"unit_id": u2, "amount": 50000}), 201, "deposit")
    _ok(_as(stack, "admin", "POST", _p("/payments"), {"unit_id": u2, "amount": 50000, "method": "bank_transfer"}),
        201, "deposit paid")
    _ok(_as(stack, "admin", "POST", _p("/deposits/%s/refund" % dep["id"]),
            {"amount": 45000, "reason": "门禁卡未归还"}), 200, "refund")
    # the charge of the paid repair, and the renovation's deposit and fee, come from tickets' events
    _wait("billing's charges from tickets' events", lambda: int(stack.psql(
        "SELECT count(*) FROM billing.bills WHERE property_id = '%s' AND source LIKE 'ticket.%%'"
        % pid)[0][0]) >= 2, timeout=20)
    # bill.overdue: the late fee job's "today" a day on; unit 1's October bill is open
    stack.psql("UPDATE billing.test_clock SET offset_seconds = 86400")
    try:
        _wait("bill.overdue", lambda: _count(stack, "billing", "bill.overdue") >= 1, timeout=20)
    finally:
        stack.psql("UPDATE billing.test_clock SET offset_seconds = 0")


def _collect(stack):
    """{type: [webhook body, ...]} of the property's events in the three outboxes, in order."""
    out = {}
    producer = {}
    for schema in PRODUCERS:
        rows = stack.psql(
            "SELECT id::text, type, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
            " property_id::text, data::text FROM %s.outbox WHERE property_id = '%s' ORDER BY xid, seq"
            % (schema, S["pid"]))
        for id_, type_, at, prop, data in rows:
            body = {"id": id_, "type": type_, "occurred_at": at, "property_id": prop or None,
                    "data": json.loads(data)}
            out.setdefault(type_, []).append(body)
            producer[type_] = schema
    return out, producer


def test_drive_produces_every_listed_type(stack):
    _drive_tenants(stack)
    _drive_tickets(stack)
    _drive_billing(stack)
    listed = [r[0] for r in produced_table()]
    assert listed, "no types in proto/events.md's \"Types produced now\" table"

    def all_there():
        S["events"], S["producer"] = _collect(stack)
        return not (set(listed) - set(S["events"]))

    try:
        _wait("every listed type", all_there, timeout=10)
    except AssertionError:
        pass
    missing = [t for t in listed if t not in S["events"]]
    assert not missing, "types events.md lists that the drive did not produce: %s (made: %s)" % (
        missing, sorted(S["events"]))
    if os.environ.get("PM_EVENT_EXAMPLES_DUMP"):  # a look at what the drive made
        with open(os.environ["PM_EVENT_EXAMPLES_DUMP"], "w", encoding="utf-8") as f:
            json.dump(S["events"], f, ensure_ascii=False, indent=1)


# ================================================================ examples
def _depth_keys(v):
    """How many keys v has, counting nested objects (and a list's first item)."""
    if isinstance(v, dict):
        return len(v) + sum(_depth_keys(x) for x in v.values())
    if isinstance(v, list) and v:
        return _depth_keys(v[0])
    return 0


def representative(bodies):
    """The event of a type with the most keys (e.g. the resolved repair with a fee): the example."""
    best = bodies[0]
    for b in bodies[1:]:
        if _depth_keys(b["data"]) > _depth_keys(best["data"]):
            best = b
    return best


def _sanitize(v, key=None, kind=None):
    """A copy with sample names, phones, e-mail and ID numbers."""
    if isinstance(v, dict):
        k2 = v.get("kind") if isinstance(v.get("kind"), str) else kind
        out = {}
        for k, x in v.items():
            if k == "name" and isinstance(x, str) and key in ("party", "__party__"):
                out[k] = SAMPLE["company"] if k2 == "company" else SAMPLE["person"]
            elif k == "name" and isinstance(x, str) and key == "__property__":
                out[k] = SAMPLE["property_name"]
            else:
                out[k] = _sanitize(x, k, k2)
        return out
    if isinstance(v, list):
        return [_sanitize(x, key, kind) for x in v]
    if not isinstance(v, str):
        return v
    if key in ("phone", "phones"):
        return SAMPLE["phone"]
    if key == "email":
        return SAMPLE["email"]
    if key == "id_number":
        return SAMPLE["id_number"] if kind != "company" else "91440300MA5EXAMPL0"
    if key == "address":
        return SAMPLE["address"]
    if key == "party_name":
        return SAMPLE["person"]
    return v


def example_of(type_, bodies):
    body = json.loads(json.dumps(representative(bodies)))
    top = "__party__" if type_.startswith("party.") else "__property__" if type_ == "property.created" else None
    body["data"] = _sanitize(body["data"], top)
    if type_.startswith("occupancy.") and isinstance(body["data"].get("party"), dict):
        name = SAMPLE["company"] if body["data"]["party"].get("kind") == "company" else SAMPLE["person"]
        body["data"]["party_name"] = name
        body["data"]["party"]["name"] = name
    return body


def _ordered_types():
    """[(producer, [types])]: events.md's order, then any other type the drive saw."""
    table = produced_table()
    seen = set()
    groups = {p: [] for p in PRODUCERS}
    for type_, producer, _, _ in table:
        if type_ in S["events"] and type_ not in seen:
            groups.setdefault(producer, []).append(type_)
            seen.add(type_)
    for type_ in sorted(S["events"]):
        if type_ not in seen:
            groups.setdefault(S["producer"][type_], []).append(type_)
            seen.add(type_)
    return [(p, groups[p]) for p in groups if groups[p]]


def _when(type_):
    for t, _, when, _ in produced_table():
        if t == type_ and type_ not in WHEN:
            return when
    return WHEN.get(type_, "")


def _md_inline(text):
    """Markdown `code` as <code> (inside <summary> markdown is not rendered), the rest escaped."""
    parts = text.split("`")
    return "".join(html.escape(p, quote=False) if i % 2 == 0 else "<code>%s</code>" % html.escape(p, quote=False)
                   for i, p in enumerate(parts))


# ---------------------------------------------------------------- README
def _wrap(text, width=100):
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = (line + " " + word) if line else word
    return out + ([line] if line else [])


def readme_section(examples):
    intro = (
        "Every webhook request carries one event as its JSON body, "
        "`{\"id\",\"type\",\"occurred_at\",\"property_id\",\"data\"}`: the event of "
        "proto/events.md without the producer's bookkeeping (`occurred_at` in UTC, `property_id` the "
        "property it belongs to), `data` as proto/events.md lists it for the type, the state after the "
        "change, amounts in fen. Check `X-PM-Signature-V2` and `X-PM-Timestamp` first (Webhooks, above). "
        "Delivery is at least once: the same event can come again (a retry after a lost answer, a "
        "redelivery), so deduplicate on `id`. Fields are added, never renamed: ignore those you do not "
        "know. `party.*` events carry residents' contacts whole (never an ID document) and go to an "
        "admin's webhooks only. The examples are real events of a test "
        "run with sample names and contacts (tests/blackbox/test_event_examples.py fails when a service's "
        "keys drift from them; `PM_WRITE_EVENT_EXAMPLES=1` rewrites them); proto/openapi.yaml's "
        "`webhooks` has the same, with a schema per type.")
    lines = [HEADING, ""] + _wrap(intro) + [""]
    for producer, types in _ordered_types():
        lines += ["**%s**: %s" % (producer, GROUPS.get(producer, "")), ""]
        for type_ in types:
            when = _when(type_)
            lines += ["<details><summary><code>%s</code>%s</summary>" % (
                type_, (": when " + _md_inline(when)) if when else ""), "",
                "```json"]
            lines += json.dumps(examples[type_], ensure_ascii=False, indent=2).split("\n")
            lines += ["```", "", "</details>", ""]
    return "\n".join(lines) + "\n"


def _section_bounds(lines):
    """(start, end) line indexes of README's section: its heading, up to the next heading (outside code)."""
    try:
        start = lines.index(HEADING)
    except ValueError:
        return None
    fence = False
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("```"):
            fence = not fence
        elif not fence and re.match(r"^#{1,6} ", lines[i]):
            return start, i
    return start, len(lines)


def write_readme(examples):
    text = _read(README)  # read again right before writing: others edit other sections
    lines = text.split("\n")
    new = readme_section(examples).rstrip("\n").split("\n") + [""]
    b = _section_bounds(lines)
    if b:
        lines[b[0]:b[1]] = new
    else:
        try:
            at = lines.index(BEFORE_HEADING)
        except ValueError:
            w = lines.index("### Webhooks")
            at = next((i for i in range(w + 1, len(lines)) if re.match(r"^#{1,6} ", lines[i])), len(lines))
        lines[at:at] = new
    _write_atomic(README, "\n".join(lines))


def readme_examples():
    """{type: the example's JSON} of README's section, and the summaries' types in order."""
    lines = _read(README).split("\n")
    b = _section_bounds(lines)
    assert b, "README.md has no %r section" % HEADING
    section = "\n".join(lines[b[0]:b[1]])
    out = {}
    for m in re.finditer(r"<details><summary><code>([a-z_.]+)</code>.*?</summary>\s*```json\n(.*?)\n```\s*</details>",
                         section, re.S):
        assert m.group(1) not in out, "README: two examples of %s" % m.group(1)
        try:
            out[m.group(1)] = json.loads(m.group(2))
        except ValueError as e:
            raise AssertionError("README: the example of %s is not JSON: %s" % (m.group(1), e)) from None
    return out


# ---------------------------------------------------------------- OpenAPI
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d$")
JTYPE = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
         list: "array", dict: "object"}


def _hints():
    """{field name: its non-null values in any event of any type}: the type of a
    field that one type's events happened to show only as null (or [])."""
    if "hints" not in S:
        h = {}

        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    if x is not None and x != []:
                        h.setdefault(k, []).append(x)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        for bodies in S["events"].values():
            for b in bodies:
                walk(b["data"])
        S["hints"] = h
    return S["hints"]


def infer(values, key=None):
    """A JSON Schema that takes every observed value (of one field, over all events of a type)."""
    if key is not None and all(v is None or v == [] for v in values) and key in _hints():
        values = list(values) + _hints()[key]
    types = []
    for v in values:
        t = JTYPE[type(v)]
        if t not in types:
            types.append(t)
    if "integer" in types and "number" in types:
        types.remove("integer")
    if key == "area_m2" and "integer" in types:
        types[types.index("integer")] = "number"
    if key in NULLABLE and "null" not in types:
        types.append("null")
    # null last, for reading
    types = [t for t in types if t != "null"] + (["null"] if "null" in types else [])
    schema = {}
    if types and types != ["null"]:  # only ever null in this run: say nothing of its type
        schema["type"] = types[0] if len(types) == 1 else types
    strings = [v for v in values if isinstance(v, str)]
    if strings and types[0] == "string" and key not in NO_FORMAT:
        for fmt, rx in (("uuid", UUID_RE), ("date-time", DT_RE), ("date", DATE_RE)):
            if all(rx.match(s) for s in strings):
                schema["format"] = fmt
                break
    dicts = [v for v in values if isinstance(v, dict)]
    if dicts:
        keys = []
        for d in dicts:
            keys += [k for k in d if k not in keys]
        schema["required"] = [k for k in keys if all(k in d for d in dicts)]
        schema["properties"] = {k: infer([d[k] for d in dicts if k in d], k) for k in keys}
        schema["additionalProperties"] = True
    lists = [v for v in values if isinstance(v, list)]
    if lists:
        items = [x for v in lists for x in v]
        schema["items"] = infer(items) if items else {}
    return schema


def webhook_schema(type_, bodies):
    data = infer([b["data"] for b in bodies])
    data["description"] = "proto/events.md: %s" % type_
    return {
        "type": "object",
        "required": list(ENVELOPE),
        "properties": {
            "id": {"type": "string", "format": "uuid",
                   "description": "The event id, the same on every delivery: deduplicate on it."},
            "type": {"type": "string", "const": type_},
            "occurred_at": {"type": "string", "format": "date-time"},
            "property_id": {"type": ["string", "null"], "format": "uuid"},
            "data": data,
        },
    }


def _op_id(type_):
    return "on" + "".join(w[:1].upper() + w[1:] for w in re.split(r"[._]", type_))


HEADERS = [
    ("X-PM-Event", "The event type, as in the body.", {"type": "string"}),
    ("X-PM-Delivery", "The delivery id; the same on every attempt of this delivery.",
     {"type": "string", "format": "uuid"}),
    ("X-PM-Attempt", "1 for the first attempt, 2 for the first retry, ...", {"type": "integer", "minimum": 1}),
    ("X-PM-Signature", "sha256=<hex HMAC-SHA256 of the raw body keyed with the webhook's secret>;"
     " kept for receivers written before X-PM-Signature-V2, which is the one to check.",
     {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}),
    ("X-PM-Timestamp", "Unix seconds of this attempt (each retry has its own); refuse a request more than"
     " 5 minutes off, so that a captured one cannot be replayed.", {"type": "string", "pattern": "^[0-9]+$"}),
    ("X-PM-Signature-V2", "sha256=<hex HMAC-SHA256 of \"<X-PM-Timestamp>.<raw body>\" keyed with the webhook's"
     " secret>; compare it in constant time before parsing the body.",
     {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}),
]


def _plain_md(text):
    """A cell of events.md as plain text: no backticks, no quotes around field names."""
    return re.sub(r'"([A-Za-z_][A-Za-z0-9_]*)"', r"\1", text.replace("`", "")).rstrip(".")


def webhook_entry(type_, bodies, example):
    events_md = {t: (when, data) for t, _, when, data in produced_table()}
    when, data = events_md.get(type_, (_when(type_), ""))
    desc = "Sent to the webhooks subscribed to %s when %s." % (type_, _plain_md(when))
    if data:
        desc += " data (proto/events.md): %s." % _plain_md(data)
    desc += " Delivered at least once: deduplicate on the event id."
    params = []
    for name, text, schema in HEADERS:
        s = dict(schema)
        if name == "X-PM-Event":
            s["const"] = type_
        params.append({"name": name, "in": "header", "required": True, "description": text, "schema": s})
    when_s = _when(type_)
    return {"post": {
        "operationId": _op_id(type_),
        "summary": "%s%s" % (type_, (": " + _plain_md(when_s)) if when_s else ""),
        "description": desc,
        "tags": ["notifications"],
        "security": [],
        "parameters": params,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": webhook_schema(type_, bodies), "example": example}}},
        "responses": {"2XX": {"description": "Received: any 2xx ends the delivery; anything else, a"
                                             " redirect or no answer is retried with backoff."}},
    }}


PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$/-]*$")
PLAIN_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _ystr(s):
    # double-quoted JSON is YAML; \" becomes \u0022 so that no reader mistakes it for the quote's end
    return json.dumps(s, ensure_ascii=False).replace('\\"', "\\u0022")


def _ykey(k):
    if PLAIN_KEY.match(k) and k.lower() not in YAML11_WORDS:
        return k
    return "'%s'" % k if "'" not in k and "#" not in k else _ystr(k)


def _yscalar(v, quote=False):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, str):
        plain = not quote and PLAIN_VALUE.match(v) and v.lower() not in YAML11_WORDS
        return v if plain else _ystr(v)
    if v == {}:
        return "{}"
    if v == []:
        return "[]"
    raise TypeError(v)


def _yflow_ok(v):
    """A short list of plain words, written [a, b]."""
    return (isinstance(v, list) and v and len(", ".join(map(str, v))) < 90
            and all(isinstance(x, str) and PLAIN_VALUE.match(x) for x in v))


def _yflow(v):
    return "[" + ", ".join(x if x.lower() not in YAML11_WORDS else "'%s'" % x for x in v) + "]"


def to_yaml(v, indent, quote=False):
    """Block YAML of v (a dict or a list) at indent, as lines; quote: every string
    double-quoted (an example's values, whatever they look like)."""
    pad = " " * indent
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            q = quote or k == "example"
            if not q and k in ("required", "type", "tags") and _yflow_ok(x):
                out.append("%s%s: %s" % (pad, _ykey(k), _yflow(x)))
            elif isinstance(x, (dict, list)) and x:
                out.append("%s%s:" % (pad, _ykey(k)))
                out += to_yaml(x, indent + 2, q)
            else:
                out.append("%s%s: %s" % (pad, _ykey(k), _yscalar(x, q)))
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, (dict, list)) and x:
                sub = to_yaml(x, indent + 2, quote)
                out.append("%s- %s" % (pad, sub[0][indent + 2:]))
                out += sub[1:]
            else:
                out.append("%s- %s" % (pad, _yscalar(x, quote)))
    return out


def openapi_block(examples):
    lines = [BEGIN]
    for _, types in _ordered_types():
        for type_ in types:
            lines += to_yaml({type_: webhook_entry(type_, S["events"][type_], examples[type_])}, 2)
    lines.append(END)
    return lines


def write_openapi(examples):
    text = _read(OPENAPI)
    lines = text.split("\n")
    block = openapi_block(examples)
    if BEGIN in lines and END in lines:
        a, b = lines.index(BEGIN), lines.index(END)
        lines[a:b + 1] = block
    else:
        if "webhooks:" in lines:
            w = lines.index("webhooks:")
            at = next((i for i in range(w + 1, len(lines)) if re.match(r"^[A-Za-z]", lines[i])), len(lines))
        else:
            at = next((i for i, ln in enumerate(lines) if ln.startswith("components:")), len(lines))
            block = ["webhooks:"] + block
        lines[at:at] = block
    new = "\n".join(lines)
    doc = _tp().load_yaml_subset(new)  # never write what test_proto cannot read
    try:
        import yaml
    except ImportError:
        yaml = None
    if yaml is not None:  # nor what PyYAML reads otherwise (test_proto compares them)
        assert yaml.safe_load(new) == doc, "the YAML written reads differently with PyYAML"
    _write_atomic(OPENAPI, new)


def test_party_events_carry_no_id_document(stack):
    """Data minimisation: party.* events carry the contacts the consumers use, never the ID document,
    whether the party came through the API (the drive) or a CSV import (set-based SQL)."""
    want = {"id", "property_id", "kind", "name", "phone", "phones", "email", "key_customer", "created_at",
            "updated_at"}
    party = [e for t in ("party.created", "party.updated") for e in S["events"].get(t, [])]
    assert party, "the drive made no party events"
    for e in party:
        assert set(e["data"]) == want, "%s: %s" % (e["type"], sorted(e["data"]))
    person = [e["data"] for e in party if e["data"]["name"] == SAMPLE["person"]][0]
    assert person["phone"] == SAMPLE["phone"] and person["email"] == SAMPLE["email"], person
    body = "440305" + "19850101" + "777"             # a valid resident ID (MOD 11-2), not the drive's
    imported_id = body + "10X98765432"[sum(int(c) * k for c, k in zip(
        body, [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])) % 11]
    text = ("kind,name,phone,email,id_type,id_number,unit_code,role,start_date\n"
            "person,导入业户,13900139000,import@example.com,resident_id,%s,,,\n" % imported_id)
    r = stack.http("POST", "/v1/properties/%s/imports/parties" % S["pid"], raw=text.encode("utf-8"),
                   token=S["tokens"]["admin"], headers={"Content-Type": "text/csv"})
    assert r.status == 200 and r.json()["imported"] == 1, r
    rows = stack.psql("SELECT data::text FROM tenants.outbox WHERE type = 'party.created'"
                      " AND property_id = '%s' AND data->>'name' = '导入业户'" % S["pid"])
    assert len(rows) == 1, rows
    data = json.loads(rows[0][0])
    assert set(data) == want and data["phones"] == ["13900139000"], data
    # nowhere in any outbox, whatever the type
    for schema in PRODUCERS:
        for number in (SAMPLE["id_number"], imported_id):
            n = stack.psql("SELECT count(*) FROM %s.outbox WHERE data::text LIKE '%%%s%%'" % (schema, number))
            assert n[0][0] == "0", "%s.outbox holds an ID number" % schema


def test_write_examples_when_asked(stack):
    """PM_WRITE_EVENT_EXAMPLES=1: README's section and openapi.yaml's block from this run."""
    assert S.get("events"), "the drive did not run"
    S["examples"] = {t: example_of(t, b) for t, b in S["events"].items()}
    if not WRITE:
        return
    write_readme(S["examples"])
    write_openapi(S["examples"])


# ================================================================ checks
def key_drift(example, real, path="data"):
    """Where the keys of example and real differ, recursively (objects, and a list's first object)."""
    out = []
    if isinstance(example, dict) and isinstance(real, dict):
        if set(example) != set(real):
            only_doc = sorted(set(example) - set(real))
            only_real = sorted(set(real) - set(example))
            out.append("%s: README has %s, the real event %s" % (path, only_doc or "-", only_real or "-"))
        for k in set(example) & set(real):
            out += key_drift(example[k], real[k], "%s.%s" % (path, k))
    elif isinstance(example, list) and isinstance(real, list) and example and real:
        out += key_drift(example[0], real[0], path + "[0]")
    return out


def test_readme_has_an_example_of_each_type(stack):
    assert S.get("events"), "the drive did not run"
    docs = readme_examples()
    problems = []
    for type_, bodies in sorted(S["events"].items()):
        ex = docs.get(type_)
        if ex is None:
            problems.append("%s: no example in README's %r" % (type_, HEADING))
            continue
        if not isinstance(ex, dict) or sorted(ex) != sorted(ENVELOPE) or ex.get("type") != type_:
            problems.append("%s: the example is not a webhook body %s: %s" % (type_, ENVELOPE, sorted(ex)))
            continue
        problems += ["%s: %s" % (type_, d) for d in key_drift(ex["data"], representative(bodies)["data"])]
    listed = {r[0] for r in produced_table()}
    stale = sorted(set(docs) - set(S["events"]) - listed)
    if stale:
        problems.append("README has examples of types nobody produces: %s" % stale)
    assert not problems, "README.md is out of date (PM_WRITE_EVENT_EXAMPLES=1 rewrites it): " + " || ".join(
        problems[:8])


def test_openapi_has_a_webhook_per_type(stack):
    assert S.get("events"), "the drive did not run"
    text = _read(OPENAPI)
    lines = text.split("\n")
    assert BEGIN in lines and END in lines, "proto/openapi.yaml has no generated block (%s ... %s)" % (
        BEGIN.strip(), END.strip())
    doc = _tp().load_yaml_subset(text)
    hooks = doc.get("webhooks") or {}
    docs = readme_examples()
    problems = []
    for type_, bodies in sorted(S["events"].items()):
        entry = hooks.get(type_)
        if not isinstance(entry, dict) or "post" not in entry:
            problems.append("%s: no webhooks entry" % type_)
            continue
        op = entry["post"]
        names = {(p.get("in"), p.get("name")) for p in op.get("parameters", [])}
        for h, _, _ in HEADERS:
            if ("header", h) not in names:
                problems.append("%s: no %s header parameter" % (type_, h))
        media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = media.get("schema")
        if not isinstance(schema, dict):
            problems.append("%s: no request body schema" % type_)
            continue
        js.check_schema(schema, root=doc, where="webhooks.%s" % type_)
        for b in bodies:  # every real event of the type is what the schema says
            errs = js.validate(b, schema, root=doc)
            if errs:
                problems.append("%s: event %s: %s" % (type_, b["id"], "; ".join(errs[:3])))
                break
        if media.get("example") != docs.get(type_):
            problems.append("%s: the example is not README's" % type_)
        elif js.validate(media["example"], schema, root=doc):
            problems.append("%s: the example does not match the schema" % type_)
        if not any(str(s).startswith("2") for s in op.get("responses", {})):
            problems.append("%s: no 2XX response" % type_)
    assert not problems, "proto/openapi.yaml's webhooks are out of date (PM_WRITE_EVENT_EXAMPLES=1): " + \
        " || ".join(problems[:8])


def test_examples_hold_no_personal_data_of_the_drive(stack):
    """The examples use the sample contacts only (the drive's are fake, but the rule is the rule)."""
    docs = readme_examples()
    text = json.dumps(docs, ensure_ascii=False)
    for phone in re.findall(r"(?<![\w-])1[3-9]\d{9}(?![\w-])", text):
        assert phone == SAMPLE["phone"], "a phone number in README's examples: %s" % phone
    for t, ex in docs.items():
        if t.startswith("party."):
            d = ex["data"]
            assert d.get("name") in (SAMPLE["person"], SAMPLE["company"]), "%s: name %r" % (t, d.get("name"))
