// The agent's state keys are stored as text: a store written by an earlier
// agent must read the same, so the text of every key is pinned here.
#include <catch2/catch.hpp>

#include "agent/state_key.h"

using mdc::agent::StateKey;
using mdc::agent::StateKind;
using mdc::agent::StateUpdates;

TEST_CASE("state keys keep the text earlier stores hold") {
  CHECK(StateKey(StateKind::Status).str() == "status");
  CHECK(StateKey(StateKind::StatusSeq).str() == "status_seq");
  CHECK(StateKey(StateKind::EmergencyActive).str() == "emergency_active");
  CHECK(StateKey(StateKind::EmergencySeq).str() == "emergency_seq");
  CHECK(StateKey(StateKind::EmergencyAckBy).str() == "emergency_ack_by");
  CHECK(StateKey(StateKind::EmergencyAckAt).str() == "emergency_ack_at");
  CHECK(StateKey(StateKind::ConfigStatuses).str() == "config_statuses");
  CHECK(StateKey(StateKind::ConfigAvlMovingS).str() == "config_avl_moving_s");
  CHECK(StateKey(StateKind::ConfigAvlStationaryS).str() == "config_avl_stationary_s");
  CHECK(StateKey(StateKind::ConfigCfsTypes).str() == "config_cfs_types");
  CHECK(StateKey(StateKind::UnitConfigured).str() == "unit_configured");
  CHECK(StateKey(StateKind::UnitAssigned).str() == "unit_assigned");
  CHECK(StateKey(StateKind::DroppedAvl).str() == "dropped_avl");
  CHECK(StateKey(StateKind::RejectedEvents).str() == "rejected_events");
  CHECK(StateKey(StateKind::InboxPruned).str() == "inbox_pruned");
  CHECK(StateKey::cleared("2024-000123").str() == "cleared:2024-000123");
  CHECK(StateKey::acknowledged("2024-000123").str() == "ack:2024-000123");
  CHECK(StateKey::cfsIncident("0190a1b2-c3d4").str() == "cfs_incident:0190a1b2-c3d4");
  CHECK(StateKey(StateKind::NextSeq).str() == "next_seq");
  CHECK(StateKey::downlinkCursor("E12").str() == "downlink_cursor:E12");
  CHECK(StateKey::cleared("2024-000123").kind() == StateKind::Cleared);
}

TEST_CASE("state keys order by kind, then item, so one transaction sets each once") {
  StateUpdates u{{StateKey::cleared("2024-000123"), "a"}, {StateKey(StateKind::NextSeq), "7"}};
  u[StateKey::cleared("2024-000123")] = "b";
  u[StateKey::cleared("2024-000124")] = "c";
  REQUIRE(u.size() == 3);
  CHECK(u.at(StateKey::cleared("2024-000123")) == "b");
  CHECK_FALSE(StateKey::cleared("x") < StateKey::cleared("x"));
  CHECK(StateKey::cleared("x") < StateKey::cleared("y"));
}
