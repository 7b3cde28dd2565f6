#!/usr/bin/env python3
"""demo.py: loads a demo property over the HTTP API (make run with PM_DEMO=1).

    python3 scripts/demo.py [--url http://127.0.0.1:8080] [--user admin] [--password PW]

华强国际中心 (code DEMO-HQIC), a mixed-use tower: parking levels B1-B3 (parking bays
and storage rooms), a retail podium L1-L3, office floors L5-L30 and hotel floors
L31-L38; about 380 units with realistic codes and areas, and a few dozen parties
(companies and people with Chinese names) moved in. Idempotent: when the property
code exists already nothing is done. The units are the core; parties, occupancies
and parking spaces are loaded where the API offers them and skipped otherwise.
Defaults come from PM_HTTP_PORT, PM_ADMIN_USER, PM_ADMIN_PASSWORD and
$PM_DATA_DIR/admin-password. Python 3 standard library only.
"""

import argparse
import http.client
import json
import os
import random
import sys
import urllib.parse

CODE = "DEMO-HQIC"
PROPERTY = {
    "code": CODE,
    "name": "华强国际中心",
    "address": "广东省深圳市福田区深南中路 3018 号",
    "timezone": "Asia/Shanghai",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "丹丹", "子涵", "雨萱", "浩然"]
COMPANIES = ["深圳市前海云图科技有限公司", "华南星辰律师事务所", "鹏城智慧物流股份有限公司", "南山基石投资管理有限公司",
             "粤港澳数字金融服务有限公司", "福田新远建筑设计院", "蓝海跨境电子商务有限公司", "深圳市和谐医疗器械有限公司",
             "中航精密仪器（深圳）有限公司", "立信会计师事务所深圳分所", "星河文化传媒有限公司", "嘉禾教育咨询有限公司"]
# (name, unit, phone): the demo's resident with a known phone, for the residents' pages
DEMO_RESIDENT = ("林晓婷", "A-1806", "13602345678")
SHOPS = ["喜茶", "星巴克", "屈臣氏", "优衣库", "海底捞", "西西弗书店", "周大福", "华为授权体验店", "便利蜂", "麦当劳"]


def units():
    """The tower's units: (code, building, floor label, floor number, area_m2, use)."""
    rnd = random.Random(20261127)  # the same demo every time
    out = []
    for lvl, n in (("B3", 30), ("B2", 30), ("B1", 30)):
        num = -int(lvl[1])
        for i in range(1, n + 1):
            out.append(("%s-P%03d" % (lvl, i), "地下车库", lvl, num, round(rnd.uniform(12.5, 15.0), 2), "parking"))
    for i in range(1, 7):
        out.append(("B1-S%02d" % i, "地下车库", "B1", -1, round(rnd.uniform(6.0, 18.0), 2), "storage"))
    for floor, n, lo, hi in ((1, 12, 45, 380), (2, 10, 60, 420), (3, 8, 120, 650)):
        for i in range(1, n + 1):
            out.append(("L%d-%02d" % (floor, i), "商业裙楼", "L%d" % floor, floor,
                        round(rnd.uniform(lo, hi), 2), "retail"))
    for floor in range(5, 31):
        for i in range(1, 7):
            out.append(("A-%02d%02d" % (floor, i), "写字楼", "L%d" % floor, floor,
                        round(rnd.choice((128.46, 156.30, 210.75, 265.12, 318.90, 452.08)) + rnd.uniform(-3, 3), 2),
                        "office"))
    for floor in range(31, 39):
        for i in range(1, 13):
            out.append(("H-%02d%02d" % (floor, i), "酒店", "L%d" % floor, floor,
                        round(rnd.choice((32.5, 38.0, 45.6, 68.2)) + rnd.uniform(-1, 1), 2), "hotel"))
    return out


class Api:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.token = None
        self.conn = None

    def call(self, method, path, body=None):
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in (1, 2):  # one retry on a dropped keep-alive connection
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if r.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            doc = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            doc = raw.decode("utf-8", "replace")
        return r.status, doc


def find_property(api):
    path = "/v1/properties?limit=500"
    while path:
        st, doc = api.call("GET", path)
        if st != 200:
            raise SystemExit("demo: GET /v1/properties: %s %s" % (st, doc))
        for p in doc.get("items", []):
            if p.get("code") == CODE:
                return p
        cur = doc.get("next_cursor")
        path = "/v1/properties?limit=500&cursor=" + urllib.parse.quote(cur) if cur else None
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:%s" % os.environ.get("PM_HTTP_PORT", "8080"))
    ap.add_argument("--user", default=os.environ.get("PM_ADMIN_USER", "admin"))
    ap.add_argument("--password", default=os.environ.get("PM_ADMIN_PASSWORD"))
    a = ap.parse_args()
    if not a.password:
        f = os.path.join(os.environ.get("PM_DATA_DIR", "var"), "admin-password")
        try:
            a.password = open(f).read().strip()
        except OSError:
            raise SystemExit("demo: no --password, PM_ADMIN_PASSWORD or %s" % f)

    api = Api(a.url)
    st, doc = api.call("POST", "/v1/auth/login", {"username": a.user, "password": a.password})
    if st != 200:
        raise SystemExit("demo: login as %s failed: %s %s" % (a.user, st, doc))
    api.token = doc["token"]

    if find_property(api):
        print("demo: property %s exists already; nothing loaded" % CODE)
        return 0
    st, prop = api.call("POST", "/v1/properties", PROPERTY)
    if st == 409:
        print("demo: property %s exists already; nothing loaded" % CODE)
        return 0
    if st != 201:
        raise SystemExit("demo: POST /v1/properties: %s %s" % (st, prop))
    pid = prop["id"]
    base = "/v1/properties/%s" % pid

    # floor as the label ("B1", "L12"); if the API wants a number, send the number.
    floor_as_number = False
    unit_ids = {}
    failed = 0
    for code, building, label, num, area, use in units():
        body = {"code": code, "building": building, "floor": num if floor_as_number else label,
                "area_m2": area, "use": use}
        st, doc = api.call("POST", base + "/units", body)
        if st == 422 and not floor_as_number and "floor" in json.dumps(doc):
            floor_as_number = True
            body["floor"] = num
            st, doc = api.call("POST", base + "/units", body)
        if st in (200, 201):
            unit_ids[code] = doc["id"]
        elif st != 409:
            failed += 1
            if failed <= 3:
                print("demo: unit %s: %s %s" % (code, st, doc), file=sys.stderr)
    print("demo: property %s (%s) with %d units%s" % (
        CODE, PROPERTY["name"], len(unit_ids), ", %d failed" % failed if failed else ""))

    # Parties and move-ins: companies in offices, shops in the podium, people in storage rooms.
    rnd = random.Random(7)
    moved = 0
    parties = 0
    plan = []
    offices = [c for c in unit_ids if c.startswith("A-")]
    shops = [c for c in unit_ids if c.startswith("L")]
    stores = [c for c in unit_ids if c.startswith("B1-S")]
    for i, name in enumerate(COMPANIES):
        if i < len(offices):
            plan.append(({"kind": "company", "name": name, "phone": "0755-8%07d" % rnd.randrange(10 ** 7)},
                         offices[i * 7 % len(offices)], "tenant"))
    for i, name in enumerate(SHOPS):
        if i < len(shops):
            plan.append(({"kind": "company", "name": name + "（华强国际中心店）"}, shops[i], "tenant"))
    for i, code in enumerate(stores):
        name = SURNAMES[rnd.randrange(len(SURNAMES))] + GIVEN[rnd.randrange(len(GIVEN))]
        plan.append(({"kind": "person", "name": name, "phone": "13%d%08d" % (rnd.randrange(10), rnd.randrange(10 ** 8))},
                     code, "owner"))
    # A resident who can try the residents' pages (/m/): sign in with this
    # phone, the code is in $PM_DATA_DIR/sms.jsonl (make run's PM_SMS_FILE).
    if DEMO_RESIDENT[1] in unit_ids:
        plan.append(({"kind": "person", "name": DEMO_RESIDENT[0], "phone": DEMO_RESIDENT[2]}, DEMO_RESIDENT[1], "owner"))
    for party, code, role in plan:
        st, doc = api.call("POST", base + "/parties", party)
        if st in (404, 405, 501):
            print("demo: no parties endpoint yet (%s); skipped parties and move-ins" % st)
            break
        if st not in (200, 201):
            continue
        parties += 1
        st, _ = api.call("POST", "%s/units/%s/occupancies" % (base, unit_ids[code]),
                         {"party_id": doc["id"], "role": role, "start_date": "2026-01-01"})
        moved += st in (200, 201)
    if parties:
        print("demo: %d parties, %d moved in" % (parties, moved))
        print("demo: residents' pages /m/: sign in as %s (%s, owner of %s) with the code from $PM_DATA_DIR/sms.jsonl"
              % (DEMO_RESIDENT[2], DEMO_RESIDENT[0], DEMO_RESIDENT[1]))

    spaces = 0
    for lvl in ("B2", "B3"):
        for i in range(1, 21):
            st, _ = api.call("POST", base + "/parking-spaces", {"code": "%s-%03d" % (lvl, i), "zone": lvl})
            if st in (404, 405, 501):
                break
            spaces += st in (200, 201)
    if spaces:
        print("demo: %d parking spaces" % spaces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
