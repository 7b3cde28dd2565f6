"""wrkrun: runs wrk and reads its report, for the Python parts of bench/*.sh
(bench/tickets.sh, bench/payments.sh)."""

import os
import re
import subprocess


def to_us(v):
    """A wrk latency ("812.33us", "1.20ms", "2.01s") in microseconds; 0 if unreadable."""
    m = re.match(r"^([0-9.]+)(us|ms|s)$", v or "")
    if not m:
        return 0
    return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1000000}[m.group(2)]


def wrk(out, name, url, dur, threads, conns, *args):
    """wrk -tTHREADS -cCONNS -dDURs --latency ARGS URL, its report kept in OUT/NAME.txt.
    Returns (req/s, p50 us, p99 us, failed: non-2xx/3xx answers plus socket errors)."""
    path = os.path.join(out, name + ".txt")
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % dur, "--latency"] + list(args) + [url]
    with open(path, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False, timeout=dur + 60)
    text = open(path).read()
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    bad = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return (round(float(rps.group(1))) if rps else 0, to_us(p50.group(1) if p50 else ""),
            to_us(p99.group(1) if p99 else ""), bad)
