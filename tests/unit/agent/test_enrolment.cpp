// The device's side of renewal on real files: the new key and certificate
// replace the current pair only when both are complete, and a renewal cut
// off between its steps is completed or discarded at the next start. Also the
// EST encodings (PKCS#7 certs-only, PKCS#10 DER) both ways.
#include <catch2/catch.hpp>

#include "agent/enrolment.h"
#include "shared/infra/files.h"
#include "shared/infra/pki.h"
#include "tests/support/temp_dir.h"

using namespace mdc;
using mdc::test::TempDir;

namespace {

struct Identity {
  std::string cert, key;
};

/** A CA in dir/ca and a certificate for cn with a key made here. */
Identity issue(const TempDir& dir, pki::FleetCa& ca, const std::string& cn, const std::string& name, bool renewal) {
  Identity id{dir.file(name + ".pem"), dir.file(name + ".key")};
  REQUIRE(pki::generateKey(id.key).ok());
  REQUIRE(pki::writeCsr(id.key, cn, dir.file(name + ".csr")).ok());
  pki::SignOptions o;
  o.renewal = renewal;
  REQUIRE(ca.sign(dir.file(name + ".csr"), id.cert, o).ok());
  return id;
}

std::string read(const std::string& p) { return files::read(p).ok() ? *files::read(p) : ""; }

}  // namespace

TEST_CASE("renewal: the new pair replaces the current one whole, and an interrupted renewal is completed or "
          "discarded at the next start") {
  TempDir dir;
  auto ca = pki::FleetCa::init(dir.file("ca"), "test CA");
  REQUIRE(ca.ok());
  const Identity cur = issue(dir, *ca, "MDC-1", "device", false);
  const std::string oldCert = read(cur.cert), oldKey = read(cur.key);

  SECTION("nothing pending") {
    auto r = agent::finishPendingRenewal(cur.cert, cur.key);
    REQUIRE(r.ok());
    CHECK(r->empty());
    CHECK(read(cur.cert) == oldCert);
  }
  SECTION("both written, neither installed: both are installed") {
    const Identity next = issue(dir, *ca, "MDC-1", "n", true);
    REQUIRE(files::writeAtomic(cur.cert + ".next", read(next.cert)).ok());
    REQUIRE(files::writeAtomic(cur.key + ".next", read(next.key), 0600).ok());
    auto r = agent::finishPendingRenewal(cur.cert, cur.key);
    REQUIRE(r.ok());
    CHECK(*r == "installed the renewed certificate and its key");
    CHECK(read(cur.cert) == read(next.cert));
    CHECK(read(cur.key) == read(next.key));
    CHECK(pki::checkKeyMatchesCert(cur.cert, cur.key).ok());
    CHECK_FALSE(files::read(cur.key + ".next").ok());
  }
  SECTION("cut off after the certificate was installed: the key follows") {
    const Identity next = issue(dir, *ca, "MDC-1", "n", true);
    REQUIRE(files::writeAtomic(cur.cert, read(next.cert)).ok());
    REQUIRE(files::writeAtomic(cur.key + ".next", read(next.key), 0600).ok());
    REQUIRE_FALSE(pki::checkKeyMatchesCert(cur.cert, cur.key).ok());  // the broken moment
    auto r = agent::finishPendingRenewal(cur.cert, cur.key);
    REQUIRE(r.ok());
    CHECK(pki::checkKeyMatchesCert(cur.cert, cur.key).ok());
    CHECK(read(cur.key) == read(next.key));
  }
  SECTION("a new key whose certificate never came: discarded, the current pair untouched") {
    REQUIRE(pki::generateKey(cur.key + ".next").ok());
    auto r = agent::finishPendingRenewal(cur.cert, cur.key);
    REQUIRE(r.ok());
    CHECK(*r == "discarded an incomplete renewal");
    CHECK(read(cur.cert) == oldCert);
    CHECK(read(cur.key) == oldKey);
    CHECK_FALSE(files::read(cur.key + ".next").ok());
  }
  SECTION("a certificate that does not match the new key: both discarded") {
    const Identity other = issue(dir, *ca, "MDC-1", "o", true);
    REQUIRE(pki::generateKey(cur.key + ".next").ok());
    REQUIRE(files::writeAtomic(cur.cert + ".next", read(other.cert)).ok());
    auto r = agent::finishPendingRenewal(cur.cert, cur.key);
    REQUIRE(r.ok());
    CHECK(*r == "discarded an incomplete renewal");
    CHECK(read(cur.cert) == oldCert);
    CHECK_FALSE(files::read(cur.cert + ".next").ok());
  }
}

TEST_CASE("EST encodings: certificates through PKCS#7 certs-only and requests through DER come back as they went, "
          "and garbage is refused with a reason") {
  TempDir dir;
  auto ca = pki::FleetCa::init(dir.file("ca"), "test CA");
  REQUIRE(ca.ok());
  const Identity a = issue(dir, *ca, "MDC-1", "a", false);
  const std::string pem = read(a.cert) + read(ca->caFile());
  auto p7 = pki::certsOnlyPkcs7(pem);
  REQUIRE(p7.ok());
  auto back = pki::pemFromCertsOnlyPkcs7(*p7);
  REQUIRE(back.ok());
  CHECK(*back == pem);  // both certificates, in order
  CHECK_FALSE(pki::certsOnlyPkcs7("not a certificate").ok());
  auto bad = pki::pemFromCertsOnlyPkcs7("garbage");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("PKCS#7 certs-only (7 bytes): not PKCS#7") != std::string::npos);

  const std::string csrPem = read(dir.file("a.csr"));
  auto der = pki::csrDerFromPem(csrPem);
  REQUIRE(der.ok());
  auto csrBack = pki::csrPemFromDer(*der);
  REQUIRE(csrBack.ok());
  CHECK(*csrBack == csrPem);
  CHECK_FALSE(pki::csrPemFromDer(der->substr(0, der->size() - 3)).ok());
  CHECK_FALSE(pki::csrPemFromDer(*der + "x").ok());  // trailing bytes
  auto same = pki::csrHasCertKey(dir.file("a.csr"), a.cert);
  REQUIRE(same.ok());
  CHECK(*same);
  const Identity b = issue(dir, *ca, "MDC-1", "b", true);
  CHECK_FALSE(*pki::csrHasCertKey(dir.file("b.csr"), a.cert));
}
