// The fleet's health through real processes: each agent's presence carries
// its queue, GPS and certificate state; cadctl devices list shows it with
// what needs attention; the stub's metrics count the oldest downlink a
// device has not confirmed.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonObject>

#include <cctype>
#include <csignal>
#include <regex>
#include <thread>

#include "shared/wire/clock.h"
#include "tests/support/mosquitto.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

QJsonObject fleetRow(const CadStub& stub, const std::string& device, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"devices", "list", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  for (const auto& d : jsonArray(stub.cadctl(args)))
    if (d.toObject().value("device").toString().toStdString() == device) return d.toObject();
  return {};
}

QStringList attentionOf(const QJsonObject& row) {
  QStringList out;
  for (const auto& a : row.value("attention").toArray()) out << a.toString();
  return out;
}

}  // namespace

TEST_CASE("the fleet's health reaches the backend with each presence and cadctl devices list shows what needs "
          "attention", "[stub][fleet]") {
  const uint16_t port = freeLoopbackPort();
  VehicleStack v("MDC-0401", "E41", "FD1", {},
                 {"--set", "link.health_interval_s=5", "--set", "link.ack_timeout_s=2"},
                 {.args = {"--metrics-port", std::to_string(port)}});
  TempDir& dir = v.dir;
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  stub.addDevice("MDC-0402", "E42", "FD1");  // registered, never switched on
  v.startAgentOnline();

  // Online, no GPS configured: no fix; the queue empty; no certificate (tcp://).
  QJsonObject a;
  REQUIRE(waitUntil([&] { a = fleetRow(stub, "MDC-0401"); return a.value("health_at_ms").toInteger() > 0; }, 20s));
  CHECK(a.value("online").toBool());
  CHECK(a.value("agent_version").toString() == MDC_VERSION);
  CHECK(a.value("queue_depth").toInteger() == 0);
  CHECK_FALSE(a.value("gps_fix").toBool());
  CHECK(a.value("gps_no_fix_since_ms").toInteger() > 0);
  CHECK(a.value("cert_not_after_ms").toInteger() == 0);
  CHECK(attentionOf(a).isEmpty());
  const QJsonObject b = fleetRow(stub, "MDC-0402");
  CHECK(attentionOf(b) == QStringList{"NEVER-SEEN"});

  // The stub stops; the agent's statuses wait unacknowledged in its outbox,
  // and its presence says so when the stub reads it again. The presence goes
  // out again when the depth's power of ten changes (0 to 1-9 here), at most
  // every link.health_interval_s: it carries the depth of that moment, which
  // on a slow machine may be before the sixth status was pressed.
  stub.stop();
  for (int i = 0; i < 6; ++i) REQUIRE(agent.mdcctl({"status", i % 2 ? "en-route" : "on-scene"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.log().find("health changed: presence published again") != std::string::npos; },
                    20s));
  // paho sends it on a thread of its own: the broker's retained presence
  // says the depth before the agent is frozen.
  REQUIRE(waitUntil([&] {
    auto r = run({"mosquitto_sub", "-p", std::to_string(broker.port()), "-t", "cad/v1/dev/MDC-0401/presence", "-C", "1",
                  "-W", "3", "-F", "%x"},
                 dir, 10s);
    std::string bytes;
    for (size_t i = 0; i + 1 < r.output.size() && std::isxdigit((unsigned char)r.output[i]); i += 2)
      bytes.push_back(char(std::stoi(r.output.substr(i, 2), nullptr, 16)));
    v1::Envelope e;
    if (!e.ParseFromString(bytes) || !e.has_presence()) return false;
    for (const auto& q : e.presence().queue())
      if (q.count() > 0) return true;
    return false;
  }, 20s));
  // Frozen, the agent cannot drain (and clear the depth) before it is read.
  ::kill(agent.pid(), SIGSTOP);
  struct Thaw {
    pid_t pid;
    ~Thaw() { ::kill(pid, SIGCONT); }
  } thaw{agent.pid()};
  stub.start();
  REQUIRE(stub.waitReady());
  int64_t depth = 0;
  REQUIRE(waitUntil([&] { depth = fleetRow(stub, "MDC-0401", {"--deep-queue", "1"}).value("queue_depth").toInteger();
                          return depth > 0; }, 20s));
  CHECK(depth <= 6);
  const std::string d = std::to_string(depth);
  auto text = stub.cadctl({"devices", "list", "--deep-queue", d, "--attention"});
  INFO(text.output);
  CHECK(std::regex_search(text.output, std::regex("MDC-0401 +E41 +FD1 +" MDC_VERSION " +online .* " + d + " +- +NONE +QUEUE " + d)));
  CHECK(std::regex_search(text.output, std::regex("MDC-0402 +E42 +FD1 +- +OFF +never .*NEVER-SEEN")));
  CHECK(text.output.find("2 devices, 2 need attention") != std::string::npos);
  ::kill(agent.pid(), SIGCONT);
  // Drained, the next presence clears it.
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  REQUIRE(waitUntil([&] { return fleetRow(stub, "MDC-0401", {"--deep-queue", "5"}).value("queue_depth").toInteger() == 0; },
                    20s));

  // A message to the unit that was never switched on: the oldest unconfirmed downlink ages in the metrics.
  REQUIRE(stub.cadctl({"--agency", "FD1", "message", "E42", "Call the station when you come on"}).exitCode == 0);
  std::this_thread::sleep_for(1500ms);
  auto metrics = run({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) +
                                        "; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"}, dir).output;
  INFO(metrics);
  std::smatch m;
  REQUIRE(std::regex_search(metrics, m, std::regex("\ncad_downlink_oldest_unconfirmed_seconds ([0-9.]+)\n")));
  CHECK(std::stod(m[1]) >= 1.0);
  CHECK(std::stod(m[1]) < 60.0);
  CHECK_THAT(metrics, Catch::Contains("cad_devices_deep_queue 0\n"));
  CHECK_THAT(metrics, Catch::Contains("cad_devices_cert_expiring 0\n"));

  // Options are checked.
  CHECK(stub.cadctl({"devices", "list", "--silent-hours", "0"}).exitCode == 2);
  CHECK(stub.cadctl({"devices", "list", "--deep-queue", "many"}).exitCode == 2);
}
