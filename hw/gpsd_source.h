#pragma once
// The vehicle's GPS receiver through gpsd (libgps, API 11: gpsd 3.22).
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hw/gps_source.h"
#include "hw/source_loop.h"
#include "shared/wire/clock.h"

struct gps_data_t;  // libgps (<gps.h>), kept out of this header: its macros are many

namespace mdc::hw {

struct GpsdOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 2947;
  /** First retry delay after gpsd is unreachable or drops us; doubles up to maxBackoff. */
  std::chrono::milliseconds initialBackoff{250};
  std::chrono::milliseconds maxBackoff{5000};
  /** Connected to gpsd but no report for this long: the sink hears
   *  onSourceState(false, "... no reports for 5 s") until reports resume. 0: never. */
  std::chrono::milliseconds silenceTimeout{5000};
  /** How long one wait for data may block: bounds how late stop() returns. */
  std::chrono::milliseconds pollInterval{100};
};

/** What GpsdSource read and skipped, by reason. Plain values. */
struct GpsdCounters {
  uint64_t connects = 0;            ///< WATCH accepted
  uint64_t connectFailures = 0;     ///< gpsd unreachable or refused the WATCH
  uint64_t connectionsLost = 0;     ///< gps_read failed on a live connection
  uint64_t lines = 0;               ///< lines gps_read returned
  uint64_t tpv = 0;                 ///< TPV reports delivered as fixes
  uint64_t sky = 0;                 ///< SKY reports (satellites used)
  uint64_t otherClass = 0;          ///< VERSION, DEVICES, WATCH, ERROR, ...: read and not needed
  uint64_t skippedNotJson = 0;      ///< not a JSON object at all, or garbage after it
  uint64_t skippedTruncated = 0;    ///< a JSON object cut short
  uint64_t skippedUnknownClass = 0; ///< no "class", or one gpsd 3.22 never sends
  uint64_t skippedWrongType = 0;    ///< a TPV/SKY field of the wrong JSON type ("lat":"north")
  uint64_t skippedOutOfRange = 0;   ///< a TPV with mode outside 0-3 or lat/lon outside the globe
  uint64_t skipped() const {
    return skippedNotJson + skippedTruncated + skippedUnknownClass + skippedWrongType + skippedOutOfRange;
  }
};

/** How one line from gpsd is handled. */
enum class GpsdLine { Tpv, Sky, OtherClass, NotJson, Truncated, UnknownClass, WrongType };

/** Classifies one raw line as gps_read copied it (pure; checks the JSON syntax
 *  and the types of the TPV/SKY fields GpsdSource uses). libgps itself accepts
 *  all of these: gps_read returns the line's length, parses a truncated object
 *  up to the cut and sets what it got, and turns "mode":"three" into no mode
 *  and stops there. So GpsdSource must look at the line before trusting it. */
GpsdLine classifyGpsdLine(std::string_view line);

/** Reads gpsd's TPV reports on its own thread and hands each one to the sink
 *  as a Fix (every TPV: those without a position come with mode NoFix or
 *  Unknown and NaN coordinates, so the agent knows the fix was lost).
 *  Reconnects with exponential backoff when gpsd is absent or dies; the sink
 *  hears onSourceState(false, "gpsd 127.0.0.1:2947 unreachable (...),
 *  retrying in 2 s") for every failed attempt and (true, "... connected") once
 *  per connection. Lines that are not well-formed gpsd JSON (truncated,
 *  unknown class, wrong field types, impossible values) are skipped and counted
 *  by reason (counters()); the good reports around them still arrive.
 *  libgps connects with a blocking connect: to a remote gpsd that drops
 *  packets, stop() waits for that attempt.
 *  Thread-safety: start/stop/describe from one owning thread, counters()
 *  from any; the sink is
 *  called on the source's thread. */
class GpsdSource final : public GpsSource {
 public:
  /** clock stamps Fix::receivedMonoMs; it must outlive the source. */
  explicit GpsdSource(GpsdOptions options, const Clock& clock = SystemClock::instance());
  ~GpsdSource() override;
  GpsdSource(const GpsdSource&) = delete;
  GpsdSource& operator=(const GpsdSource&) = delete;

  /** Starts the reader thread (connecting in the background); a second call while running is ignored. */
  void start(GpsSink& sink) override;
  /** Stops and joins within about pollInterval; no sink call happens after it returns. */
  void stop() override;
  /** "gpsd 127.0.0.1:2947" */
  std::string describe() const override;
  /** A snapshot of what was read and skipped; any thread. */
  GpsdCounters counters() const;

 private:
  void count(uint64_t GpsdCounters::*field);
  void run(GpsSink& sink);
  /** Opens gpsd and asks for its JSON watch; false after reporting why not. */
  bool connect(::gps_data_t& data, std::chrono::milliseconds retryIn, GpsSink& sink);
  /** Reads reports until gpsd drops the link or stop(); closes it and says why it ended. */
  std::string serve(::gps_data_t& data, GpsSink& sink);
  /** Judges the line gps_read just decoded, counting what it skips: nullopt
   *  for a line to skip, else whether it is a TPV (then fix holds it). */
  std::optional<bool> accept(const char* line, const ::gps_data_t& data, Fix& fix);

  const GpsdOptions opts_;
  const Clock& clock_;
  mutable std::mutex countersMu_;
  GpsdCounters counters_;
  bool everFailed_ = false;  // source thread only: later failures in a row log at debug
  SourceLoop loop_;
};

/** Converts the TPV that gps_read (or gps_unpack) just decoded into a Fix,
 *  honouring its set bits: what the report did not carry stays NaN/Unknown/0.
 *  For unit tests that feed gps_unpack recorded JSON. */
Fix fixFromGpsData(const ::gps_data_t& data, int64_t receivedMonoMs);

}  // namespace mdc::hw
