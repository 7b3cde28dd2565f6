"""test_performance: per-person performance (绩效, issue L item 4):
GET /v1/properties/{pid}/reports/agents?from=&to= and .../reports/agents/{user_id},
against a hand-computed fixture: four tickets created, assigned, resolved,
reopened and called back by an agent, two technicians and a manager at known
times (the service's test clock), under SLA policies the test sets. Then who
sees whose row (a technician only their own), the name recorded on the
timeline, bad input and another property.

The fixture (B = 2026-03-10 09:00 Asia/Shanghai; policies: repair and
complaint resolve in 240 minutes, inquiry in 60):
  t1 repair     by agent at B; assigned to tech1 at B+10m; resolved by tech1 at B+2h (met);
                feedback 5 by the agent at B+1d
  t2 repair     by agent at B+1h; assigned to tech1 at B+1h30m; resolved by tech1 at B+40d
                (late); feedback 2 by the agent at B+41d; reopened by the agent at B+42d
  t3 inquiry    by agent at B+2h, answered at once (resolved by the agent, met);
                feedback 4 by the manager at B+1d
  t4 complaint  by the manager at B+3h; assigned to tech2 at B+4h; resolved by tech2 at B+5h
                (met); feedback 3 by the agent at B+1d
Expected rows (window 2026-03-01..2026-04-30):
  agent:   created 3, resolved 1 (t3), first response median of t1 10, t2 30, t3 0 = 10,
           SLA met 1.0, satisfaction 4.00, callbacks 3 (t1 t2 t4), reopened 0
  tech1:   created 0, resolved 2 (t1 t2), median of 10 and 30 = 20, SLA met 0.5,
           satisfaction 3.50, callbacks 0, reopened 1 (t2)
  tech2:   resolved 1 (t4), median 60 (t4), SLA 1.0, satisfaction 3.00
  manager: created 1 (t4), resolved 0 (SLA and satisfaction null), median 60 (t4), callbacks 1 (t3)
The test clock is set before each step, so each step's time is exact to the
seconds a request takes: minutes are compared within 0.2.
"""

import calendar
import secrets
import time

from api import ok as _ok, error as _error, fields as _fields, staff_user

STACK = dict(env={"PM_TEST_CLOCK": "1"})

S = {}
B = calendar.timegm((2026, 3, 10, 1, 0, 0, 0, 0, 0))   # 09:00 in Shanghai
WINDOW = "?from=2026-03-01&to=2026-04-30"


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path="", pid=None):
    return "/v1/properties/%s%s" % (pid or S["p1"], path)


def _at(stack, seconds_after_b):
    stack.psql("UPDATE tickets.test_clock SET offset_seconds = %d"
               % (B + seconds_after_b - int(time.time())))


def _user(stack, role, pids):
    u = staff_user(stack, role, pids)
    return u.name, u.id, u.token


def _act(stack, who, tid, action, **extra):
    return _ok(_as(stack, who, "POST", _p("/tickets/%s/actions" % tid), dict(action=action, **extra)),
               200, "%s by %s" % (action, who))


def _feedback(stack, who, tid, rating):
    _ok(_as(stack, who, "POST", _p("/tickets/%s/feedback" % tid), {"rating": rating}), 201,
        "feedback by %s" % who)


def _rows(stack, who, query=WINDOW, pid=None):
    body = _ok(_as(stack, who, "GET", _p("/reports/agents" + query, pid)), 200, "report as %s" % who)
    return {r["user_id"]: r for r in body["items"]}, body


def _near(got, want, what):
    assert got is not None and abs(got - want) < 0.2, "%s: %r, expected %s" % (what, got, want)


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "PF1-" + tag, "name": "华强国际中心", "timezone": "Asia/Shanghai"}),
             201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "PF2-" + tag, "name": "科技园", "timezone": "Asia/Shanghai"}),
             201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm}, ids={}, names={})
    for who, role, pids in (("agent", "agent", [p1]), ("tech1", "technician", [p1]),
                            ("tech2", "technician", [p1]), ("manager", "manager", [p1]),
                            ("other", "manager", [p2])):
        S["names"][who], S["ids"][who], S["tokens"][who] = _user(stack, role, pids)
    policies = {"items": [
        {"type": t, "priority": "normal", "respond_minutes": 30, "resolve_minutes": r}
        for t, r in (("repair", 240), ("complaint", 240), ("inquiry", 60))]}
    _ok(_as(stack, "manager", "PUT", _p("/sla-policies"), policies), 200, "policies")


def test_fixture(stack):
    ids = S["ids"]
    try:
        _at(stack, 0)
        t1 = _ok(_as(stack, "agent", "POST", _p("/tickets"), {"type": "repair", "title": "水管漏水",
                                                              "category": "plumbing"}), 201, "t1")["id"]
        _at(stack, 600)
        _act(stack, "agent", t1, "assign", assignee_id=ids["tech1"])
        _at(stack, 3600)
        t2 = _ok(_as(stack, "agent", "POST", _p("/tickets"), {"type": "repair", "title": "电梯异响",
                                                              "category": "elevator"}), 201, "t2")["id"]
        _at(stack, 5400)
        _act(stack, "agent", t2, "assign", assignee_id=ids["tech1"])
        _act(stack, "tech1", t1, "start")
        _at(stack, 7200)
        _act(stack, "tech1", t1, "resolve", note="已更换阀门")
        t3 = _ok(_as(stack, "agent", "POST", _p("/tickets"),
                     {"type": "inquiry", "title": "停车费标准", "resolve_now": True, "answer": "每月300元"}),
                 201, "t3")["id"]
        _at(stack, 3 * 3600)
        t4 = _ok(_as(stack, "manager", "POST", _p("/tickets"), {"type": "complaint", "title": "噪音投诉",
                                                                "category": "noise"}), 201, "t4")["id"]
        _at(stack, 4 * 3600)
        _act(stack, "manager", t4, "assign", assignee_id=ids["tech2"])
        _at(stack, 5 * 3600)
        _act(stack, "tech2", t4, "resolve", note="已协调")
        _at(stack, 86400)
        _feedback(stack, "agent", t1, 5)
        _feedback(stack, "manager", t3, 4)
        _feedback(stack, "agent", t4, 3)
        _at(stack, 40 * 86400)
        _act(stack, "tech1", t2, "start")
        _act(stack, "tech1", t2, "resolve", note="更换导轨")
        _at(stack, 41 * 86400)
        _feedback(stack, "agent", t2, 2)
        _at(stack, 42 * 86400)
        _act(stack, "agent", t2, "reopen", note="又响了")
        # in the other property, by its manager: never in P1's report
        _ok(_as(stack, "other", "POST", _p("/tickets", S["p2"]), {"type": "inquiry", "title": "x",
                                                                  "resolve_now": True, "answer": "y"}),
            201, "P2's ticket")
    finally:
        stack.psql("UPDATE tickets.test_clock SET offset_seconds = 0")
    S["tickets"] = (t1, t2, t3, t4)


def test_manager_sees_everyone(stack):
    rows, body = _rows(stack, "manager")
    ids = S["ids"]
    assert set(rows) == {ids["agent"], ids["tech1"], ids["tech2"], ids["manager"]}, rows
    assert (body["from"], body["to"]) == ("2026-02-28T16:00:00Z", "2026-04-30T16:00:00Z"), body
    a, t1, t2, m = (rows[ids[w]] for w in ("agent", "tech1", "tech2", "manager"))
    assert (a["role"], t1["role"], t2["role"], m["role"]) == ("agent", "technician", "technician", "manager")
    assert (a["tickets_created"], a["tickets_resolved"], a["callbacks_done"], a["reopened"]) == (3, 1, 3, 0), a
    _near(a["first_response_minutes_median"], 10, "agent's median")
    assert (a["resolution_sla_met"], a["satisfaction_average"]) == (1, 4), a
    assert (t1["tickets_created"], t1["tickets_resolved"], t1["callbacks_done"], t1["reopened"]) == (0, 2, 0, 1), t1
    _near(t1["first_response_minutes_median"], 20, "tech1's median")
    assert (t1["resolution_sla_met"], t1["satisfaction_average"]) == (0.5, 3.5), t1
    assert (t2["tickets_created"], t2["tickets_resolved"], t2["reopened"]) == (0, 1, 0), t2
    _near(t2["first_response_minutes_median"], 60, "tech2's median")
    assert (t2["resolution_sla_met"], t2["satisfaction_average"]) == (1, 3), t2
    assert (m["tickets_created"], m["tickets_resolved"], m["callbacks_done"]) == (1, 0, 1), m
    assert m["resolution_sla_met"] is None and m["satisfaction_average"] is None, m
    _near(m["first_response_minutes_median"], 60, "manager's median")
    # the caller's own row carries their name; first in order: most resolved
    assert m["username"] == S["names"]["manager"], m
    assert body["items"][0]["user_id"] == ids["tech1"], body["items"]
    # one person, on a manager's ?user_id=
    only, _ = _rows(stack, "manager", WINDOW + "&user_id=" + ids["tech2"])
    assert list(only) == [ids["tech2"]] and only[ids["tech2"]]["tickets_resolved"] == 1, only
    # admin too sees everyone
    assert set(_rows(stack, "admin")[0]) == set(rows)


def test_window_limits_what_counts(stack):
    # March alone: t2's resolution (April 19) and its reopen (April 21) are outside
    rows, _ = _rows(stack, "manager", "?from=2026-03-01&to=2026-03-31")
    t1 = rows[S["ids"]["tech1"]]
    assert (t1["tickets_resolved"], t1["reopened"], t1["resolution_sla_met"], t1["satisfaction_average"]) \
        == (1, 0, 1, 5), t1
    assert rows[S["ids"]["agent"]]["callbacks_done"] == 2, rows[S["ids"]["agent"]]
    # a window in which nobody did anything
    assert _rows(stack, "manager", "?from=2026-06-01&to=2026-06-30")[0] == {}


def test_technician_sees_only_themself(stack):
    ids = S["ids"]
    for q in (WINDOW, WINDOW + "&user_id=" + ids["agent"]):
        rows, _ = _rows(stack, "tech1", q)
        assert list(rows) == [ids["tech1"]], "only their own row: %s" % rows
        assert rows[ids["tech1"]]["tickets_resolved"] == 2
        assert rows[ids["tech1"]]["username"] == S["names"]["tech1"], rows
    one = _ok(_as(stack, "tech2", "GET", _p("/reports/agents/%s%s" % (ids["tech2"], WINDOW))), 200, "own")
    assert one["user_id"] == ids["tech2"] and one["tickets_resolved"] == 1 and "from" in one, one
    _error(_as(stack, "tech2", "GET", _p("/reports/agents/%s%s" % (ids["tech1"], WINDOW))), 404,
           "not_found", "another's row: nobody they may see")
    # an agent's quiet window: their own row, all zeros
    rows, _ = _rows(stack, "agent", "?from=2026-06-01&to=2026-06-30")
    a = rows[ids["agent"]]
    assert (a["tickets_created"], a["tickets_resolved"], a["callbacks_done"], a["role"]) == (0, 0, 0, "agent"), a
    assert a["first_response_minutes_median"] is None and a["resolution_sla_met"] is None, a
    # a manager asks for one person
    one = _ok(_as(stack, "manager", "GET", _p("/reports/agents/%s%s" % (ids["agent"], WINDOW))), 200, "one")
    assert one["tickets_created"] == 3, one


def test_recorded_name(stack):
    # the name recorded beside the actor where the action is recorded (migration 017):
    # a manager sees every person by name, not only their own
    rows, _ = _rows(stack, "manager")
    for who in ("agent", "tech1"):
        assert rows[S["ids"][who]]["username"] == S["names"][who], rows[S["ids"][who]]
    names = stack.psql("SELECT count(*) FROM tickets.ticket_timeline WHERE actor_id = '%s' "
                       "AND actor_name IS DISTINCT FROM '%s'" % (S["ids"]["agent"], S["names"]["agent"]))
    assert names[0][0] == "0", "every row of the agent's carries their name: %s" % names


def test_bad_input(stack):
    for q, bad in (("?from=2026-04-30&to=2026-03-01", {"to"}), ("?from=2026-02-30&to=2026-03-01", {"from"}),
                   ("?to=2026-03-01", {"from"}), ("", {"from", "to"}),
                   ("?from=2025-01-01&to=2026-03-01", {"to"}), ("?from=yesterday&to=2026-03-01", {"from"})):
        err = _error(_as(stack, "manager", "GET", _p("/reports/agents" + q)), 422, "validation_failed", q)
        assert _fields(err) == bad, "%s: %s" % (q, err)
    err = _error(_as(stack, "manager", "GET", _p("/reports/agents" + WINDOW + "&user_id=" + "x" * 300)),
                 422, "validation_failed", "a long user id")
    assert _fields(err) == {"user_id"}, err


def test_another_property(stack):
    _error(_as(stack, "manager", "GET", _p("/reports/agents" + WINDOW, S["p2"])), 404, "not_found", "P2")
    _error(_as(stack, "tech1", "GET", _p("/reports/agents/%s%s" % (S["ids"]["tech1"], WINDOW), S["p2"])),
           404, "not_found", "P2's row")
    rows, _ = _rows(stack, "other", WINDOW, S["p2"])
    assert list(rows) == [S["ids"]["other"]], "P2's report has P2's people: %s" % rows
    assert stack.http("GET", _p("/reports/agents" + WINDOW)).status == 401


def test_reports_read_indexes(stack):
    """No sequential scan of tickets, the timeline or the follow-up calls: with the rows of 300
    other properties (and statistics that say so), both reports read only this property's rows,
    through the indexes of migration 017. The counters of pg_stat_user_tables are the service's
    own: its database sessions end (SIGTERM) before each reading, which flushes them."""
    from harness import wait_for
    import signal
    stack.psql("""
        INSERT INTO tickets.tickets (property_id, number, type, status, title, created_by, created_at,
          updated_at, resolve_by, responded_at, resolved_at, category)
        SELECT ('00000000-0000-4000-8000-' || lpad((g % 300)::text, 12, '0'))::uuid, 'N' || g, 'repair',
          'resolved', 'bulk', 'u' || (g % 40), timestamptz '2026-03-15' + (g || ' minutes')::interval, now(),
          timestamptz '2026-03-16', timestamptz '2026-03-15' + (g || ' minutes')::interval, now(), 'c' || (g % 7)
        FROM generate_series(1, 30000) g;
        INSERT INTO tickets.ticket_timeline (property_id, ticket_id, at, actor_id, actor_role, action, to_status)
        SELECT property_id, id, created_at, created_by, 'agent', a, 'resolved' FROM tickets.tickets,
          unnest (array['create', 'resolve']) a WHERE title = 'bulk';
        INSERT INTO tickets.ticket_feedback (ticket_id, property_id, rating, called_by, created_at)
        SELECT id, property_id, 4, 'u1', created_at + interval '1 day' FROM tickets.tickets WHERE title = 'bulk';
        ANALYZE tickets.tickets; ANALYZE tickets.ticket_timeline; ANALYZE tickets.ticket_feedback;""")
    counters = ("SELECT relname, seq_scan FROM pg_stat_user_tables WHERE schemaname = 'tickets' "
                "AND relname IN ('tickets', 'ticket_timeline', 'ticket_feedback') ORDER BY relname")
    index_scans = ("SELECT sum (idx_scan) FROM pg_stat_user_indexes WHERE schemaname = 'tickets' "
                   "AND indexrelname IN ('ticket_timeline_property_at', 'ticket_feedback_property_created')")

    def sessions_gone():
        stack.kill("tickets", sig=signal.SIGTERM)
        wait_for("tickets' database sessions to end", lambda: stack.psql(
            "SELECT count (*) FROM pg_stat_activity WHERE usename = 'pm_tickets'")[0][0] == "0")

    sessions_gone()
    before, scans_before = stack.psql(counters), int(stack.psql(index_scans)[0][0] or 0)
    stack.start("tickets")
    try:
        wait_for("the tickets service", lambda: _as(stack, "manager", "GET",
                                                     _p("/reports/agents" + WINDOW)).status == 200)
        for q in ("/reports/agents" + WINDOW, "/reports/agents?from=2026-03-15&to=2026-03-16",
                  "/reports/satisfaction?from=2026-01&to=2026-06"):
            _ok(_as(stack, "manager", "GET", _p(q)), 200, q)
    finally:
        sessions_gone()
        stack.start("tickets")
    assert int(stack.psql(index_scans)[0][0] or 0) > scans_before, "017's indexes were read"
    assert stack.psql(counters) == before, "sequential scans: %s, then %s" % (before, stack.psql(counters))
    wait_for("the tickets service again", lambda: _as(stack, "manager", "GET",
                                                       _p("/reports/agents" + WINDOW)).status == 200)
