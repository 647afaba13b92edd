#include "hw/avl_policy.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "shared/wire/geo.h"

namespace mdc::hw {

namespace {

// Error tolerance for the jump filter when a fix carries no eph: a consumer
// receiver's typical 95 % horizontal error.
constexpr double kDefaultEphM = 10.0;
// Below this distance two fixes are the same place (heading cannot be derived).
constexpr double kMinBearingDistanceM = 5.0;

std::string rangeError(const char* key, double value, const char* range) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %g: must be %s", key, value, range);
  return buf;
}

double ephOr(const Fix& f, double dflt) {
  return std::isfinite(f.ephM) ? f.ephM : dflt;
}

// Seconds between two fixes: GPS time when both have it (the receiver's own
// cadence), else the monotonic receive times.
double secondsBetween(const Fix& a, const Fix& b) {
  if (a.timeMs > 0 && b.timeMs > 0) return double(b.timeMs - a.timeMs) / 1000.0;
  return double(b.receivedMonoMs - a.receivedMonoMs) / 1000.0;
}

// Filters that compare the fix with the last accepted one.
AvlFilterReason checkAgainst(const AvlPolicyConfig& c, const Fix& prev, const Fix& fix) {
  double dist = geo::distanceM(prev.lat, prev.lon, fix.lat, fix.lon);
  double tolerance = ephOr(prev, kDefaultEphM) + ephOr(fix, kDefaultEphM);
  double dt = secondsBetween(prev, fix);
  if (dt < 0) return AvlFilterReason::OutOfOrder;
  if (dt == 0) {
    // The same epoch again (gpsd sends a TPV per sentence): fine if it is the same place.
    return dist > tolerance ? AvlFilterReason::ImpossibleJump : AvlFilterReason::None;
  }
  if (std::fmax(0.0, dist - tolerance) / dt > c.maxPlausibleSpeedMps) return AvlFilterReason::ImpossibleJump;
  if (std::isfinite(prev.speedMps) && std::isfinite(fix.speedMps) &&
      std::fabs(fix.speedMps - prev.speedMps) / dt > c.maxAccelerationMps2)
    return AvlFilterReason::ImpossibleAcceleration;
  return AvlFilterReason::None;
}

// Ground speed: the receiver's, else derived from the last accepted fix.
double speedOf(const Fix& fix, const std::optional<Fix>& prev) {
  if (std::isfinite(fix.speedMps)) return fix.speedMps;
  if (!prev) return __builtin_nan("");
  double dt = secondsBetween(*prev, fix);
  if (dt <= 0) return __builtin_nan("");
  return geo::distanceM(prev->lat, prev->lon, fix.lat, fix.lon) / dt;
}

// Course: the receiver's, else the bearing from the last accepted fix when it moved enough.
double trackOf(const Fix& fix, const std::optional<Fix>& prev) {
  if (std::isfinite(fix.trackDeg)) return fix.trackDeg;
  if (!prev || geo::distanceM(prev->lat, prev->lon, fix.lat, fix.lon) < kMinBearingDistanceM) return __builtin_nan("");
  return geo::bearingDeg(prev->lat, prev->lon, fix.lat, fix.lon);
}

}  // namespace

const char* toString(AvlTrigger t) {
  switch (t) {
    case AvlTrigger::None:
      return "none";
    case AvlTrigger::Interval:
      return "interval";
    case AvlTrigger::Distance:
      return "distance";
    case AvlTrigger::Heading:
      return "heading";
    case AvlTrigger::Status:
      return "status";
    case AvlTrigger::Emergency:
      return "emergency";
    case AvlTrigger::Connect:
      return "connect";
  }
  return "?";
}

const char* toString(AvlFilterReason r) {
  switch (r) {
    case AvlFilterReason::None:
      return "none";
    case AvlFilterReason::NoPosition:
      return "no_position";
    case AvlFilterReason::BadCoordinates:
      return "bad_coordinates";
    case AvlFilterReason::Stale:
      return "stale";
    case AvlFilterReason::PoorAccuracy:
      return "poor_accuracy";
    case AvlFilterReason::ImpossibleSpeed:
      return "impossible_speed";
    case AvlFilterReason::ImpossibleJump:
      return "impossible_jump";
    case AvlFilterReason::ImpossibleAcceleration:
      return "impossible_acceleration";
    case AvlFilterReason::OutOfOrder:
      return "out_of_order";
  }
  return "?";
}

std::optional<std::string> AvlPolicyConfig::validate() const {
  auto ms = [](const char* key, int64_t v, int64_t lo, int64_t hi) -> std::optional<std::string> {
    if (v >= lo && v <= hi) return std::nullopt;
    return std::string(key) + " " + std::to_string(v) + ": must be " + std::to_string(lo) + ".." + std::to_string(hi);
  };
  auto num = [](const char* key, double v, double lo, double hi, const char* range) -> std::optional<std::string> {
    if (std::isfinite(v) && v >= lo && v <= hi) return std::nullopt;
    return rangeError(key, v, range);
  };
  for (auto e :
       {ms("avl.moving_interval_ms", movingIntervalMs, 1'000, 3'600'000),
        ms("avl.stationary_interval_ms", stationaryIntervalMs, 1'000, 86'400'000),
        ms("avl.emergency_interval_ms", emergencyIntervalMs, 200, 60'000),
        ms("avl.min_interval_ms", minIntervalMs, 0, 60'000), ms("avl.max_fix_age_ms", maxFixAgeMs, 500, 600'000),
        ms("avl.jump_resync_fixes", jumpResyncFixes, 2, 1'000),
        num("avl.stationary_speed_mps", stationarySpeedMps, 0, 20, "0..20"),
        num("avl.distance_m", distanceM, 1, 10'000, "1..10000"), num("avl.heading_deg", headingDeg, 1, 180, "1..180"),
        num("avl.heading_min_speed_mps", headingMinSpeedMps, 0, 50, "0..50"),
        num("avl.max_eph_m", maxEphM, 1, 100'000, "1..100000"),
        num("avl.max_plausible_speed_mps", maxPlausibleSpeedMps, 10, 400, "10..400"),
        num("avl.max_acceleration_mps2", maxAccelerationMps2, 1, 100, "1..100")})
    if (e) return e;
  if (stationaryIntervalMs < movingIntervalMs)
    return "avl.stationary_interval_ms " + std::to_string(stationaryIntervalMs) +
           ": must not be shorter than avl.moving_interval_ms (" + std::to_string(movingIntervalMs) + ")";
  if (minIntervalMs > movingIntervalMs)
    return "avl.min_interval_ms " + std::to_string(minIntervalMs) + ": must not exceed avl.moving_interval_ms (" +
           std::to_string(movingIntervalMs) + ")";
  return std::nullopt;
}

AvlDecision decideAvl(const AvlPolicyConfig& c, const std::optional<AvlReportRecord>& previous, const Fix& fix,
                      const AvlVehicleState& state, int64_t nowMonoMs, const std::optional<Fix>& previousAcceptedFix) {
  AvlDecision d;
  auto filter = [&](AvlFilterReason r) {
    d.filtered = r;
    return d;
  };
  if (!fix.hasPosition()) return filter(AvlFilterReason::NoPosition);
  if (!std::isfinite(fix.lat) || !std::isfinite(fix.lon) || std::fabs(fix.lat) > 90 || std::fabs(fix.lon) > 180)
    return filter(AvlFilterReason::BadCoordinates);
  if (nowMonoMs - fix.receivedMonoMs > c.maxFixAgeMs) return filter(AvlFilterReason::Stale);
  if (std::isfinite(fix.ephM) && fix.ephM > c.maxEphM) return filter(AvlFilterReason::PoorAccuracy);
  if (std::isfinite(fix.speedMps) && fix.speedMps > c.maxPlausibleSpeedMps)
    return filter(AvlFilterReason::ImpossibleSpeed);
  if (previousAcceptedFix && previousAcceptedFix->hasPosition()) {
    AvlFilterReason r = checkAgainst(c, *previousAcceptedFix, fix);
    if (r != AvlFilterReason::None) return filter(r);
  }

  auto reportAs = [&](AvlTrigger t) {
    d.report = true;
    d.trigger = t;
    return d;
  };
  if (!previous) return reportAs(AvlTrigger::Interval);
  const int64_t elapsed = nowMonoMs - previous->monoMs;
  const double dist = geo::distanceM(previous->lat, previous->lon, fix.lat, fix.lon);
  d.distanceFromLastReportM = dist;
  if (state.statusChanged) return reportAs(AvlTrigger::Status);
  if (state.firstAfterConnect) return reportAs(AvlTrigger::Connect);
  if (state.emergencyActive && elapsed >= c.emergencyIntervalMs) return reportAs(AvlTrigger::Emergency);

  const double speed = speedOf(fix, previousAcceptedFix);
  const bool moving = std::isfinite(speed) ? speed >= c.stationarySpeedMps : dist >= c.distanceM;
  if (elapsed >= c.minIntervalMs) {
    const double track = trackOf(fix, previousAcceptedFix);
    if (std::isfinite(speed) && speed >= c.headingMinSpeedMps && std::isfinite(track) &&
        std::isfinite(previous->trackDeg) && geo::headingDifferenceDeg(track, previous->trackDeg) >= c.headingDeg)
      return reportAs(AvlTrigger::Heading);
    // Drift of a parked receiver within its own error estimate is no movement.
    if (dist >= c.distanceM && dist > ephOr(fix, 0)) return reportAs(AvlTrigger::Distance);
  }
  if (elapsed >= (moving ? c.movingIntervalMs : c.stationaryIntervalMs)) return reportAs(AvlTrigger::Interval);
  return d;
}

uint64_t AvlCounters::filteredTotal() const {
  uint64_t n = 0;
  for (size_t i = 1; i < byFilter.size(); ++i) n += byFilter[i];
  return n;
}

AvlPolicy::AvlPolicy(AvlPolicyConfig config) : config_(config) {
  if (auto err = config_.validate()) throw std::invalid_argument("config: " + *err);
}

void AvlPolicy::reset() {
  lastReport_.reset();
  lastAccepted_.reset();
  lastJump_.reset();
  consistentJumps_ = 0;
}

std::optional<std::string> AvlPolicy::setIntervals(int64_t movingIntervalMs, int64_t stationaryIntervalMs) {
  AvlPolicyConfig next = config_;
  next.movingIntervalMs = movingIntervalMs;
  next.stationaryIntervalMs = stationaryIntervalMs;
  if (auto err = next.validate()) return err;
  config_ = next;
  return std::nullopt;
}

AvlDecision AvlPolicy::offer(const Fix& fix, const AvlVehicleState& state, int64_t nowMonoMs) {
  ++counters_.offered;
  AvlDecision d = decideAvl(config_, lastReport_, fix, state, nowMonoMs, lastAccepted_);
  if (d.filtered == AvlFilterReason::ImpossibleJump) {
    // A run of fixes that agree with each other but not with the baseline:
    // after jumpResyncFixes of them the baseline was the wrong one.
    bool consistent = lastJump_ && checkAgainst(config_, *lastJump_, fix) == AvlFilterReason::None;
    consistentJumps_ = consistent ? consistentJumps_ + 1 : 1;
    lastJump_ = fix;
    if (consistentJumps_ >= config_.jumpResyncFixes) {
      ++counters_.resyncs;
      d = decideAvl(config_, lastReport_, fix, state, nowMonoMs, std::nullopt);
    }
  }
  if (d.filtered != AvlFilterReason::None) {
    ++counters_.byFilter[size_t(d.filtered)];
    return d;
  }
  consistentJumps_ = 0;
  lastJump_.reset();
  ++counters_.accepted;
  // Keep a derived course on the baseline so the next heading check has one.
  Fix accepted = fix;
  if (!std::isfinite(accepted.trackDeg)) accepted.trackDeg = trackOf(fix, lastAccepted_);
  // (A derived speed is not kept: over 0.1 s at 10 Hz it is mostly position noise.)
  const double speed = speedOf(fix, lastAccepted_);
  lastAccepted_ = accepted;
  if (d.report) {
    ++counters_.reports;
    ++counters_.byTrigger[size_t(d.trigger)];
    lastReport_ =
        AvlReportRecord{accepted.lat, accepted.lon, nowMonoMs, accepted.timeMs, accepted.trackDeg, speed, d.trigger};
  }
  return d;
}

RecordedAt recordedAtFor(const std::optional<Fix>& latest, int64_t nowMonoMs, int64_t systemNowMs,
                         int64_t maxFixAgeMs) {
  if (latest && latest->hasPosition() && latest->timeMs > 0) {
    int64_t age = nowMonoMs - latest->receivedMonoMs;
    if (age >= 0 && age <= maxFixAgeMs) return {latest->timeMs + age, true};
  }
  return {systemNowMs, false};
}

}  // namespace mdc::hw
