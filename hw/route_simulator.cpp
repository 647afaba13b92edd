#include "hw/route_simulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "shared/wire/geo.h"

namespace mdc::hw {

namespace {

constexpr double kStepS = 0.1;  // kinematics step: fine enough for 10 Hz fixes
// Grid directions: 0 uptown (+y), 1 crosstown (+x), 2 downtown, 3 -x.
constexpr int kDx[4] = {0, 1, 0, -1};
constexpr int kDy[4] = {1, 0, -1, 0};
// Receiver error correlation time: GPS error wanders over tens of seconds, not per fix.
constexpr double kNoiseTauS = 30.0;
// Braking is planned at 80 % of decelerationMps2 and followed with up to 120 %
// of it, so the stepped speed stays on its profile and stops on the line.
constexpr double kPlanBrakeShare = 0.8;
constexpr double kBrakeMargin = 1.2;

}  // namespace

RouteSimulator::RouteSimulator(RouteSimulatorOptions options, const Clock& clock)
    : opts_(std::move(options)),
      clock_(clock),
      startUtcMs_(opts_.startUtcMs ? opts_.startUtcMs : clock.nowMs()),
      rng_(opts_.seed) {
  nodeA_ = std::max(0, opts_.avenues / 2);
  nodeS_ = std::max(0, opts_.streets / 2);
  x_ = nodeA_ * opts_.avenueSpacingM;
  y_ = nodeS_ * opts_.streetSpacingM;
  dir_ = 0;
  heading_ = 0;
  cruise_ = uniform(opts_.avenueSpeedMinMps, opts_.avenueSpeedMaxMps);
  nextSceneS_ = opts_.sceneStopMeanGapS > 0 ? -std::log(1.0 - uniform(0, 0.999)) * opts_.sceneStopMeanGapS : 1e300;
  planNextBlock();
}

RouteSimulator::~RouteSimulator() {
  stop();
}

std::string RouteSimulator::describe() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "simulator seed %llu, %g Hz, x%g", static_cast<unsigned long long>(opts_.seed),
                opts_.rateHz, opts_.speedup);
  return buf;
}

// Uniform in [lo, hi) from the raw 64-bit engine: std::uniform_real_distribution
// differs between standard libraries, and a seed must give the same drive everywhere.
double RouteSimulator::uniform(double lo, double hi) {
  double u = double(rng_() >> 11) * (1.0 / 9007199254740992.0);
  return lo + (hi - lo) * u;
}

double RouteSimulator::gaussian() {  // Box-Muller
  double u1 = uniform(1e-12, 1.0), u2 = uniform(0.0, 1.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * geo::kPi * u2);
}

void RouteSimulator::toLatLon(double x, double y, double& lat, double& lon) const {
  double b = geo::toRad(opts_.gridBearingDeg);
  double east = x * std::cos(b) + y * std::sin(b);
  double north = -x * std::sin(b) + y * std::cos(b);
  geo::offset(opts_.originLat, opts_.originLon, east, north, lat, lon);
}

RouteTruth RouteSimulator::truth() const {
  RouteTruth t;
  toLatLon(x_, y_, t.lat, t.lon);
  t.speedMps = speed_;
  t.headingDeg = geo::normaliseDeg(opts_.gridBearingDeg + heading_);
  t.simTimeMs = simMs_;
  return t;
}

// At the start of a block (just past node (nodeA_, nodeS_), heading dir_):
// choose what happens at the next intersection and lay the straight leg to it.
void RouteSimulator::planNextBlock() {
  const int ta = nodeA_ + kDx[dir_], ts = nodeS_ + kDy[dir_];
  auto inside = [&](int a, int s) { return a >= 0 && a < opts_.avenues && s >= 0 && s < opts_.streets; };
  auto validFrom = [&](int d) { return inside(ta + kDx[d], ts + kDy[d]); };
  const int left = (dir_ + 3) % 4, right = (dir_ + 1) % 4;
  nextDir_ = dir_;
  if (uniform(0, 1) < opts_.turnProbability) nextDir_ = uniform(0, 1) < 0.5 ? left : right;
  if (!validFrom(nextDir_)) {
    // The grid's edge: straight if possible, else whichever way stays inside.
    if (validFrom(dir_))
      nextDir_ = dir_;
    else if (validFrom(left) && validFrom(right))
      nextDir_ = uniform(0, 1) < 0.5 ? left : right;
    else
      nextDir_ = validFrom(left) ? left : validFrom(right) ? right : (dir_ + 2) % 4;
  }
  const bool turning = nextDir_ != dir_;
  const double cx = ta * opts_.avenueSpacingM, cy = ts * opts_.streetSpacingM;
  const double r = turning ? opts_.turnRadiusM : 0.0;
  const double ex = cx - kDx[dir_] * r, ey = cy - kDy[dir_] * r;
  leg_ = Leg::Straight;
  legX_ = x_;
  legY_ = y_;
  legLen_ = std::fabs(ex - x_) + std::fabs(ey - y_);  // axis-aligned
  legPos_ = 0;
  stopAtEnd_ = uniform(0, 1) < opts_.redLightProbability || double(simMs_) / 1000.0 >= nextSceneS_;
  endSpeed_ = stopAtEnd_ ? 0.0 : turning ? opts_.turnSpeedMps : 1e9;
  if (turning) {
    // Quarter circle tangent to both streets, radius r, cutting the corner.
    arcCx_ = ex + kDx[nextDir_] * r;
    arcCy_ = ey + kDy[nextDir_] * r;
    arcFrom_ = dir_;
    arcTo_ = nextDir_;
  }
}

void RouteSimulator::advance(double dt) {
  if (waitS_ > 0) {
    speed_ = 0;
    waitS_ -= dt;
    stats_.stoppedMs += int64_t(std::llround(dt * 1000));
    return;
  }
  if (waitingAtEnd_) finishLeg();
  double remaining = legLen_ - legPos_;
  double target =
      leg_ == Leg::Arc
          ? std::min(cruise_, opts_.turnSpeedMps)
          : std::min(cruise_, std::sqrt(std::min(endSpeed_ * endSpeed_, 1e6) +
                                        2 * kPlanBrakeShare * opts_.decelerationMps2 * std::max(0.0, remaining)));
  if (speed_ < target)
    speed_ = std::min(target, speed_ + opts_.accelerationMps2 * dt);
  else
    speed_ = std::max(target, speed_ - opts_.decelerationMps2 * dt * kBrakeMargin);
  double step = speed_ * dt;
  bool legDone = false;
  if (leg_ == Leg::Straight && stopAtEnd_ && remaining < 0.05) {
    step = remaining;  // creep the last few centimetres onto the stop line
    legDone = true;
  } else if (legPos_ + step >= legLen_) {
    step = legLen_ - legPos_;
    legDone = true;
  }
  legPos_ += step;
  stats_.distanceM += step;
  stats_.maxSpeedMps = std::max(stats_.maxSpeedMps, speed_);

  if (leg_ == Leg::Straight) {
    x_ = legX_ + kDx[dir_] * legPos_;
    y_ = legY_ + kDy[dir_] * legPos_;
    heading_ = dir_ * 90.0;
  } else {
    double theta = legPos_ / opts_.turnRadiusM;
    // From the centre: start at -v (v = exit direction), end at u (u = entry direction).
    x_ = arcCx_ + opts_.turnRadiusM * (-kDx[arcTo_] * std::cos(theta) + kDx[arcFrom_] * std::sin(theta));
    y_ = arcCy_ + opts_.turnRadiusM * (-kDy[arcTo_] * std::cos(theta) + kDy[arcFrom_] * std::sin(theta));
    double turn = (arcTo_ == (arcFrom_ + 1) % 4) ? 90.0 : -90.0;
    heading_ = arcFrom_ * 90.0 + turn * std::min(1.0, theta / (geo::kPi / 2));
  }
  if (!legDone) return;

  if (leg_ == Leg::Straight && stopAtEnd_) {
    // At the stop line: wait for the light (or at the scene), then finishLeg().
    speed_ = 0;
    stopAtEnd_ = false;
    if (double(simMs_) / 1000.0 >= nextSceneS_) {
      ++stats_.sceneStops;
      waitS_ = uniform(opts_.sceneStopMinS, opts_.sceneStopMaxS);
      nextSceneS_ = double(simMs_) / 1000.0 + waitS_ - std::log(1.0 - uniform(0, 0.999)) * opts_.sceneStopMeanGapS;
    } else {
      ++stats_.redLights;
      waitS_ = uniform(opts_.redWaitMinS, opts_.redWaitMaxS);
    }
    waitingAtEnd_ = true;
    return;
  }
  finishLeg();
}

void RouteSimulator::finishLeg() {
  waitingAtEnd_ = false;
  if (leg_ == Leg::Straight && nextDir_ != dir_) {
    leg_ = Leg::Arc;
    legPos_ = 0;
    legLen_ = opts_.turnRadiusM * geo::kPi / 2;
    return;
  }
  if (leg_ == Leg::Arc) ++stats_.turns;
  ++stats_.intersections;
  nodeA_ += kDx[dir_];
  nodeS_ += kDy[dir_];
  dir_ = nextDir_;
  heading_ = dir_ * 90.0;
  bool avenue = dir_ % 2 == 0;  // uptown/downtown: along an avenue
  cruise_ = avenue ? uniform(opts_.avenueSpeedMinMps, opts_.avenueSpeedMaxMps)
                   : uniform(opts_.streetSpeedMinMps, opts_.streetSpeedMaxMps);
  planNextBlock();
}

Fix RouteSimulator::next() {
  const int64_t periodMs = std::max<int64_t>(1, std::llround(1000.0 / opts_.rateHz));
  if (fixIndex_ > 0) {
    int64_t target = simMs_ + periodMs;
    while (simMs_ < target) {
      int64_t stepMs = std::min<int64_t>(int64_t(kStepS * 1000), target - simMs_);
      simMs_ += stepMs;
      advance(double(stepMs) / 1000.0);
    }
  }
  ++fixIndex_;

  // Receiver error: a Gauss-Markov walk around the truth.
  const double dt = double(periodMs) / 1000.0;
  const double a = std::exp(-dt / kNoiseTauS), s = opts_.positionNoiseM * std::sqrt(1 - a * a);
  noiseE_ = noiseE_ * a + s * gaussian();
  noiseN_ = noiseN_ * a + s * gaussian();
  if (fixIndex_ == 1) {
    eph_ = uniform(opts_.ephMinM, opts_.ephMaxM);
    sats_ = int(uniform(opts_.satellitesMin, opts_.satellitesMax + 1));
  } else {
    eph_ = std::clamp(eph_ + 0.1 * gaussian(), opts_.ephMinM, opts_.ephMaxM);
    if (uniform(0, 1) < 0.02)
      sats_ = std::clamp(sats_ + (uniform(0, 1) < 0.5 ? -1 : 1), opts_.satellitesMin, opts_.satellitesMax);
  }

  Fix f;
  f.mode = Fix::Mode::Fix3D;
  f.timeMs = startUtcMs_ + simMs_;
  f.receivedMonoMs = simMs_;
  double lat, lon;
  toLatLon(x_, y_, lat, lon);
  double offE = noiseE_, offN = noiseN_;
  f.ephM = eph_;
  if (opts_.badFixRate > 0 && uniform(0, 1) < opts_.badFixRate) {
    ++stats_.badFixes;
    double bearing = uniform(0, 2 * geo::kPi);
    double off;
    if (uniform(0, 1) < 0.5) {
      off = uniform(200, 1500);  // multipath jump: looks confident, is wrong
    } else {
      f.ephM = uniform(60, 250);  // poor geometry: honest about it
      off = f.ephM * std::fabs(gaussian());
    }
    offE += off * std::sin(bearing);
    offN += off * std::cos(bearing);
  }
  geo::offset(lat, lon, offE, offN, f.lat, f.lon);
  f.altM = 12.0 + 0.5 * noiseN_;
  f.speedMps = std::max(0.0, speed_ + 0.08 * gaussian());
  // Receivers hold the last course when nearly stopped: it is noise below ~1 m/s.
  double heading = geo::normaliseDeg(opts_.gridBearingDeg + heading_);
  if (speed_ > 1.0) lastTrack_ = geo::normaliseDeg(heading + 0.8 * gaussian());
  f.trackDeg = lastTrack_;
  f.satellitesUsed = sats_;
  return f;
}

std::vector<Fix> RouteSimulator::drive(int64_t durationMs) {
  std::vector<Fix> out;
  const int64_t end = simMs_ + durationMs;
  if (fixIndex_ == 0) out.push_back(next());
  const int64_t periodMs = std::max<int64_t>(1, std::llround(1000.0 / opts_.rateHz));
  while (simMs_ + periodMs <= end) out.push_back(next());
  return out;
}

void RouteSimulator::start(GpsSink& sink) {
  loop_.start([this, &sink] { run(sink); });
}

void RouteSimulator::stop() {
  loop_.stop();
}

void RouteSimulator::run(GpsSink& sink) {
  sink.onSourceState(true, describe() + ": driving");
  const double wallPeriodMs = 1000.0 / opts_.rateHz / std::max(1e-3, opts_.speedup);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0;; ++k) {
    auto due = t0 + std::chrono::microseconds(int64_t(double(k) * wallPeriodMs * 1000.0));
    if (!loop_.sleepUntil(due)) return;
    Fix f = next();
    f.receivedMonoMs = clock_.monotonicMs();
    sink.onFix(f);
  }
}

}  // namespace mdc::hw
