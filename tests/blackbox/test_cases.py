"""test_cases: typical cases (典型案例, issue L) end to end: a resolved or a
closed ticket kept as a case (an open one 409, a second time 409), the list
newest first with its pages and tag filter, a search in Chinese finding a
case by a word of its lesson, one case, a case turned into an FAQ entry once
(through the FAQ's own create: the entry is found by the FAQ's search), bad
input, the roles (managers write, agents read, technicians none) and another
property's tickets and cases (404).
"""

import secrets
import urllib.parse

from api import error as _error, fields as _fields, ok as _ok, staff_user

STACK = dict()

S = {}


def _as(stack, who, method, path, body=None):
    return stack.http(method, path, body=body, token=S["tokens"][who])


def _p(path="", pid=None):
    return "/v1/properties/%s%s" % (pid or S["p1"], path)


def _user(stack, role, pids):
    return staff_user(stack, role, pids).token


def _resolved(stack, title, pid=None, who="manager"):
    """An inquiry answered at once: a resolved ticket."""
    return _ok(_as(stack, who, "POST", _p("/tickets", pid),
                   {"type": "inquiry", "title": title, "resolve_now": True, "answer": "已答复"}), 201, title)["id"]


def _act(stack, tid, action):
    _ok(_as(stack, "manager", "POST", _p("/tickets/%s/actions" % tid), {"action": action}), 200, action)


def _list(stack, who="agent", **q):
    return _ok(_as(stack, who, "GET", _p("/cases?" + urllib.parse.urlencode(q))), 200, "cases %r" % q)


CASES = {
    "elevator": ("电梯困人 15 分钟内解救", "困人报警后先安抚业主，同时通知维保单位和工程部，"
                 "十五分钟内到场；事后回访并检查应急电话。", ["电梯", "应急"]),
    "leak": ("楼上漏水引发邻里纠纷", "先关阀止损再拍照取证，由前台协调双方，避免客服评判责任；"
             "维修费用按责任方承担。", ["报修", "投诉"]),
    "parking": ("访客车辆占用业主车位", "核对车牌与车位租赁记录，礼貌劝离；访客车辆引导至临时车位。", []),
}


def test_setup(stack):
    tag = secrets.token_hex(3).upper()
    adm = stack.admin_token
    p1 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "CAS1-" + tag, "name": "华强国际中心"}), 201, "P1")["id"]
    p2 = _ok(stack.http("POST", "/v1/properties", token=adm,
                        body={"code": "CAS2-" + tag, "name": "浦江花园"}), 201, "P2")["id"]
    S.update(p1=p1, p2=p2, tokens={"admin": adm}, cases={}, tickets={})
    for who, role, pids in (("agent", "agent", [p1]), ("manager", "manager", [p1]),
                            ("technician", "technician", [p1]), ("manager2", "manager", [p2])):
        S["tokens"][who] = _user(stack, role, pids)


def test_case_of_a_resolved_ticket(stack):
    summary, lesson, tags = CASES["elevator"]
    tid = _resolved(stack, "电梯困人")
    c = _ok(_as(stack, "manager", "POST", _p("/tickets/%s/case" % tid),
                {"summary": summary, "lesson": lesson, "tags": tags}), 201, "case")
    assert c["ticket_id"] == tid and c["summary"] == summary and c["lesson"] == lesson, c
    assert c["tags"] == tags and c["faq_id"] is None and c["ticket_type"] == "inquiry", c
    assert c["ticket_number"].startswith("WX-") and c["ticket_title"] == "电梯困人" and c["created_at"], c
    S["cases"]["elevator"], S["tickets"]["elevator"] = c["id"], tid
    # once per ticket
    err = _error(_as(stack, "manager", "POST", _p("/tickets/%s/case" % tid), {"summary": "再来", "lesson": "一次"}),
                 409, "conflict", "second case")
    assert "ticket_id" in _fields(err), err


def test_case_of_a_closed_ticket(stack):
    summary, lesson, tags = CASES["leak"]
    tid = _ok(_as(stack, "manager", "POST", _p("/tickets"), {"type": "repair", "title": "楼上漏水"}), 201, "repair")["id"]
    # open: not yet a case
    err = _error(_as(stack, "manager", "POST", _p("/tickets/%s/case" % tid), {"summary": summary, "lesson": lesson}),
                 409, "conflict", "open ticket")
    assert "status" in _fields(err) and "new" in err["message"], err
    for action in ("accept", "resolve", "close"):
        _act(stack, tid, action)
    c = _ok(_as(stack, "admin", "POST", _p("/tickets/%s/case" % tid), {"summary": summary, "lesson": lesson,
                                                                       "tags": tags}), 201, "closed ticket's case")
    S["cases"]["leak"] = c["id"]
    summary, lesson, tags = CASES["parking"]
    c = _ok(_as(stack, "manager", "POST", _p("/tickets/%s/case" % _resolved(stack, "车位被占")),
                {"summary": summary, "lesson": lesson, "tags": None}), 201, "no tags")
    assert c["tags"] == [], c
    S["cases"]["parking"] = c["id"]


def test_bad_input_and_roles(stack):
    tid = _resolved(stack, "坏输入")
    path = _p("/tickets/%s/case" % tid)
    for body, field in (({"lesson": "x"}, "summary"),
                        ({"summary": "x"}, "lesson"),
                        ({"summary": "", "lesson": "x"}, "summary"),
                        ({"summary": "x" * 2001, "lesson": "y"}, "summary"),
                        ({"summary": "x", "lesson": "y" * 20001}, "lesson"),
                        ({"summary": "x", "lesson": "y", "tags": "电梯"}, "tags"),
                        ({"summary": "x", "lesson": "y", "tags": [""]}, "tags"),
                        ({"summary": "x", "lesson": "y", "tags": ["t"] * 21}, "tags"),
                        ({"summary": 5, "lesson": "y"}, "summary"),
                        ([], "body")):
        err = _error(_as(stack, "manager", "POST", path, body), 422, "validation_failed", repr(body)[:40])
        assert field in _fields(err), "%s: %r" % (field, err)
    # nothing half-written: still no case of this ticket
    assert tid not in [c["ticket_id"] for c in _list(stack, limit=500)["items"]]
    for who in ("agent", "technician"):
        _error(_as(stack, who, "POST", path, {"summary": "x", "lesson": "y"}), 403, "forbidden", who)
    _error(_as(stack, "technician", "GET", _p("/cases")), 403, "forbidden", "technician list")
    _error(_as(stack, "agent", "POST", _p("/cases/%s/faq" % S["cases"]["parking"])), 403, "forbidden", "agent faq")
    # another property's ticket, a made-up one, a bad id: 404
    other = _resolved(stack, "别的项目", pid=S["p2"], who="manager2")
    _error(_as(stack, "manager", "POST", _p("/tickets/%s/case" % other), {"summary": "x", "lesson": "y"}),
           404, "not_found", "P2 ticket on P1's path")
    _error(_as(stack, "manager", "POST", _p("/tickets/%s/case" % other, S["p2"]), {"summary": "x", "lesson": "y"}),
           404, "not_found", "P2's path")
    _error(_as(stack, "manager", "POST", _p("/tickets/00000000-0000-4000-8000-000000000000/case"),
               {"summary": "x", "lesson": "y"}), 404, "not_found", "made-up ticket")
    S["other_case"] = _ok(_as(stack, "manager2", "POST", _p("/tickets/%s/case" % other, S["p2"]),
                              {"summary": "电梯维保", "lesson": "电梯每月维保一次"}), 201, "P2 case")["id"]


def test_list_pages_and_tags(stack):
    page = _list(stack, limit=2)
    ids = [c["id"] for c in page["items"]]
    assert ids == [S["cases"]["parking"], S["cases"]["leak"]], page
    assert page["next_cursor"], page
    rest = _list(stack, limit=2, cursor=page["next_cursor"])
    assert [c["id"] for c in rest["items"]] == [S["cases"]["elevator"]] and rest["next_cursor"] is None, rest
    assert S["other_case"] not in ids + [c["id"] for c in rest["items"]]
    assert [c["id"] for c in _list(stack, tag="报修")["items"]] == [S["cases"]["leak"]]
    assert _list(stack, tag="没有")["items"] == []
    for q, field in (({"limit": "0"}, "limit"), ({"cursor": "@@"}, "cursor"), ({"q": "x" * 201}, "q"),
                     ({"q": "电梯", "cursor": page["next_cursor"]}, "cursor"), ({"tag": "t" * 65}, "tag")):
        err = _error(_as(stack, "agent", "GET", _p("/cases?" + urllib.parse.urlencode(q))), 422,
                     "validation_failed", repr(q))
        assert field in _fields(err), "%s: %r" % (q, err)
    _error(_as(stack, "manager2", "GET", _p("/cases")), 404, "not_found", "P2's manager on P1")


def test_search_in_chinese(stack):
    # a word of the lesson only (not in the summary): 维保单位
    items = _list(stack, q="维保单位")["items"]
    assert [c["id"] for c in items] == [S["cases"]["elevator"]], items
    # two characters, and a phrase put in other words
    assert S["cases"]["leak"] in [c["id"] for c in _list(stack, q="取证")["items"]]
    items = _list(stack, q="楼上漏水纠纷")["items"]
    assert items and items[0]["id"] == S["cases"]["leak"], items
    # another property's case is never found; nothing matches Mars
    assert S["other_case"] not in [c["id"] for c in _list(stack, q="电梯维保")["items"]]
    assert _list(stack, q="火星基地")["items"] == []
    # with a tag too
    assert _list(stack, q="维保单位", tag="报修")["items"] == []
    page = _list(stack, q="业主", limit=1)
    assert len(page["items"]) == 1 and page["next_cursor"] is None, page


def test_get_one(stack):
    c = _ok(_as(stack, "agent", "GET", _p("/cases/%s" % S["cases"]["leak"])), 200, "get")
    assert c["id"] == S["cases"]["leak"] and c["tags"] == CASES["leak"][2], c
    _error(_as(stack, "agent", "GET", _p("/cases/%s" % S["other_case"])), 404, "not_found", "P2 case on P1")
    _error(_as(stack, "agent", "GET", _p("/cases/not-a-uuid")), 404, "not_found", "bad id")
    _error(_as(stack, "technician", "GET", _p("/cases/%s" % S["cases"]["leak"])), 403, "forbidden", "technician")


def test_case_to_faq(stack):
    cid = S["cases"]["elevator"]
    r = _ok(_as(stack, "manager", "POST", _p("/cases/%s/faq" % cid)), 201, "to FAQ")
    summary, lesson, tags = CASES["elevator"]
    assert r["case_id"] == cid and r["faq_id"] == r["faq"]["id"], r
    f = _ok(_as(stack, "agent", "GET", _p("/faq/%s" % r["faq_id"])), 200, "the entry")
    assert (f["question"], f["answer"], f["tags"], f["hits"]) == (summary, lesson, tags, 0), f
    assert _ok(_as(stack, "agent", "GET", _p("/cases/%s" % cid)), 200, "case")["faq_id"] == r["faq_id"]
    found = _ok(_as(stack, "agent", "GET", _p("/faq?q=" + urllib.parse.quote("维保单位"))), 200, "faq search")
    assert [e["id"] for e in found["items"]] == [r["faq_id"]], found
    err = _error(_as(stack, "manager", "POST", _p("/cases/%s/faq" % cid)), 409, "conflict", "twice")
    assert "faq_id" in _fields(err), err
    # one entry only
    n = stack.psql("SELECT count(*) FROM tickets.faq_entries WHERE property_id = '%s'" % S["p1"])[0][0]
    assert n == "1", n
    _error(_as(stack, "manager", "POST", _p("/cases/%s/faq" % S["other_case"])), 404, "not_found", "P2 case")
    _error(_as(stack, "manager", "POST", _p("/cases/00000000-0000-4000-8000-000000000000/faq")), 404,
           "not_found", "made-up case")
