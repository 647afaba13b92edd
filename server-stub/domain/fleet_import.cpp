#include "server-stub/domain/fleet_import.h"

#include <algorithm>
#include <cctype>

#include "server-stub/domain/csv.h"
#include "shared/wire/topics.h"

namespace cad::fleet {

namespace {

bool validName(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.';
         });
}

std::string quoted(const std::string& s) { return "\"" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "\""; }

}  // namespace

Plan plan(std::string_view text, const Registry& registry) {
  Plan p;
  std::map<std::string, int> deviceLine, unitLine;
  std::map<std::string, std::string> unitDevice;
  csv::forEachLine(text, [&](int number, std::string_view raw) {
    auto fields = csv::fields(raw);
    auto at = "line " + std::to_string(number) + ": ";
    if (number == 1 && fields.size() == 3 && fields[0] == "device" && fields[1] == "unit" && fields[2] == "agency")
      return;  // the header
    if (fields.size() != 3) {
      p.errors.push_back(at + std::to_string(fields.size()) + " fields, expected 3 (device,unit,agency)");
      return;
    }
    Row r{number, fields[0], fields[1], fields[2]};
    const size_t before = p.errors.size();
    if (!mdc::topics::isValidDeviceId(r.device))
      p.errors.push_back(at + "device " + quoted(r.device) + ": must be 1-64 characters of A-Z a-z 0-9 . _ -");
    if (!validName(r.unit)) p.errors.push_back(at + "unit " + quoted(r.unit) + ": must be 1-32 characters of A-Z a-z 0-9 . _ -");
    if (!validName(r.agency))
      p.errors.push_back(at + "agency " + quoted(r.agency) + ": must be 1-32 characters of A-Z a-z 0-9 . _ -");
    if (p.errors.size() != before) return;
    if (auto d = deviceLine.find(r.device); d != deviceLine.end()) {
      p.errors.push_back(at + "device " + quoted(r.device) + ": also on line " + std::to_string(d->second));
      return;
    }
    deviceLine[r.device] = number;
    if (auto u = unitLine.find(r.unit); u != unitLine.end()) {
      p.errors.push_back(at + "unit " + quoted(r.unit) + ": also given to " + unitDevice[r.unit] + " on line " +
                         std::to_string(u->second) + " (a unit has one device)");
      return;
    }
    unitLine[r.unit] = number;
    unitDevice[r.unit] = r.device;
    if (auto ua = registry.unitAgency.find(r.unit); ua != registry.unitAgency.end() && ua->second != r.agency) {
      p.errors.push_back(at + "unit " + quoted(r.unit) + ": belongs to agency " + ua->second + ", not " + r.agency);
      return;
    }
    if (auto d = registry.devices.find(r.device); d != registry.devices.end()) {
      if (d->second.first == r.unit && d->second.second == r.agency) {
        p.unchanged.push_back(r);
      } else {
        p.errors.push_back(at + "device " + quoted(r.device) + ": registered to unit " + d->second.first + " of " +
                           d->second.second + " (cadctl devices move)");
      }
      return;
    }
    p.add.push_back(std::move(r));
  });
  return p;
}

}  // namespace cad::fleet
