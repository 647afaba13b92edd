// The agent over TLS with a client certificate, and the store's cap seen from
// the outside: the API refuses at the non-AVL limit, and the AVL it thinned is
// reported to the backend.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <set>

#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/infra/mqtt.h"
#include "shared/wire/topics.h"
#include "shared/infra/pki.h"
#include "tests/support/mosquitto.h"
#include "tests/support/probes.h"
#include "tests/support/stack.h"
#include "tests/support/test_pki.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;


TEST_CASE("the agent syncs over ssl:// with its client certificate against require_certificate", "[agent][tls]") {
  TempDir pkiDir;  // the broker's config names these files: they come before the stack
  TestPki pki(pkiDir.path());
  auto opts = Mosquitto::tlsOptions(pki);  // require_certificate, use_identity_as_username
  opts.acl = "pattern readwrite cad/v1/dev/%u/#\nuser cad-stub\ntopic readwrite cad/v1/#\n";
  auto stubCert = pki.clientCert("cad-stub");
  auto cert = pki.clientCert("MDC-T");
  VehicleStack v("MDC-T", "E8", "FD1", opts,
                 {"--set", "tls.ca=" + pki.caFile(), "--set", "tls.cert=" + cert.certFile, "--set",
                  "tls.key=" + cert.keyFile},
                 {.args = {"--client-id", "cad-stub", "--tls-ca", pki.caFile(), "--tls-cert", stubCert.certFile,
                           "--tls-key", stubCert.keyFile}});
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
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
  // The operator's view of the fleet has the same expiry, from the presence.
  auto fleet = jsonArray(stub.cadctl({"devices", "list", "--json"}));
  REQUIRE(fleet.size() == 1);
  CHECK(fleet[0].toObject().value("cert_not_after_ms").toInteger() == int64_t(info->notAfter) * 1000);
  // The test CA signs for 30 days: inside the default 30-day warning window.
  REQUIRE(fleet[0].toObject().value("attention").toArray().size() == 1);
  CHECK(fleet[0].toObject().value("attention").toArray()[0].toString() == "CERT-EXPIRES 29d");
  auto later = jsonArray(stub.cadctl({"devices", "list", "--expiring-days", "7", "--json"}));
  REQUIRE(later.size() == 1);
  CHECK(later[0].toObject().value("attention").toArray().isEmpty());
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
  MosquittoOptions o;
  o.persistence = true;
  VehicleStack v("MDC-G", "E5", "FD1", o, {"--set", "store.cap_bytes=262144"});
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  broker.stop();
  // Two hours of AVL at 1 Hz and 40 statuses, recorded during the outage,
  // into a store capped at 256 KiB.
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

TEST_CASE("at the protocol's maximums (500 messages of 2,000 characters, 100 assignments with maximal notes and "
          "timelines) state, watch and paging keep working",
          "[agent][api][limits]") {
  TempDir dir;
  Mosquitto broker(dir);
  AgentProcess agent(dir, "MDC-L", "E40", "FD1", broker.uri());
  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 20s));

  // The backend's downlinks, as the broker would carry them, at their maximums.
  MqttProbe probe;
  mqtt::Options o;
  o.uri = broker.uri();
  o.clientId = "test-backend";
  mqtt::Client backend(o, probe);
  REQUIRE(backend.connect().ok());
  REQUIRE(probe.waitConnectOutcome(10s));
  const int64_t now = SystemClock::instance().nowMs();
  uint64_t seq = 0;
  auto send = [&](v1::Downlink dl) {
    dl.set_version(1);
    dl.set_unit_id("E40");
    dl.set_seq(++seq);
    dl.set_sent_at_ms(now + int64_t(seq));
    auto bytes = codec::encodeDownlink(dl);
    INFO((bytes.ok() ? "" : bytes.error().message));
    REQUIRE(bytes.ok());
    REQUIRE(backend.publish(topics::down("MDC-L"), *bytes, 1).ok());
  };
  for (int i = 1; i <= 500; ++i) {
    v1::Downlink dl;
    dl.mutable_message()->set_from("dispatch");
    std::string text = "message " + std::to_string(i) + " ";
    text += std::string(2000 - text.size(), 'm');
    dl.mutable_message()->set_text(text);
    send(dl);
  }
  for (int i = 1; i <= 100; ++i) {
    v1::Downlink dl;
    auto* a = dl.mutable_assignment();
    char number[16];
    std::snprintf(number, sizeof number, "2026-%06d", i);
    a->set_incident_number(number);
    a->set_cfs_type("STRUCTURE_FIRE");
    a->set_priority(1);
    a->set_address(std::string(200, 'a'));
    a->set_notes(std::string(4000, 'n'));
    for (int u = 0; u < 64; ++u) a->add_units("U" + std::to_string(u));
    for (int t = 0; t < 256; ++t) {
      auto* line = a->add_timeline();
      line->set_at_ms(now - 256 + t);
      line->set_text(std::to_string(t) + " " + std::string(490, 't'));
    }
    a->set_assigned_at_ms(now);
    send(dl);
  }
  REQUIRE(waitUntil([&] { return agent.state().downlink_cursor() == 600; }, 120s));

  // state: one frame, the newest items that fit, and the totals.
  const v1::AgentState st = agent.state();
  CHECK(st.ByteSizeLong() < codec::kMaxLocalFrameBytes);
  CHECK(st.messages_total() == 500);
  CHECK(st.assignments_total() == 100);
  REQUIRE(st.assignments_size() >= 1);
  CHECK(st.assignments(0).assignment().incident_number() == "2026-000100");
  CHECK(st.assignments(0).timeline_total() == 256);
  CHECK(st.assignments(0).assignment().timeline_size() == 20);
  CHECK(st.assignments(0).assignment().timeline(19).text().rfind("255 ", 0) == 0);  // the latest lines
  auto text = agent.mdcctl({"state"});
  INFO(text.output);
  REQUIRE(text.exitCode == 0);
  CHECK(text.output.find("messages    500 held") != std::string::npos);
  REQUIRE(agent.mdcctl({"state", "--json"}).exitCode == 0);

  // watch: its first state arrives (a frame that fits).
  {
    auto c = agent.client();
    v1::ApiRequest r;
    r.mutable_subscribe();
    auto reply = c->call(r);
    REQUIRE(reply.ok());
    REQUIRE(reply->ok());
    CHECK(reply->state().messages_total() == 500);
  }

  // The responder pages back through every message, newest first.
  std::set<std::string> seen;
  std::string before, third;
  uint64_t oldest = 0;
  for (int pages = 0; pages < 100; ++pages) {
    auto c = agent.client();
    v1::ApiRequest r;
    r.mutable_list_messages()->set_before(before);
    r.mutable_list_messages()->set_limit(50);
    auto reply = c->call(r);
    REQUIRE(reply.ok());
    REQUIRE(reply->ok());
    const auto& page = reply->messages_page();
    REQUIRE(page.messages_size() > 0);
    CHECK(reply->ByteSizeLong() < codec::kMaxLocalFrameBytes);
    for (const auto& m : page.messages()) {
      seen.insert(m.text().substr(0, m.text().find(' ', 8)));
      if (m.downlink_seq() == 3) third = m.cursor();
    }
    before = page.messages(page.messages_size() - 1).cursor();
    oldest = page.messages(page.messages_size() - 1).downlink_seq();
    if (!page.more()) break;
  }
  CHECK(seen.size() == 500);
  CHECK(oldest == 1);
  REQUIRE_FALSE(third.empty());
  auto older = agent.mdcctl({"messages", "--before", third, "--limit", "5"});
  INFO(older.output);
  CHECK(older.exitCode == 0);
  CHECK(older.output.find("(#2): message 2 ") != std::string::npos);
  CHECK(older.output.find("(#1): message 1 ") != std::string::npos);
  CHECK(older.output.find("(#3)") == std::string::npos);
  auto bad = agent.mdcctl({"messages", "--before", "3"});
  CHECK(bad.exitCode != 0);
  CHECK_THAT(bad.output, Catch::Contains("list_messages.before: \"3\" is not a message cursor"));
  CHECK(agent.mdcctl({"messages", "--limit", "51"}).exitCode != 0);
  backend.disconnect();
}
