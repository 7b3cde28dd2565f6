"""browser: what the browser tests (test_console.py, test_mobile.py) share on the
Python side: whether a browser can run here (PREREQ), where screenshots go, and
one `node <script> --serve` (one chromium) per stack that takes scenario names
on its stdin (tests/browser/runner.mjs is the JavaScript side of the same).

    _browser = browser.Runner("console.mjs")
    verdict = _browser.scenario(stack, {"PM_SEED": ..., "PM_STATE": ...}, "login")
    assert verdict.startswith("ok - "), verdict
    ...
    _browser.close()  # after the file's last scenario

Needs node, chromium (/usr/bin/chromium, or PM_CHROMIUM) and
tests/browser/node_modules: when that is missing, importing this module runs
`npm ci --prefix tests/browser` (package-lock.json pins playwright-core 1.61,
the last that runs on Debian 12's own Node.js 18). PREREQ is None when the
browser tests can run, else (skip?, why): a skip on a machine without node or
npm, or with a node older than 18; a failure for a missing chromium or a failed
`npm ci` (`make deps` installs chromium, nodejs and npm).
"""

import atexit
import os
import select
import shutil
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
# where the screenshots go: unset, the stack's temp dir (see shots_dir); set,
# that directory (docs/screenshots refreshes the README's); empty, none
SHOTS = os.environ.get("PM_SCREENSHOTS")
CHROMIUM = os.environ.get("PM_CHROMIUM", "/usr/bin/chromium")
SCENARIO_TIMEOUT = 90


def _prerequisites():
    """None when the browser tests can run; else (skip?, why)."""
    if not shutil.which("node") or not shutil.which("npm"):
        return (True, "node/npm not installed (make deps installs nodejs and npm)")
    # playwright-core 1.61 (tests/browser/package-lock.json) needs Node.js >= 18: Debian 12's own.
    try:
        major = int(subprocess.run(["node", "--version"], stdout=subprocess.PIPE, timeout=30)
                    .stdout.decode().strip().lstrip("v").split(".")[0])
    except (ValueError, OSError, subprocess.TimeoutExpired):
        major = 0
    if major < 18:
        return (True, "playwright-core needs Node.js >= 18, this is node %s" % (major or "?"))
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (False, "%s not found: install Debian's chromium (make deps)" % CHROMIUM)
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        print("# browser tests: npm ci --prefix tests/browser", flush=True)
        try:
            r = subprocess.run(["npm", "ci", "--prefix", BROWSER_DIR, "--no-audit", "--no-fund"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        except subprocess.TimeoutExpired:
            return (False, "npm ci --prefix tests/browser timed out (the npm registry?)")
        if r.returncode != 0:
            return (False, "npm ci --prefix tests/browser failed: %s"
                    % r.stdout.decode("utf-8", "replace").strip().splitlines()[-1:])
    return None


PREREQ = _prerequisites()


def shots_dir(stack):
    """Where a scenario saves its screenshots: "" for none."""
    if SHOTS is None:
        return os.path.join(stack.tmpdir, "screenshots")
    return os.path.join(ROOT, SHOTS) if SHOTS else ""


class Runner:
    """One `node <script> --serve` (one chromium) per stack; scenario names go
    to its stdin, its verdicts come on its stdout. A file keeps one Runner; the
    process ends with close(), with a new stack, or when Python exits."""

    def __init__(self, script):
        self.script = os.path.join(BROWSER_DIR, script)
        self.proc = None
        self.url = None
        atexit.register(self.close)

    def close(self):
        p, self.proc = self.proc, None
        if p and p.poll() is None:
            try:
                p.stdin.close()
                p.wait(timeout=10)
            except Exception:
                p.kill()
                p.wait()

    def start(self, stack, env):
        """The running process for this stack, else a new one, with the
        environment of the tests plus PM_BASE_URL, PM_SCREENSHOTS, PM_CHROMIUM
        and the file's own `env` (PM_SEED, PM_STATE, ...)."""
        if self.proc and self.proc.poll() is None and self.url == stack.base_url:
            return self.proc
        self.close()
        shots = shots_dir(stack)
        if shots:
            os.makedirs(shots, exist_ok=True)
        full = dict(os.environ, PM_BASE_URL=stack.base_url, PM_SCREENSHOTS=shots, PM_CHROMIUM=CHROMIUM)
        full.update(env)
        self.proc = subprocess.Popen(["node", self.script, "--serve"], cwd=BROWSER_DIR, env=full,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.url = stack.base_url
        return self.proc

    def scenario(self, stack, env, name, timeout=SCENARIO_TIMEOUT, echo=False):
        """Runs scenario `name` (in the process start() gives) and returns its
        verdict line: `ok - NAME (N s)` or `FAIL - NAME: why`. A scenario that
        takes over `timeout` s, or a runner that ends, is an AssertionError (and
        the process is gone). echo: print the runner's lines as they come."""
        p = self.start(stack, env)
        p.stdin.write((name + "\n").encode())
        p.stdin.flush()
        out = []
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                p.kill()
                self.close()
                raise AssertionError("scenario %s took over %d s: %s" % (name, timeout, "".join(out)[-500:]))
            line = p.stdout.readline().decode("utf-8", "replace")
            if not line:
                self.close()
                raise AssertionError("the browser runner ended during %s: %s" % (name, "".join(out)[-900:]))
            out.append(line)
            if echo:
                print("    " + line.rstrip(), flush=True)
            if line.startswith("ok - %s " % name) or line.startswith("FAIL - %s:" % name):
                return line.strip()
