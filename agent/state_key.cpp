#include "agent/state_key.h"

namespace mdc::agent {

std::string StateKey::str() const {
  switch (kind_) {
    case StateKind::Status: return "status";
    case StateKind::StatusSeq: return "status_seq";
    case StateKind::EmergencyActive: return "emergency_active";
    case StateKind::EmergencySeq: return "emergency_seq";
    case StateKind::EmergencyAckBy: return "emergency_ack_by";
    case StateKind::EmergencyAckAt: return "emergency_ack_at";
    case StateKind::ConfigStatuses: return "config_statuses";
    case StateKind::ConfigAvlMovingS: return "config_avl_moving_s";
    case StateKind::ConfigAvlStationaryS: return "config_avl_stationary_s";
    case StateKind::ConfigCfsTypes: return "config_cfs_types";
    case StateKind::UnitConfigured: return "unit_configured";
    case StateKind::UnitAssigned: return "unit_assigned";
    case StateKind::DroppedAvl: return "dropped_avl";
    case StateKind::RejectedEvents: return "rejected_events";
    case StateKind::InboxPruned: return "inbox_pruned";
    case StateKind::Cleared: return "cleared:" + item_;
    case StateKind::Acknowledged: return "ack:" + item_;
    case StateKind::CfsIncident: return "cfs_incident:" + item_;
    case StateKind::NextSeq: return "next_seq";
    case StateKind::DownlinkCursor: return "downlink_cursor:" + item_;
  }
  return {};
}

}  // namespace mdc::agent
