// Several writers on one store (server-stub/write_tx.cpp): each agency's
// events in a chain of their own, two stub connections committing events of
// the same units at once on a real PostgreSQL, incident numbers drawn by both,
// and a reader of the log that follows the transaction-id horizon.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "server-stub/store/event_store.h"
#include "server-stub/store/postgres.h"
#include "tests/support/pg_server.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = kShiftStartMs;

std::unique_ptr<EventStore> open(const std::string& target) {
  auto s = EventStore::open(target);
  INFO(target << ": " << (s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

void addDevice(EventStore& s, const Device& d) {
  ControlRequest c;
  c.set_agency(d.agency);
  c.mutable_device_add()->set_device(d.id);
  c.mutable_device_add()->set_unit(d.unit);
  c.set_actor("fleet");
  auto r = s.execute(c, T0 - 60'000);
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
}

ControlRequest createCfs(const std::string& agency) {
  ControlRequest c;
  c.set_agency(agency);
  c.set_actor("alice");
  c.mutable_create_cfs()->set_type("FSTRU");
  c.mutable_create_cfs()->set_priority(2);
  c.mutable_create_cfs()->set_address("12 Main St");
  return c;
}

std::vector<Device> fleet() {
  std::vector<Device> out;
  uint32_t index = 1;
  for (const char* agency : {"FD1", "PD1"})
    for (int i = 1; i <= 4; ++i) {
      const std::string unit = std::string(agency[0] == 'F' ? "E" : "P") + std::to_string(i);
      out.push_back(Device{"MDC-" + unit, unit, agency, index++});
    }
  return out;
}

int64_t count(EventStore& s, const std::string& sql) { return s.db().queryInt(sql); }

}  // namespace

TEST_CASE("each agency's events form a chain of their own, and an event taken out is found in its chain",
          "[store][writers][sqlite]") {
  TempDir dir;
  const std::string db = dir.file("cad.db");
  {
    auto s = open(db);
    auto devices = fleet();
    for (const auto& d : devices) addDevice(*s, d);
    for (uint64_t seq = 1; seq <= 5; ++seq)
      for (const auto& d : devices) {
        auto r = s->ingest({incoming(avlEnv(d, seq, T0 + int64_t(seq) * 1000, 40.7, -74.0), T0 + int64_t(seq) * 1000)});
        REQUIRE(r);
      }
    CHECK_FALSE(s->log().verify());
    CHECK(s->log().stats().chains == 2);
    CHECK(count(*s, "SELECT COUNT(*) FROM events WHERE chain='FD1'") == 4 + 20);
    CHECK(count(*s, "SELECT COUNT(*) FROM events WHERE chain<>agency") == 0);
    // Positions stay one after another on SQLite (one writer).
    CHECK(count(*s, "SELECT MAX(pos) - COUNT(*) FROM events") == 0);
  }
  // Taken out behind the triggers' back: the next event of its agency no
  // longer links, and the message names the chain.
  {
    mdc::sql::SqliteDb raw(db, false, false);
    raw.exec("DROP TRIGGER events_append_only_delete");
    raw.exec("DELETE FROM events WHERE pos = (SELECT MIN(pos) FROM events WHERE agency='PD1' AND kind='avl')");
  }
  auto s = open(db);
  auto broken = s->log().verify();
  REQUIRE(broken);
  CHECK_THAT(*broken, Catch::Contains("previous event of its chain (agency PD1)"));
}

TEST_CASE("two writers committing events of the same units at once leave the board, the incident numbers and the "
          "chains as one writer would",
          "[store][writers][postgresql]") {
  auto pg = mdc::test::PgServer::ofTestGroup();
  const std::string uri = pg.freshDatabase();
  auto setup = open(uri);
  const auto devices = fleet();
  for (const auto& d : devices) addDevice(*setup, d);

  // Every device's shift: statuses, positions and self-initiated calls, each
  // handed to one writer or the other at random, some to both (a message
  // redelivered to the second worker after the first committed it).
  struct Sent {
    Incoming in;
    int writer;  // 0, 1, or 2 for both
  };
  std::mt19937 rng(12);
  std::vector<Sent> sent;
  std::map<std::string, std::pair<int64_t, int>> lastStatus;  // unit -> (recorded at, status)
  std::map<std::string, int64_t> lastFix;                     // unit -> recorded at
  int selfInitiated = 0;
  const v1::UnitStatus statuses[] = {v1::UNIT_STATUS_EN_ROUTE, v1::UNIT_STATUS_ON_SCENE, v1::UNIT_STATUS_STAGED,
                                     v1::UNIT_STATUS_AT_STATION};
  for (const auto& d : devices)
    for (uint64_t seq = 1; seq <= 60; ++seq) {
      const int64_t at = T0 + int64_t(seq) * 2000 + d.index;
      v1::Envelope env;
      if (seq % 20 == 7) {
        env = cfsEnv(d, seq, at, "TRAFFIC");
        ++selfInitiated;
      } else if (seq % 3 == 0) {
        const v1::UnitStatus st = statuses[rng() % 4];
        env = statusEnv(d, seq, at, st);
        lastStatus[d.unit] = {at, int(st)};
      } else {
        env = avlEnv(d, seq, at, 40.7 + double(seq) / 1000, -74.0);
        lastFix[d.unit] = at;
      }
      const int pick = int(rng() % 10);
      sent.push_back(Sent{incoming(env, at + 100), pick == 0 ? 2 : pick % 2});
    }
  std::shuffle(sent.begin(), sent.end(), rng);  // out of order, across the two writers

  auto a = open(uri);
  auto b = open(uri);
  std::atomic<int> failures{0}, callsMade{0};
  std::vector<std::string> errors[2];
  auto run = [&](EventStore& store, int writer) {
    std::vector<Incoming> batch;
    int n = 0;
    for (const auto& s : sent) {
      if (s.writer != writer && s.writer != 2) continue;
      batch.push_back(s.in);
      if (batch.size() == 12) {
        if (auto r = store.ingest(batch); !r) {
          ++failures;
          errors[writer].push_back(r.error().message);
        }
        batch.clear();
        // Dispatchers of both agencies make calls on both writers meanwhile.
        if (++n % 5 == 0) {
          if (auto r = store.execute(createCfs(n % 10 == 0 ? "FD1" : "PD1"), T0 + 500'000); r) ++callsMade;
          else errors[writer].push_back(r.error().message);
        }
      }
    }
    if (!batch.empty() && !store.ingest(batch)) ++failures;
  };
  std::thread ta(run, std::ref(*a), 0), tb(run, std::ref(*b), 1);
  ta.join();
  tb.join();
  INFO((errors[0].empty() ? "" : errors[0][0]) << (errors[1].empty() ? "" : errors[1][0]));
  REQUIRE(failures == 0);
  REQUIRE(errors[0].empty());
  REQUIRE(errors[1].empty());

  // Every event once, whichever writer (or both) had it.
  std::set<std::string> distinct;
  for (const auto& s : sent) distinct.insert(s.in.payload);
  CHECK(count(*a, "SELECT COUNT(*) FROM events WHERE device_id IS NOT NULL") == int64_t(distinct.size()));

  // Incident numbers: unique and gap-free, 1..N, whoever drew them.
  const int64_t calls = selfInitiated + callsMade;
  CHECK(count(*a, "SELECT COUNT(*) FROM cfs") == calls);
  CHECK(count(*a, "SELECT COUNT(DISTINCT incident_number) FROM cfs") == calls);
  CHECK(a->db().queryText("SELECT MIN(incident_number) FROM cfs") == "2026-000001");
  char last[32];
  std::snprintf(last, sizeof last, "2026-%06lld", static_cast<long long>(calls));
  CHECK(a->db().queryText("SELECT MAX(incident_number) FROM cfs") == last);

  // The board as the events say, not as they happened to arrive: each
  // unit's newest status and fix.
  for (const auto& d : devices) {
    INFO(d.unit);
    auto st = a->db().prepare("SELECT status, status_at_ms, pos_at_ms FROM units WHERE unit_id=?");
    st.bind(1, d.unit);
    REQUIRE(st.step());
    CHECK(st.i64(0) == lastStatus[d.unit].second);
    CHECK(st.i64(1) == lastStatus[d.unit].first);
    CHECK(st.i64(2) == lastFix[d.unit]);
  }

  // The chains, one per agency, verify; the log replays to the same read
  // models in SQLite and in PostgreSQL.
  int64_t checked = 0;
  CHECK_FALSE(a->log().verify(&checked));
  CHECK(checked == count(*a, "SELECT COUNT(*) FROM events"));
  CHECK(a->log().stats().chains == 2);
  const std::string digest = a->log().digest();
  TempDir dir;
  REQUIRE(a->replayInto(dir.file("replayed.db")));
  CHECK(open(dir.file("replayed.db"))->log().digest() == digest);
  const std::string again = pg.freshDatabase();
  REQUIRE(a->replayInto(again));
  CHECK(open(again)->log().digest() == digest);
}

TEST_CASE("a reader following the log never skips an event committed late below one it has read",
          "[store][writers][postgresql]") {
  auto pg = mdc::test::PgServer::ofTestGroup();
  const std::string uri = pg.freshDatabase();
  auto s = open(uri);
  const Device d{"MDC-E1", "E1", "FD1", 1};
  addDevice(*s, d);
  LogCursor cursor;
  std::vector<int64_t> seen;
  auto follow = [&] {
    cursor = s->log().readLog(cursor, "", 1000, [&](const LogEntry& e) { seen.push_back(e.cursor.pos); });
  };
  // The horizon is the server's: a transaction of another database (another
  // test) may hold it back a moment longer.
  auto followUntil = [&](size_t n) {
    for (int i = 0; i < 200 && seen.size() < n; ++i) {
      follow();
      if (seen.size() < n) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  followUntil(1);
  REQUIRE(seen.size() == 1);  // the registration

  // Another writer draws a position and is slow to commit; meanwhile this
  // store commits an event above it.
  mdc::sql::PgDb late(uri);
  late.begin();
  const int64_t latePos = late.queryInt("SELECT nextval('events_pos_seq')");
  late.exec("SELECT pg_current_xact_id()");
  REQUIRE(s->ingest({incoming(statusEnv(d, 1, T0, v1::UNIT_STATUS_EN_ROUTE), T0 + 100)}));
  const int64_t committedPos = s->log().stats().lastPos;
  REQUIRE(committedPos > latePos);

  // A reader by position would take the committed one now, and never see
  // the late one; this one waits while the other transaction runs.
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM events WHERE pos > " + std::to_string(seen.back())) == 1);
  follow();
  CHECK(seen.size() == 1);

  late.prepare(
          "INSERT INTO events(pos, event_id, device_id, device_seq, unit_id, agency, kind, recorded_at_ms, "
          "clock_source, received_at_ms, actor, payload, prev_hash, hash, chain) "
          "VALUES(?, '0190a000-0000-7000-8000-00000000late', NULL, NULL, '', 'LATE', 'dispatch.message', ?, "
          "'system', ?, 'dispatcher:bob', ?, ?, ?, 'LATE')")
      .bind(1, latePos)
      .bind(2, T0)
      .bind(3, T0)
      .bindBlob(4, "{}")
      .bindBlob(5, std::string(32, '\0'))
      .bindBlob(6, std::string(32, '\1'))
      .run();
  late.commit();
  followUntil(3);
  REQUIRE(seen.size() == 3);
  CHECK(seen[1] == latePos);  // its transaction is the older one
  CHECK(seen[2] == committedPos);
  follow();
  CHECK(seen.size() == 3);  // nothing twice
  CHECK(LogCursor::parse(cursor.text())->pos == committedPos);

  // cadctl follows the same way, from a cursor it printed.
  TempDir dir;
  auto r = mdc::test::run({mdc::test::program("server-stub/cadctl"), "--db", uri, "events", "--after", "0:0"}, dir);
  INFO(r.output);
  CHECK(r.exitCode == 0);
  const auto latePrinted = r.output.find("dispatcher:bob");
  const auto statusPrinted = r.output.find("EN_ROUTE");
  CHECK(latePrinted != std::string::npos);
  CHECK(statusPrinted != std::string::npos);
  CHECK(latePrinted < statusPrinted);
  CHECK_THAT(r.output, Catch::Contains("next: --after " + cursor.text()));
  r = mdc::test::run({mdc::test::program("server-stub/cadctl"), "--db", uri, "events", "--after", cursor.text()}, dir);
  CHECK(r.exitCode == 0);
  CHECK(r.output.find("EN_ROUTE") == std::string::npos);
  r = mdc::test::run({mdc::test::program("server-stub/cadctl"), "--db", uri, "events", "--after", "3:x"}, dir);
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.output, Catch::Contains("--after \"3:x\": expected a cursor TX:POS"));
}

TEST_CASE("a log cursor is TX:POS or a bare position, anything else is refused", "[store][writers]") {
  CHECK(LogCursor::parse("12:345")->tx == 12);
  CHECK(LogCursor::parse("12:345")->pos == 345);
  CHECK(LogCursor::parse("345")->tx == 0);
  CHECK(LogCursor::parse("345")->pos == 345);
  for (const char* bad : {"", ":", "1:", ":2", "-1", "1:-2", "a:1", "1:2:3", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(LogCursor::parse(bad));
  }
}
