#include "agent/provision.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <arpa/inet.h>
#include <gps.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <ostream>
#include <thread>

#include "agent/store.h"
#include "mdc/v1/mdc.pb.h"
#include "shared/wire/codec.h"
#include "shared/infra/files.h"
#include "shared/infra/log.h"
#include "shared/infra/mqtt.h"
#include "shared/infra/pki.h"
#include "shared/wire/topics.h"
#include "shared/wire/uuid.h"

namespace mdc::provision {

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Copies a file atomically with the given mode.
Status copyFile(const std::string& from, const std::string& to, unsigned mode) {
  auto content = files::read(from);
  if (!content) return content.error();
  return files::writeAtomic(to, *content, mode);
}

Result<agent::AgentConfig> loadConfig(const std::string& path) {
  agent::AgentConfig cfg;
  if (!exists(path)) return Error::make("config \"" + path + "\" does not exist (run mdc-provision enroll, then install-cert)");
  if (Status st = agent::loadConfigFile(path, cfg); !st) return st.error();
  return cfg;
}

// host and port of tcp://host:port or ssl://host:port.
bool splitBroker(const std::string& uri, std::string& host, int& port) {
  auto scheme = uri.find("://");
  std::string rest = scheme == std::string::npos ? uri : uri.substr(scheme + 3);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  host = rest.substr(0, colon);
  port = std::atoi(rest.substr(colon + 1).c_str());
  return !host.empty() && port > 0 && port < 65536;
}

// A plain TCP connect with a timeout: "" when it connects, else the reason.
std::string tcpReachable(const std::string& host, int port, int timeoutMs) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return std::string("name not found: ") + gai_strerror(rc);
  std::string why = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeoutMs) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      ::close(fd);
      ::freeaddrinfo(res);
      return "";
    }
    why = errno == ECONNREFUSED ? "connection refused" : errno == ETIMEDOUT ? "timed out" : std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return why;
}

// Collects one connection's outcome and the first downlink, from paho's threads.
class Probe final : public mqtt::Handler {
 public:
  void onConnected(bool) override { set([&] { connected = true; }); }
  void onConnectFailed(const std::string& reason, int code) override {
    set([&] {
      failed = true;
      failReason = reason + " (" + std::to_string(code) + ")";
    });
  }
  void onConnectionLost(const std::string& cause) override {
    set([&] {
      lost = true;
      lostCause = cause;
    });
  }
  void onMessage(std::string, std::string payload, bool) override {
    set([&] { downlinks.push_back(std::move(payload)); });
  }
  void onPublishResult(int, bool ok, int reasonCode) override {
    set([&] {
      published = true;
      publishOk = ok;
      publishReason = reasonCode;
    });
  }
  void onSubscribeResult(const std::string&, bool ok, int) override {
    set([&] {
      subscribed = true;
      subscribeOk = ok;
    });
  }
  template <class Pred>
  bool waitFor(Pred pred, int timeoutMs) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return pred(); });
  }

  std::mutex mu;
  std::condition_variable cv;
  bool connected = false, failed = false, lost = false, published = false, publishOk = false, subscribed = false,
       subscribeOk = false;
  int publishReason = 0;
  std::string failReason, lostCause;
  std::vector<std::string> downlinks;

 private:
  template <class F>
  void set(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
};

// Words a technician understands for a TLS refusal, from OpenSSL's text.
std::string explainTls(const std::string& tls) {
  if (tls.find("revoked") != std::string::npos) return "the broker refused this device's certificate: it is revoked";
  if (tls.find("expired") != std::string::npos) return "the broker refused this device's certificate: it has expired";
  if (tls.find("unknown ca") != std::string::npos || tls.find("bad certificate") != std::string::npos)
    return "the broker refused this device's certificate: not issued by the fleet's CA";
  if (tls.find("certificate required") != std::string::npos || tls.find("handshake failure") != std::string::npos)
    return "the broker requires a device certificate and got none";
  if (tls.find("certificate verify failed") != std::string::npos)
    return "the broker's certificate is not signed by the CA this device trusts (tls.ca)";
  return "";
}

// What the broker says about this identity in a TLS 1.2 handshake of our own:
// with TLS 1.2 the broker checks the client certificate inside the handshake and
// names its objection in an alert ("certificate revoked", "unknown ca"), where
// TLS 1.3 (paho's choice) only closes the connection afterwards. "" when the
// handshake succeeds; otherwise OpenSSL's reason.
std::string tlsHandshakeVerdict(const std::string& host, int port, const agent::AgentConfig& cfg, int timeoutMs) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) return "name not found";
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  bool connected = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  ::freeaddrinfo(res);
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return "connect failed";
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::string verdict;
  if (!ctx) verdict = "no TLS context";
  if (ctx) {
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    if (!cfg.tlsCa.empty()) SSL_CTX_load_verify_locations(ctx, cfg.tlsCa.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!cfg.tlsCert.empty() && !cfg.tlsKey.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx, cfg.tlsCert.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, cfg.tlsKey.c_str(), SSL_FILETYPE_PEM) != 1))
      ERR_clear_error();  // the identity checks above report unreadable files
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host.c_str());
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
      unsigned long e = ERR_get_error();
      char buf[256] = "handshake failed";
      if (e) ERR_error_string_n(e, buf, sizeof buf);
      verdict = buf;
      ERR_clear_error();
    } else {
      // The broker may still refuse after the handshake: read briefly for an alert.
      char b;
      if (SSL_read(ssl, &b, 1) <= 0) {
        unsigned long e = ERR_get_error();
        if (e) {
          char buf[256];
          ERR_error_string_n(e, buf, sizeof buf);
          verdict = buf;
        }
        ERR_clear_error();
      }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  ::close(fd);
  return verdict;
}

std::string days(std::time_t secs) { return std::to_string(secs / 86400) + " days"; }

}  // namespace

const char* levelName(Level l) {
  switch (l) {
    case Level::Pass: return "PASS";
    case Level::Warn: return "WARN";
    case Level::Fail: return "FAIL";
  }
  return "?";
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
  if (exists(f.cert()))
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
  auto cfg = loadConfig(f.pending());
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
  auto cfg = loadConfig(f.config());
  if (!cfg) {
    auto pending = loadConfig(f.pending());
    if (!pending) return cfg.error();
    out << "enrolment pending (certificate not installed yet)\n";
    cfg = std::move(pending);
  }
  out << "device   " << cfg->deviceId << "\nunit     " << cfg->unitId << "\nagency   " << cfg->agency
      << "\nbroker   " << cfg->broker << "\nstore    " << cfg->storePath << "\n";
  if (cfg->tlsCert.empty() || !exists(cfg->tlsCert)) {
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
    if (haveConfig || !exists(p)) continue;
    if (Status st = agent::loadConfigFile(p, cfg); !st) return st;
    haveConfig = true;
  }
  if (haveConfig && exists(cfg.storePath)) {
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

std::vector<Check> selfTest(const DeviceFiles& f, const SelfTestOptions& o) {
  std::vector<Check> checks;
  auto add = [&](std::string name, Level l, std::string detail) {
    checks.push_back({std::move(name), l, std::move(detail)});
  };

  // 1. config
  auto cfgR = loadConfig(f.config());
  if (!cfgR) {
    add("config", Level::Fail, cfgR.error().message);
    return checks;
  }
  agent::AgentConfig cfg = *cfgR;
  if (Status st = cfg.validate(); !st) add("config", Level::Fail, st.error().message);
  else add("config", Level::Pass, f.config() + ": device " + cfg.deviceId + ", unit " + cfg.unitId + ", agency " + cfg.agency);

  // 2. identity: key and certificate present and matching
  bool identityOk = false;
  std::optional<pki::CertInfo> cert;
  if (cfg.tlsCert.empty() || !exists(cfg.tlsCert)) {
    add("identity", Level::Fail, "no device certificate installed (run mdc-provision install-cert)");
  } else if (cfg.tlsKey.empty() || !exists(cfg.tlsKey)) {
    add("identity", Level::Fail, "no device key at \"" + cfg.tlsKey + "\": enrol again (mdc-provision wipe, enroll)");
  } else if (auto info = pki::readCert(cfg.tlsCert); !info) {
    add("identity", Level::Fail, "certificate unreadable: " + info.error().message);
  } else if (Status st = pki::checkKeyMatchesCert(cfg.tlsCert, cfg.tlsKey); !st) {
    add("identity", Level::Fail, "the device key does not match the certificate (" + st.error().message + ")");
  } else if (info->subjectCn != cfg.deviceId) {
    add("identity", Level::Fail, "certificate is for \"" + info->subjectCn + "\", this device is \"" + cfg.deviceId + "\"");
  } else {
    cert = *info;
    identityOk = true;
    add("identity", Level::Pass, "key and certificate match, CN=" + info->subjectCn);
  }

  // 3. certificate expiry, 4. chain and revocation
  std::string certProblem;  // what the broker will say, in words
  if (cert) {
    std::time_t now = std::time(nullptr);
    if (cert->notAfter <= now) {
      certProblem = "certificate expired on " + pki::formatTime(cert->notAfter);
      add("certificate expiry", Level::Fail,
          certProblem + ": this device missed its renewal window and needs a new token (cadctl enroll-token create " +
              cfg.deviceId + "; then mdc-provision enroll --server " +
              (cfg.enrollServer.empty() ? std::string("https://CAD-HOST:PORT") : cfg.enrollServer) + " --device-id " +
              cfg.deviceId + " --token TOKEN --force)");
    } else if (cert->notBefore > now) {
      certProblem = "certificate not valid before " + pki::formatTime(cert->notBefore) + " (check the clock)";
      add("certificate expiry", Level::Fail, certProblem);
    } else if (cert->notAfter - now < std::time_t(o.certWarnDays) * 86400) {
      add("certificate expiry", Level::Warn,
          "certificate expires on " + pki::formatTime(cert->notAfter) + " (in " + days(cert->notAfter - now) + "): " +
              (cfg.enrollServer.empty() ? std::string("renew it soon (no tls.enroll_server: no automatic renewal)")
                                        : "the agent renews it through " + cfg.enrollServer +
                                              (cert->notAfter - now < std::time_t(cfg.renewMarginDays) * 86400
                                                   ? " (due now: is the agent running and online?)"
                                                   : " from " + std::to_string(cfg.renewMarginDays) +
                                                         " days before expiry")));
    } else {
      add("certificate expiry", Level::Pass, "valid until " + pki::formatTime(cert->notAfter));
    }
    if (cfg.tlsCa.empty() || !exists(cfg.tlsCa)) {
      add("certificate chain", Level::Fail, "no fleet CA certificate at \"" + cfg.tlsCa + "\" (tls.ca)");
    } else if (auto v = pki::verifyChain(cfg.tlsCert, cfg.tlsCa, o.crlPath); !v) {
      add("certificate chain", Level::Fail, v.error().message);
    } else {
      switch (v->verdict) {
        case pki::ChainVerdict::Ok:
          add("certificate chain", Level::Pass,
              std::string("issued by this fleet's CA (") + cert->issuerCn + ")" +
                  (o.crlPath.empty() ? "" : ", not revoked"));
          break;
        case pki::ChainVerdict::Expired:
        case pki::ChainVerdict::NotYetValid:
          add("certificate chain", Level::Warn, "signature chain not checked further: " + certProblem);
          break;
        case pki::ChainVerdict::NotIssuedByCa:
          certProblem = "certificate not issued by this fleet's CA (issuer \"" + cert->issuerCn + "\")";
          add("certificate chain", Level::Fail, certProblem + ": enrol again against this fleet");
          break;
        case pki::ChainVerdict::Revoked:
          certProblem = "certificate revoked by the fleet";
          add("certificate chain", Level::Fail, certProblem + ": ask the fleet office, then enrol again");
          break;
        case pki::ChainVerdict::Other:
          certProblem = "certificate not accepted: " + v->detail;
          add("certificate chain", Level::Fail, certProblem);
          break;
      }
    }
  }

  // 5. broker over TLS with this identity, 6. round trip through the backend;
  // each node of a broker list, since the agent may be on any of them.
  const auto brokerList = cfg.brokers();
  for (size_t bi = 0; bi < brokerList.size(); ++bi) {
    const std::string& uri = brokerList[bi];
    const std::string place =
        brokerList.size() == 1 ? "" : " " + std::to_string(bi + 1) + " of " + std::to_string(brokerList.size());
    const std::string brokerName = "broker" + place;
    const std::string tripName = "backend round trip" + (place.empty() ? "" : " via broker" + place);
    std::string host;
    int port = 0;
    if (!splitBroker(uri, host, port)) {
      add(brokerName, Level::Fail, "broker \"" + uri + "\" has no host:port");
    } else if (std::string why = tcpReachable(host, port, o.timeoutS * 1000); !why.empty()) {
      add(brokerName, Level::Fail, "broker not reachable at " + host + ":" + std::to_string(port) + " (" + why + ")");
      add(tripName, Level::Fail, "not tried: the broker is not reachable");
    } else {
      Probe probe;
      mqtt::Options mo;
      mo.uri = uri;
      mo.version = *mqtt::parseVersion(cfg.mqttVersion);  // checked by the config
      // Its own client id, so a running agent's session is not taken over.
      mo.clientId = cfg.deviceId + ".selftest";
      mo.cleanStart = true;
      mo.sessionExpiryS = 0;
      mo.connectTimeoutS = o.timeoutS;
      if (uri.rfind("ssl://", 0) == 0) {
        mo.caFile = cfg.tlsCa;
        if (identityOk || !certProblem.empty()) {
          mo.certFile = cfg.tlsCert;
          mo.keyFile = cfg.tlsKey;
        }
      }
      std::unique_ptr<mqtt::Client> client;
      try {
        client = std::make_unique<mqtt::Client>(mo, probe);
      } catch (const std::exception& e) {
        add(brokerName, Level::Fail, std::string("broker \"") + uri + "\": " + e.what());
      }
      if (client && client->connect().ok() &&
          probe.waitFor([&] { return probe.connected || probe.failed || probe.lost; }, (o.timeoutS + 2) * 1000) &&
          probe.connected) {
        // TLS 1.3 reports a refused client certificate only after the handshake: settle.
        probe.waitFor([&] { return probe.lost; }, 300);
      }
      bool up = client && probe.connected && !probe.lost;
      if (up) {
        add(brokerName, Level::Pass, "connected to " + host + ":" + std::to_string(port) + " as " + cfg.deviceId);
      } else if (client) {
        std::string tls = client->lastTlsError();
        if (tls.empty() && mo.uri.rfind("ssl://", 0) == 0)
          tls = tlsHandshakeVerdict(host, port, cfg, o.timeoutS * 1000);
        std::string words = !certProblem.empty()       ? "the broker refused this device: " + certProblem
                            : !explainTls(tls).empty() ? explainTls(tls)
                            : mo.certFile.empty()      ? "the broker requires a device certificate: none installed"
                                                       : "";
        std::string raw = probe.failed ? probe.failReason
                          : probe.lost ? "connection lost: " + probe.lostCause
                                       : "no answer";
        if (!tls.empty()) raw += "; TLS: " + tls;
        add(brokerName, Level::Fail,
            (words.empty() ? "broker at " + host + ":" + std::to_string(port) + " refused the connection" : words) +
                " [" + raw + "]");
      }
      if (!up) {
        add(tripName, Level::Fail, "not tried: no connection to the broker");
      } else {
        // The probe: a Presence on the up topic. The backend stores nothing for it
        // and answers on the down topic, with UNKNOWN_DEVICE when the device is not
        // registered and otherwise with a "wrong_topic" rejection: either answer
        // proves broker -> stub -> broker -> device works with this identity.
        (void)client->subscribe(topics::down(cfg.deviceId), 1);
        probe.waitFor([&] { return probe.subscribed; }, o.timeoutS * 1000);
        v1::Envelope env;
        env.set_version(1);
        env.set_event_id(UuidV7Generator().next());
        env.set_device_id(cfg.deviceId);
        env.set_unit_id(cfg.unitId);
        env.set_agency(cfg.agency);
        env.set_seq(0);
        env.set_recorded_at_ms(SystemClock::instance().nowMs());
        env.set_clock_source(v1::CLOCK_SOURCE_SYSTEM);
        env.mutable_presence()->set_online(true);
        env.mutable_presence()->set_agent_version("self-test");
        auto bytes = codec::encodeEnvelope(env);
        if (!bytes) {
          add(tripName, Level::Fail, "cannot build the probe: " + bytes.error().message);
        } else if (auto tok = client->publish(topics::up(cfg.deviceId), *bytes, 1, false); !tok) {
          add(tripName, Level::Fail, "publish failed: " + tok.error().message);
        } else {
          bool answered = probe.waitFor(
              [&] { return !probe.downlinks.empty() || (probe.published && !probe.publishOk) || probe.lost; },
              o.timeoutS * 1000);
          std::lock_guard lock(probe.mu);
          if (probe.published && !probe.publishOk) {
            char reason[8];
            std::snprintf(reason, sizeof reason, "%02x", probe.publishReason);
            add(tripName, Level::Fail,
                std::string("the broker refused this device's publish on its own topic (reason 0x") + reason +
                    "): check the broker's ACL");
          } else if (!answered || probe.downlinks.empty()) {
            add(tripName, Level::Fail,
                "the backend did not answer within " + std::to_string(o.timeoutS) + " s (is cad-stub running?)");
          } else {
            auto dl = codec::decodeDownlink(probe.downlinks.front());
            if (dl && dl->has_rejection() && dl->rejection().reason() == v1::REJECT_REASON_UNKNOWN_DEVICE)
              add(tripName, Level::Fail,
                  "the backend answered, but does not know this device (register it: cadctl devices add " +
                      cfg.deviceId + " --unit UNIT)");
            else
              add(tripName, Level::Pass, "the backend answered through the broker");
          }
        }
        client->disconnect(500);
        // Freed only once the disconnect is done: paho destroyed with its
        // disconnect still queued could leave work behind it (seen as a
        // sanitizer abort of this short-lived probe on a loaded machine).
        for (int i = 0; i < 150 && client->isConnected(); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }

  // 7. gpsd and fix quality, 8. clock vs GPS time
  if (cfg.gpsSource != "gpsd") {
    add("gps", Level::Warn, "gps.source is \"" + cfg.gpsSource + "\": no gpsd to check");
    add("clock", Level::Warn, "cannot compare the system clock with GPS time (no gpsd)");
  } else {
    gps_data_t data{};
    std::string gpsName = cfg.gpsdHost + ":" + std::to_string(cfg.gpsdPort);
    if (gps_open(cfg.gpsdHost.c_str(), std::to_string(cfg.gpsdPort).c_str(), &data) != 0) {
      // A vehicle can run without GPS (statuses still work): a warning, not a failure.
      add("gps", Level::Warn, "gpsd not reachable at " + gpsName + " (" + gps_errstr(errno) +
                                  "): no positions will be reported; is gpsd running and the receiver plugged in?");
      add("clock", Level::Warn, "cannot compare the system clock with GPS time (no gpsd)");
    } else {
      (void)gps_stream(&data, WATCH_ENABLE | WATCH_JSON, nullptr);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeoutS);
      int mode = 0;
      int sats = 0;
      double eph = NAN;
      int64_t gpsMs = 0, sysMsAtFix = 0;
      bool sawTpv = false;
      while (std::chrono::steady_clock::now() < deadline && !(mode >= 2 && gpsMs)) {
        if (!gps_waiting(&data, 200000)) continue;
        data.set = 0;
        if (gps_read(&data, nullptr, 0) < 0) break;
        if (data.set & MODE_SET) {
          sawTpv = true;
          mode = data.fix.mode;
        }
        if (data.set & SATELLITE_SET) sats = data.satellites_used;
        if (mode >= 2 && (data.set & TIME_SET) && data.fix.time.tv_sec > 0) {
          gpsMs = int64_t(data.fix.time.tv_sec) * 1000 + data.fix.time.tv_nsec / 1'000'000;
          sysMsAtFix = SystemClock::instance().nowMs();
          eph = data.fix.eph;
        }
      }
      gps_close(&data);
      if (mode >= 2) {
        std::string q = (mode == 3 ? "3D fix" : "2D fix") + std::string(sats ? ", " + std::to_string(sats) + " satellites" : "") +
                        (std::isfinite(eph) ? ", ±" + std::to_string(int(std::lround(eph))) + " m" : "");
        add("gps", mode == 3 ? Level::Pass : Level::Warn, "gpsd at " + gpsName + ": " + q);
      } else {
        add("gps", Level::Warn,
            "gpsd at " + gpsName + (sawTpv ? ": no fix yet" : ": no reports within " + std::to_string(o.timeoutS) + " s") +
                " (antenna with a clear view of the sky?)");
      }
      if (!gpsMs) {
        add("clock", Level::Warn, "cannot compare the system clock with GPS time (no GPS time yet)");
      } else {
        double skewS = double(sysMsAtFix - gpsMs) / 1000.0;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%+.1f s", skewS);
        std::string what = std::string("system clock is ") + buf + " from GPS time";
        if (std::fabs(skewS) > 60) add("clock", Level::Fail, what + ": fix the time (NTP/chrony) before service");
        else if (std::fabs(skewS) > 2) add("clock", Level::Warn, what + ": check NTP/chrony");
        else add("clock", Level::Pass, what);
      }
    }
  }

  // 9. free disk for the store
  std::string storeDir = dirOf(cfg.storePath);
  struct statvfs vfs {};
  if (::statvfs(storeDir.c_str(), &vfs) != 0) {
    add("disk", Level::Fail, "store directory \"" + storeDir + "\": " + std::strerror(errno));
  } else {
    int64_t freeMb = int64_t(vfs.f_bavail) * int64_t(vfs.f_frsize) / (1024 * 1024);
    std::string what = std::to_string(freeMb) + " MiB free on " + storeDir;
    if (freeMb < o.minFreeMb)
      add("disk", Level::Fail, "only " + what + " (the store needs at least " + std::to_string(o.minFreeMb) +
                                   " MiB): free some space");
    else add("disk", Level::Pass, what);
  }

  // 10. store integrity
  if (!exists(cfg.storePath)) {
    add("store", Level::Pass, "no store yet at " + cfg.storePath + " (the agent creates it on first start)");
  } else {
    agent::Store::Options so;
    so.capBytes = cfg.storeCapBytes;
    so.keyPath = cfg.storeKeyPath;
    auto store = agent::Store::open(cfg.storePath, so, SystemClock::instance());
    if (!store) {
      add("store", Level::Fail, store.error().message);
    } else {
      auto report = (*store)->check();
      std::string bad;
      for (const auto& line : report.lines)
        if (line.rfind("ok", 0) != 0) bad += (bad.empty() ? "" : "; ") + line;
      if (report.ok)
        add("store", Level::Pass,
            "integrity ok, " + std::to_string((*store)->outboxCount()) + " events waiting in the outbox");
      else add("store", Level::Fail, bad.empty() ? "integrity check failed" : bad);
    }
  }
  return checks;
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
