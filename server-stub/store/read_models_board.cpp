#include "server-stub/store/read_models.h"

#include <QStringList>

#include <map>

namespace cad {

std::vector<BoardUnit> ReadModels::board(const BoardFilter& filter) {
  auto st = store_.db().prepare(
      "SELECT unit_id, agency, device_id, status, status_at_ms, lat, lon, pos_at_ms, online, online_changed_ms, "
      "last_seen_ms, current_cfs, emergency, emergency_active, emergency_ack_by, dropped_avl, safety_flag, "
      "safety_at_ms, safety_cfs, zone FROM units "
      "WHERE (?1='' OR agency=?1) AND (?2='' OR zone=?2) AND (?3='' OR zone IN (SELECT z.zone FROM zones z WHERE "
      "z.agency=units.agency AND z.district=?3)) ORDER BY agency, unit_id");
  st.bind(1, filter.agency).bind(2, filter.zone).bind(3, filter.district);
  std::vector<BoardUnit> out;
  while (st.step()) {
    BoardUnit u;
    u.unit = st.text(0);
    u.agency = st.text(1);
    u.device = st.text(2);
    u.status = st.i64(3);
    u.statusAtMs = st.i64(4);
    if (!st.isNull(5)) u.position = std::pair{st.f64(5), st.f64(6)};
    u.positionAtMs = st.i64(7);
    u.online = st.i64(8) == 1;
    u.onlineChangedMs = st.i64(9);
    u.lastSeenMs = st.i64(10);
    u.cfs = st.text(11);
    u.emergency = st.i64(12) == 1;
    u.emergencyActive = st.i64(13) == 1;
    u.emergencyAckBy = st.text(14);
    u.droppedAvl = st.i64(15);
    u.safetyFlag = st.text(16);
    u.safetyAtMs = st.i64(17);
    u.safetyCfs = st.text(18);
    u.zone = st.text(19);
    out.push_back(std::move(u));
  }
  return out;
}

std::vector<AgencyConfigRow> ReadModels::agencyConfigs(const std::string& agency) {
  auto st = store_.db().prepare(
      "SELECT agency, statuses, avl_moving_s, avl_stationary_s, updated_at_ms, updated_by FROM agency_config "
      "WHERE (?1='' OR agency=?1) ORDER BY agency");
  st.bind(1, agency);
  std::vector<AgencyConfigRow> out;
  while (st.step())
    out.push_back({st.text(0), st.text(1), st.i64(2), st.i64(3), st.i64(4), st.text(5)});
  return out;
}

std::vector<DeviceRegistration> ReadModels::devices() {
  auto st = store_.db().prepare("SELECT device_id, unit_id, agency FROM devices");
  std::vector<DeviceRegistration> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

std::vector<UnitAgency> ReadModels::units() {
  auto st = store_.db().prepare("SELECT unit_id, agency FROM units");
  std::vector<UnitAgency> out;
  while (st.step()) out.push_back({st.text(0), st.text(1)});
  return out;
}

std::optional<DeviceRegistration> ReadModels::deviceRegistration(const std::string& deviceId) {
  auto st = store_.db().prepare("SELECT unit_id, agency FROM devices WHERE device_id=?");
  st.bind(1, deviceId);
  if (!st.step()) return std::nullopt;
  return DeviceRegistration{deviceId, st.text(0), st.text(1)};
}

int64_t ReadModels::unitsOnline() { return store_.db().queryInt("SELECT COUNT(*) FROM units WHERE online=1"); }

std::vector<RecordedRefusal> ReadModels::recentRefusals(int64_t limit) {
  auto st = store_.db().prepare("SELECT received_at_ms, device_id, reason, detail FROM refusals ORDER BY id DESC LIMIT ?");
  st.bind(1, limit);
  std::vector<RecordedRefusal> out;
  while (st.step()) out.push_back({st.i64(0), Refusal{st.text(1), st.text(2), st.text(3)}});
  return out;
}

std::vector<RecordsQueryRow> ReadModels::recordsQueries(const std::string& agency, const std::string& unit,
                                                        int64_t sinceMs) {
  auto st = store_.db().prepare(
      "SELECT query_id, at_ms, agency, unit_id, device_id, subject, incident_number, reason_code, answered_at_ms, "
      "outcome, hit, pos, answer_pos FROM records_queries WHERE (?1='' OR agency=?1) AND (?2='' OR unit_id=?2) AND "
      "at_ms>=?3 ORDER BY at_ms, pos");
  st.bind(1, agency).bind(2, unit).bind(3, sinceMs);
  std::vector<RecordsQueryRow> out;
  while (st.step()) {
    RecordsQueryRow q;
    q.queryId = st.text(0);
    q.atMs = st.i64(1);
    q.agency = st.text(2);
    q.unit = st.text(3);
    q.device = st.text(4);
    q.subject = st.text(5);
    q.incident = st.text(6);
    q.reasonCode = st.text(7);
    q.answeredAtMs = st.i64(8);
    q.outcome = st.text(9);
    q.hit = st.i64(10) == 1;
    q.queryPos = st.i64(11);
    q.answerPos = st.i64(12);
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<std::string> ReadModels::agenciesWithOwnTypes() {
  auto st = store_.db().prepare("SELECT DISTINCT agency FROM cfs_types ORDER BY agency");
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::vector<ZoneRow> ReadModels::zones(const std::string& agency) {
  auto st = store_.db().prepare(
      "SELECT z.agency, z.district, z.zone FROM zones z WHERE ?1='' OR z.agency=?1 "
      "ORDER BY z.agency, z.district, z.zone");
  st.bind(1, agency);
  std::vector<ZoneRow> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

std::vector<ZonedUnit> ReadModels::zonedUnits() {
  auto st = store_.db().prepare("SELECT agency, zone, unit_id FROM units WHERE zone<>'' ORDER BY unit_id");
  std::vector<ZonedUnit> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

std::vector<Supervisor> ReadModels::supervisors() {
  auto& db = store_.db();
  std::map<std::pair<std::string, std::string>, std::set<std::string>> byDistrict;  // (agency, district) -> zones
  auto z = db.prepare("SELECT agency, district, zone FROM zones");
  while (z.step()) byDistrict[{z.text(0), z.text(1)}].insert(z.text(2));
  auto st = db.prepare(
      "SELECT s.unit_id, s.agency, s.kind, s.scope, COALESCE(u.device_id, ''), COALESCE(u.online, 0) FROM supervisors s "
      "LEFT JOIN units u ON u.unit_id=s.unit_id ORDER BY s.unit_id");
  std::vector<Supervisor> out;
  while (st.step()) {
    Supervisor s{st.text(0), st.text(1), st.text(4), st.i64(5) == 1, "", {}};
    const std::string kind = st.text(2), scope = st.text(3);
    if (kind == "district") s.zones = byDistrict[{s.agency, scope}];
    else
      for (const auto& zone : QString::fromStdString(scope).split(',', Qt::SkipEmptyParts)) s.zones.insert(zone.toStdString());
    std::string list;
    for (const auto& zone : s.zones) list += (list.empty() ? "" : ", ") + zone;
    s.scope = kind == "district" ? "district " + scope + " (zones " + (list.empty() ? "none yet" : list) + ")"
                                 : "zones " + list;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<SupervisedUnit> ReadModels::supervisedRows() {
  auto& db = store_.db();
  auto st = db.prepare(
      "SELECT unit_id, agency, zone, current_cfs, status, status_at_ms, emergency_active, online FROM units "
      "WHERE zone<>'' ORDER BY agency, zone, unit_id");
  std::vector<SupervisedUnit> out;
  while (st.step())
    out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), int(st.i64(4)), st.i64(5), st.i64(6) == 1,
                   st.i64(7) == 1});
  return out;
}

std::vector<DeviceHealth> ReadModels::fleetHealth(const std::string& agency) {
  auto st = store_.db().prepare(
      "SELECT d.device_id, d.unit_id, d.agency, d.agent_version, COALESCE(u.online, 0), COALESCE(u.last_seen_ms, 0), "
      "d.health_at_ms, d.queue_depth, d.queue_oldest_ms, d.cert_not_after_ms, d.gps_fix, d.gps_no_fix_since_ms "
      "FROM devices d LEFT JOIN units u ON u.unit_id = d.unit_id AND u.device_id = d.device_id "
      "WHERE (?1 = '' OR d.agency = ?1) ORDER BY d.device_id");
  st.bind(1, agency);
  std::vector<DeviceHealth> out;
  while (st.step()) {
    DeviceHealth d;
    d.device = st.text(0);
    d.unit = st.text(1);
    d.agency = st.text(2);
    d.agentVersion = st.text(3);
    d.online = st.i64(4) == 1;
    d.lastSeenMs = st.i64(5);
    d.healthAtMs = st.i64(6);
    d.queueDepth = st.i64(7);
    d.queueOldestMs = st.i64(8);
    d.certNotAfterMs = st.i64(9);
    d.gpsFix = st.i64(10) == 1;
    d.gpsNoFixSinceMs = st.i64(11);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<UnitPlace> ReadModels::unitPlaces() {
  std::vector<UnitPlace> out;
  auto st = store_.db().prepare(
      "SELECT unit_id, agency, device_id, current_cfs, status, lat IS NOT NULL AND lon IS NOT NULL, "
      "COALESCE(lat, 0), COALESCE(lon, 0), pos_at_ms, emergency_active, online FROM units ORDER BY unit_id");
  while (st.step()) {
    UnitPlace u;
    u.unit = st.text(0);
    u.agency = st.text(1);
    u.device = st.text(2);
    u.incident = st.text(3);
    u.status = int(st.i64(4));
    u.hasPosition = st.i64(5) != 0 && st.i64(8) > 0;
    u.lat = st.f64(6);
    u.lon = st.f64(7);
    u.positionAtMs = st.i64(8);
    u.emergency = st.i64(9) != 0;
    u.online = st.i64(10) != 0;
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace cad
