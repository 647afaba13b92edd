// The city-scale deployment: devices speaking MQTT 3.1.1 to a three-node
// RabbitMQ cluster (sessions on quorum queues), two stub workers taking the
// ingest from the queue over AMQP into one PostgreSQL store. The cluster is
// started once for this group by scripts/cluster.sh (a CTest fixture); a test
// that kills a node starts it again before it ends.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <memory>

#include "tests/integration/cluster/cluster_fleet.h"
#include "tests/support/pg_server.h"
#include "tests/support/rabbit_cluster.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

TEST_CASE(
    "kill -9 of a RabbitMQ node during a 20000-event drain from 10 agents: every event committed once, "
    "and the agents on that node move to another",
    "[cluster][failover]") {
  RabbitCluster cluster = RabbitCluster::ofTestGroup();
  TempDir dir;
  const std::string run = uniqueRun("r");
  ClusterRunGuard guard(cluster, "cad.ingest." + run);
  const std::string store = PgServer::ofTestGroup().freshDatabase();
  // Two workers, through nodes 2 and 3, each with the other nodes to fall
  // back on: the node killed below holds one of them. They declare the queue
  // first: RabbitMQ acknowledges a QoS 1 publish no queue takes, so the
  // ingest's queue must exist before any device connects.
  std::vector<std::unique_ptr<CadStub>> workers;
  for (int node : {2, 3}) {
    std::string mqtt, amqp;
    for (int n : {node, node % 3 + 1, (node + 1) % 3 + 1}) {
      mqtt += (mqtt.empty() ? "" : ",") + cluster.mqttUri(n);
      amqp += (amqp.empty() ? "" : ",") + cluster.amqpUri(n);
    }
    const std::string name = "w" + std::to_string(node);
    workers.push_back(stubOn(dir, mqtt,
                             {.args = {"--mqtt-version", "3.1.1", "--client-id", name + "-" + run, "--amqp", amqp,
                                       "--amqp-queue", "cad.ingest." + run},
                              .store = store,
                              .name = name,
                              .readyWithin = 60s}));
  }
  CadStub& stub = *workers.front();

  const int kAgents = 10, kEach = 2000;
  Agents agents;
  for (int i = 0; i < kAgents; ++i) {
    const std::string device = "CL-" + run + "-" + std::to_string(i), unit = "U" + std::to_string(i);
    stub.addDevice(device, unit, "FD1");
    agents.push_back(std::make_unique<AgentProcess>(
        dir, device, unit, "FD1", cluster.brokerList(),
        std::vector<std::string>{"--set", "link.mqtt_version=3.1.1", "--set", "link.backoff_initial_ms=200"}));
    prefillOutbox(agents.back()->storePath(), device, unit, "FD1", kEach, 0);
  }
  for (auto& a : agents) a->start();
  REQUIRE(allOnline(agents, 60s));

  // The victim: of nodes 2 and 3 (each holds a worker's connections), the
  // one most agents are on. Each device tries the nodes in an order its id hashes to.
  std::map<std::string, std::vector<int>> onNode;
  for (int i = 0; i < kAgents; ++i) onNode[agents[i]->state().broker()].push_back(i);
  const int victim = onNode[cluster.mqttUri(2)].size() >= onNode[cluster.mqttUri(3)].size() ? 2 : 3;
  const std::vector<int> moved = onNode[cluster.mqttUri(victim)];
  INFO("agents on node " << victim << ": " << moved.size());
  REQUIRE_FALSE(moved.empty());

  REQUIRE(waitUntil([&] { return stub.eventCount() > 3000; }, 120s));
  cluster.kill9(victim);
  const auto killedAt = std::chrono::steady_clock::now();

  std::vector<const CadStub*> stubs;
  for (auto& w : workers) stubs.push_back(w.get());
  const bool done = drained(agents, 280s, stubs);
  INFO("events in the stub: " << stub.eventCount());
  REQUIRE(done);
  const auto drainS = std::chrono::duration<double>(std::chrono::steady_clock::now() - killedAt).count();
  uint64_t failovers = 0, fresh = 0;
  for (auto& a : agents) {
    const auto c = a->state().counters();
    failovers += c.at("broker_failovers");
    fresh += c.at("fresh_sessions");
  }
  std::printf(
      "cluster: the rest of the drain took %.1f s after node %d was killed; %zu agents were on it; "
      "%llu moves to another node, %llu fresh sessions\n",
      drainS, victim, moved.size(), (unsigned long long)failovers, (unsigned long long)fresh);
  for (int i : moved) {
    const auto st = agents[i]->state();
    INFO("agent " << i);
    CHECK(st.broker() != cluster.mqttUri(victim));
    CHECK(st.counters().at("broker_failovers") >= 1);
  }

  int statuses = 0;
  const auto seen = eventsOfKind(stub, "status", statuses);
  CHECK(statuses == kAgents * kEach);
  CHECK(seen.size() == size_t(kAgents * kEach));
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  // The worker whose node died took the ingest again from another node.
  for (auto& w : workers) {
    INFO(w->log().substr(0, 4000));
    CHECK(w->running());
    CHECK(w->waitReady(30s));
  }
}
