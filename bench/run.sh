#!/usr/bin/env bash
# bench/run.sh: throughput and latency of the platform (make bench), beside what
# this machine can do at best (../shared/bench/baseline.sh: nginx and pgbench).
#
# Starts a stack in a temp dir on free ports (bench/stack.py, through the test harness;
# 2 tenants workers, log level warn), creates a property and a unit, warms up, then
#   wrk -t2 -c50 -d10s --latency -H 'Authorization: Bearer ...' GET /v1/properties/{pid}/units/{uid}
#   wrk -t2 -c50 -d10s --latency GET /healthz
# stops the stack and, when ../shared/bench/baseline.sh exists and we are root, runs it with
# SECTIONS="nginx pg" DUR=10 RUNS=1. Prints one table: req/s, p50, p99 and the ratios.
# The GET unit runs first on a comparison build with a plain bus ($BUILD-plain, built with
# -DPM_BENCH_PLAIN_BUS), then on the real one: the ratio is what CURVE costs.
#
# Environment: BUILD (build), PM_BENCH_PLAIN=0 (skip the plain-bus comparison), PM_BENCH_DUR (10 s), PM_BENCH_CONNS (50), PM_BENCH_THREADS (2),
# PM_BENCH_SCALE_TENANTS (2), PM_BENCH_BASELINE=0 (skip the baseline), BENCH_OUT (results dir),
# PM_BENCH_TICKETS=0 (skip bench/tickets.sh: POST/GET tickets and the overdue list at scale;
# its own variables are in that file), PM_BENCH_BILLING=0 (skip bench/billing.sh: a bill run of
# 100,000 units; its own variables are in that file), PM_BENCH_NOTIFY=0 (skip bench/notify.sh:
# announcements to every occupant of a 20,000-unit property; its own variables are in that file),
# PM_BENCH_PAYMENTS=0 (skip bench/payments.sh: POST payments with idempotency keys, median of 3;
# its own variables are in that file).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export BUILD=${BUILD:-build}
DUR=${PM_BENCH_DUR:-10}
CONNS=${PM_BENCH_CONNS:-50}
THREADS=${PM_BENCH_THREADS:-2}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/pm-bench.XXXXXX)}
mkdir -p "$OUT"
BASELINE=$ROOT/../shared/bench/baseline.sh
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
command -v wrk > /dev/null || { echo "bench: wrk missing (make deps installs it)" >&2; exit 1; }

# ------------------------------------------------------------------ our stack
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

# start_stack BUILD_DIR NAME: a stack of that build's binaries; sets URL TOKEN PID UID_ TMP
start_stack() {
    log "starting the stack ($1/bin)"
    local fifo_in=$OUT/.stack-in fifo_out=$OUT/.stack-out
    rm -f "$fifo_in" "$fifo_out"
    mkfifo "$fifo_in" "$fifo_out"
    BUILD=$1 "$PY" bench/stack.py < "$fifo_in" > "$fifo_out" 2> "$OUT/stack-$2.log" &
    STACK_PID=$!
    exec {STACK_IN}> "$fifo_in"
    read -r -t 120 URL TOKEN PID UID_ TMP < "$fifo_out" || {
        echo "bench: the stack did not start:" >&2; tail -n 30 "$OUT/stack-$2.log" >&2; exit 1; }
    rm -f "$fifo_in" "$fifo_out"
    log "stack up at $URL (temp dir $TMP)"
}

# run_wrk NAME URL [wrk args...] -> writes $OUT/NAME.txt; prints "rps p50_us p99_us non2xx"
to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000;
                           else if (v ~ /s$/) m = 1000000; else m = 1; printf "%.0f", n * m }'
}
run_wrk() {
    local name=$1 url=$2 dur=$3; shift 3
    local f=$OUT/$name.txt
    wrk -t"$THREADS" -c"$CONNS" -d"${dur}s" --latency "$@" "$url" > "$f" 2>&1
    local rps p50 p99 bad
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$f")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$f")")
    # failed requests: non-2xx answers + socket errors (connect/read/write/timeout), as "N+M"
    bad=$(awk '/Non-2xx or 3xx responses:/ {a = $NF}
               /Socket errors:/ {gsub(",", ""); b = $4 + $6 + $8 + $10}
               END {print (a + b == 0) ? 0 : (a + 0) "+" (b + 0)}' "$f")
    echo "${rps:-0} ${p50:-0} ${p99:-0} ${bad:-0}"
}

# get_unit NAME: warm-up, then GET unit on the running stack -> "rps p50_us p99_us failed"
get_unit() {
    UNIT_URL="$URL/v1/properties/$PID/units/$UID_"
    AUTH="Authorization: Bearer $TOKEN"
    local code
    code=$(exec 3<> "/dev/tcp/127.0.0.1/${URL##*:}"; printf 'GET %s HTTP/1.0\r\n%s\r\n\r\n' \
        "/v1/properties/$PID/units/$UID_" "$AUTH" >&3; head -n 1 <&3)
    log "GET unit ($1): $code"
    log "warm-up 3 s"
    run_wrk "warmup-$1" "$UNIT_URL" 3 -H "$AUTH" > /dev/null
    log "wrk GET unit ($1) ${DUR}s"
    run_wrk "$1" "$UNIT_URL" "$DUR" -H "$AUTH"
}

# What CURVE costs: the same GET on a build whose bus is plain (PM_BENCH_PLAIN_BUS, never
# shipped), run first, then on the real build (PM_BENCH_PLAIN=0 skips it).
pl_rps=- pl_p50=- pl_p99=- pl_bad=-
if [[ ${PM_BENCH_PLAIN:-1} != 0 ]]; then
    log "building the plain-bus comparison build ($BUILD-plain)"
    make --no-print-directory BUILD="$BUILD-plain" EXTRA_CFLAGS=-DPM_BENCH_PLAIN_BUS all > "$OUT/plain-build.log" 2>&1 \
        || { echo "bench: the plain-bus build failed: see $OUT/plain-build.log" >&2; exit 1; }
    start_stack "$BUILD-plain" plain
    read -r pl_rps pl_p50 pl_p99 pl_bad < <(get_unit get_unit_plain)
    stop_stack
fi

start_stack "$BUILD" curve
read -r u_rps u_p50 u_p99 u_bad < <(get_unit get_unit)
log "wrk GET /healthz ${DUR}s"
read -r h_rps h_p50 h_p99 h_bad < <(run_wrk healthz "$URL/healthz" "$DUR")
stop_stack
(( u_rps > 0 )) || log "WARNING: no GET unit request completed: see $OUT/get_unit.txt"
[[ $u_bad == 0 ]] || log "WARNING: $u_bad failed requests (non-2xx or socket errors) on GET unit: see $OUT/get_unit.txt"
[[ $h_bad == 0 ]] || log "WARNING: $h_bad failed requests on /healthz: see $OUT/healthz.txt"

# ------------------------------------------------------------------ tickets
# bench/tickets.sh: its own stack; POST and GET tickets, and the overdue list of a
# property with 1,000,000 tickets (PM_BENCH_TICKETS=0 skips it)
if [[ ${PM_BENCH_TICKETS:-1} != 0 ]]; then
    log "tickets: bash bench/tickets.sh (POST, GET, overdue list at 1,000,000 tickets)"
    bash bench/tickets.sh "$OUT/tickets" > "$OUT/tickets.txt" 2> "$OUT/tickets.log" \
        || { log "tickets benchmark failed: see $OUT/tickets.log"; tail -n 5 "$OUT/tickets.log" >&2; }
fi

# ------------------------------------------------------------------ billing
# bench/billing.sh: its own stack; a bill run of 100,000 occupied units beside a
# bare INSERT ... SELECT of the same rows (PM_BENCH_BILLING=0 skips it)
if [[ ${PM_BENCH_BILLING:-1} != 0 ]]; then
    log "billing: bash bench/billing.sh (a bill run of ${PM_BENCH_BILLING_UNITS:-100000} units)"
    bash bench/billing.sh > "$OUT/billing.txt" 2> "$OUT/billing.log" \
        || { log "billing benchmark failed: see $OUT/billing.log"; tail -n 5 "$OUT/billing.log" >&2; }
fi

# ------------------------------------------------------------------ announcements
# bench/notify.sh: its own stack; an announcement to every occupant of a 20,000-unit
# property beside a bare INSERT ... SELECT of the same rows (PM_BENCH_NOTIFY=0 skips it)
if [[ ${PM_BENCH_NOTIFY:-1} != 0 ]]; then
    log "notifications: bash bench/notify.sh (announcements to ${PM_BENCH_NOTIFY_UNITS:-20000} occupants)"
    bash bench/notify.sh > "$OUT/notify.txt" 2> "$OUT/notify.log" \
        || { log "notify benchmark failed: see $OUT/notify.log"; tail -n 5 "$OUT/notify.log" >&2; }
fi

# ------------------------------------------------------------------ payments
# bench/payments.sh: its own stack; POST payments with an Idempotency-Key and an
# external_ref each (PM_BENCH_PAYMENTS=0 skips it; the baseline is the one below)
if [[ ${PM_BENCH_PAYMENTS:-1} != 0 ]]; then
    log "payments: bash bench/payments.sh (POST payments with idempotency keys)"
    PM_BENCH_PAYMENTS_BASELINE=0 bash bench/payments.sh "$OUT/payments" > "$OUT/payments.txt" 2> "$OUT/payments.log" \
        || { log "payments benchmark failed: see $OUT/payments.log"; tail -n 5 "$OUT/payments.log" >&2; }
fi

# ------------------------------------------------------------------ baseline
n_rps=- n_p50=- n_p99=- p_rps=- p_p50=- p_p99=-
if [[ ${PM_BENCH_BASELINE:-1} == 0 ]]; then
    log "baseline skipped (PM_BENCH_BASELINE=0)"
elif [[ ! -f $BASELINE ]]; then
    log "no $BASELINE: baseline skipped"
elif [[ $(id -u) != 0 ]]; then
    log "baseline needs root: skipped"
else
    log "baseline: SECTIONS='nginx pg' DUR=$DUR RUNS=1 bash $BASELINE"
    if SECTIONS="nginx pg" DUR=$DUR RUNS=1 BENCH_OUT="$OUT/baseline" bash "$BASELINE" > "$OUT/baseline.txt" 2>&1; then
        raw=$OUT/baseline/raw.tsv
        val() { awk -F'\t' -v t="$1" -v m="$2" '$1 == t && $3 == m {printf "%.0f", $4; exit}' "$raw"; }
        N=http_nginx_w2_wrk_t2_c50 P=pg_select_S_prepared_c8_j2
        n_rps=$(val $N ops_per_s) n_p50=$(val $N p50_us) n_p99=$(val $N p99_us)
        p_rps=$(val $P ops_per_s) p_p50=$(val $P p50_us) p_p99=$(val $P p99_us)
    else
        log "baseline failed: see $OUT/baseline.txt"; tail -n 5 "$OUT/baseline.txt" >&2
    fi
fi

# ------------------------------------------------------------------ table
ms() { [[ $1 == - || -z $1 ]] && echo - || awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
ratio() { [[ $1 == - || $2 == - || -z $1 || -z $2 || $2 == 0 ]] && echo - || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
    echo
    echo "make bench: $(nproc) vCPU, wrk -t$THREADS -c$CONNS -d${DUR}s, ${PM_BENCH_SCALE_TENANTS:-2} tenants workers ($BUILD)"
    printf '%-46s %10s %10s %10s %8s\n' test req/s p50 p99 "failed*"
    printf '%-46s %10s %10s %10s %8s\n' "ours: GET /v1/properties/{pid}/units/{uid}" "$u_rps" "$(ms "$u_p50")" "$(ms "$u_p99")" "$u_bad"
    printf '%-46s %10s %10s %10s %8s\n' "ours: GET unit, plain bus (no CURVE)" "$pl_rps" "$(ms "$pl_p50")" "$(ms "$pl_p99")" "$pl_bad"
    printf '%-46s %10s %10s %10s %8s\n' "ours: GET /healthz" "$h_rps" "$(ms "$h_p50")" "$(ms "$h_p99")" "$h_bad"
    if [[ -s $OUT/tickets/rows.tsv ]]; then
        while IFS=$'\t' read -r t_name t_rps t_p50 t_p99 t_bad; do
            printf '%-46s %10s %10s %10s %8s\n' "$t_name" "$t_rps" "$(ms "$t_p50")" "$(ms "$t_p99")" "$t_bad"
        done < "$OUT/tickets/rows.tsv"
    fi
    if [[ -s $OUT/payments/rows.tsv ]]; then
        while IFS=$'\t' read -r t_name t_rps t_p50 t_p99 t_bad; do
            printf '%-46s %10s %10s %10s %8s\n' "$t_name" "$t_rps" "$(ms "$t_p50")" "$(ms "$t_p99")" "$t_bad"
        done < "$OUT/payments/rows.tsv"
    fi
    printf '%-46s %10s %10s %10s %8s\n' "baseline: nginx fixed 200 (w2, wrk -t2 -c50)" "$n_rps" "$(ms "$n_p50")" "$(ms "$n_p99")" -
    printf '%-46s %10s %10s %10s %8s\n' "baseline: pgbench -S prepared (c8 j2)" "$p_rps" "$(ms "$p_p50")" "$(ms "$p_p99")" -
    echo "CURVE: GET unit with CURVE / plain bus $(ratio "$u_rps" "$pl_rps") (req/s; the same requests, plain build first)"
    echo "ratios: GET unit / nginx $(ratio "$u_rps" "$n_rps"), GET unit / pgbench $(ratio "$u_rps" "$p_rps"), healthz / nginx $(ratio "$h_rps" "$n_rps")"
    echo "* failed: non-2xx answers + socket errors (wrk); figures with failures are not comparable"
    [[ -s $OUT/tickets/overdue.txt ]] && { echo; cat "$OUT/tickets/overdue.txt"; }
    [[ -s $OUT/billing.txt ]] && { echo; echo "billing (bench/billing.sh):"; tail -n 2 "$OUT/billing.txt"; }
    [[ -s $OUT/notify.txt ]] && { echo; echo "announcements (bench/notify.sh):"; tail -n 2 "$OUT/notify.txt"; }
    echo "raw output: $OUT"
} | tee "$OUT/summary.txt"
