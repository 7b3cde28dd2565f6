#!/usr/bin/env bash
# tests/deploy/check_systemd.sh: the units of deploy/systemd, offline.
#
#   1. `systemd-analyze verify` on a copy whose ExecStart names this build's
#      binaries ($BUILD/bin/pm-*, default build: verify refuses a unit whose
#      command does not exist, so /usr/local/bin would only pass on an installed
#      machine). Anything it prints (an unknown key, a value it cannot parse) is a
#      failure, not only its exit status.
#   2. our rules: every pm-*.service has Restart=on-failure, both EnvironmentFiles,
#      DynamicUser, its own key by LoadCredential, the hardening of
#      docs/OPERATIONS.md, PartOf and WantedBy pm.target; pm.target wants all six.
#   3. the check's own test: a unit with a misspelt key, one whose binary is
#      missing, and one without ProtectSystem must each fail.
#   4. `systemd-analyze security --offline=yes`: each unit's exposure, printed for
#      information.
#
#   BUILD=build-lead bash tests/deploy/check_systemd.sh
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
SRC=$ROOT/deploy/systemd
DAEMONS="broker gateway tenants tickets billing notifications"
failures=0
ok() { echo "ok - systemd: $*"; }
fail() { echo "FAIL - systemd: $*"; failures=$((failures + 1)); }

command -v systemd-analyze > /dev/null 2>&1 \
    || { fail "systemd-analyze not found (make deps installs systemd)"; exit 1; }
for d in $DAEMONS; do
    [[ -x $BUILD/bin/pm-$d ]] || { fail "$BUILD/bin/pm-$d missing: build first (make BUILD=...)"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-systemd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units" "$tmp/bad"
cp "$SRC"/pm-*.service "$SRC"/pm.target "$tmp/units/"
sed -i "s|^ExecStart=/usr/local/bin/pm-|ExecStart=$BUILD/bin/pm-|" "$tmp/units/"*.service

# verify FILE...: 0 when systemd-analyze verify exits 0 and says nothing
verify() {
    ( cd "$(dirname "$1")" && systemd-analyze verify --man=no "$@" ) > "$tmp/verify.log" 2>&1 \
        && [[ ! -s $tmp/verify.log ]]
}

# rules FILE: our own requirements of a pm-<daemon>.service; prints what is missing
rules() {
    local f=$1 d missing=()
    d=$(basename "$f" .service)
    d=${d#pm-}
    local want=(
        "Restart=on-failure" "EnvironmentFile=/etc/pm/pm.env" "DynamicUser=yes"
        "LoadCredential=$d.key:/etc/pm/keys/$d.key" "Environment=PM_KEYS_DIR=%d"
        "ProtectSystem=strict" "ProtectHome=yes" "NoNewPrivileges=yes" "PrivateTmp=yes"
        "PrivateDevices=yes" "CapabilityBoundingSet=" "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
        "SystemCallFilter=@system-service" "PartOf=pm.target" "WantedBy=pm.target"
        "ExecStart=/usr/local/bin/pm-$d"
    )
    [[ $d == broker ]] || want+=("EnvironmentFile=/etc/pm/$d.env" "LoadCredential=broker.pub:/etc/pm/keys/broker.pub"
                                 "After=network-online.target pm-broker.service postgresql.service")
    [[ $d == broker ]] && want+=("EnvironmentFile=-/etc/pm/broker.env" "LoadCredential=allow:/etc/pm/keys/allow")
    for w in "${want[@]}"; do
        grep -qxF -- "$w" "$f" || missing+=("$w")
    done
    grep -q '^TimeoutStopSec=[0-9]' "$f" || missing+=("TimeoutStopSec=<seconds>")
    (( ${#missing[@]} == 0 )) || { printf '%s; ' "${missing[@]}"; return 1; }
}

# 1. verify
if verify "$tmp/units/"*.service "$tmp/units/pm.target"; then
    ok "systemd-analyze verify: $(cd "$tmp/units" && echo *.service pm.target) ($(systemd-analyze --version | head -n 1))"
else
    fail "systemd-analyze verify:"
    sed 's/^/    /' "$tmp/verify.log"
fi

# 2. rules
for d in $DAEMONS; do
    if [[ ! -f $SRC/pm-$d.service ]]; then
        fail "deploy/systemd/pm-$d.service missing"
    elif why=$(rules "$SRC/pm-$d.service"); then
        ok "pm-$d.service has the required settings"
    else
        fail "pm-$d.service lacks: $why"
    fi
    grep -q "^Wants=.*pm-$d.service" "$SRC/pm.target" || fail "pm.target does not want pm-$d.service"
done

# 3. the check fails on broken units
sed 's/^Restart=on-failure/Restrat=on-failure/' "$tmp/units/pm-tickets.service" > "$tmp/bad/pm-tickets.service"
if verify "$tmp/bad/pm-tickets.service"; then
    fail "a misspelt key (Restrat=) passed verify"
else
    ok "a misspelt key is refused: $(head -n 1 "$tmp/verify.log")"
fi
sed "s|^ExecStart=.*|ExecStart=$tmp/no-such-binary|" "$tmp/units/pm-billing.service" > "$tmp/bad/pm-billing.service"
if verify "$tmp/bad/pm-billing.service"; then
    fail "a missing binary passed verify"
else
    ok "a missing binary is refused: $(head -n 1 "$tmp/verify.log")"
fi
grep -v '^ProtectSystem=' "$SRC/pm-tenants.service" > "$tmp/bad/pm-tenants.service"
if why=$(rules "$tmp/bad/pm-tenants.service"); then
    fail "a unit without ProtectSystem= passed the rules"
else
    ok "a unit without ProtectSystem= is refused: lacks $why"
fi

# 4. exposure, for information
for f in "$tmp/units/"pm-*.service; do
    score=$(systemd-analyze security --offline=yes "$f" 2>/dev/null | grep -o 'Overall exposure level.*' | sed 's/ [^ ]*$//')
    echo "# systemd-analyze security $(basename "$f"): ${score#Overall exposure level for *: }"
done

(( failures == 0 ))
