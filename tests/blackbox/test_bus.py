"""The bus as an attacker on the same network meets it (README, Security).

A ZeroMQ peer without a key, with a key on no allow-list, or with a service's
key claiming another identity gets no answer and no registration; a key's
event wake-ups reach consumers only under its own name. Tried on this file's
stack (ipc://, as make run) and on a second stack with the compose file's tcp://
endpoints, started locally. tests/tools/bus_probe.c is the hostile peer."""
import concurrent.futures
import json
import os
import shutil
import stat
import subprocess

from harness import ROOT, Stack, free_port

PROBE = os.path.join(ROOT, os.environ.get("BUILD", "build"), "tools", "bus_probe")


def probe(stack, key, *args):
    r = subprocess.run([PROBE, key] + list(args), env=stack.env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, "bus_probe %s %s: exit %d %s" % (key, args, r.returncode,
                                                              r.stderr.decode()[-500:])
    return json.loads(r.stdout.decode())


def check_bus(stack):
    """Every refusal the issue lists, then the legitimate paths still work. The probes
    wait a second each for an answer that must not come: they run side by side."""
    silent = []  # (key, args): no answer, no registration, nothing delivered
    for key in ("none", "stranger"):
        silent += [(key, ("call", "broker.stats", "gateway", "service")),
                   (key, ("call", "tenants.properties.list", "u", "admin")),
                   (key, ("call", "tenants.events.read", "billing", "service")),
                   (key, ("ready", "tenants")),
                   (key, ("publish", "tenants"))]
    # billing's key speaking for others
    for user, role in (("u", "admin"), ("u", "manager"), ("tenants", "service"),
                       ("gateway", "service")):
        silent.append(("billing", ("call", "tenants.properties.list", user, role)))
    silent += [("billing", ("ready", "tenants")),
               ("billing", ("publish", "tenants")),
               # the gateway's key may not wake any producer's consumers either
               ("gateway", ("publish", "billing"))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda ka: probe(stack, ka[0], *ka[1]), silent))
    for (key, args), got in zip(silent, results):
        what = "%s key, %s: %s" % (key, " ".join(args), got)
        if args[0] == "publish":
            assert got["delivered"] == 0, what
        else:
            assert got["answer"] is None, what
        if args[0] == "ready":
            assert got["workers_after"] == got["workers_before"] == 1, what

    # the same keys as themselves are served
    assert probe(stack, "billing", "call", "tenants.ping", "billing", "service")["answer"] == 200
    assert probe(stack, "gateway", "call", "tenants.properties.list", "u", "admin")["answer"] == 200
    assert probe(stack, "billing", "publish", "billing")["delivered"] > 0
    # and the stack as a whole still answers over HTTP
    assert stack.http("GET", "/readyz").status == 200


def test_ipc_bus_refuses_strangers(stack):
    check_bus(stack)


def test_keys_on_disk_are_private(stack):
    d = stack.keys_dir()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, oct(os.stat(d).st_mode)
    names = sorted(os.listdir(d))
    for n in ("broker.key", "gateway.key", "tenants.key", "tickets.key", "billing.key",
              "notifications.key", "broker.pub", "allow"):
        assert n in names, names
    for n in names:
        mode = stat.S_IMODE(os.stat(os.path.join(d, n)).st_mode)
        assert mode == 0o600, "%s is %o" % (n, mode)
    allow = open(os.path.join(d, "allow")).read().split("\n")
    ids = sorted(line.split()[0] for line in allow if line.strip())
    # the daemons, and "test": the key of the tests' own bus clients (harness.py)
    assert ids == ["billing", "gateway", "notifications", "tenants", "test", "tickets"], ids
    # keygen again changes nothing: the running daemons' keys stay valid
    before = {n: open(os.path.join(d, n)).read() for n in names}
    stack.keygen()
    assert {n: open(os.path.join(d, n)).read() for n in names} == before


def test_rotation_new_key_beside_old(stack):
    """Rotation: a second key for an identity on the allow-list works beside the first
    after the broker restarts; a key taken off the list no longer works."""
    d = stack.keys_dir()
    rot = os.path.join(stack.tmpdir, "keys-rot")
    env = dict(stack.env, PM_KEYS_DIR=rot)
    os.makedirs(rot, mode=0o700)
    # the new tenants key, made elsewhere and added to the broker's list
    r = subprocess.run([stack._bin("broker"), "keygen", "tenants"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 0, r.stdout
    new_line = open(os.path.join(rot, "allow")).read().strip()
    with open(os.path.join(d, "allow"), "a") as f:
        f.write(new_line + "\n")
    # a probe with the new key, pinned to the real broker
    shutil.copy(os.path.join(d, "broker.pub"), os.path.join(rot, "broker.pub"))
    rot_env_stack = type("S", (), {"env": env})()
    assert probe(rot_env_stack, "tenants", "call", "tenants.ping", "tenants", "service")["answer"] is None
    stack.restart_broker()
    stack.wait_ready()
    assert probe(rot_env_stack, "tenants", "call", "tenants.ping", "tenants", "service")["answer"] == 200
    # the old key still works (the running tenants worker uses it)
    assert probe(stack, "tenants", "call", "tenants.ping", "tenants", "service")["answer"] == 200
    # take the new key off again: refused after the next restart
    lines = [l for l in open(os.path.join(d, "allow")).read().split("\n") if l and l != new_line]
    with open(os.path.join(d, "allow"), "w") as f:
        f.write("\n".join(lines) + "\n")
    stack.restart_broker()
    stack.wait_ready()
    assert probe(rot_env_stack, "tenants", "call", "tenants.ping", "tenants", "service")["answer"] is None


def test_broker_tap_needs_consent(stack):
    """PM_BROKER_TAP writes whole requests: refused without PM_BROKER_TAP_I_KNOW=1."""
    env = dict(stack.env, PM_BROKER_TAP=os.path.join(stack.tmpdir, "tap.jsonl"),
               PM_BROKER_ENDPOINT="ipc://%s/other.ipc" % stack.tmpdir,
               PM_EVENTS_IN_ENDPOINT="ipc://%s/other-in.ipc" % stack.tmpdir,
               PM_EVENTS_OUT_ENDPOINT="ipc://%s/other-out.ipc" % stack.tmpdir)
    r = subprocess.run([stack._bin("broker")], env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert r.returncode == 1 and b"PM_BROKER_TAP_I_KNOW" in r.stdout, r.stdout[-400:]
    assert not os.path.exists(env["PM_BROKER_TAP"])


def test_tcp_bus_refuses_strangers(stack):
    """The compose file's setup: every daemon on tcp:// endpoints (here on 127.0.0.1)."""
    ports = [free_port() for _ in range(3)]
    env = {
        "PM_BROKER_ENDPOINT": "tcp://127.0.0.1:%d" % ports[0],
        "PM_EVENTS_IN_ENDPOINT": "tcp://127.0.0.1:%d" % ports[1],
        "PM_EVENTS_OUT_ENDPOINT": "tcp://127.0.0.1:%d" % ports[2],
    }
    tcp = Stack(env=env)
    try:
        check_bus(tcp)
    finally:
        tcp.stop()
