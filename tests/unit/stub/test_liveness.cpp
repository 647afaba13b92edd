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

TEST_CASE("liveness: a device that says it is offline is no longer watched, and its will is not a sign of life",
          "[liveness]") {
  Liveness l(4000);
  l.heard("MDC-A", true, 1000, 1'700'000'001'000);
  l.heard("MDC-B", true, 1000, 1'700'000'001'000);
  CHECK(ids(l.silentNow(5001)).size() == 2);
  l.reportedSilent({"MDC-A", "MDC-B"});
  // Frozen, then the broker sends MDC-A's will: not heard again, never reported again.
  l.gone("MDC-A");
  CHECK(l.takeHeardAgain().empty());
  CHECK(l.size() == 1);
  CHECK(l.silentNow(60000).empty());
  // A clean sign-off before the limit: no report at all.
  l.heard("MDC-C", true, 61000, 1'700'000'061'000);
  l.gone("MDC-C");
  CHECK(l.silentNow(70000).empty());
  // Back, beating: watched again from the start.
  l.heard("MDC-A", true, 71000, 1'700'000'071'000);
  CHECK(l.takeHeardAgain().empty());
  CHECK(ids(l.silentNow(75001)) == std::vector<std::string>{"MDC-A"});
}

TEST_CASE("liveness: after the watcher's own gap nothing is reported for it, and a device reported before is "
          "reported heard when heard", "[liveness]") {
  Liveness l(4000);
  l.heard("MDC-A", true, 1000, 1'700'000'001'000);
  l.heard("MDC-B", true, 1000, 1'700'000'001'000);
  CHECK(ids(l.silentNow(5001)).size() == 2);
  l.reportedSilent({"MDC-A"});  // MDC-B's unit was offline already
  l.restartClock(30000);        // connected again after 25 s of hearing nothing
  CHECK(l.silentNow(34000).empty());
  l.heard("MDC-A", true, 34500, 1'700'000'034'500);
  auto back = l.takeHeardAgain();
  REQUIRE(back.size() == 1);
  CHECK(back[0].device == "MDC-A");
  // The limit counts from the reconnect for MDC-B, from when it was heard for MDC-A.
  CHECK(ids(l.silentNow(34001)) == std::vector<std::string>{"MDC-B"});
  CHECK(l.silentNow(38500).empty());
  CHECK(ids(l.silentNow(38501)) == std::vector<std::string>{"MDC-A"});
}
