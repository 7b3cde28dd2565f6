#!/usr/bin/env python3
"""run.py: runs the black-box tests against real processes.

    python3 tests/blackbox/run.py                      # every tests/blackbox/test_*.py
    python3 tests/blackbox/run.py test_ops.py          # some files
    python3 tests/blackbox/run.py test_ops.py::test_x  # one test (the file's Stack still starts)

One Stack (harness.py) per file, customised by a module-level
`STACK = dict(env={...}, scale={...})` (STACK = None: the file needs no stack and
its tests get None). Every `def test_xxx(stack)` runs once, in file order; each
prints `ok - file::test` or `FAIL - file::test: why`, a failure followed by the
new lines of the logs written during the test. A process that dies during a test
(not killed by the test through the harness) fails that test and is started
again.

A test that cannot run here raises unittest.SkipTest(why): `skip - file::test: why`.
A file that cannot run at all sets `SKIP = "why"` (no stack starts; each of its
tests is a skip). tests/run.sh fails the run on any skip not in tests/skips.txt.
`test_setup*`, `test_cleanup*`, `test_teardown*` and `test_zz_*` (a file's last
clean-up) run like tests but are not counted as passed tests (`setup -
file::name`); their failure is one.

Ends with `N passed, N failed, N skipped`; exit 1 on any failure.

Environment: BUILD (build), PM_TEST_TIMEOUT (120 s per test), PM_TEST_KEEP=1
(keep a failed file's temp dir), PM_TEST_VERBOSE=1 (log tails for passing tests too).
"""

import importlib.util
import os
import re
import signal
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, HERE)
import harness  # noqa: E402

TEST_TIMEOUT = int(os.environ.get("PM_TEST_TIMEOUT", "120"))
# set-up and clean-up steps: run in order like tests, a failure counts, a pass does not
SETUP = re.compile(r"^test_(setup|cleanup|teardown|zz)(_|$)")


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("timed out after %d s (PM_TEST_TIMEOUT)" % TEST_TIMEOUT)


def _on_term(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def load(path):
    name = "bb_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tests_of(mod):
    return [(k, v) for k, v in vars(mod).items()
            if k.startswith("test_") and callable(v) and getattr(v, "__module__", None) == mod.__name__]


def why(exc):
    msg = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, AssertionError):
        msg = "%s: %s" % (type(exc).__name__, msg)
    return " | ".join(msg.splitlines())[:800]


def where(exc, path):
    """file:line of the innermost frame in the test file, for the FAIL line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return "%s:%d" % (os.path.basename(path), frames[-1].lineno) if frames else ""


def log_sizes(stack):
    out = {}
    if stack is None:
        return out
    for p in stack.logs():
        try:
            out[p] = os.path.getsize(p)
        except OSError:
            pass
    return out


def new_log_lines(stack, before, lines=15):
    if stack is None:
        return ""
    chunks = []
    for p in stack.logs():
        start = before.get(p, 0)
        try:
            with open(p, "rb") as f:
                f.seek(start)
                data = f.read()
        except OSError:
            continue
        if not data:
            continue
        text = data.decode("utf-8", "replace").splitlines()[-lines:]
        chunks.append("    --- %s (last %d new lines)\n%s" % (
            os.path.relpath(p, stack.tmpdir), len(text), "\n".join("    " + t for t in text)))
    return "\n".join(chunks)


def run_file(path, only, counts):
    rel = os.path.basename(path)
    try:
        mod = load(path)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        print("FAIL - %s::<import>: %s" % (rel, why(e)), flush=True)
        traceback.print_exc()
        counts[1] += 1
        return
    tests = [(n, f) for n, f in tests_of(mod) if not only or n in only]
    if not tests:
        return
    if getattr(mod, "SKIP", None):
        for n, _ in tests:
            if not SETUP.match(n):
                counts[2] += 1
                print("skip - %s::%s: %s" % (rel, n, mod.SKIP), flush=True)
        return
    cfg = getattr(mod, "STACK", {})
    stack = None
    try:
        if cfg is not None:
            t0 = time.monotonic()
            try:
                stack = harness.Stack(**cfg)
            except Exception as e:
                for n, _ in tests:
                    print("FAIL - %s::%s: stack did not start: %s" % (rel, n, why(e).split(" | ")[0]),
                          flush=True)
                    counts[1] += 1
                print(str(e), flush=True)
                return
            print("# %s: stack up in %.1f s (%s)" % (rel, time.monotonic() - t0, stack.tmpdir), flush=True)
        for name, fn in tests:
            before = log_sizes(stack)
            t0 = time.monotonic()
            err = None
            signal.alarm(TEST_TIMEOUT)
            try:
                fn(stack)
            except KeyboardInterrupt:
                raise
            except unittest.SkipTest as e:
                err = e
            except BaseException as e:  # SystemExit from a test counts as a failure too
                err = e
            finally:
                signal.alarm(0)
            dt = time.monotonic() - t0
            crashed = stack.dead() if stack is not None else []
            if err is None and crashed:
                err = AssertionError("; ".join("pm-%s pid %d died during the test (status %s)" % (
                    p.name, p.pid, p.popen.returncode) for p in crashed))
            if isinstance(err, unittest.SkipTest):
                counts[2] += 1
                print("skip - %s::%s: %s" % (rel, name, why(err)), flush=True)
            elif err is None and SETUP.match(name):
                print("setup - %s::%s (%.1f s)" % (rel, name, dt), flush=True)
            elif err is None:
                counts[0] += 1
                print("ok - %s::%s (%.1f s)" % (rel, name, dt), flush=True)
                if os.environ.get("PM_TEST_VERBOSE") == "1":
                    print(new_log_lines(stack, before), flush=True)
            else:
                counts[1] += 1
                if stack is not None:
                    stack.failed = True
                loc = where(err, path)
                print("FAIL - %s::%s: %s%s" % (rel, name, why(err), " (%s)" % loc if loc else ""), flush=True)
                if not isinstance(err, AssertionError):
                    tb = traceback.format_exception(type(err), err, err.__traceback__)
                    print("".join("    " + line for line in "".join(tb).splitlines(True)[-12:]), flush=True)
                logs = new_log_lines(stack, before)
                if logs:
                    print(logs, flush=True)
            for p in crashed:  # keep the rest of the file running on a whole stack
                with stack._lock:
                    if p in stack.procs[p.name]:
                        stack.procs[p.name].remove(p)
                stack.start(p.name)
    finally:
        if stack is not None:
            stack.stop()
            if stack.unclean:
                counts[1] += 1
                print("FAIL - %s::<stop>: %s" % (rel, stack.unclean[0].splitlines()[0]), flush=True)
                for u in stack.unclean:
                    print("    " + u.replace("\n", "\n    "), flush=True)


def main(argv):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    selected = {}  # path -> set of test names (empty: all)
    args = argv or sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    for a in args:
        f, _, t = a.partition("::")
        path = f if os.path.isabs(f) else (f if os.path.exists(f) else os.path.join(HERE, f))
        path = os.path.abspath(path)
        if not os.path.exists(path):
            print("FAIL - %s::<file>: no such file" % f, flush=True)
            selected.setdefault(None, set())
            continue
        names = selected.setdefault(path, set())
        if t:
            names.add(t)
    counts = [0, 0, 0]  # passed, failed, skipped
    if None in selected:
        counts[1] += 1
        del selected[None]
    try:
        for path, only in selected.items():
            run_file(path, only, counts)
    except KeyboardInterrupt:
        harness.stop_all()
        print("interrupted", flush=True)
        print("%d passed, %d failed, %d skipped" % (counts[0], counts[1] + 1, counts[2]), flush=True)
        return 130
    print("%d passed, %d failed, %d skipped" % (counts[0], counts[1], counts[2]), flush=True)
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
