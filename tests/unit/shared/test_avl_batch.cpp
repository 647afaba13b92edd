// AVL backlog batches: a batch expands into exactly the events its reports
// would have been had each gone alone (byte for byte, so the backend stores
// and de-duplicates them the same), the builder keeps to the batch rules,
// and a broken batch is refused naming the report and the field.
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "shared/wire/avl_batch.h"
#include "shared/wire/codec.h"
#include "shared/wire/uuid.h"
#include "tests/unit/shared/codec_expect.h"
#include "tests/unit/shared/wire_samples.h"

using namespace mdc;
using namespace mdc::test;
using namespace mdc::test::samples;
using codec::Reason;

TEST_CASE("avl batch: expands into the events as each would have gone alone", "[codec][batch]") {
  const auto events = backlogAvlEnvelopes();
  auto decoded = codec::decodeEnvelope(validAvlBatchEnvelope().SerializeAsString());
  REQUIRE(decoded.ok());
  const auto expanded = codec::expandAvlBatch(*decoded);
  REQUIRE(expanded.size() == events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    INFO("report " << i);
    CHECK(codec::validate(expanded[i]).ok());
    CHECK(expanded[i].SerializeAsString() == events[i].SerializeAsString());
  }
  CHECK(expanded[2].seq() == 205);
  CHECK(expanded[2].recorded_at_ms() == kRecordedAtMs + 5000);
  CHECK(expanded[2].clock_source() == v1::CLOCK_SOURCE_SYSTEM);
}

TEST_CASE("avl batch: the builder packs what it may and refuses the rest unchanged", "[codec][batch]") {
  auto events = backlogAvlEnvelopes();
  for (auto& e : events) e.mutable_avl()->set_backfill(false);  // as the outbox holds them

  SECTION("the builder's batch is the sample's, and every report is marked backfill") {
    codec::AvlBatchBuilder b(eventId(200), codec::kMaxBatchReports);
    for (const auto& e : events) REQUIRE(b.add(e));
    CHECK(b.size() == 3);
    CHECK(b.envelope().SerializeAsString() == validAvlBatchEnvelope().SerializeAsString());
    CHECK(codec::validate(b.envelope()).ok());
  }
  SECTION("at most the count asked") {
    codec::AvlBatchBuilder b(eventId(200), 2);
    CHECK(b.add(events[0]));
    CHECK(b.add(events[1]));
    CHECK_FALSE(b.add(events[2]));
    CHECK(b.size() == 2);
  }
  SECTION("one header: another unit, agency or device ends the batch") {
    codec::AvlBatchBuilder b(eventId(200), 10);
    REQUIRE(b.add(events[0]));
    auto moved = events[1];
    moved.set_unit_id("E14");
    CHECK_FALSE(b.add(moved));
    moved = events[1];
    moved.set_agency("NYPD");
    CHECK_FALSE(b.add(moved));
    moved = events[1];
    moved.set_device_id("mdc-0043");
    CHECK_FALSE(b.add(moved));
    CHECK(b.size() == 1);
  }
  SECTION("seq must rise; only AVL; only an id whose text comes back the same") {
    codec::AvlBatchBuilder b(eventId(200), 10);
    REQUIRE(b.add(events[1]));
    CHECK_FALSE(b.add(events[0]));  // seq 201 after 202
    CHECK_FALSE(b.add(validStatusEnvelope()));
    auto upper = events[2];
    upper.set_event_id("019B78AD-9340-7000-8000-000000000205");  // valid, but stored as the device wrote it
    CHECK_FALSE(b.add(upper));
    CHECK(b.size() == 1);
  }
  SECTION("never past 16 KiB, never past 128 reports") {
    codec::AvlBatchBuilder b(eventId(200), codec::kMaxBatchReports);
    v1::Envelope e = events[0];
    e.mutable_avl()->mutable_position()->set_lat(40.1);  // every field set: the largest report
    int added = 0;
    for (uint64_t seq = 1; seq <= 200; ++seq) {
      e.set_seq(seq);
      e.set_event_id(eventId(seq));
      e.set_recorded_at_ms(kRecordedAtMs + int64_t(seq) * 1000);
      if (!b.add(e)) break;
      ++added;
    }
    CHECK(added == codec::kMaxBatchReports);
    CHECK(b.envelope().ByteSizeLong() <= codec::kMaxEnvelopeBytes);
    CHECK(codec::decodeEnvelope(b.envelope().SerializeAsString()).ok());
  }
}

TEST_CASE("avl batch: a batch that cannot be expanded is refused whole", "[codec][batch]") {
  struct Case {
    const char* what;
    std::function<void(v1::Envelope&)> breakIt;
    Reason reason;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no reports", [](auto& e) { e.mutable_avl_batch()->clear_reports(); }, Reason::MissingField,
       "envelope.avl_batch.reports: required, is empty"},
      {"129 reports",
       [](auto& e) {
         for (int i = 0; i < 126; ++i) *e.mutable_avl_batch()->add_reports() = e.avl_batch().reports(1);
       },
       Reason::TooLong, "envelope.avl_batch.reports: 129 reports, at most 128"},
      {"an id of 15 bytes", [](auto& e) { e.mutable_avl_batch()->mutable_reports(1)->mutable_event_id()->pop_back(); },
       Reason::BadFormat, "envelope.avl_batch.reports[1].event_id: 15 bytes are not a UUIDv7 (16 bytes, version 7)"},
      {"an id of version 4",
       [](auto& e) { (*e.mutable_avl_batch()->mutable_reports(2)->mutable_event_id())[6] = char(0x40); },
       Reason::BadFormat, "envelope.avl_batch.reports[2].event_id: 16 bytes are not a UUIDv7 (16 bytes, version 7)"},
      {"the first report's seq is not the envelope's",
       [](auto& e) { e.mutable_avl_batch()->mutable_reports(0)->set_seq_delta(1); }, Reason::BadFormat,
       "envelope.avl_batch.reports[0].seq_delta: 1 must be 0 for the first report (its seq is envelope.seq)"},
      {"a report with the seq of the one before",
       [](auto& e) { e.mutable_avl_batch()->mutable_reports(2)->set_seq_delta(0); }, Reason::BadFormat,
       "envelope.avl_batch.reports[2].seq_delta: 0 must be >= 1"},
      {"live AVL in a batch",
       [](auto& e) { e.mutable_avl_batch()->mutable_reports(1)->mutable_avl()->set_backfill(false); },
       Reason::BadFormat,
       "envelope.avl_batch.reports[1].avl.backfill: false, a batch carries the backlog only (live AVL goes alone)"},
      {"seq 0", [](auto& e) { e.set_seq(0); }, Reason::BadFormat, "envelope.seq: 0 must be >= 1"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    v1::Envelope e = validAvlBatchEnvelope();
    c.breakIt(e);
    requireRejected(e, c.reason, c.message);
  }
}

TEST_CASE("avl batch: a bad report is the report's own error after expansion", "[codec][batch]") {
  v1::Envelope e = validAvlBatchEnvelope();
  e.mutable_avl_batch()->mutable_reports(1)->mutable_avl()->mutable_position()->set_lat(91.5);
  REQUIRE(codec::validate(e).ok());  // the batch itself is fine
  const auto expanded = codec::expandAvlBatch(e);
  CHECK(codec::validate(expanded[0]).ok());
  auto bad = codec::validate(expanded[1]);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "envelope.avl.position.lat: 91.5 out of range -90..90");
  CHECK(codec::validate(expanded[2]).ok());
}

TEST_CASE("uuid: 16 bytes and back give the same text", "[uuid][batch]") {
  const std::string id = eventId(4242);
  const std::string bytes = uuidToBytes(id);
  REQUIRE(bytes.size() == 16);
  CHECK(uuidFromBytes(bytes) == id);
  CHECK(uuidToBytes("not-a-uuid").empty());
  CHECK(uuidFromBytes("short").empty());
  CHECK(uuidFromBytes(uuidToBytes("019B78AD-9340-7000-8000-000000004242")) == "019b78ad-9340-7000-8000-000000004242");
}
