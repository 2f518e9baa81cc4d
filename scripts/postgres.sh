#!/usr/bin/env bash
# A throwaway local PostgreSQL server for the sweep tests (many workers on one Optuna study).
#
#   scripts/postgres.sh               install Debian's postgresql if missing, start the server
#   scripts/postgres.sh --start-only  start it, but fail (exit 3) instead of installing
#   scripts/postgres.sh stop          stop it
#
# The server listens on 127.0.0.1:${DSLA_PG_PORT:-54329} only, with its data in
# ${DSLA_PG_DIR:-/tmp/dsla-postgres} (not the system's cluster), trust authentication, user
# `postgres`. Idempotent: a running server is left alone. On success the last line printed is its
# URL, e.g. postgresql+psycopg2://postgres@127.0.0.1:54329/postgres (tests create their own databases).
set -euo pipefail

PORT=${DSLA_PG_PORT:-54329}
DATA=${DSLA_PG_DIR:-/tmp/dsla-postgres}
URL="postgresql+psycopg2://postgres@127.0.0.1:${PORT}/postgres"
MODE=${1:-start}

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN=$(bin_dir)
if [[ -z "$BIN" ]]; then
    if [[ "$MODE" != "start" ]]; then
        echo "postgres.sh: PostgreSQL is not installed (run scripts/postgres.sh without --start-only)" >&2
        exit 3
    fi
    echo "postgres.sh: installing Debian's postgresql" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    BIN=$(bin_dir)
fi

# initdb and postgres refuse to run as root: run them as the `postgres` user then.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ "$MODE" == "stop" ]]; then
    [[ -f "$DATA/postmaster.pid" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    exit 0
fi

if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    echo "$URL"
    exit 0
fi

if [[ ! -f "$DATA/PG_VERSION" ]]; then
    mkdir -p "$DATA"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$DATA"
    chmod 700 "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >"$DATA.initdb.log" 2>&1 || {
        echo "postgres.sh: initdb failed, see $DATA.initdb.log" >&2; exit 1; }
fi
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=100" start >&2 || {
    echo "postgres.sh: the server did not start, see $DATA/server.log" >&2; exit 1; }
echo "$URL"
