// The backend's downlink outbox through real processes: a committed downlink
// reaches a connected vehicle even when the stub could not publish it (its
// broker link down at that moment, or the stub killed between the commit and
// the publish), without the vehicle ever reconnecting.
#include <catch2/catch.hpp>

#include "tests/integration/stub/stub_helpers.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "shared/wire/clock.h"
#include "shared/infra/files.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

/** A broker, the stub reaching it through a proxy that can be cut, and one
 *  vehicle connected to the broker directly. */
struct Setup : VehicleStack {
  Setup() : VehicleStack("MDC-E12", "E12", "FD1", {}, {}, {.throughProxy = true}) {
    agent.start();
    REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 20s));
    // A first downlink, so the stub knows the device's cursor (it reports it).
    REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "alice", "message", "E12", "shift start"}).exitCode == 0);
    REQUIRE(waitUntil([&] { return cursor() == 1; }, 10s));
    // ... and has told the stub so (its cursor report, answered with the head).
    REQUIRE(waitUntil([&] { return agent.log().find("asked for downlinks after seq 1") != std::string::npos; }, 5s));
    std::this_thread::sleep_for(500ms);
  }
  uint64_t counter(const std::string& name) {
    const v1::AgentState st = agent.state();
    auto it = st.counters().find(name);
    return it == st.counters().end() ? 0 : it->second;
  }
  int64_t connects() { return int64_t(counter("connects")); }
  uint64_t cursor() {
    const v1::AgentState st = agent.state();
    return st.downlink_cursor();
  }
  bool holds(const std::string& incident) {
    const v1::AgentState st = agent.state();
    for (const auto& a : st.assignments())
      if (a.assignment().incident_number() == incident) return true;
    return false;
  }
  bool stubOnline() { return stub.cadctl({"stats"}).output.find("\"online\": true") != std::string::npos; }
};

}  // namespace

TEST_CASE("a downlink committed while the stub's broker link is down reaches the connected vehicle once it is back",
          "[stub][downlink][outbox]") {
  Setup s;
  const int64_t connectsBefore = s.connects();
  std::string fire = cad::test::createCfs(s.stub, "FD1", "FSTRU");

  s.proxy->setUp(false);
  REQUIRE(waitUntil([&] { return !s.stubOnline(); }, 10s));
  auto r = s.stub.cadctl({"--agency", "FD1", "--as", "alice", "assign", fire, "E12"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);  // committed: the dispatcher is told it is done
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(s.holds(fire));  // nothing could carry it yet

  s.proxy->setUp(true);
  REQUIRE(waitUntil([&] { return s.stubOnline(); }, 15s));  // the stub's own reconnect backoff
  const auto back = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { return s.holds(fire); }, 10s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - back);
  INFO("held " << took.count() << " ms after the stub's link was back\n" << s.stub.log());
  CHECK(took < 5s);
  CHECK(s.cursor() == 2);
  CHECK(s.connects() == connectsBefore);  // the vehicle never reconnected
  // Sent again by the stub's outbox, or asked for by the vehicle's cursor report: either way, no reconnect.
  CHECK_THAT(s.stub.log(), Catch::Contains("downlinks to MDC-E12 (unit E12): it holds up to seq 1 of 2") ||
                               Catch::Contains("resync MDC-E12 (unit E12) after 1: 1 downlinks"));
}

TEST_CASE("a downlink committed by a stub killed before it could publish reaches the connected vehicle from the next",
          "[stub][downlink][outbox][fault]") {
  Setup s;
  const int64_t connectsBefore = s.connects();
  std::string fire = cad::test::createCfs(s.stub, "FD1", "FSTRU");

  s.stub.stop();
  s.stub.env = {{"CAD_STUB_FAULT", "kill-after-commit"}};
  s.stub.start();
  REQUIRE(s.stub.waitReady());
  s.stub.cadctl({"--agency", "FD1", "--as", "alice", "assign", fire, "E12"});  // no reply: killed after the commit
  REQUIRE(waitUntil([&] { return !s.stub.running(); }, 10s));
  CHECK_THAT(s.stub.log(), Catch::Contains("killed after committing assign, before publishing"));
  CHECK(s.stub.cadctl({"cfs", "show", fire}).output.find("E12") != std::string::npos);  // committed
  CHECK_FALSE(s.holds(fire));

  s.stub.env.clear();
  s.stub.start();
  REQUIRE(s.stub.waitReady());
  const auto back = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { return s.holds(fire); }, 10s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - back);
  INFO("held " << took.count() << " ms after the new stub was ready\n" << s.stub.log());
  CHECK(took < 5s);
  CHECK(s.connects() == connectsBefore);
}

TEST_CASE("a vehicle told a head above what it holds asks for the tail without reconnecting", "[stub][downlink]") {
  Setup s;
  const int64_t connectsBefore = s.connects();
  const auto gaps = [&] { return s.counter("downlink_gaps"); };
  const uint64_t gapsBefore = gaps();
  // A head report for seq 3 when the vehicle holds 1 (as if 2 and 3 had been
  // lost on the way), on the vehicle's down topic.
  v1::Downlink dl;
  dl.set_version(1);
  dl.set_unit_id("E12");
  dl.set_seq(0);
  dl.set_sent_at_ms(SystemClock::instance().nowMs());
  dl.mutable_commit_ack()->set_downlink_head(3);
  const std::string file = s.dir.file("head.pb");
  REQUIRE(files::writeAtomic(file, dl.SerializeAsString()));
  auto pub = run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(s.broker.port()), "-q", "1", "-t",
                  "cad/v1/dev/MDC-E12/down", "-f", file},
                 s.dir);
  REQUIRE(pub.exitCode == 0);
  // The vehicle asks (a gap that lasted a second), the stub answers with its real head: 1.
  const bool asked = waitUntil([&] { return gaps() == gapsBefore + 1; }, 5s);
  INFO(s.agent.log());
  REQUIRE(asked);
  CHECK_THAT(s.agent.log(), Catch::Contains("the backend holds downlinks up to seq 3, this device up to 1"));
  std::this_thread::sleep_for(3s);
  CHECK(gaps() == gapsBefore + 1);  // the answer put it right: asked once
  CHECK(s.cursor() == 1);
  CHECK(s.connects() == connectsBefore);
}
