#!/usr/bin/env bash
# tests/deploy/check_k8s.sh: renders deploy/k8s/overlays/{dev,prod} with
# `kubectl kustomize` and validates every object offline (k8s_validate.mjs: the
# Kubernetes schemas of the pinned npm package kubernetes-models, then our rules),
# then proves the check can fail: the rules' self-test breaks a copy of each render
# in ~30 ways, and the bad objects of fixtures/ (a container without limits, a
# Secret that is missing) added to a good render must fail the validation.
#
#   bash tests/deploy/check_k8s.sh        exit 0 when all pass; prints ok/FAIL lines
#
# The overlays' Secrets come from their git-ignored secrets/ directories: the check
# renders a copy of deploy/k8s whose secrets/ hold placeholders (never the real
# ones, if an operator left some there). Needs kubectl (Debian's kubernetes-client,
# 1.20, or a newer one: both render these files alike), node >= 18 and npm
# (`npm ci` of tests/deploy/package-lock.json on the first run). PM_KUBECTL names
# another kubectl.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/deploy
KUBECTL=${PM_KUBECTL:-kubectl}
failures=0
ok() { echo "ok - k8s: $*"; }
fail() { echo "FAIL - k8s: $*"; failures=$((failures + 1)); }

for tool in "$KUBECTL" node npm; do
    command -v "$tool" > /dev/null 2>&1 || { fail "$tool not found (make deps installs kubernetes-client, nodejs and npm)"; exit 1; }
done
major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
(( major >= 18 )) || { fail "node $(node --version): 18 or later needed"; exit 1; }
if [[ ! -d $HERE/node_modules/kubernetes-models || $HERE/package-lock.json -nt $HERE/node_modules/.package-lock.json ]]; then
    echo "# npm ci --prefix tests/deploy"
    if ! timeout 300 npm ci --prefix "$HERE" --no-audit --no-fund > /dev/null 2>&1 < /dev/null; then
        fail "npm ci --prefix tests/deploy failed"
        exit 1
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-k8s.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r "$ROOT/deploy/k8s" "$tmp/k8s"
for overlay in dev prod; do
    s=$tmp/k8s/overlays/$overlay/secrets
    rm -rf "$s"
    mkdir -p "$s/keys"
    for d in broker gateway tenants tickets billing notifications; do
        printf 'public placeholder-%s\nsecret placeholder\n' "$d" > "$s/keys/$d.key"
        printf 'host=postgres dbname=pm user=pm_%s password=placeholder' "$d" > "$s/dsn-$d"
    done
    echo "public placeholder-broker" > "$s/keys/broker.pub"
    echo "broker placeholder-broker" > "$s/keys/allow"
    printf 'placeholder-password' > "$s/admin-password"
done

kver="kubectl $("$KUBECTL" version --client 2>/dev/null | grep -o 'v[0-9]*\.[0-9]*\.[0-9]*' | head -n 1)"
for overlay in dev prod; do
    out=$tmp/$overlay.yaml
    if ! "$KUBECTL" kustomize "$tmp/k8s/overlays/$overlay" > "$out" 2> "$tmp/$overlay.err"; then
        fail "kubectl kustomize deploy/k8s/overlays/$overlay ($kver):"
        sed 's/^/    /' "$tmp/$overlay.err"
        continue
    fi
    ok "kubectl kustomize deploy/k8s/overlays/$overlay renders ($kver)"
    if node "$HERE/k8s_validate.mjs" --env "$overlay" "$out" > "$tmp/$overlay.log" 2>&1; then
        ok "$(tail -n 1 "$tmp/$overlay.log" | sed 's/^ok - //')"
    else
        fail "deploy/k8s/overlays/$overlay does not validate:"
        sed 's/^/    /' "$tmp/$overlay.log"
    fi
    # the rules' own test: every broken copy must fail with the rule that guards it
    if node "$HERE/k8s_validate.mjs" --self-test --env "$overlay" "$out" > "$tmp/$overlay.self" 2>&1; then
        ok "$overlay: the validator catches $(grep -c '^ok - ' "$tmp/$overlay.self") broken copies of the render"
    else
        fail "$overlay: the validator's self-test:"
        grep -v '^ok - ' "$tmp/$overlay.self" | sed 's/^/    /'
    fi
done

# Bad objects beside the good dev render: the validator must exit 1 and say why.
if [[ -s $tmp/dev.yaml ]]; then
    for f in "$HERE"/fixtures/*.yaml; do
        rule=$(sed -n 's/.*fail with a `\([a-z-]*\)` problem.*/\1/p' "$f" | head -n 1)
        node "$HERE/k8s_validate.mjs" --env dev "$tmp/dev.yaml" "$f" > "$tmp/fixture.log" 2>&1
        rc=$?
        if (( rc == 1 )) && [[ -n $rule ]] && grep -q "^$rule " "$tmp/fixture.log"; then
            ok "fixtures/$(basename "$f") is refused: $(grep -m 1 "^$rule " "$tmp/fixture.log")"
        else
            fail "fixtures/$(basename "$f") should fail with a \`$rule\` problem (exit $rc):"
            sed 's/^/    /' "$tmp/fixture.log"
        fi
    done
fi

(( failures == 0 ))
