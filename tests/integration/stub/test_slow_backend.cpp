// Degrade, never collapse: vehicles with backlogs draining into a backend
// that runs at a fraction of its speed (CAD_STUB_FAULT=slow-commit: every
// commit takes longer per message, as on a slow disk), through the real
// processes. The drain must slow in proportion and nothing more: the backend
// busy, few duplicates, nothing lost or stored twice, and a status pressed
// during the drain committed as fast as the backlog's head.
#include <catch2/catch.hpp>

#include <QJsonDocument>
#include <QJsonObject>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/stub/stub_helpers.h"
#include "tests/support/mosquitto.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vehicle_stack.h"

using namespace std::chrono_literals;
using namespace mdc::test;
using cad::test::stubStats;
namespace v1 = mdc::v1;

namespace {

struct Drain {
  int agents = 4;
  int statuses = 150;  ///< per agent, then
  int messages = 450;  ///< per agent: 600 actions each
  int slowCommitUs = 4000;  ///< per message: the stub at about 250 events/s at best
  bool cpuHog = false;      ///< a busy loop on each of the machine's cores during the drain
  int stallMs = 0;          ///< > 0: the stub stopped (SIGSTOP) this long, then continued as long again, in turn
  std::vector<std::string> agentArgs;
};

struct Figures {
  double drainS = 0;         ///< from the broker's return to every outbox empty
  long events = 0;           ///< the backlogs' events (and the pressed status)
  long appended = 0, duplicates = 0, received = 0;
  double busyS = 0;          ///< the stub's time in ingest transactions
  double ownRate = 0;        ///< events/s the backend stores when busy: appended / busyS (stalled: see below)
  double boundS = 0;         ///< 1.5 x events / ownRate + 10 s
  double statusS = 0;        ///< a status pressed during the drain: pressed to committed
};

long statOf(const QJsonObject& s, const char* key) { return long(s.value(key).toInteger()); }

uint64_t counterOf(const v1::AgentState& s, const std::string& name) {
  auto it = s.counters().find(name);
  return it == s.counters().end() ? 0 : it->second;
}

uint32_t laneDepth(const v1::AgentState& s, v1::Lane lane) {
  for (const auto& l : s.lanes())
    if (l.lane() == lane) return l.count();
  return 0;
}

/** Busy loops, one per core, for as long as the object lives. */
struct CpuHog {
  explicit CpuHog(const TempDir& dir) {
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i)
      loops.push_back(std::make_unique<Process>(std::vector<std::string>{"sh", "-c", "while :; do :; done"},
                                                dir.file("hog.log")));
  }
  std::vector<std::unique_ptr<Process>> loops;
};

Figures drain(const Drain& d) {
  MosquittoOptions o;
  o.persistence = true;  // the stub's session (its subscription) outlives the broker's outage
  // What the generated broker configuration sets (cadctl broker-config):
  // the stub's queue holds the fleet's backlogs in flight.
  o.maxQueuedMessages = 100000;
  BackendStack backend(o, {.env = {{"CAD_STUB_FAULT", "slow-commit:" + std::to_string(d.slowCommitUs)}}});
  TempDir& dir = backend.dir;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  std::vector<AgentProcess*> agents;
  for (int i = 0; i < d.agents; ++i) {
    const std::string device = "MDC-L" + std::to_string(i + 1), unit = "L" + std::to_string(i + 1);
    std::vector<std::string> args = {"--set", "link.backoff_max_ms=1000"};
    args.insert(args.end(), d.agentArgs.begin(), d.agentArgs.end());
    agents.push_back(&backend.addVehicle(device, unit, "FD1", args));
    prefillOutbox(agents.back()->storePath(), device, unit, "FD1", d.statuses, 0, int64_t(1) << 32, d.messages);
  }
  // The outage: the vehicles start with their backlogs and no broker.
  broker.stop();
  for (auto& a : agents) a->start();
  std::unique_ptr<CpuHog> hog;
  if (d.cpuHog) hog = std::make_unique<CpuHog>(dir);
  const QJsonObject before = stubStats(stub);
  broker.start();
  const auto t0 = std::chrono::steady_clock::now();  // the outage ends

  auto allOnline = [&] {
    for (auto& a : agents)
      if (a->state().link() != v1::LINK_STATE_ONLINE) return false;
    return stubStats(stub).value("ready").toBool();
  };
  REQUIRE(waitUntil(allOnline, 30s));
  // A backend that stalls (a pause, a slow disk, a failover) and goes on, in turn.
  std::atomic<bool> stalling{d.stallMs > 0};
  std::thread staller([&] {
    while (stalling) {
      ::kill(stub.pid(), SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(d.stallMs));
      ::kill(stub.pid(), SIGCONT);
      std::this_thread::sleep_for(std::chrono::milliseconds(d.stallMs));
    }
  });
  struct Join {
    std::atomic<bool>& flag;
    std::thread& t;
    ~Join() {
      flag = false;
      if (t.joinable()) t.join();
    }
  } join{stalling, staller};
  const long backlog = long(d.agents) * (d.statuses + d.messages);

  // A status pressed on the first vehicle once a third of the backlog is stored.
  REQUIRE(waitUntil([&] { return statOf(stubStats(stub), "appended") - statOf(before, "appended") >= backlog / 3; },
                    120s));
  auto c = agents[0]->client();
  v1::ApiRequest press;
  press.mutable_set_status()->set_status(v1::UNIT_STATUS_AVAILABLE);
  const auto pressedAt = std::chrono::steady_clock::now();
  auto reply = c->call(press);
  REQUIRE(reply);
  REQUIRE(reply->ok());
  double statusS = -1;
  auto drained = [&] {
    bool all = true;
    for (size_t i = 0; i < agents.size(); ++i) {
      const auto s = agents[i]->state();
      if (i == 0 && statusS < 0 && laneDepth(s, v1::LANE_STATUS) == 0)
        statusS = std::chrono::duration<double>(std::chrono::steady_clock::now() - pressedAt).count();
      long depth = 0;
      for (const auto& l : s.lanes()) depth += l.count();
      all = all && depth == 0;
    }
    return all;
  };
  REQUIRE(waitUntil(drained, 240s));
  Figures f;
  f.drainS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stalling = false;
  staller.join();
  hog.reset();
  const QJsonObject after = stubStats(stub);
  f.events = backlog + 1;
  f.appended = statOf(after, "appended") - statOf(before, "appended");
  f.duplicates = statOf(after, "duplicates") - statOf(before, "duplicates");
  f.received = statOf(after, "received") - statOf(before, "received");
  f.busyS = double(statOf(after, "ingest_busy_ms") - statOf(before, "ingest_busy_ms")) / 1000;
  // Stalled, the stub's own clock counts a stop inside a commit as busy: its
  // rate is taken as its best (the fault hook's alone) for the half of the
  // time it runs, which only makes the bound stricter.
  f.ownRate = d.stallMs > 0 ? 0.5 * 1e6 / d.slowCommitUs : double(f.appended) / std::max(f.busyS, 0.001);
  f.boundS = 1.5 * double(f.events) / f.ownRate + 10;
  f.statusS = statusS;
  std::string agentFigures;
  for (auto& a : agents) {
    const auto s = a->state();
    agentFigures += " [" + std::to_string(counterOf(s, "resent")) + " resent, " +
                    std::to_string(counterOf(s, "ack_timeouts")) + " timeouts, " +
                    std::to_string(counterOf(s, "duplicate_acks")) + " duplicate acks, window " +
                    std::to_string(counterOf(s, "send_window")) + ", lag cuts " +
                    std::to_string(counterOf(s, "backend_behind_cuts")) + ", fresh sessions " +
                    std::to_string(counterOf(s, "fresh_sessions")) + "]";
  }
  char line[400];
  std::snprintf(line, sizeof line,
                "%d agents x %d events, stub at %d us/message%s%s: drained in %.1f s (bound %.1f s; backend's own rate "
                "%.0f/s, busy %.1f s); received %ld, appended %ld, duplicates %ld; status pressed mid-drain "
                "committed in %.2f s",
                d.agents, d.statuses + d.messages, d.slowCommitUs, d.cpuHog ? ", CPU hog on every core" : "",
                d.stallMs > 0 ? (", stopped " + std::to_string(d.stallMs) + " ms in every " +
                                 std::to_string(2 * d.stallMs) + " ms").c_str()
                              : "",
                f.drainS, f.boundS, f.ownRate, f.busyS, f.received, f.appended, f.duplicates, f.statusS);
  WARN(line << agentFigures << "; stub " << QJsonDocument(after).toJson(QJsonDocument::Compact).toStdString());

  // Nothing lost, nothing stored twice.
  for (const char* kind : {"status", "message"}) {
    int total = 0;
    const auto byId = eventsOfKind(stub, kind, total);
    INFO(kind);
    CHECK(total == int(byId.size()));
    CHECK(long(byId.size()) == long(d.agents) * (std::string(kind) == "status" ? d.statuses : d.messages) +
                                   (std::string(kind) == "status" ? 1 : 0));
  }
  // The per-device counts add up to the total.
  long perDevice = 0;
  const QJsonObject dups = after.value("duplicates_by_device").toObject();
  for (auto it = dups.begin(); it != dups.end(); ++it) perDevice += long(it.value().toInteger());
  CHECK(perDevice == statOf(after, "duplicates"));
  CHECK(stub.cadctl({"verify"}).exitCode == 0);
  return f;
}

void checkBounds(const Figures& f) {
  CHECK(f.drainS <= f.boundS);
  CHECK(f.duplicates * 10 <= f.appended);  // at most 10 % more received than stored
  CHECK(f.received <= f.appended + f.appended / 10);
  CHECK(f.statusS >= 0);
  CHECK(f.statusS <= f.boundS);
}

}  // namespace

TEST_CASE("four vehicles drain 600 actions each into a backend at a fraction of its speed, in proportion and nothing more",
          "[load]") {
  checkBounds(drain(Drain{}));
}

TEST_CASE("four vehicles drain into a slow backend with every core busy, in proportion and nothing more", "[load]") {
  Drain d;
  d.cpuHog = true;
  checkBounds(drain(d));
}

TEST_CASE("four vehicles drain into a backend that stalls for seconds at a time, in proportion and nothing more",
          "[load]") {
  Drain d;
  d.slowCommitUs = 1000;
  d.stallMs = 3000;  // stopped half the time: the backend at under half its speed
  checkBounds(drain(d));
}

TEST_CASE("one vehicle drains 20,000 events into a slow backend with the default ack timeout, in proportion",
          "[load]") {
  Drain d;
  d.agents = 1;
  d.statuses = 5000;
  d.messages = 15000;
  d.slowCommitUs = 250;  // about 4,000 events/s at best: 5 s of work
  checkBounds(drain(d));
}

TEST_CASE("the stub logs and counts the messages its broker dropped for it", "[load]") {
  MosquittoOptions o;
  o.maxQueuedMessages = 10;  // far too small for a fleet: what cadctl broker-config would never write
  o.maxInflightMessages = 5;
  BackendStack backend(o);
  TempDir& dir = backend.dir;
  Mosquitto& broker = backend.broker;
  CadStub& stub = backend.stub;
  REQUIRE(stubStats(stub).value("broker_dropped").toInteger() == 0);
  // The stub frozen (as a long pause would): what it may hold unacknowledged
  // (its MQTT 5 receive maximum, 1,024) and its queue (10) fill, and the
  // broker drops the rest.
  ::kill(stub.pid(), SIGSTOP);
  const int kSent = 1024 + 10 + 500;
  auto pub = run({"mosquitto_pub", "-p", std::to_string(broker.port()), "-q", "1", "-t", "cad/v1/dev/MDC-D1/up", "-m",
                  "not an envelope", "--repeat", std::to_string(kSent)},
                 dir, 120s);
  ::kill(stub.pid(), SIGCONT);
  REQUIRE(pub.exitCode == 0);
  CHECK(broker.log().find("Outgoing messages are being dropped for client cad-stub") != std::string::npos);
  // mosquitto publishes its count every sys_interval (10 s by default).
  REQUIRE(waitUntil([&] { return stubStats(stub).value("broker_dropped").toInteger() > 0; }, 30s));
  const auto dropped = stubStats(stub).value("broker_dropped").toInteger();
  CHECK(dropped <= 500);
  CHECK(dropped >= 400);  // the 500 beyond what it holds, give or take the broker's accounting
  CHECK(stub.log().find("the broker dropped") != std::string::npos);
  CHECK(stub.log().find("max_queued_messages") != std::string::npos);
}
