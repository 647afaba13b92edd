#include "server-stub/cli/cadctl_dispatch.h"

#include <cstdlib>

namespace cad::cli {

namespace {

// --lat and --lon into the request; kOk, or the usage error.
int putPosition(const Args& a, QJsonObject& r) {
  if (a.opts.count("--lat") != a.opts.count("--lon")) return usage("create-cfs: --lat and --lon go together");
  if (!a.opts.count("--lat")) return kOk;
  char* e1 = nullptr;
  char* e2 = nullptr;
  double lat = std::strtod(a.opts.at("--lat").c_str(), &e1), lon = std::strtod(a.opts.at("--lon").c_str(), &e2);
  if (*e1 || *e2) return usage("create-cfs: --lat/--lon must be numbers");
  r["lat"] = lat;
  r["lon"] = lon;
  return kOk;
}

}  // namespace

int createCfsCommand(Invocation& inv) {
  Args& a = inv.a;
  if (inv.agency.empty()) return usage("create-cfs: --agency (or $CAD_AGENCY) is required");
  if (!a.opts.count("--type")) return usage("create-cfs: --type is required");
  QJsonObject r = inv.request("create_cfs");
  r["type"] = QString::fromStdString(a.opts["--type"]);
  if (a.opts.count("--priority")) {
    char* end = nullptr;
    long p = std::strtol(a.opts["--priority"].c_str(), &end, 10);
    if (*end || p < 1 || p > 9) return usage("create-cfs: --priority \"" + a.opts["--priority"] + "\": out of range 1-9");
    r["priority"] = int(p);
  }
  if (a.opts.count("--address")) r["address"] = QString::fromStdString(a.opts["--address"]);
  if (a.opts.count("--notes")) r["text"] = QString::fromStdString(a.opts["--notes"]);
  if (int rc = putPosition(a, r); rc != kOk) return rc;
  return control(inv.control, r);
}

int assignOrMessageCommand(Invocation& inv) {
  const Args& a = inv.a;
  const std::string& cmd = a.pos[0];
  if (inv.agency.empty()) return usage(cmd + ": --agency (or $CAD_AGENCY) is required");
  if (a.pos.size() < 3) return usage(cmd == "assign" ? "assign CFS UNIT" : "message UNIT TEXT");
  QJsonObject r = inv.request(cmd.c_str());
  if (cmd == "assign") {
    r["incident"] = QString::fromStdString(a.pos[1]);
    r["unit"] = QString::fromStdString(a.pos[2]);
    r["force"] = a.flags.count("--force") > 0;
  } else {
    r["unit"] = QString::fromStdString(a.pos[1]);
    r["text"] = QString::fromStdString(a.pos[2]);
  }
  return control(inv.control, r);
}

int ackOrCloseCommand(Invocation& inv) {
  const Args& a = inv.a;
  const std::string& cmd = a.pos[0];
  if (inv.agency.empty()) return usage(cmd + ": --agency (or $CAD_AGENCY) is required");
  if (a.pos.size() < 2) return usage(cmd + (cmd == "close-cfs" ? " CFS" : " UNIT"));
  QJsonObject r = inv.request(cmd == "ack-emergency" ? "ack_emergency" : "close_cfs");
  r[cmd == "close-cfs" ? "incident" : "unit"] = QString::fromStdString(a.pos[1]);
  return control(inv.control, r);
}

int statsCommand(Invocation& inv) { return control(inv.control, QJsonObject{{"cmd", "stats"}}, true); }

}  // namespace cad::cli
