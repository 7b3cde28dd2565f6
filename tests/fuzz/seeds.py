#!/usr/bin/env python3
"""seeds.py: writes the seed corpora of tests/fuzz/corpus/<target>/ (small, real
inputs: requests, envelopes, CSV files, webhook URLs and method bodies as the
test suite sends them). Run it after changing a target's input format:
    python3 tests/fuzz/seeds.py
Each target's first byte(s) select a mode; see the target's comment."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
PID = "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd"
UID = "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def http_seeds():
    tok = "Authorization: Bearer 0123456789abcdef0123456789abcdef\r\n"
    body = json.dumps({"code": "A-1201", "area_m2": 85.5, "use": "office", "building": "A座"},
                      ensure_ascii=False).encode()
    reqs = {
        "get_units": b"GET /v1/properties/%s/units?limit=10&q=A%%E5%%BA%%A7&cursor=QS0x HTTP/1.1\r\n"
                     b"Host: x\r\n%s\r\n" % (PID.encode(), tok.encode()),
        "post_unit": b"POST /v1/properties/%s/units HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Idempotency-Key: k-1\r\nX-Request-Id: r-1\r\n%sContent-Length: %d\r\n\r\n%s"
                     % (PID.encode(), tok.encode(), len(body), body),
        "patch_chunked": b"PATCH /v1/properties/%s/units/%s HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"7\r\n{\"floo\r\n9\r\nr\":\"12\"}\r\n0\r\n\r\n" % (PID.encode(), UID.encode()),
        "csv_gbk": b"POST /v1/properties/%s/imports/units HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: text/csv; charset=gbk\r\nExpect: 100-continue\r\nContent-Length: 43\r\n\r\n"
                   % PID.encode() + "code,area_m2,use,building\nE-4,4,office,南楼\n".encode("gbk")[:43],
        "pipelined": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v1/auth/me HTTP/1.1\r\n\r\n"
                     b"POST /v1/auth/login HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n"
                     b"{\"username\":\"admin\",\"password\":\"x\"}",
        "static": b"GET /app.js HTTP/1.1\r\n\r\nGET /%2e%2e/etc/passwd HTTP/1.1\r\n\r\nGET http://h/index.html#x HTTP/1.1\r\n\r\n",
        "bad_method": b"DELETE /v1/properties HTTP/1.1\r\nContent-Length: 0\r\n\r\nBREW / HTTP/1.1\r\n\r\n",
        "dup_header": b"GET /v1/auth/me HTTP/1.1\r\nAuthorization: a\r\nauthorization: b\r\n\r\n",
        "upgrade": b"GET /v1/notifications HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nxyz",
        "too_big": b"POST /v1/webhooks HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{",
    }
    for name, raw in reqs.items():
        write("fuzz_http", name, b"\xff" + raw)   # whole writes
        write("fuzz_http", name + "_split", b"\x00" + raw)  # 16-byte writes


def envelope_seeds():
    req = {"v": 1, "id": "r-1", "method": "tenants.units.create",
           "caller": {"user_id": UID, "role": "manager", "property_ids": [PID]},
           "deadline": 1767225600000,
           "body": {"params": {"pid": PID}, "data": {"code": "A-1", "area_m2": 85.5, "use": "office"}}}
    write("fuzz_envelope", "request", "r" + json.dumps(req, ensure_ascii=False))
    req2 = dict(req, caller={"user_id": "svc", "role": "service"}, body={"params": {}, "data": "code,use\nA,b\n"})
    write("fuzz_envelope", "request_csv", "r" + json.dumps(req2))
    rep = {"v": 1, "id": "r-1", "status": 201, "body": {"id": UID, "code": "A-1", "area_m2": "85.50",
                                                        "tags": ["a", "b\"}"], "n": None}}
    write("fuzz_envelope", "reply", "s" + json.dumps(rep, ensure_ascii=False))
    err = {"v": 1, "id": "r-2", "status": 422, "error": {"code": "validation_failed", "message": "bad",
                                                        "details": [{"field": "code", "problem": "is required"}]}}
    write("fuzz_envelope", "reply_error", "s" + json.dumps(err))


def csv_seeds():
    units = ("\ufeffUse,CODE,area_m2,Building,floor\r\n"
             "office,A-1201,85.50,A座,12\r\n"
             "retail,\"L1-01, 东\",120,裙楼,1\r\n"
             "residential,\"B-\"\"3\"\"01\",99.9,B栋,\r\n"
             "parking,P-{B2}\\001,12.5,,B2\r\rhotel,H-3101,45,酒店,31\n")
    write("fuzz_csv", "units", b"\x00\x00" + units.encode())
    mixed = ("code,area_m2,use,building,floor\nG-1,10,office,,\nG-6,12\n\n"
             "\"G-10\",\"1,5\",office,,\n\"G-12,\"x\",office,,\n\"G-14,1,office,,\n")
    write("fuzz_csv", "mixed_small_limits", b"\x32\x00" + mixed.encode())
    parties = "kind,name,phone,id_type,id_number\nperson,张三,13800138000,resident_id,11010519491231002X\n"
    write("fuzz_csv", "parties_gbk", b"\x00\x01" + parties.encode("gb18030"))
    write("fuzz_csv", "payments", b"\x00\x00unit_code,amount,method,external_ref,paid_at\n"
                                  b"A-1201,12345,wechat,=HYPERLINK(\"x\"),2026-01-05T10:00:00+08:00\n")


def netguard_seeds():
    urls = ["https://hooks.example.com/pm?x=1", "http://127.0.0.1:8080/hook", "http://[::ffff:10.0.0.1]/",
            "https://169.254.169.254/latest/meta-data", "http://[fe80::1%25eth0]/", "http://localhost./",
            "http://0x7f.1/", "http://127.0.0.1./", "ftp://example.com/hook", "http://", "https://user:pw@[2002:c0a8:101::]:443/a",
            "http://xn--fiqs8s.example/ä"]
    for i, u in enumerate(urls):
        write("fuzz_netguard", "url%02d" % i, u)


def validators_seeds():
    # the first byte picks the method: its row in s_methods (these are the first rows;
    # later ones go by name, validators_named)
    bodies = [
        (0, {"code": "SUNNY-1", "name": "阳光花园", "address": "上海市", "timezone": "Asia/Shanghai"}),
        (1, {"code": "A-1201", "area_m2": 85.5, "use": "office", "building": "A座", "floor": "12"}),
        (2, {"building": None, "floor": "", "area_m2": 1e400}),
        (3, {"kind": "person", "name": "张三", "phones": ["13800138000", "0755-88881234-801"],
             "email": "a@example.com", "id_type": "resident_id", "id_number": "11010519491231002X"}),
        (4, {"phone": "+86 138 0013 8000", "id_number": "E12345678", "id_type": "passport",
             "key_customer": True, "key_customer_note": "VIP"}),
        (5, {"code": "B2-017", "zone": "地面"}),
        (6, {"space_id": UID, "party_id": UID, "unit_id": None, "start_date": "2026-02-28",
             "end_date": "2026-02-28", "monthly_fee": 30000}),
        (7, {"unit_id": UID, "amount": 12345, "method": "wechat", "external_ref": "x",
             "paid_at": "2026-01-05T10:00:00+08:00"}),
        (8, {"rules": [{"event_type": "ticket.created", "recipient": "role:manager",
                        "channels": ["inbox", "sms"]}]}),
        (9, {"type": 1, "title": "账单 {{period}}", "body": "{{amount}} due {{due_date}} {{",
             "data": {"period": "2026-01", "amount": 123456, "due_date": "2026-01-31"}}),
        (10, {"timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]],
                                                      "sat": [["00:00", "24:00"]]},
              "days": [{"day": "2026-10-01", "kind": "holiday", "name": "国庆"},
                       {"day": "2026-10-10", "kind": "workday", "as": "fri"},
                       {"from": "2027-02-10", "to": "2027-02-16", "kind": "holiday"}]}),
        (11, "2026-13"), (11, "MjAyNi0wMS0wMXwx"), (11, "500"), (11, "0755-88881234转801"),
    ]
    for i, (m, body) in enumerate(bodies):
        write("fuzz_validators", "m%02d_%02d" % (m, i), bytes([m]) + json.dumps(body, ensure_ascii=False).encode())


def validators_index(name):
    """The first byte that picks method function name (m_...) in fuzz_validators.c's
    s_methods table: its row number, so seeds stay right as rows are added."""
    with open(os.path.join(HERE, "fuzz_validators.c"), encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("s_methods[]"):]
    table = table[:table.index("};")]
    rows = [line.split(",")[0].strip() for line in table.splitlines()[1:]
            if line.strip().startswith("m_")]
    return rows.index(name)


def validators_named(seeds):
    for i, (name, body) in enumerate(seeds):
        m = validators_index(name)
        write("fuzz_validators", "%s_%02d" % (name, i), bytes([m]) + json.dumps(body, ensure_ascii=False).encode())


def validators_tickets_tenants_seeds():
    # tickets' and tenants' handler inputs (V1), by method name
    validators_named([
        ("m_ticket_create", {"type": "repair", "title": "卫生间漏水", "description": "", "unit_id": UID,
                             "channel": "wechat", "priority": "urgent", "category": "plumbing"}),
        ("m_ticket_create", {"type": "inquiry", "title": "电梯几点检修", "resolve_now": True, "faq_id": PID,
                             "answer": "周三上午"}),
        ("m_ticket_create", {"type": "renovation", "title": "装修申请", "data": {
            "deposit": 200000, "management_fee": 0, "contractor": "某装饰公司", "scope": "厨房",
            "start_date": "2026-03-01", "end_date": "2026-02-30"}}),
        ("m_ticket_create", {"type": "item_release", "title": "搬出", "data": {"items": ["沙发", ""], "carrier": None}}),
        ("m_action_create", {"action": "assign", "assignee_id": "tech-1", "note": "", "fee": None}),
        ("m_action_create", {"action": "resolve", "note": "换了阀门", "fee": {"amount": 5000, "fee_item_code": "REPAIR"}}),
        ("m_action_create", {"action": "approve", "approved_by_party_id": UID, "fee": {"amount": 0}}),
        ("m_comment_create", {"body": "已联系业主", "internal": True}),
        ("m_feedback_create", {"rating": 5, "comment": ""}),
        ("m_feedback_create", {"rating": 5.5, "comment": 3}),
        ("m_faq_create", {"question": "停车费怎么交", "answer": "物业前台或微信", "tags": ["停车", "缴费"]}),
        ("m_faq_update", {"tags": [], "question": None}),
        ("m_faq_update", {}),
        ("m_sla_policies_put", {"items": [
            {"type": "repair", "priority": "urgent", "respond_minutes": 15, "resolve_minutes": 240,
             "warn_minutes": 30, "calendar_id": UID},
            {"type": "repair", "priority": "urgent", "respond_minutes": 10, "resolve_minutes": 5},
            {"type": "complaint", "priority": "low", "respond_minutes": 60, "resolve_minutes": 2880}, 7]}),
        ("m_shift_create", {"post": "front_desk", "user_id": "agent-1", "starts_at": "2026-11-27T08:00:00+08:00",
                            "ends_at": "2026-11-27T20:00:00Z", "key_post": True}),
        ("m_shift_create", {"post": "", "user_id": "u", "starts_at": "2026-11-27T08:00:00Z",
                            "ends_at": "2027-01-27T08:00:00Z", "key_post": "yes"}),
        ("m_occupancy_create", {"party_id": UID, "role": "owner", "start_date": "2026-02-28"}),
        ("m_occupancy_end", {"end_date": "2026-02-29"}),
        ("m_lease_end", {"end_date": "2026-12-31"}),
        ("m_import_party_row", {"party": {"kind": "person", "name": "李四", "phones": ["13900139000"]},
                                "occupancy": {"unit_code": "A-1201", "role": "tenant", "start_date": "2026-01-01"}}),
        ("m_import_party_row", {"party": {"kind": "company", "name": "某公司"},
                                "occupancy": {"role": "owner"}}),
    ])



def validators_billing_notifications_gateway_seeds():
    # billing's, notifications' and the gateway's handler inputs (V2), by method name
    tid = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
    validators_named([
        ("m_bl_settings_put", {"due_day": 31, "late_fee_bps_per_day": 5, "late_fee_grace_days": 0,
                               "late_fee_cap_bps": 100000, "timezone": "Asia/Shanghai"}),
        ("m_bl_settings_put", {"due_day": 0, "late_fee_bps_per_day": 10001, "timezone": ""}),
        ("m_bl_fee_item_create", {"code": "MGMT", "name": "物业管理费", "basis": "per_area", "unit_price": 350,
                                  "applies_to": ["residential", "office", "office"],
                                  "effective_from": "2026-02-01"}),
        ("m_bl_fee_item_create", {"code": "PARK", "name": "车位费", "basis": "parking", "unit_price": 0}),
        ("m_bl_fee_item_create", {"code": "X", "name": "x", "basis": "fixed", "unit_price": 1, "applies_to": []}),
        ("m_bl_run_create", {"period": "2026-02"}),
        ("m_bl_run_create", {"period": "2026-13"}),
        ("m_bl_charge_create", {"unit_id": UID, "amount": 50000, "reason": "维修费", "due_date": "2026-02-29"}),
        ("m_bl_deposit_create", {"unit_id": UID, "amount": 200000, "ticket_id": tid}),
        ("m_bl_deposit_refund", None),
        ("m_bl_deposit_refund", {"amount": 0, "reason": "损坏扣除"}),
        ("m_bl_reason", {"reason": "录入错误"}),
        ("m_bl_reason", {"reason": ""}),
        ("m_nt_announcement_create", {"title": "停水通知", "body": "明日 9:00-12:00 停水",
                                      "audience": "building:A座", "channels": ["inbox", "preferred"]}),
        ("m_nt_announcement_create", {"title": "x", "body": "y", "audience": "use:office",
                                      "channels": ["sms", "sms"]}),
        ("m_nt_preferences_put", {"channels": ["email", "inbox"], "opt_out": False, "locale": "en"}),
        ("m_nt_preferences_put", {"opt_out": None}),
        ("m_nt_webhook", {"url": "https://hooks.example.com/pm",
                          "events": ["bill.issued", "party.created", "*", "bill.issued"],
                          "secret": "s" * 40, "property_ids": [PID], "description": "ERP"}),
        ("m_nt_webhook", {"url": "http://127.0.0.1:9/h", "enabled": True, "events": ["no.such"], "owner": "x"}),
        ("m_gw_login", {"username": "admin", "password": "correct horse"}),
        ("m_gw_password", {"current_password": "old password", "new_password": "ZHANG.SAN", "n": 1}),
        ("m_gw_user_create", {"username": "zhang.san", "password": "密码密码密码密码", "role": "manager",
                              "property_ids": [PID, UID]}),
        ("m_gw_user_update", {"disabled": True, "role": None, "property_ids": []}),
        ("m_gw_user_update", {"username": "x"}),
        ("m_gw_key_create", {"name": "ERP", "role": "integration", "property_ids": [PID],
                             "expires_at": "2027-01-31T08:00:00.5+08:00"}),
        ("m_gw_key_create", {"name": "old", "role": "admin", "expires_at": "2026-02-30T00:00:00Z"}),
    ])

if __name__ == "__main__":
    http_seeds()
    envelope_seeds()
    csv_seeds()
    netguard_seeds()
    validators_seeds()
    validators_tickets_tenants_seeds()
    validators_billing_notifications_gateway_seeds()
