// Scheduled calls: work nobody calls in, such as a house check while the
// owners are away. A dispatcher's schedule (dispatch.schedule_create) is in
// the log; the stub creates each occurrence when it is due as an event of
// its own (dispatch.scheduled_cfs): a CFS, and a message offering it to the
// agency's available units. An occurrence missed while the stub was down is
// created when it comes back, marked late on the CFS's timeline. Replaying the
// log gives the same schedules and calls, because the occurrences are events.
#include <QJsonObject>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "server-stub/store/read_models.h"
#include "shared/wire/clock.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace sql = mdc::sql;
namespace v1 = mdc::v1;

namespace {

/** "HH:MM" UTC of a time, for the lines a responder reads. */
std::string hhmm(int64_t ms) { return mdc::formatIsoUtc(ms).substr(11, 5); }
}  // namespace


Result<CommandOutcome> EventStore::runSchedules(int64_t nowMs, int limit) {
  static mdc::UuidV7Generator ids;
  CommandOutcome out;
  int created = 0, late = 0;
  try {
    // The agencies of the calls due are locked when first appended for: the
    // transaction then starts again with them held, and reads what is due
    // under them (write_tx.cpp).
    const Status done = writeTransaction({}, [&]() -> Status {
      out = CommandOutcome{};
      created = late = 0;
      while (created < limit) {
        const std::optional<Schedule> due = ReadModels(*this).nextDueSchedule(nowMs);
        if (!due) break;
        const bool isLate = nowMs - due->nextAtMs > kScheduleLateMs;
        QJsonObject j{{"schedule", QString::fromStdString(due->id)},
                      {"due_at_ms", qint64(due->nextAtMs)},
                      {"late", isLate},
                      {"type", QString::fromStdString(due->cfsType)},
                      {"priority", due->priority},
                      {"address", QString::fromStdString(due->address)},
                      {"notes", QString::fromStdString(due->notes)}};
        if (due->location) {
          j["lat"] = due->location->first;
          j["lon"] = due->location->second;
        }
        Row row;
        row.eventId = ids.next();
        row.agency = due->agency;
        row.kind = "dispatch.scheduled_cfs";
        row.recordedAtMs = nowMs;
        row.clockSource = "system";
        row.receivedAtMs = nowMs;
        row.actor = "schedule:" + due->id;
        row.payload = jsonText(j);
        log_->append(row);
        project(row, out.downlinks);
        ++created;
        late += isLate ? 1 : 0;
      }
      return {};
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: scheduled calls not committed: ") + e.what());
  }
  if (created > 0)
    out.summary = std::to_string(created) + " scheduled call" + (created == 1 ? "" : "s") + " created" +
                  (late > 0 ? " (" + std::to_string(late) + " late: due while the stub was down)" : "");
  return out;
}

void EventStore::projectSchedule(const Row& row, std::vector<Outgoing>& out) {
  const QJsonObject j = parseJson(row.payload);
  if (row.kind == "dispatch.schedule_create") {
    auto st = cached(
        "INSERT INTO schedules(schedule_id, agency, cfs_type, priority, address, lat, lon, notes, every_ms, from_ms, "
        "until_ms, next_at_ms, state, created_by, pos) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,'active',?,?)");
    st->bind(1, row.eventId).bind(2, row.agency).bind(3, j.value("type").toString().toStdString())
        .bind(4, j.value("priority").toInt()).bind(5, j.value("address").toString().toStdString());
    if (j.contains("lat")) st->bind(6, j.value("lat").toDouble()).bind(7, j.value("lon").toDouble());
    else st->bindNull(6).bindNull(7);
    st->bind(8, j.value("notes").toString().toStdString()).bind(9, int64_t(j.value("every_ms").toInteger()))
        .bind(10, int64_t(j.value("from_ms").toInteger())).bind(11, int64_t(j.value("until_ms").toInteger()))
        .bind(12, int64_t(j.value("from_ms").toInteger())).bind(13, row.actor.substr(row.actor.find(':') + 1))
        .bind(14, row.pos).run();
    return;
  }
  if (row.kind == "dispatch.schedule_cancel") {
    cached("UPDATE schedules SET state='cancelled' WHERE schedule_id=?")
        ->bind(1, j.value("schedule").toString().toStdString()).run();
    return;
  }
  if (row.kind != "dispatch.scheduled_cfs") return;
  // One occurrence: the CFS, its place in the schedule, and the offer.
  const std::string schedule = j.value("schedule").toString().toStdString();
  const int64_t dueAt = j.value("due_at_ms").toInteger();
  const bool late = j.value("late").toBool();
  const std::string type = j.value("type").toString().toStdString();
  const std::string address = j.value("address").toString().toStdString();
  const int64_t at = row.receivedAtMs;
  const std::string number = nextIncidentNumber(at);
  {
    auto st = cached(
        "INSERT INTO cfs(incident_number, agency, cfs_type, priority, address, lat, lon, notes, state, source, "
        "origin_event_id, created_at_ms) VALUES(?,?,?,?,?,?,?,?,'open','schedule',?,?)");
    st->bind(1, number).bind(2, row.agency).bind(3, type).bind(4, j.value("priority").toInt()).bind(5, address);
    if (j.contains("lat")) st->bind(6, j.value("lat").toDouble()).bind(7, j.value("lon").toDouble());
    else st->bindNull(6).bindNull(7);
    st->bind(8, j.value("notes").toString().toStdString()).bind(9, row.eventId).bind(10, at).run();
  }
  timeline(number, row, at, "created by schedule " + schedule + ": " + type + " due " + mdc::formatIsoUtc(dueAt));
  classifyCfs(number, row.agency, type, row, at);
  if (late)
    timeline(number, row, at,
             "created late: due " + mdc::formatIsoUtc(dueAt) + ", while the stub was down", /*late=*/true);
  cached("UPDATE schedules SET next_at_ms=next_at_ms+every_ms, occurrences=occurrences+1, late=late+?, "
         "last_incident=?, state=CASE WHEN next_at_ms+every_ms>until_ms THEN 'done' ELSE state END "
         "WHERE schedule_id=?")
      ->bind(1, int64_t(late ? 1 : 0)).bind(2, number).bind(3, schedule).run();
  // Offered to every available unit of the agency that has a device.
  std::vector<std::string> units;
  {
    auto st = cached("SELECT unit_id FROM units WHERE agency=? AND status=? AND device_id<>'' ORDER BY unit_id");
    st->bind(1, row.agency).bind(2, int64_t(v1::UNIT_STATUS_AVAILABLE));
    while (st->step()) units.push_back(st->text(0));
  }
  const std::string text = "Scheduled call " + number + ": " + type + " at " + address + " (due " + hhmm(dueAt) +
                           (late ? ", late" : "") + "). Available units: tell dispatch if you take it.";
  for (const auto& unit : units) {
    v1::Downlink dl;
    dl.mutable_message()->set_from("schedule");
    dl.mutable_message()->set_text(text);
    queueDownlink(unit, dl, row.pos, at, out);
  }
  if (!units.empty())
    timeline(number, row, at, "offered to " + std::to_string(units.size()) + " available unit" +
                                  (units.size() == 1 ? "" : "s"));
}

Status checkScheduleCreate(CommandScope& c) {
  const control::ScheduleCreate& cmd = c.req.schedule_create();
  if (cmd.address().empty()) return refuse("address: required, at most 200 characters");
  if (Status s = checkCfsFields(c, cmd.type(), cmd.has_priority() ? std::optional<int32_t>(cmd.priority()) : std::nullopt,
                                cmd.address(), cmd.notes(), cmd.has_location() ? &cmd.location() : nullptr);
      !s)
    return s;
  if (cmd.every_s() < 600 || cmd.every_s() > 366 * 86400)
    return refuse("every " + std::to_string(cmd.every_s()) + " s: out of range 10m-366d");
  if (cmd.from_ms() < c.nowMs - 60'000)
    return refuse("from " + mdc::formatIsoUtc(cmd.from_ms()) + ": in the past (now " + mdc::formatIsoUtc(c.nowMs) + ")");
  if (cmd.until_ms() < cmd.from_ms())
    return refuse("until " + mdc::formatIsoUtc(cmd.until_ms()) + ": before from " + mdc::formatIsoUtc(cmd.from_ms()));
  if ((cmd.until_ms() - cmd.from_ms()) / (cmd.every_s() * 1000) >= 10000)
    return refuse("more than 10000 occurrences from " + mdc::formatIsoUtc(cmd.from_ms()) + " until " +
                  mdc::formatIsoUtc(cmd.until_ms()) + ": a shorter span or a longer interval");
  c.payload["every_ms"] = qint64(cmd.every_s() * 1000);
  c.payload["from_ms"] = qint64(cmd.from_ms());
  c.payload["until_ms"] = qint64(cmd.until_ms());
  return {};
}

void reportScheduleCreate(CommandScope& c, CommandOutcome& out) {
  const control::ScheduleCreate& cmd = c.req.schedule_create();
  out.summary = "schedule " + c.eventId + ": " + cmd.type() + " at " + cmd.address() + " every " +
                std::to_string(cmd.every_s() / 60) + " min from " + mdc::formatIsoUtc(cmd.from_ms()) + " until " +
                mdc::formatIsoUtc(cmd.until_ms());
}

Status checkScheduleCancel(CommandScope& c) {
  const std::string& id = c.req.schedule_cancel().schedule();
  auto st = c.cached("SELECT agency, state FROM schedules WHERE schedule_id=?");
  st->bind(1, id);
  if (!st->step() || st->text(0) != c.agency())
    return refuse("schedule \"" + id + "\": no such schedule in agency " + c.agency());
  if (st->text(1) != "active") return refuse("schedule \"" + id + "\": is " + st->text(1) + " already");
  c.payload = {{"schedule", QString::fromStdString(id)}};
  c.summary = "cancelled schedule " + id;
  return {};
}

}  // namespace cad
