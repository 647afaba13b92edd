// The agent over TLS with a client certificate, and the store's cap seen from
// the outside: the API refuses at the non-AVL limit, and the AVL it thinned is
// reported to the backend.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "shared/clock.h"
#include "shared/pki.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/test_pki.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;


TEST_CASE("the agent syncs over ssl:// with its client certificate against require_certificate", "[agent][tls]") {
  TempDir dir;
  TestPki pki(dir.path());
  auto opts = Mosquitto::tlsOptions(pki);  // require_certificate, use_identity_as_username
  opts.acl = "pattern readwrite cad/v1/dev/%u/#\nuser cad-stub\ntopic readwrite cad/v1/#\n";
  Mosquitto broker(dir, opts);
  auto stubCert = pki.clientCert("cad-stub");
  CadStub stub(dir, broker.uri(), "cad",
               {"--client-id", "cad-stub", "--tls-ca", pki.caFile(), "--tls-cert", stubCert.certFile, "--tls-key",
                stubCert.keyFile});
  stub.start();
  REQUIRE(stub.waitReady());
  stub.addDevice("MDC-T", "E8", "FD1");
  auto cert = pki.clientCert("MDC-T");
  AgentProcess agent(dir, "MDC-T", "E8", "FD1", broker.uri(),
                     {"--set", "tls.ca=" + pki.caFile(), "--set", "tls.cert=" + cert.certFile, "--set",
                      "tls.key=" + cert.keyFile});
  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 20s));
  for (const char* s : {"en-route", "on-scene", "available"}) REQUIRE(agent.mdcctl({"status", s}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));
  auto st = agent.state();
  CHECK(st.status_delivery() == v1::DELIVERY_DELIVERED);
  CHECK(st.counters().at("committed") == 3);
  auto board = jsonArray(stub.cadctl({"board", "--json"}));
  REQUIRE(board.size() == 1);
  CHECK(board[0].toObject().value("status").toString() == "AVAILABLE");
  CHECK(board[0].toObject().value("online").toBool());
  // The technician's diagnostics show the certificate the agent connected with.
  auto info = pki::readCert(cert.certFile);
  REQUIRE(info);
  CHECK(st.cert_subject() == "CN=MDC-T");
  CHECK(st.cert_not_after_ms() == int64_t(info->notAfter) * 1000);
  CHECK(st.cert_detail().empty());
  auto text = agent.mdcctl({"state"});
  CHECK(text.output.find("certificate CN=MDC-T until " + formatIsoUtc(int64_t(info->notAfter) * 1000)) !=
        std::string::npos);
}

TEST_CASE("at the store cap the API refuses new actions with a clear error and keeps every queued one",
          "[agent][cap]") {
  TempDir dir;
  AgentProcess agent(dir, "MDC-F", "E6", "FD1", "tcp://127.0.0.1:1", {"--set", "store.cap_bytes=65536"});
  agent.start();
  auto c = agent.client();
  int queued = 0;
  v1::ApiReply refused;
  for (int i = 0; i < 5000; ++i) {
    v1::ApiRequest r;
    r.mutable_send_message()->set_text("unit E6 message " + std::to_string(i) + std::string(200, '.'));
    auto reply = c->call(r);
    REQUIRE(reply.ok());
    if (!reply->ok()) {
      refused = *reply;
      break;
    }
    ++queued;
  }
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error_code() == v1::API_ERROR_STORE_FULL);
  CHECK_THAT(refused.error(), Catch::Contains("store full") && Catch::Contains("nothing was queued"));
  CHECK(queued > 50);
  // Every action answered "queued" is still there; the refused one is not.
  CHECK(agent.outboxDepth() == queued);
  // An emergency is refused too rather than silently dropped, and says so
  // (the few that still fit in what the last message left are queued).
  int emergencies = 0;
  CommandResult e;
  for (;;) {
    e = agent.mdcctl({"emergency"});
    if (e.exitCode != 0) break;
    ++emergencies;
    REQUIRE(emergencies < 20);
  }
  CHECK(e.exitCode == 1);
  CHECK_THAT(e.output, Catch::Contains("store full"));
  CHECK(agent.outboxDepth() == queued + emergencies);
}

TEST_CASE("a long outage over a small cap thins AVL, keeps every status, and the backend learns the drop count",
          "[agent][cap]") {
  TempDir dir;
  MosquittoOptions o;
  o.persistence = true;
  Mosquitto broker(dir, o);
  CadStub stub(dir, broker.uri());
  stub.start();
  REQUIRE(stub.waitReady());
  stub.addDevice("MDC-G", "E5", "FD1");
  broker.stop();
  // Two hours of AVL at 1 Hz and 40 statuses, recorded during the outage,
  // into a store capped at 256 KiB.
  AgentProcess agent(dir, "MDC-G", "E5", "FD1", broker.uri(), {"--set", "store.cap_bytes=262144"});
  prefillOutbox(agent.storePath(), "MDC-G", "E5", "FD1", 0, 7200, 262144);
  agent.start();
  for (int i = 0; i < 40; ++i) REQUIRE(agent.mdcctl({"status", i % 2 ? "en-route" : "on-scene"}).exitCode == 0);
  auto st = agent.state();
  INFO("store " << st.store_bytes() << " of " << st.store_cap_bytes());
  CHECK(st.dropped_avl() > 0);
  CHECK(st.store_bytes() <= st.store_cap_bytes());
  uint64_t dropped = st.dropped_avl();

  broker.start();
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 60s));
  int statuses = 0, avl = 0;
  for (const auto& e : jsonArray(stub.cadctl({"events", "--json", "--limit", "100000"}))) {
    statuses += e.toObject().value("kind").toString() == "status";
    avl += e.toObject().value("kind").toString() == "avl";
  }
  CHECK(statuses == 40);
  CHECK(uint64_t(avl) + dropped == 7200);
  // The birth presence after the outage carried the count to the board.
  REQUIRE(waitUntil([&] {
    auto b = jsonArray(stub.cadctl({"board", "--json"}));
    return !b.isEmpty() && b[0].toObject().value("dropped_avl").toInteger() == qint64(dropped);
  }, 10s));
}
