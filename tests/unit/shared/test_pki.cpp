// shared/pki: device key, CSR, fleet CA, signing, CRL, and the checks self-test uses.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <ctime>

#include "shared/infra/files.h"
#include "shared/infra/pki.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

using namespace mdc::pki;

namespace {
unsigned modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("device key is EC P-256, written 0600, and its CSR names the device") {
  mdc::test::TempDir dir;
  REQUIRE(generateKey(dir.file("device.key")).ok());
  CHECK(modeOf(dir.file("device.key")) == 0600);
  REQUIRE(writeCsr(dir.file("device.key"), "MDC-0001", dir.file("device.csr")).ok());
  auto cn = readCsrCn(dir.file("device.csr"));
  REQUIRE(cn.ok());
  CHECK(*cn == "MDC-0001");
}

TEST_CASE("fleet CA signs a device CSR: CN copied, limited validity, key matches, chain verifies") {
  mdc::test::TempDir dir;
  auto ca = FleetCa::init(dir.file("ca"), "FD1 fleet CA");
  REQUIRE(ca.ok());
  CHECK(modeOf(ca->keyFile()) == 0600);
  CHECK(modeOf(ca->caFile()) == 0644);
  CHECK_FALSE(FleetCa::init(dir.file("ca"), "again").ok());
  REQUIRE(generateKey(dir.file("d.key")).ok());
  REQUIRE(writeCsr(dir.file("d.key"), "MDC-0001", dir.file("d.csr")).ok());
  SignOptions o;
  o.validDays = 90;
  auto info = ca->sign(dir.file("d.csr"), dir.file("d.pem"), o);
  REQUIRE(info.ok());
  CHECK(info->subjectCn == "MDC-0001");
  CHECK(info->issuerCn == "FD1 fleet CA");
  std::time_t now = std::time(nullptr);
  CHECK(info->notAfter > now + 89L * 86400);
  CHECK(info->notAfter < now + 91L * 86400);
  CHECK(checkKeyMatchesCert(dir.file("d.pem"), dir.file("d.key")).ok());
  auto v = verifyChain(dir.file("d.pem"), ca->caFile(), ca->crlFile());
  REQUIRE(v.ok());
  CHECK(v->verdict == ChainVerdict::Ok);

  SECTION("another key does not match") {
    REQUIRE(generateKey(dir.file("other.key")).ok());
    mdc::Status st = checkKeyMatchesCert(dir.file("d.pem"), dir.file("other.key"));
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("does not match") != std::string::npos);
  }
  SECTION("revoked by device id: the CRL lists it") {
    auto r = ca->revoke("MDC-0001");
    REQUIRE(r.ok());
    CHECK(r->size() == 1);
    auto v2 = verifyChain(dir.file("d.pem"), ca->caFile(), ca->crlFile());
    REQUIRE(v2.ok());
    CHECK(v2->verdict == ChainVerdict::Revoked);
    CHECK_FALSE(ca->revoke("MDC-0001").ok());  // nothing left to revoke
  }
}

TEST_CASE("chain verdicts: expired and foreign certificates are told apart") {
  mdc::test::TempDir dir;
  mdc::test::TestPki pki(dir.path());
  auto expired = pki.expiredClientCert("MDC-0001");
  auto foreign = pki.foreignClientCert("MDC-0001");
  auto v = verifyChain(expired.certFile, pki.caFile());
  REQUIRE(v.ok());
  CHECK(v->verdict == ChainVerdict::Expired);
  v = verifyChain(foreign.certFile, pki.caFile());
  REQUIRE(v.ok());
  CHECK(v->verdict == ChainVerdict::NotIssuedByCa);
}

TEST_CASE("errors name the file and OpenSSL's reason") {
  mdc::test::TempDir dir;
  auto r = readCert(dir.file("missing.pem"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("missing.pem") != std::string::npos);
  REQUIRE(mdc::files::writeAtomic(dir.file("junk.pem"), "not a cert").ok());
  r = readCert(dir.file("junk.pem"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("not a PEM certificate") != std::string::npos);
}
