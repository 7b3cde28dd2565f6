"""test_backup: backups that restore (issue M item 6), for real: scripts/backup.sh on the
cluster of a running stack, a restore to a point in time, and the product on the result.

    make backup-test        (or: BUILD=build python3 tests/blackbox/run.py tests/backup/test_backup.py)

1. archiving turned on under the running stack (backup.sh init --restart): the services reconnect;
2. writes through the API (tickets and payments: ids known), a base backup (size, seconds);
3. set A, the time T (the server's clock), set B, a WAL switch archived;
4. restore to T into a new data dir (seconds), PostgreSQL on it: EXACTLY the first writes and
   set A, nothing of set B, in tickets.tickets and billing.payments;
5. the product's services on the restored cluster: a ticket and a payment of set A are served
   through the API, set B's are 404;
6. retention: a second base, `prune --keep 1 --days 0` drops the first and the WAL before the
   second, and nothing else.
Prints `figure:` lines (base backup size and seconds, restore seconds) that docs/OPERATIONS.md
quotes. Runs under run.py with STACK = None: the file starts its own stacks.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "blackbox"))
import harness  # noqa: E402
from api import ok as _ok  # noqa: E402

STACK = None
ROOT = harness.ROOT
S = {}
WAL_NAME = re.compile(r"^[0-9A-F]{24}$")


def _run_rc(cmd, env=None, timeout=300):
    r = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def _run(cmd, env=None, timeout=300):
    rc, out = _run_rc(cmd, env, timeout)
    assert rc == 0, "%s exited %d:\n%s" % (" ".join(cmd[:4]), rc, out[-3000:])
    return out


def _pg(*args):
    return _run(["bash", os.path.join(ROOT, "scripts", "pg.sh")] + list(args), env={"PM_PG_FSYNC": "off"})


def _backup_cmd(*args):
    """scripts/backup.sh on the original cluster (the first stack's)."""
    st = S["stack"]
    return ["bash", os.path.join(ROOT, "scripts", "backup.sh"), "-c", "main",
            "-D", os.path.join(st.pg_dir, "data"), "-h", st.pg_dir, "-p", str(st.pg_port),
            "-b", S["backups"]] + list(args)


def _backup(*args):
    return _run(_backup_cmd(*args))


def _admin(stack, method, path, body=None):
    return stack.http(method, path, body=body, token=stack.admin_token)


def _write(tag):
    """Two tickets and one payment through the API; returns their ids."""
    st, pid, uid = S["stack"], S["pid"], S["uid"]
    tickets = [_ok(_admin(st, "POST", "/v1/properties/%s/tickets" % pid,
                          {"type": "repair", "title": "%s 报修 %d" % (tag, i), "unit_id": uid}),
                   201, "ticket %s" % tag)["id"] for i in range(2)]
    pay = _ok(_admin(st, "POST", "/v1/properties/%s/payments" % pid,
                     {"unit_id": uid, "amount": 12345, "method": "wechat", "external_ref": "bak-" + tag}),
              201, "payment %s" % tag)["id"]
    return {"tickets": set(tickets), "payments": {pay}}


def _ids(psql, table):
    return {r[0] for r in psql("SELECT id FROM %s" % table)}


def test_setup_archiving(stack):
    base = tempfile.mkdtemp(prefix="pm-bak-")
    os.chmod(base, 0o755)
    S["tmp"] = base
    S["backups"] = os.path.join(base, "backups")
    orig = os.path.join(base, "orig")
    os.makedirs(orig)
    os.chmod(orig, 0o755)
    st = S["stack"] = harness.Stack(tmpdir=orig, env={"PM_LATE_FEE_TICK_MS": "86400000"})
    # archiving on a running stack: configured, but archive_mode needs a restart (exit 3) ...
    rc, out = _run_rc(_backup_cmd("init"))
    assert rc == 3 and "restart" in out, "init without --restart: %d %s" % (rc, out)
    assert st.psql("SHOW archive_mode") == [("off",)], "not yet"
    # ... which --restart does, under the running services: they reconnect on their own
    out = _backup("init", "--restart")
    assert "archiving on" in out, out
    st.wait_ready()
    assert st.psql("SHOW archive_mode") == [("on",)], "archive_mode on"
    pid = _ok(_admin(st, "POST", "/v1/properties", {"code": "BAK-1", "name": "备份测试"}), 201, "property")["id"]
    uid = _ok(_admin(st, "POST", "/v1/properties/%s/units" % pid,
                     {"code": "A-0101", "area_m2": 88.5, "use": "residential"}), 201, "unit")["id"]
    S["pid"], S["uid"] = pid, uid
    harness.wait_for("billing's copy of the unit", lambda: st.psql(
        "SELECT 1 FROM billing.units WHERE unit_id = '%s'" % uid))
    S["first"] = _write("first")


def test_base_backup(stack):
    t0 = time.monotonic()
    out = _backup("base")
    wall = time.monotonic() - t0
    bases = sorted(os.listdir(os.path.join(S["backups"], "main", "base")))
    assert len(bases) == 1 and not bases[0].endswith(".partial"), bases
    d = os.path.join(S["backups"], "main", "base", bases[0])
    for f in ("base.tar.gz", "pg_wal.tar.gz", "backup_manifest", "pm-backup.info"):
        assert os.path.getsize(os.path.join(d, f)) > 0, "%s in %s" % (f, d)
    info = dict(line.split("=", 1) for line in open(os.path.join(d, "pm-backup.info")).read().splitlines())
    assert WAL_NAME.match(info["start_wal"]), info
    S["base1"] = bases[0]
    print("figure: base backup %.1f MB in %s s (pg_basebackup), verified in %s s; %.1f s in all"
          % (int(info["bytes"]) / 1e6, info["seconds"], info["verify_seconds"], wall), flush=True)
    assert "verified" in out, out


def test_set_a_time_set_b(stack):
    st = S["stack"]
    S["a"] = _write("A")
    # T: the server's clock, after set A's commits and before set B's
    S["T"] = st.psql("SELECT clock_timestamp()")[0][0]
    S["b"] = _write("B")
    # set B's last WAL segment must reach the archive: the restore replays past T
    seg = st.psql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]
    wal = os.path.join(S["backups"], "main", "wal")
    harness.wait_for("segment %s archived" % seg, lambda: os.path.exists(os.path.join(wal, seg)), timeout=30)
    every = lambda k: S["first"][k] | S["a"][k] | S["b"][k]  # noqa: E731
    assert _ids(st.psql, "tickets.tickets") == every("tickets"), "the original holds every ticket written"
    assert _ids(st.psql, "billing.payments") == every("payments"), "the original holds every payment"


def test_restore_to_t(stack):
    dest = os.path.join(S["tmp"], "restored")
    os.makedirs(dest)
    os.chmod(dest, 0o755)
    S["dest"] = dest
    port = harness.free_port()
    t0 = time.monotonic()
    S["pg_tmp"] = os.path.join(dest, "pg")
    out = _backup("restore", "--to", S["T"], "--into", os.path.join(dest, "pg", "data"), "--start", str(port))
    secs = time.monotonic() - t0
    assert S["base1"] in out, "the restore used the base taken before T: %s" % out
    print("figure: restore to T (unpack, replay, promote) %.1f s" % secs, flush=True)

    def psql(sql):
        r = _run([os.path.join(harness.PGBIN, "psql"), "-X", "-A", "-t", "-F", "|", "-h", os.path.join(dest, "pg"),
                  "-p", str(port), "-U", "postgres", "-d", "pm", "-c", sql])
        return [tuple(line.split("|")) for line in r.splitlines() if line]
    assert psql("SELECT pg_is_in_recovery()") == [("f",)], "promoted"
    want = lambda k: S["first"][k] | S["a"][k]  # noqa: E731
    got_t, got_p = _ids(psql, "tickets.tickets"), _ids(psql, "billing.payments")
    assert got_t == want("tickets"), "tickets after restore: extra %s, missing %s" % (
        got_t - want("tickets"), want("tickets") - got_t)
    assert got_p == want("payments"), "payments after restore: extra %s, missing %s" % (
        got_p - want("payments"), want("payments") - got_p)
    assert not got_t & S["b"]["tickets"] and not got_p & S["b"]["payments"], "nothing of set B"
    assert psql("SHOW archive_mode") == [("off",)], "a restored copy does not write into the archive"
    _pg("stop", os.path.join(dest, "pg"))
    S.pop("pg_tmp")


def test_product_serves_the_restored_data(stack):
    # the same admin password: the restored gateway schema holds the original admin
    st = S["restored"] = harness.Stack(tmpdir=S["dest"], env={
        "PM_ADMIN_PASSWORD": S["stack"].admin_password, "PM_LATE_FEE_TICK_MS": "86400000"})
    pid = S["pid"]
    tid = sorted(S["a"]["tickets"])[0]
    t = _ok(_admin(st, "GET", "/v1/properties/%s/tickets/%s" % (pid, tid)), 200, "a ticket of set A")
    assert t["id"] == tid and t["title"].startswith("A "), t
    pay = next(iter(S["a"]["payments"]))
    p = _ok(_admin(st, "GET", "/v1/properties/%s/payments/%s" % (pid, pay)), 200, "a payment of set A")
    assert p["amount"] == 12345, p
    for tid in S["b"]["tickets"]:
        r = _admin(st, "GET", "/v1/properties/%s/tickets/%s" % (pid, tid))
        assert r.status == 404, "a ticket of set B after the restore: %r" % r
    # and it takes new writes
    _ok(_admin(st, "POST", "/v1/properties/%s/tickets" % pid, {"type": "repair", "title": "恢复后"}), 201, "new")
    st.stop()
    assert not st.unclean, st.unclean


def test_prune_keeps_what_restores(stack):
    _backup("base")
    bdir = os.path.join(S["backups"], "main", "base")
    bases = sorted(os.listdir(bdir))
    assert len(bases) == 2, bases
    newest = bases[1]
    info = dict(line.split("=", 1) for line in open(os.path.join(bdir, newest, "pm-backup.info")).read().splitlines())
    wal = os.path.join(S["backups"], "main", "wal")
    segs = sorted(f for f in os.listdir(wal) if WAL_NAME.match(f))
    older = [f for f in segs if f[8:] < info["start_wal"][8:]]
    assert older, "WAL before the second base exists: %s" % segs
    out = _backup("prune", "--keep", "1", "--days", "0", "--dry-run")
    assert sorted(os.listdir(bdir)) == bases, "--dry-run drops nothing"
    assert "drop base main/%s" % bases[0] in out, out
    out = _backup("prune", "--keep", "1", "--days", "0")
    assert sorted(os.listdir(bdir)) == [newest], "the oldest base dropped: %s" % out
    left = sorted(f for f in os.listdir(wal) if WAL_NAME.match(f))
    assert left == [f for f in segs if f not in older] + [f for f in left if f not in segs], \
        "exactly the WAL before the kept base dropped: %s -> %s" % (segs, left)
    assert left and min(f[8:] for f in left) >= info["start_wal"][8:], left
    # a policy that keeps everything drops nothing
    _backup("prune", "--keep", "5", "--days", "7", "--weekly", "4")
    assert sorted(os.listdir(bdir)) == [newest]


def test_retention_policy(stack):
    """prune --keep 2 --days 7 --weekly 4 on 40 daily bases (their records only, dated back,
    and an archive of empty segments named as WAL): exactly the last 7 days and the newest
    base of each of the 4 weeks before them stay, and the WAL from the oldest kept base on."""
    import datetime
    bk = os.path.join(S["tmp"], "policy")
    bdir, wal = os.path.join(bk, "p", "base"), os.path.join(bk, "p", "wal")
    os.makedirs(bdir)
    os.makedirs(wal)
    now = int(time.time())
    seg = lambda n: "00000001%08X%08X" % (n >> 8, n & 0xFF)  # noqa: E731
    made = []
    for k in range(40):
        f = now - k * 86400 - 3600
        stamp = datetime.datetime.fromtimestamp(f, datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.000Z")
        os.makedirs(os.path.join(bdir, stamp))
        with open(os.path.join(bdir, stamp, "pm-backup.info"), "w") as fh:
            fh.write("cluster=p\nstamp=%s\nfinished_epoch=%d.000\nstart_wal=%s\n" % (stamp, f, seg(1000 - 3 * k)))
        made.append((stamp, f, 1000 - 3 * k))
    for n in range(1000 - 3 * 39 - 5, 1001):
        open(os.path.join(wal, seg(n)), "w").close()
    cutoff = now - 7 * 86400
    want, weeks = set(), set()
    for stamp, f, _ in made:  # newest first
        if f >= cutoff:
            want.add(stamp)
            continue
        wk = datetime.datetime.fromtimestamp(f, datetime.timezone.utc).isocalendar()[:2]
        if wk not in weeks and len(weeks) < 4:
            weeks.add(wk)
            want.add(stamp)
    assert len(want) == 11, want
    _run(["bash", os.path.join(ROOT, "scripts", "backup.sh"), "-c", "p", "-b", bk,
          "prune", "--keep", "2", "--days", "7", "--weekly", "4"])
    assert set(os.listdir(bdir)) == want, "kept %s, wanted %s" % (sorted(os.listdir(bdir)), sorted(want))
    oldest = min(n for stamp, _, n in made if stamp in want)
    left = sorted(os.listdir(wal))
    assert left == [seg(n) for n in range(oldest, 1001)], "WAL kept: %s .. %s (%d), wanted from %s" % (
        left[0], left[-1], len(left), seg(oldest))


def test_zz_cleanup(stack):
    for k in ("restored", "stack"):
        if k in S:
            S[k].stop()
    if "pg_tmp" in S:
        try:
            _pg("stop", S["pg_tmp"])
        except AssertionError:
            pass
    if "tmp" in S and os.environ.get("PM_TEST_KEEP") != "1":
        shutil.rmtree(S["tmp"], ignore_errors=True)
