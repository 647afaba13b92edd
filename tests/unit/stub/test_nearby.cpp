// Who is near: which units a unit is told of, in which order, and when.
#include <catch2/catch.hpp>

#include "server-stub/domain/nearby.h"
#include "shared/wire/geo.h"

using namespace cad::nearby;

namespace {

// A unit east/north metres of Times Square.
UnitPlace at(const std::string& unit, double eastM, double northM, const std::string& agency = "FD1") {
  UnitPlace u;
  u.unit = unit;
  u.agency = agency;
  u.device = "MDC-" + unit;
  u.status = mdc::v1::UNIT_STATUS_AVAILABLE;
  u.hasPosition = true;
  mdc::geo::offset(40.758, -73.9855, eastM, northM, u.lat, u.lon);
  u.positionAtMs = 1'767'256'200'000;
  u.online = true;
  return u;
}

std::vector<std::string> names(const mdc::v1::UnitsNearby& n) {
  std::vector<std::string> out;
  for (const auto& u : n.units()) out.push_back(u.unit_id());
  return out;
}

}  // namespace

TEST_CASE("a unit hears of its agency's units within the radius, nearest first, and of its call's units anywhere",
          "[nearby]") {
  auto self = at("E12", 0, 0);
  self.incident = "2026-000123";
  auto far = at("L4", 12000, 0);  // beyond the radius, but on the same call
  far.incident = "2026-000123";
  auto other = at("M3", 0, 1500, "PD1");  // near, another agency
  auto noFix = at("E9", 100, 0);
  noFix.hasPosition = false;
  const std::vector<UnitPlace> all = {self, at("E7", 300, 0), at("E8", 0, -4900), at("E10", 5100, 0), far, other,
                                      noFix, at("E5", -40, 30)};
  auto n = forUnit(self, all, 5000);
  CHECK(n.radius_m() == 5000);
  CHECK(names(n) == std::vector<std::string>{"E5", "E7", "E8", "L4"});
  CHECK(n.units(0).distance_m() == 50);
  CHECK(n.units(1).distance_m() == 300);
  CHECK(n.units(3).on_same_call());
  CHECK(n.units(3).incident_number() == "2026-000123");
  CHECK_FALSE(n.units(1).on_same_call());
  CHECK(n.units(3).distance_m() == Approx(12000).margin(2));

  SECTION("without its own position, only the call's units") {
    self.hasPosition = false;
    CHECK(names(forUnit(self, all, 5000)) == std::vector<std::string>{"L4"});
  }
}

TEST_CASE("over 64 units, the call's units are kept and the farthest others go", "[nearby]") {
  auto self = at("E12", 0, 0);
  self.incident = "2026-000200";
  std::vector<UnitPlace> all = {self};
  for (int i = 0; i < 100; ++i) all.push_back(at("U" + std::to_string(i), 10.0 * (i + 1), 0));
  auto onCall = at("FAR", 4000, 0);
  onCall.incident = "2026-000200";
  all.push_back(onCall);
  auto n = forUnit(self, all, 5000);
  REQUIRE(n.units_size() == kMaxUnits);
  CHECK(n.units(0).unit_id() == "U0");
  CHECK(n.units(62).unit_id() == "U62");
  CHECK(n.units(63).unit_id() == "FAR");
}

TEST_CASE("the planner tells a unit at once, on a change at most every interval, on an emergency at once", "[nearby]") {
  Planner planner(5000, 5000, 30000);
  std::vector<UnitPlace> all = {at("E12", 0, 0), at("E7", 300, 0)};
  auto sent = [&](int64_t now) {
    std::vector<std::string> out;
    for (const auto& [u, body, urgent] : planner.due(all, now))
      out.push_back(u->unit + ":" + std::to_string(body.units_size()) + (urgent ? "!" : ""));
    return out;
  };
  CHECK(sent(0) == std::vector<std::string>{"E12:1", "E7:1"});
  CHECK(sent(1000).empty());            // nothing changed
  all[1].lat += 0.00002;                // about 2 m: not a change worth telling
  CHECK(sent(6000).empty());
  all[1].lat += 0.001;                  // E7 moves about 110 m: E12's view changed, E7's did not
  CHECK(sent(8000).empty());            // within the interval of the last look (at 6000)
  CHECK(sent(11000) == std::vector<std::string>{"E12:1"});
  all[1].emergency = true;              // an emergency: at once, to the units near it, urgent (QoS 1)
  CHECK(sent(11500) == std::vector<std::string>{"E12:1!"});
  all[1].emergency = false;
  CHECK(sent(12000) == std::vector<std::string>{"E12:1!"});
  CHECK(sent(30000) == std::vector<std::string>{"E7:1"});  // E7's refresh is due (last told at 0)
  all[0].online = false;                // gone: forgotten, told afresh when back
  CHECK(sent(37000).empty());
  all[0].online = true;
  CHECK(sent(37500) == std::vector<std::string>{"E12:1"});
  all.push_back(at("E99", 20000, 0));   // a unit with nobody near is told so, once
  CHECK(sent(38000) == std::vector<std::string>{"E99:0"});
  CHECK(sent(39000).empty());
}
