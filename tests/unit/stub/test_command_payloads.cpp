// The events dispatcher commands write, pinned byte for byte: the log is
// hash-chained, so a payload that changed its text (a field renamed, moved or
// added) would make a new store differ from a replay of an old log.
#include <catch2/catch.hpp>

#include <QJsonDocument>

#include <vector>

#include "server-stub/store/event_store.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = kShiftStartMs;
constexpr int64_t kDay = 86'400'000;
const Device kE12{"MDC-E12", "E12", "FD1", 1};

// Another centre's incident, as test_eido.cpp has it.
const char* kNeighbour = R"({
  "$id": "urn:emergency:uid:eido:9f2c:psap.county.example",
  "lastUpdateTimeStamp": "2026-11-30T22:15:09-05:00",
  "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
  "eidoVersion": "1.0",
  "issuingElementIdentification": "cad1.psap.county.example",
  "agencyComponent": [{
    "$id": "urn:emergency:uid:agencyid:county-so.example",
    "lastUpdateTimeStamp": "2026-11-30T22:15:09-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "agencyRoleDescriptionRegistryText": ["Primary"],
    "agencyType": ["police"],
    "incidentOwningAgencyIndicator": true
  }],
  "incidentComponent": {
    "$id": "urn:emergency:uid:incidentid:CSO-26-88123:county-so.example",
    "lastUpdateTimeStamp": "2026-11-30T22:15:09-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "incidentTypeCommonRegistryText": "VEHSTLN",
    "incidentTypeInternalCode": "10-851",
    "incidentStatusCommonRegistryText": ["Active"],
    "internalIncidentId": "CSO-26-88123",
    "incidentCommonPriorityNumber": 7,
    "locationReference": [{"$ref": "loc-1"}],
    "notesReference": [{"$ref": "n-1"}]
  },
  "locationComponent": [{
    "$id": "loc-1",
    "lastUpdateTimeStamp": "2026-11-30T21:58:00-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "locationTypeDescriptionRegistryText": "Incident",
    "locationByValue": "<?xml version=\"1.0\"?><p:presence xmlns:p=\"urn:ietf:params:xml:ns:pidf\" xmlns:geo=\"urn:ietf:params:xml:ns:pidf:geopriv10\" xmlns:g=\"http://www.opengis.net/gml\" xmlns:c=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\" entity=\"pres:x@example\"><p:tuple id=\"a\"><p:status><geo:geopriv><geo:location-info><g:Point><g:pos>41.5 -73.25</g:pos></g:Point><c:civicAddress><c:LOC>Rte 7 mile 12, northbound</c:LOC></c:civicAddress></geo:location-info></geo:geopriv></p:status></p:tuple></p:presence>"
  }],
  "notesComponent": [
    {"$id": "n-2", "lastUpdateTimeStamp": "2026-11-30T22:01:30-05:00",
     "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
     "notesActionComments": "<p>Unit 4A <b>in pursuit</b> &amp; requesting aid</p>"},
    {"$id": "n-1", "lastUpdateTimeStamp": "2026-11-30T21:58:00-05:00",
     "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
     "notesActionComments": "Grey Honda, plate &quot;KXT 4471&quot;"},
    {"$id": "n-3", "lastUpdateTimeStamp": "2026-11-30T21:59:00-05:00",
     "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
     "notesActionComments": "Call received"}
  ],
  "emergencyResourceComponent": [{
    "$id": "r-4A",
    "lastUpdateTimeStamp": "2026-11-30T22:01:30-05:00",
    "updatedByAgencyReference": {"$ref": "urn:emergency:uid:agencyid:county-so.example"},
    "agentReference": [],
    "emergencyResourceTypeCommonRegistryText": "vehicle",
    "emergencyResourceName": "4A",
    "primaryUnitStatusRegistryText": "Enroute",
    "secondaryUnitStatusRegistryText": [],
    "resourceAttributeRegistryText": []
  }]
})";

/** The command of a kind, for FD1 by ops.lee; fill sets its fields. */
template <class Fill>
Command command(const char* kind, Fill fill) {
  Command c;
  c.kind = kind;
  c.agency = "FD1";
  c.actor = "ops.lee";
  fill(c);
  return c;
}

/** The kind and payload of the last event in the log. */
std::pair<std::string, std::string> lastEvent(EventStore& s) {
  std::pair<std::string, std::string> last;
  s.listLog(0, "", 1'000'000, [&](const LogEntry& e) { last = {e.kind, e.payload}; });
  return last;
}

struct Pinned {
  const char* kind;      ///< the event's kind
  std::string payload;   ///< its payload, exactly
};

}  // namespace

TEST_CASE("each dispatcher command writes its event with the kind and payload text of every store before") {
  TempDir dir;
  auto opened = EventStore::open(mdc::test::storeTarget(dir, "cad.db"));
  REQUIRE(opened);
  EventStore& s = **opened;
  std::string incident, schedule;
  auto expect = [&](const Command& c, int64_t at, const Pinned& pinned) {
    auto r = s.execute(c, at);
    INFO(c.kind << ": " << (r ? r->summary : r.error().message));
    REQUIRE(r);
    if (c.kind == "create_cfs") incident = r->summary.substr(8);
    if (c.kind == "schedule_create") schedule = r->summary.substr(9, r->summary.find(':') - 9);
    auto [kind, payload] = lastEvent(s);
    CHECK(kind == pinned.kind);
    CHECK(payload == pinned.payload);
  };
  expect(command("device_add", [](Command& c) { c.device = "MDC-E12"; c.unit = "E12"; }), T0,
         {"registry.device_add", R"({"device":"MDC-E12","unit":"E12"})"});
  expect(command("device_add", [](Command& c) { c.device = "MDC-E14"; c.unit = "E14"; }), T0,
         {"registry.device_add", R"({"device":"MDC-E14","unit":"E14"})"});
  expect(command("device_move", [](Command& c) { c.device = "MDC-E14"; c.unit = "E15"; }), T0,
         {"registry.device_move", R"({"device":"MDC-E14","unit":"E15"})"});
  expect(command("device_remove", [](Command& c) { c.device = "MDC-E14"; }), T0,
         {"registry.device_remove", R"({"device":"MDC-E14","unit":"E15"})"});
  expect(command("enroll_token", [](Command& c) { c.device = "MDC-E12"; c.tokenHash = std::string(64, 'a'); c.ttlS = 7200; }),
         T0, {"registry.enroll_token", R"pin({"device":"MDC-E12","expires_at_ms":1767263400000,"token_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","unit":"E12"})pin"});
  expect(command("agency_config", [](Command& c) { c.statuses = {"available", "en-route"}; c.avlMovingS = 5; c.avlStationaryS = 60; }),
         T0, {"registry.agency_config", R"({"avl_moving_s":5,"avl_stationary_s":60,"statuses":["AVAILABLE","EN_ROUTE"]})"});
  expect(command("cfs_type_add", [](Command& c) { c.cfsType = "HCHK"; c.label = "House check"; c.apcoCode = "FALL"; }), T0,
         {"registry.cfs_type_add", R"({"apco":"FALL","code":"HCHK","label":"House check"})"});
  expect(command("cfs_type_remove", [](Command& c) { c.cfsType = "HCHK"; }), T0,
         {"registry.cfs_type_remove", R"({"code":"HCHK"})"});
  expect(command("zone_set", [](Command& c) { c.zone = "Z1"; c.district = "North"; }), T0,
         {"registry.zone_set", R"({"district":"North","zone":"Z1"})"});
  expect(command("zone_set", [](Command& c) { c.zone = "Z2"; c.district = "North"; }), T0,
         {"registry.zone_set", R"({"district":"North","zone":"Z2"})"});
  expect(command("unit_zone", [](Command& c) { c.unit = "E12"; c.zone = "Z1"; }), T0,
         {"registry.unit_zone", R"({"unit":"E12","zone":"Z1"})"});
  expect(command("supervisor", [](Command& c) { c.unit = "E12"; c.district = "North"; }), T0,
         {"registry.supervisor", R"({"kind":"district","scope":"North","unit":"E12"})"});
  expect(command("supervisor", [](Command& c) { c.unit = "E12"; c.zones = {"Z1", "Z2"}; }), T0,
         {"registry.supervisor", R"({"kind":"zones","scope":"Z1,Z2","unit":"E12"})"});
  expect(command("supervisor", [](Command& c) { c.unit = "E12"; }), T0,
         {"registry.supervisor", R"({"kind":"","scope":"","unit":"E12"})"});
  expect(command("zone_remove", [](Command& c) { c.zone = "Z2"; }), T0,
         {"registry.zone_remove", R"({"zone":"Z2"})"});
  expect(command("create_cfs", [](Command& c) {
           c.cfsType = "FSTRU";
           c.priority = 2;
           c.address = "12 Main St";
           c.text = "smoke \"seen\" from the road";
           c.location = std::pair{47.5, -122.25};
         }),
         T0, {"dispatch.create_cfs", R"pin({"address":"12 Main St","lat":47.5,"lon":-122.25,"notes":"smoke \"seen\" from the road","priority":2,"type":"FSTRU"})pin"});
  expect(command("create_cfs", [](Command& c) { c.cfsType = "FALL"; }), T0,
         {"dispatch.create_cfs", R"({"address":"","notes":"","priority":3,"type":"FALL"})"});
  expect(command("assign", [&](Command& c) { c.incident = incident; c.unit = "E12"; c.force = true; }), T0,
         {"dispatch.assign", R"({"force":true,"incident":"2026-000002","unit":"E12"})"});
  expect(command("message", [](Command& c) { c.unit = "E12"; c.text = "call in"; }), T0,
         {"dispatch.message", R"({"text":"call in","unit":"E12"})"});
  REQUIRE(s.ingest({incoming(emergencyEnv(kE12, 1, T0 + 1000, true), T0 + 1000)}));
  expect(command("ack_emergency", [](Command& c) { c.unit = "E12"; }), T0 + 2000,
         {"dispatch.ack_emergency", R"({"unit":"E12"})"});
  expect(command("close_cfs", [&](Command& c) { c.incident = incident; }), T0 + 3000,
         {"dispatch.close_cfs", R"({"incident":"2026-000002"})"});
  expect(command("schedule_create", [](Command& c) {
           c.cfsType = "WELFARE";
           c.priority = 4;
           c.address = "12 Elm St";
           c.text = "owners away";
           c.location = std::pair{40.75, -73.99};
           c.everyS = 86400;
           c.fromMs = T0 + kDay;
           c.untilMs = T0 + 3 * kDay;
         }),
         T0 + 4000, {"dispatch.schedule_create", R"pin({"address":"12 Elm St","every_ms":86400000,"from_ms":1767342600000,"lat":40.75,"lon":-73.99,"notes":"owners away","priority":4,"type":"WELFARE","until_ms":1767515400000})pin"});
  expect(command("schedule_cancel", [&](Command& c) { c.scheduleId = schedule; }), T0 + 5000,
         {"dispatch.schedule_cancel", "{\"schedule\":\"" + schedule + "\"}"});
  expect(command("eido_import", [](Command& c) { c.document = QJsonDocument::fromJson(kNeighbour).object(); }), T0 + 6000,
         {"dispatch.eido_import", R"pin({"address":"Rte 7 mile 12, northbound","apco":"VEHSTLN","closed":false,"created_at_ms":1796093880000,"eido_id":"urn:emergency:uid:incidentid:CSO-26-88123:county-so.example","lat":41.5,"lon":-73.25,"notes":"Grey Honda, plate \"KXT 4471\"","owner_agency":"county-so.example","owner_number":"CSO-26-88123","owner_services":["police"],"priority":3,"timeline":[{"at_ms":1796093940000,"text":"Call received"},{"at_ms":1796094090000,"text":"Unit 4A in pursuit & requesting aid"}],"type":"10-851","type_label":"STOLEN VEHICLE","units":[{"at_ms":1796094090000,"internal":[],"name":"4A","resource_type":"vehicle","secondary":[],"status":"Enroute"}],"updated_at_ms":1796094909000})pin"});
}
