#pragma once
// `cadctl devices import`: a fleet's registry from a CSV file (device, unit,
// agency), checked whole before anything is written. Pure logic; cadctl reads
// the registry and sends the registrations.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cad::fleet {

/** One registration asked for by the file. */
struct Row {
  int line = 0;
  std::string device, unit, agency;
};

/** What an import would do. Nothing may be written while errors is not empty. */
struct Plan {
  std::vector<Row> add;          ///< new registrations, in file order
  std::vector<Row> unchanged;    ///< already registered exactly so
  std::vector<std::string> errors;  ///< "line 4: device \"MDC 9\": ..." in file order
};

/** The registry as it stands: device -> (unit, agency), unit -> agency. */
struct Registry {
  std::map<std::string, std::pair<std::string, std::string>> devices;
  std::map<std::string, std::string> unitAgency;
};

/** Reads "device,unit,agency" lines: a first line naming the columns is
 *  allowed, blank lines and lines starting with # are skipped, fields are
 *  trimmed and may be double-quoted. Each row is checked (the forms cadctl
 *  devices add takes, a device or unit given twice, a unit of another agency,
 *  a device registered to another unit). */
Plan plan(std::string_view csv, const Registry& registry);

}  // namespace cad::fleet
