#!/bin/sh
# Runs once in the postgres container's first start, after 10-pm-init.sql
# (deploy/postgres-init.sql): the service roles log in over TCP with PM_DB_PASSWORD.
set -eu
for s in gateway tenants tickets billing notifications; do
    # psql interpolates :'pw' (quoted literal) only in input it reads, not in -c
    echo "ALTER ROLE pm_$s PASSWORD :'pw';" |
        psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -q -v pw="$PM_DB_PASSWORD"
done
