// Enrolment over the network through the real processes: cadctl makes a
// token, the stub serves EST over HTTPS, mdc-provision enrols at the
// "vehicle", the agent syncs through a TLS mosquitto with what it received
// and renews its certificate before it expires.
#include <catch2/catch.hpp>

#include <QCoreApplication>

#include <regex>
#include <thread>

#include "agent/config.h"
#include "agent/est_client.h"
#include "shared/infra/enrol.h"
#include "shared/infra/files.h"
#include "shared/infra/pki.h"
#include "tests/integration/provision/fleet.h"
#include "tests/support/probes.h"

using namespace mdc;
using namespace mdc::test;

namespace {

std::string tokenOf(const CommandResult& r) {
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex("\ntoken ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\n")));
  return m[1];
}

/** A deployment with the enrolment server on. */
struct EnrolFleet {
  Fleet& fleet;
  uint16_t estPort = freeLoopbackPort();
  uint16_t metricsPort = freeLoopbackPort();
  std::string server = "https://127.0.0.1:" + std::to_string(estPort);

  void start() {
    fleet.startStub({"--est-port", std::to_string(estPort), "--est-address", "127.0.0.1", "--est-broker", fleet.uri(),
                     "--metrics-port", std::to_string(metricsPort)});
  }
  std::string metrics() const {
    return run({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(metricsPort) +
                                  "; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"},
               fleet.dir)
        .output;
  }
  std::string token(const std::string& device, const std::string& unit, const std::string& ttl = "2h") {
    auto r = fleet.cadctl({"--agency", "FD1", "--as", "tech", "enroll-token", "create", device, "--unit", unit,
                           "--ttl", ttl});
    INFO(r.output);
    REQUIRE(r.exitCode == 0);
    return tokenOf(r);
  }
  std::string devDir(const std::string& device) const { return fleet.dir.file("dev-" + device); }
  CommandResult enroll(const std::string& device, const std::string& token, std::vector<std::string> extra = {}) {
    const std::string d = devDir(device);
    std::vector<std::string> argv = {program("agent/mdc-provision"), "--dir", d, "enroll", "--server", server,
                                     "--device-id", device, "--token", token, "--store", d + "/agent.db", "--socket",
                                     d + "/agent.sock"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, fleet.dir);
  }
  std::string ca() const { return fleet.caDir + "/ca.pem"; }
  std::string events() const { return fleet.cadctl({"events", "--limit", "100000"}).output; }
};

int countOf(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("enrolment: a token enrols a device whose agent then syncs over TLS, and wrong, used, foreign, locked and "
          "expired tokens are refused in words, each use in the log",
          "[provision][enrol]") {
  TempDir dir;
  Fleet fleet(dir);
  EnrolFleet est{fleet};
  est.start();

  // A token for a device not registered yet registers it to the unit.
  const std::string token = est.token("MDC-0301", "E31");
  auto devices = fleet.cadctl({"devices", "list"});
  CHECK_THAT(devices.output, Catch::Contains("MDC-0301"));
  // Only its hash is stored: the token is nowhere in the store's files.
  const std::string normalized = *enrol::normalizeToken(token);
  std::string bytes;
  for (const std::string& f : {fleet.db, fleet.db + "-wal"})
    if (auto b = files::read(f); b.ok()) bytes += *b;
  CHECK(bytes.find(token) == std::string::npos);
  CHECK(bytes.find(normalized) == std::string::npos);
  CHECK(bytes.find(enrol::tokenHash(normalized)) != std::string::npos);
  std::string other = enrol::newToken();

  // A wrong token: the server cannot prove it, so the device trusts nothing
  // and sends nothing.
  auto r = est.enroll("MDC-0301", other);
  INFO(r.output);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("did not prove it knows this token"));
  CHECK_FALSE(files::read(est.devDir("MDC-0301") + "/device.key").ok());
  // With the CA given, the wrong token reaches the server, which refuses it and logs it.
  r = est.enroll("MDC-0301", other, {"--ca", est.ca()});
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("HTTP 401: wrong token for device MDC-0301"));

  // The right token: key made here, certificate, CA and configuration received.
  r = est.enroll("MDC-0301", token);
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.output, Catch::Contains("the server proved the token"));
  CHECK_THAT(r.output, Catch::Contains("enrolled MDC-0301 (unit E31, agency FD1)"));
  const std::string d = est.devDir("MDC-0301");
  struct stat st {};
  REQUIRE(::stat((d + "/device.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  agent::AgentConfig cfg;
  REQUIRE(agent::loadConfigFile(d + "/agent.json", cfg).ok());
  CHECK(cfg.deviceId == "MDC-0301");
  CHECK(cfg.unitId == "E31");
  CHECK(cfg.agency == "FD1");
  CHECK(cfg.broker == fleet.uri());
  CHECK(cfg.enrollServer == est.server);
  auto cert = pki::readCert(d + "/device.pem");
  REQUIRE(cert.ok());
  CHECK(cert->subjectCn == "MDC-0301");
  CHECK(pki::checkKeyMatchesCert(d + "/device.pem", d + "/device.key").ok());
  CHECK(fleet.selfTest(d).output.find("FAIL  identity") == std::string::npos);

  // The agent syncs with what it received, over the TLS broker.
  AgentProcess agent(dir, "MDC-0301", "E31", "FD1", fleet.uri(), {"--config", d + "/agent.json"});
  agent.start();
  REQUIRE(agent.mdcctl({"status", "en-route"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  CHECK(std::regex_search(est.events(), std::regex("device:MDC-0301 +E31 +FD1 +status +EN_ROUTE")));
  agent.stop();

  // Used once: the same token again is refused, and says when it was used.
  r = est.enroll("MDC-0301", token, {"--ca", est.ca(), "--force"});
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("token already used at"));
  CHECK_THAT(r.output, Catch::Contains("certificate serial " + cert->serialHex));
  // Without --force an enrolled device is not enrolled again.
  r = est.enroll("MDC-0301", token);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("this device is enrolled"));

  // Another device's token is a wrong token for this one.
  const std::string t302 = est.token("MDC-0302", "E32");
  r = est.enroll("MDC-0301", t302, {"--ca", est.ca(), "--force"});
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("wrong token for device MDC-0301"));

  // Five wrong tokens lock the device's open token.
  const std::string t303 = est.token("MDC-0303", "E33");
  for (int i = 0; i < 5; ++i) {
    r = est.enroll("MDC-0303", enrol::newToken(), {"--ca", est.ca()});
    REQUIRE(r.exitCode == 1);
  }
  r = est.enroll("MDC-0303", t303, {"--ca", est.ca()});
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("token locked after 5 wrong tokens for this device; create a new one"));

  // Every use that reached the server is in the log: three tokens made, one
  // enrolment, and nine refusals (the wrong token with --ca, the used one,
  // the other device's, five guesses and the locked one). The wrong token the
  // device refused to send, and the enrolled device's own refusal, are not.
  const std::string log = est.events();
  CHECK(countOf(log, "registry.enroll_token") == 3);
  CHECK(countOf(log, "registry.enrolled") == 1);
  CHECK(countOf(log, "registry.enroll_refused") == 9);
  CHECK(log.find(normalized) == std::string::npos);
  auto list = fleet.cadctl({"enroll-token", "list"});
  INFO(list.output);
  CHECK(std::regex_search(list.output, std::regex("MDC-0301 +E31 +FD1 +tech .* used .* serial " + cert->serialHex)));
  CHECK(std::regex_search(list.output, std::regex("MDC-0303 +E33 +FD1 +tech .* locked \\(5 wrong tokens\\)")));
  CHECK(fleet.cadctl({"verify"}).exitCode == 0);
  const std::string m = est.metrics();
  INFO(m);
  CHECK_THAT(m, Catch::Contains("\ncad_enrolments_total 1\n"));
  CHECK_THAT(m, Catch::Contains("\ncad_enrolment_refusals_total 9\n"));
  CHECK_THAT(m, Catch::Contains("\ncad_renewals_total 0\n"));

  // Expired: the stub restarted 20 minutes later (its clock moved by
  // libfaketime) refuses a 10-minute token and says when it expired.
  const std::string t304 = est.token("MDC-0304", "E34", "10m");
  fleet.stub.reset();
  fleet.stubEnv = {{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"},
                   {"FAKETIME", "+20m"},
                   {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
                   {"ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:verify_asan_link_order=0"}};
  est.start();
  r = est.enroll("MDC-0304", t304, {"--ca", est.ca()});
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("token expired at"));
  CHECK_THAT(r.output, Catch::Contains("create a new one (cadctl enroll-token create MDC-0304)"));

  // Bad input is named and changes nothing.
  auto bad = fleet.cadctl({"--agency", "FD1", "enroll-token", "create", "MDC-0305", "--unit", "E35", "--ttl", "2y"});
  CHECK(bad.exitCode == 2);
  CHECK_THAT(bad.output, Catch::Contains("--ttl \"2y\""));
  bad = fleet.cadctl({"--agency", "FD1", "enroll-token", "create", "MDC-0301", "--unit", "E99"});
  CHECK(bad.exitCode == 1);
  CHECK_THAT(bad.output, Catch::Contains("serves unit E31, not E99"));
  r = est.enroll("MDC-0305", "not-a-token");
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.output, Catch::Contains("--token \"not-a-token\": not a token"));
}

TEST_CASE("enrolment: the agent renews its certificate before expiry with a new key and keeps its link, the next "
          "connection uses the new one, and an expired certificate needs a new token",
          "[provision][enrol]") {
  int argc = 1;
  char name[] = "enrolment-test";
  char* argv[] = {name, nullptr};
  QCoreApplication app(argc, argv);  // the test's own EST requests below
  TempDir dir;
  TestPki pki(dir.path(), "fleet");  // adopted as the fleet CA: it can make an expired certificate
  Fleet fleet(dir, &pki);
  EnrolFleet est{fleet};
  est.start();
  REQUIRE(est.enroll("MDC-0401", est.token("MDC-0401", "E41")).exitCode == 0);
  const std::string d = est.devDir("MDC-0401");
  auto before = pki::readCert(d + "/device.pem");
  REQUIRE(before.ok());
  const std::string oldKey = *files::read(d + "/device.key");
  copy(d + "/device.pem", dir.file("old.pem"));
  copy(d + "/device.key", dir.file("old.key"));

  // A margin longer than the certificate's life: due at once.
  AgentProcess agent(dir, "MDC-0401", "E41", "FD1", fleet.uri(),
                     {"--config", d + "/agent.json", "--set", "tls.renew_margin_days=400", "--set",
                      "tls.renew_check_s=3600", "--set", "link.health_interval_s=5"});
  agent.start();
  REQUIRE(waitUntil([&] { return agent.log().find("certificate renewed: serial") != std::string::npos; }, 20s));
  auto after = pki::readCert(d + "/device.pem");
  REQUIRE(after.ok());
  CHECK(after->serialHex != before->serialHex);
  CHECK(after->subjectCn == "MDC-0401");
  CHECK(*files::read(d + "/device.key") != oldKey);  // a new key, made here
  CHECK(pki::checkKeyMatchesCert(d + "/device.pem", d + "/device.key").ok());
  CHECK_FALSE(files::read(d + "/device.key.next").ok());
  // The link stayed up on the old certificate, which is still valid.
  CHECK(agent.state().link() == v1::LINK_STATE_ONLINE);
  auto oldChain = pki::verifyChain(dir.file("old.pem"), est.ca(), fleet.caDir + "/crl.pem");
  REQUIRE(oldChain.ok());
  CHECK(oldChain->verdict == pki::ChainVerdict::Ok);
  REQUIRE(agent.mdcctl({"status", "on-scene"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  // The renewal is in the log, and the operator sees the new expiry.
  CHECK_THAT(est.events(), Catch::Contains("\"method\":\"renewal\""));
  CHECK(waitUntil([&] {
    return fleet.cadctl({"devices", "list", "--json"}).output.find(std::to_string(int64_t(after->notAfter) * 1000)) !=
           std::string::npos;
  }, 20s));

  // The next connection uses the new certificate: with the old one revoked
  // and the broker restarted on the new CRL, the agent is back online.
  REQUIRE(fleet.cadctl({"ca", "revoke", before->serialHex}).exitCode == 0);
  fleet.stopBroker();
  fleet.startBroker();
  REQUIRE(agent.mdcctl({"status", "available"}).exitCode == 0);
  CHECK(waitUntil([&] { return agent.outboxDepth() == 0; }, 30s));
  CHECK(agent.state().link() == v1::LINK_STATE_ONLINE);
  agent.stop();

  // A renewal must bring a new key: the current key's request is refused.
  agent::EstClient client(est.server);
  REQUIRE(client.trustCa(*files::read(est.ca())).ok());
  REQUIRE(client.useIdentity(d + "/device.pem", d + "/device.key").ok());
  REQUIRE(pki::writeCsr(d + "/device.key", "MDC-0401", dir.file("same.csr")).ok());
  auto der = pki::csrDerFromPem(*files::read(dir.file("same.csr")));
  REQUIRE(der.ok());
  auto same = client.post(enrol::kReenrollPath, QByteArray::fromStdString(*der).toBase64().toStdString(),
                          "application/pkcs10");
  CHECK(same.status == 400);
  CHECK_THAT(same.body, Catch::Contains("a renewal needs a new key"));

  // Expired: the server refuses to renew it, the self-test and the agent say
  // the device needs a new token.
  CertFiles expired = pki.expiredClientCert("MDC-0401");
  copy(expired.certFile, d + "/device.pem");
  copy(expired.keyFile, d + "/device.key");
  agent::EstClient withExpired(est.server);
  REQUIRE(withExpired.trustCa(*files::read(est.ca())).ok());
  REQUIRE(withExpired.useIdentity(d + "/device.pem", d + "/device.key").ok());
  REQUIRE(pki::generateKey(dir.file("n.key")).ok());
  REQUIRE(pki::writeCsr(dir.file("n.key"), "MDC-0401", dir.file("n.csr")).ok());
  auto nder = pki::csrDerFromPem(*files::read(dir.file("n.csr")));
  auto refused = withExpired.post(enrol::kReenrollPath, QByteArray::fromStdString(*nder).toBase64().toStdString(),
                                  "application/pkcs10");
  CHECK(refused.status == 401);
  CHECK_THAT(refused.body, Catch::Contains("missed its renewal window and needs a new token"));
  auto self = fleet.selfTest(d);
  INFO(self.output);
  CHECK(contains(line(self.output, "certificate expiry"), "needs a new token (cadctl enroll-token create MDC-0401"));
  AgentProcess late(dir, "MDC-0401", "E41", "FD1", fleet.uri(), {"--config", d + "/agent.json"});
  late.start();
  CHECK(waitUntil([&] { return late.log().find("needs a new token") != std::string::npos; }, 20s));
  // A new token brings it back.
  auto r = est.enroll("MDC-0401", est.token("MDC-0401", "E41"), {"--force"});
  INFO(r.output);
  CHECK(r.exitCode == 0);
}
