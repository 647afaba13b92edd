// Where the call is and who is near, through real processes: three vehicles
// parked around Times Square report their positions through mosquitto, the
// stub tells each who is near it, and each agent shows distance and bearing
// from its own fix.
#include <catch2/catch.hpp>

#include <QJsonDocument>
#include <QJsonObject>

#include <regex>
#include <utility>

#include "shared/wire/geo.h"
#include "shared/wire/clock.h"
#include "tests/support/mosquitto.h"
#include "tests/support/nmea_writer.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

constexpr double kLat = 40.75800, kLon = -73.98550;  // E12 parks here

std::pair<double, double> offsetM(double eastM, double northM) {
  double lat = 0, lon = 0;
  geo::offset(kLat, kLon, eastM, northM, lat, lon);
  return {lat, lon};
}

const v1::NearbyUnitView* find(const v1::AgentState& s, const std::string& unit) {
  for (const auto& u : s.nearby())
    if (u.unit_id() == unit) return &u;
  return nullptr;
}

long long nearbySent(const CadStub& stub) {
  auto r = stub.cadctl({"stats", "--json"});
  return QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).object().value("nearby_sent").toInteger(-1);
}

}  // namespace

TEST_CASE("each unit hears who is near and who is on its call, and a nearby emergency within seconds", "[nearby]") {
  BackendStack backend({}, {.args = {"--nearby-interval-s", "1", "--nearby-radius-m", "5000"}});
  TempDir& dir = backend.dir;
  CadStub& stub = backend.stub;
  const auto [e7Lat, e7Lon] = offsetM(300, 0);      // 300 m east
  const auto [l4Lat, l4Lon] = offsetM(0, -12000);   // 12 km south: not near
  const auto [p1Lat, p1Lon] = offsetM(-200, 100);   // near, but another agency
  stub.addDevice("MDC-E12", "E12", "FD1");
  stub.addDevice("MDC-E7", "E7", "FD1");
  stub.addDevice("MDC-L4", "L4", "FD1");
  stub.addDevice("MDC-P1", "P1", "PD1");
  AgentProcess& e12 = backend.addAgent("MDC-E12", "E12", "FD1", gpsParkedAt(dir, "e12", kLat, kLon));
  AgentProcess& e7 = backend.addAgent("MDC-E7", "E7", "FD1", gpsParkedAt(dir, "e7", e7Lat, e7Lon));
  AgentProcess& l4 = backend.addAgent("MDC-L4", "L4", "FD1", gpsParkedAt(dir, "l4", l4Lat, l4Lon));
  AgentProcess& p1 = backend.addAgent("MDC-P1", "P1", "PD1", gpsParkedAt(dir, "p1", p1Lat, p1Lon));
  for (auto* a : {&e12, &e7, &l4, &p1}) a->start();

  // E12 hears of E7 (same agency, 300 m east), not of L4 (12 km) nor P1 (another agency).
  REQUIRE(waitUntil([&] { auto s = e12.state(); return find(s, "E7") != nullptr && s.gps().has_fix(); }, 30s));
  {
    const v1::AgentState s = e12.state();
    CHECK(s.nearby_radius_m() == 5000);
    CHECK(s.nearby_size() == 1);
    CHECK(find(s, "L4") == nullptr);
    CHECK(find(s, "P1") == nullptr);
    const auto* u = find(s, "E7");
    CHECK(u->distance_m() == Approx(300).margin(5));
    CHECK(u->bearing_deg() == Approx(90).margin(1));
    CHECK_FALSE(u->on_same_call());
    CHECK(s.nearby_at_ms() > 0);
  }
  const v1::AgentState e7state = e7.state();
  REQUIRE(find(e7state, "E12") != nullptr);
  CHECK(find(e7state, "E12")->bearing_deg() == Approx(270).margin(1));

  // A call 1 km north: E12 and L4 assigned. E12 sees where it is, and L4 as on its call, 12 km away.
  const auto [cLat, cLon] = offsetM(0, 1000);
  auto created = stub.cadctl({"--agency", "FD1", "--as", "disp-7", "create-cfs", "--type", "FSTRU",
                              "--priority", "1", "--address", "1560 Broadway", "--lat", std::to_string(cLat),
                              "--lon", std::to_string(cLon)});
  INFO(created.output);
  REQUIRE(created.exitCode == 0);
  std::smatch m;
  REQUIRE(std::regex_search(created.output, m, std::regex("[0-9]{4}-[0-9]+")));
  const std::string incident = m.str();
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp-7", "assign", incident, "E12", "--force"}).exitCode == 0);
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp-7", "assign", incident, "L4", "--force"}).exitCode == 0);
  REQUIRE(e7.mdcctl({"status", "available"}).exitCode == 0);
  REQUIRE(l4.mdcctl({"status", "en-route", "--incident", incident}).exitCode == 0);
  REQUIRE(waitUntil([&] {
    auto s = e12.state();
    return find(s, "L4") && find(s, "L4")->status() == v1::UNIT_STATUS_EN_ROUTE && find(s, "E7") &&
           find(s, "E7")->status() == v1::UNIT_STATUS_AVAILABLE && s.has_call();
  }, 20s));
  {
    const v1::AgentState s = e12.state();
    CHECK(s.call().incident_number() == incident);
    CHECK(s.call().from_fix());
    CHECK(s.call().distance_m() == Approx(1000).margin(5));
    CHECK(s.call().bearing_deg() == Approx(0).margin(1));
    const auto* l = find(s, "L4");
    CHECK(l->on_same_call());
    CHECK(l->incident_number() == incident);
    CHECK(l->distance_m() == Approx(12000).margin(20));
    CHECK(l->bearing_deg() == Approx(180).margin(1));
    CHECK(s.nearby(0).unit_id() == "E7");  // nearest first
  }
  auto text = e12.mdcctl({"state"});
  INFO(text.output);
  CHECK(text.output.find("call        " + incident + " 1.0 km N (0") != std::string::npos);
  CHECK(text.output.find("E7 AVAILABLE 300 m E") != std::string::npos);
  CHECK(text.output.find("L4 EN_ROUTE 12 km S (this call)") != std::string::npos);

  // Quiet: once the changes above have reached everyone (each unit at most
  // once a second here), nothing changes, so nobody is told again (the 30 s
  // refresh aside).
  long long before = nearbySent(stub);
  REQUIRE(before > 0);
  REQUIRE(waitUntil([&] {
    std::this_thread::sleep_for(2s);
    const long long now = nearbySent(stub);
    return std::exchange(before, now) == now;
  }, 20s));
  std::this_thread::sleep_for(4s);
  CHECK(nearbySent(stub) == before);

  // E7 presses the emergency button: E12 (300 m) knows within a few seconds; L4 (12 km, not near) does not.
  REQUIRE(e7.mdcctl({"emergency"}).exitCode == 0);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { auto s = e12.state(); return find(s, "E7") && find(s, "E7")->emergency(); }, 10s));
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO("emergency reached the nearby unit after " << seconds << " s");
  CHECK(seconds < 3.0);
  CHECK(find(l4.state(), "E7") == nullptr);
  CHECK(e12.log().find("nearby unit E7 has an active emergency") != std::string::npos);
  REQUIRE(e7.mdcctl({"emergency", "--clear"}).exitCode == 0);
  REQUIRE(waitUntil([&] { auto s = e12.state(); return find(s, "E7") && !find(s, "E7")->emergency(); }, 10s));
}

TEST_CASE("the distance to the call follows the vehicle as it drives, with nothing else happening", "[nearby]") {
  BackendStack backend;
  TempDir& dir = backend.dir;
  CadStub& stub = backend.stub;
  stub.addDevice("MDC-E21", "E21", "FD1");
  // North at 15 m/s, from 2 km south of the call.
  const std::string log = dir.file("drive.nmea");
  nmea::writeLog(log, SystemClock::instance().nowMs(), 600,
                 [](int s) { auto p = offsetM(0, -2000 + 15.0 * s); return p; }, 29.2);
  AgentProcess& agent =
      backend.addAgent("MDC-E21", "E21", "FD1", {"--set", "gps.source=replay", "--set", "gps.replay_file=" + log});
  agent.start();
  auto created = stub.cadctl({"--agency", "FD1", "--as", "disp-7", "create-cfs", "--type", "SICK", "--priority",
                              "2", "--address", "Times Square", "--lat", std::to_string(kLat), "--lon",
                              std::to_string(kLon)});
  std::smatch m;
  REQUIRE(std::regex_search(created.output, m, std::regex("[0-9]{4}-[0-9]+")));
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp-7", "assign", m.str(), "E21", "--force"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().call().from_fix(); }, 20s));
  // Subscribed: the states the agent pushes by itself while the vehicle drives.
  auto c = agent.client();
  v1::ApiRequest sub;
  sub.mutable_subscribe();
  REQUIRE(c->call(sub).ok());
  std::vector<std::pair<int64_t, uint32_t>> distances;  // (agent's clock, distance)
  const auto until = std::chrono::steady_clock::now() + 4s;
  while (std::chrono::steady_clock::now() < until) {
    auto msg = c->next(1500ms);
    REQUIRE(msg);
    if (msg->has_state() && msg->state().call().from_fix())
      distances.emplace_back(msg->state().now_ms(), msg->state().call().distance_m());
  }
  INFO("pushed distances: " << distances.size());
  REQUIRE(distances.size() >= 3);  // about one a second: every 15 m driven
  const double seconds = double(distances.back().first - distances.front().first) / 1000.0;
  const double closedM = double(distances.front().second) - double(distances.back().second);
  INFO(closedM << " m closed in " << seconds << " s");
  REQUIRE(seconds >= 2.0);
  CHECK(closedM / seconds == Approx(15.0).margin(6.0));  // the vehicle's speed, within a fix's interval
  CHECK(agent.state().call().bearing_deg() == Approx(0).margin(1));
}
