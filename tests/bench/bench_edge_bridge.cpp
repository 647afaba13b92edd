// bench_edge_bridge: an edge broker's bridge into the RabbitMQ cluster, on a
// cluster that `scripts/cluster.sh up --no-stub` started.
//   1. Uplinks: P device connections publish N QoS 1 messages (each device at
//      most 10 in flight) to an edge mosquitto whose bridge (cadctl
//      broker-config --edge's) forwards them to the cluster; a bare
//      subscriber on node 1 counts what arrives. Once per bridge setting
//      (max_inflight_messages / max_queued_messages), and once straight to
//      node 1 without an edge: the raw baseline of the same run.
//   2. Downlinks: every edge gets every downlink. D downlinks published on
//      node 1 reach 1, 2, 4 ... edges, each with a subscriber: the cluster's
//      and each edge's CPU per 1,000 downlinks, next to a subscriber on the
//      node itself.
// Prints the figures and writes them as JSON (--json FILE).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "server-stub/service/broker_config.h"
#include "shared/infra/files.h"
#include "shared/wire/clock.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/mqtt_load.h"
#include "tests/support/process.h"
#include "tests/support/rabbit_cluster.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"

using mdc::bench::MqttLoad;
using mdc::bench::percentile;
using mdc::bench::secondsSince;
using namespace mdc::test;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string clusterDir;
  int messages = 40000;
  int publishers = 200;
  int downlinks = 20000;
  std::vector<std::pair<int, long>> bridges = {{20, 1000}, {100, 1000000}, {1000, 1000000}};
  std::vector<int> edges = {1, 2, 4};
  std::string json;
};

const char* kHelp = R"(usage: bench_edge_bridge [options]
  --cluster-dir DIR   a cluster from scripts/cluster.sh up --no-stub (default $MDC_CLUSTER_DIR or /tmp/mdc-cluster)
  --messages N        uplinks per bridge setting (default 40000)
  --publishers N      device connections publishing them (default 200)
  --bridge I:Q,...    bridge settings: max_inflight_messages:max_queued_messages
                      (default 20:1000,100:1000000,1000:1000000; the first is mosquitto's default)
  --downlinks N       downlinks per fan-out (default 20000)
  --edges K,...       edges the downlinks fan out to (default 1,2,4)
  --json FILE         write the figures as JSON
)";

/** CPU seconds of the cluster's three nodes together. */
double clusterCpu(const RabbitCluster& c) {
  double s = 0;
  for (int n = 1; n <= RabbitCluster::kNodes; ++n)
    if (pid_t p = c.pid(n); p > 0) s += processUsage(p).cpuSeconds;
  return s;
}

/** An edge mosquitto with broker-config's bridge, on a plain loopback listener. */
struct Edge {
  std::string name;
  uint16_t port = 0;
  std::unique_ptr<Process> process;
  double cpu() const { return processUsage(process->pid()).cpuSeconds; }
};

std::unique_ptr<Edge> startEdge(const TempDir& dir, const RabbitCluster& cluster, const std::string& name,
                                int inflight, long queued) {
  auto e = std::make_unique<Edge>();
  e->name = name;
  e->port = freeLoopbackPort();
  std::vector<std::string> backbone;
  for (int n = 1; n <= RabbitCluster::kNodes; ++n) backbone.push_back(cluster.mqttUri(n));
  auto bridge = cad::bridgeSection(name, backbone, "");
  if (!bridge) throw std::runtime_error(bridge.error().message);
  std::ostringstream c;
  c << "per_listener_settings false\nallow_anonymous true\npersistence false\n"
    << "max_inflight_messages " << inflight << "\nmax_queued_messages " << queued << "\n"
    << "log_dest file " << dir.file(name + ".log") << "\nlistener " << e->port << " 127.0.0.1\n"
    << *bridge;
  const std::string conf = dir.file(name + ".conf");
  if (!mdc::files::writeAtomic(conf, c.str(), 0644)) throw std::runtime_error("cannot write " + conf);
  e->process = std::make_unique<Process>(std::vector<std::string>{"mosquitto", "-c", conf}, dir.file(name + ".out"));
  if (!waitForTcp(e->port, 10000)) throw std::runtime_error(name + " did not start");
  return e;
}

uint16_t portOf(const std::string& uri) { return uint16_t(std::stoi(uri.substr(uri.rfind(':') + 1))); }

struct UplinkFigures {
  std::string via;
  int inflight = 0;
  long queued = 0;
  size_t received = 0;
  double seconds = 0, rate = 0, pubackP50 = 0, pubackP99 = 0, edgeCpuMs = 0, clusterCpuMs = 0;
};

/** N uplinks from P connections on `port` to a subscriber on node 1. */
UplinkFigures uplinks(const Options& o, const RabbitCluster& cluster, uint16_t port, const std::string& run,
                      const Edge* edge) {
  UplinkFigures f;
  size_t received = 0;
  std::vector<double> pubackMs;
  MqttLoad load({.puback = [&](size_t, uint16_t, Clock::time_point sent) {
                   pubackMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
                 },
                 .message = [&](size_t, std::string_view topic, std::string_view) {
                   if (topic.find("/warmup-") == std::string_view::npos) ++received;
                 }});
  load.add(portOf(cluster.mqttUri(1)), "bench-sink-" + run, true, "cad/v1/dev/+/up");  // connection 0
  for (int i = 0; i < o.publishers; ++i) load.add(port, "bench-pub-" + run + "-" + std::to_string(i), true);
  if (load.connectAll(100, std::chrono::seconds(60), [](size_t) {}) != size_t(o.publishers) + 1)
    throw std::runtime_error("uplinks: not every connection came up");
  // Through once the bridge is connected and subscribed.
  {
    auto t0 = Clock::now();
    uint64_t before = load.stats().received;
    while (load.stats().received == before && secondsSince(t0) < 30) {
      load.publish(1, "cad/v1/dev/warmup-" + run + "/up", "x");
      for (int k = 0; k < 10 && load.stats().received == before; ++k) load.poll(20);
    }
    if (load.stats().received == before) throw std::runtime_error("uplinks: nothing came through the bridge");
    for (int k = 0; k < 50; ++k) load.poll(10);  // the rest of the warm-up
  }
  pubackMs.clear();
  received = 0;
  const double e0 = edge ? edge->cpu() : 0, c0 = clusterCpu(cluster);
  const std::string payload(120, 'u');
  const auto t0 = Clock::now();
  int sent = 0;
  while (received < size_t(o.messages) && secondsSince(t0) < 180) {
    for (int i = 0; i < o.publishers && sent < o.messages; ++i) {
      const size_t conn = size_t(i) + 1;
      if (load.inFlight(conn) >= 10) continue;
      if (load.publish(conn, "cad/v1/dev/BENCH-" + std::to_string(i) + "/up", payload)) ++sent;
    }
    load.poll(sent < o.messages ? 0 : 20);
  }
  f.seconds = secondsSince(t0);
  f.received = received;
  f.rate = double(received) / f.seconds;
  f.pubackP50 = percentile(pubackMs, 50);
  f.pubackP99 = percentile(pubackMs, 99);
  const double k = 1e6 / double(o.messages);
  f.edgeCpuMs = edge ? (edge->cpu() - e0) * k : 0;
  f.clusterCpuMs = (clusterCpu(cluster) - c0) * k;
  return f;
}

struct FanOutFigures {
  int edges = 0;
  double seconds = 0, clusterCpuMs = 0, edgeCpuMs = 0;  ///< per 1,000 downlinks; edgeCpuMs: all edges together
  size_t leastReceived = 0;
};

/** D downlinks published on node 1; each edge's subscriber (or one on node 1 when edges is empty) counts them. */
FanOutFigures fanOut(const Options& o, const RabbitCluster& cluster, const std::vector<std::unique_ptr<Edge>>& edges,
                     const std::string& run) {
  FanOutFigures f;
  f.edges = int(edges.size());
  std::vector<size_t> got(std::max<size_t>(1, edges.size()) + 1, 0);
  MqttLoad load({.puback = nullptr, .message = [&](size_t conn, std::string_view, std::string_view) { ++got[conn]; }});
  const size_t pub = load.add(portOf(cluster.mqttUri(1)), "bench-down-" + run, true);
  std::vector<size_t> sinks;
  if (edges.empty()) sinks.push_back(load.add(portOf(cluster.mqttUri(1)), "bench-dsink-" + run, true, "cad/v1/dev/+/down"));
  for (size_t i = 0; i < edges.size(); ++i)
    sinks.push_back(load.add(edges[i]->port, "bench-dsink-" + run + "-" + std::to_string(i), true, "cad/v1/dev/+/down"));
  if (load.connectAll(10, std::chrono::seconds(30), [](size_t) {}) != sinks.size() + 1)
    throw std::runtime_error("downlinks: not every connection came up");
  // Every sink hears a warm-up: each bridge is subscribed on the cluster.
  auto t0 = Clock::now();
  auto allHeard = [&] {
    for (size_t s : sinks)
      if (got[s] == 0) return false;
    return true;
  };
  while (!allHeard() && secondsSince(t0) < 30) {
    load.publish(pub, "cad/v1/dev/warmup-" + run + "/down", "x");
    for (int k = 0; k < 10 && !allHeard(); ++k) load.poll(20);
  }
  if (!allHeard()) throw std::runtime_error("downlinks: a bridge did not subscribe");
  for (int k = 0; k < 50; ++k) load.poll(10);
  for (size_t s : sinks) got[s] = 0;
  double e0 = 0;
  for (const auto& e : edges) e0 += e->cpu();
  const double c0 = clusterCpu(cluster);
  const std::string payload(80, 'd');
  t0 = Clock::now();
  int sent = 0;
  auto done = [&] {
    for (size_t s : sinks)
      if (got[s] < size_t(o.downlinks)) return false;
    return true;
  };
  while (!done() && secondsSince(t0) < 180) {
    while (sent < o.downlinks && load.inFlight(pub) < 100) {
      if (!load.publish(pub, "cad/v1/dev/BENCH-" + std::to_string(sent % 1000) + "/down", payload)) break;
      ++sent;
    }
    load.poll(sent < o.downlinks ? 0 : 20);
  }
  f.seconds = secondsSince(t0);
  f.leastReceived = size_t(o.downlinks);
  for (size_t s : sinks) f.leastReceived = std::min(f.leastReceived, got[s]);
  double e1 = 0;
  for (const auto& e : edges) e1 += e->cpu();
  const double k = 1e6 / double(o.downlinks);
  f.edgeCpuMs = (e1 - e0) * k;
  f.clusterCpuMs = (clusterCpu(cluster) - c0) * k;
  return f;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) out.push_back(part);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const char* envDir = std::getenv("MDC_CLUSTER_DIR");
  o.clusterDir = envDir ? envDir : "/tmp/mdc-cluster";
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        std::cout << kHelp;
        return 0;
      } else if (a == "--cluster-dir") o.clusterDir = next();
      else if (a == "--messages") o.messages = std::stoi(next());
      else if (a == "--publishers") o.publishers = std::stoi(next());
      else if (a == "--downlinks") o.downlinks = std::stoi(next());
      else if (a == "--json") o.json = next();
      else if (a == "--edges") {
        o.edges.clear();
        for (const auto& k : split(next())) o.edges.push_back(std::stoi(k));
      } else if (a == "--bridge") {
        o.bridges.clear();
        for (const auto& b : split(next())) {
          const auto colon = b.find(':');
          if (colon == std::string::npos) throw std::invalid_argument("--bridge \"" + b + "\": expected INFLIGHT:QUEUED");
          o.bridges.emplace_back(std::stoi(b.substr(0, colon)), std::stol(b.substr(colon + 1)));
        }
      } else {
        throw std::invalid_argument("unknown option \"" + a + "\"");
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_edge_bridge: " << e.what() << "\n" << kHelp;
    return 2;
  }
  if (o.messages < 1 || o.publishers < 1 || o.downlinks < 1) {
    std::cerr << "bench_edge_bridge: --messages, --publishers and --downlinks must be at least 1\n";
    return 2;
  }
  try {
    RabbitCluster cluster(o.clusterDir);
    TempDir dir("bench-edge");
    const std::string run = std::to_string(mdc::SystemClock::instance().nowMs() % 100000000);
    std::vector<std::string> sessions;  // the bridges' sessions on the cluster, deleted at the end
    std::vector<UplinkFigures> up;
    std::printf("bench_edge_bridge: %d uplinks from %d connections; %d downlinks; cluster %s\n", o.messages,
                o.publishers, o.downlinks, o.clusterDir.c_str());
    auto show = [](const UplinkFigures& f) {
      std::printf("  %-34s %6zu received in %6.2f s: %7.0f msg/s; PUBACK p50 %6.1f ms p99 %7.1f ms; CPU per 1,000: edge "
                  "%4.0f ms, cluster %5.0f ms\n",
                  f.via.c_str(), f.received, f.seconds, f.rate, f.pubackP50, f.pubackP99, f.edgeCpuMs, f.clusterCpuMs);
    };
    std::printf("uplinks (at most 10 in flight per device):\n");
    up.push_back(uplinks(o, cluster, portOf(cluster.mqttUri(1)), run + "r", nullptr));
    up.back().via = "raw: straight to node 1";
    show(up.back());
    int index = 0;
    for (const auto& [inflight, queued] : o.bridges) {
      const std::string name = "bench-up-" + run + "-" + std::to_string(index++);
      sessions.push_back("mqtt-subscription-mdc-edge-" + name + "qos1");
      auto edge = startEdge(dir, cluster, name, inflight, queued);
      up.push_back(uplinks(o, cluster, edge->port, run + std::to_string(index), edge.get()));
      up.back().via = "edge, inflight " + std::to_string(inflight) + ", queue " + std::to_string(queued);
      up.back().inflight = inflight;
      up.back().queued = queued;
      show(up.back());
    }
    std::vector<FanOutFigures> down;
    std::printf("downlinks (every edge gets every one):\n");
    auto showDown = [](const FanOutFigures& f) {
      std::printf("  %d edges: the last of them had %zu in %6.2f s; CPU per 1,000: cluster %5.0f ms, edges %5.0f ms\n",
                  f.edges, f.leastReceived, f.seconds, f.clusterCpuMs, f.edgeCpuMs);
    };
    down.push_back(fanOut(o, cluster, {}, run + "d0"));
    showDown(down.back());
    for (int k : o.edges) {
      std::vector<std::unique_ptr<Edge>> edges;
      for (int i = 0; i < k; ++i) {
        const std::string name = "bench-down-" + run + "-" + std::to_string(k) + "-" + std::to_string(i);
        sessions.push_back("mqtt-subscription-mdc-edge-" + name + "qos1");
        edges.push_back(startEdge(dir, cluster, name, cad::kBridgeInflight, 1000000));
      }
      down.push_back(fanOut(o, cluster, edges, run + "d" + std::to_string(k)));
      showDown(down.back());
    }
    for (const auto& s : sessions) {
      try {
        cluster.dropQueue(s);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
      }
    }
    if (!o.json.empty()) {
      std::ofstream j(o.json);
      j << "{\n  \"messages\": " << o.messages << ",\n  \"publishers\": " << o.publishers
        << ",\n  \"downlinks\": " << o.downlinks << ",\n  \"uplinks\": [";
      for (size_t i = 0; i < up.size(); ++i)
        j << (i ? "," : "") << "\n    {\"via\": \"" << up[i].via << "\", \"inflight\": " << up[i].inflight
          << ", \"queued\": " << up[i].queued << ", \"received\": " << up[i].received << ", \"msgs_per_s\": "
          << up[i].rate << ", \"puback_ms\": {\"p50\": " << up[i].pubackP50 << ", \"p99\": " << up[i].pubackP99
          << "}, \"cpu_ms_per_1000\": {\"edge\": " << up[i].edgeCpuMs << ", \"cluster\": " << up[i].clusterCpuMs
          << "}}";
      j << "\n  ],\n  \"downlink_fan_out\": [";
      for (size_t i = 0; i < down.size(); ++i)
        j << (i ? "," : "") << "\n    {\"edges\": " << down[i].edges << ", \"least_received\": "
          << down[i].leastReceived << ", \"seconds\": " << down[i].seconds << ", \"cpu_ms_per_1000\": {\"cluster\": "
          << down[i].clusterCpuMs << ", \"edges\": " << down[i].edgeCpuMs << "}}";
      j << "\n  ]\n}\n";
      std::printf("wrote %s\n", o.json.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_edge_bridge: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
