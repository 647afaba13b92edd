#pragma once
// The device's side of enrolment over HTTPS (EST, RFC 7030), on Qt's network
// access manager. Blocking calls with a local event loop: for mdc-provision's
// main thread, and for the agent's renewal thread (never its event loop).
#include <map>
#include <string>

#include "shared/wire/error.h"

namespace mdc::agent {

struct HttpResult {
  int status = 0;             ///< HTTP status; 0 when no answer came
  std::string body;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string error;          ///< why no answer came (TLS, connection, timeout)
  /** "HTTP 403: token expired ...", or the transport error. */
  std::string describe() const;
};

class EstClient {
 public:
  /** server: "https://host:port". */
  explicit EstClient(std::string server, int timeoutMs = 20000);
  /** Bootstrap: accept any server certificate. Only for GET cacerts, whose
   *  answer the caller then checks against the token's proof. */
  void trustAnyServer() { trustAny_ = true; }
  /** Verify the server against these CA certificates (PEM), name included. */
  Status trustCa(const std::string& caPem);
  /** Authenticate with this certificate and key (TLS client authentication). */
  Status useIdentity(const std::string& certPath, const std::string& keyPath);
  /** HTTP Basic credentials on each request. */
  void basicAuth(const std::string& user, const std::string& password);

  HttpResult get(const std::string& path, const std::map<std::string, std::string>& headers = {});
  HttpResult post(const std::string& path, const std::string& body, const std::string& contentType);

 private:
  HttpResult run(const std::string& method, const std::string& path, const std::string& body,
                 const std::map<std::string, std::string>& headers);
  std::string server_;
  int timeoutMs_;
  bool trustAny_ = false;
  std::string caPem_, certPem_, keyPem_, authorization_;
};

}  // namespace mdc::agent
