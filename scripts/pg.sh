#!/usr/bin/env bash
# pg.sh: a private PostgreSQL 15 cluster for `make run`, the tests and the benchmark.
#
#   pg.sh start DIR PORT   initdb DIR/data if needed, then start; idempotent
#   pg.sh setup DIR PORT [SERVICE]   database `pm`, a role and schema per service
#                          (deploy/postgres-init.sql), or with SERVICE that service's only (a cluster
#                          of its own: PM_SPLIT_DB=1); idempotent; prints the DSNs, one
#                          PM_DB_DSN_<SERVICE>=... a line
#   pg.sh stop DIR         fast shutdown (pg_ctl stop -m fast); nothing to do if not running
#   pg.sh psql DIR PORT [psql args]   a superuser psql on database pm
#
# Layout: DIR/data (PGDATA), DIR/.s.PGSQL.PORT (the unix socket), DIR/postgresql.log.
# Listens on the unix socket in DIR only; PM_PG_LISTEN=127.0.0.1 adds TCP on loopback.
# Authentication is `trust`, for a local development or test cluster only: anyone who can
# reach the socket directory (or, with PM_PG_LISTEN, the loopback port) is any role.
# As root the cluster runs as user `postgres` (PostgreSQL refuses root) and DIR is chowned
# to it; every directory above DIR must be searchable by that user.
#
# Environment: PGBIN (/usr/lib/postgresql/15/bin), PM_PG_FSYNC (on; the tests use off),
# PM_PG_LISTEN (''), PM_PG_MAX_CONNECTIONS (200), PM_PG_RUNAS (postgres, when root).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
INIT_SQL=${PM_PG_INIT_SQL:-$ROOT/deploy/postgres-init.sql}
SERVICES="gateway tenants tickets billing notifications"

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[[ $# -ge 2 ]] || usage
cmd=$1
[[ $cmd == start ]] && mkdir -p "$2"
[[ -d $2 ]] || die "no directory $2"
DIR=$(cd "$2" && pwd)
PGDATA=$DIR/data

[[ -x $PGBIN/pg_ctl ]] || die "no PostgreSQL 15 in $PGBIN: run 'make deps' (package postgresql-15)"

# as_owner CMD...: runs CMD as the cluster's owner.
RUNAS=""
if [[ $(id -u) == 0 ]]; then
    RUNAS=${PM_PG_RUNAS:-postgres}
    id "$RUNAS" > /dev/null 2>&1 || die "user $RUNAS does not exist (it comes with package postgresql-15)"
fi
as_owner() {
    if [[ -n $RUNAS ]]; then
        # cd /: the caller's working directory may be closed to the owner
        (cd / && runuser -u "$RUNAS" -- "$@")
    else
        "$@"
    fi
}

port_arg() {
    [[ ${1:-} =~ ^[0-9]+$ ]] && (( $1 > 0 && $1 < 65536 )) || die "PORT must be a number 1-65535, got '${1:-}'"
}

cmd_start() {
    local port=$1 fsync=${PM_PG_FSYNC:-on}
    port_arg "$port"
    local sock="$DIR/.s.PGSQL.$port"
    (( ${#sock} < 108 )) || die "socket path $sock is longer than 107 bytes: use a shorter DIR"
    if [[ -n $RUNAS ]]; then
        chown "$RUNAS" "$DIR"
        chmod 755 "$DIR"
        as_owner test -x "$DIR" -a -w "$DIR" ||
            die "user $RUNAS cannot enter $DIR: make every directory above it searchable (chmod o+x)"
    fi
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
        local nosync=()
        [[ $fsync == off ]] && nosync=(--no-sync)
        as_owner "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            "${nosync[@]}" > "$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'pm.conf'   # written by scripts/pg.sh at every start" \
            | as_owner tee -a "$PGDATA/postgresql.conf" > /dev/null
    fi
    # Settings are rewritten at every start so that the port and socket follow the arguments.
    local fpw=on
    [[ $fsync == off ]] && fpw=off
    as_owner tee "$PGDATA/pm.conf" > /dev/null <<EOF
# written by scripts/pg.sh; edits are lost at the next start
listen_addresses = '${PM_PG_LISTEN:-}'
port = $port
unix_socket_directories = '$DIR'
unix_socket_permissions = 0777
max_connections = ${PM_PG_MAX_CONNECTIONS:-200}
shared_buffers = 128MB
fsync = $fsync
full_page_writes = $fpw
synchronous_commit = $fsync
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
EOF
    if as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status > /dev/null 2>&1; then
        echo "pg.sh: already running in $PGDATA" >&2
        return 0
    fi
    if ! as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DIR/postgresql.log" -w -t 60 start > /dev/null; then
        tail -n 20 "$DIR/postgresql.log" >&2 || true
        die "PostgreSQL did not start (log: $DIR/postgresql.log)"
    fi
}

psql_su() {
    local port=$1; shift
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -U postgres "$@"
}

# One service's cluster (PM_SPLIT_DB=1) gets only that service's role and schema: the
# init SQL's list of services, ARRAY['gateway', ...], is narrowed to ARRAY['<service>'].
# The list must be written exactly so; a changed init SQL fails here rather than create
# every role in every cluster.
ALL_ARRAY="ARRAY['gateway', 'tenants', 'tickets', 'billing', 'notifications']"

cmd_setup() {
    local port=$1 only=${2:-} list=$SERVICES sql
    port_arg "$port"
    [[ -f $INIT_SQL ]] || die "missing $INIT_SQL"
    sql=$(< "$INIT_SQL")
    if [[ -n $only ]]; then
        [[ " $SERVICES " == *" $only "* ]] || die "unknown service '$only' (one of: $SERVICES)"
        [[ $sql == *"$ALL_ARRAY"* ]] ||
            die "$INIT_SQL does not list the services as $ALL_ARRAY: cannot set up $only alone"
        sql=${sql//"$ALL_ARRAY"/"ARRAY['$only']"}
        list=$only
    fi
    if [[ -z $(psql_su "$port" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'pm'") ]]; then
        psql_su "$port" -d postgres -c "CREATE DATABASE pm ENCODING 'UTF8' TEMPLATE template0" > /dev/null
    fi
    PGOPTIONS="-c client_min_messages=warning" psql_su "$port" -d pm -1 -f - <<< "$sql" > /dev/null
    local s
    for s in $list; do
        echo "PM_DB_DSN_${s^^}=host=$DIR port=$port dbname=pm user=pm_$s"
    done
}

cmd_stop() {
    [[ -f $PGDATA/PG_VERSION ]] || return 0
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status > /dev/null 2>&1 || return 0
    as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop > /dev/null ||
        as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop > /dev/null
}

case $cmd in
    start) [[ $# -eq 3 ]] || usage; cmd_start "$3" ;;
    setup) [[ $# -eq 3 || $# -eq 4 ]] || usage; cmd_setup "$3" "${4:-}" ;;
    stop)  [[ $# -eq 2 ]] || usage; cmd_stop ;;
    psql)  [[ $# -ge 3 ]] || usage; port=$3; shift 3; psql_su "$port" -d pm "$@" ;;
    *) usage ;;
esac
