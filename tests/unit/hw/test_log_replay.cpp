// LogReplaySource: the recorded logs replayed without gpsd, checked against
// the independent NMEA reader the gpsd tests use (tests/integration/gps/nmea.h).
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>

#include "hw/avl_policy.h"
#include "hw/log_replay_source.h"
#include "tests/integration/gps/nmea.h"
#include "tests/support/gpsd.h"

using namespace std::chrono_literals;
using mdc::hw::Fix;
using mdc::hw::LogReplayOptions;
using mdc::hw::LogReplaySource;
namespace nmea = mdc::test::nmea;

namespace {

class Collect final : public mdc::hw::GpsSink {
 public:
  void onFix(const Fix& f) override {
    std::lock_guard l(mu);
    fixes.push_back(f);
  }
  void onSourceState(bool connected, const std::string& detail) override {
    std::lock_guard l(mu);
    states.emplace_back(connected, detail);
    cv.notify_all();
  }
  bool waitEnded(std::chrono::milliseconds t = 10s) {
    std::unique_lock l(mu);
    return cv.wait_for(l, t, [&] { return !states.empty() && !states.back().first; });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Fix> fixes;
  std::vector<std::pair<bool, std::string>> states;
};

void compareWithOracle(const std::string& log) {
  LogReplaySource replay(LogReplayOptions{.path = mdc::test::gpsDataDir() + "/" + log, .speedup = 0});
  auto epochs = nmea::epochs(mdc::test::readNmeaLog(log));
  std::map<int64_t, nmea::Epoch> valid;
  for (auto& e : epochs)
    if (e.valid && e.timeMs) valid[e.timeMs] = e;
  const auto& fixes = replay.fixes();
  CHECK(fixes.size() == epochs.size());
  size_t matched = 0, positions = 0;
  for (const Fix& f : fixes) {
    if (!f.hasPosition()) {
      CHECK(std::isnan(f.lat));
      continue;
    }
    ++positions;
    if (!f.timeMs) continue;  // before the first RMC date, as gpsd
    auto it = valid.find(f.timeMs);
    REQUIRE(it != valid.end());
    CAPTURE(it->second.timeField);
    CHECK(std::abs(f.lat - it->second.lat) < 1e-9);
    CHECK(std::abs(f.lon - it->second.lon) < 1e-9);
    CHECK(f.speedMps == Approx(it->second.speedMps).margin(1e-9));
    CHECK(f.trackDeg == Approx(it->second.trackDeg).margin(1e-9));
    CHECK(f.satellitesUsed == it->second.satellitesUsed);
    CHECK(std::isfinite(f.ephM));
    ++matched;
  }
  CHECK(matched == valid.size());
  CHECK(replay.counters().withPosition == positions);
  CHECK(replay.counters().epochs == fixes.size());
  CHECK(replay.counters().badChecksum == 0);
}

}  // namespace

TEST_CASE("replay: bu353s4.log gives the log's positions and times, fix for fix", "[replay]") {
  compareWithOracle("bu353s4.log");
}

TEST_CASE("replay: haicom-305N.log gives the log's positions and times and its no-fix start", "[replay]") {
  compareWithOracle("haicom-305N.log");
  LogReplaySource replay(LogReplayOptions{.path = mdc::test::gpsDataDir() + "/haicom-305N.log", .speedup = 0});
  // The receiver starts without a fix (RMC V, GGA quality 0): those cycles are NoFix, and no AVL comes of them.
  REQUIRE(replay.fixes().size() > 3);
  CHECK(replay.fixes()[0].mode == Fix::Mode::NoFix);
  mdc::hw::AvlPolicy policy;
  uint64_t noFix = 0;
  for (const Fix& f : replay.fixes()) {
    if (f.hasPosition()) break;
    ++noFix;
    CHECK_FALSE(policy.offer(f, {}, f.receivedMonoMs).report);
  }
  CHECK(noFix >= 3);
  CHECK(policy.counters().filtered(mdc::hw::AvlFilterReason::NoPosition) == noFix);
}

TEST_CASE("replay: the parser counts what it skips", "[replay]") {
  mdc::hw::NmeaCounters c;
  auto fixes = mdc::hw::parseNmeaLog(
      {
          "# a comment", "$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*7D",
          "$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000*7E",  // bad checksum
          "$GPGGA,030719.000,3747.0873,S,17518.8938,E,1,08,1.1,59.9,M,23.7,M,,0000",     // none
          "garbage line", "$GPGSA,A,3,17,28,06,01,30,20,26,13,,,,,1.8,1.1,1.5*33",
          "$GPGSV,3,1,12,17,72,207,32,28,59,095,31,06,35,347,25,01,29,132,23*7B",
          "$GPRMC,030719.000,A,3747.0873,S,17518.8938,E,0.69,181.39,311214,,,A*7D",
          "$GPGGA,0307*7E",  // checksum fine, fields missing
      },
      &c);
  CHECK(c.lines == 8);
  CHECK(c.badChecksum == 2);
  CHECK(c.notNmea == 1);
  CHECK(c.unused == 1);
  CHECK(c.malformed == 1);
  CHECK(c.sentences == 5);
  REQUIRE(fixes.size() == 1);
  CHECK(fixes[0].mode == Fix::Mode::Fix3D);
  CHECK(fixes[0].timeMs == 1'419'995'239'000);  // 2014-12-31T03:07:19Z, the receiver's time
  CHECK(fixes[0].ephM == Approx(5.5));          // HDOP 1.1 x 5 m
  CHECK(fixes[0].altM == Approx(59.9));
}

TEST_CASE("replay: the source paces the log, says when it ends, and rebases time on request", "[replay]") {
  mdc::ManualClock clock(1'800'000'000'000);
  LogReplaySource replay(
      LogReplayOptions{.path = mdc::test::gpsDataDir() + "/bu353s4.log", .speedup = 100, .rebaseToNow = true}, clock);
  const auto& all = replay.fixes();
  const int64_t spanMs = all.back().receivedMonoMs;
  REQUIRE(spanMs >= 20'000);
  Collect sink;
  auto t0 = std::chrono::steady_clock::now();
  replay.start(sink);
  REQUIRE(sink.waitEnded());
  auto elapsed = std::chrono::steady_clock::now() - t0;
  replay.stop();
  CHECK(elapsed >= std::chrono::milliseconds(spanMs / 100));
  std::lock_guard l(sink.mu);
  REQUIRE(sink.fixes.size() == all.size());
  CHECK(sink.states.front().first);
  CHECK(sink.states.back().second.find("ended after " + std::to_string(all.size()) + " fixes") != std::string::npos);
  // Every time moves by one shift that puts the log's start at "now": spacing is the log's.
  std::optional<int64_t> shift;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i].timeMs) continue;
    if (!shift) shift = sink.fixes[i].timeMs - all[i].timeMs;
    CHECK(sink.fixes[i].timeMs - all[i].timeMs == *shift);
    CHECK(sink.fixes[i].timeMs == 1'800'000'000'000 + all[i].receivedMonoMs);
  }
  CHECK(shift.has_value());
}

TEST_CASE("replay: an unreadable log is a clear startup error", "[replay]") {
  CHECK_THROWS_WITH(LogReplaySource(LogReplayOptions{.path = "/nonexistent/x.log"}),
                    "replay: cannot open \"/nonexistent/x.log\"");
}
