// AvlPolicy table tests: straight drives, stops, turns, emergency and bad
// fixes, with time passed in by hand (no clock, no gpsd).
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "hw/avl_policy.h"
#include "shared/wire/geo.h"

using mdc::hw::AvlDecision;
using mdc::hw::AvlFilterReason;
using mdc::hw::AvlPolicy;
using mdc::hw::AvlPolicyConfig;
using mdc::hw::AvlTrigger;
using mdc::hw::AvlVehicleState;
using mdc::hw::Fix;
namespace geo = mdc::geo;

namespace {

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z, GPS time of the first fix
constexpr double kLat0 = 40.75, kLon0 = -73.99;

Fix fixAt(double lat, double lon, int64_t tMs, double speed, double track, double eph = 4.0) {
  Fix f;
  f.mode = Fix::Mode::Fix3D;
  f.timeMs = kT0 + tMs;
  f.receivedMonoMs = tMs;  // monotonic clock == sim time in these tests
  f.lat = lat;
  f.lon = lon;
  f.altM = 20;
  f.speedMps = speed;
  f.trackDeg = track;
  f.ephM = eph;
  f.satellitesUsed = 9;
  return f;
}

// A vehicle on a tangent plane: position in metres east/north of the origin.
struct Vehicle {
  double east = 0, north = 0, heading = 90, speed = 0;
  Fix fix(int64_t tMs, double eph = 4.0) const {
    double lat, lon;
    geo::offset(kLat0, kLon0, east, north, lat, lon);
    return fixAt(lat, lon, tMs, speed, geo::normaliseDeg(heading), eph);
  }
  void step(double dtS) {
    east += speed * dtS * std::sin(geo::toRad(heading));
    north += speed * dtS * std::cos(geo::toRad(heading));
  }
};

struct Report {
  int64_t tMs;
  AvlTrigger trigger;
};

// Drives `v` for durationMs at periodMs, calling turn(tMs, v) before each step.
template <class Steer>
std::vector<Report> drive(AvlPolicy& policy, Vehicle& v, int64_t fromMs, int64_t durationMs, int64_t periodMs,
                          Steer steer, AvlVehicleState state = {}) {
  std::vector<Report> out;
  for (int64_t t = fromMs; t <= fromMs + durationMs; t += periodMs) {
    steer(t, v);
    AvlDecision d = policy.offer(v.fix(t), state, t);
    REQUIRE(d.filtered == AvlFilterReason::None);
    if (d.report) out.push_back({t, d.trigger});
    v.step(double(periodMs) / 1000.0);
  }
  return out;
}

auto straight = [](int64_t, Vehicle&) {};

}  // namespace

TEST_CASE("avl: a straight 20 m/s drive at 10 Hz reports every 50 m, i.e. every 2.5 s", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  v.speed = 20;
  auto reports = drive(policy, v, 0, 60'000, 100, straight);
  REQUIRE(reports.size() >= 2);
  CHECK(reports[0].tMs == 0);
  CHECK(reports[0].trigger == AvlTrigger::Interval);  // the first good fix
  for (size_t i = 1; i < reports.size(); ++i) {
    CAPTURE(i, reports[i].tMs);
    CHECK(reports[i].trigger == AvlTrigger::Distance);
    int64_t gap = reports[i].tMs - reports[i - 1].tMs;
    CHECK((gap == 2'500 || gap == 2'600));  // 50 m at 20 m/s, quantised to the 100 ms fixes
  }
  CHECK(reports.size() >= 23);
  CHECK(reports.size() <= 25);
  auto c = policy.counters();
  CHECK(c.offered == 601);
  CHECK(c.accepted == 601);
  CHECK(c.reports == reports.size());
  CHECK(c.reportsFor(AvlTrigger::Distance) == reports.size() - 1);
}

TEST_CASE("avl: a slow 2 m/s drive reports on the 15 s moving interval, before 50 m", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  v.speed = 2;
  auto reports = drive(policy, v, 0, 120'000, 1'000, straight);
  REQUIRE(reports.size() == 9);  // 0, 15, 30, ... 120 s
  for (size_t i = 1; i < reports.size(); ++i) {
    CHECK(reports[i].trigger == AvlTrigger::Interval);
    CHECK(reports[i].tMs == int64_t(i) * 15'000);
  }
}

TEST_CASE("avl: a parked unit with GPS drift sends only the 60 s heartbeat", "[avl]") {
  AvlPolicy policy;
  std::vector<Report> reports;
  // 10 minutes parked; the receiver wanders up to 8 m around the spot (eph 6 m).
  for (int64_t t = 0; t <= 600'000; t += 1'000) {
    double wobble = 8.0 * std::sin(double(t) / 7'000.0);
    double lat, lon;
    geo::offset(kLat0, kLon0, wobble, -wobble / 2, lat, lon);
    AvlDecision d = policy.offer(fixAt(lat, lon, t, 0.2, double(t / 1000 % 360), 6.0), {}, t);
    REQUIRE(d.filtered == AvlFilterReason::None);
    if (d.report) reports.push_back({t, d.trigger});
  }
  REQUIRE(reports.size() == 11);  // 0, 60, ..., 600 s
  for (size_t i = 1; i < reports.size(); ++i) {
    CHECK(reports[i].trigger == AvlTrigger::Interval);
    CHECK(reports[i].tMs == int64_t(i) * 60'000);
  }
  CHECK(policy.counters().reportsFor(AvlTrigger::Heading) == 0);  // course noise below 2.5 m/s is ignored
}

TEST_CASE("avl: stopping at a light switches from distance reports to the heartbeat", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  v.speed = 12;
  auto moving = drive(policy, v, 0, 30'000, 1'000, straight);
  CHECK(moving.size() >= 7);  // 360 m in 30 s: every 5 s (60 m at 1 Hz)
  // Brake at 3 m/s² (4 s), then wait 2 minutes at the light.
  auto stopped = drive(policy, v, 31'000, 124'000, 1'000, [](int64_t t, Vehicle& veh) {
    veh.speed = std::max(0.0, 12.0 - 3.0 * double(t - 30'000) / 1000);
  });
  // At most one more distance report while braking (24 m), then the 60 s heartbeat.
  REQUIRE(stopped.size() >= 2);
  size_t first = stopped[0].trigger == AvlTrigger::Distance ? 1 : 0;
  CHECK(first + 2 == stopped.size());
  int64_t lastMoving = first ? stopped[0].tMs : moving.back().tMs;
  CHECK(stopped[first].trigger == AvlTrigger::Interval);
  CHECK(stopped[first].tMs == lastMoving + 60'000);
  CHECK(stopped[first + 1].tMs == lastMoving + 120'000);
}

TEST_CASE("avl: a 90 degree turn at 10 m/s is drawn with heading reports, at most one a second", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  v.speed = 10;
  v.heading = 90;  // east
  drive(policy, v, 0, 10'000, 100, straight);
  // Turn left to north at 18°/s for 5 s, then straight for 2 s.
  auto during = drive(policy, v, 10'100, 7'000, 100, [](int64_t t, Vehicle& veh) {
    if (t <= 15'000) veh.heading = 90.0 - 18.0 * double(t - 10'000) / 1000.0;
  });
  std::vector<int64_t> headingTimes;
  for (auto& r : during)
    if (r.trigger == AvlTrigger::Heading) headingTimes.push_back(r.tMs);
  CAPTURE(during.size());
  REQUIRE(headingTimes.size() >= 4);
  CHECK(headingTimes.size() <= 6);        // 90° / 15°
  CHECK(headingTimes.front() <= 11'300);  // 15° takes 0.83 s; a distance report may hold it 1 s
  CHECK(headingTimes.back() <= 16'000);   // all during the turn
  for (size_t i = 1; i < headingTimes.size(); ++i) CHECK(headingTimes[i] - headingTimes[i - 1] >= 1'000);
  // The map ends the turn pointing the right way: the last report is within 15° of north.
  CHECK(geo::headingDifferenceDeg(policy.lastReport()->trackDeg, 0) < 15.0);
}

TEST_CASE("avl: the same turn at walking pace sends no heading report", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  v.speed = 1.5;  // below headingMinSpeedMps
  auto reports =
      drive(policy, v, 0, 14'000, 1'000, [](int64_t t, Vehicle& veh) { veh.heading = 90 - 9.0 * double(t) / 1000; });
  REQUIRE(reports.size() == 1);  // only the first fix: 21 m in 14 s triggers neither distance nor interval
}

TEST_CASE("avl: emergency active reports every second, even parked", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  drive(policy, v, 0, 0, 1'000, straight);  // the first report at 0
  AvlVehicleState emergency{.emergencyActive = true};
  auto reports = drive(policy, v, 500, 10'000, 500, straight, emergency);
  REQUIRE(reports.size() == 10);  // 1.0, 2.0, ..., 10.0 s with fixes every 0.5 s
  for (size_t i = 0; i < reports.size(); ++i) {
    CHECK(reports[i].trigger == AvlTrigger::Emergency);
    CHECK(reports[i].tMs == int64_t(i + 1) * 1'000);
  }
  // Cleared: back to the 60 s heartbeat.
  auto after = drive(policy, v, 10'500, 30'000, 500, straight);
  CHECK(after.empty());
}

TEST_CASE("avl: a status change reports at once, connect sends the live position", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  drive(policy, v, 0, 0, 1'000, straight);
  auto d = policy.offer(v.fix(200), AvlVehicleState{.statusChanged = true}, 200);
  CHECK(d.report);
  CHECK(d.trigger == AvlTrigger::Status);
  d = policy.offer(v.fix(300), AvlVehicleState{.firstAfterConnect = true}, 300);
  CHECK(d.report);
  CHECK(d.trigger == AvlTrigger::Connect);
  d = policy.offer(v.fix(400), {}, 400);
  CHECK_FALSE(d.report);
  CHECK(d.trigger == AvlTrigger::None);
}

TEST_CASE("avl: bad fixes are filtered and counted by reason and never move the baseline", "[avl]") {
  AvlPolicy policy;
  Vehicle v;
  v.speed = 10;
  drive(policy, v, 0, 5'000, 1'000, straight);
  const auto baseline = *policy.lastAcceptedFix();
  struct Row {
    const char* what;
    Fix fix;
    int64_t nowMs;
    AvlFilterReason expect;
  };
  Fix noFix;
  noFix.mode = Fix::Mode::NoFix;
  noFix.receivedMonoMs = 6'000;
  Fix nanLat = v.fix(6'000);
  nanLat.lat = __builtin_nan("");
  Fix north = v.fix(6'000);
  north.lat = 91;
  Fix poor = v.fix(6'000, 80.0);
  Fix fast = v.fix(6'000);
  fast.speedMps = 90;
  Fix jumped = v.fix(6'000);
  geo::offset(baseline.lat, baseline.lon, 2'000, 0, jumped.lat, jumped.lon);  // 2 km in 1 s
  Fix brake = v.fix(6'000);
  brake.speedMps = 10 + 25;  // +25 m/s in 1 s
  Fix old = v.fix(6'000);
  old.timeMs = baseline.timeMs - 3'000;  // GPS time behind the last accepted fix
  Fix stale = v.fix(6'000);
  std::vector<Row> rows{
      {"no fix", noFix, 6'000, AvlFilterReason::NoPosition},
      {"NaN latitude", nanLat, 6'000, AvlFilterReason::BadCoordinates},
      {"latitude 91", north, 6'000, AvlFilterReason::BadCoordinates},
      {"eph 80 m", poor, 6'000, AvlFilterReason::PoorAccuracy},
      {"speed 90 m/s", fast, 6'000, AvlFilterReason::ImpossibleSpeed},
      {"2 km in 1 s", jumped, 6'000, AvlFilterReason::ImpossibleJump},
      {"+25 m/s in 1 s", brake, 6'000, AvlFilterReason::ImpossibleAcceleration},
      {"GPS time went back", old, 6'000, AvlFilterReason::OutOfOrder},
      {"received 6 s ago", stale, 12'000, AvlFilterReason::Stale},
  };
  for (auto& r : rows) {
    CAPTURE(r.what);
    // Even with an emergency and a status change, a bad fix is never reported.
    auto d = policy.offer(r.fix, AvlVehicleState{.emergencyActive = true, .statusChanged = true}, r.nowMs);
    CHECK(d.filtered == r.expect);
    CHECK_FALSE(d.report);
    CHECK(policy.lastAcceptedFix()->timeMs == baseline.timeMs);
  }
  auto c = policy.counters();
  CHECK(c.filteredTotal() == rows.size());
  CHECK(c.filtered(AvlFilterReason::BadCoordinates) == 2);
  CHECK(c.filtered(AvlFilterReason::PoorAccuracy) == 1);
  CHECK(c.filtered(AvlFilterReason::ImpossibleJump) == 1);
  CHECK(c.offered == 6 + rows.size());
  CHECK(c.accepted == 6);
  CHECK(std::string(toString(AvlFilterReason::PoorAccuracy)) == "poor_accuracy");
}

TEST_CASE("avl: after 5 consistent fixes far from a bad baseline the policy follows them", "[avl]") {
  AvlPolicy policy;
  // The baseline itself was the outlier: 3 km off, but accepted as the first fix.
  double lat, lon;
  geo::offset(kLat0, kLon0, 3'000, 0, lat, lon);
  REQUIRE(policy.offer(fixAt(lat, lon, 0, 0, 0), {}, 0).report);
  int filtered = 0;
  bool reported = false;
  for (int64_t t = 1'000; t <= 6'000; t += 1'000) {
    auto d = policy.offer(fixAt(kLat0, kLon0, t, 0, 0), {}, t);
    if (d.filtered == AvlFilterReason::ImpossibleJump) ++filtered;
    if (d.filtered == AvlFilterReason::None) {
      reported = d.report;
      CHECK(d.trigger == AvlTrigger::Distance);
      break;
    }
  }
  CHECK(filtered == 4);
  CHECK(reported);
  CHECK(policy.counters().resyncs == 1);
  CHECK(policy.lastReport()->lat == Approx(kLat0));
}

TEST_CASE("avl: a receiver with no fix yields no AVL, however long", "[avl]") {
  AvlPolicy policy;
  for (int64_t t = 0; t <= 300'000; t += 1'000) {
    Fix f;
    f.mode = t % 2 ? Fix::Mode::NoFix : Fix::Mode::Unknown;
    f.lat = f.lon = __builtin_nan("");
    f.receivedMonoMs = t;
    auto d = policy.offer(f, AvlVehicleState{.emergencyActive = true}, t);
    CHECK_FALSE(d.report);
  }
  CHECK(policy.counters().reports == 0);
  CHECK(policy.counters().filtered(AvlFilterReason::NoPosition) == 301);
  CHECK_FALSE(policy.lastReport().has_value());
}

TEST_CASE("avl: decideAvl is a pure function of its inputs", "[avl]") {
  AvlPolicyConfig cfg;
  Vehicle v;
  v.speed = 10;
  Fix a = v.fix(0);
  v.step(6);
  Fix b = v.fix(6'000);
  mdc::hw::AvlReportRecord prev{a.lat, a.lon, 0, a.timeMs, 90, 10, AvlTrigger::Interval};
  auto d1 = decideAvl(cfg, prev, b, {}, 6'000, a);
  auto d2 = decideAvl(cfg, prev, b, {}, 6'000, a);
  CHECK(d1.report);
  CHECK(d1.trigger == AvlTrigger::Distance);
  CHECK(d1.distanceFromLastReportM == Approx(60).margin(0.1));
  CHECK(d2.trigger == d1.trigger);
  cfg.distanceM = 100;
  auto d3 = decideAvl(cfg, prev, b, {}, 6'000, a);
  CHECK_FALSE(d3.report);
}

TEST_CASE("avl: config validation names the key and the value", "[avl]") {
  AvlPolicyConfig ok;
  CHECK_FALSE(ok.validate().has_value());
  AvlPolicyConfig c;
  c.distanceM = -1;
  REQUIRE(c.validate().has_value());
  CHECK(*c.validate() == "avl.distance_m -1: must be 1..10000");
  c = {};
  c.movingIntervalMs = 0;
  CHECK(*c.validate() == "avl.moving_interval_ms 0: must be 1000..3600000");
  c = {};
  c.stationaryIntervalMs = 5'000;
  CHECK(c.validate()->find("avl.stationary_interval_ms 5000: must not be shorter") == 0);
  c = {};
  c.maxEphM = __builtin_nan("");
  CHECK(c.validate()->find("avl.max_eph_m nan") == 0);
  CHECK_THROWS_WITH(AvlPolicy(c), Catch::Contains("config: avl.max_eph_m"));
}

TEST_CASE("avl: recorded_at comes from GPS while the fix is good, else from the system clock", "[avl]") {
  Fix f = fixAt(kLat0, kLon0, 1'000, 0, 0);  // received at mono 1000, GPS kT0+1000
  auto r = mdc::hw::recordedAtFor(f, 1'400, 42, 5'000);
  CHECK(r.fromGps);
  CHECK(r.unixMs == kT0 + 1'400);
  // The system clock jumped back a year: GPS-based time does not care.
  auto jumped = mdc::hw::recordedAtFor(f, 1'600, 42 - 365LL * 86'400'000, 5'000);
  CHECK(jumped.unixMs == kT0 + 1'600);
  auto stale = mdc::hw::recordedAtFor(f, 7'000, 42, 5'000);
  CHECK_FALSE(stale.fromGps);
  CHECK(stale.unixMs == 42);
  Fix none;
  none.mode = Fix::Mode::NoFix;
  CHECK_FALSE(mdc::hw::recordedAtFor(none, 0, 42).fromGps);
  CHECK_FALSE(mdc::hw::recordedAtFor(std::nullopt, 0, 42).fromGps);
}
