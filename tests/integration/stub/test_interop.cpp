// Interoperability through the real processes: an agency's own call types
// (mapped to APCO ANS 2.103 codes) reach its device and are enforced for
// dispatchers; an incident leaves one centre as a NENA EIDO and is taken in
// by another, whose export of it is the same document.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <fstream>
#include <regex>

#include "server-stub/domain/eido.h"
#include "shared/wire/clock.h"
#include "shared/infra/files.h"
#include "tests/support/mosquitto.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

QJsonValue parse(const std::string& text) {
  QJsonParseError e{};
  auto d = QJsonDocument::fromJson(QByteArray::fromStdString(text), &e);
  INFO(text);
  REQUIRE(e.error == QJsonParseError::NoError);
  return d.isArray() ? QJsonValue(d.array()) : QJsonValue(d.object());
}

std::string incidentOf(const CommandResult& r, const char* verb) {
  std::smatch m;
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  REQUIRE(std::regex_search(r.output, m, std::regex(std::string(verb) + " ([0-9]{4}-[0-9]{6})")));
  return m[1];
}

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

}  // namespace

TEST_CASE("call types: an agency's own type, mapped to APCO, is offered on its device and enforced for "
          "dispatchers, and a device's unknown type is kept and flagged",
          "[stub][types]") {
  VehicleStack v("MDC-0601", "E61", "FD1");
  TempDir& dir = v.dir;
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  v.startAgentOnline();

  // Before any agency type: the device offers its default set.
  CHECK_THAT(agent.mdcctl({"state"}).output, Catch::Contains("call types  the default set"));
  auto bad = stub.cadctl({"--agency", "FD1", "types", "add", "HOUSE_CHECK", "--label", "House check", "--apco", "HOUSE"});
  CHECK(bad.exitCode == 1);
  CHECK_THAT(bad.output, Catch::Contains("apco \"HOUSE\": not an APCO ANS 2.103 incident type code"));
  bad = stub.cadctl({"--agency", "FD1", "types", "add", "house check", "--label", "House check", "--apco", "WELFARE"});
  CHECK_THAT(bad.output, Catch::Contains("type \"house check\": must be 1-32 characters of A-Z 0-9 _ -"));
  bad = stub.cadctl({"--agency", "FD1", "types", "add", "FSTRU", "--label", "Structure", "--apco", "FTRASH"});
  CHECK_THAT(bad.output, Catch::Contains("type \"FSTRU\": is the APCO code for FIRE STRUCTURE"));
  const long long before = stub.eventCount();

  auto added = stub.cadctl({"--agency", "FD1", "--as", "ops.lee", "types", "add", "HOUSE_CHECK", "--label",
                            "House check", "--apco", "WELFARE"});
  INFO(added.output);
  REQUIRE(added.exitCode == 0);
  CHECK_THAT(added.output, Catch::Contains("maps to APCO WELFARE WELFARE CHECK"));
  CHECK(stub.eventCount() == before + 1);
  REQUIRE(stub.cadctl({"--agency", "FD1", "types", "add", "FSTRU", "--label", "Structure fire", "--apco", "FSTRU"})
              .exitCode == 0);

  // The device offers the agency's types, in order, from its Configuration.
  REQUIRE(waitUntil([&] { return agent.mdcctl({"state"}).output.find("FSTRU Structure fire") != std::string::npos; }, 20s));
  CHECK_THAT(agent.mdcctl({"state"}).output,
             Catch::Contains("call types  HOUSE_CHECK House check (APCO WELFARE), FSTRU Structure fire (APCO FSTRU)"));
  QJsonObject state = parse(agent.mdcctl({"state", "--json"}).output).toObject();
  REQUIRE(state.value("cfs_types").toArray().size() == 2);
  CHECK(state.value("cfs_types").toArray()[0].toObject().value("apco_code").toString() == "WELFARE");

  auto list = stub.cadctl({"--agency", "FD1", "types", "list"});
  CHECK(std::regex_search(list.output, std::regex("FD1 +HOUSE_CHECK +House check +WELFARE WELFARE CHECK")));
  auto apco = stub.cadctl({"types", "apco"});
  CHECK_THAT(apco.output, Catch::Contains("197 APCO ANS 2.103.1 incident types"));
  CHECK(std::regex_search(apco.output, std::regex("\nTSTOP +law +TRAFFIC STOP\n")));

  // Dispatchers: APCO codes and the agency's types; anything else is refused.
  auto refused = stub.cadctl({"--agency", "FD1", "create-cfs", "--type", "STRUCTURE_FIRE"});
  CHECK(refused.exitCode == 1);
  CHECK_THAT(refused.output,
             Catch::Contains("type \"STRUCTURE_FIRE\": not an APCO ANS 2.103 code nor a type of agency FD1"));
  auto other = stub.cadctl({"--agency", "PD1", "create-cfs", "--type", "HOUSE_CHECK"});
  CHECK_THAT(other.output, Catch::Contains("not an APCO ANS 2.103 code nor a type of agency PD1"));
  const std::string check = incidentOf(stub.cadctl({"--agency", "FD1", "create-cfs", "--type", "HOUSE_CHECK",
                                                    "--address", "12 Elm St"}), "created");
  QJsonObject shown = parse(stub.cadctl({"--agency", "FD1", "cfs", "show", check, "--json"}).output).toObject();
  CHECK(shown.value("apco").toString() == "WELFARE");
  CHECK(shown.value("apco_name").toString() == "WELFARE CHECK");

  // A device's self-initiated call: its agency type maps; an old device's
  // type that is neither is kept, and the timeline says so.
  REQUIRE(agent.mdcctl({"cfs", "--type", "HOUSE_CHECK", "--lat", "40.71", "--lon", "-74.01"}).exitCode == 0);
  REQUIRE(agent.mdcctl({"cfs", "--type", "TRAFFIC_STOP", "--lat", "40.71", "--lon", "-74.01"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  QJsonArray calls = parse(stub.cadctl({"--agency", "FD1", "cfs", "list", "--json"}).output).toArray();
  REQUIRE(calls.size() == 3);
  const std::string selfKnown = calls[1].toObject().value("incident").toString().toStdString();
  const std::string selfUnknown = calls[2].toObject().value("incident").toString().toStdString();
  CHECK(parse(stub.cadctl({"cfs", "show", selfKnown, "--json"}).output).toObject().value("apco").toString() == "WELFARE");
  auto unknown = stub.cadctl({"cfs", "show", selfUnknown});
  CHECK_THAT(unknown.output, Catch::Contains("type TRAFFIC_STOP is not an APCO code nor a type of FD1: exported as INFO"));
  auto eido = parse(stub.cadctl({"cfs", "show", selfUnknown, "--eido"}).output).toObject();
  CHECK(eido.value("incidentComponent").toObject().value("incidentTypeCommonRegistryText").toString() == "INFO");
  CHECK(eido.value("incidentComponent").toObject().value("incidentTypeInternalCode").toString() == "TRAFFIC_STOP");

  // Removed: no longer offered, no longer accepted from dispatchers; calls keep it.
  REQUIRE(stub.cadctl({"--agency", "FD1", "types", "remove", "HOUSE_CHECK"}).exitCode == 0);
  REQUIRE(waitUntil(
      [&] { return agent.mdcctl({"state"}).output.find("call types  FSTRU Structure fire (APCO FSTRU)\n") != std::string::npos; },
      20s));
  CHECK_THAT(stub.cadctl({"--agency", "FD1", "create-cfs", "--type", "HOUSE_CHECK"}).output,
             Catch::Contains("not an APCO ANS 2.103 code nor a type of agency FD1"));
  CHECK(parse(stub.cadctl({"cfs", "show", check, "--json"}).output).toObject().value("type").toString() == "HOUSE_CHECK");
  // The log alone gives the same read models.
  REQUIRE(stub.cadctl({"replay", "--into", dir.file("replayed.db")}).exitCode == 0);
  CHECK(stub.cadctl({"digest"}).output == CadStub(dir, broker.uri(), "replayed").cadctl({"digest"}).output);
}

TEST_CASE("EIDO: an incident exported by one centre and imported by another is exported again as the same "
          "document, and a document that breaks the schema is refused with its field's path and changes nothing",
          "[stub][eido]") {
  VehicleStack v("MDC-0611", "E611", "FD1");
  TempDir& dir = v.dir;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  v.startAgentOnline();

  // An incident with everything an EIDO carries: type, priority, location,
  // notes, a unit and its statuses, a timeline; and a second, closed.
  const std::string fire = incidentOf(
      stub.cadctl({"--agency", "FD1", "--as", "disp-7", "create-cfs", "--type", "FSTRU", "--priority", "1", "--address",
                   "221 W 42nd St & 8th Ave <rear>", "--lat", "40.7566", "--lon", "-73.9882", "--notes",
                   "Smoke from the 3rd floor, caller on scene"}),
      "created");
  REQUIRE(stub.cadctl({"--agency", "FD1", "assign", fire, "E611"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.mdcctl({"state"}).output.find("assignment  " + fire) != std::string::npos; }, 20s));
  REQUIRE(agent.mdcctl({"ack", fire}).exitCode == 0);
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(agent.mdcctl({"status", "on-scene"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  const std::string alarm = incidentOf(stub.cadctl({"--agency", "FD1", "create-cfs", "--type", "ALRF", "--address",
                                                    "1 Penn Plaza"}), "created");
  REQUIRE(stub.cadctl({"--agency", "FD1", "close-cfs", alarm}).exitCode == 0);

  const std::string file = dir.file("fd1.eido.json");
  auto exported = stub.cadctl({"--agency", "FD1", "export", "--eido", "--issuer", "cad.fd1.example", "--out", file});
  INFO(exported.output);
  REQUIRE(exported.exitCode == 0);
  CHECK_THAT(exported.output, Catch::Contains("2 incidents exported as EIDO 1.0 to " + file));
  const QJsonArray docs = parse(files::read(file).value()).toArray();
  REQUIRE(docs.size() == 2);
  for (const auto& d : docs) {
    auto errors = cad::eido::validate(d);
    INFO((errors.empty() ? std::string() : errors.front()));
    CHECK(errors.empty());
  }
  // What a receiving centre reads in it.
  const QJsonObject doc = docs[0].toObject();
  CHECK(doc.value("eidoVersion").toString() == "1.0");
  CHECK(doc.value("issuingElementIdentification").toString() == "cad.fd1.example");
  const QJsonObject inc = doc.value("incidentComponent").toObject();
  CHECK(inc.value("$id").toString().toStdString() == "urn:emergency:uid:incidentid:" + fire + ":FD1");
  CHECK(inc.value("incidentTypeCommonRegistryText").toString() == "FSTRU");
  CHECK(inc.value("incidentTypeInternalText").toString() == "FIRE STRUCTURE");
  CHECK(inc.value("incidentCommonPriorityNumber").toInt() == 9);
  CHECK(inc.value("incidentStatusCommonRegistryText").toArray()[0].toString() == "Open");
  CHECK(doc.value("agencyComponent").toArray()[0].toObject().value("agencyType").toArray()[0].toString() == "fire");
  const QJsonObject unit = doc.value("emergencyResourceComponent").toArray()[0].toObject();
  CHECK(unit.value("emergencyResourceName").toString() == "E611");
  CHECK(unit.value("primaryUnitStatusRegistryText").toString() == "OnScene");
  CHECK(unit.value("secondaryUnitStatusRegistryText").toArray()[0].toString() == "Acknowledged");
  CHECK(unit.value("unitStatusInternal").toArray()[0].toString() == "ON_SCENE");
  const std::string pidf = doc.value("locationComponent").toArray()[0].toObject().value("locationByValue").toString().toStdString();
  CHECK_THAT(pidf, Catch::Contains("<gml:pos>40.7566000 -73.9882000</gml:pos>"));
  CHECK_THAT(pidf, Catch::Contains("<ca:LOC>221 W 42nd St &amp; 8th Ave &lt;rear&gt;</ca:LOC>"));
  CHECK(doc.value("notesComponent").toArray().size() >= 5);  // the notes, created, assigned, ack, en route, on scene
  CHECK(docs[1].toObject().value("incidentComponent").toObject().value("incidentStatusCommonRegistryText").toArray()[0]
            .toString() == "Closed");

  // A second centre takes both in.
  BackendStack centreB({}, {.name = "centre-b", .start = false});
  const TempDir& dirB = centreB.dir;
  CadStub& other = centreB.stub;
  other.start();
  auto imported = other.cadctl({"--agency", "PD9", "--as", "disp-2", "import", "--eido", file});
  INFO(imported.output);
  REQUIRE(imported.exitCode == 0);
  const std::string local = incidentOf(imported, "imported as");
  CHECK_THAT(imported.output, Catch::Contains("FSTRU (APCO FSTRU) of FD1, their " + fire + ", open, 1 units"));
  auto show = other.cadctl({"--agency", "PD9", "cfs", "show", local});
  CHECK_THAT(show.output, Catch::Contains("imported  from FD1 (their " + fire + ", urn:emergency:uid:incidentid:" +
                                          fire + ":FD1) by disp-2"));
  CHECK_THAT(show.output, Catch::Contains("their unit E611 OnScene since"));
  CHECK_THAT(show.output, Catch::Contains("E611 ON_SCENE"));

  // Round trip: its export is the document the first centre sent.
  auto again = other.cadctl({"--agency", "PD9", "export", "--eido", "--issuer", "cad.fd1.example", "--out",
                             dirB.file("again.json")});
  REQUIRE(again.exitCode == 0);
  const QJsonArray docsAgain = parse(files::read(dirB.file("again.json")).value()).toArray();
  REQUIRE(docsAgain.size() == 2);
  CHECK(QJsonDocument(docsAgain[0].toObject()).toJson().toStdString() == QJsonDocument(doc).toJson().toStdString());
  CHECK(docsAgain[1] == docs[1]);

  // The same incident twice, or a document that breaks the schema: refused, nothing written.
  const long long events = other.eventCount();
  auto twice = other.cadctl({"--agency", "PD9", "import", "--eido", file});
  CHECK(twice.exitCode == 1);
  CHECK_THAT(twice.output, Catch::Contains("was imported already, as " + local));
  QJsonObject broken = doc;
  QJsonObject brokenInc = broken.value("incidentComponent").toObject();
  brokenInc.remove("incidentTypeCommonRegistryText");
  brokenInc["lastUpdateTimeStamp"] = "yesterday";
  broken["incidentComponent"] = brokenInc;
  write(dir.file("broken.json"), QJsonDocument(broken).toJson().toStdString());
  auto refused = other.cadctl({"--agency", "PD9", "import", "--eido", dir.file("broken.json")});
  CHECK(refused.exitCode == 1);
  CHECK_THAT(refused.output, Catch::Contains("$.incidentComponent.lastUpdateTimeStamp: must be an RFC 3339 date-time"));
  CHECK_THAT(refused.output, Catch::Contains("$.incidentComponent.incidentTypeCommonRegistryText: required"));
  CHECK_THAT(refused.output, Catch::Contains("nothing imported"));
  CHECK(other.eventCount() == events);
  // Its own incident back from a neighbour: refused, it is here already.
  write(dir.file("own.json"), QJsonDocument(doc).toJson().toStdString());
  auto own = stub.cadctl({"--agency", "FD1", "import", "--eido", dir.file("own.json")});
  CHECK_THAT(own.output, Catch::Contains("is this CAD's own " + fire));
}
