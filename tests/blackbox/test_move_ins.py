"""test_move_ins: the desk's move-in file with its checklist (入伙办理) end to
end (API.md, "Move-in (入伙) with its checklist"): the property's checklist
(defaults, a manager's edit, copied when a move-in opens), ticking items off
with notes and values and their bad input, complete (the occupancy starts,
one occupancy.started event), checklist_incomplete, invalid_transition,
cancel, the list and its filters, another property's move-in (404), and two
completes at once on two tenants workers: exactly one wins.

The tests run in file order and share STATE.
"""

import re
import secrets
import threading

from api import ok as _ok, error as _error, fields as _fields

STACK = dict(scale={"tenants": 2})

STATE = {}
RACE_ROUNDS = 8
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEFAULT_ITEMS = ["identity_checked", "contract_seen", "keys_handed_over", "meter_electricity", "meter_water",
                 "meter_gas", "first_fees_settled", "handbook_signed"]


def _p(rest, pid=None):
    return "/v1/properties/%s/%s" % (pid or STATE["p1"], rest)


def _as(stack, who, method, path, body=None):
    token = stack.admin_token if who == "admin" else STATE["tokens"][who]
    return stack.http(method, path, body=body, token=token)


def _open(stack, uid, party, role="owner", start="2026-03-01", who="agent"):
    return _as(stack, who, "POST", _p("units/%s/move-ins" % uid), {"party_id": party, "role": role, "start_date": start})


def _fill(move_in):
    """A PATCH body that ticks every required item off, with a value where its kind needs one."""
    values = {"count": "2", "reading": "1234.5", "text": "粤房地权证2026第0001号"}
    out = []
    for it in move_in["checklist"]:
        if it["required"]:
            e = {"item": it["item"], "done": True}
            if it["value_kind"] in values:
                e["value"] = values[it["value_kind"]]
            out.append(e)
    return {"checklist": out}


def _party(stack, pid, name):
    return _ok(stack.http("POST", "/v1/properties/%s/parties" % pid, token=stack.admin_token,
                          body={"kind": "person", "name": name}), 201, "party " + name)["id"]


def _unit(stack, pid, code):
    return _ok(stack.http("POST", "/v1/properties/%s/units" % pid, token=stack.admin_token,
                          body={"code": code, "area_m2": 88.5, "use": "residential"}), 201, "unit " + code)["id"]


# ---------------------------------------------------------------- set-up
def test_setup(stack):
    tag = secrets.token_hex(3)
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "MV1-" + tag, "name": "华润城"}), 201, "P1")
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm, body={"code": "MV2-" + tag, "name": "深业上城"}), 201, "P2")
    STATE.update(p1=p1["id"], p2=p2["id"], tokens={}, ids={})
    STATE["u1"] = _unit(stack, p1["id"], "A-0101")
    STATE["u2"] = _unit(stack, p1["id"], "A-0102")
    STATE["u_other"] = _unit(stack, p2["id"], "B-0101")
    STATE["party"] = _party(stack, p1["id"], "陈晓明")
    STATE["party_b"] = _party(stack, p1["id"], "刘芳")
    STATE["party_other"] = _party(stack, p2["id"], "赵磊")
    for role in ("agent", "manager", "technician"):
        user, pw = "mv-%s-%s" % (role, tag), "pw-" + secrets.token_urlsafe(10)
        u = _ok(stack.http("POST", "/v1/users", token=adm, body={"username": user, "password": pw, "role": role,
                                                                "property_ids": [p1["id"]]}), 201, "user " + role)
        STATE["ids"][role] = u["id"]
        STATE["tokens"][role] = stack.login(user, pw)
    key = _ok(stack.http("POST", "/v1/api-keys", token=adm,
                         body={"name": "mv erp", "role": "integration", "property_ids": [p1["id"]]}), 201, "key")
    STATE["tokens"]["integration"] = key["key"]


# ---------------------------------------------------------------- the checklist
def test_checklist_defaults(stack):
    c = _ok(_as(stack, "agent", "GET", _p("move-in-checklist")), 200, "defaults")
    assert [i["item"] for i in c["items"]] == DEFAULT_ITEMS, c
    assert c["customized"] is False and c["updated_by"] is None, c
    kinds = {i["item"]: (i["value_kind"], i["required"]) for i in c["items"]}
    assert kinds["keys_handed_over"] == ("count", True) and kinds["meter_water"] == ("reading", True), kinds
    assert kinds["meter_gas"] == ("reading", False) and kinds["identity_checked"] == ("none", True), kinds
    assert all(i["label"]["zh"] and i["label"]["en"] for i in c["items"]), c
    # a move-in opened now keeps these, whatever the manager changes later
    m = _ok(_open(stack, STATE["u1"], STATE["party"]), 201, "open with the defaults")
    assert [i["item"] for i in m["checklist"]] == DEFAULT_ITEMS, m
    STATE["m_defaults"] = m["id"]


def test_checklist_edit_bad_input_and_roles(stack):
    path = _p("move-in-checklist")
    good = {"items": [{"item": "identity_checked", "label": {"zh": "身份核验", "en": "ID"}},
                      {"item": "keys_handed_over", "label": {"zh": "钥匙"}, "value_kind": "count"},
                      {"item": "parking_card", "label": {"zh": "停车卡"}, "required": False, "value_kind": "text"}]}
    _error(_as(stack, "agent", "PUT", path, good), 403, "forbidden", "an agent edits")
    _error(_as(stack, "technician", "GET", path), 403, "forbidden", "a technician reads")
    for body, field in (
            ({"items": []}, "items"),
            ({}, "items"),
            ({"items": [{"item": "Bad Key", "label": {"zh": "x"}}]}, "items[0].item"),
            ({"items": [{"item": "a", "label": {"zh": "x"}}, {"item": "a", "label": {"zh": "y"}}]}, "items[1].item"),
            ({"items": [{"item": "a", "label": {"en": "x"}}]}, "items[0].label.zh"),
            ({"items": [{"item": "a", "label": "x"}]}, "items[0].label"),
            ({"items": [{"item": "a", "label": {"zh": "x"}, "value_kind": "photo"}]}, "items[0].value_kind"),
            ({"items": [{"item": "a", "label": {"zh": "x"}, "required": "yes"}]}, "items[0].required"),
            ({"items": [{"item": "a", "label": {"zh": "长" * 101}}]}, "items[0].label.zh")):
        err = _error(_as(stack, "manager", "PUT", path, body), 422, "validation_failed", "bad checklist %r" % body)
        assert field in _fields(err), (body, err)
    assert _ok(_as(stack, "agent", "GET", path), 200, "unchanged")["customized"] is False
    c = _ok(_as(stack, "manager", "PUT", path, good), 200, "a manager's checklist")
    assert c["customized"] is True and c["updated_by"] == STATE["ids"]["manager"], c
    assert [(i["item"], i["required"], i["value_kind"]) for i in c["items"]] == [
        ("identity_checked", True, "none"), ("keys_handed_over", True, "count"), ("parking_card", False, "text")], c
    assert c["items"][1]["label"] == {"zh": "钥匙", "en": None}, c
    # another property keeps the defaults; another's checklist is 404
    _error(_as(stack, "manager", "GET", _p("move-in-checklist", STATE["p2"])), 404, "not_found", "another's")
    c2 = _ok(_as(stack, "admin", "GET", _p("move-in-checklist", STATE["p2"])), 200, "P2's")
    assert c2["customized"] is False and len(c2["items"]) == len(DEFAULT_ITEMS), c2
    # the open move-in did not change; a new one has the new items
    m = _ok(_as(stack, "agent", "GET", _p("move-ins/" + STATE["m_defaults"])), 200, "open one")
    assert [i["item"] for i in m["checklist"]] == DEFAULT_ITEMS, m
    m2 = _ok(_open(stack, STATE["u2"], STATE["party"], role="tenant"), 201, "open with the edit")
    assert [i["item"] for i in m2["checklist"]] == ["identity_checked", "keys_handed_over", "parking_card"], m2
    STATE["m_custom"] = m2["id"]


# ---------------------------------------------------------------- opening
def test_open_shape_and_bad_input(stack):
    m = _ok(_as(stack, "agent", "GET", _p("move-ins/" + STATE["m_defaults"])), 200, "get")
    assert UUID.match(m["id"]) and m["status"] == "open" and m["occupancy_id"] is None, m
    assert m["unit_id"] == STATE["u1"] and m["unit_code"] == "A-0101" and m["party_id"] == STATE["party"], m
    assert m["party_name"] == "陈晓明" and m["role"] == "owner" and m["start_date"] == "2026-03-01", m
    assert m["opened_by"] == STATE["ids"]["agent"], m
    assert all(i["done"] is False and i["note"] is None and i["value"] is None for i in m["checklist"]), m
    for body, field in (({"role": "owner", "start_date": "2026-03-01"}, "party_id"),
                        ({"party_id": STATE["party_b"], "role": "landlord", "start_date": "2026-03-01"}, "role"),
                        ({"party_id": STATE["party_b"], "role": "owner", "start_date": "2026-02-30"}, "start_date"),
                        ({"party_id": STATE["party_other"], "role": "owner", "start_date": "2026-03-01"}, "party_id"),
                        ({"party_id": "6f1c2b4e-0000-4000-8000-000000000000", "role": "owner",
                          "start_date": "2026-03-01"}, "party_id")):
        err = _error(_as(stack, "agent", "POST", _p("units/%s/move-ins" % STATE["u1"]), body), 422,
                     "validation_failed", "bad move-in %r" % body)
        assert field in _fields(err), (body, err)
    _error(_as(stack, "agent", "POST", _p("units/%s/move-ins" % STATE["u1"]), "x"), 422, "validation_failed", "text")
    # the same party, unit and role while one is open: a conflict
    err = _error(_open(stack, STATE["u1"], STATE["party"]), 409, "conflict", "a second open move-in")
    assert "party_id" in _fields(err), err
    # another property's unit, under either property
    _error(_open(stack, STATE["u_other"], STATE["party"]), 404, "not_found", "another's unit")
    _error(_as(stack, "agent", "POST", _p("units/%s/move-ins" % STATE["u_other"], STATE["p2"]),
               {"party_id": STATE["party_other"], "role": "owner", "start_date": "2026-03-01"}),
           404, "not_found", "another's property")
    for who in ("technician", "integration"):
        _error(_open(stack, STATE["u1"], STATE["party_b"], who=who), 403, "forbidden", who)


def test_open_refused_while_the_party_occupies_the_unit(stack):
    # a bare occupancy (the old way in) holds owner of u2 for party_b: a move-in for it is the same conflict
    occ = _ok(_as(stack, "agent", "POST", _p("units/%s/occupancies" % STATE["u2"]),
                  {"party_id": STATE["party_b"], "role": "owner", "start_date": "2026-01-01"}), 201, "occupancy")
    err = _error(_open(stack, STATE["u2"], STATE["party_b"]), 409, "conflict", "occupies already")
    assert "party_id" in _fields(err), err
    # another role is free
    m = _ok(_open(stack, STATE["u2"], STATE["party_b"], role="resident"), 201, "as resident")
    STATE["m_resident"] = m["id"]
    STATE["occ_b"] = occ["id"]


# ---------------------------------------------------------------- ticking items off
def test_patch_bad_input_changes_nothing(stack):
    path = _p("move-ins/" + STATE["m_defaults"])
    for entries, field in (
            ([{"item": "no_such_item", "done": True}], "checklist[0].item"),
            ([{"item": "keys_handed_over", "done": True, "value": "two"}], "checklist[0].value"),
            ([{"item": "keys_handed_over", "done": True, "value": "-1"}], "checklist[0].value"),
            ([{"item": "keys_handed_over", "done": True, "value": 2}], "checklist[0].value"),
            ([{"item": "keys_handed_over", "done": True}], "checklist[0].value"),
            ([{"item": "meter_water", "done": True, "value": "12.3456"}], "checklist[0].value"),
            ([{"item": "meter_water", "done": True, "value": "1,234"}], "checklist[0].value"),
            ([{"item": "identity_checked", "done": True, "value": "x"}], "checklist[0].value"),
            ([{"item": "identity_checked", "done": "yes"}], "checklist[0].done"),
            ([{"item": "identity_checked", "done": True, "note": "注" * 501}], "checklist[0].note"),
            # one good entry beside a bad one: neither is written
            ([{"item": "identity_checked", "done": True}, {"item": "identity_checked", "done": False}],
             "checklist[1].item"),
            ([{"item": "identity_checked", "done": True}, {"item": "meter_gas", "done": True, "value": "x"}],
             "checklist[1].value")):
        err = _error(_as(stack, "agent", "PATCH", path, {"checklist": entries}), 422, "validation_failed",
                     "bad patch %r" % entries)
        assert field in _fields(err), (entries, err)
    for body in ({}, {"checklist": []}, {"checklist": "all"}, [1]):
        _error(_as(stack, "agent", "PATCH", path, body), 422, "validation_failed", "bad body %r" % body)
    m = _ok(_as(stack, "agent", "GET", path), 200, "after the refusals")
    assert not any(i["done"] for i in m["checklist"]), m


def test_patch_marks_items(stack):
    path = _p("move-ins/" + STATE["m_defaults"])
    m = _ok(_as(stack, "agent", "PATCH", path, {"checklist": [
        {"item": "identity_checked", "done": True, "note": "身份证已核对"},
        {"item": "keys_handed_over", "done": True, "value": "3"},
        {"item": "meter_electricity", "done": True, "value": "00012.5"}]}), 200, "patch")
    items = {i["item"]: i for i in m["checklist"]}
    assert items["identity_checked"]["done"] is True and items["identity_checked"]["note"] == "身份证已核对", items
    assert items["identity_checked"]["done_by"] == STATE["ids"]["agent"] and items["identity_checked"]["done_at"], items
    assert items["keys_handed_over"]["value"] == "3" and items["meter_electricity"]["value"] == "00012.5", items
    assert items["meter_water"]["done"] is False and items["meter_water"]["done_at"] is None, items
    # undo one, clear a note; a stored value satisfies a count marked done again
    m = _ok(_as(stack, "manager", "PATCH", path, {"checklist": [
        {"item": "identity_checked", "done": True, "note": None},
        {"item": "keys_handed_over", "done": False}]}), 200, "undo")
    items = {i["item"]: i for i in m["checklist"]}
    assert items["identity_checked"]["note"] is None and items["identity_checked"]["done"] is True, items
    assert items["identity_checked"]["done_by"] == STATE["ids"]["agent"], "done stays the first doer's: %r" % items
    assert items["keys_handed_over"]["done"] is False and items["keys_handed_over"]["done_by"] is None, items
    assert items["keys_handed_over"]["value"] == "3", items
    _ok(_as(stack, "agent", "PATCH", path, {"checklist": [{"item": "keys_handed_over", "done": True}]}), 200, "redo")


# ---------------------------------------------------------------- complete
def test_complete_refused_while_incomplete(stack):
    err = _error(_as(stack, "agent", "POST", _p("move-ins/%s/complete" % STATE["m_defaults"])), 409,
                 "checklist_incomplete", "incomplete")
    assert _fields(err) == {"checklist.contract_seen", "checklist.meter_water", "checklist.first_fees_settled",
                            "checklist.handbook_signed"}, err
    n = stack.psql("SELECT count(*) FROM tenants.occupancies WHERE unit_id = '%s'" % STATE["u1"])[0][0]
    assert n == "0", "no occupancy before complete: %s" % n


def test_complete_starts_the_occupancy_once(stack):
    path = _p("move-ins/" + STATE["m_defaults"])
    m = _ok(_as(stack, "agent", "GET", path), 200, "get")
    _ok(_as(stack, "agent", "PATCH", path, _fill(m)), 200, "fill")
    done = _ok(_as(stack, "agent", "POST", path + "/complete"), 200, "complete")
    assert done["status"] == "completed" and UUID.match(done["occupancy_id"] or ""), done
    assert done["closed_by"] == STATE["ids"]["agent"] and done["closed_at"], done
    occ = done["occupancy"]
    assert occ["id"] == done["occupancy_id"] and occ["unit_id"] == STATE["u1"] and occ["role"] == "owner", occ
    assert occ["start_date"] == "2026-03-01" and occ["end_date"] is None, occ
    unit = _ok(_as(stack, "agent", "GET", _p("units/" + STATE["u1"])), 200, "unit")
    assert [o["occupancy_id"] for o in unit["occupants"]] == [done["occupancy_id"]], unit
    ev = stack.psql("SELECT count(*) FROM tenants.outbox WHERE type = 'occupancy.started' AND data->>'id' = '%s'"
                    % done["occupancy_id"])
    assert ev[0][0] == "1", ev
    # once: a second complete, a patch, a cancel
    err = _error(_as(stack, "agent", "POST", path + "/complete"), 409, "invalid_transition", "complete twice")
    assert "status" in _fields(err), err
    _error(_as(stack, "agent", "PATCH", path, _fill(m)), 409, "invalid_transition", "patch after")
    _error(_as(stack, "agent", "POST", path + "/cancel"), 409, "invalid_transition", "cancel after")
    n = stack.psql("SELECT count(*) FROM tenants.occupancies WHERE unit_id = '%s'" % STATE["u1"])[0][0]
    assert n == "1", n
    STATE["m_completed"] = done["id"]


def test_complete_conflicts_with_a_bare_occupancy(stack):
    # party_b became resident of u2 by hand meanwhile: the move-in cannot start a second one
    m = _ok(_as(stack, "agent", "GET", _p("move-ins/" + STATE["m_resident"])), 200, "get")
    _ok(_as(stack, "agent", "PATCH", _p("move-ins/" + STATE["m_resident"]), _fill(m)), 200, "fill")
    _ok(_as(stack, "agent", "POST", _p("units/%s/occupancies" % STATE["u2"]),
            {"party_id": STATE["party_b"], "role": "resident", "start_date": "2026-01-01"}), 201, "bare occupancy")
    err = _error(_as(stack, "agent", "POST", _p("move-ins/%s/complete" % STATE["m_resident"])), 409, "conflict",
                 "occupied meanwhile")
    assert "party_id" in _fields(err), err
    m = _ok(_as(stack, "agent", "GET", _p("move-ins/" + STATE["m_resident"])), 200, "still open")
    assert m["status"] == "open" and m["occupancy_id"] is None, m


# ---------------------------------------------------------------- cancel
def test_cancel(stack):
    path = _p("move-ins/" + STATE["m_resident"])
    _error(_as(stack, "agent", "POST", path + "/cancel", {"reason": "x" * 501}), 422, "validation_failed", "long")
    _error(_as(stack, "agent", "POST", path + "/cancel", {"reason": "   "}), 422, "validation_failed", "blank")
    _error(_as(stack, "agent", "POST", path + "/cancel", "now"), 422, "validation_failed", "not an object")
    c = _ok(_as(stack, "agent", "POST", path + "/cancel", {"reason": "业主改期"}), 200, "cancel")
    assert c["status"] == "cancelled" and c["cancel_reason"] == "业主改期" and c["occupancy_id"] is None, c
    _error(_as(stack, "agent", "POST", path + "/cancel"), 409, "invalid_transition", "cancel twice")
    _error(_as(stack, "agent", "POST", path + "/complete"), 409, "invalid_transition", "complete a cancelled one")
    # a cancelled move-in frees the three for a new one
    cancelled = _ok(_open(stack, STATE["u1"], STATE["party_b"], role="tenant"), 201, "to cancel")
    _ok(_as(stack, "agent", "POST", _p("move-ins/%s/cancel" % cancelled["id"])), 200, "cancel without a body")
    STATE["m_reopened"] = _ok(_open(stack, STATE["u1"], STATE["party_b"], role="tenant"), 201, "again")["id"]
    STATE["m_cancelled2"] = cancelled["id"]


# ---------------------------------------------------------------- list and scope
def test_list_filters_and_pages(stack):
    def ids(query):
        return [m["id"] for m in _ok(_as(stack, "agent", "GET", _p("move-ins" + query)), 200, query)["items"]]
    assert ids("?status=completed") == [STATE["m_completed"]]
    assert ids("?status=cancelled") == [STATE["m_cancelled2"], STATE["m_resident"]]
    assert set(ids("?status=open")) == {STATE["m_custom"], STATE["m_reopened"]}
    assert ids("?unit_id=%s&status=open" % STATE["u1"]) == [STATE["m_reopened"]]
    every = ids("")
    assert len(every) == 5 and every[0] == STATE["m_reopened"], "newest first: %r" % every
    seen, cursor = [], None
    while True:
        body = _ok(_as(stack, "agent", "GET", _p("move-ins?limit=1" + ("&cursor=" + cursor if cursor else ""))),
                   200, "page")
        seen += [m["id"] for m in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == every, (seen, every)
    for q, field in (("?status=done", "status"), ("?unit_id=A-0101", "unit_id"), ("?limit=0", "limit"),
                     ("?cursor=bm9wZQ", "cursor")):
        err = _error(_as(stack, "agent", "GET", _p("move-ins" + q)), 422, "validation_failed", q)
        assert field in _fields(err), (q, err)
    assert ids("?status=") == every, "an empty filter is no filter"


def test_another_propertys_move_in_is_404(stack):
    other = _ok(_as(stack, "admin", "POST", _p("units/%s/move-ins" % STATE["u_other"], STATE["p2"]),
                    {"party_id": STATE["party_other"], "role": "owner", "start_date": "2026-03-01"}), 201, "P2")
    for method, path, body in (("GET", "move-ins/" + other["id"], None),
                               ("PATCH", "move-ins/" + other["id"], {"checklist": [{"item": "meter_gas",
                                                                                     "done": False}]}),
                               ("POST", "move-ins/%s/complete" % other["id"], None),
                               ("POST", "move-ins/%s/cancel" % other["id"], None)):
        # under the agent's own property: no such move-in; under P2: no such property for them
        _error(_as(stack, "agent", method, _p(path), body), 404, "not_found", "%s %s own" % (method, path))
        _error(_as(stack, "agent", method, _p(path, STATE["p2"]), body), 404, "not_found", "%s %s P2" % (method, path))
    _error(_as(stack, "agent", "GET", _p("move-ins/not-a-uuid")), 404, "not_found", "malformed id")
    _error(_as(stack, "agent", "GET", _p("move-ins", STATE["p2"])), 404, "not_found", "P2's list")
    assert _ok(_as(stack, "admin", "GET", _p("move-ins/" + other["id"], STATE["p2"])), 200, "admin")["id"] == other["id"]


# ---------------------------------------------------------------- two completes at once
def test_two_completes_at_once_one_wins(stack):
    assert len(stack.procs["tenants"]) == 2, "two tenants workers"
    party = _party(stack, STATE["p1"], "并发测试")
    for rnd in range(RACE_ROUNDS):
        uid = _unit(stack, STATE["p1"], "R-%03d" % rnd)
        m = _ok(_open(stack, uid, party), 201, "open %d" % rnd)
        _ok(_as(stack, "agent", "PATCH", _p("move-ins/" + m["id"]), _fill(m)), 200, "fill %d" % rnd)
        results, barrier = [None, None], threading.Barrier(2)

        def go(i):
            barrier.wait()
            results[i] = _as(stack, "agent", "POST", _p("move-ins/%s/complete" % m["id"]))
        threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status for r in results)
        assert statuses == [200, 409], "round %d: %r" % (rnd, results)
        loser = next(r for r in results if r.status == 409)
        assert loser.json()["error"]["code"] == "invalid_transition", loser
        occ = stack.psql("SELECT id FROM tenants.occupancies WHERE unit_id = '%s'" % uid)
        assert len(occ) == 1, "round %d: one occupancy, got %r" % (rnd, occ)
        ev = stack.psql("SELECT count(*) FROM tenants.outbox WHERE type = 'occupancy.started' "
                        "AND data->>'unit_id' = '%s'" % uid)
        assert ev[0][0] == "1", "round %d: one event, got %r" % (rnd, ev)
        row = stack.psql("SELECT status, occupancy_id FROM tenants.move_ins WHERE id = '%s'" % m["id"])
        assert row == [("completed", occ[0][0])], (rnd, row)
