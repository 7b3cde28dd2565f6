"""test_attachments: files of tickets, units and parties (API.md, "Attachments") end to end:
the file as the HTTP body, through the gateway and the broker as the bus's binary frame
(mdp.h), stored in the owning service's schema, read back byte for byte.

Covers: upload and read back with the sha256; the type checked from the bytes (a PNG
sent as application/pdf: 415); types not allowed (415 at the headers); 11 MiB (413 at
the headers, and for a chunked body when it passes the limit; the gateway stays up);
another property's resources and unknown ones (404); a technician on a ticket not
assigned to them (404) and on a party document (403); party documents read only by
roles with full PII, every read audited in pii_reads; the download's headers (nosniff,
Content-Disposition, no-store, sandbox); a hostile X-Filename; an Idempotency-Key
replay answering the same JSON. Tests run in file order and share S.
"""

import hashlib
import http.client
import re
import secrets
import urllib.parse
from api import staff_user

S = {}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MIB = 1024 * 1024

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40 + b"\x00IEND"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + secrets.token_bytes(3000)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + secrets.token_bytes(100)


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body and r.headers.get("content-type", "").startswith("application/json") else None


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body and body.get("error", {}).get("code") == code, "%s: error %r, wanted %s" % (what, body, code)
    return body["error"]


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.id, u.token


def _upload(stack, path, data, ctype, who="agent", name=None, headers=None, raw_name=None):
    """name: percent-encoded as a browser must (a header carries Latin-1 only); raw_name: as is."""
    h = {"Content-Type": ctype}
    if name is not None:
        h["X-Filename"] = urllib.parse.quote(name, safe="")
    if raw_name is not None:
        h["X-Filename"] = raw_name
    h.update(headers or {})
    return stack.http("POST", path, raw=data, token=S["tokens"][who], headers=h)


def _get(stack, path, who="agent"):
    return stack.http("GET", path, token=S["tokens"][who])


def _p(pid, rest):
    return "/v1/properties/%s/%s" % (pid, rest)


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "AT1-" + tag, "name": "华强国际中心"}),
             201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "AT2-" + tag, "name": "浦江花园"}),
             201, "P2")["id"]
    u1 = _ok(stack.http("POST", _p(p1, "units"), token=adm, body={"code": "A-1201", "area_m2": 85.5, "use": "office"}),
             201, "U1")["id"]
    u2 = _ok(stack.http("POST", _p(p2, "units"), token=adm, body={"code": "B-0101", "area_m2": 99, "use": "residential"}),
             201, "U2")["id"]
    party = _ok(stack.http("POST", _p(p1, "parties"), token=adm,
                           body={"kind": "person", "name": "张三", "phone": "13812345678"}), 201, "party")["id"]
    S.update(p1=p1, p2=p2, u1=u1, u2=u2, party=party, tokens={"admin": adm}, ids={})
    for role in ("agent", "technician", "manager"):
        uid, tok = _user(stack, role, [p1])
        S["tokens"][role], S["ids"][role] = tok, uid
    uid, tok = _user(stack, "agent", [p2])
    S["tokens"]["agent2"], S["ids"]["agent2"] = tok, uid
    t = _ok(stack.http("POST", _p(p1, "tickets"), token=S["tokens"]["agent"],
                       body={"type": "repair", "title": "卫生间漏水", "unit_id": u1}), 201, "ticket")
    S["tid"] = t["id"]


# ---------------------------------------------------------------- tickets
def test_ticket_upload_and_read_back(stack):
    base = _p(S["p1"], "tickets/%s/attachments" % S["tid"])
    a = _ok(_upload(stack, base, PNG, "image/png", name="漏水 照片.png"), 201, "upload PNG")
    assert UUID.match(a["id"]), a
    assert a["content_type"] == "image/png" and a["size"] == len(PNG), a
    assert a["sha256"] == hashlib.sha256(PNG).hexdigest(), a
    assert a["filename"] == "漏水 照片.png" and a["uploaded_by"] == S["ids"]["agent"], a
    S["ticket_png"] = a["id"]

    r = _get(stack, "%s/%s" % (base, a["id"]))
    assert r.status == 200, r
    assert r.body == PNG, "the bytes differ (%d vs %d)" % (len(r.body), len(PNG))
    assert hashlib.sha256(r.body).hexdigest() == a["sha256"]
    assert r.headers["content-type"] == "image/png", r.headers
    assert r.headers["x-content-type-options"] == "nosniff", r.headers
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment;"), cd
    assert "filename*=UTF-8''" + urllib.parse.quote("漏水 照片.png", safe="") in cd, cd
    assert 'filename="__ __.png"' in cd, cd
    assert "no-store" in r.headers["cache-control"], r.headers
    # the second Content-Security-Policy header (the harness keeps the last of a name)
    assert "sandbox" in r.headers.get("content-security-policy", ""), r.headers

    # a JPEG, a WebP and a PDF too; the list, newest first, without bytes
    ids = []
    for data, ctype in ((JPEG, "image/jpeg"), (WEBP, "image/webp"), (PDF, "application/pdf; charset=binary")):
        ids.append(_ok(_upload(stack, base, data, ctype), 201, ctype)["id"])
    lst = _ok(_get(stack, base), 200, "list")
    got = [i["id"] for i in lst["items"]]
    assert set(got) == set(ids + [a["id"]]) and len(got) == 4, lst
    assert all("content" not in i for i in lst["items"]), lst
    page = _ok(_get(stack, base + "?limit=3"), 200, "page 1")
    assert len(page["items"]) == 3 and page["next_cursor"], page
    rest = _ok(_get(stack, base + "?limit=3&cursor=" + page["next_cursor"]), 200, "page 2")
    assert [i["id"] for i in page["items"] + rest["items"]] == got, (page, rest)
    # without a name, the service names it
    pdf = [i for i in lst["items"] if i["content_type"] == "application/pdf"][0]
    assert pdf["filename"] == "attachment.pdf", pdf
    r = _get(stack, "%s/%s" % (base, pdf["id"]))
    assert r.body == PDF and 'filename="attachment.pdf"' in r.headers["content-disposition"], r.headers


def test_type_checked_from_the_bytes(stack):
    base = _p(S["p1"], "tickets/%s/attachments" % S["tid"])
    before = stack.psql("SELECT count(*) FROM tickets.attachments")[0][0]
    e = _error(_upload(stack, base, PNG, "application/pdf"), 415, "unsupported_media_type", "PNG as PDF")
    assert "image/png" in e["message"], e
    _error(_upload(stack, base, b"<html><script>alert(1)</script>", "image/jpeg"), 415,
           "unsupported_media_type", "HTML as JPEG")
    # types not allowed are refused at the headers
    for ctype in ("text/html", "image/svg+xml", "application/octet-stream", "application/json"):
        _error(_upload(stack, base, PNG, ctype), 415, "unsupported_media_type", ctype)
    r = stack.http("POST", base, raw=PNG, token=S["tokens"]["agent"])     # no Content-Type at all
    _error(r, 415, "unsupported_media_type", "no type")
    _error(_upload(stack, base, b"", "image/png"), 422, "validation_failed", "empty file")
    assert stack.psql("SELECT count(*) FROM tickets.attachments")[0][0] == before, "nothing half-written"


def test_too_big_413_and_the_gateway_stays_up(stack):
    base = _p(S["p1"], "tickets/%s/attachments" % S["tid"])
    big = b"\x89PNG\r\n\x1a\n" + bytes(11 * MIB)
    # announced: refused at the headers, the body never read
    _error(_upload(stack, base, big, "image/png"), 413, "payload_too_large", "11 MiB")
    # chunked: refused once the body passes the limit
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=30)
    try:
        conn.putrequest("POST", base)
        conn.putheader("Authorization", "Bearer " + S["tokens"]["agent"])
        conn.putheader("Content-Type", "image/png")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        status = None
        try:
            for off in range(0, len(big), MIB):
                chunk = big[off:off + MIB]
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass                     # the gateway closed after its 413
        status = conn.getresponse().status
    finally:
        conn.close()
    assert status == 413, status
    # exactly 10 MiB passes, and the gateway still answers
    ten = b"%PDF-1.4\n" + bytes(10 * MIB - 9)
    a = _ok(_upload(stack, base, ten, "application/pdf", name="大文件.pdf"), 201, "10 MiB")
    assert a["size"] == 10 * MIB and a["sha256"] == hashlib.sha256(ten).hexdigest(), a
    r = _get(stack, "%s/%s" % (base, a["id"]))
    assert r.status == 200 and len(r.body) == 10 * MIB and r.body == ten, (r.status, len(r.body))
    assert stack.http("GET", "/healthz").status == 200


def test_ticket_scope(stack):
    base = _p(S["p1"], "tickets/%s/attachments" % S["tid"])
    one = "%s/%s" % (base, S["ticket_png"])
    # another property's agent: 404 for all three
    _error(_get(stack, one, who="agent2"), 404, "not_found", "other property's file")
    _error(_get(stack, base, who="agent2"), 404, "not_found", "other property's list")
    _error(_upload(stack, base, PNG, "image/png", who="agent2"), 404, "not_found", "other property's upload")
    # the same ticket id under another property: 404
    other = _p(S["p2"], "tickets/%s/attachments/%s" % (S["tid"], S["ticket_png"]))
    _error(_get(stack, other, who="admin"), 404, "not_found", "wrong property in path")
    # unknown ticket, unknown attachment, not a UUID
    _error(_get(stack, _p(S["p1"], "tickets/%s/attachments" % S["u1"])), 404, "not_found", "no ticket")
    _error(_upload(stack, _p(S["p1"], "tickets/%s/attachments" % S["u1"]), PNG, "image/png"), 404,
           "not_found", "upload to no ticket")
    _error(_get(stack, "%s/%s" % (base, S["u1"])), 404, "not_found", "no attachment")
    _error(_get(stack, "%s/%s" % (base, "nope")), 404, "not_found", "not a uuid")
    # a technician sees the files of the tickets assigned to them only
    _error(_get(stack, one, who="technician"), 404, "not_found", "not assigned")
    _ok(stack.http("POST", _p(S["p1"], "tickets/%s/actions" % S["tid"]), token=S["tokens"]["agent"],
                   body={"action": "assign", "assignee_id": S["ids"]["technician"]}), 200, "assign")
    r = _get(stack, one, who="technician")
    assert r.status == 200 and r.body == PNG, r
    _ok(_upload(stack, base, JPEG, "image/jpeg", who="technician", name="修好了.jpg"), 201, "technician's photo")


# ---------------------------------------------------------------- units
def test_unit_files(stack):
    base = _p(S["p1"], "units/%s/attachments" % S["u1"])
    a = _ok(_upload(stack, base, PDF, "application/pdf", name="户型图.pdf", who="technician"), 201, "unit PDF")
    assert a["sha256"] == hashlib.sha256(PDF).hexdigest(), a
    r = _get(stack, "%s/%s" % (base, a["id"]), who="agent")
    assert r.status == 200 and r.body == PDF and r.headers["content-type"] == "application/pdf", r
    lst = _ok(_get(stack, base), 200, "unit list")
    assert [i["id"] for i in lst["items"]] == [a["id"]], lst
    _error(_get(stack, "%s/%s" % (base, a["id"]), who="agent2"), 404, "not_found", "other property")
    _error(_get(stack, _p(S["p2"], "units/%s/attachments" % S["u1"]), who="admin"), 404, "not_found",
           "unit under another property")
    _error(_upload(stack, _p(S["p2"], "units/%s/attachments" % S["u1"]), PDF, "application/pdf", who="admin"),
           404, "not_found", "upload to a unit of another property")
    _error(_get(stack, _p(S["p1"], "units/%s/attachments" % S["party"])), 404, "not_found", "no such unit")
    _error(_upload(stack, base, PNG, "application/pdf"), 415, "unsupported_media_type", "unit: PNG as PDF")


# ---------------------------------------------------------------- parties (personal data)
def test_party_documents_audited(stack):
    base = _p(S["p1"], "parties/%s/attachments" % S["party"])
    a = _ok(_upload(stack, base, JPEG, "image/jpeg", name="身份证 正面.jpg", who="agent"), 201, "ID copy")
    one = "%s/%s" % (base, a["id"])
    # the desk files it, but only roles with full PII read it; technicians not at all
    _error(_get(stack, one, who="agent"), 403, "forbidden", "agent reads an ID copy")
    _error(_get(stack, base, who="agent"), 403, "forbidden", "agent lists documents")
    _error(_get(stack, one, who="technician"), 403, "forbidden", "technician reads an ID copy")
    _error(_upload(stack, base, JPEG, "image/jpeg", who="technician"), 403, "forbidden", "technician uploads")
    audit = "SELECT count(*) FROM tenants.pii_reads WHERE party_id = '%s' AND method = '%s'"
    before = int(stack.psql(audit % (S["party"], "tenants.party_attachments.get"))[0][0])
    r = _get(stack, one, who="manager")
    assert r.status == 200 and r.body == JPEG, r
    assert hashlib.sha256(r.body).hexdigest() == a["sha256"]
    rows = stack.psql("SELECT user_id, role FROM tenants.pii_reads WHERE party_id = '%s' "
                      "AND method = 'tenants.party_attachments.get' ORDER BY read_at DESC LIMIT 1" % S["party"])
    assert rows == [(S["ids"]["manager"], "manager")], rows
    assert _get(stack, one, who="admin").status == 200
    after = int(stack.psql(audit % (S["party"], "tenants.party_attachments.get"))[0][0])
    assert after == before + 2, (before, after)
    lst = _ok(_get(stack, base, who="manager"), 200, "manager lists")
    assert [i["id"] for i in lst["items"]] == [a["id"]], lst
    # another property's manager, an unknown party, a file of another party
    _, mgr2 = _user(stack, "manager", [S["p2"]])
    assert stack.http("GET", one, token=mgr2).status == 404
    _error(_get(stack, _p(S["p1"], "parties/%s/attachments/%s" % (S["u1"], a["id"])), who="manager"), 404,
           "not_found", "wrong party")
    _error(_upload(stack, _p(S["p1"], "parties/%s/attachments" % S["u1"]), JPEG, "image/jpeg"), 404,
           "not_found", "no such party")
    # a refused read is not audited
    assert int(stack.psql(audit % (S["party"], "tenants.party_attachments.get"))[0][0]) == after


# ---------------------------------------------------------------- names and replays
def test_hostile_filename(stack):
    base = _p(S["p1"], "tickets/%s/attachments" % S["tid"])
    evil = '../../etc/"passwd"\r\nSet-Cookie: x=1\x7f.png'
    a = _ok(_upload(stack, base, PNG, "image/png", name=evil), 201, "hostile name")
    assert a["filename"] == "passwdSet-Cookie: x=1.png", a
    r = _get(stack, "%s/%s" % (base, a["id"]))
    assert "set-cookie" not in r.headers, r.headers
    cd = r.headers["content-disposition"]
    assert "\r" not in cd and "\n" not in cd and "etc" not in cd, cd
    assert 'filename="passwdSet-Cookie: x=1.png"' in cd, cd
    # a name that is only a path, or only dots: the service names it
    a = _ok(_upload(stack, base, PNG, "image/png", name="../../"), 201, "path only")
    assert a["filename"] == "attachment.png", a
    # a long Chinese name is kept whole for display, shortened in the header only
    long_name = "合同" * 40 + ".pdf"
    a = _ok(_upload(stack, base, PDF, "application/pdf", name=long_name), 201, "long name")
    assert a["filename"] == long_name, a
    r = _get(stack, "%s/%s" % (base, a["id"]))
    assert r.status == 200 and r.headers["content-disposition"].endswith(".pdf"), r.headers
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C" in r.headers["content-disposition"], r.headers
    # longer than 255 bytes: cut at a character, not refused
    a = _ok(_upload(stack, base, PDF, "application/pdf", name="合同" * 100 + ".pdf"), 201, "too long a name")
    assert len(a["filename"].encode()) <= 255 and a["filename"].startswith("合同合同"), a
    # bad percent-encoding or not UTF-8: 422 naming the header
    e = _error(_upload(stack, base, PNG, "image/png", raw_name="%ZZ.png"), 422, "validation_failed", "bad escape")
    assert e["details"][0]["field"] == "X-Filename", e
    _error(_upload(stack, base, PNG, "image/png", raw_name="%FF%FE.png"), 422, "validation_failed", "not UTF-8")


def test_idempotent_upload(stack):
    base = _p(S["p1"], "tickets/%s/attachments" % S["tid"])
    key = {"Idempotency-Key": "att-" + secrets.token_hex(6)}
    first = _upload(stack, base, JPEG, "image/jpeg", headers=key)
    a = _ok(first, 201, "first")
    again = _upload(stack, base, JPEG, "image/jpeg", headers=key)
    assert again.status == 201 and again.json() == a, (again, a)
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    n = stack.psql("SELECT count(*) FROM tickets.attachments WHERE id = '%s'" % a["id"])[0][0]
    assert n == "1"
    # the same key with other bytes is a different request
    _error(_upload(stack, base, PNG, "image/png", headers=key), 409, "idempotency_mismatch", "other file")
