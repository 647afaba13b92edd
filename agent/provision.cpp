#include "agent/provision.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "shared/infra/files.h"
#include "shared/infra/log.h"
#include "shared/infra/pki.h"
#include "shared/wire/topics.h"

namespace mdc::provision {

namespace {

// Copies a file atomically with the given mode.
Status copyFile(const std::string& from, const std::string& to, unsigned mode) {
  auto content = files::read(from);
  if (!content) return content.error();
  return files::writeAtomic(to, *content, mode);
}

}  // namespace

bool pathExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<agent::AgentConfig> loadDeviceConfig(const std::string& path) {
  agent::AgentConfig cfg;
  if (!pathExists(path)) return Error::make("config \"" + path + "\" does not exist (run mdc-provision enroll, then install-cert)");
  if (Status st = agent::loadConfigFile(path, cfg); !st) return st.error();
  return cfg;
}

// Run as root in a directory the package gave to the agent's user (/etc/mdc,
// owned by mdc), the files written take the directory's owner: the agent,
// which runs as that user, must read its key.
void handToDirOwner(const DeviceFiles& f) {
  struct stat d {};
  if (::geteuid() != 0 || ::stat(f.dir.c_str(), &d) != 0 || d.st_uid == 0) return;
  for (const auto& p : {f.key(), f.csr(), f.cert(), f.ca(), f.config(), f.pending()})
    if (::chown(p.c_str(), d.st_uid, d.st_gid) != 0 && errno != ENOENT)
      log::warn("provision", "chown " + p + ": " + std::strerror(errno));
}

Status enroll(const DeviceFiles& f, const agent::AgentConfig& cfgIn, std::ostream& out) {
  agent::AgentConfig cfg = cfgIn;
  if (cfg.deviceId.empty() || cfg.agency.empty())
    return Error::make("enroll: --device-id and --agency are required");
  if (!topics::isValidDeviceId(cfg.deviceId))
    return Error::make("enroll: --device-id \"" + cfg.deviceId + "\": 1..64 characters of A-Z a-z 0-9 . _ -");
  if (cfg.unitId.empty()) cfg.unitId = cfg.deviceId;  // moved to a real unit by dispatch (cadctl devices move)
  ::mkdir(f.dir.c_str(), 0755);
  if (pathExists(f.cert()))
    return Error::make("enroll: \"" + f.cert() + "\" exists: this device is enrolled (mdc-provision wipe first)");
  cfg.tlsCa = f.ca();
  cfg.tlsCert = f.cert();
  cfg.tlsKey = f.key();
  if (Status st = cfg.validate(); !st) return Error::make("enroll: " + st.error().message);
  if (Status st = pki::generateKey(f.key(), 0600); !st) return st;
  if (Status st = pki::writeCsr(f.key(), cfg.deviceId, f.csr()); !st) return st;
  if (Status st = files::writeAtomic(f.pending(), cfg.toJson(), 0644); !st) return st;
  handToDirOwner(f);
  out << "device key " << f.key() << " (EC P-256, 0600; it never leaves this device)\n"
      << "certificate request " << f.csr() << " (CN=" << cfg.deviceId << ")\n"
      << "next: have it signed (cadctl ca sign " << f.csr() << "), then\n"
      << "      mdc-provision install-cert CERT CHAIN\n";
  return {};
}

Status installCert(const DeviceFiles& f, const std::string& certPath, const std::string& chainPath, std::ostream& out) {
  auto cfg = loadDeviceConfig(f.pending());
  if (!cfg) return Error::make("install-cert: no pending enrolment (" + cfg.error().message + ")");
  auto info = pki::readCert(certPath);
  if (!info) return info.error();
  if (info->subjectCn != cfg->deviceId)
    return Error::make("install-cert: \"" + certPath + "\" is for CN=" + info->subjectCn + ", this device is " +
                       cfg->deviceId);
  if (Status st = pki::checkKeyMatchesCert(certPath, f.key()); !st)
    return Error::make("install-cert: " + st.error().message + " (signed from another device's request?)");
  auto chain = pki::verifyChain(certPath, chainPath);
  if (!chain) return chain.error();
  if (chain->verdict != pki::ChainVerdict::Ok)
    return Error::make("install-cert: \"" + certPath + "\" does not verify against \"" + chainPath +
                       "\": " + chain->detail);
  if (Status st = copyFile(chainPath, f.ca(), 0644); !st) return st;
  if (Status st = copyFile(certPath, f.cert(), 0644); !st) return st;
  cfg->tlsCa = f.ca();
  cfg->tlsCert = f.cert();
  cfg->tlsKey = f.key();
  if (Status st = cfg->validate(); !st) return st;
  if (Status st = files::writeAtomic(f.config(), cfg->toJson(), 0644); !st) return st;
  std::remove(f.pending().c_str());
  handToDirOwner(f);
  out << "installed " << f.cert() << " (CN=" << info->subjectCn << ", valid until " << pki::formatTime(info->notAfter)
      << ") and " << f.ca() << "\nconfig written: " << f.config() << "\n";
  return {};
}

Status show(const DeviceFiles& f, std::ostream& out) {
  auto cfg = loadDeviceConfig(f.config());
  if (!cfg) {
    auto pending = loadDeviceConfig(f.pending());
    if (!pending) return cfg.error();
    out << "enrolment pending (certificate not installed yet)\n";
    cfg = std::move(pending);
  }
  out << "device   " << cfg->deviceId << "\nunit     " << cfg->unitId << "\nagency   " << cfg->agency
      << "\nbroker   " << cfg->broker << "\nstore    " << cfg->storePath << "\n";
  if (cfg->tlsCert.empty() || !pathExists(cfg->tlsCert)) {
    out << "cert     none installed\n";
    return {};
  }
  auto info = pki::readCert(cfg->tlsCert);
  if (!info) return info.error();
  out << "cert     CN=" << info->subjectCn << ", issued by " << info->issuerCn << ", serial " << info->serialHex
      << "\nexpires  " << pki::formatTime(info->notAfter) << "\n";
  return {};
}

Status wipe(const DeviceFiles& f, bool force, std::ostream& out) {
  agent::AgentConfig cfg;
  bool haveConfig = false;
  for (const std::string& p : {f.config(), f.pending()}) {
    if (haveConfig || !pathExists(p)) continue;
    if (Status st = agent::loadConfigFile(p, cfg); !st) return st;
    haveConfig = true;
  }
  if (haveConfig && pathExists(cfg.storePath)) {
    // Read-only count, without migrating or creating anything.
    sqlite3* db = nullptr;
    int64_t unsent = -1;
    if (sqlite3_open_v2(cfg.storePath.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT COUNT(*), COALESCE(SUM(lane<>4),0) FROM outbox", -1, &st, nullptr) ==
              SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        unsent = sqlite3_column_int64(st, 0);
        int64_t important = sqlite3_column_int64(st, 1);
        if (unsent > 0 && !force) {
          sqlite3_finalize(st);
          sqlite3_close(db);
          return Error::make("wipe: refusing: " + std::to_string(unsent) + " unsent events (" +
                             std::to_string(important) + " status/CFS/emergency/message, " +
                             std::to_string(unsent - important) +
                             " AVL) would be lost; let the agent deliver them, or use --force");
        }
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    if (unsent > 0) out << "--force: " << unsent << " unsent events are lost\n";
  }
  std::vector<std::string> gone = {f.key(), f.csr(), f.cert(), f.ca(), f.config(), f.pending()};
  if (haveConfig) {
    for (const char* suffix : {"", "-wal", "-shm", ".key"}) gone.push_back(cfg.storePath + suffix);
    if (!cfg.storeKeyPath.empty()) gone.push_back(cfg.storeKeyPath);
    if (!cfg.tlsKey.empty()) gone.push_back(cfg.tlsKey);
    if (!cfg.tlsCert.empty()) gone.push_back(cfg.tlsCert);
  }
  int removed = 0;
  for (const auto& p : gone)
    if (::unlink(p.c_str()) == 0) {
      out << "removed " << p << "\n";
      ++removed;
    }
  out << (removed ? "device wiped\n" : "nothing to remove\n");
  return {};
}

}  // namespace mdc::provision
