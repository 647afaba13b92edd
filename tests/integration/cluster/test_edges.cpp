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

/** An edge broker: mosquitto with the config broker-config --edge writes. */
struct Edge {
  std::string name, uri;
  std::unique_ptr<Process> broker;
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
  return e;
}

}  // namespace

TEST_CASE("vehicles on two edges bridged into the cluster: kill -9 of an edge moves its vehicles to the other, every "
          "event stored once, downlinks still arrive",
          "[cluster][edges]") {
  RabbitCluster cluster = RabbitCluster::ofTestGroup();
  auto pg = PgServer::ofTestGroup();
  const std::string store = pg.freshDatabase();
  TempDir dir;
  const std::string run = uniqueRun("e");
  const std::string queue = "cad.ingest." + run;
  const std::vector<std::string> edgeNames = {"edge1-" + run, "edge2-" + run};
  // The run's ingest queue and the bridges' sessions on the cluster go when it ends.
  ClusterRunGuard guard(cluster, {queue, "mqtt-subscription-mdc-edge-" + edgeNames[0] + "qos1",
                                  "mqtt-subscription-mdc-edge-" + edgeNames[1] + "qos1"});

  // The fleet CA: a test PKI's, adopted as broker-config's.
  std::filesystem::create_directories(dir.file("pki"));
  TestPki pki(dir.file("pki"));
  const std::string caDir = dir.file("fleet-ca");
  std::filesystem::create_directories(caDir);
  REQUIRE(files::writeAtomic(caDir + "/ca.pem", *files::read(pki.caFile()), 0644).ok());
  REQUIRE(files::writeAtomic(caDir + "/ca.key", *files::read(pki.caKeyFile()), 0600).ok());

  // Workers first: each declares and binds the queue before anything arrives.
  auto worker = [&](const std::string& name, int node) {
    return stubOn(dir, cluster.mqttUri(node),
                  {.args = {"--mqtt-version", "3.1.1", "--client-id", name + "-" + run, "--amqp",
                            cluster.amqpUri(node) + "," + cluster.amqpUri(node == 1 ? 2 : 1), "--amqp-queue", queue},
                   .store = store,
                   .name = name,
                   .readyWithin = 60s});
  };
  auto a = worker("wa", 1), b = worker("wb", 2);

  std::vector<std::string> backbone;
  for (int n = 1; n <= RabbitCluster::kNodes; ++n) backbone.push_back(cluster.mqttUri(n));
  std::vector<Edge> edges;
  for (const auto& name : edgeNames) edges.push_back(startEdge(dir, caDir, name, backbone));
  const std::string edgeList = edges[0].uri + "," + edges[1].uri;

  const int kAgents = 8, kEach = 400;
  Agents agents;
  for (int i = 0; i < kAgents; ++i) {
    const std::string device = "EG-" + run + "-" + std::to_string(i), unit = "G" + std::to_string(i);
    const std::string agency = i % 2 ? "FD1" : "PD1";
    b->addDevice(device, unit, agency);
    const CertFiles cert = pki.clientCert(device);
    agents.push_back(std::make_unique<AgentProcess>(
        dir, device, unit, agency, edgeList,
        std::vector<std::string>{"--set", "tls.ca=" + pki.caFile(), "--set", "tls.cert=" + cert.certFile, "--set",
                                 "tls.key=" + cert.keyFile, "--set", "link.backoff_initial_ms=200"}));
    prefillOutbox(agents.back()->storePath(), device, unit, agency, kEach, 0);
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
