// CPU and memory of the GPS layer with a 10 Hz receiver: the real gpsd reading
// bu353s4.log looped at 10 epochs per second (fed over TCP by the test
// fixture), GpsdSource reading it and AvlPolicy deciding on every fix.
// It measures the hw layer (GpsdSource's thread, the policy), not the whole agent.
//
//   gps_10hz [--seconds N (600)] [--log NAME] [--json FILE]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "hw/avl_policy.h"
#include "hw/gpsd_source.h"
#include "shared/wire/clock.h"
#include "tests/support/gpsd.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;

namespace {

double cpuSeconds(const rusage& r) {
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// Runs on GpsdSource's thread: the policy decides there (in the agent it would
// run on the event loop after a post; the work is the same).
class PolicySink final : public mdc::hw::GpsSink {
 public:
  void onFix(const mdc::hw::Fix& f) override {
    std::lock_guard l(mu);
    ++fixes;
    policy.offer(f, {}, mdc::SystemClock::instance().monotonicMs());
    getrusage(RUSAGE_THREAD, &threadUsage);
  }
  void onSourceState(bool connected, const std::string&) override {
    std::lock_guard l(mu);
    if (!connected) ++disconnects;
  }
  std::mutex mu;
  mdc::hw::AvlPolicy policy;
  uint64_t fixes = 0, disconnects = 0;
  rusage threadUsage{};
};

}  // namespace

int main(int argc, char** argv) {
  int seconds = 600;
  std::string log = "bu353s4.log", json;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (a == "--log" && i + 1 < argc)
      log = argv[++i];
    else if (a == "--json" && i + 1 < argc)
      json = argv[++i];
    else {
      std::fprintf(stderr, "usage: gps_10hz [--seconds N] [--log NAME] [--json FILE]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (seconds < 1) {
    std::fprintf(stderr, "gps_10hz: --seconds must be >= 1\n");
    return 2;
  }
  std::printf(
      "gps_10hz: GpsdSource + AvlPolicy against the real gpsd at 10 Hz for %d s "
      "(measures the hw layer, not the whole agent)\n",
      seconds);
  mdc::test::TempDir dir("mdc-bench-gps");
  mdc::test::Gpsd gpsd(
      dir, mdc::test::GpsdFixtureOptions{.log = log, .sentenceInterval = 0ms, .epochInterval = 100ms, .loop = true});
  PolicySink sink;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto t0 = std::chrono::steady_clock::now();
  {
    mdc::hw::GpsdSource source(mdc::hw::GpsdOptions{.host = gpsd.host(), .port = gpsd.port()});
    source.start(sink);
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    source.stop();
    auto c = source.counters();
    std::printf("gpsd lines %llu: TPV %llu, SKY %llu, other %llu, skipped %llu; connection losses %llu\n",
                (unsigned long long)c.lines, (unsigned long long)c.tpv, (unsigned long long)c.sky,
                (unsigned long long)c.otherClass, (unsigned long long)c.skipped(),
                (unsigned long long)c.connectionsLost);
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  std::lock_guard l(sink.mu);
  double threadCpu = cpuSeconds(sink.threadUsage);
  double processCpu = cpuSeconds(after) - cpuSeconds(before);
  auto pc = sink.policy.counters();
  std::printf("fixes %llu (%.1f/s), AVL reports %llu (%.1f/h)\n", (unsigned long long)sink.fixes,
              double(sink.fixes) / wall, (unsigned long long)pc.reports, double(pc.reports) * 3600 / wall);
  std::printf("policy filtered %llu (out_of_order %llu: the looped log repeats its GPS times; stale %llu)\n",
              (unsigned long long)pc.filteredTotal(),
              (unsigned long long)pc.filtered(mdc::hw::AvlFilterReason::OutOfOrder),
              (unsigned long long)pc.filtered(mdc::hw::AvlFilterReason::Stale));
  std::printf("GpsdSource thread CPU: %.3f s in %.0f s = %.3f %% of one core (%.1f us per fix)\n", threadCpu, wall,
              100 * threadCpu / wall, sink.fixes ? 1e6 * threadCpu / double(sink.fixes) : 0.0);
  std::printf("whole bench process CPU (includes the NMEA feeder thread): %.3f s = %.3f %%\n", processCpu,
              100 * processCpu / wall);
  std::printf("max RSS of the bench process: %ld KiB\n", after.ru_maxrss);
  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\"benchmark\":\"gps_10hz\",\"scope\":\"hw layer (GpsdSource + AvlPolicy), not the whole agent\","
        << "\"seconds\":" << wall << ",\"fixes\":" << sink.fixes << ",\"avl_reports\":" << pc.reports
        << ",\"source_thread_cpu_s\":" << threadCpu << ",\"source_thread_cpu_percent\":" << 100 * threadCpu / wall
        << ",\"process_cpu_s\":" << processCpu << ",\"max_rss_kib\":" << after.ru_maxrss << "}\n";
    std::printf("wrote %s\n", json.c_str());
  }
  return sink.fixes > 0 ? 0 : 1;
}
