# Sourced by .ci/run: a PostgreSQL of its own for the tests of several replicas
# (tests/it/replicas.rs, src/store/postgres/tests.rs), from Debian's packages, in a
# temporary directory, listening on a free loopback port; stopped when CI ends. Exports
# TAGPUB_TEST_DATABASE_URL (a role that may create databases: each test makes its own)
# and TAGPUB_REQUIRE_POSTGRES=1, so that a missing server fails the run instead of
# skipping those tests.

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin)" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
PG_BIN=$(pg_bin)
PG_DIR=$(mktemp -d /tmp/tagpub-ci-pg.XXXXXX)
chown postgres: "$PG_DIR"
# PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
echo ci-admin >"$PG_DIR/pw" && chown postgres: "$PG_DIR/pw"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -A scram-sha-256 -U postgres \
  --pwfile="$PG_DIR/pw" >/dev/null
# A random high port; another one if it is taken.
for attempt in 1 2 3 4 5; do
  PG_PORT=$((20000 + RANDOM % 30000))
  if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300" start >/dev/null; then
    break
  fi
  [ "$attempt" = 5 ] && { cat "$PG_DIR/log"; exit 1; }
done
stop_postgres() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
PGPASSWORD=ci-admin "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
  -c "CREATE ROLE tagpub LOGIN CREATEDB PASSWORD 'tagpub-ci'" \
  -c "CREATE DATABASE tagpub OWNER tagpub"
export TAGPUB_TEST_DATABASE_URL="postgres://tagpub:tagpub-ci@127.0.0.1:$PG_PORT/tagpub"
export TAGPUB_REQUIRE_POSTGRES=1
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT for the tests"
