// Records queries and officer safety through real processes: the records
// system loaded with cadctl, queries from mdcctl through the agent, mosquitto
// and the stub, the audit trail in the log, a hit reaching the dispatcher's
// board and the other unit on the call, and nothing of an answer on the
// vehicle's disk.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <fstream>
#include <optional>
#include <regex>

#include "agent/api_client.h"
#include "shared/wire/clock.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

std::string seed(const std::string& table) { return env("MDC_SOURCE_DIR") + "/server-stub/seed/records-" + table + ".csv"; }

std::string fileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

/** The newest query on the subject in the state (a copy: states are temporaries). */
std::optional<v1::RecordsQueryView> findQuery(const v1::AgentState& s, const std::string& subject) {
  for (const auto& q : s.records())
    if (q.subject() == subject) return q;
  return std::nullopt;
}

std::string createCfs(const CadStub& stub, const std::string& agency) {
  auto created = stub.cadctl({"--agency", agency, "--as", "disp-7", "create-cfs", "--type", "TSTOP",
                              "--priority", "2", "--address", "W 44th St and 7th Ave"});
  INFO(created.output);
  REQUIRE(created.exitCode == 0);
  std::smatch m;
  REQUIRE(std::regex_search(created.output, m, std::regex("[0-9]{4}-[0-9]+")));
  return m.str();
}

}  // namespace

TEST_CASE("records queries are answered from the records system and audited, a hit reaches the dispatcher and the "
          "other units on the call, and no answer touches the vehicle's disk", "[records]") {
  BackendStack backend({}, {.start = false});  // the records imported before it starts
  TempDir& dir = backend.dir;
  CadStub& stub = backend.stub;

  // The records system: a bad file imports nothing, and names each bad line.
  write(dir.file("bad.csv"), "plate,state,year,make,model,color,owner_name,owner_dob\n"
                             "ABC 999,NY,2020,FORD,FOCUS,RED,\"DOE, JOHN\",1980-04-12\n"
                             "A$C999,NY,2020,FORD,FOCUS,RED,\"DOE, JOHN\",1980-04-12\n"
                             "ZZZ111,NEW YORK,2020,FORD,FOCUS,RED,\"DOE, JOHN\",1980-04-12\n"
                             "ZZZ112,NY,2020,FORD,FOCUS,RED,JOHN DOE,1980-04-12\n"
                             "ZZZ113,NY,2020,FORD,FOCUS,RED,\"DOE, JOHN\",1980-02-30\n"
                             "ZZZ114,NY,1800,FORD,FOCUS,RED,\"DOE, JOHN\",1980-04-12\n");
  auto bad = stub.cadctl({"records", "import", seed("vehicles"), dir.file("bad.csv")});
  INFO(bad.output);
  CHECK(bad.exitCode == 1);
  CHECK(bad.output.find("line 3: plate.plate: \"A$C999\"") != std::string::npos);
  CHECK(bad.output.find("line 4: plate.state: \"NEWYORK\"") != std::string::npos);
  CHECK(bad.output.find("line 5: owner: person.name: \"JOHN DOE\"") != std::string::npos);
  CHECK(bad.output.find("line 6: owner: person.dob: \"1980-02-30\"") != std::string::npos);
  CHECK(bad.output.find("line 7: year \"1800\"") != std::string::npos);
  CHECK(bad.output.find("line 2") == std::string::npos);  // "ABC 999" is a plate with a space: normalised
  CHECK(bad.output.find("nothing imported") != std::string::npos);
  CHECK(stub.cadctl({"records", "stats"}).output.find("0 vehicles, 0 persons, 0 flags") != std::string::npos);
  auto dry = stub.cadctl({"records", "import", seed("vehicles"), "--dry-run"});
  CHECK(dry.output.find("vehicles: 4 rows, 4 new, 0 replaced (dry run") != std::string::npos);
  auto imported = stub.cadctl({"records", "import", seed("vehicles"), seed("persons"), seed("flags")});
  INFO(imported.output);
  REQUIRE(imported.exitCode == 0);
  CHECK(stub.cadctl({"records", "stats"}).output.find("4 vehicles, 4 persons, 4 flags") != std::string::npos);
  CHECK(stub.cadctl({"records", "import", seed("flags")}).output.find("4 rows, 0 new, 4 replaced") != std::string::npos);

  stub.start();
  REQUIRE(stub.waitReady());
  stub.addDevice("MDC-P12", "P12", "PD1");
  stub.addDevice("MDC-P7", "P7", "PD1");
  stub.addDevice("MDC-P3", "P3", "PD1");
  stub.addDevice("MDC-F1", "E1", "FD1");
  AgentProcess& p12 = backend.addAgent("MDC-P12", "P12", "PD1");
  AgentProcess& p7 = backend.addAgent("MDC-P7", "P7", "PD1");
  AgentProcess& p3 = backend.addAgent("MDC-P3", "P3", "PD1");
  for (auto* a : {&p12, &p7, &p3}) a->start();
  const std::string incident = createCfs(stub, "PD1");
  const std::string foreign = createCfs(stub, "FD1");
  REQUIRE(stub.cadctl({"--agency", "PD1", "--as", "disp-7", "assign", incident, "P12"}).exitCode == 0);
  REQUIRE(stub.cadctl({"--agency", "PD1", "--as", "disp-7", "assign", incident, "P7"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return p12.state().assignments_size() == 1 && p7.state().assignments_size() == 1; }, 20s));
  REQUIRE(waitUntil([&] { return p12.state().link() == v1::LINK_STATE_ONLINE; }, 20s));

  // A stolen plate, typed the way a responder types it.
  const int64_t t0 = SystemClock::instance().nowMs();
  auto stolen = p12.mdcctl({"query", "plate", "abc-123", "--state", "ny", "--cfs", incident});
  INFO(stolen.output);
  CHECK(stolen.exitCode == 4);
  CHECK(stolen.output.find("plate ABC123 (NY) (CFS " + incident + "): ANSWERED") != std::string::npos);
  CHECK(stolen.output.find("*** OFFICER SAFETY ***") != std::string::npos);
  CHECK(stolen.output.find("2019 HONDA CIVIC BLUE, registered to DOE, JOHN (1980-04-12)") != std::string::npos);
  CHECK(stolen.output.find("STOLEN: Reported stolen 2026-11-28") != std::string::npos);
  CHECK(stolen.output.find("WANTED: Felony warrant") != std::string::npos);  // the registered owner's

  // A clean plate, a person, and a plate nobody knows.
  auto clean = p12.mdcctl({"query", "plate", "XYZ789", "--state", "NY", "--reason", "TRAFFIC_STOP"});
  INFO(clean.output);
  CHECK(clean.exitCode == 0);
  CHECK(clean.output.find("OFFICER SAFETY") == std::string::npos);
  CHECK(clean.output.find("Registered owner: ROE, JANE, born 1975-09-30, F, 165 cm") != std::string::npos);
  auto person = p12.mdcctl({"query", "person", "--name", "doe,  john", "--dob", "1980-04-12", "--cfs", incident});
  INFO(person.output);
  CHECK(person.exitCode == 4);
  CHECK(person.output.find("CAUTION: Known to carry a knife") != std::string::npos);
  CHECK(person.output.find("Registered vehicle ABC123 (NY)") != std::string::npos);
  auto nobody = p12.mdcctl({"query", "plate", "NOPE1", "--state", "NY", "--reason", "INVESTIGATION", "--json"});
  INFO(nobody.output);
  CHECK(nobody.exitCode == 0);
  CHECK(nobody.output.find("RECORDS_QUERY_STATE_ANSWERED") != std::string::npos);
  CHECK(nobody.output.find("\"entries\": []") != std::string::npos);

  // Refused, each naming what is wrong: no reason; a reason code that is not one; another agency's CFS.
  auto noReason = p12.mdcctl({"query", "plate", "ABC123", "--state", "NY"});
  CHECK(noReason.exitCode == 1);
  CHECK(noReason.output.find("records_query.reason_code: give exactly one reason") != std::string::npos);
  auto badReason = p12.mdcctl({"query", "plate", "ABC123", "--state", "NY", "--reason", "CURIOSITY"});
  CHECK(badReason.exitCode == 1);
  CHECK(badReason.output.find("\"CURIOSITY\" is not a reason code") != std::string::npos);
  auto other = p12.mdcctl({"query", "plate", "ABC123", "--state", "NY", "--cfs", foreign});
  INFO(other.output);
  CHECK(other.exitCode == 1);
  CHECK(other.output.find("FAILED: refused by dispatch: incident_number: \"" + foreign + "\" is not a CFS of agency PD1") !=
        std::string::npos);

  // Officer safety: the other unit on the call is told within seconds; a unit not on it is not.
  REQUIRE(waitUntil([&] { return p7.state().safety_alerts_size() == 2; }, 10s));
  {
    const auto s = p7.state();
    const auto& alert = s.safety_alerts(1).alert();  // newest first: the plate came first
    CHECK(alert.unit_id() == "P12");
    CHECK(alert.incident_number() == incident);
    CHECK(alert.subject() == "plate ABC123 (NY)");
    REQUIRE(alert.flags_size() >= 2);
    CHECK(alert.flags(0).kind() == v1::RECORDS_FLAG_STOLEN);
    CHECK(p7.mdcctl({"state"}).output.find("SAFETY      P12 on " + incident + " ran plate ABC123 (NY): STOLEN") !=
          std::string::npos);
  }
  CHECK(p3.state().safety_alerts_size() == 0);
  CHECK(p12.state().safety_alerts_size() == 0);  // the querying unit has the answer itself

  // The dispatcher: a board flag, and the hit on the CFS's timeline.
  auto board = stub.cadctl({"--agency", "PD1", "board"});
  INFO(board.output);
  CHECK(std::regex_search(board.output, std::regex("P12 .*OFFICER-SAFETY STOLEN, WANTED, CAUTION: person DOE, JOHN 1980-04-12")));
  CHECK(!std::regex_search(board.output, std::regex("P7 .*OFFICER-SAFETY")));
  auto cfs = stub.cadctl({"cfs", "show", incident});
  CHECK(cfs.output.find("OFFICER SAFETY: P12 ran plate ABC123 (NY): STOLEN, WANTED, CAUTION") != std::string::npos);

  // The audit: every query that reached the backend, with who, from where, why and what came back.
  auto audit = stub.cadctl({"audit", "queries", "--json"});
  INFO(audit.output);
  const QJsonArray rows = QJsonDocument::fromJson(QByteArray::fromStdString(audit.output)).array();
  REQUIRE(rows.size() == 4);  // the refused ones never reached the records system
  const QJsonObject first = rows[0].toObject();
  CHECK(first["unit"].toString() == "P12");
  CHECK(first["device"].toString() == "MDC-P12");
  CHECK(first["subject"].toString() == "plate ABC123 (NY)");
  CHECK(first["incident"].toString() == QString::fromStdString(incident));
  CHECK(first["hit"].toBool());
  CHECK(first["outcome"].toString() == "HIT: STOLEN, WANTED, CAUTION (2 records)");
  CHECK(first["at_ms"].toInteger() >= t0);
  CHECK(first["answered_at_ms"].toInteger() >= first["at_ms"].toInteger());
  CHECK(first["answer_pos"].toInteger() > first["query_pos"].toInteger());
  CHECK(rows[1].toObject()["reason_code"].toString() == "TRAFFIC_STOP");
  CHECK(rows[1].toObject()["outcome"].toString() == "2 records");
  CHECK(rows[3].toObject()["outcome"].toString() == "no record");
  auto text = stub.cadctl({"audit", "queries"});
  CHECK(text.output.find("4 queries, 2 with an officer-safety hit, 0 without an answer") != std::string::npos);
  CHECK(jsonArray(stub.cadctl({"audit", "queries", "--unit", "P7", "--json"})).isEmpty());
  CHECK(jsonArray(stub.cadctl({"audit", "queries", "--since", "1h", "--json"})).size() == 4);
  CHECK(jsonArray(stub.cadctl({"audit", "queries", "--since", "2099-01-01T00:00:00Z", "--json"})).isEmpty());
  CHECK(stub.cadctl({"audit", "queries", "--since", "yesterday"}).exitCode == 2);
  auto events = stub.cadctl({"events", "--limit", "100000"});
  CHECK(std::regex_search(events.output, std::regex("device:MDC-P12 .* records_query +plate ABC123 \\(NY\\) for CFS")));
  CHECK(std::regex_search(events.output, std::regex("records:records-stub +P12 .* records.answer .*Reported stolen")));

  // The log still verifies, and a replay derives the same audit and board.
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  REQUIRE(stub.cadctl({"replay", "--into", dir.file("replayed.db")}).exitCode == 0);
  CHECK(stub.cadctl({"--db", dir.file("replayed.db"), "digest"}).output == stub.cadctl({"digest"}).output);

  // Nothing of an answer on the vehicle's disk (store and its WAL) or in its log.
  p12.stop();
  const std::string disk = fileText(p12.storePath()) + fileText(p12.storePath() + "-wal") + p12.log();
  for (const char* secret : {"HONDA", "DOE, JOHN", "Reported stolen", "Felony warrant", "ROE, JANE", "ABC123"})
    CHECK(disk.find(secret) == std::string::npos);
  CHECK(p7.log().find("Reported stolen") == std::string::npos);
}

TEST_CASE("an offline query fails at once, a slow answer says so, and an answer leaves the screen after "
          "records.show_s", "[records]") {
  // Not started: the records are imported before it starts.
  BackendStack backend({}, {.args = {"--records-delay-ms", "4000"}, .start = false});
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  REQUIRE(stub.cadctl({"records", "import", seed("vehicles"), seed("persons"), seed("flags")}).exitCode == 0);
  stub.start();
  REQUIRE(stub.waitReady());
  stub.addDevice("MDC-P12", "P12", "PD1");
  AgentProcess& p12 = backend.addAgent(
      "MDC-P12", "P12", "PD1",
      {"--set", "records.slow_s=1", "--set", "records.timeout_s=20", "--set", "records.show_s=10"});
  p12.start();
  REQUIRE(waitUntil([&] { return p12.state().link() == v1::LINK_STATE_ONLINE; }, 20s));

  // Slow: the state says so after a second, then the answer comes.
  auto client = p12.client();
  v1::ApiRequest req;
  req.mutable_records_query()->mutable_plate()->set_plate("XYZ789");
  req.mutable_records_query()->mutable_plate()->set_state("NY");
  req.mutable_records_query()->set_reason_code("TRAFFIC_STOP");
  auto sent = client->call(req);
  REQUIRE(sent);
  REQUIRE(sent->ok());
  CHECK(!sent->query_sent().query_id().empty());
  REQUIRE(waitUntil([&] {
    auto q = findQuery(p12.state(), "plate XYZ789 (NY)");
    return q && q->state() == v1::RECORDS_QUERY_STATE_SLOW;
  }, 3s));
  CHECK(findQuery(p12.state(), "plate XYZ789 (NY)")->detail().find("slow to answer") != std::string::npos);
  REQUIRE(waitUntil([&] {
    auto q = findQuery(p12.state(), "plate XYZ789 (NY)");
    return q && q->state() == v1::RECORDS_QUERY_STATE_ANSWERED;
  }, 10s));
  const auto answered = *findQuery(p12.state(), "plate XYZ789 (NY)");
  CHECK(answered.answered_at_ms() - answered.sent_at_ms() >= 3900);
  CHECK(answered.expires_at_ms() == answered.answered_at_ms() + 10000);
  CHECK(answered.answer().entries_size() == 2);
  // ... and leaves the screen (and the agent's memory) ten seconds after it came.
  REQUIRE(waitUntil([&] { return !findQuery(p12.state(), "plate XYZ789 (NY)"); }, 15s));
  CHECK(SystemClock::instance().nowMs() >= answered.expires_at_ms());

  // The link goes down while a query waits: it fails at once, saying why.
  REQUIRE(client->call(req)->ok());
  broker.kill9();
  REQUIRE(waitUntil([&] {
    auto q = findQuery(p12.state(), "plate XYZ789 (NY)");
    return q && q->state() == v1::RECORDS_QUERY_STATE_FAILED;
  }, 15s));
  CHECK(findQuery(p12.state(), "plate XYZ789 (NY)")->detail().find("went down before the answer") != std::string::npos);

  // Offline: refused at once, never queued.
  REQUIRE(waitUntil([&] { return p12.state().link() != v1::LINK_STATE_ONLINE; }, 10s));
  const auto before = p12.state();
  const int64_t t0 = SystemClock::instance().monotonicMs();
  auto offline = client->call(req);
  const int64_t took = SystemClock::instance().monotonicMs() - t0;
  REQUIRE(offline);
  CHECK_FALSE(offline->ok());
  CHECK(offline->error_code() == v1::API_ERROR_OFFLINE);
  CHECK(offline->error().find("never queued") != std::string::npos);
  CHECK(took < 1000);
  auto cli = p12.mdcctl({"query", "person", "--name", "DOE, JOHN", "--dob", "1980-04-12", "--reason", "INVESTIGATION"});
  CHECK(cli.exitCode == 1);
  CHECK(cli.output.find("no link to dispatch") != std::string::npos);
  const auto after = p12.state();
  CHECK(after.next_seq() == before.next_seq());  // nothing entered the outbox
  CHECK(after.counters().at("records_refused_offline") == 2);

  // Back online: the audit holds the two queries that left the vehicle.
  broker.start();
  REQUIRE(waitUntil([&] { return jsonArray(stub.cadctl({"audit", "queries", "--json"})).size() >= 1; }, 20s));
}
