#!/usr/bin/env bash
# A throwaway local PostgreSQL server for the sweep tests (many workers on one Optuna study).
#
#   scripts/postgres.sh               install Debian's postgresql if missing, start the server
#   scripts/postgres.sh --start-only  start it, but fail (exit 3) instead of installing
#   scripts/postgres.sh stop          stop it
#
# The server listens on 127.0.0.1:${DSLA_PG_PORT:-54329} only, with its data in
# ${DSLA_PG_DIR:-/tmp/dsla-postgres} (not the system's cluster), user `postgres`. Authentication:
# a password over TCP (scram-sha-256; random, made once, in ${DSLA_PG_DIR}.password, readable by its
# owner only) and peer authentication on the Unix socket in the data folder: no `trust`, so another
# local user cannot log in as the superuser. Idempotent: a running server is left alone (one this
# script started before with trust authentication is refused: stop it first). On success the last
# line printed is its URL with the password, e.g.
# postgresql+psycopg2://postgres:PASSWORD@127.0.0.1:54329/postgres (tests create their own databases).
set -euo pipefail

PORT=${DSLA_PG_PORT:-54329}
DATA=${DSLA_PG_DIR:-/tmp/dsla-postgres}
PASSWORD_FILE="$DATA.password"
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

trusting() { [[ -f "$DATA/pg_hba.conf" ]] && grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$DATA/pg_hba.conf"; }
url() { echo "postgresql+psycopg2://postgres:$(cat "$PASSWORD_FILE")@127.0.0.1:${PORT}/postgres"; }

if trusting; then
    echo "postgres.sh: $DATA was made with trust authentication (any local user is superuser): stop the server" \
         "(scripts/postgres.sh stop) and remove $DATA to make it again with a password" >&2
    exit 1
fi
if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && [[ -s "$PASSWORD_FILE" ]]; then
    url
    exit 0
fi

if [[ ! -f "$DATA/PG_VERSION" ]]; then
    mkdir -p "$DATA"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$DATA"
    chmod 700 "$DATA"
    (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PASSWORD_FILE")
    PWFILE=$(mktemp)  # a copy initdb (as user postgres) can read, removed at once
    cp "$PASSWORD_FILE" "$PWFILE"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$PWFILE"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --pwfile="$PWFILE" -E UTF8 >"$DATA.initdb.log" 2>&1 || {
        rm -f "$PWFILE"; echo "postgres.sh: initdb failed, see $DATA.initdb.log" >&2; exit 1; }
    rm -f "$PWFILE"
fi
if [[ ! -s "$PASSWORD_FILE" ]]; then
    echo "postgres.sh: $PASSWORD_FILE is missing: stop the server and remove $DATA to make it again" >&2
    exit 1
fi
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PORT -k $DATA -c fsync=off -c max_connections=100" start >&2 || {
    echo "postgres.sh: the server did not start, see $DATA/server.log" >&2; exit 1; }
url
