// The agent with its hardware: the route simulator's fixes become AVL under
// the reporting policy, and the dash emergency switch (an evdev device) reaches
// the backend without the UI.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/input.h>
#include <sys/stat.h>
#include <unistd.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>

#include "hw/fix_time.h"
#include "shared/wire/clock.h"
#include "shared/infra/sqlite.h"
#include "tests/support/gpsd.h"
#include "tests/support/mosquitto.h"
#include "tests/support/nmea_writer.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;


// Triggers of the AVL reports the backend stored, in store order.
std::vector<v1::AvlTrigger> storedAvlTriggers(const CadStub& stub) {
  sql::SqliteDb db(stub.dbPath(), false, true);
  auto st = db.prepare("SELECT payload FROM events WHERE kind='avl' ORDER BY pos");
  std::vector<v1::AvlTrigger> out;
  while (st.step()) {
    v1::Envelope e;
    if (e.ParseFromString(st.blob(0))) out.push_back(e.avl().trigger());
  }
  return out;
}

TEST_CASE("simulated drive: the policy's AVL reaches the board and a status change is reported with it",
          "[agent][avl]") {
  // 20x: a minute of driving every 3 s.
  VehicleStack v("MDC-S", "E4", "FD1", {},
                 {"--set", "gps.source=simulator", "--set", "gps.sim_speedup=20", "--set", "gps.sim_seed=7", "--set",
                  "store.avl_commit_ms=100"});
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  agent.start();
  REQUIRE(waitUntil([&] { return storedAvlTriggers(stub).size() >= 3; }, 30s));
  auto triggers = storedAvlTriggers(stub);
  // The first report after connecting is the live position, sent at once.
  CHECK(triggers.front() == v1::AVL_TRIGGER_CONNECT);
  auto unit = jsonArray(stub.cadctl({"board", "--json"}))[0].toObject();
  REQUIRE(unit.contains("lat"));
  CHECK(unit.value("lat").toDouble() == Approx(40.75).margin(0.05));
  CHECK(unit.value("lon").toDouble() == Approx(-73.99).margin(0.05));

  // A status change: the next fix is reported with the STATUS trigger.
  size_t before = triggers.size();
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] {
    auto t = storedAvlTriggers(stub);
    return std::find(t.begin() + long(before), t.end(), v1::AVL_TRIGGER_STATUS) != t.end();
  }, 20s));
  auto st = agent.state();
  std::string counters;
  for (const auto& [k, v] : st.counters()) counters += k + "=" + std::to_string(v) + " ";
  INFO("agent counters: " << counters);
  CHECK(st.gps().has_fix());
  CHECK(st.gps().last_fix().satellites() > 0);
  // The policy saw many more fixes than it reported (20 fixes per wall second).
  CHECK(st.counters().at("avl_fixes") > 2 * st.counters().at("avl_reports"));
  CHECK(st.dropped_avl() == 0);
}

TEST_CASE("the dash emergency switch raises the emergency without the UI", "[agent][inputs]") {
  BackendStack backend;
  TempDir& dir = backend.dir;
  CadStub& stub = backend.stub;
  stub.addDevice("MDC-E", "P9", "PD1");
  // The switch is an evdev device; here a FIFO carrying the same input_event records.
  std::string dev = dir.file("event-dash");
  REQUIRE(::mkfifo(dev.c_str(), 0600) == 0);
  AgentProcess& agent = backend.addAgent(
      "MDC-E", "P9", "PD1",
      {"--set", "inputs.source=evdev", "--set", "inputs.device=" + dev, "--set", "inputs.emergency_code=KEY_F24"});
  agent.start();
  int fd = ::open(dev.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  auto key = [&](int value) {
    input_event ev[2]{};
    ev[0].type = EV_KEY;
    ev[0].code = KEY_F24;
    ev[0].value = value;
    ev[1].type = EV_SYN;
    ev[1].code = SYN_REPORT;
    REQUIRE(::write(fd, ev, sizeof ev) == ssize_t(sizeof ev));
  };
  key(1);
  std::this_thread::sleep_for(100ms);
  key(0);
  REQUIRE(waitUntil([&] {
    auto b = jsonArray(stub.cadctl({"board", "--json"}));
    return !b.isEmpty() && b[0].toObject().value("emergency").toBool();
  }, 15s));
  auto events = jsonArray(stub.cadctl({"events", "--json"}));
  int emergencies = 0;
  for (const auto& e : events) emergencies += e.toObject().value("kind").toString() == "emergency";
  CHECK(emergencies == 1);  // one press, one emergency; the release does not clear it
  // The screen turns "delivered" when the backend's commit ack arrives.
  CHECK(waitUntil([&] { return agent.state().emergency_delivery() == v1::DELIVERY_DELIVERED; }, 10s));
  CHECK(agent.state().emergency_active());
  ::close(fd);
}

namespace {

/** A minute of a receiver driving north at 10 m/s, its clock at startMs (UTC). */
std::string syntheticDrive(const TempDir& dir, const std::string& name, int64_t startMs) {
  const std::string path = dir.file(name);
  // 40°45' N and northwards, 73°59' W.
  nmea::writeLog(path, startMs, 60, [](int s) { return std::pair{40.75 + s * 10.0 / 1852.0 / 60.0, -(73.0 + 59.0 / 60.0)}; },
                 19.4);
  return path;
}

}  // namespace

TEST_CASE("receivers with a wrong clock through the real gpsd: positions kept, events stamped with a sane time",
          "[agent][gps][time]") {
  const int64_t now = SystemClock::instance().nowMs();
  struct Case {
    const char* what;
    int64_t receiverMs;
  };
  const Case c = GENERATE(Case{"1024 weeks back (week-number rollover)", 0}, Case{"8 years ahead", 1});
  const int64_t receiverStart = c.receiverMs == 0 ? now - hw::kGpsRolloverMs : now + int64_t(8) * 365 * 86'400'000;
  INFO(c.what);
  BackendStack backend;
  CadStub& stub = backend.stub;
  stub.addDevice("MDC-T", "E5", "FD1");
  Gpsd gpsd(backend.dir, GpsdFixtureOptions{.log = syntheticDrive(backend.dir, "drive.log", receiverStart),
                                            .sentenceInterval = 0ms, .epochInterval = 200ms});
  AgentProcess& agent = backend.addAgent(
      "MDC-T", "E5", "FD1",
      {"--set", "gps.source=gpsd", "--set", "gps.host=127.0.0.1", "--set", "gps.port=" + std::to_string(gpsd.port()),
       "--set", "avl.moving_interval_s=1", "--set", "store.avl_commit_ms=100"});
  agent.start();
  REQUIRE(waitUntil([&] { return stub.cadctl({"board"}).output.find("40.75") != std::string::npos; }, 30s));
  REQUIRE(waitUntil(
      [&] {
        sql::SqliteDb db(stub.dbPath(), false, true);
        return db.queryInt("SELECT COUNT(*) FROM events WHERE kind='avl'") >= 5;
      },
      30s));
  // Every report stored, each stamped within minutes of now (never years off).
  sql::SqliteDb db(stub.dbPath(), false, true);
  auto st = db.prepare("SELECT recorded_at_ms, clock_source FROM events WHERE kind='avl'");
  int reports = 0;
  std::set<std::string> sources;
  while (st.step()) {
    ++reports;
    CHECK(std::llabs(st.i64(0) - now) < 10 * 60'000);
    sources.insert(st.text(1));
  }
  CHECK(reports >= 5);
  if (c.receiverMs == 0) {
    // Corrected (by gpsd or the agent): GPS time (a fix without a date yet: the system clock).
    CHECK(sources.count("gps") == 1);
    CHECK(sources.count("gps-clamped") == 0);
  } else {
    CHECK(sources == std::set<std::string>{"system"});
    const std::string log = agent.log();
    size_t warnings = 0;
    for (size_t at = log.find("and not a rollover"); at != std::string::npos; at = log.find("and not a rollover", at + 1))
      ++warnings;
    CHECK(warnings == 1);  // once per change of condition, not once per fix
  }
  // And the board follows the vehicle: its position is not frozen.
  const std::string first = stub.cadctl({"board"}).output;
  REQUIRE(waitUntil([&] { return stub.cadctl({"board"}).output != first; }, 20s));
  CHECK(db.queryInt("SELECT COUNT(*) FROM refusals") == 0);
}
