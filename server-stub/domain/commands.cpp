// Dispatcher and operator commands: each is checked against the read models
// by the handler of its kind, then appended as one event and projected, in
// one transaction.
#include <array>

#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace sql = mdc::sql;
using Case = control::ControlRequest::CommandCase;

namespace {

/** The handler of a command case; nullptr for a case that is not a command. */
const CommandHandler* commandHandler(Case command) {
  static const auto table = [] {
    std::array<CommandHandler, 32> t{};
    auto on = [&t](Case c, CommandHandler h) { t.at(size_t(c)) = h; };  // a field number past the table throws at once
    on(control::ControlRequest::kCreateCfs, {"dispatch.create_cfs", checkCreateCfs, reportCreatedCfs, true});
    on(control::ControlRequest::kAssign, {"dispatch.assign", checkAssign});
    on(control::ControlRequest::kMessage, {"dispatch.message", checkMessage});
    on(control::ControlRequest::kAckEmergency, {"dispatch.ack_emergency", checkAckEmergency});
    on(control::ControlRequest::kCloseCfs, {"dispatch.close_cfs", checkCloseCfs});
    on(control::ControlRequest::kDeviceAdd, {"registry.device_add", checkDeviceAdd});
    on(control::ControlRequest::kDeviceMove, {"registry.device_move", checkDeviceMove});
    on(control::ControlRequest::kDeviceRemove, {"registry.device_remove", checkDeviceRemove});
    on(control::ControlRequest::kEnrollToken, {"registry.enroll_token", checkEnrollToken});
    on(control::ControlRequest::kAgencyConfig, {"registry.agency_config", checkAgencyConfig, reportAgencyConfig});
    on(control::ControlRequest::kCfsTypeAdd, {"registry.cfs_type_add", checkCfsTypeAdd});
    on(control::ControlRequest::kCfsTypeRemove, {"registry.cfs_type_remove", checkCfsTypeRemove});
    on(control::ControlRequest::kZoneSet, {"registry.zone_set", checkZoneSet});
    on(control::ControlRequest::kZoneRemove, {"registry.zone_remove", checkZoneRemove});
    on(control::ControlRequest::kUnitZone, {"registry.unit_zone", checkUnitZone});
    on(control::ControlRequest::kSupervisor, {"registry.supervisor", checkSupervisor});
    on(control::ControlRequest::kEidoImport, {"dispatch.eido_import", checkEidoImport, reportEidoImport, true});
    on(control::ControlRequest::kScheduleCreate, {"dispatch.schedule_create", checkScheduleCreate, reportScheduleCreate});
    on(control::ControlRequest::kScheduleCancel, {"dispatch.schedule_cancel", checkScheduleCancel});
    return t;
  }();
  const size_t i = size_t(command);
  return i < table.size() && table[i].check ? &table[i] : nullptr;
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
  const CommandHandler* handler = commandHandler(req.command_case());
  if (!handler) return refuse("unknown command \"" + commandKind(req) + "\"");
  CommandOutcome out;
  // The command's agency is locked before anything of it is read; a call
  // made or imported draws an incident number (write_tx.cpp).
  const LockSet locks{{req.agency()}, handler->drawsIncident};
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
      append(row);
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
