# shellcheck shell=bash disable=SC2034  # the variables it sets are read by its callers
# bench/lib.sh: what bench/run.sh and bench/cost.sh share (sourced, not run): the
# benchmark stack (bench/stack.py) and one measured wrk run that also counts each
# process group's CPU time and context switches from /proc.
#
# Expects ROOT (the checkout), OUT (results dir), BUILD. Results go to $OUT/runs.tsv,
# one line per run and metric, as ../shared/bench/baseline.sh writes its raw.tsv:
#   test<TAB>run<TAB>metric<TAB>value
# metrics: rps, p50_us, p99_us, failed, requests; cpu_us_<group>, csw_<group> (per
# request); cpu_us_total (the sum of the groups); rss_kb_<name> (bench/idle.py).

PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
GROUPS_=(postgres tenants gateway broker)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ------------------------------------------------------------------ the stack
STACK_PID=""
stop_stack() {
    if [[ -n $STACK_PID ]]; then
        { exec {STACK_IN}>&-; } 2> /dev/null || true  # a bare exec 2>... would redirect our stderr for good
        for _ in $(seq 1 300); do kill -0 "$STACK_PID" 2> /dev/null || break; sleep 0.1; done
        kill -TERM "$STACK_PID" 2> /dev/null || true
        wait "$STACK_PID" 2> /dev/null || true
        STACK_PID=""
    fi
}

# start_stack BUILD_DIR NAME: a stack of that build's binaries (log in $OUT/stack-NAME.log);
# sets URL TOKEN PID UID_ TMP PIDS (name=pid,...) and GROUP (pid -> gateway, broker,
# tenants, postgres: what a GET unit goes through; the other services idle).
declare -A GROUP
start_stack() {
    log "starting the stack ($1/bin)"
    local fifo_in=$OUT/.stack-in fifo_out=$OUT/.stack-out
    rm -f "$fifo_in" "$fifo_out"
    mkfifo "$fifo_in" "$fifo_out"
    BUILD=$1 "$PY" bench/stack.py < "$fifo_in" > "$fifo_out" 2> "$OUT/stack-$2.log" &
    STACK_PID=$!
    exec {STACK_IN}> "$fifo_in"
    read -r -t 120 URL TOKEN PID UID_ TMP PIDS < "$fifo_out" || {
        echo "bench: the stack did not start:" >&2; tail -n 30 "$OUT/stack-$2.log" >&2; exit 1; }
    rm -f "$fifo_in" "$fifo_out"
    GROUP=()
    local kv
    for kv in ${PIDS//,/ }; do
        case ${kv%%=*} in gateway | broker | tenants) GROUP[${kv#*=}]=${kv%%=*} ;; esac
    done
    local pm p
    pm=$(head -n 1 "$TMP/pg/data/postmaster.pid" 2> /dev/null || true)
    for p in $pm $( [[ -n $pm ]] && pgrep -P "$pm" ); do GROUP[$p]=postgres; done
    log "stack up at $URL (temp dir $TMP)"
}

# ------------------------------------------------------------------ wrk
to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000;
                           else if (v ~ /s$/) m = 1000000; else m = 1; printf "%.0f", n * m }'
}

# wrk_figures FILE -> "rps p50_us p99_us failed requests" of a wrk --latency report
# (failed: non-2xx answers + socket errors; figures with failures are not comparable)
wrk_figures() {
    local f=$1 rps p50 p99 bad reqs
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$f")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$f")")
    bad=$(awk '/Non-2xx or 3xx responses:/ {a = $NF}
               /Socket errors:/ {gsub(",", ""); b = $4 + $6 + $8 + $10}
               END {print a + b}' "$f")
    reqs=$(awk '/requests in/ {print $1}' "$f")
    echo "${rps:-0} ${p50:-0} ${p99:-0} ${bad:-0} ${reqs:-0}"
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }
switches() { cat /proc/"$1"/task/*/status 2> /dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }

# measure TEST RUN DUR URL [wrk args...]: wrk -tTHREADS -cCONNS -dDUR --latency into
# $OUT/TEST-RUN.txt, counting the CPU time and context switches of every process of
# GROUP meanwhile; appends the figures to $OUT/runs.tsv. A process that died during
# the run counts what it had used when last seen (it is then gone from /proc).
measure() {
    local test=$1 run=$2 dur=$3 url=$4; shift 4
    local f=$OUT/$test-$run.txt p g
    local -A t0=() c0=() gt=() gc=()
    for p in "${!GROUP[@]}"; do t0[$p]=$(ticks "$p"); c0[$p]=$(switches "$p"); done
    wrk -t"$THREADS" -c"$CONNS" -d"${dur}s" --latency "$@" "$url" > "$f" 2>&1 || true
    for p in "${!GROUP[@]}"; do
        g=${GROUP[$p]}
        gt[$g]=$(( ${gt[$g]:-0} + $(ticks "$p") - ${t0[$p]} ))
        gc[$g]=$(( ${gc[$g]:-0} + $(switches "$p") - ${c0[$p]} ))
    done
    local rps p50 p99 bad reqs
    read -r rps p50 p99 bad reqs < <(wrk_figures "$f")
    {
        printf '%s\t%s\t%s\t%s\n' "$test" "$run" rps "$rps" "$test" "$run" p50_us "$p50" \
            "$test" "$run" p99_us "$p99" "$test" "$run" failed "$bad" "$test" "$run" requests "$reqs"
        if (( reqs > 0 )); then
            local hz total=0
            hz=$(getconf CLK_TCK)
            for g in "${GROUPS_[@]}"; do
                total=$(( total + ${gt[$g]:-0} ))
                awk -v t="${gt[$g]:-0}" -v c="${gc[$g]:-0}" -v r="$reqs" -v hz="$hz" -v pre="$test"$'\t'"$run" -v g="$g" \
                    'BEGIN { printf "%s\tcpu_us_%s\t%.1f\n%s\tcsw_%s\t%.2f\n", pre, g, t * 1e6 / hz / r, pre, g, c / r }'
            done
            awk -v t="$total" -v r="$reqs" -v hz="$hz" -v pre="$test"$'\t'"$run" \
                'BEGIN { printf "%s\tcpu_us_total\t%.1f\n", pre, t * 1e6 / hz / r }'
        fi
    } >> "$OUT/runs.tsv"
    echo "$rps $p50 $p99 $bad $reqs"
}

# fig TEST RUN METRIC: one figure of $OUT/runs.tsv ("-" if absent)
fig() {
    awk -F'\t' -v t="$1" -v r="$2" -v m="$3" '$1 == t && $2 == r && $3 == m {v = $4} END {print (v == "") ? "-" : v}' \
        "$OUT/runs.tsv" 2> /dev/null || echo -
}

# med TEST METRIC: the median over runs of one figure of $OUT/runs.tsv ("-" if absent)
med() {
    awk -F'\t' -v t="$1" -v m="$2" '$1 == t && $3 == m {print $4}' "$OUT/runs.tsv" 2> /dev/null | sort -g |
        awk '{v[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
                                else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
