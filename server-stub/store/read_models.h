#pragma once
// What the dispatcher, the technician and the running stub read from the
// store: one typed question per method, answered from the read models (and,
// for the KPIs, from the log itself). The queries live in the store's own
// files (read_models_*.cpp); callers see rows, never SQL.
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server-stub/store/event_store.h"

namespace cad {

/** A supervisor as the store holds it, with the zones its scope covers now. */
struct Supervisor {
  std::string unit, agency, device;  ///< device: "" when none serves the unit
  bool online = false;
  std::string scope;                 ///< for people: "zones N1, N2" or "district NORTH (zones N1, N2)"
  std::set<std::string> zones;       ///< of its agency
};

/** A unit in a zone, as a supervisor's board shows it. */
struct SupervisedUnit {
  std::string unit, agency, zone, incident;
  int status = 0;
  int64_t statusAtMs = 0;
  bool emergency = false, online = false;
};

/** Which units the board shows: each filter "" for any. */
struct BoardFilter {
  std::string agency;
  std::string zone;
  std::string district;  ///< the units in any zone of this district (of their own agency)
};

/** A unit as the board shows it (units). */
struct BoardUnit {
  std::string unit, agency, device;
  int64_t status = 0;
  int64_t statusAtMs = 0;
  std::optional<std::pair<double, double>> position;  ///< lat, lon; none: never reported
  int64_t positionAtMs = 0;
  bool online = false;
  int64_t onlineChangedMs = 0, lastSeenMs = 0;
  std::string cfs;                ///< its current call ("" none)
  bool emergency = false;         ///< flagged for the dispatcher to acknowledge
  bool emergencyActive = false;   ///< the device's own state
  std::string emergencyAckBy;
  int64_t droppedAvl = 0;
  std::string safetyFlag;         ///< its latest officer-safety hit ("" none)
  int64_t safetyAtMs = 0;
  std::string safetyCfs;          ///< the call of that query ("" none)
  std::string zone;
};

/** A call for service as the calls list shows it. */
struct CallSummary {
  std::string incident, agency, type;
  int64_t priority = 0;
  std::string state, source, address;
  int64_t createdAtMs = 0;
};

/** Everything the cfs table holds of one call. */
struct CallDetail {
  std::string incident, agency, type;
  int64_t priority = 0;
  std::string address;
  std::optional<std::pair<double, double>> location;  ///< lat, lon
  std::string notes, state, source;
  int64_t createdAtMs = 0, dispatchedAtMs = 0, enrouteAtMs = 0, arrivedAtMs = 0, closedAtMs = 0;
  std::string apcoCode;
  std::string eidoId;  ///< imported from another centre: its EIDO id ("" ours)
  std::string ownerAgency, ownerNumber, ownerServices, typeLabel, importedBy;
  int64_t importedAtMs = 0;
};

/** A unit's spell on a call (cfs_units), with the unit's status now. */
struct CallUnit {
  std::string unit;
  int64_t assignedAtMs = 0, ackAtMs = 0, enrouteAtMs = 0, onsceneAtMs = 0, clearedAtMs = 0;
  int64_t status = 0, statusAtMs = 0;  ///< the unit's current status (units)
};

/** A line on a call's timeline. */
struct TimelineLine {
  int64_t atMs = 0;
  std::string text;
  bool late = false;  ///< from an event that arrived after a newer one of its unit
};

/** A unit of the centre that owns an imported call, as its EIDO said. */
struct ForeignUnit {
  std::string name, resourceType, status;
  std::string secondary, internal;  ///< newline-separated
  int64_t atMs = 0;
};

/** An agency's configuration pushed to its units (agency_config). */
struct AgencyConfigRow {
  std::string agency;
  std::string statuses;  ///< comma-separated, "" for the device default
  int64_t avlMovingS = 0, avlStationaryS = 0;
  int64_t updatedAtMs = 0;
  std::string updatedBy;
};

/** A device as the registry has it. */
struct DeviceRegistration {
  std::string device, unit, agency;
};

/** A unit and its agency. */
struct UnitAgency {
  std::string unit, agency;
};

/** An input refused, as recorded. */
struct RecordedRefusal {
  int64_t receivedAtMs = 0;
  Refusal refusal;
};

/** A records query and its answer, for the audit (records_queries). */
struct RecordsQueryRow {
  std::string queryId;
  int64_t atMs = 0;
  std::string agency, unit, device, subject, incident, reasonCode;
  int64_t answeredAtMs = 0;  ///< 0: not answered
  std::string outcome;
  bool hit = false;
  int64_t queryPos = 0, answerPos = 0;
};

/** A zone of a district. */
struct ZoneRow {
  std::string agency, district, zone;
};

/** A unit that is in a zone. */
struct ZonedUnit {
  std::string agency, zone, unit;
};

/** A call as the log's creating event left it: the incident it became. */
struct CallOrigin {
  std::string originEventId, incident, type, source;
};

/** An event that moves a call's clock (KPIs): created, assigned, closed, a unit's status. */
struct CallClockEvent {
  std::string eventId, unit, kind;
  int64_t recordedAtMs = 0, receivedAtMs = 0;
  std::string payload;
};

/** One unit as the units-nearby picture needs it. */
struct UnitPlace {
  std::string unit, agency, device, incident;  ///< incident: its current call ("" none)
  int status = 0;
  bool hasPosition = false;
  double lat = 0, lon = 0;
  int64_t positionAtMs = 0;
  bool emergency = false;  ///< the device's emergency is active
  bool online = false;     ///< its device is connected
};

/** One device as the read models hold its health. */
struct DeviceHealth {
  std::string device, unit, agency, agentVersion;
  bool online = false;
  int64_t lastSeenMs = 0;       ///< its unit's last event or presence (0: never)
  int64_t healthAtMs = 0;       ///< when it last reported its health (0: never)
  int64_t queueDepth = 0;
  int64_t queueOldestMs = 0;
  int64_t certNotAfterMs = 0;   ///< 0: not reported
  bool gpsFix = false;
  int64_t gpsNoFixSinceMs = 0;
};

/** The store's read side. Thread-safety: the store's (one thread). Throws
 *  mdc::sql::DbError when the store cannot be read. */
class ReadModels {
 public:
  explicit ReadModels(EventStore& store) : store_(store) {}

  // read_models_board.cpp: units, the registry, zones, configuration, audits.
  /** The units the filter keeps, by agency and unit. */
  std::vector<BoardUnit> board(const BoardFilter& filter);
  /** Every agency's configuration (or one agency's), by agency. */
  std::vector<AgencyConfigRow> agencyConfigs(const std::string& agency);
  /** Every registered device. */
  std::vector<DeviceRegistration> devices();
  /** Every unit with its agency. */
  std::vector<UnitAgency> units();
  /** The device's registration; nullopt when it is not registered. */
  std::optional<DeviceRegistration> deviceRegistration(const std::string& deviceId);
  /** How many units' devices say they are online. */
  int64_t unitsOnline();
  /** The latest `limit` refusals, newest first. */
  std::vector<RecordedRefusal> recentRefusals(int64_t limit);
  /** Records queries of the agency and unit ("" any) since sinceMs, in the order they were run. */
  std::vector<RecordsQueryRow> recordsQueries(const std::string& agency, const std::string& unit, int64_t sinceMs);
  /** The agencies that defined call types of their own, by name. */
  std::vector<std::string> agenciesWithOwnTypes();
  /** The zones of the agency ("" all), by agency, district, zone. */
  std::vector<ZoneRow> zones(const std::string& agency);
  /** Every unit that is in a zone, by unit. */
  std::vector<ZonedUnit> zonedUnits();
  /** The supervisors with the zones they cover now. */
  std::vector<Supervisor> supervisors();
  /** Every unit in a zone as a supervisor's board shows it. */
  std::vector<SupervisedUnit> supervisedRows();
  /** Every device of the agency ("" all) with its health, by device id. */
  std::vector<DeviceHealth> fleetHealth(const std::string& agency);
  /** Every unit's place on the board, by unit. */
  std::vector<UnitPlace> unitPlaces();

  // read_models_calls.cpp: calls, their units and timelines, the log's call clock.
  /** The calls of the agency ("" all), by incident number. */
  std::vector<CallSummary> calls(const std::string& agency);
  /** One call; nullopt when there is none with that number. */
  std::optional<CallDetail> call(const std::string& incident);
  /** The units on a call, by unit. */
  std::vector<CallUnit> callUnits(const std::string& incident);
  /** The units on a call in the order they were assigned (then by unit). */
  std::vector<CallUnit> callUnitsByAssignment(const std::string& incident);
  /** A call's timeline in the order things happened. */
  std::vector<TimelineLine> timeline(const std::string& incident);
  /** The owner's units of an imported call, in its document's order. */
  std::vector<ForeignUnit> foreignUnits(const std::string& incident);
  /** The calls of the agency ("" all) created, closed or with a timeline line
   *  since sinceMs, by creation then number. */
  std::vector<std::string> callsTouchedSince(const std::string& agency, int64_t sinceMs);
  /** Every call with the event that created it. */
  std::vector<CallOrigin> callOrigins();
  /** The events of the agency ("" all) that move calls' clocks, in log order, each to `each`. */
  void callClockEvents(const std::string& agency, const std::function<void(const CallClockEvent&)>& each);

  // read_models_devices.cpp: devices and units, the downlink queue, enrolment.
  /** Stored downlinks of a unit after a seq, in order (for resync). */
  std::vector<mdc::v1::Downlink> downlinksAfter(const std::string& unitId, uint64_t afterSeq, int limit = 10000);
  /** The unit's latest downlink seq (0: none yet). */
  uint64_t downlinkHead(const std::string& unitId);
  /** Devices online (by their presence) whose reported cursor is below their
   *  unit's head: the backend's downlink outbox, to send again. */
  std::vector<DownlinkLag> laggingDevices();
  /** When the oldest downlink a registered device has not confirmed holding
   *  was made (Unix ms); nullopt when every device holds all of its unit's. */
  std::optional<int64_t> oldestUnconfirmedDownlinkMs();
  /** The device serving a unit now, if any. */
  std::optional<std::string> deviceOfUnit(const std::string& unitId);
  /** The unit a device is registered to serve, if it is registered. */
  std::optional<std::string> unitOfDevice(const std::string& deviceId);
  /** The token with this hash, if the log has one. */
  std::optional<EnrolToken> enrolToken(const std::string& tokenHash);
  /** The device's newest token that is unused, unexpired and not locked. */
  std::optional<EnrolToken> openEnrolToken(const std::string& deviceId, int64_t nowMs);
  /** Tokens of an agency ("" all), newest first. */
  std::vector<EnrolToken> enrolTokens(const std::string& agency);

  // read_models_calls.cpp, too: scheduled calls and call types.
  /** The schedules of an agency ("" all), newest first. */
  std::vector<Schedule> schedules(const std::string& agency);
  /** The active schedule whose next occurrence is due first, if one is due by nowMs. */
  std::optional<Schedule> nextDueSchedule(int64_t nowMs);
  /** The agency's own types in the order they were added. */
  std::vector<CfsTypeInfo> agencyCfsTypes(const std::string& agency);

 private:
  EventStore& store_;
};

}  // namespace cad
