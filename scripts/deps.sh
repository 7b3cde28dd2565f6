#!/bin/sh
# deps.sh: installs the Debian 12 packages the build, `make run`, the tests, the
# benchmark and CI need, and nothing when they are all there already.
#
#   sh scripts/deps.sh            (make deps; make run/test/asan/bench call it)
#   PM_DEPS_SKIP=1                skip the check altogether (offline machines)
#
# Checks with dpkg-query first, so it costs ~50 ms when nothing is missing, and
# runs `apt-get update` only when something has to be installed. As root it
# installs; otherwise it prints the exact command and fails.
set -eu

[ "${PM_DEPS_SKIP:-0}" = 1 ] && exit 0

# build: compilers and the libraries the C code links against
BUILD_PKGS="gcc make pkg-config libzmq3-dev libuv1-dev libpq-dev libcjson-dev libhttp-parser-dev
            libsodium-dev libcmocka-dev libcurl4-openssl-dev"
# run and test: the database server, the test runner (Debian's python3, stdlib only),
# ps/pgrep for the scripts, util-linux for runuser/setsid (essential, listed for clarity)
RUN_PKGS="postgresql-15 python3 procps util-linux"
# bench: the load generator and the nginx baseline
BENCH_PKGS="wrk nginx-light"
# CI: compose file validation and the OpenAPI lint (npx @redocly/cli 1.x, pinned in tests/run.sh)
CI_PKGS="docker-compose"
# make fuzz: clang with libFuzzer (libclang_rt.fuzzer is only a Recommends of
# clang, which --no-install-recommends skips) and llvm-symbolizer for reports
FUZZ_PKGS="clang-14 libclang-rt-14-dev llvm-14"
# browser tests of the console (tests/browser, playwright-core drives Debian's chromium headless);
# a CJK font, or the Chinese of the screenshots renders as boxes
BROWSER_PKGS="chromium fonts-noto-cjk"
# deployment checks (tests/deploy): systemd-analyze verify, and promtool, which only
# comes with the prometheus package (the server too: it is kept from starting below);
# kubectl from kubernetes-client further down
DEPLOY_PKGS="systemd prometheus"
# make ha-test (tests/ha): Patroni and etcd run PostgreSQL failover on loopback; their
# servers are started by the test only (kept from starting at install, below)
HA_PKGS="patroni etcd-server etcd-client"

missing=""
for p in $BUILD_PKGS $RUN_PKGS $BENCH_PKGS $CI_PKGS $FUZZ_PKGS $BROWSER_PKGS $DEPLOY_PKGS $HA_PKGS; do
    st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$st" in
        ii*) ;;
        *) missing="$missing $p" ;;
    esac
done
# Node.js may come from another packaging that bundles npm (and conflicts with
# Debian's npm package): what matters is that node and npx run. Debian 12's own
# nodejs (18) is enough: the lint and playwright-core are pinned to versions that
# support it (tests/run.sh, tests/browser/package-lock.json).
if ! command -v node >/dev/null 2>&1 || ! command -v npx >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
# kubectl renders the k8s overlays (its built-in kustomize): Debian's kubernetes-client
# (1.20) unless a kubectl is there already (another packaging's owns /usr/bin/kubectl
# and would conflict with it; tests/deploy/check_k8s.sh passes with either).
if ! command -v kubectl >/dev/null 2>&1; then
    missing="$missing kubernetes-client"
fi

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root:  apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# prometheus's postinst starts its server (invoke-rc.d, or systemctl where systemd
# runs), and enables it for boot; only promtool is wanted (etcd-server's and patroni's
# do the same; make ha-test starts its own). While this install runs,
# a policy-rc.d that refuses every start (unless one is there already: a
# container's usually is) keeps it stopped, in a chroot as on a booted machine; then
# its unit and init script are disabled (systemctl disable works without a running systemd).
policy=/usr/sbin/policy-rc.d
case " $missing " in
    *" prometheus "*|*" etcd-server "*|*" patroni "*)
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\n# scripts/deps.sh: no daemon starts while it installs packages\nexit 101\n' > "$policy"
            chmod 755 "$policy"
            trap 'rm -f "$policy"' EXIT
        fi ;;
esac
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
case " $missing " in
    *" prometheus "*)
        # offline too: systemctl disable edits the links (and the SysV ones)
        systemctl disable prometheus.service > /dev/null 2>&1 \
            || update-rc.d prometheus disable > /dev/null 2>&1 || true ;;
esac
# etcd-server's postinst enables (and would start) a default etcd on 2379; patroni's
# units are templates for clusters we do not have: the test starts its own of both
for unit in etcd patroni; do
    case " $missing " in
        *" $unit "*|*" $unit-server "*)
            systemctl disable "$unit.service" > /dev/null 2>&1 \
                || update-rc.d "$unit" disable > /dev/null 2>&1 || true ;;
    esac
done
# The postgresql package may start a cluster of its own on 5432 via its init
# script; ours run under their own data directories, so it does not matter.
echo "deps: done" >&2
