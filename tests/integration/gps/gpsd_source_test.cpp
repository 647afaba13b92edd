// GpsdSource against the real gpsd replaying recorded receiver logs.
#include <catch2/catch.hpp>
#include <gps.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "hw/gpsd_source.h"
#include "tests/integration/gps/nmea.h"
#include "tests/support/gpsd.h"
#include "tests/support/probes.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;
using mdc::hw::Fix;
using mdc::hw::GpsdOptions;
using mdc::hw::GpsdSource;
using mdc::test::Gpsd;
using mdc::test::GpsdFixtureOptions;
using mdc::test::GpsProbe;
using mdc::test::TempDir;
namespace nmea = mdc::test::nmea;

namespace {

GpsdOptions sourceFor(const Gpsd& gpsd) {
  GpsdOptions o;
  o.host = gpsd.host();
  o.port = gpsd.port();
  return o;
}

size_t countTimedEpochs(const std::vector<Fix>& fixes) {
  std::set<int64_t> t;
  for (auto& f : fixes)
    if (f.timeMs != 0) t.insert(f.timeMs);
  return t.size();
}

size_t countContaining(const std::vector<GpsProbe::State>& states, bool connected, const std::string& text) {
  size_t n = 0;
  for (auto& s : states)
    if (s.connected == connected && s.detail.find(text) != std::string::npos) ++n;
  return n;
}

// Replays a whole log through gpsd into GpsdSource and checks every fix
// against the log's own GGA/RMC sentences.
void replayAndCompare(const std::string& logName) {
  TempDir dir("mdc-gps");
  Gpsd gpsd(dir, GpsdFixtureOptions{.log = logName});
  auto epochs = nmea::epochs(gpsd.sentences());
  std::map<int64_t, nmea::Epoch> byTime;  // keyed by the time gpsd will report
  std::vector<nmea::Epoch> validEpochs;
  for (auto& e : epochs) {
    if (!e.valid || e.timeMs == 0) continue;
    byTime[nmea::gpsdReportedTimeMs(e.timeMs)] = e;
    validEpochs.push_back(e);
  }
  INFO(logName << ": " << epochs.size() << " epochs, " << validEpochs.size() << " with a fix");
  REQUIRE(validEpochs.size() >= 20);

  GpsProbe probe;
  GpsdSource source(sourceFor(gpsd));
  source.start(probe);
  REQUIRE(probe.waitState(true, 0, 10s));
  // Every fix of the log arrives (the feed starts when the source watches).
  bool all = mdc::test::waitUntil([&] { return countTimedEpochs(probe.positions()) >= validEpochs.size(); }, 30s);
  REQUIRE(probe.waitQuiet(300ms));  // and nothing more trickles in after
  source.stop();
  INFO("gpsd log:\n" << gpsd.log());
  REQUIRE(all);

  auto fixes = probe.positions();
  CHECK(countTimedEpochs(fixes) == validEpochs.size());
  std::set<int64_t> seen;
  size_t untimed = 0;
  for (const Fix& f : fixes) {
    CAPTURE(f.timeMs, f.lat, f.lon);
    if (f.timeMs == 0) {
      // Before an RMC has given the year gpsd reports GGA positions without
      // time: each must still be one of the log's positions.
      ++untimed;
      bool known = false;
      for (auto& e : validEpochs) known |= std::abs(e.lat - f.lat) < 1e-6 && std::abs(e.lon - f.lon) < 1e-6;
      CHECK(known);
      continue;
    }
    auto it = byTime.find(f.timeMs);
    REQUIRE(it != byTime.end());  // no fix for an epoch without one, no invented times
    const nmea::Epoch& e = it->second;
    CAPTURE(e.timeField);
    CHECK(std::abs(f.lat - e.lat) < 1e-6);
    CHECK(std::abs(f.lon - e.lon) < 1e-6);
    // A TPV that gpsd made from an RMC carries the receiver's course and
    // speed; one made from a GGA has no track and a speed gpsd computed from
    // the position change, which the log cannot confirm.
    if (std::isfinite(f.trackDeg)) {
      CHECK(std::abs(f.trackDeg - e.trackDeg) < 0.01);
      CHECK(std::abs(f.speedMps - e.speedMps) < 0.01);
    }
    if (f.mode == Fix::Mode::Fix3D && std::isfinite(e.altMslM)) CHECK(std::abs(f.altM - e.altMslM) < 0.01);
    CHECK(f.receivedMonoMs > 0);
    seen.insert(f.timeMs);
  }
  CHECK(untimed <= 3);
  // Fixes come in the log's order.
  int64_t last = 0;
  for (const Fix& f : fixes) {
    if (f.timeMs == 0) continue;
    CHECK(f.timeMs >= last);
    last = f.timeMs;
  }
}

}  // namespace

TEST_CASE("gps: bu353s4.log through the real gpsd arrives fix for fix", "[gps]") {
  replayAndCompare("bu353s4.log");
}

TEST_CASE("gps: haicom-305N.log through the real gpsd arrives fix for fix", "[gps]") {
  replayAndCompare("haicom-305N.log");
}

TEST_CASE("gps: a steady 3D fix carries error estimate and satellites and altitude", "[gps]") {
  TempDir dir("mdc-gps");
  Gpsd gpsd(dir, GpsdFixtureOptions{.log = "bu353s4.log"});
  GpsProbe probe;
  GpsdSource source(sourceFor(gpsd));
  source.start(probe);
  REQUIRE(probe.waitPositions(10, 20s));
  source.stop();
  auto fixes = probe.positions();
  const Fix& f = fixes.back();
  CHECK(f.mode == Fix::Mode::Fix3D);
  CHECK(f.timeMs > 0);
  CHECK(std::isfinite(f.ephM));
  CHECK(f.ephM > 0);
  CHECK(f.ephM < 100);
  CHECK(f.satellitesUsed >= 7);  // the log's GGA says 7 or 8
  CHECK(f.satellitesUsed <= 8);
  CHECK(std::isfinite(f.altM));
}

TEST_CASE("gps: gpsd killed mid-run then the source reports the loss and reconnects and fixes resume", "[gps]") {
  TempDir dir("mdc-gps");
  // A live stream: the log looped at 20 epochs per second.
  Gpsd gpsd(dir, GpsdFixtureOptions{.log = "bu353s4.log", .sentenceInterval = 0ms, .epochInterval = 50ms,
                                    .loop = true});
  GpsProbe probe;
  GpsdSource source(sourceFor(gpsd));
  source.start(probe);
  REQUIRE(probe.waitState(true, 0, 10s));
  REQUIRE(probe.waitPositions(5, 10s));

  size_t statesBefore = probe.states().size();
  gpsd.kill9();
  REQUIRE(probe.waitState(false, statesBefore, 5s));
  size_t positionsWhileDown = probe.positions().size();

  gpsd.start();
  auto restarted = std::chrono::steady_clock::now();
  size_t statesAtRestart = probe.states().size();
  REQUIRE(probe.waitState(true, statesAtRestart, 10s));
  // Backoff was reset by the earlier success: back within a couple of seconds.
  CHECK(std::chrono::steady_clock::now() - restarted < 3s);
  REQUIRE(probe.waitPositions(positionsWhileDown + 10, 10s));
  source.stop();

  auto states = probe.states();
  INFO("states: " << states.size());
  CHECK(countContaining(states, false, "connection lost") >= 1);
  CHECK(states.back().connected);
  CHECK(gpsd.feederConnections() >= 2);  // gpsd opened the feed again after its restart
}

TEST_CASE("gps: gpsd absent at start then the source retries with backoff and connects when it appears", "[gps]") {
  TempDir dir("mdc-gps");
  Gpsd gpsd(dir, GpsdFixtureOptions{.log = "bu353s4.log", .startGpsd = false});
  GpsProbe probe;
  GpsdSource source(sourceFor(gpsd));
  source.start(probe);
  // 0.25 s, then 0.5 s, then 1 s: wait for the third attempt's report.
  REQUIRE(mdc::test::waitUntil([&] { return probe.states().size() >= 3; }, 5s));
  auto states = probe.states();
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(states[i].detail);
    CHECK_FALSE(states[i].connected);
    CHECK(states[i].detail.find("gpsd 127.0.0.1:" + std::to_string(gpsd.port()) + " unreachable") !=
          std::string::npos);
  }
  CHECK(states[0].detail.find("retrying in 0.25 s") != std::string::npos);
  CHECK(states[1].detail.find("retrying in 0.5 s") != std::string::npos);
  CHECK(states[2].detail.find("retrying in 1 s") != std::string::npos);
  CHECK(probe.fixes().empty());

  gpsd.start();
  REQUIRE(probe.waitState(true, 3, 10s));
  REQUIRE(probe.waitPositions(25, 20s));  // the whole log, from its first epoch
  source.stop();
}

TEST_CASE("gps: the source says so when gpsd is connected but reports nothing", "[gps]") {
  TempDir dir("mdc-gps");
  Gpsd gpsd(dir, GpsdFixtureOptions{.log = "bu353s4.log"});
  GpsProbe probe;
  GpsdOptions o = sourceFor(gpsd);
  o.silenceTimeout = 500ms;
  GpsdSource source(o);
  source.start(probe);
  REQUIRE(probe.waitPositions(25, 20s));  // the log, then the feed goes quiet
  size_t from = probe.states().size();
  REQUIRE(probe.waitState(false, from, 5s));
  auto states = probe.states();
  CHECK(countContaining(states, false, "no reports for") == 1);
  source.stop();
}

TEST_CASE("gps: stop returns promptly while connected and while backing off", "[gps]") {
  TempDir dir("mdc-gps");
  Gpsd gpsd(dir, GpsdFixtureOptions{.log = "bu353s4.log", .loop = true});
  {
    GpsProbe probe;
    GpsdSource source(sourceFor(gpsd));
    source.start(probe);
    REQUIRE(probe.waitPositions(3, 10s));
    auto t0 = std::chrono::steady_clock::now();
    source.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
    size_t n = probe.fixes().size();
    CHECK(probe.waitQuiet(300ms, 1s));
    CHECK(probe.fixes().size() == n);  // nothing after stop() returned
  }
  {
    gpsd.stop();
    GpsProbe probe;
    GpsdOptions o = sourceFor(gpsd);
    o.initialBackoff = 5s;
    GpsdSource source(o);
    source.start(probe);
    REQUIRE(probe.waitState(false, 0, 5s));
    auto t0 = std::chrono::steady_clock::now();
    source.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  }
}

TEST_CASE("gps: fixFromGpsData keeps what a TPV carries and leaves the rest unknown", "[gps]") {
  auto unpack = [](std::string json) {
    auto data = std::make_unique<gps_data_t>();
    std::memset(data.get(), 0, sizeof(gps_data_t));
    REQUIRE(gps_unpack(json.data(), data.get()) == 0);
    return mdc::hw::fixFromGpsData(*data, 1234);
  };

  Fix f2 = unpack(R"({"class":"TPV","device":"tcp://x","mode":2,"time":"2034-08-16T03:07:19.250Z",)"
                  R"("lat":-37.5,"lon":175.25,"speed":1.5,"eph":12.0})");
  CHECK(f2.mode == Fix::Mode::Fix2D);
  CHECK(f2.timeMs == 2039310439250);
  CHECK(f2.lat == -37.5);
  CHECK(f2.lon == 175.25);
  CHECK(f2.speedMps == 1.5);
  CHECK(std::isnan(f2.trackDeg));
  CHECK(std::isnan(f2.altM));  // no altitude in a 2D fix
  CHECK(f2.ephM == 12.0);
  CHECK(f2.receivedMonoMs == 1234);

  Fix f3 = unpack(R"({"class":"TPV","mode":3,"time":"2034-08-16T03:07:20.000Z","lat":1.0,"lon":2.0,)"
                  R"("altHAE":83.6,"altMSL":59.9,"track":181.39,"epx":3.0,"epy":4.0})");
  CHECK(f3.mode == Fix::Mode::Fix3D);
  CHECK(f3.altM == Approx(59.9));
  CHECK(f3.trackDeg == Approx(181.39));
  CHECK(std::isnan(f3.speedMps));
  CHECK(f3.ephM == Approx(5.0));  // from epx/epy when gpsd sent no eph

  Fix none = unpack(R"({"class":"TPV","device":"tcp://x","mode":1})");
  CHECK(none.mode == Fix::Mode::NoFix);
  CHECK_FALSE(none.hasPosition());
  CHECK(none.timeMs == 0);
  CHECK(std::isnan(none.lat));
  CHECK(std::isnan(none.lon));
  CHECK(std::isnan(none.ephM));

  Fix unseen = unpack(R"({"class":"TPV","device":"tcp://x"})");
  CHECK(unseen.mode == Fix::Mode::Unknown);
}
