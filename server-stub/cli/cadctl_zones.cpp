#include "server-stub/cli/cadctl_zones.h"

#include <map>

#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <iostream>

#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"
#include "server-stub/domain/zones.h"

namespace cad::cli {

std::optional<ControlRequest> zonesRequest(ControlRequest r, const std::vector<std::string>& pos,
                                           const std::map<std::string, std::string>& opts,
                                           const std::set<std::string>& flags) {
  auto bad = [](const std::string& why) -> std::optional<ControlRequest> {
    std::cerr << "cadctl: zones: " << why << "\n(see cadctl --help)\n";
    return std::nullopt;
  };
  auto opt = [&](const char* name) -> std::string {
    auto it = opts.find(name);
    return it == opts.end() ? "" : it->second;
  };
  if (pos.size() != 3) return bad(pos.size() < 2 ? "a subcommand is required" : "zones " + pos[1] + " takes one name");
  const std::string& verb = pos[1];
  if (verb == "set") {
    if (opt("--district").empty()) return bad("zones set ZONE --district D");
    r.mutable_zone_set()->set_zone(pos[2]);
    r.mutable_zone_set()->set_district(opt("--district"));
  } else if (verb == "remove") {
    r.mutable_zone_remove()->set_zone(pos[2]);
  } else if (verb == "assign") {
    if (opt("--zone").empty()) return bad("zones assign UNIT --zone Z (or --zone none)");
    r.mutable_unit_zone()->set_unit(pos[2]);
    r.mutable_unit_zone()->set_zone(opt("--zone") == "none" ? std::string() : opt("--zone"));
  } else if (verb == "supervise") {
    const int given = int(!opt("--zones").empty()) + int(!opt("--district").empty()) + int(flags.count("--none") > 0);
    if (given != 1) return bad("zones supervise UNIT with one of --zones Z1,Z2 | --district D | --none");
    cad::control::Supervisor& s = *r.mutable_supervisor();
    s.set_unit(pos[2]);
    s.set_district(opt("--district"));
    if (!opt("--zones").empty())
      for (const QString& zone : QString::fromStdString(opt("--zones")).split(',')) s.add_zones(zone.toStdString());
  } else {
    return bad("unknown subcommand \"" + verb + "\" (set, remove, assign, supervise, list)");
  }
  return r;
}

int zonesList(EventStore& s, const std::string& agency, bool json) {
  ReadModels read(s);
  const auto supervisors = read.supervisors();
  std::map<std::pair<std::string, std::string>, std::string> unitsIn;  // (agency, zone) -> "E1 E2"
  for (const auto& u : read.zonedUnits()) {
    std::string& list = unitsIn[{u.agency, u.zone}];
    list += (list.empty() ? "" : " ") + u.unit;
  }
  QJsonArray rows;
  if (!json) std::printf("%-6s %-12s %-12s %-30s %s\n", "AGENCY", "DISTRICT", "ZONE", "UNITS", "SUPERVISED BY");
  for (const auto& z : read.zones(agency)) {
    std::string by;
    for (const auto& sv : supervisors)
      if (sv.agency == z.agency && sv.zones.count(z.zone)) by += (by.empty() ? "" : " ") + sv.unit;
    const std::string units = unitsIn[{z.agency, z.zone}];
    if (json) {
      rows.append(QJsonObject{{"agency", QString::fromStdString(z.agency)},
                              {"district", QString::fromStdString(z.district)},
                              {"zone", QString::fromStdString(z.zone)},
                              {"units", QJsonArray::fromStringList(QString::fromStdString(units).split(' ', Qt::SkipEmptyParts))},
                              {"supervisors", QJsonArray::fromStringList(QString::fromStdString(by).split(' ', Qt::SkipEmptyParts))}});
    } else {
      std::printf("%-6s %-12s %-12s %-30s %s\n", z.agency.c_str(), z.district.c_str(), z.zone.c_str(),
                  units.empty() ? "-" : units.c_str(), by.empty() ? "-" : by.c_str());
    }
  }
  if (json) printJson(rows);
  return 0;
}

int zonesCommand(Invocation& inv) {
  const Args& a = inv.a;
  if (a.pos.size() == 2 && a.pos[1] == "list")
    return withStore(inv, [&](EventStore& s) { return zonesList(s, inv.agency, inv.json); });
  if (inv.agency.empty()) return usage("zones: --agency (or $CAD_AGENCY) is required");
  auto r = zonesRequest(inv.request(), a.pos, a.opts, a.flags);
  if (!r) return kUsage;
  return control(inv.control, *r);
}

}  // namespace cad::cli
