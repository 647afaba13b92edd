#pragma once
// The agent's window on the vehicle's GPS receiver.
#include <cstdint>
#include <string>

namespace mdc::hw {

/** One position report from the receiver. Unknown values are NaN. */
struct Fix {
  enum class Mode { Unknown = 0, NoFix = 1, Fix2D = 2, Fix3D = 3 };
  Mode mode = Mode::Unknown;
  int64_t timeMs = 0;          ///< GPS UTC of the fix, Unix ms; 0 when the receiver gave none
  double lat = 0;              ///< degrees; meaningful for Fix2D/Fix3D only
  double lon = 0;
  double altM = __builtin_nan("");       ///< metres MSL
  double speedMps = __builtin_nan("");   ///< ground speed
  double trackDeg = __builtin_nan("");   ///< course over ground, degrees true
  double ephM = __builtin_nan("");       ///< horizontal error estimate (m)
  int satellitesUsed = 0;
  int64_t receivedMonoMs = 0;  ///< monotonic time the fix arrived (for staleness)

  bool hasPosition() const { return mode == Mode::Fix2D || mode == Mode::Fix3D; }
};

/** Receives a source's output. Called on the source's own thread: an
 *  implementation posts the work to its event loop and returns. */
class GpsSink {
 public:
  virtual ~GpsSink() = default;
  virtual void onFix(const Fix& fix) = 0;
  /** The source's link changed: connected=false means no data is arriving
   *  (gpsd down, log ended); detail says why in words. */
  virtual void onSourceState(bool connected, const std::string& detail) = 0;
};

/** A GPS receiver: gpsd through libgps, a log replay, or a route simulator. */
class GpsSource {
 public:
  virtual ~GpsSource() = default;
  /** Starts delivering to sink (which must outlive the source) on the source's thread. */
  virtual void start(GpsSink& sink) = 0;
  /** Stops delivering and joins the thread; no callback runs after it returns. */
  virtual void stop() = 0;
  /** "gpsd 127.0.0.1:2947", "simulator seed 7", ... */
  virtual std::string describe() const = 0;
};

}  // namespace mdc::hw
