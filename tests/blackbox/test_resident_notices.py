"""test_resident_notices: notices to residents in their language and preferences (issue K item 7;
services/notifications/events.c, templates.c, reminders.h, me.h; migration 010).

Two residents, EN (locale en, SMS first) in R-101 and ZH (the defaults: zh-CN, SMS then e-mail) in
R-102, both owners. A ticket the desk opens for a resident reaches them when created (受理: SMS and
inbox), assigned (派工: inbox) and resolved (SMS and inbox), in their language and with the residents'
texts (no "assigned to you", no staff name); a muted topic or an opt-out still lands in the inbox,
never by SMS; a bill reaches whom it is for in their language; an activity reminds each registered
party once (the reminders job runs every 200 ms here), never a removed registration nor an activity
already started. The resident's inbox (GET /v1/me/notifications, its unread count and read marks) is
checked on the way. Tests run in file order and share S.
"""

import datetime
import re
import secrets
import time
import zoneinfo

from api import ok as _ok, error as _error, fields as _fields, resident_token as _token, sms_to, sms_count

STACK = dict(env={"PM_ACTIVITY_REMINDER_EVERY_MS": "200"})
S = {}
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _adm(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _p(path):
    return "/v1/properties/%s%s" % (S["pid"], path)


def _me(stack, who, method, path, body=None):
    return stack.http(method, "/v1/me" + path, body=body, token=S["tok"][who])


def _wait(what, fn, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = fn()
        if got:
            return got
        assert time.time() < deadline, "never saw " + what
        time.sleep(0.1)


def _count(stack, sql):
    return int(stack.psql(sql)[0][0])


def _rows(stack, who, event_type, source_id=None):
    """(channel, status, last_error, locale, title, body) of a party's rows of one event type."""
    where = " AND source_id = '%s'" % source_id if source_id else ""
    return stack.psql("SELECT channel, status, coalesce (last_error, ''), locale, title, body "
                      "FROM notifications.notifications WHERE recipient_kind = 'party' AND recipient = '%s' "
                      "AND event_type = '%s'%s ORDER BY channel" % (S["party"][who], event_type, where))


def _ticket_rows(stack, who, event_type, tid):
    return stack.psql("SELECT channel, status, coalesce (last_error, ''), locale, title, body "
                      "FROM notifications.notifications WHERE recipient_kind = 'party' AND recipient = '%s' "
                      "AND event_type = '%s' AND link->>'ticket_id' = '%s' ORDER BY channel"
                      % (S["party"][who], event_type, tid))


def _sms_texts(stack, who, after):
    return [m["text"] for m in sms_to(stack, S["phone"][who], after)]


def _user(stack, role, name):
    pw = "pw-" + secrets.token_urlsafe(10)
    u = _ok(_adm(stack, "POST", "/v1/users", {"username": name, "password": pw, "role": role,
                                               "property_ids": [S["pid"]]}), 201, "user " + role)
    return u["id"], stack.login(name, pw)


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    S["pid"] = _ok(_adm(stack, "POST", "/v1/properties", {"code": "RN-" + tag, "name": "住户通知" + tag}),
                   201, "property")["id"]
    S.update(unit={}, party={}, phone={}, tok={}, code={})
    for who, code in (("en", "R-101"), ("zh", "R-102")):
        S["unit"][who] = _ok(_adm(stack, "POST", _p("/units"), {"code": code, "building": "R", "floor": "1",
                                                                  "area_m2": 88, "use": "residential"}),
                             201, "unit")["id"]
        S["code"][who] = code
        S["phone"][who] = "137%08d" % secrets.randbelow(10 ** 8)
        S["party"][who] = _ok(_adm(stack, "POST", _p("/parties"), {"kind": "person", "name": "住户" + who,
                                                                     "phone": S["phone"][who]}),
                              201, "party")["id"]
        _ok(_adm(stack, "POST", _p("/units/%s/occupancies" % S["unit"][who]),
                 {"party_id": S["party"][who], "role": "owner", "start_date": "2026-01-01"}), 201, "move-in")
    for schema in ("notifications.occupancies", "tickets.tenant_occupancies", "billing.occupancies"):
        _wait(schema, lambda: _count(stack, "SELECT count(*) FROM %s WHERE property_id = '%s' AND end_date IS NULL"
                                     % (schema, S["pid"])) == 2)
    _wait("the parties (notifications)", lambda: _count(
        stack, "SELECT count(*) FROM notifications.parties WHERE property_id = '%s' AND phone IS NOT NULL"
        % S["pid"]) == 2)
    for who in ("en", "zh"):
        S["tok"][who] = _token(stack, S["phone"][who])
    S["tech"], S["tech_token"] = _user(stack, "technician", "tech-" + tag.lower())
    S["agent"], S["agent_token"] = _user(stack, "agent", "agent-" + tag.lower())
    # EN reads English and wants SMS; ZH keeps the defaults
    put = _ok(_me(stack, "en", "PUT", "/notification-preferences", {"locale": "en", "channels": ["sms"]}),
              200, "en preferences")["items"]
    assert put[0]["locale"] == "en" and put[0]["topics"] == {"tickets": True, "bills": True,
                                                              "activities": True}, put


def _desk_ticket(stack, who, title):
    return _ok(stack.http("POST", _p("/tickets"), token=S["agent_token"],
                          body={"type": "repair", "title": title, "unit_id": S["unit"][who],
                                "party_id": S["party"][who], "channel": "phone"}), 201, "desk ticket")


def _action(stack, tid, action, token=None, **extra):
    return _ok(stack.http("POST", _p("/tickets/%s/actions" % tid), token=token or S["agent_token"],
                          body=dict(action=action, **extra)), 200, action)


def test_ticket_status_changes_in_each_language(stack):
    before = sms_count(stack)
    t = {who: _desk_ticket(stack, who, "厨房水管漏水 " + who) for who in ("en", "zh")}
    for who in ("en", "zh"):
        _action(stack, t[who]["id"], "assign", assignee_id=S["tech"])
        _action(stack, t[who]["id"], "resolve", token=S["tech_token"], note="已更换阀门")
    for who in ("en", "zh"):
        tid, number = t[who]["id"], t[who]["number"]
        created = _wait("created " + who, lambda: _ticket_rows(stack, who, "ticket.created", tid))
        assigned = _wait("assigned " + who, lambda: _ticket_rows(stack, who, "ticket.assigned", tid))
        resolved = _wait("resolved " + who, lambda: _ticket_rows(stack, who, "ticket.resolved", tid))
        # created and resolved: the preferred channel (SMS) and the inbox; assigned: the inbox only
        assert [r[0] for r in created] == ["inbox", "sms"], created
        assert [r[0] for r in assigned] == ["inbox"], assigned
        assert [r[0] for r in resolved] == ["inbox", "sms"], resolved
        for rows in (created, assigned, resolved):
            assert {r[3] for r in rows} == {"en" if who == "en" else "zh-CN"}, rows
        if who == "en":
            assert created[0][4] == "We have your request %s" % number, created
            assert "number %s" % number in created[0][5], created
            assert assigned[0][4] == "Your request %s is being handled" % number, assigned
            assert resolved[0][4] == "Your request %s is resolved" % number, resolved
        else:
            assert created[0][4] == "已受理：您的请求 %s" % number, created
            assert "编号 %s" % number in created[0][5], created
            assert assigned[0][4] == "您的请求 %s 已派工" % number, assigned
            assert resolved[0][4] == "您的请求 %s 已处理完成" % number, resolved
        for rows in (created, assigned, resolved):
            for r in rows:
                text = r[4] + r[5]
                assert "assigned to you" not in text and "已派给您" not in text, r
                assert "tech-" not in text and S["tech"] not in text, r
        # the staff still read the staff's texts: the technician's inbox
        staff = stack.psql("SELECT title FROM notifications.notifications WHERE recipient_kind = 'user' "
                           "AND recipient = '%s' AND event_type = 'ticket.assigned' AND link->>'ticket_id' = '%s'"
                           % (S["tech"], tid))
        assert staff == [("工单 %s 已派给您：厨房水管漏水 %s" % (number, who),)], staff
    # the SMS file: two each (created, resolved), in the resident's language, nothing of the staff
    for who in ("en", "zh"):
        texts = _wait("two SMS to " + who, lambda: (lambda x: x if len(x) >= 2 else None)(
            [x for x in _sms_texts(stack, who, before) if t[who]["number"] in x]))
        assert len(texts) == 2, texts
        texts.sort(key=lambda x: 0 if x.startswith(("We have", "已受理")) else 1)  # the sender keeps no order
        if who == "en":
            assert texts[0].startswith("We have your request") and "is resolved" in texts[1], texts
        else:
            assert texts[0].startswith("已受理") and "已处理完成" in texts[1], texts
        for x in texts:
            assert S["tech"] not in x and "tech-" not in x, x
    S["tickets"] = t


def test_resident_inbox(stack):
    t = S["tickets"]["zh"]
    page = _ok(_me(stack, "zh", "GET", "/notifications"), 200, "zh inbox")
    mine = [n for n in page["items"] if n["link"].get("ticket_id") == t["id"]]
    assert [n["event_type"] for n in mine] == ["ticket.resolved", "ticket.assigned", "ticket.created"], mine
    assert set(mine[0]) >= {"id", "property_id", "party_id", "event_type", "title", "body", "link",
                            "created_at", "read", "read_at"}, mine[0]
    assert all(n["party_id"] == S["party"]["zh"] and not n["read"] for n in mine), mine
    assert page["unread"] == len(page["items"]) >= 3, page
    # another resident sees none of them, and cannot mark one
    other = _ok(_me(stack, "en", "GET", "/notifications"), 200, "en inbox")
    assert not {n["id"] for n in other["items"]} & {n["id"] for n in mine}, other
    _error(_me(stack, "en", "POST", "/notifications/%s/read" % mine[0]["id"]), 404, "not_found", "another's")
    _error(_me(stack, "zh", "POST", "/notifications/not-a-uuid/read"), 404, "not_found", "bad id")
    _error(_me(stack, "zh", "POST", "/notifications/00000000-0000-4000-8000-000000000000/read"), 404,
           "not_found", "no such")
    # staff are not residents
    r = stack.http("GET", "/v1/me/notifications", token=S["agent_token"])
    assert r.status == 403, r
    # read: once, the first read_at stays
    read = _ok(_me(stack, "zh", "POST", "/notifications/%s/read" % mine[0]["id"]), 200, "read")
    assert read["read"] is True and read["read_at"] and read["id"] == mine[0]["id"], read
    again = _ok(_me(stack, "zh", "POST", "/notifications/%s/read" % mine[0]["id"]), 200, "read again")
    assert again["read_at"] == read["read_at"], again
    after = _ok(_me(stack, "zh", "GET", "/notifications"), 200, "zh inbox after")
    assert after["unread"] == page["unread"] - 1, after
    # paged, newest first
    p1 = _ok(_me(stack, "zh", "GET", "/notifications?limit=2"), 200, "page 1")
    assert [n["id"] for n in p1["items"]] == [n["id"] for n in after["items"][:2]] and p1["next_cursor"], p1
    p2 = _ok(_me(stack, "zh", "GET", "/notifications?limit=2&cursor=" + p1["next_cursor"]), 200, "page 2")
    assert [n["id"] for n in p2["items"]] == [n["id"] for n in after["items"][2:4]], p2
    assert p2["unread"] == after["unread"], p2
    e = _error(_me(stack, "zh", "GET", "/notifications?limit=0"), 422, "validation_failed", "bad limit")
    assert "limit" in _fields(e), e
    e = _error(_me(stack, "zh", "GET", "/notifications?cursor=bm9wZQ"), 422, "validation_failed", "bad cursor")
    assert "cursor" in _fields(e), e


def test_topics_validation(stack):
    for body, field in (({"topics": {"parking": False}}, "topics"), ({"topics": {"tickets": "no"}}, "topics"),
                        ({"topics": ["tickets"]}, "topics"), ({"topics": {"bills": False}, "locale": "fr"}, "locale"),
                        ({}, "body")):
        e = _error(_me(stack, "zh", "PUT", "/notification-preferences", body), 422, "validation_failed", str(body))
        assert field in _fields(e), (body, e)
    got = _ok(_me(stack, "zh", "GET", "/notification-preferences"), 200, "unchanged")["items"][0]
    assert got["topics"] == {"tickets": True, "bills": True, "activities": True}, got
    # the desk's route takes topics too
    desk = _ok(_adm(stack, "PUT", _p("/parties/%s/notification-preferences" % S["party"]["zh"]),
                    {"topics": {"bills": False}}), 200, "desk topics")
    assert desk["topics"] == {"tickets": True, "bills": False, "activities": True}, desk
    desk = _ok(_adm(stack, "PUT", _p("/parties/%s/notification-preferences" % S["party"]["zh"]),
                    {"topics": {"bills": True}}), 200, "desk topics back")
    assert desk["topics"]["bills"] is True and desk["channels"] == ["sms", "email"], desk


def test_muted_topic_lands_in_the_inbox_only(stack):
    put = _ok(_me(stack, "zh", "PUT", "/notification-preferences", {"topics": {"tickets": False}}), 200, "mute")
    assert put["items"][0]["topics"] == {"tickets": False, "bills": True, "activities": True}, put
    assert put["items"][0]["channels"] == ["sms", "email"] and put["items"][0]["locale"] == "zh-CN", put
    before = sms_count(stack)
    t = _desk_ticket(stack, "zh", "楼道灯不亮")
    rows = _wait("muted created", lambda: _ticket_rows(stack, "zh", "ticket.created", t["id"]))
    assert [(r[0], r[1], r[2]) for r in rows] == [("inbox", "delivered", ""), ("sms", "not_sent", "topic muted")], rows
    # the same event reaches EN (tickets not muted there): a control that the SMS would have come
    t2 = _desk_ticket(stack, "en", "Lobby light out")
    _wait("EN's SMS", lambda: [x for x in _sms_texts(stack, "en", before) if t2["number"] in x])
    assert not [x for x in _sms_texts(stack, "zh", before) if t["number"] in x], "a muted topic sent an SMS"
    inbox = _ok(_me(stack, "zh", "GET", "/notifications"), 200, "inbox")["items"]
    assert any(n["link"].get("ticket_id") == t["id"] for n in inbox), inbox
    _ok(_me(stack, "zh", "PUT", "/notification-preferences", {"topics": {"tickets": True}}), 200, "unmute")


def test_opt_out_sends_nothing_but_the_inbox(stack):
    _ok(_me(stack, "zh", "PUT", "/notification-preferences", {"opt_out": True}), 200, "opt out")
    before = sms_count(stack)
    t = _desk_ticket(stack, "zh", "门禁卡失灵")
    rows = _wait("opted-out created", lambda: _ticket_rows(stack, "zh", "ticket.created", t["id"]))
    assert [(r[0], r[1], r[2]) for r in rows] == [("inbox", "delivered", ""), ("sms", "not_sent", "opted out")], rows
    t2 = _desk_ticket(stack, "en", "Door card broken")
    _wait("EN's SMS", lambda: [x for x in _sms_texts(stack, "en", before) if t2["number"] in x])
    assert not [x for x in _sms_texts(stack, "zh", before) if t["number"] in x], "an opted-out party got an SMS"
    _ok(_me(stack, "zh", "PUT", "/notification-preferences", {"opt_out": False}), 200, "opt back in")


def test_bill_issued_in_each_language(stack):
    _ok(_adm(stack, "POST", _p("/fee-items"), {"code": "MGMT", "name": "物业管理费", "basis": "fixed",
                                                "unit_price": 56789, "applies_to": ["residential"],
                                                "effective_from": "2026-01-01"}), 201, "fee item")
    before = sms_count(stack)
    run = _ok(_adm(stack, "POST", _p("/billing-runs"), {"period": "2026-10"}), 201, "run")
    assert run["bills_created"] == 2, run
    en = _wait("EN's bill", lambda: _rows(stack, "en", "bill.issued"))
    zh = _wait("ZH's bill", lambda: _rows(stack, "zh", "bill.issued"))
    assert [r[0] for r in en] == ["inbox", "sms"] and en[0][3] == "en", en
    assert en[0][4] == "Your Oct 2026 bill: CNY 567.89" and "R-101" in en[0][5], en
    assert [r[0] for r in zh] == ["inbox", "sms"] and zh[0][3] == "zh-CN", zh
    assert zh[0][4] == "2026年10月账单：¥567.89" and "R-102" in zh[0][5], zh
    texts = _wait("EN's bill SMS", lambda: [x for x in _sms_texts(stack, "en", before) if "567.89" in x])
    assert texts[0].startswith("Your Oct 2026 bill"), texts


def _iso(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_activity_reminder_once_per_registration(stack):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    # created beyond the day's window, so nothing is reminded before the sign-ups are in place
    act = _ok(_adm(stack, "POST", _p("/activities"), {"title": "插花课", "place": "会所二楼",
                                                       "starts_at": _iso(now + datetime.timedelta(hours=30)),
                                                       "ends_at": _iso(now + datetime.timedelta(hours=32)),
                                                       "capacity": 20, "audience": "all", "announce": False}),
              201, "activity")
    regs = {}
    for who in ("en", "zh"):
        regs[who] = _ok(_me(stack, who, "POST", "/activities/%s/registrations" % act["id"],
                            {"unit_id": S["unit"][who]}), 201, "sign-up " + who)["id"]
    # ZH changes their mind: a removed registration is not reminded
    r = _me(stack, "zh", "DELETE", "/activities/%s/registrations/%s" % (act["id"], regs["zh"]))
    assert r.status == 204, r
    time.sleep(0.6)                  # three rounds: nothing is due yet
    assert _count(stack, "SELECT count(*) FROM notifications.notifications WHERE event_type = "
                         "'activity.reminder'") == 0
    # now it starts in 2 hours
    starts = now + datetime.timedelta(hours=2)
    _ok(_adm(stack, "PATCH", _p("/activities/%s" % act["id"]),
             {"starts_at": _iso(starts), "ends_at": _iso(starts + datetime.timedelta(hours=2))}), 200, "move it")
    rows = _wait("EN's reminder", lambda: _rows(stack, "en", "activity.reminder", regs["en"]))
    time.sleep(1.0)                  # five more rounds: still one
    rows = _rows(stack, "en", "activity.reminder", regs["en"])
    assert [r[0] for r in rows] == ["inbox", "sms"], rows
    local = starts.astimezone(SHANGHAI)
    assert rows[0][3] == "en" and rows[0][4] == "Reminder: 插花课", rows
    when = "%d %s %02d:%02d" % (local.day, local.strftime("%b"), local.hour, local.minute)
    assert when in rows[0][5] and "会所二楼" in rows[0][5], (when, rows)
    assert _count(stack, "SELECT count(*) FROM notifications.notifications WHERE event_type = 'activity.reminder' "
                         "AND recipient = '%s'" % S["party"]["zh"]) == 0, "a removed registration was reminded"
    reminded = stack.psql("SELECT reminded_at IS NOT NULL FROM notifications.activity_registrations "
                          "WHERE id = '%s'" % regs["en"])
    assert reminded == [("t",)], reminded
    # ZH signs up again now (after the reminder time): reminded by the next round, in Chinese
    again = _ok(_me(stack, "zh", "POST", "/activities/%s/registrations" % act["id"],
                    {"unit_id": S["unit"]["zh"]}), 201, "sign-up again")["id"]
    zh = _wait("ZH's reminder", lambda: _rows(stack, "zh", "activity.reminder", again))
    assert zh[0][3] == "zh-CN" and zh[0][4] == "活动提醒：插花课", zh
    assert "%d月%d日 %02d:%02d" % (local.month, local.day, local.hour, local.minute) in zh[0][5], zh
    inbox = _ok(_me(stack, "zh", "GET", "/notifications"), 200, "inbox")["items"]
    assert inbox[0]["event_type"] == "activity.reminder" and inbox[0]["link"].get("unit_id") == S["unit"]["zh"], inbox
    time.sleep(0.6)
    assert _count(stack, "SELECT count(*) FROM notifications.notifications WHERE event_type = 'activity.reminder' "
                         "AND channel = 'inbox'") == 2


def test_no_reminder_once_started_or_cancelled(stack):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    made = []
    for title in ("已开始的活动", "取消的活动"):
        act = _ok(_adm(stack, "POST", _p("/activities"), {"title": title, "place": "中庭",
                                                           "starts_at": _iso(now + datetime.timedelta(days=3)),
                                                           "ends_at": _iso(now + datetime.timedelta(days=3, hours=1)),
                                                           "audience": "all", "announce": False}), 201, title)
        _ok(_me(stack, "en", "POST", "/activities/%s/registrations" % act["id"], {"unit_id": S["unit"]["en"]}),
            201, "sign-up")
        made.append(act["id"])
    # the first started a minute ago (no API moves an activity into the past); the second is cancelled
    stack.psql("UPDATE notifications.activities SET starts_at = now () - interval '1 minute' WHERE id = '%s'"
               % made[0])
    _ok(_adm(stack, "POST", _p("/activities/%s/cancel" % made[1]), {"reason": "下雨"}), 200, "cancel")
    stack.psql("UPDATE notifications.activities SET starts_at = now () + interval '1 hour', "
               "ends_at = now () + interval '2 hours' WHERE id = '%s'" % made[1])
    time.sleep(1.0)
    got = stack.psql("SELECT count(*) FROM notifications.notifications n JOIN notifications.activity_registrations r "
                     "ON r.id = n.source_id WHERE n.event_type = 'activity.reminder' AND r.activity_id IN ('%s', '%s')"
                     % tuple(made))
    assert got == [("0",)], got


def test_remind_before_minutes(stack):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    body = {"title": "太极晨练", "place": "南广场", "starts_at": _iso(now + datetime.timedelta(hours=2)),
            "ends_at": _iso(now + datetime.timedelta(hours=3)), "audience": "all", "announce": False}
    for bad in (-1, 43201, "60", 1.5):
        e = _error(_adm(stack, "POST", _p("/activities"), dict(body, remind_before_minutes=bad)), 422,
                   "validation_failed", "remind %r" % (bad,))
        assert _fields(e) == {"remind_before_minutes"}, e
    act = _ok(_adm(stack, "POST", _p("/activities"), dict(body, remind_before_minutes=60)), 201, "an hour before")
    assert act["remind_before_minutes"] == 60, act
    reg = _ok(_me(stack, "en", "POST", "/activities/%s/registrations" % act["id"], {"unit_id": S["unit"]["en"]}),
              201, "sign-up")["id"]
    time.sleep(0.8)                  # four rounds: two hours ahead is not within the hour
    assert _rows(stack, "en", "activity.reminder", reg) == []
    e = _error(_adm(stack, "PATCH", _p("/activities/%s" % act["id"]), {"remind_before_minutes": None}), 422,
               "validation_failed", "null")
    assert "remind_before_minutes" in _fields(e), e
    got = _ok(_adm(stack, "PATCH", _p("/activities/%s" % act["id"]), {"remind_before_minutes": 180}), 200, "3 h")
    assert got["remind_before_minutes"] == 180, got
    rows = _wait("the reminder", lambda: _rows(stack, "en", "activity.reminder", reg))
    assert [r[0] for r in rows] == ["inbox", "sms"] and rows[0][4] == "Reminder: 太极晨练", rows
    plain = _ok(_adm(stack, "POST", _p("/activities"), dict(body, starts_at=_iso(now + datetime.timedelta(days=9)),
                                                              ends_at=_iso(now + datetime.timedelta(days=9, hours=1)))),
                201, "default")
    assert plain["remind_before_minutes"] == 1440, plain


def test_resident_templates_api(stack):
    base = _p("/notification-templates")
    staff = _ok(_adm(stack, "GET", base + "?event_type=ticket.assigned&locale=zh-CN"), 200, "staff")["items"]
    assert staff[0]["audience"] == "staff" and "已派给您" in staff[0]["title"], staff
    res = _ok(_adm(stack, "GET", base + "?event_type=ticket.assigned&locale=zh-CN&audience=resident"), 200,
              "resident")["items"]
    assert res[0]["audience"] == "resident" and res[0]["title"] == "您的请求 {{number}} 已派工", res
    e = _error(_adm(stack, "GET", base + "?audience=tenant"), 422, "validation_failed", "bad audience")
    assert "audience" in _fields(e), e
    rem = _ok(_adm(stack, "GET", base + "?event_type=activity.reminder&locale=en"), 200, "reminder")["items"]
    assert rem[0]["title"] == "Reminder: {{title}}" and "starts_at" in rem[0]["placeholders"], rem
    # a property's resident text: used for the party, the staff's stays
    put = _ok(_adm(stack, "PUT", base + "/ticket.created/zh-CN?audience=resident",
                   {"title": "收到啦 {{number}}", "body": "我们会尽快处理「{{title}}」。"}), 200, "put resident")
    assert put["audience"] == "resident" and put["source"] == "property", put
    t = _desk_ticket(stack, "zh", "窗户关不上")
    rows = _wait("custom created", lambda: _ticket_rows(stack, "zh", "ticket.created", t["id"]))
    assert rows[0][4] == "收到啦 %s" % t["number"], rows
    managers = stack.psql("SELECT title FROM notifications.notifications WHERE recipient_kind = 'role' "
                          "AND event_type = 'ticket.created' AND link->>'ticket_id' = '%s'" % t["id"])
    assert managers == [("新工单 %s：窗户关不上" % t["number"],)], managers
    back = _ok(_adm(stack, "DELETE", base + "/ticket.created/zh-CN?audience=resident"), 200, "reset")
    assert back["source"] == "default" and back["title"] == "已受理：您的请求 {{number}}", back
    staff = _ok(_adm(stack, "GET", base + "?event_type=ticket.created&locale=zh-CN"), 200, "staff")["items"]
    assert staff[0]["source"] == "default" and staff[0]["title"].startswith("新工单"), staff
