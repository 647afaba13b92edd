#include "shared/infra/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "shared/infra/files.h"
#include "shared/wire/topics.h"

namespace mdc::pki {

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using AsnIntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using AsnTimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

// OpenSSL's queued reasons, joined; clears the queue.
std::string sslReasons() {
  std::string reasons;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reasons += reasons.empty() ? "" : "; ";
    reasons += buf;
  }
  return reasons.empty() ? "failed" : reasons;
}

Error sslError(const std::string& what) { return Error::make("pki: " + what + ": " + sslReasons()); }

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, size_t(n));
}

Result<BioPtr> openRead(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return sslError("\"" + path + "\": cannot open");
  return bio;
}

Result<KeyPtr> loadKey(const std::string& path) {
  auto bio = openRead(path);
  if (!bio) return bio.error();
  KeyPtr k(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  if (!k) return sslError("\"" + path + "\": not a PEM private key");
  return k;
}

Result<X509Ptr> loadCert(const std::string& path) {
  auto bio = openRead(path);
  if (!bio) return bio.error();
  X509Ptr c(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (!c) return sslError("\"" + path + "\": not a PEM certificate");
  return c;
}

Result<ReqPtr> loadCsr(const std::string& path) {
  auto bio = openRead(path);
  if (!bio) return bio.error();
  ReqPtr r(PEM_read_bio_X509_REQ(bio->get(), nullptr, nullptr, nullptr));
  if (!r) return sslError("\"" + path + "\": not a PEM certificate request");
  return r;
}

std::string cnOf(const X509_NAME* name) {
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(name), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

std::time_t toTimeT(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

std::string serialHexOf(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  char* h = BN_bn2hex(bn.get());
  std::string s(h ? h : "");
  OPENSSL_free(h);
  return s;
}

CertInfo infoOf(X509* c) {
  CertInfo i;
  i.subjectCn = cnOf(X509_get_subject_name(c));
  i.issuerCn = cnOf(X509_get_issuer_name(c));
  i.serialHex = serialHexOf(X509_get0_serialNumber(c));
  i.notBefore = toTimeT(X509_get0_notBefore(c));
  i.notAfter = toTimeT(X509_get0_notAfter(c));
  return i;
}

Status addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return sslError(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  return {};
}

Result<X509Ptr> newCert(const std::string& cn, EVP_PKEY* pub, long notBeforeS, long notAfterS) {
  X509Ptr cert(X509_new());
  BnPtr bn(BN_new());
  // 127 random bits: positive, and unpredictable enough that serials never collide.
  if (!cert || !bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return sslError("serial");
  AsnIntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(cert.get(), serial.get()) != 1 ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), notBeforeS) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), notAfterS) ||
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_set_pubkey(cert.get(), pub) != 1)
    return sslError("certificate for CN=" + cn);
  return cert;
}

Status writePem(const std::string& path, int (*write)(BIO*, void*), void* obj, unsigned mode,
                const std::string& what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), obj) != 1) return sslError("encode " + what + " for \"" + path + "\"");
  return files::writeAtomic(path, bioText(bio.get()), mode);
}

int writeCertBio(BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }
int writeReqBio(BIO* b, void* r) { return PEM_write_bio_X509_REQ(b, static_cast<X509_REQ*>(r)); }
int writeCrlBio(BIO* b, void* r) { return PEM_write_bio_X509_CRL(b, static_cast<X509_CRL*>(r)); }
int writeKeyBio(BIO* b, void* k) {
  return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
}

std::vector<std::string> readLines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Status generateKey(const std::string& keyPath, unsigned mode) {
  KeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!k) return sslError("EC P-256 key generation for \"" + keyPath + "\"");
  return writePem(keyPath, writeKeyBio, k.get(), mode, "private key");
}

Status writeCsr(const std::string& keyPath, const std::string& commonName, const std::string& csrPath) {
  auto key = loadKey(keyPath);
  if (!key) return key.error();
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key->get()) != 1 || X509_REQ_sign(req.get(), key->get(), EVP_sha256()) <= 0)
    return sslError("certificate request CN=" + commonName + " for \"" + csrPath + "\"");
  return writePem(csrPath, writeReqBio, req.get(), 0644, "certificate request");
}

Result<CertInfo> readCert(const std::string& certPath) {
  auto c = loadCert(certPath);
  if (!c) return c.error();
  return infoOf(c->get());
}

Result<std::string> readCsrCn(const std::string& csrPath) {
  auto r = loadCsr(csrPath);
  if (!r) return r.error();
  EVP_PKEY* pub = X509_REQ_get0_pubkey(r->get());
  if (!pub || X509_REQ_verify(r->get(), pub) != 1) return sslError("\"" + csrPath + "\": signature does not verify");
  std::string cn = cnOf(X509_REQ_get_subject_name(r->get()));
  if (cn.empty()) return Error::make("pki: \"" + csrPath + "\": no CN in the subject");
  return cn;
}

Status checkKeyMatchesCert(const std::string& certPath, const std::string& keyPath) {
  auto c = loadCert(certPath);
  if (!c) return c.error();
  auto k = loadKey(keyPath);
  if (!k) return k.error();
  if (X509_check_private_key(c->get(), k->get()) != 1) {
    ERR_clear_error();
    return Error::make("pki: key \"" + keyPath + "\" does not match certificate \"" + certPath + "\"");
  }
  return {};
}

Result<ChainResult> verifyChain(const std::string& certPath, const std::string& caPath, const std::string& crlPath) {
  auto c = loadCert(certPath);
  if (!c) return c.error();
  StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_load_file(store.get(), caPath.c_str()) != 1)
    return sslError("CA file \"" + caPath + "\": cannot load");
  if (!crlPath.empty()) {
    auto bio = openRead(crlPath);
    if (!bio) return bio.error();
    CrlPtr crl(PEM_read_bio_X509_CRL(bio->get(), nullptr, nullptr, nullptr));
    if (!crl || X509_STORE_add_crl(store.get(), crl.get()) != 1) return sslError("CRL \"" + crlPath + "\"");
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), c->get(), nullptr) != 1) return sslError("verify context");
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  int ok = X509_verify_cert(ctx.get());
  ERR_clear_error();
  ChainResult r;
  if (ok == 1) {
    r.verdict = ChainVerdict::Ok;
    return r;
  }
  int err = X509_STORE_CTX_get_error(ctx.get());
  r.detail = X509_verify_cert_error_string(err);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: r.verdict = ChainVerdict::Expired; break;
    case X509_V_ERR_CERT_NOT_YET_VALID: r.verdict = ChainVerdict::NotYetValid; break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: r.verdict = ChainVerdict::NotIssuedByCa; break;
    case X509_V_ERR_CERT_REVOKED: r.verdict = ChainVerdict::Revoked; break;
    default: r.verdict = ChainVerdict::Other; break;
  }
  return r;
}

Result<bool> csrHasCertKey(const std::string& csrPath, const std::string& certPath) {
  auto r = loadCsr(csrPath);
  if (!r) return r.error();
  auto c = loadCert(certPath);
  if (!c) return c.error();
  EVP_PKEY* a = X509_REQ_get0_pubkey(r->get());
  EVP_PKEY* b = X509_get0_pubkey(c->get());
  if (!a || !b) return sslError("public keys of \"" + csrPath + "\" and \"" + certPath + "\"");
  return EVP_PKEY_eq(a, b) == 1;
}

namespace {
using Pkcs7Ptr = std::unique_ptr<PKCS7, Deleter<PKCS7, PKCS7_free>>;

BioPtr memBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), int(data.size())));
}
}  // namespace

Result<std::string> certsOnlyPkcs7(const std::string& pemCerts) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 || PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1)
    return sslError("PKCS#7 certs-only");
  BioPtr in = memBio(pemCerts);
  int n = 0;
  while (X509* c = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
    const int ok = PKCS7_add_certificate(p7.get(), c);
    X509_free(c);
    if (ok != 1) return sslError("PKCS#7: add certificate");
    ++n;
  }
  ERR_clear_error();  // the end of the PEM text
  if (n == 0) return Error::make("pki: PKCS#7 certs-only: no certificate in the PEM text");
  unsigned char* der = nullptr;
  const int len = i2d_PKCS7(p7.get(), &der);
  if (len <= 0) return sslError("PKCS#7: encode");
  std::string out(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  return out;
}

Result<std::string> pemFromCertsOnlyPkcs7(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, long(der.size())));
  if (!p7) return sslError("PKCS#7 certs-only (" + std::to_string(der.size()) + " bytes): not PKCS#7");
  if (!PKCS7_type_is_signed(p7.get()) || !p7->d.sign || !p7->d.sign->cert)
    return Error::make("pki: PKCS#7: not a certs-only SignedData");
  BioPtr out(BIO_new(BIO_s_mem()));
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; i < sk_X509_num(certs); ++i)
    if (PEM_write_bio_X509(out.get(), sk_X509_value(certs, i)) != 1) return sslError("PKCS#7: certificate to PEM");
  std::string pem = bioText(out.get());
  if (pem.empty()) return Error::make("pki: PKCS#7: no certificate in it");
  return pem;
}

Result<std::string> csrDerFromPem(const std::string& pem) {
  BioPtr in = memBio(pem);
  ReqPtr r(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
  if (!r) return sslError("certificate request: not PEM");
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(r.get(), &der);
  if (len <= 0) return sslError("certificate request: encode");
  std::string out(reinterpret_cast<char*>(der), size_t(len));
  OPENSSL_free(der);
  return out;
}

Result<std::string> csrPemFromDer(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ReqPtr r(d2i_X509_REQ(nullptr, &p, long(der.size())));
  if (!r || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    return sslError("certificate request (" + std::to_string(der.size()) + " bytes): not a PKCS#10 request");
  BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_REQ(out.get(), r.get()) != 1) return sslError("certificate request to PEM");
  return bioText(out.get());
}

Result<CertInfo> readCertPem(const std::string& pem) {
  BioPtr in = memBio(pem);
  X509Ptr c(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  if (!c) return sslError("certificate: not PEM");
  return infoOf(c.get());
}

std::string formatTime(std::time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

Result<FleetCa> FleetCa::init(const std::string& dir, const std::string& name, int validDays) {
  ::mkdir(dir.c_str(), 0755);
  ::chmod(dir.c_str(), 0755);
  FleetCa ca;
  ca.dir_ = dir;
  if (exists(ca.caFile()))
    return Error::make("pki: \"" + dir + "\" already holds a CA (ca.pem); remove it to start a new fleet CA");
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return sslError("EC P-256 key generation for the CA");
  auto cert = newCert(name, key.get(), -3600, long(validDays) * 86400);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) return sslError("CA issuer name");
  for (auto [nid, v] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                        std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                        std::pair{NID_subject_key_identifier, "hash"},
                        std::pair{NID_authority_key_identifier, "keyid:always"}})
    if (Status st = addExt(c, c, nid, v); !st) return st.error();
  if (X509_sign(c, key.get(), EVP_sha256()) <= 0) return sslError("sign CA certificate");
  if (Status st = writePem(ca.keyFile(), writeKeyBio, key.get(), 0600, "CA key"); !st) return st.error();
  if (Status st = writePem(ca.caFile(), writeCertBio, c, 0644, "CA certificate"); !st) return st.error();
  if (Status st = ca.writeCrl(); !st) return st.error();
  return ca;
}

Result<FleetCa> FleetCa::open(const std::string& dir) {
  FleetCa ca;
  ca.dir_ = dir;
  if (!exists(ca.caFile()) || !exists(ca.keyFile()))
    return Error::make("pki: no CA in \"" + dir + "\" (run `cadctl ca init` first)");
  return ca;
}

bool isReservedIdentity(const std::string& cn) {
  for (const char* reserved : {"cad-stub", "mdc-broker"})
    if (cn.rfind(reserved, 0) == 0) return true;
  return false;
}

Result<CertInfo> FleetCa::sign(const std::string& csrPath, const std::string& certPath, const SignOptions& o) {
  auto cn = readCsrCn(csrPath);
  if (!cn) return cn.error();
  std::vector<std::string> replaced;  // live certificates of this device id, revoked once the new one is written
  if (!o.backend) {
    if (!topics::isValidDeviceId(*cn))
      return Error::make("pki: CSR \"" + csrPath + "\": CN \"" + *cn +
                         "\" is not a device id (1-64 characters of A-Z a-z 0-9 . _ -); nothing signed");
    if (isReservedIdentity(*cn))
      return Error::make("pki: CSR \"" + csrPath + "\": CN \"" + *cn +
                         "\" is reserved for the backend (the broker gives it every topic); nothing signed");
    const std::vector<std::string> revoked = readLines(dir_ + "/revoked.txt");
    const std::time_t now = std::time(nullptr);
    for (const std::string& line : readLines(dir_ + "/issued.txt")) {
      std::istringstream in(line);
      std::string serial, issuedCn;
      long long notAfter = 0;
      in >> serial >> issuedCn >> notAfter;
      if (issuedCn != *cn || notAfter <= now) continue;
      if (std::find(revoked.begin(), revoked.end(), serial) != revoked.end()) continue;
      if (o.renewal) continue;  // the old one works until it expires
      if (!o.reenrol)
        return Error::make("pki: CN \"" + *cn + "\" already has a live certificate (serial " + serial +
                           ", valid until " + formatTime(std::time_t(notAfter)) +
                           "); re-enrol explicitly (cadctl ca sign --reenrol) to replace it; nothing signed");
      replaced.push_back(serial);
    }
  }
  auto req = loadCsr(csrPath);
  if (!req) return req.error();
  auto caCert = loadCert(caFile());
  if (!caCert) return caCert.error();
  auto caKey = loadKey(keyFile());
  if (!caKey) return caKey.error();
  if (o.validDays < 1) return Error::make("pki: validity " + std::to_string(o.validDays) + " days: must be >= 1");
  auto cert = newCert(*cn, X509_REQ_get0_pubkey(req->get()), -3600, long(o.validDays) * 86400);
  if (!cert) return cert.error();
  X509* c = cert->get();
  X509* ca = caCert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(ca)) != 1) return sslError("issuer name");
  if (Status st = addExt(c, ca, NID_basic_constraints, "critical,CA:FALSE"); !st) return st.error();
  if (Status st = addExt(c, ca, NID_key_usage, "critical,digitalSignature,keyAgreement"); !st) return st.error();
  if (Status st = addExt(c, ca, NID_ext_key_usage, o.server ? "serverAuth" : "clientAuth"); !st) return st.error();
  if (Status st = addExt(c, ca, NID_subject_key_identifier, "hash"); !st) return st.error();
  if (Status st = addExt(c, ca, NID_authority_key_identifier, "keyid:always"); !st) return st.error();
  if (o.server && !o.subjectAltName.empty())
    if (Status st = addExt(c, ca, NID_subject_alt_name, o.subjectAltName); !st) return st.error();
  if (X509_sign(c, caKey->get(), EVP_sha256()) <= 0) return sslError("sign CN=" + *cn);
  if (Status st = writePem(certPath, writeCertBio, c, 0644, "certificate"); !st) return st.error();
  CertInfo info = infoOf(c);
  std::string index;
  if (auto old = files::read(dir_ + "/issued.txt")) index = *old;
  index += info.serialHex + " " + info.subjectCn + " " + std::to_string(info.notAfter) + "\n";
  if (Status st = files::writeAtomic(dir_ + "/issued.txt", index, 0644); !st) return st.error();
  for (const auto& serial : replaced)
    if (auto r = revoke(serial); !r) return r.error();
  return info;
}

Result<CertInfo> FleetCa::issue(const std::string& commonName, const std::string& certPath,
                                const std::string& keyPath, const SignOptions& backendOptions, unsigned keyMode) {
  SignOptions options = backendOptions;
  options.backend = true;
  if (Status st = generateKey(keyPath, keyMode); !st) return st.error();
  std::string csr = certPath + ".csr";
  if (Status st = writeCsr(keyPath, commonName, csr); !st) return st.error();
  auto info = sign(csr, certPath, options);
  std::remove(csr.c_str());
  return info;
}

Result<std::vector<std::string>> FleetCa::revoke(const std::string& cnOrSerial) {
  std::vector<std::string> revoked = readLines(dir_ + "/revoked.txt");
  std::vector<std::string> now;
  for (const std::string& line : readLines(dir_ + "/issued.txt")) {
    std::istringstream in(line);
    std::string serial, cn;
    in >> serial >> cn;
    if (cn != cnOrSerial && serial != cnOrSerial) continue;
    bool already = false;
    for (const auto& r : revoked) already = already || r == serial;
    if (!already) {
      revoked.push_back(serial);
      now.push_back(serial);
    }
  }
  if (now.empty())
    return Error::make("pki: no unrevoked certificate issued to \"" + cnOrSerial + "\" in \"" + dir_ + "/issued.txt\"");
  std::string text;
  for (const auto& r : revoked) text += r + "\n";
  if (Status st = files::writeAtomic(dir_ + "/revoked.txt", text, 0644); !st) return st.error();
  if (Status st = writeCrl(); !st) return st.error();
  return now;
}

Status FleetCa::writeCrl(int crlDays) {
  auto caCert = loadCert(caFile());
  if (!caCert) return caCert.error();
  auto caKey = loadKey(keyFile());
  if (!caKey) return caKey.error();
  CrlPtr crl(X509_CRL_new());
  X509* ca = caCert->get();
  std::time_t t = std::time(nullptr);
  AsnTimePtr last(ASN1_TIME_adj(nullptr, t, 0, -3600));
  AsnTimePtr next(ASN1_TIME_adj(nullptr, t, crlDays, 0));
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
    return sslError("CRL for \"" + dir_ + "\"");
  for (const std::string& hex : readLines(dir_ + "/revoked.txt")) {
    BIGNUM* raw = nullptr;
    if (!BN_hex2bn(&raw, hex.c_str())) return sslError("revoked serial \"" + hex + "\"");
    BnPtr bn(raw);
    AsnIntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    X509_REVOKED* r = X509_REVOKED_new();
    if (!serial || !r || X509_REVOKED_set_serialNumber(r, serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(r, last.get()) != 1 || X509_CRL_add0_revoked(crl.get(), r) != 1) {
      X509_REVOKED_free(r);
      return sslError("CRL entry " + hex);
    }
  }
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), caKey->get(), EVP_sha256()) <= 0)
    return sslError("sign CRL");
  return writePem(crlFile(), writeCrlBio, crl.get(), 0644, "CRL");
}

}  // namespace mdc::pki
