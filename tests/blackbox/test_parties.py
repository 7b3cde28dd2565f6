"""test_parties: parties (业户) end to end, through the gateway, the broker and
pm-tenants to PostgreSQL (API.md, "Properties, units, parties"): create,
search by name, unit code and the last 4 digits of a phone, masking of phones
and ID numbers per role, the audit of whole reads (pii_reads), key-customer
rules, conflicts, validation and property scope.

The tests run in file order and share what they create: the first makes two
properties (P1, P2), units in P1, and a manager, an agent and a technician
scoped to P1.
"""

import json
import secrets
import urllib.parse

from api import ok as _ok, error as _error, fields as _fields

STACK = dict()

STATE = {}

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(first17):
    """An 18-character resident ID with its ISO 7064 MOD 11-2 check character."""
    s = sum(int(c) * w for c, w in zip(first17, WEIGHTS))
    return first17 + "10X98765432"[s % 11]


ID_WANG = "11010519491231002X"          # the standard's own example (check character X)
ID_LI = resident_id("44030419900101123")
ID_ZHAO = resident_id("31011519851120456")
CREDIT = "91350100M000100Y43"


def _as(stack, who, method, path, body=None):
    token = stack.admin_token if who == "admin" else STATE[who + "_token"]
    return stack.http(method, path, body=body, token=token)


def _parties(pid=None):
    return "/v1/properties/%s/parties" % (pid or STATE["p1"])


def _user(stack, role, pid):
    name = "%s-%s" % (role, STATE["tag"])
    pw = "pw-" + secrets.token_urlsafe(12)
    u = _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                       body={"username": name, "password": pw, "role": role, "property_ids": [pid]}),
            201, "create " + role)
    STATE[role + "_id"] = u["id"]
    STATE[role + "_token"] = stack.login(name, pw)


def _reads(stack, party_id):
    return stack.psql("SELECT user_id, role, method, request_id FROM tenants.pii_reads "
                      "WHERE party_id = '%s' ORDER BY id" % party_id)


# ---------------------------------------------------------------- setup
def test_setup(stack):
    tag = secrets.token_hex(3)
    STATE["tag"] = tag
    for key, code, name in (("p1", "PT1-" + tag, "翠苑小区"), ("p2", "PT2-" + tag, "华强国际中心")):
        p = _ok(stack.http("POST", "/v1/properties", token=stack.admin_token, body={"code": code, "name": name}),
                201, "create " + key)
        STATE[key] = p["id"]
    for code in ("A-1201", "A-1202", "B-0302"):
        u = _ok(stack.http("POST", "/v1/properties/%s/units" % STATE["p1"], token=stack.admin_token,
                           body={"code": code, "building": code[0], "area_m2": 88.5, "use": "residential"}),
                201, "unit " + code)
        STATE["unit_" + code] = u["id"]
    for role in ("manager", "agent", "technician"):
        _user(stack, role, STATE["p1"])


# ---------------------------------------------------------------- create
def test_create_person_and_company(stack):
    p = _ok(_as(stack, "manager", "POST", _parties(),
                {"kind": "person", "name": "王建华", "phone": "138 0013 8000", "email": "wang@example.com",
                 "id_number": ID_WANG.lower()}), 201, "create person")
    assert p["kind"] == "person" and p["name"] == "王建华" and p["property_id"] == STATE["p1"], p
    assert p["phone"] == "13800138000" and p["phones"] == ["13800138000"], "normalised, whole for a manager: %r" % p
    assert p["id_type"] == "resident_id" and p["id_number"] == ID_WANG, "default type, upper-cased X: %r" % p
    assert p["email"] == "wang@example.com" and p["key_customer"] is False and p["key_customer_note"] is None, p
    assert p["created_at"].endswith("Z") and p["updated_at"].endswith("Z"), p
    STATE["wang"] = p["id"]
    tails = stack.psql("SELECT tail FROM tenants.party_phone_tails WHERE party_id = '%s'" % p["id"])
    assert tails == [("8000",)], tails

    c = _ok(_as(stack, "manager", "POST", _parties(),
                {"kind": "company", "name": "深圳市前海云图科技有限公司",
                 "phones": ["0755-8888 1234", "+86 139 0000 5678", "075588881234"], "id_number": CREDIT}),
            201, "create company")
    assert c["phones"] == ["0755-88881234", "13900005678"], "normalised, repeats dropped: %r" % c
    assert c["phone"] == "0755-88881234" and c["id_type"] == "credit_code" and c["id_number"] == CREDIT, c
    STATE["company"] = c["id"]

    # an agent creates too, and is answered with masks
    a = _ok(_as(stack, "agent", "POST", _parties(),
                {"kind": "person", "name": "李娜", "phones": ["13512345678", "010-62345678 转 801"],
                 "id_type": "resident_id", "id_number": ID_LI}), 201, "agent creates")
    assert a["phones"] == ["135****5678", "010****5678-801"], a
    assert a["phone"] == "135****5678", a
    assert a["id_number"] == "*" * 14 + ID_LI[-4:], a
    STATE["li"] = a["id"]
    stored = stack.psql("SELECT phones::text, id_number FROM tenants.parties WHERE id = '%s'" % a["id"])
    assert stored == [("{13512345678,010-62345678-801}", ID_LI)], "stored whole: %r" % stored

    # a passport, a person without any contact
    z = _ok(_as(stack, "manager", "POST", _parties(),
                {"kind": "person", "name": "John O'Brien", "id_type": "passport", "id_number": "e1234567",
                 "phone": "+852 9123 4567"}), 201, "passport")
    assert z["id_number"] == "E1234567" and z["phone"] == "+85291234567", z
    STATE["john"] = z["id"]
    n = _ok(_as(stack, "manager", "POST", _parties(), {"kind": "person", "name": "赵敏"}), 201, "bare")
    assert n["phone"] is None and n["phones"] == [] and n["id_number"] is None and n["id_type"] is None, n
    STATE["zhao"] = n["id"]


def test_validation_lists_every_problem(stack):
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "alien", "name": "", "phones": ["13800138000", "12345", 7],
                      "email": "not-an-email", "id_number": resident_id("11010519491231002")[:17] + "0",
                      "key_customer": "yes"}), 422, "validation_failed", "everything wrong")
    fields = _fields(err)
    for f in ("kind", "name", "phones[1]", "phones[2]", "email", "key_customer"):
        assert f in fields, "%s missing from %r" % (f, err)
    assert "phones[0]" not in fields, err
    probs = {d["field"]: d["problem"] for d in err["details"]}
    assert probs["phones[1]"] == "is not a phone number", probs
    # a person's resident ID with a bad check character; a bad phone as "phone"
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "person", "name": "x", "phone": "0755-0000", "id_number": ID_WANG[:-1] + "1"}),
                 422, "validation_failed", "bad phone and id")
    assert {"phone", "id_number"} <= _fields(err), err
    assert {d["field"]: d["problem"] for d in err["details"]}["phone"] == "is not a phone number", err
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "company", "name": "x", "id_number": CREDIT[:-1] + "4"}),
                 422, "validation_failed", "bad credit code")
    assert "id_number" in _fields(err), err
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "person", "name": "x", "id_number": "1234"}), 422, "validation_failed", "short id")
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "person", "name": "x", "phone": "13800138000", "phones": ["13800138000"]}),
                 422, "validation_failed", "phone and phones")
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "person", "name": "x", "phones": ["1390000000%d" % i for i in range(6)]}),
                 422, "validation_failed", "six phones")
    assert "phones" in _fields(err), err
    err = _error(_as(stack, "manager", "POST", _parties(), ["not", "an", "object"]),
                 422, "validation_failed", "an array body")
    err = _error(_as(stack, "manager", "POST", _parties(), {}), 422, "validation_failed", "empty")
    assert {"kind", "name"} <= _fields(err), err
    n = stack.psql("SELECT count(*) FROM tenants.parties WHERE name = 'x'")
    assert n == [("0",)], "nothing stored by a 422: %r" % n


def test_duplicate_document_is_409(stack):
    err = _error(_as(stack, "manager", "POST", _parties(),
                     {"kind": "person", "name": "王建华（重复）", "id_number": ID_WANG}),
                 409, "conflict", "the same resident ID")
    assert "id_number" in _fields(err), err
    # the same document in another property is another party
    _ok(_as(stack, "admin", "POST", _parties(STATE["p2"]),
            {"kind": "person", "name": "王建华", "id_number": ID_WANG, "phone": "13800138000"}), 201, "P2")


# ---------------------------------------------------------------- search
def test_search_by_name_unit_and_phone_tail(stack):
    # move 李娜 into A-1201 so that the unit code finds her
    _ok(_as(stack, "manager", "POST", "/v1/properties/%s/units/%s/occupancies" % (STATE["p1"], STATE["unit_A-1201"]),
            {"party_id": STATE["li"], "role": "owner", "start_date": "2024-03-01"}), 201, "move in")

    def ids(q, who="manager", extra=""):
        r = _ok(_as(stack, who, "GET", _parties() + "?q=" + urllib.parse.quote(q) + extra), 200, "search " + q)
        return [p["id"] for p in r["items"]]

    assert ids("建华") == [STATE["wang"]], "a Chinese name typed in part"
    assert ids("王") == [STATE["wang"]], "a surname"
    assert ids("o'brien") == [STATE["john"]], "Latin letters, any case"
    assert ids("A-12") == [STATE["li"]], "a unit code prefix"
    assert ids("A-1201") == [STATE["li"]], "a unit code"
    assert ids("B-03") == [], "a unit nobody occupies"
    assert ids("8000") == [STATE["wang"]], "the last 4 digits of a mobile"
    assert ids("1234") == [STATE["company"]], "the last 4 digits of a landline"
    assert set(ids("5678")) == {STATE["company"], STATE["li"]}, "a second phone's tail counts too"
    assert ids("0801") == [], "an extension is not the number's tail"
    assert ids("%") == [] and ids("_") == [], "LIKE wildcards mean themselves"
    assert set(ids("5678", who="agent")) == {STATE["company"], STATE["li"]}, "agents search by tail too"
    everyone = ids("")
    assert {STATE["wang"], STATE["li"], STATE["company"], STATE["john"], STATE["zhao"]} == set(everyone), everyone

    # pages of one, each party once
    seen, cursor = [], None
    for _ in range(20):
        q = "?limit=1" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        page = _ok(_as(stack, "agent", "GET", _parties() + q), 200, "page")
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(everyone) and len(seen) == len(set(seen)), seen
    for q in ("?limit=0", "?limit=x", "?cursor=bm9wZQ", "?key_customer=maybe", "?q=" + "x" * 65):
        _error(_as(stack, "manager", "GET", _parties() + q), 422, "validation_failed", "list " + q)


# ---------------------------------------------------------------- privacy
def test_masking_per_role(stack):
    path = "%s/%s" % (_parties(), STATE["wang"])
    # at most the last 4 characters of an ID number (issue G: the head is the birthplace)
    masked_id = "*" * 14 + ID_WANG[-4:]
    assert masked_id == "**************002X"
    for who in ("agent",):
        p = _ok(_as(stack, who, "GET", path), 200, who + " get")
        assert p["phone"] == "138****8000" and p["phones"] == ["138****8000"], "%s sees %r" % (who, p)
        assert p["id_number"] == masked_id and p["id_type"] == "resident_id", p
        assert p["name"] == "王建华" and p["email"] == "wang@example.com", p
    # an ID number shorter than 12 characters shows nothing (a passport of 8)
    john = _ok(_as(stack, "agent", "GET", "%s/%s" % (_parties(), STATE["john"])), 200, "agent passport")
    assert john["id_number"] == "********" and john["id_type"] == "passport", john
    # technicians reach no party, whole or masked
    _error(_as(stack, "technician", "GET", path), 403, "forbidden", "technician party get")
    _error(_as(stack, "technician", "GET", _parties()), 403, "forbidden", "technician party list")
    for who in ("manager", "admin"):
        p = _ok(_as(stack, who, "GET", path), 200, who + " get")
        assert p["phone"] == "13800138000" and p["id_number"] == ID_WANG, "%s sees %r" % (who, p)
    # in lists as well
    page = _ok(_as(stack, "agent", "GET", _parties() + "?q=8000"), 200, "agent list")
    assert page["items"][0]["phone"] == "138****8000" and page["items"][0]["id_number"] == masked_id, page
    company = _ok(_as(stack, "agent", "GET", "%s/%s" % (_parties(), STATE["company"])), 200, "agent company")
    assert company["phones"] == ["075****1234", "139****5678"], company
    assert company["id_number"] == "**************0Y43", company
    # a unit's occupants, masked for an agent
    unit = _ok(_as(stack, "agent", "GET", "/v1/properties/%s/units/%s" % (STATE["p1"], STATE["unit_A-1201"])),
               200, "agent unit")
    occ = unit["occupants"]
    assert len(occ) == 1 and occ[0]["party_id"] == STATE["li"] and occ[0]["name"] == "李娜", unit
    assert occ[0]["phones"] == ["135****5678", "010****5678-801"] and "id_number" not in occ[0], occ
    # a technician sees who lives there, not how to reach them
    unit = _ok(_as(stack, "technician", "GET", "/v1/properties/%s/units/%s" % (STATE["p1"], STATE["unit_A-1201"])),
               200, "technician unit")
    occ = unit["occupants"]
    assert len(occ) == 1 and occ[0]["name"] == "李娜", unit
    assert not {"phone", "phones", "email", "id_number", "id_type"} & set(occ[0]), occ


def test_audit_of_whole_reads(stack):
    wang = STATE["wang"]
    before = _reads(stack, wang)
    _ok(_as(stack, "agent", "GET", "%s/%s" % (_parties(), wang)), 200, "agent get")
    _ok(_as(stack, "agent", "GET", _parties() + "?q=8000"), 200, "agent list")
    assert _reads(stack, wang) == before, "masked reads are not audited"

    r = stack.http("GET", "%s/%s" % (_parties(), wang), token=STATE["manager_token"],
                   headers={"X-Request-Id": "pii-audit-" + STATE["tag"]})
    _ok(r, 200, "manager get")
    after = _reads(stack, wang)
    assert after[:len(before)] == before and len(after) == len(before) + 1, (before, after)
    assert after[-1] == (STATE["manager_id"], "manager", "tenants.parties.get", "pii-audit-" + STATE["tag"]), after

    # a list writes one row per party shown; a unit's occupants one per occupant
    _ok(_as(stack, "manager", "GET", _parties() + "?q=5678"), 200, "manager list")
    for pid in (STATE["company"], STATE["li"]):
        assert _reads(stack, pid)[-1][2] == "tenants.parties.list", _reads(stack, pid)
    _ok(_as(stack, "manager", "GET", "/v1/properties/%s/units/%s" % (STATE["p1"], STATE["unit_A-1201"])),
        200, "manager unit")
    assert _reads(stack, STATE["li"])[-1][:3] == (STATE["manager_id"], "manager", "tenants.units.get"), \
        _reads(stack, STATE["li"])

    # the admin reads the audit; nobody else does
    page = _ok(_as(stack, "admin", "GET", "/v1/properties/%s/pii-reads?party_id=%s" % (STATE["p1"], wang)),
               200, "admin reads the audit")
    items = page["items"]
    assert items and all(i["party_id"] == wang for i in items), page
    top = items[0]
    assert any(i["user_id"] == STATE["manager_id"] and i["method"] == "tenants.parties.get"
               and i["request_id"] == "pii-audit-" + STATE["tag"] for i in items), items
    assert set(top) == {"party_id", "user_id", "role", "request_id", "method", "read_at"}, top
    assert top["read_at"].endswith("Z"), top
    # newest first, in pages
    seen, cursor = [], None
    for _ in range(50):
        q = "?limit=2" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        pg = _ok(_as(stack, "admin", "GET", "/v1/properties/%s/pii-reads%s" % (STATE["p1"], q)), 200, "audit page")
        seen += pg["items"]
        cursor = pg["next_cursor"]
        if not cursor:
            break
    total = stack.psql("SELECT count(*) FROM tenants.pii_reads WHERE property_id = '%s'" % STATE["p1"])[0][0]
    assert len(seen) == int(total), (len(seen), total)
    assert [s["read_at"] for s in seen] == sorted([s["read_at"] for s in seen], reverse=True), "newest first"
    for who in ("manager", "agent"):
        _error(_as(stack, who, "GET", "/v1/properties/%s/pii-reads" % STATE["p1"]), 403, "forbidden", who)
    _error(_as(stack, "admin", "GET", "/v1/properties/%s/pii-reads?party_id=nope" % STATE["p1"]),
           422, "validation_failed", "bad party_id")


# ---------------------------------------------------------------- key customers and PATCH
def test_key_customer_rules(stack):
    r = _as(stack, "agent", "POST", _parties(), {"kind": "person", "name": "孙丽", "key_customer": True})
    _error(r, 403, "forbidden", "agent marks a key customer")
    r = _as(stack, "agent", "POST", _parties(), {"kind": "person", "name": "孙丽", "key_customer_note": "VIP"})
    _error(r, 403, "forbidden", "agent writes a key-customer note")
    k = _ok(_as(stack, "manager", "POST", _parties(),
                {"kind": "company", "name": "华南星辰律师事务所", "key_customer": True,
                 "key_customer_note": "大客户，投诉需主管跟进"}), 201, "manager marks")
    assert k["key_customer"] is True and k["key_customer_note"] == "大客户，投诉需主管跟进", k
    STATE["key"] = k["id"]
    path = "%s/%s" % (_parties(), k["id"])
    _error(_as(stack, "agent", "PATCH", path, {"key_customer": False}), 403, "forbidden", "agent unmarks")
    _error(_as(stack, "agent", "PATCH", path, {"key_customer_note": None}), 403, "forbidden", "agent clears note")
    same = _ok(_as(stack, "agent", "PATCH", path, {"key_customer": True, "phone": "0755-23456789"}), 200,
               "agent sends the flag unchanged with another change")
    assert same["key_customer"] is True and same["phone"] == "075****6789", same
    listed = _ok(_as(stack, "agent", "GET", _parties() + "?key_customer=true"), 200, "key customers")
    assert [p["id"] for p in listed["items"]] == [k["id"]], listed
    others = _ok(_as(stack, "agent", "GET", _parties() + "?key_customer=false"), 200, "the others")
    assert k["id"] not in [p["id"] for p in others["items"]] and others["items"], others
    done = _ok(_as(stack, "manager", "PATCH", path, {"key_customer": False, "key_customer_note": None}), 200,
               "manager unmarks")
    assert done["key_customer"] is False and done["key_customer_note"] is None, done


def test_patch_party(stack):
    path = "%s/%s" % (_parties(), STATE["wang"])
    events = lambda: stack.psql("SELECT count(*) FROM tenants.outbox WHERE type = 'party.updated' "
                                "AND data->>'id' = '%s'" % STATE["wang"])[0][0]
    n0 = int(events())
    # "phone" replaces the primary; the old tail no longer finds the party
    p = _ok(_as(stack, "manager", "PATCH", path, {"phone": "139-1111-2222", "email": None}), 200, "new primary")
    assert p["phones"] == ["13911112222"] and p["email"] is None, p
    assert int(events()) == n0 + 1, "one party.updated"
    ids = lambda q: [x["id"] for x in _ok(_as(stack, "manager", "GET", _parties() + "?q=" + q), 200, q)["items"]]
    assert ids("2222") == [STATE["wang"]] and ids("8000") == [], "tails follow the phones"
    p = _ok(_as(stack, "manager", "PATCH", path, {"phones": ["13911112222", "021-62345678"]}), 200, "phones")
    assert p["phones"] == ["13911112222", "021-62345678"], p
    assert ids("5678") and STATE["wang"] in ids("5678"), "the second phone's tail"
    # nothing changes: no event
    p = _ok(_as(stack, "manager", "PATCH", path, {"name": "王建华", "kind": "person"}), 200, "no change")
    assert int(events()) == n0 + 2, "no event without a change"
    # kind cannot change; a bad document is 422; a document of another party 409
    err = _error(_as(stack, "manager", "PATCH", path, {"kind": "company", "phone": "123"}), 422,
                 "validation_failed", "kind and phone")
    assert {"kind", "phone"} <= _fields(err), err
    err = _error(_as(stack, "manager", "PATCH", path, {"id_number": ID_LI}), 409, "conflict", "someone else's id")
    assert "id_number" in _fields(err), err
    p = _ok(_as(stack, "manager", "PATCH", path, {"id_type": "passport", "id_number": "G12345678"}), 200, "passport")
    assert p["id_type"] == "passport" and p["id_number"] == "G12345678", p
    p = _ok(_as(stack, "manager", "PATCH", path, {"id_number": None}), 200, "clear the document")
    assert p["id_type"] is None and p["id_number"] is None, p
    p = _ok(_as(stack, "manager", "PATCH", path, {"id_number": ID_WANG}), 200, "back to the resident ID")
    assert p["id_type"] == "resident_id" and p["id_number"] == ID_WANG, p
    last = json.loads(stack.psql("SELECT data::text FROM tenants.outbox WHERE type = 'party.updated' "
                                 "AND data->>'id' = '%s' ORDER BY seq DESC LIMIT 1" % STATE["wang"])[0][0])
    assert "id_number" not in last and last["phones"] == ["13911112222", "021-62345678"], \
        "events carry the contacts whole, never the ID document: %r" % last
    created = json.loads(stack.psql("SELECT data::text FROM tenants.outbox WHERE type = 'party.created' "
                                    "AND data->>'id' = '%s'" % STATE["li"])[0][0])
    assert created["phones"] == ["13512345678", "010-62345678-801"] and "id_number" not in created, created
    # an agent's PATCH answers masked, and is not audited
    before = _reads(stack, STATE["wang"])
    p = _ok(_as(stack, "agent", "PATCH", path, {"name": "王建华"}), 200, "agent no-op")
    assert p["phone"] == "139****2222", p
    assert _reads(stack, STATE["wang"]) == before, "an agent's PATCH is not a whole read"
    p = _ok(_as(stack, "manager", "PATCH", path, {}), 200, "manager empty PATCH")
    assert _reads(stack, STATE["wang"])[-1][2] == "tenants.parties.update", "a manager's PATCH shows it whole"


# ---------------------------------------------------------------- scope
def test_not_found_across_properties(stack):
    other = "%s/%s" % (_parties(STATE["p2"]), STATE["wang"])
    _error(_as(stack, "admin", "GET", other), 404, "not_found", "P1's party under P2")
    _error(_as(stack, "admin", "PATCH", other, {"name": "x"}), 404, "not_found", "PATCH under P2")
    _error(_as(stack, "manager", "GET", _parties(STATE["p2"])), 404, "not_found", "manager of P1 lists P2")
    _error(_as(stack, "manager", "POST", _parties(STATE["p2"]), {"kind": "person", "name": "x"}),
           404, "not_found", "manager of P1 creates in P2")
    _error(_as(stack, "manager", "GET", "%s/%s" % (_parties(), "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69")),
           404, "not_found", "unknown party")
    _error(_as(stack, "manager", "GET", "%s/not-a-uuid" % _parties()), 404, "not_found", "malformed id")
    _error(_as(stack, "admin", "GET", "/v1/properties/%s/pii-reads" % "0b7e1c0e-8a4f-4c55-9d0e-2f1e3c4b5a69"),
           404, "not_found", "audit of no property")
    r = _as(stack, "technician", "POST", _parties(), {"kind": "person", "name": "x"})
    assert r.status == 403, "a technician does not create parties: %r" % r


def test_nothing_personal_in_logs(stack):
    secrets_ = ["13800138000", "13512345678", ID_WANG, ID_LI, "王建华", "李娜", "wang@example.com",
                "62345678", "E1234567"]
    for path in stack.logs():
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for s in secrets_:
            assert s not in text, "%s appears in %s" % (s, path)
