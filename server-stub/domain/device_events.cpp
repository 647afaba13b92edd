// What each kind of event from a device changes in the read models: the
// unit's board row, its calls and their timelines, the conversation, the
// fleet's health. Each kind has its function; projectDevice picks it.
#include "server-stub/store/event_row.h"
#include "server-stub/store/event_store.h"
#include "shared/wire/codec.h"

namespace cad {

namespace v1 = mdc::v1;
namespace codec = mdc::codec;
using ordering::MembershipFact;

/** One device event being projected, and what its projection produces. */
struct EventStore::DeviceEvent {
  const Row& row;
  const v1::Envelope& env;
  const std::string& unit;
  std::string stamp;  ///< its place in the ordering rule (ordering.h)
  int64_t at;         ///< when it was recorded
  bool late;          ///< recorded before an event of the unit already applied
  std::vector<Outgoing>& out;
};

void EventStore::projectDevice(const Row& row, std::vector<Outgoing>& out) {
  v1::Envelope env;
  env.ParseFromString(row.payload);
  DeviceEvent e{row, env, row.unitId, stampOf(row), row.recordedAtMs, false, out};
  // The hot path (most events are AVL), in one statement.
  if (env.has_avl()) return projectAvl(e);
  // Presence is the link's state as the stub sees it: by arrival, not stamped;
  // so is a records query, which changes nothing on the board.
  if (env.has_presence() || env.has_records_query())
    cached("UPDATE units SET last_seen_ms=CASE WHEN last_seen_ms > ?1 THEN last_seen_ms ELSE ?1 END WHERE unit_id=?2")
        ->bind(1, row.receivedAtMs).bind(2, e.unit).runLater();
  else
    e.late = noteStamp(e.unit, e.stamp, row.receivedAtMs);
  if (e.late) cached("UPDATE units SET late_events=late_events+1 WHERE unit_id=?")->bind(1, e.unit).run();

  switch (env.body_case()) {
    case v1::Envelope::kStatus:
      return projectStatus(e);
    case v1::Envelope::kCfs:
      return projectSelfInitiatedCfs(e);
    case v1::Envelope::kEmergency:
      return projectEmergency(e);
    case v1::Envelope::kAssignmentAck:
      return projectAssignmentAck(e);
    case v1::Envelope::kMessage:
      return projectInboundMessage(e);
    case v1::Envelope::kPresence:
      return projectPresence(e);
    case v1::Envelope::kRecordsQuery:
      return projectRecordsQuery(row, env);
    case v1::Envelope::kAvl:       // above
    case v1::Envelope::kResync:
    case v1::Envelope::kAvlBatch:  // never stored: ingest expands it into its reports
    case v1::Envelope::BODY_NOT_SET:
      break;
  }
}

void EventStore::projectAvl(const DeviceEvent& e) {
  // What noteStamp, the late count and movePosition do, on the row's old
  // values. Backfill is history: the live position is never taken from it.
  const auto& p = e.env.avl().position();
  cached("UPDATE units SET late_events=late_events + CASE WHEN latest_stamp > ?1 THEN 1 ELSE 0 END, "
         "latest_stamp=CASE WHEN latest_stamp > ?1 THEN latest_stamp ELSE ?1 END, "
         "last_seen_ms=CASE WHEN last_seen_ms > ?2 THEN last_seen_ms ELSE ?2 END, "
         "lat=CASE WHEN ?4 = 1 AND pos_stamp < ?1 THEN ?5 ELSE lat END, "
         "lon=CASE WHEN ?4 = 1 AND pos_stamp < ?1 THEN ?6 ELSE lon END, "
         "pos_at_ms=CASE WHEN ?4 = 1 AND pos_stamp < ?1 THEN ?7 ELSE pos_at_ms END, "
         "pos_stamp=CASE WHEN ?4 = 1 AND pos_stamp < ?1 THEN ?1 ELSE pos_stamp END WHERE unit_id=?3")
      ->bind(1, e.stamp).bind(2, e.row.receivedAtMs).bind(3, e.unit).bind(4, e.env.avl().backfill() ? 0 : 1)
      .bind(5, p.lat()).bind(6, p.lon()).bind(7, e.at).runLater();
}

void EventStore::movePosition(const DeviceEvent& e, const v1::Position& p) {
  cached("UPDATE units SET lat=?, lon=?, pos_at_ms=?, pos_stamp=? WHERE unit_id=? AND pos_stamp<?")
      ->bind(1, p.lat()).bind(2, p.lon()).bind(3, e.at).bind(4, e.stamp).bind(5, e.unit).bind(6, e.stamp).run();
}

std::string EventStore::callAt(const DeviceEvent& e, const std::string& named) {
  return named.empty() ? loadMembership(e.unit).onAt(e.stamp) : named;
}

bool EventStore::earliest(const DeviceEvent& e, const char* table, const char* column, const std::string& incident,
                          bool perUnit) {
  // First time wins for the moments of a call.
  std::string sql = std::string("UPDATE ") + table + " SET " + column + "=? WHERE incident_number=?" +
                    (perUnit ? " AND unit_id=?" : "") + " AND (" + column + "=0 OR " + column + ">?)";
  auto st = cached(sql.c_str());
  st->bind(1, e.at).bind(2, incident);
  if (perUnit) st->bind(3, e.unit).bind(4, e.at);
  else st->bind(3, e.at);
  st->run();
  return db().changes() > 0;
}

void EventStore::projectStatus(const DeviceEvent& e) {
  const auto& s = e.env.status();
  const int status = s.status();
  cached("UPDATE units SET status=?, status_at_ms=?, status_stamp=? WHERE unit_id=? AND status_stamp<?")
      ->bind(1, status).bind(2, e.at).bind(3, e.stamp).bind(4, e.unit).bind(5, e.stamp).run();
  if (s.has_position()) movePosition(e, s.position());
  const std::string named = s.incident_number();
  const std::string incident = callAt(e, named);
  if (!incident.empty()) {
    timeline(incident, e.row, e.at, e.unit + " " + codec::statusName(status), e.late);
    if (status == v1::UNIT_STATUS_EN_ROUTE) {
      earliest(e, "cfs_units", "enroute_at_ms", incident, true);
      earliest(e, "cfs", "enroute_at_ms", incident, false);
    } else if (status == v1::UNIT_STATUS_ON_SCENE) {
      earliest(e, "cfs_units", "onscene_at_ms", incident, true);
      earliest(e, "cfs", "arrived_at_ms", incident, false);
    }
  }
  if (codec::statusEndsAssignment(status)) {
    // Clears the unit from the call it names, else from every call it
    // joined before this moment (not one it joined after: a late event).
    MembershipFact f{e.stamp, MembershipFact::Kind::Clear, named,
                     "cleared by " + e.unit + " " + codec::statusName(status), ""};
    addMembershipFact(e.unit, f, e.row, e.out);
  }
}

void EventStore::projectSelfInitiatedCfs(const DeviceEvent& e) {
  const auto& c = e.env.cfs();
  const Row& row = e.row;
  std::string number = nextIncidentNumber(row.receivedAtMs);
  cached("INSERT INTO cfs(incident_number, agency, cfs_type, priority, address, lat, lon, notes, state, source, "
         "origin_event_id, created_at_ms) VALUES(?,?,?,?,?,?,?,?,'open','self',?,?)")
      ->bind(1, number).bind(2, row.agency).bind(3, c.cfs_type()).bind(4, 3).bind(5, c.address())
      .bind(6, c.location().lat()).bind(7, c.location().lon()).bind(8, c.note()).bind(9, row.eventId).bind(10, e.at)
      .run();
  timeline(number, row, e.at, "self-initiated by " + e.unit + ": " + c.cfs_type(), e.late);
  classifyCfs(number, row.agency, c.cfs_type(), row, e.at, e.late);
  MembershipFact f{e.stamp, MembershipFact::Kind::SelfInitiate, number, "", ""};
  auto busy = addMembershipFact(e.unit, f, row, e.out);
  v1::Downlink accepted;
  accepted.mutable_cfs_accepted()->set_event_id(row.eventId);
  accepted.mutable_cfs_accepted()->set_incident_number(number);
  queueDownlink(e.unit, accepted, row.pos, row.receivedAtMs, e.out);
  if (!busy) return;
  // The unit was on another call when it started this one: the CFS is kept
  // (it happened), the unit stays on its call, and both sides can see why.
  timeline(number, row, e.at, e.unit + " not attached: already assigned to " + *busy, e.late);
  v1::Downlink rej;
  rej.mutable_rejection()->set_event_id(row.eventId);
  rej.mutable_rejection()->set_seq(row.deviceSeq.value_or(0));
  rej.mutable_rejection()->set_reason(v1::REJECT_REASON_CONFLICT);
  rej.mutable_rejection()->set_detail("self-initiated CFS recorded as " + number + " but " + e.unit + " stays on " +
                                      *busy + ", assigned before it");
  queueDownlink(e.unit, rej, row.pos, row.receivedAtMs, e.out);
}

void EventStore::projectEmergency(const DeviceEvent& e) {
  const bool active = e.env.emergency().active();
  // The device's own state: the latest activation or clear.
  cached("UPDATE units SET emergency_active=?, emergency_stamp=? WHERE unit_id=? AND emergency_stamp<?")
      ->bind(1, active ? 1 : 0).bind(2, e.stamp).bind(3, e.unit).bind(4, e.stamp).run();
  if (!active) return;
  // Flagged for dispatch while an activation is newer than the one a
  // dispatcher acknowledged.
  cached("UPDATE units SET emergency_raised_stamp=?, emergency_at_ms=? WHERE unit_id=? AND "
         "emergency_raised_stamp<?")
      ->bind(1, e.stamp).bind(2, e.at).bind(3, e.unit).bind(4, e.stamp).run();
  cached("UPDATE units SET emergency=1, emergency_ack_by='' WHERE unit_id=? AND emergency=0 AND "
         "emergency_raised_stamp>emergency_acked_stamp")
      ->bind(1, e.unit).run();
  if (e.env.emergency().has_position()) movePosition(e, e.env.emergency().position());
  std::string incident = callAt(e, "");
  if (!incident.empty()) timeline(incident, e.row, e.at, "EMERGENCY raised by " + e.unit, e.late);
}

void EventStore::projectAssignmentAck(const DeviceEvent& e) {
  const std::string& incident = e.env.assignment_ack().incident_number();
  if (earliest(e, "cfs_units", "ack_at_ms", incident, true))
    timeline(incident, e.row, e.at, e.unit + " acknowledged the assignment", e.late);
}

void EventStore::projectInboundMessage(const DeviceEvent& e) {
  cached("INSERT INTO messages(pos, agency, unit_id, direction, author, text, at_ms) VALUES(?,?,?,'in',?,?,?)")
      ->bind(1, e.row.pos).bind(2, e.row.agency).bind(3, e.unit).bind(4, e.unit).bind(5, e.env.message().text())
      .bind(6, e.at).run();
}

void EventStore::projectPresence(const DeviceEvent& e) {
  const auto& p = e.env.presence();
  cached("UPDATE units SET online=?1, online_changed_ms=?2, "
         "dropped_avl=CASE WHEN dropped_avl > ?3 THEN dropped_avl ELSE ?3 END WHERE unit_id=?4")
      ->bind(1, p.online() ? 1 : 0).bind(2, e.row.receivedAtMs).bind(3, int64_t(p.dropped_avl())).bind(4, e.unit)
      .run();
  if (!p.online()) return;
  int64_t depth = 0, oldest = 0;
  for (const auto& q : p.queue()) {
    depth += q.count();
    if (q.oldest_at_ms() > 0 && (oldest == 0 || q.oldest_at_ms() < oldest)) oldest = q.oldest_at_ms();
  }
  cached("UPDATE devices SET agent_version=?, queue_depth=?, queue_oldest_ms=?, cert_not_after_ms=?, gps_fix=?, "
         "gps_no_fix_since_ms=?, health_at_ms=? WHERE device_id=?")
      ->bind(1, p.agent_version()).bind(2, depth).bind(3, oldest).bind(4, p.cert_not_after_ms())
      .bind(5, p.gps_fix() ? 1 : 0).bind(6, p.gps_no_fix_since_ms()).bind(7, e.row.receivedAtMs)
      .bind(8, e.row.deviceId).run();
}

}  // namespace cad
