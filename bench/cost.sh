#!/usr/bin/env bash
# bench/cost.sh: what one forwarded request costs each daemon, in figures that a
# shared, noisy machine does not blur much: CPU time, context switches and system
# calls per request, per process group (gateway, broker, tenants workers, PostgreSQL).
# Wall-clock req/s on such a machine varies 15-35% between runs; these vary far less,
# so use them to prove a change (before/after, same command).
#
# Starts a stack like make bench (bench/stack.py: 2 tenants workers, log level warn),
# warms up, then PM_COST_RUNS times: wrk -t2 -cCONNS -dDUR GET /v1/properties/{pid}/units/{uid}
# while counting, from /proc and `perf stat -e raw_syscalls:sys_enter` (root; the
# syscall column is "-" without perf).
#
# Environment: BUILD (build), PM_BENCH_DUR (10), PM_BENCH_CONNS (50),
# PM_BENCH_SCALE_TENANTS (2), PM_COST_RUNS (3), BENCH_OUT (results dir).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
DUR=${PM_BENCH_DUR:-10}
CONNS=${PM_BENCH_CONNS:-50}
RUNS=${PM_COST_RUNS:-3}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/pm-cost.XXXXXX)}
mkdir -p "$OUT"
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
command -v wrk > /dev/null || { echo "cost: wrk missing (make deps installs it)" >&2; exit 1; }
PERF=""
[[ $(id -u) == 0 ]] && command -v perf > /dev/null && PERF=perf

STACK_PID=""
stop_stack() {
    if [[ -n $STACK_PID ]]; then
        exec {STACK_IN}>&- 2> /dev/null || true
        for _ in $(seq 1 300); do kill -0 "$STACK_PID" 2> /dev/null || break; sleep 0.1; done
        kill -TERM "$STACK_PID" 2> /dev/null || true
        wait "$STACK_PID" 2> /dev/null || true
        STACK_PID=""
    fi
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

log "starting the stack ($BUILD/bin)"
fifo_in=$OUT/.stack-in fifo_out=$OUT/.stack-out
rm -f "$fifo_in" "$fifo_out"
mkfifo "$fifo_in" "$fifo_out"
"$PY" bench/stack.py < "$fifo_in" > "$fifo_out" 2> "$OUT/stack.log" &
STACK_PID=$!
exec {STACK_IN}> "$fifo_in"
read -r -t 120 URL TOKEN PID UID_ TMP < "$fifo_out" || {
    echo "cost: the stack did not start:" >&2; tail -n 30 "$OUT/stack.log" >&2; exit 1; }
rm -f "$fifo_in" "$fifo_out"
UNIT_URL="$URL/v1/properties/$PID/units/$UID_"
AUTH="Authorization: Bearer $TOKEN"

# The stack's processes, by group: our binaries by path, PostgreSQL by its data dir.
declare -A GROUP
for n in gateway broker tenants; do
    for p in $(pgrep -x "pm-$n" || true); do
        [[ $(readlink "/proc/$p/exe" 2> /dev/null) == "$ROOT/$BUILD/bin/pm-$n" ]] \
            && grep -qz "^PM_DATA_DIR=$TMP$" "/proc/$p/environ" 2> /dev/null && GROUP[$p]=$n
    done
done
pm=$(pgrep -f "postgres.*$TMP" | head -n 1 || true)
for p in $pm $( [[ -n $pm ]] && pgrep -P "$pm" ); do GROUP[$p]=postgres; done
GROUPS_=(gateway broker tenants postgres)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }
switches() { cat /proc/"$1"/task/*/status 2> /dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }

log "warm-up 3 s"
wrk -t2 -c"$CONNS" -d3s -H "$AUTH" "$UNIT_URL" > /dev/null 2>&1
hz=$(getconf CLK_TCK)
for run in $(seq 1 "$RUNS"); do
    declare -A T0=() C0=()
    for p in "${!GROUP[@]}"; do T0[$p]=$(ticks "$p"); C0[$p]=$(switches "$p"); done
    pids=()
    if [[ -n $PERF ]]; then
        for g in "${GROUPS_[@]}"; do
            list=$(for p in "${!GROUP[@]}"; do [[ ${GROUP[$p]} == "$g" ]] && printf '%s,' "$p"; done; true)
            [[ -n $list ]] || continue
            $PERF stat -x, -e raw_syscalls:sys_enter -p "${list%,}" -o "$OUT/syscalls-$g-$run.txt" \
                -- sleep "$DUR" > /dev/null 2>&1 & pids+=($!)
        done
    fi
    wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -H "$AUTH" "$UNIT_URL" > "$OUT/wrk-$run.txt" 2>&1
    (( ${#pids[@]} )) && wait "${pids[@]}" 2> /dev/null || true
    reqs=$(awk '/requests in/ {print $1}' "$OUT/wrk-$run.txt")
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$OUT/wrk-$run.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk-$run.txt")
    declare -A GT=() GC=()
    for p in "${!GROUP[@]}"; do
        g=${GROUP[$p]}
        GT[$g]=$(( ${GT[$g]:-0} + $(ticks "$p") - ${T0[$p]} ))
        GC[$g]=$(( ${GC[$g]:-0} + $(switches "$p") - ${C0[$p]} ))
    done
    echo "run $run: $reqs requests, $rps req/s, p50 $p50"
    printf '  %-9s %12s %12s %12s\n' group "CPU us/req" "csw/req" "syscalls/req"
    for g in "${GROUPS_[@]}"; do
        sc=-
        [[ -f $OUT/syscalls-$g-$run.txt ]] \
            && sc=$(awk -F, -v r="$reqs" '/sys_enter/ {printf "%.1f", $1 / r}' "$OUT/syscalls-$g-$run.txt")
        printf '  %-9s %12s %12s %12s\n' "$g" \
            "$(awk -v t="${GT[$g]:-0}" -v r="$reqs" -v hz="$hz" 'BEGIN {printf "%.1f", t * 1e6 / hz / r}')" \
            "$(awk -v t="${GC[$g]:-0}" -v r="$reqs" 'BEGIN {printf "%.2f", t / r}')" "$sc"
    done
done | tee "$OUT/summary.txt"
echo "raw output: $OUT"
