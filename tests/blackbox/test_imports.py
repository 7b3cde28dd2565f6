"""test_imports: bulk onboarding from CSV (API.md, "Bulk onboarding"), end to end:
POST /v1/properties/{pid}/imports/units and .../imports/parties with text/csv,
through the gateway (per-route body limit and deadline, charset conversion,
UTF-8 checks), the broker (a 19 MiB message) and pm-tenants to PostgreSQL.

Tests run in file order and share STATE.
"""

import json
import random
import re
import secrets
import socket
import threading
import time

from api import ok as _ok, error as _error

STACK = dict()

STATE = {}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BOM = "\ufeff"


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _import(stack, pid, kind, text, charset=None, token=None, ctype="text/csv", timeout=120):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    h = {"Content-Type": ctype + ("; charset=%s" % charset if charset else "")}
    return stack.http("POST", "/v1/properties/%s/imports/%s" % (pid, kind), raw=raw,
                      token=token or stack.admin_token, headers=h, timeout=timeout)


def _count(stack, sql):
    return int(stack.psql(sql)[0][0])


def _units(stack, pid):
    return _count(stack, "SELECT count(*) FROM tenants.units WHERE property_id = '%s'" % pid)


def _events(stack, pid, type_=None):
    cond = " AND type = '%s'" % type_ if type_ else ""
    return _count(stack, "SELECT count(*) FROM tenants.outbox WHERE property_id = '%s'%s" % (pid, cond))


def _resident_id(seq):
    """A valid 18-character resident ID (ISO 7064 MOD 11-2 check character)."""
    body = "440305" + "19850101" + "%03d" % (seq % 1000)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3)
    pids = []
    for i, name in enumerate(("深圳湾一号", "华润城", "大冲商务中心", "二十万户")):
        p = _ok(_admin(stack, "POST", "/v1/properties", {"code": "IM%d-%s" % (i, tag), "name": name}),
                201, "property %d" % i)
        pids.append(p["id"])
    STATE.update(tag=tag, p1=pids[0], p2=pids[1], p3=pids[2], pbig=pids[3])
    tokens = {}
    for role in ("manager", "agent"):
        user, pw = "%s-im-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        _ok(_admin(stack, "POST", "/v1/users", {"username": user, "password": pw, "role": role,
                                               "property_ids": pids}), 201, "user " + role)
        tokens[role] = stack.login(user, pw)
    STATE["tokens"] = tokens


# ---------------------------------------------------------------- units
UNITS_CSV = (BOM + "Use,CODE,area_m2,Building,floor\r\n"
             "office,A-1201,85.50,A座,12\r\n"
             "retail,\"L1-01, 东\",120,裙楼,1\r\n"
             "residential,\"B-\"\"3\"\"01\",99.9,B栋,\r\n"
             "parking,P-{B2}\\001,12.5,,B2\r\n"
             "hotel,H-3101,45,酒店,31\r\n")


def test_units_import_with_bom_and_chinese(stack):
    p1 = STATE["p1"]
    rep = _ok(_import(stack, p1, "units", UNITS_CSV, token=STATE["tokens"]["manager"]), 200, "units import")
    assert rep["imported"] == 5 and rep["duplicates"] == 0 and rep["errors"] == [], rep
    assert _units(stack, p1) == 5 and _events(stack, p1, "unit.created") == 5, "5 units and 5 events"
    page = _ok(_admin(stack, "GET", "/v1/properties/%s/units?limit=10" % p1), 200, "list")
    by_code = {u["code"]: u for u in page["items"]}
    assert set(by_code) == {"A-1201", "L1-01, 东", "B-\"3\"01", "P-{B2}\\001", "H-3101"}, sorted(by_code)
    a = by_code["A-1201"]
    assert a["building"] == "A座" and a["floor"] == "12" and a["area_m2"] == 85.5 and a["use"] == "office", a
    assert by_code["B-\"3\"01"]["floor"] is None and by_code["P-{B2}\\001"]["building"] is None, by_code
    # each event is exactly the unit as the API shows it (what unit.created carries for a single create)
    rows = stack.psql("SELECT data::text FROM tenants.outbox WHERE property_id = '%s' AND type = 'unit.created'" % p1)
    events = {json.loads(d)["code"]: json.loads(d) for (d,) in rows}
    for code, unit in by_code.items():
        assert events[code] == unit, "event %s != unit %s" % (events[code], unit)
    STATE["p1_outbox"] = _events(stack, p1)
    STATE["p1_units"] = stack.psql("SELECT id, updated_at FROM tenants.units WHERE property_id = '%s' ORDER BY id" % p1)


def test_units_event_shape_matches_single_create(stack):
    """A unit made with POST .../units and one imported carry events of the same shape."""
    p3 = STATE["p3"]
    _ok(_admin(stack, "POST", "/v1/properties/%s/units" % p3,
               {"code": "S-1", "building": "S", "floor": "3", "area_m2": 100, "use": "storage"}), 201, "single")
    _ok(_import(stack, p3, "units", "code,building,floor,area_m2,use\nS-2,S,3,100.00,storage\n"), 200, "import")
    rows = stack.psql("SELECT data::text FROM tenants.outbox WHERE property_id = '%s' AND type = 'unit.created' "
                      "ORDER BY seq" % p3)
    one, two = (json.loads(d) for (d,) in rows)
    assert sorted(one) == sorted(two), "keys differ: %s vs %s" % (sorted(one), sorted(two))
    for k in one:
        if k not in ("id", "code", "created_at", "updated_at"):
            assert one[k] == two[k] and type(one[k]) is type(two[k]), "%s: %r vs %r" % (k, one[k], two[k])


def test_units_second_import_changes_nothing(stack):
    p1 = STATE["p1"]
    rep = _ok(_import(stack, p1, "units", UNITS_CSV), 200, "second import")
    assert rep["imported"] == 0 and rep["duplicates"] == 5 and rep["errors"] == [], rep
    assert _events(stack, p1) == STATE["p1_outbox"], "a second import wrote events"
    now = stack.psql("SELECT id, updated_at FROM tenants.units WHERE property_id = '%s' ORDER BY id" % p1)
    assert now == STATE["p1_units"], "a second import changed units"


def test_units_bad_lines_reported_good_ones_in(stack):
    p2 = STATE["p2"]
    text = ("code,area_m2,use,building,floor\n"              # 1
            "G-1,10,office,,\n"                              # 2 good
            "G-2,abc,office,,\n"                             # 3 area not a number
            "G-3,1.234,office,,\n"                           # 4 3 decimals
            ",12,office,,\n"                                 # 5 no code
            "G-5,12,castle,,\n"                              # 6 bad use
            "G-6,12\n"                                       # 7 ragged
            "\n"                                             # 8 blank: skipped
            "G-1,99,retail,,\n"                              # 9 repeats line 2
            "G-9,12,office,," + "x" * 65 + "\n"              # 10 floor too long
            "\"G-10\",\"1,5\",office,,\n"                    # 11 1,5 is no number
            "G-11,12,office,,\n"                             # 12 good
            "\"G-12,\"x\",office,,\n"                        # 13 text after a closing quote
            "G-13, 7.25 ,residential, 北楼 ,\n"             # 14 good (blanks trimmed)
            "\"G-14,1,office,,\n")                           # 15 never closed
    rep = _ok(_import(stack, p2, "units", text), 200, "mixed file")
    lines = {e["line"]: e["problem"] for e in rep["errors"]}
    assert rep["imported"] == 3 and rep["duplicates"] == 1, rep
    assert sorted(lines) == [3, 4, 5, 6, 7, 10, 11, 13, 15], rep
    assert rep["rejected"] == 9 and rep["errors_truncated"] is False, rep
    assert "area_m2" in lines[3] and "number" in lines[3], lines
    assert "decimals" in lines[4] and "code" in lines[5] and "use" in lines[6], lines
    assert "2 fields" in lines[7] and "floor" in lines[10] and "area_m2" in lines[11], lines
    assert "quote" in lines[13] and "never closed" in lines[15], lines
    assert [e["line"] for e in rep["errors"]] == sorted(lines), "errors in line order"
    codes = sorted(r[0] for r in stack.psql("SELECT code FROM tenants.units WHERE property_id = '%s'" % p2))
    assert codes == ["G-1", "G-11", "G-13"], codes
    g13 = stack.psql("SELECT area_m2::text, building FROM tenants.units WHERE property_id = '%s' AND code = 'G-13'" % p2)
    assert g13 == [("7.25", "北楼")], g13
    g1 = stack.psql("SELECT area_m2::text, use FROM tenants.units WHERE property_id = '%s' AND code = 'G-1'" % p2)
    assert g1 == [("10.00", "office")], "the first of a repeated code wins: %s" % g1


def test_units_header_problems_refuse_the_file(stack):
    p2 = STATE["p2"]
    before, events = _units(stack, p2), _events(stack, p2)
    err = _error(_import(stack, p2, "units", "code,building,use\nZ-1,A,office\n"), 422, "validation_failed",
                 "missing area_m2")
    assert "area_m2" in {d["field"] for d in err["details"]}, err
    err = _error(_import(stack, p2, "units", "code,area_m2,use,colour\nZ-1,1,office,red\n"), 422,
                 "validation_failed", "unknown column")
    assert "colour" in {d["field"] for d in err["details"]}, err
    err = _error(_import(stack, p2, "units", "code,area_m2,use,CODE\nZ-1,1,office,Z-2\n"), 422,
                 "validation_failed", "repeated column")
    for text in ("", BOM, "\r\n\r\n"):
        _error(_import(stack, p2, "units", text), 422, "validation_failed", "empty file %r" % text)
    _error(_import(stack, p2, "units", "\"code,area_m2,use\nZ-1,1,office\n"), 422, "validation_failed",
           "unterminated quote in the header")
    assert _units(stack, p2) == before and _events(stack, p2) == events, "a refused file imported something"
    # a header alone: nothing to do
    rep = _ok(_import(stack, p2, "units", "code,area_m2,use\n"), 200, "header only")
    assert rep["imported"] == 0 and rep["errors"] == [], rep


def test_units_encodings(stack):
    p3 = STATE["p3"]
    # invalid UTF-8 on line 3: 422 naming the line, nothing imported
    raw = "code,area_m2,use,building\nE-1,1,office,东楼\nE-2,1,office,".encode("utf-8") + b"\xb6\xab\xc2\xa5\n"
    before = _units(stack, p3)
    err = _error(_import(stack, p3, "units", raw), 422, "validation_failed", "invalid UTF-8")
    assert "line 3" in err["message"] and "line 3" in err["details"][0]["problem"], err
    assert _units(stack, p3) == before, "an invalid file imported something"
    # the same text saved by Excel as GBK / GB18030, with the charset said
    text = "code,area_m2,use,building\nE-1,1,office,东楼\nE-2,2.5,retail,西楼\nE-3,3,hotel,𠀀楼\n"
    for label, enc in (("gb18030", "gb18030"),):
        rep = _ok(_import(stack, p3, "units", text.encode(enc), charset=label), 200, "charset " + label)
        assert rep["imported"] == 3 and rep["errors"] == [], rep
    rows = dict(stack.psql("SELECT code, building FROM tenants.units WHERE property_id = '%s' AND code LIKE 'E-%%'" % p3))
    assert rows == {"E-1": "东楼", "E-2": "西楼", "E-3": "𠀀楼"}, rows
    rep = _ok(_import(stack, p3, "units", "code,area_m2,use,building\nE-4,4,office,南楼\n".encode("gbk"),
                      charset="GBK"), 200, "charset GBK")
    assert rep["imported"] == 1, rep
    assert stack.psql("SELECT building FROM tenants.units WHERE property_id = '%s' AND code = 'E-4'" % p3) == [("南楼",)]
    # bytes that are not GB18030 either: 422 with the line
    err = _error(_import(stack, p3, "units", b"code,area_m2,use\nE-9,1,office\nE-10,1,\xff\n", charset="gb18030"),
                 422, "validation_failed", "not GB18030")
    assert "line 3" in err["message"], err
    # a NUL byte
    err = _error(_import(stack, p3, "units", b"code,area_m2,use\nE-9,1,off\x00ice\n"), 422, "validation_failed", "NUL")
    assert "line 2" in err["message"], err
    # other charsets and media types
    for label in ("latin1", "utf-16", "\"x\""):
        _error(_import(stack, p3, "units", "code,area_m2,use\n", charset=label), 415, "unsupported_media_type",
               "charset " + label)
    _error(_import(stack, p3, "units", "code", ctype="text/plain"), 415, "unsupported_media_type", "text/plain")
    _error(_admin(stack, "POST", "/v1/properties/%s/imports/units" % p3, {"code": "x"}), 415,
           "unsupported_media_type", "JSON to an import")
    _ok(_import(stack, p3, "units", "code,area_m2,use\nE-5,5,office\n", charset="UTF-8"), 200, "charset=UTF-8")


def test_units_import_roles_and_scope(stack):
    p1 = STATE["p1"]
    _error(_import(stack, p1, "units", "code,area_m2,use\n", token=STATE["tokens"]["agent"]), 403, "forbidden", "agent")
    _error(_import(stack, "00000000-0000-4000-8000-000000000000", "units", "code,area_m2,use\nX,1,office\n"),
           404, "not_found", "no such property")


def _raw_post(stack, path, headers, body_len, chunk=1 << 20):
    """Sends headers then up to body_len bytes of body on a raw socket while
    reading the answer; returns (status line, bytes sent)."""
    s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=30)
    head = "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (
        path, "".join("%s: %s\r\n" % kv for kv in headers.items()), body_len)
    s.sendall(head.encode())
    sent = 0
    answer = b""
    block = b"A" * chunk
    s.settimeout(0.01)
    try:
        while sent < body_len:
            try:
                sent += s.send(block[: min(chunk, body_len - sent)])
            except (BlockingIOError, socket.timeout):
                pass
            try:
                got = s.recv(65536)
                if got:
                    answer += got
                    if b"\r\n\r\n" in answer:
                        break
                else:
                    break
            except (BlockingIOError, socket.timeout):
                pass
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(10)
    try:
        while b"\r\n\r\n" not in answer:
            got = s.recv(65536)
            if not got:
                break
            answer += got
    except (OSError, socket.timeout):
        pass
    s.close()
    return answer.split(b"\r\n", 1)[0].decode("latin1"), sent, answer


def test_big_bodies(stack):
    """50 MB: 413 before the body is read, nothing imported, the gateway serves
    on. 19 MiB: through the gateway, ZeroMQ and the broker, and answered."""
    p3 = STATE["p3"]
    before = _units(stack, p3)
    h = {"Authorization": "Bearer " + stack.admin_token, "Content-Type": "text/csv"}
    status, sent, answer = _raw_post(stack, "/v1/properties/%s/imports/units" % p3, h, 50 * 1000 * 1000)
    assert " 413 " in status, "50 MB: %s (%r)" % (status, answer[:300])
    assert b"payload_too_large" in answer, answer[:300]
    assert sent < 20 * 1024 * 1024, "the gateway read %d bytes of a body it refused" % sent
    assert _units(stack, p3) == before, "a refused body imported something"
    _ok(stack.http("GET", "/healthz"), 200, "healthz after 413")
    _ok(_admin(stack, "GET", "/v1/properties/%s/units?limit=1" % p3), 200, "API after 413")
    # every other route keeps 1 MiB
    status, _, _ = _raw_post(stack, "/v1/properties/%s/units" % p3,
                             {"Authorization": h["Authorization"], "Content-Type": "application/json"},
                             2 * 1024 * 1024)
    assert " 413 " in status, "2 MiB to a JSON route: %s" % status
    # 19 MiB: one good line, one line whose code is a 19 MiB quoted cell
    big = "code,area_m2,use\nBIG-1,1,other\n\"" + "楼" * (19 * 1024 * 1024 // 3) + "\",1,other\nBIG-3,3,other\n"
    t0 = time.monotonic()
    rep = _ok(_import(stack, p3, "units", big), 200, "19 MiB file")
    assert rep["imported"] == 2 and rep["rejected"] == 1 and rep["errors"][0]["line"] == 3, rep
    assert "longer than" in rep["errors"][0]["problem"], rep
    print("# 19 MiB CSV through gateway, broker and tenants in %.2f s" % (time.monotonic() - t0))
    _ok(stack.http("GET", "/healthz"), 200, "healthz after 19 MiB")


# ---------------------------------------------------------------- parties
def test_parties_import_with_move_ins(stack):
    p1 = STATE["p1"]
    ids = [_resident_id(i) for i in range(1, 5)]
    text = (BOM + "kind,name,phone,email,id_type,id_number,unit_code,role,start_date\n"
            "person,王建华,138 0013 8000,wang@example.com,resident_id,%s,A-1201,owner,2024-05-01\n"   # 2
            "person,王建华,13800138000,,resident_id,%s,H-3101,owner,2024-06-01\n"                      # 3 same party, 2nd unit
            "person,李娜,0755-88881234;13912345678,,,%s,A-1201,tenant,2025-01-01\n"                    # 4 id type defaults
            "company,深圳市华强物业管理有限公司,,,,,\"L1-01, 东\",tenant,2025-03-01\n"                   # 5 no ID
            "person,赵六,12345,,,,,,\n"                                                                # 6 bad phone
            "person,钱七,,,resident_id,110101199003071234,,,\n"                                        # 7 bad check digit
            "person,孙八,,,,,NO-SUCH,owner,2025-01-01\n"                                               # 8 unknown unit
            "person,周九,,,,,A-1201,,\n"                                                               # 9 no role/date
            "robot,吴十,,,,,,,\n"                                                                      # 10 bad kind
            "person,王建华,13800138000,,resident_id,%s,A-1201,owner,2024-05-01\n"                      # 11 repeats 2
            "person,郑十一,13700137000,,,,,,\n"                                                        # 12 no unit
            "person,王五,,,,%s,H-3101,resident,2025-13-01\n"                                           # 13 bad date
            % (ids[0], ids[0], ids[1], ids[0], ids[2]))
    rep = _ok(_import(stack, p1, "parties", text, token=STATE["tokens"]["manager"]), 200, "parties import")
    lines = {e["line"]: e["problem"] for e in rep["errors"]}
    assert sorted(lines) == [6, 7, 8, 9, 10, 13], rep
    assert "phone" in lines[6] and "id_number" in lines[7] and "NO-SUCH" in lines[8], lines
    assert "role" in lines[9] and "start_date" in lines[9] and "kind" in lines[10] and "start_date" in lines[13], lines
    assert "12345" not in json.dumps(rep) and "110101199003071234" not in json.dumps(rep), "problems quote PII"
    assert rep["imported"] == 5 and rep["duplicates"] == 1, rep
    assert rep["parties_created"] == 4 and rep["occupancies_created"] == 4, rep
    parties = stack.psql("SELECT name, kind, array_to_string(phones, '|'), id_type, id_number FROM tenants.parties "
                         "WHERE property_id = '%s' ORDER BY name" % p1)
    names = [p[0] for p in parties]
    assert sorted(names) == sorted(["王建华", "李娜", "深圳市华强物业管理有限公司", "郑十一"]), parties
    li = [p for p in parties if p[0] == "李娜"][0]
    assert li[2] == "0755-88881234|13912345678" and li[3] == "resident_id" and li[4] == ids[1], li
    occ = stack.psql("SELECT p.name, u.code, o.role, o.start_date::text FROM tenants.occupancies o "
                     "JOIN tenants.parties p ON p.id = o.party_id JOIN tenants.units u ON u.id = o.unit_id "
                     "WHERE o.property_id = '%s' ORDER BY 1, 2" % p1)
    assert sorted(occ) == sorted([("王建华", "A-1201", "owner", "2024-05-01"), ("王建华", "H-3101", "owner", "2024-06-01"),
                                  ("李娜", "A-1201", "tenant", "2025-01-01"),
                                  ("深圳市华强物业管理有限公司", "L1-01, 东", "tenant", "2025-03-01")]), occ
    tails = _count(stack, "SELECT count(*) FROM tenants.party_phone_tails WHERE property_id = '%s'" % p1)
    assert tails == 4, "phone tails of the imported parties: %d" % tails
    assert _events(stack, p1, "party.created") == 4 and _events(stack, p1, "occupancy.started") == 4
    STATE["parties_csv"] = text
    STATE["p1_outbox_parties"] = _events(stack, p1)

    # the second import of the same file: nothing new
    rep = _ok(_import(stack, p1, "parties", text), 200, "second parties import")
    assert rep["imported"] == 0 and rep["duplicates"] == 6 and len(rep["errors"]) == 6, rep
    assert rep["parties_created"] == 0 and rep["occupancies_created"] == 0, rep
    assert _events(stack, p1) == STATE["p1_outbox_parties"], "a second import wrote events"

    # a known party moving into one more unit: only the move-in is new
    more = ("kind,name,id_number,unit_code,role,start_date\n"
            "person,王建华,%s,\"L1-01, 东\",owner,2025-06-01\n" % ids[0])
    rep = _ok(_import(stack, p1, "parties", more), 200, "one more move-in")
    assert rep["imported"] == 1 and rep["parties_created"] == 0 and rep["occupancies_created"] == 1, rep


def test_parties_events_match_the_single_row_shapes(stack):
    p1 = STATE["p1"]
    rows = stack.psql("SELECT type, data::text FROM tenants.outbox WHERE property_id = '%s' "
                      "AND type IN ('party.created', 'occupancy.started') ORDER BY seq" % p1)
    party = next(json.loads(d) for t, d in rows if t == "party.created" and "李娜" in d)
    assert party["phone"] == "0755-88881234" and party["phones"] == ["0755-88881234", "13912345678"], party
    assert party["key_customer"] is False and UUID.match(party["id"]), party
    occ = next(json.loads(d) for t, d in rows if t == "occupancy.started" and "李娜" in d)
    assert occ["unit"]["code"] == "A-1201" and occ["party"]["name"] == "李娜" and occ["role"] == "tenant", occ
    assert occ["end_date"] is None and occ["start_date"] == "2025-01-01" and occ["unit"]["area_m2"] == 85.5, occ
    # where the single-row API is there, its events have the same keys
    p2 = STATE["p2"]
    r = _admin(stack, "POST", "/v1/properties/%s/parties" % p2, {"kind": "person", "name": "单个", "phone": "13600136000"})
    if r.status == 201:
        made = stack.psql("SELECT data::text FROM tenants.outbox WHERE property_id = '%s' AND type = 'party.created'" % p2)
        one = json.loads(made[0][0])
        assert sorted(one) == sorted(party), "party.created keys: API %s, import %s" % (sorted(one), sorted(party))
        unit = stack.psql("SELECT id FROM tenants.units WHERE property_id = '%s' AND code = 'G-1'" % p2)[0][0]
        r = _admin(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (p2, unit),
                   {"party_id": one["id"], "role": "owner", "start_date": "2025-01-01"})
        if r.status == 201:
            made = stack.psql("SELECT data::text FROM tenants.outbox WHERE property_id = '%s' "
                              "AND type = 'occupancy.started'" % p2)
            o = json.loads(made[0][0])
            assert sorted(o) == sorted(occ) and sorted(o["unit"]) == sorted(occ["unit"]) \
                and sorted(o["party"]) == sorted(occ["party"]), "occupancy.started: API %s, import %s" % (o, occ)
            for k in ("unit_id", "role", "start_date", "end_date"):
                assert type(o[k]) is type(occ[k]), k
            print("# party.created and occupancy.started compared with the single-row API's events")


def test_parties_header_rules(stack):
    p2 = STATE["p2"]
    err = _error(_import(stack, p2, "parties", "name,phone\n张三,13800138000\n"), 422, "validation_failed",
                 "no kind column")
    assert "kind" in {d["field"] for d in err["details"]}, err
    err = _error(_import(stack, p2, "parties", "kind,name,wechat\nperson,张三,zs\n"), 422, "validation_failed",
                 "unknown column")
    assert "wechat" in {d["field"] for d in err["details"]}, err


def test_concurrent_imports_of_one_file(stack):
    """Two uploads of the same parties file at once import it once."""
    p2 = STATE["p2"]
    text = "kind,name,phone\n" + "".join("person,并发%03d,1390000%04d\n" % (i, i) for i in range(200))
    results = [None, None]
    barrier = threading.Barrier(2)

    def go(k):
        barrier.wait()
        results[k] = _import(stack, p2, "parties", text)

    threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    reps = [_ok(r, 200, "concurrent import") for r in results]
    assert sorted(r["imported"] for r in reps) == [0, 200], reps
    n = _count(stack, "SELECT count(*) FROM tenants.parties WHERE property_id = '%s' AND name LIKE '并发%%'" % p2)
    assert n == 200, "parties after two concurrent imports: %d" % n


# ---------------------------------------------------------------- scale
def test_twenty_thousand_units(stack):
    pid = STATE["pbig"]
    rnd = random.Random(7)
    uses = ["residential", "office", "retail", "hotel", "parking", "storage", "other"]
    lines = ["code,building,floor,area_m2,use"]
    for i in range(20000):
        b = "%d栋" % (i // 1000 + 1)
        lines.append("U-%05d,%s,%d,%d.%02d,%s" % (i, b, i % 40 + 1, rnd.randint(10, 300), rnd.randint(0, 99),
                                                  uses[i % 7]))
    text = "\n".join(lines) + "\n"
    t0 = time.monotonic()
    rep = _ok(_import(stack, pid, "units", text, timeout=180), 200, "20,000 units")
    took = time.monotonic() - t0
    assert rep["imported"] == 20000 and rep["duplicates"] == 0 and rep["errors"] == [], {
        k: rep[k] for k in ("imported", "duplicates", "rejected")}
    assert _units(stack, pid) == 20000 and _events(stack, pid, "unit.created") == 20000
    print("# 20,000 units (%.1f KiB CSV) imported in %.2f s" % (len(text.encode()) / 1024, took))
    t0 = time.monotonic()
    rep = _ok(_import(stack, pid, "units", text, timeout=180), 200, "20,000 units again")
    assert rep["imported"] == 0 and rep["duplicates"] == 20000, rep
    print("# the same file again: 0 imported, 20,000 duplicates, in %.2f s" % (time.monotonic() - t0))
    assert _events(stack, pid, "unit.created") == 20000
