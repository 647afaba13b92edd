#pragma once
// A dispatcher command being run: the typed request, what its handler found
// and writes, and the store it reads, inside the command's write transaction.
// Each kind of event has one entry (event_kinds.cpp) naming its checks and
// its projection; the checks live with their topic. Private to
// the store's implementation files.
#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <string>

#include "server-stub/proto/control.pb.h"
#include "server-stub/store/event_store.h"

namespace cad {

/** One command in its transaction. Thread-safety: that of its store. */
struct CommandScope {
  EventStore& store;
  const control::ControlRequest& req;
  int64_t nowMs;
  QJsonObject payload;  ///< the event's payload, set by the handler
  std::string unit;     ///< the unit the event belongs to ("" none)
  std::string summary;  ///< what the dispatcher is told
  std::string eventId;  ///< the event's id, once appended

  const std::string& agency() const { return req.agency(); }
  /** A statement from the store's cache, reset when the guard goes. */
  EventStore::CachedStmt cached(const char* sql) { return store.cached(sql); }
  /** The agency of a unit the registry knows. */
  std::optional<std::string> unitAgency(const std::string& unit);
  /** Refused unless the unit is one of the command's agency. */
  Status requireUnit(const std::string& unit);
  /** Refused unless the CFS is one of the command's agency (and open, when mustBeOpen). */
  Status requireCfs(const std::string& incident, bool mustBeOpen);
};

/** One kind of event the backend writes, registered by its kind
 *  (event_kinds.cpp): how a dispatcher's request for it is checked, when it
 *  is a command, and how the event is projected into the read models. */
struct EventKind {
  const char* kind = nullptr;  ///< as the log names it, e.g. "dispatch.assign"
  /** The control request that asks for it; COMMAND_NOT_SET: the backend
   *  writes it itself (an answer from the records system, an enrolment). */
  control::ControlRequest::CommandCase command = control::ControlRequest::COMMAND_NOT_SET;
  Status (*check)(CommandScope&) = nullptr;  ///< its checks; on success its payload, unit and summary set
  /** After the event is appended and projected: the summary, when it
   *  depends on what the projection did. */
  void (*committed)(CommandScope&, CommandOutcome&) = nullptr;
  bool drawsIncident = false;  ///< may draw an incident number (locked first)
  /** Its projection; nullptr: it changes nothing but its unit's order. */
  void (*project)(EventStore&, const EventRow&, std::vector<Outgoing>&) = nullptr;
};

// The handlers, by topic.
// cfs_commands.cpp
Status checkCreateCfs(CommandScope& c);
void reportCreatedCfs(CommandScope& c, CommandOutcome& out);
Status checkAssign(CommandScope& c);
Status checkMessage(CommandScope& c);
Status checkAckEmergency(CommandScope& c);
Status checkCloseCfs(CommandScope& c);
/** What a CFS is made of, checked the same for a call made now and one
 *  scheduled: into c.payload. */
Status checkCfsFields(CommandScope& c, const std::string& type, std::optional<int32_t> priority,
                      const std::string& address, const std::string& notes, const control::Location* location);
// device_commands.cpp
Status checkDeviceAdd(CommandScope& c);
Status checkDeviceMove(CommandScope& c);
Status checkDeviceRemove(CommandScope& c);
Status checkEnrollToken(CommandScope& c);
// config_commands.cpp
Status checkAgencyConfig(CommandScope& c);
void reportAgencyConfig(CommandScope& c, CommandOutcome& out);
// cfs_types.cpp
Status checkCfsTypeAdd(CommandScope& c);
Status checkCfsTypeRemove(CommandScope& c);
// zones.cpp
Status checkZoneSet(CommandScope& c);
Status checkZoneRemove(CommandScope& c);
Status checkUnitZone(CommandScope& c);
Status checkSupervisor(CommandScope& c);
// eido_log.cpp
Status checkEidoImport(CommandScope& c);
void reportEidoImport(CommandScope& c, CommandOutcome& out);
// schedules.cpp
Status checkScheduleCreate(CommandScope& c);
void reportScheduleCreate(CommandScope& c, CommandOutcome& out);
Status checkScheduleCancel(CommandScope& c);

}  // namespace cad
