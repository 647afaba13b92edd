// The test harness's own fixtures: child processes, the real mosquitto (plain
// and TLS with the throwaway PKI), kill -9 and restart.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <memory>

#include "shared/infra/mqtt.h"
#include "tests/support/mosquitto.h"
#include "tests/support/probes.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

using namespace std::chrono_literals;
using mdc::mqtt::Client;
using mdc::test::CertFiles;
using mdc::test::Mosquitto;
using mdc::test::MosquittoOptions;
using mdc::test::MqttProbe;
using mdc::test::Process;
using mdc::test::TempDir;
using mdc::test::TestPki;

namespace {

mdc::mqtt::Options plainClient(const Mosquitto& broker, const std::string& id) {
  mdc::mqtt::Options o;
  o.uri = broker.uri();
  o.clientId = id;
  o.connectTimeoutS = 5;
  return o;
}

mdc::mqtt::Options tlsClient(const Mosquitto& broker, const TestPki& pki, const std::string& id,
                             const CertFiles* cert) {
  mdc::mqtt::Options o = plainClient(broker, id);
  o.caFile = pki.caFile();
  if (cert) {
    o.certFile = cert->certFile;
    o.keyFile = cert->keyFile;
  }
  return o;
}

// One client and its probe. Connects on construction and waits for the
// outcome, unless told not to wait: then finish() waits. (A refused TLS
// connect takes paho ~2 s, so tests start several at once, then wait.)
struct Peer {
  MqttProbe probe;
  std::unique_ptr<Client> client;
  bool connected = false;

  explicit Peer(mdc::mqtt::Options o, bool wait = true) : client(std::make_unique<Client>(std::move(o), probe)) {
    REQUIRE(client->connect().ok());
    if (wait) finish();
  }
  void finish() { connected = probe.waitConnectOutcome(10s); }
};

}  // namespace

TEST_CASE("harness: Process runs a program with extra environment and reports its exit code", "[harness]") {
  TempDir dir;
  Process p({"/bin/sh", "-c", "echo hello $MDC_PROBE; echo oops >&2; exit 3"}, dir.file("sh.log"),
            {{"MDC_PROBE", "42"}});
  CHECK(p.pid() > 0);
  auto code = p.wait(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 3);
  CHECK_FALSE(p.alive());
  CHECK(p.log() == "hello 42\noops\n");
  CHECK(p.stop() == 3);  // already gone: returns the same code
}

TEST_CASE("harness: Process stop escalates to SIGKILL and kill9 kills at once", "[harness]") {
  TempDir dir;
  Process polite({"sleep", "30"}, dir.file("sleep.log"));
  CHECK(polite.alive());
  auto t0 = std::chrono::steady_clock::now();
  CHECK(polite.stop(5s) == 128 + SIGTERM);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);

  // Ignores SIGTERM (exec keeps the ignored disposition): stop() must SIGKILL.
  Process stubborn({"/bin/sh", "-c", "trap '' TERM; exec sleep 30"}, dir.file("stubborn.log"));
  REQUIRE(mdc::test::waitUntil([&] { return stubborn.alive(); }, 1s));
  std::this_thread::sleep_for(100ms);  // let the shell install the trap before we signal
  t0 = std::chrono::steady_clock::now();
  CHECK(stubborn.stop(300ms) == 128 + SIGKILL);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);

  Process victim({"sleep", "30"}, dir.file("victim.log"));
  CHECK(victim.kill9() == 128 + SIGKILL);
  CHECK_FALSE(victim.wait(0ms) == std::nullopt);

  CHECK_THROWS_WITH(Process({"/nonexistent/mdc-no-such-program"}, dir.file("x.log")),
                    Catch::Contains("/nonexistent/mdc-no-such-program"));
}

TEST_CASE("harness: freeLoopbackPort gives a free port and waitForTcp sees a listener", "[harness]") {
  uint16_t a = mdc::test::freeLoopbackPort();
  uint16_t b = mdc::test::freeLoopbackPort();
  CHECK(a > 0);
  CHECK(b > 0);
  CHECK_FALSE(mdc::test::waitForTcp(a, 100));  // nobody listens there
  TempDir dir;
  Mosquitto broker(dir);
  CHECK(mdc::test::waitForTcp(broker.port(), 100));
}

TEST_CASE("harness: plain mosquitto takes a connection from mdc::mqtt::Client and round-trips a message",
          "[harness]") {
  TempDir dir;
  Mosquitto broker(dir);
  CHECK(broker.uri() == "tcp://127.0.0.1:" + std::to_string(broker.port()));

  Peer sub(plainClient(broker, "sub-1"));
  REQUIRE(sub.connected);
  REQUIRE(sub.client->subscribe("cad/v1/dev/+/up", 1).ok());
  REQUIRE(sub.probe.waitSubscribed(1));

  Peer pub(plainClient(broker, "dev-1"));
  REQUIRE(pub.connected);
  REQUIRE(pub.client->publish("cad/v1/dev/dev-1/up", "hello", 1).ok());
  REQUIRE(pub.probe.waitPublishResults(1));
  CHECK(pub.probe.publishResults()[0].first);

  REQUIRE(sub.probe.waitMessages(1));
  auto m = sub.probe.messages()[0];
  CHECK(m.topic == "cad/v1/dev/dev-1/up");
  CHECK(m.payload == "hello");
  CHECK(broker.log().find("New client connected") != std::string::npos);
}

TEST_CASE("harness: TLS mosquitto with require_certificate accepts a test-CA client and refuses the others",
          "[harness]") {
  TempDir dir;
  TestPki pki(dir.path());
  Mosquitto broker(dir, Mosquitto::tlsOptions(pki));
  CHECK(broker.uri() == "ssl://127.0.0.1:" + std::to_string(broker.port()));

  CertFiles good = pki.clientCert("dev-1");
  CertFiles foreign = pki.foreignClientCert("dev-2");
  CertFiles expired = pki.expiredClientCert("dev-3");

  // A client that does not trust the broker's CA must refuse the broker.
  TestPki other(dir.path(), "other");
  mdc::mqtt::Options untrusting = tlsClient(broker, pki, "dev-4", &good);
  untrusting.caFile = other.caFile();

  Peer ok(tlsClient(broker, pki, "dev-1", &good), false);
  Peer noCert(tlsClient(broker, pki, "dev-0", nullptr), false);
  Peer otherCa(tlsClient(broker, pki, "dev-2", &foreign), false);
  Peer old(tlsClient(broker, pki, "dev-3", &expired), false);
  Peer wary(untrusting, false);
  for (Peer* p : {&ok, &noCert, &otherCa, &old, &wary}) p->finish();

  INFO("mosquitto log:\n" << broker.log());
  INFO("good cert: " << ok.probe.lastFailure());
  CHECK(ok.connected);
  CHECK(broker.log().find("as dev-1 (p5, c0, k5, u'dev-1')") != std::string::npos);  // CN became the user name
  CHECK_FALSE(noCert.connected);
  CHECK(broker.log().find("peer did not return a certificate") != std::string::npos);
  CHECK_FALSE(otherCa.connected);
  CHECK_FALSE(old.connected);
  CHECK_FALSE(wary.connected);
}

TEST_CASE("harness: TLS mosquitto with a %u ACL pins each device to its own topics", "[harness]") {
  TempDir dir;
  TestPki pki(dir.path());
  MosquittoOptions opts = Mosquitto::tlsOptions(pki);
  opts.acl = "pattern readwrite cad/v1/dev/%u/#\n";
  Mosquitto broker(dir, opts);
  CertFiles c1 = pki.clientCert("dev-1");
  CertFiles c2 = pki.clientCert("dev-2");
  Peer d1(tlsClient(broker, pki, "dev-1", &c1));
  Peer d2(tlsClient(broker, pki, "dev-2", &c2));
  REQUIRE(d1.connected);
  REQUIRE(d2.connected);

  REQUIRE(d1.client->subscribe("cad/v1/dev/+/up", 1).ok());  // accepted, filtered at delivery
  REQUIRE(d1.probe.waitSubscribed(1));
  REQUIRE(d2.client->publish("cad/v1/dev/dev-2/up", "from dev-2", 1).ok());
  REQUIRE(d2.probe.waitPublishResults(1));
  CHECK(d2.probe.publishResults()[0].first);
  // MQTT v5: writing to another device's topic is refused with 0x87.
  REQUIRE(d2.client->publish("cad/v1/dev/dev-1/up", "forged", 1).ok());
  REQUIRE(d2.probe.waitPublishResults(2));
  CHECK_FALSE(d2.probe.publishResults()[1].first);
  CHECK(d2.probe.publishResults()[1].second == 0x87);

  REQUIRE(d1.client->publish("cad/v1/dev/dev-1/up", "own", 1).ok());
  REQUIRE(d1.probe.waitMessages(1));
  CHECK(d1.probe.waitMessages(2, 300ms) == false);
  auto msgs = d1.probe.messages();
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].payload == "own");
}

TEST_CASE("harness: TLS mosquitto with a CRL refuses a revoked client certificate", "[harness]") {
  TempDir dir;
  TestPki pki(dir.path());
  CertFiles good = pki.clientCert("dev-1");
  CertFiles revoked = pki.clientCert("dev-2");
  MosquittoOptions opts = Mosquitto::tlsOptions(pki);
  opts.crlFile = pki.writeCrl({revoked});
  Mosquitto broker(dir, opts);
  Peer ok(tlsClient(broker, pki, "dev-1", &good));
  INFO("mosquitto log:\n" << broker.log());
  CHECK(ok.connected);
  Peer gone(tlsClient(broker, pki, "dev-2", &revoked));
  CHECK_FALSE(gone.connected);
}

TEST_CASE("harness: mosquitto kill9 and restart keep the port and with persistence the queued session",
          "[harness]") {
  TempDir dir;
  MosquittoOptions opts;
  opts.persistence = true;
  Mosquitto broker(dir, opts);
  const uint16_t port = broker.port();

  {  // a persistent session with a subscription, then offline
    Peer sub(plainClient(broker, "dispatch-1"));
    REQUIRE(sub.connected);
    REQUIRE(sub.client->subscribe("cad/v1/dev/+/up", 1).ok());
    REQUIRE(sub.probe.waitSubscribed(1));
    sub.client->disconnect();
  }
  Peer pub(plainClient(broker, "dev-1"));
  REQUIRE(pub.connected);
  auto beforePublish = std::filesystem::file_time_type::clock::now();
  REQUIRE(pub.client->publish("cad/v1/dev/dev-1/up", "queued while offline", 1).ok());
  REQUIRE(pub.probe.waitPublishResults(1));
  // Wait for an autosave that includes the queued message, then crash the broker.
  REQUIRE(mdc::test::waitUntil(
      [&] {
        std::error_code ec;
        auto t = std::filesystem::last_write_time(broker.dbPath(), ec);
        return !ec && t > beforePublish;
      },
      10s));
  auto oldPid = broker.pid();
  broker.kill9();
  CHECK_FALSE(broker.running());
  REQUIRE(pub.probe.waitLost(0, 10s));

  broker.start();
  CHECK(broker.running());
  CHECK(broker.pid() != oldPid);
  CHECK(broker.port() == port);

  Peer again(plainClient(broker, "dispatch-1"));
  REQUIRE(again.connected);
  CHECK(again.probe.sessionPresent());
  REQUIRE(again.probe.waitMessages(1));
  CHECK(again.probe.messages()[0].payload == "queued while offline");

  // And an orderly restart() too: the broker saves on SIGTERM.
  broker.restart();
  CHECK(broker.port() == port);
  Peer afterRestart(plainClient(broker, "dev-1"));
  CHECK(afterRestart.connected);
}
