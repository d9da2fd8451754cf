# shellcheck shell=sh
# A scratch PostgreSQL server for scripts/demo and scripts/bench, which source this file:
# initdb and pg_ctl in a new temporary directory, on a free loopback port, as nobody when run as
# root (the server refuses to run as root), trusting local connections as user postgres.
#   pg_scratch_start   sets pg (the directory), pgbin, pgport and pg_server (its URI, ending
#                      in "/"), and starts the server
#   pg_scratch_stop    stops it (fast shutdown) and removes the directory
#   as_pg COMMAND...   runs a command as the server's user

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

# pg, pgport and pg_server are for the scripts that source this file.
# shellcheck disable=SC2034
pg_scratch_start() {
  pgbin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
  [ -x "$pgbin/initdb" ] || { echo "no PostgreSQL server in /usr/lib/postgresql: run scripts/install-deps" >&2; exit 1; }
  pg=$(mktemp -d)
  if [ "$(id -u)" -eq 0 ]; then chown nobody "$pg"; fi
  pgport=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg "$pgbin/initdb" --pgdata="$pg/data" --username=postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
  as_pg "$pgbin/pg_ctl" --pgdata="$pg/data" --log="$pg/server.log" --wait \
    --options="-c listen_addresses=127.0.0.1 -c port=$pgport -c unix_socket_directories=$pg" start >/dev/null
  pg_server="postgresql://postgres@127.0.0.1:$pgport/"
}

pg_scratch_stop() {
  [ -n "${pg:-}" ] || return 0
  as_pg "$pgbin/pg_ctl" --pgdata="$pg/data" --mode=fast --wait stop >/dev/null 2>&1 || true
  rm -rf "$pg"
  pg=""
}
