// The events dispatcher commands write, pinned byte for byte: the log is
// hash-chained, so a payload that changed its text (a field renamed, moved or
// added) would make a new store differ from a replay of an old log.
#include <catch2/catch.hpp>

#include <QJsonDocument>

#include <vector>

#include "server-stub/service/control_frames.h"
#include "server-stub/store/event_store.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/eido_samples.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = kShiftStartMs;
constexpr int64_t kDay = 86'400'000;
const Device kE12{"MDC-E12", "E12", "FD1", 1};

/** A request for FD1 by ops.lee; fill sets its command. */
template <class Fill>
control::ControlRequest command(Fill fill) {
  control::ControlRequest r;
  r.set_agency("FD1");
  r.set_actor("ops.lee");
  fill(r);
  return r;
}

/** The kind and payload of the last event in the log. */
std::pair<std::string, std::string> lastEvent(EventStore& s) {
  std::pair<std::string, std::string> last;
  s.log().listLog(0, "", 1'000'000, [&](const LogEntry& e) { last = {e.kind, e.payload}; });
  return last;
}

struct Pinned {
  const char* kind;      ///< the event's kind
  std::string payload;   ///< its payload, exactly
};

using Request = control::ControlRequest;

}  // namespace

TEST_CASE("each dispatcher command writes its event with the kind and payload text of every store before") {
  TempDir dir;
  auto opened = EventStore::open(mdc::test::storeTarget(dir, "cad.db"));
  REQUIRE(opened);
  EventStore& s = **opened;
  std::string incident, schedule;
  auto expect = [&](const Request& c, int64_t at, const Pinned& pinned) {
    auto r = s.execute(c, at);
    INFO(commandKind(c) << ": " << (r ? r->summary : r.error().message));
    REQUIRE(r);
    if (c.has_create_cfs()) incident = r->summary.substr(8);
    if (c.has_schedule_create()) schedule = r->summary.substr(9, r->summary.find(':') - 9);
    auto [kind, payload] = lastEvent(s);
    CHECK(kind == pinned.kind);
    CHECK(payload == pinned.payload);
  };
  auto deviceAdd = [](const char* device, const char* unit) {
    return command([&](Request& r) {
      r.mutable_device_add()->set_device(device);
      r.mutable_device_add()->set_unit(unit);
    });
  };
  expect(deviceAdd("MDC-E12", "E12"), T0, {"registry.device_add", R"({"device":"MDC-E12","unit":"E12"})"});
  expect(deviceAdd("MDC-E14", "E14"), T0, {"registry.device_add", R"({"device":"MDC-E14","unit":"E14"})"});
  expect(command([](Request& r) {
           r.mutable_device_move()->set_device("MDC-E14");
           r.mutable_device_move()->set_unit("E15");
         }),
         T0, {"registry.device_move", R"({"device":"MDC-E14","unit":"E15"})"});
  expect(command([](Request& r) { r.mutable_device_remove()->set_device("MDC-E14"); }), T0,
         {"registry.device_remove", R"({"device":"MDC-E14","unit":"E15"})"});
  expect(command([](Request& r) {
           r.mutable_enroll_token()->set_device("MDC-E12");
           r.mutable_enroll_token()->set_token_sha256(std::string(64, 'a'));
           r.mutable_enroll_token()->set_ttl_s(7200);
         }),
         T0, {"registry.enroll_token", R"pin({"device":"MDC-E12","expires_at_ms":1767263400000,"token_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","unit":"E12"})pin"});
  expect(command([](Request& r) {
           r.mutable_agency_config()->add_statuses("available");
           r.mutable_agency_config()->add_statuses("en-route");
           r.mutable_agency_config()->set_avl_moving_s(5);
           r.mutable_agency_config()->set_avl_stationary_s(60);
         }),
         T0, {"registry.agency_config", R"({"avl_moving_s":5,"avl_stationary_s":60,"statuses":["AVAILABLE","EN_ROUTE"]})"});
  expect(command([](Request& r) {
           r.mutable_cfs_type_add()->set_type("HCHK");
           r.mutable_cfs_type_add()->set_label("House check");
           r.mutable_cfs_type_add()->set_apco("FALL");
         }),
         T0, {"registry.cfs_type_add", R"({"apco":"FALL","code":"HCHK","label":"House check"})"});
  expect(command([](Request& r) { r.mutable_cfs_type_remove()->set_type("HCHK"); }), T0,
         {"registry.cfs_type_remove", R"({"code":"HCHK"})"});
  auto zoneSet = [](const char* zone) {
    return command([&](Request& r) {
      r.mutable_zone_set()->set_zone(zone);
      r.mutable_zone_set()->set_district("North");
    });
  };
  expect(zoneSet("Z1"), T0, {"registry.zone_set", R"({"district":"North","zone":"Z1"})"});
  expect(zoneSet("Z2"), T0, {"registry.zone_set", R"({"district":"North","zone":"Z2"})"});
  expect(command([](Request& r) {
           r.mutable_unit_zone()->set_unit("E12");
           r.mutable_unit_zone()->set_zone("Z1");
         }),
         T0, {"registry.unit_zone", R"({"unit":"E12","zone":"Z1"})"});
  expect(command([](Request& r) {
           r.mutable_supervisor()->set_unit("E12");
           r.mutable_supervisor()->set_district("North");
         }),
         T0, {"registry.supervisor", R"({"kind":"district","scope":"North","unit":"E12"})"});
  expect(command([](Request& r) {
           r.mutable_supervisor()->set_unit("E12");
           r.mutable_supervisor()->add_zones("Z1");
           r.mutable_supervisor()->add_zones("Z2");
         }),
         T0, {"registry.supervisor", R"({"kind":"zones","scope":"Z1,Z2","unit":"E12"})"});
  expect(command([](Request& r) { r.mutable_supervisor()->set_unit("E12"); }), T0,
         {"registry.supervisor", R"({"kind":"","scope":"","unit":"E12"})"});
  expect(command([](Request& r) { r.mutable_zone_remove()->set_zone("Z2"); }), T0,
         {"registry.zone_remove", R"({"zone":"Z2"})"});
  expect(command([](Request& r) {
           control::CreateCfs& c = *r.mutable_create_cfs();
           c.set_type("FSTRU");
           c.set_priority(2);
           c.set_address("12 Main St");
           c.set_notes("smoke \"seen\" from the road");
           c.mutable_location()->set_lat(47.5);
           c.mutable_location()->set_lon(-122.25);
         }),
         T0, {"dispatch.create_cfs", R"pin({"address":"12 Main St","lat":47.5,"lon":-122.25,"notes":"smoke \"seen\" from the road","priority":2,"type":"FSTRU"})pin"});
  expect(command([](Request& r) { r.mutable_create_cfs()->set_type("FALL"); }), T0,
         {"dispatch.create_cfs", R"({"address":"","notes":"","priority":3,"type":"FALL"})"});
  expect(command([&](Request& r) {
           r.mutable_assign()->set_incident(incident);
           r.mutable_assign()->set_unit("E12");
           r.mutable_assign()->set_force(true);
         }),
         T0, {"dispatch.assign", R"({"force":true,"incident":"2026-000002","unit":"E12"})"});
  expect(command([](Request& r) {
           r.mutable_message()->set_unit("E12");
           r.mutable_message()->set_text("call in");
         }),
         T0, {"dispatch.message", R"({"text":"call in","unit":"E12"})"});
  REQUIRE(s.ingest({incoming(emergencyEnv(kE12, 1, T0 + 1000, true), T0 + 1000)}));
  expect(command([](Request& r) { r.mutable_ack_emergency()->set_unit("E12"); }), T0 + 2000,
         {"dispatch.ack_emergency", R"({"unit":"E12"})"});
  expect(command([&](Request& r) { r.mutable_close_cfs()->set_incident(incident); }), T0 + 3000,
         {"dispatch.close_cfs", R"({"incident":"2026-000002"})"});
  expect(command([](Request& r) {
           control::ScheduleCreate& c = *r.mutable_schedule_create();
           c.set_type("WELFARE");
           c.set_priority(4);
           c.set_address("12 Elm St");
           c.set_notes("owners away");
           c.mutable_location()->set_lat(40.75);
           c.mutable_location()->set_lon(-73.99);
           c.set_every_s(86400);
           c.set_from_ms(T0 + kDay);
           c.set_until_ms(T0 + 3 * kDay);
         }),
         T0 + 4000, {"dispatch.schedule_create", R"pin({"address":"12 Elm St","every_ms":86400000,"from_ms":1767342600000,"lat":40.75,"lon":-73.99,"notes":"owners away","priority":4,"type":"WELFARE","until_ms":1767515400000})pin"});
  expect(command([&](Request& r) { r.mutable_schedule_cancel()->set_schedule(schedule); }), T0 + 5000,
         {"dispatch.schedule_cancel", "{\"schedule\":\"" + schedule + "\"}"});
  expect(command([](Request& r) {
           r.mutable_eido_import()->set_document_json(
               QJsonDocument::fromJson(kNeighbour).toJson(QJsonDocument::Compact).toStdString());
         }),
         T0 + 6000, {"dispatch.eido_import", R"pin({"address":"Rte 7 mile 12, northbound","apco":"VEHSTLN","closed":false,"created_at_ms":1796093880000,"eido_id":"urn:emergency:uid:incidentid:CSO-26-88123:county-so.example","lat":41.5,"lon":-73.25,"notes":"Grey Honda, plate \"KXT 4471\"","owner_agency":"county-so.example","owner_number":"CSO-26-88123","owner_services":["police"],"priority":3,"timeline":[{"at_ms":1796093940000,"text":"Call received"},{"at_ms":1796094090000,"text":"Unit 4A in pursuit & requesting aid"}],"type":"10-851","type_label":"STOLEN VEHICLE","units":[{"at_ms":1796094090000,"internal":[],"name":"4A","resource_type":"vehicle","secondary":[],"status":"Enroute"}],"updated_at_ms":1796094909000})pin"});
}

TEST_CASE("control frames: a request split across reads comes whole, two in one read come apart, and a length "
          "over the cap is refused before its bytes arrive") {
  control::ControlRequest req;
  req.set_agency("FD1");
  req.set_actor("ops.lee");
  req.mutable_message()->set_unit("E12");
  req.mutable_message()->set_text(std::string(3000, 'x'));
  const std::string one = control::frame(req);
  REQUIRE(one.size() == 4 + req.ByteSizeLong());
  control::FrameReader reader;
  std::string out;
  uint32_t announced = 0;
  reader.feed(std::string_view(one).substr(0, 3));
  CHECK(reader.next(out, announced) == control::FrameReader::Next::NeedMore);
  reader.feed(std::string_view(one).substr(3, 1000));
  CHECK(reader.next(out, announced) == control::FrameReader::Next::NeedMore);
  reader.feed(std::string_view(one).substr(1003) );
  reader.feed(one);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(reader.next(out, announced) == control::FrameReader::Next::Frame);
    control::ControlRequest back;
    REQUIRE(back.ParseFromString(out));
    CHECK(back.message().text().size() == 3000);
    CHECK(back.agency() == "FD1");
  }
  CHECK(reader.next(out, announced) == control::FrameReader::Next::NeedMore);

  control::FrameReader big;
  big.feed(std::string("\x00\x10\x00\x01", 4));  // 1 MiB + 1
  CHECK(big.next(out, announced) == control::FrameReader::Next::TooLarge);
  CHECK(announced == control::kMaxFrameBytes + 1);
  control::ControlRequest undecodable;
  CHECK_FALSE(undecodable.ParseFromString(std::string("\xff\xff\xff", 3)));
}
