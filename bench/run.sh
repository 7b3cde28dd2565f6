#!/usr/bin/env bash
# bench/run.sh: make bench. Throughput, latency, CPU per request and memory of the
# platform, each beside what this machine can do at best, measured in the same run
# (../shared/bench/baseline.sh: nginx and pgbench), ending with one table of issue I's
# goals (bench/goals.py): ours, the baseline, the ratio, the goal, met or MISS.
#
#  1. (full mode) GET unit on a comparison build with a plain bus ($BUILD-plain, built with
#     -DPM_BENCH_PLAIN_BUS, never shipped): the ratio to the real build is what CURVE costs.
#  2. A stack of $BUILD (bench/stack.py: 2 tenants workers, log level warn), a property, a
#     unit and an occupant; 3 s warm-up, then RUNS times
#       wrk -t2 -c50 -dDUR --latency -H 'Authorization: Bearer ...' GET /v1/properties/{pid}/units/{uid}
#     counting the CPU time of PostgreSQL, the tenants workers, the gateway and the broker
#     meanwhile (bench/lib.sh's measure: the "CPU per GET" rows; bench/cost.sh adds syscalls);
#     then RUNS times wrk GET /healthz; then bench/idle.py opens PM_BENCH_IDLE_CONNS (10,000)
#     keep-alive connections (one GET /healthz each), leaves them idle and reads each
#     process's VmRSS.
#  3. bench/tickets.sh (POST and GET tickets; in full mode also the overdue list at
#     1,000,000 tickets), bench/billing.sh and bench/notify.sh (full mode only: scale),
#     bench/payments.sh (POST payments with idempotency keys), each with its own stack.
#  4. ../shared/bench/baseline.sh SECTIONS="nginx pg" (root only): nginx fixed 200, pgbench
#     -S prepared, pgbench one-row insert with synchronous_commit on.
# Each script's own report is printed, then the goals table. Everything is kept in BENCH_OUT.
#
# Environment: BUILD (build); PM_BENCH_QUICK=1 (about 2 minutes: DUR 3 s, 1 run, no
# plain-bus build, no scale scripts, tickets.sh's GET and overdue list skipped); PM_BENCH_RUNS (runs per
# row, the table shows medians: 3, quick 1); PM_BENCH_DUR (s per run: 10, quick 3);
# PM_BENCH_CONNS (50), PM_BENCH_THREADS (2), PM_BENCH_SCALE_TENANTS (2),
# PM_BENCH_IDLE_CONNS (10000), BENCH_OUT (results dir); 0 skips a part: PM_BENCH_PLAIN
# (1, quick 0), PM_BENCH_TICKETS (1), PM_BENCH_BILLING and PM_BENCH_NOTIFY (1, quick 0),
# PM_BENCH_PAYMENTS (1), PM_BENCH_IDLE (1), PM_BENCH_BASELINE (1). The scripts' own
# variables are in their files.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
QUICK=${PM_BENCH_QUICK:-0}
[[ $QUICK == 1 ]] && q=1 || q=0
RUNS=${PM_BENCH_RUNS:-$(( q ? 1 : 3 ))}
DUR=${PM_BENCH_DUR:-$(( q ? 3 : 10 ))}
WARM=$(( q ? 2 : 3 ))
CONNS=${PM_BENCH_CONNS:-50}
THREADS=${PM_BENCH_THREADS:-2}
export PM_BENCH_IDLE_CONNS=${PM_BENCH_IDLE_CONNS:-10000}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/pm-bench.XXXXXX)}
mkdir -p "$OUT"
: > "$OUT/runs.tsv"
BASELINE=$ROOT/../shared/bench/baseline.sh
source bench/lib.sh
command -v wrk > /dev/null || { echo "bench: wrk missing (make deps installs it)" >&2; exit 1; }
trap stop_stack EXIT
trap 'exit 130' INT TERM
# the scripts below read these
export PM_BENCH_DUR=$DUR PM_BENCH_CONNS=$CONNS PM_BENCH_THREADS=$THREADS
log "make bench: $RUNS run(s) x ${DUR}s per row$( (( q )) && echo ' (quick)'), results in $OUT"

# get_unit TEST: warm-up, then RUNS measured GET unit runs on the running stack
get_unit() {
    local url="$URL/v1/properties/$PID/units/$UID_" auth="Authorization: Bearer $TOKEN" code run
    code=$(exec 3<> "/dev/tcp/127.0.0.1/${URL##*:}"; printf 'GET %s HTTP/1.0\r\n%s\r\n\r\n' \
        "/v1/properties/$PID/units/$UID_" "$auth" >&3; head -n 1 <&3)
    log "GET unit ($1): $code; warm-up ${WARM}s"
    wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" -H "$auth" "$url" > "$OUT/warmup-$1.txt" 2>&1 || true
    for run in $(seq 1 "$RUNS"); do
        log "wrk GET unit ($1) ${DUR}s, run $run of $RUNS"
        measure "$1" "$run" "$DUR" "$url" -H "$auth" > /dev/null
    done
}

# ------------------------------------------------------------------ 1. plain bus
if [[ ${PM_BENCH_PLAIN:-$(( q ? 0 : 1 ))} != 0 ]]; then
    log "building the plain-bus comparison build ($BUILD-plain)"
    make --no-print-directory BUILD="$BUILD-plain" EXTRA_CFLAGS=-DPM_BENCH_PLAIN_BUS all > "$OUT/plain-build.log" 2>&1 \
        || { echo "bench: the plain-bus build failed: see $OUT/plain-build.log" >&2; exit 1; }
    start_stack "$BUILD-plain" plain
    get_unit get_unit_plain
    stop_stack
fi

# ------------------------------------------------------------------ 2. GET unit, /healthz, idle RSS
start_stack "$BUILD" curve
get_unit get_unit
for run in $(seq 1 "$RUNS"); do
    log "wrk GET /healthz ${DUR}s, run $run of $RUNS"
    measure healthz "$run" "$DUR" "$URL/healthz" > /dev/null
done
if [[ ${PM_BENCH_IDLE:-1} != 0 ]]; then
    log "idle RSS: $PM_BENCH_IDLE_CONNS idle keep-alive connections to the gateway"
    "$PY" bench/idle.py 127.0.0.1 "${URL##*:}" "$PM_BENCH_IDLE_CONNS" "$PIDS" > "$OUT/idle.tsv" 2> "$OUT/idle.log" \
        || { log "idle RSS failed: see $OUT/idle.log"; tail -n 5 "$OUT/idle.log" >&2; }
fi
stop_stack

# ------------------------------------------------------------------ 3. the other scripts
# script NAME VAR LABEL CMD...: runs CMD (stdout to OUT/NAME.txt) unless VAR is 0
script() {
    local name=$1 var=$2 label=$3; shift 3
    if [[ ${!var:-1} == 0 ]]; then log "$name skipped ($var=0)"; return 0; fi
    log "$name: $label"
    "$@" > "$OUT/$name.txt" 2> "$OUT/$name.log" \
        || { log "$name benchmark failed: see $OUT/$name.log"; tail -n 5 "$OUT/$name.log" >&2; }
}
(( q )) && export PM_BENCH_BILLING=${PM_BENCH_BILLING:-0} PM_BENCH_NOTIFY=${PM_BENCH_NOTIFY:-0} \
    PM_BENCH_TICKETS_ROWS=${PM_BENCH_TICKETS_ROWS:-0} PM_BENCH_TICKETS_GET=${PM_BENCH_TICKETS_GET:-0}
script tickets PM_BENCH_TICKETS "bench/tickets.sh (POST$( (( q )) || echo ', GET, overdue list at 1,000,000 tickets'))" \
    env PM_BENCH_TICKETS_RUNS="$RUNS" bash bench/tickets.sh "$OUT/tickets"
script billing PM_BENCH_BILLING "bench/billing.sh (a bill run of ${PM_BENCH_BILLING_UNITS:-100000} units)" \
    bash bench/billing.sh
script notify PM_BENCH_NOTIFY "bench/notify.sh (announcements to ${PM_BENCH_NOTIFY_UNITS:-20000} occupants)" \
    bash bench/notify.sh
script payments PM_BENCH_PAYMENTS "bench/payments.sh (POST payments with idempotency keys)" \
    env PM_BENCH_PAYMENTS_BASELINE=0 PM_BENCH_PAYMENTS_RUNS="$RUNS" bash bench/payments.sh "$OUT/payments"

# ------------------------------------------------------------------ 4. baseline
if [[ ${PM_BENCH_BASELINE:-1} == 0 ]]; then
    log "baseline skipped (PM_BENCH_BASELINE=0)"
elif [[ ! -f $BASELINE ]]; then
    log "no $BASELINE: baseline skipped"
elif [[ $(id -u) != 0 ]]; then
    log "baseline needs root: skipped"
else
    log "baseline: SECTIONS='nginx pg' DUR=$DUR RUNS=$RUNS bash $BASELINE"
    SECTIONS="nginx pg" DUR=$DUR RUNS=$RUNS BENCH_OUT="$OUT/baseline" bash "$BASELINE" > "$OUT/baseline.txt" 2>&1 \
        || { log "baseline failed: see $OUT/baseline.txt"; tail -n 5 "$OUT/baseline.txt" >&2; }
fi

# ------------------------------------------------------------------ reports, then the table
ms() { [[ $1 == - || -z $1 ]] && echo - || awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
{
    echo
    echo "ours, each run (wrk -t$THREADS -c$CONNS -d${DUR}s; ${PM_BENCH_SCALE_TENANTS:-2} tenants workers; $BUILD):"
    printf '  %-34s %10s %10s %10s %8s %10s\n' test req/s p50 p99 "failed*" "CPU µs/req"
    for t in get_unit get_unit_plain healthz; do
        for run in $(seq 1 "$RUNS"); do
            [[ $(fig "$t" "$run" rps) != - ]] || continue
            printf '  %-34s %10s %10s %10s %8s %10s\n' "$t #$run" "$(fig "$t" "$run" rps)" \
                "$(ms "$(fig "$t" "$run" p50_us)")" "$(ms "$(fig "$t" "$run" p99_us)")" \
                "$(fig "$t" "$run" failed)" "$(fig "$t" "$run" cpu_us_total)"
        done
    done
    echo "  * failed: non-2xx answers + socket errors (wrk); figures with failures are not comparable"
    echo "  CPU µs/req: PostgreSQL + tenants workers + gateway + broker, from /proc (bench/lib.sh)"
    pl=$(med get_unit_plain rps) cu=$(med get_unit rps)
    [[ $pl != - && $cu != - ]] && awk -v a="$cu" -v b="$pl" 'BEGIN { if (b > 0) printf "  CURVE: GET unit with CURVE / plain bus %.2f (median req/s; plain build first)\n", a / b }'
    for s in tickets payments billing notify; do
        [[ -s $OUT/$s.txt ]] && { echo; echo "$s (bench/$s.sh):"; sed 's/^/  /' "$OUT/$s.txt"; }
    done
    [[ -s $OUT/baseline/summary.txt ]] && { echo; echo "machine limits (../shared/bench/baseline.sh):"; sed 's/^/  /' "$OUT/baseline/summary.txt"; }
    RUNS=$RUNS DUR=$DUR CONNS=$CONNS THREADS=$THREADS "$PY" bench/goals.py "$OUT"
    echo "raw output: $OUT"
} | tee "$OUT/summary.txt"
