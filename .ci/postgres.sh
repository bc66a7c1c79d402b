# A throwaway PostgreSQL cluster for the tests: sourced by .ci/run (or by hand: `. .ci/postgres.sh && pg_start`).
# pg_start installs Debian's postgresql when it is missing, runs initdb in a temp dir as the postgres user,
# starts the server on a free loopback port with password authentication and exports BASTION_TEST_DATABASE_URL;
# pg_stop stops it and removes the directory.

pg_bin() {
  local dir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir"
}

pg_as_owner() {
  # initdb refuses to run as root: run the cluster as the postgres user then.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  local bin port pass
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    echo "Installing PostgreSQL (Debian's postgresql package)..." >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2 || return 1
    bin=$(pg_bin)
  fi
  [ -n "$bin" ] || { echo "PostgreSQL's initdb was not found after installing it." >&2; return 1; }

  PG_TEST_DIR=$(mktemp -d /tmp/bastion-pg.XXXXXX)
  pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$pass" > "$PG_TEST_DIR/pwfile"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$PG_TEST_DIR"
  pg_as_owner "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=scram-sha-256 --pwfile="$PG_TEST_DIR/pwfile" \
    -E UTF8 --locale=C.UTF-8 >"$PG_TEST_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TEST_DIR/initdb.log" >&2; return 1; }
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  pg_as_owner "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PG_TEST_DIR -c max_connections=300 -c synchronous_commit=on" \
    >/dev/null || { cat "$PG_TEST_DIR/server.log" >&2; return 1; }
  PG_TEST_BIN=$bin
  export BASTION_TEST_DATABASE_URL="postgres://postgres:$pass@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') started for the tests on 127.0.0.1:$port" >&2
}

pg_stop() {
  [ -n "${PG_TEST_DIR:-}" ] || return 0
  pg_as_owner "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$PG_TEST_DIR"
  PG_TEST_DIR=
}
