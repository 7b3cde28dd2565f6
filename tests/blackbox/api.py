"""api: what every black-box test asserts of a gateway answer (harness.Response):
its status and JSON body, an error's code, the fields its details name; and a
resident's sign-in by the code the stack's SMS file holds (issue K).
A test file imports them as it names them: `from api import ok as _ok, ...`."""

import collections
import json
import os
import re
import secrets
import time


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


Staff = collections.namedtuple("Staff", "id name token")


def staff_user(stack, role, property_ids):
    """A new member of staff with this role on these properties, made by the
    admin, and signed in: Staff(id, name, token)."""
    name = "%s-%s" % (role, secrets.token_hex(3))
    pw = "pw-" + secrets.token_urlsafe(10)
    u = ok(stack.http("POST", "/v1/users", token=stack.admin_token,
                      body={"username": name, "password": pw, "role": role, "property_ids": property_ids}),
           201, "create %s" % role)
    return Staff(u["id"], name, stack.login(name, pw))


def sms_to(stack, phone, after=0):
    """The SMS the stack wrote to phone (PM_SMS_FILE: one JSON line each), from line `after` on."""
    path = stack.env["PM_SMS_FILE"]
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(x) for x in f.read().splitlines()[after:] if x.strip()]
    return [m for m in lines if m.get("to") == phone]


def sms_count(stack):
    """How many SMS lines the stack has written so far."""
    path = stack.env["PM_SMS_FILE"]
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return f.read().count("\n")


def resident_token(stack, phone, timeout=15):
    """A resident's token: the code requested, read from the SMS file, and the login."""
    before = sms_count(stack)
    ok(stack.http("POST", "/v1/resident/auth/code", body={"phone": phone}), 202, "resident code")
    deadline = time.time() + timeout
    while not sms_to(stack, phone, before):
        assert time.time() < deadline, "no SMS to the resident"
        time.sleep(0.05)
    code = re.search(r"\b(\d{6})\b", sms_to(stack, phone, before)[-1]["text"]).group(1)
    return ok(stack.http("POST", "/v1/resident/auth/login", body={"phone": phone, "code": code}),
              200, "resident login")["token"]
