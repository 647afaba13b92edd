#!/usr/bin/env bash
# The city-scale deployment on this one machine, as plain processes on
# loopback ports: three RabbitMQ 3.10 nodes clustered, with the MQTT plugin and
# the devices' sessions on quorum queues; then the backend: one stub on node 1
# speaking MQTT 3.1.1 with its store on SQLite, or (--pg) a PostgreSQL primary
# with a synchronous standby (scripts/pg.sh) and two stub workers taking the
# ingest from one durable quorum queue over AMQP (worker 1 through node 1,
# worker 2 through node 2). With --edges N, the vehicles' brokers: N
# mosquitto edges (cadctl broker-config --edge: TLS with a certificate per
# device and the per-device ACL), each bridged into the cluster over one
# connection that fails over across the nodes, and each with its liveness
# watch (cad-edge-watch), which hears the beats that stay on the edge.
#
#   scripts/cluster.sh up     [--dir DIR] [--no-stub] [--pg] [--edges N]
#                                                       start and cluster the nodes, then the backend (and edges)
#   scripts/cluster.sh status [--dir DIR]               what runs, the cluster's members, the stub's counts
#   scripts/cluster.sh heal   [--dir DIR]               start the nodes (and edges) that are down; nodes rejoin
#   scripts/cluster.sh drop-queue NAME [--dir DIR]      delete queue NAME (a run's ingest queue, with what it holds)
#   scripts/cluster.sh down   [--dir DIR]               stop everything started by up
#
# DIR (default $MDC_CLUSTER_DIR or /tmp/mdc-cluster) holds each node's config,
# data and log, and cluster.env: the ports and the broker list for agents
# (MDC_BROKERS=tcp://127.0.0.1:P1,tcp://...:P2,tcp://...:P3), and with edges
# theirs (MDC_EDGES=ssl://127.0.0.1:E1,...; the fleet CA in DIR/cad.ca). Nothing
# is installed as a service; `down` leaves DIR for inspection.
set -euo pipefail

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

cmd="${1:-}"
[ -n "$cmd" ] || { usage; exit 2; }
shift
dir="${MDC_CLUSTER_DIR:-/tmp/mdc-cluster}"
stub=1
pg=0
edges=0
queue=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --no-stub) stub=0; shift ;;
    --pg) pg=1; shift ;;
    --edges)
      edges="${2:-}"
      [[ "$edges" =~ ^[1-8]$ ]] || { echo "cluster: --edges \"$edges\": expected 1 to 8" >&2; exit 2; }
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "cluster: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
    *)
      if [ "$cmd" = drop-queue ] && [ -z "$queue" ]; then queue="$1"; shift
      else echo "cluster: unknown argument \"$1\"" >&2; usage >&2; exit 2; fi ;;
  esac
done

here="$(cd "$(dirname "$0")/.." && pwd)"
build="${MDC_BUILD_DIR:-$here/build}"
rmq=/usr/lib/rabbitmq/bin
nodes=(1 2 3)

say() { echo "cluster: $*"; }

# shellcheck source=scripts/ports.sh
. "$(dirname "$0")/ports.sh"

# Runs rabbitmqctl (or another CLI tool) against node N of this cluster.
ctl() {
  local n="$1" tool="$2"
  shift 2
  HOME="$dir/rabbit$n" ERL_EPMD_PORT="$EPMD_PORT" "$rmq/$tool" -n "rabbit$n@localhost" "$@"
}

node_pid() { cat "$dir/rabbit$1/pid" 2>/dev/null || true; }
# A process that runs: not gone, and not a zombie its parent (init, where
# init does not reap) has yet to collect.
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

# Three Erlang VMs share this machine's cores with PostgreSQL and the
# workers. By default each VM runs a scheduler per core, and schedulers that
# run out of work spin before they sleep: three nodes would fight each other
# and the store for the same cores. Here each node gets its share of the
# cores (+S) and sleeps when idle (+sbwt none, RabbitMQ's runtime guide for
# shared hosts). On machines of their own the nodes need neither.
# MDC_RABBIT_ERL_ARGS replaces these flags (empty: Erlang's defaults).
schedulers=$(( $(nproc) / 3 )); [ "$schedulers" -ge 1 ] || schedulers=1
rabbit_erl_args="${MDC_RABBIT_ERL_ARGS-+S $schedulers:$schedulers +sbwt none +sbwtdcpu none +sbwtdio none}"

# Starts node N in the background with its config in DIR/rabbitN. Erlang's
# distribution (the nodes' own traffic) listens on loopback only, on the
# node's RABBITn_DIST port.
start_node() {
  local n="$1" d="$dir/rabbit$1" dist_var="RABBIT$1_DIST"
  (
    cd "$d"
    export HOME="$d" RABBITMQ_NODENAME="rabbit$n@localhost" ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
      RABBITMQ_DIST_PORT="${!dist_var}" \
      RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" RABBITMQ_CONFIG_FILE="$d/rabbitmq" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" RABBITMQ_PID_FILE="$d/pid" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} -kernel inet_dist_listen_min ${!dist_var} -kernel inet_dist_listen_max ${!dist_var} $rabbit_erl_args"
    setsid "$rmq/rabbitmq-server" >> "$d/out.log" 2>&1 < /dev/null &
  )
}

# Waits until node N's pid file is written and RabbitMQ runs on it; returns 1
# (having shown the node's log) when it does not within two minutes.
await_node() {
  local n="$1"
  if ! ctl "$n" rabbitmqctl -q -t 120 wait "$dir/rabbit$n/pid" > /dev/null 2>&1; then
    echo "cluster: node rabbit$n did not start; its log:" >&2
    grep -v '^\s*$' "$dir/rabbit$n/out.log" | tail -8 >&2 || true
    return 1
  fi
  say "rabbit$n@localhost up: MQTT on $(eval echo "\$RABBIT${n}_MQTT"), AMQP on $(eval echo "\$RABBIT${n}_AMQP")"
}

load_env() {
  [ -f "$dir/cluster.env" ] || { echo "cluster: no cluster in $dir (run: scripts/cluster.sh up)" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
}

up() {
  [ -x "$rmq/rabbitmq-server" ] || { echo "cluster: rabbitmq-server is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
  if [ -f "$dir/cluster.env" ]; then
    load_env
    if alive "$(node_pid 1)"; then echo "cluster: already up in $dir (scripts/cluster.sh down first)" >&2; exit 1; fi
  fi
  mkdir -p "$dir"
  local cookie
  cookie="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  free_port EPMD_PORT
  {
    echo "EPMD_PORT=$EPMD_PORT"
  } > "$dir/cluster.env.new"
  local brokers=""
  for n in "${nodes[@]}"; do
    local d="$dir/rabbit$n" amqp mqtt dist
    free_port amqp; free_port mqtt; free_port dist
    rm -rf "$d"
    mkdir -p "$d"
    echo "$cookie" > "$d/.erlang.cookie"
    chmod 400 "$d/.erlang.cookie"
    echo "[rabbitmq_mqtt]." > "$d/enabled_plugins"
    # mqtt.durable_queue_type: persistent sessions (clean session 0) on quorum
    # queues, replicated to a majority, so a device keeps its session when it
    # moves to another node. mqtt.subscription_ttl: a session outlives an
    # outage of up to 7 days (the default is 24 h), the same as the agent's
    # session expiry on MQTT 5.
    cat > "$d/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$amqp
mqtt.listeners.tcp.1 = 127.0.0.1:$mqtt
mqtt.allow_anonymous = true
mqtt.vhost = /
mqtt.exchange = amq.topic
mqtt.durable_queue_type = quorum
mqtt.subscription_ttl = 604800000
log.file.level = info
log.console = false
EOF
    {
      echo "RABBIT${n}_AMQP=$amqp"
      echo "RABBIT${n}_MQTT=$mqtt"
      echo "RABBIT${n}_DIST=$dist"
    } >> "$dir/cluster.env.new"
    brokers+="${brokers:+,}tcp://127.0.0.1:$mqtt"
  done
  echo "MDC_BROKERS=$brokers" >> "$dir/cluster.env.new"
  mv "$dir/cluster.env.new" "$dir/cluster.env"
  load_env

  say "starting 3 RabbitMQ nodes in $dir (this takes about half a minute)"
  for n in "${nodes[@]}"; do start_node "$n"; done
  for n in "${nodes[@]}"; do await_node "$n" || { down >&2; exit 1; }; done
  for n in 2 3; do
    ctl "$n" rabbitmqctl -q stop_app > /dev/null
    ctl "$n" rabbitmqctl -q join_cluster rabbit1@localhost > /dev/null
    ctl "$n" rabbitmqctl -q start_app > /dev/null
    say "rabbit$n@localhost joined rabbit1@localhost"
  done

  if [ "$pg" = 1 ]; then
    bash "$here/scripts/pg.sh" up --standby --dir "$dir/pg" | sed 's/^pg: /cluster: postgresql: /'
    # shellcheck disable=SC1091
    . "$dir/pg/pg.env"
    echo "STORE=\"$MDC_PG_URI\"" >> "$dir/cluster.env"
  else
    echo "STORE=\"$dir/cad.db\"" >> "$dir/cluster.env"
  fi
  load_env

  if [ "$stub" = 1 ]; then
    [ -x "$build/server-stub/cad-stub" ] || { echo "cluster: no $build/server-stub/cad-stub (build first: cmake --preset default && cmake --build build)" >&2; exit 1; }
    if [ "$pg" = 1 ]; then
      # Two workers on the PostgreSQL store. Each declares the ingest queue
      # and binds it before any device connects: RabbitMQ acknowledges a
      # QoS 1 publish that no queue takes.
      local a1="amqp://guest:guest@127.0.0.1:$RABBIT1_AMQP" a2="amqp://guest:guest@127.0.0.1:$RABBIT2_AMQP"
      local a3="amqp://guest:guest@127.0.0.1:$RABBIT3_AMQP"
      start_stub 1 "$a1,$a2,$a3"
      start_stub 2 "$a2,$a3,$a1"
    else
      # One stub subscribed over MQTT before any device connects, for the
      # same reason.
      start_stub 1 ""
    fi
  fi
  if [ "$edges" -gt 0 ]; then
    start_edges
    say "up. Agents: --broker $MDC_EDGES --set tls.ca=$dir/cad.ca/ca.pem with a certificate of the fleet CA (mdc-provision, cadctl ca sign)"
  else
    say "up. Agents: --set link.mqtt_version=3.1.1 --broker $MDC_BROKERS"
  fi
}

# The edges: a fleet CA (made once), then per edge a config from cadctl
# broker-config --edge, bridged to the three nodes' MQTT listeners.
start_edges() {
  [ -x "$build/server-stub/cadctl" ] || { echo "cluster: no $build/server-stub/cadctl (build first)" >&2; exit 1; }
  local cadctl=("$build/server-stub/cadctl" --db "$STORE" --ca-dir "$dir/cad.ca")
  [ -f "$dir/cad.ca/ca.pem" ] || "${cadctl[@]}" ca init --name "city fleet CA" | sed 's/^/cluster: /'
  local backbone="" n k list=""
  for n in "${nodes[@]}"; do backbone+="${backbone:+,}tcp://127.0.0.1:$(eval echo "\$RABBIT${n}_MQTT")"; done
  for k in $(seq 1 "$edges"); do
    local port
    free_port port
    mkdir -p "$dir/edge$k"
    "${cadctl[@]}" broker-config --out "$dir/edge$k/mosquitto.conf" --port "$port" --bind 127.0.0.1 \
      --log "$dir/edge$k/mosquitto.log" --fleet $(( 12000 / edges )) --edge "edge$k" --bridge-to "$backbone" > /dev/null
    echo "EDGE${k}_PORT=$port" >> "$dir/cluster.env"
    list+="${list:+,}ssl://127.0.0.1:$port"
  done
  echo "EDGES=$edges" >> "$dir/cluster.env"
  echo "MDC_EDGES=$list" >> "$dir/cluster.env"
  load_env
  for k in $(seq 1 "$edges"); do start_edge "$k"; done
}

# Starts edge K with its config; waits for its listener.
start_edge() {
  local k="$1" port_var="EDGE$1_PORT"
  setsid mosquitto -c "$dir/edge$k/mosquitto.conf" >> "$dir/edge$k/out.log" 2>&1 < /dev/null &
  echo "$!" > "$dir/edge$k/pid"
  for _ in $(seq 1 100); do
    if (exec 3<> "/dev/tcp/127.0.0.1/${!port_var}") 2> /dev/null; then
      say "edge$k up on ssl://127.0.0.1:${!port_var}, bridged to the cluster"
      start_watch "$k"
      return 0
    fi
    sleep 0.1
  done
  echo "cluster: edge$k did not start; its log:" >&2
  tail -5 "$dir/edge$k/out.log" "$dir/edge$k/mosquitto.log" >&2 2> /dev/null || true
  return 1
}

# Starts edge K's liveness watch (cad-edge-watch) unless it runs: it hears the
# beats that stay on the edge and reports silent vehicles to the workers.
start_watch() {
  local k="$1" port_var="EDGE$1_PORT"
  alive "$(cat "$dir/edge$k/watch.pid" 2> /dev/null)" && return 0
  [ -x "$build/server-stub/cad-edge-watch" ] || { echo "cluster: no $build/server-stub/cad-edge-watch (build first)" >&2; exit 1; }
  setsid "$build/server-stub/cad-edge-watch" --broker "ssl://127.0.0.1:${!port_var}" --edge "edge$k" \
    --tls-ca "$dir/cad.ca/ca.pem" --tls-cert "$dir/edge$k/cad-stub.pem" --tls-key "$dir/edge$k/cad-stub.key" \
    >> "$dir/edge$k/watch.log" 2>&1 < /dev/null &
  echo "$!" > "$dir/edge$k/watch.pid"
  say "edge$k's liveness watch started (log $dir/edge$k/watch.log)"
}

# Starts stub N (its control socket cad-N.ctl; cad.ctl for the first) through
# node N's MQTT listener; with AMQP URIs, as a worker taking the ingest from the
# queue and publishing its acks and downlinks over AMQP (no MQTT link then).
start_stub() {
  local n="$1" amqp="$2" ctl="$dir/cad.ctl" side="$dir/cad"
  [ "$n" = 1 ] || { ctl="$dir/cad-$n.ctl"; side="$dir/cad-$n"; }
  # Its MQTT link (a stub that is not a worker) to node n first, then to the others in turn.
  local brokers="" m
  for m in $n $(( n % 3 + 1 )) $(( (n + 1) % 3 + 1 )); do
    brokers+="${brokers:+,}tcp://127.0.0.1:$(eval echo "\$RABBIT${m}_MQTT")"
  done
  local args=(--db "$STORE" --control "$ctl" --records "$dir/cad.records" --ca-dir "$dir/cad.ca"
              --broker "$brokers" --mqtt-version 3.1.1 --client-id "cad-stub-$n")
  [ -n "$amqp" ] && args+=(--amqp "$amqp")
  setsid "$build/server-stub/cad-stub" "${args[@]}" > "$side-stub.log" 2>&1 < /dev/null &
  echo "$!" > "$side-stub.pid"
  for _ in $(seq 1 100); do
    "$build/server-stub/cadctl" --db "$STORE" --control "$ctl" stats 2>/dev/null | grep -q '"ready": true' && break
    sleep 0.2
  done
  if [ -n "$amqp" ]; then
    say "cad-stub worker $n: ingest from queue cad.ingest and downlinks over AMQP through rabbit$n; store $STORE (cadctl --db '$STORE' --control $ctl ...)"
  else
    say "cad-stub on rabbit$n (MQTT 3.1.1): store $STORE (cadctl --db '$STORE' --control $ctl ...)"
  fi
}

# Starts every node that is not running (after a crash or kill -9); each
# rejoins the cluster it was in.
heal() {
  load_env
  local started=()
  for n in "${nodes[@]}"; do
    alive "$(node_pid "$n")" && continue
    rm -f "$dir/rabbit$n/pid"
    start_node "$n"
    started+=("$n")
  done
  for n in "${started[@]}"; do await_node "$n" || exit 1; done
  say "${#started[@]} nodes started; all 3 running"
  local k
  for k in $(seq 1 "${EDGES:-0}"); do
    alive "$(cat "$dir/edge$k/pid" 2> /dev/null)" || start_edge "$k" || exit 1
    start_watch "$k"
  done
}

# A queue bound to every device's topics keeps taking a copy of each message
# until it is deleted: a test run's ingest queue goes when the run ends.
drop_queue() {
  load_env
  [ -n "$queue" ] || { echo "cluster: drop-queue needs a queue name" >&2; exit 2; }
  for n in "${nodes[@]}"; do
    alive "$(node_pid "$n")" || continue
    ctl "$n" rabbitmqctl -q delete_queue "$queue" > /dev/null
    say "queue $queue deleted"
    return 0
  done
  echo "cluster: no node is running in $dir" >&2
  exit 1
}

status() {
  load_env
  for n in "${nodes[@]}"; do
    local pid
    pid="$(node_pid "$n")"
    if alive "$pid"; then say "rabbit$n@localhost running (pid $pid)"; else say "rabbit$n@localhost not running"; fi
  done
  for n in "${nodes[@]}"; do
    if alive "$(node_pid "$n")"; then
      say "running in the cluster: $(ctl "$n" rabbitmqctl -q cluster_status --formatter json 2>/dev/null |
        grep -o '"running_nodes":\[[^]]*\]' | sed 's/"running_nodes":\[//; s/\]//; s/"//g; s/,/, /g')"
      break
    fi
  done
  if [ -f "$dir/pg/pg.env" ]; then
    bash "$here/scripts/pg.sh" status --dir "$dir/pg" | sed 's/^pg: /cluster: postgresql: /'
  fi
  local any=0
  for side in "$dir/cad" "$dir/cad-2"; do
    [ -f "$side-stub.pid" ] || continue
    any=1
    local ctl="$dir/cad.ctl"
    [ "$side" = "$dir/cad" ] || ctl="$dir/cad-2.ctl"
    if alive "$(cat "$side-stub.pid")"; then
      say "$(basename "$side")-stub running (pid $(cat "$side-stub.pid"))"
      "$build/server-stub/cadctl" --db "$STORE" --control "$ctl" stats 2>/dev/null |
        grep -E '"(ingest|ready|received|appended|duplicates|redelivered)"' | sed 's/^ */cluster:   /' || true
    else
      say "$(basename "$side")-stub not running"
    fi
  done
  [ "$any" = 1 ] || say "cad-stub not running"
  local k
  for k in $(seq 1 "${EDGES:-0}"); do
    if alive "$(cat "$dir/edge$k/pid" 2> /dev/null)"; then say "edge$k running (pid $(cat "$dir/edge$k/pid"))"
    else say "edge$k not running"; fi
    if alive "$(cat "$dir/edge$k/watch.pid" 2> /dev/null)"; then say "edge$k's liveness watch running (pid $(cat "$dir/edge$k/watch.pid"))"
    else say "edge$k's liveness watch not running"; fi
  done
}

down() {
  load_env
  local k
  for k in $(seq 1 "${EDGES:-0}"); do
    local epid what
    for what in watch.pid pid; do
      epid="$(cat "$dir/edge$k/$what" 2> /dev/null || true)"
      alive "$epid" || continue
      kill "$epid"
      for _ in $(seq 1 50); do alive "$epid" || break; sleep 0.1; done
      if [ "$what" = pid ]; then say "edge$k stopped"; else say "edge$k's liveness watch stopped"; fi
    done
  done
  for side in "$dir/cad" "$dir/cad-2"; do
    [ -f "$side-stub.pid" ] || continue
    local pid
    pid="$(cat "$side-stub.pid")"
    if alive "$pid"; then
      kill "$pid"
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
      say "$(basename "$side")-stub stopped"
    fi
    rm -f "$side-stub.pid"
  done
  for n in 3 2 1; do
    local pid
    pid="$(node_pid "$n")"
    alive "$pid" || continue
    ctl "$n" rabbitmqctl -q stop > /dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    say "rabbit$n@localhost stopped"
  done
  # The port mapper the first node started for this cluster.
  ERL_EPMD_PORT="$EPMD_PORT" epmd -kill > /dev/null 2>&1 || true
  if [ -f "$dir/pg/pg.env" ]; then
    bash "$here/scripts/pg.sh" down --dir "$dir/pg" | sed 's/^pg: /cluster: postgresql: /'
  fi
  say "down (logs and data stay in $dir)"
}

case "$cmd" in
  up) up ;;
  heal) heal ;;
  drop-queue) drop_queue ;;
  status) status ;;
  down) down ;;
  -h|--help|help) usage ;;
  *) echo "cluster: unknown command \"$cmd\"" >&2; usage >&2; exit 2 ;;
esac
