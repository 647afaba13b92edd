#include "server-stub/cli/cadctl_devices.h"

#include <QJsonArray>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server-stub/cli/cadctl_ca.h"
#include "server-stub/cli/cadctl_print.h"
#include "server-stub/store/read_models.h"
#include "server-stub/domain/fleet_health.h"
#include "server-stub/domain/fleet_import.h"
#include "shared/wire/clock.h"

namespace cad::cli {

namespace {

// The registry as the store holds it, for checking an import against.
std::optional<fleet::Registry> readRegistry(const std::string& dbPath) {
  cad::fleet::Registry registry;
  auto store = cad::EventStore::open(dbPath, true);
  if (!store) {
    std::cerr << "cadctl: " << store.error().message << "\n";
    return std::nullopt;
  }
  ReadModels read(**store);
  for (const auto& d : read.devices()) registry.devices[d.device] = {d.unit, d.agency};
  for (const auto& u : read.units()) registry.unitAgency[u.unit] = u.agency;
  return registry;
}

// One registration per new row through the stub (its only writer).
int registerRows(const fleet::Plan& plan, const Invocation& inv) {
  size_t done = 0;
  for (const auto& r : plan.add) {
    ControlRequest req;
    req.set_agency(r.agency);
    req.set_actor(inv.actor);
    req.mutable_device_add()->set_device(r.device);
    req.mutable_device_add()->set_unit(r.unit);
    if (int rc = control(inv.control, req); rc != kOk) {
      std::cerr << "cadctl: devices import: stopped at line " << r.line << "; " << done
                << " registered before it (run the import again to go on)\n";
      return rc;
    }
    ++done;
  }
  std::cout << "registered " << done << " devices; " << plan.unchanged.size() << " already registered as given\n";
  return kOk;
}

// devices import: the file checked whole against the registry, then registered.
int importFleet(const std::string& file, const Invocation& inv, bool dryRun) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "cadctl: devices import: cannot read \"" << file << "\": " << std::strerror(errno) << "\n";
    return kFailed;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto registry = readRegistry(inv.dbPath);
  if (!registry) return kFailed;
  const auto plan = cad::fleet::plan(text.str(), *registry);
  if (!plan.errors.empty()) {
    for (const auto& e : plan.errors) std::cerr << "cadctl: devices import: " << file << " " << e << "\n";
    std::cerr << "cadctl: devices import: nothing registered: " << plan.errors.size() << " bad line"
              << (plan.errors.size() == 1 ? "" : "s") << "\n";
    return kFailed;
  }
  if (dryRun) {
    for (const auto& r : plan.add)
      std::cout << "would register " << r.device << " for unit " << r.unit << " of " << r.agency << "\n";
    std::cout << "dry run: " << plan.add.size() << " to register, " << plan.unchanged.size()
              << " already registered as given; nothing changed\n";
    return kOk;
  }
  return registerRows(plan, inv);
}

int addOrMove(Invocation& inv) {
  Args& a = inv.a;
  if (inv.agency.empty()) return usage("devices " + a.pos[1] + ": --agency (or $CAD_AGENCY) is required");
  if (a.pos.size() < 3 || !a.opts.count("--unit")) return usage("devices " + a.pos[1] + " DEVICE --unit UNIT");
  ControlRequest r = inv.request();
  if (a.pos[1] == "add") {
    r.mutable_device_add()->set_device(a.pos[2]);
    r.mutable_device_add()->set_unit(a.opts["--unit"]);
  } else {
    r.mutable_device_move()->set_device(a.pos[2]);
    r.mutable_device_move()->set_unit(a.opts["--unit"]);
  }
  return control(inv.control, r);
}

// Unregistered through the stub, then its certificates revoked in the fleet CA.
int decommission(Invocation& inv) {
  const Args& a = inv.a;
  if (inv.agency.empty()) return usage("devices decommission: --agency (or $CAD_AGENCY) is required");
  if (a.pos.size() != 3) return usage("devices decommission DEVICE");
  ControlRequest r = inv.request();
  r.mutable_device_remove()->set_device(a.pos[2]);
  if (int rc = control(inv.control, r); rc != kOk) return rc;
  const std::string caDir = caDirOf(inv);
  if (!std::filesystem::exists(caDir)) {
    std::cout << "no fleet CA in " << caDir << ": no certificate to revoke\n";
    return kOk;
  }
  auto ca = mdc::pki::FleetCa::open(caDir);
  if (!ca) {
    std::cerr << "cadctl: devices decommission: the device is unregistered, but its certificates were not "
                 "revoked: "
              << ca.error().message << "\n";
    return kFailed;
  }
  auto revoked = ca->revoke(a.pos[2]);
  if (!revoked) {
    std::cout << "no live certificate to revoke: " << revoked.error().message << "\n";
    return kOk;
  }
  printRevoked(*ca, *revoked);
  return kOk;
}

QJsonObject deviceJson(const fleet::DeviceHealth& d, const std::vector<std::string>& flags) {
  QJsonArray fl;
  for (const auto& f : flags) fl.append(QString::fromStdString(f));
  return QJsonObject{{"device", QString::fromStdString(d.device)},
                     {"unit", QString::fromStdString(d.unit)},
                     {"agency", QString::fromStdString(d.agency)},
                     {"agent_version", QString::fromStdString(d.agentVersion)},
                     {"online", d.online},
                     {"last_seen_ms", qint64(d.lastSeenMs)},
                     {"health_at_ms", qint64(d.healthAtMs)},
                     {"queue_depth", qint64(d.queueDepth)},
                     {"queue_oldest_ms", qint64(d.queueOldestMs)},
                     {"cert_not_after_ms", qint64(d.certNotAfterMs)},
                     {"gps_fix", d.gpsFix},
                     {"gps_no_fix_since_ms", qint64(d.gpsNoFixSinceMs)},
                     {"attention", fl}};
}

void printDeviceLine(const fleet::DeviceHealth& d, const std::vector<std::string>& flags, int64_t now) {
  std::string attentionText;
  for (const auto& f : flags) attentionText += (attentionText.empty() ? "" : ", ") + f;
  const bool reported = d.healthAtMs > 0;
  std::printf("%-16s %-8s %-6s %-8s %-7s %-9s %-7s %-11s %-6s %s\n", d.device.c_str(), d.unit.c_str(),
              d.agency.c_str(), d.agentVersion.empty() ? "-" : d.agentVersion.c_str(), d.online ? "online" : "OFF",
              d.lastSeenMs ? (fleet::ageText(now - d.lastSeenMs) + " ago").c_str() : "never",
              reported ? std::to_string(d.queueDepth).c_str() : "-",
              d.certNotAfterMs ? iso(d.certNotAfterMs).substr(0, 10).c_str() : "-",
              !reported ? "-" : d.gpsFix ? "fix" : "NONE", attentionText.c_str());
}

// devices list: the fleet's health and what needs attention.
int list(EventStore& s, const Invocation& inv) {
  const Args& a = inv.a;
  fleet::Thresholds t;
  auto days = countOption(a, "--expiring-days", 30, 0, 3650);
  auto hours = countOption(a, "--silent-hours", 24, 1, 87600);
  auto deep = countOption(a, "--deep-queue", 1000, 1, 100'000'000);
  if (!days || !hours || !deep) return kUsage;
  t.certExpiringMs = *days * 86'400'000;
  t.silentMs = *hours * 3'600'000;
  t.deepQueue = *deep;
  const int64_t now = mdc::SystemClock::instance().nowMs();
  const bool attentionOnly = a.flags.count("--attention") > 0;
  QJsonArray arr;
  int total = 0, flagged = 0;
  if (!inv.json)
    std::printf("%-16s %-8s %-6s %-8s %-7s %-9s %-7s %-11s %-6s %s\n", "DEVICE", "UNIT", "AGENCY", "VERSION", "LINK",
                "SEEN", "QUEUE", "CERT", "GPS", "ATTENTION");
  for (const auto& d : ReadModels(s).fleetHealth(inv.agency)) {
    ++total;
    const auto flags = fleet::attention(d, now, t);
    if (!flags.empty()) ++flagged;
    if (attentionOnly && flags.empty()) continue;
    arr.append(deviceJson(d, flags));
    if (!inv.json) printDeviceLine(d, flags, now);
  }
  if (inv.json) printJson(arr);
  else std::printf("%d devices, %d need attention\n", total, flagged);
  return kOk;
}

}  // namespace

int devicesCommand(Invocation& inv) {
  const Args& a = inv.a;
  const std::string verb = a.pos.size() >= 2 ? a.pos[1] : "";
  if (verb == "add" || verb == "move") return addOrMove(inv);
  if (verb == "decommission") return decommission(inv);
  if (verb == "import") {
    if (a.pos.size() != 3) return usage("devices import FILE [--dry-run]");
    return importFleet(a.pos[2], inv, a.flags.count("--dry-run") > 0);
  }
  if (verb == "list") return withStore(inv, [&](EventStore& s) { return list(s, inv); });
  return unknownCommand(inv);
}

}  // namespace cad::cli
