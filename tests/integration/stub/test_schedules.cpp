// Scheduled calls through the real processes: cadctl makes a schedule, the
// stub creates each occurrence when it is due and offers it to the available
// unit's screen, keeps the schedule across a restart, creates what it missed
// while down (its clock moved by libfaketime) marked late, and cancels it.
#include <catch2/catch.hpp>

#include <QJsonArray>
#include <QJsonObject>

#include <regex>

#include "shared/wire/clock.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"
#include "tests/support/vehicle_stack.h"

using namespace mdc;
using namespace mdc::test;
using namespace std::chrono_literals;

namespace {

QJsonObject scheduleRow(const CadStub& stub, const std::string& id) {
  for (const auto& v : jsonArray(stub.cadctl({"schedule", "list", "--json"})))
    if (v.toObject().value("schedule").toString().toStdString() == id) return v.toObject();
  return {};
}

}  // namespace

TEST_CASE("scheduled calls: each is created on time and offered to the available unit, the schedule survives a "
          "restart, what was missed while the stub was down is created late, and cancel stops it",
          "[stub][schedule]") {
  VehicleStack v("MDC-0501", "E51", "FD1");
  CadStub& stub = v.stub;
  AgentProcess& agent = v.agent;
  v.startAgentOnline();
  REQUIRE(agent.mdcctl({"status", "available"}).exitCode == 0);
  REQUIRE(waitUntil([&] { return agent.outboxDepth() == 0; }, 20s));

  // The agency's own call type, mapped to APCO's welfare check.
  auto t = stub.cadctl({"--agency", "FD1", "--as", "ops.lee", "types", "add", "HOUSE_CHECK", "--label", "House check",
                        "--apco", "WELFARE"});
  INFO(t.output);
  REQUIRE(t.exitCode == 0);
  const int64_t now = SystemClock::instance().nowMs();
  auto r = stub.cadctl({"--agency", "FD1", "--as", "ops.lee", "schedule", "create", "--type", "HOUSE_CHECK",
                        "--address", "12 Elm St", "--every", "10m", "--from", formatIsoUtc(now + 3000), "--until",
                        formatIsoUtc(now + 2 * 3'600'000), "--notes", "owners away until the 6th"});
  INFO(r.output);
  REQUIRE(r.exitCode == 0);
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex("^schedule ([0-9a-f-]{36}): HOUSE_CHECK at 12 Elm St every 10 min")));
  const std::string id = m[1];

  // On time: the call is created and the available unit's screen is offered it.
  REQUIRE(waitUntil([&] { return agent.mdcctl({"messages"}).output.find("Scheduled call") != std::string::npos; }, 20s));
  const std::string msgs = agent.mdcctl({"messages"}).output;
  INFO(msgs);
  CHECK(std::regex_search(msgs, std::regex("Scheduled call 20[0-9]{2}-[0-9]{6}: HOUSE_CHECK at 12 Elm St \\(due")));
  QJsonObject row = scheduleRow(stub, id);
  CHECK(row.value("occurrences").toInt() == 1);
  CHECK(row.value("late").toInt() == 0);
  CHECK(row.value("state").toString() == "active");
  CHECK(row.value("created_by").toString() == "ops.lee");
  const std::string first = row.value("last_incident").toString().toStdString();
  auto show = stub.cadctl({"--agency", "FD1", "cfs", "show", first});
  INFO(show.output);
  CHECK_THAT(show.output, Catch::Contains("created by schedule " + id + ": HOUSE_CHECK due"));
  CHECK_THAT(show.output, Catch::Contains("offered to 1 available unit"));

  // Down for 25 minutes (the restarted stub's clock moved by libfaketime):
  // the two occurrences it missed are created when it is back, marked late.
  stub.stop();
  stub.env = {{"LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"},
              {"FAKETIME", "+25m"},
              {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
              {"ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:verify_asan_link_order=0"}};
  stub.start();
  REQUIRE(stub.waitReady());
  REQUIRE(waitUntil([&] { return scheduleRow(stub, id).value("occurrences").toInt() == 3; }, 20s));
  row = scheduleRow(stub, id);
  CHECK(row.value("late").toInt() == 2);
  show = stub.cadctl({"--agency", "FD1", "cfs", "show", row.value("last_incident").toString().toStdString()});
  INFO(show.output);
  CHECK_THAT(show.output, Catch::Contains("created late: due "));
  CHECK_THAT(show.output, Catch::Contains(", while the stub was down"));
  CHECK_THAT(stub.log(), Catch::Contains("2 scheduled calls created (2 late: due while the stub was down)"));

  // Cancel: no more occurrences; the list says so.
  r = stub.cadctl({"--agency", "FD1", "--as", "ops.lee", "schedule", "cancel", id});
  INFO(r.output);
  CHECK(r.exitCode == 0);
  CHECK(scheduleRow(stub, id).value("state").toString() == "cancelled");
  auto list = stub.cadctl({"schedule", "list"});
  CHECK(std::regex_search(list.output, std::regex(id + " +FD1 +HOUSE_CHECK +10m +cancelled +- ")));
  CHECK(stub.cadctl({"verify"}).exitCode == 0);

  // Bad input is named and changes nothing.
  const int64_t events = stub.eventCount();
  auto bad = stub.cadctl({"--agency", "FD1", "schedule", "create", "--type", "HOUSE_CHECK", "--address", "1 Oak St",
                          "--every", "5x", "--until", formatIsoUtc(now + 3'600'000)});
  CHECK(bad.exitCode == 2);
  CHECK_THAT(bad.output, Catch::Contains("--every \"5x\": a duration such as 12h or 7d"));
  bad = stub.cadctl({"--agency", "FD1", "schedule", "create", "--type", "HOUSE_CHECK", "--address", "1 Oak St",
                     "--every", "1d"});
  CHECK(bad.exitCode == 2);
  CHECK_THAT(bad.output, Catch::Contains("--until is required"));
  bad = stub.cadctl({"--agency", "FD1", "schedule", "create", "--type", "HOUSE_CHECK", "--address", "1 Oak St",
                     "--every", "5m", "--until", formatIsoUtc(now + 3'600'000)});
  CHECK(bad.exitCode == 1);
  CHECK_THAT(bad.output, Catch::Contains("every 300 s: out of range 10m-366d"));
  CHECK(stub.cadctl({"--agency", "FD1", "schedule", "cancel", id}).exitCode == 1);
  CHECK(stub.eventCount() == events);
}
