#include "tests/support/test_pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>
#include <stdexcept>

#include "shared/infra/files.h"

namespace mdc::test {

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using AsnIntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using AsnTimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// Throws with OpenSSL's queued reasons, naming the step and the subject.
[[noreturn]] void fail(const std::string& what) {
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reasons += reasons.empty() ? "" : "; ";
    reasons += buf;
  }
  throw std::runtime_error("test_pki: " + what + ": " + (reasons.empty() ? "failed" : reasons));
}

void check(int ok, const std::string& what) {
  if (ok != 1) fail(what);
}

KeyPtr newEcKey() {
  KeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!k) fail("EC P-256 key generation");
  return k;
}

BnPtr randomSerial() {
  BnPtr bn(BN_new());
  // 127 random bits, top bit clear: positive and unique enough for tests.
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) fail("serial number");
  return bn;
}

std::string hexOf(const BIGNUM* bn) {
  char* h = BN_bn2hex(bn);
  std::string s(h ? h : "");
  OPENSSL_free(h);
  return s;
}

void addExt(X509* cert, X509* issuer, int nid, const char* value, const std::string& cn) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value + " for CN=" + cn);
  check(X509_add_ext(cert, ext.get(), -1), std::string("add extension ") + OBJ_nid2sn(nid));
}

std::string pemCert(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert), "PEM encode certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

std::string pemKey(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM encode key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size_t(n));
}

void writeFile(const std::string& path, const std::string& content) {
  Status st = files::writeAtomic(path, content, 0644);
  if (!st) throw std::runtime_error("test_pki: " + st.error().message);
}

// A file-name-safe form of a CN.
std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) out += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

// A certificate skeleton: version 3, serial, validity, subject CN, public key.
X509Ptr newCert(const std::string& cn, EVP_PKEY* key, long notBeforeS, long notAfterS, BIGNUM* serial) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "set version");
  AsnIntPtr asnSerial(BN_to_ASN1_INTEGER(serial, nullptr));
  if (!asnSerial) fail("serial for CN=" + cn);
  check(X509_set_serialNumber(cert.get(), asnSerial.get()), "set serial");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), notBeforeS) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), notAfterS))
    fail("validity for CN=" + cn);
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
        "subject CN=" + cn);
  check(X509_set_pubkey(cert.get(), key), "public key for CN=" + cn);
  return cert;
}

}  // namespace

struct TestPki::Impl {
  X509Ptr ca;
  KeyPtr caKey;
};

TestPki::TestPki(std::string dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)), impl_(std::make_unique<Impl>()) {
  caFile_ = dir_ + "/" + safe(name_) + "-ca.pem";
  caKeyFile_ = dir_ + "/" + safe(name_) + "-ca.key";
  impl_->caKey = newEcKey();
  BnPtr serial = randomSerial();
  std::string cn = name_ + " CA";
  impl_->ca = newCert(cn, impl_->caKey.get(), -3600, 365L * 86400, serial.get());
  X509* ca = impl_->ca.get();
  check(X509_set_issuer_name(ca, X509_get_subject_name(ca)), "CA issuer name");
  addExt(ca, ca, NID_basic_constraints, "critical,CA:TRUE", cn);
  addExt(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign", cn);
  addExt(ca, ca, NID_subject_key_identifier, "hash", cn);
  addExt(ca, ca, NID_authority_key_identifier, "keyid:always", cn);
  if (X509_sign(ca, impl_->caKey.get(), EVP_sha256()) <= 0) fail("sign CA CN=" + cn);
  writeFile(caFile_, pemCert(ca));
  writeFile(caKeyFile_, pemKey(impl_->caKey.get()));
}

TestPki::~TestPki() = default;

CertFiles TestPki::issue(const std::string& cn, long notBeforeS, long notAfterS, bool server) {
  KeyPtr key = newEcKey();
  BnPtr serial = randomSerial();
  X509Ptr cert = newCert(cn, key.get(), notBeforeS, notAfterS, serial.get());
  X509* ca = impl_->ca.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)), "issuer name for CN=" + cn);
  addExt(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE", cn);
  addExt(cert.get(), ca, NID_key_usage, "critical,digitalSignature,keyAgreement", cn);
  addExt(cert.get(), ca, NID_ext_key_usage, server ? "serverAuth" : "clientAuth", cn);
  addExt(cert.get(), ca, NID_subject_key_identifier, "hash", cn);
  addExt(cert.get(), ca, NID_authority_key_identifier, "keyid:always", cn);
  if (server) addExt(cert.get(), ca, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost", cn);
  if (X509_sign(cert.get(), impl_->caKey.get(), EVP_sha256()) <= 0) fail("sign CN=" + cn);

  std::string base = dir_ + "/" + safe(name_) + "-" + (server ? "server" : "client") + "-" + safe(cn) + "-" +
                     std::to_string(++counter_);
  CertFiles out{base + ".pem", base + ".key", hexOf(serial.get()), cn};
  writeFile(out.certFile, pemCert(cert.get()));
  writeFile(out.keyFile, pemKey(key.get()));
  return out;
}

const CertFiles& TestPki::serverCert(const std::string& cn) {
  if (!server_) server_ = std::make_unique<CertFiles>(issue(cn, -3600, 30L * 86400, true));
  return *server_;
}

CertFiles TestPki::clientCert(const std::string& deviceId, int validDays) {
  return issue(deviceId, -3600, long(validDays) * 86400, false);
}

CertFiles TestPki::expiredClientCert(const std::string& deviceId) {
  return issue(deviceId, -2L * 86400, -86400, false);
}

CertFiles TestPki::foreignClientCert(const std::string& deviceId) {
  if (!foreign_) foreign_ = std::make_unique<TestPki>(dir_, name_ + "-foreign");
  return foreign_->clientCert(deviceId);
}

std::string TestPki::writeCrl(const std::vector<CertFiles>& revoked) {
  CrlPtr crl(X509_CRL_new());
  if (!crl) fail("X509_CRL_new");
  X509* ca = impl_->ca.get();
  check(X509_CRL_set_version(crl.get(), 1), "CRL version");  // 1 = v2
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)), "CRL issuer");
  std::time_t now = std::time(nullptr);
  AsnTimePtr last(ASN1_TIME_adj(nullptr, now, 0, -3600));
  AsnTimePtr next(ASN1_TIME_adj(nullptr, now, 30, 0));
  if (!last || !next) fail("CRL times");
  check(X509_CRL_set1_lastUpdate(crl.get(), last.get()), "CRL lastUpdate");
  check(X509_CRL_set1_nextUpdate(crl.get(), next.get()), "CRL nextUpdate");
  for (const auto& c : revoked) {
    BIGNUM* raw = nullptr;
    if (!BN_hex2bn(&raw, c.serialHex.c_str())) fail("CRL serial \"" + c.serialHex + "\" of CN=" + c.subjectCn);
    BnPtr bn(raw);
    AsnIntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    X509_REVOKED* r = X509_REVOKED_new();
    if (!serial || !r) fail("CRL entry for CN=" + c.subjectCn);
    X509_REVOKED_set_serialNumber(r, serial.get());
    X509_REVOKED_set_revocationDate(r, last.get());
    if (X509_CRL_add0_revoked(crl.get(), r) != 1) {
      X509_REVOKED_free(r);
      fail("add CRL entry for CN=" + c.subjectCn);
    }
  }
  check(X509_CRL_sort(crl.get()), "CRL sort");
  if (X509_CRL_sign(crl.get(), impl_->caKey.get(), EVP_sha256()) <= 0) fail("sign CRL");

  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509_CRL(bio.get(), crl.get()), "PEM encode CRL");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string path = dir_ + "/" + safe(name_) + "-crl-" + std::to_string(++counter_) + ".pem";
  writeFile(path, std::string(data, size_t(n)));
  return path;
}

}  // namespace mdc::test
