#!/usr/bin/env bash
# bench/cost.sh: what one forwarded request costs each daemon, in figures that a
# shared, noisy machine does not blur much: CPU time, context switches and system
# calls per request, per process group (gateway, broker, tenants workers, PostgreSQL).
# Wall-clock req/s on such a machine varies 15-35% between runs; these vary far less,
# so use them to prove a change (before/after, same command).
#
# Starts a stack like make bench (bench/stack.py: 2 tenants workers, log level warn),
# warms up, then PM_COST_RUNS times: wrk -t2 -cCONNS -dDUR GET /v1/properties/{pid}/units/{uid}
# while counting, from /proc (bench/lib.sh's measure: the same counting make bench's
# "CPU per GET" rows use) and `perf stat -e raw_syscalls:sys_enter` (root; the syscall
# column is "-" without perf; the tracepoint slows every process a little, which is why
# make bench leaves it out).
#
# Environment: BUILD (build), PM_BENCH_DUR (10), PM_BENCH_CONNS (50),
# PM_BENCH_SCALE_TENANTS (2), PM_COST_RUNS (3), BENCH_OUT (results dir).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
DUR=${PM_BENCH_DUR:-10}
CONNS=${PM_BENCH_CONNS:-50}
THREADS=2
RUNS=${PM_COST_RUNS:-3}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/pm-cost.XXXXXX)}
mkdir -p "$OUT"
source bench/lib.sh
command -v wrk > /dev/null || { echo "cost: wrk missing (make deps installs it)" >&2; exit 1; }
PERF=""
[[ $(id -u) == 0 ]] && command -v perf > /dev/null && PERF=perf
trap stop_stack EXIT
trap 'exit 130' INT TERM

start_stack "$BUILD" cost
UNIT_URL="$URL/v1/properties/$PID/units/$UID_"
AUTH="Authorization: Bearer $TOKEN"

log "warm-up 3 s"
wrk -t2 -c"$CONNS" -d3s -H "$AUTH" "$UNIT_URL" > /dev/null 2>&1
for run in $(seq 1 "$RUNS"); do
    pids=()
    if [[ -n $PERF ]]; then
        for g in "${GROUPS_[@]}"; do
            list=$(for p in "${!GROUP[@]}"; do [[ ${GROUP[$p]} == "$g" ]] && printf '%s,' "$p"; done; true)
            [[ -n $list ]] || continue
            $PERF stat -x, -e raw_syscalls:sys_enter -p "${list%,}" -o "$OUT/syscalls-$g-$run.txt" \
                -- sleep "$DUR" > /dev/null 2>&1 & pids+=($!)
        done
    fi
    read -r rps p50 p99 bad reqs < <(measure get_unit "$run" "$DUR" "$UNIT_URL" -H "$AUTH")
    (( ${#pids[@]} )) && wait "${pids[@]}" 2> /dev/null || true
    echo "run $run: $reqs requests, $rps req/s, p50 $(awk -v u="$p50" 'BEGIN {printf "%.2fms", u / 1000}'), $bad failed"
    printf '  %-9s %12s %12s %12s\n' group "CPU us/req" "csw/req" "syscalls/req"
    for g in "${GROUPS_[@]}" total; do
        sc=-
        [[ -f $OUT/syscalls-$g-$run.txt ]] \
            && sc=$(awk -F, -v r="$reqs" '/sys_enter/ {printf "%.1f", $1 / r}' "$OUT/syscalls-$g-$run.txt")
        csw=-
        [[ $g != total ]] && csw=$(fig get_unit "$run" "csw_$g")
        printf '  %-9s %12s %12s %12s\n' "$g" "$(fig get_unit "$run" "cpu_us_$g")" "$csw" "$sc"
    done
done | tee "$OUT/summary.txt"
echo "raw output: $OUT"
