#!/usr/bin/env bash
# backup.sh: base backups, continuous WAL archiving and point-in-time restore of one
# PostgreSQL 15 cluster (docs/OPERATIONS.md, "Backups and restore"; make backup-test).
#
#   backup.sh [options] init [--restart]   archive_mode on, archive_command into the archive
#                          (a test-and-copy that never overwrites, fsync'd), archive_timeout;
#                          --restart restarts the cluster when archive_mode needs it; then
#                          checks that a WAL segment reaches the archive
#   backup.sh [options] base               pg_basebackup -Ft -z -X stream, with a SHA-256
#                          manifest, verified by pg_verifybackup, into base/<stamp>
#   backup.sh [options] list               the base backups and the archive
#   backup.sh [options] restore --to TIME|latest --into NEWDATA [--base STAMP] [--start PORT]
#                          [--keep-archiving]   the newest base finished before TIME, unpacked
#                          into NEWDATA (must not exist or be empty), restore_command from the
#                          archive, recovery_target_time = TIME, promote; --start PORT starts it
#                          with scripts/pg.sh (NEWDATA must then be DIR/data) and waits for the
#                          promotion; archiving is off on the restored cluster unless --keep-archiving
#   backup.sh [options] prune --keep N --days D [--weekly W] [--dry-run]
#                          keeps the N newest bases, every base of the last D days and the newest
#                          of each of the W weeks before those D days (the policy: --keep 7 --days 7
#                          --weekly 4); drops the other bases, then (pg_archivecleanup) the WAL
#                          older than the oldest base kept; --dry-run prints what it would drop
#
# Options (one cluster: with a cluster per service, run it once per cluster):
#   -c NAME   the cluster's name in the backup dir (main)
#   -D DIR    its data dir ($PM_DATA_DIR/pg/data: the cluster of make run)
#   -h HOST   its socket dir or host ($PM_DATA_DIR/pg)      -p PORT  its port ($PM_PG_PORT, 5432)
#   -U USER   a superuser (postgres)                        -b DIR   the backup dir ($PM_BACKUP_DIR)
# Layout: $PM_BACKUP_DIR/<cluster>/wal (archived WAL segments) and
#         $PM_BACKUP_DIR/<cluster>/base/<stamp>/{base.tar.gz,pg_wal.tar.gz,backup_manifest,pm-backup.info}
# Environment: PM_DATA_DIR (./var), PM_PG_PORT (5432), PM_BACKUP_DIR ($PM_DATA_DIR/backups),
#   PM_BACKUP_ARCHIVE_TIMEOUT (60 s: the longest a committed write waits before its WAL
#   segment is archived), PGBIN (/usr/lib/postgresql/15/bin).
# As root, what the cluster must read or write runs as the data dir's owner (postgres).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

die() { echo "backup.sh: $*" >&2; exit 1; }
say() { echo "backup.sh: $*" >&2; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2; exit 2; }
now() { date -u +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

DATA=${PM_DATA_DIR:-./var}
CLUSTER=main
PGDATA=""
HOST=""
PORT=${PM_PG_PORT:-5432}
SUPER=postgres
BK=${PM_BACKUP_DIR:-}
while getopts "c:D:h:p:U:b:" o; do
    case $o in
        c) CLUSTER=$OPTARG ;;
        D) PGDATA=$OPTARG ;;
        h) HOST=$OPTARG ;;
        p) PORT=$OPTARG ;;
        U) SUPER=$OPTARG ;;
        b) BK=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 ]] || usage
CMD=$1
shift
PGDATA=${PGDATA:-$DATA/pg/data}
HOST=${HOST:-$DATA/pg}
BK=${BK:-$DATA/backups}
[[ $CLUSTER =~ ^[A-Za-z0-9_-]+$ ]] || die "-c NAME: letters, digits, _ and - only, got '$CLUSTER'"
[[ $PORT =~ ^[0-9]+$ ]] || die "-p PORT must be a number, got '$PORT'"
[[ -x $PGBIN/pg_basebackup ]] || die "no PostgreSQL 15 in $PGBIN (package postgresql-15)"
mkdir -p "$BK"
BK=$(cd "$BK" && pwd)
[[ $HOST == /* || $HOST != */* ]] || HOST=$(cd "$HOST" 2> /dev/null && pwd || echo "$HOST")
# The archive's path is written into archive_command and restore_command (run by sh):
# keep it free of quotes and blanks.
[[ $BK =~ ^[A-Za-z0-9/._+-]+$ ]] || die "backup dir '$BK': letters, digits and / . _ + - only"
ARCHIVE=$BK/$CLUSTER/wal
BASES=$BK/$CLUSTER/base

# The cluster's OS user: the owner of its data dir (postgres when run by pg.sh as root).
OWNER=""
owner_of() {
    local d=$1
    if [[ -e $d ]]; then
        stat -c %U "$d"
    elif [[ $(id -u) == 0 ]]; then
        echo postgres
    else
        id -un
    fi
}
as_owner() {
    if [[ $(id -u) == 0 && $OWNER != root ]]; then
        (cd / && runuser -u "$OWNER" -- "$@")
    else
        "$@"
    fi
}
psql_su() {
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U "$SUPER" -d postgres "$@"
}
# info FILE KEY: a value of a pm-backup.info file
info() { sed -n "s/^$2=//p" "$1" | head -n 1; }
# bases: the finished base backups, oldest first, one stamp a line
bases() {
    [[ -d $BASES ]] || return 0
    local d
    for d in "$BASES"/*/; do
        d=${d%/}
        [[ -f $d/pm-backup.info ]] && basename "$d"
    done | sort
}
# the archive dirs, made once and owned by the cluster's user, who writes there
make_dirs() {
    mkdir -p "$ARCHIVE" "$BASES"
    if [[ $(id -u) == 0 ]]; then
        chown "$OWNER" "$BK/$CLUSTER" "$ARCHIVE" "$BASES"
    fi
    chmod 700 "$BK/$CLUSTER" "$ARCHIVE"
    as_owner test -w "$ARCHIVE" -a -x "$ARCHIVE" ||
        die "user $OWNER cannot write $ARCHIVE: make every directory above it searchable (chmod o+x)"
}

# ------------------------------------------------------------------ init
cmd_init() {
    local restart=0
    while [[ $# -gt 0 ]]; do
        case $1 in
            --restart) restart=1 ;;
            *) usage ;;
        esac
        shift
    done
    OWNER=$(owner_of "$PGDATA")
    make_dirs
    psql_su -c "SELECT 1" > /dev/null || die "cannot connect to PostgreSQL at $HOST port $PORT as $SUPER"
    # Test-and-copy: a segment already archived is never overwritten (success only when it is
    # the same bytes: the archiver may retry after a crash between copy and acknowledgement);
    # the copy is fsync'd under a temporary name, renamed, and the directory fsync'd.
    local ac="f=$ARCHIVE/%f; if test -f \"\$f\"; then cmp -s \"%p\" \"\$f\"; else cp \"%p\" \"\$f.tmp\" && sync \"\$f.tmp\" && mv \"\$f.tmp\" \"\$f\" && sync \"$ARCHIVE\"; fi"
    local wl
    wl=$(psql_su -c "SHOW wal_level")
    [[ $wl == minimal ]] && psql_su -c "ALTER SYSTEM SET wal_level = replica" > /dev/null
    psql_su -c "ALTER SYSTEM SET archive_mode = on" > /dev/null
    psql_su -c "ALTER SYSTEM SET archive_command = '${ac//\'/\'\'}'" > /dev/null
    psql_su -c "ALTER SYSTEM SET archive_timeout = '${PM_BACKUP_ARCHIVE_TIMEOUT:-60}'" > /dev/null
    psql_su -c "SELECT pg_reload_conf()" > /dev/null
    if [[ $(psql_su -c "SHOW archive_mode") != on || $(psql_su -c "SHOW wal_level") == minimal ]]; then
        if (( ! restart )); then
            say "archiving is configured; restart PostgreSQL to turn it on (or: backup.sh ... init --restart)"
            exit 3
        fi
        local log
        log=$(dirname "$PGDATA")/postgresql.log
        as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$log" -m fast -w -t 120 restart > /dev/null ||
            die "restart failed (log: $log)"
        [[ $(psql_su -c "SHOW archive_mode") == on ]] || die "archive_mode is still off after the restart"
    fi
    # Proof: one segment switched now must reach the archive.
    local seg t
    psql_su -c "CHECKPOINT" > /dev/null
    seg=$(psql_su -c "SELECT pg_walfile_name(pg_switch_wal())")
    for ((t = 0; t < 300; t++)); do
        [[ -f $ARCHIVE/$seg ]] && break
        sleep 0.1
    done
    if [[ ! -f $ARCHIVE/$seg ]]; then
        die "segment $seg did not reach $ARCHIVE in 30 s: $(psql_su -c \
            "SELECT 'failed ' || failed_count || ' times, last ' || coalesce(last_failed_wal, '-') FROM pg_stat_archiver")"
    fi
    echo "archiving on: cluster $CLUSTER, WAL into $ARCHIVE (checked with $seg)"
}

# ------------------------------------------------------------------ base
cmd_base() {
    [[ $# -eq 0 ]] || usage
    OWNER=$(owner_of "$PGDATA")
    make_dirs
    [[ $(psql_su -c "SHOW archive_mode") == on ]] ||
        say "warning: archive_mode is off on cluster $CLUSTER: this base restores only to its own end (run init)"
    local stamp dir t0 t1 t2 label startwal tli bytes
    stamp=$(date -u +%Y%m%dT%H%M%S.%3NZ)
    dir=$BASES/$stamp
    rm -rf "$dir.partial"
    t0=$(now)
    "$PGBIN/pg_basebackup" -h "$HOST" -p "$PORT" -U "$SUPER" -D "$dir.partial" -Ft -z -X stream \
        -c fast --manifest-checksums=SHA256 -l "pm $CLUSTER $stamp" ||
        { rm -rf "$dir.partial"; die "pg_basebackup failed"; }
    t1=$(now)
    label=$(tar -xzOf "$dir.partial/base.tar.gz" backup_label)
    startwal=$(sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]\{24\}\)).*/\1/p' <<< "$label")
    tli=$(sed -n 's/^START TIMELINE: //p' <<< "$label")
    [[ -n $startwal ]] || die "no START WAL LOCATION in the backup's backup_label"
    # pg_verifybackup (PostgreSQL 15) reads plain backups only: check an unpacked copy,
    # which also proves that the archives unpack.
    local v=$dir.partial/verify
    mkdir -p "$v/pg_wal"
    tar -xzf "$dir.partial/base.tar.gz" -C "$v"
    tar -xzf "$dir.partial/pg_wal.tar.gz" -C "$v/pg_wal"
    cp "$dir.partial/backup_manifest" "$v/"
    "$PGBIN/pg_verifybackup" -q "$v" || { rm -rf "$dir.partial"; die "pg_verifybackup failed: backup dropped"; }
    rm -rf "$v"
    t2=$(now)
    bytes=$(du -sb "$dir.partial" | cut -f1)
    cat > "$dir.partial/pm-backup.info" <<EOF
cluster=$CLUSTER
stamp=$stamp
started_epoch=$t0
finished_epoch=$t1
finished_at=$(date -u -d "@$t1" +%Y-%m-%dT%H:%M:%S.%3NZ)
seconds=$(secs "$t0" "$t1")
verify_seconds=$(secs "$t1" "$t2")
bytes=$bytes
start_wal=$startwal
timeline=$tli
EOF
    mv "$dir.partial" "$dir"
    echo "base $CLUSTER/$stamp: $bytes bytes in $(secs "$t0" "$t1") s, verified in $(secs "$t1" "$t2") s ($dir)"
}

# ------------------------------------------------------------------ list
cmd_list() {
    [[ $# -eq 0 ]] || usage
    local s n=0
    for s in $(bases); do
        n=$((n + 1))
        printf '%s  finished %s  %s bytes  %s s  from %s\n' "$s" "$(info "$BASES/$s/pm-backup.info" finished_at)" \
            "$(info "$BASES/$s/pm-backup.info" bytes)" "$(info "$BASES/$s/pm-backup.info" seconds)" \
            "$(info "$BASES/$s/pm-backup.info" start_wal)"
    done
    local w=0 wb=0
    if [[ -d $ARCHIVE ]]; then
        w=$(find "$ARCHIVE" -maxdepth 1 -type f -name '????????????????????????' | wc -l)
        wb=$(du -sb "$ARCHIVE" | cut -f1)
    fi
    echo "cluster $CLUSTER: $n base backups; $w WAL segments archived ($wb bytes) in $ARCHIVE"
}

# ------------------------------------------------------------------ restore
cmd_restore() {
    local to="" into="" want="" start="" keeparch=0
    while [[ $# -gt 0 ]]; do
        case $1 in
            --to) to=${2:-}; shift ;;
            --into) into=${2:-}; shift ;;
            --base) want=${2:-}; shift ;;
            --start) start=${2:-}; shift ;;
            --keep-archiving) keeparch=1 ;;
            *) usage ;;
        esac
        shift
    done
    [[ -n $to && -n $into ]] || usage
    [[ -z $start || $start =~ ^[0-9]+$ ]] || die "--start PORT must be a number"
    local target=""
    if [[ $to != latest ]]; then
        target=$(date -u -d "$to" +%s.%N 2> /dev/null) || die "--to '$to' is not a time (e.g. 2026-12-06T18:30:00Z)"
        # one reading of the time for both the choice of the base and PostgreSQL (which takes
        # microseconds at most): UTC, as GNU date understood it
        to=$(date -u -d "@$target" '+%Y-%m-%d %H:%M:%S.%6N+00')
    fi
    [[ -d $ARCHIVE ]] || die "no archive $ARCHIVE (cluster $CLUSTER)"
    # the base: the one asked for, or the newest that finished before the target
    local s base=""
    for s in $(bases); do
        if [[ -n $want ]]; then
            [[ $s == "$want" ]] && base=$s
        elif [[ -z $target ]] || awk -v f="$(info "$BASES/$s/pm-backup.info" finished_epoch)" -v t="$target" \
                'BEGIN { exit !(f < t) }'; then
            base=$s
        fi
    done
    [[ -n $base ]] || die "no base backup of cluster $CLUSTER ${want:+named $want }finished before '$to' ($(bases | wc -l) in $BASES)"
    if [[ -e $into ]] && [[ -n $(ls -A "$into") ]]; then
        die "$into exists and is not empty"
    fi
    local t0
    t0=$(now)
    mkdir -p "$into"
    into=$(cd "$into" && pwd)
    chmod 700 "$into"
    tar -xzf "$BASES/$base/base.tar.gz" -C "$into"
    mkdir -p "$into/pg_wal"
    tar -xzf "$BASES/$base/pg_wal.tar.gz" -C "$into/pg_wal"
    {
        echo "# written by scripts/backup.sh restore: recovery of cluster $CLUSTER from base $base"
        echo "restore_command = 'cp \"$ARCHIVE/%f\" \"%p\"'"
        if [[ -n $target ]]; then
            echo "recovery_target_time = '$to'"
            echo "recovery_target_action = 'promote'"
        fi
        echo "recovery_target_timeline = 'latest'"
        # a restored copy must not write into the archive of the cluster it came from
        (( keeparch )) || echo "archive_mode = 'off'"
    } >> "$into/postgresql.auto.conf"
    touch "$into/recovery.signal"
    if [[ $(id -u) == 0 ]]; then
        OWNER=$(owner_of "$(dirname "$into")")
        [[ $OWNER == root ]] && OWNER=postgres
        chown -R "$OWNER" "$into"
    fi
    local t1
    t1=$(now)
    echo "restore: base $CLUSTER/$base unpacked into $into in $(secs "$t0" "$t1") s; recovery to ${to} on its start"
    [[ -n $start ]] || return 0
    [[ $(basename "$into") == data ]] || die "--start needs --into DIR/data (scripts/pg.sh's layout)"
    local dir
    dir=$(dirname "$into")
    bash "$HERE/pg.sh" start "$dir" "$start" ||
        die "the restored cluster did not start: $(tail -n 5 "$dir/postgresql.log" 2> /dev/null)"
    local t r=""
    for ((t = 0; t < 6000; t++)); do
        r=$("$PGBIN/psql" -X -A -t -h "$dir" -p "$start" -U "$SUPER" -d postgres -c "SELECT pg_is_in_recovery()" 2> /dev/null || true)
        [[ $r == f ]] && break
        [[ -f $into/postmaster.pid ]] ||
            die "the restored cluster stopped during recovery (if the archive ends before --to: an earlier time, or latest): $(grep -E 'FATAL|PANIC' "$dir/postgresql.log" | tail -n 2)"
        sleep 0.1
    done
    [[ $r == f ]] || die "still in recovery after 600 s (log: $dir/postgresql.log)"
    local t2
    t2=$(now)
    echo "restored: cluster $CLUSTER to $to, promoted and serving on port $start in $(secs "$t0" "$t2") s"
}

# ------------------------------------------------------------------ prune
cmd_prune() {
    local keep="" days="" weekly=0 dry=0
    while [[ $# -gt 0 ]]; do
        case $1 in
            --keep) keep=${2:-}; shift ;;
            --days) days=${2:-}; shift ;;
            --weekly) weekly=${2:-}; shift ;;
            --dry-run) dry=1 ;;
            *) usage ;;
        esac
        shift
    done
    [[ $keep =~ ^[0-9]+$ && $days =~ ^[0-9]+$ && $weekly =~ ^[0-9]+$ ]] || usage
    (( keep >= 1 )) || die "--keep must be at least 1: the archive is useless without a base"
    local all=() s
    mapfile -t all < <(bases | sort -r)   # newest first
    (( ${#all[@]} )) || { echo "prune: no base backups of cluster $CLUSTER"; return 0; }
    local cutoff nowe
    nowe=$(date -u +%s)
    cutoff=$((nowe - days * 86400))
    declare -A KEEP=() WEEKS=()
    local i=0 f wk
    for s in "${all[@]}"; do
        f=$(info "$BASES/$s/pm-backup.info" finished_epoch)
        (( i < keep )) && KEEP[$s]=1
        (( ${f%.*} >= cutoff )) && KEEP[$s]=1
        wk=$(date -u -d "@${f%.*}" +%G-%V)
        # weekly: the newest base of each of the W weeks before the --days window
        if (( ${f%.*} < cutoff )) && [[ -z ${WEEKS[$wk]:-} ]] && (( ${#WEEKS[@]} < weekly )); then
            WEEKS[$wk]=1
            KEEP[$s]=1
        fi
        i=$((i + 1))
    done
    local dropped=0 oldest=""
    for s in "${all[@]}"; do
        if [[ -n ${KEEP[$s]:-} ]]; then
            oldest=$s
        else
            dropped=$((dropped + 1))
            echo "prune: drop base $CLUSTER/$s"
            (( dry )) || rm -rf "${BASES:?}/$s"
        fi
    done
    # a base that never finished (its backup was killed) and is more than a day old
    if (( ! dry )); then
        find "$BASES" -maxdepth 1 -name '*.partial' -mmin +1440 -exec rm -rf {} + 2> /dev/null || true
    fi
    local startwal before after
    startwal=$(info "$BASES/$oldest/pm-backup.info" start_wal)
    before=$(find "$ARCHIVE" -maxdepth 1 -type f | wc -l)
    if (( dry )); then
        "$PGBIN/pg_archivecleanup" -n "$ARCHIVE" "$startwal" | sed 's/^/prune: would drop WAL /'
    else
        "$PGBIN/pg_archivecleanup" "$ARCHIVE" "$startwal"
    fi
    after=$(find "$ARCHIVE" -maxdepth 1 -type f | wc -l)
    echo "prune: cluster $CLUSTER kept ${#KEEP[@]} of ${#all[@]} bases (oldest $oldest), dropped $dropped;" \
        "WAL before $startwal: $((before - after)) files dropped, $after kept"
}

case $CMD in
    init) cmd_init "$@" ;;
    base) cmd_base "$@" ;;
    list) cmd_list "$@" ;;
    restore) cmd_restore "$@" ;;
    prune) cmd_prune "$@" ;;
    *) usage ;;
esac
