// A fleet's registry from CSV: every bad line named, nothing partial.
#include <catch2/catch.hpp>

#include "server-stub/domain/fleet_import.h"

using namespace cad::fleet;

TEST_CASE("a fleet file is read with its header, comments, quotes and CRLF", "[fleet]") {
  Registry reg;
  reg.devices["MDC-0001"] = {"E12", "FD1"};
  reg.unitAgency["E12"] = "FD1";
  const auto p = plan("device,unit,agency\r\n# engines\r\nMDC-0001, E12 ,FD1\r\n\r\n\"MDC-0002\",E14,FD1\r\nMDC-0003,M5,EMS1", reg);
  REQUIRE(p.errors.empty());
  REQUIRE(p.add.size() == 2);
  CHECK(p.add[0].device == "MDC-0002");
  CHECK(p.add[0].unit == "E14");
  CHECK(p.add[0].line == 5);
  CHECK(p.add[1].agency == "EMS1");
  REQUIRE(p.unchanged.size() == 1);
  CHECK(p.unchanged[0].device == "MDC-0001");
}

TEST_CASE("every bad line of a fleet file is named with its value", "[fleet]") {
  Registry reg;
  reg.devices["MDC-0001"] = {"E12", "FD1"};
  reg.unitAgency["E12"] = "FD1";
  reg.unitAgency["PD7"] = "PD1";
  const auto p = plan(
      "MDC 9,E1,FD1\n"          // 1: device id with a space
      "MDC-0002,E2\n"           // 2: two fields
      "MDC-0003,E3,FD1\n"       // 3: fine
      "MDC-0003,E4,FD1\n"       // 4: device twice
      "MDC-0005,E3,FD1\n"       // 5: unit twice
      "MDC-0006,PD7,FD1\n"      // 6: unit of another agency
      "MDC-0001,E99,FD1\n"      // 7: registered to another unit
      "MDC-0008,E8,F D\n",      // 8: agency with a space
      reg);
  const std::vector<std::string> expected = {
      "line 1: device \"MDC 9\": must be 1-64 characters of A-Z a-z 0-9 . _ -",
      "line 2: 2 fields, expected 3 (device,unit,agency)",
      "line 4: device \"MDC-0003\": also on line 3",
      "line 5: unit \"E3\": also given to MDC-0003 on line 3 (a unit has one device)",
      "line 6: unit \"PD7\": belongs to agency PD1, not FD1",
      "line 7: device \"MDC-0001\": registered to unit E12 of FD1 (cadctl devices move)",
      "line 8: agency \"F D\": must be 1-32 characters of A-Z a-z 0-9 . _ -",
  };
  CHECK(p.errors == expected);
}

TEST_CASE("an empty fleet file plans nothing", "[fleet]") {
  const auto p = plan("", {});
  CHECK(p.errors.empty());
  CHECK(p.add.empty());
  CHECK(p.unchanged.empty());
}
