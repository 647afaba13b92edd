// Every kind of event the backend writes, in one table: the control request
// that asks for it (when a dispatcher does), its checks, and its projection.
// A command is run by EventStore::execute (commands.cpp), an event projected
// by EventStore::project (projection.cpp), both looking its kind up here.
// A device's events are not listed: they are projected by the body of their
// envelope (device_events.cpp).
#include "server-stub/domain/command_scope.h"
#include "server-stub/store/event_store.h"

namespace cad {

const std::vector<EventKind>& EventStore::eventKinds() {
  using S = EventStore;
  using O = std::vector<Outgoing>;
  using C = control::ControlRequest;
  static const std::vector<EventKind> kinds = {
      // Calls for service (cfs_commands.cpp; projection.cpp).
      {.kind = "dispatch.create_cfs", .command = C::kCreateCfs, .check = checkCreateCfs,
       .committed = reportCreatedCfs, .drawsIncident = true,
       .project = [](S& s, const Row& r, O& o) { s.projectDispatch(r, o, &S::projectCreateCfs); }},
      {.kind = "dispatch.assign", .command = C::kAssign, .check = checkAssign,
       .project = [](S& s, const Row& r, O& o) { s.projectDispatch(r, o, &S::projectAssign); }},
      {.kind = "dispatch.message", .command = C::kMessage, .check = checkMessage,
       .project = [](S& s, const Row& r, O& o) { s.projectDispatch(r, o, &S::projectDispatchMessage); }},
      {.kind = "dispatch.ack_emergency", .command = C::kAckEmergency, .check = checkAckEmergency,
       .project = [](S& s, const Row& r, O& o) { s.projectDispatch(r, o, &S::projectAckEmergency); }},
      {.kind = "dispatch.close_cfs", .command = C::kCloseCfs, .check = checkCloseCfs,
       .project = [](S& s, const Row& r, O& o) { s.projectDispatch(r, o, &S::projectCloseCfs); }},
      // Imported incidents (eido_log.cpp).
      {.kind = "dispatch.eido_import", .command = C::kEidoImport, .check = checkEidoImport,
       .committed = reportEidoImport, .drawsIncident = true,
       .project = [](S& s, const Row& r, O&) { s.projectEidoImport(r); }},
      // Scheduled calls (schedules.cpp); the occurrences are written by runSchedules.
      {.kind = "dispatch.schedule_create", .command = C::kScheduleCreate, .check = checkScheduleCreate,
       .committed = reportScheduleCreate, .project = [](S& s, const Row& r, O& o) { s.projectSchedule(r, o); }},
      {.kind = "dispatch.schedule_cancel", .command = C::kScheduleCancel, .check = checkScheduleCancel,
       .project = [](S& s, const Row& r, O& o) { s.projectSchedule(r, o); }},
      {.kind = "dispatch.scheduled_cfs", .project = [](S& s, const Row& r, O& o) { s.projectSchedule(r, o); }},
      // The registry of devices and units (device_commands.cpp; projection.cpp).
      {.kind = "registry.device_add", .command = C::kDeviceAdd, .check = checkDeviceAdd,
       .project = [](S& s, const Row& r, O& o) { s.projectDeviceAdd(r, o); }},
      {.kind = "registry.device_move", .command = C::kDeviceMove, .check = checkDeviceMove,
       .project = [](S& s, const Row& r, O& o) { s.projectDeviceMove(r, o); }},
      {.kind = "registry.device_remove", .command = C::kDeviceRemove, .check = checkDeviceRemove,
       .project = [](S& s, const Row& r, O&) { s.projectDeviceRemove(r); }},
      // Enrolment over the network (device_commands.cpp; enrolment_log.cpp);
      // what the enrolment server did is written by recordEnrolment.
      {.kind = "registry.enroll_token", .command = C::kEnrollToken, .check = checkEnrollToken,
       .project = [](S& s, const Row& r, O&) { s.projectEnrolment(r); }},
      {.kind = "registry.enrolled", .project = [](S& s, const Row& r, O&) { s.projectEnrolment(r); }},
      {.kind = "registry.enroll_refused", .project = [](S& s, const Row& r, O&) { s.projectEnrolment(r); }},
      // Devices the service stopped hearing, and heard again (liveness_log.cpp).
      {.kind = "registry.device_silent", .project = [](S& s, const Row& r, O&) { s.projectLiveness(r); }},
      {.kind = "registry.device_heard", .project = [](S& s, const Row& r, O&) { s.projectLiveness(r); }},
      // The agency's configuration of its units (config_commands.cpp; projection.cpp).
      {.kind = "registry.agency_config", .command = C::kAgencyConfig, .check = checkAgencyConfig,
       .committed = reportAgencyConfig, .project = [](S& s, const Row& r, O& o) { s.projectAgencyConfig(r, o); }},
      // Call types (cfs_types.cpp).
      {.kind = "registry.cfs_type_add", .command = C::kCfsTypeAdd, .check = checkCfsTypeAdd,
       .project = [](S& s, const Row& r, O& o) { s.projectCfsType(r, o); }},
      {.kind = "registry.cfs_type_remove", .command = C::kCfsTypeRemove, .check = checkCfsTypeRemove,
       .project = [](S& s, const Row& r, O& o) { s.projectCfsType(r, o); }},
      // Zones and supervisors (zones.cpp).
      {.kind = "registry.zone_set", .command = C::kZoneSet, .check = checkZoneSet,
       .project = [](S& s, const Row& r, O&) { s.projectZone(r); }},
      {.kind = "registry.zone_remove", .command = C::kZoneRemove, .check = checkZoneRemove,
       .project = [](S& s, const Row& r, O&) { s.projectZone(r); }},
      {.kind = "registry.unit_zone", .command = C::kUnitZone, .check = checkUnitZone,
       .project = [](S& s, const Row& r, O&) { s.projectZone(r); }},
      {.kind = "registry.supervisor", .command = C::kSupervisor, .check = checkSupervisor,
       .project = [](S& s, const Row& r, O&) { s.projectZone(r); }},
      // The records system's answers, written by answerQuery (records_log.cpp).
      {.kind = "records.answer", .project = [](S& s, const Row& r, O& o) { s.projectRecordsAnswer(r, o); }},
  };
  return kinds;
}

}  // namespace cad
