"""test_notifications: events to people (issue E items 1, 2, 3 inbox, 4), end to
end: ticket.created reaches the property's managers' inbox once, an assignment
reaches the assignee, a redelivered event writes nothing twice, unread counts
and per-user read marks, one user cannot read or mark another's, a property's
rules mute a type, a property's template changes the text (an unknown
placeholder is refused), and bill.issued / payment.received reach the unit's
owner on their preferred channel, honouring opt-out, in their locale; an SLA
breach reaches the assignee and the managers. Times in the messages are the
property's wall times (Asia/Shanghai by default, Europe/London for a property
created so), dates and months read as people write them; an escalation to a
user reaches that user's inbox too.

SMS and email delivery belong to the sender: here the rows and their statuses
are checked (psql), not what a provider received. Tests run in file order and
share S.
"""

import re
import secrets
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import harness

# tickets' SLA timer on a test clock (UPDATE tickets.test_clock), ticking fast
STACK = dict(env={"PM_CONSUMER_POLL_MS": "200", "PM_TEST_CLOCK": "1", "PM_SLA_TICK_MS": "100"})

S = {}


def _ok(r, status, what):
    assert r.status == status, "%s: expected %d, got %r" % (what, status, r)
    return r.json() if r.body else None


def _error(r, status, code, what):
    body = _ok(r, status, what)
    assert body.get("error", {}).get("code") == code, "%s: %r" % (what, body)
    return body["error"]


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(pid, rest=""):
    return "/v1/properties/%s%s" % (pid, rest)


def _user(stack, key, role, pids):
    name = "%s-%s" % (key, secrets.token_hex(3))
    pw = "pw-" + secrets.token_urlsafe(10)
    u = _ok(_admin(stack, "POST", "/v1/users", {"username": name, "password": pw, "role": role,
                                                 "property_ids": pids}), 201, "user " + key)
    S["tokens"][key] = stack.login(name, pw)
    S["ids"][key] = u["id"]


def _wait(what, fn, timeout=20):
    return harness.wait_for(what, fn, timeout)


def _inbox(stack, who, query=""):
    return _ok(_as(stack, who, "GET", "/v1/notifications" + query), 200, "inbox of " + who)


def _about(stack, who, tid, event_type):
    """The caller's inbox items about a ticket and of a type."""
    items = _inbox(stack, who, "?limit=500")["items"]
    return [i for i in items if i["link"].get("ticket_id") == tid and i["event_type"] == event_type]


def _count(stack, sql):
    return int(stack.psql(sql)[0][0])


def _ticket(stack, title, who="agent"):
    return _ok(_as(stack, who, "POST", _p(S["p1"], "/tickets"),
                   {"type": "repair", "title": title, "unit_id": S["units"]["A"], "priority": "urgent"}),
               201, "ticket " + title)


def _local(iso, tz):
    """An RFC 3339 time as the zh-CN templates show it in zone tz."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    day = "%d月%d日" % (at.month, at.day)
    if at.year != datetime.now(timezone.utc).astimezone(ZoneInfo(tz)).year:
        day = "%d年%s" % (at.year, day)
    return "%s %02d:%02d" % (day, at.hour, at.minute)


def _assign(stack, tid, to):
    _ok(_as(stack, "agent", "POST", _p(S["p1"], "/tickets/%s/actions" % tid),
            {"action": "assign", "assignee_id": S["ids"][to]}), 200, "assign")


# ---------------------------------------------------------------- set-up

def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    p1 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "NT1-" + tag, "name": "翠湖花园"}), 201, "P1")["id"]
    p2 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "NT2-" + tag, "name": "其他小区"}), 201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={}, ids={}, units={}, parties={})
    _user(stack, "manager", "manager", [p1])
    _user(stack, "manager2", "manager", [p1])
    _user(stack, "other_manager", "manager", [p2])
    _user(stack, "agent", "agent", [p1])
    _user(stack, "tech", "technician", [p1])
    for code in ("A", "B", "C"):
        S["units"][code] = _ok(_admin(stack, "POST", _p(p1, "/units"),
                                      {"code": "%s-0101" % code, "area_m2": 100, "use": "residential"}),
                               201, "unit " + code)["id"]
    # A: 王芳 prefers email; B: 李雷 opted out; C: Alice reads English
    for key, name, email in (("A", "王芳", "wangfang@example.com"), ("B", "李雷", None),
                             ("C", "Alice Chen", "alice@example.com")):
        body = {"kind": "person", "name": name, "phone": "1380013800%d" % len(S["parties"])}
        if email:
            body["email"] = email
        S["parties"][key] = _ok(_admin(stack, "POST", _p(p1, "/parties"), body), 201, "party " + name)["id"]
        _ok(_admin(stack, "POST", _p(p1, "/units/%s/occupancies" % S["units"][key]),
                   {"party_id": S["parties"][key], "role": "owner", "start_date": "2025-01-01"}),
            201, "move in " + key)
    # the copy of who lives where comes from tenants' events
    want = ",".join("'%s'" % p for p in S["parties"].values())
    _wait("the archive copy", lambda: _count(
        stack, "SELECT count(*) FROM notifications.occupancies WHERE party_id IN (%s) AND end_date IS NULL"
        % want) == 3)
    rows = stack.psql("SELECT phone, email FROM notifications.parties WHERE id = '%s'" % S["parties"]["A"])
    assert rows == [("13800138000", "wangfang@example.com")], rows
    # preferences are E3's API; written here directly so this file stands alone
    stack.psql("INSERT INTO notifications.preferences (party_id, property_id, channels, opt_out, locale) VALUES "
               "('%s', '%s', '{email,sms}', false, 'zh-CN'), ('%s', '%s', '{sms,email}', true, 'zh-CN'), "
               "('%s', '%s', '{email}', false, 'en')"
               % (S["parties"]["A"], p1, S["parties"]["B"], p1, S["parties"]["C"], p1))


# ---------------------------------------------------------------- tickets to staff

def test_ticket_created_reaches_managers_once(stack):
    t = _ticket(stack, "电梯异响")
    S["t1"] = t
    items = _wait("the manager's notification", lambda: _about(stack, "manager", t["id"], "ticket.created"))
    assert len(items) == 1, items
    it = items[0]
    assert it["title"] == "新工单 %s：电梯异响" % t["number"], it
    assert "报修" in it["body"] and "紧急" in it["body"] and "A-0101" in it["body"], it
    assert it["property_id"] == S["p1"] and it["read"] is False and it["read_at"] is None, it
    assert it["link"] == {"ticket_id": t["id"], "unit_id": S["units"]["A"], "property_id": S["p1"]}, it
    assert it["created_at"].endswith("Z"), it
    # every manager of the property sees it; not the other property's, not a technician
    assert len(_about(stack, "manager2", t["id"], "ticket.created")) == 1
    assert _about(stack, "other_manager", t["id"], "ticket.created") == []
    assert _about(stack, "tech", t["id"], "ticket.created") == []
    # admin sees the managers' rows of every property
    r = _ok(_admin(stack, "GET", "/v1/notifications?limit=500"), 200, "admin")
    assert [i for i in r["items"] if i["id"] == it["id"]], "admin does not see it"
    # one row, for the role, in the delivery log
    rows = stack.psql("SELECT recipient_kind, recipient, channel, status FROM notifications.notifications "
                      "WHERE link->>'ticket_id' = '%s' AND event_type = 'ticket.created'" % t["id"])
    assert rows == [("role", "manager", "inbox", "delivered")], rows


def test_assign_reaches_the_assignee(stack):
    t = S["t1"]
    _assign(stack, t["id"], "tech")
    items = _wait("the technician's notification", lambda: _about(stack, "tech", t["id"], "ticket.assigned"))
    assert len(items) == 1 and items[0]["title"] == "工单 %s 已派给您：电梯异响" % t["number"], items
    # addressed to the user: not to the managers
    assert _about(stack, "manager", t["id"], "ticket.assigned") == []
    rows = stack.psql("SELECT recipient_kind, recipient FROM notifications.notifications "
                      "WHERE link->>'ticket_id' = '%s' AND event_type = 'ticket.assigned'" % t["id"])
    assert rows == [("user", S["ids"]["tech"])], rows


def _cursors(stack):
    """notifications' consumer cursors: {producer: (xid, seq)}."""
    return {p: tuple(int(x) for x in c.split(":"))
            for p, c in stack.psql("SELECT producer, cursor FROM notifications.consumer_cursors")}


def test_redelivered_events_write_nothing_twice(stack):
    before = _count(stack, "SELECT count(*) FROM notifications.notifications")
    assert before >= 2
    n_events = _count(stack, "SELECT count(*) FROM notifications.processed_events")
    cursors = _cursors(stack)
    # forget that any event was seen: every producer delivers everything again
    stack.psql("DELETE FROM notifications.processed_events; "
               "UPDATE notifications.consumer_cursors SET cursor = '0:0'")
    # every consumer back where it was (or further): each event it had seen, seen again
    _wait("the events applied again", lambda: all(
        now.get(producer, (0, 0)) >= at for now in [_cursors(stack)] for producer, at in cursors.items()),
        timeout=30)
    assert _count(stack, "SELECT count(*) FROM notifications.processed_events") >= n_events
    assert _count(stack, "SELECT count(*) FROM notifications.notifications") == before
    assert len(_about(stack, "manager", S["t1"]["id"], "ticket.created")) == 1
    assert len(_about(stack, "tech", S["t1"]["id"], "ticket.assigned")) == 1


# ---------------------------------------------------------------- inbox

def test_unread_count_and_read_marks(stack):
    t2 = _ticket(stack, "楼道灯不亮")
    _wait("second ticket", lambda: _about(stack, "manager", t2["id"], "ticket.created"))
    unread = _ok(_as(stack, "manager", "GET", "/v1/notifications/unread-count"), 200, "count")
    assert unread == {"unread": 2}, unread
    page = _inbox(stack, "manager", "?limit=1")
    assert len(page["items"]) == 1 and page["next_cursor"], page
    newest = page["items"][0]
    assert newest["link"]["ticket_id"] == t2["id"], "newest first: %r" % newest
    page2 = _inbox(stack, "manager", "?limit=1&cursor=" + page["next_cursor"])
    assert page2["items"][0]["link"]["ticket_id"] == S["t1"]["id"], page2
    assert page2["next_cursor"] is None, page2
    # mark one read; again: the same answer
    r1 = _ok(_as(stack, "manager", "POST", "/v1/notifications/%s/read" % newest["id"]), 200, "read")
    assert r1["read"] is True and r1["read_at"] and r1["id"] == newest["id"], r1
    r2 = _ok(_as(stack, "manager", "POST", "/v1/notifications/%s/read" % newest["id"]), 200, "read again")
    assert r2["read_at"] == r1["read_at"], (r1, r2)
    assert _ok(_as(stack, "manager", "GET", "/v1/notifications/unread-count"), 200, "count") == {"unread": 1}
    only_unread = _inbox(stack, "manager", "?unread=true")["items"]
    assert [i["id"] for i in only_unread] == [page2["items"][0]["id"]], only_unread
    # read marks are per user: the other manager still has both unread
    assert _ok(_as(stack, "manager2", "GET", "/v1/notifications/unread-count"), 200, "count") == {"unread": 2}
    # not yours: 404, and nothing marked
    _error(_as(stack, "tech", "POST", "/v1/notifications/%s/read" % newest["id"]), 404, "not_found", "tech")
    _error(_as(stack, "other_manager", "POST", "/v1/notifications/%s/read" % newest["id"]), 404, "not_found",
           "other property")
    _error(_as(stack, "manager", "POST", "/v1/notifications/not-a-uuid/read"), 404, "not_found", "bad id")
    _error(_as(stack, "manager", "POST", "/v1/notifications/%s/read" % S["parties"]["A"]), 404, "not_found",
           "no such id")
    assert _count(stack, "SELECT count(*) FROM notifications.notification_reads WHERE user_id = '%s'"
                  % S["ids"]["tech"]) == 0
    # the technician's own notification is not the manager's either
    mine = _about(stack, "tech", S["t1"]["id"], "ticket.assigned")[0]
    _error(_as(stack, "manager", "POST", "/v1/notifications/%s/read" % mine["id"]), 404, "not_found", "tech's")
    # bad parameters
    for q in ("?limit=0", "?limit=501", "?limit=x", "?cursor=zzz", "?unread=maybe", "?property_id=nope"):
        _error(_as(stack, "manager", "GET", "/v1/notifications" + q), 422, "validation_failed", q)
    assert _inbox(stack, "manager", "?property_id=" + S["p2"])["items"] == []
    # read-all
    assert _ok(_as(stack, "manager2", "POST", "/v1/notifications/read-all"), 200, "read-all") == {"marked": 2}
    assert _ok(_as(stack, "manager2", "POST", "/v1/notifications/read-all"), 200, "read-all") == {"marked": 0}
    assert _ok(_as(stack, "manager2", "GET", "/v1/notifications/unread-count"), 200, "count") == {"unread": 0}
    assert _ok(_as(stack, "manager", "GET", "/v1/notifications/unread-count"), 200, "count") == {"unread": 1}


# ---------------------------------------------------------------- rules

def test_rules_mute_a_type(stack):
    p1 = S["p1"]
    rules = _ok(_as(stack, "manager", "GET", _p(p1, "/notification-rules")), 200, "rules")
    created = [r for r in rules["rules"] if r["event_type"] == "ticket.created"]
    # and, since migration 010 (issue K item 7), the ticket's party: 受理 on their preferred channel
    assert created == [{"event_type": "ticket.created", "recipient": "managers", "channels": ["inbox"],
                        "source": "default"},
                       {"event_type": "ticket.created", "recipient": "party", "channels": ["preferred"],
                        "source": "default"}], created
    put = _ok(_as(stack, "manager", "PUT", _p(p1, "/notification-rules"),
                  {"rules": [{"event_type": "ticket.created", "recipient": "managers", "channels": []}]}),
              200, "mute")
    created = [r for r in put["rules"] if r["event_type"] == "ticket.created"]
    assert created == [{"event_type": "ticket.created", "recipient": "managers", "channels": [],
                        "source": "property"}], created
    assert any(r["event_type"] == "ticket.assigned" and r["source"] == "default" for r in put["rules"]), put
    # another property keeps the defaults
    other = _ok(_as(stack, "other_manager", "GET", _p(S["p2"], "/notification-rules")), 200, "rules P2")
    assert all(r["source"] == "default" for r in other["rules"]), other

    t = _ticket(stack, "静音测试")
    _assign(stack, t["id"], "tech")
    # the assignment comes after the creation in the same stream: once it is
    # here, the creation was applied too
    _wait("the assignment", lambda: _about(stack, "tech", t["id"], "ticket.assigned"))
    assert _about(stack, "manager", t["id"], "ticket.created") == [], "muted type reached the managers"

    bad = [({"rules": [{"event_type": "ticket.nope", "recipient": "managers", "channels": []}]},
            "rules[0].event_type"),
           ({"rules": [{"event_type": "ticket.created", "recipient": "boss", "channels": []}]},
            "rules[0].recipient"),
           ({"rules": [{"event_type": "bill.issued", "recipient": "bill_to", "channels": ["fax"]}]},
            "rules[0].channels[0]"),
           ({"rules": [{"event_type": "ticket.created", "recipient": "managers", "channels": ["sms"]}]},
            "rules[0].channels[0]"),
           ({"rules": "all"}, "rules"),
           ([], "body")]
    for body, field in bad:
        err = _error(_as(stack, "manager", "PUT", _p(p1, "/notification-rules"), body), 422,
                     "validation_failed", "bad rules %r" % (body,))
        assert field in [d["field"] for d in err["details"]], (field, err)
    _error(_as(stack, "agent", "PUT", _p(p1, "/notification-rules"), {"reset": ["ticket.created"]}), 403,
           "forbidden", "agent")
    _error(_as(stack, "other_manager", "GET", _p(p1, "/notification-rules")), 404, "not_found", "other property")
    # back to the defaults
    put = _ok(_as(stack, "manager", "PUT", _p(p1, "/notification-rules"), {"reset": ["ticket.created"]}),
              200, "reset")
    assert all(r["source"] == "default" for r in put["rules"]), put


# ---------------------------------------------------------------- templates

def test_template_override(stack):
    p1 = S["p1"]
    path = _p(p1, "/notification-templates/ticket.created/zh-CN")
    lst = _ok(_as(stack, "manager", "GET", _p(p1, "/notification-templates?event_type=ticket.created")),
              200, "templates")
    assert [(i["locale"], i["source"]) for i in lst["items"]] == [("zh-CN", "default"), ("en", "default")], lst
    assert "number" in lst["items"][0]["placeholders"] and "amount" not in lst["items"][0]["placeholders"], lst

    err = _error(_as(stack, "manager", "PUT", path, {"title": "新单 {{number}}", "body": "{{foo}} 和 {{title}}"}),
                 422, "validation_failed", "unknown placeholder")
    assert err["details"][0]["field"] == "body" and "{{foo}}" in err["details"][0]["problem"], err
    err = _error(_as(stack, "manager", "PUT", path, {"title": "新单 {{number", "body": "x"}),
                 422, "validation_failed", "unterminated")
    assert err["details"][0]["field"] == "title" and "unterminated" in err["details"][0]["problem"], err
    _error(_as(stack, "manager", "PUT", path, {"title": "", "body": "x"}), 422, "validation_failed", "empty")
    # an unknown type or locale: 422, as for the same in a rules body or a filter
    err = _error(_as(stack, "manager", "PUT", _p(p1, "/notification-templates/ticket.nope/zh-CN"),
                     {"title": "x", "body": "y"}), 422, "validation_failed", "unknown type")
    assert err["details"][0]["field"] == "event_type", err
    err = _error(_as(stack, "manager", "DELETE", _p(p1, "/notification-templates/ticket.created/fr")),
                 422, "validation_failed", "unknown locale")
    assert err["details"][0]["field"] == "locale", err
    _error(_as(stack, "other_manager", "PUT", path, {"title": "x", "body": "y"}), 404, "not_found",
           "another property's")
    _error(_as(stack, "agent", "PUT", path, {"title": "x", "body": "y"}), 403, "forbidden", "agent")

    put = _ok(_as(stack, "manager", "PUT", path, {"title": "【新单】{{number}}", "body": "{{title}}\n位置：{{ unit_code }}"}),
              200, "override")
    assert put["source"] == "property" and put["title"] == "【新单】{{number}}" and put["updated_at"], put
    t = _ticket(stack, "水管漏水")
    it = _wait("the new text", lambda: _about(stack, "manager", t["id"], "ticket.created"))[0]
    assert it["title"] == "【新单】%s" % t["number"], it
    assert it["body"] == "水管漏水\n位置：A-0101", it
    # the other property still uses the default
    lst = _ok(_as(stack, "other_manager", "GET", _p(S["p2"], "/notification-templates?locale=zh-CN")), 200, "P2")
    assert all(i["source"] == "default" for i in lst["items"]), lst
    # back to the default
    d = _ok(_as(stack, "manager", "DELETE", path), 200, "reset")
    assert d["source"] == "default" and d["title"] == "新工单 {{number}}：{{title}}", d
    _error(_as(stack, "manager", "GET", _p(p1, "/notification-templates?locale=fr")), 422,
           "validation_failed", "bad filter")


# ---------------------------------------------------------------- times, escalation

def test_times_in_the_property_zone(stack):
    t = S["t1"]                                # P1: created without a zone, so Asia/Shanghai
    assert stack.psql("SELECT timezone FROM notifications.properties WHERE id = '%s'" % S["p1"]) == \
        [("Asia/Shanghai",)]
    it = _about(stack, "manager", t["id"], "ticket.created")[0]
    respond, resolve = _local(t["sla"]["respond_by"], "Asia/Shanghai"), _local(t["sla"]["resolve_by"], "Asia/Shanghai")
    assert "响应时限 %s，处理时限 %s。" % (respond, resolve) in it["body"], (it["body"], respond, resolve)
    assert "T" not in it["body"] and "Z" not in it["body"], it["body"]
    mine = _about(stack, "tech", t["id"], "ticket.assigned")[0]
    assert mine["body"].endswith("请于 %s 前响应。" % respond), mine

    # a property in Europe/London: the same kind of ticket, London's wall time
    tag = secrets.token_hex(3).upper()
    p3 = _ok(_admin(stack, "POST", "/v1/properties", {"code": "NT3-" + tag, "name": "London Court",
                                                       "timezone": "Europe/London"}), 201, "P3")["id"]
    _wait("P3's zone", lambda: stack.psql("SELECT timezone FROM notifications.properties WHERE id = '%s'" % p3)
          == [("Europe/London",)])
    unit = _ok(_admin(stack, "POST", _p(p3, "/units"), {"code": "L-0101", "area_m2": 80, "use": "residential"}),
               201, "P3 unit")["id"]
    lt = _ok(_admin(stack, "POST", _p(p3, "/tickets"),
                    {"type": "repair", "title": "Boiler", "unit_id": unit, "priority": "urgent"}), 201, "P3 ticket")

    def admins():
        r = _ok(_admin(stack, "GET", "/v1/notifications?limit=500&property_id=" + p3), 200, "admin inbox")
        return [i for i in r["items"] if i["link"].get("ticket_id") == lt["id"]]
    it = _wait("P3's notification", admins)[0]
    london, shanghai = _local(lt["sla"]["respond_by"], "Europe/London"), _local(lt["sla"]["respond_by"], "Asia/Shanghai")
    assert london != shanghai
    assert "响应时限 %s，" % london in it["body"] and shanghai not in it["body"], (it["body"], london)
    # a zone nobody knows (an event not from tenants' API) falls back to the default, never stalls the stream
    stack.psql("INSERT INTO tenants.outbox (type, property_id, data) VALUES ('property.created', "
               "'00000000-0000-4000-8000-00000000abcd', '{\"id\": \"00000000-0000-4000-8000-00000000abcd\", "
               "\"timezone\": \"Mars/Olympus\"}')")
    _wait("the odd zone", lambda: stack.psql(
        "SELECT timezone FROM notifications.properties WHERE id = '00000000-0000-4000-8000-00000000abcd'")
        == [("Asia/Shanghai",)])


def test_escalation_reaches_the_user(stack):
    p1 = S["p1"]
    rules = _ok(_as(stack, "manager", "GET", _p(p1, "/notification-rules")), 200, "rules")
    esc = sorted((r["recipient"], r["channels"], r["source"]) for r in rules["rules"]
                 if r["event_type"] == "ticket.escalated")
    assert esc == [("escalated_to", ["inbox"], "default"), ("managers", ["inbox"], "default")], esc

    def complaint(title):
        c = _ok(_as(stack, "agent", "POST", _p(p1, "/tickets"),
                    {"type": "complaint", "title": title, "unit_id": S["units"]["A"], "priority": "low"}),
                201, "complaint " + title)
        _ok(_as(stack, "agent", "POST", _p(p1, "/tickets/%s/actions" % c["id"]), {"action": "accept"}), 200, "accept")
        return c

    # to a user (here a technician, who is not a manager): their inbox, and the managers'
    c = complaint("噪音投诉")
    _ok(_as(stack, "agent", "POST", _p(p1, "/tickets/%s/actions" % c["id"]),
            {"action": "escalate", "assignee_id": S["ids"]["tech"], "note": "业主多次投诉"}), 200, "escalate")
    mine = _wait("the technician's escalation", lambda: _about(stack, "tech", c["id"], "ticket.escalated"))
    assert len(mine) == 1 and mine[0]["title"] == "工单 %s 已升级：噪音投诉" % c["number"], mine
    assert "业主多次投诉" in mine[0]["body"], mine
    _wait("the managers' escalation", lambda: _about(stack, "manager", c["id"], "ticket.escalated"))
    rows = stack.psql("SELECT recipient_kind, recipient, channel FROM notifications.notifications "
                      "WHERE link->>'ticket_id' = '%s' AND event_type = 'ticket.escalated' ORDER BY 1" % c["id"])
    assert rows == [("role", "manager", "inbox"), ("user", S["ids"]["tech"], "inbox")], rows
    assert _about(stack, "manager2", c["id"], "ticket.escalated")[0]["id"] != mine[0]["id"]

    # to "the managers": the role only, no user row
    c2 = complaint("停车纠纷")
    _ok(_as(stack, "agent", "POST", _p(p1, "/tickets/%s/actions" % c2["id"]),
            {"action": "escalate", "note": "需经理处理"}), 200, "escalate to the managers")
    _wait("the managers' escalation", lambda: _about(stack, "manager", c2["id"], "ticket.escalated"))
    rows = stack.psql("SELECT recipient_kind, recipient FROM notifications.notifications "
                      "WHERE link->>'ticket_id' = '%s' AND event_type = 'ticket.escalated'" % c2["id"])
    assert rows == [("role", "manager")], rows

    # the recipient is a rule like any other: a property can mute it, staff get the inbox only
    err = _error(_as(stack, "manager", "PUT", _p(p1, "/notification-rules"),
                     {"rules": [{"event_type": "ticket.escalated", "recipient": "escalated_to", "channels": ["sms"]}]}),
                 422, "validation_failed", "sms to staff")
    assert err["details"][0]["field"] == "rules[0].channels[0]", err
    _ok(_as(stack, "manager", "PUT", _p(p1, "/notification-rules"),
            {"rules": [{"event_type": "ticket.escalated", "recipient": "managers", "channels": ["inbox"]}]}),
        200, "managers only")
    c3 = complaint("垃圾清运")
    _ok(_as(stack, "agent", "POST", _p(p1, "/tickets/%s/actions" % c3["id"]),
            {"action": "escalate", "assignee_id": S["ids"]["tech"]}), 200, "escalate c3")
    _wait("c3 escalated", lambda: _about(stack, "manager", c3["id"], "ticket.escalated"))
    assert _about(stack, "tech", c3["id"], "ticket.escalated") == [], "a rule the property removed"
    _ok(_as(stack, "manager", "PUT", _p(p1, "/notification-rules"), {"reset": ["ticket.escalated"]}), 200, "reset")


# ---------------------------------------------------------------- residents

# what this module decides; anything else on an sms/email row is the sender's later outcome
E1_REASONS = ("opted out", "no phone number", "no email address")


def _handed_to_sender(status, error):
    """Queued for the sender (E2), which may already have moved it on
    (sent, failed, or not_sent for want of a provider): not one of ours."""
    return status in ("queued", "sent", "failed") or (status == "not_sent" and error not in E1_REASONS)


def _resident_rows(stack, event_type, party):
    return stack.psql("SELECT channel, status, coalesce (address, ''), coalesce (last_error, ''), locale, title "
                      "FROM notifications.notifications WHERE event_type = '%s' AND recipient_kind = 'party' "
                      "AND recipient = '%s' ORDER BY channel" % (event_type, party))


def test_bill_issued_to_owners_by_preference(stack):
    p1 = S["p1"]
    _ok(_admin(stack, "POST", _p(p1, "/fee-items"),
               {"code": "MGMT", "name": "物业管理费", "basis": "fixed", "unit_price": 123456,
                "applies_to": ["residential"], "effective_from": "2026-01-01"}), 201, "fee item")
    # billing learns the units and occupancies from tenants' events too
    _wait("billing's copy", lambda: _count(
        stack, "SELECT count(*) FROM billing.occupancies WHERE property_id = '%s'" % p1) == 3)
    run = _ok(_admin(stack, "POST", _p(p1, "/billing-runs"), {"period": "2026-10"}), 201, "run")
    assert run["bills_created"] == 3, run
    pa = S["parties"]
    _wait("the bills' notifications", lambda: _count(
        stack, "SELECT count(*) FROM notifications.notifications WHERE event_type = 'bill.issued'") >= 6)
    a = _resident_rows(stack, "bill.issued", pa["A"])
    assert [(c, ad) for c, _, ad, _, _, _ in a] == [("email", "wangfang@example.com"), ("inbox", "")], a
    assert _handed_to_sender(a[0][1], a[0][3]) and a[1][1:4] == ("delivered", "", ""), a
    assert a[0][5] == "2026年10月账单：¥1,234.56", a
    # the period and the due date as people write them
    body = stack.psql("SELECT body FROM notifications.notifications WHERE event_type = 'bill.issued' "
                      "AND recipient = '%s' AND channel = 'inbox'" % pa["A"])[0][0]
    assert re.fullmatch(r"A-0101 2026年10月账单金额 ¥1,234\.56，请于 \d{4}年\d{1,2}月\d{1,2}日 前缴纳。", body), body
    # opted out: the channel it would have used is written, not sent
    b = _resident_rows(stack, "bill.issued", pa["B"])
    assert [(c, s, e) for c, s, _, e, _, _ in b] == [("inbox", "delivered", ""),
                                                     ("sms", "not_sent", "opted out")], b
    # English
    c = _resident_rows(stack, "bill.issued", pa["C"])
    assert [(ch, ad, lo) for ch, _, ad, _, lo, _ in c] == [("email", "alice@example.com", "en"), ("inbox", "", "en")], c
    assert _handed_to_sender(c[0][1], c[0][3]) and c[1][1] == "delivered", c
    assert c[0][5] == "Your Oct 2026 bill: CNY 1,234.56", c
    body = stack.psql("SELECT body FROM notifications.notifications WHERE event_type = 'bill.issued' "
                      "AND recipient = '%s' AND channel = 'inbox'" % pa["C"])[0][0]
    assert re.fullmatch(r"The Oct 2026 bill of C-0101 is CNY 1,234\.56, due on \d{1,2} [A-Z][a-z]{2} \d{4}\.", body), body


def test_payment_received_to_owner_of_record(stack):
    p1, pa = S["p1"], S["parties"]
    pay = _ok(_admin(stack, "POST", _p(p1, "/payments"),
                     {"unit_id": S["units"]["A"], "amount": 100000, "method": "wechat"}), 201, "payment")
    rows = _wait("the payment's notifications", lambda: _resident_rows(stack, "payment.received", pa["A"]))
    assert [c for c, _, _, _, _, _ in rows] == ["email", "inbox"], rows
    assert _handed_to_sender(rows[0][1], rows[0][3]) and rows[1][1] == "delivered", rows
    assert rows[0][5] == "收款确认：¥1,000.00", rows
    link = stack.psql("SELECT link::text FROM notifications.notifications WHERE event_type = 'payment.received' "
                      "AND channel = 'inbox'")[0][0]
    assert pay["id"] in link and S["units"]["A"] in link, link
    # a party whose address is unknown: not sent, with the reason
    stack.psql("UPDATE notifications.preferences SET channels = '{email}' WHERE party_id = '%s'" % pa["B"])
    stack.psql("UPDATE notifications.preferences SET opt_out = false WHERE party_id = '%s'" % pa["B"])
    _ok(_admin(stack, "POST", _p(p1, "/payments"),
               {"unit_id": S["units"]["B"], "amount": 500, "method": "cash"}), 201, "payment B")
    rows = _wait("B's payment notifications", lambda: _resident_rows(stack, "payment.received", pa["B"]))
    assert [(c, s, e) for c, s, _, e, _, _ in rows] == [("email", "not_sent", "no email address"),
                                                        ("inbox", "delivered", "")], rows


def test_resolved_reaches_the_party_and_the_front_desk(stack):
    p1, pa = S["p1"], S["parties"]
    t = _ok(_as(stack, "agent", "POST", _p(p1, "/tickets"),
                {"type": "repair", "title": "门锁损坏", "unit_id": S["units"]["C"], "party_id": pa["C"]}),
            201, "ticket with a party")
    _assign(stack, t["id"], "tech")
    for action in ("start", "resolve"):
        _ok(_as(stack, "tech", "POST", _p(p1, "/tickets/%s/actions" % t["id"]), {"action": action}), 200, action)
    items = _wait("the front desk's notification", lambda: _about(stack, "agent", t["id"], "ticket.resolved"))
    assert len(items) == 1 and items[0]["title"] == "您的工单 %s 已处理完成" % t["number"], items
    # the resident (English, email preferred) on the preferred channel and in their inbox
    rows = _resident_rows(stack, "ticket.resolved", pa["C"])
    assert [(c, ad, lo) for c, _, ad, _, lo, _ in rows] == [("email", "alice@example.com", "en"), ("inbox", "", "en")], rows
    assert rows[0][5] == "Your request %s is resolved" % t["number"], rows
    assert _handed_to_sender(rows[0][1], rows[0][3]), rows

def test_english_template_override(stack):
    """A property's English text for ticket.resolved reaches the English-reading resident; the
    front desk (zh-CN) keeps the default; deleting it restores the default."""
    p1, pa = S["p1"], S["parties"]
    path = _p(p1, "/notification-templates/ticket.resolved/en")
    put = _ok(_as(stack, "manager", "PUT", path, {"title": "Fixed: {{number}}", "body": "{{title}} is done."}),
              200, "English override")
    assert put["source"] == "property" and put["locale"] == "en" and put["title"] == "Fixed: {{number}}", put
    t = _ok(_as(stack, "agent", "POST", _p(p1, "/tickets"),
                {"type": "repair", "title": "Door bell", "unit_id": S["units"]["C"], "party_id": pa["C"]}),
            201, "ticket with a party")
    _assign(stack, t["id"], "tech")
    for action in ("start", "resolve"):
        _ok(_as(stack, "tech", "POST", _p(p1, "/tickets/%s/actions" % t["id"]), {"action": action}), 200, action)
    items = _wait("the front desk's notification", lambda: _about(stack, "agent", t["id"], "ticket.resolved"))
    assert items[0]["title"] == "您的工单 %s 已处理完成" % t["number"], items    # zh-CN: the default
    rows = _wait("Alice's rows", lambda: stack.psql(
        "SELECT channel, locale, title, body FROM notifications.notifications WHERE event_type = 'ticket.resolved'"
        " AND recipient = '%s' AND link->>'ticket_id' = '%s' ORDER BY channel" % (pa["C"], t["id"])))
    assert rows == [("email", "en", "Fixed: %s" % t["number"], "Door bell is done."),
                    ("inbox", "en", "Fixed: %s" % t["number"], "Door bell is done.")], rows
    d = _ok(_as(stack, "manager", "DELETE", path), 200, "reset")
    assert d["source"] == "default" and d["locale"] == "en" and d["title"] != put["title"], d


def test_odd_events_do_not_stall_the_stream(stack):
    """Events whose data is not what events.md says (written straight into
    the producers' outboxes) are passed over; the stream goes on."""
    p1 = S["p1"]
    stack.psql(
        "INSERT INTO tickets.outbox (type, property_id, data) VALUES "
        "('ticket.created', '%s', '{\"id\": \"zz\", \"assignee_id\": 5, \"party_id\": \"nope\", "
        "  \"unit_id\": [1], \"title\": {\"a\": 1}, \"number\": null}'), "
        "('ticket.assigned', '%s', '{\"assignee_id\": \"%s\", \"sla\": 7}'), "
        "('ticket.created', NULL, '[1, 2]'), "
        "('ticket.weird', '%s', '{}')" % (p1, p1, "x" * 300, p1))
    stack.psql(
        "INSERT INTO tenants.outbox (type, property_id, data) VALUES "
        "('occupancy.started', '%s', '{\"id\": \"bad\", \"unit\": 3}'), "
        "('party.created', '%s', '{\"id\": 42}'), ('unit.created', '%s', 'null')" % (p1, p1, p1))
    stack.psql(
        "INSERT INTO billing.outbox (type, property_id, data) VALUES "
        "('bill.issued', '%s', '{\"bill_to_party_id\": \"nope\", \"amount\": \"lots\", \"unit_id\": null}')"
        % p1)
    t = _ticket(stack, "之后的工单")
    _wait("a ticket after the odd events", lambda: _about(stack, "manager", t["id"], "ticket.created"))
    # the odd ticket.created still told the managers, with what could be read of it
    rows = stack.psql("SELECT title FROM notifications.notifications WHERE event_type = 'ticket.created' "
                      "AND link = jsonb_build_object('property_id', '%s'::text)" % p1)
    assert rows == [("新工单 ：",)], rows
    for producer in ("tenants", "billing"):
        # two statements, not a join: each schema may be in a cluster of its own (PM_SPLIT_DB=1)
        def caught_up(producer=producer):
            ids = [r[0] for r in stack.psql("SELECT id FROM %s.outbox" % producer)]
            return _count(stack, "SELECT count(*) FROM notifications.processed_events WHERE producer = '%s' "
                          "AND event_id = ANY ('{%s}')" % (producer, ",".join(ids))) == len(ids)
        _wait("%s caught up" % producer, caught_up)

# ---------------------------------------------------------------- SLA (last: it moves the tickets' clock)

def test_sla_breach_reaches_assignee_and_managers(stack):
    t = S["t1"]                                # urgent, assigned to the technician
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % (3 * 86400))
    try:
        mine = _wait("the technician's breach", lambda: _about(stack, "tech", t["id"], "ticket.sla_breached"))
        theirs = _wait("the managers' breach", lambda: _about(stack, "manager", t["id"], "ticket.sla_breached"))
    finally:
        stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
    # the deadline missed, in the property's wall time (Asia/Shanghai)
    deadlines = [_local(t["sla"][k], "Asia/Shanghai") for k in ("respond_by", "resolve_by")]
    for it in mine + theirs:
        assert it["title"] == "工单 %s 已超时" % t["number"], it
        assert "电梯异响" in it["body"] and ("响应" in it["body"] or "处理" in it["body"]), it
        assert any(it["body"].endswith("时限 %s。" % d) for d in deadlines), (it["body"], deadlines)
    # one row per deadline and recipient: the user's and the role's
    rows = stack.psql("SELECT recipient_kind, count(*) FROM notifications.notifications "
                      "WHERE link->>'ticket_id' = '%s' AND event_type = 'ticket.sla_breached' "
                      "GROUP BY 1 ORDER BY 1" % t["id"])
    kinds = dict(rows)
    assert set(kinds) == {"role", "user"} and kinds["role"] == kinds["user"], rows
    assert not _about(stack, "other_manager", t["id"], "ticket.sla_breached")
