#include "server-stub/service/est_server.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QSslSocket>
#include <QTimer>

#include <cstdio>
#include <memory>

#include "server-stub/store/read_models.h"
#include "shared/wire/clock.h"
#include "shared/infra/enrol.h"
#include "shared/infra/files.h"
#include "shared/infra/log.h"
#include "shared/infra/pki.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace log = mdc::log;
namespace pki = mdc::pki;
namespace enrol = mdc::enrol;
namespace files = mdc::files;

namespace {

constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr int kDeadlineMs = 10'000;

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

const char* reasonPhrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    default: return "Internal Server Error";
  }
}

/** base64 with a line break every 64 characters (RFC 2045, as EST sends it). */
std::string base64Lines(const std::string& bytes) {
  const QByteArray b = QByteArray::fromStdString(bytes).toBase64();
  std::string out;
  for (qsizetype i = 0; i < b.size(); i += 64) out += b.mid(i, 64).toStdString() + "\r\n";
  return out;
}

/** Strict base64 with any whitespace (line breaks) ignored. */
std::optional<std::string> fromBase64(const std::string& text) {
  QByteArray compact;
  for (char c : text)
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') compact += c;
  auto r = QByteArray::fromBase64Encoding(compact, QByteArray::AbortOnBase64DecodingErrors);
  if (!r) return std::nullopt;
  return r.decoded.toStdString();
}

/** A file in dir removed when the guard goes. */
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& dir, const std::string& suffix) {
    static mdc::UuidV7Generator ids;
    path = dir + "/est-" + ids.next() + suffix;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

int parseHttpRequest(const std::string& buffer, HttpRequest& out, std::string& error) {
  const size_t end = buffer.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buffer.size() > kMaxHeaderBytes) {
      error = "request headers over " + std::to_string(kMaxHeaderBytes) + " bytes";
      return -1;
    }
    return 0;
  }
  HttpRequest r;
  size_t lineEnd = buffer.find("\r\n");
  const std::string requestLine = buffer.substr(0, lineEnd);
  const size_t sp1 = requestLine.find(' '), sp2 = requestLine.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1 || requestLine.compare(sp2 + 1, 7, "HTTP/1.") != 0) {
    error = "request line \"" + requestLine.substr(0, 80) + "\": not HTTP/1.x";
    return -1;
  }
  r.method = requestLine.substr(0, sp1);
  r.path = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
  if (auto q = r.path.find('?'); q != std::string::npos) r.path.resize(q);
  for (size_t pos = lineEnd + 2; pos < end;) {
    size_t next = buffer.find("\r\n", pos);
    const std::string line = buffer.substr(pos, next - pos);
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      error = "header line \"" + line.substr(0, 80) + "\": no name";
      return -1;
    }
    r.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    pos = next + 2;
  }
  size_t length = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    if (it->second.empty() || it->second.size() > 7 || it->second.find_first_not_of("0123456789") != std::string::npos) {
      error = "Content-Length \"" + it->second.substr(0, 20) + "\": not a length";
      return -1;
    }
    length = std::stoul(it->second);
    if (length > kMaxBodyBytes) {
      error = "body of " + it->second + " bytes: at most " + std::to_string(kMaxBodyBytes);
      return -1;
    }
  }
  if (buffer.size() < end + 4 + length) return 0;
  r.body = buffer.substr(end + 4, length);
  out = std::move(r);
  return 1;
}

std::optional<std::pair<int, std::string>> judgeToken(const std::optional<EnrolToken>& token, const std::string& device,
                                                      bool registered, int64_t nowMs) {
  const std::string create = " (cadctl enroll-token create " + device + ")";
  if (!token || token->deviceId != device) return std::pair{401, "wrong token for device " + device};
  if (token->usedAtMs > 0)
    return std::pair{403, "token already used at " + mdc::formatIsoUtc(token->usedAtMs) + " (certificate serial " +
                              token->usedSerial + "); a token works once: create a new one" + create};
  if (token->expiresAtMs <= nowMs)
    return std::pair{403, "token expired at " + mdc::formatIsoUtc(token->expiresAtMs) + "; create a new one" + create};
  if (token->failures >= kEnrolMaxFailures)
    return std::pair{403, "token locked after " + std::to_string(token->failures) +
                              " wrong tokens for this device; create a new one" + create};
  if (!registered)
    return std::pair{403, "device " + device + " is not registered (decommissioned since the token was made?)"};
  return std::nullopt;
}

EstServer::EstServer(EstConfig config, EventStore& store, QObject* parent)
    : QObject(parent), config_(std::move(config)), store_(store) {}

Status EstServer::start() {
  auto ca = pki::FleetCa::open(config_.caDir);
  if (!ca) return Error::make("enrolment: " + ca.error().message + " (cadctl ca init first)");
  if (config_.certFile.empty()) {
    config_.certFile = config_.caDir + "/est.pem";
    config_.keyFile = config_.caDir + "/est.key";
    if (!files::read(config_.certFile)) {
      pki::SignOptions o;
      o.server = true;
      o.subjectAltName = config_.hosts;
      o.validDays = 2 * 365;
      auto issued = ca->issue("cad-stub-est", config_.certFile, config_.keyFile, o);
      if (!issued) return Error::make("enrolment: server certificate: " + issued.error().message);
      log::info("est", "issued the enrolment server's certificate " + config_.certFile + " for " + config_.hosts);
    }
  }
  auto certPem = files::read(config_.certFile);
  if (!certPem) return Error::make("enrolment: " + certPem.error().message);
  auto keyPem = files::read(config_.keyFile);
  if (!keyPem) return Error::make("enrolment: " + keyPem.error().message);
  auto caPem = files::read(ca->caFile());
  if (!caPem) return Error::make("enrolment: " + caPem.error().message);
  QSslCertificate cert(QByteArray::fromStdString(*certPem), QSsl::Pem);
  QSslKey key(QByteArray::fromStdString(*keyPem), QSsl::Ec, QSsl::Pem);
  if (cert.isNull()) return Error::make("enrolment: \"" + config_.certFile + "\": not a PEM certificate");
  if (key.isNull()) return Error::make("enrolment: \"" + config_.keyFile + "\": not a PEM EC private key");
  QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
  tls.setLocalCertificate(cert);
  tls.setPrivateKey(key);
  tls.setCaCertificates(QSslCertificate::fromData(QByteArray::fromStdString(*caPem), QSsl::Pem));
  // A device certificate is asked for, not required: the first enrolment has
  // none. Its validity is checked per request (deviceOfPeer).
  tls.setPeerVerifyMode(QSslSocket::QueryPeer);
  tls.setProtocol(QSsl::TlsV1_2OrLater);
  server_.setSslConfiguration(tls);
  connect(&server_, &QSslServer::sslErrors, this,
          [](QSslSocket* s, const QList<QSslError>&) { s->ignoreSslErrors(); });
  connect(&server_, &QSslServer::errorOccurred, this, [](QSslSocket* s, QAbstractSocket::SocketError) {
    log::debug("est", "TLS with " + s->peerAddress().toString().toStdString() + ": " + s->errorString().toStdString());
  });
  connect(&server_, &QTcpServer::pendingConnectionAvailable, this, [this] {
    while (QTcpSocket* s = server_.nextPendingConnection()) serve(static_cast<QSslSocket*>(s));
  });
  if (!server_.listen(QHostAddress(QString::fromStdString(config_.address)), quint16(config_.port)))
    return Error::make("enrolment: cannot listen on " + config_.address + ":" + std::to_string(config_.port) + ": " +
                       server_.errorString().toStdString());
  log::info("est", "enrolment (EST) on https://" + config_.address + ":" + std::to_string(port()) +
                       "/.well-known/est/; devices are told broker " + config_.deviceBroker);
  return {};
}

void EstServer::serve(QSslSocket* socket) {
  auto buffer = std::make_shared<std::string>();
  auto done = std::make_shared<bool>(false);
  QTimer::singleShot(kDeadlineMs, socket, [socket] { socket->abort(); });
  connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
  connect(socket, &QIODevice::readyRead, socket, [this, socket, buffer, done] {
    if (*done) return;
    *buffer += socket->readAll().toStdString();
    HttpRequest req;
    std::string error;
    const int parsed = parseHttpRequest(*buffer, req, error);
    if (parsed == 0) return;
    *done = true;
    Reply r;
    if (parsed < 0) {
      r.code = error.find("body of") == 0 ? 413 : 400;
      r.body = error + "\n";
      log::warn("est", "request from " + socket->peerAddress().toString().toStdString() + " refused: " + error);
    } else {
      try {
        r = handle(req, socket);
      } catch (const mdc::sql::DbError& e) {  // the store's server lost: try again later
        r = Reply{503, "text/plain; charset=utf-8", "the enrolment service's store is unavailable; try again\n", {}};
        log::error("est", std::string("request refused: ") + e.what());
      }
    }
    std::string head = "HTTP/1.1 " + std::to_string(r.code) + " " + reasonPhrase(r.code) + "\r\n";
    head += "Content-Type: " + r.contentType + "\r\nContent-Length: " + std::to_string(r.body.size()) +
            "\r\nConnection: close\r\n";
    for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    socket->write(QByteArray::fromStdString(head + "\r\n" + r.body));
    socket->disconnectFromHost();
  });
}

EstServer::Reply EstServer::handle(const HttpRequest& req, QSslSocket* socket) {
  const std::string peer = socket->peerAddress().toString().toStdString();
  const bool get = req.method == "GET", post = req.method == "POST";
  if (req.path == enrol::kCaCertsPath) return get ? caCerts(req) : Reply{405, "text/plain", "GET only\n", {}};
  if (req.path == enrol::kEnrollPath) return post ? enroll(req, peer) : Reply{405, "text/plain", "POST only\n", {}};
  if (req.path == enrol::kReenrollPath)
    return post ? reenroll(req, socket, peer) : Reply{405, "text/plain", "POST only\n", {}};
  if (req.path == enrol::kConfigPath) return get ? config(socket) : Reply{405, "text/plain", "GET only\n", {}};
  return Reply{404, "text/plain; charset=utf-8", "not found: " + req.path.substr(0, 100) + "\n", {}};
}

EstServer::Reply EstServer::caCerts(const HttpRequest& req) {
  auto pem = files::read(config_.caDir + "/ca.pem");
  if (!pem) return Reply{500, "text/plain", "the fleet CA is unreadable\n", {}};
  auto p7 = pki::certsOnlyPkcs7(*pem);
  if (!p7) return Reply{500, "text/plain", p7.error().message + "\n", {}};
  Reply r{200, "application/pkcs7-mime", base64Lines(*p7), {{"Content-Transfer-Encoding", "base64"}}};
  if (auto it = req.headers.find(lower(enrol::kDeviceHeader)); it != req.headers.end())
    if (auto t = ReadModels(store_).openEnrolToken(it->second, mdc::SystemClock::instance().nowMs()))
      r.headers[enrol::kProofHeader] = enrol::caProof(t->tokenHash, r.body);
  return r;
}

EstServer::Reply EstServer::refuse(int code, const EnrolmentRecord& record, int64_t nowMs) {
  EnrolmentRecord r = record;
  r.kind = "enroll_refused";
  ++counters_.refused;
  if (Status s = store_.recordEnrolment(r, nowMs); !s) log::error("est", s.error().message);
  log::warn("est", (r.method == "renewal" ? "renewal" : "enrolment") + std::string(" of ") + r.deviceId + " from " +
                       r.peer + " refused: " + r.reason);
  return Reply{code, "text/plain; charset=utf-8", r.reason + "\n", {}};
}

EstServer::Reply EstServer::enroll(const HttpRequest& req, const std::string& peer) {
  const int64_t now = mdc::SystemClock::instance().nowMs();
  auto auth = req.headers.find("authorization");
  std::optional<std::string> credentials;
  if (auth != req.headers.end() && lower(auth->second.substr(0, 6)) == "basic ")
    credentials = fromBase64(auth->second.substr(6));
  const size_t colon = credentials ? credentials->find(':') : std::string::npos;
  if (colon == std::string::npos)
    return Reply{401, "text/plain; charset=utf-8",
                 "authentication required: HTTP Basic with the device id and its enrolment token\n",
                 {{"WWW-Authenticate", "Basic realm=\"mdc-enrolment\""}}};
  EnrolmentRecord rec;
  rec.method = "token";
  rec.deviceId = credentials->substr(0, colon).substr(0, 64);
  rec.peer = peer;
  const std::string typed = credentials->substr(colon + 1);
  auto normalized = enrol::normalizeToken(typed);
  if (!normalized) {
    rec.reason = "token \"" + typed.substr(0, 40) + "\": not a token (16 characters such as K7QF-9XMA-PL3T-R2WD)";
    return refuse(401, rec, now);
  }
  rec.tokenHash = enrol::tokenHash(*normalized);
  const auto token = ReadModels(store_).enrolToken(rec.tokenHash);
  if (auto refusal = judgeToken(token, rec.deviceId, ReadModels(store_).unitOfDevice(rec.deviceId).has_value(), now)) {
    rec.reason = refusal->second;
    return refuse(refusal->first, rec, now);
  }
  return issue(rec, req.body, "", now);
}

EstServer::Reply EstServer::issue(EnrolmentRecord rec, const std::string& base64Csr, const std::string& currentCertPem,
                                  int64_t now) {
  const bool renewal = rec.method == "renewal";
  std::string serial;
  int64_t notAfterMs = 0;
  auto signed_ = sign(base64Csr, rec.deviceId, renewal, currentCertPem, serial, notAfterMs);
  if (!signed_) {
    rec.reason = signed_.error().message;
    return refuse(400, rec, now);
  }
  rec.kind = "enrolled";
  rec.serial = serial;
  rec.notAfterMs = notAfterMs;
  if (Status s = store_.recordEnrolment(rec, now); !s) {
    log::error("est", s.error().message);
    return Reply{500, "text/plain", std::string(renewal ? "the renewal" : "the enrolment") +
                                        " could not be recorded; try again\n", {}};
  }
  ++(renewal ? counters_.renewed : counters_.enrolled);
  log::info("est", (renewal ? "renewed " : "enrolled ") + rec.deviceId + " from " + rec.peer +
                       ": certificate serial " + serial + " until " + mdc::formatIsoUtc(notAfterMs));
  return *signed_;
}

EstServer::Reply EstServer::reenroll(const HttpRequest& req, QSslSocket* socket, const std::string& peer) {
  const int64_t now = mdc::SystemClock::instance().nowMs();
  EnrolmentRecord rec;
  rec.method = "renewal";
  rec.peer = peer;
  auto device = deviceOfPeer(socket, now);
  if (!device) {
    rec.deviceId = socket->peerCertificate().subjectInfo(QSslCertificate::CommonName).value(0).toStdString();
    rec.reason = device.error().message;
    return refuse(401, rec, now);
  }
  rec.deviceId = *device;
  return issue(rec, req.body, socket->peerCertificate().toPem().toStdString(), now);
}

EstServer::Reply EstServer::config(QSslSocket* socket) {
  auto device = deviceOfPeer(socket, mdc::SystemClock::instance().nowMs());
  if (!device) return Reply{401, "text/plain; charset=utf-8", device.error().message + "\n", {}};
  const auto registered = ReadModels(store_).deviceRegistration(*device);
  if (!registered) return Reply{403, "text/plain", "device " + *device + " is not registered\n", {}};
  QJsonObject j{{"device_id", QString::fromStdString(*device)},
                {"unit_id", QString::fromStdString(registered->unit)},
                {"agency", QString::fromStdString(registered->agency)},
                {"broker", QString::fromStdString(config_.deviceBroker)}};
  return Reply{200, "application/json", QJsonDocument(j).toJson(QJsonDocument::Compact).toStdString() + "\n", {}};
}

Result<std::string> EstServer::deviceOfPeer(QSslSocket* socket, int64_t nowMs) {
  (void)nowMs;
  const QSslCertificate cert = socket->peerCertificate();
  if (cert.isNull()) return Error::make("a device certificate is required (TLS client authentication)");
  TempFile pem(config_.caDir, ".peer.pem");
  if (Status s = files::writeAtomic(pem.path, cert.toPem().toStdString(), 0600); !s) return s.error();
  const std::string crl = config_.caDir + "/crl.pem";
  auto verdict = pki::verifyChain(pem.path, config_.caDir + "/ca.pem", files::read(crl) ? crl : "");
  if (!verdict) return verdict.error();
  auto info = pki::readCert(pem.path);
  if (!info) return info.error();
  switch (verdict->verdict) {
    case pki::ChainVerdict::Ok: break;
    case pki::ChainVerdict::Expired:
      return Error::make("the certificate of " + info->subjectCn + " expired at " + pki::formatTime(info->notAfter) +
                         ": this device missed its renewal window and needs a new token (cadctl enroll-token create " +
                         info->subjectCn + ")");
    case pki::ChainVerdict::Revoked:
      return Error::make("the certificate of " + info->subjectCn + " (serial " + info->serialHex + ") is revoked");
    default:
      return Error::make("the certificate of " + info->subjectCn + " is not accepted: " + verdict->detail);
  }
  if (!ReadModels(store_).unitOfDevice(info->subjectCn))
    return Error::make("device " + info->subjectCn + " is not registered (decommissioned?)");
  return info->subjectCn;
}

Result<EstServer::Reply> EstServer::sign(const std::string& base64Csr, const std::string& device, bool renewal,
                                         const std::string& currentCertPem, std::string& serial,
                                         int64_t& notAfterMs) {
  auto der = fromBase64(base64Csr);
  if (!der || der->empty()) return Error::make("the request's body is not base64 (a PKCS#10 request, RFC 7030)");
  auto pem = pki::csrPemFromDer(*der);
  if (!pem) return pem.error();
  TempFile csr(config_.caDir, ".csr"), out(config_.caDir, ".pem");
  if (Status s = files::writeAtomic(csr.path, *pem, 0600); !s) return s.error();
  auto cn = pki::readCsrCn(csr.path);
  if (!cn) return cn.error();
  if (*cn != device) return Error::make("the request names CN " + *cn + ", the device is " + device);
  if (renewal) {
    TempFile current(config_.caDir, ".current.pem");
    if (Status s = files::writeAtomic(current.path, currentCertPem, 0600); !s) return s.error();
    auto same = pki::csrHasCertKey(csr.path, current.path);
    if (!same) return same.error();
    if (*same) return Error::make("a renewal needs a new key: the request carries the current certificate's key");
  }
  auto ca = pki::FleetCa::open(config_.caDir);
  if (!ca) return ca.error();
  pki::SignOptions o;
  o.validDays = config_.certDays;
  o.reenrol = !renewal;  // a token makes a new identity: an older live certificate is revoked
  o.renewal = renewal;   // a renewal leaves the current one valid until it expires
  auto info = ca->sign(csr.path, out.path, o);
  if (!info) return info.error();
  auto certPem = files::read(out.path);
  if (!certPem) return certPem.error();
  auto p7 = pki::certsOnlyPkcs7(*certPem);
  if (!p7) return p7.error();
  serial = info->serialHex;
  notAfterMs = int64_t(info->notAfter) * 1000;
  return Reply{200, "application/pkcs7-mime; smime-type=certs-only", base64Lines(*p7),
               {{"Content-Transfer-Encoding", "base64"}}};
}

}  // namespace cad
