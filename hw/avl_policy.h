#pragma once
// When the vehicle reports its position (AVL): a pure decision over (last
// report, new fix, vehicle state, time), plus a small owner of its memory and
// counters. No clock is read here: the caller passes monotonic time, so tests
// and benchmarks drive hours of driving without waiting.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "hw/gps_source.h"

namespace mdc::hw {

/** Why a report is sent. Values equal mdc.v1.AvlTrigger (shared/proto/mdc/v1/mdc.proto). */
enum class AvlTrigger : int {
  None = 0,       ///< no report (AVL_TRIGGER_UNSPECIFIED never goes on the wire)
  Interval = 1,   ///< moving interval or stationary heartbeat elapsed; also the very first report
  Distance = 2,   ///< moved further than distanceM since the last report
  Heading = 3,    ///< turned more than headingDeg at speed
  Status = 4,     ///< the unit's status changed
  Emergency = 5,  ///< emergency active: fast reporting
  Connect = 6,    ///< first live position after the link came back
};
inline constexpr int kAvlTriggerCount = 7;

/** Why a fix was not used at all (it neither reports nor moves the baseline). */
enum class AvlFilterReason : int {
  None = 0,                ///< accepted
  NoPosition,              ///< mode NoFix/Unknown: nothing to report, and nothing is invented
  BadCoordinates,          ///< NaN or outside -90..90 / -180..180
  Stale,                   ///< received longer ago than maxFixAgeMs: a frozen position is not current
  PoorAccuracy,            ///< ephM above maxEphM
  ImpossibleSpeed,         ///< reported speed above maxPlausibleSpeedMps
  ImpossibleJump,          ///< distance from the last accepted fix implies more than maxPlausibleSpeedMps
  ImpossibleAcceleration,  ///< speed changed faster than maxAccelerationMps2
  OutOfOrder,              ///< GPS time before the last accepted fix's
};
inline constexpr int kAvlFilterReasonCount = 9;

const char* toString(AvlTrigger t);       ///< "interval", "distance", ... ("none")
const char* toString(AvlFilterReason r);  ///< "no_position", "poor_accuracy", ... ("none")

/** Thresholds. Defaults follow common public-safety AVL practice (reports every
 *  5-30 s while moving, a heading trigger so turns are drawn as corners, fast
 *  reporting in an emergency) and the uplink budget (see tests/bench/avl_rate). */
struct AvlPolicyConfig {
  /** Moving: at most this long between reports (15 s). At 50 km/h that is
   *  ~200 m, about two city blocks: a dispatcher can pick the closest unit,
   *  and the distance/heading triggers fill in faster movement. */
  int64_t movingIntervalMs = 15'000;
  /** Stationary heartbeat (60 s): proves the unit and its GPS are alive while
   *  parked, at a quarter of the moving rate; presence covers the link itself. */
  int64_t stationaryIntervalMs = 60'000;
  /** Below this ground speed the unit counts as stationary (1.0 m/s = 3.6 km/h):
   *  above GPS speed noise of a parked receiver (~0.1-0.5 m/s), below walking pace. */
  double stationarySpeedMps = 1.0;
  /** Moved this far since the last report (50 m): half a short city block,
   *  so a fast-moving unit is never more than ~50 m off on the map. */
  double distanceM = 50.0;
  /** Course changed this much since the last report (15°)... */
  double headingDeg = 15.0;
  /** ...while at least this fast (2.5 m/s = 9 km/h): below it GPS course
   *  over ground is noise and a parked car would "turn" all the time. */
  double headingMinSpeedMps = 2.5;
  /** Emergency active: report this often (1 s), the help-is-coming rate. */
  int64_t emergencyIntervalMs = 1'000;
  /** Distance and heading triggers never fire closer than this (1 s), so a
   *  10 Hz receiver in a U-turn cannot flood the uplink. Status, emergency
   *  and connect reports ignore it. */
  int64_t minIntervalMs = 1'000;
  /** Fixes with a horizontal error estimate above this are dropped (50 m):
   *  worse than the distance trigger itself, such a point would draw the unit
   *  on the wrong street. Unknown (NaN) eph is accepted: many receivers omit it. */
  double maxEphM = 50.0;
  /** Faster than this is not a road vehicle (70 m/s = 252 km/h), whether
   *  reported or implied by two consecutive fixes (multipath jumps). */
  double maxPlausibleSpeedMps = 70.0;
  /** Speed changing faster than this is not a road vehicle (10 m/s² ≈ 1 g,
   *  beyond emergency braking). */
  double maxAccelerationMps2 = 10.0;
  /** A fix older than this (monotonic receive time vs now) is stale (5 s):
   *  never passed off as the current position. */
  int64_t maxFixAgeMs = 5'000;
  /** After this many consecutive "impossible jump" fixes that agree with one
   *  another, the new place is believed (5): one bad accepted fix must not
   *  lock the policy out forever. */
  int jumpResyncFixes = 5;

  /** Empty when usable, else "avl.distance_m -1: must be 1..10000" (the config key and value). */
  std::optional<std::string> validate() const;
};

/** What the agent knows beyond the fix. */
struct AvlVehicleState {
  bool emergencyActive = false;    ///< emergency raised and not yet cleared
  bool statusChanged = false;      ///< the unit's status changed since the last decision
  bool firstAfterConnect = false;  ///< the link just came back: send the live position now
};

/** What was last reported (the baseline of the distance/heading/interval triggers). */
struct AvlReportRecord {
  double lat = 0, lon = 0;
  int64_t monoMs = 0;     ///< monotonic time of the decision that reported it
  int64_t gpsTimeMs = 0;  ///< the fix's GPS time (0 when it had none)
  double trackDeg = __builtin_nan("");
  double speedMps = __builtin_nan("");
  AvlTrigger trigger = AvlTrigger::None;
};

/** The outcome for one fix. report implies filtered == None and trigger != None. */
struct AvlDecision {
  bool report = false;
  AvlTrigger trigger = AvlTrigger::None;
  AvlFilterReason filtered = AvlFilterReason::None;
  double distanceFromLastReportM = __builtin_nan("");  ///< for logs/diagnostics; NaN without a previous report
};

/** The pure policy. previous: the last report (none yet: the first good fix is
 *  reported, trigger Interval). previousAcceptedFix: the last fix this policy
 *  accepted (for the jump/acceleration/order filters). nowMonoMs: monotonic
 *  now, on the same clock as Fix::receivedMonoMs. */
AvlDecision decideAvl(const AvlPolicyConfig& config, const std::optional<AvlReportRecord>& previous, const Fix& fix,
                      const AvlVehicleState& state, int64_t nowMonoMs, const std::optional<Fix>& previousAcceptedFix);

/** What AvlPolicy saw, by outcome. Plain values: copy it to read it. */
struct AvlCounters {
  uint64_t offered = 0;   ///< fixes passed to offer()
  uint64_t accepted = 0;  ///< not filtered
  uint64_t reports = 0;   ///< decisions with report = true
  uint64_t resyncs = 0;   ///< times a run of consistent "jumps" was believed (see jumpResyncFixes)
  std::array<uint64_t, kAvlTriggerCount> byTrigger{};      ///< indexed by int(AvlTrigger)
  std::array<uint64_t, kAvlFilterReasonCount> byFilter{};  ///< indexed by int(AvlFilterReason); [0] unused
  uint64_t reportsFor(AvlTrigger t) const { return byTrigger[size_t(t)]; }
  uint64_t filtered(AvlFilterReason r) const { return byFilter[size_t(r)]; }
  uint64_t filteredTotal() const;
};

/** decideAvl plus its memory: the last report, the last accepted fix and the
 *  counters. Not thread-safe: owned by the agent's event loop. */
class AvlPolicy {
 public:
  /** Throws std::invalid_argument with validate()'s message when the config is unusable. */
  explicit AvlPolicy(AvlPolicyConfig config = {});

  /** Decides for one fix at monotonic nowMonoMs and remembers it: when the
   *  decision reports, the fix becomes the new baseline (the caller must then
   *  enqueue the report; the policy assumes it did). */
  AvlDecision offer(const Fix& fix, const AvlVehicleState& state, int64_t nowMonoMs);

  const AvlPolicyConfig& config() const { return config_; }
  const std::optional<AvlReportRecord>& lastReport() const { return lastReport_; }
  const std::optional<Fix>& lastAcceptedFix() const { return lastAccepted_; }
  AvlCounters counters() const { return counters_; }
  /** Forgets the baseline (e.g. the GPS source was replaced); counters stay. */
  void reset();
  /** Replaces the moving interval and stationary heartbeat (the agency's
   *  configuration); the baseline stays. Returns validate()'s message and
   *  changes nothing when the result would be unusable. */
  std::optional<std::string> setIntervals(int64_t movingIntervalMs, int64_t stationaryIntervalMs);

 private:
  AvlPolicyConfig config_;
  std::optional<AvlReportRecord> lastReport_;
  std::optional<Fix> lastAccepted_;
  std::optional<Fix> lastJump_;  // the latest fix rejected as a jump
  int consistentJumps_ = 0;
  AvlCounters counters_;
};

/** recorded_at for an event, and which clock gave it (GPS or system). */
struct RecordedAt {
  int64_t unixMs = 0;
  bool fromGps = false;  ///< true: mdc.v1 CLOCK_SOURCE_GPS, false: CLOCK_SOURCE_SYSTEM
};

/** GPS time is the reference when the latest fix is good (has a position and a
 *  time, received at most maxFixAgeMs ago): its time plus the monotonic time
 *  elapsed since it arrived. Otherwise the system clock. A jump of the system
 *  clock changes neither the GPS-based times nor the outbox order (which is
 *  the per-device seq, never recorded_at). */
RecordedAt recordedAtFor(const std::optional<Fix>& latestFix, int64_t nowMonoMs, int64_t systemNowMs,
                         int64_t maxFixAgeMs = 5'000);

}  // namespace mdc::hw
