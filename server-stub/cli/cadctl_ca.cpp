#include "server-stub/cli/cadctl_ca.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "server-stub/service/broker_config.h"

namespace cad::cli {

namespace {

// Parses a positive day count or port; -1 when invalid.
long positive(const std::string& v, long max) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  return (*end || v.empty() || n < 1 || n > max) ? -1 : n;
}

int fail(const std::string& msg) {
  std::cerr << "cadctl: " << msg << "\n";
  return kFailed;
}

int caSign(Invocation& inv, mdc::pki::FleetCa& ca, int days) {
  Args& a = inv.a;
  if (a.pos.size() < 3) return usage("ca sign CSR [--out CERT] [--days N]");
  std::string csr = a.pos[2];
  std::string out = a.opts.count("--out") ? a.opts["--out"]
                    : (csr.size() > 4 && csr.substr(csr.size() - 4) == ".csr" ? csr.substr(0, csr.size() - 4) : csr) +
                          ".pem";
  mdc::pki::SignOptions so;
  so.validDays = days ? days : 365;
  so.reenrol = a.flags.count("--reenrol") > 0;
  auto info = ca.sign(csr, out, so);
  if (!info) return fail(info.error().message);
  std::cout << "signed CN=" << info->subjectCn << " serial " << info->serialHex << " valid until "
            << mdc::pki::formatTime(info->notAfter) << ": " << out << " (chain: " << ca.caFile() << ")\n";
  return kOk;
}

}  // namespace

std::string caDirOf(const Invocation& inv) { return inv.opt("--ca-dir", sideFileBase(inv.dbPath) + ".ca"); }

void printRevoked(const mdc::pki::FleetCa& ca, const std::vector<std::string>& serials) {
  for (const auto& serial : serials) std::cout << "revoked serial " << serial << "\n";
  std::cout << "CRL rewritten: " << ca.crlFile() << " (a running mosquitto reads it at start: restart it)\n";
}

int brokerConfigCommand(Invocation& inv) {
  Args& a = inv.a;
  if (!a.opts.count("--out")) return usage("broker-config --out FILE [--port N] [--ca-dir D]");
  cad::BrokerConfigOptions o;
  o.outFile = a.opts["--out"];
  o.caDir = caDirOf(inv);
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
  if (a.opts.count("--edge")) o.edgeName = a.opts["--edge"];
  if (a.opts.count("--bridge-to")) {
    const std::string list = a.opts["--bridge-to"];
    size_t at = 0;
    while (at <= list.size()) {
      const size_t comma = std::min(list.find(',', at), list.size());
      o.bridgeTo.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
  }
  auto r = cad::writeBrokerConfig(o);
  if (!r) return fail(r.error().message);
  std::cout << "wrote " << r->config << " (acl " << r->acl << ", broker " << r->serverCert << ", stub "
            << r->stubCert << (o.edgeName.empty() ? "" : "; edge " + o.edgeName + ", bridged to the backbone") << ")\n";
  return kOk;
}

int caCommand(Invocation& inv) {
  Args& a = inv.a;
  const std::string caDir = caDirOf(inv);
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
  if (a.pos[1] == "sign") return caSign(inv, *ca, days);
  if (a.pos[1] == "revoke") {
    if (a.pos.size() < 3) return usage("ca revoke DEVICE|SERIAL");
    auto r = ca->revoke(a.pos[2]);
    if (!r) return fail(r.error().message);
    printRevoked(*ca, *r);
    return kOk;
  }
  return usage("unknown ca command \"" + a.pos[1] + "\"");
}

}  // namespace cad::cli
