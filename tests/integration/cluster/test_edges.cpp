// Vehicles on edge brokers: two mosquitto edges, each configured by cadctl
// broker-config --edge (TLS with a certificate per device, the per-device
// ACL) and bridged into the RabbitMQ cluster's durable ingest queue; two
// stub workers on PostgreSQL. An edge is killed with SIGKILL mid-drain: its
// vehicles move to the other edge, nothing is lost or stored twice, and a
// downlink still finds its vehicle.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <QJsonArray>
#include <QJsonObject>
#include <csignal>

#include "server-stub/service/broker_config.h"
#include "shared/infra/files.h"
#include "tests/integration/cluster/cluster_fleet.h"
#include "tests/support/pg_server.h"
#include "tests/support/process.h"
#include "tests/support/rabbit_cluster.h"
#include "tests/support/test_pki.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

/** An edge broker: mosquitto with the config broker-config --edge writes,
 *  and its liveness watch (cad-edge-watch). */
struct Edge {
  std::string name, uri;
  std::unique_ptr<Process> broker, watch;
};

Edge startEdge(const TempDir& dir, const std::string& caDir, const std::string& name,
               const std::vector<std::string>& backbone) {
  Edge e;
  e.name = name;
  cad::BrokerConfigOptions o;
  o.outFile = dir.file(name + "/mosquitto.conf");
  o.port = freeLoopbackPort();
  o.bind = "127.0.0.1";
  o.caDir = caDir;
  o.fleetSize = 100;
  o.edgeName = name;
  o.bridgeTo = backbone;
  auto files = cad::writeBrokerConfig(o);
  REQUIRE(files.ok());
  e.uri = "ssl://127.0.0.1:" + std::to_string(o.port);
  e.broker = std::make_unique<Process>(std::vector<std::string>{"mosquitto", "-c", o.outFile}, dir.file(name + ".log"));
  REQUIRE(waitForTcp(o.port, 10000));
  e.watch = std::make_unique<Process>(
      std::vector<std::string>{program("server-stub/cad-edge-watch"), "--broker", e.uri, "--edge", name, "--tls-ca",
                               caDir + "/ca.pem", "--tls-cert", files->stubCert, "--tls-key", files->stubKey},
      dir.file(name + "-watch.log"));
  return e;
}

/** Two stub workers on PostgreSQL taking one run's ingest queue, and two
 *  edges bridged into the cluster, with a fleet CA of the test PKI's. */
struct EdgeCity {
  RabbitCluster cluster = RabbitCluster::ofTestGroup();
  PgServer pg = PgServer::ofTestGroup();
  const std::string store = pg.freshDatabase();
  TempDir dir;
  const std::string run;
  const std::string queue = "cad.ingest." + run;
  const std::vector<std::string> edgeNames = {"edge1-" + run, "edge2-" + run};
  // The run's ingest queue and the bridges' sessions on the cluster go when it ends.
  ClusterRunGuard guard{cluster, {queue, "mqtt-subscription-mdc-edge-" + edgeNames[0] + "qos1",
                                  "mqtt-subscription-mdc-edge-" + edgeNames[1] + "qos1"}};
  std::unique_ptr<TestPki> pki;
  std::unique_ptr<CadStub> a, b;
  std::vector<Edge> edges;
  std::string edgeList;

  explicit EdgeCity(const std::string& prefix) : run(uniqueRun(prefix)) {
    std::filesystem::create_directories(dir.file("pki"));
    pki = std::make_unique<TestPki>(dir.file("pki"));
    const std::string caDir = dir.file("fleet-ca");
    std::filesystem::create_directories(caDir);
    REQUIRE(files::writeAtomic(caDir + "/ca.pem", *files::read(pki->caFile()), 0644).ok());
    REQUIRE(files::writeAtomic(caDir + "/ca.key", *files::read(pki->caKeyFile()), 0600).ok());
    // Workers first: each declares and binds the queue before anything arrives.
    a = worker("wa", 1);
    b = worker("wb", 2);
    std::vector<std::string> backbone;
    for (int n = 1; n <= RabbitCluster::kNodes; ++n) backbone.push_back(cluster.mqttUri(n));
    for (const auto& name : edgeNames) edges.push_back(startEdge(dir, caDir, name, backbone));
    edgeList = edges[0].uri + "," + edges[1].uri;
  }

  std::unique_ptr<CadStub> worker(const std::string& name, int node) {
    return stubOn(dir, cluster.mqttUri(node),
                  {.args = {"--mqtt-version", "3.1.1", "--client-id", name + "-" + run, "--amqp",
                            cluster.amqpUri(node) + "," + cluster.amqpUri(node == 1 ? 2 : 1), "--amqp-queue", queue},
                   .store = store,
                   .name = name,
                   .readyWithin = 60s});
  }

  /** Agent i of the run on the edges (not started), registered as unit G<i>. */
  std::unique_ptr<AgentProcess> agent(int i) {
    const std::string device = deviceOf(i), unit = unitOf(i);
    b->addDevice(device, unit, agencyOf(i));
    const CertFiles cert = pki->clientCert(device);
    return std::make_unique<AgentProcess>(
        dir, device, unit, agencyOf(i), edgeList,
        std::vector<std::string>{"--set", "tls.ca=" + pki->caFile(), "--set", "tls.cert=" + cert.certFile, "--set",
                                 "tls.key=" + cert.keyFile, "--set", "link.backoff_initial_ms=200"});
  }
  std::string deviceOf(int i) const { return "EG-" + run + "-" + std::to_string(i); }
  static std::string unitOf(int i) { return "G" + std::to_string(i); }
  static std::string agencyOf(int i) { return i % 2 ? "FD1" : "PD1"; }
};


}  // namespace

TEST_CASE("vehicles on two edges bridged into the cluster: kill -9 of an edge moves its vehicles to the other, every "
          "event stored once, downlinks still arrive",
          "[cluster][edges]") {
  EdgeCity city("e");
  auto& a = city.a;
  auto& b = city.b;
  auto& edges = city.edges;
  const int kAgents = 8, kEach = 400;
  Agents agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(city.agent(i));
    prefillOutbox(agents.back()->storePath(), city.deviceOf(i), EdgeCity::unitOf(i), EdgeCity::agencyOf(i),
                  kEach, 0);
  }
  for (auto& ag : agents) ag->start();
  REQUIRE(allOnline(agents, 60s));

  // The victim: the edge most vehicles are on, once the drain is under way.
  std::map<std::string, std::vector<int>> onEdge;
  for (int i = 0; i < kAgents; ++i) onEdge[agents[size_t(i)]->state().broker()].push_back(i);
  const size_t victim = onEdge[edges[0].uri].size() >= onEdge[edges[1].uri].size() ? 0 : 1;
  const std::vector<int> moved = onEdge[edges[victim].uri];
  INFO("vehicles on " << edges[victim].name << ": " << moved.size() << " of " << kAgents);
  REQUIRE_FALSE(moved.empty());
  REQUIRE(waitUntil([&] { return b->eventCount() > kAgents * kEach / 4; }, 120s));
  edges[victim].broker->kill9();
  const auto killedAt = std::chrono::steady_clock::now();

  // Its vehicles come online on the other edge.
  const std::string survivor = edges[1 - victim].uri;
  REQUIRE(waitUntil(
      [&] {
        for (int i : moved) {
          const auto st = agents[size_t(i)]->state();
          if (st.link() != v1::LINK_STATE_ONLINE || st.broker() != survivor) return false;
        }
        return true;
      },
      60s));
  const double movedS = std::chrono::duration<double>(std::chrono::steady_clock::now() - killedAt).count();

  const bool done = drained(agents, 240s, {a.get(), b.get()});
  REQUIRE(done);
  const double drainS = std::chrono::duration<double>(std::chrono::steady_clock::now() - killedAt).count();
  std::printf("edges: the %zu vehicles of the killed edge were online on the other within %.1f s; the drain ended "
              "%.1f s after the kill\n",
              moved.size(), movedS, drainS);

  int statuses = 0;
  const auto seen = eventsOfKind(*b, "status", statuses);
  CHECK(statuses == kAgents * kEach);
  CHECK(seen.size() == size_t(kAgents * kEach));
  CHECK(b->cadctl({"verify"}).exitCode == 0);

  // A downlink finds a moved vehicle through the surviving edge's bridge.
  const int target = moved.front();
  const std::string agency = target % 2 ? "FD1" : "PD1";
  REQUIRE(a->cadctl({"message", "--agency", agency, "G" + std::to_string(target), "through the edge"}).exitCode == 0);
  CHECK(waitUntil(
      [&] {
        const auto st = agents[size_t(target)]->state();
        for (const auto& m : st.messages())
          if (m.text() == "through the edge") return true;
        return false;
      },
      30s));
}

TEST_CASE("vehicles on edges: one frozen with its connection open is shown offline within 5 s by its edge's watch, "
          "online again when heard, and one whose connection dropped stays offline",
          "[cluster][edges][liveness]") {
  EdgeCity city("l");
  const int kAgents = 4;
  Agents agents;
  for (int i = 0; i < kAgents; ++i) agents.push_back(city.agent(i));
  for (auto& ag : agents) ag->start();
  REQUIRE(allOnline(agents, 60s));
  auto allShownOnline = [&] {
    for (int i = 0; i < kAgents; ++i)
      if (boardOnline(*city.a, EdgeCity::unitOf(i)) != true) return false;
    return true;
  };
  REQUIRE(waitUntil(allShownOnline, 30s));

  // Idle: only beats, which stay on the edges. Twice the limit later nobody
  // was reported silent.
  std::this_thread::sleep_for(8s);
  CHECK(allShownOnline());
  for (int i = 0; i < kAgents; ++i) CHECK(unitEventCount(*city.a, "registry.device_silent", EdgeCity::unitOf(i)) == 0);

  // Frozen: its connection stays open; its edge's watch stops hearing it.
  const auto frozenAt = std::chrono::steady_clock::now();
  ::kill(agents[0]->pid(), SIGSTOP);
  struct Thaw {
    pid_t pid;
    ~Thaw() { ::kill(pid, SIGCONT); }
  } thaw{agents[0]->pid()};
  REQUIRE(waitUntil([&] { return boardOnline(*city.b, EdgeCity::unitOf(0)) == false; }, 15s));
  const auto shownMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - frozenAt).count();
  std::printf("edges: a frozen vehicle was shown offline %lld ms after it froze\n", (long long)shownMs);
  CHECK(shownMs < 5000);
  CHECK(unitEventCount(*city.a, "registry.device_silent", EdgeCity::unitOf(0)) == 1);
  for (int i = 1; i < kAgents; ++i) CHECK(boardOnline(*city.a, EdgeCity::unitOf(i)) == true);

  // Thawed: heard again, shown online; a status still arrives.
  ::kill(agents[0]->pid(), SIGCONT);
  REQUIRE(waitUntil([&] { return boardOnline(*city.a, EdgeCity::unitOf(0)) == true; }, 20s));
  CHECK(agents[0]->mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agents[0]->outboxDepth() == 0; }, 20s));

  // Frozen, shown offline, then its connection drops and the broker sends
  // its will (as it does 1.5 keepalives after a freeze): the will is no sign
  // of life, it stays offline.
  ::kill(agents[1]->pid(), SIGSTOP);
  REQUIRE(waitUntil([&] { return boardOnline(*city.a, EdgeCity::unitOf(1)) == false; }, 15s));
  agents[1]->kill9();
  std::this_thread::sleep_for(10s);
  CHECK(boardOnline(*city.a, EdgeCity::unitOf(1)) == false);
  CHECK(unitEventCount(*city.a, "registry.device_silent", EdgeCity::unitOf(1)) == 1);
  CHECK(unitEventCount(*city.a, "registry.device_heard", EdgeCity::unitOf(1)) == 0);
  CHECK(boardOnline(*city.a, EdgeCity::unitOf(2)) == true);
  CHECK(city.a->cadctl({"verify"}).exitCode == 0);
}
