// mdc-agent on the MQTT tier of a city deployment: it speaks MQTT 3.1.1 as well
// as 5 (RabbitMQ's MQTT plugin speaks nothing newer), and it takes a list of a
// cluster's brokers and moves to the next when the one it is on fails. Real
// mosquitto processes; the failover test bridges two edge brokers to the one
// the backend is on, so a device may reach the backend through either (a test
// topology only: mosquitto's bridges are not high availability).
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <map>

#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

/** mosquitto's connect log line says which protocol a client spoke: "(p2, ..." is
 *  3.1.1, "(p5, ..." is 5. */
bool connectedWithProtocol(const Mosquitto& broker, const std::string& client, const std::string& p) {
  const std::string log = broker.log();
  return log.find(" as " + client + " (" + p + ",") != std::string::npos;
}

/** An edge broker that carries every topic both ways to and from the core broker. */
MosquittoOptions bridgedTo(const Mosquitto& core) {
  MosquittoOptions o;
  o.maxQueuedMessages = 100000;
  o.extraConfig =
      "connection to-core\n"
      "address 127.0.0.1:" +
      std::to_string(core.port()) +
      "\n"
      "topic # both 1\n"
      "bridge_protocol_version mqttv311\n"
      "cleansession false\n"
      "restart_timeout 1\n";
  return o;
}

}  // namespace

TEST_CASE("over MQTT 3.1.1 the agent delivers, receives from dispatch, and resumes its session after a restart",
          "[agent][link][mqtt311]") {
  MosquittoOptions mo;
  mo.maxQueuedMessages = 100000;
  VehicleStack v("MDC-V3", "E31", "FD1", mo, {"--set", "link.mqtt_version=3.1.1"});
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  prefillOutbox(agent.storePath(), "MDC-V3", "E31", "FD1", 300, 2000);
  agent.start();

  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 120s));
  CHECK(connectedWithProtocol(broker, "MDC-V3", "p2"));
  CHECK_FALSE(connectedWithProtocol(broker, "MDC-V3", "p5"));
  int statuses = 0;
  auto seen = eventsOfKind(stub, "status", statuses);
  CHECK(statuses == 300);
  CHECK(seen.size() == 300);
  int reports = 0;
  CHECK(eventsOfKind(stub, "avl", reports).size() == 2000);  // batched or not, each once
  CHECK(reports == 2000);

  // Dispatch reaches it; the subscription is acknowledged on 3.1.1 too.
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp", "message", "E31", "first"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().downlink_cursor() == 1; }, 20s));

  // Stopped, messaged while away, started: the persistent 3.1.1 session (clean
  // session 0) is resumed, and what came meanwhile arrives in order.
  agent.stop();
  for (int i = 0; i < 20; ++i)
    REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp", "message", "E31", "away " + std::to_string(i)}).exitCode ==
            0);
  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().downlink_cursor() == 21; }, 30s));
  CHECK(agent.state().messages_total() == 21);
  CHECK(agent.log().find("over MQTT 3.1.1 (session resumed)") != std::string::npos);
  CHECK(agent.state().counters().at("downlink_gaps") == 0);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
}

TEST_CASE("kill -9 of the broker a device is on, mid-drain: it moves to the next and every event is committed once",
          "[agent][link][failover][fault]") {
  const std::string version = GENERATE(std::string("5"), std::string("3.1.1"));
  INFO("link.mqtt_version " << version);
  MosquittoOptions co;
  co.maxQueuedMessages = 100000;
  BackendStack backend(co);  // the core broker, the stub on it
  Mosquitto& core = backend.broker;
  TempDir edgeADir, edgeBDir;  // a broker's config, database and log per directory
  Mosquitto edgeA(edgeADir, bridgedTo(core));
  Mosquitto edgeB(edgeBDir, bridgedTo(core));
  CadStub& stub = backend.stub;
  stub.addDevice("MDC-F", "E32", "FD1");
  const std::string list = edgeA.uri() + "," + edgeB.uri();
  // On the edges, not the stack's broker: an agent of its own.
  AgentProcess agent(backend.dir, "MDC-F", "E32", "FD1", list,
                     {"--set", "link.mqtt_version=" + version, "--set", "link.backoff_initial_ms=200"});
  const int kStatuses = 8000;
  prefillOutbox(agent.storePath(), "MDC-F", "E32", "FD1", kStatuses, 0);
  agent.start();

  REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 30s));
  const std::string first = agent.state().broker();
  REQUIRE((first == edgeA.uri() || first == edgeB.uri()));
  Mosquitto& on = first == edgeA.uri() ? edgeA : edgeB;
  const std::string other = first == edgeA.uri() ? edgeB.uri() : edgeA.uri();
  REQUIRE(waitUntil([&] { return stub.eventCount() > 1500; }, 60s));
  on.kill9();

  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 240s));
  const auto st = agent.state();
  CHECK(st.broker() == other);
  CHECK(st.counters().at("broker_failovers") >= 1);
  CHECK(st.link() == v1::LINK_STATE_ONLINE);
  int statuses = 0;
  auto seen = eventsOfKind(stub, "status", statuses);
  CHECK(statuses == kStatuses);
  CHECK(seen.size() == size_t(kStatuses));
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  const std::string log = agent.log();
  INFO(log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
  CHECK(log.find("moving from " + first + " to " + other) != std::string::npos);

  // Dispatch still reaches the device through the node it moved to.
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp", "message", "E32", "still there?"}).exitCode == 0);
  CHECK(waitUntil([&] { return agent.state().downlink_cursor() >= 1; }, 20s));
}

TEST_CASE("an agent that hears nothing back asks once for a fresh session, and drains once the broker lets it read",
          "[agent][link]") {
  // Everyone may publish and the backend may read what devices send; nobody
  // may read a down topic yet: mosquitto grants the device's subscription but
  // delivers nothing on it, so its commit acks never reach it.
  const std::string noDown = "topic read cad/v1/dev/+/up\ntopic read cad/v1/dev/+/presence\ntopic write cad/v1/#\n";
  MosquittoOptions mo;
  mo.acl = noDown;
  VehicleStack v("MDC-S", "E33", "FD1", mo, {"--set", "link.downlink_check_s=5", "--set", "link.ack_timeout_s=5"});
  TempDir& dir = v.dir;
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  prefillOutbox(agent.storePath(), "MDC-S", "E33", "FD1", 50, 0);
  agent.start();

  auto counter = [&](const char* name) { return agent.state().counters().at(name); };
  REQUIRE(waitUntil([&] { return counter("fresh_sessions") == 1; }, 60s));
  REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 20s));
  // The backend has what the device's first window carried; the device
  // cannot hear it say so, and with no ack its window does not grow.
  REQUIRE(waitUntil([&] { return stub.eventCount() >= 11; }, 20s));  // 10 and the device's registration
  // Three more timeouts (each sends the oldest again, alone: the backend
  // may only be slow), and still no second fresh session.
  const uint64_t timeoutsBefore = counter("ack_timeouts");
  REQUIRE(waitUntil([&] { return counter("ack_timeouts") >= timeoutsBefore + 3; }, 60s));
  CHECK(counter("fresh_sessions") == 1);  // once, until something comes down again
  CHECK(agent.outboxDepth() == 50);
  CHECK(agent.log().find("reconnecting with a fresh session") != std::string::npos);

  // The ACL mended and reloaded: what the backend sends now arrives.
  std::ofstream(dir.file("mosquitto.acl")) << noDown << "topic read cad/v1/dev/+/down\n";
  REQUIRE(::kill(broker.pid(), SIGHUP) == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 60s));
  int statuses = 0;
  CHECK(eventsOfKind(stub, "status", statuses).size() == 50);
  CHECK(statuses == 50);
}
