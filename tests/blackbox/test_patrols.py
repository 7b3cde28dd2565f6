"""test_patrols: patrol routes and rounds (日常巡查, issue L item 1) end to end.

Time is tickets' test clock (PM_TEST_CLOCK=1): each step sets it to a wall time of
the property's zone (Asia/Shanghai) on days in 2030, so that planned times, the
timer and the report are figures worked out by hand below, whatever the real hour.

Covers: routes (create, list, get, PATCH; times sorted; bad input: an empty
checklist, "25:00", a code twice, an unknown field type; a technician may not create
or change one; another property's route 404); a round on the nearest planned time; checks (a failed item
opening a ticket of channel patrol seen in GET tickets, a checkpoint not on the
route 422, an item not on its checklist 422, a checkpoint twice 409, a bad ticket
422 naming ticket.type); a photo of a check read back; finish, then 409 for a
check, a photo and a second finish; the timer with the test clock (one
patrol.missed per route and planned time, none for a time a round answered, in a
manager's inbox; three workers still raise one); the report against the fixture. Tests run in file order and
share S.

The fixture (property zone +08:00; D1 = 2030-03-04):
  D1 00:00  route A "地库巡查" (B1-PUMP: 2 items, B1-FIRE: 1 item), times 15:00, 09:00
  D1 09:05  route B "屋面巡查" (ROOF: 1 item), times 10:00; round A1 starts (planned 09:00):
            B1-PUMP checked, 1 item failed, ticket opened; a photo
  D1 11:05  the ticket resolved (2.0 hours after it opened); A1 finished, B1-FIRE missed
  D1 11:05+ the timer: B at 10:00 missed (A at 09:00 was answered by A1)
  D1 15:31  the timer: A at 15:00 missed
  D1 15:40  round A2 (planned 15:00): both checkpoints, all ok; finished
  D2 00:10  report D1..D2: A planned 2 (D2's times are not due yet), done 2, missed 1,
            checkpoints_missed 1, failed_items 1, tickets_opened 1, tickets_closed 1,
            median 2.0 h; B planned 1 (created 09:05, before 10:00), done 0, missed 1.
"""

import calendar
import re
import secrets
import time

from api import error, fields, ok, staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1", "PM_PATROL_TICK_MS": "200"})

S = {}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8 + b"\x00IEND"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

ROUTE_A = {
    "name": "地库巡查",
    "checkpoints": [
        {"code": "B1-PUMP", "name": "B1 水泵房", "checklist": ["无渗漏", "设备运行正常"]},
        {"code": "B1-FIRE", "name": "B1 消防通道", "checklist": ["通道畅通"]},
    ],
    "times": ["15:00", "09:00"],
}


def _p(rest, pid=None):
    return "/v1/properties/%s/%s" % (pid or S["p1"], rest)


def _as(stack, who, method, path, body=None, **kw):
    return stack.http(method, path, body=body, token=S["tokens"][who], **kw)


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.id, u.token


def _clock(stack, day, hh, mm):
    """tickets' clock to 2030-03-<day> hh:mm (+08:00), a few seconds after."""
    target = calendar.timegm((2030, 3, day, hh, mm, 0)) - 8 * 3600 + 2
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d" % int(target - time.time()))


def _utc(day, hh, mm):
    """The RFC 3339 text of 2030-03-<day> hh:mm +08:00 as the API prints it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm((2030, 3, day, hh, mm, 0)) - 8 * 3600))


def _wait(what, fn, timeout=15):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


def _missed(stack):
    """patrol.missed events in tickets' outbox: (route_id, planned_at) pairs."""
    rows = stack.psql("SELECT data->>'route_id', data->>'planned_at', data->>'name', property_id::text "
                      "FROM tickets.outbox WHERE type = 'patrol.missed' ORDER BY seq")
    return [tuple(r) for r in rows]


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    S["p1"] = ok(stack.http("POST", "/v1/properties", token=adm,
                            body={"code": "PT1-" + tag, "name": "华贸中心", "timezone": "Asia/Shanghai"}),
                 201, "P1")["id"]
    S["p2"] = ok(stack.http("POST", "/v1/properties", token=adm,
                            body={"code": "PT2-" + tag, "name": "滨江花园", "timezone": "Asia/Shanghai"}),
                 201, "P2")["id"]
    S["tokens"] = {"admin": adm}
    S["ids"] = {}
    for role in ("manager", "agent", "technician"):
        S["ids"][role], S["tokens"][role] = _user(stack, role, [S["p1"]])
    S["ids"]["manager2"], S["tokens"]["manager2"] = _user(stack, "manager", [S["p2"]])
    _clock(stack, 4, 0, 0)


# ---------------------------------------------------------------- routes
def test_route_create_and_read(stack):
    r = ok(_as(stack, "manager", "POST", _p("patrol-routes"), ROUTE_A), 201, "route A")
    assert UUID.match(r["id"]), r
    assert r["times"] == ["09:00", "15:00"], r["times"]
    assert r["active"] is True and r["name"] == "地库巡查", r
    assert [c["code"] for c in r["checkpoints"]] == ["B1-PUMP", "B1-FIRE"], r["checkpoints"]
    assert r["checkpoints"][0]["checklist"] == ["无渗漏", "设备运行正常"], r["checkpoints"]
    S["route_a"] = r["id"]
    got = ok(_as(stack, "technician", "GET", _p("patrol-routes/" + r["id"])), 200, "route get")
    assert got == r, (got, r)
    items = ok(_as(stack, "agent", "GET", _p("patrol-routes")), 200, "route list")["items"]
    assert [x["id"] for x in items] == [r["id"]], items
    # a technician walks routes, a manager makes them
    error(_as(stack, "technician", "POST", _p("patrol-routes"), ROUTE_A), 403, "forbidden", "technician creates")
    error(_as(stack, "technician", "PATCH", _p("patrol-routes/" + r["id"]), {"name": "x"}), 403, "forbidden",
          "technician changes")


def test_route_bad_input(stack):
    def bad(body, field, what):
        err = error(_as(stack, "manager", "POST", _p("patrol-routes"), body), 422, "validation_failed", what)
        assert field in fields(err), (what, err)

    cp = ROUTE_A["checkpoints"]
    bad(dict(ROUTE_A, checkpoints=[{"code": "X", "name": "X", "checklist": []}]), "checkpoints[0].checklist",
        "empty checklist")
    bad(dict(ROUTE_A, times=["25:00"]), "times[0]", "25:00")
    bad(dict(ROUTE_A, times=["9:00"]), "times[0]", "9:00")
    bad(dict(ROUTE_A, times=["09:00", "09:00"]), "times[1]", "a time twice")
    bad(dict(ROUTE_A, checkpoints=[cp[0], dict(cp[1], code="B1-PUMP")]), "checkpoints[1].code", "a code twice")
    bad(dict(ROUTE_A, checkpoints=[]), "checkpoints", "no checkpoints")
    bad({"checkpoints": cp, "times": []}, "name", "no name")
    bad(dict(ROUTE_A, checkpoints=[dict(cp[0], checklist=["a", "a"])]), "checkpoints[0].checklist[1]",
        "an item twice")
    err = error(_as(stack, "manager", "PATCH", _p("patrol-routes/" + S["route_a"]), {}), 422,
                "validation_failed", "empty PATCH")
    assert "body" in fields(err), err
    # nothing half-written
    items = ok(_as(stack, "manager", "GET", _p("patrol-routes")), 200, "route list")["items"]
    assert len(items) == 1, items


def test_route_patch(stack):
    rid = S["route_a"]
    r = ok(_as(stack, "manager", "PATCH", _p("patrol-routes/" + rid), {"name": "地库日常巡查"}), 200, "rename")
    assert r["name"] == "地库日常巡查" and r["times"] == ["09:00", "15:00"], r
    assert len(r["checkpoints"]) == 2, r
    # checkpoints are replaced as a whole; times kept
    tmp = ok(_as(stack, "manager", "POST", _p("patrol-routes"),
                 {"name": "临时", "checkpoints": [{"code": "K", "name": "K", "checklist": ["a"]}], "times": []}),
             201, "route tmp")
    r = ok(_as(stack, "manager", "PATCH", _p("patrol-routes/" + tmp["id"]),
               {"checkpoints": [{"code": "K2", "name": "K2", "checklist": ["b", "c"]}], "active": False}),
           200, "replace checkpoints")
    assert [c["code"] for c in r["checkpoints"]] == ["K2"] and r["active"] is False, r
    S["route_tmp"] = tmp["id"]
    inactive = ok(_as(stack, "manager", "GET", _p("patrol-routes?active=false")), 200, "inactive")["items"]
    assert [x["id"] for x in inactive] == [tmp["id"]], inactive
    # a round on an inactive route: 409
    error(_as(stack, "technician", "POST", _p("patrols"), {"route_id": tmp["id"]}), 409, "conflict",
          "inactive route")


def test_another_property(stack):
    rid = S["route_a"]
    error(_as(stack, "admin", "GET", _p("patrol-routes/" + rid, S["p2"])), 404, "not_found", "route via P2")
    error(_as(stack, "admin", "PATCH", _p("patrol-routes/" + rid, S["p2"]), {"name": "x"}), 404, "not_found",
          "patch via P2")
    error(_as(stack, "manager2", "GET", _p("patrol-routes/" + rid)), 404, "not_found", "P2's manager on P1")
    error(_as(stack, "admin", "POST", _p("patrols", S["p2"]), {"route_id": rid}), 404, "not_found",
          "a round on P1's route in P2")
    items = ok(_as(stack, "manager2", "GET", _p("patrol-routes", S["p2"])), 200, "P2 routes")["items"]
    assert items == [], items


# ---------------------------------------------------------------- a round
def test_round_with_checks(stack):
    _clock(stack, 4, 9, 5)
    b = ok(_as(stack, "manager", "POST", _p("patrol-routes"),
               {"name": "屋面巡查", "checkpoints": [{"code": "ROOF", "name": "屋面", "checklist": ["排水通畅"]}],
                "times": ["10:00"]}), 201, "route B")
    S["route_b"] = b["id"]
    error(_as(stack, "technician", "POST", _p("patrols"), {}), 422, "validation_failed", "no route_id")
    err = error(_as(stack, "technician", "POST", _p("patrols"),
                    {"route_id": S["route_a"], "planned_at": _utc(4, 10, 0)}), 422, "validation_failed",
                "a time the route does not plan")
    assert "planned_at" in fields(err), err
    rnd = ok(_as(stack, "technician", "POST", _p("patrols"), {"route_id": S["route_a"]}), 201, "round A1")
    assert rnd["status"] == "in_progress" and UUID.match(rnd["id"]), rnd
    assert rnd["planned_at"] == _utc(4, 9, 0), rnd["planned_at"]
    assert rnd["started_by"] == S["ids"]["technician"], rnd
    assert rnd["missing"] == ["B1-PUMP", "B1-FIRE"] and rnd["checks"] == [], rnd
    S["a1"] = rnd["id"]
    path = _p("patrols/%s/checks" % rnd["id"])

    def bad(body, field, what):
        err = error(_as(stack, "technician", "POST", path, body), 422, "validation_failed", what)
        assert field in fields(err), (what, err)

    bad({"checkpoint_code": "B9-NOPE", "results": [{"item": "无渗漏", "ok": True}]}, "checkpoint_code",
        "checkpoint not on the route")
    bad({"checkpoint_code": "B1-PUMP", "results": [{"item": "灯具完好", "ok": True}]}, "results[0].item",
        "item not on the checklist")
    bad({"checkpoint_code": "B1-PUMP", "results": []}, "results", "no results")
    bad({"checkpoint_code": "B1-PUMP", "results": [{"item": "无渗漏", "ok": "yes"}]}, "results[0].ok", "ok text")
    bad({"checkpoint_code": "B1-PUMP", "results": [{"item": "无渗漏", "ok": False}],
         "ticket": {"type": "nonsense", "title": "x"}}, "ticket.type", "bad ticket type")
    before = stack.psql("SELECT count(*) FROM tickets.tickets WHERE channel = 'patrol'")[0][0]
    assert before == "0", before

    c = ok(_as(stack, "technician", "POST", path,
               {"checkpoint_code": "B1-PUMP",
                "results": [{"item": "无渗漏", "ok": False, "note": "水泵接口滴水"}, {"item": "设备运行正常", "ok": True}],
                "ticket": {"type": "repair", "title": "B1 水泵接口滴水", "priority": "high"}}), 201, "check")
    assert c["failed_items"] == 1 and UUID.match(c["ticket_id"] or ""), c
    assert c["results"][0] == {"item": "无渗漏", "ok": False, "note": "水泵接口滴水"}, c["results"]
    S["check"], S["ticket"] = c["id"], c["ticket_id"]
    error(_as(stack, "technician", "POST", path,
              {"checkpoint_code": "B1-PUMP", "results": [{"item": "无渗漏", "ok": True}]}), 409, "conflict",
          "the same checkpoint twice")
    # the ticket: channel patrol, in the desk's list, ticket.created through the outbox
    t = ok(_as(stack, "manager", "GET", _p("tickets/" + c["ticket_id"])), 200, "patrol ticket")
    assert t["channel"] == "patrol" and t["type"] == "repair" and t["priority"] == "high", t
    assert c["ticket_number"] == t["number"] and t["requester_kind"] == "internal", (c, t)
    assert "水泵接口滴水" in (t.get("description") or ""), t.get("description")
    listed = ok(_as(stack, "manager", "GET", _p("tickets?limit=500")), 200, "tickets")["items"]
    assert [x["channel"] for x in listed if x["id"] == c["ticket_id"]] == ["patrol"], listed
    created = stack.psql("SELECT count(*) FROM tickets.outbox WHERE type = 'ticket.created' "
                         "AND data->>'id' = '%s'" % c["ticket_id"])[0][0]
    assert created == "1", created


def test_check_photo(stack):
    path = _p("patrols/%s/checks/%s/attachments" % (S["a1"], S["check"]))
    a = ok(_as(stack, "technician", "POST", path, raw=PNG, headers={"Content-Type": "image/png"}), 201, "photo")
    assert a["size"] == len(PNG) and a["check_id"] == S["check"] and a["round_id"] == S["a1"], a
    r = _as(stack, "agent", "GET", path + "/" + a["id"])
    assert r.status == 200 and r.body == PNG, r
    rnd = ok(_as(stack, "agent", "GET", _p("patrols/" + S["a1"])), 200, "round")
    assert [x["id"] for x in rnd["checks"][0]["attachments"]] == [a["id"]], rnd["checks"]
    error(_as(stack, "agent", "GET", path.replace(S["check"], S["a1"]) + "/" + a["id"]), 404, "not_found",
          "photo under another check")
    error(_as(stack, "admin", "GET", _p("patrols/%s/checks/%s/attachments/%s" % (S["a1"], S["check"], a["id"]),
                                        S["p2"])), 404, "not_found", "photo via P2")


def test_finish_then_read_only(stack):
    _clock(stack, 4, 11, 5)
    tp = _p("tickets/%s/actions" % S["ticket"])
    ok(_as(stack, "manager", "POST", tp, {"action": "accept"}), 200, "accept")
    ok(_as(stack, "manager", "POST", tp, {"action": "resolve", "note": "已更换密封圈"}), 200, "resolve")
    r = ok(_as(stack, "technician", "POST", _p("patrols/%s/finish" % S["a1"])), 200, "finish")
    assert r["status"] == "finished" and r["finished_by"] == S["ids"]["technician"], r
    assert r["missing"] == ["B1-FIRE"], r["missing"]
    error(_as(stack, "technician", "POST", _p("patrols/%s/finish" % S["a1"])), 409, "conflict", "finish twice")
    error(_as(stack, "technician", "POST", _p("patrols/%s/checks" % S["a1"]),
              {"checkpoint_code": "B1-FIRE", "results": [{"item": "通道畅通", "ok": True}]}), 409, "conflict",
          "check after finish")
    error(_as(stack, "technician", "POST", _p("patrols/%s/checks/%s/attachments" % (S["a1"], S["check"])),
              raw=PNG, headers={"Content-Type": "image/png"}), 409, "conflict", "photo after finish")
    error(_as(stack, "admin", "GET", _p("patrols/" + S["a1"], S["p2"])), 404, "not_found", "round via P2")
    error(_as(stack, "admin", "POST", _p("patrols/%s/finish" % S["a1"], S["p2"])), 404, "not_found",
          "finish via P2")


def test_rounds_list(stack):
    items = ok(_as(stack, "agent", "GET", _p("patrols?route_id=%s&status=finished" % S["route_a"])), 200,
               "list")["items"]
    assert [x["id"] for x in items] == [S["a1"]], items
    assert items[0]["checks_done"] == 1 and items[0]["failed_items"] == 1 and items[0]["tickets_opened"] == 1, items
    assert ok(_as(stack, "agent", "GET", _p("patrols?date=2030-03-04")), 200, "day")["items"][0]["id"] == S["a1"]
    assert ok(_as(stack, "agent", "GET", _p("patrols?date=2030-03-05")), 200, "next day")["items"] == []
    assert ok(_as(stack, "agent", "GET", _p("patrols?status=in_progress")), 200, "open")["items"] == []
    for q in ("status=done", "date=2030-13-01", "route_id=nope", "limit=0"):
        error(_as(stack, "agent", "GET", _p("patrols?" + q)), 422, "validation_failed", q)


# ---------------------------------------------------------------- the timer
def test_timer_missed_once(stack):
    # at 11:05, B's 10:00 is late; A's 09:00 was answered by A1
    _wait("B's 10:00 missed", lambda: _missed(stack))
    time.sleep(0.5)
    assert [(r, at) for r, at, _, _ in _missed(stack)] == [(S["route_b"], _utc(4, 10, 0))], _missed(stack)
    _clock(stack, 4, 15, 31)
    want = {(S["route_a"], _utc(4, 15, 0)), (S["route_b"], _utc(4, 10, 0))}
    _wait("two patrol.missed", lambda: len(_missed(stack)) >= 2)
    time.sleep(1.0)                  # several more ticks: still one per planned time
    got = _missed(stack)
    assert {(r, at) for r, at, _, _ in got} == want and len(got) == 2, got
    assert all(pid == S["p1"] for _, _, _, pid in got), got
    assert {n for _, _, n, _ in got} == {"地库日常巡查", "屋面巡查"}, got

    def inbox():
        items = ok(_as(stack, "manager", "GET", "/v1/notifications?limit=500"), 200, "inbox")["items"]
        return [i for i in items if i["event_type"] == "patrol.missed"]
    items = _wait("the manager's inbox", lambda: len(inbox()) >= 2 and inbox())
    assert len(items) == 2, items
    assert any("屋面巡查" in i["title"] for i in items), items
    # another property's manager is not told
    other = ok(_as(stack, "manager2", "GET", "/v1/notifications?limit=500"), 200, "inbox 2")["items"]
    assert not [i for i in other if i["event_type"] == "patrol.missed"], other


def test_second_round_after_alert(stack):
    _clock(stack, 4, 15, 40)
    rnd = ok(_as(stack, "agent", "POST", _p("patrols"), {"route_id": S["route_a"]}), 201, "round A2")
    assert rnd["planned_at"] == _utc(4, 15, 0), rnd
    path = _p("patrols/%s/checks" % rnd["id"])
    ok(_as(stack, "agent", "POST", path, {"checkpoint_code": "B1-FIRE", "results": [{"item": "通道畅通", "ok": True}]}),
       201, "fire")
    c = ok(_as(stack, "agent", "POST", path,
               {"checkpoint_code": "B1-PUMP",
                "results": [{"item": "无渗漏", "ok": True}, {"item": "设备运行正常", "ok": True, "note": ""}]}),
           201, "pump")
    assert c["ticket_id"] is None and c["failed_items"] == 0, c
    ok(_as(stack, "agent", "POST", _p("patrols/%s/finish" % rnd["id"])), 200, "finish A2")
    time.sleep(0.5)
    assert len(_missed(stack)) == 2, _missed(stack)


# ---------------------------------------------------------------- the report
def test_report(stack):
    _clock(stack, 5, 0, 10)
    rep = ok(_as(stack, "technician", "GET", _p("reports/patrol?from=2030-03-04&to=2030-03-05")), 200, "report")
    assert rep["from"] == _utc(4, 0, 0) and rep["to"] == _utc(6, 0, 0), rep
    by = {x["route_id"]: x for x in rep["items"]}
    a, b = by[S["route_a"]], by[S["route_b"]]
    want_a = {"name": "地库日常巡查", "rounds_planned": 2, "rounds_done": 2, "rounds_missed": 1,
              "checkpoints_missed": 1, "failed_items": 1, "tickets_opened": 1, "tickets_closed": 1,
              "ticket_close_hours_median": 2.0}
    want_b = {"name": "屋面巡查", "rounds_planned": 1, "rounds_done": 0, "rounds_missed": 1,
              "checkpoints_missed": 0, "failed_items": 0, "tickets_opened": 0, "tickets_closed": 0,
              "ticket_close_hours_median": None}
    assert {k: a[k] for k in want_a} == want_a, a
    assert {k: b[k] for k in want_b} == want_b, b
    # the inactive route made at D1 00:00 plans nothing
    assert by[S["route_tmp"]]["rounds_planned"] == 0, by[S["route_tmp"]]
    # the day before: nothing planned yet
    rep = ok(_as(stack, "manager", "GET", _p("reports/patrol?from=2030-03-03&to=2030-03-03")), 200, "day before")
    assert all(x["rounds_planned"] == 0 and x["rounds_done"] == 0 for x in rep["items"]), rep
    for q in ("", "?from=2030-03-05&to=2030-03-04", "?from=tomorrow&to=2030-03-04", "?from=2030-01-01&to=2031-06-01"):
        error(_as(stack, "manager", "GET", _p("reports/patrol" + q)), 422, "validation_failed", "report " + q)
    error(_as(stack, "manager2", "GET", _p("reports/patrol?from=2030-03-04&to=2030-03-05")), 404, "not_found",
          "another property's report")


def test_timer_once_whatever_the_workers(stack):
    # three tickets workers, each with its timer: D2's 09:00 (A) and 10:00 (B) missed once each
    for _ in range(2):
        stack.start("tickets")
    time.sleep(1.0)                  # their first ticks
    _clock(stack, 5, 10, 31)
    _wait("D2's two patrol.missed", lambda: len(_missed(stack)) >= 4)
    time.sleep(1.5)
    got = [(r, at) for r, at, _, _ in _missed(stack)]
    assert len(got) == 4 and len(set(got)) == 4, got
    assert {(S["route_a"], _utc(5, 9, 0)), (S["route_b"], _utc(5, 10, 0))} <= set(got), got
    claimed = stack.psql("SELECT count(*) FROM tickets.patrol_missed")[0][0]
    assert claimed == "4", claimed


def test_clock_back(stack):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
