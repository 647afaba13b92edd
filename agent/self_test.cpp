// mdc-provision self-test: the checklist a technician runs at the vehicle
// (config, identity, certificate, each broker and the backend behind it,
// gpsd and the clock, disk, store), one function per check.
#include "agent/self_test.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <gps.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <ostream>

#include "agent/store.h"
#include "shared/wire/clock.h"
#include "shared/infra/pki.h"

namespace mdc::provision {

namespace {

std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string days(std::time_t secs) { return std::to_string(secs / 86400) + " days"; }

// 2. identity: key and certificate present and matching
void checkIdentity(SelfTestRun& r) {
  const agent::AgentConfig& cfg = r.cfg;
  if (cfg.tlsCert.empty() || !pathExists(cfg.tlsCert)) {
    r.add("identity", Level::Fail, "no device certificate installed (run mdc-provision install-cert)");
  } else if (cfg.tlsKey.empty() || !pathExists(cfg.tlsKey)) {
    r.add("identity", Level::Fail, "no device key at \"" + cfg.tlsKey + "\": enrol again (mdc-provision wipe, enroll)");
  } else if (auto info = pki::readCert(cfg.tlsCert); !info) {
    r.add("identity", Level::Fail, "certificate unreadable: " + info.error().message);
  } else if (Status st = pki::checkKeyMatchesCert(cfg.tlsCert, cfg.tlsKey); !st) {
    r.add("identity", Level::Fail, "the device key does not match the certificate (" + st.error().message + ")");
  } else if (info->subjectCn != cfg.deviceId) {
    r.add("identity", Level::Fail,
          "certificate is for \"" + info->subjectCn + "\", this device is \"" + cfg.deviceId + "\"");
  } else {
    r.cert = *info;
    r.identityOk = true;
    r.add("identity", Level::Pass, "key and certificate match, CN=" + info->subjectCn);
  }
}

// What a certificate close to its expiry should prompt: the agent's renewal, or a person's.
std::string renewalAdvice(const agent::AgentConfig& cfg, std::time_t left) {
  if (cfg.enrollServer.empty()) return "renew it soon (no tls.enroll_server: no automatic renewal)";
  return "the agent renews it through " + cfg.enrollServer +
         (left < std::time_t(cfg.renewMarginDays) * 86400
              ? " (due now: is the agent running and online?)"
              : " from " + std::to_string(cfg.renewMarginDays) + " days before expiry");
}

// 3. certificate expiry
void checkExpiry(SelfTestRun& r) {
  if (!r.cert) return;
  const agent::AgentConfig& cfg = r.cfg;
  const pki::CertInfo& cert = *r.cert;
  std::time_t now = std::time(nullptr);
  if (cert.notAfter <= now) {
    r.certProblem = "certificate expired on " + pki::formatTime(cert.notAfter);
    r.add("certificate expiry", Level::Fail,
          r.certProblem + ": this device missed its renewal window and needs a new token (cadctl enroll-token create " +
              cfg.deviceId + "; then mdc-provision enroll --server " +
              (cfg.enrollServer.empty() ? std::string("https://CAD-HOST:PORT") : cfg.enrollServer) + " --device-id " +
              cfg.deviceId + " --token TOKEN --force)");
  } else if (cert.notBefore > now) {
    r.certProblem = "certificate not valid before " + pki::formatTime(cert.notBefore) + " (check the clock)";
    r.add("certificate expiry", Level::Fail, r.certProblem);
  } else if (cert.notAfter - now < std::time_t(r.o.certWarnDays) * 86400) {
    r.add("certificate expiry", Level::Warn,
          "certificate expires on " + pki::formatTime(cert.notAfter) + " (in " + days(cert.notAfter - now) +
              "): " + renewalAdvice(cfg, cert.notAfter - now));
  } else {
    r.add("certificate expiry", Level::Pass, "valid until " + pki::formatTime(cert.notAfter));
  }
}

// 4. chain and revocation
void checkChain(SelfTestRun& r) {
  if (!r.cert) return;
  const agent::AgentConfig& cfg = r.cfg;
  if (cfg.tlsCa.empty() || !pathExists(cfg.tlsCa)) {
    r.add("certificate chain", Level::Fail, "no fleet CA certificate at \"" + cfg.tlsCa + "\" (tls.ca)");
    return;
  }
  auto v = pki::verifyChain(cfg.tlsCert, cfg.tlsCa, r.o.crlPath);
  if (!v) {
    r.add("certificate chain", Level::Fail, v.error().message);
    return;
  }
  switch (v->verdict) {
    case pki::ChainVerdict::Ok:
      r.add("certificate chain", Level::Pass,
            std::string("issued by this fleet's CA (") + r.cert->issuerCn + ")" +
                (r.o.crlPath.empty() ? "" : ", not revoked"));
      break;
    case pki::ChainVerdict::Expired:
    case pki::ChainVerdict::NotYetValid:
      r.add("certificate chain", Level::Warn, "signature chain not checked further: " + r.certProblem);
      break;
    case pki::ChainVerdict::NotIssuedByCa:
      r.certProblem = "certificate not issued by this fleet's CA (issuer \"" + r.cert->issuerCn + "\")";
      r.add("certificate chain", Level::Fail, r.certProblem + ": enrol again against this fleet");
      break;
    case pki::ChainVerdict::Revoked:
      r.certProblem = "certificate revoked by the fleet";
      r.add("certificate chain", Level::Fail, r.certProblem + ": ask the fleet office, then enrol again");
      break;
    case pki::ChainVerdict::Other:
      r.certProblem = "certificate not accepted: " + v->detail;
      r.add("certificate chain", Level::Fail, r.certProblem);
      break;
  }
}

// What gpsd reported within the timeout.
struct GpsReading {
  int mode = 0;
  int sats = 0;
  double eph = NAN;
  int64_t gpsMs = 0, sysMsAtFix = 0;
  bool sawTpv = false;
};

GpsReading readGps(gps_data_t& data, int timeoutS) {
  GpsReading g;
  (void)gps_stream(&data, WATCH_ENABLE | WATCH_JSON, nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutS);
  while (std::chrono::steady_clock::now() < deadline && !(g.mode >= 2 && g.gpsMs)) {
    if (!gps_waiting(&data, 200000)) continue;
    data.set = 0;
    if (gps_read(&data, nullptr, 0) < 0) break;
    if (data.set & MODE_SET) {
      g.sawTpv = true;
      g.mode = data.fix.mode;
    }
    if (data.set & SATELLITE_SET) g.sats = data.satellites_used;
    if (g.mode >= 2 && (data.set & TIME_SET) && data.fix.time.tv_sec > 0) {
      g.gpsMs = int64_t(data.fix.time.tv_sec) * 1000 + data.fix.time.tv_nsec / 1'000'000;
      g.sysMsAtFix = SystemClock::instance().nowMs();
      g.eph = data.fix.eph;
    }
  }
  return g;
}

// 7. fix quality
void reportFix(SelfTestRun& r, const GpsReading& g, const std::string& gpsName) {
  if (g.mode >= 2) {
    std::string q = (g.mode == 3 ? "3D fix" : "2D fix") +
                    std::string(g.sats ? ", " + std::to_string(g.sats) + " satellites" : "") +
                    (std::isfinite(g.eph) ? ", ±" + std::to_string(int(std::lround(g.eph))) + " m" : "");
    r.add("gps", g.mode == 3 ? Level::Pass : Level::Warn, "gpsd at " + gpsName + ": " + q);
  } else {
    r.add("gps", Level::Warn,
          "gpsd at " + gpsName +
              (g.sawTpv ? ": no fix yet" : ": no reports within " + std::to_string(r.o.timeoutS) + " s") +
              " (antenna with a clear view of the sky?)");
  }
}

// 8. clock vs GPS time
void reportClock(SelfTestRun& r, const GpsReading& g) {
  if (!g.gpsMs) {
    r.add("clock", Level::Warn, "cannot compare the system clock with GPS time (no GPS time yet)");
    return;
  }
  double skewS = double(g.sysMsAtFix - g.gpsMs) / 1000.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.1f s", skewS);
  std::string what = std::string("system clock is ") + buf + " from GPS time";
  if (std::fabs(skewS) > 60) r.add("clock", Level::Fail, what + ": fix the time (NTP/chrony) before service");
  else if (std::fabs(skewS) > 2) r.add("clock", Level::Warn, what + ": check NTP/chrony");
  else r.add("clock", Level::Pass, what);
}

// 7. gpsd and fix quality, 8. clock vs GPS time
void checkGps(SelfTestRun& r) {
  const agent::AgentConfig& cfg = r.cfg;
  if (cfg.gpsSource != "gpsd") {
    r.add("gps", Level::Warn, "gps.source is \"" + cfg.gpsSource + "\": no gpsd to check");
    r.add("clock", Level::Warn, "cannot compare the system clock with GPS time (no gpsd)");
    return;
  }
  gps_data_t data{};
  std::string gpsName = cfg.gpsdHost + ":" + std::to_string(cfg.gpsdPort);
  if (gps_open(cfg.gpsdHost.c_str(), std::to_string(cfg.gpsdPort).c_str(), &data) != 0) {
    // A vehicle can run without GPS (statuses still work): a warning, not a failure.
    r.add("gps", Level::Warn, "gpsd not reachable at " + gpsName + " (" + gps_errstr(errno) +
                                  "): no positions will be reported; is gpsd running and the receiver plugged in?");
    r.add("clock", Level::Warn, "cannot compare the system clock with GPS time (no gpsd)");
    return;
  }
  const GpsReading g = readGps(data, r.o.timeoutS);
  gps_close(&data);
  reportFix(r, g, gpsName);
  reportClock(r, g);
}

// 9. free disk for the store
void checkDisk(SelfTestRun& r) {
  std::string storeDir = dirOf(r.cfg.storePath);
  struct statvfs vfs {};
  if (::statvfs(storeDir.c_str(), &vfs) != 0) {
    r.add("disk", Level::Fail, "store directory \"" + storeDir + "\": " + std::strerror(errno));
    return;
  }
  int64_t freeMb = int64_t(vfs.f_bavail) * int64_t(vfs.f_frsize) / (1024 * 1024);
  std::string what = std::to_string(freeMb) + " MiB free on " + storeDir;
  if (freeMb < r.o.minFreeMb)
    r.add("disk", Level::Fail, "only " + what + " (the store needs at least " + std::to_string(r.o.minFreeMb) +
                                   " MiB): free some space");
  else r.add("disk", Level::Pass, what);
}

// 10. store integrity
void checkStore(SelfTestRun& r) {
  const agent::AgentConfig& cfg = r.cfg;
  if (!pathExists(cfg.storePath)) {
    r.add("store", Level::Pass, "no store yet at " + cfg.storePath + " (the agent creates it on first start)");
    return;
  }
  agent::Store::Options so;
  so.capBytes = cfg.storeCapBytes;
  so.keyPath = cfg.storeKeyPath;
  auto store = agent::Store::open(cfg.storePath, so, SystemClock::instance());
  if (!store) {
    r.add("store", Level::Fail, store.error().message);
    return;
  }
  auto report = (*store)->check();
  std::string bad;
  for (const auto& line : report.lines)
    if (line.rfind("ok", 0) != 0) bad += (bad.empty() ? "" : "; ") + line;
  if (report.ok)
    r.add("store", Level::Pass,
          "integrity ok, " + std::to_string((*store)->outboxCount()) + " events waiting in the outbox");
  else r.add("store", Level::Fail, bad.empty() ? "integrity check failed" : bad);
}

}  // namespace

const char* levelName(Level l) {
  switch (l) {
    case Level::Pass: return "PASS";
    case Level::Warn: return "WARN";
    case Level::Fail: return "FAIL";
  }
  return "?";
}

std::vector<Check> selfTest(const DeviceFiles& f, const SelfTestOptions& o) {
  SelfTestRun run{o, {}, {}, false, std::nullopt, {}};
  // 1. config: the checks after it read it.
  auto cfg = loadDeviceConfig(f.config());
  if (!cfg) {
    run.add("config", Level::Fail, cfg.error().message);
    return run.checks;
  }
  run.cfg = *cfg;
  if (Status st = run.cfg.validate(); !st) run.add("config", Level::Fail, st.error().message);
  else
    run.add("config", Level::Pass,
            f.config() + ": device " + run.cfg.deviceId + ", unit " + run.cfg.unitId + ", agency " + run.cfg.agency);
  // In order: each may rely on what an earlier one learnt.
  for (auto check : {checkIdentity, checkExpiry, checkChain, checkBrokers, checkGps, checkDisk, checkStore}) check(run);
  return run.checks;
}

void printChecks(const std::vector<Check>& checks, std::ostream& out) {
  int fails = 0, warns = 0;
  for (const auto& c : checks) {
    out << levelName(c.level) << "  " << c.name << std::string(c.name.size() < 20 ? 20 - c.name.size() : 1, ' ')
        << c.detail << "\n";
    fails += c.level == Level::Fail;
    warns += c.level == Level::Warn;
  }
  out << (fails ? "SELF-TEST FAILED" : "SELF-TEST PASSED") << ": " << fails << " failed, " << warns << " warnings, "
      << checks.size() << " checks\n";
}

std::string checksJson(const std::vector<Check>& checks) {
  QJsonArray arr;
  bool ok = true;
  for (const auto& c : checks) {
    ok = ok && c.level != Level::Fail;
    arr.append(QJsonObject{{"name", QString::fromStdString(c.name)},
                           {"level", levelName(c.level)},
                           {"detail", QString::fromStdString(c.detail)}});
  }
  return QJsonDocument(QJsonObject{{"ok", ok}, {"checks", arr}}).toJson(QJsonDocument::Indented).toStdString();
}

}  // namespace mdc::provision
