// The stub's "who is near" planner at fleet scale: the time one tick (every
// second) takes on the service thread, and how many lists it sends, for N
// units spread over a city, all moving, a few in an emergency. Compared in the
// same run with a raw pass that computes every unit's list without the planner.
//
//   bench_nearby [--units N] [--spread-m M] [--ticks T] [--json FILE]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "server-stub/domain/nearby.h"
#include "shared/wire/geo.h"

using namespace cad::nearby;

int main(int argc, char** argv) {
  int units = 1000, ticks = 30;
  double spreadM = 30000;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_nearby: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--units") units = std::atoi(val().c_str());
    else if (a == "--spread-m") spreadM = std::atof(val().c_str());
    else if (a == "--ticks") ticks = std::atoi(val().c_str());
    else if (a == "--json") json = val();
    else {
      std::fprintf(stderr, "usage: bench_nearby [--units N] [--spread-m M] [--ticks T] [--json FILE]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (units < 2 || units > 100000 || ticks < 1 || !(spreadM > 0)) {
    std::fprintf(stderr, "bench_nearby: --units 2..100000, --ticks >= 1, --spread-m > 0\n");
    return 2;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> where(-spreadM / 2, spreadM / 2);
  std::vector<UnitPlace> all;
  for (int i = 0; i < units; ++i) {
    UnitPlace u;
    u.unit = "U" + std::to_string(i);
    u.agency = "FD1";
    u.device = "MDC-" + std::to_string(i);
    u.status = 1;
    u.hasPosition = true;
    mdc::geo::offset(40.758, -73.9855, where(rng), where(rng), u.lat, u.lon);
    u.positionAtMs = 1'767'256'200'000;
    u.online = true;
    if (i % 50 == 0) u.incident = "2026-" + std::to_string(i / 50);
    all.push_back(u);
  }
  std::uniform_real_distribution<double> step(-0.0003, 0.0003);  // up to ~30 m per second
  Planner planner(5000, 5000, 30000);
  double worstMs = 0, totalMs = 0;
  size_t lists = 0, entries = 0;
  for (int t = 0; t < ticks; ++t) {
    for (auto& u : all) {
      u.lat += step(rng);
      u.lon += step(rng);
    }
    all[size_t(t % units)].emergency = (t % 7) < 3;  // emergencies start and end
    const auto t0 = std::chrono::steady_clock::now();
    auto due = planner.due(all, int64_t(t) * 1000);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    worstMs = std::max(worstMs, ms);
    totalMs += ms;
    lists += due.size();
    for (const auto& d : due) entries += size_t(d.body.units_size());
  }
  // Raw: every unit's list, every tick, no planner (what a naive loop costs).
  const auto r0 = std::chrono::steady_clock::now();
  size_t rawEntries = 0;
  for (const auto& u : all) rawEntries += size_t(forUnit(u, all, 5000).units_size());
  const double rawMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count();

  const double meanMs = totalMs / ticks;
  std::printf("nearby planner: %d units over %.0f km, %d ticks (1 s each)\n", units, spreadM / 1000, ticks);
  std::printf("  tick          %.2f ms mean, %.2f ms worst (%.1f %% of one core at one tick a second)\n", meanMs,
              worstMs, meanMs / 10.0);
  std::printf("  lists sent    %.1f per second, %.1f units each\n", double(lists) / ticks,
              lists ? double(entries) / double(lists) : 0.0);
  std::printf("  raw pass      %.2f ms for every unit's list once (%.1f units each)\n", rawMs,
              double(rawEntries) / units);
  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\"units\":" << units << ",\"spread_m\":" << spreadM << ",\"ticks\":" << ticks
        << ",\"tick_mean_ms\":" << meanMs << ",\"tick_worst_ms\":" << worstMs
        << ",\"lists_per_s\":" << double(lists) / ticks << ",\"raw_pass_ms\":" << rawMs << "}\n";
    if (!out) {
      std::fprintf(stderr, "bench_nearby: cannot write \"%s\"\n", json.c_str());
      return 1;
    }
    std::printf("wrote %s\n", json.c_str());
  }
  return 0;
}
