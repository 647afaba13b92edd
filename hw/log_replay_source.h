#pragma once
// Replays a recorded NMEA 0183 log (GGA, RMC, GSA) without gpsd: for demos on
// a machine without a receiver and for tests that need a real drive's fixes.
#include <cstdint>
#include <string>
#include <vector>

#include "hw/gps_source.h"
#include "hw/source_loop.h"
#include "shared/wire/clock.h"

namespace mdc::hw {

/** What the NMEA parser read, by outcome. Plain values. */
struct NmeaCounters {
  uint64_t lines = 0;         ///< non-empty, non-comment lines
  uint64_t sentences = 0;     ///< with a valid checksum
  uint64_t badChecksum = 0;   ///< missing or wrong "*HH" (dropped, as gpsd does)
  uint64_t notNmea = 0;       ///< not starting with '$'
  uint64_t unused = 0;        ///< valid but not GGA/RMC/GSA (GSV, VTG, ...)
  uint64_t malformed = 0;     ///< GGA/RMC/GSA with too few fields or no time
  uint64_t epochs = 0;        ///< receiver cycles (one UTC time field each) = fixes produced
  uint64_t withPosition = 0;  ///< of them, 2D/3D fixes
};

/** One fix per receiver cycle of the log, in order, from its GGA/RMC/GSA
 *  sentences: position and time from RMC (status A) and GGA (quality > 0 with
 *  satellites), mode from GSA (else 3D when GGA gives an altitude), speed and
 *  track from RMC, satellites from GGA, eph = HDOP x 5 m (a typical UERE).
 *  A cycle without a valid position is a NoFix fix (NaN coordinates). Time is
 *  the receiver's UTC (RMC date + time); 0 before the log's first RMC date.
 *  receivedMonoMs is the cycle's offset from the first cycle (ms), for pacing. */
std::vector<Fix> parseNmeaLog(const std::vector<std::string>& lines, NmeaCounters* counters = nullptr);

struct LogReplayOptions {
  std::string path;
  /** Log seconds per wall second: 1 = the recorded pace, 10 = ten times faster, 0 = no pauses. */
  double speedup = 1.0;
  /** Start again at the top after the last fix (a demo that runs all day). */
  bool loop = false;
  /** Shift GPS times so the first fix is "now" (a demo's clock); off: the log's own times. */
  bool rebaseToNow = false;
};

/** A GpsSource replaying an NMEA log on its own thread. The file is read and
 *  parsed in the constructor (std::runtime_error naming the path when
 *  unreadable or without a single sentence). At the end (without loop) the
 *  sink hears onSourceState(false, "replay <path>: ended after N fixes").
 *  Thread-safety: start/stop from one owning thread; fixes()/counters() are immutable. */
class LogReplaySource final : public GpsSource {
 public:
  explicit LogReplaySource(LogReplayOptions options, const Clock& clock = SystemClock::instance());
  ~LogReplaySource() override;
  LogReplaySource(const LogReplaySource&) = delete;
  LogReplaySource& operator=(const LogReplaySource&) = delete;

  void start(GpsSink& sink) override;
  /** Stops and joins promptly (pauses are interruptible). */
  void stop() override;
  /** "replay bu353s4.log x10" */
  std::string describe() const override;

  /** The log's fixes as parsed (receivedMonoMs = offset from the first cycle). */
  const std::vector<Fix>& fixes() const { return fixes_; }
  const NmeaCounters& counters() const { return counters_; }

 private:
  void run(GpsSink& sink);

  const LogReplayOptions opts_;
  const Clock& clock_;
  NmeaCounters counters_;
  std::vector<Fix> fixes_;
  SourceLoop loop_;
};

}  // namespace mdc::hw
