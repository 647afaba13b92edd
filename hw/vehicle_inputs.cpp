#include "hw/vehicle_inputs.h"

#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "shared/infra/log.h"

namespace mdc::hw {

namespace {
constexpr const char* kLog = "inputs";

std::string codeName(const InputCode& c) {
  if (c.type == EV_KEY && c.code >= KEY_F13 && c.code <= KEY_F24)
    return "KEY_F" + std::to_string(13 + c.code - KEY_F13);
  if (c.type == EV_KEY && c.code >= BTN_0 && c.code <= BTN_9) return "BTN_" + std::to_string(c.code - BTN_0);
  if (c.type == EV_KEY && c.code >= BTN_TRIGGER_HAPPY1 && c.code <= BTN_TRIGGER_HAPPY40)
    return "BTN_TRIGGER_HAPPY" + std::to_string(1 + c.code - BTN_TRIGGER_HAPPY1);
  if (c.type == EV_SW) return "SW_" + std::to_string(c.code);
  return std::to_string(c.code);
}

bool testBit(const unsigned char* bits, unsigned bit) {
  return (bits[bit / 8] >> (bit % 8)) & 1;
}
}  // namespace

const char* toString(VehicleInput input) {
  return input == VehicleInput::EmergencySwitch ? "emergency_switch" : "ignition";
}

// --- SimulatedVehicleInputs ---------------------------------------------------

void SimulatedVehicleInputs::start(VehicleInputsSink& sink) {
  std::lock_guard lock(mu_);
  sink_ = &sink;
  sink.onInputsState(true, describe() + " ready");
}

void SimulatedVehicleInputs::stop() {
  std::lock_guard lock(mu_);
  sink_ = nullptr;
}

void SimulatedVehicleInputs::set(VehicleInput input, bool active) {
  std::lock_guard lock(mu_);
  bool& level = input == VehicleInput::EmergencySwitch ? emergency_ : ignition_;
  if (level == active) return;
  level = active;
  if (sink_) sink_->onInput(VehicleInputEvent{input, active, clock_.monotonicMs()});
}

void SimulatedVehicleInputs::tapEmergency() {
  pressEmergency();
  releaseEmergency();
}

void SimulatedVehicleInputs::toggleEmergency() {
  set(VehicleInput::EmergencySwitch, !emergency());
}

bool SimulatedVehicleInputs::emergency() const {
  std::lock_guard lock(mu_);
  return emergency_;
}

bool SimulatedVehicleInputs::ignition() const {
  std::lock_guard lock(mu_);
  return ignition_;
}

// --- InputDebouncer -------------------------------------------------------------

std::optional<bool> InputDebouncer::onRaw(bool level, int64_t monoMs) {
  if (level != raw_) {
    raw_ = level;
    if (monoMs < lockUntil_) ++suppressed_;
  }
  return onTime(monoMs);
}

std::optional<bool> InputDebouncer::onTime(int64_t monoMs) {
  if (raw_ == reported_ || monoMs < lockUntil_) return std::nullopt;
  reported_ = raw_;
  lockUntil_ = monoMs + windowMs_;
  return reported_;
}

std::optional<int64_t> InputDebouncer::dueAt() const {
  if (raw_ == reported_) return std::nullopt;
  return lockUntil_;
}

// --- parseInputCode ---------------------------------------------------------------

std::optional<InputCode> parseInputCode(std::string_view t) {
  auto number = [](std::string_view s, int lo, int hi) -> std::optional<int> {
    if (s.empty() || s.size() > 5) return std::nullopt;
    int v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
  };
  auto after = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (t.substr(0, prefix.size()) != prefix) return std::nullopt;
    return t.substr(prefix.size());
  };
  if (auto rest = after("KEY_F"))
    if (auto n = number(*rest, 13, 24)) return InputCode{EV_KEY, uint16_t(KEY_F13 + *n - 13)};
  if (auto rest = after("BTN_TRIGGER_HAPPY"))
    if (auto n = number(*rest, 1, 40)) return InputCode{EV_KEY, uint16_t(BTN_TRIGGER_HAPPY1 + *n - 1)};
  if (auto rest = after("BTN_"))
    if (auto n = number(*rest, 0, 9)) return InputCode{EV_KEY, uint16_t(BTN_0 + *n)};
  if (auto rest = after("SW_"))
    if (auto n = number(*rest, 0, SW_MAX)) return InputCode{EV_SW, uint16_t(*n)};
  if (auto n = number(t, 1, KEY_MAX)) return InputCode{EV_KEY, uint16_t(*n)};
  return std::nullopt;
}

// --- EvdevVehicleInputs -------------------------------------------------------------

EvdevVehicleInputs::EvdevVehicleInputs(EvdevOptions options, const Clock& clock)
    : opts_(std::move(options)), clock_(clock), emergency_(opts_.debounce.count()), ignition_(opts_.debounce.count()) {}

EvdevVehicleInputs::~EvdevVehicleInputs() {
  stop();
}

std::string EvdevVehicleInputs::describe() const {
  std::string s = "evdev " + opts_.device + " (emergency " + codeName(opts_.emergency);
  if (opts_.ignition) s += ", ignition " + codeName(*opts_.ignition);
  return s + ")";
}

EvdevCounters EvdevVehicleInputs::counters() const {
  std::lock_guard lock(countersMu_);
  return counters_;
}

void EvdevVehicleInputs::start(VehicleInputsSink& sink) {
  loop_.start([this, &sink] { run(sink); });
}

void EvdevVehicleInputs::stop() {
  loop_.stop();
}

void EvdevVehicleInputs::count(uint64_t EvdevCounters::*field, uint64_t n) {
  std::lock_guard lock(countersMu_);
  counters_.*field += n;
}

void EvdevVehicleInputs::run(VehicleInputsSink& sink) {
  int fd = -1;
  everFailed_ = false;
  loop_.keepConnected(
      ReconnectBackoff{opts_.initialBackoff, opts_.maxBackoff},
      [&](std::chrono::milliseconds retryIn) {
        fd = open(retryIn, sink);
        return fd >= 0;
      },
      [&] {
        std::string why = serve(fd, sink);
        ::close(fd);
        return why;
      },
      [&](const std::string& why, std::chrono::milliseconds reconnectIn) {
        count(&EvdevCounters::disconnects);
        std::string detail = describe() + ": lost (" + why + "), reopening in " + describeDelay(reconnectIn);
        log::warn(kLog, detail);
        sink.onInputsState(false, detail);
      });
}

int EvdevVehicleInputs::open(std::chrono::milliseconds retryIn, VehicleInputsSink& sink) {
  const std::string name = describe();
  int fd = ::open(opts_.device.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    std::string detail = name + ": cannot open (" + std::strerror(errno) + "), retrying in " + describeDelay(retryIn);
    if (!everFailed_) log::warn(kLog, detail);
    everFailed_ = true;
    count(&EvdevCounters::openFailures);
    sink.onInputsState(false, detail);
    return -1;
  }
  everFailed_ = false;
  count(&EvdevCounters::opens);
  log::info(kLog, name + " opened");
  sink.onInputsState(true, name + " opened");
  return fd;
}

void EvdevVehicleInputs::deliver(const Mapping& m, bool level, int64_t now, VehicleInputsSink& sink) {
  count(&EvdevCounters::delivered);
  log::info(kLog, std::string(toString(m.input)) + (level ? " on" : " off"));
  sink.onInput(VehicleInputEvent{m.input, level, now});
}

void EvdevVehicleInputs::onRaw(Mapping& m, bool level, int64_t now, VehicleInputsSink& sink) {
  uint64_t before = m.debouncer.suppressed();
  if (auto out = m.debouncer.onRaw(level, now)) deliver(m, *out, now, sink);
  if (m.debouncer.suppressed() != before) count(&EvdevCounters::debounced, m.debouncer.suppressed() - before);
}

void EvdevVehicleInputs::readLevels(int fd, std::vector<Mapping>& maps, VehicleInputsSink& sink) {
  unsigned char keys[KEY_MAX / 8 + 1] = {};
  unsigned char sws[SW_MAX / 8 + 1] = {};
  bool haveKeys = ::ioctl(fd, EVIOCGKEY(sizeof keys), keys) >= 0;
  bool haveSws = ::ioctl(fd, EVIOCGSW(sizeof sws), sws) >= 0;
  for (auto& m : maps) {
    bool known = m.code.type == EV_KEY ? haveKeys : m.code.type == EV_SW ? haveSws : false;
    if (!known) continue;
    bool bit = testBit(m.code.type == EV_KEY ? keys : sws, m.code.code);
    onRaw(m, bit != m.activeLow, clock_.monotonicMs(), sink);
  }
}

size_t EvdevVehicleInputs::onRecords(const unsigned char* buf, size_t size, std::vector<Mapping>& maps,
                                     VehicleInputsSink& sink) {
  const int64_t now = clock_.monotonicMs();
  size_t off = 0;
  for (; off + sizeof(input_event) <= size; off += sizeof(input_event)) {
    input_event ev;
    std::memcpy(&ev, buf + off, sizeof ev);
    Mapping* hit = nullptr;
    for (auto& m : maps)
      if (ev.type == m.code.type && ev.code == m.code.code) hit = &m;
    {
      std::lock_guard lock(countersMu_);
      ++counters_.events;
      if (!hit)
        ++counters_.ignored;
      else if (ev.value == 2)
        ++counters_.autorepeat;
      else
        ++counters_.mapped;
    }
    if (!hit || ev.value == 2) continue;
    onRaw(*hit, (ev.value != 0) != hit->activeLow, now, sink);
  }
  return off;
}

std::string EvdevVehicleInputs::serve(int fd, VehicleInputsSink& sink) {
  std::vector<Mapping> maps{{opts_.emergency, opts_.emergencyActiveLow, emergency_, VehicleInput::EmergencySwitch}};
  if (opts_.ignition) maps.push_back({*opts_.ignition, opts_.ignitionActiveLow, ignition_, VehicleInput::Ignition});
  readLevels(fd, maps, sink);

  alignas(input_event) unsigned char buf[sizeof(input_event) * 64];
  size_t have = 0;  // bytes of an incomplete record carried to the next read
  while (!loop_.stopping()) {
    int64_t now = clock_.monotonicMs();
    int timeoutMs = int(opts_.pollInterval.count());
    for (auto& m : maps)
      if (auto due = m.debouncer.dueAt()) timeoutMs = int(std::clamp<int64_t>(*due - now, 0, timeoutMs));
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeoutMs);
    now = clock_.monotonicMs();
    for (auto& m : maps)
      if (auto out = m.debouncer.onTime(now)) deliver(m, *out, now, sink);
    if (r < 0) {
      if (errno == EINTR) continue;
      return std::string("poll: ") + std::strerror(errno);
    }
    if (r == 0) continue;
    ssize_t n = ::read(fd, buf + have, sizeof buf - have);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      const int err = errno;  // before count() can touch it
      if (have) count(&EvdevCounters::partialBytes, have);
      if (n == 0) return "end of file";
      return err == ENODEV ? "device removed" : std::strerror(err);
    }
    have += size_t(n);
    size_t off = onRecords(buf, have, maps, sink);
    std::memmove(buf, buf + off, have - off);
    have -= off;
  }
  return "stopped";
}

}  // namespace mdc::hw
