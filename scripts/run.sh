#!/usr/bin/env bash
# run.sh: the whole platform on this machine, supervised (make run).
#
# Starts PostgreSQL under $PM_DATA_DIR/pg (scripts/pg.sh; as user postgres when root),
# creates the database roles and schemas, then pm-broker, each service
# PM_SCALE_<SERVICE> times (default 1) and pm-gateway on PM_HTTP_PORT, waits for
# GET /readyz 200 and prints `ready: http://127.0.0.1:PORT` and the admin login.
# A daemon that exits is logged and started again (backoff 0.1 s doubling to 1 s;
# reset after 10 s of uptime). Ctrl-C or SIGTERM stops every process it started,
# PostgreSQL included; the next run keeps the data.
#
# Environment (besides what the daemons read, see README):
#   BUILD (build)            where make put bin/
#   PM_DATA_DIR (./var)      everything of this stack: pg/, logs/, run/, keys/, ipc sockets, admin-password
#   PM_HTTP_PORT (8080)      the gateway's port on 127.0.0.1
#   PM_SPLIT_DB (0)          1: a PostgreSQL cluster per database owner (gateway, tenants,
#                            tickets, billing, notifications), $PM_DATA_DIR/pg-<owner> on
#                            ports PM_PG_PORT .. PM_PG_PORT+4 in that order, each with only
#                            its owner's role and schema (docs/OPERATIONS.md, "One database
#                            cluster per service"); a data dir keeps one layout's data
#   PM_PG_PORT (5432)        PostgreSQL's port: its socket is $PM_DATA_DIR/pg/.s.PGSQL.<port>;
#                            no TCP unless PM_PG_LISTEN=127.0.0.1
#   PM_SCALE_TENANTS, PM_SCALE_TICKETS, PM_SCALE_BILLING, PM_SCALE_NOTIFICATIONS (1)
#   PM_BROKERS (1)           2 (up to 4): that many brokers, broker-<n> on ipc://$PM_DATA_DIR/broker-<n>.ipc,
#                            events-in-<n>.ipc, events-out-<n>.ipc; every daemon gets the lists
#                            PM_BROKER_ENDPOINTS, PM_EVENTS_IN_ENDPOINTS, PM_EVENTS_OUT_ENDPOINTS
#                            (docs/DESIGN.md, "Two brokers"); 1: today's single broker
#   PM_ADMIN_USER (admin), PM_ADMIN_PASSWORD (generated once into $PM_DATA_DIR/admin-password)
#   PM_DEMO=1                load the demo property (scripts/demo.py) once ready
#   PM_SMS_FILE ($PM_DATA_DIR/sms.jsonl) where SMS go without PM_SMS_URL ("" for nowhere)
# Logs: each daemon's stderr (JSON lines) goes to $PM_DATA_DIR/logs/<service>-<n>.log;
# the supervisor's own lines go to this terminal and to $PM_DATA_DIR/logs/run.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] && BIN=$BUILD/bin || BIN=$ROOT/$BUILD/bin
SERVICES=(tenants tickets billing notifications)

die() { echo "run: $*" >&2; exit 1; }
note() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) run: $*"
    echo "$line" >&2
    [[ -d ${LOGDIR:-} ]] && echo "$line" >> "$LOGDIR/run.log"
    return 0
}

# ------------------------------------------------------------------ settings
export PM_DATA_DIR=${PM_DATA_DIR:-./var}
mkdir -p "$PM_DATA_DIR"
PM_DATA_DIR=$(cd "$PM_DATA_DIR" && pwd)
export PM_HTTP_PORT=${PM_HTTP_PORT:-8080}
PM_PG_PORT=${PM_PG_PORT:-5432}
export PM_ADMIN_USER=${PM_ADMIN_USER:-admin}
export PM_WEB_DIR=${PM_WEB_DIR:-$ROOT/services/gateway/web}
# webhooks to loopback and private addresses: on for a local stack (a receiver
# on this machine); off by default in the daemon, for production
export PM_WEBHOOK_ALLOW_PRIVATE=${PM_WEBHOOK_ALLOW_PRIVATE:-1}
export PM_WEBHOOK_ALLOW_HTTP=${PM_WEBHOOK_ALLOW_HTTP:-1}   # ... over plain http to loopback
# SMS without a provider (PM_SMS_URL unset) are appended to this file, one JSON
# line each: a resident's sign-in code is read there (README, "Residents' sign-in")
export PM_SMS_FILE=${PM_SMS_FILE-$PM_DATA_DIR/sms.jsonl}
PGDIR=$PM_DATA_DIR/pg
PM_SPLIT_DB=${PM_SPLIT_DB:-0}
DB_OWNERS=(gateway "${SERVICES[@]}")
LOGDIR=$PM_DATA_DIR/logs
RUNDIR=$PM_DATA_DIR/run
mkdir -p "$LOGDIR" "$RUNDIR"

[[ $PM_HTTP_PORT =~ ^[0-9]+$ ]] || die "PM_HTTP_PORT must be a port number, got '$PM_HTTP_PORT'"
(( ${#PM_DATA_DIR} < 90 )) || die "PM_DATA_DIR $PM_DATA_DIR is too long for unix sockets (max 89 bytes)"
[[ $PM_SPLIT_DB == 0 || $PM_SPLIT_DB == 1 ]] || die "PM_SPLIT_DB must be 0 or 1, got '$PM_SPLIT_DB'"
[[ $PM_PG_PORT =~ ^[0-9]+$ ]] && (( PM_PG_PORT > 0 && PM_PG_PORT + 4 * PM_SPLIT_DB < 65536 )) ||
    die "PM_PG_PORT must be a port number (split: up to 65531), got '$PM_PG_PORT'"
# The clusters, "dir port owner" each (owner empty: the one cluster of every schema).
PG_CLUSTERS=()
if (( PM_SPLIT_DB )); then
    for i in "${!DB_OWNERS[@]}"; do
        PG_CLUSTERS+=("$PM_DATA_DIR/pg-${DB_OWNERS[$i]} $((PM_PG_PORT + i)) ${DB_OWNERS[$i]}")
    done
else
    PG_CLUSTERS=("$PGDIR $PM_PG_PORT ")
fi
for name in broker "${SERVICES[@]}" gateway; do
    [[ -x $BIN/pm-$name ]] || die "missing $BIN/pm-$name: build first (make all, or make run)"
done
PM_BROKERS=${PM_BROKERS:-1}
[[ $PM_BROKERS =~ ^[1-4]$ ]] || die "PM_BROKERS must be 1-4, got '$PM_BROKERS'"
if (( PM_BROKERS > 1 )); then
    # every daemon but the brokers reads the lists (config.h); each broker its own three
    b_list() { local i out=""; for ((i = 0; i < PM_BROKERS; i++)); do out+=${out:+,}ipc://$PM_DATA_DIR/$1-$i.ipc; done; echo "$out"; }
    export PM_BROKER_ENDPOINTS=$(b_list broker)
    export PM_EVENTS_IN_ENDPOINTS=$(b_list events-in)
    export PM_EVENTS_OUT_ENDPOINTS=$(b_list events-out)
fi
declare -A SCALE
for s in "${SERVICES[@]}"; do
    v=PM_SCALE_${s^^}
    SCALE[$s]=${!v:-1}
    [[ ${SCALE[$s]} =~ ^[0-9]+$ ]] && (( SCALE[$s] <= 32 )) || die "$v must be 0-32, got '${SCALE[$s]}'"
done

# One stack per data dir: the lock is held as long as this script lives.
exec 9> "$RUNDIR/run.lock"
flock -n 9 || die "another run.sh is using $PM_DATA_DIR"
if (exec 3<> "/dev/tcp/127.0.0.1/$PM_HTTP_PORT") 2> /dev/null; then
    die "127.0.0.1:$PM_HTTP_PORT is already in use: set PM_HTTP_PORT"
fi

# The admin password: given, or generated once and kept (mode 600) so every run prints the same.
if [[ -z ${PM_ADMIN_PASSWORD:-} ]]; then
    pwf=$PM_DATA_DIR/admin-password
    if [[ ! -s $pwf ]]; then
        (umask 077 && od -An -N12 -tx1 /dev/urandom | tr -d ' \n' > "$pwf")
    fi
    chmod 600 "$pwf"
    PM_ADMIN_PASSWORD=$(< "$pwf")
fi
export PM_ADMIN_PASSWORD

# ------------------------------------------------------------------ shutdown
SUP_PIDS=()        # supervisor subshells, in start order
SUP_NAMES=()       # ... the daemon each one runs
SUP_INDEX=()       # ... and its instance number
PG_STARTED=0
STOPPING=0

# stop_sups NAME...: SIGTERM to the supervisors of those names, then wait (bounded).
stop_sups() {
    local i n t p alive pidf
    local idx=()
    for i in "${!SUP_PIDS[@]}"; do
        for n in "$@"; do
            [[ ${SUP_NAMES[$i]} == "$n" ]] && idx+=("$i")
        done
    done
    (( ${#idx[@]} )) || return 0
    for i in "${idx[@]}"; do kill -TERM "${SUP_PIDS[$i]}" 2> /dev/null || true; done
    for ((t = 0; t < 150; t++)); do
        alive=0
        for i in "${idx[@]}"; do kill -0 "${SUP_PIDS[$i]}" 2> /dev/null && alive=1; done
        (( alive )) || break
        sleep 0.1
    done
    # A supervisor still there after 15 s: kill it, and the daemon it watched
    # (its pid file, if that pid still runs our binary).
    for i in "${idx[@]}"; do
        kill -0 "${SUP_PIDS[$i]}" 2> /dev/null || continue
        kill -KILL "${SUP_PIDS[$i]}" 2> /dev/null || true
        pidf=$RUNDIR/${SUP_NAMES[$i]}-${SUP_INDEX[$i]}.pid
        p=$(cat "$pidf" 2> /dev/null || true)
        if [[ -n $p && $(readlink "/proc/$p/exe" 2> /dev/null) == "$(readlink -f "$BIN/pm-${SUP_NAMES[$i]}")" ]]; then
            note "pm-${SUP_NAMES[$i]}[${SUP_INDEX[$i]}] pid $p still running: SIGKILL"
            kill -KILL "$p" 2> /dev/null || true
        fi
        rm -f "$pidf"
    done
    for i in "${idx[@]}"; do wait "${SUP_PIDS[$i]}" 2> /dev/null || true; done
}

cleanup() {
    local rc=$1
    (( STOPPING )) && return 0
    STOPPING=1
    trap '' INT TERM
    note "stopping"
    stop_sups gateway
    stop_sups "${SERVICES[@]}"
    stop_sups broker
    [[ -n ${DEMO_PID:-} ]] && kill -TERM "$DEMO_PID" 2> /dev/null || true
    [[ -n ${NAP_PID:-} ]] && kill "$NAP_PID" 2> /dev/null || true
    if (( PG_STARTED )); then
        local c cdir
        for c in "${PG_CLUSTERS[@]}"; do
            read -r cdir _ <<< "$c"
            bash "$ROOT/scripts/pg.sh" stop "$cdir" 9>&- || note "PostgreSQL in $cdir did not stop cleanly"
        done
    fi
    note "stopped"
    exit "$rc"
}
trap 'cleanup 130' INT
trap 'cleanup 143' TERM
trap 'cleanup $?' EXIT

# ------------------------------------------------------------------ supervision
# supervise NAME INDEX: runs pm-NAME again and again until SIGTERM. Runs as a subshell.
supervise() {
    set +e
    local name=$1 idx=$2
    local log="$LOGDIR/$name-$idx.log" pidf="$RUNDIR/$name-$idx.pid"
    local child="" sleeper="" delay=0.1 t0 rc t
    trap '' INT   # Ctrl-C is the main script's business
    s_term() {
        [[ -n $sleeper ]] && kill "$sleeper" 2> /dev/null
        if [[ -n $child ]] && kill -0 "$child" 2> /dev/null; then
            kill -TERM "$child" 2> /dev/null
            for ((t = 0; t < 100; t++)); do
                kill -0 "$child" 2> /dev/null || break
                sleep 0.1
            done
            if kill -0 "$child" 2> /dev/null; then
                note "pm-$name[$idx] pid $child ignored SIGTERM for 10 s: SIGKILL"
                kill -KILL "$child" 2> /dev/null
            fi
            wait "$child" 2> /dev/null
        fi
        rm -f "$pidf"
        exit 0
    }
    trap s_term TERM
    if [[ $name == broker ]] && (( PM_BROKERS > 1 )); then
        export PM_BROKER_ENDPOINT=ipc://$PM_DATA_DIR/broker-$idx.ipc
        export PM_EVENTS_IN_ENDPOINT=ipc://$PM_DATA_DIR/events-in-$idx.ipc
        export PM_EVENTS_OUT_ENDPOINT=ipc://$PM_DATA_DIR/events-out-$idx.ipc
    fi
    while :; do
        t0=$SECONDS
        # own session: a terminal's Ctrl-C reaches only the supervisor; pdeathsig: the
        # daemon gets SIGTERM if its supervisor is killed outright.
        setsid setpriv --pdeathsig TERM -- "$BIN/pm-$name" >> "$log" 2>&1 < /dev/null 9>&- &
        child=$!
        echo "$child" > "$pidf"
        wait "$child" 2> /dev/null   # (no "Killed" job notice on the terminal)
        rc=$?
        child=""
        kill -0 "$MAIN_PID" 2> /dev/null || exit 0   # the main script is gone: do not restart
        (( SECONDS - t0 >= 10 )) && delay=0.1
        note "pm-$name[$idx] exited with status $rc; restarting in ${delay}s (log: $log)"
        sleep "$delay" &
        sleeper=$!
        wait "$sleeper"
        sleeper=""
        delay=$(awk -v d="$delay" 'BEGIN { d *= 2; if (d > 1) d = 1; print d }')
    done
}

start_sup() {
    supervise "$1" "$2" &
    SUP_PIDS+=($!)
    SUP_NAMES+=("$1")
    SUP_INDEX+=("$2")
}

# ------------------------------------------------------------------ start
MAIN_PID=$$
rm -f "$RUNDIR"/*.pid   # a previous run's, if it was killed outright
note "data dir $PM_DATA_DIR; logs in $LOGDIR"
# The other layout's data is not read: say so, rather than look like an empty platform.
if (( PM_SPLIT_DB )) && [[ -f $PGDIR/data/PG_VERSION ]]; then
    note "PM_SPLIT_DB=1: the one cluster in $PGDIR (a run without it) is not used; move a schema with scripts/move-schema.sh"
elif (( ! PM_SPLIT_DB )) && compgen -G "$PM_DATA_DIR/pg-*/data/PG_VERSION" > /dev/null; then
    note "the per-service clusters $PM_DATA_DIR/pg-* (a run with PM_SPLIT_DB=1) are not used"
fi
PG_STARTED=1
# Each cluster starts (initdb the first time) at once; then its roles and schemas.
pg_pids=()
for c in "${PG_CLUSTERS[@]}"; do
    read -r cdir cport _ <<< "$c"
    bash "$ROOT/scripts/pg.sh" start "$cdir" "$cport" 9>&- &
    pg_pids+=($!)
done
for p in "${pg_pids[@]}"; do
    wait "$p" || die "PostgreSQL did not start (see above)"
done
for c in "${PG_CLUSTERS[@]}"; do
    read -r cdir cport cowner <<< "$c"
    dsns=$(bash "$ROOT/scripts/pg.sh" setup "$cdir" "$cport" ${cowner:+"$cowner"} 9>&-)
    while IFS='=' read -r k v; do
        [[ $k == PM_DB_DSN_* ]] || continue
        [[ -n ${!k:-} ]] || export "$k=$v"   # a DSN given in the environment wins
    done <<< "$dsns"
    note "PostgreSQL ready${cowner:+ for $cowner} (socket $cdir, port $cport)"
done

# The bus's CURVE keys: made on the first start (mode 0600), kept after (README, Security).
"$BIN/pm-broker" keygen 9>&- || die "cannot make the bus keys in ${PM_KEYS_DIR:-$PM_DATA_DIR/keys}"

for ((i = 0; i < PM_BROKERS; i++)); do
    start_sup broker "$i"
done
for s in "${SERVICES[@]}"; do
    for ((i = 0; i < SCALE[$s]; i++)); do
        start_sup "$s" "$i"
    done
done
start_sup gateway 0

readyz_ok() {
    (
        exec 3<> "/dev/tcp/127.0.0.1/$PM_HTTP_PORT" || exit 1
        printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
        read -r -t 2 line <&3 || exit 1
        [[ $line == "HTTP/1."?" 200"* ]]
    ) 2> /dev/null
}
t0=$SECONDS
next_hint=30
until readyz_ok; do
    if (( SECONDS - t0 >= next_hint )); then
        note "not ready after ${next_hint}s; GET /readyz says why; daemon logs: $LOGDIR"
        next_hint=$((next_hint + 30))
    fi
    sleep 0.2
done

echo "ready: http://127.0.0.1:$PM_HTTP_PORT"
echo "login: $PM_ADMIN_USER / $PM_ADMIN_PASSWORD"

if [[ ${PM_DEMO:-0} == 1 ]]; then
    python3 "$ROOT/scripts/demo.py" --url "http://127.0.0.1:$PM_HTTP_PORT" \
        --user "$PM_ADMIN_USER" --password "$PM_ADMIN_PASSWORD" 9>&- &
    DEMO_PID=$!
fi

# Sleep until a signal; the supervisors never end on their own. A SIGTERM
# sent to `make run` stops make, not us: when our parent goes away, stop too.
PARENT=$PPID
while :; do
    sleep 1 &
    NAP_PID=$!
    wait "$NAP_PID" || true
    (( STOPPING )) && break
    if [[ $(ps -o ppid= -p $$ | tr -d ' ') != "$PARENT" ]]; then
        note "parent process $PARENT ended; stopping"
        cleanup 143
    fi
    alive=0
    for p in "${SUP_PIDS[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
    (( alive )) || { note "every supervisor ended"; cleanup 1; }
done
