// The downlink's validation (every body kind's checks), its decoding and
// encoding: what the backend may send a vehicle, checked at both ends.
#include "shared/wire/codec.h"

#include "shared/wire/codec_check.h"
#include "shared/wire/uuid.h"

namespace mdc::codec {

using namespace detail;

namespace {

using v1::Downlink;

Status validateCommitAck(const Downlink& d) {
  const auto& a = d.commit_ack();
  if (a.committed_size() < 1 && a.downlink_head() == 0)
    return fail(Reason::MissingField, "downlink.commit_ack.committed: required, is empty");
  if (a.committed_size() > 1024)
    return fail(Reason::TooLong, "downlink.commit_ack.committed: " + std::to_string(a.committed_size()) +
                                     " ranges, at most 1024 allowed");
  for (int i = 0; i < a.committed_size(); ++i) {
    const auto& r = a.committed(i);
    std::string p = "downlink.commit_ack.committed[" + std::to_string(i) + "]";
    if (r.first() < 1) return fail(Reason::OutOfRange, p + ".first: 0 must be >= 1");
    if (r.last() < r.first())
      return fail(Reason::OutOfRange, p + ".last: " + std::to_string(r.last()) + " is below first " +
                                          std::to_string(r.first()));
  }
  if (a.ingest_lag_ms() > kMaxIngestLagMs)
    return fail(Reason::OutOfRange, "downlink.commit_ack.ingest_lag_ms: " + std::to_string(a.ingest_lag_ms()) +
                                        " above " + std::to_string(kMaxIngestLagMs) + " (one hour)");
  return {};
}

Status validateSupervisorBoard(const Downlink& d) {
  const auto& b = d.supervisor_board();
  Check s{"downlink.supervisor_board"};
  MDC_TRY(s.text("scope", b.scope(), 0, 200));
  if (b.scope().empty() && b.units_size() > 0)
    return fail(Reason::BadFormat, "downlink.supervisor_board.units: a withdrawn board (no scope) has no units");
  if (b.units_size() > 256)
    return fail(Reason::TooLong, "downlink.supervisor_board.units: " + std::to_string(b.units_size()) +
                                     " units, at most 256 allowed");
  for (int i = 0; i < b.units_size(); ++i) {
    const auto& u = b.units(i);
    Check c{"downlink.supervisor_board.units[" + std::to_string(i) + "]"};
    MDC_TRY(c.text("unit_id", u.unit_id(), 1, 32));
    MDC_TRY(c.text("zone", u.zone(), 1, 32));
    MDC_TRY(c.text("incident_number", u.incident_number(), 0, 32));
    if (!v1::UnitStatus_IsValid(u.status()))
      return fail(Reason::OutOfRange, c.at("status") + ": " + std::to_string(u.status()) + " is not a known value");
  }
  return {};
}

Status validateUnitsNearby(const Downlink& d) {
  const auto& n = d.units_nearby();
  if (n.radius_m() < 1 || n.radius_m() > 100000)
    return fail(Reason::OutOfRange, "downlink.units_nearby.radius_m: " + std::to_string(n.radius_m()) +
                                        " out of range 1..100000");
  if (n.units_size() > 64)
    return fail(Reason::TooLong, "downlink.units_nearby.units: " + std::to_string(n.units_size()) +
                                     " units, at most 64 allowed");
  for (int i = 0; i < n.units_size(); ++i) {
    const auto& u = n.units(i);
    Check c{"downlink.units_nearby.units[" + std::to_string(i) + "]"};
    MDC_TRY(c.text("unit_id", u.unit_id(), 1, 32));
    MDC_TRY(c.text("incident_number", u.incident_number(), 0, 32));
    if (!v1::UnitStatus_IsValid(u.status()))
      return fail(Reason::OutOfRange, c.at("status") + ": " + std::to_string(u.status()) + " is not a known value");
    MDC_TRY(c.range("lat", u.lat(), -90, 90, false));
    MDC_TRY(c.range("lon", u.lon(), -180, 180, false));
    MDC_TRY(c.time("position_at_ms", u.position_at_ms(), false));
  }
  return {};
}

Status validateAssignment(const Downlink& d) {
  const auto& a = d.assignment();
  Check s{"downlink.assignment"};
  MDC_TRY(s.text("incident_number", a.incident_number(), 1, 32));
  MDC_TRY(s.text("cfs_type", a.cfs_type(), 1, 32));
  MDC_TRY(s.range("priority", a.priority(), 1, 9, false));
  MDC_TRY(s.text("address", a.address(), 0, 200));
  MDC_TRY(checkOptionalPosition(a.has_location(), a.location(), "downlink.assignment.location"));
  MDC_TRY(s.text("notes", a.notes(), 0, 4000));
  if (a.units_size() > 64)
    return fail(Reason::TooLong, "downlink.assignment.units: " + std::to_string(a.units_size()) +
                                     " entries, at most 64 allowed");
  for (int i = 0; i < a.units_size(); ++i)
    MDC_TRY(s.text("units[" + std::to_string(i) + "]", a.units(i), 1, 32));
  if (a.timeline_size() > 256)
    return fail(Reason::TooLong, "downlink.assignment.timeline: " + std::to_string(a.timeline_size()) +
                                     " entries, at most 256 allowed");
  for (int i = 0; i < a.timeline_size(); ++i) {
    Check t{"downlink.assignment.timeline[" + std::to_string(i) + "]"};
    MDC_TRY(t.time("at_ms", a.timeline(i).at_ms(), false));
    MDC_TRY(t.text("text", a.timeline(i).text(), 1, 500));
  }
  return s.time("assigned_at_ms", a.assigned_at_ms(), false);
}

Status validateMessage(const Downlink& d) {
  Check s{"downlink.message"};
  MDC_TRY(s.text("from", d.message().from(), 1, 64));
  return s.text("text", d.message().text(), 1, 2000);
}

Status validateCfsAccepted(const Downlink& d) {
  Check s{"downlink.cfs_accepted"};
  if (!isUuidV7(d.cfs_accepted().event_id()))
    return fail(Reason::BadFormat, "downlink.cfs_accepted.event_id: " + quoted(d.cfs_accepted().event_id()) +
                                       " is not a UUIDv7");
  return s.text("incident_number", d.cfs_accepted().incident_number(), 1, 32);
}

Status validateRejection(const Downlink& d) {
  Check s{"downlink.rejection"};
  MDC_TRY(s.enumValue("reason", d.rejection().reason(), v1::RejectReason_IsValid));
  return s.text("detail", d.rejection().detail(), 0, 500);
}

Status validateConfiguration(const Downlink& d) {
  const auto& c = d.configuration();
  Check s{"downlink.configuration"};
  if (c.statuses_size() > 10)
    return fail(Reason::TooLong, "downlink.configuration.statuses: " + std::to_string(c.statuses_size()) +
                                     " entries, at most 10 allowed");
  for (int i = 0; i < c.statuses_size(); ++i) {
    MDC_TRY(s.enumValue("statuses[" + std::to_string(i) + "]", c.statuses(i), v1::UnitStatus_IsValid));
    for (int k = 0; k < i; ++k)
      if (c.statuses(k) == c.statuses(i))
        return fail(Reason::OutOfRange, "downlink.configuration.statuses[" + std::to_string(i) + "]: " +
                                            statusName(c.statuses(i)) + " repeats statuses[" + std::to_string(k) +
                                            "]");
  }
  if (c.avl_moving_interval_s() != 0) MDC_TRY(s.range("avl_moving_interval_s", c.avl_moving_interval_s(), 1, 3600, false));
  if (c.avl_stationary_interval_s() != 0)
    MDC_TRY(s.range("avl_stationary_interval_s", c.avl_stationary_interval_s(), 1, 3600, false));
  if (c.cfs_types_size() > 64)
    return fail(Reason::TooLong, "downlink.configuration.cfs_types: " + std::to_string(c.cfs_types_size()) +
                                     " entries, at most 64 allowed");
  for (int i = 0; i < c.cfs_types_size(); ++i) {
    Check t{"downlink.configuration.cfs_types[" + std::to_string(i) + "]"};
    MDC_TRY(t.text("code", c.cfs_types(i).code(), 1, 32));
    MDC_TRY(t.text("label", c.cfs_types(i).label(), 1, 64));
    MDC_TRY(t.text("apco_code", c.cfs_types(i).apco_code(), 1, 32));
  }
  return {};
}

Status validateAssignmentCleared(const Downlink& d) {
  Check s{"downlink.assignment_cleared"};
  MDC_TRY(s.text("incident_number", d.assignment_cleared().incident_number(), 1, 32));
  return s.text("reason", d.assignment_cleared().reason(), 0, 200);
}

Status validateRecordsAnswer(const Downlink& d) {
  const auto& a = d.records_answer();
  Check s{"downlink.records_answer"};
  if (!isUuidV7(a.query_id()))
    return fail(Reason::BadFormat, "downlink.records_answer.query_id: " + quoted(a.query_id()) + " is not a UUIDv7");
  MDC_TRY(s.text("refused", a.refused(), 0, 300));
  if (a.entries_size() > 16)
    return fail(Reason::TooLong, "downlink.records_answer.entries: " + std::to_string(a.entries_size()) +
                                     " entries, at most 16 allowed");
  bool flagged = false;
  for (int i = 0; i < a.entries_size(); ++i) {
    Check e{"downlink.records_answer.entries[" + std::to_string(i) + "]"};
    const auto& entry = a.entries(i);
    if (entry.kind() != "vehicle" && entry.kind() != "person")
      return fail(Reason::OutOfRange, e.at("kind") + ": " + quoted(entry.kind()) + " is not vehicle or person");
    MDC_TRY(e.text("summary", entry.summary(), 1, 300));
    MDC_TRY(checkFlags(e, entry.flags(), 8));
    flagged = flagged || entry.flags_size() > 0;
  }
  if (a.hit() != flagged)
    return fail(Reason::BadFormat, std::string("downlink.records_answer.hit: ") + (a.hit() ? "true" : "false") +
                                       " disagrees with the entries' flags");
  return {};
}

Status validateSafetyAlert(const Downlink& d) {
  const auto& a = d.safety_alert();
  Check s{"downlink.safety_alert"};
  MDC_TRY(s.text("incident_number", a.incident_number(), 1, 32));
  MDC_TRY(s.text("unit_id", a.unit_id(), 1, 32));
  MDC_TRY(s.text("subject", a.subject(), 1, 100));
  if (a.flags_size() < 1) return fail(Reason::MissingField, "downlink.safety_alert.flags: required, is empty");
  MDC_TRY(checkFlags(s, a.flags(), 16));
  return s.time("at_ms", a.at_ms(), false);
}

Status validateEmergencyAck(const Downlink& d) {
  Check s{"downlink.emergency_ack"};
  MDC_TRY(s.text("by", d.emergency_ack().by(), 1, 64));
  return s.time("at_ms", d.emergency_ack().at_ms(), false);
}

/** The body's own checks, by the kind of body. */
Status validateDownlinkBody(const Downlink& d) {
  switch (d.body_case()) {
    case Downlink::kCommitAck:
      return validateCommitAck(d);
    case Downlink::kSupervisorBoard:
      return validateSupervisorBoard(d);
    case Downlink::kUnitsNearby:
      return validateUnitsNearby(d);
    case Downlink::kAssignment:
      return validateAssignment(d);
    case Downlink::kMessage:
      return validateMessage(d);
    case Downlink::kCfsAccepted:
      return validateCfsAccepted(d);
    case Downlink::kRejection:
      return validateRejection(d);
    case Downlink::kConfiguration:
      return validateConfiguration(d);
    case Downlink::kAssignmentCleared:
      return validateAssignmentCleared(d);
    case Downlink::kRecordsAnswer:
      return validateRecordsAnswer(d);
    case Downlink::kSafetyAlert:
      return validateSafetyAlert(d);
    case Downlink::kEmergencyAck:
      return validateEmergencyAck(d);
    case Downlink::BODY_NOT_SET:
      break;
  }
  return fail(Reason::MissingField, "downlink.body: required, none is set");
}

}  // namespace

Status validate(const Downlink& d) {
  Check c{"downlink"};
  if (d.version() != kProtocolVersion)
    return fail(Reason::UnsupportedVersion,
                "downlink.version: " + std::to_string(d.version()) + " is not supported (this build speaks 1)");
  MDC_TRY(c.text("unit_id", d.unit_id(), 1, 32));
  // Rejections are either (see Downlink.seq); the rest is one or the other.
  bool neverSequenced = d.body_case() == Downlink::kCommitAck || d.body_case() == Downlink::kUnitsNearby ||
                        d.body_case() == Downlink::kRecordsAnswer || d.body_case() == Downlink::kSupervisorBoard;
  bool unsequenced = neverSequenced || d.body_case() == Downlink::kRejection;
  if (d.seq() < 1 && !unsequenced)
    return fail(Reason::BadFormat, std::string("downlink.seq: 0 must be >= 1 for ") + bodyName(d));
  if (d.seq() > 0 && neverSequenced)
    return fail(Reason::BadFormat,
                "downlink.seq: " + std::to_string(d.seq()) + " must be 0 for " + bodyName(d));
  MDC_TRY(c.time("sent_at_ms", d.sent_at_ms(), false));
  return validateDownlinkBody(d);
}

Result<Downlink> decodeDownlink(std::string_view bytes) {
  if (bytes.size() > kMaxDownlinkBytes)
    return fail(Reason::TooLarge, "downlink: " + std::to_string(bytes.size()) + " bytes, at most " +
                                      std::to_string(kMaxDownlinkBytes) + " allowed");
  Downlink d;
  if (bytes.empty() || !d.ParseFromArray(bytes.data(), int(bytes.size())))
    return fail(Reason::Malformed, "downlink: " + std::to_string(bytes.size()) + " bytes are not a valid mdc.v1.Downlink");
  if (Status s = validate(d); !s) return s.error();
  return d;
}

Result<std::string> encodeDownlink(const Downlink& d) {
  if (Status s = validate(d); !s) return s.error();
  std::string out;
  d.SerializeToString(&out);
  if (out.size() > kMaxDownlinkBytes)
    return fail(Reason::TooLarge, "downlink: " + std::to_string(out.size()) + " bytes, at most " +
                                      std::to_string(kMaxDownlinkBytes) + " allowed");
  return out;
}

const char* bodyName(const Downlink& d) {
  switch (d.body_case()) {
    case Downlink::kCommitAck: return "commit_ack";
    case Downlink::kAssignment: return "assignment";
    case Downlink::kMessage: return "message";
    case Downlink::kCfsAccepted: return "cfs_accepted";
    case Downlink::kRejection: return "rejection";
    case Downlink::kConfiguration: return "configuration";
    case Downlink::kEmergencyAck: return "emergency_ack";
    case Downlink::kAssignmentCleared: return "assignment_cleared";
    case Downlink::kUnitsNearby: return "units_nearby";
    case Downlink::kRecordsAnswer: return "records_answer";
    case Downlink::kSafetyAlert: return "safety_alert";
    case Downlink::kSupervisorBoard: return "supervisor_board";
    case Downlink::BODY_NOT_SET: break;
  }
  return "none";
}

}  // namespace mdc::codec
