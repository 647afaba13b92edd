// What needs an operator's attention in the fleet, from each device's last
// reported health.
#include <catch2/catch.hpp>

#include "server-stub/domain/fleet_health.h"

using namespace cad::fleet;

namespace {
constexpr int64_t kNow = 1'796'000'000'000;
constexpr int64_t kDay = 86'400'000, kHour = 3'600'000;

DeviceHealth healthy() {
  DeviceHealth d;
  d.device = "MDC-1";
  d.online = true;
  d.lastSeenMs = kNow - 1000;
  d.healthAtMs = kNow - 60'000;
  d.certNotAfterMs = kNow + 200 * kDay;
  d.gpsFix = true;
  return d;
}
}  // namespace

TEST_CASE("fleet health: each kind of trouble is named with how far along it is, most urgent first", "[fleet]") {
  const Thresholds t;
  CHECK(attention(healthy(), kNow, t).empty());

  auto d = healthy();
  d.certNotAfterMs = kNow + 12 * kDay + kHour;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"CERT-EXPIRES 12d"});
  d.certNotAfterMs = kNow - 1;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"CERT-EXPIRED"});
  d.certNotAfterMs = 0;  // not reported (no TLS): nothing to say
  CHECK(attention(d, kNow, t).empty());

  d = healthy();
  d.online = false;
  d.lastSeenMs = kNow - 3 * kDay;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"SILENT 3d"});
  d.lastSeenMs = kNow - 23 * kHour;  // off, but not yet for long
  CHECK(attention(d, kNow, t).empty());
  d.lastSeenMs = 0;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"NEVER-SEEN"});

  d = healthy();
  d.queueDepth = 5400;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"QUEUE 5400"});
  d.queueDepth = 999;
  CHECK(attention(d, kNow, t).empty());

  d = healthy();
  d.gpsFix = false;
  d.gpsNoFixSinceMs = kNow - 2 * kHour - 1;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"NO-GPS 2h"});
  d.gpsNoFixSinceMs = kNow - 59 * 60'000;
  CHECK(attention(d, kNow, t).empty());
  d.gpsNoFixSinceMs = kNow - 2 * kHour;
  d.online = false;  // off: its GPS is not the problem
  CHECK(attention(d, kNow, t).empty());

  d = healthy();
  d.certNotAfterMs = kNow - kDay;
  d.queueDepth = 2000;
  d.online = false;
  d.lastSeenMs = kNow - 2 * kDay;
  CHECK(attention(d, kNow, t) == std::vector<std::string>{"CERT-EXPIRED", "SILENT 2d", "QUEUE 2000"});

  Thresholds strict;
  strict.deepQueue = 5;
  strict.certExpiringMs = 365 * kDay;
  d = healthy();
  d.queueDepth = 6;
  CHECK(attention(d, kNow, strict) == std::vector<std::string>{"CERT-EXPIRES 200d", "QUEUE 6"});
}

TEST_CASE("fleet health: ages read as a person says them", "[fleet]") {
  CHECK(ageText(40'000) == "40s");
  CHECK(ageText(12 * 60'000 + 59'000) == "12m");
  CHECK(ageText(5 * kHour) == "5h");
  CHECK(ageText(3 * kDay + 23 * kHour) == "3d");
  CHECK(ageText(-5) == "0s");
}
