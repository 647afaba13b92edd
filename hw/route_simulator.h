#pragma once
// A seedable drive through a Manhattan-like street grid for demos, tests and
// benchmarks: realistic speeds, accelerations, stops at red lights, turns drawn
// as arcs, an occasional longer stop at a scene, and fixes with realistic noise.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hw/gps_source.h"
#include "hw/source_loop.h"
#include "shared/wire/clock.h"

namespace mdc::hw {

struct RouteSimulatorOptions {
  uint64_t seed = 1;
  /** Fixes per second of simulated time (1 Hz is a typical AVL receiver, 10 Hz a fast one). */
  double rateHz = 1.0;
  /** GPS UTC of the drive's start (Unix ms); 0: the clock's nowMs() at construction. */
  int64_t startUtcMs = 0;
  /** Grid origin: Midtown Manhattan. Avenues run 29° east of true north as on the island. */
  double originLat = 40.75;
  double originLon = -73.99;
  double gridBearingDeg = 29.0;
  /** Block lengths: ~80 m between streets, ~270 m between avenues (Manhattan's). */
  double streetSpacingM = 80.0;
  double avenueSpacingM = 270.0;
  /** The area driven: avenues × streets intersections (the car turns back at the edge). */
  int avenues = 8;
  int streets = 40;
  /** Cruise speed drawn per block, m/s: 8-14 (29-50 km/h) on avenues, 6-10 on streets. */
  double avenueSpeedMinMps = 8.0, avenueSpeedMaxMps = 14.0;
  double streetSpeedMinMps = 6.0, streetSpeedMaxMps = 10.0;
  double accelerationMps2 = 1.8;  ///< a brisk but ordinary start
  double decelerationMps2 = 2.5;  ///< ordinary braking for a light
  double turnSpeedMps = 4.5;      ///< through a corner of turnRadiusM
  double turnRadiusM = 9.0;
  /** At each intersection: chance to turn (left or right, equally), chance of a red light, and its wait. */
  double turnProbability = 0.3;
  double redLightProbability = 0.35;
  double redWaitMinS = 10, redWaitMaxS = 45;
  /** A longer stop at a scene every so often (exponential gap, mean in s; 0: never), lasting min-max s. */
  double sceneStopMeanGapS = 1200;
  double sceneStopMinS = 120, sceneStopMaxS = 420;
  /** Receiver noise: horizontal 1-sigma position error (m), eph range (m), satellites used range. */
  double positionNoiseM = 2.0;
  double ephMinM = 3.0, ephMaxM = 9.0;
  int satellitesMin = 7, satellitesMax = 12;
  /** Fraction of fixes that are bad: half multipath jumps (200-1500 m off, eph normal), half
   *  poor solutions (eph 60-250 m, off by about that much). 0 by default. */
  double badFixRate = 0.0;
  /** Real-time mode: simulated seconds per wall second (10: a 1-hour drive in 6 minutes). */
  double speedup = 1.0;
};

/** What the simulator knows about its drive, beyond the fixes. */
struct RouteSimulatorStats {
  double distanceM = 0;   ///< true distance driven
  int intersections = 0;  ///< intersections crossed or turned at
  int turns = 0;
  int redLights = 0;  ///< stops at a red light
  int sceneStops = 0;
  int64_t stoppedMs = 0;  ///< simulated time at standstill
  int badFixes = 0;       ///< fixes deliberately made bad (badFixRate)
  double maxSpeedMps = 0;
};

/** The vehicle's true state (no receiver noise), for tests. */
struct RouteTruth {
  double lat = 0, lon = 0, speedMps = 0, headingDeg = 0;
  int64_t simTimeMs = 0;
};

/** RouteSimulator is a GpsSource in two modes: start(sink) runs it on its own
 *  thread in (optionally accelerated) wall time; next()/drive() step it by
 *  hand with no waiting. The same seed gives the same drive and the same fixes.
 *  Thread-safety: do not call next()/drive() while started; start/stop from one thread. */
class RouteSimulator final : public GpsSource {
 public:
  /** clock gives the start time (when options.startUtcMs is 0) and, in real-time
   *  mode, Fix::receivedMonoMs and the pacing; it must outlive the simulator. */
  explicit RouteSimulator(RouteSimulatorOptions options = {}, const Clock& clock = SystemClock::instance());
  ~RouteSimulator() override;
  RouteSimulator(const RouteSimulator&) = delete;
  RouteSimulator& operator=(const RouteSimulator&) = delete;

  /** Advances the drive by one fix period and returns that fix. Its
   *  receivedMonoMs is the simulated time since the start (ms), so a test's
   *  "now" is simTimeMs(). */
  Fix next();
  /** Fixes for the next durationMs of simulated time (rateHz of them per second). */
  std::vector<Fix> drive(int64_t durationMs);
  /** Simulated ms since the start. */
  int64_t simTimeMs() const { return simMs_; }
  RouteTruth truth() const;
  RouteSimulatorStats stats() const { return stats_; }

  /** Emits a fix every 1/rateHz/speedup wall seconds on its own thread; the sink
   *  hears onSourceState(true, "simulator seed 7 ...") first. */
  void start(GpsSink& sink) override;
  /** Stops and joins; no sink call after it returns. */
  void stop() override;
  /** "simulator seed 7, 1 Hz, x1" */
  std::string describe() const override;

 private:
  enum class Leg { Straight, Arc };
  void planNextBlock();
  void advance(double dtS);
  void finishLeg();
  double uniform(double lo, double hi);
  double gaussian();
  void toLatLon(double x, double y, double& lat, double& lon) const;
  void run(GpsSink& sink);

  const RouteSimulatorOptions opts_;
  const Clock& clock_;
  const int64_t startUtcMs_;
  std::mt19937_64 rng_;
  int64_t simMs_ = 0;
  int64_t fixIndex_ = 0;
  RouteSimulatorStats stats_;

  // Grid position: the intersection (avenue, street) ahead and the direction of travel
  // (0: uptown +street, 1: crosstown +avenue, 2: downtown, 3: -avenue).
  int nodeA_ = 0, nodeS_ = 0, dir_ = 0, nextDir_ = 0;
  // Current leg, in grid-aligned local metres (x crosstown, y uptown).
  Leg leg_ = Leg::Straight;
  double legX_ = 0, legY_ = 0, legLen_ = 0, legPos_ = 0;
  double arcCx_ = 0, arcCy_ = 0;  // arc centre
  int arcFrom_ = 0, arcTo_ = 0;
  bool stopAtEnd_ = false;  // the straight leg ends at a red light (or a scene)
  double endSpeed_ = 0;     // speed wanted at the end of the straight leg
  double cruise_ = 10, speed_ = 0;
  double waitS_ = 0;                    // remaining standstill
  double nextSceneS_ = 0;               // simulated time of the next scene stop
  double x_ = 0, y_ = 0, heading_ = 0;  // true position (local m) and heading (deg, grid frame)
  double noiseE_ = 0, noiseN_ = 0;      // slowly varying receiver error
  double lastTrack_ = 0;
  bool waitingAtEnd_ = false;  // stopped at the end of a straight leg
  double eph_ = 5;
  int sats_ = 9;

  SourceLoop loop_;
};

}  // namespace mdc::hw
