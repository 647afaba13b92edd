// The vertical slice through real processes: mdc-agent -> mosquitto ->
// cad-stub -> commit ack -> the agent marks each action delivered.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <set>

#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

v1::ApiReply call(agent::ApiClient& c, v1::ApiRequest r) {
  auto reply = c.call(std::move(r));
  REQUIRE(reply.ok());
  return *reply;
}

v1::ApiRequest setStatus(v1::UnitStatus s) {
  v1::ApiRequest r;
  r.mutable_set_status()->set_status(s);
  return r;
}

// Event ids the backend holds, with how often each occurs.
std::map<std::string, int> backendEventIds(const CadStub& stub) {
  auto r = stub.cadctl({"events", "--json", "--limit", "1000000"});
  REQUIRE(r.exitCode == 0);
  auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(r.output));
  REQUIRE(doc.isArray());
  std::map<std::string, int> ids;
  for (const auto& e : doc.array()) ids[e.toObject().value("event_id").toString().toStdString()]++;
  return ids;
}

}  // namespace

TEST_CASE("an action travels agent -> broker -> stub and comes back delivered", "[slice]") {
  VehicleStack v("MDC-0001", "E12", "FD1");
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  agent.start();

  auto c = agent.client();
  auto status = call(*c, setStatus(v1::UNIT_STATUS_EN_ROUTE));
  REQUIRE(status.ok());
  CHECK(status.queued().lane() == v1::LANE_STATUS);
  v1::ApiRequest msg;
  msg.mutable_send_message()->set_text("on my way");
  auto message = call(*c, msg);
  REQUIRE(message.ok());
  CHECK(message.queued().lane() == v1::LANE_MESSAGE);
  v1::ApiRequest cfs;
  cfs.mutable_create_cfs()->set_cfs_type("TRAFFIC_STOP");
  auto* loc = cfs.mutable_create_cfs()->mutable_location();
  loc->set_lat(40.7128);
  loc->set_lon(-74.0060);
  loc->set_mode(v1::FIX_MODE_2D);
  auto selfCfs = call(*c, cfs);
  REQUIRE(selfCfs.ok());

  // Delivered means the backend committed it: the agent's outbox empties only
  // through commit acks.
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  auto st = agent.state();
  CHECK(st.status() == v1::UNIT_STATUS_EN_ROUTE);
  CHECK(st.status_delivery() == v1::DELIVERY_DELIVERED);
  int delivered = 0;
  for (const auto& a : st.recent_actions()) delivered += a.delivery() == v1::DELIVERY_DELIVERED;
  CHECK(delivered == 3);

  // The backend holds each of the three exactly once, plus the registration
  // and the birth presence; the self-initiated CFS got an incident number that
  // reached the screen.
  auto ids = backendEventIds(stub);
  for (const auto& id : {status.queued().event_id(), message.queued().event_id(), selfCfs.queued().event_id()}) {
    INFO("event " << id);
    CHECK(ids[id] == 1);
  }
  CHECK(stub.eventCount() == 5);
  REQUIRE(waitUntil([&] {
    const auto s = agent.state();
    for (const auto& a : s.recent_actions())
      if (a.kind() == "cfs" && a.detail().rfind("20", 0) == 0) return true;
    return false;
  }, 10s));
  auto board = stub.cadctl({"board", "--json"});
  auto units = QJsonDocument::fromJson(QByteArray::fromStdString(board.output)).array();
  REQUIRE(units.size() == 1);
  CHECK(units[0].toObject().value("status").toString() == "EN_ROUTE");
  CHECK(units[0].toObject().value("online").toBool());
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
}

TEST_CASE("actions queued while the backend is unreachable are all delivered once it returns", "[slice]") {
  MosquittoOptions o;
  o.persistence = true;  // the backend's session (its subscription) outlives a broker restart
  VehicleStack v("MDC-0002", "M7", "EMS", o);
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  broker.stop();  // the vehicle is in a dead zone

  agent.start();
  auto c = agent.client();
  const int kActions = 200;
  std::set<std::string> queued;
  for (int i = 0; i < kActions; ++i) {
    auto r = call(*c, setStatus(i % 2 ? v1::UNIT_STATUS_ON_SCENE : v1::UNIT_STATUS_EN_ROUTE));
    REQUIRE(r.ok());
    queued.insert(r.queued().event_id());
  }
  REQUIRE(queued.size() == size_t(kActions));
  CHECK(agent.outboxDepth() == kActions);
  CHECK(agent.state().status_delivery() == v1::DELIVERY_QUEUED);
  CHECK(stub.eventCount() == 1);  // only the registration

  broker.start();
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 15s));
  CHECK(agent.state().status_delivery() == v1::DELIVERY_DELIVERED);

  auto ids = backendEventIds(stub);
  int found = 0;
  for (const auto& id : queued) {
    INFO("event " << id);
    CHECK(ids[id] == 1);
    found += ids[id];
  }
  CHECK(found == kActions);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  CHECK(agent.mdcctl({"wait-synced", "--timeout", "1"}).exitCode == 0);
}

TEST_CASE("an emergency raised before the device is registered is held, then arrives once when it is registered",
          "[slice][held]") {
  BackendStack backend;
  CadStub& stub = backend.stub;
  AgentProcess& agent = backend.addAgent("MDC-NEW1", "E31", "FD1");  // not registered yet
  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 20s));

  REQUIRE(agent.mdcctl({"emergency"}).exitCode == 0);
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  // Refused (not registered): held, visible with the reason, nothing lost.
  auto heldNow = [&] {
    const v1::AgentState st = agent.state();
    auto it = st.counters().find("held_now");
    return it == st.counters().end() ? uint64_t(0) : it->second;
  };
  REQUIRE(waitUntil([&] { return heldNow() == 2; }, 10s));
  auto text = agent.mdcctl({"state"});
  CHECK_THAT(text.output, Catch::Contains("held") && Catch::Contains("is not registered"));
  CHECK(agent.outboxDepth() == 2);
  CHECK(stub.eventCount() == 0);
  std::this_thread::sleep_for(6s);  // its first retry is refused again: still held, still there
  CHECK(agent.outboxDepth() == 2);

  stub.addDevice("MDC-NEW1", "E31", "FD1");
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  auto events = stub.cadctl({"events", "--json", "--limit", "100"});
  auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(events.output));
  int emergencies = 0, statuses = 0;
  for (const auto& e : doc.array()) {
    const auto kind = e.toObject().value("kind").toString();
    emergencies += kind == "emergency";
    statuses += kind == "status";
  }
  CHECK(emergencies == 1);
  CHECK(statuses == 1);
  auto board = stub.cadctl({"board"});
  CHECK_THAT(board.output, Catch::Contains("EMERGENCY-UNACKED") && Catch::Contains("EN_ROUTE"));
  const v1::AgentState st = agent.state();
  for (const auto& a : st.recent_actions()) CHECK(a.delivery() == v1::DELIVERY_DELIVERED);
}
