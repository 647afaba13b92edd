#!/usr/bin/env bash
# PostgreSQL 15 for the backend's event store, on this one machine, as plain
# processes on loopback ports: a primary, and with --standby a synchronous
# standby made by pg_basebackup (a commit returns once the standby has it).
#
#   scripts/pg.sh up     [--dir DIR] [--standby] [--fast]   initialise and start; create the store "cad"
#   scripts/pg.sh status [--dir DIR]                        what runs, the standby's replication state
#   scripts/pg.sh promote [--dir DIR]                       the standby becomes the primary (after losing it)
#   scripts/pg.sh down   [--dir DIR]                        stop what up started
#
# --fast: no fsync, and commits do not wait for the standby (tests only: a
# crash of the machine loses commits).
# The store's tables belong to the role cad_owner; the stub connects as
# cad_stub, which may only INSERT and SELECT the log (the read models it
# keeps as it likes), and triggers refuse UPDATE, DELETE and TRUNCATE of the
# log to every role.
# DIR (default $MDC_PG_DIR or /tmp/mdc-pg) holds the data directories, logs
# and pg.env: PG_PRIMARY_PORT, PG_STANDBY_PORT, PG_ADMIN_URI (the superuser),
# PG_OWNER_URI (cad_owner) and MDC_PG_URI (the stub's: cad-stub --db
# "$MDC_PG_URI", cadctl --db "$MDC_PG_URI" ...). With a standby, MDC_PG_URI
# names both servers with target_session_attrs=read-write: a stub that loses
# the primary connects to whichever of the two is the primary now. Loopback connections are
# trusted (no passwords): a machine of its own, not a shared one.
# Run as root, the servers run as the postgres user. `down` leaves DIR.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

cmd="${1:-}"
[ -n "$cmd" ] || { usage; exit 2; }
shift
dir="${MDC_PG_DIR:-/tmp/mdc-pg}"
standby=0
fast=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --standby) standby=1; shift ;;
    --fast) fast=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "pg: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
  esac
done

bin=/usr/lib/postgresql/15/bin
say() { echo "pg: $*"; }

# The servers refuse to run as root: as root, they run as postgres.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# shellcheck source=scripts/ports.sh
. "$(dirname "$0")/ports.sh"

load_env() {
  [ -f "$dir/pg.env" ] || { echo "pg: no PostgreSQL in $dir (run: scripts/pg.sh up)" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$dir/pg.env"
}

# Starts the server of data directory $1 and waits until it takes connections.
start() {
  local data="$1"
  if ! as_pg "$bin/pg_ctl" -D "$data" -l "$data.log" -w -t 120 start > /dev/null; then
    echo "pg: the server of $data did not start; its log:" >&2
    tail -8 "$data.log" >&2 || true
    return 1
  fi
}

write_env() {
  local stub="postgresql://cad_stub@127.0.0.1:$1/cad"
  [ -n "$2" ] && stub="postgresql://cad_stub@127.0.0.1:$1,127.0.0.1:$2/cad?target_session_attrs=read-write&connect_timeout=2"
  {
    echo "PG_PRIMARY_PORT=$1"
    echo "PG_STANDBY_PORT=$2"
    echo "PG_ADMIN_URI=postgresql://postgres@127.0.0.1:$1/postgres"
    echo "PG_OWNER_URI=postgresql://cad_owner@127.0.0.1:$1/cad"
    echo "MDC_PG_URI=\"$stub\""
  } > "$dir/pg.env"
}

up() {
  [ -x "$bin/initdb" ] || { echo "pg: PostgreSQL 15 is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
  if [ -f "$dir/pg.env" ]; then
    load_env
    if as_pg "$bin/pg_ctl" -D "$dir/primary" status > /dev/null 2>&1; then
      echo "pg: already up in $dir (scripts/pg.sh down first)" >&2
      exit 1
    fi
  fi
  mkdir -p "$dir"
  rm -rf "$dir/primary" "$dir/standby" "$dir/sock"
  mkdir -p "$dir/sock"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$dir/sock"
  local primary standby_port=""
  free_port primary
  as_pg "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    $([ "$fast" = 1 ] && echo --no-sync) > "$dir/initdb.log"
  # Loopback only; WAL for a standby; a commit waits for the standby named
  # standby1 when there is one (synchronous_standby_names).
  cat >> "$dir/primary/postgresql.conf" <<EOF
port = $primary
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
wal_level = replica
max_wal_senders = 4
max_connections = 200
log_min_messages = warning
EOF
  [ "$fast" = 1 ] && printf 'fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n' >> "$dir/primary/postgresql.conf"
  start "$dir/primary"
  write_env "$primary" ""  # down works from here on
  say "primary up on 127.0.0.1:$primary"
  if [ "$standby" = 1 ]; then
    free_port standby_port
    as_pg "$bin/pg_basebackup" -d "host=127.0.0.1 port=$primary user=postgres application_name=standby1" \
      -D "$dir/standby" -R -X stream -c fast > /dev/null
    sed -i "s/^port = .*/port = $standby_port/" "$dir/standby/postgresql.conf"
    start "$dir/standby"
    as_pg "$bin/psql" -q -h 127.0.0.1 -p "$primary" -U postgres -d postgres \
      -c "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" -c "SELECT pg_reload_conf()" > /dev/null
    say "standby up on 127.0.0.1:$standby_port, synchronous (pg_basebackup of the primary)"
  fi
  local here
  here="$(cd "$(dirname "$0")/.." && pwd)"
  local cadctl="${MDC_BUILD_DIR:-$here/build}/server-stub/cadctl"
  [ -x "$cadctl" ] || { echo "pg: no $cadctl (build first: cmake --preset default && cmake --build build)" >&2; down; exit 1; }
  as_pg "$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$primary" -U postgres -d postgres > /dev/null <<'SQL'
CREATE ROLE cad_owner LOGIN;
CREATE ROLE cad_stub LOGIN;
CREATE DATABASE cad OWNER cad_owner;
SQL
  "$cadctl" --db "postgresql://cad_owner@127.0.0.1:$primary/cad" init > /dev/null
  # The stub's rights: the log INSERT and SELECT only; the read models all.
  as_pg "$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$primary" -U cad_owner -d cad > /dev/null <<'SQL'
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cad_stub;
REVOKE UPDATE, DELETE, TRUNCATE ON events, store_meta FROM cad_stub;
REVOKE INSERT ON store_meta FROM cad_stub;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO cad_stub;
SQL
  write_env "$primary" "$standby_port"
  say "store \"cad\" made by cad_owner; the stub's role cad_stub may only insert and read the log"
  load_env
  say "up. cad-stub --db '$MDC_PG_URI' ..."
}

status() {
  load_env
  for role in primary standby; do
    [ -d "$dir/$role" ] || continue
    if as_pg "$bin/pg_ctl" -D "$dir/$role" status > /dev/null 2>&1; then say "$role running"; else say "$role not running"; fi
  done
  as_pg "$bin/psql" -qAt -h 127.0.0.1 -p "$PG_PRIMARY_PORT" -U postgres -d postgres \
    -c "SELECT 'replication: ' || application_name || ' ' || state || ', ' || sync_state FROM pg_stat_replication" \
    2>/dev/null | sed 's/^/pg: /' || true
}

promote() {
  load_env
  [ -d "$dir/standby" ] || { echo "pg: no standby in $dir (up --standby)" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/standby" -w -t 60 promote > /dev/null
  say "standby promoted: the primary is now 127.0.0.1:$PG_STANDBY_PORT"
}

down() {
  load_env
  for role in standby primary; do
    [ -d "$dir/$role" ] || continue
    as_pg "$bin/pg_ctl" -D "$dir/$role" status > /dev/null 2>&1 || continue
    as_pg "$bin/pg_ctl" -D "$dir/$role" -m fast -w stop > /dev/null || true
    say "$role stopped"
  done
  say "down (data and logs stay in $dir)"
}

case "$cmd" in
  up) up ;;
  status) status ;;
  promote) promote ;;
  down) down ;;
  -h|--help|help) usage ;;
  *) echo "pg: unknown command \"$cmd\"" >&2; usage >&2; exit 2 ;;
esac
