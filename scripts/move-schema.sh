#!/usr/bin/env bash
# move-schema.sh: moves one service's schema to another PostgreSQL cluster, the service
# stopped meanwhile (docs/OPERATIONS.md, "Move a service's data to its own cluster").
#
#   move-schema.sh [--stop CMD] [--start CMD] SERVICE FROM-DSN TO-DSN
#
# SERVICE: gateway, tenants, tickets, billing or notifications (schema SERVICE, role pm_SERVICE).
# FROM-DSN, TO-DSN: a superuser's libpq key=value DSNs of the database on each side, e.g.
#   "host=/srv/pm/pg port=5432 dbname=pm user=postgres". The target cluster must be running;
#   its database is created if missing, with the roles, schemas and extensions of
#   deploy/postgres-init.sql (as scripts/pg.sh setup does); its SERVICE schema must hold no table.
# Steps: prepare the target (before the stop); run --stop CMD (e.g. `systemctl stop pm-tickets`);
#   fence: role pm_SERVICE may no longer log in to the source and its sessions are ended, so
#   no instance still running (a supervisor restarting it, a forgotten replica) can write;
#   count the rows of every table; pg_dump -n SERVICE -Fc | pg_restore --single-transaction
#   into the target; count again and compare; run --start CMD (the service with
#   PM_DB_DSN_SERVICE pointing at the target). Prints the seconds the service was stopped.
# On any failure after the fence the source is intact: `ALTER ROLE pm_SERVICE LOGIN` there
# and start the service on its old DSN. After success the source schema stays (role fenced)
# until an operator drops it: DROP SCHEMA SERVICE CASCADE.
# Environment: PGBIN (/usr/lib/postgresql/15/bin), PM_PG_INIT_SQL (deploy/postgres-init.sql).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
INIT_SQL=${PM_PG_INIT_SQL:-$ROOT/deploy/postgres-init.sql}

die() { echo "move-schema.sh: $*" >&2; exit 1; }
say() { echo "move-schema.sh: $*" >&2; }
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" >&2; exit 2; }
now() { date -u +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

STOP_CMD=""
START_CMD=""
while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
        --stop) STOP_CMD=${2:-}; shift 2 ;;
        --start) START_CMD=${2:-}; shift 2 ;;
        *) usage ;;
    esac
done
[[ $# -eq 3 ]] || usage
SVC=$1
FROM=$2
TO=$3
case $SVC in
    gateway | tenants | tickets | billing | notifications) ;;
    *) die "unknown service '$SVC' (gateway, tenants, tickets, billing, notifications)" ;;
esac
ROLE=pm_$SVC
[[ -f $INIT_SQL ]] || die "missing $INIT_SQL"

# q DSN SQL: one value; run DSN ARGS: psql with ARGS. Later keywords of a DSN win (libpq).
q() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
run() {
    local dsn=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$dsn" "$@"
}
# counts DSN: "table rows" for every table of the schema, sorted
counts() {
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" <<EOF | sort
SELECT format('SELECT %L || '' '' || count(*) FROM %I.%I', tablename, schemaname, tablename)
  FROM pg_tables WHERE schemaname = '$SVC' \gexec
EOF
}

# ------------------------------------------------------------------ before the stop
q "$FROM" "SELECT 1" > /dev/null || die "cannot connect to the source ($FROM)"
[[ $(q "$FROM" "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == t ]] ||
    die "FROM-DSN must be a superuser's"
[[ -n $(q "$FROM" "SELECT 1 FROM pg_namespace WHERE nspname = '$SVC'") ]] || die "no schema $SVC in the source"
dbname=pm
[[ $TO =~ (^|[[:space:]])dbname=([^[:space:]]+) ]] && dbname=${BASH_REMATCH[2]}
[[ $dbname =~ ^[a-z_][a-z0-9_]*$ ]] || die "target dbname '$dbname': lower-case letters, digits and _ only"
q "$TO dbname=postgres" "SELECT 1" > /dev/null || die "cannot connect to the target cluster ($TO)"
[[ $(q "$TO dbname=postgres" "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == t ]] ||
    die "TO-DSN must be a superuser's"
if [[ $(q "$FROM" "SELECT current_setting('port') || ' ' || current_setting('data_directory')") == \
      $(q "$TO dbname=postgres" "SELECT current_setting('port') || ' ' || current_setting('data_directory')") ]]; then
    die "FROM and TO are the same cluster"
fi
if [[ -z $(q "$TO dbname=postgres" "SELECT 1 FROM pg_database WHERE datname = '$dbname'") ]]; then
    q "$TO dbname=postgres" "CREATE DATABASE $dbname ENCODING 'UTF8' TEMPLATE template0" > /dev/null
fi
run "$TO" -1 -f "$INIT_SQL" > /dev/null
n=$(q "$TO" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$SVC'")
(( n == 0 )) || die "the target's schema $SVC is not empty ($n relations): nothing was changed"
# pg_restore creates the schema, its owner and grants as they are on the source
q "$TO" "DROP SCHEMA IF EXISTS $SVC" > /dev/null

# ------------------------------------------------------------------ stopped
t0=$(now)
if [[ -n $STOP_CMD ]]; then
    bash -c "$STOP_CMD" || die "--stop command failed: nothing was changed"
fi
fenced=0
restore_login() {
    if (( fenced )); then
        say "failed: the source is unchanged; to go back: ALTER ROLE $ROLE LOGIN (on the source) and start $SVC on its old DSN"
    fi
}
trap restore_login EXIT
q "$FROM" "ALTER ROLE $ROLE NOLOGIN" > /dev/null
fenced=1
for ((i = 0; i < 100; i++)); do
    left=$(q "$FROM" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '$ROLE'")
    [[ $left == 0 ]] && break
    sleep 0.1
done
[[ $left == 0 ]] || die "sessions of $ROLE on the source do not end"
before=$(counts "$FROM")
t1=$(now)
"$PGBIN/pg_dump" -d "$FROM" -n "$SVC" -Fc | "$PGBIN/pg_restore" -d "$TO" --single-transaction --exit-on-error ||
    die "pg_dump | pg_restore failed"
t2=$(now)
after=$(counts "$TO")
if [[ $before != "$after" ]]; then
    diff <(echo "$before") <(echo "$after") >&2 || true
    die "row counts differ between source and target (above): on the target, DROP SCHEMA $SVC CASCADE before a new try"
fi
tables=$(grep -c . <<< "$before" || true)
rows=$(awk '{ n += $2 } END { print n + 0 }' <<< "$before")
fenced=0
if [[ -n $START_CMD ]]; then
    bash -c "$START_CMD" || die "--start command failed: the data is on the target; start $SVC there by hand"
fi
t3=$(now)
trap - EXIT
echo "moved schema $SVC: $tables tables, $rows rows, counts equal; dump+restore $(secs "$t1" "$t2") s;" \
    "service stopped for $(secs "$t0" "$t3") s"
# statistics for the planner (pg_restore copies none), after the service is back
q "$TO" "ANALYZE" > /dev/null 2>&1 || say "warning: ANALYZE on the target failed; autovacuum will do it"
echo "next: point every instance of $SVC at the target (PM_DB_DSN_${SVC^^}); once checked, on the source: DROP SCHEMA $SVC CASCADE"
