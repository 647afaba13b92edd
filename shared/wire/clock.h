#pragma once
// Time as a seam: logic takes a Clock and never reads the wall clock itself,
// so tests drive time by hand and nothing sleeps.
#include <atomic>
#include <cstdint>
#include <string>

namespace mdc {

/** Source of time. Implementations are thread-safe. */
class Clock {
 public:
  virtual ~Clock() = default;
  /** UTC wall-clock time in Unix milliseconds (may jump when the clock is set). */
  virtual int64_t nowMs() const = 0;
  /** Monotonic milliseconds since an arbitrary origin; never goes backwards. */
  virtual int64_t monotonicMs() const = 0;
};

/** The system's clocks (CLOCK_REALTIME and CLOCK_MONOTONIC). */
class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override;
  int64_t monotonicMs() const override;
  /** A process-wide instance. */
  static const SystemClock& instance();
};

/** A clock moved by hand, for tests. Thread-safe. */
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t nowMs = 1'767'225'600'000 /* 2026-01-01 */) : now_(nowMs), mono_(0) {}
  int64_t nowMs() const override { return now_.load(); }
  int64_t monotonicMs() const override { return mono_.load(); }
  /** Advances both clocks by ms (which must be >= 0). */
  void advance(int64_t ms) { now_ += ms; mono_ += ms; }
  /** Sets the wall clock only (a clock jump); the monotonic clock is unchanged. */
  void setWall(int64_t nowMs) { now_ = nowMs; }

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> mono_;
};

/** "2026-11-24T03:04:05.678Z" for a Unix-ms time. */
std::string formatIsoUtc(int64_t unixMs);

}  // namespace mdc
