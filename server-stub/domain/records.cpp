#include "server-stub/domain/records.h"

#include <algorithm>
#include <map>

#include "server-stub/domain/csv.h"
#include "shared/wire/codec.h"

namespace cad::records {

namespace v1 = mdc::v1;
namespace sql = mdc::sql;
namespace codec = mdc::codec;
using mdc::Error;

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS vehicles(plate TEXT NOT NULL, state TEXT NOT NULL, year INTEGER NOT NULL,
  make TEXT NOT NULL, model TEXT NOT NULL, color TEXT NOT NULL, owner_name TEXT NOT NULL, owner_dob TEXT NOT NULL,
  PRIMARY KEY(plate, state));
CREATE INDEX IF NOT EXISTS vehicles_by_owner ON vehicles(owner_name, owner_dob);
CREATE TABLE IF NOT EXISTS persons(name TEXT NOT NULL, dob TEXT NOT NULL, sex TEXT NOT NULL,
  height_cm INTEGER NOT NULL, address TEXT NOT NULL, PRIMARY KEY(name, dob));
-- subject: "plate:ABC123:NY" or "person:DOE, JOHN:1980-04-12"; kind: stolen, wanted, caution
CREATE TABLE IF NOT EXISTS flags(subject TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
  PRIMARY KEY(subject, kind));
)sql";

std::string quoted(const std::string& s) { return "\"" + (codec::utf8Length(s) > 40 ? codec::truncateUtf8(s, 40) + "..." : s) + "\""; }

/** Why a subject is not one a query may carry ("" when it is): the codec's words. */
std::string whyInvalid(v1::RecordsQuery q) {
  q.set_reason_code("INVESTIGATION");
  auto s = codec::validateRecordsQuery(q, "");
  return s ? "" : s.error().message.substr(1);  // drop the empty prefix's dot
}

std::string checkPlate(const std::string& plate, const std::string& state) {
  v1::RecordsQuery q;
  q.mutable_plate()->set_plate(plate);
  q.mutable_plate()->set_state(state);
  return whyInvalid(std::move(q));
}

std::string checkPerson(const std::string& name, const std::string& dob) {
  v1::RecordsQuery q;
  q.mutable_person()->set_name(name);
  q.mutable_person()->set_dob(dob);
  return whyInvalid(std::move(q));
}

bool isWholeNumber(const std::string& s, int lo, int hi) {
  if (s.empty() || s.size() > 6 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
  int v = std::stoi(s);
  return v >= lo && v <= hi;
}

}  // namespace

std::string plateKey(const std::string& plate, const std::string& state) { return "plate:" + plate + ":" + state; }
std::string personKey(const std::string& name, const std::string& dob) { return "person:" + name + ":" + dob; }

Result<std::unique_ptr<RecordsSystem>> RecordsSystem::open(const std::string& path) {
  try {
    auto db = std::make_unique<sql::SqliteDb>(path);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec(kSchema);
    return std::unique_ptr<RecordsSystem>(new RecordsSystem(std::move(db)));
  } catch (const sql::DbError& e) {
    return Error::make("records: \"" + path + "\": " + e.what());
  }
}

namespace {

// Each checks and normalises one row of its table, adding what is wrong to
// errors (prefixed with at), and returns the row's key among the file's rows.

std::string vehicleRow(std::vector<std::string>& f, const std::string& at, std::vector<std::string>& errors) {
  std::string why;
  f[0] = codec::normalizePlate(f[0]);
  f[1] = codec::normalizePlate(f[1]);
  f[6] = codec::normalizeName(f[6]);
  if (!(why = checkPlate(f[0], f[1])).empty()) errors.push_back(at + why);
  else if (!isWholeNumber(f[2], 1900, 2100)) errors.push_back(at + "year " + quoted(f[2]) + ": expected 1900-2100");
  else if (f[3].empty() || f[4].empty() || f[5].empty() || codec::utf8Length(f[3]) > 32 ||
           codec::utf8Length(f[4]) > 32 || codec::utf8Length(f[5]) > 32)
    errors.push_back(at + "make, model and color are required, each 1-32 characters");
  else if (!(why = checkPerson(f[6], f[7])).empty()) errors.push_back(at + "owner: " + why);
  return plateKey(f[0], f[1]);
}

std::string personRow(std::vector<std::string>& f, const std::string& at, std::vector<std::string>& errors) {
  std::string why;
  f[0] = codec::normalizeName(f[0]);
  f[2] = codec::normalizePlate(f[2]);
  if (!(why = checkPerson(f[0], f[1])).empty()) errors.push_back(at + why);
  else if (f[2] != "M" && f[2] != "F" && f[2] != "X") errors.push_back(at + "sex " + quoted(f[2]) + ": expected M, F or X");
  else if (!isWholeNumber(f[3], 50, 250)) errors.push_back(at + "height_cm " + quoted(f[3]) + ": expected 50-250");
  else if (codec::utf8Length(f[4]) > 120) errors.push_back(at + "address: at most 120 characters");
  return personKey(f[0], f[1]);
}

std::string flagRow(std::vector<std::string>& f, const std::string& at, std::vector<std::string>& errors) {
  // subject "plate:ABC123:NY" or "person:DOE, JOHN:1980-04-12"
  const std::string& subject = f[0];
  size_t a = subject.find(':'), b = subject.rfind(':');
  std::string type = subject.substr(0, a);
  if (a == std::string::npos || a == b || (type != "plate" && type != "person")) {
    errors.push_back(at + "subject " + quoted(subject) + ": expected plate:PLATE:STATE or person:LAST, FIRST:YYYY-MM-DD");
    return {};
  }
  std::string first = subject.substr(a + 1, b - a - 1), second = subject.substr(b + 1), why;
  if (type == "plate") {
    first = codec::normalizePlate(first);
    second = codec::normalizePlate(second);
    if (!(why = checkPlate(first, second)).empty()) errors.push_back(at + "subject: " + why);
    f[0] = plateKey(first, second);
  } else {
    first = codec::normalizeName(first);
    if (!(why = checkPerson(first, second)).empty()) errors.push_back(at + "subject: " + why);
    f[0] = personKey(first, second);
  }
  for (auto& c : f[1]) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (codec::recordsFlagFromName(f[1]) == v1::RECORDS_FLAG_UNSPECIFIED)
    errors.push_back(at + "kind " + quoted(f[1]) + ": expected stolen, wanted or caution");
  else if (type == "plate" && f[1] == "wanted")
    errors.push_back(at + "kind \"wanted\": a warrant names a person, not a plate");
  if (f[2].empty() || codec::utf8Length(f[2]) > 200) errors.push_back(at + "detail: required, 1-200 characters");
  return f[0] + "|" + f[1];
}

/** The table a header line names, or "" (with the error said) when it names none. */
std::string tableOfHeader(const std::vector<std::string>& f, const std::string& at, std::vector<std::string>& errors) {
  std::string header;
  for (const auto& h : f) header += (header.empty() ? "" : ",") + h;
  if (header == kVehiclesHeader) return "vehicles";
  if (header == kPersonsHeader) return "persons";
  if (header == kFlagsHeader) return "flags";
  errors.push_back(at + "the first line names the table's columns: \"" + kVehiclesHeader + "\", \"" + kPersonsHeader +
                   "\" or \"" + kFlagsHeader + "\", not " + quoted(header));
  return {};
}

}  // namespace

Result<ImportReport> RecordsSystem::importCsv(std::string_view text, bool dryRun) {
  ImportReport r;
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, int> keyLine;
  size_t columns = 0;
  csv::forEachLine(text, [&](int number, std::string_view raw) {
    auto f = csv::fields(raw);
    const std::string at = "line " + std::to_string(number) + ": ";
    if (r.table.empty()) {
      r.table = tableOfHeader(f, at, r.errors);
      if (!r.table.empty()) columns = f.size();
      r.table = r.table.empty() ? "?" : r.table;
      return;
    }
    if (columns == 0) return;  // no table: one error is enough
    ++r.rows;
    if (f.size() != columns) {
      r.errors.push_back(at + std::to_string(f.size()) + " fields, expected " + std::to_string(columns));
      return;
    }
    for (size_t i = 0; i < f.size(); ++i)
      if (!codec::isValidUtf8(f[i])) {
        r.errors.push_back(at + "field " + std::to_string(i + 1) + ": not valid UTF-8 (save the file as UTF-8)");
        return;
      }
    const size_t errorsBefore = r.errors.size();
    const std::string key = r.table == "vehicles" ? vehicleRow(f, at, r.errors)
                            : r.table == "persons" ? personRow(f, at, r.errors)
                                                   : flagRow(f, at, r.errors);
    if (r.errors.size() != errorsBefore) return;  // a bad line is no record to compare others with
    if (auto k = keyLine.find(key); k != keyLine.end()) {
      r.errors.push_back(at + "the same record as line " + std::to_string(k->second));
      return;
    }
    keyLine[key] = number;
    rows.push_back(std::move(f));
  });
  if (r.table.empty()) r.errors.push_back("the file is empty: no header line");
  if (!r.errors.empty()) return r;
  return storeRows(rows, dryRun, r);
}

Result<ImportReport> RecordsSystem::storeRows(const std::vector<std::vector<std::string>>& rows, bool dryRun,
                                              ImportReport r) {
  try {
    sql::Transaction tx(*db_);
    const char* exists = r.table == "vehicles" ? "SELECT 1 FROM vehicles WHERE plate=? AND state=?"
                         : r.table == "persons" ? "SELECT 1 FROM persons WHERE name=? AND dob=?"
                                                : "SELECT 1 FROM flags WHERE subject=? AND kind=?";
    const char* insert = r.table == "vehicles" ? "INSERT OR REPLACE INTO vehicles VALUES(?,?,?,?,?,?,?,?)"
                         : r.table == "persons" ? "INSERT OR REPLACE INTO persons VALUES(?,?,?,?,?)"
                                                : "INSERT OR REPLACE INTO flags VALUES(?,?,?)";
    auto ex = db_->prepare(exists);
    auto in = db_->prepare(insert);
    for (const auto& f : rows) {
      ex.bind(1, f[0]).bind(2, f[1]);
      bool had = ex.step();
      ex.reset();
      ++(had ? r.replaced : r.added);
      if (dryRun) continue;
      for (size_t i = 0; i < f.size(); ++i) {
        bool number = (r.table == "vehicles" && i == 2) || (r.table == "persons" && i == 3);
        if (number) in.bind(int(i + 1), int64_t(std::stoll(f[i])));
        else in.bind(int(i + 1), f[i]);
      }
      in.run();
      in.reset();
    }
    if (!dryRun) tx.commit();
  } catch (const sql::DbError& e) {
    return Error::make("records: \"" + db_->path() + "\": nothing imported: " + e.what());
  }
  return r;
}

std::vector<v1::RecordsFlag> RecordsSystem::flagsOf(const std::string& subject) {
  std::vector<v1::RecordsFlag> out;
  auto st = db_->prepare("SELECT kind, detail FROM flags WHERE subject=? "
                         "ORDER BY CASE kind WHEN 'stolen' THEN 1 WHEN 'wanted' THEN 2 ELSE 3 END");
  st.bind(1, subject);
  while (st.step() && out.size() < 8) {
    v1::RecordsFlag f;
    f.set_kind(codec::recordsFlagFromName(st.text(0)));
    f.set_detail(st.text(1));
    out.push_back(std::move(f));
  }
  return out;
}

v1::RecordsAnswer RecordsSystem::answer(const v1::RecordsQuery& q) {
  v1::RecordsAnswer a;
  auto add = [&](const std::string& kind, const std::string& summary, const std::string& subject) {
    if (a.entries_size() >= 16) return;
    auto* e = a.add_entries();
    e->set_kind(kind);
    e->set_summary(codec::truncateUtf8(summary, 300));
    for (auto& f : flagsOf(subject)) *e->add_flags() = std::move(f);
    if (e->flags_size() > 0) a.set_hit(true);
  };
  auto personSummary = [&](const std::string& name, const std::string& dob) -> std::optional<std::string> {
    auto st = db_->prepare("SELECT sex, height_cm, address FROM persons WHERE name=? AND dob=?");
    st.bind(1, name).bind(2, dob);
    if (!st.step()) return std::nullopt;
    return name + ", born " + dob + ", " + st.text(0) + ", " + std::to_string(st.i64(1)) + " cm, " + st.text(2);
  };
  try {
    if (q.has_plate()) {
      const std::string key = plateKey(q.plate().plate(), q.plate().state());
      auto st = db_->prepare(
          "SELECT year, make, model, color, owner_name, owner_dob FROM vehicles WHERE plate=? AND state=?");
      st.bind(1, q.plate().plate()).bind(2, q.plate().state());
      if (st.step()) {
        const std::string owner = st.text(4), dob = st.text(5);
        add("vehicle",
            q.plate().plate() + " (" + q.plate().state() + "): " + std::to_string(st.i64(0)) + " " + st.text(1) + " " +
                st.text(2) + " " + st.text(3) + ", registered to " + owner + " (" + dob + ")",
            key);
        auto person = personSummary(owner, dob);
        if (person || !flagsOf(personKey(owner, dob)).empty())
          add("person", "Registered owner: " + person.value_or(owner + ", born " + dob), personKey(owner, dob));
      } else if (!flagsOf(key).empty()) {
        add("vehicle", q.plate().plate() + " (" + q.plate().state() + "): no registration on file", key);
      }
    } else if (q.has_person()) {
      const std::string& name = q.person().name();
      const std::string& dob = q.person().dob();
      auto person = personSummary(name, dob);
      if (person || !flagsOf(personKey(name, dob)).empty())
        add("person", person.value_or(name + ", born " + dob + ": no other record"), personKey(name, dob));
      auto st = db_->prepare(
          "SELECT plate, state, year, make, model, color FROM vehicles WHERE owner_name=? AND owner_dob=? "
          "ORDER BY plate, state");
      st.bind(1, name).bind(2, dob);
      while (st.step())
        add("vehicle",
            "Registered vehicle " + st.text(0) + " (" + st.text(1) + "): " + std::to_string(st.i64(2)) + " " +
                st.text(3) + " " + st.text(4) + " " + st.text(5),
            plateKey(st.text(0), st.text(1)));
    }
  } catch (const sql::DbError& e) {
    a.Clear();
    a.set_refused(codec::truncateUtf8(std::string("the records system could not answer: ") + e.what(), 300));
  }
  return a;
}

Counts RecordsSystem::counts() {
  return Counts{db_->queryInt("SELECT COUNT(*) FROM vehicles"), db_->queryInt("SELECT COUNT(*) FROM persons"),
                db_->queryInt("SELECT COUNT(*) FROM flags")};
}

}  // namespace cad::records
