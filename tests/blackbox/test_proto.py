"""test_proto: the messages on the wire and the HTTP API match proto/.

The broker appends every request and reply it forwards to PM_BROKER_TAP as
JSON lines {"kind": "request"|"reply", "service", "msg"}. These tests drive
real HTTP calls, then check that
- every tapped request matches proto/request.schema.json and every reply
  proto/reply.schema.json, and every event a reply carries proto/event.schema.json;
- every method that crossed the broker is in proto/methods.md, and the gateway
  maps each route to the method methods.md names;
- the gateway's replies become the HTTP responses unchanged;
- proto/openapi.yaml lists every route of the gateway's route table (read from
  its C source), every documented operation answers over HTTP (not 404/405),
  with a status the document lists and a body matching its schema;
- the outbox rows are well-formed events of a type proto/events.md lists.
The JSON Schema validator (jsonschema_mini) and the YAML reader are tested
here too. Python 3 standard library only.
"""

import atexit
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROTO = os.path.join(ROOT, "proto")
sys.path.insert(0, HERE)
import jsonschema_mini as js  # noqa: E402

try:  # only to cross-check the YAML reader below; never required
    import yaml as _pyyaml
except ImportError:
    _pyyaml = None

# The stack's temp dir is not known before it starts, so the tap goes to a
# fixed path of this process.
TAP = os.path.join(tempfile.gettempdir(), "pm-proto-tap-%d.jsonl" % os.getpid())
if os.path.exists(TAP):
    os.unlink(TAP)
atexit.register(lambda: os.path.exists(TAP) and os.unlink(TAP))

STACK = dict(env={"PM_BROKER_TAP": TAP, "PM_BROKER_TAP_I_KNOW": "1"})

RUN = secrets.token_hex(4)
_STATE = {}  # stack.tmpdir -> what _drive did


# ================================================================ helpers
def _load_schema(name):
    return js.load(os.path.join(PROTO, name))


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _rid(tag):
    return "proto-%s-%s" % (tag, RUN)


def _short(x, n=300):
    s = json.dumps(x, ensure_ascii=False) if not isinstance(x, str) else x
    return s if len(s) <= n else s[:n] + "..."


def read_tap(path=TAP):
    """The tapped records, in order; a half-written last line is left out."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8")
    except FileNotFoundError:
        return []
    out = []
    lines = data.split("\n")
    for n, line in enumerate(lines[:-1] if not data.endswith("\n") else lines, 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        msg = rec.get("msg")
        if isinstance(msg, str):  # a tap may also carry the message as its text
            rec["msg"] = json.loads(msg)
        out.append(rec)
    return out


def _until(what, fn, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.0f s" % (what, timeout))
        time.sleep(step)


# ---------------------------------------------------------------- YAML subset
class YamlSubsetError(Exception):
    pass


def load_yaml_subset(text):
    """The YAML subset proto/openapi.yaml is written in: block mappings and
    sequences, plain and quoted scalars, | and > block scalars, one-line flow
    sequences and mappings of scalars, # comments. Anything else raises
    YamlSubsetError, so openapi.yaml cannot drift into YAML this does not read."""
    lines = []
    for n, raw in enumerate(text.split("\n"), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError("line %d: tab in indentation" % n)
        lines.append([len(raw) - len(raw.lstrip(" ")), raw.strip(" "), n, raw])

    def blank(i):
        t = lines[i][1]
        return t == "" or t.startswith("#")

    def skip(i):
        while i < len(lines) and blank(i):
            i += 1
        return i

    def strip_comment(s):
        q = None
        for k, c in enumerate(s):
            if q:
                if c == q:
                    q = None
            elif c in "'\"" and (k == 0 or s[k - 1] in " [{,:"):
                q = c
            elif c == "#" and (k == 0 or s[k - 1] == " "):
                return s[:k].rstrip()
        return s

    def split_key(s):
        """(key, rest) when s is 'key: rest' or 'key:', else None."""
        if s[:1] in "'\"":
            end = s.find(s[0], 1)
            while s[0] == "'" and end != -1 and s[end + 1:end + 2] == "'":
                end = s.find("'", end + 2)
            if end == -1:
                raise YamlSubsetError("unterminated quote: %s" % s)
            rest = s[end + 1:]
            if rest == ":" or rest.startswith(": "):
                return scalar(s[:end + 1]), rest[1:].strip()
            return None
        m = re.match(r"^([^\s#'\"\[\]{},][^#]*?):(?: |$)", s)
        if not m or s.startswith("- ") or s == "-":
            return None
        return m.group(1), s[m.end():].strip()

    def scalar(s):
        s = s.strip()
        if s.startswith("'"):
            if not s.endswith("'") or len(s) < 2:
                raise YamlSubsetError("bad single-quoted scalar: %s" % s)
            return s[1:-1].replace("''", "'")
        if s.startswith('"'):
            return json.loads(s)
        if s.startswith("[") or s.startswith("{"):
            v, k = flow(s, 0)
            if s[k:].strip():
                raise YamlSubsetError("text after a flow collection: %s" % s)
            return v
        if s in ("", "~", "null"):
            return None
        if s == "true":
            return True
        if s == "false":
            return False
        if re.match(r"^[-+]?[0-9]+$", s):
            return int(s)
        if re.match(r"^[-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?$", s):
            return float(s)
        if s[0] in "&*!|>%@`" or s in ("yes", "no", "on", "off", "Yes", "No", "True", "False"):
            raise YamlSubsetError("YAML this reader does not take: %s" % s)
        if ": " in s or s.endswith(":"):
            raise YamlSubsetError("a plain scalar with ': ' (quote it): %s" % s)
        return s

    def flow(s, k):
        """A flow sequence or mapping of scalars at s[k]: (value, end)."""
        close = "]" if s[k] == "[" else "}"
        out = [] if close == "]" else {}
        k += 1
        while True:
            while k < len(s) and s[k] == " ":
                k += 1
            if k < len(s) and s[k] == close:
                return out, k + 1
            if k >= len(s):
                raise YamlSubsetError("unterminated flow collection: %s" % s)
            if s[k] in "[{":
                item, k = flow(s, k)
            else:
                m = re.match(r"""('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^,\]}]*)""", s[k:])
                tok = m.group(1)
                k += len(tok)
                if close == "}":
                    kk = tok.find(": ") if tok[:1] not in "'\"" else -1
                    if kk < 0:
                        raise YamlSubsetError("a flow mapping needs key: value: %s" % s)
                    item = (scalar(tok[:kk]), scalar(tok[kk + 2:]))
                else:
                    item = scalar(tok)
            if close == "]":
                out.append(item)
            else:
                out[item[0]] = item[1]
            while k < len(s) and s[k] == " ":
                k += 1
            if k < len(s) and s[k] == ",":
                k += 1
            elif k < len(s) and s[k] == close:
                return out, k + 1
            else:
                raise YamlSubsetError("bad flow collection: %s" % s)

    def block_scalar(i, indent, style):
        """The lines after a | or > indicator: (text, next line)."""
        body = []
        j = i
        block_indent = None
        while j < len(lines):
            ind, t = lines[j][0], lines[j][1]
            if t == "":
                body.append("")
                j += 1
                continue
            if ind <= indent:
                break
            if block_indent is None:
                block_indent = ind
            body.append(lines[j][3][block_indent:])
            j += 1
        while body and body[-1] == "":
            body.pop()
        if style[0] == "|":
            text = "\n".join(body)
        else:
            text, prev_blank = "", True
            for ln in body:
                if ln == "":
                    text += "\n"
                    prev_blank = True
                elif ln.startswith(" "):
                    text += ("\n" if not prev_blank else "") + ln
                    prev_blank = False
                else:
                    text += ("" if prev_blank else " ") + ln
                    prev_blank = False
        if style[1:] != "-" and body:
            text += "\n"
        return text, j

    def node(i, indent):
        t = lines[i][1]
        if t == "-" or t.startswith("- "):
            return seq(i, indent)
        return mapping(i, indent)

    def value_after(rest, i, indent):
        """The value of 'key: rest' or '- rest' whose next line is i: (value, next)."""
        rest = strip_comment(rest)
        if rest in ("|", "|-", ">", ">-"):
            return block_scalar(i, indent, rest)
        if rest:
            return scalar(rest), i
        j = skip(i)
        if j < len(lines) and lines[j][0] > indent:
            return node(j, lines[j][0])
        if j < len(lines) and lines[j][0] == indent and (lines[j][1] == "-" or lines[j][1].startswith("- ")):
            return seq(j, indent)
        return None, i

    def mapping(i, indent):
        out = {}
        while True:
            i = skip(i)
            if i >= len(lines) or lines[i][0] < indent:
                return out, i
            if lines[i][0] > indent:
                raise YamlSubsetError("line %d: unexpected indentation" % lines[i][2])
            kv = split_key(lines[i][1])
            if kv is None:
                if lines[i][1] == "-" or lines[i][1].startswith("- "):
                    return out, i  # a sequence at the parent's level ends this mapping
                raise YamlSubsetError("line %d: expected key: value" % lines[i][2])
            key, rest = kv
            if key in out:
                raise YamlSubsetError("line %d: duplicate key %r" % (lines[i][2], key))
            out[key], i = value_after(rest, i + 1, indent)

    def seq(i, indent):
        out = []
        while True:
            i = skip(i)
            if i >= len(lines) or lines[i][0] != indent:
                return out, i
            t = lines[i][1]
            if not (t == "-" or t.startswith("- ")):
                return out, i
            rest = t[1:].lstrip(" ")
            col = indent + len(t) - len(rest)
            if rest == "-" or rest.startswith("- "):
                lines[i] = [col, rest, lines[i][2], " " * col + rest]
                v, i = seq(i, col)
            elif rest and not rest.startswith("#") and split_key(rest) is not None:
                lines[i] = [col, rest, lines[i][2], " " * col + rest]
                v, i = mapping(i, col)
            else:
                v, i = value_after(rest, i + 1, indent)
            out.append(v)

    i = skip(0)
    if i >= len(lines):
        return None
    v, i = node(i, lines[i][0])
    i = skip(i)
    if i < len(lines):
        raise YamlSubsetError("line %d: unexpected text" % lines[i][2])
    return v


def load_openapi():
    return load_yaml_subset(_read(os.path.join(PROTO, "openapi.yaml")))


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def openapi_operations(doc):
    """{(METHOD, path): operation}."""
    out = {}
    for path, item in doc["paths"].items():
        for m in HTTP_METHODS:
            if m in item:
                out[(m.upper(), path)] = item[m]
    return out


def _deref(doc, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        obj = js.resolve(doc, obj["$ref"])
    return obj


# ---------------------------------------------------------------- methods.md / events.md
ROUTE_RE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")


def methods_table():
    """Rows of methods.md's table: [(method, called_by, route or None)]."""
    rows = []
    for line in _read(os.path.join(PROTO, "methods.md")).splitlines():
        m = re.match(r"^\|\s*`([a-z0-9_-]+(?:\.[a-z0-9_]+)+)`\s*\|(.*)\|(.*)\|\s*$", line)
        if m:
            r = ROUTE_RE.search(m.group(3))
            rows.append((m.group(1), m.group(2).strip(), (r.group(1), r.group(2)) if r else None))
    return rows


def event_types_now():
    """The types in events.md's "Types produced now" table."""
    text = _read(os.path.join(PROTO, "events.md"))
    section = text.split("## Types produced now", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\|\s*`([a-z_]+\.[a-z_]+)`", section, re.M))


GW_ROUTE_RE = re.compile(
    r'\{\s*\{\s*"(GET|POST|PUT|PATCH|DELETE|HEAD)"\s*,\s*"(/[^"]*)"\s*\}\s*,'  # { { "GET", "/path" },
    r'\s*(NULL|"[^"]*")\s*,\s*(\w+)\s*,\s*([^,{}]+?)\s*,\s*([^,{}]+?)\s*\}')   # method, handler, roles, flags }


def gateway_routes_in_source():
    """{(METHOD, pattern): (service method or None, roles, flags)}: the gateway's
    route table (gw_route_t initializers), read from services/gateway/*.c."""
    out = {}
    gw = os.path.join(ROOT, "services", "gateway")
    for name in sorted(os.listdir(gw)):
        if name.endswith(".c"):
            src = re.sub(r"/\*.*?\*/", " ", _read(os.path.join(gw, name)), flags=re.S)
            for m in GW_ROUTE_RE.finditer(src):
                svc = None if m.group(3) == "NULL" else m.group(3).strip('"')
                out[(m.group(1), m.group(2))] = (svc, m.group(5), m.group(6))
    return out


def team_notes_routes():
    """{(METHOD, path): method} of docs/TEAM-NOTES.md's route table (may be empty)."""
    out = {}
    path = os.path.join(ROOT, "docs", "TEAM-NOTES.md")
    if not os.path.exists(path):
        return out
    for line in _read(path).splitlines():
        m = re.match(r"^\|\s*(GET|POST|PUT|PATCH|DELETE) (/\S+)\s*\|\s*([a-z0-9_.]+)", line)
        if m:
            out[(m.group(1), m.group(2))] = m.group(3)
    return out


# ---------------------------------------------------------------- traffic
def _drive(stack):
    """Real HTTP calls, once per stack: what the other tests look at."""
    if stack.tmpdir in _STATE:
        return _STATE[stack.tmpdir]
    tok = stack.admin_token
    calls = []

    def call(tag, method, path, route, body=None, expect=None):
        rid = _rid(tag)
        r = stack.http(method, path, body=body, token=tok, headers={"X-Request-Id": rid})
        calls.append(dict(tag=tag, method=method, path=path, route=route, rid=rid, body=body, resp=r))
        assert expect is None or r.status == expect, "%s %s: want %d, got %r" % (method, path, expect, r)
        return r

    code = "PROTO-" + RUN.upper()
    r = call("prop-create", "POST", "/v1/properties", ("POST", "/v1/properties"),
             {"code": code, "name": "协议测试园区", "address": "深圳市南山区科苑路15号",
              "timezone": "Asia/Shanghai"}, 201)
    pid = r.json()["id"]
    call("prop-list", "GET", "/v1/properties?limit=5", ("GET", "/v1/properties"), expect=200)
    call("prop-get", "GET", "/v1/properties/" + pid, ("GET", "/v1/properties/{pid}"), expect=200)
    units = "/v1/properties/%s/units" % pid
    r = call("unit-create", "POST", units, ("POST", "/v1/properties/{pid}/units"),
             {"code": "A-1201", "building": "A", "floor": "12", "area_m2": 85.5, "use": "office"}, 201)
    uid = r.json()["id"]
    call("unit-create2", "POST", units, ("POST", "/v1/properties/{pid}/units"),
         {"code": "P-B2-001", "area_m2": 12.5, "use": "parking"}, 201)
    call("unit-dup", "POST", units, ("POST", "/v1/properties/{pid}/units"),
         {"code": "A-1201", "area_m2": 10, "use": "office"}, 409)
    call("unit-invalid", "POST", units, ("POST", "/v1/properties/{pid}/units"),
         {"code": "", "area_m2": 1.234, "use": "castle"}, 422)
    call("unit-list", "GET", units + "?q=A-12&use=office&building=A&limit=10",
         ("GET", "/v1/properties/{pid}/units"), expect=200)
    call("unit-get", "GET", "%s/%s" % (units, uid), ("GET", "/v1/properties/{pid}/units/{uid}"), expect=200)
    call("unit-patch", "PATCH", "%s/%s" % (units, uid), ("PATCH", "/v1/properties/{pid}/units/{uid}"),
         {"area_m2": 90.25, "floor": None}, 200)
    call("unit-missing", "GET", "%s/%s" % (units, uuid.uuid4()),
         ("GET", "/v1/properties/{pid}/units/{uid}"), expect=404)
    call("prop-missing", "GET", "/v1/properties/%s" % uuid.uuid4(),
         ("GET", "/v1/properties/{pid}"), expect=404)

    rids = {c["rid"] for c in calls}

    def all_replied():
        seen = {rec["msg"].get("id") for rec in read_tap() if rec.get("kind") == "reply"}
        return rids <= seen

    _until("every call's reply in the tap %s" % TAP, all_replied, 5.0)
    st = dict(pid=pid, uid=uid, code=code, calls=calls)
    _STATE[stack.tmpdir] = st
    return st


def _tapped(rid, kind):
    return [rec for rec in read_tap() if rec.get("kind") == kind and rec["msg"].get("id") == rid]


# ================================================================ the validator
def test_jsonschema_mini_validates_and_refuses(stack):
    s = {
        "$defs": {"id": {"type": "string", "format": "uuid"}, "area": {"type": "number", "multipleOf": 0.01}},
        "type": "object", "required": ["id", "n"], "additionalProperties": False,
        "properties": {
            "id": {"$ref": "#/$defs/id"},
            "n": {"type": "integer", "minimum": 1, "maximum": 9},
            "name": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[^x]"},
            "use": {"enum": ["office", 1]},
            "v": {"const": 1},
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "area": {"$ref": "#/$defs/area"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "one": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]},
            "any": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "no": {"not": {"const": 0}},
            "nested": {"$ref": "#"},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "opt": {"type": ["string", "null"]},
        },
    }
    js.check_schema(s)
    good = {"id": str(uuid.uuid4()), "n": 3.0, "name": "园区A", "use": 1, "v": 1.0,
            "at": "2026-11-27T03:14:00.123Z", "day": "2024-02-29", "area": 85.5,
            "tags": ["a"], "one": 1.5, "any": None, "no": 1, "map": {"a": "b"}, "opt": None,
            "nested": {"id": str(uuid.uuid4()), "n": 9}}
    assert js.validate(good, s) == [], js.validate(good, s)
    for area in (0.29, 0.57, 1e8 + 0.01, 100, 0):  # binary doubles that are still 2-decimal numbers
        assert js.is_valid(dict(good, area=area), s), area

    bad = [
        ({"id": "nope"}, "not a uuid"),
        ({"id": str(uuid.uuid4()).replace("-", "")}, "uuid without dashes"),
        ({"n": 0}, "below minimum"), ({"n": 10}, "above maximum"), ({"n": 1.5}, "not an integer"),
        ({"n": True}, "a boolean is not an integer"), ({"n": "3"}, "a string is not an integer"),
        ({"name": "园"}, "too short (code points)"), ({"name": "园区园区园"}, "too long"),
        ({"name": "xyz"}, "pattern"), ({"use": True}, "true is not 1"), ({"use": "hotel"}, "not in enum"),
        ({"v": 2}, "const"), ({"v": "1"}, "const type"),
        ({"at": "2026-11-27 03:14:00Z"}, "no T"), ({"at": "2026-02-30T00:00:00Z"}, "no such day"),
        ({"at": "2026-11-27T24:00:00Z"}, "hour 24"), ({"at": "2026-11-27T03:14:00"}, "no zone"),
        ({"day": "2023-02-29"}, "not a leap year"), ({"area": 1.234}, "3 decimals"),
        ({"area": "85.5"}, "a string is not a number"),
        ({"tags": ["a", 1]}, "item type"), ({"tags": ["a", "b", "c"]}, "maxItems"),
        ({"one": 2}, "matches both oneOf branches"), ({"any": 1}, "matches no anyOf branch"), ({"one": -1.5}, "matches no oneOf branch"),
        ({"no": 0}, "not"), ({"nested": {"id": "x", "n": 1}}, "$ref # recursion"),
        ({"map": {"a": 1}}, "additionalProperties schema"), ({"extra": 1}, "additionalProperties false"),
        ({"opt": 1}, "type list"),
    ]
    for patch, why in bad:
        inst = dict(good, **patch)
        assert js.validate(inst, s), "accepted (%s): %s" % (why, _short(patch))
    missing = dict(good)
    del missing["n"]
    assert any("'n' is required" in e for e in js.validate(missing, s)), js.validate(missing, s)
    assert js.validate([], s) and js.validate(None, s), "the root type is checked"

    # schemas it must refuse rather than half-check
    for schema, why in [
        ({"type": "object", "patternProperties": {"^x": {}}}, "unsupported keyword"),
        ({"type": "strin"}, "unknown type"),
        ({"type": "string", "format": "email"}, "unsupported format"),
        ({"$ref": "#/$defs/missing"}, "unresolvable $ref"),
        ({"$ref": "other.json#/x"}, "remote $ref"),
        ({"properties": {"a": {"minContains": 1}}}, "nested unsupported keyword"),
        ({"oneOf": []}, "empty oneOf"),
        ({"pattern": "("}, "bad regex"),
    ]:
        try:
            js.check_schema(schema)
        except js.SchemaError:
            pass
        else:
            raise AssertionError("check_schema accepted a schema with %s: %s" % (why, _short(schema)))
    try:
        js.validate("x", {"type": "string", "uniqueItems": True})
    except js.SchemaError:
        pass
    else:
        raise AssertionError("validate ran a schema with an unknown keyword")
    try:
        js.check(1, {"type": "string"})
    except js.ValidationError as e:
        assert e.errors and "not of type string" in e.errors[0], e.errors
    else:
        raise AssertionError("check did not raise")


def test_yaml_reader(stack):
    sample = """a: 1 # comment
b: 'it''s'
c: "x\\ny"
d: [a, 'b', 1, 2.5, null, true]
e: { $ref: '#/x', n: 3 }
f: >
  one
  two

  three
g: |-
  keep
   indented
h:
- x
- y: 1
  z: [1]
- - nested
i: ~
'200': 0.01
path/{pid}:
  - name: pid
"""
    want = {"a": 1, "b": "it's", "c": "x\ny", "d": ["a", "b", 1, 2.5, None, True],
            "e": {"$ref": "#/x", "n": 3}, "f": "one two\nthree\n", "g": "keep\n indented",
            "h": ["x", {"y": 1, "z": [1]}, ["nested"]], "i": None, "200": 0.01,
            "path/{pid}": [{"name": "pid"}]}
    got = load_yaml_subset(sample)
    assert got == want, "YAML reader: %s" % _short(got, 1000)
    for bad in ["a: &anchor 1\n", "a: yes\n", "a: b: c\n", "a:\n\tb: 1\n", "a: 1\na: 2\n", "a: [1, 2\n"]:
        try:
            load_yaml_subset(bad)
        except YamlSubsetError:
            continue
        raise AssertionError("YAML reader took %r" % bad)
    text = _read(os.path.join(PROTO, "openapi.yaml"))
    doc = load_yaml_subset(text)
    if _pyyaml is not None:  # where PyYAML happens to be installed, both must agree
        assert doc == _pyyaml.safe_load(text), "the YAML reader and PyYAML read openapi.yaml differently"


# ================================================================ the schemas
REQ_OK = {"v": 1, "id": "req-1", "method": "tenants.units.create",
          "caller": {"user_id": "0d6f6a0e-1f0a-4c55-9a4c-5a1c0d0e0f10", "role": "manager",
                     "property_ids": ["2f0c6a52-1d0e-4b3f-9a51-0c1e2d3f4a5b"]},
          "deadline": 1795000000000,
          "body": {"params": {"pid": "2f0c6a52-1d0e-4b3f-9a51-0c1e2d3f4a5b"},
                   "data": {"code": "A-1201", "area_m2": 85.5, "use": "office"}}}
EVENT_OK = {"v": 1, "id": "8a1f8f0e-3c1b-4b7e-9f6d-2a3b4c5d6e7f", "type": "unit.created",
            "occurred_at": "2026-11-27T03:14:00.123456Z",
            "property_id": "2f0c6a52-1d0e-4b3f-9a51-0c1e2d3f4a5b", "producer": "tenants", "seq": 42,
            "data": {"id": "7d3e2b1a-5c4f-4e6d-8a9b-0c1d2e3f4a5b", "area_m2": 85.5}}


def _with(base, path, value):
    """A deep copy of base with base[path...] = value (value None with delete=True removes)."""
    doc = json.loads(json.dumps(base))
    node = doc
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


_DELETE = object()


def test_schemas_take_good_and_refuse_bad_messages(stack):
    req, rep, ev = (_load_schema(n) for n in ("request.schema.json", "reply.schema.json", "event.schema.json"))
    for name, s in (("request", req), ("reply", rep), ("event", ev)):
        js.check_schema(s)
        assert s.get("$schema") == "https://json-schema.org/draft/2020-12/schema", name

    assert js.validate(REQ_OK, req) == [], js.validate(REQ_OK, req)
    for extra in [_with(REQ_OK, ["body", "data"], None), _with(REQ_OK, ["body", "data"], "code,area_m2\n"),
                  _with(REQ_OK, ["deadline"], _DELETE), _with(REQ_OK, ["caller", "user_id"], _DELETE),
                  _with(REQ_OK, ["caller", "role"], "service"), _with(REQ_OK, ["method"], "broker.stats"),
                  _with(REQ_OK, ["body", "data"], _DELETE), _with(REQ_OK, ["body"], {})]:
        assert js.validate(extra, req) == [], js.validate(extra, req)
    for bad, why in [
        (_with(REQ_OK, ["v"], 2), "v 2"), (_with(REQ_OK, ["id"], "a b"), "id with a space"),
        (_with(REQ_OK, ["id"], "x" * 65), "id over 64"), (_with(REQ_OK, ["id"], ""), "empty id"),
        (_with(REQ_OK, ["method"], "Tenants.units"), "method case"), (_with(REQ_OK, ["method"], "tenants"), "no verb"),
        (_with(REQ_OK, ["caller", "role"], "root"), "unknown role"),
        (_with(REQ_OK, ["caller", "property_ids"], ["x"]), "property id not a uuid"),
        (_with(REQ_OK, ["body", "params", "limit"], 10), "a param that is not a string"),
        (_with(REQ_OK, ["body", "extra"], 1), "extra body key"), (_with(REQ_OK, ["deadline"], 1.5), "fractional deadline"),
        (_with(REQ_OK, ["caller"], _DELETE), "no caller"), (_with(REQ_OK, ["status"], 200), "a reply field"),
    ]:
        assert js.validate(bad, req), "request schema accepted %s" % why

    ok = {"v": 1, "id": "req-1", "status": 201, "body": {"id": "x"}}
    err = {"v": 1, "id": "req-1", "status": 422, "error": {
        "code": "validation_failed", "message": "the unit is not valid",
        "details": [{"field": "area_m2", "problem": "must have at most 2 decimals"}]}}
    for good in [ok, err, _with(ok, ["body"], {}), _with(err, ["id"], ""),
                 _with(_with(err, ["status"], 409), ["error", "code"], "invalid_transition"),
                 _with(_with(err, ["status"], 405), ["error", "code"], "method_not_allowed"),
                 _with(_with(err, ["status"], 418), ["error", "code"], "bad_request"),
                 _with(_with(err, ["status"], 502), ["error", "code"], "internal"),
                 _with(_with(err, ["status"], 503), ["error", "code"], "service_unavailable"),
                 _with(err, ["error", "details"], [])]:
        assert js.validate(good, rep) == [], js.validate(good, rep)
    for bad, why in [
        (_with(ok, ["error"], err["error"]), "body and error"), (_with(ok, ["status"], 404), "404 with a body"),
        (_with(err, ["status"], 200), "200 with an error"), (_with(err, ["status"], 404), "404 validation_failed"),
        (_with(err, ["error", "code"], "nope"), "unknown code"), (_with(err, ["error", "details"], _DELETE), "no details"),
        (_with(err, ["error", "details"], [{"field": "a"}]), "detail without problem"),
        (_with(_with(err, ["status"], 418), ["error", "code"], "internal"), "418 internal"),
        (_with(ok, ["body"], []), "an array body"), (_with(ok, ["id"], ""), "a success without id"),
        (_with(ok, ["v"], _DELETE), "no v"),
    ]:
        assert js.validate(bad, rep), "reply schema accepted %s" % why

    assert js.validate(EVENT_OK, ev) == [], js.validate(EVENT_OK, ev)
    assert js.validate(_with(EVENT_OK, ["property_id"], None), ev) == []
    assert js.validate(_with(EVENT_OK, ["occurred_at"], "2026-11-27T03:14:00Z"), ev) == []
    for bad, why in [
        (_with(EVENT_OK, ["id"], "1"), "id not a uuid"), (_with(EVENT_OK, ["occurred_at"], "2026-11-27T11:14:00+08:00"), "not UTC"),
        (_with(EVENT_OK, ["occurred_at"], "2026-11-27"), "a date"), (_with(EVENT_OK, ["type"], "unit"), "type without a dot"),
        (_with(EVENT_OK, ["seq"], "42"), "seq as a string"), (_with(EVENT_OK, ["data"], _DELETE), "no data"),
        (_with(EVENT_OK, ["producer"], "Tenants"), "producer case"),
    ]:
        assert js.validate(bad, ev), "event schema accepted %s" % why
    page = {"events": [EVENT_OK], "next": "7391:42"}
    assert js.validate(page, ev["$defs"]["read_page"], root=ev) == []
    assert js.validate({"events": [dict(EVENT_OK, cursor="7391:42")], "next": "0:0"}, ev["$defs"]["read_page"], root=ev) == []
    assert js.validate({"events": [], "next": None}, ev["$defs"]["read_page"], root=ev)
    assert js.validate(dict(EVENT_OK, cursor="42"), ev)
    assert js.validate({"events": [{"v": 1}], "next": "1:2"}, ev["$defs"]["read_page"], root=ev)
    assert js.validate({"events": [], "next": "42"}, ev["$defs"]["read_page"], root=ev)


def test_envelope_code_builds_what_the_schemas_say(stack):
    """tests/unit/test_proto_envelope --dump prints what common/envelope.c builds
    for every shape a caller can ask for; each must match its schema."""
    exe = os.path.join(ROOT, os.environ.get("BUILD", "build"), "tests", "test_proto_envelope")
    assert os.access(exe, os.X_OK), "%s missing: build it with make" % exe
    r = subprocess.run([exe, "--dump"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, "test_proto_envelope --dump: exit %d %s" % (r.returncode, r.stderr[-500:])
    schemas = {"request": _load_schema("request.schema.json"), "reply": _load_schema("reply.schema.json")}
    openapi = load_openapi()
    error_body = openapi["components"]["schemas"]["Error"]
    n = 0
    for line in r.stdout.decode("utf-8").splitlines():
        case = json.loads(line)
        n += 1
        if case["kind"] == "error_body":
            errs = js.validate(case["msg"], error_body, root=openapi)
        else:
            errs = js.validate(case["msg"], schemas[case["kind"]])
        if case["valid"]:
            assert not errs, "%s %s: %s\n%s" % (case["kind"], case["name"], errs[:3], _short(case["msg"]))
        else:
            assert errs, "%s %s is accepted but must not be: %s" % (case["kind"], case["name"], _short(case["msg"]))
    assert n >= 5, "test_proto_envelope --dump printed %d cases" % n


# ================================================================ openapi.yaml
def test_openapi_is_whole(stack):
    doc = load_openapi()
    assert str(doc.get("openapi", "")).startswith("3.1."), doc.get("openapi")
    desc = doc["info"]["description"]
    for word in ("fen", "next_cursor", "request_id", "Idempotency-Key", "X-Request-Id", "validation_failed"):
        assert word in desc, "info.description does not explain %s" % word
    ops = openapi_operations(doc)
    gw = gateway_routes_in_source()

    # every schema of the document uses only what jsonschema_mini checks
    for name, schema in doc["components"]["schemas"].items():
        js.check_schema(schema, root=doc, where="components.schemas." + name)
        if "example" in schema:
            assert js.validate(schema["example"], schema, root=doc) == [], (name, js.validate(schema["example"], schema, root=doc))

    errors_seen = set()
    for (method, path), op in ops.items():
        where = "%s %s" % (method, path)
        assert op.get("operationId") and op.get("summary"), where
        params = list(doc["paths"][path].get("parameters", [])) + list(op.get("parameters", []))
        names = {(p["in"], p["name"]) for p in (_deref(doc, p) for p in params)}
        for var in re.findall(r"\{(\w+)\}", path):
            assert ("path", var) in names, "%s: path parameter %s not declared" % (where, var)
        assert ("header", "X-Request-Id") in names, "%s: no X-Request-Id parameter" % where
        if method == "POST":  # every POST honours it, but for the routes the gateway says it ignores it
            no_idem = "GW_ROUTE_NO_IDEM" in gw.get((method, path), (None, "", ""))[2]
            assert (("header", "Idempotency-Key") in names) != no_idem, \
                "%s: Idempotency-Key parameter %s, but the gateway %s it" % (
                    where, "listed" if not no_idem else "missing", "ignores" if no_idem else "honours")
            if no_idem:
                assert "Idempotency-Key is ignored" in op.get("description", ""), "%s: say why" % where
        public = op.get("security") == []
        for status, resp in op["responses"].items():
            resp = _deref(doc, resp)
            assert "X-Request-Id" in resp.get("headers", {}), "%s %s: no X-Request-Id header" % (where, status)
            if status >= "400":
                errors_seen.add(status)
                schema = _deref(doc, resp["content"]["application/json"]["schema"])
                assert {"error", "request_id"} <= set(schema.get("required", [])), \
                    "%s %s: not the contract's error body" % (where, status)
        statuses = set(op["responses"])
        if not public:
            assert "401" in statuses, "%s: no 401" % where
            assert "503" in statuses, "%s: no 503" % where
        if "requestBody" in op:
            for s in ("400", "413", "415", "422"):
                assert s in statuses, "%s takes a body but does not list %s" % (where, s)
        if "{pid}" in path:
            assert "404" in statuses, "%s: no 404" % where
    for s in ("400", "401", "403", "404", "409", "413", "415", "422", "500", "502", "503", "504"):
        assert s in errors_seen, "no operation lists %s" % s
    assert "405" in desc and "method_not_allowed" in desc, "405 is not explained"

    # the list schemas are {"items", "next_cursor"}
    for name, schema in doc["components"]["schemas"].items():
        if name.endswith("List"):
            assert set(schema["required"]) == {"items", "next_cursor"}, name
    unit = doc["components"]["schemas"]["Unit"]
    area = _deref(doc, unit["properties"]["area_m2"])
    assert area["type"] == "number" and area["multipleOf"] == 0.01, area
    assert set(_deref(doc, unit["properties"]["use"])["enum"]) == {
        "residential", "office", "retail", "hotel", "parking", "storage", "other"}


def test_openapi_lists_every_gateway_route(stack):
    ops = set(openapi_operations(load_openapi()))
    src = gateway_routes_in_source()
    assert src, "no route table found in services/gateway/*.c"
    missing = sorted(set(src) - ops)
    assert not missing, "routes of the gateway missing from proto/openapi.yaml: %s" % missing
    extra = sorted(ops - set(src))
    assert not extra, "routes in proto/openapi.yaml that the gateway does not have: %s" % extra
    doc_ops = openapi_operations(load_openapi())
    for route, (svc, roles, flags) in src.items():
        public = doc_ops[route].get("security") == []
        assert public == (roles == "0"), "%s %s: the gateway %s a token, openapi.yaml says %s" % (
            route[0], route[1], "needs no" if roles == "0" else "needs", "none" if public else "bearer")
    for route, (svc, roles, flags) in src.items():  # the service routes are the method list's
        listed = [m for m, _, r in methods_table() if r == route]
        assert listed == ([svc] if svc else []), "%s %s: the gateway calls %s, methods.md says %s" % (
            route[0], route[1], svc, listed or "nothing")
    table = {route for _, _, route in methods_table() if route}
    assert table, "methods.md lists no HTTP route"
    assert not sorted(table - ops), "methods.md routes missing from openapi.yaml: %s" % sorted(table - ops)
    assert not sorted(table - set(src)), "methods.md routes the gateway does not have: %s" % sorted(table - set(src))
    notes = team_notes_routes()
    assert not sorted(set(notes) - ops), "TEAM-NOTES routes missing from openapi.yaml: %s" % sorted(set(notes) - ops)
    by_route = {route: m for m, _, route in methods_table() if route}
    for route, method in notes.items():
        assert by_route.get(route) == method, "%s %s: TEAM-NOTES says %s, methods.md %s" % (
            route[0], route[1], method, by_route.get(route))


# ================================================================ the wire
def test_tapped_messages_match_schemas(stack):
    _drive(stack)
    req_s, rep_s, ev_s = (_load_schema(n) for n in ("request.schema.json", "reply.schema.json", "event.schema.json"))
    recs = read_tap()
    assert recs, "nothing in the tap %s: does the broker honour PM_BROKER_TAP?" % TAP
    problems = []
    methods = {}
    kinds = {"request": 0, "reply": 0}
    for rec in recs:
        assert rec.get("kind") in kinds and isinstance(rec.get("service"), str), "tap record: %s" % _short(rec)
        kinds[rec["kind"]] += 1
        msg = rec["msg"]
        if rec["kind"] == "request":
            errs = js.validate(msg, req_s)
            methods[(rec["service"], msg.get("id"))] = msg.get("method")
            if isinstance(msg.get("method"), str) and not msg["method"].startswith(rec["service"] + "."):
                errs.append("sent to service %s" % rec["service"])
        else:
            errs = js.validate(msg, rep_s)
            body = msg.get("body")
            method = methods.get((rec["service"], msg.get("id")), "")
            if method.endswith(".ping") and msg.get("status") == 200 and isinstance(body, dict):
                if body.get("service") != rec["service"] or not isinstance(body.get("pid"), int) \
                        or body.get("db", "ok") != "ok":
                    errs.append("ping answer %s" % _short(body))
            if method == "broker.stats" and msg.get("status") == 200 and isinstance(body, dict):
                if not isinstance(body.get("services"), dict) or not isinstance(body.get("requests"), int) \
                        or not all(isinstance(v, dict) and {"workers", "idle", "queued"} <= set(v)
                                   for v in body["services"].values()):
                    errs.append("broker.stats answer %s" % _short(body))
            if method.endswith(".events.read") or (isinstance(body, dict) and "events" in body and "next" in body):
                errs += js.validate(body, ev_s["$defs"]["read_page"], root=ev_s)
                for e in body.get("events", []) if isinstance(body, dict) else []:
                    if isinstance(e, dict) and e.get("producer") != rec["service"]:
                        errs.append("event of producer %r read from %s" % (e.get("producer"), rec["service"]))
        if errs:
            problems.append("%s %s %s: %s | %s" % (rec["kind"], rec["service"], msg.get("method") or msg.get("id"),
                                                   "; ".join(errs[:3]), _short(msg, 200)))
    assert not problems, "%d of %d tapped messages do not match proto/: %s" % (
        len(problems), len(recs), " || ".join(problems[:6]))
    assert kinds["request"] and kinds["reply"], kinds


def test_gateway_forwards_what_it_was_sent(stack):
    """Each call became the method methods.md names, with the caller, params and
    data the convention says; its reply became the HTTP response unchanged."""
    st = _drive(stack)
    by_route = {route: m for m, _, route in methods_table() if route}
    now_ms = time.time() * 1000
    for c in st["calls"]:
        where = "%s %s (%s)" % (c["method"], c["path"], c["rid"])
        reqs = _tapped(c["rid"], "request")
        assert reqs, "%s: no request with id %s in the tap" % (where, c["rid"])
        for rec in reqs:
            msg = rec["msg"]
            assert msg["method"] == by_route[c["route"]], "%s went to %s, methods.md says %s" % (
                where, msg["method"], by_route[c["route"]])
            assert msg["caller"].get("role") == "admin", "%s: caller %s" % (where, msg["caller"])
            dl = msg.get("deadline")
            assert isinstance(dl, int) and now_ms - 120000 < dl < now_ms + 120000, "%s: deadline %r" % (where, dl)
            params = msg["body"]["params"]
            if "{pid}" in c["route"][1]:
                assert params.get("pid") == c["path"].split("/")[3], "%s: params %s" % (where, params)
            if "{uid}" in c["route"][1]:
                assert params.get("uid") == c["path"].split("/")[5].split("?")[0], "%s: params %s" % (where, params)
            query = c["path"].partition("?")[2]
            for kv in filter(None, query.split("&")):
                k, _, v = kv.partition("=")
                assert params.get(k) == v, "%s: query %s=%s became params %s" % (where, k, v, params)
            if c["body"] is not None:
                assert msg["body"].get("data") == c["body"], "%s: data %s" % (where, _short(msg["body"].get("data")))
            else:
                assert msg["body"].get("data") is None, "%s: data %s for a request without a body" % (
                    where, _short(msg["body"].get("data")))
        replies = _tapped(c["rid"], "reply")
        assert replies, "%s: no reply in the tap" % where
        rep, resp = replies[-1]["msg"], c["resp"]
        assert rep["status"] == resp.status, "%s: reply %d, HTTP %d" % (where, rep["status"], resp.status)
        assert resp.headers.get("x-request-id") == c["rid"], "%s: X-Request-Id %r" % (
            where, resp.headers.get("x-request-id"))
        got = resp.json()
        if "error" in rep:
            want = {"error": rep["error"], "request_id": c["rid"]}
        else:
            want = rep["body"]
        assert got == want, "%s: HTTP body %s, reply %s" % (where, _short(got), _short(want))


def test_methods_md_lists_every_method_on_the_wire(stack):
    _drive(stack)
    stack.http("GET", "/readyz")  # the pings, whatever else the gateway asks
    stack.http("GET", "/metrics")
    listed = {m for m, _, _ in methods_table()}
    seen = {}
    for rec in read_tap():
        if rec["kind"] == "request" and isinstance(rec["msg"].get("method"), str):
            seen.setdefault(rec["msg"]["method"], rec["service"])
    assert seen, "no request in the tap"
    missing = sorted(set(seen) - listed)
    assert not missing, "methods crossing the broker but not in proto/methods.md: %s" % missing
    for m in listed:  # each listed method has its own section too
        assert ("### `%s`" % m) in _read(os.path.join(PROTO, "methods.md")) or m.endswith(".ping"), \
            "methods.md has no section for %s" % m


# ================================================================ HTTP vs openapi
def test_every_openapi_operation_answers_as_documented(stack):
    st = _drive(stack)
    doc = load_openapi()
    ops = openapi_operations(doc)
    tok = stack.admin_token
    pid, uid = st["pid"], st["uid"]
    spare = stack.login(stack.admin_user, stack.admin_password)  # for logout
    # A valid request for each operation where one is cheap; {} otherwise (-> 422).
    bodies = {
        ("POST", "/v1/auth/login"): {"username": stack.admin_user, "password": stack.admin_password},
        ("POST", "/v1/users"): {"username": "proto-" + RUN, "password": "proto-pass-" + RUN,
                                "role": "agent", "property_ids": [pid]},
        ("POST", "/v1/api-keys"): {"name": "proto " + RUN, "role": "integration", "property_ids": [pid]},
        ("POST", "/v1/properties"): {"code": "PROTO2-" + RUN.upper(), "name": "协议测试二期"},
        ("POST", "/v1/properties/{pid}/units"): {"code": "B-0101", "building": "B", "floor": "1",
                                                 "area_m2": 120.05, "use": "retail"},
        ("PATCH", "/v1/properties/{pid}/units/{uid}"): {"use": "hotel"},
        ("POST", "/v1/properties/{pid}/parties"): {"kind": "person", "name": "协议测试", "phone": "13800138000"},
        ("PATCH", "/v1/properties/{pid}/parties/{party_id}"): {"email": "proto@example.com"},
    }
    # path ids that name something real: a party, moved into the unit
    path_ids = {}
    r = stack.http("POST", "/v1/properties/%s/parties" % pid, body={"kind": "company", "name": "协议测试公司"},
                   token=tok)
    if r.status == 201:
        path_ids["{party_id}"] = r.json()["id"]
        r = stack.http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, uid), token=tok,
                       body={"party_id": path_ids["{party_id}"], "role": "tenant", "start_date": "2026-01-01"})
        if r.status == 201:
            path_ids["{oid}"] = r.json()["id"]
    # a ticket, for the {tid} routes
    r = stack.http("POST", "/v1/properties/%s/tickets" % pid, body={"type": "repair", "title": "协议测试报修"},
                   token=tok)
    if r.status == 201:
        path_ids["{tid}"] = r.json()["id"]
    # an SLA calendar, a duty shift and an FAQ entry, for the {cid}, {shift_id}, {faq_id} routes
    for name, sub, body in (
            ("{cid}", "sla-calendars", {"name": "协议测试", "timezone": "Asia/Shanghai",
                                        "weekly": {"mon": [["09:00", "18:00"]]}}),
            ("{shift_id}", "duty-shifts", {"post": "repair", "user_id": "proto", "key_post": True,
                                           "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-01T08:00:00Z"}),
            ("{faq_id}", "faq", {"question": "协议测试？", "answer": "是。"}),
            # the desk's registers: a visitor (checked in, then out, by the probes), an item, a pass
            ("{visitor_id}", "visitors", {"name": "协议测试", "purpose": "拜访"}),
            ("{item_id}", "stored-items", {"description": "协议测试快递"}),
            ("{pass_id}", "vehicle-passes", {"plate": "粤B12345", "valid_from": "2026-01-01",
                                             "valid_to": "2036-01-01"})):
        r = stack.http("POST", "/v1/properties/%s/%s" % (pid, sub), body=body, token=tok)
        if r.status == 201:
            path_ids[name] = r.json()["id"]
    # a typical case (issue L) of an inquiry answered at once, for the {case_id} routes
    r = stack.http("POST", "/v1/properties/%s/tickets" % pid, token=tok,
                   body={"type": "inquiry", "title": "协议测试问询", "resolve_now": True, "answer": "是。"})
    if r.status == 201:
        r = stack.http("POST", "/v1/properties/%s/tickets/%s/case" % (pid, r.json()["id"]), token=tok,
                       body={"summary": "协议测试案例", "lesson": "协议测试经验"})
        if r.status == 201:
            path_ids["{case_id}"] = r.json()["id"]
    # a contractor and its inspection (issue L), for the {contractor_id} and {inspection_id} routes
    r = stack.http("POST", "/v1/properties/%s/contractors" % pid, body={"name": "协议测试保洁", "service": "cleaning"},
                   token=tok)
    if r.status == 201:
        path_ids["{contractor_id}"] = r.json()["id"]
        r = stack.http("POST", "/v1/properties/%s/inspections" % pid, token=tok,
                       body={"contractor_id": path_ids["{contractor_id}"], "area": "大堂",
                             "inspected_at": "2026-06-15T02:00:00Z",
                             "criteria": [{"name": "地面", "weight": 3, "score": 90},
                                          {"name": "垃圾", "weight": 1, "score": 71}]})
        if r.status == 201:
            path_ids["{inspection_id}"] = r.json()["id"]
    # a patrol route, a round on it and a check with a photo (issue L), for the {route_id},
    # {round_id}, {check_id} routes and the check's {attachment_id}
    r = stack.http("POST", "/v1/properties/%s/patrol-routes" % pid, token=tok,
                   body={"name": "协议测试巡查", "checkpoints": [{"code": "P1", "name": "大堂", "checklist": ["整洁"]}],
                         "times": ["09:00"]})
    patrol_photo = {}
    if r.status == 201:
        path_ids["{route_id}"] = r.json()["id"]
        r = stack.http("POST", "/v1/properties/%s/patrols" % pid, token=tok, body={"route_id": path_ids["{route_id}"]})
        if r.status == 201:
            path_ids["{round_id}"] = r.json()["id"]
            r = stack.http("POST", "/v1/properties/%s/patrols/%s/checks" % (pid, path_ids["{round_id}"]), token=tok,
                           body={"checkpoint_code": "P1", "results": [{"item": "整洁", "ok": True}]})
            if r.status == 201:
                path_ids["{check_id}"] = r.json()["id"]
                r = stack.http("POST", "/v1/properties/%s/patrols/%s/checks/%s/attachments"
                               % (pid, path_ids["{round_id}"], path_ids["{check_id}"]), token=tok,
                               raw=b"%PDF-1.7\n%%EOF\n", headers={"Content-Type": "application/pdf"})
                if r.status == 201:
                    patrol_photo["/patrols/"] = r.json()["id"]
    # a payment and a deposit (billing), for the {payment_id} and {deposit_id}
    # routes; billing learns the unit from tenants' events, so wait for it
    deadline = time.time() + 10
    while time.time() < deadline and stack.psql(
            "SELECT count(*) FROM billing.units WHERE unit_id = '%s'" % uid)[0][0] == "0":
        time.sleep(0.1)
    r = stack.http("POST", "/v1/properties/%s/payments" % pid, token=tok,
                   body={"unit_id": uid, "amount": 100, "method": "cash"})
    if r.status == 201:
        path_ids["{payment_id}"] = r.json()["id"]
    r = stack.http("POST", "/v1/properties/%s/deposits" % pid, token=tok, body={"unit_id": uid, "amount": 100})
    if r.status == 201:
        path_ids["{deposit_id}"] = r.json()["id"]
    # a late fee for {fee_id}: the daily job makes them; one by hand here
    path_ids["{fee_id}"] = stack.psql(
        "INSERT INTO billing.bills (property_id, unit_id, kind, due_date, amount, source, source_ref)"
        " VALUES ('%s', '%s', 'late_fee', current_date, 10, 'late_fee', 'proto') RETURNING id" % (pid, uid))[0][0]
    if "{bid}" not in path_ids:  # a bill for the {bid} routes: a manual charge is one
        r = stack.http("POST", "/v1/properties/%s/charges" % pid, token=tok,
                       body={"unit_id": uid, "amount": 100, "reason": "协议测试"})
        if r.status == 201:
            path_ids["{bid}"] = r.json()["id"]
    # notifications: a template by type and locale; a notification of the
    # caller's inbox (the ticket above reaches the managers' inbox, which the
    # admin reads); an announcement (once notifications' copy has the unit);
    # a webhook per probe of its routes (one is deleted), with a delivery
    path_ids["{event_type}"], path_ids["{locale}"] = "ticket.created", "en"
    ids = {}

    def _poll(sql, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = stack.psql(sql)
            if rows and rows[0][0]:
                return rows[0][0]
            time.sleep(0.1)
        return ""

    def _webhook():
        r = stack.http("POST", "/v1/webhooks", token=tok,
                       body={"url": "http://127.0.0.1:9/proto", "events": ["ticket.created"],
                             "secret": "proto-secret-" + RUN + "-" + "s" * 32, "property_ids": [pid]})
        return r.json()["id"] if r.status == 201 else ""

    ids["/v1/notifications/"] = _poll("SELECT id FROM notifications.notifications WHERE property_id = '%s'"
                                      " AND channel = 'inbox' AND recipient = 'manager' LIMIT 1" % pid)
    _poll("SELECT unit_id FROM notifications.units WHERE unit_id = '%s'" % uid)
    r = stack.http("POST", "/v1/properties/%s/announcements" % pid, token=tok,
                   body={"title": "协议测试通知", "body": "停水", "audience": "all"})
    if r.status == 201:
        ids["/v1/properties/{pid}/announcements/"] = r.json()["id"]
    # an activity, with the party above signed up for the {rid} of its registrations
    r = stack.http("POST", "/v1/properties/%s/activities" % pid, token=tok,
                   body={"title": "协议测试活动", "starts_at": "2036-06-01T09:00:00Z",
                         "ends_at": "2036-06-01T10:00:00Z", "place": "会所", "audience": "all"})
    if r.status == 201:
        ids["/v1/properties/{pid}/activities/"] = r.json()["id"]
        if "{oid}" in path_ids and _poll("SELECT id FROM notifications.occupancies WHERE id = '%s'"
                                         % path_ids["{oid}"]):
            r = stack.http("POST", "/v1/properties/%s/activities/%s/registrations" % (pid, r.json()["id"]),
                           token=tok, body={"unit_id": uid, "party_id": path_ids["{party_id}"]})
            if r.status == 201:
                path_ids["{rid}"] = r.json()["id"]
    # an open move-in for the {id} of .../move-ins/{id} (cancelled by its probe, then completed: 409)
    if "{party_id}" in path_ids:
        r = stack.http("POST", "/v1/properties/%s/units/%s/move-ins" % (pid, uid), token=tok,
                       body={"party_id": path_ids["{party_id}"], "role": "owner", "start_date": "2026-01-01"})
        if r.status == 201:
            ids["/v1/properties/{pid}/move-ins/"] = r.json()["id"]
    # a file of the ticket, the unit and the party: the {attachment_id} under each parent
    attachments = {}
    for seg, parent in (("tickets", path_ids.get("{tid}")), ("units", uid), ("parties", path_ids.get("{party_id}"))):
        r = stack.http("POST", "/v1/properties/%s/%s/%s/attachments" % (pid, seg, parent), token=tok,
                       raw=b"%PDF-1.7\n%%EOF\n", headers={"Content-Type": "application/pdf"})
        if r.status == 201:
            attachments["/%s/" % seg] = r.json()["id"]
    attachments.update(patrol_photo)
    hook = _webhook()
    stack.http("POST", "/v1/properties/%s/tickets" % pid, body={"type": "repair", "title": "协议测试投递"},
               token=tok)
    path_ids["{delivery_id}"] = _poll("SELECT id FROM notifications.webhook_deliveries"
                                      " WHERE webhook_id = '%s' LIMIT 1" % hook) if hook else ""

    problems = []
    made = {}
    k = 0
    for (method, path), op in sorted(ops.items(), key=lambda kv: kv[0][1]):
        k += 1
        rid = "proto-probe%d-%s" % (k, RUN)
        if path.startswith("/v1/webhooks/{id}"):
            the_id = hook if "{delivery_id}" in path else _webhook()
        else:
            the_id = next((v for prefix, v in ids.items() if path.startswith(prefix)), made.get("api-key", ""))
        url = path.replace("{pid}", pid).replace("{uid}", uid).replace("{id}", the_id)
        for name, value in path_ids.items():
            url = url.replace(name, value)
        url = url.replace("{attachment_id}", next((v for seg, v in attachments.items() if seg in path), ""))
        token = spare if path == "/v1/auth/logout" else (None if op.get("security") == [] else tok)
        body = bodies.get((method, path), {} if method in ("POST", "PATCH", "PUT") else None)
        r = stack.http(method, url, body=body, token=token, headers={"X-Request-Id": rid})
        where = "%s %s -> %d" % (method, path, r.status)
        if (method, path) == ("POST", "/v1/api-keys") and r.status == 201:
            made["api-key"] = r.json()["id"]
        if r.status in (404, 405):
            problems.append("%s: the gateway does not serve it (%s)" % (where, r.text[:120]))
            continue
        if r.status >= 500:  # listed in the spec or not: a probe of ours never earns a server error
            problems.append("%s: server error (%s)" % (where, r.text[:160]))
            continue
        if r.headers.get("x-request-id") != rid:
            problems.append("%s: X-Request-Id %r" % (where, r.headers.get("x-request-id")))
        resp = op["responses"].get(str(r.status))
        if resp is None:
            problems.append("%s: status not listed in openapi.yaml (%s)" % (where, r.text[:160]))
            continue
        resp = _deref(doc, resp)
        content = resp.get("content")
        if not content:
            if r.body:
                problems.append("%s: documented without a body, got %r" % (where, r.text[:80]))
            continue
        ctype = r.headers.get("content-type", "").split(";")[0].strip()
        if ctype not in content:
            problems.append("%s: Content-Type %r, documented %s" % (where, ctype, sorted(content)))
            continue
        if ctype == "application/json":
            try:
                got = r.json()
            except ValueError:
                problems.append("%s: body is not JSON: %r" % (where, r.text[:80]))
                continue
            errs = js.validate(got, content[ctype]["schema"], root=doc)
            if errs:
                problems.append("%s: %s | %s" % (where, "; ".join(errs[:3]), _short(got, 200)))
        elif r.status < 300 and not r.body:
            problems.append("%s: empty %s body" % (where, ctype))
    assert not problems, "%d problems: %s" % (len(problems), " || ".join(problems[:8]))
    # the spare token is revoked now
    r = stack.http("GET", "/v1/properties", token=spare)
    assert r.status == 401, "after logout the token still works: %r" % r


def test_drive_responses_match_openapi(stack):
    """The responses of the driven calls (201, 409, 422, 404, lists with filters)
    match the schemas openapi.yaml gives for their status."""
    st = _drive(stack)
    doc = load_openapi()
    ops = openapi_operations(doc)
    problems = []
    for c in st["calls"]:
        op = ops[c["route"]]
        where = "%s %s -> %d" % (c["method"], c["path"], c["resp"].status)
        if c["resp"].status >= 500:
            problems.append("%s: server error" % where)
            continue
        resp = op["responses"].get(str(c["resp"].status))
        if resp is None:
            problems.append("%s: status not listed" % where)
            continue
        schema = _deref(doc, resp)["content"]["application/json"]["schema"]
        errs = js.validate(c["resp"].json(), schema, root=doc)
        if errs:
            problems.append("%s: %s | %s" % (where, "; ".join(errs[:3]), _short(c["resp"].json(), 200)))
    assert not problems, " || ".join(problems[:8])
    calls = {c["tag"]: c for c in st["calls"]}
    details = calls["unit-invalid"]["resp"].json()["error"]["details"]
    fields = {d["field"] for d in details}
    assert {"code", "area_m2", "use"} <= fields, "422 details name every bad field: %s" % details
    unit = calls["unit-patch"]["resp"].json()
    assert unit["area_m2"] == 90.25 and unit.get("floor") is None, "PATCH result: %s" % unit
    listed = calls["unit-list"]["resp"].json()["items"]
    assert [u["code"] for u in listed] == ["A-1201"], "?q=A-12&use=office&building=A: %s" % listed


def test_unknown_routes_and_methods(stack):
    tok = stack.admin_token
    doc = load_openapi()
    error = doc["components"]["schemas"]["Error"]
    for method, path, status, code in [
        ("GET", "/v1/no-such-thing", 404, "not_found"),
        ("DELETE", "/v1/properties", 405, "method_not_allowed"),
        ("PUT", "/healthz", 405, "method_not_allowed"),
    ]:
        r = stack.http(method, path, token=tok, headers={"X-Request-Id": "proto-unknown-" + RUN})
        assert r.status == status, "%s %s: %r" % (method, path, r)
        body = r.json()
        assert js.validate(body, error, root=doc) == [], "%s %s: %s" % (method, path, js.validate(body, error, root=doc))
        assert body["error"]["code"] == code and body["request_id"] == "proto-unknown-" + RUN, body
        if status == 405:
            assert r.headers.get("allow"), "405 without Allow: %s" % r.headers


# ================================================================ events
def test_outbox_rows_are_events(stack):
    st = _drive(stack)
    ev_s = _load_schema("event.schema.json")
    listed = event_types_now()
    rows = stack.psql(
        "SELECT id::text, type, property_id::text,"
        " to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
        " seq::text, data::text FROM tenants.outbox ORDER BY seq")
    assert rows, "tenants.outbox is empty after creating a property and units"
    events = []
    for id_, type_, prop, at, seq, data in rows:
        e = {"v": 1, "id": id_, "type": type_, "occurred_at": at, "property_id": prop,
             "producer": "tenants", "seq": int(seq), "data": json.loads(data)}
        errs = js.validate(e, ev_s)
        assert not errs, "outbox row %s: %s" % (_short(e), errs[:3])
        assert type_ in listed, "event type %s is not in proto/events.md" % type_
        events.append(e)
    mine = [e for e in events if e["property_id"] == st["pid"]]
    by_type = {}
    for e in mine:
        by_type.setdefault(e["type"], []).append(e)
    created = {}
    for e in by_type.get("unit.created", []):
        created.setdefault(e["data"].get("code"), []).append(e)
    for code in ("A-1201", "P-B2-001"):  # the 409 and the 422 made no event
        assert len(created.get(code, [])) == 1, "one unit.created for %s: %s" % (code, _short(mine, 600))
    d = created["A-1201"][0]["data"]
    assert d.get("id") == st["uid"] and d.get("area_m2") == 85.5 and d.get("use") == "office", d
    assert d.get("property_id") == st["pid"] and d.get("building") == "A" and d.get("floor") == "12", d
    updated = [e["data"] for e in by_type.get("unit.updated", []) if e["data"].get("id") == st["uid"]]
    assert any(u.get("area_m2") == 90.25 and u.get("floor") is None for u in updated), \
        "a unit.updated with the PATCH's area and floor: %s" % _short(updated)
    props = [e for e in events if e["type"] == "property.created" and e["data"].get("id") == st["pid"]]
    assert len(props) == 1 and props[0]["data"].get("code") == st["code"], "property.created: %s" % _short(props)
    assert props[0]["property_id"] == st["pid"], "property.created belongs to its property: %s" % _short(props)
