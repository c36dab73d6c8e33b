#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, on 127.0.0.1 only.
#
#   pg_server.sh start DIR   creates DIR, starts a cluster in it on a free
#                            port, and prints its URL on stdout:
#                            postgresql://postgres@127.0.0.1:PORT/postgres
#   pg_server.sh stop DIR    stops that server by its PID and waits.
#
# Authentication is "trust" and the server listens on loopback and on a
# Unix socket inside DIR. PostgreSQL refuses to run as root, so as root
# the cluster belongs to the `postgres` system user (Debian's package
# creates it) and DIR's parent is given o+x so that user can reach it.
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[[ -x "$PG_BIN/initdb" ]] || { echo "pg_server.sh: no PostgreSQL in $PG_BIN" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir=$1
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) == 0 ]]; then
    chmod o+x "$(dirname "$dir")"
    chown postgres: "$dir"
  fi
  as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust \
    --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  local port
  port=$(free_port)
  as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" \
    start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "postgresql://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir=$1
  local pid_file="$dir/data/postmaster.pid"
  [[ -f "$pid_file" ]] || return 0
  local pid
  pid=$(head -1 "$pid_file")
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "pg_server.sh: server $pid did not stop" >&2
  return 1
}

case "${1:-}" in
  start) start "${2:?usage: pg_server.sh start DIR}" ;;
  stop) stop "${2:?usage: pg_server.sh stop DIR}" ;;
  *) echo "usage: pg_server.sh start|stop DIR" >&2; exit 64 ;;
esac
