#pragma once
// The keys of the agent's state in the store's key/value table. Each is one
// kind, with the incident, event or unit it is about for the kinds kept per item.
// The text stored is the same as it always was ("cleared:<incident>"), so a
// store written before reads the same.
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace mdc::agent {

/** What a key of the agent's state is about. */
enum class StateKind {
  Status,                ///< the unit's status (a v1::UnitStatus number)
  StatusSeq,             ///< the seq of the event that carries it
  EmergencyActive,       ///< "1" while the emergency is on
  EmergencySeq,          ///< the seq of the event that carries it
  EmergencyAckBy,        ///< who in dispatch acknowledged the emergency
  EmergencyAckAt,        ///< when (ms)
  ConfigStatuses,        ///< the agency's status buttons, comma-separated
  ConfigAvlMovingS,      ///< the agency's AVL interval while moving (0: the device's)
  ConfigAvlStationaryS,  ///< the agency's AVL interval while stationary (0: the device's)
  ConfigCfsTypes,        ///< the agency's call types (state_text.h, cfsTypesState)
  UnitConfigured,        ///< the unit of the configuration file when the backend moved the device
  UnitAssigned,          ///< the unit the backend moved it to
  DroppedAvl,            ///< AVL reports the store's cap dropped
  RejectedEvents,        ///< events the backend rejected for good
  InboxPruned,           ///< downlinks the inbox's keep policy removed
  Cleared,               ///< per incident: "" while assigned, else why the unit is off it
  Acknowledged,          ///< per incident: "1" once the responder acknowledged the assignment
  CfsIncident,           ///< per self-initiated CFS event: the incident it became
  NextSeq,               ///< the seq the next queued event gets
  DownlinkCursor,        ///< per unit: the seq of the last downlink the inbox holds
};

/** One key of the agent's state. Thread-safety: a value, freely copied. */
class StateKey {
 public:
  /** A key of one of the kinds without an item (not Cleared, Acknowledged, CfsIncident, DownlinkCursor). */
  explicit StateKey(StateKind kind) : kind_(kind) {}
  /** Whether the unit is off this incident, and why. */
  static StateKey cleared(std::string incident) { return {StateKind::Cleared, std::move(incident)}; }
  /** Whether the responder acknowledged this incident's assignment. */
  static StateKey acknowledged(std::string incident) { return {StateKind::Acknowledged, std::move(incident)}; }
  /** The incident a self-initiated CFS (its event id) became. */
  static StateKey cfsIncident(std::string eventId) { return {StateKind::CfsIncident, std::move(eventId)}; }
  /** How far the downlinks to this unit have reached the inbox. */
  static StateKey downlinkCursor(std::string unitId) { return {StateKind::DownlinkCursor, std::move(unitId)}; }

  StateKind kind() const { return kind_; }
  /** The key as the store keeps it ("status", "cleared:<incident>", ...). */
  std::string str() const;

  bool operator<(const StateKey& o) const { return std::tie(kind_, item_) < std::tie(o.kind_, o.item_); }

 private:
  StateKey(StateKind kind, std::string item) : kind_(kind), item_(std::move(item)) {}
  StateKind kind_;
  std::string item_;
};

/** Values to set in one transaction, by key. */
using StateUpdates = std::map<StateKey, std::string>;

}  // namespace mdc::agent
