#include "hw/fix_time.h"

#include <cstdlib>

namespace mdc::hw {

namespace {
constexpr int64_t kAgreeMs = 86'400'000;                 // a day: an RTC drifts, a rollover is years
constexpr int64_t kSystemClockSetMs = 1'577'836'800'000;  // 2020-01-01: before, the system clock is unset
}  // namespace

FixTimeJudgement judgeFixTime(int64_t fixTimeMs, int64_t systemNowMs) {
  FixTimeJudgement j;
  if (fixTimeMs <= 0) return j;
  j.offsetMs = fixTimeMs - systemNowMs;
  if (systemNowMs < kSystemClockSetMs || std::llabs(j.offsetMs) <= kAgreeMs) {
    j.condition = FixTimeCondition::Agrees;
    j.timeMs = fixTimeMs;
    return j;
  }
  for (int k : {1, -1, 2, -2, 3, -3}) {
    const int64_t corrected = fixTimeMs + k * kGpsRolloverMs;
    if (std::llabs(corrected - systemNowMs) <= kAgreeMs) {
      j.condition = FixTimeCondition::RolloverCorrected;
      j.timeMs = corrected;
      j.rolloverPeriods = k;
      return j;
    }
  }
  j.condition = FixTimeCondition::Untrusted;
  return j;
}

std::string describe(const FixTimeJudgement& j) {
  const int64_t days = std::llabs(j.offsetMs) / 86'400'000;
  const std::string way = j.offsetMs < 0 ? "behind" : "ahead of";
  switch (j.condition) {
    case FixTimeCondition::None: return "the receiver gives no time";
    case FixTimeCondition::Agrees: return "GPS time agrees with the system clock";
    case FixTimeCondition::RolloverCorrected:
      return "GPS time " + std::to_string(std::abs(j.rolloverPeriods) * 1024) + " weeks " + way +
             " the system clock (week-number rollover): corrected";
    case FixTimeCondition::Untrusted:
      return "GPS time " + std::to_string(days) + " days " + way +
             " the system clock and not a rollover: events are stamped with the system clock";
  }
  return "";
}

}  // namespace mdc::hw
