#include "server-stub/domain/zones.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>

#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"

namespace cad {

namespace zones {

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (unsigned char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

mdc::v1::SupervisorBoard boardFor(const Supervisor& s, const std::vector<Row>& rows) {
  mdc::v1::SupervisorBoard b;
  b.set_scope(s.scope.substr(0, 200));
  for (const auto& r : rows) {
    if (r.agency != s.agency || !s.zones.count(r.zone)) continue;  // only what its place allows
    if (b.units_size() >= kMaxUnits) break;
    auto* u = b.add_units();
    u->set_unit_id(r.unit);
    u->set_zone(r.zone);
    u->set_status(mdc::v1::UnitStatus(r.status));
    u->set_status_at_ms(r.statusAtMs);
    u->set_incident_number(r.incident);
    u->set_emergency(r.emergency);
    u->set_online(r.online);
  }
  return b;
}

std::vector<Planner::Due> Planner::due(const std::vector<Supervisor>& supervisors, const std::vector<Row>& rows,
                                       int64_t nowMs) {
  std::vector<Due> out;
  std::set<std::string> current;
  for (const auto& s : supervisors) {
    if (s.device.empty()) continue;
    current.insert(s.device);
    if (!s.online) {
      // Told again in full when it is back; still known here, so that a
      // withdrawal reaches it (queued by the broker) if it stops being a supervisor meanwhile.
      if (auto it = sent_.find(s.device); it != sent_.end()) {
        it->second.bytes.clear();
        it->second.atMs = nowMs - refreshMs_;
      }
      continue;
    }
    auto board = boardFor(s, rows);
    std::string bytes;
    board.SerializeToString(&bytes);
    std::set<std::string> emergencies;
    for (const auto& u : board.units())
      if (u.emergency()) emergencies.insert(u.unit_id());
    auto it = sent_.find(s.device);
    const bool urgent = it != sent_.end() && it->second.emergencies != emergencies;
    const bool changed = it == sent_.end() || it->second.bytes != bytes;
    const bool stale = it == sent_.end() || nowMs - it->second.atMs >= refreshMs_;
    const bool allowed = it == sent_.end() || nowMs - it->second.atMs >= minIntervalMs_ || urgent;
    if (!stale && !(changed && allowed)) continue;
    sent_[s.device] = Sent{s.unit, bytes, emergencies, nowMs};
    out.push_back({s.unit, s.device, std::move(board), urgent});
  }
  // A device that was shown a board and serves no supervisor now: withdrawn, once.
  for (auto it = sent_.begin(); it != sent_.end();) {
    if (current.count(it->first)) {
      ++it;
      continue;
    }
    out.push_back({it->second.unit, it->first, mdc::v1::SupervisorBoard{}, true});
    it = sent_.erase(it);
  }
  return out;
}

}  // namespace zones

Status EventStore::checkZoneCommand(const Command& cmd, QJsonObject& j, std::string& summary) {
  auto zoneExists = [&](const std::string& zone) -> std::optional<std::string> {
    auto st = cached("SELECT district FROM zones WHERE agency=? AND zone=?");
    st->bind(1, cmd.agency).bind(2, zone);
    if (!st->step()) return std::nullopt;
    return st->text(0);
  };
  auto unitInAgency = [&](const std::string& unit) -> Status {
    auto st = cached("SELECT agency FROM units WHERE unit_id=?");
    st->bind(1, unit);
    if (!st->step() || st->text(0) != cmd.agency) return refuse("unit \"" + unit + "\": no such unit in agency " + cmd.agency);
    return {};
  };
  auto noSuchZone = [&](const std::string& zone) {
    return refuse("zone \"" + zone + "\": no such zone in agency " + cmd.agency + " (cadctl zones list)");
  };
  if (cmd.kind == "zone_set") {
    if (!zones::validName(cmd.zone)) return refuse("zone \"" + cmd.zone + "\": must be 1-32 characters of A-Z a-z 0-9 _ -");
    if (!zones::validName(cmd.district))
      return refuse("district \"" + cmd.district + "\": must be 1-32 characters of A-Z a-z 0-9 _ -");
    auto was = zoneExists(cmd.zone);
    j = {{"zone", QString::fromStdString(cmd.zone)}, {"district", QString::fromStdString(cmd.district)}};
    summary = "zone " + cmd.zone + " of " + cmd.agency + (was ? " moved from district " + *was + " to " : " is in district ") +
              cmd.district;
    return {};
  }
  if (cmd.kind == "zone_remove") {
    if (!zoneExists(cmd.zone)) return noSuchZone(cmd.zone);
    auto st = cached("SELECT COUNT(*) FROM units WHERE agency=? AND zone=?");
    st->bind(1, cmd.agency).bind(2, cmd.zone);
    st->step();
    if (st->i64(0) > 0)
      return refuse("zone \"" + cmd.zone + "\": " + std::to_string(st->i64(0)) + " units are in it (zones assign them elsewhere first)");
    auto sv = cached("SELECT unit_id, scope FROM supervisors WHERE agency=? AND kind='zones'");
    sv->bind(1, cmd.agency);
    while (sv->step())
      if (QString::fromStdString(sv->text(1)).split(',').contains(QString::fromStdString(cmd.zone)))
        return refuse("zone \"" + cmd.zone + "\": supervisor " + sv->text(0) + " covers it (zones supervise it again first)");
    j = {{"zone", QString::fromStdString(cmd.zone)}};
    summary = "zone " + cmd.zone + " of " + cmd.agency + " removed";
    return {};
  }
  if (cmd.kind == "unit_zone") {
    if (Status s = unitInAgency(cmd.unit); !s) return s;
    if (!cmd.zone.empty() && !zoneExists(cmd.zone)) return noSuchZone(cmd.zone);
    j = {{"unit", QString::fromStdString(cmd.unit)}, {"zone", QString::fromStdString(cmd.zone)}};
    summary = cmd.zone.empty() ? "unit " + cmd.unit + " is in no zone" : "unit " + cmd.unit + " is in zone " + cmd.zone;
    return {};
  }
  // supervisor: of zones, of a district, or no more.
  if (Status s = unitInAgency(cmd.unit); !s) return s;
  if (!cmd.zones.empty() && !cmd.district.empty()) return refuse("supervisor: zones or a district, not both");
  if (cmd.zones.empty() && cmd.district.empty()) {
    auto st = cached("SELECT 1 FROM supervisors WHERE unit_id=?");
    st->bind(1, cmd.unit);
    if (!st->step()) return refuse("unit \"" + cmd.unit + "\": is not a supervisor");
    j = {{"unit", QString::fromStdString(cmd.unit)}, {"kind", ""}, {"scope", ""}};
    summary = "unit " + cmd.unit + " supervises nothing now; its device gets no board";
    return {};
  }
  if (!cmd.district.empty()) {
    auto st = cached("SELECT COUNT(*) FROM zones WHERE agency=? AND district=?");
    st->bind(1, cmd.agency).bind(2, cmd.district);
    st->step();
    if (st->i64(0) == 0)
      return refuse("district \"" + cmd.district + "\": no zone of agency " + cmd.agency + " is in it (cadctl zones list)");
    j = {{"unit", QString::fromStdString(cmd.unit)}, {"kind", "district"}, {"scope", QString::fromStdString(cmd.district)}};
    summary = "unit " + cmd.unit + " supervises district " + cmd.district + " (" + std::to_string(st->i64(0)) +
              " zones); its device gets their board";
    return {};
  }
  if (cmd.zones.size() > 16) return refuse("zones: " + std::to_string(cmd.zones.size()) + " given, at most 16 (or a district)");
  std::set<std::string> seen;
  std::string list;
  for (const auto& zone : cmd.zones) {
    if (!zoneExists(zone)) return noSuchZone(zone);
    if (!seen.insert(zone).second) return refuse("zones: \"" + zone + "\" is listed twice");
    list += (list.empty() ? "" : ",") + zone;
  }
  j = {{"unit", QString::fromStdString(cmd.unit)}, {"kind", "zones"}, {"scope", QString::fromStdString(list)}};
  summary = "unit " + cmd.unit + " supervises zones " + list + "; its device gets their board";
  return {};
}

void EventStore::projectZone(const Row& row) {
  QJsonObject j = parseJson(row.payload);
  const std::string zone = j.value("zone").toString().toStdString();
  const std::string unit = j.value("unit").toString().toStdString();
  if (row.kind == "registry.zone_set") {
    cached("INSERT INTO zones(agency, zone, district, pos, updated_at_ms, updated_by) VALUES(?,?,?,?,?,?) "
           "ON CONFLICT(agency, zone) DO UPDATE SET district=excluded.district, updated_at_ms=excluded.updated_at_ms, "
           "updated_by=excluded.updated_by")
        ->bind(1, row.agency).bind(2, zone).bind(3, j.value("district").toString().toStdString()).bind(4, row.pos)
        .bind(5, row.receivedAtMs).bind(6, actorName(row.actor)).run();
  } else if (row.kind == "registry.zone_remove") {
    cached("DELETE FROM zones WHERE agency=? AND zone=?")->bind(1, row.agency).bind(2, zone).run();
  } else if (row.kind == "registry.unit_zone") {
    cached("UPDATE units SET zone=? WHERE unit_id=?")->bind(1, zone).bind(2, unit).run();
  } else if (row.kind == "registry.supervisor") {
    const std::string kind = j.value("kind").toString().toStdString();
    if (kind.empty()) {
      cached("DELETE FROM supervisors WHERE unit_id=?")->bind(1, unit).run();
    } else {
      cached("INSERT INTO supervisors(unit_id, agency, kind, scope, pos, updated_at_ms, updated_by) VALUES(?,?,?,?,?,?,?) "
             "ON CONFLICT(unit_id) DO UPDATE SET kind=excluded.kind, scope=excluded.scope, pos=excluded.pos, "
             "updated_at_ms=excluded.updated_at_ms, updated_by=excluded.updated_by")
          ->bind(1, unit).bind(2, row.agency).bind(3, kind).bind(4, j.value("scope").toString().toStdString())
          .bind(5, row.pos).bind(6, row.receivedAtMs).bind(7, actorName(row.actor)).run();
    }
  }
}

}  // namespace cad
