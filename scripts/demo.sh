#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole stack on this machine:
# a local mosquitto over TLS, the CAD backend stub on SQLite (which enrols the
# vehicle over the network with a one-time token), the vehicle's agent fed by
# the route simulator (a drive through Midtown, 10x real time, reported under
# the AVL policy), and the MDC app in its headless mode. A scripted shift plays
# a responder (through mdcctl and the MDC app's own controllers) and a
# dispatcher (through cadctl), including a network outage, and prints what was
# sent, what the backend committed, and whether they match.
#   scripts/demo.sh            build and run
#   MDC_DEMO_KEEP=1 scripts/demo.sh   keep the work directory (logs, stores)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh
cmake --preset default > /dev/null
cmake --build --preset default -j "$(nproc)" > /tmp/mdc-demo-build.log 2>&1 || {
  cat /tmp/mdc-demo-build.log
  exit 1
}

bin=$root/build
work=$(mktemp -d /tmp/mdc-demo-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  if [ -z "${MDC_DEMO_KEEP:-}" ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then
      echo "$p"
      return
    fi
  done
  echo "demo: no free port found" >&2
  exit 1
}
wait_for() {  # wait_for <what> <command...>
  local what=$1
  shift
  for _ in $(seq 100); do
    if "$@" > /dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "demo: $what did not come up; logs in $work" >&2
  MDC_DEMO_KEEP=1
  exit 1
}

port=$(free_port)
est_port=$(free_port)
# The fleet's PKI and a TLS broker, as a deployment has them: a fleet CA, and
# mosquitto configured by cadctl (a client certificate per device, each pinned
# to its own topics), with persistence for the outage below.
"$bin/server-stub/cadctl" --db "$work/cad.db" ca init --name "FD1 fleet CA" > /dev/null
"$bin/server-stub/cadctl" --db "$work/cad.db" broker-config --out "$work/broker/mosquitto.conf" --port "$port" \
  --bind 127.0.0.1 > /dev/null
sed -i "s|^persistence false|persistence true\npersistence_location $work/\nautosave_interval 1\nset_tcp_nodelay true|" \
  "$work/broker/mosquitto.conf"
start_broker() {
  /usr/sbin/mosquitto -c "$work/broker/mosquitto.conf" >> "$work/mosquitto.log" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  wait_for "mosquitto" bash -c "exec 3<> /dev/tcp/127.0.0.1/$port"
}
broker=ssl://127.0.0.1:$port
device=MDC-0001 unit=E12 agency=FD1
ctl() { "$bin/agent/mdcctl" --socket "$work/agent.sock" "$@"; }
cad() { CAD_DISPATCHER=dispatcher.jones "$bin/server-stub/cadctl" --db "$work/cad.db" --agency "$agency" "$@"; }
now() { date -u +%H:%M:%S; }
say() { printf '%s  %-10s %s\n' "$(now)" "$1" "$2"; }
actions=0
responder() {  # responder <description> <mdcctl args...>
  local what=$1
  shift
  local out
  out=$(ctl "$@")
  actions=$((actions + 1))
  say responder "$what -> ${out%% event*}"
}
screen() {
  local st
  st=$(ctl state)
  say screen "$(echo "$st" | sed -n 's/^status *//p'); link $(echo "$st" | sed -n 's/^link *\([a-z]*\).*/\1/p'); outbox $(echo "$st" | sed -n 's/^outbox *//p' | sed 's/  */ /g')"
}

echo "MDC demo: broker $broker, work directory $work"
start_broker
"$bin/server-stub/cad-stub" --db "$work/cad.db" --broker "$broker" --tls-ca "$work/cad.db.ca/ca.pem" \
  --tls-cert "$work/broker/cad-stub.pem" --tls-key "$work/broker/cad-stub.key" \
  --est-port "$est_port" --est-address 127.0.0.1 --est-broker "$broker" > "$work/cad-stub.log" 2>&1 &
pids+=($!)
wait_for "cad-stub" bash -c "CAD_DB=$work/cad.db $bin/server-stub/cadctl stats | grep -q '\"ready\": true'"
# Enrolment over the network: one token from the desk, typed at the vehicle.
token=$(cad --as fleet.tech enroll-token create $device --unit $unit --ttl 1h | sed -n 's/^token //p')
say fleet "enrolment token for $device (unit $unit): $token"
"$bin/agent/mdc-provision" --dir "$work/etc" enroll --server "https://127.0.0.1:$est_port" --device-id $device \
  --token "$token" --store "$work/agent.db" --socket "$work/agent.sock" | sed 's/^/          vehicle    /'
cad records import server-stub/seed/records-{vehicles,persons,flags}.csv | sed 's/^/          records    /'
"$bin/agent/mdc-agent" --config "$work/etc/agent.json" --set link.backoff_max_ms=2000 \
  --set gps.source=simulator --set gps.sim_speedup=10 > "$work/agent.log" 2>&1 &
pids+=($!)
wait_for "mdc-agent" test -S "$work/agent.sock"
wait_for "the agent's link" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'link *online'"

say dispatch "$(cad --as ops.lee config set --avl-moving 10 --statuses \
  available,en-route,on-scene,transporting,at-hospital,returning,at-station,busy,out-of-service)"
wait_for "the agency's buttons" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'F9 OUT_OF_SERVICE'"
say mdc "$("$bin/agent/mdcctl" --socket "$work/agent.sock" state | grep '^buttons' | sed 's/^buttons *//')"

echo
echo "--- start of shift"
responder "in service" status available
ctl wait-synced --timeout 10 > /dev/null
incident=$(cad create-cfs --type FSTRU --priority 1 --address "221 W 42nd St" --lat 40.7566 --lon -73.9882 \
  --notes "smoke from 3rd floor" | sed -n 's/^created //p')
say dispatch "created $incident FSTRU (structure fire) P1, 221 W 42nd St"
say dispatch "$(cad assign "$incident" $unit)"
wait_for "the assignment" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'assignment  $incident'"
say screen "$(ctl state | sed -n 's/^assignment *//p')"
wait_for "the distance to the call" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q '^call '"
say screen "call $(ctl state | sed -n 's/^call *//p')"
responder "acknowledge $incident" ack "$incident"
responder "en route" status en-route
responder "on scene" status on-scene
ctl wait-synced --timeout 10 > /dev/null
screen

echo
echo "--- the vehicle drives into a dead zone (broker stopped)"
kill "$broker_pid"
wait "$broker_pid" 2> /dev/null || true
wait_for "the agent to notice" bash -c "! $bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'link *online'"
responder "transporting" status transporting
responder "message" message "1 patient, smoke inhalation, to Bellevue"
responder "at hospital" status at-hospital
screen
echo "--- back in coverage"
start_broker
ctl wait-synced --timeout 30 > /dev/null
screen

echo
echo "--- self-initiated and emergency"
responder "available" status available
responder "traffic stop" cfs --type TSTOP --lat 40.7484 --lon -73.9857 --address "5th Ave & 34th St" --note "grey sedan NY ABC1234"
ctl wait-synced --timeout 10 > /dev/null
wait_for "the incident number" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'cfs TSTOP delivered 20'"
say screen "$(ctl state | grep 'cfs TSTOP' | sed 's/^action *//')"
# A records query: interactive, never queued; exit status 4 is an officer-safety hit.
query_out=$(ctl query plate "abc 123" --state NY --reason TRAFFIC_STOP) && query_rc=0 || query_rc=$?
say responder "run plate ABC 123 (NY) -> exit $query_rc"
echo "$query_out" | sed 's/^/          mdc        /'
responder "EMERGENCY" emergency
ctl wait-synced --timeout 10 > /dev/null
say dispatch "board: $(cad board | awk -v u=$unit '$1==u')"
say dispatch "$(cad ack-emergency $unit)"
wait_for "the emergency acknowledgement" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'acknowledged by'"
say screen "$(ctl state | sed -n 's/^emergency *//p')"
responder "clear emergency" emergency --clear
say dispatch "$(cad message $unit 'Backup on scene, resume when clear')"
responder "available" status available
ctl wait-synced --timeout 10 > /dev/null

echo
echo "--- the MDC app takes over (headless: the screen's own controllers, no window)"
incident=$(cad create-cfs --type SICK --priority 2 --address "Penn Station, 7th Ave" --lat 40.7506 --lon -73.9935 \
  --notes "adult male, chest pain" | sed -n 's/^created //p')
say dispatch "created $incident SICK P2; $(cad assign "$incident" $unit)"
wait_for "the assignment" bash -c "$bin/agent/mdcctl --socket $work/agent.sock state | grep -q 'assignment  $incident'"
mdc_out=$(QT_QPA_PLATFORM=offscreen "$bin/mdc/mdc" --socket "$work/agent.sock" --headless-shift 2>&1) || {
  echo "$mdc_out"
  echo "demo: the MDC app's headless shift did not deliver every action" >&2
  exit 1
}
echo "$mdc_out" | sed 's/^/          mdc        /'
mdc_actions=$(echo "$mdc_out" | sed -n 's/^shift OK: \([0-9]*\) actions.*/\1/p')
actions=$((actions + ${mdc_actions:-0}))
ctl wait-synced --timeout 10 > /dev/null
echo "--- end of shift"

echo
echo "=== what happened"
events=$(cad events --limit 1000000)
count_kind() { echo "$events" | awk -v a="device:$device" -v k="$1" '$3==a && $6==k' | wc -l; }
device_events=0
for k in status cfs emergency message assignment_ack; do device_events=$((device_events + $(count_kind $k))); done
left=$(ctl state | sed -n 's/^outbox *//p')
echo "responder actions sent:              $actions (mdcctl and the MDC app)"
echo "agent outbox now:                    $left"
echo "backend events from $device:      $device_events actions, $(count_kind avl) AVL reports from the drive, $(count_kind presence) presence"
if [ "$device_events" -eq "$actions" ]; then
  echo "match:                               yes, every action committed exactly once"
else
  echo "match:                               NO ($actions sent, $device_events committed)"
  exit 1
fi
echo "hash chain:                          $(cad verify)"
cad replay --into "$work/replay.db" > /dev/null
live=$(cad digest)
replayed=$("$bin/server-stub/cadctl" --db "$work/replay.db" digest)
echo "read models live vs replayed:        $([ "$live" = "$replayed" ] && echo "identical ($live)" || echo "DIFFER")"
cad export --eido --out "$work/fd1-eido.json" --issuer "cad.$agency.demo" > /dev/null
echo "handed to a neighbour (NENA EIDO):   $(grep -c '"eidoVersion": "1.0"' "$work/fd1-eido.json") incidents in $work/fd1-eido.json"
echo
echo "unit board:"
cad board
echo
echo "response-time KPIs:"
cad kpi
echo
echo "records queries (cadctl audit queries):"
cad audit queries
echo
echo "audit trail (cadctl events, without AVL):"
echo "$events" | awk '$6!="avl"' | tail -n 30
