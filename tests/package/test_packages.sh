#!/usr/bin/env bash
# The fleet's Debian packages, installed for real with dpkg on this machine:
# built twice (the previous version and this one), lintian clean, installed,
# their programs run and their units verified; the previous agent queues
# events with no backend, the upgrade keeps every one of them, and the new
# agent delivers them all to the installed stub; remove keeps the state,
# purge deletes it.
#   test_packages.sh BUILD_DIR
# Needs root (dpkg). Exit 77 (skipped) otherwise. Refuses to run when the
# packages are already installed here: it installs and purges its own.
set -euo pipefail

build=$(realpath "${1:?usage: test_packages.sh BUILD_DIR}")
packages=(mdc-agent cad-stub mdc)
queued=300

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: installs packages with dpkg, which needs root"
  exit 77
fi
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed\|config-files"; then
    echo "FAIL: the package $p is already on this machine; this test installs and purges its own"
    echo "      (dpkg -P ${packages[*]} to let it run)"
    exit 1
  fi
done

work=$(mktemp -d /tmp/mdc-package-test.XXXXXX)
pids=()
installed=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$installed" -eq 1 ]; then dpkg -P "${packages[@]}" > /dev/null 2>&1 || true; fi
  rm -rf "$work" /run/mdc
}
trap cleanup EXIT

step() { echo "== $(date -u +%H:%M:%S) $*"; }
fail() { echo "FAIL: $*"; exit 1; }
check() {  # check DESCRIPTION COMMAND...: runs it, fails the test when it fails
  local what=$1; shift
  "$@" || fail "$what"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $end ] || fail "$what (waited ${secs} s)"
    sleep 0.2
  done
}
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return; }
  done
  fail "no free loopback port"
}
lane_count() {  # lane_count LANE: events in the agent's outbox lane, from --check-store
  /usr/bin/mdc-agent --config /etc/mdc/agent.json --check-store | sed -n "s/^ *lane $1: \([0-9]*\) events.*/\1/p"
}
owner_mode() { stat -c '%U:%G %a' "$1"; }

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
previous="$version~previous"

step "build the packages: $previous and $version"
(cd "$build" && cpack -G DEB -B "$work/old" -D "CPACK_PACKAGE_VERSION=$previous" > "$work/cpack-old.log" 2>&1) ||
  { cat "$work/cpack-old.log"; fail "cpack $previous"; }
(cd "$build" && cpack -G DEB -B "$work/new" > "$work/cpack-new.log" 2>&1) ||
  { cat "$work/cpack-new.log"; fail "cpack $version"; }
for p in "${packages[@]}"; do
  for v in "old/${p}_${previous}" "new/${p}_${version}"; do
    [ -f "$work/${v}_amd64.deb" ] || fail "cpack wrote no $v_amd64.deb"
  done
  echo "   ${p}_${version}_amd64.deb $(stat -c %s "$work/new/${p}_${version}_amd64.deb") bytes;" \
       "Depends: $(dpkg-deb -f "$work/new/${p}_${version}_amd64.deb" Depends | cut -c1-100)..."
done
check "mdc-agent's dependencies come from dpkg-shlibdeps" \
  grep -q "libpaho-mqtt1.3" <(dpkg-deb -f "$work/new/mdc-agent_${version}_amd64.deb" Depends)

step "lintian"
lintian --fail-on error,warning "$work"/new/*.deb || fail "lintian reports errors or warnings"

step "install $previous with dpkg"
installed=1
dpkg -i "$work"/old/*.deb > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i $previous"; }
for p in "${packages[@]}"; do
  check "$p $previous installed" test "$(dpkg-query -W -f='${Version}' "$p")" = "$previous"
done
check "user mdc" getent passwd mdc > /dev/null
check "user cad-stub" getent passwd cad-stub > /dev/null
check "user mdc-screen in group mdc" grep -qw mdc <(id -nG mdc-screen)
check "/etc/mdc is mdc's, 0750 (was $(owner_mode /etc/mdc))" test "$(owner_mode /etc/mdc)" = "mdc:mdc 750"
check "/var/lib/mdc is mdc's, 0700 (was $(owner_mode /var/lib/mdc))" test "$(owner_mode /var/lib/mdc)" = "mdc:mdc 700"
check "/var/lib/cad-stub is cad-stub's" test "$(owner_mode /var/lib/cad-stub)" = "cad-stub:cad-stub 750"

step "the installed programs run"
for prog in mdc-agent mdcctl mdc-provision cad-stub cad-edge-watch cadctl mdc; do
  out=$(QT_QPA_PLATFORM=offscreen "/usr/bin/$prog" --version 2>&1) || fail "/usr/bin/$prog --version: $out"
  case "$out" in *"$version"*) ;; *) fail "/usr/bin/$prog --version says \"$out\"" ;; esac
  check "man page of $prog" test -f "/usr/share/man/man1/$prog.1.gz"
done
QT_QPA_PLATFORM=offscreen /usr/bin/mdc --self-test > "$work/selftest.log" 2>&1 ||
  { cat "$work/selftest.log"; fail "the installed app's self-test"; }
check "desktop file" test -f /usr/share/applications/mdc.desktop

step "systemd-analyze verify the installed units"
units=(/lib/systemd/system/mdc-agent.service /lib/systemd/system/cad-stub.service /lib/systemd/system/mdc-screen.service)
out=$(systemd-analyze verify "${units[@]}" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify has something to say: $out"

step "the previous agent queues $queued events with no backend"
port=$(free_port)
/usr/bin/mdc-agent --device-id MDC-PKG1 --unit-id E81 --agency FD1 --broker "tcp://127.0.0.1:$port" \
  --set log_level=info --print-config > /etc/mdc/agent.json
install -d -m 0750 -o mdc -g mdc /run/mdc
runuser -u mdc -- /usr/bin/mdc-agent --config /etc/mdc/agent.json > "$work/agent-old.log" 2>&1 &
agent=$!
pids+=("$agent")
wait_for 20 "the agent's socket" test -S /run/mdc/agent.sock
for i in $(seq 1 $((queued / 2))); do
  /usr/bin/mdcctl status "$([ $((i % 2)) -eq 0 ] && echo en-route || echo on-scene)" > /dev/null ||
    fail "mdcctl status #$i"
  /usr/bin/mdcctl message "queued before the upgrade $i" > /dev/null || fail "mdcctl message #$i"
done
kill -TERM "$agent"
wait "$agent" || true
check "the store is the user mdc's" test "$(stat -c %U /var/lib/mdc/agent.db)" = mdc
before_status=$(lane_count status)
before_message=$(lane_count message)
echo "   outbox: $before_status statuses, $before_message messages"
check "$((queued / 2)) statuses queued (found $before_status)" test "$before_status" -eq $((queued / 2))
check "$((queued / 2)) messages queued (found $before_message)" test "$before_message" -eq $((queued / 2))
store_sum=$(sha256sum /var/lib/mdc/agent.db | cut -d' ' -f1)

step "upgrade to $version over the full outbox"
dpkg -i "$work"/new/*.deb > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i $version"; }
for p in "${packages[@]}"; do
  check "$p upgraded to $version" test "$(dpkg-query -W -f='${Version}' "$p")" = "$version"
done
check "the upgrade left the store alone" test "$(sha256sum /var/lib/mdc/agent.db | cut -d' ' -f1)" = "$store_sum"
check "the upgrade left the config alone" grep -q MDC-PKG1 /etc/mdc/agent.json
check "after the upgrade $before_status statuses wait" test "$(lane_count status)" -eq "$before_status"

step "the new agent delivers every one to the installed stub"
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
CONF
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pids+=("$!")
wait_for 20 "mosquitto on port $port" bash -c "exec 3<> /dev/tcp/127.0.0.1/$port"
db="$work/cad.db"
/usr/bin/cad-stub --db "$db" --broker "tcp://127.0.0.1:$port" > "$work/stub.log" 2>&1 &
pids+=("$!")
wait_for 20 "the stub's control socket" test -S "$db.ctl"
/usr/bin/cadctl --db "$db" --agency FD1 --as fleet devices add MDC-PKG1 --unit E81 > /dev/null ||
  fail "cadctl devices add"
runuser -u mdc -- /usr/bin/mdc-agent --config /etc/mdc/agent.json > "$work/agent-new.log" 2>&1 &
agent=$!
pids+=("$agent")
wait_for 20 "the new agent's socket" test -S /run/mdc/agent.sock
delivered() { /usr/bin/mdcctl state --json | grep -A2 '"LANE_STATUS"\|"LANE_MESSAGE"' | grep -q '"count": [1-9]' && return 1; return 0; }
wait_for 120 "the outbox drained" delivered
kill -TERM "$agent"
wait "$agent" || true
check "the outbox is empty" test "$(lane_count status)" -eq 0 -a "$(lane_count message)" -eq 0
events=$(/usr/bin/cadctl --db "$db" events --limit 100000)
echo "$events" > "$work/events.txt"
stored_status=$(grep -cE "MDC-PKG1 .* E81 +FD1 +status +(EN_ROUTE|ON_SCENE)$" <<< "$events" || true)
stored_message=$(grep -c "queued before the upgrade" <<< "$events" || true)
echo "   the stub holds $stored_status statuses and $stored_message messages from MDC-PKG1"
check "every status stored once (found $stored_status of $before_status)" test "$stored_status" -eq "$before_status"
check "every message stored once (found $stored_message of $before_message)" test "$stored_message" -eq "$before_message"
check "the chain verifies" /usr/bin/cadctl --db "$db" verify > /dev/null

step "remove keeps the state"
dpkg -r "${packages[@]}" > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r"; }
for prog in mdc-agent mdcctl cad-stub cadctl mdc; do
  check "/usr/bin/$prog removed" test ! -e "/usr/bin/$prog"
done
check "the store stays after remove" test -f /var/lib/mdc/agent.db
check "the store's key stays after remove" test -f /var/lib/mdc/agent.db.key
check "the identity stays after remove" test -f /etc/mdc/agent.json
check "the stub's directory stays after remove" test -d /var/lib/cad-stub
check "mdc-agent's config files remain known to dpkg" \
  grep -q "config-files" <(dpkg-query -W -f='${Status}' mdc-agent)

step "purge deletes it"
dpkg -P "${packages[@]}" > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -P"; }
installed=0
check "/var/lib/mdc gone after purge" test ! -e /var/lib/mdc
check "/etc/mdc gone after purge" test ! -e /etc/mdc
check "/var/lib/cad-stub gone after purge" test ! -e /var/lib/cad-stub
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed\|config-files"; then fail "$p still known to dpkg"; fi
done
echo "PASS: 3 packages; $before_status statuses and $before_message messages queued under $previous," \
     "kept by the upgrade and delivered by $version; remove kept the state, purge deleted it"
