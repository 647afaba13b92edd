// The stub on a real PostgreSQL store through real processes: mosquitto,
// cad-stub --db postgresql://, mdc-agent, cadctl. The server is the test
// group's (scripts/pg.sh, the pg:up fixture).
#include <catch2/catch.hpp>

#include <chrono>

#include "tests/support/mosquitto.h"
#include "tests/support/pg_server.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"

using namespace mdc::test;
using namespace std::chrono_literals;

TEST_CASE("a device's outage backlog reaches a PostgreSQL store once each, dispatch reaches the device, and "
          "cadctl migrates the store to SQLite and back with the same digest",
          "[stub][postgresql]") {
  auto pg = PgServer::ofTestGroup();
  TempDir dir;
  MosquittoOptions mo;
  mo.maxQueuedMessages = 100000;
  Mosquitto broker(dir, mo);
  CadStub stub(dir, broker.uri());
  stub.setStore(pg.freshDatabase());
  stub.start();
  REQUIRE(stub.waitReady());
  stub.addDevice("MDC-PG1", "E41", "FD1");
  AgentProcess agent(dir, "MDC-PG1", "E41", "FD1", broker.uri());
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
