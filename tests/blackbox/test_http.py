"""test_http: the gateway's HTTP/1.1 layer seen from a client on raw sockets:
keep-alive, pipelining, limits (413, 431), malformed input, clients that vanish,
static files and their path safety, routing errors (404, 405, 415), request ids,
the error body on every failure, and 504 after the deadline.

The 504 and idle-timeout tests start a second gateway of their own (another port,
PM_REQUEST_TIMEOUT_MS=500, PM_HTTP_IDLE_TIMEOUT_MS=700) next to the stack's.
"""

import json
import re
import signal
import socket
import time

import harness

STACK = dict()

HEX32 = re.compile(r"^[0-9a-f]{32}$")


# ---------------------------------------------------------------- raw HTTP client
class Conn:
    """One TCP connection; requests are bytes we write, responses are parsed here."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the gateway")
        self.buf += chunk

    def read_response(self, head=False):
        """(status, headers with lower-case keys, body). Skips 1xx interim answers."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = raw.decode("latin-1").split("\r\n")
            m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
            assert m, "bad status line %r" % lines[0]
            status = int(m.group(1))
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            if 100 <= status < 200:
                continue
            n = 0 if head or status in (204, 304) else int(headers.get("content-length", "0"))
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, headers, body

    def closed_by_peer(self, wait=3.0):
        """True when the gateway closes the connection within wait seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def req(method, path, headers=None, body=b"", version="1.1"):
    h = {"Host": "test"}
    h.update(headers or {})
    if body and "Content-Length" not in h and "Transfer-Encoding" not in h:
        h["Content-Length"] = str(len(body))
    head = "%s %s HTTP/%s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % kv for kv in h.items())
    return head.encode("latin-1") + b"\r\n" + body


def check_error(status, headers, body, code, want_status=None):
    """Every failure carries the contract's error body and the X-Request-Id it names."""
    if want_status is not None:
        assert status == want_status, "status %d, wanted %d: %r" % (status, want_status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), headers
    doc = json.loads(body.decode("utf-8"))
    err = doc.get("error")
    assert isinstance(err, dict), "no error object: %r" % doc
    assert err.get("code") == code, "code %r, wanted %r: %r" % (err.get("code"), code, doc)
    assert isinstance(err.get("message"), str) and err["message"], doc
    assert isinstance(err.get("details"), list), doc
    assert doc.get("request_id") == headers.get("x-request-id"), \
        "request_id %r vs X-Request-Id %r" % (doc.get("request_id"), headers.get("x-request-id"))
    assert headers.get("x-content-type-options") == "nosniff", headers
    assert "default-src 'self'" in headers.get("content-security-policy", ""), headers
    return doc


def check_r(r, status, code):
    """check_error for a harness Response."""
    return check_error(r.status, r.headers, r.body, code, status)


def alive(stack):
    r = stack.http("GET", "/healthz")
    assert r.status == 200, r
    gw = stack.procs["gateway"][0]
    assert gw.alive(), "the gateway died: %s" % gw.tail(20)


def auth(stack):
    return {"Authorization": "Bearer " + stack.admin_token}


# ---------------------------------------------------------------- keep-alive and pipelining
def test_keep_alive_several_requests_one_socket(stack):
    c = Conn(stack.http_port)
    try:
        for i in range(5):
            c.send(req("GET", "/healthz", {"X-Request-Id": "ka-%d" % i}))
            status, headers, body = c.read_response()
            assert status == 200, (status, body)
            assert headers["x-request-id"] == "ka-%d" % i, headers
            assert json.loads(body) == {"status": "ok"}, body
            assert headers.get("connection", "").lower() != "close", headers
        c.send(req("GET", "/v1/properties", dict(auth(stack), **{"X-Request-Id": "ka-svc"})))
        status, headers, _ = c.read_response()
        assert status == 200 and headers["x-request-id"] == "ka-svc", (status, headers)
    finally:
        c.close()


def test_pipelining_three_requests_answered_in_order(stack):
    c = Conn(stack.http_port)
    try:
        # the first goes to a service (slowest), the last fails fast: order must still hold
        c.send(req("GET", "/v1/properties", dict(auth(stack), **{"X-Request-Id": "pipe-1"}))
               + req("GET", "/healthz", {"X-Request-Id": "pipe-2"})
               + req("GET", "/v1/nothing-here", dict(auth(stack), **{"X-Request-Id": "pipe-3"})))
        got = [c.read_response() for _ in range(3)]
        assert [h["x-request-id"] for _, h, _ in got] == ["pipe-1", "pipe-2", "pipe-3"], got
        assert [s for s, _, _ in got] == [200, 200, 404], [s for s, _, _ in got]
        check_error(*got[2], code="not_found")
    finally:
        c.close()


def test_pipelined_flood_without_reading_then_all_answers(stack):
    # A client writes 2000 requests before reading anything: the gateway must stop
    # reading (backpressure), keep order, and lose nothing.
    n = 2000
    c = Conn(stack.http_port, timeout=30)
    try:
        data = b"".join(req("GET", "/healthz", {"X-Request-Id": "flood-%d" % i}) for i in range(n))
        c.sock.setblocking(True)
        import threading
        t = threading.Thread(target=c.send, args=(data,))
        t.start()
        ids = []
        for _ in range(n):
            status, headers, _ = c.read_response()
            assert status == 200, status
            ids.append(headers["x-request-id"])
        t.join(30)
        want = ["flood-%d" % i for i in range(n)]
        bad = [(i, a, b) for i, (a, b) in enumerate(zip(ids, want)) if a != b]
        assert not bad, "answers out of order or lost: first %r of %d" % (bad[:3], len(bad))
    finally:
        c.close()
    alive(stack)


def test_request_split_into_single_bytes(stack):
    # Every callback of the parser may fire in pieces: a header name or value cut
    # by a read boundary must still count (here: every byte its own segment).
    c = Conn(stack.http_port)
    try:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = b'{"username":"nobody","password":"wrong-password"}'
        data = req("POST", "/v1/auth/login?x=%C3%A9", {"Content-Type": "application/json",
                                                       "X-Empty": "",
                                                       "X-Request-Id": "split-bytes-1"}, body)
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(0.001)
        status, headers, rbody = c.read_response()
        check_error(status, headers, rbody, "unauthenticated", 401)
        assert headers["x-request-id"] == "split-bytes-1", headers
        # and the pieces of two pipelined requests, cut at every third byte
        data = (req("GET", "/v1/properties", dict(auth(stack), **{"X-Request-Id": "split-2"}))
                + req("GET", "/healthz", {"X-Request-Id": "split-3"}))
        for i in range(0, len(data), 3):
            c.send(data[i:i + 3])
            time.sleep(0.001)
        got = [c.read_response() for _ in range(2)]
        assert [(s, h["x-request-id"]) for s, h, _ in got] == [(200, "split-2"), (200, "split-3")], got
    finally:
        c.close()


def test_http10_closes_and_connection_close_honoured(stack):
    c = Conn(stack.http_port)
    try:
        c.send(req("GET", "/healthz", version="1.0"))
        status, headers, _ = c.read_response()
        assert status == 200, status
        assert c.closed_by_peer(), "HTTP/1.0 without keep-alive: connection left open"
    finally:
        c.close()
    c = Conn(stack.http_port)
    try:
        c.send(req("GET", "/healthz", {"Connection": "close"}))
        status, headers, _ = c.read_response()
        assert status == 200 and headers.get("connection", "").lower() == "close", headers
        assert c.closed_by_peer(), "Connection: close not honoured"
    finally:
        c.close()


def test_expect_100_continue_and_chunked_body(stack):
    c = Conn(stack.http_port)
    try:
        body = json.dumps({"username": "nobody", "password": "wrong-password"}).encode()
        c.send(req("POST", "/v1/auth/login", {"Content-Type": "application/json",
                                               "Content-Length": str(len(body)),
                                               "Expect": "100-continue"}))
        while b"\r\n\r\n" not in c.buf:
            c._fill()
        assert c.buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), c.buf[:100]
        c.send(body)
        status, headers, rbody = c.read_response()
        check_error(status, headers, rbody, "unauthenticated", 401)
        # chunked, in two chunks
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
        c.send(req("POST", "/v1/auth/login", {"Content-Type": "application/json",
                                               "Transfer-Encoding": "chunked"}, chunks))
        status, headers, rbody = c.read_response()
        check_error(status, headers, rbody, "unauthenticated", 401)
    finally:
        c.close()


# ---------------------------------------------------------------- bodies
def test_malformed_json_400(stack):
    for raw in [b"{", b'{"code": }', b'{"a":1} trailing', b"", b"   "]:
        if not raw:
            continue
        r = stack.http("POST", "/v1/properties", raw=raw, token=stack.admin_token,
                       headers={"Content-Type": "application/json"})
        check_r(r, 400, "bad_json")


def test_invalid_utf8_body_400(stack):
    for raw in [b'{"code":"\xff\xfe","name":"x"}', b'{"code":"\xc3\x28"}', b'{"name":"\xed\xa0\x80"}']:
        r = stack.http("POST", "/v1/properties", raw=raw, token=stack.admin_token,
                       headers={"Content-Type": "application/json"})
        check_r(r, 400, "bad_json")
    # and Chinese text round-trips unchanged
    r = stack.http("POST", "/v1/auth/login", body={"username": "物业", "password": "密码密码密码密码"})
    check_r(r, 401, "unauthenticated")


def test_body_over_1mib_413_and_close(stack):
    # announced by Content-Length: answered without reading the body
    c = Conn(stack.http_port)
    try:
        c.send(req("POST", "/v1/properties", dict(auth(stack), **{
            "Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)})))
        status, headers, body = c.read_response()
        check_error(status, headers, body, "payload_too_large", 413)
        assert headers.get("connection", "").lower() == "close", headers
        assert c.closed_by_peer(), "connection not closed after 413"
    finally:
        c.close()
    # sent whole: the client still reads the 413 (no reset mid-upload)
    big = b'{"name":"' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = stack.http("POST", "/v1/properties", raw=big, token=stack.admin_token,
                   headers={"Content-Type": "application/json"})
    check_r(r, 413, "payload_too_large")
    # chunked bodies are counted too
    c = Conn(stack.http_port)
    try:
        c.send(req("POST", "/v1/properties", dict(auth(stack), **{
            "Content-Type": "application/json", "Transfer-Encoding": "chunked"})))
        chunk = b"x" * 65536
        status = None
        try:
            for _ in range(20):
                c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the gateway may close while we still write
        status, headers, body = c.read_response()
        check_error(status, headers, body, "payload_too_large", 413)
    finally:
        c.close()
    # exactly 1 MiB is allowed (it reaches the service, which refuses it for other reasons)
    exact = b'{"code":"' + b"u" * (1024 * 1024 - 40) + b'","name":"p"}'
    exact = exact + b" " * (1024 * 1024 - len(exact))
    assert len(exact) == 1024 * 1024
    r = stack.http("POST", "/v1/properties", raw=exact, token=stack.admin_token,
                   headers={"Content-Type": "application/json"})
    assert r.status == 422, r
    # a route without a token (login) takes 16 KiB: strangers' bodies stay small
    r = stack.http("POST", "/v1/auth/login", raw=b'{"username":"u","password":"' + b"p" * 16384 + b'"}',
                   headers={"Content-Type": "application/json"})
    check_r(r, 413, "payload_too_large")
    r = stack.http("POST", "/v1/auth/login", raw=b'{"username":"u","password":"' + b"p" * 8000 + b'"}',
                   headers={"Content-Type": "application/json"})
    assert r.status in (401, 422), r
    alive(stack)


def test_header_block_over_80kib_refused_and_closed(stack):
    c = Conn(stack.http_port)
    try:
        filler = "".join("X-Filler-%d: %s\r\n" % (i, "f" * 1000) for i in range(90))
        c.send(("GET /healthz HTTP/1.1\r\nHost: t\r\n" + filler + "\r\n").encode())
        status, headers, body = c.read_response()
        assert status in (431, 400), status
        check_error(status, headers, body, "bad_request")
        assert c.closed_by_peer(), "connection not closed after %d" % status
    finally:
        c.close()
    # one enormous header line, and an enormous URL
    for head in ["GET /healthz HTTP/1.1\r\nX-Big: " + "b" * (100 * 1024) + "\r\n\r\n",
                 "GET /healthz?" + "q" * (100 * 1024) + " HTTP/1.1\r\n\r\n"]:
        c = Conn(stack.http_port)
        try:
            try:
                c.send(head.encode())
            except OSError:
                pass
            status, headers, body = c.read_response()
            assert status in (431, 400), status
        finally:
            c.close()
    # just under the limit is fine
    filler = "".join("X-Filler-%d: %s\r\n" % (i, "f" * 1000) for i in range(70))
    c = Conn(stack.http_port)
    try:
        c.send(("GET /healthz HTTP/1.1\r\nHost: t\r\n" + filler + "\r\n").encode())
        status, _, _ = c.read_response()
        assert status == 200, status
    finally:
        c.close()
    alive(stack)


def test_malformed_requests_400_and_close(stack):
    for raw in [b"GARBAGE\r\n\r\n",
                b"GET /healthz HTTP/9.9\r\n\r\n",
                b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                b"POST /v1/auth/login HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                # (a body's media type is checked with the headers: a right one,
                # so that the bad chunk is what is refused)
                b"POST /v1/auth/login HTTP/1.1\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
                b"GET /healthz HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"]:  # a TLS hello
        c = Conn(stack.http_port)
        try:
            c.send(raw)
            status, headers, body = c.read_response()
            check_error(status, headers, body, "bad_request", 400)
            assert c.closed_by_peer(), "still open after 400 for %r" % raw[:40]
        finally:
            c.close()
    alive(stack)


def test_client_disconnects_mid_request_then_gateway_serves(stack):
    token = stack.admin_token
    partials = [b"GET /heal",
                b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Half: ",
                b"POST /v1/properties HTTP/1.1\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"code\":",
                b"POST /v1/properties HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"]
    for raw in partials:
        c = Conn(stack.http_port)
        c.send(raw)
        time.sleep(0.05)
        c.close()
    # a complete request to a service, and gone before the answer
    for _ in range(5):
        c = Conn(stack.http_port)
        c.send(req("GET", "/v1/properties", auth(stack)))
        c.close()
    # reset instead of close
    c = Conn(stack.http_port)
    c.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    # one pm-tenants answers in order: once this answer is back, so are the five the
    # gateway could no longer deliver (its loop went round many times since the closes)
    assert len(stack.procs["tenants"]) == 1, stack.procs["tenants"]
    r = stack.http("GET", "/v1/properties", token=token)
    assert r.status == 200, r
    alive(stack)


# ---------------------------------------------------------------- routing errors
def test_unknown_route_404(stack):
    for path in ["/v1/nope", "/v1/properties/00000000-0000-0000-0000-000000000000/nope", "/v1"]:
        r = stack.http("GET", path, token=stack.admin_token)
        check_r(r, 404, "not_found")
    # a property id that is no UUID names nothing
    r = stack.http("GET", "/v1/properties/not-a-uuid", token=stack.admin_token)
    check_r(r, 404, "not_found")


def test_wrong_method_405_with_allow(stack):
    r = stack.http("DELETE", "/v1/properties", token=stack.admin_token)
    check_r(r, 405, "method_not_allowed")
    allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert allow == {"GET", "POST"}, r.headers
    r = stack.http("HEAD", "/healthz")
    assert r.status == 200 and r.body == b"" and r.headers["content-length"] == "15", r
    r = stack.http("PUT", "/healthz")
    check_r(r, 405, "method_not_allowed")
    assert r.headers.get("allow") == "GET", r.headers
    r = stack.http("POST", "/index.html", raw=b"{}", headers={"Content-Type": "application/json"})
    check_r(r, 405, "method_not_allowed")


def test_unsupported_media_type_415(stack):
    for ctype in ["text/plain", "text/csv", "application/x-www-form-urlencoded", None]:
        headers = {"Content-Type": ctype} if ctype else {}
        r = stack.http("POST", "/v1/properties", raw=b'{"code":"X","name":"Y"}', token=stack.admin_token,
                       headers=headers)
        check_r(r, 415, "unsupported_media_type")
    # a charset parameter is fine
    r = stack.http("POST", "/v1/auth/login", raw=b'{"username":"nobody","password":"nope-nope"}',
                   headers={"Content-Type": "application/json; charset=utf-8"})
    check_r(r, 401, "unauthenticated")


def test_query_with_bad_percent_encoding_400(stack):
    for q in ["q=%zz", "q=%ff", "q=%", "%c3%28=1"]:
        r = stack.http("GET", "/v1/properties?" + q, token=stack.admin_token)
        check_r(r, 400, "bad_request")


def test_unauthenticated_401_and_shape(stack):
    for headers in [{}, {"Authorization": "Bearer nonsense-token-that-does-not-exist"},
                    {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer"}]:
        r = stack.http("GET", "/v1/properties", headers=headers)
        check_r(r, 401, "unauthenticated")
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers


# ---------------------------------------------------------------- static console
def test_static_console_served_with_headers(stack):
    r = stack.http("GET", "/")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/html"), r.headers
    assert b"<html" in r.body.lower()
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert "default-src 'self'" in r.headers.get("content-security-policy", "")
    assert HEX32.match(r.headers.get("x-request-id", "")), r.headers
    r2 = stack.http("GET", "/index.html")
    assert r2.status == 200 and r2.body == r.body
    r = stack.http("GET", "/app.js")
    assert r.status == 200 and r.headers["content-type"].startswith("text/javascript"), r.headers
    r = stack.http("GET", "/app.css")
    assert r.status == 200 and r.headers["content-type"].startswith("text/css"), r.headers
    r = stack.http("HEAD", "/app.js")
    assert r.status == 200 and r.body == b"" and int(r.headers["content-length"]) > 0, r


def test_static_path_traversal_refused(stack):
    bad = ["/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
           "/%2E%2E/%2E%2E/%2E%2E/etc/passwd", "/.%2e/.%2e/etc/passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
           "/..%2f..%2fetc%2fpasswd", "/index.html/..", "/./index.html", "//etc/passwd",
           "/app.js%00.html", "/%00", "/..\\..\\etc\\passwd", "/%5c..%5cetc%5cpasswd",
           "/.git/config", "/nonexistent.html", "/%ff.html", "/%2", "/web/../../Makefile",
           "/" + "a/" * 600 + "x"]
    for path in bad:
        c = Conn(stack.http_port)
        try:
            c.send(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode("latin-1"))
            status, headers, body = c.read_response()
            assert status in (404, 400), "GET %s -> %d" % (path, status)
            assert b"root:" not in body and b"[core]" not in body, "leaked a file for %s" % path
            check_error(status, headers, body, "not_found" if status == 404 else "bad_request")
        finally:
            c.close()
    # an absolute-form target is routed by its path, never as a file path
    c = Conn(stack.http_port)
    try:
        c.send(b"GET http://evil/../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, body = c.read_response()
        assert status in (400, 404) and b"root:" not in body, status
    finally:
        c.close()


# ---------------------------------------------------------------- request ids
def test_request_id_echoed_or_generated(stack):
    r = stack.http("GET", "/healthz", headers={"X-Request-Id": "client-id.1_A-b"})
    assert r.headers["x-request-id"] == "client-id.1_A-b", r.headers
    for bad in ["has space", "x" * 65, "semi;colon", "ünï"]:
        c = Conn(stack.http_port)
        try:
            c.send(("GET /v1/nope HTTP/1.1\r\nHost: t\r\nX-Request-Id: %s\r\n\r\n" % bad).encode("utf-8"))
            status, headers, body = c.read_response()
            assert HEX32.match(headers["x-request-id"]), (bad, headers)
            check_error(status, headers, body, "unauthenticated" if status == 401 else "not_found")
        finally:
            c.close()
    ids = {stack.http("GET", "/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20 and all(HEX32.match(i) for i in ids), ids
    # the echoed id is the one in the error body too
    r = stack.http("GET", "/v1/properties", headers={"X-Request-Id": "err-echo-1"})
    doc = check_r(r, 401, "unauthenticated")
    assert doc["request_id"] == "err-echo-1"


def test_same_request_id_concurrently_does_not_cross(stack):
    # Two requests in flight with one X-Request-Id: each gets its own answer.
    token = stack.admin_token
    conns = [Conn(stack.http_port) for _ in range(8)]
    try:
        for i, c in enumerate(conns):
            path = "/v1/properties" if i % 2 == 0 else "/v1/properties?limit=1"
            c.send(req("GET", path, {"Authorization": "Bearer " + token, "X-Request-Id": "dup-id"}))
        for c in conns:
            status, headers, body = c.read_response()
            assert status == 200 and headers["x-request-id"] == "dup-id", (status, body[:200])
    finally:
        for c in conns:
            c.close()


# ---------------------------------------------------------------- a gateway with short timers
def _second_gateway(stack, **env):
    port = harness.free_port()
    e = {"PM_HTTP_PORT": str(port)}
    e.update(env)
    p = stack.start("gateway", env=e)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            c = Conn(port, timeout=2)
            c.send(req("GET", "/healthz"))
            status, _, _ = c.read_response()
            c.close()
            if status == 200:
                return p, port
        except OSError:
            pass
        assert p.alive(), "second gateway died: %s" % p.tail(20)
        time.sleep(0.1)
    raise AssertionError("second gateway not up: %s" % p.tail(20))


def _stop_second(stack, p):
    idx = stack.procs["gateway"].index(p)
    stack.kill("gateway", sig=signal.SIGTERM, index=idx)
    assert p.popen.returncode == 0, "second gateway exit status %s: %s" % (p.popen.returncode, p.tail(20))


def test_504_after_deadline_and_idle_timeout(stack):
    p, port = _second_gateway(stack, PM_REQUEST_TIMEOUT_MS="500", PM_HTTP_IDLE_TIMEOUT_MS="700")
    token = stack.admin_token
    try:
        # idle keep-alive connections are closed
        c = Conn(port)
        c.send(req("GET", "/healthz"))
        assert c.read_response()[0] == 200
        t0 = time.monotonic()
        assert c.closed_by_peer(5), "idle connection not closed"
        dt = time.monotonic() - t0
        assert 0.4 < dt < 3, "closed after %.2f s (idle timeout 0.7 s)" % dt
        c.close()

        # a worker that hangs: the answer is 504 at the deadline
        tenants = stack.procs["tenants"][0]
        stack.kill("tenants", sig=signal.SIGSTOP, wait=False)
        try:
            c = Conn(port)
            c.send(req("GET", "/v1/properties", {"Authorization": "Bearer " + token, "X-Request-Id": "late-1"}))
            t0 = time.monotonic()
            status, headers, body = c.read_response()
            dt = time.monotonic() - t0
            c.close()
        finally:
            import os
            os.kill(tenants.pid, signal.SIGCONT)
        check_error(status, headers, body, "timeout", 504)
        assert headers["x-request-id"] == "late-1"
        assert 0.35 < dt < 2.5, "504 after %.2f s (timeout 0.5 s)" % dt
        # the stack's own gateway recovers with the worker
        deadline = time.monotonic() + 15
        while True:
            r = stack.http("GET", "/v1/properties", token=token, timeout=8)
            if r.status == 200:
                break
            assert time.monotonic() < deadline, "no 200 after the worker resumed: %r" % r
            time.sleep(0.2)
    finally:
        _stop_second(stack, p)
    alive(stack)


def test_service_down_503_shape(stack):
    # no worker for the service at all: 503 service_unavailable, fast
    stack.kill("tenants", sig=signal.SIGTERM)
    try:
        t0 = time.monotonic()
        r = stack.http("GET", "/v1/properties", token=stack.admin_token)
        dt = time.monotonic() - t0
        check_r(r, 503, "service_unavailable")
        assert dt < 2.0, "503 took %.2f s" % dt
        r = stack.http("GET", "/readyz")
        assert r.status == 503, r
        doc = r.json()
        assert doc["status"] == "not_ready" and "tenants" in doc["missing"], doc
    finally:
        stack.start("tenants")
    deadline = time.monotonic() + 15
    while stack.http("GET", "/readyz").status != 200:
        assert time.monotonic() < deadline, "not ready again"
        time.sleep(0.2)


def test_metrics_count_routes(stack):
    stack.http("GET", "/healthz")
    m = stack.metrics()
    key = 'pm_http_requests_total{route="/healthz",method="GET",status="200"}'
    assert m.get(key, 0) >= 1, sorted(m)[:20]
    assert any(k.startswith('pm_http_request_duration_seconds_bucket{route="/healthz"') for k in m)
    assert 'pm_client_pending' in m
    assert m.get('pm_service_workers{service="tenants"}', 0) >= 1, [k for k in m if "service" in k]
    assert 'pm_service_queued{service="tenants"}' in m
    # raw paths never become labels
    assert not any("00000000-0000" in k for k in m), "a raw path leaked into a label"
