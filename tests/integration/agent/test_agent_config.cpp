// The agency's configuration from the dispatcher's side to the vehicle:
// `cadctl config set` on the stub, a sequenced downlink, the agent's store,
// its state (the status buttons the screen shows) and its AVL policy.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {
std::vector<int> buttons(const v1::AgentState& s) { return {s.statuses().begin(), s.statuses().end()}; }
}  // namespace

TEST_CASE("an agency's status buttons and AVL intervals reach the agent, also after an outage and a restart",
          "[agent][config]") {
  VehicleStack v("MDC-C1", "M4", "EMS1");
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  v.startAgentOnline();
  CHECK(agent.state().statuses_size() == 0);  // nothing configured: the screen shows the common set
  CHECK(agent.state().counters().at("avl_moving_interval_s") == 15);

  auto set = stub.cadctl({"--agency", "EMS1", "--as", "ops.lee", "config", "set", "--statuses",
                          "available,en-route,on-scene,transporting,at-hospital,returning,at-station,busy,staged,"
                          "out-of-service",
                          "--avl-moving", "5", "--avl-stationary", "30"});
  INFO(set.output);
  REQUIRE(set.exitCode == 0);
  CHECK(set.output.find("configuration of EMS1 sent to 1 units") != std::string::npos);
  const std::vector<int> ten = {v1::UNIT_STATUS_AVAILABLE,  v1::UNIT_STATUS_EN_ROUTE,   v1::UNIT_STATUS_ON_SCENE,
                                v1::UNIT_STATUS_TRANSPORTING, v1::UNIT_STATUS_AT_HOSPITAL, v1::UNIT_STATUS_RETURNING,
                                v1::UNIT_STATUS_AT_STATION, v1::UNIT_STATUS_BUSY,       v1::UNIT_STATUS_STAGED,
                                v1::UNIT_STATUS_OUT_OF_SERVICE};
  REQUIRE(waitUntil([&] { return buttons(agent.state()) == ten; }, 20s));
  auto st = agent.state();
  CHECK(st.counters().at("avl_moving_interval_s") == 5);
  CHECK(st.counters().at("avl_stationary_interval_s") == 30);
  CHECK(agent.mdcctl({"state"}).output.find("F10 OUT_OF_SERVICE") != std::string::npos);

  // A status from the new set goes through like any other.
  REQUIRE(agent.mdcctl({"status", "at-station"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  auto board = jsonArray(stub.cadctl({"board", "--json"}));
  REQUIRE(board.size() == 1);
  CHECK(board[0].toObject().value("status").toString() == "AT_STATION");

  // Changed while the vehicle is away: it learns on reconnect (resync), and
  // "default" gives back the device's own intervals.
  agent.stop();
  REQUIRE(stub.cadctl({"--agency", "EMS1", "--as", "ops.kim", "config", "set", "--statuses",
                       "available,en-route,on-scene,busy"})
              .exitCode == 0);
  agent.start();
  const std::vector<int> four = {v1::UNIT_STATUS_AVAILABLE, v1::UNIT_STATUS_EN_ROUTE, v1::UNIT_STATUS_ON_SCENE,
                                 v1::UNIT_STATUS_BUSY};
  REQUIRE(waitUntil([&] { return buttons(agent.state()) == four; }, 20s));
  CHECK(agent.state().counters().at("avl_moving_interval_s") == 15);

  // Kept in the store: a restart with the backend gone still shows the agency's set.
  stub.stop();
  agent.kill9();
  agent.start();
  CHECK(buttons(agent.state()) == four);

  // The dispatcher's view of it.
  auto shown = jsonArray(stub.cadctl({"config", "show", "--json"}));
  REQUIRE(shown.size() == 1);
  CHECK(shown[0].toObject().value("statuses").toArray().size() == 4);
  CHECK(shown[0].toObject().value("updated_by").toString() == "ops.kim");
}

TEST_CASE("cadctl config set refuses a bad list with the value named and sends nothing", "[agent][config]") {
  VehicleStack v("MDC-C2", "M5", "EMS1");
  auto& stub = v.stub;
  auto before = stub.eventCount();
  auto r = stub.cadctl({"--agency", "EMS1", "config", "set", "--statuses", "available,coffee"});
  CHECK(r.exitCode == 1);
  CHECK(r.output.find("statuses: \"coffee\" is not a status (available, en-route,") != std::string::npos);
  r = stub.cadctl({"--agency", "EMS1", "config", "set", "--statuses", "available", "--avl-moving", "fast"});
  CHECK(r.exitCode == 2);
  CHECK(r.output.find("--avl-moving \"fast\": expected a whole number 0-3600") != std::string::npos);
  CHECK(stub.eventCount() == before);
  CHECK(stub.cadctl({"config", "show"}).output.find("no agency configuration set") != std::string::npos);
}

TEST_CASE("a device moved to another unit by cadctl follows it without re-provisioning, also across a restart",
          "[agent][registry]") {
  VehicleStack v("MDC-M1", "E12", "FD1");
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  v.startAgentOnline();
  REQUIRE(agent.mdcctl({"status", "available"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));

  // Moved while online: the agent takes the new unit from the backend.
  auto r = stub.cadctl({"--agency", "FD1", "--as", "fleet", "devices", "move", "MDC-M1", "--unit", "E14"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().unit_id() == "E14"; }, 20s));
  // Its events go on being committed (the commit acks now name E14) and reach E14's row.
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  QJsonObject e14;
  for (const auto& u : jsonArray(stub.cadctl({"board", "--json"})))
    if (u.toObject().value("unit").toString() == "E14") e14 = u.toObject();
  CHECK(e14.value("status").toString() == "EN_ROUTE");
  CHECK(e14.value("device").toString() == "MDC-M1");
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp-2", "message", "E14", "you are E14 now"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().messages_size() == 1; }, 20s));
  CHECK(agent.state().messages(0).text() == "you are E14 now");

  // Moved again while the vehicle is off: it learns on reconnect, and keeps it after a restart.
  agent.stop();
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "fleet", "devices", "move", "MDC-M1", "--unit", "E16"}).exitCode == 0);
  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().unit_id() == "E16"; }, 20s));
  REQUIRE(agent.mdcctl({"status", "on-scene"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  agent.stop();
  agent.start();
  CHECK(agent.state().unit_id() == "E16");
  CHECK(agent.state().counters().at("committed") == 0);  // nothing left to send after the restart
  auto count = stub.cadctl({"events", "--json"});
  int stored = 0;
  for (const auto& e : jsonArray(count))
    if (e.toObject().value("kind").toString() == "status") ++stored;
  CHECK(stored == 3);  // each status once
}
