#!/usr/bin/env bash
# Installs exactly the Debian 12 packages this project needs to build, test and
# run its demo. Idempotent: does nothing when everything is present; runs
# `apt-get update` at most once; never installs recommends (gpsd-clients and its
# ~400 MB of GUI dependencies are not needed: tests feed gpsd over TCP).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  qt6-base-dev qt6-declarative-dev
  libpaho-mqtt-dev libsqlite3-dev libgps-dev libssl-dev
  libprotobuf-dev protobuf-compiler catch2
  # the MDC app's new-assignment chime (ALSA; a few hundred kB, where
  # QtMultimedia would pull in ~100 MB of ffmpeg and GStreamer)
  libasound2-dev
  # sd_notify: readiness and the watchdog under systemd (Type=notify)
  libsystemd-dev
  # QML runtime modules (the -dev packages do not pull these in)
  qml6-module-qtqml qml6-module-qtqml-models qml6-module-qtqml-workerscript
  qml6-module-qtquick qml6-module-qtquick-controls qml6-module-qtquick-layouts
  qml6-module-qtquick-templates qml6-module-qtquick-window qml6-module-qttest
  # services the tests and the demo start as plain processes
  mosquitto mosquitto-clients gpsd sqlite3 openssl
  # the city-scale MQTT tier: three RabbitMQ nodes (scripts/cluster.sh, the cluster tests;
  # ss picks their free ports)
  rabbitmq-server iproute2
  # the city-scale event store: PostgreSQL 15 (the server the tests start as
  # plain processes; libpq for the stub); rabbitmq-c for the stub workers' AMQP ingest
  postgresql-15 libpq-dev librabbitmq-dev
  # systemd-analyze verify for the service units (not started: there is no init here)
  systemd
  # the fleet's Debian packages: checked by lintian, manual pages from --help
  lintian help2man
  # an enrolment token seen from a stub whose clock is past its expiry (LD_PRELOAD, tests only)
  faketime
  # fonts for the offscreen renderer
  fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or install them with apt-get) and try again" >&2
  exit 1
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
