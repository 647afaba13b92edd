// Scheduled calls in the event store: each occurrence created when due as its
// own event, late ones marked, the offer to available units, cancel and the
// end of a schedule, and a replay that gives the same schedules and calls.
#include <catch2/catch.hpp>

#include "server-stub/store/event_store.h"
#include "server-stub/store/read_models.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/stub/stub_wire.h"

using namespace cad;
using cad::control::ControlRequest;
using namespace cad::test;
using mdc::test::TempDir;

namespace {

constexpr int64_t T0 = kShiftStartMs;
constexpr int64_t kMin = 60'000, kHour = 60 * kMin, kDay = 24 * kHour;
const Device kE12{"MDC-E12", "E12", "FD1", 1};
const Device kE14{"MDC-E14", "E14", "FD1", 2};

std::unique_ptr<EventStore> openStore(const TempDir& dir, const std::string& name = "cad.db") {
  auto s = EventStore::open(mdc::test::storeTarget(dir, name));
  REQUIRE(s);
  return std::move(*s);
}

Result<CommandOutcome> tryRun(EventStore& s, ControlRequest c, int64_t at) {
  if (c.agency().empty()) c.set_agency("FD1");
  c.set_actor("ops.lee");
  return s.execute(c, at);
}

CommandOutcome run(EventStore& s, ControlRequest c, int64_t at) {
  auto r = tryRun(s, c, at);
  INFO(commandKind(c) << ": " << (r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}

ControlRequest houseCheck(int64_t from, int64_t until, int64_t everyS = 86400) {
  ControlRequest c;
  c.mutable_schedule_create()->set_type("WELFARE");
  c.mutable_schedule_create()->set_priority(4);
  c.mutable_schedule_create()->set_address("12 Elm St");
  c.mutable_schedule_create()->set_notes("owners away; key with neighbour at 14");
  c.mutable_schedule_create()->mutable_location()->set_lat(40.75);
  c.mutable_schedule_create()->mutable_location()->set_lon(-73.99);
  c.mutable_schedule_create()->set_every_s(everyS);
  c.mutable_schedule_create()->set_from_ms(from);
  c.mutable_schedule_create()->set_until_ms(until);
  return c;
}

void addDevice(EventStore& s, const Device& d) {
  ControlRequest c;
  c.mutable_device_add()->set_device(d.id);
  c.mutable_device_add()->set_unit(d.unit);
  run(s, c, T0 - kHour);
}

}  // namespace

TEST_CASE("scheduled calls: each occurrence is created when due and offered to available units, a missed one is "
          "created late and marked, cancel stops it, and a replay gives the same") {
  TempDir dir;
  auto s = openStore(dir);
  addDevice(*s, kE12);
  addDevice(*s, kE14);
  REQUIRE(s->ingest({incoming(statusEnv(kE12, 1, T0 - 30 * kMin, v1::UNIT_STATUS_AVAILABLE), T0 - 30 * kMin)}));
  REQUIRE(s->ingest({incoming(statusEnv(kE14, 1, T0 - 30 * kMin, v1::UNIT_STATUS_BUSY), T0 - 30 * kMin)}));

  auto created = run(*s, houseCheck(T0 + kHour, T0 + kHour + 3 * kDay), T0);
  REQUIRE(ReadModels(*s).schedules("FD1").size() == 1);
  const Schedule sched = ReadModels(*s).schedules("FD1")[0];
  CHECK(created.summary.find("schedule " + sched.id + ": WELFARE at 12 Elm St every 1440 min") == 0);
  CHECK(sched.state == "active");
  CHECK(sched.nextAtMs == T0 + kHour);
  CHECK(sched.createdBy == "ops.lee");

  // Not due yet: nothing.
  auto none = s->runSchedules(T0 + kHour - 1);
  REQUIRE(none);
  CHECK(none->summary.empty());
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM cfs") == 0);

  // Due: a CFS, offered to E12 (available) and not to E14 (busy).
  auto first = s->runSchedules(T0 + kHour + 2000);
  REQUIRE(first);
  CHECK(first->summary == "1 scheduled call created");
  REQUIRE(first->downlinks.size() == 1);
  CHECK(first->downlinks[0].deviceId == "MDC-E12");
  CHECK(first->downlinks[0].downlink.seq() > 0);  // kept and sent again until the device holds it
  CHECK(first->downlinks[0].downlink.message().text().find("Scheduled call 2026-000001: WELFARE at 12 Elm St") == 0);
  auto st = s->db().prepare("SELECT source, cfs_type, priority, address, notes FROM cfs WHERE incident_number='2026-000001'");
  REQUIRE(st.step());
  CHECK(st.text(0) == "schedule");
  CHECK(st.text(1) == "WELFARE");
  CHECK(st.i64(2) == 4);
  CHECK(st.text(4) == "owners away; key with neighbour at 14");
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM cfs_timeline WHERE late=1") == 0);
  CHECK(ReadModels(*s).schedules("FD1")[0].nextAtMs == T0 + kHour + kDay);
  CHECK(ReadModels(*s).schedules("FD1")[0].occurrences == 1);

  // The stub down for two days: both missed occurrences are created when it
  // is back, late, each with its due time on the timeline.
  auto back = s->runSchedules(T0 + kHour + 2 * kDay + 5 * kMin);
  REQUIRE(back);
  CHECK(back->summary == "2 scheduled calls created (2 late: due while the stub was down)");
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM cfs WHERE source='schedule'") == 3);
  CHECK(s->db().queryInt("SELECT COUNT(*) FROM cfs_timeline WHERE late=1 AND text LIKE 'created late: due %'") == 2);
  CHECK(ReadModels(*s).schedules("FD1")[0].late == 2);
  CHECK(ReadModels(*s).schedules("FD1")[0].lastIncident == "2026-000003");

  // The last occurrence, then the schedule is done.
  REQUIRE(s->runSchedules(T0 + kHour + 3 * kDay + 1000));
  CHECK(ReadModels(*s).schedules("FD1")[0].state == "done");
  CHECK(ReadModels(*s).schedules("FD1")[0].occurrences == 4);
  CHECK(s->runSchedules(T0 + 30 * kDay)->summary.empty());

  // Cancel: no more occurrences; cancelling twice or another agency's is refused.
  run(*s, houseCheck(T0 + 10 * kDay, T0 + 20 * kDay), T0 + 5 * kDay);
  const std::string second = ReadModels(*s).schedules("FD1")[0].id;
  ControlRequest cancel;
  cancel.mutable_schedule_cancel()->set_schedule(second);
  ControlRequest other = cancel;
  other.set_agency("PD1");
  auto refused = tryRun(*s, other, T0 + 5 * kDay);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "schedule \"" + second + "\": no such schedule in agency PD1");
  run(*s, cancel, T0 + 5 * kDay);
  CHECK(ReadModels(*s).schedules("FD1")[0].state == "cancelled");
  refused = tryRun(*s, cancel, T0 + 5 * kDay);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "schedule \"" + second + "\": is cancelled already");
  CHECK(s->runSchedules(T0 + 15 * kDay)->summary.empty());

  // Replayed: the same schedules and calls, byte for byte.
  REQUIRE(s->replayInto(mdc::test::storeTarget(dir, "replay.db")));
  auto replayed = EventStore::open(mdc::test::storeTarget(dir, "replay.db"), true);
  REQUIRE(replayed);
  CHECK((*replayed)->log().digest() == s->log().digest());
}

TEST_CASE("scheduled calls: a bad schedule is refused with the value named and changes nothing") {
  TempDir dir;
  auto s = openStore(dir);
  const std::string digest = s->log().digest();
  struct Case {
    ControlRequest cmd;
    std::string error;
  };
  ControlRequest noAddress = houseCheck(T0, T0 + kDay);
  noAddress.mutable_schedule_create()->set_address("");
  ControlRequest badPriority = houseCheck(T0, T0 + kDay);
  badPriority.mutable_schedule_create()->set_priority(0);
  ControlRequest badLat = houseCheck(T0, T0 + kDay);
  badLat.mutable_schedule_create()->mutable_location()->set_lat(91.0);
  badLat.mutable_schedule_create()->mutable_location()->set_lon(0.0);
  for (const auto& c : std::vector<Case>{
           {houseCheck(T0, T0 + kDay, 60), "every 60 s: out of range 10m-366d"},
           {houseCheck(T0 - kHour, T0 + kDay), "from 2026-"},
           {houseCheck(T0 + kDay, T0), "until "},
           {houseCheck(T0, T0 + 400 * kDay, 600), "more than 10000 occurrences"},
           {noAddress, "address: required"},
           {badPriority, "priority 0: out of range 1-9"},
           {badLat, "lat 91.000000: out of range -90..90"},
       }) {
    auto r = tryRun(*s, c.cmd, T0);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(c.error) == 0);
  }
  CHECK(s->log().digest() == digest);
  CHECK(s->log().stats().events == 0);
}
