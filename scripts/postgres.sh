#!/usr/bin/env bash
# Install (Debian packages) and start a local PostgreSQL server for the storage tests.
# Prints the SQLAlchemy URL of an empty test database on stdout.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
VER=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$VER main$"; then
  pg_createcluster "$VER" main >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$VER" '$1==v && $2=="main" {print $3}')
pg_ctlcluster "$VER" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 1; done
psql_su() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
[ "$(psql_su "SELECT 1 FROM pg_roles WHERE rolname='bangjiao'")" = "1" ] || \
  psql_su "CREATE ROLE bangjiao LOGIN PASSWORD 'bangjiao'"
[ "$(psql_su "SELECT 1 FROM pg_database WHERE datname='bangjiao_test'")" = "1" ] || \
  su postgres -c "createdb -p $PORT -O bangjiao bangjiao_test"
echo "postgresql+psycopg://bangjiao:bangjiao@127.0.0.1:$PORT/bangjiao_test"
