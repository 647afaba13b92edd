// A vehicle that goes silent with its connection still open (frozen, or out
// of coverage before TCP notices) is shown offline on the dispatcher's board
// within seconds, and online again when it is heard: the agent beats when it
// has nothing else to send (link.heartbeat_s) and the stub shows a device it
// has not heard for --silent-after-ms offline (registry.device_silent).
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonObject>

#include <chrono>
#include <csignal>
#include <string>

#include "tests/support/probes.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

struct Thaw {
  pid_t pid;
  ~Thaw() { ::kill(pid, SIGCONT); }
};

}  // namespace

TEST_CASE("a frozen vehicle is shown offline within 5 s and online again when it is heard, and an idle one stays online",
          "[stub][liveness]") {
  VehicleStack v("MDC-LV1", "E71", "FD1");
  AgentProcess& other = v.addVehicle("MDC-LV2", "E72", "FD1");
  v.startAgentOnline();
  other.start();
  REQUIRE(waitUntil([&] { return boardOnline(v.stub, "E71") == true && boardOnline(v.stub, "E72") == true; }, 20s));

  // Idle: no GPS, no status; only beats go up. Twice the silence limit later
  // both are still online, and nothing was written about them.
  std::this_thread::sleep_for(8s);
  CHECK(boardOnline(v.stub, "E71") == true);
  CHECK(boardOnline(v.stub, "E72") == true);
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E71") == 0);
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E72") == 0);

  // Frozen: its connection stays open (the broker notices only after 1.5
  // times the keepalive, checked every few seconds), its beats stop.
  const auto frozenAt = std::chrono::steady_clock::now();
  ::kill(v.agent.pid(), SIGSTOP);
  Thaw thaw{v.agent.pid()};
  REQUIRE(waitUntil([&] { return boardOnline(v.stub, "E71") == false; }, 15s));
  const auto shownAfter = std::chrono::steady_clock::now() - frozenAt;
  INFO("shown offline after " << std::chrono::duration_cast<std::chrono::milliseconds>(shownAfter).count() << " ms");
  CHECK(shownAfter < 5s);
  CHECK(boardOnline(v.stub, "E72") == true);  // the other vehicle, idle, is not touched
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E71") == 1);
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E72") == 0);

  // Thawed: heard again, shown online.
  ::kill(v.agent.pid(), SIGCONT);
  REQUIRE(waitUntil([&] { return boardOnline(v.stub, "E71") == true; }, 20s));
  CHECK(v.agent.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return v.agent.outboxDepth() == 0; }, 20s));
  CHECK(boardOnline(v.stub, "E71") == true);
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E71") == 1);
  CHECK(unitEventCount(v.stub, "registry.device_heard", "E71") <= 1);  // or its reconnect's presence said so first
  // The other frozen, shown offline, then its connection drops and the
  // broker sends its will: the will is no sign of life, it stays offline.
  ::kill(other.pid(), SIGSTOP);
  REQUIRE(waitUntil([&] { return boardOnline(v.stub, "E72") == false; }, 15s));
  other.kill9();
  std::this_thread::sleep_for(8s);
  CHECK(boardOnline(v.stub, "E72") == false);
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E72") == 1);
  CHECK(unitEventCount(v.stub, "registry.device_heard", "E72") == 0);
  // The log, with these events, is intact.
  auto verify = v.stub.cadctl({"verify"});
  CHECK(verify.exitCode == 0);
}

TEST_CASE("with the stub's watch off, each lost connection of one agent run puts its unit offline by its will",
          "[stub][liveness][presence]") {
  // The broker alone: keepalive 2 s, so it drops a frozen connection after
  // about 3 s (checked every few seconds).
  VehicleStack v("MDC-LV3", "E73", "FD1", {}, {"--set", "link.keepalive_s=2"}, {.args = {"--silent-after-ms", "0"}});
  v.startAgentOnline();
  for (int round = 1; round <= 2; ++round) {
    INFO("lost connection " << round);
    REQUIRE(waitUntil([&] { return boardOnline(v.stub, "E73") == true; }, 30s));
    ::kill(v.agent.pid(), SIGSTOP);
    Thaw thaw{v.agent.pid()};
    // Each will is a presence of its own: the second is not a duplicate of the first.
    CHECK(waitUntil([&] { return boardOnline(v.stub, "E73") == false; }, 30s));
    ::kill(v.agent.pid(), SIGCONT);
  }
  REQUIRE(waitUntil([&] { return boardOnline(v.stub, "E73") == true; }, 30s));
  CHECK(unitEventCount(v.stub, "registry.device_silent", "E73") == 0);  // the watch was off
}
