// Two cad-stub workers taking the ingest from one durable quorum queue on the
// RabbitMQ cluster over AMQP, both writing one PostgreSQL store (the test
// group's server). One worker is killed between a commit and its
// acknowledgement to the queue: the other carries on with what the queue
// delivers again, and nothing is lost or stored twice.
#include <catch2/catch.hpp>

#include <cstdio>
#include <memory>

#include "tests/integration/cluster/cluster_fleet.h"
#include "tests/support/pg_server.h"
#include "tests/support/rabbit_cluster.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

long long statsValue(const CadStub& stub, const std::string& key) {
  const std::string out = stub.cadctl({"stats"}).output;
  const auto at = out.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1;
  return std::atoll(out.c_str() + at + key.size() + 4);
}

}  // namespace

TEST_CASE(
    "kill -9 of one stub worker between a commit and its ack to the queue: the other carries on, every event "
    "stored once",
    "[cluster][workers]") {
  RabbitCluster cluster = RabbitCluster::ofTestGroup();
  auto pg = PgServer::ofTestGroup();
  const std::string store = pg.freshDatabase();
  TempDir dir;
  const std::string run = uniqueRun("w");
  const std::string queue = "cad.ingest." + run;
  ClusterRunGuard guard(cluster, queue);
  // Each worker consumes the queue and publishes its acks and downlinks
  // through a node of its own (over AMQP).
  auto worker = [&](const std::string& name, int node, std::vector<std::pair<std::string, std::string>> env) {
    return stubOn(dir, cluster.mqttUri(node),
                  {.args = {"--mqtt-version", "3.1.1", "--client-id", name + "-" + run, "--amqp",
                            cluster.amqpUri(node) + "," + cluster.amqpUri(node == 1 ? 2 : 1), "--amqp-queue", queue},
                   .env = std::move(env),
                   .store = store,
                   .name = name,
                   .readyWithin = 60s});
  };
  // The queue exists (each worker declares it) before any device connects.
  auto a = worker("wa", 1, {{"CAD_STUB_FAULT", "kill-before-ack:5"}}), b = worker("wb", 2, {});

  const int kAgents = 6, kEach = 1000;
  Agents agents;
  for (int i = 0; i < kAgents; ++i) {
    const std::string device = "WK-" + run + "-" + std::to_string(i), unit = "W" + std::to_string(i);
    b->addDevice(device, unit, i % 2 ? "FD1" : "PD1");
    agents.push_back(std::make_unique<AgentProcess>(
        dir, device, unit, i % 2 ? "FD1" : "PD1", cluster.brokerList(),
        std::vector<std::string>{"--set", "link.mqtt_version=3.1.1", "--set", "link.backoff_initial_ms=200"}));
    prefillOutbox(agents.back()->storePath(), device, unit, i % 2 ? "FD1" : "PD1", kEach, 0);
  }
  for (auto& ag : agents) ag->start();

  // Worker A kills itself after its 5th commit, before acknowledging it,
  // with the drain under way.
  REQUIRE(waitUntil([&] { return !a->running(); }, 120s));
  CHECK_THAT(a->log(), Catch::Contains("killed after committing"));
  {
    int before = 0;
    eventsOfKind(*b, "status", before);
    INFO("statuses stored when worker A was killed: " << before);
    CHECK(before < kAgents * kEach / 2);  // mid-drain
  }
  const auto killedAt = std::chrono::steady_clock::now();

  const bool done = drained(agents, 240s, {b.get()});
  REQUIRE(done);
  const double drainS = std::chrono::duration<double>(std::chrono::steady_clock::now() - killedAt).count();
  const long long redelivered = statsValue(*b, "redelivered");
  std::printf("workers: the rest of the drain took %.1f s after worker A was killed; worker B was delivered %lld "
              "messages again\n",
              drainS, redelivered);
  // What A committed but never acknowledged came to B again, and was
  // recognised as stored.
  CHECK(redelivered > 0);
  CHECK(statsValue(*b, "duplicates") > 0);

  int statuses = 0;
  const auto seen = eventsOfKind(*b, "status", statuses);
  CHECK(statuses == kAgents * kEach);
  CHECK(seen.size() == size_t(kAgents * kEach));
  CHECK(b->cadctl({"verify"}).exitCode == 0);

  // The way back is AMQP too: the worker has no MQTT connection, so every
  // commit ack above came through amq.topic, and so does a message.
  CHECK_THAT(b->log(), Catch::Contains("publishing downlinks on"));
  CHECK_THAT(b->log(), !Catch::Contains("connected to tcp://"));
  REQUIRE(b->cadctl({"message", "--agency", "PD1", "W0", "over AMQP"}).exitCode == 0);
  CHECK(waitUntil(
      [&] {
        const auto st = agents[0]->state();
        return st.messages_size() > 0 && st.messages(0).text() == "over AMQP";
      },
      30s));
}
