// The service's record of when it last heard each device: only a device that
// beats is watched; one unheard past the limit is due once, and one reported
// silent and heard again is due to be shown online once.
#include <catch2/catch.hpp>

#include "server-stub/service/liveness.h"

using cad::DeviceSilence;
using cad::Liveness;

namespace {
std::vector<std::string> ids(const std::vector<DeviceSilence>& v) {
  std::vector<std::string> out;
  for (const auto& d : v) out.push_back(d.device);
  return out;
}
}  // namespace

TEST_CASE("liveness: a beating device unheard past the limit is due once, until it is heard again", "[liveness]") {
  Liveness l(4000);
  l.heard("MDC-A", true, 1000, 1'700'000'001'000);
  l.heard("MDC-OLD", false, 1000, 1'700'000'001'000);  // never beats: an agent from before the beat
  l.heard("MDC-A", false, 2000, 1'700'000'002'000);   // any message counts once it is watched
  CHECK(l.size() == 1);
  CHECK(l.silentNow(6000).empty());  // 4,000 ms exactly: not past the limit
  auto due = l.silentNow(6001);
  REQUIRE(due.size() == 1);
  CHECK(due[0].device == "MDC-A");
  CHECK(due[0].lastHeardMs == 1'700'000'002'000);
  CHECK(l.silentNow(60000).empty());  // once
  // Not shown offline by the store (its unit was offline already): heard again is no change.
  l.heard("MDC-A", true, 61000, 1'700'000'061'000);
  CHECK(l.takeHeardAgain().empty());
  CHECK(ids(l.silentNow(65001)) == std::vector<std::string>{"MDC-A"});
  l.reportedSilent({"MDC-A", "MDC-OTHER"});
  CHECK(l.takeHeardAgain().empty());
  l.heard("MDC-A", false, 70000, 1'700'000'070'000);
  auto back = l.takeHeardAgain();
  REQUIRE(back.size() == 1);
  CHECK(back[0].device == "MDC-A");
  CHECK(back[0].lastHeardMs == 1'700'000'070'000);
  CHECK(l.takeHeardAgain().empty());
  l.heard("MDC-A", true, 71000, 1'700'000'071'000);
  CHECK(l.takeHeardAgain().empty());  // heard again once
  CHECK(l.silentNow(74000).empty());
  CHECK(ids(l.silentNow(75001)) == std::vector<std::string>{"MDC-A"});
}
