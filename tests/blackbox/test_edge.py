"""test_edge: what strangers can make the gateway hold (issue G, "The edge"; API.md,
"Trust and limits").

- 401 / 403 / 404 / 405 / 415 come back as soon as the headers are in, before a byte
  of a 20 MiB body is sent, with Connection: close (and no "100 Continue" first);
- many large authenticated uploads at once (CSV imports by an admin) while the
  gateway's VmRSS is read from /proc: it stays under a bound, some are refused 503
  with Retry-After (the buffer budget, PM_HTTP_BUFFER_MAX), the others answered;
- connections per client address (PM_HTTP_CONN_PER_ADDR): the next one gets 429
  with Retry-After, another address is not affected, and the count goes down as
  connections close;
- a client that sends its headers a byte now and then (slowloris) is cut off after
  PM_HTTP_HEADER_TIMEOUT_MS;
- after each, ordinary requests work.

The stack runs with the default buffer budget (64 MiB) and import limit (20 MiB), a
per-address cap of 40 (the upload test's 30 connections stay under it) and a 1.5 s
header timeout.
"""

import json
import secrets
import select
import socket
import threading
import time

import harness

PER_ADDR = 40
STACK = dict(env={"PM_HTTP_CONN_PER_ADDR": str(PER_ADDR), "PM_HTTP_HEADER_TIMEOUT_MS": "1500"})

MIB = 1024 * 1024
IMPORT_MAX = 20 * MIB
BUDGET = 64 * MIB
STATE = {}


# ---------------------------------------------------------------- helpers
def _ok(r, status, what):
    assert r.status == status, "%s: %r" % (what, r)
    return r.json() if r.body else None


def _user(stack, role, property_ids):
    name = "%s-%s" % (role, secrets.token_hex(4))
    password = "pw-" + secrets.token_urlsafe(12)
    _ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                   body={"username": name, "password": password, "role": role,
                         "property_ids": property_ids}), 201, "create " + role)
    return stack.login(name, password)


def _setup(stack):
    if STATE:
        return STATE
    pids = []
    for i in range(2):
        p = _ok(stack.http("POST", "/v1/properties", token=stack.admin_token,
                           body={"code": "EDGE-%s-%d" % (secrets.token_hex(3), i), "name": "边缘 %d" % i}),
                201, "property")
        pids.append(p["id"])
    STATE.update(p1=pids[0], p2=pids[1],
                 agent=_user(stack, "agent", [pids[0]]),
                 manager=_user(stack, "manager", [pids[0]]))
    return STATE


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def _asan(pid):
    """True when the process runs under AddressSanitizer (make asan): its quarantine
    keeps freed memory resident, so RSS says nothing about ours."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def _head(method, path, headers):
    return ("%s %s HTTP/1.1\r\nHost: edge\r\n%s\r\n" % (
        method, path, "".join("%s: %s\r\n" % kv for kv in headers.items()))).encode()


def _read_answer(sock, timeout=5.0):
    """(status, headers, body) of one answer read off sock, skipping nothing: a
    "100 Continue" is returned as such."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("closed before an answer (got %r)" % buf[:200])
        buf += chunk
    raw, rest = buf.split(b"\r\n\r\n", 1)
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n]


def _closed_by_peer(sock, timeout=5.0):
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _refused_before_body(stack, method, path, headers, want_status, want_code):
    """Sends only the headers (announcing 20 MiB) and reads the answer: it must come
    without the body, say Connection: close, and the gateway must close."""
    h = {"Content-Length": str(IMPORT_MAX)}
    h.update(headers)
    s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
    try:
        s.sendall(_head(method, path, h))
        t0 = time.monotonic()
        status, rh, body = _read_answer(s)
        took = time.monotonic() - t0
        assert status == want_status, "%s %s %s: %d %r (want %d)" % (
            method, path, sorted(headers), status, body[:200], want_status)
        assert json.loads(body)["error"]["code"] == want_code, body[:200]
        assert rh.get("connection", "").lower() == "close", rh
        assert took < 2, "the answer took %.1f s: was the gateway waiting for the body?" % took
        assert _closed_by_peer(s), "still open after %d without the body" % status
        return rh
    finally:
        s.close()


# ---------------------------------------------------------------- refusals at the headers
def test_refusals_come_before_the_body(stack):
    st = _setup(stack)
    csv = {"Content-Type": "text/csv"}
    any_pid = "7d1f7a52-8a4e-4a55-9f0b-2f4d8a2c9e11"
    units = "/v1/properties/%s/imports/units"
    # the attack of the issue: no token, any property, 20 MiB announced
    rh = _refused_before_body(stack, "POST", units % any_pid, csv, 401, "unauthenticated")
    assert rh.get("www-authenticate") == "Bearer", rh
    _refused_before_body(stack, "POST", units % any_pid, dict(csv, Authorization="Bearer nonsense"),
                         401, "unauthenticated")
    # a role the route does not allow
    _refused_before_body(stack, "POST", units % st["p1"], dict(csv, Authorization="Bearer " + st["agent"]),
                         403, "forbidden")
    # a manager, allowed to import, but not on a property they do not have
    _refused_before_body(stack, "POST", units % st["p2"], dict(csv, Authorization="Bearer " + st["manager"]),
                         404, "not_found")
    _refused_before_body(stack, "POST", units % "not-a-uuid", dict(csv, Authorization="Bearer " + st["manager"]),
                         404, "not_found")
    # no such route, a wrong method, a wrong media type
    admin = "Bearer " + stack.admin_token
    _refused_before_body(stack, "POST", "/v1/no-such-thing", {"Authorization": admin}, 404, "not_found")
    rh = _refused_before_body(stack, "PUT", units % st["p1"], dict(csv, Authorization=admin),
                              405, "method_not_allowed")
    assert "POST" in rh.get("allow", ""), rh
    _refused_before_body(stack, "POST", units % st["p1"], {"Authorization": admin, "Content-Type": "image/png"},
                         415, "unsupported_media_type")
    _refused_before_body(stack, "POST", units % st["p1"],
                         {"Authorization": admin, "Content-Type": "text/csv; charset=ebcdic"},
                         415, "unsupported_media_type")
    # a JSON route keeps its 1 MiB for everyone, admin included: 413 before the body
    _refused_before_body(stack, "POST", "/v1/properties/%s/units" % st["p1"],
                         {"Authorization": admin, "Content-Type": "application/json"}, 413, "payload_too_large")

    # a client that waits for "100 Continue" gets the refusal instead
    s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
    try:
        s.sendall(_head("POST", units % any_pid, dict(csv, **{"Content-Length": str(IMPORT_MAX),
                                                               "Expect": "100-continue"})))
        status, _, _ = _read_answer(s)
        assert status == 401, "got %d before the refusal" % status
    finally:
        s.close()
    # and an allowed caller does get "100 Continue" (the body is wanted)
    s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
    try:
        s.sendall(_head("POST", units % st["p1"], dict(csv, **{"Content-Length": "30", "Expect": "100-continue",
                                                                "Authorization": "Bearer " + st["manager"]})))
        status, _, _ = _read_answer(s)
        assert status == 100, "an allowed import got %d instead of 100 Continue" % status
        s.sendall(b"code,area_m2,use\nE-1,10,office")
        status, _, body = _read_answer(s, timeout=15)
        assert status == 200, (status, body[:300])
        assert json.loads(body)["imported"] == 1, body[:300]
    finally:
        s.close()
    _ok(stack.http("GET", "/v1/properties/%s/units?limit=5" % st["p1"], token=stack.admin_token), 200,
        "API after the refusals")


def test_an_upload_by_a_stranger_is_never_read(stack):
    """The stranger sends the whole 20 MiB anyway: the gateway answers 401 at once and
    never buffers it; its memory does not move."""
    gw = stack.procs["gateway"][0].pid
    before = _rss_kib(gw)
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
            s.sendall(_head("POST", "/v1/properties/%s/imports/units" % "7d1f7a52-8a4e-4a55-9f0b-2f4d8a2c9e11",
                            {"Content-Type": "text/csv", "Content-Length": str(IMPORT_MAX)}))
            socks.append(s)
        block = b"x" * MIB
        for s in socks:
            s.settimeout(0.2)
            for _ in range(8):           # 8 MiB each, as far as the gateway takes them
                try:
                    s.sendall(block)
                except (OSError, socket.timeout):
                    break
        for s in socks:
            status, _, _ = _read_answer(s)
            assert status == 401, status
        after = _rss_kib(gw)
        assert after - before < 16 * 1024, "RSS grew by %d KiB for refused bodies" % (after - before)
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- the buffer budget
def _upload(port, path, token, size, out, i):
    """An import of size bytes: headers, then (unless refused at once) the body, then
    the answer; out[i] = status (or an exception's name)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        # one CSV line the service refuses quickly (a code far too long): the whole
        # file still goes through the gateway, the broker and pm-tenants
        body = b'code,area_m2,use\n"' + b"x" * (size - 28) + b'",1,other\n'
        assert len(body) == size, len(body)
        s.sendall(_head("POST", path, {"Authorization": "Bearer " + token, "Content-Type": "text/csv",
                                       "Content-Length": str(size)}))
        r, _, _ = select.select([s], [], [], 0.5)
        if not r:
            view = memoryview(body)
            for off in range(0, size, MIB):
                s.sendall(view[off:off + MIB])
        status, headers, answer = _read_answer(s, timeout=120)
        out[i] = (status, headers.get("retry-after"), answer[:200])
        s.close()
    except Exception as e:  # noqa: BLE001 - the test reports it
        out[i] = (type(e).__name__, None, str(e).encode())


def test_many_large_uploads_keep_memory_bounded(stack):
    st = _setup(stack)
    gw = stack.procs["gateway"][0].pid
    base = _rss_kib(gw)
    n = 30
    out = [None] * n
    threads = [threading.Thread(target=_upload, args=(stack.http_port, "/v1/properties/%s/imports/units" % st["p1"],
                                                      stack.admin_token, IMPORT_MAX - 100, out, i))
               for i in range(n)]
    peak = base
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, _rss_kib(gw))
        time.sleep(0.02)
    for t in threads:
        t.join()
    statuses = [o[0] for o in out]
    # each accepted upload costs about four copies of its body while in flight (the
    # buffer, the text, the envelope, the message): the budget times five, plus the
    # process, bounds it; 30 uploads buffered whole would take 600 MiB
    bound = base + 5 * BUDGET // 1024 + 32 * 1024
    if not _asan(gw):
        assert peak < bound, "gateway RSS peaked at %d MiB (from %d MiB, bound %d MiB): %s" % (
            peak // 1024, base // 1024, bound // 1024, statuses)
        assert peak < 400 * 1024, "gateway RSS peaked at %d MiB: too close to 512 Mi" % (peak // 1024)
    busy = [o for o in out if o[0] == 503]
    done = [o for o in out if o[0] == 200]
    print("# %d uploads of 20 MiB: %d answered, %d refused 503; gateway RSS %d -> peak %d MiB" % (
        n, len(done), len(busy), base // 1024, peak // 1024))
    assert busy, "no upload was refused 503 (30 x 20 MiB against a 64 MiB budget): %s" % statuses
    assert done, "no upload got through: %s" % [o for o in out][:5]
    assert len(busy) + len(done) == n, "unexpected answers: %s" % [o for o in out if o[0] not in (200, 503)][:5]
    for o in busy:
        assert o[1] and o[1].isdigit(), "503 without Retry-After: %r" % (o,)
        assert json.loads(o[2])["error"]["code"] == "service_unavailable", o
    # after the storm: the budget is free again, an import and the API work
    r = stack.http("POST", "/v1/properties/%s/imports/units" % st["p1"], token=stack.admin_token,
                   raw="code,area_m2,use\nAFTER-1,12,office\n".encode(), headers={"Content-Type": "text/csv"})
    assert r.status == 200 and r.json()["imported"] == 1, r
    _ok(stack.http("GET", "/healthz"), 200, "healthz after the uploads")
    log = stack.procs["gateway"][0].log()
    assert "refusals unlogged" in log, "the 503s were not logged"


# ---------------------------------------------------------------- connections per address
def _connect(port, source="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def test_connections_per_address_429(stack):
    """Connections from one address, each kept open after a 200, until one is
    refused: that is the (PER_ADDR + 1)th (a connection of the harness may still be
    open, so one or two fewer of ours)."""
    held = []
    refused = None
    try:
        for _ in range(PER_ADDR + 5):
            s = _connect(stack.http_port)
            s.sendall(_head("GET", "/healthz", {}))
            status, headers, body = _read_answer(s)
            if status != 200:
                refused = (status, headers, body)
                s.close()
                break
            held.append(s)
        assert refused, "%d connections from one address, none refused" % len(held)
        status, headers, body = refused
        assert status == 429, "refused with %d %r" % (status, body[:200])
        assert PER_ADDR - 2 <= len(held) <= PER_ADDR, "refused after %d connections (cap %d)" % (
            len(held), PER_ADDR)
        assert json.loads(body)["error"]["code"] == "rate_limited", body
        assert headers.get("retry-after", "").isdigit(), headers
        assert headers.get("connection", "").lower() == "close", headers
        # another address is its own count
        other = _connect(stack.http_port, source="127.0.0.2")
        try:
            other.sendall(_head("GET", "/healthz", {}))
            status, _, _ = _read_answer(other)
            assert status == 200, "another address got %d" % status
        finally:
            other.close()
        # the held connections still work
        held[0].sendall(_head("GET", "/healthz", {}))
        assert _read_answer(held[0])[0] == 200
    finally:
        for s in held:
            s.close()
    # closed connections no longer count
    deadline = time.monotonic() + 5
    while True:
        r = stack.http("GET", "/healthz")
        if r.status == 200:
            break
        assert time.monotonic() < deadline, "still refused after the connections closed: %r" % r
        time.sleep(0.1)
    socks = [_connect(stack.http_port) for _ in range(PER_ADDR - 3)]
    try:
        _ok(stack.http("GET", "/healthz"), 200, "within the cap again")
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- slow clients
def test_slow_headers_cut_off(stack):
    """A byte every 0.25 s never completes the headers: closed after the 1.5 s header
    timeout, not the 60 s idle one."""
    s = socket.create_connection(("127.0.0.1", stack.http_port), timeout=10)
    t0 = time.monotonic()
    closed = False
    try:
        for b in _head("GET", "/healthz", {"X-Slow": "y" * 200}):
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed = True
                break
            r, _, _ = select.select([s], [], [], 0.25)
            try:
                if r and not s.recv(1024):
                    closed = True
                    break
            except OSError:
                closed = True
                break
            if time.monotonic() - t0 > 10:
                break
    finally:
        s.close()
    took = time.monotonic() - t0
    assert closed, "a slowloris client was still connected after %.1f s" % took
    assert 1.0 < took < 5, "closed after %.1f s (header timeout 1.5 s)" % took
    _ok(stack.http("GET", "/healthz"), 200, "healthz after a slow client")


def test_metrics_and_api_still_work(stack):
    st = _setup(stack)
    _ok(stack.http("GET", "/v1/properties/%s" % st["p1"], token=stack.admin_token), 200, "property")
    _ok(stack.http("GET", "/v1/properties/%s" % st["p1"], token=st["manager"]), 200, "manager's property")
    r = stack.http("GET", "/v1/properties/%s" % st["p2"], token=st["manager"])
    assert r.status == 404, r
    assert not stack.dead(), "a process died: %r" % stack.dead()
