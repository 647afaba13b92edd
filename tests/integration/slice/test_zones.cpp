// Zones, districts and supervisors through the real processes: the board by
// zone and district, and a supervisor's device receiving the board of its
// zones and nothing else, while a unit of another zone receives none.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <optional>
#include <regex>
#include <set>

#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

std::set<std::string> boardUnits(const v1::AgentState& s) {
  std::set<std::string> out;
  for (const auto& u : s.supervisor_board().units()) out.insert(u.unit_id());
  return out;
}

/** A copy: states are temporaries. */
std::optional<v1::BoardUnit> boardUnit(const v1::AgentState& s, const std::string& unit) {
  for (const auto& u : s.supervisor_board().units())
    if (u.unit_id() == unit) return u;
  return std::nullopt;
}

std::set<std::string> unitsOf(const CommandResult& r) {
  std::set<std::string> out;
  for (const auto& u : QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).array())
    out.insert(u.toObject().value("unit").toString().toStdString());
  return out;
}

}  // namespace

TEST_CASE("zones: the board by zone and district, a supervisor's device gets the board of its zones only, and a "
          "unit of another zone gets nothing",
          "[zones]") {
  BackendStack backend;
  TempDir& dir = backend.dir;
  CadStub& stub = backend.stub;
  for (auto [device, unit] : {std::pair{"MDC-N1", "E1"}, std::pair{"MDC-N2", "E2"}, std::pair{"MDC-S1", "E3"},
                              std::pair{"MDC-BC1", "BC1"}, std::pair{"MDC-BC2", "BC2"}})
    stub.addDevice(device, unit, "FD1");
  stub.addDevice("MDC-P1", "P1", "PD1");
  auto cad = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--agency", "FD1", "--as", "sup.ops"});
    auto r = stub.cadctl(args);
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    return r;
  };
  cad({"zones", "set", "N1", "--district", "NORTH"});
  cad({"zones", "set", "N2", "--district", "NORTH"});
  cad({"zones", "set", "S1", "--district", "SOUTH"});
  cad({"zones", "assign", "E1", "--zone", "N1"});
  cad({"zones", "assign", "E2", "--zone", "N2"});
  cad({"zones", "assign", "E3", "--zone", "S1"});
  cad({"zones", "assign", "BC1", "--zone", "N1"});
  cad({"zones", "assign", "BC2", "--zone", "S1"});
  CHECK_THAT(cad({"zones", "supervise", "BC1", "--district", "NORTH"}).output,
             Catch::Contains("unit BC1 supervises district NORTH (2 zones)"));
  cad({"zones", "supervise", "BC2", "--zones", "S1"});

  // Refused, and nothing written.
  const long long before = stub.eventCount();
  struct Bad {
    std::vector<std::string> args;
    std::string error;
  };
  for (const auto& b : std::vector<Bad>{
           {{"zones", "assign", "E1", "--zone", "N9"}, "zone \"N9\": no such zone in agency FD1"},
           {{"zones", "assign", "P1", "--zone", "N1"}, "unit \"P1\": no such unit in agency FD1"},
           {{"zones", "set", "N 1", "--district", "NORTH"}, "zone \"N 1\": must be 1-32 characters"},
           {{"zones", "supervise", "E1", "--district", "EAST"}, "district \"EAST\": no zone of agency FD1 is in it"},
           {{"zones", "supervise", "E1", "--zones", "N1,N1"}, "zones: \"N1\" is listed twice"},
           {{"zones", "supervise", "E1", "--none"}, "unit \"E1\": is not a supervisor"},
           {{"zones", "remove", "N1"}, "zone \"N1\": 2 units are in it"},
       }) {
    std::vector<std::string> args = {"--agency", "FD1"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    auto r = stub.cadctl(args);
    INFO(r.output);
    CHECK(r.exitCode == 1);
    CHECK_THAT(r.output, Catch::Contains(b.error));
  }
  CHECK(stub.eventCount() == before);

  // The board by zone and by district.
  CHECK(unitsOf(stub.cadctl({"--agency", "FD1", "board", "--zone", "N1", "--json"})) == std::set<std::string>{"E1", "BC1"});
  CHECK(unitsOf(stub.cadctl({"--agency", "FD1", "board", "--district", "NORTH", "--json"})) ==
        std::set<std::string>{"E1", "E2", "BC1"});
  CHECK(unitsOf(stub.cadctl({"--agency", "FD1", "board", "--district", "SOUTH", "--json"})) ==
        std::set<std::string>{"E3", "BC2"});
  auto list = stub.cadctl({"--agency", "FD1", "zones", "list"});
  CHECK_THAT(list.output, Catch::Contains("NORTH"));
  CHECK(std::regex_search(list.output, std::regex("FD1 +NORTH +N1 +BC1 E1 +BC1\n")));

  AgentProcess& bc1 = backend.addAgent("MDC-BC1", "BC1", "FD1");
  AgentProcess& bc2 = backend.addAgent("MDC-BC2", "BC2", "FD1");
  AgentProcess& e1 = backend.addAgent("MDC-N1", "E1", "FD1");
  AgentProcess& e3 = backend.addAgent("MDC-S1", "E3", "FD1");
  for (auto* a : {&bc1, &bc2, &e1, &e3}) a->start();

  // Each supervisor sees its own zones' units, and only those.
  REQUIRE(waitUntil([&] { return boardUnits(bc1.state()) == std::set<std::string>{"E1", "E2", "BC1"}; }, 20s));
  REQUIRE(waitUntil([&] { return boardUnits(bc2.state()) == std::set<std::string>{"E3", "BC2"}; }, 20s));
  CHECK(bc1.state().supervisor_board().scope() == "district NORTH (zones N1, N2)");
  CHECK(bc2.state().supervisor_board().scope() == "zones S1");
  REQUIRE(waitUntil([&] { auto u = boardUnit(bc1.state(), "E1"); return u && u->online(); }, 20s));

  // A status of E1 reaches its supervisor within seconds; E3's emergency reaches BC2 and not BC1.
  REQUIRE(e1.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] { auto u = boardUnit(bc1.state(), "E1"); return u && u->status() == v1::UNIT_STATUS_EN_ROUTE; }, 10s));
  REQUIRE(e3.mdcctl({"emergency"}).exitCode == 0);
  REQUIRE(waitUntil([&] { auto u = boardUnit(bc2.state(), "E3"); return u && u->emergency(); }, 10s));
  CHECK_FALSE(boardUnit(bc1.state(), "E3").has_value());
  CHECK_THAT(bc2.mdcctl({"state"}).output, Catch::Contains("board       zones S1: 2 units"));

  // Units that supervise nothing never receive a board, whatever their zone.
  const long long sent = QJsonDocument::fromJson(QByteArray::fromStdString(stub.cadctl({"stats", "--json"}).output))
                             .object().value("boards_sent").toInteger();
  CHECK(sent >= 2);
  for (auto* a : {&e1, &e3}) {
    const v1::AgentState s = a->state();
    CHECK(s.supervisor_board_at_ms() == 0);
    CHECK(s.supervisor_board().units_size() == 0);
  }
  CHECK_THAT(e3.log(), !Catch::Contains("supervisor board"));

  // Moving E2 to the south: the boards follow. BC1 no longer a supervisor: its board is withdrawn.
  cad({"zones", "assign", "E2", "--zone", "S1"});
  REQUIRE(waitUntil([&] { return boardUnits(bc2.state()) == std::set<std::string>{"E2", "E3", "BC2"}; }, 10s));
  REQUIRE(waitUntil([&] { return boardUnits(bc1.state()) == std::set<std::string>{"E1", "BC1"}; }, 10s));
  cad({"zones", "supervise", "BC1", "--none"});
  REQUIRE(waitUntil([&] { return bc1.state().supervisor_board_at_ms() == 0; }, 10s));
  CHECK(bc1.state().supervisor_board().units_size() == 0);

  // The hierarchy is in the log: a replay gives the same zones and supervisors.
  REQUIRE(stub.cadctl({"replay", "--into", dir.file("replayed.db")}).exitCode == 0);
  CHECK(stub.cadctl({"--db", dir.file("replayed.db"), "digest"}).output == stub.cadctl({"digest"}).output);
}
