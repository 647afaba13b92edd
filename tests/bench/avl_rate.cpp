// AVL messages per hour: the route simulator's city drive through the default
// AvlPolicy, next to a fixed 5 s interval. Simulated time only (no waiting):
// a 1-hour drive takes well under a second.
//
//   avl_rate [--seed N] [--seeds K] [--hours H] [--rate-hz HZ] [--bad-fix-rate P] [--json FILE]
//
// --seeds K runs seeds N..N+K-1 and prints each drive and the mean.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "hw/avl_policy.h"
#include "hw/route_simulator.h"

using namespace mdc::hw;

namespace {

struct Run {
  uint64_t seed = 0;
  double hours = 1;
  RouteSimulatorStats drive;
  AvlCounters policy;
  uint64_t fixedReports = 0;
  uint64_t fixes = 0;
};

Run runOne(uint64_t seed, double hours, double rateHz, double badFixRate) {
  RouteSimulatorOptions o;
  o.seed = seed;
  o.rateHz = rateHz;
  o.startUtcMs = 1'767'225'600'000;  // fixed, so the JSON is reproducible
  o.badFixRate = badFixRate;
  RouteSimulator sim(o);
  AvlPolicy policy;  // the defaults under test
  const int64_t fixedIntervalMs = 5'000;
  int64_t lastFixed = -1;
  Run r;
  r.seed = seed;
  r.hours = hours;
  const int64_t endMs = int64_t(hours * 3'600'000);
  while (sim.simTimeMs() < endMs) {
    Fix f = sim.next();
    ++r.fixes;
    const int64_t now = f.receivedMonoMs;  // the simulator's monotonic time
    policy.offer(f, {}, now);
    // The fixed-interval reference: every 5 s, whatever the vehicle does (bad fixes included).
    if (lastFixed < 0 || now - lastFixed >= fixedIntervalMs) {
      ++r.fixedReports;
      lastFixed = now;
    }
  }
  r.drive = sim.stats();
  r.policy = policy.counters();
  return r;
}

std::string runJson(const Run& r) {
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"seed\":%llu,\"hours\":%g,\"fixes\":%llu,\"distance_km\":%.2f,\"intersections\":%d,\"turns\":%d,"
                "\"red_lights\":%d,\"scene_stops\":%d,\"stopped_fraction\":%.3f,\"max_speed_mps\":%.1f,"
                "\"bad_fixes\":%d,\"policy_reports\":%llu,\"policy_reports_per_hour\":%.1f,"
                "\"fixed_5s_reports\":%llu,\"fixed_5s_reports_per_hour\":%.1f,",
                (unsigned long long)r.seed, r.hours, (unsigned long long)r.fixes, r.drive.distanceM / 1000,
                r.drive.intersections, r.drive.turns, r.drive.redLights, r.drive.sceneStops,
                double(r.drive.stoppedMs) / (r.hours * 3'600'000), r.drive.maxSpeedMps, r.drive.badFixes,
                (unsigned long long)r.policy.reports, double(r.policy.reports) / r.hours,
                (unsigned long long)r.fixedReports, double(r.fixedReports) / r.hours);
  s += buf;
  s += "\"triggers\":{";
  for (int t = 1; t < kAvlTriggerCount; ++t) {
    std::snprintf(buf, sizeof buf, "%s\"%s\":%llu", t > 1 ? "," : "", toString(AvlTrigger(t)),
                  (unsigned long long)r.policy.byTrigger[size_t(t)]);
    s += buf;
  }
  s += "},\"filtered\":{";
  for (int f = 1; f < kAvlFilterReasonCount; ++f) {
    std::snprintf(buf, sizeof buf, "%s\"%s\":%llu", f > 1 ? "," : "", toString(AvlFilterReason(f)),
                  (unsigned long long)r.policy.byFilter[size_t(f)]);
    s += buf;
  }
  s += "}}";
  return s;
}

void print(const Run& r) {
  std::printf(
      "seed %llu: %.1f km in %.1f h, %d intersections, %d turns, %d red lights, %d scene stops, "
      "stopped %.0f %% of the time, top speed %.1f m/s, %llu fixes (%d made bad)\n",
      (unsigned long long)r.seed, r.drive.distanceM / 1000, r.hours, r.drive.intersections, r.drive.turns,
      r.drive.redLights, r.drive.sceneStops, 100.0 * double(r.drive.stoppedMs) / (r.hours * 3'600'000),
      r.drive.maxSpeedMps, (unsigned long long)r.fixes, r.drive.badFixes);
  std::printf("  default policy: %6.1f reports/h   (", double(r.policy.reports) / r.hours);
  for (int t = 1; t < kAvlTriggerCount; ++t)
    std::printf("%s%s %llu", t > 1 ? ", " : "", toString(AvlTrigger(t)),
                (unsigned long long)r.policy.byTrigger[size_t(t)]);
  std::printf(")\n  fixed 5 s:      %6.1f reports/h\n", double(r.fixedReports) / r.hours);
  if (r.policy.filteredTotal()) {
    std::printf("  filtered:");
    for (int f = 1; f < kAvlFilterReasonCount; ++f)
      if (r.policy.byFilter[size_t(f)])
        std::printf(" %s %llu", toString(AvlFilterReason(f)), (unsigned long long)r.policy.byFilter[size_t(f)]);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 1;
  int seeds = 1;
  double hours = 1, rateHz = 1, bad = 0;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "avl_rate: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seed")
      seed = std::strtoull(val(), nullptr, 10);
    else if (a == "--seeds")
      seeds = std::atoi(val());
    else if (a == "--hours")
      hours = std::atof(val());
    else if (a == "--rate-hz")
      rateHz = std::atof(val());
    else if (a == "--bad-fix-rate")
      bad = std::atof(val());
    else if (a == "--json")
      json = val();
    else {
      std::fprintf(stderr,
                   "usage: avl_rate [--seed N] [--seeds K] [--hours H] [--rate-hz HZ] "
                   "[--bad-fix-rate P] [--json FILE]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (seeds < 1 || hours <= 0 || rateHz <= 0 || rateHz > 50 || bad < 0 || bad > 1) {
    std::fprintf(stderr, "avl_rate: --seeds >= 1, --hours > 0, --rate-hz 0..50, --bad-fix-rate 0..1\n");
    return 2;
  }
  AvlPolicyConfig d;
  std::printf("AVL reports per hour, route simulator city drive (%g h, %g Hz fixes, bad-fix rate %g)\n", hours, rateHz,
              bad);
  std::printf(
      "default policy: moving %lld s, stationary %lld s, distance %g m, heading %g deg above %g m/s, "
      "max eph %g m\n",
      (long long)(d.movingIntervalMs / 1000), (long long)(d.stationaryIntervalMs / 1000), d.distanceM, d.headingDeg,
      d.headingMinSpeedMps, d.maxEphM);
  std::vector<Run> runs;
  double sumPolicy = 0, sumFixed = 0;
  for (int k = 0; k < seeds; ++k) {
    runs.push_back(runOne(seed + uint64_t(k), hours, rateHz, bad));
    print(runs.back());
    sumPolicy += double(runs.back().policy.reports) / hours;
    sumFixed += double(runs.back().fixedReports) / hours;
  }
  std::printf("mean over %d drive(s): default policy %.1f reports/h, fixed 5 s %.1f reports/h (%.0f %% of it)\n", seeds,
              sumPolicy / seeds, sumFixed / seeds, 100.0 * sumPolicy / sumFixed);
  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\"benchmark\":\"avl_rate\",\"rate_hz\":" << rateHz << ",\"bad_fix_rate\":" << bad
        << ",\"mean_policy_reports_per_hour\":" << sumPolicy / seeds
        << ",\"mean_fixed_5s_reports_per_hour\":" << sumFixed / seeds << ",\"runs\":[";
    for (size_t i = 0; i < runs.size(); ++i) out << (i ? "," : "") << runJson(runs[i]);
    out << "]}\n";
    if (!out) {
      std::fprintf(stderr, "avl_rate: cannot write \"%s\"\n", json.c_str());
      return 1;
    }
    std::printf("wrote %s\n", json.c_str());
  }
  return 0;
}
