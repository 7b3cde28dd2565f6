"""test_announcements: announcements (issue E item 5), residents' notification
preferences and the delivery log (item 6), end to end.

Units, parties and move-ins are made through the public API; pm-notifications
learns them from tenants' events into its own copy (notifications.units,
parties, occupancies), which the tests wait for. Then announcements fan out to
the audience's current occupants: each party once per channel, however many
units they occupy; a moved-out party and another property's are not reached;
sms and email rows are queued with the address, or not_sent with the reason
(opted out, no phone number, no email address). The log shows every row with
the contacts masked. Tests run in file order and share STATE.
"""

import json
import time
import uuid

from api import ok as _ok, error as _error

STATE = {}

PHONES = {"zhang": "13800138001", "li": "13900139002", "zhao": "13700137004", "sun": "13600136005",
          "out": "13500135006"}
EMAILS = {"zhang": "zhangwei@example.com", "wang": "finance@wangshi.example.cn", "zhao": "zhaomin@example.com",
          "sun": "sunli@example.com"}


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _count(stack, sql):
    return int(stack.psql(sql)[0][0])


def _user(stack, name, role, pids):
    _ok(_admin(stack, "POST", "/v1/users", {"username": name, "password": "pass-%s-123" % name, "role": role,
                                             "property_ids": pids}), 201, "user " + name)
    return stack.login(name, "pass-%s-123" % name)


def _unit(stack, pid, code, building, use):
    return _ok(_admin(stack, "POST", "/v1/properties/%s/units" % pid,
                      {"code": code, "building": building, "floor": "1", "area_m2": 88.5, "use": use}),
               201, "unit " + code)["id"]


def _party(stack, pid, name, kind="person", phone=None, email=None):
    body = {"kind": kind, "name": name}
    if phone:
        body["phone"] = phone
    if email:
        body["email"] = email
    return _ok(_admin(stack, "POST", "/v1/properties/%s/parties" % pid, body), 201, "party " + name)["id"]


def _move_in(stack, pid, uid, party, role="owner"):
    return _ok(_admin(stack, "POST", "/v1/properties/%s/units/%s/occupancies" % (pid, uid),
                      {"party_id": party, "role": role, "start_date": "2025-06-01"}), 201, "move-in")["id"]


def _ids(ids):
    return ",".join("'%s'" % i for i in ids)


def _wait(stack, what, sql, want, timeout=20):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = _count(stack, sql)
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("notifications never saw %s (%s of %s)" % (what, got, want))


def _announce(stack, pid, audience, channels=None, title="电梯停运通知", body=None, token=None):
    data = {"title": title, "body": body or "周六 9:00-12:00 A 座 1 号电梯维保停运，请走 2 号电梯。",
            "audience": audience}
    if channels is not None:
        data["channels"] = channels
    r = stack.http("POST", "/v1/properties/%s/announcements" % pid, body=data, token=token or stack.admin_token)
    return _ok(r, 201, "announcement to %s" % audience)


def _rows(stack, ann_id, channel):
    """{party_id: (status, last_error, address)} of an announcement's rows on a channel."""
    rows = stack.psql("SELECT recipient, status, last_error, address FROM notifications.notifications "
                      "WHERE source_id = '%s' AND channel = '%s'" % (ann_id, channel))
    out = {}
    for recipient, status, err, address in rows:
        assert recipient not in out, "%s reached twice on %s" % (recipient, channel)
        out[recipient] = (status, err, address)
    return out


def test_setup(stack):
    pid = _ok(_admin(stack, "POST", "/v1/properties", {"code": "ANN-1", "name": "公告测试花园"}), 201, "property")["id"]
    other = _ok(_admin(stack, "POST", "/v1/properties", {"code": "ANN-2", "name": "隔壁小区"}), 201, "property")["id"]
    u = {
        "A-101": _unit(stack, pid, "A-101", "A", "residential"),
        "A-102": _unit(stack, pid, "A-102", "A", "residential"),
        "B-201": _unit(stack, pid, "B-201", "B", "office"),
        "B-202": _unit(stack, pid, "B-202", "B", "office"),
        "C-301": _unit(stack, pid, "C-301", "C", "retail"),
        "C-302": _unit(stack, pid, "C-302", "C", "residential"),   # vacant
    }
    x1 = _unit(stack, other, "X-1", "A", "residential")
    p = {
        "zhang": _party(stack, pid, "张伟", phone=PHONES["zhang"], email=EMAILS["zhang"]),
        "li": _party(stack, pid, "李娜", phone=PHONES["li"]),                          # no email
        "wang": _party(stack, pid, "王氏贸易有限公司", kind="company", email=EMAILS["wang"]),  # no phone
        "zhao": _party(stack, pid, "赵敏", phone=PHONES["zhao"], email=EMAILS["zhao"]),  # will opt out
        "sun": _party(stack, pid, "孙丽", phone=PHONES["sun"], email=EMAILS["sun"]),    # moves out
    }
    outsider = _party(stack, other, "外人", phone=PHONES["out"])
    occ = [
        _move_in(stack, pid, u["A-101"], p["zhang"]),
        _move_in(stack, pid, u["B-201"], p["zhang"]),               # two units: still one recipient
        _move_in(stack, pid, u["A-102"], p["li"]),
        _move_in(stack, pid, u["B-201"], p["wang"], role="tenant"),
        _move_in(stack, pid, u["B-202"], p["zhao"]),
        _move_in(stack, other, x1, outsider),
    ]
    gone = _move_in(stack, pid, u["C-301"], p["sun"])
    _ok(_admin(stack, "POST", "/v1/properties/%s/occupancies/%s/end" % (pid, gone), {"end_date": "2026-01-31"}),
        200, "move-out")
    units = list(u.values()) + [x1]
    parties = list(p.values()) + [outsider]
    _wait(stack, "the units", "SELECT count(*) FROM notifications.units WHERE unit_id IN (%s)" % _ids(units),
          len(units))
    _wait(stack, "the parties", "SELECT count(*) FROM notifications.parties WHERE id IN (%s)" % _ids(parties),
          len(parties))
    _wait(stack, "the move-ins", "SELECT count(*) FROM notifications.occupancies WHERE id IN (%s)"
          % _ids(occ), len(occ))
    _wait(stack, "the move-out", "SELECT count(*) FROM notifications.occupancies WHERE id = '%s' "
          "AND end_date IS NOT NULL" % gone, 1)
    STATE.update(pid=pid, other=other, units=u, parties=p, outsider=outsider,
                 manager=_user(stack, "ann-manager", "manager", [pid]),
                 agent=_user(stack, "ann-agent", "agent", [pid]),
                 tech=_user(stack, "ann-tech", "technician", [pid]))


# ---------------------------------------------------------------- preferences
def test_preferences_defaults_and_put(stack):
    pid, p = STATE["pid"], STATE["parties"]
    url = "/v1/properties/%s/parties/%s/notification-preferences"
    got = _ok(_admin(stack, "GET", url % (pid, p["zhang"])), 200, "defaults")
    assert got["channels"] == ["sms", "email"] and got["opt_out"] is False and got["locale"] == "zh-CN", got
    assert got["default"] is True and got["party_id"] == p["zhang"], got
    # the agent at the front desk records the resident's wish (an opt-out)
    got = _ok(stack.http("PUT", url % (pid, p["zhao"]), body={"opt_out": True}, token=STATE["agent"]), 200, "opt out")
    assert got["opt_out"] is True and got["channels"] == ["sms", "email"] and got["default"] is False, got
    # a PUT changes only what it sends
    got = _ok(stack.http("PUT", url % (pid, p["zhao"]), body={"locale": "en"}, token=STATE["manager"]), 200, "locale")
    assert got["opt_out"] is True and got["locale"] == "en", got
    got = _ok(_admin(stack, "PUT", url % (pid, p["zhang"]), {"channels": ["email", "sms"]}), 200, "channels")
    assert got["channels"] == ["email", "sms"], got
    got = _ok(stack.http("GET", url % (pid, p["zhang"]), token=STATE["agent"]), 200, "read back")
    assert got["channels"] == ["email", "sms"] and got["opt_out"] is False and got["default"] is False, got
    assert _count(stack, "SELECT count(*) FROM notifications.preferences WHERE party_id = '%s'" % p["zhang"]) == 1


def test_preferences_refused(stack):
    pid, p = STATE["pid"], STATE["parties"]
    url = "/v1/properties/%s/parties/%s/notification-preferences" % (pid, p["li"])
    for body, field in (({"channels": ["fax"]}, "channels"), ({"channels": ["preferred"]}, "channels"),
                        ({"channels": []}, "channels"), ({"channels": ["sms", "sms"]}, "channels"),
                        ({"channels": "sms"}, "channels"), ({"locale": "fr"}, "locale"),
                        ({"opt_out": "yes"}, "opt_out"), ({}, "body"), ([1], "body")):
        err = _error(_admin(stack, "PUT", url, body), 422, "validation_failed", "PUT %r" % (body,))
        assert [d["field"] for d in err["details"]] == [field], (body, err)
    # nothing was written
    assert _count(stack, "SELECT count(*) FROM notifications.preferences WHERE party_id = '%s'" % p["li"]) == 0
    # a party notifications does not know in this property: 404
    base = "/v1/properties/%s/parties/%s/notification-preferences"
    _error(_admin(stack, "GET", base % (pid, uuid.uuid4())), 404, "not_found", "unknown party")
    _error(_admin(stack, "PUT", base % (pid, uuid.uuid4()), {"opt_out": True}), 404, "not_found", "unknown party")
    _error(_admin(stack, "GET", base % (pid, STATE["outsider"])), 404, "not_found", "another property's party")
    _error(_admin(stack, "GET", base % (pid, "not-a-uuid")), 404, "not_found", "bad id")
    # a manager of this property asking through another property's path
    _error(stack.http("GET", base % (STATE["other"], STATE["outsider"]), token=STATE["manager"]), 404, "not_found",
           "another property")
    _error(stack.http("GET", base % (pid, p["li"]), token=STATE["tech"]), 403, "forbidden", "technician")


# ---------------------------------------------------------------- announcements
def test_audience_all_reaches_each_current_occupant_once(stack):
    pid, p = STATE["pid"], STATE["parties"]
    ann = _announce(stack, pid, "all", token=STATE["manager"])
    want = {p["zhang"], p["li"], p["wang"], p["zhao"]}    # not 孙丽 (moved out), not the other property's
    assert ann["recipients"] == 4, ann
    assert ann["channels"] == ["inbox"] and ann["audience"] == "all" and ann["title"] == "电梯停运通知", ann
    assert ann["counts"] == {"inbox": {"delivered": 4}}, ann
    rows = _rows(stack, ann["id"], "inbox")
    assert set(rows) == want, rows
    assert all(r[0] == "delivered" for r in rows.values()), rows
    assert _count(stack, "SELECT count(*) FROM notifications.notifications WHERE source_id = '%s'" % ann["id"]) == 4
    r = stack.psql("SELECT DISTINCT source_kind, event_type, recipient_kind, property_id, title, locale "
                   "FROM notifications.notifications WHERE source_id = '%s'" % ann["id"])
    assert r == [("announcement", "announcement", "party", pid, "电梯停运通知", "zh-CN")], r
    STATE["first"] = ann["id"]


def test_audience_building_and_use(stack):
    pid, p = STATE["pid"], STATE["parties"]
    ann = _announce(stack, pid, "building:A", title="A 座停水通知")
    assert ann["recipients"] == 2 and set(_rows(stack, ann["id"], "inbox")) == {p["zhang"], p["li"]}, ann
    ann = _announce(stack, pid, "use:office", title="写字楼消防演练")
    assert ann["recipients"] == 3, ann
    assert set(_rows(stack, ann["id"], "inbox")) == {p["zhang"], p["wang"], p["zhao"]}
    ann = _announce(stack, pid, "use:retail", title="商铺通知")      # the shop's occupant moved out
    assert ann["recipients"] == 0 and ann["counts"] == {}, ann
    ann = _announce(stack, pid, "building:Z", title="没有这栋楼")
    assert ann["recipients"] == 0, ann


def test_sms_and_email_statuses(stack):
    pid, p = STATE["pid"], STATE["parties"]
    ann = _announce(stack, pid, "all", channels=["inbox", "sms", "email"], title="社区活动：中秋游园会")
    assert ann["recipients"] == 4, ann
    assert ann["counts"] == {"inbox": {"delivered": 4}, "sms": {"queued": 2, "not_sent": 2},
                             "email": {"queued": 2, "not_sent": 2}}, ann
    sms, email = _rows(stack, ann["id"], "sms"), _rows(stack, ann["id"], "email")
    assert set(sms) == set(email) == {p["zhang"], p["li"], p["wang"], p["zhao"]}, (sms, email)
    # the sender may have taken the queued rows already: what is not queued any more was at least tried
    assert sms[p["zhang"]][2] == PHONES["zhang"] and email[p["zhang"]][2] == EMAILS["zhang"], (sms, email)
    assert sms[p["li"]][2] == PHONES["li"] and email[p["wang"]][2] == EMAILS["wang"], (sms, email)
    for who, row in ((p["zhang"], sms), (p["li"], sms), (p["zhang"], email), (p["wang"], email)):
        assert row[who][0] in ("queued", "sent", "failed", "not_sent"), row[who]
        assert row[who][1] not in ("opted out", "no phone number", "no email address"), row[who]
    assert sms[p["zhao"]][:2] == ("not_sent", "opted out"), sms
    assert email[p["zhao"]][:2] == ("not_sent", "opted out"), email
    assert sms[p["wang"]][:2] == ("not_sent", "no phone number"), sms
    assert email[p["li"]][:2] == ("not_sent", "no email address"), email
    # an opted-out resident still finds it in the inbox
    assert _rows(stack, ann["id"], "inbox")[p["zhao"]][0] == "delivered"
    STATE["sms"] = ann["id"]


def test_preferred_channel(stack):
    pid, p = STATE["pid"], STATE["parties"]
    # 张伟 prefers email (set above); 李娜 prefers email too but has none: her sms
    url = "/v1/properties/%s/parties/%s/notification-preferences" % (pid, p["li"])
    _ok(_admin(stack, "PUT", url, {"channels": ["email", "sms"]}), 200, "li prefers email")
    ann = _announce(stack, pid, "building:A", channels=["preferred"], title="A 座燃气检修")
    assert ann["recipients"] == 2, ann
    assert set(_rows(stack, ann["id"], "email")) == {p["zhang"]}, ann
    assert set(_rows(stack, ann["id"], "sms")) == {p["li"]}, ann
    assert ann["counts"] == {"sms": {"queued": 1}, "email": {"queued": 1}}, ann
    # sms and preferred together: 李娜's preferred channel is sms, reached once
    ann = _announce(stack, pid, "building:A", channels=["sms", "preferred"], title="A 座燃气检修（二）")
    sms = _rows(stack, ann["id"], "sms")
    assert set(sms) == {p["zhang"], p["li"]} and set(_rows(stack, ann["id"], "email")) == {p["zhang"]}, ann
    # an opted-out party's preferred channel is recorded, not sent
    ann = _announce(stack, pid, "use:office", channels=["preferred"], title="写字楼通知")
    assert _rows(stack, ann["id"], "sms")[p["zhao"]][:2] == ("not_sent", "opted out"), ann
    # no phone: 王氏贸易's first preferred channel it has an address for is email
    assert p["wang"] in _rows(stack, ann["id"], "email"), ann


def test_bad_announcements_are_refused(stack):
    pid = STATE["pid"]
    url = "/v1/properties/%s/announcements" % pid
    good = {"title": "通知", "body": "内容", "audience": "all"}
    cases = [
        ({"body": "内容", "audience": "all"}, ["title"]),
        ({"title": "", "body": "内容", "audience": "all"}, ["title"]),
        (dict(good, title="长" * 201), ["title"]),
        (dict(good, body="长" * 4001), ["body"]),
        (dict(good, audience="floor:3"), ["audience"]),
        (dict(good, audience="use:castle"), ["audience"]),
        (dict(good, audience="building:"), ["audience"]),
        (dict(good, audience=None), ["audience"]),
        (dict(good, channels=["fax"]), ["channels"]),
        (dict(good, channels=[]), ["channels"]),
        (dict(good, channels=["sms", "sms"]), ["channels"]),
        (dict(good, channels="inbox"), ["channels"]),
        ({"audience": "everyone", "channels": ["pigeon"]}, ["title", "body", "audience", "channels"]),
        ([good], ["body"]),
    ]
    before = _count(stack, "SELECT count(*) FROM notifications.announcements")
    for body, fields in cases:
        err = _error(_admin(stack, "POST", url, body), 422, "validation_failed", "POST %s" % json.dumps(body)[:80])
        assert sorted(d["field"] for d in err["details"]) == sorted(fields), (body, err)
    # 200 characters of Chinese (600 bytes) is within the limit
    ann = _announce(stack, pid, "building:Z", title="长" * 200, body="文" * 4000)
    assert len(ann["title"]) == 200 and len(ann["body"]) == 4000, ann
    assert _count(stack, "SELECT count(*) FROM notifications.announcements") == before + 1


def test_who_may_announce(stack):
    pid = STATE["pid"]
    body = {"title": "通知", "body": "内容", "audience": "all"}
    _error(stack.http("POST", "/v1/properties/%s/announcements" % pid, body=body, token=STATE["agent"]),
           403, "forbidden", "agent")
    _error(stack.http("POST", "/v1/properties/%s/announcements" % STATE["other"], body=body,
                      token=STATE["manager"]), 404, "not_found", "manager, another property")
    _error(_admin(stack, "POST", "/v1/properties/%s/announcements" % uuid.uuid4(), body), 404, "not_found",
           "no such property")
    assert _count(stack, "SELECT count(*) FROM notifications.announcements WHERE property_id = '%s'"
                  % STATE["other"]) == 0


def test_list_and_get(stack):
    pid = STATE["pid"]
    url = "/v1/properties/%s/announcements" % pid
    seen, cursor = [], None
    while True:
        page = _ok(stack.http("GET", url + "?limit=3" + ("&cursor=" + cursor if cursor else ""),
                              token=STATE["agent"]), 200, "list")
        assert len(page["items"]) <= 3, page
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    total = _count(stack, "SELECT count(*) FROM notifications.announcements WHERE property_id = '%s'" % pid)
    assert len(seen) == len(set(seen)) == total, (len(seen), total)
    assert seen[-1] == STATE["first"], "newest first: the first announcement is last"
    got = _ok(stack.http("GET", "%s/%s" % (url, STATE["sms"]), token=STATE["tech"]), 200, "get")
    assert got["counts"]["inbox"] == {"delivered": 4} and got["recipients"] == 4, got
    assert sum(got["counts"]["sms"].values()) == 4 and got["counts"]["sms"].get("not_sent", 0) >= 2, got
    assert got["created_by"] and got["created_at"].endswith("Z"), got
    _error(_admin(stack, "GET", "%s/%s" % (url, uuid.uuid4())), 404, "not_found", "unknown id")
    _error(_admin(stack, "GET", "/v1/properties/%s/announcements/%s" % (STATE["other"], STATE["sms"])), 404,
           "not_found", "another property's path")
    _error(stack.http("GET", "/v1/properties/%s/announcements" % STATE["other"], token=STATE["manager"]), 404,
           "not_found", "manager, another property")
    for q in ("limit=0", "limit=501", "limit=x", "cursor=nonsense"):
        _error(_admin(stack, "GET", url + "?" + q), 422, "validation_failed", q)


# ---------------------------------------------------------------- the delivery log
def test_log_masks_contacts(stack):
    pid, p = STATE["pid"], STATE["parties"]
    r = stack.http("GET", "/v1/properties/%s/notification-log?limit=500" % pid, token=STATE["manager"])
    log = _ok(r, 200, "log")
    text = r.body.decode("utf-8")
    for secret in list(PHONES.values()) + list(EMAILS.values()):
        assert secret not in text, "the log shows %s whole" % secret
    rows = [i for i in log["items"] if i["source_id"] == STATE["sms"]]
    assert len(rows) == 12, len(rows)
    by = {(i["recipient"]["id"], i["channel"]): i for i in rows}
    z = by[(p["zhang"], "sms")]
    assert z["address"] == "138****8001" and z["recipient"] == {"kind": "party", "id": p["zhang"], "name": "张伟"}, z
    assert by[(p["zhang"], "email")]["address"] == "z***@example.com", by[(p["zhang"], "email")]
    assert by[(p["wang"], "email")]["address"] == "f***@wangshi.example.cn", by[(p["wang"], "email")]
    w = by[(p["wang"], "sms")]
    assert w["status"] == "not_sent" and w["last_error"] == "no phone number" and w["address"] is None, w
    o = by[(p["zhao"], "email")]
    assert o["status"] == "not_sent" and o["last_error"] == "opted out", o
    i = by[(p["li"], "inbox")]
    assert i["status"] == "delivered" and i["attempts"] == 0 and i["event_type"] == "announcement", i
    assert i["created_at"].endswith("Z") and i["title"] == "社区活动：中秋游园会", i
    total = _count(stack, "SELECT count(*) FROM notifications.notifications WHERE property_id = '%s'" % pid)
    assert log["summary"]["total"] == total == len(log["items"]), (log["summary"], total)


def test_log_filters_summary_and_pages(stack):
    pid = STATE["pid"]
    url = "/v1/properties/%s/notification-log" % pid
    log = _ok(_admin(stack, "GET", url + "?channel=sms&status=not_sent"), 200, "filtered")
    assert log["items"] and all(i["channel"] == "sms" and i["status"] == "not_sent" for i in log["items"]), log
    want = _count(stack, "SELECT count(*) FROM notifications.notifications WHERE property_id = '%s' "
                         "AND channel = 'sms' AND status = 'not_sent'" % pid)
    assert log["summary"] == {"total": want, "by_channel": {"sms": {"not_sent": want}}}, log["summary"]
    # ours, and the sender's for the queued rows it has tried (no SMS provider in the tests)
    reasons = {i["last_error"] for i in log["items"]}
    assert {"opted out", "no phone number"} <= reasons, reasons
    # the summary of everything, by channel and status, from the table
    log = _ok(_admin(stack, "GET", url + "?event_type=announcement&limit=1"), 200, "summary")
    rows = stack.psql("SELECT channel, status, count(*) FROM notifications.notifications WHERE property_id = '%s' "
                      "AND event_type = 'announcement' GROUP BY 1, 2" % pid)
    want = {}
    for ch, st, k in rows:
        want.setdefault(ch, {})[st] = int(k)
    assert log["summary"]["by_channel"] == want, (log["summary"], want)
    # pages by cursor: every row once, newest first
    seen, cursor, last = [], None, None
    while True:
        page = _ok(_admin(stack, "GET", url + "?limit=7" + ("&cursor=" + cursor if cursor else "")), 200, "page")
        for i in page["items"]:
            assert last is None or i["created_at"] <= last, "not newest first"
            last = i["created_at"]
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == page["summary"]["total"], (len(seen), page["summary"])
    # since: nothing after tomorrow
    log = _ok(_admin(stack, "GET", url + "?since=2099-01-01T00:00:00Z"), 200, "since")
    assert log["items"] == [] and log["summary"] == {"total": 0, "by_channel": {}} and log["next_cursor"] is None, log
    log = _ok(_admin(stack, "GET", url + "?since=2020-01-01"), 200, "since a date")
    assert log["summary"]["total"] == page["summary"]["total"], log["summary"]
    for q, field in (("status=lost", "status"), ("channel=fax", "channel"), ("since=yesterday", "since"),
                     ("since=2026-13-01", "since"), ("limit=0", "limit"), ("cursor=abc", "cursor")):
        err = _error(_admin(stack, "GET", url + "?" + q), 422, "validation_failed", q)
        assert [d["field"] for d in err["details"]] == [field], (q, err)
    # who may read it
    _error(stack.http("GET", url, token=STATE["agent"]), 403, "forbidden", "agent")
    _error(stack.http("GET", "/v1/properties/%s/notification-log" % STATE["other"], token=STATE["manager"]), 404,
           "not_found", "manager, another property")
    other = _ok(_admin(stack, "GET", "/v1/properties/%s/notification-log" % STATE["other"]), 200, "other property")
    assert all(i["source_kind"] != "announcement" for i in other["items"]), other
