// RouteSimulator: a seedable, plausible city drive, stepped by hand.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>

#include "hw/avl_policy.h"
#include "shared/wire/geo.h"
#include "hw/route_simulator.h"
#include "shared/wire/clock.h"

using mdc::hw::AvlPolicy;
using mdc::hw::AvlTrigger;
using mdc::hw::Fix;
using mdc::hw::RouteSimulator;
using mdc::hw::RouteSimulatorOptions;
namespace geo = mdc::geo;

namespace {
constexpr int64_t kStart = 1'767'225'600'000;

RouteSimulatorOptions opts(uint64_t seed, double hz = 1.0) {
  RouteSimulatorOptions o;
  o.seed = seed;
  o.rateHz = hz;
  o.startUtcMs = kStart;
  return o;
}
}  // namespace

TEST_CASE("sim: the same seed drives the same route, another seed another", "[sim]") {
  RouteSimulator a(opts(7)), b(opts(7)), c(opts(8));
  auto fa = a.drive(600'000), fb = b.drive(600'000), fc = c.drive(600'000);
  REQUIRE(fa.size() == 601);
  REQUIRE(fb.size() == fa.size());
  bool differs = false;
  for (size_t i = 0; i < fa.size(); ++i) {
    CHECK(fa[i].lat == fb[i].lat);
    CHECK(fa[i].lon == fb[i].lon);
    CHECK(fa[i].speedMps == fb[i].speedMps);
    differs |= fa[i].lat != fc[i].lat;
  }
  CHECK(differs);
  CHECK(a.describe() == "simulator seed 7, 1 Hz, x1");
}

TEST_CASE("sim: a 1-hour drive is a plausible Midtown drive", "[sim]") {
  for (uint64_t seed : {1, 2, 3}) {
    CAPTURE(seed);
    RouteSimulator sim(opts(seed));
    std::vector<Fix> fixes;
    std::vector<mdc::hw::RouteTruth> truths;
    while (sim.simTimeMs() < 3'600'000) {
      fixes.push_back(sim.next());
      truths.push_back(sim.truth());
    }
    REQUIRE(fixes.size() == 3'601);
    auto s = sim.stats();
    // Manhattan traffic: 8-25 km in an hour, a third to two thirds of it standing.
    CHECK(s.distanceM > 8'000);
    CHECK(s.distanceM < 25'000);
    CHECK(s.maxSpeedMps <= 14.0 + 1e-9);
    CHECK(s.redLights >= 15);
    CHECK(s.turns >= 10);
    CHECK(s.intersections >= 50);
    double stopped = double(s.stoppedMs) / 3'600'000;
    CHECK(stopped > 0.25);
    CHECK(stopped < 0.70);
    for (size_t i = 0; i < fixes.size(); ++i) {
      const Fix& f = fixes[i];
      CHECK(f.mode == Fix::Mode::Fix3D);
      CHECK(f.timeMs == kStart + int64_t(i) * 1'000);
      CHECK(f.receivedMonoMs == int64_t(i) * 1'000);
      CHECK(f.ephM >= 3.0);
      CHECK(f.ephM <= 9.0);
      CHECK(f.satellitesUsed >= 7);
      CHECK(f.satellitesUsed <= 12);
      // Within the 8 x 40 block grid around 40.75,-73.99 (a few km).
      CHECK(geo::distanceM(40.75, -73.99, f.lat, f.lon) < 4'000);
      // The receiver is within a few metres of the truth.
      CHECK(geo::distanceM(f.lat, f.lon, truths[i].lat, truths[i].lon) < 12.0);
      if (i == 0) continue;
      // The true motion: no teleporting, ordinary accelerations (< 3.5 m/s² either way).
      double moved = geo::distanceM(truths[i - 1].lat, truths[i - 1].lon, truths[i].lat, truths[i].lon);
      CHECK(moved <= 14.5);
      CHECK(std::fabs(truths[i].speedMps - truths[i - 1].speedMps) <= 3.5);
    }
  }
}

TEST_CASE("sim: the 1-hour drive yields 300-480 reports under the default policy, 721 at a fixed 5 s", "[sim][avl]") {
  // Measured over seeds 1-10: 325-433 reports/h (mean 396), about 55 % of a fixed 5 s interval.
  for (uint64_t seed : {1, 2, 3, 4, 5}) {
    CAPTURE(seed);
    RouteSimulator sim(opts(seed));
    AvlPolicy policy;
    int64_t lastFixed = -1;
    int fixed = 0;
    while (sim.simTimeMs() < 3'600'000) {
      Fix f = sim.next();
      policy.offer(f, {}, f.receivedMonoMs);
      if (lastFixed < 0 || f.receivedMonoMs - lastFixed >= 5'000) {
        ++fixed;
        lastFixed = f.receivedMonoMs;
      }
    }
    auto c = policy.counters();
    CHECK(c.reports >= 300);
    CHECK(c.reports <= 480);
    CHECK(fixed == 721);
    CHECK(c.filteredTotal() == 0);  // a clean receiver loses nothing to the filters
    CHECK(c.reportsFor(AvlTrigger::Distance) > c.reportsFor(AvlTrigger::Interval));
    CHECK(c.reportsFor(AvlTrigger::Heading) >= 2 * uint64_t(sim.stats().turns));  // every corner drawn
    CHECK(c.reportsFor(AvlTrigger::Interval) >= 30);                              // heartbeats while stopped
  }
}

TEST_CASE("sim: injected bad fixes are all filtered and no report strays from the road", "[sim][avl]") {
  auto o = opts(11);
  o.badFixRate = 0.02;
  RouteSimulator sim(o);
  AvlPolicy policy;
  double worst = 0;
  while (sim.simTimeMs() < 3'600'000) {
    Fix f = sim.next();
    auto truth = sim.truth();
    auto d = policy.offer(f, {}, f.receivedMonoMs);
    if (d.report) worst = std::max(worst, geo::distanceM(f.lat, f.lon, truth.lat, truth.lon));
  }
  auto s = sim.stats();
  auto c = policy.counters();
  CAPTURE(s.badFixes, c.filtered(mdc::hw::AvlFilterReason::PoorAccuracy),
          c.filtered(mdc::hw::AvlFilterReason::ImpossibleJump));
  CHECK(s.badFixes >= 40);  // ~2 % of 3601
  CHECK(c.filteredTotal() >= uint64_t(s.badFixes) * 9 / 10);
  CHECK(worst < 60.0);  // a poor fix within the eph limit can be ~50 m off; a jump never gets through
}

TEST_CASE("sim: 10 Hz fixes are 100 ms apart in GPS and monotonic time", "[sim]") {
  RouteSimulator sim(opts(3, 10.0));
  auto fixes = sim.drive(60'000);
  REQUIRE(fixes.size() == 601);
  for (size_t i = 1; i < fixes.size(); ++i) {
    CHECK(fixes[i].timeMs - fixes[i - 1].timeMs == 100);
    CHECK(fixes[i].receivedMonoMs - fixes[i - 1].receivedMonoMs == 100);
  }
}

TEST_CASE("sim: without a start time the GPS time is the clock's current UTC", "[sim]") {
  mdc::ManualClock clock(1'800'000'000'000);
  RouteSimulatorOptions o;
  o.seed = 5;
  RouteSimulator sim(o, clock);
  Fix f0 = sim.next();
  Fix f1 = sim.next();
  CHECK(f0.timeMs == 1'800'000'000'000);
  CHECK(f1.timeMs == 1'800'000'001'000);
}

namespace {
class Collect final : public mdc::hw::GpsSink {
 public:
  void onFix(const Fix& f) override {
    std::lock_guard l(mu);
    fixes.push_back(f);
    cv.notify_all();
  }
  void onSourceState(bool connected, const std::string& detail) override {
    std::lock_guard l(mu);
    states.emplace_back(connected, detail);
  }
  bool wait(size_t n) {
    std::unique_lock l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return fixes.size() >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Fix> fixes;
  std::vector<std::pair<bool, std::string>> states;
};
}  // namespace

TEST_CASE("sim: real-time mode emits at rate x speedup on its own thread and stops promptly", "[sim]") {
  auto o = opts(9, 10.0);
  o.speedup = 20;  // 200 fixes per wall second
  RouteSimulator sim(o);
  Collect sink;
  auto t0 = std::chrono::steady_clock::now();
  sim.start(sink);
  REQUIRE(sink.wait(100));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  auto t1 = std::chrono::steady_clock::now();
  sim.stop();
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::milliseconds(200));
  CHECK(elapsed >= std::chrono::milliseconds(450));  // 100 fixes at 5 ms each, the first at once
  CHECK(elapsed < std::chrono::seconds(5));
  std::lock_guard l(sink.mu);
  REQUIRE_FALSE(sink.states.empty());
  CHECK(sink.states[0].first);
  CHECK(sink.states[0].second.find("simulator seed 9") == 0);
  size_t n = sink.fixes.size();
  for (size_t i = 1; i < n; ++i) {
    CHECK(sink.fixes[i].timeMs - sink.fixes[i - 1].timeMs == 100);            // simulated GPS time
    CHECK(sink.fixes[i].receivedMonoMs >= sink.fixes[i - 1].receivedMonoMs);  // the real monotonic clock
  }
}
