// Dispatcher and operator commands: each is checked against the read models,
// then appended as one event and projected, in one transaction.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <set>

#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/clock.h"
#include "shared/wire/codec.h"
#include "shared/wire/topics.h"
#include "shared/wire/uuid.h"

namespace cad {

namespace v1 = mdc::v1;
namespace sql = mdc::sql;
namespace codec = mdc::codec;

Result<CommandOutcome> EventStore::execute(const Command& cmd, int64_t nowMs) {
  static mdc::UuidV7Generator ids;
  if (cmd.agency.empty() || cmd.agency.size() > 32) return refuse("agency: required, 1-32 characters");
  if (cmd.actor.empty() || cmd.actor.size() > 64) return refuse("actor: the dispatcher's name is required, 1-64 characters");
  CommandOutcome out;
  // The command's agency is locked before anything of it is read; a call
  // made or imported draws an incident number (write_tx.cpp).
  const LockSet locks{{cmd.agency}, cmd.kind == "create_cfs" || cmd.kind == "eido_import"};
  try {
    const Status done = writeTransaction(locks, [&]() -> Status {
      out = CommandOutcome{};
      auto unitAgency = [&](const std::string& unit) -> std::optional<std::string> {
        auto st = cached("SELECT agency FROM units WHERE unit_id=?");
        st->bind(1, unit);
        if (!st->step()) return std::nullopt;
        return st->text(0);
      };
      auto requireUnit = [&](const std::string& unit) -> Status {
        auto a = unitAgency(unit);
        if (!a || *a != cmd.agency) return refuse("unit \"" + unit + "\": no such unit in agency " + cmd.agency);
        return {};
      };
      auto requireCfs = [&](const std::string& incident, bool mustBeOpen) -> Status {
        auto st = cached("SELECT agency, state FROM cfs WHERE incident_number=?");
        st->bind(1, incident);
        if (!st->step() || st->text(0) != cmd.agency)
          return refuse("cfs \"" + incident + "\": no such CFS in agency " + cmd.agency);
        if (mustBeOpen && st->text(1) != "open") return refuse("cfs \"" + incident + "\": is closed");
        return {};
      };

      QJsonObject j;
      std::string unit;
      // What a CFS is made of, checked the same for a call made now and one
      // scheduled: into j.
      auto cfsFields = [&]() -> Status {
        if (!resolveCfsType(cmd.agency, cmd.cfsType))
          return refuse("type \"" + cmd.cfsType + "\": not an APCO ANS 2.103 code nor a type of agency " + cmd.agency +
                        " (cadctl types list)");
        if (cmd.priority < 1 || cmd.priority > 9) return refuse("priority " + std::to_string(cmd.priority) + ": out of range 1-9");
        if (cmd.address.size() > 200) return refuse("address: at most 200 characters");
        if (cmd.text.size() > 4000) return refuse("notes: at most 4000 characters");
        j = {{"type", QString::fromStdString(cmd.cfsType)},
             {"priority", cmd.priority},
             {"address", QString::fromStdString(cmd.address)},
             {"notes", QString::fromStdString(cmd.text)}};
        if (cmd.location) {
          auto [lat, lon] = *cmd.location;
          if (!(lat >= -90 && lat <= 90)) return refuse("lat " + std::to_string(lat) + ": out of range -90..90");
          if (!(lon >= -180 && lon <= 180)) return refuse("lon " + std::to_string(lon) + ": out of range -180..180");
          j["lat"] = lat;
          j["lon"] = lon;
        }
        return {};
      };
      if (cmd.kind == "device_add") {
        if (!mdc::topics::isValidDeviceId(cmd.device))
          return refuse("device \"" + cmd.device + "\": must be 1-64 characters of A-Z a-z 0-9 . _ -");
        if (cmd.unit.empty() || cmd.unit.size() > 32) return refuse("unit \"" + cmd.unit + "\": must be 1-32 characters");
        if (unitOfDevice(cmd.device)) return refuse("device \"" + cmd.device + "\": already registered (use devices move)");
        if (auto a = unitAgency(cmd.unit); a && *a != cmd.agency)
          return refuse("unit \"" + cmd.unit + "\": belongs to another agency");
        j = {{"device", QString::fromStdString(cmd.device)}, {"unit", QString::fromStdString(cmd.unit)}};
        unit = cmd.unit;
        out.summary = "device " + cmd.device + " serves unit " + cmd.unit + " of " + cmd.agency;
      } else if (cmd.kind == "device_move") {
        auto st = cached("SELECT agency FROM devices WHERE device_id=?");
        st->bind(1, cmd.device);
        if (!st->step() || st->text(0) != cmd.agency)
          return refuse("device \"" + cmd.device + "\": no such device in agency " + cmd.agency);
        if (cmd.unit.empty() || cmd.unit.size() > 32) return refuse("unit \"" + cmd.unit + "\": must be 1-32 characters");
        if (auto a = unitAgency(cmd.unit); a && *a != cmd.agency)
          return refuse("unit \"" + cmd.unit + "\": belongs to another agency");
        j = {{"device", QString::fromStdString(cmd.device)}, {"unit", QString::fromStdString(cmd.unit)}};
        unit = cmd.unit;
        out.summary = "device " + cmd.device + " now serves unit " + cmd.unit;
      } else if (cmd.kind == "device_remove") {
        auto st = cached("SELECT agency, unit_id FROM devices WHERE device_id=?");
        st->bind(1, cmd.device);
        if (!st->step() || st->text(0) != cmd.agency)
          return refuse("device \"" + cmd.device + "\": no such device in agency " + cmd.agency);
        unit = st->text(1);
        j = {{"device", QString::fromStdString(cmd.device)}, {"unit", QString::fromStdString(unit)}};
        out.summary = "device " + cmd.device + " removed from the registry (it served unit " + unit + ")";
      } else if (cmd.kind == "enroll_token") {
        auto st = cached("SELECT agency, unit_id FROM devices WHERE device_id=?");
        st->bind(1, cmd.device);
        if (!st->step() || st->text(0) != cmd.agency)
          return refuse("device \"" + cmd.device + "\": no such device in agency " + cmd.agency);
        unit = st->text(1);
        if (!cmd.unit.empty() && cmd.unit != unit)
          return refuse("device \"" + cmd.device + "\": serves unit " + unit + ", not " + cmd.unit +
                        " (devices move it first, or leave --unit out)");
        if (cmd.tokenHash.size() != 64 || cmd.tokenHash.find_first_not_of("0123456789abcdef") != std::string::npos)
          return refuse("token hash: 64 lower-case hex digits expected");
        if (cmd.ttlS < 600 || cmd.ttlS > 30 * 86400)
          return refuse("ttl " + std::to_string(cmd.ttlS) + " s: out of range 10m-30d");
        if (enrolToken(cmd.tokenHash)) return refuse("token: this token exists already");
        j = {{"device", QString::fromStdString(cmd.device)}, {"unit", QString::fromStdString(unit)},
             {"token_sha256", QString::fromStdString(cmd.tokenHash)},
             {"expires_at_ms", qint64(nowMs + cmd.ttlS * 1000)}};
        out.summary = "enrolment token for " + cmd.device + " (unit " + unit + "), single use, valid until " +
                      mdc::formatIsoUtc(nowMs + cmd.ttlS * 1000);
      } else if (cmd.kind == "agency_config") {
        if (cmd.statuses.size() > 10)
          return refuse("statuses: " + std::to_string(cmd.statuses.size()) + " given, at most 10 (one per function key)");
        QJsonArray names;
        std::set<int> seen;
        for (const auto& name : cmd.statuses) {
          auto status = codec::statusFromName(name);
          if (!status) return refuse("statuses: \"" + name + "\" is not a status (" + codec::statusNamesForHumans() + ")");
          if (!seen.insert(*status).second) return refuse("statuses: \"" + name + "\" is listed twice");
          names.append(QString::fromStdString(codec::statusName(*status)));
        }
        for (auto [key, value] : {std::pair{"avl_moving_s", cmd.avlMovingS}, std::pair{"avl_stationary_s", cmd.avlStationaryS}})
          if (value < 0 || value > 3600)
            return refuse(std::string(key) + " " + std::to_string(value) + ": out of range 1-3600 (0 keeps the device's value)");
        j = {{"statuses", names}, {"avl_moving_s", cmd.avlMovingS}, {"avl_stationary_s", cmd.avlStationaryS}};
      } else if (cmd.kind == "cfs_type_add" || cmd.kind == "cfs_type_remove") {
        if (Status s = checkCfsTypeCommand(cmd, j, out.summary); !s) return s.error();
      } else if (cmd.kind == "zone_set" || cmd.kind == "zone_remove" || cmd.kind == "unit_zone" ||
                 cmd.kind == "supervisor") {
        if (Status s = checkZoneCommand(cmd, j, out.summary); !s) return s.error();
        unit = cmd.unit;
      } else if (cmd.kind == "eido_import") {
        if (Status s = checkEidoImport(cmd, j, out.summary); !s) return s.error();
      } else if (cmd.kind == "create_cfs") {
        if (Status s = cfsFields(); !s) return s.error();
      } else if (cmd.kind == "schedule_create") {
        if (cmd.address.empty()) return refuse("address: required, at most 200 characters");
        if (Status s = cfsFields(); !s) return s.error();
        if (cmd.everyS < 600 || cmd.everyS > 366 * 86400)
          return refuse("every " + std::to_string(cmd.everyS) + " s: out of range 10m-366d");
        if (cmd.fromMs < nowMs - 60'000)
          return refuse("from " + mdc::formatIsoUtc(cmd.fromMs) + ": in the past (now " + mdc::formatIsoUtc(nowMs) + ")");
        if (cmd.untilMs < cmd.fromMs)
          return refuse("until " + mdc::formatIsoUtc(cmd.untilMs) + ": before from " + mdc::formatIsoUtc(cmd.fromMs));
        if ((cmd.untilMs - cmd.fromMs) / (cmd.everyS * 1000) >= 10000)
          return refuse("more than 10000 occurrences from " + mdc::formatIsoUtc(cmd.fromMs) + " until " +
                        mdc::formatIsoUtc(cmd.untilMs) + ": a shorter span or a longer interval");
        j["every_ms"] = qint64(cmd.everyS * 1000);
        j["from_ms"] = qint64(cmd.fromMs);
        j["until_ms"] = qint64(cmd.untilMs);
      } else if (cmd.kind == "schedule_cancel") {
        auto st = cached("SELECT agency, state FROM schedules WHERE schedule_id=?");
        st->bind(1, cmd.scheduleId);
        if (!st->step() || st->text(0) != cmd.agency)
          return refuse("schedule \"" + cmd.scheduleId + "\": no such schedule in agency " + cmd.agency);
        if (st->text(1) != "active") return refuse("schedule \"" + cmd.scheduleId + "\": is " + st->text(1) + " already");
        j = {{"schedule", QString::fromStdString(cmd.scheduleId)}};
        out.summary = "cancelled schedule " + cmd.scheduleId;
      } else if (cmd.kind == "assign") {
        if (Status s = requireCfs(cmd.incident, true); !s) return s.error();
        if (Status s = requireUnit(cmd.unit); !s) return s.error();
        auto st = cached("SELECT current_cfs FROM units WHERE unit_id=?");
        st->bind(1, cmd.unit);
        st->step();
        std::string current = st->text(0);
        if (!current.empty() && current != cmd.incident && !cmd.force) {
          auto cs = cached("SELECT state, source FROM cfs WHERE incident_number=?");
          cs->bind(1, current);
          if (cs->step() && cs->text(0) == "open")
            return refuse("conflict: unit " + cmd.unit + " is on " + (cs->text(1) == "self" ? "self-initiated " : "") +
                          "CFS " + current + " (committed before this assignment); use --force to reassign");
        }
        j = {{"incident", QString::fromStdString(cmd.incident)}, {"unit", QString::fromStdString(cmd.unit)},
             {"force", cmd.force}};
        unit = cmd.unit;
        out.summary = "assigned " + cmd.unit + " to " + cmd.incident;
      } else if (cmd.kind == "message") {
        if (Status s = requireUnit(cmd.unit); !s) return s.error();
        if (cmd.text.empty() || cmd.text.size() > 2000) return refuse("text: must be 1-2000 characters");
        j = {{"unit", QString::fromStdString(cmd.unit)}, {"text", QString::fromStdString(cmd.text)}};
        unit = cmd.unit;
        out.summary = "message to " + cmd.unit;
      } else if (cmd.kind == "ack_emergency") {
        if (Status s = requireUnit(cmd.unit); !s) return s.error();
        auto st = cached("SELECT emergency FROM units WHERE unit_id=?");
        st->bind(1, cmd.unit);
        st->step();
        if (st->i64(0) == 0) return refuse("unit \"" + cmd.unit + "\": has no unacknowledged emergency");
        j = {{"unit", QString::fromStdString(cmd.unit)}};
        unit = cmd.unit;
        out.summary = "emergency of " + cmd.unit + " acknowledged";
      } else if (cmd.kind == "close_cfs") {
        if (Status s = requireCfs(cmd.incident, true); !s) return s.error();
        j = {{"incident", QString::fromStdString(cmd.incident)}};
        out.summary = "closed " + cmd.incident;
      } else {
        return refuse("unknown command \"" + cmd.kind + "\"");
      }

      Row row;
      row.eventId = ids.next();
      row.unitId = unit;
      row.agency = cmd.agency;
      row.kind = (cmd.kind.rfind("device_", 0) == 0 || cmd.kind.rfind("cfs_type_", 0) == 0 || cmd.kind == "agency_config" ||
                          cmd.kind == "enroll_token" || cmd.kind.rfind("zone_", 0) == 0 || cmd.kind == "unit_zone" ||
                          cmd.kind == "supervisor"
                      ? "registry."
                      : "dispatch.") +
                 cmd.kind;
      row.recordedAtMs = nowMs;
      row.clockSource = "system";
      row.receivedAtMs = nowMs;
      row.actor = "dispatcher:" + cmd.actor;
      row.payload = jsonText(j);
      append(row);
      project(row, out.downlinks);
      if (cmd.kind == "agency_config")  // one Configuration downlink per unit of the agency
        out.summary = "configuration of " + cmd.agency + " sent to " + std::to_string(out.downlinks.size()) + " units";
      if (cmd.kind == "schedule_create")
        out.summary = "schedule " + row.eventId + ": " + cmd.cfsType + " at " + cmd.address + " every " +
                      std::to_string(cmd.everyS / 60) + " min from " + mdc::formatIsoUtc(cmd.fromMs) + " until " +
                      mdc::formatIsoUtc(cmd.untilMs);
      if (cmd.kind == "create_cfs" || cmd.kind == "eido_import") {
        auto st = cached("SELECT incident_number FROM cfs WHERE origin_event_id=?");
        st->bind(1, row.eventId);
        st->step();
        out.summary = cmd.kind == "create_cfs" ? "created " + st->text(0) : "imported as " + st->text(0) + ": " + out.summary;
      }
      return {};
    });
    if (!done) return done.error();
  } catch (const sql::DbError& e) {
    return Error::make(std::string("store: command not committed: ") + e.what());
  }
  return out;
}

}  // namespace cad
