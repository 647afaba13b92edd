// Vehicle inputs: the debouncer, the simulated inputs, and the evdev reader
// fed struct input_event records through a FIFO (no /dev/uinput here): the
// same open/poll/read path as a real /dev/input/eventN.
#include <fcntl.h>
#include <linux/input.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "hw/vehicle_inputs.h"
#include "tests/support/temp_dir.h"

using namespace std::chrono_literals;
using mdc::hw::EvdevOptions;
using mdc::hw::EvdevVehicleInputs;
using mdc::hw::InputDebouncer;
using mdc::hw::VehicleInput;
using mdc::hw::VehicleInputEvent;

namespace {

class InputProbe final : public mdc::hw::VehicleInputsSink {
 public:
  void onInput(const VehicleInputEvent& e) override {
    std::lock_guard l(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  void onInputsState(bool connected, const std::string& detail) override {
    std::lock_guard l(mu_);
    states_.emplace_back(connected, detail);
    cv_.notify_all();
  }
  bool waitEvents(size_t n, std::chrono::milliseconds t = 5s) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, t, [&] { return events_.size() >= n; });
  }
  bool waitState(bool connected, size_t from, std::chrono::milliseconds t = 5s) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, t, [&] {
      for (size_t i = from; i < states_.size(); ++i)
        if (states_[i].first == connected) return true;
      return false;
    });
  }
  std::vector<VehicleInputEvent> events() const {
    std::lock_guard l(mu_);
    return events_;
  }
  std::vector<std::pair<bool, std::string>> states() const {
    std::lock_guard l(mu_);
    return states_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<VehicleInputEvent> events_;
  std::vector<std::pair<bool, std::string>> states_;
};

void writeEvents(int fd, std::initializer_list<std::array<int, 3>> evs) {
  for (auto& e : evs) {
    input_event ev{};
    ev.type = uint16_t(e[0]);
    ev.code = uint16_t(e[1]);
    ev.value = e[2];
    REQUIRE(::write(fd, &ev, sizeof ev) == ssize_t(sizeof ev));
  }
}

// Opens the FIFO for writing once the reader has it open (retrying O_NONBLOCK: ENXIO until then).
int openWriter(const std::string& path) {
  for (int i = 0; i < 500; ++i) {
    int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, 0);  // blocking writes from here on
      return fd;
    }
    std::this_thread::sleep_for(10ms);
  }
  FAIL("no reader opened " << path);
  return -1;
}

}  // namespace

TEST_CASE("inputs: the debouncer reports a press at once and swallows the bounce", "[inputs]") {
  InputDebouncer d(30);
  CHECK(d.onRaw(true, 1000) == std::optional<bool>(true));  // no latency on the press
  CHECK_FALSE(d.onRaw(false, 1002).has_value());
  CHECK_FALSE(d.onRaw(true, 1004).has_value());
  CHECK_FALSE(d.onRaw(false, 1006).has_value());
  CHECK_FALSE(d.onRaw(true, 1008).has_value());
  CHECK_FALSE(d.dueAt().has_value());  // settled on the reported level
  CHECK_FALSE(d.onTime(1100).has_value());
  CHECK(d.suppressed() == 4);
  // A short tap: released 10 ms after the press, reported when the window closes.
  InputDebouncer t(30);
  CHECK(t.onRaw(true, 0) == std::optional<bool>(true));
  CHECK_FALSE(t.onRaw(false, 10).has_value());
  REQUIRE(t.dueAt() == std::optional<int64_t>(30));
  CHECK_FALSE(t.onTime(29).has_value());
  CHECK(t.onTime(30) == std::optional<bool>(false));
  CHECK(t.reported() == false);
}

TEST_CASE("inputs: input codes are read by name or number", "[inputs]") {
  auto f24 = mdc::hw::parseInputCode("KEY_F24");
  REQUIRE(f24);
  CHECK(f24->type == EV_KEY);
  CHECK(f24->code == KEY_F24);
  CHECK(mdc::hw::parseInputCode("BTN_0")->code == BTN_0);
  CHECK(mdc::hw::parseInputCode("BTN_TRIGGER_HAPPY3")->code == BTN_TRIGGER_HAPPY3);
  CHECK(mdc::hw::parseInputCode("SW_5")->type == EV_SW);
  CHECK(mdc::hw::parseInputCode("194")->code == 194);
  CHECK_FALSE(mdc::hw::parseInputCode("KEY_F25"));
  CHECK_FALSE(mdc::hw::parseInputCode("F24"));
  CHECK_FALSE(mdc::hw::parseInputCode(""));
  CHECK_FALSE(mdc::hw::parseInputCode("99999"));
}

TEST_CASE("inputs: simulated inputs deliver changes only, only while started", "[inputs]") {
  mdc::ManualClock clock;
  mdc::hw::SimulatedVehicleInputs sim(clock);
  InputProbe probe;
  sim.pressEmergency();  // not started: state changes, nobody hears
  sim.releaseEmergency();
  sim.start(probe);
  REQUIRE(probe.states().size() == 1);
  CHECK(probe.states()[0].first);
  sim.setIgnition(true);
  sim.setIgnition(true);  // no change, no event
  clock.advance(500);
  sim.tapEmergency();
  sim.toggleEmergency();
  auto ev = probe.events();
  REQUIRE(ev.size() == 4);
  CHECK(ev[0].input == VehicleInput::Ignition);
  CHECK(ev[0].active);
  CHECK(ev[1].input == VehicleInput::EmergencySwitch);
  CHECK(ev[1].active);
  CHECK(ev[1].monoMs == 500);
  CHECK_FALSE(ev[2].active);
  CHECK(ev[3].active);
  CHECK(sim.emergency());
  sim.stop();
  sim.releaseEmergency();
  CHECK(probe.events().size() == 4);
}

TEST_CASE("inputs: evdev records through a FIFO become debounced emergency and ignition events", "[inputs]") {
  mdc::test::TempDir dir("mdc-inputs");
  std::string path = dir.file("event7");
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  EvdevOptions o;
  o.device = path;
  o.ignition = mdc::hw::parseInputCode("BTN_0");
  EvdevVehicleInputs inputs(o);
  CHECK(inputs.describe() == "evdev " + path + " (emergency KEY_F24, ignition BTN_0)");
  InputProbe probe;
  inputs.start(probe);
  int w = openWriter(path);
  REQUIRE(probe.waitState(true, 0));

  auto t0 = std::chrono::steady_clock::now();
  // The press, with the contact bouncing, other keys, SYN reports and an autorepeat.
  writeEvents(w, {{EV_KEY, KEY_F24, 1},
                  {EV_SYN, SYN_REPORT, 0},
                  {EV_KEY, KEY_F24, 0},
                  {EV_KEY, KEY_F24, 1},
                  {EV_MSC, MSC_SCAN, 42},
                  {EV_KEY, KEY_A, 1},
                  {EV_KEY, KEY_F24, 2},
                  {EV_SYN, SYN_REPORT, 0}});
  REQUIRE(probe.waitEvents(1));
  CHECK(std::chrono::steady_clock::now() - t0 < 250ms);  // leading edge: no debounce delay
  std::this_thread::sleep_for(60ms);                     // past the 30 ms window
  // Release, and ignition on: half a record first, the rest later (a short read).
  input_event rel{};
  rel.type = EV_KEY;
  rel.code = KEY_F24;
  rel.value = 0;
  auto* bytes = reinterpret_cast<const char*>(&rel);
  REQUIRE(::write(w, bytes, 10) == 10);
  std::this_thread::sleep_for(20ms);
  REQUIRE(::write(w, bytes + 10, sizeof rel - 10) == ssize_t(sizeof rel - 10));
  writeEvents(w, {{EV_KEY, BTN_0, 1}, {EV_SYN, SYN_REPORT, 0}});
  REQUIRE(probe.waitEvents(3));
  auto ev = probe.events();
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].input == VehicleInput::EmergencySwitch);
  CHECK(ev[0].active);
  CHECK(ev[1].input == VehicleInput::EmergencySwitch);
  CHECK_FALSE(ev[1].active);
  CHECK(ev[2].input == VehicleInput::Ignition);
  CHECK(ev[2].active);
  // The SYN after BTN_0 may still be in the reader's hands when the event arrives.
  for (int i = 0; i < 200 && inputs.counters().events < 11; ++i) std::this_thread::sleep_for(5ms);
  auto c = inputs.counters();
  CHECK(c.events == 11);
  CHECK(c.mapped == 5);  // F24 1,0,1 then 0; BTN_0 1
  CHECK(c.autorepeat == 1);
  CHECK(c.ignored == 5);    // 3 SYN, MSC, KEY_A
  CHECK(c.debounced == 2);  // the bounce 0,1
  CHECK(c.delivered == 3);
  ::close(w);
  inputs.stop();
}

TEST_CASE("inputs: the evdev reader waits for a missing device and reopens one that goes away", "[inputs]") {
  mdc::test::TempDir dir("mdc-inputs");
  std::string path = dir.file("event3");
  EvdevOptions o;
  o.device = path;
  o.initialBackoff = 50ms;
  o.maxBackoff = 200ms;
  EvdevVehicleInputs inputs(o);
  InputProbe probe;
  inputs.start(probe);
  REQUIRE(probe.waitState(false, 0));
  CHECK(probe.states()[0].second.find("cannot open (No such file or directory), retrying in 0.05 s") !=
        std::string::npos);

  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);  // the device appears
  int w = openWriter(path);
  REQUIRE(probe.waitState(true, 0));
  writeEvents(w, {{EV_KEY, KEY_F24, 1}});
  REQUIRE(probe.waitEvents(1));
  size_t before = probe.states().size();
  ::close(w);  // the device goes away (EOF / hang-up)
  REQUIRE(probe.waitState(false, before));
  CHECK(probe.states()[before].second.find("lost (end of file), reopening in 0.05 s") != std::string::npos);
  // Back again: the switch was released meanwhile.
  w = openWriter(path);
  REQUIRE(probe.waitState(true, before));
  writeEvents(w, {{EV_KEY, KEY_F24, 0}});
  REQUIRE(probe.waitEvents(2));
  CHECK_FALSE(probe.events()[1].active);
  auto c = inputs.counters();
  CHECK(c.openFailures >= 1);
  CHECK(c.opens >= 2);
  CHECK(c.disconnects >= 1);
  auto t0 = std::chrono::steady_clock::now();
  inputs.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  ::close(w);
}
