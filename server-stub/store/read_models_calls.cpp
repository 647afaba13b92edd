#include "server-stub/store/read_models.h"

namespace cad {

namespace {
constexpr const char* kScheduleColumns =
    "schedule_id, agency, cfs_type, priority, address, lat, lon, notes, every_ms, from_ms, until_ms, next_at_ms, "
    "state, created_by, occurrences, late, last_incident";

Schedule scheduleFrom(const mdc::sql::Stmt& st) {
  Schedule s;
  s.id = st.text(0);
  s.agency = st.text(1);
  s.cfsType = st.text(2);
  s.priority = int(st.i64(3));
  s.address = st.text(4);
  if (!st.isNull(5)) s.location = std::pair{st.f64(5), st.f64(6)};
  s.notes = st.text(7);
  s.everyMs = st.i64(8);
  s.fromMs = st.i64(9);
  s.untilMs = st.i64(10);
  s.nextAtMs = st.i64(11);
  s.state = st.text(12);
  s.createdBy = st.text(13);
  s.occurrences = int(st.i64(14));
  s.late = int(st.i64(15));
  s.lastIncident = st.text(16);
  return s;
}
}  // namespace

std::vector<CallSummary> ReadModels::calls(const std::string& agency) {
  auto st = store_.db().prepare(
      "SELECT incident_number, agency, cfs_type, priority, state, source, address, created_at_ms FROM cfs "
      "WHERE (?1='' OR agency=?1) ORDER BY incident_number");
  st.bind(1, agency);
  std::vector<CallSummary> out;
  while (st.step())
    out.push_back({st.text(0), st.text(1), st.text(2), st.i64(3), st.text(4), st.text(5), st.text(6), st.i64(7)});
  return out;
}

std::optional<CallDetail> ReadModels::call(const std::string& incident) {
  auto st = store_.db().prepare(
      "SELECT incident_number, agency, cfs_type, priority, address, lat, lon, notes, state, source, created_at_ms, "
      "dispatched_at_ms, enroute_at_ms, arrived_at_ms, closed_at_ms, apco_code, eido_id, owner_agency, owner_number, "
      "owner_services, type_label, imported_at_ms, imported_by FROM cfs WHERE incident_number=?");
  st.bind(1, incident);
  if (!st.step()) return std::nullopt;
  CallDetail c;
  c.incident = st.text(0);
  c.agency = st.text(1);
  c.type = st.text(2);
  c.priority = st.i64(3);
  c.address = st.text(4);
  if (!st.isNull(5)) c.location = std::pair{st.f64(5), st.f64(6)};
  c.notes = st.text(7);
  c.state = st.text(8);
  c.source = st.text(9);
  c.createdAtMs = st.i64(10);
  c.dispatchedAtMs = st.i64(11);
  c.enrouteAtMs = st.i64(12);
  c.arrivedAtMs = st.i64(13);
  c.closedAtMs = st.i64(14);
  c.apcoCode = st.text(15);
  c.eidoId = st.text(16);
  c.ownerAgency = st.text(17);
  c.ownerNumber = st.text(18);
  c.ownerServices = st.text(19);
  c.typeLabel = st.text(20);
  c.importedAtMs = st.i64(21);
  c.importedBy = st.text(22);
  return c;
}

std::vector<CallUnit> ReadModels::callUnits(const std::string& incident) {
  auto st = store_.db().prepare(
      "SELECT unit_id, assigned_at_ms, ack_at_ms, enroute_at_ms, onscene_at_ms, cleared_at_ms FROM cfs_units "
      "WHERE incident_number=? ORDER BY unit_id");
  st.bind(1, incident);
  std::vector<CallUnit> out;
  while (st.step()) out.push_back({st.text(0), st.i64(1), st.i64(2), st.i64(3), st.i64(4), st.i64(5)});
  return out;
}

std::vector<CallUnit> ReadModels::callUnitsByAssignment(const std::string& incident) {
  auto st = store_.db().prepare(
      "SELECT cu.unit_id, u.status, cu.assigned_at_ms, cu.ack_at_ms, cu.enroute_at_ms, cu.onscene_at_ms, "
      "cu.cleared_at_ms, u.status_at_ms FROM cfs_units cu JOIN units u ON u.unit_id=cu.unit_id "
      "WHERE cu.incident_number=? ORDER BY cu.assigned_at_ms, cu.unit_id");
  st.bind(1, incident);
  std::vector<CallUnit> out;
  while (st.step())
    out.push_back({st.text(0), st.i64(2), st.i64(3), st.i64(4), st.i64(5), st.i64(6), st.i64(1), st.i64(7)});
  return out;
}

std::vector<TimelineLine> ReadModels::timeline(const std::string& incident) {
  auto st = store_.db().prepare("SELECT at_ms, text, late FROM cfs_timeline WHERE incident_number=? ORDER BY at_ms, id");
  st.bind(1, incident);
  std::vector<TimelineLine> out;
  while (st.step()) out.push_back({st.i64(0), st.text(1), st.i64(2) == 1});
  return out;
}

std::vector<ForeignUnit> ReadModels::foreignUnits(const std::string& incident) {
  auto st = store_.db().prepare(
      "SELECT name, resource_type, status, secondary, internal, at_ms FROM cfs_foreign_units WHERE incident_number=? "
      "ORDER BY ord");
  st.bind(1, incident);
  std::vector<ForeignUnit> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.i64(5)});
  return out;
}

std::vector<std::string> ReadModels::callsTouchedSince(const std::string& agency, int64_t sinceMs) {
  auto st = store_.db().prepare(
      "SELECT c.incident_number FROM cfs c WHERE (?1='' OR c.agency=?1) AND (c.created_at_ms>=?2 OR "
      "c.closed_at_ms>=?2 OR EXISTS(SELECT 1 FROM cfs_timeline t WHERE t.incident_number=c.incident_number AND "
      "t.at_ms>=?2)) ORDER BY c.created_at_ms, c.incident_number");
  st.bind(1, agency).bind(2, sinceMs);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::vector<CallOrigin> ReadModels::callOrigins() {
  auto st = store_.db().prepare("SELECT origin_event_id, incident_number, cfs_type, source FROM cfs");
  std::vector<CallOrigin> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), st.text(3)});
  return out;
}

void ReadModels::callClockEvents(const std::string& agency, const std::function<void(const CallClockEvent&)>& each) {
  auto st = store_.db().prepare(
      "SELECT event_id, unit_id, kind, recorded_at_ms, received_at_ms, payload FROM events "
      "WHERE (?1='' OR agency=?1) AND kind IN ('cfs','status','dispatch.create_cfs','dispatch.assign',"
      "'dispatch.close_cfs') ORDER BY pos");
  st.bind(1, agency);
  CallClockEvent e;
  while (st.step()) {
    e.eventId = st.text(0);
    e.unit = st.text(1);
    e.kind = st.text(2);
    e.recordedAtMs = st.i64(3);
    e.receivedAtMs = st.i64(4);
    e.payload = st.blob(5);
    each(e);
  }
}

std::vector<Schedule> ReadModels::schedules(const std::string& agency) {
  auto st = store_.db().prepare(std::string("SELECT ") + kScheduleColumns +
                         " FROM schedules WHERE ?1='' OR agency=?1 ORDER BY pos DESC");
  st.bind(1, agency);
  std::vector<Schedule> out;
  while (st.step()) out.push_back(scheduleFrom(st));
  return out;
}

std::optional<Schedule> ReadModels::nextDueSchedule(int64_t nowMs) {
  auto st = store_.db().prepare(std::string("SELECT ") + kScheduleColumns +
                                " FROM schedules WHERE state='active' AND next_at_ms<=? "
                                "ORDER BY next_at_ms, schedule_id LIMIT 1");
  st.bind(1, nowMs);
  if (!st.step()) return std::nullopt;
  return scheduleFrom(st);
}

std::vector<CfsTypeInfo> ReadModels::agencyCfsTypes(const std::string& agency) {
  auto st = store_.db().prepare("SELECT code, label, apco_code FROM cfs_types WHERE agency=? ORDER BY pos");
  st.bind(1, agency);
  std::vector<CfsTypeInfo> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), true});
  return out;
}

}  // namespace cad
