// The responder's screen against the real agent, a real broker and the CAD
// stub: taps on the rendered QML go through the agent to the backend, and the
// backend's answers come back on screen.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <filesystem>
#include <optional>
#include <fstream>
#include <regex>

#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"
#include "mdc/self_test.h"
#include "shared/wire/geo.h"
#include "tests/ui/screen_harness.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

// Broker, backend stub and one vehicle's agent, all real processes.
struct Stack : BackendStack {
  explicit Stack(MosquittoOptions o = {}, std::string device = "MDC-0101", std::string unit = "E12",
                 std::string agency = "FD1", std::optional<std::pair<double, double>> parkedAt = std::nullopt)
      : BackendStack(o), device(device), unit(unit), agency(agency),
        agent(addVehicle(device, unit, agency,
                         parkedAt ? gpsParkedAt(dir, unit, parkedAt->first, parkedAt->second)
                                  : std::vector<std::string>{})) {
    agent.start();
  }
  QJsonObject boardUnit() const {
    auto r = stub.cadctl({"board", "--json"});
    for (const auto& u : QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).array())
      if (u.toObject().value("unit").toString().toStdString() == unit) return u.toObject();
    return {};
  }
  QJsonObject cfs(const std::string& incident) const {
    auto r = stub.cadctl({"cfs", "show", incident, "--json"});
    return QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).object();
  }
  /** Creates a CFS as a dispatcher and assigns this unit; returns its incident number. */
  std::string dispatch(const std::string& type, const std::string& address, const std::string& notes) {
    auto r = stub.cadctl({"--agency", agency, "--as", "disp-7", "create-cfs", "--type", type, "--priority", "1",
                          "--address", address, "--lat", "40.75800", "--lon", "-73.98550", "--notes", notes});
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.output, m, std::regex("[0-9]{4}-[0-9]+")));
    const std::string incident = m.str();
    auto a = stub.cadctl({"--agency", agency, "--as", "disp-7", "assign", incident, unit, "--force"});
    INFO(a.output);
    REQUIRE(a.exitCode == 0);
    return incident;
  }

  std::string device, unit, agency;
  AgentProcess& agent;
};

}  // namespace

TEST_CASE("tapping en route reaches the backend's board and the screen shows it delivered", "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  CHECK(screen.text("headerUnit") == "E12");
  CHECK_FALSE(screen.visible("agentDown"));

  REQUIRE(screen.tap("status_2"));  // En route
  REQUIRE(uiWaitUntil([&] { return screen.c.status.current() == v1::UNIT_STATUS_EN_ROUTE; }, 5s));
  REQUIRE(uiWaitUntil([&] { return screen.text("headerStatusDelivery", "delivery") == "delivered"; }, 20s));
  CHECK(screen.text("headerStatus") == "En route");
  CHECK(s.boardUnit().value("status").toString() == "EN_ROUTE");
  CHECK(screen.c.header.unsentActions() == 0);

  // F3 is the third button: on scene.
  QTest::keyClick(screen.window(), Qt::Key_F3);
  REQUIRE(uiWaitUntil([&] { return screen.c.status.current() == v1::UNIT_STATUS_ON_SCENE &&
                                   screen.c.status.delivery() == "delivered"; }, 20s));
  CHECK(s.boardUnit().value("status").toString() == "ON_SCENE");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("a dispatcher's assignment alerts on screen and acknowledging it reaches the backend", "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  const std::string incident = s.dispatch("FSTRU", "450 W 42nd St", "Smoke from 3rd floor");

  REQUIRE(uiWaitUntil([&] { return screen.visible("assignmentAlert"); }, 20s));
  CHECK(screen.c.assignment.incidentNumber().toStdString() == incident);
  CHECK(screen.c.assignment.address() == "450 W 42nd St");
  REQUIRE(screen.tap("alertAcknowledge"));
  CHECK(screen.window()->property("page").toString() == "assignment");
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.ackDelivery() == "delivered"; }, 20s));
  CHECK_FALSE(screen.visible("assignmentAlert"));
  CHECK(screen.text("assignmentAddress") == "450 W 42nd St");
  CHECK(screen.text("assignmentIncident").contains(QString::fromStdString(incident)));

  auto cfs = s.cfs(incident);
  bool acked = false;
  for (const auto& u : cfs.value("units").toArray())
    if (u.toObject().value("unit").toString() == "E12") acked = u.toObject().value("ack_at_ms").toInteger() > 0;
  CHECK(acked);
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("when the dispatcher closes the call the screen stops showing it as current and says why",
          "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  const std::string incident = s.dispatch("FSTRU", "450 W 42nd St", "Smoke from 3rd floor");
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.hasAssignment(); }, 20s));
  REQUIRE(screen.tap("alertAcknowledge"));
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.ackDelivery() == "delivered"; }, 20s));

  auto r = s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "close-cfs", incident});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return !screen.c.assignment.hasAssignment(); }, 20s));
  screen.showPage("assignment");
  CHECK(screen.visible("assignmentLastCleared"));
  CHECK(screen.text("assignmentLastCleared") == QString::fromStdString(incident + " FSTRU: closed by disp-7"));
  CHECK_FALSE(screen.visible("assignmentAlert"));
  screen.screenshot("assignment-closed-day");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("a new assignment sounds the chime when the sound is on, and is silent by default", "[ui][screen][sound]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  // ALSA's file PCM: the samples the responder would hear, written to a file.
  const std::string raw = s.dir.file("chime.raw");
  screen.c.alertTone.setDevice(QString::fromStdString("file:FILE=" + raw));
  QList<bool> outcomes;
  QObject::connect(&screen.c.alertTone, &ui::AlertTone::played, [&](bool ok, const QString&) { outcomes << ok; });

  CHECK_FALSE(screen.c.assignment.soundEnabled());
  s.dispatch("SICK", "12 Pine St", "Fall, conscious");
  REQUIRE(uiWaitUntil([&] { return screen.visible("assignmentAlert"); }, 20s));
  pump(300);
  CHECK_FALSE(std::filesystem::exists(raw));
  CHECK(outcomes.isEmpty());
  screen.c.assignment.dismissAlert();

  screen.c.assignment.setSoundEnabled(true);
  s.dispatch("FSTRU", "450 W 42nd St", "Smoke from 3rd floor");
  REQUIRE(uiWaitUntil([&] { return outcomes.size() == 1; }, 20s));
  CHECK(outcomes.first());
  CHECK(screen.visible("assignmentAlert"));
  // Every sample of the chime reached the device, in order.
  const std::vector<int16_t> chime = ui::AlertTone::chime();
  REQUIRE(std::filesystem::file_size(raw) == chime.size() * sizeof(int16_t));
  std::ifstream in(raw, std::ios::binary);
  std::vector<int16_t> written(chime.size());
  in.read(reinterpret_cast<char*>(written.data()), std::streamsize(written.size() * sizeof(int16_t)));
  CHECK(written == chime);
}

TEST_CASE("the agency's status buttons from cadctl replace the common set on screen, F1 to F10 in order",
          "[ui][screen][config]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  CHECK(screen.c.status.options()->rowCount() == 7);
  CHECK_FALSE(screen.visible("status_8"));
  auto r = s.stub.cadctl({"--agency", "FD1", "--as", "ops.lee", "config", "set", "--statuses",
                          "available,en-route,on-scene,transporting,at-hospital,returning,at-station,staged,busy,"
                          "out-of-service"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return screen.c.status.options()->rowCount() == 10; }, 20s));
  pump(100);
  for (int st : {8, 9, 10}) CHECK(screen.visible(QStringLiteral("status_%1").arg(st)));
  const auto* options = screen.c.status.options();
  CHECK(options->data(options->index(7), ui::StatusOptionsModel::LabelRole).toString() == "Staged");
  CHECK(options->data(options->index(9), ui::StatusOptionsModel::FunctionKeyRole).toString() == "F10");

  // F8 is the eighth button of the agency's list: staged.
  QTest::keyClick(screen.window(), Qt::Key_F8);
  REQUIRE(uiWaitUntil([&] { return screen.c.status.current() == v1::UNIT_STATUS_STAGED &&
                                   screen.c.status.delivery() == "delivered"; }, 20s));
  CHECK(s.boardUnit().value("status").toString() == "STAGED");
  REQUIRE(screen.tap("status_8"));  // At station
  REQUIRE(uiWaitUntil([&] { return screen.c.status.current() == v1::UNIT_STATUS_AT_STATION &&
                                   screen.c.status.delivery() == "delivered"; }, 20s));
  CHECK(s.boardUnit().value("status").toString() == "AT_STATION");
  for (bool night : {false, true}) {
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    screen.showPage("status");
    screen.screenshot(std::string("status-agency-buttons-") + (night ? "night" : "day"));
  }
  screen.window()->resize(1024, 768);
  screen.c.theme.setMode(ui::ThemeController::Day);
  screen.screenshot("status-agency-buttons-day-1024x768");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("a self-initiated CFS gets its incident number on screen", "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  REQUIRE(screen.tap("navCfs"));
  REQUIRE(screen.tap("cfsType_TSTOP"));
  // The agent has no GPS here: the responder types the location.
  screen.item("cfsLat")->setProperty("text", "40.71280");
  screen.item("cfsLon")->setProperty("text", "-74.00600");
  screen.item("cfsAddress")->setProperty("text", "Broadway & Chambers");
  REQUIRE(screen.tap("cfsCreate"));
  REQUIRE(uiWaitUntil([&] { return !screen.c.cfs.lastIncidentNumber().isEmpty(); }, 20s));
  const QString incident = screen.c.cfs.lastIncidentNumber();
  CHECK(screen.text("cfsIncident") == QStringLiteral("Incident %1").arg(incident));
  CHECK(screen.c.cfs.lastDelivery() == "delivered");
  auto cfs = s.cfs(incident.toStdString());
  CHECK(cfs.value("type").toString() == "TSTOP");
  CHECK(cfs.value("address").toString() == "Broadway & Chambers");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("the CFS page offers the agency's own call types, and a call of one carries its APCO code", "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  REQUIRE(screen.tap("navCfs"));
  CHECK(screen.item("cfsType_TSTOP") != nullptr);  // the default set first
  for (auto [code, label, apco] : {std::tuple{"HOUSE_CHECK", "House check", "WELFARE"},
                                   std::tuple{"DOOR_OPEN", "Door found open", "OPEN"},
                                   std::tuple{"TSTOP", "Traffic stop", "TSTOP"}}) {
    auto r = s.stub.cadctl({"--agency", s.agency, "--as", "ops.lee", "types", "add", code, "--label", label, "--apco", apco});
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
  }
  REQUIRE(uiWaitUntil([&] { return screen.c.cfs.typeCodes().size() == 3; }, 20s));
  CHECK(screen.c.cfs.typeCodes() == QStringList{"HOUSE_CHECK", "DOOR_OPEN", "TSTOP"});
  CHECK(screen.item("cfsType_PERSUSP") == nullptr);  // the default set is replaced, not extended
  CHECK(screen.text("cfsType_DOOR_OPEN") == "Door found open");
  screen.screenshot("cfs-agency-types-offered");  // renders: the new buttons are laid out where the tap goes
  REQUIRE(screen.tap("cfsType_DOOR_OPEN"));
  REQUIRE(screen.item("cfsType_DOOR_OPEN")->property("checked").toBool());
  screen.item("cfsLat")->setProperty("text", "40.71280");
  screen.item("cfsLon")->setProperty("text", "-74.00600");
  screen.item("cfsAddress")->setProperty("text", "14 Elm St");
  screen.screenshot("cfs-agency-types");
  REQUIRE(screen.tap("cfsCreate"));
  REQUIRE(uiWaitUntil([&] { return !screen.c.cfs.lastIncidentNumber().isEmpty(); }, 20s));
  auto cfs = s.cfs(screen.c.cfs.lastIncidentNumber().toStdString());
  CHECK(cfs.value("type").toString() == "DOOR_OPEN");
  CHECK(cfs.value("apco").toString() == "OPEN");
  CHECK(cfs.value("apco_name").toString() == "UNSECURE-BLDG");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("a supervisor's screen shows the board of its zones, read-only, and a unit that supervises nothing has no "
          "board",
          "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  CHECK_FALSE(screen.item("navBoard")->isVisible());
  s.stub.addDevice("MDC-0102", "E7", s.agency);
  s.stub.addDevice("MDC-0103", "L4", s.agency);
  s.stub.addDevice("MDC-0104", "M9", s.agency);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"zones", "set", "N1", "--district", "NORTH"}, {"zones", "set", "N2", "--district", "NORTH"},
           {"zones", "set", "S1", "--district", "SOUTH"}, {"zones", "assign", "E12", "--zone", "N1"},
           {"zones", "assign", "E7", "--zone", "N1"},     {"zones", "assign", "L4", "--zone", "N2"},
           {"zones", "assign", "M9", "--zone", "S1"}}) {
    std::vector<std::string> full = {"--agency", s.agency, "--as", "sup.ops"};
    full.insert(full.end(), args.begin(), args.end());
    REQUIRE(s.stub.cadctl(full).exitCode == 0);
  }
  s.dispatch("FSTRU", "450 W 42nd St", "Smoke from 3rd floor");  // E12 on a call
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.hasAssignment(); }, 20s));
  screen.c.assignment.acknowledge();
  REQUIRE(s.stub.cadctl({"--agency", s.agency, "zones", "supervise", "E12", "--district", "NORTH"}).exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return screen.c.supervisor.count() == 3 && screen.c.supervisor.summary().contains("1 on a call"); }, 20s));
  INFO(screen.c.supervisor.summary().toStdString());
  REQUIRE(screen.item("navBoard")->isVisible());
  REQUIRE(screen.tap("navBoard"));
  CHECK(screen.text("boardScope") == "district NORTH (zones N1, N2)");
  CHECK(screen.item("boardRow_E7") != nullptr);
  CHECK(screen.item("boardRow_L4") != nullptr);
  CHECK(screen.item("boardRow_M9") == nullptr);  // another district's unit is not sent
  CHECK(screen.c.supervisor.summary().startsWith("3 units · 1 on a call · updated"));
  for (bool night : {false, true}) {
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    screen.screenshot(std::string("supervisor-board-") + (night ? "night" : "day"));
  }
  screen.c.theme.setMode(ui::ThemeController::Day);
  // No longer a supervisor: the board goes away.
  REQUIRE(s.stub.cadctl({"--agency", s.agency, "zones", "supervise", "E12", "--none"}).exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return !screen.c.supervisor.active(); }, 20s));
  CHECK_FALSE(screen.item("navBoard")->isVisible());
  CHECK(screen.text("boardScope") == "This unit supervises no zone");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("the emergency needs a hold and once held the backend flags it and the dispatcher ack shows", "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());

  // A brush of the button does nothing.
  REQUIRE(screen.hold("emergencyButton", 300));
  pump(500);
  CHECK_FALSE(screen.c.emergency.active());
  CHECK(s.agent.state().emergency_active() == false);

  REQUIRE(screen.hold("emergencyButton", screen.c.emergency.holdMs() + 400));
  REQUIRE(uiWaitUntil([&] { return screen.c.emergency.active(); }, 5s));
  CHECK(screen.visible("emergencyBanner"));
  REQUIRE(uiWaitUntil([&] { return screen.c.emergency.delivery() == "delivered"; }, 20s));
  CHECK(s.boardUnit().value("emergency_active").toBool());

  auto r = s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "ack-emergency", "E12"});
  REQUIRE(r.exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return !screen.c.emergency.acknowledgedBy().isEmpty(); }, 20s));
  CHECK(screen.text("emergencyAck").startsWith("Acknowledged by"));
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("messages from and to dispatch", "[ui][screen]") {
  Stack s;
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  REQUIRE(s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "message", "E12", "Call dispatch on TAC 2"}).exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return screen.c.messages.messages()->count() == 1; }, 20s));
  REQUIRE(screen.tap("navMessages"));
  screen.item("messageInput")->setProperty("text", "Copy, switching to TAC 2");
  REQUIRE(screen.tap("messageSend"));
  REQUIRE(uiWaitUntil([&] {
    auto* m = screen.c.messages.messages();
    for (int i = 0; i < m->rowCount(); ++i)
      if (m->data(m->index(i), ui::MessagesModel::OutgoingRole).toBool() &&
          m->data(m->index(i), ui::MessagesModel::DeliveryRole).toString() == "delivered" &&
          m->data(m->index(i), ui::MessagesModel::TextRole).toString() == "Copy, switching to TAC 2")
        return true;
    return false;
  }, 20s));
  CHECK(screen.text("messageInput").isEmpty());
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("the responder pages back through the whole conversation from the top of the list", "[ui][screen]") {
  Stack s;
  // 45 dispatcher messages and 5 replies, before the screen starts: more than
  // the state carries (20).
  for (int i = 1; i <= 45; ++i) {
    REQUIRE(s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "message", "E12",
                           "Dispatch note " + std::to_string(i) + ": hydrant map for sector " + std::to_string(i)})
                .exitCode == 0);
    if (i % 9 == 0) {
      REQUIRE(waitUntil([&] { return s.agent.state().downlink_cursor() == uint64_t(i); }, 20s));
      REQUIRE(s.agent.mdcctl({"message", "Reply " + std::to_string(i / 9) + ": copy"}).exitCode == 0);
    }
  }
  REQUIRE(waitUntil([&] { return s.agent.state().messages_total() == 50; }, 20s));
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  auto* model = screen.c.messages.messages();
  REQUIRE(uiWaitUntil([&] { return model->total() == 50; }, 20s));
  CHECK(model->count() == 20);
  CHECK(model->hasOlder());
  REQUIRE(screen.tap("navMessages"));
  auto* list = screen.item("messageList");
  REQUIRE(list);
  auto toTop = [&] {
    QMetaObject::invokeMethod(list, "positionViewAtEnd");  // bottom-to-top: the end is the top
    pump(200);
  };
  toTop();
  REQUIRE(screen.visible("messagesOlder"));
  CHECK(screen.text("messagesOlder") == "Earlier messages (30 more)");
  screen.screenshot("messages-earlier-button");
  REQUIRE(screen.tap("messagesOlder"));
  REQUIRE(uiWaitUntil([&] { return model->count() == 45; }, 10s));
  toTop();
  CHECK(screen.text("messagesOlder") == "Earlier messages (5 more)");
  REQUIRE(screen.tap("messagesOlder"));
  REQUIRE(uiWaitUntil([&] { return model->count() == 50; }, 10s));
  CHECK_FALSE(model->hasOlder());
  toTop();
  CHECK_FALSE(screen.visible("messagesOlder"));
  screen.screenshot("messages-oldest");
  // Newest first, every message once, replies in their place with their own text.
  auto text = [&](int row) { return model->data(model->index(row), ui::MessagesModel::TextRole).toString(); };
  CHECK(text(0) == "Reply 5: copy");
  CHECK(text(1) == "Dispatch note 45: hydrant map for sector 45");
  CHECK(text(49) == "Dispatch note 1: hydrant map for sector 1");
  QStringList replies;
  for (int row = 0; row < model->rowCount(); ++row)
    if (model->data(model->index(row), ui::MessagesModel::OutgoingRole).toBool()) replies.prepend(text(row));
  CHECK(replies == QStringList{"Reply 1: copy", "Reply 2: copy", "Reply 3: copy", "Reply 4: copy", "Reply 5: copy"});
  CHECK(text(49 - 9) == "Reply 1: copy");  // after dispatch note 9
  // A new message still arrives at the bottom, and nothing is loaded twice.
  REQUIRE(s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "message", "E12", "Newest"}).exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return model->count() == 51; }, 20s));
  CHECK(text(0) == "Newest");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("offline taps show queued with the outbox rising and turn delivered when the broker returns", "[ui][screen]") {
  MosquittoOptions o;
  o.persistence = true;  // the stub's subscription survives the outage
  Stack s(o);
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  REQUIRE(uiWaitUntil([&] { return screen.c.header.link() == ui::HeaderState::Online; }, 20s));

  s.broker.stop();  // a tunnel
  REQUIRE(uiWaitUntil([&] { return screen.c.header.link() != ui::HeaderState::Online; }, 20s));
  int expected = 0;
  for (const char* button : {"status_2", "status_3", "status_4"}) {
    REQUIRE(screen.tap(button));
    ++expected;
    REQUIRE(uiWaitUntil([&] { return screen.c.header.unsentActions() == expected; }, 5s));
    CHECK(screen.text("headerStatusDelivery", "delivery") == "queued");
  }
  CHECK(screen.c.status.current() == v1::UNIT_STATUS_TRANSPORTING);
  CHECK(screen.text("headerOutbox", "value").startsWith("3"));
  CHECK(screen.c.header.link() != ui::HeaderState::Online);  // offline, or connecting again
  screen.screenshot("offline-queued-day");

  s.broker.start();
  REQUIRE(uiWaitUntil([&] { return screen.c.header.unsentActions() == 0; }, 30s));
  REQUIRE(uiWaitUntil([&] { return screen.text("headerStatusDelivery", "delivery") == "delivered"; }, 5s));
  int delivered = 0;
  for (int i = 0; i < screen.c.actions.rowCount(); ++i)
    delivered += screen.c.actions.data(screen.c.actions.index(i), ui::ActionsModel::DeliveryRole) == "delivered";
  CHECK(delivered == 3);
  CHECK(s.boardUnit().value("status").toString() == "TRANSPORTING");
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("without the agent the screen says so and reconnects when it starts", "[ui][screen]") {
  TempDir dir;
  Mosquitto broker(dir);
  AgentProcess agent(dir, "MDC-0102", "M7", "EMS", broker.uri());
  ScreenUnderTest screen(agent.socketPath());
  pump(400);
  CHECK(screen.visible("agentDown"));
  CHECK(screen.text("agentDownTitle") == "The MDC agent is not running");
  screen.c.theme.setMode(ui::ThemeController::Night);
  screen.screenshot("agent-down-night");
  screen.c.theme.setMode(ui::ThemeController::Day);
  screen.screenshot("agent-down-day");

  agent.start();
  REQUIRE(screen.waitConnected(15s));
  REQUIRE(uiWaitUntil([&] { return !screen.visible("agentDown"); }, 5s));
  CHECK(screen.text("headerUnit") == "M7");

  agent.kill9();  // and again, while the screen runs
  REQUIRE(uiWaitUntil([&] { return screen.visible("agentDown"); }, 10s));
  agent.start();
  REQUIRE(uiWaitUntil([&] { return !screen.visible("agentDown"); }, 15s));
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("screenshots of every screen in day and night at 1280x800 and 1024x768", "[ui][screenshots]") {
  Stack s;
  // Something on every page: a delivered status, a dispatched call with its
  // timeline, a self-initiated call, messages both ways.
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  screen.c.status.setStatus(v1::UNIT_STATUS_EN_ROUTE);
  screen.c.messages.send("Responding from station 12");
  screen.c.cfs.create("TSTOP", 40.7128, -74.0060, "Broadway & Chambers", "Grey sedan, NY plate KXT 4471");
  REQUIRE(uiWaitUntil([&] { return !screen.c.cfs.lastIncidentNumber().isEmpty(); }, 20s));
  REQUIRE(s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "message", "E12",
                         "Hydrant at the NE corner is out of service, use Broadway side"}).exitCode == 0);
  const std::string incident = s.dispatch("FSTRU", "450 W 42nd St, Manhattan",
                                          "Smoke showing from 3rd floor. Caller reports one occupant may be inside. "
                                          "Knox box at the main entrance.");
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.alerting(); }, 20s));

  std::vector<std::string> shots;
  for (bool night : {false, true}) {
    const std::string theme = night ? "night" : "day";
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    screen.showPage("status");
    shots.push_back(screen.screenshot("new-assignment-alert-" + theme));
  }
  screen.c.assignment.dismissAlert();
  REQUIRE(uiWaitUntil([&] { return screen.c.status.delivery() == "delivered" && screen.c.header.unsentActions() == 0; }, 20s));
  for (bool night : {false, true}) {
    const std::string theme = night ? "night" : "day";
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    for (const auto& page : ui::screenPages()) {
      screen.showPage(page);
      shots.push_back(screen.screenshot(page.toStdString() + "-" + theme));
    }
  }
  screen.c.emergency.activate();
  REQUIRE(uiWaitUntil([&] { return screen.c.emergency.active(); }, 5s));
  for (bool night : {false, true}) {
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    screen.showPage("status");
    shots.push_back(screen.screenshot(std::string("emergency-") + (night ? "night" : "day")));
  }
  screen.c.emergency.clear();
  REQUIRE(uiWaitUntil([&] { return !screen.c.emergency.active(); }, 5s));

  // The smaller panel: the layout must still hold.
  screen.window()->resize(1024, 768);
  screen.c.theme.setMode(ui::ThemeController::Day);
  for (const auto& page : ui::screenPages()) {
    screen.showPage(page);
    shots.push_back(screen.screenshot(page.toStdString() + "-day-1024x768"));
  }
  for (const auto& p : shots) {
    QImage img(QString::fromStdString(p));
    CHECK_FALSE(img.isNull());
  }
  CHECK(screen.qmlWarnings().isEmpty());
  (void)incident;
}

TEST_CASE("where the call is and who is near: distance and bearing, the plot, the list, a nearby emergency",
          "[ui][screen][nearby][screenshots]") {
  // The call at Times Square; E12 parked 910 m south-south-west of it.
  constexpr double kCallLat = 40.75800, kCallLon = -73.98550;
  auto near = [&](double eastM, double northM) {
    std::pair<double, double> p;
    geo::offset(kCallLat, kCallLon, eastM, northM, p.first, p.second);
    return p;
  };
  const auto e12 = near(-150, -900);
  Stack s({}, "MDC-0101", "E12", "FD1", e12);
  struct Other {
    const char* device;
    const char* unit;
    double eastM, northM;  // from the call
  };
  std::vector<std::unique_ptr<AgentProcess>> others;
  for (const Other& o : {Other{"MDC-0107", "E7", 150, -900}, Other{"MDC-0104", "L4", 0, 2600},
                         Other{"MDC-0109", "M9", -1050, -200}}) {
    s.stub.addDevice(o.device, o.unit, "FD1");
    const auto at = near(o.eastM, o.northM);
    others.push_back(std::make_unique<AgentProcess>(s.dir, o.device, o.unit, "FD1", s.broker.uri(),
                                                     gpsParkedAt(s.dir, o.unit, at.first, at.second)));
    others.back()->start();
  }
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  REQUIRE(others[0]->mdcctl({"status", "available"}).exitCode == 0);
  REQUIRE(others[2]->mdcctl({"status", "busy"}).exitCode == 0);
  const std::string incident = s.dispatch("FSTRU", "1560 Broadway", "Smoke from the 9th floor.");
  REQUIRE(s.stub.cadctl({"--agency", "FD1", "--as", "disp-7", "assign", incident, "L4", "--force"}).exitCode == 0);
  REQUIRE(others[1]->mdcctl({"status", "en-route", "--incident", incident}).exitCode == 0);
  auto& sit = screen.c.situation;
  REQUIRE(uiWaitUntil([&] { return sit.count() == 3 && sit.hasCall() && sit.callUnits() == 1 && sit.hasFix(); }, 30s));
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.alerting(); }, 20s));
  screen.c.assignment.dismissAlert();
  CHECK(sit.callDirection() == "910 m N · 9°");
  auto row = [&](int r, int role) { return sit.data(sit.index(r), role).toString(); };
  CHECK(row(0, ui::SituationModel::UnitRole) == "E7");  // nearest first
  CHECK(row(0, ui::SituationModel::DistanceRole) == "300 m");
  CHECK(row(0, ui::SituationModel::BearingRole) == "E · 90°");
  CHECK(row(1, ui::SituationModel::UnitRole) == "M9");
  CHECK(row(2, ui::SituationModel::UnitRole) == "L4");
  CHECK(sit.data(sit.index(2), ui::SituationModel::OnCallRole).toBool());
  // L4's en-route reaches this screen with the next list the stub sends,
  // which may be up to --nearby-interval-s after the one above.
  CHECK(uiWaitUntil([&] { return row(2, ui::SituationModel::StatusRole) == "En route"; }, 15s));

  std::vector<std::string> shots;
  for (bool night : {false, true}) {
    const std::string theme = night ? "night" : "day";
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    screen.showPage("assignment");
    CHECK(screen.text("callDirection") == "910 m N · 9°");
    CHECK(screen.visible("callPlot"));
    shots.push_back(screen.screenshot("call-plot-" + theme));
    screen.showPage("nearby");
    CHECK(screen.visible("nearbyPlot"));
    shots.push_back(screen.screenshot("nearby-units-" + theme));
  }
  // E7 raises its emergency: every page says so, within seconds.
  REQUIRE(others[0]->mdcctl({"emergency"}).exitCode == 0);
  screen.showPage("status");
  REQUIRE(uiWaitUntil([&] { return screen.visible("nearbyEmergencyBanner"); }, 10s));
  CHECK(screen.text("nearbyEmergencyText") == "EMERGENCY NEAR YOU: E7 · 300 m E");
  for (bool night : {false, true}) {
    screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
    screen.showPage("nearby");
    shots.push_back(screen.screenshot(std::string("nearby-emergency-") + (night ? "night" : "day")));
  }
  REQUIRE(screen.tap("nearbyEmergencyBanner"));
  screen.window()->resize(1024, 768);
  screen.c.theme.setMode(ui::ThemeController::Day);
  for (const char* page : {"assignment", "nearby"}) {
    screen.showPage(page);
    shots.push_back(screen.screenshot(std::string(page) + "-situation-day-1024x768"));
  }
  // Both banners on the smaller panel: the emergency button stays whole on screen.
  screen.c.emergency.activate();
  REQUIRE(uiWaitUntil([&] { return screen.visible("emergencyBanner") && screen.c.emergency.active(); }, 5s));
  pump(200);
  {
    auto* button = screen.item("emergencyButton");
    REQUIRE(button);
    const QRectF r = button->mapRectToScene(QRectF(0, 0, button->width(), button->height()));
    INFO("emergency button " << r.top() << ".." << r.bottom() << " of " << screen.window()->height());
    CHECK(r.bottom() <= screen.window()->height());
    CHECK(r.height() >= 96);
    shots.push_back(screen.screenshot("status-two-emergencies-day-1024x768"));
  }
  screen.c.emergency.clear();
  REQUIRE(others[0]->mdcctl({"emergency", "--clear"}).exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return !screen.visible("nearbyEmergencyBanner"); }, 10s));
  for (const auto& p : shots) CHECK_FALSE(QImage(QString::fromStdString(p)).isNull());
  INFO(screen.qmlWarnings().join("\n").toStdString());
  CHECK(screen.qmlWarnings().isEmpty());
}

TEST_CASE("mdc --headless-shift plays the shift through the real stack and exits 0 when all is delivered", "[ui][headless]") {
  Stack s;
  const std::string incident = s.dispatch("SICK", "12 Pine St", "Fall, conscious");
  REQUIRE(waitUntil([&] { return s.agent.state().assignments_size() == 1; }, 20s));
  auto r = run({program("mdc/mdc"), "--headless-shift", "--socket", s.agent.socketPath(), "--step-timeout", "20"},
               s.dir, 120s);
  INFO(r.output);
  CHECK(r.exitCode == 0);
  CHECK(r.output.find("acknowledge assignment " + incident + ": queued") != std::string::npos);
  CHECK(r.output.find("incident 20") != std::string::npos);
  CHECK(r.output.find("shift OK: 7 actions, 7 delivered") != std::string::npos);
  CHECK(s.boardUnit().value("status").toString() == "AVAILABLE");
  // In a responder's order: the dispatched call got its en route and on scene
  // before the unit cleared it.
  auto cfs = QJsonDocument::fromJson(QByteArray::fromStdString(
                                         s.stub.cadctl({"cfs", "show", incident, "--json"}).output))
                 .object();
  REQUIRE(cfs.value("units").toArray().size() == 1);
  auto unit = cfs.value("units").toArray()[0].toObject();
  CHECK(unit.value("enroute_at_ms").toInteger() > 0);
  CHECK(unit.value("onscene_at_ms").toInteger() >= unit.value("enroute_at_ms").toInteger());
  CHECK(unit.value("cleared_at_ms").toInteger() >= unit.value("onscene_at_ms").toInteger());

  // Without an agent: a clear line and exit code 2.
  auto down = run({program("mdc/mdc"), "--headless-shift", "--socket", s.dir.file("nobody.sock")}, s.dir, 60s);
  INFO(down.output);
  CHECK(down.exitCode == 2);
  CHECK(down.output.find("not reachable") != std::string::npos);
}

TEST_CASE("records queries on screen: a hit raises the full-width alert, another unit's hit shows on every page, "
          "offline the query is refused at once", "[ui][screen][records][screenshots]") {
  constexpr double kCallLat = 40.75800, kCallLon = -73.98550;
  auto near = [&](double eastM, double northM) {
    std::pair<double, double> p;
    geo::offset(kCallLat, kCallLon, eastM, northM, p.first, p.second);
    return p;
  };
  Stack s({}, "MDC-0112", "P12", "PD1", near(-400, -700));
  const std::string seed = env("MDC_SOURCE_DIR") + "/server-stub/seed/records-";
  auto imported = s.stub.cadctl({"records", "import", seed + "vehicles.csv", seed + "persons.csv", seed + "flags.csv"});
  INFO(imported.output);
  REQUIRE(imported.exitCode == 0);
  s.stub.addDevice("MDC-0107", "P7", "PD1");
  const auto p7at = near(250, 300);
  AgentProcess p7(s.dir, "MDC-0107", "P7", "PD1", s.broker.uri(), gpsParkedAt(s.dir, "p7", p7at.first, p7at.second));
  p7.start();
  ScreenUnderTest screen(s.agent.socketPath());
  REQUIRE(screen.waitConnected());
  const std::string incident = s.dispatch("TSTOP", "W 44th St and 7th Ave", "Grey sedan, NY plate ABC 123");
  REQUIRE(s.stub.cadctl({"--agency", "PD1", "--as", "disp-7", "assign", incident, "P7", "--force"}).exitCode == 0);
  REQUIRE(uiWaitUntil([&] { return screen.c.assignment.alerting(); }, 20s));
  screen.c.assignment.dismissAlert();
  auto& q = screen.c.query;
  REQUIRE(uiWaitUntil([&] { return q.online() && q.incidentNumber() == QString::fromStdString(incident) &&
                                   screen.c.situation.callUnits() == 1 && screen.c.situation.hasFix(); }, 30s));

  // The responder types the plate as read and taps Run: the call is the reason.
  screen.showPage("query");
  REQUIRE(screen.item("queryPlate"));
  screen.item("queryPlate")->setProperty("text", "abc-123");
  pump(50);
  REQUIRE(screen.tap("queryRun"));
  REQUIRE(uiWaitUntil([&] { return screen.visible("hitAlert"); }, 10s));
  CHECK(screen.text("hitAlertFlags") == "STOLEN  ·  WANTED  ·  CAUTION");
  CHECK(screen.text("hitAlertSubject") == QString::fromStdString("PLATE ABC123 (NY)  ·  CFS " + incident));
  std::vector<std::string> shots;
  for (QSize size : {QSize(1280, 800), QSize(1024, 768)})
    for (bool night : {false, true}) {
      screen.window()->resize(size);
      screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
      pump(100);
      const std::string suffix = std::string(night ? "night" : "day") + (size.width() == 1024 ? "-1024x768" : "");
      shots.push_back(screen.screenshot("records-hit-alert-" + suffix));
    }
  screen.window()->resize(1280, 800);
  REQUIRE(screen.tap("hitAlertView"));
  REQUIRE(uiWaitUntil([&] { return !screen.visible("hitAlert"); }, 5s));
  CHECK(screen.window()->property("page").toString() == "query");

  // A clean plate for a traffic stop, and a person: answers stack up, newest first.
  REQUIRE(screen.tap("queryReason_TRAFFIC_STOP"));
  screen.item("queryPlate")->setProperty("text", "XYZ789");
  pump(50);
  REQUIRE(screen.tap("queryRun"));
  REQUIRE(screen.tap("queryModePerson"));
  screen.item("queryName")->setProperty("text", "smith, alex");
  screen.item("queryDob")->setProperty("text", "1990-01-05");
  pump(50);
  REQUIRE(screen.tap("queryRun"));
  REQUIRE(uiWaitUntil([&] {
    const auto l = q.queries();
    return l.size() == 3 && l[0].toMap()["state"] == "answered" && l[1].toMap()["state"] == "answered";
  }, 10s));
  CHECK(q.queries()[0].toMap()["subject"] == "person SMITH, ALEX 1990-01-05");
  CHECK(q.queries()[1].toMap()["reason"] == "TRAFFIC STOP");
  CHECK_FALSE(q.queries()[1].toMap()["hit"].toBool());
  CHECK(q.queries()[2].toMap()["flags"] == "STOLEN, WANTED, CAUTION");
  // The person's registered vehicle carries a caution: a hit, alerted in turn.
  REQUIRE(uiWaitUntil([&] { return screen.visible("hitAlert"); }, 5s));
  CHECK(screen.text("hitAlertFlags") == "CAUTION");
  REQUIRE(screen.tap("hitAlertAcknowledge"));
  REQUIRE(uiWaitUntil([&] { return !screen.visible("hitAlert"); }, 5s));
  for (QSize size : {QSize(1280, 800), QSize(1024, 768)})
    for (bool night : {false, true}) {
      screen.window()->resize(size);
      screen.c.theme.setMode(night ? ui::ThemeController::Night : ui::ThemeController::Day);
      const std::string suffix = std::string(night ? "night" : "day") + (size.width() == 1024 ? "-1024x768" : "");
      screen.showPage("query");
      shots.push_back(screen.screenshot("records-query-page-" + suffix));
      screen.showPage("assignment");
      CHECK(screen.visible("callPlot"));
      shots.push_back(screen.screenshot("records-call-plot-" + suffix));
    }
  screen.window()->resize(1280, 800);
  screen.c.theme.setMode(ui::ThemeController::Day);

  // The other unit on the call runs a plate that hits: a banner on every page here.
  REQUIRE(p7.mdcctl({"query", "plate", "KLM456", "--state", "NJ", "--cfs", incident}).exitCode == 4);
  screen.showPage("status");
  REQUIRE(uiWaitUntil([&] { return screen.visible("safetyAlertBanner"); }, 10s));
  CHECK(screen.text("safetyAlertText") ==
        QString::fromStdString("OFFICER SAFETY on " + incident + ": P7 ran plate KLM456 (NJ): CAUTION"));
  shots.push_back(screen.screenshot("records-safety-banner-day"));
  REQUIRE(screen.tap("safetyAlertDismiss"));
  REQUIRE(uiWaitUntil([&] { return !screen.visible("safetyAlertBanner"); }, 5s));

  // Offline: Run says so and a query is refused before it leaves the screen.
  s.broker.kill9();
  REQUIRE(uiWaitUntil([&] { return !q.online(); }, 15s));
  screen.showPage("query");
  CHECK(screen.visible("queryOffline"));
  CHECK(screen.text("queryRun") == "Offline: no queries");
  CHECK_FALSE(screen.item("queryRun")->isEnabled());
  CHECK_FALSE(q.runPlate("ABC123", "NY", "INVESTIGATION"));
  CHECK(q.lastError().contains("never queued"));
  shots.push_back(screen.screenshot("records-query-offline-day"));
  for (const auto& p : shots) CHECK_FALSE(QImage(QString::fromStdString(p)).isNull());
  INFO(screen.qmlWarnings().join("\n").toStdString());
  CHECK(screen.qmlWarnings().isEmpty());
}
