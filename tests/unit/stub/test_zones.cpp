// A supervisor's board: what it holds, and when the stub sends it.
#include <catch2/catch.hpp>

#include "server-stub/domain/zones.h"

using namespace cad;

namespace {

zones::Supervisor supervisor(const std::string& unit, const std::string& device, std::set<std::string> zones,
                             bool online = true) {
  return {unit, "FD1", device, online, "zones", std::move(zones)};
}

std::vector<zones::Row> rows() {
  return {{"E1", "FD1", "N1", "", 1, 1000, false, true},
          {"E2", "FD1", "N2", "2026-000001", 3, 2000, false, true},
          {"E3", "FD1", "S1", "", 1, 3000, false, false},
          {"P1", "PD1", "N1", "", 1, 4000, false, true}};  // another agency's zone of the same name
}

std::vector<std::string> units(const mdc::v1::SupervisorBoard& b) {
  std::vector<std::string> out;
  for (const auto& u : b.units()) out.push_back(u.unit_id());
  return out;
}

}  // namespace

TEST_CASE("a supervisor's board holds the units of its own agency in its own zones, nothing else", "[zones]") {
  auto b = zones::boardFor(supervisor("BC1", "MDC-BC1", {"N1", "N2"}), rows());
  CHECK(units(b) == std::vector<std::string>{"E1", "E2"});
  CHECK(b.units(1).incident_number() == "2026-000001");
  CHECK(b.units(1).status() == mdc::v1::UNIT_STATUS_ON_SCENE);
  CHECK(units(zones::boardFor(supervisor("BC2", "MDC-BC2", {"S1"}), rows())) == std::vector<std::string>{"E3"});
  CHECK(zones::boardFor(supervisor("BC3", "MDC-BC3", {}), rows()).units_size() == 0);
  CHECK(zones::validName("N-1_a"));
  CHECK_FALSE(zones::validName("N 1"));
  CHECK_FALSE(zones::validName(""));
  CHECK_FALSE(zones::validName(std::string(33, 'Z')));
}

TEST_CASE("boards go when they change (at most every second), every 30 s regardless, at once for an emergency, "
          "and a board is withdrawn from a unit that supervises nothing now, even one that was away",
          "[zones]") {
  zones::Planner p(1000, 30000);
  std::vector<zones::Supervisor> sups = {supervisor("BC1", "MDC-BC1", {"N1", "N2"}),
                                         supervisor("BC2", "MDC-BC2", {"S1"}, /*online=*/false)};
  auto r = rows();
  auto due = p.due(sups, r, 0);
  REQUIRE(due.size() == 1);  // the offline supervisor gets nothing
  CHECK(due[0].device == "MDC-BC1");
  CHECK(p.due(sups, r, 500).empty());  // nothing changed
  r[0].status = 2;
  CHECK(p.due(sups, r, 500).empty());     // changed, but within a second of the last
  CHECK(p.due(sups, r, 1000).size() == 1);  // a second later
  r[1].emergency = true;
  due = p.due(sups, r, 1200);  // an emergency: at once
  REQUIRE(due.size() == 1);
  CHECK(due[0].urgent);
  CHECK(p.due(sups, r, 20000).empty());
  CHECK(p.due(sups, r, 31200).size() == 1);  // 30 s: again regardless

  // BC1 goes away, stops being a supervisor while away: the withdrawal is
  // sent (QoS 1, queued for it), once.
  sups[0].online = false;
  CHECK(p.due(sups, r, 32000).empty());
  sups.erase(sups.begin());
  due = p.due(sups, r, 33000);
  REQUIRE(due.size() == 1);
  CHECK(due[0].device == "MDC-BC1");
  CHECK(due[0].board.scope().empty());
  CHECK(due[0].board.units_size() == 0);
  CHECK(due[0].urgent);
  CHECK(p.due(sups, r, 40000).empty());

  // BC2 comes online: its board at once; away and back: in full again.
  sups[0].online = true;
  due = p.due(sups, r, 41000);
  REQUIRE(due.size() == 1);
  CHECK(units(due[0].board) == std::vector<std::string>{"E3"});
  sups[0].online = false;
  CHECK(p.due(sups, r, 41500).empty());
  sups[0].online = true;
  CHECK(p.due(sups, r, 41600).size() == 1);
}
