#!/usr/bin/env bash
# bench/profile.sh: where the CPU of one forwarded request goes, the profile behind the
# "CPU per GET" rows of make bench. Starts a stack like make bench (bench/stack.py: two
# tenants workers), warms up, then runs wrk GET /v1/properties/{pid}/units/{uid} for
# PM_BENCH_DUR seconds while `perf record` samples only the stack's processes (gateway,
# broker, tenants workers, PostgreSQL), and prints:
#   1. the share of samples per process and shared object (kernel, libzmq, libpq, libc,
#      our code, postgres), which says whose code the cycles run in;
#   2. the hottest symbols, each with its process and object.
# Root only (perf_event_paranoid); not part of make bench or make test.
#
# Environment: BUILD (build), PM_BENCH_DUR (10), PM_BENCH_CONNS (50), PM_PROFILE_FREQ (499),
# PM_PROFILE_TOP (40 symbols), BENCH_OUT (results dir; perf.data is kept there).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
DUR=${PM_BENCH_DUR:-10}
CONNS=${PM_BENCH_CONNS:-50}
FREQ=${PM_PROFILE_FREQ:-499}
TOP=${PM_PROFILE_TOP:-40}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/pm-profile.XXXXXX)}
mkdir -p "$OUT"
source bench/lib.sh
command -v wrk > /dev/null || { echo "profile: wrk missing (make deps installs it)" >&2; exit 1; }
command -v perf > /dev/null || { echo "profile: perf missing (apt-get install linux-perf)" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "profile: run as root (perf samples other users' processes)" >&2; exit 1; }
trap stop_stack EXIT
trap 'exit 130' INT TERM

start_stack "$BUILD" profile
UNIT_URL="$URL/v1/properties/$PID/units/$UID_"
AUTH="Authorization: Bearer $TOKEN"
pids=$(printf '%s,' "${!GROUP[@]}")

log "warm-up 3 s"
wrk -t2 -c"$CONNS" -d3s -H "$AUTH" "$UNIT_URL" > /dev/null 2>&1
log "perf record ${DUR}s at ${FREQ} Hz on ${#GROUP[@]} processes, under wrk -t2 -c$CONNS"
perf record -q -F "$FREQ" -g -p "${pids%,}" -o "$OUT/perf.data" -- sleep "$DUR" > /dev/null 2>&1 &
rec=$!
wrk -t2 -c"$CONNS" -d"${DUR}s" -H "$AUTH" "$UNIT_URL" > "$OUT/wrk.txt" 2>&1
wait "$rec" || true
reqs=$(awk '/requests in/ {print $1}' "$OUT/wrk.txt")
echo "GET unit: $reqs requests in ${DUR}s ($(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt") req/s)"

# Every thread of the stack, by its process's group (bench/lib.sh: gateway, broker,
# tenants, postgres), so that each ZeroMQ I/O thread (all named ZMQbg/IO/0) is counted
# with its daemon.
for p in "${!GROUP[@]}"; do
    for t in /proc/"$p"/task/*; do
        [[ -d $t ]] && echo "${t##*/} ${GROUP[$p]} $(cat "$t/comm" 2> /dev/null | tr ' ' _)"
    done
done > "$OUT/threads.txt"

report() {
    perf report -i "$OUT/perf.data" --no-children --stdio -g none "$@" 2> /dev/null | grep -v '^#' | grep -v '^$'
}
# CPU per request per group and what it runs: kernel, the bus (libzmq, libsodium's CURVE,
# libstdc++), libpq, libc, our own code (pm-*), PostgreSQL's executor (postgres), other.
# Samples x (1 / frequency) / requests = µs per request.
echo
echo "CPU µs per request, by process group and by whose code (perf samples / $FREQ Hz / $reqs requests):"
report --sort pid,dso -F sample,pid,dso | awk -v freq="$FREQ" -v reqs="$reqs" '
    NR == FNR { group[$1] = $2; io[$1] = ($3 ~ /^ZMQbg/); next }
    {
        split($2, t, ":"); g = group[t[1]]; if (g == "") g = "other"
        d = $3
        if (d ~ /kernel/) c = "kernel"
        else if (d ~ /^lib(zmq|sodium|stdc)/) c = "bus"
        else if (d ~ /^libpq/) c = "libpq"
        else if (d ~ /^libc\./) c = "libc"
        else if (d ~ /^pm-/) c = "own"
        else if (d == "postgres") c = "postgres"
        else c = "other"
        us = $1 / freq * 1e6 / reqs
        cell[g, c] += us; row[g] += us; col[c] += us; all += us
        if (io[t[1]]) zio[g] += us
    }
    END {
        n = split("gateway broker tenants postgres other", gs, " ")
        m = split("kernel bus libpq libc own postgres other", cs, " ")
        printf "  %-9s", "group"; for (j = 1; j <= m; j++) printf " %9s", cs[j]
        printf " %9s %12s\n", "total", "ZMQ I/O thr"
        for (i = 1; i <= n; i++) {
            if (!(gs[i] in row)) continue
            printf "  %-9s", gs[i]; for (j = 1; j <= m; j++) printf " %9.1f", cell[gs[i], cs[j]]
            printf " %9.1f %12.1f\n", row[gs[i]], zio[gs[i]]
        }
        printf "  %-9s", "all"; for (j = 1; j <= m; j++) printf " %9.1f", col[cs[j]]
        printf " %9.1f\n", all
    }' "$OUT/threads.txt" -
echo
echo "the $TOP hottest symbols (share of all samples):"
report --sort comm,dso,sym --percent-limit 0 | head -n "$TOP" | sed -E 's/\[kernel\.kallsyms\]/kernel/'
echo "perf data: $OUT/perf.data (perf report -i ... --sort pid,dso,sym)"
