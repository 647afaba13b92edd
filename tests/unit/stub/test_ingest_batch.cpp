// AVL backlog batches in the event store (real SQLite files): each report is
// stored as the event it would have been alone (same log, same digest), acked
// by its own seq, de-duplicated against reports sent alone, refused alone when
// bad; a store that does not accept batches refuses the batch whole, by its
// id, and stores nothing.
#include <catch2/catch.hpp>

#include "server-stub/store/event_store.h"
#include "shared/wire/avl_batch.h"
#include "shared/wire/uuid.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = kShiftStartMs;
const Device kE12{"MDC-E12", "E12", "FD1", 1};
const Device kE14{"MDC-E14", "E14", "FD1", 2};
const std::string kBatchId = "019b78ad-9340-7fff-8000-00000000b001";

std::unique_ptr<EventStore> openStore(const TempDir& dir, const std::string& name) {
  auto s = EventStore::open(mdc::test::storeTarget(dir, name));
  REQUIRE(s);
  ControlRequest c;
  c.set_agency("FD1");
  c.set_actor("fleet");
  for (const Device& d : {kE12, kE14}) {
    c.mutable_device_add()->set_device(d.id);
    c.mutable_device_add()->set_unit(d.unit);
    REQUIRE((*s)->execute(c, T0 - 60'000));
  }
  return std::move(*s);
}

BatchOutcome ingest(EventStore& s, const std::vector<Incoming>& in) {
  auto r = s.ingest(in);
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

/** An hour of backlog of one device, one report every 10 s, as the outbox holds them. */
std::vector<v1::Envelope> backlog(const Device& d, uint64_t firstSeq, int n) {
  std::vector<v1::Envelope> out;
  for (int i = 0; i < n; ++i)
    out.push_back(avlEnv(d, firstSeq + uint64_t(i), T0 + i * 10'000, 40.70 + i * 1e-4, -74.0 + i * 1e-4, true));
  return out;
}

v1::Envelope batchOf(const std::vector<v1::Envelope>& events, const std::string& id = kBatchId) {
  mdc::codec::AvlBatchBuilder b(id, mdc::codec::kMaxBatchReports);
  for (const auto& e : events) REQUIRE(b.add(e));
  return b.envelope();
}

Incoming raw(const v1::Envelope& e, int64_t at) {
  return incomingRaw(e.device_id(), e.SerializeAsString(), at);
}

std::vector<uint64_t> acked(const BatchOutcome& out, const std::string& device) {
  auto it = out.acks.find(device);
  return it == out.acks.end() ? std::vector<uint64_t>{} : it->second;
}

/** Every AVL event of the log as stored: id, seq, times, clock, payload. */
std::vector<std::string> avlLog(EventStore& s) {
  std::vector<std::string> rows;
  auto st = s.db().prepare(
      "SELECT event_id, device_seq, recorded_at_ms, received_at_ms, clock_source, payload FROM events "
      "WHERE kind='avl' ORDER BY pos");
  while (st.step()) {
    std::string row;
    for (int c = 0; c < 5; ++c) row += st.text(c) + "|";
    row += cad::toHex(st.blob(5)) + "|";
    rows.push_back(row);
  }
  REQUIRE(rows.size() > 0);
  return rows;
}

std::vector<uint64_t> seqs(uint64_t first, uint64_t last) {
  std::vector<uint64_t> v;
  for (uint64_t s = first; s <= last; ++s) v.push_back(s);
  return v;
}

}  // namespace

TEST_CASE("a batch stores each report as the event it would have been alone: same log, same digest", "[store][batch]") {
  TempDir dir;
  auto alone = openStore(dir, "alone.db");
  auto batched = openStore(dir, "batched.db");
  const auto events = backlog(kE12, 1, 300);
  const int64_t at = T0 + 3'600'000;

  std::vector<Incoming> one;
  for (const auto& e : events) one.push_back(incoming(e, at));
  auto a = ingest(*alone, one);
  CHECK(a.appended == 300);

  // 300 reports: batches of 128, 128 and 44, in one commit.
  const std::vector<v1::Envelope> parts[] = {{events.begin(), events.begin() + 128},
                                             {events.begin() + 128, events.begin() + 256},
                                             {events.begin() + 256, events.end()}};
  std::vector<Incoming> three;
  for (int i = 0; i < 3; ++i)
    three.push_back(raw(batchOf(parts[i], "019b78ad-9340-7fff-8000-00000000b00" + std::to_string(i)), at));
  auto b = ingest(*batched, three);
  CHECK(b.appended == 300);
  CHECK(b.avlBatches == 3);
  CHECK(b.batchedReports == 300);
  CHECK(b.refused.empty());
  CHECK(acked(b, kE12.id) == seqs(1, 300));

  CHECK(batched->log().stats().events == alone->log().stats().events);
  CHECK(avlLog(*batched) == avlLog(*alone));  // byte for byte the same events
  CHECK(batched->log().digest() == alone->log().digest());
  CHECK_FALSE(batched->log().verify());
}

TEST_CASE("a batch's reports sent again, alone or batched, are acked and stored once", "[store][batch]") {
  TempDir dir;
  auto s = openStore(dir, "cad.db");
  const auto events = backlog(kE12, 10, 20);
  const int64_t at = T0 + 3'600'000;
  // The first five went alone before the link dropped; their acks were lost.
  std::vector<Incoming> first;
  for (int i = 0; i < 5; ++i) first.push_back(incoming(events[size_t(i)], at));
  CHECK(ingest(*s, first).appended == 5);
  // Then all twenty in a batch, and the same batch again (its ack was lost too).
  auto out = ingest(*s, {raw(batchOf(events), at + 1000)});
  CHECK(out.appended == 15);
  CHECK(out.duplicates == 5);
  CHECK(acked(out, kE12.id) == seqs(10, 29));
  out = ingest(*s, {raw(batchOf(events, "019b78ad-9340-7fff-8000-00000000b002"), at + 2000)});
  CHECK(out.appended == 0);
  CHECK(out.duplicates == 20);
  CHECK(acked(out, kE12.id) == seqs(10, 29));
  CHECK(s->log().stats().events == 2 + 20);  // the two device registrations and the reports
}

TEST_CASE("a bad report in a batch is refused alone by its id and seq, the rest are stored", "[store][batch]") {
  TempDir dir;
  auto s = openStore(dir, "cad.db");
  const auto events = backlog(kE12, 1, 5);
  v1::Envelope batch = batchOf(events);
  batch.mutable_avl_batch()->mutable_reports(2)->mutable_avl()->mutable_position()->set_lat(91.5);
  auto out = ingest(*s, {raw(batch, T0 + 3'600'000)});
  CHECK(out.appended == 4);
  CHECK(acked(out, kE12.id) == std::vector<uint64_t>{1, 2, 4, 5});
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].reason == "out_of_range");
  CHECK(out.refused[0].detail ==
        "envelope.avl_batch.reports[2] as envelope.avl.position.lat: 91.5 out of range -90..90");
  REQUIRE(out.downlinks.size() == 1);
  const auto& rej = out.downlinks[0].downlink.rejection();
  CHECK(rej.event_id() == events[2].event_id());
  CHECK(rej.seq() == 3);
  CHECK(rej.reason() == v1::REJECT_REASON_MALFORMED);
}

TEST_CASE("a batch refused whole is named by its own id, never by a report's seq, and nothing is stored",
          "[store][batch]") {
  TempDir dir;
  auto s = openStore(dir, "cad.db");
  const auto events = backlog(kE12, 7, 4);
  const int64_t before = s->log().stats().events;

  SECTION("a store that does not accept batches (as one from before them)") {
    s->setAcceptAvlBatches(false);
    auto out = ingest(*s, {raw(batchOf(events), T0 + 3'600'000)});
    CHECK(out.appended == 0);
    CHECK(acked(out, kE12.id).empty());
    REQUIRE(out.refused.size() == 1);
    CHECK(out.refused[0].reason == "batch_refused");
    CHECK(out.refused[0].detail ==
          "envelope.avl_batch: this backend does not accept batches (cad-stub --no-avl-batches); send the 4 reports "
          "one per message");
    REQUIRE(out.downlinks.size() == 1);
    CHECK(out.downlinks[0].downlink.rejection().event_id() == kBatchId);
    CHECK(out.downlinks[0].downlink.rejection().seq() == 0);
  }
  SECTION("a batch that cannot be expanded") {
    v1::Envelope batch = batchOf(events);
    batch.mutable_avl_batch()->mutable_reports(1)->mutable_event_id()->pop_back();
    auto out = ingest(*s, {raw(batch, T0 + 3'600'000)});
    CHECK(out.appended == 0);
    REQUIRE(out.downlinks.size() == 1);
    CHECK(out.downlinks[0].downlink.rejection().event_id() == kBatchId);
    CHECK(out.downlinks[0].downlink.rejection().seq() == 0);
    CHECK(out.refused[0].detail ==
          "envelope.avl_batch.reports[1].event_id: 15 bytes are not a UUIDv7 (16 bytes, version 7)");
  }
  SECTION("another device's batch on this device's topic") {
    v1::Envelope batch = batchOf(backlog(kE14, 7, 4));
    auto out = ingest(*s, {incomingRaw(kE12.id, batch.SerializeAsString(), T0 + 3'600'000)});
    CHECK(out.appended == 0);
    REQUIRE(out.refused.size() == 1);
    CHECK(out.refused[0].reason == "wrong_device");
    CHECK(out.downlinks[0].downlink.rejection().seq() == 0);
  }
  CHECK(s->log().stats().events == before);
}
