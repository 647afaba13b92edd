// Uplink Envelope: every body survives encode/decode unchanged, and every rule
// of mdc.proto is enforced with a reason and a message that names the field
// and the value.
#include <catch2/catch.hpp>

#include <google/protobuf/stubs/logging.h>

#include <cmath>
#include <functional>
#include <limits>
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

struct EnvelopeCase {
  const char* what;
  std::function<void(v1::Envelope&)> breakIt;
  Reason reason;
  std::string message;
};

void requireAllRejected(v1::Envelope (*valid)(), const std::vector<EnvelopeCase>& cases) {
  for (const auto& c : cases) {
    INFO(c.what);
    v1::Envelope e = valid();
    c.breakIt(e);
    requireRejected(e, c.reason, c.message);
  }
}

void requireAccepted(const v1::Envelope& e) {
  Status v = codec::validate(e);
  INFO((v.ok() ? std::string("ok") : v.error().message));
  REQUIRE(v.ok());
  auto encoded = codec::encodeEnvelope(e);
  REQUIRE(encoded.ok());
  auto decoded = codec::decodeEnvelope(*encoded);
  REQUIRE(decoded.ok());
  CHECK(decoded->SerializeAsString() == *encoded);
}

}  // namespace

TEST_CASE("codec: every envelope body round-trips byte for byte", "[codec][envelope]") {
  struct Sample {
    const char* body;
    v1::Envelope (*make)();
  };
  const std::vector<Sample> samples = {
      {"status", validStatusEnvelope},
      {"avl", validAvlEnvelope},
      {"cfs", validCfsEnvelope},
      {"emergency", validEmergencyEnvelope},
      {"assignment_ack", validAssignmentAckEnvelope},
      {"message", validMessageEnvelope},
      {"presence", validPresenceEnvelope},
      {"resync", validResyncEnvelope},
      {"records_query", validRecordsQueryEnvelope},
      {"avl_batch", validAvlBatchEnvelope},
  };
  for (const auto& s : samples) {
    INFO(s.body);
    v1::Envelope original = s.make();
    auto bytes = codec::encodeEnvelope(original);
    REQUIRE(bytes.ok());
    CHECK(*bytes == original.SerializeAsString());
    auto decoded = codec::decodeEnvelope(*bytes);
    REQUIRE(decoded.ok());
    CHECK(std::string(codec::bodyName(*decoded)) == s.body);
    CHECK(decoded->SerializeAsString() == *bytes);
    auto again = codec::encodeEnvelope(*decoded);
    REQUIRE(again.ok());
    CHECK(*again == *bytes);
  }
}

TEST_CASE("codec: decoded envelope carries the sender's values", "[codec][envelope]") {
  auto decoded = codec::decodeEnvelope(validStatusEnvelope().SerializeAsString());
  REQUIRE(decoded.ok());
  const v1::Envelope& e = *decoded;
  CHECK(e.version() == 1);
  CHECK(e.event_id() == "019b78ad-9340-7000-8000-000000000101");
  CHECK(e.device_id() == "mdc-0042");
  CHECK(e.unit_id() == "E12");
  CHECK(e.agency() == "MFD");
  CHECK(e.seq() == 101);
  CHECK(e.recorded_at_ms() == 1'767'256'200'000);
  CHECK(e.clock_source() == v1::CLOCK_SOURCE_GPS);
  CHECK(e.status().status() == v1::UNIT_STATUS_EN_ROUTE);
  CHECK(e.status().incident_number() == "2026-000123");
  CHECK(e.status().position().lat() == 40.7128);
  CHECK(e.status().position().lon() == -74.006);
  CHECK(e.status().position().alt_m() == 10.5f);
  CHECK(e.status().position().satellites() == 9);
  CHECK(e.status().position().fix_time_ms() == 1'767'256'199'750);
}

TEST_CASE("codec: unknown measurements (NaN) and a 2D fix round-trip", "[codec][envelope]") {
  v1::Envelope e = validAvlEnvelope();
  *e.mutable_avl()->mutable_position() = position2dUnknowns();
  e.mutable_avl()->set_backfill(true);
  auto bytes = codec::encodeEnvelope(e);
  REQUIRE(bytes.ok());
  auto decoded = codec::decodeEnvelope(*bytes);
  REQUIRE(decoded.ok());
  const auto& p = decoded->avl().position();
  CHECK(std::isnan(p.alt_m()));
  CHECK(std::isnan(p.speed_mps()));
  CHECK(std::isnan(p.track_deg()));
  CHECK(std::isnan(p.eph_m()));
  CHECK(p.mode() == v1::FIX_MODE_2D);
  CHECK(p.fix_time_ms() == 0);
  CHECK(decoded->avl().backfill());
}

TEST_CASE("codec: bytes that are not an envelope are malformed", "[codec][envelope]") {
  SECTION("empty") {
    auto r = codec::decodeEnvelope("");
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "envelope: 0 bytes are not a valid mdc.v1.Envelope");
  }
  SECTION("an unterminated varint") {
    auto r = codec::decodeEnvelope(std::string("\x08\xff\xff\xff", 4));
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "envelope: 4 bytes are not a valid mdc.v1.Envelope");
  }
  SECTION("truncated by one byte, inside the body") {
    std::string bytes = validStatusEnvelope().SerializeAsString();
    bytes.pop_back();
    auto r = codec::decodeEnvelope(bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "envelope: " + std::to_string(bytes.size()) +
                                   " bytes are not a valid mdc.v1.Envelope");
  }
  SECTION("every truncation is rejected, never accepted as a shorter event") {
    const std::string bytes = validStatusEnvelope().SerializeAsString();
    for (size_t n = 0; n < bytes.size(); ++n) {
      INFO("first " << n << " of " << bytes.size() << " bytes");
      auto r = codec::decodeEnvelope(std::string_view(bytes).substr(0, n));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.rfind("envelope", 0) == 0);
    }
  }
  SECTION("2,000 random buffers of 1..300 bytes are all rejected") {
    std::mt19937 rng(20260101);
    int malformed = 0;
    for (int i = 0; i < 2000; ++i) {
      std::string buf(1 + rng() % 300, '\0');
      for (char& c : buf) c = char(rng() & 0xff);
      auto r = codec::decodeEnvelope(buf);
      REQUIRE_FALSE(r.ok());
      REQUIRE(r.error().message.rfind("envelope", 0) == 0);
      if (reasonOf(r.error()) == Reason::Malformed) ++malformed;
    }
    // Most random bytes do not even parse; the rest fail validation.
    CHECK(malformed > 1000);
  }
}

TEST_CASE("codec: envelope size cap is 16384 bytes", "[codec][envelope]") {
  v1::Envelope e = validMessageEnvelope();
  SECTION("exactly 16384 bytes (an unknown field from a newer sender) is accepted") {
    padTo(e, 16384);
    auto decoded = codec::decodeEnvelope(e.SerializeAsString());
    REQUIRE(decoded.ok());
    CHECK(decoded->message().text() == "On scene, requesting a second ambulance");
  }
  SECTION("16385 bytes are refused before parsing") {
    padTo(e, 16385);
    auto decoded = codec::decodeEnvelope(e.SerializeAsString());
    REQUIRE_FALSE(decoded.ok());
    CHECK(reasonOf(decoded.error()) == Reason::TooLarge);
    CHECK(decoded.error().message == "envelope: 16385 bytes, at most 16384 allowed");

    auto garbage = codec::decodeEnvelope(std::string(16385, '\xff'));
    REQUIRE_FALSE(garbage.ok());
    CHECK(reasonOf(garbage.error()) == Reason::TooLarge);
  }
  SECTION("the encoder refuses to produce more than 16384 bytes") {
    padTo(e, 16385);
    REQUIRE(codec::validate(e).ok());
    auto encoded = codec::encodeEnvelope(e);
    REQUIRE_FALSE(encoded.ok());
    CHECK(reasonOf(encoded.error()) == Reason::TooLarge);
    CHECK(encoded.error().message == "envelope: 16385 bytes, at most 16384 allowed");
  }
}

TEST_CASE("codec: envelope header rules", "[codec][envelope]") {
  requireAllRejected(
      validStatusEnvelope,
      {
          {"version 0", [](auto& e) { e.set_version(0); }, Reason::UnsupportedVersion,
           "envelope.version: 0 is not supported (this build speaks 1)"},
          {"version 2", [](auto& e) { e.set_version(2); }, Reason::UnsupportedVersion,
           "envelope.version: 2 is not supported (this build speaks 1)"},
          {"event id empty", [](auto& e) { e.set_event_id(""); }, Reason::BadFormat,
           "envelope.event_id: \"\" is not a UUIDv7"},
          {"event id not a UUID", [](auto& e) { e.set_event_id("event-17"); }, Reason::BadFormat,
           "envelope.event_id: \"event-17\" is not a UUIDv7"},
          {"event id UUIDv4", [](auto& e) { e.set_event_id("550e8400-e29b-41d4-a716-446655440000"); },
           Reason::BadFormat, "envelope.event_id: \"550e8400-e29b-41d4-a716-446655440000\" is not a UUIDv7"},
          {"event id with variant 11", [](auto& e) { e.set_event_id("019b78ad-9340-7000-c000-000000000101"); },
           Reason::BadFormat, "envelope.event_id: \"019b78ad-9340-7000-c000-000000000101\" is not a UUIDv7"},
          {"device id empty", [](auto& e) { e.set_device_id(""); }, Reason::BadFormat,
           "envelope.device_id: \"\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"device id 65 characters", [](auto& e) { e.set_device_id(std::string(65, 'd')); }, Reason::BadFormat,
           "envelope.device_id: \"" + std::string(40, 'd') + "...\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"device id with /", [](auto& e) { e.set_device_id("mdc/0042"); }, Reason::BadFormat,
           "envelope.device_id: \"mdc/0042\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"device id with +", [](auto& e) { e.set_device_id("mdc+"); }, Reason::BadFormat,
           "envelope.device_id: \"mdc+\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"device id with #", [](auto& e) { e.set_device_id("mdc#"); }, Reason::BadFormat,
           "envelope.device_id: \"mdc#\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"device id ..", [](auto& e) { e.set_device_id(".."); }, Reason::BadFormat,
           "envelope.device_id: \"..\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"device id with a newline (shown as ?)", [](auto& e) { e.set_device_id("mdc\n42"); }, Reason::BadFormat,
           "envelope.device_id: \"mdc?42\" must be 1..64 characters of A-Z a-z 0-9 . _ -"},
          {"unit id empty", [](auto& e) { e.set_unit_id(""); }, Reason::MissingField,
           "envelope.unit_id: required, is empty"},
          {"unit id 33 characters", [](auto& e) { e.set_unit_id(std::string(33, 'U')); }, Reason::TooLong,
           "envelope.unit_id: 33 characters, at most 32 allowed"},
          {"agency empty", [](auto& e) { e.set_agency(""); }, Reason::MissingField,
           "envelope.agency: required, is empty"},
          {"agency 33 characters", [](auto& e) { e.set_agency(std::string(33, 'A')); }, Reason::TooLong,
           "envelope.agency: 33 characters, at most 32 allowed"},
          {"seq 0 for an event", [](auto& e) { e.set_seq(0); }, Reason::BadFormat, "envelope.seq: 0 must be >= 1"},
          {"recorded_at 0", [](auto& e) { e.set_recorded_at_ms(0); }, Reason::OutOfRange,
           "envelope.recorded_at_ms: 0" + kTimeRange},
          {"recorded_at 1 ms before 2020", [](auto& e) { e.set_recorded_at_ms(codec::kMinTimeMs - 1); },
           Reason::OutOfRange, "envelope.recorded_at_ms: 1577836799999" + kTimeRange},
          {"recorded_at 2100-01-01", [](auto& e) { e.set_recorded_at_ms(codec::kMaxTimeMs); }, Reason::OutOfRange,
           "envelope.recorded_at_ms: 4102444800000" + kTimeRange},
          {"recorded_at negative", [](auto& e) { e.set_recorded_at_ms(-1'767'256'200'000); }, Reason::OutOfRange,
           "envelope.recorded_at_ms: -1767256200000" + kTimeRange},
          {"clock source unspecified", [](auto& e) { e.set_clock_source(v1::CLOCK_SOURCE_UNSPECIFIED); },
           Reason::MissingField, "envelope.clock_source: required, is unspecified (0)"},
          {"clock source 3 (unknown)", [](auto& e) { setEnumNumber(e, "clock_source", 3); }, Reason::OutOfRange,
           "envelope.clock_source: 3 is not a known value"},
          {"no body", [](auto& e) { e.clear_body(); }, Reason::MissingField,
           "envelope.body: required, none of status/avl/cfs/emergency/assignment_ack/message/presence/resync/"
           "records_query/avl_batch is set"},
      });
}

TEST_CASE("codec: envelope header limits are inclusive", "[codec][envelope]") {
  v1::Envelope e = validStatusEnvelope();
  SECTION("device id of 64 characters") { e.set_device_id(std::string(64, 'd')); }
  SECTION("device id with every allowed kind of character") { e.set_device_id("Mdc_0042.fleet-B"); }
  SECTION("upper-case event id") { e.set_event_id("019B78AD-9340-7ABC-BFFF-00000000010F"); }
  SECTION("unit id of 32 characters") { e.set_unit_id(std::string(32, 'U')); }
  SECTION("recorded at 2020-01-01T00:00:00.000Z") { e.set_recorded_at_ms(codec::kMinTimeMs); }
  SECTION("recorded at 2099-12-31T23:59:59.999Z") { e.set_recorded_at_ms(codec::kMaxTimeMs - 1); }
  SECTION("system clock") { e.set_clock_source(v1::CLOCK_SOURCE_SYSTEM); }
  requireAccepted(e);
}

TEST_CASE("codec: an unknown enum number sent on the wire is rejected", "[codec][envelope]") {
  // A newer sender's clock source 9, written as a raw varint after the real one.
  std::string bytes = withVarint(validStatusEnvelope().SerializeAsString(), 8, 9);
  auto r = codec::decodeEnvelope(bytes);
  REQUIRE_FALSE(r.ok());
  CHECK(reasonOf(r.error()) == Reason::OutOfRange);
  CHECK(r.error().message == "envelope.clock_source: 9 is not a known value");

  // A negative number is encoded as a 10-byte varint.
  r = codec::decodeEnvelope(withVarint(validStatusEnvelope().SerializeAsString(), 8, uint64_t(-5)));
  REQUIRE_FALSE(r.ok());
  CHECK(reasonOf(r.error()) == Reason::OutOfRange);
  CHECK(r.error().message == "envelope.clock_source: -5 is not a known value");
}

TEST_CASE("codec: sequence rules depend on the body", "[codec][envelope]") {
  SECTION("presence and resync are unsequenced") {
    requireAllRejected(validPresenceEnvelope, {
        {"presence seq 5", [](auto& e) { e.set_seq(5); }, Reason::BadFormat, "envelope.seq: 5 must be 0 for presence"},
    });
    requireAllRejected(validResyncEnvelope, {
        {"resync seq 1", [](auto& e) { e.set_seq(1); }, Reason::BadFormat, "envelope.seq: 1 must be 0 for resync"},
    });
  }
  SECTION("every other body needs seq >= 1") {
    for (auto make : {validStatusEnvelope, validAvlEnvelope, validCfsEnvelope, validEmergencyEnvelope,
                      validAssignmentAckEnvelope, validMessageEnvelope}) {
      v1::Envelope e = make();
      INFO(codec::bodyName(e));
      e.set_seq(0);
      requireRejected(e, Reason::BadFormat, "envelope.seq: 0 must be >= 1");
      e.set_seq(std::numeric_limits<uint64_t>::max());
      requireAccepted(e);
    }
  }
}

TEST_CASE("codec: every position check, on an AVL report", "[codec][position]") {
  const std::string at = "envelope.avl.position.";
  auto pos = [](v1::Envelope& e) { return e.mutable_avl()->mutable_position(); };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  requireAllRejected(validAvlEnvelope, {
      {"lat 91.5", [&](auto& e) { pos(e)->set_lat(91.5); }, Reason::OutOfRange, at + "lat: 91.5 out of range -90..90"},
      {"lat -90.5", [&](auto& e) { pos(e)->set_lat(-90.5); }, Reason::OutOfRange,
       at + "lat: -90.5 out of range -90..90"},
      {"lat NaN", [&](auto& e) { pos(e)->set_lat(nan); }, Reason::OutOfRange, at + "lat: NaN, a number is required"},
      {"lat infinite", [&](auto& e) { pos(e)->set_lat(inf); }, Reason::OutOfRange,
       at + "lat: inf out of range -90..90"},
      {"lon 180.5", [&](auto& e) { pos(e)->set_lon(180.5); }, Reason::OutOfRange,
       at + "lon: 180.5 out of range -180..180"},
      {"lon -180.25", [&](auto& e) { pos(e)->set_lon(-180.25); }, Reason::OutOfRange,
       at + "lon: -180.25 out of range -180..180"},
      {"lon NaN", [&](auto& e) { pos(e)->set_lon(nan); }, Reason::OutOfRange, at + "lon: NaN, a number is required"},
      {"alt -1000.5", [&](auto& e) { pos(e)->set_alt_m(-1000.5f); }, Reason::OutOfRange,
       at + "alt_m: -1000.5 out of range -1000..20000"},
      {"alt 20000.5", [&](auto& e) { pos(e)->set_alt_m(20000.5f); }, Reason::OutOfRange,
       at + "alt_m: 20000.5 out of range -1000..20000"},
      {"speed -0.5", [&](auto& e) { pos(e)->set_speed_mps(-0.5f); }, Reason::OutOfRange,
       at + "speed_mps: -0.5 out of range 0..150"},
      {"speed 150.5", [&](auto& e) { pos(e)->set_speed_mps(150.5f); }, Reason::OutOfRange,
       at + "speed_mps: 150.5 out of range 0..150"},
      {"track 360", [&](auto& e) { pos(e)->set_track_deg(360.0f); }, Reason::OutOfRange,
       at + "track_deg: 360 out of range 0..<360"},
      {"track -0.5", [&](auto& e) { pos(e)->set_track_deg(-0.5f); }, Reason::OutOfRange,
       at + "track_deg: -0.5 out of range 0..<360"},
      {"eph -1", [&](auto& e) { pos(e)->set_eph_m(-1.0f); }, Reason::OutOfRange,
       at + "eph_m: -1 out of range 0..100000"},
      {"eph 100000.5", [&](auto& e) { pos(e)->set_eph_m(100000.5f); }, Reason::OutOfRange,
       at + "eph_m: 100000.5 out of range 0..100000"},
      {"mode unspecified", [&](auto& e) { pos(e)->set_mode(v1::FIX_MODE_UNSPECIFIED); }, Reason::MissingField,
       at + "mode: required, is unspecified (0)"},
      {"mode NO_FIX", [&](auto& e) { pos(e)->set_mode(v1::FIX_MODE_NO_FIX); }, Reason::OutOfRange,
       at + "mode: NO_FIX is not a position"},
      {"mode 4 (unknown)", [&](auto& e) { setEnumNumber(*pos(e), "mode", 4); }, Reason::OutOfRange,
       at + "mode: 4 is not a known value"},
      {"satellites 129", [&](auto& e) { pos(e)->set_satellites(129); }, Reason::OutOfRange,
       at + "satellites: 129 out of range 0..128"},
      {"fix time 1 ms after 1970", [&](auto& e) { pos(e)->set_fix_time_ms(1); }, Reason::OutOfRange,
       at + "fix_time_ms: 1" + kTimeRange},
      {"fix time in 2100", [&](auto& e) { pos(e)->set_fix_time_ms(codec::kMaxTimeMs); }, Reason::OutOfRange,
       at + "fix_time_ms: 4102444800000" + kTimeRange},
  });
}

TEST_CASE("codec: position limits are inclusive and unknowns may be NaN", "[codec][position]") {
  v1::Envelope e = validAvlEnvelope();
  auto* p = e.mutable_avl()->mutable_position();
  SECTION("north pole, date line") { p->set_lat(90); p->set_lon(180); }
  SECTION("south pole, date line west") { p->set_lat(-90); p->set_lon(-180); }
  SECTION("altitude -1000 and 20000") {
    p->set_alt_m(-1000);
    requireAccepted(e);
    p->set_alt_m(20000);
  }
  SECTION("standing still, 150 m/s") {
    p->set_speed_mps(0);
    requireAccepted(e);
    p->set_speed_mps(150);
  }
  SECTION("track 0 and 359.5") {
    p->set_track_deg(0);
    requireAccepted(e);
    p->set_track_deg(359.5f);
  }
  SECTION("eph 0 and 100000") {
    p->set_eph_m(0);
    requireAccepted(e);
    p->set_eph_m(100000);
  }
  SECTION("0 and 128 satellites") {
    p->set_satellites(0);
    requireAccepted(e);
    p->set_satellites(128);
  }
  SECTION("fix time unknown (0)") { p->set_fix_time_ms(0); }
  SECTION("every optional measurement unknown") { *p = position2dUnknowns(); }
  requireAccepted(e);
}

TEST_CASE("codec: the position path names the body it sits in", "[codec][position]") {
  SECTION("status") {
    v1::Envelope e = validStatusEnvelope();
    e.mutable_status()->mutable_position()->set_lat(91.5);
    requireRejected(e, Reason::OutOfRange, "envelope.status.position.lat: 91.5 out of range -90..90");
  }
  SECTION("cfs location") {
    v1::Envelope e = validCfsEnvelope();
    e.mutable_cfs()->mutable_location()->set_lon(-200);
    requireRejected(e, Reason::OutOfRange, "envelope.cfs.location.lon: -200 out of range -180..180");
  }
  SECTION("emergency") {
    v1::Envelope e = validEmergencyEnvelope();
    e.mutable_emergency()->mutable_position()->set_mode(v1::FIX_MODE_NO_FIX);
    requireRejected(e, Reason::OutOfRange, "envelope.emergency.position.mode: NO_FIX is not a position");
  }
  SECTION("presence last fix") {
    v1::Envelope e = validPresenceEnvelope();
    e.mutable_presence()->mutable_last_fix()->set_satellites(200);
    requireRejected(e, Reason::OutOfRange, "envelope.presence.last_fix.satellites: 200 out of range 0..128");
  }
}

TEST_CASE("codec: optional positions may be absent", "[codec][position]") {
  v1::Envelope status = validStatusEnvelope();
  status.mutable_status()->clear_position();
  requireAccepted(status);
  v1::Envelope emergency = validEmergencyEnvelope();
  emergency.mutable_emergency()->clear_position();
  requireAccepted(emergency);
  v1::Envelope presence = validPresenceEnvelope();
  presence.mutable_presence()->clear_last_fix();
  requireAccepted(presence);
}

TEST_CASE("codec: status body rules", "[codec][envelope]") {
  requireAllRejected(validStatusEnvelope, {
      {"status unspecified", [](auto& e) { e.mutable_status()->set_status(v1::UNIT_STATUS_UNSPECIFIED); },
       Reason::MissingField, "envelope.status.status: required, is unspecified (0)"},
      {"status 11 (unknown)", [](auto& e) { setEnumNumber(*e.mutable_status(), "status", 11); }, Reason::OutOfRange,
       "envelope.status.status: 11 is not a known value"},
      {"incident number 33 characters",
       [](auto& e) { e.mutable_status()->set_incident_number(std::string(33, '1')); }, Reason::TooLong,
       "envelope.status.incident_number: 33 characters, at most 32 allowed"},
  });
  v1::Envelope noIncident = validStatusEnvelope();
  noIncident.mutable_status()->clear_incident_number();
  requireAccepted(noIncident);
}

TEST_CASE("codec: avl body rules", "[codec][envelope]") {
  requireAllRejected(validAvlEnvelope, {
      {"no position", [](auto& e) { e.mutable_avl()->clear_position(); }, Reason::MissingField,
       "envelope.avl.position: required, is absent"},
      {"trigger unspecified", [](auto& e) { e.mutable_avl()->set_trigger(v1::AVL_TRIGGER_UNSPECIFIED); },
       Reason::MissingField, "envelope.avl.trigger: required, is unspecified (0)"},
      {"trigger 7 (unknown)", [](auto& e) { setEnumNumber(*e.mutable_avl(), "trigger", 7); }, Reason::OutOfRange,
       "envelope.avl.trigger: 7 is not a known value"},
  });
}

TEST_CASE("codec: self-initiated cfs body rules", "[codec][envelope]") {
  requireAllRejected(validCfsEnvelope, {
      {"cfs type empty", [](auto& e) { e.mutable_cfs()->clear_cfs_type(); }, Reason::MissingField,
       "envelope.cfs.cfs_type: required, is empty"},
      {"cfs type 33 characters", [](auto& e) { e.mutable_cfs()->set_cfs_type(std::string(33, 'T')); },
       Reason::TooLong, "envelope.cfs.cfs_type: 33 characters, at most 32 allowed"},
      {"no location", [](auto& e) { e.mutable_cfs()->clear_location(); }, Reason::MissingField,
       "envelope.cfs.location: required, is absent"},
      {"address 201 characters", [](auto& e) { e.mutable_cfs()->set_address(std::string(201, 'a')); },
       Reason::TooLong, "envelope.cfs.address: 201 characters, at most 200 allowed"},
      {"note 1001 characters", [](auto& e) { e.mutable_cfs()->set_note(std::string(1001, 'n')); },
       Reason::TooLong, "envelope.cfs.note: 1001 characters, at most 1000 allowed"},
  });
  v1::Envelope longest = validCfsEnvelope();
  longest.mutable_cfs()->set_address(repeat("é", 200));
  longest.mutable_cfs()->set_note(repeat("€", 1000));
  requireAccepted(longest);
}

TEST_CASE("codec: emergency body rules", "[codec][envelope]") {
  requireAllRejected(validEmergencyEnvelope, {
      {"source unspecified",
       [](auto& e) { e.mutable_emergency()->set_source(v1::EMERGENCY_SOURCE_UNSPECIFIED); },
       Reason::MissingField, "envelope.emergency.source: required, is unspecified (0)"},
      {"source 4 (unknown)", [](auto& e) { setEnumNumber(*e.mutable_emergency(), "source", 4); },
       Reason::OutOfRange, "envelope.emergency.source: 4 is not a known value"},
  });
  v1::Envelope cleared = validEmergencyEnvelope();
  cleared.mutable_emergency()->set_active(false);
  requireAccepted(cleared);
}

TEST_CASE("codec: assignment ack body rules", "[codec][envelope]") {
  requireAllRejected(validAssignmentAckEnvelope, {
      {"incident number empty", [](auto& e) { e.mutable_assignment_ack()->clear_incident_number(); },
       Reason::MissingField, "envelope.assignment_ack.incident_number: required, is empty"},
      {"incident number 33 characters",
       [](auto& e) { e.mutable_assignment_ack()->set_incident_number(std::string(33, '9')); }, Reason::TooLong,
       "envelope.assignment_ack.incident_number: 33 characters, at most 32 allowed"},
      {"downlink seq 0", [](auto& e) { e.mutable_assignment_ack()->set_downlink_seq(0); }, Reason::OutOfRange,
       "envelope.assignment_ack.downlink_seq: 0 must be >= 1"},
  });
}

TEST_CASE("codec: message body rules", "[codec][envelope]") {
  requireAllRejected(validMessageEnvelope, {
      {"text empty", [](auto& e) { e.mutable_message()->clear_text(); }, Reason::MissingField,
       "envelope.message.text: required, is empty"},
      {"text 2001 characters", [](auto& e) { e.mutable_message()->set_text(std::string(2001, 'm')); },
       Reason::TooLong, "envelope.message.text: 2001 characters, at most 2000 allowed"},
      {"text 2001 three-byte characters", [](auto& e) { e.mutable_message()->set_text(repeat("€", 2001)); },
       Reason::TooLong, "envelope.message.text: 2001 characters, at most 2000 allowed"},
  });
  v1::Envelope longest = validMessageEnvelope();
  longest.mutable_message()->set_text(repeat("🚑", 2000));  // 8000 bytes: still under the 16 KiB cap
  requireAccepted(longest);
}

TEST_CASE("codec: presence body rules", "[codec][envelope]") {
  auto addLanes = [](v1::Envelope& e, int n) {
    for (int i = 0; i < n; ++i) e.mutable_presence()->add_queue()->set_lane(v1::LANE_MESSAGE);
  };
  requireAllRejected(validPresenceEnvelope, {
      {"agent version 33 characters",
       [](auto& e) { e.mutable_presence()->set_agent_version(std::string(33, '1')); }, Reason::TooLong,
       "envelope.presence.agent_version: 33 characters, at most 32 allowed"},
      {"9 queue entries", [&](auto& e) { addLanes(e, 7); }, Reason::TooLong,
       "envelope.presence.queue: 9 entries, at most 8 allowed"},
      {"queue lane unspecified",
       [](auto& e) { e.mutable_presence()->mutable_queue(0)->set_lane(v1::LANE_UNSPECIFIED); },
       Reason::MissingField, "envelope.presence.queue[0].lane: required, is unspecified (0)"},
      {"queue lane 5 (unknown)", [](auto& e) { setEnumNumber(*e.mutable_presence()->mutable_queue(1), "lane", 5); },
       Reason::OutOfRange, "envelope.presence.queue[1].lane: 5 is not a known value"},
      {"queue oldest_at 5 ms after 1970",
       [](auto& e) { e.mutable_presence()->mutable_queue(1)->set_oldest_at_ms(5); }, Reason::OutOfRange,
       "envelope.presence.queue[1].oldest_at_ms: 5" + kTimeRange},
  });
  SECTION("8 queue entries, an empty lane (oldest_at 0), offline last will") {
    v1::Envelope e = validPresenceEnvelope();
    addLanes(e, 6);
    e.mutable_presence()->mutable_queue(7)->set_oldest_at_ms(0);
    e.mutable_presence()->set_online(false);
    e.mutable_presence()->clear_agent_version();
    requireAccepted(e);
  }
}

TEST_CASE("codec: text limits count code points, not bytes", "[codec][utf8]") {
  CHECK(codec::utf8Length("") == 0);
  CHECK(codec::utf8Length("E12") == 3);
  CHECK(codec::utf8Length("é") == 1);
  CHECK(codec::utf8Length("€") == 1);
  CHECK(codec::utf8Length("🚑") == 1);
  CHECK(codec::utf8Length("Genève 🚑 €5") == 11);

  struct Glyph {
    const char* what;
    std::string glyph;
  };
  for (const auto& g : {Glyph{"2-byte é", "é"}, Glyph{"3-byte €", "€"}, Glyph{"4-byte 🚑", "🚑"}}) {
    INFO(g.what);
    v1::Envelope e = validStatusEnvelope();
    e.set_unit_id(repeat(g.glyph, 32));
    REQUIRE(e.unit_id().size() == 32 * g.glyph.size());
    requireAccepted(e);
    e.set_unit_id(repeat(g.glyph, 33));
    requireRejected(e, Reason::TooLong, "envelope.unit_id: 33 characters, at most 32 allowed");
  }
}

TEST_CASE("codec: invalid UTF-8 in a string field", "[codec][utf8]") {
  google::protobuf::LogSilencer quiet;  // protobuf logs each invalid string it meets
  struct Field {
    const char* path;
    std::function<void(v1::Envelope&, const std::string&)> set;
    v1::Envelope (*valid)();
  };
  const std::vector<Field> fields = {
      {"envelope.unit_id", [](auto& e, auto& v) { e.set_unit_id(v); }, validStatusEnvelope},
      {"envelope.agency", [](auto& e, auto& v) { e.set_agency(v); }, validStatusEnvelope},
      {"envelope.status.incident_number", [](auto& e, auto& v) { e.mutable_status()->set_incident_number(v); },
       validStatusEnvelope},
      {"envelope.cfs.note", [](auto& e, auto& v) { e.mutable_cfs()->set_note(v); }, validCfsEnvelope},
      {"envelope.message.text", [](auto& e, auto& v) { e.mutable_message()->set_text(v); }, validMessageEnvelope},
      {"envelope.presence.agent_version", [](auto& e, auto& v) { e.mutable_presence()->set_agent_version(v); },
       validPresenceEnvelope},
  };
  for (const auto& f : fields) {
    INFO(f.path);
    v1::Envelope e = f.valid();
    f.set(e, "E1\xff");  // 0xff never occurs in UTF-8

    // The receiver: protobuf refuses it at parse.
    std::string bytes = e.SerializeAsString();
    auto r = codec::decodeEnvelope(bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
    CHECK(r.error().message == "envelope: " + std::to_string(bytes.size()) + " bytes are not a valid mdc.v1.Envelope");

    // The sender: validation refuses to encode what the receiver cannot parse.
    Status v = codec::validate(e);
    REQUIRE_FALSE(v.ok());
    CHECK(reasonOf(v.error()) == Reason::BadFormat);
    CHECK(v.error().message == std::string(f.path) + ": not valid UTF-8 (byte 0xff at offset 2)");
    auto encoded = codec::encodeEnvelope(e);
    REQUIRE_FALSE(encoded.ok());
    CHECK(encoded.error().message == v.error().message);
  }
}

TEST_CASE("codec: UTF-8 that protobuf would refuse is refused before encoding", "[codec][utf8]") {
  struct Bad {
    const char* what;
    std::string text;
    std::string message;
  };
  const std::vector<Bad> cases = {
      {"lone continuation byte", "ab\x80", "envelope.message.text: not valid UTF-8 (byte 0x80 at offset 2)"},
      {"lead byte at the end", "ab\xc3", "envelope.message.text: not valid UTF-8 (byte 0xc3 at offset 2)"},
      {"overlong '/' (C0 AF)", "\xc0\xaf", "envelope.message.text: not valid UTF-8 (byte 0xc0 at offset 0)"},
      {"UTF-16 surrogate (ED A0 80)", "x\xed\xa0\x80",
       "envelope.message.text: not valid UTF-8 (byte 0xed at offset 1)"},
      {"above U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80",
       "envelope.message.text: not valid UTF-8 (byte 0xf4 at offset 0)"},
  };
  google::protobuf::LogSilencer quiet;
  for (const auto& c : cases) {
    INFO(c.what);
    v1::Envelope e = validMessageEnvelope();
    e.mutable_message()->set_text(c.text);
    Status v = codec::validate(e);
    REQUIRE_FALSE(v.ok());
    CHECK(reasonOf(v.error()) == Reason::BadFormat);
    CHECK(v.error().message == c.message);
    // And the receiver's protobuf agrees that these bytes are not text.
    auto r = codec::decodeEnvelope(e.SerializeAsString());
    REQUIRE_FALSE(r.ok());
    CHECK(reasonOf(r.error()) == Reason::Malformed);
  }
}

TEST_CASE("codec: a rejection's text is valid UTF-8 and fits in a Rejection", "[codec][utf8]") {
  // The backend sends the codec's message back in Rejection.detail; a message
  // cut inside a multi-byte character would make the whole Downlink unparseable
  // and the device would never learn why its event was refused.
  v1::Envelope e = validStatusEnvelope();
  e.set_event_id(repeat("€", 41));  // 3-byte characters: 40 bytes would end inside one
  auto r = codec::decodeEnvelope(e.SerializeAsString());
  REQUIRE_FALSE(r.ok());
  CHECK(reasonOf(r.error()) == Reason::BadFormat);
  CHECK(r.error().message == "envelope.event_id: \"" + repeat("€", 40) + "...\" is not a UUIDv7");

  v1::Downlink d = validRejectionDownlink();
  d.mutable_rejection()->set_detail(r.error().message);
  auto sent = codec::encodeDownlink(d);
  REQUIRE(sent.ok());
  auto received = codec::decodeDownlink(*sent);
  REQUIRE(received.ok());
  CHECK(received->rejection().detail() == r.error().message);
}

TEST_CASE("codec: reason names and body names are stable", "[codec]") {
  CHECK(std::string(codec::reasonName(Reason::Malformed)) == "malformed");
  CHECK(std::string(codec::reasonName(Reason::TooLarge)) == "too_large");
  CHECK(std::string(codec::reasonName(Reason::UnsupportedVersion)) == "unsupported_version");
  CHECK(std::string(codec::reasonName(Reason::MissingField)) == "missing_field");
  CHECK(std::string(codec::reasonName(Reason::OutOfRange)) == "out_of_range");
  CHECK(std::string(codec::reasonName(Reason::TooLong)) == "too_long");
  CHECK(std::string(codec::reasonName(Reason::BadFormat)) == "bad_format");
  CHECK(std::string(codec::reasonName(Reason(99))) == "unknown");
  CHECK(int(Reason::Malformed) == 1);
  CHECK(int(Reason::BadFormat) == 7);

  CHECK(std::string(codec::bodyName(v1::Envelope{})) == "none");
  CHECK(std::string(codec::bodyName(v1::Downlink{})) == "none");
}

TEST_CASE("codec: records query rules (interactive: seq 0, one subject, one reason)", "[codec][envelope][records]") {
  auto q = [](v1::Envelope& e) { return e.mutable_records_query(); };
  requireAllRejected(validRecordsQueryEnvelope, {
      {"seq 1", [](auto& e) { e.set_seq(1); }, Reason::BadFormat, "envelope.seq: 1 must be 0 for records_query"},
      {"no subject", [&](auto& e) { q(e)->clear_plate(); }, Reason::MissingField,
       "envelope.records_query.subject: required, neither plate nor person is set"},
      {"plate empty", [&](auto& e) { q(e)->mutable_plate()->clear_plate(); }, Reason::MissingField,
       "envelope.records_query.plate.plate: required, is empty"},
      {"plate lower case", [&](auto& e) { q(e)->mutable_plate()->set_plate("abc123"); }, Reason::BadFormat,
       "envelope.records_query.plate.plate: \"abc123\" must be 1-10 characters of A-Z 0-9"},
      {"plate 11", [&](auto& e) { q(e)->mutable_plate()->set_plate("ABCDEFGHIJK"); }, Reason::BadFormat,
       "envelope.records_query.plate.plate: \"ABCDEFGHIJK\" must be 1-10 characters of A-Z 0-9"},
      {"state missing", [&](auto& e) { q(e)->mutable_plate()->clear_state(); }, Reason::MissingField,
       "envelope.records_query.plate.state: \"\" must be a 2-letter state code, e.g. NY"},
      {"state 3", [&](auto& e) { q(e)->mutable_plate()->set_state("NYC"); }, Reason::BadFormat,
       "envelope.records_query.plate.state: \"NYC\" must be a 2-letter state code, e.g. NY"},
      {"name without comma", [&](auto& e) { q(e)->mutable_person()->set_name("JOHN DOE"); q(e)->mutable_person()->set_dob("1980-04-12"); },
       Reason::BadFormat, "envelope.records_query.person.name: \"JOHN DOE\" must be LAST, FIRST [MIDDLE] in upper case"},
      {"name lower case", [&](auto& e) { q(e)->mutable_person()->set_name("Doe, John"); q(e)->mutable_person()->set_dob("1980-04-12"); },
       Reason::BadFormat, "envelope.records_query.person.name: \"Doe, John\" must be LAST, FIRST [MIDDLE] in upper case"},
      {"name short", [&](auto& e) { q(e)->mutable_person()->set_name("D,"); q(e)->mutable_person()->set_dob("1980-04-12"); },
       Reason::TooLong, "envelope.records_query.person.name: \"D,\" shorter than 3"},
      {"dob 30 February", [&](auto& e) { q(e)->mutable_person()->set_name("DOE, JOHN"); q(e)->mutable_person()->set_dob("1980-02-30"); },
       Reason::BadFormat, "envelope.records_query.person.dob: \"1980-02-30\" must be a date of birth YYYY-MM-DD (1900-2099)"},
      {"dob 1899", [&](auto& e) { q(e)->mutable_person()->set_name("DOE, JOHN"); q(e)->mutable_person()->set_dob("1899-12-31"); },
       Reason::BadFormat, "envelope.records_query.person.dob: \"1899-12-31\" must be a date of birth YYYY-MM-DD (1900-2099)"},
      {"dob US order", [&](auto& e) { q(e)->mutable_person()->set_name("DOE, JOHN"); q(e)->mutable_person()->set_dob("04/12/1980"); },
       Reason::BadFormat, "envelope.records_query.person.dob: \"04/12/1980\" must be a date of birth YYYY-MM-DD (1900-2099)"},
      {"no reason", [&](auto& e) { q(e)->clear_incident_number(); }, Reason::MissingField,
       "envelope.records_query.reason_code: give exactly one reason: the CFS the query belongs to (incident_number) or "
       "a reason code (TRAFFIC_STOP, SUSPICIOUS_VEHICLE, SUSPICIOUS_PERSON, INVESTIGATION, WARRANT_SERVICE, "
       "FIELD_INTERVIEW)"},
      {"two reasons", [&](auto& e) { q(e)->set_reason_code("TRAFFIC_STOP"); }, Reason::MissingField,
       "envelope.records_query.reason_code: give exactly one reason: the CFS the query belongs to (incident_number) or "
       "a reason code (TRAFFIC_STOP, SUSPICIOUS_VEHICLE, SUSPICIOUS_PERSON, INVESTIGATION, WARRANT_SERVICE, "
       "FIELD_INTERVIEW)"},
      {"unknown reason", [&](auto& e) { q(e)->clear_incident_number(); q(e)->set_reason_code("CURIOSITY"); },
       Reason::OutOfRange,
       "envelope.records_query.reason_code: \"CURIOSITY\" is not a reason code (TRAFFIC_STOP, SUSPICIOUS_VEHICLE, "
       "SUSPICIOUS_PERSON, INVESTIGATION, WARRANT_SERVICE, FIELD_INTERVIEW)"},
  });
  v1::Envelope leap = validRecordsQueryEnvelope();
  leap.mutable_records_query()->mutable_person()->set_name("ROE, JANE Q");
  leap.mutable_records_query()->mutable_person()->set_dob("2000-02-29");
  requireAccepted(leap);
}

TEST_CASE("codec: what a responder types becomes what a query carries", "[codec][records]") {
  CHECK(codec::normalizePlate(" abc-123 ") == "ABC123");
  CHECK(codec::normalizePlate("ny") == "NY");
  CHECK(codec::normalizeName("  doe ,john   q ") == "DOE, JOHN Q");
  CHECK(codec::normalizeName("o'brien, pat") == "O'BRIEN, PAT");
  CHECK(codec::recordsSubjectText(validRecordsQueryEnvelope().records_query()) == "plate ABC123 (NY)");
  CHECK(codec::isRecordsReason("TRAFFIC_STOP"));
  CHECK_FALSE(codec::isRecordsReason("traffic_stop"));
  CHECK(codec::truncateUtf8("MÜLLER", 2) == "MÜ");
  CHECK(codec::truncateUtf8("MÜLLER", 6) == "MÜLLER");
  CHECK(codec::truncateUtf8("MÜLLER", 60) == "MÜLLER");
  CHECK(codec::isValidUtf8("JOSÉ"));
  CHECK(codec::recordsFlagFromName("stolen") == v1::RECORDS_FLAG_STOLEN);
  CHECK(codec::recordsFlagFromName("WANTED") == v1::RECORDS_FLAG_WANTED);
  CHECK(codec::recordsFlagFromName("Caution") == v1::RECORDS_FLAG_CAUTION);
  CHECK(codec::recordsFlagFromName("lost") == v1::RECORDS_FLAG_UNSPECIFIED);
  CHECK(codec::recordsFlagFromName("stolenx") == v1::RECORDS_FLAG_UNSPECIFIED);
  google::protobuf::RepeatedPtrField<v1::RecordsFlag> flags;
  for (auto k : {v1::RECORDS_FLAG_CAUTION, v1::RECORDS_FLAG_STOLEN, v1::RECORDS_FLAG_CAUTION}) flags.Add()->set_kind(k);
  CHECK(codec::recordsFlagsText(flags) == "STOLEN, CAUTION");  // each once, most serious first
  CHECK(codec::recordsFlagsText({}) == "");
  CHECK_FALSE(codec::isValidUtf8("JOS\xc9"));
}
