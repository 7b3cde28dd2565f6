#!/usr/bin/env python3
"""stack.py: a benchmark stack for bench/run.sh, through tests/blackbox/harness.py.

Starts a Stack (own PostgreSQL, broker, services, gateway on a free port), logs in,
creates one property, one unit and one occupant (a party moved in), prints one line
    <base_url> <token> <property_id> <unit_id> <tmpdir> <name>=<pid>,<name>=<pid>,...
(the last field: every pm-* process of the stack) and keeps everything running until its
standard input closes (or SIGTERM/SIGINT), then stops it all.

The gateway may hold PM_BENCH_IDLE_CONNS (10,000) idle connections from 127.0.0.1 for
bench/idle.py, so this stack (only this one) lifts the limits that would refuse them: the
open-file limit the daemons inherit, PM_HTTP_MAX_CONNECTIONS and PM_HTTP_CONN_PER_ADDR
(one address may otherwise hold 128). Nothing else differs from a default stack.
Environment: PM_BENCH_SCALE_TENANTS (2), PM_BENCH_LOG_LEVEL (warn), PM_BENCH_IDLE_CONNS, BUILD.
"""

import os
import resource
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "blackbox"))
import harness  # noqa: E402


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    scale = {"tenants": int(os.environ.get("PM_BENCH_SCALE_TENANTS", "2"))}
    conns = int(os.environ.get("PM_BENCH_IDLE_CONNS", "10000"))
    env = {"PM_LOG_LEVEL": os.environ.get("PM_BENCH_LOG_LEVEL", "warn"),
           "PM_HTTP_MAX_CONNECTIONS": str(conns + 1000), "PM_HTTP_CONN_PER_ADDR": "0"}
    # the daemons inherit our limit: the gateway needs a descriptor per connection
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = conns + 4096
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY
                                                        else min(want, hard), hard))
        except (ValueError, OSError) as e:
            print("bench stack: cannot raise the open-file limit: %s" % e, file=sys.stderr)
    stack = harness.Stack(scale=scale, env=env)
    try:
        token = stack.admin_token
        r = stack.http("POST", "/v1/properties", token=token,
                       body={"code": "BENCH-1", "name": "压测大厦", "timezone": "Asia/Shanghai"})
        assert r.status == 201, "create property: %r" % r
        pid = r.json()["id"]
        r = stack.http("POST", "/v1/properties/%s/units" % pid, token=token,
                       body={"code": "A-1201", "building": "A", "floor": "12", "area_m2": 128.46,
                             "use": "office"})
        assert r.status == 201, "create unit: %r" % r
        uid = r.json()["id"]
        # one current occupant, so the measured GET reads occupants (masked for the agent)
        r = stack.http("POST", "/v1/properties/%s/parties" % pid, token=token,
                       body={"kind": "person", "name": "王建华", "phone": "13800138000",
                             "id_type": "passport", "id_number": "E12345678"})
        assert r.status == 201, "create party: %r" % r
        r = stack.http("POST", "/v1/properties/%s/units/%s/occupancies" % (pid, uid), token=token,
                       body={"party_id": r.json()["id"], "role": "owner", "start_date": "2024-01-01"})
        assert r.status == 201, "move in: %r" % r
        # the GET is an agent's: the desk's everyday read, scoped to the property
        r = stack.http("POST", "/v1/users", token=token,
                       body={"username": "bench-agent", "password": "bench-agent-pass-1", "role": "agent",
                             "property_ids": [pid]})
        assert r.status == 201, "create agent: %r" % r
        token = stack.login("bench-agent", "bench-agent-pass-1")
        pids = ",".join("%s=%d" % (name, p.pid) for name in harness.ALL for p in stack.procs[name])
        print(stack.base_url, token, pid, uid, stack.tmpdir, pids, flush=True)
        sys.stdin.read()  # until bench/run.sh closes our stdin
    finally:
        stack.stop()


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, harness.StackError) as e:
        print("bench stack: %s" % e, file=sys.stderr)
        sys.exit(1)
