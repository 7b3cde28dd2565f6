#!/usr/bin/env bash
# tests/run.sh: every test (make test; make asan runs it on the sanitizer build).
#
#   1. each $BUILD/tests/test_* cmocka binary (a crash or a non-zero exit without a
#      cmocka failure count is one failed test; a skipped cmocka test is a skip)
#   2. the black-box suite, tests/blackbox/run.py (real processes, own PostgreSQL per file)
#   3. the backup and schema-move tests (tests/backup, as `make backup-test`), one test;
#      then the black-box files that cross services again, a PostgreSQL cluster per service
#      (PM_SPLIT_DB=1, "split databases"), each test counted
#   4. `docker-compose config -q`, then the deployment checks of tests/deploy (k8s
#      manifests, systemd units, Prometheus rules: one test each)
#   5. the OpenAPI lint of proto/openapi.yaml (npx @redocly/cli, pinned to a version
#      that runs on Debian 12's own Node.js 18)
# Every skip prints `skip - <file>::<test>: why`; a skip not on tests/skips.txt is a failure.
# Ends with one line `N passed, N failed, N skipped` (tools read its first two fields);
# exits 1 on any failure or when nothing ran.
#
# Environment: BUILD (build), PM_UNIT_TIMEOUT (300 s per binary), PM_SKIP_LINT=1 (the lint
# is then a skip, not on the allow-list: the run fails), PM_TEST_SLOWDOWN (the factor timed
# assertions scale by; 3 by default on an ASan build); arguments are passed to run.py (e.g.
# `bash tests/run.sh test_ops.py`: no packaging checks then).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
export BUILD=${BUILD:-build}
export PYTHONDONTWRITEBYTECODE=1
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3   # Debian's; the tests need only its stdlib
passed=0
failed=0
skipped=0
out=$(mktemp -d "${TMPDIR:-/tmp}/pm-tests.XXXXXX")
trap 'rm -rf "$out"' EXIT
: > "$out/skips"

section() { printf '\n== %s\n' "$*"; }
# skip ID WHY: one skip, printed and kept for the allow-list check at the end
skip() {
    echo "skip - $1: $2"
    echo "$1" >> "$out/skips"
    skipped=$((skipped + 1))
}
# Timed assertions scale by PM_TEST_SLOWDOWN: 3 on a sanitizer build unless set (make asan)
if [[ -z ${PM_TEST_SLOWDOWN:-} ]]; then
    PM_TEST_SLOWDOWN=1
    grep -q __asan_init "$BUILD/bin/pm-broker" 2> /dev/null && PM_TEST_SLOWDOWN=3
fi
export PM_TEST_SLOWDOWN
echo "PM_TEST_SLOWDOWN=$PM_TEST_SLOWDOWN"
# The pinned linter: @redocly/cli 1.x supports Node.js >= 18.17 (2.x needs 20.19)
REDOCLY=@redocly/cli@1.34.20

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
    # cmocka names each skipped test on a line of its own (twice: as it runs, and listed)
    mapfile -t s < <(awk '/^\[  SKIPPED \] / && !/ test\(s\), listed below/ {print $4}' "$log" | sort -u)
    if (( rc != 0 && f == 0 )); then
        f=1   # crashed, timed out, or failed without a summary
        echo "FAIL - $t: exit status $rc$( ((rc == 124)) && echo ' (timed out)')"
    fi
    if (( rc == 0 && p == 0 && f == 0 && ${#s[@]} == 0 )); then
        p=1   # ran clean but printed no cmocka summary
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    for n in "${s[@]}"; do
        skip "$(basename "$t")::$n" "cmocka skip()"
    done
    if (( f )); then
        cat "$log"
    else
        echo "ok - $t: $p passed, ${#s[@]} skipped"
    fi
done

# ------------------------------------------------------------------ black-box tests
section "black-box tests (tests/blackbox)"
"$PY" tests/blackbox/run.py "$@" 2>&1 | tee "$out/blackbox.log"
rc=${PIPESTATUS[0]}
last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/blackbox.log" | tail -n 1)
sed -n 's/^skip - \([^:]*::[^:]*\): .*/\1/p' "$out/blackbox.log" >> "$out/skips"
if [[ -n $last ]]; then
    passed=$((passed + $(awk '{print $1}' <<< "$last")))
    failed=$((failed + $(awk '{print $3}' <<< "$last")))
    skipped=$((skipped + $(awk '{print $5}' <<< "$last")))
    if (( rc != 0 )) && [[ $(awk '{print $3}' <<< "$last") == 0 ]]; then
        echo "FAIL - tests/blackbox/run.py exited $rc"
        failed=$((failed + 1))
    fi
else
    echo "FAIL - tests/blackbox/run.py ended without a summary (exit $rc)"
    failed=$((failed + 1))
fi

# ------------------------------------------------------------------ backups (issue M)
# make backup-test's files, one test: base backup, restore to a point in time checked row
# by row, and the move of a schema to another cluster (~45 s)
if [[ $# -eq 0 ]]; then
    section "backups (tests/backup, make backup-test)"
    t0=$SECONDS
    "$PY" tests/blackbox/run.py tests/backup/test_backup.py tests/backup/test_move_schema.py > "$out/backup.log" 2>&1
    rc=$?
    if (( rc == 0 )) && grep -qE '^[0-9]+ passed, 0 failed, 0 skipped$' "$out/backup.log"; then
        echo "ok - make backup-test ($((SECONDS - t0)) s)"
        grep '^figure:' "$out/backup.log"
        passed=$((passed + 1))
    else
        echo "FAIL - make backup-test (exit $rc, $((SECONDS - t0)) s):"
        tail -n 60 "$out/backup.log"
        failed=$((failed + 1))
    fi
fi

# ------------------------------------------------------------------ split databases (issue M)
# The files that cross services run a second time with a PostgreSQL cluster per service
# (PM_SPLIT_DB=1, harness.py; as `PM_SPLIT_DB=1 make run`): events and their outage, webhooks,
# the copies of tenants in tickets, billing and notifications, move-ins with billing, receipts,
# residents, Idempotency-Keys (claimed in the gateway's database, applied in a service's) and
# every event type of every producer (test_event_examples).
# A query or a test that joins two services' schemas fails here. Each test counts. 91 tests,
# ~3 min (180 s; +2-3 s a file against one cluster); the time is printed (docs/OPERATIONS.md,
# "One database cluster per service"). test_split_db.py (in the suite above) checks the layout.
SPLIT_DB_FILES=(test_events.py test_webhooks.py test_tickets_tenants_copy.py test_notifications.py
    test_move_ins.py test_receipts.py test_occupancies.py test_me_scope.py test_idempotency.py
    test_billing_runs.py test_event_examples.py)
if [[ $# -eq 0 ]]; then
    section "split databases (PM_SPLIT_DB=1: a cluster per service, ${#SPLIT_DB_FILES[@]} files)"
    t0=$SECONDS
    PM_SPLIT_DB=1 "$PY" tests/blackbox/run.py "${SPLIT_DB_FILES[@]}" 2>&1 | tee "$out/split.log"
    rc=${PIPESTATUS[0]}
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/split.log" | tail -n 1)
    sed -n 's/^skip - \([^:]*::[^:]*\): .*/\1/p' "$out/split.log" >> "$out/skips"
    if [[ -n $last ]]; then
        read -r p _ f _ k _ <<< "$last"
        passed=$((passed + p))
        failed=$((failed + f))
        skipped=$((skipped + k))
        if (( rc != 0 && f == 0 )); then
            echo "FAIL - split databases: tests/blackbox/run.py exited $rc"
            failed=$((failed + 1))
        fi
    else
        echo "FAIL - split databases: tests/blackbox/run.py ended without a summary (exit $rc)"
        failed=$((failed + 1))
    fi
    echo "split databases: ${#SPLIT_DB_FILES[@]} files in $((SECONDS - t0)) s"
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
        skip "packaging::docker-compose" "docker-compose not installed (make deps installs it)"
    fi

    # deployment checks (tests/deploy): the k8s overlays rendered and validated, the
    # systemd units verified, the alert rules checked and unit-tested; each check is
    # one test. A missing tool (kubectl, node, systemd-analyze, promtool) fails it:
    # make deps installs them.
    section "deployment checks (tests/deploy)"
    for check in check_k8s check_systemd check_prometheus; do
        if timeout 600 bash "tests/deploy/$check.sh" > "$out/$check.log" 2>&1 < /dev/null; then
            echo "ok - tests/deploy/$check.sh: $(grep -c '^ok - ' "$out/$check.log") checks"
            passed=$((passed + 1))
        else
            echo "FAIL - tests/deploy/$check.sh:"
            cat "$out/$check.log"
            failed=$((failed + 1))
        fi
    done
    if [[ ${PM_SKIP_LINT:-0} == 1 ]]; then
        skip "packaging::openapi-lint" "PM_SKIP_LINT=1"
    elif ! command -v npx > /dev/null 2>&1; then
        skip "packaging::openapi-lint" "npx not installed (make deps installs nodejs and npm)"
    elif timeout 600 npx --yes "$REDOCLY" lint proto/openapi.yaml < /dev/null > "$out/lint.log" 2>&1; then
        echo "ok - OpenAPI lint ($REDOCLY lint proto/openapi.yaml, node $(node --version))"
        tail -n 3 "$out/lint.log"
        passed=$((passed + 1))
    else
        echo "FAIL - OpenAPI lint (npx --yes $REDOCLY lint proto/openapi.yaml, node $(node --version)):"
        tail -n 60 "$out/lint.log"
        failed=$((failed + 1))
    fi
fi

# ------------------------------------------------------------------ skips
# Each skip must be on tests/skips.txt (a glob of `file::test`, then why); any other fails.
allowed=()
if [[ -f tests/skips.txt ]]; then
    while read -r pat _; do
        [[ -z $pat || $pat == \#* ]] || allowed+=("$pat")
    done < tests/skips.txt
fi
while read -r id; do
    [[ -n $id ]] || continue
    ok=0
    for pat in "${allowed[@]}"; do
        # shellcheck disable=SC2053
        [[ $id == $pat ]] && { ok=1; break; }
    done
    if (( ! ok )); then
        echo "FAIL - skip not allowed by tests/skips.txt: $id"
        failed=$((failed + 1))
    fi
done < "$out/skips"

echo
(( passed + failed > 0 )) || failed=1   # nothing ran: that is a failure too
echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 ))
