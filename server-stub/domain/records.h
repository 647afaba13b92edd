#pragma once
// The records system the stub simulates: the agency's vehicles, persons and
// the flags an officer must know about (stolen, wanted, caution), in their own
// SQLite file (cad-stub --records, default <db>.records), apart from the CAD's
// event store as a state or national system would be. `cadctl records import`
// loads it from CSV; the stub answers queries from it.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "shared/wire/error.h"
#include "shared/infra/sqlite.h"

namespace cad::records {

using mdc::Result;

/** What an import did or would do. Nothing is written while errors is not empty. */
struct ImportReport {
  std::string table;                ///< vehicles, persons or flags (from the header line)
  int rows = 0;                     ///< data lines read
  int added = 0;                    ///< new records
  int replaced = 0;                 ///< records already there under the same key, replaced
  std::vector<std::string> errors;  ///< "line 4: plate \"AB C\": ..." in file order
};

/** Record counts, for the operator. */
struct Counts {
  int64_t vehicles = 0, persons = 0, flags = 0;
};

/** The CSV headers each table takes (the first line of a file names its table). */
inline constexpr const char* kVehiclesHeader = "plate,state,year,make,model,color,owner_name,owner_dob";
inline constexpr const char* kPersonsHeader = "name,dob,sex,height_cm,address";
inline constexpr const char* kFlagsHeader = "subject,kind,detail";

/** Thread-safety: one thread per object (one connection). */
class RecordsSystem {
 public:
  /** Opens (or creates, empty) the records file. Errors name the path. */
  static Result<std::unique_ptr<RecordsSystem>> open(const std::string& path);

  /** Loads one CSV file: the header line names its table. Every line is
   *  checked before anything is written; with any error, or with dryRun,
   *  nothing is. A record given again (same plate and state, same name and
   *  date of birth, same subject and kind) replaces the one stored. */
  Result<ImportReport> importCsv(std::string_view text, bool dryRun);

  /** The records a query matches, with their flags: a plate gives the vehicle
   *  and its registered owner; a person gives the person and the vehicles
   *  registered to them. hit is set when any entry has a flag. */
  mdc::v1::RecordsAnswer answer(const mdc::v1::RecordsQuery& query);

  Counts counts();

 private:
  explicit RecordsSystem(std::unique_ptr<mdc::sql::Db> db) : db_(std::move(db)) {}
  std::vector<mdc::v1::RecordsFlag> flagsOf(const std::string& subject);
  /** Counts the checked rows as added or replaced and, unless dryRun, writes them in one transaction. */
  Result<ImportReport> storeRows(const std::vector<std::vector<std::string>>& rows, bool dryRun, ImportReport r);
  std::unique_ptr<mdc::sql::Db> db_;
};

/** The flag subject keys: "plate:ABC123:NY", "person:DOE, JOHN:1980-04-12". */
std::string plateKey(const std::string& plate, const std::string& state);
std::string personKey(const std::string& name, const std::string& dob);

}  // namespace cad::records
