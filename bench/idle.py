#!/usr/bin/env python3
"""idle.py: the idle-RSS row of make bench (bench/run.sh).

    idle.py HOST PORT N NAME=PID,NAME=PID,... > figures.tsv

Opens N keep-alive connections to the gateway, makes one GET /healthz on each (so every
connection has been through a request, as a browser's idle connection has), keeps them
all open, waits a second for the gateway to settle, then reads VmRSS of each listed
process from /proc and checks that the N connections are still open. Prints lines
    rss_before_kb_<name>\t<pid>\t<kB> (one per process, before the connections)
    rss_kb_<name>\t<pid>\t<kB>        (one per process, with them)
    anon_kb_<name>\t<pid>\t<kB>       (its RssAnon: VmRSS less the mapped files, libraries)
    conns_open\t-\t<count>          (connections still open when RSS was read)
    conns_non200\t-\t<count>        (answers other than 200: refused by a limit)
and closes everything. At most PM_BENCH_IDLE_INFLIGHT (200) connections are being
set up at once, so the gateway's listen backlog never overflows (a dropped SYN costs a
1 s retransmit). Gives up after 120 s.
"""

import os
import resource
import select
import socket
import struct
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


def rss_kb(pid, field="VmRSS:"):
    """VmRSS (or RssAnon: the process's own memory, without the mapped libraries) in kB."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def answered(buf):
    """True when buf holds one whole HTTP response (headers and Content-Length bytes)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip() or 0)
    return len(buf) >= end + 4 + length


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    procs = [(kv.split("=")[0], int(kv.split("=")[1])) for kv in sys.argv[4].split(",") if "=" in kv]
    inflight_max = int(os.environ.get("PM_BENCH_IDLE_INFLIGHT", "200"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100 if hard == resource.RLIM_INFINITY
                                                    else min(n + 100, hard), hard))
    for name, pid in procs:  # before: what the connections add is the difference
        print("rss_before_kb_%s\t%d\t%d" % (name, pid, rss_kb(pid)))
    ep = select.epoll()
    socks, bufs, done, failed, bad = {}, {}, set(), 0, 0
    started = 0
    deadline = time.monotonic() + 120
    while len(done) + failed < n and time.monotonic() < deadline:
        while started < n and len(socks) - len(done) < inflight_max:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            # closed with a reset, not a FIN: 10,000 client ports in TIME_WAIT for a minute would
            # make a later bind() of a fixed port (the baseline's PostgreSQL, 55432) fail
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.connect_ex((host, port))
            socks[s.fileno()] = s
            bufs[s.fileno()] = None  # None: connecting; bytes: request sent, answer so far
            ep.register(s.fileno(), select.EPOLLOUT)
            started += 1
        for fd, ev in ep.poll(1.0):
            s = socks[fd]
            if bufs[fd] is None:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or ev & (select.EPOLLERR | select.EPOLLHUP):
                    ep.unregister(fd)
                    s.close()
                    del socks[fd], bufs[fd]
                    failed += 1
                    continue
                s.send(REQUEST)  # 40 bytes into an empty socket buffer: never partial
                bufs[fd] = b""
                ep.modify(fd, select.EPOLLIN)
                continue
            try:
                got = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                got = b""
            if not got:
                ep.unregister(fd)
                s.close()
                del socks[fd], bufs[fd]
                failed += 1
                continue
            bufs[fd] += got
            if answered(bufs[fd]):
                bad += not bufs[fd].startswith(b"HTTP/1.1 200")
                ep.unregister(fd)
                bufs[fd] = b""
                done.add(fd)
    time.sleep(1.0)
    for name, pid in procs:
        print("rss_kb_%s\t%d\t%d" % (name, pid, rss_kb(pid)))
        print("anon_kb_%s\t%d\t%d" % (name, pid, rss_kb(pid, "RssAnon:")))
    still = 0
    for fd in done:
        try:
            still += socks[fd].recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            still += 1  # nothing to read, not closed: open and idle
        except OSError:
            pass
    print("conns_open\t-\t%d" % still)
    print("conns_non200\t-\t%d" % bad)
    if len(done) + failed < n:
        print("idle: only %d of %d connections answered in 120 s" % (len(done), n), file=sys.stderr)
    for s in socks.values():
        s.close()


if __name__ == "__main__":
    main()
