// The whole agent with a 10 Hz receiver: a real gpsd fed from a recorded log
// at 10 fixes a second, the agent's reporting policy, store and link to a real
// broker and stub. Prints the agent's CPU and resident memory over the run and
// what the policy did with the fixes; writes JSON with --json FILE. Not a test.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/gpsd.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"

using namespace mdc;
using namespace mdc::test;


int main(int argc, char** argv) {
  int seconds = 600;
  std::string jsonPath;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::stoi(argv[++i]);
    else if (a == "--json" && i + 1 < argc) jsonPath = argv[++i];
    else {
      std::cout << "usage: bench_agent_gps [--seconds N (600)] [--json FILE]\n"
                   "Runs mdc-agent against a real gpsd replaying bu353s4.log at 10 Hz (looped), with a real\n"
                   "broker and backend, and reports the agent's CPU and resident memory.\n";
      return a == "--help" ? 0 : 2;
    }
  }
  setenv("MDC_LOG_LEVEL", "warn", 0);
  TempDir dir("mdc-bench-gps");
  Mosquitto broker(dir);
  CadStub stub(dir, broker.uri());
  stub.start();
  stub.waitReady();
  stub.addDevice("MDC-GPS", "G1", "FD1");
  GpsdFixtureOptions g;
  g.epochInterval = std::chrono::milliseconds(100);  // 10 Hz
  g.sentenceInterval = std::chrono::milliseconds(0);
  g.loop = true;
  Gpsd gpsd(dir, g);
  AgentProcess agent(dir, "MDC-GPS", "G1", "FD1", broker.uri(),
                     {"--set", "gps.source=gpsd", "--set", "gps.port=" + std::to_string(gpsd.port())});
  agent.start();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // start-up is not the figure
  const pid_t pid = agent.pid();
  ProcessUsage u0 = processUsage(pid);
  auto s0 = agent.state();
  long peakRss = u0.rssKb;
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    peakRss = std::max(peakRss, processUsage(pid).rssKb);
    if (s % 60 == 59) std::cerr << "bench: " << (s + 1) << " / " << seconds << " s\n";
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ProcessUsage u1 = processUsage(pid);
  auto s1 = agent.state();
  auto counter = [](const v1::AgentState& st, const char* k) {
    auto it = st.counters().find(k);
    return it == st.counters().end() ? uint64_t(0) : it->second;
  };
  uint64_t fixes = counter(s1, "avl_fixes") - counter(s0, "avl_fixes");
  uint64_t reports = counter(s1, "avl_reports") - counter(s0, "avl_reports");
  double cpu = u1.cpuSeconds - u0.cpuSeconds;
  std::printf("\nmdc-agent with a 10 Hz receiver (real gpsd, bu353s4.log looped), %.0f s\n", wall);
  std::printf("  fixes received %llu (%.1f/s), AVL reported %llu, committed by the backend %llu\n",
              static_cast<unsigned long long>(fixes), double(fixes) / wall, static_cast<unsigned long long>(reports),
              static_cast<unsigned long long>(counter(s1, "committed")));
  std::printf("  CPU %.2f s = %.2f %% of one core; RSS %.1f MB at start, %.1f MB at the end, peak %.1f MB\n", cpu,
              100 * cpu / wall, double(u0.rssKb) / 1024, double(u1.rssKb) / 1024, double(peakRss) / 1024);
  std::printf("  (the looped log repeats its GPS times: after the first pass the policy filters the repeats\n"
              "   as out of order, so the AVL count reflects one pass; the CPU figure covers every fix)\n");
  if (!jsonPath.empty()) {
    std::ofstream j(jsonPath);
    j << "{\n  \"seconds\": " << wall << ",\n  \"fixes\": " << fixes << ",\n  \"avl_reports\": " << reports
      << ",\n  \"cpu_s\": " << cpu << ",\n  \"cpu_percent\": " << 100 * cpu / wall << ",\n  \"rss_start_kb\": "
      << u0.rssKb << ",\n  \"rss_end_kb\": " << u1.rssKb << ",\n  \"rss_peak_kb\": " << peakRss << "\n}\n";
  }
  return 0;
}
