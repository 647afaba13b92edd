// cadctl: the dispatcher's and operator's command line against the CAD stub.
// Reads go straight to the SQLite store (read-only); writes go through the
// running stub's control socket, so the stub stays the store's only writer.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "mdc/v1/mdc.pb.h"
#include "server-stub/service/broker_config.h"
#include "server-stub/store/event_store.h"
#include "server-stub/domain/fleet_health.h"
#include "server-stub/domain/fleet_import.h"
#include "server-stub/cli/cadctl_cfs.h"
#include "server-stub/cli/cadctl_enrol.h"
#include "server-stub/cli/cadctl_events.h"
#include "server-stub/cli/cadctl_print.h"
#include "server-stub/cli/cadctl_records.h"
#include "server-stub/cli/cadctl_schedule.h"
#include "server-stub/cli/cadctl_store.h"
#include "server-stub/cli/cadctl_types.h"
#include "server-stub/cli/cadctl_zones.h"
#include "server-stub/domain/kpi.h"
#include "shared/wire/codec.h"
#include "shared/wire/clock.h"
#include "shared/infra/pki.h"

using namespace cad;
using cad::cli::iso;
using cad::cli::printJson;

namespace {

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

const char* kHelp = R"(usage: cadctl [--db FILE|URI] [--agency A] [--as NAME] COMMAND [ARGS]

The store is --db, else $CAD_DB, else ./cad.db: a SQLite file, or a PostgreSQL
database as postgresql://USER@HOST:PORT/DATABASE (the files beside a store,
<db>.ctl and the like, are then cad-<database>.ctl and so on in the working
directory). Dispatcher commands act for --agency (else $CAD_AGENCY) as --as
(else $CAD_DISPATCHER, else $USER) and need the stub running (its control
socket is <db>.ctl, or --control PATH).

reading (works with the stub stopped):
  board [--zone Z | --district D] [--json]
                                  unit board of the agency (all agencies without --agency),
                                  of one zone or of one district's zones
  cfs list [--json]               open and closed CFS
  cfs show N [--json]             one CFS with its units and timeline
  cfs show N --eido [--issuer ID] the incident as a NENA EIDO 1.0 document (JSON)
  export --eido [--since T] [--issuer ID] [--out FILE]
                                  a JSON array of the EIDOs of the agency's incidents
                                  with activity since T (all without); ID is the
                                  issuingElementIdentification ($CAD_EIDO_ISSUER,
                                  else cad-stub@HOST)
  events [--since POS] [--limit N] [--json]
                                  the audit trail: who did what, when, from which device
  events --after TX:POS | --follow [--json]
                                  the log as a reader follows it: every event once, none
                                  skipped while other writers commit out of position order
                                  (the transaction-id horizon); prints the cursor to go on
                                  from ("next: --after TX:POS") on stderr; --follow keeps
                                  printing new events (--json: one object per line)
  verify                          walk the hash chain; report the first broken link
  digest                          SHA-256 of every read model
  replay --into FILE|URI          rebuild every read model from the log into a new store
                                  (a new SQLite file, or a PostgreSQL database with no events)
  init                            create the store's tables where there are none (the stub
                                  does so itself when its role may)
  migrate --from FILE|URI --to FILE|URI
                                  copy a store into a new one (SQLite to PostgreSQL or back),
                                  then walk the copy's chain and compare its digest
  kpi [--json]                    response-time KPIs per CFS and averaged
  devices list [--attention] [--expiring-days N] [--silent-hours H] [--deep-queue N] [--json]
                                  the fleet and its health (version, link, last seen,
                                  queue, certificate expiry, GPS) with what needs
                                  attention: certificates expiring within N days (30)
                                  or expired, devices silent H hours (24), queues of N
                                  events (1000), an hour online without a GPS fix
  config show [--json]            what each agency pushes to its units
  refusals [--limit N]            input the stub refused, newest first
  audit queries [--unit U] [--since T] [--json]
                                  every records query: who ran what, from which device,
                                  for which CFS or reason, and what came back (T: an
                                  ISO time such as 2026-12-01T08:00:00Z, or an age: 90m, 2h, 7d)
  count                           number of events in the log

dispatching (needs the running stub):
  create-cfs --type T [--priority 1-9] [--address A] [--lat X --lon Y] [--notes N]
                                  T: an APCO code (types apco) or an agency type
  assign CFS UNIT [--force]       assign a unit (refused if it is on another open CFS)
  message UNIT TEXT
  ack-emergency UNIT
  close-cfs CFS
  devices add DEVICE --unit UNIT
  devices move DEVICE --unit UNIT
  devices decommission DEVICE     remove it from the registry (its events are refused from
                                  then on) and revoke its certificates in the fleet CA
                                  (--ca-dir, else <db>.ca/) when there is one
  devices import FILE [--dry-run]  register a fleet from CSV lines "device,unit,agency"
                                  (each row's agency; --as names the operator). The
                                  whole file is checked first: any bad line and
                                  nothing is registered; rows registered exactly so
                                  already are left as they are
  config set --statuses S1,S2,... [--avl-moving SEC] [--avl-stationary SEC]
                                  the agency's status buttons (F1..F10, at most 10;
                                  "default" for the device's own set) and AVL
                                  intervals (0 keeps the device's value), sent to
                                  every unit of the agency
  stats                           the running stub's counters
  import --eido FILE              incidents from another centre's EIDO (one document
                                  or an array): each checked against the EIDO 1.0
                                  schema first (any error, with the path of the
                                  field, and nothing is imported), then created under
                                  a number of this agency, keeping the owner's
                                  identifiers, timeline and units

zones and districts (units in zones, zones in districts, supervisors):
  zones set ZONE --district D     a zone of the agency, in district D (again: moves it)
  zones remove ZONE               refused while a unit is in it or a supervisor names it
  zones assign UNIT --zone Z      the unit's zone (--zone none: in no zone)
  zones supervise UNIT (--zones Z1,Z2 | --district D | --none)
                                  the unit's device receives the board of those zones
                                  (a district: of its zones as they are then), read-only;
                                  no other device receives any board
  zones list [--json]             districts, zones, their units and supervisors

call types (APCO ANS 2.103 common incident types, and each agency's own):
  types list [--json]             the agency's own types (every agency's without --agency)
  types apco [--json]             the 197 APCO codes every agency may use, with their names
  types add CODE --label L --apco APCO
                                  an agency type (A-Z 0-9 _ -, at most 32; label at most
                                  64 on one line) mapped to an APCO code; the agency's
                                  types are what its devices offer for self-initiated
                                  calls (at most 64; none: the device's default set)
  types remove CODE               calls of that type keep it

scheduled calls (a house check while the owners are away):
  schedule create --type T --address A --every 24h [--from T] --until T
                  [--priority 1-9] [--lat X --lon Y] [--notes N]
                                  a CFS at each time from --from (now) until --until,
                                  every 10m-366d, offered to the agency's available
                                  units; in the log, so it survives restarts, and an
                                  occurrence missed while the stub was down is created
                                  when it is back, marked late (T: now or an ISO time)
  schedule list [--json]          each schedule: next time, how many made, how many late
  schedule cancel SCHEDULE        no more occurrences

enrolment over the network (the stub serves it with --est-port):
  enroll-token create DEVICE [--unit UNIT] [--ttl 2h]
                                  a single-use token for one device (10m-30d), printed once;
                                  the stub keeps only its SHA-256. A device not registered
                                  yet is registered to --unit
  enroll-token list [--json]      every token: open, used (for which certificate), expired,
                                  or locked after 5 wrong tokens for its device

records system (its own file: --records, else <db>.records):
  records import FILE... [--dry-run]
                                  load vehicles, persons or flags from CSV; the first line
                                  names the table: "plate,state,year,make,model,color,
                                  owner_name,owner_dob", "name,dob,sex,height_cm,address"
                                  or "subject,kind,detail" (subject plate:ABC123:NY or
                                  person:LAST, FIRST:YYYY-MM-DD; kind stolen, wanted or
                                  caution). Every file is checked first: any bad line and
                                  nothing is imported
  records stats                   what the records system holds

fleet CA and broker (files only; the CA is --ca-dir, else <db>.ca/):
  ca init [--name NAME] [--days N]
                                  a new fleet CA (EC P-256, 5 years) for a test or demo deployment
  ca sign CSR [--out CERT] [--days N] [--reenrol]
                                  sign a device CSR (CN = device id, N days, default 365);
                                  refused for a reserved name or a device id with a live
                                  certificate unless --reenrol (which revokes the old one)
  ca revoke DEVICE|SERIAL         revoke its certificates and rewrite the CRL
  broker-config --out FILE [--port N] [--bind ADDR] [--log FILE] [--fleet DEVICES]
                                  mosquitto.conf + ACL + broker and stub (CN=cad-stub) certificates;
                                  the stub's queue holds DEVICES' windows at once (default 1000)

exit status: 0 ok; 1 refused or check failed; 2 usage error; 3 store or stub unreachable.
)";

struct Args {
  std::vector<std::string> pos;
  std::map<std::string, std::string> opts;
  std::set<std::string> flags;
};

int usage(const std::string& why) {
  std::cerr << "cadctl: " << why << "\n(see cadctl --help)\n";
  return kUsage;
}

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// One request line to the stub's control socket, one reply line back.
int control(const std::string& path, const QJsonObject& request, bool printStats = false) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return usage("--control \"" + path + "\": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "cadctl: cannot reach the stub at \"" << path << "\": " << std::strerror(errno)
              << " (is cad-stub running?)\n";
    if (fd >= 0) ::close(fd);
    return kUnreachable;
  }
  std::string line = QJsonDocument(request).toJson(QJsonDocument::Compact).toStdString() + "\n";
  (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reply.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, size_t(n));
  }
  ::close(fd);
  QJsonObject r = QJsonDocument::fromJson(QByteArray::fromStdString(reply)).object();
  if (r.isEmpty()) {
    std::cerr << "cadctl: no reply from the stub\n";
    return kUnreachable;
  }
  if (!r.value("ok").toBool()) {
    std::cerr << "cadctl: refused: " << r.value("error").toString().toStdString() << "\n";
    return kFailed;
  }
  if (printStats) printJson(r.value("stats"));
  else std::cout << r.value("result").toString().toStdString() << "\n";
  return kOk;
}

// devices import: the file checked whole against the registry, then one
// registration per new row through the stub (its only writer).
int importFleet(const std::string& file, const std::string& dbPath, const std::string& ctl, const std::string& actor,
                bool dryRun) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "cadctl: devices import: cannot read \"" << file << "\": " << std::strerror(errno) << "\n";
    return kFailed;
  }
  std::stringstream text;
  text << in.rdbuf();
  cad::fleet::Registry registry;
  {
    auto store = cad::EventStore::open(dbPath, true);
    if (!store) {
      std::cerr << "cadctl: " << store.error().message << "\n";
      return kFailed;
    }
    auto d = (*store)->db().prepare("SELECT device_id, unit_id, agency FROM devices");
    while (d.step()) registry.devices[d.text(0)] = {d.text(1), d.text(2)};
    auto u = (*store)->db().prepare("SELECT unit_id, agency FROM units");
    while (u.step()) registry.unitAgency[u.text(0)] = u.text(1);
  }
  const auto plan = cad::fleet::plan(text.str(), registry);
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
  size_t done = 0;
  for (const auto& r : plan.add) {
    QJsonObject req{{"cmd", "device_add"},
                    {"agency", QString::fromStdString(r.agency)},
                    {"actor", QString::fromStdString(actor)},
                    {"device", QString::fromStdString(r.device)},
                    {"unit", QString::fromStdString(r.unit)}};
    if (int rc = control(ctl, req); rc != kOk) {
      std::cerr << "cadctl: devices import: stopped at line " << r.line << "; " << done
                << " registered before it (run the import again to go on)\n";
      return rc;
    }
    ++done;
  }
  std::cout << "registered " << done << " devices; " << plan.unchanged.size() << " already registered as given\n";
  return kOk;
}

// A whole-number option in min..max, or its default when absent; nullopt
// (after saying why) when it is not one.
std::optional<int64_t> countOption(const Args& a, const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto it = a.opts.find(name);
  if (it == a.opts.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end || errno == ERANGE || v < min || v > max) {
    usage(name + " \"" + it->second + "\": expected a whole number " + std::to_string(min) + "-" + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

// Parses a positive day count or port; -1 when invalid.
long positive(const std::string& v, long max) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  return (*end || v.empty() || n < 1 || n > max) ? -1 : n;
}

// ca init|sign|revoke and broker-config: files only, no stub needed.
// What a revocation did, and what the operator must do next.
void printRevoked(const mdc::pki::FleetCa& ca, const std::vector<std::string>& serials) {
  for (const auto& serial : serials) std::cout << "revoked serial " << serial << "\n";
  std::cout << "CRL rewritten: " << ca.crlFile() << " (a running mosquitto reads it at start: restart it)\n";
}

int fleetCommand(Args& a, const std::string& dbPath) {
  std::string caDir = a.opts.count("--ca-dir") ? a.opts["--ca-dir"] : sideFileBase(dbPath) + ".ca";
  const std::string& cmd = a.pos[0];
  auto fail = [](const std::string& msg) {
    std::cerr << "cadctl: " << msg << "\n";
    return kFailed;
  };
  if (cmd == "broker-config") {
    if (!a.opts.count("--out")) return usage("broker-config --out FILE [--port N] [--ca-dir D]");
    cad::BrokerConfigOptions o;
    o.outFile = a.opts["--out"];
    o.caDir = caDir;
    if (a.opts.count("--port")) {
      long p = positive(a.opts["--port"], 65535);
      if (p < 0) return usage("--port \"" + a.opts["--port"] + "\": out of range 1-65535");
      o.port = uint16_t(p);
    }
    if (a.opts.count("--bind")) o.bind = a.opts["--bind"];
    if (a.opts.count("--log")) o.logFile = a.opts["--log"];
    if (a.opts.count("--fleet")) {
      long n = positive(a.opts["--fleet"], 1000000);
      if (n < 0) return usage("--fleet \"" + a.opts["--fleet"] + "\": out of range 1-1000000");
      o.fleetSize = int(n);
    }
    auto r = cad::writeBrokerConfig(o);
    if (!r) return fail(r.error().message);
    std::cout << "wrote " << r->config << " (acl " << r->acl << ", broker " << r->serverCert << ", stub "
              << r->stubCert << ")\n";
    return kOk;
  }
  if (a.pos.size() < 2) return usage("ca init|sign CSR|revoke DEVICE");
  int days = 0;
  if (a.opts.count("--days")) {
    long d = positive(a.opts["--days"], 36500);
    if (d < 0) return usage("--days \"" + a.opts["--days"] + "\": out of range 1-36500");
    days = int(d);
  }
  if (a.pos[1] == "init") {
    std::string name = a.opts.count("--name") ? a.opts["--name"] : "MDC fleet CA";
    auto ca = mdc::pki::FleetCa::init(caDir, name, days ? days : 5 * 365);
    if (!ca) return fail(ca.error().message);
    std::cout << "fleet CA \"" << name << "\" in " << caDir << " (certificate " << ca->caFile() << ")\n";
    return kOk;
  }
  auto ca = mdc::pki::FleetCa::open(caDir);
  if (!ca) return fail(ca.error().message);
  if (a.pos[1] == "sign") {
    if (a.pos.size() < 3) return usage("ca sign CSR [--out CERT] [--days N]");
    std::string csr = a.pos[2];
    std::string out = a.opts.count("--out") ? a.opts["--out"]
                      : (csr.size() > 4 && csr.substr(csr.size() - 4) == ".csr" ? csr.substr(0, csr.size() - 4) : csr) +
                            ".pem";
    mdc::pki::SignOptions so;
    so.validDays = days ? days : 365;
    so.reenrol = a.flags.count("--reenrol") > 0;
    auto info = ca->sign(csr, out, so);
    if (!info) return fail(info.error().message);
    std::cout << "signed CN=" << info->subjectCn << " serial " << info->serialHex << " valid until "
              << mdc::pki::formatTime(info->notAfter) << ": " << out << " (chain: " << ca->caFile() << ")\n";
    return kOk;
  }
  if (a.pos[1] == "revoke") {
    if (a.pos.size() < 3) return usage("ca revoke DEVICE|SERIAL");
    auto r = ca->revoke(a.pos[2]);
    if (!r) return fail(r.error().message);
    printRevoked(*ca, *r);
    return kOk;
  }
  return usage("unknown ca command \"" + a.pos[1] + "\"");
}

int board(EventStore& s, const std::string& agency, const std::string& zone, const std::string& district, bool json) {
  auto st = s.db().prepare(
      "SELECT unit_id, agency, device_id, status, status_at_ms, lat, lon, pos_at_ms, online, online_changed_ms, "
      "last_seen_ms, current_cfs, emergency, emergency_active, emergency_ack_by, dropped_avl, safety_flag, "
      "safety_at_ms, safety_cfs, zone FROM units "
      "WHERE (?1='' OR agency=?1) AND (?2='' OR zone=?2) AND (?3='' OR zone IN (SELECT z.zone FROM zones z WHERE "
      "z.agency=units.agency AND z.district=?3)) ORDER BY agency, unit_id");
  st.bind(1, agency).bind(2, zone).bind(3, district);
  if (!json && (!zone.empty() || !district.empty()))
    std::printf("%s\n", (zone.empty() ? "district " + district : "zone " + zone).c_str());
  QJsonArray arr;
  if (!json)
    std::printf("%-8s %-6s %-14s %-20s %-6s %-24s %-13s %s\n", "UNIT", "AGENCY", "STATUS", "SINCE", "LINK",
                "POSITION", "CFS", "FLAGS");
  while (st.step()) {
    QJsonObject u{{"unit", QString::fromStdString(st.text(0))},
                  {"agency", QString::fromStdString(st.text(1))},
                  {"device", QString::fromStdString(st.text(2))},
                  {"status", QString::fromStdString(mdc::codec::statusName(int(st.i64(3))))},
                  {"status_at_ms", qint64(st.i64(4))},
                  {"online", st.i64(8) == 1},
                  {"online_changed_ms", qint64(st.i64(9))},
                  {"last_seen_ms", qint64(st.i64(10))},
                  {"cfs", QString::fromStdString(st.text(11))},
                  {"emergency", st.i64(12) == 1},
                  {"emergency_active", st.i64(13) == 1},
                  {"emergency_ack_by", QString::fromStdString(st.text(14))},
                  {"dropped_avl", qint64(st.i64(15))},
                  {"zone", QString::fromStdString(st.text(19))}};
    // Officer safety: the unit's latest hit, while it is on the CFS of the
    // query (or for an hour after a query that named no CFS).
    const std::string safetyCfs = st.text(18);
    const bool safety = !st.text(16).empty() &&
                        (safetyCfs.empty() ? mdc::SystemClock::instance().nowMs() - st.i64(17) < 3'600'000
                                           : safetyCfs == st.text(11));
    if (safety) {
      u["safety"] = QString::fromStdString(st.text(16));
      u["safety_at_ms"] = qint64(st.i64(17));
    }
    if (!st.isNull(5)) {
      u["lat"] = st.f64(5);
      u["lon"] = st.f64(6);
      u["pos_at_ms"] = qint64(st.i64(7));
    }
    arr.append(u);
    if (!json) {
      char pos[40] = "-";
      if (!st.isNull(5)) std::snprintf(pos, sizeof pos, "%.5f,%.5f", st.f64(5), st.f64(6));
      // The device's state (active or cleared) and the dispatcher's (to acknowledge or not).
      const bool flagged = st.i64(12) == 1, active = st.i64(13) == 1;
      std::string flags = flagged ? (active ? "EMERGENCY-UNACKED" : "EMERGENCY-CLEARED-UNACKED")
                                  : (active ? "EMERGENCY-ACKED" : "");
      if (st.i64(15) > 0) flags += (flags.empty() ? "" : " ") + std::string("avl-gap:") + std::to_string(st.i64(15));
      if (safety) flags += (flags.empty() ? "" : " ") + std::string("OFFICER-SAFETY ") + st.text(16);
      std::printf("%-8s %-6s %-14s %-20s %-6s %-24s %-13s %s\n", st.text(0).c_str(), st.text(1).c_str(),
                  mdc::codec::statusName(int(st.i64(3))).c_str(), iso(st.i64(4)).substr(0, 19).c_str(),
                  st.i64(8) ? "online" : "OFF", pos, st.text(11).empty() ? "-" : st.text(11).c_str(), flags.c_str());
    }
  }
  if (json) printJson(arr);
  return kOk;
}

/** issuingElementIdentification: --issuer, else $CAD_EIDO_ISSUER, else cad-stub@HOST. */
std::string eidoIssuer(const Args& a) {
  if (a.opts.count("--issuer")) return a.opts.at("--issuer");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return env("CAD_EIDO_ISSUER", std::string("cad-stub@") + host);
}

int cfsCmd(EventStore& s, const Args& a, const std::string& agency, bool json) {
  if (a.pos.size() == 2 && a.pos[1] == "list") return cli::cfsList(s, agency, json);
  if (a.pos.size() == 3 && a.pos[1] == "show") {
    if (a.flags.count("--eido")) return cli::eidoShow(s, agency, a.pos[2], eidoIssuer(a));
    return cli::cfsShow(s, agency, a.pos[2], json);
  }
  return usage("cfs: list | show N [--eido]");
}

int events(EventStore& s, const Args& a, const std::string& agency, bool json) {
  auto since = countOption(a, "--since", 0, 0, INT64_MAX);
  auto limit = countOption(a, "--limit", 1000, 1, 10'000'000);
  if (!since || !limit) return kUsage;
  const bool follow = a.flags.count("--follow") > 0;
  if ((follow || a.opts.count("--after")) && a.opts.count("--since"))
    return usage("events: --since (positions) or --after/--follow (a cursor), not both");
  std::optional<LogCursor> after;
  if (a.opts.count("--after")) {
    after = LogCursor::parse(a.opts.at("--after"));
    if (!after) return usage("--after \"" + a.opts.at("--after") + "\": expected a cursor TX:POS, as events printed it");
  }
  if (!follow && !after) return cli::listEvents(s, agency, *since, *limit, json);
  return cli::followEvents(s, agency, after.value_or(LogCursor{}), *limit, follow, json);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    static const std::set<std::string> valued = {"--db", "--agency", "--as", "--control", "--since", "--limit",
                                                 "--into", "--type", "--priority", "--address", "--lat", "--lon",
                                                 "--notes", "--unit", "--ca-dir", "--out", "--port", "--days",
                                                 "--name", "--bind", "--log", "--statuses", "--avl-moving",
                                                 "--avl-stationary", "--records", "--expiring-days", "--silent-hours",
                                                 "--deep-queue", "--ttl", "--every", "--from", "--until", "--label",
                                                 "--apco", "--issuer", "--zone", "--zones", "--district", "--to",
                                                 "--after", "--fleet"};
    if (s == "--help" || s == "-h") {
      std::cout << kHelp;
      return kOk;
    }
    if (s == "--version") {
      std::cout << "cadctl " << MDC_VERSION << "\n";
      return kOk;
    }
    if (valued.count(s)) {
      if (i + 1 >= argc) return usage(s + " needs a value");
      a.opts[s] = argv[++i];
    } else if (s.rfind("--", 0) == 0) {
      a.flags.insert(s);
    } else {
      a.pos.push_back(s);
    }
  }
  for (const auto& f : a.flags)
    if (f != "--json" && f != "--force" && f != "--reenrol" && f != "--dry-run" && f != "--attention" && f != "--eido" &&
        f != "--none" && f != "--follow")
      return usage("unknown option \"" + f + "\"");
  if (a.pos.empty()) return usage("a command is required");
  std::string dbPath = a.opts.count("--db") ? a.opts["--db"] : env("CAD_DB", "cad.db");
  std::string agency = a.opts.count("--agency") ? a.opts["--agency"] : env("CAD_AGENCY", "");
  std::string actor = a.opts.count("--as") ? a.opts["--as"] : env("CAD_DISPATCHER", env("USER", "dispatcher"));
  std::string ctl = a.opts.count("--control") ? a.opts["--control"] : sideFileBase(dbPath) + ".ctl";
  bool json = a.flags.count("--json") > 0;
  const std::string& cmd = a.pos[0];

  auto needAgency = [&]() -> bool { return !agency.empty(); };
  auto base = [&](const char* kind) {
    return QJsonObject{{"cmd", kind}, {"agency", QString::fromStdString(agency)}, {"actor", QString::fromStdString(actor)}};
  };

  if (cmd == "create-cfs") {
    if (!needAgency()) return usage("create-cfs: --agency (or $CAD_AGENCY) is required");
    if (!a.opts.count("--type")) return usage("create-cfs: --type is required");
    QJsonObject r = base("create_cfs");
    r["type"] = QString::fromStdString(a.opts["--type"]);
    if (a.opts.count("--priority")) {
      char* end = nullptr;
      long p = std::strtol(a.opts["--priority"].c_str(), &end, 10);
      if (*end || p < 1 || p > 9) return usage("create-cfs: --priority \"" + a.opts["--priority"] + "\": out of range 1-9");
      r["priority"] = int(p);
    }
    if (a.opts.count("--address")) r["address"] = QString::fromStdString(a.opts["--address"]);
    if (a.opts.count("--notes")) r["text"] = QString::fromStdString(a.opts["--notes"]);
    if (a.opts.count("--lat") != a.opts.count("--lon")) return usage("create-cfs: --lat and --lon go together");
    if (a.opts.count("--lat")) {
      char* e1 = nullptr;
      char* e2 = nullptr;
      double lat = std::strtod(a.opts["--lat"].c_str(), &e1), lon = std::strtod(a.opts["--lon"].c_str(), &e2);
      if (*e1 || *e2) return usage("create-cfs: --lat/--lon must be numbers");
      r["lat"] = lat;
      r["lon"] = lon;
    }
    return control(ctl, r);
  }
  if (cmd == "assign" || cmd == "message") {
    if (!needAgency()) return usage(cmd + ": --agency (or $CAD_AGENCY) is required");
    if (a.pos.size() < 3) return usage(cmd == "assign" ? "assign CFS UNIT" : "message UNIT TEXT");
    QJsonObject r = base(cmd.c_str());
    if (cmd == "assign") {
      r["incident"] = QString::fromStdString(a.pos[1]);
      r["unit"] = QString::fromStdString(a.pos[2]);
      r["force"] = a.flags.count("--force") > 0;
    } else {
      r["unit"] = QString::fromStdString(a.pos[1]);
      r["text"] = QString::fromStdString(a.pos[2]);
    }
    return control(ctl, r);
  }
  if (cmd == "ack-emergency" || cmd == "close-cfs") {
    if (!needAgency()) return usage(cmd + ": --agency (or $CAD_AGENCY) is required");
    if (a.pos.size() < 2) return usage(cmd + (cmd == "close-cfs" ? " CFS" : " UNIT"));
    QJsonObject r = base(cmd == "ack-emergency" ? "ack_emergency" : "close_cfs");
    r[cmd == "close-cfs" ? "incident" : "unit"] = QString::fromStdString(a.pos[1]);
    return control(ctl, r);
  }
  if (cmd == "devices" && a.pos.size() >= 2 && (a.pos[1] == "add" || a.pos[1] == "move")) {
    if (!needAgency()) return usage("devices " + a.pos[1] + ": --agency (or $CAD_AGENCY) is required");
    if (a.pos.size() < 3 || !a.opts.count("--unit")) return usage("devices " + a.pos[1] + " DEVICE --unit UNIT");
    QJsonObject r = base(a.pos[1] == "add" ? "device_add" : "device_move");
    r["device"] = QString::fromStdString(a.pos[2]);
    r["unit"] = QString::fromStdString(a.opts["--unit"]);
    return control(ctl, r);
  }
  if (cmd == "devices" && a.pos.size() >= 2 && a.pos[1] == "decommission") {
    if (!needAgency()) return usage("devices decommission: --agency (or $CAD_AGENCY) is required");
    if (a.pos.size() != 3) return usage("devices decommission DEVICE");
    QJsonObject r = base("device_remove");
    r["device"] = QString::fromStdString(a.pos[2]);
    if (int rc = control(ctl, r); rc != kOk) return rc;
    const std::string caDir = a.opts.count("--ca-dir") ? a.opts["--ca-dir"] : sideFileBase(dbPath) + ".ca";
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
  if (cmd == "devices" && a.pos.size() >= 2 && a.pos[1] == "import") {
    if (a.pos.size() != 3) return usage("devices import FILE [--dry-run]");
    return importFleet(a.pos[2], dbPath, ctl, actor, a.flags.count("--dry-run") > 0);
  }
  if (cmd == "config" && a.pos.size() >= 2 && a.pos[1] == "set") {
    if (!needAgency()) return usage("config set: --agency (or $CAD_AGENCY) is required");
    if (!a.opts.count("--statuses")) return usage("config set --statuses S1,S2,... [--avl-moving SEC] [--avl-stationary SEC]");
    QJsonObject r = base("agency_config");
    const QString list = QString::fromStdString(a.opts["--statuses"]);
    // Empty names are kept: the stub refuses them with the value named.
    r["statuses"] = list == "default" ? QJsonArray() : QJsonArray::fromStringList(list.split(','));
    for (auto [opt, key] : {std::pair{"--avl-moving", "avl_moving_s"}, std::pair{"--avl-stationary", "avl_stationary_s"}}) {
      auto seconds = countOption(a, opt, 0, 0, 3600);
      if (!seconds) return kUsage;
      if (a.opts.count(opt)) r[key] = int(*seconds);
    }
    return control(ctl, r);
  }
  if (cmd == "enroll-token" && a.pos.size() >= 2 && a.pos[1] == "create") {
    if (!needAgency()) return usage("enroll-token create: --agency (or $CAD_AGENCY) is required");
    if (a.pos.size() != 3) return usage("enroll-token create DEVICE [--unit UNIT] [--ttl 2h]");
    auto t = cli::enrolTokenRequest(base("enroll_token"), a.pos[2], a.opts.count("--unit") ? a.opts["--unit"] : "",
                                    a.opts.count("--ttl") ? a.opts["--ttl"] : "2h");
    if (!t) return kUsage;
    if (int rc = control(ctl, t->request); rc != kOk) return rc;
    cli::printToken(*t, a.pos[2]);
    return kOk;
  }
  if (cmd == "schedule" && a.pos.size() >= 2 && (a.pos[1] == "create" || a.pos[1] == "cancel")) {
    if (!needAgency()) return usage("schedule " + a.pos[1] + ": --agency (or $CAD_AGENCY) is required");
    if (a.pos[1] == "cancel") {
      if (a.pos.size() != 3) return usage("schedule cancel SCHEDULE");
      QJsonObject r = base("schedule_cancel");
      r["schedule"] = QString::fromStdString(a.pos[2]);
      return control(ctl, r);
    }
    if (a.pos.size() != 2) return usage("schedule create takes options only");
    auto r = cli::scheduleRequest(base("schedule_create"), a.opts, mdc::SystemClock::instance().nowMs());
    if (!r) return kUsage;
    return control(ctl, *r);
  }
  if (cmd == "zones" && !(a.pos.size() == 2 && a.pos[1] == "list")) {
    if (!needAgency()) return usage("zones: --agency (or $CAD_AGENCY) is required");
    auto r = cli::zonesRequest(base(""), a.pos, a.opts, a.flags);
    if (!r) return kUsage;
    return control(ctl, *r);
  }
  if (cmd == "types" && a.pos.size() >= 2 && (a.pos[1] == "add" || a.pos[1] == "remove")) {
    if (!needAgency()) return usage("types " + a.pos[1] + ": --agency (or $CAD_AGENCY) is required");
    auto r = cli::typesRequest(base(""), a.pos, a.opts);
    if (!r) return kUsage;
    return control(ctl, *r);
  }
  if (cmd == "import") {
    if (!needAgency()) return usage("import: --agency (or $CAD_AGENCY) is required: the agency that takes the incidents");
    if (a.pos.size() != 2 || !a.flags.count("--eido")) return usage("import --eido FILE");
    auto requests = cli::eidoImportRequests(a.pos[1], base(""));
    if (!requests) return kFailed;
    for (const auto& r : *requests)
      if (int rc = control(ctl, r); rc != kOk) return rc;
    return kOk;
  }
  if (cmd == "stats") return control(ctl, QJsonObject{{"cmd", "stats"}}, true);
  if (cmd == "ca" || cmd == "broker-config") return fleetCommand(a, dbPath);
  if (cmd == "records")
    return cli::records(a.pos, a.opts.count("--records") ? a.opts["--records"] : sideFileBase(dbPath) + ".records",
                        a.flags.count("--dry-run") > 0, json);

  if (cmd == "init") return cli::initStore(dbPath);
  if (cmd == "migrate") {
    if (a.pos.size() != 1 || !a.opts.count("--from") || !a.opts.count("--to"))
      return usage("migrate --from FILE|URI --to FILE|URI");
    return cli::migrateStore(a.opts["--from"], a.opts["--to"]);
  }

  // Read-only commands.
  auto store = EventStore::open(dbPath, /*readOnly=*/true);
  if (!store) {
    std::cerr << "cadctl: " << store.error().message << "\n";
    return kUnreachable;
  }
  EventStore& s = **store;
  if (cmd == "board") return board(s, agency, a.opts.count("--zone") ? a.opts["--zone"] : "",
                                   a.opts.count("--district") ? a.opts["--district"] : "", json);
  if (cmd == "schedule") {
    if (a.pos.size() != 2 || a.pos[1] != "list") return usage("schedule create ... | schedule list | schedule cancel ID");
    return cli::scheduleList(s, agency, json);
  }
  if (cmd == "zones") return cli::zonesList(s, agency, json);
  if (cmd == "types") {
    if (a.pos.size() != 2 || (a.pos[1] != "list" && a.pos[1] != "apco"))
      return usage("types list | types apco | types add CODE --label L --apco APCO | types remove CODE");
    return cli::typesList(s, agency, a.pos[1] == "apco", json);
  }
  if (cmd == "enroll-token") {
    if (a.pos.size() != 2 || a.pos[1] != "list") return usage("enroll-token create DEVICE ... | enroll-token list");
    return cli::enrolTokenList(s, agency, json);
  }
  if (cmd == "cfs") return cfsCmd(s, a, agency, json);
  if (cmd == "export") {
    if (a.pos.size() != 1 || !a.flags.count("--eido")) return usage("export --eido [--since T] [--issuer ID] [--out FILE]");
    int64_t since = 0;
    if (a.opts.count("--since")) {
      auto t = cli::parseSince(a.opts["--since"], mdc::SystemClock::instance().nowMs());
      if (!t) return usage("--since \"" + a.opts["--since"] + "\": expected a time such as 2026-12-01T08:00:00Z or an age such as 2h");
      since = *t;
    }
    return cli::eidoExport(s, agency, since, eidoIssuer(a), a.opts.count("--out") ? a.opts["--out"] : "");
  }
  if (cmd == "events") return events(s, a, agency, json);
  if (cmd == "audit") {
    if (a.pos.size() != 2 || a.pos[1] != "queries") return usage("audit queries [--unit U] [--since T]");
    int64_t since = 0;
    if (a.opts.count("--since")) {
      auto t = cli::parseSince(a.opts["--since"], mdc::SystemClock::instance().nowMs());
      if (!t) return usage("--since \"" + a.opts["--since"] + "\": expected a time such as 2026-12-01T08:00:00Z or an age such as 2h");
      since = *t;
    }
    return cli::auditQueries(s, agency, a.opts.count("--unit") ? a.opts["--unit"] : "", since, json);
  }
  if (cmd == "count") {
    std::cout << s.stats().events << "\n";
    return kOk;
  }
  if (cmd == "verify") return cli::verifyStore(s);
  if (cmd == "digest") return cli::digestStore(s);
  if (cmd == "replay") {
    if (!a.opts.count("--into")) return usage("replay --into FILE|URI");
    return cli::replayStore(s, a.opts["--into"]);
  }
  if (cmd == "kpi") {
    auto report = computeKpi(s, agency);
    if (json) printJson(report.toJson());
    else std::cout << report.toText();
    return kOk;
  }
  if (cmd == "devices" && a.pos.size() >= 2 && a.pos[1] == "list") {
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
    if (!json)
      std::printf("%-16s %-8s %-6s %-8s %-7s %-9s %-7s %-11s %-6s %s\n", "DEVICE", "UNIT", "AGENCY", "VERSION", "LINK",
                  "SEEN", "QUEUE", "CERT", "GPS", "ATTENTION");
    for (const auto& d : fleet::readFleet(s, agency)) {
      ++total;
      const auto flags = fleet::attention(d, now, t);
      if (!flags.empty()) ++flagged;
      if (attentionOnly && flags.empty()) continue;
      QJsonArray fl;
      for (const auto& f : flags) fl.append(QString::fromStdString(f));
      arr.append(QJsonObject{{"device", QString::fromStdString(d.device)},
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
                             {"attention", fl}});
      if (json) continue;
      std::string attentionText;
      for (const auto& f : flags) attentionText += (attentionText.empty() ? "" : ", ") + f;
      const bool reported = d.healthAtMs > 0;
      std::printf("%-16s %-8s %-6s %-8s %-7s %-9s %-7s %-11s %-6s %s\n", d.device.c_str(), d.unit.c_str(),
                  d.agency.c_str(), d.agentVersion.empty() ? "-" : d.agentVersion.c_str(),
                  d.online ? "online" : "OFF",
                  d.lastSeenMs ? (fleet::ageText(now - d.lastSeenMs) + " ago").c_str() : "never",
                  reported ? std::to_string(d.queueDepth).c_str() : "-",
                  d.certNotAfterMs ? iso(d.certNotAfterMs).substr(0, 10).c_str() : "-",
                  !reported ? "-" : d.gpsFix ? "fix" : "NONE", attentionText.c_str());
    }
    if (json) printJson(arr);
    else std::printf("%d devices, %d need attention\n", total, flagged);
    return kOk;
  }
  if (cmd == "config" && a.pos.size() >= 2 && a.pos[1] == "show") {
    auto st = s.db().prepare(
        "SELECT agency, statuses, avl_moving_s, avl_stationary_s, updated_at_ms, updated_by FROM agency_config "
        "WHERE (?1='' OR agency=?1) ORDER BY agency");
    st.bind(1, agency);
    QJsonArray arr;
    while (st.step()) {
      QJsonArray names;
      for (const auto& n : QString::fromStdString(st.text(1)).split(',', Qt::SkipEmptyParts)) names.append(n);
      arr.append(QJsonObject{{"agency", QString::fromStdString(st.text(0))},
                             {"statuses", names},
                             {"avl_moving_s", qint64(st.i64(2))},
                             {"avl_stationary_s", qint64(st.i64(3))},
                             {"updated_at_ms", qint64(st.i64(4))},
                             {"updated_by", QString::fromStdString(st.text(5))}});
      if (!json)
        std::printf("%-6s statuses %s; AVL moving %s, stationary %s; set %s by %s\n", st.text(0).c_str(),
                    st.text(1).empty() ? "(device default)" : st.text(1).c_str(),
                    st.i64(2) ? (std::to_string(st.i64(2)) + " s").c_str() : "(device)",
                    st.i64(3) ? (std::to_string(st.i64(3)) + " s").c_str() : "(device)", iso(st.i64(4)).c_str(),
                    st.text(5).c_str());
    }
    if (json) printJson(arr);
    else if (arr.isEmpty()) std::cout << "no agency configuration set (devices use their own defaults)\n";
    return kOk;
  }
  if (cmd == "refusals") {
    auto limit = countOption(a, "--limit", 50, 1, 10'000'000);
    if (!limit) return kUsage;
    auto st = s.db().prepare("SELECT received_at_ms, device_id, reason, detail FROM refusals ORDER BY id DESC LIMIT ?");
    st.bind(1, *limit);
    while (st.step())
      std::printf("%s %-16s %-14s %s\n", iso(st.i64(0)).c_str(), st.text(1).c_str(), st.text(2).c_str(),
                  st.text(3).c_str());
    return kOk;
  }
  return usage("unknown command \"" + cmd + "\"");
}
