"""test_bad_input: a catalogue of bad input over EVERY POST/PUT/PATCH route of
proto/openapi.yaml (read with test_proto's YAML reader, so a new route is in it
the day it is documented), sent as an admin on a real property with real ids in
the path: wrong types for each field, missing fields, bodies that are not
objects, 1 MB strings, deep nesting (10,000 nested arrays and objects, and just
under and over the parser's own nesting limit), invalid UTF-8, NUL bytes (raw
and as \\u0000), lone surrogates, numbers out of range (1e400, -0, 2^63, huge
integers, fractional fen), and CSV of the same kinds for the text/csv routes.

Every answer must be below 500, and every 4xx must have the contract's error
shape (components/schemas/Error). Afterwards every process is still alive and
the stack still answers. Everything found is reported at once.
"""

import json
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import jsonschema_mini as js  # noqa: E402
import test_proto as proto  # noqa: E402  (its YAML reader and openapi helpers)

MB = 1000 * 1000
STATE = {}


# ================================================================ set-up: real ids
def _post(stack, path, body, token=None):
    r = stack.http("POST", path, body=body, token=token or stack.admin_token)
    assert r.status in (200, 201), "set-up %s: %r" % (path, r)
    return r.json()


def _post_eventually(stack, path, body, timeout=15.0):
    """Billing learns of units from events: retry until it knows the unit."""
    deadline = time.monotonic() + timeout
    while True:
        r = stack.http("POST", path, body=body, token=stack.admin_token)
        if r.status in (200, 201) or time.monotonic() > deadline:
            assert r.status in (200, 201), "set-up %s: %r" % (path, r)
            return r.json()
        time.sleep(0.2)


def _ids(stack):
    """Creates one of each thing a write route names in its path; returns
    {param name or 'segment/{id}': id}. Ids no set-up can make (a late fee, a
    webhook delivery) are random UUIDs: the route must still answer well."""
    if STATE:
        return STATE
    tag = uuid.uuid4().hex[:6].upper()
    p = _post(stack, "/v1/properties", {"code": "BAD-" + tag, "name": "坏输入园区", "timezone": "Asia/Shanghai"})
    pid = p["id"]
    base = "/v1/properties/" + pid
    uid = _post(stack, base + "/units", {"code": "A-1", "area_m2": 85.5, "use": "residential"})["id"]
    party = _post(stack, base + "/parties", {"kind": "person", "name": "张三", "phones": ["13800138000"]})["id"]
    occ = _post(stack, "%s/units/%s/occupancies" % (base, uid),
                {"party_id": party, "role": "owner", "start_date": "2026-01-01"})["id"]
    space = _post(stack, base + "/parking-spaces", {"code": "B2-001"})["id"]
    lease = _post(stack, base + "/parking-leases", {"space_id": space, "party_id": party,
                                                    "start_date": "2026-01-01", "monthly_fee": 30000})["id"]
    tid = _post(stack, base + "/tickets", {"type": "repair", "title": "漏水"})["id"]
    faq = _post(stack, base + "/faq", {"question": "停车怎么收费?", "answer": "每月300元"})["id"]
    cal = _post(stack, base + "/sla-calendars", {"name": "工作日", "timezone": "Asia/Shanghai",
                                                 "weekly": {"mon": [["09:00", "18:00"]]}})["id"]
    pay = _post_eventually(stack, base + "/payments", {"unit_id": uid, "amount": 10000, "method": "cash"})
    dep = _post_eventually(stack, base + "/deposits", {"unit_id": uid, "amount": 5000})
    user = _post(stack, "/v1/users", {"username": "bad-tech-" + tag.lower(), "password": "Tech-pass-1234!",
                                      "role": "technician", "property_ids": [pid]})
    # a second admin for the /v1/auth routes: bad input to logout must not
    # log out the token the rest of the catalogue uses
    _post(stack, "/v1/users", {"username": "bad-admin-" + tag.lower(), "password": "Admin-pass-1234!",
                               "role": "admin"})
    hook = stack.http("POST", "/v1/webhooks", token=stack.admin_token,
                      body={"url": "https://hooks.example.com/pm", "events": ["ticket.created"],
                            "secret": "whsec-" + "x" * 24, "property_ids": [pid]})
    notes = stack.http("GET", "/v1/notifications", token=stack.admin_token)
    items = notes.json().get("items", []) if notes.status == 200 else []
    STATE.update({
        "pid": pid, "uid": uid, "party_id": party, "oid": occ, "tid": tid, "faq_id": faq, "cid": cal,
        "payment_id": pay.get("id") or pay.get("payment", {}).get("id") or str(uuid.uuid4()),
        "deposit_id": dep.get("id") or str(uuid.uuid4()),
        "parking-leases/{id}": lease, "users/{id}": user.get("id") or str(uuid.uuid4()),
        "webhooks/{id}": hook.json()["id"] if hook.status == 201 else str(uuid.uuid4()),
        "notifications/{id}": items[0]["id"] if items else str(uuid.uuid4()),
        "event_type": "ticket.created", "locale": "zh-CN",
        "admin2": stack.login("bad-admin-" + tag.lower(), "Admin-pass-1234!"),
    })
    return STATE


def _fill(path, ids):
    """The path with each {param} replaced by a real id (or a random UUID)."""
    out = []
    segs = path.split("/")
    for i, s in enumerate(segs):
        if s.startswith("{") and s.endswith("}"):
            name = s[1:-1]
            key = "%s/%s" % (segs[i - 1], s)
            out.append(ids.get(key) or ids.get(name) or str(uuid.uuid4()))
        else:
            out.append(s)
    return "/".join(out)


# ================================================================ the catalogue
class Raw:
    """A JSON value written as is (numbers JSON has but Python would not print)."""

    def __init__(self, text):
        self.text = text


def _dump(value):
    """JSON text of value, with Raw parts spliced in."""
    raws = []

    def enc(v):
        if isinstance(v, Raw):
            raws.append(v.text)
            return "\x00RAW%d\x00" % (len(raws) - 1)
        if isinstance(v, dict):
            return {k: enc(x) for k, x in v.items()}
        if isinstance(v, list):
            return [enc(x) for x in v]
        return v

    text = json.dumps(enc(value), ensure_ascii=False)
    for i, r in enumerate(raws):
        text = text.replace('"\\u0000RAW%d\\u0000"' % i, r)
    return text.encode("utf-8")


NUMBERS = [Raw("1e400"), Raw("-1e400"), Raw("-0"), Raw("-0.0"), Raw(str(2 ** 63)), Raw(str(-2 ** 63 - 1)),
           Raw(str(2 ** 64 + 1)), Raw("1" + "0" * 400), Raw("0.5"), Raw("100.005"), Raw("1e-400"), Raw("-1")]


# Strings that reach dates, timestamps, UUIDs, SQL and templates.
STRINGS = ["", " ", "\t\n", "0", "-1", "1e400", "NaN", "infinity", "-infinity", "2026-02-30", "0000-00-00",
           "0001-01-01", "9999-12-31", "10000-01-01", "2026-01-01T25:00:00Z", "275760-09-13T00:00:00Z",
           "2026-01-01T00:00:00+99:99", "00000000-0000-0000-0000-000000000000",
           "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "' OR 1=1 --", "%s%n%x", "{{title}}{{", "\u202e\u2028",
           "\U0001F600" * 100, "a" * 65536]


def _wrong(schema):
    """Values of the wrong type for a property schema."""
    t = schema.get("type")
    types = t if isinstance(t, list) else [t]
    if "string" in types:
        return [12345, ["x"], {"x": "y"}, True]
    if "integer" in types or "number" in types:
        return ["12", [1], {"n": 1}, True]
    if "boolean" in types:
        return ["true", 1, None]
    if "array" in types:
        return ["x", {"0": "x"}, [[[[1]]]], [None, 1, "x", {}]]
    if "object" in types:
        return ["x", [1], 1]
    return [[], {}, 1, "x"]


def _plausible(name, schema, ids):
    """A value of the right type, so a variant's other fields look real."""
    t = schema.get("type")
    t = t[0] if isinstance(t, list) else t
    if schema.get("enum"):
        return schema["enum"][0]
    if t == "string":
        if schema.get("format") == "uuid" or name.endswith("_id"):
            return ids.get(name) or ids["uid"]
        if schema.get("format") == "date" or name.endswith("_date"):
            return "2026-03-01"
        return "x"
    if t in ("integer", "number"):
        return 1
    if t == "boolean":
        return True
    if t == "array":
        return []
    if t == "object":
        return {}
    return "x"


def _inner_variants(k, schema, base, ids):
    """Bad values one level down: the items of an array of objects, the
    members of an object, each in turn wrong."""
    out = []
    items = schema.get("items") or {}
    inner = items.get("properties") if items.get("type") == "object" else None
    members = schema.get("properties") if schema.get("type") == "object" else None
    for props, wrap in ((inner, lambda v: [v]), (members, lambda v: v)):
        if not props:
            continue
        good = {n: _plausible(n, s, ids) for n, s in props.items()}
        for n, s in props.items():
            for i, w in enumerate(_wrong(s) + [NUMBERS[0], NUMBERS[4], "", "a" * 65536]):
                out.append(("%s.%s: bad %d" % (k, n, i), _dump(dict(base, **{k: wrap(dict(good, **{n: w}))}))))
    if items and not inner:
        for i, w in enumerate(_wrong(items) + [NUMBERS[0], NUMBERS[4], "", "a" * 65536, None]):
            out.append(("%s[]: bad %d" % (k, i), _dump(dict(base, **{k: [w]}))))
        out.append(("%s: 10,000 items" % k, _dump(dict(base, **{k: [_plausible(k, items, ids)] * 10000}))))
    return out


def _nest(depth, open_="[", close="]"):
    return (open_ * depth + close * depth).encode()


def _nest_obj(depth):
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def _variants(schema, ids):
    """[(label, body bytes)] for a JSON route's request schema (maybe empty)."""
    props = schema.get("properties") or {}
    base = {k: _plausible(k, s, ids) for k, s in props.items()}
    required = schema.get("required") or []
    out = [
        ("empty object", b"{}"),
        ("only required, nulls", _dump({k: None for k in required})),
        ("array", b"[1,2]"), ("string", b'"x"'), ("number", b"1"), ("null", b"null"), ("true", b"true"),
        ("empty body with json type", b""),
        ("10,000 nested arrays", _nest(10000)),
        ("10,000 nested objects", _nest_obj(10000)),
        ("nesting 997", _nest(997)), ("nesting 999", _nest(999)), ("nesting 1000", _nest(1000)),
        ("invalid UTF-8 in a string", b'{"x":"\xff\xfe"}'),
        ("overlong UTF-8", b'{"x":"\xc0\xaf"}'),
        ("UTF-8 surrogate", b'{"x":"\xed\xa0\x80"}'),
        ("truncated UTF-8", b'{"x":"\xe4\xb8"}'),
        ("invalid UTF-8 in a key", b'{"\xff":1}'),
        ("raw NUL", b'{"x":"a\x00b"}'),
        ("NUL after the document", b"{}\x00"),
        ("trailing garbage", b"{} {}"),
        ("lone surrogate escape", b'{"x":"\\ud800"}'),
        ("duplicate keys", b'{"a":1,"a":"x"}'),
        ("1 MB key", ('{"' + "k" * MB + '":1}').encode()),
    ]
    if not props:
        return out
    for k, s in props.items():
        for i, w in enumerate(_wrong(s)):
            out.append(("%s: wrong type %d" % (k, i), _dump(dict(base, **{k: w}))))
        out.append(("%s: 10,000 nested arrays" % k,
                    _dump(dict(base, **{k: Raw("[" * 10000 + "]" * 10000)}))))
        out.append(("%s: nesting 997" % k, _dump(dict(base, **{k: Raw("[" * 997 + "]" * 997)}))))
        for n in NUMBERS:
            out.append(("%s = %s" % (k, n.text[:20]), _dump(dict(base, **{k: n}))))
        for j, text in enumerate(STRINGS):
            out.append(("%s: string %d" % (k, j), _dump(dict(base, **{k: text}))))
        out += _inner_variants(k, s, base, ids)
    for k in required:
        out.append(("missing %s" % k, _dump({x: v for x, v in base.items() if x != k})))
    out.append(("every field wrong", _dump({k: _wrong(s)[0] for k, s in props.items()})))
    strings = [k for k, s in props.items() if "string" in str(s.get("type"))]
    if strings:
        out.append(("%s: 1 MB ASCII" % strings[0], _dump(dict(base, **{strings[0]: "x" * MB}))))
        out.append(("%s: 1 MB of CJK" % strings[-1], _dump(dict(base, **{strings[-1]: "中" * (MB // 3)}))))
        out.append(("\\u0000 in every string", _dump(dict(base, **{k: "a\u0000b" for k in strings}))))
        out.append(("control characters in every string",
                    _dump(dict(base, **{k: "a\u0001\u001b[31m\u007f\u2028b" for k in strings}))))
        out.append(("every number out of range",
                    _dump(dict(base, **{k: Raw("1e400") for k, s in props.items()
                                        if s.get("type") in ("integer", "number")}))))
    return out


CSV_VARIANTS = [
    ("csv: empty", b""),
    ("csv: header only", b"code,area_m2,use\n"),
    ("csv: invalid UTF-8", b"code,area_m2,use\nA-1,1,\xff\xfe\n"),
    ("csv: NUL bytes", b"code,area_m2,use\nA-\x00,1,office\n"),
    ("csv: 1 MB field", b"code,area_m2,use\n" + b"x" * MB + b",1,office\n"),
    ("csv: 1 MB quoted field", b'code,area_m2,use\n"' + b'""' * (MB // 2) + b'",1,office\n'),
    ("csv: unclosed quote", b'code,area_m2,use\n"A-1,1,office\n'),
    ("csv: 10,000 columns", b",".join([b"c"] * 10000) + b"\n"),
    ("csv: 50,000 blank lines", b"code,area_m2,use\n" + b"\n" * 50000),
    ("csv: numbers out of range", b"unit_code,amount,method,code,area_m2,use\n"
                                  b"A-1,1e400,cash,A-9,1e400,office\nA-1,-0,cash,A-8,-0,office\n"
                                  b"A-1,9223372036854775808,cash,A-7,99999999999999999999,office\n"
                                  b"A-1,0.5,cash,A-6,0.001,office\n"),
    ("csv: formula injection", b"code,area_m2,use,building\n=HYPERLINK(\"x\"),1,office,@SUM(1)\n"),
    ("csv: lone CR rows", b"code,area_m2,use\rA-1,1,office\r\r\r"),
    ("csv: timestamps PostgreSQL refuses", b"unit_code,amount,method,paid_at\n"
                                           b"A-1,100,cash,2026-01-01T25:00:00Z\n"
                                           b"A-1,100,cash,2026-01-01T00:00:00+99:99\n"
                                           b"A-1,100,cash,0000-01-01\n"),
]


def test_bad_input_catalogue(stack):
    ids = _ids(stack)
    doc = proto.load_openapi()
    err_schema = doc["components"]["schemas"]["Error"]
    # logout last: its first variant may end the token it is sent with
    ops = sorted(((k, v) for k, v in proto.openapi_operations(doc).items() if k[0] in ("POST", "PUT", "PATCH")),
                 key=lambda kv: (kv[0][1] == "/v1/auth/logout", kv[0][1], kv[0][0]))
    assert len(ops) >= 40, "only %d write routes in openapi.yaml?" % len(ops)
    problems = []
    sent = 0
    statuses = {}
    unauthenticated = []   # a bad request must reach the route's checks, not bounce at the door
    t0 = time.monotonic()
    for (method, path), op in ops:
        url = _fill(path, ids)
        token = ids["admin2"] if path.startswith("/v1/auth/") else stack.admin_token
        rb = proto._deref(doc, op.get("requestBody") or {})
        content = rb.get("content") or {}
        cases = []
        if "application/json" in content or not content:
            schema = proto._deref(doc, (content.get("application/json") or {}).get("schema") or {})
            cases += [(label, "application/json", body) for label, body in _variants(schema, ids)]
        if "text/csv" in content:
            cases += [(label, "text/csv", body) for label, body in CSV_VARIANTS]
            cases.append(("csv: charset gbk, not GBK", "text/csv; charset=gbk", b"code\n\x80\n"))
            cases.append(("csv: charset unknown", "text/csv; charset=\"x\x01\"", b"code\n"))
        for label, ctype, body in cases:
            headers = {"Content-Type": ctype}
            try:
                r = stack.http(method, url, raw=body, token=token, headers=headers, timeout=30)
            except OSError as e:
                problems.append("%s %s [%s]: no answer (%s)" % (method, path, label, e))
                continue
            sent += 1
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 401 and path not in ("/v1/auth/logout", "/v1/auth/login"):
                unauthenticated.append("%s %s" % (method, path))
            what = "%s %s [%s]" % (method, path, label)
            if r.status >= 500:
                problems.append("%s: %d %s" % (what, r.status, r.body[:200]))
            elif r.status >= 400:
                if not r.headers.get("content-type", "").startswith("application/json"):
                    problems.append("%s: %d without a JSON body" % (what, r.status))
                    continue
                try:
                    errs = js.validate(r.json(), err_schema)
                except ValueError:
                    errs = ["not JSON: %r" % r.body[:100]]
                if errs:
                    problems.append("%s: %d not the contract's error shape: %s" % (what, r.status, errs[:2]))
        dead = stack.dead()
        if dead:
            problems.append("after %s %s: %s died; last lines:\n%s"
                            % (method, path, dead[0].name, dead[0].tail(15)))
            break
    elapsed = time.monotonic() - t0
    print("# %d bad requests in %.1f s; statuses %s" % (sent, elapsed, sorted(statuses.items())))
    assert not problems, "%d of %d bad requests answered badly (%.0f s):\n%s" % (
        len(problems), sent, elapsed, "\n".join(problems[:40]))
    assert sent > 1000, "only %d requests sent" % sent
    assert not unauthenticated, "401 for an admin's token (set-up broken?): %s" % sorted(set(unauthenticated))


def test_stack_still_answers(stack):
    assert not stack.dead(), "dead: %r" % stack.dead()
    r = stack.http("GET", "/readyz")
    assert r.status == 200, "readyz after the catalogue: %r" % r
    pid = _ids(stack)["pid"]
    r = stack.http("GET", "/v1/properties/%s/units?limit=5" % pid, token=stack.admin_token)
    assert r.status == 200 and r.json()["items"], "units after the catalogue: %r" % r
    r = stack.http("POST", "/v1/properties/%s/units" % pid, token=stack.admin_token,
                   body={"code": "AFTER-1", "area_m2": 10, "use": "office"})
    assert r.status == 201, "a good write after the catalogue: %r" % r
