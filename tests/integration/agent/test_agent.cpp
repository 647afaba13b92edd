// mdc-agent through real processes: crash safety, broker restarts, the DUP
// resend, priority over a backlog, downlinks beyond the broker's queue, and
// bad local requests.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "agent/store.h"
#include "shared/wire/codec.h"
#include "shared/wire/frame.h"
#include "shared/wire/uuid.h"
#include "tests/integration/agent/fake_broker.h"
#include "tests/support/mosquitto.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

struct BackendEvent {
  long long pos;
  std::string eventId;
  std::string kind;
  std::string what;
  long long recordedAtMs;
  long long receivedAtMs;
};

std::vector<BackendEvent> backendEvents(const CadStub& stub) {
  auto r = stub.cadctl({"events", "--json", "--limit", "10000000"});
  REQUIRE(r.exitCode == 0);
  auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(r.output));
  REQUIRE(doc.isArray());
  std::vector<BackendEvent> out;
  for (const auto& v : doc.array()) {
    auto o = v.toObject();
    out.push_back({o.value("pos").toInteger(), o.value("event_id").toString().toStdString(),
                   o.value("kind").toString().toStdString(), o.value("what").toString().toStdString(),
                   o.value("recorded_at_ms").toInteger(), o.value("received_at_ms").toInteger()});
  }
  return out;
}

v1::ApiRequest mixedRequest(int i) {
  v1::ApiRequest r;
  switch (i % 5) {
    case 0:
    case 1:
      r.mutable_set_status()->set_status(i % 2 ? v1::UNIT_STATUS_EN_ROUTE : v1::UNIT_STATUS_ON_SCENE);
      break;
    case 2:
      r.mutable_send_message()->set_text("message " + std::to_string(i));
      break;
    case 3: {
      auto* c = r.mutable_create_cfs();
      c->set_cfs_type("TRAFFIC_STOP");
      c->mutable_location()->set_lat(40.75 + i * 1e-5);
      c->mutable_location()->set_lon(-73.99);
      c->mutable_location()->set_mode(v1::FIX_MODE_2D);
      break;
    }
    default:
      r.mutable_set_emergency()->set_active(i % 2 == 0);
      r.mutable_set_emergency()->set_source(v1::EMERGENCY_SOURCE_SCREEN);
  }
  return r;
}

}  // namespace

TEST_CASE("a PUBLISH lost with the connection is sent again on the next connection, and stays queued until the commit ack", "[agent][link]") {
  std::string statusEventId;
  FakeBroker broker([&](const FakePublish& p) {
    if (p.topic == "cad/v1/dev/MDC-D/up" && p.connection == 1) {
      v1::Envelope e;
      if (e.ParseFromString(p.payload) && e.has_status()) return FakeBroker::Action::DropConnection;
    }
    return FakeBroker::Action::Ack;
  });
  TempDir dir;
  AgentProcess agent(dir, "MDC-D", "E1", "FD1", broker.uri());
  agent.start();
  REQUIRE(waitUntil([&] { return broker.connections() >= 1 && agent.state().link() == v1::LINK_STATE_ONLINE; }, 10s));
  auto c = agent.client();
  v1::ApiRequest r;
  r.mutable_set_status()->set_status(v1::UNIT_STATUS_ON_SCENE);
  auto reply = c->call(r);
  REQUIRE(reply.ok());
  REQUIRE(reply->ok());
  const std::string id = reply->queued().event_id();

  auto isOurs = [&](const FakePublish& p) {
    v1::Envelope e;
    return p.topic == "cad/v1/dev/MDC-D/up" && e.ParseFromString(p.payload) && e.event_id() == id;
  };
  // The broker dropped the connection right after the first PUBLISH; the
  // same event, byte for byte, comes again on the next connection. It is the
  // agent's outbox that sends it again, on a fresh paho client (see
  // shared/mqtt.cpp): a new PUBLISH, not paho's DUP retransmission.
  REQUIRE(broker.waitFor(
      [&](const std::vector<FakePublish>& all) {
        for (const auto& p : all)
          if (isOurs(p) && p.connection >= 2) return true;
        return false;
      },
      15000));
  auto all = broker.publishes();
  const FakePublish* first = nullptr;
  const FakePublish* resent = nullptr;
  for (const auto& p : all) {
    if (!isOurs(p)) continue;
    if (p.connection == 1 && !first) first = &p;
    if (p.connection >= 2 && !resent) resent = &p;
  }
  REQUIRE(first);
  REQUIRE(resent);
  CHECK_FALSE(first->dup);
  CHECK(resent->payload == first->payload);
  CHECK(broker.connections() >= 2);
  // PUBACK is not delivery: without the backend's commit ack the event stays queued.
  CHECK(agent.outboxDepth() == 1);
}

TEST_CASE("kill -9 while 10000 actions are queued offline loses none and duplicates none", "[agent][fault]") {
  MosquittoOptions o;
  o.persistence = true;
  o.maxQueuedMessages = 100000;
  VehicleStack v("MDC-K", "E9", "FD1", o);
  TempDir& dir = v.dir;
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  stub.stop();
  broker.stop();  // no network for the whole enqueue

  agent.start();
  const int kTotal = 10000;
  std::mt19937 rng(Catch::rngSeed());
  const int killAt = std::uniform_int_distribution<int>(2000, 8000)(rng);
  std::set<std::string> answered;  // event ids the API answered "queued" for
  std::string inFlightUnanswered;
  auto c = agent.client();
  for (int i = 0; int(answered.size()) < kTotal; ++i) {
    if (i == killAt) {
      // A request on the wire, then SIGKILL before (or after) its reply.
      v1::ApiRequest r = mixedRequest(i);
      r.set_request_id(999999);
      REQUIRE(c->sendFrame(r.SerializeAsString()).ok());
      agent.kill9();
      agent.start();
      c = agent.client();
      continue;
    }
    auto reply = c->call(mixedRequest(i));
    REQUIRE(reply.ok());
    REQUIRE(reply->ok());
    answered.insert(reply->queued().event_id());
  }
  REQUIRE(answered.size() == size_t(kTotal));
  CHECK(agent.outboxDepth() >= kTotal);

  broker.start();
  stub.start();
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 240s));  // generous: a loaded 2-core machine

  std::map<std::string, int> seen;
  int deviceEvents = 0;
  for (const auto& e : backendEvents(stub)) {
    if (e.kind == "presence" || e.kind.find('.') != std::string::npos) continue;
    ++seen[e.eventId];
    ++deviceEvents;
  }
  int missing = 0, twice = 0;
  for (const auto& id : answered) {
    if (seen[id] == 0) ++missing;
    if (seen[id] > 1) ++twice;
  }
  INFO("killed after " << killAt << " requests; backend holds " << deviceEvents << " device events");
  CHECK(missing == 0);
  CHECK(twice == 0);
  // At most one more: the request in flight at the kill, if it was committed.
  CHECK(deviceEvents >= kTotal);
  CHECK(deviceEvents <= kTotal + 1);
  CHECK(int(seen.size()) == deviceEvents);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  CHECK(run({program("agent/mdc-agent"), "--store", agent.storePath(), "--check-store"}, dir).exitCode == 0);
}

TEST_CASE("kill -9 at random moments while two writers keep acting: every queued action reaches the backend once",
          "[agent][fault]") {
  VehicleStack v("MDC-W", "E7", "FD1");
  TempDir& dir = v.dir;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  agent.start();

  std::mutex mu;
  std::set<std::string> answered;  // event ids the API answered "queued" for
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  const std::string socket = agent.socketPath();
  auto writer = [&](int which) {
    std::unique_ptr<agent::ApiClient> c;
    for (int i = 0; !stop; ++i) {
      if (!c || !c->connected()) {
        c = std::make_unique<agent::ApiClient>();
        if (!c->connect(socket).ok()) {
          c.reset();
          std::this_thread::sleep_for(20ms);
          continue;
        }
      }
      auto reply = c->call(mixedRequest(which * 1'000'000 + i), 5s);
      if (!reply.ok()) {  // the agent died under this request: connect again
        c.reset();
        continue;
      }
      if (reply->ok()) {
        std::lock_guard lock(mu);
        answered.insert(reply->queued().event_id());
        ++writes;
      }
    }
  };
  std::thread w1(writer, 1), w2(writer, 2);
  std::mt19937 rng(Catch::rngSeed());
  const int kills = 5;
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 900)(rng)));
    agent.kill9();
    agent.start();
  }
  std::this_thread::sleep_for(300ms);
  stop = true;
  w1.join();
  w2.join();
  INFO(answered.size() << " actions answered queued across " << kills << " kills");
  REQUIRE(answered.size() > 50);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 120s));

  std::map<std::string, int> seen;
  for (const auto& e : backendEvents(stub)) {
    if (e.kind == "presence" || e.kind.find('.') != std::string::npos) continue;
    ++seen[e.eventId];
  }
  int missing = 0, twice = 0;
  for (const auto& id : answered) {
    if (seen[id] == 0) ++missing;
    if (seen[id] > 1) ++twice;
  }
  CHECK(missing == 0);
  CHECK(twice == 0);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  CHECK(run({program("agent/mdc-agent"), "--store", agent.storePath(), "--check-store"}, dir).exitCode == 0);
}

TEST_CASE("a broker restart in the middle of a 20000-event drain loses nothing and stores nothing twice",
          "[agent][fault]") {
  MosquittoOptions o;
  o.persistence = true;
  o.maxQueuedMessages = 100000;
  VehicleStack v("MDC-R", "E3", "FD1", o);
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  prefillOutbox(agent.storePath(), "MDC-R", "E3", "FD1", 20000, 0);
  agent.start();

  REQUIRE(waitUntil([&] { return stub.eventCount() > 5000; }, 60s));
  broker.kill9();
  broker.start();
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 240s));  // generous: a loaded 2-core machine

  std::map<std::string, int> seen;
  int statuses = 0;
  for (const auto& e : backendEvents(stub))
    if (e.kind == "status") {
      ++seen[e.eventId];
      ++statuses;
    }
  CHECK(statuses == 20000);
  CHECK(seen.size() == 20000);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
}

TEST_CASE("with 50000 AVL backlogged a status made after reconnect is stored behind at most one window of backlog",
          "[agent][priority]") {
  MosquittoOptions o;
  o.persistence = true;
  o.maxQueuedMessages = 100000;
  VehicleStack v("MDC-P", "E5", "FD1", o);
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  broker.stop();

  prefillOutbox(agent.storePath(), "MDC-P", "E5", "FD1", 0, 50000);
  agent.start();
  auto watch = agent.client();
  v1::ApiRequest sub;
  sub.mutable_subscribe();
  REQUIRE(watch->call(sub).ok());

  broker.start();
  // The responder taps a status as soon as the screen shows the link back.
  bool online = false;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!online && std::chrono::steady_clock::now() < deadline) {
    auto m = watch->next(1s);
    online = m && m->has_state() && m->state().link() == v1::LINK_STATE_ONLINE;
  }
  REQUIRE(online);
  auto c = agent.client();
  v1::ApiRequest r;
  r.mutable_set_status()->set_status(v1::UNIT_STATUS_EN_ROUTE);
  auto reply = c->call(r);
  REQUIRE(reply.ok());
  REQUIRE(reply->ok());
  const std::string id = reply->queued().event_id();

  REQUIRE(waitUntil([&] {
    for (const auto& e : backendEvents(stub))
      if (e.eventId == id) return true;
    return false;
  }, 60s));
  // What got ahead of the status is what was in flight when it was pressed:
  // the backlog arriving at the backend after the press, before the status.
  const auto events = backendEvents(stub);
  long long pressedAt = 0;
  for (const auto& e : events)
    if (e.eventId == id) pressedAt = e.recordedAtMs;
  REQUIRE(pressedAt > 0);
  int avlBefore = 0, backfill = 0, afterPress = 0;
  for (const auto& e : events) {
    if (e.eventId == id) break;
    if (e.kind == "avl") {
      ++avlBefore;
      backfill += e.what.find("backfill") != std::string::npos;
      afterPress += e.receivedAtMs >= pressedAt;
    }
  }
  INFO("backlog AVL stored before the status: " << avlBefore << ", of which arrived after the press: " << afterPress);
  CHECK(afterPress <= 256);      // link.window
  CHECK(backfill == avlBefore);  // everything from the backlog is flagged as backfill
}

// A stub from before batches: MDC_OLD_CAD_STUB names its program (built from
// an older commit), and the case runs against it as well.
TEST_CASE(
    "an AVL backlog drains in batches, each report stored once as backfill, and one per message to a stub that refuses "
    "them",
    "[agent][batch]") {
  enum Stub { Accepting, Refusing, OldVersion };
  const Stub kind = Stub(GENERATE(0, 1, 2));
  const char* old = std::getenv("MDC_OLD_CAD_STUB");
  if (kind == OldVersion && !old) return;
  INFO((kind == Accepting ? "stub accepting batches" : kind == Refusing ? "stub --no-avl-batches" : old));
  const bool refusing = kind != Accepting;
  StubOptions so;
  if (kind == Refusing) so.args = {"--no-avl-batches"};
  if (kind == OldVersion) so.binary = old;
  VehicleStack v("MDC-B", "E9", "FD1", {}, {}, so);
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  prefillOutbox(agent.storePath(), "MDC-B", "E9", "FD1", 10, 3000);
  agent.start();
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 120s));

  std::map<std::string, int> seen;
  int avl = 0, backfill = 0, statuses = 0;
  for (const auto& e : backendEvents(stub)) {
    if (e.kind == "avl") {
      ++seen[e.eventId];
      ++avl;
      backfill += e.what.find("backfill") != std::string::npos;
    }
    statuses += e.kind == "status";
  }
  CHECK(avl == 3000);
  CHECK(seen.size() == 3000);
  CHECK(backfill == 3000);
  CHECK(statuses == 10);
  CHECK(stub.cadctl({"verify"}).exitCode == 0);

  const auto stats = QJsonDocument::fromJson(QByteArray::fromStdString(stub.cadctl({"stats"}).output)).object();
  const auto state = agent.state();
  const auto& counters = state.counters();
  CHECK(counters.at("committed") == 3010);
  CHECK(state.rejected_events() == 0);  // a refused batch deletes nothing
  if (!refusing) {
    // 3000 reports in at most 64 per message.
    CHECK(counters.at("avl_batches") >= 3000 / 64);
    CHECK(stats.value("avl_batches").toInteger() == qint64(counters.at("avl_batches")));
    CHECK(stats.value("batched_reports").toInteger() == 3000);
    CHECK(counters.at("avl_batches_refused") == 0);
  } else {
    CHECK(counters.at("avl_batches_refused") >= 1);
    CHECK(stats.value("avl_batches").toInteger() == 0);
    CHECK(stats.value("refused").toInteger() == qint64(counters.at("avl_batches_refused")));
    CHECK_THAT(agent.log(), Catch::Contains("the backlog goes one report per message on this connection"));
    CHECK_THAT(stub.log(), Catch::Contains(kind == Refusing ? "batch_refused" : "envelope.body: required"));
  }
}

TEST_CASE("downlinks sent while the device is away longer than the broker's queue all arrive, in order",
          "[agent][downlink]") {
  MosquittoOptions o;
  o.maxQueuedMessages = 5;  // the broker drops beyond this for an offline client
  VehicleStack v("MDC-L", "E7", "FD1", o);
  Mosquitto& broker = v.broker;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().link() == v1::LINK_STATE_ONLINE; }, 10s));
  // The first message arrives: the device's subscription is in its session
  // (stopped sooner, the broker could drop the rest for want of a subscriber
  // rather than for a full queue).
  const int kMessages = 30;
  auto send = [&](int i) {
    REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp", "message", "E7", "msg " + std::to_string(i)}).exitCode == 0);
  };
  send(1);
  REQUIRE(waitUntil([&] { return agent.state().downlink_cursor() == 1; }, 20s));
  agent.stop();  // persistent session stays on the broker, with its 5-message queue
  for (int i = 2; i <= kMessages; ++i) send(i);

  agent.start();
  REQUIRE(waitUntil([&] { return agent.state().downlink_cursor() == uint64_t(kMessages); }, 20s));
  auto st = agent.state();
  REQUIRE(st.messages_total() == uint32_t(kMessages));
  CHECK(st.messages(0).text() == "msg " + std::to_string(kMessages));
  // Newest first: seq 30 .. 1, each text matching its seq.
  v1::ApiRequest page;
  page.mutable_list_messages()->set_limit(50);
  auto reply = agent.client()->call(page);
  REQUIRE(reply.ok());
  REQUIRE(reply->messages_page().messages_size() == kMessages);
  for (int i = 0; i < kMessages; ++i) {
    CHECK(reply->messages_page().messages(i).downlink_seq() == uint64_t(kMessages - i));
    CHECK(reply->messages_page().messages(i).text() == "msg " + std::to_string(kMessages - i));
  }
  // The broker really dropped most of them: they came from the backend's store.
  CHECK_THAT(broker.log(), Catch::Contains("dropped", Catch::CaseSensitive::No));
}

TEST_CASE("mdcctl refuses an argument it does not know and queues nothing", "[agent][api]") {
  TempDir dir;
  AgentProcess agent(dir, "MDC-U", "E3", "FD1", "tcp://127.0.0.1:1");  // no broker needed
  agent.start();
  const uint64_t next = agent.state().next_seq();
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{{{"emergency", "off"}, "emergency: unexpected argument \"off\""},
                                         {{"emergency", "--off"}, "emergency: unexpected argument \"--off\""},
                                         {{"status", "available", "now"}, "status: unexpected argument \"now\""},
                                         {{"status", "available", "--incident"}, "status: --incident needs a value"},
                                         {{"message", "a", "b"}, "message: unexpected argument \"b\""},
                                         {{"state", "--jsn"}, "state: unexpected argument \"--jsn\""},
                                         {{"nearby"}, "unknown command \"nearby\""}}) {
    auto r = agent.mdcctl(c.args);
    INFO(c.args[0] << " " << (c.args.size() > 1 ? c.args[1] : ""));
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.output, Catch::Contains(c.says));
  }
  const v1::AgentState st = agent.state();
  CHECK(st.next_seq() == next);
  CHECK_FALSE(st.emergency_active());
  CHECK(agent.mdcctl({"emergency", "--clear"}).exitCode == 0);  // the known forms still work
  CHECK(agent.mdcctl({"status", "available", "--incident", "2026-000001"}).exitCode == 0);
}

TEST_CASE("bad local requests get an error reply and leave the store unchanged", "[agent][api]") {
  TempDir dir;
  AgentProcess agent(dir, "MDC-B", "E2", "FD1", "tcp://127.0.0.1:1");  // no broker needed
  agent.start();
  auto before = agent.state();

  auto expectError = [&](agent::ApiClient& c, const std::string& contains) {
    auto m = c.next(5s);
    REQUIRE(m);
    REQUIRE(m->has_reply());
    CHECK_FALSE(m->reply().ok());
    CHECK(m->reply().error_code() == v1::API_ERROR_BAD_REQUEST);
    CHECK_THAT(m->reply().error(), Catch::Contains(contains));
  };
  {
    auto c = agent.client();
    REQUIRE(c->sendFrame(std::string("\xff\xfe garbage \x01\x02", 14)).ok());
    expectError(*c, "not a valid mdc.v1.ApiRequest");
    v1::ApiRequest r;
    r.set_request_id(5);
    r.mutable_set_status()->set_status(v1::UnitStatus(99));
    REQUIRE(c->sendFrame(r.SerializeAsString()).ok());
    auto m = c->next(5s);
    REQUIRE(m);
    CHECK(m->reply().request_id() == 5);
    CHECK_THAT(m->reply().error(), Catch::Contains("set_status.status: 99 is not a known value"));
    v1::ApiRequest empty;
    empty.set_request_id(6);
    REQUIRE(c->sendFrame(empty.SerializeAsString()).ok());
    expectError(*c, "request.body: required");
    v1::ApiRequest longText;
    longText.mutable_send_message()->set_text(std::string(2001, 'x'));
    REQUIRE(c->sendFrame(longText.SerializeAsString()).ok());
    expectError(*c, "send_message.text: 2001 characters, at most 2000 allowed");
  }
  {
    // A frame announcing 16 MB: refused and the connection closed.
    auto c = agent.client();
    REQUIRE(c->sendRaw(std::string("\x01\x00\x00\x00", 4)).ok());
    expectError(*c, "frame longer than 65536 bytes");
    CHECK_FALSE(c->next(2s));
    CHECK_FALSE(c->connected());
  }
  auto after = agent.state();
  CHECK(after.next_seq() == before.next_seq());
  CHECK(after.recent_actions_size() == 0);
  long long depth = 0;
  for (const auto& l : after.lanes()) depth += l.count();
  CHECK(depth == 0);
  CHECK(after.counters().at("bad_requests") >= 3);
  // The agent is still serving.
  CHECK(agent.mdcctl({"status", "available"}).exitCode == 0);
}
