// Downlink (backend -> device) and the local ApiRequest (UI -> agent): round
// trips of every body and every rule, with the exact reason and message.
#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "shared/wire/codec.h"
#include "tests/unit/shared/codec_expect.h"
#include "tests/unit/shared/wire_samples.h"

using namespace mdc;
using namespace mdc::test;
using namespace mdc::test::samples;
using codec::Reason;

namespace {

const std::string kTimeRange = " out of range (Unix ms between 2020-01-01 and 2100-01-01)";

struct DownlinkCase {
  const char* what;
  std::function<void(v1::Downlink&)> breakIt;
  Reason reason;
  std::string message;
};

void requireAllRejected(v1::Downlink (*valid)(), const std::vector<DownlinkCase>& cases) {
  for (const auto& c : cases) {
    INFO(c.what);
    v1::Downlink d = valid();
    c.breakIt(d);
    requireRejected(d, c.reason, c.message);
  }
}

void requireAccepted(const v1::Downlink& d) {
  Status v = codec::validate(d);
  INFO((v.ok() ? std::string("ok") : v.error().message));
  REQUIRE(v.ok());
  auto encoded = codec::encodeDownlink(d);
  REQUIRE(encoded.ok());
  auto decoded = codec::decodeDownlink(*encoded);
  REQUIRE(decoded.ok());
  CHECK(decoded->SerializeAsString() == *encoded);
}

struct RequestCase {
  const char* what;
  std::function<void(v1::ApiRequest&)> breakIt;
  Reason reason;
  std::string message;
};

void requireAllRejected(v1::ApiRequest (*valid)(), const std::vector<RequestCase>& cases) {
  for (const auto& c : cases) {
    INFO(c.what);
    v1::ApiRequest r = valid();
    c.breakIt(r);
    requireRejected(r, c.reason, c.message);
  }
}

}  // namespace

TEST_CASE("codec: every downlink body round-trips byte for byte", "[codec][downlink]") {
  struct Sample {
    const char* body;
    v1::Downlink (*make)();
  };
  const std::vector<Sample> samples = {
      {"commit_ack", validCommitAckDownlink},       {"assignment", validAssignmentDownlink},
      {"message", validDispatchMessageDownlink},    {"cfs_accepted", validCfsAcceptedDownlink},
      {"rejection", validRejectionDownlink},        {"configuration", validConfigurationDownlink},
      {"emergency_ack", validEmergencyAckDownlink},  {"assignment_cleared", validAssignmentClearedDownlink},
      {"units_nearby", validUnitsNearbyDownlink},
      {"records_answer", validRecordsAnswerDownlink},
      {"safety_alert", validSafetyAlertDownlink},
  };
  for (const auto& s : samples) {
    INFO(s.body);
    v1::Downlink original = s.make();
    auto bytes = codec::encodeDownlink(original);
    REQUIRE(bytes.ok());
    CHECK(*bytes == original.SerializeAsString());
    auto decoded = codec::decodeDownlink(*bytes);
    REQUIRE(decoded.ok());
    CHECK(std::string(codec::bodyName(*decoded)) == s.body);
    CHECK(decoded->SerializeAsString() == *bytes);
    auto again = codec::encodeDownlink(*decoded);
    REQUIRE(again.ok());
    CHECK(*again == *bytes);
  }
}

TEST_CASE("codec: decoded assignment carries dispatch's values", "[codec][downlink]") {
  auto decoded = codec::decodeDownlink(validAssignmentDownlink().SerializeAsString());
  REQUIRE(decoded.ok());
  CHECK(decoded->version() == 1);
  CHECK(decoded->unit_id() == "E12");
  CHECK(decoded->seq() == 17);
  CHECK(decoded->sent_at_ms() == 1'767'256'201'500);
  const auto& a = decoded->assignment();
  CHECK(a.incident_number() == "2026-000123");
  CHECK(a.cfs_type() == "STRUCTURE_FIRE");
  CHECK(a.priority() == 1);
  CHECK(a.address() == "250 Broadway");
  CHECK(a.location().lat() == 40.7128);
  REQUIRE(a.units_size() == 2);
  CHECK(a.units(1) == "L7");
  REQUIRE(a.timeline_size() == 2);
  CHECK(a.timeline(0).text() == "Call received");
  CHECK(a.timeline(0).at_ms() == 1'767'256'081'500);
  CHECK(a.assigned_at_ms() == 1'767'256'171'500);
}

TEST_CASE("codec: bytes that are not a downlink are malformed", "[codec][downlink]") {
  SECTION("empty") {
    auto r = codec::decodeDownlink("");
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "downlink: 0 bytes are not a valid mdc.v1.Downlink");
  }
  SECTION("a length-delimited field longer than the buffer") {
    auto r = codec::decodeDownlink(std::string("\x5a\x7f\x0a", 3));  // field 11, 127 bytes announced
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "downlink: 3 bytes are not a valid mdc.v1.Downlink");
  }
  SECTION("every truncation is rejected") {
    const std::string bytes = validAssignmentDownlink().SerializeAsString();
    for (size_t n = 0; n < bytes.size(); ++n) {
      INFO("first " << n << " of " << bytes.size() << " bytes");
      auto r = codec::decodeDownlink(std::string_view(bytes).substr(0, n));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.rfind("downlink", 0) == 0);
    }
  }
  SECTION("2,000 random buffers of 1..300 bytes are all rejected") {
    std::mt19937 rng(20260102);
    for (int i = 0; i < 2000; ++i) {
      std::string buf(1 + rng() % 300, '\0');
      for (char& c : buf) c = char(rng() & 0xff);
      auto r = codec::decodeDownlink(buf);
      REQUIRE_FALSE(r.ok());
      REQUIRE(r.error().message.rfind("downlink", 0) == 0);
    }
  }
}

TEST_CASE("codec: downlink size cap is 262144 bytes", "[codec][downlink]") {
  SECTION("exactly 262144 bytes is accepted, one more is refused") {
    v1::Downlink d = validDispatchMessageDownlink();
    padTo(d, 262144);
    CHECK(codec::decodeDownlink(d.SerializeAsString()).ok());
    padTo(d, 262145);
    auto r = codec::decodeDownlink(d.SerializeAsString());
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::TooLarge);
    CHECK(r.error().message == "downlink: 262145 bytes, at most 262144 allowed");
  }
  SECTION("an assignment within every field limit can still be too large to send") {
    // 256 timeline lines of 500 three-byte characters: each field is legal,
    // the whole is ~385 KB. The encoder refuses rather than send what the
    // device would drop.
    v1::Downlink d = validAssignmentDownlink();
    auto* a = d.mutable_assignment();
    a->clear_timeline();
    for (int i = 0; i < 256; ++i) {
      auto* t = a->add_timeline();
      t->set_at_ms(kSentAtMs);
      t->set_text(repeat("€", 500));
    }
    REQUIRE(codec::validate(d).ok());
    auto encoded = codec::encodeDownlink(d);
    REQUIRE_FALSE(encoded.ok());
    CHECK(reasonOf(encoded.error()) == Reason::TooLarge);
    CHECK(encoded.error().message ==
          "downlink: " + std::to_string(d.ByteSizeLong()) + " bytes, at most 262144 allowed");
    CHECK(d.ByteSizeLong() > 262144);
  }
}

TEST_CASE("codec: downlink header rules", "[codec][downlink]") {
  requireAllRejected(validDispatchMessageDownlink, {
      {"version 0", [](auto& d) { d.set_version(0); }, Reason::UnsupportedVersion,
       "downlink.version: 0 is not supported (this build speaks 1)"},
      {"version 2", [](auto& d) { d.set_version(2); }, Reason::UnsupportedVersion,
       "downlink.version: 2 is not supported (this build speaks 1)"},
      {"unit id empty", [](auto& d) { d.clear_unit_id(); }, Reason::MissingField,
       "downlink.unit_id: required, is empty"},
      {"unit id 33 characters", [](auto& d) { d.set_unit_id(repeat("é", 33)); }, Reason::TooLong,
       "downlink.unit_id: 33 characters, at most 32 allowed"},
      {"sent_at 0", [](auto& d) { d.set_sent_at_ms(0); }, Reason::OutOfRange,
       "downlink.sent_at_ms: 0" + kTimeRange},
      {"sent_at 2100-01-01", [](auto& d) { d.set_sent_at_ms(codec::kMaxTimeMs); }, Reason::OutOfRange,
       "downlink.sent_at_ms: 4102444800000" + kTimeRange},
      {"no body", [](auto& d) { d.clear_body(); }, Reason::MissingField, "downlink.body: required, none is set"},
  });
}

TEST_CASE("codec: downlink sequence rules depend on the body", "[codec][downlink]") {
  SECTION("bodies the backend keeps and replays need seq >= 1") {
    for (auto make : {validAssignmentDownlink, validDispatchMessageDownlink, validCfsAcceptedDownlink,
                      validConfigurationDownlink, validEmergencyAckDownlink, validAssignmentClearedDownlink}) {
      v1::Downlink d = make();
      const std::string body = codec::bodyName(d);
      INFO(body);
      d.set_seq(0);
      requireRejected(d, Reason::BadFormat, "downlink.seq: 0 must be >= 1 for " + body);
      d.set_seq(1);
      requireAccepted(d);
    }
  }
  SECTION("commit acks are not kept: seq must be 0") {
    v1::Downlink d = validCommitAckDownlink();
    d.set_seq(21);
    requireRejected(d, Reason::BadFormat, "downlink.seq: 21 must be 0 for commit_ack");
  }
  SECTION("a rejection is unsequenced (input never stored) or sequenced (a stored event lost a conflict)") {
    v1::Downlink d = validRejectionDownlink();
    REQUIRE(d.seq() == 0);
    requireAccepted(d);
    d.set_seq(20);
    d.mutable_rejection()->set_reason(v1::REJECT_REASON_CONFLICT);
    requireAccepted(d);
  }
}

TEST_CASE("codec: commit ack rules", "[codec][downlink]") {
  auto addRanges = [](v1::Downlink& d, int n) {
    for (int i = 0; i < n; ++i) {
      auto* r = d.mutable_commit_ack()->add_committed();
      r->set_first(uint64_t(10 + 2 * i));
      r->set_last(uint64_t(10 + 2 * i));
    }
  };
  requireAllRejected(validCommitAckDownlink, {
      {"no ranges", [](auto& d) { d.mutable_commit_ack()->clear_committed(); }, Reason::MissingField,
       "downlink.commit_ack.committed: required, is empty"},
      {"1025 ranges", [&](auto& d) { addRanges(d, 1023); }, Reason::TooLong,
       "downlink.commit_ack.committed: 1025 ranges, at most 1024 allowed"},
      {"first 0", [](auto& d) { d.mutable_commit_ack()->mutable_committed(0)->set_first(0); }, Reason::OutOfRange,
       "downlink.commit_ack.committed[0].first: 0 must be >= 1"},
      {"last below first", [](auto& d) { d.mutable_commit_ack()->mutable_committed(1)->set_last(4); },
       Reason::OutOfRange, "downlink.commit_ack.committed[1].last: 4 is below first 5"},
      {"ingest lag over an hour", [](auto& d) { d.mutable_commit_ack()->set_ingest_lag_ms(3600001); },
       Reason::OutOfRange, "downlink.commit_ack.ingest_lag_ms: 3600001 above 3600000 (one hour)"},
  });
  v1::Downlink lagging = validCommitAckDownlink();
  lagging.mutable_commit_ack()->set_ingest_lag_ms(3600000);  // a backend an hour behind says so
  requireAccepted(lagging);
  v1::Downlink most = validCommitAckDownlink();
  addRanges(most, 1022);
  REQUIRE(most.commit_ack().committed_size() == 1024);
  requireAccepted(most);
  // A head report (the answer to a resync request) carries no range.
  v1::Downlink head = validCommitAckDownlink();
  head.mutable_commit_ack()->clear_committed();
  head.mutable_commit_ack()->set_downlink_head(42);
  requireAccepted(head);
}

TEST_CASE("codec: assignment rules", "[codec][downlink]") {
  auto a = [](v1::Downlink& d) { return d.mutable_assignment(); };
  requireAllRejected(validAssignmentDownlink, {
      {"incident number empty", [&](auto& d) { a(d)->clear_incident_number(); }, Reason::MissingField,
       "downlink.assignment.incident_number: required, is empty"},
      {"incident number 33", [&](auto& d) { a(d)->set_incident_number(std::string(33, '1')); }, Reason::TooLong,
       "downlink.assignment.incident_number: 33 characters, at most 32 allowed"},
      {"cfs type empty", [&](auto& d) { a(d)->clear_cfs_type(); }, Reason::MissingField,
       "downlink.assignment.cfs_type: required, is empty"},
      {"cfs type 33", [&](auto& d) { a(d)->set_cfs_type(std::string(33, 'F')); }, Reason::TooLong,
       "downlink.assignment.cfs_type: 33 characters, at most 32 allowed"},
      {"priority 0", [&](auto& d) { a(d)->set_priority(0); }, Reason::OutOfRange,
       "downlink.assignment.priority: 0 out of range 1..9"},
      {"priority 10", [&](auto& d) { a(d)->set_priority(10); }, Reason::OutOfRange,
       "downlink.assignment.priority: 10 out of range 1..9"},
      {"address 201", [&](auto& d) { a(d)->set_address(std::string(201, 'a')); }, Reason::TooLong,
       "downlink.assignment.address: 201 characters, at most 200 allowed"},
      {"location lat 91.5", [&](auto& d) { a(d)->mutable_location()->set_lat(91.5); }, Reason::OutOfRange,
       "downlink.assignment.location.lat: 91.5 out of range -90..90"},
      {"notes 4001", [&](auto& d) { a(d)->set_notes(std::string(4001, 'n')); }, Reason::TooLong,
       "downlink.assignment.notes: 4001 characters, at most 4000 allowed"},
      {"65 units",
       [&](auto& d) {
         for (int i = 0; i < 63; ++i) a(d)->add_units("U" + std::to_string(i));
       },
       Reason::TooLong, "downlink.assignment.units: 65 entries, at most 64 allowed"},
      {"unit 1 empty", [&](auto& d) { a(d)->set_units(1, ""); }, Reason::MissingField,
       "downlink.assignment.units[1]: required, is empty"},
      {"unit 0 33 characters", [&](auto& d) { a(d)->set_units(0, std::string(33, 'U')); }, Reason::TooLong,
       "downlink.assignment.units[0]: 33 characters, at most 32 allowed"},
      {"257 timeline lines",
       [&](auto& d) {
         for (int i = 0; i < 255; ++i) {
           auto* t = a(d)->add_timeline();
           t->set_at_ms(kSentAtMs);
           t->set_text("x");
         }
       },
       Reason::TooLong, "downlink.assignment.timeline: 257 entries, at most 256 allowed"},
      {"timeline at 0", [&](auto& d) { a(d)->mutable_timeline(0)->set_at_ms(0); }, Reason::OutOfRange,
       "downlink.assignment.timeline[0].at_ms: 0" + kTimeRange},
      {"timeline text empty", [&](auto& d) { a(d)->mutable_timeline(1)->clear_text(); }, Reason::MissingField,
       "downlink.assignment.timeline[1].text: required, is empty"},
      {"timeline text 501", [&](auto& d) { a(d)->mutable_timeline(1)->set_text(std::string(501, 't')); },
       Reason::TooLong, "downlink.assignment.timeline[1].text: 501 characters, at most 500 allowed"},
      {"assigned at 0", [&](auto& d) { a(d)->set_assigned_at_ms(0); }, Reason::OutOfRange,
       "downlink.assignment.assigned_at_ms: 0" + kTimeRange},
  });
  SECTION("limits are inclusive") {
    v1::Downlink d = validAssignmentDownlink();
    a(d)->set_priority(9);
    a(d)->clear_location();
    a(d)->clear_address();
    a(d)->set_notes(std::string(4000, 'n'));
    for (int i = 0; i < 62; ++i) a(d)->add_units(std::string(32, 'U'));
    for (int i = 0; i < 254; ++i) {
      auto* t = a(d)->add_timeline();
      t->set_at_ms(kSentAtMs);
      t->set_text(std::string(500, 't'));
    }
    REQUIRE(a(d)->units_size() == 64);
    REQUIRE(a(d)->timeline_size() == 256);
    requireAccepted(d);
  }
}

TEST_CASE("codec: dispatch message rules", "[codec][downlink]") {
  requireAllRejected(validDispatchMessageDownlink, {
      {"from empty", [](auto& d) { d.mutable_message()->clear_from(); }, Reason::MissingField,
       "downlink.message.from: required, is empty"},
      {"from 65", [](auto& d) { d.mutable_message()->set_from(std::string(65, 'f')); }, Reason::TooLong,
       "downlink.message.from: 65 characters, at most 64 allowed"},
      {"text empty", [](auto& d) { d.mutable_message()->clear_text(); }, Reason::MissingField,
       "downlink.message.text: required, is empty"},
      {"text 2001", [](auto& d) { d.mutable_message()->set_text(std::string(2001, 't')); }, Reason::TooLong,
       "downlink.message.text: 2001 characters, at most 2000 allowed"},
  });
}

TEST_CASE("codec: cfs accepted rules", "[codec][downlink]") {
  requireAllRejected(validCfsAcceptedDownlink, {
      {"event id UUIDv4",
       [](auto& d) { d.mutable_cfs_accepted()->set_event_id("550e8400-e29b-41d4-a716-446655440000"); },
       Reason::BadFormat, "downlink.cfs_accepted.event_id: \"550e8400-e29b-41d4-a716-446655440000\" is not a UUIDv7"},
      {"event id empty", [](auto& d) { d.mutable_cfs_accepted()->clear_event_id(); }, Reason::BadFormat,
       "downlink.cfs_accepted.event_id: \"\" is not a UUIDv7"},
      {"incident number empty", [](auto& d) { d.mutable_cfs_accepted()->clear_incident_number(); },
       Reason::MissingField, "downlink.cfs_accepted.incident_number: required, is empty"},
      {"incident number 33", [](auto& d) { d.mutable_cfs_accepted()->set_incident_number(std::string(33, '2')); },
       Reason::TooLong, "downlink.cfs_accepted.incident_number: 33 characters, at most 32 allowed"},
  });
}

TEST_CASE("codec: rejection rules", "[codec][downlink]") {
  requireAllRejected(validRejectionDownlink, {
      {"reason unspecified", [](auto& d) { d.mutable_rejection()->set_reason(v1::REJECT_REASON_UNSPECIFIED); },
       Reason::MissingField, "downlink.rejection.reason: required, is unspecified (0)"},
      {"reason 7 (unknown)", [](auto& d) { setEnumNumber(*d.mutable_rejection(), "reason", 7); },
       Reason::OutOfRange, "downlink.rejection.reason: 7 is not a known value"},
      {"detail 501", [](auto& d) { d.mutable_rejection()->set_detail(std::string(501, 'd')); }, Reason::TooLong,
       "downlink.rejection.detail: 501 characters, at most 500 allowed"},
  });
  SECTION("a rejection of bytes that could not be read has no event id, seq or detail") {
    v1::Downlink d = validRejectionDownlink();
    d.mutable_rejection()->clear_event_id();
    d.mutable_rejection()->clear_seq();
    d.mutable_rejection()->clear_detail();
    requireAccepted(d);
  }
}

TEST_CASE("codec: configuration rules", "[codec][downlink]") {
  auto c = [](v1::Downlink& d) { return d.mutable_configuration(); };
  requireAllRejected(validConfigurationDownlink, {
      {"11 statuses",
       [&](auto& d) {
         for (int i = 0; i < 7; ++i) c(d)->add_statuses(v1::UNIT_STATUS_BUSY);
       },
       Reason::TooLong, "downlink.configuration.statuses: 11 entries, at most 10 allowed"},
      {"status 3 unspecified", [&](auto& d) { c(d)->set_statuses(3, v1::UNIT_STATUS_UNSPECIFIED); },
       Reason::MissingField, "downlink.configuration.statuses[3]: required, is unspecified (0)"},
      {"status 0 is 42 (unknown)",
       [&](auto& d) {
         const auto* f = d.configuration().GetDescriptor()->FindFieldByName("statuses");
         c(d)->GetReflection()->SetRepeatedEnumValue(c(d), f, 0, 42);
       },
       Reason::OutOfRange, "downlink.configuration.statuses[0]: 42 is not a known value"},
      {"moving interval 3601 s", [&](auto& d) { c(d)->set_avl_moving_interval_s(3601); }, Reason::OutOfRange,
       "downlink.configuration.avl_moving_interval_s: 3601 out of range 1..3600"},
      {"stationary interval 3601 s", [&](auto& d) { c(d)->set_avl_stationary_interval_s(3601); },
       Reason::OutOfRange, "downlink.configuration.avl_stationary_interval_s: 3601 out of range 1..3600"},
      {"en route listed twice", [&](auto& d) { c(d)->add_statuses(v1::UNIT_STATUS_EN_ROUTE); }, Reason::OutOfRange,
       "downlink.configuration.statuses[4]: EN_ROUTE repeats statuses[1]"},
  });
  SECTION("10 statuses (every status once), intervals 0 (keep the device's) and 3600") {
    v1::Downlink d = validConfigurationDownlink();
    for (auto s : {v1::UNIT_STATUS_TRANSPORTING, v1::UNIT_STATUS_AT_HOSPITAL, v1::UNIT_STATUS_BUSY,
                   v1::UNIT_STATUS_AT_STATION, v1::UNIT_STATUS_RETURNING, v1::UNIT_STATUS_STAGED})
      c(d)->add_statuses(s);
    c(d)->set_avl_moving_interval_s(0);
    c(d)->set_avl_stationary_interval_s(3600);
    requireAccepted(d);
  }
  SECTION("no statuses, interval 1 s") {
    v1::Downlink d = validConfigurationDownlink();
    c(d)->clear_statuses();
    c(d)->set_avl_moving_interval_s(1);
    requireAccepted(d);
  }
}

TEST_CASE("codec: emergency acknowledged rules", "[codec][downlink]") {
  requireAllRejected(validEmergencyAckDownlink, {
      {"by empty", [](auto& d) { d.mutable_emergency_ack()->clear_by(); }, Reason::MissingField,
       "downlink.emergency_ack.by: required, is empty"},
      {"by 65", [](auto& d) { d.mutable_emergency_ack()->set_by(repeat("ñ", 65)); }, Reason::TooLong,
       "downlink.emergency_ack.by: 65 characters, at most 64 allowed"},
      {"at 0", [](auto& d) { d.mutable_emergency_ack()->set_at_ms(0); }, Reason::OutOfRange,
       "downlink.emergency_ack.at_ms: 0" + kTimeRange},
  });
}

TEST_CASE("codec: assignment cleared rules", "[codec][downlink]") {
  requireAllRejected(validAssignmentClearedDownlink, {
      {"incident empty", [](auto& d) { d.mutable_assignment_cleared()->clear_incident_number(); },
       Reason::MissingField, "downlink.assignment_cleared.incident_number: required, is empty"},
      {"incident 33", [](auto& d) { d.mutable_assignment_cleared()->set_incident_number(std::string(33, '7')); },
       Reason::TooLong, "downlink.assignment_cleared.incident_number: 33 characters, at most 32 allowed"},
      {"reason 201", [](auto& d) { d.mutable_assignment_cleared()->set_reason(repeat("ñ", 201)); }, Reason::TooLong,
       "downlink.assignment_cleared.reason: 201 characters, at most 200 allowed"},
  });
  v1::Downlink noReason = validAssignmentClearedDownlink();
  noReason.mutable_assignment_cleared()->clear_reason();
  requireAccepted(noReason);
}

TEST_CASE("codec: units nearby rules (never stored: seq 0)", "[codec][downlink]") {
  requireAllRejected(validUnitsNearbyDownlink, {
      {"seq 1", [](auto& d) { d.set_seq(1); }, Reason::BadFormat,
       "downlink.seq: 1 must be 0 for units_nearby"},
      {"radius 0", [](auto& d) { d.mutable_units_nearby()->set_radius_m(0); }, Reason::OutOfRange,
       "downlink.units_nearby.radius_m: 0 out of range 1..100000"},
      {"65 units", [](auto& d) { for (int i = 0; i < 63; ++i) *d.mutable_units_nearby()->add_units() = d.units_nearby().units(0); },
       Reason::TooLong, "downlink.units_nearby.units: 65 units, at most 64 allowed"},
      {"unit empty", [](auto& d) { d.mutable_units_nearby()->mutable_units(1)->clear_unit_id(); }, Reason::MissingField,
       "downlink.units_nearby.units[1].unit_id: required, is empty"},
      {"lat NaN", [](auto& d) { d.mutable_units_nearby()->mutable_units(0)->set_lat(__builtin_nan("")); },
       Reason::OutOfRange, "downlink.units_nearby.units[0].lat: NaN, a number is required"},
      {"lon 181", [](auto& d) { d.mutable_units_nearby()->mutable_units(0)->set_lon(181); }, Reason::OutOfRange,
       "downlink.units_nearby.units[0].lon: 181 out of range -180..180"},
      {"status 99", [](auto& d) { d.mutable_units_nearby()->mutable_units(0)->set_status(v1::UnitStatus(99)); },
       Reason::OutOfRange, "downlink.units_nearby.units[0].status: 99 is not a known value"},
      {"position time 0", [](auto& d) { d.mutable_units_nearby()->mutable_units(0)->set_position_at_ms(0); },
       Reason::OutOfRange, "downlink.units_nearby.units[0].position_at_ms: 0" + kTimeRange},
  });
  v1::Downlink none = validUnitsNearbyDownlink();
  none.mutable_units_nearby()->clear_units();  // nobody near: a valid answer
  requireAccepted(none);
}

TEST_CASE("codec: records answer rules (seq 0, hit agrees with the flags)", "[codec][downlink][records]") {
  requireAllRejected(validRecordsAnswerDownlink, {
      {"seq 1", [](auto& d) { d.set_seq(1); }, Reason::BadFormat, "downlink.seq: 1 must be 0 for records_answer"},
      {"query id", [](auto& d) { d.mutable_records_answer()->set_query_id("42"); }, Reason::BadFormat,
       "downlink.records_answer.query_id: \"42\" is not a UUIDv7"},
      {"hit without a flag", [](auto& d) { d.mutable_records_answer()->mutable_entries(0)->clear_flags(); },
       Reason::BadFormat, "downlink.records_answer.hit: true disagrees with the entries' flags"},
      {"flag without hit", [](auto& d) { d.mutable_records_answer()->set_hit(false); }, Reason::BadFormat,
       "downlink.records_answer.hit: false disagrees with the entries' flags"},
      {"kind", [](auto& d) { d.mutable_records_answer()->mutable_entries(1)->set_kind("boat"); }, Reason::OutOfRange,
       "downlink.records_answer.entries[1].kind: \"boat\" is not vehicle or person"},
      {"summary empty", [](auto& d) { d.mutable_records_answer()->mutable_entries(1)->clear_summary(); },
       Reason::MissingField, "downlink.records_answer.entries[1].summary: required, is empty"},
      {"flag kind 0", [](auto& d) { d.mutable_records_answer()->mutable_entries(0)->mutable_flags(0)->set_kind(v1::RECORDS_FLAG_UNSPECIFIED); },
       Reason::MissingField, "downlink.records_answer.entries[0].flags[0].kind: required, is unspecified (0)"},
      {"flag detail 201", [](auto& d) { d.mutable_records_answer()->mutable_entries(0)->mutable_flags(0)->set_detail(repeat("ñ", 201)); },
       Reason::TooLong, "downlink.records_answer.entries[0].flags[0].detail: 201 characters, at most 200 allowed"},
      {"17 entries", [](auto& d) { for (int i = 0; i < 15; ++i) *d.mutable_records_answer()->add_entries() = d.records_answer().entries(1); },
       Reason::TooLong, "downlink.records_answer.entries: 17 entries, at most 16 allowed"},
  });
  v1::Downlink none = validRecordsAnswerDownlink();
  none.mutable_records_answer()->clear_entries();
  none.mutable_records_answer()->set_hit(false);
  requireAccepted(none);  // no record
}

TEST_CASE("codec: safety alert rules (sequenced)", "[codec][downlink][records]") {
  requireAllRejected(validSafetyAlertDownlink, {
      {"seq 0", [](auto& d) { d.set_seq(0); }, Reason::BadFormat, "downlink.seq: 0 must be >= 1 for safety_alert"},
      {"no flag", [](auto& d) { d.mutable_safety_alert()->clear_flags(); }, Reason::MissingField,
       "downlink.safety_alert.flags: required, is empty"},
      {"no incident", [](auto& d) { d.mutable_safety_alert()->clear_incident_number(); }, Reason::MissingField,
       "downlink.safety_alert.incident_number: required, is empty"},
      {"no unit", [](auto& d) { d.mutable_safety_alert()->clear_unit_id(); }, Reason::MissingField,
       "downlink.safety_alert.unit_id: required, is empty"},
      {"time 0", [](auto& d) { d.mutable_safety_alert()->set_at_ms(0); }, Reason::OutOfRange,
       "downlink.safety_alert.at_ms: 0" + kTimeRange},
  });
}

TEST_CASE("codec: every local API request body round-trips", "[codec][local]") {
  struct Sample {
    v1::ApiRequest::BodyCase body;
    v1::ApiRequest (*make)();
  };
  const std::vector<Sample> samples = {
      {v1::ApiRequest::kSetStatus, validSetStatusRequest},
      {v1::ApiRequest::kSetEmergency, validSetEmergencyRequest},
      {v1::ApiRequest::kCreateCfs, validCreateCfsRequest},
      {v1::ApiRequest::kAckAssignment, validAckAssignmentRequest},
      {v1::ApiRequest::kSendMessage, validSendMessageRequest},
      {v1::ApiRequest::kGetState, validGetStateRequest},
      {v1::ApiRequest::kSubscribe, validSubscribeRequest},
      {v1::ApiRequest::kRecordsQuery, validRecordsQueryRequest},
  };
  for (const auto& s : samples) {
    v1::ApiRequest original = s.make();
    INFO(original.ShortDebugString());
    REQUIRE(codec::validate(original).ok());
    std::string bytes = original.SerializeAsString();
    auto decoded = codec::decodeApiRequest(bytes);
    REQUIRE(decoded.ok());
    CHECK(decoded->body_case() == s.body);
    CHECK(decoded->request_id() == original.request_id());
    CHECK(decoded->SerializeAsString() == bytes);
  }
}

TEST_CASE("codec: local API request rules", "[codec][local]") {
  SECTION("frame size cap is 65536 bytes") {
    v1::ApiRequest r = validSendMessageRequest();
    padTo(r, 65536);
    CHECK(codec::decodeApiRequest(r.SerializeAsString()).ok());
    auto big = codec::decodeApiRequest(std::string(65537, '\0'));
    REQUIRE_FALSE(big.ok());
    CHECK(reasonOf(big.error()) == Reason::TooLarge);
    CHECK(big.error().message == "request: 65537 bytes, at most 65536 allowed");
  }
  SECTION("garbage") {
    auto r = codec::decodeApiRequest(std::string("\xff\xff\xff\xff", 4));
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "request: 4 bytes are not a valid mdc.v1.ApiRequest");
  }
  SECTION("an empty frame is a request without a body") {
    auto r = codec::decodeApiRequest("");
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::MissingField);
    CHECK(r.error().message == "request.body: required, none is set");
  }
  SECTION("body rules") {
    requireAllRejected(validSetStatusRequest, {
        {"set_status status unspecified",
         [](auto& r) { r.mutable_set_status()->set_status(v1::UNIT_STATUS_UNSPECIFIED); }, Reason::MissingField,
         "set_status.status: required, is unspecified (0)"},
        {"set_status status 12", [](auto& r) { setEnumNumber(*r.mutable_set_status(), "status", 12); },
         Reason::OutOfRange, "set_status.status: 12 is not a known value"},
        {"set_status incident 33", [](auto& r) { r.mutable_set_status()->set_incident_number(std::string(33, '1')); },
         Reason::TooLong, "set_status.incident_number: 33 characters, at most 32 allowed"},
        {"no body", [](auto& r) { r.clear_body(); }, Reason::MissingField, "request.body: required, none is set"},
    });
    requireAllRejected(validSetEmergencyRequest, {
        {"set_emergency source unspecified",
         [](auto& r) { r.mutable_set_emergency()->set_source(v1::EMERGENCY_SOURCE_UNSPECIFIED); },
         Reason::MissingField, "set_emergency.source: required, is unspecified (0)"},
    });
    requireAllRejected(validCreateCfsRequest, {
        {"create_cfs type empty", [](auto& r) { r.mutable_create_cfs()->clear_cfs_type(); }, Reason::MissingField,
         "create_cfs.cfs_type: required, is empty"},
        {"create_cfs location lat 91.5", [](auto& r) { r.mutable_create_cfs()->mutable_location()->set_lat(91.5); },
         Reason::OutOfRange, "create_cfs.location.lat: 91.5 out of range -90..90"},
        {"create_cfs address 201", [](auto& r) { r.mutable_create_cfs()->set_address(std::string(201, 'a')); },
         Reason::TooLong, "create_cfs.address: 201 characters, at most 200 allowed"},
        {"create_cfs note 1001", [](auto& r) { r.mutable_create_cfs()->set_note(std::string(1001, 'n')); },
         Reason::TooLong, "create_cfs.note: 1001 characters, at most 1000 allowed"},
    });
    requireAllRejected(validAckAssignmentRequest, {
        {"ack_assignment incident empty", [](auto& r) { r.mutable_ack_assignment()->clear_incident_number(); },
         Reason::MissingField, "ack_assignment.incident_number: required, is empty"},
    });
    requireAllRejected(validSendMessageRequest, {
        {"send_message text empty", [](auto& r) { r.mutable_send_message()->clear_text(); }, Reason::MissingField,
         "send_message.text: required, is empty"},
        {"send_message text 2001", [](auto& r) { r.mutable_send_message()->set_text(repeat("é", 2001)); },
         Reason::TooLong, "send_message.text: 2001 characters, at most 2000 allowed"},
    });
  }
  SECTION("create_cfs without a location: the agent uses its last fix") {
    v1::ApiRequest r = validCreateCfsRequest();
    r.mutable_create_cfs()->clear_location();
    CHECK(codec::decodeApiRequest(r.SerializeAsString()).ok());
  }
}

TEST_CASE("codec: a records query from the screen is checked as on the wire", "[codec][local][records]") {
  requireAllRejected(validRecordsQueryRequest, {
      {"dob", [](auto& r) { r.mutable_records_query()->mutable_person()->set_dob("1980-13-01"); }, Reason::BadFormat,
       "records_query.person.dob: \"1980-13-01\" must be a date of birth YYYY-MM-DD (1900-2099)"},
      {"unknown reason", [](auto& r) { r.mutable_records_query()->set_reason_code("BORED"); }, Reason::OutOfRange,
       "records_query.reason_code: \"BORED\" is not a reason code (TRAFFIC_STOP, SUSPICIOUS_VEHICLE, "
       "SUSPICIOUS_PERSON, INVESTIGATION, WARRANT_SERVICE, FIELD_INTERVIEW)"},
  });
}
