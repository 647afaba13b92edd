// NENA EIDO documents: the checks written from the EIDO 1.0 schema's
// definitions, against documents made for these tests (one as another
// centre's CAD might write it), and the mapping of an incident both ways.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <functional>
#include <set>

#include "server-stub/domain/eido.h"
#include "server-stub/domain/apco.h"
#include "tests/unit/stub/eido_samples.h"

using namespace cad;

namespace {

QJsonObject neighbour() { return QJsonDocument::fromJson(kNeighbour).object(); }

/** Sets a value at a path of object keys and array indices, e.g. {"incidentComponent", "x"}. */
QJsonObject with(QJsonObject doc, const std::vector<std::string>& path, const QJsonValue& value, bool remove = false) {
  std::function<QJsonValue(QJsonValue, size_t)> go = [&](QJsonValue at, size_t i) -> QJsonValue {
    const std::string& key = path[i];
    const bool last = i + 1 == path.size();
    if (at.isArray()) {
      QJsonArray a = at.toArray();
      const qsizetype k = std::stoi(key);
      a[k] = last ? value : go(a[k], i + 1);
      return a;
    }
    QJsonObject o = at.toObject();
    const QString qk = QString::fromStdString(key);
    if (last && remove) o.remove(qk);
    else o[qk] = last ? value : go(o.value(qk), i + 1);
    return o;
  };
  return go(doc, 0).toObject();
}

bool hasError(const std::vector<std::string>& errors, const std::string& e) {
  for (const auto& x : errors)
    if (x == e) return true;
  return false;
}

}  // namespace

TEST_CASE("EIDO: another centre's document conforms and gives its incident: type, number, priority, location, "
          "notes, timeline by time, units",
          "[eido]") {
  const QJsonObject doc = neighbour();
  REQUIRE(eido::validate(doc).empty());
  auto in = eido::fromEido(doc);
  REQUIRE(in);
  CHECK(in->eidoId == "urn:emergency:uid:incidentid:CSO-26-88123:county-so.example");
  CHECK(in->ownerAgency == "county-so.example");
  CHECK(in->ownerServices == std::vector<std::string>{"police"});
  CHECK(in->ownerNumber == "CSO-26-88123");
  CHECK(in->apcoCode == "VEHSTLN");
  CHECK(in->typeCode == "10-851");
  CHECK(in->typeLabel == "STOLEN VEHICLE");  // no internal text: APCO's name
  CHECK(in->priority == 3);                  // common 7 of 0-10 (10 highest)
  CHECK_FALSE(in->closed);
  CHECK(in->address == "Rte 7 mile 12, northbound");
  REQUIRE(in->location);
  CHECK(in->location->first == 41.5);
  CHECK(in->location->second == -73.25);
  CHECK(in->notes == "Grey Honda, plate \"KXT 4471\"");
  REQUIRE(in->timeline.size() == 2);
  CHECK(in->timeline[0].text == "Call received");  // by time, not document order
  CHECK(in->timeline[1].text == "Unit 4A in pursuit & requesting aid");
  CHECK(in->timeline[1].atMs == 1796094090000);  // 2026-12-01T03:01:30Z
  CHECK(in->createdAtMs == 1796093880000);       // the earliest: the location and the notes
  REQUIRE(in->units.size() == 1);
  CHECK(in->units[0].name == "4A");
  CHECK(in->units[0].status == "Enroute");
}

TEST_CASE("EIDO: each way a document breaks the schema is reported with the path of the field", "[eido]") {
  struct Case {
    std::vector<std::string> path;
    QJsonValue value;
    bool remove;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"eidoVersion"}, {}, true, "$.eidoVersion: required"},
      {{"eidoVersion"}, "2.0", false, "$.eidoVersion: \"2.0\" is not one of 1.0"},
      {{"issuingElementIdentification"}, 7, false, "$.issuingElementIdentification: must be a string"},
      {{"agencyComponent"}, {}, true, "$.agencyComponent: required"},
      {{"agencyComponent"}, QJsonObject{}, false, "$.agencyComponent: must be an array"},
      {{"agencyComponent"}, QJsonArray{}, false, "$.agencyComponent: must list at least one agency"},
      {{"agencyComponent", "0", "agencyType"}, {}, true, "$.agencyComponent[0].agencyType: required"},
      {{"agencyComponent", "0", "agencyType"}, "police", false, "$.agencyComponent[0].agencyType: must be an array of strings"},
      {{"lastUpdateTimeStamp"}, "2026-11-30 22:15", false,
       "$.lastUpdateTimeStamp: must be an RFC 3339 date-time such as 2026-12-01T08:00:00.000Z"},
      {{"incidentComponent", "lastUpdateTimeStamp"}, "2026-11-30T22:15:09", false,
       "$.incidentComponent.lastUpdateTimeStamp: must be an RFC 3339 date-time such as 2026-12-01T08:00:00.000Z"},
      {{"incidentComponent", "incidentTypeCommonRegistryText"}, {}, true,
       "$.incidentComponent.incidentTypeCommonRegistryText: required"},
      {{"incidentComponent", "incidentCommonPriorityNumber"}, 2.5, false,
       "$.incidentComponent.incidentCommonPriorityNumber: must be an integer"},
      {{"incidentComponent", "updatedByAgencyReference"}, "county-so.example", false,
       "$.incidentComponent.updatedByAgencyReference: must be a reference {\"$ref\": \"<$id>\"}"},
      {{"incidentComponent", "locationReference", "0"}, QJsonObject{{"$ref", ""}}, false,
       "$.incidentComponent.locationReference: must be an array of references"},
      {{"notesComponent", "1", "notesActionComments"}, {}, true, "$.notesComponent[1].notesActionComments: required"},
      {{"notesComponent", "2", "$id"}, "n-1", false, "$.notesComponent[2].$id: \"n-1\" is also the $id of $.notesComponent[1]"},
      {{"emergencyResourceComponent", "0", "secondaryUnitStatusRegistryText"}, {}, true,
       "$.emergencyResourceComponent[0].secondaryUnitStatusRegistryText: required"},
      {{"emergencyResourceComponent", "0", "agentReference"}, {}, true,
       "$.emergencyResourceComponent[0].agentReference: required"},
      {{"callComponent"}, QJsonArray{QJsonObject{{"$id", "c1"}, {"lastUpdateTimeStamp", "2026-11-30T22:00:00Z"},
                                                 {"updatedByAgencyReference", QJsonObject{{"$ref", "x"}}},
                                                 {"callStateRegistryText", "callBegin"},
                                                 {"standardPrimaryCallType", "emergency"},
                                                 {"direction", "sideways"},
                                                 {"callStartTimestamp", "2026-11-30T22:00:00Z"}}},
       false, "$.callComponent[0].direction: \"sideways\" is not one of incoming, outgoing, internal"},
  };
  for (const auto& c : cases) {
    const QJsonObject doc = with(neighbour(), c.path, c.value, c.remove);
    const auto errors = eido::validate(doc);
    INFO(c.error);
    for (const auto& e : errors) INFO("got: " + e);
    CHECK(hasError(errors, c.error));
    auto in = eido::fromEido(doc);
    REQUIRE_FALSE(in);
  }
  CHECK(eido::validate(QJsonArray{}) == std::vector<std::string>{"$: must be a JSON object (an EIDO)"});
}

TEST_CASE("EIDO: a conforming document that cannot be taken in says which field and why", "[eido]") {
  struct Case {
    std::vector<std::string> path;
    QJsonValue value;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"incidentComponent", "incidentTypeCommonRegistryText"}, "STOLEN",
       "$.incidentComponent.incidentTypeCommonRegistryText: \"STOLEN\" is not an APCO ANS 2.103 incident type code"},
      {{"incidentComponent", "locationReference", "0", "$ref"}, "loc-9",
       "$.incidentComponent.locationReference[0]: \"loc-9\" is not the $id of any locationComponent in the document"},
      {{"incidentComponent", "notesReference", "0", "$ref"}, "loc-1",
       "$.incidentComponent.notesReference[0]: \"loc-1\" is not the $id of any notesComponent in the document"},
      {{"incidentComponent", "incidentCommonPriorityNumber"}, 11,
       "$.incidentComponent.incidentCommonPriorityNumber: 11 is out of range 0-10"},
      {{"locationComponent", "0", "locationByValue"}, "<presence><unclosed>",
       "$.locationComponent[0].locationByValue: not XML: "},
      {{"locationComponent", "0", "locationByValue"}, "<loc/>",
       "$.locationComponent[0].locationByValue: not a PIDF-LO document (no pidf presence element)"},
      {{"locationComponent", "0", "locationByValue"},
       "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><pos xmlns=\"http://www.opengis.net/gml\">91 10</pos></presence>",
       "$.locationComponent[0].locationByValue: gml:pos \"91 10\": out of range (WGS84 latitude, longitude)"},
      {{"dispatchComponent"},
       QJsonArray{QJsonObject{{"$id", "d1"}, {"lastUpdateTimeStamp", "2026-11-30T22:00:00Z"},
                              {"updatedByAgencyReference", QJsonObject{{"$ref", "x"}}},
                              {"emergencyResourceReference", QJsonArray{QJsonObject{{"$ref", "r-9"}}}}}},
       "$.dispatchComponent[0].emergencyResourceReference[0]: \"r-9\" is not the $id of any emergencyResourceComponent in "
       "the document"},
      {{"emergencyResourceComponent", "0", "emergencyResourceName"}, QString(65, 'x'),
       "$.emergencyResourceComponent[0].emergencyResourceName: must be 1-64 characters"},
  };
  for (const auto& c : cases) {
    const QJsonObject doc = with(neighbour(), c.path, c.value);
    INFO(c.error);
    auto in = eido::fromEido(doc);
    REQUIRE_FALSE(in);
    INFO("got: " + in.error().message);
    CHECK(in.error().message.rfind(c.error, 0) == 0);
  }
}

TEST_CASE("EIDO: an incident written and read back is the same incident, text with markup included", "[eido]") {
  eido::Incident in;
  in.eidoId = eido::incidentId("FD1", "2026-000042");
  in.ownerAgency = "FD1";
  in.ownerNumber = "2026-000042";
  in.ownerServices = {"fire"};
  in.typeCode = "HOUSE_CHECK";
  in.typeLabel = "House check";
  in.apcoCode = "WELFARE";
  in.priority = 4;
  in.closed = true;
  in.address = "12 Elm St <rear> & garage";
  in.location = std::pair{40.7128, -74.006};
  in.notes = "Owners away until the 6th; key at #14 & <b>not</b> with neighbour";
  in.createdAtMs = 1764576000000;
  in.timeline = {{1764576000000, "created by schedule: HOUSE_CHECK"}, {1764576060000, "E12 assigned & en route"},
                 {1764576900000, "closed by disp-7"}};
  in.units = {{"E12", "vehicle", "Cleared", {"Acknowledged"}, {"CLEARED"}, 1764576900000}};
  in.updatedAtMs = 1764576900000;
  const QJsonObject doc = eido::toEido(in, "cad.fd1.example");
  REQUIRE(eido::validate(doc).empty());
  auto back = eido::fromEido(doc);
  REQUIRE(back);
  CHECK(*back == in);
  CHECK(eido::fromPayload(eido::toPayload(in)) == in);
}

TEST_CASE("APCO ANS 2.103: 197 distinct incident types, and a common name for every unit status", "[eido][apco]") {
  const auto& types = mdc::apco::incidentTypes();
  CHECK(types.size() == 197);
  std::set<std::string_view> codes;
  for (const auto& t : types) codes.insert(t.code);
  CHECK(codes.size() == 197);
  REQUIRE(mdc::apco::findIncidentType("FSTRU"));
  CHECK(mdc::apco::findIncidentType("FSTRU")->name == "FIRE STRUCTURE");
  CHECK(mdc::apco::responderService(mdc::apco::findIncidentType("FSTRU")->discipline) == "fire");
  CHECK(mdc::apco::findIncidentType("fstru") == nullptr);  // codes are case sensitive
  std::set<std::string_view> names;
  for (int s = 1; s <= 10; ++s) {
    const auto name = mdc::apco::commonUnitStatus(s);
    CHECK_FALSE(name.empty());
    names.insert(name);
    CHECK(mdc::apco::unitStatusFromCommon(name) == s);
  }
  CHECK(names.size() == 10);
  CHECK(mdc::apco::commonUnitStatus(0).empty());
  CHECK(mdc::apco::commonUnitStatus(11).empty());
}
