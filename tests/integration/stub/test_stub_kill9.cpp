// kill -9 of the stub in the middle of a heavy ingest: nothing it acked is
// lost, the chain verifies, the read models equal a replay of the log.
#include <catch2/catch.hpp>

#include <set>

#include "tests/integration/stub/stub_helpers.h"
#include "tests/integration/stub/wire_fleet.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using namespace cad::test;
using namespace mdc::test;
using namespace std::chrono_literals;

TEST_CASE("kill -9 during a heavy ingest: every acked event survives, verify passes, read models equal a replay",
          "[stub][kill9]") {
  MosquittoOptions mo;
  mo.maxQueuedMessages = 200000;
  BackendStack backend(mo);
  TempDir& dir = backend.dir;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;

  const int kDevices = 20;
  const uint64_t kPerDevice = 1500;
  std::vector<Device> devices;
  std::vector<std::string> ids;
  for (int i = 0; i < kDevices; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "MDC-K%02d", i);
    devices.push_back(Device{name, "U" + std::to_string(i), i % 2 ? "FD1" : "PD1", uint32_t(100 + i)});
    ids.push_back(name);
    stub.addDevice(devices.back().id, devices.back().unit, devices.back().agency);
  }
  const long registrations = kDevices;
  // Every event, encoded once: a resend is the same bytes, as from a real outbox.
  std::map<std::pair<std::string, uint64_t>, std::string> payloads;
  for (const auto& d : devices)
    for (uint64_t seq = 1; seq <= kPerDevice; ++seq)
      payloads[{d.id, seq}] = encode(seq % 10 == 0 ? statusEnv(d, seq, kShiftStartMs + int64_t(seq) * 500,
                                                               seq % 20 ? v1::UNIT_STATUS_EN_ROUTE : v1::UNIT_STATUS_ON_SCENE)
                                                   : avlEnv(d, seq, kShiftStartMs + int64_t(seq) * 500,
                                                            40.7 + double(seq) * 1e-5, -74.0, seq % 7 == 0));
  const size_t total = payloads.size();

  WireFleet fleet(broker.uri(), "kill9", 4);
  REQUIRE(fleet.connect(ids));
  // Interleave devices, as a fleet does.
  std::vector<std::pair<std::string, uint64_t>> order;
  for (uint64_t seq = 1; seq <= kPerDevice; ++seq)
    for (const auto& d : devices) order.emplace_back(d.id, seq);
  size_t sent = 0;
  for (; sent < order.size(); ++sent) {
    REQUIRE(fleet.publish(order[sent].first, payloads[order[sent]]));
    if (sent % 500 == 0 && fleet.ackedCount() >= total / 3) break;  // heavy ingest under way
  }
  // Kill while the stub is committing, with more arriving.
  for (size_t i = 0; i < 2000 && sent < order.size(); ++i, ++sent) REQUIRE(fleet.publish(order[sent].first, payloads[order[sent]]));
  stub.kill9();
  const auto ackedBeforeKill = fleet.acked();
  INFO("sent " << sent << " of " << total << ", acked before the kill " << ackedBeforeKill.size());
  REQUIRE(ackedBeforeKill.size() > 0);
  REQUIRE(ackedBeforeKill.size() < total);

  // The rest keeps arriving at the broker while the stub is down.
  for (; sent < order.size(); ++sent) REQUIRE(fleet.publish(order[sent].first, payloads[order[sent]]));
  REQUIRE(fleet.waitPubacks(total, 60s));

  // On restart, before anything new is ingested: every acked event is there.
  {
    auto s = readStore(stub);
    CHECK_FALSE(s->log().verify());
    std::set<std::pair<std::string, uint64_t>> stored;
    auto st = s->db().prepare("SELECT device_id, device_seq FROM events WHERE device_seq IS NOT NULL");
    while (st.step()) stored.insert({st.text(0), uint64_t(st.i64(1))});
    size_t missing = 0;
    for (const auto& k : ackedBeforeKill) missing += stored.count(k) == 0;
    CHECK(missing == 0);
    CHECK(stored.size() >= ackedBeforeKill.size());
    WARN("after kill -9: " << stored.size() << " events stored, " << ackedBeforeKill.size() << " acked, " << sent
                           << " published");
  }
  stub.start();
  REQUIRE(stub.waitReady());
  // Devices resend what was never acked (the messages the dead stub had taken
  // from the broker but not committed are gone from the broker).
  // Wait until the queued backlog is in (the ack count stops growing).
  size_t lastCount = 0;
  auto lastChange = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] {
    size_t n = fleet.ackedCount();
    if (n != lastCount) {
      lastCount = n;
      lastChange = std::chrono::steady_clock::now();
    }
    return n == total || std::chrono::steady_clock::now() - lastChange > 2s;
  }, 60s));
  auto acked = fleet.acked();
  size_t resent = 0;
  for (const auto& [k, bytes] : payloads)
    if (!acked.count(k)) {
      REQUIRE(fleet.publish(k.first, bytes));
      ++resent;
    }
  REQUIRE(fleet.waitAcked(total, 60s));
  WARN("resent after restart: " << resent);

  // Each event once, the chain intact, the read models equal a replay.
  CHECK(stub.eventCount() == registrations + long(total));
  CHECK(queryInt(stub, "SELECT COUNT(DISTINCT event_id) FROM events") == registrations + long(total));
  auto v = stub.cadctl({"verify"});
  INFO(v.output);
  CHECK(v.exitCode == 0);
  stub.stop();
  auto r = stub.cadctl({"replay", "--into", dir.file("replay.db")});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  auto replayed = run({program("server-stub/cadctl"), "--db", dir.file("replay.db"), "digest"}, dir);
  CHECK(replayed.output == stub.cadctl({"digest"}).output);
}
