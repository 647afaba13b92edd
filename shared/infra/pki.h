#pragma once
// Device identity and the fleet's certificate authority, with OpenSSL 3's C API:
// EC P-256 keys (EVP), CSRs (X509_REQ), certificates signed with SHA-256, CRLs,
// and the checks a technician needs (key matches certificate, expiry, chain,
// revocation). Every error names the file and OpenSSL's reason. Private keys are
// written 0600 through files::writeAtomic. Thread-safety: free functions with no
// shared state; FleetCa is not thread-safe (one process owns a CA directory).
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "shared/wire/certificate_policy.h"
#include "shared/wire/error.h"

namespace mdc::pki {

/** Generates a new EC P-256 private key on this machine and writes it (PEM,
 *  PKCS#8) to keyPath with the given mode, atomically. */
Status generateKey(const std::string& keyPath, unsigned mode = 0600);

/** Writes a CSR (PEM) for the key in keyPath with subject CN=commonName, signed
 *  with SHA-256. */
Status writeCsr(const std::string& keyPath, const std::string& commonName, const std::string& csrPath);

/** What a certificate says about itself. */
struct CertInfo {
  std::string subjectCn;
  std::string issuerCn;
  std::string serialHex;
  std::time_t notBefore = 0;
  std::time_t notAfter = 0;
};

/** Reads the first certificate in a PEM file. */
Result<CertInfo> readCert(const std::string& certPath);
/** Reads a CSR's subject CN (and checks its self-signature). */
Result<std::string> readCsrCn(const std::string& csrPath);

/** Ok when the private key in keyPath belongs to the certificate in certPath;
 *  the error says "does not match" or why a file could not be read. */
Status checkKeyMatchesCert(const std::string& certPath, const std::string& keyPath);

/** Why a certificate is not accepted, in the order a technician should fix it. */
enum class ChainVerdict { Ok, Expired, NotYetValid, NotIssuedByCa, Revoked, Other };

struct ChainResult {
  ChainVerdict verdict = ChainVerdict::Other;
  std::string detail;  ///< OpenSSL's verify error text, for the log
};

/** Verifies certPath against the CA bundle caPath (X509_verify_cert, purpose
 *  SSL client), with the CRL crlPath if not empty. A Result error only when a
 *  file cannot be read. */
Result<ChainResult> verifyChain(const std::string& certPath, const std::string& caPath,
                                const std::string& crlPath = {});

/** Ok when the CSR in csrPath asks for the key of the certificate in certPath
 *  (a renewal must bring a new key); an error when either cannot be read. */
Result<bool> csrHasCertKey(const std::string& csrPath, const std::string& certPath);

/** EST (RFC 7030) carries certificates as a PKCS#7 "certs-only" SignedData
 *  (DER) and requests as PKCS#10 (DER). These convert between them and PEM. */
Result<std::string> certsOnlyPkcs7(const std::string& pemCerts);
Result<std::string> pemFromCertsOnlyPkcs7(const std::string& der);
Result<std::string> csrDerFromPem(const std::string& pem);
Result<std::string> csrPemFromDer(const std::string& der);
/** The first certificate in PEM text: what it says about itself. */
Result<CertInfo> readCertPem(const std::string& pem);

/** "2027-01-31 12:00 UTC" */
std::string formatTime(std::time_t t);

/** How a certificate is issued. */
struct SignOptions {
  int validDays = 365;
  bool server = false;                 ///< serverAuth + subjectAltName instead of clientAuth
  std::string subjectAltName = "IP:127.0.0.1,DNS:localhost";  ///< for server certificates
  bool backend = false;                ///< the backend's own identities (broker, stub): issue() only
  bool reenrol = false;                ///< a device id that has a live certificate: replace (and revoke) it
  bool renewal = false;                ///< the device renews: its live certificate stays valid until it expires
};

/** Names the CA never signs for a device: the backend's identities, to which
 *  the broker's ACL gives every topic ("cad-stub", "mdc-broker" and names
 *  beginning with them). */
bool isReservedIdentity(const std::string& commonName);

/** The fleet CA kept in one directory: ca.pem (0644), ca.key (0600),
 *  issued.txt ("SERIAL CN NOTAFTER" per line), revoked.txt (serials),
 *  crl.pem. Not thread-safe. */
class FleetCa {
 public:
  /** Creates a new self-signed EC P-256 CA "CN=<name>" valid for validDays
   *  (5 years) in dir (created 0755); refuses when dir already holds a CA. */
  static Result<FleetCa> init(const std::string& dir, const std::string& name, int validDays = 5 * 365);
  /** Opens an existing CA directory. */
  static Result<FleetCa> open(const std::string& dir);

  /** Signs csrPath: subject CN copied, random serial, validity from an hour
   *  ago for options.validDays, CA:FALSE, clientAuth (or serverAuth); writes
   *  the certificate (PEM, 0644) to certPath and records it in issued.txt.
   *  A device CSR must name a device id (the registry's form), not a reserved
   *  identity, and not one with a live (unexpired, unrevoked) certificate
   *  unless options.reenrol, which revokes the old one. */
  Result<CertInfo> sign(const std::string& csrPath, const std::string& certPath, const SignOptions& options);
  /** Generates a key (keyPath, keyMode) and a certificate for commonName in one step
   *  (for the broker and the stub, whose keys live with the backend). */
  Result<CertInfo> issue(const std::string& commonName, const std::string& certPath, const std::string& keyPath,
                         const SignOptions& options, unsigned keyMode = 0600);
  /** Revokes every certificate issued to commonName (device id) or with that serial
   *  and rewrites crl.pem; returns the serials revoked now. Error when none matched. */
  Result<std::vector<std::string>> revoke(const std::string& commonNameOrSerial);
  /** Rewrites crl.pem from revoked.txt, valid for crlDays. */
  Status writeCrl(int crlDays = 30);

  const std::string& dir() const { return dir_; }
  std::string caFile() const { return dir_ + "/ca.pem"; }
  std::string keyFile() const { return dir_ + "/ca.key"; }
  std::string crlFile() const { return dir_ + "/crl.pem"; }

 private:
  std::string dir_;
};

}  // namespace mdc::pki
