#include "agent/enrolment.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "agent/est_client.h"
#include "shared/infra/enrol.h"
#include "shared/infra/files.h"

namespace mdc::agent {

namespace {

/** The certificates of an EST answer (base64 PKCS#7 certs-only), as PEM. */
Result<std::string> certsOf(const HttpResult& r, const std::string& what) {
  auto der = QByteArray::fromBase64Encoding(QByteArray::fromStdString(r.body).simplified().replace(" ", ""),
                                            QByteArray::AbortOnBase64DecodingErrors);
  if (!der) return Error::make(what + ": the answer is not base64");
  return pki::pemFromCertsOnlyPkcs7(der.decoded.toStdString());
}

/** A new key at keyPath and its request for cn, as base64 DER. */
Result<std::string> newKeyAndRequest(const std::string& keyPath, const std::string& cn) {
  if (Status s = pki::generateKey(keyPath, 0600); !s) return s.error();
  const std::string csrPath = keyPath + ".csr";
  if (Status s = pki::writeCsr(keyPath, cn, csrPath); !s) return s.error();
  auto pem = files::read(csrPath);
  std::remove(csrPath.c_str());
  if (!pem) return pem.error();
  auto der = pki::csrDerFromPem(*pem);
  if (!der) return der.error();
  return QByteArray::fromStdString(*der).toBase64().toStdString();
}

/** The received certificate checked: for cn, for the key, issued by the CA. */
Status checkReceived(const std::string& certPath, const std::string& keyPath, const std::string& caPath,
                     const std::string& cn) {
  auto info = pki::readCert(certPath);
  if (!info) return info.error();
  if (info->subjectCn != cn)
    return Error::make("enrolment: the certificate received is for CN=" + info->subjectCn + ", not " + cn);
  if (Status s = pki::checkKeyMatchesCert(certPath, keyPath); !s)
    return Error::make("enrolment: the certificate received is not for the key made here: " + s.error().message);
  auto chain = pki::verifyChain(certPath, caPath);
  if (!chain) return chain.error();
  if (chain->verdict != pki::ChainVerdict::Ok)
    return Error::make("enrolment: the certificate received does not verify against the fleet CA: " + chain->detail);
  return {};
}

// The fleet CA's PEM: read from explicitCa, or taken from the server once it
// has proven that it knows the token.
Result<std::string> fleetCa(const std::string& server, const std::string& deviceId, const std::string& normalizedToken,
                            const std::string& explicitCa, std::ostream& out) {
  if (!explicitCa.empty()) {
    auto r = files::read(explicitCa);
    if (!r) return r.error();
    out << "trusting the fleet CA in " << explicitCa << "\n";
    return *r;
  }
  EstClient bootstrap(server);
  bootstrap.trustAnyServer();
  HttpResult r = bootstrap.get(enrol::kCaCertsPath, {{enrol::kDeviceHeader, deviceId}});
  if (r.status != 200) return Error::make("enroll: the fleet CA from " + server + ": " + r.describe());
  auto proof = r.headers.find("x-mdc-ca-proof");
  if (proof == r.headers.end() ||
      !enrol::sameSecret(proof->second, enrol::caProof(enrol::tokenHash(normalizedToken), r.body)))
    return Error::make("enroll: the server at " + server +
                       " did not prove it knows this token, so its CA is not trusted: a wrong server, or a "
                       "token that is wrong, used, expired or for another device (cadctl enroll-token create " +
                       deviceId + ")");
  auto pem = certsOf(r, "the fleet CA");
  if (!pem) return pem.error();
  out << "the server proved the token: trusting its fleet CA\n";
  return *pem;
}

// The agent's configuration: base with what the server says (asked with the
// new certificate) and the identity's final paths.
Result<AgentConfig> configFromServer(const provision::DeviceFiles& f, const std::string& server,
                                     const std::string& deviceId, const std::string& caPem, const std::string& cert,
                                     const std::string& key, const AgentConfig& base) {
  EstClient withCert(server);
  if (Status s = withCert.trustCa(caPem); !s) return s.error();
  if (Status s = withCert.useIdentity(cert, key); !s) return s.error();
  HttpResult c = withCert.get(enrol::kConfigPath);
  if (c.status != 200) return Error::make("enroll: the configuration from " + server + ": " + c.describe());
  const QJsonObject j = QJsonDocument::fromJson(QByteArray::fromStdString(c.body)).object();
  AgentConfig cfg = base;
  for (const char* k : {"device_id", "unit_id", "agency", "broker"})
    if (Status s = cfg.set(k, j.value(k).toString().toStdString()); !s)
      return Error::make("enroll: the configuration from " + server + ": " + s.error().message);
  if (cfg.deviceId != deviceId)
    return Error::make("enroll: the configuration from " + server + " is for " + cfg.deviceId + ", not " + deviceId);
  cfg.tlsCa = f.ca();
  cfg.tlsCert = f.cert();
  cfg.tlsKey = f.key();
  cfg.enrollServer = server;
  if (Status s = cfg.validate(); !s) return Error::make("enroll: " + s.error().message);
  return cfg;
}

}  // namespace

Status enrolWithToken(const provision::DeviceFiles& f, const std::string& server, const std::string& deviceId,
                      const std::string& token, const std::string& explicitCa, const AgentConfig& base,
                      std::ostream& out) {
  auto normalized = enrol::normalizeToken(token);
  if (!normalized)
    return Error::make("enroll: --token \"" + token + "\": not a token (16 characters such as K7QF-9XMA-PL3T-R2WD)");
  ::mkdir(f.dir.c_str(), 0750);
  const std::string key = f.key() + ".new", cert = f.cert() + ".new", ca = f.ca() + ".new";
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      for (const auto& p : paths) std::remove(p.c_str());
    }
  } cleanup{{key, cert, ca}};

  // 1. The fleet CA: given, or proven by the server's knowledge of the token.
  auto caPem = fleetCa(server, deviceId, *normalized, explicitCa, out);
  if (!caPem) return caPem.error();
  if (Status s = files::writeAtomic(ca, *caPem, 0644); !s) return s;

  // 2. The key, made here, and its certificate.
  auto request = newKeyAndRequest(key, deviceId);
  if (!request) return request.error();
  EstClient est(server);
  if (Status s = est.trustCa(*caPem); !s) return s;
  est.basicAuth(deviceId, *normalized);
  HttpResult r = est.post(enrol::kEnrollPath, *request, "application/pkcs10");
  if (r.status != 200) return Error::make("enroll: refused by " + server + ": " + r.describe());
  auto certPem = certsOf(r, "the certificate");
  if (!certPem) return certPem.error();
  if (Status s = files::writeAtomic(cert, *certPem, 0644); !s) return s;
  if (Status s = checkReceived(cert, key, ca, deviceId); !s) return s;

  // 3. The configuration, asked with the new certificate.
  auto cfg = configFromServer(f, server, deviceId, *caPem, cert, key, base);
  if (!cfg) return cfg.error();

  // 4. Installed: the CA, the key and certificate, then the config.
  for (auto [from, to] : {std::pair{ca, f.ca()}, std::pair{key, f.key()}, std::pair{cert, f.cert()}})
    if (std::rename(from.c_str(), to.c_str()) != 0)
      return Error::make("enroll: cannot install \"" + to + "\": " + std::strerror(errno));
  if (Status s = files::writeAtomic(f.config(), cfg->toJson(), 0644); !s) return s;
  std::remove(f.pending().c_str());
  provision::handToDirOwner(f);
  auto info = pki::readCert(f.cert());
  out << "enrolled " << deviceId << " (unit " << cfg->unitId << ", agency " << cfg->agency << "): certificate serial "
      << (info ? info->serialHex : "?") << ", valid until " << (info ? pki::formatTime(info->notAfter) : "?") << "\n"
      << "key " << f.key() << " (made here, 0600), CA " << f.ca() << ", config " << f.config() << " (broker "
      << cfg->broker << ")\n"
      << "renewal: automatic through " << server << ", " << cfg->renewMarginDays << " days before expiry\n";
  return {};
}

Result<pki::CertInfo> renewCertificate(const AgentConfig& cfg) {
  if (cfg.enrollServer.empty()) return Error::make("renewal: no enrolment server (tls.enroll_server)");
  auto current = pki::readCert(cfg.tlsCert);
  if (!current) return current.error();
  auto caPem = files::read(cfg.tlsCa);
  if (!caPem) return caPem.error();
  const std::string key = cfg.tlsKey + ".next", cert = cfg.tlsCert + ".next";
  auto request = newKeyAndRequest(key, cfg.deviceId);
  if (!request) return request.error();
  EstClient est(cfg.enrollServer);
  if (Status s = est.trustCa(*caPem); !s) return s.error();
  if (Status s = est.useIdentity(cfg.tlsCert, cfg.tlsKey); !s) return s.error();
  HttpResult r = est.post(enrol::kReenrollPath, *request, "application/pkcs10");
  if (r.status != 200) {
    std::remove(key.c_str());
    return Error::make("renewal refused by " + cfg.enrollServer + ": " + r.describe());
  }
  auto certPem = certsOf(r, "the renewed certificate");
  if (!certPem) return certPem.error();
  if (Status s = files::writeAtomic(cert, *certPem, 0644); !s) return s.error();
  if (Status s = checkReceived(cert, key, cfg.tlsCa, cfg.deviceId); !s) {
    std::remove(key.c_str());
    std::remove(cert.c_str());
    return s.error();
  }
  auto done = finishPendingRenewal(cfg.tlsCert, cfg.tlsKey);
  if (!done) return done.error();
  return pki::readCert(cfg.tlsCert);
}

Result<std::string> finishPendingRenewal(const std::string& certPath, const std::string& keyPath) {
  const std::string key = keyPath + ".next", cert = certPath + ".next";
  if (!provision::pathExists(key)) {
    if (provision::pathExists(cert)) std::remove(cert.c_str());  // a certificate without its key is of no use
    return std::string();
  }
  auto fail = [&](const std::string& why) -> Result<std::string> {
    return Error::make("renewal: cannot install \"" + why + "\": " + std::strerror(errno));
  };
  if (provision::pathExists(cert)) {
    if (!pki::checkKeyMatchesCert(cert, key)) {
      std::remove(key.c_str());
      std::remove(cert.c_str());
      return std::string("discarded an incomplete renewal");
    }
    // The certificate first, then its key: a crash between the two leaves
    // the new certificate with key.next, which the next start completes.
    if (std::rename(cert.c_str(), certPath.c_str()) != 0) return fail(certPath);
  } else if (!pki::checkKeyMatchesCert(certPath, key)) {
    std::remove(key.c_str());
    return std::string("discarded an incomplete renewal");
  }
  if (std::rename(key.c_str(), keyPath.c_str()) != 0) return fail(keyPath);
  return std::string("installed the renewed certificate and its key");
}

}  // namespace mdc::agent
