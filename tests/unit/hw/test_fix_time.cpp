// A receiver's time judged against the system clock: trusted, corrected by
// whole GPS week-number rollovers, or set aside for the system clock.
#include <catch2/catch.hpp>

#include "hw/fix_time.h"

using namespace mdc::hw;

namespace {
constexpr int64_t kNow = 1'796'126'400'000;  // 2026-12-01T12:00:00Z
constexpr int64_t kDay = 86'400'000;
}  // namespace

TEST_CASE("a receiver time within a day of the system clock is used as it is", "[hw][gps][time]") {
  auto j = judgeFixTime(kNow - 3 * 3'600'000, kNow);
  CHECK(j.condition == FixTimeCondition::Agrees);
  CHECK(j.timeMs == kNow - 3 * 3'600'000);
  CHECK(judgeFixTime(0, kNow).condition == FixTimeCondition::None);
  CHECK(judgeFixTime(0, kNow).timeMs == 0);
}

TEST_CASE("a receiver 1024 weeks behind (or ahead, or 2048 behind) is corrected by whole periods",
          "[hw][gps][time]") {
  const int64_t exact = kNow + 1500;  // the receiver's sub-second part survives
  auto back = judgeFixTime(exact - kGpsRolloverMs, kNow);
  CHECK(back.condition == FixTimeCondition::RolloverCorrected);
  CHECK(back.rolloverPeriods == 1);
  CHECK(back.timeMs == exact);
  CHECK(describe(back) == "GPS time 1024 weeks behind the system clock (week-number rollover): corrected");
  auto ahead = judgeFixTime(exact + kGpsRolloverMs, kNow);
  CHECK(ahead.condition == FixTimeCondition::RolloverCorrected);
  CHECK(ahead.rolloverPeriods == -1);
  CHECK(ahead.timeMs == exact);
  auto twice = judgeFixTime(exact - 2 * kGpsRolloverMs, kNow);
  CHECK(twice.rolloverPeriods == 2);
  CHECK(twice.timeMs == exact);
  // A system clock a few hours off does not stop the correction.
  CHECK(judgeFixTime(kNow - kGpsRolloverMs, kNow + 5 * 3'600'000).timeMs == kNow);
}

TEST_CASE("a receiver years off by anything else is not used, the system clock stamps events", "[hw][gps][time]") {
  auto j = judgeFixTime(kNow + 8 * 365 * kDay, kNow);
  CHECK(j.condition == FixTimeCondition::Untrusted);
  CHECK(j.timeMs == 0);
  CHECK(j.offsetMs == 8 * 365 * kDay);
  CHECK(describe(j) == "GPS time 2920 days ahead of the system clock and not a rollover: events are stamped with "
                       "the system clock");
  CHECK(judgeFixTime(kNow - 3 * kDay, kNow).condition == FixTimeCondition::Untrusted);
}

TEST_CASE("an unset system clock (before 2020) defers to the receiver", "[hw][gps][time]") {
  auto j = judgeFixTime(kNow, 86'400'000);  // 1970-01-02: an RTC that lost its battery
  CHECK(j.condition == FixTimeCondition::Agrees);
  CHECK(j.timeMs == kNow);
}
