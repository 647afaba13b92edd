// The backend stub through real processes: mosquitto, cad-stub, cadctl, the
// sqlite3 shell, mosquitto_pub and mdc-agent.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/infra/pki.h"
#include "shared/wire/topics.h"
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

namespace {

constexpr int64_t T0 = kShiftStartMs;

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  REQUIRE(out.good());
}

/** Runs a shell command line (for stdin redirection) in dir; returns exit code and output. */
CommandResult shell(const std::string& line, const TempDir& dir, std::chrono::milliseconds timeout = 60s) {
  return run({"/bin/sh", "-c", line}, dir, timeout);
}

v1::ApiReply call(mdc::agent::ApiClient& c, v1::ApiRequest r) {
  auto reply = c.call(std::move(r));
  REQUIRE(reply.ok());
  return *reply;
}

uint64_t agentCounter(const AgentProcess& a, const std::string& name) {
  auto s = a.state();
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("5,000 events published three times by mosquitto_pub, and an agent's resends, are stored once each",
          "[stub][duplicates]") {
  MosquittoOptions mo;
  mo.maxQueuedMessages = 100000;  // the stub's session queues two rounds while it is down
  BackendStack backend(mo);
  TempDir& dir = backend.dir;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  const Device pub{"MDC-PUB1", "E1", "FD1", 21};
  stub.addDevice(pub.id, pub.unit, pub.agency);
  stub.addDevice("MDC-AGENT1", "E2", "FD1");

  // mosquitto_pub -l sends one message per line (and stops a line at a NUL):
  // keep the envelopes whose encoding has neither byte. Seqs that would have
  // one are skipped; the stub does not need them contiguous.
  const size_t kEvents = 5000;
  std::string lines;
  std::set<uint64_t> seqs;
  for (uint64_t seq = 1; seqs.size() < kEvents; ++seq) {
    v1::Envelope e;
    if (seq % 5 == 0) {
      e = statusEnv(pub, seq, T0 + int64_t(seq) * 1000, seq % 10 == 0 ? v1::UNIT_STATUS_EN_ROUTE : v1::UNIT_STATUS_ON_SCENE);
    } else {
      e = avlEnv(pub, seq, T0 + int64_t(seq) * 1000, 40.70 + double(seq) * 1.37e-5, -74.01 + double(seq) * 0.91e-5);
      auto* p = e.mutable_avl()->mutable_position();
      p->set_alt_m(0);  // floats as 0 are not on the wire (12.0f would put NUL bytes there)
      p->set_speed_mps(0);
      p->set_track_deg(0);
      p->set_eph_m(0);
    }
    std::string b = encode(e);
    if (b.find('\n') != std::string::npos || b.find('\0') != std::string::npos) continue;
    lines += b;
    lines += '\n';
    seqs.insert(seq);
  }
  writeFile(dir.file("events.lines"), lines);
  auto mosquittoPub = [&](int round) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = shell("mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker.port()) + " -V mqttv5 -q 1 -M 100 -i pub-round-" +
                       std::to_string(round) + " -t " + mdc::topics::up(pub.id) + " -l < " + dir.file("events.lines"),
                   dir);
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    WARN("mosquitto_pub round " << round << ": " << kEvents << " messages in " << s << " s");
  };

  WireFleet watch(broker.uri(), "ack-watch");  // sees the acks on every down topic
  REQUIRE(watch.connect({pub.id}));

  // Round 1 with the stub running.
  mosquittoPub(1);
  REQUIRE(watch.waitAcked(kEvents, 30s));
  CHECK(stub.eventCount() == 2 + long(kEvents));

  // Rounds 2 and 3 while the stub is down (the broker queues them in its
  // session), and an agent resending for want of acks every second.
  stub.stop();
  mosquittoPub(2);
  mosquittoPub(3);
  AgentProcess& agent =
      backend.addAgent("MDC-AGENT1", "E2", "FD1", {"--set", "link.ack_timeout_s=1", "--set", "link.window=4096"});
  agent.start();
  auto c = agent.client();
  const int kAgentEvents = 100;
  std::set<std::string> agentIds;
  for (int i = 0; i < kAgentEvents; ++i) {
    v1::ApiRequest r;
    r.mutable_set_status()->set_status(i % 2 ? v1::UNIT_STATUS_ON_SCENE : v1::UNIT_STATUS_EN_ROUTE);
    agentIds.insert(call(*c, r).queued().event_id());
  }
  REQUIRE(agentIds.size() == size_t(kAgentEvents));
  // Sent again while no ack comes (the oldest alone, once per timeout: the
  // backend may only be slow), at least three times before the stub returns.
  REQUIRE(waitUntil([&] { return agentCounter(agent, "resent") >= 3; }, 20s));
  const uint64_t agentResent = agentCounter(agent, "resent");

  stub.start();
  REQUIRE(stub.waitReady());
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 30s));
  // Every one of the 5,000 seqs is acked again after the restart (the
  // duplicates are acked, not ignored).
  REQUIRE(waitUntil([&] {
    auto t = watch.timesAcked(pub.id);
    for (uint64_t s : seqs)
      if (t[s] < 2) return false;
    return true;
  }, 30s));

  auto s = readStore(stub);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM events WHERE device_id='MDC-PUB1'") == long(kEvents));
  CHECK(s->db().queryInt("SELECT COUNT(DISTINCT event_id) FROM events WHERE device_id='MDC-PUB1'") == long(kEvents));
  std::set<uint64_t> stored;
  auto st = s->db().prepare("SELECT device_seq FROM events WHERE device_id='MDC-PUB1'");
  while (st.step()) stored.insert(uint64_t(st.i64(0)));
  CHECK(stored == seqs);
  std::map<std::string, int> agentStored;
  auto as = s->db().prepare("SELECT event_id FROM events WHERE device_id='MDC-AGENT1' AND kind='status'");
  while (as.step()) agentStored[as.text(0)]++;
  CHECK(agentStored.size() == size_t(kAgentEvents));
  for (const auto& id : agentIds) {
    INFO("agent event " << id);
    CHECK(agentStored[id] == 1);
  }
  // Only the stub's run after the restart counts: rounds 2+3 are 10,000
  // duplicates, and the agent's copies at least its resends.
  auto stats = stubStats(stub);
  WARN("stub after restart: " << QJsonDocument(stats).toJson(QJsonDocument::Compact).toStdString()
                              << "; agent resent " << agentResent);
  CHECK(stats.value("duplicates").toInteger() >= 2 * long(kEvents) + long(agentResent));
  // Beside its statuses the agent's presences: one for its first connection,
  // and one more for each fresh session it asked for while nothing came back.
  const auto presences =
      s->db().queryInt("SELECT COUNT(*) FROM events WHERE device_id='MDC-AGENT1' AND kind='presence'");
  CHECK(presences >= 1);
  CHECK(presences <= 1 + (long long)agentCounter(agent, "fresh_sessions"));
  CHECK(stats.value("appended").toInteger() == kAgentEvents + presences);
  CHECK(stats.value("refused").toInteger() == 0);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
}

TEST_CASE("bad input is refused with a logged reason, counted, nothing stored, and the stub keeps running",
          "[stub][bad-input]") {
  BackendStack backend;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  const Device a{"MDC-A", "E12", "FD1", 31};
  const Device b{"MDC-B", "E14", "FD1", 32};
  stub.addDevice(a.id, a.unit, a.agency);
  stub.addDevice(b.id, b.unit, b.agency);
  WireFleet fleet(broker.uri(), "bad-input");
  REQUIRE(fleet.connect({a.id, b.id}));
  REQUIRE(fleet.publish(a.id, encode(statusEnv(a, 1, T0, v1::UNIT_STATUS_AVAILABLE))));
  REQUIRE(fleet.waitAcked(1, 10s));
  const long before = stub.eventCount();
  const std::string digestBefore = stub.cadctl({"digest"}).output;

  std::mt19937 rng(7);
  std::string noise(512, '\0');
  for (auto& ch : noise) ch = char(rng() & 0xff);
  std::string good = encode(statusEnv(a, 2, T0, v1::UNIT_STATUS_EN_ROUTE));
  v1::Envelope v2 = statusEnv(a, 3, T0, v1::UNIT_STATUS_EN_ROUTE);
  v2.set_version(2);
  v1::Envelope huge = messageEnv(a, 4, T0, "x");
  huge.mutable_message()->set_text(std::string(64 * 1024, 'x'));
  v1::Envelope far = avlEnv(a, 5, T0, 40.7, -181.25);
  v1::Envelope bOnA = statusEnv(b, 6, T0, v1::UNIT_STATUS_ON_SCENE);  // B's event on A's topic

  struct Case {
    std::string what, payload, reason;
    v1::RejectReason wire;
  };
  std::vector<Case> cases = {
      {"random bytes", noise, "malformed", v1::REJECT_REASON_MALFORMED},
      {"truncated protobuf", good.substr(0, good.size() / 2), "malformed", v1::REJECT_REASON_MALFORMED},
      {"wrong version", v2.SerializeAsString(), "unsupported_version", v1::REJECT_REASON_MALFORMED},
      {"oversized payload", huge.SerializeAsString(), "too_large", v1::REJECT_REASON_MALFORMED},
      {"another device's events on this topic", encode(bOnA), "wrong_device", v1::REJECT_REASON_WRONG_DEVICE},
      {"longitude out of range", far.SerializeAsString(), "out_of_range", v1::REJECT_REASON_MALFORMED},
  };
  for (const auto& c : cases) REQUIRE(fleet.publish(a.id, c.payload));
  REQUIRE(fleet.waitDownlinks(a.id, cases.size(), 10s));
  // Nothing they carried changed a read model or the log.
  CHECK(stub.cadctl({"digest"}).output == digestBefore);
  CHECK(stub.eventCount() == before);
  // And the stub still works: a good event after them is stored and acked.
  REQUIRE(fleet.publish(a.id, good));
  REQUIRE(fleet.waitAcked(2, 10s));
  CHECK(stub.running());

  auto dls = fleet.downlinks(a.id);
  REQUIRE(dls.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].what);
    REQUIRE(dls[i].has_rejection());
    CHECK(dls[i].rejection().reason() == cases[i].wire);
    CHECK(dls[i].seq() == 0);
    CHECK_FALSE(dls[i].rejection().detail().empty());
  }
  CHECK(dls[3].rejection().detail().find("16384") != std::string::npos);
  CHECK(dls[4].rejection().detail().find("MDC-B") != std::string::npos);
  CHECK(dls[5].rejection().detail().find("envelope.avl.position.lon: -181.25") != std::string::npos);

  auto stats = stubStats(stub);
  CHECK(stats.value("refused").toInteger() == long(cases.size()));
  auto byReason = stats.value("refused_by_reason").toObject();
  CHECK(byReason.value("malformed").toInteger() == 2);
  CHECK(byReason.value("unsupported_version").toInteger() == 1);
  CHECK(byReason.value("too_large").toInteger() == 1);
  CHECK(byReason.value("wrong_device").toInteger() == 1);
  CHECK(byReason.value("out_of_range").toInteger() == 1);
  CHECK(stats.value("appended").toInteger() == 2);  // seq 1 and seq 2 (commands are not ingest)
  CHECK(stub.eventCount() == before + 1);
  CHECK(queryInt(stub, "SELECT COUNT(*) FROM refusals WHERE device_id='MDC-A'") == long(cases.size()));
  std::string log = stub.log();
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(log.find("refused from MDC-A: " + c.reason + ": ") != std::string::npos);
  }
  CHECK(stub.cadctl({"refusals"}).output.find("wrong_device") != std::string::npos);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
}

TEST_CASE("tamper: one payload byte changed with the sqlite3 shell, cadctl verify names that event",
          "[stub][tamper]") {
  BackendStack backend;
  TempDir& dir = backend.dir;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  const Device d{"MDC-T1", "E12", "FD1", 41};
  stub.addDevice(d.id, d.unit, d.agency);
  WireFleet fleet(broker.uri(), "tamper");
  REQUIRE(fleet.connect({d.id}));
  for (uint64_t seq = 1; seq <= 10; ++seq)
    REQUIRE(fleet.publish(d.id, encode(statusEnv(d, seq, T0 + int64_t(seq) * 1000, v1::UNIT_STATUS_BUSY))));
  REQUIRE(fleet.waitAcked(10, 10s));
  stub.stop();
  REQUIRE(stub.cadctl({"verify"}).exitCode == 0);
  const std::string db = stub.dbPath();

  // The shell cannot change or delete an event while the triggers stand.
  auto upd = shell("sqlite3 " + db + " \"UPDATE events SET payload=x'00' WHERE pos=7\"", dir);
  CHECK(upd.exitCode != 0);
  CHECK(upd.output.find("append-only: UPDATE refused") != std::string::npos);
  auto del = shell("sqlite3 " + db + " \"DELETE FROM events WHERE pos=7\"", dir);
  CHECK(del.exitCode != 0);
  CHECK(del.output.find("append-only: DELETE refused") != std::string::npos);
  REQUIRE(stub.cadctl({"verify"}).exitCode == 0);

  // Someone with the file drops the trigger and changes byte 21 of event 7's
  // payload (a character of its event id) to 'Z'.
  auto tamper = shell("sqlite3 " + db +
                          " \"DROP TRIGGER events_append_only_update; UPDATE events SET payload=CAST(substr(payload,1,20)"
                          " || x'5a' || substr(payload,22) AS BLOB) WHERE pos=7; SELECT changes();\"",
                      dir);
  INFO(tamper.output);
  REQUIRE(tamper.exitCode == 0);
  const std::string id7 = eventIdFor(d.index, 6);  // pos 1 is the registration: pos 7 is seq 6
  auto v = stub.cadctl({"verify"});
  INFO(v.output);
  CHECK(v.exitCode == 1);
  CHECK(v.output.find("BROKEN after 6 intact events: event 7 (id " + id7 + ", device MDC-T1 seq 6)") !=
        std::string::npos);
  CHECK(v.output.find("altered") != std::string::npos);
  // A replay refuses to build read models from it.
  auto r = stub.cadctl({"replay", "--into", dir.file("replay.db")});
  CHECK(r.exitCode == 1);
  CHECK(r.output.find("event 7") != std::string::npos);
}

TEST_CASE("replay determinism: after a scripted shift the live store and its replay have the same digest",
          "[stub][replay]") {
  VehicleStack stack("MDC-E12", "E12", "FD1");
  TempDir& dir = stack.dir;
  Mosquitto& broker = stack.broker;
  CadStub& stub = stack.stub;
  AgentProcess& agent = stack.agent;
  const Device e14{"MDC-E14", "E14", "FD1", 52};
  const Device p7{"MDC-P7", "P7", "PD1", 53};
  stub.addDevice(e14.id, e14.unit, e14.agency);
  stub.addDevice(p7.id, p7.unit, p7.agency);
  agent.start();
  WireFleet fleet(broker.uri(), "shift");
  REQUIRE(fleet.connect({e14.id, p7.id}));
  const int64_t now = mdc::SystemClock::instance().nowMs();
  uint64_t e14seq = 0, p7seq = 0;
  size_t wireEvents = 0;
  auto send = [&](const v1::Envelope& e) {
    REQUIRE(fleet.publish(e.device_id(), encode(e), e.has_presence()));
    if (e.seq() > 0) ++wireEvents;
  };
  send(presenceEnv(e14, 1, now, true));
  send(presenceEnv(p7, 1, now, true));
  for (int i = 0; i < 100; ++i) {
    send(avlEnv(e14, ++e14seq, now + i * 1000, 40.70 + i * 1e-4, -74.0, false));
    send(avlEnv(p7, ++p7seq, now - 600'000 + i * 1000, 40.80 + i * 1e-4, -73.9, i % 2 == 0));
  }
  REQUIRE(fleet.waitAcked(wireEvents, 20s));

  std::string fire = createCfs(stub, "FD1", "FSTRU");
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "alice", "assign", fire, "E12"}).exitCode == 0);
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "alice", "assign", fire, "E14"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().assignments_size() > 0; }, 15s));
  REQUIRE(agent.mdcctl({"ack", fire}).exitCode == 0);
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  send(statusEnv(e14, ++e14seq, now + 200'000, v1::UNIT_STATUS_EN_ROUTE, fire));
  REQUIRE(agent.mdcctl({"status", "on-scene"}).exitCode == 0);
  send(statusEnv(e14, ++e14seq, now + 400'000, v1::UNIT_STATUS_ON_SCENE, fire));
  REQUIRE(agent.mdcctl({"emergency"}).exitCode == 0);
  REQUIRE(agent.mdcctl({"message", "need a second line"}).exitCode == 0);
  REQUIRE(agent.mdcctl({"wait-synced", "--timeout", "15"}).exitCode == 0);
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "bob", "ack-emergency", "E12"}).exitCode == 0);
  REQUIRE(agent.mdcctl({"emergency", "--clear"}).exitCode == 0);
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "bob", "message", "E14", "ladder 3 is coming"}).exitCode == 0);
  // E12 self-initiates while assigned: recorded, not attached.
  REQUIRE(agent.mdcctl({"cfs", "--type", "TSTOP", "--lat", "40.71", "--lon", "-74.01"}).exitCode == 0);
  send(cfsEnv(p7, ++p7seq, now + 500'000, "TRAFFIC_STOP"));
  send(statusEnv(p7, ++p7seq, now + 900'000, v1::UNIT_STATUS_AVAILABLE));
  REQUIRE(agent.mdcctl({"status", "available"}).exitCode == 0);
  send(statusEnv(e14, ++e14seq, now + 1'800'000, v1::UNIT_STATUS_AVAILABLE));
  std::string second = createCfs(stub, "FD1", "ALRF");
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "carol", "close-cfs", second}).exitCode == 0);
  REQUIRE(agent.mdcctl({"wait-synced", "--timeout", "15"}).exitCode == 0);
  REQUIRE(fleet.waitAcked(wireEvents, 20s));
  send(presenceEnv(p7, 2, now + 2'000'000, false));
  REQUIRE(waitUntil([&] { return queryInt(stub, "SELECT online FROM units WHERE unit_id='P7'") == 0; }, 10s));

  // The agent dies: the broker publishes its last will, the board shows it offline.
  agent.kill9();
  REQUIRE(waitUntil([&] { return queryInt(stub, "SELECT online FROM units WHERE unit_id='E12'") == 0; }, 15s));
  auto e12 = cadctlJson(stub, {"--agency", "FD1", "board"}).array()[0].toObject();
  CHECK(e12.value("unit").toString() == "E12");
  CHECK_FALSE(e12.value("online").toBool());
  CHECK(e12.value("online_changed_ms").toInteger() >= now);

  // What the shift left on the board and in the CFS list.
  auto cfs = cadctlJson(stub, {"cfs", "show", fire}).object();
  CHECK(cfs.value("state").toString() == "closed");  // both units cleared
  CHECK(cfs.value("units").toArray().size() == 2);
  CHECK(queryInt(stub, "SELECT COUNT(*) FROM cfs") == 4);
  CHECK(queryInt(stub, "SELECT COUNT(*) FROM cfs WHERE source='self'") == 2);
  CHECK(queryInt(stub, "SELECT emergency FROM units WHERE unit_id='E12'") == 0);

  auto v = stub.cadctl({"verify"});
  INFO(v.output);
  REQUIRE(v.exitCode == 0);
  auto replay = stub.cadctl({"replay", "--into", dir.file("replay.db")});
  INFO(replay.output);
  REQUIRE(replay.exitCode == 0);
  std::string live = stub.cadctl({"digest"}).output;
  auto replayed = run({program("server-stub/cadctl"), "--db", dir.file("replay.db"), "digest"}, dir);
  REQUIRE(live.size() == 65);
  CHECK(replayed.output == live);
  // Same log, same head.
  auto rv = run({program("server-stub/cadctl"), "--db", dir.file("replay.db"), "verify"}, dir);
  CHECK(rv.exitCode == 0);
  CHECK(rv.output.find("newest event") != std::string::npos);
  CHECK(rv.output.substr(rv.output.find("chain intact")) == v.output.substr(v.output.find("chain intact")));
}

TEST_CASE("two agencies: neither sees the other's units, a device of one cannot touch a CFS of the other",
          "[stub][tenant]") {
  BackendStack backend;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  const Device e12{"MDC-E12", "E12", "FD1", 61};
  const Device e14{"MDC-E14", "E14", "FD1", 62};
  const Device p7{"MDC-P7", "P7", "PD1", 63};
  for (const auto& d : {e12, e14, p7}) stub.addDevice(d.id, d.unit, d.agency);
  WireFleet fleet(broker.uri(), "tenant");
  REQUIRE(fleet.connect({e12.id, e14.id, p7.id}));

  // Each agency's first CFS of the year.
  std::string fire = createCfs(stub, "FD1", "FSTRU");
  REQUIRE(fleet.publish(p7.id, encode(cfsEnv(p7, 1, T0, "TRAFFIC_STOP"))));
  REQUIRE(fleet.waitAcked(1, 10s));
  REQUIRE(fleet.waitDownlinks(p7.id, 1, 10s));
  auto acc = fleet.downlinks(p7.id).at(0);
  REQUIRE(acc.has_cfs_accepted());
  std::string stop = acc.cfs_accepted().incident_number();
  CHECK(stop != fire);
  std::string burglary = createCfs(stub, "PD1", "BURGLARY");
  CHECK(burglary != fire);
  CHECK(burglary != stop);

  auto unitsOf = [&](const std::string& agency) {
    std::set<std::string> units;
    for (const auto& u : cadctlJson(stub, {"--agency", agency, "board"}).array()) {
      CHECK(u.toObject().value("agency").toString().toStdString() == agency);
      units.insert(u.toObject().value("unit").toString().toStdString());
    }
    return units;
  };
  CHECK(unitsOf("FD1") == std::set<std::string>{"E12", "E14"});
  CHECK(unitsOf("PD1") == std::set<std::string>{"P7"});
  CHECK(cadctlJson(stub, {"--agency", "PD1", "cfs", "list"}).array().size() == 2);
  CHECK(stub.cadctl({"--agency", "PD1", "cfs", "show", fire}).exitCode == 1);

  // P7 writes a status and an acknowledgement for the FD1 fire.
  const long before = stub.eventCount();
  REQUIRE(fleet.publish(p7.id, encode(statusEnv(p7, 2, T0 + 1000, v1::UNIT_STATUS_EN_ROUTE, fire))));
  REQUIRE(fleet.publish(p7.id, encode(assignmentAckEnv(p7, 3, T0 + 2000, fire, 1))));
  REQUIRE(fleet.waitDownlinks(p7.id, 3, 10s));
  auto dls = fleet.downlinks(p7.id);
  for (size_t i = 1; i < 3; ++i) {
    REQUIRE(dls[i].has_rejection());
    CHECK(dls[i].rejection().reason() == v1::REJECT_REASON_NOT_PERMITTED);
    CHECK(dls[i].rejection().detail().find(fire) != std::string::npos);
  }
  CHECK(stub.eventCount() == before);
  CHECK(cadctlJson(stub, {"--agency", "FD1", "cfs", "show", fire}).object().value("enroute_at_ms").toInteger() == 0);

  // A PD1 dispatcher cannot assign an FD1 unit, nor to an FD1 CFS.
  auto r1 = stub.cadctl({"--agency", "PD1", "--as", "mallory", "assign", burglary, "E12"});
  CHECK(r1.exitCode == 1);
  CHECK(r1.output.find("no such unit in agency PD1") != std::string::npos);
  auto r2 = stub.cadctl({"--agency", "PD1", "--as", "mallory", "assign", fire, "P7"});
  CHECK(r2.exitCode == 1);
  CHECK(r2.output.find("no such CFS in agency PD1") != std::string::npos);
  CHECK(stub.eventCount() == before);

  // The same-agency unit can be assigned; P7 on its self-initiated stop cannot
  // be pulled onto the burglary without --force, and the refusal says why.
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "alice", "assign", fire, "E12"}).exitCode == 0);
  auto r3 = stub.cadctl({"--agency", "PD1", "--as", "dave", "assign", burglary, "P7"});
  CHECK(r3.exitCode == 1);
  CHECK(r3.output.find("self-initiated CFS " + stop) != std::string::npos);
  CHECK(r3.output.find("--force") != std::string::npos);
  REQUIRE(stub.cadctl({"--agency", "PD1", "--as", "dave", "assign", burglary, "P7", "--force"}).exitCode == 0);
  auto events = cadctlJson(stub, {"events", "--agency", "PD1"}).array();
  REQUIRE(!events.isEmpty());
  QJsonObject last = events.last().toObject();
  CHECK(last.value("kind").toString() == "dispatch.assign");
  CHECK(last.value("actor").toString() == "dispatcher:dave");

  // Resync through the running stub: P7 has downlinks 1 (CFS accepted), 2
  // (off its stop: the forced reassignment) and 3 (the burglary); a message
  // makes 4. Asking after 1 gives 2, 3 and 4.
  REQUIRE(stub.cadctl({"--agency", "PD1", "--as", "dave", "message", "P7", "call me"}).exitCode == 0);
  REQUIRE(fleet.waitDownlinks(p7.id, 6, 10s));  // accepted + 2 rejections + cleared + assignment + message
  REQUIRE(fleet.publish(p7.id, encode(resyncEnv(p7, 1, T0 + 5000, 1))));
  REQUIRE(fleet.waitDownlinks(p7.id, 9, 10s));
  std::this_thread::sleep_for(300ms);  // nothing more may come
  auto all = fleet.downlinks(p7.id);
  REQUIRE(all.size() == 9);
  CHECK(all[6].seq() == 2);
  CHECK(all[6].assignment_cleared().incident_number() == stop);
  CHECK(all[6].assignment_cleared().reason() == "reassigned to " + burglary + " by dave");
  CHECK(all[7].seq() == 3);
  CHECK(all[7].has_assignment());
  CHECK(all[7].assignment().incident_number() == burglary);
  CHECK(all[8].seq() == 4);
  CHECK(all[8].message().text() == "call me");
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
}

TEST_CASE("a fleet imported from CSV: a dry run and a bad file change nothing, a re-run registers nothing twice",
          "[stub][fleet]") {
  VehicleStack v("MDC-0001", "E12", "FD1");  // registered already; its agent is not needed
  TempDir& dir = v.dir;
  CadStub& stub = v.stub;
  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = dir.file(name);
    std::ofstream(path) << text;
    return path;
  };
  const std::string good = write("fleet.csv",
                                  "device,unit,agency\n"
                                  "MDC-0001,E12,FD1\n"
                                  "MDC-0002,E14,FD1\n"
                                  "MDC-0003,M5,EMS1\n");
  const std::string bad = write("bad.csv",
                                "MDC-0004,E15,FD1\n"
                                "MDC-0005,E15,FD1\n");
  const long long before = stub.eventCount();

  auto dry = stub.cadctl({"--as", "tech.lee", "devices", "import", good, "--dry-run"});
  INFO(dry.output);
  CHECK(dry.exitCode == 0);
  CHECK_THAT(dry.output, Catch::Contains("would register MDC-0002 for unit E14 of FD1"));
  CHECK_THAT(dry.output, Catch::Contains("dry run: 2 to register, 1 already registered as given; nothing changed"));
  CHECK(stub.eventCount() == before);

  auto refused = stub.cadctl({"--as", "tech.lee", "devices", "import", bad});
  INFO(refused.output);
  CHECK(refused.exitCode == 1);
  CHECK_THAT(refused.output, Catch::Contains("line 2: unit \"E15\": also given to MDC-0004 on line 1"));
  CHECK_THAT(refused.output, Catch::Contains("nothing registered: 1 bad line"));
  CHECK(stub.eventCount() == before);
  CHECK(stub.cadctl({"devices", "import", dir.file("missing.csv")}).output.find("cannot read") != std::string::npos);

  auto done = stub.cadctl({"--as", "tech.lee", "devices", "import", good});
  INFO(done.output);
  CHECK(done.exitCode == 0);
  CHECK_THAT(done.output, Catch::Contains("registered 2 devices; 1 already registered as given"));
  CHECK(stub.eventCount() == before + 2);
  auto list = stub.cadctl({"devices", "list"});
  CHECK_THAT(list.output, Catch::Contains("MDC-0003"));
  CHECK_THAT(list.output, Catch::Contains("EMS1"));
  auto events = stub.cadctl({"events", "--limit", "2"});
  CHECK_THAT(events.output, Catch::Contains("dispatcher:tech.lee"));

  auto again = stub.cadctl({"--as", "tech.lee", "devices", "import", good});
  CHECK(again.exitCode == 0);
  CHECK_THAT(again.output, Catch::Contains("registered 0 devices; 3 already registered as given"));
  CHECK(stub.eventCount() == before + 2);
}

TEST_CASE("a decommissioned device is unregistered, its certificate revoked, and its events refused from then on",
          "[stub][fleet]") {
  VehicleStack v("MDC-0201", "E21", "FD1");
  TempDir& dir = v.dir;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  // Its certificate from the fleet CA beside the store.
  REQUIRE(stub.cadctl({"ca", "init"}).exitCode == 0);
  const std::string key = dir.file("dev.key"), csr = dir.file("dev.csr");
  REQUIRE(mdc::pki::generateKey(key).ok());
  REQUIRE(mdc::pki::writeCsr(key, "MDC-0201", csr).ok());
  REQUIRE(stub.cadctl({"ca", "sign", csr}).exitCode == 0);

  agent.start();
  REQUIRE(agent.mdcctl({"status", "available"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().status_delivery() == v1::DELIVERY_DELIVERED; }, 20s));

  CHECK(stub.cadctl({"--agency", "PD1", "devices", "decommission", "MDC-0201"}).exitCode == 1);  // not theirs
  auto r = stub.cadctl({"--agency", "FD1", "--as", "tech.lee", "devices", "decommission", "MDC-0201"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.output, Catch::Contains("device MDC-0201 removed from the registry (it served unit E21)"));
  CHECK_THAT(r.output, Catch::Contains("revoked serial "));
  CHECK(stub.cadctl({"devices", "list"}).output.find("MDC-0201") == std::string::npos);
  CHECK_THAT(stub.cadctl({"board"}).output, Catch::Contains("E21 "));  // the unit and its history stay
  // A second certificate for the id needs no --reenrol now: the old one is revoked.
  REQUIRE(mdc::pki::writeCsr(key, "MDC-0201", csr).ok());
  CHECK(stub.cadctl({"ca", "sign", csr}).exitCode == 0);

  // The device's next action is refused as not registered: held on the device, never stored.
  const long long before = stub.eventCount();
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().status_delivery() == v1::DELIVERY_HELD; }, 20s));
  CHECK(stub.eventCount() == before);
  CHECK(stub.cadctl({"--agency", "FD1", "devices", "decommission", "MDC-0201"}).exitCode == 1);  // already gone
  auto replay = stub.cadctl({"replay", "--into", dir.file("replayed.db")});
  CHECK(replay.exitCode == 0);
  CHECK(stub.cadctl({"--db", dir.file("replayed.db"), "digest"}).output == stub.cadctl({"digest"}).output);
}

TEST_CASE("the stub serves Prometheus text metrics on its local port", "[stub][metrics]") {
  const uint16_t port = freeLoopbackPort();
  VehicleStack v("MDC-0301", "E31", "FD1", {}, {}, {.args = {"--metrics-port", std::to_string(port)}});
  TempDir& dir = v.dir;
  Mosquitto& broker = v.broker;
  AgentProcess& agent = v.agent;
  agent.start();
  REQUIRE(agent.mdcctl({"status", "available"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().status_delivery() == v1::DELIVERY_DELIVERED; }, 20s));
  // A device that is not registered: refused, counted by reason.
  REQUIRE(run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-q", "1", "-t",
               "cad/v1/dev/MDC-NOBODY/up", "-m", "not protobuf"}, dir).exitCode == 0);
  auto get = [&](const std::string& path) {
    auto r = run({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + "; printf 'GET " + path +
                                    " HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"}, dir);
    return r.output;
  };
  std::string m;
  REQUIRE(waitUntil([&] { m = get("/metrics"); return m.find("cad_events_refused_total{reason=") != std::string::npos; },
                    10s));
  INFO(m);
  CHECK_THAT(m, Catch::StartsWith("HTTP/1.0 200 OK"));
  CHECK_THAT(m, Catch::Contains("# TYPE cad_events_appended_total counter"));
  CHECK_THAT(m, Catch::Contains("cad_broker_connected 1\n"));
  CHECK_THAT(m, Catch::Contains("cad_devices_connected 1\n"));
  CHECK_THAT(m, Catch::Contains("cad_downlink_lagging_devices 0\n"));
  std::smatch appended;
  REQUIRE(std::regex_search(m, appended, std::regex("\ncad_events_appended_total ([0-9]+)\n")));
  CHECK(std::stoll(appended[1]) >= 2);  // the presence and the status at least
  CHECK_THAT(get("/"), Catch::StartsWith("HTTP/1.0 404"));
}
