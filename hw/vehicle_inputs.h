#pragma once
// The vehicle's discrete inputs: the emergency switch (the "officer needs
// help" button under the dash) and the ignition. A Linux evdev implementation
// and a simulated one; the agent routes an emergency press straight to its
// emergency lane, without the UI.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hw/source_loop.h"
#include "shared/wire/clock.h"

namespace mdc::hw {

enum class VehicleInput { EmergencySwitch, Ignition };
const char* toString(VehicleInput input);  ///< "emergency_switch", "ignition"

/** A debounced level change of one input. */
struct VehicleInputEvent {
  VehicleInput input = VehicleInput::EmergencySwitch;
  bool active = false;  ///< pressed / ignition on
  int64_t monoMs = 0;   ///< monotonic time the change was read
};

/** Receives an implementation's output on its thread (the caller's thread for
 *  SimulatedVehicleInputs): post the work to the event loop and return. */
class VehicleInputsSink {
 public:
  virtual ~VehicleInputsSink() = default;
  virtual void onInput(const VehicleInputEvent& event) = 0;
  /** The device appeared (connected) or went away; detail says which and why. */
  virtual void onInputsState(bool connected, const std::string& detail) = 0;
};

/** Emergency switch and ignition. */
class VehicleInputs {
 public:
  virtual ~VehicleInputs() = default;
  /** Starts delivering to sink (which must outlive the inputs). */
  virtual void start(VehicleInputsSink& sink) = 0;
  /** Stops; no callback runs after it returns. */
  virtual void stop() = 0;
  /** "evdev /dev/input/event3 (emergency KEY_F24, ignition BTN_0)", "simulated inputs". */
  virtual std::string describe() const = 0;
};

/** Inputs driven by tests or a demo command. Events are delivered on the
 *  calling thread, only while started and only on a change (pressing a pressed
 *  switch is no event). Thread-safe: any thread may call the setters. */
class SimulatedVehicleInputs final : public VehicleInputs {
 public:
  explicit SimulatedVehicleInputs(const Clock& clock = SystemClock::instance()) : clock_(clock) {}
  void start(VehicleInputsSink& sink) override;
  void stop() override;
  std::string describe() const override { return "simulated inputs"; }

  void pressEmergency() { set(VehicleInput::EmergencySwitch, true); }
  void releaseEmergency() { set(VehicleInput::EmergencySwitch, false); }
  /** A press and release, as a responder's hand does: two events. */
  void tapEmergency();
  void toggleEmergency();
  void setIgnition(bool on) { set(VehicleInput::Ignition, on); }
  /** Sets a level; an event when it changed and the inputs are started. */
  void set(VehicleInput input, bool active);
  bool emergency() const;
  bool ignition() const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;  // held while calling the sink: stop() waits for a delivery in progress
  VehicleInputsSink* sink_ = nullptr;
  bool emergency_ = false, ignition_ = false;
};

/** Leading-edge debouncer for a contact that bounces: a change is reported at
 *  once (no latency on an emergency press), then changes are held for windowMs;
 *  when the window closes on a level different from the reported one, that
 *  level is reported (a short tap is never lost). Pure: time is passed in. */
class InputDebouncer {
 public:
  explicit InputDebouncer(int64_t windowMs = 30, bool initial = false)
      : windowMs_(windowMs), reported_(initial), raw_(initial) {}
  /** A raw level read at monoMs; the level to report, if any. */
  std::optional<bool> onRaw(bool level, int64_t monoMs);
  /** Time passed; the level to report when a held change is now due. */
  std::optional<bool> onTime(int64_t monoMs);
  /** When onTime() must next be called (a change is held), else nullopt. */
  std::optional<int64_t> dueAt() const;
  bool reported() const { return reported_; }
  /** Raw changes that were not reported on their own (bounces). */
  uint64_t suppressed() const { return suppressed_; }

 private:
  int64_t windowMs_;
  bool reported_, raw_;
  int64_t lockUntil_ = INT64_MIN;
  uint64_t suppressed_ = 0;
};

/** An evdev event type and code: (EV_KEY, KEY_F24). */
struct InputCode {
  uint16_t type = 0;
  uint16_t code = 0;
};
/** "KEY_F24", "BTN_0", "BTN_TRIGGER_HAPPY3", "KEY_F13".."KEY_F24", "SW_5" (EV_SW 5),
 *  or a number (EV_KEY). nullopt when not understood. */
std::optional<InputCode> parseInputCode(std::string_view text);

struct EvdevOptions {
  /** The input device; a stable name is /dev/input/by-path/... or by-id/...-event-kbd. */
  std::string device = "/dev/input/event0";
  InputCode emergency{0x01 /*EV_KEY*/, 194 /*KEY_F24*/};
  /** nullopt: this device has no ignition input. */
  std::optional<InputCode> ignition;
  /** Contacts that read 0 when closed. */
  bool emergencyActiveLow = false;
  bool ignitionActiveLow = false;
  std::chrono::milliseconds debounce{30};
  /** Device missing or gone: retry after this, doubling up to maxBackoff. */
  std::chrono::milliseconds initialBackoff{250};
  std::chrono::milliseconds maxBackoff{5000};
  /** Longest single wait: bounds how late stop() returns. */
  std::chrono::milliseconds pollInterval{100};
};

/** What the evdev reader did, by outcome. Plain values. */
struct EvdevCounters {
  uint64_t opens = 0;  ///< successful opens of the device
  uint64_t openFailures = 0;
  uint64_t disconnects = 0;   ///< device went away (ENODEV, EOF, HUP)
  uint64_t events = 0;        ///< whole input_event records read
  uint64_t mapped = 0;        ///< records for the emergency or ignition code (press/release)
  uint64_t ignored = 0;       ///< other types/codes (SYN, MSC, other keys)
  uint64_t autorepeat = 0;    ///< value 2 (key held): not a change
  uint64_t debounced = 0;     ///< raw changes swallowed by the debouncer
  uint64_t delivered = 0;     ///< events passed to the sink
  uint64_t partialBytes = 0;  ///< bytes of an incomplete record dropped at a disconnect
};

/** Reads struct input_event records from a Linux evdev device (or anything
 *  that yields them: a FIFO, a pipe) on its own thread, maps the configured
 *  codes to the emergency switch and ignition, debounces, and reopens the
 *  device with backoff when it disappears. On open it reads the current key
 *  state (EVIOCGKEY/EVIOCGSW) so a switch already on is reported.
 *  Thread-safety: start/stop/describe from one owning thread; counters() from any. */
class EvdevVehicleInputs final : public VehicleInputs {
 public:
  explicit EvdevVehicleInputs(EvdevOptions options, const Clock& clock = SystemClock::instance());
  ~EvdevVehicleInputs() override;
  EvdevVehicleInputs(const EvdevVehicleInputs&) = delete;
  EvdevVehicleInputs& operator=(const EvdevVehicleInputs&) = delete;

  void start(VehicleInputsSink& sink) override;
  /** Stops and joins within about pollInterval. */
  void stop() override;
  std::string describe() const override;
  EvdevCounters counters() const;

 private:
  /** One configured input: its code, polarity and debouncer. */
  struct Mapping {
    InputCode code;
    bool activeLow;
    InputDebouncer& debouncer;
    VehicleInput input;
  };

  void run(VehicleInputsSink& sink);
  /** Opens the device; -1 after reporting why not. */
  int open(std::chrono::milliseconds retryIn, VehicleInputsSink& sink);
  /** Reads fd until it fails or stop; returns why it ended. */
  std::string serve(int fd, VehicleInputsSink& sink);
  /** Reports the levels the device holds now (a switch already on at open). */
  void readLevels(int fd, std::vector<Mapping>& maps, VehicleInputsSink& sink);
  /** Handles the whole records in buf; returns the bytes used. */
  size_t onRecords(const unsigned char* buf, size_t size, std::vector<Mapping>& maps, VehicleInputsSink& sink);
  /** A raw level read at now: debounced, and delivered when it is a change. */
  void onRaw(Mapping& m, bool level, int64_t now, VehicleInputsSink& sink);
  void deliver(const Mapping& m, bool level, int64_t now, VehicleInputsSink& sink);
  void count(uint64_t EvdevCounters::*field, uint64_t n = 1);

  const EvdevOptions opts_;
  const Clock& clock_;
  mutable std::mutex countersMu_;
  EvdevCounters counters_;
  bool everFailed_ = false;  // source thread only: later failures in a row are not logged
  InputDebouncer emergency_, ignition_;
  SourceLoop loop_;
};

}  // namespace mdc::hw
