#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from the machine's server binaries.
#   .ci/postgres.sh start DIR   initdb + start on a free port; prints the DSN
#   .ci/postgres.sh stop DIR    stop it and delete DIR
# initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` OS user.
# Test settings: fsync off (a test server trades crash safety for speed).
set -euo pipefail
action=${1:-}
dir=${2:-}
if [ -z "$dir" ] || { [ "$action" != start ] && [ "$action" != stop ]; }; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
pg_ctl_path=$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)
if [ -z "$pg_ctl_path" ]; then
  echo "no PostgreSQL server binaries (initdb, pg_ctl); Debian: apt-get install postgresql" >&2
  exit 1
fi
bin=$(dirname "$(readlink -f "$pg_ctl_path")")

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

if [ "$action" = start ]; then
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_server_user "$bin/initdb" -D "$dir/data" -A trust -U byoc -E UTF8 --no-sync >"$dir/initdb.log"
  as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
    "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  echo "postgresql://byoc@127.0.0.1:$port/postgres"
else
  as_server_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null || true
  rm -rf "$dir"
fi
