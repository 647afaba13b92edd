#include "server-stub/cli/cadctl_config.h"

#include <QJsonArray>

#include <cstdio>
#include <iostream>
#include <utility>

#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"

namespace cad::cli {

namespace {

int set(Invocation& inv) {
  Args& a = inv.a;
  if (inv.agency.empty()) return usage("config set: --agency (or $CAD_AGENCY) is required");
  if (!a.opts.count("--statuses")) return usage("config set --statuses S1,S2,... [--avl-moving SEC] [--avl-stationary SEC]");
  ControlRequest r = inv.request();
  cad::control::AgencyConfig& config = *r.mutable_agency_config();
  const QString list = QString::fromStdString(a.opts["--statuses"]);
  // Empty names are kept: the stub refuses them with the value named.
  if (list != "default")
    for (const QString& name : list.split(',')) config.add_statuses(name.toStdString());
  auto moving = countOption(a, "--avl-moving", 0, 0, 3600);
  if (!moving) return kUsage;
  auto stationary = countOption(a, "--avl-stationary", 0, 0, 3600);
  if (!stationary) return kUsage;
  config.set_avl_moving_s(int(*moving));
  config.set_avl_stationary_s(int(*stationary));
  return control(inv.control, r);
}

int show(EventStore& s, const std::string& agency, bool json) {
  QJsonArray arr;
  for (const auto& c : ReadModels(s).agencyConfigs(agency)) {
    QJsonArray names;
    for (const auto& n : QString::fromStdString(c.statuses).split(',', Qt::SkipEmptyParts)) names.append(n);
    arr.append(QJsonObject{{"agency", QString::fromStdString(c.agency)},
                           {"statuses", names},
                           {"avl_moving_s", qint64(c.avlMovingS)},
                           {"avl_stationary_s", qint64(c.avlStationaryS)},
                           {"updated_at_ms", qint64(c.updatedAtMs)},
                           {"updated_by", QString::fromStdString(c.updatedBy)}});
    if (!json)
      std::printf("%-6s statuses %s; AVL moving %s, stationary %s; set %s by %s\n", c.agency.c_str(),
                  c.statuses.empty() ? "(device default)" : c.statuses.c_str(),
                  c.avlMovingS ? (std::to_string(c.avlMovingS) + " s").c_str() : "(device)",
                  c.avlStationaryS ? (std::to_string(c.avlStationaryS) + " s").c_str() : "(device)",
                  iso(c.updatedAtMs).c_str(), c.updatedBy.c_str());
  }
  if (json) printJson(arr);
  else if (arr.isEmpty()) std::cout << "no agency configuration set (devices use their own defaults)\n";
  return kOk;
}

}  // namespace

int configCommand(Invocation& inv) {
  const std::string verb = inv.a.pos.size() >= 2 ? inv.a.pos[1] : "";
  if (verb == "set") return set(inv);
  if (verb == "show") return withStore(inv, [&](EventStore& s) { return show(s, inv.agency, inv.json); });
  return unknownCommand(inv);
}

}  // namespace cad::cli
