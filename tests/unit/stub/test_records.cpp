// The records system the stub simulates: CSV lines (quoted, commented, CRLF),
// every bad line named with nothing written, and what a plate or a person
// query finds, most serious flag first.
#include <catch2/catch.hpp>

#include "server-stub/domain/csv.h"
#include "server-stub/domain/records.h"
#include "tests/support/temp_dir.h"

using namespace cad;
namespace v1 = mdc::v1;

namespace {

std::unique_ptr<records::RecordsSystem> openIn(const mdc::test::TempDir& dir) {
  auto r = records::RecordsSystem::open(dir.file("cad.db.records"));
  REQUIRE(r);
  return std::move(*r);
}

const char* kVehicles =
    "plate,state,year,make,model,color,owner_name,owner_dob\r\n"
    "# the demo's\r\n"
    "abc-123,ny,2019,HONDA,CIVIC,BLUE,\"doe, john\",1980-04-12\r\n"
    "XYZ789,NY,2021,TOYOTA,CAMRY,WHITE,\"ROE, JANE\",1975-09-30\r\n";
const char* kPersons =
    "name,dob,sex,height_cm,address\n"
    "\"DOE, JOHN\",1980-04-12,M,180,\"221 W 44TH ST, NEW YORK NY\"\n";
const char* kFlags =
    "subject,kind,detail\n"
    "\"person:DOE, JOHN:1980-04-12\",caution,Known to carry a knife\n"
    "plate:ABC123:NY,stolen,\"Reported stolen, \"\"blue Civic\"\"\"\n"
    "\"person:doe, john:1980-04-12\",WANTED,Felony warrant\n";

v1::RecordsQuery plate(const std::string& p, const std::string& st) {
  v1::RecordsQuery q;
  q.mutable_plate()->set_plate(p);
  q.mutable_plate()->set_state(st);
  q.set_reason_code("TRAFFIC_STOP");
  return q;
}

}  // namespace

TEST_CASE("csv: fields are trimmed, may be quoted, and keep commas and quotes inside quotes", "[records][csv]") {
  CHECK(csv::fields(" a , \"b, c\" ,d") == std::vector<std::string>{"a", "b, c", "d"});
  CHECK(csv::fields("\"say \"\"hi\"\"\",") == std::vector<std::string>{"say \"hi\"", ""});
  CHECK(csv::fields("") == std::vector<std::string>{""});
  std::vector<int> lines;
  csv::forEachLine("h\r\n\r\n# c\n x\nlast", [&](int n, std::string_view) { lines.push_back(n); });
  CHECK(lines == std::vector<int>{1, 4, 5});
}

TEST_CASE("records: a plate finds the vehicle and its owner, flags most serious first", "[records]") {
  mdc::test::TempDir dir;
  auto sys = openIn(dir);
  for (const char* text : {kVehicles, kPersons, kFlags}) {
    auto r = sys->importCsv(text, false);
    REQUIRE(r);
    INFO((r->errors.empty() ? "" : r->errors[0]));
    REQUIRE(r->errors.empty());
  }
  auto counts = sys->counts();
  CHECK(counts.vehicles == 2);
  CHECK(counts.persons == 1);
  CHECK(counts.flags == 3);

  auto a = sys->answer(plate("ABC123", "NY"));
  CHECK(a.hit());
  REQUIRE(a.entries_size() == 2);
  CHECK(a.entries(0).kind() == "vehicle");
  CHECK(a.entries(0).summary() == "ABC123 (NY): 2019 HONDA CIVIC BLUE, registered to DOE, JOHN (1980-04-12)");
  REQUIRE(a.entries(0).flags_size() == 1);
  CHECK(a.entries(0).flags(0).detail() == "Reported stolen, \"blue Civic\"");
  CHECK(a.entries(1).summary() == "Registered owner: DOE, JOHN, born 1980-04-12, M, 180 cm, 221 W 44TH ST, NEW YORK NY");
  REQUIRE(a.entries(1).flags_size() == 2);
  CHECK(a.entries(1).flags(0).kind() == v1::RECORDS_FLAG_WANTED);  // before CAUTION
  CHECK(a.entries(1).flags(1).kind() == v1::RECORDS_FLAG_CAUTION);

  // An owner with no person record and no flag adds no entry; the answer is clean.
  auto clean = sys->answer(plate("XYZ789", "NY"));
  CHECK_FALSE(clean.hit());
  CHECK(clean.entries_size() == 1);
  // Same plate, another state: another vehicle (none).
  CHECK(sys->answer(plate("ABC123", "NJ")).entries_size() == 0);

  // A person finds the person and the vehicles registered to them.
  v1::RecordsQuery p;
  p.mutable_person()->set_name("DOE, JOHN");
  p.mutable_person()->set_dob("1980-04-12");
  p.set_reason_code("FIELD_INTERVIEW");
  auto person = sys->answer(p);
  CHECK(person.hit());
  REQUIRE(person.entries_size() == 2);
  CHECK(person.entries(0).kind() == "person");
  CHECK(person.entries(1).summary() == "Registered vehicle ABC123 (NY): 2019 HONDA CIVIC BLUE");
  // Another date of birth is another person.
  p.mutable_person()->set_dob("1980-04-13");
  CHECK(sys->answer(p).entries_size() == 0);
}

TEST_CASE("records: every bad line is named, and a bad file writes nothing", "[records]") {
  mdc::test::TempDir dir;
  auto sys = openIn(dir);
  auto r = sys->importCsv(
      "subject,kind,detail\n"
      "plate:ABC123,stolen,x\n"             // 2: subject without a state
      "car:ABC123:NY,stolen,x\n"            // 3: neither plate nor person
      "plate:ABC123:NY,lost,x\n"            // 4: unknown kind
      "plate:ABC123:NY,wanted,x\n"          // 5: a warrant on a plate
      "plate:ABC123:NY,stolen,\n"           // 6: no detail
      "\"person:DOE JOHN:1980-04-12\",wanted,x\n"  // 7: a name without a comma
      "plate:ABC123:NY,stolen,ok\n"         // 8: good
      "plate:abc123:ny,stolen,again\n"      // 9: the same record as line 8
      "plate:ABC123:NY,stolen\n",           // 10: two fields
      false);
  REQUIRE(r);
  INFO(Catch::Detail::stringify(r->errors));
  REQUIRE(r->errors.size() == 8);
  CHECK(r->errors[0] == "line 2: subject \"plate:ABC123\": expected plate:PLATE:STATE or person:LAST, FIRST:YYYY-MM-DD");
  CHECK(r->errors[1].rfind("line 3: subject \"car:ABC123:NY\"", 0) == 0);
  CHECK(r->errors[2] == "line 4: kind \"lost\": expected stolen, wanted or caution");
  CHECK(r->errors[3] == "line 5: kind \"wanted\": a warrant names a person, not a plate");
  CHECK(r->errors[4] == "line 6: detail: required, 1-200 characters");
  CHECK(r->errors[5] == "line 7: subject: person.name: \"DOE JOHN\" must be LAST, FIRST [MIDDLE] in upper case");
  CHECK(r->errors[6] == "line 9: the same record as line 8");
  CHECK(r->errors[7] == "line 10: 2 fields, expected 3");
  CHECK(sys->counts().flags == 0);  // nothing written, not even line 8

  auto latin1 = sys->importCsv("name,dob,sex,height_cm,address\n\"M\xdcLLER, JOS\xc9\",1980-04-12,M,180,x\n", false);
  REQUIRE(latin1);
  CHECK(latin1->errors == std::vector<std::string>{"line 2: field 1: not valid UTF-8 (save the file as UTF-8)"});
  auto utf8 = sys->importCsv("name,dob,sex,height_cm,address\n\"MÜLLER, JOSÉ\",1980-04-12,M,180,\"" +
                                 std::string(121, 'x') + "\"\n", false);
  REQUIRE(utf8);
  CHECK(utf8->errors == std::vector<std::string>{"line 2: address: at most 120 characters"});

  auto header = sys->importCsv("plate,state\nABC123,NY\n", false);
  REQUIRE(header);
  REQUIRE(header->errors.size() == 1);
  CHECK(header->errors[0].rfind("line 1: the first line names the table's columns", 0) == 0);
  auto empty = sys->importCsv("# nothing\n", false);
  REQUIRE(empty);
  CHECK(empty->errors == std::vector<std::string>{"the file is empty: no header line"});
}
