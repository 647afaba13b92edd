#pragma once
// Enrolment over the network: the EST subset of RFC 7030 that a fleet needs,
// over HTTPS, inside the stub (the store's only writer logs every use).
//
//   GET  /.well-known/est/cacerts         the fleet CA (PKCS#7 certs-only,
//        base64). With X-MDC-Device naming a device that has an open token,
//        the answer carries X-MDC-CA-Proof, an HMAC keyed by that token's
//        hash: the device trusts the CA it has never seen because the server
//        knows its token (see shared/enrol.h).
//   POST /.well-known/est/simpleenroll    a PKCS#10 request (base64 DER),
//        HTTP Basic authentication DEVICE:TOKEN; answers the certificate.
//   POST /.well-known/est/simplereenroll  a request for a new key, over TLS
//        with the device's current certificate (unexpired, unrevoked,
//        registered); the old certificate stays valid until it expires.
//   GET  /mdc/v1/config                   with a device certificate: its unit,
//        agency and the broker to use (JSON). Not EST.
//
// Why not QHttpServer (Debian has 6.4.2): its request gives a handler neither
// the TLS peer's certificate nor the connection, and simplereenroll must know
// which device is asking. The HTTP here is the small part: one request per
// connection, Content-Length bodies of at most 64 KiB, a 10 s deadline.
#include <QObject>
#include <QSslServer>

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <string>

#include "server-stub/store/event_store.h"
#include "shared/wire/error.h"

class QSslSocket;

namespace cad {

struct EstConfig {
  int port = 0;                        ///< 0: no enrolment server
  std::string address = "0.0.0.0";    ///< where it listens
  std::string caDir;                   ///< the fleet CA (FleetCa directory)
  std::string certFile, keyFile;       ///< the server's TLS identity; empty: issued from the CA into caDir/est.pem
  std::string hosts = "IP:127.0.0.1,DNS:localhost";  ///< subjectAltName of an issued server certificate
  std::string deviceBroker;            ///< the broker URI devices are told to use
  int certDays = 365;                  ///< validity of the certificates issued
};

/** One HTTP request, as parsed. */
struct HttpRequest {
  std::string method, path;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

/** Parses buffer: 1 when a whole request is in it (out filled), 0 when more
 *  is needed, -1 when it is not HTTP this server takes (error says why). */
int parseHttpRequest(const std::string& buffer, HttpRequest& out, std::string& error);

/** Why a token presented for device is refused (HTTP code and the words the
 *  technician reads), or nullopt when it may enrol: the token found by its
 *  hash (nullopt: none), whether the device is registered, now. */
std::optional<std::pair<int, std::string>> judgeToken(const std::optional<EnrolToken>& token, const std::string& device,
                                                      bool registered, int64_t nowMs);

/** Thread-safety: lives on the stub's thread, which owns the store. */
class EstServer : public QObject {
  Q_OBJECT
 public:
  EstServer(EstConfig config, EventStore& store, QObject* parent = nullptr);
  /** Loads or issues the server's identity and listens; errors name the file or the address. */
  Status start();
  uint16_t port() const { return uint16_t(server_.serverPort()); }

  /** What it did since it started, for the stub's metrics. */
  struct Counters {
    uint64_t enrolled = 0, renewed = 0, refused = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Reply {
    int code = 200;
    std::string contentType = "text/plain; charset=utf-8";
    std::string body;
    std::map<std::string, std::string> headers;
  };
  void serve(QSslSocket* socket);
  Reply handle(const HttpRequest& req, QSslSocket* socket);
  Reply caCerts(const HttpRequest& req);
  Reply enroll(const HttpRequest& req, const std::string& peer);
  Reply reenroll(const HttpRequest& req, QSslSocket* socket, const std::string& peer);
  Reply config(QSslSocket* socket);
  /** The device id of a verified peer certificate, or the refusal (401) to send. */
  Result<std::string> deviceOfPeer(QSslSocket* socket, int64_t nowMs);
  /** Signs a base64 PKCS#10 request for device: the PKCS#7 answer, or the refusal. */
  Result<Reply> sign(const std::string& base64Csr, const std::string& device, bool renewal,
                     const std::string& currentCertPem, std::string& serial, int64_t& notAfterMs);
  Reply refuse(int code, const EnrolmentRecord& record, int64_t nowMs);
  /** Signs the request for rec.deviceId (a renewal when rec.method is
   *  "renewal"), logs the certificate issued, and answers it. */
  Reply issue(EnrolmentRecord rec, const std::string& base64Csr, const std::string& currentCertPem, int64_t nowMs);

  EstConfig config_;
  EventStore& store_;
  Counters counters_;
  QSslServer server_;
};

}  // namespace cad
