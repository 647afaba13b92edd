#include "server-stub/cli/cadctl_dispatch.h"

#include <cstdlib>

namespace cad::cli {

namespace {

// --lat and --lon into the call; kOk, or the usage error.
int putPosition(const Args& a, cad::control::CreateCfs& r) {
  if (a.opts.count("--lat") != a.opts.count("--lon")) return usage("create-cfs: --lat and --lon go together");
  if (!a.opts.count("--lat")) return kOk;
  char* e1 = nullptr;
  char* e2 = nullptr;
  double lat = std::strtod(a.opts.at("--lat").c_str(), &e1), lon = std::strtod(a.opts.at("--lon").c_str(), &e2);
  if (*e1 || *e2) return usage("create-cfs: --lat/--lon must be numbers");
  r.mutable_location()->set_lat(lat);
  r.mutable_location()->set_lon(lon);
  return kOk;
}

}  // namespace

int createCfsCommand(Invocation& inv) {
  Args& a = inv.a;
  if (inv.agency.empty()) return usage("create-cfs: --agency (or $CAD_AGENCY) is required");
  if (!a.opts.count("--type")) return usage("create-cfs: --type is required");
  ControlRequest req = inv.request();
  cad::control::CreateCfs& r = *req.mutable_create_cfs();
  r.set_type(a.opts["--type"]);
  if (a.opts.count("--priority")) {
    char* end = nullptr;
    long p = std::strtol(a.opts["--priority"].c_str(), &end, 10);
    if (*end || p < 1 || p > 9) return usage("create-cfs: --priority \"" + a.opts["--priority"] + "\": out of range 1-9");
    r.set_priority(int(p));
  }
  if (a.opts.count("--address")) r.set_address(a.opts["--address"]);
  if (a.opts.count("--notes")) r.set_notes(a.opts["--notes"]);
  if (int rc = putPosition(a, r); rc != kOk) return rc;
  return control(inv.control, req);
}

int assignOrMessageCommand(Invocation& inv) {
  const Args& a = inv.a;
  const std::string& cmd = a.pos[0];
  if (inv.agency.empty()) return usage(cmd + ": --agency (or $CAD_AGENCY) is required");
  if (a.pos.size() < 3) return usage(cmd == "assign" ? "assign CFS UNIT" : "message UNIT TEXT");
  ControlRequest r = inv.request();
  if (cmd == "assign") {
    r.mutable_assign()->set_incident(a.pos[1]);
    r.mutable_assign()->set_unit(a.pos[2]);
    r.mutable_assign()->set_force(a.flags.count("--force") > 0);
  } else {
    r.mutable_message()->set_unit(a.pos[1]);
    r.mutable_message()->set_text(a.pos[2]);
  }
  return control(inv.control, r);
}

int ackOrCloseCommand(Invocation& inv) {
  const Args& a = inv.a;
  const std::string& cmd = a.pos[0];
  if (inv.agency.empty()) return usage(cmd + ": --agency (or $CAD_AGENCY) is required");
  if (a.pos.size() < 2) return usage(cmd + (cmd == "close-cfs" ? " CFS" : " UNIT"));
  ControlRequest r = inv.request();
  if (cmd == "close-cfs") r.mutable_close_cfs()->set_incident(a.pos[1]);
  else r.mutable_ack_emergency()->set_unit(a.pos[1]);
  return control(inv.control, r);
}

int statsCommand(Invocation& inv) {
  ControlRequest r;
  r.mutable_stats();
  return control(inv.control, r, true);
}

}  // namespace cad::cli
