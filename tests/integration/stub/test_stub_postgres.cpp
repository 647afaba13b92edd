// The stub on a real PostgreSQL store through real processes: mosquitto,
// cad-stub --db postgresql://, mdc-agent, cadctl. The server is the test
// group's (scripts/pg.sh, the pg:up fixture).
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/mosquitto.h"
#include "tests/support/pg_server.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc::test;
using namespace std::chrono_literals;

TEST_CASE("a device's outage backlog reaches a PostgreSQL store once each, dispatch reaches the device, and "
          "cadctl migrates the store to SQLite and back with the same digest",
          "[stub][postgresql]") {
  auto pg = PgServer::ofTestGroup();
  MosquittoOptions mo;
  mo.maxQueuedMessages = 100000;
  VehicleStack v("MDC-PG1", "E41", "FD1", mo, {}, {.store = pg.freshDatabase()});
  TempDir& dir = v.dir;
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  prefillOutbox(agent.storePath(), "MDC-PG1", "E41", "FD1", 1000, 3000);
  agent.start();

  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 120s));
  int statuses = 0, reports = 0;
  CHECK(eventsOfKind(stub, "status", statuses).size() == 1000);
  CHECK(statuses == 1000);
  CHECK(eventsOfKind(stub, "avl", reports).size() == 3000);
  CHECK(reports == 3000);
  REQUIRE(stub.cadctl({"--agency", "FD1", "--as", "disp", "message", "E41", "copy that"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.state().downlink_cursor() == 1; }, 20s));
  const auto board = stub.cadctl({"board", "--json"});
  CHECK(board.output.find("\"E41\"") != std::string::npos);
  const auto verified = stub.cadctl({"verify"});
  INFO(verified.output);
  CHECK(verified.exitCode == 0);
  agent.stop();
  stub.stop();

  // To a SQLite file and from there to another PostgreSQL database: each copy
  // verified and equal, and the three digests one.
  const std::string digest = stub.cadctl({"digest"}).output;
  const long long events = stub.eventCount();  // with the device's presences, as many as it made
  REQUIRE(digest.size() == 65);
  auto toFile = run({program("server-stub/cadctl"), "migrate", "--from", stub.dbPath(), "--to", dir.file("copy.db")}, dir);
  INFO(toFile.output);
  REQUIRE(toFile.exitCode == 0);
  CHECK(events >= 1 + 1000 + 3000 + 1 + 1);  // registration, statuses, reports, the message, a presence
  CHECK(toFile.output.find("migrated " + std::to_string(events) + " events") != std::string::npos);
  CHECK(toFile.output.find("chain intact (" + std::to_string(events) + " events") != std::string::npos);
  CHECK(toFile.output.find("digest " + digest.substr(0, 64) + " equal") != std::string::npos);
  const std::string again = pg.freshDatabase();
  auto back = run({program("server-stub/cadctl"), "migrate", "--from", dir.file("copy.db"), "--to", again}, dir);
  INFO(back.output);
  REQUIRE(back.exitCode == 0);
  CHECK(run({program("server-stub/cadctl"), "--db", again, "digest"}, dir).output == digest);
  // Never into a store that holds events.
  auto refused = run({program("server-stub/cadctl"), "migrate", "--from", dir.file("copy.db"), "--to", again}, dir);
  CHECK(refused.exitCode == 1);
  CHECK(refused.output.find("already holds") != std::string::npos);
}

namespace {

/** A primary and a synchronous standby of the test's own (it kills one):
 *  scripts/pg.sh up --standby in dir, down at the end. */
class PgPair {
 public:
  explicit PgPair(const TempDir& dir) : dir_(dir) {
    auto up = run({"env", "MDC_BUILD_DIR=" + env("MDC_BINARY_DIR"), "bash", script(), "up", "--standby", "--dir",
                   dir_.file("pg")},
                  dir_, std::chrono::seconds(120));
    if (up.exitCode != 0) throw std::runtime_error("pg.sh up --standby failed:\n" + up.output);
  }
  ~PgPair() { run({"bash", script(), "down", "--dir", dir_.file("pg")}, dir_); }
  PgServer server() const { return PgServer(dir_.file("pg")); }
  /** SIGKILL of the primary's postmaster and every server process under it at once: a machine lost. */
  void killPrimary() {
    std::ifstream pidFile(dir_.file("pg/primary/postmaster.pid"));
    pid_t postmaster = 0;
    pidFile >> postmaster;
    REQUIRE(postmaster > 0);
    auto children = run({"pgrep", "-P", std::to_string(postmaster)}, dir_);
    std::vector<pid_t> pids{postmaster};
    std::istringstream in(children.output);
    for (pid_t p; in >> p;) pids.push_back(p);
    for (pid_t p : pids) ::kill(p, SIGKILL);
  }
  CommandResult promote() { return run({"bash", script(), "promote", "--dir", dir_.file("pg")}, dir_); }

 private:
  static std::string script() { return env("MDC_SOURCE_DIR") + "/scripts/pg.sh"; }
  const TempDir& dir_;
};

}  // namespace

TEST_CASE("the PostgreSQL primary killed mid-drain and the standby promoted: every event a device had acked is "
          "there, none twice, the chain holds",
          "[stub][postgresql][fault]") {
  TempDir pgDir;  // the stack's store: the servers come before it
  PgPair pair(pgDir);
  const std::string uri = pair.server().stubUri();
  REQUIRE(uri.find(",127.0.0.1:") != std::string::npos);  // both servers, the writable one chosen
  MosquittoOptions mo;
  mo.maxQueuedMessages = 100000;
  VehicleStack v("MDC-PG2", "E42", "FD1", mo, {}, {.store = uri});
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  const int kStatuses = 6000;
  prefillOutbox(agent.storePath(), "MDC-PG2", "E42", "FD1", kStatuses, 0);
  agent.start();

  // Mid-drain: some acked (each ack came after the standby had the commit).
  REQUIRE(waitUntil([&] { return agent.outboxDepth() < kStatuses - 1000; }, 60s));
  const long long ackedBefore = kStatuses - agent.outboxDepth();
  pair.killPrimary();
  auto promoted = pair.promote();
  INFO(promoted.output);
  REQUIRE(promoted.exitCode == 0);

  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 180s));
  int statuses = 0;
  const auto seen = eventsOfKind(stub, "status", statuses);
  INFO("acked before the kill: " << ackedBefore);
  CHECK(seen.size() == size_t(kStatuses));  // every one, those acked before the kill among them
  CHECK(statuses == kStatuses);             // none twice
  const auto verified = stub.cadctl({"verify"});
  INFO(verified.output);
  CHECK(verified.exitCode == 0);
  CHECK(stub.log().find("postgresql: connected again, to 127.0.0.1:" + std::to_string(pair.server().standbyPort())) !=
        std::string::npos);
}
