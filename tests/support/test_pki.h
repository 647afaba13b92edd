#pragma once
// A throwaway certificate authority for TLS tests, made with OpenSSL's C API
// (no openssl command line): EC P-256 keys, SHA-256 signatures, PEM files.
// Keys are written 0644: they are test material that a broker which dropped
// to its own user must be able to read.
#include <memory>
#include <string>
#include <vector>

namespace mdc::test {

/** A certificate and its private key, as PEM files. */
struct CertFiles {
  std::string certFile;
  std::string keyFile;
  std::string serialHex;  ///< the certificate's serial number, for CRLs
  std::string subjectCn;
};

/** One CA and the certificates it issued, all in one directory. Not thread-safe. */
class TestPki {
 public:
  /** Creates a self-signed CA "CN=<name> CA" valid for a year, written to
   *  dir/<name>-ca.pem and dir/<name>-ca.key. Throws std::runtime_error with
   *  OpenSSL's reason when a step fails. */
  explicit TestPki(std::string dir, std::string name = "mdc-test");
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  /** The CA certificate (PEM): what clients and brokers trust. */
  const std::string& caFile() const { return caFile_; }
  const std::string& caKeyFile() const { return caKeyFile_; }
  const std::string& name() const { return name_; }

  /** A server certificate, CN=cn, subjectAltName IP:127.0.0.1 and DNS:localhost,
   *  extendedKeyUsage serverAuth. Issued once and then returned again. */
  const CertFiles& serverCert(const std::string& cn = "localhost");
  /** A client certificate with CN = deviceId (clientAuth), valid from an hour
   *  ago for validDays. Each call issues a new certificate and files. */
  CertFiles clientCert(const std::string& deviceId, int validDays = 30);
  /** A client certificate for deviceId whose validity ended yesterday. */
  CertFiles expiredClientCert(const std::string& deviceId);
  /** A client certificate for deviceId signed by another CA, made on first use,
   *  that nothing trusts (its files are beside this CA's, prefixed "<name>-foreign"). */
  CertFiles foreignClientCert(const std::string& deviceId);
  /** Writes a CRL signed by this CA listing the given certificates as revoked
   *  (empty: a valid CRL revoking nothing), valid for 30 days; returns its path. */
  std::string writeCrl(const std::vector<CertFiles>& revoked);

 private:
  struct Impl;
  CertFiles issue(const std::string& cn, long notBeforeS, long notAfterS, bool server);

  std::string dir_;
  std::string name_;
  std::string caFile_;
  std::string caKeyFile_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<CertFiles> server_;
  std::unique_ptr<TestPki> foreign_;
  int counter_ = 0;
};

}  // namespace mdc::test
