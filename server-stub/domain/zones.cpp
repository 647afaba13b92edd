#include "server-stub/domain/zones.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QStringList>

#include "server-stub/domain/command_scope.h"
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

namespace {

/** The district of a zone of the command's agency; nullopt when it has none such. */
std::optional<std::string> districtOf(CommandScope& c, const std::string& zone) {
  auto st = c.cached("SELECT district FROM zones WHERE agency=? AND zone=?");
  st->bind(1, c.agency()).bind(2, zone);
  if (!st->step()) return std::nullopt;
  return st->text(0);
}

Status unitInAgency(CommandScope& c, const std::string& unit) {
  auto st = c.cached("SELECT agency FROM units WHERE unit_id=?");
  st->bind(1, unit);
  if (!st->step() || st->text(0) != c.agency()) return refuse("unit \"" + unit + "\": no such unit in agency " + c.agency());
  return {};
}

Error noSuchZone(CommandScope& c, const std::string& zone) {
  return refuse("zone \"" + zone + "\": no such zone in agency " + c.agency() + " (cadctl zones list)");
}

/** A supervisor of a district: refused when no zone of the agency is in it. */
Status superviseDistrict(CommandScope& c, const std::string& unit, const std::string& district) {
  auto st = c.cached("SELECT COUNT(*) FROM zones WHERE agency=? AND district=?");
  st->bind(1, c.agency()).bind(2, district);
  st->step();
  if (st->i64(0) == 0)
    return refuse("district \"" + district + "\": no zone of agency " + c.agency() + " is in it (cadctl zones list)");
  c.payload = {{"unit", QString::fromStdString(unit)}, {"kind", "district"}, {"scope", QString::fromStdString(district)}};
  c.summary = "unit " + unit + " supervises district " + district + " (" + std::to_string(st->i64(0)) +
              " zones); its device gets their board";
  return {};
}

/** A supervisor of zones, each of the agency, none twice, at most 16. */
Status superviseZones(CommandScope& c, const std::string& unit, const google::protobuf::RepeatedPtrField<std::string>& zones) {
  if (zones.size() > 16) return refuse("zones: " + std::to_string(zones.size()) + " given, at most 16 (or a district)");
  std::set<std::string> seen;
  std::string list;
  for (const auto& zone : zones) {
    if (!districtOf(c, zone)) return noSuchZone(c, zone);
    if (!seen.insert(zone).second) return refuse("zones: \"" + zone + "\" is listed twice");
    list += (list.empty() ? "" : ",") + zone;
  }
  c.payload = {{"unit", QString::fromStdString(unit)}, {"kind", "zones"}, {"scope", QString::fromStdString(list)}};
  c.summary = "unit " + unit + " supervises zones " + list + "; its device gets their board";
  return {};
}

}  // namespace

Status checkZoneSet(CommandScope& c) {
  const control::ZoneSet& cmd = c.req.zone_set();
  if (!zones::validName(cmd.zone())) return refuse("zone \"" + cmd.zone() + "\": must be 1-32 characters of A-Z a-z 0-9 _ -");
  if (!zones::validName(cmd.district()))
    return refuse("district \"" + cmd.district() + "\": must be 1-32 characters of A-Z a-z 0-9 _ -");
  auto was = districtOf(c, cmd.zone());
  c.payload = {{"zone", QString::fromStdString(cmd.zone())}, {"district", QString::fromStdString(cmd.district())}};
  c.summary = "zone " + cmd.zone() + " of " + c.agency() +
              (was ? " moved from district " + *was + " to " : " is in district ") + cmd.district();
  return {};
}

Status checkZoneRemove(CommandScope& c) {
  const std::string& zone = c.req.zone_remove().zone();
  if (!districtOf(c, zone)) return noSuchZone(c, zone);
  auto st = c.cached("SELECT COUNT(*) FROM units WHERE agency=? AND zone=?");
  st->bind(1, c.agency()).bind(2, zone);
  st->step();
  if (st->i64(0) > 0)
    return refuse("zone \"" + zone + "\": " + std::to_string(st->i64(0)) + " units are in it (zones assign them elsewhere first)");
  auto sv = c.cached("SELECT unit_id, scope FROM supervisors WHERE agency=? AND kind='zones'");
  sv->bind(1, c.agency());
  while (sv->step())
    if (QString::fromStdString(sv->text(1)).split(',').contains(QString::fromStdString(zone)))
      return refuse("zone \"" + zone + "\": supervisor " + sv->text(0) + " covers it (zones supervise it again first)");
  c.payload = {{"zone", QString::fromStdString(zone)}};
  c.summary = "zone " + zone + " of " + c.agency() + " removed";
  return {};
}

Status checkUnitZone(CommandScope& c) {
  const control::UnitZone& cmd = c.req.unit_zone();
  if (Status s = unitInAgency(c, cmd.unit()); !s) return s;
  if (!cmd.zone().empty() && !districtOf(c, cmd.zone())) return noSuchZone(c, cmd.zone());
  c.payload = {{"unit", QString::fromStdString(cmd.unit())}, {"zone", QString::fromStdString(cmd.zone())}};
  c.unit = cmd.unit();
  c.summary = cmd.zone().empty() ? "unit " + cmd.unit() + " is in no zone" : "unit " + cmd.unit() + " is in zone " + cmd.zone();
  return {};
}

Status checkSupervisor(CommandScope& c) {
  // Of zones, of a district, or no more.
  const control::Supervisor& cmd = c.req.supervisor();
  if (Status s = unitInAgency(c, cmd.unit()); !s) return s;
  c.unit = cmd.unit();
  if (!cmd.zones().empty() && !cmd.district().empty()) return refuse("supervisor: zones or a district, not both");
  if (!cmd.district().empty()) return superviseDistrict(c, cmd.unit(), cmd.district());
  if (!cmd.zones().empty()) return superviseZones(c, cmd.unit(), cmd.zones());
  auto st = c.cached("SELECT 1 FROM supervisors WHERE unit_id=?");
  st->bind(1, cmd.unit());
  if (!st->step()) return refuse("unit \"" + cmd.unit() + "\": is not a supervisor");
  c.payload = {{"unit", QString::fromStdString(cmd.unit())}, {"kind", ""}, {"scope", ""}};
  c.summary = "unit " + cmd.unit() + " supervises nothing now; its device gets no board";
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
