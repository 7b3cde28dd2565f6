#!/usr/bin/env bash
# tests/run.sh: every test (make test; make asan runs it on the sanitizer build).
#
#   1. each $BUILD/tests/test_* cmocka binary (a crash or a non-zero exit without a
#      cmocka failure count is one failed test)
#   2. the black-box suite, tests/blackbox/run.py (real processes, own PostgreSQL per file)
#   3. `docker-compose config -q`, when docker-compose is installed
#   4. the OpenAPI lint (npx @redocly/cli), when npx and proto/openapi.yaml exist
# Ends with one line `N passed, N failed`; exits 1 on any failure or when nothing ran.
#
# Environment: BUILD (build), PM_UNIT_TIMEOUT (300 s per binary), PM_SKIP_LINT=1,
# arguments are passed to run.py (e.g. `bash tests/run.sh test_ops.py`).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export BUILD=${BUILD:-build}
export PYTHONDONTWRITEBYTECODE=1
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3   # Debian's; the tests need only its stdlib
passed=0
failed=0
out=$(mktemp -d "${TMPDIR:-/tmp}/pm-tests.XXXXXX")
trap 'rm -rf "$out"' EXIT

section() { printf '\n== %s\n' "$*"; }

# ------------------------------------------------------------------ unit tests
section "unit tests ($BUILD/tests)"
unit_bins=()
for t in "$BUILD"/tests/test_*; do
    [[ -f $t && -x $t ]] && unit_bins+=("$t")
done
(( ${#unit_bins[@]} )) || echo "no unit test binaries in $BUILD/tests"
for t in "${unit_bins[@]}"; do
    log="$out/$(basename "$t").log"
    CMOCKA_MESSAGE_OUTPUT=stdout timeout "${PM_UNIT_TIMEOUT:-300}" "$t" > "$log" 2>&1
    rc=$?
    p=$(awk '/^\[  PASSED  \] [0-9]+ test/ {n += $4} END {print n + 0}' "$log")
    f=$(awk '/^\[  FAILED  \] [0-9]+ test/ {n += $4} END {print n + 0}' "$log")
    if (( rc != 0 && f == 0 )); then
        f=1   # crashed, timed out, or failed without a summary
        echo "FAIL - $t: exit status $rc$( ((rc == 124)) && echo ' (timed out)')"
    fi
    if (( rc == 0 && p == 0 && f == 0 )); then
        p=1   # ran clean but printed no cmocka summary
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if (( f )); then
        cat "$log"
    else
        echo "ok - $t: $p passed"
    fi
done

# ------------------------------------------------------------------ black-box tests
section "black-box tests (tests/blackbox)"
"$PY" tests/blackbox/run.py "$@" 2>&1 | tee "$out/blackbox.log"
rc=${PIPESTATUS[0]}
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/blackbox.log" | tail -n 1)
if [[ -n $last ]]; then
    passed=$((passed + $(awk '{print $1}' <<< "$last")))
    failed=$((failed + $(awk '{print $3}' <<< "$last")))
    if (( rc != 0 )) && [[ $(awk '{print $3}' <<< "$last") == 0 ]]; then
        echo "FAIL - tests/blackbox/run.py exited $rc"
        failed=$((failed + 1))
    fi
else
    echo "FAIL - tests/blackbox/run.py ended without a summary (exit $rc)"
    failed=$((failed + 1))
fi

# ------------------------------------------------------------------ packaging checks
if [[ $# -eq 0 ]]; then
    section "packaging"
    if command -v docker-compose > /dev/null 2>&1; then
        if docker-compose -f docker-compose.yml config -q > "$out/compose.log" 2>&1; then
            echo "ok - docker-compose config -q"
            passed=$((passed + 1))
        else
            echo "FAIL - docker-compose config -q:"
            cat "$out/compose.log"
            failed=$((failed + 1))
        fi
    else
        echo "skip - docker-compose config -q: docker-compose not installed (make deps installs it)"
    fi
    if [[ ${PM_SKIP_LINT:-0} == 1 ]]; then
        echo "skip - OpenAPI lint: PM_SKIP_LINT=1"
    elif [[ ! -f proto/openapi.yaml ]]; then
        echo "skip - OpenAPI lint: no proto/openapi.yaml"
    elif ! command -v npx > /dev/null 2>&1; then
        echo "skip - OpenAPI lint: npx not installed (make deps installs nodejs and npm)"
    elif ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
                    process.exit((a == 20 && b >= 19) || (a == 22 && b >= 12) || a > 22 ? 0 : 1)'; then
        echo "skip - OpenAPI lint: @redocly/cli 2.77.0 needs Node.js >= 20.19, this is $(node --version)"
    elif timeout 600 npx --yes @redocly/cli@2.77.0 lint proto/openapi.yaml < /dev/null > "$out/lint.log" 2>&1; then
        echo "ok - OpenAPI lint (redocly lint proto/openapi.yaml)"
        tail -n 3 "$out/lint.log"
        passed=$((passed + 1))
    else
        echo "FAIL - OpenAPI lint (npx --yes @redocly/cli@2.77.0 lint proto/openapi.yaml):"
        tail -n 60 "$out/lint.log"
        failed=$((failed + 1))
    fi
fi

echo
(( passed + failed > 0 )) || failed=1   # nothing ran: that is a failure too
echo "$passed passed, $failed failed"
(( failed == 0 ))
