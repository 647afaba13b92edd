// The agent's SQLite store: what is queued survives, the cap thins AVL and
// never drops a status, acks and rejections leave the outbox, the downlink
// cursor only moves forward by one, and older schemas are migrated.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sys/stat.h>

#include <cstdio>

#include <cmath>

#include "agent/store.h"
#include "shared/wire/codec.h"
#include "shared/wire/uuid.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/shared/wire_samples.h"

using namespace mdc;
using namespace mdc::agent;
using mdc::test::TempDir;

namespace {

struct Events {
  ManualClock clock{1'767'256'200'000};
  UuidV7Generator ids{clock};

  v1::Envelope base() {
    v1::Envelope e = test::samples::envelopeHeader(1);
    e.set_event_id(ids.next());
    e.set_seq(0);
    e.set_recorded_at_ms(clock.nowMs());
    return e;
  }
  v1::Envelope status(v1::UnitStatus s = v1::UNIT_STATUS_EN_ROUTE) {
    v1::Envelope e = base();
    e.mutable_status()->set_status(s);
    return e;
  }
  v1::Envelope emergency(bool active) {
    v1::Envelope e = base();
    e.mutable_emergency()->set_active(active);
    e.mutable_emergency()->set_source(v1::EMERGENCY_SOURCE_SCREEN);
    return e;
  }
  v1::Envelope avl(int64_t atMs) {
    v1::Envelope e = base();
    e.set_recorded_at_ms(atMs);
    *e.mutable_avl()->mutable_position() = test::samples::position3d();
    e.mutable_avl()->set_trigger(v1::AVL_TRIGGER_INTERVAL);
    return e;
  }
};

std::unique_ptr<Store> openStore(const std::string& path, int64_t cap, const Clock& clock) {
  auto s = Store::open(path, {cap, 500}, clock);
  REQUIRE(s.ok());
  return std::move(*s);
}

v1::CommitAck ack(uint64_t first, uint64_t last) {
  v1::CommitAck a;
  auto* r = a.add_committed();
  r->set_first(first);
  r->set_last(last);
  return a;
}

}  // namespace

TEST_CASE("a queued event, its action and the next seq survive reopening the store", "[store]") {
  TempDir dir;
  Events ev;
  uint64_t seq = 0;
  std::string id;
  {
    auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
    auto e = ev.status();
    auto row = store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"}, {{StateKey(StateKind::Status), "2"}});
    REQUIRE(row.ok());
    seq = row->seq;
    id = row->eventId;
    CHECK(seq == 1);
  }  // closed without any shutdown step: the commit was already durable
  auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
  CHECK(store->nextSeq() == 2);
  CHECK(store->laneDepth(v1::LANE_STATUS).count == 1);
  CHECK(store->state(StateKey(StateKind::Status)) == "2");
  auto rows = store->pending(v1::LANE_STATUS, 0, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].eventId == id);
  auto env = codec::decodeEnvelope(rows[0].payload);
  REQUIRE(env.ok());
  CHECK(env->seq() == seq);
  auto a = store->action(seq);
  REQUIRE(a);
  CHECK(a->delivery() == v1::DELIVERY_QUEUED);
  CHECK(store->check().ok);
}

TEST_CASE("lanes drain in seq order and a commit ack removes exactly the acknowledged events", "[store]") {
  TempDir dir;
  Events ev;
  auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
  for (int i = 0; i < 5; ++i) {
    auto e = ev.status();
    REQUIRE(store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"}).ok());
  }
  auto rows = store->pending(v1::LANE_STATUS, 0, 10);
  REQUIRE(rows.size() == 5);
  for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i].seq == i + 1);
  CHECK(store->pending(v1::LANE_STATUS, 3, 10).size() == 2);

  auto out = store->applyCommitAck(ack(2, 3));
  REQUIRE(out.ok());
  CHECK(out->removed == 2);
  CHECK(out->actions == std::vector<uint64_t>{2, 3});
  CHECK(store->laneDepth(v1::LANE_STATUS).count == 3);
  CHECK(store->action(2)->delivery() == v1::DELIVERY_DELIVERED);
  CHECK(store->action(1)->delivery() == v1::DELIVERY_QUEUED);
  // A repeated ack changes nothing.
  auto again = store->applyCommitAck(ack(2, 3));
  REQUIRE(again.ok());
  CHECK(again->removed == 0);
  CHECK(again->actions.empty());
}

TEST_CASE("at the cap AVL is thinned oldest first to one point per 30 s, statuses are never dropped", "[store][cap]") {
  TempDir dir;
  Events ev;
  const int64_t cap = 64 * 1024;
  auto store = openStore(dir.file("a.db"), cap, ev.clock);
  for (int i = 0; i < 20; ++i) {
    auto e = ev.status();
    REQUIRE(store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"}).ok());
  }
  // A long outage: one AVL point per second for an hour.
  int64_t t0 = ev.clock.nowMs();
  int64_t dropped = 0;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<v1::Envelope> b;
    for (int s = 0; s < 60; ++s) b.push_back(ev.avl(t0 + (batch * 60 + s) * 1000));
    auto d = store->appendAvl(b);
    REQUIRE(d.ok());
    dropped += *d;
  }
  INFO("outbox " << store->outboxBytes() << " bytes, cap " << cap);
  CHECK(store->outboxBytes() <= cap);
  CHECK(dropped > 0);
  CHECK(store->laneDepth(v1::LANE_STATUS).count == 20);
  CHECK(store->stateInt(StateKey(StateKind::DroppedAvl)) == dropped);
  CHECK(store->laneDepth(v1::LANE_AVL).count + dropped == 3600);
  // The oldest part of the trail is kept at 30 s spacing, the newest whole.
  auto rows = store->pending(v1::LANE_AVL, 0, 5000);
  REQUIRE(rows.size() >= 3);
  CHECK(rows[1].recordedAtMs - rows[0].recordedAtMs >= 30'000);
  CHECK(rows.back().recordedAtMs == t0 + 3599 * 1000);
  CHECK(rows[rows.size() - 1].recordedAtMs - rows[rows.size() - 2].recordedAtMs == 1000);
  CHECK(store->check().ok);
}

TEST_CASE("when non-AVL events alone reach the cap a new action is refused and nothing changes", "[store][cap]") {
  TempDir dir;
  Events ev;
  const int64_t cap = 64 * 1024;
  auto store = openStore(dir.file("a.db"), cap, ev.clock);
  int queued = 0;
  for (;;) {
    auto e = ev.status();
    auto r = store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"});
    if (!r.ok()) {
      CHECK(r.error().code == int(StoreErrorCode::Full));
      CHECK_THAT(r.error().message, Catch::Contains("store full") && Catch::Contains("nothing was queued") &&
                                        Catch::Contains(std::to_string(cap)));
      break;
    }
    ++queued;
    REQUIRE(queued < 10000);
  }
  CHECK(queued > 100);
  uint64_t next = store->nextSeq();
  CHECK(store->laneDepth(v1::LANE_STATUS).count == queued);
  // Nothing half-written: the refused event left no row, no action, no seq.
  CHECK(store->recentActions(100000).size() == size_t(queued));
  auto e = ev.status();
  CHECK_FALSE(store->enqueue(e, v1::LANE_EMERGENCY, {"emergency", "ACTIVATED"}).ok());
  CHECK(store->nextSeq() == next);
  CHECK(store->check().ok);
}

TEST_CASE("a new store numbers from its creation time, so a wiped device enrolled again continues above its old seqs",
          "[store]") {
  TempDir dir;
  Events ev;
  Store::Options o{1 << 20, 500};
  o.seqFromCreationTime = true;
  uint64_t firstStoreLast = 0;
  {
    auto store = Store::open(dir.file("a.db"), o, ev.clock);
    REQUIRE(store.ok());
    CHECK((*store)->nextSeq() == uint64_t(ev.clock.nowMs()) * 1000);
    for (int i = 0; i < 5000; ++i) {
      auto e = ev.status();
      auto row = (*store)->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"});
      REQUIRE(row.ok());
      firstStoreLast = row->seq;
    }
  }
  // Reopened: carries on where it was, not from the clock.
  ev.clock.advance(60'000);
  {
    auto store = Store::open(dir.file("a.db"), o, ev.clock);
    REQUIRE(store.ok());
    CHECK((*store)->nextSeq() == firstStoreLast + 1);
  }
  // Wiped (file gone) and made again a minute later: above everything the old one sent.
  for (const char* suffix : {"", "-wal", "-shm", ".key"}) std::filesystem::remove(dir.file("a.db") + suffix);
  auto store = Store::open(dir.file("a.db"), o, ev.clock);
  REQUIRE(store.ok());
  CHECK((*store)->nextSeq() > firstStoreLast);
  // A clock that does not know the date yet (before 2020) still gives a valid origin.
  CHECK(Store::seqOrigin(0) == uint64_t(1'577'836'800'000) * 1000);
  // The default (the store's own tests, and stores made by tools) starts at 1.
  auto plain = Store::open(dir.file("b.db"), {1 << 20, 500}, ev.clock);
  REQUIRE(plain.ok());
  CHECK((*plain)->nextSeq() == 1);
}

TEST_CASE("a rejection for good removes the event, marks its action rejected with the reason and counts it",
          "[store]") {
  TempDir dir;
  Events ev;
  auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
  auto e = ev.status();
  auto row = store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"});
  REQUIRE(row.ok());
  v1::Rejection rej;
  rej.set_event_id(row->eventId);
  rej.set_seq(row->seq);
  rej.set_reason(v1::REJECT_REASON_MALFORMED);
  rej.set_detail("envelope.status.status: 0 is not a status");
  bool held = true;
  auto r = store->applyRejection(rej, &held);
  REQUIRE(r.ok());
  CHECK_FALSE(held);
  CHECK(r->value_or(0) == row->seq);
  CHECK(store->outboxCount() == 0);
  auto a = store->action(row->seq);
  CHECK(a->delivery() == v1::DELIVERY_REJECTED);
  CHECK_THAT(a->detail(), Catch::Contains("is not a status"));
  CHECK(store->stateInt(StateKey(StateKind::RejectedEvents)) == 1);
}

TEST_CASE("a refusal for a cause that can be fixed holds the event, backs off, and releases it", "[store][held]") {
  const auto reason = GENERATE(v1::REJECT_REASON_UNKNOWN_DEVICE, v1::REJECT_REASON_NOT_PERMITTED);
  TempDir dir;
  Events ev;
  auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
  auto e = ev.emergency(true);
  auto row = store->enqueue(e, v1::LANE_EMERGENCY, {"emergency", "EMERGENCY"});
  REQUIRE(row.ok());
  v1::Rejection rej;
  rej.set_event_id(row->eventId);
  rej.set_seq(row->seq);
  rej.set_reason(reason);
  rej.set_detail("device \"MDC-0001\" is not registered (cadctl devices add)");
  bool held = false;
  REQUIRE(store->applyRejection(rej, &held).ok());
  CHECK(held);
  // Kept (nothing lost), counted as unsent, not sent while held.
  CHECK(store->outboxCount() == 1);
  CHECK(store->laneDepth(v1::LANE_EMERGENCY).count == 1);
  CHECK(store->pending(v1::LANE_EMERGENCY, 0, 10).empty());
  CHECK(store->heldCount() == 1);
  auto a = store->action(row->seq);
  CHECK(a->delivery() == v1::DELIVERY_HELD);
  CHECK_THAT(a->detail(), Catch::StartsWith("held: device \"MDC-0001\" is not registered") &&
                              Catch::Contains("sent again in 5 s"));
  CHECK(store->stateInt(StateKey(StateKind::RejectedEvents)) == 0);
  // Its wait: 5 s, then it goes again.
  ev.clock.advance(4000);
  CHECK(store->releaseHeld(false) == 0);
  ev.clock.advance(1000);
  CHECK(store->releaseHeld(false) == 1);
  CHECK(store->pending(v1::LANE_EMERGENCY, 0, 10).size() == 1);
  CHECK(store->action(row->seq)->delivery() == v1::DELIVERY_QUEUED);
  // Refused again: twice as long; the registry changing releases it at once.
  REQUIRE(store->applyRejection(rej, &held).ok());
  CHECK_THAT(store->action(row->seq)->detail(), Catch::Contains("sent again in 10 s"));
  CHECK(store->releaseHeld(false) == 0);
  CHECK(store->releaseHeld(true) == 1);
  // Then committed: delivered, gone from the outbox.
  v1::CommitAck ack;
  auto* range = ack.add_committed();
  range->set_first(row->seq);
  range->set_last(row->seq);
  REQUIRE(store->applyCommitAck(ack).ok());
  CHECK(store->outboxCount() == 0);
  CHECK(store->action(row->seq)->delivery() == v1::DELIVERY_DELIVERED);
}

TEST_CASE("the downlink cursor accepts only the next seq and keeps what it commits", "[store][downlink]") {
  TempDir dir;
  Events ev;
  auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
  auto dl = test::samples::validAssignmentDownlink();
  dl.set_seq(1);
  CHECK(store->storeDownlink(dl, dl.SerializeAsString()).ok());
  dl.set_seq(3);  // a gap: refused, cursor stays
  CHECK_FALSE(store->storeDownlink(dl, dl.SerializeAsString()).ok());
  CHECK(store->downlinkCursor(dl.unit_id()) == 1);
  dl.set_seq(2);
  CHECK(store->storeDownlink(dl, dl.SerializeAsString()).ok());
  CHECK(store->downlinkCursor(dl.unit_id()) == 2);
  CHECK(store->inbox(dl.unit_id(), "assignment", 10).size() == 2);
  CHECK(store->downlinkCursor("another-unit") == 0);
}

TEST_CASE("the inbox keeps the newest 1000 of each kind and counts what it pruned", "[store][downlink]") {
  TempDir dir;
  Events ev;
  auto store = openStore(dir.file("a.db"), 64 << 20, ev.clock);
  auto dl = test::samples::validDispatchMessageDownlink();
  for (uint64_t seq = 1; seq <= uint64_t(Store::kInboxKeep) + 5; ++seq) {
    dl.set_seq(seq);
    REQUIRE(store->storeDownlink(dl, dl.SerializeAsString()).ok());
  }
  CHECK(store->inboxCount(dl.unit_id(), "message") == Store::kInboxKeep);
  CHECK(store->stateInt(StateKey(StateKind::InboxPruned)) == 5);
  auto all = store->conversation(dl.unit_id(), std::nullopt, 1001);
  REQUIRE(all.size() == size_t(Store::kInboxKeep));
  CHECK(all.back().downlink_seq() == 6);  // 1..5 pruned: 6 is the oldest kept
}

TEST_CASE("the conversation holds both sides in the vehicle's order and pages back by cursor", "[store][conversation]") {
  TempDir dir;
  Events ev;
  std::string path = dir.file("a.db");
  auto store = openStore(path, 1 << 20, ev.clock);
  auto incoming = test::samples::validDispatchMessageDownlink();
  const std::string unit = incoming.unit_id();
  auto dispatcher = [&](uint64_t seq, const std::string& text) {
    incoming.set_seq(seq);
    incoming.mutable_message()->set_text(text);
    REQUIRE(store->storeDownlink(incoming, incoming.SerializeAsString()).ok());
  };
  auto reply = [&](const std::string& text) {
    auto e = ev.base();
    e.set_unit_id(unit);
    e.mutable_message()->set_text(text);
    auto row = store->enqueue(e, v1::LANE_MESSAGE, {"message", std::to_string(text.size()) + " characters", text});
    REQUIRE(row.ok());
    return row->seq;
  };
  dispatcher(1, "Call dispatch on TAC 2");
  ev.clock.advance(1000);
  const uint64_t copy = reply("Copy, switching to TAC 2 (secret: KXT 4471)");
  ev.clock.advance(1000);
  dispatcher(2, "Hydrant out of service");
  const uint64_t sameMs = reply("Copy hydrant");  // the same millisecond: incoming reads first
  ev.clock.advance(1000);
  dispatcher(3, "Stage at Broadway");

  auto page = store->conversation(unit, std::nullopt, 10);
  REQUIRE(page.size() == 5);
  CHECK(page[0].text() == "Stage at Broadway");
  CHECK(page[1].text() == "Copy hydrant");
  CHECK(page[1].outgoing());
  CHECK(page[1].event_seq() == sameMs);
  CHECK(page[1].delivery() == v1::DELIVERY_QUEUED);
  CHECK(page[2].text() == "Hydrant out of service");
  CHECK(page[3].text() == "Copy, switching to TAC 2 (secret: KXT 4471)");
  CHECK(page[4].text() == "Call dispatch on TAC 2");
  CHECK(store->conversationCount(unit) == 5);
  CHECK(store->conversationCount("another-unit") == 0);

  // Page by page, two at a time: every message exactly once, in order.
  std::vector<std::string> paged;
  std::optional<codec::MessageCursor> before;
  for (int i = 0; i < 5; ++i) {
    auto p = store->conversation(unit, before, 2);
    if (p.empty()) break;
    for (const auto& m : p) paged.push_back(m.text());
    before = codec::MessageCursor::parse(p.back().cursor());
    REQUIRE(before);
  }
  REQUIRE(paged.size() == 5);
  for (size_t i = 0; i < paged.size(); ++i) CHECK(paged[i] == page[i].text());

  // Delivered when the backend commits it; the text is never in the clear on disk.
  REQUIRE(store->applyCommitAck(ack(copy, copy)).ok());
  CHECK(store->conversation(unit, std::nullopt, 10)[3].delivery() == v1::DELIVERY_DELIVERED);
  CHECK(store->db().queryInt("SELECT COUNT(*) FROM sent_messages WHERE instr(payload, CAST('KXT 4471' AS BLOB)) > 0") == 0);
  CHECK(store->db().queryInt("SELECT COUNT(*) FROM actions WHERE instr(summary, 'KXT') > 0") == 0);

  SECTION("an edited sent message is reported and not shown") {
    // Byte 21 is ciphertext, so it is random: write whichever of 00 and 01 it is not.
    store->db().exec(
        "UPDATE sent_messages SET payload = substr(payload,1,20) || "
        "CASE WHEN substr(payload,21,1) = X'00' THEN X'01' ELSE X'00' END || substr(payload,22) WHERE seq=" +
        std::to_string(copy));
    CHECK(store->conversation(unit, std::nullopt, 10).size() == 4);
    auto report = store->check();
    CHECK_FALSE(report.ok);
    bool named = false;
    for (const auto& l : report.lines) named |= l.find("sent message seq " + std::to_string(copy)) != std::string::npos;
    CHECK(named);
  }
  SECTION("the newest 1000 sent messages are kept, the rest counted as pruned") {
    for (int i = 0; i < Store::kInboxKeep; ++i) reply("r" + std::to_string(i));
    CHECK(store->conversationCount(unit) == 3 + Store::kInboxKeep);
    CHECK(store->stateInt(StateKey(StateKind::InboxPruned)) == 2);
    store.reset();
    store = openStore(path, 1 << 20, ev.clock);
    CHECK(store->conversation(unit, std::nullopt, 1)[0].text() == "r999");
  }
}

TEST_CASE("message cursors read back exactly what they wrote and refuse anything else", "[store][conversation]") {
  const codec::MessageCursor c{1'767'256'200'000, true, 42};
  CHECK(c.text() == "1767256200000.1.42");
  CHECK(codec::MessageCursor::parse(c.text()) == c);
  CHECK(codec::MessageCursor::parse("1767256200000.0.18446744073709551615")->seq == UINT64_MAX);
  for (const char* bad : {"", "42", "1.2.3", "1.0.", ".0.1", "1..1", "1.0.1x", "-1.0.1", "1.0.-1", "x.0.1",
                          "99999999999999999999.0.1", "1.0.1.0", "1 .0.1"})
    CHECK_FALSE(codec::MessageCursor::parse(bad));
}

TEST_CASE("a store of schema 1 is migrated to the current schema with its outbox intact", "[store][migration]") {
  TempDir dir;
  std::string path = dir.file("old.db");
  Events ev;
  auto e = ev.status();
  e.set_seq(7);
  auto bytes = codec::encodeEnvelope(e);
  REQUIRE(bytes.ok());
  {
    // What a device running schema 1 left behind (the exact v1 DDL).
    sql::SqliteDb db(path);
    db.exec(R"sql(
CREATE TABLE outbox(seq INTEGER PRIMARY KEY, lane INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE,
  recorded_at_ms INTEGER NOT NULL, queued_at_ms INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE INDEX outbox_by_lane ON outbox(lane, seq);
CREATE TABLE inbox(unit_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, received_at_ms INTEGER NOT NULL,
  payload BLOB NOT NULL, PRIMARY KEY(unit_id, seq));
CREATE TABLE state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version=1;
)sql");
    db.prepare("INSERT INTO outbox VALUES(7, 2, ?, ?, ?, ?)")
        .bind(1, e.event_id()).bind(2, e.recorded_at_ms()).bind(3, e.recorded_at_ms()).bindBlob(4, *bytes).run();
    db.exec("INSERT INTO state VALUES('next_seq', '8')");
  }
  auto store = openStore(path, 1 << 20, ev.clock);
  CHECK(store->db().queryInt("PRAGMA user_version") == kSchemaVersion);
  CHECK(store->nextSeq() == 8);
  // Schema 3 encrypted the plaintext row in place.
  CHECK(store->db().queryInt("SELECT length(payload) FROM outbox WHERE seq=7") ==
        int64_t(bytes->size() + PayloadCipher::kOverhead));
  auto rows = store->pending(v1::LANE_STATUS, 0, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].eventId == e.event_id());
  // Schema 2's action history works on the migrated file.
  auto next = ev.status();
  auto row = store->enqueue(next, v1::LANE_STATUS, {"status", "ON_SCENE"});
  REQUIRE(row.ok());
  CHECK(row->seq == 8);
  CHECK(store->action(8)->summary() == "ON_SCENE");
}

TEST_CASE("a store written by a newer agent is refused, untouched", "[store][migration]") {
  TempDir dir;
  std::string path = dir.file("new.db");
  {
    sql::SqliteDb db(path);
    db.exec("PRAGMA user_version=99");
  }
  ManualClock clock;
  auto s = Store::open(path, {1 << 20, 500}, clock);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("schema version 99 is newer"));
  sql::SqliteDb db(path);
  CHECK(db.queryInt("PRAGMA user_version") == 99);
}

TEST_CASE("check() reports an outbox payload that does not match its row", "[store]") {
  TempDir dir;
  Events ev;
  auto store = openStore(dir.file("a.db"), 1 << 20, ev.clock);
  auto e = ev.status();
  REQUIRE(store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"}).ok());
  CHECK(store->check().ok);
  // The lane is part of the payload's authenticated data (schema 3): moving a
  // row to another lane is caught as tampering before the payload is even read.
  store->db().exec("UPDATE outbox SET lane=4");
  auto report = store->check();
  CHECK_FALSE(report.ok);
  bool named = false;
  for (const auto& l : report.lines) named |= l.find("outbox seq 1: stored payload fails authentication") != std::string::npos;
  CHECK(named);
}

TEST_CASE("a status arriving at the cap makes room by thinning AVL, in the same transaction", "[store][cap]") {
  TempDir dir;
  Events ev;
  const int64_t cap = 64 * 1024;
  auto store = openStore(dir.file("a.db"), cap, ev.clock);
  int64_t t0 = ev.clock.nowMs();
  std::vector<v1::Envelope> b;
  for (int s = 0; s < 3600; ++s) b.push_back(ev.avl(t0 + s * 1000));
  REQUIRE(store->appendAvl(b).ok());
  REQUIRE(store->outboxBytes() <= cap);
  const int64_t droppedBefore = store->stateInt(StateKey(StateKind::DroppedAvl));
  const int64_t avlBefore = store->laneDepth(v1::LANE_AVL).count;
  for (int i = 0; i < 50; ++i) {
    auto e = ev.status();
    REQUIRE(store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"}).ok());
    REQUIRE(store->outboxBytes() <= cap);
  }
  CHECK(store->laneDepth(v1::LANE_STATUS).count == 50);
  const int64_t thinned = avlBefore - store->laneDepth(v1::LANE_AVL).count;
  CHECK(thinned > 0);
  CHECK(store->stateInt(StateKey(StateKind::DroppedAvl)) == droppedBefore + thinned);
  CHECK(store->check().ok);
}

TEST_CASE("payloads are encrypted at rest under a 0600 key, an edited payload is reported, never sent", "[store][atrest]") {
  TempDir dir;
  Events ev;
  std::string path = dir.file("a.db");
  auto store = openStore(path, 1 << 20, ev.clock);
  auto e = ev.status();
  e.mutable_status()->set_incident_number("SECRET-INCIDENT-42");
  REQUIRE(store->enqueue(e, v1::LANE_STATUS, {"status", "EN_ROUTE"}).ok());
  auto e2 = ev.status();
  REQUIRE(store->enqueue(e2, v1::LANE_STATUS, {"status", "ON_SCENE"}).ok());
  struct stat st {};
  REQUIRE(::stat((path + ".key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 32);
  // Nothing readable in the column.
  CHECK(store->db().queryInt("SELECT instr(payload, CAST('SECRET-INCIDENT-42' AS BLOB)) FROM outbox WHERE seq=1") == 0);
  auto rows = store->pending(v1::LANE_STATUS, 0, 10);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].payload.find("SECRET-INCIDENT-42") != std::string::npos);

  SECTION("one byte changed: seq 1 skipped and reported, seq 2 still sent") {
    // Byte 21 is ciphertext, so it is random: write whichever of 00 and 01 it is not.
    store->db().exec(
        "UPDATE outbox SET payload = substr(payload,1,20) || "
        "CASE WHEN substr(payload,21,1) = X'00' THEN X'01' ELSE X'00' END || substr(payload,22) WHERE seq=1");
    rows = store->pending(v1::LANE_STATUS, 0, 10);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].seq == 2);
    CHECK(store->tamperedPayloads() == 1);
    auto report = store->check();
    CHECK_FALSE(report.ok);
    bool named = false;
    for (const auto& l : report.lines) named |= l.find("outbox seq 1: stored payload fails authentication (tampered)") != std::string::npos;
    CHECK(named);
  }
  SECTION("rows swapped: both fail") {
    store->db().exec("UPDATE outbox SET payload = (SELECT payload FROM outbox WHERE seq=2) WHERE seq=1");
    rows = store->pending(v1::LANE_STATUS, 0, 10);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].seq == 2);
  }
  SECTION("reopened with the key: still readable; without it: refused") {
    store.reset();
    store = openStore(path, 1 << 20, ev.clock);
    CHECK(store->pending(v1::LANE_STATUS, 0, 10).size() == 2);
    store.reset();
    std::remove((path + ".key").c_str());
    auto s = Store::open(path, {1 << 20, 500}, ev.clock);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message, Catch::Contains("cannot be read without it"));
  }
}
