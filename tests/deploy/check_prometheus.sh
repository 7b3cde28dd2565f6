#!/usr/bin/env bash
# tests/deploy/check_prometheus.sh: the alert rules of deploy/prometheus, offline.
#
#   1. `promtool check rules deploy/prometheus/pm-rules.yml`
#   2. `promtool test rules deploy/prometheus/pm-rules.test.yml`: synthetic series
#      that must fire PmGatewayDown, PmGatewayAbsent, PmServiceNoWorkers,
#      PmServiceAbsent, PmServiceBacklog, PmHttp5xxHigh, PmHttpLatencyHigh, and a
#      healthy stack that must fire none
#   3. the check's own test: a rule with broken PromQL must fail `check rules`, and
#      a rule whose threshold no longer matches must fail `test rules`
#
# promtool comes with Debian's prometheus package (make deps installs it without
# starting the server).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/deploy/prometheus
failures=0
ok() { echo "ok - prometheus: $*"; }
fail() { echo "FAIL - prometheus: $*"; failures=$((failures + 1)); }

command -v promtool > /dev/null 2>&1 \
    || { fail "promtool not found (make deps installs Debian's prometheus package)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-prom.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ver=$(promtool --version 2>&1 | head -n 1)

if promtool check rules "$SRC/pm-rules.yml" > "$tmp/check.log" 2>&1; then
    ok "promtool check rules pm-rules.yml: $(grep -o '[0-9]* rules found' "$tmp/check.log") ($ver)"
else
    fail "promtool check rules pm-rules.yml:"
    sed 's/^/    /' "$tmp/check.log"
fi
if (cd "$SRC" && promtool test rules pm-rules.test.yml) > "$tmp/test.log" 2>&1; then
    ok "promtool test rules pm-rules.test.yml: $(grep -c 'alertname:' "$SRC/pm-rules.test.yml") alert expectations, $(grep -c 'expr:' "$SRC/pm-rules.test.yml") expressions"
else
    fail "promtool test rules pm-rules.test.yml:"
    sed 's/^/    /' "$tmp/test.log"
fi

# the check fails on broken rules
sed 's/expr: max by (service) (pm_service_workers) == 0/expr: max by (service) (pm_service_workers == 0/' \
    "$SRC/pm-rules.yml" > "$tmp/syntax.yml"
if promtool check rules "$tmp/syntax.yml" > "$tmp/bad.log" 2>&1; then
    fail "a rule with unbalanced parentheses passed promtool check rules"
else
    ok "a rule with broken PromQL is refused by check rules"
fi
mkdir -p "$tmp/threshold"
sed 's/expr: max by (service) (pm_service_workers) == 0/expr: max by (service) (pm_service_workers) < 0/' \
    "$SRC/pm-rules.yml" > "$tmp/threshold/pm-rules.yml"
cp "$SRC/pm-rules.test.yml" "$tmp/threshold/"
if ! cmp -s "$SRC/pm-rules.yml" "$tmp/threshold/pm-rules.yml" \
   && ! (cd "$tmp/threshold" && promtool test rules pm-rules.test.yml) > "$tmp/bad.log" 2>&1 \
   && grep -q 'PmServiceNoWorkers' "$tmp/bad.log"; then
    ok "a PmServiceNoWorkers that cannot fire is caught by test rules"
else
    fail "a PmServiceNoWorkers that cannot fire passed promtool test rules"
fi

(( failures == 0 ))
