// EventStore on real SQLite files (and, in the postgresql: run, on
// PostgreSQL databases): the append-only log, de-duplication, refusals, and
// each projection rule the dispatcher relies on. Cases tagged [sqlite] work
// on the file itself.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <filesystem>
#include <random>
#include <regex>

#include "server-stub/store/event_store.h"
#include "server-stub/store/read_models.h"
#include "server-stub/domain/kpi.h"
#include "shared/wire/codec.h"
#include "server-stub/store/postgres.h"
#include "tests/support/pg_server.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

const Device kE12{"MDC-E12", "E12", "FD1", 1};
const Device kE14{"MDC-E14", "E14", "FD1", 2};
const Device kP7{"MDC-P7", "P7", "PD1", 3};
constexpr int64_t T0 = kShiftStartMs;
constexpr int64_t kMin = 60'000;

std::unique_ptr<EventStore> openStore(const TempDir& dir, const std::string& name = "cad.db") {
  auto s = EventStore::open(mdc::test::storeTarget(dir, name));
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

CommandOutcome exec(EventStore& s, ControlRequest c, int64_t at) {
  if (c.actor().empty()) c.set_actor("alice");
  auto r = s.execute(c, at);
  INFO(commandKind(c) << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

void addDevice(EventStore& s, const Device& d, int64_t at = T0 - 10 * kMin) {
  ControlRequest c;
  c.set_agency(d.agency);
  c.mutable_device_add()->set_device(d.id);
  c.mutable_device_add()->set_unit(d.unit);
  c.set_actor("fleet");
  exec(s, c, at);
}

BatchOutcome ingest(EventStore& s, std::vector<Incoming> batch) {
  auto r = s.ingest(batch);
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

BatchOutcome ingestOne(EventStore& s, const v1::Envelope& e, int64_t receivedAt = 0) {
  return ingest(s, {incoming(e, receivedAt ? receivedAt : e.recorded_at_ms() + 300)});
}

std::string createCfs(EventStore& s, const std::string& agency, int64_t at, const std::string& actor = "alice") {
  ControlRequest c;
  c.set_agency(agency);
  c.set_actor(actor);
  c.mutable_create_cfs()->set_type("FSTRU");
  c.mutable_create_cfs()->set_priority(1);
  c.mutable_create_cfs()->set_address("12 Main St");
  auto out = exec(s, c, at);
  REQUIRE(out.summary.rfind("created ", 0) == 0);
  return out.summary.substr(8);
}

mdc::Result<CommandOutcome> assign(EventStore& s, const std::string& agency, const std::string& incident,
                                   const std::string& unit, int64_t at, bool force = false) {
  ControlRequest c;
  c.set_agency(agency);
  c.set_actor("alice");
  c.mutable_assign()->set_incident(incident);
  c.mutable_assign()->set_unit(unit);
  c.mutable_assign()->set_force(force);
  return s.execute(c, at);
}

int64_t count(EventStore& s, const std::string& sql) { return s.db().queryInt(sql); }
int64_t events(EventStore& s) { return count(s, "SELECT COUNT(*) FROM events"); }
int64_t refusals(EventStore& s) { return count(s, "SELECT COUNT(*) FROM refusals"); }

struct UnitRow {
  int status = 0;
  double lat = 0, lon = 0;
  int64_t posAt = 0;
  bool online = false;
  int64_t onlineChanged = 0;
  std::string cfs;
  bool emergency = false, emergencyActive = false;
  std::string ackBy;
  std::string device;
};

UnitRow unitRow(EventStore& s, const std::string& unit) {
  auto st = s.db().prepare(
      "SELECT status, lat, lon, pos_at_ms, online, online_changed_ms, current_cfs, emergency, emergency_active, "
      "emergency_ack_by, device_id FROM units WHERE unit_id=?");
  st.bind(1, unit);
  REQUIRE(st.step());
  UnitRow u;
  u.status = int(st.i64(0));
  u.lat = st.isNull(1) ? 0 : st.f64(1);
  u.lon = st.isNull(2) ? 0 : st.f64(2);
  u.posAt = st.i64(3);
  u.online = st.i64(4) == 1;
  u.onlineChanged = st.i64(5);
  u.cfs = st.text(6);
  u.emergency = st.i64(7) == 1;
  u.emergencyActive = st.i64(8) == 1;
  u.ackBy = st.text(9);
  u.device = st.text(10);
  return u;
}

std::vector<const v1::Downlink*> downlinksOf(const std::vector<Outgoing>& out, const std::string& device,
                                             v1::Downlink::BodyCase body) {
  std::vector<const v1::Downlink*> r;
  for (const auto& o : out)
    if (o.deviceId == device && o.downlink.body_case() == body) r.push_back(&o.downlink);
  return r;
}

}  // namespace

TEST_CASE("events are append-only: the triggers refuse UPDATE and DELETE (and TRUNCATE)", "[store]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  ingestOne(*s, statusEnv(kE12, 1, T0, v1::UNIT_STATUS_EN_ROUTE));
  REQUIRE(events(*s) == 2);
  auto payload = [&] {
    auto st = s->db().prepare("SELECT payload FROM events WHERE pos=2");
    REQUIRE(st.step());
    return st.blob(0);
  };
  const std::string before = payload();
  std::vector<std::string> refused = {"UPDATE events SET kind='message' WHERE pos=2",
                                      "UPDATE events SET actor='dispatcher:x'", "DELETE FROM events WHERE pos=2",
                                      "DELETE FROM events"};
  if (s->engine() == mdc::sql::Engine::postgresql) refused.push_back("TRUNCATE events");
  for (const auto& sql : refused) {
    INFO(sql);
    try {
      s->db().exec(sql);
      FAIL("the statement was accepted");
    } catch (const mdc::sql::DbError& e) {
      CHECK(std::string(e.what()).find("append-only") != std::string::npos);
      CHECK(e.fault() == mdc::sql::Fault::constraint);
    }
  }
  CHECK(events(*s) == 2);
  CHECK(payload() == before);
  CHECK_FALSE(s->log().verify());
}

TEST_CASE("a repeated (device, seq) is acked again and stored once, re-used with other content it is refused",
          "[store]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  std::vector<Incoming> batch;
  for (uint64_t seq = 1; seq <= 50; ++seq) batch.push_back(incoming(avlEnv(kE12, seq, T0 + int64_t(seq) * 1000, 40.7, -74.0), T0));
  auto first = ingest(*s, batch);
  CHECK(first.appended == 50);
  CHECK(first.duplicates == 0);

  // The same 50 twice more, in one batch (the second copy meets the first in
  // the same transaction's view).
  std::vector<Incoming> again = batch;
  again.insert(again.end(), batch.begin(), batch.end());
  auto second = ingest(*s, again);
  CHECK(second.appended == 0);
  CHECK(second.duplicates == 100);
  REQUIRE(second.acks.count(kE12.id) == 1);
  CHECK(second.acks[kE12.id].size() == 100);  // every copy acked again: the device may have missed the first ack
  CHECK(events(*s) == 51);

  // Within one batch, the first copy is stored and the second acked as a duplicate.
  auto inBatch = ingest(*s, {incoming(avlEnv(kE12, 51, T0, 40.7, -74.0), T0), incoming(avlEnv(kE12, 51, T0, 40.7, -74.0), T0)});
  CHECK(inBatch.appended == 1);
  CHECK(inBatch.duplicates == 1);

  // seq 7 again but another event id (a device that lost its store and re-used seqs).
  v1::Envelope conflict = statusEnv(kE12, 7, T0, v1::UNIT_STATUS_BUSY);
  conflict.set_event_id(eventIdFor(kE12.index, 7, 9));
  auto out = ingestOne(*s, conflict);
  CHECK(out.appended == 0);
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].reason == "seq_conflict");
  CHECK(out.refused[0].detail.find(conflict.event_id()) != std::string::npos);
  CHECK(out.acks.empty());
  auto rej = downlinksOf(out.downlinks, kE12.id, v1::Downlink::kRejection);
  REQUIRE(rej.size() == 1);
  CHECK(rej[0]->rejection().reason() == v1::REJECT_REASON_SEQ_CONFLICT);
  CHECK(rej[0]->rejection().seq() == 7);
  CHECK(events(*s) == 52);
  CHECK(count(*s, "SELECT COUNT(*) FROM refusals WHERE reason='seq_conflict' AND device_id='MDC-E12'") == 1);
  // The stored event 7 is unchanged: still the AVL report.
  CHECK(s->db().queryText("SELECT kind FROM events WHERE device_id='MDC-E12' AND device_seq=7") == "avl");
  CHECK_FALSE(s->log().verify());
}

TEST_CASE("bad input is refused with a reason, recorded, and stores nothing", "[store][bad-input]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  ingestOne(*s, statusEnv(kE12, 1, T0, v1::UNIT_STATUS_AVAILABLE));
  const int64_t eventsBefore = events(*s);
  const std::string digestBefore = s->log().digest();

  std::mt19937 rng(42);
  std::string randomBytes(300, '\0');
  for (auto& c : randomBytes) c = char(rng() & 0xff);
  std::string good = encode(statusEnv(kE12, 2, T0, v1::UNIT_STATUS_EN_ROUTE));
  v1::Envelope wrongVersion = statusEnv(kE12, 3, T0, v1::UNIT_STATUS_EN_ROUTE);
  wrongVersion.set_version(2);
  v1::Envelope big = messageEnv(kE12, 4, T0, "x");
  big.mutable_message()->set_text(std::string(20000, 'x'));
  v1::Envelope farAway = avlEnv(kE12, 5, T0, 91.5, -74.0);
  v1::Envelope asOther = statusEnv(kE14, 6, T0, v1::UNIT_STATUS_ON_SCENE);  // E14's envelope on E12's topic
  v1::Envelope unknown = statusEnv(Device{"MDC-GHOST", "X1", "FD1", 9}, 1, T0, v1::UNIT_STATUS_BUSY);
  v1::Envelope avlOnPresence = avlEnv(kE12, 8, T0, 40.7, -74.0);

  struct Case {
    const char* name;
    Incoming in;
    std::string reason;
    v1::RejectReason wire;
    std::string detailHas;
  };
  std::vector<Case> cases = {
      {"random bytes", incomingRaw(kE12.id, randomBytes, T0), "malformed", v1::REJECT_REASON_MALFORMED, "envelope"},
      {"truncated protobuf", incomingRaw(kE12.id, good.substr(0, good.size() - 5), T0), "malformed",
       v1::REJECT_REASON_MALFORMED, "envelope"},
      {"wrong version", incomingRaw(kE12.id, wrongVersion.SerializeAsString(), T0), "unsupported_version",
       v1::REJECT_REASON_MALFORMED, "version"},
      {"oversized payload", incomingRaw(kE12.id, big.SerializeAsString(), T0), "too_large",
       v1::REJECT_REASON_MALFORMED, "16384"},
      {"latitude out of range", incomingRaw(kE12.id, farAway.SerializeAsString(), T0), "out_of_range",
       v1::REJECT_REASON_MALFORMED, "envelope.avl.position.lat: 91.5"},
      {"another device's envelope on this device's topic", incomingRaw(kE12.id, encode(asOther), T0), "wrong_device",
       v1::REJECT_REASON_WRONG_DEVICE, "MDC-E14"},
      {"unknown device", incoming(unknown, T0), "unknown_device", v1::REJECT_REASON_UNKNOWN_DEVICE, "MDC-GHOST"},
      {"an event on the presence topic", incomingRaw(kE12.id, encode(avlOnPresence), T0, true), "wrong_topic",
       v1::REJECT_REASON_MALFORMED, "presence"},
      {"empty payload", incomingRaw(kE12.id, "", T0), "malformed", v1::REJECT_REASON_MALFORMED, "envelope"},
  };
  int64_t refusedSoFar = refusals(*s);
  for (const auto& c : cases) {
    INFO(c.name);
    auto out = ingest(*s, {c.in});
    CHECK(out.appended == 0);
    CHECK(out.acks.empty());
    REQUIRE(out.refused.size() == 1);
    CHECK(out.refused[0].reason == c.reason);
    CHECK_THAT(out.refused[0].detail, Catch::Contains(c.detailHas));
    auto rej = downlinksOf(out.downlinks, c.in.topicDeviceId, v1::Downlink::kRejection);
    REQUIRE(rej.size() == 1);
    CHECK(rej[0]->rejection().reason() == c.wire);
    CHECK(rej[0]->seq() == 0);  // not stored, not replayed
    CHECK(mdc::codec::validate(*rej[0]));
    CHECK(events(*s) == eventsBefore);
    CHECK(refusals(*s) == ++refusedSoFar);
    CHECK(count(*s, "SELECT COUNT(*) FROM refusals WHERE id=(SELECT MAX(id) FROM refusals) AND reason='" + c.reason +
                        "' AND device_id='" + c.in.topicDeviceId + "'") == 1);
  }
  CHECK(s->log().digest() == digestBefore);  // no read model moved

  // All of them in one batch with one good event: the good one is stored, each
  // bad one refused, nothing half-written.
  std::vector<Incoming> mixed;
  for (const auto& c : cases) mixed.push_back(c.in);
  mixed.push_back(incomingRaw(kE12.id, good, T0));
  auto out = ingest(*s, mixed);
  CHECK(out.appended == 1);
  CHECK(out.refused.size() == cases.size());
  CHECK(events(*s) == eventsBefore + 1);
  CHECK(unitRow(*s, "E12").status == v1::UNIT_STATUS_EN_ROUTE);
  CHECK_FALSE(s->log().verify());
}

TEST_CASE("AVL backfill never moves the live position backwards, a later live report does", "[store][avl]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  ingestOne(*s, avlEnv(kE12, 1, T0 + 10 * kMin, 40.75, -73.99));  // live, after the outage
  auto u = unitRow(*s, "E12");
  CHECK(u.lat == 40.75);
  CHECK(u.posAt == T0 + 10 * kMin);

  // The backlog from the outage arrives after it, flagged backfill.
  std::vector<Incoming> backlog;
  for (int i = 0; i < 20; ++i)
    backlog.push_back(incoming(avlEnv(kE12, 2 + i, T0 + i * 20'000, 40.70 + i * 0.001, -74.0, true), T0 + 11 * kMin));
  CHECK(ingest(*s, backlog).appended == 20);
  u = unitRow(*s, "E12");
  CHECK(u.lat == 40.75);
  CHECK(u.lon == -73.99);
  CHECK(u.posAt == T0 + 10 * kMin);

  // Even a backfill point newer than the live one does not move it (backfill
  // is history), nor does a late live report older than the board's.
  ingestOne(*s, avlEnv(kE12, 30, T0 + 12 * kMin, 41.0, -74.5, true));
  ingestOne(*s, avlEnv(kE12, 31, T0 + 5 * kMin, 41.1, -74.6, false));
  u = unitRow(*s, "E12");
  CHECK(u.lat == 40.75);
  CHECK(u.posAt == T0 + 10 * kMin);

  // A later live report moves it.
  ingestOne(*s, avlEnv(kE12, 32, T0 + 13 * kMin, 40.80, -73.95));
  u = unitRow(*s, "E12");
  CHECK(u.lat == 40.80);
  CHECK(u.lon == -73.95);
  CHECK(u.posAt == T0 + 13 * kMin);
  CHECK(events(*s) == 1 + 1 + 20 + 3);  // every point is in the trail, backfill included
}

TEST_CASE("a self-initiated CFS gets an incident number, the unit is attached, the device is told", "[store][cfs]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  v1::Envelope cfs = cfsEnv(kE12, 1, T0, "TRAFFIC_STOP");
  auto out = ingestOne(*s, cfs);
  CHECK(out.appended == 1);
  auto acc = downlinksOf(out.downlinks, kE12.id, v1::Downlink::kCfsAccepted);
  REQUIRE(acc.size() == 1);
  std::string number = acc[0]->cfs_accepted().incident_number();
  CHECK(std::regex_match(number, std::regex("2026-[0-9]{6}")));
  CHECK(number == "2026-000001");
  CHECK(acc[0]->cfs_accepted().event_id() == cfs.event_id());
  CHECK(acc[0]->seq() == 1);  // kept for resync
  CHECK(mdc::codec::validate(*acc[0]));
  CHECK(downlinksOf(out.downlinks, kE12.id, v1::Downlink::kRejection).empty());
  CHECK(unitRow(*s, "E12").cfs == number);
  CHECK(count(*s, "SELECT COUNT(*) FROM cfs WHERE incident_number='" + number + "' AND source='self' AND state='open' "
                  "AND agency='FD1' AND origin_event_id='" + cfs.event_id() + "'") == 1);
  CHECK(count(*s, "SELECT COUNT(*) FROM cfs_units WHERE incident_number='" + number + "' AND unit_id='E12'") == 1);
  CHECK(ReadModels(*s).downlinksAfter("E12", 0).size() == 1);

  // The next one of the year gets the next number.
  ingestOne(*s, statusEnv(kE12, 2, T0 + kMin, v1::UNIT_STATUS_AVAILABLE));
  auto out2 = ingestOne(*s, cfsEnv(kE12, 3, T0 + 2 * kMin, "PEDESTRIAN_STOP"));
  auto acc2 = downlinksOf(out2.downlinks, kE12.id, v1::Downlink::kCfsAccepted);
  REQUIRE(acc2.size() == 1);
  CHECK(acc2[0]->cfs_accepted().incident_number() == "2026-000002");
}

TEST_CASE("a unit assigned by dispatch first, then self-initiating: CFS recorded without it, device told CONFLICT",
          "[store][cfs]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  std::string fire = createCfs(*s, "FD1", T0);
  REQUIRE(assign(*s, "FD1", fire, "E12", T0 + kMin));
  auto out = ingestOne(*s, cfsEnv(kE12, 1, T0 + 2 * kMin, "TRAFFIC_STOP"), T0 + 2 * kMin + 100);
  CHECK(out.appended == 1);
  auto acc = downlinksOf(out.downlinks, kE12.id, v1::Downlink::kCfsAccepted);
  auto rej = downlinksOf(out.downlinks, kE12.id, v1::Downlink::kRejection);
  REQUIRE(acc.size() == 1);
  REQUIRE(rej.size() == 1);
  std::string number = acc[0]->cfs_accepted().incident_number();
  CHECK(number != fire);
  CHECK(rej[0]->rejection().reason() == v1::REJECT_REASON_CONFLICT);
  CHECK(rej[0]->rejection().seq() == 1);
  CHECK_THAT(rej[0]->rejection().detail(), Catch::Contains(number) && Catch::Contains(fire));
  CHECK(rej[0]->seq() > acc[0]->seq());  // both kept, in order, for resync
  CHECK(unitRow(*s, "E12").cfs == fire);
  CHECK(count(*s, "SELECT COUNT(*) FROM cfs WHERE incident_number='" + number + "'") == 1);
  CHECK(count(*s, "SELECT COUNT(*) FROM cfs_units WHERE incident_number='" + number + "'") == 0);
}

TEST_CASE("a unit on a self-initiated CFS is not assigned elsewhere unless forced", "[store][cfs]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  auto out = ingestOne(*s, cfsEnv(kE12, 1, T0, "TRAFFIC_STOP"));
  std::string stop = downlinksOf(out.downlinks, kE12.id, v1::Downlink::kCfsAccepted).at(0)->cfs_accepted().incident_number();
  std::string fire = createCfs(*s, "FD1", T0 + kMin);
  const int64_t before = events(*s);
  auto refused = assign(*s, "FD1", fire, "E12", T0 + 2 * kMin);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("self-initiated") && Catch::Contains(stop) &&
                                          Catch::Contains("--force"));
  CHECK(events(*s) == before);
  CHECK(unitRow(*s, "E12").cfs == stop);

  auto forced = assign(*s, "FD1", fire, "E12", T0 + 3 * kMin, true);
  REQUIRE(forced);
  CHECK(unitRow(*s, "E12").cfs == fire);
  CHECK(count(*s, "SELECT cleared_at_ms FROM cfs_units WHERE incident_number='" + stop + "' AND unit_id='E12'") ==
        T0 + 3 * kMin);
  auto dl = downlinksOf(forced->downlinks, kE12.id, v1::Downlink::kAssignment);
  REQUIRE(dl.size() == 1);
  CHECK(dl[0]->assignment().incident_number() == fire);
}

TEST_CASE("an emergency stays flagged until a dispatcher acknowledges it, even if the device clears it",
          "[store][emergency]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  ingestOne(*s, emergencyEnv(kE12, 1, T0, true));
  auto u = unitRow(*s, "E12");
  CHECK(u.emergency);
  CHECK(u.emergencyActive);
  ingestOne(*s, emergencyEnv(kE12, 2, T0 + 5000, false));  // the responder cleared it
  u = unitRow(*s, "E12");
  CHECK(u.emergency);  // still flagged for dispatch
  CHECK_FALSE(u.emergencyActive);

  ControlRequest ack;
  ack.set_agency("FD1");
  ack.mutable_ack_emergency()->set_unit("E12");
  ack.set_actor("bob");
  auto out = exec(*s, ack, T0 + 9000);
  u = unitRow(*s, "E12");
  CHECK_FALSE(u.emergency);
  CHECK(u.ackBy == "bob");
  auto dl = downlinksOf(out.downlinks, kE12.id, v1::Downlink::kEmergencyAck);
  REQUIRE(dl.size() == 1);
  CHECK(dl[0]->emergency_ack().by() == "bob");
  // A second acknowledgement has nothing to acknowledge.
  CHECK_FALSE(s->execute(ack, T0 + 10000));
}

TEST_CASE("presence birth and last will put the unit online and offline with times", "[store][presence]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  CHECK_FALSE(unitRow(*s, "E12").online);
  ingestOne(*s, presenceEnv(kE12, 1, T0, true), T0 + 40);
  auto u = unitRow(*s, "E12");
  CHECK(u.online);
  CHECK(u.onlineChanged == T0 + 40);
  ingestOne(*s, presenceEnv(kE12, 2, T0 + kMin, false), T0 + kMin + 70);
  u = unitRow(*s, "E12");
  CHECK_FALSE(u.online);
  CHECK(u.onlineChanged == T0 + kMin + 70);
  // The retained birth seen again (the stub re-subscribed) is a duplicate, not a change.
  auto again = ingestOne(*s, presenceEnv(kE12, 1, T0, true), T0 + 2 * kMin);
  CHECK(again.appended == 0);
  CHECK(again.duplicates == 1);
  CHECK_FALSE(unitRow(*s, "E12").online);
  CHECK(events(*s) == 3);
}

TEST_CASE("a device the service stopped hearing is shown offline, heard again online, each change once, and replays",
          "[store][presence][liveness]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  ingestOne(*s, presenceEnv(kE12, 1, T0, true), T0 + 40);
  const int64_t before = events(*s);
  // E14 never came online: nothing to change, nothing written.
  auto silent = s->recordLiveness({{kE12.id, T0 + 40}, {kE14.id, T0}, {"MDC-UNKNOWN", T0}}, true, T0 + 4100);
  REQUIRE(silent);
  CHECK(*silent == std::vector<std::string>{kE12.id});
  auto u = unitRow(*s, "E12");
  CHECK_FALSE(u.online);
  CHECK(u.onlineChanged == T0 + 4100);
  CHECK(events(*s) == before + 1);
  // Said again while it is offline: no change, no event.
  auto again = s->recordLiveness({{kE12.id, T0 + 40}}, true, T0 + 5000);
  REQUIRE(again);
  CHECK(again->empty());
  CHECK(events(*s) == before + 1);
  // Heard again: online, once.
  auto heard = s->recordLiveness({{kE12.id, T0 + 9000}}, false, T0 + 9000);
  REQUIRE(heard);
  CHECK(*heard == std::vector<std::string>{kE12.id});
  CHECK(unitRow(*s, "E12").online);
  CHECK(unitRow(*s, "E12").onlineChanged == T0 + 9000);
  CHECK(s->recordLiveness({{kE12.id, T0 + 9500}}, false, T0 + 9500)->empty());
  CHECK(events(*s) == before + 2);
  CHECK_FALSE(s->log().verify());
  // The board as it was, from the log alone.
  REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replay.db")));
  auto r = EventStore::open(mdc::test::storeTarget(dir, "replay.db"), true);
  REQUIRE(r);
  CHECK((*r)->log().digest() == s->log().digest());
}

TEST_CASE("an unknown device is refused and recorded, a moved device's later events land on its new unit",
          "[store][registry]") {
  TempDir dir;
  auto s = openStore(dir);
  Device ghost{"MDC-GHOST", "X9", "FD1", 7};
  auto out = ingestOne(*s, statusEnv(ghost, 1, T0, v1::UNIT_STATUS_AVAILABLE));
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].reason == "unknown_device");
  CHECK(events(*s) == 0);
  CHECK(count(*s, "SELECT COUNT(*) FROM refusals WHERE device_id='MDC-GHOST' AND reason='unknown_device'") == 1);
  CHECK(count(*s, "SELECT COUNT(*) FROM units") == 0);

  addDevice(*s, kE12);
  ingestOne(*s, statusEnv(kE12, 1, T0, v1::UNIT_STATUS_EN_ROUTE));
  ControlRequest move;
  move.set_agency("FD1");
  move.mutable_device_move()->set_device(kE12.id);
  move.mutable_device_move()->set_unit("E99");
  move.set_actor("fleet");
  auto moved = exec(*s, move, T0 + kMin);
  // The device learns the move from the first downlink of its new unit.
  REQUIRE(moved.downlinks.size() == 1);
  CHECK(moved.downlinks[0].deviceId == kE12.id);
  CHECK(moved.downlinks[0].downlink.unit_id() == "E99");
  CHECK(moved.downlinks[0].downlink.seq() == 1);
  CHECK(moved.downlinks[0].downlink.has_configuration());
  // Away during the move, it asks after its old unit's cursor: it gets E99's from the start.
  auto rs = ingestOne(*s, resyncEnv(kE12, 1, T0 + kMin + 500, 5));
  REQUIRE(rs.resyncs.size() == 1);
  CHECK(rs.resyncs[0] == std::make_pair(kE12.id, uint64_t(0)));
  // The device still believes it is E12 (no re-provisioning): the registry decides.
  ingestOne(*s, statusEnv(kE12, 2, T0 + 2 * kMin, v1::UNIT_STATUS_ON_SCENE));
  CHECK(unitRow(*s, "E99").status == v1::UNIT_STATUS_ON_SCENE);
  CHECK(unitRow(*s, "E99").device == kE12.id);
  CHECK(unitRow(*s, "E12").status == v1::UNIT_STATUS_EN_ROUTE);
  CHECK(unitRow(*s, "E12").device == "");
  CHECK(s->db().queryText("SELECT unit_id FROM events WHERE device_id='MDC-E12' AND device_seq=2") == "E99");
  CHECK(s->db().queryText("SELECT unit_id FROM events WHERE device_id='MDC-E12' AND device_seq=1") == "E12");
  CHECK(*ReadModels(*s).unitOfDevice(kE12.id) == "E99");
  // Downlinks for E99 now reach the device.
  ControlRequest msg;
  msg.set_agency("FD1");
  msg.mutable_message()->set_unit("E99");
  msg.mutable_message()->set_text("welcome to E99");
  msg.set_actor("alice");
  auto m = exec(*s, msg, T0 + 3 * kMin);
  CHECK(downlinksOf(m.downlinks, kE12.id, v1::Downlink::kMessage).size() == 1);
}

TEST_CASE("resync: a device asking after seq N gets exactly the downlinks after N, in order", "[store][resync]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  for (int i = 1; i <= 12; ++i) {
    ControlRequest msg;
    msg.set_agency("FD1");
    msg.mutable_message()->set_unit("E12");
    msg.mutable_message()->set_text("message " + std::to_string(i));
    msg.set_actor("alice");
    exec(*s, msg, T0 + i * 1000);
  }
  for (uint64_t after : {0, 1, 7, 11, 12, 40}) {
    INFO("after " << after);
    auto dls = ReadModels(*s).downlinksAfter("E12", after);
    REQUIRE(dls.size() == (after >= 12 ? 0 : 12 - after));
    for (size_t i = 0; i < dls.size(); ++i) {
      CHECK(dls[i].seq() == after + 1 + i);
      CHECK(dls[i].message().text() == "message " + std::to_string(after + 1 + i));
      CHECK(mdc::codec::validate(dls[i]));
    }
  }
  // The resync request itself is not an event; it comes back as a request.
  auto out = ingestOne(*s, resyncEnv(kE12, 1, T0, 7));
  CHECK(out.appended == 0);
  REQUIRE(out.resyncs.size() == 1);
  CHECK(out.resyncs[0] == std::make_pair(kE12.id, uint64_t(7)));
  CHECK(events(*s) == 13);
}

TEST_CASE("cadctl kpi gives the intervals of a scripted CFS", "[store][kpi]") {
  TempDir dir;
  {
    auto s = openStore(dir);
    addDevice(*s, kE12);
    // create 08:30:00 -> assign +45 s -> en route +2 min -> on scene +9 min -> available +40 min
    std::string fire = createCfs(*s, "FD1", T0);
    REQUIRE(assign(*s, "FD1", fire, "E12", T0 + 45'000));
    // Received late (the unit was offline): the KPI counts when it happened.
    ingestOne(*s, statusEnv(kE12, 1, T0 + 45'000 + 2 * kMin, v1::UNIT_STATUS_EN_ROUTE), T0 + 30 * kMin);
    ingestOne(*s, statusEnv(kE12, 2, T0 + 9 * kMin, v1::UNIT_STATUS_ON_SCENE), T0 + 31 * kMin);
    ingestOne(*s, statusEnv(kE12, 3, T0 + 49 * kMin, v1::UNIT_STATUS_AVAILABLE), T0 + 49 * kMin + 500);
  }
  auto r = mdc::test::run({mdc::test::program("server-stub/cadctl"), "--db", mdc::test::storeTarget(dir), "--agency", "FD1",
                           "kpi", "--json"},
                          dir);
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  QJsonObject k = QJsonDocument::fromJson(QByteArray::fromStdString(r.output)).object();
  REQUIRE(k.value("cfs").toArray().size() == 1);
  QJsonObject c = k.value("cfs").toArray()[0].toObject();
  CHECK(c.value("to_dispatch_s").toDouble() == 45.0);
  CHECK(c.value("to_enroute_s").toDouble() == 120.0);
  CHECK(c.value("to_arrival_s").toDouble() == 540.0);
  CHECK(c.value("on_scene_s").toDouble() == 2400.0);
  CHECK(k.value("average").toObject().value("to_arrival_s").toDouble() == 540.0);
  CHECK(k.value("counted").toObject().value("on_scene").toInt() == 1);
}

TEST_CASE("dispatcher actions are recorded with the dispatcher's name as actor", "[store][audit]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  std::string fire = createCfs(*s, "FD1", T0, "carol");
  ControlRequest a;
  a.set_agency("FD1");
  a.mutable_assign()->set_incident(fire);
  a.mutable_assign()->set_unit("E12");
  a.set_actor("dave");
  exec(*s, a, T0 + 1000);
  ControlRequest c;
  c.set_agency("FD1");
  c.mutable_close_cfs()->set_incident(fire);
  c.set_actor("erin");
  exec(*s, c, T0 + 2000);
  auto st = s->db().prepare("SELECT kind, actor, agency FROM events ORDER BY pos");
  std::vector<std::string> trail;
  while (st.step()) trail.push_back(st.text(0) + " " + st.text(1) + " " + st.text(2));
  CHECK(trail == std::vector<std::string>{"registry.device_add dispatcher:fleet FD1", "dispatch.create_cfs dispatcher:carol FD1",
                                          "dispatch.assign dispatcher:dave FD1", "dispatch.close_cfs dispatcher:erin FD1"});
  ControlRequest anonymous = c;
  anonymous.set_actor("");
  CHECK_FALSE(s->execute(anonymous, T0 + 3000));
}

TEST_CASE("two agencies: each gets its own incident numbers, neither can touch the other's CFS or units",
          "[store][tenant]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kP7);
  // Both agencies open their first CFS of the year, one from dispatch, one
  // self-initiated: the numbers must not collide.
  std::string fire = createCfs(*s, "FD1", T0);
  auto out = ingestOne(*s, cfsEnv(kP7, 1, T0 + 1000, "TRAFFIC_STOP"));
  REQUIRE(out.refused.empty());
  REQUIRE(out.appended == 1);
  std::string stop = downlinksOf(out.downlinks, kP7.id, v1::Downlink::kCfsAccepted).at(0)->cfs_accepted().incident_number();
  CHECK(stop != fire);
  std::string police = createCfs(*s, "PD1", T0 + 2000);
  CHECK(police != fire);
  CHECK(police != stop);

  // A PD1 device cannot send a status or an acknowledgement for an FD1 CFS.
  const int64_t before = events(*s);
  auto bad = ingest(*s, {incoming(statusEnv(kP7, 2, T0 + 3000, v1::UNIT_STATUS_EN_ROUTE, fire), T0 + 3000),
                         incoming(assignmentAckEnv(kP7, 3, T0 + 3000, fire, 1), T0 + 3000)});
  CHECK(bad.appended == 0);
  REQUIRE(bad.refused.size() == 2);
  for (const auto& r : bad.refused) CHECK(r.reason == "not_permitted");
  CHECK(events(*s) == before);
  CHECK(count(*s, "SELECT enroute_at_ms FROM cfs WHERE incident_number='" + fire + "'") == 0);

  // A PD1 dispatcher cannot assign an FD1 unit, nor an FD1 CFS, nor message an FD1 unit.
  CHECK_FALSE(assign(*s, "PD1", police, "E12", T0 + 4000));
  CHECK_FALSE(assign(*s, "PD1", fire, "P7", T0 + 4000));
  ControlRequest msg;
  msg.set_agency("PD1");
  msg.mutable_message()->set_unit("E12");
  msg.mutable_message()->set_text("hi");
  msg.set_actor("mallory");
  CHECK_FALSE(s->execute(msg, T0 + 5000));
  CHECK(events(*s) == before);
  CHECK_FALSE(s->log().verify());
}

TEST_CASE("replaying the log reproduces every read model, an altered event fails verify and replay",
          "[store][replay][sqlite]") {
  TempDir dir;
  std::string live = dir.file("cad.db");
  {
    auto s = openStore(dir);
    addDevice(*s, kE12);
    addDevice(*s, kE14);
    addDevice(*s, kP7);
    std::string fire = createCfs(*s, "FD1", T0);
    REQUIRE(assign(*s, "FD1", fire, "E12", T0 + 1000));
    REQUIRE(assign(*s, "FD1", fire, "E14", T0 + 1500));
    ingest(*s, {incoming(presenceEnv(kE12, 1, T0, true), T0 + 10), incoming(presenceEnv(kP7, 1, T0, true), T0 + 12),
                incoming(assignmentAckEnv(kE12, 1, T0 + 2000, fire, 1), T0 + 2100),
                incoming(statusEnv(kE12, 2, T0 + 3000, v1::UNIT_STATUS_EN_ROUTE, fire), T0 + 3100),
                incoming(cfsEnv(kP7, 1, T0 + 3500, "TRAFFIC_STOP"), T0 + 3600)});
    for (uint64_t i = 0; i < 100; ++i)
      ingestOne(*s, avlEnv(kE12, 3 + i, T0 + 4000 + int64_t(i) * 1000, 40.7 + double(i) * 1e-4, -74.0, i % 3 == 0));
    ingestOne(*s, statusEnv(kE12, 200, T0 + kMin * 5, v1::UNIT_STATUS_ON_SCENE));
    ingestOne(*s, emergencyEnv(kE14, 1, T0 + kMin * 6, true));
    ingestOne(*s, messageEnv(kE14, 2, T0 + kMin * 6, "need backup"));
    ControlRequest ack;
    ack.set_agency("FD1");
    ack.mutable_ack_emergency()->set_unit("E14");
    exec(*s, ack, T0 + kMin * 7);
    ingestOne(*s, statusEnv(kE12, 201, T0 + kMin * 30, v1::UNIT_STATUS_AVAILABLE));
    ingestOne(*s, statusEnv(kE14, 3, T0 + kMin * 31, v1::UNIT_STATUS_AVAILABLE));
    ingestOne(*s, presenceEnv(kP7, 2, T0 + kMin * 40, false));
    REQUIRE(s->log().stats().events == 3 + 3 + 5 + 100 + 7);

    int64_t n = 0;
    REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replay.db"), &n));
    CHECK(n == s->log().stats().events);
    auto r = EventStore::open(mdc::test::storeTarget(dir, "replay.db"), true);
    REQUIRE(r);
    CHECK((*r)->log().digest() == s->log().digest());
    CHECK((*r)->log().stats().lastHashHex == s->log().stats().lastHashHex);
    CHECK_FALSE(s->replayInto(mdc::test::storeTarget(dir, "replay.db")));  // never into an existing file
  }
  // Alter one byte of event 9's payload behind the store's back.
  {
    mdc::sql::SqliteDb raw(live);
    raw.exec("DROP TRIGGER events_append_only_update");
    raw.exec("UPDATE events SET payload=CAST(substr(payload,1,20) || x'5a' || substr(payload,22) AS BLOB) WHERE pos=9");
  }
  auto s = EventStore::open(live, true);
  REQUIRE(s);
  int64_t intact = 0;
  auto broken = (*s)->log().verify(&intact);
  REQUIRE(broken);
  CHECK(intact == 8);
  CHECK_THAT(*broken, Catch::StartsWith("event 9 ") && Catch::Contains("altered"));
  auto replay = (*s)->replayInto(dir.file("replay2.db"));
  REQUIRE_FALSE(replay);
  CHECK_THAT(replay.error().message, Catch::Contains("event 9"));
  CHECK_FALSE(std::filesystem::exists(dir.file("replay2.db")));  // half a store is not left behind
}

namespace {
/** A trigger "boom" that refuses `op` (INSERT, UPDATE) on `table` where `condition` holds, on either engine. */
void failWrites(EventStore& s, const std::string& op, const std::string& table, const std::string& condition) {
  if (s.engine() == mdc::sql::Engine::sqlite)
    s.db().exec("CREATE TRIGGER boom BEFORE " + op + " ON " + table + " WHEN " + condition +
                " BEGIN SELECT RAISE(ABORT, 'boom'); END");
  else
    s.db().exec("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF " + condition +
                " THEN RAISE EXCEPTION 'boom' USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$; "
                "CREATE TRIGGER boom BEFORE " + op + " ON " + table + " FOR EACH ROW EXECUTE FUNCTION boom()");
}
}  // namespace

TEST_CASE("an event the projection cannot apply is set aside, the rest of its batch commits and the chain holds",
          "[store][poison]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  // Stand-in for a projection bug: the read model refuses one message.
  failWrites(*s, "INSERT", "messages", "NEW.text = 'boom'");
  auto out = ingest(*s, {incoming(statusEnv(kE12, 1, T0, v1::UNIT_STATUS_EN_ROUTE), T0),
                         incoming(messageEnv(kE14, 1, T0, "boom"), T0),
                         incoming(statusEnv(kE14, 2, T0, v1::UNIT_STATUS_ON_SCENE), T0),
                         incoming(messageEnv(kE12, 2, T0, "fine"), T0)});
  CHECK(out.appended == 3);
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].reason == "store_error");
  CHECK_THAT(out.refused[0].detail, Catch::Contains("boom") && Catch::Contains(eventIdFor(kE14.index, 1)));
  // Not acked and not rejected: the device keeps it and sends it again.
  CHECK(out.acks[kE14.id] == std::vector<uint64_t>{2});
  CHECK(out.acks[kE12.id] == std::vector<uint64_t>{1, 2});
  CHECK(downlinksOf(out.downlinks, kE14.id, v1::Downlink::kRejection).empty());
  CHECK(events(*s) == 2 + 3);
  CHECK(count(*s, "SELECT COUNT(*) FROM events WHERE device_id='MDC-E14' AND device_seq=1") == 0);
  CHECK(count(*s, "SELECT COUNT(*) FROM refusals WHERE reason='store_error'") == 1);
  CHECK(unitRow(*s, "E14").status == v1::UNIT_STATUS_ON_SCENE);
  CHECK_FALSE(s->log().verify());
  // Once the cause is gone, the resent event is stored.
  s->db().exec(s->engine() == mdc::sql::Engine::sqlite ? "DROP TRIGGER boom" : "DROP TRIGGER boom ON messages");
  CHECK(ingestOne(*s, messageEnv(kE14, 1, T0, "boom")).appended == 1);
  CHECK_FALSE(s->log().verify());
  REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replay.db")));
  CHECK(EventStore::open(mdc::test::storeTarget(dir, "replay.db"), true).value()->log().digest() == s->log().digest());
}

TEST_CASE("a write sent without waiting that fails sets its event aside like any other, and the batch commits",
          "[store][poison]") {
  // The AVL projection and the log's insert go out in PostgreSQL's pipeline
  // (Stmt::runLater): their error shows at a later statement, not at their own.
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  failWrites(*s, "UPDATE", "units", "NEW.lat = 11.5");
  auto* pg = dynamic_cast<mdc::sql::PgDb*>(&s->db());
  const uint64_t sentBefore = pg ? pg->deferredStatements() : 0;
  auto out = ingest(*s, {incoming(avlEnv(kE12, 1, T0, 40.71, -74.0), T0), incoming(avlEnv(kE14, 1, T0, 11.5, -74.0), T0),
                         incoming(avlEnv(kE14, 2, T0 + 1000, 40.72, -74.0), T0),
                         incoming(avlEnv(kE12, 2, T0 + 1000, 40.73, -74.0), T0)});
  CHECK(out.appended == 3);
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].reason == "store_error");
  CHECK_THAT(out.refused[0].detail, Catch::Contains("boom") && Catch::Contains(eventIdFor(kE14.index, 1)));
  CHECK(out.acks[kE14.id] == std::vector<uint64_t>{2});
  CHECK(out.acks[kE12.id] == std::vector<uint64_t>{1, 2});
  CHECK(count(*s, "SELECT COUNT(*) FROM events WHERE device_id='MDC-E14' AND device_seq=1") == 0);
  CHECK(unitRow(*s, "E14").lat == Approx(40.72));
  CHECK(unitRow(*s, "E12").lat == Approx(40.73));
  CHECK_FALSE(s->log().verify());
  // The first run of the batch went through the pipeline, where there is one.
  if (pg) CHECK(pg->deferredStatements() > sentBefore);
  // Each unit and its downlink head come back with the batch, for the acks.
  CHECK(out.unitOf == std::map<std::string, std::string>{{kE12.id, "E12"}, {kE14.id, "E14"}});
  CHECK(out.downlinkHeads.count("E12") == 1);
}

namespace {
ControlRequest agencyConfig(const std::string& agency, std::vector<std::string> statuses, int moving = 0, int stationary = 0) {
  ControlRequest c;
  c.set_agency(agency);
  c.set_actor("ops.lee");
  for (const auto& name : statuses) c.mutable_agency_config()->add_statuses(name);
  c.mutable_agency_config()->set_avl_moving_s(moving);
  c.mutable_agency_config()->set_avl_stationary_s(stationary);
  return c;
}
std::vector<int> statusesOf(const v1::Downlink& dl) {
  return {dl.configuration().statuses().begin(), dl.configuration().statuses().end()};
}
}  // namespace

TEST_CASE("an agency's configuration reaches every unit of the agency, in the store's order, and new devices get it",
          "[store][config]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  addDevice(*s, kP7);

  auto out = exec(*s,
                  agencyConfig("FD1", {"available", "en-route", "ON_SCENE", "transporting", "at-hospital", "returning",
                                       "at-station", "staged", "busy", "out-of-service"},
                               10, 120),
                  T0);
  CHECK(out.summary == "configuration of FD1 sent to 2 units");
  // One sequenced downlink per unit of FD1, none to PD1's P7.
  REQUIRE(out.downlinks.size() == 2);
  const std::vector<int> expected = {v1::UNIT_STATUS_AVAILABLE,  v1::UNIT_STATUS_EN_ROUTE,   v1::UNIT_STATUS_ON_SCENE,
                                     v1::UNIT_STATUS_TRANSPORTING, v1::UNIT_STATUS_AT_HOSPITAL, v1::UNIT_STATUS_RETURNING,
                                     v1::UNIT_STATUS_AT_STATION, v1::UNIT_STATUS_STAGED,     v1::UNIT_STATUS_BUSY,
                                     v1::UNIT_STATUS_OUT_OF_SERVICE};
  for (const auto& o : out.downlinks) {
    CHECK((o.deviceId == kE12.id || o.deviceId == kE14.id));
    CHECK(o.downlink.seq() == 1);
    CHECK(statusesOf(o.downlink) == expected);
    CHECK(o.downlink.configuration().avl_moving_interval_s() == 10);
    CHECK(o.downlink.configuration().avl_stationary_interval_s() == 120);
    CHECK(mdc::codec::validate(o.downlink));
  }
  // Kept for resync like every other downlink.
  auto kept = ReadModels(*s).downlinksAfter("E12", 0);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].has_configuration());
  CHECK(ReadModels(*s).downlinksAfter("P7", 0).empty());

  // A device registered later gets the current configuration at once.
  const Device e16{"MDC-E16", "E16", "FD1", 4};
  ControlRequest add;
  add.set_agency("FD1");
  add.mutable_device_add()->set_device(e16.id);
  add.mutable_device_add()->set_unit(e16.unit);
  add.set_actor("fleet");
  auto added = exec(*s, add, T0 + kMin);
  REQUIRE(added.downlinks.size() == 1);
  CHECK(added.downlinks[0].deviceId == e16.id);
  CHECK(statusesOf(added.downlinks[0].downlink) == expected);

  // A later change replaces it; "default" (no statuses) means the device's own set.
  auto second = exec(*s, agencyConfig("FD1", {}), T0 + 2 * kMin);
  REQUIRE(second.downlinks.size() == 3);
  for (const auto& o : second.downlinks) CHECK(o.downlink.configuration().statuses_size() == 0);
  CHECK(ReadModels(*s).downlinksAfter("E12", 0).size() == 2);

  // The audit trail has who set it.
  auto st = s->db().prepare("SELECT actor, payload FROM events WHERE kind='registry.agency_config' ORDER BY pos");
  REQUIRE(st.step());
  CHECK(st.text(0) == "dispatcher:ops.lee");
  CHECK(st.text(1).find("\"AT_STATION\"") != std::string::npos);

  // Replaying the log gives the same read models, agency_config included.
  int64_t n = 0;
  REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replayed.db"), &n));
  auto r = EventStore::open(mdc::test::storeTarget(dir, "replayed.db"), true);
  REQUIRE(r);
  CHECK((*r)->log().digest() == s->log().digest());
}

TEST_CASE("a bad agency configuration is refused with the value named and changes nothing", "[store][config]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  const auto before = events(*s);
  struct Case {
    ControlRequest cmd;
    std::string error;
  };
  std::vector<Case> cases = {
      {agencyConfig("FD1", {"available", "lunch"}), "statuses: \"lunch\" is not a status (available, en-route, on-scene,"},
      {agencyConfig("FD1", {"available", "en-route", "AVAILABLE"}), "statuses: \"AVAILABLE\" is listed twice"},
      {agencyConfig("FD1", {"available", "en-route", "on-scene", "transporting", "at-hospital", "busy",
                            "out-of-service", "at-station", "returning", "staged", "available"}),
       "statuses: 11 given, at most 10 (one per function key)"},
      {agencyConfig("FD1", {"available"}, 3601), "avl_moving_s 3601: out of range 1-3600 (0 keeps the device's value)"},
      {agencyConfig("FD1", {"available"}, 10, -1), "avl_stationary_s -1: out of range 1-3600"},
  };
  for (const auto& c : cases) {
    auto r = s->execute(c.cmd, T0);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.rfind(c.error, 0) == 0);
  }
  CHECK(events(*s) == before);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM agency_config") == 0);
  CHECK(ReadModels(*s).downlinksAfter("E12", 0).empty());
}

namespace {
/** Takes a store back to what an older schema looked like (its log as it is). */
void downgrade(EventStore& s, int version) {
  for (const char* sql : {"DROP INDEX events_by_chain", "ALTER TABLE events DROP COLUMN chain",
                          "ALTER TABLE events DROP COLUMN tx"})
    s.db().exec(sql);
  if (version == 11) {
    s.db().exec("PRAGMA user_version=11");
    return;
  }
  s.db().exec("ALTER TABLE cfs_foreign_units DROP COLUMN ord");
  if (version == 10) {
    s.db().exec("PRAGMA user_version=10");
    return;
  }
  for (const char* sql : {"DROP TABLE zones", "DROP TABLE supervisors", "ALTER TABLE units DROP COLUMN zone"})
    s.db().exec(sql);
  if (version == 9) {
    s.db().exec("PRAGMA user_version=9");
    return;
  }
  for (const char* sql : {"DROP TABLE cfs_types", "DROP TABLE cfs_foreign_units"})
    s.db().exec(sql);
  for (const char* column : {"apco_code", "eido_id", "owner_agency", "owner_number", "owner_services", "type_label",
                             "imported_at_ms", "imported_by"})
    s.db().exec(std::string("ALTER TABLE cfs DROP COLUMN ") + column);
  if (version == 8) {
    s.db().exec("PRAGMA user_version=8");
    return;
  }
  s.db().exec("DROP TABLE schedules");
  if (version == 7) {
    s.db().exec("PRAGMA user_version=7");
    return;
  }
  s.db().exec("DROP TABLE enrol_tokens");
  if (version == 6) {
    s.db().exec("PRAGMA user_version=6");
    return;
  }
  for (const char* column : {"agent_version", "queue_depth", "queue_oldest_ms", "cert_not_after_ms", "gps_fix",
                             "gps_no_fix_since_ms", "health_at_ms"})
    s.db().exec(std::string("ALTER TABLE devices DROP COLUMN ") + column);
  if (version == 5) {
    s.db().exec("PRAGMA user_version=5");
    return;
  }
  for (const char* sql : {"DROP TABLE records_queries", "ALTER TABLE units DROP COLUMN safety_flag",
                          "ALTER TABLE units DROP COLUMN safety_at_ms", "ALTER TABLE units DROP COLUMN safety_cfs"})
    s.db().exec(sql);
  if (version == 4) {
    s.db().exec("PRAGMA user_version=4");
    return;
  }
  for (const char* sql : {"DROP TABLE membership_facts", "DROP TABLE device_units", "DROP TABLE downlink_cursors",
                          "DROP INDEX cfs_units_by_unit",
                          "ALTER TABLE units DROP COLUMN status_stamp", "ALTER TABLE units DROP COLUMN pos_stamp",
                          "ALTER TABLE units DROP COLUMN emergency_stamp",
                          "ALTER TABLE units DROP COLUMN emergency_raised_stamp",
                          "ALTER TABLE units DROP COLUMN emergency_acked_stamp",
                          "ALTER TABLE units DROP COLUMN latest_stamp", "ALTER TABLE units DROP COLUMN late_events",
                          "ALTER TABLE cfs_units DROP COLUMN attach_stamp", "ALTER TABLE cfs_units DROP COLUMN clear_stamp",
                          "ALTER TABLE cfs_units DROP COLUMN clear_reason", "ALTER TABLE cfs_timeline DROP COLUMN late",
                          "ALTER TABLE cfs DROP COLUMN closed_by"})
    s.db().exec(sql);
  if (version < 3) s.db().exec("DROP TABLE agency_config");
  s.db().exec("PRAGMA user_version=" + std::to_string(version));
}
}  // namespace

TEST_CASE("a schema 2 to 11 store is migrated when opened, its log untouched, its calls kept",
          "[store][config][sqlite]") {
  const int from = GENERATE(2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
  INFO("schema " << from);
  TempDir dir;
  std::string fire;
  {
    auto s = openStore(dir);
    addDevice(*s, kE12);
    fire = createCfs(*s, "FD1", T0);
    REQUIRE(assign(*s, "FD1", fire, "E12", T0 + kMin));
    ingestOne(*s, statusEnv(kE12, 1, T0 + 2 * kMin, v1::UNIT_STATUS_EN_ROUTE));
    downgrade(*s, from);
  }
  auto s = openStore(dir);
  CHECK(s->db().queryInt("PRAGMA user_version") == kSchemaVersion);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM agency_config") == 0);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM records_queries") == 0);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM devices WHERE health_at_ms=0") == 1);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM enrol_tokens") == 0);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM schedules") == 0);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM cfs_types") == 0);
  CHECK(s->db().queryText("SELECT apco_code FROM cfs") == (from >= 9 ? "FSTRU" : ""));  // a replay derives it
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM zones") == 0);
  CHECK_FALSE(s->log().verify());
  // The log before schema 12 is one chain (''); what comes after, the agency's.
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM events WHERE chain<>''") == 0);
  CHECK(unitRow(*s, "E12").cfs == fire);
  CHECK(unitRow(*s, "E12").status == v1::UNIT_STATUS_EN_ROUTE);
  // The board keeps its ordering after the migration: an older status moves nothing, a newer one does.
  ingestOne(*s, statusEnv(kE12, 2, T0 + 30'000, v1::UNIT_STATUS_AVAILABLE), T0 + 5 * kMin);
  CHECK(unitRow(*s, "E12").status == v1::UNIT_STATUS_EN_ROUTE);
  CHECK(unitRow(*s, "E12").cfs == fire);
  ingestOne(*s, statusEnv(kE12, 3, T0 + 6 * kMin, v1::UNIT_STATUS_AVAILABLE));
  CHECK(unitRow(*s, "E12").status == v1::UNIT_STATUS_AVAILABLE);
  CHECK(unitRow(*s, "E12").cfs == "");
  exec(*s, agencyConfig("FD1", {"available", "busy"}), T0 + 7 * kMin);
  CHECK(ReadModels(*s).downlinksAfter("E12", 0).size() == 3);  // assignment, assignment cleared, configuration
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM events WHERE chain='FD1'") == 3);
  CHECK(s->log().stats().chains == 2);
  CHECK_FALSE(s->log().verify());
}

TEST_CASE("available, at station and returning clear a unit from its CFS, staged does not", "[store][status]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  uint64_t seq = 0;
  for (auto [status, clears] : {std::pair{v1::UNIT_STATUS_STAGED, false}, std::pair{v1::UNIT_STATUS_AT_STATION, true},
                                std::pair{v1::UNIT_STATUS_RETURNING, true}, std::pair{v1::UNIT_STATUS_AVAILABLE, true}}) {
    INFO(mdc::codec::statusName(status));
    const int64_t at = T0 + int64_t(seq) * kMin;
    std::string incident = createCfs(*s, "FD1", at);
    REQUIRE(assign(*s, "FD1", incident, "E12", at + 1000));
    ingestOne(*s, statusEnv(kE12, ++seq, at + 2000, status));
    auto st = s->db().prepare("SELECT current_cfs FROM units WHERE unit_id='E12'");
    REQUIRE(st.step());
    CHECK((st.text(0).empty()) == clears);
    if (!clears) ingestOne(*s, statusEnv(kE12, ++seq, at + 3000, v1::UNIT_STATUS_AVAILABLE));
  }
}

TEST_CASE("cadctl refuses a count option that is not a whole number in range, naming it and the value",
          "[store][cadctl][sqlite]") {
  TempDir dir;
  { auto s = openStore(dir); }
  const std::string db = dir.file("cad.db");
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const auto& c : std::vector<Case>{
           {{"events", "--since", "abc"}, "--since \"abc\": expected a whole number 0-9223372036854775807"},
           {{"events", "--since", "-1"}, "--since \"-1\": expected a whole number 0-"},
           {{"events", "--limit", "0"}, "--limit \"0\": expected a whole number 1-10000000"},
           {{"refusals", "--limit", "5x"}, "--limit \"5x\": expected a whole number 1-10000000"},
       }) {
    std::vector<std::string> argv = {mdc::test::program("server-stub/cadctl"), "--db", db};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = mdc::test::run(argv, dir);
    INFO(r.output);
    CHECK(r.exitCode == 2);
    CHECK(r.output.find(c.error) != std::string::npos);
  }
  auto ok = mdc::test::run({mdc::test::program("server-stub/cadctl"), "--db", db, "events", "--since", "0", "--limit", "5"},
                           dir);
  CHECK(ok.exitCode == 0);
}

TEST_CASE("a unit taken off its CFS is told, whether the dispatcher closed it, reassigned it or it cleared itself",
          "[store][cfs]") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  auto cleared = [](const std::vector<Outgoing>& out, const std::string& device) {
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto* d : downlinksOf(out, device, v1::Downlink::kAssignmentCleared)) {
      CHECK(d->seq() > 0);  // kept and replayed like the assignment itself
      got.emplace_back(d->assignment_cleared().incident_number(), d->assignment_cleared().reason());
    }
    return got;
  };
  // Closed by the dispatcher: both units hear it.
  std::string fire = createCfs(*s, "FD1", T0);
  REQUIRE(assign(*s, "FD1", fire, "E12", T0 + 1000));
  REQUIRE(assign(*s, "FD1", fire, "E14", T0 + 2000));
  ControlRequest close;
  close.set_agency("FD1");
  close.mutable_close_cfs()->set_incident(fire);
  close.set_actor("erin");
  auto closed = exec(*s, close, T0 + kMin);
  using Got = std::vector<std::pair<std::string, std::string>>;
  CHECK(cleared(closed.downlinks, kE12.id) == Got{{fire, "closed by erin"}});
  CHECK(cleared(closed.downlinks, kE14.id) == Got{{fire, "closed by erin"}});

  // Reassigned: the old call is over for the unit, the new one is current.
  std::string a = createCfs(*s, "FD1", T0 + 2 * kMin);
  std::string b = createCfs(*s, "FD1", T0 + 3 * kMin);
  REQUIRE(assign(*s, "FD1", a, "E12", T0 + 4 * kMin));
  auto moved = assign(*s, "FD1", b, "E12", T0 + 5 * kMin, /*force=*/true);
  REQUIRE(moved);
  CHECK(cleared(moved->downlinks, kE12.id) == Got{{a, "reassigned to " + b + " by alice"}});
  CHECK(downlinksOf(moved->downlinks, kE12.id, v1::Downlink::kAssignment).size() == 1);

  // The unit's own status: available clears it (and the last unit out closes the CFS).
  auto out = ingestOne(*s, statusEnv(kE12, 1, T0 + 6 * kMin, v1::UNIT_STATUS_AVAILABLE));
  CHECK(cleared(out.downlinks, kE12.id) == Got{{b, "cleared by E12 AVAILABLE"}});
  CHECK(s->db().queryText("SELECT state FROM cfs WHERE incident_number='" + b + "'") == "closed");

  // Replay reproduces the downlink queue with them.
  REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replayed.db")));
  auto r = EventStore::open(mdc::test::storeTarget(dir, "replayed.db"), true);
  REQUIRE(r);
  CHECK((*r)->log().digest() == s->log().digest());
}

TEST_CASE("on PostgreSQL the stub's role may only insert and read the log, and no role may change it",
          "[store][postgresql]") {
  auto pg = mdc::test::PgServer::ofTestGroup();
  {
    auto s = EventStore::open(pg.stubUri());
    INFO((s ? std::string() : s.error().message));
    REQUIRE(s);
    addDevice(**s, kE12);
    ingestOne(**s, statusEnv(kE12, 1, T0, v1::UNIT_STATUS_EN_ROUTE));
    CHECK(events(**s) == 2);
    for (const char* sql : {"UPDATE events SET actor='dispatcher:x'", "DELETE FROM events", "TRUNCATE events"}) {
      INFO(sql);
      try {
        (*s)->db().exec(sql);
        FAIL("the stub's role changed the log");
      } catch (const mdc::sql::DbError& e) {
        CHECK(e.sqlstate() == "42501");  // insufficient_privilege
        CHECK_THAT(e.what(), Catch::Contains("permission denied"));
      }
    }
  }
  mdc::sql::PgDb owner(pg.ownerUri());
  for (const char* sql : {"UPDATE events SET actor='dispatcher:x'", "DELETE FROM events", "TRUNCATE events"}) {
    INFO(sql);
    try {
      owner.exec(sql);
      FAIL("the owner changed the log");
    } catch (const mdc::sql::DbError& e) {
      CHECK(e.fault() == mdc::sql::Fault::constraint);
      CHECK_THAT(e.what(), Catch::Contains("append-only"));
    }
  }
  CHECK(owner.queryInt("SELECT COUNT(*) FROM events") == 2);
  // Where it has no tables and may not make them, the stub says where.
  const std::string empty = pg.freshDatabase();
  const std::string asStub = empty.substr(0, empty.find("postgres@")) + "cad_stub@" +
                             empty.substr(empty.find("postgres@") + std::string("postgres@").size());
  auto refused = EventStore::open(asStub);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains(asStub) && Catch::Contains("permission denied"));
}
