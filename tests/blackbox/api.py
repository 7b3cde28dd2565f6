"""api: what every black-box test asserts of a gateway answer (harness.Response):
its status and JSON body, an error's code, the fields its details name.
A test file imports them as it names them: `from api import ok as _ok, ...`."""


def ok(r, status, what):
    """The answer's JSON body, after asserting its status."""
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json()


def error(r, status, code, what):
    """The answer's error object, after asserting its status and code."""
    body = ok(r, status, what)
    assert body.get("error", {}).get("code") == code, "%s: error %r, wanted %s" % (what, body.get("error"), code)
    return body["error"]


def fields(err):
    """The fields an error's details name."""
    return {d.get("field") for d in err.get("details") or []}
