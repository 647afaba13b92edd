// Dispatcher and operator commands: each is checked against the read models
// by the checks of its kind (event_kinds.cpp), then appended as one event and
// projected, in one transaction.
#include <array>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace sql = mdc::sql;
using Case = control::ControlRequest::CommandCase;

namespace {

/** The kind of event a command case asks for; nullptr for a case that is
 *  not a command. */
const EventKind* eventKindOfCommand(Case command, const std::vector<EventKind>& kinds) {
  static const auto table = [&kinds] {
    std::array<const EventKind*, 32> t{};
    for (const EventKind& k : kinds)
      if (k.command != control::ControlRequest::COMMAND_NOT_SET) t.at(size_t(k.command)) = &k;  // past the table: throws at once
    return t;
  }();
  const size_t i = size_t(command);
  return i < table.size() ? table[i] : nullptr;
}

}  // namespace

std::string commandKind(const control::ControlRequest& req) {
  const auto* field = control::ControlRequest::descriptor()->FindFieldByNumber(int(req.command_case()));
  return field ? field->name() : std::string();
}

std::optional<std::string> CommandScope::unitAgency(const std::string& unit) {
  auto st = cached("SELECT agency FROM units WHERE unit_id=?");
  st->bind(1, unit);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

Status CommandScope::requireUnit(const std::string& unit) {
  auto a = unitAgency(unit);
  if (!a || *a != agency()) return refuse("unit \"" + unit + "\": no such unit in agency " + agency());
  return {};
}

Status CommandScope::requireCfs(const std::string& incident, bool mustBeOpen) {
  auto st = cached("SELECT agency, state FROM cfs WHERE incident_number=?");
  st->bind(1, incident);
  if (!st->step() || st->text(0) != agency()) return refuse("cfs \"" + incident + "\": no such CFS in agency " + agency());
  if (mustBeOpen && st->text(1) != "open") return refuse("cfs \"" + incident + "\": is closed");
  return {};
}

Result<CommandOutcome> EventStore::execute(const control::ControlRequest& req, int64_t nowMs) {
  static mdc::UuidV7Generator ids;
  if (req.agency().empty() || req.agency().size() > 32) return refuse("agency: required, 1-32 characters");
  if (req.actor().empty() || req.actor().size() > 64) return refuse("actor: the dispatcher's name is required, 1-64 characters");
  const EventKind* handler = eventKindOfCommand(req.command_case(), eventKinds());
  if (!handler) return refuse("unknown command \"" + commandKind(req) + "\"");
  CommandOutcome out;
  // The command's agency is locked before anything of it is read; a call
  // made or imported draws an incident number (write_tx.cpp).
  const EventLog::LockSet locks{{req.agency()}, handler->drawsIncident};
  try {
    const Status done = writeTransaction(locks, [&]() -> Status {
      out = CommandOutcome{};
      CommandScope c{*this, req, nowMs, {}, {}, {}, {}};
      if (Status s = handler->check(c); !s) return s.error();
      Row row;
      row.eventId = c.eventId = ids.next();
      row.unitId = c.unit;
      row.agency = req.agency();
      row.kind = handler->kind;
      row.recordedAtMs = nowMs;
      row.clockSource = "system";
      row.receivedAtMs = nowMs;
      row.actor = "dispatcher:" + req.actor();
      row.payload = jsonText(c.payload);
      log_->append(row);
      project(row, out.downlinks);
      out.summary = c.summary;
      if (handler->committed) handler->committed(c, out);
      return {};
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: command not committed: ") + e.what());
  }
  return out;
}

}  // namespace cad
