// Agent benchmarks, each next to the real limit measured in the same run:
//  1. enqueue latency of a status change through the local API (p50/p99)
//     vs a raw SQLite commit with synchronous=FULL in the same directory;
//  2. drain of a backlog (28,800 AVL = 8 h at 1 Hz, + 500 status changes) to a
//     committing backend vs raw mosquitto QoS 1 throughput over one connection
//     with a window in flight;
//  3. the agent's resident memory and CPU while idle online and while draining;
//  4. bytes on the wire per AVL report (protobuf, MQTT framing, acks back),
//     counted by a TCP proxy between a second agent and the broker.
// Prints the figures and writes JSON with --json FILE. Not a test.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/api_client.h"
#include "agent/store.h"
#include "shared/infra/mqtt.h"
#include "shared/infra/sqlite.h"
#include "shared/wire/uuid.h"
#include "tests/bench/bench_util.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/tcp_proxy.h"

using namespace mdc;
using namespace mdc::test;
using Steady = std::chrono::steady_clock;

namespace {

double ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(const std::vector<double>& v, double p) { return bench::percentile(v, p, 0); }

// Raw SQLite: one row per transaction, synchronous=FULL, WAL, same disk.
class RawCommitter {
 public:
  explicit RawCommitter(const std::string& path) : db_(path) {
    db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
  }
  double commitOne() {
    auto ins = db_.prepare("INSERT INTO t(b) VALUES(?)");
    auto t0 = Steady::now();
    db_.exec("BEGIN IMMEDIATE");
    ins.bindBlob(1, blob_).run();
    db_.exec("COMMIT");
    return ms(Steady::now() - t0);
  }

 private:
  sql::SqliteDb db_;
  std::string blob_ = std::string(90, 'x');
};

// Raw mosquitto QoS 1: one publisher, window of `window` un-PUBACKed messages,
// one subscriber counting arrivals; messages/s from first send to last arrival.
class Counter final : public mqtt::Handler {
 public:
  std::atomic<int> acks{0}, arrived{0};
  std::atomic<bool> connected{false};
  void onConnected(bool) override { connected = true; }
  void onConnectFailed(const std::string&, int) override {}
  void onConnectionLost(const std::string&) override {}
  void onMessage(std::string, std::string, bool) override { ++arrived; }
  void onPublishResult(int, bool, int) override { ++acks; }
  void onSubscribeResult(const std::string&, bool, int) override { subscribed = true; }
  std::atomic<bool> subscribed{false};
};

double rawMosquittoRate(const std::string& uri, int n, int window) {
  Counter pubH, subH;
  mqtt::Options po;
  po.uri = uri;
  po.clientId = "bench-pub";
  po.cleanStart = true;
  po.maxInflight = window;
  mqtt::Options so;
  so.uri = uri;
  so.clientId = "bench-sub";
  so.cleanStart = true;
  mqtt::Client pub(po, pubH), sub(so, subH);
  (void)pub.connect();
  (void)sub.connect();
  waitUntil([&] { return pubH.connected && subH.connected; }, std::chrono::seconds(10));
  (void)sub.subscribe("bench/raw", 1);
  waitUntil([&] { return subH.subscribed.load(); }, std::chrono::seconds(10));
  std::string payload(90, 'x');
  auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) {
    while (i - pubH.acks >= window) std::this_thread::yield();
    (void)pub.publish("bench/raw", payload, 1, false);
  }
  waitUntil([&] { return subH.arrived >= n; }, std::chrono::seconds(120));
  double secs = std::chrono::duration<double>(Steady::now() - t0).count();
  return double(subH.arrived) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  std::string jsonPath;
  int enqueueN = 2000, avl = 28800, statuses = 500, window = 256;  // the agent's default window
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--json") jsonPath = next();
    else if (a == "--enqueue") enqueueN = std::stoi(next());
    else if (a == "--avl") avl = std::stoi(next());
    else if (a == "--statuses") statuses = std::stoi(next());
    else if (a == "--window") window = std::stoi(next());
    else {
      std::cout << "usage: bench_agent [--json FILE] [--enqueue N] [--avl N] [--statuses N] [--window N]\n"
                   "Measures enqueue latency, drain throughput and agent CPU/RSS next to raw SQLite and raw\n"
                   "mosquitto QoS 1 measured in the same run. Needs the built mdc-agent and cad-stub.\n";
      return a == "--help" ? 0 : 2;
    }
  }
  setenv("MDC_LOG_LEVEL", "warn", 0);  // quiet children unless asked
  TempDir dir("mdc-bench");

  // 1. Enqueue latency through the local API vs raw SQLite commits, interleaved
  //    so both see the same disk and the same machine load.
  std::cerr << "bench: enqueue through the local API vs raw SQLite commits (" << enqueueN << " each)...\n";
  AgentProcess lone(dir, "MDC-LAT", "L1", "FD1", "tcp://127.0.0.1:1");
  lone.start();
  auto c = lone.client();
  RawCommitter rawDb(dir.file("raw.db"));
  std::vector<double> enq, raw;
  for (int i = 0; i < enqueueN; ++i) {
    raw.push_back(rawDb.commitOne());
    v1::ApiRequest r;
    r.mutable_set_status()->set_status(i % 2 ? v1::UNIT_STATUS_EN_ROUTE : v1::UNIT_STATUS_ON_SCENE);
    auto t0 = Steady::now();
    auto reply = c->call(r);
    enq.push_back(ms(Steady::now() - t0));
    if (!reply || !reply->ok()) throw std::runtime_error("enqueue failed");
  }
  lone.stop();

  // 2. Drain vs raw mosquitto.
  MosquittoOptions mo;
  mo.maxQueuedMessages = 1000000;
  mo.persistence = true;  // as deployed: the backend's session outlives a broker restart
  mo.verboseLog = getenv("BENCH_VERBOSE") != nullptr;
  Mosquitto broker(dir, mo);
  std::cerr << "bench: raw mosquitto QoS 1, window " << window << " (" << (avl + statuses) << " messages)...\n";
  double rawRate = rawMosquittoRate(broker.uri(), avl + statuses, window);
  CadStub stub(dir, broker.uri());
  stub.start();
  stub.waitReady();
  stub.addDevice("MDC-BENCH", "B1", "FD1");
  AgentProcess agent(dir, "MDC-BENCH", "B1", "FD1", broker.uri(),
                     {"--set", "link.window=" + std::to_string(window)});
  std::cerr << "bench: backlog of " << avl << " AVL + " << statuses << " statuses...\n";
  prefillOutbox(agent.storePath(), "MDC-BENCH", "B1", "FD1", statuses, avl);
  broker.stop();
  agent.start();
  broker.start();
  // The drain starts when the link is back: the reconnect itself (the
  // agent's jittered backoff from when the broker was down) is reported apart.
  const auto brokerBack = Steady::now();
  while (agent.state().link() != v1::LINK_STATE_ONLINE) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (std::chrono::duration<double>(Steady::now() - brokerBack).count() > 120)
      throw std::runtime_error("the agent did not reconnect");
  }
  const double reconnectSecs = std::chrono::duration<double>(Steady::now() - brokerBack).count();
  const pid_t agentPid = agent.pid();
  auto before = processUsage(agentPid);
  auto t0 = Steady::now();
  long peakRss = 0;
  long long depth = avl + statuses;
  while (depth > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    depth = agent.outboxDepth();
    peakRss = std::max(peakRss, processUsage(agentPid).rssKb);
    if (std::chrono::duration<double>(Steady::now() - t0).count() > 600) throw std::runtime_error("drain timed out");
  }
  double drainSecs = std::chrono::duration<double>(Steady::now() - t0).count();
  auto after = processUsage(agentPid);
  double drainRate = double(avl + statuses) / drainSecs;
  long long stored = stub.eventCount();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto idle0 = processUsage(agentPid);
  std::this_thread::sleep_for(std::chrono::seconds(5));
  auto idle1 = processUsage(agentPid);

  // 4. Bytes on the wire per AVL report: a second vehicle drains a backlog
  //    through a proxy that counts what passes (MQTT framing and all).
  const int wireN = 5000;
  stub.addDevice("MDC-WIRE", "W1", "FD1");
  TcpProxy proxy(broker.port());
  AgentProcess wire(dir, "MDC-WIRE", "W1", "FD1", proxy.uri(), {"--set", "link.window=" + std::to_string(window)});
  prefillOutbox(wire.storePath(), "MDC-WIRE", "W1", "FD1", 0, wireN);
  double protobufBytes = 0;
  {
    auto store = agent::Store::open(wire.storePath(), {int64_t(1) << 32, 500}, SystemClock::instance());
    if (!store) throw std::runtime_error(store.error().message);
    auto rows = (*store)->pending(v1::LANE_AVL, 0, wireN);
    for (const auto& r : rows) protobufBytes += double(r.payload.size());
    protobufBytes /= double(std::max<size_t>(rows.size(), 1));
  }
  std::cerr << "bench: " << wireN << " AVL through a counting proxy...\n";
  wire.start();
  for (auto t = Steady::now(); wire.outboxDepth() > 0;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (std::chrono::duration<double>(Steady::now() - t).count() > 300) throw std::runtime_error("wire drain timed out");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the last acks
  const double upPerReport = double(proxy.bytesToTarget()) / wireN;
  const double downPerReport = double(proxy.bytesFromTarget()) / wireN;

  double p50 = percentile(enq, 50), p99 = percentile(enq, 99);
  double rp50 = percentile(raw, 50), rp99 = percentile(raw, 99);
  std::printf("\nenqueue latency (status through the local API, committed with synchronous=FULL)\n");
  std::printf("  agent:      p50 %.3f ms   p99 %.3f ms   (%d requests)\n", p50, p99, enqueueN);
  std::printf("  raw SQLite: p50 %.3f ms   p99 %.3f ms   (one-row FULL commits, same disk)\n", rp50, rp99);
  std::printf("drain of %d AVL + %d statuses to a committing backend (window %d)\n", avl, statuses, window);
  std::printf("  agent:      %.2f s, %.0f events/s  (backend stored %lld events), from the link back; the reconnect "
              "took %.2f s\n",
              drainSecs, drainRate, stored, reconnectSecs);
  std::printf("  raw mosquitto QoS 1, one connection: %.0f messages/s   ratio %.2f\n", rawRate, drainRate / rawRate);
  std::printf("bytes on the wire per AVL report (%d reports, connect and subscribe included)\n", wireN);
  std::printf("  one report alone: protobuf envelope %.1f B; uplink %.1f B per report, the backlog in batches "
              "(link.avl_batch, MQTT framing included: %.0f %% of one envelope); downlink %.1f B (PUBACKs and commit "
              "acks)\n",
              protobufBytes, upPerReport, 100 * upPerReport / protobufBytes, downPerReport);
  std::printf("agent resources\n");
  std::printf("  draining:   CPU %.2f s for %.2f s (%.0f%% of one core), peak RSS %.1f MB\n",
              after.cpuSeconds - before.cpuSeconds, drainSecs, 100 * (after.cpuSeconds - before.cpuSeconds) / drainSecs,
              double(peakRss) / 1024);
  std::printf("  idle online: CPU %.3f s in 5 s (%.2f%%), RSS %.1f MB\n", idle1.cpuSeconds - idle0.cpuSeconds,
              100 * (idle1.cpuSeconds - idle0.cpuSeconds) / 5, double(idle1.rssKb) / 1024);

  if (!jsonPath.empty()) {
    std::ofstream j(jsonPath);
    j << "{\n"
      << "  \"enqueue_p50_ms\": " << p50 << ",\n  \"enqueue_p99_ms\": " << p99 << ",\n"
      << "  \"raw_sqlite_commit_p50_ms\": " << rp50 << ",\n  \"raw_sqlite_commit_p99_ms\": " << rp99 << ",\n"
      << "  \"drain_events\": " << (avl + statuses) << ",\n  \"drain_seconds\": " << drainSecs << ",\n"
      << "  \"reconnect_seconds\": " << reconnectSecs << ",\n"
      << "  \"drain_events_per_s\": " << drainRate << ",\n  \"raw_mosquitto_qos1_per_s\": " << rawRate << ",\n"
      << "  \"drain_ratio_to_raw\": " << drainRate / rawRate << ",\n  \"window\": " << window << ",\n"
      << "  \"drain_cpu_s\": " << (after.cpuSeconds - before.cpuSeconds) << ",\n"
      << "  \"drain_peak_rss_kb\": " << peakRss << ",\n"
      << "  \"idle_cpu_percent\": " << 100 * (idle1.cpuSeconds - idle0.cpuSeconds) / 5 << ",\n"
      << "  \"idle_rss_kb\": " << idle1.rssKb << ",\n"
      << "  \"avl_protobuf_bytes\": " << protobufBytes << ",\n"
      << "  \"avl_uplink_wire_bytes\": " << upPerReport << ",\n"
      << "  \"avl_downlink_wire_bytes\": " << downPerReport << "\n}\n";
    std::cerr << "bench: wrote " << jsonPath << "\n";
  }
  return 0;
}
