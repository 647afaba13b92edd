#pragma once
// Whether a receiver's time can stamp an event. Older receivers hit by the GPS
// week-number rollover report dates 1024 weeks (about 19.6 years) in the past
// (gpsd's own correction can also push a good date 1024 weeks ahead); others
// report dates years off for reasons of their own. The fix's time is judged
// against the system clock: trusted when they agree, corrected when they
// differ by whole rollover periods, else set aside for the system clock. A
// valid position is never dropped for its timestamp. Pure logic.
#include <cstdint>
#include <string>

namespace mdc::hw {

/** 1024 GPS weeks in ms. */
inline constexpr int64_t kGpsRolloverMs = int64_t(1024) * 7 * 86'400'000;

enum class FixTimeCondition {
  None,             ///< the receiver gave no time
  Agrees,           ///< within a day of the system clock (or the system clock is unset)
  RolloverCorrected,///< off by whole rollover periods: corrected
  Untrusted,        ///< off by anything else: the system clock stamps events
};

struct FixTimeJudgement {
  FixTimeCondition condition = FixTimeCondition::None;
  int64_t timeMs = 0;        ///< the time to use for the fix: corrected, or 0 when it is not to be used
  int rolloverPeriods = 0;   ///< RolloverCorrected: periods added (negative: removed)
  int64_t offsetMs = 0;      ///< the receiver's time minus the system clock, as reported
};

/** Judges a receiver's time (Unix ms, 0: none) against the system clock. A
 *  system clock before 2020 is taken as unset: the receiver's time is used. */
FixTimeJudgement judgeFixTime(int64_t fixTimeMs, int64_t systemNowMs);

/** "GPS time agrees with the system clock", "GPS time 1024 weeks behind: corrected", ... */
std::string describe(const FixTimeJudgement& j);

}  // namespace mdc::hw
