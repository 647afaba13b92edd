#include "server-stub/cli/cadctl_types.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <iostream>

#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"
#include "server-stub/domain/apco.h"

namespace cad::cli {

namespace {
const char* disciplineName(mdc::apco::Discipline d) {
  switch (d) {
    case mdc::apco::Discipline::kLaw:
      return "law";
    case mdc::apco::Discipline::kFire:
      return "fire";
    case mdc::apco::Discipline::kEms:
      return "ems";
    case mdc::apco::Discipline::kOther:
      break;
  }
  return "other";
}
}  // namespace

std::optional<ControlRequest> typesRequest(ControlRequest r, const std::vector<std::string>& pos,
                                           const std::map<std::string, std::string>& opts) {
  auto bad = [](const std::string& why) -> std::optional<ControlRequest> {
    std::cerr << "cadctl: types: " << why << "\n(see cadctl --help)\n";
    return std::nullopt;
  };
  if (pos.size() != 3) return bad("types add CODE --label L --apco APCO | types remove CODE");
  if (pos[1] == "remove") {
    r.mutable_cfs_type_remove()->set_type(pos[2]);
    return r;
  }
  auto label = opts.find("--label"), apco = opts.find("--apco");
  if (label == opts.end() || apco == opts.end()) return bad("types add CODE --label L --apco APCO: both are required");
  r.mutable_cfs_type_add()->set_type(pos[2]);
  r.mutable_cfs_type_add()->set_label(label->second);
  r.mutable_cfs_type_add()->set_apco(apco->second);
  return r;
}

int typesList(EventStore& s, const std::string& agency, bool apco, bool json) {
  if (apco) {
    QJsonArray rows;
    for (const auto& t : mdc::apco::incidentTypes()) {
      if (json) {
        rows.append(QJsonObject{{"code", QString::fromUtf8(t.code.data(), qsizetype(t.code.size()))},
                                {"name", QString::fromUtf8(t.name.data(), qsizetype(t.name.size()))},
                                {"discipline", disciplineName(t.discipline)}});
      } else {
        std::printf("%-9s %-6s %.*s\n", std::string(t.code).c_str(), disciplineName(t.discipline), int(t.name.size()),
                    t.name.data());
      }
    }
    if (json) printJson(rows);
    else std::printf("%zu APCO ANS 2.103.1 incident types (every agency may use them)\n", mdc::apco::incidentTypes().size());
    return 0;
  }
  std::vector<std::string> agencies;
  if (!agency.empty()) {
    agencies.push_back(agency);
  } else {
    agencies = ReadModels(s).agenciesWithOwnTypes();
  }
  QJsonArray rows;
  size_t n = 0;
  if (!json) std::printf("%-6s %-16s %-28s %s\n", "AGENCY", "CODE", "LABEL", "APCO");
  for (const auto& a : agencies) {
    for (const auto& t : ReadModels(s).agencyCfsTypes(a)) {
      const auto* p = mdc::apco::findIncidentType(t.apcoCode);
      const std::string apcoName = p ? std::string(p->name) : "?";
      ++n;
      if (json) {
        rows.append(QJsonObject{{"agency", QString::fromStdString(a)},
                                {"code", QString::fromStdString(t.code)},
                                {"label", QString::fromStdString(t.label)},
                                {"apco", QString::fromStdString(t.apcoCode)},
                                {"apco_name", QString::fromStdString(apcoName)}});
      } else {
        std::printf("%-6s %-16s %-28s %s %s\n", a.c_str(), t.code.c_str(), t.label.c_str(), t.apcoCode.c_str(),
                    apcoName.c_str());
      }
    }
  }
  if (json) {
    printJson(rows);
  } else if (n == 0) {
    std::printf("no agency types%s: devices offer their default set, dispatchers use APCO codes (types list --apco)\n",
                agency.empty() ? "" : (" in " + agency).c_str());
  }
  return 0;
}

int typesCommand(Invocation& inv) {
  const Args& a = inv.a;
  if (a.pos.size() >= 2 && (a.pos[1] == "add" || a.pos[1] == "remove")) {
    if (inv.agency.empty()) return usage("types " + a.pos[1] + ": --agency (or $CAD_AGENCY) is required");
    auto r = typesRequest(inv.request(), a.pos, a.opts);
    if (!r) return kUsage;
    return control(inv.control, *r);
  }
  return withStore(inv, [&](EventStore& s) {
    if (a.pos.size() != 2 || (a.pos[1] != "list" && a.pos[1] != "apco"))
      return usage("types list | types apco | types add CODE --label L --apco APCO | types remove CODE");
    return typesList(s, inv.agency, a.pos[1] == "apco", inv.json);
  });
}

}  // namespace cad::cli
